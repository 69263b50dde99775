//! Following a run being written: reading it whole again ([`StoredRun::open`]) against
//! reading only what was stored since ([`StoredRun::refreshed`]), on a run of 2,000
//! waveforms of 1,000 samples by point (16 MB), with 20 new waveforms (one second of a fast
//! scan) or none.
//!
//! `cargo bench -p smq-lab --bench stored`

#![allow(clippy::unwrap_used)]

use criterion::{Criterion, criterion_group, criterion_main};
use ndarray::Array1;
use smq_lab::StoredRun;
use smq_store::{Run, Store};

const WAVEFORMS: u64 = 2_000;
const SAMPLES: usize = 1_000;
const NEW: u64 = 20;

fn append(run: &Run, points: std::ops::Range<u64>) {
    for p in points.rev() {
        let wave = Array1::from_iter((0..SAMPLES).map(|k| (p as f64) + k as f64 * 1e-3));
        run.append_at("waveform", p, &wave).unwrap();
        run.append_at("reading", p, &(p as f64)).unwrap();
    }
    run.commit().unwrap();
}

fn bench(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::create(dir.path()).unwrap();
    let run = store
        .create_run("r", "bench", serde_json::json!({}))
        .unwrap();
    append(&run, NEW..WAVEFORMS);
    let before = StoredRun::open(dir.path(), "r").unwrap();
    append(&run, 0..NEW);
    let now = StoredRun::open(dir.path(), "r").unwrap();
    assert_eq!(before.refreshed().unwrap().datasets, now.datasets);

    let mut g = c.benchmark_group("follow 2000 waveforms");
    g.sample_size(20);
    g.bench_function("whole read (open)", |b| {
        b.iter(|| StoredRun::open(dir.path(), "r").unwrap())
    });
    g.bench_function("refreshed, 20 new", |b| {
        b.iter(|| before.refreshed().unwrap())
    });
    g.bench_function("refreshed, none new", |b| {
        b.iter(|| now.refreshed().unwrap())
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
