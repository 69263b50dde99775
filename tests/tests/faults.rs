//! Faults of the simulated instruments, through the scheduler: the affected command fails
//! with a typed error (its kind, the device and the command), its dependents fail naming it,
//! and the scheduler and the other instruments carry on. The next command of a device whose
//! link was lost opens it again by itself.
//!
//! Each fault is queued while the faulty instrument is idle (its earlier commands have
//! completed) and nothing else talks to it, so it hits the reply of the command under test.

#![allow(clippy::unwrap_used)]

use std::sync::Arc;
use std::time::Duration;

use smq_dmm::{Dmm, Range};
use smq_e2e::{Bench, LONG, runs_of};
use smq_instrument::smqsched::{Promise, Queue, TaskError};
use smq_instrument::{ErrorKind, Instrument as _, InstrumentError};
use smq_scope::Waveform;
use smq_sim::{Fault, Physics};

/// Reply timeout of the instruments in the timeout tests.
const SHORT: Duration = Duration::from_millis(200);

/// A started bench: stage homed, meter configured, plus a compute queue.
fn bench() -> (Bench, Queue) {
    let bench = Bench::new(Physics::default(), 5);
    let compute = bench.sch.queue("compute", 2).unwrap();
    bench.sch.start();
    bench.stage.home().result().unwrap();
    bench.stage.set_velocity(200.0).result().unwrap();
    bench
        .dmm
        .configure_voltage_dc(Range::Value(10.0), None)
        .result()
        .unwrap();
    (bench, compute)
}

/// The message of a failed command, checking that it failed by itself (not through an
/// input) with an instrument error, and that its task is labelled `device.command`.
fn failure<T: std::fmt::Debug>(p: &Promise<T>, label: &str) -> String {
    failure_of_kind(p, label).1
}

/// The kind and message of a failed command's instrument error, as [`failure`] checks it.
fn failure_of_kind<T: std::fmt::Debug>(p: &Promise<T>, label: &str) -> (ErrorKind, String) {
    match p.result() {
        Err(e @ TaskError::FailedWith { .. }) => {
            assert_eq!(&*e.task().label, label);
            let err = InstrumentError::of(&e).expect("an instrument error");
            (err.kind(), err.to_string())
        }
        other => panic!("{label}: expected a failure, got {other:?}"),
    }
}

fn assert_names(message: &str, parts: &[&str]) {
    for part in parts {
        assert!(message.contains(part), "{message:?} does not name {part:?}");
    }
}

/// Work on the other instruments, submitted while a fault happens: it must all succeed.
struct Others {
    moves: Vec<Promise<f64>>,
    readings: Vec<Promise<f64>>,
}

impl Others {
    fn submit(bench: &Bench, with_dmm: bool) -> Self {
        Self {
            moves: [1.0, 2.0, 3.0]
                .iter()
                .map(|&x| bench.stage.move_to(x))
                .collect(),
            readings: if with_dmm {
                (0..3).map(|_| bench.dmm.read()).collect()
            } else {
                Vec::new()
            },
        }
    }

    fn check(&self) {
        for m in &self.moves {
            let x = *m.result().unwrap();
            assert!([1.0, 2.0, 3.0].contains(&x));
        }
        for r in &self.readings {
            assert!(r.result().unwrap().is_finite());
        }
    }
}

#[test]
fn disconnect_mid_waveform_then_the_next_command_reconnects() {
    let (bench, compute) = bench();
    let events = bench.sch.subscribe();
    // Replies of a waveform read: SYST:ERR?, :WAV:PRE?, then the data block, cut in half.
    bench.lab.scope.inject(Fault::Slow(Duration::ZERO));
    bench.lab.scope.inject(Fault::Slow(Duration::ZERO));
    bench.lab.scope.inject(Fault::Disconnect);
    let others = Others::submit(&bench, true);
    let wave = bench.scope.waveform(1);
    let amplitude = compute.submit(&wave, |w: &Waveform| w.amplitude());

    let (kind, msg) = failure_of_kind(&wave, "scope.waveform(1)");
    assert_eq!(kind, ErrorKind::Disconnected);
    assert_names(&msg, &["scope", "disconnected", ":WAV:DATA?"]);
    match amplitude.result() {
        Err(TaskError::DependencyFailed { input, reason, .. }) => {
            assert_eq!(&*input.label, "scope.waveform(1)");
            assert!(reason.contains(msg.as_str()), "{reason}");
        }
        other => panic!("expected a dependency failure, got {other:?}"),
    }
    others.check();

    // The next command opens the link again, then goes on.
    assert_eq!(bench.scope.identify().result().unwrap().model, "DS1104Z");
    let waves: Vec<_> = (0..3).map(|_| bench.scope.waveform(1)).collect();
    for w in &waves {
        assert_eq!(w.result().unwrap().v.len(), smq_sim::SCREEN_POINTS);
    }
    bench.sch.wait_timeout(LONG).unwrap();
    let log: Vec<_> = events.try_iter().collect();
    for queue in ["stage", "dmm", "scope"] {
        runs_of(&log, queue);
    }
}

#[test]
fn disconnect_of_a_serial_device_then_it_reopens_on_the_new_port() {
    let (bench, _compute) = bench();
    bench.lab.dmm.inject(Fault::Disconnect);
    let others = Others::submit(&bench, false);
    let lost = bench.dmm.read();
    let (kind, msg) = failure_of_kind(&lost, "dmm.read");
    assert_eq!(kind, ErrorKind::Disconnected);
    assert_names(&msg, &["dmm", "disconnected", "READ?"]);
    others.check();

    // The simulator replaced its pseudo-terminal, as a replugged USB adapter would, behind
    // the same stable path: the next command opens it again.
    let v = *bench.dmm.read().result().unwrap();
    let expected = bench.lab.physics().signal_now();
    assert!((v - expected).abs() < 1e-2, "{v} V, expected {expected}");
}

#[test]
fn failed_reopen_leaves_the_device_closed_until_the_next_one() {
    let (bench, _compute) = bench();
    let bad = bench
        .dmm
        .reopen(|| Dmm::open("ASRL/dev/no-such-port::INSTR"));
    assert_names(&failure(&bad, "dmm.reopen"), &["dmm", "/dev/no-such-port"]);
    let (kind, msg) = failure_of_kind(&bench.dmm.read(), "dmm.read");
    assert_eq!(kind, ErrorKind::Disconnected);
    assert_names(&msg, &["dmm", "reopen failed"]);
    let lab = Arc::clone(&bench.lab);
    bench
        .dmm
        .reopen(move || Dmm::open(&lab.dmm.serial_address()))
        .result()
        .unwrap();
    assert!(bench.dmm.measure_voltage_dc().result().unwrap().is_finite());
}

#[test]
fn garbage_reply() {
    let (bench, compute) = bench();
    bench.lab.dmm.inject(Fault::Garbage);
    let others = Others::submit(&bench, false);
    let reading = bench.dmm.read();
    let doubled = compute.submit(&reading, |v: &f64| 2.0 * v);
    let (kind, msg) = failure_of_kind(&reading, "dmm.read");
    assert_eq!(kind, ErrorKind::Protocol);
    assert_names(&msg, &["dmm", "READ?", "unparseable"]);
    assert!(matches!(
        doubled.result(),
        Err(TaskError::DependencyFailed { .. })
    ));
    others.check();
    // The link is fine: nothing to reopen.
    assert!(bench.dmm.read().result().unwrap().is_finite());
}

#[test]
fn no_reply_times_out() {
    let (bench, _compute) = bench();
    bench.dmm.set_timeout(SHORT).result().unwrap();
    bench.lab.dmm.inject(Fault::NoReply);
    let others = Others::submit(&bench, false);
    let (kind, msg) = failure_of_kind(&bench.dmm.read(), "dmm.read");
    assert_eq!(kind, ErrorKind::Timeout);
    assert_names(&msg, &["dmm", "timeout", "READ?"]);
    others.check();
    bench.dmm.set_timeout(LONG).result().unwrap();
    assert!(bench.dmm.read().result().unwrap().is_finite());
}

#[test]
fn slow_reply() {
    let (bench, _compute) = bench();
    // Slower than usual but within the timeout: fine.
    bench.lab.dmm.inject(Fault::Slow(Duration::from_millis(50)));
    assert!(bench.dmm.read().result().unwrap().is_finite());
    bench.dmm.set_timeout(SHORT).result().unwrap();

    // Later than the timeout: the command fails; the late reply must not be taken for the
    // answer to the next one.
    bench
        .lab
        .physics()
        .set_position(bench.lab.physics().peak_center);
    let before = bench.lab.dmm.replies_sent();
    bench
        .lab
        .dmm
        .inject(Fault::Slow(Duration::from_millis(600)));
    let others = Others::submit(&bench, false);
    let msg = failure(&bench.dmm.identify(), "dmm.identify");
    assert_names(&msg, &["dmm", "timeout", "*IDN?"]);
    assert!(bench.lab.dmm.wait_replies(before + 1, LONG));
    others.check();
    bench.dmm.set_timeout(LONG).result().unwrap();
    let v = *bench.dmm.read().result().unwrap();
    let expected = bench.lab.physics().signal_now();
    assert!((v - expected).abs() < 1e-2, "{v} V, expected {expected}");
}

#[test]
fn scpi_errors() {
    let (bench, _compute) = bench();
    assert!(bench.lab.dmm.push_error(-222, "Data out of range"));
    let others = Others::submit(&bench, false);
    let (kind, msg) = failure_of_kind(
        &bench.dmm.configure_voltage_dc(Range::Value(10.0), None),
        "dmm.configure_voltage_dc",
    );
    assert_eq!(kind, ErrorKind::Instrument);
    assert_names(&msg, &["dmm", "-222", "Data out of range", "CONF:VOLT:DC"]);

    assert!(bench.lab.scope.push_error(-113, "Undefined header"));
    let msg = failure(
        &bench.scope.set_channel_scale(1, 0.5),
        "scope.set_channel_scale",
    );
    assert_names(&msg, &["scope", "-113", "Undefined header", ":CHAN1:SCAL"]);
    others.check();
    assert!(bench.scope.waveform(1).result().is_ok());
    assert!(bench.dmm.read().result().unwrap().is_finite());
}

#[test]
fn positioner_fault() {
    let (bench, _compute) = bench();
    bench.lab.stage.with_model(|m| m.set_positioner_error(0x20));
    let reading = bench.dmm.read();
    let wave = bench.scope.waveform(1);
    let msg = failure(&bench.stage.move_to(4.0), "stage.move_to(4)");
    // The fault disabled the controller, which refuses the move.
    assert_names(&msg, &["stage", "1PA4", "DISABLE"]);
    assert!(reading.result().unwrap().is_finite());
    assert!(wave.result().is_ok());
}

#[test]
fn a_failed_acquisition_still_releases_the_stage() {
    let (bench, _compute) = bench();
    // The first reply of the waveform read (its error-queue check) is garbage.
    bench.lab.scope.inject(Fault::Garbage);
    let moved = bench.stage.move_to_held(2.0);
    let wave = bench.scope.waveform_releasing(1, &moved).unwrap();
    assert_names(
        &failure(&wave, "scope.waveform(1)"),
        &["scope", "unparseable"],
    );
    assert_eq!(*moved.result().unwrap(), 2.0);
    // The stage was released: the next held move and its acquisition run.
    let moved = bench.stage.move_to_held(3.0);
    let reading = bench
        .dmm
        .task("read")
        .releases(&moved)
        .submit_with(&moved, |d: &mut Dmm, at: &f64| Ok((*at, d.read()?)))
        .unwrap();
    let (at, v) = *reading.result().unwrap();
    assert_eq!(at, 3.0);
    assert!((v - bench.lab.physics().signal(3.0)).abs() < 1e-2);
    assert_eq!(*bench.stage.position().result().unwrap(), 3.0);
}

#[test]
fn a_failed_move_fails_its_acquisitions_and_holds_nothing() {
    let (bench, _compute) = bench();
    // Beyond the travel: the controller refuses the move.
    let moved = bench.stage.move_to_held(100.0);
    let wave = bench.scope.waveform_releasing(1, &moved).unwrap();
    assert_names(&failure(&moved, "stage.move_to(100)"), &["stage", "1PA100"]);
    match wave.result() {
        Err(TaskError::DependencyFailed { input, .. }) => {
            assert_eq!(&*input.label, "stage.move_to(100)");
        }
        other => panic!("expected a dependency failure, got {other:?}"),
    }
    assert_eq!(*bench.stage.move_to(1.0).result().unwrap(), 1.0);
}
