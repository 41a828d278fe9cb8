#!/bin/sh
# test-sanitized.sh [unit|all]: builds modrt, its plugins and tests with AddressSanitizer and
# UndefinedBehaviorSanitizer in build-asan/ and runs the unit tests (unit) or the whole suite (all,
# the default), integration tests included: real containers, as root, like scripts/test.sh.
#
# CI runs `unit` after the fuzz burst (measured on two cores: about 11 CPU-minutes to build, so
# ~6 minutes idle, and seconds to run); `all` builds everything (~20 CPU-minutes) and runs the
# integration tests serially too (548 tests in 6 minutes), which CI's 25 minutes cannot hold on top
# of the normal build and the fuzz burst: it is the scheduled (nightly) run. Any sanitizer report fails the test it happens in: UB and ASan abort, leaks fail the process.
#
# Not run here: the seccomp filter tests that load a filter into a forked child of the test
# (SeccompFilter.*, SeccompDefaultFilter.*). In an instrumented child, ASan's own bookkeeping before
# _exit (sigaltstack, mmap) is refused by the filter under test and the child hangs in ASan's
# error path; what they test is libseccomp's output, not memory safety, and they run in test.sh.
#
#   MODRT_ASAN_BUILD=DIR   build dir (default: build-asan)
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
build=${MODRT_ASAN_BUILD:-$top/build-asan}
scope=${1:-all}
case $scope in
  unit | all) ;;
  *)
    echo "usage: $0 [unit|all]" >&2
    exit 2
    ;;
esac

"$top/scripts/install-deps.sh"
# Debug plus -O1: ASan's advice (-O0 runs the suite about twice as slowly; -O2 buys little here).
cmake -S "$top" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Debug -DMODRT_BUILD_TESTS=ON \
  "-DCMAKE_CXX_FLAGS=-O1 -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer" \
  -DCMAKE_PROJECT_INCLUDE="$top/tests/fuzz/sanitize.cmake" >/dev/null
start=$(date +%s)
if [ "$scope" = unit ]; then
  # Only the unit test binaries and what they need (the test plugins core_unit_tests loads).
  targets=$(ninja -C "$build" -t targets all | sed -n 's/^\(bin\/[a-z_]*unit_tests*\): .*/\1/p')
  cmake --build "$build" -j"$(nproc)" --target test_plugins $(echo "$targets" | sed 's/^bin\///')
else
  cmake --build "$build" -j"$(nproc)"
fi
echo "test-sanitized: built in $(($(date +%s) - start)) s"

# The runtime options reach every process the tests start (modrt, its plugins, helpers); the
# workloads inside containers get their config's environment and are not instrumented.
not_here='SeccompFilter.*:SeccompDefaultFilter.*'
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=1:detect_stack_use_after_return=1:strict_string_checks=1:check_initialization_order=1"
export LSAN_OPTIONS="suppressions=$top/tests/fuzz/lsan.supp:print_suppressions=0"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"

start=$(date +%s)
status=0
if [ "$scope" = unit ]; then
  # Straight from the binaries: ctest would want every test binary of the tree to exist.
  for t in $targets; do
    echo "test-sanitized: $t"
    "$build/$t" --gtest_brief=1 --gtest_filter="-$not_here" || status=1
  done
else
  (cd "$build" && ctest --output-on-failure -j"$(nproc)" --timeout 1200 \
    -E "^($(echo "$not_here" | sed 's/\.\*/\\./g; s/:/|/g'))") || status=1
fi
echo "test-sanitized: $scope tests ran in $(($(date +%s) - start)) s"
exit $status
