//! Growable datasets: appended in memory, committed to disk in groups (see `commit`).
//!
//! A dataset is a Zarr v3 array of shape `[n, s…]`, where `s…` is the acquisition shape
//! and `n` the number of acquisitions committed; its chunks hold `k` whole acquisitions
//! each (chunk shape `[k, s…]`, `k` chosen so that a chunk is about 1 MiB). An append
//! copies the acquisition into the dataset's in-memory tail and returns its index; the
//! next commit writes it.

use std::marker::PhantomData;
use std::ops::Range;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, PoisonError};

use ndarray::{ArrayD, ArrayViewD, IxDyn};
use serde_json::Value;
use zarrs::array::{Array, ArrayBuilder};
use zarrs::array_subset::ArraySubset;
use zarrs::filesystem::FilesystemStore;

use crate::Element;
use crate::commit;
use crate::error::{Error, Result, zarr};
use crate::fsutil::read_json;
use crate::info::parse_array_meta;
use crate::options::Compression;
use crate::store::Shared;

/// Whether chunks of this array are its elements' bytes in this machine's order, with
/// nothing else: then a commit writes new acquisitions in place, after the committed ones.
fn plain_bytes(meta: &Value) -> bool {
    let Some([codec]) = meta
        .get("codecs")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
    else {
        return false;
    };
    let native = if cfg!(target_endian = "little") {
        "little"
    } else {
        "big"
    };
    codec.get("name").and_then(Value::as_str) == Some("bytes")
        && codec
            .get("configuration")
            .and_then(|c| c.get("endian"))
            .and_then(Value::as_str)
            .is_none_or(|e| e == native)
}

/// A dataset's writer state, behind its [`Cell`]'s mutex.
pub(crate) struct Inner {
    pub(crate) name: String,
    /// `<store>/<run>/<name>`.
    pub(crate) dir: PathBuf,
    /// The store's directory, which chunk keys are relative to.
    pub(crate) root: PathBuf,
    /// The Zarr node path `/<run>/<name>`.
    pub(crate) node: String,
    /// The array's layout (chunk keys, codecs); its shape is not kept up to date.
    pub(crate) array: Array<FilesystemStore>,
    /// The `zarr.json` as last written (or to be written), shape included.
    pub(crate) meta: Value,
    pub(crate) acq_shape: Vec<u64>,
    /// Bytes of one acquisition.
    pub(crate) acq_bytes: usize,
    /// Acquisitions per chunk.
    pub(crate) chunk_acqs: u64,
    /// Chunks are plain bytes (see [`plain_bytes`]): new acquisitions are written in place.
    pub(crate) plain: bool,
    /// Acquisitions appended (committed or not).
    pub(crate) len: u64,
    /// Acquisitions committed: the length in the `zarr.json` on disk.
    pub(crate) committed: u64,
    /// Whether the array's `zarr.json` exists on disk.
    pub(crate) on_disk: bool,
    /// The first acquisition held in `buf`: `committed` for plain chunks, else the start of
    /// the chunk holding `committed` (which a commit encodes and writes whole again).
    pub(crate) buf_start: u64,
    /// The bytes, in this machine's order, of acquisitions `buf_start..len`.
    pub(crate) buf: Vec<u8>,
    /// Plain chunks: the bytes of acquisitions `committed..buf_start`, handed to the
    /// commit in progress (taken from `buf` without a copy), until it has published them.
    pub(crate) flight: Option<Arc<Vec<u8>>>,
}

/// A dataset's writer, shared by its handles and the commits.
pub(crate) struct Cell {
    inner: Mutex<Inner>,
    /// The dataset holding the scan point of each acquisition (see
    /// [`Run::save_at`](crate::Run::save_at)), once known. Its commits follow this one's.
    pub(crate) points: OnceLock<Arc<Cell>>,
    /// Whether this dataset holds the points of another (then it has no points itself).
    is_points: AtomicBool,
}

impl Cell {
    pub(crate) fn new(inner: Inner) -> Self {
        Self {
            inner: Mutex::new(inner),
            points: OnceLock::new(),
            is_points: AtomicBool::new(false),
        }
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Inner {
    /// The writer of dataset `name` of run `run`: opened if it exists on disk, else created
    /// in memory when `acq_shape` is given (it reaches the disk with the next commit), else
    /// [`Error::DatasetNotFound`]. An existing dataset must hold `T` and, if given,
    /// acquisitions of shape `acq_shape`.
    pub(crate) fn open<T: Element>(
        shared: &Shared,
        run: &str,
        name: &str,
        acq_shape: Option<&[u64]>,
    ) -> Result<Self> {
        let root = shared.root.clone();
        let dir = root.join(run).join(name);
        let meta_path = dir.join("zarr.json");
        let node = format!("/{run}/{name}");
        let zarr_err = |e: &dyn std::fmt::Display| zarr(name)(e.to_string());
        let elem = std::mem::size_of::<T>();
        if meta_path.exists() {
            let meta = read_json(&meta_path)?;
            let (dt, shape) = parse_array_meta(&meta_path, &meta)?;
            if dt != T::ZARR_NAME {
                return Err(Error::DataTypeMismatch {
                    dataset: name.to_owned(),
                    stored: dt,
                    requested: T::ZARR_NAME.to_owned(),
                });
            }
            let stored_acq = shape[1..].to_vec();
            if let Some(acq) = acq_shape.filter(|acq| *acq != stored_acq) {
                return Err(Error::ShapeMismatch {
                    dataset: name.to_owned(),
                    expected: stored_acq,
                    got: acq.to_vec(),
                });
            }
            let array = Array::open(shared.zarr.clone(), &node).map_err(|e| zarr_err(&e))?;
            let chunk: Vec<u64> = array
                .chunk_shape(&vec![0; shape.len()])
                .map_err(|e| zarr_err(&e))?
                .iter()
                .map(|n| n.get())
                .collect();
            if chunk[1..] != stored_acq[..] {
                return Err(Error::UnsupportedLayout {
                    dataset: name.to_owned(),
                    reason: format!("chunk shape {chunk:?} splits acquisitions {stored_acq:?}"),
                });
            }
            let acq_bytes = elem * stored_acq.iter().product::<u64>() as usize;
            let committed = shape[0];
            let chunk_acqs = chunk[0];
            let plain = plain_bytes(&meta);
            let buf_start = if plain {
                committed
            } else {
                committed / chunk_acqs * chunk_acqs
            };
            // An encoded partial chunk is encoded again whole: keep its committed part.
            let kept: Vec<T> = if buf_start < committed {
                read_rows(&array, name, buf_start..committed, &stored_acq)?
            } else {
                Vec::new()
            };
            Ok(Self {
                name: name.to_owned(),
                dir,
                root,
                node,
                array,
                meta,
                acq_bytes,
                chunk_acqs,
                plain,
                len: committed,
                committed,
                on_disk: true,
                buf_start,
                buf: bytemuck::cast_slice(&kept).to_vec(),
                flight: None,
                acq_shape: stored_acq,
            })
        } else {
            let Some(acq) = acq_shape else {
                return Err(Error::DatasetNotFound {
                    run: run.to_owned(),
                    dataset: name.to_owned(),
                });
            };
            if acq.contains(&0) {
                return Err(Error::EmptyAxis {
                    dataset: name.to_owned(),
                    shape: acq.to_vec(),
                });
            }
            let acq_bytes = elem * acq.iter().product::<u64>() as usize;
            let chunk_acqs = shared.options.chunk_acquisitions(acq_bytes);
            let shape: Vec<u64> = std::iter::once(0).chain(acq.iter().copied()).collect();
            let chunk: Vec<u64> = std::iter::once(chunk_acqs)
                .chain(acq.iter().copied())
                .collect();
            let mut builder = ArrayBuilder::new(shape, chunk, T::data_type(), T::fill_value());
            match shared.options.compression {
                Compression::None => {}
                #[cfg(feature = "zstd")]
                Compression::Zstd { level } => {
                    builder.bytes_to_bytes_codecs(vec![Arc::new(
                        zarrs::array::codec::ZstdCodec::new(level, false),
                    )]);
                }
            }
            let array = builder
                .build(shared.zarr.clone(), &node)
                .map_err(|e| zarr_err(&e))?;
            let mut meta = serde_json::to_value(array.metadata()).map_err(|e| zarr_err(&e))?;
            let key = (run.to_owned(), name.to_owned());
            if let Some(d) = crate::store::lock(&shared.descriptions).get(&key) {
                d.apply(&mut meta, 1 + acq.len());
            }
            Ok(Self {
                name: name.to_owned(),
                dir,
                root,
                node,
                plain: plain_bytes(&meta),
                array,
                meta,
                acq_bytes,
                chunk_acqs,
                len: 0,
                committed: 0,
                on_disk: false,
                buf_start: 0,
                buf: Vec::new(),
                flight: None,
                acq_shape: acq.to_vec(),
            })
        }
    }

    fn check_shape(&self, shape: &[u64]) -> Result<()> {
        if shape == self.acq_shape.as_slice() {
            Ok(())
        } else {
            Err(Error::ShapeMismatch {
                dataset: self.name.clone(),
                expected: self.acq_shape.clone(),
                got: shape.to_vec(),
            })
        }
    }

    /// Append one acquisition's bytes to the tail; its index.
    fn push(&mut self, bytes: &[u8]) -> u64 {
        debug_assert_eq!(bytes.len(), self.acq_bytes);
        self.buf.extend_from_slice(bytes);
        self.len += 1;
        self.len - 1
    }

    /// The bytes of acquisitions `range`, all at or after `buf_start`.
    pub(crate) fn tail(&self, range: Range<u64>) -> &[u8] {
        let at = |i: u64| (i - self.buf_start) as usize * self.acq_bytes;
        &self.buf[at(range.start)..at(range.end)]
    }

    /// A copy of the bytes of acquisitions `range`, all at or after `committed`: from the
    /// commit in progress and the tail.
    pub(crate) fn uncommitted(&self, range: Range<u64>) -> Vec<u8> {
        let mut bytes = Vec::with_capacity((range.end - range.start) as usize * self.acq_bytes);
        if let Some(flight) = self
            .flight
            .as_ref()
            .filter(|_| range.start < self.buf_start)
        {
            let at = |i: u64| (i - self.committed) as usize * self.acq_bytes;
            bytes.extend_from_slice(&flight[at(range.start)..at(range.end.min(self.buf_start))]);
        }
        let from = range.start.max(self.buf_start);
        if from < range.end {
            bytes.extend_from_slice(self.tail(from..range.end));
        }
        bytes
    }
}

/// Acquisitions `range` of `array` from disk, as elements in row-major order.
fn read_rows<T: Element>(
    array: &Array<FilesystemStore>,
    name: &str,
    range: Range<u64>,
    acq_shape: &[u64],
) -> Result<Vec<T>> {
    let ranges: Vec<_> = std::iter::once(range)
        .chain(acq_shape.iter().map(|&n| 0..n))
        .collect();
    array
        .retrieve_array_subset_elements(&ArraySubset::new_with_ranges(&ranges))
        .map_err(|e| zarr(name)(e.to_string()))
}

/// Acquisitions `range` of the array at `node`, as committed on disk.
pub(crate) fn read_committed<T: Element>(
    zarr_store: &Arc<FilesystemStore>,
    node: &str,
    name: &str,
    range: Range<u64>,
    acq_shape: &[u64],
) -> Result<Vec<T>> {
    if range.is_empty() {
        return Ok(Vec::new());
    }
    let array = Array::open(zarr_store.clone(), node).map_err(|e| zarr(name)(e.to_string()))?;
    read_rows(&array, name, range, acq_shape)
}

fn to_array<T: Element>(name: &str, len: u64, acq: &[u64], elements: Vec<T>) -> Result<ArrayD<T>> {
    let shape: Vec<usize> = std::iter::once(len)
        .chain(acq.iter().copied())
        .map(|n| n as usize)
        .collect();
    ArrayD::from_shape_vec(IxDyn(&shape), elements).map_err(|e| zarr(name)(e.to_string()))
}

fn elements_of<T: Element>(bytes: &[u8]) -> impl Iterator<Item = T> + '_ {
    bytes
        .chunks_exact(std::mem::size_of::<T>())
        .map(bytemuck::pod_read_unaligned::<T>)
}

/// A dataset being written: a Zarr array whose first axis grows by one per acquisition.
///
/// An append copies the acquisition into memory and returns at once; the store's commits
/// write it (see the crate docs on commits). Reads through the writer see everything
/// appended, committed or not; other readers see what was committed. Cloning gives another
/// handle on the same writer; appends through any handle are serialized by one mutex.
/// Obtain one with [`Run::dataset`](crate::Run::dataset).
pub struct Dataset<T: Element> {
    pub(crate) cell: Arc<Cell>,
    pub(crate) shared: Arc<Shared>,
    _t: PhantomData<fn() -> T>,
}

impl<T: Element> Clone for Dataset<T> {
    fn clone(&self) -> Self {
        Self::new(self.cell.clone(), self.shared.clone())
    }
}

impl<T: Element> std::fmt::Debug for Dataset<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let g = self.cell.lock();
        f.debug_struct("Dataset")
            .field("name", &g.name)
            .field("data_type", &T::ZARR_NAME)
            .field("len", &g.len)
            .field("committed", &g.committed)
            .field("acquisition_shape", &g.acq_shape)
            .finish()
    }
}

impl<T: Element> Dataset<T> {
    pub(crate) fn new(cell: Arc<Cell>, shared: Arc<Shared>) -> Self {
        Self {
            cell,
            shared,
            _t: PhantomData,
        }
    }

    /// The dataset's name.
    pub fn name(&self) -> String {
        self.cell.lock().name.clone()
    }

    /// The number of acquisitions appended, committed or not.
    pub fn len(&self) -> u64 {
        self.cell.lock().len
    }

    /// Whether no acquisition was appended yet.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The number of acquisitions committed: on disk, durable, seen by other readers.
    pub fn committed_len(&self) -> u64 {
        self.cell.lock().committed
    }

    /// The shape of one acquisition (`[]` for scalar readings).
    pub fn acquisition_shape(&self) -> Vec<u64> {
        self.cell.lock().acq_shape.clone()
    }

    /// Commit everything appended to the store so far, this dataset's and the others'
    /// ([`Store::commit`](crate::Store::commit)).
    ///
    /// # Errors
    ///
    /// [`Error::Stopped`] if this or an earlier commit failed.
    pub fn commit(&self) -> Result<()> {
        commit::commit_all(&self.shared)
    }

    /// Append one acquisition of a one-dimensional dataset; returns its index. It is in
    /// memory on return and on disk after the next commit (on return, if the store commits
    /// every append).
    ///
    /// ```
    /// # let dir = std::env::temp_dir().join(format!("smq-store-doc-ds-{}", std::process::id()));
    /// use ndarray::Array1;
    /// let store = smq_store::Store::create(&dir)?;
    /// let run = store.create_run("scan", "demo", serde_json::json!({}))?;
    /// let wf = run.dataset::<f64>("waveforms", &[4])?;
    /// assert_eq!(wf.append(&Array1::from(vec![1.0, 2.0, 3.0, 4.0]).view())?, 0);
    /// assert!(wf.append(&Array1::zeros(3).view()).is_err()); // wrong shape, nothing kept
    /// assert_eq!((wf.len(), wf.committed_len()), (1, 0));
    /// wf.commit()?;
    /// assert_eq!(wf.committed_len(), 1);
    /// # std::fs::remove_dir_all(&dir).ok();
    /// # Ok::<(), smq_store::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::ShapeMismatch`] if the acquisition does not have the dataset's shape;
    /// [`Error::Stopped`] if a commit failed (nothing is appended any more).
    pub fn append(&self, acquisition: &ndarray::ArrayView1<'_, T>) -> Result<u64> {
        self.append_nd(&acquisition.view().into_dyn())
    }

    /// Append one acquisition of any dimensionality (its shape must be the dataset's
    /// acquisition shape); returns its index.
    ///
    /// # Errors
    ///
    /// As [`append`](Self::append).
    pub fn append_nd(&self, acquisition: &ArrayViewD<'_, T>) -> Result<u64> {
        let shape: Vec<u64> = acquisition.shape().iter().map(|&n| n as u64).collect();
        match acquisition.as_slice() {
            Some(s) => self.append_raw(&shape, s),
            None => self.append_raw(&shape, &acquisition.iter().copied().collect::<Vec<_>>()),
        }
    }

    /// Append one scalar reading to a dataset created with acquisition shape `[]`; returns
    /// its index.
    ///
    /// ```
    /// # let dir = std::env::temp_dir().join(format!("smq-store-doc-push-{}", std::process::id()));
    /// let store = smq_store::Store::create(&dir)?;
    /// let run = store.create_run("scan", "demo", serde_json::json!({}))?;
    /// let temperature = run.dataset::<f32>("temperature", &[])?;
    /// temperature.push(21.5)?;
    /// temperature.push(21.7)?;
    /// assert_eq!(temperature.read()?.into_raw_vec_and_offset().0, vec![21.5, 21.7]);
    /// # std::fs::remove_dir_all(&dir).ok();
    /// # Ok::<(), smq_store::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::ShapeMismatch`] if the dataset's acquisitions are not scalars; as
    /// [`append`](Self::append) otherwise.
    pub fn push(&self, value: T) -> Result<u64> {
        self.append_raw(&[], &[value])
    }

    /// Append elements in row-major order for an acquisition of shape `shape`.
    pub(crate) fn append_raw(&self, shape: &[u64], elements: &[T]) -> Result<u64> {
        self.shared.check_running()?;
        let (index, held) = {
            let mut g = self.cell.lock();
            g.check_shape(shape)?;
            (g.push(bytemuck::cast_slice(elements)), g.buf.len())
        };
        commit::after_append(&self.shared, &self.cell, index, held)?;
        Ok(index)
    }

    /// Make `points` the points dataset of this one (see [`append_pair`]), if it is not yet.
    pub(crate) fn pair_with(&self, points: &Dataset<u64>) -> Result<()> {
        let chained =
            || self.cell.is_points.load(Ordering::SeqCst) || points.cell.points.get().is_some();
        if self.cell.points.get().is_none() && chained() {
            return Err(Error::UnsupportedLayout {
                dataset: self.name(),
                reason: "it holds points itself, or its points dataset has points".into(),
            });
        }
        let linked = self.cell.points.get_or_init(|| {
            points.cell.is_points.store(true, Ordering::SeqCst);
            points.cell.clone()
        });
        debug_assert!(
            Arc::ptr_eq(linked, &points.cell),
            "one points dataset per name"
        );
        Ok(())
    }

    /// Read all acquisitions appended: an array of shape `[len, acquisition shape…]`.
    ///
    /// # Errors
    ///
    /// An I/O or Zarr error if a committed chunk cannot be read or decoded.
    pub fn read(&self) -> Result<ArrayD<T>> {
        let (name, node, acq, committed, len, tail) = {
            let g = self.cell.lock();
            let tail = g.uncommitted(g.committed..g.len);
            let node = g.node.clone();
            (
                g.name.clone(),
                node,
                g.acq_shape.clone(),
                g.committed,
                g.len,
                tail,
            )
        };
        let mut elements: Vec<T> =
            read_committed(&self.shared.zarr, &node, &name, 0..committed, &acq)?;
        elements.extend(elements_of::<T>(&tail));
        to_array(&name, len, &acq, elements)
    }

    /// Read acquisitions `range` (of those appended): an array of shape
    /// `[range length, acquisition shape…]`, read from disk for the committed ones and from
    /// memory for the others. Only the chunks that hold them are read.
    ///
    /// # Errors
    ///
    /// [`Error::OutOfRange`] if `range` ends beyond the length (`index` is its last
    /// acquisition) or is reversed; an I/O or Zarr error if reading fails.
    pub fn read_range(&self, range: Range<u64>) -> Result<ArrayD<T>> {
        let (name, node, acq, committed, tail) = {
            let g = self.cell.lock();
            if range.end > g.len || range.start > range.end {
                return Err(Error::OutOfRange {
                    dataset: g.name.clone(),
                    index: range.end.max(range.start).saturating_sub(1),
                    len: g.len,
                });
            }
            let tail_from = range.start.max(g.committed);
            let tail = if tail_from < range.end {
                g.uncommitted(tail_from..range.end)
            } else {
                Vec::new()
            };
            (
                g.name.clone(),
                g.node.clone(),
                g.acq_shape.clone(),
                g.committed,
                tail,
            )
        };
        let on_disk = range.start.min(committed)..range.end.min(committed);
        let mut elements: Vec<T> = read_committed(&self.shared.zarr, &node, &name, on_disk, &acq)?;
        elements.extend(elements_of::<T>(&tail));
        to_array(&name, range.end - range.start, &acq, elements)
    }

    /// Read acquisition `index`: an array of the acquisition shape.
    ///
    /// # Errors
    ///
    /// [`Error::OutOfRange`] if `index >= len`; an I/O or Zarr error if reading fails.
    pub fn read_acquisition(&self, index: u64) -> Result<ArrayD<T>> {
        let (name, node, acq, held) = {
            let g = self.cell.lock();
            if index >= g.len {
                return Err(Error::OutOfRange {
                    dataset: g.name.clone(),
                    index,
                    len: g.len,
                });
            }
            let held = (index >= g.committed).then(|| g.uncommitted(index..index + 1));
            (g.name.clone(), g.node.clone(), g.acq_shape.clone(), held)
        };
        let elements: Vec<T> = match held {
            Some(bytes) => elements_of::<T>(&bytes).collect(),
            None => read_committed(&self.shared.zarr, &node, &name, index..index + 1, &acq)?,
        };
        let a = to_array(&name, 1, &acq, elements)?;
        Ok(a.index_axis_move(ndarray::Axis(0), 0))
    }
}

/// Append `values` (of shape `shape`) to `values_cell` and the scalar `point` to
/// `points_cell` at the same index, as one step for the commits: both locks are held (the
/// points' first, as a commit takes them), so a commit sees both or neither. Returns the
/// index.
pub(crate) fn append_pair<T: Element>(
    values: &Dataset<T>,
    points: &Dataset<u64>,
    shape: &[u64],
    elements: &[T],
    point: u64,
) -> Result<u64> {
    values.shared.check_running()?;
    let index: (u64, usize) = {
        let mut p = points.cell.lock();
        p.check_shape(&[])?;
        let mut v = values.cell.lock();
        v.check_shape(shape)?;
        if p.len > v.len {
            return Err(Error::PointsAhead {
                dataset: v.name.clone(),
                values: v.len,
                points: p.len,
            });
        }
        // Values appended without their points (by `save`) get the fill value as point.
        while p.len < v.len {
            p.push(bytemuck::bytes_of(&0u64));
        }
        let index = v.push(bytemuck::cast_slice(elements));
        p.push(bytemuck::bytes_of(&point));
        (index, v.buf.len())
    };
    commit::after_append(&points.shared, &points.cell, index.0, 0)?;
    commit::after_append(&values.shared, &values.cell, index.0, index.1)?;
    Ok(index.0)
}
