//! Frame time of the dashboard at 1,000, 10,000 and 100,000 tasks.
//!
//! A frame is the whole UI through `egui::Context::run_ui` plus tessellation into triangle
//! meshes, at 1400×900 points: everything but the GPU upload. The graph is a stopped
//! scheduler holding `n / 4` acquisition chains `frame → fft → peak → save` on two queues.
//! Measured in the same run:
//!
//! * `dashboard-auto`: the dashboard as it opens (grouped by label above 2,000 tasks);
//! * `dashboard-tasks`: the dashboard forced to draw task by task (culled, sampled);
//! * `dashboard-first-frame`: a new dashboard's first frame, which places every task;
//! * `baseline-list`: a plain egui list of the same tasks (only the visible rows laid out);
//! * `baseline-empty`: an empty frame.
//!
//! Run with `cargo bench -p smqsched-dashboard --bench frame`.

use std::hint::black_box;
use std::time::Duration;

use criterion::{BatchSize, BenchmarkId, Criterion, criterion_group, criterion_main};
use smqsched::Scheduler;
use smqsched_dashboard::Dashboard;

fn graph(n: usize) -> Scheduler {
    let sch = Scheduler::new();
    let acq = sch.queue("camera", 1).expect("queue");
    let compute = sch.queue("compute", 2).expect("queue");
    for i in 0..n / 4 {
        let f = acq
            .task()
            .label(format!("frame({i})"))
            .submit((), move |()| i)
            .expect("submit");
        let s = compute
            .task()
            .label(format!("fft({i})"))
            .submit(&f, |f| f * 2)
            .expect("submit");
        let p = compute
            .task()
            .label(format!("peak({i})"))
            .submit(&s, |s| s + 1)
            .expect("submit");
        compute
            .task()
            .label(format!("save({i})"))
            .submit(&p, |p| *p)
            .expect("submit");
    }
    sch
}

fn input() -> egui::RawInput {
    egui::RawInput {
        screen_rect: Some(egui::Rect::from_min_size(
            egui::Pos2::ZERO,
            egui::vec2(1400.0, 900.0),
        )),
        ..Default::default()
    }
}

/// One frame: the UI pass, then tessellation.
fn frame(ctx: &egui::Context, ui_fn: impl FnMut(&mut egui::Ui)) -> usize {
    let mut out = ctx.run_ui(input(), ui_fn);
    // Nothing uploads the textures here.
    out.textures_delta.clear();
    let prims = ctx.tessellate(out.shapes, out.pixels_per_point);
    black_box(prims.len())
}

fn list(ui: &mut egui::Ui, labels: &[String]) {
    egui::CentralPanel::default().show(ui, |ui| {
        egui::ScrollArea::vertical().show_rows(ui, 18.0, labels.len(), |ui, rows| {
            for i in rows {
                ui.label(&labels[i]);
            }
        });
    });
}

fn frames(c: &mut Criterion) {
    // Whatever is measured first in the process ran ~2.5x slower than the same frame
    // measured later (allocator and caches warming up): warm up on a throwaway graph first.
    {
        let sch = graph(1_000);
        let ctx = egui::Context::default();
        let mut d = Dashboard::new(&sch);
        let start = std::time::Instant::now();
        while start.elapsed() < Duration::from_secs(3) {
            frame(&ctx, |ui| d.ui(ui));
        }
    }
    let mut g = c.benchmark_group("frame");
    g.sample_size(20)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2));
    for n in [1_000, 10_000, 100_000] {
        let sch = graph(n);
        let ctx = egui::Context::default();
        let mut auto = Dashboard::new(&sch);
        g.bench_function(BenchmarkId::new("dashboard-auto", n), |b| {
            b.iter(|| frame(&ctx, |ui| auto.ui(ui)))
        });
        let ctx = egui::Context::default();
        let mut tasks = Dashboard::new(&sch).with_group_threshold(usize::MAX);
        g.bench_function(BenchmarkId::new("dashboard-tasks", n), |b| {
            b.iter(|| frame(&ctx, |ui| tasks.ui(ui)))
        });
        let ctx = egui::Context::default();
        g.bench_function(BenchmarkId::new("dashboard-first-frame", n), |b| {
            b.iter_batched(
                || Dashboard::new(&sch),
                |mut d| frame(&ctx, |ui| d.ui(ui)),
                BatchSize::LargeInput,
            )
        });
        let labels: Vec<String> = sch
            .snapshot()
            .tasks
            .iter()
            .map(|t| format!("{} {}", t.id, t.label))
            .collect();
        let ctx = egui::Context::default();
        g.bench_function(BenchmarkId::new("baseline-list", n), |b| {
            b.iter(|| frame(&ctx, |ui| list(ui, &labels)))
        });
        let ctx = egui::Context::default();
        g.bench_function(BenchmarkId::new("baseline-empty", n), |b| {
            b.iter(|| {
                frame(&ctx, |ui| {
                    egui::CentralPanel::default().show(ui, |ui| ui.label("empty"));
                })
            })
        });
    }
    g.finish();
}

criterion_group!(benches, frames);
criterion_main!(benches);
