//! The byte-level link to an instrument.

use std::io;
use std::time::Duration;

/// A bidirectional byte link to an instrument (serial port, TCP socket, ...).
///
/// Implementations only move bytes; framing, timeouts per command and error
/// context are added by [`Connection`](crate::Connection). Errors are plain
/// [`io::Error`]s with these conventions:
///
/// * a read that sees no data within `timeout` fails with
///   [`io::ErrorKind::TimedOut`] (or `WouldBlock`);
/// * a read that returns `Ok(0)` means the other side closed the link;
/// * `BrokenPipe`, `ConnectionReset`, `ConnectionAborted`, `UnexpectedEof`
///   and `NotConnected` also mean the link is gone;
/// * `InvalidData` means the link's own protocol was broken (a bad USBTMC header, an RPC
///   that does not decode).
///
/// Transports are `Send` so that a driver owning one can be moved to the
/// thread that runs it.
///
/// # Examples
///
/// A transport over any `Read + Write` stream, here a Unix socket pair:
///
/// ```
/// use smq_instrument::{Connection, Transport};
/// use std::io::{self, Read, Write};
/// use std::os::unix::net::UnixStream;
/// use std::time::Duration;
///
/// struct Unix(UnixStream);
///
/// impl Transport for Unix {
///     fn read(&mut self, buf: &mut [u8], timeout: Duration) -> io::Result<usize> {
///         self.0.set_read_timeout(Some(timeout.max(Duration::from_millis(1))))?;
///         self.0.read(buf)
///     }
///     fn write_all(&mut self, data: &[u8], timeout: Duration) -> io::Result<()> {
///         self.0.set_write_timeout(Some(timeout.max(Duration::from_millis(1))))?;
///         Write::write_all(&mut self.0, data)
///     }
///     fn clear(&mut self) -> io::Result<()> {
///         Ok(())
///     }
///     fn flush(&mut self) -> io::Result<()> {
///         self.0.flush()
///     }
///     fn describe(&self) -> String {
///         "unix socket".into()
///     }
/// }
///
/// let (a, mut b) = UnixStream::pair().unwrap();
/// let mut conn = Connection::new("demo", Unix(a));
/// b.write_all(b"ACME,X1,1,1.0\n").unwrap();
/// assert_eq!(conn.read_line("*IDN?").unwrap(), "ACME,X1,1,1.0");
/// ```
pub trait Transport: Send {
    /// Read at least one byte into `buf`, waiting at most `timeout`.
    /// Returns the number of bytes read; `Ok(0)` means end of stream.
    fn read(&mut self, buf: &mut [u8], timeout: Duration) -> io::Result<usize>;

    /// Write all of `data`, waiting at most `timeout` in total.
    fn write_all(&mut self, data: &[u8], timeout: Duration) -> io::Result<()>;

    /// Discard any input received but not yet read.
    fn clear(&mut self) -> io::Result<()>;

    /// Wait until all written bytes have been handed to the link. Links whose writes
    /// complete when they return (the default) have nothing to do.
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }

    /// A short description of the link, e.g. `serial /dev/ttyUSB0` or
    /// `tcp 192.168.0.12:5025`.
    fn describe(&self) -> String;

    /// Whether the link is still there, asked without waiting and without consuming
    /// input: an error (by the conventions above, e.g. `UnexpectedEof`) if the other side
    /// has closed it (a socket closed, a terminal hung up). A connection asks before each
    /// command, so that a link lost while idle (an instrument power-cycled between two
    /// commands) is opened again before the command is sent rather than failing it. The
    /// default says the link is there.
    fn check_alive(&mut self) -> io::Result<()> {
        Ok(())
    }

    /// Device clear (IEEE 488.1 DCL/SDC): the instrument abandons the command it is
    /// executing and empties its input and output buffers, by the link's own means
    /// (VXI-11 `device_clear`, USBTMC `INITIATE_CLEAR`). Links without one (serial ports,
    /// raw sockets) only discard the input received: the default.
    fn device_clear(&mut self, timeout: Duration) -> io::Result<()> {
        let _ = timeout;
        self.clear()
    }

    /// The status byte, read by the link's own means (VXI-11 `device_readstb`, USB488
    /// `READ_STATUS_BYTE`); `None` (the default) where the link has none, and the caller
    /// asks `*STB?` instead.
    fn read_status_byte(&mut self, timeout: Duration) -> io::Result<Option<u8>> {
        let _ = timeout;
        Ok(None)
    }
}

impl<T: Transport + ?Sized> Transport for Box<T> {
    fn read(&mut self, buf: &mut [u8], timeout: Duration) -> io::Result<usize> {
        (**self).read(buf, timeout)
    }
    fn write_all(&mut self, data: &[u8], timeout: Duration) -> io::Result<()> {
        (**self).write_all(data, timeout)
    }
    fn clear(&mut self) -> io::Result<()> {
        (**self).clear()
    }
    fn flush(&mut self) -> io::Result<()> {
        (**self).flush()
    }
    fn describe(&self) -> String {
        (**self).describe()
    }
    fn device_clear(&mut self, timeout: Duration) -> io::Result<()> {
        (**self).device_clear(timeout)
    }
    fn check_alive(&mut self) -> io::Result<()> {
        (**self).check_alive()
    }
    fn read_status_byte(&mut self, timeout: Duration) -> io::Result<Option<u8>> {
        (**self).read_status_byte(timeout)
    }
}

/// True if `err` means the link is gone (as opposed to a timeout or another
/// error).
pub(crate) fn is_disconnect(err: &io::Error) -> bool {
    matches!(
        err.kind(),
        io::ErrorKind::BrokenPipe
            | io::ErrorKind::ConnectionReset
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::UnexpectedEof
            | io::ErrorKind::NotConnected
    ) || matches!(err.raw_os_error(), Some(EIO | ENXIO | ENODEV))
        || (err.kind() == io::ErrorKind::Other && GONE.iter().any(|m| err.to_string() == *m))
}

/// How `serialport` describes `EIO`, `ENXIO` and `ENODEV` (it keeps the
/// description, not the error number): what reading a serial device
/// returns once it is unplugged.
const GONE: [&str; 3] = ["I/O error", "No such device or address", "No such device"];

/// Whether the socket's peer has closed it: a peek that finds the end of the stream. Data
/// waiting (`Ok(n > 0)`) or none yet (`WouldBlock`) mean the link is there.
pub(crate) fn socket_alive(stream: &std::net::TcpStream) -> io::Result<()> {
    stream.set_nonblocking(true)?;
    let mut probe = [0u8; 1];
    let r = stream.peek(&mut probe);
    stream.set_nonblocking(false)?;
    match r {
        Ok(0) => Err(io::ErrorKind::UnexpectedEof.into()),
        Ok(_) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::WouldBlock => Ok(()),
        Err(e) => Err(e),
    }
}

/// True if `err` is a protocol error of the link (by convention, [`io::ErrorKind::InvalidData`]).
pub(crate) fn is_protocol(err: &io::Error) -> bool {
    err.kind() == io::ErrorKind::InvalidData
}

/// True if `err` is a timeout.
pub(crate) fn is_timeout(err: &io::Error) -> bool {
    matches!(
        err.kind(),
        io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock
    )
}

/// `EIO`: what reading a pseudo-terminal or a USB serial device returns once
/// the other end is gone.
const EIO: i32 = 5;
/// `ENXIO`: no such device or address.
const ENXIO: i32 = 6;
/// `ENODEV`: no such device.
const ENODEV: i32 = 19;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_errors() {
        assert!(is_disconnect(&io::ErrorKind::BrokenPipe.into()));
        assert!(is_disconnect(&io::Error::from_raw_os_error(EIO)));
        assert!(is_disconnect(&io::Error::other("I/O error")));
        assert!(is_disconnect(&io::Error::other("No such device")));
        assert!(!is_disconnect(&io::Error::other("Permission denied")));
        assert!(!is_disconnect(&io::ErrorKind::TimedOut.into()));
        assert!(is_timeout(&io::ErrorKind::TimedOut.into()));
        assert!(is_timeout(&io::ErrorKind::WouldBlock.into()));
    }
}
