#!/usr/bin/env python3
"""Generate reference.json, the numpy/scipy reference vectors used by
tests/reference.rs.

Run from this directory:

    pip install numpy scipy
    python3 make_reference.py

Inputs come from a seeded generator and are stored next to the expected
outputs, so the Rust tests do not need Python nor numpy's random streams.
"""

import json

import numpy as np
import scipy
import scipy.ndimage
import scipy.signal
import scipy.stats

rng = np.random.default_rng(20261128)


def arr(a):
    return [float(v) for v in np.asarray(a, dtype=float).ravel()]


def cplx(a):
    a = np.asarray(a)
    return {"re": arr(a.real), "im": arr(a.imag)}


def _find_minima(x):
    yield False
    for i in range(1, len(x) - 1):
        if x[i] < x[i - 1] and x[i] < x[i + 1]:
            yield True
        else:
            yield False
    yield False


ref = {"versions": {"numpy": np.__version__, "scipy": scipy.__version__}}

# --- statistics -----------------------------------------------------------
stats = []
for n in (101, 100, 1):
    x = rng.normal(3.0, 2.0, n)
    qs = [0.0, 10.0, 25.0, 50.0, 75.0, 90.0, 99.5, 100.0]
    stats.append({
        "x": arr(x),
        "mean": float(np.mean(x)),
        "var0": float(np.var(x)),
        "std0": float(np.std(x)),
        "var1": float(np.var(x, ddof=1)) if n > 1 else None,
        "min": float(np.min(x)),
        "max": float(np.max(x)),
        "median": float(np.median(x)),
        "q": qs,
        "percentiles": arr(np.percentile(x, qs)),
    })
ref["stats"] = stats

# --- windows --------------------------------------------------------------
windows = []
for name in ("boxcar", "hann", "hamming", "blackman", "blackmanharris", "flattop", "bartlett"):
    for n in (1, 2, 8, 9, 64):
        windows.append({
            "name": name,
            "n": n,
            "symmetric": arr(scipy.signal.get_window(name, n, fftbins=False)),
            "periodic": arr(scipy.signal.get_window(name, n, fftbins=True)),
        })
for beta in (0.0, 5.0, 14.0):
    for n in (1, 9, 64):
        windows.append({
            "name": "kaiser",
            "beta": beta,
            "n": n,
            "symmetric": arr(np.kaiser(n, beta)),
            "periodic": arr(scipy.signal.get_window(("kaiser", beta), n, fftbins=True)),
        })
ref["windows"] = windows

# --- FFT ------------------------------------------------------------------
ffts = []
for n in (1, 2, 37, 64, 97):
    x = rng.normal(size=n)
    ffts.append({"x": arr(x), "rfft": cplx(np.fft.rfft(x))})
ref["rfft"] = ffts
z = rng.normal(size=30) + 1j * rng.normal(size=30)
ref["fft"] = {"x": cplx(z), "fft": cplx(np.fft.fft(z)), "ifft": cplx(np.fft.ifft(z))}
ref["freq"] = {
    "rfftfreq_37_0.01": arr(np.fft.rfftfreq(37, 0.01)),
    "rfftfreq_64_0.5": arr(np.fft.rfftfreq(64, 0.5)),
    "fftfreq_10_0.5": arr(np.fft.fftfreq(10, 0.5)),
    "fftfreq_7_2": arr(np.fft.fftfreq(7, 2.0)),
}

# --- periodogram ----------------------------------------------------------
spectra = []
signals = []
fs = 100.0
for n in (256, 255):
    t = np.arange(n) / fs
    x = 1.5 * np.sin(2 * np.pi * 12.3 * t) + 0.3 + rng.normal(scale=0.2, size=n)
    signals.append(arr(x))
    for window in ("boxcar", "hann", "flattop", "blackman"):
        for scaling in ("spectrum", "density"):
            f, p = scipy.signal.periodogram(
                x, fs=fs, window=window, detrend=False, scaling=scaling
            )
            spectra.append({
                "signal": len(signals) - 1, "fs": fs, "window": window, "scaling": scaling,
                "f": arr(f), "p": arr(p),
            })
ref["periodogram"] = {"signals": signals, "cases": spectra}

# --- Savitzky-Golay ---------------------------------------------------------
coeffs = []
for (w, p, d, delta) in ((5, 2, 0, 1.0), (7, 3, 0, 1.0), (9, 0, 0, 1.0),
                         (11, 4, 1, 0.1), (21, 5, 2, 0.5), (3, 2, 0, 1.0)):
    coeffs.append({
        "window": w, "polyorder": p, "deriv": d, "delta": delta,
        "coeffs": arr(scipy.signal.savgol_coeffs(w, p, deriv=d, delta=delta, use="dot")),
    })
ref["savgol_coeffs"] = coeffs

x = np.cumsum(rng.normal(size=50)) + np.sin(np.arange(50) / 5.0)
filters = []
for (w, p, d, delta) in ((5, 2, 0, 1.0), (11, 3, 0, 1.0), (7, 2, 1, 0.5), (9, 4, 2, 1.0), (5, 0, 0, 1.0)):
    for mode in ("interp", "mirror", "nearest"):
        filters.append({
            "window": w, "polyorder": p, "deriv": d, "delta": delta, "mode": mode,
            "y": arr(scipy.signal.savgol_filter(x, w, p, deriv=d, delta=delta, mode=mode)),
        })
ref["savgol_filter"] = {"x": arr(x), "cases": filters}

moving = []
for w in (1, 3, 5, 9):
    for mode in ("nearest", "mirror"):
        moving.append({"window": w, "mode": mode,
                       "y": arr(scipy.ndimage.uniform_filter1d(x, w, mode=mode))})
    moving.append({"window": w, "mode": "interp",
                   "y": arr(scipy.signal.savgol_filter(x, w, 0, mode="interp"))})
for w in (1, 4, 5, 50):
    moving.append({"window": w, "mode": "valid",
                   "y": arr(np.convolve(x, np.ones(w) / w, mode="valid"))})
ref["moving_average"] = {"x": arr(x), "cases": moving}

# --- extrema ----------------------------------------------------------------
x = np.round(rng.normal(size=40), 1)  # rounding creates some plateaus
ref["minima"] = {"x": arr(x), "flags": list(_find_minima(x))}

# --- histogram ----------------------------------------------------------------
x = rng.normal(size=1000)
hists = []
for bins, rng_ in ((10, None), (7, (-1.0, 1.5)), (1, None), (33, (-2.0, 2.0))):
    counts, edges = np.histogram(x, bins=bins, range=rng_)
    hists.append({"bins": bins, "range": rng_, "counts": [int(c) for c in counts],
                  "edges": arr(edges)})
const = np.full(5, 2.0)
counts, edges = np.histogram(const, bins=4)
hists_const = {"x": arr(const), "bins": 4, "counts": [int(c) for c in counts], "edges": arr(edges)}
# Values exactly on bin edges.
grid = np.linspace(0.0, 1.0, 11)
counts, edges = np.histogram(grid, bins=10, range=(0.0, 1.0))
hists_grid = {"x": arr(grid), "bins": 10, "counts": [int(c) for c in counts], "edges": arr(edges)}
ref["histogram"] = {"x": arr(x), "cases": hists, "constant": hists_const, "grid": hists_grid}

# --- fits -------------------------------------------------------------------
x = np.linspace(-1.0, 4.0, 40)
y = 0.5 - 1.2 * x + 0.3 * x**2 - 0.05 * x**3 + rng.normal(scale=0.1, size=x.size)
fits = []
for deg in (0, 1, 2, 3, 5):
    fits.append({"degree": deg, "coeffs": arr(np.polyfit(x, y, deg)[::-1])})
lr = scipy.stats.linregress(x, y)
ref["polyfit"] = {
    "x": arr(x), "y": arr(y), "cases": fits,
    "linregress": {"slope": float(lr.slope), "intercept": float(lr.intercept),
                   "r_squared": float(lr.rvalue**2)},
}

# --- inverse ----------------------------------------------------------------
a = rng.normal(size=(6, 6))
batch = rng.normal(size=(3, 4, 4))
ref["inverse"] = {
    "a": arr(a), "n": 6, "inv": arr(np.linalg.inv(a)),
    "batch": arr(batch), "batch_shape": list(batch.shape),
    "batch_inv": arr(np.linalg.inv(batch)),
}

# --- accumulation -------------------------------------------------------------
stack = rng.normal(10.0, 3.0, size=(20, 3, 4))
ref["accumulate"] = {
    "stack": arr(stack), "shape": list(stack.shape),
    "mean": arr(stack.mean(axis=0)),
    "var0": arr(stack.var(axis=0)),
    "var1": arr(stack.var(axis=0, ddof=1)),
}

with open("reference.json", "w") as f:
    json.dump(ref, f, indent=None, separators=(",", ":"))
    f.write("\n")
print("wrote reference.json")
