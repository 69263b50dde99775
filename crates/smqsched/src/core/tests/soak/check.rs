//! The soak's checks of what the storm left: snapshots, the trace replayed through the
//! model, outcomes, workers and events.

use super::*;

/// A snapshot agrees with itself, and no task went back since the `before` one.
pub(super) fn check_snapshot(snap: &Snapshot, before: &[TaskState]) {
    let mut counts = vec![[0usize; 5]; snap.queues.len()];
    for t in &snap.tasks {
        let i = match t.state {
            TaskState::Waiting => 0,
            TaskState::Ready => 1,
            TaskState::Running => 2,
            TaskState::Done => 3,
            TaskState::Failed | TaskState::Cancelled => 4,
        };
        counts[t.queue as usize][i] += 1;
    }
    for (q, c) in snap.queues.iter().zip(&counts) {
        assert_eq!(
            [q.waiting, q.ready, q.running, q.done, q.failed],
            *c,
            "queue {q:?}"
        );
        assert!(
            q.in_use <= q.slots && q.in_use == q.running + q.held,
            "{q:?}"
        );
    }
    let rank = |s: TaskState| match s {
        TaskState::Waiting => 0,
        TaskState::Ready => 1,
        TaskState::Running => 2,
        _ => 3,
    };
    for (t, &was) in snap.tasks.iter().zip(before) {
        assert!(rank(t.state) >= rank(was), "{:?} went from {was:?}", t);
        assert!(
            !was.is_final() || t.state == was,
            "{:?} went from {was:?}",
            t
        );
    }
}

/// Replay the trace through the model: after every step, the core must have started what
/// the model starts, in the same order, and each cancellation must have cancelled as many
/// tasks. Returns how many starts were checked.
pub(super) fn replay(
    trace: &[Traced],
    records: &HashMap<usize, Record>,
    cancels: &HashMap<usize, usize>,
    seed: u64,
) -> usize {
    let mut capacity = vec![Vec::new(); SLOTS.len()];
    capacity[PROBE_QUEUE] = vec![PROBE_UNITS];
    let in_order = (0..SLOTS.len()).map(|q| q == ORDERED_QUEUE).collect();
    let mut model = Model::new(SLOTS.to_vec(), capacity).with_order(in_order);
    let mut running = false;
    let mut expected: VecDeque<usize> = VecDeque::new();
    let mut starts = 0;
    for (step, &op) in trace.iter().enumerate() {
        if let Traced::Start(t) = op {
            let want = expected.pop_front();
            assert_eq!(
                want,
                Some(t as usize),
                "seed {seed}, trace step {step}: the core started {t}, the rule {want:?}"
            );
            starts += 1;
            continue;
        }
        assert!(
            expected.is_empty(),
            "seed {seed}, trace step {step}: the rule starts {expected:?} before {op:?}, the \
             core nothing"
        );
        match op {
            Traced::Submit(t) => {
                let t = t as usize;
                assert_eq!(t, model.tasks.len(), "seed {seed}: ids count up");
                model.submit(records[&t].task.clone());
            }
            Traced::Item(t, i) => {
                let task = &mut model.tasks[t as usize];
                assert_eq!(task.state, MState::Running, "seed {seed}, step {step}");
                task.produced = task.produced.max(i as u32 + 1);
            }
            Traced::End(t, ok) => {
                assert_eq!(model.tasks[t as usize].state, MState::Running);
                model.end(t as usize, ok);
            }
            Traced::Cancel(t) => {
                assert_eq!(model.tasks[t as usize].state, MState::Waiting);
                let before = model.waiting.len();
                model.fail(t as usize);
                model.propagate();
                assert_eq!(
                    Some(&(before - model.waiting.len())),
                    cancels.get(&(t as usize)),
                    "seed {seed}: the tasks cancelled with task {t}"
                );
            }
            Traced::Running(r) => running = r,
            Traced::Shutdown => break,
            Traced::Start(_) => unreachable!("starts are checked above"),
        }
        if running {
            expected.extend(model.decide());
        }
    }
    assert!(
        expected.is_empty(),
        "seed {seed}: the rule starts {expected:?} at the end"
    );
    assert!(
        model.waiting.is_empty(),
        "seed {seed}: {:?} wait",
        model.waiting
    );
    for (t, m) in model.tasks.iter().enumerate() {
        assert!(
            matches!(m.state, MState::Done | MState::Failed),
            "seed {seed}: task {t} is {:?} in the model",
            m.state
        );
    }
    starts
}

/// Every task ran at most once, and exactly once unless it was cancelled or an input
/// failed; every outcome is resolved and every value is what the task's inputs give.
pub(super) fn check_outcomes(sch: &Scheduler, records: &HashMap<usize, Record>, seed: u64) {
    // What each task that ran computed from its inputs: a value task's value, a producer's
    // sum (its item `j` is the sum plus `j`). Inputs come before their dependents.
    let mut sums: HashMap<usize, u64> = HashMap::new();
    let mut ids: Vec<usize> = records.keys().copied().collect();
    ids.sort_unstable();
    for t in ids {
        let r = &records[&t];
        let runs = r.runs.load(Ordering::SeqCst);
        let state = sch.state(TaskId(t as u64));
        let context = format!("seed {seed}, task {t} ({:?}, ran {runs} times)", r.fate);
        assert!(runs <= 1, "{context}");
        if runs == 1 {
            let sum = r.values.iter().fold(r.base, |sum, &(j, item)| {
                sum.wrapping_add(sums[&j].wrapping_add(item.map_or(0, u64::from)))
            });
            sums.insert(t, sum);
        }
        let end = match &r.outcome {
            Outcome::Value(p) => match p.try_result() {
                None => panic!("{context}: unresolved"),
                Some(Ok(&v)) => {
                    assert_eq!(Some(v), sums.get(&t).copied(), "{context}");
                    Ok(())
                }
                Some(Err(e)) => Err(e),
            },
            Outcome::Items(s) => {
                let Some(end) = s.wait_timeout(Duration::ZERO) else {
                    panic!("{context}: unresolved");
                };
                if runs == 1 {
                    assert_eq!(s.produced() as u32, r.emits, "{context}");
                    for j in 0..r.emits {
                        let want = sums[&t].wrapping_add(u64::from(j));
                        let item = s.item(j as usize);
                        assert_eq!(item.try_result(), Some(Ok(&want)), "{context}, item {j}");
                    }
                }
                end.map(|_| ())
            }
        };
        match end {
            Ok(()) => {
                assert_eq!(runs, 1, "{context}");
                assert_eq!(r.fate, Fate::Ok, "{context}");
                assert_eq!(state, Some(TaskState::Done), "{context}");
            }
            Err(TaskError::Failed { task, .. } | TaskError::Panicked { task, .. }) => {
                assert_eq!(task.id, TaskId(t as u64), "{context}");
                assert_eq!(runs, 1, "{context}");
                assert_ne!(r.fate, Fate::Ok, "{context}");
                assert_eq!(state, Some(TaskState::Failed), "{context}");
            }
            Err(TaskError::DependencyFailed { .. } | TaskError::ItemOutOfRange { .. }) => {
                assert_eq!(runs, 0, "{context}");
                assert!(
                    matches!(state, Some(TaskState::Failed | TaskState::Cancelled)),
                    "{context}: {state:?}"
                );
            }
            Err(TaskError::Cancelled { .. }) => {
                assert_eq!(runs, 0, "{context}");
                assert_eq!(state, Some(TaskState::Cancelled), "{context}");
            }
            Err(e) => panic!("{context}: {e}"),
        }
    }
}

/// Every slot of every queue runs a task at the same moment: no worker was lost.
pub(super) fn every_worker_answers(queues: &[Queue], seed: u64) {
    let slots: usize = SLOTS.iter().sum();
    let (arrived_tx, arrived_rx) = bounded::<()>(slots);
    let (go_tx, go_rx) = bounded::<()>(slots);
    let mut tasks = Vec::new();
    for (q, &n) in queues.iter().zip(&SLOTS) {
        for _ in 0..n {
            let (arrived, go) = (arrived_tx.clone(), go_rx.clone());
            tasks.push(q.submit((), move |()| {
                arrived.send(()).is_ok() && go.recv_timeout(PATIENCE).is_ok()
            }));
        }
    }
    for i in 0..slots {
        assert!(
            arrived_rx.recv_timeout(PATIENCE).is_ok(),
            "seed {seed}: only {i} of {slots} workers answered"
        );
    }
    for _ in 0..slots {
        assert!(go_tx.send(()).is_ok());
    }
    for t in tasks {
        assert_eq!(t.result(), Ok(&true), "seed {seed}");
    }
}

/// Each task had one submission event, at most one start, and one end, after its start if
/// it started; the scheduler was stopped `cycles` times and resumed once more.
pub(super) fn check_events(events: &Receiver<Event>, cycles: usize, seed: u64) {
    #[derive(Default, Debug)]
    struct Seen {
        submitted: usize,
        started: usize,
        ended: usize,
        ended_before_start: bool,
    }
    let mut seen: HashMap<TaskId, Seen> = HashMap::new();
    let (mut stopped, mut resumed) = (0, 0);
    for e in events.try_iter() {
        let Some(t) = e.task else {
            match e.kind {
                EventKind::Stopped => stopped += 1,
                EventKind::Resumed => resumed += 1,
                _ => {}
            }
            continue;
        };
        let s = seen.entry(t).or_default();
        match e.kind {
            EventKind::Submitted => s.submitted += 1,
            EventKind::Started { .. } => s.started += 1,
            EventKind::Finished => {
                s.ended += 1;
                s.ended_before_start |= s.started == 0;
            }
            EventKind::Failed { .. } | EventKind::Cancelled => s.ended += 1,
            _ => {}
        }
    }
    for (t, s) in &seen {
        assert!(
            s.submitted == 1 && s.started <= 1 && s.ended == 1 && !s.ended_before_start,
            "seed {seed}: task {t}: {s:?}"
        );
    }
    assert_eq!((stopped, resumed), (cycles, cycles + 1), "seed {seed}");
}
