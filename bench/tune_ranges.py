#!/usr/bin/python3
"""Chooses how returned ranges grow (model/ranges/range_growth.h) on the
training corpus's held-out split (index % 20 == 7, as the fusion weights),
never on the dev sets.

    bench/tune_ranges.py [--corpus ~/.cache/attnr-train/corpus/corpus.json]
                         [--out bench/results]

One real server (the repository's config, default views) ranks every split
question 100 passages deep with growth off, then answers it with growth on.
The growth rule is also swept offline over the first ranking (rank window:
a neighbour joins when it is among this many best passages; growth: the
characters it may add, as a share of the passage's), so the table shows
what each setting costs in ranking (MRR@10, R@5) and gains in coverage of
the answer (F1 of the top-1 range). Writes RANGES.md.
"""
import json
import os
import sys

_BENCH = os.path.dirname(os.path.abspath(__file__))
sys.path[:0] = [_BENCH, os.path.join(os.path.dirname(_BENCH), "harness")]
from attnr_harness import metrics, service  # noqa: E402
import tune_fusion  # noqa: E402

DEPTH = 100
WINDOWS = [2, 3, 5]
GROWTH = [0.5, 1.0, 1.5, 3.0]


def rank(server, ds, grow):
    """{qid: [[start, end], ...]} best first."""
    out = {}
    for doc in ds["documents"]:
        queries = [q for q in ds["queries"] if q["doc"] == doc["id"]]
        responses = server.retrieve_batch(doc["text"], queries, DEPTH, None,
                                          grow=grow, scope=False)
        for q in queries:
            out[q["qid"]] = [[p["range"]["start_char"], p["range"]["end_char"]]
                             for p in responses[q["qid"]]["passages"]]
    return out


def grow_offline(ranked, window, growth):
    """model/ranges/range_growth.cc's rule over a ranking of passages
    (adjacent passages of one document share an edge up to whitespace)."""
    top = ranked[:window]
    used, out = set(), []
    for u in ranked:
        if len(out) >= 10:
            break
        u = tuple(u)
        if u in used:
            continue
        used.add(u)
        lo, hi = u
        seed = hi - lo
        grew = True
        while grew:
            grew = False
            for v in map(tuple, top):
                if v in used:
                    continue
                after = v[0] >= hi and v[0] - hi <= 4
                before = v[1] <= lo and lo - v[1] <= 4
                if not (after or before):
                    continue
                new = (lo, v[1]) if after else (v[0], hi)
                if (new[1] - new[0]) - seed > growth * seed:
                    continue
                lo, hi = new
                used.add(v)
                grew = True
        out.append([lo, hi])
    return out


def score(ds, ranked):
    return metrics.aggregate([metrics.score_query(ranked[q["qid"]][:10], q["gold"])
                              for q in ds["queries"]])


def main():
    args = tune_fusion.arguments()
    ds = tune_fusion.held_out(args.corpus)
    server = service.Server(args.build_dir, args.config)
    try:
        plain = rank(server, ds, grow=False)
        grown = rank(server, ds, grow=True)
    finally:
        server.stop()
    rows = [("passages (growth off)", "–", "–", score(ds, plain)),
            ("served with grow_ranges", 2, 1.5, score(ds, grown))]
    for w in WINDOWS:
        for g in GROWTH:
            rows.append(("offline sweep", w, g, score(
                ds, {q: grow_offline(r, w, g) for q, r in plain.items()})))

    def fmt(v):
        return f"{v:.3f}"

    lines = [
        "# Predicted ranges: growth over neighbouring passages (held-out split)",
        "",
        f"Written by `bench/tune_ranges.py` on {ds['name']} of the training "
        f"corpus ({len(ds['queries'])} questions; the dev sets are not used), "
        "one server with the repository's config and default views, entity "
        "scope off. F1@1: characters of the top-1 range against the answer.",
        "",
        "| ranking | rank window | growth | MRR@10 | R@1 | R@5 | F1@1 |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, w, g, m in rows:
        lines.append(f"| {name} | {w} | {g} | {fmt(m['mrr10'])} | "
                     f"{fmt(m['r1'])} | {fmt(m['r5'])} | {fmt(m['f1'])} |")
    path = os.path.join(args.out, "RANGES.md")
    with open(path, "w", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")
    print("\n".join(lines))
    print("wrote", path)


if __name__ == "__main__":
    main()
