#!/usr/bin/env python3
"""The store side by side with h5py and zarr-python, on one disk, in one run.

    cargo build --release -p smq-store --example store_bench && cargo build --release -p smq-cli
    python3 bench/store.py [--dir DIR] [--rounds N] [--seconds S] [--demo-points N]

DIR (default target/bench-store) must be on the disk to measure; the demo is also run on
tmpfs (/dev/shm). The Python peers run when h5py, zarr and numpy are installed
(pip install h5py zarr numpy); without them their rows say so. Every figure is the median
over the rounds; the rounds alternate the contenders so that the machine's noise falls on
all of them alike.
"""

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BENCH = os.path.join(ROOT, "target", "release", "examples", "store_bench")
SMQ = os.path.join(ROOT, "target", "release", "smq")
COMMIT_EVERY = 0.2

try:
    import numpy as np
except ImportError:
    np = None
try:
    import h5py
except ImportError:
    h5py = None
try:
    import zarr
except ImportError:
    zarr = None


def ours(*args):
    out = subprocess.run([BENCH, *args], check=True, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def fresh(parent, name):
    path = os.path.join(parent, name)
    shutil.rmtree(path, ignore_errors=True)
    os.makedirs(path)
    return path


def h5py_scalars(dir, seconds):
    """resize + write per reading, flush and fsync every 0.2 s, as a lab script would."""
    path = os.path.join(dir, "readings.h5")
    n = 0
    start = time.perf_counter()
    with h5py.File(path, "w") as f:
        d = f.create_dataset("reading", shape=(0,), maxshape=(None,), dtype="f8", chunks=(4096,))
        fd = f.id.get_vfd_handle()
        last = start
        while time.perf_counter() - start < seconds:
            d.resize((n + 1,))
            d[n] = float(n)
            n += 1
            now = time.perf_counter()
            if now - last >= COMMIT_EVERY:
                f.flush()
                os.fsync(fd)
                last = now
        f.flush()
        os.fsync(fd)
    return n / (time.perf_counter() - start)


def zarr_scalars(dir, seconds):
    """zarr-python's append, one reading at a time (it has no fsync of its own)."""
    a = zarr.create_array(os.path.join(dir, "readings.zarr"), shape=(0,), chunks=(4096,), dtype="f8")
    n = 0
    start = time.perf_counter()
    one = np.zeros(1)
    while time.perf_counter() - start < seconds:
        one[0] = n
        a.append(one)
        n += 1
    return n / (time.perf_counter() - start)


def zarr_read(path):
    start = time.perf_counter()
    values = zarr.open_array(path, mode="r")[:]
    elapsed = time.perf_counter() - start
    assert values.shape == (1_000_000,) and values[-1] == 999_999.0, values.shape
    return elapsed


def demo(out, trace=None):
    args = [SMQ, "demo", "--points", str(ARGS.demo_points), "--plain", "--out", out]
    if trace:
        args += ["--trace", trace]
    start = time.perf_counter()
    subprocess.run(args, check=True, capture_output=True)
    return time.perf_counter() - start


def compute_busy(trace):
    """Busy time of the compute queue in the trace: total, and in save tasks."""
    with open(trace) as f:
        events = json.load(f)
    events = events.get("traceEvents", events) if isinstance(events, dict) else events
    names = {}
    for e in events:
        if e.get("ph") == "M" and e.get("name") == "thread_name":
            names[(e.get("pid"), e.get("tid"))] = e["args"]["name"]
    total = save = 0.0
    for e in events:
        if e.get("ph") != "X":
            continue
        if "compute" not in names.get((e.get("pid"), e.get("tid")), ""):
            continue
        total += e["dur"]
        if e.get("name", "").startswith("save:"):
            save += e["dur"]
    return total / 1e6, save / 1e6


def median(xs):
    return statistics.median(xs) if xs else float("nan")


def main():
    global ARGS
    p = argparse.ArgumentParser()
    p.add_argument("--dir", default=os.path.join(ROOT, "target", "bench-store"))
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--seconds", type=float, default=2.0)
    p.add_argument("--demo-points", type=int, default=1000)
    ARGS = p.parse_args()
    os.makedirs(ARGS.dir, exist_ok=True)
    peers = np is not None and h5py is not None and zarr is not None
    r = {k: [] for k in ["disk", "ours", "ours_zstd", "h5py", "zarr", "wave", "wave_zstd",
                         "read", "read_one_chunk", "demo_disk", "demo_tmpfs"]}
    for round in range(ARGS.rounds):
        d = fresh(ARGS.dir, "work")
        r["disk"].append(ours("disk", d, "1024")["mib_per_s"])
        r["ours"].append(ours("scalars", fresh(ARGS.dir, "s"), str(ARGS.seconds))["per_s"])
        r["ours_zstd"].append(
            ours("scalars", fresh(ARGS.dir, "sz"), str(ARGS.seconds), "zstd")["per_s"])
        if peers:
            r["h5py"].append(h5py_scalars(fresh(ARGS.dir, "h"), ARGS.seconds))
            r["zarr"].append(zarr_scalars(fresh(ARGS.dir, "z"), ARGS.seconds))
        r["wave"].append(ours("waveforms", fresh(ARGS.dir, "w"), str(ARGS.seconds))["mib_per_s"])
        r["wave_zstd"].append(
            ours("waveforms", fresh(ARGS.dir, "wz"), str(ARGS.seconds), "zstd")["mib_per_s"])
        if zarr is not None:
            path = ours("million", fresh(ARGS.dir, "m"))["path"]
            r["read"].append(zarr_read(path))
            one = os.path.join(fresh(ARGS.dir, "m1"), "one.zarr")
            zarr.create_array(one, data=np.arange(1_000_000, dtype="f8"), chunks=(1_000_000,))
            r["read_one_chunk"].append(zarr_read(one))
        shm = tempfile.mkdtemp(dir="/dev/shm")
        for where in (["disk", "tmpfs"] if round % 2 == 0 else ["tmpfs", "disk"]):
            out = fresh(ARGS.dir, "demo") if where == "disk" else os.path.join(shm, "runs")
            r["demo_" + where].append(demo(out))
        shutil.rmtree(shm, ignore_errors=True)
        print(f"round {round + 1}: " + json.dumps({k: v[-1] for k, v in r.items() if v}),
              file=sys.stderr)
    trace = os.path.join(ARGS.dir, "trace.json")
    demo(fresh(ARGS.dir, "demo"), trace)
    busy, save = compute_busy(trace)
    m = {k: median(v) for k, v in r.items()}
    print(f"disk: sequential write + fsync      {m['disk']:10.0f} MiB/s")
    print(f"scalar appends/s, this store        {m['ours']:10.0f}")
    print(f"scalar appends/s, this store (zstd) {m['ours_zstd']:10.0f}")
    if peers:
        print(f"scalar appends/s, h5py              {m['h5py']:10.0f}   "
              f"(this store {m['ours'] / m['h5py']:.0f}x)")
        print(f"scalar appends/s, zarr-python       {m['zarr']:10.0f}   "
              f"(this store {m['ours'] / m['zarr']:.0f}x)")
    else:
        print("h5py / zarr-python: not installed (pip install h5py zarr numpy)")
    print(f"10 KB waveforms, this store         {m['wave']:10.0f} MiB/s "
          f"({100 * m['wave'] / m['disk']:.0f}% of the disk)")
    print(f"10 KB waveforms, zstd               {m['wave_zstd']:10.0f} MiB/s "
          f"({100 * m['wave_zstd'] / m['disk']:.0f}% of the disk)")
    if zarr is not None:
        print(f"zarr-python reads 1M readings       {1000 * m['read']:10.1f} ms "
              f"(one chunk written by zarr-python: {1000 * m['read_one_chunk']:.1f} ms)")
    print(f"demo, {ARGS.demo_points} points, on disk      {m['demo_disk']:10.2f} s")
    print(f"demo, {ARGS.demo_points} points, on tmpfs     {m['demo_tmpfs']:10.2f} s   "
          f"(disk/tmpfs {m['demo_disk'] / m['demo_tmpfs']:.2f}x)")
    print(f"demo trace: compute queue busy {busy:.2f} s, of which save tasks {save:.3f} s")


if __name__ == "__main__":
    main()
