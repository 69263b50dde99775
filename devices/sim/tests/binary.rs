//! The `smq-sim` binary: prints where the instruments are, serves them,
//! stops on Ctrl-C (SIGINT).

#![allow(clippy::unwrap_used)]

use std::io::{BufRead, BufReader, Read};
use std::process::{Command, Stdio};

use smq_instrument::{Connection, SerialConfig};

#[test]
fn prints_endpoints_serves_and_stops_on_sigint() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_smq-sim"))
        .args(["--seed", "4", "--latency-ms", "1"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut table = Vec::new();
    for _ in 0..4 {
        let mut line = String::new();
        out.read_line(&mut line).unwrap();
        table.push(line);
    }
    let field = |name: &str, col: usize| {
        table
            .iter()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(col))
            .unwrap()
            .to_owned()
    };
    let mut dmm = Connection::tcp("dmm", field("dmm", 2)).unwrap();
    assert_eq!(dmm.idn().unwrap().model, "34401A");
    let mut scope =
        Connection::serial("scope", &field("scope", 1), &SerialConfig::default()).unwrap();
    assert_eq!(scope.idn().unwrap().model, "DS1104Z");
    let mut stage = Connection::tcp("stage", field("stage", 2))
        .unwrap()
        .with_terminators(b"\r\n", b"\r\n");
    assert_eq!(stage.query("1TS").unwrap(), "1TS00000A");

    let pid = libc::pid_t::try_from(child.id()).unwrap();
    // SAFETY: sending a signal to our own child process.
    assert_eq!(unsafe { libc::kill(pid, libc::SIGINT) }, 0);
    let status = child.wait().unwrap();
    assert!(status.success(), "{status:?}");
    let mut rest = String::new();
    out.read_to_string(&mut rest).unwrap();
    assert!(rest.contains("stopped."), "{rest}");
}

#[test]
fn a_negative_seed_is_refused_as_a_value_out_of_range() {
    let out = Command::new(env!("CARGO_BIN_EXE_smq-sim"))
        .args(["--seed", "-3"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("invalid value '-3' for '--seed"), "{err}");
    assert!(!err.contains("unexpected argument"), "{err}");
}
