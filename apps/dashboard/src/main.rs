//! `smq-dashboard`: the demo scan on the simulated instruments, in the dashboard; or a run
//! served by another process (`--attach`); or a stored run reopened (`--open`).

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
          value_parser = smq_lab::parse_points)]
    points: u32,
    /// Seed of the simulated noise: the same seed and points give the same data.
    #[arg(long, default_value_t = 1, allow_negative_numbers = true)]
    seed: u64,
    /// Store directory of the runs: a folder that can be written, or created.
    #[arg(long, value_name = "DIR", default_value = "./runs", value_parser = smq_lab::store_folder)]
    runs: PathBuf,
    /// Write a PNG screenshot of the window here once part of the scan is done (with
    /// `--open`: once the run is drawn), then close (in an existing folder that can be
    /// written).
    #[arg(long, value_name = "FILE", value_parser = smq_lab::output_file)]
    screenshot: Option<PathBuf>,
    /// Fraction of the tasks finished before the screenshot, from 0 to 1.
    #[arg(long, value_name = "FRACTION", default_value_t = 0.5, allow_negative_numbers = true,
          value_parser = fraction)]
    screenshot_at: f64,
    /// Show the run served at this URL by another process (`smq demo --serve ADDR`), such
    /// as http://127.0.0.1:40125, instead of running the demo; pause, resume and cancel act
    /// on that run.
    #[arg(long, value_name = "URL", requires = "token_file", value_parser = attach_url,
          conflicts_with_all = ["points", "seed", "runs"])]
    attach: Option<String>,
    /// Show the stored run in this folder (such as runs/demo-1712345678: finished,
    /// aborted, crashed or still being written) instead of running the demo: its scans by
    /// point, waveforms, 2-D maps, metadata and DAG summary.
    #[arg(long, value_name = "RUN_FOLDER", conflicts_with_all = ["attach", "points", "seed", "runs"])]
    open: Option<PathBuf>,
    /// The token file of the served run (serve.token in the run's folder).
    #[arg(long, value_name = "PATH", requires = "attach", value_parser = token_file)]
    token_file: Option<String>,
}

/// An http:// URL.
fn attach_url(text: &str) -> Result<String, String> {
    let url = text.trim();
    match url.strip_prefix("http://") {
        Some(rest) if !rest.is_empty() => Ok(url.trim_end_matches('/').to_owned()),
        _ => Err("must be the URL the run is served at, such as http://127.0.0.1:40125".into()),
    }
}

/// The token in a token file, read when the command line is parsed.
fn token_file(text: &str) -> Result<String, String> {
    smq_serve::read_token_file(std::path::Path::new(text)).map_err(|e| e.to_string())
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
    let shown = match (&cli.attach, &cli.token_file, &cli.open) {
        (Some(url), Some(token), _) => attach(url, token, &cli),
        (_, _, Some(folder)) => open(folder, &cli),
        _ => demo(&cli),
    };
    match shown {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("smq-dashboard: error: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Show the run served at `url` until the window is closed; the run goes on.
fn attach(url: &str, token: &str, cli: &Cli) -> Result<(), Error> {
    let options = Options {
        title: format!("smqsched dashboard: {url}"),
        screenshot: cli.screenshot.clone(),
        screenshot_at: cli.screenshot_at,
        ..Options::default()
    };
    smqsched_dashboard::Dashboard::attach(url, token).open(&options)
}

/// Show the stored run in `folder` until the window is closed.
fn open(folder: &std::path::Path, cli: &Cli) -> Result<(), Error> {
    // A run still being written is followed (the Follow box turns it off).
    let view = smqsched_dashboard::StoredView::open(folder)
        .map_err(Error::Open)?
        .follow(smqsched_dashboard::FOLLOW_EVERY);
    let options = Options {
        title: format!("smqsched dashboard: {}", folder.display()),
        screenshot: cli.screenshot.clone(),
        ..Options::default()
    };
    view.show(&options)
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
    println!("{}", end.summary);
    println!("run {name} {}: stored in {}", end.status, path.display());
    Ok(())
}
