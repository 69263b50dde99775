//! The view of a stored run (`smq-dashboard --open`), driven headless through
//! egui_kittest, on runs written by the test to a real store on disk: complete, still
//! being written (`running`, then reloaded), crashed (`unfinished`, repaired on opening),
//! a 2-D scan, and the demo scan itself run on the simulated instruments.

#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

use common::{save_demo_like, stored_harness};
use egui_kittest::kittest::Queryable;
use serde_json::json;
use smq_lab::{DagSummary, RunStatus};
use smq_store::Store;
use smqsched_dashboard::StoredView;

/// Failure guard: reads to wait for before giving up.
const GUARD: usize = 50;
const LONG: Duration = Duration::from_secs(30);

/// The state is shown in the top bar and in the metadata.
fn assert_state(h: &egui_kittest::Harness<'_, StoredView>, word: &str) {
    assert_eq!(h.query_all_by_label(word).count(), 2, "{word}");
}

#[test]
fn a_complete_run_shows_its_scans_waveforms_metadata_and_summary() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::create(dir.path()).unwrap();
    let run = store.create_run("r", "demo", json!({"points": 5})).unwrap();
    save_demo_like(&run, 0..5);
    let summary = DagSummary {
        tasks: 20,
        by_state: [("done".to_owned(), 20)].into_iter().collect(),
        by_label: [(
            "read".to_owned(),
            [("done".to_owned(), 5)].into_iter().collect(),
        )]
        .into_iter()
        .collect(),
        failed: vec![],
    };
    RunStatus::Complete.close(&run, &summary).unwrap();
    drop((run, store));

    let view = StoredView::open(dir.path().join("r")).unwrap();
    let mut h = stored_harness(view);
    h.run();
    h.get_by_label("run r");
    assert_state(&h, "complete");
    // In the top bar and the metadata.
    assert_eq!(h.query_all_by_label("20 tasks: 20 done").count(), 2);
    h.get_by_label("demo");
    h.get_by_label("5 done");
    for scan in [
        "dmm_voltage",
        "position",
        "spectrum_peak[0]",
        "spectrum_peak[1]",
    ] {
        h.get_by_label(&format!("{scan} by point (5 points)"));
    }
    // The waveform browser opens at the last point, and steps through the points.
    h.get_by_label("waveform: point 4");
    h.get_by_label("Previous point").click();
    h.run();
    h.get_by_label("waveform: point 3");
    h.get_by_label("(4 of 5)");
    h.get_by_label("Next point").click();
    h.get_by_label("Next point").click();
    h.run();
    h.get_by_label("waveform: point 4");
    // By point: the values saved newest first are shown in point order.
    let state = h.state();
    let w = state.run().dataset("waveform").unwrap();
    assert_eq!(w.row(3).unwrap()[0], 3.0);
    assert_eq!(
        state.run().dataset("dmm_voltage").unwrap().values,
        [0.1, 1.1, 2.1, 3.1, 4.1]
    );
}

#[test]
fn long_metadata_is_cut_to_its_panel_and_the_plots_stay_in_the_window() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::create(dir.path()).unwrap();
    // A run's parameters can be long (the demo's hold every instrument's address).
    let long = "ASRL/tmp/smq-sim-1234-0/dmm::INSTR (simulated) ".repeat(20);
    let run = store
        .create_run("r", "demo", json!({"instruments": long}))
        .unwrap();
    save_demo_like(&run, 0..3);
    drop((run, store));

    let mut h = stored_harness(StoredView::open(dir.path().join("r")).unwrap());
    h.run();
    let plot = h.get_by_label("dmm_voltage by point (3 points)").rect();
    assert!(
        plot.left() >= 200.0 && plot.right() <= 1400.0,
        "the plots are pushed out of the window: {plot:?}"
    );
    let value = h.get_by_label_contains("smq-sim-1234-0").rect();
    assert!(
        value.right() <= plot.left(),
        "not cut to its panel: {value:?}"
    );
}

#[test]
fn a_run_being_written_says_running_and_reload_shows_the_new_commits() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::create(dir.path()).unwrap();
    let run = store.create_run("live", "demo", json!({})).unwrap();
    RunStatus::record_writer(&run).unwrap();
    save_demo_like(&run, 0..2);

    let mut h = stored_harness(StoredView::open(dir.path().join("live")).unwrap());
    h.run();
    if cfg!(target_os = "linux") {
        assert_state(&h, "running");
        h.get_by_label("(being written: what is committed so far)");
    }
    h.get_by_label("no summary recorded (the run did not end)");
    h.get_by_label("dmm_voltage by point (2 points)");

    save_demo_like(&run, 2..4);
    h.get_by_label("Reload").click();
    h.run();
    h.get_by_label("dmm_voltage by point (4 points)");
    h.get_by_label("waveform: point 3");
}

#[test]
fn a_followed_run_is_read_again_while_it_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::create(dir.path()).unwrap();
    let run = store.create_run("live", "demo", json!({})).unwrap();
    RunStatus::record_writer(&run).unwrap();
    save_demo_like(&run, 0..2);
    let view = StoredView::open(dir.path().join("live"))
        .unwrap()
        .follow(Duration::ZERO);
    let mut h = stored_harness(view);
    h.run();
    if !cfg!(target_os = "linux") {
        return; // `running` cannot be told from `unfinished`: nothing is followed
    }
    h.get_by_label("dmm_voltage by point (2 points)");
    save_demo_like(&run, 2..5);
    // Each frame starts a read when none is under way; a read started after the save
    // sees it.
    for _ in 0..GUARD {
        h.run();
        if h.query_by_label("dmm_voltage by point (5 points)")
            .is_some()
        {
            break;
        }
        assert!(h.state_mut().wait_read(LONG), "no read under way");
    }
    h.get_by_label("dmm_voltage by point (5 points)");
    // Once the run has ended, it is read no more.
    RunStatus::Complete
        .close(&run, &DagSummary::default())
        .unwrap();
    for _ in 0..GUARD {
        h.run();
        if h.query_all_by_label("complete").count() == 2 {
            break;
        }
        assert!(h.state_mut().wait_read(LONG), "no read under way");
    }
    assert_state(&h, "complete");
    h.run();
    assert!(
        !h.state_mut().wait_read(LONG),
        "an ended run is not read again"
    );
}

#[test]
fn a_crashed_run_is_repaired_and_shown_unfinished() {
    let dir = tempfile::tempdir().unwrap();
    {
        let store = Store::create(dir.path()).unwrap();
        let run = store.create_run("c", "demo", json!({})).unwrap();
        save_demo_like(&run, 0..3);
    } // no end, no writer any more: as a killed process leaves it
    let tmp = dir.path().join("c").join("waveform").join("zarr.json.tmp");
    std::fs::write(&tmp, b"{").unwrap();

    let mut h = stored_harness(StoredView::open(dir.path().join("c")).unwrap());
    h.run();
    assert_state(&h, "unfinished");
    assert!(h.query_by_label_contains("repaired on opening").is_some());
    assert!(!tmp.exists());
    h.get_by_label("position by point (3 points)");
}

#[test]
fn a_grid_scan_is_shown_as_a_map() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::create(dir.path()).unwrap();
    let run = store.create_run("g", "grid", json!({})).unwrap();
    for (name, f) in [
        ("x", (|p: u64| (p % 3) as f64) as fn(u64) -> f64),
        ("y", |p| (p / 3) as f64),
        ("signal", |p| p as f64),
    ] {
        let ds = run.dataset::<f64>(name, &[]).unwrap();
        let pts = run.dataset::<u64>(&format!("{name}_point"), &[]).unwrap();
        for p in 0..6 {
            ds.push(f(p)).unwrap();
            pts.push(p).unwrap();
        }
    }
    run.finish(None).unwrap();
    drop((run, store));
    let meta = dir.path().join("g").join("signal").join("zarr.json");
    let mut m: serde_json::Value = serde_json::from_slice(&std::fs::read(&meta).unwrap()).unwrap();
    m["attributes"] = json!({"dims": ["x", "y"], "units": "V"});
    std::fs::write(&meta, serde_json::to_vec(&m).unwrap()).unwrap();

    let mut h = stored_harness(StoredView::open(dir.path().join("g")).unwrap());
    h.run();
    h.get_by_label("signal map");
    h.get_by_label("y against x");
    h.get_by_label("colour: 0.0000 (dark) to 5.0000 (yellow)");
    assert!(h.query_by_label_contains("signal by point").is_none());
}

#[test]
fn a_folder_that_is_not_a_run_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let e = StoredView::open(dir.path().join("nothing")).unwrap_err();
    assert!(
        e.to_string().contains("not the folder of a stored run"),
        "{e}"
    );
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_smq-dashboard"))
        .arg("--open")
        .arg(dir.path().join("nothing"))
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("cannot open the run"), "{err}");
}

#[test]
fn the_demo_scan_reopened_shows_its_four_datasets_by_point() {
    let dir = tempfile::tempdir().unwrap();
    let (demo, _dashboard) = smqsched_dashboard::Demo::start(4, 7, dir.path()).unwrap();
    demo.lab.sch.start();
    demo.lab.sch.wait();
    let folder = demo.run.path().to_owned();
    let name = demo.name.clone();
    let end = demo.finish().unwrap();
    assert_eq!(end.status, RunStatus::Complete);

    let mut h = stored_harness(StoredView::open(&folder).unwrap());
    h.run();
    h.get_by_label(&format!("run {name}"));
    assert_state(&h, "complete");
    for scan in [
        "dmm_voltage",
        "position",
        "spectrum_peak[0]",
        "spectrum_peak[1]",
    ] {
        h.get_by_label(&format!("{scan} by point (4 points)"));
    }
    h.get_by_label("waveform: point 3");
    let summary = end.summary.to_string();
    assert_eq!(h.query_all_by_label(&summary).count(), 2, "{summary}");
    // The station is recorded, with the settings read back.
    let station = &h.state().run().metadata.attributes["station"]["instruments"];
    assert_eq!(station["stage"]["settings"]["velocity"], "200", "{station}");
    // The positions, by point, are the scan's: 0 to 10 mm.
    let positions = &h.state().run().dataset("position").unwrap().values;
    let expected = smq_lab::default_positions(4);
    for (got, want) in positions.iter().zip(&expected) {
        assert!((got - want).abs() < 1e-3, "{positions:?} vs {expected:?}");
    }
}
