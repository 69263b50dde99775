//! The order rule, against the orders the original Python smqsched recorded
//! (`order_cases.jsonl`: one queue of one slot; every task returns at once and a producer
//! yields all its items at once).
//!
//! Every case is replayed three ways: all tasks submitted before `start()`, all submitted
//! while the scheduler runs (the slot busy with a gate task), and all submitted from inside a
//! running task. The rule must give the recorded order each time.

use std::sync::{Arc, Mutex};

use crossbeam_channel::bounded;
use serde_json::Value;
use smqsched::{Queue, Scheduler};

/// A task of a case: its inputs `(j, item)` and its item count (0: ordinary task).
type CaseTask = (Vec<(usize, Option<usize>)>, usize);

struct Case {
    tasks: Vec<CaseTask>,
    order: Vec<usize>,
}

fn cases() -> Vec<Case> {
    let text = include_str!("order_cases.jsonl");
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|line| {
            let v: Value = serde_json::from_str(line).expect("valid JSON line");
            let tasks = v["tasks"]
                .as_array()
                .expect("tasks")
                .iter()
                .map(|t| {
                    let deps = t["deps"]
                        .as_array()
                        .expect("deps")
                        .iter()
                        .map(|d| {
                            let j = d[0].as_u64().expect("task index") as usize;
                            let i = d[1].as_u64().map(|i| i as usize);
                            (j, i)
                        })
                        .collect();
                    (deps, t["items"].as_u64().expect("items") as usize)
                })
                .collect();
            let order = v["order"]
                .as_array()
                .expect("order")
                .iter()
                .map(|x| x.as_u64().expect("index") as usize)
                .collect();
            Case { tasks, order }
        })
        .collect()
}

enum Handle {
    Value(smqsched::Promise<()>),
    Items(smqsched::Stream<()>),
}

type Log = Arc<Mutex<Vec<usize>>>;

/// Submit the case's tasks to `q`; each records its index when it runs.
fn submit_case(q: &Queue, case: &Case, log: &Log) {
    let mut handles: Vec<Handle> = Vec::new();
    for (t, (deps, items)) in case.tasks.iter().enumerate() {
        let mut b = q.task().label(format!("t{t}"));
        for &(j, item) in deps {
            b = match (&handles[j], item) {
                (Handle::Value(p), None) => b.after(p),
                (Handle::Items(s), None) => b.after(s),
                (Handle::Items(s), Some(i)) => b.after(&s.item(i)),
                (Handle::Value(_), Some(_)) => panic!("item of an ordinary task"),
            };
        }
        let log = Arc::clone(log);
        let h = if *items > 0 {
            let n = *items;
            Handle::Items(
                b.items(n)
                    .submit_iter((), move |()| {
                        log.lock().expect("log").push(t);
                        vec![(); n]
                    })
                    .expect("submit"),
            )
        } else {
            Handle::Value(
                b.submit((), move |()| log.lock().expect("log").push(t))
                    .expect("submit"),
            )
        };
        handles.push(h);
    }
}

fn recorded(log: &Log) -> Vec<usize> {
    log.lock().expect("log").clone()
}

#[test]
fn recorded_orders_submitted_before_start() {
    for (n, case) in cases().iter().enumerate() {
        let sch = Scheduler::new();
        let q = sch.queue("q", 1).expect("queue");
        let log = Log::default();
        submit_case(&q, case, &log);
        sch.start();
        sch.wait();
        assert_eq!(recorded(&log), case.order, "case {n}");
    }
}

#[test]
fn recorded_orders_submitted_while_running() {
    for (n, case) in cases().iter().enumerate() {
        let sch = Scheduler::new();
        let q = sch.queue("q", 1).expect("queue");
        sch.start();
        // Occupy the only slot until every task is submitted.
        let (started_tx, started_rx) = bounded::<()>(0);
        let (release_tx, release_rx) = bounded::<()>(0);
        let gate = q.submit((), move |()| {
            started_tx.send(()).expect("test alive");
            release_rx.recv().expect("test alive");
        });
        started_rx.recv().expect("gate started");
        let log = Log::default();
        submit_case(&q, case, &log);
        release_tx.send(()).expect("gate alive");
        sch.wait();
        assert!(gate.result().is_ok());
        assert_eq!(recorded(&log), case.order, "case {n}");
    }
}

#[test]
fn recorded_orders_submitted_from_inside_a_task() {
    let cases = Arc::new(cases());
    for n in 0..cases.len() {
        let sch = Scheduler::new();
        let q = sch.queue("q", 1).expect("queue");
        let log = Log::default();
        let (inner_q, inner_log, inner_cases) = (q.clone(), Arc::clone(&log), Arc::clone(&cases));
        let submitter = q.submit((), move |()| {
            submit_case(&inner_q, &inner_cases[n], &inner_log);
        });
        sch.start();
        sch.wait();
        assert!(submitter.result().is_ok());
        assert_eq!(recorded(&log), cases[n].order, "case {n}");
    }
}

/// The seed README's matrix example with one slot: A[99], B[99], C[9999], A[98], B[98],
/// C[9998], ... with real value inputs (N = 100, 10,000 products).
#[test]
fn seed_matrix_example_runs_newest_first() {
    const N: usize = 100;
    let sch = Scheduler::new();
    let q = sch.queue("q", 1).expect("queue");
    let log: Arc<Mutex<Vec<String>>> = Arc::default();
    let rec = |name: String, log: &Arc<Mutex<Vec<String>>>| {
        log.lock().expect("log").push(name);
    };
    let mut a = Vec::new();
    let mut b = Vec::new();
    for i in 0..N {
        let l = Arc::clone(&log);
        a.push(q.submit((), move |()| {
            rec(format!("A{i}"), &l);
            i as f64
        }));
        let l = Arc::clone(&log);
        b.push(q.submit(&a[i], move |x: &f64| {
            rec(format!("B{i}"), &l);
            1.0 / (x + 1.0)
        }));
    }
    let mut c = Vec::new();
    for i in 0..N {
        for k in 0..N {
            let l = Arc::clone(&log);
            c.push(q.submit((&b[i], &b[k]), move |(x, y): (&f64, &f64)| {
                rec(format!("C{}", i * N + k), &l);
                x * y
            }));
        }
    }
    sch.start();
    sch.wait();
    let log = log.lock().expect("log").clone();
    assert_eq!(
        &log[..9],
        [
            "A99", "B99", "C9999", "A98", "B98", "C9998", "A97", "B97", "C9997"
        ]
    );
    assert_eq!(log.len(), 2 * N + N * N);
    assert_eq!(*c[N * N - 1].result().expect("C9999"), 0.0001);
}
