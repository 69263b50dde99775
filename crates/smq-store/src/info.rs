//! What a dataset is on disk: its type and committed shape, read from its metadata.

use std::path::Path;

use serde_json::Value;

use crate::error::{Error, Result};
use crate::fsutil::read_json;

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

    /// The dataset `name` of the run in `run_dir` as committed: its length is that of its
    /// points dataset if that is shorter (see the crate docs on reading).
    pub(crate) fn read(name: &str, run_dir: &Path) -> Result<Self> {
        let path = run_dir.join(name).join("zarr.json");
        let (data_type, mut shape) = parse_array_meta(&path, &read_json(&path)?)?;
        if let Some(points) = stored_points_len(run_dir, name) {
            shape[0] = shape[0].min(points);
        }
        Ok(Self {
            name: name.to_owned(),
            data_type,
            shape,
        })
    }
}

/// The name of the dataset holding the scan point of each acquisition of `dataset`.
pub(crate) fn points_name(dataset: &str) -> String {
    format!("{dataset}_point")
}

/// The committed length of the points dataset of `name`, if there is one on disk.
pub(crate) fn stored_points_len(run_dir: &Path, name: &str) -> Option<u64> {
    let path = run_dir.join(points_name(name)).join("zarr.json");
    let meta = read_json(&path).ok()?;
    parse_array_meta(&path, &meta).ok().map(|(_, s)| s[0])
}

fn corrupt(path: &Path, reason: &str) -> Error {
    Error::CorruptMetadata {
        path: path.to_owned(),
        reason: reason.to_owned(),
    }
}

/// The data type and shape of an array's metadata.
pub(crate) fn parse_array_meta(path: &Path, meta: &Value) -> Result<(String, Vec<u64>)> {
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
