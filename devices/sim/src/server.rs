//! The handle of a simulated instrument and the protocol trait it runs.

use std::collections::VecDeque;
use std::io;
use std::net::{SocketAddr, TcpListener};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;
use std::time::Duration;

use crate::endpoint::Pty;
use crate::event_loop::Server;
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
}

/// Lock a mutex, ignoring poisoning (the protected state stays usable).
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Counters the handle can wait on.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct Progress {
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

/// State shared between the handle and the thread.
pub(crate) struct Shared<M> {
    pub(crate) model: Mutex<M>,
    pub(crate) faults: Mutex<VecDeque<Fault>>,
    pub(crate) latency: Mutex<Duration>,
    /// Latency of commands starting with a given text (upper case).
    pub(crate) command_latency: Mutex<Vec<(String, Duration)>>,
    pub(crate) pty_path: Mutex<String>,
    pub(crate) stop: AtomicBool,
    /// The hold on replies: `None` while not holding, else how many more replies may be
    /// written before the following ones are withheld. See [`SimInstrument::hold_after`].
    pub(crate) hold: Mutex<Option<u64>>,
    /// Work in progress and replies sent so far.
    pub(crate) progress: Mutex<Progress>,
    pub(crate) changed: Condvar,
}

/// A simulated instrument running on its own thread, reachable through a
/// pseudo-terminal ([`pty_path`](Self::pty_path)) and a TCP socket on
/// 127.0.0.1 ([`tcp_addr`](Self::tcp_addr)). Dropping the handle stops the
/// thread and closes both.
///
/// # Examples
///
/// ```
/// use smq_sim::{DmmModel, SimInstrument};
/// use smq_instrument::Connection;
///
/// let sim = SimInstrument::start(DmmModel::standalone(1)).unwrap();
/// let mut conn = Connection::tcp("dmm", sim.tcp_addr()).unwrap();
/// assert_eq!(conn.idn().unwrap().model, "34401A");
/// ```
pub struct SimInstrument<M: Model> {
    shared: Arc<Shared<M>>,
    addr: SocketAddr,
    thread: Option<JoinHandle<()>>,
}

impl<M: Model> std::fmt::Debug for SimInstrument<M> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SimInstrument")
            .field("pty", &self.pty_path())
            .field("tcp", &self.addr)
            .finish_non_exhaustive()
    }
}

impl<M: Model> SimInstrument<M> {
    /// Start `model` on a new thread with a fresh pseudo-terminal and a TCP
    /// listener on an ephemeral port of 127.0.0.1.
    ///
    /// # Examples
    ///
    /// ```
    /// use smq_sim::{SimInstrument, StageModel};
    /// let sim = SimInstrument::start(StageModel::standalone()).unwrap();
    /// println!("stage on {} and {}", sim.pty_path(), sim.tcp_addr());
    /// ```
    pub fn start(model: M) -> io::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        listener.set_nonblocking(true)?;
        let addr = listener.local_addr()?;
        let pty = Pty::new()?;
        let shared = Arc::new(Shared {
            model: Mutex::new(model),
            faults: Mutex::new(VecDeque::new()),
            latency: Mutex::new(Duration::ZERO),
            command_latency: Mutex::new(Vec::new()),
            pty_path: Mutex::new(pty.path.clone()),
            stop: AtomicBool::new(false),
            hold: Mutex::new(None),
            progress: Mutex::new(Progress::default()),
            changed: Condvar::new(),
        });
        let name = lock(&shared.model).name();
        let s = Arc::clone(&shared);
        let thread = std::thread::Builder::new()
            .name(format!("sim-{name}"))
            .spawn(move || Server::new(s, listener, pty).run())?;
        Ok(Self {
            shared,
            addr,
            thread: Some(thread),
        })
    }

    /// Path of the slave side of the pseudo-terminal (e.g. `/dev/pts/7`),
    /// to be opened as a serial port.
    ///
    /// # Examples
    ///
    /// ```
    /// let sim = smq_sim::SimInstrument::start(smq_sim::DmmModel::standalone(1)).unwrap();
    /// let dmm = smq_instrument::Connection::serial(
    ///     "dmm", &sim.pty_path(), &smq_instrument::SerialConfig::default()).unwrap();
    /// ```
    pub fn pty_path(&self) -> String {
        lock(&self.shared.pty_path).clone()
    }

    /// Address of the TCP listener.
    ///
    /// # Examples
    ///
    /// ```
    /// let sim = smq_sim::SimInstrument::start(smq_sim::DmmModel::standalone(1)).unwrap();
    /// assert!(sim.tcp_addr().ip().is_loopback());
    /// ```
    pub fn tcp_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Queue a one-shot fault for the next reply.
    ///
    /// # Examples
    ///
    /// ```
    /// let sim = smq_sim::SimInstrument::start(smq_sim::DmmModel::standalone(1)).unwrap();
    /// let mut dmm = smq_instrument::Connection::tcp("dmm", sim.tcp_addr()).unwrap();
    /// sim.inject(smq_sim::Fault::Garbage);
    /// assert!(dmm.query_parse::<f64>("READ?").is_err());
    /// assert!(dmm.query_parse::<f64>("READ?").is_ok());
    /// ```
    pub fn inject(&self, fault: Fault) {
        lock(&self.shared.faults).push_back(fault);
    }

    /// Forget all queued faults.
    ///
    /// # Examples
    ///
    /// ```
    /// let sim = smq_sim::SimInstrument::start(smq_sim::DmmModel::standalone(1)).unwrap();
    /// sim.inject(smq_sim::Fault::NoReply);
    /// sim.clear_faults();
    /// let mut dmm = smq_instrument::Connection::tcp("dmm", sim.tcp_addr()).unwrap();
    /// assert!(dmm.idn().is_ok());
    /// ```
    pub fn clear_faults(&self) {
        lock(&self.shared.faults).clear();
    }

    /// Set the latency added before every reply.
    ///
    /// # Examples
    ///
    /// ```
    /// let sim = smq_sim::SimInstrument::start(smq_sim::DmmModel::standalone(1)).unwrap();
    /// sim.set_latency(std::time::Duration::from_millis(5));
    /// ```
    pub fn set_latency(&self, latency: Duration) {
        *lock(&self.shared.latency) = latency;
    }

    /// Set the latency of the replies to commands that start with
    /// `command` (case-insensitive, e.g. `"READ?"` or `":WAV:DATA?"`),
    /// replacing the general latency for them. The longest matching prefix
    /// wins.
    ///
    /// ```
    /// use smq_sim::{DmmModel, SimInstrument};
    /// use std::time::Duration;
    /// let sim = SimInstrument::start(DmmModel::standalone(1)).unwrap();
    /// sim.set_command_latency("READ?", Duration::from_millis(20));
    /// ```
    pub fn set_command_latency(&self, command: &str, latency: Duration) {
        let key = command.trim().to_ascii_uppercase();
        let mut table = lock(&self.shared.command_latency);
        table.retain(|(k, _)| *k != key);
        table.push((key, latency));
        table.sort_by_key(|(k, _)| std::cmp::Reverse(k.len()));
    }

    /// Push an entry into the instrument's SCPI error queue, as if a
    /// command had failed; returns `false` if the instrument has no SCPI
    /// error queue.
    ///
    /// ```
    /// use smq_sim::{DmmModel, SimInstrument};
    /// let sim = SimInstrument::start(DmmModel::standalone(1)).unwrap();
    /// assert!(sim.push_error(-310, "System error"));
    /// let mut dmm = smq_instrument::Connection::tcp("dmm", sim.tcp_addr()).unwrap();
    /// assert_eq!(dmm.next_error().unwrap().code, -310);
    /// ```
    pub fn push_error(&self, code: i32, message: &str) -> bool {
        lock(&self.shared.model).push_scpi_error(code, message)
    }

    /// Run `f` on the instrument model (to inspect or change its state).
    ///
    /// # Examples
    ///
    /// ```
    /// let sim = smq_sim::SimInstrument::start(smq_sim::DmmModel::standalone(1)).unwrap();
    /// sim.with_model(|m| m.push_error(-350, "Queue overflow"));
    /// let mut dmm = smq_instrument::Connection::tcp("dmm", sim.tcp_addr()).unwrap();
    /// assert_eq!(dmm.next_error().unwrap().code, -350);
    /// ```
    pub fn with_model<R>(&self, f: impl FnOnce(&mut M) -> R) -> R {
        f(&mut lock(&self.shared.model))
    }

    /// Wait until every command received so far has been answered (replies
    /// written, including delayed ones), at most `timeout`. Returns `true`
    /// when idle. Commands still in transit are not known to the simulator;
    /// use [`wait_replies`](Self::wait_replies) to wait for a given reply.
    ///
    /// # Examples
    ///
    /// ```
    /// let sim = smq_sim::SimInstrument::start(smq_sim::DmmModel::standalone(1)).unwrap();
    /// let mut dmm = smq_instrument::Connection::tcp("dmm", sim.tcp_addr()).unwrap();
    /// dmm.idn().unwrap();
    /// assert!(sim.wait_idle(std::time::Duration::from_secs(1)));
    /// ```
    pub fn wait_idle(&self, timeout: Duration) -> bool {
        self.wait_for(timeout, |p| p.busy == 0)
    }

    /// Number of replies sent so far, counting a reply as soon as the
    /// simulator starts writing it (swallowed replies, see
    /// [`Fault::NoReply`], do not count). Every reply a client has received
    /// is counted.
    ///
    /// # Examples
    ///
    /// ```
    /// let sim = smq_sim::SimInstrument::start(smq_sim::DmmModel::standalone(1)).unwrap();
    /// let mut dmm = smq_instrument::Connection::tcp("dmm", sim.tcp_addr()).unwrap();
    /// let before = sim.replies_sent();
    /// dmm.idn().unwrap();
    /// assert_eq!(sim.replies_sent(), before + 1);
    /// ```
    pub fn replies_sent(&self) -> u64 {
        lock(&self.shared.progress).started
    }

    /// Wait until at least `count` replies have been completely written in
    /// total, at most `timeout`. Returns `true` when they have.
    ///
    /// ```
    /// use smq_sim::{DmmModel, Fault, SimInstrument};
    /// use smq_instrument::Connection;
    /// use std::time::Duration;
    ///
    /// let sim = SimInstrument::start(DmmModel::standalone(1)).unwrap();
    /// let mut conn = Connection::tcp("dmm", sim.tcp_addr()).unwrap()
    ///     .with_timeout(Duration::from_millis(100));
    /// let before = sim.replies_sent();
    /// sim.inject(Fault::Slow(Duration::from_millis(300)));
    /// assert!(conn.query("READ?").unwrap_err().is_timeout());
    /// // The late reply has now arrived; the next exchange discards it.
    /// assert!(sim.wait_replies(before + 1, Duration::from_secs(5)));
    /// assert_eq!(conn.idn().unwrap().model, "34401A");
    /// ```
    pub fn wait_replies(&self, count: u64, timeout: Duration) -> bool {
        self.wait_for(timeout, |p| p.replies >= count)
    }

    /// Answer `replies` more replies normally, then withhold every further reply until
    /// [`release`](Self::release): a withheld reply stays queued, and so do the commands
    /// received after it on its link, so each link keeps its order. Commands that do not
    /// reply still take effect while nothing is withheld on their link. Calling it again
    /// replaces the count; `hold_after(0)` holds the very next reply.
    ///
    /// The count is for the instrument as a whole (all its links together), of replies as
    /// they are about to be written: a reply swallowed by [`Fault::NoReply`] does not
    /// count, a half reply of [`Fault::Disconnect`] does. Latency still applies: a
    /// reply is withheld once it is due.
    ///
    /// This makes an instrument stall at a known point of a protocol, so that a test can
    /// act while a task is known to be running, then let it finish. A client waiting for
    /// a withheld reply still times out as usual.
    ///
    /// # Examples
    ///
    /// ```
    /// use smq_instrument::Connection;
    /// use smq_sim::{DmmModel, SimInstrument};
    /// use std::time::Duration;
    ///
    /// let sim = SimInstrument::start(DmmModel::standalone(1)).unwrap();
    /// let mut dmm = Connection::tcp("dmm", sim.tcp_addr())
    ///     .unwrap()
    ///     .with_timeout(Duration::from_millis(100));
    /// sim.hold_after(1);
    /// assert_eq!(dmm.idn().unwrap().model, "34401A"); // the one reply let through
    /// // The next one is withheld: it cannot arrive, whatever the timeout.
    /// assert!(dmm.query("READ?").unwrap_err().is_timeout());
    /// assert!(sim.wait_held(Duration::from_secs(5)));
    /// assert_eq!(sim.replies_sent(), 1);
    /// sim.release();
    /// // The withheld reply is written now (the next exchange discards it, as a late
    /// // reply), and later replies flow normally.
    /// assert!(sim.wait_replies(2, Duration::from_secs(5)));
    /// assert_eq!(dmm.idn().unwrap().model, "34401A");
    /// ```
    pub fn hold_after(&self, replies: u64) {
        *lock(&self.shared.hold) = Some(replies);
    }

    /// Stop holding replies (see [`hold_after`](Self::hold_after)): the withheld replies
    /// are written at once, each link's in order, and the commands queued behind them are
    /// then handled as usual. Does nothing if no hold is set.
    ///
    /// # Examples
    ///
    /// ```
    /// use smq_instrument::Connection;
    /// use smq_sim::{DmmModel, SimInstrument};
    ///
    /// let sim = SimInstrument::start(DmmModel::standalone(1)).unwrap();
    /// sim.hold_after(0);
    /// sim.release();
    /// let mut dmm = Connection::tcp("dmm", sim.tcp_addr()).unwrap();
    /// assert!(dmm.idn().is_ok());
    /// ```
    pub fn release(&self) {
        *lock(&self.shared.hold) = None;
    }

    /// Number of replies withheld right now by a hold (see
    /// [`hold_after`](Self::hold_after)): at most one per link, since the commands after
    /// a withheld reply wait unhandled.
    ///
    /// # Examples
    ///
    /// ```
    /// let sim = smq_sim::SimInstrument::start(smq_sim::DmmModel::standalone(1)).unwrap();
    /// sim.hold_after(0);
    /// assert_eq!(sim.replies_held(), 0); // nothing was asked yet
    /// ```
    pub fn replies_held(&self) -> usize {
        lock(&self.shared.progress).held
    }

    /// Wait until at least one reply is withheld by a hold (see
    /// [`hold_after`](Self::hold_after)), at most `timeout`. Returns `true` when one is:
    /// the client that asked for it is then known to be waiting for it.
    ///
    /// # Examples
    ///
    /// ```
    /// use smq_sim::{DmmModel, SimInstrument};
    /// use std::io::Write;
    /// use std::time::Duration;
    ///
    /// let sim = SimInstrument::start(DmmModel::standalone(1)).unwrap();
    /// sim.hold_after(0);
    /// let mut client = std::net::TcpStream::connect(sim.tcp_addr()).unwrap();
    /// client.write_all(b"*IDN?\n").unwrap();
    /// assert!(sim.wait_held(Duration::from_secs(5)));
    /// assert_eq!(sim.replies_held(), 1);
    /// ```
    pub fn wait_held(&self, timeout: Duration) -> bool {
        self.wait_for(timeout, |p| p.held > 0)
    }

    fn wait_for(&self, timeout: Duration, done: impl Fn(&Progress) -> bool) -> bool {
        let progress = lock(&self.shared.progress);
        let (progress, _) = self
            .shared
            .changed
            .wait_timeout_while(progress, timeout, |p| !done(p))
            .unwrap_or_else(PoisonError::into_inner);
        done(&progress)
    }
}

impl<M: Model> Drop for SimInstrument<M> {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
