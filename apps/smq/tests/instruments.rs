//! `smq demo` on instruments given by address: missing, refused and silent instruments
//! give a clear error naming the instrument and its address and a non-zero exit code;
//! simulators started apart, reached by address, run the whole demo like real
//! instruments. Real parts only: a pseudo-terminal pair, TCP sockets on 127.0.0.1.

#![allow(clippy::unwrap_used)]

use std::net::TcpListener;
use std::path::Path;
use std::process::{Command, Output};

use smq_store::Store;

fn demo(out: &Path, instruments: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_smq"))
        .args(["demo", "--plain", "--points", "5", "--out"])
        .arg(out)
        .args(instruments)
        .output()
        .unwrap()
}

fn text(o: &Output) -> String {
    format!(
        "status {}\nstdout:\n{}\nstderr:\n{}",
        o.status,
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// The run fails with exit code 1, an `smq: error:` line containing `message`, no panic,
/// and no store written.
fn assert_fails_with(out: &Path, o: &Output, message: &str) {
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{}", text(o));
    assert!(
        stderr
            .lines()
            .any(|l| l.starts_with("smq: error: ") && l.contains(message)),
        "{message:?} not in:\n{}",
        text(o)
    );
    assert!(!stderr.contains("panicked"), "{}", text(o));
    assert!(!out.exists(), "a store was written for a failed start");
}

/// A TCP port on 127.0.0.1 that nothing listens on (bound, then released).
fn free_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

#[test]
fn missing_serial_port_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("runs");
    let o = demo(&out, &["--dmm", "/nonexistent/ttyUSB9"]);
    assert_fails_with(
        &out,
        &o,
        "cannot open the multimeter at /nonexistent/ttyUSB9",
    );
}

#[test]
fn refused_tcp_port_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("runs");
    let port = free_port();
    let o = demo(&out, &["--scope", &format!("127.0.0.1:{port}")]);
    assert_fails_with(
        &out,
        &o,
        &format!("cannot open the scope at tcp:127.0.0.1:{port}"),
    );
}

#[test]
fn silent_serial_instrument_is_a_clear_error() {
    // A real pseudo-terminal pair; nobody reads or answers on the master side.
    let (_master, slave) = serialport::TTYPort::pair().unwrap();
    let path = serialport::SerialPort::name(&slave).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("runs");
    let o = demo(&out, &["--stage", &path]);
    assert_fails_with(&out, &o, &format!("the stage at {path} does not answer"));
}

#[test]
fn silent_tcp_instrument_is_a_clear_error() {
    // Connections are accepted (by the kernel's backlog) but never answered.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("runs");
    let o = demo(&out, &["--dmm", &format!("tcp:{addr}")]);
    assert_fails_with(
        &out,
        &o,
        &format!("the multimeter at tcp:{addr} does not answer"),
    );
    drop(listener);
}

#[test]
fn bad_addresses_are_refused_by_the_parser() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("runs");
    for bad in ["ttyUSB0", "tcp:nohost", "host:port", "serial:"] {
        let o = demo(&out, &["--stage", bad]);
        assert_eq!(o.status.code(), Some(2), "{bad}: {}", text(&o));
        assert!(
            String::from_utf8_lossy(&o.stderr).contains("is not an instrument address"),
            "{bad}: {}",
            text(&o)
        );
    }
}

#[test]
fn demo_runs_on_instruments_given_by_address() {
    // Simulators started apart from the command, reached as real instruments would be:
    // the stage over its serial line, the meter and the scope over TCP.
    let bench = smq_sim::SimLab::start(7).unwrap();
    let stage = bench.stage.pty_path();
    let dmm = bench.dmm.tcp_addr().to_string();
    let scope = format!("tcp:{}", bench.scope.tcp_addr());
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("runs");
    let o = demo(&out, &["--stage", &stage, "--dmm", &dmm, "--scope", &scope]);
    assert!(o.status.success(), "{}", text(&o));
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(!stdout.contains("(simulated)"), "{}", text(&o));
    assert!(stdout.contains("maximum signal"), "{}", text(&o));
    // The bench's instruments did the work: the meter answered the scan's readings.
    assert!(
        bench.dmm.replies_sent() >= 5,
        "{}",
        bench.dmm.replies_sent()
    );
    assert!(bench.scope.replies_sent() >= 5);

    let store = Store::open(&out).unwrap();
    let runs = store.runs().unwrap();
    let run = store.open_run(&runs[0]).unwrap();
    let meta = run.metadata().unwrap();
    assert_eq!(meta.attributes["status"], "complete");
    assert_eq!(meta.parameters["instruments"]["stage"], stage);
    assert_eq!(meta.parameters["instruments"]["dmm"], format!("tcp:{dmm}"));
    assert_eq!(meta.parameters["instruments"]["scope"], scope);
    assert!(meta.instruments["dmm"].contains("34401A"));
    for d in ["position", "dmm_voltage", "waveform", "spectrum_peak"] {
        assert_eq!(run.read::<f64>(d).unwrap().shape()[0], 5, "{d}");
    }
}
