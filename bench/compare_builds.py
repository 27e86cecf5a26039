"""Two builds of the service (e.g. Debian's LibTorch 1.13 and the torch
wheel's 2.x) measured alternately in one run on one machine, so a CPU that
changes between sessions or a noisy neighbour cannot decide the comparison.

Per round and build: a fresh server; `Prepare` of an unseen ~40k-token
document through the default views (the dense encoder's rate and its share
of the GEMM peak measured in the same round); `Prepare` of an unseen
~4k-token document through the LLM view alone (the decoder's tokens/s); the
first and the repeated question on a 35k-token document. Medians over the
rounds go to --out as JSON and Markdown.

    /usr/bin/python3 bench/compare_builds.py --build debian=build \
        --build wheel=build-wheel --rounds 3 --out /tmp/compare
"""
import argparse
import json
import os
import statistics
import sys

_BENCH = os.path.dirname(os.path.abspath(__file__))
sys.path[:0] = [_BENCH, os.path.join(os.path.dirname(_BENCH), "harness")]
import run_bench  # noqa: E402
from attnr_harness import faq_sets, multihop, service  # noqa: E402

QUERY = "How do I install a package and keep it up to date?"


def measure(build_dir, config, corpus, dense_dir):
    server = service.Server(build_dir, config)
    try:
        out = {}
        warm = run_bench.measure_warmup(server, corpus, [40000], server.tmp)[0]
        piece = warm["encoded_tokens"] / warm["passages"]
        seconds = warm["encode_ms"] / 1000
        out["encoder_tokens_per_s"] = warm["encoded_tokens"] / seconds
        out["encoder_gflops"] = (run_bench.dense_flops_per_token(dense_dir, piece) *
                                 warm["encoded_tokens"] / seconds / 1e9)
        dec = run_bench.decoder_warmup(server, corpus, server.tmp, 4000)
        out["decoder_tokens_per_s"] = dec["read_tokens"] / (dec["encode_ms"] / 1000)
        speed = run_bench.measure_speed(server, corpus, [35000], QUERY, 3, 10, 3,
                                        server.tmp)[0]
        out["first_question_ms"] = speed["cold_p50"]
        out["repeated_question_ms"] = speed["warm_p50"]
        out["peak_rss_mib"] = server.peak_rss_mb()
        return out
    finally:
        server.stop()


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--build", action="append", required=True,
                        help="label=build-dir (at least two)")
    parser.add_argument("--config", default=os.path.join(run_bench.ROOT,
                                                         "config/server.textproto"))
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    builds = [b.split("=", 1) for b in args.build]
    os.makedirs(args.out, exist_ok=True)
    corpus = run_bench.speed_corpus(faq_sets.all_sets() + [multihop.multihop()])
    dense_dir = run_bench.dense_model_dir(args.config)
    runs = {label: [] for label, _ in builds}
    for r in range(args.rounds):
        for label, build_dir in builds:
            m = measure(os.path.abspath(build_dir), args.config, corpus, dense_dir)
            m["gemm_peak_gflops"] = run_bench.gemm_peak_gflops()
            m["encoder_share_of_peak"] = m["encoder_gflops"] / m["gemm_peak_gflops"]
            runs[label].append(m)
            print(f"round {r + 1} {label}: " +
                  ", ".join(f"{k} {v:,.3g}" for k, v in m.items()), flush=True)
            with open(os.path.join(args.out, "runs.json"), "w") as f:
                json.dump({"machine": run_bench.machine(), "builds": dict(builds),
                           "runs": runs}, f, indent=1)
    keys = list(runs[builds[0][0]][0])
    lines = [f"# Builds compared ({args.rounds} alternating rounds, medians)", "",
             f"Machine: {run_bench.machine()['cpu']}, {os.cpu_count()} cores.", "",
             "| measure | " + " | ".join(label for label, _ in builds) + " |",
             "|---|" + "---|" * len(builds)]
    for k in keys:
        lines.append(f"| {k} | " + " | ".join(
            f"{statistics.median(m[k] for m in runs[label]):,.3g}"
            for label, _ in builds) + " |")
    with open(os.path.join(args.out, "COMPARE.md"), "w") as f:
        f.write("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
