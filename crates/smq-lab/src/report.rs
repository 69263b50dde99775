//! Summaries of a run's task graph: counts by state and label, and Chrome traces.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use smqsched::{Event, EventKind, Scheduler, TaskId, TaskState};

/// The DAG summary of a run: its task counts by state and by label kind, and the labels
/// of the tasks that failed. Stored with the run when it ends (as JSON, the serde form of
/// this struct), printed by `smq demo`, `smq show` and the dashboard.
///
/// # Examples
///
/// ```
/// use smq_lab::DagSummary;
///
/// let sch = smqsched::Scheduler::new();
/// let q = sch.queue("q", 1)?;
/// let a = q.task().label("read(1)").submit((), |_: ()| 1)?;
/// sch.start();
/// assert_eq!(*a.result()?, 1);
/// // The value is ready before the worker records the task's end: wait for that.
/// sch.wait();
/// let summary = DagSummary::of(&sch);
/// assert_eq!(summary.tasks, 1);
/// assert_eq!(summary.by_label["read"]["done"], 1);
/// assert_eq!(summary.to_string(), "1 tasks: 1 done");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DagSummary {
    /// Number of tasks in the graph.
    pub tasks: usize,
    /// Tasks by state name ([`state_name`]).
    pub by_state: BTreeMap<String, usize>,
    /// Tasks by label kind (the label up to its first `(`), then by state name.
    pub by_label: BTreeMap<String, BTreeMap<String, usize>>,
    /// The labels of the failed tasks.
    #[serde(default)]
    pub failed: Vec<String>,
}

impl DagSummary {
    /// The summary of `sch`'s graph now.
    pub fn of(sch: &Scheduler) -> Self {
        let snap = sch.snapshot();
        let mut summary = Self {
            tasks: snap.tasks.len(),
            ..Self::default()
        };
        for t in &snap.tasks {
            let state = state_name(t.state).to_owned();
            *summary.by_state.entry(state.clone()).or_default() += 1;
            let kind = t.label.split('(').next().unwrap_or("").to_owned();
            *summary
                .by_label
                .entry(kind)
                .or_default()
                .entry(state)
                .or_default() += 1;
            if t.state == TaskState::Failed {
                summary.failed.push(t.label.to_string());
            }
        }
        summary
    }

    /// The summary as stored with a run.
    pub fn to_json(&self) -> Value {
        serde_json::to_value(self).unwrap_or(Value::Null)
    }

    /// The summary stored with a run (`RunMetadata::dag_summary`); `None` if it is not one.
    ///
    /// # Examples
    ///
    /// ```
    /// let stored = serde_json::json!({"tasks": 3, "by_state": {"done": 2, "failed": 1}, "by_label": {}});
    /// let summary = smq_lab::DagSummary::from_json(&stored).unwrap();
    /// assert_eq!(summary.to_string(), "3 tasks: 2 done, 1 failed");
    /// ```
    pub fn from_json(stored: &Value) -> Option<Self> {
        serde_json::from_value(stored.clone()).ok()
    }

    /// The failures, for a closing line: `failed: read(3), read(4)`; empty if none.
    pub fn failures(&self) -> String {
        if self.failed.is_empty() {
            String::new()
        } else {
            format!("failed: {}", self.failed.join(", "))
        }
    }
}

/// One line of task counts: `215 tasks: 210 done, 5 cancelled`.
impl fmt::Display for DagSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} tasks: {}", self.tasks, state_counts(&self.by_state))
    }
}

/// The [`DagSummary`] of `sch`'s graph now.
pub fn dag_summary(sch: &Scheduler) -> DagSummary {
    DagSummary::of(sch)
}

/// Counts by state, as in a [`DagSummary`]'s `by_state` or its entries of `by_label`, in
/// words: `2 done, 1 failed`.
///
/// # Examples
///
/// ```
/// let counts = [("cancelled".to_owned(), 4), ("done".to_owned(), 2)].into_iter().collect();
/// assert_eq!(smq_lab::state_counts(&counts), "4 cancelled, 2 done");
/// ```
pub fn state_counts(counts: &BTreeMap<String, usize>) -> String {
    counts
        .iter()
        .map(|(k, v)| format!("{v} {k}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Lower-case name of a task state.
pub fn state_name(state: TaskState) -> &'static str {
    match state {
        TaskState::Waiting => "waiting",
        TaskState::Ready => "ready",
        TaskState::Running => "running",
        TaskState::Done => "done",
        TaskState::Failed => "failed",
        TaskState::Cancelled => "cancelled",
        #[allow(unreachable_patterns)]
        _ => "other",
    }
}

/// Chrome trace-event JSON (for `chrome://tracing` or Perfetto) of the task runs in
/// `events`: one complete event per task run, from its `Started` to its `Finished` or
/// `Failed` event, on one track per queue slot (named `queue/slot`).
pub fn chrome_trace(events: &[Event]) -> Value {
    let mut tracks: BTreeMap<(String, u32), usize> = BTreeMap::new();
    let mut open: HashMap<TaskId, (usize, Duration, String, String)> = HashMap::new();
    let mut out = Vec::new();
    for e in events {
        let Some(task) = e.task else { continue };
        let queue = e.queue.as_deref().unwrap_or("").to_owned();
        let label = e.label.as_deref().unwrap_or("").to_owned();
        match &e.kind {
            EventKind::Started { slot } => {
                let next = tracks.len() + 1;
                let tid = *tracks.entry((queue.clone(), *slot)).or_insert(next);
                open.insert(task, (tid, e.at, label, queue));
            }
            EventKind::Finished | EventKind::Failed { .. } => {
                if let Some((tid, start, label, queue)) = open.remove(&task) {
                    let failed = matches!(e.kind, EventKind::Failed { .. });
                    out.push(json!({
                        "name": label,
                        "cat": queue,
                        "ph": "X",
                        "ts": start.as_secs_f64() * 1e6,
                        "dur": e.at.saturating_sub(start).as_secs_f64() * 1e6,
                        "pid": 1,
                        "tid": tid,
                        "args": {"failed": failed},
                    }));
                }
            }
            _ => {}
        }
    }
    for ((queue, slot), tid) in &tracks {
        out.push(json!({
            "name": "thread_name",
            "ph": "M",
            "pid": 1,
            "tid": tid,
            "args": {"name": format!("{queue}/{slot}")},
        }));
    }
    json!({ "traceEvents": out, "displayTimeUnit": "ms" })
}
