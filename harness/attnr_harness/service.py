"""Drives the real attnr server through the `attnr` CLI batch mode."""
import json
import os
import subprocess
import tempfile
import time


class Server:
    """Starts build/bin/attnr-server on a free loopback port (and, with
    `http`, its HTTP gateway on another) and waits until it is SERVING. The
    one way every benchmark and training script starts the server."""

    def __init__(self, build_dir, config, extra_args=(), http=False):
        self.build_dir = build_dir
        self.tmp = tempfile.mkdtemp(prefix="attnr-bench-")
        port_file = os.path.join(self.tmp, "port")
        http_port_file = os.path.join(self.tmp, "http_port")
        self.log_path = os.path.join(self.tmp, "server.log")
        self.log = open(self.log_path, "w")
        args = [os.path.join(build_dir, "bin/attnr-server"), "--config",
                config, "--listen", "127.0.0.1:0", "--port_file", port_file]
        if http:
            args += ["--http_listen", "127.0.0.1:0", "--http_port_file",
                     http_port_file]
        self.proc = subprocess.Popen([*args, *extra_args], stdout=self.log,
                                     stderr=self.log)
        deadline = time.time() + 120
        # The server writes the HTTP port file first, then the gRPC one.
        while not os.path.exists(port_file):
            if self.proc.poll() is not None or time.time() > deadline:
                raise RuntimeError("attnr-server did not start; see " +
                                   self.log_path)
            time.sleep(0.02)
        self.port = int(open(port_file).read().strip())
        self.target = f"127.0.0.1:{self.port}"
        self.http_port = (int(open(http_port_file).read().strip())
                          if http else None)
        while self.cli("health", check=False).returncode != 0:
            if self.proc.poll() is not None:
                raise RuntimeError("attnr-server exited while starting:\n" +
                                   open(self.log_path).read()[-2000:])
            if time.time() > deadline:
                raise RuntimeError("attnr-server never became SERVING")
            time.sleep(0.05)

    @property
    def pid(self):
        return self.proc.pid

    def cli(self, *args, check=True, stdin=None):
        return subprocess.run(
            [os.path.join(self.build_dir, "bin/attnr"), args[0], "--target",
             self.target, *args[1:]], check=check, capture_output=True,
            text=True, input=stdin)

    def info(self):
        return json.loads(self.cli("info", "--json").stdout)

    def peak_rss_mb(self):
        with open(f"/proc/{self.proc.pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
        return None

    def threads(self):
        with open(f"/proc/{self.proc.pid}/status") as f:
            for line in f:
                if line.startswith("Threads:"):
                    return int(line.split()[1])
        return None

    def retrieve_batch(self, text, queries, top_k=10, views=None,
                       prepare=False, scope=None, grow=None, explain=False):
        """Runs every query against one document; returns {qid: response}.
        With `prepare`, the document is warmed (Prepare RPC) first; `scope`
        True/False asks for the entity scope or not, `grow` for grown ranges
        (None: the server's default)."""
        doc = os.path.join(self.tmp, "doc.txt")
        with open(doc, "w", encoding="utf-8") as f:
            f.write(text)
        qfile = os.path.join(self.tmp, "queries.jsonl")
        with open(qfile, "w", encoding="utf-8") as f:
            for q in queries:
                f.write(json.dumps({"qid": q["qid"], "query": q["query"]}) + "\n")
        args = ["retrieve", "--json", "--no-text", "--top-k", str(top_k),
                "--doc", doc, "--queries", qfile, "--timeout", "120"]
        if views:
            args += ["--views", ",".join(views)]
        if prepare:
            args += ["--prepare"]
        if scope is not None:
            args += ["--scope" if scope else "--no-scope"]
        if explain:
            args += ["--explain"]
        if grow is not None:
            args += ["--grow-ranges" if grow else "--no-grow-ranges"]
        out = self.cli(*args)
        responses = {}
        for line in out.stdout.splitlines():
            r = json.loads(line)
            responses[r["qid"]] = r
        return responses

    def stop(self):
        self.proc.terminate()
        self.proc.wait(timeout=30)
        self.log.close()
