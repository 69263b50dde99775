//! The state of a stored run, in one vocabulary: `running`, `complete`, `aborted`, `failed`,
//! `unfinished`.
//!
//! A run records its end state as the word of its `status` attribute when it ends
//! ([`RunStatus::close`]). The two states without an end are never stored: they are found
//! by looking at the process that writes the run, recorded when it starts
//! ([`RunStatus::record_writer`]).

use std::fmt;
use std::str::FromStr;

use serde_json::{Value, json};
use smq_store::{Run, RunMetadata};

use crate::DagSummary;

/// The state of a run. `smq demo` (its last line), `smq ls`, `smq show`, the dashboard and
/// the stored metadata all use these words, [`as_str`](Self::as_str):
///
/// | word         | the run                                                       | stored |
/// |--------------|---------------------------------------------------------------|--------|
/// | `running`    | has no end yet, and the process writing it is alive           | no     |
/// | `complete`   | ended with every task finished (done, failed or cancelled by a failure) | yes |
/// | `aborted`    | was stopped by the operator; what was acquired is kept        | yes    |
/// | `failed`     | was stopped by an error of the run itself (e.g. a write error); what was stored before it is readable | yes |
/// | `unfinished` | has no end, and its writer is gone: it crashed or was killed  | no     |
///
/// Whether the writer of a run without an end is alive can be known on Linux (from
/// `/proc`) when the run recorded it ([`record_writer`](Self::record_writer)); elsewhere,
/// or for a run that did not record it, such a run is `unfinished`.
///
/// # Examples
///
/// ```
/// use smq_lab::RunStatus;
///
/// assert_eq!(RunStatus::Aborted.as_str(), "aborted");
/// assert_eq!("complete".parse::<RunStatus>()?, RunStatus::Complete);
/// assert!("finished".parse::<RunStatus>().is_err());
/// assert!(RunStatus::Failed.is_end() && !RunStatus::Unfinished.is_end());
/// # Ok::<(), smq_lab::UnknownStatus>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RunStatus {
    /// No end recorded, and the process writing the run is alive.
    Running,
    /// Ended with every task finished (done, failed, or cancelled by a failure).
    Complete,
    /// Stopped by the operator (an abort, a closed window); what was acquired is kept.
    Aborted,
    /// Stopped by an error of the run itself, such as a write error; what was stored
    /// before it is readable.
    Failed,
    /// No end recorded, and the writer is gone: the process crashed or was killed.
    Unfinished,
}

/// A word that is not a [`RunStatus`].
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{word:?} is not a run status: expected running, complete, aborted, failed or unfinished")]
pub struct UnknownStatus {
    /// The word found.
    pub word: String,
}

/// Why a run could not be closed with a status.
#[derive(Debug, thiserror::Error)]
pub enum CloseError {
    /// `running` and `unfinished` describe a run without an end; they are never recorded.
    #[error("{0} is not the end of a run: only complete, aborted and failed are recorded")]
    NotAnEnd(RunStatus),
    /// The store could not record it.
    #[error(transparent)]
    Store(#[from] smq_store::Error),
}

impl RunStatus {
    /// Every state, in the order of the table above.
    pub const ALL: [Self; 5] = [
        Self::Running,
        Self::Complete,
        Self::Aborted,
        Self::Failed,
        Self::Unfinished,
    ];

    /// The run attribute that holds the word of a run's end state.
    pub const ATTRIBUTE: &'static str = "status";

    /// The run attribute that records the process writing the run.
    pub const WRITER: &'static str = "writer";

    /// The state's word.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Running => "running",
            Self::Complete => "complete",
            Self::Aborted => "aborted",
            Self::Failed => "failed",
            Self::Unfinished => "unfinished",
        }
    }

    /// Whether this is an end state, recorded in the run when it ends: `complete`,
    /// `aborted` or `failed`.
    pub fn is_end(self) -> bool {
        matches!(self, Self::Complete | Self::Aborted | Self::Failed)
    }

    /// The state of a run from its metadata:
    ///
    /// 1. the end state recorded in its `status` attribute, if there is one;
    /// 2. otherwise, with no end time: `running` if the process recorded as its writer is
    ///    alive, `unfinished` if not (or if that cannot be known);
    /// 3. otherwise (an end time but no word, as a script using `smq-store` alone writes
    ///    it): `complete`.
    ///
    /// # Errors
    ///
    /// [`UnknownStatus`] with the stored word if it is none of the vocabulary's.
    ///
    /// # Examples
    ///
    /// ```
    /// use smq_lab::RunStatus;
    /// # let dir = tempfile::tempdir()?;
    /// let store = smq_store::Store::create(dir.path())?;
    /// let run = store.create_run("r1", "demo", serde_json::json!({}))?;
    /// RunStatus::record_writer(&run)?;
    /// let running = if cfg!(target_os = "linux") { RunStatus::Running } else { RunStatus::Unfinished };
    /// assert_eq!(RunStatus::of(&run.metadata()?)?, running);
    /// RunStatus::Aborted.close(&run, &smq_lab::DagSummary::default())?;
    /// assert_eq!(RunStatus::of(&run.metadata()?)?, RunStatus::Aborted);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn of(meta: &RunMetadata) -> Result<Self, UnknownStatus> {
        if let Some(word) = meta
            .attributes
            .get(Self::ATTRIBUTE)
            .filter(|w| !w.is_null())
        {
            let stored = match word.as_str() {
                Some(w) => w.parse::<Self>()?,
                None => {
                    return Err(UnknownStatus {
                        word: word.to_string(),
                    });
                }
            };
            if stored.is_end() {
                return Ok(stored);
            }
        }
        if meta.end.is_some() {
            return Ok(Self::Complete);
        }
        let alive = meta
            .attributes
            .get(Self::WRITER)
            .is_some_and(writer::is_alive);
        Ok(if alive {
            Self::Running
        } else {
            Self::Unfinished
        })
    }

    /// Record in `run` the process writing it (attribute `writer`: boot, process id and
    /// start time), so that [`of`](Self::of) can tell `running` from `unfinished` while
    /// the run has no end. Does nothing where that cannot be known (outside Linux).
    ///
    /// # Errors
    ///
    /// If the store cannot record it.
    pub fn record_writer(run: &Run) -> Result<(), smq_store::Error> {
        match writer::this_process() {
            Some(w) => run.set_attribute(Self::WRITER, w),
            None => Ok(()),
        }
    }

    /// The run attribute that lists when a run was taken up again (RFC 3339 times).
    pub const RESUMED: &'static str = "resumed";

    /// Take up `run` again, ended or unfinished: it has no end any more (no end state, end
    /// time or abort reason), this process is its writer, and the time is added to its
    /// [`RESUMED`](Self::RESUMED) list. Its state is `running` until it is closed again.
    ///
    /// # Errors
    ///
    /// A store error if the attributes cannot be read or written.
    ///
    /// # Examples
    ///
    /// ```
    /// use smq_lab::{DagSummary, RunStatus};
    /// # let dir = tempfile::tempdir()?;
    /// let store = smq_store::Store::create(dir.path())?;
    /// let run = store.create_run("r1", "scan", serde_json::json!({}))?;
    /// RunStatus::Aborted.close(&run, &DagSummary::default())?;
    /// RunStatus::reopen(&run)?;
    /// let meta = run.metadata()?;
    /// assert_eq!(meta.end, None);
    /// assert_eq!(meta.attributes["resumed"].as_array().map(Vec::len), Some(1));
    /// # if cfg!(target_os = "linux") {
    /// assert_eq!(RunStatus::of(&meta)?, RunStatus::Running);
    /// # }
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn reopen(run: &Run) -> Result<(), smq_store::Error> {
        let meta = run.metadata()?;
        let mut resumed = meta
            .attributes
            .get(Self::RESUMED)
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        resumed.push(json!(smq_store::now_rfc3339()));
        run.set_attribute(Self::RESUMED, Value::from(resumed))?;
        for key in [Self::ATTRIBUTE, smq_store::keys::END, Self::ABORT_REASON] {
            run.set_attribute(key, Value::Null)?;
        }
        Self::record_writer(run)
    }

    /// The run attribute that says why a run was aborted.
    pub const ABORT_REASON: &'static str = "abort_reason";

    /// End `run` in this state: record the word, then the end time and `summary` (the
    /// task graph's summary).
    ///
    /// # Errors
    ///
    /// [`CloseError::NotAnEnd`] for `running` or `unfinished`; a store error if it cannot
    /// be written.
    pub fn close(self, run: &Run, summary: &DagSummary) -> Result<(), CloseError> {
        if !self.is_end() {
            return Err(CloseError::NotAnEnd(self));
        }
        run.set_attribute(Self::ATTRIBUTE, json!(self.as_str()))?;
        run.finish(Some(summary.to_json()))?;
        Ok(())
    }
}

impl fmt::Display for RunStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for RunStatus {
    type Err = UnknownStatus;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|w| w.as_str() == s)
            .ok_or_else(|| UnknownStatus { word: s.to_owned() })
    }
}

/// The identity of a process, on Linux: the boot it runs in, its id, and its start time
/// (so that a later process given the same id is not taken for it).
mod writer {
    use serde_json::{Value, json};

    /// The current boot's id.
    fn boot_id() -> Option<String> {
        std::fs::read_to_string("/proc/sys/kernel/random/boot_id")
            .ok()
            .map(|s| s.trim().to_owned())
    }

    /// The start time of process `pid`, in clock ticks since boot (field 22 of
    /// `/proc/PID/stat`, counted after the command name, which may hold spaces); `None`
    /// if it is gone, or is a zombie.
    fn start_time(pid: &str) -> Option<u64> {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
        let (_, rest) = stat.rsplit_once(')')?;
        let mut fields = rest.split_whitespace();
        // Field 3, the state: a zombie (`Z`) or dead (`X`) process writes nothing more,
        // though its parent has not reaped it yet.
        if matches!(fields.next(), Some("Z" | "X")) {
            return None;
        }
        fields.nth(18)?.parse().ok()
    }

    /// This process's identity, if it can be known.
    pub(super) fn this_process() -> Option<Value> {
        let pid = std::process::id();
        Some(json!({
            "boot_id": boot_id()?,
            "pid": pid,
            "start_time": start_time(&pid.to_string())?,
        }))
    }

    /// Whether the process `recorded` names is alive: same boot, and a process of that id
    /// started at that time.
    pub(super) fn is_alive(recorded: &Value) -> bool {
        let (Some(boot), Some(pid), Some(start)) = (
            recorded["boot_id"].as_str(),
            recorded["pid"].as_u64(),
            recorded["start_time"].as_u64(),
        ) else {
            return false;
        };
        boot_id().as_deref() == Some(boot) && start_time(&pid.to_string()) == Some(start)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_word_reads_back() {
        for s in RunStatus::ALL {
            assert_eq!(s.as_str().parse::<RunStatus>(), Ok(s));
            assert_eq!(s.to_string(), s.as_str());
        }
        assert_eq!(
            "finished".parse::<RunStatus>(),
            Err(UnknownStatus {
                word: "finished".into()
            })
        );
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn this_process_is_alive_and_another_start_is_not() {
        let mut me = writer::this_process().unwrap();
        assert!(writer::is_alive(&me));
        let start = me["start_time"].as_u64().unwrap();
        me["start_time"] = json!(start + 1);
        assert!(!writer::is_alive(&me));
        assert!(!writer::is_alive(&json!({})));
    }
}
