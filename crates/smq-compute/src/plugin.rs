//! The plugin interface through which a dashboard or a command line tool
//! discovers and runs processing steps.

use std::fmt;

use ndarray::ArrayD;

use crate::error::ComputeError;
use crate::params::{ParamSpec, Params};

/// How many input arrays a plugin takes, and what they are called.
///
/// # Examples
///
/// ```
/// use smq_compute::{plugin, InputSpec};
/// assert_eq!(plugin("polyfit").unwrap().inputs(), InputSpec::Fixed(&["x", "y"]));
/// assert_eq!(plugin("average").unwrap().inputs(), InputSpec::AtLeastOne("frames"));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InputSpec {
    /// Exactly these inputs, in this order.
    Fixed(&'static [&'static str]),
    /// One or more inputs of the same role (e.g. frames to average).
    AtLeastOne(&'static str),
}

impl InputSpec {
    /// Checks that `count` inputs are acceptable.
    ///
    /// # Errors
    ///
    /// [`ComputeError::InputCount`] otherwise.
    ///
    /// # Examples
    ///
    /// ```
    /// use smq_compute::InputSpec;
    /// assert!(InputSpec::Fixed(&["x", "y"]).check(2).is_ok());
    /// assert!(InputSpec::AtLeastOne("frames").check(0).is_err());
    /// ```
    pub fn check(&self, count: usize) -> Result<(), ComputeError> {
        let expected = match self {
            InputSpec::Fixed(names) => names.len(),
            InputSpec::AtLeastOne(_) => 1,
        };
        let ok = match self {
            InputSpec::Fixed(_) => count == expected,
            InputSpec::AtLeastOne(_) => count >= 1,
        };
        if ok {
            Ok(())
        } else {
            Err(ComputeError::InputCount {
                expected,
                found: count,
            })
        }
    }
}

/// Named output arrays of a plugin run, in a fixed order.
///
/// # Examples
///
/// ```
/// use ndarray::{array, ArrayD};
/// use smq_compute::Outputs;
/// let mut out = Outputs::new();
/// out.push("mean", array![1.0, 2.0].into_dyn());
/// assert_eq!(out.get("mean").map(ArrayD::len), Some(2));
/// assert_eq!(out.names().collect::<Vec<_>>(), ["mean"]);
/// ```
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Outputs {
    items: Vec<(String, ArrayD<f64>)>,
}

impl Outputs {
    /// No outputs yet.
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(smq_compute::Outputs::new().is_empty());
    /// ```
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends an output.
    ///
    /// # Examples
    ///
    /// ```
    /// let mut out = smq_compute::Outputs::new();
    /// out.push("x", ndarray::ArrayD::zeros(vec![3]));
    /// assert_eq!(out.len(), 1);
    /// ```
    pub fn push(&mut self, name: &str, value: ArrayD<f64>) {
        self.items.push((name.to_owned(), value));
    }

    /// The output called `name`.
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(smq_compute::Outputs::new().get("x").is_none());
    /// ```
    pub fn get(&self, name: &str) -> Option<&ArrayD<f64>> {
        self.items.iter().find(|(n, _)| n == name).map(|(_, v)| v)
    }

    /// Output names, in order.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(smq_compute::Outputs::new().names().count(), 0);
    /// ```
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.items.iter().map(|(n, _)| n.as_str())
    }

    /// `(name, array)` pairs, in order.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(smq_compute::Outputs::new().iter().count(), 0);
    /// ```
    pub fn iter(&self) -> impl Iterator<Item = (&str, &ArrayD<f64>)> {
        self.items.iter().map(|(n, v)| (n.as_str(), v))
    }

    /// Number of outputs.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(smq_compute::Outputs::new().len(), 0);
    /// ```
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// Whether there are no outputs.
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(smq_compute::Outputs::new().is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }
}

/// A processing step that can be discovered and run by name.
///
/// The trait is object safe and implementors are `Send + Sync`, so a
/// registry can hand out `&'static dyn Plugin` to any thread. Inputs and
/// outputs are dynamic-dimensional `f64` arrays; parameters are checked
/// against [`Plugin::params`], missing ones take their defaults.
///
/// # Examples
///
/// ```
/// use ndarray::array;
/// use smq_compute::{plugin, Params};
///
/// let p = plugin("normalize").expect("built-in");
/// let out = p.run(&[array![2.0, 4.0, 6.0].into_dyn()], &Params::new().with("method", "max"))?;
/// assert_eq!(out.get("signal").unwrap()[[2]], 1.0);
/// # Ok::<(), smq_compute::ComputeError>(())
/// ```
pub trait Plugin: Send + Sync {
    /// Unique, stable, snake_case name.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(smq_compute::plugins()[0].name(), "average");
    /// ```
    fn name(&self) -> &'static str;

    /// One-sentence description for users.
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(smq_compute::plugins().iter().all(|p| !p.description().is_empty()));
    /// ```
    fn description(&self) -> &'static str;

    /// The input arrays the plugin takes.
    ///
    /// # Examples
    ///
    /// ```
    /// use smq_compute::{plugin, InputSpec};
    /// assert_eq!(plugin("subtract_background").unwrap().inputs(), InputSpec::Fixed(&["signal", "background"]));
    /// ```
    fn inputs(&self) -> InputSpec;

    /// The names of the outputs [`run`](Self::run) gives, in order; empty if the plugin
    /// does not declare them (the default).
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(smq_compute::plugin("power_spectrum").unwrap().outputs(), ["frequency", "power"]);
    /// ```
    fn outputs(&self) -> &'static [&'static str] {
        &[]
    }

    /// The parameters the plugin accepts, with defaults.
    ///
    /// # Examples
    ///
    /// ```
    /// let specs = smq_compute::plugin("histogram").unwrap().params();
    /// assert_eq!(specs[0].name, "bins");
    /// ```
    fn params(&self) -> Vec<ParamSpec>;

    /// Runs the step.
    ///
    /// # Errors
    ///
    /// [`ComputeError::InputCount`] for the wrong number of inputs,
    /// parameter errors from [`Params::resolve`], and whatever the
    /// underlying step reports.
    ///
    /// # Examples
    ///
    /// ```
    /// use ndarray::array;
    /// use smq_compute::{plugin, Params};
    /// let stats = plugin("statistics").unwrap();
    /// let out = stats.run(&[array![1.0, 2.0, 6.0].into_dyn()], &Params::new())?;
    /// assert_eq!(out.get("mean").unwrap()[[]], 3.0);
    /// # Ok::<(), smq_compute::ComputeError>(())
    /// ```
    fn run(&self, inputs: &[ArrayD<f64>], params: &Params) -> Result<Outputs, ComputeError>;

    /// The default value of every parameter.
    ///
    /// # Examples
    ///
    /// ```
    /// let p = smq_compute::plugin("histogram").unwrap();
    /// assert_eq!(p.defaults().int("bins")?, 10);
    /// # Ok::<(), smq_compute::ComputeError>(())
    /// ```
    fn defaults(&self) -> Params {
        let mut params = Params::new();
        for spec in self.params() {
            params.set(spec.name, spec.default);
        }
        params
    }
}

impl fmt::Debug for dyn Plugin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Plugin")
            .field("name", &self.name())
            .finish()
    }
}
