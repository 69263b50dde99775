//! Time the run phase of a benchmark workload on a queue of a given number of slots: build
//! the graph while stopped, then start and wait, `RUNS` times in one process, and print the
//! median build and run times. Comparing 1 slot with 2 shows how much of running happens in
//! parallel.
//!
//! ```sh
//! cargo run --release -p smqsched --example run_slots -- independent 100000 1
//! cargo run --release -p smqsched --example run_slots -- independent 100000 2
//! cargo run --release -p smqsched --example run_slots -- matrix 300 2
//! ```
//!
//! Workloads: `independent` (N trivial tasks) and `matrix` (the seed's matrix DAG of size N,
//! trivial bodies). An optional fourth argument sets `RUNS` (default 21).

use std::process::ExitCode;
use std::time::{Duration, Instant};

use smqsched::{Promise, Queue, Scheduler};

fn independent(q: &Queue, n: usize) -> Vec<Promise<u64>> {
    (0..n as u64).map(|i| q.submit((), move |()| i)).collect()
}

fn matrix(q: &Queue, n: usize) -> Vec<Promise<u64>> {
    let b: Vec<Promise<u64>> = (0..n as u64)
        .map(|i| {
            let a = q.submit((), move |()| i);
            q.submit(&a, |a: &u64| a + 1)
        })
        .collect();
    let mut c = Vec::with_capacity(n * n);
    for i in 0..n {
        for k in 0..n {
            c.push(q.submit((&b[i], &b[k]), |(x, y): (&u64, &u64)| x * y));
        }
    }
    c
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let parse = |i: usize| args.get(i).and_then(|a| a.parse::<usize>().ok());
    let build: fn(&Queue, usize) -> Vec<Promise<u64>> = match args.first().map(String::as_str) {
        Some("independent") => independent,
        Some("matrix") => matrix,
        _ => {
            eprintln!("usage: run_slots independent|matrix N SLOTS [RUNS]");
            return ExitCode::FAILURE;
        }
    };
    let (Some(n), Some(slots)) = (parse(1), parse(2)) else {
        eprintln!("usage: run_slots independent|matrix N SLOTS [RUNS]");
        return ExitCode::FAILURE;
    };
    let runs = parse(3).unwrap_or(21).max(1);
    let (mut builds, mut times) = (Vec::new(), Vec::new());
    for _ in 0..runs {
        let t0 = Instant::now();
        let sch = Scheduler::new();
        let q = match sch.queue("q", slots) {
            Ok(q) => q,
            Err(e) => {
                eprintln!("{e}");
                return ExitCode::FAILURE;
            }
        };
        let promises = build(&q, n);
        let t1 = Instant::now();
        sch.start();
        sch.wait();
        times.push(t1.elapsed());
        builds.push(t1 - t0);
        drop(promises);
    }
    println!(
        "{} {n} on {slots} slot(s): build {:?}, run {:?} (medians of {runs})",
        args[0],
        median(builds),
        median(times)
    );
    ExitCode::SUCCESS
}
