//! Dense linear algebra on ndarray matrices, computed with `faer`.

use faer::Mat;
use faer::linalg::solvers::{DenseSolveCore, PartialPivLu, Solve};
use ndarray::{Array1, Array2, Array3, ArrayBase, Axis, Data, Ix1, Ix2, Ix3};

use crate::error::{ComputeError, check_finite, check_nonempty};

/// Converts a square, finite, non-empty ndarray matrix to a faer matrix.
fn to_faer_square<S>(a: &ArrayBase<S, Ix2>) -> Result<Mat<f64>, ComputeError>
where
    S: Data<Elem = f64>,
{
    let (rows, cols) = a.dim();
    check_nonempty(a.len())?;
    if rows != cols {
        return Err(ComputeError::NotSquare { rows, cols });
    }
    check_finite(a.iter())?;
    Ok(Mat::from_fn(rows, cols, |i, j| a[[i, j]]))
}

/// LU factorization with partial pivoting, rejecting numerically singular
/// matrices: a pivot of magnitude at most `n · ε · max|pivot|` (or any pivot
/// that is exactly zero) counts as singular.
fn factor(m: &Mat<f64>) -> Result<PartialPivLu<f64>, ComputeError> {
    let n = m.nrows();
    let lu = m.partial_piv_lu();
    let u = lu.U();
    let mut max_pivot = 0.0_f64;
    let mut min_pivot = f64::INFINITY;
    for i in 0..n {
        let p = u[(i, i)].abs();
        max_pivot = max_pivot.max(p);
        min_pivot = min_pivot.min(p);
    }
    let tol = n as f64 * f64::EPSILON * max_pivot;
    if !min_pivot.is_finite() || min_pivot <= tol || max_pivot == 0.0 {
        return Err(ComputeError::Singular);
    }
    Ok(lu)
}

fn finite_result(m: Array2<f64>) -> Result<Array2<f64>, ComputeError> {
    if m.iter().all(|v| v.is_finite()) {
        Ok(m)
    } else {
        Err(ComputeError::Singular)
    }
}

/// Inverse of a square matrix (LU with partial pivoting).
///
/// # Errors
///
/// [`ComputeError::EmptyInput`], [`ComputeError::NotSquare`],
/// [`ComputeError::NonFinite`], and [`ComputeError::Singular`] for singular
/// or numerically singular matrices.
///
/// # Examples
///
/// ```
/// use ndarray::array;
/// use smq_compute::inverse;
///
/// let a = array![[4.0, 7.0], [2.0, 6.0]];
/// let inv = inverse(&a)?;
/// let expected = array![[0.6, -0.7], [-0.2, 0.4]];
/// assert!(inv.iter().zip(&expected).all(|(x, y)| (x - y).abs() < 1e-12));
/// assert!(inverse(&array![[1.0, 2.0], [2.0, 4.0]]).is_err());
/// # Ok::<(), smq_compute::ComputeError>(())
/// ```
pub fn inverse<S>(a: &ArrayBase<S, Ix2>) -> Result<Array2<f64>, ComputeError>
where
    S: Data<Elem = f64>,
{
    let m = to_faer_square(a)?;
    let lu = factor(&m)?;
    let inv = lu.inverse();
    let n = m.nrows();
    finite_result(Array2::from_shape_fn((n, n), |(i, j)| inv[(i, j)]))
}

/// Inverts every matrix of a stack: `B[i] = inv(A[i])` for `A` of shape
/// `(batch, n, n)`.
///
/// # Errors
///
/// [`ComputeError::EmptyInput`] for an empty stack; otherwise the first
/// failing matrix is reported as [`ComputeError::InBatch`] with its index and
/// the error of [`inverse`].
///
/// # Examples
///
/// ```
/// use ndarray::array;
/// use smq_compute::{inverse_batch, ComputeError};
///
/// let a = array![[[2.0, 0.0], [0.0, 4.0]], [[1.0, 0.0], [0.0, 1.0]]];
/// let b = inverse_batch(&a)?;
/// assert_eq!(b[[0, 1, 1]], 0.25);
///
/// let bad = array![[[1.0, 0.0], [0.0, 1.0]], [[1.0, 1.0], [1.0, 1.0]]];
/// assert!(matches!(inverse_batch(&bad), Err(ComputeError::InBatch { index: 1, .. })));
/// # Ok::<(), smq_compute::ComputeError>(())
/// ```
pub fn inverse_batch<S>(a: &ArrayBase<S, Ix3>) -> Result<Array3<f64>, ComputeError>
where
    S: Data<Elem = f64>,
{
    check_nonempty(a.len())?;
    let mut out = Array3::zeros(a.raw_dim());
    for (index, (src, mut dst)) in a.outer_iter().zip(out.outer_iter_mut()).enumerate() {
        let inv = inverse(&src).map_err(|e| ComputeError::InBatch {
            index,
            source: Box::new(e),
        })?;
        dst.assign(&inv);
    }
    Ok(out)
}

/// Solves the square system `A x = b`.
///
/// # Errors
///
/// As for [`inverse`], plus [`ComputeError::ShapeMismatch`] when `b` does not
/// have one entry per row of `A`.
///
/// # Examples
///
/// ```
/// use ndarray::array;
/// use smq_compute::solve;
/// let x = solve(&array![[2.0, 1.0], [1.0, 3.0]], &array![3.0, 5.0])?;
/// assert!((x[0] - 0.8).abs() < 1e-12 && (x[1] - 1.4).abs() < 1e-12);
/// # Ok::<(), smq_compute::ComputeError>(())
/// ```
pub fn solve<S1, S2>(
    a: &ArrayBase<S1, Ix2>,
    b: &ArrayBase<S2, Ix1>,
) -> Result<Array1<f64>, ComputeError>
where
    S1: Data<Elem = f64>,
    S2: Data<Elem = f64>,
{
    let m = to_faer_square(a)?;
    if b.len() != m.nrows() {
        return Err(ComputeError::ShapeMismatch {
            expected: vec![m.nrows()],
            found: b.shape().to_vec(),
        });
    }
    check_finite(b.iter())?;
    let lu = factor(&m)?;
    let rhs = Mat::from_fn(b.len(), 1, |i, _| b[i]);
    let x = lu.solve(&rhs);
    let out: Array1<f64> = (0..b.len()).map(|i| x[(i, 0)]).collect();
    if out.iter().all(|v| v.is_finite()) {
        Ok(out)
    } else {
        Err(ComputeError::Singular)
    }
}

/// Matrix product `A · B` of two stacks along the first axis, a convenience
/// for checking `A[i] · inv(A[i]) ≈ I`.
///
/// # Errors
///
/// [`ComputeError::ShapeMismatch`] when the stacks do not conform.
///
/// # Examples
///
/// ```
/// use ndarray::array;
/// use smq_compute::{batch_matmul, inverse_batch};
/// let a = array![[[2.0, 1.0], [1.0, 1.0]]];
/// let id = batch_matmul(&a, &inverse_batch(&a)?)?;
/// assert!((id[[0, 0, 0]] - 1.0).abs() < 1e-12 && id[[0, 0, 1]].abs() < 1e-12);
/// # Ok::<(), smq_compute::ComputeError>(())
/// ```
pub fn batch_matmul<S1, S2>(
    a: &ArrayBase<S1, Ix3>,
    b: &ArrayBase<S2, Ix3>,
) -> Result<Array3<f64>, ComputeError>
where
    S1: Data<Elem = f64>,
    S2: Data<Elem = f64>,
{
    let (na, _, ka) = a.dim();
    let (nb, kb, mb) = b.dim();
    if na != nb || ka != kb {
        return Err(ComputeError::ShapeMismatch {
            expected: vec![na, ka, mb],
            found: b.shape().to_vec(),
        });
    }
    let mut out = Array3::zeros((na, a.len_of(Axis(1)), mb));
    for ((x, y), mut z) in a.outer_iter().zip(b.outer_iter()).zip(out.outer_iter_mut()) {
        z.assign(&x.dot(&y));
    }
    Ok(out)
}
