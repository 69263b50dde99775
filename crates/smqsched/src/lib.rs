//! # smqsched — a multi-queue DAG scheduler, newest results first
//!
//! Submit tasks to queues; each submission returns a promise at once. A promise passed as an
//! input of a later task is a dependency, so existing sequential code becomes a parallel DAG
//! without restructuring. The scheduler pulls the most recently submitted tasks through
//! their dependencies, so final results start arriving almost at once instead of after all
//! the upstream work.
//!
//! ## A first script
//!
//! ```
//! use smqsched::Scheduler;
//!
//! let sch = Scheduler::new();
//! let camera = sch.queue("camera", 1).unwrap(); // one instrument: one slot
//! let compute = sch.queue("compute", 2).unwrap(); // n slots for processing
//!
//! let mut spectra = Vec::new();
//! for i in 0..10 {
//!     let frame = camera.submit((), move |()| vec![i as f64; 1024]);
//!     spectra.push(compute.submit(&frame, |f: &Vec<f64>| f.iter().sum::<f64>()));
//! }
//! let total = compute.submit(&spectra, |s: Vec<&f64>| s.into_iter().sum::<f64>());
//!
//! sch.start();
//! assert_eq!(*total.result().unwrap(), 1024.0 * 45.0);
//! ```
//!
//! ## The pieces
//!
//! * [`Scheduler`]: creates [`Queue`]s, starts, stops, waits, reports [`Event`]s and
//!   [`Snapshot`]s.
//! * [`Queue`]: `submit` (a value), `submit_result` (a value or an error), `submit_iter` and
//!   `submit_stream` (progressive producers, returning a [`Stream`] whose
//!   [`item(i)`](Stream::item) is a promise usable before the producer starts).
//!   [`Queue::task`] gives a [`TaskBuilder`] for labels, ordering-only inputs
//!   ([`after`](TaskBuilder::after)), [`hold`](TaskBuilder::hold) /
//!   [`releases`](TaskBuilder::releases), and [resources](TaskBuilder::requires).
//! * Inputs: a promise, an item, a stream, a `Vec` or slice of them (fan-in), or a tuple of
//!   up to eight; the body gets `&T` (or `Vec<&T>`), never a copy. Plain values are captured
//!   by the closure. See [`IntoInputs`].
//! * Async code: `promise.await` (a copy of the value) or `(&promise).await` (a
//!   reference), `item.await`, `stream.await` (every item), and [`Stream::items`] (a
//!   [`futures_core::Stream`] of the items as they come), on any runtime, without blocking a
//!   runtime thread; see [`ResultFuture`].
//!
//! ## The order rule
//!
//! Whenever a queue has a free slot, the scheduler behaves as if it walked the unfinished
//! tasks from newest to oldest, went depth-first through each one's inputs in argument order
//! (never into a started task), and started the first task it met that has not started, has
//! all its inputs available and whose queue can take it. This is the rule of the original
//! Python smqsched, reproduced exactly (the crate's tests replay its recorded orders); the
//! implementation computes it incrementally, as `src/core/mod.rs` describes.
//!
//! ### Queues in submission order
//!
//! An instrument whose operator expects the plan's order (the stage goes to 0, 1, 2...)
//! gets a queue created with [`Scheduler::queue_ordered`] and [`StartOrder::Submission`]:
//! its tasks start in the order they were submitted to it; a task starts only once every
//! task submitted to the same queue before it has started or ended without running
//! (cancelled, or an input failed). Its inputs and held slots still hold, and every other
//! queue keeps the newest first. For the rule above, each task of such a queue has one more
//! input, walked before its own: the newest task of its queue submitted before it that has
//! not started, available as soon as that one starts. So the walk goes down the queue to its
//! oldest task first and pulls that task's upstream work, on any queue, before newer work
//! (`src/core/order.rs` gives the protocol). The mode is shown in
//! [`QueueSnapshot::order`].
//!
//! ```
//! use std::sync::{Arc, Mutex};
//! use smqsched::{Scheduler, StartOrder};
//!
//! let sch = Scheduler::new();
//! let stage = sch.queue_ordered("stage", 1, StartOrder::Submission).unwrap();
//! let compute = sch.queue("compute", 1).unwrap();
//! let log = Arc::new(Mutex::new(Vec::new()));
//! for i in 0..4 {
//!     let (l1, l2) = (Arc::clone(&log), Arc::clone(&log));
//!     let frame = stage.submit((), move |()| {
//!         l1.lock().unwrap().push(format!("acquire {i}"));
//!         i
//!     });
//!     compute.submit(&frame, move |f: &i32| l2.lock().unwrap().push(format!("process {f}")));
//! }
//! sch.start();
//! sch.wait();
//! let log = log.lock().unwrap();
//! let acquired: Vec<&String> = log.iter().filter(|e| e.starts_with("acquire")).collect();
//! assert_eq!(acquired, ["acquire 0", "acquire 1", "acquire 2", "acquire 3"]);
//! ```
//!
//! ## Failures stay local
//!
//! A task that panics or returns an error fails its own promise with that message; its
//! dependents fail without running, with an error naming the failed input
//! ([`TaskError::DependencyFailed`]); everything else carries on and no worker is lost. A
//! progressive producer that fails keeps the items it produced.
//! A body submitted with [`TaskBuilder::submit_fallible`] keeps its error as a value
//! ([`TaskError::FailedWith`]), which the caller gets back with its type
//! ([`TaskError::downcast_ref`]) to decide what to do: retry after a timeout, reconnect after
//! a disconnection. The error of a failed input reaches its dependents as text.
//!
//! A panic in the `Drop` of a value is a failure of the task whose end dropped it, reported
//! once like any other: a result that no handle holds any more is dropped by the worker
//! right after its task ran, and its panic fails that task; a task that held the last handle
//! to an input drops it at the end of its run, and the panic fails that task (after the
//! body's own panic, if it panicked too, so that nothing panics during an unwinding). When
//! the scheduler abandons a task that will not run (cancelled, or an input failed) and so
//! drops the inputs it captured, such a panic is caught and left to the panic hook: the task
//! already reports why it did not run, and whoever cancelled it is not hit by the panic.
//!
//! ## How it is checked
//!
//! * **The order rule.** A model check (`src/core/tests.rs`) drives the core through random
//!   graphs over several queues, newest first or in submission order (items, ordering-only
//!   inputs, held slots, resources, failures, cancellations) and compares every decision with a literal implementation of
//!   the rule. `tests/order.rs` replays the orders the Python original recorded.
//! * **The concurrency protocols, with `loom`.** The write-once cells, the body taken by one
//!   swap, readers parked on a cell's address, and the waiters of `wait` and `wait_drained`
//!   against completions, stops and resumes: every interleaving (up to three preemptions
//!   for the tests of three threads), about 20 s once built:
//!   `RUSTFLAGS="--cfg loom" cargo test -p smqsched --lib loom` (see `src/loom`).
//! * **The unsafe code, with Miri.** `cargo +nightly miri test -p smqsched --lib -- --skip
//!   a_million --skip decisions_match --skip soak` runs the unit tests of `src/once.rs` (the
//!   crate's only `unsafe` code) and of the core without a report (Miri of nightly
//!   2026-10-29, about 4 minutes; the tests skipped are too large for the interpreter, and
//!   the soak runs the whole scheduler). The tests of the whole scheduler do not get through
//!   Miri: where they contend for the scheduler's lock,
//!   `parking_lot` 0.12 parks through `parking_lot_core` 0.9.12, whose futex call Miri
//!   reports ("incorrect c-variadic argument type for `syscall(SYS_futex, ...)`: expected
//!   argument #2 to have type `*mut u32` but got incompatible type
//!   `&std::sync::atomic::Atomic<i32>`"). That call is fixed in `parking_lot_core` 0.10,
//!   which the cells already use; `parking_lot` 0.13 brings it to the lock.
//! * **Under stress.** A seeded soak (`src/core/tests/soak.rs`) submits from 8 threads to 5
//!   queues (one in submission order) while other threads stop and resume the scheduler 1,000 times, cancel tasks and
//!   take snapshots; it then replays the core's trace through the same literal rule and
//!   accounts for every task, value, event and worker:
//!   `cargo test -p smqsched --lib soak -- --ignored --nocapture` (`SMQ_SOAK_SEED` repeats a
//!   run's choices).
//! * **Panics** in bodies, in producers after some items and in the `Drop` of results:
//!   `tests/panics.rs`.
//!
//! ## Why these dependencies
//!
//! * `crossbeam-channel`: the job channels to the worker threads and the event subscriptions
//!   (a `Receiver` a dashboard can `select!` on).
//! * `parking_lot`: a small, fast mutex and condvar without lock poisoning, so a panicking
//!   task can never poison the scheduler.
//! * `parking_lot_core`: the parking lot under `parking_lot`, used directly so that a blocked
//!   `Promise::result` parks on the result cell's address: a cell is one byte of state
//!   beside the value, with no mutex or condition variable of its own. Version 0.10, whose
//!   futex call Miri accepts.
//! * `loom` (tests only, with `--cfg loom`): the model checker of the concurrency protocols.
//! * `futures-core`: the `Stream` trait every async runtime and combinator library uses, and
//!   nothing else (no dependencies of its own), for [`Stream::items`].
//! * `smallvec`: most tasks have at most four inputs; collecting their edges inline saves an
//!   allocation per submission.
//! * `quanta`: every task is stamped when submitted and when it finishes (for events,
//!   snapshots and the dashboard). `quanta` reads the CPU's time-stamp counter where it is
//!   reliable, at about a third of the cost of `Instant::now` on the reference machine
//!   (13 ns against 40 ns), and falls back to the OS clock elsewhere. It calibrates the
//!   counter once per process, when the first scheduler is created: about 1 ms here, and
//!   never more than 200 ms.

mod builder;
mod cell;
mod core;
mod error;
mod event;
mod future;
mod input;
mod loom;
mod once;
mod promise;
mod scheduler;
mod task;
mod wakers;

pub use crate::builder::{Dependency, Emitter, TaskBuilder};
pub use crate::error::{
    BodyError, CancelError, QueueError, SubmitError, TaskError, TaskRef, Timeout,
};
pub use crate::event::{
    Event, EventKind, QueueSnapshot, Snapshot, StartOrder, TaskSnapshot, TaskState,
};
pub use crate::future::{ItemFuture, Items, ResultFuture, StreamFuture, ValueFuture};
pub use crate::input::{Input, IntoInputs};
pub use crate::promise::{Item, Promise, Stream};
pub use crate::scheduler::{MAX_SLOTS, Queue, Scheduler};
pub use crate::task::{Dep, TaskId};

/// Re-exported so that users can `select!` over event receivers without naming the crate.
pub use crossbeam_channel;
