//! `smq`: run the demo scan on the simulated lab or on real instruments, serve the
//! simulators, inspect runs. A thin front end over the `smq_lab` library.
//!
//! ```text
//! smq demo [--points N] [--out DIR] [--seed S] [--trace FILE] [--plain] [--compute-slots N]
//!          [--commit-every INTERVAL] [--stage ADDRESS] [--dmm ADDRESS] [--scope ADDRESS]
//!          [--serve ADDR [--serve-public]]
//!                                                run the demo scan, store it under DIR
//! smq run PLAN [--station FILE] [--dry-run] [--seed S] [--out DIR] [--plain]
//!         [--compute-slots N] [--commit-every INTERVAL] [--serve ADDR [--serve-public]]
//!                                                run an experiment plan on a station
//! smq resume RUN [--out DIR] [...]               take up an aborted or crashed plan run
//! smq station check FILE                         open a station's instruments, say what failed
//! smq sim  [--seed S]                            serve the simulated instruments until Ctrl-C
//! smq instruments [--idn]                        list the serial ports and USBTMC instruments
//! smq ls   [--out DIR]                           list the stored runs and their states
//! smq show RUN [--out DIR]                       metadata, state, datasets and task counts
//! smq show RUN [--out DIR] --plot FILE.png       ... and plot it to a PNG (headless)
//! ```
//!
//! `--plain` replaces the progress bars by one line per task of the scan as it ends
//! (`done LABEL`, `failed LABEL: ERROR`) and puts the messages about the run on standard
//! output too, for logs, CI and scripts that drive the command.

mod demo;
mod instruments;
mod plan_run;
mod show;
mod worker;

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::mpsc;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use smq_lab::{Address, RunStatus};
use smq_sim::SimLab;
use smq_store::Store;

use crate::demo::{EXIT_ABORTED, Outcome};

/// The error of a command: a message naming what failed, with its cause.
type Error = Box<dyn std::error::Error + Send + Sync>;

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
    Demo(Box<DemoArgs>),
    /// Run an experiment plan (TOML) on a station: the simulated one unless --station is
    /// given. Ctrl-C pauses.
    Run(Box<RunArgs>),
    /// Take up an aborted or crashed run of a plan where it stopped: the points stored
    /// whole are skipped, the others acquired.
    Resume(Box<ResumeArgs>),
    /// Station files: check that every instrument answers.
    #[command(subcommand)]
    Station(StationCommand),
    /// Serve the simulated instruments until Ctrl-C: serial (pseudo-terminals), raw TCP and
    /// VXI-11 addresses are printed.
    Sim {
        /// Seed of the simulated noise.
        #[arg(long, default_value_t = 1, allow_negative_numbers = true)]
        seed: u64,
    },
    /// List the serial ports and USBTMC instruments attached, as addresses.
    Instruments {
        /// Also ask each one `*IDN?` (off by default: a device that is not a SCPI
        /// instrument may not like it).
        #[arg(long)]
        idn: bool,
    },
    /// List the runs of a store.
    Ls {
        /// Store directory.
        #[arg(long, default_value = "./runs")]
        out: PathBuf,
    },
    /// Run one task of a cluster queue (what a Slurm job of the queue runs on a node).
    Worker {
        /// The task file (task.json in the queue's exchange folder).
        task_file: PathBuf,
    },
    /// Slurm cluster queues: the jobs and their states.
    #[command(subcommand)]
    Cluster(worker::ClusterCommand),
    /// Show a run: metadata, datasets, task counts and failures.
    Show {
        /// The run's name.
        run: String,
        /// Store directory.
        #[arg(long, default_value = "./runs")]
        out: PathBuf,
        /// Also plot the run to this PNG file: each scan by point, 2-D maps, the last
        /// waveform, the peaks (no display needed).
        #[arg(long, value_name = "FILE", value_parser = smq_lab::output_file)]
        plot: Option<PathBuf>,
    },
}

/// `smq station ...`.
#[derive(Debug, Subcommand)]
enum StationCommand {
    /// Open every instrument of a station file, print its identification and settings read
    /// back; exit with an error naming each one that failed.
    Check {
        /// The station file (TOML).
        file: PathBuf,
    },
}

/// Options of a plan's run, shared by `smq run` and `smq resume`.
#[derive(Debug, Args)]
struct SessionArgs {
    /// Store directory: a folder that can be written, or created.
    #[arg(long, value_name = "DIR", default_value = "./runs", value_parser = smq_lab::store_folder)]
    out: PathBuf,
    /// Slots of the compute queue (processing and saving).
    #[arg(long, value_name = "N", default_value_t = smq_lab::COMPUTE_SLOTS as u32,
          value_parser = clap::value_parser!(u32).range(1..=smqsched::MAX_SLOTS as i64))]
    compute_slots: u32,
    /// No progress bars: one line per task as it ends.
    #[arg(long)]
    plain: bool,
    /// Serve the live run over HTTP at this address (see `smq demo --serve`).
    #[arg(long, value_name = "ADDR", value_parser = smq_lab::serve_address)]
    serve: Option<std::net::SocketAddr>,
    /// Allow --serve on an address other than loopback.
    #[arg(long, requires = "serve")]
    serve_public: bool,
    /// How often the store commits what was saved (see `smq demo --commit-every`).
    #[arg(long, value_name = "INTERVAL", default_value = "0.2s", value_parser = parse_interval)]
    commit_every: Duration,
}

/// The arguments of `smq run`.
#[derive(Debug, Args)]
struct RunArgs {
    /// The plan file (TOML); see examples/plans.
    plan: PathBuf,
    /// The station file (TOML): the instruments by name. The simulated stage, dmm and
    /// scope if not given.
    #[arg(long, value_name = "FILE")]
    station: Option<PathBuf>,
    /// Check the plan, print its points, tasks per queue and estimated duration, and stop
    /// before anything is opened.
    #[arg(long)]
    dry_run: bool,
    /// Seed of the simulated noise.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    #[command(flatten)]
    session: SessionArgs,
}

/// The arguments of `smq resume`.
#[derive(Debug, Args)]
struct ResumeArgs {
    /// The run's name.
    run: String,
    #[command(flatten)]
    session: SessionArgs,
}

impl SessionArgs {
    fn session(&self, seed: u64) -> plan_run::Session {
        plan_run::Session {
            out: self.out.clone(),
            seed,
            compute_slots: self.compute_slots as usize,
            plain: self.plain,
            serve: self.serve,
            serve_public: self.serve_public,
            commit_every: self.commit_every,
        }
    }
}

/// The arguments of `smq demo`. Each is checked as the command line is parsed, before any
/// instrument is opened: a bad value exits with code 2 and a message naming it.
#[derive(Debug, Args)]
struct DemoArgs {
    /// Number of stage positions, over 0 to 10 mm: a whole number from 1 to 10,000.
    #[arg(long, value_name = "N", default_value_t = 21, allow_negative_numbers = true,
          value_parser = smq_lab::parse_points)]
    points: u32,
    /// Store directory: a folder that can be written, or created.
    #[arg(long, value_name = "DIR", default_value = "./runs", value_parser = smq_lab::store_folder)]
    out: PathBuf,
    /// Seed of the simulated noise: the same seed and points give the same data.
    #[arg(long, default_value_t = 1, allow_negative_numbers = true)]
    seed: u64,
    /// Write a Chrome trace-event JSON of the task runs to this file (in an existing
    /// folder that can be written).
    #[arg(long, value_name = "FILE", value_parser = smq_lab::output_file)]
    trace: Option<PathBuf>,
    /// Slots of the compute queue (processing and saving). The data stored do not depend
    /// on it.
    #[arg(long, value_name = "N", default_value_t = smq_lab::COMPUTE_SLOTS as u32,
          value_parser = clap::value_parser!(u32).range(1..=smqsched::MAX_SLOTS as i64))]
    compute_slots: u32,
    /// The motion controller (Newport SMC100): a serial port (ASRL/dev/ttyUSB0::INSTR or
    /// /dev/ttyUSB0), or TCPIP0::HOST::PORT::SOCKET for a serial-to-Ethernet adapter.
    /// Simulated if not given.
    #[arg(long, value_name = "ADDRESS")]
    stage: Option<Address>,
    /// The multimeter (Keysight 34401A): TCPIP0::HOST::INSTR (VXI-11),
    /// TCPIP0::HOST::5025::SOCKET, USB0::VID::PID::INSTR or a serial port. Simulated if
    /// not given.
    #[arg(long, value_name = "ADDRESS")]
    dmm: Option<Address>,
    /// The oscilloscope (Rigol DS1000Z): USB0::0x1AB1::0x04CE::INSTR (USBTMC),
    /// TCPIP0::HOST::INSTR (VXI-11) or TCPIP0::HOST::5555::SOCKET. Simulated if not given.
    #[arg(long, value_name = "ADDRESS")]
    scope: Option<Address>,
    /// No progress bars: print one line per task of the scan as it ends (`done LABEL` or
    /// `failed LABEL: ERROR`), for logs and scripts.
    #[arg(long)]
    plain: bool,
    /// Serve the live run over HTTP at this address, such as 127.0.0.1:0 (port 0 picks a
    /// free one): its graph, its events, pause, resume and cancel, for a dashboard attached
    /// from another window. Every request needs the token printed at start and written to
    /// serve.token in the run's folder (readable by you only).
    #[arg(long, value_name = "ADDR", value_parser = smq_lab::serve_address)]
    serve: Option<std::net::SocketAddr>,
    /// Allow --serve on an address other than loopback, reachable from other machines.
    #[arg(long, requires = "serve")]
    serve_public: bool,
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
    let serving = match &cli.command {
        Command::Demo(a) => Some((a.serve, a.serve_public)),
        Command::Run(a) => Some((a.session.serve, a.session.serve_public)),
        Command::Resume(a) => Some((a.session.serve, a.session.serve_public)),
        _ => None,
    };
    if let Some((Some(addr), false)) = serving
        && !addr.ip().is_loopback()
    {
        use clap::CommandFactory;
        Cli::command()
            .error(
                clap::error::ErrorKind::ArgumentConflict,
                format!(
                    "--serve {addr} is reachable from other machines: add --serve-public to \
                     allow it, or serve on 127.0.0.1"
                ),
            )
            .exit();
    }
    let result = match cli.command {
        Command::Demo(args) => demo::run(*args),
        Command::Run(args) => {
            let (plan, station, source) = match plan_run::load(&args.plan, args.station.as_deref())
            {
                Ok(loaded) => loaded,
                Err(plan_run::BadInput(message)) => {
                    eprintln!("smq: error: {message}");
                    return ExitCode::from(2);
                }
            };
            if args.dry_run {
                plan_run::dry_run(&plan, &station);
                return ExitCode::SUCCESS;
            }
            plan_run::run(&plan, &station, &source, &args.session.session(args.seed))
        }
        Command::Resume(args) => plan_run::resume(&args.run, &args.session.session(1)),
        Command::Station(StationCommand::Check { file }) => {
            plan_run::station_check(&file).map(|()| Outcome::Complete)
        }
        Command::Sim { seed } => sim(seed).map(|()| Outcome::Complete),
        Command::Instruments { idn } => instruments::run(idn).map(|()| Outcome::Complete),
        Command::Ls { out } => ls(&out).map(|()| Outcome::Complete),
        Command::Show { run, out, plot } => {
            show::show(&run, &out, plot.as_deref()).map(|()| Outcome::Complete)
        }
        Command::Worker { task_file } => worker::worker(&task_file).map(|()| Outcome::Complete),
        Command::Cluster(c) => worker::cluster(&c).map(|()| Outcome::Complete),
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
    let mut lab = SimLab::start(seed).map_err(|e| format!("cannot start the simulators: {e}"))?;
    // VXI-11 clients ask port 111; only root (or CAP_NET_BIND_SERVICE) can serve it.
    if let Err(e) = lab.serve_portmapper(smq_instrument::PORTMAPPER_PORT) {
        eprintln!(
            "smq: no RPC port mapper on port {} ({e}): TCPIP0::127.0.0.1::INSTR needs one \
             (run as root); the VXI-11 addresses below name their own port mappers",
            smq_instrument::PORTMAPPER_PORT
        );
    }
    println!("{}", lab.endpoints());
    println!("Ctrl-C to stop.");
    let _ = rx.recv();
    drop(lab);
    println!("stopped.");
    Ok(())
}

/// The state of a run: the word it stored, or `running` / `unfinished` for a run without
/// an end ([`RunStatus::of`]); a stored word outside the vocabulary is shown as it is.
fn run_state(meta: &smq_store::RunMetadata) -> String {
    match RunStatus::of(meta) {
        Ok(status) => status.to_string(),
        Err(unknown) => unknown.word,
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
