//! A stored run reopened to be looked at: its state, metadata, DAG summary, and each
//! dataset's values put in scan order by its points, with the units and axis names it
//! records. Shared by `smq show --plot` and the dashboard's `--open` view.
//!
//! ## What is read
//!
//! 1. The store is opened with [`Store::open`]: a run that crashed (no `end`, no writer) is
//!    repaired then ([`StoredRun::repairs`]); a run that another process writes now is only
//!    read, never written, and shows what that process has committed so far.
//! 2. The run's state is [`RunStatus::of`] its metadata (`running` while its writer is
//!    alive, `unfinished` once it is gone); its DAG summary is [`DagSummary::from_json`] of
//!    the stored one.
//! 3. Each dataset `D` with a companion `D_point` is read up to the committed length of
//!    the pair and its acquisitions are sorted by point (stable: repeated points keep their
//!    order); a dataset without one is in acquisition order, its "point" being the
//!    acquisition's index. The `_point` datasets themselves are not listed, nor the
//!    `_time` companions of a plan's datasets and its `grid_index`.
//! 4. Each element type the store writes is read as `f64`.
//!
//! ## Units, axes and 2-D scans
//!
//! A dataset may carry, as attributes of its array (`zarr.json`), `units` (e.g. `"V"`),
//! `quantity` (e.g. `"voltage"`) and `dims`, the names of its axes, scan axes first then
//! the axes of one acquisition. A scan axis named `x` has its coordinates in a scalar
//! dataset of the run: the one the attribute `coords` maps `x` to (`{"x": "stage_x"}`), or
//! else the dataset named `x`, each saved by point. A dataset of scalar acquisitions with
//! two scan axes, both with coordinates, is a 2-D scan: [`StoredRun::map`] gives a value at
//! each point's `(x, y)`.
//!
//! ```
//! use smq_lab::{RunStatus, StoredRun};
//! use smqsched::Scheduler;
//! # let dir = tempfile::tempdir()?;
//! let store = smq_store::Store::create(dir.path())?;
//! let run = store.create_run("scan", "demo", serde_json::json!({"points": 3}))?;
//! let sch = Scheduler::new();
//! let disk = sch.queue("disk", 1)?;
//! for point in 0..3u64 {
//!     let reading = disk.submit((), move |()| 10.0 * point as f64);
//!     run.save_at(&disk, "reading", point, &reading)?;
//! }
//! sch.start();
//! sch.wait();
//! RunStatus::Complete.close(&run, &smq_lab::DagSummary::of(&sch))?;
//!
//! let stored = StoredRun::open(dir.path(), "scan")?;
//! assert_eq!(stored.status, Some(RunStatus::Complete));
//! let reading = stored.dataset("reading").expect("saved");
//! assert_eq!(reading.points, [0, 1, 2]); // by point, whatever order they were saved in
//! assert_eq!(reading.scalars(), Some(vec![0.0, 10.0, 20.0]));
//! assert_eq!(stored.summary.expect("recorded").tasks, 6);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::path::{Path, PathBuf};

use serde_json::Value;
use smq_store::{Run, RunMetadata, Store};

use crate::{DagSummary, RunStatus};

/// Why a stored run could not be opened.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoredError {
    /// No store at that path.
    #[error("no store at {}: directory not found", .0.display())]
    NoStore(PathBuf),
    /// The store has no run of that name.
    #[error("no run named {name:?} in {}", .store.display())]
    NoRun {
        /// The store's directory.
        store: PathBuf,
        /// The name asked for.
        name: String,
    },
    /// A run's folder was expected (`runs/RUN`), and the path does not name one.
    #[error("{} is not the folder of a stored run (expected STORE/RUN)", .0.display())]
    NotARunFolder(PathBuf),
    /// A dataset holds elements of a type this reader does not know.
    #[error("dataset {dataset:?} holds {data_type}, which cannot be read as numbers")]
    DataType {
        /// The dataset.
        dataset: String,
        /// Its Zarr data type.
        data_type: String,
    },
    /// The store could not be read.
    #[error(transparent)]
    Store(#[from] smq_store::Error),
}

/// One dataset of a stored run, its acquisitions in point order (see the module docs).
#[derive(Clone, Debug, PartialEq)]
pub struct StoredDataset {
    /// The dataset's name.
    pub name: String,
    /// Its Zarr data type, e.g. `float64`.
    pub data_type: String,
    /// The shape of one acquisition: `[]` for a scalar reading, `[n]` for a waveform.
    pub acquisition_shape: Vec<usize>,
    /// The scan point of each acquisition, ascending.
    pub points: Vec<u64>,
    /// Whether [`points`](Self::points) come from the companion `_point` dataset (`false`:
    /// they are the acquisitions' indices).
    pub by_point: bool,
    /// The values, acquisition after acquisition, each of [`row_len`](Self::row_len).
    pub values: Vec<f64>,
    /// Attribute `units`, if recorded.
    pub units: Option<String>,
    /// Attribute `quantity`, if recorded.
    pub quantity: Option<String>,
    /// Attribute `dims`: the axis names, scan axes first; empty if not recorded.
    pub dims: Vec<String>,
    /// Attribute `coords`: scan axis name → the dataset of its coordinates.
    pub coords: Vec<(String, String)>,
}

impl StoredDataset {
    /// The number of acquisitions.
    pub fn len(&self) -> usize {
        self.points.len()
    }

    /// Whether it holds no acquisition.
    pub fn is_empty(&self) -> bool {
        self.points.is_empty()
    }

    /// The number of values in one acquisition.
    pub fn row_len(&self) -> usize {
        self.acquisition_shape.iter().product()
    }

    /// Acquisition `i` (in point order), flattened; `None` past the end.
    pub fn row(&self, i: usize) -> Option<&[f64]> {
        let n = self.row_len();
        self.values.get(i * n..(i + 1) * n)
    }

    /// The same, described by the dataset attributes `attrs` as a plan stores them
    /// (`units`, `quantity`, `dims`, `coords`); absent ones leave the fields as they are.
    #[must_use]
    pub fn with_attributes(mut self, attrs: &serde_json::Map<String, Value>) -> Self {
        let text = |k: &str| attrs.get(k).and_then(Value::as_str).map(str::to_owned);
        self.units = text("units").or(self.units);
        self.quantity = text("quantity").or(self.quantity);
        if let Some(a) = attrs.get("dims").and_then(Value::as_array) {
            self.dims = a
                .iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect();
        }
        if let Some(m) = attrs.get("coords").and_then(Value::as_object) {
            self.coords = m
                .iter()
                .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_owned())))
                .collect();
        }
        self
    }

    /// Whether each acquisition is one number.
    pub fn is_scalar(&self) -> bool {
        self.acquisition_shape.is_empty()
    }

    /// The values of a scalar dataset, in point order; `None` for other shapes.
    pub fn scalars(&self) -> Option<Vec<f64>> {
        self.is_scalar().then(|| self.values.clone())
    }

    /// The last acquisition (in point order) of each point, as `(point, row)`.
    pub fn last_of_each_point(&self) -> Vec<(u64, &[f64])> {
        let mut out: Vec<(u64, &[f64])> = Vec::new();
        for (i, &p) in self.points.iter().enumerate() {
            let Some(row) = self.row(i) else { break };
            match out.last_mut() {
                Some(last) if last.0 == p => *last = (p, row),
                _ => out.push((p, row)),
            }
        }
        out
    }

    /// The axis label of the values: `quantity (units)`, or the name.
    pub fn label(&self) -> String {
        let what = self.quantity.clone().unwrap_or_else(|| self.name.clone());
        match &self.units {
            Some(u) => format!("{what} ({u})"),
            None => what,
        }
    }

    /// The names of the scan axes: `dims` without the acquisition's own axes.
    pub fn scan_dims(&self) -> &[String] {
        let own = self.acquisition_shape.len();
        &self.dims[..self.dims.len().saturating_sub(own)]
    }

    /// The name of the acquisition's axis `axis` (e.g. `time` for a waveform), if recorded.
    pub fn acquisition_dim(&self, axis: usize) -> Option<&str> {
        let scan = self.scan_dims().len();
        self.dims.get(scan + axis).map(String::as_str)
    }
}

/// The values of a 2-D scan: at each point, its coordinates on the two scan axes and the
/// value there ([`StoredRun::map`]).
#[derive(Clone, Debug, PartialEq)]
pub struct Map2d {
    /// The two axes' labels (name and units when recorded).
    pub axes: [String; 2],
    /// `(x, y, value)` for each point that has both coordinates.
    pub cells: Vec<[f64; 3]>,
}

/// A stored run, read: see the module docs.
#[derive(Clone, Debug)]
pub struct StoredRun {
    /// The run's folder.
    pub path: PathBuf,
    /// Its metadata as stored.
    pub metadata: RunMetadata,
    /// Its state; `None` if it stored a word outside the vocabulary (then in
    /// [`state`](Self::state)).
    pub status: Option<RunStatus>,
    /// The word of its state, as `smq show` prints it.
    pub state: String,
    /// The DAG summary stored when it ended, if any.
    pub summary: Option<DagSummary>,
    /// Its datasets, by name (the `_point` companions left out).
    pub datasets: Vec<StoredDataset>,
    /// What the store repaired in this run as it was opened (left by a crash).
    pub repairs: Vec<String>,
}

impl StoredRun {
    /// Open run `name` of the store in `store_dir` and read it all.
    ///
    /// # Errors
    ///
    /// [`StoredError::NoStore`], [`StoredError::NoRun`], [`StoredError::DataType`], or the
    /// store's error when something cannot be read.
    pub fn open(store_dir: impl AsRef<Path>, name: &str) -> Result<Self, StoredError> {
        Self::open_after(store_dir.as_ref(), name, None)
    }

    /// The run as stored now: read again from disk, but only the acquisitions stored
    /// since this was read (a run being written grows; what is stored never changes), so
    /// that following a long run costs what it adds, not what it holds.
    ///
    /// ```
    /// use smq_lab::StoredRun;
    /// # let dir = tempfile::tempdir()?;
    /// let store = smq_store::Store::create(dir.path())?;
    /// let run = store.create_run("scan", "demo", serde_json::json!({}))?;
    /// for point in [3u64, 1] {
    ///     run.append_at("reading", point, &(point as f64))?;
    /// }
    /// run.commit()?;
    /// let before = StoredRun::open(dir.path(), "scan")?;
    /// for point in [2u64, 0] {
    ///     run.append_at("reading", point, &(point as f64))?;
    /// }
    /// run.commit()?;
    /// let now = before.refreshed()?;
    /// let reading = now.dataset("reading").expect("saved");
    /// assert_eq!(reading.points, [0, 1, 2, 3]);
    /// assert_eq!(reading.scalars(), Some(vec![0.0, 1.0, 2.0, 3.0]));
    /// assert_eq!(now.datasets, StoredRun::open(dir.path(), "scan")?.datasets); // as a whole read
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    ///
    /// As [`open`](Self::open).
    pub fn refreshed(&self) -> Result<Self, StoredError> {
        let bad = || StoredError::NotARunFolder(self.path.clone());
        let name = self
            .path
            .file_name()
            .and_then(|n| n.to_str())
            .ok_or_else(bad)?;
        let store = self.path.parent().ok_or_else(bad)?;
        Self::open_after(store, name, Some(self))
    }

    fn open_after(
        dir: &Path,
        name: &str,
        previous: Option<&StoredRun>,
    ) -> Result<Self, StoredError> {
        if !dir.is_dir() {
            return Err(StoredError::NoStore(dir.to_owned()));
        }
        let store = Store::open(dir)?;
        if !store.runs()?.iter().any(|r| r == name) {
            return Err(StoredError::NoRun {
                store: dir.to_owned(),
                name: name.to_owned(),
            });
        }
        let run = store.open_run(name)?;
        let run_dir = run.path().to_owned();
        let repairs = store
            .repairs()
            .iter()
            .filter(|r| repair_path(r).is_some_and(|p| p.starts_with(&run_dir)))
            .map(ToString::to_string)
            .collect::<Vec<_>>();
        // What was repaired when it was first read stays said.
        let repairs = previous
            .iter()
            .flat_map(|p| p.repairs.iter().cloned())
            .chain(repairs)
            .collect();
        Self::read(&run, repairs, previous)
    }

    /// Open the run whose folder is `run_dir` (`STORE/RUN`), as [`open`](Self::open).
    ///
    /// # Errors
    ///
    /// [`StoredError::NotARunFolder`] if the path has no parent store and name; as
    /// [`open`](Self::open) otherwise.
    pub fn open_folder(run_dir: impl AsRef<Path>) -> Result<Self, StoredError> {
        let path = run_dir.as_ref();
        let bad = || StoredError::NotARunFolder(path.to_owned());
        let trimmed: PathBuf = path.components().collect();
        let name = trimmed
            .file_name()
            .and_then(|n| n.to_str())
            .ok_or_else(bad)?;
        let parent = match trimmed.parent() {
            Some(p) if p.as_os_str().is_empty() => Path::new("."),
            Some(p) => p,
            None => return Err(bad()),
        };
        if !parent.join("zarr.json").is_file() {
            return Err(bad());
        }
        Self::open(parent, name)
    }

    fn read(
        run: &Run,
        repairs: Vec<String>,
        previous: Option<&StoredRun>,
    ) -> Result<Self, StoredError> {
        let metadata = run.metadata()?;
        let (status, state) = match RunStatus::of(&metadata) {
            Ok(s) => (Some(s), s.to_string()),
            Err(unknown) => (None, unknown.word),
        };
        let summary = metadata
            .dag_summary
            .as_ref()
            .and_then(DagSummary::from_json);
        let infos = run.datasets()?;
        let names: Vec<&str> = infos.iter().map(|d| d.name.as_str()).collect();
        let mut datasets = Vec::new();
        for info in &infos {
            // The scan point and the reading's time of a dataset, and a plan's grid
            // index, describe other datasets: they are not plotted themselves.
            let is_companion = ["_point", "_time"].iter().any(|suffix| {
                info.name
                    .strip_suffix(suffix)
                    .is_some_and(|base| names.contains(&base))
            });
            if is_companion || info.name == "grid_index" {
                continue;
            }
            let before = previous.and_then(|p| p.dataset(&info.name));
            datasets.push(read_dataset(run, info, &names, before)?);
        }
        Ok(Self {
            path: run.path().to_owned(),
            metadata,
            status,
            state,
            summary,
            datasets,
            repairs,
        })
    }

    /// The run's name.
    pub fn name(&self) -> &str {
        &self.metadata.name
    }

    /// Dataset `name`, if the run has it.
    pub fn dataset(&self, name: &str) -> Option<&StoredDataset> {
        self.datasets.iter().find(|d| d.name == name)
    }

    /// The coordinates of scan axis `dim` of `of`, by point: the scalar dataset `of` maps
    /// it to, or the one named `dim`.
    fn coordinates(&self, of: &StoredDataset, dim: &str) -> Option<&StoredDataset> {
        let name = of
            .coords
            .iter()
            .find(|(d, _)| d == dim)
            .map_or(dim, |(_, ds)| ds.as_str());
        self.dataset(name)
            .filter(|d| d.is_scalar() && d.name != of.name)
    }

    /// Dataset `name` as a 2-D scan, if it is one: scalar acquisitions, two scan axes in
    /// `dims`, both with coordinates (see the module docs). Each point's last value.
    pub fn map(&self, name: &str) -> Option<Map2d> {
        let d = self.dataset(name)?;
        if !d.is_scalar() {
            return None;
        }
        let [xd, yd] = d.scan_dims() else {
            return None;
        };
        let (xs, ys) = (self.coordinates(d, xd)?, self.coordinates(d, yd)?);
        let at = |c: &StoredDataset, p: u64| {
            c.last_of_each_point()
                .into_iter()
                .find(|(q, _)| *q == p)
                .and_then(|(_, row)| row.first().copied())
        };
        let cells = d
            .last_of_each_point()
            .into_iter()
            .filter_map(|(p, row)| Some([at(xs, p)?, at(ys, p)?, *row.first()?]))
            .collect();
        Some(Map2d {
            axes: [axis_label(xd, xs), axis_label(yd, ys)],
            cells,
        })
    }

    /// The datasets of one number per acquisition that are not coordinates of another's
    /// 2-D map, nor 2-D maps themselves: the scan plots.
    pub fn scan_plots(&self) -> Vec<&StoredDataset> {
        self.datasets
            .iter()
            .filter(|d| d.is_scalar() && self.map(&d.name).is_none())
            .collect()
    }

    /// The names of the 2-D scans ([`map`](Self::map)).
    pub fn maps(&self) -> Vec<&str> {
        self.datasets
            .iter()
            .filter(|d| self.map(&d.name).is_some())
            .map(|d| d.name.as_str())
            .collect()
    }

    /// The datasets whose acquisitions are 1-D arrays of more than two values: waveforms,
    /// spectra.
    pub fn waveforms(&self) -> Vec<&StoredDataset> {
        self.datasets
            .iter()
            .filter(|d| d.acquisition_shape.len() == 1 && d.row_len() > 2)
            .collect()
    }

    /// The datasets whose acquisitions are pairs `[a, b]` (such as the spectrum peaks
    /// `[frequency, power]`).
    pub fn pairs(&self) -> Vec<&StoredDataset> {
        self.datasets
            .iter()
            .filter(|d| d.acquisition_shape == [2])
            .collect()
    }

    /// The metadata as `(key, value)` lines: experiment, start, end, state (and the reason
    /// of an abort, when recorded), parameters, instruments, then the DAG summary.
    pub fn metadata_lines(&self) -> Vec<(String, String)> {
        let m = &self.metadata;
        let or_dash = |s: &Option<String>| s.clone().unwrap_or_else(|| "-".into());
        let mut lines = vec![
            ("run".to_owned(), m.name.clone()),
            ("experiment".to_owned(), or_dash(&m.experiment)),
            ("start".to_owned(), or_dash(&m.start)),
            ("end".to_owned(), or_dash(&m.end)),
            ("status".to_owned(), self.state.clone()),
        ];
        if let Some(reason) = m.attributes.get("abort_reason").and_then(Value::as_str) {
            lines.push(("abort reason".to_owned(), reason.to_owned()));
        }
        lines.push(("parameters".to_owned(), m.parameters.to_string()));
        for (k, v) in &m.instruments {
            lines.push((format!("instrument {k}"), v.clone()));
        }
        lines.push((
            "tasks".to_owned(),
            self.summary
                .as_ref()
                .map_or_else(|| "(no summary recorded)".to_owned(), ToString::to_string),
        ));
        lines
    }
}

/// The label of a scan axis: its name, and the units of its coordinates.
fn axis_label(dim: &str, coords: &StoredDataset) -> String {
    match &coords.units {
        Some(u) => format!("{dim} ({u})"),
        None => dim.to_owned(),
    }
}

/// The file a repair concerns.
fn repair_path(r: &smq_store::Repair) -> Option<&Path> {
    match r {
        smq_store::Repair::RemovedTemporary(p) => Some(p),
        smq_store::Repair::TrimmedToPoints { path, .. } => Some(path),
        smq_store::Repair::Failed { path, .. } => Some(path),
        _ => None,
    }
}

/// Read acquisitions `range` of a dataset as `f64`, whatever element type it holds.
fn read_f64(
    run: &Run,
    name: &str,
    data_type: &str,
    range: std::ops::Range<u64>,
) -> Result<Vec<f64>, StoredError> {
    fn conv<T: smq_store::Element + Copy>(
        run: &Run,
        name: &str,
        range: std::ops::Range<u64>,
        f: impl Fn(T) -> f64,
    ) -> Result<Vec<f64>, StoredError> {
        Ok(run
            .read_range::<T>(name, range)?
            .iter()
            .map(|&v| f(v))
            .collect())
    }
    match data_type {
        "float64" => conv::<f64>(run, name, range, |v| v),
        "float32" => conv::<f32>(run, name, range, f64::from),
        "int64" => conv::<i64>(run, name, range, |v| v as f64),
        "int32" => conv::<i32>(run, name, range, f64::from),
        "int16" => conv::<i16>(run, name, range, f64::from),
        "uint64" => conv::<u64>(run, name, range, |v| v as f64),
        "uint16" => conv::<u16>(run, name, range, f64::from),
        "uint8" => conv::<u8>(run, name, range, f64::from),
        other => Err(StoredError::DataType {
            dataset: name.to_owned(),
            data_type: other.to_owned(),
        }),
    }
}

/// Read dataset `info` of `run`. With `previous`, what an earlier read of the same run got
/// of it: only the acquisitions stored since are read, and merged in point order.
fn read_dataset(
    run: &Run,
    info: &smq_store::DatasetInfo,
    names: &[&str],
    previous: Option<&StoredDataset>,
) -> Result<StoredDataset, StoredError> {
    let name = &info.name;
    let acquisition_shape: Vec<usize> = info
        .acquisition_shape()
        .iter()
        .map(|&n| n as usize)
        .collect();
    let row_len: usize = acquisition_shape.iter().product();
    let points_name = Run::points_of(name);
    let by_point = names.contains(&points_name.as_str());
    let points: Vec<u64> = if by_point {
        run.read::<u64>(&points_name)?.iter().copied().collect()
    } else {
        (0..info.len()).collect()
    };
    // The pair's committed length is that of the points (the values are trimmed to it).
    let n = points.len().min(info.len() as usize);
    // Acquisitions `0..from` (in the order stored) are those of `previous`, if it is the
    // same dataset read before.
    let from = previous
        .filter(|p| {
            p.data_type == info.data_type
                && p.acquisition_shape == acquisition_shape
                && p.by_point == by_point
                && p.len() <= n
        })
        .map_or(0, StoredDataset::len);
    let new_values = read_f64(run, name, &info.data_type, from as u64..n as u64)?;
    let mut order: Vec<usize> = (from..n).collect();
    order.sort_by_key(|&i| points[i]);
    let row = |i: usize| &new_values[(i - from) * row_len..(i - from + 1) * row_len];
    // Merge, stable: at equal points the acquisitions read before (stored earlier) first.
    let (old_points, old_values): (&[u64], &[f64]) = match previous {
        Some(p) if from > 0 => (&p.points, &p.values),
        _ => (&[], &[]),
    };
    let mut sorted_points = Vec::with_capacity(n);
    let mut values = Vec::with_capacity(n * row_len);
    let (mut a, mut b) = (0, 0);
    while a < old_points.len() || b < order.len() {
        let take_old =
            b == order.len() || (a < old_points.len() && old_points[a] <= points[order[b]]);
        if take_old {
            sorted_points.push(old_points[a]);
            values.extend_from_slice(&old_values[a * row_len..(a + 1) * row_len]);
            a += 1;
        } else {
            sorted_points.push(points[order[b]]);
            values.extend_from_slice(row(order[b]));
            b += 1;
        }
    }
    let attrs = run.dataset_attributes(name);
    Ok(StoredDataset {
        name: name.clone(),
        data_type: info.data_type.clone(),
        acquisition_shape,
        points: sorted_points,
        by_point,
        values,
        units: None,
        quantity: None,
        dims: Vec::new(),
        coords: Vec::new(),
    }
    .with_attributes(&attrs))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use serde_json::json;
    use smqsched::Scheduler;

    /// Save `values[i]` at point `order[i]` into dataset `name`, through a one-slot queue
    /// (the values are appended in the order given), then commit.
    fn save_points(run: &Run, name: &str, order: &[u64], value: impl Fn(u64) -> f64) {
        let sch = Scheduler::new();
        let disk = sch.queue("disk", 1).unwrap();
        let mut saved = Vec::new();
        for &p in order {
            let v = value(p);
            let promise = disk.submit((), move |()| v);
            saved.push(run.save_at(&disk, name, p, &promise).unwrap());
        }
        sch.start();
        for s in saved {
            s.result().unwrap();
        }
        run.commit().unwrap();
    }

    /// Set attributes of dataset `name` in its `zarr.json`, as the plan layer records them.
    fn set_dataset_attributes(run_dir: &Path, name: &str, attrs: Value) {
        let path = run_dir.join(name).join("zarr.json");
        let mut meta: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
        meta["attributes"] = attrs;
        std::fs::write(&path, serde_json::to_vec(&meta).unwrap()).unwrap();
    }

    /// A run read, then read again after each of several commits of acquisitions (a
    /// waveform by point, with repeated points and points out of order, a scalar by point,
    /// a plain dataset): each refreshed read equals a whole read of the run.
    #[test]
    fn a_refreshed_read_equals_a_whole_read_after_every_commit() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::create(dir.path()).unwrap();
        let run = store.create_run("r", "demo", json!({})).unwrap();
        let batches: [&[u64]; 4] = [&[5, 9, 2], &[], &[7, 2, 0, 9, 9], &[1, 3, 4, 6, 8, 2]];
        let mut seen = StoredRun::open(dir.path(), "r").unwrap();
        assert!(seen.datasets.is_empty());
        let mut k = 0u32;
        for batch in batches {
            for &p in batch {
                k += 1;
                let wave = ndarray::Array1::from_vec(vec![p as f64, f64::from(k), -1.0]);
                run.append_at("wave", p, &wave).unwrap();
                run.append_at("reading", p, &(f64::from(k) / 4.0)).unwrap();
                run.append("count", &i64::from(k)).unwrap();
            }
            run.commit().unwrap();
            let whole = StoredRun::open(dir.path(), "r").unwrap();
            seen = seen.refreshed().unwrap();
            assert_eq!(seen.datasets, whole.datasets, "after {batch:?}");
        }
        let wave = seen.dataset("wave").unwrap();
        assert_eq!(wave.points, [0, 1, 2, 2, 2, 3, 4, 5, 6, 7, 8, 9, 9, 9]);
        // Repeated points keep the order they were stored in (k: 3, 5, then 14).
        let at_2: Vec<f64> = (2..5).map(|i| wave.row(i).unwrap()[1]).collect();
        assert_eq!(at_2, [3.0, 5.0, 14.0]);
    }

    #[test]
    fn a_finished_run_reads_by_point_with_its_summary() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::create(dir.path()).unwrap();
        let run = store.create_run("r", "demo", json!({"points": 4})).unwrap();
        // Saved newest point first, as the scheduler runs them.
        save_points(&run, "level", &[3, 2, 1, 0], |p| 10.0 * p as f64);
        let summary = DagSummary {
            tasks: 8,
            ..DagSummary::default()
        };
        RunStatus::Complete.close(&run, &summary).unwrap();
        drop((run, store));

        let s = StoredRun::open(dir.path(), "r").unwrap();
        assert_eq!(
            (s.status, s.state.as_str()),
            (Some(RunStatus::Complete), "complete")
        );
        assert_eq!(s.summary, Some(summary));
        assert_eq!(s.datasets.len(), 1, "the _point companion is not listed");
        let level = s.dataset("level").unwrap();
        assert!(level.by_point);
        assert_eq!(level.points, [0, 1, 2, 3]);
        assert_eq!(level.scalars().unwrap(), [0.0, 10.0, 20.0, 30.0]);
        assert_eq!(s.scan_plots().len(), 1);
        assert!(s.repairs.is_empty());
        let lines = s.metadata_lines();
        assert!(
            lines.contains(&("status".into(), "complete".into())),
            "{lines:?}"
        );
        assert!(
            lines.contains(&("tasks".into(), "8 tasks: ".into())),
            "{lines:?}"
        );
        // Through the folder, as `--open runs/r`.
        let again = StoredRun::open_folder(dir.path().join("r/")).unwrap();
        assert_eq!(again.datasets, s.datasets);
    }

    #[test]
    fn an_aborted_run_keeps_what_was_saved() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::create(dir.path()).unwrap();
        let run = store.create_run("a", "demo", json!({})).unwrap();
        save_points(&run, "level", &[5, 4], |p| p as f64);
        run.set_attribute("abort_reason", json!("Ctrl-C")).unwrap();
        RunStatus::Aborted
            .close(&run, &DagSummary::default())
            .unwrap();
        let s = StoredRun::open(dir.path(), "a").unwrap();
        assert_eq!(s.status, Some(RunStatus::Aborted));
        let lines = s.metadata_lines();
        assert!(
            lines.contains(&("abort reason".into(), "Ctrl-C".into())),
            "{lines:?}"
        );
        assert_eq!(s.dataset("level").unwrap().points, [4, 5]);
    }

    #[test]
    fn a_run_being_written_shows_what_is_committed_and_says_running() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::create_with(
            dir.path(),
            smq_store::StoreOptions::new().commit_every(std::time::Duration::from_secs(3600)),
        )
        .unwrap();
        let run = store.create_run("live", "demo", json!({})).unwrap();
        RunStatus::record_writer(&run).unwrap();
        save_points(&run, "level", &[1, 0], |p| p as f64);
        // Appended, not committed: a reader of the disk cannot see it yet.
        let more = run.dataset::<f64>("extra", &[]).unwrap();
        more.push(1.0).unwrap();

        let s = StoredRun::open(dir.path(), "live").unwrap();
        if cfg!(target_os = "linux") {
            assert_eq!(s.status, Some(RunStatus::Running));
        }
        assert!(s.metadata.end.is_none());
        assert_eq!(s.dataset("level").unwrap().len(), 2);
        assert_eq!(s.dataset("extra").unwrap().len(), 0);
        assert!(s.summary.is_none());
        // The writer goes on; a second look sees the new commit.
        run.commit().unwrap();
        let s = StoredRun::open(dir.path(), "live").unwrap();
        assert_eq!(s.dataset("extra").unwrap().len(), 1);
        assert!(
            run.metadata().unwrap().end.is_none(),
            "the reader wrote nothing"
        );
    }

    #[test]
    fn a_crashed_run_is_repaired_and_read_up_to_its_points() {
        let dir = tempfile::tempdir().unwrap();
        {
            let store = Store::create(dir.path()).unwrap();
            let run = store.create_run("c", "demo", json!({})).unwrap();
            save_points(&run, "level", &[2, 1, 0], |p| p as f64);
        } // dropped without an end, as a killed writer leaves it
        // What a crash between the two renames of a commit leaves: the values published
        // one acquisition beyond their points, and a temporary file.
        let run_dir = dir.path().join("c");
        let meta_path = run_dir.join("level").join("zarr.json");
        let mut meta: Value = serde_json::from_slice(&std::fs::read(&meta_path).unwrap()).unwrap();
        meta["shape"] = json!([4]);
        std::fs::write(&meta_path, serde_json::to_vec(&meta).unwrap()).unwrap();
        std::fs::write(run_dir.join("level").join("zarr.json.tmp"), b"{").unwrap();

        let s = StoredRun::open(dir.path(), "c").unwrap();
        assert_eq!(s.status, Some(RunStatus::Unfinished));
        assert_eq!(s.repairs.len(), 2, "{:?}", s.repairs);
        let level = s.dataset("level").unwrap();
        assert_eq!(level.points, [0, 1, 2]);
        assert_eq!(level.values, [0.0, 1.0, 2.0]);
    }

    #[test]
    fn a_grid_scan_with_dims_and_coordinates_is_a_map() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::create(dir.path()).unwrap();
        let run = store.create_run("g", "grid", json!({})).unwrap();
        // A 3 x 2 grid, point p at x = p % 3, y = p / 3.
        let pts: Vec<u64> = (0..6).rev().collect();
        save_points(&run, "stage_x", &pts, |p| (p % 3) as f64);
        save_points(&run, "y", &pts, |p| (p / 3) as f64);
        save_points(&run, "signal", &pts, |p| 100.0 + p as f64);
        RunStatus::Complete
            .close(&run, &DagSummary::default())
            .unwrap();
        drop((run, store));
        let run_dir = dir.path().join("g");
        set_dataset_attributes(
            &run_dir,
            "signal",
            json!({"units": "V", "quantity": "signal", "dims": ["x", "y"],
                   "coords": {"x": "stage_x"}}),
        );
        set_dataset_attributes(&run_dir, "stage_x", json!({"units": "mm"}));

        let s = StoredRun::open(dir.path(), "g").unwrap();
        let signal = s.dataset("signal").unwrap();
        assert_eq!(signal.label(), "signal (V)");
        assert_eq!(signal.scan_dims(), ["x", "y"]);
        let map = s.map("signal").unwrap();
        assert_eq!(map.axes, ["x (mm)".to_owned(), "y".to_owned()]);
        assert_eq!(map.cells.len(), 6);
        assert!(map.cells.contains(&[2.0, 1.0, 105.0]), "{:?}", map.cells);
        assert_eq!(s.maps(), ["signal"]);
        assert!(s.scan_plots().iter().all(|d| d.name != "signal"));
        assert!(s.map("stage_x").is_none());
    }

    #[test]
    fn bad_paths_are_clear_errors() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("nope");
        assert!(matches!(
            StoredRun::open(&missing, "r"),
            Err(StoredError::NoStore(_))
        ));
        Store::create(dir.path()).unwrap();
        let e = StoredRun::open(dir.path(), "r").unwrap_err();
        assert!(e.to_string().contains("no run named \"r\""), "{e}");
        assert!(matches!(
            StoredRun::open_folder(dir.path()),
            Err(StoredError::NotARunFolder(_))
        ));
    }
}
