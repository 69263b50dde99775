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
    let said = stdout(&demo);
    assert!(said.contains("maximum signal"), "{said}");
    // The last line gives the run's state in the word it stores.
    let last = said.lines().last().unwrap();
    assert!(
        last.starts_with("run demo-") && last.contains(" complete: stored in "),
        "{said}"
    );

    let ls = smq(&["ls", "--out", &out]);
    assert!(ls.status.success(), "{}", stderr(&ls));
    let listing = stdout(&ls);
    let lines: Vec<&str> = listing.lines().collect();
    assert_eq!(lines.len(), 1, "{listing}");
    assert_eq!(lines[0].split_whitespace().last(), Some("complete"));
    let name = lines[0].split_whitespace().next().unwrap();
    assert!(name.starts_with("demo-"), "{name}");

    let show = smq(&["show", name, "--out", &out]);
    assert!(show.status.success(), "{}", stderr(&show));
    let text = stdout(&show);
    assert!(text.lines().any(|l| l == "status      complete"), "{text}");

    // The start line, the end line and `show` count the same tasks: the scan's and the
    // preparation's before it.
    let started = said.lines().find(|l| l.contains(" started: ")).unwrap();
    let count_after = |line: &str, marker: &str| -> usize {
        let at = line.find(marker).unwrap() + marker.len();
        let digits: String = line[at..]
            .chars()
            .take_while(char::is_ascii_digit)
            .collect();
        digits.parse().unwrap()
    };
    let total = count_after(started, "5 positions, ");
    let preparing = count_after(started, " tasks (");
    let scan = count_after(started, "done; ");
    assert_eq!(preparing + scan, total, "{started}");
    assert_eq!(scan, 5 * 10, "{started}");
    let ended = said
        .lines()
        .find(|l| l.contains(" tasks: ") && !l.starts_with("run "))
        .unwrap();
    assert_eq!(ended, format!("{total} tasks: {total} done"), "{said}");
    assert!(
        text.lines().any(|l| l == format!("tasks       {total}")),
        "{text}"
    );
    let store = smq_store::Store::open(dir.path()).unwrap();
    let meta = store.open_run(name).unwrap().metadata().unwrap();
    assert_eq!(meta.attributes["status"], "complete");
    assert_eq!(meta.dag_summary.unwrap()["tasks"], total);
    // The station, recorded as a plan's run records it: the settings read back after the
    // preparation (the stage's velocity, the scope's timebase and channel scale).
    let station: smq_lab::StationRecord =
        serde_json::from_value(meta.attributes["station"].clone()).unwrap();
    let stage = &station.instruments["stage"];
    assert!(
        stage.simulated && stage.address.starts_with("ASRL"),
        "{stage:?}"
    );
    assert_eq!(stage.settings["velocity"], "200");
    let scope = &station.instruments["scope"];
    assert_eq!(
        (
            scope.settings["timebase"].as_str(),
            scope.settings["scale1"].as_str()
        ),
        ("0.001", "0.1")
    );
    assert!(scope.identification.contains("DS1104Z"), "{scope:?}");
    assert!(station.instruments["dmm"].settings["configuration"].contains("VOLT"));
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
    let scan = smq_lab::default_positions(5);
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
fn unknown_commands_are_errors() {
    for args in [&["frobnicate"][..], &["show"]] {
        let o = smq(args);
        assert_eq!(o.status.code(), Some(2), "{args:?}");
        assert!(stderr(&o).contains("error"), "{args:?}: {}", stderr(&o));
    }
}

/// Whether this process can create a file in `dir` (the superuser can, whatever its mode).
fn can_write_in(dir: &Path) -> bool {
    let probe = dir.join("probe");
    let ok = std::fs::write(&probe, "").is_ok();
    let _ = std::fs::remove_file(probe);
    ok
}

/// Every argument that can be checked is checked before an instrument is opened: a bad one
/// exits with code 2 and a message naming it, printing nothing else and creating no run.
#[test]
fn bad_input_is_refused_before_anything_starts() {
    use std::os::unix::fs::PermissionsExt;

    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let file = root.join("notes.txt");
    std::fs::write(&file, "kept as it is").unwrap();
    let locked = root.join("locked");
    std::fs::create_dir(&locked).unwrap();
    std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o555)).unwrap();
    let runs = out_arg(&root.join("runs"));
    let folder = out_arg(root);
    let (file, locked) = (out_arg(&file), out_arg(&locked));
    let missing_trace = out_arg(&root.join("missing").join("trace.json"));
    let file_below = format!("{file}/runs");
    let locked_runs = format!("{locked}/runs");
    let locked_trace = format!("{locked}/trace.json");
    let whole_number = "must be a whole number from 1 to 10,000";

    // (arguments after `demo --out RUNS`, the argument named, more of the message)
    let mut cases: Vec<(Vec<&str>, &str, &str)> = vec![
        (vec!["--points", "-1"], "--points", whole_number),
        (vec!["--points", "0"], "--points", whole_number),
        (vec!["--points", "abc"], "--points", whole_number),
        (vec!["--points", "10001"], "--points", whole_number),
        (vec!["--points", "2.5"], "--points", whole_number),
        (vec!["--trace", &missing_trace], "--trace", "does not exist"),
        (
            vec!["--trace", "/proc/trace.json"],
            "--trace",
            "cannot write in the folder /proc",
        ),
        (vec!["--trace", &folder], "--trace", "is a folder"),
        (vec!["--compute-slots", "0"], "--compute-slots", "1..=1024"),
        (vec!["--seed", "-1"], "--seed", "invalid digit"),
    ];
    // `--out` comes last and replaces the default `--out RUNS`.
    let outs: Vec<(Vec<&str>, &str, &str)> = vec![
        (vec!["--out", &file], "--out", "is a file, not a folder"),
        (
            vec!["--out", &file_below],
            "--out",
            "is a file, not a folder",
        ),
        (
            vec!["--out", "/proc/smq-runs"],
            "--out",
            "cannot write in the folder /proc",
        ),
    ];
    let locked_cases: Vec<(Vec<&str>, &str, &str)> = vec![
        (
            vec!["--out", &locked],
            "--out",
            "cannot write in the folder",
        ),
        (
            vec!["--out", &locked_runs],
            "--out",
            "cannot write in the folder",
        ),
        (
            vec!["--trace", &locked_trace],
            "--trace",
            "cannot write in the folder",
        ),
    ];
    // The superuser writes in a read-only folder: those cases only hold for other users
    // (the ones on /proc hold for all).
    let lock_holds = !can_write_in(Path::new(&locked));
    if !lock_holds {
        eprintln!("running as the superuser: the read-only folder cases are skipped");
    }
    for (i, (args, named, says)) in cases
        .drain(..)
        .chain(outs)
        .chain(locked_cases.into_iter().filter(|_| lock_holds))
        .enumerate()
    {
        let mut command = vec!["demo"];
        if named != "--out" {
            command.extend(["--out", &runs]);
        }
        command.extend(&args);
        let o = smq(&command);
        let err = stderr(&o);
        assert_eq!(o.status.code(), Some(2), "case {i} {args:?}: {err}");
        assert!(
            err.lines()
                .next()
                .is_some_and(|l| l.contains(named) && l.contains(says)),
            "case {i} {args:?}: the message does not name {named} and say {says:?}:\n{err}"
        );
        assert_eq!(
            stdout(&o),
            "",
            "case {i} {args:?}: printed on standard output"
        );
        // Nothing created: no store, no run, no trace; the file in the way is untouched.
        let mut left: Vec<String> = std::fs::read_dir(root)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        left.sort();
        assert_eq!(left, ["locked", "notes.txt"], "case {i} {args:?}");
        assert_eq!(std::fs::read_dir(&locked).unwrap().count(), 0);
        assert_eq!(std::fs::read_to_string(&file).unwrap(), "kept as it is");
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
