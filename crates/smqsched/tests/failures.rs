//! Failures stay local: a failed task fails its own promise and its dependents, nothing else.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use crossbeam_channel::bounded;
use smqsched::{CancelError, Scheduler, TaskError, TaskState};

#[test]
fn a_panicking_task_fails_its_promise_with_the_message() {
    let sch = Scheduler::new();
    let q = sch.queue("q", 1).unwrap();
    let bad = q
        .task()
        .label("divide")
        .submit((), |()| -> i32 { panic!("division by zero") })
        .unwrap();
    sch.start();
    match bad.result() {
        Err(TaskError::Panicked { task, message }) => {
            assert_eq!(&*task.label, "divide");
            assert_eq!(&*message, "division by zero");
        }
        other => panic!("unexpected {other:?}"),
    }
}

#[test]
fn a_returned_error_fails_its_promise_with_the_message() {
    let sch = Scheduler::new();
    let q = sch.queue("q", 1).unwrap();
    let bad = q.submit_result((), |()| "12x".parse::<i32>());
    sch.start();
    let err = bad.result().unwrap_err();
    assert!(matches!(err, TaskError::Failed { .. }));
    assert!(err.to_string().contains("invalid digit"), "{err}");
}

#[test]
fn dependents_fail_without_running_and_name_the_failed_input() {
    let sch = Scheduler::new();
    let q = sch.queue("q", 1).unwrap();
    let runs = Arc::new(AtomicUsize::new(0));
    let bad = q
        .task()
        .label("acquire")
        .submit((), |()| -> f64 { panic!("timeout") })
        .unwrap();
    let r = Arc::clone(&runs);
    let dep = q
        .task()
        .label("fft")
        .submit(&bad, move |x: &f64| {
            r.fetch_add(1, Ordering::SeqCst);
            *x
        })
        .unwrap();
    let r = Arc::clone(&runs);
    let dep2 = q.submit(&dep, move |x: &f64| {
        r.fetch_add(1, Ordering::SeqCst);
        *x
    });
    let good = q.submit((), |()| 7);
    sch.start();
    sch.wait();
    assert_eq!(runs.load(Ordering::SeqCst), 0);
    match dep.result() {
        Err(TaskError::DependencyFailed {
            task,
            input,
            reason,
        }) => {
            assert_eq!(&*task.label, "fft");
            assert_eq!(&*input.label, "acquire");
            assert!(reason.contains("timeout"), "{reason}");
        }
        other => panic!("unexpected {other:?}"),
    }
    let msg = dep2.result().unwrap_err().to_string();
    assert!(msg.contains("fft"), "{msg}");
    assert_eq!(*good.result().unwrap(), 7);
}

#[test]
fn no_worker_is_lost_to_panics() {
    let sch = Scheduler::new();
    let q = sch.queue("single", 1).unwrap();
    let fails: Vec<_> = (0..20)
        .map(|i| q.submit((), move |()| -> i32 { panic!("task {i}") }))
        .collect();
    let oks: Vec<_> = (0..20).map(|i| q.submit((), move |()| i)).collect();
    sch.start();
    sch.wait();
    assert!(fails.iter().all(|p| p.result().is_err()));
    assert_eq!(oks.iter().map(|p| *p.result().unwrap()).sum::<i32>(), 190);
    // And the queue still runs new work.
    assert_eq!(*q.submit((), |()| 1).result().unwrap(), 1);
}

#[test]
fn a_task_submitted_after_its_input_failed_fails_at_once() {
    let sch = Scheduler::new();
    let q = sch.queue("q", 1).unwrap();
    let bad = q.submit((), |()| -> u8 { panic!("no") });
    sch.start();
    sch.wait();
    let late = q.submit(&bad, |x: &u8| *x);
    assert!(matches!(
        late.try_result(),
        Some(Err(TaskError::DependencyFailed { .. }))
    ));
    assert_eq!(late.state(), Some(TaskState::Failed));
}

#[test]
fn cancel_cancels_a_pending_task_and_everything_downstream() {
    let sch = Scheduler::new();
    let q = sch.queue("q", 1).unwrap();
    let a = q.submit((), |()| 1);
    let b = q.submit(&a, |a: &i32| a + 1);
    let c = q.submit(&b, |b: &i32| b + 1);
    let other = q.submit((), |()| 10);
    assert_eq!(b.cancel(), Ok(2));
    assert_eq!(b.cancel(), Err(CancelError::Finished(b.id())));
    sch.start();
    sch.wait();
    assert!(matches!(b.result(), Err(TaskError::Cancelled { .. })));
    assert!(matches!(
        c.result(),
        Err(TaskError::DependencyFailed { .. })
    ));
    assert_eq!(c.state(), Some(TaskState::Cancelled));
    assert_eq!(*a.result().unwrap(), 1);
    assert_eq!(*other.result().unwrap(), 10);
}

#[test]
fn a_running_task_cannot_be_cancelled() {
    let sch = Scheduler::new();
    let q = sch.queue("q", 1).unwrap();
    let (started_tx, started_rx) = bounded(0);
    let (go_tx, go_rx) = bounded::<()>(0);
    let p = q.submit((), move |()| {
        started_tx.send(()).unwrap();
        go_rx.recv().unwrap();
        5
    });
    sch.start();
    started_rx.recv().unwrap();
    assert_eq!(p.cancel(), Err(CancelError::Started(p.id())));
    go_tx.send(()).unwrap();
    assert_eq!(*p.result().unwrap(), 5);
}

#[test]
fn cancelling_an_interior_task_keeps_the_newest_first_order_of_the_rest() {
    // c depends on (a, b); a and b are claimed through c. Cancelling c must leave a and b to
    // run in their own newest-first order: b, then a.
    let sch = Scheduler::new();
    let q = sch.queue("q", 1).unwrap();
    let log = Arc::new(parking_lot_free::Log::default());
    let (la, lb) = (Arc::clone(&log), Arc::clone(&log));
    let a = q.submit((), move |()| la.push("a"));
    let b = q.submit((), move |()| lb.push("b"));
    let c = q.submit((&a, &b), |_: (&(), &())| ());
    let lz = Arc::clone(&log);
    let _z = q.submit(&c, move |_: &()| lz.push("z"));
    c.cancel().unwrap();
    sch.start();
    sch.wait();
    assert_eq!(log.take(), ["b", "a"]);
}

mod parking_lot_free {
    use std::sync::Mutex;

    #[derive(Default)]
    pub(crate) struct Log(Mutex<Vec<&'static str>>);

    impl Log {
        pub(crate) fn push(&self, s: &'static str) {
            self.0.lock().expect("log").push(s);
        }
        pub(crate) fn take(&self) -> Vec<&'static str> {
            std::mem::take(&mut self.0.lock().expect("log"))
        }
    }
}

#[test]
fn after_settled_keeps_commands_in_order_through_failures() {
    let sch = Scheduler::new();
    let q = sch.queue("device", 1).unwrap();
    let log = Arc::new(parking_lot_free::Log::default());
    let l = Arc::clone(&log);
    let mut last = q.submit((), move |()| {
        l.push("configure");
        panic!("no reply")
    });
    for step in ["arm", "trigger", "read"] {
        let l = Arc::clone(&log);
        last = q
            .task()
            .after_settled(&last)
            .submit((), move |()| l.push(step))
            .unwrap();
    }
    // Cancelling a link of the chain does not cancel what comes after it either.
    let l = Arc::clone(&log);
    let extra = q
        .task()
        .after_settled(&last)
        .submit((), move |()| l.push("never"))
        .unwrap();
    let l = Arc::clone(&log);
    let after_cancelled = q
        .task()
        .after_settled(&extra)
        .submit((), move |()| l.push("close"))
        .unwrap();
    extra.cancel().unwrap();
    sch.start();
    sch.wait();
    // The settled edges keep the chain in submission order, although newest first would run
    // "read" before "configure". A cancelled link is settled at once: "close", which waits
    // only for it, is ready from the start and, being the newest, runs first.
    assert_eq!(log.take(), ["close", "configure", "arm", "trigger", "read"]);
    assert!(after_cancelled.result().is_ok());
}
