//! Recovering a link in trouble before the next command.
//!
//! # Protocol
//!
//! 1. An exchange that fails marks what the link needs, in `Connection::recovery`:
//!    [`Recovery::Reconnect`] when the link is gone (the error is
//!    [`InstrumentError::Disconnected`]), [`Recovery::Clear`] when a reply did not come in
//!    time ([`InstrumentError::Timeout`]: the instrument may be stuck in the middle of a
//!    reply, or still busy with the command). The failing command reports that error, typed;
//!    nothing is retried behind its back.
//! 2. The next command ([`Connection::write`], and so every query) first asks the link
//!    whether it is still there ([`Transport::check_alive`](crate::Transport::check_alive),
//!    without waiting): a link lost while idle, such as an instrument power-cycled between
//!    two commands, is marked `Reconnect` then, before anything is sent on it.
//! 3. `Reconnect`: the old link is dropped (closing its port), then the address is opened
//!    again, at most [`Reconnect::attempts`](super::Reconnect) times with growing waits
//!    between them. If every attempt fails, the command fails with an error of kind
//!    [`ErrorKind::Disconnected`](crate::ErrorKind) saying so, and the mark stays: the
//!    command after tries again. A connection not opened from an address cannot reconnect.
//! 4. Then (after a reconnect, or for `Clear`): a device clear by the link's own means
//!    ([`Transport::device_clear`](crate::Transport::device_clear)), the input received so
//!    far is discarded, and the recovery commands (`*CLS` by default) are sent. A clear that
//!    finds the link gone turns into a reconnect (once); one that times out fails the
//!    command with the timeout, and the mark stays.
//! 5. Only then is the command sent. A recovered link is clean: no late reply of the
//!    command that failed can be taken for the reply of the next one.
//!
//! Correctness requires that recovery commands never reply (true of `*CLS`), since nothing
//! reads a reply to them.

use crate::error::{InstrumentError, Result};
use crate::transport::is_disconnect;

use super::open::open_transport;
use super::{Connection, Recovery};

impl Connection {
    /// Recover the link if a previous exchange left it in trouble (steps 2 to 4 of the
    /// protocol); `command` is the command about to be sent, for errors.
    pub(super) fn recover(&mut self, command: &str) -> Result<()> {
        if self.recovery == Recovery::None
            && self.opener.is_some()
            && let Err(e) = self.transport.check_alive()
            && is_disconnect(&e)
        {
            // Lost while idle (step 2): nothing was sent on the dead link.
            self.recovery = Recovery::Reconnect;
        }
        if self.recovery == Recovery::Reconnect {
            self.reconnect(command)?;
        }
        if self.recovery == Recovery::Clear {
            match self.clear_device(command) {
                Err(e) if e.is_disconnected() => {
                    self.recovery = Recovery::Reconnect;
                    self.reconnect(command)?;
                    self.clear_device(command)?;
                }
                other => other?,
            }
        }
        Ok(())
    }

    /// Step 3: open the address again, with bounded retries and backoff.
    fn reconnect(&mut self, command: &str) -> Result<()> {
        let Some(opener) = self.opener.clone() else {
            return Err(InstrumentError::Disconnected {
                device: self.name.clone(),
                command: command.to_owned(),
            });
        };
        // Close the old link first: an exclusive serial port can then be opened again.
        self.transport = Box::new(Closed);
        let mut last = None;
        let mut tries = 0;
        for delay in opener.options.reconnect.delays() {
            std::thread::sleep(delay);
            tries += 1;
            match open_transport(&self.name, &opener.address, &opener.options) {
                Ok(t) => {
                    self.transport = t;
                    self.reconnects += 1;
                    self.recovery = Recovery::Clear;
                    return Ok(());
                }
                Err(e) => last = Some(e),
            }
        }
        let why = last.map_or_else(|| "reconnecting is disabled".to_owned(), |e| e.to_string());
        Err(InstrumentError::Io {
            device: self.name.clone(),
            command: command.to_owned(),
            source: std::io::Error::new(
                std::io::ErrorKind::NotConnected,
                format!(
                    "the link to {} is lost and {tries} attempt(s) to open it again failed: {why}",
                    opener.address
                ),
            ),
        })
    }

    /// Step 4: device clear, discard input, recovery commands.
    fn clear_device(&mut self, command: &str) -> Result<()> {
        let timeout = self.timeout;
        self.rx.clear();
        self.skip_term = false;
        self.transport
            .device_clear(timeout)
            .map_err(|e| self.io_error(command, e))?;
        self.transport
            .clear()
            .map_err(|e| self.io_error(command, e))?;
        let commands = self.opener.as_ref().map_or_else(
            || vec!["*CLS".to_owned()],
            |o| o.options.recovery_commands.clone(),
        );
        for c in &commands {
            self.send(c)?;
        }
        self.dirty = false;
        self.recovery = Recovery::None;
        Ok(())
    }

    /// Ask the instrument for a device clear now (see
    /// [`Transport::device_clear`](crate::Transport::device_clear)), discard the input
    /// received and send the recovery commands (`*CLS` by default).
    ///
    /// # Errors
    ///
    /// The link's error.
    ///
    /// # Examples
    ///
    /// ```
    /// # let sim = smq_sim::SimInstrument::start(smq_sim::DmmModel::standalone(1)).unwrap();
    /// let mut dmm = smq_instrument::Connection::open_str("dmm", &sim.vxi11_address())?;
    /// dmm.device_clear()?;
    /// assert_eq!(dmm.idn()?.model, "34401A");
    /// # Ok::<(), smq_instrument::InstrumentError>(())
    /// ```
    pub fn device_clear(&mut self) -> Result<()> {
        self.clear_device("device clear")
    }

    /// How many times the link was opened again after it was lost.
    ///
    /// # Examples
    ///
    /// ```
    /// # let sim = smq_sim::SimInstrument::start(smq_sim::DmmModel::standalone(1)).unwrap();
    /// let mut dmm = smq_instrument::Connection::tcp("dmm", sim.tcp_addr())?;
    /// sim.inject(smq_sim::Fault::Disconnect);
    /// assert!(dmm.query("READ?").unwrap_err().is_disconnected());
    /// assert!(dmm.query_parse::<f64>("READ?").is_ok()); // reconnected first
    /// assert_eq!(dmm.reconnects(), 1);
    /// # Ok::<(), smq_instrument::InstrumentError>(())
    /// ```
    pub fn reconnects(&self) -> u64 {
        self.reconnects
    }
}

/// The link of a connection between dropping a lost link and opening a new one.
struct Closed;

impl crate::transport::Transport for Closed {
    fn read(&mut self, _: &mut [u8], _: std::time::Duration) -> std::io::Result<usize> {
        Err(std::io::ErrorKind::NotConnected.into())
    }
    fn write_all(&mut self, _: &[u8], _: std::time::Duration) -> std::io::Result<()> {
        Err(std::io::ErrorKind::NotConnected.into())
    }
    fn clear(&mut self) -> std::io::Result<()> {
        Ok(())
    }
    fn describe(&self) -> String {
        "closed".into()
    }
}
