//! A simulated SCPI digital multimeter (Keysight 34401A command set).

use std::sync::Arc;

use crate::noise::{KeyedNoise, word};
use crate::physics::{Physics, scpi_number};
use crate::scpi::{Command, ErrorQueue};
use crate::shared::Model;

/// Measurement function of the simulated multimeter.
///
/// # Examples
///
/// ```
/// use smq_sim::{DmmFunction, DmmModel, Model};
/// let mut m = DmmModel::standalone(1);
/// m.handle("CONF:RES");
/// assert_eq!(m.function(), DmmFunction::Res);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DmmFunction {
    /// DC voltage.
    VoltDc,
    /// DC current.
    CurrDc,
    /// 2-wire resistance.
    Res,
}

impl DmmFunction {
    fn scpi(self) -> &'static str {
        match self {
            Self::VoltDc => "VOLT",
            Self::CurrDc => "CURR",
            Self::Res => "RES",
        }
    }
    fn ranges(self) -> &'static [f64] {
        match self {
            Self::VoltDc => &[0.1, 1.0, 10.0, 100.0, 1000.0],
            Self::CurrDc => &[0.01, 0.1, 1.0, 3.0],
            Self::Res => &[100.0, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8],
        }
    }
    fn default_range(self) -> f64 {
        match self {
            Self::VoltDc => 10.0,
            Self::CurrDc => 1.0,
            Self::Res => 1e3,
        }
    }
}

/// Integration times accepted by `...:NPLC`.
const NPLC_VALUES: &[f64] = &[0.02, 0.2, 1.0, 10.0, 100.0];

/// Trigger state of the multimeter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Trigger {
    Idle,
    WaitForTrigger,
}

/// Protocol model of a Keysight 34401A multimeter measuring the lab's
/// sample: the DC voltage is `signal(x)` volts plus noise whose standard
/// deviation shrinks with the integration time (NPLC); the current is that
/// voltage across 1 kΩ; the resistance is `1 kΩ × (1 + signal)`.
///
/// # Examples
///
/// ```
/// use smq_sim::DmmModel;
/// use smq_sim::Model;
/// let mut m = DmmModel::standalone(7);
/// assert_eq!(m.handle("*IDN?").unwrap(), b"HEWLETT-PACKARD,34401A,0,11-5-2");
/// assert!(m.handle("CONF:VOLT:DC 10,0.0001").is_none());
/// let v: f64 = String::from_utf8(m.handle("READ?").unwrap()).unwrap().parse().unwrap();
/// assert!(v > 0.0);
/// ```
#[derive(Debug)]
pub struct DmmModel {
    physics: Arc<Physics>,
    draws: KeyedNoise,
    errors: ErrorQueue,
    function: DmmFunction,
    range: f64,
    auto_range: bool,
    resolution: f64,
    nplc: [f64; 3],
    trigger_source: String,
    trigger: Trigger,
    reading: Option<f64>,
    remote: bool,
    /// Standard deviation of the noise at 1 NPLC, in volts.
    pub noise: f64,
}

impl DmmModel {
    /// A multimeter measuring `physics`, with noise seeded by `seed`.
    ///
    /// # Examples
    ///
    /// ```
    /// use smq_sim::{DmmModel, Physics};
    /// use std::sync::Arc;
    /// let sample = Arc::new(Physics::new(2.0, 0.1, 5.0, 0.0));
    /// let m = DmmModel::new(Arc::clone(&sample), 42);
    /// ```
    pub fn new(physics: Arc<Physics>, seed: u64) -> Self {
        Self {
            physics,
            draws: KeyedNoise::new(seed, "dmm"),
            errors: ErrorQueue::default(),
            function: DmmFunction::VoltDc,
            range: 10.0,
            auto_range: true,
            resolution: 1e-5,
            nplc: [10.0; 3],
            trigger_source: "IMM".to_owned(),
            trigger: Trigger::Idle,
            reading: None,
            remote: false,
            noise: 1e-4,
        }
    }

    /// A multimeter with a sample of its own.
    ///
    /// # Examples
    ///
    /// ```
    /// use smq_sim::{DmmModel, Model};
    /// let mut m = DmmModel::standalone(3);
    /// assert!(m.handle("READ?").is_some());
    /// ```
    pub fn standalone(seed: u64) -> Self {
        Self::new(Arc::new(Physics::default()), seed)
    }

    /// Push an error into the SCPI error queue.
    ///
    /// # Examples
    ///
    /// ```
    /// use smq_sim::{DmmModel, Model};
    /// let mut m = DmmModel::standalone(3);
    /// m.push_error(-222, "Data out of range");
    /// assert_eq!(m.handle("SYST:ERR?").unwrap(), b"-222,\"Data out of range\"");
    /// ```
    pub fn push_error(&mut self, code: i32, message: &str) {
        self.errors.push(code, message);
    }

    /// The sample this instrument observes (shared with the lab).
    ///
    /// # Examples
    ///
    /// ```
    /// use smq_sim::{DmmModel, Model};
    /// let m = DmmModel::standalone(3);
    /// m.physics().set_position(1.0);
    /// assert_eq!(m.physics().position(), 1.0);
    /// ```
    pub fn physics(&self) -> Arc<Physics> {
        Arc::clone(&self.physics)
    }

    /// The function currently configured.
    ///
    /// # Examples
    ///
    /// ```
    /// use smq_sim::{DmmModel, Model};
    /// assert_eq!(DmmModel::standalone(3).function(), smq_sim::DmmFunction::VoltDc);
    /// ```
    pub fn function(&self) -> DmmFunction {
        self.function
    }

    /// True in remote mode (after `SYST:REM`).
    ///
    /// # Examples
    ///
    /// ```
    /// use smq_sim::{DmmModel, Model};
    /// let mut m = DmmModel::standalone(3);
    /// m.handle("SYST:REM");
    /// assert!(m.remote());
    /// ```
    pub fn remote(&self) -> bool {
        self.remote
    }

    /// Current trigger source (`IMM`, `BUS` or `EXT`).
    ///
    /// # Examples
    ///
    /// ```
    /// use smq_sim::{DmmModel, Model};
    /// let mut m = DmmModel::standalone(3);
    /// m.handle("TRIG:SOUR BUS");
    /// assert_eq!(m.trigger_source(), "BUS");
    /// ```
    pub fn trigger_source(&self) -> &str {
        &self.trigger_source
    }

    fn nplc_slot(f: DmmFunction) -> usize {
        match f {
            DmmFunction::VoltDc => 0,
            DmmFunction::CurrDc => 1,
            DmmFunction::Res => 2,
        }
    }

    fn reset(&mut self) {
        self.function = DmmFunction::VoltDc;
        self.range = 10.0;
        self.auto_range = true;
        self.resolution = 1e-5;
        self.nplc = [10.0; 3];
        self.trigger_source = "IMM".to_owned();
        self.trigger = Trigger::Idle;
        self.reading = None;
    }

    /// One reading. Its noise is keyed by what is measured (function, integration time,
    /// stage position) and by how many readings were taken at that setting before: see
    /// [the crate docs](crate#reproducible-runs).
    fn measure(&mut self) -> f64 {
        let x = self.physics.position();
        let s = self.physics.signal(x);
        let slot = Self::nplc_slot(self.function);
        let nplc = self.nplc[slot].max(0.02);
        let noise = self
            .draws
            .request(&[slot as u64, word(nplc), word(x)])
            .stream(0)
            .gaussian(self.noise / nplc.sqrt());
        let v = match self.function {
            DmmFunction::VoltDc => s + noise,
            DmmFunction::CurrDc => (s + noise) / 1e3,
            DmmFunction::Res => 1e3 * (1.0 + s) + noise * 1e3,
        };
        if !self.auto_range && v.abs() > 1.2 * self.range {
            9.9e37
        } else {
            v
        }
    }

    fn configure(&mut self, f: DmmFunction, cmd: &Command) -> bool {
        let range = match cmd.num(0) {
            None => None,
            Some(Ok(r)) => Some(r),
            Some(Err(())) => {
                self.errors.push(-224, "Illegal parameter value");
                return false;
            }
        };
        let resolution = match cmd.num(1) {
            None => None,
            Some(Ok(r)) if r > 0.0 => Some(r),
            Some(_) => {
                self.errors.push(-224, "Illegal parameter value");
                return false;
            }
        };
        let auto = cmd
            .args
            .first()
            .is_none_or(|a| a.eq_ignore_ascii_case("AUTO") || a.eq_ignore_ascii_case("DEF"));
        let range = match range {
            Some(r) => match f.ranges().iter().find(|&&x| x >= r.abs() * 0.999_999) {
                Some(&x) => x,
                None => {
                    self.errors.push(-222, "Data out of range");
                    return false;
                }
            },
            None => f.default_range(),
        };
        self.function = f;
        self.range = range;
        self.auto_range = auto;
        self.resolution = resolution.unwrap_or(range * 3e-6);
        self.trigger = Trigger::Idle;
        self.reading = None;
        true
    }

    fn set_nplc(&mut self, f: DmmFunction, cmd: &Command) {
        match cmd.num(0) {
            Some(Ok(n)) => match NPLC_VALUES.iter().find(|&&x| x >= n * 0.999_999) {
                Some(&x) if n > 0.0 => self.nplc[Self::nplc_slot(f)] = x,
                _ => self.errors.push(-222, "Data out of range"),
            },
            _ => self.errors.push(-224, "Illegal parameter value"),
        }
    }

    fn fetch(&mut self) -> Vec<u8> {
        match self.reading {
            Some(r) => scpi_number(r).into_bytes(),
            None => {
                self.errors.push(-230, "Data stale");
                scpi_number(f64::NAN).into_bytes()
            }
        }
    }
}

impl Model for DmmModel {
    fn name(&self) -> &'static str {
        "dmm"
    }

    fn push_scpi_error(&mut self, code: i32, message: &str) -> bool {
        self.errors.push(code, message);
        true
    }

    fn handle(&mut self, line: &str) -> Option<Vec<u8>> {
        let cmd = Command::parse(line);
        let func = |h: &str| match h {
            "VOLT" | "VOLT:DC" => Some(DmmFunction::VoltDc),
            "CURR" | "CURR:DC" => Some(DmmFunction::CurrDc),
            "RES" => Some(DmmFunction::Res),
            _ => None,
        };
        match cmd.header.as_str() {
            "*IDN?" => return Some(b"HEWLETT-PACKARD,34401A,0,11-5-2".to_vec()),
            "*RST" => self.reset(),
            "*CLS" => self.errors.clear(),
            "*OPC?" => return Some(b"1".to_vec()),
            "SYST:ERR?" => return Some(self.errors.pop_reply()),
            "SYST:REM" => self.remote = true,
            "SYST:LOC" => self.remote = false,
            "CONF?" => {
                return Some(
                    format!(
                        "\"{} {},{}\"",
                        self.function.scpi(),
                        scpi_number(self.range),
                        scpi_number(self.resolution)
                    )
                    .into_bytes(),
                );
            }
            "TRIG:SOUR" => match cmd.args.first().map(|a| a.to_ascii_uppercase()) {
                Some(s) if matches!(s.as_str(), "IMM" | "BUS" | "EXT") => {
                    self.trigger_source = s;
                }
                Some(s) if s == "IMMEDIATE" || s == "EXTERNAL" => {
                    self.trigger_source = s[..3].to_owned();
                }
                _ => self.errors.push(-224, "Illegal parameter value"),
            },
            "TRIG:SOUR?" => return Some(self.trigger_source.clone().into_bytes()),
            "INIT" => {
                if self.trigger_source == "BUS" {
                    self.trigger = Trigger::WaitForTrigger;
                } else {
                    // Immediate and external triggers fire at once here.
                    self.reading = Some(self.measure());
                    self.trigger = Trigger::Idle;
                }
            }
            "*TRG" => {
                if self.trigger == Trigger::WaitForTrigger {
                    self.reading = Some(self.measure());
                    self.trigger = Trigger::Idle;
                } else {
                    self.errors.push(-211, "Trigger ignored");
                }
            }
            "FETC?" => return Some(self.fetch()),
            "READ?" => {
                if self.trigger_source == "BUS" {
                    self.errors.push(-214, "Trigger deadlock");
                    return Some(scpi_number(f64::NAN).into_bytes());
                }
                self.reading = Some(self.measure());
                return Some(self.fetch());
            }
            h => {
                if let Some(f) = h.strip_prefix("CONF:").and_then(func) {
                    self.configure(f, &cmd);
                } else if let Some(f) = h
                    .strip_prefix("MEAS:")
                    .and_then(|r| r.strip_suffix('?'))
                    .and_then(func)
                {
                    if self.configure(f, &cmd) {
                        self.trigger_source = "IMM".to_owned();
                        self.reading = Some(self.measure());
                        return Some(self.fetch());
                    }
                    return Some(scpi_number(f64::NAN).into_bytes());
                } else if let Some(f) = h.strip_suffix(":NPLC").and_then(func) {
                    self.set_nplc(f, &cmd);
                } else if let Some(f) = h.strip_suffix(":NPLC?").and_then(func) {
                    return Some(scpi_number(self.nplc[Self::nplc_slot(f)]).into_bytes());
                } else {
                    self.errors.push(-113, "Undefined header");
                }
            }
        }
        None
    }
}
