//! Helpers shared by the dashboard's headless tests.

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
