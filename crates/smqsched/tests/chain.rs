//! Nothing recurses on the graph's depth: a chain of a million tasks runs.

use smqsched::Scheduler;

#[test]
fn a_chain_of_one_million_tasks_runs() {
    const N: u64 = 1_000_000;
    let sch = Scheduler::new();
    let q = sch.queue("q", 1).unwrap();
    let mut last = q.submit((), |()| 0u64);
    for _ in 1..N {
        last = q.submit(&last, |x: &u64| x + 1);
    }
    sch.start();
    assert_eq!(*last.result().unwrap(), N - 1);
    // Failure at the root of a long chain propagates without recursion too.
    let mut tail = q.submit((), |()| -> u64 { panic!("root fails") });
    let root = tail.clone();
    for _ in 1..N {
        tail = q.submit(&tail, |x: &u64| x + 1);
    }
    assert!(root.result().is_err());
    assert!(
        tail.result()
            .unwrap_err()
            .to_string()
            .contains("root fails")
    );
}
