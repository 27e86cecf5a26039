#!/usr/bin/python3
"""Smoke test of the bench harness (run by `make test`): the whole pipeline
on the tiny fixture against the real server, then checks the report."""
import json
import os
import subprocess
import sys
import tempfile

here = os.path.dirname(os.path.abspath(__file__))
build_dir = sys.argv[1]
out = tempfile.mkdtemp(prefix="attnr-bench-smoke-")
subprocess.run([sys.executable, os.path.join(here, "run_bench.py"), "--smoke",
                "--build-dir", build_dir, "--out", out], check=True)
report = open(os.path.join(out, "REPORT.md"), encoding="utf-8").read()
results = json.load(open(os.path.join(out, "results.json")))
failures = []


def check(condition, what):
    if not condition:
        failures.append(what)


smoke = results["quality"]["smoke"]
for system in ("attnr (default views)", "attnr view=lexical", "xapian-bm25 (peer)",
               "langchain-default (peer)"):
    check(system in smoke, f"system {system} evaluated")
    check(f"| smoke | {system} |" in report, f"report row for {system}")
    m = smoke.get(system, {})
    check(m.get("n") == 5, f"{system}: 5 queries scored")
    for key in ("mrr10", "r1", "r5", "f1"):
        check(0.0 <= m.get(key, -1) <= 1.0, f"{system}: {key} in [0, 1]")
    check("cover5" in m, f"{system}: cover-all@5 on the multi-gold query")
# The fixture's single-hop questions are easy for both lexical systems.
check(smoke["attnr (default views)"]["r5"] >= 0.75, "attnr finds the easy answers")
if "attnr view=llm (budgeted)" in smoke:  # The LLM view is loaded.
    check(smoke["attnr view=llm (budgeted)"]["n"] == 5, "LLM view evaluated")
    decoder = results.get("decoder") or {}
    check(decoder.get("read_tokens", 0) > 0 and decoder.get("encode_ms", 0) > 0,
          "the decoder's warm-up measured")
    check(decoder.get("flops_per_token", 0) > 0 and decoder.get("layers") == 16,
          "decoder FLOPs from the GGUF header and the read-out")
    check("LLM decoder (`Prepare`" in report, "decoder line in the report")
check(smoke["xapian-bm25 (peer)"]["r5"] >= 0.75, "the peer finds them too")
speed = results["speed"]
check(len(speed) == 2 and speed[0]["tokens"] < speed[1]["tokens"],
      "two document sizes, increasing")
for r in speed:
    check(r["cold_p50"] > 0 and r["warm_p50"] > 0, "latencies measured")
    check(set(r["throughput_rps"]) == {"1", "2", "4"}, "1, 2, 4 clients")
    check(r["xapian_chunks"] >= 1, "peer indexed the same text")
check(results["peak_rss_mib"] and results["peak_rss_mib"] > 0, "server RSS")
check("## Speed" in report and "Peak server RSS" in report, "speed section")
# Pooled rows: the FAQ sets (single-gold) apart from the multi-gold set.
sys.path.insert(0, here)
import run_bench  # noqa: E402
from attnr_harness import metrics  # noqa: E402
sets = [{"name": "a", "queries": [{"gold": [[0, 10]]}] * 2},
        {"name": "b", "queries": [{"gold": [[0, 10]]}]},
        {"name": "hops", "queries": [{"gold": [[0, 10], [20, 30]]}]}]
hit, miss = metrics.score_query([[0, 10]], [[0, 10]]), metrics.score_query([], [[0, 10]])
raw = {"a": {"s": [hit, miss]}, "b": {"s": [hit]},
       "hops": {"s": [metrics.score_query([], [[0, 10], [20, 30]])]}}
rows = run_bench.pooled_rows(sets, raw, ["s"])
check(list(rows) == [run_bench.FAQ_POOLED, "overall"], "pooled FAQ row, then overall")
faq_row = rows.get(run_bench.FAQ_POOLED, {}).get("s", {})
check(faq_row.get("n") == 3, "FAQ pool: the 3 single-gold queries")
check(abs(faq_row.get("mrr10", 0) - 2 / 3) < 1e-9, "FAQ pool MRR 2/3")
check(rows["overall"]["s"]["n"] == 4 and abs(rows["overall"]["s"]["mrr10"] - 0.5) < 1e-9,
      "overall pools every query")
check(run_bench.FAQ_POOLED not in run_bench.pooled_rows(sets[:2], raw, ["s"]),
      "no FAQ pool when every set is a FAQ set (it would equal overall)")
if failures:
    print("bench smoke test FAILED:\n  " + "\n  ".join(failures))
    sys.exit(1)
print(f"bench smoke test passed ({out})")
