//! One writer per run, and the repair of what an interrupted writer left behind.
//!
//! A store that writes to a run holds an exclusive advisory lock (`flock`) on the run's
//! directory until its last handle is dropped; the operating system releases it when the
//! process ends, `kill -9` included. So a run whose directory is not locked has no writer,
//! and what an interrupted commit left in it can be repaired without racing one:
//!
//! 1. every `*.tmp` file (a metadata or chunk update that was not renamed into place) is
//!    removed;
//! 2. a dataset committed beyond its points dataset (interrupted between step 4's two
//!    renames of the commit protocol) gets its `zarr.json` rewritten with the points'
//!    length, so that every Zarr reader sees the two agree.
//!
//! This runs when a store is opened, for each run that has no `end` and no writer, and
//! when a store starts writing to a run (after taking its lock).

use std::fmt;
use std::fs::File;
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::error::{Error, Result};
use crate::fs::FileSystem;
use crate::fsutil::{TMP_SUFFIX, child_nodes, read_json, write_json};
use crate::info::{parse_array_meta, points_name};

/// A repair made when a store was opened or a run taken up again: what an interrupted
/// writer left behind. See [`Store::repairs`](crate::Store::repairs).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Repair {
    /// A temporary file of a write that was interrupted, removed.
    RemovedTemporary(PathBuf),
    /// A dataset committed beyond its points dataset, its length set back to theirs.
    TrimmedToPoints {
        /// The dataset's `zarr.json`.
        path: PathBuf,
        /// The length it had.
        from: u64,
        /// The length of its points dataset, which it has now.
        to: u64,
    },
    /// A repair that could not be made (e.g. on a read-only store); readers still ignore
    /// what it concerns.
    Failed {
        /// The file concerned.
        path: PathBuf,
        /// Why it could not be repaired.
        error: String,
    },
}

impl fmt::Display for Repair {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::RemovedTemporary(p) => {
                write!(f, "removed {}, left by an interrupted write", p.display())
            }
            Self::TrimmedToPoints { path, from, to } => write!(
                f,
                "{}: length {from} set back to {to}, the length of its points, after an \
                 interrupted commit",
                path.display()
            ),
            Self::Failed { path, error } => {
                write!(f, "cannot repair {}: {error}", path.display())
            }
        }
    }
}

/// The lock of a writer on a run; released when dropped.
#[derive(Debug)]
pub(crate) struct RunLock {
    _dir: File,
}

/// Take the writer's lock on the run in `dir`.
pub(crate) fn lock_run(dir: &Path, run: &str) -> Result<RunLock> {
    let file = File::open(dir).map_err(crate::error::io(dir))?;
    #[cfg(unix)]
    {
        use rustix::fs::{FlockOperation, flock};
        match flock(&file, FlockOperation::NonBlockingLockExclusive) {
            Ok(()) => {}
            Err(rustix::io::Errno::WOULDBLOCK) => return Err(Error::RunBusy(run.to_owned())),
            // A file system without locks: write without one.
            Err(_) => {}
        }
    }
    #[cfg(not(unix))]
    let _ = run;
    Ok(RunLock { _dir: file })
}

/// Whether a writer holds the run in `dir` (this process included). If it cannot be told,
/// true: then nothing is repaired.
pub(crate) fn is_locked(dir: &Path) -> bool {
    #[cfg(unix)]
    {
        use rustix::fs::{FlockOperation, flock};
        let Ok(file) = File::open(dir) else {
            return true;
        };
        // Released when `file` is closed.
        flock(&file, FlockOperation::NonBlockingLockShared).is_err()
    }
    #[cfg(not(unix))]
    {
        let _ = dir;
        false
    }
}

/// Repair the run in `dir`, which no writer holds or whose lock the caller has.
pub(crate) fn repair_run(fs: &dyn FileSystem, dir: &Path) -> Vec<Repair> {
    let mut repairs = Vec::new();
    remove_temporaries(fs, dir, &mut repairs);
    let Ok(arrays) = child_nodes(dir, "array") else {
        return repairs;
    };
    for name in &arrays {
        let points = points_name(name);
        if !arrays.contains(&points) {
            continue;
        }
        let path = dir.join(name).join("zarr.json");
        let lens = array_len(&path).and_then(|(meta, own)| {
            let theirs = array_len(&dir.join(&points).join("zarr.json"))?.1;
            Ok((meta, own, theirs))
        });
        let Ok((mut meta, from, to)) = lens else {
            continue; // unreadable: readers report it
        };
        if from <= to {
            continue;
        }
        meta["shape"][0] = Value::from(to);
        repairs.push(match write_json(fs, &path, &meta) {
            Ok(()) => Repair::TrimmedToPoints { path, from, to },
            Err(e) => Repair::Failed {
                path,
                error: e.to_string(),
            },
        });
    }
    repairs
}

fn array_len(path: &Path) -> Result<(Value, u64)> {
    let meta = read_json(path)?;
    let (_, shape) = parse_array_meta(path, &meta)?;
    Ok((meta, shape[0]))
}

/// Remove every `*.tmp` file under `dir` (not following symbolic links).
fn remove_temporaries(fs: &dyn FileSystem, dir: &Path, repairs: &mut Vec<Repair>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let Ok(kind) = entry.file_type() else {
            continue;
        };
        if kind.is_dir() {
            remove_temporaries(fs, &path, repairs);
        } else if kind.is_file() && entry.file_name().to_string_lossy().ends_with(TMP_SUFFIX) {
            repairs.push(remove_temporary(fs, &path));
        }
    }
}

/// Remove the temporary file `path`.
pub(crate) fn remove_temporary(fs: &dyn FileSystem, path: &Path) -> Repair {
    match fs.remove_file(path) {
        Ok(()) => Repair::RemovedTemporary(path.to_owned()),
        Err(e) => Repair::Failed {
            path: path.to_owned(),
            error: e.to_string(),
        },
    }
}
