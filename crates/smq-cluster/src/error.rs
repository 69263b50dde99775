//! Error types: why a cluster task failed, why a worker could not run a task.

use std::path::PathBuf;

use crate::slurm::JobId;

/// Why a task of a [`ClusterQueue`](crate::ClusterQueue) has no result, or why the queue
/// could not be made. A task's error reaches its promise as
/// [`smqsched::TaskError::FailedWith`]; get it back with
/// `err.downcast_ref::<ClusterError>()`. Every error of a job names its Slurm job id
/// ([`job`](Self::job)).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ClusterError {
    /// The job was cancelled (`scancel`, by a user or by
    /// [`ClusterQueue::cancel_all`](crate::ClusterQueue::cancel_all)).
    #[error("Slurm job {job} was cancelled")]
    Cancelled {
        /// The job.
        job: JobId,
    },
    /// The job ran past its time limit and Slurm ended it.
    #[error("Slurm job {job} reached its time limit and was ended")]
    TimedOut {
        /// The job.
        job: JobId,
    },
    /// The job used more memory than it asked for and Slurm ended it.
    #[error("Slurm job {job} ran out of memory")]
    OutOfMemory {
        /// The job.
        job: JobId,
    },
    /// The node running the job failed.
    #[error("the node of Slurm job {job} failed")]
    NodeFailed {
        /// The job.
        job: JobId,
    },
    /// The job ended in another state without writing a result (the worker could not start
    /// or read its task, was preempted, ...); `log` is the end of its output file.
    #[error("Slurm job {job} ended {state} (exit code {exit_code}) without a result: {log}")]
    JobFailed {
        /// The job.
        job: JobId,
        /// Slurm's state word, such as `FAILED` or `PREEMPTED`.
        state: String,
        /// Slurm's `ExitCode` (`code:signal`), or `?` if Slurm no longer knew the job.
        exit_code: String,
        /// The last lines of the job's output (stdout and stderr).
        log: String,
    },
    /// The function ran and failed (its error, a panic, or an input it could not decode).
    #[error("Slurm job {job}: {error}")]
    Function {
        /// The job.
        job: JobId,
        /// What went wrong in the worker.
        error: RunError,
    },
    /// The queue was stopped ([`ClusterQueue::cancel_all`](crate::ClusterQueue::cancel_all)
    /// or dropped) before this task submitted a job.
    #[error("the cluster queue `{queue}` was stopped before the task was submitted")]
    Stopped {
        /// The queue's name.
        queue: String,
    },
    /// A Slurm command could not be run or refused the request (no `sbatch` on the `PATH`,
    /// an unknown partition, the controller down for too long, ...).
    #[error("`{command}` failed: {message}")]
    Slurm {
        /// The command, such as `sbatch`.
        command: String,
        /// Its error output, or why it could not start.
        message: String,
    },
    /// A file of the exchange folder could not be written or read.
    #[error("{path}: {message}")]
    File {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        message: String,
    },
    /// A task's inputs or result did not (de)serialize.
    #[error("cannot encode or decode the data of function `{function}`: {message}")]
    Codec {
        /// The function.
        function: String,
        /// The serializer's message.
        message: String,
    },
    /// A [`SlurmSlots`](crate::SlurmSlots) setting is not usable.
    #[error("invalid cluster queue setting: {0}")]
    Config(String),
    /// A function of that name is registered already.
    #[error("a function named `{name}` is registered already")]
    DuplicateFunction {
        /// The name.
        name: String,
    },
    /// The queue could not be created on the scheduler.
    #[error(transparent)]
    Queue(#[from] smqsched::QueueError),
}

impl ClusterError {
    /// The Slurm job the error is about, if it is about one.
    ///
    /// # Examples
    ///
    /// ```
    /// use smq_cluster::{ClusterError, JobId};
    /// let e = ClusterError::TimedOut { job: JobId::from(42) };
    /// assert_eq!(e.job(), Some(JobId::from(42)));
    /// assert_eq!(e.to_string(), "Slurm job 42 reached its time limit and was ended");
    /// ```
    pub fn job(&self) -> Option<JobId> {
        match self {
            ClusterError::Cancelled { job }
            | ClusterError::TimedOut { job }
            | ClusterError::OutOfMemory { job }
            | ClusterError::NodeFailed { job }
            | ClusterError::JobFailed { job, .. }
            | ClusterError::Function { job, .. } => Some(*job),
            _ => None,
        }
    }
}

/// Why a registered function gave no output (in the worker, or through
/// [`Registry::run`](crate::Registry::run)). Travels back to the submitting side in the
/// result file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, serde::Serialize, serde::Deserialize)]
#[non_exhaustive]
pub enum RunError {
    /// No function of that name in the worker's registry.
    #[error("the worker has no function `{name}` (it has: {known})")]
    UnknownFunction {
        /// The name asked for.
        name: String,
        /// The names the worker knows, comma-separated.
        known: String,
    },
    /// The input did not decode as the function's input type.
    #[error("the input does not fit the function: {message}")]
    Input {
        /// The decoder's message.
        message: String,
    },
    /// The function returned an error.
    #[error("{message}")]
    Failed {
        /// The function's error.
        message: String,
    },
    /// The function panicked.
    #[error("the function panicked: {message}")]
    Panicked {
        /// The panic message.
        message: String,
    },
    /// The output did not serialize.
    #[error("the output cannot be encoded: {message}")]
    Output {
        /// The encoder's message.
        message: String,
    },
}

/// Why [`worker_main`](crate::worker_main) could not run a task (the task's file is missing
/// or damaged, the result cannot be written). A function's own failure is not a
/// `WorkerError`: it is written to the result file.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WorkerError {
    /// The task file could not be read.
    #[error("cannot read the task file {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The task file is not a task of this protocol version.
    #[error("{path} is not a task file: {message}")]
    Decode {
        /// The file.
        path: PathBuf,
        /// The decoder's message.
        message: String,
    },
    /// The result could not be written.
    #[error("cannot write the result file {path}: {source}")]
    Write {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
}
