//! The built-in demo (the scan of `smq demo` on the simulated instruments) shown in the
//! dashboard, headless.

#![allow(clippy::unwrap_used)]

use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;
use smq_lab::RunStatus;
use smqsched_dashboard::{Dashboard, Demo};

#[test]
fn the_demo_scan_runs_in_the_dashboard_and_is_stored() {
    let dir = tempfile::tempdir().unwrap();
    let (demo, dashboard) = Demo::start(3, 7, dir.path()).unwrap();
    let mut h = Harness::builder()
        .with_size(egui::vec2(1400.0, 900.0))
        .build_ui_state(|ui, d: &mut Dashboard| d.ui(ui), dashboard);
    h.run();
    // Submitted while stopped: nothing has run yet.
    assert!(!demo.lab.sch.is_running());
    let p = h.state().progress();
    // The preparation is done; the scan (its handles and the tasks between them) waits.
    assert!(p.finished() > 0);
    assert!(p.total() - p.finished() >= demo.scan.task_count());
    assert!(demo.scan.waveforms.iter().all(|w| w.try_result().is_none()));
    demo.lab.sch.start();
    demo.lab.sch.wait();
    h.run();

    let n = h.state().task_count();
    assert_eq!(n, demo.lab.sch.task_count());
    h.get_by_label_contains(&format!("{n} / {n} finished"));
    h.get_by_label("Failures (0)");
    h.get_by_label("Scan: 3 point(s)");
    h.get_by_label("Map: 3 point(s)");
    assert_eq!(demo.plots.averaged(), 3);
    // Every queue of the lab is listed with its slots.
    for q in ["stage", "dmm", "scope", "compute"] {
        h.get_by_label(q);
    }

    let run = demo.run.clone();
    let end = demo.finish().unwrap();
    assert_eq!(end.status, RunStatus::Complete);
    assert_eq!(end.summary.tasks, n);
    assert_eq!(end.summary.by_state["done"], n);
    let meta = run.metadata().unwrap();
    assert_eq!(meta.attributes["status"], "complete");
    assert!(meta.end.is_some());
}

#[test]
fn closing_before_the_end_aborts_the_run_and_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let (demo, _dashboard) = Demo::start(3, 7, dir.path()).unwrap();
    // Closed before the scan ran: nothing was acquired, everything not started is cancelled.
    let run = demo.run.clone();
    let end = demo.finish().unwrap();
    assert_eq!(end.status, RunStatus::Aborted);
    assert!(end.summary.by_state["cancelled"] > 0);
    let meta = run.metadata().unwrap();
    assert_eq!(meta.attributes["status"], "aborted");
    assert_eq!(
        meta.attributes["abort_reason"],
        "window closed before the scan finished"
    );
    assert_eq!(RunStatus::of(&meta), Ok(RunStatus::Aborted));
}
