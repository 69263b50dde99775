//! A queue's state in the core: its slots, resources, ready tasks and counts.

use std::collections::VecDeque;
use std::sync::Arc;

use super::Core;
use super::ready::ReadySet;
use crate::event::StartOrder;

/// A named, counted resource of a queue (`Scheduler::queue_with_resources`).
pub(super) struct Resource {
    pub(super) name: String,
    pub(super) capacity: u32,
    /// Units not required by a running task.
    pub(super) available: u32,
}

/// One queue.
pub(super) struct QueueState {
    pub(super) name: Arc<str>,
    pub(super) slots: u32,
    /// The order in which it starts its ready tasks (see `order`).
    pub(super) order: StartOrder,
    /// Of a queue in submission order: its tasks that have not started, in submission
    /// order, with those that ended without running removed once they reach the front, so
    /// that the front is the one task that may start (see `order`). Empty otherwise.
    pub(super) fifo: VecDeque<u64>,
    /// Busy slots: running tasks, and slots held by finished `hold` tasks.
    pub(super) in_use: u32,
    /// Slots held by finished `hold` tasks.
    pub(super) held: u32,
    /// The free slots' numbers, the next one to take last.
    pub(super) free: Vec<u32>,
    pub(super) resources: Vec<Resource>,
    /// Its claimed, ready tasks, in walk order.
    pub(super) ready: ReadySet,
    /// The same for tasks that release a slot held on this queue: they can start with no
    /// free slot, in the held one.
    pub(super) ready_releasers: ReadySet,
    /// Its tasks by public state, for snapshots.
    pub(super) n_waiting: u64,
    pub(super) n_ready: u64,
    pub(super) n_running: u64,
    pub(super) n_done: u64,
    /// Failed and cancelled.
    pub(super) n_failed: u64,
}

impl Core {
    pub(crate) fn queue_named(&self, name: &str) -> Option<usize> {
        self.queues.iter().position(|q| &*q.name == name)
    }

    pub(crate) fn add_queue(
        &mut self,
        name: Arc<str>,
        slots: u32,
        resources: Vec<(String, u32)>,
        order: StartOrder,
    ) -> u32 {
        self.any_in_order |= order != StartOrder::NewestFirst;
        self.queues.push(QueueState {
            name,
            slots,
            order,
            fifo: VecDeque::new(),
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
}
