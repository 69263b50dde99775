//! Endpoints of a simulated instrument: its pseudo-terminal and its TCP
//! clients, with their buffers.

use std::collections::VecDeque;
use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::os::fd::{AsRawFd, RawFd};
use std::time::Instant;

use serialport::{SerialPort, TTYPort};

/// The master side of a pseudo-terminal. The slave is kept open too, so the
/// terminal survives while no driver has it open.
pub(crate) struct Pty {
    pub(crate) master: TTYPort,
    pub(crate) _slave: TTYPort,
    pub(crate) path: String,
}

impl Pty {
    pub(crate) fn new() -> io::Result<Self> {
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

pub(crate) enum Link {
    Pty(Pty),
    Tcp(TcpStream),
}

impl Link {
    pub(crate) fn fd(&self) -> RawFd {
        match self {
            Link::Pty(p) => p.master.as_raw_fd(),
            Link::Tcp(s) => s.as_raw_fd(),
        }
    }
    pub(crate) fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Link::Pty(p) => raw_read(p.master.as_raw_fd(), buf),
            Link::Tcp(s) => s.read(buf),
        }
    }
    pub(crate) fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Link::Pty(p) => raw_write(p.master.as_raw_fd(), buf),
            Link::Tcp(s) => s.write(buf),
        }
    }
}

/// A reply waiting for its time.
pub(crate) struct Pending {
    pub(crate) due: Instant,
    pub(crate) bytes: Vec<u8>,
    /// Close the link once `bytes` are written.
    pub(crate) then_close: bool,
}

/// One connected endpoint.
pub(crate) struct Endpoint {
    pub(crate) link: Link,
    pub(crate) rx: Vec<u8>,
    /// Complete command lines not yet handled.
    pub(crate) lines: VecDeque<String>,
    pub(crate) pending: Option<Pending>,
    /// `pending` is due but withheld by the instrument's hold.
    pub(crate) held: bool,
    pub(crate) out: Vec<u8>,
    /// Replies (wholly or partly) in `out`.
    pub(crate) replies_in_out: u64,
    pub(crate) close_after_out: bool,
    pub(crate) closed: bool,
}

impl Endpoint {
    pub(crate) fn new(link: Link) -> Self {
        Self {
            link,
            rx: Vec::new(),
            lines: VecDeque::new(),
            pending: None,
            held: false,
            out: Vec::new(),
            replies_in_out: 0,
            close_after_out: false,
            closed: false,
        }
    }

    pub(crate) fn is_pty(&self) -> bool {
        matches!(self.link, Link::Pty(_))
    }

    pub(crate) fn busy(&self) -> usize {
        self.lines.len() + usize::from(self.pending.is_some()) + usize::from(!self.out.is_empty())
    }

    /// Read what is available; split into lines.
    pub(crate) fn read_input(&mut self) {
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

    pub(crate) fn write_output(&mut self) {
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
