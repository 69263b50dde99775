//! `smq-dashboard`: the demo scan on the simulated instruments, in the dashboard.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use smqsched_dashboard::{Demo, Error, Options};

/// The smqsched dashboard, on the demo scan of the simulated lab (the scan of `smq demo`).
///
/// Every argument is checked as the command line is parsed, before the simulators start or
/// a window opens: a bad value exits with code 2 and a message naming it.
#[derive(Debug, Parser)]
#[command(name = "smq-dashboard", version)]
struct Cli {
    /// Number of stage positions, over 0 to 10 mm: a whole number from 1 to 10,000.
    #[arg(long, value_name = "N", default_value_t = 41, allow_negative_numbers = true,
          value_parser = smq_cli::parse_points)]
    points: u32,
    /// Seed of the simulated noise: the same seed and points give the same data.
    #[arg(long, default_value_t = 1, allow_negative_numbers = true)]
    seed: u64,
    /// Store directory of the runs: a folder that can be written, or created.
    #[arg(long, value_name = "DIR", default_value = "./runs", value_parser = smq_cli::store_folder)]
    runs: PathBuf,
    /// Write a PNG screenshot of the window here once part of the scan is done, then close
    /// (in an existing folder that can be written).
    #[arg(long, value_name = "FILE", value_parser = smq_cli::output_file)]
    screenshot: Option<PathBuf>,
    /// Fraction of the tasks finished before the screenshot, from 0 to 1.
    #[arg(long, value_name = "FRACTION", default_value_t = 0.5, allow_negative_numbers = true,
          value_parser = fraction)]
    screenshot_at: f64,
}

/// A number from 0 to 1.
fn fraction(text: &str) -> Result<f64, String> {
    match text.trim().parse::<f64>() {
        Ok(f) if (0.0..=1.0).contains(&f) => Ok(f),
        _ => Err("must be a number from 0 to 1".to_owned()),
    }
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
    let end = demo.finish()?;
    shown?;
    println!("{}", smq_cli::task_counts(&end.summary));
    println!("run {name} {}: stored in {}", end.status, path.display());
    Ok(())
}
