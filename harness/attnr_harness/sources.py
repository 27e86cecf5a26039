"""Fetches Debian packages into a cache outside the repository.

Packages are downloaded with `apt-get download` and unpacked with `dpkg -x`,
so the harness needs nothing but the machine's configured Debian mirror.
"""
import glob
import os
import subprocess

# Reserved for independent evaluation: never used here (nor in training).
HELD_OUT = ("python3.11-doc", "zsh-doc")


def cache_dir():
    base = os.environ.get("ATTNR_BENCH_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME", os.path.expanduser("~/.cache")),
        "attnr-bench")
    os.makedirs(base, exist_ok=True)
    return base


def unpacked(package):
    """Returns the root folder of `package` unpacked (downloading it once)."""
    if package in HELD_OUT:
        raise ValueError(f"{package} is reserved for independent evaluation")
    root = os.path.join(cache_dir(), "root", package)
    stamp = os.path.join(root, ".unpacked")
    if os.path.exists(stamp):
        return root
    debs = os.path.join(cache_dir(), "debs")
    os.makedirs(debs, exist_ok=True)
    found = glob.glob(os.path.join(debs, f"{package}_*.deb"))
    if not found:
        subprocess.run(["apt-get", "download", package], cwd=debs, check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        found = glob.glob(os.path.join(debs, f"{package}_*.deb"))
    if not found:
        raise RuntimeError(f"apt-get download {package} produced no .deb")
    os.makedirs(root, exist_ok=True)
    subprocess.run(["dpkg", "-x", found[0], root], check=True)
    open(stamp, "w").close()
    return root
