//! Summaries of a run's task graph: counts by state and label, and Chrome traces.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use serde_json::{Value, json};
use smqsched::{Event, EventKind, Scheduler, TaskId, TaskState};

/// Task counts of `sch`'s graph by state and by label kind (the label up to its first
/// `(`), plus the failures with their labels: the run's DAG summary.
pub fn dag_summary(sch: &Scheduler) -> Value {
    let snap = sch.snapshot();
    let mut by_state: BTreeMap<String, usize> = BTreeMap::new();
    let mut by_label: BTreeMap<String, BTreeMap<String, usize>> = BTreeMap::new();
    let mut failed = Vec::new();
    for t in &snap.tasks {
        let state = state_name(t.state).to_owned();
        *by_state.entry(state.clone()).or_default() += 1;
        let kind = t.label.split('(').next().unwrap_or("").to_owned();
        *by_label.entry(kind).or_default().entry(state).or_default() += 1;
        if t.state == TaskState::Failed {
            failed.push(Value::String(t.label.to_string()));
        }
    }
    json!({
        "tasks": snap.tasks.len(),
        "by_state": by_state,
        "by_label": by_label,
        "failed": failed,
    })
}

/// One line of task counts from a [`dag_summary`]: `215 tasks: 210 done, 5 cancelled`.
///
/// # Examples
///
/// ```
/// let summary = serde_json::json!({"tasks": 3, "by_state": {"done": 2, "failed": 1}});
/// assert_eq!(smq_cli::task_counts(&summary), "3 tasks: 2 done, 1 failed");
/// ```
pub fn task_counts(summary: &Value) -> String {
    format!(
        "{} tasks: {}",
        summary["tasks"],
        state_counts(&summary["by_state"])
    )
}

/// Counts by state, as in a [`dag_summary`]'s `by_state` or its entries of `by_label`, in
/// words: `2 done, 1 failed`; empty for anything but an object.
///
/// # Examples
///
/// ```
/// let counts = serde_json::json!({"cancelled": 4, "done": 2});
/// assert_eq!(smq_cli::state_counts(&counts), "4 cancelled, 2 done");
/// ```
pub fn state_counts(counts: &Value) -> String {
    counts
        .as_object()
        .map(|m| {
            m.iter()
                .map(|(k, v)| format!("{v} {k}"))
                .collect::<Vec<_>>()
                .join(", ")
        })
        .unwrap_or_default()
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
