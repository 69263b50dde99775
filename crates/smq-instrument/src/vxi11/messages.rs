//! The VXI-11 core channel's procedures and the port mapper's GETPORT, with their
//! arguments and results in XDR.

use super::WireError;
use super::xdr::{Decoder, Encoder};

/// The RPC port mapper's program number.
pub const PORTMAPPER: u32 = 100_000;
/// The port mapper's version used (2).
pub const PORTMAPPER_VERSION: u32 = 2;
/// Port mapper procedure: ping.
pub const PMAPPROC_NULL: u32 = 0;
/// Port mapper procedure: the port of a program.
pub const PMAPPROC_GETPORT: u32 = 3;
/// Protocol number of TCP in port mapper requests.
pub const IPPROTO_TCP: u32 = 6;
/// The VXI-11 core channel's program number.
pub const DEVICE_CORE: u32 = 0x0607AF;
/// The core channel's version (1).
pub const DEVICE_CORE_VERSION: u32 = 1;

/// Flag of a write: the data end a message (END, EOI on GPIB).
pub const FLAG_END: u32 = 0x08;
/// Flag of a read: stop at `term_char`.
pub const FLAG_TERMCHR_SET: u32 = 0x80;
/// Reason bit of a read: `request_size` bytes were returned.
pub const REASON_REQCNT: i32 = 0x01;
/// Reason bit of a read: the termination character was read.
pub const REASON_CHR: i32 = 0x02;
/// Reason bit of a read: the end of a message was read.
pub const REASON_END: i32 = 0x04;

/// Error code: none.
pub const ERR_NONE: i32 = 0;
/// Error code: the device name is not known (create_link).
pub const ERR_DEVICE_NOT_ACCESSIBLE: i32 = 3;
/// Error code: no link with this id.
pub const ERR_INVALID_LINK: i32 = 4;
/// Error code: the operation is not supported.
pub const ERR_NOT_SUPPORTED: i32 = 8;
/// Error code: the I/O timeout expired before the operation completed.
pub const ERR_IO_TIMEOUT: i32 = 15;
/// Error code: the device reported an I/O error.
pub const ERR_IO: i32 = 17;

/// What an error code means, from the VXI-11 specification (B.5.2).
///
/// # Examples
///
/// ```
/// assert_eq!(smq_instrument::vxi11::error_text(15), "I/O timeout");
/// ```
pub fn error_text(code: i32) -> &'static str {
    match code {
        0 => "no error",
        1 => "syntax error",
        3 => "device not accessible",
        4 => "invalid link identifier",
        5 => "parameter error",
        6 => "channel not established",
        8 => "operation not supported",
        9 => "out of resources",
        11 => "device locked by another link",
        12 => "no lock held by this link",
        15 => "I/O timeout",
        17 => "I/O error",
        21 => "invalid address",
        23 => "abort",
        29 => "channel already established",
        _ => "unknown error",
    }
}

/// The arguments shared by several procedures (`Device_GenericParms`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Generic {
    /// The link.
    pub lid: i32,
    /// Flags.
    pub flags: u32,
    /// How long to wait for a lock, ms.
    pub lock_timeout: u32,
    /// How long the operation may take, ms.
    pub io_timeout: u32,
}

/// A call on the core channel, with its arguments.
///
/// # Examples
///
/// ```
/// use smq_instrument::vxi11::CoreCall;
/// let call = CoreCall::Write { lid: 1, io_timeout: 1000, lock_timeout: 0, flags: 8, data: b"*IDN?\n".to_vec() };
/// let (procedure, args) = (call.procedure(), call.encode());
/// assert_eq!(procedure, 11);
/// assert_eq!(CoreCall::decode(procedure, &args), Ok(call));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CoreCall {
    /// `create_link` (10): open a link to `device`.
    CreateLink {
        /// An id of the client's choosing.
        client_id: i32,
        /// Lock the device for this link.
        lock_device: bool,
        /// How long to wait for the lock, ms.
        lock_timeout: u32,
        /// The device name (`inst0`).
        device: String,
    },
    /// `device_write` (11): send data.
    Write {
        /// The link.
        lid: i32,
        /// How long the write may take, ms.
        io_timeout: u32,
        /// How long to wait for a lock, ms.
        lock_timeout: u32,
        /// [`FLAG_END`] on the last part of a message.
        flags: u32,
        /// The bytes.
        data: Vec<u8>,
    },
    /// `device_read` (12): read up to `request_size` bytes.
    Read {
        /// The link.
        lid: i32,
        /// Most bytes to return.
        request_size: u32,
        /// How long to wait for data, ms.
        io_timeout: u32,
        /// How long to wait for a lock, ms.
        lock_timeout: u32,
        /// [`FLAG_TERMCHR_SET`] to stop at `term_char`.
        flags: u32,
        /// The termination character.
        term_char: u8,
    },
    /// `device_readstb` (13): the status byte.
    ReadStb(Generic),
    /// `device_trigger` (14).
    Trigger(Generic),
    /// `device_clear` (15): the device abandons what it is doing and empties its buffers.
    Clear(Generic),
    /// `device_remote` (16).
    Remote(Generic),
    /// `device_local` (17).
    Local(Generic),
    /// `destroy_link` (23).
    DestroyLink {
        /// The link.
        lid: i32,
    },
}

impl CoreCall {
    /// The procedure number.
    pub fn procedure(&self) -> u32 {
        match self {
            Self::CreateLink { .. } => 10,
            Self::Write { .. } => 11,
            Self::Read { .. } => 12,
            Self::ReadStb(_) => 13,
            Self::Trigger(_) => 14,
            Self::Clear(_) => 15,
            Self::Remote(_) => 16,
            Self::Local(_) => 17,
            Self::DestroyLink { .. } => 23,
        }
    }

    /// The XDR-encoded arguments.
    pub fn encode(&self) -> Vec<u8> {
        let mut e = Encoder::default();
        match self {
            Self::CreateLink {
                client_id,
                lock_device,
                lock_timeout,
                device,
            } => {
                e.i32(*client_id)
                    .bool(*lock_device)
                    .u32(*lock_timeout)
                    .string(device);
            }
            Self::Write {
                lid,
                io_timeout,
                lock_timeout,
                flags,
                data,
            } => {
                e.i32(*lid)
                    .u32(*io_timeout)
                    .u32(*lock_timeout)
                    .u32(*flags)
                    .opaque(data);
            }
            Self::Read {
                lid,
                request_size,
                io_timeout,
                lock_timeout,
                flags,
                term_char,
            } => {
                e.i32(*lid)
                    .u32(*request_size)
                    .u32(*io_timeout)
                    .u32(*lock_timeout)
                    .u32(*flags)
                    .u32(u32::from(*term_char));
            }
            Self::ReadStb(g)
            | Self::Trigger(g)
            | Self::Clear(g)
            | Self::Remote(g)
            | Self::Local(g) => {
                e.i32(g.lid)
                    .u32(g.flags)
                    .u32(g.lock_timeout)
                    .u32(g.io_timeout);
            }
            Self::DestroyLink { lid } => {
                e.i32(*lid);
            }
        }
        e.buf
    }

    /// Decode the arguments of `procedure`.
    ///
    /// # Errors
    ///
    /// [`WireError::UnknownProcedure`] for a procedure not listed here, another
    /// [`WireError`] if the arguments do not decode.
    pub fn decode(procedure: u32, args: &[u8]) -> Result<Self, WireError> {
        let mut d = Decoder::new(args);
        let generic = |d: &mut Decoder<'_>| -> Result<Generic, WireError> {
            Ok(Generic {
                lid: d.i32()?,
                flags: d.u32()?,
                lock_timeout: d.u32()?,
                io_timeout: d.u32()?,
            })
        };
        Ok(match procedure {
            10 => Self::CreateLink {
                client_id: d.i32()?,
                lock_device: d.bool()?,
                lock_timeout: d.u32()?,
                device: d.string()?,
            },
            11 => Self::Write {
                lid: d.i32()?,
                io_timeout: d.u32()?,
                lock_timeout: d.u32()?,
                flags: d.u32()?,
                data: d.opaque()?,
            },
            12 => Self::Read {
                lid: d.i32()?,
                request_size: d.u32()?,
                io_timeout: d.u32()?,
                lock_timeout: d.u32()?,
                flags: d.u32()?,
                // A char travels as a 32-bit integer; only its low byte counts.
                term_char: (d.u32()? & 0xFF) as u8,
            },
            13 => Self::ReadStb(generic(&mut d)?),
            14 => Self::Trigger(generic(&mut d)?),
            15 => Self::Clear(generic(&mut d)?),
            16 => Self::Remote(generic(&mut d)?),
            17 => Self::Local(generic(&mut d)?),
            23 => Self::DestroyLink { lid: d.i32()? },
            p => return Err(WireError::UnknownProcedure(p)),
        })
    }
}

/// The results of a core channel call.
///
/// # Examples
///
/// ```
/// use smq_instrument::vxi11::{CoreReply, REASON_END};
/// let reply = CoreReply::Read { error: 0, reason: REASON_END, data: b"ACME\n".to_vec() };
/// assert_eq!(CoreReply::decode(12, &reply.encode()), Ok(reply));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CoreReply {
    /// Of `create_link`.
    CreateLink {
        /// Error code.
        error: i32,
        /// The new link's id.
        lid: i32,
        /// Port of the abort channel.
        abort_port: u16,
        /// The most bytes a `device_write` may carry.
        max_recv_size: u32,
    },
    /// Of `device_write`: how many bytes were taken.
    Write {
        /// Error code.
        error: i32,
        /// Bytes taken.
        size: u32,
    },
    /// Of `device_read`: the data and why the read stopped ([`REASON_END`], ...).
    Read {
        /// Error code.
        error: i32,
        /// Reason bits.
        reason: i32,
        /// The bytes read.
        data: Vec<u8>,
    },
    /// Of `device_readstb`.
    ReadStb {
        /// Error code.
        error: i32,
        /// The status byte.
        stb: u8,
    },
    /// Of the procedures that only return an error code.
    Error(i32),
}

impl CoreReply {
    /// The error code.
    pub fn error(&self) -> i32 {
        match self {
            Self::CreateLink { error, .. }
            | Self::Write { error, .. }
            | Self::Read { error, .. }
            | Self::ReadStb { error, .. }
            | Self::Error(error) => *error,
        }
    }

    /// The XDR-encoded results.
    pub fn encode(&self) -> Vec<u8> {
        let mut e = Encoder::default();
        match self {
            Self::CreateLink {
                error,
                lid,
                abort_port,
                max_recv_size,
            } => {
                e.i32(*error)
                    .i32(*lid)
                    .u32(u32::from(*abort_port))
                    .u32(*max_recv_size);
            }
            Self::Write { error, size } => {
                e.i32(*error).u32(*size);
            }
            Self::Read {
                error,
                reason,
                data,
            } => {
                e.i32(*error).i32(*reason).opaque(data);
            }
            Self::ReadStb { error, stb } => {
                e.i32(*error).u32(u32::from(*stb));
            }
            Self::Error(error) => {
                e.i32(*error);
            }
        }
        e.buf
    }

    /// Decode the results of `procedure`.
    ///
    /// # Errors
    ///
    /// [`WireError`] if they do not decode.
    pub fn decode(procedure: u32, results: &[u8]) -> Result<Self, WireError> {
        let mut d = Decoder::new(results);
        Ok(match procedure {
            10 => Self::CreateLink {
                error: d.i32()?,
                lid: d.i32()?,
                abort_port: (d.u32()? & 0xFFFF) as u16,
                max_recv_size: d.u32()?,
            },
            11 => Self::Write {
                error: d.i32()?,
                size: d.u32()?,
            },
            12 => Self::Read {
                error: d.i32()?,
                reason: d.i32()?,
                data: d.opaque()?,
            },
            13 => Self::ReadStb {
                error: d.i32()?,
                stb: (d.u32()? & 0xFF) as u8,
            },
            14..=17 | 23 => Self::Error(d.i32()?),
            p => return Err(WireError::UnknownProcedure(p)),
        })
    }
}

/// The arguments of the port mapper's GETPORT: which program, version and protocol.
///
/// # Examples
///
/// ```
/// use smq_instrument::vxi11::{getport_args, parse_getport_args, DEVICE_CORE, DEVICE_CORE_VERSION, IPPROTO_TCP};
/// let args = getport_args(DEVICE_CORE, DEVICE_CORE_VERSION);
/// assert_eq!(parse_getport_args(&args), Ok((DEVICE_CORE, DEVICE_CORE_VERSION, IPPROTO_TCP)));
/// ```
pub fn getport_args(program: u32, version: u32) -> Vec<u8> {
    let mut e = Encoder::default();
    e.u32(program).u32(version).u32(IPPROTO_TCP).u32(0);
    e.buf
}

/// Decode GETPORT's arguments: program, version, protocol.
///
/// # Errors
///
/// [`WireError::Truncated`] if they are short.
pub fn parse_getport_args(args: &[u8]) -> Result<(u32, u32, u32), WireError> {
    let mut d = Decoder::new(args);
    Ok((d.u32()?, d.u32()?, d.u32()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn create_link_and_read_are_laid_out_as_the_specification_says() {
        let call = CoreCall::CreateLink {
            client_id: 0x1234,
            lock_device: false,
            lock_timeout: 0,
            device: "inst0".into(),
        };
        assert_eq!(
            call.encode(),
            [
                0, 0, 0x12, 0x34, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 5, b'i', b'n', b's', b't', b'0',
                0, 0, 0
            ]
        );
        let read = CoreCall::Read {
            lid: 3,
            request_size: 1024,
            io_timeout: 2000,
            lock_timeout: 0,
            flags: 0,
            term_char: b'\n',
        };
        assert_eq!(
            read.encode(),
            [
                0, 0, 0, 3, 0, 0, 4, 0, 0, 0, 7, 0xD0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 10
            ]
        );
    }

    #[test]
    fn every_call_and_reply_round_trips() {
        let g = Generic {
            lid: 1,
            flags: 0,
            lock_timeout: 10,
            io_timeout: 20,
        };
        for call in [
            CoreCall::ReadStb(g),
            CoreCall::Trigger(g),
            CoreCall::Clear(g),
            CoreCall::Remote(g),
            CoreCall::Local(g),
            CoreCall::DestroyLink { lid: 9 },
        ] {
            assert_eq!(CoreCall::decode(call.procedure(), &call.encode()), Ok(call));
        }
        for (p, reply) in [
            (
                10,
                CoreReply::CreateLink {
                    error: 0,
                    lid: 2,
                    abort_port: 4321,
                    max_recv_size: 1 << 20,
                },
            ),
            (11, CoreReply::Write { error: 0, size: 6 }),
            (
                13,
                CoreReply::ReadStb {
                    error: 0,
                    stb: 0x10,
                },
            ),
            (15, CoreReply::Error(ERR_IO_TIMEOUT)),
        ] {
            assert_eq!(CoreReply::decode(p, &reply.encode()), Ok(reply));
        }
        assert_eq!(
            CoreCall::decode(99, &[]),
            Err(WireError::UnknownProcedure(99))
        );
    }
}
