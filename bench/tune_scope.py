#!/usr/bin/python3
"""Chooses whether Retrieve follows the entity scope by default, on held-out
data only, never on the dev sets.

    bench/tune_scope.py [--corpus ~/.cache/attnr-train/corpus/corpus.json]
                        [--out bench/results]

Two held-out sets, each ranked by one real server (the repository's config)
with the scope off and on:
  - a multi-hop set built like the dev one (harness/attnr_harness/multihop.py)
    but with another seed and its chains planted in the training corpus's
    Perl FAQs instead of Git's user manual: does the scope bring every link
    of a chain into the top 5 (cover-all@5)?
  - the training corpus's held-out split (index % 20 == 7, as the fusion
    weights): does the scope cost single-hop questions anything (MRR@10)?
Writes SCOPE.md; the choice goes into config/server.textproto by hand.
"""
import json
import os
import sys

_BENCH = os.path.dirname(os.path.abspath(__file__))
sys.path[:0] = [_BENCH, os.path.join(os.path.dirname(_BENCH), "harness")]
from attnr_harness import multihop, service  # noqa: E402
import tune_fusion  # noqa: E402

SEED = 7


def held_out_multihop(corpus):
    prose = "\n\n".join(d["text"] for d in corpus["documents"]
                        if d["id"].startswith("perlfaq"))
    return multihop.multihop(seed=SEED, prose=prose, name="multihop-held-out")


def main():
    args = tune_fusion.arguments()
    with open(args.corpus, encoding="utf-8") as f:
        corpus = json.load(f)
    sets = [held_out_multihop(corpus), tune_fusion.held_out(args.corpus)]
    server = service.Server(args.build_dir, args.config)
    rows = []
    try:
        for ds in sets:
            for scope in (False, True):
                m = tune_fusion.evaluate(server, ds, None, scope=scope)
                rows.append((ds["name"], len(ds["queries"]), scope, m))
                print(ds["name"], scope, json.dumps(m), flush=True)
    finally:
        server.stop()

    def fmt(v):
        return "–" if v is None else f"{v:.3f}"

    lines = [
        "# Entity scope default (held-out sets)",
        "",
        "Written by `bench/tune_scope.py` (one server, the repository's "
        "config, default views; the dev sets are not used). cover-all@5: "
        "every gold range of a multi-gold question at least half inside some "
        "top-5 range of ≤1,500 chars.",
        "",
        "| set | questions | scope | MRR@10 | R@1 | R@5 | F1@1 | cover-all@5 |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name, n, scope, m in rows:
        lines.append(
            f"| {name} | {n} | {'on' if scope else 'off'} | {fmt(m.get('mrr10'))} | "
            f"{fmt(m.get('r1'))} | {fmt(m.get('r5'))} | {fmt(m.get('f1'))} | "
            f"{fmt(m.get('cover5'))} |")
    path = os.path.join(args.out, "SCOPE.md")
    with open(path, "w", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")
    print("wrote", path)


if __name__ == "__main__":
    main()
