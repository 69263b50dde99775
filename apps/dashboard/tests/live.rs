//! The live plots of a dashboard attached to a served run: the run's datasets, fetched over
//! HTTP as they grow, drawn by point as the view of a stored run draws them. The test
//! steps with the dashboard's polls of the datasets (`wait_live_poll`), never by sleeping.

#![allow(clippy::unwrap_used)]

use std::time::Duration;

mod common;

use common::{harness, save_demo_like};
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;
use smq_store::Store;
use smqsched_dashboard::Dashboard;

/// Failure guard: polls to wait for before giving up.
const GUARD: usize = 300;
const LONG: Duration = Duration::from_secs(30);

/// Run frames, each after a new poll of the served datasets, until `label` shows.
fn until_label(h: &mut Harness<'static, Dashboard>, label: &str) {
    for _ in 0..GUARD {
        h.run();
        if h.query_by_label(label).is_some() {
            return;
        }
        assert!(
            h.state().wait_live_poll(LONG),
            "no poll while waiting for {label}"
        );
    }
    panic!("never saw {label}");
}

#[test]
fn an_attached_dashboard_plots_the_served_datasets_as_they_grow() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::create(dir.path()).unwrap();
    let run = store
        .create_run("r", "demo", serde_json::json!({}))
        .unwrap();
    let sch = smqsched::Scheduler::new();
    let server = smq_serve::serve(
        &sch,
        "127.0.0.1:0",
        smq_serve::Options {
            run: Some(run.clone()),
            ..Default::default()
        },
    )
    .unwrap();
    // The saves run on a scheduler of their own; the served one only has to exist.
    save_demo_like(&run, 0..5);

    let mut h = harness(Dashboard::attach(&server.url(), server.token()));
    until_label(&mut h, "dmm_voltage by point (5 points)");
    h.get_by_label("Live plots");
    h.get_by_label("position by point (5 points)");
    h.get_by_label("spectrum_peak[1] by point (5 points)");
    h.get_by_label("waveform: point 4");
    h.get_by_label("Previous point").click();
    h.run();
    h.get_by_label("waveform: point 3");

    // More is saved: only the new acquisitions are fetched, and the plots grow.
    save_demo_like(&run, 5..8);
    until_label(&mut h, "dmm_voltage by point (8 points)");
    // The browser was not at the last point: it stays where the operator put it.
    h.get_by_label("waveform: point 3");
    server.shutdown().unwrap();
}

#[test]
fn a_served_run_without_datasets_has_no_live_plots() {
    let sch = smqsched::Scheduler::new();
    let server = smq_serve::serve(&sch, "127.0.0.1:0", Default::default()).unwrap();
    let mut h = harness(Dashboard::attach(&server.url(), server.token()));
    assert!(h.state().wait_live_poll(LONG));
    h.run();
    assert!(h.query_by_label("Live plots").is_none());
}
