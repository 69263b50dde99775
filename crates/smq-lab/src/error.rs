//! The error of the experiment layer.

use smqsched::{QueueError, SubmitError, TaskError};

use crate::ConnectError;

/// What can go wrong while opening a lab, running a scan on it or recording a run.
///
/// Each variant keeps the error it comes from ([`source`](std::error::Error::source)), so a
/// caller can tell a missing instrument from a failed measurement or a full disk.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The simulated instruments could not start (no pseudo-terminal, no free port).
    #[error("cannot start the simulators: {0}")]
    Simulators(#[source] std::io::Error),
    /// An instrument has no address and no simulator was started for it.
    #[error("no address for the {0}")]
    NoAddress(String),
    /// An instrument could not be opened or did not identify itself.
    #[error(transparent)]
    Connect(#[from] Box<ConnectError>),
    /// A queue could not be created (a name used twice, zero slots).
    #[error(transparent)]
    Queue(#[from] QueueError),
    /// A task could not be submitted.
    #[error(transparent)]
    Submit(#[from] SubmitError),
    /// A task failed, was cancelled or panicked.
    #[error(transparent)]
    Task(#[from] TaskError),
    /// The store could not read or write.
    #[error(transparent)]
    Store(#[from] smq_store::Error),
    /// A run could not be closed with its state.
    #[error(transparent)]
    Close(#[from] crate::CloseError),
    /// A plan was refused.
    #[error(transparent)]
    Plan(#[from] crate::PlanError),
    /// A station could not be read or opened.
    #[error(transparent)]
    Station(#[from] crate::StationError),
    /// A run's stored state is not one of the vocabulary's.
    #[error(transparent)]
    Status(#[from] crate::UnknownStatus),
}
