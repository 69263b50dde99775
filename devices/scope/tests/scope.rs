//! The scope driver against the simulated DS1000Z, over a pseudo-terminal
//! and over TCP.

#![allow(clippy::unwrap_used)]

use smq_instrument::Instrument as _;
use std::time::Duration;

use smq_instrument::InstrumentError;
use smq_scope::{Scope, WaveformFormat, WaveformMode};
use smq_sim::{Fault, SCREEN_POINTS, ScopeModel, SimInstrument};

/// Timeout for calls that are expected to time out.
const SHORT: Duration = Duration::from_millis(200);
/// Timeout for calls that are expected to succeed.
const LONG: Duration = Duration::from_secs(5);
const LINKS: [&str; 2] = ["pty", "tcp"];

fn sim() -> SimInstrument<ScopeModel> {
    SimInstrument::start(ScopeModel::standalone(3)).expect("start simulator")
}

fn open(sim: &SimInstrument<ScopeModel>, link: &str) -> Scope {
    match link {
        "pty" => Scope::open(&sim.serial_address()).expect("open pty"),
        _ => Scope::open(&sim.socket_address()).expect("connect tcp"),
    }
}

/// Select channel 1 and read the preamble, so that the next reply is the
/// data block.
fn prepare(scope: &mut Scope) -> smq_scope::Preamble {
    scope.set_waveform_source(1).unwrap();
    scope.set_waveform_mode(WaveformMode::Normal).unwrap();
    scope.set_waveform_format(WaveformFormat::Byte).unwrap();
    scope.preamble().unwrap()
}

#[test]
fn every_command() {
    for link in LINKS {
        let sim = sim();
        let mut scope = open(&sim, link);
        let id = scope.identify().unwrap();
        assert_eq!(id.manufacturer, "RIGOL TECHNOLOGIES", "{link}");
        assert_eq!(id.model, "DS1104Z");
        scope.reset().unwrap();

        scope.run().unwrap();
        assert_eq!(scope.trigger_status().unwrap(), "AUTO");
        scope.stop().unwrap();
        assert_eq!(scope.trigger_status().unwrap(), "STOP");
        scope.single().unwrap();
        assert_eq!(scope.trigger_status().unwrap(), "STOP");

        scope.set_timebase_scale(2e-4).unwrap();
        assert_eq!(scope.timebase_scale().unwrap(), 2e-4);
        for ch in 1..=4 {
            scope.set_channel_scale(ch, 0.5).unwrap();
            assert_eq!(scope.channel_scale(ch).unwrap(), 0.5);
        }

        let p = prepare(&mut scope);
        assert_eq!(p.format, WaveformFormat::Byte);
        assert_eq!(p.mode, WaveformMode::Normal);
        assert_eq!(p.points, SCREEN_POINTS);
        assert_eq!(p.count, 1);
        assert!((p.x_increment - 2e-4 * 12.0 / 1200.0).abs() < 1e-12);
        assert!((p.x_origin + 6.0 * 2e-4).abs() < 1e-12);
        assert!((p.y_increment - 0.5 / 25.0).abs() < 1e-12);
        assert_eq!(p.y_reference, 127.0);

        let w = scope.read_waveform(2).unwrap();
        assert_eq!(w.channel, 2);
        assert_eq!(w.v.len(), SCREEN_POINTS);
        assert_eq!(w.t.len(), SCREEN_POINTS);
        // The reference sine of channel 2: 0.5 V amplitude.
        assert!((w.amplitude() - 0.5).abs() < 0.1, "{}", w.amplitude());
        let span = w.t[SCREEN_POINTS - 1] - w.t[0];
        assert!((span - 2e-4 * 12.0 * 1199.0 / 1200.0).abs() < 1e-9);
        scope.check_errors().unwrap();
    }
}

#[test]
fn scaling_is_exactly_the_manuals() {
    let sim = sim();
    let mut scope = open(&sim, "tcp");
    scope.stop().unwrap();
    let p = prepare(&mut scope);
    let raw = scope.connection().query_block(":WAV:DATA?").unwrap();
    let w = scope.fetch_waveform(1).unwrap();
    assert_eq!(raw.len(), w.v.len());
    for (i, &b) in raw.iter().enumerate() {
        let v = (f64::from(b) - p.y_origin - p.y_reference) * p.y_increment;
        let t = (i as f64 - p.x_reference) * p.x_increment + p.x_origin;
        assert_eq!(w.v[i], v);
        assert_eq!(w.t[i], t);
    }
}

#[test]
fn word_and_ascii_formats_agree_with_byte() {
    for link in LINKS {
        let sim = sim();
        let mut scope = open(&sim, link);
        scope.stop().unwrap();
        let byte = scope.read_waveform(1).unwrap();
        scope.set_waveform_format(WaveformFormat::Word).unwrap();
        let word = scope.fetch_waveform(1).unwrap();
        assert_eq!(word.preamble.format, WaveformFormat::Word);
        assert_eq!(word.v, byte.v);
        scope.set_waveform_format(WaveformFormat::Ascii).unwrap();
        let asc = scope.fetch_waveform(1).unwrap();
        assert_eq!(asc.v.len(), byte.v.len());
        for (a, b) in asc.v.iter().zip(byte.v.iter()) {
            assert!((a - b).abs() < 1e-9);
        }
    }
}

#[test]
fn amplitude_follows_stage_position() {
    let sim = sim();
    let physics = sim.with_model(|m| m.physics());
    let mut scope = open(&sim, "pty");
    physics.set_position(physics.peak_center);
    scope.single().unwrap();
    let on_peak = scope.read_waveform(1).unwrap().amplitude();
    physics.set_position(physics.peak_center + 4.0);
    scope.single().unwrap();
    let off_peak = scope.read_waveform(1).unwrap().amplitude();
    assert!((on_peak - 1.1).abs() < 0.1, "{on_peak}");
    assert!((off_peak - 0.1).abs() < 0.1, "{off_peak}");
}

#[test]
fn instrument_and_argument_errors() {
    for link in LINKS {
        let sim = sim();
        let mut scope = open(&sim, link);
        let err = scope.set_channel_scale(1, 50.0).unwrap_err();
        assert!(
            matches!(err, InstrumentError::Scpi { code: -222, .. }),
            "{link}: {err:?}"
        );
        assert!(err.to_string().contains(":CHAN1:SCAL 5e1"), "{err}");
        let err = scope.set_channel_scale(5, 1.0).unwrap_err();
        assert!(matches!(err, InstrumentError::InvalidArgument { .. }));
        assert!(err.to_string().contains(":CHAN5:SCAL"));
        let err = scope.set_timebase_scale(-1.0).unwrap_err();
        assert!(matches!(err, InstrumentError::InvalidArgument { .. }));
        scope.connection().write(":WAV:BOGUS").unwrap();
        let err = scope.check_errors().unwrap_err();
        assert!(matches!(err, InstrumentError::Scpi { code: -113, .. }));
        sim.with_model(|m| m.push_error(-200, "Execution error"));
        assert!(matches!(
            scope.check_errors().unwrap_err(),
            InstrumentError::Scpi { code: -200, .. }
        ));
        scope.check_errors().unwrap();
    }
}

#[test]
fn disconnect_mid_block_then_the_next_command_reconnects() {
    for link in LINKS {
        let sim = sim();
        let mut scope = open(&sim, link);
        let p = prepare(&mut scope);
        sim.inject(Fault::Disconnect);
        let err = scope.waveform_volts(&p).unwrap_err();
        assert!(err.is_disconnected(), "{link}: {err:?}");
        assert!(err.to_string().contains(":WAV:DATA?"), "{err}");
        assert_eq!(err.device(), "scope");
        assert_eq!(scope.read_waveform(1).unwrap().v.len(), SCREEN_POINTS);
        assert_eq!(scope.connection().reconnects(), 1, "{link}");
    }
}

#[test]
fn garbage_block_is_reported_and_stream_recovers() {
    for link in LINKS {
        let sim = sim();
        let mut scope = open(&sim, link);
        let p = prepare(&mut scope);
        sim.inject(Fault::Garbage);
        let err = scope.waveform_volts(&p).unwrap_err();
        match &err {
            InstrumentError::Garbage { command, reply, .. } => {
                assert_eq!(command, ":WAV:DATA?");
                assert!(reply.contains("\\xff"), "{reply}");
            }
            other => panic!("{link}: expected Garbage, got {other:?}"),
        }
        sim.inject(Fault::Garbage);
        assert!(matches!(
            scope.preamble().unwrap_err(),
            InstrumentError::Garbage { .. }
        ));
        assert_eq!(scope.read_waveform(1).unwrap().v.len(), SCREEN_POINTS);
    }
}

#[test]
fn no_reply_and_slow_reply_time_out_then_recover() {
    for link in LINKS {
        let sim = sim();
        let mut scope = open(&sim, link);
        let p = prepare(&mut scope);
        scope.set_timeout(SHORT);
        sim.inject(Fault::NoReply);
        let err = scope.waveform_volts(&p).unwrap_err();
        assert!(
            matches!(err, InstrumentError::Timeout { .. }),
            "{link}: {err:?}"
        );
        assert!(err.to_string().contains(":WAV:DATA?"));
        scope.set_timeout(LONG);
        assert_eq!(scope.read_waveform(1).unwrap().v.len(), SCREEN_POINTS);

        let p = prepare(&mut scope);
        let before = sim.replies_sent();
        scope.set_timeout(SHORT);
        sim.inject(Fault::Slow(Duration::from_millis(600)));
        assert!(scope.waveform_volts(&p).unwrap_err().is_timeout());
        assert!(sim.wait_replies(before + 1, LONG));
        scope.set_timeout(LONG);
        assert_eq!(scope.read_waveform(1).unwrap().v.len(), SCREEN_POINTS);
        assert_eq!(scope.timebase_scale().unwrap(), 1e-3);
    }
}

#[test]
fn driver_moves_to_another_thread() {
    fn send_static<T: Send + 'static>() {}
    send_static::<Scope>();
    send_static::<smq_scope::Waveform>();
    let sim = sim();
    let mut scope = open(&sim, "tcp");
    let w = std::thread::spawn(move || scope.read_waveform(1))
        .join()
        .unwrap();
    assert_eq!(w.unwrap().v.len(), SCREEN_POINTS);
}
