//! Throughput of the scheduler against a plain DAG executor on the same workloads and the
//! same number of threads. Run with `cargo bench -p smqsched --bench scheduler`.

mod common;

use std::time::Duration;

use common::*;
use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};

fn workloads(c: &mut Criterion) {
    let cases: [(&str, usize, Workload, Workload); 6] = [
        ("independent", 100_000, smq_independent, base_independent),
        ("matrix", 100, smq_matrix, base_matrix),
        ("matrix", 300, smq_matrix, base_matrix),
        ("chain", 10_000, smq_chain, base_chain),
        ("chain", 100_000, smq_chain, base_chain),
        ("fan", 100_000, smq_fan, base_fan),
    ];
    for (name, n, smq, base) in cases {
        let mut g = c.benchmark_group(name);
        g.sample_size(10);
        g.warm_up_time(Duration::from_secs(1));
        g.measurement_time(Duration::from_secs(4));
        assert_eq!(
            smq(n),
            base(n),
            "{name}/{n}: both executors compute the same result"
        );
        g.bench_with_input(BenchmarkId::new("smqsched", n), &n, |b, &n| {
            b.iter(|| smq(n))
        });
        g.bench_with_input(BenchmarkId::new("baseline", n), &n, |b, &n| {
            b.iter(|| base(n))
        });
        g.finish();
    }
}

criterion_group!(benches, workloads);
criterion_main!(benches);
