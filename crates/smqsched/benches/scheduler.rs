//! Throughput of the scheduler against a plain DAG executor on the same workloads and the
//! same number of threads. Run with `cargo bench -p smqsched --bench scheduler`.

mod common;

use std::time::{Duration, Instant};

use common::*;
use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};

/// Each workload: its name, its size, its form on smqsched and on the baseline, and its graph
/// built on the submission contract alone (`Contract`).
const CASES: [(&str, usize, Workload, Workload, ContractBuild); 6] = [
    (
        "independent",
        100_000,
        smq_independent,
        base_independent,
        contract_independent,
    ),
    ("matrix", 100, smq_matrix, base_matrix, contract_matrix),
    ("matrix", 300, smq_matrix, base_matrix, contract_matrix),
    ("chain", 10_000, smq_chain, base_chain, contract_chain),
    ("chain", 100_000, smq_chain, base_chain, contract_chain),
    ("fan", 100_000, smq_fan, base_fan, contract_fan),
];

fn workloads(c: &mut Criterion) {
    for (name, n, smq, base, _) in CASES {
        let mut g = c.benchmark_group(name);
        g.sample_size(10);
        g.warm_up_time(Duration::from_secs(1));
        g.measurement_time(Duration::from_secs(4));
        assert_eq!(
            smq(n)(),
            base(n)(),
            "{name}/{n}: both executors compute the same result"
        );
        g.bench_with_input(BenchmarkId::new("smqsched", n), &n, |b, &n| {
            b.iter(|| smq(n)())
        });
        g.bench_with_input(BenchmarkId::new("baseline", n), &n, |b, &n| {
            b.iter(|| base(n)())
        });
        g.finish();
    }
}

/// The same workloads, timed in two phases: building the graph (every task submitted while
/// the scheduler is stopped; for the baseline, recorded in its task list) and running it
/// (start to the last result; for the baseline this includes setting up its counters). Beside
/// them, the same graph built on the submission contract alone (`Contract`), which is never run.
fn phases(c: &mut Criterion) {
    for (name, n, smq, base, contract) in CASES {
        let mut g = c.benchmark_group(format!("phases-{name}"));
        g.sample_size(10);
        g.warm_up_time(Duration::from_secs(1));
        g.measurement_time(Duration::from_secs(3));
        for (executor, workload) in [("smqsched", smq), ("baseline", base)] {
            g.bench_function(BenchmarkId::new(format!("{executor}-build"), n), |b| {
                b.iter_custom(|iters| time_phases(iters, || workload(n)).0)
            });
            g.bench_function(BenchmarkId::new(format!("{executor}-run"), n), |b| {
                b.iter_custom(|iters| time_phases(iters, || workload(n)).1)
            });
        }
        g.bench_function(BenchmarkId::new("contract-build", n), |b| {
            b.iter_custom(|iters| time_phases(iters, || contract_workload(contract, n)).0)
        });
        g.finish();
    }
}

/// Build and run a workload `iters` times; the total time of each phase.
fn time_phases(iters: u64, build: impl Fn() -> Run) -> (Duration, Duration) {
    let (mut building, mut running) = (Duration::ZERO, Duration::ZERO);
    for _ in 0..iters {
        let t = Instant::now();
        let run = build();
        building += t.elapsed();
        let t = Instant::now();
        std::hint::black_box(run());
        running += t.elapsed();
    }
    (building, running)
}

/// The cost of a snapshot of a 100,000-task graph, as a dashboard takes 30 times a second,
/// next to the cost of copying as many plain 32-byte task records (the baseline).
fn snapshots(c: &mut Criterion) {
    let sch = smqsched::Scheduler::new();
    let q = sch.queue("q", THREADS).expect("queue");
    let mut last = q.submit((), |()| 0u64);
    let mut keep = Vec::new();
    for i in 0..100_000u64 {
        let p = q.submit(&last, move |x: &u64| x + i);
        keep.push(last);
        last = p;
    }
    let plain: Vec<(u64, u64, u64, u32)> = (0..100_000).map(|i| (i, i, i, 0)).collect();
    let mut g = c.benchmark_group("snapshot");
    g.sample_size(20);
    g.bench_function("smqsched-fresh/100000", |b| {
        b.iter(|| sch.snapshot().tasks.len())
    });
    let mut snap = smqsched::Snapshot::new();
    g.bench_function("smqsched-reused/100000", |b| {
        b.iter(|| {
            sch.snapshot_into(&mut snap);
            snap.tasks.len()
        })
    });
    g.bench_function("baseline-copy/100000", |b| {
        b.iter(|| std::hint::black_box(plain.clone()).len())
    });
    g.finish();

    // A 100,000-task run while another thread refreshes a snapshot every 33 ms (a 30 fps
    // dashboard), next to the same run without it: with trivial bodies (every task changes
    // between two frames) and with 10 µs bodies.
    let mut g = c.benchmark_group("run-with-30hz-snapshots");
    g.sample_size(10);
    for us in [0, 10] {
        g.bench_function(format!("plain/100000x{us}us"), |b| {
            b.iter(|| smq_independent_busy(100_000, us, false))
        });
        g.bench_function(format!("observed/100000x{us}us"), |b| {
            b.iter(|| smq_independent_busy(100_000, us, true))
        });
    }
    g.finish();
}

criterion_group!(benches, workloads, phases, snapshots);
criterion_main!(benches);
