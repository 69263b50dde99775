//! Queues that start their tasks in submission order (`StartOrder::Submission`).
//!
//! # The rule
//!
//! A task of such a queue may start only once every task submitted to the same queue before
//! it has started or ended without running (cancelled, or an input failed); a releaser of a
//! slot held on the queue is the exception (see the end of this page). Its inputs,
//! resources and held slots still hold. The decision is the order rule of the parent module
//! over a graph with one more edge per task: its *order input*, the newest task submitted to
//! the same queue before it that has not started and has not ended. An order input is
//! walked **first**, before the task's own inputs, and it is available as soon as it has
//! started (not finished). So the walk from any task of the queue goes down the queue's
//! not-started tasks to the oldest, and pulls that one's inputs before anything else: the
//! upstream work of the queue's next task is claimed first, on any queue, and is not
//! starved by newer work. Tasks of other queues keep the rule as it is.
//!
//! # Why the incremental procedure still holds
//!
//! The two facts of the parent module stay true for the added edges:
//! * A task starts only when its order input has started, so it is still a leaf of the walk
//!   when it starts; and its start makes it the available order input of the next task,
//!   exactly as a finished input is available.
//! * A new task is the newest of its queue: no older task's order input changes when it is
//!   submitted, so a submission only adds a root and its edges.
//!
//! What changes an order input is a not-started task ending without running. When it is the
//! oldest of its queue it has no order input, so it is a leaf for this purpose and its
//! successor simply becomes free; otherwise its successor's order input becomes the task's
//! own, and a cursor that had pushed the task would lose that part of the walk, so the
//! claims are rebuilt (`Core::stale_claims`), as for a failed task with waiting inputs.
//! Both are rare: cancellations and failures.
//!
//! # The protocol (all under the scheduler's mutex)
//!
//! 1. Submission (`add_task_in_full`; every task of such a queue takes that path), unless
//!    the task releases a slot held on this queue (see below): if the queue's `fifo` is
//!    not empty, the new task gets one more pending input (its *gate*) and
//!    `order_prev` = the back of the `fifo`. It is pushed at the back, and gets an `Extra`
//!    with `in_order` set, so that its start goes through `start_in_full`. A task failed at
//!    submission (a failed input) gets neither gate nor place.
//! 2. Walk (`visit`): a task with pending inputs pushes its waiting inputs, then its order
//!    input (found by [`Core::order_input`]) last, so that it is visited first.
//! 3. A task leaves the waiting state ([`Core::order_left`], from `start_in_full` and
//!    `fail_waiting`): if it is the front of the `fifo`, pop it and every task behind it
//!    that ended without running; the new front, if any, loses its gate
//!    (`input_arrived`: it becomes ready if its inputs are all available). Otherwise (only
//!    a task ending without running can be behind the front) mark the claims stale.
//!
//! # Invariants
//!
//! * The front of a `fifo` is waiting (not started, not ended); the `fifo` holds every
//!   waiting task of the queue but its releasers of held slots, in submission order.
//! * Every task of the `fifo` but the front has exactly one gate counted in
//!   `Core::pending`; the front has none. So at most one task of the queue's `ready` set
//!   is ready, the oldest, and `best_ready` needs no change (a releaser of a held slot is
//!   in `ready_releasers`, and takes no free slot).
//! * A gated task is shown as waiting (not ready) in snapshots: it waits for its turn.
//!
//! A task that [releases](crate::TaskBuilder::releases) a slot held on its own queue has no
//! turn: it runs in the held slot, the continuation of its holder (which started in its
//! turn), not in a free one, so it is not put in the `fifo` and gets no gate (step 1), and
//! it is no other task's order input. It still waits for its holder to end, and for its
//! inputs. Without this, a task of the queue submitted between a holder and its releaser
//! would wait for a slot that only the releaser frees, and the releaser for that task's
//! turn: a deadlock on a one-slot device queue.

use super::*;
use crate::event::StartOrder;

impl Core {
    /// Step 1 of the protocol: the gate of the new task `id`, submitted to `queue`, which
    /// has not failed at submission. Returns the order input it records, if any: the caller
    /// adds a pending input for it.
    pub(super) fn order_submitted(&mut self, queue: u32, id: u64) -> Option<Option<u64>> {
        let q = &mut self.queues[queue as usize];
        if q.order != StartOrder::Submission {
            return None;
        }
        let prev = q.fifo.back().copied();
        q.fifo.push_back(id);
        Some(prev)
    }

    /// Step 2 of the protocol: the order input of the waiting task `t`, if it has one that
    /// has not started: the nearest task before it in its queue that is still waiting.
    /// Skips (and forgets) tasks that ended without running.
    pub(super) fn order_input(&mut self, t: u64) -> Option<u64> {
        let mut p = self.nodes[t as usize].extra.as_ref()?.order_prev?;
        loop {
            let n = &self.nodes[p as usize];
            match n.state {
                St::Waiting => break,
                St::Failed | St::Cancelled if n.started == NEVER => {
                    p = n.extra.as_ref()?.order_prev?;
                }
                // Started: every task before it has started or ended.
                _ => return None,
            }
        }
        if let Some(e) = self.nodes[t as usize].extra.as_mut() {
            e.order_prev = Some(p);
        }
        Some(p)
    }

    /// Step 3 of the protocol: task `t` has just left the waiting state (started, or ended
    /// without running).
    pub(super) fn order_left(&mut self, t: u64) {
        let n = &self.nodes[t as usize];
        if !n.extra.as_ref().is_some_and(|e| e.in_order) {
            return;
        }
        let q = &mut self.queues[n.queue as usize];
        if q.fifo.front() != Some(&t) {
            debug_assert!(n.state != St::Running, "a task started out of its turn");
            self.stale_claims = true;
            return;
        }
        q.fifo.pop_front();
        while let Some(&f) = q.fifo.front() {
            if self.nodes[f as usize].state == St::Waiting {
                break;
            }
            q.fifo.pop_front();
        }
        if let Some(&next) = q.fifo.front() {
            self.input_arrived(next);
        }
    }
}
