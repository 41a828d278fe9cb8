#!/bin/sh
# run.sh SECONDS [TARGET...]: builds the libFuzzer targets (clang, ASan + UBSan) in build-fuzz/ when
# needed, replays tests/fuzz/regressions/, then fuzzes each target for SECONDS, one after the other.
# Prints per target the executions and any finding; exits 1 when there was one (a crash, a
# sanitizer report, an uncaught exception that is not a modrt::Error, a timeout or an OOM).
#
#   MODRT_FUZZ_BUILD=DIR   build dir (default: build-fuzz beside this tree's build/)
#
# The corpus each target grows is kept in DIR/fuzz/corpus/TARGET and reused by the next run, so
# scheduled runs go deeper each time; a finding's input lands in DIR/fuzz/findings/TARGET/. To keep
# one as a regression, copy it to tests/fuzz/regressions/TARGET/.
set -eu
top=$(cd "$(dirname "$0")/../.." && pwd)
here=$top/tests/fuzz
build=${MODRT_FUZZ_BUILD:-$top/build-fuzz}
if [ $# -lt 1 ] || ! [ "$1" -ge 1 ] 2>/dev/null; then
  echo "usage: $0 SECONDS [TARGET...]" >&2
  exit 2
fi
seconds=$1
shift

cxx=$(command -v clang++-14 || command -v clang++ || true)
if [ -z "$cxx" ]; then
  echo "run.sh: no clang++ (scripts/install-deps.sh installs clang-14)" >&2
  exit 2
fi
if [ ! -f "$build/build.ninja" ]; then
  cmake -S "$top" -B "$build" -G Ninja -DCMAKE_CXX_COMPILER="$cxx" \
    -DCMAKE_BUILD_TYPE=RelWithDebInfo -DMODRT_BUILD_TESTS=OFF -DMODRT_BUILD_FUZZ=ON \
    "-DCMAKE_CXX_FLAGS=-fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer" \
    >/dev/null
fi
build_start=$(date +%s)
cmake --build "$build" --target fuzzers -j"$(nproc)" >"$build/fuzz-build.log" 2>&1 || {
  tail -n 40 "$build/fuzz-build.log" >&2
  echo "run.sh: building the fuzz targets failed (log: $build/fuzz-build.log)" >&2
  exit 2
}
echo "fuzz: targets built in $(($(date +%s) - build_start)) s"

work=$build/fuzz
rm -rf "$work/seeds" "$work/dict" "$work/logs"
mkdir -p "$work/corpus" "$work/findings" "$work/logs"
python3 "$here/make-corpus.py" "$top" "$work" >/dev/null

# Where the targets put the files they read per input: a tmpfs when there is one.
scratch_base=/dev/shm
[ -d "$scratch_base" ] && [ -w "$scratch_base" ] || scratch_base=${TMPDIR:-/tmp}
scratch=$(mktemp -d "$scratch_base/modrt-fuzz.XXXXXX")
trap 'rm -rf "$scratch"' EXIT INT TERM
export MODRT_FUZZ_SCRATCH="$scratch"
# Leaks count (LeakSanitizer runs after each input that grew memory); UB stops at the first report.
export ASAN_OPTIONS="${ASAN_OPTIONS:-}${ASAN_OPTIONS:+:}detect_leaks=1:abort_on_error=0:symbolize=1"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-}${UBSAN_OPTIONS:+:}print_stacktrace=1:halt_on_error=1"

if [ $# -gt 0 ]; then
  targets=$*
else
  targets=$(cd "$build/bin/fuzz" && ls)
fi

failed=0
printf '%-22s %12s %8s %8s  %s\n' target executions exec/s corpus result
for t in $targets; do
  bin=$build/bin/fuzz/$t
  if [ ! -x "$bin" ]; then
    echo "run.sh: no target $t in $build/bin/fuzz" >&2
    failed=1
    continue
  fi
  log=$work/logs/$t.log
  mkdir -p "$work/corpus/$t" "$work/findings/$t" "$work/seeds/$t"
  # Inputs that once crashed a target must keep passing: each is run once.
  regressions=$here/regressions/$t
  if [ -d "$regressions" ] && [ -n "$(ls -A "$regressions")" ]; then
    if ! "$bin" -runs=1 "$regressions"/* >"$work/logs/$t.regressions.log" 2>&1; then
      printf '%-22s %12s %8s %8s  %s\n' "$t" - - - "REGRESSION (log: $work/logs/$t.regressions.log)"
      grep -m3 -E 'terminate called|what\(\):|ERROR: |runtime error|Running: ' "$work/logs/$t.regressions.log" |
        sed 's/^/    /'
      failed=1
      continue
    fi
  fi
  dict=$work/dict/$t.dict
  set -- -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=8192 \
    -print_final_stats=1 -artifact_prefix="$work/findings/$t/"
  [ -f "$dict" ] && set -- "$@" -dict="$dict"
  status=0
  "$bin" "$@" "$work/corpus/$t" "$work/seeds/$t" >"$log" 2>&1 || status=$?
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -n 1)
  corpus=$(ls "$work/corpus/$t" | wc -l)
  if [ "$status" -eq 0 ]; then
    printf '%-22s %12s %8s %8s  %s\n' "$t" "${runs:-?}" "${rate:-?}" "$corpus" ok
  else
    artifact=$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$log" | tail -n 1)
    printf '%-22s %12s %8s %8s  %s\n' "$t" "${runs:-?}" "${rate:-?}" "$corpus" \
      "FINDING (exit $status): ${artifact:-see $log}"
    grep -m4 -E 'terminate called|what\(\):|ERROR: (AddressSanitizer|LeakSanitizer|libFuzzer)|runtime error|SUMMARY' \
      "$log" | sed 's/^/    /'
    failed=1
  fi
done
exit $failed
