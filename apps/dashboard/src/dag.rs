//! The DAG canvas: tasks or label groups, pan and zoom, click to select.
//!
//! Per-frame work is bounded by what is on screen: the visible tasks are found from the
//! layout's grid ([`Layout::visit_in`]), and when nodes are smaller than a few pixels only
//! every k-th row is drawn, each drawn node standing for the k rows it covers.

use egui::{
    Align2, Color32, FontId, Pos2, Rect, Response, Sense, Shape, Stroke, StrokeKind, Ui, Vec2,
    pos2, vec2,
};
use smqsched::TaskState;

use crate::app::{Dashboard, thousands};
use crate::groups::{CELL, GROUP_NODE, GroupHit};
use crate::layout::ROW_DY;

/// Colour of a waiting task.
pub(crate) const WAITING: Color32 = Color32::from_rgb(120, 120, 132);
/// Colour of a ready task.
pub(crate) const READY: Color32 = Color32::from_rgb(86, 146, 230);
/// Colour of a running task.
pub(crate) const RUNNING: Color32 = Color32::from_rgb(240, 176, 40);
/// Colour of a finished task.
pub(crate) const DONE: Color32 = Color32::from_rgb(64, 176, 96);
/// Colour of a failed task.
pub(crate) const FAILED: Color32 = Color32::from_rgb(224, 64, 64);
/// Colour of a cancelled task.
pub(crate) const CANCELLED: Color32 = Color32::from_rgb(132, 96, 150);

/// Fewest visible pixels per row before rows are sampled.
const MIN_ROW_PX: f32 = 3.0;
/// Most edges drawn per frame.
const MAX_EDGES: usize = 20_000;

/// The colour of a task state.
pub(crate) fn state_colour(s: TaskState) -> Color32 {
    match s {
        TaskState::Waiting => WAITING,
        TaskState::Ready => READY,
        TaskState::Running => RUNNING,
        TaskState::Done => DONE,
        TaskState::Failed => FAILED,
        TaskState::Cancelled => CANCELLED,
    }
}

/// A stable colour for a label kind (the same kind has the same colour everywhere).
pub(crate) fn label_colour(kind: &str) -> Color32 {
    // FNV-1a, then the golden ratio spreads the hues.
    let mut h: u32 = 0x811c_9dc5;
    for b in kind.bytes() {
        h = (h ^ u32::from(b)).wrapping_mul(0x0100_0193);
    }
    let hue = (h as f32 / u32::MAX as f32 * 0.618_034).fract();
    egui::ecolor::Hsva::new(hue, 0.55, 0.85, 1.0).into()
}

/// Which graph the canvas shows.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) enum ViewMode {
    /// Tasks up to the group threshold, groups above.
    Auto,
    /// Always tasks.
    Tasks,
    /// Always groups.
    Groups,
}

/// Pan and zoom of a canvas: world point `offset` is at the canvas's top-left corner, and
/// one world unit is `zoom` points.
#[derive(Copy, Clone, Debug)]
pub(crate) struct Camera {
    pub(crate) offset: Vec2,
    pub(crate) zoom: f32,
    /// Whether the operator moved it; until then it follows the graph (fit to view).
    pub(crate) touched: bool,
    /// The canvas rectangle at the last frame.
    pub(crate) canvas: Rect,
}

impl Default for Camera {
    fn default() -> Self {
        Camera {
            offset: Vec2::ZERO,
            zoom: 1.0,
            touched: false,
            canvas: Rect::NOTHING,
        }
    }
}

impl Camera {
    pub(crate) fn to_screen(self, p: Pos2) -> Pos2 {
        self.canvas.min + (p.to_vec2() - self.offset) * self.zoom
    }

    pub(crate) fn to_world(self, p: Pos2) -> Pos2 {
        (self.offset + (p - self.canvas.min) / self.zoom).to_pos2()
    }

    pub(crate) fn rect_to_screen(&self, r: Rect) -> Rect {
        Rect::from_min_max(self.to_screen(r.min), self.to_screen(r.max))
    }

    /// The world rectangle on screen.
    pub(crate) fn world_view(&self) -> Rect {
        Rect::from_min_max(
            self.to_world(self.canvas.min),
            self.to_world(self.canvas.max),
        )
    }

    /// Show `bounds` whole (zoom at most 1, at least `min_zoom`); if it does not fit, its
    /// left end, centred vertically on `focus` (or at the bottom without one).
    pub(crate) fn fit(&mut self, bounds: Rect, min_zoom: f32, focus: Option<Pos2>) {
        if !bounds.is_positive() || !self.canvas.is_positive() {
            return;
        }
        let margin = 20.0;
        let avail = self.canvas.size() - Vec2::splat(2.0 * margin);
        let zoom = (avail.x / bounds.width())
            .min(avail.y / bounds.height())
            .clamp(min_zoom, 1.0);
        self.zoom = zoom;
        let shown = avail / zoom;
        let centre = bounds.center().to_vec2();
        let mut offset = centre - shown / 2.0;
        // Too big to fit: show the left end, and the focus (the task started last: where
        // the scheduler works), else the bottom, where the newest tasks are placed.
        if bounds.width() > shown.x {
            offset.x = bounds.min.x;
        }
        if bounds.height() > shown.y {
            let lowest = bounds.max.y - shown.y;
            offset.y = focus.map_or(lowest, |f| {
                (f.y - shown.y / 2.0).clamp(bounds.min.y, lowest)
            });
        }
        self.offset = offset - Vec2::splat(margin / zoom);
    }

    /// Pan by drag, zoom by scroll (with the pointer as centre) or pinch.
    fn interact(&mut self, ui: &Ui, resp: &Response) {
        if resp.dragged() {
            self.offset -= resp.drag_delta() / self.zoom;
            self.touched = true;
        }
        if let Some(hover) = resp.hover_pos() {
            let (scroll, pinch) = ui.input(|i| (i.smooth_scroll_delta, i.zoom_delta()));
            let factor = pinch * (scroll.y / 200.0).exp();
            if factor != 1.0 {
                let before = self.to_world(hover);
                self.zoom = (self.zoom * factor).clamp(0.002, 4.0);
                let after = self.to_world(hover);
                self.offset += before - after;
                self.touched = true;
            }
        }
    }
}

/// Draw the DAG into the central panel.
pub(crate) fn show(d: &mut Dashboard, ui: &mut Ui) {
    let grouped = d.is_grouped();
    // Wrapped, so that a narrow panel does not widen the canvas past what is visible.
    ui.horizontal_wrapped(|ui| {
        let n = thousands(d.snap.tasks.len());
        if grouped {
            ui.label(format!(
                "{n} tasks, grouped by label into {} groups: click a group to expand it",
                d.groups.groups.len()
            ));
        } else {
            ui.label(format!(
                "{n} tasks: drag to pan, scroll to zoom, click to inspect"
            ));
        }
        ui.separator();
        for (name, c) in [
            ("waiting", WAITING),
            ("ready", READY),
            ("running", RUNNING),
            ("done", DONE),
            ("failed", FAILED),
            ("cancelled", CANCELLED),
        ] {
            swatch(ui, c, false);
            ui.label(name);
        }
    });
    let (resp, painter) = ui.allocate_painter(ui.available_size(), Sense::click_and_drag());
    resp.widget_info(|| egui::WidgetInfo::labeled(egui::Role::Canvas, true, "task graph"));
    let canvas = resp.rect;
    painter.rect_filled(canvas, 0.0, ui.visuals().extreme_bg_color);
    let painter = painter.with_clip_rect(canvas);
    if grouped {
        d.groups.arrange();
        let cam = &mut d.group_camera;
        cam.canvas = canvas;
        cam.interact(ui, &resp);
        if !cam.touched {
            cam.fit(d.groups.bounds(), 0.05, None);
        }
        draw_groups(d, ui, &painter, &resp);
    } else {
        let cam = &mut d.task_camera;
        cam.canvas = canvas;
        cam.interact(ui, &resp);
        if !cam.touched {
            // Whole if it fits, else readable at the newest tasks (scroll out for the shape).
            let focus = d.last_started.map(|t| d.layout.center(t));
            cam.fit(d.layout.bounds(), 0.5, focus);
        }
        draw_tasks(d, ui, &painter, &resp);
    }
}

/// A small coloured square (or disc) in the flow of `ui`: legends and the state badge.
pub(crate) fn swatch(ui: &mut Ui, colour: Color32, round: bool) {
    let (r, _) = ui.allocate_exact_size(Vec2::splat(12.0), Sense::hover());
    if round {
        ui.painter().circle_filled(r.center(), 6.0, colour);
    } else {
        ui.painter().rect_filled(r.shrink(1.0), 2.0, colour);
    }
}

/// Apply a click at `pos` on task `t`: select it (with Ctrl or Shift, toggle it in the
/// selection).
fn click_task(d: &mut Dashboard, ui: &Ui, t: u32) {
    let add = ui.input(|i| i.modifiers.command || i.modifiers.shift);
    if add {
        if !d.selected.remove(&t) {
            d.selected.insert(t);
        }
    } else {
        d.selected.clear();
        d.selected.insert(t);
    }
}

fn draw_tasks(d: &mut Dashboard, ui: &Ui, painter: &egui::Painter, resp: &Response) {
    let cam = d.task_camera;
    let view = cam.world_view();
    let row_px = ROW_DY * cam.zoom;
    // Sample rows when they are thinner than a few pixels: draw one row in `stride`.
    let stride = if row_px >= MIN_ROW_PX {
        1
    } else {
        (MIN_ROW_PX / row_px).ceil() as u32
    };
    let detailed = cam.zoom >= 0.45;
    let edges = cam.zoom >= 0.12 && stride == 1;
    let edge_stroke = Stroke::new(1.0, Color32::from_gray(110));

    let mut visible: Vec<u32> = Vec::new();
    d.layout.visit_in(view, |t| visible.push(t));
    let mut shapes: Vec<Shape> = Vec::with_capacity(visible.len() * 2);
    if edges {
        let mut n = 0;
        for &t in &visible {
            if n >= MAX_EDGES {
                break;
            }
            let Some(task) = d.snap.tasks.get(t as usize) else {
                continue;
            };
            let to = cam.to_screen(d.layout.rect(t).left_center());
            for dep in d.snap.inputs(task) {
                let s = dep.task.index() as u32;
                let from = cam.to_screen(d.layout.rect(s).right_center());
                shapes.push(Shape::line_segment([from, to], edge_stroke));
                n += 1;
            }
            // Edges to dependents off screen (those on screen draw their own).
            let from = cam.to_screen(d.layout.rect(t).right_center());
            for &u in d.layout.dependents(t) {
                let r = d.layout.rect(u);
                if !r.intersects(view) {
                    shapes.push(Shape::line_segment(
                        [from, cam.to_screen(r.left_center())],
                        edge_stroke,
                    ));
                    n += 1;
                }
            }
        }
    }
    let font = FontId::proportional((12.0 * cam.zoom).clamp(7.0, 14.0));
    let text_colour = Color32::BLACK;
    let mut texts: Vec<(Pos2, String)> = Vec::new();
    for &t in &visible {
        let row = (d.layout.center(t).y / ROW_DY) as u32;
        if stride > 1 && !row.is_multiple_of(stride) {
            continue;
        }
        let Some(task) = d.snap.tasks.get(t as usize) else {
            continue;
        };
        let mut r = cam.rect_to_screen(d.layout.rect(t));
        if stride > 1 {
            r.max.y = r.min.y + row_px * stride as f32;
        }
        let fill = state_colour(task.state);
        shapes.push(Shape::rect_filled(r, 3.0 * cam.zoom.min(1.0), fill));
        if d.selected.contains(&t) {
            shapes.push(Shape::rect_stroke(
                r.expand(2.0),
                3.0,
                Stroke::new(2.5, Color32::WHITE),
                StrokeKind::Outside,
            ));
        }
        if detailed {
            let text = clipped(&task.label, (r.width() / (font.size * 0.55)) as usize);
            texts.push((r.center(), text));
        }
    }
    painter.extend(shapes);
    for (at, text) in texts {
        painter.text(at, Align2::CENTER_CENTER, text, font.clone(), text_colour);
    }

    if resp.clicked()
        && let Some(p) = resp.interact_pointer_pos()
    {
        match d.layout.hit(cam.to_world(p)) {
            Some(t) => click_task(d, ui, t),
            None => d.selected.clear(),
        }
    }
    if let Some(p) = resp.hover_pos()
        && let Some(t) = d.layout.hit(cam.to_world(p))
        && let Some(task) = d.snap.tasks.get(t as usize)
    {
        resp.clone().on_hover_text_at_pointer(format!(
            "{} ({}): {}",
            task.label,
            task.id,
            smq_lab::state_name(task.state)
        ));
    }
}

/// At most `n` characters of `s`, with an ellipsis if cut.
fn clipped(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_owned()
    } else {
        let mut out: String = s.chars().take(n.saturating_sub(1)).collect();
        out.push('…');
        out
    }
}

fn draw_groups(d: &mut Dashboard, ui: &mut Ui, painter: &egui::Painter, resp: &Response) {
    let cam = d.group_camera;
    let view = cam.world_view();
    let mut shapes: Vec<Shape> = Vec::new();
    for &(from, to, count) in &d.groups.edges {
        let (Some(a), Some(b)) = (
            d.groups.groups.get(from as usize),
            d.groups.groups.get(to as usize),
        ) else {
            continue;
        };
        let p = cam.to_screen(pos2(a.rect.max.x, a.rect.min.y + GROUP_NODE.y / 2.0));
        let q = cam.to_screen(pos2(b.rect.min.x, b.rect.min.y + GROUP_NODE.y / 2.0));
        let width = (1.0 + (count as f32).log10()).clamp(1.0, 5.0);
        shapes.push(Shape::line_segment(
            [p, q],
            Stroke::new(width, Color32::from_gray(120)),
        ));
    }
    let title = FontId::proportional((14.0 * cam.zoom).clamp(5.0, 16.0));
    let small = FontId::proportional((11.0 * cam.zoom).clamp(5.0, 13.0));
    let mut toggled = None;
    let mut texts: Vec<(Pos2, String, FontId, Color32)> = Vec::new();
    for (gi, g) in d.groups.groups.iter().enumerate() {
        if !g.rect.intersects(view) {
            continue;
        }
        let r = cam.rect_to_screen(g.rect);
        shapes.push(Shape::rect_filled(
            r,
            6.0 * cam.zoom,
            Color32::from_gray(48),
        ));
        shapes.push(Shape::rect_stroke(
            r,
            6.0 * cam.zoom,
            Stroke::new(1.0, label_colour(&g.name)),
            StrokeKind::Inside,
        ));
        let header = Rect::from_min_size(r.min, GROUP_NODE * cam.zoom);
        // The progress stripe: done, failed, cancelled, running, out of the total.
        let c = g.counts;
        let total = c.total().max(1) as f32;
        let stripe = Rect::from_min_size(
            header.left_bottom() + vec2(6.0, -12.0) * cam.zoom,
            vec2(header.width() - 12.0 * cam.zoom, 6.0 * cam.zoom),
        );
        shapes.push(Shape::rect_filled(stripe, 0.0, WAITING));
        let mut x = stripe.min.x;
        for (n, colour) in [
            (c.done, DONE),
            (c.failed, FAILED),
            (c.cancelled, CANCELLED),
            (c.running, RUNNING),
        ] {
            let w = stripe.width() * n as f32 / total;
            if w > 0.0 {
                shapes.push(Shape::rect_filled(
                    Rect::from_min_size(pos2(x, stripe.min.y), vec2(w, stripe.height())),
                    0.0,
                    colour,
                ));
                x += w;
            }
        }
        // A disclosure triangle: pointing down when expanded.
        let a = header.min + vec2(14.0, 14.0) * cam.zoom;
        let k = 5.0 * cam.zoom;
        let tri = if g.expanded {
            vec![
                a + vec2(-k, -k * 0.6),
                a + vec2(k, -k * 0.6),
                a + vec2(0.0, k * 0.8),
            ]
        } else {
            vec![
                a + vec2(-k * 0.6, -k),
                a + vec2(k * 0.8, 0.0),
                a + vec2(-k * 0.6, k),
            ]
        };
        shapes.push(Shape::convex_polygon(tri, Color32::WHITE, Stroke::NONE));
        let caption = g.name.clone();
        let counts = format!(
            "{}/{} done · {} running · {} failed",
            thousands(c.done),
            thousands(c.total()),
            c.running,
            c.failed + c.cancelled
        );
        texts.push((
            header.min + vec2(26.0, 6.0) * cam.zoom,
            caption,
            title.clone(),
            Color32::WHITE,
        ));
        texts.push((
            header.min + vec2(8.0, 26.0) * cam.zoom,
            counts.clone(),
            small.clone(),
            Color32::LIGHT_GRAY,
        ));
        if g.expanded {
            // Only the rows of cells on screen.
            let first = (((view.min.y - g.rect.min.y - GROUP_NODE.y) / CELL)
                .floor()
                .max(0.0) as usize)
                * crate::groups::CELLS_PER_ROW;
            let last = ((((view.max.y - g.rect.min.y - GROUP_NODE.y) / CELL)
                .ceil()
                .max(0.0) as usize)
                + 1)
                * crate::groups::CELLS_PER_ROW;
            for k in first..last.min(g.tasks.len()) {
                let t = g.tasks[k];
                let Some(task) = d.snap.tasks.get(t as usize) else {
                    continue;
                };
                let cell = cam.rect_to_screen(g.cell(k));
                shapes.push(Shape::rect_filled(cell, 1.0, state_colour(task.state)));
                if d.selected.contains(&t) {
                    shapes.push(Shape::rect_stroke(
                        cell,
                        1.0,
                        Stroke::new(2.0, Color32::WHITE),
                        StrokeKind::Outside,
                    ));
                }
            }
        }
        // The header is a button for assistive technology and tests.
        let hr = header.intersect(cam.canvas);
        if hr.is_positive() {
            let id = ui.scope_id().with(("group", gi));
            let h = ui.interact(hr, id, Sense::click());
            let label = format!("group {}: {counts}", g.name);
            h.widget_info(|| egui::WidgetInfo::labeled(egui::Role::Button, true, &label));
            if h.clicked() {
                toggled = Some(gi);
            }
        }
    }
    painter.extend(shapes);
    for (at, text, font, colour) in texts {
        painter.text(at, Align2::LEFT_TOP, text, font, colour);
    }
    if let Some(gi) = toggled
        && let Some(g) = d.groups.groups.get_mut(gi)
    {
        g.expanded = !g.expanded;
    }
    if resp.clicked()
        && let Some(p) = resp.interact_pointer_pos()
    {
        match d.groups.hit(cam.to_world(p)) {
            Some(GroupHit::Task(t)) => click_task(d, ui, t),
            Some(GroupHit::Header(gi)) => {
                if let Some(g) = d.groups.groups.get_mut(gi as usize) {
                    g.expanded = !g.expanded;
                }
            }
            None => d.selected.clear(),
        }
    }
}

/// Where task `t` is on screen at the last frame, if drawn.
pub(crate) fn node_screen_rect(d: &Dashboard, t: u32) -> Option<Rect> {
    if (t as usize) >= d.layout.len() {
        return None;
    }
    let r = if d.is_grouped() {
        let g = d.groups.groups.get(d.groups.group_of(t)? as usize)?;
        if !g.expanded {
            return None;
        }
        let k = g.tasks.iter().position(|&x| x == t)?;
        d.group_camera.rect_to_screen(g.cell(k))
    } else {
        d.task_camera.rect_to_screen(d.layout.rect(t))
    };
    let cam = if d.is_grouped() {
        &d.group_camera
    } else {
        &d.task_camera
    };
    cam.canvas.contains_rect(r).then_some(r)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_camera_round_trips_and_fits() {
        let mut c = Camera {
            canvas: Rect::from_min_size(pos2(100.0, 50.0), vec2(400.0, 300.0)),
            ..Camera::default()
        };
        c.fit(
            Rect::from_min_size(Pos2::ZERO, vec2(1000.0, 100.0)),
            0.01,
            None,
        );
        let p = pos2(123.0, 45.0);
        assert!((c.to_world(c.to_screen(p)) - p).length() < 1e-3);
        let shown = c.rect_to_screen(Rect::from_min_size(Pos2::ZERO, vec2(1000.0, 100.0)));
        assert!(c.canvas.contains_rect(shown));
        // Too big for the minimum zoom: shown from its bottom-left corner.
        let huge = Rect::from_min_size(Pos2::ZERO, vec2(1e6, 1e6));
        c.fit(huge, 0.01, None);
        assert_eq!(c.zoom, 0.01);
        assert!(c.world_view().contains(pos2(1.0, 1e6 - 1.0)));
        assert!(!c.world_view().contains(pos2(1.0, 1.0)));
        // With a focus: centred on it, but never past the ends.
        c.fit(huge, 0.01, Some(pos2(0.0, 5e5)));
        assert!((c.world_view().center().y - 5e5).abs() < 1.0);
        c.fit(huge, 0.01, Some(pos2(0.0, 10.0)));
        // The top end, less the 20-point margin.
        assert_eq!(c.world_view().min.y, -20.0 / c.zoom);
    }

    #[test]
    fn label_colours_are_stable_and_labels_are_clipped() {
        assert_eq!(label_colour("fft"), label_colour("fft"));
        assert_ne!(label_colour("fft"), label_colour("peak"));
        assert_eq!(clipped("abcdef", 4), "abc…");
        assert_eq!(clipped("abc", 4), "abc");
    }
}
