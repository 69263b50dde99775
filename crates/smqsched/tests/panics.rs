//! Panics anywhere in user code: a task body, a progressive producer after some items, the
//! `Drop` of a result. Each fails what it belongs to, is reported once, and the rest of the
//! graph goes on, on every worker.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use crossbeam_channel::{Receiver, bounded};
use smqsched::{Event, EventKind, Queue, Scheduler, TaskError, TaskId, TaskState};

/// Long enough never to pass on a machine that works; a hang shows as a failure, not as a
/// test that never ends.
const PATIENCE: Duration = Duration::from_secs(60);

/// How many `Started`, `Finished`, `Failed` and `Cancelled` events each task had.
fn tally(events: &Receiver<Event>) -> HashMap<TaskId, [usize; 4]> {
    let mut counts: HashMap<TaskId, [usize; 4]> = HashMap::new();
    for e in events.try_iter() {
        let Some(t) = e.task else { continue };
        let slot = match e.kind {
            EventKind::Started { .. } => 0,
            EventKind::Finished => 1,
            EventKind::Failed { .. } => 2,
            EventKind::Cancelled => 3,
            _ => continue,
        };
        counts.entry(t).or_default()[slot] += 1;
    }
    counts
}

/// Every slot of `q` (of `slots` slots) runs a task at the same moment: no worker was lost.
fn every_worker_answers(q: &Queue, slots: usize) {
    let (arrived_tx, arrived_rx) = bounded::<()>(slots);
    let (go_tx, go_rx) = bounded::<()>(slots);
    let tasks: Vec<_> = (0..slots)
        .map(|_| {
            let (arrived, go) = (arrived_tx.clone(), go_rx.clone());
            q.submit((), move |()| {
                arrived.send(()).is_ok() && go.recv_timeout(PATIENCE).is_ok()
            })
        })
        .collect();
    for _ in 0..slots {
        assert!(
            arrived_rx.recv_timeout(PATIENCE).is_ok(),
            "a worker of `{}` is missing",
            q.name()
        );
    }
    for _ in 0..slots {
        assert!(go_tx.send(()).is_ok());
    }
    for t in tasks {
        assert_eq!(t.result(), Ok(&true));
    }
}

#[test]
fn a_body_that_panics_fails_its_task_once_and_the_graph_goes_on() {
    let sch = Scheduler::new();
    let q = sch.queue("q", 2).unwrap();
    let events = sch.subscribe();
    let a = q.submit((), |()| 1);
    let bad = q
        .task()
        .label("bad")
        .submit(&a, |_: &i32| -> i32 { panic!("out of range") })
        .unwrap();
    let after_bad = q
        .task()
        .label("after")
        .submit(&bad, |x: &i32| x + 1)
        .unwrap();
    let beside = q.submit(&a, |x: &i32| x + 10);
    let alone = q.submit((), |()| 100);
    sch.start();
    assert_eq!(sch.wait_timeout(PATIENCE), Ok(()));

    match bad.result() {
        Err(TaskError::Panicked { task, message }) => {
            assert_eq!(&*task.label, "bad");
            assert_eq!(&*message, "out of range");
        }
        other => panic!("unexpected {other:?}"),
    }
    match after_bad.result() {
        Err(TaskError::DependencyFailed { input, reason, .. }) => {
            assert_eq!(input.id, bad.id());
            assert!(reason.contains("out of range"), "{reason}");
        }
        other => panic!("unexpected {other:?}"),
    }
    assert_eq!(beside.result(), Ok(&11));
    assert_eq!(alone.result(), Ok(&100));
    let counts = tally(&events);
    assert_eq!(counts[&bad.id()], [1, 0, 1, 0], "started once, failed once");
    assert_eq!(
        counts[&after_bad.id()],
        [0, 0, 1, 0],
        "never started, failed once"
    );
    every_worker_answers(&q, 2);
}

#[test]
fn a_producer_that_panics_after_some_items_keeps_them_and_fails_once() {
    let sch = Scheduler::new();
    let q = sch.queue("q", 2).unwrap();
    let events = sch.subscribe();
    let producer = q.submit_stream((), |(), out| {
        for i in 0..3u32 {
            out.emit(i * 10);
        }
        if out.produced() == 3 {
            panic!("sensor unplugged");
        }
        Ok::<(), String>(())
    });
    let early: Vec<_> = (0..3)
        .map(|i| q.submit(producer.item(i), |x: &u32| x + 1))
        .collect();
    let late = q.submit(producer.item(3), |x: &u32| x + 1);
    let whole = q.submit(&producer, |xs: Vec<&u32>| xs.len());
    let alone = q.submit((), |()| 7);
    sch.start();
    assert_eq!(sch.wait_timeout(PATIENCE), Ok(()));

    let early: Vec<_> = early.iter().map(|p| p.result().cloned()).collect();
    assert_eq!(early, [Ok(1), Ok(11), Ok(21)]);
    assert_eq!(producer.item(2).result(), Ok(&20));
    match producer.wait() {
        Err(TaskError::Panicked { message, .. }) => assert_eq!(&*message, "sensor unplugged"),
        other => panic!("unexpected {other:?}"),
    }
    assert!(matches!(
        late.result(),
        Err(TaskError::DependencyFailed { input, .. }) if input.id == producer.id()
    ));
    assert!(matches!(
        whole.result(),
        Err(TaskError::DependencyFailed { .. })
    ));
    assert_eq!(alone.result(), Ok(&7));
    assert_eq!(producer.state(), Some(TaskState::Failed));
    let counts = tally(&events);
    assert_eq!(counts[&producer.id()], [1, 0, 1, 0]);
    assert_eq!(counts[&late.id()], [0, 0, 1, 0]);
    assert_eq!(counts[&whole.id()], [0, 0, 1, 0]);
    every_worker_answers(&q, 2);
}

/// A result whose `Drop` panics, counting its drops.
struct Bomb(Arc<AtomicUsize>);

impl Drop for Bomb {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::SeqCst);
        panic!("bomb went off");
    }
}

/// Nobody holds the result: the worker drops it right after the run, and the panic fails the
/// task, once.
#[test]
fn a_result_nobody_holds_that_panics_when_dropped_fails_its_task_once() {
    let sch = Scheduler::new();
    let q = sch.queue("q", 1).unwrap();
    let events = sch.subscribe();
    let drops = Arc::new(AtomicUsize::new(0));
    let d = Arc::clone(&drops);
    let id = q
        .task()
        .label("bomb")
        .submit((), move |()| Bomb(d))
        .unwrap()
        .id();
    let after = q.submit((), |()| 2);
    let ordered = q.task().after(&after).submit((), |()| 3).unwrap();
    sch.start();
    assert_eq!(sch.wait_timeout(PATIENCE), Ok(()));
    assert_eq!(drops.load(Ordering::SeqCst), 1);
    assert_eq!(sch.state(id), Some(TaskState::Failed));
    let snapshot = sch.snapshot();
    match snapshot.tasks[id.index() as usize].error.as_deref() {
        Some(TaskError::Panicked { message, task }) => {
            assert_eq!(&*task.label, "bomb");
            assert_eq!(&**message, "bomb went off (in the `Drop` of its result)");
        }
        other => panic!("unexpected {other:?}"),
    }
    assert_eq!(ordered.result(), Ok(&3));
    assert_eq!(tally(&events)[&id], [1, 0, 1, 0]);
    every_worker_answers(&q, 1);
}

/// The dependent held the last handle: the result is dropped as the dependent releases its
/// inputs, which fails the dependent, once; the producer stays done.
#[test]
fn a_result_that_panics_when_its_last_reader_drops_it_fails_that_reader_once() {
    let sch = Scheduler::new();
    let q = sch.queue("q", 2).unwrap();
    let events = sch.subscribe();
    let drops = Arc::new(AtomicUsize::new(0));
    let d = Arc::clone(&drops);
    let bomb = q.submit((), move |()| Bomb(d));
    let bomb_id = bomb.id();
    let reader = q.task().label("reader").submit(bomb, |_: &Bomb| 1).unwrap();
    let next = q.submit(&reader, |x: &i32| x + 1);
    let alone = q.submit((), |()| 5);
    sch.start();
    assert_eq!(sch.wait_timeout(PATIENCE), Ok(()));
    assert_eq!(drops.load(Ordering::SeqCst), 1);
    assert_eq!(sch.state(bomb_id), Some(TaskState::Done));
    match reader.result() {
        Err(TaskError::Panicked { task, message }) => {
            assert_eq!(&*task.label, "reader");
            assert_eq!(&*message, "bomb went off");
        }
        other => panic!("unexpected {other:?}"),
    }
    assert!(matches!(
        next.result(),
        Err(TaskError::DependencyFailed { .. })
    ));
    assert_eq!(alone.result(), Ok(&5));
    let counts = tally(&events);
    assert_eq!(counts[&bomb_id], [1, 1, 0, 0]);
    assert_eq!(counts[&reader.id()], [1, 0, 1, 0]);
    every_worker_answers(&q, 2);
}

/// A body that panics while holding the last handle to such a result: the result is dropped
/// after the body's panic is caught, not during its unwinding (which would abort the
/// process), and the task fails with the body's panic.
#[test]
fn a_body_that_panics_holding_such_a_result_fails_with_its_own_panic() {
    let sch = Scheduler::new();
    let q = sch.queue("q", 1).unwrap();
    let drops = Arc::new(AtomicUsize::new(0));
    let d = Arc::clone(&drops);
    let bomb = q.submit((), move |()| Bomb(d));
    let reader = q.submit(bomb, |_: &Bomb| -> i32 { panic!("reader failed") });
    sch.start();
    assert_eq!(sch.wait_timeout(PATIENCE), Ok(()));
    assert_eq!(drops.load(Ordering::SeqCst), 1);
    assert!(matches!(reader.result(), Err(TaskError::Panicked { .. })));
    every_worker_answers(&q, 1);
}

/// The last handle is an input of a task that will not run: the scheduler drops it when it
/// abandons that task, here inside `cancel`, which must neither panic nor lose anything.
#[test]
fn a_result_dropped_with_a_cancelled_reader_does_not_panic_the_canceller() {
    let sch = Scheduler::new();
    let q = sch.queue("q", 1).unwrap();
    let events = sch.subscribe();
    let drops = Arc::new(AtomicUsize::new(0));
    let d = Arc::clone(&drops);
    let bomb = q.submit((), move |()| Bomb(d));
    let bomb_id = bomb.id();
    sch.start();
    assert_eq!(sch.wait_timeout(PATIENCE), Ok(()));
    sch.stop();
    let reader = q.submit(bomb, |_: &Bomb| 1);
    assert_eq!(reader.cancel(), Ok(1));
    assert_eq!(drops.load(Ordering::SeqCst), 1);
    assert!(matches!(reader.result(), Err(TaskError::Cancelled { .. })));
    sch.start();
    let counts = tally(&events);
    assert_eq!(counts[&bomb_id], [1, 1, 0, 0]);
    assert_eq!(counts[&reader.id()], [0, 0, 0, 1]);
    every_worker_answers(&q, 1);
}
