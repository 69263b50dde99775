//! # smq-lab — the experiment layer shared by `smq`, the dashboard and scripts
//!
//! A lab of three instruments (a motion stage, a multimeter and an oscilloscope) as
//! devices of one scheduler, the scans run on it, the states of a stored run and the
//! summaries of its task graph. The `smq` command, the dashboard and Rust scripts all use
//! this crate, so each front end submits exactly the same graph and records runs in the
//! same words. Each instrument is the simulator of `smq-sim` unless given by address.
//!
//! An [`Address`] is a VISA resource string (`TCPIP0::192.168.0.30::INSTR` for VXI-11,
//! `TCPIP0::host::5025::SOCKET`, `USB0::0x1AB1::0x04CE::INSTR` for USBTMC,
//! `ASRL/dev/ttyUSB0::INSTR`) or a short form (`/dev/ttyUSB0`, `HOST:PORT`); one that cannot
//! be parsed ends the command with exit code 2 before anything is opened, with a message
//! naming the option and listing every form. Each instrument is chosen on its own; those not given
//! are simulated, and the run records where each one was (parameter `instruments`) and
//! how it identified itself. An instrument that cannot be opened, or does not identify
//! itself within [`IDENTIFY_TIMEOUT`], stops the command before anything is stored, with
//! a [`ConnectError`] naming the instrument and its address (exit code 1).
//!
//! The front ends check their arguments with the same functions, before anything starts
//! ([`parse_points`], [`store_folder`], [`output_file`], [`serve_address`]): a number of
//! points that is not a whole number from 1 to 10,000, a `--out` that is a file or a
//! folder that cannot be written, a `--trace` whose folder does not exist or cannot be
//! written end the command with exit code 2 and a message naming the argument, before any
//! instrument is opened.
//!
//! ## Experiments from files: stations and plans
//!
//! A [`Station`] names a lab's instruments (driver, address or simulator, timeout,
//! settings, limits; see [`station`] for the file). [`Station::open`] opens
//! them on a scheduler, each on a one-slot queue that runs its commands in submission
//! order, and returns a [`Bench`]. A [`Plan`] says what to scan (list, linear, log axes;
//! grids, snake order; time series), what to measure at each point, which compute plugins
//! to run and what to store, and which monitors to log (see [`plan`]).
//! [`Plan::check`] refuses, with the line of the file, a plan that does not fit the
//! station; [`record_plan`] stores the plan, the station and the grid with a run, and
//! [`submit_plan`] submits the graph (written out step by step in
//! [`execute`]). [`StoredPoints`] tells what a run holds already, so that a run cut short is taken
//! up where it stopped without storing any point twice.
//!
//! ```
//! use smq_lab::{Plan, Station, StoredPoints, record_plan, submit_plan};
//!
//! let plan = Plan::parse(r#"
//! [scan]
//! [[scan.axis]]
//! instrument = "stage"
//! linear = { start = 0.0, stop = 4.0, points = 5 }
//! [[measure]]
//! name = "voltage"
//! instrument = "dmm"
//! read = "voltage"
//! units = "V"
//! "#, "plan.toml")?;
//! let station = Station::simulated();
//! plan.check(&station)?;
//! let bench = station.open(1, 2)?;
//! # let dir = tempfile::tempdir()?;
//! let store = smq_store::Store::create(dir.path())?;
//! let run = store.create_run("scan-1", &plan.experiment, serde_json::json!({}))?;
//! record_plan(&run, &plan, &bench, "")?;
//! let submitted = submit_plan(&plan, &bench, &run, &StoredPoints::none(&plan))?;
//! bench.sch.start();
//! bench.sch.wait();
//! let voltage = smq_lab::scalars_by_point(&run, "voltage", submitted.points)?;
//! assert_eq!(voltage.len(), 5);
//! assert!(StoredPoints::of(&run, &plan)?.complete(4));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! ## Run states
//!
//! A run is `running`, `complete`, `aborted`, `failed` or `unfinished` ([`RunStatus`]).
//! The end states are stored in the run (attribute `status`) when it ends; `smq demo`
//! ends with `run NAME complete` (or `aborted`), and `smq ls` and `smq show` print the
//! word the run stored, or, for a run without an end, `running` while the process writing
//! it is alive and `unfinished` once it is gone.
//!
//! ## Reproducible runs
//!
//! On the simulated instruments, every stored value is a function of the seed and of what
//! was asked (instrument, scan point, channel), never of the order in which the scheduler
//! happened to run the acquisitions, nor of the number of compute slots
//! (`--compute-slots`): the simulators key their noise by the request (see `smq_sim`),
//! and [`demo_scan`] takes each reading and waveform with the stage at rest at its point.
//! The same `--seed` and `--points` give the same arrays, element by element, once each
//! dataset is put in scan order by its `_point` dataset.
//!
//! ## Pausing and aborting
//!
//! During `smq demo`, in the spirit of Bluesky's RunEngine:
//!
//! 1. A first Ctrl-C pauses: no new task starts, the running ones finish (`pausing:`,
//!    printed once no task can start any more, then `paused:` listing them), and the
//!    command asks `resume or abort?`.
//! 2. The answer is read from standard input, a terminal or not: `r`, `resume` or an empty
//!    line resumes; `a` or `abort` aborts.
//! 3. A second Ctrl-C while paused aborts, and so does the end of standard input (nobody
//!    can answer).
//! 4. Aborting cancels the acquisitions not started and lets the processing and saving of
//!    every finished acquisition run ([`Lab::abort`]): nothing finished is lost. The run is
//!    closed with its end time, its task summary and the attribute `status: "aborted"`
//!    (`"complete"` otherwise, see [`RunStatus`]), and the command exits with code 130. A
//!    Ctrl-C while the finished results are being saved only says to wait.
//!
//! The protocol, step by step, is written beside [`Lab::pause`] and [`Lab::abort`] in the
//! `control` module's source.
//!
//! ## The demo scan
//!
//! The scan is defined here, once, so that other front ends (a dashboard, a test) submit
//! exactly the same graph:
//!
//! 1. [`Lab::open`] starts a [`SimLab`](smq_sim::SimLab) and opens its three instruments as
//!    devices of a scheduler (stage and multimeter over pseudo-terminals, scope over TCP),
//!    each on its own one-slot queue, plus a `compute` queue with two slots.
//!    [`Lab::connect`] does the same with instruments given by [`Addresses`].
//! 2. [`Lab::prepare`] homes the stage and configures the meter and the scope.
//! 3. [`demo_scan`] submits, for each position: a move that holds the stage, a multimeter
//!    reading after it, a scope waveform after the reading that releases the stage (so
//!    both are taken with the stage at rest at that position), a power spectrum of the
//!    waveform and its peak on the compute queue; positions, readings, waveforms and peaks
//!    are marked for saving into the run.
//!
//! ```no_run
//! use smq_lab::{Lab, demo_scan, default_positions};
//! use smq_store::Store;
//!
//! let lab = Lab::open(1)?;
//! lab.sch.start();
//! lab.prepare()?;
//! let store = Store::create("runs")?;
//! let run = store.create_run("demo-1", "demo", serde_json::json!({}))?;
//! let scan = demo_scan(&lab, &run, &default_positions(21))?;
//! lab.sch.wait();
//! let (x, v) = scan.max_signal().expect("some reading");
//! println!("maximum {v} V at {x} mm");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod args;
mod control;
mod error;
pub mod execute;
mod lab;
pub mod plan;
mod report;
mod scan;
pub mod station;
mod status;
mod stored;

pub use crate::args::{MAX_POINTS, output_file, parse_points, serve_address, store_folder};
pub use crate::control::{AbortReport, RunControl};
pub use crate::error::Error;
pub use crate::execute::{
    StoredPoints, Submitted, Values, attributes, by_point, record_plan, scalars_by_point,
    submit_plan,
};
pub use crate::lab::{
    Addresses, CHANNEL, COMPUTE_SLOTS, ConnectError, IDENTIFY_TIMEOUT, Lab, MOTION_TIMEOUT,
};
pub use crate::plan::{
    Axis, AxisPoints, Linear, Log, Measure, Plan, PlanError, Points, ScanSpec, Step,
};
pub use crate::report::{DagSummary, chrome_trace, dag_summary, state_counts, state_name};
pub use crate::scan::{DemoHandles, Peak, datasets, default_positions, demo_scan, spectrum_peak};
pub use crate::station::{
    Bench, Driver, InstrumentEntry, InstrumentRecord, Settings, Station, StationDevice,
    StationError, StationRecord,
};
pub use crate::status::{CloseError, RunStatus, UnknownStatus};
pub use crate::stored::{Map2d, StoredDataset, StoredError, StoredRun};
pub use smq_instrument::{ADDRESS_FORMS, Address, AddressError};
