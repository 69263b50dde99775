//! SCPI conveniences: identification and the error queue.

use crate::error::{InstrumentError, Result};
use crate::error_queue::ScpiErrorEntry;
use crate::idn::Identity;

use super::{Connection, MAX_ERRORS};

impl Connection {
    /// `*IDN?`, parsed.
    ///
    /// # Examples
    ///
    /// ```
    /// # let sim = smq_sim::SimInstrument::start(smq_sim::DmmModel::standalone(1)).unwrap();
    /// let mut conn = smq_instrument::Connection::tcp("dmm", sim.tcp_addr())?;
    /// let id = conn.idn()?;
    /// assert_eq!((id.manufacturer.as_str(), id.model.as_str()), ("HEWLETT-PACKARD", "34401A"));
    /// # Ok::<(), smq_instrument::InstrumentError>(())
    /// ```
    pub fn idn(&mut self) -> Result<Identity> {
        let line = self.query("*IDN?")?;
        line.parse().map_err(|e: crate::idn::IdentityParseError| {
            self.garbage("*IDN?", line.as_bytes(), e.to_string())
        })
    }

    /// The status byte: by the link's own means where it has one (VXI-11
    /// `device_readstb`, USB488 `READ_STATUS_BYTE`), else `*STB?`.
    ///
    /// # Examples
    ///
    /// ```
    /// # let sim = smq_sim::SimInstrument::start(smq_sim::DmmModel::standalone(1)).unwrap();
    /// let mut conn = smq_instrument::Connection::open_str("dmm", &sim.vxi11_address())?;
    /// assert_eq!(conn.read_status_byte()? & 0x10, 0); // no message waiting
    /// # Ok::<(), smq_instrument::InstrumentError>(())
    /// ```
    pub fn read_status_byte(&mut self) -> Result<u8> {
        self.recover("*STB?")?;
        let timeout = self.timeout;
        match self.transport.read_status_byte(timeout) {
            Ok(Some(stb)) => Ok(stb),
            Ok(None) => {
                let line = self.query("*STB?")?;
                line.trim_start_matches('+').parse().map_err(|_| {
                    self.garbage("*STB?", line.as_bytes(), "expected a number from 0 to 255")
                })
            }
            Err(e) => {
                let e = self.io_error("*STB?", e);
                self.note_failure(&e);
                Err(e)
            }
        }
    }

    /// Read one entry of the error queue (`SYST:ERR?`).
    ///
    /// # Examples
    ///
    /// ```
    /// # let sim = smq_sim::SimInstrument::start(smq_sim::DmmModel::standalone(1)).unwrap();
    /// let mut conn = smq_instrument::Connection::tcp("dmm", sim.tcp_addr())?;
    /// conn.write("BOGUS")?;
    /// assert_eq!(conn.next_error()?.code, -113);
    /// assert!(conn.next_error()?.is_no_error());
    /// # Ok::<(), smq_instrument::InstrumentError>(())
    /// ```
    pub fn next_error(&mut self) -> Result<ScpiErrorEntry> {
        let line = self.query("SYST:ERR?")?;
        line.parse().map_err(|_| {
            self.garbage(
                "SYST:ERR?",
                line.as_bytes(),
                "expected <code>,\"<message>\"",
            )
        })
    }

    /// Read the error queue until `0,"No error"`; returns the errors found
    /// (oldest first).
    ///
    /// # Examples
    ///
    /// ```
    /// # let sim = smq_sim::SimInstrument::start(smq_sim::DmmModel::standalone(1)).unwrap();
    /// let mut conn = smq_instrument::Connection::tcp("dmm", sim.tcp_addr())?;
    /// conn.write("BOGUS")?;
    /// conn.write("VOLT:DC:NPLC 7000")?;
    /// let codes: Vec<i32> = conn.drain_errors()?.iter().map(|e| e.code).collect();
    /// assert_eq!(codes, vec![-113, -222]);
    /// # Ok::<(), smq_instrument::InstrumentError>(())
    /// ```
    pub fn drain_errors(&mut self) -> Result<Vec<ScpiErrorEntry>> {
        let mut errors = Vec::new();
        for _ in 0..MAX_ERRORS {
            let e = self.next_error()?;
            if e.is_no_error() {
                return Ok(errors);
            }
            errors.push(e);
        }
        Err(self.garbage(
            "SYST:ERR?",
            b"",
            format!("error queue still not empty after {MAX_ERRORS} reads"),
        ))
    }

    /// Empty the error queue and fail with [`InstrumentError::Scpi`] (the
    /// oldest error, reported against `after`) if it held anything.
    ///
    /// # Examples
    ///
    /// ```
    /// # let sim = smq_sim::SimInstrument::start(smq_sim::DmmModel::standalone(1)).unwrap();
    /// let mut conn = smq_instrument::Connection::tcp("dmm", sim.tcp_addr())?;
    /// conn.write("CONF:VOLT:DC 5000")?;
    /// let err = conn.check_errors("CONF:VOLT:DC 5000").unwrap_err();
    /// assert!(matches!(err, smq_instrument::InstrumentError::Scpi { code: -222, .. }));
    /// # Ok::<(), smq_instrument::InstrumentError>(())
    /// ```
    pub fn check_errors(&mut self, after: &str) -> Result<()> {
        let errors = self.drain_errors()?;
        match errors.into_iter().next() {
            None => Ok(()),
            Some(e) => Err(InstrumentError::Scpi {
                device: self.name.clone(),
                command: after.to_owned(),
                code: e.code,
                message: e.message,
            }),
        }
    }
}
