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

mod chunked;
mod decide;
mod observe;
mod progress;
mod ready;

pub(crate) use crate::task::{Dep, Job, Label, Msg, TaskId};
#[cfg(test)]
use crate::task::{RunCtx, TaskJob};
use chunked::Chunked;
use observe::ChangeLog;
use ready::ReadySet;

use std::collections::BTreeMap;
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::mem::ManuallyDrop;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::error::{CancelError, SubmitError, TaskError, TaskRef};
use crate::event::{Event, EventKind, QueueSnapshot, Snapshot, TaskSnapshot, TaskState};
use crossbeam_channel::Sender;
use smallvec::SmallVec;

#[derive(Copy, Clone, Debug, PartialEq, Eq)]
enum St {
    Waiting,
    Running,
    Done,
    Failed,
    Cancelled,
}

const UNCLAIMED: u64 = u64::MAX;

impl Node {
    /// Finished, failed or cancelled: it will not change state again.
    fn is_final(&self) -> bool {
        matches!(self.state, St::Done | St::Failed | St::Cancelled)
    }
}

struct Node {
    /// Its label: an index into `Core::label_table`.
    label: u32,
    /// Its inputs: `edges[inputs_at..inputs_at + inputs_len]`.
    inputs_at: usize,
    job: Option<Arc<dyn Job>>,
    /// The rank of the cursor that claimed it, or `UNCLAIMED`; with `seq`, its key.
    claim: u64,
    seq: u64,
    /// Nanoseconds since the epoch; `NEVER` if not (yet).
    submitted: u64,
    started: u64,
    finished: u64,
    /// What few tasks need: kept out of line so that the common node stays small.
    extra: Option<Box<Extra>>,
    queue: u32,
    inputs_len: u32,
    items: u32,
    slot: u32,
    state: St,
    in_ready: bool,
    hold: bool,
    holding: bool,
}

/// The rarely used part of a [`Node`].
#[derive(Default)]
struct Extra {
    /// Tasks ordered after this one whatever its outcome (`after_settled`).
    settled_dependents: Vec<u64>,
    /// Tasks waiting for one item, by item.
    item_dependents: BTreeMap<u32, Vec<u64>>,
    released_by: Option<u64>,
    releases: Option<u64>,
    requires: Box<[(usize, u32)]>,
    error: Option<Arc<TaskError>>,
}

impl Node {
    /// A new, waiting task's node.
    fn new(
        label: u32,
        queue: u32,
        inputs_at: usize,
        inputs_len: usize,
        job: Arc<dyn Job>,
        submitted: u64,
    ) -> Node {
        Node {
            label,
            inputs_at,
            job: Some(job),
            claim: UNCLAIMED,
            seq: 0,
            submitted,
            started: NEVER,
            finished: NEVER,
            extra: None,
            queue,
            inputs_len: inputs_len as u32,
            items: 0,
            slot: 0,
            state: St::Waiting,
            in_ready: false,
            hold: false,
            holding: false,
        }
    }

    /// Its key in its queue's ready set: walk order.
    fn key(&self) -> Key {
        key_of(self.claim, self.seq)
    }

    /// Its `Extra`, created if need be; `created` is set when it is (see `Core::has_extras`).
    fn extra_mut(&mut self, created: &mut bool) -> &mut Extra {
        self.extra.get_or_insert_with(|| {
            *created = true;
            Box::default()
        })
    }

    fn releases(&self) -> Option<u64> {
        self.extra.as_ref().and_then(|e| e.releases)
    }

    fn released_by(&self) -> Option<u64> {
        self.extra.as_ref().and_then(|e| e.released_by)
    }

    fn requires(&self) -> &[(usize, u32)] {
        self.extra.as_ref().map_or(&[], |e| &e.requires)
    }

    fn error(&self) -> Option<&Arc<TaskError>> {
        self.extra.as_ref().and_then(|e| e.error.as_ref())
    }

    fn set_error(&mut self, error: TaskError, created: &mut bool) {
        self.extra_mut(created).error = Some(Arc::new(error));
    }

    fn take_settled_dependents(&mut self) -> Vec<u64> {
        self.extra
            .as_mut()
            .map(|e| std::mem::take(&mut e.settled_dependents))
            .unwrap_or_default()
    }

    fn take_item_dependents(&mut self) -> BTreeMap<u32, Vec<u64>> {
        self.extra
            .as_mut()
            .map(|e| std::mem::take(&mut e.item_dependents))
            .unwrap_or_default()
    }
}

const NEVER: u64 = u64::MAX;

/// `Core::pending` of a task that is no longer waiting, by its state: the array doubles as a
/// dense record of which tasks are running, done, or ended otherwise (failed or cancelled),
/// so that registering a dependent reads four bytes rather than the producer's node.
const RUNNING: u32 = u32::MAX;
const DONE: u32 = u32::MAX - 1;
const ENDED: u32 = u32::MAX - 2;

/// Whether `pending`, an entry of `Core::pending`, is the count of a waiting task. A count
/// never reaches `ENDED`: that would take a task of over four billion inputs, whose edges
/// alone would fill 64 GiB.
#[inline]
fn is_waiting(pending: u32) -> bool {
    pending < ENDED
}

/// An entry of a list of dependents (`Core::heads`).
#[derive(Clone, Copy)]
struct Link {
    task: u64,
    /// The next entry, or `NO_LINK`.
    next: u64,
}

const NO_LINK: u64 = u64::MAX;

/// The scheduler's clock: nanoseconds since the scheduler was created. Callers read it before
/// taking the scheduler's lock and pass the time in, so that the lock is held for less.
#[derive(Clone)]
pub(crate) struct Clock {
    clock: quanta::Clock,
    /// The raw reading at creation.
    start: u64,
    /// The same moment as a standard `Instant`, for users.
    epoch: Instant,
}

impl Clock {
    pub(crate) fn new() -> Self {
        let clock = quanta::Clock::new();
        let start = clock.raw();
        Clock {
            clock,
            start,
            epoch: Instant::now(),
        }
    }

    /// Nanoseconds since creation.
    #[inline]
    pub(crate) fn stamp(&self) -> u64 {
        self.clock
            .delta_as_nanos(self.start, self.clock.raw())
            .min(NEVER - 1)
    }

    /// The time since creation.
    pub(crate) fn now(&self) -> Duration {
        Duration::from_nanos(self.stamp())
    }
}

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
    ready: ReadySet,
    ready_releasers: ReadySet,
    n_waiting: u64,
    n_ready: u64,
    n_running: u64,
    n_done: u64,
    n_failed: u64,
}

/// The cursors of the walk (see the module docs), newest last.
#[derive(Clone, Copy)]
enum Cursor {
    /// A lazy depth-first walk from the task `root`. Its pending visits are a segment of
    /// `Core::walk`: `walk[base..]` for the newest open cursor, `walk[base..next.base]` for an
    /// older one. Only the newest cursor ever advances, so the segments form a stack of
    /// stacks.
    Open { root: u64, base: usize },
    /// The cursors of the tasks `lo..hi`, consecutive submissions, none of them opened yet:
    /// each would first visit its own root, newest first. A run of submissions costs one
    /// entry, whatever its length; the newest root is opened when the walk reaches it.
    Roots { lo: u64, hi: u64 },
}

/// The rank of the cursor of root `root`: smaller for newer roots, so that claims of newer
/// cursors sort first.
fn rank_of_root(root: u64) -> u64 {
    UNCLAIMED - 1 - root
}

/// A task's input edges: inline for up to four, so that most submissions allocate nothing
/// for them.
pub(crate) type Deps = SmallVec<[Dep; 4]>;

/// A submission `Core::add_task` refused, with the job to drop outside the lock.
pub(crate) type Rejected = (SubmitError, Arc<dyn Job>);

/// Everything `Core::add_task` needs to know about a new task.
pub(crate) struct TaskSpec<'a> {
    pub(crate) queue: u32,
    /// The label given, or the default derived from the body's type.
    pub(crate) label: Label,
    /// Its inputs, value and ordering-only, in argument order.
    pub(crate) deps: &'a [Dep],
    pub(crate) job: Arc<dyn Job>,
    /// When it was submitted ([`Clock::stamp`]), or `None` to read the clock under the lock.
    pub(crate) at: Option<u64>,
    /// What few tasks use, out of line so that a plain submission moves less.
    pub(crate) options: Option<Box<SpecOptions>>,
}

/// The rarely used part of a [`TaskSpec`].
#[derive(Default)]
pub(crate) struct SpecOptions {
    /// Ordering-only inputs satisfied by any outcome, walked after `deps`.
    pub(crate) settled: Vec<TaskId>,
    pub(crate) hold: bool,
    pub(crate) releases: Option<TaskId>,
    pub(crate) requires: Vec<(String, u32)>,
}

/// [`SpecOptions`] checked against the graph and the queue.
struct CheckedOptions {
    settled: Vec<TaskId>,
    hold: bool,
    releases: Option<TaskId>,
    requires: Box<[(usize, u32)]>,
}

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
    queues: Vec<QueueState>,
    cursors: Vec<Cursor>,
    /// The cursors' pending visits (see [`Cursor`]).
    walk: Vec<u64>,
    /// The `seq` of the next claim: claims along one cursor's walk count up.
    next_seq: u64,
    pub(crate) running: bool,
    pub(crate) shutdown: bool,
    pub(crate) unfinished: u64,
    pub(crate) in_flight: u64,
    /// Set when `unfinished` or `in_flight` drops to zero: the caller wakes the threads in
    /// `wait` and `wait_drained` after unlocking, if the count is still zero then.
    pub(crate) wake: bool,
    subscribers: Vec<Sender<Event>>,
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
    /// Jobs abandoned under the lock; dropped by the caller after unlocking, so that `Drop`
    /// impls of captured values never run under the scheduler's mutex.
    pub(crate) graveyard: Vec<Arc<dyn Job>>,
    /// Messages for the workers, sent by the caller after unlocking.
    pub(crate) outbox: Vec<(u32, Msg)>,
    /// Every distinct label, shared by the nodes that carry it; a node keeps its index.
    label_table: Vec<Arc<str>>,
    /// The entries of `label_table` of default labels, by the type name's address and
    /// length.
    labels: HashMap<(usize, usize), u32, BuildHasherDefault<AddrHasher>>,
    /// The last default label used, and the last given label.
    last_label: Option<((usize, usize), u32)>,
    last_shared: Option<u32>,
}

#[cfg(test)]
mod tests;

/// Hashes the default-label key (a type name's address and length), computed at every
/// submission: one multiply per word instead of SipHash, which defends against crafted keys
/// that cannot occur here.
#[derive(Default)]
struct AddrHasher(u64);

impl Hasher for AddrHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.write_u64(u64::from(b));
        }
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = (self.0.rotate_left(5) ^ n).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }

    fn write_usize(&mut self, n: usize) {
        self.write_u64(n as u64);
    }
}

/// A claimed task's place in the walk order: its cursor's rank, then its claim's `seq`.
/// Two words rather than one `u128`, so that a ready-set entry is 24 bytes, not 32.
type Key = (u64, u64);

fn key_of(rank: u64, seq: u64) -> Key {
    (rank, seq)
}

fn rank_of(key: Key) -> u64 {
    key.0
}

impl Core {
    pub(crate) fn new() -> Self {
        Core {
            nodes: Chunked::default(),
            has_extras: false,
            pending: Vec::new(),
            heads: Vec::new(),
            queues: Vec::new(),
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
            decision_time: None,
            graveyard: Vec::new(),
            outbox: Vec::new(),
            label_table: Vec::new(),
            labels: HashMap::default(),
            last_label: None,
            last_shared: None,
        }
    }

    pub(crate) fn now(&self) -> Duration {
        self.clock.now()
    }

    fn stamp(&self) -> u64 {
        self.clock.stamp()
    }

    /// The index in `label_table` of a new task's label. A default label is interned by
    /// its type name's address: one entry, and one shortening, per body type. A given label
    /// is shared with the previous task's when the text is the same.
    #[inline]
    fn intern_label(&mut self, label: Label) -> u32 {
        // Tasks mostly come in runs of one body type: check the last one first.
        if let (Label::Static(name), Some((last, index))) = (&label, self.last_label)
            && last == (name.as_ptr() as usize, name.len())
        {
            return index;
        }
        self.intern_new_label(label)
    }

    #[cold]
    fn intern_new_label(&mut self, label: Label) -> u32 {
        match label {
            Label::Static(name) => {
                let key = (name.as_ptr() as usize, name.len());
                let table = &mut self.label_table;
                let index = *self.labels.entry(key).or_insert_with(|| {
                    table.push(Arc::from(crate::task::short_label(name)));
                    (table.len() - 1) as u32
                });
                self.last_label = Some((key, index));
                index
            }
            Label::Shared(text) => {
                if let Some(last) = self.last_shared
                    && *self.label_table[last as usize] == *text
                {
                    return last;
                }
                self.label_table.push(text);
                let index = (self.label_table.len() - 1) as u32;
                self.last_shared = Some(index);
                index
            }
        }
    }

    /// The label of task `t`.
    fn label(&self, t: u64) -> &Arc<str> {
        &self.label_table[self.nodes[t as usize].label as usize]
    }

    pub(crate) fn epoch(&self) -> Instant {
        self.clock.epoch
    }

    pub(crate) fn clock(&self) -> &Clock {
        &self.clock
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
            ready: ReadySet::default(),
            ready_releasers: ReadySet::default(),
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

    /// Send an event to the subscribers, if any. The check is inlined into every caller, so
    /// that a scheduler nobody observes pays nothing else.
    #[inline]
    fn emit(&mut self, task: Option<u64>, kind: EventKind) {
        if !self.subscribers.is_empty() {
            self.emit_to_subscribers(task, kind);
        }
    }

    #[cold]
    fn emit_to_subscribers(&mut self, task: Option<u64>, kind: EventKind) {
        let (label, queue) = match task {
            Some(t) => {
                let n = &self.nodes[t as usize];
                (
                    Some(Arc::clone(&self.label_table[n.label as usize])),
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

    /// Check a new task's options; nothing is changed.
    fn check_options(&self, queue: u32, o: SpecOptions) -> Result<CheckedOptions, SubmitError> {
        if let Some(&t) = o.settled.iter().find(|&&t| !self.task_exists(t)) {
            return Err(SubmitError::ForeignInput { input: t });
        }
        let qs = &self.queues[queue as usize];
        let mut requires = Vec::with_capacity(o.requires.len());
        for (name, units) in o.requires {
            let Some(r) = qs.resources.iter().position(|r| r.name == name) else {
                return Err(SubmitError::UnknownResource {
                    queue: Arc::clone(&qs.name),
                    resource: name,
                });
            };
            if units > qs.resources[r].capacity {
                return Err(SubmitError::ResourceExceedsCapacity {
                    queue: Arc::clone(&qs.name),
                    resource: name,
                    wanted: units,
                    capacity: qs.resources[r].capacity,
                });
            }
            requires.push((r, units));
        }
        if let Some(h) = o.releases {
            if !self.task_exists(h) {
                return Err(SubmitError::ForeignInput { input: h });
            }
            let holder = &self.nodes[h.0 as usize];
            if !holder.hold {
                return Err(SubmitError::NotHolding { task: h });
            }
            if let Some(by) = holder.released_by() {
                return Err(SubmitError::AlreadyReleased {
                    task: h,
                    by: TaskId(by),
                });
            }
        }
        Ok(CheckedOptions {
            settled: o.settled,
            hold: o.hold,
            releases: o.releases,
            requires: requires.into(),
        })
    }

    /// Validate and record a task. On error nothing is changed and the job is returned to the
    /// caller, to be dropped outside the lock.
    ///
    /// The common task, without options and with no failed input, takes a short path; every
    /// other goes through [`add_task_in_full`](Self::add_task_in_full).
    #[inline]
    pub(crate) fn add_task(&mut self, spec: TaskSpec<'_>) -> Result<TaskId, Rejected> {
        let TaskSpec {
            queue,
            label,
            deps,
            job,
            at,
            options,
        } = spec;
        if options.is_some() || self.shutdown || deps.iter().any(|d| d.item.is_some()) {
            return self.add_task_in_full(TaskSpec {
                queue,
                label,
                deps,
                job,
                at,
                options,
            });
        }
        // One pass over the inputs, each a whole result: count those not available yet and
        // register the new task with them. It reads the producers' entries in the dense
        // arrays only, not their nodes, so that a fan-in of many inputs stays cheap. An
        // unknown or failed input undoes the registrations. (The spec is taken apart up
        // front: that compiles to less work per submission than reading it in place.)
        let id = self.nodes.len() as u64;
        let mut pending = 0u32;
        for (i, d) in deps.iter().enumerate() {
            let p = d.task.0 as usize;
            match self.pending.get(p) {
                None => {
                    self.unregister(&deps[..i]);
                    return Err((SubmitError::ForeignInput { input: d.task }, job));
                }
                Some(&DONE) => {}
                Some(&ENDED) => {
                    self.unregister(&deps[..i]);
                    return self.add_task_in_full(TaskSpec {
                        queue,
                        label,
                        deps,
                        job,
                        at,
                        options: None,
                    });
                }
                Some(_) => {
                    pending += 1;
                    Self::link(&mut self.links, &mut self.heads, p, id);
                }
            }
        }
        let inputs_at = self.edges.len();
        self.edges.extend_from_slice(deps);
        let now = at.unwrap_or_else(|| self.stamp());
        let label = self.intern_label(label);
        let node = Node::new(label, queue, inputs_at, deps.len(), job, now);
        self.push_node(node, pending);
        self.open_cursor(id);
        Ok(TaskId(id))
    }

    /// Add task `id` to the dependents of task `p`; `links` and `heads` are the core's.
    #[inline]
    fn link(links: &mut Vec<Link>, heads: &mut [u64], p: usize, id: u64) {
        links.push(Link {
            task: id,
            next: heads[p],
        });
        heads[p] = (links.len() - 1) as u64;
    }

    /// Empty the list of dependents of task `t`; returns its first entry in `links`.
    #[inline]
    fn take_dependents(&mut self, t: u64) -> u64 {
        std::mem::replace(&mut self.heads[t as usize], NO_LINK)
    }

    /// Undo the registrations `add_task` made for the whole-result inputs `deps`, last first:
    /// each producer not done got the newest link.
    fn unregister(&mut self, deps: &[Dep]) {
        for d in deps.iter().rev() {
            let p = d.task.0 as usize;
            if self.pending[p] != DONE
                && let Some(link) = self.links.pop()
            {
                self.heads[p] = link.next;
            }
        }
    }

    /// Record task `id` as a dependent of each of `deps` that is not available yet.
    fn register_dependents<'d>(&mut self, id: u64, deps: impl Iterator<Item = &'d Dep>) {
        for d in deps {
            let p = &mut self.nodes[d.task.0 as usize];
            if !Self::available(p, d.item) {
                match d.item {
                    Some(i) => p
                        .extra_mut(&mut self.has_extras)
                        .item_dependents
                        .entry(i)
                        .or_default()
                        .push(id),
                    None => Self::link(&mut self.links, &mut self.heads, d.task.0 as usize, id),
                }
            }
        }
    }

    /// Append the node of a new task with `pending` inputs not yet available, and count it.
    #[inline]
    fn push_node(&mut self, node: Node, pending: u32) {
        let id = self.nodes.len() as u64;
        let queue = node.queue;
        self.nodes.push(ManuallyDrop::new(node));
        self.pending.push(pending);
        self.heads.push(NO_LINK);
        self.unfinished += 1;
        self.log.tasks = self.nodes.len();
        let qs = &mut self.queues[queue as usize];
        if pending == 0 {
            qs.n_ready += 1;
        } else {
            qs.n_waiting += 1;
        }
        self.emit(Some(id), EventKind::Submitted);
    }

    /// [`add_task`](Self::add_task) for any task: with options, a failed input, or after
    /// shutdown.
    #[cold]
    fn add_task_in_full(&mut self, spec: TaskSpec<'_>) -> Result<TaskId, Rejected> {
        let TaskSpec {
            queue,
            label,
            deps,
            job,
            at,
            options,
        } = spec;
        if self.shutdown {
            return Err((SubmitError::Shutdown, job));
        }
        if let Some(d) = deps.iter().find(|d| !self.task_exists(d.task)) {
            return Err((SubmitError::ForeignInput { input: d.task }, job));
        }
        let options = match options.map(|o| self.check_options(queue, *o)) {
            None => None,
            Some(Ok(o)) => Some(o),
            Some(Err(e)) => return Err((e, job)),
        };
        let (settled, hold, releases): (&[TaskId], bool, Option<TaskId>) = match &options {
            Some(o) => (&o.settled, o.hold, o.releases),
            None => (&[], false, None),
        };
        // The releaser runs after its holder: an input after the others.
        let release = releases.map(Dep::whole);

        let id = self.nodes.len() as u64;
        let now = at.unwrap_or_else(|| self.stamp());
        let label = self.intern_label(label);

        // A failed input fails the new task at once; nothing is registered.
        let mut failure = None;
        let mut pending = 0u32;
        for d in deps.iter().chain(&release) {
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
        for &t in settled {
            if !self.nodes[t.0 as usize].is_final() {
                pending += 1;
            }
        }
        if let Some(h) = releases {
            self.nodes[h.0 as usize]
                .extra_mut(&mut self.has_extras)
                .released_by = Some(id);
        }
        if failure.is_none() {
            for &t in settled {
                let p = &mut self.nodes[t.0 as usize];
                if !p.is_final() {
                    p.extra_mut(&mut self.has_extras)
                        .settled_dependents
                        .push(id);
                }
            }
            self.register_dependents(id, deps.iter().chain(&release));
        }
        let inputs_at = self.edges.len();
        let inputs_len = deps.len() + release.iter().len() + settled.len();
        self.edges.extend_from_slice(deps);
        self.edges.extend(release);
        self.edges
            .extend(settled.iter().map(|&task| Dep::whole(task)));
        let mut node = Node::new(label, queue, inputs_at, inputs_len, job, now);
        node.hold = hold;
        node.extra = options
            .filter(|o| o.releases.is_some() || !o.requires.is_empty())
            .map(|o| {
                Box::new(Extra {
                    releases: o.releases.map(|h| h.0),
                    requires: o.requires,
                    ..Extra::default()
                })
            });
        self.has_extras |= node.extra.is_some();
        self.push_node(node, pending);
        match failure {
            Some((input, item)) => {
                let error = self.input_error(id, input, item);
                self.fail_waiting(id, error, St::Failed);
                self.cascade(id, St::Failed);
            }
            None => self.open_cursor(id),
        }
        Ok(TaskId(id))
    }

    /// Add the cursor of the new task `root`: it joins the newest run of unopened roots when
    /// it follows it directly.
    #[inline]
    fn open_cursor(&mut self, root: u64) {
        if let Some(Cursor::Roots { hi, .. }) = self.cursors.last_mut()
            && *hi == root
        {
            *hi += 1;
            return;
        }
        self.cursors.push(Cursor::Roots {
            lo: root,
            hi: root + 1,
        });
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
                reason: match p.error().map(|e| &**e) {
                    Some(TaskError::DependencyFailed { reason, .. }) => Arc::clone(reason),
                    Some(e) => Arc::from(e.to_string()),
                    None => Arc::from("failed"),
                },
            },
        }
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
