//! Running a plan on an opened station: the task graph of each point, monitors, and
//! taking up a run again.
//!
//! # The graph of one point
//!
//! 1. For each axis, a **set** task on the axis's instrument writes the point's value
//!    (moves the stage, or writes the SCPI template), waits the settle time and **holds**
//!    the instrument's slot.
//! 2. Each **measurement** runs on its instrument after every set of the point.
//! 3. Each axis is **released** once every measurement of the point has ended: by its own
//!    instrument's first measurement at the point if it has one (made to wait for the
//!    others), else by a release task. So a value is never changed before every
//!    measurement at the previous value is taken.
//! 4. The **processing steps** run on `compute`, on the measurements (and earlier steps)
//!    of the point; then one **save** task per measurement and per step stores its values
//!    with the point (`Run::append_at`), and the time of the reading (`NAME_time`, Unix
//!    seconds).
//!
//! Device queues run in submission order (the station opens them so): the instruments go
//! through the points in the plan's order, and processing, on `compute`, takes the newest
//! first.
//!
//! # Invariants
//!
//! * Each stored dataset holds each point at most once: a point is submitted only if one
//!   of the plan's datasets lacks it, and a save is submitted only for the datasets that
//!   lack it ([`StoredPoints`]).
//! * Nothing stored is rewritten: a run taken up again only appends.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use ndarray::{Array1, ArrayD};
use serde_json::{Value, json};
use smq_dmm::Dmm;
use smq_instrument::{Device, InstrumentError, Scpi};
use smq_scope::Scope;
use smq_stage::Stage;
use smq_store::{Description, Run};
use smqsched::{Promise, SubmitError};

use crate::plan::{
    Measure, Plan, Points, params_json, params_of, resolve_input, saved_outputs, step_outputs,
};
use crate::station::{Bench, StationDevice};
use crate::{Error, MOTION_TIMEOUT};

/// The values of one node of a point's graph: a measurement (key `""`, and `"@time"`) or
/// a step's outputs by name.
pub type Values = BTreeMap<String, ArrayD<f64>>;

/// Key of a measurement's value in its [`Values`].
const VALUE: &str = "";
/// Key of a measurement's time (Unix seconds, 0-d).
const TIME: &str = "@time";

/// The run attributes a plan's run records.
pub mod attributes {
    /// The plan file's text.
    pub const PLAN: &str = "plan";
    /// The station file's text (empty for the simulated station).
    pub const STATION_FILE: &str = "station_file";
    /// The station as opened ([`StationRecord`](crate::StationRecord)).
    pub const STATION: &str = "station";
    /// The axes: name, instrument, quantity, units, values.
    pub const AXES: &str = "axes";
    /// The times (RFC 3339) at which the run was taken up again.
    pub const RESUMED: &str = crate::RunStatus::RESUMED;
}

/// Which points each stored dataset of a plan holds already.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StoredPoints {
    /// By dataset.
    pub datasets: BTreeMap<String, BTreeSet<u64>>,
}

impl StoredPoints {
    /// What `run` holds of `plan`'s datasets (read from their `_point` datasets).
    ///
    /// # Errors
    ///
    /// If a points dataset exists but cannot be read.
    pub fn of(run: &Run, plan: &Plan) -> Result<Self, Error> {
        let stored: BTreeSet<String> = run.datasets()?.into_iter().map(|d| d.name).collect();
        let mut datasets = BTreeMap::new();
        for (name, _) in plan.saved_datasets() {
            let points = Run::points_of(&name);
            let set = if stored.contains(&points) {
                run.read::<u64>(&points)?.iter().copied().collect()
            } else {
                BTreeSet::new()
            };
            datasets.insert(name, set);
        }
        Ok(Self { datasets })
    }

    /// Nothing stored yet, for a new run of `plan`.
    pub fn none(plan: &Plan) -> Self {
        Self {
            datasets: plan
                .saved_datasets()
                .into_iter()
                .map(|(d, _)| (d, BTreeSet::new()))
                .collect(),
        }
    }

    /// Whether every dataset holds point `p` (never, for a plan that stores nothing).
    pub fn complete(&self, p: u64) -> bool {
        !self.datasets.is_empty() && self.datasets.values().all(|s| s.contains(&p))
    }

    /// Whether `dataset` holds point `p`.
    fn has(&self, dataset: &str, p: u64) -> bool {
        self.datasets.get(dataset).is_some_and(|s| s.contains(&p))
    }
}

/// A submitted plan.
pub struct Submitted {
    /// Points of the plan.
    pub points: usize,
    /// Points skipped, stored already.
    pub skipped: usize,
    /// Tasks submitted for the points (monitors excluded).
    pub tasks: usize,
    /// The tasks submitted per queue.
    pub per_queue: BTreeMap<String, usize>,
    monitors: Vec<(Arc<AtomicBool>, JoinHandle<()>)>,
    /// The Slurm queue of steps with `queue = "cluster"`; dropping it cancels its jobs.
    cluster: Option<smq_cluster::ClusterQueue>,
}

impl std::fmt::Debug for Submitted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Submitted")
            .field("points", &self.points)
            .field("skipped", &self.skipped)
            .field("tasks", &self.tasks)
            .finish_non_exhaustive()
    }
}

impl Submitted {
    /// The plan's cluster queue, if its steps run on one: its jobs and their states.
    pub fn cluster(&self) -> Option<&smq_cluster::ClusterQueue> {
        self.cluster.as_ref()
    }

    /// Stop the monitors and wait until they submit nothing more (their last readings
    /// still run and are saved).
    pub fn stop_monitors(&mut self) {
        for (stop, _) in &self.monitors {
            stop.store(true, Ordering::Release);
        }
        for (_, thread) in self.monitors.drain(..) {
            let _ = thread.join();
        }
    }
}

impl Drop for Submitted {
    fn drop(&mut self) {
        self.stop_monitors();
    }
}

fn now_unix() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

fn scalar(v: f64) -> ArrayD<f64> {
    ArrayD::from_elem(vec![], v)
}

/// Submit a command on `dev` after `after`, holding its slot if `hold`, releasing
/// `releases` if given, after every one of `settled`.
struct Command<'a> {
    label: String,
    after: &'a [Promise<f64>],
    settled: Vec<&'a Promise<Values>>,
    hold: bool,
    releases: Option<&'a Promise<f64>>,
}

macro_rules! on_device {
    ($dev:expr, $c:expr, $f:expr) => {{
        let mut t = $dev.task(&$c.label);
        for a in $c.after {
            t = t.after(a);
        }
        for s in &$c.settled {
            t = t.after_settled(*s);
        }
        if $c.hold {
            t = t.hold();
        }
        if let Some(r) = $c.releases {
            t = t.releases(r);
        }
        t.submit($f)
    }};
}

/// Write `template` with `value` through the SCPI link of `dev`.
fn scpi_set(
    dev: &StationDevice,
    c: &Command<'_>,
    template: &str,
    value: f64,
    settle: Duration,
) -> Result<Promise<f64>, SubmitError> {
    let command = template.replace("{value}", &value.to_string());
    let write = move |s: &mut Scpi| -> Result<f64, InstrumentError> {
        s.write(&command)?;
        std::thread::sleep(settle);
        Ok(value)
    };
    match dev {
        StationDevice::Dmm(d) => on_device!(d, c, move |m: &mut Dmm| write(m.scpi())),
        StationDevice::Scope(d) => on_device!(d, c, move |m: &mut Scope| write(m.scpi())),
        StationDevice::Scpi(d) => on_device!(d, c, write),
        StationDevice::Stage(d) => on_device!(d, c, move |s: &mut Stage| {
            s.move_to(value, MOTION_TIMEOUT)?;
            std::thread::sleep(settle);
            s.position()
        }),
    }
}

/// Move the stage `dev` to `x`.
fn stage_set(
    dev: &Device<Stage>,
    c: &Command<'_>,
    x: f64,
    settle: Duration,
) -> Result<Promise<f64>, SubmitError> {
    on_device!(dev, c, move |s: &mut Stage| {
        s.move_to(x, MOTION_TIMEOUT)?;
        std::thread::sleep(settle);
        s.position()
    })
}

/// A measurement's body: wait until `not_before` (for time series), read, time-stamp.
fn measure(
    dev: &StationDevice,
    c: &Command<'_>,
    m: &Measure,
    not_before: Option<(Arc<OnceLock<Instant>>, Duration)>,
) -> Result<Promise<Values>, SubmitError> {
    let wait = move || {
        if let Some((t0, at)) = &not_before {
            let start = *t0.get_or_init(Instant::now);
            if let Some(left) = (start + *at).checked_duration_since(Instant::now()) {
                std::thread::sleep(left);
            }
        }
    };
    let done = |value: ArrayD<f64>, t: f64| {
        let mut v = Values::new();
        v.insert(VALUE.to_owned(), value);
        v.insert(TIME.to_owned(), scalar(t));
        v
    };
    let query = m.query.clone();
    let read = m.read.clone().unwrap_or_default();
    let channel = m.channel.unwrap_or(1);
    let scpi_query = move |s: &mut Scpi, q: &str| -> Result<Values, InstrumentError> {
        let t = now_unix();
        Ok(done(scalar(s.query_f64(q)?), t))
    };
    match (dev, query) {
        (StationDevice::Dmm(d), Some(q)) => on_device!(d, c, move |m: &mut Dmm| {
            wait();
            scpi_query(m.scpi(), &q)
        }),
        (StationDevice::Scope(d), Some(q)) => on_device!(d, c, move |m: &mut Scope| {
            wait();
            scpi_query(m.scpi(), &q)
        }),
        (StationDevice::Scpi(d), Some(q)) => on_device!(d, c, move |m: &mut Scpi| {
            wait();
            scpi_query(m, &q)
        }),
        (StationDevice::Dmm(d), None) => on_device!(d, c, move |m: &mut Dmm| {
            wait();
            let t = now_unix();
            Ok(done(scalar(m.read()?), t))
        }),
        (StationDevice::Scope(d), None) => on_device!(d, c, move |s: &mut Scope| {
            wait();
            let t = now_unix();
            let w = s.read_waveform(channel)?;
            Ok(done(w.v.into_dyn(), t))
        }),
        (StationDevice::Stage(d), _) => on_device!(d, c, move |s: &mut Stage| {
            wait();
            let t = now_unix();
            Ok(done(scalar(s.position()?), t))
        }),
        (StationDevice::Scpi(d), None) => {
            // `Plan::check` refuses a driver reading on a SCPI instrument.
            let read = read.clone();
            on_device!(
                d,
                c,
                move |_: &mut Scpi| -> Result<Values, InstrumentError> {
                    Err(InstrumentError::Protocol {
                        device: "scpi".into(),
                        command: read.clone(),
                        reason: "a SCPI instrument has no driver reading; use `query`".into(),
                    })
                }
            )
        }
    }
}

/// Describe the datasets of `plan` in `run` (units, quantity, dimensions, plan entry).
fn describe(run: &Run, plan: &Plan, points: &Points) -> Result<(), Error> {
    let dims: Vec<String> = if points.axes.is_empty() {
        vec!["time".to_owned()]
    } else {
        points.axes.iter().map(|a| a.name.clone()).collect()
    };
    let describe_one =
        |name: &str, entry: &str, units: Option<&str>, quantity: &str, extra: &[&str]| {
            let acq = format!("{name}_acquisition");
            let mut logical = dims.clone();
            logical.extend(extra.iter().map(|s| (*s).to_owned()));
            let mut d = Description::new(
                std::iter::once(acq.clone()).chain(extra.iter().map(|s| format!("{name}_{s}"))),
            )
            .with("quantity", quantity)
            .with("plan_entry", entry)
            .with("dims", logical)
            .with("points", Run::points_of(name));
            if let Some(u) = units {
                d = d.with("units", u);
            }
            run.describe(name, &d)?;
            run.describe(
                &Run::points_of(name),
                &Description::new([acq.clone()]).with("quantity", "scan point"),
            )?;
            run.describe(
                &format!("{name}_time"),
                &Description::new([acq])
                    .with("quantity", "time")
                    .with("units", "s since 1970-01-01 UTC"),
            )?;
            run.describe(
                &Run::points_of(&format!("{name}_time")),
                &Description::new([format!("{name}_acquisition")]).with("quantity", "scan point"),
            )?;
            Ok::<(), Error>(())
        };
    for m in plan.measures.iter().filter(|m| m.save) {
        let waveform = m.read.as_deref() == Some("waveform");
        let quantity = m
            .quantity
            .clone()
            .or_else(|| m.read.clone())
            .unwrap_or_else(|| "value".into());
        describe_one(
            &m.name,
            &format!("measure.{}", m.name),
            m.units.as_deref(),
            &quantity,
            if waveform { &["sample"] } else { &[] },
        )?;
    }
    for s in &plan.steps {
        for (output, dataset) in saved_outputs(s) {
            describe_one(
                &dataset,
                &format!("process.{}.{output}", s.name),
                None,
                &output,
                &["bin"],
            )?;
        }
    }
    for a in &points.axes {
        let acq = format!("{}_acquisition", a.name);
        let mut d = Description::new([acq.clone()])
            .with("quantity", a.quantity.clone())
            .with("instrument", a.instrument.clone())
            .with("plan_entry", format!("scan.axis.{}", a.name))
            .with("points", Run::points_of(&a.name));
        if let Some(u) = &a.units {
            d = d.with("units", u.clone());
        }
        run.describe(&a.name, &d)?;
        run.describe(
            &Run::points_of(&a.name),
            &Description::new([acq]).with("quantity", "scan point"),
        )?;
    }
    run.describe(
        "grid_index",
        &Description::new(["point", "axis"]).with("axes", Value::from(dims.clone())),
    )?;
    for m in &plan.monitors {
        let quantity = m
            .quantity
            .clone()
            .or_else(|| m.read.clone())
            .unwrap_or_else(|| "value".into());
        let mut d = Description::new([format!("{}_sample", m.name)])
            .with("quantity", quantity)
            .with("plan_entry", format!("monitor.{}", m.name));
        if let Some(u) = &m.units {
            d = d.with("units", u.clone());
        }
        run.describe(&m.name, &d)?;
        run.describe(
            &format!("{}_time", m.name),
            &Description::new([format!("{}_sample", m.name)])
                .with("units", "s since 1970-01-01 UTC"),
        )?;
    }
    Ok(())
}

/// Record the plan, the station and the grid in a new run: attributes, and as datasets
/// each axis's value at each point (`AXIS`, with `AXIS_point`) and each point's index
/// along each axis (`grid_index`, one row per point).
///
/// # Errors
///
/// If the store cannot write.
pub fn record_plan(
    run: &Run,
    plan: &Plan,
    bench: &Bench,
    station_source: &str,
) -> Result<(), Error> {
    let points = plan.points();
    run.set_attribute(attributes::PLAN, json!(plan.source))?;
    run.set_attribute(attributes::STATION_FILE, json!(station_source))?;
    run.set_attribute(
        attributes::STATION,
        serde_json::to_value(&bench.record).unwrap_or(Value::Null),
    )?;
    run.set_attribute(
        attributes::AXES,
        Value::from(
            points
                .axes
                .iter()
                .map(|a| json!({"name": a.name, "instrument": a.instrument, "quantity": a.quantity, "units": a.units, "values": a.values}))
                .collect::<Vec<_>>(),
        ),
    )?;
    for (name, r) in &bench.record.instruments {
        run.set_instrument(name, &r.identification)?;
    }
    describe(run, plan, &points)?;
    // Each axis's value at each point, as planned: the coordinates of every dataset's
    // points (`NAME` of each axis, by point like the measurements).
    for (p, values) in (0..points.len()).map(|p| (p, points.values(p))) {
        for (a, v) in points.axes.iter().zip(values) {
            run.append_at(&a.name, p as u64, &v)?;
        }
    }
    if !points.axes.is_empty() {
        for ix in &points.index {
            run.append(
                "grid_index",
                &ix.iter().map(|&i| i as u64).collect::<Vec<u64>>(),
            )?;
        }
    }
    Ok(())
}

/// Submit `plan` on `bench`, saving into `run`, skipping what `stored` holds already; start
/// its monitors. Nothing runs until the scheduler is started. Record the plan first
/// ([`record_plan`]) for a new run.
///
/// # Errors
///
/// If a task cannot be submitted, or the plan does not fit the station (check it first
/// with [`Plan::check`]).
pub fn submit_plan(
    plan: &Plan,
    bench: &Bench,
    run: &Run,
    stored: &StoredPoints,
) -> Result<Submitted, Error> {
    let points = plan.points();
    let device = |name: &str| {
        bench.devices.get(name).ok_or_else(|| {
            Error::Plan(crate::PlanError::Invalid {
                origin: "plan".into(),
                line: 1,
                message: format!("no instrument `{name}` in the station"),
            })
        })
    };
    let t0: Arc<OnceLock<Instant>> = Arc::new(OnceLock::new());
    let every = plan.scan.every.map(Duration::from_secs_f64);
    let mut per_queue: BTreeMap<String, usize> = BTreeMap::new();
    let mut count = |q: &str| *per_queue.entry(q.to_owned()).or_default() += 1;
    let q = &bench.compute;
    // Step inputs, resolved once.
    let mut known: BTreeMap<String, Vec<String>> = plan
        .measures
        .iter()
        .map(|m| (m.name.clone(), Vec::new()))
        .collect();
    let mut step_inputs = Vec::new();
    for s in &plan.steps {
        let inputs = s
            .inputs
            .iter()
            .map(|i| resolve_input(i, &known))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|m| invalid(&format!("step `{}`: {m}", s.name)))?;
        let params = params_of(s).map_err(|m| invalid(&format!("step `{}`: {m}", s.name)))?;
        known.insert(s.name.clone(), step_outputs(&s.plugin));
        step_inputs.push((inputs, params, saved_outputs(s)));
    }
    // The cluster queue, for steps that run there.
    let cluster = match &plan.cluster {
        Some(c) if plan.steps.iter().any(|s| s.on_cluster()) => {
            let slots = smq_cluster::SlurmSlots {
                partition: c.partition.clone(),
                time_limit: c.time_limit.map(Duration::from_secs_f64),
                mem_mb: c.mem_mb,
                ..smq_cluster::SlurmSlots::new(c.jobs, run.path().join("cluster"))
            };
            Some(
                smq_cluster::cluster_queue(&bench.sch, "cluster", slots)
                    .map_err(|e| invalid(&format!("cannot set up the cluster queue: {e}")))?,
            )
        }
        _ => None,
    };
    let mut skipped = 0;
    let mut k = 0u32; // points submitted, for time series
    for p in 0..points.len() {
        let point = p as u64;
        if stored.complete(point) {
            skipped += 1;
            continue;
        }
        let values = points.values(p);
        // Step 1: the sets, holding.
        let mut sets = Vec::new();
        for (a, &v) in points.axes.iter().zip(&values) {
            let dev = device(&a.instrument)?;
            let c = Command {
                label: format!("set {}({p})={v}", a.name),
                after: &[],
                settled: Vec::new(),
                hold: true,
                releases: None,
            };
            let settle = Duration::from_secs_f64(a.settle);
            let promise = match (dev, &a.set) {
                (StationDevice::Stage(d), _) => stage_set(d, &c, v, settle)?,
                (_, Some(t)) => scpi_set(dev, &c, t, v, settle)?,
                (_, None) => {
                    return Err(invalid(&format!("axis `{}` has no way to be set", a.name)));
                }
            };
            count(&a.instrument);
            sets.push((a.instrument.clone(), promise));
        }
        let set_promises: Vec<Promise<f64>> = sets.iter().map(|(_, s)| s.clone()).collect();
        let not_before = every.map(|e| (Arc::clone(&t0), e * k));
        k += 1;
        // Step 2: measurements on instruments without an axis first.
        let axis_instruments: BTreeSet<&str> = sets.iter().map(|(i, _)| i.as_str()).collect();
        let mut measured: BTreeMap<String, Promise<Values>> = BTreeMap::new();
        for m in plan
            .measures
            .iter()
            .filter(|m| !axis_instruments.contains(m.instrument.as_str()))
        {
            let c = Command {
                label: format!("{}({p})", m.name),
                after: &set_promises,
                settled: Vec::new(),
                hold: false,
                releases: None,
            };
            measured.insert(
                m.name.clone(),
                measure(device(&m.instrument)?, &c, m, not_before.clone())?,
            );
            count(&m.instrument);
        }
        // Step 3: release each axis, by its own instrument's first measurement or by a
        // release task, after the other measurements.
        let others: Vec<Promise<Values>> = measured.values().cloned().collect();
        for (instrument, set) in &sets {
            let mut released = false;
            for m in plan.measures.iter().filter(|m| &m.instrument == instrument) {
                let c = Command {
                    label: format!("{}({p})", m.name),
                    after: &set_promises,
                    settled: if released {
                        Vec::new()
                    } else {
                        others.iter().collect()
                    },
                    hold: false,
                    releases: (!released).then_some(set),
                };
                measured.insert(
                    m.name.clone(),
                    measure(device(instrument)?, &c, m, not_before.clone())?,
                );
                count(instrument);
                released = true;
            }
            if !released {
                let c = Command {
                    label: format!("release {instrument}({p})"),
                    after: &[],
                    settled: others.iter().collect(),
                    hold: false,
                    releases: Some(set),
                };
                match device(instrument)? {
                    StationDevice::Stage(d) => on_device!(d, c, |_: &mut Stage| Ok(()))?,
                    StationDevice::Dmm(d) => on_device!(d, c, |_: &mut Dmm| Ok(()))?,
                    StationDevice::Scope(d) => on_device!(d, c, |_: &mut Scope| Ok(()))?,
                    StationDevice::Scpi(d) => on_device!(d, c, |_: &mut Scpi| Ok(()))?,
                };
                count(instrument);
            }
        }
        // Step 4: processing, then saves.
        let mut nodes = measured.clone();
        for (s, (inputs, params, _)) in plan.steps.iter().zip(&step_inputs) {
            let deps: Vec<Promise<Values>> = inputs
                .iter()
                .filter_map(|(node, _)| nodes.get(node).cloned())
                .collect();
            let keys: Vec<String> = inputs.iter().map(|(_, o)| o.clone()).collect();
            if let (true, Some(cq)) = (s.on_cluster(), &cluster) {
                // The call is put together on compute, then runs as a cluster job.
                let (plugin, params) = (s.plugin.clone(), params_json(s));
                let call = q.task().label(format!("call {}({p})", s.name)).submit(
                    deps,
                    move |vals: Vec<&Values>| smq_cluster::PluginCall {
                        plugin,
                        params,
                        inputs: vals
                            .iter()
                            .zip(&keys)
                            .map(|(v, k)| v.get(k).cloned().unwrap_or_else(|| scalar(f64::NAN)))
                            .collect(),
                    },
                )?;
                count(q.name());
                let out = cq.submit_labelled(
                    &format!("{}({p})", s.name),
                    &smq_cluster::COMPUTE_PLUGIN,
                    &call,
                )?;
                count("cluster");
                nodes.insert(s.name.clone(), out);
                continue;
            }
            let plugin =
                smq_compute::require_plugin(&s.plugin).map_err(|e| invalid(&e.to_string()))?;
            let params = params.clone();
            let out = q.task().label(format!("{}({p})", s.name)).submit_result(
                deps,
                move |vals: Vec<&Values>| {
                    let arrays: Vec<ArrayD<f64>> = vals
                        .iter()
                        .zip(&keys)
                        .map(|(v, k)| v.get(k).cloned().unwrap_or_else(|| scalar(f64::NAN)))
                        .collect();
                    let outputs = plugin.run(&arrays, &params)?;
                    let mut v = Values::new();
                    for (name, a) in outputs.iter() {
                        v.insert(name.to_owned(), a.clone());
                    }
                    Ok::<_, smq_compute::ComputeError>(v)
                },
            )?;
            count(q.name());
            nodes.insert(s.name.clone(), out);
        }
        for m in plan.measures.iter().filter(|m| m.save) {
            if stored.has(&m.name, point) {
                continue;
            }
            let (run, name) = (run.clone(), m.name.clone());
            if let Some(node) = nodes.get(&m.name) {
                q.task()
                    .label(format!("save {}({p})", m.name))
                    .submit_result(node, move |v: &Values| {
                        save(&run, &[(VALUE, name.as_str())], v, point)
                    })?;
                count(q.name());
            }
        }
        for (s, (_, _, saved)) in plan.steps.iter().zip(&step_inputs) {
            let wanted: Vec<(String, String)> = saved
                .iter()
                .filter(|(_, d)| !stored.has(d, point))
                .cloned()
                .collect();
            if wanted.is_empty() {
                continue;
            }
            if let Some(node) = nodes.get(&s.name) {
                let run = run.clone();
                q.task()
                    .label(format!("save {}({p})", s.name))
                    .submit_result(node, move |v: &Values| {
                        let pairs: Vec<(&str, &str)> = wanted
                            .iter()
                            .map(|(o, d)| (o.as_str(), d.as_str()))
                            .collect();
                        save(&run, &pairs, v, point)
                    })?;
                count(q.name());
            }
        }
    }
    let tasks = per_queue.values().sum();
    let mut monitors = Vec::new();
    for m in &plan.monitors {
        monitors.push(start_monitor(bench, run, m)?);
    }
    Ok(Submitted {
        points: points.len(),
        skipped,
        tasks,
        per_queue,
        monitors,
        cluster,
    })
}

fn invalid(message: &str) -> Error {
    Error::Plan(crate::PlanError::Invalid {
        origin: "plan".into(),
        line: 1,
        message: message.to_owned(),
    })
}

/// Store the `(key, dataset)` pairs of `v` at `point`, and the time with the first.
fn save(run: &Run, pairs: &[(&str, &str)], v: &Values, point: u64) -> Result<(), SaveError> {
    for (key, dataset) in pairs {
        let Some(a) = v.get(*key) else {
            return Err(SaveError::NoSuchOutput {
                output: (*key).to_owned(),
                dataset: (*dataset).to_owned(),
                outputs: v.keys().filter(|k| *k != TIME).cloned().collect(),
            });
        };
        run.append_at(dataset, point, a)?;
        if let Some(t) = v.get(TIME).and_then(|t| t.first()) {
            run.append_at(&format!("{dataset}_time"), point, t)?;
        }
    }
    Ok(())
}

/// Why a save task failed.
#[derive(Debug, thiserror::Error)]
enum SaveError {
    /// The store could not write.
    #[error(transparent)]
    Store(#[from] smq_store::Error),
    /// A step gave no output of the name to store (a plugin that does not declare its
    /// outputs is checked only when it runs).
    #[error("no output `{output}` to store in `{dataset}`: the step gave {outputs:?}")]
    NoSuchOutput {
        output: String,
        dataset: String,
        outputs: Vec<String>,
    },
}

/// Start monitor `m`: a thread that submits a reading every `m.every` seconds until
/// stopped, each saved with its sample number (continuing what `run` holds) and time.
fn start_monitor(
    bench: &Bench,
    run: &Run,
    m: &Measure,
) -> Result<(Arc<AtomicBool>, JoinHandle<()>), Error> {
    let dev = bench
        .devices
        .get(&m.instrument)
        .cloned()
        .ok_or_else(|| invalid(&format!("no instrument `{}`", m.instrument)))?;
    let first = run
        .datasets()?
        .iter()
        .find(|d| d.name == m.name)
        .map_or(0, |d| d.len());
    let stop = Arc::new(AtomicBool::new(false));
    let stopped = Arc::clone(&stop);
    let every = Duration::from_secs_f64(m.every.unwrap_or(1.0));
    let (m, run, q) = (m.clone(), run.clone(), bench.compute.clone());
    let thread = std::thread::Builder::new()
        .name(format!("monitor {}", m.name))
        .spawn(move || {
            let start = Instant::now();
            for k in 0u64.. {
                if stopped.load(Ordering::Acquire) {
                    return;
                }
                let sample = first + k;
                let c = Command {
                    label: format!("{}({sample})", m.name),
                    after: &[],
                    settled: Vec::new(),
                    hold: false,
                    releases: None,
                };
                let Ok(reading) = measure(&dev, &c, &m, None) else {
                    return;
                };
                let (run, name) = (run.clone(), m.name.clone());
                let saved = q
                    .task()
                    .label(format!("save {name}({sample})"))
                    .submit_result(&reading, move |v: &Values| {
                        save(&run, &[(VALUE, name.as_str())], v, sample)
                    });
                if saved.is_err() {
                    return;
                }
                // Wait for the next tick, checking the stop flag often enough to stop
                // promptly.
                let next = start + every * (k as u32 + 1);
                while let Some(left) = next.checked_duration_since(Instant::now()) {
                    if stopped.load(Ordering::Acquire) {
                        return;
                    }
                    std::thread::sleep(left.min(Duration::from_millis(20)));
                }
            }
        })
        .map_err(|e| invalid(&format!("cannot start the monitor thread: {e}")))?;
    Ok((stop, thread))
}

/// The values of `dataset` in `run` by point: the last value stored for each point, in
/// point order (a reader's view of a plan's run).
///
/// # Errors
///
/// If the datasets cannot be read.
pub fn by_point(run: &Run, dataset: &str) -> Result<BTreeMap<u64, ArrayD<f64>>, Error> {
    let values = run.read::<f64>(dataset)?;
    let points = run.read::<u64>(&Run::points_of(dataset))?;
    let mut out = BTreeMap::new();
    for (i, &p) in points.iter().enumerate() {
        if i < values.shape()[0] {
            out.insert(p, values.index_axis(ndarray::Axis(0), i).to_owned());
        }
    }
    Ok(out)
}

/// A scalar dataset by point as a vector (NaN where a point is missing), for `n` points.
pub fn scalars_by_point(run: &Run, dataset: &str, n: usize) -> Result<Array1<f64>, Error> {
    let m = by_point(run, dataset)?;
    Ok(Array1::from_iter((0..n as u64).map(|p| {
        m.get(&p)
            .and_then(|a| a.first().copied())
            .unwrap_or(f64::NAN)
    })))
}
