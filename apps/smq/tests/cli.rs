//! The `smq` binary end to end: a small demo run, then `ls` and `show` on its store, and
//! the errors of bad arguments and missing runs.

#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::process::{Command, Output};

fn smq(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_smq"))
        .args(args)
        .output()
        .unwrap()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn out_arg(dir: &Path) -> String {
    dir.to_str().unwrap().to_owned()
}

#[test]
fn demo_then_ls_and_show() {
    let dir = tempfile::tempdir().unwrap();
    let out = out_arg(dir.path());
    let demo = smq(&["demo", "--points", "5", "--out", &out]);
    assert!(demo.status.success(), "demo failed: {}", stderr(&demo));
    assert!(
        stdout(&demo).contains("maximum signal"),
        "{}",
        stdout(&demo)
    );

    let ls = smq(&["ls", "--out", &out]);
    assert!(ls.status.success(), "{}", stderr(&ls));
    let listing = stdout(&ls);
    let lines: Vec<&str> = listing.lines().collect();
    assert_eq!(lines.len(), 1, "{listing}");
    assert!(lines[0].contains("finished"), "{listing}");
    let name = lines[0].split_whitespace().next().unwrap();
    assert!(name.starts_with("demo-"), "{name}");

    let show = smq(&["show", name, "--out", &out]);
    assert!(show.status.success(), "{}", stderr(&show));
    let text = stdout(&show);
    for (dataset, shape) in [
        ("position", "[5]"),
        ("dmm_voltage", "[5]"),
        ("spectrum_peak", "[5, 2]"),
        ("waveform", "[5, "),
    ] {
        assert!(
            text.lines()
                .any(|l| l.trim_start().starts_with(dataset) && l.contains(shape)),
            "{dataset} {shape} not in:\n{text}"
        );
    }
    assert!(text.contains("failures    0"), "{text}");

    // Each stored position is paired with its scan point, whatever order they were taken in.
    let store = smq_store::Store::open(dir.path()).unwrap();
    let run = store.open_run(name).unwrap();
    let reached = run.read::<f64>("position").unwrap();
    let points = run.read::<u64>("position_point").unwrap();
    let scan = smq_cli::default_positions(5);
    assert_eq!(points.len(), 5);
    let mut seen: Vec<u64> = points.iter().copied().collect();
    seen.sort_unstable();
    assert_eq!(seen, [0, 1, 2, 3, 4]);
    for (x, &p) in reached.iter().zip(points.iter()) {
        assert!((x - scan[p as usize]).abs() < 1e-3, "{reached} {points}");
    }
    for d in ["dmm_voltage", "waveform", "spectrum_peak"] {
        assert_eq!(
            run.read::<u64>(&format!("{d}_point")).unwrap().len(),
            5,
            "{d}"
        );
    }
    for instrument in ["dmm", "scope", "stage"] {
        assert!(
            text.lines().any(|l| l.trim_start().starts_with(instrument)),
            "{text}"
        );
    }
}

#[test]
fn missing_run_and_store_are_errors() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nothing-here");
    let ls = smq(&["ls", "--out", &out_arg(&missing)]);
    assert!(!ls.status.success());
    assert!(stderr(&ls).contains("no store"), "{}", stderr(&ls));

    let demo = smq(&["demo", "--points", "1", "--out", &out_arg(dir.path())]);
    assert!(demo.status.success(), "{}", stderr(&demo));
    let show = smq(&["show", "no-such-run", "--out", &out_arg(dir.path())]);
    assert!(!show.status.success());
    assert!(
        stderr(&show).contains("no run named \"no-such-run\""),
        "{}",
        stderr(&show)
    );
}

#[test]
fn bad_arguments_are_errors() {
    for args in [
        &["demo", "--points", "zero"][..],
        &["demo", "--points", "0"],
        &["frobnicate"],
        &["show"],
    ] {
        let o = smq(args);
        assert!(!o.status.success(), "{args:?} succeeded");
        assert!(stderr(&o).contains("error"), "{args:?}: {}", stderr(&o));
    }
}

#[test]
fn demo_writes_a_chrome_trace() {
    let dir = tempfile::tempdir().unwrap();
    let trace = dir.path().join("trace.json");
    let demo = smq(&[
        "demo",
        "--points",
        "3",
        "--out",
        &out_arg(&dir.path().join("runs")),
        "--trace",
        &out_arg(&trace),
    ]);
    assert!(demo.status.success(), "{}", stderr(&demo));
    let value: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&trace).unwrap()).unwrap();
    let events = value["traceEvents"].as_array().unwrap();
    let runs: Vec<_> = events.iter().filter(|e| e["ph"] == "X").collect();
    // At least the scan's 3 moves, 3 readings, 3 waveforms and their processing.
    assert!(runs.len() >= 9 * 3, "{}", runs.len());
    for queue in ["stage", "dmm", "scope", "compute"] {
        assert!(
            events
                .iter()
                .any(|e| e["ph"] == "M" && e["args"]["name"].as_str().unwrap().starts_with(queue)),
            "no track of {queue}"
        );
    }
}

#[test]
fn commit_every_zero_runs_and_bad_intervals_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let out = out_arg(dir.path());
    let demo = smq(&[
        "demo",
        "--points",
        "3",
        "--commit-every",
        "0",
        "--out",
        &out,
    ]);
    assert!(demo.status.success(), "{}", stderr(&demo));
    let store = smq_store::Store::open(dir.path()).unwrap();
    let run = store.open_run(&store.runs().unwrap()[0]).unwrap();
    assert_eq!(run.read::<f64>("dmm_voltage").unwrap().len(), 3);
    for bad in ["abc", "-1s", "2h"] {
        let arg = format!("--commit-every={bad}");
        let o = smq(&["demo", &arg, "--out", &out]);
        assert_eq!(o.status.code(), Some(2), "{bad}");
        assert!(stderr(&o).contains("--commit-every"), "{}", stderr(&o));
    }
}
