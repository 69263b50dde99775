//! The side panels: queues, the inspector of the selection, failures, the task stream and
//! the live plots.

use egui::{Align2, Color32, FontId, Rect, RichText, Sense, Shape, Stroke, Ui, pos2, vec2};
use egui_plot::{Legend, Line, Plot, PlotPoints, Points};
use smqsched::TaskState;

use crate::app::{Dashboard, thousands};
use crate::dag::{FAILED, RUNNING, label_colour, state_colour};
use crate::groups::kind;

/// Most failures listed.
const MAX_FAILURES_LISTED: usize = 50;

/// Each queue: slots in use out of the total, the ready backlog, and what waits for inputs;
/// a queue that starts its tasks in submission order is marked `(in order)`.
pub(crate) fn queues(d: &Dashboard, ui: &mut Ui) {
    ui.heading("Queues");
    egui::Grid::new("queues")
        .num_columns(4)
        .striped(true)
        .show(ui, |ui| {
            ui.label(RichText::new("queue").strong());
            ui.label(RichText::new("slots in use").strong());
            ui.label(RichText::new("ready").strong());
            ui.label(RichText::new("waiting").strong());
            ui.end_row();
            for q in &d.snap.queues {
                if q.order == smqsched::StartOrder::Submission {
                    ui.label(format!("{} (in order)", q.name))
                        .on_hover_text("starts its tasks in the order they were submitted");
                } else {
                    ui.label(q.name.as_ref());
                }
                slot_bar(ui, q.in_use, q.slots);
                ui.label(thousands(q.ready));
                ui.label(thousands(q.waiting));
                ui.end_row();
            }
        });
}

/// A small bar of `used` slots out of `total`, with the numbers on it.
fn slot_bar(ui: &mut Ui, used: usize, total: usize) {
    let (r, resp) = ui.allocate_exact_size(vec2(90.0, 16.0), Sense::hover());
    let text = format!("{used} / {total}");
    resp.widget_info(|| egui::WidgetInfo::labeled(egui::Role::ProgressIndicator, true, &text));
    let p = ui.painter();
    p.rect_filled(r, 3.0, ui.visuals().extreme_bg_color);
    let frac = if total == 0 {
        0.0
    } else {
        used as f32 / total as f32
    };
    if frac > 0.0 {
        let mut fill = r;
        fill.set_width(r.width() * frac.min(1.0));
        p.rect_filled(fill, 3.0, RUNNING);
    }
    p.text(
        r.center(),
        Align2::CENTER_CENTER,
        text,
        FontId::proportional(12.0),
        ui.visuals().strong_text_color(),
    );
}

/// The selected task: label, queue, state, inputs, timings and error; or a summary of a
/// multiple selection.
pub(crate) fn inspector(d: &mut Dashboard, ui: &mut Ui) {
    ui.heading("Selected");
    let sel: Vec<u32> = d.selected.iter().copied().collect();
    match sel[..] {
        [] => {
            ui.label(RichText::new("Click a task (Ctrl+click for several).").weak());
        }
        [t] => task_details(d, ui, t),
        _ => {
            let mut by_state = [0usize; 6];
            for &t in &sel {
                if let Some(task) = d.snap.tasks.get(t as usize) {
                    by_state[state_index(task.state)] += 1;
                }
            }
            ui.label(format!("{} tasks selected", sel.len()));
            ui.label(format!(
                "{} waiting · {} ready · {} running · {} done · {} failed · {} cancelled",
                by_state[0], by_state[1], by_state[2], by_state[3], by_state[4], by_state[5]
            ));
        }
    }
}

fn state_index(s: TaskState) -> usize {
    match s {
        TaskState::Waiting => 0,
        TaskState::Ready => 1,
        TaskState::Running => 2,
        TaskState::Done => 3,
        TaskState::Failed => 4,
        TaskState::Cancelled => 5,
    }
}

fn task_details(d: &mut Dashboard, ui: &mut Ui, t: u32) {
    let Some(task) = d.snap.tasks.get(t as usize) else {
        return;
    };
    let queue = d
        .snap
        .queues
        .get(task.queue as usize)
        .map_or("?", |q| q.name.as_ref());
    let mut go_to = None;
    egui::Grid::new("task").num_columns(2).show(ui, |ui| {
        ui.label("label");
        ui.label(RichText::new(task.label.as_ref()).strong());
        ui.end_row();
        ui.label("task");
        ui.label(task.id.to_string());
        ui.end_row();
        ui.label("queue");
        ui.label(match task.slot {
            Some(s) => format!("{queue}, slot {s}"),
            None => queue.to_owned(),
        });
        ui.end_row();
        ui.label("state");
        ui.label(
            RichText::new(smq_lab::state_name(task.state))
                .color(state_colour(task.state))
                .strong(),
        );
        ui.end_row();
        if let Some(status) = &task.status {
            ui.label("status");
            ui.label(status.as_ref());
            ui.end_row();
        }
        if task.items > 0 {
            ui.label("items");
            ui.label(task.items.to_string());
            ui.end_row();
        }
        ui.label("submitted");
        ui.label(format!("{:.3} s", task.submitted.as_secs_f64()));
        ui.end_row();
        if let Some(s) = task.started {
            ui.label("started");
            ui.label(format!(
                "{:.3} s (waited {:.3} s)",
                s.as_secs_f64(),
                s.saturating_sub(task.submitted).as_secs_f64()
            ));
            ui.end_row();
        }
        if let Some(f) = task.finished {
            ui.label("ended");
            let ran = task.started.map_or(String::new(), |s| {
                format!(" (ran {:.3} s)", f.saturating_sub(s).as_secs_f64())
            });
            ui.label(format!("{:.3} s{ran}", f.as_secs_f64()));
            ui.end_row();
        }
    });
    let inputs = d.snap.inputs(task);
    ui.label(format!("inputs ({})", inputs.len()));
    for dep in inputs.iter().take(20) {
        let Some(input) = d.snap.tasks.get(dep.task.index() as usize) else {
            continue;
        };
        let item = dep.item.map_or(String::new(), |i| format!(" item {i}"));
        let text = RichText::new(format!("{} {}{item}", input.id, input.label))
            .color(state_colour(input.state));
        if ui.link(text).clicked() {
            go_to = Some(dep.task.index() as u32);
        }
    }
    if inputs.len() > 20 {
        ui.label(format!("… and {} more", inputs.len() - 20));
    }
    ui.label(format!("used by {} task(s)", d.layout.dependents(t).len()));
    if let Some(e) = &task.error {
        ui.label(RichText::new("error").strong().color(FAILED));
        ui.label(RichText::new(e.to_string()).color(FAILED));
    }
    if let Some(g) = go_to {
        d.selected.clear();
        d.selected.insert(g);
    }
}

/// The failed tasks, newest first: clicking one selects it.
pub(crate) fn failures(d: &mut Dashboard, ui: &mut Ui) {
    let n = d.failures.len();
    ui.heading(format!("Failures ({n})"));
    let mut pick = None;
    for &t in d.failures.iter().rev().take(MAX_FAILURES_LISTED) {
        let Some(task) = d.snap.tasks.get(t as usize) else {
            continue;
        };
        let selected = d.selected.contains(&t);
        let text = format!("{} {}", task.id, task.label);
        if ui.selectable_label(selected, text).clicked() {
            pick = Some(t);
        }
    }
    if n > MAX_FAILURES_LISTED {
        ui.label(format!("… and {} earlier", n - MAX_FAILURES_LISTED));
    }
    if let Some(t) = pick {
        d.selected.clear();
        d.selected.insert(t);
    }
}

/// The task stream: one row per queue slot, a bar per run coloured by label, over the last
/// `stream_span` seconds.
pub(crate) fn task_stream(d: &mut Dashboard, ui: &mut Ui) {
    ui.horizontal(|ui| {
        ui.heading("Task stream");
        ui.label("last");
        ui.add(
            egui::DragValue::new(&mut d.stream_span)
                .range(1.0..=3600.0)
                .suffix(" s"),
        );
    });
    let rows = d.timeline.rows.len().max(1);
    let row_h = ((ui.available_height() - 16.0) / rows as f32).clamp(6.0, 22.0);
    let size = vec2(ui.available_width(), row_h * rows as f32 + 16.0);
    let (resp, painter) = ui.allocate_painter(size, Sense::hover());
    resp.widget_info(|| egui::WidgetInfo::labeled(egui::Role::Canvas, true, "task stream"));
    let r = resp.rect;
    painter.rect_filled(r, 0.0, ui.visuals().extreme_bg_color);
    let name_w = 90.0;
    let plot = Rect::from_min_max(
        pos2(r.min.x + name_w, r.min.y),
        pos2(r.max.x, r.max.y - 16.0),
    );
    let now = d.snap.at.as_secs_f64().max(d.timeline.latest);
    // The last `stream_span` seconds, or less at the start of a run.
    let first = d.timeline.first.unwrap_or(now);
    let t0 = (now - d.stream_span.min(now - first).max(1.0)).max(0.0);
    let span = (now - t0).max(1e-3);
    let x_of = |t: f64| plot.min.x + ((t - t0) / span) as f32 * plot.width();
    let font = FontId::proportional(11.0);
    let mut shapes = Vec::new();
    let mut hovered = None;
    let pointer = resp.hover_pos();
    for (i, row) in d.timeline.rows.iter().enumerate() {
        let y = plot.min.y + i as f32 * row_h;
        painter.text(
            pos2(r.min.x + 4.0, y + row_h / 2.0),
            Align2::LEFT_CENTER,
            format!("{}/{}", row.queue, row.slot),
            font.clone(),
            ui.visuals().text_color(),
        );
        for bar in row.bars_in(t0, now) {
            let x0 = x_of(bar.start.max(t0));
            let x1 = x_of(bar.end.unwrap_or(now)).max(x0 + 1.0);
            let br = Rect::from_min_max(pos2(x0, y + 1.0), pos2(x1, y + row_h - 1.0));
            let fill = label_colour(kind(&bar.label));
            shapes.push(Shape::rect_filled(br, 1.0, fill));
            if bar.failed {
                shapes.push(Shape::rect_stroke(
                    br,
                    1.0,
                    Stroke::new(1.5, FAILED),
                    egui::StrokeKind::Inside,
                ));
            }
            if pointer.is_some_and(|p| br.contains(p)) {
                hovered = Some((bar.label.clone(), bar.task, bar.end.map(|e| e - bar.start)));
            }
        }
    }
    painter.extend(shapes);
    // A time axis: "now" at the right, the window's start at the left.
    let axis_y = r.max.y - 8.0;
    for k in 0..=4 {
        let t = t0 + span * f64::from(k) / 4.0;
        painter.text(
            pos2(x_of(t), axis_y),
            if k == 4 {
                Align2::RIGHT_CENTER
            } else {
                Align2::CENTER_CENTER
            },
            format!("{t:.1} s"),
            font.clone(),
            Color32::GRAY,
        );
    }
    if let Some((label, task, took)) = hovered {
        let took = took.map_or("running".to_owned(), |s| format!("{s:.3} s"));
        resp.on_hover_text_at_pointer(format!("{label} ({task}): {took}"));
    }
}

/// The live plots: last waveform, running average, scan and map.
pub(crate) fn plots(d: &mut Dashboard, ui: &mut Ui) {
    let Some(plots) = &d.plots else { return };
    let data = plots.lock();
    ui.heading("Live plots");
    let h = ((ui.available_height() - 90.0) / 3.0).max(80.0);
    ui.label(if data.last.is_some() {
        format!("Last waveform: {}", data.last_label)
    } else {
        "Last waveform: none yet".to_owned()
    });
    Plot::new("last")
        .height(h)
        .legend(Legend::default())
        .show(ui, |p| {
            if let Some(last) = &data.last {
                p.line(Line::new("last", PlotPoints::from_ys_f64(last)).color(RUNNING));
            }
            if !data.average_mean.is_empty() {
                p.line(
                    Line::new(
                        format!("average of {}", data.average.count()),
                        PlotPoints::from_ys_f64(&data.average_mean),
                    )
                    .color(Color32::LIGHT_BLUE),
                );
            }
        });
    ui.label(format!("Scan: {} point(s)", data.scan.len()));
    let mut scan = data.scan.clone();
    scan.sort_by(|a, b| a[0].total_cmp(&b[0]));
    Plot::new("scan").height(h).show(ui, |p| {
        p.line(Line::new("scan", PlotPoints::from(scan.clone())).color(Color32::LIGHT_GREEN));
        p.points(Points::new("points", PlotPoints::from(scan)).radius(2.5));
    });
    ui.label(format!("Map: {} point(s)", data.map.len()));
    let (lo, hi) = data
        .map
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), m| {
            (lo.min(m[2]), hi.max(m[2]))
        });
    // Colour by value, in eight steps: one plot item per step.
    let mut buckets: Vec<Vec<[f64; 2]>> = vec![Vec::new(); 8];
    for m in &data.map {
        let s = if hi > lo {
            (m[2] - lo) / (hi - lo)
        } else {
            0.5
        };
        let b = ((s * 7.0).round() as usize).min(7);
        buckets[b].push([m[0], m[1]]);
    }
    Plot::new("map").height(h).show(ui, |p| {
        for (b, pts) in buckets.into_iter().enumerate() {
            if !pts.is_empty() {
                let colour = colour_map(b as f32 / 7.0);
                p.points(
                    Points::new(format!("level {b}"), PlotPoints::from(pts))
                        .radius(4.0)
                        .color(colour),
                );
            }
        }
    });
    if data.failed > 0 {
        ui.label(RichText::new(format!("{} plotted result(s) failed", data.failed)).color(FAILED));
    }
}

/// A perceptual colour ramp (viridis' anchors) at `s` in 0..=1.
pub(crate) fn colour_map(s: f32) -> Color32 {
    const ANCHORS: [[u8; 3]; 5] = [
        [68, 1, 84],
        [59, 82, 139],
        [33, 145, 140],
        [94, 201, 98],
        [253, 231, 37],
    ];
    let x = s.clamp(0.0, 1.0) * 4.0;
    let i = (x.floor() as usize).min(3);
    let f = x - i as f32;
    let (a, b) = (ANCHORS[i], ANCHORS[i + 1]);
    let mix = |k: usize| (f32::from(a[k]) + (f32::from(b[k]) - f32::from(a[k])) * f).round() as u8;
    Color32::from_rgb(mix(0), mix(1), mix(2))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_colour_map_spans_its_anchors() {
        assert_eq!(colour_map(0.0), Color32::from_rgb(68, 1, 84));
        assert_eq!(colour_map(1.0), Color32::from_rgb(253, 231, 37));
        assert_eq!(colour_map(0.5), Color32::from_rgb(33, 145, 140));
    }
}
