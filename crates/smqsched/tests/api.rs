//! Inputs, labels, events, snapshots and bad input.

use std::sync::atomic::{AtomicUsize, Ordering};

use smqsched::{
    EventKind, Item, Promise, Queue, QueueError, Scheduler, Stream, SubmitError, TaskState,
};

fn assert_send_sync<T: Send + Sync + Clone>() {}

#[test]
fn handles_are_cheap_to_clone_send_and_sync() {
    assert_send_sync::<Scheduler>();
    assert_send_sync::<Queue>();
    assert_send_sync::<Promise<Vec<f64>>>();
    assert_send_sync::<Stream<Vec<f64>>>();
    assert_send_sync::<Item<Vec<f64>>>();
}

#[test]
fn six_inputs_of_different_types_plus_a_fan_in_and_a_captured_value() {
    let sch = Scheduler::new();
    let q = sch.queue("q", 2).unwrap();
    let a = q.submit((), |()| 1u8);
    let b = q.submit((), |()| 2i64);
    let c = q.submit((), |()| 3.5f64);
    let d = q.submit((), |()| String::from("four"));
    let e = q.submit((), |()| vec![5u16, 5]);
    let f = q.submit((), |()| Some('6'));
    let many: Vec<_> = (0..1000)
        .map(|i| q.submit((), move |()| i as f64))
        .collect();
    let offset = 0.5; // a plain value, captured
    let all = q.submit(
        (&a, &b, &c, &d, &e, &f, &many[..]),
        move |(a, b, c, d, e, f, many): (
            &u8,
            &i64,
            &f64,
            &String,
            &Vec<u16>,
            &Option<char>,
            Vec<&f64>,
        )| {
            let mean = many.iter().copied().sum::<f64>() / many.len() as f64;
            format!(
                "{a} {b} {c} {d} {} {} {}",
                e.len(),
                f.unwrap(),
                mean + offset
            )
        },
    );
    sch.start();
    assert_eq!(all.result().unwrap(), "1 2 3.5 four 2 6 500");
}

#[test]
fn inputs_are_shared_by_reference_never_copied() {
    struct NoClone(Vec<u8>);
    let sch = Scheduler::new();
    let q = sch.queue("q", 2).unwrap();
    let big = q.submit((), |()| NoClone(vec![7; 1 << 20]));
    let addr = q.submit(&big, |b: &NoClone| b.0.as_ptr() as usize);
    let addr2 = q.submit(&big, |b: &NoClone| b.0.as_ptr() as usize);
    sch.start();
    assert_eq!(addr.result().unwrap(), addr2.result().unwrap());
    assert_eq!(
        *addr.result().unwrap(),
        big.result().unwrap().0.as_ptr() as usize
    );
}

// A task body receives `&T`; here `T` is `Vec<f64>`.
#[allow(clippy::ptr_arg)]
fn integrate(x: &Vec<f64>) -> f64 {
    x.iter().sum()
}

#[test]
fn labels_default_to_the_function_name() {
    let sch = Scheduler::new();
    let q = sch.queue("q", 1).unwrap();
    let data = q.submit((), |()| vec![1.0, 2.0]);
    let total = q.submit(&data, integrate);
    let named = q.task().label("background").submit((), |()| 0).unwrap();
    assert_eq!(total.label(), "integrate");
    // A closure is named after the function that defines it.
    assert_eq!(data.label(), "labels_default_to_the_function_name");
    assert_eq!(named.label(), "background");
}

#[test]
fn events_carry_id_label_queue_and_time() {
    let sch = Scheduler::new();
    let events = sch.subscribe();
    let q = sch.queue("q", 1).unwrap();
    let s = q.task().label("scan").submit_iter((), |()| 0..2).unwrap();
    let bad = q
        .task()
        .label("bad")
        .submit(s.item(0), |_: &i32| -> i32 { panic!("x") })
        .unwrap();
    let cancelled = q.task().label("never").submit((), |()| 0).unwrap();
    cancelled.cancel().unwrap();
    sch.start();
    sch.wait();
    sch.stop();
    let all: Vec<_> = events.try_iter().collect();
    for e in all.iter().filter(|e| e.task.is_some()) {
        assert!(e.label.is_some());
        assert_eq!(e.queue.as_deref(), Some("q"));
    }
    assert!(all.windows(2).all(|w| w[0].at <= w[1].at));
    let of = |id: smqsched::TaskId| -> Vec<String> {
        all.iter()
            .filter(|e| e.task == Some(id))
            .map(|e| match &e.kind {
                EventKind::Submitted => "submitted".into(),
                EventKind::Started { slot } => format!("started {slot}"),
                EventKind::ItemProduced { index } => format!("item {index}"),
                EventKind::Finished => "finished".into(),
                EventKind::Failed { .. } => "failed".into(),
                EventKind::Cancelled => "cancelled".into(),
                other => format!("{other:?}"),
            })
            .collect()
    };
    assert_eq!(
        of(s.id()),
        ["submitted", "started 0", "item 0", "item 1", "finished"]
    );
    assert_eq!(of(bad.id()), ["submitted", "started 0", "failed"]);
    assert_eq!(of(cancelled.id()), ["submitted", "cancelled"]);
    let control: Vec<_> = all
        .iter()
        .filter(|e| e.task.is_none())
        .map(|e| format!("{:?}", e.kind))
        .collect();
    assert_eq!(control, ["Resumed", "Stopped"]);
}

#[test]
fn a_snapshot_shows_states_inputs_queues_and_errors() {
    let sch = Scheduler::new();
    let acq = sch.queue("acq", 1).unwrap();
    let cpu = sch.queue("cpu", 2).unwrap();
    let a = acq.submit((), |()| 1);
    let b = cpu.submit(&a, |a: &i32| a + 1);
    let bad = cpu.submit(&b, |_: &i32| -> i32 { panic!("nope") });
    let snap = sch.snapshot();
    assert!(!snap.running);
    assert_eq!(snap.tasks.len(), 3);
    assert_eq!(snap.tasks[1].queue, 1);
    assert_eq!(snap.inputs(&snap.tasks[2])[0].task, b.id());
    assert_eq!(snap.queues[1].waiting, 2);
    assert_eq!(snap.queues[0].ready, 1);
    sch.start();
    sch.wait();
    let snap = sch.snapshot();
    assert_eq!(snap.tasks[0].state, TaskState::Done);
    assert_eq!(snap.tasks[2].state, TaskState::Failed);
    assert!(
        snap.tasks[2]
            .error
            .as_ref()
            .unwrap()
            .to_string()
            .contains("nope")
    );
    assert!(snap.tasks[0].started.unwrap() <= snap.tasks[0].finished.unwrap());
    assert_eq!(snap.queues[1].done, 1);
    assert_eq!(snap.queues[1].failed, 1);
    assert!(bad.result().is_err());
}

#[test]
fn bad_input_gets_a_clear_error() {
    let sch = Scheduler::new();
    let other = Scheduler::new();
    let q = sch.queue("q", 1).unwrap();
    let oq = other.queue("q", 1).unwrap();
    let foreign = oq.submit((), |()| 1);

    let e = q.task().submit(&foreign, |x: &i32| *x).unwrap_err();
    assert_eq!(
        e,
        SubmitError::ForeignInput {
            input: foreign.id()
        }
    );
    assert!(e.to_string().contains("another scheduler"));
    // Also when it hides among this scheduler's own promises in a fan-in, by vector or slice.
    let mut mixed: Vec<_> = (0..3).map(|i| q.submit((), move |()| i)).collect();
    mixed.insert(1, foreign.clone());
    let before = sch.task_count();
    let e = q
        .task()
        .submit(&mixed, |xs: Vec<&i32>| xs.len())
        .unwrap_err();
    assert_eq!(
        e,
        SubmitError::ForeignInput {
            input: foreign.id()
        }
    );
    let e = q
        .task()
        .submit(&mixed[..], |xs: Vec<&i32>| xs.len())
        .unwrap_err();
    assert_eq!(
        e,
        SubmitError::ForeignInput {
            input: foreign.id()
        }
    );
    assert_eq!(sch.task_count(), before, "a refused task is not recorded");

    let e = sch.queue("zero", 0).unwrap_err();
    assert!(matches!(e, QueueError::ZeroSlots { .. }));
    assert!(e.to_string().contains("at least one slot"));

    let plain = q.submit((), |()| 1);
    let e = q.task().releases(&plain).submit((), |()| 2).unwrap_err();
    assert_eq!(e, SubmitError::NotHolding { task: plain.id() });
    assert!(e.to_string().contains("holds nothing"));

    let held = q.task().hold().submit((), |()| 1).unwrap();
    let rel = q.task().releases(&held).submit((), |()| 2).unwrap();
    let e = q.task().releases(&held).submit((), |()| 3).unwrap_err();
    assert_eq!(
        e,
        SubmitError::AlreadyReleased {
            task: held.id(),
            by: rel.id()
        }
    );

    let e = q
        .task()
        .requires("laser", 1)
        .submit((), |()| 1)
        .unwrap_err();
    assert!(matches!(e, SubmitError::UnknownResource { .. }));

    sch.shutdown();
    let e = q.task().submit((), |()| 1).unwrap_err();
    assert_eq!(e, SubmitError::Shutdown);
    assert!(matches!(sch.queue("late", 1), Err(QueueError::Shutdown)));
}

#[test]
#[should_panic(expected = "belongs to another scheduler")]
fn submit_panics_on_a_foreign_promise_as_documented() {
    let sch = Scheduler::new();
    let other = Scheduler::new();
    let q = sch.queue("q", 1).unwrap();
    let foreign = other.queue("q", 1).unwrap().submit((), |()| 1);
    let _ = q.submit(&foreign, |x: &i32| *x);
}

/// A result is dropped as soon as no promise handle and no unfinished dependent needs it.
#[test]
fn results_are_dropped_once_nothing_needs_them() {
    static LIVE: AtomicUsize = AtomicUsize::new(0);
    struct Tracked;
    impl Tracked {
        fn new() -> Self {
            LIVE.fetch_add(1, Ordering::SeqCst);
            Tracked
        }
    }
    impl Drop for Tracked {
        fn drop(&mut self) {
            LIVE.fetch_sub(1, Ordering::SeqCst);
        }
    }
    let sch = Scheduler::new();
    let q = sch.queue("q", 1).unwrap();
    let a = q.submit((), |()| Tracked::new());
    let b = q.submit(&a, |_: &Tracked| 1);
    drop(a);
    sch.start();
    sch.wait();
    assert_eq!(*b.result().unwrap(), 1);
    assert_eq!(
        LIVE.load(Ordering::SeqCst),
        0,
        "a's value outlived its last dependent"
    );

    let kept = q.submit((), |()| Tracked::new());
    sch.wait();
    assert_eq!(
        LIVE.load(Ordering::SeqCst),
        1,
        "a held promise keeps its value"
    );
    drop(kept);
    assert_eq!(LIVE.load(Ordering::SeqCst), 0);
}
