//! Serial ports (RS-232, USB-CDC, pseudo-terminals) through `serialport`.

use std::io::{self, Read, Write};
use std::time::{Duration, Instant};

use serialport::{ClearBuffer, SerialPort};
pub use serialport::{DataBits, FlowControl, Parity, StopBits};

use crate::error::{InstrumentError, Result};
use crate::transport::Transport;

#[cfg(unix)]
type NativePort = serialport::TTYPort;
#[cfg(windows)]
type NativePort = serialport::COMPort;

/// All settings of a serial port.
///
/// The default is 9600 baud, 8 data bits, no parity, 1 stop bit (8N1), no
/// flow control, exclusive access and a 1 s open/write timeout.
///
/// # Examples
///
/// ```
/// use smq_instrument::{FlowControl, SerialConfig};
///
/// // Newport SMC100: 57600 baud, 8N1, XON/XOFF.
/// let cfg = SerialConfig::default()
///     .baud(57_600)
///     .flow_control(FlowControl::Software);
/// assert_eq!(cfg.baud_rate, 57_600);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SerialConfig {
    /// Baud rate in bits per second.
    pub baud_rate: u32,
    /// Number of data bits per character.
    pub data_bits: DataBits,
    /// Parity checking.
    pub parity: Parity,
    /// Number of stop bits.
    pub stop_bits: StopBits,
    /// Flow control (none, XON/XOFF or RTS/CTS).
    pub flow_control: FlowControl,
    /// Default timeout of the port, used by `flush` and when opening.
    pub timeout: Duration,
    /// Take the port exclusively (`TIOCEXCL` and an exclusive lock on Unix)
    /// so no other program can open it while it is in use.
    pub exclusive: bool,
}

impl Default for SerialConfig {
    fn default() -> Self {
        Self {
            baud_rate: 9600,
            data_bits: DataBits::Eight,
            parity: Parity::None,
            stop_bits: StopBits::One,
            flow_control: FlowControl::None,
            timeout: Duration::from_secs(1),
            exclusive: true,
        }
    }
}

impl SerialConfig {
    /// Set the baud rate.
    ///
    /// # Examples
    ///
    /// ```
    /// use smq_instrument::SerialConfig;
    /// assert_eq!(SerialConfig::default().baud(115_200).baud_rate, 115_200);
    /// ```
    pub fn baud(mut self, baud_rate: u32) -> Self {
        self.baud_rate = baud_rate;
        self
    }
    /// Set the number of data bits.
    ///
    /// # Examples
    ///
    /// ```
    /// use smq_instrument::SerialConfig;
    /// use smq_instrument::DataBits;
    /// assert_eq!(SerialConfig::default().data_bits(DataBits::Seven).data_bits, DataBits::Seven);
    /// ```
    pub fn data_bits(mut self, data_bits: DataBits) -> Self {
        self.data_bits = data_bits;
        self
    }
    /// Set the parity.
    ///
    /// # Examples
    ///
    /// ```
    /// use smq_instrument::SerialConfig;
    /// use smq_instrument::Parity;
    /// assert_eq!(SerialConfig::default().parity(Parity::Even).parity, Parity::Even);
    /// ```
    pub fn parity(mut self, parity: Parity) -> Self {
        self.parity = parity;
        self
    }
    /// Set the number of stop bits.
    ///
    /// # Examples
    ///
    /// ```
    /// use smq_instrument::SerialConfig;
    /// use smq_instrument::StopBits;
    /// assert_eq!(SerialConfig::default().stop_bits(StopBits::Two).stop_bits, StopBits::Two);
    /// ```
    pub fn stop_bits(mut self, stop_bits: StopBits) -> Self {
        self.stop_bits = stop_bits;
        self
    }
    /// Set the flow control.
    ///
    /// # Examples
    ///
    /// ```
    /// use smq_instrument::SerialConfig;
    /// use smq_instrument::FlowControl;
    /// let cfg = SerialConfig::default().flow_control(FlowControl::Hardware);
    /// assert_eq!(cfg.flow_control, FlowControl::Hardware);
    /// ```
    pub fn flow_control(mut self, flow_control: FlowControl) -> Self {
        self.flow_control = flow_control;
        self
    }
    /// Set the default port timeout.
    ///
    /// # Examples
    ///
    /// ```
    /// use smq_instrument::SerialConfig;
    /// let cfg = SerialConfig::default().timeout(std::time::Duration::from_millis(250));
    /// assert_eq!(cfg.timeout.as_millis(), 250);
    /// ```
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }
    /// Take the port exclusively or not.
    ///
    /// # Examples
    ///
    /// ```
    /// use smq_instrument::SerialConfig;
    /// assert!(!SerialConfig::default().exclusive(false).exclusive);
    /// ```
    pub fn exclusive(mut self, exclusive: bool) -> Self {
        self.exclusive = exclusive;
        self
    }
}

/// A serial port: RS-232 adapters, USB instruments that enumerate as USB-CDC
/// serial ports (`/dev/ttyACM*`, `/dev/ttyUSB*`, `COM*`) and
/// pseudo-terminals (`/dev/pts/*`) alike.
///
/// USB-CDC instruments are found with [`serialport::available_ports`], whose
/// [`serialport::SerialPortType::UsbPort`] entries carry the USB vendor and
/// product id, serial number and manufacturer:
///
/// ```no_run
/// for p in serialport::available_ports().unwrap_or_default() {
///     if let serialport::SerialPortType::UsbPort(usb) = &p.port_type {
///         println!("{} {:04x}:{:04x} {:?}", p.port_name, usb.vid, usb.pid, usb.product);
///     }
/// }
/// ```
///
/// Opening discards any stale input waiting on the port.
///
/// Pseudo-terminals (`/dev/pts/N`, e.g. from
/// [`serialport::TTYPort::pair`] or `socat`) open like any port: the line
/// settings are accepted and have no effect on the data. With
/// [`SerialConfig::exclusive`] the port is locked (`TIOCEXCL` and an
/// exclusive `flock`), and `TIOCEXCL` stays set on the terminal after the
/// descriptor is closed if another process keeps it open (as a simulator
/// holding the other side does), which would make reopening fail for
/// unprivileged users; dropping a `SerialTransport` therefore clears it.
///
/// # Examples
///
/// ```
/// use smq_instrument::serialport::SerialPort;
/// use smq_instrument::{SerialConfig, SerialTransport, Transport};
/// use std::io::Write;
/// use std::time::Duration;
///
/// // A pseudo-terminal pair stands in for a real port.
/// let (mut master, slave) = serialport::TTYPort::pair().unwrap();
/// let path = slave.name().unwrap();
/// let mut port = SerialTransport::open(&path, &SerialConfig::default(), "demo").unwrap();
/// master.write_all(b"ok\n").unwrap();
/// let mut buf = [0u8; 8];
/// let n = port.read(&mut buf, Duration::from_secs(1)).unwrap();
/// assert_eq!(&buf[..n], b"ok\n");
/// ```
#[derive(Debug)]
pub struct SerialTransport {
    port: NativePort,
    path: String,
}

impl SerialTransport {
    /// Open the port at `path` with `config`. `device` names the instrument
    /// in errors.
    ///
    /// # Examples
    ///
    /// ```
    /// use smq_instrument::{SerialConfig, SerialTransport};
    /// # let sim = smq_sim::SimInstrument::start(smq_sim::DmmModel::standalone(1)).unwrap();
    /// let port = SerialTransport::open(&sim.pty_path(), &SerialConfig::default(), "dmm")?;
    /// # Ok::<(), smq_instrument::InstrumentError>(())
    /// ```
    pub fn open(path: &str, config: &SerialConfig, device: &str) -> Result<Self> {
        let io_err = |source: io::Error| InstrumentError::Io {
            device: device.to_owned(),
            command: format!("open {path}"),
            source,
        };
        let port = serialport::new(path, config.baud_rate)
            .data_bits(config.data_bits)
            .parity(config.parity)
            .stop_bits(config.stop_bits)
            .flow_control(config.flow_control)
            .timeout(config.timeout);
        #[cfg(unix)]
        let port = port.exclusive(config.exclusive);
        let port = port.open_native().map_err(|e| io_err(io::Error::from(e)))?;
        port.clear(ClearBuffer::Input)
            .map_err(|e| io_err(io::Error::from(e)))?;
        Ok(Self {
            port,
            path: path.to_owned(),
        })
    }

    /// The path the port was opened with.
    ///
    /// # Examples
    ///
    /// ```
    /// use smq_instrument::{SerialConfig, SerialTransport};
    /// # let sim = smq_sim::SimInstrument::start(smq_sim::DmmModel::standalone(1)).unwrap();
    /// let port = SerialTransport::open(&sim.pty_path(), &SerialConfig::default(), "dmm")?;
    /// assert!(port.path().starts_with("/dev/"));
    /// # Ok::<(), smq_instrument::InstrumentError>(())
    /// ```
    pub fn path(&self) -> &str {
        &self.path
    }
}

impl Transport for SerialTransport {
    fn read(&mut self, buf: &mut [u8], timeout: Duration) -> io::Result<usize> {
        self.port.set_timeout(timeout)?;
        self.port.read(buf)
    }

    fn write_all(&mut self, data: &[u8], timeout: Duration) -> io::Result<()> {
        let deadline = Instant::now() + timeout;
        let mut rest = data;
        while !rest.is_empty() {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(io::ErrorKind::TimedOut.into());
            }
            self.port.set_timeout(left)?;
            match self.port.write(rest) {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(n) => rest = &rest[n..],
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    fn clear(&mut self) -> io::Result<()> {
        Ok(self.port.clear(ClearBuffer::Input)?)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.port.flush()
    }

    fn describe(&self) -> String {
        format!("serial {}", self.path)
    }

    #[cfg(unix)]
    fn check_alive(&mut self) -> io::Result<()> {
        use std::os::fd::AsRawFd;
        let mut fds = [libc::pollfd {
            fd: self.port.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        }];
        // SAFETY: `fds` is a valid array of one `pollfd`, whose descriptor is the port's,
        // open for the lifetime of `self`; a zero timeout makes `poll` return at once.
        let n = unsafe { libc::poll(fds.as_mut_ptr(), 1, 0) };
        if n < 0 {
            return Err(io::Error::last_os_error());
        }
        if fds[0].revents & (libc::POLLHUP | libc::POLLERR | libc::POLLNVAL) != 0 {
            // A hung-up terminal: the device was unplugged, or the other side of a
            // pseudo-terminal closed.
            return Err(io::Error::from_raw_os_error(libc::EIO));
        }
        Ok(())
    }
}

#[cfg(unix)]
impl Drop for SerialTransport {
    fn drop(&mut self) {
        // Release TIOCEXCL so that the port can be reopened by anyone, even
        // when another process keeps the terminal open.
        let _ = self.port.set_exclusive(false);
    }
}
