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
    pub error: Option<TaskError>,
    /// Its status note (such as its cluster job's state), if it has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
}

/// A task's error: its text, and its parts, from which [`TaskError::to_scheduler`] rebuilds
/// the scheduler's [`smqsched::TaskError`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskError {
    /// The error in words, as the scheduler writes it.
    pub text: String,
    /// What kind of error, with its parts.
    #[serde(flatten)]
    pub detail: ErrorDetail,
}

/// A task named in an error: its id and label.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskName {
    /// The task's id.
    pub id: u64,
    /// Its label.
    pub label: String,
}

/// The kinds of [`TaskError`], as the scheduler's [`smqsched::TaskError`]; written with a
/// `kind` field in snake case.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ErrorDetail {
    /// The task body panicked.
    Panicked {
        /// The task.
        task: TaskName,
        /// The panic message.
        message: String,
    },
    /// The task body returned an error.
    Failed {
        /// The task.
        task: TaskName,
        /// The error's message.
        message: String,
    },
    /// An input failed, so the task never ran.
    DependencyFailed {
        /// The task.
        task: TaskName,
        /// The input that failed.
        input: TaskName,
        /// The root cause.
        reason: String,
    },
    /// Cancelled before it started.
    Cancelled {
        /// The task.
        task: TaskName,
    },
    /// It asked for an item its producer did not produce.
    ItemOutOfRange {
        /// The task.
        task: TaskName,
        /// The producer.
        producer: TaskName,
        /// The item asked for.
        item: usize,
        /// How many items the producer produced.
        produced: usize,
    },
    /// The scheduler shut down before it could run.
    Shutdown {
        /// The task.
        task: TaskName,
    },
    /// A kind this version does not describe; see the text.
    Other,
}

fn name(t: &smqsched::TaskRef) -> TaskName {
    TaskName {
        id: t.id.index(),
        label: t.label.to_string(),
    }
}

fn task_ref(t: &TaskName) -> smqsched::TaskRef {
    smqsched::TaskRef {
        id: smqsched::TaskId::from_index(t.id),
        label: t.label.as_str().into(),
    }
}

impl From<&smqsched::TaskError> for TaskError {
    fn from(e: &smqsched::TaskError) -> Self {
        use smqsched::TaskError as E;
        let detail = match e {
            E::Panicked { task, message } => ErrorDetail::Panicked {
                task: name(task),
                message: message.to_string(),
            },
            E::Failed { task, message } => ErrorDetail::Failed {
                task: name(task),
                message: message.to_string(),
            },
            E::DependencyFailed {
                task,
                input,
                reason,
            } => ErrorDetail::DependencyFailed {
                task: name(task),
                input: name(input),
                reason: reason.to_string(),
            },
            E::Cancelled { task } => ErrorDetail::Cancelled { task: name(task) },
            E::ItemOutOfRange {
                task,
                producer,
                item,
                produced,
            } => ErrorDetail::ItemOutOfRange {
                task: name(task),
                producer: name(producer),
                item: *item,
                produced: *produced,
            },
            E::Shutdown { task } => ErrorDetail::Shutdown { task: name(task) },
            _ => ErrorDetail::Other,
        };
        TaskError {
            text: e.to_string(),
            detail,
        }
    }
}

impl TaskError {
    /// The scheduler's error this one was made from; for [`ErrorDetail::Other`], a
    /// [`Failed`](smqsched::TaskError::Failed) error of task `task` carrying the text.
    pub fn to_scheduler(&self, task: u64, label: &str) -> smqsched::TaskError {
        use smqsched::TaskError as E;
        match &self.detail {
            ErrorDetail::Panicked { task, message } => E::Panicked {
                task: task_ref(task),
                message: message.as_str().into(),
            },
            ErrorDetail::Failed { task, message } => E::Failed {
                task: task_ref(task),
                message: message.as_str().into(),
            },
            ErrorDetail::DependencyFailed {
                task,
                input,
                reason,
            } => E::DependencyFailed {
                task: task_ref(task),
                input: task_ref(input),
                reason: reason.as_str().into(),
            },
            ErrorDetail::Cancelled { task } => E::Cancelled {
                task: task_ref(task),
            },
            ErrorDetail::ItemOutOfRange {
                task,
                producer,
                item,
                produced,
            } => E::ItemOutOfRange {
                task: task_ref(task),
                producer: task_ref(producer),
                item: *item,
                produced: *produced,
            },
            ErrorDetail::Shutdown { task } => E::Shutdown {
                task: task_ref(task),
            },
            ErrorDetail::Other => E::Failed {
                task: task_ref(&TaskName {
                    id: task,
                    label: label.to_owned(),
                }),
                message: self.text.as_str().into(),
            },
        }
    }
}

/// One queue of a [`Snapshot`], as [`smqsched::QueueSnapshot`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Queue {
    /// The queue's name.
    pub name: String,
    /// Its number of slots.
    pub slots: usize,
    /// Whether it starts its tasks in submission order
    /// ([`smqsched::StartOrder::Submission`]) rather than newest first; absent (`false`)
    /// in the replies of servers that predate the mode.
    #[serde(default)]
    pub in_order: bool,
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
            in_order: q.order == smqsched::StartOrder::Submission,
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
        error: TaskError,
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
                error: error.into(),
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

impl Event {
    /// The scheduler's event this one was made from (task ids and errors refer to the served
    /// scheduler).
    pub fn to_scheduler(&self) -> smqsched::Event {
        use smqsched::EventKind as K;
        let kind = match &self.kind {
            EventKind::Submitted => K::Submitted,
            EventKind::Started { slot } => K::Started { slot: *slot },
            EventKind::ItemProduced { index } => K::ItemProduced { index: *index },
            EventKind::Finished => K::Finished,
            EventKind::Failed { error } => K::Failed {
                error: error
                    .to_scheduler(self.task.unwrap_or(0), self.label.as_deref().unwrap_or("")),
            },
            EventKind::Cancelled | EventKind::Other => K::Cancelled,
            EventKind::Stopped => K::Stopped,
            EventKind::Resumed => K::Resumed,
        };
        smqsched::Event {
            at: secs(self.at),
            task: self.task.map(smqsched::TaskId::from_index),
            label: self.label.as_deref().map(Into::into),
            queue: self.queue.as_deref().map(Into::into),
            kind,
        }
    }
}

/// `s` seconds as a duration; negative or not finite gives zero.
fn secs(s: f64) -> std::time::Duration {
    std::time::Duration::try_from_secs_f64(s).unwrap_or_default()
}

impl Snapshot {
    /// Merge this reply into `tasks`, the tasks known so far (by id): a full reply
    /// (`since` 0) replaces them, an incremental one updates and extends them.
    pub fn merge_into(self, tasks: &mut Vec<Task>) {
        if self.since == 0 {
            tasks.clear();
        }
        for t in self.tasks {
            let i = t.id as usize;
            if i < tasks.len() {
                tasks[i] = t;
            } else if i == tasks.len() {
                tasks.push(t);
            }
        }
    }

    /// The scheduler's snapshot of `tasks` (every task, by id) and this reply's queues.
    pub fn to_scheduler(&self, tasks: &[Task]) -> smqsched::Snapshot {
        let mut snap = smqsched::Snapshot::new();
        snap.at = secs(self.at);
        snap.running = self.running;
        snap.queues = self
            .queues
            .iter()
            .map(|q| smqsched::QueueSnapshot {
                name: q.name.as_str().into(),
                slots: q.slots,
                order: if q.in_order {
                    smqsched::StartOrder::Submission
                } else {
                    smqsched::StartOrder::NewestFirst
                },
                in_use: q.in_use,
                held: q.held,
                ready: q.ready,
                waiting: q.waiting,
                running: q.running,
                done: q.done,
                failed: q.failed,
            })
            .collect();
        for t in tasks {
            let from = snap.edges.len();
            snap.edges.extend(t.inputs.iter().map(|d| smqsched::Dep {
                task: smqsched::TaskId::from_index(d.task),
                item: d.item,
            }));
            let state = match t.state {
                State::Waiting => smqsched::TaskState::Waiting,
                State::Ready => smqsched::TaskState::Ready,
                State::Running => smqsched::TaskState::Running,
                State::Done => smqsched::TaskState::Done,
                State::Failed => smqsched::TaskState::Failed,
                State::Cancelled => smqsched::TaskState::Cancelled,
            };
            snap.tasks.push(smqsched::TaskSnapshot {
                id: smqsched::TaskId::from_index(t.id),
                label: t.label.as_str().into(),
                queue: t.queue,
                state,
                inputs: from..snap.edges.len(),
                items: t.items,
                slot: t.slot,
                submitted: secs(t.submitted),
                started: t.started.map(secs),
                finished: t.finished.map(secs),
                error: t
                    .error
                    .as_ref()
                    .map(|e| std::sync::Arc::new(e.to_scheduler(t.id, &t.label))),
                status: t.status.as_deref().map(Into::into),
            });
        }
        snap
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

/// One dataset of the served run (`GET /api/datasets`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Dataset {
    /// Its name.
    pub name: String,
    /// Its Zarr data type, e.g. `float64`.
    pub data_type: String,
    /// The shape of one acquisition (`[]` for a scalar reading).
    pub acquisition_shape: Vec<u64>,
    /// The acquisitions saved so far.
    pub len: u64,
    /// Whether each acquisition has a scan point (a companion `NAME_point` dataset, not
    /// listed itself).
    pub by_point: bool,
    /// Its attributes as committed (units, quantity, dimension names...; empty before its
    /// first commit or if it has none).
    #[serde(default, skip_serializing_if = "serde_json::Map::is_empty")]
    pub attributes: serde_json::Map<String, serde_json::Value>,
}

/// The datasets of the served run (`GET /api/datasets`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DatasetList {
    /// By name.
    pub datasets: Vec<Dataset>,
}

/// Acquisitions of a dataset, in the order they were saved (`GET /api/datasets/NAME?since=N`):
/// those from index `since` on, up to `dataset.len` or a reply's limit (about 260,000
/// values); ask again from `since` + the acquisitions received for the rest.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DatasetValues {
    /// The dataset, as listed.
    pub dataset: Dataset,
    /// The index of the first acquisition in this reply.
    pub since: u64,
    /// The scan point of each acquisition of this reply, if the dataset has points.
    pub points: Option<Vec<u64>>,
    /// The values, as numbers, acquisition after acquisition (each of the product of
    /// `acquisition_shape` values).
    pub values: Vec<f64>,
}
