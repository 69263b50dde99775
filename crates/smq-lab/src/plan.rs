//! Experiment plans: what to scan, measure, process and save, from a TOML file.
//!
//! ```toml
//! experiment = "line_scan"
//! description = "multimeter reading along the stage"
//!
//! [scan]
//! settle = 0.05                  # seconds to wait after each setting
//! snake = false                  # grids: reverse every other row of the inner axes
//!
//! [[scan.axis]]                  # one axis: a 1-D scan; several: a grid, first outermost
//! instrument = "stage"
//! quantity = "position"          # the stage's position, or with `set`, any SCPI setting
//! units = "mm"
//! linear = { start = 0.0, stop = 10.0, points = 21 }   # or `step = 0.5` instead of points
//! # log = { start = 1.0, stop = 1000.0, points = 7 }
//! # values = [0.0, 2.5, 5.0]
//!
//! [[measure]]
//! name = "voltage"               # the dataset
//! instrument = "dmm"
//! read = "voltage"               # dmm: voltage; scope: waveform; stage: position
//! units = "V"
//! # query = "MEAS:VOLT:DC?"      # any SCPI query answering a number, instead of `read`
//!
//! [[process]]
//! name = "spectrum"
//! plugin = "power_spectrum"      # a plugin of smq-compute, by name
//! inputs = ["trace"]             # measurements, or `step.output` of earlier steps
//! params = { window = "hann" }
//! outputs = ["power"]            # what to save; every output if absent
//!
//! [[monitor]]                    # a reading every `every` seconds during the run
//! name = "temperature"
//! instrument = "thermometer"
//! query = "MEAS:TEMP?"
//! every = 1.0
//! units = "K"
//! ```
//!
//! A scan without axes is a time series: `repeat = N` points, `every = S` seconds apart.
//! A step with `queue = "cluster"` runs as a Slurm job (`smq_cluster::COMPUTE_PLUGIN`) on
//! the plan's cluster queue, set up by a `[cluster]` table (`jobs`, `partition`,
//! `time_limit` in seconds, `mem_mb`); its files go to the run's folder, which the nodes
//! must see, and it stores what the same step stores when run locally.
//! A SCPI setting is an axis with a template: `instrument = "psu"`, `quantity = "voltage"`,
//! `set = "VOLT {value}"`.
//!
//! Every key is checked when the plan is read ([`Plan::parse`]) and against the station
//! ([`Plan::check`]): an unknown key, a value of the wrong type, an unknown instrument,
//! plugin or parameter, a measurement the driver cannot take, or a value outside the
//! station's limits is a [`PlanError`] naming the line of the file.

use std::collections::{BTreeMap, BTreeSet};
use std::ops::Range;
use std::path::Path;
use std::time::Duration;

use serde::Deserialize;
use smq_compute::{ParamKind, ParamValue, Params};
use toml::Spanned;

use crate::station::{Driver, Station, line_of, toml_error};

/// Why a plan was refused.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PlanError {
    /// The file could not be read.
    #[error("cannot read the plan {path}: {source}")]
    Read {
        /// The file.
        path: String,
        /// The OS error.
        source: std::io::Error,
    },
    /// The plan is not valid, or does not fit the station: the message names the line.
    #[error("{origin}:{line}: {message}")]
    Invalid {
        /// The plan file.
        origin: String,
        /// The line (from 1).
        line: usize,
        /// What is wrong.
        message: String,
    },
}

/// Points of a linear axis: `points` or `step`.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Linear {
    /// First value.
    pub start: f64,
    /// Last value (included when `step` divides the span).
    pub stop: f64,
    /// Number of points, both ends included.
    #[serde(default)]
    pub points: Option<u64>,
    /// Distance between points, instead of `points`.
    #[serde(default)]
    pub step: Option<f64>,
}

/// Points of a logarithmic axis.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Log {
    /// First value (positive).
    pub start: f64,
    /// Last value (positive).
    pub stop: f64,
    /// Number of points, both ends included.
    pub points: u64,
}

/// An axis of a scan: an instrument's settable quantity and its values.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Axis {
    /// The dimension's name; the quantity's if absent.
    #[serde(default)]
    pub name: Option<String>,
    /// The instrument of the station that sets it.
    pub instrument: String,
    /// The quantity set: `position` for a stage (the default), any name with `set`.
    #[serde(default)]
    pub quantity: Option<String>,
    /// A SCPI command template writing the value, `{value}` replaced by it.
    #[serde(default)]
    pub set: Option<String>,
    /// Units of the values.
    #[serde(default)]
    pub units: Option<String>,
    /// Seconds to wait after setting, instead of the scan's.
    #[serde(default)]
    pub settle: Option<f64>,
    /// An explicit list of values.
    #[serde(default)]
    pub values: Option<Vec<f64>>,
    /// Evenly spaced values.
    #[serde(default)]
    pub linear: Option<Linear>,
    /// Logarithmically spaced values.
    #[serde(default)]
    pub log: Option<Log>,
}

/// The scan of a plan.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScanSpec {
    /// Seconds to wait after each setting.
    #[serde(default)]
    pub settle: f64,
    /// For grids: every other row of the inner axes runs backwards.
    #[serde(default)]
    pub snake: bool,
    /// The axes, the first outermost.
    #[serde(default, rename = "axis")]
    pub axes: Vec<Spanned<Axis>>,
    /// A time series (no axis): this many points...
    #[serde(default)]
    pub repeat: Option<u64>,
    /// ... this many seconds apart (as fast as possible if absent).
    #[serde(default)]
    pub every: Option<f64>,
}

/// A measurement taken at every point, or by a monitor.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Measure {
    /// The dataset's name.
    pub name: String,
    /// The instrument.
    pub instrument: String,
    /// A driver reading: `voltage` (dmm), `waveform` (scope), `position` (stage).
    #[serde(default)]
    pub read: Option<String>,
    /// A SCPI query answering a number, instead of `read`.
    #[serde(default)]
    pub query: Option<String>,
    /// The scope channel of a waveform (1 if absent).
    #[serde(default)]
    pub channel: Option<u8>,
    /// Units of the value.
    #[serde(default)]
    pub units: Option<String>,
    /// The quantity measured; the reading's name if absent.
    #[serde(default)]
    pub quantity: Option<String>,
    /// Whether to store it (default true; a measurement only processed can be left out).
    #[serde(default = "yes")]
    pub save: bool,
    /// For monitors: seconds between readings.
    #[serde(default)]
    pub every: Option<f64>,
}

fn yes() -> bool {
    true
}

/// A processing step run at every point on the compute queue.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Step {
    /// The step's name; its outputs are stored as `NAME_OUTPUT` (or `NAME` if one).
    pub name: String,
    /// The plugin of `smq_compute::plugins()`.
    pub plugin: String,
    /// Its inputs: measurement names, or `step.output` of earlier steps.
    pub inputs: Vec<String>,
    /// Its parameters; the plugin's defaults for those absent.
    #[serde(default)]
    pub params: BTreeMap<String, toml::Value>,
    /// The outputs to store; all if absent, none if empty.
    #[serde(default)]
    pub outputs: Option<Vec<String>>,
    /// Where it runs: `compute` (the default, on this PC) or `cluster` (Slurm jobs, set up
    /// by the plan's `[cluster]` table).
    #[serde(default)]
    pub queue: Option<String>,
}

impl Step {
    /// Whether the step runs on the cluster queue.
    pub fn on_cluster(&self) -> bool {
        self.queue.as_deref() == Some("cluster")
    }
}

/// The plan's Slurm cluster queue, for processing steps with `queue = "cluster"`: its jobs
/// run `smq worker` on the cluster's nodes, and its files go to the run's folder (which the
/// nodes must see).
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClusterSpec {
    /// Jobs in flight at once (4 if absent).
    #[serde(default = "four")]
    pub jobs: usize,
    /// The Slurm partition; the cluster's default if absent.
    #[serde(default)]
    pub partition: Option<String>,
    /// Each job's time limit, seconds (Slurm rounds it up to whole minutes).
    #[serde(default)]
    pub time_limit: Option<f64>,
    /// Each job's memory, MB.
    #[serde(default)]
    pub mem_mb: Option<u64>,
}

fn four() -> usize {
    4
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PlanFile {
    #[serde(default)]
    experiment: Option<String>,
    #[serde(default)]
    description: Option<String>,
    scan: Spanned<ScanSpec>,
    #[serde(default, rename = "measure")]
    measures: Vec<Spanned<Measure>>,
    #[serde(default, rename = "process")]
    steps: Vec<Spanned<Step>>,
    #[serde(default, rename = "monitor")]
    monitors: Vec<Spanned<Measure>>,
    #[serde(default)]
    cluster: Option<ClusterSpec>,
}

/// A plan read from TOML: see the [module docs](self).
#[derive(Clone, Debug)]
pub struct Plan {
    /// The experiment's name (stored as the run's experiment).
    pub experiment: String,
    /// A sentence about it.
    pub description: String,
    /// The scan.
    pub scan: ScanSpec,
    /// The measurements at each point, in order.
    pub measures: Vec<Measure>,
    /// The processing steps, in order.
    pub steps: Vec<Step>,
    /// The monitors.
    pub monitors: Vec<Measure>,
    /// The cluster queue, if steps run on one.
    pub cluster: Option<ClusterSpec>,
    /// The source, stored with each run.
    pub source: String,
    origin: String,
    spans: Spans,
}

#[derive(Clone, Debug, Default)]
struct Spans {
    scan: Range<usize>,
    axes: Vec<Range<usize>>,
    measures: Vec<Range<usize>>,
    steps: Vec<Range<usize>>,
    monitors: Vec<Range<usize>>,
}

/// One axis resolved: its name, values and how it is set.
#[derive(Clone, Debug, PartialEq)]
pub struct AxisPoints {
    /// The dimension's name.
    pub name: String,
    /// The instrument.
    pub instrument: String,
    /// The quantity.
    pub quantity: String,
    /// The SCPI template, if set by one.
    pub set: Option<String>,
    /// Units.
    pub units: Option<String>,
    /// Seconds to wait after setting.
    pub settle: f64,
    /// Its values, in order.
    pub values: Vec<f64>,
}

/// The points of a scan in the order they are taken.
#[derive(Clone, Debug, PartialEq)]
pub struct Points {
    /// The axes (none for a time series).
    pub axes: Vec<AxisPoints>,
    /// For each point, its index along each axis.
    pub index: Vec<Vec<usize>>,
}

impl Points {
    /// The number of points.
    pub fn len(&self) -> usize {
        self.index.len()
    }

    /// Whether there is none.
    pub fn is_empty(&self) -> bool {
        self.index.is_empty()
    }

    /// The values of point `p`, one per axis.
    pub fn values(&self, p: usize) -> Vec<f64> {
        self.index.get(p).map_or_else(Vec::new, |ix| {
            ix.iter()
                .zip(&self.axes)
                .map(|(&i, a)| a.values.get(i).copied().unwrap_or(f64::NAN))
                .collect()
        })
    }
}

impl Plan {
    /// Read a plan file.
    ///
    /// # Errors
    ///
    /// [`PlanError::Read`], or [`PlanError::Invalid`] naming the line.
    pub fn load(path: impl AsRef<Path>) -> Result<Self, PlanError> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|source| PlanError::Read {
            path: path.display().to_string(),
            source,
        })?;
        Self::parse(&text, &path.display().to_string())
    }

    /// Parse a plan; `origin` names it in errors. Checks what can be checked without a
    /// station: types, unknown keys, axes, plugins and their parameters, inputs.
    ///
    /// # Errors
    ///
    /// [`PlanError::Invalid`] naming the line.
    ///
    /// # Examples
    ///
    /// ```
    /// use smq_lab::{Plan, PlanError};
    ///
    /// let text = "[scan]\nrepeat = 3\n\n[[measure]]\nname = \"v\"\ninstrument = \"dmm\"\nread = \"voltage\"\nunit = \"V\"\n";
    /// let Err(PlanError::Invalid { line, message, .. }) = Plan::parse(text, "plan.toml") else {
    ///     panic!("accepted an unknown key");
    /// };
    /// assert_eq!(line, 8);
    /// assert!(message.contains("unknown field `unit`"), "{message}");
    /// ```
    pub fn parse(text: &str, origin: &str) -> Result<Self, PlanError> {
        let file: PlanFile = toml::from_str(text).map_err(|e| {
            let (line, message) = toml_error(text, &e);
            PlanError::Invalid {
                origin: origin.to_owned(),
                line,
                message,
            }
        })?;
        let mut spans = Spans {
            scan: file.scan.span(),
            ..Spans::default()
        };
        let scan = file.scan.into_inner();
        spans.axes = scan.axes.iter().map(Spanned::span).collect();
        let unspan = |v: Vec<Spanned<Measure>>, s: &mut Vec<Range<usize>>| {
            v.into_iter()
                .map(|m| {
                    s.push(m.span());
                    m.into_inner()
                })
                .collect::<Vec<_>>()
        };
        let measures = unspan(file.measures, &mut spans.measures);
        let monitors = unspan(file.monitors, &mut spans.monitors);
        let steps = file
            .steps
            .into_iter()
            .map(|m| {
                spans.steps.push(m.span());
                m.into_inner()
            })
            .collect();
        let plan = Self {
            experiment: file.experiment.unwrap_or_else(|| "plan".to_owned()),
            description: file.description.unwrap_or_default(),
            scan,
            measures,
            steps,
            monitors,
            cluster: file.cluster,
            source: text.to_owned(),
            origin: origin.to_owned(),
            spans,
        };
        plan.check_alone()?;
        Ok(plan)
    }

    fn invalid(&self, span: &Range<usize>, message: String) -> PlanError {
        PlanError::Invalid {
            origin: self.origin.clone(),
            line: line_of(&self.source, span.start),
            message,
        }
    }

    /// The checks that need no station.
    fn check_alone(&self) -> Result<(), PlanError> {
        let scan = &self.scan;
        if !(scan.settle.is_finite() && scan.settle >= 0.0) {
            return Err(self.invalid(&self.spans.scan, "settle must be 0 or more seconds".into()));
        }
        match (scan.axes.is_empty(), scan.repeat) {
            (true, None) => {
                return Err(self.invalid(
                    &self.spans.scan,
                    "the scan has no axis: give `[[scan.axis]]` tables, or `repeat = N` for a \
                     time series"
                        .into(),
                ));
            }
            (false, Some(_)) => {
                return Err(self.invalid(
                    &self.spans.scan,
                    "`repeat` is for a time series, without axes".into(),
                ));
            }
            (true, Some(0)) => {
                return Err(self.invalid(&self.spans.scan, "repeat must be at least 1".into()));
            }
            _ => {}
        }
        if let Some(e) = scan.every
            && !(e.is_finite() && e >= 0.0)
        {
            return Err(self.invalid(&self.spans.scan, "every must be 0 or more seconds".into()));
        }
        let mut names = BTreeSet::new();
        for (i, axis) in scan.axes.iter().enumerate() {
            let span = &self.spans.axes[i];
            let axis = axis.get_ref();
            let values = axis_values(axis).map_err(|m| self.invalid(span, m))?;
            if values.is_empty() {
                return Err(self.invalid(span, "the axis has no value".into()));
            }
            let name = axis_name(axis);
            if scan.axes[..i]
                .iter()
                .any(|a| a.get_ref().instrument == axis.instrument)
            {
                return Err(self.invalid(
                    span,
                    format!(
                        "two axes set `{}`: an instrument sets one axis",
                        axis.instrument
                    ),
                ));
            }
            if !names.insert(name.clone()) {
                return Err(self.invalid(span, format!("two axes are named `{name}`")));
            }
        }
        let mut known: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for (i, m) in self.measures.iter().enumerate() {
            let span = &self.spans.measures[i];
            check_measure(m).map_err(|msg| self.invalid(span, msg))?;
            if m.every.is_some() {
                return Err(self.invalid(span, "`every` is for monitors".into()));
            }
            if known.insert(m.name.clone(), Vec::new()).is_some() || names.contains(&m.name) {
                return Err(self.invalid(span, format!("the name `{}` is used twice", m.name)));
            }
        }
        for (i, m) in self.monitors.iter().enumerate() {
            let span = &self.spans.monitors[i];
            check_measure(m).map_err(|msg| self.invalid(span, msg))?;
            match m.every {
                Some(e) if e.is_finite() && e > 0.0 => {}
                _ => {
                    return Err(self.invalid(
                        span,
                        format!(
                            "monitor `{}`: `every` must be a positive number of seconds",
                            m.name
                        ),
                    ));
                }
            }
            if known.contains_key(&m.name) || names.contains(&m.name) {
                return Err(self.invalid(span, format!("the name `{}` is used twice", m.name)));
            }
            if self.measures.iter().any(|x| x.instrument == m.instrument)
                || self
                    .scan
                    .axes
                    .iter()
                    .any(|a| a.get_ref().instrument == m.instrument)
            {
                return Err(self.invalid(
                    span,
                    format!(
                        "monitor `{}`: the scan also uses `{}`; a monitor needs an instrument \
                         of its own, or its readings would wait for the scan's",
                        m.name, m.instrument
                    ),
                ));
            }
        }
        for (i, s) in self.steps.iter().enumerate() {
            let span = &self.spans.steps[i];
            let plugin = smq_compute::plugin(&s.plugin).ok_or_else(|| {
                let all: Vec<_> = smq_compute::plugins().iter().map(|p| p.name()).collect();
                self.invalid(
                    span,
                    format!(
                        "unknown plugin `{}` (plugins: {})",
                        s.plugin,
                        all.join(", ")
                    ),
                )
            })?;
            plugin
                .inputs()
                .check(s.inputs.len())
                .map_err(|e| self.invalid(span, format!("step `{}`: {e}", s.name)))?;
            for input in &s.inputs {
                resolve_input(input, &known).map_err(|m| {
                    self.invalid(span, format!("step `{}`: input `{input}`: {m}", s.name))
                })?;
            }
            params_of(s).map_err(|m| self.invalid(span, format!("step `{}`: {m}", s.name)))?;
            match s.queue.as_deref() {
                None | Some("compute") => {}
                Some("cluster") if self.cluster.is_some() => {}
                Some("cluster") => {
                    return Err(self.invalid(
                        span,
                        format!(
                            "step `{}` runs on the cluster, but the plan has no `[cluster]` \
                             table (jobs, partition, time_limit, mem_mb)",
                            s.name
                        ),
                    ));
                }
                Some(other) => {
                    return Err(self.invalid(
                        span,
                        format!(
                            "step `{}`: unknown queue `{other}` (compute or cluster)",
                            s.name
                        ),
                    ));
                }
            }
            let outputs = step_outputs(&s.plugin);
            if let Some(wanted) = &s.outputs {
                for o in wanted {
                    if !outputs.contains(o) {
                        return Err(self.invalid(
                            span,
                            format!(
                                "step `{}`: the plugin {} has no output `{o}` (it has: {})",
                                s.name,
                                s.plugin,
                                outputs.join(", ")
                            ),
                        ));
                    }
                }
            }
            if known.insert(s.name.clone(), outputs).is_some() || names.contains(&s.name) {
                return Err(self.invalid(span, format!("the name `{}` is used twice", s.name)));
            }
        }
        if self.measures.is_empty() {
            return Err(self.invalid(
                &self.spans.scan,
                "the plan measures nothing: add `[[measure]]` tables".into(),
            ));
        }
        Ok(())
    }

    /// Check the plan against `station`: every instrument exists and can do what is asked,
    /// and every value set is within the station's limits.
    ///
    /// # Errors
    ///
    /// [`PlanError::Invalid`] naming the line of the plan.
    pub fn check(&self, station: &Station) -> Result<(), PlanError> {
        let driver = |name: &str, span: &Range<usize>| {
            station
                .instruments
                .get(name)
                .map(|e| e.driver)
                .ok_or_else(|| {
                    let all: Vec<_> = station.instruments.keys().cloned().collect();
                    self.invalid(
                        span,
                        format!(
                            "no instrument `{name}` in the station {} (it has: {})",
                            station.origin(),
                            all.join(", ")
                        ),
                    )
                })
        };
        for (i, axis) in self.scan.axes.iter().enumerate() {
            let span = &self.spans.axes[i];
            let axis = axis.get_ref();
            let d = driver(&axis.instrument, span)?;
            let quantity = axis_quantity(axis);
            match (d, &axis.set) {
                (Driver::Stage, None) if quantity == "position" => {}
                (Driver::Stage, _) => {
                    return Err(self.invalid(
                        span,
                        format!(
                            "`{}` is a stage: its settable quantity is `position`, without `set`",
                            axis.instrument
                        ),
                    ));
                }
                (_, None) => {
                    return Err(self.invalid(
                        span,
                        format!(
                            "`{}` ({}) needs a SCPI template to set `{quantity}`, e.g. \
                             set = \"VOLT {{value}}\"",
                            axis.instrument,
                            d.as_str()
                        ),
                    ));
                }
                (_, Some(_)) => {}
            }
            if let Some([lo, hi]) = station.limits(&axis.instrument, &quantity) {
                let values = axis_values(axis).map_err(|m| self.invalid(span, m))?;
                if let Some(v) = values.iter().find(|v| **v < lo || **v > hi) {
                    return Err(self.invalid(
                        span,
                        format!(
                            "{v} is outside the limits of {}.{quantity}, [{lo}, {hi}], \
                             declared in the station {}",
                            axis.instrument,
                            station.origin()
                        ),
                    ));
                }
            }
        }
        for (list, spans) in [
            (&self.measures, &self.spans.measures),
            (&self.monitors, &self.spans.monitors),
        ] {
            for (m, span) in list.iter().zip(spans) {
                let d = driver(&m.instrument, span)?;
                if let Some(read) = &m.read {
                    let ok = matches!(
                        (d, read.as_str()),
                        (Driver::Dmm, "voltage")
                            | (Driver::Scope, "waveform")
                            | (Driver::Stage, "position")
                    );
                    if !ok {
                        return Err(self.invalid(
                            span,
                            format!(
                                "`{}` ({}) cannot read `{read}` (a dmm reads `voltage`, a \
                                 scope `waveform`, a stage `position`; others take `query`)",
                                m.instrument,
                                d.as_str()
                            ),
                        ));
                    }
                } else if d == Driver::Stage {
                    return Err(self.invalid(
                        span,
                        format!(
                            "`{}` is a stage: it does not take SCPI queries",
                            m.instrument
                        ),
                    ));
                }
            }
        }
        Ok(())
    }

    /// The points of the scan, in the order they are taken (for a grid: the first axis
    /// outermost; with `snake`, every other row of the inner axes backwards).
    ///
    /// # Examples
    ///
    /// ```
    /// let plan = smq_lab::Plan::parse(r#"
    /// [scan]
    /// snake = true
    /// [[scan.axis]]
    /// instrument = "stage"
    /// values = [0.0, 1.0]
    /// [[scan.axis]]
    /// name = "v"
    /// instrument = "psu"
    /// quantity = "voltage"
    /// set = "VOLT {value}"
    /// linear = { start = 1.0, stop = 3.0, points = 3 }
    /// [[measure]]
    /// name = "i"
    /// instrument = "psu"
    /// query = "MEAS:CURR?"
    /// "#, "grid.toml")?;
    /// let points = plan.points();
    /// assert_eq!(points.len(), 6);
    /// let values: Vec<_> = (0..6).map(|p| points.values(p)).collect();
    /// assert_eq!(values, [[0., 1.], [0., 2.], [0., 3.], [1., 3.], [1., 2.], [1., 1.]]);
    /// # Ok::<(), smq_lab::PlanError>(())
    /// ```
    pub fn points(&self) -> Points {
        let axes: Vec<AxisPoints> = self
            .scan
            .axes
            .iter()
            .map(|a| {
                let a = a.get_ref();
                AxisPoints {
                    name: axis_name(a),
                    instrument: a.instrument.clone(),
                    quantity: axis_quantity(a),
                    set: a.set.clone(),
                    units: a.units.clone(),
                    settle: a.settle.unwrap_or(self.scan.settle),
                    values: axis_values(a).unwrap_or_default(),
                }
            })
            .collect();
        let index = if axes.is_empty() {
            (0..self.scan.repeat.unwrap_or(1) as usize)
                .map(|_| Vec::new())
                .collect()
        } else {
            grid(
                &axes.iter().map(|a| a.values.len()).collect::<Vec<_>>(),
                self.scan.snake,
            )
        };
        Points { axes, index }
    }

    /// The number of tasks the plan submits on each queue (monitors excluded): per point,
    /// a set per axis, a measurement each, a release per axis whose instrument measures
    /// nothing, a task per processing step and a save per measurement and step stored.
    ///
    /// # Examples
    ///
    /// ```
    /// let plan = smq_lab::Plan::parse(r#"
    /// [scan]
    /// [[scan.axis]]
    /// instrument = "stage"
    /// values = [0.0, 1.0, 2.0]
    /// [[measure]]
    /// name = "v"
    /// instrument = "dmm"
    /// read = "voltage"
    /// "#, "plan.toml")?;
    /// let counts = plan.task_counts();
    /// assert_eq!((counts["stage"], counts["dmm"], counts["compute"]), (6, 3, 3));
    /// # Ok::<(), smq_lab::PlanError>(())
    /// ```
    pub fn task_counts(&self) -> BTreeMap<String, usize> {
        let n = self.points().len();
        let mut out: BTreeMap<String, usize> = BTreeMap::new();
        let mut add = |q: &str, k: usize| *out.entry(q.to_owned()).or_default() += k * n;
        for a in &self.scan.axes {
            let a = a.get_ref();
            add(&a.instrument, 1);
            if !self.measures.iter().any(|m| m.instrument == a.instrument) {
                add(&a.instrument, 1);
            }
        }
        for m in &self.measures {
            add(&m.instrument, 1);
            if m.save {
                add("compute", 1);
            }
        }
        for s in &self.steps {
            if s.on_cluster() {
                // The call is prepared on compute, then runs as a job.
                add("compute", 1);
                add("cluster", 1);
            } else {
                add("compute", 1);
            }
            if !saved_outputs(s).is_empty() {
                add("compute", 1);
            }
        }
        out
    }

    /// An estimate of the run's duration from nominal command times (a stage move at the
    /// station's velocity, 1 mm/s if none, plus 50 ms; 20 ms a reading or a SCPI command;
    /// 100 ms a waveform), the settle times and, for a time series, the interval. Real
    /// instruments differ; the estimate is for planning.
    pub fn estimate(&self, station: &Station) -> Duration {
        let points = self.points();
        let reading = |m: &Measure| match m.read.as_deref() {
            Some("waveform") => 0.1,
            _ => 0.02,
        };
        let per_point: f64 = self.measures.iter().map(reading).sum();
        let mut total = per_point * points.len() as f64;
        for (k, a) in points.axes.iter().enumerate() {
            let velocity = station
                .instruments
                .get(&a.instrument)
                .and_then(|e| e.settings.velocity)
                .unwrap_or(1.0)
                .max(1e-6);
            let mut last: Option<f64> = None;
            for ix in &points.index {
                let v = a.values.get(ix[k]).copied().unwrap_or(0.0);
                let step = match (a.set.is_some(), last) {
                    (true, _) => 0.02,
                    (false, Some(x)) => 0.05 + (v - x).abs() / velocity,
                    (false, None) => 0.05 + v.abs() / velocity,
                };
                total += step + a.settle;
                last = Some(v);
            }
        }
        if let Some(every) = self.scan.every {
            total = total.max(every * points.len().saturating_sub(1) as f64);
        }
        Duration::from_secs_f64(total.max(0.0))
    }

    /// The datasets the plan stores at each point, with the plan entry that makes each:
    /// measurements saved, and the saved outputs of the steps.
    pub fn saved_datasets(&self) -> Vec<(String, String)> {
        let mut out: Vec<(String, String)> = self
            .measures
            .iter()
            .filter(|m| m.save)
            .map(|m| (m.name.clone(), format!("measure.{}", m.name)))
            .collect();
        for s in &self.steps {
            for (output, dataset) in saved_outputs(s) {
                out.push((dataset, format!("process.{}.{output}", s.name)));
            }
        }
        out
    }
}

/// The outputs of step `s` that are saved, with their datasets' names.
pub(crate) fn saved_outputs(s: &Step) -> Vec<(String, String)> {
    let all = step_outputs(&s.plugin);
    let saved = s.outputs.clone().unwrap_or_else(|| all.clone());
    saved
        .into_iter()
        .map(|o| {
            let dataset = if all.len() == 1 {
                s.name.clone()
            } else {
                format!("{}_{o}", s.name)
            };
            (o, dataset)
        })
        .collect()
}

/// The output names of a plugin, as it declares them (`Plugin::outputs`); for a plugin
/// that declares none, `result`, and its outputs are not checked before it runs.
pub(crate) fn step_outputs(plugin: &str) -> Vec<String> {
    match smq_compute::plugin(plugin).map(|p| p.outputs()) {
        Some(names) if !names.is_empty() => names.iter().map(|n| (*n).to_owned()).collect(),
        _ => vec!["result".to_owned()],
    }
}

/// Where an input comes from: `(node, output)`, output empty for a measurement.
pub(crate) fn resolve_input(
    input: &str,
    known: &BTreeMap<String, Vec<String>>,
) -> Result<(String, String), String> {
    let (node, output) = input.split_once('.').unwrap_or((input, ""));
    let Some(outputs) = known.get(node) else {
        return Err("not a measurement or an earlier step".into());
    };
    match (outputs.is_empty(), output) {
        (true, "") => Ok((node.to_owned(), String::new())),
        (true, o) => Err(format!("`{node}` is a measurement; it has no output `{o}`")),
        (false, "") if outputs.len() == 1 => Ok((node.to_owned(), outputs[0].clone())),
        (false, "") => Err(format!(
            "`{node}` has several outputs; name one: {}",
            outputs
                .iter()
                .map(|o| format!("{node}.{o}"))
                .collect::<Vec<_>>()
                .join(", ")
        )),
        (false, o) if outputs.iter().any(|x| x == o) => Ok((node.to_owned(), o.to_owned())),
        (false, o) => Err(format!(
            "`{node}` has no output `{o}` (it has: {})",
            outputs.join(", ")
        )),
    }
}

/// The parameters of step `s` as the plugin takes them.
pub(crate) fn params_of(s: &Step) -> Result<Params, String> {
    let plugin = smq_compute::plugin(&s.plugin).ok_or("unknown plugin")?;
    let specs = plugin.params();
    let mut params = Params::new();
    for (name, value) in &s.params {
        let Some(spec) = specs.iter().find(|p| p.name == name.as_str()) else {
            let all: Vec<_> = specs.iter().map(|p| p.name).collect();
            return Err(format!(
                "the plugin {} has no parameter `{name}` (it has: {})",
                s.plugin,
                all.join(", ")
            ));
        };
        let v = match (value, &spec.kind) {
            (toml::Value::Boolean(b), _) => ParamValue::Bool(*b),
            (toml::Value::Integer(i), ParamKind::Float) => ParamValue::Float(*i as f64),
            (toml::Value::Integer(i), _) => ParamValue::Int(*i),
            (toml::Value::Float(f), _) => ParamValue::Float(*f),
            (toml::Value::String(t), _) => ParamValue::Text(t.clone()),
            (other, _) => {
                return Err(format!(
                    "parameter `{name}`: {} is not a number, a boolean or a text",
                    other.type_str()
                ));
            }
        };
        params.set(spec.name, v);
    }
    params.resolve(&specs).map_err(|e| e.to_string())
}

/// The parameters of step `s` as plain JSON values for a cluster job, typed as the plugin
/// takes them (an integer given for a number is a number).
pub(crate) fn params_json(s: &Step) -> BTreeMap<String, serde_json::Value> {
    let specs = smq_compute::plugin(&s.plugin)
        .map(|p| p.params())
        .unwrap_or_default();
    s.params
        .iter()
        .filter_map(|(name, value)| {
            let float = specs
                .iter()
                .any(|p| p.name == name.as_str() && matches!(p.kind, ParamKind::Float));
            let v = match value {
                toml::Value::Boolean(b) => serde_json::Value::from(*b),
                toml::Value::Integer(i) if float => serde_json::Value::from(*i as f64),
                toml::Value::Integer(i) => serde_json::Value::from(*i),
                toml::Value::Float(f) => serde_json::Value::from(*f),
                toml::Value::String(t) => serde_json::Value::from(t.clone()),
                _ => return None,
            };
            Some((name.clone(), v))
        })
        .collect()
}

fn check_measure(m: &Measure) -> Result<(), String> {
    match (&m.read, &m.query) {
        (Some(_), Some(_)) => Err(format!("`{}`: give `read` or `query`, not both", m.name)),
        (None, None) => Err(format!(
            "`{}`: give `read` (a driver reading) or `query` (SCPI)",
            m.name
        )),
        _ => Ok(()),
    }?;
    if m.name.is_empty() || m.name.ends_with("_point") || m.name.ends_with("_time") {
        return Err(format!(
            "`{}` cannot name a dataset (names ending in _point and _time are the run's own)",
            m.name
        ));
    }
    if let Some(c) = m.channel
        && !(1..=4).contains(&c)
    {
        return Err(format!("`{}`: channels are 1 to 4", m.name));
    }
    Ok(())
}

fn axis_name(a: &Axis) -> String {
    a.name.clone().unwrap_or_else(|| axis_quantity(a))
}

fn axis_quantity(a: &Axis) -> String {
    a.quantity.clone().unwrap_or_else(|| "position".to_owned())
}

/// The values of an axis, checked.
fn axis_values(a: &Axis) -> Result<Vec<f64>, String> {
    let given = [a.values.is_some(), a.linear.is_some(), a.log.is_some()];
    if given.iter().filter(|g| **g).count() != 1 {
        return Err("give exactly one of `values`, `linear` and `log`".into());
    }
    if let Some(s) = a.settle
        && !(s.is_finite() && s >= 0.0)
    {
        return Err("settle must be 0 or more seconds".into());
    }
    if let Some(t) = &a.set
        && !t.contains("{value}")
    {
        return Err(format!("the template `{t}` has no `{{value}}`"));
    }
    let values = if let Some(v) = &a.values {
        v.clone()
    } else if let Some(l) = &a.linear {
        match (l.points, l.step) {
            (Some(n), None) => match n {
                0 => return Err("points must be at least 1".into()),
                1 => vec![l.start],
                n => (0..n)
                    .map(|i| l.start + (l.stop - l.start) * i as f64 / (n - 1) as f64)
                    .collect(),
            },
            (None, Some(step)) => {
                let span = l.stop - l.start;
                if !(step.is_finite() && step != 0.0) || span * step < 0.0 {
                    return Err(format!(
                        "step {step} does not go from {} to {}",
                        l.start, l.stop
                    ));
                }
                let n = (span / step + 1e-9).floor() as u64 + 1;
                if n > 1_000_000 {
                    return Err(format!("{n} points: more than a million"));
                }
                (0..n).map(|i| l.start + step * i as f64).collect()
            }
            _ => return Err("a linear axis takes `points` or `step`, one of them".into()),
        }
    } else if let Some(l) = &a.log {
        if !(l.start > 0.0 && l.stop > 0.0) {
            return Err("a log axis needs positive start and stop".into());
        }
        match l.points {
            0 => return Err("points must be at least 1".into()),
            1 => vec![l.start],
            n => {
                let ratio = l.stop / l.start;
                (0..n)
                    .map(|i| match i {
                        0 => l.start,
                        i if i == n - 1 => l.stop,
                        i => l.start * ratio.powf(i as f64 / (n - 1) as f64),
                    })
                    .collect()
            }
        }
    } else {
        Vec::new()
    };
    if let Some(v) = values.iter().find(|v| !v.is_finite()) {
        return Err(format!("{v} is not a finite value"));
    }
    Ok(values)
}

/// The grid indices of axes of these lengths, the first outermost; with `snake`, each
/// axis runs backwards when the one outside it is at an odd step.
fn grid(lens: &[usize], snake: bool) -> Vec<Vec<usize>> {
    let total: usize = lens.iter().product();
    let mut out = Vec::with_capacity(total);
    for flat in 0..total {
        let mut ix = vec![0; lens.len()];
        let mut rest = flat;
        for (k, &n) in lens.iter().enumerate().rev() {
            ix[k] = rest % n;
            rest /= n;
        }
        if snake {
            // The number of completed passes of axis k is the flat index of the axes
            // outside it; odd passes run backwards.
            let mut outer = 0usize;
            for k in 0..lens.len() {
                let i = ix[k];
                if k > 0 && outer % 2 == 1 {
                    ix[k] = lens[k] - 1 - i;
                }
                outer = outer * lens[k] + i;
            }
        }
        out.push(ix);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_snake_grid_never_jumps_back() {
        let g = grid(&[3, 4], true);
        assert_eq!(g.len(), 12);
        for w in g.windows(2) {
            let moved: usize = w[0].iter().zip(&w[1]).map(|(a, b)| a.abs_diff(*b)).sum();
            assert_eq!(moved, 1, "{:?} -> {:?}", w[0], w[1]);
        }
        let plain = grid(&[2, 3], false);
        assert_eq!(plain[3], [1, 0]);
    }

    #[test]
    fn axes_of_each_kind() {
        let axis = |body: &str| -> Result<Vec<f64>, String> {
            let a: Axis = toml::from_str(&format!("instrument = \"s\"\n{body}"))
                .map_err(|e| e.to_string())?;
            axis_values(&a)
        };
        assert_eq!(axis("values = [3.0, 1.0]"), Ok(vec![3.0, 1.0]));
        assert_eq!(
            axis("linear = { start = 0.0, stop = 1.0, points = 3 }"),
            Ok(vec![0.0, 0.5, 1.0])
        );
        assert_eq!(
            axis("linear = { start = 0.0, stop = 1.0, step = 0.25 }"),
            Ok(vec![0.0, 0.25, 0.5, 0.75, 1.0])
        );
        assert_eq!(
            axis("linear = { start = 2.0, stop = 0.0, step = -1.0 }"),
            Ok(vec![2.0, 1.0, 0.0])
        );
        let log = axis("log = { start = 1.0, stop = 1000.0, points = 4 }").unwrap_or_default();
        assert_eq!(log.len(), 4);
        for (got, want) in log.iter().zip([1.0, 10.0, 100.0, 1000.0]) {
            assert!((got - want).abs() < 1e-9 * want, "{got} {want}");
        }
        assert!(axis("linear = { start = 0.0, stop = 1.0, step = -0.5 }").is_err());
        assert!(axis("log = { start = 0.0, stop = 1.0, points = 3 }").is_err());
        assert!(axis("values = [1.0]\nlinear = { start = 0.0, stop = 1.0, points = 2 }").is_err());
        assert!(axis("linear = { start = 0.0, stop = 1.0 }").is_err());
    }
}
