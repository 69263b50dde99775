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
//! task *claims* it: it gives the task the key `(rank, seq)`, with `seq` counting up along the
//! cursor's walk, unless a cursor of the same or a newer epoch claimed it before. Keys order
//! claimed tasks exactly as the walk order does. Each queue keeps its claimed, ready tasks in
//! a map sorted by key.
//!
//! # The decision procedure (`Core::schedule`)
//!
//! Repeat, while the scheduler runs and some queue could take a task:
//! 1. `best` = the smallest key among ready tasks that their queue can take now.
//! 2. Drop exhausted cursors from the newest end; `c` = the newest cursor left.
//! 3. If `best` exists and is not older than `c` (`rank(best) <= rank(c)`), start `best`:
//!    nothing `c` or older cursors will claim can precede it.
//! 4. Otherwise, if `c` exists, advance it by one task (claim, and insert into the ready map
//!    if ready; if not ready, push its not-started inputs in reverse argument order) and
//!    repeat.
//! 5. Otherwise stop: nothing can start.
//!
//! Every not-started task is reachable by at least its own cursor, which stays active until it
//! has visited its root, so step 3 never starts a task ahead of an unclaimed better one. Each
//! cursor visits a task at most once, and nothing recurses on the graph's depth: a chain of a
//! million tasks is walked with a heap-allocated stack.
//!
//! # Invariants
//!
//! * A task is in its queue's ready map iff it is `Waiting`, claimed, and has no pending
//!   inputs; its key in the map is its current key.
//! * `pending` counts the task's inputs that are not yet available (an input used twice
//!   counts twice, and is in the producer's dependents twice).
//! * A started task's inputs are all available; so walking never enters a started task.
//! * `in_use` counts busy slots of a queue, including slots held by finished `hold` tasks.
//!
//! All of this state lives in [`Core`], behind the scheduler's one mutex. Task bodies never
//! run under it, and values are never dropped under it (see `Core::graveyard`), so task code
//! and `Drop` impls may call back into the scheduler.

use std::collections::BTreeMap;
use std::collections::HashMap;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::cell::Settle;
use crate::error::{CancelError, SubmitError, TaskError, TaskRef};
use crate::event::{Event, EventKind, QueueSnapshot, Snapshot, TaskSnapshot, TaskState};
use crossbeam_channel::Sender;
use smallvec::SmallVec;

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

#[derive(Copy, Clone, Debug, PartialEq, Eq)]
enum St {
    Waiting,
    Running,
    Done,
    Failed,
    Cancelled,
}

const UNCLAIMED: u64 = u64::MAX;

struct Node {
    label: Arc<str>,
    queue: u32,
    state: St,
    /// Its inputs: `edges[inputs_at..inputs_at + inputs_len]`.
    inputs_at: usize,
    inputs_len: u32,
    pending: u32,
    /// Tasks waiting for the whole result; most tasks have one or two.
    dependents: SmallVec<[u64; 2]>,
    item_dependents: BTreeMap<u32, Vec<u64>>,
    items: u32,
    job: Option<Box<dyn Job>>,
    claim: u64,
    key: u128,
    in_ready: bool,
    hold: bool,
    holding: bool,
    released_by: Option<u64>,
    releases: Option<u64>,
    requires: Box<[(usize, u32)]>,
    slot: u32,
    /// Nanoseconds since the epoch; `NEVER` if not (yet).
    submitted: u64,
    started: u64,
    finished: u64,
    error: Option<Arc<TaskError>>,
}

const NEVER: u64 = u64::MAX;

fn stamp_to_duration(ns: u64) -> Option<Duration> {
    (ns != NEVER).then(|| Duration::from_nanos(ns))
}

struct Resource {
    name: String,
    capacity: u32,
    available: u32,
}

struct QueueState {
    name: Arc<str>,
    slots: u32,
    in_use: u32,
    held: u32,
    free: Vec<u32>,
    resources: Vec<Resource>,
    ready: BTreeMap<u128, u64>,
    ready_releasers: BTreeMap<u128, u64>,
    n_waiting: u64,
    n_ready: u64,
    n_running: u64,
    n_done: u64,
    n_failed: u64,
}

struct Cursor {
    rank: u64,
    seq: u64,
    /// The root, until visited; kept out of `stack` so that a new cursor allocates nothing.
    root: Option<u64>,
    stack: Vec<u64>,
}

impl Cursor {
    fn new(root: u64) -> Self {
        Cursor {
            rank: UNCLAIMED - 1 - root,
            seq: 0,
            root: Some(root),
            stack: Vec::new(),
        }
    }

    fn is_exhausted(&self) -> bool {
        self.root.is_none() && self.stack.is_empty()
    }

    fn next(&mut self) -> Option<u64> {
        self.root.take().or_else(|| self.stack.pop())
    }
}

/// The tasks whose state changed, in order: change number `base + i` is `entries[i]`. Lets a
/// snapshot be refreshed by what changed since it was taken.
#[derive(Default)]
struct ChangeLog {
    entries: Vec<u64>,
    base: u64,
    /// How many tasks exist; the log keeps at least four changes per task.
    tasks: usize,
}

impl ChangeLog {
    fn version(&self) -> u64 {
        self.base + self.entries.len() as u64
    }

    /// Record that task `t` changed. The log is kept bounded: a snapshot older than what is
    /// kept is rebuilt in full.
    fn record(&mut self, t: u64) {
        self.entries.push(t);
        if self.entries.len() > (1 << 16).max(4 * self.tasks) {
            let half = self.entries.len() / 2;
            self.entries.drain(..half);
            self.base += half as u64;
        }
    }
}

/// Append-only storage in fixed-size chunks: growing never moves or frees what is stored,
/// so a graph of millions of tasks grows without large reallocations.
struct Chunked<T> {
    chunks: Vec<Vec<T>>,
    len: usize,
}

const CHUNK: usize = 4096;

impl<T> Default for Chunked<T> {
    fn default() -> Self {
        Chunked {
            chunks: Vec::new(),
            len: 0,
        }
    }
}

impl<T> Chunked<T> {
    fn len(&self) -> usize {
        self.len
    }

    fn push(&mut self, value: T) {
        match self.chunks.last_mut() {
            Some(c) if c.len() < CHUNK => c.push(value),
            _ => {
                let mut c = Vec::with_capacity(CHUNK);
                c.push(value);
                self.chunks.push(c);
            }
        }
        self.len += 1;
    }

    fn get(&self, i: usize) -> Option<&T> {
        self.chunks.get(i / CHUNK).and_then(|c| c.get(i % CHUNK))
    }

    fn iter_mut(&mut self) -> impl Iterator<Item = &mut T> {
        self.chunks.iter_mut().flatten()
    }
}

impl<T> std::ops::Index<usize> for Chunked<T> {
    type Output = T;
    fn index(&self, i: usize) -> &T {
        &self.chunks[i / CHUNK][i % CHUNK]
    }
}

impl<T> std::ops::IndexMut<usize> for Chunked<T> {
    fn index_mut(&mut self, i: usize) -> &mut T {
        &mut self.chunks[i / CHUNK][i % CHUNK]
    }
}

/// A submission `Core::add_task` refused, with the job to drop outside the lock.
pub(crate) type Rejected = (SubmitError, Box<dyn Job>);

/// Everything `Core::add_task` needs to know about a new task.
pub(crate) struct TaskSpec {
    pub(crate) queue: u32,
    /// The label given, or `None` for the default derived from `body_type`.
    pub(crate) label: Option<Arc<str>>,
    pub(crate) body_type: &'static str,
    pub(crate) deps: Vec<Dep>,
    pub(crate) hold: bool,
    pub(crate) releases: Option<TaskId>,
    pub(crate) requires: Vec<(String, u32)>,
    pub(crate) job: Box<dyn Job>,
}

/// The scheduler's state. See the module docs for the protocol.
pub(crate) struct Core {
    nodes: Chunked<Node>,
    queues: Vec<QueueState>,
    cursors: Vec<Cursor>,
    pub(crate) running: bool,
    pub(crate) shutdown: bool,
    pub(crate) unfinished: u64,
    pub(crate) in_flight: u64,
    subscribers: Vec<Sender<Event>>,
    epoch: Instant,
    /// Set when a not-started task that had not-started inputs failed or was cancelled: the
    /// walk order of what it reached has changed, so claims must be rebuilt.
    stale_claims: bool,
    /// The time of the decision under way, read once.
    decision_time: Option<u64>,
    /// Every task's inputs, one after another, in submission order.
    edges: Vec<Dep>,
    /// Tasks whose state changed, for incremental snapshots.
    log: ChangeLog,
    /// Jobs abandoned under the lock; dropped by the caller after unlocking, so that `Drop`
    /// impls of captured values never run under the scheduler's mutex.
    pub(crate) graveyard: Vec<Box<dyn Job>>,
    /// Messages for the workers, sent by the caller after unlocking.
    pub(crate) outbox: Vec<(u32, Msg)>,
    /// Default labels by the address and length of the body's type name.
    labels: HashMap<(usize, usize), Arc<str>>,
}

#[cfg(test)]
#[path = "core_tests.rs"]
mod tests;

fn key_of(rank: u64, seq: u64) -> u128 {
    (u128::from(rank) << 64) | u128::from(seq)
}

fn rank_of(key: u128) -> u64 {
    (key >> 64) as u64
}

impl Core {
    pub(crate) fn new() -> Self {
        Core {
            nodes: Chunked::default(),
            queues: Vec::new(),
            cursors: Vec::new(),
            running: false,
            shutdown: false,
            unfinished: 0,
            in_flight: 0,
            subscribers: Vec::new(),
            epoch: Instant::now(),
            stale_claims: false,
            edges: Vec::new(),
            log: ChangeLog::default(),
            decision_time: None,
            graveyard: Vec::new(),
            outbox: Vec::new(),
            labels: HashMap::new(),
        }
    }

    pub(crate) fn now(&self) -> Duration {
        self.epoch.elapsed()
    }

    fn stamp(&self) -> u64 {
        u64::try_from(self.epoch.elapsed().as_nanos()).unwrap_or(NEVER - 1)
    }

    /// The label of a task body without one: the function's name, or for a closure the name
    /// of the function that defines it. Interned: one allocation per body type.
    fn default_label(&mut self, type_name: &'static str) -> Arc<str> {
        let key = (type_name.as_ptr() as usize, type_name.len());
        Arc::clone(self.labels.entry(key).or_insert_with(|| {
            let base = type_name.split('<').next().unwrap_or(type_name);
            let name = base
                .rsplit("::")
                .find(|s| !s.is_empty() && !s.starts_with("{{"))
                .unwrap_or(base);
            Arc::from(name)
        }))
    }

    pub(crate) fn epoch(&self) -> Instant {
        self.epoch
    }

    // ----- queues -------------------------------------------------------------------------

    pub(crate) fn queue_named(&self, name: &str) -> Option<usize> {
        self.queues.iter().position(|q| &*q.name == name)
    }

    pub(crate) fn add_queue(
        &mut self,
        name: Arc<str>,
        slots: u32,
        resources: Vec<(String, u32)>,
    ) -> u32 {
        self.queues.push(QueueState {
            name,
            slots,
            in_use: 0,
            held: 0,
            free: (0..slots).rev().collect(),
            resources: resources
                .into_iter()
                .map(|(name, capacity)| Resource {
                    name,
                    capacity,
                    available: capacity,
                })
                .collect(),
            ready: BTreeMap::new(),
            ready_releasers: BTreeMap::new(),
            n_waiting: 0,
            n_ready: 0,
            n_running: 0,
            n_done: 0,
            n_failed: 0,
        });
        (self.queues.len() - 1) as u32
    }

    // ----- events -------------------------------------------------------------------------

    pub(crate) fn subscribe(&mut self, tx: Sender<Event>) {
        self.subscribers.push(tx);
    }

    fn emit(&mut self, task: Option<u64>, kind: EventKind) {
        if self.subscribers.is_empty() {
            return;
        }
        let (label, queue) = match task {
            Some(t) => {
                let n = &self.nodes[t as usize];
                (
                    Some(Arc::clone(&n.label)),
                    Some(Arc::clone(&self.queues[n.queue as usize].name)),
                )
            }
            None => (None, None),
        };
        let event = Event {
            at: self.now(),
            task: task.map(TaskId),
            label,
            queue,
            kind,
        };
        self.subscribers.retain(|s| s.send(event.clone()).is_ok());
    }

    // ----- submission ---------------------------------------------------------------------

    fn task_ref(&self, t: u64) -> TaskRef {
        TaskRef {
            id: TaskId(t),
            label: Arc::clone(&self.nodes[t as usize].label),
        }
    }

    pub(crate) fn task_exists(&self, t: TaskId) -> bool {
        (t.0 as usize) < self.nodes.len()
    }

    /// Validate and record a task. On error nothing is changed and the job is returned to the
    /// caller, to be dropped outside the lock.
    pub(crate) fn add_task(&mut self, spec: TaskSpec) -> Result<(TaskId, Arc<str>), Rejected> {
        let TaskSpec {
            queue,
            label,
            body_type,
            mut deps,
            hold,
            releases,
            requires,
            job,
        } = spec;
        if self.shutdown {
            return Err((SubmitError::Shutdown, job));
        }
        if let Some(d) = deps.iter().find(|d| !self.task_exists(d.task)) {
            return Err((SubmitError::ForeignInput { input: d.task }, job));
        }
        let qs = &self.queues[queue as usize];
        let mut req = Vec::with_capacity(requires.len());
        for (name, units) in requires {
            let Some(r) = qs.resources.iter().position(|r| r.name == name) else {
                return Err((
                    SubmitError::UnknownResource {
                        queue: Arc::clone(&qs.name),
                        resource: name,
                    },
                    job,
                ));
            };
            if units > qs.resources[r].capacity {
                return Err((
                    SubmitError::ResourceExceedsCapacity {
                        queue: Arc::clone(&qs.name),
                        resource: name,
                        wanted: units,
                        capacity: qs.resources[r].capacity,
                    },
                    job,
                ));
            }
            req.push((r, units));
        }
        if let Some(h) = releases {
            if !self.task_exists(h) {
                return Err((SubmitError::ForeignInput { input: h }, job));
            }
            let holder = &self.nodes[h.0 as usize];
            if !holder.hold {
                return Err((SubmitError::NotHolding { task: h }, job));
            }
            if let Some(by) = holder.released_by {
                return Err((
                    SubmitError::AlreadyReleased {
                        task: h,
                        by: TaskId(by),
                    },
                    job,
                ));
            }
            // The releaser runs after its holder.
            deps.push(Dep {
                task: h,
                item: None,
            });
        }

        let id = self.nodes.len() as u64;
        let now = self.stamp();
        let label = match label {
            Some(l) => l,
            None => self.default_label(body_type),
        };

        // A failed input fails the new task at once; nothing is registered.
        let mut failure = None;
        let mut pending = 0u32;
        for d in &deps {
            let p = &self.nodes[d.task.0 as usize];
            if Self::available(p, d.item) {
                continue;
            }
            match p.state {
                St::Failed | St::Cancelled | St::Done => {
                    failure = Some((d.task.0, d.item));
                    break;
                }
                St::Waiting | St::Running => pending += 1,
            }
        }
        if let Some(h) = releases {
            self.nodes[h.0 as usize].released_by = Some(id);
        }
        if failure.is_none() {
            for d in &deps {
                let p = &mut self.nodes[d.task.0 as usize];
                if !Self::available(p, d.item) {
                    match d.item {
                        Some(i) => p.item_dependents.entry(i).or_default().push(id),
                        None => p.dependents.push(id),
                    }
                }
            }
        }
        let inputs_at = self.edges.len();
        let inputs_len = deps.len() as u32;
        self.edges.extend_from_slice(&deps);
        self.nodes.push(Node {
            label: Arc::clone(&label),
            queue,
            state: St::Waiting,
            inputs_at,
            inputs_len,
            pending,
            dependents: SmallVec::new(),
            item_dependents: BTreeMap::new(),
            items: 0,
            job: Some(job),
            claim: UNCLAIMED,
            key: 0,
            in_ready: false,
            hold,
            holding: false,
            released_by: None,
            releases: releases.map(|h| h.0),
            requires: req.into(),
            slot: 0,
            submitted: now,
            started: NEVER,
            finished: NEVER,
            error: None,
        });
        self.unfinished += 1;
        self.log.tasks = self.nodes.len();
        let qs = &mut self.queues[queue as usize];
        if pending == 0 {
            qs.n_ready += 1;
        } else {
            qs.n_waiting += 1;
        }
        self.emit(Some(id), EventKind::Submitted);
        match failure {
            Some((input, item)) => {
                let error = self.input_error(id, input, item);
                self.fail_waiting(id, error, St::Failed);
                self.cascade(id, St::Failed);
            }
            None => self.cursors.push(Cursor::new(id)),
        }
        Ok((TaskId(id), label))
    }

    /// Whether input `item` (or the whole result) of `p` is available.
    fn available(p: &Node, item: Option<u32>) -> bool {
        match item {
            Some(i) => i < p.items,
            None => p.state == St::Done,
        }
    }

    /// The error of task `t` whose input `input` (item `item`) failed or came up short.
    fn input_error(&self, t: u64, input: u64, item: Option<u32>) -> TaskError {
        let p = &self.nodes[input as usize];
        match (p.state, item) {
            (St::Done, Some(i)) => TaskError::ItemOutOfRange {
                task: self.task_ref(t),
                producer: self.task_ref(input),
                item: i as usize,
                produced: p.items as usize,
            },
            _ => TaskError::DependencyFailed {
                task: self.task_ref(t),
                input: self.task_ref(input),
                // The root cause, shared: the text does not grow along a chain.
                reason: match p.error.as_deref() {
                    Some(TaskError::DependencyFailed { reason, .. }) => Arc::clone(reason),
                    Some(e) => Arc::from(e.to_string()),
                    None => Arc::from("failed"),
                },
            },
        }
    }

    // ----- the decision procedure ---------------------------------------------------------

    fn fits(&self, t: u64) -> bool {
        let n = &self.nodes[t as usize];
        let q = &self.queues[n.queue as usize];
        n.requires
            .iter()
            .all(|&(r, units)| q.resources[r].available >= units)
    }

    fn first_fitting(&self, map: &BTreeMap<u128, u64>, has_resources: bool) -> Option<(u128, u64)> {
        if has_resources {
            map.iter()
                .find(|&(_, &t)| self.fits(t))
                .map(|(&k, &t)| (k, t))
        } else {
            map.first_key_value().map(|(&k, &t)| (k, t))
        }
    }

    /// The smallest key among ready tasks that their queue can take now.
    fn best_ready(&self) -> Option<(u128, u64)> {
        let mut best: Option<(u128, u64)> = None;
        for q in &self.queues {
            let res = !q.resources.is_empty();
            let a = if q.in_use < q.slots {
                self.first_fitting(&q.ready, res)
            } else {
                None
            };
            let b = self.first_fitting(&q.ready_releasers, res);
            for c in [a, b].into_iter().flatten() {
                if best.is_none_or(|(k, _)| c.0 < k) {
                    best = Some(c);
                }
            }
        }
        best
    }

    fn has_capacity(&self) -> bool {
        self.queues.iter().any(|q| q.in_use < q.slots || q.held > 0)
    }

    /// Start every task the order rule allows. Call after any change.
    pub(crate) fn schedule(&mut self) {
        if self.running && !self.shutdown {
            if self.stale_claims {
                self.rebuild_claims();
            }
            self.decide();
        }
        self.decision_time = None;
    }

    fn decide(&mut self) {
        while self.has_capacity() {
            let best = self.best_ready();
            let newest = loop {
                match self.cursors.last() {
                    Some(c) if c.is_exhausted() => {
                        self.cursors.pop();
                    }
                    Some(c) => break Some(c.rank),
                    None => break None,
                }
            };
            match (best, newest) {
                (Some((key, t)), Some(rank)) if rank_of(key) <= rank => self.start(t),
                (_, Some(_)) => self.advance_cursor(),
                (Some((_, t)), None) => self.start(t),
                (None, None) => return,
            }
        }
    }

    /// Forget every claim and open a cursor per not-started task, oldest first, as if each
    /// had just been submitted in order. Needed after a not-started task left the walk (it
    /// failed or was cancelled) while tasks were claimed through it: those tasks are now
    /// reached from elsewhere, and their place in the walk order changed.
    fn rebuild_claims(&mut self) {
        self.stale_claims = false;
        for q in &mut self.queues {
            q.ready.clear();
            q.ready_releasers.clear();
        }
        self.cursors.clear();
        for (t, n) in self.nodes.iter_mut().enumerate() {
            if n.state == St::Waiting {
                n.claim = UNCLAIMED;
                n.in_ready = false;
                self.cursors.push(Cursor::new(t as u64));
            }
        }
    }

    /// Step 4 of the decision procedure: visit one task from the newest cursor.
    fn advance_cursor(&mut self) {
        let Some(c) = self.cursors.last_mut() else {
            return;
        };
        let Some(t) = c.next() else {
            return;
        };
        let node = &mut self.nodes[t as usize];
        if node.state != St::Waiting || node.claim <= c.rank {
            return;
        }
        let old_key = node.key;
        node.claim = c.rank;
        node.key = key_of(c.rank, c.seq);
        c.seq += 1;
        if node.pending > 0 {
            let inputs = &self.edges[node.inputs_at..node.inputs_at + node.inputs_len as usize];
            for d in inputs.iter().rev() {
                if self.nodes[d.task.0 as usize].state == St::Waiting {
                    c.stack.push(d.task.0);
                }
            }
            return;
        }
        if node.in_ready {
            self.remove_ready(t, old_key);
        }
        self.insert_ready(t);
    }

    fn is_releaser_in_place(&self, t: u64) -> bool {
        let n = &self.nodes[t as usize];
        n.releases
            .is_some_and(|h| self.nodes[h as usize].queue == n.queue)
    }

    fn insert_ready(&mut self, t: u64) {
        let in_place = self.is_releaser_in_place(t);
        let n = &mut self.nodes[t as usize];
        n.in_ready = true;
        let q = &mut self.queues[n.queue as usize];
        let map = if in_place {
            &mut q.ready_releasers
        } else {
            &mut q.ready
        };
        map.insert(n.key, t);
    }

    fn remove_ready(&mut self, t: u64, key: u128) {
        let n = &mut self.nodes[t as usize];
        n.in_ready = false;
        let q = &mut self.queues[n.queue as usize];
        if q.ready.remove(&key).is_none() {
            q.ready_releasers.remove(&key);
        }
    }

    fn start(&mut self, t: u64) {
        // One clock read per decision: tasks started together share their start time, and a
        // decision right after a completion uses the completion's time.
        let now = match self.decision_time {
            Some(now) => now,
            None => {
                let now = self.stamp();
                self.decision_time = Some(now);
                now
            }
        };
        let key = self.nodes[t as usize].key;
        self.remove_ready(t, key);
        let (queue, holder) = {
            let n = &self.nodes[t as usize];
            (n.queue as usize, n.releases)
        };
        // Take over the held slot of a same-queue holder, or take a free one.
        let inherited = holder.and_then(|h| {
            let hn = &mut self.nodes[h as usize];
            (hn.queue as usize == queue && hn.holding).then(|| {
                hn.holding = false;
                hn.slot
            })
        });
        let q = &mut self.queues[queue];
        let slot = match inherited {
            Some(s) => {
                q.held -= 1;
                s
            }
            None => {
                q.in_use += 1;
                q.free.pop().unwrap_or(0)
            }
        };
        let n = &mut self.nodes[t as usize];
        for &(r, units) in n.requires.iter() {
            q.resources[r].available -= units;
        }
        q.n_ready -= 1;
        q.n_running += 1;
        n.state = St::Running;
        self.log.record(t);
        n.started = now;
        n.slot = slot;
        self.in_flight += 1;
        let label = Arc::clone(&n.label);
        let Some(job) = n.job.take() else {
            return;
        };
        self.outbox.push((
            queue as u32,
            Msg::Run {
                task: TaskId(t),
                label,
                job,
            },
        ));
        self.emit(Some(t), EventKind::Started { slot });
    }

    // ----- progress -----------------------------------------------------------------------

    /// A dependent's input became available.
    fn input_arrived(&mut self, d: u64) {
        let n = &mut self.nodes[d as usize];
        if n.state != St::Waiting {
            return;
        }
        n.pending -= 1;
        if n.pending == 0 {
            self.log.record(d);
            let q = &mut self.queues[n.queue as usize];
            q.n_waiting -= 1;
            q.n_ready += 1;
            if n.claim != UNCLAIMED {
                self.insert_ready(d);
            }
        }
    }

    /// Item `index` of producer `t` now exists.
    pub(crate) fn item_produced(&mut self, t: TaskId, index: usize) {
        let t = t.0;
        let idx = index as u32;
        let n = &mut self.nodes[t as usize];
        n.items = n.items.max(idx.saturating_add(1));
        self.log.record(t);
        let waiting = n.item_dependents.remove(&idx).unwrap_or_default();
        for d in waiting {
            self.input_arrived(d);
        }
        self.emit(Some(t), EventKind::ItemProduced { index });
        self.schedule();
    }

    /// Release the slot held by `h`, if it still holds one.
    fn release_hold(&mut self, h: u64) {
        let hn = &mut self.nodes[h as usize];
        if hn.holding {
            hn.holding = false;
            let q = &mut self.queues[hn.queue as usize];
            q.held -= 1;
            q.in_use -= 1;
            q.free.push(hn.slot);
        }
    }

    /// A worker finished task `t`.
    pub(crate) fn complete(&mut self, t: TaskId, outcome: Result<(), TaskError>) {
        let t = t.0;
        let now = self.stamp();
        self.decision_time = Some(now);
        self.in_flight -= 1;
        self.unfinished -= 1;
        let ok = outcome.is_ok();
        let n = &mut self.nodes[t as usize];
        n.finished = now;
        let q = &mut self.queues[n.queue as usize];
        q.n_running -= 1;
        for &(r, units) in n.requires.iter() {
            q.resources[r].available += units;
        }
        if ok && n.hold {
            n.holding = true;
            q.held += 1;
        } else {
            q.in_use -= 1;
            q.free.push(n.slot);
        }
        if let Some(h) = n.releases {
            self.release_hold(h);
        }
        let n = &mut self.nodes[t as usize];
        let q = &mut self.queues[n.queue as usize];
        match outcome {
            Ok(()) => {
                q.n_done += 1;
                n.state = St::Done;
                self.log.record(t);
                let deps = std::mem::take(&mut n.dependents);
                let past_end = std::mem::take(&mut n.item_dependents);
                for d in deps {
                    self.input_arrived(d);
                }
                for (item, ds) in past_end {
                    for d in ds {
                        let error = self.input_error(d, t, Some(item));
                        self.fail_waiting(d, error, St::Failed);
                        self.cascade(d, St::Failed);
                    }
                }
                self.emit(Some(t), EventKind::Finished);
            }
            Err(error) => {
                q.n_failed += 1;
                n.state = St::Failed;
                self.log.record(t);
                n.error = Some(Arc::new(error.clone()));
                self.emit(Some(t), EventKind::Failed { error });
                self.cascade(t, St::Failed);
            }
        }
        self.schedule();
    }

    /// Fail (or cancel) a task that has not started.
    fn fail_waiting(&mut self, t: u64, error: TaskError, state: St) {
        let n = &mut self.nodes[t as usize];
        if n.state != St::Waiting {
            return;
        }
        if n.in_ready {
            let key = n.key;
            self.remove_ready(t, key);
        }
        let n = &self.nodes[t as usize];
        let interior = self.edges[n.inputs_at..n.inputs_at + n.inputs_len as usize]
            .iter()
            .any(|d| self.nodes[d.task.0 as usize].state == St::Waiting);
        self.stale_claims |= interior;
        let now = self.stamp();
        let n = &mut self.nodes[t as usize];
        n.state = state;
        self.log.record(t);
        n.finished = now;
        let q = &mut self.queues[n.queue as usize];
        if n.pending == 0 {
            q.n_ready -= 1;
        } else {
            q.n_waiting -= 1;
        }
        q.n_failed += 1;
        self.unfinished -= 1;
        if let Some(job) = n.job.take() {
            job.fail(error.clone());
            self.graveyard.push(job);
        }
        n.error = Some(Arc::new(error.clone()));
        if let Some(h) = n.releases {
            self.release_hold(h);
        }
        let kind = if state == St::Cancelled {
            EventKind::Cancelled
        } else {
            EventKind::Failed { error }
        };
        self.emit(Some(t), kind);
    }

    /// Fail every not-started task that depends, directly or not, on the failed task `root`.
    /// Iterative: no recursion on the graph's depth.
    fn cascade(&mut self, root: u64, state: St) {
        let mut work = vec![root];
        while let Some(x) = work.pop() {
            let n = &mut self.nodes[x as usize];
            let mut deps: Vec<u64> = std::mem::take(&mut n.dependents).into_vec();
            deps.extend(
                std::mem::take(&mut n.item_dependents)
                    .into_values()
                    .flatten(),
            );
            for d in deps {
                if self.nodes[d as usize].state != St::Waiting {
                    continue;
                }
                let error = self.input_error(d, x, None);
                self.fail_waiting(d, error, state);
                work.push(d);
            }
        }
    }

    /// Cancel a task that has not started, and everything that depends on it.
    pub(crate) fn cancel(&mut self, t: TaskId) -> Result<usize, CancelError> {
        if !self.task_exists(t) {
            return Err(CancelError::Unknown(t));
        }
        match self.nodes[t.0 as usize].state {
            St::Running => return Err(CancelError::Started(t)),
            St::Done | St::Failed | St::Cancelled => return Err(CancelError::Finished(t)),
            St::Waiting => {}
        }
        let before = self.unfinished;
        let error = TaskError::Cancelled {
            task: self.task_ref(t.0),
        };
        self.fail_waiting(t.0, error, St::Cancelled);
        self.cascade(t.0, St::Cancelled);
        self.schedule();
        Ok((before - self.unfinished) as usize)
    }

    // ----- control ------------------------------------------------------------------------

    pub(crate) fn set_running(&mut self, running: bool) {
        if self.shutdown || self.running == running {
            return;
        }
        self.running = running;
        let kind = if running {
            EventKind::Resumed
        } else {
            EventKind::Stopped
        };
        self.emit(None, kind);
        self.schedule();
    }

    /// Stop for good: fail every waiting task and tell the workers to exit once idle.
    pub(crate) fn shut_down(&mut self) {
        if self.shutdown {
            return;
        }
        self.set_running(false);
        self.shutdown = true;
        let waiting = self.unfinished - self.in_flight;
        for t in (0..self.nodes.len() as u64).filter(|_| waiting > 0) {
            if self.nodes[t as usize].state == St::Waiting {
                let error = TaskError::Shutdown {
                    task: self.task_ref(t),
                };
                self.fail_waiting(t, error, St::Cancelled);
            }
        }
        self.cursors.clear();
        for (i, q) in self.queues.iter().enumerate() {
            for _ in 0..q.slots {
                self.outbox.push((i as u32, Msg::Exit));
            }
        }
    }

    // ----- observation --------------------------------------------------------------------

    fn public_state(n: &Node) -> TaskState {
        match n.state {
            St::Waiting if n.pending == 0 => TaskState::Ready,
            St::Waiting => TaskState::Waiting,
            St::Running => TaskState::Running,
            St::Done => TaskState::Done,
            St::Failed => TaskState::Failed,
            St::Cancelled => TaskState::Cancelled,
        }
    }

    pub(crate) fn task_state(&self, t: TaskId) -> Option<TaskState> {
        self.nodes.get(t.0 as usize).map(Self::public_state)
    }

    pub(crate) fn task_count(&self) -> usize {
        self.nodes.len()
    }

    fn task_snapshot(&self, i: usize) -> TaskSnapshot {
        let n = &self.nodes[i];
        TaskSnapshot {
            id: TaskId(i as u64),
            label: Arc::clone(&n.label),
            queue: n.queue,
            state: Self::public_state(n),
            inputs: n.inputs_at..n.inputs_at + n.inputs_len as usize,
            items: n.items,
            slot: (n.started != NEVER).then_some(n.slot),
            submitted: Duration::from_nanos(n.submitted),
            started: stamp_to_duration(n.started),
            finished: stamp_to_duration(n.finished),
            error: n.error.clone(),
        }
    }

    /// Bring `snap` up to date. If it was taken from this scheduler and the changes since
    /// are still recorded, only the changed and the new tasks are copied; otherwise every
    /// task is. Either way `snap` ends equal to a fresh snapshot.
    pub(crate) fn snapshot_into(&mut self, snap: &mut Snapshot, sched: u64) {
        let version = self.log.version();
        let incremental = snap.sched == sched
            && snap.version >= self.log.base
            && snap.version <= version
            && snap.tasks.len() <= self.nodes.len()
            && snap.edges.len() <= self.edges.len();
        if incremental {
            let from = (snap.version - self.log.base) as usize;
            let known = snap.tasks.len();
            for &t in &self.log.entries[from..] {
                let t = t as usize;
                if t < known {
                    snap.tasks[t] = self.task_snapshot(t);
                }
            }
        } else {
            snap.tasks.clear();
            snap.edges.clear();
        }
        let known = snap.tasks.len();
        snap.tasks.reserve(self.nodes.len() - known);
        for i in known..self.nodes.len() {
            snap.tasks.push(self.task_snapshot(i));
        }
        let edges_known = snap.edges.len();
        snap.edges.extend_from_slice(&self.edges[edges_known..]);
        snap.queues.clear();
        snap.queues.extend(self.queue_snapshots());
        snap.at = self.now();
        snap.running = self.running;
        snap.sched = sched;
        snap.version = version;
    }

    pub(crate) fn queue_snapshots(&self) -> Vec<QueueSnapshot> {
        self.queues
            .iter()
            .map(|q| QueueSnapshot {
                name: Arc::clone(&q.name),
                slots: q.slots as usize,
                in_use: q.in_use as usize,
                held: q.held as usize,
                ready: q.n_ready as usize,
                waiting: q.n_waiting as usize,
                running: q.n_running as usize,
                done: q.n_done as usize,
                failed: q.n_failed as usize,
            })
            .collect()
    }
}
