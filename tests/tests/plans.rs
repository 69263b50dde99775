//! A plan on a station of instruments reached by address, over each transport the lab
//! uses: the stage over a pseudo-terminal, the multimeter over VXI-11, the scope over a
//! raw SCPI socket, and the multimeter's SCPI setting written through a template.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use smq_lab::{Plan, Station, StoredPoints, record_plan, submit_plan};
use smq_sim::SimLab;
use smq_store::Store;

#[test]
fn a_grid_plan_runs_on_a_station_given_by_addresses() {
    let sim = SimLab::start(11).unwrap();
    let station = format!(
        r#"
[instruments.stage]
driver = "stage"
address = "{}"
settings = {{ velocity = 100.0 }}
limits = {{ position = [0.0, 10.0] }}

[instruments.meter]
driver = "dmm"
address = "{}"
timeout = 3.0

[instruments.scope]
driver = "scpi"
address = "{}"
settings = {{ init = [":TIM:SCAL 0.001"], read_back = [":TIM:SCAL?"] }}
"#,
        sim.stage.serial_address(),
        sim.dmm.vxi11_address(),
        sim.scope.socket_address(),
    );
    let plan = r#"
experiment = "transports"
[scan]
[[scan.axis]]
name = "x"
instrument = "stage"
values = [2.0, 4.0]
[[scan.axis]]
name = "nplc"
instrument = "meter"
quantity = "nplc"
set = "VOLT:DC:NPLC {value}"
values = [1.0, 10.0]
[[measure]]
name = "v"
instrument = "meter"
read = "voltage"
[[measure]]
name = "scale"
instrument = "scope"
query = ":TIM:SCAL?"
"#;
    let station = Station::parse(&station, "station.toml").unwrap();
    let plan = Plan::parse(plan, "plan.toml").unwrap();
    plan.check(&station).unwrap();
    let bench = station.open(0, 1).unwrap();
    assert!(bench.sim.is_none(), "every instrument is given by address");
    let scope = &bench.record.instruments["scope"];
    assert!(scope.identification.contains("DS1104Z"));
    assert_eq!(scope.settings[":TIM:SCAL?"].parse::<f64>().unwrap(), 0.001);

    let dir = tempfile::tempdir().unwrap();
    let store = Store::create(dir.path()).unwrap();
    let run = store
        .create_run("r", "transports", serde_json::json!({}))
        .unwrap();
    record_plan(&run, &plan, &bench, "").unwrap();
    let submitted = submit_plan(&plan, &bench, &run, &StoredPoints::none(&plan)).unwrap();
    bench.sch.start();
    bench.sch.wait();
    assert_eq!(submitted.points, 4);
    let summary = smq_lab::DagSummary::of(&bench.sch);
    assert!(summary.failed.is_empty(), "{:?}", summary.failed);
    // Each point stored once; the settings reached the meter in the plan's order.
    assert!(StoredPoints::of(&run, &plan).unwrap().complete(3));
    let nplc: Vec<String> = sim
        .dmm
        .received()
        .into_iter()
        .filter(|c| c.starts_with("VOLT:DC:NPLC "))
        .collect();
    assert_eq!(
        nplc,
        [
            "VOLT:DC:NPLC 1",
            "VOLT:DC:NPLC 10",
            "VOLT:DC:NPLC 1",
            "VOLT:DC:NPLC 10"
        ]
    );
    let scale = smq_lab::scalars_by_point(&run, "scale", 4).unwrap();
    assert!(scale.iter().all(|s| (s - 0.001).abs() < 1e-12), "{scale}");
    bench.sch.shutdown();
}
