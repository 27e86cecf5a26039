#!/usr/bin/python3
"""The LLM attention view's quality/latency frontier on the dev FAQ sets,
beside the Xapian peer and the service without the view, one server per
budget (fresh caches, so first questions pay their reading):

    bench/llm_frontier.py [--budgets 1024,2048,4096,8192,full] --weight W [--merge]

For each budget B (new passage tokens one Retrieve may read; the LLM reads
and reranks the top min(B / 128, 64) candidates; "full": the whole document
read once by Prepare and every passage a candidate), rows: the default views
plus the LLM view at fusion weight W (chosen on the held-out split,
bench/results/LLM_FUSION.md), and the LLM view alone, as a user meets them
(no warm-up); speed on a 35k-token document: first question p50, repeated
question p50 (server-side too), and the decoder's tokens/s against the GEMM
peak measured in the same run. Writes bench/results/LLM_FRONTIER.md and
.json. Nothing is tuned here: the default is read off this table only
for cost (latency targets), the weight comes from the held-out split.
"""
import argparse
import json
import os
import sys

_BENCH = os.path.dirname(os.path.abspath(__file__))
sys.path[:0] = [_BENCH, os.path.join(os.path.dirname(_BENCH), "harness")]
import run_bench  # noqa: E402
from attnr_harness import faq_sets, metrics, server_config, service  # noqa: E402
from attnr_bench import xapian_peer  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def config_with(base_path, budget, candidates, weight, cache_bytes=None):
    cfg = server_config.load(base_path)
    cfg.set("views.llm.budget_tokens", budget)
    cfg.set("views.llm.candidates", candidates)
    cfg.set("views.default_views", [server_config.Enum(f"SCORING_VIEW_{v}")
                                    for v in ("LEXICAL", "DENSE", "LLM")])
    cfg.put("views.fusion.weights", "llm", weight)
    if cache_bytes:
        cfg.set("cache.bytes", cache_bytes)
    return cfg.write()


def by_set(datasets, rank):
    """MRR and friends per FAQ set and pooled; rank(text, queries) gives
    {qid: [[start, end], ...]} best first."""
    raw = {}
    for ds in datasets:
        per = []
        for doc in ds["documents"]:
            queries = [q for q in ds["queries"] if q["doc"] == doc["id"]]
            if not queries:
                continue
            ranked = rank(doc["text"], queries)
            per += [metrics.score_query(ranked[q["qid"]], q["gold"]) for q in queries]
        raw[ds["name"]] = per
    out = {name: metrics.aggregate(v) for name, v in raw.items()}
    out["FAQ pooled"] = metrics.aggregate([s for v in raw.values() for s in v])
    return out


def quality(server, datasets, views, prepare=False):
    def rank(text, queries):
        responses = server.retrieve_batch(text, queries, 10, views, prepare)
        return {qid: [[p["range"]["start_char"], p["range"]["end_char"]]
                      for p in r["passages"]] for qid, r in responses.items()}
    return by_set(datasets, rank)


def peer(datasets):
    def rank(text, queries):
        index = xapian_peer.XapianIndex(text)
        return {q["qid"]: index.search(q["query"], 10) for q in queries}
    return by_set(datasets, rank)


def decoder_warmup(server, corpus, config):
    """run_bench's decoder warm-up, with its GFLOP/s (2 x the multiply-adds
    of the decoder blocks the view runs, per token)."""
    out = run_bench.decoder_warmup(server, corpus, server.tmp)
    per_token, out["layers"] = run_bench.decoder_flops_per_token(config)
    seconds = out["encode_ms"] / 1000
    out["tokens_per_s"] = out["read_tokens"] / seconds
    out["gflops"] = out["read_tokens"] * per_token / seconds / 1e9
    return out


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--budgets", default="1024,2048,4096")
    p.add_argument("--weight", type=float, required=True)
    p.add_argument("--config", default=os.path.join(ROOT, "config/server.textproto"))
    p.add_argument("--build-dir", default=os.path.join(ROOT, "build"))
    p.add_argument("--out", default=os.path.join(ROOT, "bench/results"))
    p.add_argument("--merge", action="store_true",
                   help="add these budgets to an earlier run's LLM_FRONTIER.json")
    args = p.parse_args()
    datasets = faq_sets.all_sets()
    rows = {"peer": peer(datasets)}
    speed, warmup = {}, {}
    server = service.Server(args.build_dir, args.config)
    try:
        rows["default (no LLM view)"] = quality(server, datasets, None)
    finally:
        server.stop()
    corpus = run_bench.speed_corpus(datasets)
    query = "How do I install a package and keep it up to date?"
    for budget in args.budgets.split(","):
        if budget == "full":
            # The whole document read once (Prepare, keys and values cached:
            # a cache that holds the largest dev document), then every
            # question attends over every passage.
            cfg = config_with(args.config, 0, 1 << 30, args.weight, 4 << 30)
        else:
            budget = int(budget)
            candidates = min(max(budget // 128, 4), 64)
            cfg = config_with(args.config, budget, candidates, args.weight)
        full = budget == "full"
        server = service.Server(args.build_dir, cfg)
        try:
            rows[f"default + llm, budget {budget}"] = quality(server, datasets, None, full)
            rows[f"llm alone, budget {budget}"] = quality(server, datasets, ["llm"], full)
            speed[budget] = run_bench.measure_speed(
                server, args.build_dir, corpus, [35000], query, 3, 10, 3,
                server.tmp)[0]
            if not warmup:
                warmup.update(decoder_warmup(server, corpus, cfg))
            speed[budget]["peak_rss_mib"] = server.peak_rss_mb()
        finally:
            server.stop()
        print(budget, rows[f"default + llm, budget {budget}"]["FAQ pooled"]["mrr10"],
              speed[budget]["cold_p50"], speed[budget]["warm_server_p50"], flush=True)
    gemm = run_bench.gemm_peak_gflops()
    for r in speed.values():
        r["gemm_gflops"] = gemm  # Each run's own peak, kept when merged.
    if warmup:
        warmup["gemm_gflops"] = gemm
    saved = os.path.join(args.out, "LLM_FRONTIER.json")
    if args.merge and os.path.exists(saved):
        earlier = json.load(open(saved))
        rows = {**earlier["rows"], **rows}
        speed = {**{(b if b == "full" else int(b)): r
                    for b, r in earlier["speed"].items()}, **speed}
        warmup = warmup or earlier.get("warmup", {})
    with open(saved, "w") as f:
        json.dump({"rows": rows, "speed": speed, "warmup": warmup, "gemm_gflops": gemm,
                   "machine": run_bench.machine()}, f, indent=1)
    sets = [ds["name"] for ds in datasets] + ["FAQ pooled"]
    lines = ["# LLM attention view: quality/latency frontier (dev FAQ sets)", "",
             f"`bench/llm_frontier.py`, LLM fusion weight {args.weight} (from the "
             f"held-out split). GEMM peak this run: {gemm:.0f} GFLOP/s. "
             "MRR@10 (× the peer's), no warm-up: first questions pay their "
             "reading.", "",
             "| system | " + " | ".join(sets) + " |",
             "|---|" + "---|" * len(sets)]
    for name, by in rows.items():
        cells = []
        for s in sets:
            m = by[s]["mrr10"]
            cells.append(f"{m:.3f}" + ("" if name == "peer" else
                                       f" ({m / max(rows['peer'][s]['mrr10'], 1e-9):.2f}×)"))
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    lines += ["", "| budget | first question p50 (35k doc) | repeated p50 | "
              "repeated server-side p50 | peak RSS MiB |", "|---|---|---|---|---|"]
    for b, r in speed.items():
        lines.append(f"| {b} | {r['cold_p50']:.0f} ms | {r['warm_p50']:.0f} ms | "
                     f"{r['warm_server_p50']:.0f} ms | {r['peak_rss_mib']:.0f} |")
    if warmup:
        lines += ["", f"Decoder (Prepare of a {warmup['document_tokens']}-token document "
                  f"through the LLM view alone, layers 1-{warmup.get('layers', 16)}): "
                  f"{warmup['read_tokens']} tokens read in {warmup['encode_ms']:.0f} ms, "
                  f"{warmup['tokens_per_s']:.0f} tokens/s, {warmup['gflops']:.0f} GFLOP/s "
                  f"({100 * warmup['gflops'] / warmup['gemm_gflops']:.0f}% of the "
                  f"{warmup['gemm_gflops']:.0f} GFLOP/s GEMM peak of its run)."]
    with open(os.path.join(args.out, "LLM_FRONTIER.md"), "w") as f:
        f.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
