//! The VXI-11 side of a simulated instrument: an RPC port mapper that names the core
//! channel's port, and the core channel, whose links feed the same responder as the
//! instrument's other links.
//!
//! The wire format is `smq_instrument::vxi11`'s, the one the client uses.
//!
//! # A link
//!
//! 1. `create_link` with the device name `inst0` (any case) opens a link: a responder task
//!    fed with the lines of `device_write`s (a message's last part, flagged END, ends a line
//!    even without a newline), whose replies queue up as messages.
//! 2. `device_read` returns the queued reply data, at most `request_size` bytes, with the
//!    END reason on a message's last byte. If nothing is queued it waits, at most the
//!    call's I/O timeout (then error 15, I/O timeout). Half a reply (a hang or disconnect
//!    fault) comes without END; a disconnect fault then closes the TCP connection.
//! 3. `device_clear` drops the link's responder, with the lines it had not answered, the
//!    queued data and a half-read message, and starts a new one: the device abandons what
//!    it was doing and empties its buffers.
//! 4. `device_readstb` answers MAV (0x10) when reply data are queued, else 0.
//! 5. `destroy_link`, or the connection closing, ends the link's responder.

use std::collections::HashMap;
use std::io;
use std::sync::Arc;
use std::time::Duration;

use smq_instrument::vxi11::{
    CoreCall, CoreReply, DEVICE_CORE, DEVICE_CORE_VERSION, ERR_DEVICE_NOT_ACCESSIBLE,
    ERR_INVALID_LINK, ERR_IO_TIMEOUT, ERR_NONE, FLAG_END, IPPROTO_TCP, PMAPPROC_GETPORT,
    PMAPPROC_NULL, PORTMAPPER, PORTMAPPER_VERSION, REASON_END, REASON_REQCNT, RecordReader,
    RpcCall, RpcOutcome, RpcReply, WireError, encode_record, parse_getport_args,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender, unbounded_channel};

use crate::link::{Out, Work, respond, take_lines};
use crate::shared::{Model, Shared};

/// The most bytes a `device_write` may carry, as `create_link` tells the client.
const MAX_RECV_SIZE: u32 = 64 * 1024;

/// Status byte bit: a message is available.
const MAV: u8 = 0x10;

/// Read the next RPC call on `stream`; `None` when the client closed or broke the stream.
async fn next_call(stream: &mut TcpStream, records: &mut RecordReader) -> Option<RpcCall> {
    let mut buf = [0u8; 16 * 1024];
    loop {
        match records.next_record() {
            Ok(Some(r)) => return RpcCall::decode(&r).ok(),
            Ok(None) => {}
            Err(_) => return None,
        }
        match stream.read(&mut buf).await {
            Ok(0) | Err(_) => return None,
            Ok(n) => records.push(&buf[..n]),
        }
    }
}

async fn send(stream: &mut TcpStream, xid: u32, outcome: RpcOutcome) -> io::Result<()> {
    let reply = RpcReply { xid, outcome };
    stream.write_all(&encode_record(&reply.encode())).await
}

/// The outcome of a call to a program that is not `program` version `version`.
fn check_program(call: &RpcCall, program: u32, version: u32) -> Option<RpcOutcome> {
    if call.program != program {
        Some(RpcOutcome::ProgramUnavailable)
    } else if call.version != version {
        Some(RpcOutcome::VersionMismatch)
    } else {
        None
    }
}

/// Serve the port mapper on one connection: NULL, and GETPORT, which names `core_port`
/// for the VXI-11 core channel over TCP and 0 (not registered) for anything else.
pub(crate) async fn serve_portmapper(mut stream: TcpStream, core_port: u16) {
    let mut records = RecordReader::default();
    while let Some(call) = next_call(&mut stream, &mut records).await {
        let outcome = check_program(&call, PORTMAPPER, PORTMAPPER_VERSION).unwrap_or_else(|| {
            match call.procedure {
                PMAPPROC_NULL => RpcOutcome::Success(Vec::new()),
                PMAPPROC_GETPORT => match parse_getport_args(&call.args) {
                    Ok((DEVICE_CORE, DEVICE_CORE_VERSION, IPPROTO_TCP)) => {
                        RpcOutcome::Success(u32::from(core_port).to_be_bytes().to_vec())
                    }
                    Ok(_) => RpcOutcome::Success(vec![0; 4]),
                    Err(_) => RpcOutcome::GarbageArgs,
                },
                _ => RpcOutcome::ProcedureUnavailable,
            }
        });
        if send(&mut stream, call.xid, outcome).await.is_err() {
            return;
        }
    }
}

/// A reply message being read.
struct Message {
    data: Vec<u8>,
    /// Read so far.
    at: usize,
    end: bool,
    counted: bool,
}

/// One link of the core channel (step 1).
struct Link<M> {
    work: Arc<Work<M>>,
    lines: UnboundedSender<String>,
    replies: UnboundedReceiver<Out>,
    responder: tokio::task::AbortHandle,
    /// Bytes written that do not end a line yet.
    input: Vec<u8>,
    /// The message being read.
    current: Option<Message>,
    /// A disconnect fault: close the connection once the data before it are read.
    closing: bool,
}

impl<M: Model> Link<M> {
    fn new(shared: &Arc<Shared<M>>) -> Self {
        let work = Work::new(Arc::clone(shared));
        let (line_tx, line_rx) = unbounded_channel();
        let (reply_tx, reply_rx) = unbounded_channel();
        let responder = tokio::spawn(respond(Arc::clone(&work), line_rx, reply_tx));
        Self {
            work,
            lines: line_tx,
            replies: reply_rx,
            responder: responder.abort_handle(),
            input: Vec::new(),
            current: None,
            closing: false,
        }
    }

    /// `device_write`: lines to the responder.
    fn write(&mut self, data: &[u8], flags: u32) -> CoreReply {
        self.input.extend_from_slice(data);
        let mut lines = take_lines(&mut self.input);
        if flags & FLAG_END != 0 {
            let rest = String::from_utf8_lossy(&std::mem::take(&mut self.input))
                .trim()
                .to_owned();
            if !rest.is_empty() {
                lines.push(rest);
            }
        }
        self.work.submit(&self.lines, lines);
        CoreReply::Write {
            error: ERR_NONE,
            size: u32::try_from(data.len()).unwrap_or(u32::MAX),
        }
    }

    /// The next reply message of the current generation, waiting at most `timeout`.
    /// `Err(())` when the link is to close.
    async fn next_message(&mut self, timeout: Duration) -> Result<Option<Message>, ()> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let next = tokio::time::timeout_at(deadline, self.replies.recv()).await;
            match next {
                Err(_) => return Ok(None),
                Ok(None) => return Err(()),
                Ok(Some(out)) => match out {
                    Out::Data {
                        bytes,
                        end,
                        counted,
                    } => {
                        return Ok(Some(Message {
                            data: bytes,
                            at: 0,
                            end,
                            counted,
                        }));
                    }
                    Out::Close => self.closing = true,
                },
            }
        }
    }

    /// `device_read` (step 2). `None`: close the connection.
    async fn read(&mut self, request_size: u32, io_timeout: u32) -> Option<CoreReply> {
        if self.current.is_none() {
            if self.closing {
                return None;
            }
            let timeout = Duration::from_millis(u64::from(io_timeout));
            match self.next_message(timeout).await {
                Ok(Some(m)) => self.current = Some(m),
                Ok(None) if self.closing => return None,
                Ok(None) => {
                    return Some(CoreReply::Read {
                        error: ERR_IO_TIMEOUT,
                        reason: 0,
                        data: Vec::new(),
                    });
                }
                Err(()) => return None,
            }
        }
        let m = self.current.as_mut()?;
        let n = (request_size as usize).max(1).min(m.data.len() - m.at);
        let data = m.data[m.at..m.at + n].to_vec();
        m.at += n;
        let mut reason = 0;
        if m.at == m.data.len() {
            if m.end {
                reason |= REASON_END;
            }
            if m.counted {
                self.work.delivered();
            }
            self.current = None;
        } else if n == request_size as usize {
            reason |= REASON_REQCNT;
        }
        Some(CoreReply::Read {
            error: ERR_NONE,
            reason,
            data,
        })
    }

    /// `device_clear` (step 3): a new responder; the old one, its queued lines and its
    /// replies are dropped.
    fn clear(&mut self, shared: &Arc<Shared<M>>) {
        *self = Self::new(shared);
    }
}

impl<M> Drop for Link<M> {
    fn drop(&mut self) {
        self.responder.abort();
    }
}

/// Serve the core channel on one connection (the module's steps).
pub(crate) async fn serve_core<M: Model>(shared: Arc<Shared<M>>, mut stream: TcpStream) {
    let _ = stream.set_nodelay(true);
    let mut records = RecordReader::default();
    let mut links: HashMap<i32, Link<M>> = HashMap::new();
    let mut next_lid = 0;
    while let Some(call) = next_call(&mut stream, &mut records).await {
        if let Some(outcome) = check_program(&call, DEVICE_CORE, DEVICE_CORE_VERSION) {
            if send(&mut stream, call.xid, outcome).await.is_err() {
                return;
            }
            continue;
        }
        let request = match CoreCall::decode(call.procedure, &call.args) {
            Ok(r) => r,
            Err(WireError::UnknownProcedure(_)) => {
                if send(&mut stream, call.xid, RpcOutcome::ProcedureUnavailable)
                    .await
                    .is_err()
                {
                    return;
                }
                continue;
            }
            Err(_) => {
                if send(&mut stream, call.xid, RpcOutcome::GarbageArgs)
                    .await
                    .is_err()
                {
                    return;
                }
                continue;
            }
        };
        let reply = match request {
            CoreCall::CreateLink { device, .. } => {
                if device.eq_ignore_ascii_case("inst0") {
                    next_lid += 1;
                    links.insert(next_lid, Link::new(&shared));
                    CoreReply::CreateLink {
                        error: ERR_NONE,
                        lid: next_lid,
                        abort_port: 0,
                        max_recv_size: MAX_RECV_SIZE,
                    }
                } else {
                    CoreReply::CreateLink {
                        error: ERR_DEVICE_NOT_ACCESSIBLE,
                        lid: 0,
                        abort_port: 0,
                        max_recv_size: 0,
                    }
                }
            }
            CoreCall::Write {
                lid, flags, data, ..
            } => match links.get_mut(&lid) {
                Some(l) => l.write(&data, flags),
                None => CoreReply::Write {
                    error: ERR_INVALID_LINK,
                    size: 0,
                },
            },
            CoreCall::Read {
                lid,
                request_size,
                io_timeout,
                ..
            } => match links.get_mut(&lid) {
                Some(l) => match l.read(request_size, io_timeout).await {
                    Some(r) => r,
                    // A disconnect fault: the connection closes.
                    None => return,
                },
                None => CoreReply::Read {
                    error: ERR_INVALID_LINK,
                    reason: 0,
                    data: Vec::new(),
                },
            },
            CoreCall::Clear(g) => match links.get_mut(&g.lid) {
                Some(l) => {
                    l.clear(&shared);
                    shared.update(|p| p.clears += 1);
                    CoreReply::Error(ERR_NONE)
                }
                None => CoreReply::Error(ERR_INVALID_LINK),
            },
            CoreCall::ReadStb(g) => match links.get_mut(&g.lid) {
                Some(l) => {
                    let mav = l.current.is_some() || !l.replies.is_empty();
                    CoreReply::ReadStb {
                        error: ERR_NONE,
                        stb: if mav { MAV } else { 0 },
                    }
                }
                None => CoreReply::ReadStb {
                    error: ERR_INVALID_LINK,
                    stb: 0,
                },
            },
            CoreCall::Trigger(g) | CoreCall::Remote(g) | CoreCall::Local(g) => {
                CoreReply::Error(if links.contains_key(&g.lid) {
                    ERR_NONE
                } else {
                    ERR_INVALID_LINK
                })
            }
            CoreCall::DestroyLink { lid } => CoreReply::Error(match links.remove(&lid) {
                Some(_) => ERR_NONE,
                None => ERR_INVALID_LINK,
            }),
        };
        let outcome = RpcOutcome::Success(reply.encode());
        if send(&mut stream, call.xid, outcome).await.is_err() {
            return;
        }
    }
}
