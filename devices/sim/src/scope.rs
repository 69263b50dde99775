//! A simulated oscilloscope (Rigol DS1000Z command set).

use std::sync::Arc;

use crate::noise::{KeyedNoise, word};
use crate::physics::Physics;
use crate::scpi::{Command, ErrorQueue};
use crate::shared::Model;

/// Points per channel in `NORM` waveform mode (the screen width).
///
/// # Examples
///
/// ```
/// assert_eq!(smq_sim::SCREEN_POINTS, 1200);
/// ```
pub const SCREEN_POINTS: usize = 1200;
/// Vertical divisions on screen.
const VERTICAL_DIVS: f64 = 8.0;
/// Horizontal divisions on screen.
const HORIZONTAL_DIVS: f64 = 12.0;
/// Frequency of the simulated signal, Hz.
///
/// # Examples
///
/// ```
/// assert_eq!(smq_sim::SIGNAL_FREQUENCY, 1e3);
/// ```
pub const SIGNAL_FREQUENCY: f64 = 1e3;
/// Byte value of the screen centre line.
const Y_REFERENCE: f64 = 127.0;

/// Protocol model of a Rigol DS1000Z oscilloscope: channel 1 shows a
/// 1 kHz sine whose amplitude is the sample's signal at the current stage
/// position (so a stage scan shows the peak), channel 2 a fixed 0.5 V
/// reference sine, channels 3 and 4 only noise. Waveforms transfer as
/// definite-length binary blocks in `BYTE` or `WORD` format, or as text in
/// `ASC` format, scaled as the DS1000Z manual gives.
///
/// # Examples
///
/// ```
/// use smq_sim::{Model, ScopeModel};
/// let mut m = ScopeModel::standalone(1);
/// let pre = String::from_utf8(m.handle(":WAV:PRE?").unwrap()).unwrap();
/// assert_eq!(pre.split(',').count(), 10);
/// let data = m.handle(":WAV:DATA?").unwrap();
/// assert!(data.starts_with(b"#9000001200"));
/// ```
#[derive(Debug)]
pub struct ScopeModel {
    physics: Arc<Physics>,
    draws: KeyedNoise,
    errors: ErrorQueue,
    running: bool,
    time_scale: f64,
    time_offset: f64,
    channel_scale: [f64; 4],
    channel_offset: [f64; 4],
    source: usize,
    mode: String,
    format: String,
    capture: Option<[Vec<f64>; 4]>,
    /// Standard deviation of the noise on every channel, in volts.
    pub noise: f64,
}

impl ScopeModel {
    /// A scope probing `physics`, with noise seeded by `seed`.
    ///
    /// # Examples
    ///
    /// ```
    /// use smq_sim::{Physics, ScopeModel};
    /// use std::sync::Arc;
    /// let m = ScopeModel::new(Arc::new(Physics::default()), 7);
    /// ```
    pub fn new(physics: Arc<Physics>, seed: u64) -> Self {
        Self {
            physics,
            draws: KeyedNoise::new(seed, "scope"),
            errors: ErrorQueue::default(),
            running: true,
            time_scale: 1e-3,
            time_offset: 0.0,
            channel_scale: [1.0; 4],
            channel_offset: [0.0; 4],
            source: 0,
            mode: "NORM".to_owned(),
            format: "BYTE".to_owned(),
            capture: None,
            noise: 5e-3,
        }
    }

    /// A scope with a sample of its own.
    ///
    /// # Examples
    ///
    /// ```
    /// use smq_sim::{Model, ScopeModel};
    /// let mut m = ScopeModel::standalone(7);
    /// assert!(m.handle(":WAV:DATA?").unwrap().starts_with(b"#9"));
    /// ```
    pub fn standalone(seed: u64) -> Self {
        Self::new(Arc::new(Physics::default()), seed)
    }

    /// Push an error into the SCPI error queue.
    ///
    /// # Examples
    ///
    /// ```
    /// use smq_sim::{Model, ScopeModel};
    /// let mut m = ScopeModel::standalone(7);
    /// m.push_error(-200, "Execution error");
    /// assert!(m.handle("SYST:ERR?").unwrap().starts_with(b"-200"));
    /// ```
    pub fn push_error(&mut self, code: i32, message: &str) {
        self.errors.push(code, message);
    }

    /// The sample this instrument observes (shared with the lab).
    ///
    /// # Examples
    ///
    /// ```
    /// use smq_sim::{Model, ScopeModel};
    /// let m = ScopeModel::standalone(7);
    /// assert_eq!(m.physics().position(), 0.0);
    /// ```
    pub fn physics(&self) -> Arc<Physics> {
        Arc::clone(&self.physics)
    }

    /// True while acquiring (after `:RUN`).
    ///
    /// # Examples
    ///
    /// ```
    /// use smq_sim::{Model, ScopeModel};
    /// let mut m = ScopeModel::standalone(7);
    /// m.handle(":STOP");
    /// assert!(!m.running());
    /// ```
    pub fn running(&self) -> bool {
        self.running
    }

    fn reset(&mut self) {
        let physics = Arc::clone(&self.physics);
        let noise = self.noise;
        let draws = self.draws.clone();
        *self = Self::new(physics, 0);
        self.draws = draws;
        self.noise = noise;
    }

    fn x_increment(&self) -> f64 {
        self.time_scale * HORIZONTAL_DIVS / SCREEN_POINTS as f64
    }

    fn x_origin(&self) -> f64 {
        -self.time_scale * HORIZONTAL_DIVS / 2.0 + self.time_offset
    }

    fn y_increment(&self) -> f64 {
        self.channel_scale[self.source] * VERTICAL_DIVS / 200.0
    }

    fn y_origin(&self) -> f64 {
        (self.channel_offset[self.source] / self.y_increment()).round()
    }

    /// One capture of the four channels. The trigger fixes the phase: the sines cross
    /// zero upwards at t = 0 (the trigger point, at the screen centre with no time
    /// offset). The noise is keyed by the timebase, the stage position and the number of
    /// captures at that setting before, one stream per channel: see
    /// [the crate docs](crate#reproducible-runs).
    fn acquire(&mut self) -> [Vec<f64>; 4] {
        let x = self.physics.position();
        let amplitude = self.physics.signal(x);
        let (x0, dx) = (self.x_origin(), self.x_increment());
        let w = std::f64::consts::TAU * SIGNAL_FREQUENCY;
        let request = self
            .draws
            .request(&[word(self.time_scale), word(self.time_offset), word(x)]);
        let mut chans: [Vec<f64>; 4] = Default::default();
        for (c, out) in chans.iter_mut().enumerate() {
            let mut noise = request.stream(c as u64);
            *out = (0..SCREEN_POINTS)
                .map(|i| {
                    let t = x0 + i as f64 * dx;
                    let clean = match c {
                        0 => amplitude * (w * t).sin(),
                        1 => 0.5 * (w * t).sin(),
                        _ => 0.0,
                    };
                    clean + noise.gaussian(self.noise)
                })
                .collect();
        }
        chans
    }

    /// Raw codes of the source channel, as `voltage = (code - yorigin -
    /// yreference) * yincrement` inverts.
    fn codes(&mut self) -> Vec<u8> {
        if self.running || self.capture.is_none() {
            let c = self.acquire();
            self.capture = Some(c);
        }
        let (yinc, yor) = (self.y_increment(), self.y_origin());
        let volts = self
            .capture
            .as_ref()
            .map(|c| c[self.source].clone())
            .unwrap_or_default();
        volts
            .iter()
            .map(|v| (v / yinc + yor + Y_REFERENCE).round().clamp(0.0, 255.0) as u8)
            .collect()
    }

    fn data(&mut self) -> Vec<u8> {
        let codes = self.codes();
        let payload: Vec<u8> = match self.format.as_str() {
            "WORD" => codes.iter().flat_map(|&c| [c, 0]).collect(),
            "ASC" => {
                let (yinc, yor) = (self.y_increment(), self.y_origin());
                codes
                    .iter()
                    .map(|&c| format!("{:e}", (f64::from(c) - yor - Y_REFERENCE) * yinc))
                    .collect::<Vec<_>>()
                    .join(",")
                    .into_bytes()
            }
            _ => codes,
        };
        // The DS1000Z always uses a 9-digit length header.
        let mut out = format!("#9{:09}", payload.len()).into_bytes();
        out.extend_from_slice(&payload);
        out
    }

    fn preamble(&self) -> Vec<u8> {
        let format = match self.format.as_str() {
            "WORD" => 1,
            "ASC" => 2,
            _ => 0,
        };
        let kind = match self.mode.as_str() {
            "MAX" => 1,
            "RAW" => 2,
            _ => 0,
        };
        format!(
            "{format},{kind},{SCREEN_POINTS},1,{:.6e},{:.6e},0,{:.6e},{},{}",
            self.x_increment(),
            self.x_origin(),
            self.y_increment(),
            self.y_origin(),
            Y_REFERENCE
        )
        .into_bytes()
    }

    fn set_number(&mut self, cmd: &Command, min: f64, max: f64) -> Option<f64> {
        match cmd.num(0) {
            Some(Ok(v)) if (min..=max).contains(&v) => Some(v),
            Some(Ok(_)) => {
                self.errors.push(-222, "Data out of range");
                None
            }
            _ => {
                self.errors.push(-224, "Illegal parameter value");
                None
            }
        }
    }

    fn set_choice(&mut self, cmd: &Command, choices: &[&str]) -> Option<String> {
        let arg = cmd.args.first().map(|a| a.to_ascii_uppercase());
        match arg {
            Some(a) if choices.iter().any(|c| a.starts_with(c)) => choices
                .iter()
                .find(|c| a.starts_with(*c))
                .map(|c| (*c).to_owned()),
            _ => {
                self.errors.push(-224, "Illegal parameter value");
                None
            }
        }
    }

    fn channel_command(&mut self, header: &str, cmd: &Command) -> Option<Option<Vec<u8>>> {
        let rest = header.strip_prefix("CHAN")?;
        let (n, what) = rest.split_once(':')?;
        let ch = match n.parse::<usize>() {
            Ok(c @ 1..=4) => c - 1,
            _ => return None,
        };
        match what {
            "SCAL" => {
                if let Some(v) = self.set_number(cmd, 1e-3, 10.0) {
                    self.channel_scale[ch] = v;
                }
                Some(None)
            }
            "SCAL?" => Some(Some(format!("{:.4e}", self.channel_scale[ch]).into_bytes())),
            "OFFS" => {
                if let Some(v) = self.set_number(cmd, -100.0, 100.0) {
                    self.channel_offset[ch] = v;
                }
                Some(None)
            }
            "OFFS?" => Some(Some(
                format!("{:.4e}", self.channel_offset[ch]).into_bytes(),
            )),
            _ => None,
        }
    }
}

impl Model for ScopeModel {
    fn name(&self) -> &'static str {
        "scope"
    }

    fn push_scpi_error(&mut self, code: i32, message: &str) -> bool {
        self.errors.push(code, message);
        true
    }

    fn handle(&mut self, line: &str) -> Option<Vec<u8>> {
        let cmd = Command::parse(line);
        let header = cmd.header.replace("TIM:MAIN:", "TIM:");
        match header.as_str() {
            "*IDN?" => {
                return Some(b"RIGOL TECHNOLOGIES,DS1104Z,DS1ZA000000001,00.04.04.SP3".to_vec());
            }
            "*RST" => self.reset(),
            "*CLS" => self.errors.clear(),
            "*OPC?" => return Some(b"1".to_vec()),
            "SYST:ERR?" => return Some(self.errors.pop_reply()),
            "RUN" => {
                self.running = true;
            }
            "STOP" => {
                if self.running {
                    let c = self.acquire();
                    self.capture = Some(c);
                }
                self.running = false;
            }
            "SING" => {
                // The simulated trigger fires at once: capture and stop.
                let c = self.acquire();
                self.capture = Some(c);
                self.running = false;
            }
            "TRIG:STAT?" => {
                let s = if self.running { "AUTO" } else { "STOP" };
                return Some(s.as_bytes().to_vec());
            }
            "TIM:SCAL" => {
                if let Some(v) = self.set_number(&cmd, 5e-9, 50.0) {
                    self.time_scale = v;
                }
            }
            "TIM:SCAL?" => return Some(format!("{:.4e}", self.time_scale).into_bytes()),
            "TIM:OFFS" => {
                if let Some(v) = self.set_number(&cmd, -1e3, 1e3) {
                    self.time_offset = v;
                }
            }
            "TIM:OFFS?" => return Some(format!("{:.4e}", self.time_offset).into_bytes()),
            "WAV:SOUR" => {
                if let Some(s) = self.set_choice(&cmd, &["CHAN1", "CHAN2", "CHAN3", "CHAN4"]) {
                    self.source = usize::from(s.as_bytes()[4] - b'1');
                }
            }
            "WAV:SOUR?" => return Some(format!("CHAN{}", self.source + 1).into_bytes()),
            "WAV:MODE" => {
                if let Some(m) = self.set_choice(&cmd, &["NORM", "MAX", "RAW"]) {
                    self.mode = m;
                }
            }
            "WAV:MODE?" => return Some(self.mode.clone().into_bytes()),
            "WAV:FORM" => {
                if let Some(f) = self.set_choice(&cmd, &["BYTE", "WORD", "ASC"]) {
                    self.format = f;
                }
            }
            "WAV:FORM?" => return Some(self.format.clone().into_bytes()),
            "WAV:PRE?" => return Some(self.preamble()),
            "WAV:DATA?" => return Some(self.data()),
            "WAV:XINC?" => return Some(format!("{:.6e}", self.x_increment()).into_bytes()),
            "WAV:YINC?" => return Some(format!("{:.6e}", self.y_increment()).into_bytes()),
            h => match self.channel_command(h, &cmd) {
                Some(reply) => return reply,
                None => self.errors.push(-113, "Undefined header"),
            },
        }
        None
    }
}
