#!/usr/bin/python3
"""Idle and silent connections against the real server and the shipped
config (issue 19: 2,000 idle connections were each held 27 s+):

  - N TCP connections to the gRPC port that never send a byte;
  - N TCP connections to the HTTP gateway, each sending one /health request
    and then nothing (kept alive).

Reports how long the server held them (time until it closed each) and the
server's threads and RSS while they were open. Writes IDLE_CONNECTIONS.md
and idle_connections.json.

  /usr/bin/python3 bench/idle_connections.py --build build --out bench/results
"""
import argparse
import json
import os
import selectors
import socket
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "harness"))
from attnr_harness import service  # noqa: E402


def proc_status(pid, key):
    for line in open(f"/proc/{pid}/status"):
        if line.startswith(key + ":"):
            return int(line.split()[1])
    return 0


PROBE = {}


def probe(port):
    start = time.monotonic()
    if PROBE.get(port) == "grpc":
        ok = subprocess.run([PROBE["cli"], "health", "--target",
                             f"127.0.0.1:{port}", "--timeout", "60"],
                            capture_output=True).returncode == 0
    else:
        s = socket.create_connection(("127.0.0.1", port), timeout=60)
        s.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n"
                  b"Connection: close\r\n\r\n")
        ok = b"200 OK" in s.recv(4096)
        s.close()
    return (time.monotonic() - start) * 1000 if ok else None


def hold(port, count, first_bytes, wait_s, pid):
    sel = selectors.DefaultSelector()
    opened = {}
    for i in range(count):
        # 100 a loopback address (127.0.0.2, ...): under the HTTP gateway's
        # per-address cap (128), so the idle timeout is what closes them.
        s = socket.create_connection(("127.0.0.1", port),
                                     source_address=(f"127.0.0.{2 + i // 100}",
                                                     0))
        s.setblocking(False)
        if first_bytes:
            s.sendall(first_bytes)
        sel.register(s, selectors.EVENT_READ)
        opened[s] = time.monotonic()
    # A well-behaved client meanwhile: time to a /health answer on a new
    # connection to the same port (gRPC: HTTP/2 preface + health call via
    # the CLI; HTTP: GET /health).
    probe_ms = probe(port)
    peak_threads = proc_status(pid, "Threads")
    peak_rss_kb = proc_status(pid, "VmRSS")
    held = []
    end = time.monotonic() + wait_s
    while opened and time.monotonic() < end:
        for key, _ in sel.select(timeout=0.2):
            s = key.fileobj
            try:
                data = s.recv(65536)
            except ConnectionError:
                data = b""
            if data:
                continue
            held.append(time.monotonic() - opened.pop(s))
            sel.unregister(s)
            s.close()
        peak_threads = max(peak_threads, proc_status(pid, "Threads"))
        peak_rss_kb = max(peak_rss_kb, proc_status(pid, "VmRSS"))
    still_open = len(opened)
    for s in opened:
        s.close()
    held.sort()
    return {
        "connections": count,
        "closed_by_server": len(held),
        "still_open_after_s": still_open,
        "wait_s": wait_s,
        "held_s": {
            "min": held[0] if held else None,
            "p50": held[len(held) // 2] if held else None,
            "max": held[-1] if held else None,
        },
        "well_behaved_client_ms": probe_ms,
        "server_threads_peak": peak_threads,
        "server_rss_mb_peak": peak_rss_kb / 1024,
    }


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--build", default=os.path.join(ROOT, "build"))
    parser.add_argument("--out", default=os.path.join(ROOT, "bench/results"))
    parser.add_argument("--connections", type=int, default=2000)
    parser.add_argument("--wait", type=float, default=60)
    args = parser.parse_args()
    server = service.Server(args.build,
                            os.path.join(ROOT, "config/server.textproto"),
                            http=True)
    try:
        port, http_port = server.port, server.http_port
        cli = os.path.join(args.build, "bin/attnr")
        PROBE.update({port: "grpc", "cli": cli})
        base_threads = proc_status(server.pid, "Threads")
        base_rss = proc_status(server.pid, "VmRSS") / 1024
        grpc_silent = hold(port, args.connections, b"", args.wait, server.pid)
        http_idle = hold(http_port, args.connections,
                         b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n",
                         args.wait, server.pid)
    finally:
        server.stop()
    summary = {
        "server_threads_before": base_threads,
        "server_rss_mb_before": base_rss,
        "grpc_silent": grpc_silent,
        "http_idle_kept_alive": http_idle,
        "commit": subprocess.run(["git", "-C", ROOT, "rev-parse", "--short",
                                  "HEAD"], capture_output=True,
                                 text=True).stdout.strip(),
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
    }
    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, "idle_connections.json"), "w") as f:
        json.dump(summary, f, indent=1)

    def row(name, r):
        h = r["held_s"]
        fmt = lambda v: "-" if v is None else f"{v:.1f}"
        fmt_ms = lambda v: "failed" if v is None else f"{v:.0f}"
        return (f"| {name} | {r['connections']} | {r['closed_by_server']} | "
                f"{r['still_open_after_s']} | {fmt(h['p50'])} | "
                f"{fmt(h['max'])} | {fmt_ms(r['well_behaved_client_ms'])} | "
                f"{r['server_threads_peak']} | "
                f"{r['server_rss_mb_peak']:.0f} |")

    lines = [
        "# Idle and silent connections",
        "",
        f"`bench/idle_connections.py`, commit {summary['commit']}, "
        f"{summary['date']}, this machine, the shipped config (connection "
        "limits at their defaults: gRPC handshake 10 s, idle 120 s; HTTP "
        "idle 10 s, at most 2048 connections, 128 an address; the "
        "connections come from 100 an address, 127.0.0.2 on).",
        "",
        f"Server before: {base_threads} threads, {base_rss:.0f} MB RSS. "
        f"Each set waited at most {args.wait:.0f} s for the server to close "
        "its connections.",
        "",
        "| connections | opened | closed by server | still open | held p50 s "
        "| held max s | another client's health call meanwhile, ms "
        "| server threads (peak) | server RSS MB (peak) |",
        "|---|---|---|---|---|---|---|---|---|",
        row("gRPC, never send a byte", grpc_silent),
        row("HTTP, one /health then idle", http_idle),
        "",
    ]
    with open(os.path.join(args.out, "IDLE_CONNECTIONS.md"), "w") as f:
        f.write("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
