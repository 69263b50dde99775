//! The seed README's progressive example: a producer yields, for each sample, whether it is
//! a local minimum; a consumer per sample prints the minima as they are found, while the
//! producer is still scanning.
//!
//! Run with `cargo run -p smqsched --example progressive_minima`.

use smqsched::Scheduler;

/// One item per sample: is it a local minimum? (The generator of the original.)
fn find_minima(x: &[f64]) -> impl Iterator<Item = bool> + '_ {
    let interior = x.windows(3).map(|w| w[1] < w[0] && w[1] < w[2]);
    std::iter::once(false)
        .chain(interior)
        .chain(std::iter::once(false))
}

fn main() {
    let sch = Scheduler::new();
    let scan = sch.queue("scan", 1).expect("queue");
    let report = sch.queue("report", 1).expect("queue");

    // A noisy signal with a few dips (deterministic: no random generator needed).
    let x: Vec<f64> = (0..100_000)
        .map(|i| ((i as f64) * 0.001).sin() + 0.3 * ((i * 7919 % 1000) as f64 / 1000.0))
        .collect();
    let n = x.len();

    let is_minimum = scan
        .task()
        .items(n)
        .submit_stream((), move |(), out| {
            for m in find_minima(&x) {
                out.emit(m); // consumers of this item may start right now
            }
            Ok::<(), String>(())
        })
        .expect("submit");
    let printed: Vec<_> = (0..n)
        .map(|i| {
            report.submit(is_minimum.item(i), move |is_min: &bool| {
                if *is_min && i % 5_000 < 10 {
                    println!("found minimum at {i}");
                }
                *is_min
            })
        })
        .collect();

    sch.start();
    sch.wait();
    let count = printed
        .iter()
        .filter(|p| matches!(p.result(), Ok(true)))
        .count();
    println!("{count} minima among {n} samples");
}
