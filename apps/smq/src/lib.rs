//! # smq-cli — the `smq` command and the demo scan it runs
//!
//! The `smq` binary drives a lab of three instruments (a motion stage, a multimeter and an
//! oscilloscope) through the scheduler and stores what it measures with `smq-store`. Each
//! instrument is the simulator of `smq-sim` unless given by address:
//!
//! ```text
//! smq demo [--points N] [--out DIR] [--seed S] [--trace FILE] [--plain]
//!          [--commit-every INTERVAL] [--stage ADDRESS] [--dmm ADDRESS] [--scope ADDRESS]
//!                                                run the demo scan, store it under DIR
//! smq sim  [--seed S]                            serve the simulated instruments until Ctrl-C
//! smq ls   [--out DIR]                           list the stored runs
//! smq show RUN [--out DIR]                       metadata, datasets and task counts of a run
//! ```
//!
//! An [`Address`] is a serial port (`/dev/ttyUSB0`, `serial:PATH`) or a TCP socket
//! (`HOST:PORT`, `tcp:HOST:PORT`). Each instrument is chosen on its own; those not given
//! are simulated, and the run records where each one was (parameter `instruments`) and
//! how it identified itself. An instrument that cannot be opened, or does not identify
//! itself within [`IDENTIFY_TIMEOUT`], stops the command before anything is stored, with
//! a [`ConnectError`] naming the instrument and its address (exit code 1).
//!
//! `--plain` replaces the progress bars by one line per task of the scan as it ends
//! (`done LABEL`, `failed LABEL: ERROR`) and puts the messages about the run on standard
//! output too, for logs, CI and scripts that drive the command.
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
//!    (`"complete"` otherwise), and the command exits with code 130. A Ctrl-C while the
//!    finished results are being saved only says to wait.
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
//!    reading after it, a scope waveform that releases the stage, a power spectrum of the
//!    waveform and its peak on the compute queue; positions, readings, waveforms and peaks
//!    are marked for saving into the run.
//!
//! ```no_run
//! use smq_cli::{Lab, demo_scan, default_positions};
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
//! # Ok::<(), smq_cli::Error>(())
//! ```

mod control;
mod lab;
mod report;
mod scan;

pub use crate::control::AbortReport;
pub use crate::lab::{
    Address, AddressError, Addresses, CHANNEL, ConnectError, IDENTIFY_TIMEOUT, Lab, MOTION_TIMEOUT,
};
pub use crate::report::{chrome_trace, dag_summary, state_name};
pub use crate::scan::{DemoHandles, Peak, datasets, default_positions, demo_scan, spectrum_peak};

/// Error of the demo: a message naming what failed.
pub type Error = Box<dyn std::error::Error + Send + Sync>;
