//! The lab: three instruments, real or simulated, as devices of one scheduler.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use smq_dmm::{Dmm, DmmDevice, Range};
use smq_instrument::{Address, Instrument, InstrumentError};
use smq_scope::{Scope, ScopeDevice};
use smq_sim::SimLab;
use smq_stage::{Stage, StageDevice};
use smqsched::{Queue, Scheduler};

use crate::Error;

/// Timeout of a stage motion.
pub const MOTION_TIMEOUT: Duration = Duration::from_secs(10);

/// How long an instrument has to identify itself when it is opened (`*IDN?`, or `ID?` for
/// the stage).
pub const IDENTIFY_TIMEOUT: Duration = Duration::from_secs(2);

/// Scope channel recorded by the demo.
pub const CHANNEL: u8 = 1;

/// Slots of the lab's `compute` queue, unless given to [`Lab::connect_with`].
pub const COMPUTE_SLOTS: usize = 2;

/// The addresses of the lab's instruments; `None` means the simulator of that instrument.
///
/// Each instrument is chosen on its own: give all three to run on the real lab, some of
/// them to try real instruments beside simulated ones, none for the simulated lab.
///
/// # Examples
///
/// ```
/// use smq_lab::Addresses;
///
/// let lab = Addresses {
///     stage: Some("ASRL/dev/ttyUSB0::INSTR".parse()?),
///     ..Addresses::default()
/// };
/// assert_eq!(lab.simulated(), ["dmm", "scope"]);
/// # Ok::<(), smq_lab::AddressError>(())
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Addresses {
    /// The motion controller (Newport SMC100: serial, or TCP through a serial server).
    pub stage: Option<Address>,
    /// The multimeter (Keysight 34401A: serial, VXI-11, a raw SCPI socket or USBTMC).
    pub dmm: Option<Address>,
    /// The oscilloscope (Rigol DS1000Z: USBTMC, VXI-11, a raw SCPI socket on port 5555).
    pub scope: Option<Address>,
}

impl Addresses {
    /// The names of the instruments left to the simulators, in the order stage, dmm,
    /// scope.
    pub fn simulated(&self) -> Vec<&'static str> {
        [
            ("stage", &self.stage),
            ("dmm", &self.dmm),
            ("scope", &self.scope),
        ]
        .into_iter()
        .filter(|(_, a)| a.is_none())
        .map(|(n, _)| n)
        .collect()
    }
}

/// An instrument that could not be opened or did not identify itself: names the
/// instrument and its address, and keeps the driver's error.
///
/// # Examples
///
/// ```
/// use smq_lab::{Addresses, Lab};
///
/// let missing = Addresses { dmm: Some("/nonexistent/ttyUSB9".parse()?), ..Addresses::default() };
/// let Err(e) = Lab::connect(&missing, 1) else { panic!("opened a missing port") };
/// assert!(e.to_string().starts_with("cannot open the multimeter at ASRL/nonexistent/ttyUSB9::INSTR"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct ConnectError {
    /// The instrument's description, e.g. `multimeter`.
    pub instrument: &'static str,
    /// Where it was looked for.
    pub address: Address,
    /// Whether the link could not be opened (`false`) or was opened but the instrument
    /// did not identify itself (`true`).
    pub opened: bool,
    /// The driver's error.
    pub source: InstrumentError,
}

impl fmt::Display for ConnectError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (instrument, address, source) = (self.instrument, &self.address, &self.source);
        if self.opened {
            write!(
                f,
                "the {instrument} at {address} does not answer (is it on, and is it a \
                 {instrument}?): {source}"
            )
        } else {
            write!(f, "cannot open the {instrument} at {address}: {source}")
        }
    }
}

impl std::error::Error for ConnectError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.source)
    }
}

/// Open the driver `D` at `address`, then check that it identifies itself within
/// [`IDENTIFY_TIMEOUT`], restoring the driver's timeout after.
fn open_checked<D: Instrument>(
    instrument: &'static str,
    address: &Address,
) -> Result<(D, String), Box<ConnectError>> {
    let fail = |opened, source| {
        Box::new(ConnectError {
            instrument,
            address: address.clone(),
            opened,
            source,
        })
    };
    let mut driver = D::open_at(address).map_err(|e| fail(false, e))?;
    let before = driver.timeout();
    driver.set_timeout(IDENTIFY_TIMEOUT);
    let id = driver.identify().map_err(|e| fail(true, e))?;
    driver.set_timeout(before);
    Ok((driver, id.to_string()))
}

/// The lab and its instruments, as devices of one scheduler.
pub struct Lab {
    /// The simulators, if any instrument is simulated; dropping them closes the simulated
    /// instruments' links.
    pub sim: Option<Arc<SimLab>>,
    /// The scheduler, stopped until started by the caller.
    pub sch: Scheduler,
    /// The motion controller (queue `stage`).
    pub stage: StageDevice,
    /// The multimeter (queue `dmm`).
    pub dmm: DmmDevice,
    /// The oscilloscope (queue `scope`).
    pub scope: ScopeDevice,
    /// The processing and saving queue (`compute`, [`COMPUTE_SLOTS`] slots unless
    /// given).
    pub compute: Queue,
    /// Where each instrument was opened, by name (`stage`, `dmm`, `scope`): its address,
    /// followed by ` (simulated)` for a simulator.
    pub links: BTreeMap<String, String>,
    /// Each instrument's identification as it answered when opened, by name.
    pub identified: BTreeMap<String, String>,
}

impl Lab {
    /// Start the simulators (noise seeded by `seed`) and open their instruments on a new,
    /// stopped scheduler: [`connect`](Self::connect) with no address.
    ///
    /// # Errors
    ///
    /// If a simulator cannot start, an instrument cannot be opened or a queue created.
    ///
    /// # Examples
    ///
    /// ```
    /// let lab = smq_lab::Lab::open(1)?;
    /// assert_eq!(lab.links.len(), 3);
    /// assert!(lab.links.values().all(|l| l.ends_with("(simulated)")));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn open(seed: u64) -> Result<Self, Error> {
        Self::connect(&Addresses::default(), seed)
    }

    /// Open the instruments at `addresses`, simulating those without one (noise seeded by
    /// `seed`), on a new, stopped scheduler.
    ///
    /// Each instrument is opened, then must identify itself within [`IDENTIFY_TIMEOUT`]
    /// (`*IDN?` for the meter and the scope, `VE` and `ID?` for the stage), so that a wrong port, a
    /// switched-off instrument or another device on the port is reported here, at once,
    /// and never turns into a hang or a failure in the middle of a scan.
    ///
    /// # Errors
    ///
    /// A [`ConnectError`] naming the first instrument that cannot be opened or does not
    /// answer, with its address; or if the simulators cannot start or a queue cannot be
    /// created.
    ///
    /// # Examples
    ///
    /// Instruments reached by address (here, simulators started separately):
    ///
    /// ```
    /// use smq_lab::{Address, Addresses, Lab};
    ///
    /// let bench = smq_sim::SimLab::start(3)?;
    /// let addresses = Addresses {
    ///     stage: Some(bench.stage.serial_address().parse()?),
    ///     dmm: Some(bench.dmm.socket_address().parse()?),
    ///     scope: Some(bench.scope.vxi11_address().parse()?),
    /// };
    /// let lab = Lab::connect(&addresses, 0)?;
    /// assert!(lab.sim.is_none());
    /// assert!(lab.identified["dmm"].contains("34401A"));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn connect(addresses: &Addresses, seed: u64) -> Result<Self, Error> {
        Self::connect_with(addresses, seed, COMPUTE_SLOTS)
    }

    /// [`connect`](Self::connect), with `compute_slots` slots on the `compute` queue
    /// instead of [`COMPUTE_SLOTS`]. What a simulated run stores does not depend on it.
    ///
    /// # Errors
    ///
    /// As [`connect`](Self::connect); and if `compute_slots` is 0.
    ///
    /// # Examples
    ///
    /// ```
    /// use smq_lab::{Addresses, Lab};
    ///
    /// let lab = Lab::connect_with(&Addresses::default(), 1, 4)?;
    /// let compute = lab.sch.queues().into_iter().find(|q| &*q.name == "compute").unwrap();
    /// assert_eq!(compute.slots, 4);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn connect_with(
        addresses: &Addresses,
        seed: u64,
        compute_slots: usize,
    ) -> Result<Self, Error> {
        let sim = if addresses.simulated().is_empty() {
            None
        } else {
            Some(Arc::new(SimLab::start(seed).map_err(Error::Simulators)?))
        };
        let mut links = BTreeMap::new();
        let mut identities = BTreeMap::new();
        // The address of an instrument: the one given, or its simulator's.
        let mut resolve =
            |name: &str, given: &Option<Address>, simulated: &dyn Fn(&SimLab) -> Address| {
                let (address, note) = match (given, &sim) {
                    (Some(a), _) => (a.clone(), ""),
                    (None, Some(s)) => (simulated(s), " (simulated)"),
                    (None, None) => return Err(Error::NoAddress(name.to_owned())),
                };
                links.insert(name.to_owned(), format!("{address}{note}"));
                Ok(address)
            };
        let stage_at = resolve("stage", &addresses.stage, &|s| {
            Address::serial(s.stage.serial_path())
        })?;
        let dmm_at = resolve("dmm", &addresses.dmm, &|s| {
            Address::serial(s.dmm.serial_path())
        })?;
        let scope_at = resolve("scope", &addresses.scope, &|s| {
            Address::from_socket_addr(s.scope.tcp_addr())
        })?;

        let (stage, id) = open_checked::<Stage>("stage", &stage_at)?;
        identities.insert("stage".to_owned(), id);
        let (dmm, id) = open_checked::<Dmm>("multimeter", &dmm_at)?;
        identities.insert("dmm".to_owned(), id);
        let (scope, id) = open_checked::<Scope>("scope", &scope_at)?;
        identities.insert("scope".to_owned(), id);

        let sch = Scheduler::new();
        Ok(Self {
            stage: StageDevice::new(&sch, "stage", stage)?.with_motion_timeout(MOTION_TIMEOUT),
            dmm: DmmDevice::new(&sch, "dmm", dmm)?,
            scope: ScopeDevice::new(&sch, "scope", scope)?,
            compute: sch.queue("compute", compute_slots)?,
            sim,
            sch,
            links,
            identified: identities,
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

    /// The lab as a [`StationRecord`](crate::StationRecord), the record a plan's run stores
    /// of its station (attribute `station`): each instrument's driver, address, whether it
    /// is the simulator, its identification, and its settings read back (the stage's
    /// velocity and position, the multimeter's configuration and integration time, the
    /// scope's timebase and the scale of [`CHANNEL`]). Asked through the scheduler, which
    /// must be started: one task per instrument.
    ///
    /// ```
    /// let lab = smq_lab::Lab::open(1)?;
    /// lab.sch.start();
    /// lab.prepare()?;
    /// let record = lab.station_record()?;
    /// let stage = &record.instruments["stage"];
    /// assert!(stage.simulated);
    /// assert_eq!(stage.settings["velocity"], "200");
    /// assert!(record.instruments["scope"].identification.contains("DS1104Z"));
    /// lab.sch.shutdown();
    /// # Ok::<(), smq_lab::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// If an instrument does not answer.
    pub fn station_record(&self) -> Result<crate::StationRecord, Error> {
        type Read = BTreeMap<String, String>;
        let stage = self.stage.task("read back").submit(|s: &mut Stage| {
            let mut out = Read::new();
            out.insert("velocity".into(), s.velocity()?.to_string());
            out.insert("position".into(), s.position()?.to_string());
            Ok(out)
        })?;
        let dmm = self.dmm.task("read back").submit(|m: &mut Dmm| {
            let mut out = Read::new();
            out.insert("configuration".into(), m.configuration()?);
            let nplc = m.nplc(smq_dmm::Function::VoltageDc)?;
            out.insert("nplc".into(), nplc.to_string());
            Ok(out)
        })?;
        let scope = self.scope.task("read back").submit(|sc: &mut Scope| {
            let mut out = Read::new();
            out.insert("timebase".into(), sc.timebase_scale()?.to_string());
            let scale = sc.channel_scale(CHANNEL)?;
            out.insert(format!("scale{CHANNEL}"), scale.to_string());
            Ok(out)
        })?;
        let mut record = crate::StationRecord::default();
        for (name, driver, settings) in [
            ("stage", crate::Driver::Stage, stage),
            ("dmm", crate::Driver::Dmm, dmm),
            ("scope", crate::Driver::Scope, scope),
        ] {
            let link = self.links.get(name).map_or("", String::as_str);
            let (address, simulated) = match link.strip_suffix(" (simulated)") {
                Some(a) => (a, true),
                None => (link, false),
            };
            record.instruments.insert(
                name.to_owned(),
                crate::InstrumentRecord {
                    driver,
                    address: address.to_owned(),
                    simulated,
                    identification: self.identified.get(name).cloned().unwrap_or_default(),
                    settings: (*settings.result()?).clone(),
                    limits: BTreeMap::new(),
                },
            );
        }
        Ok(record)
    }

    /// Each instrument's identification (`*IDN?`, or the stage's `VE` and `ID?`), by name,
    /// asked again through the scheduler. The scheduler must be started.
    ///
    /// # Errors
    ///
    /// If an instrument does not answer.
    pub fn identities(&self) -> Result<BTreeMap<String, String>, Error> {
        let stage = self
            .stage
            .task("identify")
            .submit(|s: &mut Stage| s.identify())?;
        let dmm = self.dmm.identify();
        let scope = self.scope.identify();
        let mut out = BTreeMap::new();
        out.insert("stage".to_owned(), stage.result()?.to_string());
        out.insert("dmm".to_owned(), dmm.result()?.to_string());
        out.insert("scope".to_owned(), scope.result()?.to_string());
        Ok(out)
    }
}
