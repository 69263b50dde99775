//! Time to first result: the seed README's matrix DAG at N = 30 with 1 ms busy task bodies on
//! two slots. Reports the median, over repeated runs, of the time from start to the first
//! finished C task, for smqsched and for the FIFO baseline executor.
//!
//! Run with `cargo bench -p smqsched --bench first_result`.

mod common;

use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use common::{Baseline, THREADS};
use smqsched::Scheduler;

const N: usize = 30;
const RUNS: usize = 15;

/// Keep a core busy for 1 ms.
fn busy_1ms() {
    let t = Instant::now();
    while t.elapsed() < Duration::from_millis(1) {
        std::hint::spin_loop();
    }
}

fn smq_first_c() -> (Duration, Duration) {
    let sch = Scheduler::new();
    let q = sch.queue("q", THREADS).expect("queue");
    let first: Arc<OnceLock<Instant>> = Arc::default();
    let mut b = Vec::new();
    for i in 0..N as u64 {
        let a = q.submit((), move |()| {
            busy_1ms();
            i
        });
        b.push(q.submit(&a, |a: &u64| {
            busy_1ms();
            a + 1
        }));
    }
    for i in 0..N {
        for k in 0..N {
            let first = Arc::clone(&first);
            q.submit((&b[i], &b[k]), move |(x, y): (&u64, &u64)| {
                busy_1ms();
                first.get_or_init(Instant::now);
                x * y
            });
        }
    }
    let t0 = Instant::now();
    sch.start();
    sch.wait();
    let total = t0.elapsed();
    (first.get().map_or(total, |t| *t - t0), total)
}

fn fifo_first_c() -> (Duration, Duration) {
    let first: Arc<OnceLock<Instant>> = Arc::default();
    let mut g = Baseline::default();
    let mut b = Vec::new();
    for i in 0..N as u64 {
        let a = g.submit(Vec::new(), move |_| {
            busy_1ms();
            i
        });
        b.push(g.submit(vec![a], |x| {
            busy_1ms();
            x[0] + 1
        }));
    }
    for i in 0..N {
        for k in 0..N {
            let first = Arc::clone(&first);
            g.submit(vec![b[i], b[k]], move |x| {
                busy_1ms();
                first.get_or_init(Instant::now);
                x[0] * x[1]
            });
        }
    }
    let t0 = Instant::now();
    g.run(THREADS);
    let total = t0.elapsed();
    (first.get().map_or(total, |t| *t - t0), total)
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --benches` passes nothing: run once, quickly.
    let runs = if std::env::args().any(|a| a == "--bench") {
        RUNS
    } else {
        1
    };
    let (mut smq_first, mut smq_total, mut fifo_first, mut fifo_total) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for _ in 0..runs {
        let (f, t) = smq_first_c();
        smq_first.push(f);
        smq_total.push(t);
        let (f, t) = fifo_first_c();
        fifo_first.push(f);
        fifo_total.push(t);
    }
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    println!(
        "time to first result, seed DAG N={N}, 1 ms bodies, {THREADS} slots, median of {runs} runs"
    );
    println!(
        "  smqsched: first C after {:.2} ms (whole run {:.1} ms)",
        ms(median(smq_first)),
        ms(median(smq_total))
    );
    println!(
        "  FIFO baseline: first C after {:.2} ms (whole run {:.1} ms)",
        ms(median(fifo_first)),
        ms(median(fifo_total))
    );
}
