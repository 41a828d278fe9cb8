#!/bin/sh
# run-demo.sh: sets up everything (Debian packages, build, busybox rootfs in ./rootfs) and runs the
# demo: busybox httpd in a container, published on the host's port 8080. Stop it with Ctrl-C.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
"$top/scripts/install-deps.sh"
"$top/scripts/build.sh" "$top/build-demo" -DCMAKE_BUILD_TYPE=Release -DMODRT_BUILD_TESTS=OFF
"$top/scripts/make-rootfs.sh" "$top/rootfs"
echo "run-demo.sh: serving http://127.0.0.1:8080/ from a container; Ctrl-C stops it" >&2
exec "$top/build-demo/bin/modrt" --config "$top/configs/web.yaml" "$@"
