//! Stop and resume, waiting, several queues, hold/release, resources.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crossbeam_channel::{Receiver, Sender, bounded};
use smqsched::{EventKind, Promise, Queue, Scheduler, TaskState, Timeout};

/// A task body that reports it started and then waits to be let go.
fn gate() -> (Sender<()>, Receiver<()>, Sender<()>, Receiver<()>) {
    let (started_tx, started_rx) = bounded(0);
    let (go_tx, go_rx) = bounded(0);
    (started_tx, started_rx, go_tx, go_rx)
}

#[test]
fn stop_lets_running_tasks_finish_and_starts_nothing_new() {
    let sch = Scheduler::new();
    let q = sch.queue("q", 1).unwrap();
    let (started_tx, started_rx, go_tx, go_rx) = gate();
    let running = q.submit((), move |()| {
        started_tx.send(()).unwrap();
        go_rx.recv().unwrap();
        "kept"
    });
    let runs = Arc::new(AtomicUsize::new(0));
    let r = Arc::clone(&runs);
    let next = q.submit((), move |()| r.fetch_add(1, Ordering::SeqCst));
    // `next` is newer, so it runs first; wait for it, then for the gate.
    sch.start();
    assert_eq!(*next.result().unwrap(), 0);
    started_rx.recv().unwrap();
    sch.stop();
    assert!(!sch.is_running());
    let r = Arc::clone(&runs);
    let while_stopped = q.submit(&running, move |s: &&str| {
        r.fetch_add(1, Ordering::SeqCst);
        s.len()
    });
    go_tx.send(()).unwrap();
    sch.wait_drained();
    assert_eq!(*running.result().unwrap(), "kept");
    assert_eq!(while_stopped.state(), Some(TaskState::Ready));
    assert!(while_stopped.try_result().is_none());
    assert_eq!(sch.wait_timeout(Duration::from_millis(20)), Err(Timeout));

    sch.start();
    sch.wait();
    assert_eq!(*while_stopped.result().unwrap(), 4);
    // Nothing ran twice.
    assert_eq!(runs.load(Ordering::SeqCst), 2);
    assert_eq!(sch.wait_timeout(Duration::from_millis(1)), Ok(()));
}

#[test]
fn a_new_task_is_considered_at_the_next_decision_not_the_next_completion() {
    let sch = Scheduler::new();
    let q = sch.queue("q", 2).unwrap();
    let (started_tx, started_rx, go_tx, go_rx) = gate();
    sch.start();
    let blocker = q.submit((), move |()| {
        started_tx.send(()).unwrap();
        go_rx.recv().unwrap();
    });
    started_rx.recv().unwrap();
    // The blocker still runs, so nothing completes; the free slot takes the new task anyway.
    let quick = q.submit((), |()| 1);
    assert_eq!(*quick.result().unwrap(), 1);
    go_tx.send(()).unwrap();
    assert!(blocker.result().is_ok());
}

#[test]
fn a_free_slot_in_any_queue_is_filled_whatever_the_other_queues_do() {
    let sch = Scheduler::new();
    let instrument = sch.queue("instrument", 1).unwrap();
    let compute = sch.queue("compute", 2).unwrap();
    let (started_tx, started_rx, go_tx, go_rx) = gate();
    // Submitted first, so it runs after the newer `slow` one.
    let waiting = instrument.submit((), |()| 0);
    let slow = instrument.submit((), move |()| {
        started_tx.send(()).unwrap();
        go_rx.recv().unwrap();
    });
    let work: Vec<_> = (0..10).map(|i| compute.submit((), move |()| i)).collect();
    let events = sch.subscribe();
    sch.start();
    started_rx.recv().unwrap();
    // The instrument queue is busy; compute runs to the end regardless. A result is stored
    // before its task is marked finished, so count the finished events, not the results.
    let mut finished = 0;
    while finished < 10 {
        let e = events.recv().unwrap();
        if matches!(e.kind, EventKind::Finished) && e.queue.as_deref() == Some("compute") {
            finished += 1;
        }
    }
    assert_eq!(work.iter().map(|p| *p.result().unwrap()).sum::<i32>(), 45);
    let load = sch.queues();
    assert_eq!((load[0].in_use, load[0].ready), (1, 1));
    assert_eq!(load[1].done, 10);
    go_tx.send(()).unwrap();
    sch.wait();
    assert!(slow.result().is_ok() && waiting.result().is_ok());
}

#[test]
fn wait_returns_when_everything_submitted_has_ended() {
    let sch = Scheduler::new();
    let q = sch.queue("q", 2).unwrap();
    let inner = q.clone();
    let spawned = Arc::new(Mutex::new(None));
    let slot = Arc::clone(&spawned);
    q.submit((), move |()| {
        // Submitted from inside a task: `wait` covers it too.
        *slot.lock().unwrap() = Some(inner.submit((), |()| 99));
    });
    sch.start();
    sch.wait();
    let p = spawned.lock().unwrap().take().unwrap();
    assert_eq!(p.try_result().unwrap().unwrap(), &99);
}

#[test]
fn a_held_slot_keeps_moves_and_acquisitions_paired() {
    let sch = Scheduler::new();
    let stage = sch.queue("stage", 1).unwrap();
    let camera = sch.queue("camera", 1).unwrap();
    let log = Arc::new(Mutex::new(Vec::new()));
    let mut images = Vec::new();
    for x in 0..5 {
        let l = Arc::clone(&log);
        let moved = stage
            .task()
            .label("move")
            .hold()
            .submit((), move |()| {
                l.lock().unwrap().push(format!("move {x}"));
                x
            })
            .unwrap();
        let l = Arc::clone(&log);
        images.push(
            camera
                .task()
                .label("acquire")
                .releases(&moved)
                .submit(&moved, move |x: &i32| {
                    l.lock().unwrap().push(format!("acquire {x}"));
                    *x
                })
                .unwrap(),
        );
    }
    // Unrelated camera work may run between the pairs; stage moves may not.
    sch.start();
    sch.wait();
    let log = log.lock().unwrap().clone();
    assert_eq!(log.len(), 10);
    for pair in log.chunks(2) {
        let x = pair[0].strip_prefix("move ").unwrap();
        assert_eq!(pair[1], format!("acquire {x}"), "{log:?}");
    }
    assert_eq!(sch.queues()[0].in_use, 0);
}

#[test]
fn a_releaser_on_the_same_queue_runs_in_the_held_slot() {
    let sch = Scheduler::new();
    let dev = sch.queue("device", 1).unwrap();
    let log = Arc::new(Mutex::new(Vec::new()));
    let mut last = None;
    for x in 0..3 {
        let l = Arc::clone(&log);
        let set = dev
            .task()
            .hold()
            .submit((), move |()| l.lock().unwrap().push(format!("set {x}")))
            .unwrap();
        let l = Arc::clone(&log);
        last = Some(
            dev.task()
                .releases(&set)
                .submit(&set, move |_: &()| {
                    l.lock().unwrap().push(format!("read {x}"))
                })
                .unwrap(),
        );
    }
    sch.start();
    sch.wait();
    assert!(last.unwrap().result().is_ok());
    let log = log.lock().unwrap().clone();
    assert_eq!(
        log,
        ["set 2", "read 2", "set 1", "read 1", "set 0", "read 0"]
    );
}

/// A stage and a camera of one slot each, a move of the stage that holds its slot, and an
/// acquisition, running `acquire`, that releases it.
fn held_move(
    acquire: impl FnOnce(&i32) -> i32 + Send + 'static,
) -> (Scheduler, Queue, Promise<i32>, Promise<i32>) {
    let sch = Scheduler::new();
    let stage = sch.queue("stage", 1).expect("a new queue");
    let camera = sch.queue("camera", 1).expect("a new queue");
    let moved = stage
        .task()
        .hold()
        .submit((), |()| 1)
        .expect("a valid task");
    let acq = camera
        .task()
        .releases(&moved)
        .submit(&moved, acquire)
        .expect("a valid task");
    (sch, stage, moved, acq)
}

#[test]
fn a_failed_releaser_still_releases_the_slot() {
    let (sch, stage, _moved, acq) = held_move(|_| panic!("camera fault"));
    sch.start();
    sch.wait();
    assert!(acq.result().is_err());
    // The stage is free again.
    assert_eq!(*stage.submit((), |()| 2).result().unwrap(), 2);
}

/// The releaser is cancelled before its holder runs: the holder, once finished, has nobody to
/// release its slot, so it keeps none.
#[test]
fn a_holder_whose_releaser_was_cancelled_keeps_no_slot() {
    let (sch, stage, moved, acq) = held_move(|x| *x);
    assert_eq!(acq.cancel(), Ok(1));
    sch.start();
    assert_eq!(*moved.result().unwrap(), 1);
    let next = stage.submit((), |()| 2);
    assert_eq!(next.result_timeout(Duration::from_secs(60)), Some(Ok(&2)));
    assert_eq!(sch.queues()[0].held, 0);
}

#[test]
fn resources_limit_concurrency_beside_slots() {
    let sch = Scheduler::new();
    let q = sch
        .queue_with_resources("compute", 2, &[("memory", 1)])
        .unwrap();
    let (started_tx, started_rx, go_tx, go_rx) = gate();
    let big1 = q
        .task()
        .requires("memory", 1)
        .submit((), move |()| {
            started_tx.send(()).unwrap();
            go_rx.recv().unwrap();
        })
        .unwrap();
    sch.start();
    started_rx.recv().unwrap();
    let big2 = q.task().requires("memory", 1).submit((), |()| ()).unwrap();
    let small = q.submit((), |()| ());
    // The second slot is free, but the resource is taken: `small` runs, `big2` waits.
    assert!(small.result().is_ok());
    assert_eq!(big2.state(), Some(TaskState::Ready));
    go_tx.send(()).unwrap();
    assert!(big1.result().is_ok());
    assert!(big2.result().is_ok());
}

#[test]
fn shutdown_fails_what_has_not_started() {
    let sch = Scheduler::new();
    let q = sch.queue("q", 1).unwrap();
    let p = q.submit((), |()| 1);
    sch.shutdown();
    assert!(matches!(
        p.result(),
        Err(smqsched::TaskError::Shutdown { .. })
    ));
}

#[test]
fn dropping_every_handle_ends_pending_work_without_hanging() {
    let p = {
        let sch = Scheduler::new();
        let q = sch.queue("q", 1).unwrap();
        q.submit((), |()| 1)
    };
    assert!(matches!(
        p.result(),
        Err(smqsched::TaskError::Shutdown { .. })
    ));
}

/// Readers that block on a result while it is being written all wake with it: the writer
/// skips the notification only when no reader is registered (see the cell protocol). Many
/// rounds, so that readers arrive before, during and after the write.
#[test]
fn readers_blocked_on_a_result_all_wake_when_it_is_written() {
    let sch = Scheduler::new();
    let q = sch.queue("q", 1).unwrap();
    sch.start();
    for round in 0..200u64 {
        let (go_tx, go_rx) = bounded::<()>(0);
        let p = q.submit((), move |()| {
            let _ = go_rx.recv();
            round
        });
        let (ready_tx, ready_rx) = bounded::<()>(4);
        let (got_tx, got_rx) = bounded::<u64>(4);
        for _ in 0..4 {
            let (p, ready_tx, got_tx) = (p.clone(), ready_tx.clone(), got_tx.clone());
            std::thread::spawn(move || {
                let _ = ready_tx.send(());
                if let Ok(v) = p.result() {
                    let _ = got_tx.send(*v);
                }
            });
        }
        for _ in 0..4 {
            ready_rx.recv().unwrap();
        }
        go_tx.send(()).unwrap();
        for _ in 0..4 {
            // A watchdog, not a timing assertion: a lost wake-up leaves a reader asleep for
            // good, and the test fails here instead of hanging.
            let got = got_rx.recv_timeout(Duration::from_secs(60));
            assert_eq!(got, Ok(round), "a reader was not woken in round {round}");
        }
    }
}
