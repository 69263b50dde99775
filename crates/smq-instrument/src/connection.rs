//! Framed, timed command/reply exchanges over a [`Transport`].

use std::net::ToSocketAddrs;
use std::str::FromStr;
use std::time::{Duration, Instant};

mod blocks;
mod open;
mod recover;
mod scpi;

pub use open::{OpenOptions, Reconnect};

use crate::address::Address;
use crate::error::{InstrumentError, Result, command_text};
use crate::serial::SerialConfig;
use crate::transport::{Transport, is_disconnect, is_protocol, is_timeout};

/// Default timeout of every call.
///
/// # Examples
///
/// ```
/// assert_eq!(smq_instrument::DEFAULT_TIMEOUT, std::time::Duration::from_secs(2));
/// ```
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(2);

/// Longest line accepted before the reply is declared garbage.
const MAX_LINE: usize = 1 << 20;

/// At most this many entries are read from an error queue in one go.
const MAX_ERRORS: usize = 64;

/// A named connection to one instrument: line framing with configurable
/// terminators, a timeout on every call, SCPI helpers and binary blocks.
///
/// Every error it returns names the device (the `name` given at creation)
/// and the command. After a failed exchange (timeout, garbage, partial
/// block) the input received so far is discarded before the next command
/// is written, so the rest of a bad reply does not leak into the next
/// exchange. An instrument that answers after the timeout can still do so
/// later: wait for it (or send a device clear) and call
/// [`clear`](Self::clear) before going on.
///
/// # Examples
///
/// ```
/// use smq_instrument::Connection;
/// use std::io::{BufRead, BufReader, Write};
///
/// // A tiny instrument on a local socket.
/// let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
/// let addr = listener.local_addr().unwrap();
/// std::thread::spawn(move || {
///     let (s, _) = listener.accept().unwrap();
///     let mut w = s.try_clone().unwrap();
///     for line in BufReader::new(s).lines() {
///         match line.unwrap().as_str() {
///             "*IDN?" => w.write_all(b"ACME,X1,42,1.0\n").unwrap(),
///             "SYST:ERR?" => w.write_all(b"0,\"No error\"\n").unwrap(),
///             _ => {}
///         }
///     }
/// });
///
/// let mut conn = Connection::tcp("demo", addr).unwrap();
/// assert_eq!(conn.idn().unwrap().model, "X1");
/// conn.write("*RST").unwrap();
/// conn.check_errors("*RST").unwrap();
/// ```
pub struct Connection {
    transport: Box<dyn Transport>,
    name: String,
    timeout: Duration,
    read_term: Vec<u8>,
    write_term: Vec<u8>,
    rx: Vec<u8>,
    /// A previous exchange failed part-way: clear input before the next.
    dirty: bool,
    /// A block was read without its trailing terminator: drop the
    /// terminator if it shows up at the start of the next reply.
    skip_term: bool,
    /// How to open the link again, if the connection was opened from an address.
    opener: Option<Opener>,
    /// What the link needs before the next command (see the `recover` module).
    recovery: Recovery,
    /// How many times the link was opened again.
    reconnects: u64,
}

/// An address and the options to open it with.
#[derive(Clone, Debug)]
struct Opener {
    address: Address,
    options: OpenOptions,
}

/// What a link needs before the next command.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Recovery {
    /// Nothing.
    None,
    /// A device clear (a reply did not come in time).
    Clear,
    /// Opening again, then a device clear (the link is gone).
    Reconnect,
}

impl std::fmt::Debug for Connection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connection")
            .field("name", &self.name)
            .field("transport", &self.transport.describe())
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl Connection {
    /// Wrap `transport`; `name` identifies the device in errors. Terminators
    /// default to `\n` both ways and the timeout to [`DEFAULT_TIMEOUT`].
    ///
    /// # Examples
    ///
    /// ```
    /// use smq_instrument::{Connection, TcpTransport};
    /// use std::time::Duration;
    /// # let sim = smq_sim::SimInstrument::start(smq_sim::DmmModel::standalone(1)).unwrap();
    /// let t = TcpTransport::connect(sim.tcp_addr(), Duration::from_secs(1), "dmm")?;
    /// let mut conn = Connection::new("dmm", t);
    /// assert_eq!(conn.idn()?.model, "34401A");
    /// # Ok::<(), smq_instrument::InstrumentError>(())
    /// ```
    pub fn new(name: impl Into<String>, transport: impl Transport + 'static) -> Self {
        Self::from_box(name.into(), Box::new(transport))
    }

    fn from_box(name: String, transport: Box<dyn Transport>) -> Self {
        Self {
            transport,
            name,
            timeout: DEFAULT_TIMEOUT,
            read_term: b"\n".to_vec(),
            write_term: b"\n".to_vec(),
            rx: Vec::new(),
            dirty: false,
            skip_term: false,
            opener: None,
            recovery: Recovery::None,
            reconnects: 0,
        }
    }

    /// Open a serial port (see [`SerialTransport`](crate::SerialTransport)).
    ///
    /// # Examples
    ///
    /// ```
    /// use smq_instrument::{Connection, SerialConfig};
    /// # let sim = smq_sim::SimInstrument::start(smq_sim::DmmModel::standalone(1)).unwrap();
    /// let mut conn = Connection::serial("dmm", &sim.pty_path(), &SerialConfig::default())?;
    /// assert_eq!(conn.idn()?.model, "34401A");
    /// # Ok::<(), smq_instrument::InstrumentError>(())
    /// ```
    pub fn serial(name: impl Into<String>, path: &str, config: &SerialConfig) -> Result<Self> {
        Self::open_with(
            name,
            &Address::serial(path),
            &OpenOptions::default().serial(*config),
        )
    }

    /// Connect to a raw TCP socket (see [`TcpTransport`](crate::TcpTransport)), waiting at most
    /// [`DEFAULT_TIMEOUT`].
    ///
    /// # Examples
    ///
    /// ```
    /// # let sim = smq_sim::SimInstrument::start(smq_sim::DmmModel::standalone(1)).unwrap();
    /// // A real instrument: Connection::tcp("dmm", ("192.168.0.20", smq_instrument::SCPI_RAW_PORT))
    /// let mut conn = smq_instrument::Connection::tcp("dmm", sim.tcp_addr())?;
    /// assert!(conn.describe().starts_with("tcp 127.0.0.1:"));
    /// # Ok::<(), smq_instrument::InstrumentError>(())
    /// ```
    pub fn tcp(name: impl Into<String>, addr: impl ToSocketAddrs) -> Result<Self> {
        let name = name.into();
        let resolved = addr.to_socket_addrs().map(|mut a| a.next());
        match resolved {
            Ok(Some(a)) => Self::open(name, &Address::from_socket_addr(a)),
            Ok(None) => Err(InstrumentError::Io {
                device: name,
                command: "connect".into(),
                source: std::io::Error::new(
                    std::io::ErrorKind::NotFound,
                    "address resolved to nothing",
                ),
            }),
            Err(source) => Err(InstrumentError::Io {
                device: name,
                command: "connect".into(),
                source,
            }),
        }
    }

    /// Set the timeout of every call (builder style).
    ///
    /// # Examples
    ///
    /// ```
    /// # let sim = smq_sim::SimInstrument::start(smq_sim::DmmModel::standalone(1)).unwrap();
    /// use std::time::Duration;
    /// let conn = smq_instrument::Connection::tcp("dmm", sim.tcp_addr())?
    ///     .with_timeout(Duration::from_millis(500));
    /// assert_eq!(conn.timeout(), Duration::from_millis(500));
    /// # Ok::<(), smq_instrument::InstrumentError>(())
    /// ```
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Set the read and write terminators (builder style), e.g. `b"\r\n"`.
    /// An empty read terminator is replaced by `\n`.
    ///
    /// # Examples
    ///
    /// ```
    /// # let sim = smq_sim::SimInstrument::start(smq_sim::StageModel::standalone()).unwrap();
    /// // The Newport SMC100 ends lines with CR LF.
    /// let mut conn = smq_instrument::Connection::tcp("stage", sim.tcp_addr())?
    ///     .with_terminators(b"\r\n", b"\r\n");
    /// assert_eq!(conn.query("1TS")?, "1TS00000A");
    /// # Ok::<(), smq_instrument::InstrumentError>(())
    /// ```
    pub fn with_terminators(mut self, read: &[u8], write: &[u8]) -> Self {
        self.read_term = if read.is_empty() {
            b"\n".to_vec()
        } else {
            read.to_vec()
        };
        self.write_term = write.to_vec();
        self
    }

    /// Set the timeout of every call.
    ///
    /// # Examples
    ///
    /// ```
    /// # let sim = smq_sim::SimInstrument::start(smq_sim::DmmModel::standalone(1)).unwrap();
    /// let mut conn = smq_instrument::Connection::tcp("dmm", sim.tcp_addr())?;
    /// conn.set_timeout(std::time::Duration::from_secs(10));
    /// assert_eq!(conn.timeout().as_secs(), 10);
    /// # Ok::<(), smq_instrument::InstrumentError>(())
    /// ```
    pub fn set_timeout(&mut self, timeout: Duration) {
        self.timeout = timeout;
    }

    /// The timeout of every call.
    ///
    /// # Examples
    ///
    /// ```
    /// # let sim = smq_sim::SimInstrument::start(smq_sim::DmmModel::standalone(1)).unwrap();
    /// let mut conn = smq_instrument::Connection::tcp("dmm", sim.tcp_addr())?;
    /// assert_eq!(conn.timeout(), smq_instrument::DEFAULT_TIMEOUT);
    /// # Ok::<(), smq_instrument::InstrumentError>(())
    /// ```
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// The device name used in errors.
    ///
    /// # Examples
    ///
    /// ```
    /// # let sim = smq_sim::SimInstrument::start(smq_sim::DmmModel::standalone(1)).unwrap();
    /// let mut conn = smq_instrument::Connection::tcp("dmm", sim.tcp_addr())?;
    /// assert_eq!(conn.name(), "dmm");
    /// # Ok::<(), smq_instrument::InstrumentError>(())
    /// ```
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Description of the underlying link, e.g. `tcp 127.0.0.1:5025`.
    ///
    /// # Examples
    ///
    /// ```
    /// # let sim = smq_sim::SimInstrument::start(smq_sim::DmmModel::standalone(1)).unwrap();
    /// let mut conn = smq_instrument::Connection::tcp("dmm", sim.tcp_addr())?;
    /// assert!(conn.describe().starts_with("tcp "));
    /// # Ok::<(), smq_instrument::InstrumentError>(())
    /// ```
    pub fn describe(&self) -> String {
        self.transport.describe()
    }

    fn io_error(&self, command: &str, source: std::io::Error) -> InstrumentError {
        if is_disconnect(&source) {
            self.disconnected(command)
        } else if is_timeout(&source) {
            self.timeout_error(command)
        } else if is_protocol(&source) {
            InstrumentError::Protocol {
                device: self.name.clone(),
                command: command_text(command),
                reason: source.to_string(),
            }
        } else {
            InstrumentError::Io {
                device: self.name.clone(),
                command: command_text(command),
                source,
            }
        }
    }

    fn disconnected(&self, command: &str) -> InstrumentError {
        InstrumentError::Disconnected {
            device: self.name.clone(),
            command: command_text(command),
        }
    }

    fn timeout_error(&self, command: &str) -> InstrumentError {
        InstrumentError::Timeout {
            device: self.name.clone(),
            command: command_text(command),
            timeout: self.timeout,
        }
    }

    /// Build a [`InstrumentError::Garbage`] naming this device.
    ///
    /// # Examples
    ///
    /// ```
    /// # let sim = smq_sim::SimInstrument::start(smq_sim::DmmModel::standalone(1)).unwrap();
    /// let mut conn = smq_instrument::Connection::tcp("dmm", sim.tcp_addr())?;
    /// let reply = conn.query("TRIG:SOUR?")?;
    /// let err = conn.garbage("TRIG:SOUR?", reply.as_bytes(), "expected BUS");
    /// assert!(err.to_string().contains("TRIG:SOUR?"));
    /// # Ok::<(), smq_instrument::InstrumentError>(())
    /// ```
    pub fn garbage(
        &self,
        command: &str,
        reply: &[u8],
        reason: impl Into<String>,
    ) -> InstrumentError {
        InstrumentError::garbage(&self.name, command, reply, reason)
    }

    /// Discard all pending input, buffered or in the link.
    ///
    /// # Examples
    ///
    /// ```
    /// # let sim = smq_sim::SimInstrument::start(smq_sim::DmmModel::standalone(1)).unwrap();
    /// let mut conn = smq_instrument::Connection::tcp("dmm", sim.tcp_addr())?;
    /// conn.clear()?;
    /// # Ok::<(), smq_instrument::InstrumentError>(())
    /// ```
    pub fn clear(&mut self) -> Result<()> {
        self.discard_input("clear")
    }

    /// Discard pending input; errors are reported against `command`.
    fn discard_input(&mut self, command: &str) -> Result<()> {
        self.rx.clear();
        self.skip_term = false;
        self.transport
            .clear()
            .map_err(|e| self.io_error(command, e))?;
        self.dirty = false;
        Ok(())
    }

    /// Send `command` followed by the write terminator.
    ///
    /// # Examples
    ///
    /// ```
    /// # let sim = smq_sim::SimInstrument::start(smq_sim::DmmModel::standalone(1)).unwrap();
    /// let mut conn = smq_instrument::Connection::tcp("dmm", sim.tcp_addr())?;
    /// conn.write("CONF:VOLT:DC 10,0.0001")?;
    /// conn.check_errors("CONF:VOLT:DC 10,0.0001")?;
    /// # Ok::<(), smq_instrument::InstrumentError>(())
    /// ```
    pub fn write(&mut self, command: &str) -> Result<()> {
        self.recover(command)?;
        self.send(command)
    }

    /// Send `command` on the link as it is (no recovery first).
    fn send(&mut self, command: &str) -> Result<()> {
        if self.dirty {
            self.discard_input(command)?;
        }
        let mut data = Vec::with_capacity(command.len() + self.write_term.len());
        data.extend_from_slice(command.as_bytes());
        data.extend_from_slice(&self.write_term);
        let res = self.transport.write_all(&data, self.timeout);
        res.map_err(|e| {
            let e = self.io_error(command, e);
            self.note_failure(&e);
            e
        })
    }

    /// Step 1 of the recovery protocol: remember what a failed exchange left the link
    /// needing.
    fn note_failure(&mut self, e: &InstrumentError) {
        self.dirty = true;
        let needs = if e.is_disconnected() {
            Recovery::Reconnect
        } else if e.is_timeout() {
            Recovery::Clear
        } else {
            Recovery::None
        };
        if needs == Recovery::Reconnect || self.recovery == Recovery::None {
            self.recovery = needs;
        }
    }

    /// Read more bytes into the buffer, waiting until `deadline`.
    fn fill(&mut self, command: &str, deadline: Instant) -> Result<()> {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(self.timeout_error(command));
        }
        let mut buf = [0u8; 4096];
        match self.transport.read(&mut buf, left) {
            Ok(0) => Err(self.disconnected(command)),
            Ok(n) => {
                self.rx.extend_from_slice(&buf[..n]);
                if self.skip_term && !self.rx.is_empty() {
                    if self.rx.starts_with(&self.read_term) {
                        self.rx.drain(..self.read_term.len());
                        self.skip_term = false;
                    } else if !self.read_term.starts_with(&self.rx) {
                        self.skip_term = false;
                    }
                }
                Ok(())
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => Ok(()),
            Err(e) => Err(self.io_error(command, e)),
        }
    }

    /// Run `f`, marking the connection dirty when it fails.
    fn guarded<T>(&mut self, f: impl FnOnce(&mut Self) -> Result<T>) -> Result<T> {
        let r = f(self);
        if let Err(e) = &r {
            self.note_failure(e);
        }
        r
    }

    /// Read raw bytes up to (not including) the read terminator.
    ///
    /// # Examples
    ///
    /// ```
    /// # let sim = smq_sim::SimInstrument::start(smq_sim::DmmModel::standalone(1)).unwrap();
    /// let mut conn = smq_instrument::Connection::tcp("dmm", sim.tcp_addr())?;
    /// conn.write("*IDN?")?;
    /// assert!(conn.read_line_bytes("*IDN?")?.starts_with(b"HEWLETT-PACKARD"));
    /// # Ok::<(), smq_instrument::InstrumentError>(())
    /// ```
    pub fn read_line_bytes(&mut self, command: &str) -> Result<Vec<u8>> {
        let deadline = Instant::now() + self.timeout;
        self.guarded(|c| c.read_line_until(command, deadline))
    }

    fn read_line_until(&mut self, command: &str, deadline: Instant) -> Result<Vec<u8>> {
        let mut searched: usize = 0;
        loop {
            if !self.skip_term {
                let term = self.read_term.len();
                if let Some(i) = find(&self.rx[searched.saturating_sub(term)..], &self.read_term) {
                    let start = searched.saturating_sub(term) + i;
                    let line: Vec<u8> = self.rx.drain(..start + term).take(start).collect();
                    return Ok(line);
                }
                searched = self.rx.len();
                if searched > MAX_LINE {
                    let bad = std::mem::take(&mut self.rx);
                    return Err(self.garbage(command, &bad, "no terminator in reply"));
                }
            }
            if let Err(e) = self.fill(command, deadline) {
                if e.is_disconnected() {
                    // A partial reply is worthless once the link is gone.
                    self.rx.clear();
                }
                return Err(e);
            }
        }
    }

    /// Read one reply line as text, without its terminator and surrounding
    /// whitespace.
    ///
    /// # Examples
    ///
    /// ```
    /// # let sim = smq_sim::SimInstrument::start(smq_sim::DmmModel::standalone(1)).unwrap();
    /// let mut conn = smq_instrument::Connection::tcp("dmm", sim.tcp_addr())?;
    /// conn.write("TRIG:SOUR?")?;
    /// assert_eq!(conn.read_line("TRIG:SOUR?")?, "IMM");
    /// # Ok::<(), smq_instrument::InstrumentError>(())
    /// ```
    pub fn read_line(&mut self, command: &str) -> Result<String> {
        let bytes = self.read_line_bytes(command)?;
        match std::str::from_utf8(&bytes) {
            Ok(s) => Ok(s.trim().to_owned()),
            Err(_) => {
                self.dirty = true;
                Err(self.garbage(command, &bytes, "reply is not text"))
            }
        }
    }

    /// Send `command` and read one reply line.
    ///
    /// # Examples
    ///
    /// ```
    /// # let sim = smq_sim::SimInstrument::start(smq_sim::DmmModel::standalone(1)).unwrap();
    /// let mut conn = smq_instrument::Connection::tcp("dmm", sim.tcp_addr())?;
    /// assert_eq!(conn.query("TRIG:SOUR?")?, "IMM");
    /// # Ok::<(), smq_instrument::InstrumentError>(())
    /// ```
    pub fn query(&mut self, command: &str) -> Result<String> {
        self.write(command)?;
        self.read_line(command)
    }

    /// Send `command`, read one line and parse it as `T` (numbers, ...);
    /// a reply that does not parse is [`InstrumentError::Garbage`].
    ///
    /// Numbers in SCPI replies such as `+1.23456789E-01` parse as `f64`.
    ///
    /// # Examples
    ///
    /// ```
    /// # let sim = smq_sim::SimInstrument::start(smq_sim::DmmModel::standalone(1)).unwrap();
    /// let mut conn = smq_instrument::Connection::tcp("dmm", sim.tcp_addr())?;
    /// let volts: f64 = conn.query_parse("READ?")?;
    /// assert!(volts.is_finite());
    /// # Ok::<(), smq_instrument::InstrumentError>(())
    /// ```
    pub fn query_parse<T: FromStr>(&mut self, command: &str) -> Result<T> {
        let line = self.query(command)?;
        line.parse().map_err(|_| {
            self.garbage(
                command,
                line.as_bytes(),
                format!("expected {}", std::any::type_name::<T>()),
            )
        })
    }
}

/// Position of `needle` in `hay`.
fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.is_empty() || hay.len() < needle.len() {
        return None;
    }
    hay.windows(needle.len()).position(|w| w == needle)
}
