//! What goes over the wire: the JSON bodies of every route, as serde types, shared by the
//! server and by clients (such as an attached dashboard), with conversions from the
//! scheduler's own [`smqsched::Snapshot`] and [`smqsched::Event`].
//!
//! Times are seconds since the scheduler was created, as `f64`.

use serde::{Deserialize, Serialize};

/// A task's state, as the scheduler's [`smqsched::TaskState`]; written in lower case.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum State {
    /// Not started; some input is not available yet.
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

impl From<smqsched::TaskState> for State {
    fn from(s: smqsched::TaskState) -> Self {
        use smqsched::TaskState as T;
        match s {
            T::Waiting => State::Waiting,
            T::Ready => State::Ready,
            T::Running => State::Running,
            T::Done => State::Done,
            T::Failed => State::Failed,
            T::Cancelled => State::Cancelled,
        }
    }
}

/// One input of a task: the whole result of `task`, or its item `item`.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Input {
    /// The producing task's id.
    pub task: u64,
    /// The item of a progressive producer, or `None` for the whole result.
    pub item: Option<u32>,
}

/// One task of a [`Snapshot`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Task {
    /// The task's id (its position in submission order, from 0).
    pub id: u64,
    /// Its label.
    pub label: String,
    /// Index of its queue in [`Snapshot::queues`].
    pub queue: u32,
    /// Its state.
    pub state: State,
    /// Its inputs, in argument order (ordering-only inputs last).
    pub inputs: Vec<Input>,
    /// Items produced so far (progressive producers).
    pub items: u32,
    /// The queue slot it ran in, once started.
    pub slot: Option<u32>,
    /// When it was submitted.
    pub submitted: f64,
    /// When it started.
    pub started: Option<f64>,
    /// When it finished, failed or was cancelled.
    pub finished: Option<f64>,
    /// Its error, if it failed or was cancelled.
    pub error: Option<String>,
}

/// One queue of a [`Snapshot`], as [`smqsched::QueueSnapshot`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Queue {
    /// The queue's name.
    pub name: String,
    /// Its number of slots.
    pub slots: usize,
    /// Slots in use, including held ones.
    pub in_use: usize,
    /// Slots held by finished tasks awaiting their release.
    pub held: usize,
    /// Tasks ready, waiting for a slot.
    pub ready: usize,
    /// Tasks waiting for inputs.
    pub waiting: usize,
    /// Tasks running.
    pub running: usize,
    /// Tasks finished with a value.
    pub done: usize,
    /// Tasks failed or cancelled.
    pub failed: usize,
}

impl From<&smqsched::QueueSnapshot> for Queue {
    fn from(q: &smqsched::QueueSnapshot) -> Self {
        Queue {
            name: q.name.to_string(),
            slots: q.slots,
            in_use: q.in_use,
            held: q.held,
            ready: q.ready,
            waiting: q.waiting,
            running: q.running,
            done: q.done,
            failed: q.failed,
        }
    }
}

/// The body of `GET /api/snapshot`: the task graph and the queues.
///
/// With `?since=N` (a [`version`](Self::version) of an earlier reply), `tasks` holds only
/// the tasks that changed or appeared after version `N`; apply them over the earlier ones by
/// id. Without it (or with `since=0`) it holds every task.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Snapshot {
    /// The version of the graph this reply reflects; ask `?since=` this next time.
    pub version: u64,
    /// The version the reply counts changes from (0: every task is in `tasks`).
    pub since: u64,
    /// When it was taken.
    pub at: f64,
    /// Whether the scheduler is running (not paused).
    pub running: bool,
    /// How many tasks exist.
    pub task_count: usize,
    /// Every queue, in creation order.
    pub queues: Vec<Queue>,
    /// The tasks that changed after `since`, by increasing id.
    pub tasks: Vec<Task>,
}

impl Snapshot {
    /// Whether every task has finished, failed or been cancelled (and there is at least one).
    pub fn is_finished(&self) -> bool {
        self.task_count > 0
            && self
                .queues
                .iter()
                .all(|q| q.ready + q.waiting + q.running == 0)
    }
}

/// What happened, in an [`Event`]; written with a `kind` field in snake case.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum EventKind {
    /// A task was submitted.
    Submitted,
    /// A task started in slot `slot` of its queue.
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
        error: String,
    },
    /// A task was cancelled, or will not run because the scheduler shut down.
    Cancelled,
    /// The scheduler stopped starting tasks (paused).
    Stopped,
    /// The scheduler started or resumed.
    Resumed,
    /// A kind of event this version does not describe.
    Other,
}

/// One event of `GET /api/events` (the `data` of a server-sent event named `task` or `run`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Event {
    /// Its number, counting from 1 since the server started: a gap means events were missed.
    pub seq: u64,
    /// When it happened.
    pub at: f64,
    /// The task, for task events.
    pub task: Option<u64>,
    /// The task's label, for task events.
    pub label: Option<String>,
    /// The task's queue, for task events.
    pub queue: Option<String>,
    /// What happened.
    #[serde(flatten)]
    pub kind: EventKind,
}

impl Event {
    /// The wire form of scheduler event `e`, numbered `seq`.
    pub fn from_scheduler(seq: u64, e: &smqsched::Event) -> Self {
        use smqsched::EventKind as K;
        let kind = match &e.kind {
            K::Submitted => EventKind::Submitted,
            K::Started { slot } => EventKind::Started { slot: *slot },
            K::ItemProduced { index } => EventKind::ItemProduced { index: *index },
            K::Finished => EventKind::Finished,
            K::Failed { error } => EventKind::Failed {
                error: error.to_string(),
            },
            K::Cancelled => EventKind::Cancelled,
            K::Stopped => EventKind::Stopped,
            K::Resumed => EventKind::Resumed,
            _ => EventKind::Other,
        };
        Event {
            seq,
            at: e.at.as_secs_f64(),
            task: e.task.map(smqsched::TaskId::index),
            label: e.label.as_deref().map(str::to_owned),
            queue: e.queue.as_deref().map(str::to_owned),
            kind,
        }
    }
}

/// The body of `POST /api/cancel`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CancelRequest {
    /// The ids of the tasks to cancel (with everything that depends on them).
    pub tasks: Vec<u64>,
}

/// What became of one task of a [`CancelRequest`].
#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CancelOutcome {
    /// Cancelled, with its dependents.
    Cancelled,
    /// Not cancelled: it is running (running tasks are never interrupted).
    Started,
    /// Not cancelled: it had finished, failed or been cancelled already.
    Finished,
}

/// One task's line of a [`CancelReply`].
#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CancelResult {
    /// The task's id.
    pub id: u64,
    /// What became of it.
    pub outcome: CancelOutcome,
    /// How many tasks this cancelled (it and its dependents not cancelled before).
    pub count: usize,
}

/// The body of the reply to `POST /api/cancel`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CancelReply {
    /// How many tasks were cancelled in all.
    pub cancelled: usize,
    /// Each task asked for, in the order asked.
    pub tasks: Vec<CancelResult>,
}

/// The body of the reply to `POST /api/pause` and `POST /api/resume`.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ControlReply {
    /// Whether the scheduler is running after the request.
    pub running: bool,
}

/// The body of every error reply (4xx and 5xx).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorReply {
    /// What was wrong, in words.
    pub error: String,
}
