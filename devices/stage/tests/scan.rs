//! A scan across the simulated lab: the stage steps over the sample while
//! the multimeter and the scope record the peak.

#![allow(clippy::unwrap_used)]

use std::time::Duration;

use smq_dmm::{Dmm, Function, Range};
use smq_instrument::Instrument as _;
use smq_scope::Scope;
use smq_sim::SimLab;
use smq_stage::Stage;

#[test]
fn scan_finds_the_peak() {
    let lab = SimLab::start(11).unwrap();
    let mut stage = Stage::open(&lab.stage.serial_address()).unwrap();
    let mut dmm = Dmm::open(&lab.dmm.serial_address()).unwrap();
    let mut scope = Scope::open(&lab.scope.socket_address()).unwrap();

    stage.home().unwrap();
    stage.wait_motion_done(Duration::from_secs(10)).unwrap();
    stage.set_velocity(100.0).unwrap();
    dmm.configure_voltage_dc(Range::Value(10.0), None).unwrap();
    dmm.set_nplc(Function::VoltageDc, 10.0).unwrap();
    scope.set_channel_scale(1, 0.5).unwrap();

    let xs: Vec<f64> = (0..=20).map(|i| f64::from(i) * 0.5).collect();
    let mut volts = Vec::new();
    let mut amplitudes = Vec::new();
    for &x in &xs {
        stage.move_to(x, Duration::from_secs(10)).unwrap();
        assert_eq!(stage.position().unwrap(), x);
        volts.push(dmm.read().unwrap());
        scope.single().unwrap();
        amplitudes.push(scope.read_waveform(1).unwrap().amplitude());
    }
    let argmax = |v: &[f64]| {
        v.iter()
            .enumerate()
            .fold((0, f64::NEG_INFINITY), |(bi, bv), (i, &x)| {
                if x > bv { (i, x) } else { (bi, bv) }
            })
            .0
    };
    let peak = lab.physics().peak_center;
    assert_eq!(xs[argmax(&volts)], peak);
    assert_eq!(xs[argmax(&amplitudes)], peak);
    assert!(volts[argmax(&volts)] > volts[0] + 0.9);
}
