//! A writer process killed with SIGKILL loses nothing it reported as appended.

#![allow(clippy::unwrap_used)] // a failing test may panic

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command, Stdio};

use ndarray::Array1;
use smq_store::Store;

const ENV_DIR: &str = "SMQ_STORE_CRASH_WRITER_DIR";
const POINTS: usize = 257;
const RUN: &str = "crash";

/// Element `k` of acquisition `i`.
fn value(i: u64, k: usize) -> f64 {
    i as f64 * 1000.0 + k as f64
}

/// The writer: does nothing unless started by `killed_writer_loses_nothing_reported` through
/// the environment variable; then appends forever, printing the count after each durable
/// append.
#[test]
fn writer_child() {
    let Ok(dir) = std::env::var(ENV_DIR) else {
        return;
    };
    let store = Store::create(&dir).unwrap();
    let run = match store.open_run(RUN) {
        Ok(run) => run,
        Err(_) => store
            .create_run(RUN, "crash-test", serde_json::json!({"points": POINTS}))
            .unwrap(),
    };
    let waveforms = run.dataset::<f64>("waveforms", &[POINTS]).unwrap();
    let readings = run.dataset::<i16>("readings", &[]).unwrap();
    let mut out = std::io::stdout().lock();
    loop {
        let i = waveforms.len();
        let acq = Array1::from_iter((0..POINTS).map(|k| value(i, k)));
        assert_eq!(waveforms.append(&acq.view()).unwrap(), i);
        // Readings may lag the waveforms by the one in flight; catch up first.
        while readings.len() <= i {
            let j = readings.len();
            readings.push((j % 30_000) as i16).unwrap();
        }
        writeln!(out, "APPENDED {}", i + 1).unwrap();
        out.flush().unwrap();
    }
}

fn verify(dir: &Path, reported: u64) -> u64 {
    let store = Store::open(dir).unwrap();
    assert_eq!(store.runs().unwrap(), [RUN]);
    let run = store.open_run(RUN).unwrap();
    run.metadata().unwrap();
    let infos = run.datasets().unwrap();
    assert_eq!(infos.len(), 2);
    let w = run.read::<f64>("waveforms").unwrap();
    let n = w.shape()[0] as u64;
    assert!(n >= reported, "{n} waveforms readable, {reported} reported");
    assert_eq!(w.shape()[1], POINTS);
    for (i, acq) in w.outer_iter().enumerate() {
        for (k, &x) in acq.iter().enumerate() {
            assert_eq!(x, value(i as u64, k), "waveform {i} element {k}");
        }
    }
    let r = run.read::<i16>("readings").unwrap();
    assert!(
        r.len() as u64 >= reported,
        "{} readings, {reported} reported",
        r.len()
    );
    for (j, &x) in r.iter().enumerate() {
        assert_eq!(x, (j % 30_000) as i16, "reading {j}");
    }
    // One acquisition at a time as well.
    let last = run.read_acquisition::<f64>("waveforms", n - 1).unwrap();
    assert_eq!(last[[POINTS - 1]], value(n - 1, POINTS - 1));
    n
}

#[test]
fn killed_writer_loses_nothing_reported() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("runs");
    let exe = std::env::current_exe().unwrap();
    let mut total = 0;
    // Kill the writer three times, each time resuming the same run.
    for round in 0..3u64 {
        let target = total + 40 + round * 7;
        let mut child = Command::new(&exe)
            .args(["--exact", "writer_child", "--nocapture", "--test-threads=1"])
            .env(ENV_DIR, &dir)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let mut reported = 0;
        for line in BufReader::new(stdout).lines() {
            let line = line.unwrap();
            if let Some(n) = line.strip_prefix("APPENDED ") {
                reported = n.trim().parse().unwrap();
                if reported >= target {
                    break;
                }
            }
        }
        child.kill().unwrap(); // SIGKILL on Unix, whatever the writer is doing
        child.wait().unwrap();
        assert!(
            reported >= target,
            "writer stopped after {reported} appends"
        );
        total = verify(&dir, reported);
    }
    assert!(total >= 40 + 47 + 54);
}
