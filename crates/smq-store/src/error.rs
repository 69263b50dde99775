use std::path::PathBuf;
use std::sync::Arc;

/// Everything that can go wrong in the store; every message names the path, run or dataset.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A file system operation failed.
    #[error("{path}: {source}")]
    Io {
        /// The file or directory concerned.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// A `zarr.json` could not be parsed or lacks a required field.
    #[error("{path}: corrupt metadata: {reason}")]
    CorruptMetadata {
        /// The metadata file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// The directory is not a store (no root group `zarr.json`).
    #[error("{0}: not a store (no root group zarr.json)")]
    NotAStore(PathBuf),
    /// The run does not exist.
    #[error("run {0:?} not found")]
    RunNotFound(String),
    /// A run of that name exists already.
    #[error("run {0:?} exists already")]
    RunExists(String),
    /// The dataset does not exist in the run.
    #[error("dataset {dataset:?} not found in run {run:?}")]
    DatasetNotFound {
        /// The run.
        run: String,
        /// The dataset.
        dataset: String,
    },
    /// A run or dataset name is not a plain name.
    #[error("invalid name {0:?}: use letters, digits, '_', '-' and '.', not starting with '.'")]
    InvalidName(String),
    /// An acquisition does not have the dataset's acquisition shape, or a dataset was
    /// reopened with another acquisition shape.
    #[error("dataset {dataset:?}: shape mismatch: expected {expected:?}, got {got:?}")]
    ShapeMismatch {
        /// The dataset.
        dataset: String,
        /// The dataset's acquisition shape.
        expected: Vec<u64>,
        /// The shape given.
        got: Vec<u64>,
    },
    /// An acquisition shape with a zero-length axis.
    #[error("dataset {dataset:?}: acquisition shape {shape:?} has an empty axis")]
    EmptyAxis {
        /// The dataset.
        dataset: String,
        /// The shape given.
        shape: Vec<u64>,
    },
    /// The dataset exists with another element type.
    #[error("dataset {dataset:?}: data type is {stored}, not {requested}")]
    DataTypeMismatch {
        /// The dataset.
        dataset: String,
        /// The type on disk.
        stored: String,
        /// The type asked for.
        requested: String,
    },
    /// An acquisition index beyond the dataset's length.
    #[error("dataset {dataset:?}: acquisition {index} out of range (length {len})")]
    OutOfRange {
        /// The dataset.
        dataset: String,
        /// The index asked for.
        index: u64,
        /// The number of acquisitions.
        len: u64,
    },
    /// The run is being written by another process, or by another [`Store`](crate::Store)
    /// opened on the same directory: a run has one writer at a time.
    #[error("run {0:?} is being written by another process or store handle")]
    RunBusy(String),
    /// A commit failed, so the store stopped writing: what was committed before stays
    /// readable, what was appended since is not stored, and every later append or commit
    /// fails with this error. `source` is the first failure, with its path and OS error.
    #[error("storing stopped after a failed write: {source}")]
    Stopped {
        /// The failure that stopped the store.
        source: Arc<Error>,
    },
    /// A dataset on disk whose chunks do not hold whole acquisitions along the first axis,
    /// so it cannot be appended to.
    #[error("dataset {dataset:?}: cannot append: {reason}")]
    UnsupportedLayout {
        /// The dataset.
        dataset: String,
        /// What the layout is.
        reason: String,
    },
    /// [`Run::save_at`](crate::Run::save_at) found the points dataset longer than its
    /// values: something else appended points, so values and points no longer pair up.
    #[error(
        "dataset {dataset:?} has {values} acquisitions but its points dataset {points}: \
         write the pair with save_at only"
    )]
    PointsAhead {
        /// The dataset of the values.
        dataset: String,
        /// Its number of acquisitions.
        values: u64,
        /// The number of points.
        points: u64,
    },
    /// The scheduler refused a save task.
    #[error("cannot submit save task: {0}")]
    Submit(String),
    /// The Zarr library reported an error.
    #[error("dataset {dataset:?}: {message}")]
    Zarr {
        /// The dataset.
        dataset: String,
        /// The library's message.
        message: String,
    },
}

/// The result type of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

pub(crate) fn io(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> Error {
    let path = path.into();
    move |source| Error::Io { path, source }
}

pub(crate) fn zarr(dataset: &str) -> impl FnOnce(String) -> Error + '_ {
    move |message| Error::Zarr {
        dataset: dataset.to_owned(),
        message,
    }
}
