//! Basic descriptive statistics over all elements of an array.
//!
//! Every function looks at the array as a flat list of values (any number of
//! dimensions), rejects empty input with [`ComputeError::EmptyInput`] and NaN
//! or infinities with [`ComputeError::NonFinite`].

use ndarray::{ArrayBase, Data, Dimension};

use crate::error::{ComputeError, check_finite, check_nonempty};

/// Checks an array is non-empty and finite, then collects its values.
fn finite_values<S, D>(x: &ArrayBase<S, D>) -> Result<Vec<f64>, ComputeError>
where
    S: Data<Elem = f64>,
    D: Dimension,
{
    check_nonempty(x.len())?;
    check_finite(x.iter())?;
    Ok(x.iter().copied().collect())
}

fn checked<S, D>(x: &ArrayBase<S, D>) -> Result<(), ComputeError>
where
    S: Data<Elem = f64>,
    D: Dimension,
{
    check_nonempty(x.len())?;
    check_finite(x.iter())
}

/// Arithmetic mean of all elements.
///
/// # Examples
///
/// ```
/// use ndarray::array;
/// assert_eq!(smq_compute::mean(&array![1.0, 2.0, 3.0, 6.0]).unwrap(), 3.0);
/// ```
pub fn mean<S, D>(x: &ArrayBase<S, D>) -> Result<f64, ComputeError>
where
    S: Data<Elem = f64>,
    D: Dimension,
{
    checked(x)?;
    Ok(x.iter().sum::<f64>() / x.len() as f64)
}

/// Variance with `ddof` delta degrees of freedom (`ddof = 0`: population
/// variance like `numpy.var`; `ddof = 1`: unbiased sample variance).
///
/// Fails with [`ComputeError::InvalidParameter`] when `ddof >= len`.
///
/// # Examples
///
/// ```
/// use ndarray::array;
/// use smq_compute::variance;
/// let x = array![1.0, 2.0, 3.0, 4.0];
/// assert_eq!(variance(&x, 0).unwrap(), 1.25);
/// assert!((variance(&x, 1).unwrap() - 5.0 / 3.0).abs() < 1e-15);
/// ```
pub fn variance<S, D>(x: &ArrayBase<S, D>, ddof: usize) -> Result<f64, ComputeError>
where
    S: Data<Elem = f64>,
    D: Dimension,
{
    let m = mean(x)?;
    if ddof >= x.len() {
        return Err(ComputeError::invalid(
            "ddof",
            format!("must be smaller than the number of samples ({})", x.len()),
        ));
    }
    let ss: f64 = x.iter().map(|v| (v - m) * (v - m)).sum();
    Ok(ss / (x.len() - ddof) as f64)
}

/// Standard deviation, the square root of [`variance`] with the same `ddof`.
///
/// # Examples
///
/// ```
/// use ndarray::array;
/// let s = smq_compute::std_dev(&array![2.0, 4.0, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0], 0).unwrap();
/// assert_eq!(s, 2.0);
/// ```
pub fn std_dev<S, D>(x: &ArrayBase<S, D>, ddof: usize) -> Result<f64, ComputeError>
where
    S: Data<Elem = f64>,
    D: Dimension,
{
    variance(x, ddof).map(f64::sqrt)
}

/// Smallest element.
///
/// # Examples
///
/// ```
/// use ndarray::array;
/// assert_eq!(smq_compute::min(&array![[3.0, -1.0], [2.0, 5.0]]).unwrap(), -1.0);
/// ```
pub fn min<S, D>(x: &ArrayBase<S, D>) -> Result<f64, ComputeError>
where
    S: Data<Elem = f64>,
    D: Dimension,
{
    checked(x)?;
    Ok(x.iter().copied().fold(f64::INFINITY, f64::min))
}

/// Largest element.
///
/// # Examples
///
/// ```
/// use ndarray::array;
/// assert_eq!(smq_compute::max(&array![3.0, -1.0, 2.0]).unwrap(), 3.0);
/// ```
pub fn max<S, D>(x: &ArrayBase<S, D>) -> Result<f64, ComputeError>
where
    S: Data<Elem = f64>,
    D: Dimension,
{
    checked(x)?;
    Ok(x.iter().copied().fold(f64::NEG_INFINITY, f64::max))
}

/// Flat index (row-major) of the largest element; the first one on ties.
///
/// # Examples
///
/// ```
/// use ndarray::array;
/// assert_eq!(smq_compute::argmax(&array![1.0, 7.0, 7.0, 2.0]).unwrap(), 1);
/// ```
pub fn argmax<S, D>(x: &ArrayBase<S, D>) -> Result<usize, ComputeError>
where
    S: Data<Elem = f64>,
    D: Dimension,
{
    checked(x)?;
    let mut best = (0, f64::NEG_INFINITY);
    for (i, &v) in x.iter().enumerate() {
        if v > best.1 {
            best = (i, v);
        }
    }
    Ok(best.0)
}

/// Flat index (row-major) of the smallest element; the first one on ties.
///
/// # Examples
///
/// ```
/// use ndarray::array;
/// assert_eq!(smq_compute::argmin(&array![4.0, 1.0, 1.0, 2.0]).unwrap(), 1);
/// ```
pub fn argmin<S, D>(x: &ArrayBase<S, D>) -> Result<usize, ComputeError>
where
    S: Data<Elem = f64>,
    D: Dimension,
{
    checked(x)?;
    let mut best = (0, f64::INFINITY);
    for (i, &v) in x.iter().enumerate() {
        if v < best.1 {
            best = (i, v);
        }
    }
    Ok(best.0)
}

/// Median (average of the two middle values for an even count), like
/// `numpy.median`.
///
/// # Examples
///
/// ```
/// use ndarray::array;
/// use smq_compute::median;
/// assert_eq!(median(&array![5.0, 1.0, 3.0]).unwrap(), 3.0);
/// assert_eq!(median(&array![4.0, 1.0, 3.0, 2.0]).unwrap(), 2.5);
/// ```
pub fn median<S, D>(x: &ArrayBase<S, D>) -> Result<f64, ComputeError>
where
    S: Data<Elem = f64>,
    D: Dimension,
{
    percentile(x, 50.0)
}

/// The `q`-th percentile (`0 <= q <= 100`) with linear interpolation between
/// the closest ranks, the default method of `numpy.percentile`.
///
/// # Examples
///
/// ```
/// use ndarray::array;
/// use smq_compute::percentile;
/// let x = array![1.0, 2.0, 3.0, 4.0, 5.0];
/// assert_eq!(percentile(&x, 25.0).unwrap(), 2.0);
/// assert_eq!(percentile(&x, 90.0).unwrap(), 4.6);
/// assert!(percentile(&x, 120.0).is_err());
/// ```
pub fn percentile<S, D>(x: &ArrayBase<S, D>, q: f64) -> Result<f64, ComputeError>
where
    S: Data<Elem = f64>,
    D: Dimension,
{
    if !(0.0..=100.0).contains(&q) {
        return Err(ComputeError::invalid(
            "q",
            "percentile must lie in [0, 100]",
        ));
    }
    let mut v = finite_values(x)?;
    v.sort_by(f64::total_cmp);
    Ok(percentile_of_sorted(&v, q))
}

/// Percentile of already sorted, finite, non-empty data (numpy's "linear").
fn percentile_of_sorted(v: &[f64], q: f64) -> f64 {
    let pos = q / 100.0 * (v.len() - 1) as f64;
    let lo = pos.floor() as usize;
    let hi = (lo + 1).min(v.len() - 1);
    let t = pos - lo as f64;
    let (a, b) = (v[lo], v[hi]);
    // Same two-sided formula as numpy's `_lerp`, for bit-compatible results.
    if t >= 0.5 {
        b - (b - a) * (1.0 - t)
    } else {
        a + (b - a) * t
    }
}

/// All the basic statistics of one array, computed in one call.
///
/// # Examples
///
/// ```
/// use ndarray::array;
/// let s = smq_compute::summary(&array![2.0, 4.0])?;
/// assert_eq!((s.std, s.median), (1.0, 3.0));
/// # Ok::<(), smq_compute::ComputeError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Summary {
    /// Number of elements.
    pub count: usize,
    /// Arithmetic mean.
    pub mean: f64,
    /// Population standard deviation (`ddof = 0`).
    pub std: f64,
    /// Smallest element.
    pub min: f64,
    /// Largest element.
    pub max: f64,
    /// Median.
    pub median: f64,
}

/// Computes a [`Summary`] (count, mean, std, min, max, median).
///
/// # Examples
///
/// ```
/// use ndarray::array;
/// let s = smq_compute::summary(&array![1.0, 2.0, 3.0]).unwrap();
/// assert_eq!((s.count, s.mean, s.min, s.max, s.median), (3, 2.0, 1.0, 3.0, 2.0));
/// ```
pub fn summary<S, D>(x: &ArrayBase<S, D>) -> Result<Summary, ComputeError>
where
    S: Data<Elem = f64>,
    D: Dimension,
{
    let mut v = finite_values(x)?;
    let count = v.len();
    let mean = v.iter().sum::<f64>() / count as f64;
    let var = v.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / count as f64;
    v.sort_by(f64::total_cmp);
    Ok(Summary {
        count,
        mean,
        std: var.sqrt(),
        min: v[0],
        max: v[count - 1],
        median: percentile_of_sorted(&v, 50.0),
    })
}
