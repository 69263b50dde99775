//! Smoothing: moving average and Savitzky–Golay filters.
//!
//! See [`Edge`] for the edge handling of every filter.

use faer::Mat;
use ndarray::{Array1, ArrayBase, Data, Ix1};

use crate::error::{ComputeError, check_finite, check_nonempty};

/// What a centred filter does where its window overhangs the data.
///
/// A centred window of `2h + 1` samples does not fit at the first and last
/// `h` samples. [`Edge`] chooses what happens there, with scipy's names:
///
/// * [`Edge::Valid`]: no padding; the output is shorter, `n - window + 1`
///   samples, the first one centred on input sample `h`
///   (`numpy.convolve(..., "valid")`).
/// * [`Edge::Nearest`]: the signal is extended by repeating its first and
///   last samples.
/// * [`Edge::Mirror`]: the signal is reflected about its end samples, which
///   are not repeated (`x[-1] = x[1]`).
/// * [`Edge::Interp`]: the default of `scipy.signal.savgol_filter`. The
///   filter's polynomial is fitted to the first (last) whole window and
///   evaluated at the edge positions, so no samples are invented. For the
///   moving average the polynomial has degree 0: edge values are the mean of
///   the first (last) window.
///
/// All modes but `Valid` return as many samples as they are given.
///
/// # Examples
///
/// ```
/// use ndarray::array;
/// use smq_compute::{moving_average, Edge};
/// let x = array![0.0, 3.0, 0.0, 3.0];
/// assert_eq!(moving_average(&x, 3, Edge::Mirror)?, array![2.0, 1.0, 2.0, 1.0]);
/// assert_eq!(Edge::default(), Edge::Interp);
/// # Ok::<(), smq_compute::ComputeError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Edge {
    /// Shorter output, only where the window fits.
    Valid,
    /// Pad by repeating the end samples.
    Nearest,
    /// Pad by reflecting about the end samples.
    Mirror,
    /// Fit the filter polynomial to the end windows (scipy's default).
    #[default]
    Interp,
}

impl Edge {
    /// Every mode, in declaration order.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(smq_compute::Edge::ALL.len(), 4);
    /// ```
    pub const ALL: [Edge; 4] = [Edge::Valid, Edge::Nearest, Edge::Mirror, Edge::Interp];

    /// Lowercase name as scipy spells it (`"valid"`, `"nearest"`, `"mirror"`, `"interp"`).
    ///
    /// # Examples
    ///
    /// ```
    /// use smq_compute::Edge;
    /// assert_eq!(Edge::from_name(Edge::Mirror.name()), Some(Edge::Mirror));
    /// ```
    pub fn name(self) -> &'static str {
        match self {
            Edge::Valid => "valid",
            Edge::Nearest => "nearest",
            Edge::Mirror => "mirror",
            Edge::Interp => "interp",
        }
    }

    /// The mode called `name`.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(smq_compute::Edge::from_name("wrap"), None);
    /// ```
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|e| e.name() == name)
    }
}

fn check_signal<S>(x: &ArrayBase<S, Ix1>, window: usize) -> Result<Vec<f64>, ComputeError>
where
    S: Data<Elem = f64>,
{
    check_nonempty(x.len())?;
    if window == 0 {
        return Err(ComputeError::invalid("window", "must be at least 1"));
    }
    if window > x.len() {
        return Err(ComputeError::WindowTooLong {
            window,
            len: x.len(),
        });
    }
    check_finite(x.iter())?;
    Ok(x.to_vec())
}

fn require_odd(window: usize) -> Result<(), ComputeError> {
    if window.is_multiple_of(2) {
        Err(ComputeError::invalid(
            "window",
            "a centred window must have an odd length",
        ))
    } else {
        Ok(())
    }
}

/// The signal padded with `h` samples on both sides.
fn pad(x: &[f64], h: usize, edge: Edge) -> Vec<f64> {
    let n = x.len() as isize;
    let index = |i: isize| -> usize {
        let j = match edge {
            Edge::Mirror => {
                if i < 0 {
                    -i
                } else if i >= n {
                    2 * (n - 1) - i
                } else {
                    i
                }
            }
            _ => i.clamp(0, n - 1),
        };
        j.clamp(0, n - 1) as usize
    };
    (-(h as isize)..n + h as isize)
        .map(|i| x[index(i)])
        .collect()
}

/// Centred moving average over `window` samples.
///
/// With [`Edge::Valid`] any window length works; the other modes need an odd
/// length so the window can be centred.
///
/// # Errors
///
/// [`ComputeError::EmptyInput`], [`ComputeError::NonFinite`],
/// [`ComputeError::WindowTooLong`] when `window > x.len()`, and
/// [`ComputeError::InvalidParameter`] for a zero or (centred modes) even
/// window.
///
/// # Examples
///
/// ```
/// use ndarray::array;
/// use smq_compute::{moving_average, Edge};
/// let x = array![1.0, 2.0, 3.0, 4.0, 5.0];
/// assert_eq!(moving_average(&x, 3, Edge::Valid)?, array![2.0, 3.0, 4.0]);
/// assert_eq!(moving_average(&x, 3, Edge::Nearest)?, array![4.0 / 3.0, 2.0, 3.0, 4.0, 14.0 / 3.0]);
/// assert_eq!(moving_average(&x, 3, Edge::Interp)?, array![2.0, 2.0, 3.0, 4.0, 4.0]);
/// # Ok::<(), smq_compute::ComputeError>(())
/// ```
pub fn moving_average<S>(
    x: &ArrayBase<S, Ix1>,
    window: usize,
    edge: Edge,
) -> Result<Array1<f64>, ComputeError>
where
    S: Data<Elem = f64>,
{
    let x = check_signal(x, window)?;
    if edge != Edge::Valid {
        require_odd(window)?;
    }
    let h = window / 2;
    let padded = match edge {
        Edge::Valid | Edge::Interp => x.clone(),
        Edge::Nearest | Edge::Mirror => pad(&x, h, edge),
    };
    let w = window as f64;
    let mut out = Vec::with_capacity(padded.len() + 1 - window);
    let mut sum: f64 = padded[..window].iter().sum();
    out.push(sum / w);
    for i in window..padded.len() {
        sum += padded[i] - padded[i - window];
        out.push(sum / w);
    }
    if edge == Edge::Interp {
        let (first, last) = (out[0], out[out.len() - 1]);
        let mut full = vec![first; h];
        full.extend_from_slice(&out);
        full.extend(std::iter::repeat_n(last, h));
        out = full;
    }
    Ok(Array1::from(out))
}

fn check_savgol(window: usize, polyorder: usize, delta: f64) -> Result<(), ComputeError> {
    if window == 0 {
        return Err(ComputeError::invalid("window", "must be at least 1"));
    }
    require_odd(window)?;
    if polyorder >= window {
        return Err(ComputeError::invalid(
            "polyorder",
            format!("must be less than the window length ({window})"),
        ));
    }
    if !(delta.is_finite() && delta > 0.0) {
        return Err(ComputeError::invalid(
            "delta",
            "sample spacing must be finite and positive",
        ));
    }
    Ok(())
}

/// Least-squares weights `c` such that `Σ c[k] x[k]` (`k = 0..window`) is the
/// `deriv`-th derivative at sample `pos` of the degree-`polyorder` polynomial
/// fitted to `x[0..window]`.
fn weights(
    window: usize,
    polyorder: usize,
    deriv: usize,
    delta: f64,
    pos: f64,
) -> Result<Vec<f64>, ComputeError> {
    if deriv > polyorder {
        return Ok(vec![0.0; window]);
    }
    // The fit is y ≈ V a with V[k][j] = t_k^j, so the weights are
    // c = V (VᵀV)⁻¹ e_d. With the thin QR factorization V = QR this is
    // c = Q R⁻ᵀ e_d, which avoids squaring the condition number of V.
    // Abscissae scaled to |t| ≤ 1 and columns scaled to unit norm (V = V'D,
    // so c = Q' R'⁻ᵀ e_d / D_d) keep V itself well conditioned.
    let scale = pos.max((window - 1) as f64 - pos).max(1.0);
    let p = polyorder + 1;
    let mut vander = Mat::from_fn(window, p, |k, j| ((k as f64 - pos) / scale).powi(j as i32));
    let mut norms = vec![0.0; p];
    for (j, norm) in norms.iter_mut().enumerate() {
        *norm = (0..window)
            .map(|k| vander[(k, j)].powi(2))
            .sum::<f64>()
            .sqrt();
        if *norm == 0.0 {
            return Err(ComputeError::Singular);
        }
        for k in 0..window {
            vander[(k, j)] /= *norm;
        }
    }
    let qr = vander.qr();
    let r = qr.thin_R();
    let rmax = (0..p).map(|i| r[(i, i)].abs()).fold(0.0, f64::max);
    if (0..p).any(|i| r[(i, i)].abs() <= rmax * window as f64 * f64::EPSILON) {
        return Err(ComputeError::Singular);
    }
    // Forward substitution for Rᵀ y = e_d (Rᵀ is lower triangular).
    let mut y = vec![0.0; p];
    for i in 0..p {
        let rhs = if i == deriv { 1.0 / norms[deriv] } else { 0.0 };
        let acc: f64 = (0..i).map(|j| r[(j, i)] * y[j]).sum();
        y[i] = (rhs - acc) / r[(i, i)];
    }
    let q = qr.compute_thin_Q();
    let factorial: f64 = (1..=deriv).map(|v| v as f64).product();
    let factor = factorial / (scale * delta).powi(deriv as i32);
    Ok((0..window)
        .map(|k| (0..p).map(|j| q[(k, j)] * y[j]).sum::<f64>() * factor)
        .collect())
}

/// Savitzky–Golay coefficients, computed by least squares like
/// `scipy.signal.savgol_coeffs(window, polyorder, deriv, delta, use="dot")`:
/// the filtered value at the centre of a window `x[0..window]` is
/// `Σ c[k] x[k]`.
///
/// # Errors
///
/// [`ComputeError::InvalidParameter`] for an even or zero window,
/// `polyorder >= window`, or a non-positive `delta`.
///
/// # Examples
///
/// ```
/// use smq_compute::savgol_coeffs;
/// let c = savgol_coeffs(5, 2, 0, 1.0)?;
/// let expected = [-3.0, 12.0, 17.0, 12.0, -3.0].map(|v| v / 35.0);
/// assert!(c.iter().zip(expected).all(|(a, b)| (a - b).abs() < 1e-14));
/// # Ok::<(), smq_compute::ComputeError>(())
/// ```
pub fn savgol_coeffs(
    window: usize,
    polyorder: usize,
    deriv: usize,
    delta: f64,
) -> Result<Array1<f64>, ComputeError> {
    check_savgol(window, polyorder, delta)?;
    Ok(Array1::from(weights(
        window,
        polyorder,
        deriv,
        delta,
        (window / 2) as f64,
    )?))
}

/// Savitzky–Golay smoothing: each output sample is the value of the
/// degree-`polyorder` polynomial fitted by least squares to the `window`
/// samples around it. A polynomial of degree `polyorder` or less passes
/// through unchanged. Same as
/// `scipy.signal.savgol_filter(x, window, polyorder, mode=…)`.
///
/// # Errors
///
/// As for [`savgol_derivative`].
///
/// # Examples
///
/// ```
/// use ndarray::Array1;
/// use smq_compute::{savgol_filter, Edge};
/// let x = Array1::from_shape_fn(9, |i| (i as f64).powi(2));
/// let y = savgol_filter(&x, 5, 2, Edge::Interp)?;
/// assert!(y.iter().zip(&x).all(|(a, b)| (a - b).abs() < 1e-10));
/// # Ok::<(), smq_compute::ComputeError>(())
/// ```
pub fn savgol_filter<S>(
    x: &ArrayBase<S, Ix1>,
    window: usize,
    polyorder: usize,
    edge: Edge,
) -> Result<Array1<f64>, ComputeError>
where
    S: Data<Elem = f64>,
{
    savgol_derivative(x, window, polyorder, 0, 1.0, edge)
}

/// Savitzky–Golay derivative: the `deriv`-th derivative of the local
/// least-squares polynomial, for samples `delta` apart
/// (`scipy.signal.savgol_filter(x, window, polyorder, deriv, delta, mode=…)`).
///
/// # Errors
///
/// [`ComputeError::EmptyInput`], [`ComputeError::NonFinite`],
/// [`ComputeError::WindowTooLong`], and [`ComputeError::InvalidParameter`]
/// for an even or zero window, `polyorder >= window` or a non-positive
/// `delta`.
///
/// # Examples
///
/// ```
/// use ndarray::Array1;
/// use smq_compute::{savgol_derivative, Edge};
/// let x = Array1::from_shape_fn(11, |i| 3.0 * i as f64 * 0.5);
/// let dy = savgol_derivative(&x, 5, 2, 1, 0.5, Edge::Interp)?;
/// assert!(dy.iter().all(|d| (d - 3.0).abs() < 1e-10));
/// # Ok::<(), smq_compute::ComputeError>(())
/// ```
pub fn savgol_derivative<S>(
    x: &ArrayBase<S, Ix1>,
    window: usize,
    polyorder: usize,
    deriv: usize,
    delta: f64,
    edge: Edge,
) -> Result<Array1<f64>, ComputeError>
where
    S: Data<Elem = f64>,
{
    check_savgol(window, polyorder, delta)?;
    let x = check_signal(x, window)?;
    let n = x.len();
    let h = window / 2;
    let centre = weights(window, polyorder, deriv, delta, h as f64)?;
    let correlate = |data: &[f64]| -> Vec<f64> {
        data.windows(window)
            .map(|w| w.iter().zip(&centre).map(|(a, b)| a * b).sum())
            .collect()
    };
    let out = match edge {
        Edge::Valid => correlate(&x),
        Edge::Nearest | Edge::Mirror => correlate(&pad(&x, h, edge)),
        Edge::Interp => {
            let mut out = vec![0.0; n];
            let inner = correlate(&x);
            out[h..n - h].copy_from_slice(&inner);
            let head = &x[..window];
            let tail = &x[n - window..];
            for i in 0..h {
                let c = weights(window, polyorder, deriv, delta, i as f64)?;
                out[i] = c.iter().zip(head).map(|(a, b)| a * b).sum();
                let c = weights(window, polyorder, deriv, delta, (window - h + i) as f64)?;
                out[n - h + i] = c.iter().zip(tail).map(|(a, b)| a * b).sum();
            }
            out
        }
    };
    Ok(Array1::from(out))
}
