//! The generic SCPI instrument against each simulator, over each of its links.

#![allow(clippy::unwrap_used)]

use std::time::Duration;

use smq_instrument::smqsched::Scheduler;
use smq_instrument::{ByteOrder, ErrorKind, Instrument, Scpi, ScpiDevice};
use smq_sim::{DmmModel, ScopeModel, SimInstrument, StageModel};

fn addresses<M: smq_sim::Model>(sim: &SimInstrument<M>) -> Vec<String> {
    let mut a = vec![sim.serial_address(), sim.socket_address()];
    if sim.vxi11_portmapper_port() != 0 {
        a.push(sim.vxi11_address());
    }
    a
}

#[test]
fn the_multimeter_as_a_plain_scpi_instrument() {
    let sim = SimInstrument::start(DmmModel::standalone(1)).unwrap();
    for address in addresses(&sim) {
        let mut dmm = Scpi::open(&address).unwrap().with_error_checking(true);
        assert_eq!(dmm.identify().unwrap().model, "34401A", "{address}");
        dmm.reset().unwrap();
        dmm.clear_status().unwrap();
        dmm.write("CONF:VOLT:DC 10,0.0001").unwrap();
        dmm.wait().unwrap();
        assert!(dmm.query_f64("READ?").unwrap().is_finite());
        assert_eq!(dmm.query("TRIG:SOUR?").unwrap(), "IMM");
        // A refused command is found by the error checking, named.
        let err = dmm.write("CONF:VOLT:DC 5000").unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Instrument, "{address}: {err}");
        assert!(err.to_string().contains("-222"), "{err}");
        // Without error checking the error stays in the queue until asked for.
        dmm.set_error_checking(false);
        dmm.write("BOGUS").unwrap();
        let codes: Vec<i32> = dmm.errors().unwrap().iter().map(|e| e.code).collect();
        assert_eq!(codes, [-113], "{address}");
    }
}

#[test]
fn the_scope_as_a_plain_scpi_instrument_reads_binary_blocks_into_arrays() {
    let sim = SimInstrument::start(ScopeModel::standalone(1)).unwrap();
    for address in addresses(&sim) {
        let mut scope = Scpi::open(&address).unwrap().with_error_checking(true);
        assert_eq!(scope.identify().unwrap().model, "DS1104Z");
        scope.write(":WAV:SOUR CHAN1").unwrap();
        scope.write(":WAV:FORM BYTE").unwrap();
        let bytes = scope
            .query_block::<u8>(":WAV:DATA?", ByteOrder::Little)
            .unwrap();
        assert_eq!(bytes.len(), smq_sim::SCREEN_POINTS, "{address}");
        scope.write(":WAV:FORM WORD").unwrap();
        let words = scope
            .query_block::<u16>(":WAV:DATA?", ByteOrder::Little)
            .unwrap();
        assert_eq!(words.len(), smq_sim::SCREEN_POINTS, "{address}");
        assert!(scope.query_f64(":WAV:XINC?").unwrap() > 0.0);
    }
}

#[test]
fn the_stage_as_a_plain_instrument_with_its_own_terminators() {
    for link in 0..2 {
        // A fresh controller for each link: homing changes its state.
        let sim = SimInstrument::start(StageModel::standalone()).unwrap();
        let address = addresses(&sim).swap_remove(link);
        let conn = smq_instrument::Connection::open_with(
            "stage",
            &address.parse().unwrap(),
            &smq_instrument::OpenOptions::default().recovery_commands(&[]),
        )
        .unwrap()
        .with_terminators(b"\r\n", b"\r\n");
        let mut stage = Scpi::new(conn);
        assert_eq!(stage.query("1TS").unwrap(), "1TS00000A", "{address}");
        stage.write("1OR").unwrap();
        assert_eq!(stage.query("1TE").unwrap(), "1TE@");
    }
}

#[test]
fn on_a_queue_every_command_returns_a_promise() {
    let sim = SimInstrument::start(ScopeModel::standalone(2)).unwrap();
    let sch = Scheduler::new();
    let scope = ScpiDevice::new(&sch, "scope", Scpi::open(&sim.vxi11_address()).unwrap())
        .unwrap()
        .in_submission_order();
    let id = scope.identify();
    scope.reset();
    scope.clear_status();
    scope.write(":WAV:FORM BYTE");
    let done = scope.wait();
    let block = scope.query_block::<u8>(":WAV:DATA?", ByteOrder::Little);
    let xinc = scope.query_f64(":WAV:XINC?");
    let source = scope.query(":WAV:SOUR?");
    let errors = scope.errors();
    sch.start();
    assert_eq!(id.result().unwrap().model, "DS1104Z");
    done.result().unwrap();
    assert_eq!(block.result().unwrap().len(), smq_sim::SCREEN_POINTS);
    assert!(*xinc.result().unwrap() > 0.0);
    assert_eq!(source.result().unwrap(), "CHAN1");
    assert!(errors.result().unwrap().is_empty());
    assert!(sch.wait_timeout(Duration::from_secs(10)).is_ok());
}
