//! Discrete Fourier transforms, frequency axes and power spectra.
//!
//! Transforms follow numpy's conventions: the forward transform is
//! unnormalized, the inverse divides by `n`, and the real-input transform
//! returns the `n / 2 + 1` non-negative frequency bins. Any length is
//! supported (mixed-radix and Bluestein's algorithm through `rustfft`); plans
//! are cached per thread so repeated transforms of one length are cheap.

use std::cell::RefCell;
use std::collections::HashMap;
use std::f64::consts::PI;
use std::sync::Arc;

use ndarray::{Array1, ArrayBase, Data, Ix1};
use rustfft::num_complex::Complex64;
use rustfft::{Fft, FftPlanner};

use crate::error::{ComputeError, check_finite, check_nonempty};
use crate::window::Window;

thread_local! {
    static PLANNER: RefCell<FftPlanner<f64>> = RefCell::new(FftPlanner::new());
    static TWIDDLES: RefCell<HashMap<usize, Arc<[Complex64]>>> = RefCell::new(HashMap::new());
}

/// Lengths whose real-transform twiddles are kept per thread.
const TWIDDLE_CACHE_LEN: usize = 16;

/// `exp(-2πik/n)` for `k = 0..n/2`, cached per thread.
fn twiddles(n: usize) -> Arc<[Complex64]> {
    TWIDDLES.with(|t| {
        let mut t = t.borrow_mut();
        if let Some(w) = t.get(&n) {
            return Arc::clone(w);
        }
        if t.len() >= TWIDDLE_CACHE_LEN {
            t.clear();
        }
        let w: Arc<[Complex64]> = (0..n / 2)
            .map(|k| Complex64::from_polar(1.0, -2.0 * PI * k as f64 / n as f64))
            .collect();
        t.insert(n, Arc::clone(&w));
        w
    })
}

/// The `n / 2 + 1` non-negative-frequency bins of the DFT of real data.
///
/// Even lengths pack the samples into a complex signal of half the length
/// (`z[k] = x[2k] + i x[2k+1]`), transform it, and untangle the even and odd
/// parts, which halves the work; odd lengths use a full complex transform.
fn real_forward(x: impl ExactSizeIterator<Item = f64>) -> Vec<Complex64> {
    let n = x.len();
    if n % 2 == 1 || n < 4 {
        let buf: Vec<Complex64> = x.map(|v| Complex64::new(v, 0.0)).collect();
        let mut out = transform(buf, false);
        out.truncate(n / 2 + 1);
        return out;
    }
    let m = n / 2;
    let mut z = Vec::with_capacity(m);
    let mut x = x;
    while let (Some(re), Some(im)) = (x.next(), x.next()) {
        z.push(Complex64::new(re, im));
    }
    let z = transform(z, false);
    let w = twiddles(n);
    let half_i = Complex64::new(0.0, -0.5);
    let mut out = Vec::with_capacity(m + 1);
    // DC and Nyquist come from z[0] alone: sum and difference of the
    // even and odd sample sums.
    out.push(Complex64::new(z[0].re + z[0].im, 0.0));
    for k in 1..m {
        let zk = z[k];
        let zc = z[m - k].conj();
        let even = (zk + zc) * 0.5;
        let odd = (zk - zc) * half_i;
        out.push(even + w[k] * odd);
    }
    out.push(Complex64::new(z[0].re - z[0].im, 0.0));
    out
}

fn plan(n: usize, inverse: bool) -> Arc<dyn Fft<f64>> {
    PLANNER.with(|p| {
        let mut p = p.borrow_mut();
        if inverse {
            p.plan_fft_inverse(n)
        } else {
            p.plan_fft_forward(n)
        }
    })
}

fn transform(mut buf: Vec<Complex64>, inverse: bool) -> Vec<Complex64> {
    let n = buf.len();
    plan(n, inverse).process(&mut buf);
    if inverse {
        let scale = 1.0 / n as f64;
        buf.iter_mut().for_each(|c| *c *= scale);
    }
    buf
}

fn check_complex<S>(x: &ArrayBase<S, Ix1>) -> Result<(), ComputeError>
where
    S: Data<Elem = Complex64>,
{
    check_nonempty(x.len())?;
    match x
        .iter()
        .position(|c| !(c.re.is_finite() && c.im.is_finite()))
    {
        Some(index) => Err(ComputeError::NonFinite { index }),
        None => Ok(()),
    }
}

/// Forward DFT of complex data, `X[k] = Σ x[j] exp(-2πi jk/n)` (`numpy.fft.fft`).
///
/// # Errors
///
/// [`ComputeError::EmptyInput`], [`ComputeError::NonFinite`].
///
/// # Examples
///
/// ```
/// use ndarray::array;
/// use smq_compute::{fft, Complex64};
/// let x = array![Complex64::new(1.0, 0.0), Complex64::new(0.0, 0.0)];
/// assert_eq!(fft(&x)?, array![Complex64::new(1.0, 0.0), Complex64::new(1.0, 0.0)]);
/// # Ok::<(), smq_compute::ComputeError>(())
/// ```
pub fn fft<S>(x: &ArrayBase<S, Ix1>) -> Result<Array1<Complex64>, ComputeError>
where
    S: Data<Elem = Complex64>,
{
    check_complex(x)?;
    Ok(Array1::from(transform(x.to_vec(), false)))
}

/// Inverse DFT, normalized by `1/n` (`numpy.fft.ifft`).
///
/// # Errors
///
/// [`ComputeError::EmptyInput`], [`ComputeError::NonFinite`].
///
/// # Examples
///
/// ```
/// use ndarray::array;
/// use smq_compute::{fft, ifft, Complex64};
/// let x = array![Complex64::new(1.0, 2.0), Complex64::new(-3.0, 0.5), Complex64::new(0.0, 1.0)];
/// let back = ifft(&fft(&x)?)?;
/// assert!(back.iter().zip(&x).all(|(a, b)| (a - b).norm() < 1e-12));
/// # Ok::<(), smq_compute::ComputeError>(())
/// ```
pub fn ifft<S>(x: &ArrayBase<S, Ix1>) -> Result<Array1<Complex64>, ComputeError>
where
    S: Data<Elem = Complex64>,
{
    check_complex(x)?;
    Ok(Array1::from(transform(x.to_vec(), true)))
}

/// DFT of real data, returning the `n / 2 + 1` bins of non-negative
/// frequency (`numpy.fft.rfft`).
///
/// # Errors
///
/// [`ComputeError::EmptyInput`], [`ComputeError::NonFinite`].
///
/// # Examples
///
/// ```
/// use ndarray::array;
/// use smq_compute::rfft;
/// let spec = rfft(&array![1.0, 1.0, 1.0, 1.0])?;
/// assert_eq!(spec.len(), 3);
/// assert_eq!(spec[0].re, 4.0);
/// assert_eq!(spec[1].norm(), 0.0);
/// # Ok::<(), smq_compute::ComputeError>(())
/// ```
pub fn rfft<S>(x: &ArrayBase<S, Ix1>) -> Result<Array1<Complex64>, ComputeError>
where
    S: Data<Elem = f64>,
{
    check_nonempty(x.len())?;
    check_finite(x.iter())?;
    Ok(Array1::from(real_forward(x.iter().copied())))
}

/// Inverse of [`rfft`]: the real signal of length `n` whose half spectrum is
/// `spectrum` (`numpy.fft.irfft`). Bins beyond `n / 2 + 1` are ignored,
/// missing ones are taken as zero.
///
/// # Errors
///
/// [`ComputeError::EmptyInput`], [`ComputeError::NonFinite`], and
/// [`ComputeError::InvalidParameter`] for `n == 0`.
///
/// # Examples
///
/// ```
/// use ndarray::array;
/// use smq_compute::{irfft, rfft};
/// let x = array![1.0, -2.0, 0.5, 4.0, 3.0];
/// let back = irfft(&rfft(&x)?, x.len())?;
/// assert!(back.iter().zip(&x).all(|(a, b)| (a - b).abs() < 1e-12));
/// # Ok::<(), smq_compute::ComputeError>(())
/// ```
pub fn irfft<S>(spectrum: &ArrayBase<S, Ix1>, n: usize) -> Result<Array1<f64>, ComputeError>
where
    S: Data<Elem = Complex64>,
{
    check_complex(spectrum)?;
    if n == 0 {
        return Err(ComputeError::invalid(
            "n",
            "output length must be at least 1",
        ));
    }
    let half = n / 2 + 1;
    let mut buf = vec![Complex64::new(0.0, 0.0); n];
    for (k, c) in spectrum.iter().take(half).enumerate() {
        buf[k] = *c;
    }
    // Hermitian symmetry; DC and (for even n) Nyquist bins must be real.
    buf[0].im = 0.0;
    if n.is_multiple_of(2) && half - 1 < spectrum.len() {
        buf[n / 2].im = 0.0;
    }
    for k in 1..half {
        if n - k >= half {
            buf[n - k] = buf[k].conj();
        }
    }
    Ok(transform(buf, true).into_iter().map(|c| c.re).collect())
}

fn check_spacing(n: usize, d: f64) -> Result<(), ComputeError> {
    if n == 0 {
        return Err(ComputeError::invalid("n", "length must be at least 1"));
    }
    if !(d.is_finite() && d > 0.0) {
        return Err(ComputeError::invalid(
            "d",
            "sample spacing must be finite and positive",
        ));
    }
    Ok(())
}

/// Frequencies of the bins of an `n`-point [`rfft`] for sample spacing `d`
/// (`numpy.fft.rfftfreq`): `k / (n d)` for `k = 0..=n/2`.
///
/// # Errors
///
/// [`ComputeError::InvalidParameter`] for `n == 0` or `d` not finite and
/// positive.
///
/// # Examples
///
/// ```
/// use smq_compute::rfftfreq;
/// assert_eq!(rfftfreq(8, 0.1)?.to_vec(), vec![0.0, 1.25, 2.5, 3.75, 5.0]);
/// # Ok::<(), smq_compute::ComputeError>(())
/// ```
pub fn rfftfreq(n: usize, d: f64) -> Result<Array1<f64>, ComputeError> {
    check_spacing(n, d)?;
    let scale = 1.0 / (n as f64 * d);
    Ok(Array1::from_shape_fn(n / 2 + 1, |k| k as f64 * scale))
}

/// Frequencies of the bins of an `n`-point [`fft`] for sample spacing `d`
/// (`numpy.fft.fftfreq`): non-negative frequencies first, then negative ones.
///
/// # Errors
///
/// As for [`rfftfreq`].
///
/// # Examples
///
/// ```
/// use smq_compute::fftfreq;
/// assert_eq!(fftfreq(4, 1.0)?.to_vec(), vec![0.0, 0.25, -0.5, -0.25]);
/// # Ok::<(), smq_compute::ComputeError>(())
/// ```
pub fn fftfreq(n: usize, d: f64) -> Result<Array1<f64>, ComputeError> {
    check_spacing(n, d)?;
    let scale = 1.0 / (n as f64 * d);
    let pos = n.div_ceil(2);
    Ok(Array1::from_shape_fn(n, |k| {
        if k < pos {
            k as f64 * scale
        } else {
            -((n - k) as f64) * scale
        }
    }))
}

/// Windowed one-sided squared spectrum with shared scaling `scale`.
fn one_sided(
    x: &[f64],
    window: Window,
    scale_of: impl Fn(&Array1<f64>) -> f64,
) -> Result<Array1<f64>, ComputeError> {
    let n = x.len();
    let w = window.periodic(n)?;
    let spec = real_forward(x.iter().zip(&w).map(|(&v, &w)| v * w));
    let scale = scale_of(&w);
    let half = n / 2 + 1;
    Ok(Array1::from_shape_fn(half, |k| {
        let p = spec[k].norm_sqr() * scale;
        // Fold negative frequencies onto positive ones; DC and Nyquist are unique.
        if k == 0 || (n.is_multiple_of(2) && k == n / 2) {
            p
        } else {
            2.0 * p
        }
    }))
}

fn checked_slice<S>(x: &ArrayBase<S, Ix1>) -> Result<Vec<f64>, ComputeError>
where
    S: Data<Elem = f64>,
{
    check_nonempty(x.len())?;
    check_finite(x.iter())?;
    Ok(x.to_vec())
}

/// One-sided power spectrum of a real signal after windowing, in units of
/// the signal squared, on the frequency axis [`rfftfreq`]`(x.len(), d)`.
///
/// The scaling is `|X_k|² / (Σw)²`, doubled for all bins but DC and Nyquist,
/// so a sine of amplitude `A` centred on a bin shows a peak of `A² / 2` (its
/// mean square) whatever the window; this is
/// `scipy.signal.periodogram(x, window=…, detrend=False, scaling="spectrum")`.
///
/// # Errors
///
/// [`ComputeError::EmptyInput`], [`ComputeError::NonFinite`], and window
/// parameter errors.
///
/// # Examples
///
/// ```
/// use ndarray::Array1;
/// use smq_compute::{power_spectrum, Window};
///
/// let n = 64;
/// let x = Array1::from_shape_fn(n, |i| 3.0 * (2.0 * std::f64::consts::PI * 8.0 * i as f64 / n as f64).sin());
/// let p = power_spectrum(&x, Window::Hann)?;
/// assert!((p[8] - 4.5).abs() < 1e-12); // A²/2
/// # Ok::<(), smq_compute::ComputeError>(())
/// ```
pub fn power_spectrum<S>(x: &ArrayBase<S, Ix1>, window: Window) -> Result<Array1<f64>, ComputeError>
where
    S: Data<Elem = f64>,
{
    let x = checked_slice(x)?;
    one_sided(&x, window, |w| 1.0 / w.sum().powi(2))
}

/// One-sided power spectral density of a real signal sampled at `fs`, in
/// units of the signal squared per hertz.
///
/// The scaling is `|X_k|² / (fs Σw²)`, doubled for all bins but DC and
/// Nyquist, so that `Σ psd · fs / n` equals the mean square of the windowed
/// signal divided by the mean square of the window (Parseval); this is
/// `scipy.signal.periodogram(x, fs, window=…, detrend=False, scaling="density")`.
///
/// # Errors
///
/// As for [`power_spectrum`], plus [`ComputeError::InvalidParameter`] when
/// `fs` is not finite and positive.
///
/// # Examples
///
/// ```
/// use ndarray::array;
/// use smq_compute::{power_spectral_density, Window};
/// let x = array![1.0, -1.0, 1.0, -1.0];
/// let psd = power_spectral_density(&x, Window::Rectangular, 2.0)?;
/// // All power sits at Nyquist; the integral gives the mean square, 1.
/// assert_eq!(psd.to_vec(), vec![0.0, 0.0, 2.0]);
/// # Ok::<(), smq_compute::ComputeError>(())
/// ```
pub fn power_spectral_density<S>(
    x: &ArrayBase<S, Ix1>,
    window: Window,
    fs: f64,
) -> Result<Array1<f64>, ComputeError>
where
    S: Data<Elem = f64>,
{
    if !(fs.is_finite() && fs > 0.0) {
        return Err(ComputeError::invalid(
            "fs",
            "sampling rate must be finite and positive",
        ));
    }
    let x = checked_slice(x)?;
    one_sided(&x, window, |w| 1.0 / (fs * w.dot(w)))
}
