//! The single error type returned by every fallible step.

use thiserror::Error;

/// Everything that can go wrong in a processing step.
///
/// Every public function of this crate reports bad input through this enum
/// instead of panicking, so a scheduler task can turn a failure into a clean
/// error message for the operator.
///
/// # Examples
///
/// ```
/// use ndarray::Array1;
/// use smq_compute::{mean, ComputeError};
///
/// let empty = Array1::<f64>::zeros(0);
/// assert_eq!(mean(&empty), Err(ComputeError::EmptyInput));
/// ```
#[derive(Debug, Clone, PartialEq, Error)]
#[non_exhaustive]
pub enum ComputeError {
    /// The input array has no elements.
    #[error("input is empty")]
    EmptyInput,

    /// Two arrays that must agree in shape do not.
    #[error("shape mismatch: expected {expected:?}, found {found:?}")]
    ShapeMismatch {
        /// The shape that was required.
        expected: Vec<usize>,
        /// The shape that was given.
        found: Vec<usize>,
    },

    /// The input contains NaN or an infinity where a finite value is required.
    #[error("non-finite value (NaN or infinity) at flat index {index}")]
    NonFinite {
        /// Position of the first offending element in logical (row-major) order.
        index: usize,
    },

    /// A window (smoothing, filter) is longer than the data it slides over.
    #[error("window of {window} samples is longer than the data ({len} samples)")]
    WindowTooLong {
        /// Requested window length.
        window: usize,
        /// Length of the data.
        len: usize,
    },

    /// A polynomial fit was asked for more coefficients than there are points.
    #[error("polynomial degree {degree} needs more than {points} points")]
    DegreeTooHigh {
        /// Requested degree.
        degree: usize,
        /// Number of data points available.
        points: usize,
    },

    /// A matrix is not square where a square one is required.
    #[error("matrix is not square: {rows}x{cols}")]
    NotSquare {
        /// Number of rows.
        rows: usize,
        /// Number of columns.
        cols: usize,
    },

    /// A matrix (or a least-squares design matrix) is singular or numerically
    /// rank deficient.
    #[error("matrix is singular or numerically rank deficient")]
    Singular,

    /// A division by zero would occur, e.g. normalizing constant data.
    #[error("cannot normalize: {0}")]
    Degenerate(&'static str),

    /// A parameter value is out of its allowed range.
    #[error("invalid parameter `{name}`: {reason}")]
    InvalidParameter {
        /// Parameter name.
        name: String,
        /// Why the value was rejected.
        reason: String,
    },

    /// A parameter name is not known to the plugin it was given to.
    #[error("unknown parameter `{0}`")]
    UnknownParameter(String),

    /// A parameter value has the wrong type.
    #[error("parameter `{name}` must be of kind {expected}")]
    ParameterType {
        /// Parameter name.
        name: String,
        /// The kind the parameter requires.
        expected: String,
    },

    /// A plugin was given the wrong number of input arrays.
    #[error("expected {expected} input array(s), got {found}")]
    InputCount {
        /// Number of inputs the plugin needs.
        expected: usize,
        /// Number of inputs given.
        found: usize,
    },

    /// An input has the wrong number of dimensions.
    #[error("expected a {expected}-dimensional array, got {found} dimension(s)")]
    Dimension {
        /// Required number of dimensions.
        expected: usize,
        /// Number of dimensions given.
        found: usize,
    },

    /// One element of a batch failed; `source` tells why.
    #[error("batch element {index}: {source}")]
    InBatch {
        /// Index of the failing element along the batch axis.
        index: usize,
        /// The underlying error.
        source: Box<ComputeError>,
    },

    /// No plugin of that name is registered.
    #[error("no plugin named `{0}`")]
    UnknownPlugin(String),
}

impl ComputeError {
    /// Shorthand for [`ComputeError::InvalidParameter`].
    pub(crate) fn invalid(name: &str, reason: impl Into<String>) -> Self {
        ComputeError::InvalidParameter {
            name: name.to_owned(),
            reason: reason.into(),
        }
    }
}

/// Checks that every element is finite; returns the first offending index.
pub(crate) fn check_finite<'a>(
    values: impl IntoIterator<Item = &'a f64>,
) -> Result<(), ComputeError> {
    match values.into_iter().position(|v| !v.is_finite()) {
        Some(index) => Err(ComputeError::NonFinite { index }),
        None => Ok(()),
    }
}

/// Checks that an array is not empty.
pub(crate) fn check_nonempty(len: usize) -> Result<(), ComputeError> {
    if len == 0 {
        Err(ComputeError::EmptyInput)
    } else {
        Ok(())
    }
}
