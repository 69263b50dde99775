//! `smq-dashboard`: the demo scan on the simulated instruments, in the dashboard.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use smqsched_dashboard::{Demo, Error, Options};

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
    /// Fraction of the tasks finished before the screenshot (0 to 1).
    #[arg(long, default_value_t = 0.5)]
    screenshot_at: f64,
}

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

fn demo(cli: &Cli) -> Result<(), Error> {
    let (demo, dashboard) = Demo::start(cli.points as usize, cli.seed, &cli.runs)?;
    let options = Options {
        title: format!("smqsched dashboard: {}", demo.name),
        screenshot: cli.screenshot.clone(),
        screenshot_at: cli.screenshot_at,
        start_on_show: true,
        ..Options::default()
    };
    let shown = dashboard.open(&options);
    // Window closed (or never opened): stop what has not started, keep what was taken.
    let path = demo.run.path().to_path_buf();
    let name = demo.name.clone();
    let summary = demo.finish()?;
    shown?;
    println!("run {name} stored in {}", path.display());
    println!("{} tasks: {}", summary["tasks"], summary["by_state"]);
    Ok(())
}
