//! The seed README's first example: 100 random 100×100 matrices, their inverses, and all
//! 10,000 pairwise products, submitted in the order the sequential code would compute them.
//! The scheduler pulls the newest products through their inputs, so the first products are
//! ready while most inverses have not even started.
//!
//! Run with `cargo run --release -p smqsched --example matrix_inverse`.

use std::time::Instant;

use ndarray::Array2;
use smqsched::{EventKind, Scheduler};

const N: usize = 100;

/// A deterministic pseudo-random matrix (a 64-bit LCG), so every run computes the same thing.
fn random(seed: u64) -> Array2<f64> {
    let mut s = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    Array2::from_shape_simple_fn((N, N), || {
        s = s
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (s >> 11) as f64 / (1u64 << 53) as f64
    })
}

fn main() {
    let sch = Scheduler::new();
    let q = sch.queue("compute", 2).expect("queue");
    let events = sch.subscribe();

    let mut a = Vec::new();
    let mut b = Vec::new();
    let mut c = Vec::new();
    for i in 0..N {
        a.push(
            q.task()
                .label("random")
                .submit((), move |()| random(i as u64))
                .expect("submit"),
        );
        b.push(
            q.task()
                .label("inv")
                .submit_result(&a[i], smq_compute::inverse)
                .expect("submit"),
        );
    }
    for i in 0..N {
        for k in 0..N {
            let product = |(x, y): (&Array2<f64>, &Array2<f64>)| x * y;
            c.push(
                q.task()
                    .label("product")
                    .submit((&b[i], &b[k]), product)
                    .expect("submit"),
            );
        }
    }

    let t0 = Instant::now();
    sch.start();
    let first = c[N * N - 1].result().expect("C[9999]");
    let first_at = t0.elapsed();
    sch.wait();
    let total = t0.elapsed();

    let inverted_before_first: usize = events
        .try_iter()
        .take_while(|e| {
            !(e.label.as_deref() == Some("product") && matches!(e.kind, EventKind::Finished))
        })
        .filter(|e| e.label.as_deref() == Some("inv") && matches!(e.kind, EventKind::Finished))
        .count();
    let failed = c.iter().filter(|p| p.result().is_err()).count();
    println!("{} tasks on 2 slots", 2 * N + N * N);
    println!(
        "first product C[{}] after {:.1} ms, with {inverted_before_first} of {N} inverses done (C[{}][0,0] = {:.4})",
        N * N - 1,
        first_at.as_secs_f64() * 1e3,
        N * N - 1,
        first[[0, 0]],
    );
    println!(
        "all {} products after {:.1} ms ({failed} failed)",
        N * N,
        total.as_secs_f64() * 1e3
    );
}
