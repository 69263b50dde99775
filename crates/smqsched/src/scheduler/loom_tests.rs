//! The waiters' wake-up rule under `loom`: `Scheduler::wait`, `wait_drained` and
//! `Promise::result` against the completions of tasks run on other threads, in every
//! interleaving of their lock acquisitions, condition-variable waits and parks. A waiter
//! left asleep for good fails the model as a deadlock.
//!
//! The scheduler is the real one, with a queue that has no worker threads: the tests run the
//! queue's jobs on threads of their own, through the same `Shared::run_job` as a worker.

use super::*;
use loom::thread;

/// A stopped scheduler with one queue of `slots` slots and no worker threads, and the
/// receiving end of the queue's job channel.
fn scheduler(slots: usize) -> (Scheduler, Queue, Receiver<Msg>) {
    let sch = Scheduler::new();
    let (q, rx) = sch.add_queue("q", slots, &[]).expect("a new queue");
    (sch, q, rx)
}

/// Run `first`, and every job the decisions hand back, as a worker of `queue` would.
fn work(shared: &Arc<Shared>, queue: u32, first: Msg) {
    let mut next = match first {
        Msg::Run { task, job } => Some((task, job)),
        Msg::Exit => None,
    };
    while let Some((task, job)) = next.take() {
        next = shared.run_job(queue, task, job);
    }
}

/// Run, on a thread of the model, the job the channel holds now.
fn worker_thread(sch: &Scheduler, q: &Queue, rx: &Receiver<Msg>) -> thread::JoinHandle<()> {
    let shared = Arc::clone(sch.shared());
    let msg = rx.try_recv().expect("a job was started before the worker");
    let queue = q.index;
    thread::spawn(move || work(&shared, queue, msg))
}

/// Three threads: bounded to three preemptions.
#[test]
fn loom_readers_and_wait_are_woken_by_the_last_end() {
    crate::loom::model(Some(3), || {
        let (sch, q, rx) = scheduler(2);
        let a = q.submit((), |()| 1u8);
        let b = q.submit((), |()| 2u8);
        sch.start();
        let workers = [worker_thread(&sch, &q, &rx), worker_thread(&sch, &q, &rx)];
        assert_eq!(a.result(), Ok(&1));
        sch.wait();
        assert_eq!(b.try_result(), Some(Ok(&2)));
        for w in workers {
            w.join().expect("the worker does not panic");
        }
    });
}

/// The end of `a` starts `b` in the same decision: the count of running tasks is zero only
/// inside that decision, and the drained waiter must sleep through it (and wake after `b`).
#[test]
fn loom_a_drained_waiter_sleeps_through_an_end_that_starts_the_next_task() {
    loom::model(|| {
        let (sch, q, rx) = scheduler(1);
        let a = q.submit((), |()| 1u8);
        let b = q.submit(&a, |a: &u8| a + 1);
        sch.start();
        let worker = worker_thread(&sch, &q, &rx);
        sch.wait_drained();
        assert_eq!(b.try_result(), Some(Ok(&2)));
        worker.join().expect("the worker does not panic");
    });
}

/// A stop races with the end of the running task: after `wait_drained` nothing runs, and the
/// task the stop held back runs after the resume.
#[test]
fn loom_stop_and_resume_race_with_an_end() {
    loom::model(|| {
        let (sch, q, rx) = scheduler(1);
        let older = q.submit((), |()| 1u8);
        let newer = q.submit((), |()| 2u8);
        sch.start();
        let worker = worker_thread(&sch, &q, &rx);
        sch.stop();
        sch.wait_drained();
        assert_eq!(newer.try_result(), Some(Ok(&2)));
        let held_back = older.state() == Some(TaskState::Ready);
        assert!(held_back || older.try_result() == Some(Ok(&1)));
        worker.join().expect("the worker does not panic");
        sch.start();
        if held_back {
            let first = rx
                .try_recv()
                .expect("the resume started the held-back task");
            work(sch.shared(), q.index, first);
        }
        sch.wait();
        assert_eq!(older.try_result(), Some(Ok(&1)));
    });
}
