//! Linear and polynomial least-squares fits, solved with `faer`'s QR.

use faer::Mat;
use faer::linalg::solvers::SolveLstsq;
use ndarray::{Array1, ArrayBase, Data, Ix1};

use crate::error::{ComputeError, check_finite, check_nonempty};

/// A polynomial `c[0] + c[1] x + c[2] x² + …`, as returned by [`polyfit`].
///
/// Note that the coefficients are in *increasing* order of power, the
/// reverse of `numpy.polyfit` (and the same as
/// `numpy.polynomial.polynomial.polyfit`).
///
/// # Examples
///
/// ```
/// use ndarray::array;
/// use smq_compute::Polynomial;
/// let p = Polynomial { coeffs: array![1.0, -1.0] }; // 1 - x
/// assert_eq!(p.eval(4.0), -3.0);
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Polynomial {
    /// Coefficients, constant term first.
    pub coeffs: Array1<f64>,
}

impl Polynomial {
    /// Value at `x` (Horner's scheme).
    ///
    /// # Examples
    ///
    /// ```
    /// use ndarray::array;
    /// let p = smq_compute::Polynomial { coeffs: array![1.0, 0.0, 2.0] };
    /// assert_eq!(p.eval(3.0), 19.0);
    /// ```
    pub fn eval(&self, x: f64) -> f64 {
        self.coeffs.iter().rev().fold(0.0, |acc, c| acc * x + c)
    }

    /// Values at every element of `x`.
    ///
    /// # Examples
    ///
    /// ```
    /// use ndarray::array;
    /// let p = smq_compute::Polynomial { coeffs: array![0.0, 1.0] };
    /// assert_eq!(p.eval_array(&array![1.0, 2.0]), array![1.0, 2.0]);
    /// ```
    pub fn eval_array<S>(&self, x: &ArrayBase<S, Ix1>) -> Array1<f64>
    where
        S: Data<Elem = f64>,
    {
        x.mapv(|v| self.eval(v))
    }

    /// Degree (number of coefficients minus one).
    ///
    /// # Examples
    ///
    /// ```
    /// use ndarray::array;
    /// assert_eq!(smq_compute::Polynomial { coeffs: array![1.0, 2.0] }.degree(), 1);
    /// ```
    pub fn degree(&self) -> usize {
        self.coeffs.len().saturating_sub(1)
    }
}

/// Result of a straight-line fit `y ≈ slope · x + intercept`.
///
/// # Examples
///
/// ```
/// use ndarray::array;
/// let fit = smq_compute::linear_fit(&array![0.0, 1.0, 2.0, 3.0], &array![0.0, 1.0, 2.0, 3.5])?;
/// assert!(fit.slope > 1.0 && fit.r_squared < 1.0);
/// # Ok::<(), smq_compute::ComputeError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LinearFit {
    /// Slope of the line.
    pub slope: f64,
    /// Value at `x = 0`.
    pub intercept: f64,
    /// Coefficient of determination R² (1 for a perfect fit; 1 too when `y`
    /// is constant and fitted exactly).
    pub r_squared: f64,
}

fn check_xy<S1, S2>(x: &ArrayBase<S1, Ix1>, y: &ArrayBase<S2, Ix1>) -> Result<(), ComputeError>
where
    S1: Data<Elem = f64>,
    S2: Data<Elem = f64>,
{
    check_nonempty(x.len())?;
    if x.len() != y.len() {
        return Err(ComputeError::ShapeMismatch {
            expected: x.shape().to_vec(),
            found: y.shape().to_vec(),
        });
    }
    check_finite(x.iter())?;
    check_finite(y.iter())
}

/// Least-squares polynomial of degree `degree` through the points `(x, y)`.
///
/// The Vandermonde columns are scaled to unit norm before a QR solve (as
/// `numpy.polyfit` does), and a design matrix of numerical rank below
/// `degree + 1` (e.g. too few distinct `x` values) is rejected instead of
/// returning meaningless coefficients.
///
/// # Errors
///
/// [`ComputeError::EmptyInput`], [`ComputeError::ShapeMismatch`] when `x`
/// and `y` differ in length, [`ComputeError::NonFinite`],
/// [`ComputeError::DegreeTooHigh`] when `degree >= x.len()`, and
/// [`ComputeError::Singular`] for a rank-deficient design.
///
/// # Examples
///
/// ```
/// use ndarray::array;
/// use smq_compute::polyfit;
/// let x = array![0.0, 1.0, 2.0, 3.0];
/// let y = x.mapv(|v| 1.0 - 2.0 * v + 0.5 * v * v);
/// let p = polyfit(&x, &y, 2)?;
/// assert!((p.coeffs[0] - 1.0).abs() < 1e-12);
/// assert!((p.coeffs[1] + 2.0).abs() < 1e-12);
/// assert!((p.coeffs[2] - 0.5).abs() < 1e-12);
/// assert!(polyfit(&x, &y, 4).is_err());
/// # Ok::<(), smq_compute::ComputeError>(())
/// ```
pub fn polyfit<S1, S2>(
    x: &ArrayBase<S1, Ix1>,
    y: &ArrayBase<S2, Ix1>,
    degree: usize,
) -> Result<Polynomial, ComputeError>
where
    S1: Data<Elem = f64>,
    S2: Data<Elem = f64>,
{
    check_xy(x, y)?;
    let n = x.len();
    let p = degree + 1;
    if degree >= n {
        return Err(ComputeError::DegreeTooHigh { degree, points: n });
    }
    let mut a = Mat::from_fn(n, p, |i, j| x[i].powi(j as i32));
    let mut norms = vec![0.0; p];
    for (j, norm) in norms.iter_mut().enumerate() {
        let s = (0..n).map(|i| a[(i, j)] * a[(i, j)]).sum::<f64>().sqrt();
        if !(s.is_finite() && s > 0.0) {
            return Err(ComputeError::Singular);
        }
        *norm = s;
        for i in 0..n {
            a[(i, j)] /= s;
        }
    }
    let qr = a.qr();
    let r = qr.R();
    let diag: Vec<f64> = (0..p).map(|i| r[(i, i)].abs()).collect();
    let rmax = diag.iter().copied().fold(0.0, f64::max);
    // Same cut-off as numpy's default rcond: len(x) · ε.
    if diag.iter().any(|&d| d <= rmax * n as f64 * f64::EPSILON) {
        return Err(ComputeError::Singular);
    }
    let b = Mat::from_fn(n, 1, |i, _| y[i]);
    let sol = qr.solve_lstsq(&b);
    let coeffs: Array1<f64> = (0..p).map(|j| sol[(j, 0)] / norms[j]).collect();
    if coeffs.iter().all(|c| c.is_finite()) {
        Ok(Polynomial { coeffs })
    } else {
        Err(ComputeError::Singular)
    }
}

/// Straight-line least-squares fit with its R².
///
/// # Errors
///
/// As for [`polyfit`] with degree 1: at least two points with two distinct
/// `x` values are needed.
///
/// # Examples
///
/// ```
/// use ndarray::array;
/// use smq_compute::linear_fit;
/// let fit = linear_fit(&array![0.0, 1.0, 2.0], &array![1.0, 3.0, 5.0])?;
/// assert!((fit.slope - 2.0).abs() < 1e-12 && (fit.intercept - 1.0).abs() < 1e-12);
/// assert!((fit.r_squared - 1.0).abs() < 1e-12);
/// # Ok::<(), smq_compute::ComputeError>(())
/// ```
pub fn linear_fit<S1, S2>(
    x: &ArrayBase<S1, Ix1>,
    y: &ArrayBase<S2, Ix1>,
) -> Result<LinearFit, ComputeError>
where
    S1: Data<Elem = f64>,
    S2: Data<Elem = f64>,
{
    let p = polyfit(x, y, 1)?;
    let (intercept, slope) = (p.coeffs[0], p.coeffs[1]);
    let mean_y = y.sum() / y.len() as f64;
    let ss_tot: f64 = y.iter().map(|v| (v - mean_y).powi(2)).sum();
    let ss_res: f64 = x
        .iter()
        .zip(y)
        .map(|(xi, yi)| (yi - (slope * xi + intercept)).powi(2))
        .sum();
    let r_squared = if ss_tot > 0.0 {
        1.0 - ss_res / ss_tot
    } else {
        1.0
    };
    Ok(LinearFit {
        slope,
        intercept,
        r_squared,
    })
}
