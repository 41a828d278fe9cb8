#!/usr/bin/env python3
"""Start N containers at once and measure how long each takes to come up.

Each container runs `sh -c 'echo up; exec sleep 3600'`. Its start latency is the time from the
moment its modrt process was spawned to the moment "up" arrives on its stdout pipe. While every
workload sleeps, the resident memory (Rss/Pss) of each modrt supervisor is read from
/proc/PID/smaps_rollup. Then the workloads are killed (SIGKILL to the workload, a child of modrt
that this script started indirectly) and every modrt must roll back and exit with 137.
"""
import argparse
import json
import os
import selectors
import signal
import subprocess
import sys
import time

from report import pct  # the one percentile both reports use


def smaps_rollup(pid):
    out = {}
    with open(f"/proc/{pid}/smaps_rollup") as f:
        for line in f:
            parts = line.split()
            if len(parts) >= 2 and parts[0].endswith(":") and parts[1].isdigit():
                out[parts[0][:-1]] = int(parts[1])  # kB
    return out


def children(pid):
    kids = []
    try:
        for tid in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{tid}/children") as f:
                kids += [int(x) for x in f.read().split()]
    except FileNotFoundError:
        pass
    return kids


def floor_latency(rootfs, runs=20):
    """The same `sh -c 'echo up'` run directly: what the workload itself costs."""
    samples = []
    for _ in range(runs):
        t0 = time.monotonic()
        p = subprocess.Popen([f"{rootfs}/bin/sh", "-c", "echo up"], stdout=subprocess.PIPE)
        p.stdout.readline()
        samples.append((time.monotonic() - t0) * 1000)
        p.wait()
    return pct(samples, 50)


def run_batch(args, n):
    procs = []
    errs = []
    sel = selectors.DefaultSelector()
    start = time.monotonic()
    for i in range(n):
        err = open(os.path.join(os.path.dirname(args.out), f"scale-{n}-{i}.err"), "w+")
        t0 = time.monotonic()
        p = subprocess.Popen(
            [args.modrt, "--root", args.root, "run", "-c", args.config, "--name",
             f"{args.prefix}{n}-{i}", "--", "/bin/sh", "-c", "echo up; exec sleep 3600"],
            stdout=subprocess.PIPE, stderr=err, stdin=subprocess.DEVNULL)
        procs.append({"p": p, "t0": t0, "ready": None, "i": i})
        errs.append(err)
        sel.register(p.stdout, selectors.EVENT_READ, procs[-1])
    pending = n
    deadline = time.monotonic() + 60 + n
    while pending and time.monotonic() < deadline:
        for key, _ in sel.select(timeout=1):
            c = key.data
            line = c["p"].stdout.readline()
            sel.unregister(key.fileobj)
            pending -= 1
            if line.strip() == b"up":
                c["ready"] = time.monotonic()
    failed = [c for c in procs if c["ready"] is None]
    mem = []
    if not failed:
        for c in procs:
            m = smaps_rollup(c["p"].pid)
            mem.append((m.get("Rss", 0), m.get("Pss", 0),
                        m.get("Private_Clean", 0) + m.get("Private_Dirty", 0)))
    # Stop: SIGKILL each workload (PID 1 of its pid namespace ignores SIGTERM without a handler).
    for c in procs:
        for kid in children(c["p"].pid):
            try:
                os.kill(kid, signal.SIGKILL)
            except ProcessLookupError:
                pass
    codes = []
    for c in procs:
        try:
            codes.append(c["p"].wait(timeout=60))
        except subprocess.TimeoutExpired:
            c["p"].kill()
            codes.append(c["p"].wait())
    problems = []
    for c, code, err in zip(procs, codes, errs):
        err.seek(0)
        text = err.read().strip()
        if c["ready"] is None or code != 137:
            problems.append(f"container {c['i']}: ready={c['ready'] is not None} exit={code}: {text}")
        err.close()
    if problems:
        sys.stderr.write(f"scale N={n}: {len(problems)} container(s) failed:\n  " +
                         "\n  ".join(problems[:10]) + "\n")
        sys.exit(1)
    lat = [(c["ready"] - c["t0"]) * 1000 for c in procs]
    return {
        "n": n,
        "wall_ms": (max(c["ready"] for c in procs) - start) * 1000,
        "p50_ms": pct(lat, 50),
        "p99_ms": pct(lat, 99),
        "max_ms": max(lat),
        "rss_kib_median": pct([m[0] for m in mem], 50),
        "pss_kib_median": pct([m[1] for m in mem], 50),
        "rss_kib_max": max(m[0] for m in mem),
        "pss_kib_max": max(m[1] for m in mem),
        "private_kib_median": pct([m[2] for m in mem], 50),
        "private_kib_max": max(m[2] for m in mem),
    }


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--modrt", required=True)
    ap.add_argument("--root", required=True)
    ap.add_argument("--config", required=True)
    ap.add_argument("--rootfs", required=True)
    ap.add_argument("--prefix", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("counts", nargs="+", type=int)
    args = ap.parse_args()
    result = {"floor_sh_echo_ms": floor_latency(args.rootfs), "batches": []}
    for n in args.counts:
        r = run_batch(args, n)
        sys.stderr.write(f"scale N={n}: wall {r['wall_ms']:.1f} ms, p50 {r['p50_ms']:.1f} ms, "
                         f"p99 {r['p99_ms']:.1f} ms, Pss {r['pss_kib_median']} KiB\n")
        result["batches"].append(r)
    with open(args.out, "w") as f:
        json.dump(result, f, indent=1)


if __name__ == "__main__":
    main()
