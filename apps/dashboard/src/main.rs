//! `smq-dashboard`: the demo scan on the simulated instruments, in the dashboard.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{SystemTime, UNIX_EPOCH};

use clap::Parser;
use serde_json::json;
use smq_cli::{CHANNEL, Lab, dag_summary, default_positions, demo_scan};
use smq_store::Store;
use smqsched_dashboard::{Dashboard, Options, Plots};

/// The smqsched dashboard, on the demo scan of the simulated lab (the scan of `smq demo`).
#[derive(Debug, Parser)]
#[command(name = "smq-dashboard", version)]
struct Cli {
    /// Number of stage positions, over 0 to 10 mm.
    #[arg(long, default_value_t = 41, value_parser = clap::value_parser!(u32).range(1..=10_000))]
    points: u32,
    /// Seed of the simulated noise.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Store directory of the runs.
    #[arg(long, default_value = "./runs")]
    runs: PathBuf,
    /// Write a PNG screenshot of the window here once part of the scan is done, then close.
    #[arg(long)]
    screenshot: Option<PathBuf>,
    /// Fraction of the tasks finished before the screenshot.
    #[arg(long, default_value_t = 0.5)]
    screenshot_at: f64,
}

type Error = Box<dyn std::error::Error + Send + Sync>;

fn main() -> ExitCode {
    let cli = Cli::parse();
    match demo(&cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("smq-dashboard: error: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Open the store at `dir`, creating it if needed.
fn open_or_create_store(dir: &Path) -> Result<Store, Error> {
    let store = if dir.join("zarr.json").is_file() {
        Store::open(dir)
    } else {
        Store::create(dir)
    };
    store.map_err(|e| format!("cannot open the store {}: {e}", dir.display()).into())
}

/// A run name not taken in `store`: `dashboard-<unix seconds>`, suffixed if needed.
fn new_run_name(store: &Store) -> Result<String, Error> {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let taken = store.runs()?;
    let base = format!("dashboard-{secs}");
    let mut name = base.clone();
    let mut i = 1;
    while taken.contains(&name) {
        i += 1;
        name = format!("{base}-{i}");
    }
    Ok(name)
}

fn demo(cli: &Cli) -> Result<(), Error> {
    let points = cli.points as usize;
    let positions = default_positions(points);
    let store = open_or_create_store(&cli.runs)?;
    let name = new_run_name(&store)?;
    let lab = Lab::open(cli.seed)?;
    // Subscribe before anything runs, so the task stream shows every run.
    let dashboard = Dashboard::new(&lab.sch);
    lab.sch.start();
    lab.prepare()?;
    let run = store.create_run(
        &name,
        "demo",
        json!({"points": points, "seed": cli.seed, "from_mm": positions.first(), "to_mm": positions.last(), "channel": CHANNEL}),
    )?;
    for (instrument, idn) in lab.identities()? {
        run.set_instrument(&instrument, &idn)?;
    }
    let scan = demo_scan(&lab, &run, &positions)?;
    let plots = Plots::new();
    for (i, &x) in scan.positions.iter().enumerate() {
        if let Some(w) = scan.waveforms.get(i) {
            plots.waveform(w);
        }
        if let Some(r) = scan.readings.get(i) {
            plots.scan_point(x, r);
        }
        if let Some(p) = scan.peaks.get(i) {
            plots.map_with(p, move |peak: &Vec<f64>| {
                [
                    x,
                    peak.first().copied().unwrap_or(0.0),
                    peak.get(1).copied().unwrap_or(0.0),
                ]
            });
        }
    }
    let options = Options {
        title: format!("smqsched dashboard: {name}"),
        screenshot: cli.screenshot.clone(),
        screenshot_at: cli.screenshot_at,
        ..Options::default()
    };
    let shown = dashboard.with_plots(plots).open(&options);

    // Window closed: stop what has not started, keep what was taken.
    lab.sch.stop();
    lab.sch.wait_drained();
    let summary = dag_summary(&lab.sch);
    run.finish(Some(summary.clone()))?;
    lab.sch.shutdown();
    shown?;
    println!("run {name} stored in {}", run.path().display());
    println!("{} tasks: {}", summary["tasks"], summary["by_state"]);
    Ok(())
}
