#!/bin/sh
# A plugin written outside modrt's tree builds against the installed package (find_package(modrt) +
# modrt_add_plugin) and runs: proves the install exports the API and the CMake helper.
set -eu
build=$1
src=$2
work=$(mktemp -d /tmp/modrt-third-party-XXXXXX)
trap 'rm -rf "$work"' EXIT
cmake --install "$build" --prefix "$work/prefix" >/dev/null
cmake -S "$src/examples/greeting-plugin" -B "$work/plugin" -G Ninja -DCMAKE_PREFIX_PATH="$work/prefix" >/dev/null
cmake --build "$work/plugin" >/dev/null
cat > "$work/greet.yaml" <<YAML
name: greet-$$
process: {args: [/bin/sh, -c, 'echo "\$GREETING"']}
stages:
  - plugin: greeting
    with: {text: hello from a third party}
YAML
out=$("$work/prefix/bin/modrt" --root "$work/state" --plugin-path "$work/plugin/lib/modrt" run -c "$work/greet.yaml")
test "$out" = "hello from a third party" || { echo "unexpected output: $out" >&2; exit 1; }
"$work/prefix/bin/modrt" --plugin-path "$work/plugin/lib/modrt" plugins | grep -q "greeting 1.0"
# A bad value is reported with its position, from the third-party plugin's own validation.
if "$work/prefix/bin/modrt" --plugin-path "$work/plugin/lib/modrt" validate -c /dev/stdin 2>"$work/err" <<YAML
name: greet
process: {args: [/bin/true]}
stages: [{plugin: greeting, with: {text: ""}}]
YAML
then echo "validate accepted an empty greeting" >&2; exit 1; fi
grep -q 'stages\[0\].with.text: must not be empty' "$work/err" || { cat "$work/err" >&2; exit 1; }
echo "third-party plugin: built, listed, validated and run"
