//! Submission: what the core is told about a new task ([`TaskSpec`]), and how it records it.

use super::*;
use crate::event::StartOrder;

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

impl Core {
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
        if spec.options.is_some()
            || self.shutdown
            || spec.deps.iter().any(|d| d.item.is_some())
            || (self.any_in_order
                && self.queues[spec.queue as usize].order != StartOrder::NewestFirst)
        {
            return self.add_task_in_full(spec);
        }
        let id = self.nodes.len() as u64;
        let pending = match self.register_with_inputs(id, spec.deps) {
            Ok(pending) => pending,
            Err(Some(input)) => return Err((SubmitError::ForeignInput { input }, spec.job)),
            Err(None) => return self.add_task_in_full(spec),
        };
        let node = self.new_node(spec.label, spec.queue, spec.deps, spec.job, spec.at);
        self.push_node(node, pending);
        self.open_cursor(id);
        Ok(TaskId(id))
    }

    /// The short path's one pass over the inputs of the new task `id`, each a whole result:
    /// count those not available yet and register the task with them; `Ok` with the count.
    /// It reads the producers' entries in the dense arrays only, not their nodes, so that a
    /// fan-in of many inputs stays cheap. An unknown input (`Err(Some(it))`) or a failed one
    /// (`Err(None)`) undoes the registrations.
    #[inline]
    fn register_with_inputs(&mut self, id: u64, deps: &[Dep]) -> Result<u32, Option<TaskId>> {
        let mut pending = 0u32;
        for (i, d) in deps.iter().enumerate() {
            let p = d.task.0 as usize;
            match self.pending.get(p) {
                None => {
                    self.unregister(&deps[..i]);
                    return Err(Some(d.task));
                }
                Some(&DONE) => {}
                Some(&ENDED) => {
                    self.unregister(&deps[..i]);
                    return Err(None);
                }
                Some(_) => {
                    pending += 1;
                    Self::link(&mut self.links, &mut self.heads, p, id);
                }
            }
        }
        Ok(pending)
    }

    /// [`add_task`](Self::add_task) for any task: with options, a failed input, or after
    /// shutdown.
    #[cold]
    fn add_task_in_full(&mut self, spec: TaskSpec<'_>) -> Result<TaskId, Rejected> {
        if self.shutdown {
            return Err((SubmitError::Shutdown, spec.job));
        }
        let deps = spec.deps;
        if let Some(d) = deps.iter().find(|d| !self.task_exists(d.task)) {
            return Err((SubmitError::ForeignInput { input: d.task }, spec.job));
        }
        let options = match spec.options.map(|o| self.check_options(spec.queue, *o)) {
            None => None,
            Some(Ok(o)) => Some(o),
            Some(Err(e)) => return Err((e, spec.job)),
        };
        let (settled, hold, releases): (&[TaskId], bool, Option<TaskId>) = match &options {
            Some(o) => (&o.settled, o.hold, o.releases),
            None => (&[], false, None),
        };
        // The releaser runs after its holder: an input after the others.
        let release = releases.map(Dep::whole);
        let id = self.nodes.len() as u64;

        // A failed input fails the new task at once; nothing is registered.
        let mut failure = None;
        let mut pending = 0u32;
        for d in deps.iter().chain(&release) {
            let p = &self.nodes[d.task.0 as usize];
            if p.has_available(d.item) {
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
        // A queue in submission order: the gate of its turn (see `order`); not for a
        // releaser of a slot held on its own queue, which runs in that slot.
        let in_place = releases.is_some_and(|h| self.nodes[h.0 as usize].queue == spec.queue);
        let order = match failure {
            None if !in_place => self.order_submitted(spec.queue, id),
            _ => None,
        };
        if let Some(Some(_)) = order {
            pending += 1;
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
        // Edges: the inputs, then the released task, then the settled inputs.
        let mut node = self.new_node(spec.label, spec.queue, deps, spec.job, spec.at);
        self.edges.extend(release);
        self.edges
            .extend(settled.iter().map(|&task| Dep::whole(task)));
        node.inputs_len += (release.iter().len() + settled.len()) as u32;
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
        if let Some(order_prev) = order {
            let e = node.extra_mut(&mut self.has_extras);
            e.in_order = true;
            e.order_prev = order_prev;
        }
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

    /// The node of a new task with inputs `deps`, submitted at `at` (or now); its edges
    /// are appended to `edges`.
    #[inline]
    fn new_node(
        &mut self,
        label: Label,
        queue: u32,
        deps: &[Dep],
        job: Arc<dyn Job>,
        at: Option<u64>,
    ) -> Node {
        let inputs_at = self.edges.len();
        self.edges.extend_from_slice(deps);
        let now = at.unwrap_or_else(|| self.stamp());
        let label = self.labels.intern(label);
        Node::new(label, queue, inputs_at, deps.len(), job, now)
    }

    /// Add task `id` to the dependents of task `p`; `links` and `heads` are the core's.
    #[inline]
    pub(super) fn link(links: &mut Vec<Link>, heads: &mut [u64], p: usize, id: u64) {
        links.push(Link {
            task: id,
            next: heads[p],
        });
        heads[p] = (links.len() - 1) as u64;
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
            if !p.has_available(d.item) {
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
        #[cfg(test)]
        self.traced(Traced::Submit(id));
        let qs = &mut self.queues[queue as usize];
        if pending == 0 {
            qs.n_ready += 1;
        } else {
            qs.n_waiting += 1;
        }
        self.emit(Some(id), EventKind::Submitted);
    }
}
