//! # smq-serve — watch and steer a live run from another process
//!
//! One call serves a [`smqsched::Scheduler`]'s run over HTTP on 127.0.0.1; viewers (the
//! dashboard attached, a browser, `curl`) read its graph and its events and can pause,
//! resume and cancel:
//!
//! | route | what |
//! |---|---|
//! | `GET /api/snapshot` | the task graph and the queues ([`api::Snapshot`]); `?since=N` gives only the tasks changed after version `N` |
//! | `GET /api/events` | server-sent events: one [`api::Event`] per task event (`event: task`) or run event (`event: run`) |
//! | `POST /api/pause` | start no new task (running ones finish); replies [`api::ControlReply`] |
//! | `POST /api/resume` | start tasks again |
//! | `POST /api/cancel` | body `{"tasks": [ids]}`: cancel those not started, with their dependents ([`api::CancelReply`]) |
//! | `GET /api/datasets` | the datasets of the run given as [`Options::run`] ([`api::DatasetList`]) |
//! | `GET /api/datasets/NAME` | the values of one, with their scan points ([`api::DatasetValues`]); `?since=N` from acquisition `N` on |
//!
//! ```
//! use smq_serve::{Options, serve};
//!
//! let sch = smqsched::Scheduler::new();
//! let q = sch.queue("q", 1).unwrap();
//! let dir = std::env::temp_dir().join(format!("smq-serve-doc-{}", std::process::id()));
//! std::fs::create_dir_all(&dir).unwrap();
//! let server = serve(&sch, "127.0.0.1:0", Options {
//!     token_dir: Some(dir.clone()), // usually the run's folder
//!     ..Options::default()
//! })?;
//! println!("serving {} (token in {})", server.url(), dir.join("serve.token").display());
//! let p = q.submit((), |()| 1);
//! sch.start();
//! p.result().unwrap();
//! server.shutdown()?; // also removes the token file
//! # std::fs::remove_dir_all(&dir).ok();
//! # Ok::<(), smq_serve::ServeError>(())
//! ```
//!
//! ## Security
//!
//! Each server draws a random token (32 bytes from the operating system) when it starts.
//! It is in [`Server::token`], and in the file `serve.token` of [`Options::token_dir`]
//! (the run's folder), readable by the user only (mode 0600); it is never sent anywhere.
//! Every request without `Authorization: Bearer TOKEN` gets 401 and changes nothing; the
//! comparison takes the same time whatever the token sent. The server listens on loopback
//! unless [`Options::public`] is set, and then prints a warning.
//!
//! ## The run comes first
//!
//! The server runs on its own threads. The scheduler hands events to an unbounded channel
//! that one relay thread empties into a bounded ring per viewer; a viewer that falls
//! [`Options::event_buffer`] events behind gets a last `event: dropped` and is
//! disconnected, never waited for. With nobody watching, the run goes on the same.
//!
//! ## Errors
//!
//! Every error reply is JSON, `{"error": "..."}` ([`api::ErrorReply`]): 400 for a
//! malformed body or query, 401 without the token, 404 for an unknown route or task id
//! (nothing is cancelled then), 409 to pause or resume a run that has finished, 503 when
//! too many viewers follow the events.
//!
//! ## Following a run from another process
//!
//! With the `client` feature, [`Remote`] follows a served run as the scheduler's own
//! snapshots and events, and pauses, resumes and cancels it: the dashboard attached to a
//! run reads the same types as the dashboard in the run's process.
//!
//! ## Why these dependencies
//!
//! * `axum` on `tokio`: a maintained HTTP server with server-sent events, confined to the
//!   server's thread (the scheduler does not depend on tokio).
//! * `serde`/`serde_json`: the wire types in [`api`], shared with clients.
//! * `smq-store`: the run's datasets, read through the run's own handle.
//! * `getrandom`: the token, from the operating system's generator.
//! * `subtle`: constant-time comparison of the token.
//! * `ureq` (feature `client`): a small blocking HTTP client, for the client's two threads.

mod auth;
#[cfg(feature = "client")]
mod client;
mod datasets;
mod routes;
mod server;

pub mod api;

pub use auth::{TOKEN_FILE, read_token_file};
#[cfg(feature = "client")]
pub use client::{ClientError, Link, POLL, RETRY, Remote};
pub use datasets::MAX_VALUES_PER_REPLY;
pub use routes::KEEP_ALIVE;
pub use server::{Options, Server, serve};

use std::net::SocketAddr;
use std::path::PathBuf;

/// Why a server could not start, or stopped.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ServeError {
    /// The address is not loopback and [`Options::public`] is not set.
    #[error(
        "{0} is not a loopback address: serving the run beyond this machine needs an explicit \
         choice (Options::public, or --serve-public on the command line)"
    )]
    NotLoopback(SocketAddr),
    /// The address could not be resolved.
    #[error("cannot resolve the address to serve on: {0}")]
    Resolve(String),
    /// The address could not be bound.
    #[error("cannot listen on {addr}: {message}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// Why.
        message: String,
    },
    /// The token file could not be written or read.
    #[error("token file {}: {message}", path.display())]
    TokenFile {
        /// The file.
        path: PathBuf,
        /// Why.
        message: String,
    },
    /// The operating system gave no random bytes for the token.
    #[error("cannot draw a random token: {0}")]
    Random(String),
    /// A thread or the runtime could not be started.
    #[error("cannot start the server's thread: {0}")]
    Thread(String),
    /// The server stopped on an error of its own.
    #[error("the server stopped: {0}")]
    Stopped(String),
}
