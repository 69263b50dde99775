//! `smq`: run the demo scan on the simulated lab, serve the simulators, inspect runs.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, mpsc};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use clap::{Parser, Subcommand};
use indicatif::{MultiProgress, ProgressBar, ProgressStyle};
use serde_json::json;
use smq_cli::{Error, Lab, dag_summary, default_positions, demo_scan};
use smq_sim::SimLab;
use smq_store::Store;

/// Laboratory acquisition on the smqsched scheduler.
#[derive(Debug, Parser)]
#[command(name = "smq", version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the demo scan on the simulated lab and store it.
    Demo {
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
    },
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

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Demo {
            points,
            out,
            seed,
            trace,
        } => demo(points as usize, &out, seed, trace.as_deref()),
        Command::Sim { seed } => sim(seed),
        Command::Ls { out } => ls(&out),
        Command::Show { run, out } => show(&run, &out),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
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
    Store::open(out).map_err(|e| format!("cannot open the store {}: {e}", out.display()).into())
}

/// Open the store at `out`, creating it if needed.
fn open_or_create_store(out: &Path) -> Result<Store, Error> {
    let store = if out.join("zarr.json").is_file() {
        Store::open(out)
    } else {
        Store::create(out)
    };
    store.map_err(|e| format!("cannot open the store {}: {e}", out.display()).into())
}

/// A run name unique in `store`: `demo-<unix seconds>`, suffixed if taken.
fn new_run_name(store: &Store) -> Result<String, Error> {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let taken = store.runs()?;
    let base = format!("demo-{secs}");
    let mut name = base.clone();
    let mut i = 1;
    while taken.contains(&name) {
        i += 1;
        name = format!("{base}-{i}");
    }
    Ok(name)
}

fn demo(points: usize, out: &Path, seed: u64, trace: Option<&Path>) -> Result<(), Error> {
    let positions = default_positions(points);
    let interrupts_handle = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&interrupts_handle);
    ctrlc::set_handler(move || {
        counter.fetch_add(1, Ordering::SeqCst);
    })
    .map_err(|e| format!("cannot install the Ctrl-C handler: {e}"))?;
    let store = open_or_create_store(out)?;
    let name = new_run_name(&store)?;
    let lab = Lab::open(seed)?;
    let events = lab.sch.subscribe();
    lab.sch.start();
    lab.prepare()?;
    let run = store.create_run(
        &name,
        "demo",
        json!({"points": points, "seed": seed, "from_mm": positions.first(), "to_mm": positions.last(), "channel": smq_cli::CHANNEL}),
    )?;
    for (instrument, idn) in lab.identities()? {
        run.set_instrument(&instrument, &idn)?;
    }

    // Progress: totals per queue from the graph once submitted, finished counts polled.
    let before: BTreeMap<String, usize> = lab
        .sch
        .queues()
        .iter()
        .map(|q| (q.name.to_string(), q.done + q.failed))
        .collect();
    let scan = demo_scan(&lab, &run, &positions)?;
    let snap = lab.sch.snapshot();
    let mut totals: BTreeMap<String, u64> = BTreeMap::new();
    for t in &snap.tasks {
        if let Some(q) = snap.queues.get(t.queue as usize) {
            *totals.entry(q.name.to_string()).or_default() += 1;
        }
    }
    let multi = MultiProgress::new();
    let style = ProgressStyle::with_template(
        "{prefix:>8} [{bar:30}] {pos:>4}/{len:4} {per_sec:>10} eta {eta}",
    )
    .map_err(|e| format!("progress style: {e}"))?
    .progress_chars("=> ");
    let bars: Vec<(String, ProgressBar)> = snap
        .queues
        .iter()
        .map(|q| {
            let name = q.name.to_string();
            let total = totals
                .get(&name)
                .copied()
                .unwrap_or(0)
                .saturating_sub(before.get(&name).copied().unwrap_or(0) as u64);
            let pb = multi.add(ProgressBar::new(total));
            pb.set_style(style.clone());
            pb.set_prefix(name.clone());
            (name, pb)
        })
        .collect();
    let mut paused = false;
    let mut answers: Option<mpsc::Receiver<String>> = None;
    let mut aborted = false;
    loop {
        let loads = lab.sch.queues();
        for q in &loads {
            if let Some((_, pb)) = bars.iter().find(|(n, _)| **n == *q.name) {
                let offset = before.get(&*q.name).copied().unwrap_or(0);
                let ended = (q.done + q.failed).saturating_sub(offset) as u64;
                pb.set_position(ended);
            }
        }
        let interrupts = interrupts_handle.load(Ordering::SeqCst);
        if interrupts >= 2 {
            aborted = true;
            break;
        }
        if interrupts == 1 && !paused {
            paused = true;
            lab.sch.stop();
            lab.sch.wait_drained();
            multi.suspend(|| {
                eprintln!(
                    "paused: running tasks finished. Enter to resume, `a` + Enter or Ctrl-C to abort."
                );
            });
            answers.get_or_insert_with(spawn_stdin_reader);
        }
        if paused {
            match answers.as_ref().map(|rx| rx.try_recv()) {
                Some(Ok(line)) if line.trim().starts_with('a') => {
                    aborted = true;
                    break;
                }
                Some(Ok(_)) => {
                    paused = false;
                    interrupts_handle.store(0, Ordering::SeqCst);
                    lab.sch.start();
                }
                // Stdin closed: nobody can answer, abort.
                Some(Err(mpsc::TryRecvError::Disconnected)) => {
                    aborted = true;
                    break;
                }
                _ => {}
            }
            std::thread::sleep(Duration::from_millis(100));
            continue;
        }
        if lab.sch.wait_timeout(Duration::from_millis(100)).is_ok() {
            break;
        }
    }
    for (_, pb) in &bars {
        pb.finish();
    }
    if !multi.is_hidden() {
        eprintln!();
    }

    if aborted {
        lab.sch.stop();
        lab.sch.wait_drained();
    }
    let summary = dag_summary(&lab.sch);
    run.finish(Some(summary.clone()))?;
    lab.sch.shutdown();
    if let Some(path) = trace {
        let log: Vec<_> = events.try_iter().collect();
        let text = serde_json::to_string(&smq_cli::chrome_trace(&log))?;
        std::fs::write(path, text)
            .map_err(|e| format!("cannot write the trace {}: {e}", path.display()))?;
        println!("trace written to {}", path.display());
    }

    println!("run {name} stored in {}", run.path().display());
    println!(
        "{} tasks: {}",
        summary["tasks"],
        summary["by_state"]
            .as_object()
            .map(|m| m
                .iter()
                .map(|(k, v)| format!("{v} {k}"))
                .collect::<Vec<_>>()
                .join(", "))
            .unwrap_or_default()
    );
    let failed = summary["failed"].as_array().map_or(0, Vec::len);
    if aborted {
        return Err(format!(
            "aborted; the data taken so far are kept in run {name} ({})",
            run.path().display()
        )
        .into());
    }
    match scan.max_signal() {
        Some((x, v)) => println!("maximum signal {v:.4} V at x = {x:.3} mm"),
        None => println!("no reading succeeded"),
    }
    if failed > 0 {
        return Err(format!("{failed} tasks failed; see `smq show {name}`").into());
    }
    Ok(())
}

/// A thread forwarding the lines of stdin; the channel closes at end of input.
fn spawn_stdin_reader() -> mpsc::Receiver<String> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::stdin().lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    rx
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
            if meta.end.is_some() {
                "finished"
            } else {
                "unfinished"
            }
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
