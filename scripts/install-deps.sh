#!/bin/sh
# install-deps.sh: the Debian 12 packages modrt builds, tests and runs with (clang-14 with its
# sanitizer and libFuzzer runtimes, llvm-symbolizer and python3 are for tests/fuzz). Idempotent:
# installs only what is missing, and reads the package lists only when something is.
set -eu
packages="
  build-essential cmake ninja-build pkg-config clang-format
  libboost-dev libboost-filesystem-dev libyaml-cpp-dev libspdlog-dev libfmt-dev
  libcli11-dev nlohmann-json3-dev libgtest-dev libgmock-dev
  libnl-3-dev libnl-route-3-dev libseccomp-dev libcap-dev libnftables-dev
  busybox-static uidmap iproute2 nftables procps kmod
  clang-14 libclang-rt-14-dev llvm-14 python3
"
missing=""
for p in $packages; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing="$missing $p"
done
if [ -n "$missing" ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "install-deps.sh: missing packages:$missing; run as root (sudo $0)" >&2
    exit 1
  fi
  echo "install-deps.sh: installing$missing"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends $missing
fi
