//! The `*IDN?` identification string.

use std::fmt;

/// The four fields of an IEEE 488.2 `*IDN?` reply:
/// `<manufacturer>,<model>,<serial>,<firmware>`.
///
/// # Examples
///
/// ```
/// use smq_instrument::Identity;
/// let id: Identity = "RIGOL TECHNOLOGIES,DS1104Z,DS1ZA000000001,00.04.04.SP3".parse().unwrap();
/// assert_eq!(id.manufacturer, "RIGOL TECHNOLOGIES");
/// assert_eq!(id.model, "DS1104Z");
/// assert_eq!(id.serial, "DS1ZA000000001");
/// assert_eq!(id.firmware, "00.04.04.SP3");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Identity {
    /// Manufacturer name.
    pub manufacturer: String,
    /// Model number.
    pub model: String,
    /// Serial number (`0` when the instrument does not report one).
    pub serial: String,
    /// Firmware revision (may itself contain commas).
    pub firmware: String,
}

/// Why an `*IDN?` reply could not be parsed.
///
/// # Examples
///
/// ```
/// use smq_instrument::{Identity, IdentityParseError};
/// assert_eq!("A,B".parse::<Identity>(), Err(IdentityParseError(2)));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("expected 4 comma-separated fields, got {0}")]
pub struct IdentityParseError(pub usize);

impl std::str::FromStr for Identity {
    type Err = IdentityParseError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let fields: Vec<&str> = s.trim().splitn(4, ',').map(str::trim).collect();
        match fields.as_slice() {
            [m, model, serial, fw] if !m.is_empty() && !model.is_empty() => Ok(Self {
                manufacturer: (*m).to_owned(),
                model: (*model).to_owned(),
                serial: (*serial).to_owned(),
                firmware: (*fw).to_owned(),
            }),
            other => Err(IdentityParseError(other.len())),
        }
    }
}

impl fmt::Display for Identity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{},{},{},{}",
            self.manufacturer, self.model, self.serial, self.firmware
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn rejects_short() {
        assert!("A,B,C".parse::<Identity>().is_err());
        assert!(",B,C,D".parse::<Identity>().is_err());
        assert!("".parse::<Identity>().is_err());
    }

    #[test]
    fn firmware_with_commas() {
        let id: Identity = "KEITHLEY INSTRUMENTS INC.,MODEL 2000,1234567,A19 /A02, X"
            .parse()
            .unwrap();
        assert_eq!(id.firmware, "A19 /A02, X");
    }

    proptest! {
        #[test]
        fn never_panics(s in "\\PC*") {
            let _ = s.parse::<Identity>();
        }

        #[test]
        fn round_trip(m in "[A-Z][A-Z ]{0,10}[A-Z]", model in "[A-Z0-9]{1,8}", serial in "[A-Z0-9]{0,8}", fw in "[0-9.]{0,8}") {
            let s = format!("{m},{model},{serial},{fw}");
            let id: Identity = s.parse().unwrap();
            prop_assert_eq!(id.to_string(), s);
        }
    }
}
