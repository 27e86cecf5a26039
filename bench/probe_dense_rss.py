#!/usr/bin/python3
"""Server memory with the default views and a long document warmed.

    bench/probe_dense_rss.py [--tokens 100000] [--build-dir build]

Starts the real server with config/server.textproto, warms one document of
about --tokens word tokens built from the dev-set text (Prepare), asks it a
few questions, and prints the server's resident memory now (VmRSS) and at
its peak (VmHWM). Run after `make bench` (it reuses the cached dev sets).
"""
import argparse
import json
import os
import sys

_BENCH = os.path.dirname(os.path.abspath(__file__))
sys.path[:0] = [_BENCH, os.path.join(os.path.dirname(_BENCH), "harness")]
from attnr_harness import faq_sets, service  # noqa: E402
from run_bench import document_of, speed_corpus  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def memory(pid):
    out = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(("VmRSS:", "VmHWM:")):
                out[line.split(":")[0]] = int(line.split()[1]) / 1024
    return out


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--tokens", type=int, default=100000)
    parser.add_argument("--build-dir", default=os.path.join(ROOT, "build"))
    parser.add_argument("--config", default=os.path.join(ROOT, "config/server.textproto"))
    args = parser.parse_args()
    text = document_of(speed_corpus(faq_sets.all_sets()), args.tokens)
    server = service.Server(args.build_dir, args.config)
    try:
        loaded = memory(server.proc.pid)
        path = os.path.join(server.tmp, "doc.txt")
        with open(path, "w", encoding="utf-8") as f:
            f.write(text)
        prepared = json.loads(server.cli("prepare", "--json", "--doc", path,
                                         "--timeout", "600").stdout)["usage"]
        after_prepare = memory(server.proc.pid)
        queries = [{"qid": str(i), "query": q} for i, q in enumerate([
            "How do I install a package and keep it up to date?",
            "What is a bridge in networking?",
            "How can I undo the last commit?"])]
        responses = server.retrieve_batch(text, queries, 10)
        after_queries = memory(server.proc.pid)
    finally:
        server.stop()
    print(json.dumps({
        "document_tokens": prepared["document_tokens"],
        "passages": prepared["passages"],
        "encoded_tokens": prepared["encoded_tokens"],
        "unjudged_after_prepare": [r["usage"].get("unjudged_passages", 0)
                                   for r in responses.values()],
        "rss_mib_loaded": loaded, "rss_mib_after_prepare": after_prepare,
        "rss_mib_after_queries": after_queries}, indent=1))


if __name__ == "__main__":
    main()
