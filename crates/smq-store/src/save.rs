//! Saving promised results through the scheduler.

use std::borrow::Cow;

use ndarray::{ArrayBase, Data, Dimension};
use smqsched::{Promise, Queue};

use crate::dataset::append_pair;
use crate::info::points_name;
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
    /// does not exist; it reaches the disk with the next commit); returns the acquisition's
    /// index.
    ///
    /// # Errors
    ///
    /// As [`Run::dataset`] and [`Dataset::append`](crate::Dataset::append).
    pub fn append<V: Record>(&self, name: &str, value: &V) -> Result<u64> {
        let shape = value.shape();
        self.writer::<V::Elem>(name, Some(&shape))?
            .append_raw(&shape, &value.elements())
    }

    /// Save a promised result: submit on `queue` a task, labelled `save:<name>`, that takes
    /// `promise` as input and appends its value to the dataset `name` (see
    /// [`append`](Self::append)). The task only copies the value into the store's memory
    /// and returns: the store's writer thread writes it with the next commit, so the disk
    /// never holds a slot of `queue` (unless the store commits every append; then the task
    /// waits for its commit). The returned promise holds the acquisition's index, or fails
    /// with the store's error message (e.g. after a failed commit); if `promise` fails, the
    /// save fails as a dependent and nothing is written. Appends to one dataset are serialized, in the order
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
        points_name(dataset)
    }

    /// Save a promised result as the acquisition of scan point `point`: like
    /// [`save`](Self::save), and the point's number is appended to the `u64` dataset
    /// [`points_of(name)`](Self::points_of) at the same index. The scheduler runs the newest
    /// tasks first and values are appended as they become ready, so acquisition `i` of
    /// `name` belongs to point `name_point[i]`, whatever order the points were taken in.
    ///
    /// A value and its point are appended as one step (under both datasets' locks, on a
    /// disk queue of any number of slots) and committed together: the points dataset is
    /// published after its values in every commit, so the number of committed points is
    /// the pair's committed length. Readers of this crate trim `name` to it; a reader of
    /// its own should read `name[: len(name_point)]` (see the crate docs). Both datasets
    /// are checked before anything is appended, so a points dataset of the wrong type or
    /// shape fails the save with nothing written.
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
        queue
            .task()
            .label(format!("save:{name}"))
            .submit_result(promise, move |v: &V| run.append_at(&dataset, point, v))
            .map_err(|e| Error::Submit(e.to_string()))
    }

    /// Append `value` to the dataset `name` as the acquisition of scan point `point`, and
    /// the point to [`points_of(name)`](Self::points_of) at the same index, as one step:
    /// what [`save_at`](Self::save_at) does when the value is ready. Returns the index.
    ///
    /// ```
    /// # let dir = tempfile::tempdir()?;
    /// let store = smq_store::Store::create(dir.path())?;
    /// let run = store.create_run("scan", "demo", serde_json::json!({}))?;
    /// assert_eq!(run.append_at("reading", 7, &1.5f64)?, 0);
    /// assert_eq!(run.append_at("reading", 3, &2.5f64)?, 1);
    /// run.commit()?;
    /// let again = smq_store::Store::open(dir.path())?.open_run("scan")?;
    /// assert_eq!(again.read::<u64>("reading_point")?.as_slice(), Some(&[7, 3][..]));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    ///
    /// As [`append`](Self::append), for either dataset; [`Error::PointsAhead`] if the
    /// points dataset holds more points than `name` values.
    pub fn append_at<V: Record>(&self, name: &str, point: u64, value: &V) -> Result<u64> {
        // Both opened first: the pair is then appended under the datasets' own locks only
        // (points, then values), never the store's table of open datasets.
        let shape = value.shape();
        let values = self.writer::<V::Elem>(name, Some(&shape))?;
        let points = self.writer::<u64>(&Self::points_of(name), Some(&[]))?;
        values.pair_with(&points)?;
        append_pair(&values, &points, &shape, &value.elements(), point)
    }
}
