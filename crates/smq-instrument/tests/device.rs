//! `Device`: a driver behind a one-slot queue of the scheduler.

#![allow(clippy::unwrap_used)]

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use smq_instrument::smqsched::{Scheduler, TaskError};
use smq_instrument::{Connection, Device, ErrorKind, InstrumentError};
use smq_sim::{DmmModel, Fault, SimInstrument};

/// The label of a failed task and its instrument error's message.
fn message<T: std::fmt::Debug>(r: Result<&T, TaskError>) -> (String, String) {
    match r {
        Err(e @ TaskError::FailedWith { .. }) => {
            let err = InstrumentError::of(&e).expect("an instrument error");
            (e.task().label.to_string(), err.to_string())
        }
        other => panic!("expected a failure, got {other:?}"),
    }
}

type Log = Arc<std::sync::Mutex<Vec<&'static str>>>;

/// A command that notes `name` in `log`, then sends `cmd`.
fn step(
    log: &Log,
    name: &'static str,
    cmd: &'static str,
) -> impl FnOnce(&mut Connection) -> Result<(), InstrumentError> + Send + 'static {
    let log = Arc::clone(log);
    move |c: &mut Connection| {
        log.lock().unwrap().push(name);
        c.write(cmd)
    }
}

#[test]
fn commands_never_overlap_and_errors_name_device_and_command() {
    let sim = SimInstrument::start(DmmModel::standalone(3)).unwrap();
    let sch = Scheduler::new();
    // A connection named otherwise: the device's name is added to the messages.
    let dmm = Device::new(
        &sch,
        "meter",
        Connection::tcp("dmm", sim.tcp_addr()).unwrap(),
    )
    .unwrap();
    let busy = Arc::new(AtomicBool::new(false));
    let readings: Vec<_> = (0..20)
        .map(|_| {
            let busy = Arc::clone(&busy);
            dmm.submit("read", move |c: &mut Connection| {
                assert!(!busy.swap(true, Ordering::SeqCst));
                let v = c.query_parse::<f64>("READ?");
                busy.store(false, Ordering::SeqCst);
                v
            })
        })
        .collect();
    let bad = dmm.submit("bogus", |c: &mut Connection| c.query_parse::<f64>("*IDN?"));
    sch.start();
    for r in &readings {
        assert!(r.result().unwrap().is_finite());
    }
    let (label, msg) = message(bad.result());
    assert_eq!(label, "meter.bogus");
    assert!(msg.starts_with("dmm: "), "{msg}");
    assert!(msg.contains("*IDN?"), "{msg}");
    let err = bad.result().unwrap_err();
    assert!(err.to_string().contains("meter.bogus"), "{err}");
    assert_eq!(
        InstrumentError::of(&err).map(InstrumentError::kind),
        Some(ErrorKind::Protocol)
    );
}

#[test]
fn a_queue_per_device_name() {
    let sch = Scheduler::new();
    let _a = Device::new(&sch, "stage", ()).unwrap();
    assert!(Device::new(&sch, "stage", ()).is_err());
    assert!(sch.queues().iter().any(|q| &*q.name == "stage"));
}

#[test]
fn a_panicking_command_leaves_the_driver_usable() {
    let sch = Scheduler::new();
    let dev = Device::new(&sch, "counter", 0_u32).unwrap();
    sch.start();
    let boom = dev.submit("boom", |n: &mut u32| -> Result<u32, InstrumentError> {
        *n += 1;
        panic!("broken driver")
    });
    assert!(matches!(boom.result(), Err(TaskError::Panicked { .. })));
    let next = dev.submit("count", |n: &mut u32| {
        *n += 1;
        Ok(*n)
    });
    assert_eq!(*next.result().unwrap(), 2);
}

#[test]
fn ordering_with_after_and_inputs() {
    let sch = Scheduler::new();
    let dev = Device::new(&sch, "log", Vec::<&'static str>::new()).unwrap();
    let configure = dev.submit("configure", |l: &mut Vec<_>| {
        l.push("configure");
        Ok(())
    });
    let read = dev
        .task("read")
        .after(&configure)
        .submit(|l: &mut Vec<_>| {
            l.push("read");
            Ok(l.clone())
        })
        .unwrap();
    let report = dev.submit_with("report", &read, |l: &mut Vec<_>, seen: &Vec<_>| {
        l.push("report");
        Ok(seen.len())
    });
    sch.start();
    assert_eq!(read.result().unwrap(), &vec!["configure", "read"]);
    assert_eq!(*report.result().unwrap(), 2);
}

#[test]
fn a_lost_link_fails_one_command_typed_and_the_next_reconnects() {
    let sim = SimInstrument::start(DmmModel::standalone(3)).unwrap();
    let addr = sim.tcp_addr();
    let sch = Scheduler::new();
    let dmm = Device::new(&sch, "dmm", Connection::tcp("dmm", addr).unwrap()).unwrap();
    sch.start();
    sim.inject(Fault::Disconnect);
    let lost = dmm.submit("read", |c: &mut Connection| c.query("READ?"));
    let err = lost.result().unwrap_err();
    assert_eq!(
        InstrumentError::of(&err).map(InstrumentError::kind),
        Some(ErrorKind::Disconnected)
    );
    let id = dmm.submit("idn", |c: &mut Connection| c.idn());
    assert_eq!(id.result().unwrap().model, "34401A");
    let reconnects = dmm.submit("reconnects", |c: &mut Connection| Ok(c.reconnects()));
    assert_eq!(*reconnects.result().unwrap(), 1);
}

#[test]
fn a_failed_reopen_refuses_commands_until_the_next_one() {
    let sim = SimInstrument::start(DmmModel::standalone(3)).unwrap();
    let addr = sim.tcp_addr();
    let sch = Scheduler::new();
    let dmm = Device::new(&sch, "dmm", Connection::tcp("dmm", addr).unwrap()).unwrap();
    sch.start();
    let failed = dmm.reopen(|| Connection::open_str("dmm", "ASRL/nonexistent/tty9::INSTR"));
    assert!(failed.result().is_err());
    let refused = dmm.submit("idn", |c: &mut Connection| c.idn());
    let (label, msg) = message(refused.result());
    assert_eq!(label, "dmm.idn");
    assert!(msg.contains("not open") && msg.contains("reopen"), "{msg}");
    dmm.reopen(move || Connection::tcp("dmm", addr))
        .result()
        .unwrap();
    let id = dmm.submit("idn", |c: &mut Connection| c.idn());
    assert_eq!(id.result().unwrap().model, "34401A");
}

#[test]
fn label_can_be_replaced() {
    let sch = Scheduler::new();
    let dev = Device::new(&sch, "cam", ()).unwrap();
    let p = dev
        .task("snap")
        .label("first frame")
        .submit(|()| Err::<(), _>(InstrumentError::garbage("cam", "SNAP?", b"x", "bad")))
        .unwrap();
    sch.start();
    let (label, msg) = message(p.result());
    assert_eq!(label, "first frame");
    assert!(msg.contains("SNAP?"), "{msg}");
}

#[test]
fn after_settled_keeps_a_devices_commands_in_submission_order() {
    let sim = SimInstrument::start(DmmModel::standalone(4)).unwrap();
    let sch = Scheduler::new();
    let dmm = Device::new(&sch, "dmm", Connection::tcp("dmm", sim.tcp_addr()).unwrap()).unwrap();
    let log = Arc::new(std::sync::Mutex::new(Vec::new()));
    let reset = dmm.submit("reset", step(&log, "reset", "*RST"));
    // A command the instrument rejects: the chain goes on regardless.
    let bad = dmm
        .task("bad")
        .after_settled(&reset)
        .submit(move |c: &mut Connection| {
            c.write("NOT:A:COMMAND")?;
            c.check_errors("NOT:A:COMMAND")
        });
    let bad = bad.unwrap();
    let configure = dmm
        .task("configure")
        .after_settled(&bad)
        .submit(step(&log, "configure", "CONF:VOLT:DC 10,0.001"))
        .unwrap();
    let l = Arc::clone(&log);
    let read = dmm
        .task("read")
        .after_settled(&configure)
        .submit(move |c: &mut Connection| {
            l.lock().unwrap().push("read");
            c.query_parse::<f64>("READ?")
        })
        .unwrap();
    sch.start();
    assert!(read.result().unwrap().is_finite());
    assert!(bad.result().is_err());
    assert_eq!(*log.lock().unwrap(), ["reset", "configure", "read"]);
}

#[test]
fn a_device_in_submission_order_runs_commands_as_submitted_past_a_failure() {
    let sim = SimInstrument::start(DmmModel::standalone(5)).unwrap();
    let sch = Scheduler::new();
    let dmm = Device::new(&sch, "dmm", Connection::tcp("dmm", sim.tcp_addr()).unwrap())
        .unwrap()
        .in_submission_order();
    assert!(dmm.is_in_submission_order());
    // A clone shares the order: commands from both are chained in one sequence.
    let other = dmm.clone();
    let log = Arc::new(std::sync::Mutex::new(Vec::new()));
    dmm.submit("reset", step(&log, "reset", "*RST"));
    let bad = other.submit("bad", move |c: &mut Connection| {
        c.write("NOT:A:COMMAND")?;
        c.check_errors("NOT:A:COMMAND")
    });
    dmm.submit(
        "configure",
        step(&log, "configure", "CONF:VOLT:DC 10,0.001"),
    );
    let l = Arc::clone(&log);
    let read = other.submit("read", move |c: &mut Connection| {
        l.lock().unwrap().push("read");
        c.query_parse::<f64>("READ?")
    });
    sch.start();
    assert!(read.result().unwrap().is_finite());
    assert!(bad.result().is_err());
    assert_eq!(*log.lock().unwrap(), ["reset", "configure", "read"]);

    // Without it, the same ready commands run newest first.
    let plain = Device::new(&sch, "plain", Vec::new()).unwrap();
    assert!(!plain.is_in_submission_order());
    sch.stop();
    for step in ["a", "b", "c"] {
        plain.submit(step, move |l: &mut Vec<&str>| {
            l.push(step);
            Ok(())
        });
    }
    let order = plain.submit("order", |l: &mut Vec<&str>| Ok(l.clone()));
    sch.start();
    assert_eq!(*order.result().unwrap(), Vec::<&str>::new());
}
