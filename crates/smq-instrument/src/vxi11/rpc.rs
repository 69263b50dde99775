//! ONC RPC version 2 (RFC 5531) over TCP: record marking, call and reply headers, with the
//! null authentication VXI-11 uses.

use super::WireError;
use super::xdr::{Decoder, Encoder};

/// Bit of a record-marking header that marks the last fragment of a record.
const LAST_FRAGMENT: u32 = 0x8000_0000;

/// Largest record accepted (a VXI-11 read or write carries at most what the peer allows;
/// this bounds what a broken peer can make the reader allocate).
const MAX_RECORD: usize = 64 << 20;

/// `msg_type` of a call and of a reply.
const CALL: u32 = 0;
const REPLY: u32 = 1;
/// `reply_stat`.
const MSG_ACCEPTED: u32 = 0;
const MSG_DENIED: u32 = 1;
/// The null authentication flavor.
const AUTH_NONE: u32 = 0;

/// Frame `payload` as one record: a header with the last-fragment bit and the length, then
/// the payload.
///
/// # Examples
///
/// ```
/// let r = smq_instrument::vxi11::encode_record(b"abcd");
/// assert_eq!(r, [0x80, 0, 0, 4, b'a', b'b', b'c', b'd']);
/// ```
pub fn encode_record(payload: &[u8]) -> Vec<u8> {
    let len = u32::try_from(payload.len()).unwrap_or(u32::MAX >> 1) & !LAST_FRAGMENT;
    let mut out = Vec::with_capacity(payload.len() + 4);
    out.extend_from_slice(&(len | LAST_FRAGMENT).to_be_bytes());
    out.extend_from_slice(payload);
    out
}

/// Reassembles records from bytes as they arrive on a TCP stream (a record may come in
/// several fragments, and a read may hold several records or part of one).
///
/// # Examples
///
/// ```
/// use smq_instrument::vxi11::RecordReader;
/// let mut r = RecordReader::default();
/// r.push(&[0x00, 0, 0, 2, b'a', b'b', 0x80, 0, 0]); // a first fragment, half a header
/// assert_eq!(r.next_record(), Ok(None));
/// r.push(&[1, b'c']);
/// assert_eq!(r.next_record(), Ok(Some(b"abc".to_vec())));
/// ```
#[derive(Debug, Default)]
pub struct RecordReader {
    buf: Vec<u8>,
    record: Vec<u8>,
}

impl RecordReader {
    /// Add bytes received.
    pub fn push(&mut self, data: &[u8]) {
        self.buf.extend_from_slice(data);
    }

    /// The next complete record, if one has arrived.
    ///
    /// # Errors
    ///
    /// [`WireError::Invalid`] if a record is larger than 64 MiB (the stream is then
    /// unusable).
    pub fn next_record(&mut self) -> Result<Option<Vec<u8>>, WireError> {
        loop {
            if self.buf.len() < 4 {
                return Ok(None);
            }
            let header = u32::from_be_bytes([self.buf[0], self.buf[1], self.buf[2], self.buf[3]]);
            let len = (header & !LAST_FRAGMENT) as usize;
            if self.record.len() + len > MAX_RECORD {
                return Err(WireError::Invalid(format!(
                    "record of more than {MAX_RECORD} bytes"
                )));
            }
            if self.buf.len() < 4 + len {
                return Ok(None);
            }
            self.record.extend_from_slice(&self.buf[4..4 + len]);
            self.buf.drain(..4 + len);
            if header & LAST_FRAGMENT != 0 {
                return Ok(Some(std::mem::take(&mut self.record)));
            }
        }
    }

    /// Forget everything received (after the stream was found broken).
    pub fn reset(&mut self) {
        self.buf.clear();
        self.record.clear();
    }
}

/// An RPC call: which procedure of which program, and its encoded arguments.
///
/// # Examples
///
/// ```
/// use smq_instrument::vxi11::RpcCall;
/// let call = RpcCall { xid: 7, program: 100_000, version: 2, procedure: 0, args: vec![] };
/// assert_eq!(RpcCall::decode(&call.encode()), Ok(call));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RpcCall {
    /// Transaction id, echoed by the reply.
    pub xid: u32,
    /// Program number (`DEVICE_CORE`, `PORTMAPPER`).
    pub program: u32,
    /// Program version.
    pub version: u32,
    /// Procedure number.
    pub procedure: u32,
    /// The XDR-encoded arguments.
    pub args: Vec<u8>,
}

impl RpcCall {
    /// The call message (not yet framed as a record).
    pub fn encode(&self) -> Vec<u8> {
        let mut e = Encoder::default();
        e.u32(self.xid)
            .u32(CALL)
            .u32(2)
            .u32(self.program)
            .u32(self.version)
            .u32(self.procedure)
            .u32(AUTH_NONE)
            .u32(0)
            .u32(AUTH_NONE)
            .u32(0);
        e.buf.extend_from_slice(&self.args);
        e.buf
    }

    /// Decode a call message (credentials of any flavor are skipped).
    ///
    /// # Errors
    ///
    /// [`WireError`] if the message is not an RPC version 2 call.
    pub fn decode(msg: &[u8]) -> Result<Self, WireError> {
        let mut d = Decoder::new(msg);
        let xid = d.u32()?;
        if d.u32()? != CALL {
            return Err(WireError::Invalid("not an RPC call".into()));
        }
        if d.u32()? != 2 {
            return Err(WireError::Invalid("RPC version is not 2".into()));
        }
        let (program, version, procedure) = (d.u32()?, d.u32()?, d.u32()?);
        for _ in 0..2 {
            let _flavor = d.u32()?;
            let _body = d.opaque()?;
        }
        Ok(Self {
            xid,
            program,
            version,
            procedure,
            args: d.rest().to_vec(),
        })
    }
}

/// The outcome of an RPC call, as its reply says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RpcOutcome {
    /// The procedure ran; its XDR-encoded results.
    Success(Vec<u8>),
    /// The server has no such program.
    ProgramUnavailable,
    /// The server has the program, not in this version.
    VersionMismatch,
    /// The program has no such procedure.
    ProcedureUnavailable,
    /// The server could not decode the arguments.
    GarbageArgs,
    /// The server failed (or refused the call) for another reason, with its status.
    Failed(u32),
}

/// An RPC reply: the call's transaction id and its outcome.
///
/// # Examples
///
/// ```
/// use smq_instrument::vxi11::{RpcOutcome, RpcReply};
/// let reply = RpcReply { xid: 7, outcome: RpcOutcome::Success(vec![0, 0, 0, 1]) };
/// assert_eq!(RpcReply::decode(&reply.encode()), Ok(reply));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RpcReply {
    /// Transaction id of the call answered.
    pub xid: u32,
    /// What happened.
    pub outcome: RpcOutcome,
}

impl RpcReply {
    /// The reply message (not yet framed as a record).
    pub fn encode(&self) -> Vec<u8> {
        let mut e = Encoder::default();
        e.u32(self.xid)
            .u32(REPLY)
            .u32(MSG_ACCEPTED)
            .u32(AUTH_NONE)
            .u32(0);
        match &self.outcome {
            RpcOutcome::Success(results) => {
                e.u32(0);
                e.buf.extend_from_slice(results);
            }
            RpcOutcome::ProgramUnavailable => {
                e.u32(1);
            }
            RpcOutcome::VersionMismatch => {
                e.u32(2).u32(1).u32(1);
            }
            RpcOutcome::ProcedureUnavailable => {
                e.u32(3);
            }
            RpcOutcome::GarbageArgs => {
                e.u32(4);
            }
            RpcOutcome::Failed(status) => {
                e.u32(*status);
            }
        }
        e.buf
    }

    /// Decode a reply message.
    ///
    /// # Errors
    ///
    /// [`WireError`] if the message is not an RPC reply.
    pub fn decode(msg: &[u8]) -> Result<Self, WireError> {
        let mut d = Decoder::new(msg);
        let xid = d.u32()?;
        if d.u32()? != REPLY {
            return Err(WireError::Invalid("not an RPC reply".into()));
        }
        let outcome = match d.u32()? {
            MSG_ACCEPTED => {
                let _flavor = d.u32()?;
                let _verifier = d.opaque()?;
                match d.u32()? {
                    0 => RpcOutcome::Success(d.rest().to_vec()),
                    1 => RpcOutcome::ProgramUnavailable,
                    2 => RpcOutcome::VersionMismatch,
                    3 => RpcOutcome::ProcedureUnavailable,
                    4 => RpcOutcome::GarbageArgs,
                    s => RpcOutcome::Failed(s),
                }
            }
            MSG_DENIED => RpcOutcome::Failed(100 + d.u32()?),
            s => return Err(WireError::Invalid(format!("reply status {s}"))),
        };
        Ok(Self { xid, outcome })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_call_is_laid_out_as_rfc_5531_says() {
        let call = RpcCall {
            xid: 1,
            program: 0x0607AF,
            version: 1,
            procedure: 10,
            args: vec![0xAA; 4],
        };
        let words: Vec<u32> = call
            .encode()
            .chunks(4)
            .map(|c| u32::from_be_bytes([c[0], c[1], c[2], c[3]]))
            .collect();
        // xid, CALL, rpcvers, prog, vers, proc, cred (none, 0), verf (none, 0), args.
        assert_eq!(words, [1, 0, 2, 0x0607AF, 1, 10, 0, 0, 0, 0, 0xAAAA_AAAA]);
    }

    #[test]
    fn records_split_in_fragments_and_reads_reassemble() {
        let mut r = RecordReader::default();
        let mut bytes = encode_record(b"one");
        bytes.extend(encode_record(b"two"));
        for b in &bytes {
            r.push(std::slice::from_ref(b));
        }
        assert_eq!(r.next_record().unwrap().unwrap(), b"one");
        assert_eq!(r.next_record().unwrap().unwrap(), b"two");
        assert_eq!(r.next_record().unwrap(), None);
        r.push(&[0xFF, 0xFF, 0xFF, 0xFF]);
        assert!(r.next_record().is_err());
    }

    #[test]
    fn a_denied_or_broken_reply_is_not_a_success() {
        let denied = [0, 0, 0, 9, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1];
        let r = RpcReply::decode(&denied).unwrap();
        assert_eq!(r.outcome, RpcOutcome::Failed(101));
        assert!(RpcReply::decode(&[0, 0, 0, 9, 0, 0, 0, 0]).is_err());
        assert!(RpcReply::decode(&[0, 0]).is_err());
    }
}
