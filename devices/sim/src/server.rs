//! The thread that runs one simulated instrument on a pseudo-terminal and a
//! TCP socket.

use std::collections::VecDeque;
use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::fd::{AsRawFd, RawFd};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use serialport::{SerialPort, TTYPort};

use crate::fault::{Fault, GARBAGE};

/// How often the thread wakes up to check for shutdown.
const TICK: Duration = Duration::from_millis(10);

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
}

/// Lock a mutex, ignoring poisoning (the protected state stays usable).
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Counters the handle can wait on.
#[derive(Debug, Default, Clone, Copy)]
struct Progress {
    /// Commands received and not yet fully answered.
    busy: usize,
    /// Replies the simulator has started to write (counted before the
    /// first byte goes out).
    started: u64,
    /// Replies completely written.
    replies: u64,
}

/// State shared between the handle and the thread.
struct Shared<M> {
    model: Mutex<M>,
    faults: Mutex<VecDeque<Fault>>,
    latency: Mutex<Duration>,
    /// Latency of commands starting with a given text (upper case).
    command_latency: Mutex<Vec<(String, Duration)>>,
    pty_path: Mutex<String>,
    stop: AtomicBool,
    /// Work in progress and replies sent so far.
    progress: Mutex<Progress>,
    changed: Condvar,
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

/// The master side of a pseudo-terminal. The slave is kept open too, so the
/// terminal survives while no driver has it open.
struct Pty {
    master: TTYPort,
    _slave: TTYPort,
    path: String,
}

impl Pty {
    fn new() -> io::Result<Self> {
        let (master, slave) = TTYPort::pair()?;
        let path = slave
            .name()
            .ok_or_else(|| io::Error::other("pseudo-terminal has no name"))?;
        set_nonblocking(master.as_raw_fd())?;
        Ok(Self {
            master,
            _slave: slave,
            path,
        })
    }
}

fn set_nonblocking(fd: RawFd) -> io::Result<()> {
    // SAFETY: fcntl on a file descriptor we own, with valid arguments.
    let flags = unsafe { libc::fcntl(fd, libc::F_GETFL) };
    if flags < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: as above.
    if unsafe { libc::fcntl(fd, libc::F_SETFL, flags | libc::O_NONBLOCK) } < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// Read from a non-blocking fd.
fn raw_read(fd: RawFd, buf: &mut [u8]) -> io::Result<usize> {
    // SAFETY: buf is valid for buf.len() bytes.
    let n = unsafe { libc::read(fd, buf.as_mut_ptr().cast(), buf.len()) };
    if n < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(n.unsigned_abs())
    }
}

/// Write to a non-blocking fd.
fn raw_write(fd: RawFd, buf: &[u8]) -> io::Result<usize> {
    // SAFETY: buf is valid for buf.len() bytes.
    let n = unsafe { libc::write(fd, buf.as_ptr().cast(), buf.len()) };
    if n < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(n.unsigned_abs())
    }
}

enum Link {
    Pty(Pty),
    Tcp(TcpStream),
}

impl Link {
    fn fd(&self) -> RawFd {
        match self {
            Link::Pty(p) => p.master.as_raw_fd(),
            Link::Tcp(s) => s.as_raw_fd(),
        }
    }
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Link::Pty(p) => raw_read(p.master.as_raw_fd(), buf),
            Link::Tcp(s) => s.read(buf),
        }
    }
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Link::Pty(p) => raw_write(p.master.as_raw_fd(), buf),
            Link::Tcp(s) => s.write(buf),
        }
    }
}

/// A reply waiting for its time.
struct Pending {
    due: Instant,
    bytes: Vec<u8>,
    /// Close the link once `bytes` are written.
    then_close: bool,
}

/// One connected endpoint.
struct Endpoint {
    link: Link,
    rx: Vec<u8>,
    /// Complete command lines not yet handled.
    lines: VecDeque<String>,
    pending: Option<Pending>,
    out: Vec<u8>,
    /// Replies (wholly or partly) in `out`.
    replies_in_out: u64,
    close_after_out: bool,
    closed: bool,
}

impl Endpoint {
    fn new(link: Link) -> Self {
        Self {
            link,
            rx: Vec::new(),
            lines: VecDeque::new(),
            pending: None,
            out: Vec::new(),
            replies_in_out: 0,
            close_after_out: false,
            closed: false,
        }
    }

    fn is_pty(&self) -> bool {
        matches!(self.link, Link::Pty(_))
    }

    fn busy(&self) -> usize {
        self.lines.len() + usize::from(self.pending.is_some()) + usize::from(!self.out.is_empty())
    }

    /// Read what is available; split into lines.
    fn read_input(&mut self) {
        let mut buf = [0u8; 4096];
        loop {
            match self.link.read(&mut buf) {
                Ok(0) => {
                    self.closed = !self.is_pty();
                    break;
                }
                Ok(n) => self.rx.extend_from_slice(&buf[..n]),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => {
                    // A pseudo-terminal reports EIO while no driver has it
                    // open; a socket error means the client is gone.
                    self.closed = !self.is_pty();
                    break;
                }
            }
        }
        while let Some(i) = self.rx.iter().position(|&b| b == b'\n') {
            let raw: Vec<u8> = self.rx.drain(..=i).collect();
            let line = String::from_utf8_lossy(&raw).trim().to_owned();
            if !line.is_empty() {
                self.lines.push_back(line);
            }
        }
        if self.rx.len() > 1 << 16 {
            self.rx.clear();
        }
    }

    fn write_output(&mut self) {
        while !self.out.is_empty() {
            match self.link.write(&self.out) {
                Ok(0) => break,
                Ok(n) => {
                    self.out.drain(..n);
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => {
                    self.out.clear();
                    self.closed = !self.is_pty();
                }
            }
        }
    }
}

struct Server<M: Model> {
    shared: Arc<Shared<M>>,
    listener: TcpListener,
    endpoints: Vec<Endpoint>,
}

impl<M: Model> Server<M> {
    fn new(shared: Arc<Shared<M>>, listener: TcpListener, pty: Pty) -> Self {
        Self {
            shared,
            listener,
            endpoints: vec![Endpoint::new(Link::Pty(pty))],
        }
    }

    fn run(mut self) {
        while !self.shared.stop.load(Ordering::SeqCst) {
            self.poll();
            self.accept();
            let now = Instant::now();
            for i in 0..self.endpoints.len() {
                self.serve(i, now);
            }
            self.reap();
            let busy: usize = self.endpoints.iter().map(Endpoint::busy).sum();
            let mut p = lock(&self.shared.progress);
            if p.busy != busy {
                p.busy = busy;
                self.shared.changed.notify_all();
            }
        }
    }

    /// Wait until some input arrives, a reply is due or a tick passes.
    fn poll(&mut self) {
        let now = Instant::now();
        let mut wait = TICK;
        let mut fds = Vec::with_capacity(self.endpoints.len() + 1);
        fds.push(libc::pollfd {
            fd: self.listener.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        });
        for ep in &self.endpoints {
            if let Some(p) = &ep.pending {
                wait = wait.min(p.due.saturating_duration_since(now));
            }
            let mut events = libc::POLLIN;
            if !ep.out.is_empty() {
                events |= libc::POLLOUT;
            }
            fds.push(libc::pollfd {
                fd: ep.link.fd(),
                events,
                revents: 0,
            });
        }
        let ms = i32::try_from(wait.as_millis()).unwrap_or(i32::MAX);
        // SAFETY: fds is a valid array of pollfd of the given length.
        let n = unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, ms) };
        if n < 0 {
            return;
        }
        let mut hup_only = false;
        for (ep, fd) in self.endpoints.iter_mut().zip(&fds[1..]) {
            if fd.revents & libc::POLLIN != 0 {
                ep.read_input();
            } else if fd.revents & (libc::POLLHUP | libc::POLLERR) != 0 {
                if ep.is_pty() {
                    // No driver has the terminal open (a pseudo-terminal
                    // master reports a hang-up then); nothing to read.
                    hup_only = true;
                } else {
                    ep.closed = true;
                }
            }
        }
        if hup_only && n > 0 && fds.iter().all(|f| f.revents & libc::POLLIN == 0) {
            // Avoid spinning on a permanent hang-up condition.
            std::thread::sleep(TICK.min(wait));
        }
    }

    fn accept(&mut self) {
        while let Ok((stream, _)) = self.listener.accept() {
            if stream.set_nonblocking(true).is_ok() {
                let _ = stream.set_nodelay(true);
                self.endpoints.push(Endpoint::new(Link::Tcp(stream)));
            }
        }
    }

    /// Handle queued lines, send due replies.
    fn serve(&mut self, i: usize, now: Instant) {
        let general = *lock(&self.shared.latency);
        let ep = &mut self.endpoints[i];
        loop {
            if let Some(p) = &ep.pending {
                if p.due > now {
                    break;
                }
                if let Some(p) = ep.pending.take() {
                    ep.out.extend_from_slice(&p.bytes);
                    ep.replies_in_out += 1;
                    lock(&self.shared.progress).started += 1;
                    ep.close_after_out |= p.then_close;
                }
            }
            if ep.close_after_out {
                break;
            }
            let Some(line) = ep.lines.pop_front() else {
                break;
            };
            let (reply, term) = {
                let mut model = lock(&self.shared.model);
                (model.handle(&line), model.reply_terminator())
            };
            let Some(reply) = reply else { continue };
            let latency = {
                let upper = line.to_ascii_uppercase();
                lock(&self.shared.command_latency)
                    .iter()
                    .find(|(k, _)| upper.starts_with(k.as_str()))
                    .map_or(general, |(_, d)| *d)
            };
            let fault = lock(&self.shared.faults).pop_front();
            let mut pending = Pending {
                due: now + latency,
                bytes: reply,
                then_close: false,
            };
            match fault {
                None => pending.bytes.extend_from_slice(term),
                Some(Fault::NoReply) => continue,
                Some(Fault::Garbage) => {
                    pending.bytes = GARBAGE.to_vec();
                    pending.bytes.extend_from_slice(term);
                }
                Some(Fault::Slow(d)) => {
                    pending.due += d;
                    pending.bytes.extend_from_slice(term);
                }
                Some(Fault::Disconnect) => {
                    let half = (pending.bytes.len() / 2).max(1);
                    pending.bytes.truncate(half);
                    pending.then_close = true;
                }
            }
            ep.pending = Some(pending);
        }
        ep.write_output();
        if ep.close_after_out && ep.out.is_empty() {
            ep.closed = true;
        }
        if ep.out.is_empty() && ep.replies_in_out > 0 {
            lock(&self.shared.progress).replies += std::mem::take(&mut ep.replies_in_out);
            self.shared.changed.notify_all();
        }
    }

    /// Drop closed endpoints; a closed pseudo-terminal is replaced by a new
    /// one (its new path published before the old one goes away).
    fn reap(&mut self) {
        let mut i = 0;
        while i < self.endpoints.len() {
            if !self.endpoints[i].closed {
                i += 1;
                continue;
            }
            if self.endpoints[i].is_pty() {
                match Pty::new() {
                    Ok(pty) => {
                        *lock(&self.shared.pty_path) = pty.path.clone();
                        self.endpoints[i] = Endpoint::new(Link::Pty(pty));
                    }
                    Err(_) => {
                        self.endpoints.remove(i);
                        continue;
                    }
                }
                i += 1;
            } else {
                self.endpoints.remove(i);
            }
        }
    }
}
