//! `Connection` over real TCP sockets against small scripted peers, and
//! fed arbitrary bytes.

#![allow(clippy::unwrap_used)]

use std::io::{self, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::thread::JoinHandle;
use std::time::Duration;

use proptest::prelude::*;
use smq_instrument::{
    ByteOrder, Connection, InstrumentError, Transport, encode_array, encode_block,
};

/// A peer that answers each received line (in order) with the given reply
/// bytes, then closes.
fn peer(replies: Vec<Vec<u8>>) -> (std::net::SocketAddr, JoinHandle<Vec<String>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let h = std::thread::spawn(move || {
        let (mut s, _) = listener.accept().unwrap();
        let mut seen = Vec::new();
        let mut buf = Vec::new();
        for reply in replies {
            // Read one command line.
            loop {
                if let Some(i) = buf.iter().position(|&b| b == b'\n') {
                    let line: Vec<u8> = buf.drain(..=i).collect();
                    seen.push(String::from_utf8_lossy(&line).into_owned());
                    break;
                }
                let mut chunk = [0u8; 256];
                match s.read(&mut chunk) {
                    Ok(0) | Err(_) => return seen,
                    Ok(n) => buf.extend_from_slice(&chunk[..n]),
                }
            }
            if s.write_all(&reply).is_err() {
                return seen;
            }
        }
        seen
    });
    (addr, h)
}

fn conn(addr: std::net::SocketAddr) -> Connection {
    Connection::tcp("dev", addr)
        .unwrap()
        .with_timeout(Duration::from_millis(500))
}

#[test]
fn query_write_terminators() {
    let (addr, h) = peer(vec![b"hello\r\n".to_vec(), b" 42 \r\n".to_vec()]);
    let mut c = conn(addr).with_terminators(b"\r\n", b"\r\n");
    assert_eq!(c.query("A?").unwrap(), "hello");
    assert_eq!(c.query_parse::<i32>("B?").unwrap(), 42);
    drop(c);
    assert_eq!(h.join().unwrap(), vec!["A?\r\n", "B?\r\n"]);
}

#[test]
fn definite_and_indefinite_blocks() {
    let samples: Vec<i16> = vec![-2, -1, 0, 1, 1000];
    let mut definite = encode_block(&encode_array(&samples, ByteOrder::Big));
    definite.push(b'\n');
    let (addr, _h) = peer(vec![
        definite,
        b"#0abc\n".to_vec(),
        b"#15a\nb\nc\nnext\n".to_vec(),
    ]);
    let mut c = conn(addr);
    let a = c.query_array::<i16>("CURV?", ByteOrder::Big).unwrap();
    assert_eq!(a.to_vec(), samples);
    assert_eq!(c.query_block("IND?").unwrap(), b"abc");
    // A payload may contain newlines; the line after it is intact.
    assert_eq!(c.query_block("NL?").unwrap(), b"a\nb\nc");
    assert_eq!(c.read_line("NL?").unwrap(), "next");
}

#[test]
fn misaligned_array_is_garbage() {
    let (addr, _h) = peer(vec![b"#13abc\n".to_vec()]);
    let mut c = conn(addr);
    let err = c
        .query_array::<f32>("DATA?", ByteOrder::Little)
        .unwrap_err();
    assert!(matches!(err, InstrumentError::Garbage { .. }), "{err:?}");
    assert!(err.to_string().contains("DATA?"));
}

#[test]
fn error_queue_is_read_until_no_error() {
    let (addr, h) = peer(vec![
        b"-113,\"Undefined header\"\n".to_vec(),
        b"-222,\"Data out of range\"\n".to_vec(),
        b"+0,\"No error\"\n".to_vec(),
    ]);
    let mut c = conn(addr);
    let err = c.check_errors("FOO 1").unwrap_err();
    match &err {
        InstrumentError::Scpi {
            device,
            command,
            code,
            message,
        } => {
            assert_eq!(device, "dev");
            assert_eq!(command, "FOO 1");
            assert_eq!(*code, -113);
            assert_eq!(message, "Undefined header");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        err.to_string(),
        "dev: instrument error -113,\"Undefined header\" after \"FOO 1\""
    );
    drop(c);
    assert_eq!(h.join().unwrap().len(), 3);
}

#[test]
fn idn_garbage_then_disconnect() {
    let (addr, _h) = peer(vec![b"just one field\n".to_vec()]);
    let mut c = conn(addr);
    let err = c.idn().unwrap_err();
    assert!(matches!(err, InstrumentError::Garbage { .. }));
    assert!(err.to_string().contains("*IDN?"));
    // The peer has no more replies: it closes, which is a disconnect.
    let err = c.idn().unwrap_err();
    assert!(err.is_disconnected(), "{err:?}");
}

#[test]
fn silent_peer_times_out() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let mut c = Connection::tcp("quiet", listener.local_addr().unwrap())
        .unwrap()
        .with_timeout(Duration::from_millis(100));
    let _peer: TcpStream = listener.accept().unwrap().0;
    let err = c.query("MEAS?").unwrap_err();
    match &err {
        InstrumentError::Timeout {
            device,
            command,
            timeout,
        } => {
            assert_eq!(device, "quiet");
            assert_eq!(command, "MEAS?");
            assert_eq!(*timeout, Duration::from_millis(100));
        }
        other => panic!("{other:?}"),
    }
    assert!(c.read_block("BLK?").unwrap_err().is_timeout());
}

#[test]
fn refused_connection_is_io_error() {
    let addr = {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap()
    };
    let err = Connection::tcp("gone", addr).unwrap_err();
    assert!(matches!(err, InstrumentError::Io { .. }), "{err:?}");
    assert!(err.to_string().starts_with("gone:"));
}

/// A transport that plays back fixed bytes in chunks of at most `chunk`
/// bytes, then reports end of stream.
struct Playback(Vec<u8>, usize);

impl Playback {
    fn new(bytes: Vec<u8>) -> Self {
        Self(bytes, 7)
    }
}

impl Transport for Playback {
    fn read(&mut self, buf: &mut [u8], _timeout: Duration) -> io::Result<usize> {
        let n = buf.len().min(self.0.len()).min(self.1.max(1));
        buf[..n].copy_from_slice(&self.0[..n]);
        self.0.drain(..n);
        Ok(n)
    }
    fn write_all(&mut self, _data: &[u8], _timeout: Duration) -> io::Result<()> {
        Ok(())
    }
    fn clear(&mut self) -> io::Result<()> {
        Ok(())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
    fn describe(&self) -> String {
        "playback".to_owned()
    }
}

proptest! {
    #[test]
    fn arbitrary_replies_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
        let mut c = Connection::new("fuzz", Playback::new(bytes.clone()));
        let _ = c.idn();
        let _ = c.check_errors("X");
        let mut c = Connection::new("fuzz", Playback::new(bytes.clone()));
        let _ = c.query_array::<f64>("D?", ByteOrder::Big);
        let _ = c.query_block("D?");
        let mut c = Connection::new("fuzz", Playback::new(bytes)).with_terminators(b"\r\n", b"\r\n");
        let _ = c.query_parse::<f64>("V?");
        let _ = c.read_block("D?");
    }

    #[test]
    fn blocks_round_trip_through_a_connection(payload in proptest::collection::vec(any::<u8>(), 0..300)) {
        let mut wire = encode_block(&payload);
        wire.extend_from_slice(b"\nOK\n");
        let mut c = Connection::new("rt", Playback::new(wire));
        prop_assert_eq!(c.query_block("D?").unwrap(), payload);
        prop_assert_eq!(c.read_line("D?").unwrap(), "OK");
    }

    #[test]
    fn block_terminator_split_across_reads(payload in proptest::collection::vec(any::<u8>(), 0..64), chunk in 1usize..16) {
        let mut wire = encode_block(&payload);
        wire.extend_from_slice(b"\r\nOK\r\n");
        let mut c = Connection::new("crlf", Playback(wire, chunk)).with_terminators(b"\r\n", b"\r\n");
        prop_assert_eq!(c.query_block("D?").unwrap(), payload);
        prop_assert_eq!(c.read_line("N?").unwrap(), "OK");
    }
}
