//! `smq demo` on instruments given by address: malformed addresses are refused before
//! anything is opened (exit code 2, the option named, every form listed); missing, refused
//! and silent instruments give a clear error naming the instrument and its address and exit
//! code 1; simulators started apart (`smq sim`), reached by address, run the whole demo like
//! real instruments, over serial, raw sockets and VXI-11. Real parts only: a pseudo-terminal
//! pair, TCP sockets on 127.0.0.1, the `smq sim` process.

#![allow(clippy::unwrap_used)]

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};

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
        "cannot open the multimeter at ASRL/nonexistent/ttyUSB9::INSTR",
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
        &format!("cannot open the scope at TCPIP0::127.0.0.1::{port}::SOCKET"),
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
    assert_fails_with(
        &out,
        &o,
        &format!("the stage at ASRL{path}::INSTR does not answer"),
    );
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
        &format!(
            "the multimeter at TCPIP0::127.0.0.1::{}::SOCKET does not answer",
            addr.port()
        ),
    );
    drop(listener);
}

#[test]
fn malformed_addresses_are_refused_before_anything_is_opened() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("runs");
    let bad = [
        "ttyUSB0",
        "tcp:nohost",
        "host:port",
        "serial:",
        "TCPIP0::host::SOCKET",
        "TCPIP0::host::5025",
        "TCPIP0::host::hislip0::INSTR",
        "USB0::0xZZZZ::0x04CE::INSTR",
        "USB0::0x1AB1::INSTR",
        "ASRL::INSTR",
        "GPIB0::5::INSTR",
    ];
    for option in ["--stage", "--dmm", "--scope"] {
        for text in bad {
            let o = demo(&out, &[option, text]);
            let stderr = String::from_utf8_lossy(&o.stderr);
            assert_eq!(
                o.status.code(),
                Some(2),
                "{option} {text}: {}",
                self::text(&o)
            );
            assert!(
                stderr.contains(&format!("'{option} <ADDRESS>'")),
                "{option} {text}: the option is not named: {stderr}"
            );
            assert!(stderr.contains("is not an instrument address"), "{stderr}");
            for form in smq_lab::ADDRESS_FORMS.lines() {
                assert!(
                    stderr.contains(form),
                    "{option} {text}: {form:?} not listed"
                );
            }
            assert!(!out.exists(), "{option} {text}: a run folder was created");
        }
    }
}

/// `smq sim`, running until dropped, and the lines it printed about its instruments.
struct Sim {
    child: Child,
    lines: Vec<String>,
}

impl Sim {
    fn start() -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_smq"))
            .args(["sim", "--seed", "3"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut out = BufReader::new(child.stdout.take().unwrap());
        let mut lines = Vec::new();
        loop {
            let mut line = String::new();
            assert!(
                out.read_line(&mut line).unwrap() > 0,
                "smq sim ended: {lines:?}"
            );
            if line.starts_with("Ctrl-C") {
                break;
            }
            lines.push(line.trim_end().to_owned());
        }
        Self { child, lines }
    }

    /// Column `col` of the line of `instrument`.
    fn field(&self, instrument: &str, col: usize) -> String {
        let line = self
            .lines
            .iter()
            .find(|l| l.starts_with(instrument))
            .unwrap();
        line.split_whitespace().nth(col).unwrap().to_owned()
    }
}

impl Drop for Sim {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Whether this process runs as root (and so can serve port 111).
fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Uid:"))
                .and_then(|l| l.split_whitespace().nth(2).map(|u| u == "0"))
        })
        .unwrap_or(false)
}

#[test]
fn demo_reaches_the_scope_of_smq_sim_by_vxi11_and_by_its_socket() {
    let sim = Sim::start();
    let vxi11 = sim.field("scope", 3);
    assert!(
        vxi11.starts_with("TCPIP0::127.0.0.1:") && vxi11.ends_with("::INSTR"),
        "{vxi11}"
    );
    let port = sim.field("scope", 2).rsplit(':').next().unwrap().to_owned();
    let mut scopes = vec![vxi11, format!("TCPIP0::127.0.0.1::{port}::SOCKET")];
    // As root, `smq sim` serves the port mapper on 111 as well: the VISA address without a
    // port works as for a LAN instrument.
    let exact = sim
        .lines
        .iter()
        .any(|l| l.starts_with("scope also at TCPIP0::127.0.0.1::INSTR"));
    if is_root() {
        assert!(exact, "{:?}", sim.lines);
    }
    if exact {
        scopes.push("TCPIP0::127.0.0.1::INSTR".to_owned());
    }
    for scope in scopes {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("runs");
        let o = demo(&out, &["--scope", &scope]);
        assert!(o.status.success(), "{scope}: {}", text(&o));
        let stdout = String::from_utf8_lossy(&o.stdout);
        assert!(
            stdout.contains(&format!("scope  {scope}  RIGOL")),
            "{}",
            text(&o)
        );
        let store = Store::open(&out).unwrap();
        let run = store.open_run(&store.runs().unwrap()[0]).unwrap();
        let meta = run.metadata().unwrap();
        assert_eq!(meta.parameters["instruments"]["scope"], scope);
        assert_eq!(
            run.read::<f64>("waveform").unwrap().shape()[0],
            5,
            "{scope}"
        );
    }
}

#[test]
fn demo_runs_on_instruments_given_by_address() {
    // Simulators started apart from the command, reached as real instruments would be:
    // the stage over its serial line, the meter over its raw socket, the scope by VXI-11.
    let bench = smq_sim::SimLab::start(7).unwrap();
    let stage = bench.stage.serial_path();
    let dmm = bench.dmm.tcp_addr().to_string();
    let scope = bench.scope.vxi11_address();
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
    assert_eq!(
        meta.parameters["instruments"]["stage"],
        format!("ASRL{stage}::INSTR")
    );
    assert_eq!(
        meta.parameters["instruments"]["dmm"],
        bench.dmm.socket_address()
    );
    assert_eq!(meta.parameters["instruments"]["scope"], scope);
    assert!(meta.instruments["dmm"].contains("34401A"));
    for d in ["position", "dmm_voltage", "waveform", "spectrum_peak"] {
        assert_eq!(run.read::<f64>(d).unwrap().shape()[0], 5, "{d}");
    }
}
