//! Recovering from each kind of fault, over each kind of link (a real pseudo-terminal, a raw
//! TCP socket, VXI-11 over TCP), as users ask of PyVISA: the faulty command fails with a
//! typed error, and the next command reconnects (bounded retries), sends a device clear and
//! `*CLS`, and goes on. Every fault is triggered explicitly at a known point; nothing here
//! depends on timing but the reply timeout of the command that is meant to time out, whose
//! reply never comes.

#![allow(clippy::unwrap_used)]

use std::time::Duration;

use smq_instrument::smqsched::Scheduler;
use smq_instrument::{ErrorKind, Instrument, InstrumentError, Scpi, ScpiDevice};
use smq_sim::{DmmModel, Fault, SimInstrument};

/// Reply timeout of the commands meant to time out.
const SHORT: Duration = Duration::from_millis(300);

/// The links of a simulated multimeter, as addresses.
fn links(sim: &SimInstrument<DmmModel>) -> [(&'static str, String); 3] {
    [
        ("serial", sim.serial_address()),
        ("socket", sim.socket_address()),
        ("vxi-11", sim.vxi11_address()),
    ]
}

/// Open the meter at `address` and check that it answers.
fn open(address: &str) -> Scpi {
    let mut meter = Scpi::open(address).unwrap();
    assert_eq!(meter.idn().unwrap().model, "34401A", "{address}");
    meter
}

/// The commands the simulator received after the `n`-th one.
fn received_after(sim: &SimInstrument<DmmModel>, n: usize) -> Vec<String> {
    sim.received().into_iter().skip(n).collect()
}

#[test]
fn a_link_dropped_mid_reply_is_reopened_by_the_next_command() {
    let sim = SimInstrument::start(DmmModel::standalone(1)).unwrap();
    for (link, address) in links(&sim) {
        let mut meter = open(&address);
        sim.inject(Fault::Disconnect);
        let err = meter.query_f64("READ?").unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Disconnected, "{link}: {err}");
        let before = sim.received().len();
        assert!(meter.query_f64("READ?").unwrap().is_finite(), "{link}");
        assert_eq!(meter.connection().reconnects(), 1, "{link}");
        // Cleared before going on.
        assert_eq!(received_after(&sim, before), ["*CLS", "READ?"], "{link}");
    }
}

#[test]
fn refused_while_unplugged_then_reconnected_once_plugged_back() {
    let sim = SimInstrument::start(DmmModel::standalone(2)).unwrap();
    for (link, address) in links(&sim) {
        let mut meter = open(&address);
        sim.unplug();
        // Unplugged: the command finds the link gone, tries to open it again a bounded
        // number of times, and fails typed, saying so.
        let err = meter.query_f64("READ?").unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Disconnected, "{link}: {err}");
        assert!(err.to_string().contains("4 attempt(s)"), "{link}: {err}");
        // Still unplugged: the next command tries again, and fails again.
        assert!(meter.idn().unwrap_err().is_disconnected(), "{link}");
        sim.plug_in().unwrap();
        assert!(meter.query_f64("READ?").unwrap().is_finite(), "{link}");
        assert_eq!(meter.connection().reconnects(), 1, "{link}");
    }
}

#[test]
fn a_power_cycle_between_commands_is_met_by_reconnecting_first() {
    let sim = SimInstrument::start(DmmModel::standalone(3)).unwrap();
    for (link, address) in links(&sim) {
        let mut meter = open(&address);
        sim.power_cycle().unwrap();
        let before = sim.received().len();
        // The link died while idle: the command is sent on a new one, and succeeds.
        assert!(meter.query_f64("READ?").unwrap().is_finite(), "{link}");
        assert_eq!(meter.connection().reconnects(), 1, "{link}");
        assert_eq!(received_after(&sim, before), ["*CLS", "READ?"], "{link}");
    }
}

#[test]
fn a_reply_hanging_mid_transfer_times_out_then_the_device_is_cleared() {
    let sim = SimInstrument::start(DmmModel::standalone(4)).unwrap();
    for (link, address) in links(&sim) {
        let mut meter = open(&address);
        meter.set_timeout(SHORT);
        sim.inject(Fault::Hang);
        let clears = sim.device_clears();
        let err = meter.idn().unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Timeout, "{link}: {err}");
        let before = sim.received().len();
        // The half reply is not taken for the next one: the link is cleared first.
        assert!(meter.query_f64("READ?").unwrap().is_finite(), "{link}");
        assert_eq!(received_after(&sim, before), ["*CLS", "READ?"], "{link}");
        assert_eq!(meter.connection().reconnects(), 0, "{link}");
        let expected = u64::from(link == "vxi-11");
        assert_eq!(sim.device_clears(), clears + expected, "{link}");
    }
}

#[test]
fn on_a_scheduler_the_failure_stays_with_its_task_and_the_device_recovers() {
    let sim = SimInstrument::start(DmmModel::standalone(5)).unwrap();
    let sch = Scheduler::new();
    let meter = ScpiDevice::new(&sch, "meter", open(&sim.vxi11_address()))
        .unwrap()
        .in_submission_order();
    let compute = sch.queue("compute", 1).unwrap();
    sch.start();
    sim.inject(Fault::Disconnect);
    let lost = meter.query_f64("READ?");
    let doubled = compute.submit(&lost, |v: &f64| 2.0 * v);
    let next = meter.query_f64("READ?");
    let err = lost.result().unwrap_err();
    assert_eq!(
        InstrumentError::of(&err).map(InstrumentError::kind),
        Some(ErrorKind::Disconnected)
    );
    assert!(doubled.result().is_err());
    assert!(next.result().unwrap().is_finite());
}
