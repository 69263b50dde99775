//! The one tokio runtime every simulated instrument of the process runs on.

use std::io;
use std::sync::OnceLock;

use tokio::runtime::{Handle, Runtime};

/// Worker threads of the runtime: the simulators only move bytes and sleep, so two are
/// plenty for many instruments, and they leave the other cores to what is being tested.
const WORKERS: usize = 2;

static RUNTIME: OnceLock<Runtime> = OnceLock::new();

/// The runtime, built on first use.
pub(crate) fn handle() -> io::Result<Handle> {
    if let Some(rt) = RUNTIME.get() {
        return Ok(rt.handle().clone());
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(WORKERS)
        .thread_name("smq-sim")
        .enable_all()
        .build()?;
    // Another thread may have built one meanwhile; the first one stays, this one is
    // dropped (no task was spawned on it).
    Ok(RUNTIME.get_or_init(|| rt).handle().clone())
}
