//! USBTMC over any [`BulkPipe`]: messages, reads, aborts after a timeout, device clear and
//! the status byte, as USBTMC 1.0 and USB488 give them.

use std::io;
use std::time::{Duration, Instant};

use super::frame::{
    CHECK_ABORT_BULK_IN_STATUS, CHECK_ABORT_BULK_OUT_STATUS, CHECK_CLEAR_STATUS, HEADER_LEN,
    INITIATE_ABORT_BULK_IN, INITIATE_ABORT_BULK_OUT, INITIATE_CLEAR, READ_STATUS_BYTE, Status,
    dev_dep_msg_out, next_status_tag, next_tag, parse_dev_dep_msg_in, request_dev_dep_msg_in,
};
use crate::transport::Transport;

/// Where a class request goes: the interface, or one of its bulk endpoints.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Recipient {
    /// The USBTMC interface (`wIndex` is its number).
    Interface,
    /// The Bulk-OUT endpoint (`wIndex` is its address).
    BulkOut,
    /// The Bulk-IN endpoint (`wIndex` is its address).
    BulkIn,
}

/// The few USB operations USBTMC needs, on one claimed USBTMC interface: bulk transfers
/// both ways, class control requests IN, clearing an endpoint's halt. The `nusb`
/// implementation ([`NusbPipe`](super::NusbPipe), feature `usb`) is a thin layer over
/// those calls; everything USBTMC means by them is in [`UsbtmcTransport`], so that it can
/// be checked against the specification's byte sequences with any pipe.
///
/// Errors follow the [`Transport`] conventions: a timeout is
/// [`io::ErrorKind::TimedOut`], a device gone is [`io::ErrorKind::NotConnected`] (or
/// another disconnection kind).
pub trait BulkPipe: Send {
    /// Send one Bulk-OUT transfer.
    fn bulk_out(&mut self, data: &[u8], timeout: Duration) -> io::Result<()>;
    /// Receive one Bulk-IN transfer of at most `max` bytes (a multiple of the maximum
    /// packet size): it ends at a short packet, or when `max` bytes have come.
    fn bulk_in(&mut self, max: usize, timeout: Duration) -> io::Result<Vec<u8>>;
    /// A class request with a data stage IN (`bmRequestType` 0xA1 or 0xA2): `request`,
    /// `wValue` = `value`, `wIndex` set by the pipe for `recipient`, `wLength` = `length`.
    fn control_in(
        &mut self,
        recipient: Recipient,
        request: u8,
        value: u16,
        length: u16,
        timeout: Duration,
    ) -> io::Result<Vec<u8>>;
    /// `CLEAR_FEATURE(ENDPOINT_HALT)` on a bulk endpoint.
    fn clear_halt(&mut self, endpoint: Recipient) -> io::Result<()>;
    /// The bulk endpoints' maximum packet size.
    fn max_packet_size(&self) -> usize;
    /// One transfer from the interrupt-IN endpoint, if the interface has one (USB488
    /// sends the status byte there); `None` if it has none (the default).
    fn interrupt_in(&mut self, timeout: Duration) -> io::Result<Option<Vec<u8>>> {
        let _ = timeout;
        Ok(None)
    }
    /// A short description, e.g. `usbtmc 1ab1:04ce DS1ZA000000001`.
    fn describe(&self) -> String;
}

/// Most message bytes asked for in one `REQUEST_DEV_DEP_MSG_IN`, and sent in one
/// `DEV_DEP_MSG_OUT` transfer, by default.
pub const DEFAULT_MAX_TRANSFER: u32 = 64 * 1024;

/// How many times a pending abort or clear is asked about before giving up.
const MAX_CHECKS: usize = 100;

/// Timeout of the class requests and of draining the Bulk-IN endpoint.
const CONTROL_TIMEOUT: Duration = Duration::from_millis(500);

fn protocol(msg: impl Into<String>) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, msg.into())
}

/// A USBTMC (USB488) link over a [`BulkPipe`], as a [`Transport`].
///
/// * [`write_all`](Transport::write_all) sends one message: `DEV_DEP_MSG_OUT` transfers of
///   at most [`max_transfer`](Self::with_max_transfer) bytes each, EOM set on the last.
/// * [`read`](Transport::read) sends `REQUEST_DEV_DEP_MSG_IN` and reads the answer, whose
///   message bytes may come in several Bulk-IN transfers (the first with a header, the
///   others the rest of its TransferSize); a message without EOM continues with a new
///   request at the next read.
/// * A transfer that times out is aborted as USBTMC 1.0 says: `INITIATE_ABORT_BULK_OUT`
///   then `CHECK_ABORT_BULK_OUT_STATUS` until it is no longer pending, then clearing the
///   Bulk-OUT halt; or `INITIATE_ABORT_BULK_IN`, reading the Bulk-IN endpoint until a short
///   packet, then `CHECK_ABORT_BULK_IN_STATUS` (reading again while it says data are
///   queued). The read or write then fails with a timeout.
/// * [`device_clear`](Transport::device_clear) is `INITIATE_CLEAR`, `CHECK_CLEAR_STATUS`
///   until done (reading the Bulk-IN endpoint while it says so), and clearing the Bulk-OUT
///   halt. [`read_status_byte`](Transport::read_status_byte) is USB488's
///   `READ_STATUS_BYTE`.
///
/// This has been checked against the specification's byte sequences only; it has not met
/// real hardware here.
#[derive(Debug)]
pub struct UsbtmcTransport<P> {
    pipe: P,
    tag: u8,
    status_tag: u8,
    max_transfer: u32,
    /// Message bytes read and not handed out yet.
    pending: Vec<u8>,
    /// Message bytes of the current Bulk-IN transfer still to come.
    rest: usize,
    /// bTag of the request being answered, while `rest > 0`.
    in_tag: u8,
}

impl<P: BulkPipe> UsbtmcTransport<P> {
    /// A link over `pipe`.
    pub fn new(pipe: P) -> Self {
        Self {
            pipe,
            tag: 0,
            status_tag: 1,
            max_transfer: DEFAULT_MAX_TRANSFER,
            pending: Vec::new(),
            rest: 0,
            in_tag: 0,
        }
    }

    /// Send and ask for at most `bytes` message bytes per transfer (at least 4).
    pub fn with_max_transfer(mut self, bytes: u32) -> Self {
        self.max_transfer = bytes.max(4);
        self
    }

    /// The pipe.
    pub fn pipe(&self) -> &P {
        &self.pipe
    }

    fn next_tag(&mut self) -> u8 {
        self.tag = next_tag(self.tag);
        self.tag
    }

    /// Size of a Bulk-IN transfer big enough for a header, `max_transfer` bytes and
    /// alignment, in whole packets.
    fn in_size(&self) -> usize {
        let packet = self.pipe.max_packet_size().max(1);
        let want = HEADER_LEN + self.max_transfer as usize + 3;
        want.div_ceil(packet) * packet
    }

    /// Read the Bulk-IN endpoint until a short packet (or nothing comes), dropping what
    /// comes.
    fn drain_bulk_in(&mut self) {
        let packet = self.pipe.max_packet_size().max(1);
        for _ in 0..MAX_CHECKS {
            match self.pipe.bulk_in(packet, CONTROL_TIMEOUT) {
                Ok(d) if d.len() == packet => {}
                _ => return,
            }
        }
    }

    /// Abort the Bulk-IN transfer answering request `tag` (USBTMC 1.0, 4.2.1.4-5).
    fn abort_bulk_in(&mut self, tag: u8) -> io::Result<()> {
        self.pending.clear();
        self.rest = 0;
        let r = self.pipe.control_in(
            Recipient::BulkIn,
            INITIATE_ABORT_BULK_IN,
            u16::from(tag),
            2,
            CONTROL_TIMEOUT,
        )?;
        if r.first().map(|&b| Status::from_byte(b)) != Some(Status::Success) {
            // Nothing in progress (it ended meanwhile) or refused: nothing to wait for.
            return Ok(());
        }
        self.drain_bulk_in();
        for _ in 0..MAX_CHECKS {
            let s = self.pipe.control_in(
                Recipient::BulkIn,
                CHECK_ABORT_BULK_IN_STATUS,
                0,
                8,
                CONTROL_TIMEOUT,
            )?;
            match s.first().map(|&b| Status::from_byte(b)) {
                Some(Status::Pending) => {
                    if s.get(1).is_some_and(|b| b & 0x01 != 0) {
                        self.drain_bulk_in();
                    }
                }
                _ => return Ok(()),
            }
        }
        Err(protocol("the Bulk-IN abort is still pending"))
    }

    /// Abort the Bulk-OUT transfer with `tag` (USBTMC 1.0, 4.2.1.2-3).
    fn abort_bulk_out(&mut self, tag: u8) -> io::Result<()> {
        let r = self.pipe.control_in(
            Recipient::BulkOut,
            INITIATE_ABORT_BULK_OUT,
            u16::from(tag),
            2,
            CONTROL_TIMEOUT,
        )?;
        if r.first().map(|&b| Status::from_byte(b)) != Some(Status::Success) {
            return Ok(());
        }
        for _ in 0..MAX_CHECKS {
            let s = self.pipe.control_in(
                Recipient::BulkOut,
                CHECK_ABORT_BULK_OUT_STATUS,
                0,
                8,
                CONTROL_TIMEOUT,
            )?;
            if s.first().map(|&b| Status::from_byte(b)) != Some(Status::Pending) {
                return self.pipe.clear_halt(Recipient::BulkOut);
            }
        }
        Err(protocol("the Bulk-OUT abort is still pending"))
    }

    /// The rest of the current Bulk-IN transfer, or a new request and its answer.
    fn fill(&mut self, timeout: Duration) -> io::Result<()> {
        if self.rest > 0 {
            let data = match self.pipe.bulk_in(self.in_size(), timeout) {
                Err(e) if e.kind() == io::ErrorKind::TimedOut => {
                    let tag = self.in_tag;
                    self.abort_bulk_in(tag)?;
                    return Err(e);
                }
                other => other?,
            };
            let n = data.len().min(self.rest);
            self.pending.extend_from_slice(&data[..n]);
            self.rest -= n;
            return Ok(());
        }
        let tag = self.next_tag();
        let request = request_dev_dep_msg_in(tag, self.max_transfer, None);
        if let Err(e) = self.pipe.bulk_out(&request, timeout) {
            if e.kind() == io::ErrorKind::TimedOut {
                self.abort_bulk_out(tag)?;
            }
            return Err(e);
        }
        let transfer = match self.pipe.bulk_in(self.in_size(), timeout) {
            Err(e) if e.kind() == io::ErrorKind::TimedOut => {
                self.abort_bulk_in(tag)?;
                return Err(e);
            }
            other => other?,
        };
        let header = parse_dev_dep_msg_in(tag, self.max_transfer, &transfer)
            .map_err(|e| protocol(e.to_string()))?;
        let size = header.transfer_size as usize;
        let body = &transfer[HEADER_LEN..];
        let n = body.len().min(size);
        self.pending.extend_from_slice(&body[..n]);
        self.rest = size - n;
        self.in_tag = tag;
        Ok(())
    }
}

impl<P: BulkPipe> Transport for UsbtmcTransport<P> {
    fn read(&mut self, buf: &mut [u8], timeout: Duration) -> io::Result<usize> {
        let deadline = Instant::now() + timeout;
        while self.pending.is_empty() {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(io::ErrorKind::TimedOut.into());
            }
            self.fill(left)?;
        }
        let n = buf.len().min(self.pending.len());
        buf[..n].copy_from_slice(&self.pending[..n]);
        self.pending.drain(..n);
        Ok(n)
    }

    fn write_all(&mut self, data: &[u8], timeout: Duration) -> io::Result<()> {
        let deadline = Instant::now() + timeout;
        let chunks: Vec<&[u8]> = data.chunks(self.max_transfer as usize).collect();
        let last = chunks.len().saturating_sub(1);
        for (i, chunk) in chunks.into_iter().enumerate() {
            let tag = self.next_tag();
            let left = deadline.saturating_duration_since(Instant::now());
            let result = if left.is_zero() {
                Err(io::ErrorKind::TimedOut.into())
            } else {
                self.pipe
                    .bulk_out(&dev_dep_msg_out(tag, chunk, i == last), left)
            };
            if let Err(e) = result {
                if e.kind() == io::ErrorKind::TimedOut {
                    self.abort_bulk_out(tag)?;
                }
                return Err(e);
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
        self.rest = 0;
        let r = self
            .pipe
            .control_in(Recipient::Interface, INITIATE_CLEAR, 0, 1, timeout)?;
        if r.first().map(|&b| Status::from_byte(b)) != Some(Status::Success) {
            return Err(protocol(format!("INITIATE_CLEAR refused: {r:02x?}")));
        }
        for _ in 0..MAX_CHECKS {
            let s =
                self.pipe
                    .control_in(Recipient::Interface, CHECK_CLEAR_STATUS, 0, 2, timeout)?;
            match s.first().map(|&b| Status::from_byte(b)) {
                Some(Status::Pending) => {
                    if s.get(1).is_some_and(|b| b & 0x01 != 0) {
                        self.drain_bulk_in();
                    }
                }
                Some(Status::Success) => return self.pipe.clear_halt(Recipient::BulkOut),
                _ => return Err(protocol(format!("CHECK_CLEAR_STATUS failed: {s:02x?}"))),
            }
        }
        Err(protocol("the clear is still pending"))
    }

    fn read_status_byte(&mut self, timeout: Duration) -> io::Result<Option<u8>> {
        self.status_tag = next_status_tag(self.status_tag);
        let tag = self.status_tag;
        let r = self.pipe.control_in(
            Recipient::Interface,
            READ_STATUS_BYTE,
            u16::from(tag),
            3,
            timeout,
        )?;
        match r.as_slice() {
            [status, t, stb] if Status::from_byte(*status) == Status::Success && *t == tag => {
                match self.pipe.interrupt_in(timeout)? {
                    None => Ok(Some(*stb)),
                    // USB488 3.4.2: the interrupt-IN notification is bTag | 0x80, then the
                    // status byte.
                    Some(n) if n.len() == 2 && n[0] == (0x80 | tag) => Ok(Some(n[1])),
                    Some(n) => Err(protocol(format!("unexpected interrupt-IN data {n:02x?}"))),
                }
            }
            other => Err(protocol(format!("READ_STATUS_BYTE answered {other:02x?}"))),
        }
    }

    fn describe(&self) -> String {
        self.pipe.describe()
    }
}
