#!/usr/bin/python3
"""The abuse battery's long cases (issue 32), on loopback only, against the
real server with the shipped config (dense, entity and LLM views) and its
HTTP gateway. tests/integration/abuse_test.cc runs the quick ones in
`make test`.

  1. Word-less text: documents the models read a token per character of
     (100,000 '!'; 1 MiB and 4 MiB of '!', '.', 'a_', '1.'; 100k nested
     parentheses) with the LLM view and with the default views, and an 8 KB
     punctuation query: status, time, model tokens, peak RSS growth.
  2. Slow clients: N connections (default 2,100, over the 2,048 cap) from
     other loopback addresses (127.0.0.2...) each trickling a request one
     byte a second, while a well-behaved client on 127.0.0.1 asks /health
     twice a second and /v1/rerank once a second: their latency
     percentiles and failures throughout.
  3. Hang-ups: default-view calls whose clients close (FIN) or reset (RST)
     after 0.5 s: the time until the server logs them CANCELLED.

Writes ABUSE.md and abuse.json to --out.

  /usr/bin/python3 bench/abuse.py --build build --out bench/results
"""
import argparse
import json
import os
import resource
import selectors
import socket
import struct
import subprocess
import sys
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "harness"))
from attnr_harness import service  # noqa: E402


def proc_kb(pid, key):
    for line in open(f"/proc/{pid}/status"):
        if line.startswith(key + ":"):
            return int(line.split()[1])
    return 0


def http(port, method, path, body=None, timeout=60, source="127.0.0.1"):
    """One request on a new connection; (status, body, ms). Status 0: the
    connection failed or timed out."""
    start = time.monotonic()
    try:
        s = socket.create_connection(("127.0.0.1", port), timeout=timeout,
                                     source_address=(source, 0))
        head = f"{method} {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
        data = b""
        if body is not None:
            data = body if isinstance(body, bytes) else body.encode()
            head += ("Content-Type: application/json\r\n"
                     f"Content-Length: {len(data)}\r\n")
        s.sendall(head.encode() + b"\r\n" + data)
        out = b""
        while True:
            chunk = s.recv(1 << 20)
            if not chunk:
                break
            out += chunk
        s.close()
        status = int(out[9:12]) if len(out) >= 12 else 0
        payload = out.split(b"\r\n\r\n", 1)[1] if b"\r\n\r\n" in out else b""
        return status, payload, (time.monotonic() - start) * 1000
    except OSError:
        return 0, b"", (time.monotonic() - start) * 1000


def wordless(port, pid):
    mib = 1 << 20
    docs = [("100,000 '!'", "!" * 100000)]
    for size, label in ((mib, "1 MiB"), (4 * mib, "4 MiB")):
        for piece in ("!", ".", "a_", "1."):
            docs.append((f"{label} of '{piece}'",
                         piece * (size // len(piece))))
    docs.append(("100k nested parentheses", "(" * 100000 + ")" * 100000))
    warm = json.dumps({"query": "copy", "documents": ["The licence grants the "
                                                      "right to copy."],
                       "options": {"views": ["lexical", "dense", "llm"]}})
    http(port, "POST", "/v1/retrieve", warm)
    base = proc_kb(pid, "VmHWM")
    rows = []
    for views, label in ((["llm"], "LLM view"), (None, "default views")):
        for name, doc in docs:
            body = {"query": "What does the licence say about warranty?",
                    "documents": [doc]}
            if views:
                body["options"] = {"views": views}
            status, payload, ms = http(port, "POST", "/v1/retrieve",
                                       json.dumps(body), timeout=600)
            usage = json.loads(payload).get("usage", {}) if status == 200 else {}
            rows.append({"case": name, "views": label, "status": status,
                         "ms": ms, "passages": usage.get("passages"),
                         "model_tokens": usage.get("encoded_tokens"),
                         "unjudged": usage.get("unjudged_passages"),
                         "oversized": usage.get("oversized_passages"),
                         "peak_rss_growth_mb":
                             (proc_kb(pid, "VmHWM") - base) / 1024})
            print(rows[-1], flush=True)
    query = "what " + "!?.,;" * 1600
    for views, label in ((["llm"], "LLM view"), (None, "default views")):
        body = {"query": query[:8000], "documents": ["The licence grants "
                                                     "rights."]}
        if views:
            body["options"] = {"views": views}
        status, payload, ms = http(port, "POST", "/v1/retrieve",
                                   json.dumps(body))
        message = (json.loads(payload)["error"]["message"]
                   if status != 200 else "")
        rows.append({"case": "8 KB punctuation query", "views": label,
                     "status": status, "ms": ms, "message": message,
                     "peak_rss_growth_mb":
                         (proc_kb(pid, "VmHWM") - base) / 1024})
        print(rows[-1], flush=True)
    return rows


def slow_clients(port, pid, connections, seconds):
    """`connections` sockets from 127.0.0.2... trickle a request a byte a
    second while a well-behaved client measures /health and /v1/rerank."""
    per_address = 50
    request = (b"POST /v1/rerank HTTP/1.1\r\nHost: x\r\nContent-Type: "
               b"application/json\r\nContent-Length: 100000\r\n\r\n" +
               b" " * 100000)
    sel = selectors.DefaultSelector()
    sockets = {}  # socket -> (bytes sent, source address)
    refused = [0]

    def open_one(source):
        try:
            s = socket.socket()
            s.bind((source, 0))
            s.setblocking(False)
            s.connect_ex(("127.0.0.1", port))
            sockets[s] = (0, source)
            sel.register(s, selectors.EVENT_READ)
        except OSError:
            refused[0] += 1

    for i in range(connections):
        open_one(f"127.0.0.{2 + i // per_address}")
    stop = threading.Event()
    closed = [0]

    def trickle():
        while not stop.is_set():
            tick = time.monotonic()
            for s in list(sockets):
                sent, source = sockets[s]
                try:
                    s.send(request[sent:sent + 1])
                    sockets[s] = (sent + 1, source)
                except OSError:
                    pass
            for key, _ in sel.select(timeout=0):
                s = key.fileobj
                try:
                    data = s.recv(4096)
                except OSError:
                    data = b""
                if not data:
                    sel.unregister(s)
                    _, source = sockets.pop(s)
                    s.close()
                    closed[0] += 1
                    open_one(source)  # The attacker comes back at once.
            time.sleep(max(0.0, 1.0 - (time.monotonic() - tick)))

    thread = threading.Thread(target=trickle)
    thread.start()
    time.sleep(3)  # All connected and trickling.
    health, rerank = [], []
    rerank_body = json.dumps({"query": "warranty", "documents": [
        "There is no warranty for the program.", "The museum opens at nine."]})
    end = time.monotonic() + seconds
    next_rerank = 0.0
    open_samples = []
    while time.monotonic() < end:
        health.append(http(port, "GET", "/health", timeout=15))
        if time.monotonic() >= next_rerank:
            rerank.append(http(port, "POST", "/v1/rerank", rerank_body,
                               timeout=15))
            next_rerank = time.monotonic() + 1
        open_samples.append(len(sockets))
        time.sleep(0.5)
    stop.set()
    thread.join()
    for s in list(sockets):
        s.close()

    def summary(results):
        ok = sorted(ms for status, _, ms in results if status == 200)
        pick = lambda q: ok[min(len(ok) - 1, int(q * len(ok)))] if ok else None
        return {"calls": len(results), "ok": len(ok),
                "failed": len(results) - len(ok), "p50_ms": pick(0.5),
                "p99_ms": pick(0.99), "max_ms": ok[-1] if ok else None}

    return {"connections": connections, "addresses":
            (connections + per_address - 1) // per_address,
            "not_connected": refused[0], "closed_by_server": closed[0],
            "open_min": min(open_samples), "open_max": max(open_samples),
            "seconds": seconds, "health": summary(health),
            "rerank": summary(rerank),
            "server_threads": proc_kb(pid, "Threads"),
            "server_rss_mb": proc_kb(pid, "VmRSS") / 1024}


def hangups(port, log_path):
    rows = []
    for i, reset in enumerate((False, False, True, True)):
        doc = " ".join(f"Clause {i}-{k} grants right {k * 7} to holder {k}."
                       for k in range(6000))
        body = json.dumps({"documents": [doc]}).encode()
        s = socket.create_connection(("127.0.0.1", port))
        s.sendall(b"POST /v1/prepare HTTP/1.1\r\nHost: x\r\nContent-Type: "
                  b"application/json\r\nContent-Length: " +
                  str(len(body)).encode() + b"\r\n\r\n" + body)
        time.sleep(0.5)
        before = open(log_path).read().count("method=Prepare status=CANCELLED")
        gone = time.monotonic()
        if reset:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                         struct.pack("ii", 1, 0))
        s.close()
        logged = None
        while time.monotonic() - gone < 30:
            if open(log_path).read().count(
                    "method=Prepare status=CANCELLED") > before:
                logged = (time.monotonic() - gone) * 1000
                break
            time.sleep(0.01)
        rows.append({"hang_up": "RST" if reset else "FIN",
                     "cancelled_logged_after_ms": logged})
        print(rows[-1], flush=True)
    return rows


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--build", default=os.path.join(ROOT, "build"))
    parser.add_argument("--out", default=os.path.join(ROOT, "bench/results"))
    parser.add_argument("--connections", type=int, default=2100)
    parser.add_argument("--seconds", type=float, default=60)
    args = parser.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    server = service.Server(args.build,
                            os.path.join(ROOT, "config/server.textproto"),
                            http=True)
    port, log_path = server.http_port, server.log_path
    try:
        base_rss = proc_kb(server.pid, "VmRSS") / 1024
        cases = wordless(port, server.pid)
        slow = slow_clients(port, server.pid, args.connections, args.seconds)
        print(slow, flush=True)
        hung = hangups(port, log_path)
    finally:
        server.stop()
    summary = {
        "commit": subprocess.run(["git", "-C", ROOT, "rev-parse", "--short",
                                  "HEAD"], capture_output=True,
                                 text=True).stdout.strip(),
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "server_rss_mb_before": base_rss,
        "wordless": cases, "slow_clients": slow, "hangups": hung,
    }
    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, "abuse.json"), "w") as f:
        json.dump(summary, f, indent=1)
    fmt = lambda v, f="{:.0f}": "-" if v is None else f.format(v)
    lines = [
        "# Abuse battery",
        "",
        f"`bench/abuse.py`, commit {summary['commit']}, {summary['date']}, "
        "this machine, the shipped config (dense, entity and LLM views; "
        "views.neural_budget_tokens 6,144, views.llm.budget_tokens 1,024, "
        "limits.max_query_model_tokens 512), loopback only. Server RSS before: "
        f"{base_rss:.0f} MB.",
        "",
        "## Word-less text",
        "",
        "Peak RSS growth is cumulative from the first case: the analyzed "
        "documents and the LLM's keys and values stay cached (within "
        "cache.bytes, 768 MiB), so later rows include earlier ones.",
        "",
        "| case | views | status | ms | passages | model tokens | unjudged "
        "| over a window | peak RSS growth so far, MB |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in cases:
        lines.append(
            f"| {r['case']} | {r['views']} | {r['status']} | {r['ms']:.0f} | "
            f"{fmt(r.get('passages'))} | {fmt(r.get('model_tokens'))} | "
            f"{fmt(r.get('unjudged'))} | {fmt(r.get('oversized'))} | "
            f"{r['peak_rss_growth_mb']:.0f} |")
    h, rr = slow["health"], slow["rerank"]
    lines += [
        "",
        "## Slow clients",
        "",
        f"{slow['connections']} connections from {slow['addresses']} loopback "
        "addresses, each trickling a /v1/rerank request one byte a second, "
        f"for {slow['seconds']:.0f} s, each reopened at once when the server "
        f"closes it; the server closed {slow['closed_by_server']} "
        "(request deadline, room past the cap), "
        f"{slow['open_min']}-{slow['open_max']} were open while measured. "
        "Meanwhile a client on 127.0.0.1, a new connection each call:",
        "",
        "| call | calls | ok | failed | p50 ms | p99 ms | max ms |",
        "|---|---|---|---|---|---|---|",
        f"| GET /health | {h['calls']} | {h['ok']} | {h['failed']} | "
        f"{fmt(h['p50_ms'], '{:.1f}')} | {fmt(h['p99_ms'], '{:.1f}')} | "
        f"{fmt(h['max_ms'], '{:.1f}')} |",
        f"| POST /v1/rerank | {rr['calls']} | {rr['ok']} | {rr['failed']} | "
        f"{fmt(rr['p50_ms'], '{:.1f}')} | {fmt(rr['p99_ms'], '{:.1f}')} | "
        f"{fmt(rr['max_ms'], '{:.1f}')} |",
        "",
        f"Server afterwards: {slow['server_threads']} threads, "
        f"{slow['server_rss_mb']:.0f} MB RSS.",
        "",
        "## Hang-ups",
        "",
        "Prepare calls (a fresh ~60k-token document, seconds of encoding) "
        "whose clients hang up after 0.5 s:",
        "",
        "| hang-up | logged CANCELLED after, ms |",
        "|---|---|",
    ]
    for r in hung:
        lines.append(f"| {r['hang_up']} | "
                     f"{fmt(r['cancelled_logged_after_ms'])} |")
    lines.append("")
    with open(os.path.join(args.out, "ABUSE.md"), "w") as f:
        f.write("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
