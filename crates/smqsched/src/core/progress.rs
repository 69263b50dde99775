//! Progress: items, completions, failures, cancellation, stop and shutdown.

use super::*;

impl Core {
    /// A dependent's input became available.
    #[inline]
    pub(super) fn input_arrived(&mut self, d: u64) {
        let pending = &mut self.pending[d as usize];
        if !is_waiting(*pending) {
            return;
        }
        *pending -= 1;
        if *pending == 0 {
            let n = &self.nodes[d as usize];
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
        #[cfg(test)]
        self.traced(Traced::Item(t.0, index));
        let t = t.0;
        let idx = index as u32;
        let n = &mut self.nodes[t as usize];
        n.items = n.items.max(idx.saturating_add(1));
        self.log.record(t);
        let waiting = n
            .extra
            .as_mut()
            .and_then(|e| e.item_dependents.remove(&idx))
            .unwrap_or_default();
        for d in waiting {
            self.input_arrived(d);
        }
        self.emit(Some(t), EventKind::ItemProduced { index });
        self.schedule();
    }

    /// Empty the list of dependents of task `t`; returns its first entry in `links`.
    #[inline]
    fn take_dependents(&mut self, t: u64) -> u64 {
        std::mem::replace(&mut self.heads[t as usize], NO_LINK)
    }

    /// The error of task `t` whose input `input` (item `item`) failed or came up short.
    pub(super) fn input_error(&self, t: u64, input: u64, item: Option<u32>) -> TaskError {
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

    /// Release the slot held by `h`, if it still holds one.
    pub(super) fn release_hold(&mut self, h: u64) {
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
    #[cfg(test)]
    pub(crate) fn complete(&mut self, t: TaskId, outcome: Result<(), TaskError>) {
        let now = self.stamp();
        self.complete_at(t, outcome.map_err(Box::new), now);
    }

    /// [`complete`](Self::complete), at time `now` ([`Clock::stamp`]) read by the
    /// caller before it took the lock.
    pub(crate) fn complete_at(&mut self, t: TaskId, outcome: Result<(), Box<TaskError>>, now: u64) {
        #[cfg(test)]
        self.traced(Traced::End(t.0, outcome.is_ok()));
        let t = t.0;
        self.decision_time = Some(now);
        self.in_flight -= 1;
        self.unfinished -= 1;
        self.wake |= self.in_flight == 0 || self.unfinished == 0;
        let n = &mut self.nodes[t as usize];
        n.finished = now.max(n.started);
        // The common case: a success that frees its slot, with no options and no dependents
        // on items or on its mere end, so nothing kept in `Extra`.
        if outcome.is_ok() && n.extra.is_none() && !n.hold {
            n.state = St::Done;
            self.pending[t as usize] = DONE;
            let q = &mut self.queues[n.queue as usize];
            q.n_running -= 1;
            q.n_done += 1;
            q.in_use -= 1;
            q.free.push(n.slot);
            self.log.record(t);
            let mut link = self.take_dependents(t);
            while let Some(&Link { task, next }) = self.links.get(link as usize) {
                self.input_arrived(task);
                link = next;
            }
            self.emit(Some(t), EventKind::Finished);
            self.schedule();
            return;
        }
        self.complete_in_full(t, outcome);
    }

    /// [`complete_at`](Self::complete_at) in general, once the counts and the finishing
    /// time are recorded.
    #[cold]
    fn complete_in_full(&mut self, t: u64, outcome: Result<(), Box<TaskError>>) {
        let ok = outcome.is_ok();
        // A holder keeps its slot for its releaser, unless the releaser already ended
        // without running (failed or cancelled): then nobody would release it.
        let orphaned = self.nodes[t as usize]
            .released_by()
            .is_some_and(|r| self.nodes[r as usize].is_final());
        let n = &mut self.nodes[t as usize];
        let q = &mut self.queues[n.queue as usize];
        q.n_running -= 1;
        for &(r, units) in n.requires() {
            q.resources[r].available += units;
        }
        if ok && n.hold && !orphaned {
            n.holding = true;
            q.held += 1;
        } else {
            q.in_use -= 1;
            q.free.push(n.slot);
        }
        if let Some(h) = n.releases() {
            self.release_hold(h);
        }
        let n = &mut self.nodes[t as usize];
        let q = &mut self.queues[n.queue as usize];
        match outcome {
            Ok(()) => {
                q.n_done += 1;
                n.state = St::Done;
                self.pending[t as usize] = DONE;
                self.log.record(t);
                let extra = n.extra.as_mut().map(|e| {
                    (
                        std::mem::take(&mut e.settled_dependents),
                        std::mem::take(&mut e.item_dependents),
                    )
                });
                let mut link = self.take_dependents(t);
                while let Some(&Link { task, next }) = self.links.get(link as usize) {
                    self.input_arrived(task);
                    link = next;
                }
                if let Some((settled, past_end)) = extra {
                    for d in settled {
                        self.input_arrived(d);
                    }
                    for (item, ds) in past_end {
                        for d in ds {
                            let error = self.input_error(d, t, Some(item));
                            self.fail_waiting(d, error, St::Failed);
                            self.cascade(d, St::Failed);
                        }
                    }
                }
                self.emit(Some(t), EventKind::Finished);
            }
            Err(error) => {
                q.n_failed += 1;
                n.state = St::Failed;
                self.pending[t as usize] = ENDED;
                self.log.record(t);
                n.set_error(TaskError::clone(&error), &mut self.has_extras);
                self.emit(Some(t), EventKind::Failed { error: *error });
                self.cascade(t, St::Failed);
            }
        }
        self.schedule();
    }

    /// Fail (or cancel) a task that has not started.
    pub(super) fn fail_waiting(&mut self, t: u64, error: TaskError, state: St) {
        let n = &mut self.nodes[t as usize];
        if n.state != St::Waiting {
            return;
        }
        if n.in_ready {
            self.remove_ready(t);
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
        if std::mem::replace(&mut self.pending[t as usize], ENDED) == 0 {
            q.n_ready -= 1;
        } else {
            q.n_waiting -= 1;
        }
        q.n_failed += 1;
        self.unfinished -= 1;
        self.wake |= self.unfinished == 0;
        if let Some(job) = n.job.take() {
            job.fail(error.clone());
            self.graveyard.push(job);
        }
        n.set_error(error.clone(), &mut self.has_extras);
        if let Some(h) = n.releases() {
            self.release_hold(h);
        }
        self.order_left(t);
        let kind = if state == St::Cancelled {
            EventKind::Cancelled
        } else {
            EventKind::Failed { error }
        };
        self.emit(Some(t), kind);
    }

    /// Fail every not-started task that depends, directly or not, on the failed task `root`.
    /// Iterative: no recursion on the graph's depth.
    pub(super) fn cascade(&mut self, root: u64, state: St) {
        let mut work = vec![root];
        while let Some(x) = work.pop() {
            let n = &mut self.nodes[x as usize];
            // Ordered after `x` whatever its outcome: its end is their input.
            for d in n.take_settled_dependents() {
                self.input_arrived(d);
            }
            let mut deps = Vec::new();
            let mut link = self.take_dependents(x);
            while let Some(&Link { task, next }) = self.links.get(link as usize) {
                deps.push(task);
                link = next;
            }
            let n = &mut self.nodes[x as usize];
            deps.extend(n.take_item_dependents().into_values().flatten());
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
        #[cfg(test)]
        self.traced(Traced::Cancel(t.0));
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
        #[cfg(test)]
        self.traced(Traced::Running(running));
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
        #[cfg(test)]
        self.traced(Traced::Shutdown);
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
        self.walk.clear();
        for (i, q) in self.queues.iter().enumerate() {
            for _ in 0..q.slots {
                self.outbox.push((i as u32, Msg::Exit));
            }
        }
    }
}
