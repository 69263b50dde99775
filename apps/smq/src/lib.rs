//! # smq-cli — the `smq` command and the demo scan it runs
//!
//! The `smq` binary drives the simulated lab of `smq-sim` through the scheduler and stores
//! what it measures with `smq-store`:
//!
//! ```text
//! smq demo [--points N] [--out DIR] [--seed S] [--trace FILE]
//!                                                run the demo scan, store it under DIR
//! smq sim  [--seed S]                            serve the simulated instruments until Ctrl-C
//! smq ls   [--out DIR]                           list the stored runs
//! smq show RUN [--out DIR]                       metadata, datasets and task counts of a run
//! ```
//!
//! During `smq demo`, a first Ctrl-C pauses: the scheduler stops, running tasks finish, and
//! Enter resumes while `a` + Enter or a second Ctrl-C aborts, keeping the data taken so far
//! (the run is finished with its task summary and the command exits non-zero).
//!
//! The demo scan itself is defined here, once, so that other front ends (a dashboard, a
//! test) submit exactly the same graph:
//!
//! 1. [`Lab::open`] starts a [`SimLab`] and opens its three instruments as devices of a
//!    scheduler (stage and multimeter over pseudo-terminals, scope over TCP), each on its
//!    own one-slot queue, plus a `compute` queue with two slots.
//! 2. [`Lab::prepare`] homes the stage and configures the meter and the scope.
//! 3. [`demo_scan`] submits, for each position: a move that holds the stage, a multimeter
//!    reading after it, a scope waveform that releases the stage, a power spectrum of the
//!    waveform and its peak on the compute queue; waveforms, readings and peaks are marked
//!    for saving into the run.
//!
//! ```no_run
//! use smq_cli::{Lab, demo_scan, default_positions};
//! use smq_store::Store;
//!
//! let lab = Lab::open(1)?;
//! lab.sch.start();
//! lab.prepare()?;
//! let store = Store::create("runs")?;
//! let run = store.create_run("demo-1", "demo", serde_json::json!({}))?;
//! let scan = demo_scan(&lab, &run, &default_positions(21))?;
//! lab.sch.wait();
//! let (x, v) = scan.max_signal().expect("some reading");
//! println!("maximum {v} V at {x} mm");
//! # Ok::<(), smq_cli::Error>(())
//! ```

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;

use ndarray::Array1;
use serde_json::{Value, json};
use smq_compute::{Window, power_spectrum};
use smq_dmm::{Dmm, DmmDevice, Range};
use smq_scope::{Scope, ScopeDevice, Waveform};
use smq_sim::SimLab;
use smq_stage::{Stage, StageDevice};
use smq_store::Run;
use smqsched::{Event, EventKind, Promise, Queue, Scheduler, TaskId, TaskState};

/// Error of the demo: a message naming what failed.
pub type Error = Box<dyn std::error::Error + Send + Sync>;

/// Timeout of a stage motion.
pub const MOTION_TIMEOUT: Duration = Duration::from_secs(10);

/// Scope channel recorded by the demo.
pub const CHANNEL: u8 = 1;

/// `n` stage positions evenly spread over 0 to 10 mm (the simulated sample's peak sits at
/// 5 mm); a single point is at 0.
pub fn default_positions(n: usize) -> Vec<f64> {
    match n {
        0 => Vec::new(),
        1 => vec![0.0],
        _ => (0..n).map(|i| 10.0 * i as f64 / (n - 1) as f64).collect(),
    }
}

/// The simulated lab and its instruments, as devices of one scheduler.
pub struct Lab {
    /// The simulators; dropping them closes the instruments' links.
    pub sim: Arc<SimLab>,
    /// The scheduler, stopped until started by the caller.
    pub sch: Scheduler,
    /// The motion controller (queue `stage`).
    pub stage: StageDevice,
    /// The multimeter (queue `dmm`).
    pub dmm: DmmDevice,
    /// The oscilloscope (queue `scope`).
    pub scope: ScopeDevice,
    /// The processing and saving queue (`compute`, two slots).
    pub compute: Queue,
}

impl Lab {
    /// Start the simulators (noise seeded by `seed`) and open their instruments on a new,
    /// stopped scheduler.
    ///
    /// # Errors
    ///
    /// If a simulator cannot start, an instrument cannot be opened or a queue created.
    pub fn open(seed: u64) -> Result<Self, Error> {
        let sim =
            Arc::new(SimLab::start(seed).map_err(|e| format!("cannot start the simulators: {e}"))?);
        let sch = Scheduler::new();
        let stage = Stage::open_serial(&sim.stage.pty_path())
            .map_err(|e| format!("cannot open the stage: {e}"))?;
        let dmm = Dmm::open_serial(&sim.dmm.pty_path(), &Dmm::serial_config())
            .map_err(|e| format!("cannot open the multimeter: {e}"))?;
        let scope = Scope::connect_tcp(sim.scope.tcp_addr())
            .map_err(|e| format!("cannot connect to the scope: {e}"))?;
        Ok(Self {
            stage: StageDevice::new(&sch, "stage", stage)?.with_motion_timeout(MOTION_TIMEOUT),
            dmm: DmmDevice::new(&sch, "dmm", dmm)?,
            scope: ScopeDevice::new(&sch, "scope", scope)?,
            compute: sch.queue("compute", 2)?,
            sim,
            sch,
        })
    }

    /// Home the stage, set its velocity, configure the meter for DC volts and the scope's
    /// scales, waiting for each. The scheduler must be started.
    ///
    /// # Errors
    ///
    /// The first command that fails.
    pub fn prepare(&self) -> Result<(), Error> {
        self.stage.home().result()?;
        self.stage.set_velocity(200.0).result()?;
        self.dmm
            .configure_voltage_dc(Range::Value(10.0), None)
            .result()?;
        self.scope.set_timebase_scale(1e-3).result()?;
        self.scope.set_channel_scale(CHANNEL, 0.1).result()?;
        Ok(())
    }

    /// Each instrument's identification (`*IDN?`, or the stage's identifier), by name.
    /// The scheduler must be started.
    ///
    /// # Errors
    ///
    /// If an instrument does not answer.
    pub fn identities(&self) -> Result<BTreeMap<String, String>, Error> {
        let stage = self
            .stage
            .task("identify")
            .submit(|s: &mut Stage| s.stage_identifier())?;
        let dmm = self.dmm.identify();
        let scope = self.scope.identify();
        let mut out = BTreeMap::new();
        out.insert("stage".to_owned(), stage.result()?.to_string());
        out.insert("dmm".to_owned(), dmm.result()?.to_string());
        out.insert("scope".to_owned(), scope.result()?.to_string());
        Ok(out)
    }
}

/// The peak of a power spectrum: `[frequency (Hz), power (V²)]`.
pub type Peak = Vec<f64>;

/// The promises of a submitted demo scan, one per position in each vector.
pub struct DemoHandles {
    /// The scanned positions, mm.
    pub positions: Vec<f64>,
    /// The position reached by each move.
    pub moves: Vec<Promise<f64>>,
    /// The multimeter reading at each position, V.
    pub readings: Vec<Promise<f64>>,
    /// The waveform recorded at each position.
    pub waveforms: Vec<Promise<Waveform>>,
    /// The power spectrum of each waveform.
    pub spectra: Vec<Promise<Array1<f64>>>,
    /// The peak of each spectrum.
    pub peaks: Vec<Promise<Peak>>,
    /// The save tasks (acquisition index of each saved value).
    pub saves: Vec<Promise<u64>>,
}

impl DemoHandles {
    /// The position of the largest multimeter reading and the reading, among the readings
    /// that succeeded; `None` if none did. Waits for the readings.
    pub fn max_signal(&self) -> Option<(f64, f64)> {
        self.positions
            .iter()
            .zip(&self.readings)
            .filter_map(|(&x, r)| r.result().ok().map(|v| (x, *v)))
            .max_by(|a, b| a.1.total_cmp(&b.1))
    }

    /// The number of tasks submitted by the scan.
    pub fn task_count(&self) -> usize {
        self.moves.len()
            + self.readings.len()
            + self.waveforms.len()
            + self.spectra.len()
            + self.peaks.len()
            + self.saves.len()
    }
}

/// Names of the datasets written by [`demo_scan`].
pub mod datasets {
    /// Stage position reached, mm (one scalar per point).
    pub const POSITION: &str = "position";
    /// Multimeter reading, V (one scalar per point).
    pub const DMM: &str = "dmm_voltage";
    /// Scope waveform voltages, V (one record per point).
    pub const WAVEFORM: &str = "waveform";
    /// Spectrum peak `[frequency Hz, power V²]` (one pair per point).
    pub const PEAK: &str = "spectrum_peak";
}

/// Submit the demo scan over `positions` on `lab`'s scheduler, saving into `run`; see the
/// [crate docs](crate). Nothing runs until the scheduler is started (if it is not yet).
///
/// # Errors
///
/// If a task cannot be submitted.
pub fn demo_scan(lab: &Lab, run: &Run, positions: &[f64]) -> Result<DemoHandles, Error> {
    let mut h = DemoHandles {
        positions: positions.to_vec(),
        moves: Vec::new(),
        readings: Vec::new(),
        waveforms: Vec::new(),
        spectra: Vec::new(),
        peaks: Vec::new(),
        saves: Vec::new(),
    };
    let q = &lab.compute;
    for &x in positions {
        let moved = lab.stage.move_to_held(x);
        let reading = lab
            .dmm
            .task("read")
            .after(&moved)
            .submit(|d: &mut Dmm| d.read())?;
        let wave = lab.scope.waveform_releasing(CHANNEL, &moved)?;
        let volts = q
            .task()
            .label(format!("volts({x})"))
            .submit(&wave, |w: &Waveform| w.v.clone())?;
        let spectrum = q
            .task()
            .label(format!("fft({x})"))
            .submit_result(&wave, |w: &Waveform| power_spectrum(&w.v, Window::Hann))?;
        let peak = q
            .task()
            .label(format!("peak({x})"))
            .submit((&wave, &spectrum), |(w, s): (&Waveform, &Array1<f64>)| {
                spectrum_peak(w, s)
            })?;
        h.saves.push(run.save(q, datasets::POSITION, &moved)?);
        h.saves.push(run.save(q, datasets::DMM, &reading)?);
        h.saves.push(run.save(q, datasets::WAVEFORM, &volts)?);
        h.saves.push(run.save(q, datasets::PEAK, &peak)?);
        h.moves.push(moved);
        h.readings.push(reading);
        h.waveforms.push(wave);
        h.spectra.push(spectrum);
        h.peaks.push(peak);
    }
    Ok(h)
}

/// The largest bin of the one-sided power spectrum `s` of `w`, skipping the DC bin:
/// `[frequency (Hz), power]`.
pub fn spectrum_peak(w: &Waveform, s: &Array1<f64>) -> Peak {
    let n = w.v.len().max(1) as f64;
    let dt = if w.t.len() >= 2 {
        w.t[1] - w.t[0]
    } else {
        w.preamble.x_increment
    };
    let df = if dt > 0.0 { 1.0 / (n * dt) } else { 0.0 };
    let (bin, power) =
        s.iter()
            .enumerate()
            .skip(1)
            .fold((0, f64::NEG_INFINITY), |best, (i, &p)| {
                if p > best.1 { (i, p) } else { best }
            });
    vec![bin as f64 * df, power.max(0.0)]
}

/// Task counts of `sch`'s graph by state and by label kind (the label up to its first
/// `(`), plus the failures with their labels: the run's DAG summary.
pub fn dag_summary(sch: &Scheduler) -> Value {
    let snap = sch.snapshot();
    let mut by_state: BTreeMap<String, usize> = BTreeMap::new();
    let mut by_label: BTreeMap<String, BTreeMap<String, usize>> = BTreeMap::new();
    let mut failed = Vec::new();
    for t in &snap.tasks {
        let state = state_name(t.state).to_owned();
        *by_state.entry(state.clone()).or_default() += 1;
        let kind = t.label.split('(').next().unwrap_or("").to_owned();
        *by_label.entry(kind).or_default().entry(state).or_default() += 1;
        if t.state == TaskState::Failed {
            failed.push(Value::String(t.label.to_string()));
        }
    }
    json!({
        "tasks": snap.tasks.len(),
        "by_state": by_state,
        "by_label": by_label,
        "failed": failed,
    })
}

/// Lower-case name of a task state.
pub fn state_name(state: TaskState) -> &'static str {
    match state {
        TaskState::Waiting => "waiting",
        TaskState::Ready => "ready",
        TaskState::Running => "running",
        TaskState::Done => "done",
        TaskState::Failed => "failed",
        TaskState::Cancelled => "cancelled",
        #[allow(unreachable_patterns)]
        _ => "other",
    }
}

/// Chrome trace-event JSON (for `chrome://tracing` or Perfetto) of the task runs in
/// `events`: one complete event per task run, from its `Started` to its `Finished` or
/// `Failed` event, on one track per queue slot (named `queue/slot`).
pub fn chrome_trace(events: &[Event]) -> Value {
    let mut tracks: BTreeMap<(String, u32), usize> = BTreeMap::new();
    let mut open: HashMap<TaskId, (usize, Duration, String, String)> = HashMap::new();
    let mut out = Vec::new();
    for e in events {
        let Some(task) = e.task else { continue };
        let queue = e.queue.as_deref().unwrap_or("").to_owned();
        let label = e.label.as_deref().unwrap_or("").to_owned();
        match &e.kind {
            EventKind::Started { slot } => {
                let next = tracks.len() + 1;
                let tid = *tracks.entry((queue.clone(), *slot)).or_insert(next);
                open.insert(task, (tid, e.at, label, queue));
            }
            EventKind::Finished | EventKind::Failed { .. } => {
                if let Some((tid, start, label, queue)) = open.remove(&task) {
                    let failed = matches!(e.kind, EventKind::Failed { .. });
                    out.push(json!({
                        "name": label,
                        "cat": queue,
                        "ph": "X",
                        "ts": start.as_secs_f64() * 1e6,
                        "dur": e.at.saturating_sub(start).as_secs_f64() * 1e6,
                        "pid": 1,
                        "tid": tid,
                        "args": {"failed": failed},
                    }));
                }
            }
            _ => {}
        }
    }
    for ((queue, slot), tid) in &tracks {
        out.push(json!({
            "name": "thread_name",
            "ph": "M",
            "pid": 1,
            "tid": tid,
            "args": {"name": format!("{queue}/{slot}")},
        }));
    }
    json!({ "traceEvents": out, "displayTimeUnit": "ms" })
}
