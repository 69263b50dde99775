//! Growable datasets and the crash-safe append protocol.
//!
//! # The append protocol
//!
//! A dataset is a Zarr v3 array of shape `[n, s…]` where `s…` is the acquisition shape and
//! `n` the number of acquisitions; its chunk shape is `[1, s…]`, so acquisition `i` is
//! exactly chunk `[i, 0, …]` and appending one acquisition writes one chunk file and one
//! small metadata file. Appending acquisition `i` (under the dataset's mutex, so appends to
//! one dataset are serialized):
//!
//! 1. Encode the acquisition and write chunk `[i, 0, …]` (file `c/i/0…`) through the
//!    `zarrs` file system store, then fsync the file and its new directory entries.
//! 2. Write the array metadata with `shape[0] = i + 1` to `zarr.json.tmp`, fsync it.
//! 3. Rename `zarr.json.tmp` over `zarr.json` (atomic on POSIX), fsync the directory.
//! 4. Only then report success (`append` returns `Ok`).
//!
//! **Invariant:** at every instant, every chunk `j < shape[0]` named by the `zarr.json` on
//! disk is complete and durable. `zarr.json` is never written in place, so it is always
//! either the old or the new version. A crash before step 3 leaves the previous shape and
//! at most one chunk beyond it, which readers never look at and the next append overwrites;
//! a crash after step 3 has published a complete acquisition. So a crash or `kill -9`
//! loses at most the acquisition in flight. (The `zarrs` file system store writes files in
//! place, without a rename, which is why the metadata update is done here.)

use std::marker::PhantomData;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use ndarray::{ArrayD, ArrayViewD, IxDyn};
use serde_json::Value;
use zarrs::array::codec::CodecOptions;
use zarrs::array::{Array, ArrayBuilder};
use zarrs::array_subset::ArraySubset;
use zarrs::filesystem::FilesystemStore;

use crate::Element;
use crate::error::{Error, Result, io, zarr};
use crate::fsutil::{read_json, sync_dir, write_json};

/// The shape and type of a dataset, as listed by [`Run::datasets`](crate::Run::datasets).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DatasetInfo {
    /// The dataset's name.
    pub name: String,
    /// The Zarr data type, e.g. `"float64"`.
    pub data_type: String,
    /// The full shape: `[acquisitions, acquisition shape…]`.
    pub shape: Vec<u64>,
}

impl DatasetInfo {
    /// The number of acquisitions (the first axis).
    pub fn len(&self) -> u64 {
        self.shape.first().copied().unwrap_or(0)
    }

    /// Whether the dataset holds no acquisition.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The shape of one acquisition (`[]` for scalar readings).
    pub fn acquisition_shape(&self) -> &[u64] {
        self.shape.get(1..).unwrap_or(&[])
    }

    pub(crate) fn read(name: &str, dir: &Path) -> Result<Self> {
        let path = dir.join("zarr.json");
        let meta = read_json(&path)?;
        let (data_type, shape) = parse_array_meta(&path, &meta)?;
        Ok(Self {
            name: name.to_owned(),
            data_type,
            shape,
        })
    }
}

fn corrupt(path: &Path, reason: &str) -> Error {
    Error::CorruptMetadata {
        path: path.to_owned(),
        reason: reason.to_owned(),
    }
}

fn parse_array_meta(path: &Path, meta: &Value) -> Result<(String, Vec<u64>)> {
    if meta.get("node_type").and_then(Value::as_str) != Some("array") {
        return Err(corrupt(path, "not an array"));
    }
    let data_type = meta
        .get("data_type")
        .and_then(Value::as_str)
        .ok_or_else(|| corrupt(path, "no data_type"))?
        .to_owned();
    let shape = meta
        .get("shape")
        .and_then(Value::as_array)
        .and_then(|s| s.iter().map(Value::as_u64).collect::<Option<Vec<u64>>>())
        .filter(|s| !s.is_empty())
        .ok_or_else(|| corrupt(path, "no valid shape"))?;
    Ok((data_type, shape))
}

struct Inner {
    name: String,
    root: PathBuf,
    dir: PathBuf,
    array: Array<FilesystemStore>,
    meta: Value,
    len: u64,
    acq_shape: Vec<u64>,
}

/// A dataset being written: a Zarr array whose first axis grows by one per acquisition.
///
/// Cloning gives another handle on the same writer; appends through any handle are
/// serialized by one mutex. Obtain one with [`Run::dataset`](crate::Run::dataset).
pub struct Dataset<T: Element> {
    inner: Arc<Mutex<Inner>>,
    _t: PhantomData<fn() -> T>,
}

impl<T: Element> Clone for Dataset<T> {
    fn clone(&self) -> Self {
        Self {
            inner: self.inner.clone(),
            _t: PhantomData,
        }
    }
}

impl<T: Element> std::fmt::Debug for Dataset<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let g = self.lock();
        f.debug_struct("Dataset")
            .field("name", &g.name)
            .field("data_type", &T::ZARR_NAME)
            .field("len", &g.len)
            .field("acquisition_shape", &g.acq_shape)
            .finish()
    }
}

impl<T: Element> Dataset<T> {
    /// Open the dataset `name` of run `run` in the store at `root`; if it does not exist,
    /// create it when `acq_shape` is given (else [`Error::DatasetNotFound`]). An existing
    /// dataset must match `T` and, if given, `acq_shape`.
    pub(crate) fn open(
        store: &Arc<FilesystemStore>,
        root: &Path,
        run: &str,
        name: &str,
        acq_shape: Option<&[u64]>,
    ) -> Result<Self> {
        let dir = root.join(run).join(name);
        let meta_path = dir.join("zarr.json");
        let node = format!("/{run}/{name}");
        let (array, meta) = if meta_path.exists() {
            let meta = read_json(&meta_path)?;
            let (dt, shape) = parse_array_meta(&meta_path, &meta)?;
            if dt != T::ZARR_NAME {
                return Err(Error::DataTypeMismatch {
                    dataset: name.to_owned(),
                    stored: dt,
                    requested: T::ZARR_NAME.to_owned(),
                });
            }
            if let Some(acq) = acq_shape {
                if acq != &shape[1..] {
                    return Err(Error::ShapeMismatch {
                        dataset: name.to_owned(),
                        expected: shape[1..].to_vec(),
                        got: acq.to_vec(),
                    });
                }
            }
            let array = Array::open(store.clone(), &node).map_err(|e| zarr(name)(e.to_string()))?;
            (array, meta)
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
            let shape: Vec<u64> = std::iter::once(0).chain(acq.iter().copied()).collect();
            let chunk: Vec<u64> = std::iter::once(1).chain(acq.iter().copied()).collect();
            let array = ArrayBuilder::new(shape, chunk, T::data_type(), T::fill_value())
                .build(store.clone(), &node)
                .map_err(|e| zarr(name)(e.to_string()))?;
            let meta =
                serde_json::to_value(array.metadata()).map_err(|e| zarr(name)(e.to_string()))?;
            std::fs::create_dir_all(&dir).map_err(io(&dir))?;
            write_json(&meta_path, &meta)?;
            sync_dir(dir.parent().unwrap_or(&dir))?;
            (array, meta)
        };
        let shape = array.shape().to_vec();
        let inner = Inner {
            name: name.to_owned(),
            root: root.to_owned(),
            dir,
            len: shape[0],
            acq_shape: shape[1..].to_vec(),
            array,
            meta,
        };
        Ok(Self {
            inner: Arc::new(Mutex::new(inner)),
            _t: PhantomData,
        })
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The dataset's name.
    pub fn name(&self) -> String {
        self.lock().name.clone()
    }

    /// The number of acquisitions stored.
    pub fn len(&self) -> u64 {
        self.lock().len
    }

    /// Whether no acquisition is stored yet.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The shape of one acquisition (`[]` for scalar readings).
    pub fn acquisition_shape(&self) -> Vec<u64> {
        self.lock().acq_shape.clone()
    }

    /// Append one acquisition of a one-dimensional dataset and make it durable; returns its
    /// index.
    ///
    /// ```
    /// # let dir = std::env::temp_dir().join(format!("smq-store-doc-ds-{}", std::process::id()));
    /// use ndarray::Array1;
    /// let store = smq_store::Store::create(&dir)?;
    /// let run = store.create_run("scan", "demo", serde_json::json!({}))?;
    /// let wf = run.dataset::<f64>("waveforms", &[4])?;
    /// assert_eq!(wf.append(&Array1::from(vec![1.0, 2.0, 3.0, 4.0]).view())?, 0);
    /// assert!(wf.append(&Array1::zeros(3).view()).is_err()); // wrong shape, nothing written
    /// assert_eq!(wf.len(), 1);
    /// # std::fs::remove_dir_all(&dir).ok();
    /// # Ok::<(), smq_store::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::ShapeMismatch`] if the acquisition does not have the dataset's shape; an I/O
    /// or Zarr error if writing fails (the dataset then keeps its previous length).
    pub fn append(&self, acquisition: &ndarray::ArrayView1<'_, T>) -> Result<u64> {
        self.append_nd(&acquisition.view().into_dyn())
    }

    /// Append one acquisition of any dimensionality (its shape must be the dataset's
    /// acquisition shape) and make it durable; returns its index.
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
        let mut g = self.lock();
        if shape != g.acq_shape.as_slice() {
            return Err(Error::ShapeMismatch {
                dataset: g.name.clone(),
                expected: g.acq_shape.clone(),
                got: shape.to_vec(),
            });
        }
        let i = g.len;
        let result = g.write(i, elements);
        if result.is_err() {
            g.keep_length(i);
        }
        result.map(|()| {
            g.len = i + 1;
            i
        })
    }

    /// Under this dataset's lock, run `first`, which stores a value in another dataset and
    /// returns its index there, then write the scalar `value` at the same index and make it
    /// durable. Pairs written this way stay aligned whatever else writes concurrently
    /// through this function. Returns the index; if writing `value` fails, the error is
    /// `(Some(index), error)`.
    pub(crate) fn write_paired(
        &self,
        first: impl FnOnce() -> Result<u64>,
        value: T,
    ) -> std::result::Result<u64, (Option<u64>, Error)> {
        let mut g = self.lock();
        if !g.acq_shape.is_empty() {
            return Err((
                None,
                Error::ShapeMismatch {
                    dataset: g.name.clone(),
                    expected: g.acq_shape.clone(),
                    got: Vec::new(),
                },
            ));
        }
        let index = first().map_err(|e| (None, e))?;
        let len = g.len;
        match g.write(index, &[value]) {
            Ok(()) => {
                g.len = len.max(index + 1);
                Ok(index)
            }
            Err(e) => {
                g.keep_length(len);
                Err((Some(index), e))
            }
        }
    }

    /// Read all acquisitions: an array of shape `[len, acquisition shape…]`.
    ///
    /// # Errors
    ///
    /// An I/O or Zarr error if a chunk cannot be read or decoded.
    pub fn read(&self) -> Result<ArrayD<T>> {
        let g = self.lock();
        g.read_range::<T>(0, g.len)
    }

    /// Read acquisition `index`: an array of the acquisition shape.
    ///
    /// # Errors
    ///
    /// [`Error::OutOfRange`] if `index >= len`; an I/O or Zarr error if reading fails.
    pub fn read_acquisition(&self, index: u64) -> Result<ArrayD<T>> {
        let g = self.lock();
        if index >= g.len {
            return Err(Error::OutOfRange {
                dataset: g.name.clone(),
                index,
                len: g.len,
            });
        }
        let a = g.read_range::<T>(index, index + 1)?;
        Ok(a.index_axis_move(ndarray::Axis(0), 0))
    }
}

impl Inner {
    /// Steps 1–3 of the append protocol for acquisition `i`, publishing a length of at least
    /// `i + 1`.
    fn write<T: Element>(&mut self, i: u64, elements: &[T]) -> Result<()> {
        let name = self.name.clone();
        let full: Vec<u64> = std::iter::once((i + 1).max(self.len))
            .chain(self.acq_shape.iter().copied())
            .collect();
        self.array
            .set_shape(full.clone())
            .map_err(|e| zarr(&name)(e.to_string()))?;
        // Step 1: the chunk, always written (even if it equals the fill value).
        let chunk: Vec<u64> = std::iter::once(i)
            .chain(self.acq_shape.iter().map(|_| 0))
            .collect();
        let mut options = CodecOptions::default();
        options.set_store_empty_chunks(true);
        self.array
            .store_chunk_elements_opt(&chunk, elements, &options)
            .map_err(|e| zarr(&name)(e.to_string()))?;
        let key = self.array.chunk_key(&chunk);
        let chunk_path = self.root.join(key.as_str());
        std::fs::File::open(&chunk_path)
            .and_then(|f| f.sync_all())
            .map_err(io(&chunk_path))?;
        let c_dir = self.dir.join("c");
        let mut d = chunk_path.parent();
        while let Some(p) = d {
            sync_dir(p)?;
            if p == c_dir || !p.starts_with(&c_dir) {
                break;
            }
            d = p.parent();
        }
        // Steps 2–3: publish the new length atomically.
        self.meta["shape"] = Value::from(full);
        write_json(&self.dir.join("zarr.json"), &self.meta)
    }

    /// After a failed [`write`](Self::write): keep the in-memory shape equal to the
    /// published one, of length `len`.
    fn keep_length(&mut self, len: u64) {
        let shape: Vec<u64> = std::iter::once(len).chain(self.acq_shape.clone()).collect();
        self.meta["shape"] = Value::from(shape.clone());
        let _ = self.array.set_shape(shape);
    }

    fn read_range<T: Element>(&self, start: u64, end: u64) -> Result<ArrayD<T>> {
        let ranges: Vec<_> = std::iter::once(start..end)
            .chain(self.acq_shape.iter().map(|&n| 0..n))
            .collect();
        let subset = ArraySubset::new_with_ranges(&ranges);
        let shape: Vec<usize> = ranges.iter().map(|r| (r.end - r.start) as usize).collect();
        let elements: Vec<T> = self
            .array
            .retrieve_array_subset_elements(&subset)
            .map_err(|e| zarr(&self.name)(e.to_string()))?;
        ArrayD::from_shape_vec(IxDyn(&shape), elements).map_err(|e| zarr(&self.name)(e.to_string()))
    }
}
