#!/usr/bin/python3
"""Chooses the LLM view's fusion weight on the read-out's held-out split
(training corpus, index % 20 == 7), never on the dev sets:

    bench/tune_llm_fusion.py --readout model/weights/attnr-llm-readout-1.0.0.json

Offline, from what was already computed there: the read-out's features of
each held-out question's BM25 top candidates (attnr-train --llm_features)
scored with the shipped read-out, and the lexical and dense views' 100-deep
rankings after Prepare (bench/tune_fusion.py --residue 7's cache). Weighted
reciprocal-rank fusion (k = 60, as model/views/fusion.cc) of lexical,
dense (the shipped weights) and the LLM view at a grid of weights; the LLM
ranks only the candidates it read, as when serving. Writes
bench/results/LLM_FUSION.md.
"""
import argparse
import json
import math
import os
import sys

_BENCH = os.path.dirname(os.path.abspath(__file__))
sys.path[:0] = [_BENCH, os.path.join(os.path.dirname(_BENCH), "harness")]
from attnr_harness import metrics  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CACHE = os.path.expanduser("~/.cache/attnr-train")
WEIGHTS = [0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 4.0]


def fuse(lists, weights, depth=10):
    score = {}
    for v, w in weights.items():
        for rank, unit in enumerate(lists[v]):
            score[unit] = score.get(unit, 0.0) + w / (60 + rank + 1)
    return sorted(score, key=lambda u: (-score[u], u[0]))[:depth]


def readout_scores(readout, features, tokens, all_layers, heads):
    layers = readout["layers"]
    out = []
    for masses, n in zip(features, tokens):
        s = readout["length_weight"] * math.log(max(n, 1))
        f = 0
        for g in range(2):
            for layer in layers:
                for h in range(heads):
                    k = (g * all_layers + (layer - 1)) * heads + h
                    s += readout["weights"][f] * (
                        math.log(masses[k] + readout["eps"]) - readout["mean"][f]) / readout["std"][f]
                    f += 1
        out.append(s)
    return out


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--readout", required=True)
    p.add_argument("--input", default=os.path.join(CACHE, "readout/input.jsonl"))
    p.add_argument("--features", default=os.path.join(CACHE, "readout/features.jsonl"))
    p.add_argument("--rankings", default=os.path.join(CACHE, "corpus/fusion-rankings-7.json"))
    p.add_argument("--dense-weight", type=float, default=0.5)
    p.add_argument("--out", default=os.path.join(ROOT, "bench/results/LLM_FUSION.md"))
    args = p.parse_args()
    readout = json.load(open(args.readout))
    heads = readout["heads"]
    inputs = {}
    for line in open(args.input, encoding="utf-8"):
        q = json.loads(line)
        if q["split"] == "heldout":
            inputs[q["qid"]] = q
    by_view = {v: {q: [tuple(u) for u in r] for q, r in by.items()}
               for v, by in json.load(open(args.rankings)).items()}
    llm = {}
    for line in open(args.features):
        r = json.loads(line)
        if r["qid"] not in inputs:
            continue
        if not r["features"]:  # BM25 found no passage: nothing to read.
            llm[r["qid"]] = []
            continue
        all_layers = len(r["features"][0]) // (2 * heads)
        scores = readout_scores(readout, r["features"], r["tokens"], all_layers, heads)
        units = [(p["start"], p["end"]) for p in inputs[r["qid"]]["passages"]]
        order = sorted(range(len(units)), key=lambda i: (-scores[i], i))
        llm[r["qid"]] = [units[i] for i in order]
    qids = [q for q in inputs if q in llm and q in by_view["lexical"]]
    rows = []
    grid = [{"lexical": 1.0}, {"dense": 1.0}, {"llm": 1.0},
            {"lexical": 1.0, "dense": args.dense_weight}]
    grid += [{"lexical": 1.0, "llm": w} for w in WEIGHTS]
    grid += [{"lexical": 1.0, "dense": args.dense_weight, "llm": w} for w in WEIGHTS]
    for weights in grid:
        scores = []
        for qid in qids:
            lists = {"lexical": by_view["lexical"][qid], "dense": by_view["dense"][qid],
                     "llm": llm[qid]}
            ranked = (lists[next(iter(weights))][:10] if len(weights) == 1
                      else fuse(lists, weights))
            scores.append(metrics.score_query([list(u) for u in ranked],
                                              inputs[qid]["gold"]))
        rows.append((weights, metrics.aggregate(scores)))
    label = lambda w: " + ".join(f"{v} {x:g}" for v, x in w.items())
    lines = ["# LLM view: fusion weight", "",
             f"Held-out split of the training corpus (index % 20 == 7, {len(qids)} "
             "questions; never the dev sets). Lexical and dense: 100-deep rankings "
             "after Prepare; LLM: the read-out "
             f"`{os.path.basename(args.readout)}` over each question's "
             f"{len(next(iter(inputs.values()))['passages'])} BM25 candidates. "
             "Weighted RRF, k = 60.", "",
             "| views and weights | MRR@10 | R@1 | R@5 | F1@1 |", "|---|---|---|---|---|"]
    for w, m in rows:
        lines.append(f"| {label(w)} | {m['mrr10']:.3f} | {m['r1']:.3f} | {m['r5']:.3f} | {m['f1']:.3f} |")
        print(f"{label(w):40s} {m['mrr10']:.3f}")
    best = max((r for r in rows if "llm" in r[0] and "dense" in r[0]), key=lambda r: r[1]["mrr10"])
    base = next(m for w, m in rows if w == {"lexical": 1.0, "dense": args.dense_weight})
    lines += ["", f"Best with the dense default: **{label(best[0])}** "
              f"({best[1]['mrr10']:.3f} vs {base['mrr10']:.3f} without the LLM view, "
              f"{best[1]['mrr10'] - base['mrr10']:+.3f}).", ""]
    with open(args.out, "w") as f:
        f.write("\n".join(lines))


if __name__ == "__main__":
    main()
