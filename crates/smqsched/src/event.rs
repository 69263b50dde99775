//! What the scheduler tells observers: events as they happen, and snapshots of the graph.

use std::ops::Range;
use std::sync::Arc;
use std::time::Duration;

use crate::error::TaskError;
use crate::task::{Dep, TaskId};

/// Something that happened in a scheduler, delivered through
/// [`Scheduler::subscribe`](crate::Scheduler::subscribe).
///
/// Task events carry the task's id, label and queue; [`EventKind::Stopped`] and
/// [`EventKind::Resumed`] carry none.
///
/// # Examples
///
/// ```
/// use smqsched::{EventKind, Scheduler};
///
/// let sch = Scheduler::new();
/// let events = sch.subscribe();
/// let q = sch.queue("q", 1).unwrap();
/// q.task().label("answer").submit((), |()| 42).unwrap();
/// sch.start();
/// sch.wait();
/// let kinds: Vec<_> = events.try_iter().filter(|e| e.task.is_some()).map(|e| e.kind).collect();
/// assert!(matches!(kinds[..], [EventKind::Submitted, EventKind::Started { .. }, EventKind::Finished]));
/// ```
#[derive(Clone, Debug)]
pub struct Event {
    /// Time since the scheduler was created.
    pub at: Duration,
    /// The task, for task events.
    pub task: Option<TaskId>,
    /// The task's label, for task events.
    pub label: Option<Arc<str>>,
    /// The task's queue, for task events.
    pub queue: Option<Arc<str>>,
    /// What happened.
    pub kind: EventKind,
}

/// The kinds of [`Event`].
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum EventKind {
    /// A task was submitted.
    Submitted,
    /// A task started in slot `slot` of its queue (slots count from 0).
    Started {
        /// The slot.
        slot: u32,
    },
    /// A progressive producer produced item `index`.
    ItemProduced {
        /// The item's index.
        index: usize,
    },
    /// A task finished with a value.
    Finished,
    /// A task failed, or did not run because an input failed.
    Failed {
        /// Why.
        error: TaskError,
    },
    /// A task was cancelled, or will not run because the scheduler shut down.
    Cancelled,
    /// The scheduler stopped starting tasks.
    Stopped,
    /// The scheduler started or resumed.
    Resumed,
}

/// The state of a task.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum TaskState {
    /// Not started; some input is not available yet, or (on a queue in
    /// [submission order](StartOrder::Submission)) a task submitted to its queue before it
    /// has not started yet.
    Waiting,
    /// Not started; every input is available.
    Ready,
    /// Running on a worker.
    Running,
    /// Finished with a value.
    Done,
    /// Failed, or did not run because an input failed.
    Failed,
    /// Cancelled before it started.
    Cancelled,
}

impl TaskState {
    /// Whether the task will not change state again.
    pub fn is_final(self) -> bool {
        matches!(
            self,
            TaskState::Done | TaskState::Failed | TaskState::Cancelled
        )
    }
}

/// One task in a [`Snapshot`].
#[derive(Clone, Debug)]
pub struct TaskSnapshot {
    /// The task's id.
    pub id: TaskId,
    /// The task's label.
    pub label: Arc<str>,
    /// Index of its queue in [`Snapshot::queues`].
    pub queue: u32,
    /// Its state.
    pub state: TaskState,
    /// Where its inputs are in [`Snapshot::edges`], in argument order (ordering-only inputs
    /// last); see [`Snapshot::inputs`].
    pub inputs: Range<usize>,
    /// Items produced so far (progressive producers).
    pub items: u32,
    /// The queue slot it ran in, once started.
    pub slot: Option<u32>,
    /// When it was submitted, since the scheduler was created.
    pub submitted: Duration,
    /// When it started.
    pub started: Option<Duration>,
    /// When it finished, failed or was cancelled.
    pub finished: Option<Duration>,
    /// Its error, if it failed or was cancelled (shared, not copied).
    pub error: Option<Arc<TaskError>>,
    /// A note on its progress set by what runs it, such as the state of the cluster job
    /// that runs it ([`Scheduler::set_status`](crate::Scheduler::set_status)).
    pub status: Option<Arc<str>>,
}

/// The order in which a queue starts its ready tasks: the queue's mode, chosen when it is
/// created ([`Scheduler::queue_ordered`](crate::Scheduler::queue_ordered)).
///
/// # Examples
///
/// ```
/// use smqsched::{Scheduler, StartOrder};
///
/// let sch = Scheduler::new();
/// sch.queue("compute", 2).unwrap();
/// sch.queue_ordered("stage", 1, StartOrder::Submission).unwrap();
/// let orders: Vec<StartOrder> = sch.queues().iter().map(|q| q.order).collect();
/// assert_eq!(orders, [StartOrder::NewestFirst, StartOrder::Submission]);
/// assert_eq!(StartOrder::default(), StartOrder::NewestFirst);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum StartOrder {
    /// The order rule of the crate (see the crate docs): the newest submitted work first,
    /// pulled through its inputs. Every queue's default.
    #[default]
    NewestFirst,
    /// The queue's tasks start in the order they were submitted to it: a task starts only
    /// once every task submitted to the same queue before it has started or ended without
    /// running (cancelled, or an input failed). Its inputs, and held slots, still hold. For
    /// an instrument whose operator expects the acquisitions in the plan's order.
    ///
    /// A task that [releases](crate::TaskBuilder::releases) a slot held on the same queue
    /// has no turn: it runs in the held slot as soon as its holder has ended and its inputs
    /// are available, before the tasks submitted between the holder and it, which wait for
    /// that slot.
    Submission,
}

impl StartOrder {
    /// A short name for displays: `"newest-first"` or `"submission"`.
    ///
    /// ```
    /// assert_eq!(smqsched::StartOrder::Submission.as_str(), "submission");
    /// ```
    pub fn as_str(self) -> &'static str {
        match self {
            StartOrder::NewestFirst => "newest-first",
            StartOrder::Submission => "submission",
        }
    }
}

impl std::fmt::Display for StartOrder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One queue in a [`Snapshot`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QueueSnapshot {
    /// The queue's name.
    pub name: Arc<str>,
    /// Its number of slots.
    pub slots: usize,
    /// The order in which it starts its ready tasks.
    pub order: StartOrder,
    /// Slots in use, including held ones.
    pub in_use: usize,
    /// Slots held by finished tasks awaiting their release.
    pub held: usize,
    /// Tasks whose inputs are all available, waiting for a slot: the backlog.
    pub ready: usize,
    /// Tasks still waiting for inputs (or, in submission order, for their turn).
    pub waiting: usize,
    /// Tasks running.
    pub running: usize,
    /// Tasks finished with a value.
    pub done: usize,
    /// Tasks failed or cancelled.
    pub failed: usize,
}

/// The whole graph at one moment, from [`Scheduler::snapshot`](crate::Scheduler::snapshot).
///
/// # Examples
///
/// ```
/// use smqsched::{Scheduler, TaskState};
///
/// let sch = Scheduler::new();
/// let q = sch.queue("q", 1).unwrap();
/// let a = q.submit((), |()| 1);
/// let _b = q.submit(&a, |a| a + 1);
/// let snap = sch.snapshot();
/// assert_eq!(snap.tasks.len(), 2);
/// assert_eq!(snap.tasks[0].state, TaskState::Ready);
/// assert_eq!(snap.tasks[1].state, TaskState::Waiting);
/// assert_eq!(snap.inputs(&snap.tasks[1])[0].task, a.id());
/// assert_eq!(snap.queues[0].ready, 1);
/// ```
#[derive(Clone, Debug)]
pub struct Snapshot {
    /// When it was taken, since the scheduler was created.
    pub at: Duration,
    /// Whether the scheduler is running (not stopped).
    pub running: bool,
    /// Every task, indexed by [`TaskId::index`].
    pub tasks: Vec<TaskSnapshot>,
    /// Every queue, in creation order.
    pub queues: Vec<QueueSnapshot>,
    /// Every task's inputs, one after another; see [`Snapshot::inputs`].
    pub edges: Vec<Dep>,
    /// The scheduler it was taken from, and how many changes it reflects: lets
    /// [`Scheduler::snapshot_into`](crate::Scheduler::snapshot_into) copy only what changed.
    pub(crate) sched: u64,
    pub(crate) version: u64,
}

impl Default for Snapshot {
    fn default() -> Self {
        Self::new()
    }
}

impl Snapshot {
    /// An empty snapshot, to fill with
    /// [`Scheduler::snapshot_into`](crate::Scheduler::snapshot_into).
    pub fn new() -> Self {
        Snapshot {
            at: Duration::ZERO,
            running: false,
            tasks: Vec::new(),
            queues: Vec::new(),
            edges: Vec::new(),
            sched: 0,
            version: 0,
        }
    }

    /// The inputs of `task`, in argument order.
    pub fn inputs(&self, task: &TaskSnapshot) -> &[Dep] {
        self.edges.get(task.inputs.clone()).unwrap_or(&[])
    }
}
