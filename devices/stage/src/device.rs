//! The motion controller as a device of a scheduler: each method submits one command on
//! the stage's one-slot queue and returns a promise.

use std::time::Duration;

use smq_instrument::smqsched::{Promise, QueueError, Scheduler, StartOrder};
use smq_instrument::{Device, DeviceTask, Instrument, InstrumentError};

use crate::{Stage, Status};

/// How long [`StageDevice`] waits for a move or a homing to end, unless told otherwise
/// ([`StageDevice::with_motion_timeout`]).
pub const DEFAULT_MOTION_TIMEOUT: Duration = Duration::from_secs(60);

/// A [`Stage`] behind a one-slot queue of a [`Scheduler`] (see
/// [`smq_instrument::Device`]): its commands never overlap, run in the scheduler's order,
/// and each returns a [`Promise`]. A command that fails fails its promise only, with a
/// message naming the device and the command.
///
/// Moves wait for the motion to end, so a move's promise is fulfilled when the stage is
/// at rest, with the position reached. For a move followed by an acquisition that must
/// happen at that position, [`move_to_held`](Self::move_to_held) keeps the stage's slot
/// until the acquisition [releases](smq_instrument::DeviceTask::releases) it.
///
/// Independent commands run in the scheduler's order (newest first), not in the order
/// of submission: a command that must follow another one (a move after the homing) takes
/// it as an input or [`after`](smq_instrument::DeviceTask::after) it, or is submitted once
/// it is done. A stage created with [`new_ordered`](Self::new_ordered) and
/// [`StartOrder::Submission`] runs its commands in the order they were submitted instead.
///
/// Cloning gives another handle on the same stage.
///
/// # Examples
///
/// ```
/// # use smq_instrument::Instrument as _;
/// use smq_stage::{Stage, StageDevice};
/// use smq_instrument::smqsched::Scheduler;
/// # let sim = smq_sim::SimInstrument::start(smq_sim::StageModel::standalone()).unwrap();
/// # let addr = sim.socket_address();
///
/// let sch = Scheduler::new();
/// let stage = StageDevice::new(&sch, "stage", Stage::open(&addr)?)?;
/// sch.start();
/// stage.home().result()?;
/// stage.set_velocity(100.0).result()?;
/// // Submitted together, the moves run newest first; each returns where it went.
/// let reached: Vec<_> = [0.5, 1.0, 1.5].iter().map(|&x| stage.move_to(x)).collect();
/// assert_eq!(*reached[0].result()?, 0.5);
/// assert_eq!(*reached[2].result()?, 1.5);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone)]
pub struct StageDevice {
    device: Device<Stage>,
    motion_timeout: Duration,
}

impl StageDevice {
    /// Put `stage` behind a new one-slot queue named `name` of `scheduler`.
    ///
    /// # Errors
    ///
    /// [`QueueError`] if the scheduler already has a queue of that name or has shut down.
    pub fn new(scheduler: &Scheduler, name: &str, stage: Stage) -> Result<Self, QueueError> {
        Self::new_ordered(scheduler, name, stage, StartOrder::NewestFirst)
    }

    /// As [`new`](Self::new), with a queue that starts its commands in `order`:
    /// [`StartOrder::Submission`] for an experiment plan, whose moves must go in the order
    /// they were submitted (0, 1, 2...) while processing elsewhere keeps the newest first
    /// (see [`Device::new_ordered`]).
    ///
    /// # Errors
    ///
    /// As [`new`](Self::new).
    ///
    /// # Examples
    ///
    /// ```
    /// # use smq_instrument::Instrument as _;
    /// use smq_stage::{Stage, StageDevice};
    /// use smq_instrument::smqsched::{Scheduler, StartOrder};
    /// # let sim = smq_sim::SimInstrument::start(smq_sim::StageModel::standalone()).unwrap();
    /// # let addr = sim.socket_address();
    ///
    /// let sch = Scheduler::new();
    /// let stage =
    ///     StageDevice::new_ordered(&sch, "stage", Stage::open(&addr)?, StartOrder::Submission)?;
    /// let home = stage.home();
    /// let speed = stage.set_velocity(100.0);
    /// let moves: Vec<_> = [0.5, 1.0, 1.5].iter().map(|&x| stage.move_to(x)).collect();
    /// sch.start();
    /// sch.wait();
    /// assert!(home.result().is_ok() && speed.result().is_ok());
    /// // In submission order: homed first, then 0.5, 1.0, 1.5; the last move ends at 1.5.
    /// assert_eq!(*stage.position().result()?, 1.5);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn new_ordered(
        scheduler: &Scheduler,
        name: &str,
        stage: Stage,
        order: StartOrder,
    ) -> Result<Self, QueueError> {
        Ok(Self {
            device: Device::new_ordered(scheduler, name, stage, order)?,
            motion_timeout: DEFAULT_MOTION_TIMEOUT,
        })
    }

    /// Wait at most `timeout` for each move or homing submitted through this handle to end
    /// (default [`DEFAULT_MOTION_TIMEOUT`]).
    pub fn with_motion_timeout(mut self, timeout: Duration) -> Self {
        self.motion_timeout = timeout;
        self
    }

    /// The underlying device, to submit any driver call or use scheduling options.
    pub fn device(&self) -> &Device<Stage> {
        &self.device
    }

    /// A command with scheduling options; see [`Device::task`].
    pub fn task(&self, command: &str) -> DeviceTask<'_, Stage> {
        self.device.task(command)
    }

    /// [`Stage::set_timeout`]: the reply timeout of the following commands.
    pub fn set_timeout(&self, timeout: Duration) -> Promise<()> {
        self.device.submit("set_timeout", move |s: &mut Stage| {
            s.set_timeout(timeout);
            Ok(())
        })
    }

    /// [`Stage::home`], then wait until the stage is READY.
    pub fn home(&self) -> Promise<Status> {
        let timeout = self.motion_timeout;
        self.device.submit("home", move |s: &mut Stage| {
            s.home()?;
            s.wait_motion_done(timeout)
        })
    }

    /// [`Stage::set_velocity`]: `VA`, mm/s.
    pub fn set_velocity(&self, velocity: f64) -> Promise<()> {
        self.device.submit("set_velocity", move |s: &mut Stage| {
            s.set_velocity(velocity)
        })
    }

    /// [`Stage::position`]: `TP`, mm.
    pub fn position(&self) -> Promise<f64> {
        self.device.submit("position", Stage::position)
    }

    /// [`Stage::status`]: `TS`.
    pub fn status(&self) -> Promise<Status> {
        self.device.submit("status", Stage::status)
    }

    /// Move to `x` (mm), wait for the motion to end, and return the position reached
    /// (`TP`).
    pub fn move_to(&self, x: f64) -> Promise<f64> {
        let timeout = self.motion_timeout;
        self.device
            .submit(&format!("move_to({x})"), move |s: &mut Stage| {
                move_and_tell(s, x, timeout)
            })
    }

    /// As [`move_to`](Self::move_to), but keep the stage's slot after the move until the
    /// task that [`releases`](smq_instrument::DeviceTask::releases) the returned promise
    /// ends: no other command of the stage (in particular no other move) runs in between.
    /// Every held move must be released by exactly one task, or the stage's queue stays
    /// blocked.
    ///
    /// # Examples
    ///
    /// A move and the reading taken at its position, never split:
    ///
    /// ```
    /// # use smq_instrument::Instrument as _;
    /// use smq_dmm::{Dmm, DmmDevice};
    /// use smq_stage::{Stage, StageDevice};
    /// # let lab = smq_sim::SimLab::start(1).unwrap();
    /// # let (stage_addr, dmm_addr) = (lab.stage.socket_address(), lab.dmm.socket_address());
    /// let sch = smq_instrument::smqsched::Scheduler::new();
    /// let stage = StageDevice::new(&sch, "stage", Stage::open(&stage_addr)?)?;
    /// let dmm = DmmDevice::new(&sch, "dmm", Dmm::open(&dmm_addr)?)?;
    /// sch.start();
    /// stage.home().result()?;
    /// stage.set_velocity(100.0).result()?;
    /// let mut scan = Vec::new();
    /// for x in [4.0, 5.0, 6.0] {
    ///     let moved = stage.move_to_held(x);
    ///     let volts = dmm
    ///         .task("read")
    ///         .releases(&moved)
    ///         .submit_with(&moved, |d: &mut Dmm, at: &f64| Ok((*at, d.read()?)))?;
    ///     scan.push(volts);
    /// }
    /// let (x, v) = *scan[1].result()?;
    /// assert_eq!(x, 5.0);
    /// assert!((v - lab.physics().signal(5.0)).abs() < 1e-2);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Panics
    ///
    /// If the scheduler has shut down.
    pub fn move_to_held(&self, x: f64) -> Promise<f64> {
        let timeout = self.motion_timeout;
        let submitted = self
            .device
            .task(&format!("move_to({x})"))
            .hold()
            .submit(move |s: &mut Stage| move_and_tell(s, x, timeout));
        match submitted {
            Ok(p) => p,
            Err(e) => panic!("{}: cannot submit a move: {e}", self.device.name()),
        }
    }

    /// [`Stage::stop`]: `ST`.
    pub fn stop(&self) -> Promise<()> {
        self.device.submit("stop", Stage::stop)
    }

    /// Replace the driver by the one `open` returns, e.g. after the link was lost; see
    /// [`Device::reopen`].
    pub fn reopen<F>(&self, open: F) -> Promise<()>
    where
        F: FnOnce() -> Result<Stage, InstrumentError> + Send + 'static,
    {
        self.device.reopen(open)
    }
}

fn move_and_tell(stage: &mut Stage, x: f64, timeout: Duration) -> Result<f64, InstrumentError> {
    stage.move_to(x, timeout)?;
    stage.position()
}
