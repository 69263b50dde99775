//! A stage behind a queue in submission order, against the simulated SMC100 over a
//! pseudo-terminal: the moves reach the controller in the order they were submitted, while
//! a stage behind a default queue gets the newest first.

#![allow(clippy::unwrap_used)]

use smq_instrument::Instrument as _;
use smq_instrument::smqsched::{Scheduler, StartOrder};
use smq_sim::{SimInstrument, StageModel};
use smq_stage::{Stage, StageDevice};

/// The positions of the absolute moves (`PA<x>`) the controller received, in order.
fn moves_received(sim: &SimInstrument<StageModel>) -> Vec<f64> {
    sim.received()
        .iter()
        .filter_map(|line| {
            let (_, arg) = line.split_once("PA")?;
            arg.trim().parse().ok()
        })
        .collect()
}

/// Home the stage, then submit moves to 0.5, 1.0, ... 3.0 mm while the scheduler is
/// stopped, start it and return the moves the simulated controller received.
fn scan(order: StartOrder) -> Vec<f64> {
    let sim = SimInstrument::start(StageModel::standalone()).unwrap();
    let sch = Scheduler::new();
    let stage = Stage::open(&sim.serial_address()).unwrap();
    let stage = StageDevice::new_ordered(&sch, "stage", stage, order).unwrap();
    assert_eq!(stage.device().start_order(), order);
    assert_eq!(sch.queues()[0].order, order);
    sch.start();
    stage.home().result().unwrap();
    stage.set_velocity(100.0).result().unwrap();
    sch.stop();
    let targets: Vec<f64> = (1..=6).map(|i| f64::from(i) * 0.5).collect();
    let moves: Vec<_> = targets.iter().map(|&x| stage.move_to(x)).collect();
    sch.start();
    sch.wait();
    for (m, &x) in moves.iter().zip(&targets) {
        assert_eq!(*m.result().unwrap(), x);
    }
    moves_received(&sim)
}

#[test]
fn moves_reach_the_controller_in_submission_order_on_an_ordered_queue() {
    assert_eq!(scan(StartOrder::Submission), [0.5, 1.0, 1.5, 2.0, 2.5, 3.0]);
    // A default queue, for contrast: the newest move first.
    assert_eq!(
        scan(StartOrder::NewestFirst),
        [3.0, 2.5, 2.0, 1.5, 1.0, 0.5]
    );
}
