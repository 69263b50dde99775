//! Any SCPI instrument, without a driver of its own.

use ndarray::Array1;
use std::str::FromStr;

use crate::block::{BlockElement, ByteOrder};
use crate::connection::Connection;
use crate::error::{InstrumentError, Result};
use crate::error_queue::ScpiErrorEntry;
use crate::idn::Identity;
use crate::instrument::Instrument;

/// Any SCPI instrument: commands and queries as text, numbers, IEEE 488.2 binary blocks
/// into arrays, and the common commands (`*IDN?`, `*RST`, `*CLS`, `*OPC?`, `*STB?`).
///
/// With [error checking](Self::with_error_checking) on, every [`write`](Self::write) and
/// query is followed by reading the error queue (`SYST:ERR?`) until it is empty, and the
/// first error fails the command with [`InstrumentError::Scpi`]: a command the instrument
/// refused is found at once, named. It is off by default (two exchanges more per command).
///
/// On a scheduler, [`ScpiDevice`](crate::ScpiDevice) puts it behind its own one-slot
/// queue.
///
/// # Examples
///
/// ```
/// use smq_instrument::{ByteOrder, Instrument, Scpi};
/// # let sim = smq_sim::SimInstrument::start(smq_sim::ScopeModel::standalone(1)).unwrap();
/// # let address = sim.socket_address();
/// let mut scope = Scpi::open(&address)?.with_error_checking(true);
/// scope.write(":WAV:SOUR CHAN1")?;
/// scope.write(":WAV:FORM BYTE")?;
/// let codes = scope.query_block::<u8>(":WAV:DATA?", ByteOrder::Little)?;
/// let dt = scope.query_f64(":WAV:XINC?")?;
/// assert_eq!(codes.len(), 1200);
/// assert!(dt > 0.0);
/// let err = scope.write(":NOT:A:COMMAND").unwrap_err();
/// assert_eq!(err.kind(), smq_instrument::ErrorKind::Instrument);
/// # Ok::<(), smq_instrument::InstrumentError>(())
/// ```
#[derive(Debug)]
pub struct Scpi {
    conn: Connection,
    check_errors: bool,
}

impl Scpi {
    /// A SCPI instrument over `conn`, error checking off.
    ///
    /// # Examples
    ///
    /// ```
    /// # let sim = smq_sim::SimInstrument::start(smq_sim::DmmModel::standalone(1)).unwrap();
    /// let conn = smq_instrument::Connection::tcp("meter", sim.tcp_addr())?;
    /// let mut meter = smq_instrument::Scpi::new(conn);
    /// assert!(meter.query_f64("READ?")?.is_finite());
    /// # Ok::<(), smq_instrument::InstrumentError>(())
    /// ```
    pub fn new(conn: Connection) -> Self {
        Self {
            conn,
            check_errors: false,
        }
    }

    /// Read the error queue after every command (builder style); see the type's docs.
    pub fn with_error_checking(mut self, on: bool) -> Self {
        self.check_errors = on;
        self
    }

    /// Turn error checking on or off.
    pub fn set_error_checking(&mut self, on: bool) {
        self.check_errors = on;
    }

    /// Whether the error queue is read after every command.
    pub fn error_checking(&self) -> bool {
        self.check_errors
    }

    fn checked<T>(&mut self, command: &str, r: Result<T>) -> Result<T> {
        let value = r?;
        if self.check_errors {
            self.conn.check_errors(command)?;
        }
        Ok(value)
    }

    /// Send a command that has no reply.
    ///
    /// # Errors
    ///
    /// The link's error, or the instrument's ([`InstrumentError::Scpi`]) with error
    /// checking on.
    pub fn write(&mut self, command: &str) -> Result<()> {
        let r = self.conn.write(command);
        self.checked(command, r)
    }

    /// Send a query and return its reply line, trimmed.
    ///
    /// # Errors
    ///
    /// As [`write`](Self::write); a timeout if no reply comes.
    pub fn query(&mut self, command: &str) -> Result<String> {
        let r = self.conn.query(command);
        self.checked(command, r)
    }

    /// Send a query and parse its reply as `T`.
    ///
    /// # Errors
    ///
    /// As [`query`](Self::query); [`InstrumentError::Garbage`] if the reply does not parse.
    pub fn query_parse<T: FromStr>(&mut self, command: &str) -> Result<T> {
        let r = self.conn.query_parse(command);
        self.checked(command, r)
    }

    /// Send a query and parse its reply as a number (`+1.23456E-01`).
    ///
    /// # Errors
    ///
    /// As [`query_parse`](Self::query_parse).
    pub fn query_f64(&mut self, command: &str) -> Result<f64> {
        self.query_parse(command)
    }

    /// Send a query whose reply is an IEEE 488.2 binary block, and decode it into samples
    /// of type `T` in byte order `order`.
    ///
    /// # Errors
    ///
    /// As [`query`](Self::query); [`InstrumentError::Garbage`] if the block is malformed or
    /// its length is not a whole number of samples.
    pub fn query_block<T: BlockElement>(
        &mut self,
        command: &str,
        order: ByteOrder,
    ) -> Result<Array1<T>> {
        let r = self.conn.query_array(command, order);
        self.checked(command, r)
    }

    /// `*IDN?`, parsed.
    ///
    /// # Errors
    ///
    /// As [`query`](Self::query); [`InstrumentError::Garbage`] if the reply is not four
    /// fields.
    pub fn idn(&mut self) -> Result<Identity> {
        let r = self.conn.idn();
        self.checked("*IDN?", r)
    }

    /// `*RST` then `*CLS`: the instrument's reset state and an empty error queue; then the
    /// error queue is read, so that a reset the instrument refused is reported
    /// ([`Instrument::reset`]).
    ///
    /// # Errors
    ///
    /// As [`write`](Self::write); [`InstrumentError::Scpi`] if the instrument reports an
    /// error.
    pub fn reset(&mut self) -> Result<()> {
        Instrument::reset(self)
    }

    /// `*CLS`: clear the status registers and the error queue.
    ///
    /// # Errors
    ///
    /// As [`write`](Self::write).
    pub fn clear_status(&mut self) -> Result<()> {
        self.write("*CLS")
    }

    /// `*OPC?`: wait until every command sent before has completed (the instrument answers
    /// `1` then), at most the connection's timeout.
    ///
    /// # Errors
    ///
    /// A timeout if the operations take longer; [`InstrumentError::Garbage`] if the
    /// answer is not `1`.
    ///
    /// # Examples
    ///
    /// ```
    /// use smq_instrument::{Instrument, Scpi};
    /// # let sim = smq_sim::SimInstrument::start(smq_sim::DmmModel::standalone(1)).unwrap();
    /// let mut dmm = Scpi::open(&sim.socket_address())?;
    /// dmm.write("CONF:VOLT:DC 10")?;
    /// dmm.wait()?;
    /// # Ok::<(), smq_instrument::InstrumentError>(())
    /// ```
    pub fn wait(&mut self) -> Result<()> {
        let reply = self.query("*OPC?")?;
        if reply.trim_start_matches('+') == "1" {
            Ok(())
        } else {
            Err(self.conn.garbage("*OPC?", reply.as_bytes(), "expected 1"))
        }
    }

    /// Read the error queue until it is empty (`SYST:ERR?`); the errors found, oldest first.
    ///
    /// # Errors
    ///
    /// The link's error.
    pub fn errors(&mut self) -> Result<Vec<ScpiErrorEntry>> {
        self.conn.drain_errors()
    }

    /// The status byte: by the link's own means where it has one (VXI-11, USBTMC), else
    /// `*STB?`.
    ///
    /// # Errors
    ///
    /// The link's error; [`InstrumentError::Garbage`] if `*STB?` is not answered with a
    /// number from 0 to 255.
    pub fn status_byte(&mut self) -> Result<u8> {
        self.conn.read_status_byte()
    }
}

impl Instrument for Scpi {
    const NAME: &'static str = "scpi";

    fn from_connection(conn: Connection) -> Result<Self> {
        Ok(Self::new(conn))
    }

    fn connection(&mut self) -> &mut Connection {
        &mut self.conn
    }

    fn connection_ref(&self) -> &Connection {
        &self.conn
    }
}

impl Scpi {
    /// The name used in errors (the connection's).
    pub fn name(&self) -> &str {
        self.conn.name()
    }

    /// An [`InstrumentError::InvalidArgument`] naming this instrument, for a driver that
    /// refuses an argument before sending `command`.
    pub fn invalid_argument(&self, command: &str, reason: &str) -> InstrumentError {
        InstrumentError::InvalidArgument {
            device: self.conn.name().to_owned(),
            command: command.to_owned(),
            reason: reason.to_owned(),
        }
    }
}
