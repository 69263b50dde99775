//! Queues in submission order (`StartOrder::Submission`) beside queues newest first.
//!
//! Deterministic: one-slot queues, bodies held on channels, the order of starts read from
//! the events (emitted under the scheduler's lock, in the order of its decisions).

#![allow(clippy::unwrap_used)]

use std::sync::{Arc, Mutex};

use crossbeam_channel::{Receiver, Sender, bounded, unbounded};
use smqsched::{Event, EventKind, Queue, Scheduler, StartOrder, TaskId, TaskState};

/// The tasks started, in the order the scheduler started them, read from `events` until
/// the channel is empty.
fn starts(events: &Receiver<Event>) -> Vec<TaskId> {
    events
        .try_iter()
        .filter(|e| matches!(e.kind, EventKind::Started { .. }))
        .filter_map(|e| e.task)
        .collect()
}

/// A body that says it started and waits to be let go: (started, go) channels.
fn held() -> (Sender<()>, Receiver<()>, Sender<()>, Receiver<()>) {
    let (started_tx, started_rx) = bounded(0);
    let (go_tx, go_rx) = bounded(0);
    (started_tx, started_rx, go_tx, go_rx)
}

/// Submit to a 1-slot queue in `order` a first task held running, then five more while it
/// runs; returns the order in which the six bodies ran.
fn six_tasks_submitted_while_the_first_runs(order: StartOrder) -> Vec<usize> {
    let sch = Scheduler::new();
    let stage = sch.queue_ordered("stage", 1, order).unwrap();
    let log = Arc::new(Mutex::new(Vec::new()));
    let (started_tx, started_rx, go_tx, go_rx) = held();
    let l = Arc::clone(&log);
    stage.submit((), move |()| {
        l.lock().unwrap().push(0);
        started_tx.send(()).unwrap();
        go_rx.recv().unwrap();
    });
    sch.start();
    started_rx.recv().unwrap();
    for i in 1..6 {
        let l = Arc::clone(&log);
        stage.submit((), move |()| l.lock().unwrap().push(i));
    }
    go_tx.send(()).unwrap();
    sch.wait();
    log.lock().unwrap().clone()
}

#[test]
fn a_one_slot_queue_in_submission_order_runs_its_tasks_in_that_order() {
    assert_eq!(
        six_tasks_submitted_while_the_first_runs(StartOrder::Submission),
        [0, 1, 2, 3, 4, 5]
    );
    // The default, for contrast: the newest first.
    assert_eq!(
        six_tasks_submitted_while_the_first_runs(StartOrder::NewestFirst),
        [0, 5, 4, 3, 2, 1]
    );
}

#[test]
fn an_n_slot_queue_in_submission_order_starts_its_tasks_in_that_order() {
    let sch = Scheduler::new();
    let q = sch.queue_ordered("q", 3, StartOrder::Submission).unwrap();
    let events = sch.subscribe();
    // Three held tasks take the three slots; ten more are submitted meanwhile.
    let mut gates = Vec::new();
    let mut ids = Vec::new();
    let mut started = Vec::new();
    for _ in 0..3 {
        let (started_tx, started_rx, go_tx, go_rx) = held();
        ids.push(
            q.submit((), move |()| {
                started_tx.send(()).unwrap();
                go_rx.recv().unwrap();
            })
            .id(),
        );
        gates.push(go_tx);
        started.push(started_rx);
    }
    sch.start();
    for s in &started {
        s.recv().unwrap();
    }
    for i in 0..10 {
        ids.push(q.submit((), move |()| i).id());
    }
    for g in gates {
        g.send(()).unwrap();
    }
    sch.wait();
    assert_eq!(starts(&events), ids);
    assert_eq!(sch.queues()[0].order, StartOrder::Submission);
}

/// An instrument in submission order beside processing newest first: `n` acquisitions,
/// each processed; the processing waits for a gate let go once every acquisition has
/// finished, so that all of it is ready at once.
#[test]
fn acquisitions_go_in_order_and_processing_newest_first() {
    let sch = Scheduler::new();
    let stage = sch
        .queue_ordered("stage", 1, StartOrder::Submission)
        .unwrap();
    let compute = sch.queue("compute", 1).unwrap();
    let gate_q = sch.queue("gate", 1).unwrap();
    let events = sch.subscribe();
    let (go_tx, go_rx) = bounded::<()>(0);
    let gate = gate_q.submit((), move |()| go_rx.recv().unwrap());
    let (mut acquisitions, mut processing) = (Vec::new(), Vec::new());
    for i in 0..5u64 {
        let frame = stage.submit((), move |()| i);
        let sum = compute
            .task()
            .after(&gate)
            .submit(&frame, |f: &u64| f * 10)
            .unwrap();
        acquisitions.push(frame);
        processing.push(sum);
    }
    sch.start();
    // Let the gate go once every acquisition has finished (its event is sent by the
    // scheduler when it records the end).
    let frames: Vec<TaskId> = acquisitions.iter().map(|p| p.id()).collect();
    let mut seen = Vec::new();
    let mut finished = 0;
    while finished < frames.len() {
        let e = events.recv().unwrap();
        if matches!(e.kind, EventKind::Started { .. }) {
            seen.extend(e.task);
        }
        if matches!(e.kind, EventKind::Finished) && e.task.is_some_and(|t| frames.contains(&t)) {
            finished += 1;
        }
    }
    go_tx.send(()).unwrap();
    sch.wait();
    seen.extend(starts(&events));
    let acquired: Vec<TaskId> = seen
        .iter()
        .copied()
        .filter(|t| frames.contains(t))
        .collect();
    assert_eq!(acquired, frames, "acquisitions in submission order");
    let processed: Vec<TaskId> = seen
        .iter()
        .copied()
        .filter(|t| processing.iter().any(|p| p.id() == *t))
        .collect();
    let newest_first: Vec<TaskId> = processing.iter().rev().map(|p| p.id()).collect();
    assert_eq!(processed, newest_first, "processing newest first");
    for (i, p) in processing.iter().enumerate() {
        assert_eq!(*p.result().unwrap(), i as u64 * 10);
    }
}

/// The oldest task of a queue in submission order waits on work of another queue, behind
/// newer work there: that work is pulled first.
#[test]
fn the_upstream_work_of_the_next_task_in_order_is_pulled_first() {
    fn first_on_compute(order: StartOrder) -> (TaskId, Vec<TaskId>) {
        let sch = Scheduler::new();
        let stage = sch.queue_ordered("stage", 1, order).unwrap();
        let compute = sch.queue("compute", 1).unwrap();
        let events = sch.subscribe();
        let setting = compute.submit((), |()| 1.5f64);
        stage.submit(&setting, |s: &f64| *s);
        let newer: Vec<TaskId> = (0..5)
            .map(|i| compute.submit((), move |()| i).id())
            .collect();
        stage.submit((), |()| 0.0f64);
        sch.start();
        sch.wait();
        let compute_ids: Vec<TaskId> = std::iter::once(setting.id()).chain(newer).collect();
        let on_compute: Vec<TaskId> = starts(&events)
            .into_iter()
            .filter(|t| compute_ids.contains(t))
            .collect();
        (setting.id(), on_compute)
    }
    let (setting, on_compute) = first_on_compute(StartOrder::Submission);
    assert_eq!(on_compute.first(), Some(&setting));
    // Newest first, the stage's newest task runs at once and the setting waits its turn.
    let (setting, on_compute) = first_on_compute(StartOrder::NewestFirst);
    assert_eq!(on_compute.last(), Some(&setting));
}

#[test]
fn a_cancelled_task_or_one_whose_input_failed_does_not_block_the_next() {
    let sch = Scheduler::new();
    let stage = sch
        .queue_ordered("stage", 1, StartOrder::Submission)
        .unwrap();
    let compute = sch.queue("compute", 1).unwrap();
    let log = Arc::new(Mutex::new(Vec::new()));
    let run = |i: usize| {
        let l = Arc::clone(&log);
        move |()| l.lock().unwrap().push(i)
    };
    let bad = compute.submit_result((), |()| Err::<u32, _>("no signal"));
    let t0 = stage.submit((), run(0));
    let l = Arc::clone(&log);
    let t1 = stage.submit(&bad, move |_: &u32| l.lock().unwrap().push(1));
    let t2 = stage.submit((), run(2));
    let t3 = stage.submit((), run(3));
    let t4 = stage.submit((), run(4));
    assert_eq!(t2.cancel(), Ok(1));
    sch.start();
    sch.wait();
    assert_eq!(*log.lock().unwrap(), [0, 3, 4]);
    assert_eq!(t0.state(), Some(TaskState::Done));
    assert_eq!(t1.state(), Some(TaskState::Failed));
    assert_eq!(t2.state(), Some(TaskState::Cancelled));
    assert_eq!(t3.state(), Some(TaskState::Done));
    assert_eq!(t4.state(), Some(TaskState::Done));
}

#[test]
fn the_task_at_the_front_cancelled_while_others_wait_lets_the_next_go() {
    let sch = Scheduler::new();
    let stage = sch
        .queue_ordered("stage", 1, StartOrder::Submission)
        .unwrap();
    let log = Arc::new(Mutex::new(Vec::new()));
    let (started_tx, started_rx, go_tx, go_rx) = held();
    let l = Arc::clone(&log);
    stage.submit((), move |()| {
        l.lock().unwrap().push(0);
        started_tx.send(()).unwrap();
        go_rx.recv().unwrap();
    });
    sch.start();
    started_rx.recv().unwrap();
    let mut later = Vec::new();
    for i in 1..5 {
        let l = Arc::clone(&log);
        later.push(stage.submit((), move |()| l.lock().unwrap().push(i)));
    }
    // Task 1 is next in turn, task 3 in the middle: both leave the order.
    assert_eq!(later[0].cancel(), Ok(1));
    assert_eq!(later[2].cancel(), Ok(1));
    assert_eq!(later[1].state(), Some(TaskState::Ready));
    assert_eq!(later[3].state(), Some(TaskState::Waiting));
    go_tx.send(()).unwrap();
    sch.wait();
    assert_eq!(*log.lock().unwrap(), [0, 2, 4]);
}

#[test]
fn stop_and_resume_keep_the_order() {
    let sch = Scheduler::new();
    let stage = sch
        .queue_ordered("stage", 1, StartOrder::Submission)
        .unwrap();
    let log = Arc::new(Mutex::new(Vec::new()));
    let submit = |q: &Queue, i: usize| {
        let l = Arc::clone(&log);
        q.submit((), move |()| l.lock().unwrap().push(i));
    };
    let (started_tx, started_rx, go_tx, go_rx) = held();
    let l = Arc::clone(&log);
    stage.submit((), move |()| {
        l.lock().unwrap().push(0);
        started_tx.send(()).unwrap();
        go_rx.recv().unwrap();
    });
    sch.start();
    started_rx.recv().unwrap();
    sch.stop();
    for i in 1..4 {
        submit(&stage, i);
    }
    go_tx.send(()).unwrap();
    sch.wait_drained();
    assert_eq!(*log.lock().unwrap(), [0], "nothing starts while stopped");
    for i in 4..6 {
        submit(&stage, i);
    }
    sch.start();
    sch.wait();
    assert_eq!(*log.lock().unwrap(), [0, 1, 2, 3, 4, 5]);
}

/// Submissions from several threads at once: each thread's tasks run in the order it
/// submitted them, and all of them in the order the queue received them.
#[test]
fn tasks_run_in_the_order_the_queue_received_them() {
    let sch = Scheduler::new();
    let stage = sch
        .queue_ordered("stage", 1, StartOrder::Submission)
        .unwrap();
    let events = sch.subscribe();
    let (ran_tx, ran_rx) = unbounded();
    sch.start();
    std::thread::scope(|s| {
        for k in 0..4 {
            let (stage, ran_tx) = (&stage, ran_tx.clone());
            s.spawn(move || {
                for i in 0..50 {
                    let tx = ran_tx.clone();
                    stage.submit((), move |()| tx.send((k, i)).unwrap());
                }
            });
        }
    });
    sch.wait();
    drop(ran_tx);
    let events: Vec<Event> = events.try_iter().collect();
    let of_kind = |started: bool| -> Vec<TaskId> {
        events
            .iter()
            .filter(|e| match e.kind {
                EventKind::Started { .. } => started,
                EventKind::Submitted => !started,
                _ => false,
            })
            .filter_map(|e| e.task)
            .collect()
    };
    // The queue received the tasks in the order of their ids; they started in that order.
    let submitted = of_kind(false);
    assert_eq!(submitted.len(), 200);
    assert!(submitted.windows(2).all(|w| w[0] < w[1]));
    assert_eq!(of_kind(true), submitted);
    let ran: Vec<(usize, usize)> = ran_rx.try_iter().collect();
    for k in 0..4 {
        let mine: Vec<usize> = ran.iter().filter(|r| r.0 == k).map(|r| r.1).collect();
        assert_eq!(mine, (0..50).collect::<Vec<_>>());
    }
}

/// A one-slot queue in submission order: a holder, then another task of the queue, then the
/// holder's releaser. The releaser runs in the held slot without waiting for its turn, so
/// the task between them (which needs that slot) runs after it, and nothing deadlocks.
#[test]
fn a_releaser_submitted_after_other_tasks_of_its_queue_runs_in_the_held_slot() {
    let sch = Scheduler::new();
    let stage = sch
        .queue_ordered("stage", 1, StartOrder::Submission)
        .unwrap();
    let compute = sch.queue("compute", 1).unwrap();
    let events = sch.subscribe();
    let holder = stage.task().hold().submit((), |()| 1).unwrap();
    let between = stage.submit((), |()| 2);
    // The releaser also waits for work of another queue, submitted after the task between.
    let reading = compute.submit(&holder, |h: &i32| h * 10);
    let releaser = stage
        .task()
        .releases(&holder)
        .submit(&reading, |r: &i32| r + 3)
        .unwrap();
    let after = stage.submit((), |()| 4);
    sch.start();
    // A failure guard only: the run ends at once, or deadlocks.
    assert!(
        sch.wait_timeout(std::time::Duration::from_secs(60)).is_ok(),
        "deadlock: {:?}",
        sch.snapshot().tasks
    );
    assert_eq!(
        [
            *between.result().unwrap(),
            *releaser.result().unwrap(),
            *after.result().unwrap()
        ],
        [2, 13, 4]
    );
    assert_eq!(
        starts(&events),
        [
            holder.id(),
            reading.id(),
            releaser.id(),
            between.id(),
            after.id()
        ]
    );
}
