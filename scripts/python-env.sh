#!/usr/bin/env bash
# The Python client's test environment: a venv (Debian's python3) at $1
# with client/python/requirements-test.txt (pinned from PyPI) and the attnr
# package installed the way users install it, `pip install ./client/python`
# (its gRPC stubs generated from proto/ by grpcio-tools in the build).
# Idempotent: reinstalls only when the package's sources or pins changed.
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
VENV="${1:?usage: python-env.sh VENV_DIR}"
PY=/usr/bin/python3

if [ ! -x "$VENV/bin/python" ]; then
  echo "python-env: creating $VENV"
  "$PY" -m venv "$VENV"
fi

# What the installed package was built from: its sources, the proto and
# the pins.
stamp_of() {
  (cd "$ROOT" && find client/python proto/attnr/v1/retriever.proto \
      -path client/python/build -prune -o -name '*.egg-info' -prune -o \
      -name __pycache__ -prune -o -type f -print | LC_ALL=C sort |
      xargs sha256sum) | sha256sum | cut -d' ' -f1
}
STAMP="$VENV/.attnr-stamp"
want="$(stamp_of)"
if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$want" ]; then
  echo "python-env: up to date ($VENV)"
  exit 0
fi

"$VENV/bin/pip" install -q --disable-pip-version-check \
  -r "$ROOT/client/python/requirements-test.txt"
# Build isolation as for users: pip fetches the build requirements
# (setuptools, grpcio-tools) and builds the wheel in a clean environment.
"$VENV/bin/pip" install -q --disable-pip-version-check --no-deps \
  --force-reinstall "$ROOT/client/python"
# The in-tree build leaves these behind.
rm -rf "$ROOT/client/python/build" "$ROOT"/client/python/*.egg-info
"$VENV/bin/python" -c "import attnr, attnr.langchain, attnr.llama_index"
echo "$want" > "$STAMP"
echo "python-env: ready ($VENV)"
