//! The oscilloscope as a device of a scheduler: each method submits one command on the
//! scope's one-slot queue and returns a promise.

use std::time::Duration;

use smq_instrument::smqsched::{
    Dependency, Promise, QueueError, Scheduler, StartOrder, SubmitError,
};
use smq_instrument::{Device, DeviceTask, Identity, Instrument, InstrumentError};

use crate::{Scope, Waveform};

/// A [`Scope`] behind a one-slot queue of a [`Scheduler`] (see
/// [`smq_instrument::Device`]): its commands never overlap, run in the scheduler's order,
/// and each returns a [`Promise`]. A command that fails fails its promise only, with a
/// message naming the device and the command.
///
/// Independent commands run in the scheduler's order (newest first), not in the order
/// of submission: a command that must follow another one takes it as an input or
/// [`after`](smq_instrument::DeviceTask::after) it, or is submitted once it is done.
///
/// Cloning gives another handle on the same scope.
///
/// # Examples
///
/// Waveforms acquired on the scope's queue, their amplitudes computed on another queue:
///
/// ```
/// # use smq_instrument::Instrument as _;
/// use smq_scope::{Scope, ScopeDevice, Waveform};
/// use smq_instrument::smqsched::Scheduler;
/// # let sim = smq_sim::SimInstrument::start(smq_sim::ScopeModel::standalone(1)).unwrap();
/// # let addr = sim.socket_address();
///
/// let sch = Scheduler::new();
/// let scope = ScopeDevice::new(&sch, "scope", Scope::open(&addr)?)?;
/// let compute = sch.queue("compute", 2)?;
/// let amplitudes: Vec<_> = (0..3)
///     .map(|_| compute.submit(&scope.waveform(1), |w: &Waveform| w.amplitude()))
///     .collect();
/// sch.start();
/// for a in &amplitudes {
///     assert!(*a.result()? > 0.0);
/// }
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone)]
pub struct ScopeDevice {
    device: Device<Scope>,
}

impl ScopeDevice {
    /// Put `scope` behind a new one-slot queue named `name` of `scheduler`.
    ///
    /// # Errors
    ///
    /// [`QueueError`] if the scheduler already has a queue of that name or has shut down.
    pub fn new(scheduler: &Scheduler, name: &str, scope: Scope) -> Result<Self, QueueError> {
        Self::new_ordered(scheduler, name, scope, StartOrder::NewestFirst)
    }

    /// As [`new`](Self::new), with a queue that starts its commands in `order`:
    /// [`StartOrder::Submission`] for an experiment plan, whose commands must reach the
    /// instrument in the order they were submitted (see [`Device::new_ordered`]).
    ///
    /// # Errors
    ///
    /// As [`new`](Self::new).
    pub fn new_ordered(
        scheduler: &Scheduler,
        name: &str,
        scope: Scope,
        order: StartOrder,
    ) -> Result<Self, QueueError> {
        Ok(Self {
            device: Device::new_ordered(scheduler, name, scope, order)?,
        })
    }

    /// The underlying device, to submit any driver call or use scheduling options.
    pub fn device(&self) -> &Device<Scope> {
        &self.device
    }

    /// A command with scheduling options; see [`Device::task`].
    pub fn task(&self, command: &str) -> DeviceTask<'_, Scope> {
        self.device.task(command)
    }

    /// [`Scope::identify`]: `*IDN?`.
    pub fn identify(&self) -> Promise<Identity> {
        self.device.submit("identify", Scope::identify)
    }

    /// [`Scope::reset`]: `*RST`.
    pub fn reset(&self) -> Promise<()> {
        self.device.submit("reset", Scope::reset)
    }

    /// [`Scope::set_timeout`]: the reply timeout of the following commands.
    pub fn set_timeout(&self, timeout: Duration) -> Promise<()> {
        self.device.submit("set_timeout", move |s: &mut Scope| {
            s.set_timeout(timeout);
            Ok(())
        })
    }

    /// [`Scope::run`]: `:RUN`.
    pub fn run(&self) -> Promise<()> {
        self.device.submit("run", Scope::run)
    }

    /// [`Scope::stop`]: `:STOP`.
    pub fn stop(&self) -> Promise<()> {
        self.device.submit("stop", Scope::stop)
    }

    /// [`Scope::single`]: `:SING`.
    pub fn single(&self) -> Promise<()> {
        self.device.submit("single", Scope::single)
    }

    /// [`Scope::set_timebase_scale`]: `:TIM:SCAL`, seconds per division.
    pub fn set_timebase_scale(&self, seconds_per_div: f64) -> Promise<()> {
        self.device
            .submit("set_timebase_scale", move |s: &mut Scope| {
                s.set_timebase_scale(seconds_per_div)
            })
    }

    /// [`Scope::set_channel_scale`]: `:CHAN<n>:SCAL`, volts per division.
    pub fn set_channel_scale(&self, channel: u8, volts_per_div: f64) -> Promise<()> {
        self.device
            .submit("set_channel_scale", move |s: &mut Scope| {
                s.set_channel_scale(channel, volts_per_div)
            })
    }

    /// [`Scope::read_waveform`]: select `channel`, read its waveform in volts and seconds.
    pub fn waveform(&self, channel: u8) -> Promise<Waveform> {
        self.device
            .submit(&format!("waveform({channel})"), move |s: &mut Scope| {
                s.read_waveform(channel)
            })
    }

    /// The waveform of `channel` taken at a held position: runs after `held` (e.g. a
    /// stage move submitted with [`hold`](smq_instrument::DeviceTask::hold)) and releases
    /// it when done, so nothing else runs on the held device between the two.
    ///
    /// # Errors
    ///
    /// [`SubmitError`] if `held` holds nothing, is released already, or belongs to
    /// another scheduler.
    ///
    /// # Examples
    ///
    /// ```
    /// # use smq_instrument::Instrument as _;
    /// use smq_instrument::Device;
    /// use smq_scope::{Scope, ScopeDevice};
    /// # let sim = smq_sim::SimInstrument::start(smq_sim::ScopeModel::standalone(1)).unwrap();
    /// let sch = smq_instrument::smqsched::Scheduler::new();
    /// let scope = ScopeDevice::new(&sch, "scope", Scope::open(&sim.socket_address())?)?;
    /// let stage = Device::new(&sch, "stage", 0.0_f64)?;
    /// let moved = stage.task("move").hold().submit(|x: &mut f64| { *x = 1.0; Ok(*x) })?;
    /// let w = scope.waveform_releasing(1, &moved)?;
    /// sch.start();
    /// assert_eq!(w.result()?.channel, 1);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn waveform_releasing(
        &self,
        channel: u8,
        held: &impl Dependency,
    ) -> Result<Promise<Waveform>, SubmitError> {
        self.device
            .task(&format!("waveform({channel})"))
            .releases(held)
            .submit(move |s: &mut Scope| s.read_waveform(channel))
    }

    /// [`Scope::check_errors`]: empty the error queue, failing on the oldest error.
    pub fn check_errors(&self) -> Promise<()> {
        self.device.submit("check_errors", Scope::check_errors)
    }

    /// Replace the driver by the one `open` returns, e.g. after the link was lost; see
    /// [`Device::reopen`].
    pub fn reopen<F>(&self, open: F) -> Promise<()>
    where
        F: FnOnce() -> Result<Scope, InstrumentError> + Send + 'static,
    {
        self.device.reopen(open)
    }
}
