#!/bin/sh
# third_party_plugin.sh BUILD SRC: the SDK as a plugin author gets it, from an install only.
# modrt is installed twice: with --prefix into a temporary folder, and with DESTDIR under a prefix that
# does not exist (so that tree is used away from the prefix it was installed for: relocated). Nothing
# may land outside either (the host's /usr/local is compared before and after). From the installed
# trees alone, examples/greeting-plugin is built with CMake (find_package(modrt)) and with pkg-config
# only, and each build runs in a container (the installed ns and fs plugins, found by the installed
# modrt beside its libmodrt) through the installed modrt. A plugin that calls a symbol no library
# defines is refused by validate and run with exit 2 and the symbol named (RTLD_NOW), never a
# "symbol lookup error" of the workload's child (exit 127).
set -eu
build=$1
src=$2
work=$(mktemp -d /tmp/modrt-third-party-XXXXXX)
trap 'rm -rf "$work"' EXIT
# The installed modrt must find its plugins on its own; the caller's path would hide a failure.
unset MODRT_PLUGIN_PATH
fail() {
  echo "third_party_plugin: $*" >&2
  exit 1
}

# modrt's files in the host's /usr/local (the old absolute plugin dir wrote there whatever --prefix).
host_modrt() { find /usr/local -path '*modrt*' 2>/dev/null | sort; }
host_before=$(host_modrt)

# --- 1. cmake --install --prefix P ---------------------------------------------------------------
prefix=$work/prefix
cmake --install "$build" --prefix "$prefix" >/dev/null
# Every file the install wrote, by its own manifest, is under P.
outside=$(grep -v "^$prefix/" "$build/install_manifest.txt" || true)
test -z "$outside" || fail "cmake --install --prefix $prefix wrote outside it: $outside"
pc=$(find "$prefix" -name modrt.pc)
test -n "$pc" || fail "no modrt.pc under $prefix"
libdir=$(cd "$(dirname "$pc")/.." && pwd -P) # <prefix>/<libdir>, whatever GNUInstallDirs chose
for f in "$prefix/bin/modrt" "$prefix/include/modrt/plugin.hpp" "$libdir/libmodrt.so" \
  "$libdir/cmake/modrt/modrtConfig.cmake" "$libdir/cmake/modrt/ModrtPlugin.cmake" \
  "$libdir/modrt/modrt_ns.so" "$libdir/modrt/modrt_fs.so"; do
  test -e "$f" || fail "the install lacks $f"
done
# A versioned SONAME, and the name a plugin links (-lmodrt) pointing at it.
soname=$(readelf -d "$libdir/libmodrt.so" | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')
case $soname in libmodrt.so.[0-9]*) ;; *) fail "libmodrt's SONAME is '$soname'" ;; esac
test -e "$libdir/$soname" || fail "no $soname in $libdir"
# Relocatable: no absolute path of the build, the source or a prefix in what the SDK reads, and
# only $ORIGIN-relative RUNPATHs.
for p in "$build" "$src" /usr/local "$prefix"; do
  if grep -rlF "$p" "$libdir/cmake/modrt" "$pc"; then fail "installed files name $p"; fi
done
for f in "$prefix/bin/modrt" "$libdir"/modrt/*.so; do
  runpath=$(readelf -d "$f" | sed -n 's/.*R\(UN\)\{0,1\}PATH.*\[\(.*\)\]/\2/p')
  # shellcheck disable=SC2016 # a literal $ORIGIN
  case $runpath in '' | '$ORIGIN'*) ;; *) fail "$f has the RUNPATH '$runpath'" ;; esac
done

# --- 2. DESTDIR=D cmake --install --prefix Q (Q does not exist; the tree is used at D/Q) ----------
fake=/opt/modrt-sdk-test-$$
DESTDIR=$work/dest cmake --install "$build" --prefix "$fake" >/dev/null
test ! -e "$fake" || fail "DESTDIR install created $fake"
# The manifest names the files by their prefix, without DESTDIR.
outside=$(grep -v "^$fake/" "$build/install_manifest.txt" || true)
test -z "$outside" || fail "DESTDIR install wrote outside $fake: $outside"
outside=$(cd "$work/dest" && find . ! -type d | { grep -v "^\.$fake/" || true; })
test -z "$outside" || fail "DESTDIR install left files outside the prefix: $outside"
dtree=$work/dest$fake
dlibdir=$dtree/${libdir#"$prefix/"}

# The installed modrt lists the installed plugins from beside its libmodrt, with no warning (a
# stale or shadowing plugin elsewhere would be one).
for tree in "$prefix" "$dtree"; do
  lib=$(cd "$tree/${libdir#"$prefix/"}" && pwd -P)
  "$tree/bin/modrt" plugins >"$work/plugins" 2>"$work/plugins.err"
  test ! -s "$work/plugins.err" || fail "$tree/bin/modrt plugins warned: $(cat "$work/plugins.err")"
  grep -q "^ns .* $lib/modrt/modrt_ns.so$" "$work/plugins" ||
    fail "$tree/bin/modrt did not find ns in $lib/modrt: $(cat "$work/plugins")"
done

# --- 3. the example, built against the installed SDK only ------------------------------------------
# With CMake, against the --prefix tree.
cmake -S "$src/examples/greeting-plugin" -B "$work/with-cmake" -G Ninja \
  -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF >/dev/null
grep -q "^modrt_DIR:PATH=$libdir/cmake/modrt$" "$work/with-cmake/CMakeCache.txt" ||
  fail "find_package(modrt) did not use $prefix: $(grep modrt_DIR "$work/with-cmake/CMakeCache.txt")"
cmake --build "$work/with-cmake" >/dev/null
test -f "$work/with-cmake/lib/modrt/modrt_greeting.so" || fail "CMake built no modrt_greeting.so"

# The package names the installed modrt's own plugin folder, computed from where it was found.
mkdir "$work/dir-check"
cat >"$work/dir-check/CMakeLists.txt" <<'CMAKE'
cmake_minimum_required(VERSION 3.25)
project(dir_check LANGUAGES CXX)
find_package(modrt REQUIRED)
file(WRITE ${CMAKE_BINARY_DIR}/plugin-dir "${MODRT_PLUGIN_DIR}")
CMAKE
cmake -S "$work/dir-check" -B "$work/dir-check/build" -DCMAKE_PREFIX_PATH="$dtree" \
  -DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF >/dev/null
test "$(cd "$(cat "$work/dir-check/build/plugin-dir")" && pwd -P)" = "$(cd "$dlibdir/modrt" && pwd -P)" ||
  fail "MODRT_PLUGIN_DIR is $(cat "$work/dir-check/build/plugin-dir"), not $dlibdir/modrt"

# With pkg-config only, against the relocated DESTDIR tree.
export PKG_CONFIG_PATH="$dlibdir/pkgconfig"
test "$(pkg-config --modversion modrt)" = "$(sed -n 's/^Version: //p' "$pc")" ||
  fail "pkg-config does not find modrt in $dlibdir/pkgconfig"
plugindir=$(pkg-config --variable=plugindir modrt)
test "$(cd "$plugindir" && pwd -P)" = "$(cd "$dlibdir/modrt" && pwd -P)" ||
  fail "pkg-config's plugindir is $plugindir, not the relocated tree's"
api=$(sed -n 's/.*kPluginApiVersion = \([0-9]*\).*/\1/p' "$dtree/include/modrt/plugin.hpp")
if [ -z "$api" ] || [ "$(pkg-config --variable=plugin_api_version modrt)" != "$api" ]; then
  fail "modrt.pc's plugin_api_version is not the headers' '$api'"
fi
mkdir "$work/with-pc"
# shellcheck disable=SC2046 # pkg-config's output is a list of words
c++ -std=c++20 -fPIC -shared -fvisibility=hidden $(pkg-config --cflags modrt) \
  "$src/examples/greeting-plugin/greeting.cpp" -o "$work/with-pc/modrt_greeting.so" \
  $(pkg-config --libs modrt)
unset PKG_CONFIG_PATH

# --- 4. each build runs in a container, through the installed modrt ------------------------------
run_greeting() { # TREE PLUGIN_DIR
  name=greet-$$-$(basename "$2")
  cat >"$work/$name.yaml" <<YAML
name: $name
process:
  args: [/bin/sh, -c, 'echo "\$GREETING"; cat /etc/motd; cat /proc/self/uid_map']
  env: [PATH=/bin:/sbin:/usr/bin]
stages:
  - plugin: ns
    with: {namespaces: [user, pid, mount, uts, ipc],
           uid_map: [{container: 0, host: 100000, size: 65536}],
           gid_map: [{container: 0, host: 100000, size: 65536}]}
  - plugin: fs
    with: {rootfs: $build/rootfs, overlay: {}}
  - plugin: greeting
    with: {text: hello from a third party}
YAML
  out=$("$1/bin/modrt" --root "$work/state" --plugin-path "$2" run -c "$work/$name.yaml")
  # The environment and /etc/motd from the plugin, and uid 0 inside mapped to 100000: a container.
  expected=$(printf 'hello from a third party\nhello from a third party\n')
  case $out in "$expected"*" 0 "*100000*65536) ;; *) fail "$1/bin/modrt ran $2's greeting: $out" ;; esac
}
run_greeting "$prefix" "$work/with-cmake/lib/modrt"
run_greeting "$dtree" "$work/with-pc"
"$prefix/bin/modrt" --plugin-path "$work/with-cmake/lib/modrt" plugins | grep -q "^greeting 1.0" ||
  fail "modrt plugins does not list greeting"
# A bad value is reported with its position, from the third-party plugin's own validation.
if "$prefix/bin/modrt" --plugin-path "$work/with-pc" validate -c /dev/stdin 2>"$work/err" <<YAML; then
name: greet
process: {args: [/bin/true]}
stages: [{plugin: greeting, with: {text: ""}}]
YAML
  fail "validate accepted an empty greeting"
fi
grep -q 'stages\[0\].with.text: must not be empty' "$work/err" || fail "$(cat "$work/err")"

# --- 5. a plugin calling a symbol nothing defines: refused at load, by validate and by run ----------
cat >"$work/unresolved.yaml" <<YAML
name: unresolved-$$
process: {args: [/bin/true]}
stages: [{plugin: unresolved}]
YAML
for cmd in validate run; do
  rc=0
  "$prefix/bin/modrt" --root "$work/state" --plugin-path "$build/lib/modrt-bad" $cmd \
    -c "$work/unresolved.yaml" >"$work/out" 2>"$work/err" || rc=$?
  test $rc = 2 || fail "$cmd of a plugin with an unresolved symbol exited $rc: $(cat "$work/err")"
  grep -qF "modrt_unresolved.so' cannot be loaded: undefined symbol 'modrt_symbol_that_does_not_exist'" \
    "$work/err" || fail "$cmd did not name the file and the symbol: $(cat "$work/err")"
  if grep -q "symbol lookup error" "$work/out" "$work/err"; then fail "$cmd got to the call"; fi
done

host_after=$(host_modrt)
test "$host_before" = "$host_after" || fail "/usr/local changed: before [$host_before] after [$host_after]"
echo "third-party plugin: SDK installed with --prefix and DESTDIR (nothing outside), greeting built" \
  "with CMake and with pkg-config, listed, validated and run in containers; an unresolved symbol refused"
