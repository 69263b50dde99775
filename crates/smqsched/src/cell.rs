//! Result storage shared by a task, its promises and its dependents.
//!
//! A cell is written once by the worker that runs the task (or by the scheduler when the task
//! fails without running) and read by any number of promise handles and dependent tasks.
//!
//! Protocol of a value cell, which is written once per task and so keeps its writer cheap:
//! 1. The writer stores the outcome, issues a `SeqCst` fence, and reads `waiters`. Only if it
//!    is not zero does it take the cell's mutex and notify the condvar.
//! 2. A blocking reader that finds no outcome increments `waiters`, issues a `SeqCst` fence,
//!    then checks for the outcome under the mutex and waits on the condvar while there is
//!    none. It decrements `waiters` when it leaves.
//!
//! Invariant: a reader never sleeps through the store. The two fences are ordered one way or
//! the other: if the writer's comes first, the reader's check sees the outcome; if the
//! reader's comes first, the writer sees `waiters > 0` and notifies under the mutex, which the
//! reader holds from its check until it waits.
//!
//! A stream cell keeps the plain form: every push takes the mutex and notifies.

use std::sync::atomic::{AtomicU32, Ordering, fence};
use std::sync::{Arc, OnceLock};

use crate::once::SetOnce;
use std::time::{Duration, Instant};

use parking_lot::{Condvar, Mutex};

use crate::error::TaskError;

/// Type-erased writer side used by the scheduler to fail a task that never runs.
pub(crate) trait Settle: Send + Sync {
    /// Store `error` as the task's outcome (a no-op if an outcome is stored already).
    fn fail(&self, error: TaskError);
}

/// What a value cell stores: the value, or the error shared behind an `Arc`, so that the cell
/// of a small value stays small.
pub(crate) type Outcome<T> = Result<T, Arc<TaskError>>;

/// The result of an ordinary task.
pub(crate) struct ValueCell<T> {
    value: SetOnce<Outcome<T>>,
    /// Readers blocked, or about to block, on `cv`.
    waiters: AtomicU32,
    lock: Mutex<()>,
    cv: Condvar,
}

impl<T> ValueCell<T> {
    pub(crate) fn new() -> Self {
        ValueCell {
            value: SetOnce::new(),
            waiters: AtomicU32::new(0),
            lock: Mutex::new(()),
            cv: Condvar::new(),
        }
    }

    pub(crate) fn set(&self, outcome: Result<T, TaskError>) {
        // Step 1: store, fence, and notify under the mutex only if a reader may be waiting.
        let _ = self.value.set(outcome.map_err(Arc::new));
        fence(Ordering::SeqCst);
        if self.waiters.load(Ordering::Relaxed) != 0 {
            let _guard = self.lock.lock();
            self.cv.notify_all();
        }
    }

    /// Step 2's registration: count this reader as a waiter until the guard drops.
    fn register(&self) -> Waiting<'_> {
        self.waiters.fetch_add(1, Ordering::Relaxed);
        fence(Ordering::SeqCst);
        Waiting(&self.waiters)
    }

    pub(crate) fn get(&self) -> Option<&Outcome<T>> {
        self.value.get()
    }

    pub(crate) fn wait(&self) -> &Outcome<T> {
        if let Some(v) = self.value.get() {
            return v;
        }
        let _waiting = self.register();
        let mut guard = self.lock.lock();
        loop {
            // Step 2: check under the mutex, wait while empty.
            if let Some(v) = self.value.get() {
                return v;
            }
            self.cv.wait(&mut guard);
        }
    }

    pub(crate) fn wait_timeout(&self, timeout: Duration) -> Option<&Outcome<T>> {
        if let Some(v) = self.value.get() {
            return Some(v);
        }
        let deadline = Instant::now().checked_add(timeout);
        let _waiting = self.register();
        let mut guard = self.lock.lock();
        loop {
            if let Some(v) = self.value.get() {
                return Some(v);
            }
            match deadline {
                Some(d) => {
                    if self.cv.wait_until(&mut guard, d).timed_out() {
                        return self.value.get();
                    }
                }
                None => self.cv.wait(&mut guard),
            }
        }
    }
}

/// A reader counted in a value cell's `waiters`; uncounted when dropped.
struct Waiting<'a>(&'a AtomicU32);

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

impl<T: Send + Sync> Settle for ValueCell<T> {
    fn fail(&self, error: TaskError) {
        self.set(Err(error));
    }
}

/// How a progressive producer ended.
pub(crate) enum StreamEnd {
    /// It returned normally after producing every item it had.
    Complete,
    /// It failed; items produced before the failure stay readable.
    Failed(TaskError),
}

struct StreamState<T> {
    items: Vec<Arc<T>>,
    end: Option<StreamEnd>,
}

/// The items of a progressive producer.
pub(crate) struct StreamCell<T> {
    state: Mutex<StreamState<T>>,
    cv: Condvar,
    /// Snapshot of all items, taken once for dependents of the whole stream.
    all: OnceLock<Vec<Arc<T>>>,
}

/// What a reader of one item finds.
pub(crate) enum ItemState<T> {
    Ready(Arc<T>),
    /// The producer completed with this many items, fewer than asked for.
    Past(usize),
    Failed(TaskError),
    NotYet,
}

impl<T> StreamCell<T> {
    pub(crate) fn new() -> Self {
        StreamCell {
            state: Mutex::new(StreamState {
                items: Vec::new(),
                end: None,
            }),
            cv: Condvar::new(),
            all: OnceLock::new(),
        }
    }

    /// Append an item; returns its index.
    pub(crate) fn push(&self, item: T) -> usize {
        let mut st = self.state.lock();
        st.items.push(Arc::new(item));
        self.cv.notify_all();
        st.items.len() - 1
    }

    pub(crate) fn finish(&self, end: StreamEnd) {
        let mut st = self.state.lock();
        if st.end.is_none() {
            st.end = Some(end);
        }
        self.cv.notify_all();
    }

    pub(crate) fn len(&self) -> usize {
        self.state.lock().items.len()
    }

    fn item_state(st: &StreamState<T>, index: usize) -> ItemState<T> {
        if let Some(item) = st.items.get(index) {
            return ItemState::Ready(Arc::clone(item));
        }
        match &st.end {
            Some(StreamEnd::Complete) => ItemState::Past(st.items.len()),
            Some(StreamEnd::Failed(e)) => ItemState::Failed(e.clone()),
            None => ItemState::NotYet,
        }
    }

    pub(crate) fn try_item(&self, index: usize) -> ItemState<T> {
        Self::item_state(&self.state.lock(), index)
    }

    pub(crate) fn wait_item(&self, index: usize, timeout: Option<Duration>) -> ItemState<T> {
        let deadline = timeout.and_then(|t| Instant::now().checked_add(t));
        let mut st = self.state.lock();
        loop {
            match Self::item_state(&st, index) {
                ItemState::NotYet => {}
                other => return other,
            }
            match (timeout, deadline) {
                (Some(_), Some(d)) => {
                    if self.cv.wait_until(&mut st, d).timed_out() {
                        return Self::item_state(&st, index);
                    }
                }
                _ => self.cv.wait(&mut st),
            }
        }
    }

    /// Wait for the end; `Ok(count)` or the failure.
    pub(crate) fn wait_end(&self, timeout: Option<Duration>) -> Option<Result<usize, TaskError>> {
        let deadline = timeout.and_then(|t| Instant::now().checked_add(t));
        let mut st = self.state.lock();
        loop {
            match &st.end {
                Some(StreamEnd::Complete) => return Some(Ok(st.items.len())),
                Some(StreamEnd::Failed(e)) => return Some(Err(e.clone())),
                None => {}
            }
            match (timeout, deadline) {
                (Some(_), Some(d)) => {
                    if self.cv.wait_until(&mut st, d).timed_out() {
                        return None;
                    }
                }
                _ => self.cv.wait(&mut st),
            }
        }
    }

    /// All items, once the producer has completed. Used by dependents of the whole stream,
    /// which run only after completion.
    pub(crate) fn all(&self) -> &[Arc<T>] {
        self.all.get_or_init(|| self.state.lock().items.clone())
    }
}

impl<T: Send + Sync> Settle for StreamCell<T> {
    fn fail(&self, error: TaskError) {
        self.finish(StreamEnd::Failed(error));
    }
}
