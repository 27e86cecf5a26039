#!/usr/bin/python3
"""Probe (issue 14): would ranking passages by their best *sentence's* dense
score lift the fusion? On a held-out split of the training corpus, never the
dev sets.

    bench/probe_dense_sentences.py [--residue 7] [--every 2] [--limit N]

Passage rankings of the lexical and dense views come from
bench/tune_fusion.py's cache (fusion-rankings-<residue>.json, 100 deep,
after Prepare). Sentence rankings: the real server with the repository's
config ranks single-sentence units (max_passage_tokens 1: every sentence its
own unit) with the dense view alone, 100 deep, after Prepare. A passage's
"sentence" rank is the rank of the best sentence inside it; that list is
fused (weighted RRF, k = 60) with the others. Every `every`-th document of
the split (the first `limit` of those), saved after each document
(/tmp/attnr-dense-sentences-<residue>.json) so a cut-off run still reports.
"""
import argparse
import json
import os
import sys

_BENCH = os.path.dirname(os.path.abspath(__file__))
sys.path[:0] = [_BENCH, os.path.join(os.path.dirname(_BENCH), "harness")]
from attnr_harness import metrics, service  # noqa: E402
import tune_fusion as tf  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
COMBOS = [{"lexical": 1}, {"dense": 1}, {"sent": 1}, {"lexical": 1, "dense": 0.5},
          {"lexical": 1, "sent": 0.5}, {"lexical": 1, "sent": 1},
          {"lexical": 1, "dense": 0.5, "sent": 0.25},
          {"lexical": 1, "dense": 0.5, "sent": 0.5},
          {"lexical": 1, "dense": 0.5, "sent": 1}, {"dense": 1, "sent": 1}]


def sentence_rankings(args, ds, data, saved):
    server = service.Server(os.path.join(ROOT, "build"),
                            os.path.join(ROOT, "config/server.textproto"))
    try:
        for n, doc in enumerate(ds["documents"]):
            if n % args.every or n // args.every >= args.limit:
                continue
            queries = [q for q in ds["queries"] if q["doc"] == doc["id"]]
            if all(q["qid"] in data["sent"] for q in queries):
                continue
            # Writes the document and queries files the CLI call below reads.
            server.retrieve_batch(doc["text"], queries, 1, ["lexical"])
            out = server.cli("retrieve", "--json", "--no-text", "--top-k", "100",
                             "--doc", os.path.join(server.tmp, "doc.txt"),
                             "--queries", os.path.join(server.tmp, "queries.jsonl"),
                             "--timeout", "900", "--views", "dense",
                             "--max-passage-tokens", "1", "--prepare")
            for line in out.stdout.splitlines():
                r = json.loads(line)
                data["sent"][r["qid"]] = [(p["range"]["start_char"], p["range"]["end_char"])
                                          for p in r["passages"]]
            with open(saved, "w") as f:
                json.dump(data, f)
            print(n, doc["id"], flush=True)
    finally:
        server.stop()


def by_best_sentence(sentences, passages):
    best = {}
    for rank, (s, e) in enumerate(sentences):
        for p in passages:
            if p[0] <= s and e <= p[1] and p not in best:
                best[p] = rank
    return sorted(best, key=lambda p: (best[p], p[0]))


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--residue", type=int, default=7)
    p.add_argument("--every", type=int, default=2)
    p.add_argument("--limit", type=int, default=1 << 30)
    p.add_argument("--corpus", default=os.path.expanduser(
        "~/.cache/attnr-train/corpus/corpus.json"))
    args = p.parse_args()
    ds = tf.split(args.corpus, args.residue)
    saved = f"/tmp/attnr-dense-sentences-{args.residue}.json"
    if os.path.exists(saved):
        data = json.load(open(saved))
    else:
        with open(os.path.join(os.path.dirname(args.corpus),
                               f"fusion-rankings-{args.residue}.json")) as f:
            cached = json.load(f)
        data = {"lexical": cached["lexical"], "dense": cached["dense"], "sent": {}}
    sentence_rankings(args, ds, data, saved)
    questions = [q for q in ds["queries"] if q["qid"] in data["sent"]]
    print(f"{len(questions)} questions over "
          f"{len({q['doc'] for q in questions})} documents")
    for combo in COMBOS:
        scores = []
        for q in questions:
            lists = {v: [tuple(u) for u in data[v][q["qid"]]] for v in ("lexical", "dense")}
            universe = sorted(set(lists["lexical"]) | set(lists["dense"]))
            lists["sent"] = by_best_sentence([tuple(u) for u in data["sent"][q["qid"]]],
                                             universe)
            fused = tf.fuse({v: lists[v] for v in combo}, combo)
            scores.append(metrics.score_query([list(u) for u in fused], q["gold"]))
        m = metrics.aggregate(scores)
        print(f"| {tf.label(combo)} | {m['mrr10']:.3f} | {m['r1']:.3f} | {m['f1']:.3f} |")


if __name__ == "__main__":
    main()
