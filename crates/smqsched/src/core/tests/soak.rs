//! The soak: the real scheduler under a storm from many threads at once; then every start it
//! decided is checked against the model of the order rule (`super::Model`), replayed from the
//! core's trace, and every task, result and worker is accounted for.
//!
//! * 8 threads submit tasks to 5 queues, one of them in submission order: value tasks and progressive producers, whose inputs
//!   (whole results and items) are picked at random among earlier tasks of every thread, with
//!   options (labels, ordering-only inputs of both kinds, hold and release, a resource). Some
//!   bodies return an error or panic; some producers fail after some of their items.
//! * A thread stops and resumes the scheduler, paced by the submissions, `cycles` times,
//!   sometimes waiting while stopped for the running tasks to drain.
//! * A thread cancels tasks picked at random among the newest.
//! * A thread takes snapshots and checks that each is consistent and that no task went back.
//!
//! Then: every task ran at most once, and exactly once unless it was cancelled or an input
//! failed; every promise, stream and item resolved, and every value is what its inputs give;
//! each task had one submission event, at most one start and one end; no worker thread was
//! lost (every slot of every queue runs a task at the same moment); and the model, replayed
//! through the trace, starts the same tasks in the same order after every step and cancels
//! as many tasks as each cancellation did.
//!
//! Seeded: `SMQ_SOAK_SEED` sets the seed, printed first, so that the random choices repeat
//! (the threads' timing does not, and the checks must hold for every timing).
//! `SMQ_SOAK_TASKS` sets the tasks per submitting thread and `SMQ_SOAK_CYCLES` the
//! stop/resume cycles. `soak_briefly` runs with every `cargo test`; the full `soak` is
//! ignored by default and run by `.ci/run`:
//!
//! ```sh
//! cargo test -p smqsched --lib soak -- --ignored --nocapture
//! ```

use std::collections::{HashMap, VecDeque};
use std::panic;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex, Once};
use std::thread;
use std::time::Duration;

use crossbeam_channel::{Receiver, Sender, bounded, unbounded};

use super::{MState, MTask, Model};
use check::{check_events, check_outcomes, check_snapshot, every_worker_answers, replay};

mod check;
use crate::core::Traced;
use crate::{
    CancelError, Event, EventKind, Promise, Queue, Scheduler, Snapshot, StartOrder, Stream,
    TaskError, TaskId, TaskState,
};

const SUBMITTERS: usize = 8;
/// The queues' slots.
const SLOTS: [usize; 5] = [1, 2, 1, 3, 2];
/// The queue in submission order (`StartOrder::Submission`); the others are newest first.
/// Its holders' releasers, submitted after them by the same thread, often come after
/// another thread's task that needs the held slot: they run in the held slot, out of turn.
const ORDERED_QUEUE: usize = 4;
/// The queue with a resource, `probe`, of `PROBE_UNITS` units.
const PROBE_QUEUE: usize = 3;
const PROBE_UNITS: u32 = 2;
/// Long enough never to run out on a machine that works: a hang fails the test instead of
/// stalling it.
const PATIENCE: Duration = Duration::from_secs(300);
/// The panics and errors of the bodies start with this; such panics are kept out of the
/// test's output.
const EXPECTED: &str = "soak: ";

#[test]
fn soak_briefly() {
    run(env_or("SMQ_SOAK_TASKS", 40), env_or("SMQ_SOAK_CYCLES", 40));
}

#[test]
#[ignore = "about a minute: run by .ci/run, or with --ignored"]
fn soak() {
    run(
        env_or("SMQ_SOAK_TASKS", 500),
        env_or("SMQ_SOAK_CYCLES", 1000),
    );
}

fn env_or(name: &str, default: usize) -> usize {
    match std::env::var(name) {
        Ok(v) => v
            .parse()
            .unwrap_or_else(|_| panic!("{name}={v} is not a number")),
        Err(_) => default,
    }
}

/// SplitMix64: small, and the same sequence for the same seed everywhere.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn percent(&mut self, p: u64) -> bool {
        self.next() % 100 < p
    }
}

/// How a body ends.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Fate {
    Ok,
    Error,
    Panic,
}

/// An earlier task, for inputs of later ones.
#[derive(Clone)]
enum Handle {
    Value(Promise<u64>),
    /// A progressive producer, the items it emits if it does not fail, and whether it
    /// declared that count.
    Items(Stream<u64>, u32, bool),
}

impl Handle {
    fn id(&self) -> usize {
        match self {
            Handle::Value(p) => p.id().0 as usize,
            Handle::Items(s, ..) => s.id().0 as usize,
        }
    }
}

/// What a task's outcome is read from.
enum Outcome {
    Value(Promise<u64>),
    Items(Stream<u64>),
}

/// One submitted task.
struct Record {
    /// The task as the model sees it.
    task: MTask,
    /// Its own number: its value is this plus its value inputs' values; item `j` of a
    /// producer is that plus `j`.
    base: u64,
    /// Its value inputs, in argument order.
    values: Vec<(usize, Option<u32>)>,
    fate: Fate,
    /// The items a producer emits before its fate.
    emits: u32,
    runs: Arc<AtomicU32>,
    outcome: Outcome,
}

/// What the submitting threads share.
struct Storm {
    queues: Vec<Queue>,
    pool: Mutex<Vec<Handle>>,
    records: Mutex<HashMap<usize, Record>>,
}

fn run(tasks_per_thread: usize, cycles: usize) {
    let seed = match std::env::var("SMQ_SOAK_SEED") {
        Ok(v) => v.parse().expect("SMQ_SOAK_SEED is a number"),
        Err(_) => std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(1, |d| d.as_nanos() as u64),
    };
    println!(
        "soak: seed {seed} (SMQ_SOAK_SEED={seed} repeats its choices), {SUBMITTERS} x \
         {tasks_per_thread} submissions, {cycles} stop/resume cycles"
    );
    quiet_expected_panics();

    let sch = Scheduler::new();
    let queues: Vec<Queue> = SLOTS
        .iter()
        .enumerate()
        .map(|(i, &slots)| {
            let resources: &[(&str, u32)] = if i == PROBE_QUEUE {
                &[("probe", PROBE_UNITS)]
            } else {
                &[]
            };
            if i == ORDERED_QUEUE {
                sch.queue_ordered(&format!("q{i}"), slots, StartOrder::Submission)
                    .expect("a new queue")
            } else {
                sch.queue_with_resources(&format!("q{i}"), slots, resources)
                    .expect("a new queue")
            }
        })
        .collect();
    let events = sch.subscribe();
    sch.with_core(|c| c.trace = Some(Vec::new()));
    sch.start();

    let storm = Storm {
        queues,
        pool: Mutex::new(Vec::new()),
        records: Mutex::new(HashMap::new()),
    };
    let total = SUBMITTERS * tasks_per_thread;
    let (control_tx, control_rx) = unbounded();
    let (cancel_tx, cancel_rx) = unbounded();
    let (observe_tx, observe_rx) = unbounded();
    let (cancels, snapshots) = thread::scope(|s| {
        for k in 0..SUBMITTERS {
            let ticks = [control_tx.clone(), cancel_tx.clone(), observe_tx.clone()];
            let (storm, rng) = (&storm, Rng(seed ^ (k as u64 + 1).wrapping_mul(0x2545_f491)));
            s.spawn(move || submitter(storm, rng, tasks_per_thread, &ticks));
        }
        drop((control_tx, cancel_tx, observe_tx));
        let sch = &sch;
        let per_cycle = total.div_ceil(cycles.max(1));
        s.spawn(move || controller(sch, Rng(seed ^ 0xc0), control_rx, cycles, per_cycle));
        let cancels = s.spawn(move || canceller(sch, Rng(seed ^ 0xca), cancel_rx));
        let snapshots = s.spawn(move || observer(sch, observe_rx));
        (
            cancels.join().expect("the canceller does not panic"),
            snapshots.join().expect("the observer does not panic"),
        )
    });
    assert_eq!(
        sch.wait_timeout(PATIENCE),
        Ok(()),
        "seed {seed}: the graph did not end"
    );
    let trace = sch.with_core(|c| c.trace.take()).expect("the trace was on");
    let records = storm
        .records
        .into_inner()
        .expect("no submitter panicked holding the records");

    let starts = replay(&trace, &records, &cancels, seed);
    let ended = sch.queues().iter().fold([0; 2], |[done, failed], q| {
        [done + q.done, failed + q.failed]
    });
    check_outcomes(&sch, &records, seed);
    for q in sch.queues() {
        assert_eq!(
            (q.in_use, q.held, q.running),
            (0, 0, 0),
            "seed {seed}: {q:?}"
        );
    }
    assert_eq!(
        sch.live_workers(),
        SLOTS.iter().sum::<usize>(),
        "seed {seed}"
    );
    every_worker_answers(&storm.queues, seed);
    sch.wait();
    check_events(&events, cycles, seed);
    println!(
        "soak: {} tasks ({} done, {} failed or cancelled), {starts} starts checked against \
         the model, {} cancellations, {snapshots} snapshots",
        records.len(),
        ended[0],
        ended[1],
        cancels.len(),
    );
}

/// Keep the bodies' expected panics out of the output; every other panic is reported as
/// before.
fn quiet_expected_panics() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let report = panic::take_hook();
        panic::set_hook(Box::new(move |info| {
            let payload = info.payload();
            let text = payload
                .downcast_ref::<String>()
                .map(String::as_str)
                .or_else(|| payload.downcast_ref::<&str>().copied())
                .unwrap_or("");
            if !text.starts_with(EXPECTED) {
                report(info);
            }
        }));
    });
}

fn submitter(storm: &Storm, mut rng: Rng, tasks: usize, ticks: &[Sender<()>]) {
    for _ in 0..tasks {
        let (handle, holds) = submit(storm, &mut rng, None);
        if let (Handle::Value(holder), true) = (&handle, holds) {
            // A holder gets its releaser at once: on the same queue, so that the releaser
            // runs in the held slot, and with no other input, so that the storm's graph
            // cannot wait on a slot its own holder keeps.
            submit(storm, &mut rng, Some(holder));
        }
        for t in ticks {
            let _ = t.send(());
        }
    }
}

/// Submit one task with random inputs and options, or, if `releases`, the releaser of that
/// holder, with no other input; returns it and whether it holds its slot.
fn submit(storm: &Storm, rng: &mut Rng, releases: Option<&Promise<u64>>) -> (Handle, bool) {
    let picks: Vec<Handle> = {
        let pool = storm.pool.lock().expect("no submitter panicked");
        let n = if pool.is_empty() || releases.is_some() {
            0
        } else {
            [0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3][rng.below(20)]
        };
        (0..n)
            .map(|_| {
                // Mostly recent tasks, so that chains and fan-ins form.
                let back = if rng.percent(85) {
                    rng.below(pool.len().min(16))
                } else {
                    rng.below(pool.len())
                };
                pool[pool.len() - 1 - back].clone()
            })
            .collect()
    };
    let q = match releases {
        Some(h) => queue_of(storm, h),
        None => rng.below(SLOTS.len()),
    };
    let mut b = storm.queues[q].task();
    if rng.percent(50) {
        b = b.label(format!("t{}", rng.below(4)));
    }
    let (mut promises, mut items, mut values) = (Vec::new(), Vec::new(), Vec::new());
    for h in &picks {
        match h {
            Handle::Value(p) => promises.push(p.clone()),
            Handle::Items(s, n, declared) => {
                // An undeclared producer may be asked for an item past its last.
                let i = if !declared && rng.percent(2) {
                    *n
                } else {
                    rng.below(*n as usize) as u32
                };
                items.push(s.item(i as usize));
            }
        }
    }
    values.extend(promises.iter().map(|p| (p.id().0 as usize, None)));
    values.extend(
        items
            .iter()
            .map(|i| (i.producer().0 as usize, Some(i.index() as u32))),
    );
    let mut deps = values.clone();
    let mut settled = Vec::new();
    if let Some(h) = picks.first() {
        if rng.percent(20) {
            b = match h {
                Handle::Value(p) => b.after(p),
                Handle::Items(s, ..) => b.after(s),
            };
            deps.push((h.id(), None));
        } else if rng.percent(20) {
            b = match h {
                Handle::Value(p) => b.after_settled(p),
                Handle::Items(s, ..) => b.after_settled(s),
            };
            settled.push(h.id());
        }
    }
    let hold = releases.is_none() && rng.percent(5);
    if hold {
        b = b.hold();
    }
    if let Some(h) = releases {
        b = b.releases(h);
        deps.push((h.id().0 as usize, None));
    }
    let mut requires = Vec::new();
    if q == PROBE_QUEUE && rng.percent(50) {
        let units = 1 + rng.below(PROBE_UNITS as usize) as u32;
        b = b.requires("probe", units);
        requires.push((0, units));
    }
    // Failures spread to every task downstream: keep them rare, so that most of the graph
    // runs.
    let fate = match rng.below(400) {
        0 => Fate::Error,
        1 => Fate::Panic,
        _ => Fate::Ok,
    };
    let base = rng.next();
    let runs = Arc::new(AtomicU32::new(0));
    let ran = Arc::clone(&runs);
    let producer = !hold && releases.is_none() && rng.percent(20);
    let (handle, outcome, emits) = if producer {
        let n = 1 + rng.below(4) as u32;
        let declared = rng.percent(50);
        if declared {
            b = b.items(n as usize);
        }
        let emits = if fate == Fate::Ok {
            n
        } else {
            rng.below(n as usize + 1) as u32
        };
        let stream = b
            .submit_stream(
                (promises, items),
                move |(ps, is): (Vec<&u64>, Vec<&u64>), out| {
                    ran.fetch_add(1, Ordering::SeqCst);
                    let sum = add(base, ps.into_iter().chain(is));
                    for j in 0..emits {
                        out.emit(sum.wrapping_add(u64::from(j)));
                    }
                    end(fate, ())
                },
            )
            .expect("a valid submission");
        (
            Handle::Items(stream.clone(), n, declared),
            Outcome::Items(stream),
            emits,
        )
    } else {
        let promise = b
            .submit_result(
                (promises, items),
                move |(ps, is): (Vec<&u64>, Vec<&u64>)| {
                    ran.fetch_add(1, Ordering::SeqCst);
                    end(fate, add(base, ps.into_iter().chain(is)))
                },
            )
            .expect("a valid submission");
        (Handle::Value(promise.clone()), Outcome::Value(promise), 0)
    };
    let mut task = MTask::new(q, deps, settled);
    task.hold = hold;
    task.releases = releases.map(|h| h.id().0 as usize);
    task.requires = requires;
    let record = Record {
        task,
        base,
        values,
        fate,
        emits,
        runs,
        outcome,
    };
    let id = handle.id();
    let mut records = storm.records.lock().expect("no submitter panicked");
    records.insert(id, record);
    drop(records);
    if releases.is_none() {
        storm
            .pool
            .lock()
            .expect("no submitter panicked")
            .push(handle.clone());
    }
    (handle, hold)
}

/// The queue of the task of `p`, as recorded.
fn queue_of(storm: &Storm, p: &Promise<u64>) -> usize {
    let records = storm.records.lock().expect("no submitter panicked");
    records[&(p.id().0 as usize)].task.queue
}

fn add<'a>(base: u64, inputs: impl Iterator<Item = &'a u64>) -> u64 {
    inputs.fold(base, |sum, x| sum.wrapping_add(*x))
}

/// How a body ends, by its fate.
fn end<T>(fate: Fate, value: T) -> Result<T, String> {
    match fate {
        Fate::Ok => Ok(value),
        Fate::Error => Err(format!("{EXPECTED}refused")),
        Fate::Panic => panic!("{EXPECTED}panicked"),
    }
}

/// Stop and resume `cycles` times, one cycle per `per_cycle` submissions while there are
/// submissions, then back to back; now and then wait, stopped, for the running tasks to end.
fn controller(sch: &Scheduler, mut rng: Rng, ticks: Receiver<()>, cycles: usize, per_cycle: usize) {
    for _ in 0..cycles {
        for _ in 0..per_cycle {
            if ticks.recv().is_err() {
                break;
            }
        }
        sch.stop();
        if rng.percent(10) {
            assert_eq!(sch.wait_drained_timeout(PATIENCE), Ok(()));
            assert!(sch.queues().iter().all(|q| q.running == 0));
        }
        sch.start();
    }
}

/// Cancel one of the newest tasks every few submissions; returns the cancellations that
/// took, with how many tasks each cancelled.
fn canceller(sch: &Scheduler, mut rng: Rng, ticks: Receiver<()>) -> HashMap<usize, usize> {
    let mut cancelled = HashMap::new();
    for (i, ()) in ticks.iter().enumerate() {
        if i % 48 != 0 {
            continue;
        }
        let n = sch.task_count();
        if n == 0 {
            continue;
        }
        let t = n - 1 - rng.below(n.min(32));
        match sch.cancel(TaskId(t as u64)) {
            Ok(count) => {
                cancelled.insert(t, count);
            }
            Err(CancelError::Started(_) | CancelError::Finished(_)) => {}
            Err(e) => panic!("cancelling task {t}: {e}"),
        }
    }
    cancelled
}

/// Take a snapshot every few submissions and once at the end; check each. Returns how many
/// were taken.
fn observer(sch: &Scheduler, ticks: Receiver<()>) -> usize {
    let mut snap = Snapshot::new();
    let mut before: Vec<TaskState> = Vec::new();
    let mut taken = 0;
    loop {
        let mut more = true;
        for _ in 0..8 {
            more = ticks.recv().is_ok();
            if !more {
                break;
            }
        }
        sch.snapshot_into(&mut snap);
        taken += 1;
        check_snapshot(&snap, &before);
        before.clear();
        before.extend(snap.tasks.iter().map(|t| t.state));
        if !more {
            return taken;
        }
    }
}
