//! The layered layout of the task graph, kept up to date incrementally.
//!
//! A task's layer is the length of the longest input path from a source (a task without
//! inputs) to it. Inputs are always submitted before the tasks that use them, so a new task's
//! layer is known from its inputs' layers when it arrives: adding `k` tasks with `e` inputs
//! costs O(k + e), and nothing already placed ever moves.
//!
//! Within a layer, tasks stack in submission order, each at the first free row that is not
//! above its lowest input, and a source on a new row below everything placed: a chain of
//! tasks (move, acquire, transform, save) runs level across the layers, so edges are mostly
//! short and horizontal. A layer's rows increase with submission
//! order, so the tasks inside a rectangle are found by binary search in each layer, without
//! scanning the graph.

use egui::{Pos2, Rect, Vec2, pos2, vec2};
use smqsched::Snapshot;

/// Horizontal distance between layers, in world units.
pub(crate) const LAYER_DX: f32 = 170.0;
/// Vertical distance between rows.
pub(crate) const ROW_DY: f32 = 30.0;
/// Size of a task node.
pub(crate) const NODE: Vec2 = vec2(130.0, 22.0);

/// Layer and row of every task, and the tasks of every layer.
#[derive(Debug, Default)]
pub(crate) struct Layout {
    /// Layer of each task, by task index.
    layer: Vec<u32>,
    /// Row of each task within its layer.
    row: Vec<u32>,
    /// Tasks of each layer, by increasing row.
    layers: Vec<Vec<u32>>,
    /// Rows used so far: one past the largest row of any task.
    rows: u32,
    /// Tasks that use each task as an input (deduplicated, in submission order).
    dependents: Vec<Vec<u32>>,
}

impl Layout {
    /// Place the tasks of `snap` that are not placed yet. A snapshot with fewer tasks than
    /// placed (another scheduler) starts the layout afresh.
    pub(crate) fn update(&mut self, snap: &Snapshot) {
        if snap.tasks.len() < self.layer.len() {
            *self = Layout::default();
        }
        for t in &snap.tasks[self.layer.len()..] {
            let me = self.layer.len() as u32;
            let mut layer = 0;
            let mut row = 0;
            for dep in snap.inputs(t) {
                let i = dep.task.index() as usize;
                // Inputs come first in submission order; anything else is ignored.
                if let Some(&l) = self.layer.get(i) {
                    layer = layer.max(l + 1);
                    row = row.max(self.row[i]);
                    let deps = &mut self.dependents[i];
                    if deps.last() != Some(&me) {
                        deps.push(me);
                    }
                }
            }
            let l = layer as usize;
            if self.layers.len() <= l {
                self.layers.resize_with(l + 1, Vec::new);
            }
            let free = self.layers[l]
                .last()
                .map_or(0, |&u| self.row[u as usize] + 1);
            // A source starts a new line below everything placed: the next chain of a scan
            // (its move, then what uses it) then reads level, left to right.
            let row = if layer == 0 { self.rows } else { row.max(free) };
            self.rows = self.rows.max(row + 1);
            self.row.push(row);
            self.layers[l].push(me);
            self.layer.push(layer);
            self.dependents.push(Vec::new());
        }
    }

    /// Number of tasks placed.
    pub(crate) fn len(&self) -> usize {
        self.layer.len()
    }

    /// Layer of task `i` (0 if unknown).
    pub(crate) fn layer(&self, i: u32) -> u32 {
        self.layer.get(i as usize).copied().unwrap_or(0)
    }

    /// Tasks of layer `l`, by row.
    #[cfg(test)]
    pub(crate) fn layer_tasks(&self, l: usize) -> &[u32] {
        self.layers.get(l).map_or(&[], |v| v.as_slice())
    }

    /// Tasks using task `i`.
    pub(crate) fn dependents(&self, i: u32) -> &[u32] {
        self.dependents
            .get(i as usize)
            .map_or(&[], |v| v.as_slice())
    }

    /// Centre of task `i`, in world units.
    pub(crate) fn center(&self, i: u32) -> Pos2 {
        let i = i as usize;
        let l = self.layer.get(i).copied().unwrap_or(0) as f32;
        let r = self.row.get(i).copied().unwrap_or(0) as f32;
        pos2(l * LAYER_DX + NODE.x / 2.0, r * ROW_DY + NODE.y / 2.0)
    }

    /// The world rectangle of task `i`.
    pub(crate) fn rect(&self, i: u32) -> Rect {
        Rect::from_center_size(self.center(i), NODE)
    }

    /// The world rectangle holding every task.
    pub(crate) fn bounds(&self) -> Rect {
        let rows = self.rows as f32;
        let layers = self.layers.len() as f32;
        Rect::from_min_max(
            Pos2::ZERO,
            pos2(
                (layers - 1.0).max(0.0) * LAYER_DX + NODE.x,
                (rows - 1.0).max(0.0) * ROW_DY + NODE.y,
            ),
        )
    }

    /// Call `f` with every task whose node meets the world rectangle `r`, layer by layer.
    /// Costs O(layers + tasks visited).
    pub(crate) fn visit_in(&self, r: Rect, mut f: impl FnMut(u32)) {
        if self.layers.is_empty() || r.is_negative() {
            return;
        }
        let first = ((r.min.x - NODE.x) / LAYER_DX).ceil().max(0.0) as usize;
        let last = (r.max.x / LAYER_DX).floor();
        if last < 0.0 {
            return;
        }
        let last = (last as usize).min(self.layers.len() - 1);
        for tasks in self.layers.get(first..=last).unwrap_or(&[]) {
            let lo = ((r.min.y - NODE.y) / ROW_DY).ceil().max(0.0) as u32;
            let hi = (r.max.y / ROW_DY).floor();
            if hi < 0.0 {
                continue;
            }
            let hi = hi as u32;
            let start = tasks.partition_point(|&t| self.row[t as usize] < lo);
            for &t in &tasks[start..] {
                if self.row[t as usize] > hi {
                    break;
                }
                f(t);
            }
        }
    }

    /// The task whose node holds the world point `p`, if any.
    pub(crate) fn hit(&self, p: Pos2) -> Option<u32> {
        if p.x < 0.0 || p.y < 0.0 {
            return None;
        }
        let l = (p.x / LAYER_DX) as usize;
        let r = (p.y / ROW_DY) as u32;
        let tasks = self.layers.get(l)?;
        let k = tasks.partition_point(|&t| self.row[t as usize] < r);
        let t = *tasks.get(k)?;
        (self.row[t as usize] == r && self.rect(t).contains(p)).then_some(t)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use smqsched::Scheduler;

    /// a, b -> c -> d, and a -> d: d's longest path is 2 even though it also uses a source;
    /// c and d sit level with their lowest input, b.
    fn diamond() -> (Scheduler, Snapshot) {
        let sch = Scheduler::new();
        let q = sch.queue("q", 1).unwrap();
        let a = q.submit((), |()| 1);
        let b = q.submit((), |()| 2);
        let c = q.submit((&a, &b), |(a, b): (&i32, &i32)| a + b);
        let _d = q.submit((&c, &a), |(c, a): (&i32, &i32)| c * a);
        let snap = sch.snapshot();
        (sch, snap)
    }

    #[test]
    fn layers_are_longest_paths_and_rows_follow_submission() {
        let (_sch, snap) = diamond();
        let mut l = Layout::default();
        l.update(&snap);
        assert_eq!((0..4).map(|i| l.layer(i)).collect::<Vec<_>>(), [0, 0, 1, 2]);
        assert_eq!(l.layer_tasks(0), [0, 1]);
        assert_eq!(l.dependents(0), [2, 3]);
        assert_eq!(l.center(1), pos2(NODE.x / 2.0, ROW_DY + NODE.y / 2.0));
        assert_eq!(
            l.bounds().max,
            pos2(2.0 * LAYER_DX + NODE.x, ROW_DY + NODE.y)
        );
    }

    #[test]
    fn a_layer_leaves_gaps_rather_than_lifting_a_task_above_its_inputs() {
        let sch = Scheduler::new();
        let q = sch.queue("q", 1).unwrap();
        let a: Vec<_> = (0..5).map(|i| q.submit((), move |()| i)).collect();
        // Uses the last source (row 4), then one using the first source (row 0): placed
        // below, at the first free row of layer 1.
        q.submit(&a[4], |x| *x);
        q.submit(&a[0], |x| *x);
        let mut l = Layout::default();
        l.update(&sch.snapshot());
        assert_eq!(l.center(5).y, l.center(4).y);
        assert_eq!(l.center(6).y, l.center(4).y + ROW_DY);
        let mut seen = Vec::new();
        l.visit_in(l.bounds(), |t| seen.push(t));
        assert_eq!(seen, [0, 1, 2, 3, 4, 5, 6]);
        let above = Rect::from_min_max(pos2(LAYER_DX, 0.0), pos2(LAYER_DX + 10.0, 3.0 * ROW_DY));
        seen.clear();
        l.visit_in(above, |t| seen.push(t));
        assert!(seen.is_empty());
    }

    #[test]
    fn a_new_source_starts_below_everything_placed() {
        let sch = Scheduler::new();
        let q = sch.queue("q", 1).unwrap();
        for _ in 0..2 {
            // A scan point: a move, three uses of it, one of their results.
            let m = q.submit((), |()| 0);
            let a = q.submit(&m, |x| *x);
            let _b = q.submit(&m, |x| *x);
            let _c = q.submit(&m, |x| *x);
            q.submit(&a, |x| *x);
        }
        let mut l = Layout::default();
        l.update(&sch.snapshot());
        let rows: Vec<f32> = (0..10).map(|t| (l.center(t).y / ROW_DY).floor()).collect();
        assert_eq!(rows, [0.0, 0.0, 1.0, 2.0, 0.0, 3.0, 3.0, 4.0, 5.0, 3.0]);
    }

    #[test]
    fn updates_are_incremental_and_placed_tasks_never_move() {
        let sch = Scheduler::new();
        let q = sch.queue("q", 1).unwrap();
        let mut snap = Snapshot::new();
        let mut l = Layout::default();
        let a = q.submit((), |()| 0);
        sch.snapshot_into(&mut snap);
        l.update(&snap);
        let before = l.center(0);
        let mut prev = a;
        for _ in 0..5 {
            prev = q.submit(&prev, |x| x + 1);
            sch.snapshot_into(&mut snap);
            l.update(&snap);
        }
        assert_eq!(l.len(), 6);
        assert_eq!(l.center(0), before);
        assert_eq!(l.layer(5), 5);
    }

    #[test]
    fn visiting_a_rectangle_finds_exactly_the_nodes_it_meets() {
        let sch = Scheduler::new();
        let q = sch.queue("q", 1).unwrap();
        let srcs: Vec<_> = (0..100).map(|i| q.submit((), move |()| i)).collect();
        for s in &srcs {
            q.submit(s, |x| x + 1);
        }
        let mut l = Layout::default();
        l.update(&sch.snapshot());
        let view = Rect::from_min_max(pos2(10.0, 10.0 * ROW_DY + 1.0), pos2(20.0, 12.0 * ROW_DY));
        let mut seen = Vec::new();
        l.visit_in(view, |t| seen.push(t));
        let brute: Vec<u32> = (0..200).filter(|&t| l.rect(t).intersects(view)).collect();
        assert_eq!(seen, brute);
        assert_eq!(seen, [10, 11, 12]);
        // The second layer starts at LAYER_DX, each task level with its input.
        let wide = Rect::from_min_max(
            pos2(0.0, 40.0 * ROW_DY),
            pos2(LAYER_DX + 1.0, 40.0 * ROW_DY + 1.0),
        );
        seen.clear();
        l.visit_in(wide, |t| seen.push(t));
        assert_eq!(seen, [40, 140]);
        for t in [0, 99, 150] {
            assert_eq!(l.hit(l.center(t)), Some(t));
        }
        assert_eq!(l.hit(pos2(NODE.x + 5.0, 5.0)), None);
        assert_eq!(l.hit(pos2(5.0, 100.0 * ROW_DY + 5.0)), None);
    }
}
