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
    /// The link's own protocol was broken: a USBTMC header with the wrong tag, an RPC
    /// reply that does not decode, a VXI-11 error code. The instrument may be fine; the
    /// exchange is lost.
    #[error("{device}: protocol error during {command:?}: {reason}")]
    Protocol {
        /// Device name.
        device: String,
        /// Command being executed.
        command: String,
        /// What went wrong, in the protocol's terms.
        reason: String,
    },
    /// The address the device was to be opened at cannot be parsed.
    #[error("{device}: {source}")]
    Address {
        /// Device name.
        device: String,
        /// What is wrong with the address.
        #[source]
        source: crate::address::AddressError,
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
            | Self::Protocol { device, .. }
            | Self::Address { device, .. }
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
            | Self::Protocol { command, .. }
            | Self::Io { command, .. } => command,
            Self::Address { .. } => "open",
        }
    }

    /// What kind of failure this is, to decide what to do about it (retry, reconnect,
    /// fix the command, give up) without parsing messages.
    ///
    /// # Examples
    ///
    /// ```
    /// use smq_instrument::{ErrorKind, InstrumentError};
    /// let err = InstrumentError::Scpi {
    ///     device: "dmm".into(),
    ///     command: "CONF:VOLT:DC 5000".into(),
    ///     code: -222,
    ///     message: "Data out of range".into(),
    /// };
    /// assert_eq!(err.kind(), ErrorKind::Instrument);
    /// ```
    pub fn kind(&self) -> ErrorKind {
        match self {
            Self::Timeout { .. } => ErrorKind::Timeout,
            Self::Disconnected { .. } => ErrorKind::Disconnected,
            Self::Garbage { .. } | Self::Protocol { .. } => ErrorKind::Protocol,
            Self::Scpi { .. } | Self::Device { .. } => ErrorKind::Instrument,
            Self::InvalidArgument { .. } | Self::Address { .. } => ErrorKind::Usage,
            Self::Io { source, .. } if source.kind() == std::io::ErrorKind::NotConnected => {
                ErrorKind::Disconnected
            }
            Self::Io { .. } => ErrorKind::Io,
        }
    }

    /// The instrument error a failed task of a [`Device`](crate::Device) carries, if the
    /// task failed with one: a task's error keeps the error value, so that a caller can
    /// match on its [`kind`](Self::kind). `None` for other failures (an input that failed,
    /// a cancelled task, an error of another type).
    ///
    /// # Examples
    ///
    /// ```
    /// use smq_instrument::{Connection, Device, ErrorKind, InstrumentError};
    /// # let sim = smq_sim::SimInstrument::start(smq_sim::DmmModel::standalone(1)).unwrap();
    /// let sch = smq_instrument::smqsched::Scheduler::new();
    /// let dmm = Device::new(&sch, "dmm", Connection::open_str("dmm", &sim.vxi11_address())?)?;
    /// sch.start();
    /// let bad = dmm.submit("bogus", |c: &mut Connection| c.query_parse::<f64>("*IDN?"));
    /// let err = bad.result().unwrap_err();
    /// assert_eq!(InstrumentError::of(&err).map(|e| e.kind()), Some(ErrorKind::Protocol));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn of(error: &smqsched::TaskError) -> Option<&InstrumentError> {
        error.downcast_ref::<InstrumentError>()
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

    /// True for errors of kind [`ErrorKind::Disconnected`]: the link is gone
    /// ([`InstrumentError::Disconnected`]), or could not be opened again after it was lost.
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
        self.kind() == ErrorKind::Disconnected
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
            command: command_text(command),
            reply: escape_bytes(reply),
            reason: reason.into(),
        }
    }
}

/// The kind of an [`InstrumentError`], from [`InstrumentError::kind`].
///
/// # Examples
///
/// ```
/// # let sim = smq_sim::SimInstrument::start(smq_sim::DmmModel::standalone(1)).unwrap();
/// use smq_instrument::{Connection, ErrorKind};
/// let mut conn = Connection::tcp("dmm", sim.tcp_addr())?
///     .with_timeout(std::time::Duration::from_millis(100));
/// sim.inject(smq_sim::Fault::NoReply);
/// match conn.query("READ?").map_err(|e| e.kind()) {
///     Err(ErrorKind::Timeout) => {} // retry later
///     other => panic!("{other:?}"),
/// }
/// # Ok::<(), smq_instrument::InstrumentError>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// No complete reply in time ([`InstrumentError::Timeout`]).
    Timeout,
    /// The link is gone ([`InstrumentError::Disconnected`]): unplugged, switched off,
    /// closed by the other side; or it could not be opened again after it was lost
    /// ([`InstrumentError::Io`] with [`std::io::ErrorKind::NotConnected`]).
    Disconnected,
    /// A reply or a link-level message that does not follow the protocol
    /// ([`InstrumentError::Garbage`], [`InstrumentError::Protocol`]).
    Protocol,
    /// The instrument refused a command or reports a fault ([`InstrumentError::Scpi`],
    /// [`InstrumentError::Device`]).
    Instrument,
    /// The program asked for something invalid: an argument out of range, an address that
    /// cannot be parsed ([`InstrumentError::InvalidArgument`], [`InstrumentError::Address`]).
    Usage,
    /// Any other operating-system error ([`InstrumentError::Io`]): a port that does not
    /// exist or is busy, a refused connection.
    Io,
}

/// Longest reply kept in a [`InstrumentError::Garbage`] message.
const MAX_ESCAPED: usize = 256;

/// Longest command kept in an error: a long command (a waveform upload) is cut.
const MAX_COMMAND: usize = 200;

/// `command` as errors keep it: cut after 200 bytes (at a character boundary), with `...`.
pub(crate) fn command_text(command: &str) -> String {
    if command.len() <= MAX_COMMAND {
        return command.to_owned();
    }
    let mut end = MAX_COMMAND;
    while !command.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}...", &command[..end])
}

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
