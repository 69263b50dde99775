//! `smq run PLAN`, `smq resume RUN` and `smq station check FILE`: experiment plans on a
//! station, under the operator's control as `smq demo` is (Ctrl-C pauses).

use std::path::PathBuf;
use std::time::Duration;

use serde_json::json;
use smq_lab::{
    Bench, Plan, RunStatus, Station, StoredPoints, Submitted, attributes, record_plan, submit_plan,
};
use smq_store::{Run, Store};

use crate::Error;
use crate::demo::{
    CommitOnExit, EventLog, OperatorControls, Outcome, Progress, close_run, open_or_create_store,
    operator_controls, serve_run, supervise, wind_down,
};

/// What `smq run` and `smq resume` share.
pub(crate) struct Session {
    /// Store directory.
    pub(crate) out: PathBuf,
    /// Seed of the simulated noise.
    pub(crate) seed: u64,
    /// Slots of the compute queue.
    pub(crate) compute_slots: usize,
    /// One line per task instead of progress bars.
    pub(crate) plain: bool,
    /// Serve the run at this address.
    pub(crate) serve: Option<std::net::SocketAddr>,
    /// Allow serving beyond loopback.
    pub(crate) serve_public: bool,
    /// Store commit interval.
    pub(crate) commit_every: Duration,
}

/// A bad plan or station: exit code 2, as for any bad argument.
pub(crate) struct BadInput(pub(crate) String);

/// Read the plan and the station (the simulated one if none) and check them together.
pub(crate) fn load(
    plan: &std::path::Path,
    station: Option<&std::path::Path>,
) -> Result<(Plan, Station, String), BadInput> {
    let plan = Plan::load(plan).map_err(|e| BadInput(e.to_string()))?;
    let (station, source) = match station {
        Some(path) => {
            let s = Station::load(path).map_err(|e| BadInput(e.to_string()))?;
            let text = std::fs::read_to_string(path).unwrap_or_default();
            (s, text)
        }
        None => (Station::simulated(), String::new()),
    };
    plan.check(&station).map_err(|e| BadInput(e.to_string()))?;
    Ok((plan, station, source))
}

/// `smq run --dry-run`: the points, the tasks per queue, the estimated duration.
pub(crate) fn dry_run(plan: &Plan, station: &Station) {
    let points = plan.points();
    println!("plan {}: {} points", plan.experiment, points.len());
    if points.axes.is_empty() {
        println!(
            "  time series: {} points{}",
            points.len(),
            plan.scan
                .every
                .map_or(String::new(), |e| format!(", every {e} s"))
        );
    }
    for a in &points.axes {
        let units = a.units.as_deref().unwrap_or("");
        let first = a.values.first().copied().unwrap_or(f64::NAN);
        let last = a.values.last().copied().unwrap_or(f64::NAN);
        println!(
            "  axis {} ({}.{}): {} values from {first} to {last} {units}",
            a.name,
            a.instrument,
            a.quantity,
            a.values.len()
        );
    }
    let shown = if points.axes.is_empty() {
        0
    } else {
        points.len().min(5)
    };
    for p in 0..shown {
        println!("  point {p}: {:?}", points.values(p));
    }
    if shown > 0 && points.len() > shown {
        println!("  ... {} more", points.len() - shown);
    }
    let counts = plan.task_counts();
    println!(
        "tasks: {} ({})",
        counts.values().sum::<usize>(),
        counts
            .iter()
            .map(|(q, n)| format!("{n} on {q}"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    for m in &plan.monitors {
        println!(
            "monitor {}: {} every {} s",
            m.name,
            m.instrument,
            m.every.unwrap_or(0.0)
        );
    }
    let est = plan.estimate(station);
    println!("estimated duration: {:.1} s", est.as_secs_f64());
    println!("datasets: {}", {
        let names: Vec<_> = plan.saved_datasets().into_iter().map(|(d, _)| d).collect();
        names.join(", ")
    });
}

/// Open the station, printing each instrument.
fn open_bench(station: &Station, session: &Session) -> Result<Bench, Error> {
    let bench = station.open(session.seed, session.compute_slots)?;
    for (name, r) in &bench.record.instruments {
        let sim = if r.simulated { " (simulated)" } else { "" };
        println!("{name:<8} {}{sim}  {}", r.address, r.identification);
    }
    Ok(bench)
}

/// `smq station check FILE`: open every instrument, print its identification and
/// settings read back; an error naming each one that failed.
pub(crate) fn station_check(path: &std::path::Path) -> Result<(), Error> {
    let station = Station::load(path)?;
    let bench = station.open(1, 1)?;
    for (name, r) in &bench.record.instruments {
        let sim = if r.simulated { " (simulated)" } else { "" };
        println!("{name:<8} {} {}{sim}", r.driver.as_str(), r.address);
        println!("         {}", r.identification);
        for (k, v) in &r.settings {
            println!("         {k} = {v}");
        }
    }
    println!("{} instruments ok", bench.record.instruments.len());
    bench.sch.shutdown();
    Ok(())
}

/// `smq run PLAN`: open the station, create the run, record the plan, run it.
pub(crate) fn run(
    plan: &Plan,
    station: &Station,
    station_source: &str,
    session: &Session,
) -> Result<Outcome, Error> {
    let bench = open_bench(station, session)?;
    let store = open_or_create_store(&session.out, session.commit_every)?;
    let name = store.new_run_name(&plan.experiment)?;
    let run = store.create_run(
        &name,
        &plan.experiment,
        json!({"points": plan.points().len(), "seed": session.seed, "description": plan.description}),
    )?;
    RunStatus::record_writer(&run)?;
    record_plan(&run, plan, &bench, station_source)?;
    let stored = StoredPoints::none(plan);
    drive(plan, &bench, &store, &run, &stored, session, "started")
}

/// `smq resume RUN`: take up an aborted or crashed run where it stopped.
pub(crate) fn resume(name: &str, session: &Session) -> Result<Outcome, Error> {
    let store = open_or_create_store(&session.out, session.commit_every)?;
    let run = store.open_run(name)?;
    let meta = run.metadata()?;
    match RunStatus::of(&meta)? {
        RunStatus::Complete => {
            return Err(format!("run {name} is complete: nothing to resume").into());
        }
        RunStatus::Running => {
            return Err(format!("run {name} is running: its writer is alive").into());
        }
        _ => {}
    }
    let text = |k: &str| {
        meta.attributes
            .get(k)
            .and_then(|v| v.as_str())
            .map(str::to_owned)
    };
    let Some(plan_text) = text(attributes::PLAN) else {
        return Err(format!("run {name} was not made from a plan: it cannot be resumed").into());
    };
    let plan = Plan::parse(&plan_text, &format!("{name} (stored plan)"))?;
    let station_text = text(attributes::STATION_FILE).unwrap_or_default();
    let station = if station_text.is_empty() {
        Station::simulated()
    } else {
        Station::parse(&station_text, &format!("{name} (stored station)"))?
    };
    plan.check(&station)?;
    let seed = meta.parameters["seed"].as_u64().unwrap_or(session.seed);
    let session = Session {
        seed,
        out: session.out.clone(),
        ..*session
    };
    let bench = open_bench(&station, &session)?;
    let stored = StoredPoints::of(&run, &plan)?;
    RunStatus::reopen(&run)?;
    drive(&plan, &bench, &store, &run, &stored, &session, "resumed")
}

/// Submit what is left of `plan` and run it to its end under the operator's control, then
/// close the run with its state.
fn drive(
    plan: &Plan,
    bench: &Bench,
    store: &Store,
    run: &Run,
    stored: &StoredPoints,
    session: &Session,
    verb: &str,
) -> Result<Outcome, Error> {
    let _commit_on_exit = CommitOnExit(store.clone());
    let name = run.name().to_owned();
    let control = bench.control();
    let OperatorControls {
        tx: control_tx,
        rx: control_rx,
        aborting,
    } = operator_controls(store, session.plain)?;
    let plain = session.plain;
    let server = match session.serve {
        None => None,
        Some(addr) => Some(serve_run(&bench.sch, addr, session.serve_public, run)?),
    };
    let events = bench.sch.subscribe();
    let first_task = bench.sch.task_count() as u64;
    let mut submitted: Submitted = submit_plan(plan, bench, run, stored)?;
    println!(
        "run {name} {verb}: {} points ({} stored already), {} tasks",
        submitted.points, submitted.skipped, submitted.tasks
    );
    let mut log = EventLog {
        plain: session.plain,
        first_task,
        keep: false,
        events: Vec::new(),
    };
    let progress = if session.plain {
        None
    } else {
        Some(Progress::new(&bench.sch, first_task)?)
    };
    bench.sch.start();
    let outcome = supervise(
        &control,
        store,
        &events,
        &control_rx,
        control_tx,
        &mut log,
        progress.as_ref(),
    );
    // No more monitor readings; the last ones still run and are saved.
    submitted.stop_monitors();
    if let Some(p) = &progress {
        p.finish();
    }
    if let Outcome::Complete = outcome {
        // The monitors' last readings.
        bench.sch.start();
        bench.sch.wait();
    }
    wind_down(&control, &outcome, plain, &aborting);
    for e in events.try_iter() {
        log.record(e);
    }
    let (outcome, status, summary) = close_run(&bench.sch, store, run, outcome, server)?;
    println!("{summary}");
    println!("run {name} {status}: stored in {}", run.path().display());
    if let Outcome::Aborted(_) = outcome {
        println!(
            "take it up again with: smq resume {name} --out {}",
            session.out.display()
        );
        return Ok(outcome);
    }
    if !summary.failed.is_empty() {
        return Err(format!(
            "{} tasks failed; see `smq show {name}`",
            summary.failed.len()
        )
        .into());
    }
    Ok(outcome)
}
