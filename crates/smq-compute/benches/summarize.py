#!/usr/bin/env python3
"""Print the Markdown table of BENCHMARKS.md from criterion's results.

Run after `cargo bench -p smq-compute --bench compute`, from the workspace
root: `python3 crates/smq-compute/benches/summarize.py`.
"""

import json
import pathlib
import sys

root = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else "target/criterion")


def median(group, name, size=None):
    path = root / group / name
    if size is not None:
        path = path / str(size)
    est = json.loads((path / "new" / "estimates.json").read_text())
    return est["median"]["point_estimate"]  # nanoseconds per iteration


def fmt(ns):
    for unit, scale in (("s", 1e9), ("ms", 1e6), ("µs", 1e3)):
        if ns >= scale:
            return f"{ns / scale:.3g} {unit}"
    return f"{ns:.3g} ns"


rows = []
for n in (4096, 65536, 1048576):
    ours = median("fft", "rustfft_rfft", n)
    base = median("fft", "naive_dft", n) if n == 4096 else None
    rows.append(("FFT (real input)", f"{n} points", "rustfft `rfft`", ours,
                 "naive O(n²) DFT" if base else "—", base))
for n in (100, 300, 1000):
    rows.append(("matrix inverse", f"{n}×{n}", "faer LU `inverse`", median("inverse", "faer_lu", n),
                 "plain-loop Gauss–Jordan", median("inverse", "naive_gauss_jordan", n)))
rows.append(("batch inverse B[i]=inv(A[i])", "100 × (100×100)", "`inverse_batch`",
             median("inverse", "faer_lu_batch_100x(100x100)"), "—", None))
for n in (4096, 65536, 1048576):
    rows.append(("averaging 16 frames", f"{n} points/frame", "`Accumulator` (mean+variance)",
                 median("average", "accumulator_welford", n), "plain nested-loop mean",
                 median("average", "naive_loop_mean", n)))

print("| step | size | smq-compute | median | baseline | baseline median | speed-up |")
print("| --- | --- | --- | ---: | --- | ---: | ---: |")
for step, size, ours_name, ours, base_name, base in rows:
    ratio = f"{base / ours:.2f}×" if base else "—"
    print(f"| {step} | {size} | {ours_name} | {fmt(ours)} | {base_name} | "
          f"{fmt(base) if base else '—'} | {ratio} |")
