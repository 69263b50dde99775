//! The station: a lab's instruments by name, from a TOML file.
//!
//! ```toml
//! [instruments.stage]
//! driver = "stage"                  # stage (Newport SMC100), dmm (Keysight 34401A),
//!                                   # scope (Rigol DS1000Z) or scpi (any SCPI instrument)
//! address = "ASRL/dev/ttyUSB0::INSTR"
//! timeout = 2.0                     # seconds, for each reply
//! settings = { velocity = 5.0 }
//! limits = { position = [0.0, 25.0] }
//!
//! [instruments.dmm]
//! driver = "dmm"
//! sim = true                        # the simulator instead of the instrument
//! settings = { function = "voltage_dc", range = 10.0 }
//!
//! [instruments.psu]
//! driver = "scpi"
//! address = "TCPIP0::192.168.0.40::INSTR"
//! settings = { init = ["*RST", "OUTP ON"], read_back = ["VOLT?", "CURR?"] }
//! limits = { voltage = [0.0, 12.0] }
//! ```
//!
//! Every key is checked: an unknown key, a value of the wrong type, a setting the driver
//! does not have or an instrument with neither `address` nor `sim = true` is an error
//! naming the line of the file ([`StationError::Invalid`]).
//!
//! [`Station::open`] opens every instrument on a new scheduler, each on a one-slot queue of
//! its name that starts its commands in submission order ([`StartOrder::Submission`]),
//! checks that it identifies itself, applies its settings and reads them back; the
//! [`StationRecord`] of what it found is stored with every run.

use std::collections::BTreeMap;
use std::ops::Range;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use smq_dmm::{Dmm, Function};
use smq_instrument::{Address, Device, Instrument, InstrumentError, Scpi};
use smq_scope::Scope;
use smq_sim::SimLab;
use smq_stage::Stage;
use smqsched::{Queue, Scheduler, StartOrder};
use toml::Spanned;

use crate::{COMPUTE_SLOTS, IDENTIFY_TIMEOUT, MOTION_TIMEOUT};

/// The drivers a station can name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Driver {
    /// Newport SMC100 motion controller (quantity `position`, mm).
    Stage,
    /// Keysight 34401A multimeter (`read = "voltage"`, or any SCPI query).
    Dmm,
    /// Rigol DS1000Z oscilloscope (`read = "waveform"`, or any SCPI query).
    Scope,
    /// Any SCPI instrument: settings written with templates, readings by query.
    Scpi,
}

impl Driver {
    /// The driver's name in a station file.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Stage => "stage",
            Self::Dmm => "dmm",
            Self::Scope => "scope",
            Self::Scpi => "scpi",
        }
    }

    /// The settings the driver accepts in a station file.
    pub fn settings(self) -> &'static [&'static str] {
        match self {
            Self::Stage => &["velocity", "home"],
            Self::Dmm => &["function", "range", "nplc"],
            Self::Scope => &["timebase", "scales"],
            Self::Scpi => &["init", "read_back"],
        }
    }
}

/// An instrument of a station file.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InstrumentEntry {
    /// Its driver.
    pub driver: Driver,
    /// Where it is (any address form of `smq_instrument::Address`).
    #[serde(default)]
    pub address: Option<String>,
    /// Use the simulator of this driver instead (stage, dmm and scope have one).
    #[serde(default)]
    pub sim: bool,
    /// Reply timeout, seconds; the driver's default if absent.
    #[serde(default)]
    pub timeout: Option<f64>,
    /// Settings applied when the station is opened (see [`Driver::settings`]).
    #[serde(default)]
    pub settings: Settings,
    /// Allowed ranges of settable quantities, `quantity = [min, max]`: a plan that would
    /// set a value outside is refused before anything moves.
    #[serde(default)]
    pub limits: BTreeMap<String, [f64; 2]>,
}

/// The settings of an instrument; each driver takes some of them ([`Driver::settings`]).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// Stage velocity, mm/s.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub velocity: Option<f64>,
    /// Home the stage when opened if it is not referenced yet (default true).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub home: Option<bool>,
    /// Multimeter function: `voltage_dc` (default), `current_dc` or `resistance`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub function: Option<String>,
    /// Multimeter range, in the function's unit; autorange if absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub range: Option<f64>,
    /// Multimeter integration time, power-line cycles.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nplc: Option<f64>,
    /// Scope timebase, s/div.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timebase: Option<f64>,
    /// Scope vertical scales by channel number, V/div: `scales = { 1 = 0.1 }`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub scales: BTreeMap<String, f64>,
    /// SCPI commands written in order when opened.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub init: Vec<String>,
    /// SCPI queries whose answers are stored with each run.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub read_back: Vec<String>,
}

impl Settings {
    /// The names of the settings given.
    fn given(&self) -> Vec<&'static str> {
        let mut out = Vec::new();
        let mut add = |set: bool, name| {
            if set {
                out.push(name);
            }
        };
        add(self.velocity.is_some(), "velocity");
        add(self.home.is_some(), "home");
        add(self.function.is_some(), "function");
        add(self.range.is_some(), "range");
        add(self.nplc.is_some(), "nplc");
        add(self.timebase.is_some(), "timebase");
        add(!self.scales.is_empty(), "scales");
        add(!self.init.is_empty(), "init");
        add(!self.read_back.is_empty(), "read_back");
        out
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct StationFile {
    #[serde(default)]
    instruments: BTreeMap<String, Spanned<InstrumentEntry>>,
}

/// A station: instruments by name, each with its span in the file it came from.
#[derive(Clone, Debug)]
pub struct Station {
    /// The instruments by name.
    pub instruments: BTreeMap<String, InstrumentEntry>,
    /// Where each instrument's table is in the source, for errors.
    spans: BTreeMap<String, Range<usize>>,
    /// The source text (empty for [`Station::simulated`]).
    source: String,
    /// Where it was read from, for errors.
    origin: String,
}

/// Why a station could not be read or opened.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StationError {
    /// The file could not be read.
    #[error("cannot read the station file {path}: {source}")]
    Read {
        /// The file.
        path: String,
        /// The OS error.
        source: std::io::Error,
    },
    /// The file is not a valid station: the message names the line.
    #[error("{origin}:{line}: {message}")]
    Invalid {
        /// The file.
        origin: String,
        /// The line (from 1).
        line: usize,
        /// What is wrong.
        message: String,
    },
    /// Instruments that could not be opened, identified or set up: one message each,
    /// naming the instrument.
    #[error("{} instrument(s) failed:\n  {}", .0.len(), .0.join("\n  "))]
    Open(Vec<String>),
    /// The simulators could not start.
    #[error("cannot start the simulators: {0}")]
    Simulators(#[source] std::io::Error),
    /// The scheduler refused a queue.
    #[error(transparent)]
    Queue(#[from] smqsched::QueueError),
}

/// The line (from 1) of byte `offset` in `source`.
pub(crate) fn line_of(source: &str, offset: usize) -> usize {
    source
        .get(..offset.min(source.len()))
        .map_or(1, |s| s.bytes().filter(|&b| b == b'\n').count() + 1)
}

/// A TOML error as an error naming the line.
pub(crate) fn toml_error(source: &str, e: &toml::de::Error) -> (usize, String) {
    let line = e.span().map_or(1, |s| line_of(source, s.start));
    (line, e.message().to_owned())
}

impl Station {
    /// The station of the simulated lab: `stage`, `dmm` and `scope`, all simulated, set up
    /// as the demo sets them up.
    ///
    /// # Examples
    ///
    /// ```
    /// let station = smq_lab::Station::simulated();
    /// assert_eq!(station.instruments.keys().collect::<Vec<_>>(), ["dmm", "scope", "stage"]);
    /// ```
    pub fn simulated() -> Self {
        Self::parse(SIMULATED, "(simulated station)").unwrap_or_else(|_| Self {
            instruments: BTreeMap::new(),
            spans: BTreeMap::new(),
            source: String::new(),
            origin: String::new(),
        })
    }

    /// Read a station file.
    ///
    /// # Errors
    ///
    /// [`StationError::Read`] if it cannot be read, [`StationError::Invalid`] naming the
    /// line if it is not a valid station.
    pub fn load(path: impl AsRef<Path>) -> Result<Self, StationError> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|source| StationError::Read {
            path: path.display().to_string(),
            source,
        })?;
        Self::parse(&text, &path.display().to_string())
    }

    /// Parse a station from TOML text; `origin` names it in errors.
    ///
    /// # Errors
    ///
    /// [`StationError::Invalid`] naming the line.
    ///
    /// # Examples
    ///
    /// ```
    /// use smq_lab::{Station, StationError};
    ///
    /// let text = "[instruments.dmm]\ndriver = \"dmm\"\nsim = true\nsettings = { velocity = 2.0 }\n";
    /// let Err(StationError::Invalid { line, message, .. }) = Station::parse(text, "lab.toml") else {
    ///     panic!("accepted a stage setting on a multimeter");
    /// };
    /// assert_eq!(line, 1);
    /// assert!(message.contains("`velocity`"), "{message}");
    /// ```
    pub fn parse(text: &str, origin: &str) -> Result<Self, StationError> {
        let invalid = |line, message| StationError::Invalid {
            origin: origin.to_owned(),
            line,
            message,
        };
        let file: StationFile = toml::from_str(text).map_err(|e| {
            let (line, message) = toml_error(text, &e);
            invalid(line, message)
        })?;
        let mut instruments = BTreeMap::new();
        let mut spans = BTreeMap::new();
        let mut simulated: BTreeMap<Driver, String> = BTreeMap::new();
        for (name, entry) in file.instruments {
            let span = entry.span();
            let line = line_of(text, span.start);
            let entry = entry.into_inner();
            if name == "compute" || name.is_empty() {
                return Err(invalid(
                    line,
                    format!(
                        "`{name}` cannot name an instrument (`compute` is the processing queue)"
                    ),
                ));
            }
            for setting in entry.settings.given() {
                if !entry.driver.settings().contains(&setting) {
                    return Err(invalid(
                        line,
                        format!(
                            "instrument `{name}`: the {} driver has no setting `{setting}` \
                             (it has: {})",
                            entry.driver.as_str(),
                            entry.driver.settings().join(", ")
                        ),
                    ));
                }
            }
            match (&entry.address, entry.sim) {
                (Some(_), true) => {
                    return Err(invalid(
                        line,
                        format!("instrument `{name}`: give `address` or `sim = true`, not both"),
                    ));
                }
                (None, false) => {
                    return Err(invalid(
                        line,
                        format!(
                            "instrument `{name}`: no `address` (or `sim = true` for its simulator)"
                        ),
                    ));
                }
                (Some(a), false) => {
                    if let Err(e) = a.parse::<Address>() {
                        return Err(invalid(line, format!("instrument `{name}`: {e}")));
                    }
                }
                (None, true) => {
                    if entry.driver == Driver::Scpi {
                        return Err(invalid(
                            line,
                            format!(
                                "instrument `{name}`: the scpi driver has no simulator (stage, \
                                 dmm and scope do)"
                            ),
                        ));
                    }
                    if let Some(other) = simulated.insert(entry.driver, name.clone()) {
                        return Err(invalid(
                            line,
                            format!(
                                "instruments `{other}` and `{name}` are both the simulated {}: \
                                 there is one of each",
                                entry.driver.as_str()
                            ),
                        ));
                    }
                }
            }
            if let Some(t) = entry.timeout
                && !(t.is_finite() && t > 0.0)
            {
                return Err(invalid(
                    line,
                    format!("instrument `{name}`: timeout must be a positive number of seconds"),
                ));
            }
            if let Some(f) = &entry.settings.function
                && function(f).is_none()
            {
                return Err(invalid(
                    line,
                    format!(
                        "instrument `{name}`: unknown function `{f}` (voltage_dc, current_dc, \
                         resistance)"
                    ),
                ));
            }
            for channel in entry.settings.scales.keys() {
                if !matches!(channel.parse::<u8>(), Ok(1..=4)) {
                    return Err(invalid(
                        line,
                        format!(
                            "instrument `{name}`: scale of channel `{channel}`: channels are 1 to 4"
                        ),
                    ));
                }
            }
            for (quantity, [lo, hi]) in &entry.limits {
                if !matches!(
                    lo.partial_cmp(hi),
                    Some(std::cmp::Ordering::Less | std::cmp::Ordering::Equal)
                ) {
                    return Err(invalid(
                        line,
                        format!(
                            "instrument `{name}`: limits of `{quantity}`: [{lo}, {hi}] is empty"
                        ),
                    ));
                }
            }
            spans.insert(name.clone(), span);
            instruments.insert(name, entry);
        }
        Ok(Self {
            instruments,
            spans,
            source: text.to_owned(),
            origin: origin.to_owned(),
        })
    }

    /// The line of instrument `name`'s table in the file (1 if unknown).
    pub fn line_of(&self, name: &str) -> usize {
        self.spans
            .get(name)
            .map_or(1, |s| line_of(&self.source, s.start))
    }

    /// Where the station was read from.
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// The limits of `quantity` on instrument `name`, if the station declares them.
    pub fn limits(&self, name: &str, quantity: &str) -> Option<[f64; 2]> {
        self.instruments.get(name)?.limits.get(quantity).copied()
    }

    /// Open every instrument on a new, stopped scheduler (see the [module docs](self)):
    /// simulators started with noise seeded by `seed` for those with `sim = true`, every
    /// device queue in submission order, a `compute` queue of `compute_slots` slots
    /// ([`COMPUTE_SLOTS`] if 0). Then start the scheduler, apply the settings and read them
    /// back, and stop it again.
    ///
    /// # Errors
    ///
    /// [`StationError::Open`] naming every instrument that failed, with its address and
    /// the driver's error; or if the simulators or a queue cannot start.
    ///
    /// # Examples
    ///
    /// ```
    /// let bench = smq_lab::Station::simulated().open(1, 0)?;
    /// assert!(bench.record.instruments["dmm"].identification.contains("34401A"));
    /// assert!(bench.record.instruments["stage"].simulated);
    /// # Ok::<(), smq_lab::StationError>(())
    /// ```
    pub fn open(&self, seed: u64, compute_slots: usize) -> Result<Bench, StationError> {
        let needs_sim = self.instruments.values().any(|e| e.sim);
        let sim = if needs_sim {
            Some(Arc::new(
                SimLab::start(seed).map_err(StationError::Simulators)?,
            ))
        } else {
            None
        };
        let sch = Scheduler::new();
        let mut devices = BTreeMap::new();
        let mut record = StationRecord::default();
        let mut failures = Vec::new();
        for (name, entry) in &self.instruments {
            let address = match (&entry.address, &sim) {
                (Some(a), _) => a.parse::<Address>().ok(),
                (None, Some(s)) => Some(match entry.driver {
                    Driver::Stage => Address::serial(s.stage.serial_path()),
                    Driver::Dmm => Address::serial(s.dmm.serial_path()),
                    _ => Address::from_socket_addr(s.scope.tcp_addr()),
                }),
                (None, None) => None,
            };
            let Some(address) = address else {
                failures.push(format!("{name}: no address"));
                continue;
            };
            match open_device(&sch, name, entry, &address) {
                Ok((device, identification)) => {
                    record.instruments.insert(
                        name.clone(),
                        InstrumentRecord {
                            driver: entry.driver,
                            address: address.to_string(),
                            simulated: entry.sim,
                            identification,
                            settings: BTreeMap::new(),
                            limits: entry.limits.clone(),
                        },
                    );
                    devices.insert(name.clone(), device);
                }
                Err(e) => failures.push(format!("{name} ({address}): {e}")),
            }
        }
        if !failures.is_empty() {
            return Err(StationError::Open(failures));
        }
        let compute = sch.queue(
            "compute",
            if compute_slots == 0 {
                COMPUTE_SLOTS
            } else {
                compute_slots
            },
        )?;
        sch.start();
        for (name, device) in &devices {
            let entry = &self.instruments[name];
            match device.set_up(&entry.settings) {
                Ok(read_back) => {
                    if let Some(r) = record.instruments.get_mut(name) {
                        r.settings = read_back;
                    }
                }
                Err(e) => failures.push(format!("{name}: cannot apply its settings: {e}")),
            }
        }
        sch.stop();
        sch.wait_drained();
        if !failures.is_empty() {
            sch.shutdown();
            return Err(StationError::Open(failures));
        }
        Ok(Bench {
            sim,
            sch,
            devices,
            compute,
            record,
        })
    }
}

/// The station used when none is given.
const SIMULATED: &str = r#"
[instruments.stage]
driver = "stage"
sim = true
settings = { velocity = 200.0 }
limits = { position = [0.0, 25.0] }

[instruments.dmm]
driver = "dmm"
sim = true
settings = { function = "voltage_dc", range = 10.0 }

[instruments.scope]
driver = "scope"
sim = true
settings = { timebase = 0.001, scales = { 1 = 0.1 } }
"#;

fn function(name: &str) -> Option<Function> {
    match name {
        "voltage_dc" => Some(Function::VoltageDc),
        "current_dc" => Some(Function::CurrentDc),
        "resistance" => Some(Function::Resistance),
        _ => None,
    }
}

/// An opened instrument of a station: its driver behind a device queue.
#[derive(Clone)]
pub enum StationDevice {
    /// A motion controller.
    Stage(Device<Stage>),
    /// A multimeter.
    Dmm(Device<Dmm>),
    /// An oscilloscope.
    Scope(Device<Scope>),
    /// Any SCPI instrument.
    Scpi(Device<Scpi>),
}

impl std::fmt::Debug for StationDevice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "StationDevice({} {})",
            self.driver().as_str(),
            self.queue().name()
        )
    }
}

/// Open `D` at `address`, identify it within [`IDENTIFY_TIMEOUT`], then give it the
/// station's timeout.
fn open_driver<D: Instrument>(
    address: &Address,
    timeout: Option<f64>,
) -> Result<(D, String), InstrumentError> {
    let mut driver = D::open_at(address)?;
    let before = driver.timeout();
    driver.set_timeout(IDENTIFY_TIMEOUT);
    let id = driver.identify()?;
    driver.set_timeout(timeout.map_or(before, Duration::from_secs_f64));
    Ok((driver, id.to_string()))
}

fn open_device(
    sch: &Scheduler,
    name: &str,
    entry: &InstrumentEntry,
    address: &Address,
) -> Result<(StationDevice, String), String> {
    let t = entry.timeout;
    let queue_err = |e: smqsched::QueueError| e.to_string();
    let order = StartOrder::Submission;
    Ok(match entry.driver {
        Driver::Stage => {
            let (d, id) = open_driver::<Stage>(address, t).map_err(|e| e.to_string())?;
            let dev = Device::new_ordered(sch, name, d, order).map_err(queue_err)?;
            (StationDevice::Stage(dev), id)
        }
        Driver::Dmm => {
            let (d, id) = open_driver::<Dmm>(address, t).map_err(|e| e.to_string())?;
            let dev = Device::new_ordered(sch, name, d, order).map_err(queue_err)?;
            (StationDevice::Dmm(dev), id)
        }
        Driver::Scope => {
            let (d, id) = open_driver::<Scope>(address, t).map_err(|e| e.to_string())?;
            let dev = Device::new_ordered(sch, name, d, order).map_err(queue_err)?;
            (StationDevice::Scope(dev), id)
        }
        Driver::Scpi => {
            let (d, id) = open_driver::<Scpi>(address, t).map_err(|e| e.to_string())?;
            let dev = Device::new_ordered(sch, name, d, order).map_err(queue_err)?;
            (StationDevice::Scpi(dev), id)
        }
    })
}

impl StationDevice {
    /// Its driver.
    pub fn driver(&self) -> Driver {
        match self {
            Self::Stage(_) => Driver::Stage,
            Self::Dmm(_) => Driver::Dmm,
            Self::Scope(_) => Driver::Scope,
            Self::Scpi(_) => Driver::Scpi,
        }
    }

    /// Its queue.
    pub fn queue(&self) -> &Queue {
        match self {
            Self::Stage(d) => d.queue(),
            Self::Dmm(d) => d.queue(),
            Self::Scope(d) => d.queue(),
            Self::Scpi(d) => d.queue(),
        }
    }

    /// Apply `settings` through the queue and wait; returns the settings read back.
    fn set_up(&self, s: &Settings) -> Result<BTreeMap<String, String>, smqsched::TaskError> {
        let s = s.clone();
        let p = match self {
            Self::Stage(d) => d.submit("set up", move |st: &mut Stage| {
                let mut out = BTreeMap::new();
                // A controller homes once after power-up; one referenced already is
                // left where it is (homing again is refused).
                if s.home.unwrap_or(true) && st.state()?.is_not_referenced() {
                    st.home()?;
                    st.wait_motion_done(MOTION_TIMEOUT)?;
                }
                if let Some(v) = s.velocity {
                    st.set_velocity(v)?;
                }
                out.insert("velocity".to_owned(), st.velocity()?.to_string());
                out.insert("position".to_owned(), st.position()?.to_string());
                Ok(out)
            }),
            Self::Dmm(d) => d.submit("set up", move |m: &mut Dmm| {
                let mut out = BTreeMap::new();
                let f = s.function.as_deref().and_then(function);
                let range = match s.range {
                    Some(r) => smq_dmm::Range::Value(r),
                    None => smq_dmm::Range::Auto,
                };
                match f.unwrap_or(Function::VoltageDc) {
                    Function::CurrentDc => m.configure_current_dc(range, None)?,
                    Function::Resistance => m.configure_resistance(range, None)?,
                    _ => m.configure_voltage_dc(range, None)?,
                }
                let function = f.unwrap_or(Function::VoltageDc);
                if let Some(n) = s.nplc {
                    m.set_nplc(function, n)?;
                }
                out.insert("configuration".to_owned(), m.configuration()?);
                out.insert("nplc".to_owned(), m.nplc(function)?.to_string());
                Ok(out)
            }),
            Self::Scope(d) => d.submit("set up", move |sc: &mut Scope| {
                let mut out = BTreeMap::new();
                if let Some(t) = s.timebase {
                    sc.set_timebase_scale(t)?;
                }
                for (channel, scale) in &s.scales {
                    if let Ok(c) = channel.parse::<u8>() {
                        sc.set_channel_scale(c, *scale)?;
                        out.insert(format!("scale{c}"), sc.channel_scale(c)?.to_string());
                    }
                }
                out.insert("timebase".to_owned(), sc.timebase_scale()?.to_string());
                Ok(out)
            }),
            Self::Scpi(d) => d.submit("set up", move |sc: &mut Scpi| {
                let mut out = BTreeMap::new();
                for command in &s.init {
                    sc.write(command)?;
                }
                for query in &s.read_back {
                    out.insert(query.clone(), sc.query(query)?);
                }
                Ok(out)
            }),
        };
        p.result().cloned()
    }
}

/// A station opened: its instruments as devices of one scheduler, and the record of what
/// was found, stored with each run.
pub struct Bench {
    /// The simulators, if any instrument is simulated.
    pub sim: Option<Arc<SimLab>>,
    /// The scheduler, stopped until started by the caller.
    pub sch: Scheduler,
    /// The instruments by name; each one's queue has its name.
    pub devices: BTreeMap<String, StationDevice>,
    /// The processing and saving queue.
    pub compute: Queue,
    /// What was opened, as stored with runs.
    pub record: StationRecord,
}

impl std::fmt::Debug for Bench {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Bench")
            .field("devices", &self.devices)
            .field("record", &self.record)
            .finish_non_exhaustive()
    }
}

/// What a station was when a run started: stored with the run (attribute `station`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct StationRecord {
    /// Each instrument by name.
    pub instruments: BTreeMap<String, InstrumentRecord>,
}

/// One instrument of a [`StationRecord`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct InstrumentRecord {
    /// Its driver.
    pub driver: Driver,
    /// Where it was opened.
    pub address: String,
    /// Whether it was the simulator.
    pub simulated: bool,
    /// How it identified itself.
    pub identification: String,
    /// Its settings as read back after they were applied.
    pub settings: BTreeMap<String, String>,
    /// The limits the station declares.
    pub limits: BTreeMap<String, [f64; 2]>,
}
