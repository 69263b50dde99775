//! The decision procedure: which task starts next (see the parent module's docs).

use super::*;

/// The cursors of the walk (see the module docs), newest last.
#[derive(Clone, Copy)]
pub(super) enum Cursor {
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

impl Core {
    /// Add the cursor of the new task `root`: it joins the newest run of unopened roots when
    /// it follows it directly.
    #[inline]
    pub(super) fn open_cursor(&mut self, root: u64) {
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

    /// The smallest key among ready tasks that their queue can take now.
    pub(super) fn best_ready(&mut self) -> Option<(Key, u64)> {
        let nodes = &self.nodes;
        let live = |key: Key, t: u64| {
            let n = &nodes[t as usize];
            n.in_ready && n.key() == key
        };
        let mut best: Option<(Key, u64)> = None;
        for q in &mut self.queues {
            let QueueState {
                ready,
                ready_releasers,
                resources,
                in_use,
                slots,
                ..
            } = q;
            let fits = |t: u64| {
                nodes[t as usize]
                    .requires()
                    .iter()
                    .all(|&(r, units)| resources[r].available >= units)
            };
            let no_resources = resources.is_empty();
            let a = if *in_use < *slots {
                if no_resources {
                    ready.first(live)
                } else {
                    ready.first_fitting(live, fits)
                }
            } else {
                None
            };
            if let Some(c) = a
                && best.is_none_or(|(k, _)| c.0 < k)
            {
                best = Some(c);
            }
            if ready_releasers.is_empty() {
                continue;
            }
            let b = if no_resources {
                ready_releasers.first(live)
            } else {
                ready_releasers.first_fitting(live, fits)
            };
            if let Some(c) = b
                && best.is_none_or(|(k, _)| c.0 < k)
            {
                best = Some(c);
            }
        }
        best
    }

    #[inline]
    pub(super) fn has_capacity(&self) -> bool {
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

    pub(super) fn decide(&mut self) {
        while self.has_capacity() {
            let best = self.best_ready();
            let newest = loop {
                match self.cursors.last() {
                    Some(&Cursor::Open { root, base }) if base < self.walk.len() => {
                        break Some(rank_of_root(root));
                    }
                    Some(&Cursor::Roots { lo, hi }) if lo < hi => break Some(rank_of_root(hi - 1)),
                    Some(_) => {
                        self.cursors.pop();
                    }
                    None => break None,
                }
            };
            match (best, newest) {
                (Some((key, t)), Some(rank)) if rank_of(key) <= rank => self.start(t),
                (best, Some(_)) => self.advance_cursor(best.map(|(key, _)| rank_of(key))),
                (Some((_, t)), None) => self.start(t),
                (None, None) => return,
            }
        }
    }

    /// Forget every claim and open a cursor per not-started task, oldest first, as if each
    /// had just been submitted in order. Needed after a not-started task left the walk (it
    /// failed or was cancelled) while tasks were claimed through it: those tasks are now
    /// reached from elsewhere, and their place in the walk order changed.
    pub(super) fn rebuild_claims(&mut self) {
        self.stale_claims = false;
        for q in &mut self.queues {
            q.ready.clear();
            q.ready_releasers.clear();
        }
        self.cursors.clear();
        self.walk.clear();
        for t in 0..self.nodes.len() {
            let n = &mut self.nodes[t];
            if n.state == St::Waiting {
                n.claim = UNCLAIMED;
                n.in_ready = false;
                self.open_cursor(t as u64);
            }
        }
    }

    /// Step 4 of the decision procedure: advance the newest cursor until it meets a ready task
    /// or is exhausted. Called only when no ready task that its queue can take now is as new
    /// as that cursor (step 3); `best` is the rank of the best ready task, if any.
    #[inline(always)]
    pub(super) fn advance_cursor(&mut self, best: Option<u64>) {
        let (root, base) = loop {
            match self.cursors.last_mut() {
                None => return,
                Some(&mut Cursor::Open { root, base }) => break (root, base),
                Some(Cursor::Roots { lo, hi }) if *lo < *hi => {
                    // Open the newest root of the run. Its first visit is its root: only if
                    // that pushes inputs does the cursor need a place on the stack.
                    *hi -= 1;
                    let root = *hi;
                    let last = *lo == *hi;
                    if last {
                        self.cursors.pop();
                    }
                    let base = self.walk.len();
                    if self.visit(root, rank_of_root(root)) {
                        return;
                    }
                    if self.walk.len() > base {
                        self.cursors.push(Cursor::Open { root, base });
                        break (root, base);
                    }
                    // The visit changed nothing step 3 looks at (a root claimed before, or
                    // started, or waiting only for started tasks), so this cursor is
                    // exhausted and the next root of the run is the newest cursor. Go on with
                    // it at once, unless step 3 would now start the best ready task first.
                    if last || best.is_some_and(|b| b <= rank_of_root(root - 1)) {
                        return;
                    }
                }
                Some(Cursor::Roots { .. }) => {
                    self.cursors.pop();
                    return;
                }
            }
        };
        let rank = rank_of_root(root);
        // Visits that make no task ready change nothing step 3 looks at, so the walk goes on
        // without returning to it; it returns once a task is ready or the cursor is exhausted.
        while self.walk.len() > base {
            let Some(t) = self.walk.pop() else {
                return;
            };
            if self.visit(t, rank) {
                return;
            }
        }
    }

    /// Visit task `t` for the cursor of rank `rank`: claim it, unless it has started or a
    /// cursor as new claimed it. Push its not-started inputs, in reverse argument order, if
    /// it has pending ones; otherwise it is ready: start it or put it in its ready set, and
    /// return `true`.
    #[inline]
    fn visit(&mut self, t: u64, rank: u64) -> bool {
        let node = &mut self.nodes[t as usize];
        if node.state != St::Waiting || node.claim <= rank {
            return false;
        }
        node.claim = rank;
        node.seq = self.next_seq;
        self.next_seq += 1;
        if self.pending[t as usize] > 0 {
            let in_order = self.any_in_order && node.extra.is_some();
            let inputs = &self.edges[node.inputs_at..node.inputs_at + node.inputs_len as usize];
            for d in inputs.iter().rev() {
                // Waiting, read from the dense pending array rather than the input's node.
                if is_waiting(self.pending[d.task.0 as usize]) {
                    self.walk.push(d.task.0);
                }
            }
            // On a queue in submission order, its order input is visited first (see `order`).
            if in_order && let Some(p) = self.order_input(t) {
                self.walk.push(p);
            }
            return false;
        }
        // The decision advanced this cursor because no ready task that can start now has a
        // rank as new as `rank`, so `t` (rank `rank`) comes before all of them: if its queue
        // can take it, it is the task to start, with no trip through the ready set.
        let q = &self.queues[node.queue as usize];
        if node.extra.is_none() && q.in_use < q.slots {
            self.start(t);
            return true;
        }
        if node.in_ready {
            self.remove_ready(t);
        }
        self.insert_ready(t);
        true
    }

    #[inline]
    pub(super) fn is_releaser_in_place(&self, t: u64) -> bool {
        let n = &self.nodes[t as usize];
        n.releases()
            .is_some_and(|h| self.nodes[h as usize].queue == n.queue)
    }

    #[inline]
    pub(super) fn insert_ready(&mut self, t: u64) {
        let in_place = self.is_releaser_in_place(t);
        let n = &mut self.nodes[t as usize];
        n.in_ready = true;
        let q = &mut self.queues[n.queue as usize];
        let map = if in_place {
            &mut q.ready_releasers
        } else {
            &mut q.ready
        };
        map.insert(n.key(), t);
    }

    /// Take `t` out of its queue's ready set: lazily, its entry is dead from now on.
    #[inline]
    pub(super) fn remove_ready(&mut self, t: u64) {
        self.nodes[t as usize].in_ready = false;
    }

    #[inline]
    pub(super) fn start(&mut self, t: u64) {
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
        let n = &mut self.nodes[t as usize];
        if n.extra.is_some() {
            return self.start_in_full(t, now);
        }
        // The common task: no slot to take over, no resources.
        n.in_ready = false;
        n.state = St::Running;
        // A time read before the lock may precede a submission recorded meanwhile.
        n.started = now.max(n.submitted);
        let queue = n.queue;
        let q = &mut self.queues[queue as usize];
        q.in_use += 1;
        q.n_ready -= 1;
        q.n_running += 1;
        let slot = q.free.pop().unwrap_or(0);
        n.slot = slot;
        let job = n.job.take();
        self.pending[t as usize] = RUNNING;
        self.log.record(t);
        self.in_flight += 1;
        self.send(queue, t, job, slot);
    }

    /// [`start`](Self::start) for a task with an `Extra`: it may take over a held slot and
    /// may require resources.
    #[cold]
    fn start_in_full(&mut self, t: u64, now: u64) {
        self.remove_ready(t);
        let (queue, holder) = {
            let n = &self.nodes[t as usize];
            (n.queue as usize, n.releases())
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
        for &(r, units) in n.requires() {
            q.resources[r].available -= units;
        }
        q.n_ready -= 1;
        q.n_running += 1;
        n.state = St::Running;
        self.pending[t as usize] = RUNNING;
        self.log.record(t);
        n.started = now.max(n.submitted);
        n.slot = slot;
        self.in_flight += 1;
        let job = n.job.take();
        self.order_left(t);
        self.send(queue as u32, t, job, slot);
    }

    /// Queue the job of task `t`, just started in `slot` of `queue`, for its worker.
    #[inline]
    fn send(&mut self, queue: u32, t: u64, job: Option<Arc<dyn Job>>, slot: u32) {
        let Some(job) = job else {
            return;
        };
        #[cfg(test)]
        self.traced(Traced::Start(t));
        self.outbox.push((
            queue,
            Msg::Run {
                task: TaskId(t),
                job,
            },
        ));
        self.emit(Some(t), EventKind::Started { slot });
    }
}
