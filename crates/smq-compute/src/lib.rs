//! Reusable processing steps for laboratory acquisition pipelines.
//!
//! `smq-compute` is the numerical toolbox of smqsched: small, well-tested
//! steps that take and return [`ndarray`] arrays of `f64`, meant to be
//! chained inside scheduler tasks or run from a dashboard.
//!
//! | concern | items |
//! | --- | --- |
//! | averaging many acquisitions | [`Accumulator`] (streaming mean/variance, constant memory), [`average_frames`] |
//! | background and normalization | [`subtract_background`], [`normalize`] with [`Normalization`], [`normalize_by_reference`] |
//! | windows | [`Window`], [`apply_window`] |
//! | Fourier analysis | [`fft()`], [`ifft`], [`rfft`], [`irfft`], [`fftfreq`], [`rfftfreq`], [`power_spectrum`], [`power_spectral_density`] |
//! | smoothing | [`moving_average`], [`savgol_filter`], [`savgol_derivative`], [`savgol_coeffs`], edge modes [`Edge`] |
//! | peaks and dips | [`find_peaks`], [`find_minima`], progressive [`minima_scan`], [`maxima_scan`], [`ExtremaScan`] |
//! | histograms | [`histogram()`] returning a [`Histogram`] |
//! | fits | [`linear_fit`], [`polyfit`] returning a [`Polynomial`] |
//! | linear algebra | [`inverse`], [`inverse_batch`], [`solve`], [`batch_matmul`] |
//! | statistics | [`mean`], [`variance`], [`std_dev`], [`min`], [`max`], [`argmin`], [`argmax`], [`median`], [`percentile`], [`summary`] |
//! | discovery | the [`Plugin`] trait, [`plugins`], [`plugin`], [`require_plugin`] |
//!
//! Every fallible step returns `Result<_, `[`ComputeError`]`>`: empty input,
//! mismatched shapes, NaN or infinities where they matter, windows longer
//! than the data, zero bin counts, singular matrices and over-determined
//! polynomial degrees are reported as errors, never as panics.
//!
//! # Using the steps directly
//!
//! Each step is a plain function, so a script or task body just calls it:
//!
//! ```
//! use ndarray::Array1;
//! use smq_compute::{power_spectrum, rfftfreq, Accumulator, Window};
//!
//! let fs = 1000.0;
//! let n = 1000;
//! let mut acc = Accumulator::new();
//! for shot in 0..8 {
//!     // One acquisition: a 50 Hz tone with a little shot-dependent offset.
//!     let frame = Array1::from_shape_fn(n, |i| {
//!         (2.0 * std::f64::consts::PI * 50.0 * i as f64 / fs).sin() + 0.01 * shot as f64
//!     });
//!     acc.push(&frame)?;
//! }
//! let mean = acc.mean()?.into_dimensionality::<ndarray::Ix1>().expect("1-D frames");
//! let power = power_spectrum(&mean, Window::Hann)?;
//! let freq = rfftfreq(n, 1.0 / fs)?;
//! let peak = smq_compute::argmax(&power.slice(ndarray::s![1..]))? + 1;
//! assert_eq!(freq[peak], 50.0);
//! # Ok::<(), smq_compute::ComputeError>(())
//! ```
//!
//! # Using the steps through the plugin registry
//!
//! A dashboard or command line tool does not know the functions at compile
//! time. It lists [`plugins`], shows each one's [`Plugin::params`] (name,
//! [`ParamKind`], default, description), and runs it on dynamic-dimensional
//! arrays with user-chosen [`Params`]:
//!
//! ```
//! use ndarray::array;
//! use smq_compute::{plugin, plugins, Params};
//!
//! for p in plugins() {
//!     println!("{}: {}", p.name(), p.description());
//!     for spec in p.params() {
//!         println!("  {} ({}) = {}: {}", spec.name, spec.kind, spec.default, spec.description);
//!     }
//! }
//!
//! let hist = plugin("histogram").expect("built-in");
//! let out = hist.run(&[array![0.1, 0.2, 0.7, 0.9].into_dyn()], &Params::new().with("bins", 2_i64))?;
//! assert_eq!(out.get("counts").map(|c| c.sum()), Some(4.0));
//! # Ok::<(), smq_compute::ComputeError>(())
//! ```
//!
//! Plugins are object safe and `Send + Sync`; the registry hands out
//! `&'static dyn Plugin`.
//!
//! # Dependencies
//!
//! * [`ndarray`] is the array type of the whole project.
//! * `rustfft` computes the transforms: pure Rust, SIMD-accelerated, with
//!   O(n log n) algorithms for every length (including primes, through
//!   Bluestein's algorithm), so acquisition lengths need not be powers of
//!   two.
//! * `faer` does the dense linear algebra (LU for inverses and linear
//!   systems, QR for least squares): it is pure Rust and competitive with
//!   optimized LAPACK, so the crate builds anywhere `cargo` does, with no
//!   system BLAS/LAPACK to install or link.
//! * `thiserror` derives the error type.
//!
//! # Numerical conventions
//!
//! Results follow numpy/scipy conventions where they exist (each function
//! names its counterpart), and the test suite checks them against reference
//! vectors generated with numpy and scipy (see
//! `tests/data/make_reference.py`); the tests themselves do not need Python.
//!
//! * Fourier transforms: the forward transform is unnormalized, the inverse
//!   divides by `n`, and the real-input transform returns the `n / 2 + 1`
//!   bins of non-negative frequency, as in `numpy.fft`. Any length is
//!   supported; plans are cached per thread, so repeated transforms of one
//!   length are cheap. Spectral functions use periodic windows (see
//!   [`Window`]).
//! * Statistics look at an array of any dimension as a flat list of values;
//!   `ddof` arguments and the percentile interpolation are numpy's.
//! * Smoothing filters are centred; [`Edge`] documents the edge handling.
//! * Peaks and dips are strict local extrema: a sample strictly larger
//!   (smaller) than both neighbours. End samples and plateaus never qualify.
//! * Polynomial coefficients are in increasing order of power (constant
//!   first), the reverse of `numpy.polyfit`.

mod accumulate;
mod builtin;
mod error;
mod fft;
mod fit;
mod histogram;
mod linalg;
mod normalize;
mod params;
mod peaks;
mod plugin;
mod smooth;
mod stats;
mod window;

pub use accumulate::{Accumulator, average_frames};
pub use builtin::{plugin, plugins, require_plugin};
pub use error::ComputeError;
pub use fft::{fft, fftfreq, ifft, irfft, power_spectral_density, power_spectrum, rfft, rfftfreq};
pub use fit::{LinearFit, Polynomial, linear_fit, polyfit};
pub use histogram::{Histogram, MAX_BINS, histogram};
pub use linalg::{batch_matmul, inverse, inverse_batch, solve};
pub use normalize::{Normalization, normalize, normalize_by_reference, subtract_background};
pub use params::{ParamKind, ParamSpec, ParamValue, Params};
pub use peaks::{ExtremaScan, Extremum, find_minima, find_peaks, maxima_scan, minima_scan};
pub use plugin::{InputSpec, Outputs, Plugin};
pub use smooth::{Edge, moving_average, savgol_coeffs, savgol_derivative, savgol_filter};
pub use stats::{
    Summary, argmax, argmin, max, mean, median, min, percentile, std_dev, summary, variance,
};
pub use window::{Window, apply_window};

/// Complex number type of the Fourier transforms (re-exported from
/// `rustfft`'s `num-complex`).
pub use rustfft::num_complex::Complex64;
