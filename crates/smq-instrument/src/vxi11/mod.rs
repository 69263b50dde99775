//! VXI-11: instruments on the LAN through ONC RPC over TCP.
//!
//! A VXI-11 instrument runs an RPC **port mapper** (port 111) that tells where its **core
//! channel** listens; on the core channel the client creates a link to a device (`inst0`
//! for a LAN instrument, `gpib0,5` behind a LAN/GPIB gateway), then writes and reads
//! messages (`device_write` with the END flag on a message's last part, `device_read` until
//! the END reason), asks for a device clear or the status byte, and destroys the link.
//! [`Vxi11Transport`] does this as a [`Transport`](crate::Transport), so a
//! [`Connection`](crate::Connection) over it works as over a serial port or a socket; open
//! it with an address such as `TCPIP0::192.168.0.30::INSTR` ([`Connection::open`](crate::Connection::open)).
//!
//! The wire format is public ([`CoreCall`], [`CoreReply`], [`RpcCall`], [`RpcReply`],
//! [`RecordReader`]) so that a server, such as the simulators of `smq-sim`, speaks exactly
//! what the client expects.
//!
//! # Why hand-written
//!
//! No maintained Rust crate implements a VXI-11 client (the crates found either reserve the
//! name or embed one inside a larger framework), and the RPC and XDR parts VXI-11 needs are
//! small: 32-bit integers, opaque data and strings, record marking, null authentication. A
//! general ONC RPC or XDR crate would bring code generation or serde for those few types.
//!
//! # The port mapper's port
//!
//! VXI-11 clients ask the port mapper on port 111. A server run without privileges cannot
//! listen there; its port mapper is then on another port, which the address gives after the
//! host: `TCPIP0::127.0.0.1:5111::INSTR` (see [`Address`](crate::Address)).
//!
//! # Examples
//!
//! ```
//! use smq_instrument::{Connection, Transport};
//! use smq_instrument::vxi11::Vxi11Transport;
//! use std::time::Duration;
//! # let sim = smq_sim::SimInstrument::start(smq_sim::DmmModel::standalone(1)).unwrap();
//! # let (host, mapper) = ("127.0.0.1", sim.vxi11_portmapper_port());
//! let link = Vxi11Transport::connect(host, "inst0", mapper, Duration::from_secs(2), "dmm")?;
//! assert!(link.describe().starts_with("vxi-11 127.0.0.1"));
//! let mut dmm = Connection::new("dmm", link);
//! assert_eq!(dmm.idn()?.model, "34401A");
//! # Ok::<(), smq_instrument::InstrumentError>(())
//! ```

mod client;
mod messages;
mod rpc;
mod xdr;

pub use client::Vxi11Transport;
pub use messages::{
    CoreCall, CoreReply, DEVICE_CORE, DEVICE_CORE_VERSION, ERR_DEVICE_NOT_ACCESSIBLE,
    ERR_INVALID_LINK, ERR_IO, ERR_IO_TIMEOUT, ERR_NONE, ERR_NOT_SUPPORTED, FLAG_END,
    FLAG_TERMCHR_SET, Generic, IPPROTO_TCP, PMAPPROC_GETPORT, PMAPPROC_NULL, PORTMAPPER,
    PORTMAPPER_VERSION, REASON_CHR, REASON_END, REASON_REQCNT, error_text, getport_args,
    parse_getport_args,
};
pub use rpc::{RecordReader, RpcCall, RpcOutcome, RpcReply, encode_record};

/// A message that does not follow the RPC or VXI-11 wire format.
///
/// # Examples
///
/// ```
/// use smq_instrument::vxi11::{CoreReply, WireError};
/// assert_eq!(CoreReply::decode(11, &[0, 0]), Err(WireError::Truncated));
/// ```
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum WireError {
    /// The message ends before its last field.
    #[error("message truncated")]
    Truncated,
    /// A field has a value the format does not allow.
    #[error("invalid message: {0}")]
    Invalid(String),
    /// A procedure this implementation does not know.
    #[error("unknown procedure {0}")]
    UnknownProcedure(u32),
}
