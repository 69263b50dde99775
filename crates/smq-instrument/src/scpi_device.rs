//! The generic SCPI instrument as a device of a scheduler.

use ndarray::Array1;
use smqsched::{Promise, QueueError, Scheduler};

use crate::block::{BlockElement, ByteOrder};
use crate::device::{Device, DeviceTask};
use crate::error_queue::ScpiErrorEntry;
use crate::idn::Identity;
use crate::scpi::Scpi;

/// A [`Scpi`] instrument behind a one-slot queue of a [`Scheduler`] (see [`Device`]): each
/// method submits one command and returns a [`Promise`] at once; the instrument's commands
/// never overlap and run in the scheduler's order (newest first among those ready). A
/// command that fails fails its promise only, keeping the
/// [`InstrumentError`](crate::InstrumentError).
///
/// Cloning gives another handle on the same instrument.
///
/// # Examples
///
/// ```
/// use smq_instrument::{ByteOrder, Instrument, Scpi, ScpiDevice};
/// use smq_instrument::smqsched::Scheduler;
/// # let sim = smq_sim::SimInstrument::start(smq_sim::ScopeModel::standalone(1)).unwrap();
/// # let address = sim.vxi11_address();
/// let sch = Scheduler::new();
/// let scope = ScpiDevice::new(&sch, "scope", Scpi::open(&address)?)?.in_submission_order();
/// let compute = sch.queue("compute", 2)?;
/// scope.write(":WAV:FORM BYTE");
/// let codes = scope.query_block::<u8>(":WAV:DATA?", ByteOrder::Little);
/// let mean = compute.submit(&codes, |c: &ndarray::Array1<u8>| {
///     c.iter().map(|&x| f64::from(x)).sum::<f64>() / c.len() as f64
/// });
/// sch.start();
/// assert!(*mean.result()? > 0.0);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone)]
pub struct ScpiDevice {
    device: Device<Scpi>,
}

impl ScpiDevice {
    /// Put `instrument` behind a new one-slot queue named `name` of `scheduler`.
    ///
    /// # Errors
    ///
    /// [`QueueError`] if the scheduler already has a queue of that name or has shut down.
    pub fn new(scheduler: &Scheduler, name: &str, instrument: Scpi) -> Result<Self, QueueError> {
        Ok(Self {
            device: Device::new(scheduler, name, instrument)?,
        })
    }

    /// Run the commands in the order they are submitted; see
    /// [`Device::in_submission_order`].
    pub fn in_submission_order(self) -> Self {
        Self {
            device: self.device.in_submission_order(),
        }
    }

    /// The underlying device, to submit any call or use scheduling options.
    pub fn device(&self) -> &Device<Scpi> {
        &self.device
    }

    /// A command with scheduling options; see [`Device::task`].
    pub fn task(&self, command: &str) -> DeviceTask<'_, Scpi> {
        self.device.task(command)
    }

    /// [`Scpi::write`].
    pub fn write(&self, command: &str) -> Promise<()> {
        let c = command.to_owned();
        self.device.submit("write", move |s: &mut Scpi| s.write(&c))
    }

    /// [`Scpi::query`].
    pub fn query(&self, command: &str) -> Promise<String> {
        let c = command.to_owned();
        self.device.submit("query", move |s: &mut Scpi| s.query(&c))
    }

    /// [`Scpi::query_f64`].
    pub fn query_f64(&self, command: &str) -> Promise<f64> {
        let c = command.to_owned();
        self.device
            .submit("query_f64", move |s: &mut Scpi| s.query_f64(&c))
    }

    /// [`Scpi::query_block`]: a binary block decoded into an array.
    pub fn query_block<T: BlockElement + Send + Sync + 'static>(
        &self,
        command: &str,
        order: ByteOrder,
    ) -> Promise<Array1<T>> {
        let c = command.to_owned();
        self.device
            .submit("query_block", move |s: &mut Scpi| s.query_block(&c, order))
    }

    /// [`Scpi::idn`]: `*IDN?`.
    pub fn identify(&self) -> Promise<Identity> {
        self.device.submit("identify", Scpi::idn)
    }

    /// [`Scpi::reset`]: `*RST`, `*CLS`, the error queue checked.
    pub fn reset(&self) -> Promise<()> {
        self.device.submit("reset", Scpi::reset)
    }

    /// [`Scpi::clear_status`]: `*CLS`.
    pub fn clear_status(&self) -> Promise<()> {
        self.device.submit("clear_status", Scpi::clear_status)
    }

    /// [`Scpi::wait`]: `*OPC?`, done once the commands before it have completed.
    pub fn wait(&self) -> Promise<()> {
        self.device.submit("wait", Scpi::wait)
    }

    /// [`Scpi::errors`]: empty the error queue.
    pub fn errors(&self) -> Promise<Vec<ScpiErrorEntry>> {
        self.device.submit("errors", Scpi::errors)
    }
}
