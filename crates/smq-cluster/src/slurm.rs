//! The Slurm queue: a scheduler queue whose task bodies each run one Slurm batch job.
//!
//! # The protocol between task bodies, the monitor thread and `cancel_all`
//!
//! State under one mutex: `stopping` (set once, never cleared), `closed` (the
//! [`ClusterQueue`] handle is gone), and `jobs`, the submitted jobs not yet seen ending,
//! each with the sender that reports its end to the body waiting for it.
//!
//! 1. A task body writes its task folder, then, under the lock, returns
//!    [`ClusterError::Stopped`] if `stopping` is set.
//! 2. Otherwise it runs `sbatch` (lock released) and, under the lock again, records the job
//!    in `jobs`, waking the monitor if `jobs` was empty. If `stopping` was set meanwhile, it runs `scancel` on
//!    its own job after recording it.
//! 3. The body blocks on its receiver until the monitor reports the job's end.
//! 4. The monitor sleeps while `jobs` is empty; otherwise, every poll interval, it asks
//!    `squeue` for all jobs of this queue (by job name) and, under the lock, updates their
//!    states; a job in an end state is removed from `jobs` and its end sent. A job that
//!    `squeue` no longer lists is asked of `scontrol` (its end, or that Slurm forgot it).
//!    If Slurm cannot be asked for longer than `slurm_timeout`, every tracked job ends with
//!    [`ClusterError::Slurm`] (after an attempt to cancel it), so no body waits forever.
//! 5. [`ClusterQueue::cancel_all`] sets `stopping` under the lock, takes the ids in `jobs`,
//!    and runs `scancel` on them (lock released). Their bodies get the `CANCELLED` end
//!    through step 4. Dropping the handle does the same and sets `closed`; the monitor exits
//!    once `closed` is set and `jobs` is empty.
//!
//! Invariants: every job id a body obtains from `sbatch` is either recorded before
//! `stopping` was set, and so cancelled by `cancel_all`, or recorded after, and so
//! cancelled by its own body (step 2): a stopped queue leaves no job behind. Each recorded
//! job's end is sent exactly once, by the monitor, which removes the job as it sends.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::fmt;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::str::FromStr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, OnceLock};
use std::time::{Duration, Instant};

use serde::Serialize;
use serde::de::DeserializeOwned;
use smqsched::{Input, IntoInputs, Promise, Queue, Scheduler, SubmitError, TaskId};

use crate::error::ClusterError;
use crate::function::{Function, SerializeAs};
use crate::protocol::{
    Outcome, RESULT_FILE, ResultFile, TASK_FILE, TaskFile, VERSION, write_atomic,
};

/// A Slurm job id.
///
/// # Examples
///
/// ```
/// use smq_cluster::JobId;
/// let id: JobId = "1234".parse()?;
/// assert_eq!(id, JobId::from(1234));
/// assert_eq!(id.to_string(), "1234");
/// # Ok::<(), std::num::ParseIntError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct JobId(pub u64);

impl From<u64> for JobId {
    fn from(id: u64) -> Self {
        JobId(id)
    }
}

impl fmt::Display for JobId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl FromStr for JobId {
    type Err = std::num::ParseIntError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        s.trim().parse().map(JobId)
    }
}

/// A Slurm job's state, as `squeue` and `scontrol` name it.
///
/// # Examples
///
/// ```
/// use smq_cluster::JobState;
/// assert_eq!(JobState::parse("RUNNING"), JobState::Running);
/// assert_eq!(JobState::parse("OUT_OF_MEMORY"), JobState::OutOfMemory);
/// assert!(JobState::parse("TIMEOUT").is_end());
/// assert!(!JobState::parse("PENDING").is_end());
/// assert_eq!(JobState::parse("SPECIAL_EXIT").to_string(), "SPECIAL_EXIT");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum JobState {
    /// Waiting for resources.
    Pending,
    /// Running.
    Running,
    /// Ending: processes are being stopped.
    Completing,
    /// Suspended.
    Suspended,
    /// Ended with exit code 0.
    Completed,
    /// Ended with a non-zero exit code.
    Failed,
    /// Cancelled.
    Cancelled,
    /// Ended by its time limit.
    Timeout,
    /// Ended for using more memory than it asked.
    OutOfMemory,
    /// Its node failed.
    NodeFail,
    /// Preempted by another job.
    Preempted,
    /// Another state word; an end state unless it is one of Slurm's passing states
    /// (`CONFIGURING`, `REQUEUED`, `RESIZING`, `SIGNALING`, `STAGE_OUT`, `STOPPED`, ...).
    Other(String),
}

impl JobState {
    /// The state named by `word` (as printed by `squeue -o %T` or `scontrol`'s `JobState=`).
    pub fn parse(word: &str) -> JobState {
        match word.trim() {
            "PENDING" => JobState::Pending,
            "RUNNING" => JobState::Running,
            "COMPLETING" => JobState::Completing,
            "SUSPENDED" => JobState::Suspended,
            "COMPLETED" => JobState::Completed,
            "FAILED" => JobState::Failed,
            "CANCELLED" => JobState::Cancelled,
            "TIMEOUT" => JobState::Timeout,
            "OUT_OF_MEMORY" => JobState::OutOfMemory,
            "NODE_FAIL" => JobState::NodeFail,
            "PREEMPTED" => JobState::Preempted,
            other => JobState::Other(other.to_owned()),
        }
    }

    /// Whether the job has ended (it will not run again: jobs are submitted with
    /// `--no-requeue`).
    pub fn is_end(&self) -> bool {
        match self {
            JobState::Pending | JobState::Running | JobState::Completing | JobState::Suspended => {
                false
            }
            JobState::Other(w) => matches!(
                w.as_str(),
                "BOOT_FAIL" | "DEADLINE" | "REVOKED" | "SPECIAL_EXIT"
            ),
            _ => true,
        }
    }
}

impl fmt::Display for JobState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            JobState::Pending => "PENDING",
            JobState::Running => "RUNNING",
            JobState::Completing => "COMPLETING",
            JobState::Suspended => "SUSPENDED",
            JobState::Completed => "COMPLETED",
            JobState::Failed => "FAILED",
            JobState::Cancelled => "CANCELLED",
            JobState::Timeout => "TIMEOUT",
            JobState::OutOfMemory => "OUT_OF_MEMORY",
            JobState::NodeFail => "NODE_FAIL",
            JobState::Preempted => "PREEMPTED",
            JobState::Other(w) => w,
        })
    }
}

/// The settings of a Slurm queue: how many jobs at once, where, and with what limits.
///
/// Build it with [`SlurmSlots::new`] and change fields with struct update syntax.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use smq_cluster::SlurmSlots;
///
/// let slots = SlurmSlots {
///     partition: Some("short".into()),
///     time_limit: Some(Duration::from_secs(10 * 60)),
///     mem_mb: Some(2048),
///     ..SlurmSlots::new(8, "/shared/runs/run-001/cluster")
/// };
/// assert_eq!(slots.jobs, 8);
/// ```
#[derive(Debug, Clone)]
pub struct SlurmSlots {
    /// Jobs in flight at once: the scheduler queue's slots (1 to [`smqsched::MAX_SLOTS`]).
    pub jobs: usize,
    /// The exchange folder, seen by this machine and the nodes at the same path (a folder
    /// of the run's store folder on a shared file system). Created if missing.
    pub dir: PathBuf,
    /// The partition (`--partition`); the cluster's default if `None`.
    pub partition: Option<String>,
    /// The time limit of each job (`--time`), rounded up to whole minutes (Slurm's unit);
    /// the partition's default if `None`.
    pub time_limit: Option<Duration>,
    /// Memory per job in MiB (`--mem`); the partition's default if `None`.
    pub mem_mb: Option<u64>,
    /// CPUs per job (`--cpus-per-task`).
    pub cpus_per_task: u32,
    /// The worker command: a program and its first arguments, to which the task file's path
    /// is appended. The default is this program with the argument `worker`, that is
    /// `smq worker` when the program is `smq`. The program must exist at this path on the
    /// nodes.
    pub worker: Vec<OsString>,
    /// More `sbatch` options, such as `--account=lab` or `--qos=short`.
    pub sbatch_args: Vec<String>,
    /// How often `squeue` is asked for the states of the queue's jobs (one call per queue
    /// per interval, whatever the number of jobs).
    pub poll_interval: Duration,
    /// How long Slurm may fail to answer before the queue's jobs are given up (their tasks
    /// fail with [`ClusterError::Slurm`]).
    pub slurm_timeout: Duration,
    /// Keep each task's folder after success (failed tasks' folders are always kept, with
    /// the job's output in `slurm.out`).
    pub keep_files: bool,
}

impl SlurmSlots {
    /// `jobs` slots exchanging files through `dir`, with the cluster's defaults: 1 CPU per
    /// job, the worker `<this program> worker`, `squeue` every 250 ms, 60 s of patience
    /// with Slurm.
    pub fn new(jobs: usize, dir: impl Into<PathBuf>) -> Self {
        let worker = match std::env::current_exe() {
            Ok(exe) => vec![exe.into_os_string(), OsString::from("worker")],
            Err(_) => Vec::new(),
        };
        Self {
            jobs,
            dir: dir.into(),
            partition: None,
            time_limit: None,
            mem_mb: None,
            cpus_per_task: 1,
            worker,
            sbatch_args: Vec::new(),
            poll_interval: Duration::from_millis(250),
            slurm_timeout: Duration::from_secs(60),
            keep_files: false,
        }
    }

    /// The `sbatch` options for these settings (without the per-task ones).
    fn sbatch_options(&self) -> Result<Vec<String>, ClusterError> {
        let mut args = vec![
            "--parsable".to_owned(),
            "--ntasks=1".to_owned(),
            "--no-requeue".to_owned(),
            format!("--cpus-per-task={}", self.cpus_per_task),
        ];
        if let Some(p) = &self.partition {
            args.push(format!("--partition={p}"));
        }
        if let Some(t) = self.time_limit {
            args.push(format!("--time={}", time_limit_minutes(t)?));
        }
        if let Some(m) = self.mem_mb {
            args.push(format!("--mem={m}M"));
        }
        args.extend(self.sbatch_args.iter().cloned());
        Ok(args)
    }

    fn check(&self) -> Result<(), ClusterError> {
        if self.jobs == 0 || self.jobs > smqsched::MAX_SLOTS {
            return Err(ClusterError::Config(format!(
                "jobs = {}: give 1 to {}",
                self.jobs,
                smqsched::MAX_SLOTS
            )));
        }
        if self.cpus_per_task == 0 {
            return Err(ClusterError::Config(
                "cpus_per_task = 0: give at least 1".into(),
            ));
        }
        if self.mem_mb == Some(0) {
            return Err(ClusterError::Config(
                "mem_mb = 0: give at least 1 MiB".into(),
            ));
        }
        if self.worker.is_empty() {
            return Err(ClusterError::Config(
                "no worker command (the path of this program is unknown): set `worker`".into(),
            ));
        }
        if self.poll_interval.is_zero() {
            return Err(ClusterError::Config(
                "poll_interval = 0: give a positive interval".into(),
            ));
        }
        self.sbatch_options().map(|_| ())
    }
}

/// Slurm's `--time` in whole minutes, rounded up.
fn time_limit_minutes(t: Duration) -> Result<u64, ClusterError> {
    if t.is_zero() {
        return Err(ClusterError::Config(
            "time_limit = 0 (Slurm reads it as no limit): give at least 1 s, or None".into(),
        ));
    }
    let secs = t.as_secs() + u64::from(t.subsec_nanos() > 0);
    Ok(secs.div_ceil(60).max(1))
}

/// Quote `s` for `/bin/sh` (single quotes; an embedded `'` as `'\''`).
fn sh_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// The progress of one task of a cluster queue: its job and the job's state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobStatus {
    /// The Slurm job.
    pub job: JobId,
    /// The scheduler task that submitted it (`None` for a moment after submission).
    pub task: Option<TaskId>,
    /// The task's label.
    pub label: String,
    /// The job's state as last seen by the queue's monitor (`PENDING` until its first poll).
    pub state: JobState,
    /// Slurm's reason for the state (`Resources`, `Priority`, `None`, ...).
    pub reason: String,
}

/// How a job ended, as the monitor saw it.
#[derive(Debug)]
struct JobEnd {
    state: JobState,
    exit_code: Option<String>,
}

struct Tracked {
    label: Arc<str>,
    task: Arc<OnceLock<TaskId>>,
    state: JobState,
    reason: String,
    done: mpsc::Sender<Result<JobEnd, ClusterError>>,
}

#[derive(Default)]
struct State {
    stopping: bool,
    closed: bool,
    jobs: BTreeMap<JobId, Tracked>,
}

struct Inner {
    /// The scheduler, told each task's job state (`Scheduler::set_status`).
    sch: Scheduler,
    queue_name: String,
    job_name: String,
    dir: PathBuf,
    slots: SlurmSlots,
    sbatch: Vec<String>,
    next: AtomicU64,
    state: Mutex<State>,
    wake: Condvar,
}

static INSTANCES: AtomicU64 = AtomicU64::new(0);

/// A queue of a [`Scheduler`] whose task bodies each run as one Slurm job. The scheduler
/// decides starts exactly as for a local queue with `jobs` slots (the same newest-first
/// order); a started task writes its input to the exchange folder, submits a batch job
/// running the worker on it (`sbatch`), waits for the job's end, and reads the result.
///
/// Dropping the handle stops the queue: [`cancel_all`](Self::cancel_all).
///
/// # Examples
///
/// Without Slurm on the machine, a task fails with a typed error and nothing else happens:
///
/// ```
/// use smq_cluster::{ClusterError, SlurmSlots, cluster_queue, SLEEP};
///
/// let sch = smqsched::Scheduler::new();
/// let dir = tempfile::tempdir()?;
/// let slots = SlurmSlots { sbatch_args: vec!["--no-such-option".into()], ..SlurmSlots::new(2, dir.path()) };
/// let cq = cluster_queue(&sch, "cluster", slots)?;
/// let nap = cq.submit_value(&SLEEP, 0.0)?;
/// sch.start();
/// let err = nap.result().unwrap_err();
/// assert!(matches!(err.downcast_ref::<ClusterError>(), Some(ClusterError::Slurm { .. })));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct ClusterQueue {
    queue: Queue,
    inner: Arc<Inner>,
}

impl fmt::Debug for ClusterQueue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClusterQueue")
            .field("queue", &self.inner.queue_name)
            .field("job_name", &self.inner.job_name)
            .finish()
    }
}

/// Creates a queue `name` on `sch` whose `slots.jobs` slots are Slurm jobs; see
/// [`ClusterQueue`].
///
/// # Errors
///
/// [`ClusterError::Config`] for unusable settings, [`ClusterError::File`] if the exchange
/// folder cannot be created, [`ClusterError::Queue`] if the scheduler refuses the queue
/// (a name in use).
///
/// # Examples
///
/// ```
/// let sch = smqsched::Scheduler::new();
/// let dir = tempfile::tempdir()?;
/// let cq = smq_cluster::cluster_queue(&sch, "fft", smq_cluster::SlurmSlots::new(8, dir.path()))?;
/// assert_eq!(cq.queue().name(), "fft");
/// assert!(cq.job_name().starts_with("smq-fft-"));
/// assert!(smq_cluster::cluster_queue(&sch, "bad", smq_cluster::SlurmSlots::new(0, dir.path())).is_err());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn cluster_queue(
    sch: &Scheduler,
    name: &str,
    slots: SlurmSlots,
) -> Result<ClusterQueue, ClusterError> {
    slots.check()?;
    let sbatch = slots.sbatch_options()?;
    let safe: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let instance = INSTANCES.fetch_add(1, Ordering::Relaxed);
    let job_name = format!("smq-{safe}-{}-{instance}", std::process::id());
    let file_error = |path: &Path, e: std::io::Error| ClusterError::File {
        path: path.to_owned(),
        message: e.to_string(),
    };
    fs::create_dir_all(&slots.dir).map_err(|e| file_error(&slots.dir, e))?;
    let root = fs::canonicalize(&slots.dir).map_err(|e| file_error(&slots.dir, e))?;
    let dir = root.join(&job_name);
    fs::create_dir_all(&dir).map_err(|e| file_error(&dir, e))?;
    let queue = sch.queue(name, slots.jobs)?;
    let inner = Arc::new(Inner {
        sch: sch.clone(),
        queue_name: name.to_owned(),
        job_name,
        dir,
        slots,
        sbatch,
        next: AtomicU64::new(0),
        state: Mutex::new(State::default()),
        wake: Condvar::new(),
    });
    let monitor = Arc::clone(&inner);
    std::thread::Builder::new()
        .name(format!("smq-cluster-{name}"))
        .spawn(move || monitor.monitor())
        .map_err(|e| ClusterError::Config(format!("cannot start the monitor thread: {e}")))?;
    Ok(ClusterQueue { queue, inner })
}

impl ClusterQueue {
    /// The scheduler queue (for snapshots, or tasks of your own that should count against
    /// its slots).
    pub fn queue(&self) -> &Queue {
        &self.queue
    }

    /// The Slurm job name shared by this queue's jobs (`squeue --name=...` lists them).
    pub fn job_name(&self) -> &str {
        &self.inner.job_name
    }

    /// The folder of this queue's task folders in the exchange folder.
    pub fn dir(&self) -> &Path {
        &self.inner.dir
    }

    /// Submits `function` on `inputs`: promises, items, streams, vectors or tuples of them,
    /// as for [`Queue::submit`]. Their values are serialized where they are stored, in the
    /// form of `I` (see [`SerializeAs`]). The promise gives the function's output, or a
    /// [`ClusterError`] as [`smqsched::TaskError::FailedWith`].
    ///
    /// # Errors
    ///
    /// [`SubmitError`] as for [`smqsched::TaskBuilder::submit`].
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # let sch = smqsched::Scheduler::new();
    /// # let local = sch.queue("acq", 1)?;
    /// # let cq = smq_cluster::cluster_queue(&sch, "fft", smq_cluster::SlurmSlots::new(8, "/shared/x"))?;
    /// let frame = local.submit((), |()| ndarray::Array1::<f64>::ones(1024));
    /// let spectrum = cq.submit(&smq_cluster::POWER_SPECTRUM, &frame)?;
    /// sch.start();
    /// println!("{}", spectrum.result()?.len());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn submit<In, I, O>(
        &self,
        function: &Function<I, O>,
        inputs: In,
    ) -> Result<Promise<O>, SubmitError>
    where
        In: IntoInputs,
        for<'a> <In::Input as Input>::Ref<'a>: SerializeAs<I>,
        O: DeserializeOwned + Send + Sync + 'static,
    {
        self.submit_labelled(function.name(), function, inputs)
    }

    /// As [`submit`](Self::submit), with a label for the task (shown in snapshots, errors
    /// and [`jobs`](Self::jobs)).
    ///
    /// # Errors
    ///
    /// As [`submit`](Self::submit).
    pub fn submit_labelled<In, I, O>(
        &self,
        label: &str,
        function: &Function<I, O>,
        inputs: In,
    ) -> Result<Promise<O>, SubmitError>
    where
        In: IntoInputs,
        for<'a> <In::Input as Input>::Ref<'a>: SerializeAs<I>,
        O: DeserializeOwned + Send + Sync + 'static,
    {
        let inner = Arc::clone(&self.inner);
        let name = function.name();
        let label: Arc<str> = Arc::from(label);
        let task = Arc::new(OnceLock::new());
        let body_task = Arc::clone(&task);
        let body_label = Arc::clone(&label);
        let promise = self
            .queue
            .task()
            .label(Arc::clone(&label))
            .submit_fallible(inputs, move |args| -> Result<O, ClusterError> {
                inner.call(name, serde_json::to_value(&args), body_label, body_task)
            })?;
        let _ = task.set(promise.id());
        Ok(promise)
    }

    /// Submits `function` on a plain value (no dependency).
    ///
    /// # Errors
    ///
    /// As [`submit`](Self::submit).
    pub fn submit_value<I, O>(
        &self,
        function: &Function<I, O>,
        input: I,
    ) -> Result<Promise<O>, SubmitError>
    where
        I: Serialize + Send + 'static,
        O: DeserializeOwned + Send + Sync + 'static,
    {
        let inner = Arc::clone(&self.inner);
        let name = function.name();
        let label: Arc<str> = Arc::from(name);
        let task = Arc::new(OnceLock::new());
        let body_task = Arc::clone(&task);
        let body_label = Arc::clone(&label);
        let promise = self.queue.task().label(label).submit_fallible(
            (),
            move |()| -> Result<O, ClusterError> {
                inner.call(name, serde_json::to_value(&input), body_label, body_task)
            },
        )?;
        let _ = task.set(promise.id());
        Ok(promise)
    }

    /// The jobs of this queue that have not ended, with their states as last polled,
    /// oldest job first.
    ///
    /// # Examples
    ///
    /// ```
    /// let sch = smqsched::Scheduler::new();
    /// let dir = tempfile::tempdir()?;
    /// let cq = smq_cluster::cluster_queue(&sch, "fft", smq_cluster::SlurmSlots::new(2, dir.path()))?;
    /// assert!(cq.jobs().is_empty());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn jobs(&self) -> Vec<JobStatus> {
        let state = self.inner.lock();
        state
            .jobs
            .iter()
            .map(|(job, t)| JobStatus {
                job: *job,
                task: t.task.get().copied(),
                label: t.label.to_string(),
                state: t.state.clone(),
                reason: t.reason.clone(),
            })
            .collect()
    }

    /// Stops the queue: cancels every job it has submitted that has not ended (`scancel`),
    /// and makes every later start of its tasks fail with [`ClusterError::Stopped`] instead
    /// of submitting. Tasks whose jobs are cancelled fail with [`ClusterError::Cancelled`].
    /// Returns how many jobs were cancelled.
    ///
    /// # Errors
    ///
    /// [`ClusterError::Slurm`] if `scancel` fails.
    ///
    /// # Examples
    ///
    /// ```
    /// let sch = smqsched::Scheduler::new();
    /// let dir = tempfile::tempdir()?;
    /// let cq = smq_cluster::cluster_queue(&sch, "fft", smq_cluster::SlurmSlots::new(2, dir.path()))?;
    /// assert_eq!(cq.cancel_all()?, 0);
    /// let later = cq.submit_value(&smq_cluster::SLEEP, 0.0)?;
    /// sch.start();
    /// let err = later.result().unwrap_err();
    /// assert!(matches!(
    ///     err.downcast_ref::<smq_cluster::ClusterError>(),
    ///     Some(smq_cluster::ClusterError::Stopped { .. })
    /// ));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn cancel_all(&self) -> Result<usize, ClusterError> {
        self.inner.cancel_all()
    }
}

impl Drop for ClusterQueue {
    fn drop(&mut self) {
        let _ = self.inner.cancel_all();
        self.inner.lock().closed = true;
        self.inner.wake.notify_all();
    }
}

/// Runs a Slurm command, returning its standard output, or its error output as a
/// [`ClusterError::Slurm`].
fn slurm_command(program: &str, args: &[String]) -> Result<String, ClusterError> {
    let command = format!("{program} {}", args.join(" "));
    let out = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| ClusterError::Slurm {
            command: command.clone(),
            message: if e.kind() == std::io::ErrorKind::NotFound {
                format!("{program} is not on the PATH (is Slurm installed on this machine?)")
            } else {
                e.to_string()
            },
        })?;
    if !out.status.success() {
        return Err(ClusterError::Slurm {
            command,
            message: format!(
                "{} ({})",
                String::from_utf8_lossy(&out.stderr).trim(),
                out.status
            ),
        });
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// One line of `squeue -o %i|%T|%r`.
fn parse_squeue(out: &str) -> BTreeMap<JobId, (JobState, String)> {
    out.lines()
        .filter_map(|line| {
            let mut parts = line.trim().splitn(3, '|');
            let id = parts.next()?.parse().ok()?;
            let state = JobState::parse(parts.next()?);
            let reason = parts.next().unwrap_or("").to_owned();
            Some((id, (state, reason)))
        })
        .collect()
}

/// `KEY=value` from one line of `scontrol show job -o`.
fn scontrol_field<'a>(line: &'a str, key: &str) -> Option<&'a str> {
    line.split_whitespace()
        .find_map(|kv| kv.strip_prefix(key)?.strip_prefix('='))
}

/// A job's state and exit code from `scontrol`; `Ok(None)` if Slurm no longer knows it.
fn scontrol_job(job: JobId) -> Result<Option<(JobState, String)>, ClusterError> {
    match slurm_command(
        "scontrol",
        &["show".into(), "job".into(), "-o".into(), job.to_string()],
    ) {
        Ok(out) => Ok(out.lines().next().and_then(|line| {
            let state = JobState::parse(scontrol_field(line, "JobState")?);
            let exit = scontrol_field(line, "ExitCode").unwrap_or("?").to_owned();
            Some((state, exit))
        })),
        Err(ClusterError::Slurm { message, .. }) if message.contains("Invalid job id") => Ok(None),
        Err(e) => Err(e),
    }
}

/// Whether a job's output says that Slurm killed it for its memory. Without cgroups
/// (`JobAcctGatherParams=OverMemoryKill`), such a job ends `FAILED`, not `OUT_OF_MEMORY`,
/// and only its output, written by `slurmstepd`, tells why.
fn killed_for_memory(log: &str) -> bool {
    log.contains("Exceeded job memory limit")
        || log.contains("exceeded memory limit")
        || log.contains("oom-kill event")
        || log.contains("oom_kill event")
}

/// The last `lines` lines of a file, or a note that it cannot be read.
fn tail(path: &Path, lines: usize) -> String {
    match fs::read(path) {
        Ok(bytes) => {
            let text = String::from_utf8_lossy(&bytes);
            let all: Vec<&str> = text.lines().collect();
            let start = all.len().saturating_sub(lines);
            let s = all[start..].join(" | ");
            if s.is_empty() {
                "(no output)".to_owned()
            } else {
                s
            }
        }
        Err(e) => format!("(no output: {}: {e})", path.display()),
    }
}

impl Inner {
    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while the lock is held cannot leave the state half-changed (every change is
        // one insertion, removal or flag), so a poisoned lock is used as it is.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The body of a task of function `name` on the encoded `input`: [`run`](Self::run),
    /// then the result decoded as `O`.
    fn call<O: DeserializeOwned>(
        &self,
        name: &'static str,
        input: Result<serde_json::Value, serde_json::Error>,
        label: Arc<str>,
        task: Arc<OnceLock<TaskId>>,
    ) -> Result<O, ClusterError> {
        let input = input.map_err(|e| ClusterError::Codec {
            function: name.to_owned(),
            message: e.to_string(),
        })?;
        let (job, value) = self.run(name, input, label, task)?;
        serde_json::from_value(value).map_err(|e| ClusterError::Function {
            job,
            error: crate::RunError::Output {
                message: format!("the result does not decode: {e}"),
            },
        })
    }

    /// The body of a task: steps 1 to 3 of the protocol, then reading the result.
    fn run(
        &self,
        function: &str,
        input: serde_json::Value,
        label: Arc<str>,
        task: Arc<OnceLock<TaskId>>,
    ) -> Result<(JobId, serde_json::Value), ClusterError> {
        let file_error = |path: &Path, e: std::io::Error| ClusterError::File {
            path: path.to_owned(),
            message: e.to_string(),
        };
        let seq = self.next.fetch_add(1, Ordering::Relaxed);
        let dir = self.dir.join(format!("{seq:06}"));
        fs::create_dir_all(&dir).map_err(|e| file_error(&dir, e))?;
        let task_path = dir.join(TASK_FILE);
        let bytes = serde_json::to_vec(&TaskFile {
            version: VERSION,
            function: function.to_owned(),
            input,
        })
        .map_err(|e| ClusterError::Codec {
            function: function.to_owned(),
            message: e.to_string(),
        })?;
        write_atomic(&task_path, &bytes).map_err(|e| file_error(&task_path, e))?;
        let mut script = String::from("#!/bin/sh\n# Written by smq-cluster: runs one task.\nexec");
        for word in self
            .slots
            .worker
            .iter()
            .map(|w| w.as_os_str())
            .chain([task_path.as_os_str()])
        {
            let word = word.to_str().ok_or_else(|| {
                ClusterError::Config(format!("{word:?} is not UTF-8: use another path"))
            })?;
            script.push(' ');
            script.push_str(&sh_quote(word));
        }
        script.push('\n');
        let script_path = dir.join("job.sh");
        write_atomic(&script_path, script.as_bytes()).map_err(|e| file_error(&script_path, e))?;

        // Step 1.
        if self.lock().stopping {
            return Err(ClusterError::Stopped {
                queue: self.queue_name.clone(),
            });
        }
        // Step 2.
        let mut args = self.sbatch.clone();
        args.push(format!("--job-name={}", self.job_name));
        args.push(format!("--output={}", dir.join("slurm.out").display()));
        args.push(format!("--chdir={}", dir.display()));
        args.push(script_path.display().to_string());
        let out = slurm_command("sbatch", &args)?;
        let job: JobId = out
            .split(';')
            .next()
            .and_then(|id| id.parse().ok())
            .ok_or_else(|| ClusterError::Slurm {
                command: "sbatch".into(),
                message: format!("unexpected output {out:?} (a job id was expected)"),
            })?;
        let (tx, rx) = mpsc::channel();
        let (stopping, first) = {
            let mut state = self.lock();
            let first = state.jobs.is_empty();
            state.jobs.insert(
                job,
                Tracked {
                    label,
                    task: Arc::clone(&task),
                    state: JobState::Pending,
                    reason: String::new(),
                    done: tx,
                },
            );
            (state.stopping, first)
        };
        self.note(&task, job, &JobState::Pending, "");
        if first {
            // The monitor sleeps while it has no job (step 4); otherwise it polls anyway.
            self.wake.notify_all();
        }
        if stopping {
            let _ = slurm_command("scancel", &[job.to_string()]);
        }
        // Step 3.
        let end = rx.recv().map_err(|_| ClusterError::Slurm {
            command: "squeue".into(),
            message: format!("the monitor of job {job} ended without its state"),
        })??;
        let result_path = dir.join(RESULT_FILE);
        let log = || tail(&dir.join("slurm.out"), 5);
        let result = match end.state {
            JobState::Completed | JobState::Failed => match fs::read(&result_path) {
                Ok(bytes) => {
                    let file: ResultFile =
                        serde_json::from_slice(&bytes).map_err(|e| ClusterError::File {
                            path: result_path.clone(),
                            message: format!("not a result file: {e}"),
                        })?;
                    match file.outcome {
                        Outcome::Ok(v) => Ok((job, v)),
                        Outcome::Error(error) => Err(ClusterError::Function { job, error }),
                    }
                }
                Err(_) => {
                    let log = log();
                    if killed_for_memory(&log) {
                        Err(ClusterError::OutOfMemory { job })
                    } else {
                        Err(ClusterError::JobFailed {
                            job,
                            state: end.state.to_string(),
                            exit_code: end.exit_code.unwrap_or_else(|| "?".into()),
                            log,
                        })
                    }
                }
            },
            JobState::Cancelled => Err(ClusterError::Cancelled { job }),
            JobState::Timeout => Err(ClusterError::TimedOut { job }),
            JobState::OutOfMemory => Err(ClusterError::OutOfMemory { job }),
            JobState::NodeFail => Err(ClusterError::NodeFailed { job }),
            other => Err(ClusterError::JobFailed {
                job,
                state: other.to_string(),
                exit_code: end.exit_code.unwrap_or_else(|| "?".into()),
                log: log(),
            }),
        };
        if result.is_ok() && !self.slots.keep_files {
            let _ = fs::remove_dir_all(&dir);
        }
        result
    }

    /// Step 5 of the protocol.
    fn cancel_all(&self) -> Result<usize, ClusterError> {
        let ids: Vec<String> = {
            let mut state = self.lock();
            state.stopping = true;
            state.jobs.keys().map(JobId::to_string).collect()
        };
        if ids.is_empty() {
            return Ok(0);
        }
        slurm_command("scancel", &ids)?;
        Ok(ids.len())
    }

    /// The monitor thread: step 4 of the protocol.
    fn monitor(&self) {
        let args = vec![
            "-h".to_owned(),
            "-t".to_owned(),
            "all".to_owned(),
            format!("--name={}", self.job_name),
            "-o".to_owned(),
            "%i|%T|%r".to_owned(),
        ];
        let mut failing_since: Option<Instant> = None;
        loop {
            {
                let mut state = self.lock();
                while state.jobs.is_empty() && !state.closed {
                    state = self.wake.wait(state).unwrap_or_else(|e| e.into_inner());
                }
                if state.jobs.is_empty() {
                    return; // closed, nothing left to watch
                }
            }
            let polled = slurm_command("squeue", &args).map(|out| parse_squeue(&out));
            match polled {
                Ok(rows) => {
                    failing_since = None;
                    self.apply(&rows);
                }
                Err(e) => {
                    let since = *failing_since.get_or_insert_with(Instant::now);
                    if since.elapsed() >= self.slots.slurm_timeout {
                        self.give_up(&e);
                    }
                }
            }
            let state = self.lock();
            if !state.jobs.is_empty() {
                let _ = self
                    .wake
                    .wait_timeout(state, self.slots.poll_interval)
                    .unwrap_or_else(|e| e.into_inner());
            }
        }
    }

    /// Records the polled states; sends the end of each job that ended.
    fn apply(&self, rows: &BTreeMap<JobId, (JobState, String)>) {
        let tracked: Vec<JobId> = self.lock().jobs.keys().copied().collect();
        for job in tracked {
            let end = match rows.get(&job) {
                Some((state, reason)) if !state.is_end() => {
                    let changed = self.lock().jobs.get_mut(&job).and_then(|t| {
                        let changed = t.state != *state || t.reason != *reason;
                        t.state = state.clone();
                        t.reason = reason.clone();
                        changed.then(|| Arc::clone(&t.task))
                    });
                    if let Some(task) = changed {
                        self.note(&task, job, state, reason);
                    }
                    continue;
                }
                Some((state, _)) => {
                    let exit_code = if *state == JobState::Failed {
                        scontrol_job(job).ok().flatten().map(|(_, exit)| exit)
                    } else {
                        None
                    };
                    Ok(JobEnd {
                        state: state.clone(),
                        exit_code,
                    })
                }
                // Not listed: Slurm purged it already, or squeue missed it.
                None => match scontrol_job(job) {
                    Ok(Some((state, _))) if !state.is_end() => continue,
                    Ok(Some((state, exit))) => Ok(JobEnd {
                        state,
                        exit_code: Some(exit),
                    }),
                    Ok(None) => Ok(JobEnd {
                        state: JobState::Other("UNKNOWN (Slurm no longer knows the job)".into()),
                        exit_code: None,
                    }),
                    Err(_) => continue, // asked again at the next poll
                },
            };
            if let Some(t) = self.lock().jobs.remove(&job) {
                if let Ok(e) = &end {
                    self.note(&t.task, job, &e.state, "");
                }
                let _ = t.done.send(end);
            }
        }
    }

    /// Show job `job`'s state in the snapshots of the scheduler, as the status of the task
    /// that runs it (`slurm job 42 PENDING (Resources)`).
    fn note(&self, task: &OnceLock<TaskId>, job: JobId, state: &JobState, reason: &str) {
        if let Some(&id) = task.get() {
            let text = match reason {
                "" | "None" => format!("slurm job {job} {state}"),
                reason => format!("slurm job {job} {state} ({reason})"),
            };
            self.sch.set_status(id, Some(&text));
        }
    }

    /// Slurm has not answered for `slurm_timeout`: every tracked job ends with `error`.
    fn give_up(&self, error: &ClusterError) {
        let jobs = std::mem::take(&mut self.lock().jobs);
        let ids: Vec<String> = jobs.keys().map(JobId::to_string).collect();
        if !ids.is_empty() {
            let _ = slurm_command("scancel", &ids);
        }
        for (job, t) in jobs {
            let _ = t.done.send(Err(ClusterError::Slurm {
                command: "squeue".into(),
                message: format!(
                    "no answer about job {job} for {:?} ({error}); the job was cancelled",
                    self.slots.slurm_timeout
                ),
            }));
        }
    }
}

/// One job of `smq` cluster queues, as listed by [`list_jobs`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListedJob {
    /// The job id.
    pub job: JobId,
    /// The job name (`smq-QUEUE-PID-N`).
    pub name: String,
    /// The state.
    pub state: JobState,
    /// Slurm's reason for the state.
    pub reason: String,
    /// The time used so far, as Slurm prints it.
    pub time: String,
}

/// The jobs of all cluster queues (job names starting with `smq-`) that Slurm still lists,
/// ended ones included (until Slurm forgets them, `MinJobAge` after their end): what
/// `smq cluster status` prints.
///
/// # Errors
///
/// [`ClusterError::Slurm`] if `squeue` cannot be run or fails.
pub fn list_jobs() -> Result<Vec<ListedJob>, ClusterError> {
    let out = slurm_command(
        "squeue",
        &[
            "-h".into(),
            "-t".into(),
            "all".into(),
            "-o".into(),
            "%i|%j|%T|%r|%M".into(),
        ],
    )?;
    Ok(out
        .lines()
        .filter_map(|line| {
            let f: Vec<&str> = line.trim().splitn(5, '|').collect();
            if f.len() < 5 || !f[1].starts_with("smq-") {
                return None;
            }
            Some(ListedJob {
                job: f[0].parse().ok()?,
                name: f[1].to_owned(),
                state: JobState::parse(f[2]),
                reason: f[3].to_owned(),
                time: f[4].to_owned(),
            })
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_kills_are_recognized_in_the_output() {
        assert!(killed_for_memory(
            "slurmstepd-vm: error: StepId=147.batch exceeded memory limit (3362816 > 1048576), being killed | slurmstepd-vm: error: Exceeded job memory limit"
        ));
        assert!(killed_for_memory(
            "slurmstepd: error: Detected 1 oom-kill event(s) in StepId=9.batch."
        ));
        assert!(!killed_for_memory(
            "/bin/sh: 2: exec: /nonexistent/smq: not found"
        ));
    }

    #[test]
    fn time_limits_round_up_to_minutes() {
        assert_eq!(time_limit_minutes(Duration::from_secs(1)).ok(), Some(1));
        assert_eq!(time_limit_minutes(Duration::from_secs(60)).ok(), Some(1));
        assert_eq!(time_limit_minutes(Duration::from_secs(61)).ok(), Some(2));
        assert_eq!(
            time_limit_minutes(Duration::from_millis(60_500)).ok(),
            Some(2)
        );
        assert!(time_limit_minutes(Duration::ZERO).is_err());
    }

    #[test]
    fn quoting_survives_the_shell() {
        let word = "it's a \"path\" with $HOME and `x`";
        let out = Command::new("sh")
            .arg("-c")
            .arg(format!("printf %s {}", sh_quote(word)))
            .output()
            .expect("sh");
        assert_eq!(String::from_utf8_lossy(&out.stdout), word);
    }

    #[test]
    fn squeue_and_scontrol_output_parse() {
        let rows = parse_squeue(
            "12|RUNNING|None\n13|PENDING|Resources\nbad line\n14|OUT_OF_MEMORY|OutOfMemory\n",
        );
        assert_eq!(rows.len(), 3);
        assert_eq!(rows[&JobId(12)], (JobState::Running, "None".to_owned()));
        assert_eq!(rows[&JobId(13)].1, "Resources");
        assert!(rows[&JobId(14)].0.is_end());
        let line =
            "JobId=7 JobName=smq-x UserId=root(0) JobState=TIMEOUT Reason=TimeLimit ExitCode=0:15";
        assert_eq!(scontrol_field(line, "JobState"), Some("TIMEOUT"));
        assert_eq!(scontrol_field(line, "ExitCode"), Some("0:15"));
        assert_eq!(scontrol_field(line, "Job"), None);
    }

    #[test]
    fn settings_are_checked() {
        let dir = tempfile::tempdir().expect("tempdir");
        let bad = [
            SlurmSlots::new(0, dir.path()),
            SlurmSlots {
                cpus_per_task: 0,
                ..SlurmSlots::new(1, dir.path())
            },
            SlurmSlots {
                mem_mb: Some(0),
                ..SlurmSlots::new(1, dir.path())
            },
            SlurmSlots {
                worker: vec![],
                ..SlurmSlots::new(1, dir.path())
            },
            SlurmSlots {
                time_limit: Some(Duration::ZERO),
                ..SlurmSlots::new(1, dir.path())
            },
            SlurmSlots {
                poll_interval: Duration::ZERO,
                ..SlurmSlots::new(1, dir.path())
            },
        ];
        for slots in bad {
            assert!(
                matches!(slots.check(), Err(ClusterError::Config(_))),
                "{slots:?}"
            );
        }
        let good = SlurmSlots {
            partition: Some("debug".into()),
            time_limit: Some(Duration::from_secs(90)),
            mem_mb: Some(100),
            ..SlurmSlots::new(4, dir.path())
        };
        let args = good.sbatch_options().expect("options");
        for want in [
            "--partition=debug",
            "--time=2",
            "--mem=100M",
            "--no-requeue",
            "--parsable",
        ] {
            assert!(args.iter().any(|a| a == want), "{want} in {args:?}");
        }
    }
}
