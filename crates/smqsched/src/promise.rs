//! Promises: handles to results that may not exist yet.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use crate::cell::{ItemState, Outcome, StreamCell, ValueCell};
use crate::error::{CancelError, SubmitError, TaskError, TaskRef};
use crate::event::TaskState;
use crate::scheduler::Shared;
use crate::task::{HoldsCell, TaskId};

/// Which scheduler a handle belongs to: its id only, so that creating and dropping tasks
/// touches no count shared by all of them. The rare calls that need the scheduler itself
/// ([`Promise::cancel`], [`Promise::state`]) find it by id.
#[derive(Clone)]
pub(crate) struct Owner {
    pub(crate) sched: u64,
}

impl Owner {
    fn cancel(&self, id: TaskId) -> Result<usize, CancelError> {
        match Shared::find(self.sched) {
            Some(shared) => shared.cancel(id),
            None => Err(CancelError::Finished(id)),
        }
    }

    fn state(&self, id: TaskId) -> Option<TaskState> {
        Shared::find(self.sched).and_then(|s| s.task_state(id))
    }
}

/// The future result of an ordinary task, returned at once by
/// [`Queue::submit`](crate::Queue::submit).
///
/// Pass a promise (or a reference to one) as an input of a later task to make that task
/// depend on it; the later task gets `&T`. Cloning a promise is cheap and shares the result.
/// The result is dropped when no promise handle and no unfinished dependent needs it.
///
/// # Examples
///
/// ```
/// let sch = smqsched::Scheduler::new();
/// let q = sch.queue("compute", 2).unwrap();
/// let a = q.submit((), |()| vec![1.0, 2.0, 3.0]);
/// let sum = q.submit(&a, |a: &Vec<f64>| a.iter().sum::<f64>());
/// sch.start();
/// assert_eq!(*sum.result().unwrap(), 6.0);
/// ```
pub struct Promise<T> {
    pub(crate) cell: Arc<dyn HoldsCell<ValueCell<T>>>,
    pub(crate) id: TaskId,
}

impl<T> Clone for Promise<T> {
    fn clone(&self) -> Self {
        Promise {
            cell: Arc::clone(&self.cell),
            id: self.id,
        }
    }
}

impl<T> std::fmt::Debug for Promise<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Promise")
            .field("id", &self.id)
            .field("label", &self.cell.label())
            .field("finished", &self.cell.cell().get().is_some())
            .finish()
    }
}

fn as_ref<T>(r: &Outcome<T>) -> Result<&T, TaskError> {
    r.as_ref().map_err(|e| TaskError::clone(e))
}

impl<T> Promise<T> {
    /// The task's id.
    pub fn id(&self) -> TaskId {
        self.id
    }

    /// The task's label.
    pub fn label(&self) -> &str {
        self.cell.label()
    }

    /// Block until the task has finished; its value, or why there is none.
    ///
    /// This waits for as long as it takes, also while the scheduler is stopped; use
    /// [`result_timeout`](Self::result_timeout) to bound the wait.
    pub fn result(&self) -> Result<&T, TaskError> {
        as_ref(self.cell.cell().wait())
    }

    /// Like [`result`](Self::result), but gives up after `timeout` and returns `None`.
    pub fn result_timeout(&self, timeout: Duration) -> Option<Result<&T, TaskError>> {
        self.cell.cell().wait_timeout(timeout).map(as_ref)
    }

    /// The outcome if the task has finished, `None` if not yet. Never blocks.
    ///
    /// # Examples
    ///
    /// ```
    /// let sch = smqsched::Scheduler::new();
    /// let q = sch.queue("q", 1).unwrap();
    /// let p = q.submit((), |()| 5);
    /// assert!(p.try_result().is_none()); // not started yet
    /// sch.start();
    /// sch.wait();
    /// assert_eq!(p.try_result().unwrap().unwrap(), &5);
    /// ```
    pub fn try_result(&self) -> Option<Result<&T, TaskError>> {
        self.cell.cell().get().map(as_ref)
    }

    /// The task's current state, or `None` once its scheduler is gone.
    pub fn state(&self) -> Option<TaskState> {
        self.cell.meta().owner.state(self.id)
    }

    /// Cancel the task if it has not started, and every task that depends on it; returns how
    /// many tasks were cancelled. Running tasks are never interrupted.
    ///
    /// # Examples
    ///
    /// ```
    /// use smqsched::TaskError;
    ///
    /// let sch = smqsched::Scheduler::new();
    /// let q = sch.queue("q", 1).unwrap();
    /// let a = q.submit((), |()| 1);
    /// let b = q.submit(&a, |a| a + 1);
    /// assert_eq!(a.cancel(), Ok(2));
    /// assert!(matches!(b.result(), Err(TaskError::DependencyFailed { .. })));
    /// ```
    pub fn cancel(&self) -> Result<usize, CancelError> {
        self.cell.meta().owner.cancel(self.id)
    }
}

/// The items of a progressive producer, returned by
/// [`Queue::submit_iter`](crate::Queue::submit_iter) and
/// [`Queue::submit_stream`](crate::Queue::submit_stream).
///
/// [`item(i)`](Self::item) gives a promise for one item before the producer even starts; a
/// task that takes it as input becomes ready the moment item `i` is produced. Passing the
/// whole `Stream` as an input waits for the producer to complete and gives `Vec<&T>`.
///
/// # Examples
///
/// ```
/// let sch = smqsched::Scheduler::new();
/// let q = sch.queue("q", 2).unwrap();
/// let squares = q.submit_iter((), |()| (0..4).map(|i| i * i));
/// let third = q.submit(&squares.item(2), |x: &i32| *x);
/// let all = q.submit(&squares, |v: Vec<&i32>| v.len());
/// sch.start();
/// assert_eq!(*third.result().unwrap(), 4);
/// assert_eq!(*all.result().unwrap(), 4);
/// ```
pub struct Stream<T> {
    pub(crate) cell: Arc<dyn HoldsCell<StreamCell<T>>>,
    pub(crate) id: TaskId,
    pub(crate) declared: Option<usize>,
}

impl<T> Clone for Stream<T> {
    fn clone(&self) -> Self {
        Stream {
            cell: Arc::clone(&self.cell),
            id: self.id,
            declared: self.declared,
        }
    }
}

impl<T> std::fmt::Debug for Stream<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Stream")
            .field("id", &self.id)
            .field("label", &self.cell.label())
            .field("produced", &self.cell.cell().len())
            .finish()
    }
}

impl<T> Stream<T> {
    /// The producer's id.
    pub fn id(&self) -> TaskId {
        self.id
    }

    /// The producer's label.
    pub fn label(&self) -> &str {
        self.cell.label()
    }

    /// The item count declared with [`TaskBuilder::items`](crate::TaskBuilder::items), if any.
    pub fn declared(&self) -> Option<usize> {
        self.declared
    }

    /// A promise for item `index`, usable as an input before the producer starts.
    ///
    /// Without a declared count any index is accepted; if the producer completes with fewer
    /// items, the tasks that take this item fail with [`TaskError::ItemOutOfRange`].
    ///
    /// # Panics
    ///
    /// If the producer declared an item count and `index` is not below it. Use
    /// [`try_item`](Self::try_item) to get an error instead.
    pub fn item(&self, index: usize) -> Item<T> {
        match self.try_item(index) {
            Ok(item) => item,
            Err(e) => panic!("{e}"),
        }
    }

    /// Like [`item`](Self::item), but an index past the declared count is an error.
    ///
    /// # Examples
    ///
    /// ```
    /// use smqsched::SubmitError;
    ///
    /// let sch = smqsched::Scheduler::new();
    /// let q = sch.queue("q", 1).unwrap();
    /// let s = q.task().items(3).submit_iter((), |()| 0..3).unwrap();
    /// assert!(s.try_item(2).is_ok());
    /// assert!(matches!(s.try_item(3), Err(SubmitError::ItemPastDeclared { .. })));
    /// ```
    pub fn try_item(&self, index: usize) -> Result<Item<T>, SubmitError> {
        let past = match self.declared {
            Some(n) => index >= n,
            None => index >= u32::MAX as usize,
        };
        if past {
            return Err(SubmitError::ItemPastDeclared {
                producer: self.id,
                item: index,
                declared: self.declared.unwrap_or(u32::MAX as usize),
            });
        }
        Ok(Item {
            cell: Arc::clone(&self.cell),
            producer: self.id,
            index: index as u32,
            got: OnceLock::new(),
        })
    }

    /// The items as they are produced, for async code: a [`futures_core::Stream`] that yields
    /// each item in order, waiting without blocking a thread, and ends when the producer
    /// completes (after an `Err` if it failed). Any number of readers may follow one producer.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::future::Future;
    /// use std::task::{Context, Poll, Waker};
    /// use futures_core::Stream as _;
    ///
    /// let sch = smqsched::Scheduler::new();
    /// let q = sch.queue("q", 1).unwrap();
    /// let squares = q.submit_iter((), |()| (1..=3).map(|i| i * i));
    /// sch.start();
    /// sch.wait();
    /// // Everything is produced already, so every poll is ready (an executor would await).
    /// let mut items = std::pin::pin!(squares.items());
    /// let mut cx = Context::from_waker(Waker::noop());
    /// let mut got = Vec::new();
    /// while let Poll::Ready(Some(item)) = items.as_mut().poll_next(&mut cx) {
    ///     got.push(*item.unwrap());
    /// }
    /// assert_eq!(got, [1, 4, 9]);
    /// ```
    pub fn items(&self) -> crate::future::Items<T> {
        crate::future::Items::new(self.clone())
    }

    /// How many items exist so far.
    pub fn produced(&self) -> usize {
        self.cell.cell().len()
    }

    /// Block until the producer has completed; the number of items, or its error.
    pub fn wait(&self) -> Result<usize, TaskError> {
        self.cell.cell().wait_end(None).unwrap_or(Ok(0))
    }

    /// Like [`wait`](Self::wait), but gives up after `timeout` and returns `None`.
    pub fn wait_timeout(&self, timeout: Duration) -> Option<Result<usize, TaskError>> {
        self.cell.cell().wait_end(Some(timeout))
    }

    /// Block until the producer has completed; all its items.
    pub fn results(&self) -> Result<Vec<Arc<T>>, TaskError> {
        self.wait().map(|_| self.cell.cell().all().to_vec())
    }

    /// The producer's current state, or `None` once its scheduler is gone.
    pub fn state(&self) -> Option<TaskState> {
        self.cell.meta().owner.state(self.id)
    }

    /// Cancel the producer if it has not started, and everything that depends on it.
    pub fn cancel(&self) -> Result<usize, CancelError> {
        self.cell.meta().owner.cancel(self.id)
    }
}

/// A promise for one item of a progressive producer; see [`Stream::item`].
pub struct Item<T> {
    pub(crate) cell: Arc<dyn HoldsCell<StreamCell<T>>>,
    pub(crate) producer: TaskId,
    pub(crate) index: u32,
    pub(crate) got: OnceLock<Arc<T>>,
}

impl<T> Clone for Item<T> {
    fn clone(&self) -> Self {
        Item {
            cell: Arc::clone(&self.cell),
            producer: self.producer,
            index: self.index,
            got: self.got.clone(),
        }
    }
}

impl<T> std::fmt::Debug for Item<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Item")
            .field("producer", &self.producer)
            .field("index", &self.index)
            .finish()
    }
}

impl<T> Item<T> {
    /// The producer's id.
    pub fn producer(&self) -> TaskId {
        self.producer
    }

    /// The item's index.
    pub fn index(&self) -> usize {
        self.index as usize
    }

    fn resolve(&self, state: ItemState<T>) -> Option<Result<&T, TaskError>> {
        match state {
            ItemState::Ready(v) => Some(Ok(&**self.got.get_or_init(|| v))),
            ItemState::NotYet => None,
            other => self.resolve_owned(other).err().map(Err),
        }
    }

    /// What `state` means for this item, shared: the item, or why it will not come; an
    /// error for [`ItemState::NotYet`] is never asked for.
    pub(crate) fn resolve_owned(&self, state: ItemState<T>) -> Result<Arc<T>, TaskError> {
        match state {
            ItemState::Ready(v) => Ok(v),
            ItemState::Past(produced) => {
                let me = TaskRef {
                    id: self.producer,
                    label: self.cell.label_arc(),
                };
                Err(TaskError::ItemOutOfRange {
                    task: me.clone(),
                    producer: me,
                    item: self.index as usize,
                    produced,
                })
            }
            ItemState::Failed(e) => Err(e),
            ItemState::NotYet => unreachable!("only an outcome is resolved"),
        }
    }

    /// Block until the item exists (or the producer ended without it).
    pub fn result(&self) -> Result<&T, TaskError> {
        if let Some(v) = self.got.get() {
            return Ok(v);
        }
        let state = self.cell.cell().wait_item(self.index as usize, None);
        self.resolve(state)
            .unwrap_or_else(|| unreachable!("an untimed wait returns an outcome"))
    }

    /// Like [`result`](Self::result), but gives up after `timeout` and returns `None`.
    pub fn result_timeout(&self, timeout: Duration) -> Option<Result<&T, TaskError>> {
        if let Some(v) = self.got.get() {
            return Some(Ok(v));
        }
        let state = self
            .cell
            .cell()
            .wait_item(self.index as usize, Some(timeout));
        self.resolve(state)
    }

    /// The item if it exists, its error if it never will, or `None` if not yet.
    pub fn try_result(&self) -> Option<Result<&T, TaskError>> {
        if let Some(v) = self.got.get() {
            return Some(Ok(v));
        }
        self.resolve(self.cell.cell().try_item(self.index as usize))
    }
}
