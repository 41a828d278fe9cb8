#!/bin/bash
# bench/run.sh [--quick] [--keep-going] [--rounds N] [--use-build DIR]
# Start→exit latency of /bin/true under modrt (level by level), crun, runc and unshare, interleaved in
# one run; modrt's stage and start-up breakdown; N containers started at once. Writes
# bench/results/latest.md and its PNG charts (--quick: prints the tables and keeps no files).
#
# Runs as root. Everything it makes lives in one temporary folder, one throwaway network namespace
# and cgroups nested under its own; the EXIT trap removes all of it.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)
quick=0
keep_going=0
rounds=""
use_build=""
while [ $# -gt 0 ]; do
  case $1 in
    --quick) quick=1 ;;
    --keep-going) keep_going=1 ;;
    --rounds) rounds=$2; shift ;;
    --use-build) use_build=$2; shift ;;
    -h | --help) sed -n "2,5p" "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "run.sh: unknown argument '$1' (try --help)" >&2; exit 2 ;;
  esac
  shift
done
if [ "$quick" = 1 ]; then
  rounds=${rounds:-3}
  timing_runs=3
  scale_ns="1 5"
  results=${MODRT_BENCH_RESULTS:-}  # empty: inside the work folder, printed, then removed
else
  rounds=${rounds:-150}
  timing_runs=40
  scale_ns="1 10 50 100"
  results=$here/results
fi
build=${MODRT_BENCH_BUILD:-$repo/build-bench}

say() { printf '\033[1mbench:\033[0m %s\n' "$*" >&2; }
die() { printf 'bench: error: %s\n' "$*" >&2; exit 1; }
[ "$(id -u)" = 0 ] || die "run as root (it creates namespaces, cgroups and mounts)"

# --- 1. tools, from Debian (idempotent: asks apt only for what is missing) ---------------------
need=()
for pkg in crun runc hyperfine gnuplot-nox busybox-static iproute2 util-linux python3 strace \
  valgrind cmake ninja-build; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || need+=("$pkg")
done
if [ ${#need[@]} -gt 0 ]; then
  say "installing ${need[*]}"
  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${need[@]}" >&2 ||
    { apt-get update >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y \
      --no-install-recommends "${need[@]}" >&2; }
fi

# --- 2. modrt in Release (or, with --use-build DIR, a tree someone already built) -------------
if [ -n "$use_build" ]; then
  build=$(cd "$use_build" && pwd)
  build_type=$(sed -n 's/^CMAKE_BUILD_TYPE:[A-Z]*=//p' "$build/CMakeCache.txt" 2>/dev/null || true)
  # An empty cache entry means the top-level CMakeLists.txt's default.
  [ -f "$build/CMakeCache.txt" ] && build_type=${build_type:-RelWithDebInfo}
  say "using the existing build in $build (${build_type:-unknown} build type; not rebuilt)"
else
  say "building modrt (Release) in $build"
  build_type=Release
  # The flags of the last bench build, so that a rerun does not flip them and rebuild everything.
  build_flags=$(cat "$build/bench-build-flags" 2>/dev/null || true)
  mkdir -p "$build"
  release_build() {
    cmake -S "$repo" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DMODRT_BUILD_TESTS=OFF \
      -DCMAKE_CXX_FLAGS="$build_flags" >"$build/bench-build.log" 2>&1 &&
      cmake --build "$build" -j"$(nproc)" >>"$build/bench-build.log" 2>&1
  }
  if ! release_build; then
    # GCC 12 at -O3 reports false -Werror=restrict hits inside libstdc++'s string code for
    # `"text" + std::string`: the warning is wrong, not the code. Build anyway and say so.
    if [ -z "$build_flags" ] && grep -q 'Werror=restrict' "$build/bench-build.log"; then
      say "the Release build trips GCC 12's false -Wrestrict; retrying with -Wno-error=restrict"
      build_flags=-Wno-error=restrict
      release_build || { tail -n 30 "$build/bench-build.log" >&2; die "the Release build failed ($build/bench-build.log)"; }
    else
      tail -n 30 "$build/bench-build.log" >&2
      die "the Release build of modrt failed (log: $build/bench-build.log)"
    fi
  fi
  echo "$build_flags" >"$build/bench-build-flags"
fi
modrt=$build/bin/modrt
plugin_dir=$build/lib/modrt
[ -x "$modrt" ] || die "no $modrt after the build"

# --- 3. a private workspace, a throwaway netns, and the cleanup of both --------------------------
tag=mb$$
# State roots (modrt --root, crun/runc --root) and overlay uppers go on tmpfs, as /run is on a
# usual host. On a disk file system each replacing rename of modrt's state.json makes ext4 flush
# the file first (auto_da_alloc): 20-40 ms per start on this machine's ext4 /run.
shm=/dev/shm
[ "$(stat -f -c %T "$shm" 2>/dev/null)" = tmpfs ] || shm=/tmp
work=$(mktemp -d "$shm/modrt-bench.XXXXXX")
print_results=0
if [ -z "$results" ]; then results=$work/results; print_results=1; fi
# When /run (modrt's default root) is not tmpfs, one row keeps its state there, to show what that costs.
disk_state=""
if [ "$(stat -f -c %T /run)" != tmpfs ]; then
  disk_state=$(mktemp -d /run/modrt-bench-state.XXXXXX)
fi
netns=modrt-bench-$$
# The anchor's workload is PID 1 of its pid namespace and ignores SIGTERM: SIGKILL it (our own
# grandchild), then modrt rolls back and exits.
stop_anchor() {
  [ -n "${anchor_pid:-}" ] || return 0
  local p=$anchor_pid kid depth
  # $! may be a subshell above unshare → sh → nsenter → modrt (each execs the next, or not).
  for depth in 1 2 3 4 5; do
    [ "$(cat /proc/"$p"/comm 2>/dev/null)" = modrt ] && break
    p=$(cat /proc/"$p"/task/*/children 2>/dev/null | awk '{print $1; exit}')
    [ -n "$p" ] || break
  done
  if [ -n "$p" ] && [ "$(cat /proc/"$p"/comm 2>/dev/null)" = modrt ]; then
    for kid in $(cat /proc/"$p"/task/*/children 2>/dev/null); do kill -KILL "$kid"; done
  fi
  wait "$anchor_pid" 2>/dev/null || true
  anchor_pid=""
}
# The EXIT trap's cgroup part: no cgroup of this run outside $bench_cg; then $bench_cg itself and
# everything beneath it go (what a runtime left there is an error). Only the bench's own processes
# can be in $bench_cg itself: a shell still there is moved back to the cgroup it came from.
remove_bench_cgroups() {
  local ok=0 stray d left pid
  stray=$(find /sys/fs/cgroup -depth -type d -name "${tag}*" -not -path "*/${bench_cg:-none}/*" 2>/dev/null)
  if [ -n "$stray" ]; then
    echo "bench: error: cgroups of this run outside ${bench_cg:-its cgroup} (removing them):" >&2
    echo "$stray" | sed 's/^/  /' >&2
    echo "$stray" | while read -r d; do rmdir "$d"; done
    ok=1
  fi
  for d in "${bench_dirs[@]+"${bench_dirs[@]}"}"; do
    [ -d "$d" ] || continue
    left=$(find "$d" -mindepth 1 -depth -type d)
    if [ -n "$left" ]; then
      echo "bench: error: cgroups left behind beneath $d (removing them):" >&2
      echo "$left" | sed 's/^/  /' >&2
      echo "$left" | while read -r c; do rmdir "$c"; done
      ok=1
    fi
    for pid in $(cat "$d/cgroup.procs"); do echo "$pid" >"$(dirname "$d")/cgroup.procs"; done
    rmdir "$d" || ok=1
  done
  return $ok
}
cleanup() {
  local rc=$?
  set +e
  trap - EXIT INT TERM
  stop_anchor
  # Containers of crun/runc that a failed run left, by their own state folder only.
  for rt in crun runc; do
    for d in "$work/$rt-state"/*/; do
      [ -d "$d" ] || continue
      "$rt" --root "$work/$rt-state" delete -f "$(basename "$d")" >/dev/null 2>&1
    done
  done
  if [ -x "$modrt" ] && [ -d "$work/state" ]; then
    ip netns exec "$netns" true 2>/dev/null &&
      nsenter --net="/run/netns/$netns" "$modrt" --root "$work/state" gc >/dev/null 2>&1
    "$modrt" --root "$work/state" gc >/dev/null 2>&1
  fi
  if [ -n "${disk_state:-}" ]; then
    [ -x "$modrt" ] && "$modrt" --root "$disk_state" gc >/dev/null 2>&1
    grep -q " $disk_state" /proc/self/mountinfo || rm -rf "$disk_state"
  fi
  ip netns del "$netns" 2>/dev/null
  # The raw outputs (hyperfine JSON, --timings tables, traces), when asked for.
  if [ -n "${MODRT_BENCH_RAW:-}" ]; then
    mkdir -p "$MODRT_BENCH_RAW" && find "$work" -maxdepth 1 -type f -exec cp {} "$MODRT_BENCH_RAW" \;
  fi
  remove_bench_cgroups || { [ $rc = 0 ] && rc=1; }
  # Overlay uppers and bundles hold no mounts once the runs ended; refuse to rm across one.
  if grep -q " $work" /proc/self/mountinfo; then
    echo "bench: warning: mounts remain under $work; not removing it" >&2
  else
    rm -rf "$work"
  fi
  exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# --- the bench's own cgroup, beneath the one it was started in, in every cgroup v1 hierarchy -----
hybrid=0
if mountpoint -q /sys/fs/cgroup/unified 2>/dev/null; then hybrid=1; fi
bench_cg=modrt-bench-$$
cg_spec=""     # mountpoint:options:bench-cgroup-dir, one per v1 hierarchy
bench_dirs=()  # the bench cgroups this run created (removed by the EXIT trap)
while read -r mnt opts; do
  # Options of the hierarchy without rw/ro: the controllers or name= that select it for mount(8).
  opts=$(echo "$opts" | tr , '\n' | grep -vxE 'rw|ro' | paste -sd, -)
  own=$(awk -F: -v o="$opts" '$2 == o {print $3}' /proc/self/cgroup)
  [ -n "$own" ] || die "no line for cgroup hierarchy '$opts' in /proc/self/cgroup"
  dir=${mnt}${own%/}/$bench_cg
  mkdir "$dir" || die "cannot create the bench's cgroup $dir"
  bench_dirs+=("$dir")
  if [ -f "$dir/cpuset.cpus" ]; then # no task may join an empty cpuset
    cat "$(dirname "$dir")/cpuset.cpus" >"$dir/cpuset.cpus"
    cat "$(dirname "$dir")/cpuset.mems" >"$dir/cpuset.mems"
  fi
  cg_spec+="$mnt:$opts:$dir "
done < <(awk '{for (i = 7; $i != "-"; i++); if ($(i + 1) == "cgroup") {
  if ($4 != "/") { print "bench: error: cgroup mount " $5 " is not a hierarchy root" > "/dev/stderr"; exit 1 }
  print $5, $(i + 3) } }' /proc/self/mountinfo)
[ -n "$cg_spec" ] || die "no cgroup v1 hierarchy mounted (the bench nests runtimes through cgroup v1 only)"

# The rootfs lives beside our own build; a borrowed build tree (--use-build) is left untouched.
if [ -n "$use_build" ]; then rootfs=$work/rootfs; else rootfs=$build/bench-rootfs; fi
"$repo/scripts/make-rootfs.sh" "$rootfs"
ip netns add "$netns"
mkdir -p "$work/state" "$work/crun-state" "$work/runc-state" "$work/cfg" "$results"

have_plugin() { [ -f "$plugin_dir/modrt_$1.so" ]; }
# The fullest modrt level whose plugins are all built: its config gets the stage breakdown.
full=""
for p in ns fs cgroup seccomp net; do
  if have_plugin $p; then full=$p; else break; fi
done

# --- 4. configs: one per modrt level, and OCI bundles that ask crun/runc for the same -----------
# Same namespaces everywhere: pid, mount, uts, ipc, net, cgroup (+ user in the *-userns rows, mapped
# one to one as modrt does for root). Same limits: memory 64M, pids 64, cpu 50%.
ns_list='[pid, mount, uts, ipc, net, cgroup]'
ns_list_user='[user, pid, mount, uts, ipc, net, cgroup]'
cgroup_with='{memory.max: 64M, pids.max: 64, cpu.max: "50%"}'
write_cfg() { # NAME NAMESPACES FS_WITH CGROUP? SECCOMP? NET(0, or the bridge's name)
  local name=$1 nss=$2 fs=$3 cg=$4 sc=$5 net=$6 f=$work/cfg/$1.yaml
  {
    echo "name: $name"
    echo "hostname: bench"
    echo "process: {args: [/bin/true], env: [PATH=/bin:/sbin]}"
    echo "stages:"
    echo "  - {plugin: ns, with: {namespaces: $nss}}"
    if [ -n "$fs" ]; then echo "  - {plugin: fs, with: $fs}"; fi
    if [ "$cg" = 1 ]; then echo "  - {plugin: cgroup, with: $cgroup_with}"; fi
    if [ "$net" != 0 ]; then
      echo "  - {plugin: net, with: {mode: bridge, bridge: ${tag}$net, subnet: $(subnet_of "$net")}}"
    fi
    if [ "$sc" = 1 ]; then echo "  - {plugin: seccomp, with: {profile: default}}"; fi
  } >"$f"
}
overlay="{rootfs: $rootfs, overlay: {}}"
bind="{rootfs: $rootfs}"
write_cfg ns "$ns_list" "" 0 0 0
write_cfg fs "$ns_list" "$overlay" 0 0 0
write_cfg cgroup "$ns_list" "$overlay" 1 0 0
write_cfg cgroup-bind "$ns_list" "$bind" 1 0 0
write_cfg cgroup-userns "$ns_list_user" "$bind" 1 0 0
write_cfg seccomp "$ns_list" "$overlay" 1 1 0
# The net plugin makes the bridge (and nft table) for its first user and removes them after the
# last. "shared" runs on a bridge that an anchor container holds for the whole bench (the steady
# state of a host running containers); "first" on a bridge of its own, made and removed every run.
subnet_of() { case $1 in br0) echo 10.213.0.0/16 ;; *) echo 10.214.0.0/24 ;; esac; }
write_cfg net "$ns_list" "$overlay" 1 1 br0
write_cfg net-first "$ns_list" "$overlay" 1 1 br1
write_cfg scale "$ns_list" "$overlay" 1 1 br0
write_cfg anchor "$ns_list" "$overlay" 1 1 br0

write_bundle() { # DIR USERNS(0|1) CGROUP-LEAF
  local dir=$1 user=$2 leaf=$3 userns="" maps=""
  mkdir -p "$dir"
  if [ "$user" = 1 ]; then
    userns='{"type": "user"},'
    maps='"uidMappings": [{"containerID": 0, "hostID": 0, "size": 4294967295}],
    "gidMappings": [{"containerID": 0, "hostID": 0, "size": 4294967295}],'
  fi
  cat >"$dir/config.json" <<JSON
{
  "ociVersion": "1.0.2",
  "process": {
    "terminal": false,
    "user": {"uid": 0, "gid": 0},
    "args": ["/bin/true"],
    "env": ["PATH=/bin:/sbin"],
    "cwd": "/",
    "noNewPrivileges": true
  },
  "root": {"path": "$rootfs", "readonly": false},
  "hostname": "bench",
  "mounts": [
    {"destination": "/proc", "type": "proc", "source": "proc"},
    {"destination": "/dev", "type": "tmpfs", "source": "tmpfs",
     "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]},
    {"destination": "/dev/pts", "type": "devpts", "source": "devpts",
     "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620"]},
    {"destination": "/dev/shm", "type": "tmpfs", "source": "shm",
     "options": ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"]},
    {"destination": "/dev/mqueue", "type": "mqueue", "source": "mqueue",
     "options": ["nosuid", "noexec", "nodev"]},
    {"destination": "/sys", "type": "sysfs", "source": "sysfs",
     "options": ["nosuid", "noexec", "nodev", "ro"]},
    {"destination": "/sys/fs/cgroup", "type": "cgroup", "source": "cgroup",
     "options": ["nosuid", "noexec", "nodev", "relatime", "ro"]}
  ],
  "linux": {
    $maps
    "cgroupsPath": "$leaf",
    "resources": {
      "memory": {"limit": 67108864},
      "pids": {"limit": 64},
      "cpu": {"quota": 50000, "period": 100000}
    },
    "namespaces": [$userns {"type": "pid"}, {"type": "mount"}, {"type": "uts"},
      {"type": "ipc"}, {"type": "network"}, {"type": "cgroup"}],
    "maskedPaths": ["/proc/acpi", "/proc/asound", "/proc/interrupts", "/proc/kcore",
      "/proc/keys", "/proc/latency_stats", "/proc/timer_list", "/proc/timer_stats",
      "/proc/sched_debug", "/proc/scsi", "/sys/firmware", "/sys/devices/virtual/powercap"],
    "readonlyPaths": ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"]
  }
}
JSON
}
# One leaf per bundle, no parent folder: runc and crun remove the leaf they made, not its parents.
write_bundle "$work/oci" 0 "${tag}-oci"
write_bundle "$work/oci-userns" 1 "${tag}-oci-userns"

# Every runtime command runs in in_bench_env: a private mount namespace, a cgroup namespace rooted
# at the bench's own cgroup, and the throwaway network namespace.
# - crun 1.8 refuses a hybrid cgroup layout, so the cgroup2 mount of a hybrid host is unmounted in
#   the private mount namespace (the host keeps it): all runtimes see the same cgroup v1 layout.
# - crun reads a relative cgroupsPath from the ROOT of each v1 hierarchy, runc and modrt from the
#   caller's cgroup. So that all three nest beneath the cgroup the bench was started in (never beside
#   this machine's own cgroups at a hierarchy's root), the shell of each in_bench_env call moves
#   itself (its own PID) into $bench_cg, unshares a cgroup namespace there and remounts every v1
#   hierarchy in its private mount namespace: the bench's cgroup is then every runtime's root.
in_bench_env() {
  unshare -m --propagation private -- sh -c '
    netns=$0 hybrid=$1 spec=$2
    shift 2
    if [ "$hybrid" = 1 ]; then umount /sys/fs/cgroup/unified || exit 1; fi
    for e in $spec; do echo $$ >"${e##*:}/cgroup.procs" || exit 1; done
    exec unshare -C -- sh -c '\''
      for e in $1; do
        mnt=${e%%:*} rest=${e#*:}
        umount "$mnt" && mount -t cgroup -o "nosuid,nodev,noexec,${rest%%:*}" cgroup "$mnt" || exit 1
      done
      netns=$0
      shift
      exec nsenter --net="/run/netns/$netns" -- "$@"'\'' "$netns" "$spec" "$@"' \
    "$netns" "$hybrid" "$cg_spec" "$@"
}
# Fails when a cgroup of this run (named after $tag) exists anywhere but beneath $bench_cg.
check_cgroups_nested() { # WHEN
  local stray
  stray=$(find /sys/fs/cgroup -type d -name "${tag}*" -not -path "*/$bench_cg/*" 2>/dev/null)
  [ -z "$stray" ] || die "$1: cgroups of this run outside $bench_cg:"$'\n'"$stray"
}

# --- 5. the anchor that holds bridge br0; the rows, each probed once: a row that errors fails
# the bench (or, with --keep-going, is marked FAILED in the table)
anchor_pid=""
if have_plugin net && [ "$full" = net ]; then
  in_bench_env "$modrt" --root "$work/state" run -c "$work/cfg/anchor.yaml" --name "${tag}-anchor" \
    -- /bin/sleep 1000000 >"$work/anchor.log" 2>&1 &
  anchor_pid=$!
  for _ in $(seq 100); do
    ip -n "$netns" link show "${tag}br0" >/dev/null 2>&1 && break
    kill -0 "$anchor_pid" 2>/dev/null || { cat "$work/anchor.log" >&2; die "the anchor container failed"; }
    sleep 0.05
  done
  # The anchor runs all along: its cgroups must be beneath $bench_cg, in every hierarchy modrt uses.
  check_cgroups_nested "with the anchor running"
  # The cgroup plugin names a container's cgroup <name>-<random suffix of the run>.
  [ -n "$(find "${bench_dirs[@]}" -type d -name "${tag}-anchor-*")" ] ||
    die "the anchor's cgroup is not beneath $bench_cg"
fi
labels=()
commands=()
notes=()
add_row() { # LABEL COMMAND NEEDED-PLUGINS...
  local label=$1 cmd=$2
  shift 2
  local p
  for p in "$@"; do
    if ! have_plugin "$p"; then
      notes+=("$label|n/a: plugin missing ($p)")
      say "$label: n/a, plugin $p is not built yet"
      return
    fi
  done
  local probe=${cmd//\{i\}/probe}
  if ! in_bench_env sh -c "$probe" >"$work/probe.out" 2>&1; then
    cat "$work/probe.out" >&2
    if [ "$keep_going" = 1 ]; then
      notes+=("$label|FAILED: $(tail -n1 "$work/probe.out" | tr '|' '/')")
      say "$label: FAILED (see above); left out"
      return
    fi
    die "$label failed: $probe"
  fi
  labels+=("$label")
  commands+=("$cmd")
}
crun_cmd() { echo "crun --root $work/crun-state run --bundle $1 ${tag}-$2-{i}"; }
runc_cmd() { echo "runc --root $work/runc-state run --bundle $1 ${tag}-$2-{i}"; }
modrt_cmd() { echo "$modrt --root $work/state run -c $work/cfg/$1.yaml --name ${tag}-$1-{i}"; }

add_row "floor: busybox true" "$rootfs/bin/true"
add_row "unshare -Urmpfiu" "unshare -Urmpfiu $rootfs/bin/true"
add_row "crun" "$(crun_cmd "$work/oci" c)"
add_row "crun +userns" "$(crun_cmd "$work/oci-userns" cu)"
add_row "runc" "$(runc_cmd "$work/oci" r)"
add_row "runc +userns" "$(runc_cmd "$work/oci-userns" ru)"
add_row "modrt ns" "$(modrt_cmd ns)" ns
add_row "modrt ns+fs" "$(modrt_cmd fs)" ns fs
add_row "modrt ns+fs+cgroup" "$(modrt_cmd cgroup)" ns fs cgroup
if [ -n "$disk_state" ]; then
  add_row "modrt ns+fs+cgroup, state on /run ($(df --output=fstype /run | tail -n1))" \
    "$modrt --root $disk_state run -c $work/cfg/cgroup.yaml --name ${tag}-disk-{i}" ns fs cgroup
fi
add_row "modrt ns+fs(bind)+cgroup" "$(modrt_cmd cgroup-bind)" ns fs cgroup
add_row "modrt ns+fs(bind)+cgroup +userns" "$(modrt_cmd cgroup-userns)" ns fs cgroup
add_row "modrt +seccomp" "$(modrt_cmd seccomp)" ns fs cgroup seccomp
add_row "modrt +net(bridge, shared)" "$(modrt_cmd net)" ns fs cgroup seccomp net
add_row "modrt +net(bridge, first user)" "$(modrt_cmd net-first)" ns fs cgroup seccomp net
add_row "modrt --version" "$modrt --version"
[ -n "$full" ] && add_row "modrt validate ($full config)" "$modrt validate -c $work/cfg/$full.yaml"

# --- 6. the interleaved run: hyperfine with one parameter value per round runs every command
# once per round, in order, each under a fresh container name.
say "timing ${#commands[@]} commands × $rounds interleaved rounds"
in_bench_env hyperfine -N --style none --runs 1 -P i 1 "$rounds" --export-json "$work/latency.json" \
  "${commands[@]}" >/dev/null
check_cgroups_nested "after the interleaved run"
printf '%s\n' "${labels[@]}" >"$work/labels"
printf '%s\n' "${notes[@]+"${notes[@]}"}" >"$work/notes"

# --- 7. modrt's own breakdown: --timings over the fullest config, start-up costs, profiles ------
if [ -n "$full" ]; then
  say "stage × phase timings of config '$full' ($timing_runs runs)"
  : >"$work/timings.txt"
  for i in $(seq "$timing_runs"); do
    in_bench_env "$modrt" --root "$work/state" --timings run -c "$work/cfg/$full.yaml" \
      --name "${tag}-t$i" 2>>"$work/timings.txt" >/dev/null ||
      die "modrt --timings run of '$full' failed: $(tail -n3 "$work/timings.txt")"
  done
  # CPU time of everything before the pipeline, config by config (perf's task-clock, when perf works).
  : >"$work/perf-startup.txt"
  if command -v perf >/dev/null && perf stat -x, -e task-clock true 2>/dev/null; then
    say "start-up CPU time per config (perf stat)"
    perf_runs=$([ "$quick" = 1 ] && echo 5 || echo 100)
    perf_row() { # LABEL COMMAND...
      local label=$1 ms
      shift
      ms=$(perf stat -r "$perf_runs" -x, -e task-clock "$@" 2>&1 >/dev/null | awk -F, '/task-clock/{print $1}')
      printf '%s\t%s\n' "$label" "$ms" >>"$work/perf-startup.txt"
    }
    perf_row "busybox true" "$rootfs/bin/true"
    perf_row "modrt --version" "$modrt" --version
    for c in ns fs cgroup seccomp net; do
      have_plugin $c || break
      perf_row "modrt validate, stages up to $c" "$modrt" validate -c "$work/cfg/$c.yaml"
    done
  fi
  say "start-up profile (LD_DEBUG=statistics, strace -c, callgrind)"
  in_bench_env env LD_DEBUG=statistics "$modrt" validate -c "$work/cfg/$full.yaml" \
    >/dev/null 2>"$work/ld-stats.txt" || true
  in_bench_env strace -f -c -o "$work/strace-run.txt" "$modrt" --root "$work/state" run \
    -c "$work/cfg/$full.yaml" --name "${tag}-strace" >/dev/null 2>&1 || die "strace -c of modrt failed"
  in_bench_env strace -f -ttt -o "$work/strace-tl.txt" -e trace=execve,openat,clone3,clone,exit_group \
    "$modrt" --root "$work/state" run -c "$work/cfg/$full.yaml" --name "${tag}-stl" >/dev/null 2>&1 ||
    die "strace timeline of modrt failed"
  if [ "$quick" = 0 ]; then
    valgrind --tool=callgrind --callgrind-out-file="$work/callgrind.out" \
      "$modrt" validate -c "$work/cfg/$full.yaml" >/dev/null 2>"$work/callgrind.log" || true
    if [ -f "$work/callgrind.out" ]; then
      callgrind_annotate --inclusive=yes "$work/callgrind.out" >"$work/callgrind-all.txt" 2>&1 || true
      head -n 60 "$work/callgrind-all.txt" >"$work/callgrind.txt"
    fi
  fi
fi

# --- 8. scale: N at once, each `sh -c 'echo up; exec sleep'`, in the throwaway netns -----------
scale_cfg=scale
have_plugin net || { scale_cfg=seccomp; sed -i '/plugin: net/d' "$work/cfg/scale.yaml"; }
for p in ns fs cgroup seccomp; do have_plugin $p || scale_cfg=""; done
if [ -n "$scale_cfg" ]; then
  say "scale: N = $scale_ns"
  in_bench_env python3 "$here/scale.py" --modrt "$modrt" --root "$work/state" \
    --config "$work/cfg/scale.yaml" --rootfs "$rootfs" --prefix "${tag}-s" --out "$work/scale.json" \
    $scale_ns
else
  echo '{"skipped": "n/a: plugin missing"}' >"$work/scale.json"
fi
check_cgroups_nested "after the scale run"

stop_anchor

# --- 9. report -------------------------------------------------------------------------------
say "writing $results/latest.md"
python3 "$here/report.py" --work "$work" --results "$results" --modrt "$modrt" \
  --rounds "$rounds" --hybrid "$hybrid" --quick "$quick" --scale-config "$scale_cfg" \
  --full-config "$full" --build-note "${build_type:-unknown}${build_flags:+, CXXFLAGS=$build_flags}"
if [ "$print_results" = 1 ]; then
  sed -n '/^| command/,/^$/p;/^| N /,/^$/p' "$results/latest.md"
  say "done (quick: set MODRT_BENCH_RESULTS=DIR to keep the report and charts)"
else
  say "done: $results/latest.md"
fi
