#!/usr/bin/python3
"""Probe: entity weighting as a multiplicative boost of each view's score
(the paper's weighted attention) against the entity view fused by rank, on
the training corpus's held-out split (index % 20 == 7), never the dev sets.

    bench/probe_entity_boost.py

One server (the repository's config) ranks every split question 100 deep
after Prepare with lexical, dense and entity views and explain, scope off;
then, offline: boost: each passage's lexical and dense scores times
(1 + beta * entity score) before reciprocal-rank fusion (lexical 1, dense
0.5); rrf: the entity view fused by rank with weight beta. The rankings are
cached in /tmp/attnr-probe-entity-boost.json. Results: ENTITY_VIEW.md.
"""
import json
import os
import sys

_BENCH = os.path.dirname(os.path.abspath(__file__))
sys.path[:0] = [_BENCH, os.path.join(os.path.dirname(_BENCH), "harness")]
from attnr_harness import metrics, service  # noqa: E402
import tune_fusion  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ds = tune_fusion.split(os.path.expanduser('~/.cache/attnr-train/corpus/corpus.json'), 7)
cache = '/tmp/attnr-probe-entity-boost.json'
if not os.path.exists(cache):
    srv = service.Server(os.path.join(ROOT, 'build'), os.path.join(ROOT, 'config/server.textproto'))
    out = {}
    try:
        for doc in ds['documents']:
            qs = [q for q in ds['queries'] if q['doc'] == doc['id']]
            r = srv.retrieve_batch(doc['text'], qs, 100, ['lexical', 'dense', 'entity'], prepare=True, scope=False, explain=True)
            for q in qs:
                rows = []
                for p in r[q['qid']]['passages']:
                    vs = {v['view']: v['score'] for v in p['breakdown']['view_scores']}
                    rows.append([p['range']['start_char'], p['range']['end_char'], vs.get('SCORING_VIEW_LEXICAL', 0), vs.get('SCORING_VIEW_DENSE', 0), vs.get('SCORING_VIEW_ENTITY', 0)])
                out[q['qid']] = rows
    finally:
        srv.stop()
    json.dump(out, open(cache, 'w'))
R = json.load(open(cache))
def rrf(rows, key, w, acc):
    order = sorted([r for r in rows if key(r) > 0], key=lambda r: -key(r))
    for i, r in enumerate(order):
        acc[(r[0], r[1])] = acc.get((r[0], r[1]), 0) + w / (60 + i + 1)
for beta in [0, 0.05, 0.1, 0.2, 0.3, 0.5, 1.0]:
  for mode in ['boost', 'rrf']:
    per = []
    for q in ds['queries']:
        rows = R.get(q['qid'], [])
        acc = {}
        if mode == 'boost':
            rrf(rows, lambda r: r[2] * (1 + beta * r[4]), 1.0, acc)
            rrf(rows, lambda r: r[3] * (1 + beta * r[4]), 0.5, acc)
        else:
            rrf(rows, lambda r: r[2], 1.0, acc); rrf(rows, lambda r: r[3], 0.5, acc)
            if beta > 0: rrf(rows, lambda r: r[4], beta, acc)
        ranked = sorted(acc, key=lambda u: (-acc[u], u[0]))[:10]
        per.append(metrics.score_query([list(u) for u in ranked], q['gold']))
    a = metrics.aggregate(per)
    print(mode, beta, ' '.join('%s %.3f' % (k, a[k]) for k in ('mrr10', 'r1', 'r5', 'f1')), flush=True)
