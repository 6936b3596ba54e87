#!/bin/sh
# run.sh — builds the libFuzzer targets with clang (ASan+UBSan) in their own build folder and
# runs each for a bounded time over its seed corpus. Fails on any crash, leak or UB report.
# Usage: test/fuzz/run.sh [seconds-per-target] [target...]   (default 20 s, every target)
set -eu
here=$(cd "$(dirname "$0")" && pwd)
secs=${1:-20}
[ $# -gt 0 ] && shift
build=${KC_FUZZ_BUILD_DIR:-$here/../../build-fuzz}
cc=${KC_FUZZ_CC:-clang}
jobs=${KC_FUZZ_JOBS:-2}

command -v "$cc" >/dev/null 2>&1 || { echo "run.sh: $cc not found" >&2; exit 2; }
CC=$cc cmake -S "$here" -B "$build" -DKC_FUZZ=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo >"$build.cmake.log" 2>&1 ||
  { cat "$build.cmake.log" >&2; exit 2; }
cmake --build "$build" -j"$jobs" >"$build.build.log" 2>&1 || { cat "$build.build.log" >&2; exit 2; }

targets=${*:-"fuzz_jolokia fuzz_connect_model fuzz_objectname fuzz_path fuzz_config fuzz_metrics fuzz_summary_parse"}
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}
failed=""
for t in $targets; do
  seeds="$here/corpus/$t"
  work="$build/corpus/$t"        # new inputs land here; the committed seeds stay as they are
  arts="$build/artifacts/$t/"
  mkdir -p "$work" "$arts"
  echo "== $t (${secs}s)"
  if "$build/$t" -max_total_time="$secs" -timeout=10 -rss_limit_mb=1024 -max_len=65536 \
       -artifact_prefix="$arts" -print_final_stats=0 "$work" "$seeds" >"$build/$t.log" 2>&1; then
    tail -n 1 "$build/$t.log"
  else
    echo "!! $t FAILED; log $build/$t.log, reproducer in $arts" >&2
    grep -E "ERROR:|runtime error|SUMMARY|Test unit written|deadly signal" "$build/$t.log" | head -20 >&2
    failed="$failed $t"
  fi
done
if [ -n "$failed" ]; then
  echo "fuzz failures:$failed" >&2
  exit 1
fi
echo "fuzz: all targets clean"
