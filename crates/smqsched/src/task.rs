//! Task identity, and what a worker runs.

use std::marker::PhantomData;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;

use crate::cell::Settle;
use crate::error::{Failure, TaskError, TaskRef};
use crate::once::TakeOnce;
use crate::promise::Owner;

/// Identifies a task within its scheduler. Ids count up in submission order.
///
/// # Examples
///
/// ```
/// let sch = smqsched::Scheduler::new();
/// let q = sch.queue("q", 1).unwrap();
/// let a = q.submit((), |()| 1);
/// let b = q.submit((), |()| 2);
/// assert!(a.id() < b.id());
/// ```
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TaskId(pub(crate) u64);

impl TaskId {
    /// The id as a number: the task's position in submission order, from 0.
    pub fn index(self) -> u64 {
        self.0
    }

    /// The id of index `index`, as read back from outside: a served run's JSON, a stored
    /// summary. It names a task only of the scheduler it came from; given to another, it
    /// names another task or none ([`Scheduler::task_id`](crate::Scheduler::task_id) checks
    /// an index against a scheduler).
    ///
    /// # Examples
    ///
    /// ```
    /// let sch = smqsched::Scheduler::new();
    /// let q = sch.queue("q", 1).unwrap();
    /// let a = q.submit((), |()| 1);
    /// assert_eq!(smqsched::TaskId::from_index(a.id().index()), a.id());
    /// ```
    pub fn from_index(index: u64) -> Self {
        TaskId(index)
    }
}

impl std::fmt::Display for TaskId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "#{}", self.0)
    }
}

/// One input edge of a task: the whole result of `task`, or its item `item`.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub struct Dep {
    /// The producing task.
    pub task: TaskId,
    /// The item of a progressive producer, or `None` for the whole result.
    pub item: Option<u32>,
}

impl Dep {
    /// An edge on the whole result of `task`.
    pub(crate) fn whole(task: TaskId) -> Dep {
        Dep { task, item: None }
    }
}

/// What a worker thread runs: a task's body, and the result cell it writes.
///
/// A job is shared (`Arc<dyn Job>`): the scheduler holds it until the task starts, and the
/// task's promises hold the same allocation for its result cell, so that a task costs one
/// allocation, not two.
pub(crate) trait Job: Send + Sync {
    /// Run the body. On failure (a returned error or a panic) the error is stored in the
    /// result cell before it is returned, boxed: the common `Ok` stays one word. A job runs
    /// at most once; a second call is a no-op.
    fn run(&self, ctx: &RunCtx<'_>) -> Result<(), Box<TaskError>>;

    /// Store `error` as the outcome, without running.
    fn fail(&self, error: TaskError);

    /// Drop the body unrun, and with it the inputs it captured. The scheduler calls this
    /// outside its lock for every job it abandons, so that captured values are freed at once
    /// even while promises keep the allocation alive.
    fn discard(&self);
}

/// Access to a job's result cell and its task's identity, for the task's promises. A promise
/// is this one shared allocation and the task's id, so cloning or dropping one touches one
/// reference count.
pub(crate) trait HoldsCell<C>: Send + Sync {
    /// The result cell.
    fn cell(&self) -> &C;
    /// The task's given label and scheduler.
    fn meta(&self) -> &Meta;
    /// The type name of the task's body, for its default label.
    fn body_type(&self) -> &'static str;

    /// The task's label: the one given, or the default for its body's type.
    fn label(&self) -> &str {
        match &self.meta().label {
            Some(label) => label,
            None => short_label(self.body_type()),
        }
    }

    /// [`label`](Self::label) as a shared string, for errors.
    fn label_arc(&self) -> Arc<str> {
        match &self.meta().label {
            Some(label) => Arc::clone(label),
            None => Arc::from(short_label(self.body_type())),
        }
    }
}

/// A new task's label as the scheduler receives it (its promises keep only a given label, in
/// [`Meta`], and derive the default from the body's type).
pub(crate) enum Label {
    /// The default label: the body's type name, which the scheduler shortens (see
    /// [`short_label`]) once per body type.
    Static(&'static str),
    /// A label given by the user.
    Shared(Arc<str>),
}

/// The default label of a task body from its type name: the function's name, or for a
/// closure the name of the function that defines it (`a::b::run::{{closure}}` gives `run`).
pub(crate) fn short_label(type_name: &'static str) -> &'static str {
    let base = type_name.split('<').next().unwrap_or(type_name);
    base.rsplit("::")
        .find(|s| !s.is_empty() && !s.starts_with("{{"))
        .unwrap_or(base)
}

/// What a task's promises know besides its result.
pub(crate) struct Meta {
    /// The label given, if any; the default one comes from the body's type.
    pub(crate) label: Option<Arc<str>>,
    pub(crate) owner: Owner,
}

/// The one implementation of [`Job`]: `body` computes from the inputs it captured and
/// stores into `cell`. The body is taken out when the task runs or is abandoned. `B` is the
/// type of the user's body, which `body` wraps: it names the default label, at no cost in
/// space.
pub(crate) struct TaskJob<C, F, B> {
    meta: Meta,
    cell: C,
    body: TakeOnce<F>,
    body_type: PhantomData<fn() -> B>,
}

impl<C, F, B> TaskJob<C, F, B> {
    pub(crate) fn new(meta: Meta, cell: C, body: F) -> Self {
        TaskJob {
            meta,
            cell,
            body: TakeOnce::new(body),
            body_type: PhantomData,
        }
    }
}

impl<C, F, B> HoldsCell<C> for TaskJob<C, F, B>
where
    C: Send + Sync,
    F: Send,
{
    fn cell(&self) -> &C {
        &self.cell
    }

    fn meta(&self) -> &Meta {
        &self.meta
    }

    fn body_type(&self) -> &'static str {
        std::any::type_name::<B>()
    }
}

impl<C, F, B> Job for TaskJob<C, F, B>
where
    C: Settle + 'static,
    F: FnOnce(&C, &RunCtx<'_>) -> Result<(), Failure> + Send,
{
    fn run(&self, ctx: &RunCtx<'_>) -> Result<(), Box<TaskError>> {
        let Some(body) = self.body.take() else {
            return Ok(());
        };
        let task = || ctx.task_ref();
        let error = match catch_unwind(AssertUnwindSafe(|| body(&self.cell, ctx))) {
            Ok(Ok(())) => return Ok(()),
            Ok(Err(Failure::Message(message))) => TaskError::Failed {
                task: task(),
                message,
            },
            Ok(Err(Failure::Error(error))) => TaskError::FailedWith {
                task: task(),
                error,
            },
            Err(payload) => TaskError::Panicked {
                task: task(),
                message: panic_message(&*payload),
            },
        };
        self.cell.fail(error.clone());
        Err(Box::new(error))
    }

    fn fail(&self, error: TaskError) {
        self.cell.fail(error);
    }

    fn discard(&self) {
        drop(self.body.take());
    }
}

/// The text of a panic's payload.
pub(crate) fn panic_message(payload: &(dyn std::any::Any + Send)) -> Arc<str> {
    if let Some(s) = payload.downcast_ref::<&str>() {
        Arc::from(*s)
    } else if let Some(s) = payload.downcast_ref::<String>() {
        Arc::from(s.as_str())
    } else {
        Arc::from("panic with a non-string payload")
    }
}

/// What a running task knows about itself.
pub(crate) struct RunCtx<'a> {
    pub(crate) shared: &'a Arc<crate::scheduler::Shared>,
    pub(crate) task: TaskId,
}

impl RunCtx<'_> {
    /// The task, for its error. The label is looked up only here, on failure, so that a task
    /// that succeeds never touches its label's reference count.
    fn task_ref(&self) -> TaskRef {
        self.shared.task_ref(self.task)
    }
}

/// Drop a job that will not run, with the body and the inputs it captured. Dropping an
/// input may drop the last handle to a result, whose `Drop` may panic: the panic is caught,
/// so that it does not unwind into the scheduler's caller (a worker, or a user's `cancel` or
/// `submit`). The panic hook has reported it, and the task reports why it did not run.
pub(crate) fn abandon(job: Arc<dyn Job>) {
    let _ = catch_unwind(AssertUnwindSafe(move || {
        job.discard();
        drop(job);
    }));
}

/// Messages to a queue's worker threads.
pub(crate) enum Msg {
    Run { task: TaskId, job: Arc<dyn Job> },
    Exit,
}
