#!/usr/bin/python3
"""Rank-fusion weights on a held-out split of the training corpus (mostly
synthetic queries), never on the dev sets. Superseded for choosing the
defaults by bench/cv_fusion.py (real questions only, cross-validation over
documents); kept for the rank-fusion weights of other sets of views.

    bench/tune_fusion.py [--corpus ~/.cache/attnr-train/corpus/corpus.json]
                         [--out bench/results]

The split ("fusion split") is every 20th example of the corpus starting at
the 14th (index % 20 == 13); --residue 7 gives the split the LLM read-out's
trainer holds out.

One real server (the repository's config) ranks every split question with
each view alone, after Prepare, 100 passages deep; weighted reciprocal-rank
fusion (k = 60, as model/views/fusion.cc) is then computed here for a grid
of weights. The chosen configuration is checked by a second server run with
it as its default. Writes FUSION.md; the choice goes into
config/server.textproto by hand, with that file as its record.
"""
import argparse
import json
import os
import sys

_BENCH = os.path.dirname(os.path.abspath(__file__))
sys.path[:0] = [_BENCH, os.path.join(os.path.dirname(_BENCH), "harness")]
from attnr_harness import metrics, server_config, service  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEPTH = 100
DENSE_WEIGHTS = [0.5, 1.0, 1.5, 2.0, 3.0, 4.0]


def split(corpus_path, residue=13):
    with open(corpus_path, encoding="utf-8") as f:
        corpus = json.load(f)
    queries = [dict(e, qid=f"t{i}") for i, e in enumerate(corpus["examples"])
               if i % 20 == residue]
    docs = {q["doc"] for q in queries}
    return {"name": f"fusion-split (index % 20 == {residue})",
            "documents": [d for d in corpus["documents"] if d["id"] in docs],
            "queries": queries}


def rankings(server, ds, views):
    """{view: {qid: [(start, end), ...]}} best first, after Prepare."""
    out = {v: {} for v in views}
    for doc in ds["documents"]:
        queries = [q for q in ds["queries"] if q["doc"] == doc["id"]]
        for v in views:
            responses = server.retrieve_batch(doc["text"], queries, DEPTH, [v],
                                              prepare=True)
            for q in queries:
                out[v][q["qid"]] = [(p["range"]["start_char"], p["range"]["end_char"])
                                    for p in responses[q["qid"]]["passages"]]
    return out


def fuse(ranked, weights):
    """Weighted RRF over the views' lists (ties: earlier in the document)."""
    if len(weights) == 1:
        return ranked[next(iter(weights))][:10]
    score = {}
    for v, w in weights.items():
        for rank, unit in enumerate(ranked[v]):
            score[unit] = score.get(unit, 0.0) + w / (60 + rank + 1)
    return sorted(score, key=lambda u: (-score[u], u[0]))[:10]


def held_out(corpus_path):
    """The read-out trainer's evaluation split (index % 20 == 7)."""
    return split(corpus_path, residue=7)


def evaluate(server, ds, views=None, **options):
    """Metrics of `server` ranking every question of `ds` with `views` (and
    retrieve_batch's `options`: prepare, scope, grow)."""
    scores = []
    for doc in ds["documents"]:
        queries = [q for q in ds["queries"] if q["doc"] == doc["id"]]
        responses = server.retrieve_batch(doc["text"], queries, 10, views,
                                          **options)
        for q in queries:
            ranked = [[p["range"]["start_char"], p["range"]["end_char"]]
                      for p in responses[q["qid"]]["passages"]]
            scores.append(metrics.score_query(ranked, q["gold"]))
    return metrics.aggregate(scores)


def evaluate_fused(ds, by_view, weights):
    scores = []
    for q in ds["queries"]:
        ranked = {v: by_view[v][q["qid"]] for v in weights}
        scores.append(metrics.score_query([list(u) for u in fuse(ranked, weights)],
                                          q["gold"]))
    return metrics.aggregate(scores)


def arguments():
    """The tuning scripts' shared flags."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--corpus", default=os.path.expanduser(
        "~/.cache/attnr-train/corpus/corpus.json"))
    parser.add_argument("--config", default=os.path.join(ROOT, "config/server.textproto"))
    parser.add_argument("--build-dir", default=os.path.join(ROOT, "build"))
    parser.add_argument("--out", default=os.path.join(ROOT, "bench/results"))
    parser.add_argument("--residue", type=int, default=13,
                        help="the split: corpus examples with index %% 20 == this")
    parser.add_argument("--no-serve-check", action="store_true",
                        help="skip serving the chosen configuration")
    return parser.parse_args()


def base_config(config_path, tuned_fields):
    """The server config without the settings a sweep sets (paths made
    absolute: the derived configs live elsewhere)."""
    cfg = server_config.load(config_path)
    for field in tuned_fields:
        cfg.remove(field)
    return cfg


def label(weights):
    return " + ".join(f"{v} {w:g}" for v, w in weights.items())


def main():
    args = arguments()
    ds = split(args.corpus, args.residue)
    print(f"{ds['name']}: {len(ds['documents'])} documents, "
          f"{len(ds['queries'])} questions", flush=True)
    # The views' rankings are kept beside the tuning cache, so the offline
    # grid can be rerun without the server.
    saved = os.path.join(os.path.dirname(os.path.abspath(args.corpus)),
                         f"fusion-rankings-{args.residue}.json")
    if os.path.exists(saved):
        with open(saved) as f:
            by_view = {v: {q: [tuple(u) for u in r] for q, r in by.items()}
                       for v, by in json.load(f).items()}
    else:
        server = service.Server(args.build_dir, args.config)
        try:
            by_view = rankings(server, ds, ["lexical", "dense"])
        finally:
            server.stop()
        with open(saved, "w") as f:
            json.dump(by_view, f)

    grid = [{"lexical": 1.0}, {"dense": 1.0}]
    grid += [{"lexical": 1.0, "dense": d} for d in DENSE_WEIGHTS]
    rows = [(w, evaluate_fused(ds, by_view, w)) for w in grid]
    for w, m in rows:
        print(f"{label(w):45s} MRR@10 {m['mrr10']:.3f} F1@1 {m['f1']:.3f}", flush=True)

    # The best configuration; then every view in it must earn its place:
    # removing it (keeping the others' weights) must lower MRR@10.
    best_w, best_m = max(rows, key=lambda r: r[1]["mrr10"])
    ablations = []
    for v in list(best_w):
        if len(best_w) == 1:
            break
        rest = {k: x for k, x in best_w.items() if k != v}
        ablations.append((v, rest, evaluate_fused(ds, by_view, rest)))
    earned = all(m["mrr10"] < best_m["mrr10"] for _, _, m in ablations)

    served = None
    if not args.no_serve_check:
        served = serve_check(args, ds, best_w)
    write_report(args, ds, rows, best_w, best_m, ablations, earned, served)
    print(f"best {label(best_w)}")


def serve_check(args, ds, best_w):
    """The chosen configuration served for real, as the default."""
    cfg = base_config(args.config,
                      ["views.fusion.weights", "views.default_views"])
    cfg.set("views.default_views",
            [server_config.Enum(f"SCORING_VIEW_{v.upper()}") for v in best_w])
    cfg.set("views.fusion.weights", dict(best_w))
    path = cfg.write()
    server = service.Server(args.build_dir, path)
    try:
        return evaluate(server, ds, None, prepare=True)
    finally:
        server.stop()


def write_report(args, ds, rows, best_w, best_m, ablations, earned, served):
    lines = ["# Default views and fusion weights", "",
             f"Chosen on the {ds['name']} of the training corpus "
             f"({len(ds['queries'])} questions over {len(ds['documents'])} "
             "documents; `bench/tune_fusion.py`), never on the dev sets. "
             + ("" if args.residue != 7 else
                "The LLM read-out's trainer holds this split out. ") +
             f"Each view ranks {DEPTH} passages deep after Prepare; weighted "
             "reciprocal-rank fusion (k = 60) over those lists.", "",
             "| views and weights | MRR@10 | R@1 | R@5 | F1@1 |", "|---|---|---|---|---|"]
    for w, m in rows:
        lines.append(f"| {label(w)} | {m['mrr10']:.3f} | {m['r1']:.3f} | "
                     f"{m['r5']:.3f} | {m['f1']:.3f} |")
    lines += ["", f"Best: **{label(best_w)}** (MRR@10 {best_m['mrr10']:.3f}).", "",
              "Every view must earn its place (removing it lowers MRR@10):", ""]
    for v, rest, m in ablations:
        lines.append(f"- without {v} ({label(rest)}): {m['mrr10']:.3f} "
                     f"({m['mrr10'] - best_m['mrr10']:+.3f})")
    lines += ["", f"Every view earns its place: {'yes' if earned else 'NO'}.", ""]
    if served:
        lines += [f"Served as the default by the real server (same split, after "
                  f"Prepare): MRR@10 {served['mrr10']:.3f}, R@1 {served['r1']:.3f}, "
                  f"F1@1 {served['f1']:.3f}.", ""]
    with open(os.path.join(args.out, f"FUSION-{args.residue}.md"), "w") as f:
        f.write("\n".join(lines))


if __name__ == "__main__":
    main()
