//! The cost of waiting for results in blocking code: what the waker path for async readers
//! must not make slower. Run with `cargo bench -p smqsched --bench wait`; compare with the
//! same file built on an earlier revision (BENCHMARKS.md gives the commands).
//!
//! * `result-each/1000`: submit one task, block in `Promise::result` until a worker has run
//!   it, 1,000 times: each wait parks the thread and each result unparks it.
//! * `no-reader/100000`: 100,000 independent tasks nobody waits on, then `Scheduler::wait`:
//!   every result is stored with no reader to wake.

use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use smqsched::Scheduler;

fn result_each(n: u64) -> u64 {
    let sch = Scheduler::new();
    let q = sch.queue("q", 1).expect("queue");
    sch.start();
    let mut total = 0;
    for i in 0..n {
        let p = q.submit((), move |()| i);
        total += *p.result().expect("result");
    }
    total
}

fn no_reader(n: u64) -> usize {
    let sch = Scheduler::new();
    let q = sch.queue("q", 2).expect("queue");
    let ps: Vec<_> = (0..n).map(|i| q.submit((), move |()| i)).collect();
    sch.start();
    sch.wait();
    ps.len()
}

fn waits(c: &mut Criterion) {
    let mut g = c.benchmark_group("wait");
    g.sample_size(10);
    g.warm_up_time(Duration::from_secs(1));
    g.measurement_time(Duration::from_secs(3));
    g.bench_function("result-each/1000", |b| b.iter(|| result_each(1000)));
    g.bench_function("no-reader/100000", |b| b.iter(|| no_reader(100_000)));
    g.finish();
}

criterion_group!(benches, waits);
criterion_main!(benches);
