#!/usr/bin/python3
"""attnr benchmark: quality on the dev sets and speed, beside the Xapian peer.

    bench/run_bench.py [--out bench/results] [--build-dir build] [--smoke]

Builds the dev sets from Debian packages (cached outside the repository),
starts the real attnr server, queries it through the `attnr` CLI batch mode
and the `attnr bench` load generator, runs Xapian BM25 over paragraph chunks on
the same text in the same run, and writes REPORT.md, results.json and a
latency plot. --smoke runs everything on a tiny in-repo fixture instead.
"""
import argparse
import datetime
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import time

_BENCH = os.path.dirname(os.path.abspath(__file__))
sys.path[:0] = [_BENCH, os.path.join(os.path.dirname(_BENCH), "harness")]

from attnr_harness import faq_sets, metrics, multihop, server_config, service  # noqa: E402
from attnr_bench import langchain_peer, xapian_peer  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
VIEW_NAMES = {v: v.removeprefix("SCORING_VIEW_").lower() for v in (
    "SCORING_VIEW_LEXICAL", "SCORING_VIEW_DENSE", "SCORING_VIEW_ENTITY",
    "SCORING_VIEW_LLM")}


def load_fixture(path):
    """A dataset whose gold answers are given as text; ranges are found."""
    with open(path, encoding="utf-8") as f:
        ds = json.load(f)
    texts = {d["id"]: d["text"] for d in ds["documents"]}
    for q in ds["queries"]:
        q["gold"] = []
        for answer in q.pop("gold_text"):
            start = texts[q["doc"]].find(answer)
            assert start >= 0, (q["qid"], answer)
            q["gold"].append([start, start + len(answer)])
    return ds


def percentile(values, p):
    values = sorted(values)
    if not values:
        return float("nan")
    k = (len(values) - 1) * p / 100
    lo, hi = int(k), min(int(k) + 1, len(values) - 1)
    return values[lo] + (values[hi] - values[lo]) * (k - lo)


FAQ_POOLED = "faq sets (pooled)"
# The venv with LangChain's splitter (make python-env; the tests' venv).
PEER_PYTHON = os.environ.get("ATTNR_PYTHON") or os.path.join(
    ROOT, "build/python/bin/python")


def systems_for(views, default_views):
    """The rows: the default service as a user meets it (no warm-up: the
    first queries on a document spend the request budget), the same after
    Prepare, without the entity scope and with grown ranges, every view
    alone and every fusion of two or more views (the ablations: pure
    similarity, no scope), each after Prepare, and the peer."""
    systems = [("attnr (default views)", None, False)]
    if any(v != "lexical" for v in default_views):
        systems.append(("attnr (default views, prepared)", None, True))
    # The retrieval scope (entity bridges) and grown ranges, each against
    # the server's default.
    systems.append(("attnr (default views, no entity scope)", "no-scope", False))
    systems.append(("attnr (default views + grown ranges)", "grow", False))
    if "entity" in views and "entity" not in default_views:
        systems.append(("attnr (default views + entity)",
                        default_views + ["entity"], False))
    # The LLM view reads a whole document on Prepare (minutes on 2 cores,
    # more keys than its cache holds): its rows are budgeted, as a user
    # meets it, and its frontier is bench/llm_frontier.py's.
    if "llm" in views and "llm" not in default_views:
        systems.append(("attnr (default views + llm)", default_views + ["llm"], False))
    if "llm" in views:
        systems.append(("attnr view=llm (budgeted)", ["llm"], False))
    views = [v for v in views if v != "llm"]
    systems += [(f"attnr view={v}", [v], True) for v in views]
    combos = [[v for i, v in enumerate(views) if mask >> i & 1]
              for mask in range(1, 1 << len(views))]
    systems += [("attnr (" + "+".join(c) + " fused)", c, True)
                for c in sorted((c for c in combos if len(c) > 1), key=len)]
    return systems + [("langchain-default (peer)", "langchain", False),
                      ("xapian-bm25 (peer)", "xapian", False)]


def evaluate(datasets, server, views, default_views, candidates=0):
    """Per dataset and system: aggregated metrics (and per-query scores)."""
    systems = systems_for(views, default_views)
    results, raw = {}, {}
    for ds in datasets:
        texts = {d["id"]: d["text"] for d in ds["documents"]}
        per_system = {name: [] for name, _, _ in systems}
        for doc_id, text in texts.items():
            queries = [q for q in ds["queries"] if q["doc"] == doc_id]
            if not queries:
                continue
            for name, sel, prepare in systems:
                if sel == "xapian":
                    index = xapian_peer.XapianIndex(text)
                    ranked_by_qid = {q["qid"]: index.search(q["query"], 10)
                                     for q in queries}
                elif sel == "langchain":
                    ranked_by_qid = langchain_peer.LangChainPeer(
                        server, PEER_PYTHON).search_batch(text, queries, 10)
                else:
                    # The server's defaults for the default rows; the
                    # view ablations rank by similarity alone.
                    scope = grow = None
                    if sel == "no-scope":
                        sel, scope = None, False
                    elif sel == "grow":
                        sel, grow = None, True
                    elif name.startswith("attnr view=") or name.endswith(" fused)"):
                        scope = False
                    # BM25 alone ranks deeper: its top `candidates` are
                    # what a budgeted request's neural views work on.
                    depth = candidates if sel == ["lexical"] and candidates else 10
                    responses = server.retrieve_batch(text, queries, depth, sel,
                                                      prepare=prepare, scope=scope,
                                                      grow=grow)
                    ranked_by_qid = {}
                    for qid, r in responses.items():
                        ranked = []
                        for p in r["passages"]:
                            g = p["range"]
                            assert 0 <= g["start_char"] < g["end_char"] <= len(text)
                            ranked.append([g["start_char"], g["end_char"]])
                        ranked_by_qid[qid] = ranked
                for q in queries:
                    ranked = ranked_by_qid.get(q["qid"], [])
                    m = metrics.score_query(ranked, q["gold"])
                    if sel == ["lexical"] and candidates:
                        m["candidate_recall"] = metrics.recall_at(
                            ranked, q["gold"], candidates)
                    per_system[name].append(m)
        results[ds["name"]] = {n: metrics.aggregate(v) for n, v in per_system.items()}
        raw[ds["name"]] = per_system
    names = [name for name, _, _ in systems]
    results.update(pooled_rows(datasets, raw, names))
    return results, names


def pooled_rows(datasets, raw, names):
    """Aggregates over pooled queries: the FAQ sets (one gold range per
    question; the model's targets are stated over them), when there are
    several and another kind besides, then every query of every set
    ("overall"). `raw[set][system]` holds metrics.score_query results."""
    def pooled(sets):
        return {name: metrics.aggregate(
                    [s for ds in sets for s in raw[ds["name"]][name]])
                for name in names}

    rows = {}
    faq = [ds for ds in datasets if all(len(q["gold"]) == 1 for q in ds["queries"])]
    if 1 < len(faq) < len(datasets):
        rows[FAQ_POOLED] = pooled(faq)
    rows["overall"] = pooled(datasets)
    return rows


def speed_corpus(datasets):
    """All dev-set text, for building documents of a chosen length."""
    return "\n\n".join(d["text"] for ds in datasets for d in ds["documents"])


def document_of(corpus, tokens):
    """The corpus (repeated as needed) cut after about `tokens` word tokens
    (\\w+ runs, close to the service's tokenizer)."""
    text = corpus
    while True:
        ends = [m.end() for m in re.finditer(r"\w+", text)]
        if len(ends) >= tokens:
            return text[:ends[tokens - 1]]
        text = text + "\n\n" + corpus


def measure_speed(server, corpus, sizes, query, cold, warm,
                  requests, tmp, views=None):
    rows = []
    for target in sizes:
        text = document_of(corpus, target)
        path = os.path.join(tmp, f"speed-{target}.txt")
        with open(path, "w", encoding="utf-8") as f:
            f.write(text)
        def bench(*extra):
            """`attnr bench` (the one load generator) on this document."""
            out = server.cli("bench", "--json", "--samples", "--doc", path,
                             "--query", query, "--top-k", "10", "--no-text",
                             *(["--views", ",".join(views)] if views else []),
                             *extra)
            return json.loads(out.stdout)

        # Cold: the document new to the server on every call; warm: one
        # request repeated (after a call that caches it); then throughput
        # of 1, 2 and 4 clients repeating it on one connection.
        cold_run = bench("--fresh", "--requests", str(cold))
        bench("--requests", "1")
        warm_run = bench("--requests", str(warm))
        r = {"document_tokens": warm_run["document_tokens"],
             "document_bytes": len(text.encode("utf-8")),
             "cold_ms": cold_run["samples"]["latency_ms"],
             "cold_encode_ms": cold_run["samples"]["encode_ms"],
             "warm_ms": warm_run["samples"]["latency_ms"],
             "warm_server_ms": warm_run["samples"]["server_ms"],
             "throughput_rps": {
                 str(n): bench("--concurrency", str(n), "--requests",
                               str(n * requests))["throughput_rps"]
                 for n in (1, 2, 4)}}
        index = xapian_peer.XapianIndex(text)
        xq = []
        for _ in range(max(warm, 5)):
            t = time.perf_counter()
            index.search(query, 10)
            xq.append((time.perf_counter() - t) * 1000)
        rows.append({
            "target_tokens": target, "tokens": r["document_tokens"],
            "bytes": r["document_bytes"],
            "cold_p50": percentile(r["cold_ms"], 50),
            "cold_p95": percentile(r["cold_ms"], 95),
            "warm_p50": percentile(r["warm_ms"], 50),
            "warm_p95": percentile(r["warm_ms"], 95),
            "warm_server_p50": percentile(r["warm_server_ms"], 50),
            "cold_tokens_per_s": r["document_tokens"] /
                                 (percentile(r["cold_ms"], 50) / 1000),
            "cold_encode_ms": percentile(r["cold_encode_ms"], 50),
            "throughput_rps": r["throughput_rps"],
            "xapian_index_ms": index.index_seconds * 1000,
            "xapian_query_p50": percentile(xq, 50),
            "xapian_chunks": len(index.ranges),
        })
    return rows


def measure_warmup(server, corpus, sizes, tmp):
    """Whole-document warm-up (Prepare, no budget) of a document the server
    has not seen, per size: the neural views' encode time and tokens."""
    rows = []
    for target in sizes:
        text = f"warm-up run {time.time()}\n\n" + document_of(corpus, target)
        path = os.path.join(tmp, f"warmup-{target}.txt")
        with open(path, "w", encoding="utf-8") as f:
            f.write(text)
        r = json.loads(server.cli("prepare", "--json", "--doc", path,
                                  "--timeout", "600").stdout)
        u = r["usage"]
        rows.append({"tokens": u["document_tokens"], "passages": u["passages"],
                     "encoded_tokens": u["encoded_tokens"],
                     "encode_ms": u["timings"]["encode_ms"],
                     "total_ms": u["timings"]["total_ms"]})
    return rows


def dense_flops_per_token(model_dir, piece_tokens):
    """FLOPs of one BERT encoder pass per token (2 x multiply-adds: Q, K, V
    and output projections, the FFN, and QK^T + PV over a piece of
    `piece_tokens`), from the model's config.json."""
    with open(os.path.join(model_dir, "config.json")) as f:
        c = json.load(f)
    d, ffn, layers = c["hidden_size"], c["intermediate_size"], c["num_hidden_layers"]
    return 2 * layers * (4 * d * d + 2 * d * ffn + 2 * piece_tokens * d)


def dense_model_dir(config_path):
    return server_config.model_path(server_config.load(config_path),
                                    "views.dense.model")


def gguf_metadata(path, wanted):
    """The scalar metadata `wanted` (keys) of a GGUF file (v2/v3 header)."""
    import struct
    scalar = {0: "<B", 1: "<b", 2: "<H", 3: "<h", 4: "<I", 5: "<i", 6: "<f",
              7: "<?", 10: "<Q", 11: "<q", 12: "<d"}
    out = {}
    with open(path, "rb") as f:
        if f.read(4) != b"GGUF":
            return out
        f.read(4 + 8)  # version, tensor count
        (kv_count,) = struct.unpack("<Q", f.read(8))

        def string():
            (n,) = struct.unpack("<Q", f.read(8))
            return f.read(n).decode("utf-8", "replace")

        def value(t):
            if t == 8:
                return string()
            if t == 9:
                (et,) = struct.unpack("<I", f.read(4))
                (n,) = struct.unpack("<Q", f.read(8))
                if et in scalar:
                    f.seek(n * struct.calcsize(scalar[et]), 1)
                else:
                    for _ in range(n):
                        value(et)
                return None
            fmt = scalar[t]
            return struct.unpack(fmt, f.read(struct.calcsize(fmt)))[0]

        for _ in range(kv_count):
            key = string()
            (t,) = struct.unpack("<I", f.read(4))
            v = value(t)
            if key in wanted:
                out[key] = v
            if len(out) == len(wanted):
                break
    return out


def llm_model_file(config_path):
    """The config's GGUF decoder (a file, or a folder holding one)."""
    name = server_config.model_path(server_config.load(config_path),
                                    "views.llm.model")
    if name and os.path.isdir(name):
        files = sorted(x for x in os.listdir(name) if x.endswith(".gguf"))
        return os.path.join(name, files[0]) if files else None
    return name


def decoder_flops_per_token(config_path):
    """2 x the multiply-adds per token of the decoder blocks the LLM view
    runs (up to the read-out's deepest layer), from the GGUF header and the
    read-out file; attention over the context is left out (a lower bound)."""
    gguf = llm_model_file(config_path)
    readout = server_config.load(config_path).get("views.llm.readout")
    if not gguf or not readout or not os.path.exists(gguf):
        return None, None
    with open(readout) as f:
        layers = max(json.load(f)["layers"])
    arch = gguf_metadata(gguf, {"general.architecture"}).get("general.architecture", "llama")
    keys = {f"{arch}.embedding_length", f"{arch}.feed_forward_length",
            f"{arch}.attention.head_count", f"{arch}.attention.head_count_kv"}
    m = gguf_metadata(gguf, keys)
    if len(m) < len(keys):
        return None, layers
    dim, ffn = m[f"{arch}.embedding_length"], m[f"{arch}.feed_forward_length"]
    kv = dim * m[f"{arch}.attention.head_count_kv"] // m[f"{arch}.attention.head_count"]
    return 2 * layers * (2 * dim * dim + 2 * dim * kv + 3 * dim * ffn), layers


def decoder_warmup(server, corpus, tmp, tokens=4000):
    """Prepare of an unseen ~4k-token document through the LLM view alone:
    every passage read in batches, so the decoder's own rate shows."""
    text = f"decoder warm-up {time.time()}\n\n" + document_of(corpus, tokens)
    path = os.path.join(tmp, "llm-warmup.txt")
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)
    r = json.loads(server.cli("prepare", "--json", "--views", "llm", "--doc", path,
                              "--timeout", "900").stdout)
    u = r["usage"]
    return {"document_tokens": u["document_tokens"], "read_tokens": u["encoded_tokens"],
            "encode_ms": u["timings"]["encode_ms"]}


def gemm_peak_gflops():
    """Measured float32 GEMM rate on this machine (the physical limit the
    model's FLOP/s is compared with), via numpy on the system BLAS."""
    try:
        import numpy as np
    except ImportError:
        return None
    # Best of many short products: on a shared machine a single slow sample
    # (another tenant, a frequency dip) must not set the peak.
    n = 1024
    a = np.random.rand(n, n).astype(np.float32)
    b = np.random.rand(n, n).astype(np.float32)
    a @ b
    best = float("inf")
    for _ in range(30):
        t = time.perf_counter()
        a @ b
        best = min(best, time.perf_counter() - t)
    return 2 * n ** 3 / best / 1e9


def machine():
    cpu = "unknown"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2 ** 30
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT,
                            capture_output=True, text=True).stdout.strip()
    # This run's own outputs (bench/results/) do not make the code dirty.
    dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no",
                            "--", ".", ":!bench/results"],
                           cwd=ROOT, capture_output=True, text=True).stdout.strip()
    if dirty:
        commit += " + uncommitted changes"
    return {"cpu": cpu, "cores": os.cpu_count(), "memory_gib": round(mem, 1),
            "os": platform.platform(), "commit": commit,
            "date": datetime.datetime.now(datetime.timezone.utc)
            .strftime("%Y-%m-%d %H:%M UTC")}


def plot(rows, model_rows, path):
    if not shutil.which("gnuplot"):
        return False
    data = path + ".dat"
    with open(data, "w") as f:
        for i, r in enumerate(rows):
            m = model_rows[i] if i < len(model_rows) else None
            f.write(f"{r['tokens']} {r['cold_p50']} {r['warm_p50']} "
                    f"{r['xapian_index_ms'] + r['xapian_query_p50']} "
                    f"{r['xapian_query_p50']} "
                    f"{m['cold_p50'] if m else 'NaN'} {m['warm_p50'] if m else 'NaN'}\n")
    script = f"""
set terminal pngcairo size 900,560 noenhanced
set output '{path}'
set title 'Retrieve latency vs document length (p50, this machine)'
set xlabel 'document tokens'
set ylabel 'milliseconds'
set logscale xy
set key top left
set grid
plot '{data}' using 1:2 with linespoints title 'attnr default views, cold', \\
     '{data}' using 1:3 with linespoints title 'attnr default views, warm', \\
     '{data}' using 1:6 with linespoints title 'attnr default + llm view (budgeted), cold', \\
     '{data}' using 1:7 with linespoints title 'attnr default + llm view (budgeted), warm', \\
     '{data}' using 1:4 with linespoints title 'xapian peer: chunk+index+query', \\
     '{data}' using 1:5 with linespoints title 'xapian peer: query on built index'
"""
    subprocess.run(["gnuplot"], input=script, text=True, check=True)
    os.remove(data)
    return True


def fmt(x, digits=3):
    return "–" if x is None else f"{x:.{digits}f}"


def speed_table(rows):
    lines = [
        "| tokens | attnr cold p50 / p95 ms | attnr warm p50 / p95 ms | server-side warm p50 ms | "
        "tokens/s (cold) | xapian chunk+index ms | xapian query p50 ms |",
        "|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(
            f"| {r['tokens']} | {fmt(r['cold_p50'], 1)} / {fmt(r['cold_p95'], 1)} | "
            f"{fmt(r['warm_p50'], 1)} / {fmt(r['warm_p95'], 1)} | "
            f"{fmt(r['warm_server_p50'], 1)} | {r['cold_tokens_per_s']:,.0f} | "
            f"{fmt(r['xapian_index_ms'], 1)} | {fmt(r['xapian_query_p50'], 2)} |")
    lines += ["", "Throughput (requests/s, repeated query, concurrent clients):", "",
              "| tokens | 1 client | 2 clients | 4 clients |", "|---|---|---|---|"]
    for r in rows:
        t = r["throughput_rps"]
        lines.append(f"| {r['tokens']} | {t['1']:.1f} | {t['2']:.1f} | {t['4']:.1f} |")
    return lines


def measure_under_load(args):
    """The service under hostile load, each on a server of its own after the
    runs above (bench/fair_scheduling.py, bench/idle_connections.py,
    bench/abuse.py): their reports, without their titles, as sections of
    this one."""
    sections = []
    for script, report, title in (
            ("fair_scheduling.py", "FAIR_SCHEDULING.md",
             "Fair scheduling under a neural flood"),
            ("idle_connections.py", "IDLE_CONNECTIONS.md",
             "Idle and silent connections"),
            ("abuse.py", "ABUSE.md", "Abuse battery")):
        subprocess.run(["/usr/bin/python3", os.path.join(ROOT, "bench", script),
                        "--build", args.build_dir, "--out", args.out],
                       check=True, stdout=subprocess.DEVNULL)
        with open(os.path.join(args.out, report)) as f:
            body = f.read().split("\n", 1)[1]
        sections.append((title, body.strip()))
    return sections


def write_report(out, quality, systems, speed, model_speed, info, env, gemm,
                 rss, smoke, decoder=None, warmup=(), dense_dir=None,
                 load_sections=()):
    peer = "xapian-bm25 (peer)"
    main = systems[0]
    lines = ["# attnr benchmark report", ""]
    if smoke:
        lines += ["**Smoke run on the tiny in-repo fixture: not a measurement.**", ""]
    lines += [
        f"Measured {env['date']} on commit `{env['commit']}`: {env['cpu']}, "
        f"{env['cores']} cores, {env['memory_gib']} GiB, {env['os']}.",
        f"Model served: `{info['name']}/{info['version']}` with views "
        f"{', '.join(VIEW_NAMES.get(v, v) for v in info['views'])}; default views "
        f"(a request naming none): "
        f"{', '.join(VIEW_NAMES.get(v, v) for v in info.get('default_views', []))}.",
        "Regenerate with `make bench`. Every number below comes from this one run.",
        "",
        "## Quality",
        "",
        "A returned range is relevant when at least half of it lies inside a gold "
        "range. MRR@10, Recall@1/@5 (fraction of gold ranges hit), F1 between the "
        "characters of the top-1 range and the gold, cover-all@5 (multi-gold sets: "
        "every gold range at least half inside some top-5 range of ≤1,500 chars). "
        "Peers: Xapian BM25 (default `BM25Weight`, English stemmer) over 40–200-word "
        "paragraph chunks of the same document (\"peer\" in the ratio column), and "
        "a LangChain-default pipeline: LangChain's RecursiveCharacterTextSplitter "
        "(1,000 characters, 200 overlap) and all-MiniLM-L6-v2 cosine similarity "
        "(the same pinned model, `bench/attnr_bench/langchain_peer.py`).",
        "",
        "| dataset | system | queries | MRR@10 | R@1 | R@5 | F1@1 | cover-all@5 | MRR vs peer |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for ds, by_system in quality.items():
        peer_mrr = by_system[peer]["mrr10"]
        for name in systems:
            m = by_system[name]
            ratio = m["mrr10"] / peer_mrr if peer_mrr else None
            lines.append(
                f"| {ds} | {name} | {m['n']} | {fmt(m.get('mrr10'))} | "
                f"{fmt(m.get('r1'))} | {fmt(m.get('r5'))} | {fmt(m.get('f1'))} | "
                f"{fmt(m.get('cover5'))} | "
                f"{'–' if ratio is None else f'{ratio:.2f}×'} |")
    o = quality["overall"]
    lines += ["", f"Overall MRR@10: {main} {fmt(o[main]['mrr10'])} vs peer "
              f"{fmt(o[peer]['mrr10'])}."]
    if FAQ_POOLED in quality:
        f = quality[FAQ_POOLED]
        lines += [f"FAQ sets pooled ({f[peer]['n']} questions) MRR@10: " + "; ".join(
            f"{name} {fmt(f[name]['mrr10'])} ({f[name]['mrr10'] / f[peer]['mrr10']:.2f}×)"
            for name in systems if name != peer and f[peer]["mrr10"]) +
            f"; peer {fmt(f[peer]['mrr10'])}."]
    cand = [(ds, by["attnr view=lexical"].get("candidate_recall"))
            for ds, by in quality.items() if "attnr view=lexical" in by]
    if any(r is not None for _, r in cand):
        lines += ["", f"Candidate stage (a budgeted Retrieve's neural views work "
                  f"on the {info.get('neural_candidates')} passages BM25 ranks "
                  f"highest, and on any already cached): share of gold ranges "
                  f"inside those passages — " + "; ".join(
                      f"{ds} {r:.3f}" for ds, r in cand if r is not None) + "."]
    lines.append("")
    lines += [
        "## Speed",
        "",
        "Retrieve latency measured by `attnr bench` through the client library "
        "(gRPC on loopback, document sent with every request, top_k 10, no text). "
        "Cold: a document the server has not seen (first line varied); warm: the "
        "same request repeated. Peer: Xapian on the same text in the same run.",
        "",
    ]
    lines += ["### Default views (what a request naming no view gets)", ""]
    lines += speed_table(speed)
    if model_speed:
        lines += ["", "### Default views + the LLM view (as configured: it reads "
                  "its candidates within its per-request budget; cold pays the "
                  "reading, warm reuses the cached passages)", ""]
        lines += speed_table(model_speed)
    lines += [
        "",
        f"Peak server RSS over the whole run (every document above, the largest "
        f"held in the document cache): {fmt(rss, 0)} MiB.",
        "",
        f"Compute: measured float32 GEMM peak (numpy on the system BLAS, 1024², "
        f"same run): {fmt(gemm, 1)} GFLOP/s.",
    ]
    if warmup and dense_dir:
        lines += ["", "Whole-document warm-up (`Prepare`, no budget) of a "
                  "document the server has not seen: the dense encoder embeds "
                  "every passage (encoder tokens include [CLS]/[SEP] and the "
                  "query-free pieces; FLOPs from the model's config.json with "
                  "attention over the mean piece length).", "",
                  "| document tokens | passages | encoder tokens | encode ms | "
                  "encoder tokens/s | GFLOP | GFLOP/s | share of GEMM peak |",
                  "|---|---|---|---|---|---|---|---|"]
        for r in warmup:
            if not r["encode_ms"] or not r["passages"]:
                continue
            piece = r["encoded_tokens"] / r["passages"]
            gflop = dense_flops_per_token(dense_dir, piece) * r["encoded_tokens"] / 1e9
            rate = gflop / (r["encode_ms"] / 1000)
            lines.append(
                f"| {r['tokens']} | {r['passages']} | {r['encoded_tokens']} | "
                f"{r['encode_ms']:.0f} | "
                f"{r['encoded_tokens'] / (r['encode_ms'] / 1000):,.0f} | "
                f"{gflop:.1f} | {rate:.1f} | "
                + (f"{100 * rate / gemm:.0f}% |" if gemm else "– |"))
    if decoder and decoder.get("encode_ms"):
        seconds = decoder["encode_ms"] / 1000
        rate = decoder["read_tokens"] / seconds
        line = (f"LLM decoder (`Prepare` of an unseen {decoder['document_tokens']}"
                f"-token document through the LLM view alone, layers 1-"
                f"{decoder['layers']}): {decoder['read_tokens']} tokens read in "
                f"{decoder['encode_ms']:.0f} ms, {rate:,.0f} tokens/s")
        if decoder.get("flops_per_token"):
            gflops = rate * decoder["flops_per_token"] / 1e9
            line += f", {gflops:.0f} GFLOP/s"
            if gemm:
                line += f" ({100 * gflops / gemm:.0f}% of the GEMM peak above)"
        lines += ["", line + "."]
    if not dense_dir and not decoder:
        lines += ["", "Model FLOP/s: n/a — no neural view is served, so no model "
                  "FLOPs are spent."]
    lines += [
        "",
        "![latency vs document length](latency.png)",
        "",
    ]
    if load_sections:
        lines += ["## Under load", "",
                  "The peer is a library, not a service: these figures are "
                  "attnr's alone, measured after the runs above on servers of "
                  "their own with the same config.", ""]
        for title, body in load_sections:
            lines += [f"### {title}", "", body.replace("\n## ", "\n#### "), ""]
    with open(os.path.join(out, "REPORT.md"), "w") as f:
        f.write("\n".join(lines))


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--out", default=os.path.join(ROOT, "bench/results"))
    parser.add_argument("--build-dir", default=os.path.join(ROOT, "build"))
    parser.add_argument("--config", default=os.path.join(ROOT, "config/server.textproto"))
    parser.add_argument("--smoke", action="store_true",
                        help="tiny in-repo fixture, few repetitions")
    args = parser.parse_args()
    os.makedirs(args.out, exist_ok=True)

    if args.smoke:
        datasets = [load_fixture(os.path.join(ROOT, "bench/fixtures/smoke.json"))]
        sizes, cold, warm, requests = [300, 1000], 2, 3, 3
    else:
        datasets = faq_sets.all_sets() + [multihop.multihop()]
        sizes, cold, warm, requests = [1000, 10000, 35000, 100000], 5, 20, 20
    saved = os.path.join(faq_sets.sources.cache_dir(), "datasets")
    os.makedirs(saved, exist_ok=True)
    for ds in datasets:
        if not args.smoke:  # Kept for inspection and for training exclusion.
            with open(os.path.join(saved, ds["name"] + ".json"), "w",
                      encoding="utf-8") as f:
                json.dump(ds, f, ensure_ascii=False)
        print(f"dataset {ds['name']}: {len(ds['documents'])} documents, "
              f"{len(ds['queries'])} queries", flush=True)

    server = service.Server(args.build_dir, args.config)
    try:
        info = server.info()
        views = [VIEW_NAMES[v] for v in info["views"]]
        default_views = [VIEW_NAMES[v] for v in info.get("default_views", [])]
        candidates = info.get("neural_candidates", 0)
        quality, systems = evaluate(datasets, server, views, default_views,
                                    candidates)
        for ds, by in quality.items():
            for name in systems:
                print(f"  {ds:12s} {name:22s} MRR@10 {by[name]['mrr10']:.3f}",
                      flush=True)
        query = "How do I install a package and keep it up to date?"
        speed = measure_speed(server, speed_corpus(datasets),
                              sizes, query, cold, warm, requests, server.tmp)
        model_speed, decoder = [], None
        if "llm" in views and "llm" not in default_views:
            # The LLM view as a request naming it meets it (budgeted).
            model_speed = measure_speed(
                server, speed_corpus(datasets), sizes, query,
                max(2, cold // 2), warm, max(3, requests // 4), server.tmp,
                default_views + ["llm"])
        if "llm" in views:
            decoder = decoder_warmup(server, speed_corpus(datasets), server.tmp,
                                     400 if args.smoke else 4000)
            decoder["flops_per_token"], decoder["layers"] = \
                decoder_flops_per_token(args.config)
        warmup = []
        if "dense" in default_views:
            warmup = measure_warmup(server, speed_corpus(datasets),
                                    sizes[-2:], server.tmp)
            for r in warmup:
                print(f"  warm-up {r['tokens']} tokens: {r['encoded_tokens']} "
                      f"encoded in {r['encode_ms']:.0f} ms", flush=True)
        for label, rows in (("default", speed), ("default+llm", model_speed)):
            for r in rows:
                print(f"  speed {label} {r['tokens']:>7} tokens: cold p50 "
                      f"{r['cold_p50']:.1f} ms, warm p50 {r['warm_p50']:.1f} ms",
                      flush=True)
        rss = server.peak_rss_mb()
    finally:
        server.stop()
    load_sections = [] if args.smoke else measure_under_load(args)
    gemm = gemm_peak_gflops()
    env = machine()
    with open(os.path.join(args.out, "results.json"), "w") as f:
        json.dump({"machine": env, "model": info, "quality": quality,
                   "speed": speed, "model_speed": model_speed, "warmup": warmup,
                   "decoder": decoder,
                   "peak_rss_mib": rss, "gemm_gflops": gemm}, f, indent=1)
    plot(speed, model_speed, os.path.join(args.out, "latency.png"))
    write_report(args.out, quality, systems, speed, model_speed, info, env,
                 gemm, rss, args.smoke, decoder, warmup,
                 dense_model_dir(args.config), load_sections)
    print(f"wrote {os.path.join(args.out, 'REPORT.md')}")


if __name__ == "__main__":
    main()
