//! Peak (local maximum) and dip (local minimum) finding, in one shot or
//! progressively.
//!
//! A sample is a local minimum when it is strictly smaller than both
//! neighbours, a local maximum when strictly larger; the first and last
//! samples never qualify, and neither do plateaus.

use ndarray::{ArrayBase, ArrayView1, Data, Ix1};

use crate::error::{ComputeError, check_finite, check_nonempty};

/// Which kind of local extremum to look for.
///
/// # Examples
///
/// ```
/// use smq_compute::{ExtremaScan, Extremum};
/// let dips: Vec<bool> = ExtremaScan::new([1.0, 0.0, 1.0], Extremum::Minimum).collect();
/// let peaks: Vec<bool> = ExtremaScan::new([1.0, 0.0, 1.0], Extremum::Maximum).collect();
/// assert_eq!((dips[1], peaks[1]), (true, false));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Extremum {
    /// Local minima (dips).
    Minimum,
    /// Local maxima (peaks).
    Maximum,
}

impl Extremum {
    fn is_extremum(self, prev: f64, cur: f64, next: f64) -> bool {
        match self {
            Extremum::Minimum => cur < prev && cur < next,
            Extremum::Maximum => cur > prev && cur > next,
        }
    }
}

/// Iterator that scans a stream of samples and yields one `bool` per sample:
/// whether that sample is a local extremum.
///
/// It mirrors this Python generator (for minima):
///
/// ```python
/// def _find_minima(x):
///     yield False
///     for i in range(1, len(x) - 1):
///         yield x[i] < x[i - 1] and x[i] < x[i + 1]
///     yield False
/// ```
///
/// with one difference: it yields exactly one value per input sample (the
/// Python version yields two values for an input of length 0 or 1). It needs
/// only one sample of look-ahead, so it works on any iterator of `f64`,
/// including samples still being acquired: the answer for sample `i` comes
/// as soon as sample `i + 1` has been read (or the input has ended). Use
/// [`minima_scan`]/[`maxima_scan`] to scan an array with input checks. A NaN
/// sample, and its neighbours, are never extrema.
///
/// # Examples
///
/// ```
/// use smq_compute::{ExtremaScan, Extremum};
/// let flags: Vec<bool> = ExtremaScan::new([3.0, 1.0, 2.0, 0.5, 4.0], Extremum::Minimum).collect();
/// assert_eq!(flags, [false, true, false, true, false]);
/// ```
#[derive(Debug, Clone)]
pub struct ExtremaScan<I: Iterator<Item = f64>> {
    input: I,
    kind: Extremum,
    /// The sample before the one to report next.
    prev: Option<f64>,
    /// The sample to report next, once read.
    cur: Option<f64>,
    done: bool,
}

impl<I: Iterator<Item = f64>> ExtremaScan<I> {
    /// Scans `input` for extrema of `kind`.
    ///
    /// # Examples
    ///
    /// ```
    /// use smq_compute::{ExtremaScan, Extremum};
    /// let mut scan = ExtremaScan::new([0.0, 1.0, 0.0], Extremum::Maximum);
    /// assert_eq!(scan.next(), Some(false));
    /// assert_eq!(scan.next(), Some(true));
    /// assert_eq!(scan.next(), Some(false));
    /// assert_eq!(scan.next(), None);
    /// ```
    pub fn new(input: impl IntoIterator<IntoIter = I>, kind: Extremum) -> Self {
        Self {
            input: input.into_iter(),
            kind,
            prev: None,
            cur: None,
            done: false,
        }
    }

    fn finish(&mut self) {
        self.done = true;
        self.prev = None;
        self.cur = None;
    }
}

impl<I: Iterator<Item = f64>> Iterator for ExtremaScan<I> {
    type Item = bool;

    fn next(&mut self) -> Option<bool> {
        if self.done {
            return None;
        }
        let Some(prev) = self.prev else {
            // The first sample is never an extremum.
            match self.input.next() {
                Some(first) => {
                    self.prev = Some(first);
                    return Some(false);
                }
                None => {
                    self.finish();
                    return None;
                }
            }
        };
        let cur = match self.cur.take().or_else(|| self.input.next()) {
            Some(cur) => cur,
            None => {
                self.finish();
                return None;
            }
        };
        match self.input.next() {
            Some(next) => {
                self.prev = Some(cur);
                self.cur = Some(next);
                Some(self.kind.is_extremum(prev, cur, next))
            }
            None => {
                // `cur` is the last sample: never an extremum.
                self.finish();
                Some(false)
            }
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        if self.done {
            return (0, Some(0));
        }
        let (lo, hi) = self.input.size_hint();
        let pending = usize::from(self.cur.is_some());
        (
            lo.saturating_add(pending),
            hi.and_then(|h| h.checked_add(pending)),
        )
    }
}

fn checked_view<S>(x: &ArrayBase<S, Ix1>) -> Result<ArrayView1<'_, f64>, ComputeError>
where
    S: Data<Elem = f64>,
{
    check_nonempty(x.len())?;
    check_finite(x.iter())?;
    Ok(x.view())
}

/// Progressive scan of an array for local minima: one `bool` per sample.
///
/// # Errors
///
/// [`ComputeError::EmptyInput`], [`ComputeError::NonFinite`] (checked before
/// the scan starts).
///
/// # Examples
///
/// ```
/// use ndarray::array;
/// let x = array![2.0, 1.0, 3.0];
/// let flags: Vec<bool> = smq_compute::minima_scan(&x)?.collect();
/// assert_eq!(flags, [false, true, false]);
/// # Ok::<(), smq_compute::ComputeError>(())
/// ```
pub fn minima_scan<S>(
    x: &ArrayBase<S, Ix1>,
) -> Result<ExtremaScan<std::iter::Copied<ndarray::iter::Iter<'_, f64, Ix1>>>, ComputeError>
where
    S: Data<Elem = f64>,
{
    let v = checked_view(x)?;
    Ok(ExtremaScan::new(v.into_iter().copied(), Extremum::Minimum))
}

/// Progressive scan of an array for local maxima: one `bool` per sample.
///
/// # Errors
///
/// As for [`minima_scan`].
///
/// # Examples
///
/// ```
/// use ndarray::array;
/// let flags: Vec<bool> = smq_compute::maxima_scan(&array![0.0, 5.0, 1.0, 2.0])?.collect();
/// assert_eq!(flags, [false, true, false, false]);
/// # Ok::<(), smq_compute::ComputeError>(())
/// ```
pub fn maxima_scan<S>(
    x: &ArrayBase<S, Ix1>,
) -> Result<ExtremaScan<std::iter::Copied<ndarray::iter::Iter<'_, f64, Ix1>>>, ComputeError>
where
    S: Data<Elem = f64>,
{
    let v = checked_view(x)?;
    Ok(ExtremaScan::new(v.into_iter().copied(), Extremum::Maximum))
}

/// Indices of all local minima.
///
/// # Errors
///
/// [`ComputeError::EmptyInput`], [`ComputeError::NonFinite`].
///
/// # Examples
///
/// ```
/// use ndarray::array;
/// assert_eq!(smq_compute::find_minima(&array![3.0, 1.0, 2.0, 0.0, 1.0])?, vec![1, 3]);
/// # Ok::<(), smq_compute::ComputeError>(())
/// ```
pub fn find_minima<S>(x: &ArrayBase<S, Ix1>) -> Result<Vec<usize>, ComputeError>
where
    S: Data<Elem = f64>,
{
    Ok(flags_to_indices(minima_scan(x)?))
}

/// Indices of all local maxima, optionally only those at least
/// `min_height` high.
///
/// # Errors
///
/// [`ComputeError::EmptyInput`], [`ComputeError::NonFinite`] (also for a
/// non-finite `min_height`).
///
/// # Examples
///
/// ```
/// use ndarray::array;
/// use smq_compute::find_peaks;
/// let x = array![0.0, 2.0, 0.0, 5.0, 0.0];
/// assert_eq!(find_peaks(&x, None)?, vec![1, 3]);
/// assert_eq!(find_peaks(&x, Some(3.0))?, vec![3]);
/// # Ok::<(), smq_compute::ComputeError>(())
/// ```
pub fn find_peaks<S>(
    x: &ArrayBase<S, Ix1>,
    min_height: Option<f64>,
) -> Result<Vec<usize>, ComputeError>
where
    S: Data<Elem = f64>,
{
    if let Some(h) = min_height
        && !h.is_finite()
    {
        return Err(ComputeError::invalid("min_height", "must be finite"));
    }
    let idx = flags_to_indices(maxima_scan(x)?);
    Ok(match min_height {
        Some(h) => idx.into_iter().filter(|&i| x[i] >= h).collect(),
        None => idx,
    })
}

fn flags_to_indices(flags: impl Iterator<Item = bool>) -> Vec<usize> {
    flags
        .enumerate()
        .filter_map(|(i, f)| f.then_some(i))
        .collect()
}
