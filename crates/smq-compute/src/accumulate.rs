//! Streaming accumulation of many acquisitions in constant memory.

use ndarray::{ArrayBase, ArrayD, Data, Dimension, IxDyn, Zip};

use crate::error::{ComputeError, check_finite, check_nonempty};

/// Running mean and variance of a stream of equally shaped arrays.
///
/// Memory use is two arrays of the frame shape, whatever the number of
/// frames pushed. The update is Welford's algorithm, numerically stable even
/// when the mean is large compared with the spread. Two accumulators filled on
/// different threads can be combined with [`Accumulator::merge`].
///
/// The first frame pushed fixes the shape (unless [`Accumulator::with_shape`]
/// was used); later frames of another shape are rejected with
/// [`ComputeError::ShapeMismatch`], frames containing NaN or infinities with
/// [`ComputeError::NonFinite`]; a rejected frame leaves the accumulator
/// unchanged.
///
/// # Examples
///
/// ```
/// use ndarray::array;
/// use smq_compute::Accumulator;
///
/// let mut acc = Accumulator::new();
/// acc.push(&array![1.0, 10.0])?;
/// acc.push(&array![3.0, 20.0])?;
/// assert_eq!(acc.count(), 2);
/// assert_eq!(acc.mean()?.as_slice().unwrap(), &[2.0, 15.0]);
/// assert_eq!(acc.variance(0)?.as_slice().unwrap(), &[1.0, 25.0]);
/// assert!(acc.push(&array![1.0, 2.0, 3.0]).is_err()); // wrong shape
/// # Ok::<(), smq_compute::ComputeError>(())
/// ```
#[derive(Debug, Clone, Default)]
pub struct Accumulator {
    count: u64,
    shape: Option<Vec<usize>>,
    mean: Option<ArrayD<f64>>,
    m2: Option<ArrayD<f64>>,
}

impl Accumulator {
    /// An empty accumulator whose shape is fixed by the first frame pushed.
    ///
    /// # Examples
    ///
    /// ```
    /// let acc = smq_compute::Accumulator::new();
    /// assert_eq!(acc.count(), 0);
    /// assert!(acc.mean().is_err());
    /// ```
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty accumulator that only accepts frames of `shape`.
    ///
    /// # Examples
    ///
    /// ```
    /// use ndarray::array;
    /// let mut acc = smq_compute::Accumulator::with_shape(&[3]);
    /// assert!(acc.push(&array![1.0, 2.0]).is_err());
    /// assert!(acc.push(&array![1.0, 2.0, 3.0]).is_ok());
    /// ```
    pub fn with_shape(shape: &[usize]) -> Self {
        Self {
            shape: Some(shape.to_vec()),
            ..Self::default()
        }
    }

    /// Number of frames accumulated so far.
    ///
    /// # Examples
    ///
    /// ```
    /// use ndarray::array;
    /// let mut acc = smq_compute::Accumulator::new();
    /// acc.push(&array![1.0]).unwrap();
    /// assert_eq!(acc.count(), 1);
    /// ```
    pub fn count(&self) -> u64 {
        self.count
    }

    /// The frame shape, once known.
    ///
    /// # Examples
    ///
    /// ```
    /// use ndarray::array;
    /// let mut acc = smq_compute::Accumulator::new();
    /// assert_eq!(acc.shape(), None);
    /// acc.push(&array![[1.0, 2.0]]).unwrap();
    /// assert_eq!(acc.shape(), Some(&[1, 2][..]));
    /// ```
    pub fn shape(&self) -> Option<&[usize]> {
        self.shape.as_deref()
    }

    fn check_shape(&self, found: &[usize]) -> Result<(), ComputeError> {
        match &self.shape {
            Some(expected) if expected.as_slice() != found => Err(ComputeError::ShapeMismatch {
                expected: expected.clone(),
                found: found.to_vec(),
            }),
            _ => Ok(()),
        }
    }

    /// Adds one frame.
    ///
    /// # Errors
    ///
    /// [`ComputeError::EmptyInput`] for a frame with no elements,
    /// [`ComputeError::ShapeMismatch`] for a frame of another shape,
    /// [`ComputeError::NonFinite`] for a frame containing NaN or infinities.
    ///
    /// # Examples
    ///
    /// ```
    /// use ndarray::array;
    /// let mut acc = smq_compute::Accumulator::new();
    /// for k in 0..4 {
    ///     acc.push(&array![k as f64])?;
    /// }
    /// assert_eq!(acc.mean()?[[0]], 1.5);
    /// # Ok::<(), smq_compute::ComputeError>(())
    /// ```
    pub fn push<S, D>(&mut self, frame: &ArrayBase<S, D>) -> Result<(), ComputeError>
    where
        S: Data<Elem = f64>,
        D: Dimension,
    {
        check_nonempty(frame.len())?;
        self.check_shape(frame.shape())?;
        check_finite(frame.iter())?;
        let frame = frame.view().into_dyn();
        self.count += 1;
        match (&mut self.mean, &mut self.m2) {
            (Some(mean), Some(m2)) => {
                let inv_n = 1.0 / self.count as f64;
                let update = |mean: &mut f64, m2: &mut f64, x: f64| {
                    let delta = x - *mean;
                    *mean += delta * inv_n;
                    *m2 += delta * (x - *mean);
                };
                // Fast path for the common case of contiguous row-major frames.
                if let (Some(ms), Some(qs), Some(xs)) =
                    (mean.as_slice_mut(), m2.as_slice_mut(), frame.as_slice())
                {
                    for ((m, q), &x) in ms.iter_mut().zip(qs.iter_mut()).zip(xs) {
                        update(m, q, x);
                    }
                } else {
                    Zip::from(mean)
                        .and(m2)
                        .and(&frame)
                        .for_each(|m, q, &x| update(m, q, x));
                }
            }
            _ => {
                self.shape = Some(frame.shape().to_vec());
                self.mean = Some(frame.to_owned());
                self.m2 = Some(ArrayD::zeros(IxDyn(frame.shape())));
            }
        }
        Ok(())
    }

    /// Combines another accumulator into this one (Chan et al.'s parallel
    /// update), as if all of its frames had been pushed here.
    ///
    /// # Examples
    ///
    /// ```
    /// use ndarray::array;
    /// use smq_compute::Accumulator;
    /// let (mut a, mut b) = (Accumulator::new(), Accumulator::new());
    /// a.push(&array![1.0])?;
    /// b.push(&array![3.0])?;
    /// b.push(&array![5.0])?;
    /// a.merge(&b)?;
    /// assert_eq!(a.count(), 3);
    /// assert_eq!(a.mean()?[[0]], 3.0);
    /// # Ok::<(), smq_compute::ComputeError>(())
    /// ```
    pub fn merge(&mut self, other: &Accumulator) -> Result<(), ComputeError> {
        let (Some(other_mean), Some(other_m2), Some(other_shape)) =
            (&other.mean, &other.m2, &other.shape)
        else {
            return Ok(());
        };
        self.check_shape(other_shape)?;
        match (&mut self.mean, &mut self.m2) {
            (Some(mean), Some(m2)) => {
                let (na, nb) = (self.count as f64, other.count as f64);
                let n = na + nb;
                Zip::from(mean)
                    .and(m2)
                    .and(other_mean)
                    .and(other_m2)
                    .for_each(|mean, m2, &mb, &m2b| {
                        let delta = mb - *mean;
                        *mean += delta * nb / n;
                        *m2 += m2b + delta * delta * na * nb / n;
                    });
                self.count += other.count;
            }
            _ => *self = other.clone(),
        }
        Ok(())
    }

    /// The element-wise mean of all frames pushed.
    ///
    /// # Errors
    ///
    /// [`ComputeError::EmptyInput`] when nothing was pushed yet.
    ///
    /// # Examples
    ///
    /// ```
    /// use ndarray::array;
    /// let mut acc = smq_compute::Accumulator::new();
    /// acc.push(&array![[1.0, 2.0], [3.0, 4.0]])?;
    /// acc.push(&array![[3.0, 2.0], [1.0, 0.0]])?;
    /// assert_eq!(acc.mean()?, array![[2.0, 2.0], [2.0, 2.0]].into_dyn());
    /// # Ok::<(), smq_compute::ComputeError>(())
    /// ```
    pub fn mean(&self) -> Result<ArrayD<f64>, ComputeError> {
        self.mean.clone().ok_or(ComputeError::EmptyInput)
    }

    /// The element-wise variance with `ddof` delta degrees of freedom
    /// (0: population, 1: sample variance).
    ///
    /// # Errors
    ///
    /// [`ComputeError::EmptyInput`] when nothing was pushed yet,
    /// [`ComputeError::InvalidParameter`] when `ddof >= count`.
    ///
    /// # Examples
    ///
    /// ```
    /// use ndarray::array;
    /// let mut acc = smq_compute::Accumulator::new();
    /// acc.push(&array![1.0])?;
    /// acc.push(&array![3.0])?;
    /// assert_eq!(acc.variance(1)?[[0]], 2.0);
    /// assert!(acc.variance(2).is_err());
    /// # Ok::<(), smq_compute::ComputeError>(())
    /// ```
    pub fn variance(&self, ddof: u64) -> Result<ArrayD<f64>, ComputeError> {
        let m2 = self.m2.as_ref().ok_or(ComputeError::EmptyInput)?;
        if ddof >= self.count {
            return Err(ComputeError::invalid(
                "ddof",
                format!("must be smaller than the number of frames ({})", self.count),
            ));
        }
        let d = (self.count - ddof) as f64;
        Ok(m2.mapv(|v| (v / d).max(0.0)))
    }

    /// The element-wise standard deviation, square root of
    /// [`Accumulator::variance`].
    ///
    /// # Examples
    ///
    /// ```
    /// use ndarray::array;
    /// let mut acc = smq_compute::Accumulator::new();
    /// acc.push(&array![0.0])?;
    /// acc.push(&array![4.0])?;
    /// assert_eq!(acc.std(0)?[[0]], 2.0);
    /// # Ok::<(), smq_compute::ComputeError>(())
    /// ```
    pub fn std(&self, ddof: u64) -> Result<ArrayD<f64>, ComputeError> {
        Ok(self.variance(ddof)?.mapv(f64::sqrt))
    }

    /// Forgets all frames (the fixed shape, if any, is kept).
    ///
    /// # Examples
    ///
    /// ```
    /// use ndarray::array;
    /// let mut acc = smq_compute::Accumulator::new();
    /// acc.push(&array![1.0])?;
    /// acc.reset();
    /// assert_eq!(acc.count(), 0);
    /// # Ok::<(), smq_compute::ComputeError>(())
    /// ```
    pub fn reset(&mut self) {
        self.count = 0;
        self.mean = None;
        self.m2 = None;
    }
}

/// Mean over the first axis of a stack of frames (`stack[k, ...]` is frame
/// `k`), a one-shot version of [`Accumulator`].
///
/// # Examples
///
/// ```
/// use ndarray::array;
/// let stack = array![[1.0, 2.0], [3.0, 6.0]];
/// assert_eq!(smq_compute::average_frames(&stack)?, array![2.0, 4.0].into_dyn());
/// # Ok::<(), smq_compute::ComputeError>(())
/// ```
pub fn average_frames<S, D>(stack: &ArrayBase<S, D>) -> Result<ArrayD<f64>, ComputeError>
where
    S: Data<Elem = f64>,
    D: Dimension,
{
    let stack = stack.view().into_dyn();
    if stack.ndim() == 0 {
        return Err(ComputeError::Dimension {
            expected: 1,
            found: 0,
        });
    }
    let mut acc = Accumulator::new();
    for frame in stack.outer_iter() {
        acc.push(&frame)?;
    }
    acc.mean()
}
