//! Task identity, and what a worker runs.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;

use crate::cell::Settle;
use crate::error::{TaskError, TaskRef};

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

/// What a worker thread runs: a task's inputs, body and result cell.
pub(crate) trait Job: Send {
    /// Run the body. On failure (a returned error or a panic) the error is stored in the
    /// result cell before it is returned.
    fn run(self: Box<Self>, ctx: &RunCtx<'_>) -> Result<(), TaskError>;

    /// Store `error` as the outcome, without running. The job itself is dropped later,
    /// outside the scheduler's lock.
    fn fail(&self, error: TaskError);
}

/// The one implementation of [`Job`]: `body` computes from the inputs it captured and
/// stores into `cell`.
pub(crate) struct TaskJob<C, F> {
    pub(crate) cell: Arc<C>,
    pub(crate) body: F,
}

impl<C, F> Job for TaskJob<C, F>
where
    C: Settle + 'static,
    F: FnOnce(&C, &RunCtx<'_>) -> Result<(), Arc<str>> + Send,
{
    fn run(self: Box<Self>, ctx: &RunCtx<'_>) -> Result<(), TaskError> {
        let TaskJob { cell, body } = *self;
        let task = || TaskRef {
            id: ctx.task,
            label: Arc::clone(ctx.label),
        };
        let error = match catch_unwind(AssertUnwindSafe(|| body(&cell, ctx))) {
            Ok(Ok(())) => return Ok(()),
            Ok(Err(message)) => TaskError::Failed {
                task: task(),
                message,
            },
            Err(payload) => TaskError::Panicked {
                task: task(),
                message: panic_message(&*payload),
            },
        };
        cell.fail(error.clone());
        Err(error)
    }

    fn fail(&self, error: TaskError) {
        self.cell.fail(error);
    }
}

fn panic_message(payload: &(dyn std::any::Any + Send)) -> Arc<str> {
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
    pub(crate) label: &'a Arc<str>,
}

/// Messages to a queue's worker threads.
pub(crate) enum Msg {
    Run {
        task: TaskId,
        label: Arc<str>,
        job: Box<dyn Job>,
    },
    Exit,
}
