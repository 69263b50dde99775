//! Where the dashboard's run is: a scheduler in this process, or a run served by another
//! (`smq demo --serve`), followed through [`smq_serve::Remote`]. Both give the scheduler's
//! own [`Snapshot`] and [`Event`], so every view reads one set of types.

use smq_serve::{Link, Remote};
use smqsched::crossbeam_channel::Receiver;
use smqsched::{Event, Scheduler, Snapshot, TaskId};

/// The run a dashboard shows.
pub(crate) enum Source {
    /// A scheduler of this process, and its events.
    Local {
        sch: Scheduler,
        events: Receiver<Event>,
    },
    /// A run served by another process.
    Remote(std::sync::Arc<Remote>),
}

impl Source {
    /// The next event, if one is waiting.
    pub(crate) fn next_event(&self) -> Option<Event> {
        match self {
            Source::Local { events, .. } => events.try_recv().ok(),
            Source::Remote(r) => r.try_event(),
        }
    }

    /// Bring `snap` up to date.
    pub(crate) fn snapshot_into(&self, snap: &mut Snapshot) {
        match self {
            Source::Local { sch, .. } => sch.snapshot_into(snap),
            Source::Remote(r) => r.snapshot_into(snap),
        }
    }

    /// Whether the run is running (not paused); for a served run, as of `snap`.
    pub(crate) fn is_running(&self, snap: &Snapshot) -> bool {
        match self {
            Source::Local { sch, .. } => sch.is_running(),
            Source::Remote(_) => snap.running,
        }
    }

    /// Stop starting tasks.
    pub(crate) fn pause(&self) -> Result<(), String> {
        match self {
            Source::Local { sch, .. } => {
                sch.stop();
                Ok(())
            }
            Source::Remote(r) => r.pause().map(drop).map_err(|e| e.to_string()),
        }
    }

    /// Start tasks again.
    pub(crate) fn resume(&self) -> Result<(), String> {
        match self {
            Source::Local { sch, .. } => {
                sch.start();
                Ok(())
            }
            Source::Remote(r) => r.resume().map(drop).map_err(|e| e.to_string()),
        }
    }

    /// Cancel `tasks` not started, with their dependents: how many were cancelled, and
    /// how many had started meanwhile.
    pub(crate) fn cancel(&self, tasks: &[TaskId]) -> Result<(usize, usize), String> {
        match self {
            Source::Local { sch, .. } => {
                let (mut cancelled, mut refused) = (0, 0);
                for &t in tasks {
                    match sch.cancel(t) {
                        Ok(n) => cancelled += n,
                        Err(_) => refused += 1,
                    }
                }
                Ok((cancelled, refused))
            }
            Source::Remote(r) => {
                let reply = r.cancel(tasks).map_err(|e| e.to_string())?;
                let refused = reply
                    .tasks
                    .iter()
                    .filter(|t| t.outcome != smq_serve::api::CancelOutcome::Cancelled)
                    .count();
                Ok((reply.cancelled, refused))
            }
        }
    }

    /// What to tell the operator about the connection to a served run: `None` while it
    /// answers (and always for a local scheduler).
    pub(crate) fn link_problem(&self) -> Option<String> {
        match self {
            Source::Local { .. } => None,
            Source::Remote(r) => match r.link() {
                Link::Up => None,
                Link::Connecting => Some(format!("connecting to {}...", r.url())),
                Link::Down(why) => Some(format!(
                    "connection to {} lost ({why}); retrying, the view catches up on reconnect",
                    r.url()
                )),
            },
        }
    }
}
