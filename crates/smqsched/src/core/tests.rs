//! Model check of the decision procedure: random graphs over several queues, submitted,
//! produced, completed, failed and cancelled in random interleavings, against a direct
//! implementation of the order rule (walk newest to oldest, depth-first, at every decision).

use std::sync::Arc;

use proptest::prelude::*;

use super::*;
use crate::cell::ValueCell;
use crate::event::StartOrder;

mod soak;

#[derive(Clone, Copy, PartialEq, Debug)]
enum MState {
    Waiting,
    Running,
    Done,
    Failed,
}

#[derive(Clone, Debug)]
struct MTask {
    /// Inputs: value and ordering-only ones, then the released task.
    deps: Vec<(usize, Option<u32>)>,
    /// Ordering-only inputs satisfied by any outcome, walked after `deps`.
    settled: Vec<usize>,
    queue: usize,
    items: u32,
    produced: u32,
    state: MState,
    /// Submitted with `hold`, the task that releases it, and whether it holds its slot now.
    hold: bool,
    released_by: Option<usize>,
    holding: bool,
    /// The task whose held slot it releases.
    releases: Option<usize>,
    /// Units of its queue's resources it requires while running.
    requires: Vec<(usize, u32)>,
}

impl MTask {
    fn new(queue: usize, deps: Vec<(usize, Option<u32>)>, settled: Vec<usize>) -> MTask {
        MTask {
            deps,
            settled,
            queue,
            items: 0,
            produced: 0,
            state: MState::Waiting,
            hold: false,
            released_by: None,
            holding: false,
            releases: None,
            requires: Vec::new(),
        }
    }
}

/// The order rule, literally: at every decision, walk the waiting tasks from the newest,
/// depth-first through their inputs, and start the first that can start. Also the slots,
/// held slots and resources that say whether a queue can take a task.
struct Model {
    tasks: Vec<MTask>,
    slots: Vec<usize>,
    /// Each queue's resources' capacities.
    capacity: Vec<Vec<u32>>,
    /// The tasks in the `Waiting` state (to walk them without passing over every task).
    waiting: std::collections::BTreeSet<usize>,
    /// Each queue's start order: `true` for submission order.
    in_order: Vec<bool>,
}

impl Model {
    fn new(slots: Vec<usize>, capacity: Vec<Vec<u32>>) -> Model {
        let in_order = vec![false; slots.len()];
        Model {
            tasks: Vec::new(),
            slots,
            capacity,
            waiting: Default::default(),
            in_order,
        }
    }

    /// The same, with the queues marked `true` in `in_order` in submission order.
    fn with_order(mut self, in_order: Vec<bool>) -> Model {
        assert_eq!(in_order.len(), self.slots.len());
        self.in_order = in_order;
        self
    }

    /// The order input of the waiting task `x`: on a queue in submission order, the newest
    /// task submitted to the same queue before it that is still waiting.
    /// A releaser of a slot held on its own queue runs in that slot: it has no turn, and is
    /// no other task's order input.
    fn order_input(&self, x: usize) -> Option<usize> {
        let queue = self.tasks[x].queue;
        if !self.in_order[queue] || self.in_place(x) {
            return None;
        }
        self.waiting
            .range(..x)
            .rev()
            .copied()
            .find(|&j| self.tasks[j].queue == queue && !self.in_place(j))
    }

    /// Whether `x` releases a slot held on its own queue.
    fn in_place(&self, x: usize) -> bool {
        self.tasks[x]
            .releases
            .is_some_and(|h| self.tasks[h].queue == self.tasks[x].queue)
    }

    fn submit(&mut self, task: MTask) {
        let t = self.tasks.len();
        if let Some(h) = task.releases {
            self.tasks[h].released_by = Some(t);
        }
        self.tasks.push(task);
        self.waiting.insert(t);
        self.propagate();
    }

    fn available(&self, (j, item): (usize, Option<u32>)) -> bool {
        let p = &self.tasks[j];
        match item {
            None => p.state == MState::Done,
            Some(i) => p.produced > i,
        }
    }

    fn dead(&self, d: (usize, Option<u32>)) -> bool {
        matches!(self.tasks[d.0].state, MState::Done | MState::Failed) && !self.available(d)
    }

    fn ended(&self, t: usize) -> bool {
        matches!(self.tasks[t].state, MState::Done | MState::Failed)
    }

    /// Each queue's busy slots (running tasks and held slots) and free units of each
    /// resource.
    fn load(&self) -> Vec<(usize, Vec<u32>)> {
        let mut load: Vec<(usize, Vec<u32>)> =
            self.capacity.iter().map(|c| (0, c.clone())).collect();
        for t in &self.tasks {
            let (busy, free) = &mut load[t.queue];
            if t.state == MState::Running || t.holding {
                *busy += 1;
            }
            if t.state == MState::Running {
                for &(r, units) in &t.requires {
                    free[r] -= units;
                }
            }
        }
        load
    }

    /// Whether the queue of `t` can take it, given the queues' `load`: a free slot, or the
    /// slot held by the task it releases on the same queue; and the resources it requires.
    fn can_take(&self, t: &MTask, load: &[(usize, Vec<u32>)]) -> bool {
        let (busy, free) = &load[t.queue];
        let held = t
            .releases
            .is_some_and(|h| self.tasks[h].holding && self.tasks[h].queue == t.queue);
        (held || *busy < self.slots[t.queue])
            && t.requires.iter().all(|&(r, units)| free[r] >= units)
    }

    /// `t` leaves the waiting state without running: it releases what it was to release.
    fn fail(&mut self, t: usize) {
        self.tasks[t].state = MState::Failed;
        self.waiting.remove(&t);
        if let Some(h) = self.tasks[t].releases {
            self.tasks[h].holding = false;
        }
    }

    fn start(&mut self, t: usize) {
        self.tasks[t].state = MState::Running;
        self.waiting.remove(&t);
        if let Some(h) = self.tasks[t].releases
            && self.tasks[h].queue == self.tasks[t].queue
        {
            // The releaser takes the held slot over.
            self.tasks[h].holding = false;
        }
    }

    /// A running task ends; a holder that succeeds keeps its slot while its releaser may
    /// still run.
    fn end(&mut self, t: usize, ok: bool) {
        let orphaned = self.tasks[t].released_by.is_some_and(|r| self.ended(r));
        let task = &mut self.tasks[t];
        task.state = if ok { MState::Done } else { MState::Failed };
        task.holding = ok && task.hold && !orphaned;
        if let Some(h) = task.releases {
            self.tasks[h].holding = false;
        }
        self.propagate();
    }

    /// Fail every waiting task with an input that will never be available, to a fixpoint.
    fn propagate(&mut self) {
        loop {
            let victim = self
                .waiting
                .iter()
                .copied()
                .find(|&t| self.tasks[t].deps.iter().any(|&d| self.dead(d)));
            match victim {
                Some(t) => self.fail(t),
                None => return,
            }
        }
    }

    /// The order rule, literally; on a queue in submission order, a task's order input (the
    /// newest task of its queue before it that is still waiting) is one more input, walked
    /// first and available once started.
    fn pick(&self) -> Option<usize> {
        let load = self.load();
        let mut seen = std::collections::HashSet::new();
        for &root in self.waiting.iter().rev() {
            let mut stack = vec![root];
            while let Some(x) = stack.pop() {
                if self.tasks[x].state != MState::Waiting || !seen.insert(x) {
                    continue;
                }
                let t = &self.tasks[x];
                let turn = self.order_input(x);
                if turn.is_none()
                    && t.deps.iter().all(|&d| self.available(d))
                    && t.settled.iter().all(|&j| self.ended(j))
                    && self.can_take(t, &load)
                {
                    return Some(x);
                }
                for &j in t.settled.iter().rev() {
                    stack.push(j);
                }
                for &(j, _) in t.deps.iter().rev() {
                    stack.push(j);
                }
                stack.extend(turn);
            }
        }
        None
    }

    fn decide(&mut self) -> Vec<usize> {
        let mut started = Vec::new();
        while let Some(t) = self.pick() {
            self.start(t);
            started.push(t);
        }
        started
    }
}

#[derive(Clone, Debug)]
enum Op {
    Submit {
        queue: usize,
        deps: Vec<(usize, Option<u32>)>,
        settled: Vec<usize>,
        items: u32,
        /// Options: hold the slot; release the slot of a holder (picked by this number);
        /// require units of the queue's resource.
        hold: bool,
        releases: Option<usize>,
        requires: u32,
    },
    Produce(usize),
    Complete(usize),
    CompleteShort(usize),
    Fail(usize),
    Cancel(usize),
}

/// The units of the one resource every queue of the model check has.
const RESOURCE: u32 = 2;

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (
            0..3usize,
            prop::collection::vec((0..1000usize, prop::option::of(0..4u32)), 0..4),
            prop::collection::vec(0..1000usize, 0..2),
            prop_oneof![3 => Just(0u32), 1 => 1..4u32],
            (
                prop::bool::weighted(0.1),
                prop::option::weighted(0.2, 0..1000usize),
                prop_oneof![4 => Just(0u32), 1 => 1..=RESOURCE],
            ),
        )
            .prop_map(|(queue, deps, settled, items, (hold, releases, requires))| Op::Submit {
                queue,
                deps,
                settled,
                items,
                hold,
                releases,
                requires,
            }),
        2 => (0..1000usize).prop_map(Op::Produce),
        3 => (0..1000usize).prop_map(Op::Complete),
        1 => (0..1000usize).prop_map(Op::CompleteShort),
        1 => (0..1000usize).prop_map(Op::Fail),
        1 => (0..1000usize).prop_map(Op::Cancel),
    ]
}

fn job() -> Arc<dyn Job> {
    let meta = crate::task::Meta {
        label: None,
        owner: crate::promise::Owner { sched: 0 },
    };
    Arc::new(TaskJob::<_, _, ()>::new(
        meta,
        ValueCell::<()>::new(),
        |_: &ValueCell<()>, _: &RunCtx<'_>| Ok(()),
    ))
}

fn drain(core: &mut Core) -> Vec<usize> {
    std::mem::take(&mut core.outbox)
        .into_iter()
        .filter_map(|(_, m)| match m {
            Msg::Run { task, .. } => Some(task.0 as usize),
            Msg::Exit => None,
        })
        .collect()
}

fn snapshot_text(s: &Snapshot) -> String {
    format!("{:?} {:?} {:?} {}", s.tasks, s.edges, s.queues, s.running)
}

/// Run `ops` against the core and the model, over queues of `slots` slots, those marked in
/// `in_order` in submission order.
fn check(
    slots: Vec<usize>,
    in_order: Vec<bool>,
    ops: Vec<Op>,
    start_late: bool,
) -> Result<(), TestCaseError> {
    let mut core = Core::new();
    for (i, &s) in slots.iter().enumerate() {
        let order = if in_order[i] {
            StartOrder::Submission
        } else {
            StartOrder::NewestFirst
        };
        core.add_queue(
            Arc::from(format!("q{i}")),
            s as u32,
            vec![("r".to_string(), RESOURCE)],
            order,
        );
    }
    let mut model =
        Model::new(slots.clone(), vec![vec![RESOURCE]; slots.len()]).with_order(in_order);
    let mut inc = Snapshot::new();
    let mut running = !start_late;
    core.set_running(running);
    let nq = slots.len();
    for (step, op) in ops.into_iter().enumerate() {
        if !running && step * 2 >= 10 {
            running = true;
            core.set_running(true);
            let expected = model.decide();
            prop_assert_eq!(drain(&mut core), expected, "on start");
        }
        let running_tasks: Vec<usize> = (0..model.tasks.len())
            .filter(|&t| model.tasks[t].state == MState::Running)
            .collect();
        match op {
            Op::Submit {
                queue,
                deps,
                settled,
                items,
                hold,
                releases,
                requires,
            } => {
                let n = model.tasks.len();
                let settled: Vec<usize> = if n == 0 {
                    Vec::new()
                } else {
                    settled.into_iter().map(|j| j % n).collect()
                };
                let deps: Vec<(usize, Option<u32>)> = if n == 0 {
                    Vec::new()
                } else {
                    deps.into_iter()
                        .map(|(j, i)| {
                            let j = j % n;
                            let items = model.tasks[j].items;
                            (j, i.filter(|_| items > 0).map(|i| i % items))
                        })
                        .collect()
                };
                let edges: Vec<Dep> = deps
                    .iter()
                    .map(|&(j, item)| Dep {
                        task: TaskId(j as u64),
                        item,
                    })
                    .collect();
                // A holder not released yet, if any.
                let holders: Vec<usize> = (0..n)
                    .filter(|&j| model.tasks[j].hold && model.tasks[j].released_by.is_none())
                    .collect();
                let releases = releases
                    .filter(|_| !holders.is_empty())
                    .map(|j| holders[j % holders.len()]);
                let options = SpecOptions {
                    settled: settled.iter().map(|&j| TaskId(j as u64)).collect(),
                    hold,
                    releases: releases.map(|h| TaskId(h as u64)),
                    requires: (requires > 0)
                        .then(|| ("r".to_string(), requires))
                        .into_iter()
                        .collect(),
                };
                let plain = settled.is_empty() && !hold && releases.is_none() && requires == 0;
                let spec = TaskSpec {
                    queue: (queue % nq) as u32,
                    label: Label::Shared(Arc::from(format!("t{n}"))),
                    deps: &edges,
                    job: job(),
                    at: None,
                    options: (!plain).then(|| Box::new(options)),
                };
                prop_assert!(core.add_task(spec).is_ok());
                core.schedule();
                let mut task = MTask::new(queue % nq, deps, settled);
                task.items = items;
                task.hold = hold;
                task.releases = releases;
                if let Some(h) = releases {
                    task.deps.push((h, None));
                }
                task.requires = (requires > 0)
                    .then_some((0, requires))
                    .into_iter()
                    .collect();
                model.submit(task);
            }
            Op::Produce(sel) => {
                let producers: Vec<usize> = running_tasks
                    .iter()
                    .copied()
                    .filter(|&t| model.tasks[t].produced < model.tasks[t].items)
                    .collect();
                if producers.is_empty() {
                    continue;
                }
                let t = producers[sel % producers.len()];
                let i = model.tasks[t].produced;
                model.tasks[t].produced += 1;
                core.item_produced(TaskId(t as u64), i as usize);
            }
            Op::Complete(sel) | Op::CompleteShort(sel) | Op::Fail(sel) => {
                if running_tasks.is_empty() {
                    continue;
                }
                let t = running_tasks[sel % running_tasks.len()];
                match op {
                    Op::Complete(_) => {
                        // Produce the remaining items one by one, checking each decision.
                        while model.tasks[t].produced < model.tasks[t].items {
                            let i = model.tasks[t].produced;
                            model.tasks[t].produced += 1;
                            core.item_produced(TaskId(t as u64), i as usize);
                            let expected = model.decide();
                            prop_assert_eq!(drain(&mut core), expected, "after item");
                        }
                        model.end(t, true);
                        core.complete(TaskId(t as u64), Ok(()));
                    }
                    Op::CompleteShort(_) => {
                        model.end(t, true);
                        core.complete(TaskId(t as u64), Ok(()));
                    }
                    _ => {
                        model.end(t, false);
                        let error = TaskError::Failed {
                            task: core.task_ref(t as u64),
                            message: Arc::from("boom"),
                        };
                        core.complete(TaskId(t as u64), Err(error));
                    }
                }
            }
            Op::Cancel(sel) => {
                let waiting: Vec<usize> = (0..model.tasks.len())
                    .filter(|&t| model.tasks[t].state == MState::Waiting)
                    .collect();
                if waiting.is_empty() {
                    continue;
                }
                let t = waiting[sel % waiting.len()];
                prop_assert!(core.cancel(TaskId(t as u64)).is_ok());
                model.fail(t);
                model.propagate();
            }
        }
        let expected = if running { model.decide() } else { Vec::new() };
        prop_assert_eq!(drain(&mut core), expected, "step {}", step);
        for (t, m) in model.tasks.iter().enumerate() {
            let got = core.task_state(TaskId(t as u64));
            let want = match m.state {
                MState::Waiting => {
                    got.filter(|s| matches!(s, TaskState::Waiting | TaskState::Ready))
                }
                MState::Running => Some(TaskState::Running),
                MState::Done => Some(TaskState::Done),
                MState::Failed => {
                    got.filter(|s| matches!(s, TaskState::Failed | TaskState::Cancelled))
                }
            };
            prop_assert_eq!(got, want, "state of task {} at step {}", t, step);
        }
        // A snapshot refreshed incrementally equals a fresh one.
        core.snapshot_into(&mut inc, 1);
        let mut fresh = Snapshot::new();
        core.snapshot_into(&mut fresh, 2);
        prop_assert_eq!(
            snapshot_text(&inc),
            snapshot_text(&fresh),
            "snapshot at step {}",
            step
        );
        prop_assert_eq!(
            core.unfinished as usize,
            model
                .tasks
                .iter()
                .filter(|t| matches!(t.state, MState::Waiting | MState::Running))
                .count()
        );
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

    #[test]
    fn decisions_match_the_order_rule(
        slots in prop::collection::vec(1..4usize, 1..4),
        ops in prop::collection::vec(op(), 1..80),
        start_late in any::<bool>(),
    ) {
        let n = slots.len();
        check(slots, vec![false; n], ops, start_late)?;
    }

    /// The same with some queues in submission order (`StartOrder::Submission`).
    #[test]
    fn decisions_match_the_order_rule_with_queues_in_submission_order(
        queues in prop::collection::vec((1..4usize, prop::bool::weighted(0.5)), 1..4),
        ops in prop::collection::vec(op(), 1..80),
        start_late in any::<bool>(),
    ) {
        let (slots, in_order) = queues.into_iter().unzip();
        check(slots, in_order, ops, start_late)?;
    }
}

#[test]
fn a_million_task_chain_is_walked_without_recursion() {
    let mut core = Core::new();
    core.add_queue(Arc::from("q"), 1, Vec::new(), StartOrder::NewestFirst);
    for t in 0..1_000_000u64 {
        let deps = if t == 0 {
            Vec::new()
        } else {
            vec![Dep {
                task: TaskId(t - 1),
                item: None,
            }]
        };
        let spec = TaskSpec {
            queue: 0,
            label: Label::Static("link"),
            deps: &deps,
            job: job(),
            at: None,
            options: None,
        };
        assert!(core.add_task(spec).is_ok());
    }
    core.set_running(true);
    for t in 0..1_000_000u64 {
        assert_eq!(drain(&mut core), vec![t as usize]);
        core.complete(TaskId(t), Ok(()));
    }
    assert_eq!(core.unfinished, 0);
}

#[test]
fn a_snapshot_older_than_the_change_log_is_rebuilt_in_full() {
    let mut core = Core::new();
    core.add_queue(Arc::from("q"), 1, Vec::new(), StartOrder::NewestFirst);
    let spec = TaskSpec {
        queue: 0,
        label: Label::Static("t"),
        deps: &[],
        job: job(),
        at: None,
        options: None,
    };
    assert!(core.add_task(spec).is_ok());
    let mut old = Snapshot::new();
    core.snapshot_into(&mut old, 1);
    core.set_running(true);
    assert_eq!(drain(&mut core), vec![0]);
    // Far more changes than the log keeps.
    for i in 0..100_000 {
        core.item_produced(TaskId(0), i);
    }
    core.complete(TaskId(0), Ok(()));
    assert!(core.log.base > 0);
    core.snapshot_into(&mut old, 1);
    let mut fresh = Snapshot::new();
    core.snapshot_into(&mut fresh, 2);
    assert_eq!(snapshot_text(&old), snapshot_text(&fresh));
    assert_eq!(old.tasks[0].items, 100_000);
    assert_eq!(old.tasks[0].state, TaskState::Done);
}

/// Submit a task on queue 0 with whole-result inputs `inputs`.
fn add(core: &mut Core, inputs: &[u64]) -> Result<TaskId, SubmitError> {
    let deps: Vec<Dep> = inputs
        .iter()
        .map(|&t| Dep {
            task: TaskId(t),
            item: None,
        })
        .collect();
    let spec = TaskSpec {
        queue: 0,
        label: Label::Static("t"),
        deps: &deps,
        job: job(),
        at: None,
        options: None,
    };
    core.add_task(spec).map_err(|(e, _)| e)
}

#[test]
fn a_submission_refused_after_some_inputs_leaves_no_trace_on_them() {
    let mut core = Core::new();
    core.add_queue(Arc::from("q"), 1, Vec::new(), StartOrder::NewestFirst);
    let a = add(&mut core, &[]).map(TaskId::index);
    let b = add(&mut core, &[]).map(TaskId::index);
    assert_eq!((a, b), (Ok(0), Ok(1)));
    // Fail task 1 before it starts.
    assert_eq!(core.cancel(TaskId(1)), Ok(1));
    // Inputs: 0 (pending), 0 again, then 1 (cancelled): the task fails at once, and 0 keeps
    // no dependent from it.
    assert_eq!(add(&mut core, &[0, 0, 1]).map(TaskId::index), Ok(2));
    assert_eq!(core.task_state(TaskId(2)), Some(TaskState::Failed));
    // Inputs: 0 (pending), then one that does not exist: refused, nothing recorded.
    assert!(matches!(
        add(&mut core, &[0, 99]),
        Err(SubmitError::ForeignInput { input: TaskId(99) })
    ));
    assert_eq!(core.task_count(), 3);
    // Task 0 runs and completes: its dependents are only real ones (here, none waiting).
    let c = add(&mut core, &[0]).map(TaskId::index);
    assert_eq!(c, Ok(3));
    core.set_running(true);
    assert_eq!(drain(&mut core), vec![0]);
    core.complete(TaskId(0), Ok(()));
    assert_eq!(drain(&mut core), vec![3]);
    core.complete(TaskId(3), Ok(()));
    assert_eq!(core.unfinished, 0);
}
