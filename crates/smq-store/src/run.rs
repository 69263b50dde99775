//! A run: its datasets, reading them, and its metadata.

use std::collections::BTreeMap;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use ndarray::ArrayD;
use serde_json::{Map, Value};

use crate::Element;
use crate::commit;
use crate::dataset::{Cell, Dataset, Inner, read_committed};
use crate::error::{Error, Result};
use crate::fsutil::{check_name, child_nodes, now_rfc3339, read_json, write_json};
use crate::info::DatasetInfo;
use crate::recover::is_locked;
use crate::store::{OpenDataset, Store, lock};

/// Attribute names of a run group.
pub mod keys {
    /// Start time, RFC 3339.
    pub const START: &str = "start";
    /// End time, RFC 3339 (absent while the run is going on or if it crashed).
    pub const END: &str = "end";
    /// The experiment's name.
    pub const EXPERIMENT: &str = "experiment";
    /// The experiment's parameters (any JSON).
    pub const PARAMETERS: &str = "parameters";
    /// A map instrument name → `*IDN?` string.
    pub const INSTRUMENTS: &str = "instruments";
    /// The caller's summary of the task graph (any JSON).
    pub const DAG_SUMMARY: &str = "dag_summary";
}

/// The metadata of a run, read from its group attributes.
#[derive(Debug, Clone, PartialEq)]
pub struct RunMetadata {
    /// The run's name.
    pub name: String,
    /// Start time, RFC 3339.
    pub start: Option<String>,
    /// End time, RFC 3339; `None` while running or after a crash.
    pub end: Option<String>,
    /// The experiment's name.
    pub experiment: Option<String>,
    /// The experiment's parameters.
    pub parameters: Value,
    /// Instrument name → `*IDN?` string.
    pub instruments: BTreeMap<String, String>,
    /// The summary of the task graph, if recorded.
    pub dag_summary: Option<Value>,
    /// All attributes as stored, including any set with [`Run::set_attribute`].
    pub attributes: Map<String, Value>,
}

struct RunInner {
    store: Store,
    name: String,
    dir: PathBuf,
    /// Set once this store is the run's writer (fast path of [`Run::writable`]).
    writing: OnceLock<()>,
}

/// A run: a group of datasets plus its metadata. Cheap to clone (a shared handle).
///
/// A run is written by one [`Store`] at a time (the first one that writes to it, until it
/// is dropped); all runs and datasets obtained from that store and its clones share their
/// dataset writers, so appends to a dataset are serialized.
#[derive(Clone)]
pub struct Run {
    inner: Arc<RunInner>,
}

impl std::fmt::Debug for Run {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Run")
            .field("name", &self.inner.name)
            .field("path", &self.inner.dir)
            .finish()
    }
}

impl Run {
    pub(crate) fn new(store: Store, name: &str, dir: PathBuf) -> Self {
        Self {
            inner: Arc::new(RunInner {
                store,
                name: name.to_owned(),
                dir,
                writing: OnceLock::new(),
            }),
        }
    }

    /// The store's shared state.
    pub(crate) fn shared(&self) -> &crate::store::Shared {
        &self.inner.store.shared
    }

    /// The run's name.
    pub fn name(&self) -> &str {
        &self.inner.name
    }

    /// The run's directory.
    pub fn path(&self) -> &Path {
        &self.inner.dir
    }

    /// Whether some store, in this process or another, writes to the run now: the run is
    /// going on. A run without an `end` that nobody writes was interrupted.
    pub fn is_being_written(&self) -> bool {
        is_locked(&self.inner.dir)
    }

    /// Make this run's store its writer (once).
    fn writable(&self) -> Result<()> {
        if self.inner.writing.get().is_none() {
            let shared = &self.inner.store.shared;
            shared.write_run(&self.inner.name, &self.inner.dir)?;
            let _ = self.inner.writing.set(());
        }
        Ok(())
    }

    /// Open the dataset `name`, creating it if it does not exist, for acquisitions of shape
    /// `acquisition_shape` (`&[points]` for waveforms, `&[]` for scalar readings, `&[h, w]`
    /// for images). A new dataset is written to disk at once, empty; its chunks hold as
    /// many acquisitions as fit the store's chunk size (about 1 MiB; at least one).
    ///
    /// ```
    /// # let dir = std::env::temp_dir().join(format!("smq-store-doc-dataset-{}", std::process::id()));
    /// use ndarray::{Array1, Array2};
    /// let store = smq_store::Store::create(&dir)?;
    /// let run = store.create_run("scan", "demo", serde_json::json!({}))?;
    /// let images = run.dataset::<u8>("images", &[2, 3])?;
    /// images.append_nd(&Array2::from_elem((2, 3), 7u8).view().into_dyn())?;
    /// let info = &run.datasets()?[0];
    /// assert_eq!((info.name.as_str(), info.data_type.as_str()), ("images", "uint8"));
    /// assert_eq!(info.shape, vec![1, 2, 3]);
    /// assert!(run.dataset::<f64>("images", &[2, 3]).is_err()); // another element type
    /// # std::fs::remove_dir_all(&dir).ok();
    /// # Ok::<(), smq_store::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::InvalidName`]; [`Error::EmptyAxis`] for a zero-length axis;
    /// [`Error::DataTypeMismatch`] or [`Error::ShapeMismatch`] if the dataset exists with
    /// another element type or acquisition shape; [`Error::RunBusy`] if another store
    /// writes the run; an I/O error if writing fails.
    pub fn dataset<T: Element>(
        &self,
        name: &str,
        acquisition_shape: &[usize],
    ) -> Result<Dataset<T>> {
        let shape: Vec<u64> = acquisition_shape.iter().map(|&n| n as u64).collect();
        let ds = self.writer::<T>(name, Some(&shape))?;
        if !ds.cell.lock().on_disk {
            ds.commit()?;
        }
        Ok(ds)
    }

    /// The writer of dataset `name`: the open one, or opened (created in memory if `shape`
    /// is given and it does not exist).
    pub(crate) fn writer<T: Element>(
        &self,
        name: &str,
        shape: Option<&[u64]>,
    ) -> Result<Dataset<T>> {
        check_name(name)?;
        self.writable()?;
        let shared = &self.inner.store.shared;
        let mut open = lock(&shared.datasets);
        let key = (self.inner.name.clone(), name.to_owned());
        if let Some(d) = open.get(&key) {
            if d.data_type != T::ZARR_NAME {
                return Err(Error::DataTypeMismatch {
                    dataset: name.to_owned(),
                    stored: d.data_type.to_owned(),
                    requested: T::ZARR_NAME.to_owned(),
                });
            }
            let ds = Dataset::<T>::new(d.cell.clone(), shared.clone());
            if let Some(shape) = shape {
                let expected = ds.acquisition_shape();
                if expected != shape {
                    return Err(Error::ShapeMismatch {
                        dataset: name.to_owned(),
                        expected,
                        got: shape.to_vec(),
                    });
                }
            }
            return Ok(ds);
        }
        let cell = Arc::new(Cell::new(Inner::open::<T>(
            shared,
            &self.inner.name,
            name,
            shape,
        )?));
        open.insert(
            key,
            OpenDataset {
                cell: cell.clone(),
                data_type: T::ZARR_NAME,
            },
        );
        drop(open);
        commit::start_writer(shared);
        Ok(Dataset::new(cell, shared.clone()))
    }

    /// The open writer of dataset `name`, if this store has one.
    fn open_writer<T: Element>(&self, name: &str) -> Option<Dataset<T>> {
        let shared = &self.inner.store.shared;
        let open = lock(&shared.datasets);
        let d = open.get(&(self.inner.name.clone(), name.to_owned()))?;
        (d.data_type == T::ZARR_NAME).then(|| Dataset::new(d.cell.clone(), shared.clone()))
    }

    /// The datasets of the run with their types and shapes, sorted by name: as this store
    /// appended them if it writes the run, else as committed.
    ///
    /// # Errors
    ///
    /// An I/O error or [`Error::CorruptMetadata`] if a dataset's metadata cannot be read.
    pub fn datasets(&self) -> Result<Vec<DatasetInfo>> {
        let mut infos: BTreeMap<String, DatasetInfo> = child_nodes(&self.inner.dir, "array")?
            .iter()
            .map(|n| Ok((n.clone(), DatasetInfo::read(n, &self.inner.dir)?)))
            .collect::<Result<_>>()?;
        let open = lock(&self.inner.store.shared.datasets);
        for ((run, name), d) in open.iter() {
            if *run == self.inner.name {
                let g = d.cell.lock();
                let shape = std::iter::once(g.len).chain(g.acq_shape.iter().copied());
                infos.insert(
                    name.clone(),
                    DatasetInfo {
                        name: name.clone(),
                        data_type: d.data_type.to_owned(),
                        shape: shape.collect(),
                    },
                );
            }
        }
        Ok(infos.into_values().collect())
    }

    /// The committed dataset `name`, checked to hold `T`.
    fn stored<T: Element>(&self, name: &str) -> Result<DatasetInfo> {
        check_name(name)?;
        if !self.inner.dir.join(name).join("zarr.json").is_file() {
            return Err(Error::DatasetNotFound {
                run: self.inner.name.clone(),
                dataset: name.to_owned(),
            });
        }
        let info = DatasetInfo::read(name, &self.inner.dir)?;
        if info.data_type != T::ZARR_NAME {
            return Err(Error::DataTypeMismatch {
                dataset: name.to_owned(),
                stored: info.data_type,
                requested: T::ZARR_NAME.to_owned(),
            });
        }
        Ok(info)
    }

    /// Read a whole dataset: shape `[acquisitions, acquisition shape…]`. Through the store
    /// that writes the run, everything appended; otherwise what was committed, up to the
    /// committed length of its points if it has a points dataset (see the crate docs).
    ///
    /// # Errors
    ///
    /// [`Error::DatasetNotFound`], [`Error::DataTypeMismatch`], or a read error.
    pub fn read<T: Element>(&self, dataset: &str) -> Result<ArrayD<T>> {
        if let Some(d) = self.open_writer::<T>(dataset) {
            return d.read();
        }
        let info = self.stored::<T>(dataset)?;
        let elements = read_committed::<T>(
            &self.inner.store.shared.zarr,
            &self.node(dataset),
            dataset,
            0..info.len(),
            info.acquisition_shape(),
        )?;
        let shape: Vec<usize> = info.shape.iter().map(|&n| n as usize).collect();
        ArrayD::from_shape_vec(shape, elements)
            .map_err(|e| crate::error::zarr(dataset)(e.to_string()))
    }

    /// Read acquisitions `range` of a dataset: shape `[range length, acquisition shape…]`,
    /// as [`read`](Self::read) sees them, but reading only the chunks that hold them. For
    /// a reader that follows a run being written, reading only what is new.
    ///
    /// ```
    /// # let dir = tempfile::tempdir()?;
    /// let store = smq_store::Store::create(dir.path())?;
    /// let run = store.create_run("scan", "demo", serde_json::json!({}))?;
    /// for i in 0..10 {
    ///     run.append("reading", &(i as f64))?;
    /// }
    /// run.commit()?;
    /// let reader = smq_store::Store::open(dir.path())?.open_run("scan")?;
    /// let last = reader.read_range::<f64>("reading", 7..10)?;
    /// assert_eq!(last.as_slice(), Some(&[7.0, 8.0, 9.0][..]));
    /// assert!(reader.read_range::<f64>("reading", 8..11).is_err());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    ///
    /// As [`read`](Self::read), and [`Error::OutOfRange`] if `range` ends beyond the
    /// dataset's length or is reversed.
    pub fn read_range<T: Element>(&self, dataset: &str, range: Range<u64>) -> Result<ArrayD<T>> {
        if let Some(d) = self.open_writer::<T>(dataset) {
            return d.read_range(range);
        }
        let info = self.stored::<T>(dataset)?;
        if range.end > info.len() || range.start > range.end {
            return Err(Error::OutOfRange {
                dataset: dataset.to_owned(),
                index: range.end.max(range.start).saturating_sub(1),
                len: info.len(),
            });
        }
        let acq = info.acquisition_shape();
        let elements = read_committed::<T>(
            &self.inner.store.shared.zarr,
            &self.node(dataset),
            dataset,
            range.clone(),
            acq,
        )?;
        let shape: Vec<usize> = std::iter::once(range.end - range.start)
            .chain(acq.iter().copied())
            .map(|n| n as usize)
            .collect();
        ArrayD::from_shape_vec(shape, elements)
            .map_err(|e| crate::error::zarr(dataset)(e.to_string()))
    }

    /// Read one acquisition of a dataset.
    ///
    /// # Errors
    ///
    /// As [`read`](Self::read), and [`Error::OutOfRange`].
    pub fn read_acquisition<T: Element>(&self, dataset: &str, index: u64) -> Result<ArrayD<T>> {
        if let Some(d) = self.open_writer::<T>(dataset) {
            return d.read_acquisition(index);
        }
        let info = self.stored::<T>(dataset)?;
        if index >= info.len() {
            return Err(Error::OutOfRange {
                dataset: dataset.to_owned(),
                index,
                len: info.len(),
            });
        }
        let one = self.read_range::<T>(dataset, index..index + 1)?;
        Ok(one.index_axis_move(ndarray::Axis(0), 0))
    }

    fn node(&self, dataset: &str) -> String {
        format!("/{}/{dataset}", self.inner.name)
    }

    /// Commit everything appended to the store so far ([`Store::commit`]).
    ///
    /// # Errors
    ///
    /// [`Error::Stopped`] if this or an earlier commit failed.
    pub fn commit(&self) -> Result<()> {
        self.inner.store.commit()
    }

    /// Read the run's metadata.
    ///
    /// ```
    /// # let dir = std::env::temp_dir().join(format!("smq-store-doc-meta-{}", std::process::id()));
    /// use serde_json::json;
    /// let store = smq_store::Store::create(&dir)?;
    /// let run = store.create_run("run-7", "rabi", json!({"points": 1024}))?;
    /// run.set_instrument("scope", "ACME,DSO-1,42,1.0")?;
    /// run.finish(Some(json!({"done": {"acquire": 10, "save": 10}})))?;
    /// let meta = store.open_run("run-7")?.metadata()?;
    /// assert_eq!(meta.experiment.as_deref(), Some("rabi"));
    /// assert_eq!(meta.parameters["points"], 1024);
    /// assert_eq!(meta.instruments["scope"], "ACME,DSO-1,42,1.0");
    /// assert!(meta.start.is_some() && meta.end.is_some());
    /// assert_eq!(meta.dag_summary.unwrap()["done"]["save"], 10);
    /// # std::fs::remove_dir_all(&dir).ok();
    /// # Ok::<(), smq_store::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// An I/O error or [`Error::CorruptMetadata`].
    pub fn metadata(&self) -> Result<RunMetadata> {
        let path = self.inner.dir.join("zarr.json");
        let json = read_json(&path)?;
        let attributes = match json.get("attributes") {
            Some(Value::Object(m)) => m.clone(),
            None => Map::new(),
            Some(_) => {
                return Err(Error::CorruptMetadata {
                    path,
                    reason: "attributes is not an object".into(),
                });
            }
        };
        let text = |k: &str| attributes.get(k).and_then(Value::as_str).map(str::to_owned);
        let instruments = attributes
            .get(keys::INSTRUMENTS)
            .and_then(Value::as_object)
            .map(|m| {
                m.iter()
                    .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_owned())))
                    .collect()
            })
            .unwrap_or_default();
        Ok(RunMetadata {
            name: self.inner.name.clone(),
            start: text(keys::START),
            end: text(keys::END),
            experiment: text(keys::EXPERIMENT),
            parameters: attributes
                .get(keys::PARAMETERS)
                .cloned()
                .unwrap_or(Value::Null),
            instruments,
            dag_summary: attributes.get(keys::DAG_SUMMARY).cloned(),
            attributes,
        })
    }

    /// Update the run's attributes atomically (read, modify, write a temporary file,
    /// rename it over the group's `zarr.json`). The attributes are written at once,
    /// independently of the datasets' commits, and also after a failed commit.
    fn update_attributes(&self, f: impl FnOnce(&mut Map<String, Value>)) -> Result<()> {
        self.writable()?;
        let shared = &self.inner.store.shared;
        let _g = lock(&shared.attrs);
        let path = self.inner.dir.join("zarr.json");
        let mut json = read_json(&path)?;
        let Some(Value::Object(attrs)) = json.get_mut("attributes") else {
            return Err(Error::CorruptMetadata {
                path,
                reason: "no attributes object".into(),
            });
        };
        f(attrs);
        write_json(shared.fs(), &path, &json)
    }

    /// Set one attribute of the run group (any JSON).
    ///
    /// # Errors
    ///
    /// An I/O error or [`Error::CorruptMetadata`].
    pub fn set_attribute(&self, key: &str, value: Value) -> Result<()> {
        self.update_attributes(|a| {
            a.insert(key.to_owned(), value);
        })
    }

    /// Record an instrument's `*IDN?` string under its name.
    ///
    /// # Errors
    ///
    /// An I/O error or [`Error::CorruptMetadata`].
    pub fn set_instrument(&self, name: &str, idn: &str) -> Result<()> {
        self.update_attributes(|a| {
            let e = a
                .entry(keys::INSTRUMENTS)
                .or_insert_with(|| Value::Object(Map::new()));
            if !e.is_object() {
                *e = Value::Object(Map::new());
            }
            if let Value::Object(m) = e {
                m.insert(name.to_owned(), idn.into());
            }
        })
    }

    /// Record the summary of the task graph (e.g. task counts by state and label).
    ///
    /// # Errors
    ///
    /// An I/O error or [`Error::CorruptMetadata`].
    pub fn set_dag_summary(&self, summary: Value) -> Result<()> {
        self.set_attribute(keys::DAG_SUMMARY, summary)
    }

    /// Close the run: commit what was appended, then record the end time (now) and, if
    /// given, the summary of the task graph. If the store has stopped after a failed
    /// commit, the run is still closed, with what was committed before, as cleanly as the
    /// disk allows (temporary files removed, datasets set back to the length of their
    /// points), and the commit's error is returned after the end is recorded.
    ///
    /// # Errors
    ///
    /// [`Error::Stopped`] if a commit failed; an I/O error or [`Error::CorruptMetadata`] if
    /// the end cannot be recorded.
    pub fn finish(&self, dag_summary: Option<Value>) -> Result<()> {
        let committed = self.commit();
        if committed.is_err() {
            self.inner.store.shared.repair_own_run(&self.inner.dir);
        }
        self.update_attributes(|a| {
            a.insert(keys::END.into(), now_rfc3339().into());
            if let Some(s) = dag_summary {
                a.insert(keys::DAG_SUMMARY.into(), s);
            }
        })?;
        committed
    }
}
