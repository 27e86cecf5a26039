#!/usr/bin/python3
"""Chooses the attention view's weight in rank fusion on the training
corpus's held-out split (the examples attnr-train never trains on: every
20th), never on the dev sets.

    bench/tune_fusion.py [--corpus ~/.cache/attnr-train/corpus] [--out bench/results]

Starts the real server once per weight and writes FUSION.md with MRR@10 per
weight; the best weight goes into config/server.textproto by hand, with this
file as its record.
"""
import argparse
import json
import os
import re
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from attnr_bench import metrics, service  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
WEIGHTS = [0.0, 0.25, 0.5, 1.0, 2.0, 4.0]


def held_out(corpus_path):
    with open(corpus_path, encoding="utf-8") as f:
        corpus = json.load(f)
    queries = [dict(e, qid=f"t{i}") for i, e in enumerate(corpus["examples"])
               if i % 20 == 7]  # The trainer's evaluation split.
    docs = {q["doc"] for q in queries}
    return {"name": "train-held-out",
            "documents": [d for d in corpus["documents"] if d["id"] in docs],
            "queries": queries}


def evaluate(server, ds, views=None):
    scores = []
    texts = {d["id"]: d["text"] for d in ds["documents"]}
    for doc_id, text in texts.items():
        queries = [q for q in ds["queries"] if q["doc"] == doc_id]
        responses = server.retrieve_batch(text, queries, 10, views)
        for q in queries:
            ranked = [[p["range"]["start_char"], p["range"]["end_char"]]
                      for p in responses[q["qid"]]["passages"]]
            scores.append(metrics.score_query(ranked, q["gold"]))
    return metrics.aggregate(scores)


def arguments():
    """The tuning scripts' shared flags."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--corpus", default=os.path.expanduser(
        "~/.cache/attnr-train/corpus/corpus.json"))
    parser.add_argument("--config", default=os.path.join(ROOT, "config/server.textproto"))
    parser.add_argument("--build-dir", default=os.path.join(ROOT, "build"))
    parser.add_argument("--out", default=os.path.join(ROOT, "bench/results"))
    return parser.parse_args()


def base_config(config_path, tuned_fields):
    """The server config without the fields a sweep sets, its weights path
    made absolute (the derived configs live elsewhere)."""
    base = open(config_path).read()
    for field in tuned_fields:
        base = re.sub(rf"^{field}:.*$", "", base, flags=re.M)
    config_dir = os.path.dirname(os.path.abspath(config_path))
    return re.sub(r'^weights_path:\s*"([^"/][^"]*)"',
                  lambda m: f'weights_path: "{os.path.normpath(os.path.join(config_dir, m.group(1)))}"',
                  base, flags=re.M)


def main():
    args = arguments()
    ds = held_out(args.corpus)
    base = base_config(args.config, ["attention_fusion_weight"])
    rows = []
    for w in WEIGHTS + ["attention only"]:
        cfg = tempfile.NamedTemporaryFile("w", suffix=".textproto", delete=False)
        cfg.write(base + f"\nattention_fusion_weight: {w if isinstance(w, float) else 1.0}\n")
        cfg.close()
        server = service.Server(args.build_dir, cfg.name)
        try:
            # Views named explicitly: the config's default views may be
            # lexical alone, which would ignore the weight.
            m = evaluate(server, ds, ["attention"] if w == "attention only"
                         else ["lexical", "attention"])
        finally:
            server.stop()
        rows.append((w, m))
        print(f"weight {w}: MRR@10 {m['mrr10']:.3f} R@5 {m['r5']:.3f}", flush=True)
    best = max((r for r in rows if isinstance(r[0], float)), key=lambda r: r[1]["mrr10"])
    lines = ["# Fusion weight of the attention view", "",
             f"Chosen on the training corpus's held-out split ({len(ds['queries'])} "
             "questions the trainer never trains on), not on the dev sets. "
             "Weight 0 is the lexical view alone.", "",
             "| attention weight | MRR@10 | R@1 | R@5 |", "|---|---|---|---|"]
    for w, m in rows:
        lines.append(f"| {w} | {m['mrr10']:.3f} | {m['r1']:.3f} | {m['r5']:.3f} |")
    lines += ["", f"Best: {best[0]} (MRR@10 {best[1]['mrr10']:.3f}).", ""]
    with open(os.path.join(args.out, "FUSION.md"), "w") as f:
        f.write("\n".join(lines))
    print(f"best weight {best[0]}")


if __name__ == "__main__":
    main()
