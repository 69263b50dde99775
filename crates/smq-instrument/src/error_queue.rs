//! Entries of the SCPI error queue (`SYST:ERR?`).

use std::fmt;

/// One entry of the SCPI error queue, as returned by `SYST:ERR?`:
/// `-113,"Undefined header"`. Code `0` means the queue is empty.
///
/// # Examples
///
/// ```
/// use smq_instrument::ScpiErrorEntry;
/// let e: ScpiErrorEntry = "-113,\"Undefined header\"".parse().unwrap();
/// assert_eq!(e.code, -113);
/// assert_eq!(e.message, "Undefined header");
/// assert!(!e.is_no_error());
/// assert!("+0,\"No error\"".parse::<ScpiErrorEntry>().unwrap().is_no_error());
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScpiErrorEntry {
    /// Error code: negative for SCPI standard errors, positive for
    /// device-specific ones, `0` for "No error".
    pub code: i32,
    /// Error description without quotes.
    pub message: String,
}

impl ScpiErrorEntry {
    /// True for the `0,"No error"` entry that ends the queue.
    ///
    /// # Examples
    ///
    /// ```
    /// let e: smq_instrument::ScpiErrorEntry = "0,\"No error\"".parse().unwrap();
    /// assert!(e.is_no_error());
    /// ```
    pub fn is_no_error(&self) -> bool {
        self.code == 0
    }
}

/// Why a `SYST:ERR?` reply could not be parsed.
///
/// # Examples
///
/// ```
/// use smq_instrument::{ErrorEntryParseError, ScpiErrorEntry};
/// assert_eq!("oops".parse::<ScpiErrorEntry>(), Err(ErrorEntryParseError));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("expected <code>,\"<message>\"")]
pub struct ErrorEntryParseError;

impl std::str::FromStr for ScpiErrorEntry {
    type Err = ErrorEntryParseError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        let (code, rest) = s.split_once(',').unwrap_or((s, ""));
        let code: i32 = code.trim().parse().map_err(|_| ErrorEntryParseError)?;
        let rest = rest.trim();
        let message = rest
            .strip_prefix('"')
            .and_then(|r| r.strip_suffix('"'))
            .unwrap_or(rest);
        Ok(Self {
            code,
            message: message.to_owned(),
        })
    }
}

impl fmt::Display for ScpiErrorEntry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{},\"{}\"", self.code, self.message)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn variants() {
        let e: ScpiErrorEntry = "-222,\"Data out of range;CONF:VOLT\"".parse().unwrap();
        assert_eq!(e.code, -222);
        assert_eq!(e.message, "Data out of range;CONF:VOLT");
        assert_eq!("0".parse::<ScpiErrorEntry>().unwrap().code, 0);
        assert!("abc,\"x\"".parse::<ScpiErrorEntry>().is_err());
        assert!("".parse::<ScpiErrorEntry>().is_err());
    }

    proptest! {
        #[test]
        fn never_panics(s in "\\PC*") {
            let _ = s.parse::<ScpiErrorEntry>();
        }

        #[test]
        fn round_trip(code in -999i32..999, msg in "[A-Za-z ;:]{0,30}") {
            let e = ScpiErrorEntry { code, message: msg };
            prop_assert_eq!(e.to_string().parse::<ScpiErrorEntry>().unwrap(), e);
        }
    }
}
