//! Instrument I/O for laboratory instruments.
//!
//! This crate moves commands and replies between a program and an
//! instrument, whatever the link:
//!
//! * [`Transport`] is the byte link, with two implementations:
//!   [`SerialTransport`] (RS-232, USB-CDC serial instruments,
//!   pseudo-terminals; configured by [`SerialConfig`]) and [`TcpTransport`]
//!   (raw SCPI sockets, port [`SCPI_RAW_PORT`]).
//! * [`Connection`] adds line framing with configurable terminators, a
//!   timeout on every call, SCPI `write`/`query`, [`Connection::idn`],
//!   error-queue checks ([`Connection::check_errors`]) and IEEE 488.2
//!   binary blocks ([`Connection::query_block`],
//!   [`Connection::query_array`]).
//! * [`InstrumentError`] is the single error type; each message names the
//!   device and the command.
//! * Parsers for `*IDN?` ([`Identity`]), `SYST:ERR?` ([`ScpiErrorEntry`])
//!   and binary blocks ([`decode_block`], [`decode_array`]) never panic,
//!   whatever bytes they are given.
//!
//! # Writing a driver for a new instrument
//!
//! A driver is a struct that owns a [`Connection`] and turns the commands of
//! the instrument's programming manual into typed methods. The digital
//! multimeter driver (`smq-dmm`, for the Keysight 34401A / Keithley 2000
//! SCPI command set) is built this way; here is the core of it.
//!
//! 1. **Own a connection and name the device.** The name appears in every
//!    error. Provide constructors for the links the instrument has; set the
//!    terminators the manual gives (SCPI instruments use `\n`; many RS-232
//!    devices use `\r\n`).
//! 2. **One method per manual command**, taking `&mut self` and returning
//!    [`Result`]. Settings use [`Connection::write`]; queries use
//!    [`Connection::query`] or [`Connection::query_parse`] so that
//!    unparseable replies become [`InstrumentError::Garbage`].
//! 3. **Validate arguments** before sending them
//!    ([`InstrumentError::InvalidArgument`]).
//! 4. **Check the error queue** after configuration commands with
//!    [`Connection::check_errors`], which turns a `-113,"Undefined header"`
//!    into [`InstrumentError::Scpi`] naming the command.
//! 5. **Keep the driver `Send + 'static`** (own everything, no borrowed
//!    state) so it can be moved to the thread or queue that runs it.
//! 6. **Test against a simulator** speaking the same protocol over a real
//!    pseudo-terminal and socket (`smq-sim`), including faults: timeouts,
//!    garbage replies, disconnects.
//!
//! ```no_run
//! use smq_instrument::{Connection, InstrumentError, Result, SerialConfig};
//!
//! /// A SCPI multimeter.
//! pub struct Dmm {
//!     conn: Connection,
//! }
//!
//! impl Dmm {
//!     /// Raw SCPI socket, e.g. `"192.168.0.20:5025"`.
//!     pub fn connect_tcp(addr: &str) -> Result<Self> {
//!         Ok(Self { conn: Connection::tcp("dmm", addr)? })
//!     }
//!
//!     /// RS-232 or USB-CDC port, e.g. `"/dev/ttyUSB0"`.
//!     pub fn open_serial(path: &str) -> Result<Self> {
//!         let conn = Connection::serial("dmm", path, &SerialConfig::default())?;
//!         Ok(Self { conn })
//!     }
//!
//!     /// `*RST`, then check the error queue.
//!     pub fn reset(&mut self) -> Result<()> {
//!         self.conn.write("*RST")?;
//!         self.conn.check_errors("*RST")
//!     }
//!
//!     /// `CONF:VOLT:DC <range>,<resolution>`.
//!     pub fn configure_voltage_dc(&mut self, range: f64, resolution: f64) -> Result<()> {
//!         let cmd = format!("CONF:VOLT:DC {range},{resolution}");
//!         if !(range > 0.0) {
//!             return Err(InstrumentError::InvalidArgument {
//!                 device: self.conn.name().into(),
//!                 command: cmd,
//!                 reason: "range must be positive".into(),
//!             });
//!         }
//!         self.conn.write(&cmd)?;
//!         self.conn.check_errors(&cmd)
//!     }
//!
//!     /// `READ?`: trigger and read one reading in volts.
//!     pub fn read(&mut self) -> Result<f64> {
//!         self.conn.query_parse("READ?")
//!     }
//! }
//!
//! let mut dmm = Dmm::connect_tcp("192.168.0.20:5025")?;
//! dmm.reset()?;
//! dmm.configure_voltage_dc(10.0, 1e-5)?;
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
//! * **Failures stay local.** A command that fails fails its own promise, with a message
//!   naming the device and the command; tasks that depend on it fail without running; the
//!   other devices and the scheduler carry on. A lost link marks the device broken (its next
//!   commands fail at once) until [`Device::reopen`] — itself a task on the device's queue,
//!   so it never interrupts a command — puts a new driver in place.
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

mod block;
mod connection;
mod device;
mod error;
mod error_queue;
mod idn;
mod serial;
mod tcp;
mod transport;

pub use block::{
    BlockElement, BlockError, BlockHeader, ByteOrder, decode_array, decode_block, encode_array,
    encode_block, encode_block_indefinite, parse_block_header,
};
pub use connection::{Connection, DEFAULT_TIMEOUT};
pub use device::{Device, DeviceTask};
pub use error::{InstrumentError, Result, escape_bytes};
pub use error_queue::{ErrorEntryParseError, ScpiErrorEntry};
pub use idn::{Identity, IdentityParseError};
pub use serial::{DataBits, FlowControl, Parity, SerialConfig, SerialTransport, StopBits};
pub use tcp::{SCPI_RAW_PORT, TcpTransport};
pub use transport::Transport;

pub use ndarray;
pub use serialport;
pub use smqsched;
