//! Background subtraction and normalization.

use ndarray::{Array, ArrayBase, Data, Dimension, Zip};

use crate::error::{ComputeError, check_finite, check_nonempty};

/// How [`normalize`] rescales an array.
///
/// # Examples
///
/// ```
/// use ndarray::array;
/// use smq_compute::{normalize, Normalization};
/// let y = normalize(&array![-2.0, 1.0], Normalization::Max)?;
/// assert_eq!(y, array![-1.0, 0.5]);
/// # Ok::<(), smq_compute::ComputeError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Normalization {
    /// `(x - min) / (max - min)`, mapping the data onto `[0, 1]`.
    MinMax,
    /// `x / max(|x|)`, so the largest magnitude becomes 1 and signs are kept.
    Max,
    /// `(x - mean) / std` with the population standard deviation.
    ZScore,
}

impl Normalization {
    /// Every method, in declaration order.
    ///
    /// # Examples
    ///
    /// ```
    /// use smq_compute::Normalization;
    /// let names: Vec<&str> = Normalization::ALL.iter().map(|m| m.name()).collect();
    /// assert_eq!(names, ["minmax", "max", "zscore"]);
    /// ```
    pub const ALL: [Normalization; 3] = [
        Normalization::MinMax,
        Normalization::Max,
        Normalization::ZScore,
    ];

    /// Short lowercase name (`"minmax"`, `"max"`, `"zscore"`).
    ///
    /// # Examples
    ///
    /// ```
    /// use smq_compute::Normalization;
    /// assert_eq!(Normalization::ZScore.name(), "zscore");
    /// assert_eq!(Normalization::from_name("minmax"), Some(Normalization::MinMax));
    /// ```
    pub fn name(self) -> &'static str {
        match self {
            Normalization::MinMax => "minmax",
            Normalization::Max => "max",
            Normalization::ZScore => "zscore",
        }
    }

    /// The method called `name` (as returned by [`Normalization::name`]).
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(smq_compute::Normalization::from_name("nope").is_none());
    /// ```
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|m| m.name() == name)
    }
}

/// Subtracts `background` from `signal` element by element.
///
/// `background` must have exactly the shape of `signal`, or a shape that
/// broadcasts to it under numpy rules (e.g. one background row for a stack of
/// spectra).
///
/// # Errors
///
/// [`ComputeError::EmptyInput`], [`ComputeError::ShapeMismatch`] when the
/// background cannot be broadcast, [`ComputeError::NonFinite`] for NaN or
/// infinities in either array.
///
/// # Examples
///
/// ```
/// use ndarray::array;
/// use smq_compute::subtract_background;
///
/// let frames = array![[5.0, 6.0], [7.0, 8.0]];
/// let dark = array![1.0, 2.0];
/// assert_eq!(subtract_background(&frames, &dark)?, array![[4.0, 4.0], [6.0, 6.0]]);
/// # Ok::<(), smq_compute::ComputeError>(())
/// ```
pub fn subtract_background<S1, S2, D1, D2>(
    signal: &ArrayBase<S1, D1>,
    background: &ArrayBase<S2, D2>,
) -> Result<Array<f64, D1>, ComputeError>
where
    S1: Data<Elem = f64>,
    S2: Data<Elem = f64>,
    D1: Dimension,
    D2: Dimension,
{
    check_nonempty(signal.len())?;
    check_nonempty(background.len())?;
    let bg = background
        .broadcast(signal.raw_dim())
        .ok_or_else(|| ComputeError::ShapeMismatch {
            expected: signal.shape().to_vec(),
            found: background.shape().to_vec(),
        })?;
    check_finite(signal.iter())?;
    check_finite(background.iter())?;
    Ok(Zip::from(signal).and(&bg).map_collect(|&s, &b| s - b))
}

/// Rescales an array with one of the [`Normalization`] methods.
///
/// # Errors
///
/// [`ComputeError::EmptyInput`], [`ComputeError::NonFinite`], and
/// [`ComputeError::Degenerate`] when the scale would be zero (constant data
/// for min-max and z-score, all zeros for max).
///
/// # Examples
///
/// ```
/// use ndarray::array;
/// use smq_compute::{normalize, Normalization};
///
/// let x = array![2.0, 4.0, 6.0];
/// assert_eq!(normalize(&x, Normalization::MinMax)?, array![0.0, 0.5, 1.0]);
/// assert_eq!(normalize(&x, Normalization::Max)?, array![1.0 / 3.0, 2.0 / 3.0, 1.0]);
/// let z = normalize(&x, Normalization::ZScore)?;
/// assert!((z[2] - 1.224744871391589).abs() < 1e-12);
/// assert!(normalize(&array![1.0, 1.0], Normalization::MinMax).is_err());
/// # Ok::<(), smq_compute::ComputeError>(())
/// ```
pub fn normalize<S, D>(
    x: &ArrayBase<S, D>,
    method: Normalization,
) -> Result<Array<f64, D>, ComputeError>
where
    S: Data<Elem = f64>,
    D: Dimension,
{
    check_nonempty(x.len())?;
    check_finite(x.iter())?;
    match method {
        Normalization::MinMax => {
            let lo = x.iter().copied().fold(f64::INFINITY, f64::min);
            let hi = x.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            let span = hi - lo;
            if span == 0.0 {
                return Err(ComputeError::Degenerate("data is constant (max == min)"));
            }
            Ok(x.mapv(|v| (v - lo) / span))
        }
        Normalization::Max => {
            let m = x.iter().fold(0.0_f64, |a, v| a.max(v.abs()));
            if m == 0.0 {
                return Err(ComputeError::Degenerate("data is all zeros"));
            }
            Ok(x.mapv(|v| v / m))
        }
        Normalization::ZScore => {
            let n = x.len() as f64;
            let mean = x.iter().sum::<f64>() / n;
            let var = x.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / n;
            if var == 0.0 {
                return Err(ComputeError::Degenerate(
                    "data is constant (zero standard deviation)",
                ));
            }
            let sd = var.sqrt();
            Ok(x.mapv(|v| (v - mean) / sd))
        }
    }
}

/// Divides `signal` by `reference` element by element (e.g. a lamp or
/// flat-field spectrum); `reference` broadcasts like in
/// [`subtract_background`].
///
/// # Errors
///
/// [`ComputeError::EmptyInput`], [`ComputeError::ShapeMismatch`],
/// [`ComputeError::NonFinite`], and [`ComputeError::Degenerate`] when the
/// reference contains a zero.
///
/// # Examples
///
/// ```
/// use ndarray::array;
/// use smq_compute::normalize_by_reference;
///
/// let y = normalize_by_reference(&array![2.0, 9.0], &array![2.0, 3.0])?;
/// assert_eq!(y, array![1.0, 3.0]);
/// assert!(normalize_by_reference(&array![1.0], &array![0.0]).is_err());
/// # Ok::<(), smq_compute::ComputeError>(())
/// ```
pub fn normalize_by_reference<S1, S2, D1, D2>(
    signal: &ArrayBase<S1, D1>,
    reference: &ArrayBase<S2, D2>,
) -> Result<Array<f64, D1>, ComputeError>
where
    S1: Data<Elem = f64>,
    S2: Data<Elem = f64>,
    D1: Dimension,
    D2: Dimension,
{
    check_nonempty(signal.len())?;
    check_nonempty(reference.len())?;
    let r = reference
        .broadcast(signal.raw_dim())
        .ok_or_else(|| ComputeError::ShapeMismatch {
            expected: signal.shape().to_vec(),
            found: reference.shape().to_vec(),
        })?;
    check_finite(signal.iter())?;
    check_finite(reference.iter())?;
    if reference.iter().any(|&v| v == 0.0) {
        return Err(ComputeError::Degenerate("reference contains a zero"));
    }
    Ok(Zip::from(signal).and(&r).map_collect(|&s, &r| s / r))
}
