//! The simulator itself: links, shutdown, faults, robustness.

#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::sync::Arc;
use std::time::Duration;

use proptest::prelude::*;
use smq_instrument::{Connection, SerialConfig};
use smq_sim::{DmmModel, Fault, Model, Physics, ScopeModel, SimInstrument, SimLab, StageModel};

#[test]
fn dropping_the_handle_stops_the_instrument() {
    let sim = SimInstrument::start(DmmModel::standalone(1)).unwrap();
    let addr = sim.tcp_addr();
    let mut client = TcpStream::connect(addr).unwrap();
    client
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    drop(sim);
    // The connection is closed and nobody listens any more.
    let mut line = String::new();
    let n = BufReader::new(&client).read_line(&mut line).unwrap_or(0);
    assert_eq!(n, 0);
    let _ = client.write_all(b"*IDN?\n");
    assert!(TcpStream::connect(addr).is_err());
}

#[test]
fn several_clients_share_one_instrument() {
    let sim = SimInstrument::start(StageModel::standalone()).unwrap();
    let mut a = Connection::tcp("a", sim.tcp_addr())
        .unwrap()
        .with_terminators(b"\r\n", b"\r\n");
    let mut b = Connection::serial("b", &sim.pty_path(), &SerialConfig::default())
        .unwrap()
        .with_terminators(b"\r\n", b"\r\n");
    a.write("1OR").unwrap();
    // Commands on one link are handled in order.
    assert_eq!(a.query("1TE").unwrap(), "1TE@");
    assert_eq!(b.query("1TS").unwrap(), "1TS000032");
    assert!(sim.wait_idle(Duration::from_secs(5)));
}

#[test]
fn pty_disconnect_publishes_a_new_path() {
    let sim = SimInstrument::start(DmmModel::standalone(1)).unwrap();
    let old = sim.pty_path();
    let mut c = Connection::serial("dmm", &old, &SerialConfig::default()).unwrap();
    sim.inject(Fault::Disconnect);
    assert!(c.query("*IDN?").unwrap_err().is_disconnected());
    let new = sim.pty_path();
    assert_ne!(old, new);
    let mut c = Connection::serial("dmm", &new, &SerialConfig::default()).unwrap();
    assert_eq!(c.idn().unwrap().model, "34401A");
}

#[test]
fn reopening_the_same_pty_works() {
    let sim = SimInstrument::start(DmmModel::standalone(1)).unwrap();
    for _ in 0..3 {
        let mut c = Connection::serial("dmm", &sim.pty_path(), &SerialConfig::default()).unwrap();
        assert_eq!(c.idn().unwrap().model, "34401A");
    }
}

#[test]
fn lab_instruments_share_the_stage_position() {
    let lab = SimLab::start(5).unwrap();
    let mut stage = Connection::tcp("stage", lab.stage.tcp_addr())
        .unwrap()
        .with_terminators(b"\r\n", b"\r\n");
    let mut dmm = Connection::tcp("dmm", lab.dmm.tcp_addr()).unwrap();
    let far: f64 = dmm.query_parse("READ?").unwrap();
    stage.write("1OR").unwrap();
    stage.write("1VA1000").unwrap();
    assert_eq!(stage.query("1TE").unwrap(), "1TEC");
    lab.stage.with_model(|m| assert_eq!(m.velocity(), 20.0));
    // Homing from 0 is immediate; move onto the peak.
    assert_eq!(stage.query("1TS").unwrap(), "1TS000032");
    stage.write("1VA100").unwrap();
    stage.write("1PA5").unwrap();
    while stage.query("1TS").unwrap() != "1TS000033" {}
    assert_eq!(stage.query("1TP").unwrap(), "1TP5");
    let near: f64 = dmm.query_parse("READ?").unwrap();
    assert!(near > far + 0.9, "{near} vs {far}");
}

#[test]
fn seeded_noise_is_reproducible() {
    let read = |seed| {
        let mut m = DmmModel::standalone(seed);
        (0..5)
            .map(|_| String::from_utf8(m.handle("READ?").unwrap()).unwrap())
            .collect::<Vec<_>>()
    };
    assert_eq!(read(9), read(9));
    assert_ne!(read(9), read(10));
}

/// What one lab returns for a sequence of requests `(position, instrument)`: per position,
/// the multimeter's readings and the scope's channel 1 and 3 waveforms, in the order they
/// were taken at that position.
fn readings_by_position(seed: u64, requests: &[(f64, &str)]) -> BTreeMap<String, Vec<Vec<u8>>> {
    let sample = Arc::new(Physics::default());
    let mut dmm = DmmModel::new(Arc::clone(&sample), seed);
    let mut scope = ScopeModel::new(Arc::clone(&sample), seed + 1);
    // Vertical scales at which the noise spans several codes.
    for setting in [":CHAN1:SCAL 0.1", ":CHAN3:SCAL 0.01"] {
        assert!(scope.handle(setting).is_none());
    }
    let mut out: BTreeMap<String, Vec<Vec<u8>>> = BTreeMap::new();
    for &(x, instrument) in requests {
        sample.set_position(x);
        let key = format!("{x} {instrument}");
        let replies = out.entry(key).or_default();
        match instrument {
            "dmm" => replies.push(dmm.handle("READ?").unwrap()),
            _ => {
                // One capture (SINGle), read on two channels.
                assert!(scope.handle(":SING").is_none());
                for ch in ["CHAN1", "CHAN3"] {
                    assert!(scope.handle(&format!(":WAV:SOUR {ch}")).is_none());
                    replies.push(scope.handle(":WAV:DATA?").unwrap());
                }
            }
        }
    }
    out
}

#[test]
fn readings_do_not_depend_on_the_order_of_the_requests() {
    // A scan's requests as they might arrive: the multimeter and the scope at each
    // position, then the same requests interleaved another way, positions reversed,
    // some twice.
    let scan = [
        (1.0, "dmm"),
        (1.0, "scope"),
        (4.5, "dmm"),
        (4.5, "scope"),
        (5.0, "scope"),
        (5.0, "dmm"),
        (5.0, "dmm"),
    ];
    let mut shuffled = scan;
    shuffled.reverse();
    shuffled.swap(0, 3);
    shuffled.swap(1, 5);
    assert_ne!(shuffled, scan);
    let first = readings_by_position(5, &scan);
    assert_eq!(first, readings_by_position(5, &shuffled));
    // The two readings at 5 mm are two draws, not one repeated.
    let twice = &first["5 dmm"];
    assert_ne!(twice[0], twice[1]);
    // Channel 1 is the signal, channel 3 only noise: not the same trace.
    assert_ne!(first["1 scope"][0], first["1 scope"][1]);

    // Another seed: the same signal, other noise, everywhere.
    let other = readings_by_position(6, &scan);
    for (key, replies) in &first {
        for (a, b) in replies.iter().zip(&other[key]) {
            assert_ne!(a, b, "{key}: same reply with another seed");
        }
    }
}

proptest! {
    #[test]
    fn models_never_panic_on_arbitrary_lines(lines in proptest::collection::vec("\\PC{0,24}", 0..20)) {
        let mut dmm = DmmModel::standalone(1);
        let mut scope = ScopeModel::standalone(1);
        let mut stage = StageModel::standalone();
        for l in &lines {
            let _ = dmm.handle(l);
            let _ = scope.handle(l);
            let _ = stage.handle(l);
        }
    }

    #[test]
    fn models_never_panic_on_near_valid_commands(
        head in prop::sample::select(vec![
            "CONF:VOLT:DC", "VOLT:DC:NPLC", "TRIG:SOUR", "MEAS:CURR:DC?", ":CHAN3:SCAL",
            ":TIM:SCAL", ":WAV:SOUR", ":WAV:FORM", "1PA", "1PR", "1VA", "1MM", "32TS", "1",
        ]),
        arg in "[-+0-9.eE,A-Z?]{0,12}",
    ) {
        let line = format!("{head} {arg}");
        let _ = DmmModel::standalone(1).handle(&line);
        let _ = ScopeModel::standalone(1).handle(&line);
        let _ = StageModel::standalone().handle(&line.replace(' ', ""));
    }
}

#[test]
fn scpi_errors_are_pushed_where_there_is_a_queue() {
    let dmm = SimInstrument::start(DmmModel::standalone(1)).unwrap();
    let scope = SimInstrument::start(ScopeModel::standalone(1)).unwrap();
    let stage = SimInstrument::start(StageModel::standalone()).unwrap();
    assert!(dmm.push_error(-410, "Query INTERRUPTED"));
    assert!(scope.push_error(-410, "Query INTERRUPTED"));
    assert!(!stage.push_error(-410, "Query INTERRUPTED"));
    let mut c = Connection::tcp("scope", scope.tcp_addr()).unwrap();
    let e = c.next_error().unwrap();
    assert_eq!((e.code, e.message.as_str()), (-410, "Query INTERRUPTED"));
}

/// Replies `N` to `ECHO N`; `SET N` takes effect without a reply.
struct Echo {
    last_set: String,
}

impl Model for Echo {
    fn name(&self) -> &'static str {
        "echo"
    }
    fn handle(&mut self, line: &str) -> Option<Vec<u8>> {
        if let Some(v) = line.strip_prefix("SET ") {
            self.last_set = v.to_owned();
            return None;
        }
        line.strip_prefix("ECHO ").map(|v| v.as_bytes().to_vec())
    }
}

#[test]
fn held_replies_wait_for_the_release_then_come_in_order() {
    let sim = SimInstrument::start(Echo {
        last_set: String::new(),
    })
    .unwrap();
    let tcp = Connection::tcp("tcp", sim.tcp_addr()).unwrap();
    let pty = Connection::serial("pty", &sim.pty_path(), &SerialConfig::default()).unwrap();
    for (round, mut c) in [tcp, pty].into_iter().enumerate() {
        let before = sim.replies_sent();
        sim.hold_after(1);
        for i in 1..=3 {
            c.write(&format!("ECHO {round}-{i}")).unwrap();
        }
        c.write(&format!("SET {round}")).unwrap();
        // The one reply let through.
        assert_eq!(c.read_line("ECHO").unwrap(), format!("{round}-1"));
        // The second is withheld: nothing more was sent, and the command behind it waits.
        assert!(sim.wait_held(Duration::from_secs(10)));
        assert_eq!(sim.replies_held(), 1);
        assert_eq!(sim.replies_sent(), before + 1);
        assert_ne!(sim.with_model(|m| m.last_set.clone()), round.to_string());
        assert!(!sim.wait_idle(Duration::ZERO));
        sim.release();
        // Everything follows, in order.
        assert_eq!(c.read_line("ECHO").unwrap(), format!("{round}-2"));
        assert_eq!(c.read_line("ECHO").unwrap(), format!("{round}-3"));
        assert!(sim.wait_idle(Duration::from_secs(10)));
        assert_eq!(sim.with_model(|m| m.last_set.clone()), round.to_string());
        assert_eq!(sim.replies_held(), 0);
        assert_eq!(sim.replies_sent(), before + 3);
    }
}

#[test]
fn a_held_query_times_out_and_its_reply_comes_after_the_release() {
    let sim = SimInstrument::start(Echo {
        last_set: String::new(),
    })
    .unwrap();
    let mut c = Connection::tcp("tcp", sim.tcp_addr())
        .unwrap()
        .with_timeout(Duration::from_millis(50));
    sim.hold_after(0);
    c.write("ECHO late").unwrap();
    // Withheld, however long the client waits.
    assert!(c.read_line("ECHO").unwrap_err().is_timeout());
    assert!(sim.wait_held(Duration::from_secs(10)));
    assert_eq!(sim.replies_sent(), 0);
    sim.release();
    c.set_timeout(Duration::from_secs(10));
    assert_eq!(c.read_line("ECHO").unwrap(), "late");
    // No hold any more.
    assert_eq!(c.query("ECHO next").unwrap(), "next");
}

#[test]
fn unplugged_links_drop_and_are_refused_until_plugged_back_on_the_same_addresses() {
    let sim = SimInstrument::start(DmmModel::standalone(1)).unwrap();
    let (tcp, serial, vxi) = (sim.tcp_addr(), sim.serial_path(), sim.vxi11_address());
    let client = TcpStream::connect(tcp).unwrap();
    client
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    sim.unplug();
    // The connected client is dropped, new ones are refused, the serial path is gone.
    let mut line = String::new();
    assert_eq!(BufReader::new(&client).read_line(&mut line).unwrap_or(0), 0);
    assert!(TcpStream::connect(tcp).is_err());
    assert!(!std::path::Path::new(&serial).exists());
    assert!(Connection::open_str("dmm", &vxi).is_err());
    sim.plug_in().unwrap();
    assert_eq!((sim.tcp_addr(), sim.serial_path()), (tcp, serial.clone()));
    for address in [sim.socket_address(), sim.serial_address(), vxi] {
        let mut c = Connection::open_str("dmm", &address).unwrap();
        assert_eq!(c.idn().unwrap().model, "34401A", "{address}");
    }
    // A power cycle is the same, with the model told.
    sim.power_cycle().unwrap();
    let mut c = Connection::open_str("dmm", &sim.serial_address()).unwrap();
    assert_eq!(c.idn().unwrap().model, "34401A");
}

#[test]
fn a_hanging_reply_sends_half_then_nothing_and_the_link_goes_on() {
    let sim = SimInstrument::start(DmmModel::standalone(1)).unwrap();
    let mut client = TcpStream::connect(sim.tcp_addr()).unwrap();
    client
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    sim.inject(Fault::Hang);
    client.write_all(b"*IDN?\n").unwrap();
    let full = b"HEWLETT-PACKARD,34401A,0,11-5-2";
    let mut half = vec![0u8; full.len() / 2];
    std::io::Read::read_exact(&mut client, &mut half).unwrap();
    assert_eq!(half, full[..full.len() / 2]);
    // The rest never comes: the next reply follows the half directly.
    client.write_all(b"*IDN?\n").unwrap();
    let mut line = String::new();
    BufReader::new(&client).read_line(&mut line).unwrap();
    assert_eq!(line.trim_end(), String::from_utf8_lossy(full));
}
