//! `smq run`, `smq resume` and `smq station check`, end to end: the real binary on the
//! simulated station, the store on disk read back after.
//!
//! The tests synchronise on the child's output in plain mode (one line per finished task),
//! never on time; timeouts only guard against a hung child.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, ChildStdin, Command, Output, Stdio};
use std::sync::mpsc::{Receiver, channel};
use std::time::Duration;

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use smq_store::Store;

/// Failure guard: how long a line may take to appear before the test gives up.
const GUARD: Duration = Duration::from_secs(120);

/// A 1-D scan of `points` points with two stored measurements.
fn line_plan(points: usize) -> String {
    format!(
        r#"
experiment = "kill"
[scan]
[[scan.axis]]
name = "x"
instrument = "stage"
units = "mm"
linear = {{ start = 0.0, stop = 10.0, points = {points} }}
[[measure]]
name = "voltage"
instrument = "dmm"
read = "voltage"
units = "V"
[[measure]]
name = "position"
instrument = "stage"
read = "position"
units = "mm"
"#
    )
}

fn smq(args: &[&str], dir: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_smq"))
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap()
}

/// A running `smq` child, its output read line by line.
struct Running {
    child: Child,
    stdin: Option<ChildStdin>,
    lines: Receiver<String>,
    seen: Vec<String>,
}

impl Running {
    fn start(args: &[&str], dir: &Path) -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_smq"))
            .args(args)
            .current_dir(dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, lines) = channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Self {
            stdin: child.stdin.take(),
            child,
            lines,
            seen: Vec::new(),
        }
    }

    /// Wait for a line for which `f` holds; returns it.
    fn wait_for(&mut self, f: impl Fn(&str) -> bool) -> String {
        loop {
            match self.lines.recv_timeout(GUARD) {
                Ok(line) => {
                    self.seen.push(line.clone());
                    if f(&line) {
                        return line;
                    }
                }
                Err(e) => panic!("no such line ({e}); seen:\n{}", self.seen.join("\n")),
            }
        }
    }

    /// The run's name, from `run NAME started: ...`.
    fn run_name(&mut self) -> String {
        let line = self.wait_for(|l| l.starts_with("run ") && l.contains(" started:"));
        line.split_whitespace().nth(1).unwrap().to_owned()
    }
}

/// Every point of every plan dataset, and the arrays as stored.
fn stored(dir: &Path, run: &str) -> BTreeMap<String, (Vec<f64>, Vec<u64>)> {
    let store = Store::open(dir.join("runs")).unwrap();
    let run = store.open_run(run).unwrap();
    let mut out = BTreeMap::new();
    for name in ["voltage", "position"] {
        let values = run
            .read::<f64>(name)
            .map(|a| a.iter().copied().collect())
            .unwrap_or_default();
        let points = run
            .read::<u64>(&format!("{name}_point"))
            .map(|a| a.iter().copied().collect())
            .unwrap_or_default();
        out.insert(name.to_owned(), (values, points));
    }
    out
}

/// Each dataset holds each of the `n` points exactly once, with as many values.
fn assert_every_point_once(data: &BTreeMap<String, (Vec<f64>, Vec<u64>)>, n: u64) {
    for (name, (values, points)) in data {
        let mut sorted = points.clone();
        sorted.sort_unstable();
        assert_eq!(sorted, (0..n).collect::<Vec<_>>(), "{name}: points");
        assert_eq!(values.len(), points.len(), "{name}: values and points");
    }
}

/// What was stored before stays as it was: each array of `after` starts with `before`'s.
fn assert_prefix_kept(
    before: &BTreeMap<String, (Vec<f64>, Vec<u64>)>,
    after: &BTreeMap<String, (Vec<f64>, Vec<u64>)>,
) {
    for (name, (values, points)) in before {
        let (v2, p2) = &after[name];
        assert_eq!(&p2[..points.len()], &points[..], "{name}: points changed");
        let same = values
            .iter()
            .zip(v2)
            .all(|(a, b)| a.to_bits() == b.to_bits());
        assert!(same, "{name}: a value stored before changed");
    }
}

/// A seed for the kill point: `SMQ_KILL_SEED` if set, else from the clock; printed so a
/// failure can be replayed.
fn kill_seed() -> u64 {
    let seed = std::env::var("SMQ_KILL_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .subsec_nanos() as u64
        });
    println!("SMQ_KILL_SEED={seed}");
    seed
}

#[test]
fn a_run_killed_at_a_random_point_resumes_with_every_point_once_and_nothing_changed() {
    const N: u64 = 200;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("plan.toml"), line_plan(N as usize)).unwrap();
    // A point from 1 to N - 2, by a 64-bit mix of the seed.
    let mut z = kill_seed().wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    let at = 1 + (z ^ (z >> 31)) % (N - 2);
    println!("killing after the save of voltage({at})");

    let mut child = Running::start(&["run", "plan.toml", "--plain"], dir.path());
    let run = child.run_name();
    let wanted = format!("done save voltage({at})");
    child.wait_for(|l| l == wanted);
    child.child.kill().unwrap(); // SIGKILL
    child.child.wait().unwrap();

    // What the disk holds after the kill (opening the store repairs what was cut).
    let before = stored(dir.path(), &run);
    let show = smq(&["show", &run], dir.path());
    assert!(String::from_utf8_lossy(&show.stdout).contains("unfinished"));

    let resumed = smq(&["resume", &run, "--plain"], dir.path());
    let text = String::from_utf8_lossy(&resumed.stdout);
    assert!(resumed.status.success(), "{text}");
    assert!(
        text.contains(&format!("run {run} resumed: {N} points")),
        "{text}"
    );
    assert!(text.contains("complete"), "{text}");

    let after = stored(dir.path(), &run);
    assert_every_point_once(&after, N);
    assert_prefix_kept(&before, &after);
    let meta = Store::open(dir.path().join("runs"))
        .unwrap()
        .open_run(&run)
        .unwrap()
        .metadata()
        .unwrap();
    assert_eq!(meta.attributes["status"], "complete");
    assert_eq!(meta.attributes["resumed"].as_array().unwrap().len(), 1);
}

/// Simulators, a station file (`station.toml` in `dir`) reaching them by address, and
/// the plan of `n` points (`plan.toml`); the multimeter is set to stall at the reading of
/// point `stall`, found by counting its replies while opening the station and running one
/// point.
fn stalling_station(dir: &Path, n: u64, stall: u64) -> smq_sim::SimLab {
    let sim = smq_sim::SimLab::start(4).unwrap();
    let station = format!(
        "[instruments.stage]\ndriver = \"stage\"\naddress = \"{}\"\n\n\
         [instruments.dmm]\ndriver = \"dmm\"\naddress = \"{}\"\n",
        sim.stage.serial_address(),
        sim.dmm.socket_address()
    );
    std::fs::write(dir.join("station.toml"), station).unwrap();
    std::fs::write(dir.join("one.toml"), line_plan(1)).unwrap();
    std::fs::write(dir.join("plan.toml"), line_plan(n as usize)).unwrap();
    // The multimeter's replies when a station is opened, and per point of the plan.
    let r0 = sim.dmm.replies_sent();
    assert!(
        smq(&["station", "check", "station.toml"], dir)
            .status
            .success()
    );
    let r1 = sim.dmm.replies_sent();
    let one = smq(
        &[
            "run",
            "one.toml",
            "--station",
            "station.toml",
            "--plain",
            "--out",
            "warmup",
        ],
        dir,
    );
    assert!(
        one.status.success(),
        "{}",
        String::from_utf8_lossy(&one.stderr)
    );
    let r2 = sim.dmm.replies_sent();
    let (opening, per_point) = (r1 - r0, (r2 - r1) - (r1 - r0));
    assert!(per_point >= 1, "{r0} {r1} {r2}");
    sim.dmm.hold_after(opening + stall * per_point);
    sim
}

#[test]
fn an_aborted_run_resumes_and_completes() {
    const N: u64 = 40;
    // Instruments started here, so that the multimeter can be made to stall at a known
    // reading: the run is then interrupted there, whatever the machine's speed.
    let dir = tempfile::tempdir().unwrap();
    let sim = stalling_station(dir.path(), N, 5);

    let mut child = Running::start(
        &["run", "plan.toml", "--station", "station.toml", "--plain"],
        dir.path(),
    );
    let run = child.run_name();
    assert!(sim.dmm.wait_held(GUARD), "the multimeter never stalled");
    kill(Pid::from_raw(child.child.id() as i32), Signal::SIGINT).unwrap();
    child.wait_for(|l| l.starts_with("pausing:"));
    sim.dmm.release();
    child.wait_for(|l| l.starts_with("paused:"));
    child.stdin.take().unwrap().write_all(b"abort\n").unwrap();
    let status = child.child.wait().unwrap();
    child.seen.extend(child.lines.iter());
    assert_eq!(status.code(), Some(130), "{}", child.seen.join("\n"));
    assert!(
        child
            .seen
            .iter()
            .any(|l| l.contains(&format!("run {run} aborted")))
    );
    let before = stored(dir.path(), &run);
    assert_eq!(
        before["voltage"].1.len(),
        6,
        "points 0 to 5 were read before the pause"
    );

    let resumed = smq(&["resume", &run, "--plain"], dir.path());
    let text = String::from_utf8_lossy(&resumed.stdout);
    assert!(resumed.status.success(), "{text}");
    // Point 5's reading was taken (and saved when aborting), its position not: the point is
    // taken again, and only its position stored.
    assert_eq!(before["position"].1.len(), 5);
    assert!(
        text.contains(&format!("{N} points (5 stored already)")),
        "{text}"
    );
    let after = stored(dir.path(), &run);
    assert_every_point_once(&after, N);
    assert_prefix_kept(&before, &after);

    // A complete run is not resumed again.
    let again = smq(&["resume", &run], dir.path());
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("complete: nothing to resume"));
}

#[test]
fn the_example_plans_run_on_the_simulated_station() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/plans");
    let dir = tempfile::tempdir().unwrap();
    for name in ["line_scan", "grid_spectra", "time_series"] {
        let plan = root.join(format!("{name}.toml"));
        let out = smq(
            &["run", plan.to_str().unwrap(), "--plain", "--out", "runs"],
            dir.path(),
        );
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "{name}: {text}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(text.contains(" complete: stored in "), "{name}: {text}");
    }
    let store = Store::open(dir.path().join("runs")).unwrap();
    let runs = store.runs().unwrap();
    assert_eq!(runs.len(), 3);
    for name in &runs {
        let run = store.open_run(name).unwrap();
        let names: Vec<String> = run
            .datasets()
            .unwrap()
            .into_iter()
            .map(|d| d.name)
            .collect();
        if name.starts_with("grid_spectra") {
            // 5 positions x 3 timebases, every point stored once.
            let points = run.read::<u64>("spectrum_power_point").unwrap();
            assert_eq!(points.len(), 15);
            assert_eq!(run.read::<u64>("grid_index").unwrap().shape(), [15, 2]);
            assert_eq!(run.read::<f64>("x").unwrap().len(), 15);
            assert!(names.contains(&"trace_stats_std".to_owned()), "{names:?}");
        }
        if name.starts_with("time_series") {
            // The monitor logged at least its first reading, with its time.
            let log = run.read::<f64>("dmm_log").unwrap();
            let times = run.read::<f64>("dmm_log_time").unwrap();
            assert!(!log.is_empty());
            assert_eq!(log.len(), times.len());
        }
    }
}

#[test]
fn dry_run_prints_the_plan_and_refuses_values_past_a_station_limit() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("plan.toml"), line_plan(11)).unwrap();
    let out = smq(&["run", "plan.toml", "--dry-run"], dir.path());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    assert!(text.contains("plan kill: 11 points"), "{text}");
    assert!(
        text.contains("tasks: 55 (22 on compute, 11 on dmm, 22 on stage)"),
        "{text}"
    );
    assert!(text.contains("estimated duration"), "{text}");
    assert!(
        !dir.path().join("runs").exists(),
        "a dry run stores nothing"
    );

    let station = r#"
[instruments.stage]
driver = "stage"
sim = true
limits = { position = [0.0, 8.0] }

[instruments.dmm]
driver = "dmm"
sim = true
"#;
    std::fs::write(dir.path().join("station.toml"), station).unwrap();
    let out = smq(
        &["run", "plan.toml", "--station", "station.toml", "--dry-run"],
        dir.path(),
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("plan.toml:4: ")
            && err.contains("outside the limits of stage.position, [0, 8]"),
        "{err}"
    );
    // Without --dry-run too, and nothing is stored.
    let out = smq(
        &["run", "plan.toml", "--station", "station.toml"],
        dir.path(),
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(!dir.path().join("runs").exists());
}

#[test]
fn station_check_names_every_instrument_that_failed() {
    let dir = tempfile::tempdir().unwrap();
    let good = "[instruments.dmm]\ndriver = \"dmm\"\nsim = true\n";
    std::fs::write(dir.path().join("good.toml"), good).unwrap();
    let out = smq(&["station", "check", "good.toml"], dir.path());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    assert!(
        text.contains("34401A") && text.contains("1 instruments ok"),
        "{text}"
    );

    let bad = r#"
[instruments.meter]
driver = "dmm"
address = "ASRL/nonexistent/ttyUSB9::INSTR"

[instruments.scope]
driver = "scope"
address = "TCPIP0::127.0.0.1::1::SOCKET"

[instruments.stage]
driver = "stage"
sim = true
"#;
    std::fs::write(dir.path().join("bad.toml"), bad).unwrap();
    let out = smq(&["station", "check", "bad.toml"], dir.path());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(err.contains("2 instrument(s) failed"), "{err}");
    assert!(
        err.contains("meter (ASRL/nonexistent/ttyUSB9::INSTR)"),
        "{err}"
    );
    assert!(
        err.contains("scope (TCPIP0::127.0.0.1::1::SOCKET)"),
        "{err}"
    );
}

/// The README's Python snippet reads a grid run with named dimensions. Needs Python with
/// zarr 3 and xarray, named by `SMQ_PYTHON` (`.ci/run` makes one); ignored otherwise.
#[test]
#[ignore = "needs Python with zarr and xarray (SMQ_PYTHON); run by .ci/run"]
fn the_readmes_xarray_snippet_reads_a_grid_with_named_dimensions() {
    let python =
        std::env::var("SMQ_PYTHON").expect("SMQ_PYTHON names a Python with zarr and xarray");
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    let from = readme
        .find("**Reading a run from Python with named dimensions**")
        .expect("the README's section");
    let rest = &readme[from..];
    let start = rest.find("```python\n").unwrap() + "```python\n".len();
    let snippet = &rest[start..start + rest[start..].find("```").unwrap()];

    let dir = tempfile::tempdir().unwrap();
    let plan = root.join("examples/plans/grid_spectra.toml");
    let out = smq(&["run", plan.to_str().unwrap(), "--plain"], dir.path());
    assert!(out.status.success());
    let run = Store::open(dir.path().join("runs"))
        .unwrap()
        .runs()
        .unwrap()
        .remove(0);
    let script = format!(
        "{}\nassert trace.dims == ('x', 'timebase', 'sample'), trace.dims\n\
         assert trace.attrs['units'] == 'V'\nassert trace.shape[:2] == (5, 3)\n\
         assert not np.isnan(trace.values).any()\nprint('ok')\n",
        snippet.replace("<run name>", &run)
    );
    std::fs::write(dir.path().join("read.py"), script).unwrap();
    let out = Command::new(python)
        .arg("read.py")
        .current_dir(dir.path())
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.trim_end().ends_with("ok"), "{text}");
}

#[test]
fn a_plans_run_is_served_over_http() {
    let dir = tempfile::tempdir().unwrap();
    let sim = stalling_station(dir.path(), 10, 2);
    let mut child = Running::start(
        &[
            "run",
            "plan.toml",
            "--station",
            "station.toml",
            "--plain",
            "--serve",
            "127.0.0.1:0",
        ],
        dir.path(),
    );
    let url = child.wait_for(|l| l.starts_with("serving the run at "));
    let url = url.trim_start_matches("serving the run at ").to_owned();
    let token = child.wait_for(|l| l.starts_with("token "));
    let token = token.trim_start_matches("token ").to_owned();
    assert!(sim.dmm.wait_held(GUARD), "the multimeter never stalled");
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    let get = |path: &str, token: Option<&str>| {
        let mut req = agent.get(&format!("{url}{path}"));
        if let Some(t) = token {
            req = req.header("Authorization", &format!("Bearer {t}"));
        }
        let mut r = req.call().unwrap();
        let status = r.status().as_u16();
        (status, r.body_mut().read_to_string().unwrap())
    };
    assert_eq!(get("/api/snapshot", None).0, 401);
    let (status, body) = get("/api/snapshot", Some(&token));
    assert_eq!(status, 200, "{body}");
    // The reading of point 2 is running, held by the multimeter.
    let snap: serde_json::Value = serde_json::from_str(&body).unwrap();
    let running = snap["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .any(|t| t["state"] == "running" && t["label"] == "dmm.voltage(2)");
    assert!(running, "{body}");
    sim.dmm.release();
    let status = child.child.wait().unwrap();
    child.seen.extend(child.lines.iter());
    assert!(status.success(), "{}", child.seen.join("\n"));
    assert!(
        child
            .seen
            .iter()
            .any(|l| l.contains(" complete: stored in "))
    );
}
