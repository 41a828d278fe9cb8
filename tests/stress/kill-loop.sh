#!/bin/sh
# kill-loop.sh [BUILD_DIR] [ITERATIONS]: the nightly crash loop. A web.yaml-shaped run (ns, fs with
# an overlay, cgroup, a bridge with a published port, seccomp, a workload that keeps running) is
# SIGKILLed at a random moment between 0 and 400 ms after its start, then `modrt gc` must exit 0
# and leave nothing: no link, address or nft rule in the throwaway netns that plays the host, no
# mount, no cgroup below this script's own, no state dir, no net state. Prints the counts; exits 1
# if any iteration left something or gc failed.
#
# Everything it makes carries its own prefix and lives in a netns and a state root it made; it
# kills only the modrt processes it started (by PID), and the workloads die with them.
set -eu
top=$(cd "$(dirname "$0")/../.." && pwd)
build=$(cd "${1:-$top/build}" && pwd)
iterations=${2:-200}
modrt="$build/bin/modrt"
[ "$(id -u)" -eq 0 ] || { echo "kill-loop.sh: run as root" >&2; exit 2; }
[ -x "$modrt" ] || { echo "kill-loop.sh: no $modrt; build first (scripts/build.sh)" >&2; exit 2; }

tag="mrk$$"
work=$(mktemp -d "/tmp/modrt-kill-loop.XXXXXX")
root="/run/modrt-$tag"
netns="$tag"
bridge="${tag}b"

cleanup() {
  ip netns del "$netns" 2>/dev/null || true
  rm -rf "$work"
  # Only our own state root; plugin-wide data in it is ours too.
  [ -d "$root" ] && rm -rf --one-file-system "$root"
}
trap cleanup EXIT INT TERM

ip netns add "$netns"
# nsenter, not `ip netns exec`: that one mounts a fresh /sys without the cgroup hierarchies.
in_host() { nsenter --net="/run/netns/$netns" "$@"; }
cat >"$work/web.yaml" <<EOF
name: $tag
hostname: web
process:
  args: [httpd, -f, -p, "80", -h, /]
  env: [PATH=/bin:/sbin:/usr/bin:/usr/sbin]
stages:
  - plugin: ns
    with: {namespaces: [user, pid, mount, uts, ipc, net, cgroup],
           uid_map: [{container: 0, host: 100000, size: 65536}],
           gid_map: [{container: 0, host: 100000, size: 65536}], init: true}
  - plugin: fs
    with: {rootfs: $build/rootfs, overlay: {}, mounts: [{type: tmpfs, destination: /tmp, size: 16M}]}
  - plugin: cgroup
    with: {memory.max: 64M, pids.max: 64, cpu.max: "50%"}
  - plugin: net
    with: {mode: bridge, bridge: $bridge, subnet: 10.125.0.0/24, ports: ["18081:80/tcp"]}
  - plugin: seccomp
    with: {profile: default}
EOF

own_cgroups() {
  # Directories below the cgroups this shell runs in, every hierarchy.
  sed 's/^[^:]*:[^:]*://' /proc/self/cgroup | sort -u | while read -r rel; do
    for h in /sys/fs/cgroup /sys/fs/cgroup/*; do
      [ -d "$h$rel" ] && find "$h$rel" -mindepth 1 -type d 2>/dev/null
    done
  done | sort -u
}
snapshot() {
  grep -E 'modrt|overlay' /proc/self/mountinfo | awk '{print $5, $9}' | sort
  own_cgroups
  in_host ip -o link | awk -F': ' '$2 != "lo" {print "link", $2}'
  in_host ip -4 -o addr | grep -o 'inet 10\.[^ ]*' || true
  in_host nft list ruleset
  ls "$root" 2>/dev/null | grep -v '^\.' | sed 's/^/state /' || true
  ls /run/modrt-net 2>/dev/null | sed 's/^/net-state /' || true
}

before=$(snapshot)
killed_running=0 killed_setup=0 finished=0 gc_failed=0 leftovers=0
i=0
while [ "$i" -lt "$iterations" ]; do
  i=$((i + 1))
  delay_ms=$(( $(od -An -N2 -tu2 /dev/urandom) % 400 ))
  # nsenter execs modrt in place: $! is modrt's own pid.
  nsenter --net="/run/netns/$netns" "$modrt" --root "$root" run -c "$work/web.yaml" \
    >"$work/out" 2>"$work/err" </dev/null &
  pid=$!
  sleep "$(printf '0.%03d' "$delay_ms")"
  if grep -q '"workload_pid"' "$root/$tag/journal" 2>/dev/null; then
    killed_running=$((killed_running + 1))
  else
    killed_setup=$((killed_setup + 1))
  fi
  if ! kill -KILL "$pid" 2>/dev/null; then
    finished=$((finished + 1))
    echo "iteration $i: modrt ended before the kill:" >&2
    cat "$work/err" >&2
  fi
  wait "$pid" 2>/dev/null || true
  if ! in_host "$modrt" --root "$root" gc >"$work/gc.out" 2>"$work/gc.err"; then
    gc_failed=$((gc_failed + 1))
    echo "iteration $i (kill after ${delay_ms} ms): gc failed:" >&2
    cat "$work/gc.err" >&2
  fi
  # A veth goes with the workload's netns, which the kernel tears down asynchronously.
  tries=0
  while now=$(snapshot) && [ "$now" != "$before" ] && [ "$tries" -lt 50 ]; do
    tries=$((tries + 1))
    sleep 0.1
  done
  if [ "$now" != "$before" ]; then
    leftovers=$((leftovers + 1))
    echo "iteration $i (kill after ${delay_ms} ms) left:" >&2
    printf '%s\n' "$now" | grep -vxF "$before" >&2 || true
    break
  fi
done

echo "kill-loop: $i iterations: $killed_running killed while the workload ran, $killed_setup during" \
  "setup, $finished ended before the kill; gc failed $gc_failed times; $leftovers left something"
[ "$gc_failed" -eq 0 ] && [ "$leftovers" -eq 0 ]
