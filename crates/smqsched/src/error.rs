//! Error types: one per operation, each saying what went wrong.

use std::error::Error;
use std::fmt;
use std::sync::Arc;

use crate::TaskId;

/// A task named by its id and label, as it appears in error messages.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TaskRef {
    /// The task's id.
    pub id: TaskId,
    /// The task's label.
    pub label: Arc<str>,
}

impl fmt::Display for TaskRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "`{}` ({})", self.label, self.id)
    }
}

/// Why a task has no result.
///
/// Returned by [`Promise::result`](crate::Promise::result) and its relatives. Every variant
/// names the task it belongs to; [`TaskError::DependencyFailed`] also names the input that
/// failed first.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum TaskError {
    /// The task body panicked; `message` is the panic payload.
    Panicked {
        /// The task that panicked.
        task: TaskRef,
        /// The panic message.
        message: Arc<str>,
    },
    /// The task body returned an error known by its text (bodies submitted with
    /// `submit_result` or `submit_stream`, whose error may be any `Display`); `message` is
    /// that text.
    Failed {
        /// The task that failed.
        task: TaskRef,
        /// The error's message.
        message: Arc<str>,
    },
    /// The task body returned an error that is kept as a value (bodies submitted with
    /// [`TaskBuilder::submit_fallible`](crate::TaskBuilder::submit_fallible)): the caller
    /// can get it back with its type, by [`downcast_ref`](Self::downcast_ref), and match on
    /// it (an instrument error's kind: timeout, disconnected, ...). Its message is the same
    /// as for [`Failed`](Self::Failed).
    FailedWith {
        /// The task that failed.
        task: TaskRef,
        /// The error the body returned.
        error: BodyError,
    },
    /// An input of the task failed or was cancelled, so the task never ran.
    DependencyFailed {
        /// The task that did not run.
        task: TaskRef,
        /// The input that failed.
        input: TaskRef,
        /// The root cause: the error of the first task in the chain that failed, as text.
        reason: Arc<str>,
    },
    /// The task was cancelled before it started.
    Cancelled {
        /// The cancelled task.
        task: TaskRef,
    },
    /// The task asked for item `item` of a progressive producer that produced only `produced`.
    ItemOutOfRange {
        /// The task that asked.
        task: TaskRef,
        /// The producer.
        producer: TaskRef,
        /// The item index asked for.
        item: usize,
        /// How many items the producer yielded.
        produced: usize,
    },
    /// The scheduler was shut down before the task could run.
    Shutdown {
        /// The task that never ran.
        task: TaskRef,
    },
}

impl TaskError {
    /// The task this error belongs to.
    pub fn task(&self) -> &TaskRef {
        match self {
            TaskError::Panicked { task, .. }
            | TaskError::Failed { task, .. }
            | TaskError::FailedWith { task, .. }
            | TaskError::DependencyFailed { task, .. }
            | TaskError::Cancelled { task }
            | TaskError::ItemOutOfRange { task, .. }
            | TaskError::Shutdown { task } => task,
        }
    }

    /// The error the task's body returned, as its own type `E`, if it failed with one
    /// ([`TaskError::FailedWith`] holding an `E`). An input's failure
    /// ([`TaskError::DependencyFailed`]) carries its cause as text only.
    ///
    /// # Examples
    ///
    /// ```
    /// use smqsched::Scheduler;
    /// use std::io;
    ///
    /// let sch = Scheduler::new();
    /// let q = sch.queue("io", 1)?;
    /// let p = q.task().submit_fallible((), |()| -> Result<u8, io::Error> {
    ///     Err(io::ErrorKind::TimedOut.into())
    /// })?;
    /// sch.start();
    /// let err = p.result().unwrap_err();
    /// assert_eq!(err.downcast_ref::<io::Error>().map(|e| e.kind()), Some(io::ErrorKind::TimedOut));
    /// assert!(err.to_string().ends_with("failed: timed out"));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn downcast_ref<E: Error + 'static>(&self) -> Option<&E> {
        match self {
            TaskError::FailedWith { error, .. } => error.downcast_ref(),
            _ => None,
        }
    }
}

/// An error value returned by a task body, shared by every copy of the task's
/// [`TaskError`]: see [`TaskError::FailedWith`].
///
/// Two `BodyError`s are equal when they are the same error (copies of one task's error).
///
/// # Examples
///
/// ```
/// use smqsched::BodyError;
/// let e = BodyError::new(std::io::Error::other("no reply"));
/// assert_eq!(e.to_string(), "no reply");
/// assert!(e.downcast_ref::<std::io::Error>().is_some());
/// assert_eq!(e.clone(), e);
/// ```
#[derive(Clone)]
pub struct BodyError(Arc<dyn Error + Send + Sync + 'static>);

impl BodyError {
    /// Keep `error`.
    pub fn new(error: impl Error + Send + Sync + 'static) -> Self {
        Self(Arc::new(error))
    }

    /// The error, as a trait object (e.g. to walk its `source` chain).
    pub fn get(&self) -> &(dyn Error + Send + Sync + 'static) {
        &*self.0
    }

    /// The error as type `E`, if it is one.
    pub fn downcast_ref<E: Error + 'static>(&self) -> Option<&E> {
        let e: &(dyn Error + 'static) = &*self.0;
        e.downcast_ref()
    }
}

impl fmt::Debug for BodyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&*self.0, f)
    }
}

impl fmt::Display for BodyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&*self.0, f)
    }
}

impl PartialEq for BodyError {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

impl Eq for BodyError {}

/// How a task body failed, inside the crate: with a message, or with an error value kept
/// for the caller.
pub(crate) enum Failure {
    /// The error's text.
    Message(Arc<str>),
    /// The error itself.
    Error(BodyError),
}

impl From<Arc<str>> for Failure {
    fn from(message: Arc<str>) -> Self {
        Failure::Message(message)
    }
}

impl fmt::Display for TaskError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TaskError::Panicked { task, message } => write!(f, "task {task} panicked: {message}"),
            TaskError::Failed { task, message } => write!(f, "task {task} failed: {message}"),
            TaskError::FailedWith { task, error } => write!(f, "task {task} failed: {error}"),
            TaskError::DependencyFailed {
                task,
                input,
                reason,
            } => write!(
                f,
                "task {task} did not run because its input {input} failed: {reason}"
            ),
            TaskError::Cancelled { task } => write!(f, "task {task} was cancelled"),
            TaskError::ItemOutOfRange {
                task,
                producer,
                item,
                produced,
            } => write!(
                f,
                "task {task} asked for item {item} of {producer}, which produced only {produced} item(s)"
            ),
            TaskError::Shutdown { task } => {
                write!(f, "task {task} did not run: the scheduler was shut down")
            }
        }
    }
}

impl Error for TaskError {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        match self {
            TaskError::FailedWith { error, .. } => Some(error.get()),
            _ => None,
        }
    }
}

/// Why a task could not be submitted.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum SubmitError {
    /// An input belongs to another scheduler.
    ForeignInput {
        /// The input task.
        input: TaskId,
    },
    /// The scheduler has been shut down.
    Shutdown,
    /// The task requires a resource its queue does not have.
    UnknownResource {
        /// The queue.
        queue: Arc<str>,
        /// The resource asked for.
        resource: String,
    },
    /// The task requires more units of a resource than its queue has in all.
    ResourceExceedsCapacity {
        /// The queue.
        queue: Arc<str>,
        /// The resource asked for.
        resource: String,
        /// Units asked for.
        wanted: u32,
        /// Units the queue has.
        capacity: u32,
    },
    /// `releases` names a task that was not submitted with `hold`.
    NotHolding {
        /// The task named.
        task: TaskId,
    },
    /// `releases` names a held task that another task already releases.
    AlreadyReleased {
        /// The held task.
        task: TaskId,
        /// The task that releases it.
        by: TaskId,
    },
    /// An item index at or past the producer's declared item count.
    ItemPastDeclared {
        /// The producer.
        producer: TaskId,
        /// The index asked for.
        item: usize,
        /// The declared count.
        declared: usize,
    },
}

impl fmt::Display for SubmitError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SubmitError::ForeignInput { input } => {
                write!(f, "input {input} belongs to another scheduler")
            }
            SubmitError::Shutdown => write!(f, "the scheduler has been shut down"),
            SubmitError::UnknownResource { queue, resource } => {
                write!(f, "queue `{queue}` has no resource `{resource}`")
            }
            SubmitError::ResourceExceedsCapacity {
                queue,
                resource,
                wanted,
                capacity,
            } => write!(
                f,
                "the task requires {wanted} unit(s) of `{resource}` but queue `{queue}` has only {capacity}"
            ),
            SubmitError::NotHolding { task } => write!(
                f,
                "task {task} holds nothing to release: it was not submitted with `hold()`"
            ),
            SubmitError::AlreadyReleased { task, by } => {
                write!(f, "the slot held by {task} is already released by {by}")
            }
            SubmitError::ItemPastDeclared {
                producer,
                item,
                declared,
            } => write!(
                f,
                "item {item} is past the {declared} item(s) declared by producer {producer}"
            ),
        }
    }
}

impl std::error::Error for SubmitError {}

/// Why a queue could not be created.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum QueueError {
    /// A queue needs at least one slot.
    ZeroSlots {
        /// The queue's name.
        name: String,
    },
    /// More slots than [`MAX_SLOTS`](crate::MAX_SLOTS); each slot is a thread.
    TooManySlots {
        /// The queue's name.
        name: String,
        /// Slots asked for.
        slots: usize,
        /// The most allowed.
        max: usize,
    },
    /// A queue of this name exists already.
    DuplicateName {
        /// The queue's name.
        name: String,
    },
    /// The scheduler has been shut down.
    Shutdown,
    /// A worker thread could not be started.
    Spawn {
        /// The operating system's message.
        message: String,
    },
}

impl fmt::Display for QueueError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            QueueError::ZeroSlots { name } => {
                write!(f, "queue `{name}` needs at least one slot, got 0")
            }
            QueueError::TooManySlots { name, slots, max } => write!(
                f,
                "queue `{name}` asks for {slots} slots; at most {max} are allowed (one thread each)"
            ),
            QueueError::DuplicateName { name } => write!(f, "a queue named `{name}` exists"),
            QueueError::Shutdown => write!(f, "the scheduler has been shut down"),
            QueueError::Spawn { message } => write!(f, "cannot start a worker thread: {message}"),
        }
    }
}

impl std::error::Error for QueueError {}

/// Why [`Scheduler::cancel`](crate::Scheduler::cancel) did nothing.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum CancelError {
    /// The task has started; running tasks are not interrupted.
    Started(TaskId),
    /// The task has finished, failed or was cancelled already.
    Finished(TaskId),
    /// No task with this id exists in this scheduler.
    Unknown(TaskId),
}

impl fmt::Display for CancelError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CancelError::Started(t) => write!(f, "task {t} has started and cannot be cancelled"),
            CancelError::Finished(t) => write!(f, "task {t} has already finished"),
            CancelError::Unknown(t) => write!(f, "no task {t} in this scheduler"),
        }
    }
}

impl std::error::Error for CancelError {}

/// [`Scheduler::wait_timeout`](crate::Scheduler::wait_timeout) ran out of time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Timeout;

impl fmt::Display for Timeout {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("timed out")
    }
}

impl std::error::Error for Timeout {}
