//! A scan of the simulated lab through the scheduler: the stage steps over the sample;
//! at each position the multimeter reads and the scope records a waveform, while the
//! waveforms are analysed on a compute queue.
//!
//! Checked: (a) the tasks of each instrument never overlap, both from inside the task
//! bodies (a busy flag per instrument) and from the scheduler's event log; (b) the data of
//! position x were taken at x: the sample's signal is monotonic and well separated over the
//! scanned positions, so each reading and each waveform amplitude matches the physics at
//! its own position only; and the event log shows that no stage command ran between a
//! move and the acquisitions it held the stage for.

#![allow(clippy::unwrap_used)]

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use smq_dmm::{Dmm, Function, Range};
use smq_e2e::{Bench, LONG, by_task, lock_in_amplitude, runs_of};
use smq_instrument::InstrumentError;
use smq_instrument::smqsched::Promise;
use smq_scope::{Scope, Waveform};
use smq_sim::Physics;

/// Stage positions, mm.
const XS: [f64; 9] = [0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0];
/// Largest accepted difference between a reading and the physics, V (noise: 0.03 mV).
const DMM_TOL: f64 = 1e-3;
/// Largest accepted difference between a waveform amplitude and the physics, V
/// (quantization step 4 mV, noise 5 mV per point, 1200 points).
const SCOPE_TOL: f64 = 3e-3;

/// Run `f` while marking `busy`, failing if another task of the same instrument is
/// running.
fn exclusive<T>(busy: &AtomicBool, f: impl FnOnce() -> T) -> T {
    assert!(
        !busy.swap(true, Ordering::SeqCst),
        "two tasks of one instrument overlap"
    );
    let out = f();
    busy.store(false, Ordering::SeqCst);
    out
}

#[test]
fn three_device_scan() {
    // A peak centred beyond the scan: the signal rises monotonically over 0..8 mm.
    let bench = Bench::new(Physics::new(10.0, 4.0, 0.4, 0.02), 21);
    let physics = Arc::clone(bench.lab.physics());
    let min_gap = XS
        .windows(2)
        .map(|w| physics.signal(w[1]) - physics.signal(w[0]))
        .fold(f64::INFINITY, f64::min);
    // Each measurement matches the physics at one scanned position only.
    assert!(min_gap > 2.0 * SCOPE_TOL.max(DMM_TOL), "{min_gap}");

    let events = bench.sch.subscribe();
    let compute = bench.sch.queue("compute", 2).unwrap();
    bench.sch.start();

    // Set-up, waited for: independent commands of one device run newest first.
    bench.stage.home().result().unwrap();
    bench.stage.set_velocity(200.0).result().unwrap();
    bench
        .dmm
        .configure_voltage_dc(Range::Value(10.0), None)
        .result()
        .unwrap();
    bench
        .dmm
        .set_nplc(Function::VoltageDc, 10.0)
        .result()
        .unwrap();
    bench.scope.set_timebase_scale(1e-3).result().unwrap();
    bench.scope.set_channel_scale(1, 0.1).result().unwrap();

    let busy_stage = Arc::new(AtomicBool::new(false));
    let busy_dmm = Arc::new(AtomicBool::new(false));
    let busy_scope = Arc::new(AtomicBool::new(false));

    // The whole scan is submitted at once; the scheduler interleaves it.
    let mut points = Vec::new();
    for &x in &XS {
        let b = Arc::clone(&busy_stage);
        let moved = bench
            .stage
            .task(&format!("move_to({x})"))
            .hold()
            .submit(move |s: &mut smq_stage::Stage| {
                exclusive(&b, || {
                    s.move_to(x, LONG)?;
                    s.position()
                })
            })
            .unwrap();
        let b = Arc::clone(&busy_dmm);
        let reading = bench
            .dmm
            .task("read")
            .submit_with(&moved, move |d: &mut Dmm, at: &f64| {
                exclusive(&b, || Ok::<_, InstrumentError>((*at, d.read()?)))
            })
            .unwrap();
        let b = Arc::clone(&busy_scope);
        let wave = bench
            .scope
            .task("waveform(1)")
            .after(&moved)
            .submit(move |s: &mut Scope| exclusive(&b, || s.read_waveform(1)))
            .unwrap();
        // The stage is released once both acquisitions at x are done.
        let released = compute
            .task()
            .label(format!("at({x})"))
            .releases(&moved)
            .submit((&moved, &reading, &wave), |(_, _, _)| ())
            .unwrap();
        let amplitude = compute.submit(&wave, lock_in_amplitude);
        let peak = compute.submit(&wave, |w: &Waveform| w.amplitude());
        points.push(Point {
            x,
            moved,
            reading,
            wave,
            amplitude,
            peak,
            released,
        });
    }
    bench.sch.wait_timeout(LONG * 6).expect("scan finishes");

    for p in &points {
        let x = p.x;
        p.released.result().unwrap();
        let (at, volts) = *p.reading.result().unwrap();
        assert_eq!(at, x, "the reading's move went to {at}");
        assert_eq!(*p.moved.result().unwrap(), x);
        let expected = physics.signal(x);
        assert!(
            (volts - expected).abs() < DMM_TOL,
            "x={x}: {volts} V, expected {expected}"
        );
        let a = *p.amplitude.result().unwrap();
        assert!(
            (a - expected).abs() < SCOPE_TOL,
            "x={x}: amplitude {a}, expected {expected}"
        );
        // The peak-to-peak estimate agrees within the noise.
        let pk = *p.peak.result().unwrap();
        assert!(
            (pk - expected).abs() < 0.03,
            "x={x}: peak {pk}, expected {expected}"
        );
    }

    // The event log: no overlap on any instrument, and between each move and the end of
    // the acquisitions it held the stage for, no other stage command starts.
    let log: Vec<_> = events.try_iter().collect();
    let stage_runs = runs_of(&log, "stage");
    let dmm_runs = by_task(&runs_of(&log, "dmm"));
    let scope_runs = by_task(&runs_of(&log, "scope"));
    let moves = by_task(&stage_runs);
    assert_eq!(stage_runs.len(), 2 + XS.len());
    assert_eq!(dmm_runs.len(), 2 + XS.len());
    assert_eq!(scope_runs.len(), 2 + XS.len());
    for p in &points {
        let m = &moves[&p.moved.id()];
        let r = &dmm_runs[&p.reading.id()];
        let w = &scope_runs[&p.wave.id()];
        assert!(
            r.started > m.ended && w.started > m.ended,
            "acquired before the move ended"
        );
        let done = r.ended.max(w.ended);
        for other in &stage_runs {
            assert!(
                other.task == m.task || other.started < m.started || other.started > done,
                "`{}` ran between `{}` and its acquisitions",
                other.label,
                m.label
            );
        }
    }
}

/// What the scan submits for one position.
struct Point {
    x: f64,
    moved: Promise<f64>,
    reading: Promise<(f64, f64)>,
    wave: Promise<Waveform>,
    amplitude: Promise<f64>,
    peak: Promise<f64>,
    released: Promise<()>,
}

/// A scan during which one reading gets a garbage reply: that reading and what depends
/// on it fail, naming the meter and the command; everything else completes, and the stage
/// is released at every position.
#[test]
fn scan_survives_a_faulty_reading() {
    let bench = Bench::new(Physics::new(10.0, 4.0, 0.4, 0.02), 22);
    let physics = Arc::clone(bench.lab.physics());
    let compute = bench.sch.queue("compute", 2).unwrap();
    bench.sch.start();
    bench.stage.home().result().unwrap();
    bench.stage.set_velocity(200.0).result().unwrap();
    bench
        .dmm
        .configure_voltage_dc(Range::Value(10.0), None)
        .result()
        .unwrap();

    // The meter is idle: the first reading of the scan gets garbage.
    bench.lab.dmm.inject(smq_sim::Fault::Garbage);
    let mut points = Vec::new();
    for &x in &XS {
        let moved = bench.stage.move_to_held(x);
        let reading = bench
            .dmm
            .task("read")
            .releases(&moved)
            .submit_with(&moved, |d: &mut Dmm, at: &f64| Ok((*at, d.read()?)))
            .unwrap();
        let physics = Arc::clone(&physics);
        let error = compute.submit(&reading, move |(at, v): &(f64, f64)| {
            (v - physics.signal(*at)).abs()
        });
        points.push((x, reading, error));
    }
    // Every move ran, so every hold was released, the failed reading's included.
    bench.sch.wait_timeout(LONG * 6).expect("scan finishes");

    let mut failed = 0;
    for (x, reading, error) in &points {
        match reading.result() {
            Ok((at, _)) => {
                assert_eq!(at, x);
                assert!(*error.result().unwrap() < DMM_TOL);
            }
            Err(e) => {
                failed += 1;
                let msg = e.to_string();
                assert!(msg.contains("dmm") && msg.contains("READ?"), "{msg}");
                assert!(error.result().is_err());
            }
        }
    }
    assert_eq!(failed, 1);
    assert_eq!(*bench.stage.move_to(0.5).result().unwrap(), 0.5);
}
