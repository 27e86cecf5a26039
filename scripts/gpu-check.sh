#!/usr/bin/env bash
# The GPU check (make gpu-check), for whoever has an NVIDIA GPU and driver:
#  1. builds the CUDA build (TORCH=cuda, build-cuda/) and fetches the models;
#  2. runs the model reference-vector tests with the models on the GPU
#     (ATTNR_TEST_DEVICE=cuda: the same vectors and tolerances as on CPU);
#  3. serves the default config with both neural views on the GPU
#     (views.dense.device and views.llm.device "cuda") and runs Prepare of a
#     ~100k-token document through the default views and the LLM view,
#     printing each one's tokens and encode time.
# On a machine without a GPU it stops after the build, saying so: the CUDA
# build itself refuses device "cuda" there at start-up (tested on CPU).
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR="${BUILD_DIR:-build-cuda}"
make build models TORCH=cuda BUILD_DIR="$BUILD_DIR"

if ! command -v nvidia-smi >/dev/null || ! nvidia-smi -L >/dev/null 2>&1; then
  echo "gpu-check: the CUDA build is built in $BUILD_DIR; no NVIDIA GPU is" \
       "visible here (nvidia-smi), so nothing ran on one" >&2
  exit 2
fi
nvidia-smi -L

echo "gpu-check: reference vectors on the GPU"
for t in bert_encoder_test llama_decoder_test attention_reader_test; do
  ATTNR_TEST_DEVICE=cuda ATTNR_SOURCE_DIR="$PWD" "$BUILD_DIR/tests/$t"
done

echo "gpu-check: Prepare of a ~100k-token document on the GPU"
/usr/bin/python3 - "$BUILD_DIR" cuda <<'EOF'
import glob
import json
import os
import re
import sys

sys.path.insert(0, "harness")
from attnr_harness import server_config, service  # noqa: E402

build_dir, device = sys.argv[1], sys.argv[2]
config = server_config.load("config/server.textproto")
config.set("views.dense.device", device)
config.set("views.llm.device", device)
server = service.Server(build_dir, config.write())
try:
    # The repository's own prose, repeated to ~100k word tokens (no
    # download: any machine with the clone can run this).
    prose = "\n\n".join(open(p, encoding="utf-8").read()
                        for p in sorted(glob.glob("docs/*.md")) + ["README.md"])
    words = len(re.findall(r"\w+", prose))
    text = "\n\n".join([prose] * (100000 // words + 1))
    path = os.path.join(server.tmp, "gpu-check.txt")
    for views in ([], ["--views", "llm"]):
        with open(path, "w", encoding="utf-8") as f:
            f.write(f"gpu-check {views}\n\n{text}")  # Unseen each time.
        u = json.loads(server.cli("prepare", "--json", "--doc", path, *views,
                                  "--timeout", "1800").stdout)["usage"]
        s = u["timings"]["encode_ms"] / 1000
        print(f"gpu-check: Prepare {' '.join(views) or 'default views'}: "
              f"{u['document_tokens']} document tokens, {u['encoded_tokens']} "
              f"model tokens in {s:.1f} s "
              f"({u['encoded_tokens'] / max(s, 1e-9):,.0f} tokens/s)")
finally:
    server.stop()
EOF
echo "gpu-check: passed"
