//! Shared helpers of the end-to-end tests: a simulated lab with its instruments as
//! devices of one scheduler, and checks on the scheduler's event log.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use smq_dmm::{Dmm, DmmDevice};
use smq_instrument::Instrument as _;
use smq_instrument::smqsched::{Event, EventKind, Scheduler, TaskId};
use smq_scope::{Scope, ScopeDevice, Waveform};
use smq_sim::{Physics, SIGNAL_FREQUENCY, SimLab};
use smq_stage::{Stage, StageDevice};

/// Timeout of the calls expected to succeed.
pub const LONG: Duration = Duration::from_secs(10);

/// A simulated lab and its three instruments, each a device of `sch`: the stage over its
/// pseudo-terminal, the multimeter over its pseudo-terminal, the scope over TCP.
pub struct Bench {
    /// The simulators (shared, so tasks can reach them).
    pub lab: Arc<SimLab>,
    /// The scheduler, stopped until the test starts it.
    pub sch: Scheduler,
    /// The motion controller.
    pub stage: StageDevice,
    /// The multimeter.
    pub dmm: DmmDevice,
    /// The oscilloscope.
    pub scope: ScopeDevice,
}

impl Bench {
    /// Start a lab around `physics` (noise seeded by `seed`) and open its instruments as
    /// devices `stage`, `dmm` and `scope` of a new, stopped scheduler.
    ///
    /// # Panics
    ///
    /// If a simulator cannot start or an instrument cannot be opened.
    pub fn new(physics: Physics, seed: u64) -> Self {
        let lab = Arc::new(SimLab::with_physics(Arc::new(physics), seed).expect("start lab"));
        let sch = Scheduler::new();
        let stage = Stage::open(&lab.stage.serial_address()).expect("open stage");
        let dmm = Dmm::open(&lab.dmm.serial_address()).expect("open dmm");
        let scope = Scope::open(&lab.scope.socket_address()).expect("connect scope");
        Self {
            stage: StageDevice::new(&sch, "stage", stage)
                .expect("stage queue")
                .with_motion_timeout(LONG),
            dmm: DmmDevice::new(&sch, "dmm", dmm).expect("dmm queue"),
            scope: ScopeDevice::new(&sch, "scope", scope).expect("scope queue"),
            lab,
            sch,
        }
    }
}

/// Amplitude of the component of `w` at the simulator's signal frequency, by projection on
/// a sine and a cosine (a software lock-in). Exact for a record of whole periods, and
/// insensitive to white noise and quantization, unlike the peak-to-peak amplitude.
pub fn lock_in_amplitude(w: &Waveform) -> f64 {
    let omega = std::f64::consts::TAU * SIGNAL_FREQUENCY;
    let n = w.v.len() as f64;
    let (mut s, mut c) = (0.0, 0.0);
    for (&t, &v) in w.t.iter().zip(w.v.iter()) {
        s += v * (omega * t).sin();
        c += v * (omega * t).cos();
    }
    2.0 * (s * s + c * c).sqrt() / n
}

/// One task's run on its queue, from the scheduler's events, in event order.
#[derive(Debug, Clone)]
pub struct Run {
    /// The task.
    pub task: TaskId,
    /// Its label.
    pub label: String,
    /// Index of its `Started` event in the log.
    pub started: usize,
    /// Index of its `Finished` or `Failed` event in the log.
    pub ended: usize,
}

/// The runs of the tasks of queue `queue`, checking on the way that they never overlap:
/// between a task's `Started` event and its end (`Finished` or `Failed`), no other task of
/// the queue starts. The scheduler emits its events under its lock, in the order things
/// happen, so the log is a faithful timeline.
///
/// # Panics
///
/// If two tasks of the queue overlap, or a task ends without having started on it while
/// another one runs.
pub fn runs_of(events: &[Event], queue: &str) -> Vec<Run> {
    let mut runs = Vec::new();
    let mut running: Option<(TaskId, String, usize)> = None;
    for (i, e) in events.iter().enumerate() {
        if e.queue.as_deref() != Some(queue) {
            continue;
        }
        let Some(task) = e.task else { continue };
        let label = e.label.as_deref().unwrap_or("").to_owned();
        match &e.kind {
            EventKind::Started { .. } => {
                if let Some((other, other_label, _)) = &running {
                    panic!("{queue}: `{label}` started while `{other_label}` ({other}) runs");
                }
                running = Some((task, label, i));
            }
            EventKind::Finished | EventKind::Failed { .. } => match running.take() {
                Some((t, l, started)) if t == task => runs.push(Run {
                    task,
                    label: l,
                    started,
                    ended: i,
                }),
                // A task that failed without running (an input failed): not a run.
                other => running = other,
            },
            _ => {}
        }
    }
    assert!(running.is_none(), "{queue}: a task never ended");
    runs
}

/// The run of each task, by id.
pub fn by_task(runs: &[Run]) -> HashMap<TaskId, Run> {
    runs.iter().map(|r| (r.task, r.clone())).collect()
}
