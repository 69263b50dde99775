//! Helpers shared by the dashboard's headless tests.

// Each test file uses some of them.
#![allow(dead_code)]

use std::sync::mpsc;

use egui_kittest::Harness;
use smqsched::{Promise, Scheduler};
use smqsched_dashboard::Dashboard;

/// A one-slot queue `instrument` holding three tasks `later(i)` (returning `i`) and, newest,
/// `held` (returning 99), which runs first: it signals `started`, then waits for `release`.
pub(crate) struct HeldGraph {
    pub(crate) later: Vec<Promise<i32>>,
    pub(crate) held: Promise<i32>,
    pub(crate) started: mpsc::Receiver<()>,
    pub(crate) release: mpsc::Sender<()>,
}

impl HeldGraph {
    /// Submit the graph to `sch` (not started).
    pub(crate) fn submit(sch: &Scheduler) -> Self {
        let q = sch.queue("instrument", 1).unwrap();
        let (started_tx, started) = mpsc::channel();
        let (release, release_rx) = mpsc::channel::<()>();
        let later = (0..3)
            .map(|i| {
                q.task()
                    .label(format!("later({i})"))
                    .submit((), move |()| i)
                    .unwrap()
            })
            .collect();
        let held = q
            .task()
            .label("held")
            .submit((), move |()| {
                started_tx.send(()).unwrap();
                release_rx.recv().unwrap();
                99
            })
            .unwrap();
        HeldGraph {
            later,
            held,
            started,
            release,
        }
    }
}

/// A headless window of the desktop size around `dash`.
pub(crate) fn harness(dash: Dashboard) -> Harness<'static, Dashboard> {
    Harness::builder()
        .with_size(egui::vec2(1400.0, 900.0))
        .build_ui_state(|ui, d: &mut Dashboard| d.ui(ui), dash)
}

/// Click at the centre of `r` with the primary button.
pub(crate) fn click_at(h: &Harness<'_, Dashboard>, r: egui::Rect) {
    let pos = r.center();
    h.event(egui::Event::PointerMoved(pos));
    for pressed in [true, false] {
        h.event(egui::Event::PointerButton {
            pos,
            button: egui::PointerButton::Primary,
            pressed,
            modifiers: egui::Modifiers::NONE,
        });
    }
}

/// A headless window of the desktop size around the view of a stored run.
pub(crate) fn stored_harness(
    view: smqsched_dashboard::StoredView,
) -> Harness<'static, smqsched_dashboard::StoredView> {
    Harness::builder()
        .with_size(egui::vec2(1400.0, 900.0))
        .build_ui_state(|ui, v: &mut smqsched_dashboard::StoredView| v.ui(ui), view)
}

/// Save into `run`, as the demo scan does, `points` points newest first (`position`,
/// `dmm_voltage`, a `waveform` of 50 samples whose first sample is the point's number, a
/// `spectrum_peak` pair), each with its `_point`, then commit.
pub(crate) fn save_demo_like(run: &smq_store::Run, points: std::ops::Range<u64>) {
    let sch = Scheduler::new();
    let disk = sch.queue("disk", 1).unwrap();
    let mut saved = Vec::new();
    for p in points.rev() {
        let x = p as f64;
        let pos = disk.submit((), move |()| x);
        let volts = disk.submit((), move |()| 0.1 + x);
        let wave = disk.submit((), move |()| ndarray::Array1::from_elem(50, x));
        let peak = disk.submit((), move |()| smq_lab::Peak {
            frequency: 1000.0,
            power: x,
        });
        saved.push(run.save_at(&disk, "position", p, &pos).unwrap());
        saved.push(run.save_at(&disk, "dmm_voltage", p, &volts).unwrap());
        saved.push(run.save_at(&disk, "waveform", p, &wave).unwrap());
        saved.push(run.save_at(&disk, "spectrum_peak", p, &peak).unwrap());
    }
    sch.start();
    for s in saved {
        s.result().unwrap();
    }
    run.commit().unwrap();
}
