//! Saving promised results through the scheduler.

use std::borrow::Cow;

use ndarray::{ArrayBase, Data, Dimension};
use smqsched::{Promise, Queue};

use crate::{Element, Error, Result, Run};

/// A value that can be appended to a dataset as one acquisition: a scalar element, a
/// `Vec` of elements (one-dimensional) or an ndarray array of any dimension.
pub trait Record: Send + Sync + 'static {
    /// The element type of the dataset.
    type Elem: Element;
    /// The acquisition shape (`[]` for a scalar).
    fn shape(&self) -> Vec<u64>;
    /// The elements in row-major order.
    fn elements(&self) -> Cow<'_, [Self::Elem]>;
}

macro_rules! scalar_record {
    ($($t:ty),*) => {$(
        impl Record for $t {
            type Elem = $t;
            fn shape(&self) -> Vec<u64> {
                Vec::new()
            }
            fn elements(&self) -> Cow<'_, [$t]> {
                Cow::Borrowed(std::slice::from_ref(self))
            }
        }
    )*};
}
scalar_record!(f64, f32, i64, i32, i16, u64, u16, u8);

impl<E: Element> Record for Vec<E> {
    type Elem = E;
    fn shape(&self) -> Vec<u64> {
        vec![self.len() as u64]
    }
    fn elements(&self) -> Cow<'_, [E]> {
        Cow::Borrowed(self)
    }
}

impl<E, S, D> Record for ArrayBase<S, D>
where
    E: Element,
    S: Data<Elem = E> + Send + Sync + 'static,
    D: Dimension + 'static,
{
    type Elem = E;
    fn shape(&self) -> Vec<u64> {
        self.shape().iter().map(|&n| n as u64).collect()
    }
    fn elements(&self) -> Cow<'_, [E]> {
        match self.as_slice() {
            Some(s) => Cow::Borrowed(s),
            None => Cow::Owned(self.iter().copied().collect()),
        }
    }
}

impl Run {
    /// Append a value to the dataset `name` (created from the value's shape and type if it
    /// does not exist) and make it durable; returns the acquisition's index.
    ///
    /// # Errors
    ///
    /// As [`Run::dataset`] and [`Dataset::append`](crate::Dataset::append).
    pub fn append<V: Record>(&self, name: &str, value: &V) -> Result<u64> {
        let shape = value.shape();
        self.dataset_u64::<V::Elem>(name, Some(&shape))?
            .append_raw(&shape, &value.elements())
    }

    /// Save a promised result: submit on `queue` a task, labelled `save:<name>`, that takes
    /// `promise` as input and appends its value to the dataset `name` (see
    /// [`append`](Self::append)). The returned promise holds the acquisition's index, or
    /// fails with the store's error message; if `promise` fails, the save fails as a
    /// dependent and nothing is written. Appends to one dataset are serialized, in the order
    /// the values become ready (not necessarily the order of submission: the scheduler runs
    /// the newest tasks first). A dataset that does not exist is created from the first
    /// value saved; create it with [`Run::dataset`] beforehand to fix its shape.
    ///
    /// ```
    /// # let dir = std::env::temp_dir().join(format!("smq-store-doc-save-{}", std::process::id()));
    /// use ndarray::Array1;
    /// use smqsched::Scheduler;
    ///
    /// let store = smq_store::Store::create(&dir)?;
    /// let run = store.create_run("scan", "demo", serde_json::json!({}))?;
    /// let sch = Scheduler::new();
    /// let scope = sch.queue("scope", 1).unwrap();
    /// let disk = sch.queue("disk", 1).unwrap();
    /// let mut saved = Vec::new();
    /// for i in 0..5 {
    ///     let trace = scope.submit((), move |()| Array1::from_elem(16, i as f64));
    ///     let mean = scope.submit(&trace, |t: &Array1<f64>| t.mean().unwrap_or(0.0));
    ///     saved.push(run.save(&disk, "waveforms", &trace)?);
    ///     saved.push(run.save(&disk, "means", &mean)?);
    /// }
    /// sch.start();
    /// for s in &saved {
    ///     s.result().unwrap();
    /// }
    /// assert_eq!(run.read::<f64>("waveforms")?.shape(), &[5, 16]);
    /// assert_eq!(run.read::<f64>("means")?.len(), 5);
    /// # std::fs::remove_dir_all(&dir).ok();
    /// # Ok::<(), smq_store::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::Submit`] if the queue refuses the task.
    pub fn save<V: Record>(
        &self,
        queue: &Queue,
        name: &str,
        promise: &Promise<V>,
    ) -> Result<Promise<u64>> {
        let run = self.clone();
        let dataset = name.to_owned();
        queue
            .task()
            .label(format!("save:{name}"))
            .submit_result(promise, move |v: &V| run.append(&dataset, v))
            .map_err(|e| Error::Submit(e.to_string()))
    }

    /// The name of the dataset that [`save_at`](Self::save_at) keeps beside `dataset`: the
    /// point of each of its acquisitions.
    ///
    /// ```
    /// assert_eq!(smq_store::Run::points_of("waveform"), "waveform_point");
    /// ```
    pub fn points_of(dataset: &str) -> String {
        format!("{dataset}_point")
    }

    /// Save a promised result as the acquisition of scan point `point`: like
    /// [`save`](Self::save), and the point's number is written to the `u64` dataset
    /// [`points_of(name)`](Self::points_of) at the same index, right after the value. The
    /// scheduler runs the newest tasks first and values are appended as they become ready,
    /// so acquisition `i` of `name` belongs to point `name_point[i]`, whatever order the
    /// points were taken in. This holds on a disk queue of any number of slots: a value and
    /// its point are written as a pair, under the points dataset's lock, and the point goes
    /// to its value's index.
    ///
    /// The value and its point are still two writes. The points dataset is opened (and
    /// checked) before the value is written, so a points dataset of the wrong type or shape
    /// fails the save with nothing written. If writing the point fails after the value was
    /// stored, the save fails with [`Error::PointNotStored`], which names the index. After a
    /// crash between the two writes, `name` holds one acquisition more than `name_point`:
    /// pair acquisition `i` with `name_point[i]` for `i` below the length of `name_point`.
    ///
    /// ```
    /// # let dir = std::env::temp_dir().join(format!("smq-store-doc-save-at-{}", std::process::id()));
    /// use smqsched::Scheduler;
    ///
    /// let store = smq_store::Store::create(&dir)?;
    /// let run = store.create_run("scan", "demo", serde_json::json!({}))?;
    /// let sch = Scheduler::new();
    /// let disk = sch.queue("disk", 1).unwrap();
    /// let mut saved = Vec::new();
    /// for point in 0..4u64 {
    ///     let reading = disk.submit((), move |()| 10.0 * point as f64);
    ///     saved.push(run.save_at(&disk, "reading", point, &reading)?);
    /// }
    /// sch.start();
    /// for s in &saved {
    ///     s.result().unwrap();
    /// }
    /// // Taken newest first, stored as they came, and paired with their points.
    /// let values = run.read::<f64>("reading")?;
    /// let points = run.read::<u64>(&smq_store::Run::points_of("reading"))?;
    /// assert_eq!(points.as_slice(), Some(&[3, 2, 1, 0][..]));
    /// for (v, p) in values.iter().zip(points.iter()) {
    ///     assert_eq!(*v, 10.0 * *p as f64);
    /// }
    /// # std::fs::remove_dir_all(&dir).ok();
    /// # Ok::<(), smq_store::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::Submit`] if the queue refuses the task.
    pub fn save_at<V: Record>(
        &self,
        queue: &Queue,
        name: &str,
        point: u64,
        promise: &Promise<V>,
    ) -> Result<Promise<u64>> {
        let run = self.clone();
        let dataset = name.to_owned();
        let points = Self::points_of(name);
        queue
            .task()
            .label(format!("save:{name}"))
            .submit_result(promise, move |v: &V| {
                // Both opened first: the pair is then written under the datasets' own locks
                // only (points, then values), never the store's table of open datasets.
                let shape = v.shape();
                let values = run.dataset_u64::<V::Elem>(&dataset, Some(&shape))?;
                let points = run.dataset_u64::<u64>(&points, Some(&[]))?;
                points
                    .write_paired(|| values.append_raw(&shape, &v.elements()), point)
                    .map_err(|(index, e)| match index {
                        Some(index) => Error::PointNotStored {
                            dataset: dataset.clone(),
                            index,
                            source: Box::new(e),
                        },
                        None => e,
                    })
            })
            .map_err(|e| Error::Submit(e.to_string()))
    }
}
