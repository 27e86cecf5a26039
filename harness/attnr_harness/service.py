"""Drives the real attnr server through the `attnr` CLI batch mode."""
import json
import os
import subprocess
import tempfile
import time


class Server:
    """Starts build/bin/attnr-server on a free loopback port."""

    def __init__(self, build_dir, config, extra_args=()):
        self.build_dir = build_dir
        self.tmp = tempfile.mkdtemp(prefix="attnr-bench-")
        port_file = os.path.join(self.tmp, "port")
        self.log = open(os.path.join(self.tmp, "server.log"), "w")
        self.proc = subprocess.Popen(
            [os.path.join(build_dir, "bin/attnr-server"), "--config", config,
             "--listen", "127.0.0.1:0", "--port_file", port_file,
             *extra_args], stdout=self.log, stderr=self.log)
        deadline = time.time() + 120
        while not os.path.exists(port_file):
            if self.proc.poll() is not None or time.time() > deadline:
                raise RuntimeError("attnr-server did not start; see " +
                                   self.log.name)
            time.sleep(0.02)
        self.target = "127.0.0.1:" + open(port_file).read().strip()
        while self.cli("health", check=False).returncode != 0:
            if self.proc.poll() is not None:
                raise RuntimeError("attnr-server exited while starting:\n" +
                                   open(self.log.name).read()[-2000:])
            if time.time() > deadline:
                raise RuntimeError("attnr-server never became SERVING")
            time.sleep(0.05)

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
