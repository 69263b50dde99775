//! The store: a directory of runs, its writer and its commits.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use serde_json::{Map, Value};
use zarrs::filesystem::FilesystemStore;

use crate::commit::{self, Committer};
use crate::dataset::Cell;
use crate::error::{Error, Result, io};
use crate::fs::FileSystem;
use crate::fsutil::{
    TMP_SUFFIX, check_name, child_nodes, group_json, now_rfc3339, read_json, write_json,
};
use crate::options::StoreOptions;
use crate::recover::{Repair, RunLock, is_locked, lock_run, remove_temporary, repair_run};
use crate::run::{Run, keys};

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
/// A store handle and its clones share the dataset writers (so appends to a dataset are
/// serialized), the commits and the writer thread. A run is written by one store at a
/// time: a second store (in this process or another) that tries to write to it gets
/// [`Error::RunBusy`]; reading is always allowed. When the last handle (including those
/// held by runs and datasets) is dropped, what was appended is committed.
#[derive(Clone)]
pub struct Store {
    pub(crate) shared: Arc<Shared>,
}

/// State shared by a store's handles, runs and datasets.
pub(crate) struct Shared {
    pub(crate) root: PathBuf,
    pub(crate) zarr: Arc<FilesystemStore>,
    pub(crate) options: StoreOptions,
    /// Serializes read-modify-write updates of run attributes.
    pub(crate) attrs: Mutex<()>,
    /// The open dataset writers, by (run, dataset).
    pub(crate) datasets: Mutex<HashMap<(String, String), OpenDataset>>,
    /// The runs this store writes to, with their locks.
    locks: Mutex<HashMap<String, RunLock>>,
    /// What was repaired when the store was opened or a run taken up again.
    repairs: Mutex<Vec<Repair>>,
    /// Descriptions given with `Run::describe` for datasets not created yet, by (run,
    /// dataset): written into each one's metadata when it is created.
    pub(crate) descriptions: Mutex<HashMap<(String, String), crate::Description>>,
    pub(crate) commits: Committer,
}

/// An open dataset writer and its element type's name.
pub(crate) struct OpenDataset {
    pub(crate) cell: Arc<Cell>,
    pub(crate) data_type: &'static str,
}

pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Shared {
    pub(crate) fn fs(&self) -> &dyn FileSystem {
        &*self.options.fs
    }

    /// `Ok` unless a commit failed.
    pub(crate) fn check_running(&self) -> Result<()> {
        self.commits.check()
    }

    /// Make this store the writer of run `name` (directory `dir`), once: take its lock
    /// and repair what an interrupted writer left in it.
    pub(crate) fn write_run(&self, name: &str, dir: &Path) -> Result<()> {
        let mut locks = lock(&self.locks);
        if locks.contains_key(name) {
            return Ok(());
        }
        let run_lock = lock_run(dir, name)?;
        let repairs = repair_run(self.fs(), dir);
        lock(&self.repairs).extend(repairs);
        locks.insert(name.to_owned(), run_lock);
        Ok(())
    }

    /// After a failed commit, repair the run in `dir` (which this store writes) as its
    /// next writer would, so that it is left as clean as the disk allows.
    pub(crate) fn repair_own_run(&self, dir: &Path) {
        let repairs = repair_run(self.fs(), dir);
        lock(&self.repairs).extend(repairs);
    }
}

impl Drop for Shared {
    fn drop(&mut self) {
        self.commits.stop_writer();
        // The last commit; a failure reaches the `on_failure` callbacks.
        let _ = commit::commit_all(self);
    }
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("path", &self.shared.root)
            .field("options", &self.shared.options)
            .finish()
    }
}

/// Create `path` and its missing parents through `fs`.
fn create_dirs(fs: &dyn FileSystem, path: &Path) -> Result<()> {
    let missing: Vec<&Path> = path.ancestors().take_while(|p| !p.is_dir()).collect();
    for dir in missing.into_iter().rev() {
        if dir.as_os_str().is_empty() {
            continue;
        }
        fs.create_dir(dir).map_err(io(dir))?;
    }
    Ok(())
}

impl Store {
    /// Open the store at `path` with the default [`StoreOptions`], creating the directory
    /// and its root group if needed.
    ///
    /// # Errors
    ///
    /// An I/O error if the directory cannot be created; [`Error::NotAStore`] or
    /// [`Error::CorruptMetadata`] if `path/zarr.json` exists but is not a group.
    pub fn create(path: impl AsRef<Path>) -> Result<Self> {
        Self::create_with(path, StoreOptions::default())
    }

    /// [`create`](Self::create) with `options`.
    ///
    /// # Errors
    ///
    /// As [`create`](Self::create).
    pub fn create_with(path: impl AsRef<Path>, options: StoreOptions) -> Result<Self> {
        let root = path.as_ref().to_owned();
        let fs = &*options.fs;
        create_dirs(fs, &root)?;
        let meta = root.join("zarr.json");
        if !meta.exists() {
            let mut attrs = Map::new();
            attrs.insert("smq_store".into(), serde_json::json!({"layout": 1}));
            write_json(fs, &meta, &group_json(attrs))?;
        }
        Self::open_with(root, options)
    }

    /// Open an existing store with the default [`StoreOptions`]. Runs left by a writer
    /// that was interrupted (no `end`, no writer any more) are repaired: see
    /// [`repairs`](Self::repairs).
    ///
    /// # Errors
    ///
    /// [`Error::NotAStore`] if `path/zarr.json` is missing or not a group;
    /// [`Error::CorruptMetadata`] if it cannot be parsed.
    pub fn open(path: impl AsRef<Path>) -> Result<Self> {
        Self::open_with(path, StoreOptions::default())
    }

    /// [`open`](Self::open) with `options`.
    ///
    /// # Errors
    ///
    /// As [`open`](Self::open).
    pub fn open_with(path: impl AsRef<Path>, options: StoreOptions) -> Result<Self> {
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
        let shared = Shared {
            root,
            zarr: Arc::new(zarr),
            options,
            attrs: Mutex::default(),
            datasets: Mutex::default(),
            locks: Mutex::default(),
            repairs: Mutex::default(),
            descriptions: Mutex::default(),
            commits: Committer::default(),
        };
        let store = Self {
            shared: Arc::new(shared),
        };
        store.repair_interrupted()?;
        Ok(store)
    }

    /// Repair every run that has no `end` and no writer.
    fn repair_interrupted(&self) -> Result<()> {
        let root = &self.shared.root;
        let mut repairs = Vec::new();
        let tmp = root.join(format!("zarr.json{TMP_SUFFIX}"));
        if tmp.is_file() {
            repairs.push(remove_temporary(self.shared.fs(), &tmp));
        }
        for name in child_nodes(root, "group")? {
            let dir = root.join(&name);
            let ended = read_json(&dir.join("zarr.json"))
                .ok()
                .is_some_and(|m| m["attributes"].get(keys::END).is_some());
            if !ended && !is_locked(&dir) {
                repairs.extend(repair_run(self.shared.fs(), &dir));
            }
        }
        lock(&self.shared.repairs).extend(repairs);
        Ok(())
    }

    /// The store's directory.
    pub fn path(&self) -> &Path {
        &self.shared.root
    }

    /// The options the store was opened with.
    pub fn options(&self) -> &StoreOptions {
        &self.shared.options
    }

    /// What this store repaired, when opened or when it took up a run again, in runs left
    /// by an interrupted writer: temporary files removed, datasets set back to the length
    /// of their points. Empty after clean runs.
    ///
    /// ```
    /// # let dir = tempfile::tempdir()?;
    /// let store = smq_store::Store::create(dir.path())?;
    /// let run = store.create_run("r", "demo", serde_json::json!({}))?;
    /// drop((run, store));
    /// // What a writer killed in the middle of a metadata update leaves behind:
    /// std::fs::write(dir.path().join("r/zarr.json.tmp"), b"{\"half\": ")?;
    /// let store = smq_store::Store::open(dir.path())?;
    /// let repairs = store.repairs();
    /// assert_eq!(repairs.len(), 1);
    /// assert!(repairs[0].to_string().contains("zarr.json.tmp, left by an interrupted write"));
    /// assert!(!dir.path().join("r/zarr.json.tmp").exists());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn repairs(&self) -> Vec<Repair> {
        lock(&self.shared.repairs).clone()
    }

    /// Commit everything appended so far, to all runs, and wait until it is durable (see
    /// the crate docs on commits). Commits also happen on their own, every
    /// [`commit_every`](StoreOptions::commit_every).
    ///
    /// # Errors
    ///
    /// [`Error::Stopped`] if this or an earlier commit failed; it holds the first failure.
    pub fn commit(&self) -> Result<()> {
        commit::commit_all(&self.shared)
    }

    /// Call `f` once, with the error, when a commit fails and the store stops writing; at
    /// once if it has stopped already. `f` runs on the thread whose commit failed (the
    /// writer thread, usually): keep it short, e.g. send a message.
    ///
    /// ```
    /// # let dir = tempfile::tempdir()?;
    /// use std::sync::mpsc;
    /// use smq_store::{FailingFileSystem, Store, StoreOptions};
    ///
    /// let disk = FailingFileSystem::after(u64::MAX);
    /// let store = Store::create_with(dir.path(), StoreOptions::new().file_system(disk.clone()))?;
    /// let (tx, failures) = mpsc::channel();
    /// store.on_failure(move |e| {
    ///     let _ = tx.send(e.to_string());
    /// });
    /// let run = store.create_run("r", "demo", serde_json::json!({}))?;
    /// run.dataset::<f64>("temperature", &[])?.push(21.5)?;
    /// disk.fail_after(0);
    /// assert!(store.commit().is_err());
    /// assert!(failures.recv()?.contains("No space left on device"));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn on_failure(&self, f: impl Fn(&Error) + Send + Sync + 'static) {
        self.shared.commits.on_failure(Arc::new(f));
    }

    /// The failure that stopped the store, if a commit failed.
    pub fn failure(&self) -> Option<Arc<Error>> {
        self.shared.commits.failure()
    }

    /// The names of the runs, sorted.
    ///
    /// # Errors
    ///
    /// An I/O error if the directory cannot be listed; [`Error::CorruptMetadata`] if a
    /// subdirectory's `zarr.json` cannot be parsed.
    pub fn runs(&self) -> Result<Vec<String>> {
        child_nodes(&self.shared.root, "group")
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
    /// parameters; this store becomes its writer.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidName`] for a name other than `[A-Za-z0-9_.-]+` (not starting with
    /// `.`); [`Error::RunExists`] if the run exists; an I/O error if writing fails.
    pub fn create_run(&self, name: &str, experiment: &str, parameters: Value) -> Result<Run> {
        check_name(name)?;
        let dir = self.shared.root.join(name);
        if dir.join("zarr.json").exists() {
            return Err(Error::RunExists(name.to_owned()));
        }
        let fs = self.shared.fs();
        fs.create_dir(&dir).map_err(io(&dir))?;
        self.shared.write_run(name, &dir)?;
        let mut attrs = Map::new();
        attrs.insert(keys::START.into(), now_rfc3339().into());
        attrs.insert(keys::EXPERIMENT.into(), experiment.into());
        attrs.insert(keys::PARAMETERS.into(), parameters);
        attrs.insert(keys::INSTRUMENTS.into(), Value::Object(Map::new()));
        write_json(fs, &dir.join("zarr.json"), &group_json(attrs))?;
        fs.sync_dir(&self.shared.root)
            .map_err(io(&self.shared.root))?;
        self.open_run(name)
    }

    /// Open an existing run, to read it or to append more.
    ///
    /// # Errors
    ///
    /// [`Error::RunNotFound`] if there is no such run.
    pub fn open_run(&self, name: &str) -> Result<Run> {
        check_name(name).map_err(|_| Error::RunNotFound(name.to_owned()))?;
        let dir = self.shared.root.join(name);
        if crate::fsutil::node_type(&dir).as_deref() != Some("group") {
            return Err(Error::RunNotFound(name.to_owned()));
        }
        Ok(Run::new(self.clone(), name, dir))
    }
}
