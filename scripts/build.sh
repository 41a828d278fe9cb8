#!/bin/sh
# build.sh [BUILD_DIR] [cmake args...]: configure (once) and build modrt with its plugins and tests.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$top/build}
[ $# -gt 0 ] && shift
cmake -S "$top" -B "$build" -G Ninja "$@" >/dev/null
cmake --build "$build" -j"$(nproc)"
