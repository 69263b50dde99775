//! What every instrument driver offers.

use std::time::Duration;

use crate::address::Address;
use crate::connection::{Connection, OpenOptions};
use crate::error::{InstrumentError, Result};
use crate::idn::Identity;

/// What every instrument driver offers: opening by address, identification, the timeout of
/// its commands, reset. The drivers of this workspace (`smq_dmm::Dmm`, `smq_scope::Scope`,
/// `smq_stage::Stage`) and the generic [`Scpi`](crate::Scpi) implement it.
///
/// A driver provides [`from_connection`](Self::from_connection) (set up a connection:
/// terminators, the instrument's defaults) and the link's [`OpenOptions`] (serial
/// settings, the commands sent after a device clear); [`open`](Self::open) then reaches it at
/// any address: a serial port, a raw socket, VXI-11 or USBTMC.
///
/// # Examples
///
/// ```
/// use smq_instrument::{Instrument, Scpi};
/// # let sim = smq_sim::SimInstrument::start(smq_sim::DmmModel::standalone(1)).unwrap();
/// # let address = sim.vxi11_address();
/// // address: "TCPIP0::192.168.0.20::INSTR", "ASRL/dev/ttyUSB0::INSTR", ...
/// let mut meter = Scpi::open(&address)?;
/// assert_eq!(meter.identify()?.model, "34401A");
/// meter.set_timeout(std::time::Duration::from_secs(5));
/// meter.reset()?;
/// # Ok::<(), smq_instrument::InstrumentError>(())
/// ```
pub trait Instrument: Sized + Send + 'static {
    /// The name of the instrument in errors, and the default name of its device queue.
    const NAME: &'static str;

    /// How the instrument's link is opened: serial settings, the commands sent after a
    /// device clear (`*CLS` for SCPI instruments), reconnection. The default options unless
    /// the driver says otherwise.
    fn open_options() -> OpenOptions {
        OpenOptions::default()
    }

    /// The driver over an open connection (its terminators set as the instrument needs).
    ///
    /// # Errors
    ///
    /// If the connection cannot serve this instrument.
    fn from_connection(conn: Connection) -> Result<Self>;

    /// The underlying connection, for commands the driver does not wrap.
    fn connection(&mut self) -> &mut Connection;

    /// The underlying connection, to read its settings.
    fn connection_ref(&self) -> &Connection;

    /// Ask the instrument who it is: by default `*IDN?`, as SCPI instruments answer it.
    ///
    /// # Errors
    ///
    /// If it does not answer, or not with an identification.
    fn identify(&mut self) -> Result<Identity> {
        self.connection().idn()
    }

    /// Bring the instrument to its reset state: by default `*RST` and `*CLS`, then the
    /// error queue is read (a SCPI instrument's reset, checked).
    ///
    /// # Errors
    ///
    /// If a command fails, or the instrument reports an error.
    fn reset(&mut self) -> Result<()> {
        let conn = self.connection();
        conn.write("*RST")?;
        conn.write("*CLS")?;
        conn.check_errors("*RST")
    }

    /// Open the instrument at `address`, any [`Address`] form (`TCPIP0::host::INSTR`,
    /// `TCPIP0::host::5025::SOCKET`, `USB0::0x1AB1::0x04CE::INSTR`,
    /// `ASRL/dev/ttyUSB0::INSTR`, `/dev/ttyUSB0`, `host:5025`).
    ///
    /// # Errors
    ///
    /// [`InstrumentError::Address`] if the text is not an address (the message lists the
    /// forms), else the link's error.
    fn open(address: &str) -> Result<Self> {
        match address.parse::<Address>() {
            Ok(a) => Self::open_at(&a),
            Err(source) => Err(InstrumentError::Address {
                device: Self::NAME.to_owned(),
                source,
            }),
        }
    }

    /// Open the instrument at a parsed `address`.
    ///
    /// # Errors
    ///
    /// The link's error.
    fn open_at(address: &Address) -> Result<Self> {
        Self::from_connection(Connection::open_with(
            Self::NAME,
            address,
            &Self::open_options(),
        )?)
    }

    /// The timeout of each command.
    fn timeout(&self) -> Duration {
        self.connection_ref().timeout()
    }

    /// Set the timeout of each command.
    fn set_timeout(&mut self, timeout: Duration) {
        self.connection().set_timeout(timeout);
    }
}
