//! Raw SCPI sockets over TCP.

use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream, ToSocketAddrs};
use std::time::{Duration, Instant};

use crate::error::{InstrumentError, Result};
use crate::transport::{Transport, socket_alive};

/// The conventional TCP port of raw SCPI sockets (LXI instruments).
///
/// # Examples
///
/// ```
/// use std::net::ToSocketAddrs;
/// let addr = ("192.168.0.20", smq_instrument::SCPI_RAW_PORT).to_socket_addrs().unwrap().next();
/// assert_eq!(addr.map(|a| a.port()), Some(5025));
/// ```
pub const SCPI_RAW_PORT: u16 = 5025;

/// A raw TCP socket to an instrument (SCPI "socket" interface, port
/// [`SCPI_RAW_PORT`] by convention).
///
/// # Examples
///
/// ```
/// use smq_instrument::{TcpTransport, Transport};
/// use std::io::Write;
/// use std::time::Duration;
///
/// let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
/// let addr = listener.local_addr().unwrap();
/// let mut t = TcpTransport::connect(addr, Duration::from_secs(1), "demo").unwrap();
/// let (mut peer, _) = listener.accept().unwrap();
/// peer.write_all(b"hi").unwrap();
/// let mut buf = [0u8; 8];
/// let n = t.read(&mut buf, Duration::from_secs(1)).unwrap();
/// assert_eq!(&buf[..n], b"hi");
/// ```
#[derive(Debug)]
pub struct TcpTransport {
    stream: TcpStream,
    peer: SocketAddr,
}

impl TcpTransport {
    /// Connect to `addr` (e.g. `"192.168.0.12:5025"`), trying each resolved
    /// address for at most `timeout`. `device` names the instrument in
    /// errors.
    ///
    /// # Examples
    ///
    /// ```
    /// use smq_instrument::TcpTransport;
    /// # let sim = smq_sim::SimInstrument::start(smq_sim::DmmModel::standalone(1)).unwrap();
    /// let t = TcpTransport::connect(sim.tcp_addr(), std::time::Duration::from_secs(1), "dmm")?;
    /// # Ok::<(), smq_instrument::InstrumentError>(())
    /// ```
    pub fn connect(addr: impl ToSocketAddrs, timeout: Duration, device: &str) -> Result<Self> {
        let io_err = |source: io::Error| InstrumentError::Io {
            device: device.to_owned(),
            command: "connect".to_owned(),
            source,
        };
        let mut last = io::Error::new(io::ErrorKind::NotFound, "address resolved to nothing");
        for a in addr.to_socket_addrs().map_err(io_err)? {
            match TcpStream::connect_timeout(&a, timeout) {
                Ok(stream) => {
                    stream.set_nodelay(true).map_err(io_err)?;
                    return Ok(Self { stream, peer: a });
                }
                Err(e) => last = e,
            }
        }
        Err(io_err(last))
    }

    /// The address of the instrument.
    ///
    /// # Examples
    ///
    /// ```
    /// use smq_instrument::TcpTransport;
    /// # let sim = smq_sim::SimInstrument::start(smq_sim::DmmModel::standalone(1)).unwrap();
    /// let t = TcpTransport::connect(sim.tcp_addr(), std::time::Duration::from_secs(1), "dmm")?;
    /// assert_eq!(t.peer_addr(), sim.tcp_addr());
    /// # Ok::<(), smq_instrument::InstrumentError>(())
    /// ```
    pub fn peer_addr(&self) -> SocketAddr {
        self.peer
    }
}

/// A socket timeout must not be zero (zero means "block forever").
fn nonzero(d: Duration) -> Duration {
    d.max(Duration::from_millis(1))
}

impl Transport for TcpTransport {
    fn read(&mut self, buf: &mut [u8], timeout: Duration) -> io::Result<usize> {
        self.stream.set_read_timeout(Some(nonzero(timeout)))?;
        self.stream.read(buf)
    }

    fn write_all(&mut self, data: &[u8], timeout: Duration) -> io::Result<()> {
        let deadline = Instant::now() + timeout;
        let mut rest = data;
        while !rest.is_empty() {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(io::ErrorKind::TimedOut.into());
            }
            self.stream.set_write_timeout(Some(nonzero(left)))?;
            match self.stream.write(rest) {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(n) => rest = &rest[n..],
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    fn clear(&mut self) -> io::Result<()> {
        self.stream.set_nonblocking(true)?;
        let mut buf = [0u8; 4096];
        let result = loop {
            match self.stream.read(&mut buf) {
                Ok(0) => break Err(io::ErrorKind::UnexpectedEof.into()),
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break Ok(()),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => break Err(e),
            }
        };
        self.stream.set_nonblocking(false)?;
        result
    }

    fn flush(&mut self) -> io::Result<()> {
        self.stream.flush()
    }

    fn describe(&self) -> String {
        format!("tcp {}", self.peer)
    }

    fn check_alive(&mut self) -> io::Result<()> {
        socket_alive(&self.stream)
    }
}

impl Drop for TcpTransport {
    fn drop(&mut self) {
        let _ = self.stream.shutdown(Shutdown::Both);
    }
}
