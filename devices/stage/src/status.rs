//! Controller states, positioner errors and command errors of the SMC100,
//! with their meaning from the controller's manual.

use std::fmt;

/// Controller state: the last two characters of the `TS` reply.
///
/// # Examples
///
/// ```
/// use smq_stage::ControllerState;
/// let s = ControllerState(0x33);
/// assert!(s.is_ready());
/// assert_eq!(s.description(), "READY from MOVING");
/// assert!(ControllerState(0x0A).is_not_referenced());
/// assert!(ControllerState(0x28).is_moving());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ControllerState(pub u8);

impl ControllerState {
    /// The manual's name of the state.
    ///
    /// # Examples
    ///
    /// ```
    /// use smq_stage::ControllerState;
    /// assert_eq!(ControllerState(0x28).description(), "MOVING");
    /// ```
    pub fn description(self) -> &'static str {
        match self.0 {
            0x0A => "NOT REFERENCED from RESET",
            0x0B => "NOT REFERENCED from HOMING",
            0x0C => "NOT REFERENCED from CONFIGURATION",
            0x0D => "NOT REFERENCED from DISABLE",
            0x0E => "NOT REFERENCED from READY",
            0x0F => "NOT REFERENCED from MOVING",
            0x10 => "NOT REFERENCED - ESP stage error",
            0x11 => "NOT REFERENCED from JOGGING",
            0x14 => "CONFIGURATION",
            0x1E => "HOMING commanded from RS-232-C",
            0x1F => "HOMING commanded by SMC-RC",
            0x28 => "MOVING",
            0x32 => "READY from HOMING",
            0x33 => "READY from MOVING",
            0x34 => "READY from DISABLE",
            0x35 => "READY from JOGGING",
            0x3C => "DISABLE from READY",
            0x3D => "DISABLE from MOVING",
            0x3E => "DISABLE from JOGGING",
            0x46 => "JOGGING from READY",
            0x47 => "JOGGING from DISABLE",
            _ => "unknown state",
        }
    }

    /// READY: motion done, new moves accepted.
    ///
    /// # Examples
    ///
    /// ```
    /// use smq_stage::ControllerState;
    /// assert!(ControllerState(0x32).is_ready());
    /// ```
    pub fn is_ready(self) -> bool {
        (0x32..=0x35).contains(&self.0)
    }

    /// MOVING.
    ///
    /// # Examples
    ///
    /// ```
    /// use smq_stage::ControllerState;
    /// assert!(ControllerState(0x28).is_moving());
    /// ```
    pub fn is_moving(self) -> bool {
        self.0 == 0x28
    }

    /// HOMING.
    ///
    /// # Examples
    ///
    /// ```
    /// use smq_stage::ControllerState;
    /// assert!(ControllerState(0x1E).is_homing());
    /// ```
    pub fn is_homing(self) -> bool {
        matches!(self.0, 0x1E | 0x1F)
    }

    /// NOT REFERENCED: the stage must be homed (`OR`) before moving.
    ///
    /// # Examples
    ///
    /// ```
    /// use smq_stage::ControllerState;
    /// assert!(ControllerState(0x0A).is_not_referenced());
    /// ```
    pub fn is_not_referenced(self) -> bool {
        (0x0A..=0x11).contains(&self.0)
    }

    /// DISABLE: the motor is off.
    ///
    /// # Examples
    ///
    /// ```
    /// use smq_stage::ControllerState;
    /// assert!(ControllerState(0x3C).is_disabled());
    /// ```
    pub fn is_disabled(self) -> bool {
        (0x3C..=0x3E).contains(&self.0)
    }
}

impl fmt::Display for ControllerState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:02X} ({})", self.0, self.description())
    }
}

/// Positioner error bits: the first four hex characters of the `TS` reply.
///
/// # Examples
///
/// ```
/// use smq_stage::PositionerErrors;
/// let e = PositionerErrors(0x0022);
/// assert_eq!(e.descriptions(), vec!["following error", "positive end of run"]);
/// assert!(PositionerErrors(0).is_empty());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct PositionerErrors(pub u16);

const POSITIONER_BITS: [(u16, &str); 10] = [
    (0x0200, "80 W output power exceeded"),
    (0x0100, "DC voltage too low"),
    (0x0080, "wrong ESP stage"),
    (0x0040, "homing time out"),
    (0x0020, "following error"),
    (0x0010, "short circuit detection"),
    (0x0008, "RMS current limit"),
    (0x0004, "peak current limit"),
    (0x0002, "positive end of run"),
    (0x0001, "negative end of run"),
];

impl PositionerErrors {
    /// No error bit set.
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(smq_stage::PositionerErrors(0).is_empty());
    /// ```
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The manual's meaning of each bit set, most significant first.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(smq_stage::PositionerErrors(0x0040).descriptions(), vec!["homing time out"]);
    /// ```
    pub fn descriptions(self) -> Vec<&'static str> {
        let mut out: Vec<&'static str> = POSITIONER_BITS
            .iter()
            .filter(|(bit, _)| self.0 & bit != 0)
            .map(|(_, d)| *d)
            .collect();
        if self.0 & 0xFC00 != 0 {
            out.push("reserved error bit");
        }
        out
    }
}

impl fmt::Display for PositionerErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_empty() {
            f.write_str("no error")
        } else {
            f.write_str(&self.descriptions().join(", "))
        }
    }
}

/// The reply to `TS`: positioner errors and controller state.
///
/// # Examples
///
/// ```
/// let s = smq_stage::Status::parse("002028").unwrap();
/// assert_eq!(s.errors.to_string(), "following error");
/// assert_eq!(s.state.to_string(), "28 (MOVING)");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Status {
    /// Positioner error bits.
    pub errors: PositionerErrors,
    /// Controller state.
    pub state: ControllerState,
}

impl Status {
    /// Parse the six characters after `TS`, e.g. `000033`.
    ///
    /// # Examples
    ///
    /// ```
    /// use smq_stage::Status;
    /// let s = Status::parse("000028").unwrap();
    /// assert!(s.state.is_moving());
    /// assert!(Status::parse("00zz33").is_none());
    /// ```
    pub fn parse(s: &str) -> Option<Self> {
        if s.len() != 6 || !s.is_ascii() {
            return None;
        }
        let errors = u16::from_str_radix(&s[..4], 16).ok()?;
        let state = u8::from_str_radix(&s[4..], 16).ok()?;
        Some(Self {
            errors: PositionerErrors(errors),
            state: ControllerState(state),
        })
    }
}

/// The meaning of a command error code returned by `TE`, or `None` for
/// `@` (no error).
///
/// # Examples
///
/// ```
/// assert_eq!(smq_stage::command_error_description('C'), Some("Parameter missing or out of range"));
/// assert_eq!(smq_stage::command_error_description('@'), None);
/// ```
pub fn command_error_description(code: char) -> Option<&'static str> {
    Some(match code {
        '@' => return None,
        'A' => "Unknown message code or floating point controller address",
        'B' => "Controller address not correct",
        'C' => "Parameter missing or out of range",
        'D' => "Command not allowed",
        'E' => "Home sequence already started",
        'F' => "ESP stage name unknown",
        'G' => "Displacement out of limits",
        'H' => "Command not allowed in NOT REFERENCED state",
        'I' => "Command not allowed in CONFIGURATION state",
        'J' => "Command not allowed in DISABLE state",
        'K' => "Command not allowed in READY state",
        'L' => "Command not allowed in HOMING state",
        'M' => "Command not allowed in MOVING state",
        'N' => "Current position out of software limit",
        'S' => "Communication time out",
        'U' => "Error during EEPROM access",
        'V' => "Error during command execution",
        'W' => "Command not allowed for PP version",
        'X' => "Command not allowed for CC version",
        _ => "unknown command error",
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_never_panics_on_odd_input() {
        for s in [
            "",
            "0",
            "0000333",
            "ééé",
            "\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}",
            "FFFFFF",
        ] {
            let _ = Status::parse(s);
        }
        assert_eq!(
            Status::parse("FFFFFF").map(|s| s.errors.descriptions().len()),
            Some(11)
        );
    }
}
