#!/usr/bin/python3
"""Fair scheduling under a neural flood (issue 19's scenario), measured with
`attnr bench` against the real server and the shipped config:

  - 8 clients (8 connections) flood the server with distinct long documents
    (the eight licence texts Debian ships, ~23k tokens, made new to the
    server on every call) through the default neural fusion;
  - a ninth client sends BM25-only requests on a 20-word document;
  - a tenth asks questions about a prepared (cached) document through the
    same neural views.

Targets: the ninth client's p99 <= 100 ms; the cached read-outs' p99 <= 3x
their p50. Writes FAIR_SCHEDULING.md and fair_scheduling.json.

  /usr/bin/python3 bench/fair_scheduling.py --build build --out bench/results
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "harness"))
from attnr_harness import service  # noqa: E402
LICENSES = ["GPL-3", "GPL-2", "LGPL-3", "LGPL-2.1", "Apache-2.0", "MPL-2.0",
            "Artistic", "GFDL-1.3"]
QUESTION = ("How long must a written offer to provide the Corresponding "
            "Source stay valid?")


def bench(cli, target, doc, query, views, seconds, extra=()):
    out = subprocess.run(
        [cli, "bench", "--target", target, "--doc", doc, "--query", query,
         "--views", views, "--duration", str(seconds), "--json", *extra],
        capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--build", default=os.path.join(ROOT, "build"))
    parser.add_argument("--out", default=os.path.join(ROOT, "bench/results"))
    parser.add_argument("--seconds", type=int, default=30)
    args = parser.parse_args()
    cli = os.path.join(args.build, "bin/attnr")
    tmp = tempfile.mkdtemp(prefix="attnr_fair_")
    long_doc = os.path.join(tmp, "licenses.txt")
    with open(long_doc, "w") as f:
        for name in LICENSES:
            f.write(open(f"/usr/share/common-licenses/{name}").read())
    cached_doc = os.path.join(tmp, "gpl3.txt")
    with open(cached_doc, "w") as f:
        f.write(open("/usr/share/common-licenses/GPL-3").read())
    small_doc = os.path.join(tmp, "small.txt")
    with open(small_doc, "w") as f:
        f.write("The espresso grinder must be descaled every fourteen days, "
                "and the milk frother rinsed after each use by the staff.\n")

    server = service.Server(args.build,
                            os.path.join(ROOT, "config/server.textproto"))
    try:
        target = server.target
        subprocess.run([cli, "prepare", "--target", target, "--doc",
                        cached_doc], check=True, capture_output=True)
        # Alone first: the cached read-outs' and BM25's own latency.
        alone_cached = bench(cli, target, cached_doc, QUESTION,
                             "lexical,dense", 5)
        alone_cheap = bench(cli, target, small_doc, "espresso grinder",
                            "lexical", 5)
        results = {}
        flood = threading.Thread(target=lambda: results.update(flood=bench(
            cli, target, long_doc, QUESTION, "lexical,dense",
            args.seconds + 10,
            ["--fresh", "--concurrency", "8", "--connections", "8"])))
        flood.start()
        time.sleep(5)  # The flood fills the model first.
        cached = threading.Thread(target=lambda: results.update(cached=bench(
            cli, target, cached_doc, QUESTION, "lexical,dense",
            args.seconds)))
        cached.start()
        results["cheap"] = bench(cli, target, small_doc, "espresso grinder",
                                 "lexical", args.seconds,
                                 ["--timeout", "5"])
        cached.join()
        flood.join()
    finally:
        server.stop()

    cheap, cached, flood = results["cheap"], results["cached"], results["flood"]
    ratio = cached["latency_ms"]["p99"] / cached["latency_ms"]["p50"]
    summary = {
        "alone": {"cheap": alone_cheap, "cached": alone_cached},
        "under_flood": results,
        "targets": {
            "cheap_p99_ms": cheap["latency_ms"]["p99"],
            "cheap_p99_met": cheap["latency_ms"]["p99"] <= 100,
            "cached_p99_over_p50": ratio,
            "cached_met": ratio <= 3,
        },
        "commit": subprocess.run(["git", "-C", ROOT, "rev-parse", "--short",
                                  "HEAD"], capture_output=True,
                                 text=True).stdout.strip(),
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
    }
    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, "fair_scheduling.json"), "w") as f:
        json.dump(summary, f, indent=1)

    def row(name, r):
        l = r["latency_ms"]
        statuses = ", ".join(f"{k} {v}" for k, v in r["statuses"].items())
        return (f"| {name} | {r['requests']} | {r['throughput_rps']:.1f} | "
                f"{l['p50']:.1f} | {l['p90']:.1f} | {l['p99']:.1f} | "
                f"{l['max']:.1f} | {statuses} |")

    lines = [
        "# Fair scheduling under a neural flood",
        "",
        f"`bench/fair_scheduling.py`, commit {summary['commit']}, "
        f"{summary['date']}, this machine (2 cores), the shipped config. "
        "Client-side latency from `attnr bench`.",
        "",
        "8 clients (8 connections) send distinct ~23k-token documents "
        "(Debian's licence texts, new to the server on every call) through "
        "BM25 + dense; meanwhile a ninth client sends BM25-only requests on "
        "a 20-word document and a tenth asks about a prepared (cached) "
        "document through BM25 + dense.",
        "",
        "| client | requests | req/s | p50 ms | p90 ms | p99 ms | max ms | statuses |",
        "|---|---|---|---|---|---|---|---|",
        row("BM25-only, alone", alone_cheap),
        row("cached neural, alone", alone_cached),
        row("BM25-only, under the flood", cheap),
        row("cached neural, under the flood", cached),
        row("the flood (8 connections)", flood),
        "",
        f"- BM25-only p99 under the flood: {cheap['latency_ms']['p99']:.1f} ms "
        f"(target <= 100 ms: {'met' if cheap['latency_ms']['p99'] <= 100 else 'MISSED'}).",
        f"- Cached neural read-outs under the flood: p99 / p50 = {ratio:.2f} "
        f"(target <= 3: {'met' if ratio <= 3 else 'MISSED'}).",
        "",
        "Before this change (the issue's measurement on the landed build): "
        "BM25-only requests missed a 5 s deadline for ~45 s under 16 "
        "concurrent neural documents; cached neural p99 10.5 s against a "
        "183 ms p50.",
    ]
    with open(os.path.join(args.out, "FAIR_SCHEDULING.md"), "w") as f:
        f.write("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
