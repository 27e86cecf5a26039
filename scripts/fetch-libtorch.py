#!/usr/bin/env python3
"""Fetches and verifies the pinned LibTorch (cmake/libtorch-wheels.json)
into the LibTorch cache, once:

  scripts/fetch-libtorch.py [--cuda] [--cache DIR] [--check] [--print-root]
                            [--stage DIR]

The cache is $ATTNR_LIBTORCH_CACHE or ~/.cache/attnr/libtorch; the library
lands in <cache>/<version>/ laid out as the wheels are (torch/lib,
torch/include, torch/share/cmake, nvidia/cu13/lib), so libtorch_cpu.so finds
the NVIDIA runtime through its own RPATH. Only the CPU libraries are taken
from the torch wheel (not libtorch_cuda.so). A cache whose pinned libraries
all verify and whose stamp names the pinned wheels is not fetched again, so
re-runs work offline. --check only verifies (exit 1 naming the first bad or
missing file); --print-root prints the folder CMake is given; --stage DIR
also puts a verified copy in DIR/<version>/ (hard links where it can), as
the Docker build's context needs it (DIR then works as a --cache).
--cuda selects the CUDA build's LibTorch instead: the CPU selection plus the
manifest's "cuda" part (libtorch_cuda.so and the NVIDIA libraries it loads,
~2.5 GB of wheels), in <cache>/<version>-cuda/.
Standard library only, plus `python3 -m pip download --no-deps`.
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import zipfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MANIFEST = os.path.join(ROOT, "cmake", "libtorch-wheels.json")
STAMP = "attnr-libtorch.stamp"

from pinned_files import sha256  # noqa: E402
import pinned_files  # noqa: E402


def selection(manifest, cuda):
    """The wheels to take from and, for each, the files pinned and the
    prefixes extracted: the CPU libraries, plus the CUDA part with `cuda`."""
    wheels = [dict(w) for w in manifest["wheels"]]
    if cuda:
        part = manifest["cuda"]
        wheels[0]["files"] = {**wheels[0]["files"], **part["torch_files"]}
        wheels += part["wheels"]
    return wheels


def stamp_text(wheels):
    """The wheels and what was taken from them (another selection
    re-extracts)."""
    return "".join(f"{w['wheel']} {w['wheel_sha256']} "
                   f"{','.join(w['extract'])}\n" for w in wheels)


def problems(wheels, folder):
    """What is wrong with `folder` as the pinned LibTorch (empty: nothing)."""
    out = []
    stamp = os.path.join(folder, STAMP)
    if not os.path.isfile(stamp) or open(stamp).read() != stamp_text(wheels):
        out.append(f"{stamp}: missing or not these wheels'")
    for wheel in wheels:
        out += pinned_files.problems(wheel["files"], folder)
    return out


def download(wheel, wheels_dir):
    path = os.path.join(wheels_dir, wheel["wheel"])
    if os.path.isfile(path) and sha256(path) != wheel["wheel_sha256"]:
        os.remove(path)  # pip would keep a damaged file it finds there.
    if not os.path.isfile(path):
        spec = f"{wheel['package']}=={wheel['version']}"
        print(f"fetch-libtorch: pip download {spec}", flush=True)
        args = [sys.executable, "-m", "pip", "download", "--no-deps",
                "--only-binary", ":all:", "-q", "-d", wheels_dir]
        for platform in wheel["pip_platform"]:
            args += ["--platform", platform]
        if "pip_python" in wheel:
            args += ["--python-version", wheel["pip_python"]]
        subprocess.run(args + [spec], check=True)
    if sha256(path) != wheel["wheel_sha256"]:
        sys.exit(f"fetch-libtorch: {path}: sha256 {sha256(path)} is not the "
                 f"pinned {wheel['wheel_sha256']}; refusing it")
    return path


def extract(wheel, path, staging):
    with zipfile.ZipFile(path) as z:
        for info in z.infolist():
            name = info.filename
            if info.is_dir():
                continue
            if name not in wheel["files"] and not any(
                    name.startswith(p) for p in wheel["extract"]):
                continue
            target = os.path.join(staging, name)
            os.makedirs(os.path.dirname(target), exist_ok=True)
            with z.open(info) as src, open(target, "wb") as dst:
                shutil.copyfileobj(src, dst)
            if name.endswith(".so") or ".so." in name:
                os.chmod(target, 0o755)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--cache", default=os.environ.get(
        "ATTNR_LIBTORCH_CACHE") or os.path.expanduser("~/.cache/attnr/libtorch"))
    parser.add_argument("--check", action="store_true")
    parser.add_argument("--print-root", action="store_true")
    parser.add_argument("--stage", metavar="DIR")
    parser.add_argument("--cuda", action="store_true")
    args = parser.parse_args()
    with open(MANIFEST) as f:
        manifest = json.load(f)
    wheels = selection(manifest, args.cuda)
    version = manifest["version"] + ("-cuda" if args.cuda else "")
    folder = os.path.join(args.cache, version)
    if args.print_root:
        print(folder)
        return 0
    bad = problems(wheels, folder)
    if not bad:
        print(f"fetch-libtorch: LibTorch {version}: verified in {folder}")
        return stage(wheels, folder, args.stage, version)
    if args.check:
        print(f"fetch-libtorch: {bad[0]}", file=sys.stderr)
        return 1
    wheels_dir = os.path.join(args.cache, "wheels")
    os.makedirs(wheels_dir, exist_ok=True)
    staging = folder + ".partial"
    shutil.rmtree(staging, ignore_errors=True)
    for wheel in wheels:
        extract(wheel, download(wheel, wheels_dir), staging)
    with open(os.path.join(staging, STAMP), "w") as f:
        f.write(stamp_text(wheels))
    bad = problems(wheels, staging)
    if bad:
        sys.exit(f"fetch-libtorch: extracted, but {bad[0]}")
    shutil.rmtree(folder, ignore_errors=True)
    os.rename(staging, folder)
    print(f"fetch-libtorch: LibTorch {version}: fetched and verified in "
          f"{folder}")
    return stage(wheels, folder, args.stage, version)


def stage(wheels, folder, out, version):
    """A verified copy of `folder` in out/<version> (none without `out`)."""
    if not out:
        return 0
    target = os.path.join(out, version)
    shutil.rmtree(target, ignore_errors=True)

    def link_or_copy(src, dst):
        try:
            os.link(src, dst)
        except OSError:
            shutil.copy2(src, dst)

    shutil.copytree(folder, target, copy_function=link_or_copy)
    bad = problems(wheels, target)
    if bad:
        sys.exit(f"fetch-libtorch: staged, but {bad[0]}")
    print(f"fetch-libtorch: staged in {target}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
