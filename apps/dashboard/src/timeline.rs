//! The task stream: one row per queue slot, a bar per task run, built from events.

use std::collections::HashMap;
use std::sync::Arc;

use smqsched::{Event, EventKind, TaskId};

/// One task run in a slot.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Bar {
    /// The task.
    pub(crate) task: TaskId,
    /// Its label.
    pub(crate) label: Arc<str>,
    /// Start, in seconds since the scheduler was created.
    pub(crate) start: f64,
    /// End, once it finished or failed.
    pub(crate) end: Option<f64>,
    /// Whether it failed.
    pub(crate) failed: bool,
}

/// The runs of one slot of one queue, in start order (a slot runs one task at a time, so
/// they are also in end order).
#[derive(Debug)]
pub(crate) struct Row {
    pub(crate) queue: Arc<str>,
    pub(crate) slot: u32,
    pub(crate) bars: Vec<Bar>,
}

impl Row {
    /// The bars that overlap `[t0, t1]`, found by binary search.
    pub(crate) fn bars_in(&self, t0: f64, t1: f64) -> &[Bar] {
        let lo = self.bars.partition_point(|b| b.end.is_some_and(|e| e < t0));
        let hi = self.bars.partition_point(|b| b.start <= t1);
        self.bars.get(lo..hi.max(lo)).unwrap_or(&[])
    }
}

/// Every slot's row, in order of first use.
#[derive(Debug, Default)]
pub(crate) struct Timeline {
    pub(crate) rows: Vec<Row>,
    row_of: HashMap<(Arc<str>, u32), usize>,
    open: HashMap<TaskId, (usize, usize)>,
    /// Time of the latest event seen, seconds.
    pub(crate) latest: f64,
    /// Start of the first run seen, seconds.
    pub(crate) first: Option<f64>,
}

impl Timeline {
    /// Make sure every slot of queue `queue` has a row, so idle slots show too.
    pub(crate) fn ensure_slots(&mut self, queue: &Arc<str>, slots: usize) {
        for s in 0..slots as u32 {
            self.row(queue, s);
        }
    }

    fn row(&mut self, queue: &Arc<str>, slot: u32) -> usize {
        let n = self.rows.len();
        let r = *self.row_of.entry((Arc::clone(queue), slot)).or_insert(n);
        if r == n {
            self.rows.push(Row {
                queue: Arc::clone(queue),
                slot,
                bars: Vec::new(),
            });
            // Keep rows grouped by queue, slots in order.
            self.rows
                .sort_by(|a, b| (&a.queue, a.slot).cmp(&(&b.queue, b.slot)));
            for (i, row) in self.rows.iter().enumerate() {
                self.row_of.insert((Arc::clone(&row.queue), row.slot), i);
            }
            // Rows moved: find the open bars again.
            self.reindex_open();
            return self
                .row_of
                .get(&(Arc::clone(queue), slot))
                .copied()
                .unwrap_or(0);
        }
        r
    }

    fn reindex_open(&mut self) {
        let mut open = HashMap::with_capacity(self.open.len());
        for (ri, row) in self.rows.iter().enumerate() {
            for (bi, b) in row.bars.iter().enumerate() {
                if b.end.is_none() {
                    open.insert(b.task, (ri, bi));
                }
            }
        }
        self.open = open;
    }

    /// Take one event into account.
    pub(crate) fn push(&mut self, e: &Event) {
        let at = e.at.as_secs_f64();
        self.latest = self.latest.max(at);
        let Some(task) = e.task else { return };
        match &e.kind {
            EventKind::Started { slot } => {
                let Some(queue) = &e.queue else { return };
                self.first.get_or_insert(at);
                let r = self.row(queue, *slot);
                let row = &mut self.rows[r];
                row.bars.push(Bar {
                    task,
                    label: e.label.clone().unwrap_or_else(|| Arc::from("")),
                    start: at,
                    end: None,
                    failed: false,
                });
                self.open.insert(task, (r, row.bars.len() - 1));
            }
            EventKind::Finished | EventKind::Failed { .. } => {
                if let Some((r, b)) = self.open.remove(&task)
                    && let Some(bar) = self.rows.get_mut(r).and_then(|row| row.bars.get_mut(b))
                {
                    bar.end = Some(at);
                    bar.failed = matches!(e.kind, EventKind::Failed { .. });
                }
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use smqsched::Scheduler;
    use std::time::Duration;

    #[test]
    fn each_run_is_a_bar_in_its_slot_row() {
        let sch = Scheduler::new();
        let events = sch.subscribe();
        let q = sch.queue("compute", 2).unwrap();
        let io = sch.queue("io", 1).unwrap();
        for i in 0..6 {
            q.task()
                .label(format!("f({i})"))
                .submit((), move |()| i)
                .unwrap();
        }
        io.task()
            .label("bad")
            .submit_result((), |()| Err::<(), _>("broken"))
            .unwrap();
        sch.start();
        sch.wait();
        let mut t = Timeline::default();
        t.ensure_slots(&Arc::from("compute"), 2);
        for e in events.try_iter() {
            t.push(&e);
        }
        let rows: Vec<_> = t
            .rows
            .iter()
            .map(|r| (r.queue.to_string(), r.slot))
            .collect();
        assert_eq!(
            rows,
            [
                ("compute".into(), 0),
                ("compute".into(), 1),
                ("io".into(), 0)
            ]
        );
        let bars: usize = t.rows[..2].iter().map(|r| r.bars.len()).sum();
        assert_eq!(bars, 6);
        assert!(t.rows[2].bars[0].failed);
        for row in &t.rows {
            for w in row.bars.windows(2) {
                assert!(w[0].end.unwrap() <= w[1].start);
            }
            let all = row.bars_in(0.0, t.latest + 1.0);
            assert_eq!(all.len(), row.bars.len());
        }
        assert!(Duration::from_secs_f64(t.latest) > Duration::ZERO);
    }

    #[test]
    fn bars_in_a_window_are_found_by_binary_search() {
        let sch = Scheduler::new();
        let task = sch.queue("q", 1).unwrap().submit((), |()| ()).id();
        let mk = |start: f64, end: f64| Bar {
            task,
            label: Arc::from("x"),
            start,
            end: Some(end),
            failed: false,
        };
        let row = Row {
            queue: Arc::from("q"),
            slot: 0,
            bars: vec![mk(0.0, 1.0), mk(1.0, 2.0), mk(2.0, 3.0), mk(3.0, 4.0)],
        };
        let starts: Vec<f64> = row.bars_in(1.5, 2.5).iter().map(|b| b.start).collect();
        assert_eq!(starts, [1.0, 2.0]);
        assert!(row.bars_in(5.0, 6.0).is_empty());
    }
}
