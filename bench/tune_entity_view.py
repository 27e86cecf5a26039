#!/usr/bin/python3
"""Chooses the entity view's gate and fusion weight (entity weighting) on a
held-out split of the training corpus, never on the dev sets.

    bench/tune_entity_view.py --residue 7 [--corpus ...] [--out bench/results]

For each gate (views.entity.max_sentence_share: entities mentioned in more of a
document's sentences are not counted) one real server ranks every split
question with the entity view alone, 100 passages deep; the lexical and
dense rankings are tune_fusion.py's (its cache, or computed the same way).
Weighted reciprocal-rank fusion of the default views plus the entity view is
then computed for a grid of weights. Writes ENTITY_VIEW.md; the choice goes
into config/server.textproto by hand.
"""
import json
import os
import sys

_BENCH = os.path.dirname(os.path.abspath(__file__))
sys.path[:0] = [_BENCH, os.path.join(os.path.dirname(_BENCH), "harness")]
from attnr_harness import service  # noqa: E402
import tune_fusion  # noqa: E402

SHARES = [0.01, 0.02, 0.05, 0.1, 1.0]
WEIGHTS = [0.25, 0.5, 1.0, 2.0]
DEFAULT = {"lexical": 1.0, "dense": 0.5}


def main():
    args = tune_fusion.arguments()
    ds = tune_fusion.split(args.corpus, args.residue)
    saved = os.path.join(os.path.dirname(os.path.abspath(args.corpus)),
                         f"fusion-rankings-{args.residue}.json")
    if os.path.exists(saved):
        with open(saved) as f:
            by_view = {v: {q: [tuple(u) for u in r] for q, r in by.items()}
                       for v, by in json.load(f).items() if v in DEFAULT}
    else:
        server = service.Server(args.build_dir, args.config)
        try:
            by_view = tune_fusion.rankings(server, ds, list(DEFAULT))
        finally:
            server.stop()
    base = tune_fusion.base_config(args.config, ["views.entity"])
    rows = [("default views", "–", "–",
             tune_fusion.evaluate_fused(ds, by_view, DEFAULT), None)]
    for share in SHARES:
        base.set("views.entity.enabled", True)
        base.set("views.entity.max_sentence_share", share)
        path = base.write()
        server = service.Server(args.build_dir, path)
        try:
            entity = tune_fusion.rankings(server, ds, ["entity"])["entity"]
        finally:
            server.stop()
            os.unlink(path)
        covered = sum(1 for q in ds["queries"] if entity.get(q["qid"]))
        views = dict(by_view, entity=entity)
        for w in WEIGHTS:
            m = tune_fusion.evaluate_fused(ds, views, dict(DEFAULT, entity=w))
            rows.append(("default views + entity", share, w, m, covered))
            print(share, w, covered, json.dumps(m), flush=True)

    def fmt(v):
        return f"{v:.3f}"

    lines = [
        "# Entity weighting: the entity view's gate and weight (held-out split)",
        "",
        f"Written by `bench/tune_entity_view.py` on {ds['name']} of the "
        f"training corpus ({len(ds['queries'])} questions; the dev sets are "
        "not used). Rankings 100 deep; default views lexical 1 + dense 0.5 "
        "(after Prepare), fused by weighted reciprocal rank (k = 60) with the "
        "entity view. Share: entity_max_sentence_share. Questions with "
        "entity evidence: questions for which the entity view scores some "
        "passage.",
        "",
        "| fusion | share | entity weight | questions with entity evidence | MRR@10 | R@1 | R@5 | F1@1 |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name, share, w, m, covered in rows:
        lines.append(f"| {name} | {share} | {w} | "
                     f"{'–' if covered is None else covered} | {fmt(m['mrr10'])} | "
                     f"{fmt(m['r1'])} | {fmt(m['r5'])} | {fmt(m['f1'])} |")
    path = os.path.join(args.out, "ENTITY_VIEW.md")
    with open(path, "w", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
