//! Settings of the multimeter.

use std::fmt;
use std::str::FromStr;

/// Value a SCPI multimeter returns for an overloaded or invalid reading
/// (`+9.90000000E+37`); readings at or beyond it mean "out of range".
///
/// # Examples
///
/// ```
/// let reading = 9.9e37;
/// assert!(reading >= smq_dmm::OVERLOAD);
/// ```
pub const OVERLOAD: f64 = 9.9e37;

/// Measurement function.
///
/// # Examples
///
/// ```
/// assert_eq!(smq_dmm::Function::Resistance.scpi(), "RES");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Function {
    /// DC voltage (`VOLT:DC`).
    VoltageDc,
    /// DC current (`CURR:DC`).
    CurrentDc,
    /// 2-wire resistance (`RES`).
    Resistance,
}

impl Function {
    /// The SCPI node of the function, e.g. `VOLT:DC`.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(smq_dmm::Function::CurrentDc.scpi(), "CURR:DC");
    /// ```
    pub fn scpi(self) -> &'static str {
        match self {
            Self::VoltageDc => "VOLT:DC",
            Self::CurrentDc => "CURR:DC",
            Self::Resistance => "RES",
        }
    }
}

/// Measurement range.
///
/// # Examples
///
/// ```
/// use smq_dmm::Range;
/// assert_eq!(Range::Value(10.0).to_string(), "10");
/// assert_eq!(Range::Auto.to_string(), "AUTO");
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Range {
    /// Autoranging (`AUTO`).
    Auto,
    /// The instrument's default range (`DEF`).
    Default,
    /// The smallest range that holds this value (V, A or Ω).
    Value(f64),
}

impl fmt::Display for Range {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Auto => f.write_str("AUTO"),
            Self::Default => f.write_str("DEF"),
            Self::Value(v) => write!(f, "{v}"),
        }
    }
}

/// Trigger source (`TRIG:SOUR`).
///
/// # Examples
///
/// ```
/// use smq_dmm::TriggerSource;
/// assert_eq!("EXTERNAL".parse(), Ok(TriggerSource::External));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TriggerSource {
    /// Trigger at once (`IMM`).
    Immediate,
    /// Software trigger, `*TRG` (`BUS`).
    Bus,
    /// Rear-panel trigger input (`EXT`).
    External,
}

impl TriggerSource {
    /// The SCPI mnemonic.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(smq_dmm::TriggerSource::Bus.scpi(), "BUS");
    /// ```
    pub fn scpi(self) -> &'static str {
        match self {
            Self::Immediate => "IMM",
            Self::Bus => "BUS",
            Self::External => "EXT",
        }
    }
}

impl FromStr for TriggerSource {
    type Err = ();

    fn from_str(s: &str) -> Result<Self, ()> {
        match s.trim().to_ascii_uppercase().as_str() {
            "IMM" | "IMMEDIATE" => Ok(Self::Immediate),
            "BUS" => Ok(Self::Bus),
            "EXT" | "EXTERNAL" => Ok(Self::External),
            _ => Err(()),
        }
    }
}
