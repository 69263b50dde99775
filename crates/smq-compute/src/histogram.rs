//! Histograms with equal-width bins, like `numpy.histogram`.

use ndarray::{Array1, ArrayBase, Data, Dimension};

use crate::error::{ComputeError, check_finite, check_nonempty};

/// Largest number of bins [`histogram`] accepts (2²⁴), so that a mistyped
/// parameter gives an error instead of exhausting memory.
///
/// # Examples
///
/// ```
/// use ndarray::array;
/// assert!(smq_compute::histogram(&array![1.0], smq_compute::MAX_BINS + 1, None).is_err());
/// ```
pub const MAX_BINS: usize = 1 << 24;

/// Counts per bin and the bin edges of a [`histogram`].
///
/// # Examples
///
/// ```
/// use ndarray::array;
/// let h = smq_compute::histogram(&array![0.2, 0.4, 0.9], 2, Some((0.0, 1.0)))?;
/// assert_eq!(h.counts.to_vec(), vec![2, 1]);
/// assert_eq!(h.edges.to_vec(), vec![0.0, 0.5, 1.0]);
/// # Ok::<(), smq_compute::ComputeError>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Histogram {
    /// Number of samples in each bin (`bins` entries).
    pub counts: Array1<u64>,
    /// Bin edges (`bins + 1` entries, increasing).
    pub edges: Array1<f64>,
}

impl Histogram {
    /// Centre of each bin.
    ///
    /// # Examples
    ///
    /// ```
    /// use ndarray::array;
    /// let h = smq_compute::histogram(&array![0.0, 1.0, 2.0, 3.0], 2, None)?;
    /// assert_eq!(h.centers().to_vec(), vec![0.75, 2.25]);
    /// # Ok::<(), smq_compute::ComputeError>(())
    /// ```
    pub fn centers(&self) -> Array1<f64> {
        let n = self.counts.len();
        Array1::from_shape_fn(n, |i| 0.5 * (self.edges[i] + self.edges[i + 1]))
    }

    /// Total number of samples counted (those inside the range).
    ///
    /// # Examples
    ///
    /// ```
    /// use ndarray::array;
    /// let h = smq_compute::histogram(&array![0.0, 1.0, 9.0], 2, Some((0.0, 2.0)))?;
    /// assert_eq!(h.total(), 2);
    /// # Ok::<(), smq_compute::ComputeError>(())
    /// ```
    pub fn total(&self) -> u64 {
        self.counts.sum()
    }
}

/// Histogram of all elements of `x` over `bins` equal-width bins.
///
/// Semantics follow `numpy.histogram(x, bins, range)`: every bin is
/// half-open `[a, b)` except the last, which also includes its right edge;
/// samples outside `range` are not counted; without a range the data's
/// minimum and maximum are used, widened by ±0.5 when they are equal. Edges
/// are `lo + i · (hi − lo) / bins`, the last one exactly `hi`.
///
/// # Errors
///
/// [`ComputeError::EmptyInput`], [`ComputeError::NonFinite`] for NaN or
/// infinite samples, [`ComputeError::InvalidParameter`] for `bins == 0`,
/// `bins > MAX_BINS`, or a range that is not finite with `lo < hi`.
///
/// # Examples
///
/// ```
/// use ndarray::array;
/// use smq_compute::histogram;
/// let h = histogram(&array![1.0, 2.0, 1.0, 4.0], 3, Some((0.0, 3.0)))?;
/// assert_eq!(h.counts.to_vec(), vec![0, 2, 1]); // 4.0 is out of range
/// assert_eq!(h.edges.to_vec(), vec![0.0, 1.0, 2.0, 3.0]);
/// # Ok::<(), smq_compute::ComputeError>(())
/// ```
pub fn histogram<S, D>(
    x: &ArrayBase<S, D>,
    bins: usize,
    range: Option<(f64, f64)>,
) -> Result<Histogram, ComputeError>
where
    S: Data<Elem = f64>,
    D: Dimension,
{
    if bins == 0 {
        return Err(ComputeError::invalid("bins", "must be at least 1"));
    }
    if bins > MAX_BINS {
        return Err(ComputeError::invalid(
            "bins",
            format!("must be at most {MAX_BINS}"),
        ));
    }
    check_nonempty(x.len())?;
    check_finite(x.iter())?;
    let (lo, hi) = match range {
        Some((lo, hi)) => {
            if !(lo.is_finite() && hi.is_finite() && lo < hi) {
                return Err(ComputeError::invalid(
                    "range",
                    "must be finite with lo < hi",
                ));
            }
            (lo, hi)
        }
        None => {
            let lo = x.iter().copied().fold(f64::INFINITY, f64::min);
            let hi = x.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            if lo == hi {
                (lo - 0.5, hi + 0.5)
            } else {
                (lo, hi)
            }
        }
    };
    let step = (hi - lo) / bins as f64;
    let mut edges = Array1::from_shape_fn(bins + 1, |i| lo + i as f64 * step);
    edges[bins] = hi;
    let mut counts = Array1::<u64>::zeros(bins);
    let span = hi - lo;
    for &v in x.iter() {
        if v < lo || v > hi {
            continue;
        }
        let mut i = (((v - lo) / span * bins as f64) as usize).min(bins - 1);
        // Correct rounding so that the bin agrees with the edges exactly.
        if v < edges[i] {
            i = i.saturating_sub(1);
        } else if i + 1 < bins && v >= edges[i + 1] {
            i += 1;
        }
        counts[i] += 1;
    }
    Ok(Histogram { counts, edges })
}
