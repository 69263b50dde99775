//! The scheduler's state and its one decision procedure.
//!
//! # The order rule
//!
//! Whenever a queue has a free slot, the scheduler behaves as if it
//! 1. walks the unfinished tasks from the newest submitted to the oldest;
//! 2. for each, goes depth-first through its inputs in argument order, never walking into a
//!    started task;
//! 3. starts the first task it meets that is not started, has all its inputs available and
//!    whose queue can take it (a free slot, or the slot held by the task it releases, and the
//!    resources it requires).
//!
//! A queue in submission order (`StartOrder::Submission`) adds one input to each of its
//! tasks, walked before the others: the newest task of the same queue submitted before it
//! that has not started, available once that one starts. Everything below holds for the
//! graph with those inputs; the module `order` gives the protocol that maintains them.
//!
//! # How it is computed without walking the graph at every decision
//!
//! Call the sequence of not-started tasks in the order the walk meets them the *walk order*.
//! Two facts make it cheap to maintain:
//!
//! * Starting a task never changes the relative walk order of the others: a task that can
//!   start has only started inputs, so it is a leaf of the walk.
//! * Submitting a task `R` changes the walk order only by moving the not-started tasks that
//!   `R` reaches (through not-started tasks) to the front, in `R`'s depth-first order. The
//!   rest keep their relative order, because the walk from older roots simply skips what `R`
//!   visited, and what `R` visited is closed under "is an input of".
//!
//! So every submission opens a lazy *cursor*: an explicit depth-first stack rooted at the new
//! task, with an *epoch rank* that is smaller for newer submissions. A cursor that visits a
//! task *claims* it: it gives the task the key `(rank, seq)`, with `seq` taken from a counter
//! shared by all cursors that only grows (so it counts up along each cursor's walk), unless a
//! cursor of the same or a newer epoch claimed it before. Keys order claimed tasks exactly as
//! the walk order does. Each queue keeps its claimed, ready tasks in a ready set ordered by
//! key (`ready::ReadySet`). Only the newest cursor ever advances, so all cursors share one
//! stack of pending visits (`Core::walk`), each owning the segment above its `base`. A cursor
//! that has not visited anything yet would first visit its root, so consecutive submissions
//! keep their unopened cursors as one run of roots (`Cursor::Roots`); the newest root of the
//! run is opened when the walk reaches it.
//!
//! # The decision procedure (`Core::schedule`)
//!
//! Repeat, while the scheduler runs and some queue could take a task:
//! 1. `best` = the smallest key among ready tasks that their queue can take now.
//! 2. Drop exhausted cursors from the newest end; `c` = the newest cursor left.
//! 3. If `best` exists and is not older than `c` (`rank(best) <= rank(c)`), start `best`:
//!    nothing `c` or older cursors will claim can precede it.
//! 4. Otherwise, if `c` exists, advance it: visit tasks (claim each; push the not-started
//!    inputs of one that is not ready, in reverse argument order) until one is ready or `c` is
//!    exhausted, then repeat. Visits that make nothing ready change nothing step 3 looks at,
//!    so they need no new decision. A ready task found here has rank `rank(c)`, which no
//!    ready task its queue could take now has (or step 3 would have started that one), so
//!    it is the smallest key: it starts at once if its queue can take it (with no
//!    resources or release to check), and goes to its ready set otherwise.
//! 5. Otherwise stop: nothing can start.
//!
//! Every not-started task is reachable by at least its own cursor, which stays active until it
//! has visited its root, so step 3 never starts a task ahead of an unclaimed better one. Each
//! cursor visits a task at most once, and nothing recurses on the graph's depth: a chain of a
//! million tasks is walked with a heap-allocated stack.
//!
//! # Invariants
//!
//! * A task is live in its queue's ready set iff it is `Waiting`, claimed, and has no pending
//!   inputs; its live entry has its current key. (Step 4 starts a task in the same step that
//!   claims it, so such a task never needs an entry.)
//! * `Core::pending` counts a waiting task's inputs that are not yet available (an input
//!   used twice counts twice, and is in the producer's dependents twice); for every other
//!   task it is `RUNNING`, `DONE` or `ENDED`, as its node's state says.
//! * A node holds its job exactly while its task waits.
//! * A started task's inputs are all available; so walking never enters a started task.
//! * `in_use` counts busy slots of a queue, including slots held by finished `hold` tasks.
//!
//! All of this state lives in [`Core`], behind the scheduler's one mutex. Task bodies never
//! run under it, and values are never dropped under it (see `Core::graveyard`), so task code
//! and `Drop` impls may call back into the scheduler.
//!
//! # Where things are
//!
//! This module holds [`Core`] and the protocol above. Beside it, one module per kind of
//! thing the core keeps or does:
//! * `node`: a task's [`Node`], its states, and the dense encodings kept beside the nodes;
//! * `clock`: the time stamps ([`Clock`]); `labels`: the label table;
//! * `queue`: a queue's slots, resources, ready sets and counts;
//! * `submit`: what a submission says ([`TaskSpec`]) and how a task is recorded;
//! * `decide`: the cursors and the decision procedure;
//! * `order`: queues that start their tasks in submission order (their protocol);
//! * `progress`: items, completions, failures, cancellation, stop and shutdown;
//! * `observe`: events, states and snapshots; `ready`: a queue's ready set; `chunked`: the
//!   node storage.

mod chunked;
mod clock;
mod decide;
mod labels;
mod node;
mod observe;
mod order;
mod progress;
mod queue;
mod ready;
mod submit;

pub(crate) use crate::task::{Dep, Job, Label, Msg, TaskId};
#[cfg(test)]
use crate::task::{RunCtx, TaskJob};
use chunked::Chunked;
pub(crate) use clock::Clock;
use clock::stamp_to_duration;
use decide::Cursor;
use labels::Labels;
use node::{
    DONE, ENDED, Extra, Key, Link, NEVER, NO_LINK, Node, RUNNING, St, UNCLAIMED, is_waiting,
    rank_of,
};
use observe::ChangeLog;
use queue::QueueState;
pub(crate) use submit::{Deps, SpecOptions, TaskSpec};

use std::mem::ManuallyDrop;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::error::{CancelError, SubmitError, TaskError, TaskRef};
use crate::event::{Event, EventKind, QueueSnapshot, Snapshot, TaskSnapshot, TaskState};
use crossbeam_channel::Sender;
use smallvec::SmallVec;

/// The scheduler's state. See the module docs for the protocol.
pub(crate) struct Core {
    /// Every task's node, by id. Nodes are not dropped one by one: see `Drop for Core`.
    nodes: Chunked<ManuallyDrop<Node>>,
    /// Set once any node has an `Extra`.
    has_extras: bool,
    /// How many inputs of each waiting task are not available yet, by id; `RUNNING`, `DONE`
    /// or `ENDED` once the task has left the waiting state. Kept apart from the nodes so that
    /// counting an arrival touches four bytes, not a node: a fan-out makes many arrivals at
    /// once, and a fan-in registers with many producers.
    pending: Vec<u32>,
    /// The tasks waiting for each task's whole result, by id: the first entry of their list
    /// in `links`, newest first, or `NO_LINK`. Dense, like `pending`.
    heads: Vec<u64>,
    /// Every queue, by index.
    queues: Vec<QueueState>,
    /// Some queue starts its tasks in submission order (see `order`): until one does, the
    /// common submission and walk skip the order's checks.
    any_in_order: bool,
    /// The cursors of the walk, newest last (see [`Cursor`]).
    cursors: Vec<Cursor>,
    /// The cursors' pending visits (see [`Cursor`]).
    walk: Vec<u64>,
    /// The `seq` of the next claim: claims along one cursor's walk count up.
    next_seq: u64,
    /// Started and not stopped: tasks may start.
    pub(crate) running: bool,
    /// Shut down: nothing starts or is accepted any more.
    pub(crate) shutdown: bool,
    /// Tasks neither finished, failed nor cancelled (what `Scheduler::wait` waits on).
    pub(crate) unfinished: u64,
    /// Tasks running (what `Scheduler::wait_drained` waits on).
    pub(crate) in_flight: u64,
    /// Set when `unfinished` or `in_flight` drops to zero: the caller wakes the threads in
    /// `wait` and `wait_drained` after unlocking, if the count is still zero then.
    pub(crate) wake: bool,
    /// Where events go; a subscriber whose receiver is gone is dropped at the next event.
    subscribers: Vec<Sender<Event>>,
    /// Time stamps of submissions, starts and ends.
    clock: Clock,
    /// Set when a not-started task that had not-started inputs failed or was cancelled: the
    /// walk order of what it reached has changed, so claims must be rebuilt.
    stale_claims: bool,
    /// The time of the decision under way, read once.
    decision_time: Option<u64>,
    /// Every task's inputs, one after another, in submission order.
    edges: Vec<Dep>,
    /// The lists of dependents of the tasks, linked through `next`: one entry per edge on a
    /// whole result. Kept beside the nodes rather than in them so that a node stays small.
    links: Vec<Link>,
    /// Tasks whose state changed, for incremental snapshots.
    log: ChangeLog,
    /// Progress notes set on tasks by what runs them (`Scheduler::set_status`), by id; kept
    /// beside the nodes since few tasks have one.
    statuses: std::collections::HashMap<u64, Arc<str>>,
    /// Jobs abandoned under the lock; dropped by the caller after unlocking, so that `Drop`
    /// impls of captured values never run under the scheduler's mutex.
    pub(crate) graveyard: Vec<Arc<dyn Job>>,
    /// Messages for the workers, sent by the caller after unlocking.
    pub(crate) outbox: Vec<(u32, Msg)>,
    /// Every distinct label; a node keeps its index.
    labels: Labels,
    /// What the core was told and started, in order, when a test asks for it.
    #[cfg(test)]
    pub(crate) trace: Option<Vec<Traced>>,
}

#[cfg(test)]
mod tests;
#[cfg(test)]
mod trace;
#[cfg(test)]
pub(crate) use trace::Traced;

impl Core {
    pub(crate) fn new() -> Self {
        Core {
            nodes: Chunked::default(),
            has_extras: false,
            pending: Vec::new(),
            heads: Vec::new(),
            queues: Vec::new(),
            any_in_order: false,
            clock: Clock::new(),
            cursors: Vec::new(),
            walk: Vec::new(),
            next_seq: 0,
            running: false,
            shutdown: false,
            unfinished: 0,
            in_flight: 0,
            wake: false,
            subscribers: Vec::new(),
            stale_claims: false,
            edges: Vec::new(),
            links: Vec::new(),
            log: ChangeLog::default(),
            statuses: std::collections::HashMap::new(),
            decision_time: None,
            graveyard: Vec::new(),
            outbox: Vec::new(),
            labels: Labels::default(),
            #[cfg(test)]
            trace: None,
        }
    }

    pub(crate) fn now(&self) -> Duration {
        self.clock.now()
    }

    fn stamp(&self) -> u64 {
        self.clock.stamp()
    }

    pub(crate) fn epoch(&self) -> Instant {
        self.clock.epoch
    }

    pub(crate) fn clock(&self) -> &Clock {
        &self.clock
    }

    /// The label of task `t`.
    fn label(&self, t: u64) -> &Arc<str> {
        self.labels.get(self.nodes[t as usize].label)
    }

    fn task_ref(&self, t: u64) -> TaskRef {
        TaskRef {
            id: TaskId(t),
            label: Arc::clone(self.label(t)),
        }
    }

    /// The id and label of an existing task.
    pub(crate) fn task_ref_of(&self, t: TaskId) -> TaskRef {
        self.task_ref(t.0)
    }

    pub(crate) fn task_exists(&self, t: TaskId) -> bool {
        (t.0 as usize) < self.nodes.len()
    }
}

impl Drop for Core {
    /// Release what the nodes own without visiting each node, which for a large run would
    /// be a pass over all of its memory, cold, at the very end. A node owns only its job,
    /// while it waits, and its `Extra`: when no task waits and no `Extra` was ever created,
    /// the nodes own nothing and their memory is freed as it is.
    fn drop(&mut self) {
        let waiting = self.queues.iter().any(|q| q.n_waiting + q.n_ready > 0);
        if waiting || self.has_extras {
            for n in self.nodes.iter_mut() {
                n.job = None;
                n.extra = None;
            }
        }
        debug_assert!(
            self.nodes
                .iter_mut()
                .all(|n| n.job.is_none() && n.extra.is_none()),
            "a node owns something its counters do not account for"
        );
    }
}
