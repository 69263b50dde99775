//! A task's node: its states, its place in the walk, and the rarely used part kept out of
//! line; and the dense encodings the core keeps beside the nodes.

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::error::TaskError;
use crate::task::Job;

/// A task's state in the core. `Waiting` covers the public `Waiting` and `Ready` (which of
/// the two is `Core::pending`'s business); the other three are final.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(super) enum St {
    Waiting,
    Running,
    Done,
    Failed,
    Cancelled,
}

/// `Node::claim` of a task no cursor has claimed yet; larger than every cursor's rank.
pub(super) const UNCLAIMED: u64 = u64::MAX;

/// A time stamp that was never taken (a task not started, or not finished).
pub(super) const NEVER: u64 = u64::MAX;

/// `Core::pending` of a task that is no longer waiting, by its state: the array doubles as a
/// dense record of which tasks are running, done, or ended otherwise (failed or cancelled),
/// so that registering a dependent reads four bytes rather than the producer's node.
pub(super) const RUNNING: u32 = u32::MAX;
pub(super) const DONE: u32 = u32::MAX - 1;
pub(super) const ENDED: u32 = u32::MAX - 2;

/// Whether `pending`, an entry of `Core::pending`, is the count of a waiting task. A count
/// never reaches `ENDED`: that would take a task of over four billion inputs, whose edges
/// alone would fill 64 GiB.
#[inline]
pub(super) fn is_waiting(pending: u32) -> bool {
    pending < ENDED
}

/// A claimed task's place in the walk order: its cursor's rank, then its claim's `seq`.
/// Two words rather than one `u128`, so that a ready-set entry is 24 bytes, not 32.
pub(super) type Key = (u64, u64);

pub(super) fn key_of(rank: u64, seq: u64) -> Key {
    (rank, seq)
}

pub(super) fn rank_of(key: Key) -> u64 {
    key.0
}

/// An entry of a list of dependents (`Core::heads`, `Core::links`).
#[derive(Clone, Copy)]
pub(super) struct Link {
    /// The dependent task.
    pub(super) task: u64,
    /// The next entry, or `NO_LINK`.
    pub(super) next: u64,
}

/// The end of a list of dependents.
pub(super) const NO_LINK: u64 = u64::MAX;

/// One task, as the core keeps it. 96 bytes: fields are ordered so that nothing is padded,
/// and what few tasks use lives in [`Extra`].
pub(super) struct Node {
    /// Its label: an index into the core's label table (`Labels::get`).
    pub(super) label: u32,
    /// Where its inputs start in `Core::edges`: they are
    /// `edges[inputs_at..inputs_at + inputs_len]`, value inputs in argument order, then the
    /// released task, then the ordering-only inputs satisfied by any outcome.
    pub(super) inputs_at: usize,
    /// Its body and result cell, held from submission until the task starts or ends without
    /// running; `None` after that (the worker or the graveyard has it).
    pub(super) job: Option<Arc<dyn Job>>,
    /// The rank of the cursor that claimed it, or `UNCLAIMED`; with `seq`, its key in its
    /// queue's ready set (see the module docs of `core`).
    pub(super) claim: u64,
    /// The claim's sequence number: claims along one cursor's walk count up.
    pub(super) seq: u64,
    /// When it was submitted, in nanoseconds since the clock's creation (`Clock::stamp`).
    pub(super) submitted: u64,
    /// When it started, or `NEVER`.
    pub(super) started: u64,
    /// When it finished, failed or was cancelled, or `NEVER`.
    pub(super) finished: u64,
    /// What few tasks need: kept out of line so that the common node stays small.
    pub(super) extra: Option<Box<Extra>>,
    /// Its queue: an index into `Core::queues`.
    pub(super) queue: u32,
    /// How many edges it has in `Core::edges` (see `inputs_at`).
    pub(super) inputs_len: u32,
    /// How many items it has produced (a progressive producer); 0 for other tasks.
    pub(super) items: u32,
    /// The slot of its queue it runs (or ran) in; meaningful once started.
    pub(super) slot: u32,
    /// Its state.
    pub(super) state: St,
    /// Whether its entry in its queue's ready set is live (the set removes lazily: see
    /// `ready::ReadySet`).
    pub(super) in_ready: bool,
    /// Submitted with `hold`: on success it keeps its slot until its releaser ends.
    pub(super) hold: bool,
    /// Finished with `hold` and still holding its slot.
    pub(super) holding: bool,
}

// The size the docs and the benchmarks speak of.
#[cfg(target_pointer_width = "64")]
const _: () = assert!(std::mem::size_of::<Node>() == 96);

/// The rarely used part of a [`Node`].
#[derive(Default)]
pub(super) struct Extra {
    /// Tasks ordered after this one whatever its outcome (`after_settled`).
    pub(super) settled_dependents: Vec<u64>,
    /// Tasks waiting for one item, by item.
    pub(super) item_dependents: BTreeMap<u32, Vec<u64>>,
    /// The task that releases the slot this one holds (it was submitted with `hold`).
    pub(super) released_by: Option<u64>,
    /// The task whose held slot this one releases when it ends.
    pub(super) releases: Option<u64>,
    /// The resources of its queue it requires while running: (index, units).
    pub(super) requires: Box<[(usize, u32)]>,
    /// Why it failed or was cancelled.
    pub(super) error: Option<Arc<TaskError>>,
    /// In its queue's submission order (a queue in `StartOrder::Submission`; see `order`).
    pub(super) in_order: bool,
    /// Of a task in its queue's submission order: the task submitted to the queue just
    /// before it that had not started then (see `order`), or one before that one once it
    /// is known to have ended without running.
    pub(super) order_prev: Option<u64>,
}

impl Node {
    /// A new, waiting task's node.
    pub(super) fn new(
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

    /// Finished, failed or cancelled: it will not change state again.
    pub(super) fn is_final(&self) -> bool {
        matches!(self.state, St::Done | St::Failed | St::Cancelled)
    }

    /// Whether its item `item` (or, for `None`, its whole result) is available.
    pub(super) fn has_available(&self, item: Option<u32>) -> bool {
        match item {
            Some(i) => i < self.items,
            None => self.state == St::Done,
        }
    }

    /// Its key in its queue's ready set: walk order.
    pub(super) fn key(&self) -> Key {
        key_of(self.claim, self.seq)
    }

    /// Its `Extra`, created if need be; `created` is set when it is (see `Core::has_extras`).
    pub(super) fn extra_mut(&mut self, created: &mut bool) -> &mut Extra {
        self.extra.get_or_insert_with(|| {
            *created = true;
            Box::default()
        })
    }

    pub(super) fn releases(&self) -> Option<u64> {
        self.extra.as_ref().and_then(|e| e.releases)
    }

    pub(super) fn released_by(&self) -> Option<u64> {
        self.extra.as_ref().and_then(|e| e.released_by)
    }

    pub(super) fn requires(&self) -> &[(usize, u32)] {
        self.extra.as_ref().map_or(&[], |e| &e.requires)
    }

    pub(super) fn error(&self) -> Option<&Arc<TaskError>> {
        self.extra.as_ref().and_then(|e| e.error.as_ref())
    }

    pub(super) fn set_error(&mut self, error: TaskError, created: &mut bool) {
        self.extra_mut(created).error = Some(Arc::new(error));
    }

    pub(super) fn take_settled_dependents(&mut self) -> Vec<u64> {
        self.extra
            .as_mut()
            .map(|e| std::mem::take(&mut e.settled_dependents))
            .unwrap_or_default()
    }

    pub(super) fn take_item_dependents(&mut self) -> BTreeMap<u32, Vec<u64>> {
        self.extra
            .as_mut()
            .map(|e| std::mem::take(&mut e.item_dependents))
            .unwrap_or_default()
    }
}
