//! The multimeter as a device of a scheduler: each method submits one command on the
//! meter's one-slot queue and returns a promise.

use std::time::Duration;

use smq_instrument::smqsched::{Promise, QueueError, Scheduler, StartOrder};
use smq_instrument::{Device, DeviceTask, Identity, Instrument, InstrumentError};

use crate::{Dmm, Function, Range, TriggerSource};

/// A [`Dmm`] behind a one-slot queue of a [`Scheduler`] (see
/// [`smq_instrument::Device`]): its commands never overlap, run in the scheduler's order,
/// and each returns a [`Promise`]. A command that fails fails its promise only, with a
/// message naming the device and the command.
///
/// Independent commands run in the scheduler's order (newest first), not in the order
/// of submission: a command that must follow another one takes it as an input or
/// [`after`](smq_instrument::DeviceTask::after) it, or is submitted once it is done.
///
/// Cloning gives another handle on the same meter.
///
/// # Examples
///
/// ```
/// # use smq_instrument::Instrument as _;
/// use smq_dmm::{Dmm, DmmDevice, Range};
/// use smq_instrument::smqsched::Scheduler;
/// # let sim = smq_sim::SimInstrument::start(smq_sim::DmmModel::standalone(1)).unwrap();
/// # let addr = sim.socket_address();
///
/// let sch = Scheduler::new();
/// let dmm = DmmDevice::new(&sch, "dmm", Dmm::open(&addr)?)?;
/// sch.start();
/// // The readings must follow the configuration: wait for it (or pass it as an input).
/// dmm.configure_voltage_dc(Range::Value(10.0), None).result()?;
/// let readings: Vec<_> = (0..3).map(|_| dmm.read()).collect();
/// for r in &readings {
///     assert!(r.result()?.is_finite());
/// }
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone)]
pub struct DmmDevice {
    device: Device<Dmm>,
}

impl DmmDevice {
    /// Put `dmm` behind a new one-slot queue named `name` of `scheduler`.
    ///
    /// # Errors
    ///
    /// [`QueueError`] if the scheduler already has a queue of that name or has shut down.
    pub fn new(scheduler: &Scheduler, name: &str, dmm: Dmm) -> Result<Self, QueueError> {
        Self::new_ordered(scheduler, name, dmm, StartOrder::NewestFirst)
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
        dmm: Dmm,
        order: StartOrder,
    ) -> Result<Self, QueueError> {
        Ok(Self {
            device: Device::new_ordered(scheduler, name, dmm, order)?,
        })
    }

    /// The underlying device, to submit any driver call or use scheduling options.
    ///
    /// # Examples
    ///
    /// A reading taken only after another task (here, a stage move elsewhere) is done:
    ///
    /// ```
    /// # use smq_instrument::Instrument as _;
    /// # use smq_dmm::{Dmm, DmmDevice};
    /// # let sim = smq_sim::SimInstrument::start(smq_sim::DmmModel::standalone(1)).unwrap();
    /// let sch = smq_instrument::smqsched::Scheduler::new();
    /// let dmm = DmmDevice::new(&sch, "dmm", Dmm::open(&sim.socket_address())?)?;
    /// let moved = sch.queue("stage", 1)?.submit((), |()| 2.0_f64);
    /// let v = dmm.device().task("read").after(&moved).submit(|d: &mut Dmm| d.read())?;
    /// sch.start();
    /// assert!(v.result()?.is_finite());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn device(&self) -> &Device<Dmm> {
        &self.device
    }

    /// A command with scheduling options; see [`Device::task`].
    pub fn task(&self, command: &str) -> DeviceTask<'_, Dmm> {
        self.device.task(command)
    }

    /// [`Dmm::identify`]: `*IDN?`.
    pub fn identify(&self) -> Promise<Identity> {
        self.device.submit("identify", Dmm::identify)
    }

    /// [`Dmm::reset`]: `*RST`.
    pub fn reset(&self) -> Promise<()> {
        self.device.submit("reset", Dmm::reset)
    }

    /// [`Dmm::set_timeout`]: the reply timeout of the following commands.
    pub fn set_timeout(&self, timeout: Duration) -> Promise<()> {
        self.device.submit("set_timeout", move |d: &mut Dmm| {
            d.set_timeout(timeout);
            Ok(())
        })
    }

    /// [`Dmm::configure`]: `CONF:<function> <range>,<resolution>`.
    pub fn configure(
        &self,
        function: Function,
        range: Range,
        resolution: Option<f64>,
    ) -> Promise<()> {
        self.device.submit("configure", move |d: &mut Dmm| {
            d.configure(function, range, resolution)
        })
    }

    /// [`Dmm::configure_voltage_dc`]: `CONF:VOLT:DC <range>,<resolution>`.
    pub fn configure_voltage_dc(&self, range: Range, resolution: Option<f64>) -> Promise<()> {
        self.device
            .submit("configure_voltage_dc", move |d: &mut Dmm| {
                d.configure_voltage_dc(range, resolution)
            })
    }

    /// [`Dmm::configure_current_dc`]: `CONF:CURR:DC <range>,<resolution>`.
    pub fn configure_current_dc(&self, range: Range, resolution: Option<f64>) -> Promise<()> {
        self.device
            .submit("configure_current_dc", move |d: &mut Dmm| {
                d.configure_current_dc(range, resolution)
            })
    }

    /// [`Dmm::configure_resistance`]: `CONF:RES <range>,<resolution>`.
    pub fn configure_resistance(&self, range: Range, resolution: Option<f64>) -> Promise<()> {
        self.device
            .submit("configure_resistance", move |d: &mut Dmm| {
                d.configure_resistance(range, resolution)
            })
    }

    /// [`Dmm::set_nplc`]: integration time in power-line cycles.
    pub fn set_nplc(&self, function: Function, nplc: f64) -> Promise<()> {
        self.device
            .submit("set_nplc", move |d: &mut Dmm| d.set_nplc(function, nplc))
    }

    /// [`Dmm::set_trigger_source`]: `TRIG:SOUR`.
    pub fn set_trigger_source(&self, source: TriggerSource) -> Promise<()> {
        self.device
            .submit("set_trigger_source", move |d: &mut Dmm| {
                d.set_trigger_source(source)
            })
    }

    /// [`Dmm::read`]: `READ?`, one reading with the current configuration.
    pub fn read(&self) -> Promise<f64> {
        self.device.submit("read", Dmm::read)
    }

    /// [`Dmm::measure_voltage_dc`]: `MEAS:VOLT:DC?`.
    pub fn measure_voltage_dc(&self) -> Promise<f64> {
        self.device
            .submit("measure_voltage_dc", Dmm::measure_voltage_dc)
    }

    /// [`Dmm::check_errors`]: empty the error queue, failing on the oldest error.
    pub fn check_errors(&self) -> Promise<()> {
        self.device.submit("check_errors", Dmm::check_errors)
    }

    /// Replace the driver by the one `open` returns, e.g. after the link was lost; see
    /// [`Device::reopen`].
    ///
    /// # Examples
    ///
    /// ```
    /// use smq_dmm::{Dmm, DmmDevice, Instrument};
    /// use smq_sim::{DmmModel, SimInstrument};
    /// let bench = SimInstrument::start(DmmModel::standalone(1)).unwrap();
    /// let spare = SimInstrument::start(DmmModel::standalone(2)).unwrap();
    /// let sch = smq_instrument::smqsched::Scheduler::new();
    /// let dmm = DmmDevice::new(&sch, "dmm", Dmm::open(&bench.serial_address())?)?;
    /// sch.start();
    /// // Swap in another meter; the commands after the reopen go to it.
    /// let address = spare.socket_address();
    /// dmm.reopen(move || Dmm::open(&address)).result()?;
    /// assert!(dmm.read().result()?.is_finite());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn reopen<F>(&self, open: F) -> Promise<()>
    where
        F: FnOnce() -> Result<Dmm, InstrumentError> + Send + 'static,
    {
        self.device.reopen(open)
    }
}
