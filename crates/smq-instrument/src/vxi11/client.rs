//! The VXI-11 client: a [`Transport`] over a core channel link.

use std::io::{self, Read, Write};
use std::net::{Shutdown, TcpStream, ToSocketAddrs};
use std::time::{Duration, Instant};

use super::messages::{
    CoreCall, CoreReply, DEVICE_CORE, DEVICE_CORE_VERSION, ERR_IO_TIMEOUT, FLAG_END,
    PMAPPROC_GETPORT, PORTMAPPER, PORTMAPPER_VERSION, error_text, getport_args,
};
use super::rpc::{RecordReader, RpcCall, RpcOutcome, RpcReply, encode_record};
use crate::error::{InstrumentError, Result};
use crate::transport::{Transport, socket_alive};

/// Most bytes asked for in one `device_read`.
const READ_CHUNK: u32 = 1 << 20;

/// Extra time given to a reply over the I/O timeout the server is told, so that a server
/// that times out answers before the client gives up on the RPC.
const RPC_GRACE: Duration = Duration::from_millis(500);

/// How long the link is given to close when the transport is dropped.
const CLOSE_TIMEOUT: Duration = Duration::from_millis(200);

/// A link to a VXI-11 device: the core channel's TCP connection and the link id.
///
/// Each [`write_all`](Transport::write_all) is one `device_write` message (split at the
/// server's maximum size, END on the last part); [`read`](Transport::read) returns what
/// `device_read` gives, asking for more when the buffered data are used up. The I/O timeout
/// of each call is the one given to it. [`device_clear`](Transport::device_clear) and
/// [`read_status_byte`](Transport::read_status_byte) use the RPCs of the same names. A reply
/// that arrives after its call timed out is recognized by its transaction id and dropped.
///
/// Errors follow the [`Transport`] conventions: an I/O timeout of the device is
/// [`io::ErrorKind::TimedOut`], a closed connection [`io::ErrorKind::UnexpectedEof`], a
/// broken RPC or a VXI-11 error code [`io::ErrorKind::InvalidData`] (a protocol error).
///
/// See the [module docs](super) for an example.
#[derive(Debug)]
pub struct Vxi11Transport {
    stream: TcpStream,
    records: RecordReader,
    xid: u32,
    lid: i32,
    max_write: usize,
    /// Data read and not yet handed out.
    pending: Vec<u8>,
    describe: String,
}

fn protocol(msg: impl Into<String>) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, msg.into())
}

/// Send one RPC call on `stream` and wait (until `deadline`) for the reply with the same
/// transaction id; replies to earlier calls are dropped.
fn rpc(
    stream: &mut TcpStream,
    records: &mut RecordReader,
    call: &RpcCall,
    deadline: Instant,
) -> io::Result<Vec<u8>> {
    stream.set_write_timeout(Some(left(deadline)?))?;
    stream.write_all(&encode_record(&call.encode()))?;
    let mut buf = [0u8; 64 * 1024];
    loop {
        while let Some(record) = records.next_record().map_err(|e| protocol(e.to_string()))? {
            let reply = RpcReply::decode(&record).map_err(|e| protocol(e.to_string()))?;
            if reply.xid != call.xid {
                continue;
            }
            return match reply.outcome {
                RpcOutcome::Success(results) => Ok(results),
                other => Err(protocol(format!(
                    "RPC program {} procedure {} refused: {other:?}",
                    call.program, call.procedure
                ))),
            };
        }
        stream.set_read_timeout(Some(left(deadline)?))?;
        match stream.read(&mut buf) {
            Ok(0) => return Err(io::ErrorKind::UnexpectedEof.into()),
            Ok(n) => records.push(&buf[..n]),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
}

/// Time left until `deadline`, or a timeout error (a zero socket timeout would block).
fn left(deadline: Instant) -> io::Result<Duration> {
    let d = deadline.saturating_duration_since(Instant::now());
    if d.is_zero() {
        Err(io::ErrorKind::TimedOut.into())
    } else {
        Ok(d)
    }
}

fn connect_tcp(addr: (&str, u16), timeout: Duration) -> io::Result<TcpStream> {
    let mut last = io::Error::new(io::ErrorKind::NotFound, "address resolved to nothing");
    for a in addr.to_socket_addrs()? {
        match TcpStream::connect_timeout(&a, timeout) {
            Ok(s) => {
                s.set_nodelay(true)?;
                return Ok(s);
            }
            Err(e) => last = e,
        }
    }
    Err(last)
}

/// Milliseconds of `d`, as VXI-11 timeouts are given.
fn millis(d: Duration) -> u32 {
    u32::try_from(d.as_millis()).unwrap_or(u32::MAX)
}

impl Vxi11Transport {
    /// Ask the port mapper at `host:portmapper` for the core channel's port, connect to
    /// it and create a link to `device` (e.g. `inst0`), each step within `timeout`.
    /// `name` names the instrument in errors.
    ///
    /// # Errors
    ///
    /// [`InstrumentError::Io`] if the port mapper or the core channel cannot be reached
    /// (the message says which, and that an unprivileged server's port mapper is not on
    /// 111); [`InstrumentError::Protocol`] if the host has no VXI-11 server or no such
    /// device.
    pub fn connect(
        host: &str,
        device: &str,
        portmapper: u16,
        timeout: Duration,
        name: &str,
    ) -> Result<Self> {
        let io_err = |step: String, source: io::Error| InstrumentError::Io {
            device: name.to_owned(),
            command: step,
            source,
        };
        let proto = |reason: String| InstrumentError::Protocol {
            device: name.to_owned(),
            command: format!("connect to {device} on {host}"),
            reason,
        };
        let mapper_step = format!("ask the RPC port mapper at {host}:{portmapper}");
        let mut mapper = connect_tcp((host, portmapper), timeout).map_err(|e| {
            let hint = if e.kind() == io::ErrorKind::ConnectionRefused {
                format!(
                    "{e} (no port mapper there; a VXI-11 server run without root serves \
                     its port mapper on another port: give it as TCPIP0::{host}:PORT::INSTR)"
                )
            } else {
                e.to_string()
            };
            io_err(mapper_step.clone(), io::Error::new(e.kind(), hint))
        })?;
        let call = RpcCall {
            xid: 1,
            program: PORTMAPPER,
            version: PORTMAPPER_VERSION,
            procedure: PMAPPROC_GETPORT,
            args: getport_args(DEVICE_CORE, DEVICE_CORE_VERSION),
        };
        let results = rpc(
            &mut mapper,
            &mut RecordReader::default(),
            &call,
            Instant::now() + timeout,
        )
        .map_err(|e| io_err(mapper_step.clone(), e))?;
        let _ = mapper.shutdown(Shutdown::Both);
        let port = match results.get(..4) {
            Some(b) => u32::from_be_bytes([b[0], b[1], b[2], b[3]]),
            None => return Err(proto("the port mapper's reply is truncated".into())),
        };
        let port = u16::try_from(port)
            .ok()
            .filter(|p| *p != 0)
            .ok_or_else(|| {
                proto(format!(
                    "no VXI-11 server is registered at {host}:{portmapper}"
                ))
            })?;
        let stream = connect_tcp((host, port), timeout).map_err(|e| {
            io_err(
                format!("connect to the VXI-11 core channel {host}:{port}"),
                e,
            )
        })?;
        let mut link = Self {
            stream,
            records: RecordReader::default(),
            xid: 1,
            lid: 0,
            max_write: 1024,
            pending: Vec::new(),
            describe: format!("vxi-11 {host} {device}"),
        };
        let reply = link
            .core(
                &CoreCall::CreateLink {
                    client_id: i32::try_from(std::process::id() & 0x7FFF_FFFF).unwrap_or(0),
                    lock_device: false,
                    lock_timeout: 0,
                    device: device.to_owned(),
                },
                timeout,
            )
            .map_err(|e| io_err(format!("create a link to {device} on {host}"), e))?;
        match reply {
            CoreReply::CreateLink {
                error: 0,
                lid,
                max_recv_size,
                ..
            } => {
                link.lid = lid;
                link.max_write = (max_recv_size as usize).max(16);
                Ok(link)
            }
            other => Err(proto(format!(
                "create_link refused: {} (error {})",
                error_text(other.error()),
                other.error()
            ))),
        }
    }

    /// Call a core channel procedure, waiting at most `timeout` plus a grace period.
    fn core(&mut self, call: &CoreCall, timeout: Duration) -> io::Result<CoreReply> {
        self.core_until(call, Instant::now() + timeout + RPC_GRACE)
    }

    /// Call a core channel procedure, waiting until `deadline`.
    fn core_until(&mut self, call: &CoreCall, deadline: Instant) -> io::Result<CoreReply> {
        self.xid = self.xid.wrapping_add(1);
        let rpc_call = RpcCall {
            xid: self.xid,
            program: DEVICE_CORE,
            version: DEVICE_CORE_VERSION,
            procedure: call.procedure(),
            args: call.encode(),
        };
        let results = rpc(&mut self.stream, &mut self.records, &rpc_call, deadline)?;
        CoreReply::decode(call.procedure(), &results).map_err(|e| protocol(e.to_string()))
    }

    /// Turn a VXI-11 error code into the transport's error conventions.
    fn check(&self, what: &str, error: i32) -> io::Result<()> {
        match error {
            0 => Ok(()),
            ERR_IO_TIMEOUT => Err(io::ErrorKind::TimedOut.into()),
            e => Err(protocol(format!(
                "{what}: VXI-11 error {e} ({})",
                error_text(e)
            ))),
        }
    }

    /// The link id the server gave.
    ///
    /// # Examples
    ///
    /// ```
    /// # let sim = smq_sim::SimInstrument::start(smq_sim::DmmModel::standalone(1)).unwrap();
    /// use smq_instrument::vxi11::Vxi11Transport;
    /// let link = Vxi11Transport::connect("127.0.0.1", "inst0", sim.vxi11_portmapper_port(),
    ///     std::time::Duration::from_secs(1), "dmm")?;
    /// assert!(link.link_id() >= 0);
    /// # Ok::<(), smq_instrument::InstrumentError>(())
    /// ```
    pub fn link_id(&self) -> i32 {
        self.lid
    }
}

impl Transport for Vxi11Transport {
    fn read(&mut self, buf: &mut [u8], timeout: Duration) -> io::Result<usize> {
        let deadline = Instant::now() + timeout;
        while self.pending.is_empty() {
            let io_timeout = deadline.saturating_duration_since(Instant::now());
            if io_timeout.is_zero() {
                return Err(io::ErrorKind::TimedOut.into());
            }
            let call = CoreCall::Read {
                lid: self.lid,
                request_size: READ_CHUNK,
                io_timeout: millis(io_timeout).max(1),
                lock_timeout: 0,
                flags: 0,
                term_char: 0,
            };
            match self.core(&call, io_timeout)? {
                CoreReply::Read { error, data, .. } => {
                    self.check("device_read", error)?;
                    self.pending = data;
                }
                other => return Err(protocol(format!("unexpected reply {other:?}"))),
            }
        }
        let n = buf.len().min(self.pending.len());
        buf[..n].copy_from_slice(&self.pending[..n]);
        self.pending.drain(..n);
        Ok(n)
    }

    fn write_all(&mut self, data: &[u8], timeout: Duration) -> io::Result<()> {
        let deadline = Instant::now() + timeout;
        let chunks: Vec<&[u8]> = if data.is_empty() {
            vec![data]
        } else {
            data.chunks(self.max_write).collect()
        };
        let last = chunks.len() - 1;
        for (i, chunk) in chunks.into_iter().enumerate() {
            let io_timeout = deadline.saturating_duration_since(Instant::now());
            if io_timeout.is_zero() {
                return Err(io::ErrorKind::TimedOut.into());
            }
            let call = CoreCall::Write {
                lid: self.lid,
                io_timeout: millis(io_timeout).max(1),
                lock_timeout: 0,
                flags: if i == last { FLAG_END } else { 0 },
                data: chunk.to_vec(),
            };
            match self.core(&call, io_timeout)? {
                CoreReply::Write { error, size } => {
                    self.check("device_write", error)?;
                    if size as usize != chunk.len() {
                        return Err(protocol(format!(
                            "device_write took {size} of {} bytes",
                            chunk.len()
                        )));
                    }
                }
                other => return Err(protocol(format!("unexpected reply {other:?}"))),
            }
        }
        Ok(())
    }

    fn clear(&mut self) -> io::Result<()> {
        self.pending.clear();
        Ok(())
    }

    fn device_clear(&mut self, timeout: Duration) -> io::Result<()> {
        self.pending.clear();
        let call = CoreCall::Clear(super::Generic {
            lid: self.lid,
            flags: 0,
            lock_timeout: 0,
            io_timeout: millis(timeout),
        });
        let reply = self.core(&call, timeout)?;
        self.check("device_clear", reply.error())
    }

    fn read_status_byte(&mut self, timeout: Duration) -> io::Result<Option<u8>> {
        let call = CoreCall::ReadStb(super::Generic {
            lid: self.lid,
            flags: 0,
            lock_timeout: 0,
            io_timeout: millis(timeout),
        });
        match self.core(&call, timeout)? {
            CoreReply::ReadStb { error, stb } => {
                self.check("device_readstb", error)?;
                Ok(Some(stb))
            }
            other => Err(protocol(format!("unexpected reply {other:?}"))),
        }
    }

    fn describe(&self) -> String {
        self.describe.clone()
    }

    fn check_alive(&mut self) -> io::Result<()> {
        socket_alive(&self.stream)
    }
}

impl Drop for Vxi11Transport {
    fn drop(&mut self) {
        let call = CoreCall::DestroyLink { lid: self.lid };
        let _ = self.core_until(&call, Instant::now() + CLOSE_TIMEOUT);
        let _ = self.stream.shutdown(Shutdown::Both);
    }
}
