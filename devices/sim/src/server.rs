//! The handle of a simulated instrument.

use std::collections::VecDeque;
use std::io;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::time::Duration;

use tokio::sync::{Notify, watch};

use crate::fault::Fault;
pub(crate) use crate::shared::lock;
use crate::shared::{Model, Progress, Shared};
use crate::supervisor::{Listeners, Ports, Power, supervise};

/// A simulated instrument, reachable through a pseudo-terminal
/// ([`pty_path`](Self::pty_path), or the stable [`serial_path`](Self::serial_path)), a TCP
/// socket on 127.0.0.1 ([`tcp_addr`](Self::tcp_addr)) and, for instruments that have it,
/// VXI-11 on 127.0.0.1 ([`vxi11_address`](Self::vxi11_address)). Its links are served by
/// tasks of one tokio runtime shared by every simulator of the process. Dropping the handle
/// closes them all.
///
/// Besides one-shot faults ([`inject`](Self::inject)), the instrument can be unplugged
/// ([`unplug`](Self::unplug): every link drops at once and new ones are refused) and plugged
/// in again ([`plug_in`](Self::plug_in): the same ports, a new pseudo-terminal behind the
/// same stable path), or power-cycled ([`power_cycle`](Self::power_cycle)). Each returns
/// once it has taken effect, so tests are deterministic.
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
    ports: Ports,
    power: watch::Sender<Power>,
    link_dir: PathBuf,
}

impl<M: Model> std::fmt::Debug for SimInstrument<M> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SimInstrument")
            .field("pty", &self.pty_path())
            .field("tcp", &self.ports.tcp)
            .finish_non_exhaustive()
    }
}

/// Numbers the stable-path directories of the simulators of this process.
static NEXT_LINK_DIR: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

impl<M: Model> SimInstrument<M> {
    /// Start `model` with a fresh pseudo-terminal, a TCP listener on an ephemeral port of
    /// 127.0.0.1 and, if the model has VXI-11, a port mapper and a core channel on two more.
    ///
    /// # Errors
    ///
    /// If a port cannot be bound, a pseudo-terminal cannot be created, or the runtime
    /// cannot start.
    ///
    /// # Examples
    ///
    /// ```
    /// use smq_sim::{SimInstrument, StageModel};
    /// let sim = SimInstrument::start(StageModel::standalone()).unwrap();
    /// println!("stage on {} and {}", sim.pty_path(), sim.tcp_addr());
    /// ```
    pub fn start(model: M) -> io::Result<Self> {
        let name = model.name();
        let vxi11 = model.vxi11();
        let n = NEXT_LINK_DIR.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let link_dir = std::env::temp_dir().join(format!("smq-sim-{}-{n}", std::process::id()));
        std::fs::create_dir_all(&link_dir)?;
        let shared = Arc::new(Shared {
            model: Mutex::new(model),
            faults: Mutex::new(VecDeque::new()),
            latency: Mutex::new(Duration::ZERO),
            command_latency: Mutex::new(Vec::new()),
            pty_path: Mutex::new(String::new()),
            serial_link: link_dir.join(name),
            hold: Mutex::new(None),
            released: Notify::new(),
            received: Mutex::new(VecDeque::new()),
            progress: Mutex::new(Progress::default()),
            changed: Condvar::new(),
        });
        let rt = crate::runtime::handle()?;
        let listeners = Listeners::bind(vxi11)?;
        let ports = listeners.ports()?;
        let (power, power_rx) = watch::channel(Power::On);
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        rt.spawn(supervise(
            Arc::clone(&shared),
            listeners,
            power_rx,
            ready_tx,
        ));
        let sim = Self {
            shared,
            ports,
            power,
            link_dir,
        };
        match ready_rx.recv() {
            Ok(Ok(())) => Ok(sim),
            Ok(Err(e)) => Err(e),
            Err(_) => Err(io::Error::other("the simulator stopped while starting")),
        }
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

    /// A stable path to the pseudo-terminal: a symbolic link that follows it when a
    /// fault or an unplug replaces it, as udev's `/dev/serial/by-id/` links follow a USB
    /// serial adapter. It is absent while the instrument is unplugged.
    ///
    /// # Examples
    ///
    /// ```
    /// let sim = smq_sim::SimInstrument::start(smq_sim::DmmModel::standalone(1)).unwrap();
    /// let path = sim.serial_path();
    /// assert_eq!(std::fs::canonicalize(&path)?.to_string_lossy(), sim.pty_path());
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn serial_path(&self) -> String {
        self.shared.serial_link.to_string_lossy().into_owned()
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
        self.ports.tcp
    }

    /// The instrument's raw socket as an address: `TCPIP0::127.0.0.1::PORT::SOCKET`.
    ///
    /// # Examples
    ///
    /// ```
    /// let sim = smq_sim::SimInstrument::start(smq_sim::DmmModel::standalone(1)).unwrap();
    /// let mut dmm = smq_instrument::Connection::open_str("dmm", &sim.socket_address())?;
    /// assert_eq!(dmm.idn()?.model, "34401A");
    /// # Ok::<(), smq_instrument::InstrumentError>(())
    /// ```
    pub fn socket_address(&self) -> String {
        smq_instrument::Address::from_socket_addr(self.ports.tcp).to_string()
    }

    /// The instrument's serial port as an address: `ASRL<stable path>::INSTR` (see
    /// [`serial_path`](Self::serial_path)).
    ///
    /// # Examples
    ///
    /// ```
    /// let sim = smq_sim::SimInstrument::start(smq_sim::DmmModel::standalone(1)).unwrap();
    /// let mut dmm = smq_instrument::Connection::open_str("dmm", &sim.serial_address())?;
    /// assert_eq!(dmm.idn()?.model, "34401A");
    /// # Ok::<(), smq_instrument::InstrumentError>(())
    /// ```
    pub fn serial_address(&self) -> String {
        smq_instrument::Address::serial(self.serial_path()).to_string()
    }

    /// The port of the instrument's RPC port mapper (VXI-11), if it has VXI-11.
    ///
    /// # Examples
    ///
    /// ```
    /// let sim = smq_sim::SimInstrument::start(smq_sim::DmmModel::standalone(1)).unwrap();
    /// assert!(sim.vxi11_portmapper_port() > 0);
    /// ```
    pub fn vxi11_portmapper_port(&self) -> u16 {
        self.ports.vxi11.map_or(0, |v| v.portmapper.port())
    }

    /// The port of the instrument's VXI-11 core channel, if it has VXI-11 (what its port
    /// mapper answers).
    pub fn vxi11_core_port(&self) -> u16 {
        self.ports.vxi11.map_or(0, |v| v.core.port())
    }

    /// The instrument's VXI-11 address, `TCPIP0::127.0.0.1:PORT::INSTR` with the port of
    /// its own port mapper (device `inst0`); empty if the instrument has no VXI-11.
    ///
    /// # Examples
    ///
    /// ```
    /// let sim = smq_sim::SimInstrument::start(smq_sim::ScopeModel::standalone(1)).unwrap();
    /// let mut scope = smq_instrument::Connection::open_str("scope", &sim.vxi11_address())?;
    /// assert_eq!(scope.idn()?.model, "DS1104Z");
    /// # Ok::<(), smq_instrument::InstrumentError>(())
    /// ```
    pub fn vxi11_address(&self) -> String {
        match self.ports.vxi11 {
            Some(v) => format!("TCPIP0::127.0.0.1:{}::INSTR", v.portmapper.port()),
            None => String::new(),
        }
    }

    /// Unplug the instrument: every link drops at once (TCP and VXI-11 clients are
    /// disconnected, the pseudo-terminal is closed and its stable path removed), and new
    /// connections are refused until [`plug_in`](Self::plug_in). Returns once done.
    ///
    /// # Examples
    ///
    /// ```
    /// use smq_sim::{DmmModel, SimInstrument};
    /// let sim = SimInstrument::start(DmmModel::standalone(1)).unwrap();
    /// sim.unplug();
    /// assert!(std::net::TcpStream::connect(sim.tcp_addr()).is_err());
    /// sim.plug_in().unwrap();
    /// assert!(std::net::TcpStream::connect(sim.tcp_addr()).is_ok());
    /// ```
    pub fn unplug(&self) {
        self.power.send_replace(Power::Off);
        self.wait_for(Duration::MAX, |p| !p.plugged || p.stopped);
    }

    /// Plug the instrument in again after [`unplug`](Self::unplug): the listeners on the
    /// same ports, a new pseudo-terminal behind the same [`serial_path`](Self::serial_path).
    /// Returns once the links are up.
    ///
    /// # Errors
    ///
    /// If a port was taken by another program meanwhile, or a pseudo-terminal cannot be
    /// created (the instrument stays unplugged).
    pub fn plug_in(&self) -> io::Result<()> {
        if *self.power.borrow() != Power::On {
            lock(&self.shared.progress).plug_failed = false;
            self.power.send_replace(Power::On);
        }
        self.wait_for(Duration::MAX, |p| p.plugged || p.plug_failed || p.stopped);
        let p = *lock(&self.shared.progress);
        if p.plugged {
            Ok(())
        } else {
            Err(io::Error::other(
                "the simulator could not plug its links in again",
            ))
        }
    }

    /// Switch the instrument off and on: [`unplug`](Self::unplug), the model's
    /// [`power_on`](Model::power_on), [`plug_in`](Self::plug_in).
    ///
    /// # Errors
    ///
    /// As [`plug_in`](Self::plug_in).
    pub fn power_cycle(&self) -> io::Result<()> {
        self.unplug();
        lock(&self.shared.model).power_on();
        self.plug_in()
    }

    /// The last command lines received (up to 1000), oldest first, on every link.
    ///
    /// # Examples
    ///
    /// ```
    /// let sim = smq_sim::SimInstrument::start(smq_sim::DmmModel::standalone(1)).unwrap();
    /// let mut dmm = smq_instrument::Connection::tcp("dmm", sim.tcp_addr()).unwrap();
    /// dmm.idn().unwrap();
    /// assert_eq!(sim.received().last().map(String::as_str), Some("*IDN?"));
    /// ```
    pub fn received(&self) -> Vec<String> {
        lock(&self.shared.received).iter().cloned().collect()
    }

    /// How many VXI-11 device clears the instrument received.
    pub fn device_clears(&self) -> u64 {
        lock(&self.shared.progress).clears
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
        self.shared.released.notify_waiters();
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
        self.shared.released.notify_waiters();
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
        let mut progress = lock(&self.shared.progress);
        if timeout == Duration::MAX {
            while !done(&progress) {
                progress = self
                    .shared
                    .changed
                    .wait(progress)
                    .unwrap_or_else(PoisonError::into_inner);
            }
            return true;
        }
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
        self.power.send_replace(Power::Stop);
        self.wait_for(Duration::MAX, |p| p.stopped);
        let _ = std::fs::remove_dir_all(&self.link_dir);
    }
}
