//! The store, its runs and their metadata.

use std::any::Any;
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};

use ndarray::ArrayD;
use serde_json::{Map, Value};
use zarrs::filesystem::FilesystemStore;

use crate::Element;
use crate::dataset::{Dataset, DatasetInfo};
use crate::error::{Error, Result, io};
use crate::fsutil::{check_name, child_nodes, group_json, now_rfc3339, read_json, write_json};

/// A store directory: a Zarr v3 root group holding one group per run.
///
/// ```
/// # let dir = std::env::temp_dir().join(format!("smq-store-doc-store-{}", std::process::id()));
/// use smq_store::Store;
/// let store = Store::create(&dir)?;
/// store.create_run("run-001", "dark-frames", serde_json::json!({"exposure_s": 0.5}))?;
/// let again = Store::open(&dir)?;
/// assert_eq!(again.runs()?, vec!["run-001".to_string()]);
/// # std::fs::remove_dir_all(&dir).ok();
/// # Ok::<(), smq_store::Error>(())
/// ```
///
/// Open a store once per process for writing: the handle and its clones share the
/// dataset writers (so appends to one dataset are serialized) and the lock on run
/// attributes.
#[derive(Clone)]
pub struct Store {
    root: PathBuf,
    zarr: Arc<FilesystemStore>,
    shared: Arc<Shared>,
}

/// State shared by a store's handles and runs.
#[derive(Default)]
struct Shared {
    /// Serializes read-modify-write updates of run attributes.
    attrs: Mutex<()>,
    /// The open dataset writers, by (run, dataset).
    datasets: Mutex<HashMap<(String, String), OpenDataset>>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store").field("path", &self.root).finish()
    }
}

impl Store {
    /// Open the store at `path`, creating the directory and its root group if needed.
    ///
    /// # Errors
    ///
    /// An I/O error if the directory cannot be created; [`Error::NotAStore`] or
    /// [`Error::CorruptMetadata`] if `path/zarr.json` exists but is not a group.
    pub fn create(path: impl AsRef<Path>) -> Result<Self> {
        let root = path.as_ref().to_owned();
        std::fs::create_dir_all(&root).map_err(io(&root))?;
        let meta = root.join("zarr.json");
        if !meta.exists() {
            let mut attrs = Map::new();
            attrs.insert("smq_store".into(), serde_json::json!({"layout": 1}));
            write_json(&meta, &group_json(attrs))?;
        }
        Self::open(root)
    }

    /// Open an existing store.
    ///
    /// # Errors
    ///
    /// [`Error::NotAStore`] if `path/zarr.json` is missing or not a group;
    /// [`Error::CorruptMetadata`] if it cannot be parsed.
    pub fn open(path: impl AsRef<Path>) -> Result<Self> {
        let root = path.as_ref().to_owned();
        let meta = root.join("zarr.json");
        if !meta.is_file() {
            return Err(Error::NotAStore(root));
        }
        let json = read_json(&meta)?;
        if json.get("node_type").and_then(Value::as_str) != Some("group") {
            return Err(Error::NotAStore(root));
        }
        let zarr = FilesystemStore::new(&root).map_err(|e| Error::Io {
            path: root.clone(),
            source: std::io::Error::other(e.to_string()),
        })?;
        Ok(Self {
            root,
            zarr: Arc::new(zarr),
            shared: Arc::default(),
        })
    }

    /// The store's directory.
    pub fn path(&self) -> &Path {
        &self.root
    }

    /// The names of the runs, sorted.
    ///
    /// # Errors
    ///
    /// An I/O error if the directory cannot be listed; [`Error::CorruptMetadata`] if a
    /// subdirectory's `zarr.json` cannot be parsed.
    pub fn runs(&self) -> Result<Vec<String>> {
        child_nodes(&self.root, "group")
    }

    /// A run name not taken yet in this store: `<prefix>-<unix seconds>`, with `-2`, `-3`...
    /// appended if that is taken. The prefix must be a valid name itself (see
    /// [`create_run`](Self::create_run)).
    ///
    /// # Examples
    ///
    /// ```
    /// # let dir = std::env::temp_dir().join(format!("smq-store-doc-name-{}", std::process::id()));
    /// let store = smq_store::Store::create(&dir)?;
    /// let first = store.new_run_name("scan")?;
    /// store.create_run(&first, "demo", serde_json::json!({}))?;
    /// let second = store.new_run_name("scan")?;
    /// assert!(second.starts_with("scan-") && second != first);
    /// # std::fs::remove_dir_all(&dir).ok();
    /// # Ok::<(), smq_store::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// As [`runs`](Self::runs).
    pub fn new_run_name(&self, prefix: &str) -> Result<String> {
        let secs = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let taken = self.runs()?;
        let base = format!("{prefix}-{secs}");
        let mut name = base.clone();
        let mut i = 1;
        while taken.contains(&name) {
            i += 1;
            name = format!("{base}-{i}");
        }
        Ok(name)
    }

    /// Create the run `name`, recording its start time (now), the experiment name and its
    /// parameters.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidName`] for a name other than `[A-Za-z0-9_.-]+` (not starting with
    /// `.`); [`Error::RunExists`] if the run exists; an I/O error if writing fails.
    pub fn create_run(&self, name: &str, experiment: &str, parameters: Value) -> Result<Run> {
        check_name(name)?;
        let dir = self.root.join(name);
        if dir.join("zarr.json").exists() {
            return Err(Error::RunExists(name.to_owned()));
        }
        std::fs::create_dir_all(&dir).map_err(io(&dir))?;
        let mut attrs = Map::new();
        attrs.insert(keys::START.into(), now_rfc3339().into());
        attrs.insert(keys::EXPERIMENT.into(), experiment.into());
        attrs.insert(keys::PARAMETERS.into(), parameters);
        attrs.insert(keys::INSTRUMENTS.into(), Value::Object(Map::new()));
        write_json(&dir.join("zarr.json"), &group_json(attrs))?;
        crate::fsutil::sync_dir(&self.root)?;
        self.open_run(name)
    }

    /// Open an existing run, to read it or to append more.
    ///
    /// # Errors
    ///
    /// [`Error::RunNotFound`] if there is no such run.
    pub fn open_run(&self, name: &str) -> Result<Run> {
        check_name(name).map_err(|_| Error::RunNotFound(name.to_owned()))?;
        let dir = self.root.join(name);
        if crate::fsutil::node_type(&dir).as_deref() != Some("group") {
            return Err(Error::RunNotFound(name.to_owned()));
        }
        Ok(Run {
            inner: Arc::new(RunInner {
                store: self.clone(),
                name: name.to_owned(),
                dir,
            }),
        })
    }
}

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

/// An open dataset writer of some element type: (type name, `Dataset<T>`).
type OpenDataset = (&'static str, Box<dyn Any + Send + Sync>);

struct RunInner {
    store: Store,
    name: String,
    dir: PathBuf,
}

/// A run: a group of datasets plus its metadata. Cheap to clone (a shared handle).
///
/// One process should write a run at a time; within it, all runs and datasets obtained
/// from one [`Store`] (and its clones) share their dataset writers, so appends to a
/// dataset are serialized.
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
    /// The run's name.
    pub fn name(&self) -> &str {
        &self.inner.name
    }

    /// The run's directory.
    pub fn path(&self) -> &Path {
        &self.inner.dir
    }

    /// Open the dataset `name`, creating it if it does not exist, for acquisitions of shape
    /// `acquisition_shape` (`&[points]` for waveforms, `&[]` for scalar readings, `&[h, w]`
    /// for images). The chunk shape is `[1, acquisition_shape…]`: one chunk per acquisition.
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
    /// another element type or acquisition shape; an I/O error if writing fails.
    pub fn dataset<T: Element>(
        &self,
        name: &str,
        acquisition_shape: &[usize],
    ) -> Result<Dataset<T>> {
        let shape: Vec<u64> = acquisition_shape.iter().map(|&n| n as u64).collect();
        self.dataset_u64(name, Some(&shape))
    }

    pub(crate) fn dataset_u64<T: Element>(
        &self,
        name: &str,
        shape: Option<&[u64]>,
    ) -> Result<Dataset<T>> {
        check_name(name)?;
        let mut cache = self
            .inner
            .store
            .shared
            .datasets
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let key = (self.inner.name.clone(), name.to_owned());
        if let Some((ty, any)) = cache.get(&key) {
            let ds = any
                .downcast_ref::<Dataset<T>>()
                .ok_or_else(|| Error::DataTypeMismatch {
                    dataset: name.to_owned(),
                    stored: (*ty).to_owned(),
                    requested: T::ZARR_NAME.to_owned(),
                })?;
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
            return Ok(ds.clone());
        }
        let store = &self.inner.store;
        let ds = Dataset::<T>::open(&store.zarr, &store.root, &self.inner.name, name, shape)?;
        cache.insert(key, (T::ZARR_NAME, Box::new(ds.clone())));
        Ok(ds)
    }

    /// The datasets of the run with their types and shapes, sorted by name.
    ///
    /// # Errors
    ///
    /// An I/O error or [`Error::CorruptMetadata`] if a dataset's metadata cannot be read.
    pub fn datasets(&self) -> Result<Vec<DatasetInfo>> {
        child_nodes(&self.inner.dir, "array")?
            .iter()
            .map(|n| DatasetInfo::read(n, &self.inner.dir.join(n)))
            .collect()
    }

    /// Read a whole dataset: shape `[acquisitions, acquisition shape…]`.
    ///
    /// # Errors
    ///
    /// [`Error::DatasetNotFound`], [`Error::DataTypeMismatch`], or a read error.
    pub fn read<T: Element>(&self, dataset: &str) -> Result<ArrayD<T>> {
        self.dataset_u64::<T>(dataset, None)?.read()
    }

    /// Read one acquisition of a dataset.
    ///
    /// # Errors
    ///
    /// As [`read`](Self::read), and [`Error::OutOfRange`].
    pub fn read_acquisition<T: Element>(&self, dataset: &str, index: u64) -> Result<ArrayD<T>> {
        self.dataset_u64::<T>(dataset, None)?
            .read_acquisition(index)
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
    /// rename it over the group's `zarr.json`).
    fn update_attributes(&self, f: impl FnOnce(&mut Map<String, Value>)) -> Result<()> {
        let _g = self
            .inner
            .store
            .shared
            .attrs
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let path = self.inner.dir.join("zarr.json");
        let mut json = read_json(&path)?;
        let Some(Value::Object(attrs)) = json.get_mut("attributes") else {
            return Err(Error::CorruptMetadata {
                path,
                reason: "no attributes object".into(),
            });
        };
        f(attrs);
        write_json(&path, &json)
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

    /// Record the end time (now) and, if given, the summary of the task graph.
    ///
    /// # Errors
    ///
    /// An I/O error or [`Error::CorruptMetadata`].
    pub fn finish(&self, dag_summary: Option<Value>) -> Result<()> {
        self.update_attributes(|a| {
            a.insert(keys::END.into(), now_rfc3339().into());
            if let Some(s) = dag_summary {
                a.insert(keys::DAG_SUMMARY.into(), s);
            }
        })
    }
}
