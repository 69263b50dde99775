//! The one error type of instrument I/O.

use std::fmt::Write as _;
use std::time::Duration;

/// Everything that can go wrong while talking to an instrument.
///
/// Every variant names the device (the name given to the
/// [`Connection`](crate::Connection)) and the command that was being
/// executed, so a message such as
/// `dmm: timeout after 200ms waiting for reply to "READ?"` is enough to
/// locate the problem in a log.
///
/// The type is `Send + Sync + 'static`, so it can cross threads and be boxed
/// into `Box<dyn std::error::Error + Send + Sync>`.
///
/// # Examples
///
/// ```
/// use smq_instrument::InstrumentError;
/// use std::time::Duration;
///
/// let err = InstrumentError::Timeout {
///     device: "dmm".into(),
///     command: "READ?".into(),
///     timeout: Duration::from_millis(200),
/// };
/// assert!(err.to_string().contains("READ?"));
/// assert!(err.is_timeout());
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum InstrumentError {
    /// No (complete) reply arrived within the configured timeout.
    #[error("{device}: timeout after {timeout:?} waiting for reply to {command:?}")]
    Timeout {
        /// Device name.
        device: String,
        /// Command being executed.
        command: String,
        /// The timeout that expired.
        timeout: Duration,
    },
    /// The link was closed by the other side (socket closed, pseudo-terminal
    /// or USB device gone).
    #[error("{device}: disconnected during {command:?}")]
    Disconnected {
        /// Device name.
        device: String,
        /// Command being executed.
        command: String,
    },
    /// The instrument answered something that cannot be parsed.
    #[error("{device}: unparseable reply to {command:?}: {reason} (reply: \"{reply}\")")]
    Garbage {
        /// Device name.
        device: String,
        /// Command being executed.
        command: String,
        /// The received bytes, escaped for printing (see [`escape_bytes`]).
        reply: String,
        /// What was wrong with the reply.
        reason: String,
    },
    /// The instrument reported an error in its SCPI error queue.
    #[error("{device}: instrument error {code},\"{message}\" after {command:?}")]
    Scpi {
        /// Device name.
        device: String,
        /// Command after which the error was read.
        command: String,
        /// SCPI error code (negative for standard errors).
        code: i32,
        /// Error message reported by the instrument.
        message: String,
    },
    /// The instrument reported an error in its own (non-SCPI) protocol,
    /// e.g. a motion controller's command error or positioner fault.
    #[error("{device}: instrument error {code} ({message}) after {command:?}")]
    Device {
        /// Device name.
        device: String,
        /// Command after which the error was read.
        command: String,
        /// Device-specific error code, as the device reports it.
        code: String,
        /// Meaning of the code, from the device's manual.
        message: String,
    },
    /// An argument given to a driver is out of the range the device accepts.
    #[error("{device}: invalid argument for {command:?}: {reason}")]
    InvalidArgument {
        /// Device name.
        device: String,
        /// Command that would have been sent.
        command: String,
        /// Why the argument was refused.
        reason: String,
    },
    /// Any other operating-system I/O error (opening a port, refused
    /// connection, ...).
    #[error("{device}: I/O error during {command:?}: {source}")]
    Io {
        /// Device name.
        device: String,
        /// Command (or `open ...` step) being executed.
        command: String,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
}

impl InstrumentError {
    /// The device name carried by the error.
    ///
    /// # Examples
    ///
    /// ```
    /// # let sim = smq_sim::SimInstrument::start(smq_sim::DmmModel::standalone(1)).unwrap();
    /// let mut conn = smq_instrument::Connection::tcp("dmm", sim.tcp_addr())?;
    /// sim.inject(smq_sim::Fault::Garbage);
    /// let err = conn.idn().unwrap_err();
    /// assert_eq!(err.device(), "dmm");
    /// assert_eq!(err.command(), "*IDN?");
    /// # Ok::<(), smq_instrument::InstrumentError>(())
    /// ```
    pub fn device(&self) -> &str {
        match self {
            Self::Timeout { device, .. }
            | Self::Disconnected { device, .. }
            | Self::Garbage { device, .. }
            | Self::Scpi { device, .. }
            | Self::Device { device, .. }
            | Self::InvalidArgument { device, .. }
            | Self::Io { device, .. } => device,
        }
    }

    /// The command carried by the error.
    ///
    /// # Examples
    ///
    /// ```
    /// let err = smq_instrument::InstrumentError::garbage("dmm", "READ?", b"\xff", "expected a number");
    /// assert_eq!(err.command(), "READ?");
    /// ```
    pub fn command(&self) -> &str {
        match self {
            Self::Timeout { command, .. }
            | Self::Disconnected { command, .. }
            | Self::Garbage { command, .. }
            | Self::Scpi { command, .. }
            | Self::Device { command, .. }
            | Self::InvalidArgument { command, .. }
            | Self::Io { command, .. } => command,
        }
    }

    /// True for [`InstrumentError::Timeout`].
    ///
    /// # Examples
    ///
    /// ```
    /// # let sim = smq_sim::SimInstrument::start(smq_sim::DmmModel::standalone(1)).unwrap();
    /// let mut conn = smq_instrument::Connection::tcp("dmm", sim.tcp_addr())?
    ///     .with_timeout(std::time::Duration::from_millis(100));
    /// sim.inject(smq_sim::Fault::NoReply);
    /// assert!(conn.query("READ?").unwrap_err().is_timeout());
    /// # Ok::<(), smq_instrument::InstrumentError>(())
    /// ```
    pub fn is_timeout(&self) -> bool {
        matches!(self, Self::Timeout { .. })
    }

    /// True for [`InstrumentError::Disconnected`]: the connection must be
    /// reopened before the device can be used again.
    ///
    /// # Examples
    ///
    /// ```
    /// # let sim = smq_sim::SimInstrument::start(smq_sim::DmmModel::standalone(1)).unwrap();
    /// let mut conn = smq_instrument::Connection::tcp("dmm", sim.tcp_addr())?;
    /// sim.inject(smq_sim::Fault::Disconnect);
    /// assert!(conn.query("READ?").unwrap_err().is_disconnected());
    /// # Ok::<(), smq_instrument::InstrumentError>(())
    /// ```
    pub fn is_disconnected(&self) -> bool {
        matches!(self, Self::Disconnected { .. })
    }

    /// Build a [`InstrumentError::Garbage`] from raw reply bytes.
    ///
    /// # Examples
    ///
    /// ```
    /// let err = smq_instrument::InstrumentError::garbage("dmm", "READ?", b"\x00+1.0", "expected a number");
    /// assert!(err.to_string().contains(r"\x00+1.0"));
    /// ```
    pub fn garbage(device: &str, command: &str, reply: &[u8], reason: impl Into<String>) -> Self {
        Self::Garbage {
            device: device.to_owned(),
            command: command.to_owned(),
            reply: escape_bytes(reply),
            reason: reason.into(),
        }
    }
}

/// Longest reply kept in a [`InstrumentError::Garbage`] message.
const MAX_ESCAPED: usize = 256;

/// Escape bytes for display: printable ASCII is kept, `\r`, `\n`, `\t`,
/// `\\` and `"` are escaped, everything else becomes `\xNN`. Long inputs are
/// cut after 256 bytes and end with `...`.
///
/// # Examples
///
/// ```
/// assert_eq!(smq_instrument::escape_bytes(b"+1.0E0\r\n\xff"), r"+1.0E0\r\n\xff");
/// ```
pub fn escape_bytes(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().min(MAX_ESCAPED) + 8);
    for &b in bytes.iter().take(MAX_ESCAPED) {
        match b {
            b'\n' => out.push_str("\\n"),
            b'\r' => out.push_str("\\r"),
            b'\t' => out.push_str("\\t"),
            b'\\' => out.push_str("\\\\"),
            b'"' => out.push_str("\\\""),
            0x20..=0x7e => out.push(char::from(b)),
            _ => {
                let _ = write!(out, "\\x{b:02x}");
            }
        }
    }
    if bytes.len() > MAX_ESCAPED {
        out.push_str("...");
    }
    out
}

/// Result alias used throughout instrument drivers.
///
/// # Examples
///
/// ```
/// fn volts() -> smq_instrument::Result<f64> {
///     Ok(1.5)
/// }
/// assert_eq!(volts().ok(), Some(1.5));
/// ```
pub type Result<T, E = InstrumentError> = std::result::Result<T, E>;
