#!/usr/bin/env python3
"""make-corpus.py TOP OUT: the seed corpora and dictionaries of the fuzz targets.

Seeds come from what the tree already holds, so they follow it as it changes:
  - configs/*.yaml and examples/**/*.yaml, whole, for every config-shaped target;
  - the YAML the tests feed the parsers: C++ string literals in tests/unit and plugins/*/tests
    that look like a config or a `with:` block (good inputs and the bad ones beside them), each
    `with:` block wrapped into a whole config with the stages its plugin expects before it;
  - for the readers, a few state.json + journal pairs and lease files in the formats
    core/src/state.cpp and plugins/net/src/ipam.cpp write (a torn line, a forget, a full ledger).
Dictionaries are the string literals of each parser's own sources (its keys and words) plus YAML's
punctuation, so mutations can spell `memory.max` or `errno(EPERM)` without guessing.

Writes OUT/seeds/<target>/<sha1> and OUT/dict/<target>.dict; prints how many of each.
"""
import hashlib
import pathlib
import re
import sys

TOP = pathlib.Path(sys.argv[1]).resolve()
OUT = pathlib.Path(sys.argv[2]).resolve()

# A C++ string literal, ordinary ("...") or raw (R"(...)" / R"x(...)x"); adjacent ones concatenate.
LITERAL = re.compile(r'R"(?P<delim>[^(\s]*)\((?P<raw>.*?)\)(?P=delim)"|"(?P<plain>(?:[^"\\\n]|\\.)*)"',
                     re.S)
ESCAPES = {"n": "\n", "t": "\t", '"': '"', "\\": "\\", "'": "'", "0": "\0", "r": "\r"}


def unescape(text):
    return re.sub(r"\\(.)", lambda m: ESCAPES.get(m.group(1), m.group(1)), text)


def literals(path):
    """The string values of a C++ file, adjacent literals joined (as the compiler joins them)."""
    source = path.read_text(errors="replace")
    values, last_end, current = [], None, None
    for m in LITERAL.finditer(source):
        text = m.group("raw") if m.group("raw") is not None else unescape(m.group("plain") or "")
        between = source[last_end:m.start()] if last_end is not None else None
        if current is not None and between is not None and between.strip() == "":
            current += text
        else:
            if current is not None:
                values.append(current)
            current = text
        last_end = m.end()
    if current is not None:
        values.append(current)
    return values


def looks_like_config(text):
    return "stages:" in text or ("name:" in text and "process:" in text)


def looks_like_with_block(text):
    t = text.strip()
    return (t.startswith("{") and t.endswith("}")) or (t.startswith("{") and ":" in t)


def indent(text, spaces):
    pad = " " * spaces
    return "\n".join(pad + line if line else line for line in text.split("\n"))


# What each plugin's parser expects before its own stage (fs needs ns with a mount namespace, net
# looks at ns's net namespace, seccomp must come after ns and fs).
BEFORE = {
    "ns": [],
    "fs": [("ns", "{namespaces: [user, pid, mount, uts, ipc, net]}")],
    "cgroup": [("ns", "{namespaces: [user, pid, mount, cgroup]}")],
    "net": [("ns", "{namespaces: [user, pid, mount, net]}")],
    "seccomp": [("ns", "{namespaces: [user, pid, mount]}"), ("fs", "{rootfs: rootfs}")],
}


def wrap(plugin, with_block, hostname=False):
    doc = "name: t\n"
    if hostname:
        doc += "hostname: box\n"
    doc += "process: {args: [/bin/true]}\nstages:\n"
    for name, block in BEFORE[plugin]:
        doc += f"  - plugin: {name}\n    with: {block}\n"
    doc += f"  - plugin: {plugin}\n    with:\n{indent(with_block, 6)}\n"
    return doc


seeds = {}


def add(target, data):
    if isinstance(data, str):
        data = data.encode()
    if data:
        seeds.setdefault(target, set()).add(data)


PLUGINS = ["ns", "fs", "cgroup", "net", "seccomp"]
CONFIG_TARGETS = ["fuzz_config"] + [f"fuzz_{p}_options" for p in PLUGINS]

# Whole configs: every target that reads configs gets them (each plugin finds its stage in them).
whole = sorted(TOP.glob("configs/*.yaml")) + sorted(TOP.glob("examples/**/*.yaml"))
for path in whole:
    for target in CONFIG_TARGETS:
        add(target, path.read_text())

test_files = sorted(TOP.glob("tests/unit/*.cpp")) + sorted(TOP.glob("tests/integration/*.cpp"))
for path in test_files:
    for text in literals(path):
        if looks_like_config(text):
            for target in CONFIG_TARGETS:
                add(target, text)

for plugin in PLUGINS:
    target = f"fuzz_{plugin}_options"
    for path in sorted((TOP / "plugins" / plugin / "tests").glob("*.cpp")):
        for text in literals(path):
            if looks_like_config(text):
                add(target, text)
                add("fuzz_config", text)
            elif looks_like_with_block(text):
                add(target, wrap(plugin, text))
                add(target, wrap(plugin, text, hostname=True))
                add("fuzz_config", wrap(plugin, text))

# NULs spelt as YAML escapes ("\0"), where modrt hands a string to the kernel (issue 11, item 10).
nul = '"a\\0b"'
for target in CONFIG_TARGETS:
    add(target, "name: t\nprocess: {args: [/bin/sh, %s], env: [%s], cwd: %s}\nstages: [{plugin: ns}]\n"
        % (nul, '"K=v\\0w"', '"/\\0x"'))
add("fuzz_ns_options", wrap("ns", "{namespaces: [uts, mount], hostname: %s, domainname: %s}" % (nul, nul)))
add("fuzz_fs_options", wrap("fs", "{rootfs: \"rootfs\\0x\", masked_paths: [%s], mounts: [{type: tmpfs, "
                        "destination: \"/tmp\\0x\"}, {source: data, destination: %s}]}" % (nul, nul)))
add("fuzz_net_options", wrap("net", "{bridge: %s, interface: %s, dns: {search: [%s]}}" % (nul, nul, nul)))
add("fuzz_cgroup_options", wrap("cgroup", "{parent: \"/modrt\\0x\", cpuset.cpus: %s}" % nul))

# Joins need a namespace file that exists: the fuzzer's own (it runs as whoever runs it).
for kinds in (["net"], ["user", "net"], ["pid"], ["user", "pid", "mount"], ["uts", "ipc", "time"]):
    join = ", ".join(f"{k}: /proc/self/ns/{'mnt' if k == 'mount' else k}" for k in kinds)
    add("fuzz_ns_options", wrap("ns", "{join: {%s}, namespaces: [mount]}" % join))
    add("fuzz_ns_options", wrap("ns", "{join: {%s}}" % join, hostname=True))

# The seccomp target reads "config NUL profile-file": profiles from the tests' YAML profile files.
profile_ref = wrap("seccomp", "{profile: profile.yaml}")
add("fuzz_seccomp_options", profile_ref.encode() + b"\0" +
    b"default_action: errno(EPERM)\nrules:\n  - {names: [read, write], action: allow}\n")
add("fuzz_seccomp_options", profile_ref.encode() + b"\0" +
    b"default_action: allow\narchitectures: [x86_64]\nrules:\n"
    b"  - names: [personality]\n    action: errno(EINVAL)\n"
    b"    args: [{index: 0, op: masked_eq, value: 0xffff, value2: 8}]\n")
add("fuzz_seccomp_options", profile_ref.encode() + b"\0" + b"default_action: [\n")

# State dirs: state.json NUL journal, in the shapes Pipeline::state_json and journal() write.
# fuzz_state keeps the dir as "run1" in its state root: the marker check wants that name.
state = (b'{"version":1,"kind":"modrt-state","name":"run1","config_text":"name: web\\nprocess: {args: [/bin/true]}\\n'
         b'stages:\\n  - plugin: ns\\n  - plugin: net\\n","config_file":"/etc/modrt/web.yaml",'
         b'"config_dir":"/etc/modrt","modrt_pid":4711,"modrt_start_time":123456,'
         b'"stages":[{"plugin":"ns","path":"/usr/lib/modrt/modrt_ns.so"},'
         b'{"plugin":"net","path":"/usr/lib/modrt/modrt_net.so"}]}\n')
journals = [
    b"",
    b'{"stage":0,"started":true}\n{"stage":1,"started":true}\n',
    b'{"stage":1,"started":true}\n{"stage":1,"record":["lease","modrt0 10.88.0.2"]}\n'
    b'{"stage":1,"record":["port","tcp 8080"]}\n{"stage":1,"record":["bridge","modrt0"]}\n'
    b'{"workload_pid":4712,"workload_start_time":123500}\n',
    b'{"stage":1,"started":true}\n{"stage":1,"record":["veth","mv-web0"]}\n'
    b'{"stage":1,"forget":["veth","mv-web0"]}\n{"stage":1,"ledger":[["table","inet modrt"]]}\n'
    b'{"stage":1,"rolled_back":true}\n',
    b'{"stage":0,"started":true}\n{"stage":1,"record":["lease","modrt0 10.8',  # torn by a SIGKILL
    b'{"stage":7,"started":true}\n{"stage":-1,"record":["a","b"]}\n{"stage":"0"}\n[1,2]\nnull\n',
]
for journal in journals:
    add("fuzz_state", state + b"\0" + journal)
add("fuzz_state", b'{"version":1,"kind":"modrt-state","name":"run1","stages":[]}')
add("fuzz_state", state.replace(b'"run1"', b'"web"'))  # not this dir's record: refused
add("fuzz_state", b"")
add("fuzz_state", b'{"kind":"modrt-state","name":"run1","stages":[{"plugin":"ns"}]}\0'
                  b'{"workload_pid":1,"workload_start_time":1}\n')

# Lease files: lease NUL next NUL port-claim, as format_lease / store_number / claim_port write.
add("fuzz_ipam", b"container=web\npid=4711\nstart=123456\nveth=mv-web0\n\x000000000002\n\0"
                 b"container=web\naddress=10.88.0.2\n")
add("fuzz_ipam", b"container=web\npid=1\nstart=0\nveth=lo\n")
add("fuzz_ipam", b"container=\npid=-1\nstart=99999999999999999999\n\x00abc\0address=300.1.1.1\n")
add("fuzz_ipam", b"garbage")

# Dictionaries: the words each parser compares against, from its own sources.
DICT_SOURCES = {
    "fuzz_config": ["core/src/config.cpp", "core/src/config_node.cpp", "core/src/units.cpp"],
    "fuzz_ns_options": ["plugins/ns/options.cpp", "plugins/ns/namespace_kind.cpp",
                        "plugins/ns/id_map.cpp", "core/src/units.cpp"],
    "fuzz_fs_options": ["plugins/fs/src/options.cpp", "core/src/units.cpp"],
    "fuzz_cgroup_options": ["plugins/cgroup/src/resources.cpp", "core/src/units.cpp"],
    "fuzz_net_options": ["plugins/net/src/options.cpp", "plugins/net/src/address.cpp"],
    "fuzz_seccomp_options": ["plugins/seccomp/lockdown_stage.cpp", "plugins/seccomp/profile.cpp",
                             "plugins/seccomp/capabilities.cpp", "plugins/seccomp/rlimits.cpp"],
    "fuzz_state": ["core/src/state.cpp"],
    "fuzz_ipam": ["plugins/net/src/ipam.cpp"],
}
YAML_WORDS = ["{", "}", "[", "]", ": ", "- ", ", ", "\n", "\n  ", "'", '"', "&a ", "*a", "!!str ",
              "!!int ", "|\n", ">\n", "\\0", "\\x00", "~", "null", "true", "false", "---\n", "...\n", "? ", "#"]
STAGE_WORDS = ["plugin", "with", "stages", "process", "args", "name", "ns", "fs", "cgroup", "net",
               "seccomp"]
WORD = re.compile(r"^[\x20-\x7e]{1,40}$")


def dict_line(word):
    escaped = "".join(c if c.isalnum() or c in " _.-/:()[]{}=,*&!~|>?#+%@" else f"\\x{ord(c):02x}"
                      for c in word)
    return f'"{escaped}"'


dicts = {}
for target, files in DICT_SOURCES.items():
    words = set(YAML_WORDS)
    if target not in ("fuzz_state", "fuzz_ipam"):
        words.update(STAGE_WORDS)
    else:
        words.update(['{"', '":', '"stage":', '"record":', '"forget":', '"ledger":', '"started":',
                      '"workload_pid":', "container=", "pid=", "start=", "veth=", "address=",
                      "\0", "-1", "18446744073709551615", "1e999"])
    for rel in files:
        path = TOP / rel
        if not path.exists():
            continue
        for text in literals(path):
            if WORD.match(text) and "{}" not in text:
                words.add(text)
    dicts[target] = sorted(words)

for target, datas in seeds.items():
    folder = OUT / "seeds" / target
    folder.mkdir(parents=True, exist_ok=True)
    for data in datas:
        (folder / hashlib.sha1(data).hexdigest()).write_bytes(data)
(OUT / "dict").mkdir(parents=True, exist_ok=True)
for target, words in dicts.items():
    (OUT / "dict" / f"{target}.dict").write_text("".join(dict_line(w) + "\n" for w in words))
for target in sorted(set(seeds) | set(dicts)):
    print(f"{target}: {len(seeds.get(target, ()))} seeds, {len(dicts.get(target, ()))} words")
