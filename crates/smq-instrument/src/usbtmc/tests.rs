//! The USBTMC transport against scripted byte sequences: every Bulk-OUT transfer, Bulk-IN
//! answer and class request in the order the USBTMC 1.0 and USB488 specifications give.

use std::collections::VecDeque;
use std::io;
use std::time::Duration;

use super::*;
use crate::Transport;

/// One step the device is expected to see, with its answer.
#[derive(Debug)]
enum Step {
    /// A Bulk-OUT transfer with exactly these bytes (or a timeout).
    Out(Vec<u8>, Option<io::ErrorKind>),
    /// A Bulk-IN transfer: its bytes, or an error.
    In(Result<Vec<u8>, io::ErrorKind>),
    /// A class request IN and its answer.
    Control(Recipient, u8, u16, u16, Vec<u8>),
    /// Clearing an endpoint's halt.
    ClearHalt(Recipient),
    /// An interrupt-IN transfer.
    Interrupt(Vec<u8>),
}

/// A device that follows a script and fails the test at the first step out of it.
#[derive(Debug)]
struct Script {
    steps: VecDeque<Step>,
    interrupt_endpoint: bool,
}

impl Script {
    fn new(steps: Vec<Step>) -> Self {
        Self {
            steps: steps.into(),
            interrupt_endpoint: false,
        }
    }

    fn next(&mut self, what: &str) -> Step {
        self.steps
            .pop_front()
            .unwrap_or_else(|| panic!("unexpected {what}: the script is over"))
    }
}

impl BulkPipe for Script {
    fn bulk_out(&mut self, data: &[u8], _: Duration) -> io::Result<()> {
        match self.next("Bulk-OUT") {
            Step::Out(expected, result) => {
                assert_eq!(data, expected.as_slice(), "Bulk-OUT bytes");
                result.map_or(Ok(()), |k| Err(k.into()))
            }
            other => panic!("Bulk-OUT {data:02x?}, expected {other:?}"),
        }
    }

    fn bulk_in(&mut self, max: usize, _: Duration) -> io::Result<Vec<u8>> {
        assert_eq!(
            max % self.max_packet_size(),
            0,
            "Bulk-IN size in whole packets"
        );
        match self.next("Bulk-IN") {
            Step::In(r) => r.map_err(io::Error::from),
            other => panic!("Bulk-IN, expected {other:?}"),
        }
    }

    fn control_in(
        &mut self,
        recipient: Recipient,
        request: u8,
        value: u16,
        length: u16,
        _: Duration,
    ) -> io::Result<Vec<u8>> {
        match self.next("control request") {
            Step::Control(r, q, v, l, answer) => {
                assert_eq!(
                    (recipient, request, value, length),
                    (r, q, v, l),
                    "control request"
                );
                Ok(answer)
            }
            other => panic!("control {request} to {recipient:?}, expected {other:?}"),
        }
    }

    fn clear_halt(&mut self, endpoint: Recipient) -> io::Result<()> {
        match self.next("CLEAR_FEATURE") {
            Step::ClearHalt(e) => {
                assert_eq!(e, endpoint);
                Ok(())
            }
            other => panic!("clear halt {endpoint:?}, expected {other:?}"),
        }
    }

    fn max_packet_size(&self) -> usize {
        64
    }

    fn interrupt_in(&mut self, _: Duration) -> io::Result<Option<Vec<u8>>> {
        if !self.interrupt_endpoint {
            return Ok(None);
        }
        match self.next("interrupt-IN") {
            Step::Interrupt(d) => Ok(Some(d)),
            other => panic!("interrupt-IN, expected {other:?}"),
        }
    }

    fn describe(&self) -> String {
        "script".into()
    }
}

fn finished(t: UsbtmcTransport<Script>) {
    assert!(
        t.pipe().steps.is_empty(),
        "steps left: {:?}",
        t.pipe().steps
    );
}

/// A Bulk-IN `DEV_DEP_MSG_IN` transfer answering `tag` with `data` (padded).
fn msg_in(tag: u8, data: &[u8], eom: bool) -> Vec<u8> {
    let mut t = vec![2, tag, !tag, 0];
    t.extend_from_slice(&u32::try_from(data.len()).unwrap().to_le_bytes());
    t.extend_from_slice(&[u8::from(eom), 0, 0, 0]);
    t.extend_from_slice(data);
    t.resize(t.len().div_ceil(4) * 4, 0);
    t
}

const T: Duration = Duration::from_secs(1);

fn read_all(t: &mut UsbtmcTransport<Script>, want: usize) -> Vec<u8> {
    let mut out = Vec::new();
    let mut buf = [0u8; 7];
    while out.len() < want {
        let n = t.read(&mut buf, T).unwrap();
        out.extend_from_slice(&buf[..n]);
    }
    out
}

#[test]
fn a_query_is_a_message_out_then_a_request_and_its_answer() {
    let mut t = UsbtmcTransport::new(Script::new(vec![
        Step::Out(
            vec![
                1, 1, 0xFE, 0, 6, 0, 0, 0, 1, 0, 0, 0, b'*', b'I', b'D', b'N', b'?', b'\n', 0, 0,
            ],
            None,
        ),
        Step::Out(vec![2, 2, 0xFD, 0, 0, 0, 1, 0, 0, 0, 0, 0], None),
        Step::In(Ok(msg_in(2, b"RIGOL,DS1104Z,X,1\n", true))),
    ]));
    t.write_all(b"*IDN?\n", T).unwrap();
    assert_eq!(read_all(&mut t, 18), b"RIGOL,DS1104Z,X,1\n");
    finished(t);
}

#[test]
fn a_long_message_is_split_in_transfers_with_eom_on_the_last() {
    let mut t = UsbtmcTransport::new(Script::new(vec![
        Step::Out(
            vec![
                1, 1, 0xFE, 0, 4, 0, 0, 0, 0, 0, 0, 0, b'A', b'B', b'C', b'D',
            ],
            None,
        ),
        Step::Out(
            vec![
                1, 2, 0xFD, 0, 4, 0, 0, 0, 0, 0, 0, 0, b'E', b'F', b'G', b'H',
            ],
            None,
        ),
        Step::Out(
            vec![1, 3, 0xFC, 0, 1, 0, 0, 0, 1, 0, 0, 0, b'\n', 0, 0, 0],
            None,
        ),
    ]))
    .with_max_transfer(4);
    t.write_all(b"ABCDEFGH\n", T).unwrap();
    finished(t);
}

#[test]
fn an_answer_in_several_transfers_and_a_message_without_eom_continue() {
    // The device answers 10 bytes with TransferSize 10 but ends the first Bulk-IN transfer
    // at a short packet after 4 of them: the rest comes in the next transfer, without a
    // header. Its message has no EOM: the next read sends a new request.
    let mut first = msg_in(1, b"0123456789", false);
    let rest = first.split_off(HEADER_LEN + 4);
    let mut t = UsbtmcTransport::new(Script::new(vec![
        Step::Out(vec![2, 1, 0xFE, 0, 0, 0, 1, 0, 0, 0, 0, 0], None),
        Step::In(Ok(first)),
        Step::In(Ok(rest)),
        Step::Out(vec![2, 2, 0xFD, 0, 0, 0, 1, 0, 0, 0, 0, 0], None),
        Step::In(Ok(msg_in(2, b"AB\n", true))),
    ]));
    assert_eq!(read_all(&mut t, 13), b"0123456789AB\n");
    finished(t);
}

#[test]
fn an_answer_with_the_wrong_tag_is_a_protocol_error() {
    let mut t = UsbtmcTransport::new(Script::new(vec![
        Step::Out(vec![2, 1, 0xFE, 0, 0, 0, 1, 0, 0, 0, 0, 0], None),
        Step::In(Ok(msg_in(7, b"x\n", true))),
    ]));
    let err = t.read(&mut [0u8; 8], T).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::InvalidData);
    assert!(err.to_string().contains("bTag 7"), "{err}");
    finished(t);
}

#[test]
fn a_read_timeout_aborts_the_bulk_in_transfer() {
    // INITIATE_ABORT_BULK_IN with the request's bTag; SUCCESS; read until a short packet;
    // CHECK_ABORT_BULK_IN_STATUS: pending with data queued, read again; then SUCCESS.
    let mut t = UsbtmcTransport::new(Script::new(vec![
        Step::Out(vec![2, 1, 0xFE, 0, 0, 0, 1, 0, 0, 0, 0, 0], None),
        Step::In(Err(io::ErrorKind::TimedOut)),
        Step::Control(Recipient::BulkIn, 3, 1, 2, vec![0x01, 1]),
        Step::In(Ok(vec![0; 64])),
        Step::In(Ok(vec![0; 10])),
        Step::Control(
            Recipient::BulkIn,
            4,
            0,
            8,
            vec![0x02, 0x01, 0, 0, 0, 0, 0, 0],
        ),
        Step::In(Ok(vec![0; 3])),
        Step::Control(Recipient::BulkIn, 4, 0, 8, vec![0x01, 0, 0, 0, 74, 0, 0, 0]),
    ]));
    let err = t.read(&mut [0u8; 8], T).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::TimedOut);
    finished(t);
}

#[test]
fn an_abort_with_nothing_in_progress_ends_there() {
    let mut t = UsbtmcTransport::new(Script::new(vec![
        Step::Out(vec![2, 1, 0xFE, 0, 0, 0, 1, 0, 0, 0, 0, 0], None),
        Step::In(Err(io::ErrorKind::TimedOut)),
        Step::Control(Recipient::BulkIn, 3, 1, 2, vec![0x81, 1]),
    ]));
    assert!(t.read(&mut [0u8; 8], T).is_err());
    finished(t);
}

#[test]
fn a_write_timeout_aborts_the_bulk_out_transfer() {
    // INITIATE_ABORT_BULK_OUT with the transfer's bTag; CHECK_ABORT_BULK_OUT_STATUS until
    // it is no longer pending; CLEAR_FEATURE(ENDPOINT_HALT) on Bulk-OUT.
    let mut t = UsbtmcTransport::new(Script::new(vec![
        Step::Out(
            vec![
                1, 1, 0xFE, 0, 5, 0, 0, 0, 1, 0, 0, 0, b'*', b'R', b'S', b'T', b'\n', 0, 0, 0,
            ],
            Some(io::ErrorKind::TimedOut),
        ),
        Step::Control(Recipient::BulkOut, 1, 1, 2, vec![0x01, 1]),
        Step::Control(Recipient::BulkOut, 2, 0, 8, vec![0x02, 0, 0, 0, 0, 0, 0, 0]),
        Step::Control(Recipient::BulkOut, 2, 0, 8, vec![0x01, 0, 0, 0, 5, 0, 0, 0]),
        Step::ClearHalt(Recipient::BulkOut),
    ]));
    let err = t.write_all(b"*RST\n", T).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::TimedOut);
    finished(t);
}

#[test]
fn device_clear_is_initiate_clear_then_check_until_done_then_clear_halt() {
    let mut t = UsbtmcTransport::new(Script::new(vec![
        Step::Control(Recipient::Interface, 5, 0, 1, vec![0x01]),
        Step::Control(Recipient::Interface, 6, 0, 2, vec![0x02, 0x01]),
        Step::In(Ok(vec![0; 5])),
        Step::Control(Recipient::Interface, 6, 0, 2, vec![0x02, 0x00]),
        Step::Control(Recipient::Interface, 6, 0, 2, vec![0x01, 0x00]),
        Step::ClearHalt(Recipient::BulkOut),
    ]));
    t.device_clear(T).unwrap();
    finished(t);

    let mut refused = UsbtmcTransport::new(Script::new(vec![Step::Control(
        Recipient::Interface,
        5,
        0,
        1,
        vec![0x80],
    )]));
    let err = refused.device_clear(T).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::InvalidData);
    finished(refused);
}

#[test]
fn the_status_byte_comes_with_the_request_or_on_the_interrupt_endpoint() {
    // Without an interrupt-IN endpoint: [STATUS_SUCCESS, bTag, status byte]; bTags 2..127.
    let mut t = UsbtmcTransport::new(Script::new(vec![
        Step::Control(Recipient::Interface, 128, 2, 3, vec![0x01, 2, 0x10]),
        Step::Control(Recipient::Interface, 128, 3, 3, vec![0x01, 3, 0x00]),
    ]));
    assert_eq!(t.read_status_byte(T).unwrap(), Some(0x10));
    assert_eq!(t.read_status_byte(T).unwrap(), Some(0x00));
    finished(t);

    // With one: the status byte comes there, after 0x80 | bTag.
    let mut script = Script::new(vec![
        Step::Control(Recipient::Interface, 128, 2, 3, vec![0x01, 2, 0]),
        Step::Interrupt(vec![0x82, 0x50]),
    ]);
    script.interrupt_endpoint = true;
    let mut t = UsbtmcTransport::new(script);
    assert_eq!(t.read_status_byte(T).unwrap(), Some(0x50));
    finished(t);
}

#[test]
fn through_a_connection_the_recovery_after_a_timeout_is_a_usbtmc_clear() {
    // A query that times out (the Bulk-IN transfer is aborted), then the next command:
    // device clear, `*CLS`, and the command.
    let script = Script::new(vec![
        Step::Out(
            vec![
                1, 1, 0xFE, 0, 6, 0, 0, 0, 1, 0, 0, 0, b'R', b'E', b'A', b'D', b'?', b'\n', 0, 0,
            ],
            None,
        ),
        Step::Out(vec![2, 2, 0xFD, 0, 0, 0, 1, 0, 0, 0, 0, 0], None),
        Step::In(Err(io::ErrorKind::TimedOut)),
        Step::Control(Recipient::BulkIn, 3, 2, 2, vec![0x81, 2]),
        Step::Control(Recipient::Interface, 5, 0, 1, vec![0x01]),
        Step::Control(Recipient::Interface, 6, 0, 2, vec![0x01, 0x00]),
        Step::ClearHalt(Recipient::BulkOut),
        Step::Out(
            vec![
                1, 3, 0xFC, 0, 5, 0, 0, 0, 1, 0, 0, 0, b'*', b'C', b'L', b'S', b'\n', 0, 0, 0,
            ],
            None,
        ),
        Step::Out(
            vec![
                1, 4, 0xFB, 0, 6, 0, 0, 0, 1, 0, 0, 0, b'R', b'E', b'A', b'D', b'?', b'\n', 0, 0,
            ],
            None,
        ),
        Step::Out(vec![2, 5, 0xFA, 0, 0, 0, 1, 0, 0, 0, 0, 0], None),
        Step::In(Ok(msg_in(5, b"+1.5E+00\n", true))),
    ]);
    let mut conn = crate::Connection::new("usb", UsbtmcTransport::new(script));
    assert!(conn.query("READ?").unwrap_err().is_timeout());
    assert_eq!(conn.query_parse::<f64>("READ?").unwrap(), 1.5);
}
