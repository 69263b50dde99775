//! Plans and stations through the library: their checks (each error names the line),
//! the order in which instruments see their commands, monitors and the metadata stored,
//! on the simulated station and a real on-disk store.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use smq_lab::{Plan, PlanError, Station, StationError, StoredPoints, record_plan, submit_plan};
use smq_store::Store;

/// A plan's error: its line and message.
fn plan_error(text: &str) -> (usize, String) {
    match Plan::parse(text, "p.toml").and_then(|p| p.check(&Station::simulated()).map(|()| p)) {
        Err(PlanError::Invalid { line, message, .. }) => (line, message),
        Err(e) => panic!("unexpected error {e}"),
        Ok(_) => panic!("accepted:\n{text}"),
    }
}

const MEASURE: &str = "[[measure]]\nname = \"v\"\ninstrument = \"dmm\"\nread = \"voltage\"\n";

#[test]
fn malformed_plans_are_refused_with_the_line() {
    let axis = |body: &str| format!("[scan]\n[[scan.axis]]\n{body}\n{MEASURE}");
    let cases: Vec<(String, usize, &str)> = vec![
        // Unknown key, with its line.
        (format!("[scan]\nrepeat = 2\nsettel = 1.0\n{MEASURE}"), 3, "unknown field `settel`"),
        // Wrong type.
        (format!("[scan]\nrepeat = \"two\"\n{MEASURE}"), 2, "invalid type"),
        // No scan.
        (MEASURE.to_owned(), 1, "missing field `scan`"),
        // An axis without values, or with two kinds of values.
        (axis("instrument = \"stage\""), 2, "exactly one of `values`, `linear` and `log`"),
        (
            axis("instrument = \"stage\"\nvalues = [1.0]\nlog = { start = 1.0, stop = 2.0, points = 2 }"),
            2,
            "exactly one of",
        ),
        (axis("instrument = \"stage\"\nlinear = { start = 0.0, stop = 1.0 }"), 2, "`points` or `step`"),
        // An instrument the station does not have.
        (axis("instrument = \"laser\"\nvalues = [1.0]"), 2, "no instrument `laser`"),
        // A SCPI setting without template, a stage with one.
        (axis("instrument = \"dmm\"\nquantity = \"range\"\nvalues = [1.0]"), 2, "needs a SCPI template"),
        (axis("instrument = \"stage\"\nset = \"PA{value}\"\nvalues = [1.0]"), 2, "is a stage"),
        // Outside the simulated stage's travel, [0, 25].
        (axis("instrument = \"stage\"\nvalues = [1.0, 30.0]"), 2, "30 is outside the limits of stage.position"),
        // A reading the driver does not have.
        (
            "[scan]\nrepeat = 2\n\n[[measure]]\nname = \"w\"\ninstrument = \"dmm\"\nread = \"waveform\"\n".into(),
            4,
            "cannot read `waveform`",
        ),
        // Unknown plugin, parameter, input, output.
        (
            format!("[scan]\nrepeat = 2\n{MEASURE}\n[[process]]\nname = \"s\"\nplugin = \"fft2\"\ninputs = [\"v\"]\n"),
            8,
            "unknown plugin `fft2`",
        ),
        (
            format!(
                "[scan]\nrepeat = 2\n{MEASURE}\n[[process]]\nname = \"s\"\nplugin = \"statistics\"\ninputs = [\"v\"]\nparams = {{ dof = 1 }}\n"
            ),
            8,
            "no parameter `dof`",
        ),
        (
            format!("[scan]\nrepeat = 2\n{MEASURE}\n[[process]]\nname = \"s\"\nplugin = \"statistics\"\ninputs = [\"w\"]\n"),
            8,
            "input `w`: not a measurement or an earlier step",
        ),
        (
            format!(
                "[scan]\nrepeat = 2\n{MEASURE}\n[[process]]\nname = \"s\"\nplugin = \"statistics\"\ninputs = [\"v\"]\noutputs = [\"average\"]\n"
            ),
            8,
            "no output `average`",
        ),
        // A monitor on an instrument the scan uses, or without an interval.
        (
            format!("[scan]\nrepeat = 2\n{MEASURE}\n[[monitor]]\nname = \"t\"\ninstrument = \"dmm\"\nread = \"voltage\"\nevery = 1.0\n"),
            8,
            "a monitor needs an instrument of its own",
        ),
        (
            format!("[scan]\nrepeat = 2\n{MEASURE}\n[[monitor]]\nname = \"t\"\ninstrument = \"stage\"\nread = \"position\"\n"),
            8,
            "`every` must be a positive number",
        ),
        // A name used twice.
        (format!("[scan]\nrepeat = 2\n{MEASURE}\n{MEASURE}"), 8, "the name `v` is used twice"),
    ];
    for (text, line, wanted) in cases {
        let (got_line, message) = plan_error(&text);
        assert!(
            message.contains(wanted),
            "{wanted:?} not in {message:?}\n{text}"
        );
        assert_eq!(got_line, line, "{message}\n{text}");
    }
}

#[test]
fn malformed_stations_are_refused_with_the_line() {
    let cases = [
        (
            "[instruments.dmm]\ndriver = \"dmm\"\nsim = true\nspeed = 2\n",
            4,
            "unknown field `speed`",
        ),
        (
            "[instruments.dmm]\ndriver = \"voltmeter\"\nsim = true\n",
            2,
            "unknown variant `voltmeter`",
        ),
        ("\n[instruments.dmm]\ndriver = \"dmm\"\n", 2, "no `address`"),
        (
            "[instruments.dmm]\ndriver = \"dmm\"\naddress = \"COM?\"\n",
            1,
            "instrument `dmm`",
        ),
        (
            "[instruments.psu]\ndriver = \"scpi\"\nsim = true\n",
            1,
            "the scpi driver has no simulator",
        ),
        (
            "[instruments.a]\ndriver = \"dmm\"\nsim = true\n[instruments.b]\ndriver = \"dmm\"\nsim = true\n",
            4,
            "both the simulated dmm",
        ),
        (
            "[instruments.stage]\ndriver = \"stage\"\nsim = true\nlimits = { position = [5.0, 1.0] }\n",
            1,
            "[5, 1] is empty",
        ),
        (
            "[instruments.compute]\ndriver = \"dmm\"\nsim = true\n",
            1,
            "`compute` cannot name an instrument",
        ),
    ];
    for (text, line, wanted) in cases {
        match Station::parse(text, "s.toml") {
            Err(StationError::Invalid {
                line: got, message, ..
            }) => {
                assert!(message.contains(wanted), "{wanted:?} not in {message:?}");
                assert_eq!(got, line, "{message}");
            }
            other => panic!("{text}: {other:?}"),
        }
    }
}

/// Run `plan` on the simulated station into a new store; returns the store's folder, the
/// run's name and the stage simulator's received commands.
fn run_plan(text: &str) -> (tempfile::TempDir, String, Vec<String>) {
    let plan = Plan::parse(text, "plan.toml").unwrap();
    let station = Station::simulated();
    plan.check(&station).unwrap();
    let bench = station.open(2, 2).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let store = Store::create(dir.path()).unwrap();
    let run = store
        .create_run("r", &plan.experiment, serde_json::json!({}))
        .unwrap();
    record_plan(&run, &plan, &bench, "").unwrap();
    let sim = bench.sim.clone().unwrap();
    let before = sim.stage.received().len();
    let mut submitted = submit_plan(&plan, &bench, &run, &StoredPoints::none(&plan)).unwrap();
    bench.sch.start();
    bench.sch.wait();
    submitted.stop_monitors();
    bench.sch.wait();
    store.commit().unwrap();
    let received = sim.stage.received()[before..].to_vec();
    bench.sch.shutdown();
    (dir, "r".to_owned(), received)
}

#[test]
fn the_stage_goes_through_the_points_in_the_plans_order() {
    // A list axis out of numeric order: the stage must see the moves as listed, one
    // after the other, each followed by the reading of its position, although the
    // scheduler would start the newest ready task first on a queue of its own order.
    let plan = r#"
[scan]
[[scan.axis]]
instrument = "stage"
values = [5.0, 1.0, 9.0, 3.0, 7.0, 2.0]
[[measure]]
name = "v"
instrument = "dmm"
read = "voltage"
[[measure]]
name = "x"
instrument = "stage"
read = "position"
"#;
    let (dir, name, received) = run_plan(plan);
    let moves: Vec<&str> = received
        .iter()
        .filter(|c| c.contains("PA"))
        .map(String::as_str)
        .collect();
    assert_eq!(
        moves,
        ["1PA5", "1PA1", "1PA9", "1PA3", "1PA7", "1PA2"],
        "{received:?}"
    );
    // Each point's position was read at its point: the readings equal the values.
    let run = Store::open(dir.path()).unwrap().open_run(&name).unwrap();
    let x = smq_lab::scalars_by_point(&run, "x", 6).unwrap();
    for (got, want) in x.iter().zip([5.0, 1.0, 9.0, 3.0, 7.0, 2.0]) {
        assert!((got - want).abs() < 1e-3, "{x}");
    }
}

#[test]
fn a_grid_stores_its_coordinates_and_self_describing_datasets() {
    let plan = r#"
experiment = "grid"
[scan]
snake = true
[[scan.axis]]
name = "x"
instrument = "stage"
units = "mm"
linear = { start = 1.0, stop = 3.0, step = 1.0 }
[[scan.axis]]
name = "tb"
instrument = "scope"
quantity = "timebase"
set = ":TIM:SCAL {value}"
values = [0.001, 0.002]
[[measure]]
name = "trace"
instrument = "scope"
read = "waveform"
units = "V"
[[process]]
name = "spectrum"
plugin = "power_spectrum"
inputs = ["trace"]
outputs = ["power"]
"#;
    let (dir, name, received) = run_plan(plan);
    let moves: Vec<&str> = received
        .iter()
        .filter(|c| c.contains("PA"))
        .map(String::as_str)
        .collect();
    // The stage is set at every point (the outer axis, held through each point).
    assert_eq!(moves, ["1PA1", "1PA1", "1PA2", "1PA2", "1PA3", "1PA3"]);
    let run = Store::open(dir.path()).unwrap().open_run(&name).unwrap();
    let grid = run.read::<u64>("grid_index").unwrap();
    let rows: Vec<Vec<u64>> = grid
        .outer_iter()
        .map(|r| r.iter().copied().collect())
        .collect();
    assert_eq!(rows, [[0, 0], [0, 1], [1, 1], [1, 0], [2, 0], [2, 1]]);
    // Each point's coordinates, by point.
    let x = smq_lab::scalars_by_point(&run, "x", 6).unwrap();
    assert_eq!(x.to_vec(), [1.0, 1.0, 2.0, 2.0, 3.0, 3.0]);
    let tb = smq_lab::scalars_by_point(&run, "tb", 6).unwrap();
    assert_eq!(tb.to_vec(), [0.001, 0.002, 0.002, 0.001, 0.001, 0.002]);
    let meta: serde_json::Value =
        serde_json::from_slice(&std::fs::read(run.path().join("trace/zarr.json")).unwrap())
            .unwrap();
    assert_eq!(
        meta["dimension_names"],
        serde_json::json!(["trace_acquisition", "trace_sample"])
    );
    assert_eq!(meta["attributes"]["units"], "V");
    assert_eq!(
        meta["attributes"]["dims"],
        serde_json::json!(["x", "tb", "sample"])
    );
    assert_eq!(meta["attributes"]["plan_entry"], "measure.trace");
    let spectrum: serde_json::Value = serde_json::from_slice(
        &std::fs::read(run.path().join("spectrum_power/zarr.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(
        spectrum["attributes"]["plan_entry"],
        "process.spectrum.power"
    );
    let attrs = run.metadata().unwrap().attributes;
    assert!(attrs["plan"].as_str().unwrap().contains("power_spectrum"));
    assert!(
        attrs["station"]["instruments"]["scope"]["identification"]
            .as_str()
            .unwrap()
            .contains("DS1104Z")
    );
    assert_eq!(
        attrs["axes"][1]["values"],
        serde_json::json!([0.001, 0.002])
    );
}

#[test]
fn a_monitor_logs_its_readings_with_times_until_the_scan_ends() {
    let plan = r#"
[scan]
repeat = 4
every = 0.2
[[measure]]
name = "trace"
instrument = "scope"
read = "waveform"
[[monitor]]
name = "log"
instrument = "dmm"
read = "voltage"
every = 0.1
"#;
    let (dir, name, _) = run_plan(plan);
    let run = Store::open(dir.path()).unwrap().open_run(&name).unwrap();
    let log = run.read::<f64>("log").unwrap();
    let times = run.read::<f64>("log_time").unwrap();
    let samples = run.read::<u64>("log_point").unwrap();
    assert!(!log.is_empty());
    assert_eq!(log.len(), times.len());
    let mut sorted: Vec<u64> = samples.iter().copied().collect();
    sorted.sort_unstable();
    assert_eq!(sorted, (0..log.len() as u64).collect::<Vec<_>>());
    // Times of the readings, by sample number, never go back.
    let time_points = run.read::<u64>("log_time_point").unwrap();
    let mut by_sample: Vec<(u64, f64)> = time_points
        .iter()
        .copied()
        .zip(times.iter().copied())
        .collect();
    by_sample.sort_by_key(|p| p.0);
    assert!(
        by_sample.windows(2).all(|w| w[0].1 <= w[1].1),
        "{by_sample:?}"
    );
    // The time series' points are 4, each with its time.
    assert_eq!(run.read::<f64>("trace_time").unwrap().len(), 4);
}
