//! # smq-cluster — processing queues whose slots are Slurm jobs
//!
//! A lab script moves a processing step off the acquisition PC by submitting it to another
//! queue: a [`ClusterQueue`] is an ordinary smqsched queue with `jobs` slots, so the
//! scheduler decides its starts exactly as for a local queue (the same newest-first order,
//! the same dependencies); each started task runs as one Slurm batch job.
//!
//! ## A first script
//!
//! ```no_run
//! use smq_cluster::{POWER_SPECTRUM, SlurmSlots, cluster_queue};
//! use std::time::Duration;
//!
//! let sch = smqsched::Scheduler::new();
//! let scope = sch.queue("scope", 1)?;
//! let fft = cluster_queue(&sch, "fft", SlurmSlots {
//!     partition: Some("short".into()),
//!     time_limit: Some(Duration::from_secs(5 * 60)),
//!     ..SlurmSlots::new(8, "/shared/runs/run-001/cluster")
//! })?;
//!
//! let mut spectra = Vec::new();
//! for _ in 0..100 {
//!     let trace = scope.submit((), |()| ndarray::Array1::<f64>::zeros(1 << 20));
//!     spectra.push(fft.submit(&POWER_SPECTRUM, &trace)?); // instead of a local queue
//! }
//! sch.start();
//! for s in &spectra {
//!     match s.result() {
//!         Ok(power) => println!("{} bins", power.len()),
//!         Err(e) => eprintln!("{e}"), // a Slurm job's failure, naming the job
//!     }
//! }
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! ## The pieces
//!
//! * [`Function`]: a processing step registered by name, from a serde-serializable input
//!   to a serializable output (`ndarray` arrays included). [`Function::call`] runs it here;
//!   a [`Registry`] maps names to functions for the worker. Built in: [`POWER_SPECTRUM`]
//!   (the FFT step of `smq-compute`) and [`SLEEP`] (for checking a setup).
//! * [`worker_main`]: what a job runs. `smq worker TASK_FILE` calls it with
//!   [`Registry::builtin`]; a program of your own with functions of its own does the same
//!   with its registry, and names itself in [`SlurmSlots::worker`].
//! * [`cluster_queue`] and [`SlurmSlots`]: the queue and its settings (jobs at once,
//!   exchange folder, partition, time limit, memory, CPUs, more `sbatch` options).
//! * [`ClusterQueue::submit`]: takes promises, items, streams or tuples of them, like
//!   [`smqsched::Queue::submit`]; their values are serialized where they are stored, and the
//!   compiler checks that they fit the function's input ([`SerializeAs`]).
//! * Progress: [`ClusterQueue::jobs`] gives each unfinished task's job id and state
//!   (pending, running); each task's status in the scheduler's snapshots says the same
//!   (`slurm job 57 RUNNING`, [`Scheduler::set_status`](smqsched::Scheduler::set_status)),
//!   which the dashboard shows; [`list_jobs`] lists the jobs of all cluster queues, which
//!   `smq cluster status` prints.
//! * Stopping: [`ClusterQueue::cancel_all`], or dropping the queue, cancels its jobs
//!   (`scancel`); tasks not yet started then fail without submitting.
//!
//! ## How a task travels
//!
//! Inputs and results go through a folder both sides see, one folder per task under
//! `SlurmSlots::dir`, every file written atomically (see [`write_atomic`]): the queue writes
//! `task.json` and `job.sh`, submits `sbatch job.sh`, the worker writes `result.json`. The
//! format is JSON (`serde_json` with exact `f64` round trips): results are bit for bit
//! those of a local run.
//!
//! ## Failures stay local, and typed
//!
//! A task whose job is cancelled, times out, runs out of memory or loses its node fails with
//! a [`ClusterError`] naming the job id ([`ClusterError::job`]); the task's promise holds it
//! as [`smqsched::TaskError::FailedWith`], so `err.downcast_ref::<ClusterError>()` gives it
//! back to match on. A function's own error comes back as [`ClusterError::Function`]. Other
//! tasks go on. A failed task's folder is kept, with the job's output in `slurm.out`.
//!
//! ## Why `sbatch` per task rather than `srun` steps in a held allocation
//!
//! Both were measured on the single-node Slurm of the tests (`BENCHMARKS.md`, "Processing
//! on a Slurm queue"): a task run as an `srun` step inside an allocation the queue would
//! hold cost 0.19 s more than on a local queue, a task run as a batch job 1.06 s (Slurm
//! starts batch jobs in its scheduling pass, about 1 s after `sbatch`). The queue still
//! submits one batch job per task, because:
//!
//! * each task's end is a job state that Slurm reports itself (`CANCELLED`, `TIMEOUT`,
//!   `OUT_OF_MEMORY`, `NODE_FAIL`) through `squeue` and `scontrol`, without an accounting
//!   database; a step's end state is kept only by accounting (`sacct`), and otherwise has
//!   to be guessed from `srun`'s exit code and messages;
//! * no allocation is held while the queue has nothing to do, and each task waits its turn
//!   in the cluster's own fair-share order, as cluster administrators expect;
//! * the cost, about 1 s per task, is small against the steps worth sending to a cluster
//!   (seconds and more; see the break-even in `BENCHMARKS.md`).
//!
//! ## The protocol and its invariants
//!
//! The task bodies, the queue's monitor thread (one `squeue` call per poll interval for
//! all the queue's jobs) and `cancel_all` follow the numbered protocol written at the top of
//! `src/slurm.rs`; the file protocol is described at the top of `src/protocol.rs`.
//!
//! ## How it is checked
//!
//! Unit tests cover the file protocol, the registry and the parsing of Slurm's output
//! without Slurm. `apps/smq/tests/cluster.rs` submits real jobs running `smq worker` to
//! the Slurm of the machine (`.ci/slurm/start` sets up a single-node one): results equal to
//! a local run, a job killed with `scancel` fails only its task, stopping the queue leaves
//! `squeue` empty, a job past its time limit fails with a timeout, a job over its memory
//! fails out of memory. A node failure is mapped from Slurm's `NODE_FAIL` state but not
//! provoked by the tests. Without Slurm they are
//! skipped with a message, unless `SMQ_REQUIRE_SLURM=1` (set in CI) makes them fail.
//!
//! ## Why these dependencies
//!
//! * `serde` and `serde_json` (with `float_roundtrip`, so that every `f64` comes back
//!   bit for bit): the task and result files, readable by hand when a job fails.
//! * `ndarray` with its `serde` feature: arrays as function inputs and outputs.
//! * `smq-compute`: the built-in FFT step.
//! * `thiserror`: the error types.

mod error;
mod function;
mod protocol;
mod slurm;

pub use crate::error::{ClusterError, RunError, WorkerError};
pub use crate::function::{
    COMPUTE_PLUGIN, Function, POWER_SPECTRUM, PluginCall, Registry, SLEEP, SerializeAs,
};
pub use crate::protocol::{RESULT_FILE, TASK_FILE, worker_main, write_atomic};
pub use crate::slurm::{
    ClusterQueue, JobId, JobState, JobStatus, ListedJob, SlurmSlots, cluster_queue, list_jobs,
};
