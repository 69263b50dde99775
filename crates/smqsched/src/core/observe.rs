//! Observation: events, states, snapshots and the change log behind incremental snapshots.

use super::*;

/// The tasks whose state changed, in order: change number `base + i` is `entries[i]`. Lets a
/// snapshot be refreshed by what changed since it was taken.
///
/// Nothing is recorded until the first snapshot is taken: that one is always full, so a
/// scheduler nobody observes keeps no log.
#[derive(Default)]
pub(super) struct ChangeLog {
    pub(super) entries: Vec<u64>,
    pub(super) base: u64,
    /// How many tasks exist; the log keeps at least four changes per task.
    pub(super) tasks: usize,
    /// Set by the first snapshot, and never cleared.
    pub(super) enabled: bool,
}

impl ChangeLog {
    pub(super) fn version(&self) -> u64 {
        self.base + self.entries.len() as u64
    }

    /// Record that task `t` changed. The log is kept bounded: a snapshot older than what is
    /// kept is rebuilt in full.
    #[inline]
    pub(super) fn record(&mut self, t: u64) {
        if self.enabled {
            self.push(t);
        }
    }

    fn push(&mut self, t: u64) {
        self.entries.push(t);
        if self.entries.len() > (1 << 16).max(4 * self.tasks) {
            let half = self.entries.len() / 2;
            self.entries.drain(..half);
            self.base += half as u64;
        }
    }
}

impl Core {
    pub(crate) fn subscribe(&mut self, tx: Sender<Event>) {
        self.subscribers.push(tx);
    }

    /// Send an event to the subscribers, if any. The check is inlined into every caller, so
    /// that a scheduler nobody observes pays nothing else.
    #[inline]
    pub(super) fn emit(&mut self, task: Option<u64>, kind: EventKind) {
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
                    Some(Arc::clone(self.labels.get(n.label))),
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

    pub(super) fn public_state(&self, t: usize) -> TaskState {
        match self.nodes[t].state {
            St::Waiting if self.pending[t] == 0 => TaskState::Ready,
            St::Waiting => TaskState::Waiting,
            St::Running => TaskState::Running,
            St::Done => TaskState::Done,
            St::Failed => TaskState::Failed,
            St::Cancelled => TaskState::Cancelled,
        }
    }

    pub(crate) fn task_state(&self, t: TaskId) -> Option<TaskState> {
        self.task_exists(t).then(|| self.public_state(t.0 as usize))
    }

    pub(crate) fn task_count(&self) -> usize {
        self.nodes.len()
    }

    pub(super) fn task_snapshot(&self, i: usize) -> TaskSnapshot {
        let n = &self.nodes[i];
        TaskSnapshot {
            id: TaskId(i as u64),
            label: Arc::clone(self.labels.get(n.label)),
            queue: n.queue,
            state: self.public_state(i),
            inputs: n.inputs_at..n.inputs_at + n.inputs_len as usize,
            items: n.items,
            slot: (n.started != NEVER).then_some(n.slot),
            submitted: Duration::from_nanos(n.submitted),
            started: stamp_to_duration(n.started),
            finished: stamp_to_duration(n.finished),
            error: n.error().cloned(),
            // Few schedulers set notes: a snapshot of one that has none looks nothing up.
            status: if self.statuses.is_empty() {
                None
            } else {
                self.statuses.get(&(i as u64)).cloned()
            },
        }
    }

    /// Set (or clear, with `None`) the status note of task `t`; `false` if there is no
    /// such task. Recorded as a change, so incremental snapshots carry it.
    pub(crate) fn set_status(&mut self, t: TaskId, status: Option<Arc<str>>) -> bool {
        let i = t.0;
        if i as usize >= self.nodes.len() {
            return false;
        }
        match status {
            Some(s) => self.statuses.insert(i, s),
            None => self.statuses.remove(&i),
        };
        self.log.record(i);
        true
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
        // From now on, refreshes of this snapshot need the changes.
        self.log.enabled = true;
    }

    pub(crate) fn queue_snapshots(&self) -> Vec<QueueSnapshot> {
        self.queues
            .iter()
            .map(|q| QueueSnapshot {
                name: Arc::clone(&q.name),
                slots: q.slots as usize,
                order: q.order,
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
