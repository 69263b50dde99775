//! What a simulated instrument is made of: its protocol ([`Model`]) and the state its
//! handle and the tasks serving its links share.

use std::collections::VecDeque;
use std::path::PathBuf;
use std::sync::{Condvar, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use tokio::sync::Notify;

use crate::fault::Fault;

/// The protocol side of a simulated instrument: turns command lines into
/// replies.
///
/// # Examples
///
/// ```
/// use smq_sim::{Model, SimInstrument};
///
/// /// A power supply that only knows `*IDN?`.
/// struct Psu;
///
/// impl Model for Psu {
///     fn name(&self) -> &'static str {
///         "psu"
///     }
///     fn handle(&mut self, line: &str) -> Option<Vec<u8>> {
///         (line == "*IDN?").then(|| b"ACME,PSU-1,7,1.0".to_vec())
///     }
/// }
///
/// let sim = SimInstrument::start(Psu).unwrap();
/// let mut conn = smq_instrument::Connection::tcp("psu", sim.tcp_addr()).unwrap();
/// assert_eq!(conn.idn().unwrap().model, "PSU-1");
/// ```
pub trait Model: Send + 'static {
    /// Short name of the instrument (used for the thread name).
    fn name(&self) -> &'static str;
    /// Terminator appended to every reply.
    fn reply_terminator(&self) -> &'static [u8] {
        b"\n"
    }
    /// Handle one command line (without terminator, trimmed); return the
    /// reply bytes (without terminator), or `None` for commands that do not
    /// reply.
    fn handle(&mut self, line: &str) -> Option<Vec<u8>>;
    /// Push an entry into the instrument's SCPI error queue; returns
    /// `false` for instruments without one (the default).
    fn push_scpi_error(&mut self, code: i32, message: &str) -> bool {
        let _ = (code, message);
        false
    }
    /// Whether the instrument also answers over VXI-11 (true by default: SCPI
    /// instruments on a LAN do; a serial-only controller does not).
    fn vxi11(&self) -> bool {
        true
    }
    /// Called when the instrument is switched on again by
    /// [`SimInstrument::power_cycle`](crate::SimInstrument::power_cycle); by default nothing changes (the instrument keeps
    /// its settings, as one with non-volatile settings).
    fn power_on(&mut self) {}
}

/// Lock a mutex, ignoring poisoning (the protected state stays usable).
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Counters the handle can wait on.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct Progress {
    /// The links are up: listeners bound, pseudo-terminal in place.
    pub(crate) plugged: bool,
    /// The supervisor has finished (the handle was dropped).
    pub(crate) stopped: bool,
    /// Client links open (TCP clients, VXI-11 connections), not counting the
    /// pseudo-terminal.
    pub(crate) links: usize,
    /// Device clears received (VXI-11 `device_clear`).
    pub(crate) clears: u64,
    /// The last plug-in failed (the instrument stays unplugged).
    pub(crate) plug_failed: bool,
    /// Commands received and not yet fully answered.
    pub(crate) busy: usize,
    /// Replies the simulator has started to write (counted before the
    /// first byte goes out).
    pub(crate) started: u64,
    /// Replies completely written.
    pub(crate) replies: u64,
    /// Replies ready to be written but withheld by a hold.
    pub(crate) held: usize,
}

/// How many received command lines [`SimInstrument::received`] keeps.
const RECEIVED_KEPT: usize = 1000;

/// State shared between the handle and the tasks serving the instrument.
pub(crate) struct Shared<M> {
    pub(crate) model: Mutex<M>,
    pub(crate) faults: Mutex<VecDeque<Fault>>,
    pub(crate) latency: Mutex<Duration>,
    /// Latency of commands starting with a given text (upper case).
    pub(crate) command_latency: Mutex<Vec<(String, Duration)>>,
    /// The pseudo-terminal's path (empty while unplugged).
    pub(crate) pty_path: Mutex<String>,
    /// The stable path: a symbolic link to the current pseudo-terminal.
    pub(crate) serial_link: PathBuf,
    /// The hold on replies: `None` while not holding, else how many more replies may be
    /// written before the following ones are withheld. See [`SimInstrument::hold_after`](crate::SimInstrument::hold_after).
    pub(crate) hold: Mutex<Option<u64>>,
    /// Woken when the hold changes (see the `link` module's protocol).
    pub(crate) released: Notify,
    /// The last command lines received, oldest first.
    pub(crate) received: Mutex<VecDeque<String>>,
    /// Work in progress and replies sent so far.
    pub(crate) progress: Mutex<Progress>,
    pub(crate) changed: Condvar,
}

impl<M> Shared<M> {
    /// The latency of the reply to `line`.
    pub(crate) fn latency_of(&self, line: &str) -> Duration {
        let upper = line.to_ascii_uppercase();
        let general = *lock(&self.latency);
        lock(&self.command_latency)
            .iter()
            .find(|(k, _)| upper.starts_with(k.as_str()))
            .map_or(general, |(_, d)| *d)
    }

    /// Keep `lines` in the log of received commands.
    pub(crate) fn note_received(&self, lines: &[String]) {
        let mut log = lock(&self.received);
        for l in lines {
            if log.len() == RECEIVED_KEPT {
                log.pop_front();
            }
            log.push_back(l.clone());
        }
    }

    /// Run `f` on the progress counters and wake whoever waits on them.
    pub(crate) fn update(&self, f: impl FnOnce(&mut Progress)) {
        let mut p = lock(&self.progress);
        f(&mut p);
        self.changed.notify_all();
    }
}
