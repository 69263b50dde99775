//! Window (taper) functions for spectral analysis.

use std::f64::consts::PI;

use ndarray::{Array1, ArrayBase, Data, Ix1};

use crate::error::{ComputeError, check_nonempty};

/// A window function.
///
/// Coefficients come in two flavours, as in numpy/scipy:
/// [`Window::symmetric`] (the window is symmetric about its centre and both
/// ends are included, like `numpy.hanning(n)` or
/// `scipy.signal.get_window(w, n, fftbins=False)`) for filter design, and
/// [`Window::periodic`] (one period of a periodic window, the first `n` points
/// of the `n + 1` point symmetric window, like `scipy.signal.get_window(w, n)`)
/// for spectral analysis. The spectral functions of this crate use the
/// periodic form.
///
/// # Examples
///
/// ```
/// use smq_compute::Window;
/// let w = Window::Hamming.symmetric(3)?;
/// assert!((w[0] - 0.08).abs() < 1e-12 && (w[1] - 1.0).abs() < 1e-12);
/// let k = Window::Kaiser(0.0).periodic(4)?; // beta = 0 is rectangular
/// assert!(k.iter().all(|&v| (v - 1.0).abs() < 1e-12));
/// # Ok::<(), smq_compute::ComputeError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Window {
    /// All ones (no tapering).
    Rectangular,
    /// Hann (raised cosine): `0.5 - 0.5 cos(2πk/M)`.
    Hann,
    /// Hamming: `0.54 - 0.46 cos(2πk/M)`.
    Hamming,
    /// Classic Blackman: `0.42 - 0.5 cos(2πk/M) + 0.08 cos(4πk/M)`.
    Blackman,
    /// Four-term minimum Blackman–Harris (sidelobes below −92 dB).
    BlackmanHarris,
    /// Flat-top window with scipy's coefficients, for amplitude accuracy.
    FlatTop,
    /// Triangular window reaching zero at both ends (`numpy.bartlett`).
    Bartlett,
    /// Kaiser window with shape parameter `beta` (`numpy.kaiser`).
    Kaiser(f64),
}

impl Window {
    /// Windows without a shape parameter, for listing in user interfaces.
    ///
    /// # Examples
    ///
    /// ```
    /// use smq_compute::Window;
    /// assert!(Window::SIMPLE.iter().all(|w| Window::from_name(w.name()) == Some(*w)));
    /// ```
    pub const SIMPLE: [Window; 7] = [
        Window::Rectangular,
        Window::Hann,
        Window::Hamming,
        Window::Blackman,
        Window::BlackmanHarris,
        Window::FlatTop,
        Window::Bartlett,
    ];

    /// Lowercase name, as scipy spells it (`"hann"`, `"blackmanharris"`, …).
    ///
    /// # Examples
    ///
    /// ```
    /// use smq_compute::Window;
    /// assert_eq!(Window::Hann.name(), "hann");
    /// assert_eq!(Window::from_name("hann"), Some(Window::Hann));
    /// ```
    pub fn name(self) -> &'static str {
        match self {
            Window::Rectangular => "rectangular",
            Window::Hann => "hann",
            Window::Hamming => "hamming",
            Window::Blackman => "blackman",
            Window::BlackmanHarris => "blackmanharris",
            Window::FlatTop => "flattop",
            Window::Bartlett => "bartlett",
            Window::Kaiser(_) => "kaiser",
        }
    }

    /// Parses the name of a window without shape parameter (see
    /// [`Window::SIMPLE`]); `"boxcar"` is accepted for the rectangular window.
    ///
    /// # Examples
    ///
    /// ```
    /// use smq_compute::Window;
    /// assert_eq!(Window::from_name("boxcar"), Some(Window::Rectangular));
    /// assert_eq!(Window::from_name("kaiser"), None);
    /// ```
    pub fn from_name(name: &str) -> Option<Self> {
        if name == "boxcar" {
            return Some(Window::Rectangular);
        }
        Self::SIMPLE.into_iter().find(|w| w.name() == name)
    }

    /// The `n` symmetric coefficients of the window.
    ///
    /// # Errors
    ///
    /// [`ComputeError::InvalidParameter`] for `n == 0` or a negative or
    /// non-finite Kaiser `beta`.
    ///
    /// # Examples
    ///
    /// ```
    /// use smq_compute::Window;
    /// let w = Window::Hann.symmetric(5)?;
    /// assert!((w[2] - 1.0).abs() < 1e-15 && w[0].abs() < 1e-15 && w[4].abs() < 1e-15);
    /// # Ok::<(), smq_compute::ComputeError>(())
    /// ```
    pub fn symmetric(self, n: usize) -> Result<Array1<f64>, ComputeError> {
        if n == 0 {
            return Err(ComputeError::invalid(
                "n",
                "window length must be at least 1",
            ));
        }
        if let Window::Kaiser(beta) = self
            && !(beta.is_finite() && beta >= 0.0)
        {
            return Err(ComputeError::invalid(
                "beta",
                "Kaiser beta must be finite and non-negative",
            ));
        }
        if n == 1 {
            return Ok(Array1::ones(1));
        }
        let m = (n - 1) as f64;
        Ok(Array1::from_shape_fn(n, |k| self.value(k as f64, m)))
    }

    /// The `n` periodic coefficients of the window (DFT-even; the first `n`
    /// points of the `n + 1` point symmetric window).
    ///
    /// # Errors
    ///
    /// As for [`Window::symmetric`].
    ///
    /// # Examples
    ///
    /// ```
    /// use smq_compute::Window;
    /// let w = Window::Hann.periodic(4)?;
    /// let expected = [0.0, 0.5, 1.0, 0.5];
    /// assert!(w.iter().zip(expected).all(|(a, b)| (a - b).abs() < 1e-15));
    /// # Ok::<(), smq_compute::ComputeError>(())
    /// ```
    pub fn periodic(self, n: usize) -> Result<Array1<f64>, ComputeError> {
        if n == 0 {
            return Err(ComputeError::invalid(
                "n",
                "window length must be at least 1",
            ));
        }
        let full = self.symmetric(n + 1)?;
        if n == 1 {
            // A single point is left untouched, as in scipy.
            return Ok(Array1::ones(1));
        }
        Ok(full.slice_move(ndarray::s![..n]))
    }

    /// Value at position `k` of a symmetric window spanning `0..=m`.
    fn value(self, k: f64, m: f64) -> f64 {
        let x = 2.0 * PI * k / m;
        let cosine = |a: &[f64]| {
            a.iter()
                .enumerate()
                .map(|(j, c)| {
                    let sign = if j % 2 == 0 { 1.0 } else { -1.0 };
                    sign * c * (j as f64 * x).cos()
                })
                .sum::<f64>()
        };
        match self {
            Window::Rectangular => 1.0,
            Window::Hann => cosine(&[0.5, 0.5]),
            Window::Hamming => cosine(&[0.54, 0.46]),
            Window::Blackman => cosine(&[0.42, 0.5, 0.08]),
            Window::BlackmanHarris => cosine(&[0.35875, 0.48829, 0.14128, 0.01168]),
            Window::FlatTop => cosine(&[
                0.215_578_95,
                0.416_631_58,
                0.277_263_158,
                0.083_578_947,
                0.006_947_368,
            ]),
            Window::Bartlett => 1.0 - (2.0 * k / m - 1.0).abs(),
            Window::Kaiser(beta) => {
                let r = 2.0 * k / m - 1.0;
                bessel_i0(beta * (1.0 - r * r).max(0.0).sqrt()) / bessel_i0(beta)
            }
        }
    }
}

/// Modified Bessel function of the first kind, order 0 (power series).
fn bessel_i0(x: f64) -> f64 {
    let q = x * x / 4.0;
    let mut term = 1.0;
    let mut sum = 1.0;
    let mut k = 1.0;
    while term > sum * 1e-17 {
        term *= q / (k * k);
        sum += term;
        k += 1.0;
    }
    sum
}

/// Multiplies a signal by the periodic window of its length.
///
/// # Errors
///
/// [`ComputeError::EmptyInput`] for an empty signal, and the errors of
/// [`Window::periodic`].
///
/// # Examples
///
/// ```
/// use ndarray::array;
/// use smq_compute::{apply_window, Window};
/// let y = apply_window(&array![2.0, 2.0, 2.0, 2.0], Window::Hann)?;
/// assert!((y[2] - 2.0).abs() < 1e-15 && y[0].abs() < 1e-15);
/// # Ok::<(), smq_compute::ComputeError>(())
/// ```
pub fn apply_window<S>(x: &ArrayBase<S, Ix1>, window: Window) -> Result<Array1<f64>, ComputeError>
where
    S: Data<Elem = f64>,
{
    check_nonempty(x.len())?;
    let w = window.periodic(x.len())?;
    Ok(&w * x)
}
