#!/usr/bin/env bash
# The playground's browser test (ctest browser_playground): Debian's
# chromium driven headless by playwright-core (pinned in package-lock.json,
# installed into <build>/browser by npm ci) against the real server on
# loopback. Exits 77 (ctest: skipped) with a message only when Chromium
# cannot be installed on this machine.
#   run.sh <attnr-server binary> <build dir>
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
SERVER="$1"
BUILD="$2"
WORK="$BUILD/browser"
CHROMIUM="${ATTNR_CHROMIUM:-/usr/bin/chromium}"

if [ ! -x "$CHROMIUM" ]; then
  if ! (apt-get install -y -q chromium >/dev/null 2>&1) || [ ! -x "$CHROMIUM" ]; then
    echo "SKIP: Chromium is not installed and cannot be installed here" \
         "(apt-get install chromium failed); the playground was not tested" \
         "in a browser." >&2
    exit 77
  fi
fi
if ! command -v npm >/dev/null; then
  apt-get install -y -q nodejs npm >/dev/null
fi

mkdir -p "$WORK"
cp "$HERE/package.json" "$HERE/package-lock.json" "$HERE/playground_test.mjs" \
   "$WORK/"
if ! cmp -s "$HERE/package-lock.json" "$WORK/node_modules/.attnr-lock" 2>/dev/null; then
  (cd "$WORK" && npm ci --no-audit --no-fund --loglevel=error)
  cp "$HERE/package-lock.json" "$WORK/node_modules/.attnr-lock"
fi
exec node "$WORK/playground_test.mjs" --server "$SERVER" \
  --config "$ROOT/config/server.textproto" --chromium "$CHROMIUM" \
  --out "$BUILD/test-output/browser"
