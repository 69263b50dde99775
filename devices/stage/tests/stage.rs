//! The stage driver against the simulated SMC100, over a pseudo-terminal
//! and over TCP.

#![allow(clippy::unwrap_used)]

use smq_instrument::Instrument as _;
use std::time::Duration;

use smq_instrument::InstrumentError;
use smq_sim::{Fault, SimInstrument, StageModel};
use smq_stage::Stage;

const LINKS: [&str; 2] = ["pty", "tcp"];
const MOTION: Duration = Duration::from_secs(10);
/// Timeout for calls that are expected to time out.
const SHORT: Duration = Duration::from_millis(200);
/// Timeout for calls that are expected to succeed.
const LONG: Duration = Duration::from_secs(5);

fn sim() -> SimInstrument<StageModel> {
    SimInstrument::start(StageModel::standalone()).expect("start simulator")
}

fn open(sim: &SimInstrument<StageModel>, link: &str) -> Stage {
    match link {
        "pty" => Stage::open(&sim.serial_address()).expect("open pty"),
        _ => Stage::open(&sim.socket_address()).expect("connect tcp"),
    }
}

fn homed(sim: &SimInstrument<StageModel>, link: &str) -> Stage {
    let mut stage = open(sim, link);
    stage.home().unwrap();
    stage.wait_motion_done(MOTION).unwrap();
    stage
}

#[test]
fn every_command() {
    for link in LINKS {
        let sim = sim();
        let mut stage = open(&sim, link);
        assert_eq!(stage.address(), 1);
        assert!(stage.version().unwrap().contains("SMC_CC"), "{link}");
        assert!(!stage.stage_identifier().unwrap().is_empty());

        let st = stage.status().unwrap();
        assert!(st.state.is_not_referenced(), "{link}: {st:?}");
        assert_eq!(st.state.0, 0x0A);
        assert!(st.errors.is_empty());
        assert_eq!(stage.last_command_error().unwrap(), None);

        stage.home().unwrap();
        let st = stage.wait_motion_done(MOTION).unwrap();
        assert_eq!(st.state.0, 0x32, "READY from HOMING");
        assert_eq!(stage.position().unwrap(), 0.0);

        stage.set_velocity(50.0).unwrap();
        assert_eq!(stage.velocity().unwrap(), 50.0);
        stage.move_absolute(2.0).unwrap();
        let st = stage.wait_motion_done(MOTION).unwrap();
        assert_eq!(st.state.0, 0x33, "READY from MOVING");
        assert_eq!(stage.position().unwrap(), 2.0);
        assert_eq!(stage.target_position().unwrap(), 2.0);

        stage.move_relative(-0.75).unwrap();
        stage.wait_motion_done(MOTION).unwrap();
        assert_eq!(stage.position().unwrap(), 1.25);
        stage.move_to(-1.5, MOTION).unwrap();
        assert_eq!(stage.position().unwrap(), -1.5);

        // A slow, long move is seen MOVING, then stopped half-way.
        stage.set_velocity(0.5).unwrap();
        stage.move_absolute(20.0).unwrap();
        let st = stage.status().unwrap();
        assert!(st.state.is_moving(), "{link}: {st:?}");
        stage.stop().unwrap();
        let st = stage.wait_motion_done(MOTION).unwrap();
        assert!(st.state.is_ready());
        let x = stage.position().unwrap();
        assert!(x > -1.5 && x < 20.0, "{x}");

        stage.reset().unwrap();
        assert!(stage.state().unwrap().is_not_referenced());
    }
}

#[test]
fn command_errors_carry_the_manuals_meaning() {
    for link in LINKS {
        let sim = sim();
        let mut stage = open(&sim, link);
        let err = stage.move_absolute(5.0).unwrap_err();
        match &err {
            InstrumentError::Device {
                code,
                message,
                command,
                ..
            } => {
                assert_eq!(code, "TE H");
                assert_eq!(message, "Command not allowed in NOT REFERENCED state");
                assert_eq!(command, "1PA5");
            }
            other => panic!("{link}: expected Device, got {other:?}"),
        }
        assert!(err.to_string().contains("1PA5"));

        stage.home().unwrap();
        stage.wait_motion_done(MOTION).unwrap();
        let err = stage.move_absolute(100.0).unwrap_err();
        assert!(
            err.to_string()
                .contains("Parameter missing or out of range")
        );
        let err = stage.move_relative(-300.0).unwrap_err();
        assert!(err.to_string().contains("Displacement out of limits"));
        let err = stage.set_velocity(-1.0).unwrap_err();
        assert!(matches!(err, InstrumentError::Device { .. }));
        assert!(err.to_string().contains("1VA-1"));
        stage.connection().write("1XX").unwrap();
        assert_eq!(
            stage.last_command_error().unwrap(),
            Some((
                'A',
                "Unknown message code or floating point controller address"
            ))
        );
        let err = stage.move_absolute(f64::NAN).unwrap_err();
        assert!(matches!(err, InstrumentError::InvalidArgument { .. }));
    }
}

#[test]
fn positioner_errors_stop_the_wait() {
    for link in LINKS {
        let sim = sim();
        let mut stage = homed(&sim, link);
        stage.set_velocity(0.5).unwrap();
        stage.move_absolute(10.0).unwrap();
        sim.with_model(|m| m.set_positioner_error(0x0020));
        let err = stage.wait_motion_done(MOTION).unwrap_err();
        match &err {
            InstrumentError::Device { code, message, .. } => {
                assert_eq!(code, "TS 0020");
                assert_eq!(message, "following error");
            }
            other => panic!("{link}: expected Device, got {other:?}"),
        }
        assert!(err.to_string().contains("1TS"));
        // A reset clears the fault; the stage must be homed again.
        stage.reset().unwrap();
        assert!(stage.state().unwrap().is_not_referenced());
        let err = stage.wait_motion_done(MOTION).unwrap_err();
        assert!(err.to_string().contains("NOT REFERENCED"), "{err}");
        stage.home().unwrap();
        stage.wait_motion_done(MOTION).unwrap();
    }
}

#[test]
fn waiting_too_short_times_out() {
    let sim = sim();
    let mut stage = homed(&sim, "tcp");
    stage.set_velocity(0.1).unwrap();
    stage.move_absolute(10.0).unwrap();
    let err = stage
        .wait_motion_done(Duration::from_millis(50))
        .unwrap_err();
    assert!(err.is_timeout(), "{err:?}");
    assert!(err.to_string().contains("1TS"));
    stage.stop().unwrap();
}

#[test]
fn link_faults_name_the_command_and_recover() {
    for link in LINKS {
        let sim = sim();
        let mut stage = homed(&sim, link);

        stage.set_timeout(SHORT);
        sim.inject(Fault::NoReply);
        let err = stage.position().unwrap_err();
        assert!(
            matches!(err, InstrumentError::Timeout { .. }),
            "{link}: {err:?}"
        );
        assert!(err.to_string().contains("1TP"));
        stage.set_timeout(LONG);
        assert_eq!(stage.position().unwrap(), 0.0);

        sim.inject(Fault::Garbage);
        let err = stage.status().unwrap_err();
        assert!(
            matches!(err, InstrumentError::Garbage { .. }),
            "{link}: {err:?}"
        );
        assert!(err.to_string().contains("1TS"));
        assert!(stage.status().unwrap().state.is_ready());

        let before = sim.replies_sent();
        stage.set_timeout(SHORT);
        sim.inject(Fault::Slow(Duration::from_millis(600)));
        assert!(stage.velocity().unwrap_err().is_timeout());
        assert!(sim.wait_replies(before + 1, LONG));
        stage.set_timeout(LONG);
        assert_eq!(stage.position().unwrap(), 0.0);

        sim.inject(Fault::Disconnect);
        let err = stage.position().unwrap_err();
        assert!(err.is_disconnected(), "{link}: {err:?}");
        assert!(
            err.to_string()
                .contains("stage: disconnected during \"1TP\"")
        );
        assert!(stage.state().unwrap().is_ready());
        assert_eq!(stage.connection().reconnects(), 1, "{link}");
    }
}

#[test]
fn driver_moves_to_another_thread() {
    fn send_static<T: Send + 'static>() {}
    send_static::<Stage>();
    let sim = sim();
    let mut stage = open(&sim, "pty");
    let st = std::thread::spawn(move || stage.status()).join().unwrap();
    assert!(st.unwrap().state.is_not_referenced());
}
