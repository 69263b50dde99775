//! Opening a connection from an address, and the options of that.

use std::time::Duration;

use crate::address::Address;
use crate::error::{InstrumentError, Result};
use crate::serial::{SerialConfig, SerialTransport};
use crate::tcp::TcpTransport;
use crate::transport::Transport;
use crate::vxi11::Vxi11Transport;

use super::{Connection, DEFAULT_TIMEOUT};

/// How a lost link is opened again: at most `attempts` tries, waiting `first_delay` before
/// the second, then twice as long each time up to `max_delay`.
///
/// The default is 4 attempts, waiting 50 ms, 100 ms, 200 ms between them.
///
/// # Examples
///
/// ```
/// use smq_instrument::Reconnect;
/// use std::time::Duration;
/// let r = Reconnect::default();
/// let delays: Vec<Duration> = r.delays().collect();
/// assert_eq!(delays, [0, 50, 100, 200].map(Duration::from_millis));
/// assert_eq!(Reconnect::never().delays().count(), 0);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Reconnect {
    /// How many times to try opening the link (0: never reconnect).
    pub attempts: u32,
    /// The wait before the second attempt.
    pub first_delay: Duration,
    /// The longest wait between two attempts.
    pub max_delay: Duration,
}

impl Default for Reconnect {
    fn default() -> Self {
        Self {
            attempts: 4,
            first_delay: Duration::from_millis(50),
            max_delay: Duration::from_secs(1),
        }
    }
}

impl Reconnect {
    /// Never reconnect: a lost link stays lost.
    pub fn never() -> Self {
        Self {
            attempts: 0,
            ..Self::default()
        }
    }

    /// The wait before each attempt (the first is immediate).
    pub fn delays(&self) -> impl Iterator<Item = Duration> + use<> {
        let (first, max) = (self.first_delay, self.max_delay);
        (0..self.attempts).map(move |i| match i {
            0 => Duration::ZERO,
            i => first.saturating_mul(1 << (i - 1).min(16)).min(max),
        })
    }
}

/// How [`Connection::open_with`] opens an address, and how the connection recovers.
///
/// # Examples
///
/// ```
/// use smq_instrument::{OpenOptions, Reconnect, SerialConfig};
/// // An RS-232 controller that does not speak SCPI: no `*CLS` after a device clear.
/// let options = OpenOptions::default()
///     .serial(SerialConfig::default().baud(57_600))
///     .recovery_commands(&[])
///     .reconnect(Reconnect { attempts: 10, ..Reconnect::default() });
/// assert!(options.recovery_commands.is_empty());
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OpenOptions {
    /// The settings of a serial port.
    pub serial: SerialConfig,
    /// How long opening a link may take (connecting, a VXI-11 link, a USB device).
    pub connect_timeout: Duration,
    /// How a lost link is opened again.
    pub reconnect: Reconnect,
    /// Commands sent after a device clear, before the command that found the link in
    /// trouble goes on: `*CLS` by default (clears the SCPI status and error queue).
    pub recovery_commands: Vec<String>,
}

impl Default for OpenOptions {
    fn default() -> Self {
        Self {
            serial: SerialConfig::default(),
            connect_timeout: DEFAULT_TIMEOUT,
            reconnect: Reconnect::default(),
            recovery_commands: vec!["*CLS".to_owned()],
        }
    }
}

impl OpenOptions {
    /// Set the serial port settings.
    pub fn serial(mut self, serial: SerialConfig) -> Self {
        self.serial = serial;
        self
    }

    /// Set how long opening a link may take.
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// Set how a lost link is opened again.
    pub fn reconnect(mut self, reconnect: Reconnect) -> Self {
        self.reconnect = reconnect;
        self
    }

    /// Set the commands sent after a device clear (none for an instrument that is not
    /// SCPI).
    pub fn recovery_commands(mut self, commands: &[&str]) -> Self {
        self.recovery_commands = commands.iter().map(|c| (*c).to_owned()).collect();
        self
    }
}

/// Open the link `address` names.
pub(super) fn open_transport(
    name: &str,
    address: &Address,
    options: &OpenOptions,
) -> Result<Box<dyn Transport>> {
    Ok(match address {
        Address::Serial { path } => Box::new(SerialTransport::open(path, &options.serial, name)?),
        Address::Socket { host, port } => Box::new(TcpTransport::connect(
            (host.as_str(), *port),
            options.connect_timeout,
            name,
        )?),
        Address::Vxi11 {
            host,
            device,
            portmapper,
        } => Box::new(Vxi11Transport::connect(
            host,
            device,
            *portmapper,
            options.connect_timeout,
            name,
        )?),
        Address::Usbtmc {
            vendor,
            product,
            serial,
        } => open_usbtmc(name, *vendor, *product, serial.as_deref(), options)?,
    })
}

#[cfg(feature = "usb")]
fn open_usbtmc(
    name: &str,
    vendor: u16,
    product: u16,
    serial: Option<&str>,
    options: &OpenOptions,
) -> Result<Box<dyn Transport>> {
    Ok(Box::new(crate::usbtmc::UsbtmcTransport::open(
        vendor,
        product,
        serial,
        options.connect_timeout,
        name,
    )?))
}

#[cfg(not(feature = "usb"))]
fn open_usbtmc(
    name: &str,
    vendor: u16,
    product: u16,
    _serial: Option<&str>,
    _options: &OpenOptions,
) -> Result<Box<dyn Transport>> {
    Err(InstrumentError::Io {
        device: name.to_owned(),
        command: format!("open USB device {vendor:04x}:{product:04x}"),
        source: std::io::Error::new(
            std::io::ErrorKind::Unsupported,
            "this build has no USB support (feature `usb` of smq-instrument)",
        ),
    })
}

impl Connection {
    /// Open the instrument at `address` (any [`Address`] form: VISA resource string or
    /// short form) with the default [`OpenOptions`]. A connection opened from an address
    /// reconnects by itself after the link is lost (see [`Connection`]).
    ///
    /// # Errors
    ///
    /// The link's error: [`InstrumentError::Io`] for a missing port or a refused
    /// connection, [`InstrumentError::Protocol`] for a VXI-11 host without that device.
    ///
    /// # Examples
    ///
    /// ```
    /// use smq_instrument::{Address, Connection};
    /// # let sim = smq_sim::SimInstrument::start(smq_sim::DmmModel::standalone(1)).unwrap();
    /// // e.g. "TCPIP0::192.168.0.20::INSTR", "ASRL/dev/ttyUSB0::INSTR"
    /// let address: Address = sim.vxi11_address().parse()?;
    /// let mut dmm = Connection::open("dmm", &address)?;
    /// assert_eq!(dmm.idn()?.model, "34401A");
    /// assert_eq!(dmm.address(), Some(&address));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn open(name: impl Into<String>, address: &Address) -> Result<Self> {
        Self::open_with(name, address, &OpenOptions::default())
    }

    /// Open the instrument at `address` with `options`.
    ///
    /// # Errors
    ///
    /// As [`open`](Self::open).
    ///
    /// # Examples
    ///
    /// ```
    /// use smq_instrument::{Address, Connection, OpenOptions, SerialConfig};
    /// # let sim = smq_sim::SimInstrument::start(smq_sim::StageModel::standalone()).unwrap();
    /// let address = Address::serial(sim.serial_path());
    /// let options = OpenOptions::default()
    ///     .serial(SerialConfig::default().baud(57_600))
    ///     .recovery_commands(&[]);
    /// let mut stage = Connection::open_with("stage", &address, &options)?
    ///     .with_terminators(b"\r\n", b"\r\n");
    /// assert_eq!(stage.query("1TS")?, "1TS00000A");
    /// # Ok::<(), smq_instrument::InstrumentError>(())
    /// ```
    pub fn open_with(
        name: impl Into<String>,
        address: &Address,
        options: &OpenOptions,
    ) -> Result<Self> {
        let name = name.into();
        let transport = open_transport(&name, address, options)?;
        let mut conn = Self::from_box(name, transport);
        conn.opener = Some(super::Opener {
            address: address.clone(),
            options: options.clone(),
        });
        Ok(conn)
    }

    /// Parse `address` and open it: [`open`](Self::open) from text.
    ///
    /// # Errors
    ///
    /// [`InstrumentError::Address`] if the text is not an address (the message lists every
    /// form), else as [`open`](Self::open).
    ///
    /// # Examples
    ///
    /// ```
    /// let err = smq_instrument::Connection::open_str("dmm", "TCPIP0::host::SOCKET").unwrap_err();
    /// assert_eq!(err.kind(), smq_instrument::ErrorKind::Usage);
    /// ```
    pub fn open_str(name: impl Into<String>, address: &str) -> Result<Self> {
        let name = name.into();
        match address.parse::<Address>() {
            Ok(a) => Self::open(name, &a),
            Err(source) => Err(InstrumentError::Address {
                device: name,
                source,
            }),
        }
    }

    /// The address the connection was opened from, if it was.
    pub fn address(&self) -> Option<&Address> {
        self.opener.as_ref().map(|o| &o.address)
    }

    /// The options the connection was opened with, if it was opened from an address.
    pub fn options(&self) -> Option<&OpenOptions> {
        self.opener.as_ref().map(|o| &o.options)
    }
}
