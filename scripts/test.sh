#!/bin/sh
# test.sh: sets up everything (Debian packages, build, busybox rootfs) and runs the whole test suite
# as root: unit tests in parallel, then the integration tests (real containers) one at a time.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
"$top/scripts/install-deps.sh"
"$top/scripts/build.sh" "$top/build" -DMODRT_BUILD_TESTS=ON
cd "$top/build"
ctest --output-on-failure -j"$(nproc)" --timeout 600
