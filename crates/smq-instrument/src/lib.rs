//! Instrument I/O for laboratory instruments.
//!
//! This crate moves commands and replies between a program and an
//! instrument, whatever the link:
//!
//! * [`Transport`] is the byte link: [`SerialTransport`] (RS-232, USB-CDC serial
//!   instruments, pseudo-terminals; configured by [`SerialConfig`]), [`TcpTransport`]
//!   (raw SCPI sockets, port [`SCPI_RAW_PORT`]), [`vxi11::Vxi11Transport`] (VXI-11 over
//!   ONC RPC) and [`usbtmc::UsbtmcTransport`] (USBTMC/USB488, on USB through `nusb` with
//!   the `usb` feature, on by default).
//! * [`Connection`] adds line framing with configurable terminators, a
//!   timeout on every call, SCPI `write`/`query`, [`Connection::idn`],
//!   error-queue checks ([`Connection::check_errors`]) and IEEE 488.2
//!   binary blocks ([`Connection::query_block`],
//!   [`Connection::query_array`]).
//! * [`InstrumentError`] is the single error type; each message names the
//!   device and the command, and [`InstrumentError::kind`] tells timeout, disconnected,
//!   protocol error, instrument error, usage error and other I/O apart.
//! * [`Instrument`] is what every driver offers: opening by [`Address`], identification,
//!   timeout, reset; [`Scpi`] is any SCPI instrument.
//! * Parsers for `*IDN?` ([`Identity`]), `SYST:ERR?` ([`ScpiErrorEntry`])
//!   and binary blocks ([`decode_block`], [`decode_array`]) never panic,
//!   whatever bytes they are given.
//!
//! # Any SCPI instrument, without writing a driver
//!
//! [`Scpi`] is a SCPI instrument reached at any address: `write`, `query`, `query_f64`,
//! `query_block` (IEEE 488.2 binary blocks into an [`ndarray::Array1`]), `*IDN?`, `*RST`,
//! `*CLS`, `*OPC?`, the error queue (read after every command if asked), the status byte.
//! [`ScpiDevice`] puts it on a scheduler's one-slot queue.
//!
//! ```
//! use smq_instrument::{Instrument, Scpi};
//! # let sim = smq_sim::SimInstrument::start(smq_sim::DmmModel::standalone(1)).unwrap();
//! # let address = sim.vxi11_address();
//! // "TCPIP0::192.168.0.20::INSTR", "USB0::0x2A8D::0x1301::MY5700001::INSTR", ...
//! let mut meter = Scpi::open(&address)?.with_error_checking(true);
//! meter.write("CONF:VOLT:DC 10")?;
//! let volts = meter.query_f64("READ?")?;
//! # assert!(volts.is_finite());
//! # Ok::<(), smq_instrument::InstrumentError>(())
//! ```
//!
//! # Addresses and links
//!
//! An [`Address`] is one string, the VISA resource string labs know or a short form:
//! `TCPIP0::host::INSTR` (VXI-11, [`vxi11`]), `TCPIP0::host::5025::SOCKET` (a raw socket,
//! [`TcpTransport`]), `USB0::0x1AB1::0x04CE::SERIAL::INSTR` (USBTMC, with the `usb`
//! feature), `ASRL/dev/ttyUSB0::INSTR` or `/dev/ttyUSB0` (a serial port,
//! [`SerialTransport`]). [`Connection::open`] opens any of them; a malformed address is an
//! [`AddressError`] listing every form.
//!
//! # Writing a driver for a new instrument
//!
//! A driver is a struct that owns a [`Scpi`] instrument (or, for an instrument that does
//! not speak SCPI, a [`Connection`]) and turns the commands of the instrument's
//! programming manual into typed methods. The digital multimeter driver (`smq-dmm`, for
//! the Keysight 34401A / Keithley 2000 SCPI command set) is built this way; here is the
//! core of it.
//!
//! 1. **Implement [`Instrument`]**: its name (it appears in every error), how its link is
//!    opened ([`Instrument::open_options`]: serial settings, the commands sent after a
//!    device clear), how it is built over a connection, identification and reset. Users
//!    then open it at any address with [`Instrument::open`].
//! 2. **One method per manual command**, taking `&mut self` and returning [`Result`].
//!    Queries that must parse use [`Scpi::query_parse`] so that unparseable replies become
//!    [`InstrumentError::Garbage`].
//! 3. **Validate arguments** before sending them ([`InstrumentError::InvalidArgument`]).
//! 4. **Check the error queue** after configuration commands ([`Connection::check_errors`]
//!    turns a `-113,"Undefined header"` into [`InstrumentError::Scpi`] naming the command).
//! 5. **Keep the driver `Send + 'static`** (own everything, no borrowed state) so it can be
//!    moved to the thread or queue that runs it.
//! 6. **Test against a simulator** speaking the same protocol over a real pseudo-terminal,
//!    socket and VXI-11 link (`smq-sim`), including faults: timeouts, garbage replies,
//!    disconnects, unplugging.
//!
//! ```
//! use smq_instrument::{
//!     Connection, Identity, Instrument, InstrumentError, OpenOptions, Result, Scpi,
//!     SerialConfig, StopBits,
//! };
//!
//! /// A SCPI multimeter.
//! pub struct Dmm {
//!     scpi: Scpi,
//! }
//!
//! impl Instrument for Dmm {
//!     const NAME: &'static str = "dmm";
//!     fn open_options() -> OpenOptions {
//!         OpenOptions::default().serial(SerialConfig::default().stop_bits(StopBits::Two))
//!     }
//!     fn from_connection(conn: Connection) -> Result<Self> {
//!         Ok(Self { scpi: Scpi::new(conn) })
//!     }
//!     fn connection(&mut self) -> &mut Connection {
//!         self.scpi.connection()
//!     }
//!     fn connection_ref(&self) -> &Connection {
//!         self.scpi.connection_ref()
//!     }
//!     fn identify(&mut self) -> Result<Identity> {
//!         self.scpi.idn()
//!     }
//!     fn reset(&mut self) -> Result<()> {
//!         self.scpi.reset()?;
//!         self.connection().check_errors("*RST")
//!     }
//! }
//!
//! impl Dmm {
//!     /// `CONF:VOLT:DC <range>`.
//!     pub fn configure_voltage_dc(&mut self, range: f64) -> Result<()> {
//!         let cmd = format!("CONF:VOLT:DC {range}");
//!         if !(range > 0.0) {
//!             return Err(self.scpi.invalid_argument(&cmd, "range must be positive"));
//!         }
//!         self.scpi.write(&cmd)?;
//!         self.connection().check_errors(&cmd)
//!     }
//!
//!     /// `READ?`: trigger and read one reading in volts.
//!     pub fn read(&mut self) -> Result<f64> {
//!         self.scpi.query_f64("READ?")
//!     }
//! }
//!
//! # let sim = smq_sim::SimInstrument::start(smq_sim::DmmModel::standalone(1)).unwrap();
//! # let address = sim.socket_address();
//! let mut dmm = Dmm::open(&address)?; // e.g. "TCPIP0::192.168.0.20::5025::SOCKET"
//! dmm.reset()?;
//! dmm.configure_voltage_dc(10.0)?;
//! println!("{} V", dmm.read()?);
//! # Ok::<(), InstrumentError>(())
//! ```
//!
//! Binary waveforms are read the same way: send the query with
//! [`Connection::query_array`] and get an [`ndarray::Array1`] of the sample
//! type the instrument was told to use (`u8`, `i8`, `i16`, `u16`, `i32`,
//! `f32` or `f64`) in the byte order it uses ([`ByteOrder`]).
//!
//! # Devices and queues
//!
//! In an acquisition program, several instruments work at once and their data are
//! processed while the next data are taken. The [`smqsched`] scheduler (re-exported)
//! expresses this as tasks on queues; a [`Device`] puts one instrument driver behind a
//! **queue with a single slot**, named after the instrument:
//!
//! * **Acquisition is serialized per instrument.** An instrument executes one command at a
//!   time and a driver keeps per-link state (the reply being read, the selected channel),
//!   so the commands of one device must never overlap: with one slot they cannot, whatever
//!   the number of worker threads. Commands of *different* instruments run in parallel.
//! * **Compute runs in parallel on other queues.** A command returns a
//!   [`Promise`](smqsched::Promise) at once; processing tasks on an n-slot queue take it as
//!   input and run as soon as the data arrive, while the instruments are already taking the
//!   next points.
//! * **Sequences that must not be split** use the scheduler's hold/release: a stage move
//!   submitted with [`hold`](DeviceTask::hold) keeps the stage's slot until the acquisition
//!   made at that position [`releases`](DeviceTask::releases) it, so no other move comes
//!   between.
//! * **Failures stay local.** A command that fails fails its own promise, keeping the
//!   [`InstrumentError`] (get it with [`InstrumentError::of`] and match on its
//!   [`kind`](InstrumentError::kind): timeout, disconnected, protocol, instrument); tasks
//!   that depend on it fail without running; the other devices and the scheduler carry on.
//! * **Links recover.** After a timeout, the next command of a [`Connection`] sends a
//!   device clear and `*CLS` first; after a lost link (a power cycle, a cable pulled, a
//!   closed socket), it opens the address again, with bounded retries and backoff, then
//!   clears. [`Device::reopen`], a task on the device's queue, replaces the driver.
//!
//! The driver crates add thin handles over [`Device`] whose methods submit the driver's
//! commands (`smq_dmm::DmmDevice::read`, `smq_scope::ScopeDevice::waveform`,
//! `smq_stage::StageDevice::move_to`, ...). With a bare [`Connection`] as driver:
//!
//! ```
//! use smq_instrument::{Connection, Device};
//! use smq_instrument::smqsched::Scheduler;
//! # let lab = smq_sim::SimLab::start(1).unwrap();
//! # let (dmm_addr, scope_addr) = (lab.dmm.tcp_addr(), lab.scope.tcp_addr());
//!
//! let sch = Scheduler::new();
//! let dmm = Device::new(&sch, "dmm", Connection::tcp("dmm", dmm_addr)?)?;
//! let scope = Device::new(&sch, "scope", Connection::tcp("scope", scope_addr)?)?;
//! let compute = sch.queue("compute", 2)?;
//!
//! let volts = dmm.submit("read", |c: &mut Connection| c.query_parse::<f64>("READ?"));
//! let idn = scope.submit("identify", |c: &mut Connection| c.idn());
//! let report = compute.submit((&volts, &idn), |(v, id): (&f64, &smq_instrument::Identity)| {
//!     format!("{} sees {v:.3} V", id.model)
//! });
//! sch.start();
//! println!("{}", report.result()?);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

#![cfg_attr(test, allow(clippy::unwrap_used))]

mod address;
mod block;
mod connection;
mod device;
mod discover;
mod error;
mod error_queue;
mod idn;
mod instrument;
mod scpi;
mod scpi_device;
mod serial;
mod tcp;
mod transport;
pub mod usbtmc;
pub mod vxi11;

pub use address::{ADDRESS_FORMS, Address, AddressError, PORTMAPPER_PORT};
pub use block::{
    BlockElement, BlockError, BlockHeader, ByteOrder, decode_array, decode_block, encode_array,
    encode_block, encode_block_indefinite, parse_block_header,
};
pub use connection::{Connection, DEFAULT_TIMEOUT, OpenOptions, Reconnect};
pub use device::{Device, DeviceTask};
pub use discover::{Found, list_instruments};
pub use error::{ErrorKind, InstrumentError, Result, escape_bytes};
pub use error_queue::{ErrorEntryParseError, ScpiErrorEntry};
pub use idn::{Identity, IdentityParseError};
pub use instrument::Instrument;
pub use scpi::Scpi;
pub use scpi_device::ScpiDevice;
pub use serial::{DataBits, FlowControl, Parity, SerialConfig, SerialTransport, StopBits};
pub use tcp::{SCPI_RAW_PORT, TcpTransport};
pub use transport::Transport;

pub use ndarray;
pub use serialport;
pub use smqsched;
