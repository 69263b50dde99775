//! profiling scratch
use smqsched::Scheduler;
fn main() {
    let mode = std::env::args().nth(1).unwrap_or_default();
    let (mut sub, mut run) = (Vec::new(), Vec::new());
    for _ in 0..20 {
        let t = std::time::Instant::now();
        let sch = Scheduler::new();
        let q = sch.queue("q", 2).unwrap();
        let last = if mode == "chain" {
            let mut last = q.submit((), |()| 0u64);
            for _ in 1..100_000 {
                last = q.submit(&last, |x: &u64| x + 1);
            }
            last
        } else {
            let ps: Vec<_> = (0..100_000u64).map(|i| q.submit((), move |()| i)).collect();
            ps[99_999].clone()
        };
        let t1 = t.elapsed();
        sch.start();
        sch.wait();
        let t2 = t.elapsed();
        drop(last);
        drop(q);
        drop(sch);
        sub.push(t1);
        run.push(t2 - t1);
    }
    sub.sort();
    run.sort();
    println!("median submit {:?} run {:?}", sub[10], run[10]);
}
