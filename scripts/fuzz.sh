#!/usr/bin/env bash
# make fuzz: builds the libFuzzer targets of tests/fuzz/ with clang (ASan +
# UBSan) in build-fuzz/, replays every input in tests/fuzz/regressions/<t>/
# (inputs that once crashed), then fuzzes each target for FUZZ_SECONDS
# (default 30) from its seeds (tests/fuzz/corpus/<t>/). A crash fails the
# run and leaves the input in build-fuzz/artifacts/<t>/: fix the bug, then
# copy the input into tests/fuzz/regressions/<t>/ so it is replayed forever.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
BUILD="${FUZZ_BUILD_DIR:-$ROOT/build-fuzz}"
SECONDS_EACH="${FUZZ_SECONDS:-30}"
TARGETS=(text_pipeline_fuzzer wordpiece_fuzzer bpe_fuzzer gguf_fuzzer
         safetensors_fuzzer request_fuzzer)

bash "$ROOT/scripts/install-deps.sh" --fuzz
CC=clang CXX=clang++ cmake -S "$ROOT" -B "$BUILD" -DATTNR_FUZZ=ON \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$BUILD" -j "${JOBS:-2}"

export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
for t in "${TARGETS[@]}"; do
  regressions="$ROOT/tests/fuzz/regressions/$t"
  if [ -d "$regressions" ] && [ -n "$(ls -A "$regressions")" ]; then
    echo "fuzz: $t: replaying $(ls "$regressions" | wc -l) regression input(s)"
    "$BUILD/fuzz/$t" "$regressions"/*
  fi
  mkdir -p "$BUILD/corpus/$t" "$BUILD/artifacts/$t"
  echo "fuzz: $t: ${SECONDS_EACH} s"
  if ! "$BUILD/fuzz/$t" -max_total_time="$SECONDS_EACH" -max_len=4096 \
      -rss_limit_mb=3072 -timeout=20 -print_final_stats=1 \
      -artifact_prefix="$BUILD/artifacts/$t/" \
      "$BUILD/corpus/$t" "$ROOT/tests/fuzz/corpus/$t" \
      >"$BUILD/artifacts/$t.log" 2>&1; then
    tail -n 60 "$BUILD/artifacts/$t.log" >&2
    echo "fuzz: $t FAILED; the input is in $BUILD/artifacts/$t/" >&2
    exit 1
  fi
  grep -E "^stat::(number_of_executed_units|new_units_added)" \
    "$BUILD/artifacts/$t.log" |
    sed "s/^/fuzz: $t: /" || true
done
echo "fuzz: all ${#TARGETS[@]} targets passed"
