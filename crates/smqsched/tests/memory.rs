//! Streaming 10,000 results of 1 MB through a reducing consumer keeps memory bounded: each
//! result is dropped once its consumer has run. Alone in its test binary so that the peak
//! resident set size it reads belongs to this workload only.

use std::sync::atomic::{AtomicUsize, Ordering};

use smqsched::Scheduler;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

struct Frame(Vec<u8>);

impl Frame {
    fn acquire(i: usize) -> Frame {
        let live = LIVE.fetch_add(1, Ordering::SeqCst) + 1;
        PEAK.fetch_max(live, Ordering::SeqCst);
        Frame(vec![(i % 251) as u8; 1 << 20])
    }
}

impl Drop for Frame {
    fn drop(&mut self) {
        LIVE.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Peak resident set size of this process, in MiB (Linux).
fn peak_rss_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

#[test]
fn ten_thousand_megabyte_results_stream_through_a_reducer() {
    const N: usize = 10_000;
    let sch = Scheduler::new();
    let q = sch.queue("q", 1).unwrap();
    let mut acc = q.submit((), |()| 0u64);
    for i in 0..N {
        let frame = q.submit((), move |()| Frame::acquire(i));
        acc = q.submit((&acc, &frame), |(sum, f): (&u64, &Frame)| {
            sum + u64::from(f.0[0]) + f.0.len() as u64
        });
    }
    sch.start();
    let total = *acc.result().unwrap();
    let expected: u64 = (0..N).map(|i| (i % 251) as u64 + (1 << 20)).sum();
    assert_eq!(total, expected);
    // One slot: acquire, reduce, acquire, reduce... so at most one frame waits for its reducer.
    assert!(
        PEAK.load(Ordering::SeqCst) <= 2,
        "{} frames alive at once",
        PEAK.load(Ordering::SeqCst)
    );
    assert_eq!(LIVE.load(Ordering::SeqCst), 0);
    if let Some(rss) = peak_rss_mib() {
        println!("peak RSS: {rss:.0} MiB for {N} results of 1 MiB");
        assert!(rss < 300.0, "peak RSS {rss:.0} MiB");
    }
}
