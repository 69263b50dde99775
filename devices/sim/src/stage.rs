//! A simulated motion controller (Newport SMC100 ASCII protocol).

use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::physics::Physics;
use crate::shared::Model;

/// Controller states reported by `TS` (the last two characters).
mod state {
    pub(super) const NOT_REFERENCED_FROM_RESET: u8 = 0x0A;
    pub(super) const NOT_REFERENCED_FROM_READY: u8 = 0x0E;
    pub(super) const HOMING: u8 = 0x1E;
    pub(super) const MOVING: u8 = 0x28;
    pub(super) const READY_FROM_HOMING: u8 = 0x32;
    pub(super) const READY_FROM_MOVING: u8 = 0x33;
    pub(super) const DISABLE_FROM_READY: u8 = 0x3C;
}

/// Protocol model of a Newport SMC100 controller with one positioner at
/// address 1 (configurable). It homes (`OR`), moves at the set velocity
/// (`PA`, `PR`, `VA`), reports position (`TP`), positioner errors and
/// controller state (`TS`), the last command error (`TE`) and stops
/// (`ST`). Replies end with CR LF. Motion takes real time and moves the
/// lab's shared stage position.
///
/// # Examples
///
/// ```
/// use smq_sim::{Model, StageModel};
/// let mut m = StageModel::standalone();
/// assert_eq!(m.handle("1TS").unwrap(), b"1TS00000A");
/// assert!(m.handle("1PA5").is_none());
/// assert_eq!(m.handle("1TE").unwrap(), b"1TEH"); // not referenced yet
/// ```
#[derive(Debug)]
pub struct StageModel {
    physics: Arc<Physics>,
    address: u8,
    velocity: f64,
    target: f64,
    /// Software limits, mm.
    limits: (f64, f64),
    referenced: bool,
    enabled: bool,
    homing_until: Option<Instant>,
    moved: bool,
    last_error: u8,
    positioner_error: u16,
}

impl StageModel {
    /// A controller moving the stage of `physics`, at address 1, with a
    /// velocity of 20 mm/s and travel -25 mm to +25 mm.
    ///
    /// # Examples
    ///
    /// ```
    /// use smq_sim::{Physics, StageModel};
    /// use std::sync::Arc;
    /// let m = StageModel::new(Arc::new(Physics::default()));
    /// ```
    pub fn new(physics: Arc<Physics>) -> Self {
        Self {
            physics,
            address: 1,
            velocity: 20.0,
            target: 0.0,
            limits: (-25.0, 25.0),
            referenced: false,
            enabled: true,
            homing_until: None,
            moved: false,
            last_error: b'@',
            positioner_error: 0,
        }
    }

    /// A controller with a sample of its own.
    ///
    /// # Examples
    ///
    /// ```
    /// use smq_sim::{Model, StageModel};
    /// let mut m = StageModel::standalone();
    /// assert_eq!(m.handle("1VA?").unwrap(), b"1VA20");
    /// ```
    pub fn standalone() -> Self {
        Self::new(Arc::new(Physics::default()))
    }

    /// Set the positioner error bits reported by `TS` (e.g. `0x0020`,
    /// following error). A non-zero value stops the motion and disables
    /// the controller, as a real fault does.
    ///
    /// # Examples
    ///
    /// ```
    /// use smq_sim::{Model, StageModel};
    /// let mut m = StageModel::standalone();
    /// m.set_positioner_error(0x0004);
    /// assert_eq!(m.handle("1TS").unwrap(), b"1TS00040E");
    /// ```
    pub fn set_positioner_error(&mut self, bits: u16) {
        self.positioner_error = bits;
        if bits != 0 {
            self.physics.stop();
            self.enabled = false;
        }
    }

    /// The sample this instrument observes (shared with the lab).
    ///
    /// # Examples
    ///
    /// ```
    /// use smq_sim::{Model, StageModel};
    /// let m = StageModel::standalone();
    /// assert!(!m.physics().moving());
    /// ```
    pub fn physics(&self) -> Arc<Physics> {
        Arc::clone(&self.physics)
    }

    /// The controller address.
    ///
    /// # Examples
    ///
    /// ```
    /// use smq_sim::{Model, StageModel};
    /// assert_eq!(StageModel::standalone().address(), 1);
    /// ```
    pub fn address(&self) -> u8 {
        self.address
    }

    /// Set the controller address (1 to 31).
    ///
    /// # Examples
    ///
    /// ```
    /// use smq_sim::{Model, StageModel};
    /// let mut m = StageModel::standalone();
    /// m.set_address(2);
    /// assert!(m.handle("1TS").is_none());
    /// assert_eq!(m.handle("2TS").unwrap(), b"2TS00000A");
    /// ```
    pub fn set_address(&mut self, address: u8) {
        self.address = address;
    }

    /// Current velocity, mm/s.
    ///
    /// # Examples
    ///
    /// ```
    /// use smq_sim::{Model, StageModel};
    /// let mut m = StageModel::standalone();
    /// m.handle("1VA5");
    /// assert_eq!(m.velocity(), 5.0);
    /// ```
    pub fn velocity(&self) -> f64 {
        self.velocity
    }

    fn state(&mut self) -> u8 {
        if let Some(until) = self.homing_until {
            if Instant::now() < until {
                return state::HOMING;
            }
            self.homing_until = None;
            self.referenced = true;
            self.moved = false;
        }
        if !self.referenced {
            return if self.enabled {
                state::NOT_REFERENCED_FROM_RESET
            } else {
                state::NOT_REFERENCED_FROM_READY
            };
        }
        if !self.enabled {
            return state::DISABLE_FROM_READY;
        }
        if self.physics.moving() {
            return state::MOVING;
        }
        if self.moved {
            state::READY_FROM_MOVING
        } else {
            state::READY_FROM_HOMING
        }
    }

    /// Check that a move is allowed now; records the error otherwise.
    fn can_move(&mut self) -> bool {
        let code = match self.state() {
            state::NOT_REFERENCED_FROM_RESET | state::NOT_REFERENCED_FROM_READY => b'H',
            state::HOMING => b'L',
            state::MOVING => b'M',
            state::DISABLE_FROM_READY => b'J',
            _ => return true,
        };
        self.last_error = code;
        false
    }

    fn move_to(&mut self, x: f64, out_of_range: u8) {
        if !self.can_move() {
            return;
        }
        if !(self.limits.0..=self.limits.1).contains(&x) {
            self.last_error = out_of_range;
            return;
        }
        self.target = x;
        self.moved = true;
        self.physics.start_move(x, self.velocity);
    }

    fn fmt_num(x: f64) -> String {
        let s = format!("{x:.6}");
        let s = s.trim_end_matches('0').trim_end_matches('.');
        if s.is_empty() || s == "-" || s == "-0" {
            "0".to_owned()
        } else {
            s.to_owned()
        }
    }
}

impl Model for StageModel {
    fn name(&self) -> &'static str {
        "stage"
    }

    fn vxi11(&self) -> bool {
        // An RS-232 controller: no LAN interface.
        false
    }

    fn reply_terminator(&self) -> &'static [u8] {
        b"\r\n"
    }

    fn handle(&mut self, line: &str) -> Option<Vec<u8>> {
        let digits = line.bytes().take_while(u8::is_ascii_digit).count();
        let address: u8 = match line[..digits].parse() {
            Ok(a) => a,
            Err(_) => {
                self.last_error = b'B';
                return None;
            }
        };
        if address != self.address {
            // Another controller on the bus: not for us.
            return None;
        }
        let rest = &line[digits..];
        let Some(code) = rest.get(..2).map(str::to_ascii_uppercase) else {
            self.last_error = b'A';
            return None;
        };
        let param = rest.get(2..).unwrap_or("").trim();
        let query = param == "?";
        let value = param.parse::<f64>();
        let a = self.address;
        let reply = |s: String| Some(format!("{a}{s}").into_bytes());
        match (code.as_str(), query) {
            ("TS", _) => {
                let st = self.state();
                return reply(format!("TS{:04X}{st:02X}", self.positioner_error));
            }
            ("TE", _) => {
                let e = std::mem::replace(&mut self.last_error, b'@');
                return reply(format!("TE{}", char::from(e)));
            }
            ("TP", _) => return reply(format!("TP{}", Self::fmt_num(self.physics.position()))),
            ("PA", true) => return reply(format!("PA{}", Self::fmt_num(self.target))),
            ("VA", true) => return reply(format!("VA{}", Self::fmt_num(self.velocity))),
            ("SL", true) => return reply(format!("SL{}", Self::fmt_num(self.limits.0))),
            ("SR", true) => return reply(format!("SR{}", Self::fmt_num(self.limits.1))),
            ("ID", true) => return reply("IDSIM-LTA-HS_0001".to_owned()),
            ("VE", _) => return reply("VE SMC_CC - Controller-driver version 3.0.0".to_owned()),
            ("OR", _) => {
                if self.state() == state::NOT_REFERENCED_FROM_RESET {
                    // Homing finds the reference at 0: it takes the time of
                    // the travel from where the stage is.
                    let dist = self.physics.position().abs();
                    let secs = dist / self.velocity.max(1e-6);
                    self.physics.start_move(0.0, self.velocity);
                    self.target = 0.0;
                    self.homing_until =
                        Some(Instant::now() + Duration::from_secs_f64(secs.min(60.0)));
                } else {
                    self.last_error = b'E';
                }
            }
            ("PA", false) => match value {
                Ok(x) => self.move_to(x, b'C'),
                Err(_) => self.last_error = b'C',
            },
            ("PR", false) => match value {
                Ok(dx) => {
                    let x = self.target + dx;
                    self.move_to(x, b'G');
                }
                Err(_) => self.last_error = b'C',
            },
            ("VA", false) => match value {
                Ok(v) if v > 0.0 && v <= 200.0 => self.velocity = v,
                _ => self.last_error = b'C',
            },
            ("ST", _) => {
                self.physics.stop();
                self.target = self.physics.position();
                if self.homing_until.take().is_some() {
                    self.referenced = false;
                }
            }
            ("RS", _) => {
                self.physics.stop();
                self.referenced = false;
                self.enabled = true;
                self.homing_until = None;
                self.positioner_error = 0;
                self.last_error = b'@';
            }
            ("MM", false) => match param {
                "0" => self.enabled = false,
                "1" if self.positioner_error == 0 => self.enabled = true,
                "1" => self.last_error = b'V',
                _ => self.last_error = b'C',
            },
            _ => self.last_error = b'A',
        }
        None
    }
}
