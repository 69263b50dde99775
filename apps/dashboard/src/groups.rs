//! Tasks grouped by label, for graphs too large to draw task by task.
//!
//! A task's group is its label up to the first `(`: `fft(2.5)` and `fft(3)` are both in
//! `fft`. Groups and the edges between them are built incrementally as tasks arrive; each
//! group's counts by state are kept up to date from the tasks the caller says changed, so a
//! frame costs O(changed tasks), not O(tasks).

use std::collections::HashMap;

use egui::{Pos2, Rect, Vec2, pos2, vec2};
use smqsched::{Snapshot, TaskState};

use crate::layout::Layout;

/// Horizontal distance between group layers.
pub(crate) const GROUP_DX: f32 = 300.0;
/// Vertical gap between groups of a layer.
pub(crate) const GROUP_GAP: f32 = 24.0;
/// Size of a collapsed group node.
pub(crate) const GROUP_NODE: Vec2 = vec2(220.0, 58.0);
/// Task cells per row of an expanded group.
pub(crate) const CELLS_PER_ROW: usize = 22;
/// Size of the square cell of a task in an expanded group, gap included.
pub(crate) const CELL: f32 = 10.0;

/// Tasks of a group by state.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub struct Counts {
    /// Waiting for inputs or for a slot.
    pub pending: usize,
    /// Running.
    pub running: usize,
    /// Finished with a value.
    pub done: usize,
    /// Failed.
    pub failed: usize,
    /// Cancelled.
    pub cancelled: usize,
}

impl Counts {
    /// All tasks counted.
    pub fn total(&self) -> usize {
        self.pending + self.running + self.done + self.failed + self.cancelled
    }

    /// Tasks in a final state.
    pub fn finished(&self) -> usize {
        self.done + self.failed + self.cancelled
    }

    fn slot(&mut self, s: TaskState) -> &mut usize {
        match s {
            TaskState::Running => &mut self.running,
            TaskState::Done => &mut self.done,
            TaskState::Failed => &mut self.failed,
            TaskState::Cancelled => &mut self.cancelled,
            _ => &mut self.pending,
        }
    }
}

/// One group of tasks sharing a label kind.
#[derive(Debug)]
pub(crate) struct Group {
    /// The label kind.
    pub(crate) name: String,
    /// The smallest layer of its tasks in the task layout.
    pub(crate) layer: u32,
    /// Its tasks, in submission order.
    pub(crate) tasks: Vec<u32>,
    /// Its tasks by state.
    pub(crate) counts: Counts,
    /// Whether it shows its tasks.
    pub(crate) expanded: bool,
    /// Its rectangle in the grouped layout, in world units (see [`Groups::arrange`]).
    pub(crate) rect: Rect,
}

impl Group {
    /// World rectangle of the cell of the `k`-th task of an expanded group.
    pub(crate) fn cell(&self, k: usize) -> Rect {
        let col = (k % CELLS_PER_ROW) as f32;
        let row = (k / CELLS_PER_ROW) as f32;
        let min = self.rect.min + vec2(4.0 + col * CELL, GROUP_NODE.y + row * CELL);
        Rect::from_min_size(min, Vec2::splat(CELL - 2.0))
    }

    fn size(&self) -> Vec2 {
        if self.expanded {
            let rows = self.tasks.len().div_ceil(CELLS_PER_ROW) as f32;
            vec2(GROUP_NODE.x, GROUP_NODE.y + rows * CELL + 4.0)
        } else {
            GROUP_NODE
        }
    }
}

/// The label kind of a task label: up to the first `(`, trimmed.
pub(crate) fn kind(label: &str) -> &str {
    let k = label.split('(').next().unwrap_or(label).trim();
    if k.is_empty() { "(unlabelled)" } else { k }
}

/// Every group, the edges between them and each task's group.
#[derive(Debug, Default)]
pub(crate) struct Groups {
    pub(crate) groups: Vec<Group>,
    by_name: HashMap<String, u32>,
    /// Group of each task.
    group_of: Vec<u32>,
    /// State of each task as counted.
    state_of: Vec<TaskState>,
    /// Edges `(from, to)` between distinct groups, with how many task edges each stands for.
    pub(crate) edges: Vec<(u32, u32, usize)>,
    edge_index: HashMap<(u32, u32), usize>,
}

impl Groups {
    /// Add the tasks of `snap` not seen yet (placed by `layout` already), then recount the
    /// tasks in `changed`.
    pub(crate) fn update(
        &mut self,
        snap: &Snapshot,
        layout: &Layout,
        changed: impl IntoIterator<Item = u32>,
    ) {
        if snap.tasks.len() < self.group_of.len() {
            *self = Groups::default();
        }
        for t in &snap.tasks[self.group_of.len()..] {
            let me = self.group_of.len() as u32;
            let name = kind(&t.label);
            let g = match self.by_name.get(name) {
                Some(&g) => g,
                None => {
                    let g = self.groups.len() as u32;
                    self.groups.push(Group {
                        name: name.to_owned(),
                        layer: layout.layer(me),
                        tasks: Vec::new(),
                        counts: Counts::default(),
                        expanded: false,
                        rect: Rect::NOTHING,
                    });
                    self.by_name.insert(name.to_owned(), g);
                    g
                }
            };
            for dep in snap.inputs(t) {
                let Some(&from) = self.group_of.get(dep.task.index() as usize) else {
                    continue;
                };
                if from != g {
                    let n = self.edges.len();
                    let e = *self.edge_index.entry((from, g)).or_insert(n);
                    if e == n {
                        self.edges.push((from, g, 0));
                    }
                    self.edges[e].2 += 1;
                }
            }
            let group = &mut self.groups[g as usize];
            group.layer = group.layer.min(layout.layer(me));
            group.tasks.push(me);
            *group.counts.slot(t.state) += 1;
            self.group_of.push(g);
            self.state_of.push(t.state);
        }
        for i in changed {
            let (Some(t), Some(old)) = (
                snap.tasks.get(i as usize),
                self.state_of.get_mut(i as usize),
            ) else {
                continue;
            };
            if t.state != *old {
                let c = &mut self.groups[self.group_of[i as usize] as usize].counts;
                *c.slot(*old) -= 1;
                *c.slot(t.state) += 1;
                *old = t.state;
            }
        }
    }

    /// Group of task `i`.
    pub(crate) fn group_of(&self, i: u32) -> Option<u32> {
        self.group_of.get(i as usize).copied()
    }

    /// Place the groups: one column per group layer, groups stacked in creation order, an
    /// expanded group as tall as its cells. Costs O(groups).
    pub(crate) fn arrange(&mut self) {
        let mut next_y: Vec<f32> = Vec::new();
        let mut columns: Vec<u32> = self.groups.iter().map(|g| g.layer).collect();
        columns.sort_unstable();
        columns.dedup();
        for g in &mut self.groups {
            let col = columns.partition_point(|&l| l < g.layer);
            if next_y.len() <= col {
                next_y.resize(col + 1, 0.0);
            }
            let min = pos2(col as f32 * GROUP_DX, next_y[col]);
            g.rect = Rect::from_min_size(min, g.size());
            next_y[col] += g.rect.height() + GROUP_GAP;
        }
    }

    /// The world rectangle holding every group (after [`arrange`](Self::arrange)).
    pub(crate) fn bounds(&self) -> Rect {
        self.groups
            .iter()
            .fold(Rect::NOTHING, |r, g| r.union(g.rect))
    }

    /// What is at the world point `p`: a group's header, or a task cell of an expanded group.
    pub(crate) fn hit(&self, p: Pos2) -> Option<GroupHit> {
        let (gi, g) = self
            .groups
            .iter()
            .enumerate()
            .find(|(_, g)| g.rect.contains(p))?;
        let local = p - g.rect.min;
        if local.y < GROUP_NODE.y || !g.expanded {
            return Some(GroupHit::Header(gi as u32));
        }
        let col = ((local.x - 4.0) / CELL).floor();
        let row = ((local.y - GROUP_NODE.y) / CELL).floor();
        if col < 0.0 || col >= CELLS_PER_ROW as f32 || row < 0.0 {
            return Some(GroupHit::Header(gi as u32));
        }
        let k = row as usize * CELLS_PER_ROW + col as usize;
        match g.tasks.get(k) {
            Some(&t) if g.cell(k).contains(p) => Some(GroupHit::Task(t)),
            _ => Some(GroupHit::Header(gi as u32)),
        }
    }
}

/// What a click in the grouped view hit.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) enum GroupHit {
    /// The header of group `.0`.
    Header(u32),
    /// Task `.0` in an expanded group.
    Task(u32),
}

#[cfg(test)]
mod tests {
    use super::*;
    use smqsched::Scheduler;

    #[test]
    fn kinds_are_labels_up_to_the_first_parenthesis() {
        assert_eq!(kind("fft(2.5)"), "fft");
        assert_eq!(kind("save position"), "save position");
        assert_eq!(kind("(x)"), "(unlabelled)");
    }

    #[test]
    fn groups_count_states_and_merge_edges() {
        let sch = Scheduler::new();
        let q = sch.queue("q", 1).unwrap();
        let mut acq = Vec::new();
        for i in 0..10 {
            let a = q
                .task()
                .label(format!("acq({i})"))
                .submit((), move |()| i)
                .unwrap();
            q.task()
                .label(format!("fft({i})"))
                .submit(&a, |a| a * 2)
                .unwrap();
            acq.push(a);
        }
        q.task()
            .label("sum")
            .submit(&acq, |v: Vec<&i32>| v.len())
            .unwrap();
        let mut snap = sch.snapshot();
        let mut layout = Layout::default();
        layout.update(&snap);
        let mut groups = Groups::default();
        groups.update(&snap, &layout, []);
        let names: Vec<_> = groups.groups.iter().map(|g| g.name.as_str()).collect();
        assert_eq!(names, ["acq", "fft", "sum"]);
        assert_eq!(groups.edges, [(0, 1, 10), (0, 2, 10)]);
        assert_eq!(groups.groups[0].counts.pending, 10);
        assert_eq!(groups.groups[2].layer, 1);

        sch.start();
        sch.wait();
        sch.snapshot_into(&mut snap);
        // Only the tasks said to have changed are recounted: tasks 0 to 9 are five
        // acquisitions and five ffts.
        groups.update(&snap, &layout, 0..10);
        assert_eq!(groups.groups[0].counts.done, 5);
        assert_eq!(groups.groups[1].counts.done, 5);
        assert_eq!(groups.groups[1].counts.pending, 5);
        groups.update(&snap, &layout, 0..21);
        assert_eq!(groups.groups[0].counts.done, 10);
        assert_eq!(groups.groups[1].counts.done, 10);
        assert_eq!(groups.groups[1].counts.total(), 10);
    }

    #[test]
    fn arranged_groups_do_not_overlap_and_cells_are_hit() {
        let sch = Scheduler::new();
        let q = sch.queue("q", 1).unwrap();
        for i in 0..50 {
            let a = q
                .task()
                .label(format!("a({i})"))
                .submit((), move |()| i)
                .unwrap();
            q.task().label("b").submit(&a, |a| *a).unwrap();
            q.task().label("c").submit((), |()| 0).unwrap();
        }
        let snap = sch.snapshot();
        let mut layout = Layout::default();
        layout.update(&snap);
        let mut groups = Groups::default();
        groups.update(&snap, &layout, []);
        groups.groups[0].expanded = true;
        groups.arrange();
        let r: Vec<Rect> = groups.groups.iter().map(|g| g.rect).collect();
        // a and c are sources (one column), b is next to them.
        assert_eq!(r[0].min.x, r[2].min.x);
        assert!(r[2].min.y > r[0].max.y);
        assert_eq!(r[1].min.x, GROUP_DX);
        let k = 30;
        let cell = groups.groups[0].cell(k);
        assert_eq!(
            groups.hit(cell.center()),
            Some(GroupHit::Task(groups.groups[0].tasks[k]))
        );
        assert_eq!(groups.hit(r[1].center()), Some(GroupHit::Header(1)));
        assert_eq!(groups.hit(pos2(-5.0, -5.0)), None);
    }
}
