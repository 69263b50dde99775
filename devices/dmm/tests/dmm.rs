//! The DMM driver against the simulated 34401A, over a pseudo-terminal and
//! over TCP.

#![allow(clippy::unwrap_used)]

use smq_instrument::Instrument as _;
use std::time::Duration;

use smq_dmm::{Dmm, Function, InstrumentError, Range, TriggerSource};
use smq_sim::{DmmModel, Fault, SimInstrument};

/// Timeout for calls that are expected to time out.
const SHORT: Duration = Duration::from_millis(200);
/// Timeout for calls that are expected to succeed.
const LONG: Duration = Duration::from_secs(5);

fn sim() -> SimInstrument<DmmModel> {
    SimInstrument::start(DmmModel::standalone(7)).expect("start simulator")
}

fn open(sim: &SimInstrument<DmmModel>, link: &str) -> Dmm {
    match link {
        "pty" => Dmm::open(&sim.serial_address()).expect("open pty"),
        _ => Dmm::open(&sim.socket_address()).expect("connect tcp"),
    }
}

const LINKS: [&str; 2] = ["pty", "tcp"];

#[test]
fn every_command() {
    for link in LINKS {
        let sim = sim();
        let mut dmm = open(&sim, link);
        let id = dmm.identify().unwrap();
        assert_eq!(id.manufacturer, "HEWLETT-PACKARD", "{link}");
        assert_eq!(id.model, "34401A");
        dmm.remote().unwrap();
        assert!(sim.with_model(|m| m.remote()));
        dmm.reset().unwrap();

        dmm.configure_voltage_dc(Range::Value(10.0), Some(1e-5))
            .unwrap();
        assert!(
            dmm.configuration()
                .unwrap()
                .starts_with("VOLT +1.00000000E+01")
        );
        let v = dmm.read().unwrap();
        assert!(v > 0.0 && v < 2.0, "{link}: {v}");

        dmm.configure_current_dc(Range::Auto, None).unwrap();
        assert!(dmm.configuration().unwrap().starts_with("CURR"));
        let i = dmm.read().unwrap();
        assert!(i.abs() < 0.01, "{link}: {i}");

        dmm.configure_resistance(Range::Default, None).unwrap();
        assert!(dmm.configuration().unwrap().starts_with("RES"));
        let r = dmm.read().unwrap();
        assert!(r > 900.0 && r < 2500.0, "{link}: {r}");

        for f in [
            Function::VoltageDc,
            Function::CurrentDc,
            Function::Resistance,
        ] {
            dmm.set_nplc(f, 1.0).unwrap();
            assert_eq!(dmm.nplc(f).unwrap(), 1.0);
        }
        dmm.set_nplc(Function::VoltageDc, 100.0).unwrap();
        assert_eq!(dmm.nplc(Function::VoltageDc).unwrap(), 100.0);

        dmm.configure_voltage_dc(Range::Auto, None).unwrap();
        dmm.set_trigger_source(TriggerSource::Immediate).unwrap();
        assert_eq!(dmm.trigger_source().unwrap(), TriggerSource::Immediate);
        dmm.initiate().unwrap();
        assert!(dmm.fetch().unwrap() > 0.0);

        dmm.set_trigger_source(TriggerSource::Bus).unwrap();
        assert_eq!(dmm.trigger_source().unwrap(), TriggerSource::Bus);
        dmm.initiate().unwrap();
        dmm.trigger().unwrap();
        assert!(dmm.fetch().unwrap() > 0.0);
        dmm.set_trigger_source(TriggerSource::External).unwrap();
        assert_eq!(dmm.trigger_source().unwrap(), TriggerSource::External);

        let m = dmm.measure_voltage_dc().unwrap();
        assert!(m > 0.0 && m < 2.0);
        assert_eq!(dmm.trigger_source().unwrap(), TriggerSource::Immediate);
        dmm.local().unwrap();
        assert!(!sim.with_model(|m| m.remote()));
        dmm.check_errors().unwrap();
    }
}

#[test]
fn reading_follows_stage_position_with_seeded_noise() {
    let sim = sim();
    let physics = sim.with_model(|m| {
        m.noise = 1e-3;
        m.physics()
    });
    let mut dmm = open(&sim, "tcp");
    physics.set_position(physics.peak_center);
    let on_peak = dmm.read().unwrap();
    physics.set_position(physics.peak_center + 5.0);
    let off_peak = dmm.read().unwrap();
    assert!((on_peak - 1.1).abs() < 0.01, "{on_peak}");
    assert!((off_peak - 0.1).abs() < 0.01, "{off_peak}");
    // Noise is real: two readings at the same place differ.
    assert_ne!(dmm.read().unwrap(), dmm.read().unwrap());
}

#[test]
fn instrument_errors_name_the_command() {
    for link in LINKS {
        let sim = sim();
        let mut dmm = open(&sim, link);
        let err = dmm
            .configure_voltage_dc(Range::Value(5000.0), None)
            .unwrap_err();
        match &err {
            InstrumentError::Scpi { code, message, .. } => {
                assert_eq!(*code, -222);
                assert_eq!(message, "Data out of range");
            }
            other => panic!("{link}: expected Scpi, got {other:?}"),
        }
        let text = err.to_string();
        assert!(text.contains("CONF:VOLT:DC 5000"), "{text}");
        assert!(text.starts_with("dmm:"), "{text}");

        dmm.connection().write("VOLT:FOO 3").unwrap();
        let err = dmm.check_errors().unwrap_err();
        assert!(
            matches!(err, InstrumentError::Scpi { code: -113, .. }),
            "{err}"
        );
        assert!(err.to_string().contains("Undefined header"));

        sim.with_model(|m| {
            m.push_error(-100, "Command error");
            m.push_error(-350, "Queue overflow");
        });
        let err = dmm.check_errors().unwrap_err();
        assert!(matches!(err, InstrumentError::Scpi { code: -100, .. }));
        // The whole queue was read.
        dmm.check_errors().unwrap();
    }
}

#[test]
fn invalid_arguments_are_refused_before_sending() {
    let sim = sim();
    let mut dmm = open(&sim, "tcp");
    let err = dmm.set_nplc(Function::VoltageDc, 3.0).unwrap_err();
    assert!(matches!(err, InstrumentError::InvalidArgument { .. }));
    assert!(err.to_string().contains("VOLT:DC:NPLC 3"));
    let err = dmm
        .configure_resistance(Range::Value(-1.0), None)
        .unwrap_err();
    assert!(matches!(err, InstrumentError::InvalidArgument { .. }));
    let err = dmm
        .configure_voltage_dc(Range::Auto, Some(f64::NAN))
        .unwrap_err();
    assert!(matches!(err, InstrumentError::InvalidArgument { .. }));
    dmm.check_errors().unwrap();
}

#[test]
fn no_reply_times_out_then_recovers() {
    for link in LINKS {
        let sim = sim();
        let mut dmm = open(&sim, link);
        dmm.set_timeout(SHORT);
        sim.inject(Fault::NoReply);
        let err = dmm.read().unwrap_err();
        assert!(
            matches!(err, InstrumentError::Timeout { .. }),
            "{link}: {err:?}"
        );
        assert!(err.to_string().contains("READ?"));
        assert_eq!(err.device(), "dmm");
        dmm.set_timeout(LONG);
        assert!(dmm.read().unwrap() > 0.0);
    }
}

#[test]
fn slow_reply_within_timeout_succeeds_and_late_reply_is_dropped() {
    for link in LINKS {
        let sim = sim();
        let mut dmm = open(&sim, link);
        sim.inject(Fault::Slow(Duration::from_millis(50)));
        assert!(dmm.read().unwrap() > 0.0);

        dmm.set_timeout(SHORT);
        let before = sim.replies_sent();
        sim.inject(Fault::Slow(Duration::from_millis(600)));
        let err = dmm.identify().unwrap_err();
        assert!(err.is_timeout(), "{link}: {err:?}");
        assert!(err.to_string().contains("*IDN?"));
        // The late reply arrives; the next exchange must not see it.
        assert!(sim.wait_replies(before + 1, LONG));
        dmm.set_timeout(LONG);
        let v = dmm.read().unwrap();
        assert!(v > 0.0 && v < 2.0, "{link}: {v}");
        assert_eq!(dmm.identify().unwrap().model, "34401A");
    }
}

#[test]
fn latency_applies_to_every_reply() {
    let sim = sim();
    sim.set_latency(Duration::from_millis(20));
    let mut dmm = open(&sim, "pty");
    assert!(dmm.read().unwrap() > 0.0);
    dmm.set_timeout(Duration::from_millis(5));
    assert!(dmm.read().unwrap_err().is_timeout());
}

#[test]
fn garbage_is_reported_with_the_bytes() {
    for link in LINKS {
        let sim = sim();
        let mut dmm = open(&sim, link);
        sim.inject(Fault::Garbage);
        let err = dmm.read().unwrap_err();
        match &err {
            InstrumentError::Garbage { command, reply, .. } => {
                assert_eq!(command, "READ?");
                assert!(reply.contains("\\xff"), "{reply}");
            }
            other => panic!("{link}: expected Garbage, got {other:?}"),
        }
        assert!(err.to_string().contains("READ?"));
        sim.inject(Fault::Garbage);
        assert!(matches!(
            dmm.identify().unwrap_err(),
            InstrumentError::Garbage { .. }
        ));
        assert!(dmm.read().unwrap() > 0.0);
    }
}

#[test]
fn disconnect_mid_reply_then_the_next_command_reconnects() {
    for link in LINKS {
        let sim = sim();
        let mut dmm = open(&sim, link);
        sim.inject(Fault::Disconnect);
        let err = dmm.read().unwrap_err();
        assert!(err.is_disconnected(), "{link}: {err:?}");
        assert!(err.to_string().contains("READ?"));
        assert!(dmm.read().unwrap() > 0.0, "{link}");
        assert_eq!(dmm.connection().reconnects(), 1, "{link}");
    }
}

#[test]
fn driver_moves_to_another_thread() {
    fn send_static<T: Send + 'static>() {}
    fn error_type<E: std::error::Error + Send + Sync + 'static>() {}
    send_static::<Dmm>();
    error_type::<InstrumentError>();

    let sim = sim();
    let mut dmm = open(&sim, "pty");
    let reading = std::thread::spawn(move || dmm.read()).join().unwrap();
    assert!(reading.unwrap() > 0.0);
}

#[test]
fn latency_per_command() {
    let sim = sim();
    sim.set_command_latency("read?", Duration::from_millis(300));
    let mut dmm = open(&sim, "tcp");
    dmm.set_timeout(SHORT);
    // Other commands are fast; READ? is slow.
    assert_eq!(dmm.identify().unwrap().model, "34401A");
    let err = dmm.read().unwrap_err();
    assert!(err.is_timeout());
    dmm.set_timeout(LONG);
    assert!(dmm.read().unwrap() > 0.0);
}
