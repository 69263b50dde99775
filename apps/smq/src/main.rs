//! `smq`: run the demo scan on the simulated lab or on real instruments, serve the
//! simulators, inspect runs. A thin front end over the `smq_cli` library.

mod demo;

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::mpsc;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use smq_cli::{Address, Error};
use smq_sim::SimLab;
use smq_store::Store;

use crate::demo::{EXIT_ABORTED, Outcome};

/// Laboratory acquisition on the smqsched scheduler.
#[derive(Debug, Parser)]
#[command(name = "smq", version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the demo scan and store it: on the simulated lab, or on real instruments given
    /// by address (those not given are simulated). Ctrl-C pauses.
    Demo(DemoArgs),
    /// Serve the simulated instruments until Ctrl-C.
    Sim {
        /// Seed of the simulated noise.
        #[arg(long, default_value_t = 1)]
        seed: u64,
    },
    /// List the runs of a store.
    Ls {
        /// Store directory.
        #[arg(long, default_value = "./runs")]
        out: PathBuf,
    },
    /// Show a run: metadata, datasets, task counts and failures.
    Show {
        /// The run's name.
        run: String,
        /// Store directory.
        #[arg(long, default_value = "./runs")]
        out: PathBuf,
    },
}

#[derive(Debug, Args)]
struct DemoArgs {
    /// Number of stage positions, over 0 to 10 mm.
    #[arg(long, default_value_t = 21, value_parser = clap::value_parser!(u32).range(1..=10_000))]
    points: u32,
    /// Store directory.
    #[arg(long, default_value = "./runs")]
    out: PathBuf,
    /// Seed of the simulated noise.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Write a Chrome trace-event JSON of the task runs to this file.
    #[arg(long)]
    trace: Option<PathBuf>,
    /// The motion controller (Newport SMC100): a serial port such as /dev/ttyUSB0, or
    /// tcp:HOST:PORT for a serial-to-Ethernet adapter. Simulated if not given.
    #[arg(long, value_name = "ADDRESS")]
    stage: Option<Address>,
    /// The multimeter (Keysight 34401A): a serial port such as /dev/ttyUSB1, or HOST:PORT
    /// of its SCPI socket. Simulated if not given.
    #[arg(long, value_name = "ADDRESS")]
    dmm: Option<Address>,
    /// The oscilloscope (Rigol DS1000Z): HOST:PORT of its SCPI socket (port 5555), or a
    /// serial port. Simulated if not given.
    #[arg(long, value_name = "ADDRESS")]
    scope: Option<Address>,
    /// No progress bars: print one line per task of the scan as it ends (`done LABEL` or
    /// `failed LABEL: ERROR`), for logs and scripts.
    #[arg(long)]
    plain: bool,
    /// How often the store commits what was saved, e.g. 0.2s or 500ms (also on pause,
    /// abort and at the end); 0 makes every save durable before it is reported done.
    #[arg(long, value_name = "INTERVAL", default_value = "0.2s", value_parser = parse_interval)]
    commit_every: Duration,
}

/// An interval such as `0.2s`, `200ms` or `0`; a bare number is in seconds.
fn parse_interval(text: &str) -> Result<Duration, String> {
    let t = text.trim();
    let (number, scale) = if let Some(ms) = t.strip_suffix("ms") {
        (ms, 1e-3)
    } else if let Some(s) = t.strip_suffix('s') {
        (s, 1.0)
    } else {
        (t, 1.0)
    };
    number
        .trim()
        .parse::<f64>()
        .ok()
        .filter(|x| x.is_finite() && *x >= 0.0 && x * scale <= 3600.0)
        .map(|x| Duration::from_secs_f64(x * scale))
        .ok_or_else(|| format!("{text:?}: give an interval from 0 to 3600s, e.g. 0.2s or 200ms"))
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Demo(args) => demo::run(args),
        Command::Sim { seed } => sim(seed).map(|()| Outcome::Complete),
        Command::Ls { out } => ls(&out).map(|()| Outcome::Complete),
        Command::Show { run, out } => show(&run, &out).map(|()| Outcome::Complete),
    };
    match result {
        Ok(Outcome::Complete) => ExitCode::SUCCESS,
        Ok(Outcome::Aborted(_)) => ExitCode::from(EXIT_ABORTED),
        Ok(Outcome::Failed(_)) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("smq: error: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Open an existing store, with a clear message if the directory is missing.
fn open_store(out: &Path) -> Result<Store, Error> {
    if !out.is_dir() {
        return Err(format!("no store at {}: directory not found", out.display()).into());
    }
    let store =
        Store::open(out).map_err(|e| format!("cannot open the store {}: {e}", out.display()))?;
    demo::report_repairs(&store);
    Ok(store)
}

fn sim(seed: u64) -> Result<(), Error> {
    let (tx, rx) = mpsc::channel();
    ctrlc::set_handler(move || {
        let _ = tx.send(());
    })
    .map_err(|e| format!("cannot install the Ctrl-C handler: {e}"))?;
    let lab = SimLab::start(seed).map_err(|e| format!("cannot start the simulators: {e}"))?;
    println!("{}", lab.endpoints());
    println!("Ctrl-C to stop.");
    let _ = rx.recv();
    drop(lab);
    println!("stopped.");
    Ok(())
}

/// `finished`, `aborted` (finished by an abort, its data kept) or `unfinished` (still
/// running, or the writer crashed).
fn run_state(meta: &smq_store::RunMetadata) -> &'static str {
    match (
        &meta.end,
        meta.attributes.get("status").and_then(|s| s.as_str()),
    ) {
        (None, _) => "unfinished",
        (Some(_), Some("aborted")) => "aborted",
        (Some(_), Some("failed")) => "failed",
        (Some(_), _) => "finished",
    }
}

fn ls(out: &Path) -> Result<(), Error> {
    let store = open_store(out)?;
    let runs = store.runs()?;
    if runs.is_empty() {
        println!("no runs in {}", out.display());
    }
    for name in runs {
        let run = store.open_run(&name)?;
        let meta = run.metadata()?;
        println!(
            "{name}  {}  {}  {}",
            meta.experiment.as_deref().unwrap_or("-"),
            meta.start.as_deref().unwrap_or("-"),
            run_state(&meta)
        );
    }
    Ok(())
}

fn show(name: &str, out: &Path) -> Result<(), Error> {
    let store = open_store(out)?;
    if !store.runs()?.iter().any(|r| r == name) {
        return Err(format!("no run named {name:?} in {}", out.display()).into());
    }
    let run = store.open_run(name)?;
    let meta = run.metadata()?;
    println!("run         {}", meta.name);
    println!("path        {}", run.path().display());
    println!("experiment  {}", meta.experiment.as_deref().unwrap_or("-"));
    println!("start       {}", meta.start.as_deref().unwrap_or("-"));
    println!(
        "end         {}",
        meta.end.as_deref().unwrap_or("- (unfinished)")
    );
    println!("status      {}", run_state(&meta));
    println!("parameters  {}", meta.parameters);
    println!("instruments");
    for (k, v) in &meta.instruments {
        println!("  {k:<8} {v}");
    }
    println!("datasets");
    for d in run.datasets()? {
        println!("  {:<16} {:<8} {:?}", d.name, d.data_type, d.shape);
    }
    match &meta.dag_summary {
        Some(s) => {
            println!("tasks       {}", s["tasks"]);
            if let Some(m) = s["by_state"].as_object() {
                for (k, v) in m {
                    println!("  {k:<10} {v}");
                }
            }
            if let Some(m) = s["by_label"].as_object() {
                println!("tasks by label");
                for (label, states) in m {
                    let counts = states
                        .as_object()
                        .map(|c| {
                            c.iter()
                                .map(|(k, v)| format!("{v} {k}"))
                                .collect::<Vec<_>>()
                                .join(", ")
                        })
                        .unwrap_or_default();
                    println!("  {label:<26} {counts}");
                }
            }
            let failed = s["failed"].as_array().cloned().unwrap_or_default();
            println!("failures    {}", failed.len());
            for f in failed {
                println!("  {}", f.as_str().unwrap_or("?"));
            }
        }
        None => println!("tasks       (no summary recorded)"),
    }
    Ok(())
}
