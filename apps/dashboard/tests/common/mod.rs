//! Helpers shared by the dashboard's headless tests.

use egui_kittest::Harness;
use smqsched_dashboard::Dashboard;

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
