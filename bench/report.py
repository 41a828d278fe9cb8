#!/usr/bin/env python3
"""Turn the raw outputs of bench/run.sh (in --work) into results/latest.md and the PNG charts."""
import argparse
import datetime
import json
import os
import re
import statistics
import subprocess


def pct(values, p):
    s = sorted(values)
    if not s:
        return float("nan")
    k = (len(s) - 1) * p / 100.0
    lo = int(k)
    hi = min(lo + 1, len(s) - 1)
    return s[lo] + (s[hi] - s[lo]) * (k - lo)


def sh(cmd):
    try:
        out = subprocess.run(cmd, shell=True, capture_output=True, text=True, timeout=20)
        return (out.stdout or out.stderr).strip().splitlines()[0]
    except Exception as e:  # a missing tool is recorded, not fatal
        return f"({e})"


def read(path):
    try:
        with open(path) as f:
            return f.read()
    except FileNotFoundError:
        return ""


def latency_rows(work):
    labels = [l for l in read(f"{work}/labels").splitlines() if l]
    data = json.loads(read(f"{work}/latency.json"))
    samples = {l: [] for l in labels}
    cpu = {l: [] for l in labels}
    # hyperfine -P runs command k of every round as result number round*len(labels)+k.
    for idx, r in enumerate(data["results"]):
        label = labels[idx % len(labels)]
        samples[label] += [t * 1000 for t in r["times"]]
        # With one run per result, user/system are that run's CPU time (every descendant reaped).
        cpu[label].append((r["user"] + r["system"]) * 1000)
    rows = []
    for l in labels:
        s = samples[l]
        rows.append({"label": l, "n": len(s), "min": min(s), "median": pct(s, 50),
                     "p95": pct(s, 95), "mean": statistics.fmean(s), "cpu": pct(cpu[l], 50)})
    return rows


def parse_timings(text):
    """`--timings` tables (one per run): stage, phase (may hold spaces), ms."""
    cells = {}
    order = []
    for line in text.splitlines():
        parts = line.split()
        if len(parts) < 3 or parts[0] == "stage":
            continue
        try:
            ms = float(parts[-1])
        except ValueError:
            continue
        key = (parts[0], " ".join(parts[1:-1]))
        if key not in cells:
            order.append(key)
            cells[key] = []
        cells[key].append(ms)
    return [(k, pct(cells[k], 50), pct(cells[k], 95), len(cells[k])) for k in order]


def unattributed(text):
    """Per run: start (total) minus the host-side hooks, spawn and release→exec."""
    gaps = []
    cur = None
    for line in text.splitlines():
        parts = line.split()
        if not parts:
            continue
        if parts[0] == "stage":
            cur = {}
            continue
        if cur is None or len(parts) < 3:
            continue
        phase = " ".join(parts[1:-1])
        try:
            ms = float(parts[-1])
        except ValueError:
            continue
        if phase == "start (total)":
            gaps.append(ms - cur.get("host", 0.0))
        elif phase in ("prepare", "apply_host", "spawn", "release→exec"):
            cur["host"] = cur.get("host", 0.0) + ms
    if not gaps:
        return None
    return pct(gaps, 50), pct(gaps, 95), len(gaps)


def ld_stats(text):
    keep = []
    for line in text.splitlines():
        line = re.sub(r"^\s*\d+:\s*", "", line).strip()
        if line and ("time" in line or "relocations" in line or "objects" in line):
            keep.append(line)
    return keep


def strace_timeline(text):
    """Milestones of one traced run, in ms after modrt's execve (strace itself slows all of it)."""
    events = []
    for line in text.splitlines():
        m = re.match(r"(\d+)\s+(\d+\.\d+)\s+(.*)", line)
        if m:
            events.append((int(m.group(1)), float(m.group(2)), m.group(3)))
    if not events:
        return []
    t0 = events[0][1]
    main_pid = events[0][0]
    marks = []

    def mark(name, pred):
        for pid, t, call in events:
            if pred(pid, t, call):
                marks.append((name, (t - t0) * 1000))
                return

    def mark_last(name, pred):
        hit = None
        for pid, t, call in events:
            if pred(pid, t, call):
                hit = (name, (t - t0) * 1000)
        if hit:
            marks.append(hit)

    config_t = next((t for _, t, c in events if c.startswith("openat(") and ".yaml" in c), None)
    mark("execve modrt", lambda p, t, c: c.startswith("execve("))
    mark_last("last shared library opened before the config",
              lambda p, t, c: c.startswith("openat(") and ".so" in c
              and (config_t is None or t < config_t))
    mark("config file opened", lambda p, t, c: c.startswith("openat(") and ".yaml" in c)
    mark("first plugin opened", lambda p, t, c: c.startswith("openat(") and "/modrt_" in c)
    mark_last("last library opened (plugins and their libraries)",
              lambda p, t, c: c.startswith("openat(") and ".so" in c)
    mark("workload cloned", lambda p, t, c: p == main_pid and (c.startswith("clone3(") or c.startswith("clone(")))
    mark("workload execve", lambda p, t, c: p != main_pid and c.startswith("execve("))
    mark_last("modrt exit_group", lambda p, t, c: p == main_pid and c.startswith("exit_group("))
    return marks


def gnuplot(script):
    subprocess.run(["gnuplot"], input=script, text=True, check=True)


def main():
    ap = argparse.ArgumentParser()
    for a in ("work", "results", "modrt", "rounds", "hybrid", "quick", "scale-config", "full-config",
              "build-note"):
        ap.add_argument(f"--{a}", default="")
    a = ap.parse_args()
    work, res = a.work, a.results
    rows = latency_rows(work)
    notes = [n.split("|", 1) for n in read(f"{work}/notes").splitlines() if "|" in n]
    by = {r["label"]: r for r in rows}
    out = []
    w = out.append
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    w(f"# modrt start-up benchmark — {now}\n")
    w("Generated by `bench/run.sh" + (" --quick" if a.quick == "1" else "") +
      "`; do not edit by hand (bench/README.md explains the method and the findings).\n")
    w("## Machine\n")
    cpu = sh("grep -m1 'model name' /proc/cpuinfo | cut -d: -f2")
    mem = sh("free -m | awk '/Mem:/{print $2}'")
    load = sh("cut -d' ' -f1-3 /proc/loadavg")
    w(f"- CPU: {cpu.strip()} × {os.cpu_count()}; memory: {mem} MiB")
    w(f"- kernel: {sh('uname -srm')}")
    w(f"- load average when the report was written: {load} "
      "(other jobs shared the machine: absolute numbers are noisy, the rows of one run share the noise)")
    w(f"- modrt: {sh(a.modrt + ' --version')}, git {sh('git -C ' + os.path.dirname(__file__) + ' rev-parse --short HEAD')}, "
      f"build: {a.build_note}")
    dirty = sh("git -C " + os.path.dirname(os.path.abspath(__file__)) +
               " status --porcelain --untracked-files=no | wc -l")
    if dirty.strip() not in ("0", ""):
        w(f"- the working tree had {dirty.strip()} modified tracked file(s) (other work in progress "
          "was built and measured with it)")
    w(f"- crun: {sh('crun --version')}; runc: {sh('runc --version')}; {sh('hyperfine --version')}")
    cg = ("hybrid (cgroup v1 controllers + cgroup2 at /sys/fs/cgroup/unified)" if a.hybrid == "1"
          else "as mounted")
    w(f"- cgroups: {cg}\n")
    w("## Start→exit of /bin/true\n")
    w(f"{a.rounds} interleaved rounds (`hyperfine -N --runs 1 -P i 1 {a.rounds}`: every round runs "
      "each command once, in order, under a fresh container name). All commands run in one private "
      "mount namespace" + (" in which the host's cgroup2 mount (/sys/fs/cgroup/unified) is unmounted, "
                           "because crun 1.8 refuses hybrid layouts (\"cgroups in hybrid mode not "
                           "supported\"); the host keeps its mount, and every runtime sees the same "
                           "cgroup v1 layout" if a.hybrid == "1" else "") +
      ", inside a throwaway network namespace. Same busybox rootfs, namespaces "
      "(pid, mount, uts, ipc, net, cgroup; + user where noted, mapped one to one), limits "
      "(memory 64M, pids 64, cpu 50%) and relative cgroup path for every runtime; each runs in a "
      "cgroup namespace rooted at a cgroup the bench made beneath its own (`<own>/modrt-bench-<pid>`, "
      "cgroup v1 hierarchies remounted there), so every container's cgroups nest beneath it. "
      "\"vs crun\" is the median over crun's median (the +userns rows over crun +userns). "
      "\"CPU ms\" is user+system time of the command and every process it reaped (kernel work "
      "deferred to workqueues, such as a network namespace's teardown, is not in it); on a busy "
      "machine it is steadier than wall time.\n")
    w("| command | min ms | median ms | p95 ms | vs crun | CPU ms (median) | runs |")
    w("|---|---:|---:|---:|---:|---:|---:|")
    crun = by.get("crun")
    crun_u = by.get("crun +userns")
    for r in rows:
        ref = crun_u if "userns" in r["label"] else crun
        ratio = f"{r['median'] / ref['median']:.2f}" if ref else "n/a"
        if "+net" in r["label"]:
            ratio = "(no equivalent)"
        elif r["label"].startswith(("modrt --version", "modrt validate")):
            ratio = ""
        w(f"| {r['label']} | {r['min']:.2f} | {r['median']:.2f} | {r['p95']:.2f} | {ratio} | "
          f"{r['cpu']:.2f} | {r['n']} |")
    for label, why in notes:
        w(f"| {label} | {why} | | | | | |")
    w("")
    w("![start→exit latency](latency.png)\n")

    # Start-up before the pipeline.
    floor = by.get("floor: busybox true")
    ver = by.get("modrt --version")
    val = next((r for r in rows if r["label"].startswith("modrt validate")), None)
    w("## modrt before the first stage\n")
    if floor and ver:
        w(f"- exec + dynamic loading of modrt and its libraries + CLI: `modrt --version` − floor = "
          f"**{ver['median'] - floor['median']:.2f} ms** (median)")
    if ver and val:
        w(f"- + YAML parse + loading and validating the {a.full_config} config's plugins: "
          f"`modrt validate` − `modrt --version` = **{val['median'] - ver['median']:.2f} ms**")
    if floor and val:
        w(f"- everything before the first prepare ≈ `modrt validate` − floor = "
          f"**{val['median'] - floor['median']:.2f} ms** wall, "
          f"**{val['cpu'] - floor['cpu']:.2f} ms** CPU (target ≤ 1.5 ms; `--version` − floor: "
          f"{ver['cpu'] - floor['cpu']:.2f} ms CPU)")
    perf_rows = [l.split("\t") for l in read(f"{work}/perf-startup.txt").splitlines() if "\t" in l]
    if perf_rows:
        w("\nCPU time (`perf stat -r`, task-clock, mean), config by config — the steadiest measure "
          "on a shared machine:\n")
        w("| command | CPU ms | − busybox true |")
        w("|---|---:|---:|")
        base = None
        for label, ms in perf_rows:
            try:
                v = float(ms)
            except ValueError:
                continue
            if base is None:
                base = v
            w(f"| {label} | {v:.2f} | {v - base:.2f} |")
    ld = ld_stats(read(f"{work}/ld-stats.txt"))
    if ld:
        w("\n`LD_DEBUG=statistics modrt validate` (the dynamic loader's own account, in cycles):\n")
        w("```")
        w("\n".join(ld))
        w("```")
    marks = strace_timeline(read(f"{work}/strace-tl.txt"))
    if marks:
        w("\nOne run under `strace -f -ttt` (strace slows every syscall; read the proportions):\n")
        w("| milestone | ms after execve |")
        w("|---|---:|")
        for name, t in marks:
            w(f"| {name} | {t:.2f} |")
    w("")

    # Stage × phase.
    timings = parse_timings(read(f"{work}/timings.txt"))
    if timings:
        w(f"## Stage × phase (`modrt --timings`, config `{a.full_config}`)\n")
        w("| stage | phase | median ms | p95 ms | runs |")
        w("|---|---|---:|---:|---:|")
        for (stage, phase), med, p95, n in timings:
            w(f"| {stage} | {phase} | {med:.3f} | {p95:.3f} | {n} |")
        gap = unattributed(read(f"{work}/timings.txt"))
        if gap:
            w(f"| core | *start (total) − host hooks − spawn − release→exec* | {gap[0]:.3f} | "
              f"{gap[1]:.3f} | {gap[2]} |")
            w("\nThe last row is the part of `start (total)` no hook accounts for: the core's own work "
              "between hooks (state dir and state.json writes, sync socket, signalfd).")
        w("")
    sc = read(f"{work}/strace-run.txt")
    if sc:
        lines = [l for l in sc.splitlines() if l.strip()]
        w("## Syscalls of one run (`strace -f -c`, modrt and its workload)\n")
        w("```")
        w("\n".join(lines[:22]))
        if len(lines) > 22:
            w("...")
            w(lines[-1])
        w("```\n")
    cgtxt = read(f"{work}/callgrind.txt")
    if cgtxt:
        lines = cgtxt.splitlines()
        start = next((i for i, l in enumerate(lines) if "PROGRAM TOTALS" in l), 0)
        body = [l for l in lines[start:] if l.strip() and not l.startswith("---")
                and not l.strip().startswith("Ir ")]
        w("## Instructions of `modrt validate` (callgrind, inclusive, top functions)\n")
        w("```")
        w("\n".join(re.sub(r"std::__cxx11::basic_string<char, std::char_traits<char>, "
                           r"std::allocator<char> >", "std::string", l)[:170] for l in body[:36]))
        w("```\n")

    # Scale.
    scale = json.loads(read(f"{work}/scale.json") or "{}")
    w("## Scale: N containers started at once\n")
    if "batches" in scale:
        w(f"Config `{a.scale_config}` (ns+fs(overlay)+cgroup+seccomp" +
          ("+net bridge" if a.scale_config == "scale" else "; net plugin missing") +
          "), workload `sh -c 'echo up; exec sleep 3600'`. Latency = spawn of modrt → \"up\" on its "
          f"stdout (the workload alone takes {scale['floor_sh_echo_ms']:.2f} ms). Memory = "
          "/proc/PID/smaps_rollup of each modrt supervisor while its workload sleeps (median, max).\n")
        w("| N | wall ms | p50 ms | p99 ms | max ms | RSS KiB (med/max) | PSS KiB (med/max) | "
          "private KiB (med/max) |")
        w("|---:|---:|---:|---:|---:|---:|---:|---:|")
        for b in scale["batches"]:
            private = (f"{b['private_kib_median']:.0f} / {b['private_kib_max']}"
                       if "private_kib_median" in b else "")
            w(f"| {b['n']} | {b['wall_ms']:.1f} | {b['p50_ms']:.1f} | {b['p99_ms']:.1f} | "
              f"{b['max_ms']:.1f} | {b['rss_kib_median']:.0f} / {b['rss_kib_max']} | "
              f"{b['pss_kib_median']:.0f} / {b['pss_kib_max']} | {private} |")
        w("\nRSS counts every shared library page the supervisor maps (libstdc++, the plugins and "
          "their libraries) in full; PSS divides shared pages among the processes that map them; "
          "private (Private_Clean + Private_Dirty) is what one more container adds.")
        w("\n![latency vs N](scale.png)\n")
    else:
        w(scale.get("skipped", "not run") + "\n")

    with open(f"{res}/latest.md", "w") as f:
        f.write("\n".join(out) + "\n")

    # Charts.
    with open(f"{work}/latency.dat", "w") as f:
        for r in rows:
            color = (0x4a7ab5 if r["label"].startswith("modrt") else
                     0xd9822b if r["label"].startswith(("crun", "runc")) else 0x8c8c8c)
            f.write(f"{r['label']}\t{r['median']:.3f}\t{r['min']:.3f}\t{r['p95']:.3f}\t{color}\t"
                    f"{r['cpu']:.3f}\n")
    gnuplot(f"""
set terminal pngcairo size 1300,700 font 'sans,10'
set output '{res}/latency.png'
set datafile separator '\\t'
set title 'start→exit of /bin/true: wall time median (bars), min..p95 (whiskers), CPU time median (dots), ms'
set style fill solid 0.6 border -1
set boxwidth 0.7
set yrange [0:*]
set grid ytics
set xtics rotate by -35 left
set bmargin 12
set rmargin 22
set key top left
plot '{work}/latency.dat' using 0:2:5:xtic(1) with boxes lc rgb variable notitle, \\
     '' using 0:2:3:4 with yerrorbars lc rgb '#202020' pt 0 notitle, \\
     '' using 0:6 with points pt 7 ps 0.8 lc rgb '#b22222' title 'CPU time (median)', \\
     '' using 0:4:(sprintf('%.1f', $2)) with labels offset 0,0.8 notitle
""")
    if "batches" in scale:
        with open(f"{work}/scale.dat", "w") as f:
            for b in scale["batches"]:
                f.write(f"{b['n']}\t{b['p50_ms']:.3f}\t{b['p99_ms']:.3f}\t{b['wall_ms']:.3f}\n")
        gnuplot(f"""
set terminal pngcairo size 900,520 font 'sans,10'
set output '{res}/scale.png'
set datafile separator '\\t'
set title 'N containers started at once: per-container start latency and total wall time'
set xlabel 'N (concurrent containers)'
set ylabel 'ms'
set logscale x
set grid
set key top left
plot '{work}/scale.dat' using 1:2 with linespoints lw 2 title 'p50 latency', \\
     '' using 1:3 with linespoints lw 2 title 'p99 latency', \\
     '' using 1:4 with linespoints lw 2 dt 2 title 'wall time (all up)'
""")


if __name__ == "__main__":
    main()
