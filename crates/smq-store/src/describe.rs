//! Self-describing datasets: dimension names and attributes in each array's metadata.

use serde_json::{Map, Value};

use crate::{Result, Run, store::lock};

/// What a dataset holds, written into its Zarr metadata: the names of its dimensions
/// (`dimension_names`, which xarray reads as the variable's dimensions) and free
/// attributes (`attributes`: units, the quantity, where it came from).
///
/// A dataset's first dimension is its acquisitions, in the order they were stored; a
/// dataset `D` saved with [`Run::append_at`] has its scan point per acquisition in
/// `D_point`, so name the first dimension of both alike (e.g. `D_acquisition`).
///
/// # Examples
///
/// ```
/// use smq_store::{Description, Store};
///
/// # let dir = tempfile::tempdir()?;
/// let store = Store::create(dir.path())?;
/// let run = store.create_run("scan", "demo", serde_json::json!({}))?;
/// let trace = Description::new(["trace_acquisition", "sample"])
///     .with("units", "V")
///     .with("quantity", "voltage");
/// run.describe("trace", &trace)?;
/// run.append_at("trace", 0, &vec![0.5f64, 0.25])?;
/// run.commit()?;
/// let meta: serde_json::Value =
///     serde_json::from_slice(&std::fs::read(run.path().join("trace/zarr.json"))?)?;
/// assert_eq!(meta["dimension_names"], serde_json::json!(["trace_acquisition", "sample"]));
/// assert_eq!(meta["attributes"]["units"], "V");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Description {
    /// One name per dimension, the acquisitions' first. A dataset with more dimensions
    /// names the others after the first (`NAME_dim2`); one with fewer drops the last names.
    pub dimension_names: Vec<String>,
    /// The dataset's attributes.
    pub attributes: Map<String, Value>,
}

impl Description {
    /// A description with these dimension names and no attribute.
    pub fn new<S: Into<String>>(dimension_names: impl IntoIterator<Item = S>) -> Self {
        Self {
            dimension_names: dimension_names.into_iter().map(Into::into).collect(),
            attributes: Map::new(),
        }
    }

    /// The same with the attribute `key` set to `value`.
    #[must_use]
    pub fn with(mut self, key: &str, value: impl Into<Value>) -> Self {
        self.attributes.insert(key.to_owned(), value.into());
        self
    }

    /// Write the description into an array's metadata of `ndim` dimensions.
    pub(crate) fn apply(&self, meta: &mut Value, ndim: usize) {
        if let Some(first) = self.dimension_names.first() {
            let names: Vec<String> = (0..ndim)
                .map(|k| {
                    self.dimension_names
                        .get(k)
                        .cloned()
                        .unwrap_or_else(|| format!("{first}_dim{k}"))
                })
                .collect();
            meta["dimension_names"] = Value::from(names);
        }
        if !self.attributes.is_empty() {
            meta["attributes"] = Value::Object(self.attributes.clone());
        }
    }
}

impl Run {
    /// Describe the dataset `name` (dimension names and attributes, see [`Description`])
    /// before it is created: the description is written with its metadata at its first
    /// commit. A dataset that exists already keeps its description (a run taken up again
    /// keeps what it was created with).
    ///
    /// # Errors
    ///
    /// [`Error::InvalidName`](crate::Error::InvalidName) for a name that cannot be a
    /// dataset's.
    pub fn describe(&self, name: &str, description: &Description) -> Result<()> {
        crate::fsutil::check_name(name)?;
        let shared = self.shared();
        lock(&shared.descriptions).insert(
            (self.name().to_owned(), name.to_owned()),
            description.clone(),
        );
        Ok(())
    }
    /// The attributes of dataset `name` as committed: its description's, once it has
    /// reached the disk; empty if it has none, is not committed yet or does not exist.
    ///
    /// # Examples
    ///
    /// ```
    /// # let dir = tempfile::tempdir()?;
    /// let store = smq_store::Store::create(dir.path())?;
    /// let run = store.create_run("scan", "demo", serde_json::json!({}))?;
    /// run.describe("v", &smq_store::Description::new(["v_acquisition"]).with("units", "V"))?;
    /// run.append("v", &1.5f64)?;
    /// assert!(run.dataset_attributes("v").is_empty()); // not committed yet
    /// run.commit()?;
    /// assert_eq!(run.dataset_attributes("v")["units"], "V");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn dataset_attributes(&self, name: &str) -> Map<String, Value> {
        std::fs::read(self.path().join(name).join("zarr.json"))
            .ok()
            .and_then(|b| serde_json::from_slice::<Value>(&b).ok())
            .and_then(|mut v| match v.get_mut("attributes").map(Value::take) {
                Some(Value::Object(m)) => Some(m),
                _ => None,
            })
            .unwrap_or_default()
    }
}
