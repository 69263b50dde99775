//! The VXI-11 client against the simulators' VXI-11 server: a real RPC port mapper and core
//! channel over TCP on 127.0.0.1.

#![allow(clippy::unwrap_used)]

use std::time::Duration;

use smq_instrument::vxi11::Vxi11Transport;
use smq_instrument::{Address, Connection, ErrorKind, Transport};
use smq_sim::{DmmModel, Fault, Model, SimInstrument};

/// Replies `N` to `ECHO N`.
struct Echo;

impl Model for Echo {
    fn name(&self) -> &'static str {
        "echo"
    }
    fn handle(&mut self, line: &str) -> Option<Vec<u8>> {
        line.strip_prefix("ECHO ").map(|v| v.as_bytes().to_vec())
    }
}

#[test]
fn the_address_names_the_port_mapper_and_the_link_works() {
    let sim = SimInstrument::start(DmmModel::standalone(1)).unwrap();
    let address: Address = sim.vxi11_address().parse().unwrap();
    assert!(
        matches!(address, Address::Vxi11 { ref device, portmapper, .. }
        if device == "inst0" && portmapper == sim.vxi11_portmapper_port())
    );
    let mut dmm = Connection::open("dmm", &address).unwrap();
    assert!(dmm.describe().starts_with("vxi-11 127.0.0.1 inst0"));
    assert_eq!(dmm.idn().unwrap().model, "34401A");
    dmm.write("CONF:VOLT:DC 10").unwrap();
    dmm.check_errors("CONF:VOLT:DC 10").unwrap();
    assert!(dmm.query_parse::<f64>("READ?").unwrap().is_finite());
}

#[test]
fn messages_longer_than_the_server_takes_are_split_and_come_back_whole() {
    let sim = SimInstrument::start(Echo).unwrap();
    let mut echo = Connection::open_str("echo", &sim.vxi11_address()).unwrap();
    // 200 kB: several device_write calls (the server takes 64 kB at a time), the last with
    // END; the reply is read back through as many device_read calls as it takes.
    let payload: String = (0..200_000)
        .map(|i| char::from(b'a' + (i % 26) as u8))
        .collect();
    let reply = echo.query(&format!("ECHO {payload}")).unwrap();
    assert_eq!(reply, payload);
    let lines = sim.received();
    assert_eq!(lines.len(), 1);
    assert_eq!(lines[0].len(), payload.len() + 5);
}

#[test]
fn a_message_ended_by_end_alone_is_a_command() {
    let sim = SimInstrument::start(Echo).unwrap();
    let mut link = Vxi11Transport::connect(
        "127.0.0.1",
        "inst0",
        sim.vxi11_portmapper_port(),
        Duration::from_secs(2),
        "echo",
    )
    .unwrap();
    // No newline: the END flag of the write ends the message.
    link.write_all(b"ECHO bare", Duration::from_secs(2))
        .unwrap();
    let mut buf = [0u8; 64];
    let n = link.read(&mut buf, Duration::from_secs(2)).unwrap();
    assert_eq!(&buf[..n], b"bare\n");
}

#[test]
fn an_unknown_device_name_is_a_protocol_error() {
    let sim = SimInstrument::start(DmmModel::standalone(1)).unwrap();
    let port = sim.vxi11_portmapper_port();
    let err = Connection::open_str("dmm", &format!("TCPIP0::127.0.0.1:{port}::gpib0,7::INSTR"))
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Protocol, "{err}");
    assert!(err.to_string().contains("device not accessible"), "{err}");
}

#[test]
fn no_port_mapper_is_an_error_that_says_where_to_look() {
    // A port with nothing listening: bind one, note it, close it.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let err =
        Connection::open_str("scope", &format!("TCPIP0::127.0.0.1:{port}::INSTR")).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Io, "{err}");
    let msg = err.to_string();
    assert!(
        msg.contains("port mapper") && msg.contains("TCPIP0::127.0.0.1:PORT::INSTR"),
        "{msg}"
    );
}

#[test]
fn a_reply_that_never_comes_is_a_timeout_of_the_device_and_the_link_goes_on() {
    let sim = SimInstrument::start(DmmModel::standalone(1)).unwrap();
    let mut dmm = Connection::open_str("dmm", &sim.vxi11_address())
        .unwrap()
        .with_timeout(Duration::from_millis(200));
    sim.inject(Fault::NoReply);
    let err = dmm.query("READ?").unwrap_err();
    assert!(err.is_timeout(), "{err}");
    // The next command clears the device first (device_clear), then goes on.
    assert!(dmm.query_parse::<f64>("READ?").unwrap().is_finite());
    assert_eq!(sim.device_clears(), 1);
    assert_eq!(dmm.reconnects(), 0);
}

#[test]
fn device_clear_and_status_byte_use_their_rpcs() {
    let sim = SimInstrument::start(DmmModel::standalone(1)).unwrap();
    let mut dmm = Connection::open_str("dmm", &sim.vxi11_address()).unwrap();
    assert_eq!(dmm.read_status_byte().unwrap() & 0x10, 0);
    dmm.device_clear().unwrap();
    assert_eq!(sim.device_clears(), 1);
    assert_eq!(sim.received(), ["*CLS"]);
    assert_eq!(dmm.idn().unwrap().model, "34401A");
}
