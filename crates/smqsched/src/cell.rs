//! Result storage shared by a task, its promises and its dependents.
//!
//! A cell is written once by the worker that runs the task (or by the scheduler when the task
//! fails without running) and read by any number of promise handles and dependent tasks.
//!
//! A value cell is a [`SetOnce`]: one byte of state beside the outcome, and readers that block
//! park on its address (the protocol is in the `once` module). So the writer of a task nobody
//! waits for pays one atomic swap, and a cell costs no mutex or condition variable.
//!
//! A stream cell keeps the plain form: every push takes the mutex and notifies; async readers
//! keep their wakers in the cell's state, under the same mutex, and every push or the end
//! takes and wakes them after unlocking (each reader registers again if it still waits).

use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use parking_lot::{Condvar, Mutex};

use crate::error::TaskError;
use crate::once::SetOnce;

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
}

impl<T> ValueCell<T> {
    pub(crate) fn new() -> Self {
        ValueCell {
            value: SetOnce::new(),
        }
    }

    /// Store the value, unless an outcome is stored already, and wake the readers.
    #[inline]
    pub(crate) fn set_value(&self, value: T) {
        let _ = self.value.set(Ok(value));
    }

    /// Store the error, unless an outcome is stored already, and wake the readers.
    pub(crate) fn set_error(&self, error: TaskError) {
        let _ = self.value.set(Err(Arc::new(error)));
    }

    pub(crate) fn get(&self) -> Option<&Outcome<T>> {
        self.value.get()
    }

    pub(crate) fn wait(&self) -> &Outcome<T> {
        loop {
            if let Some(v) = self.value.wait(None) {
                return v;
            }
        }
    }

    pub(crate) fn wait_timeout(&self, timeout: Duration) -> Option<&Outcome<T>> {
        match Instant::now().checked_add(timeout) {
            Some(deadline) => self.value.wait(Some(deadline)),
            None => Some(self.wait()),
        }
    }

    /// The outcome, or pending with the task's waker registered under `id`.
    pub(crate) fn poll(&self, cx: &mut Context<'_>, id: u64) -> Poll<&Outcome<T>> {
        self.value.poll(cx, id)
    }

    /// Forget registration `id` of an async reader that gave up.
    pub(crate) fn forget(&self, id: u64) {
        self.value.forget(id);
    }
}

impl<T: Send + Sync> Settle for ValueCell<T> {
    fn fail(&self, error: TaskError) {
        self.set_error(error);
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
    /// Async readers waiting for the next item or the end, by registration id.
    wakers: Vec<(u64, Waker)>,
}

/// Wake `wakers`, taken from the state under the lock, after unlocking.
fn wake_all(wakers: Vec<(u64, Waker)>) {
    for (_, w) in wakers {
        w.wake();
    }
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
                wakers: Vec::new(),
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
        let index = st.items.len() - 1;
        if !st.wakers.is_empty() {
            let wakers = std::mem::take(&mut st.wakers);
            drop(st);
            wake_all(wakers);
        }
        index
    }

    pub(crate) fn finish(&self, end: StreamEnd) {
        let mut st = self.state.lock();
        if st.end.is_none() {
            st.end = Some(end);
        }
        self.cv.notify_all();
        let wakers = std::mem::take(&mut st.wakers);
        drop(st);
        wake_all(wakers);
    }

    /// Register (or refresh) async reader `id`'s waker, under the lock held as `st`.
    fn register(st: &mut StreamState<T>, cx: &Context<'_>, id: u64) {
        match st.wakers.iter_mut().find(|(i, _)| *i == id) {
            Some((_, w)) => {
                if !w.will_wake(cx.waker()) {
                    w.clone_from(cx.waker());
                }
            }
            None => st.wakers.push((id, cx.waker().clone())),
        }
    }

    /// Item `index`, its absence, or pending with the task's waker registered under `id`.
    pub(crate) fn poll_item(&self, index: usize, cx: &Context<'_>, id: u64) -> ItemState<T> {
        let mut st = self.state.lock();
        let state = Self::item_state(&st, index);
        if let ItemState::NotYet = state {
            Self::register(&mut st, cx, id);
        }
        state
    }

    /// The end (`Ok(count)` or the failure), or pending with the task's waker registered.
    pub(crate) fn poll_end(&self, cx: &Context<'_>, id: u64) -> Poll<Result<usize, TaskError>> {
        let mut st = self.state.lock();
        match &st.end {
            Some(StreamEnd::Complete) => Poll::Ready(Ok(st.items.len())),
            Some(StreamEnd::Failed(e)) => Poll::Ready(Err(e.clone())),
            None => {
                Self::register(&mut st, cx, id);
                Poll::Pending
            }
        }
    }

    /// Forget async reader `id`, which gave up.
    pub(crate) fn forget(&self, id: u64) {
        let mut st = self.state.lock();
        st.wakers.retain(|(i, _)| *i != id);
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
