//! The file protocol between a cluster queue and its workers.
//!
//! Each task has a folder of its own in the exchange folder, which both sides see:
//!
//! 1. The queue writes `task.json` (`{"version": 1, "function": NAME, "input": ...}`) and
//!    `job.sh` (the command that runs the worker on it), then submits the job.
//! 2. The worker reads `task.json`, runs the function, and writes `result.json`
//!    (`{"version": 1, "function": NAME, "outcome": {"ok": ...} | {"error": ...}}`).
//! 3. Once Slurm reports the job ended, the queue reads `result.json`.
//!
//! Invariant: a file is either absent or complete. Every file is written to a temporary
//! name in the same folder, flushed to disk (`fsync`), renamed to its name (atomic on POSIX
//! file systems, and on NFS for a rename within a folder), and the folder is flushed too. A
//! reader that finds `result.json` therefore finds all of it, even on another machine; a
//! worker killed half way leaves no `result.json`, which the queue reports as a failed job.

use std::fs::{self, File};
use std::io::{self, Write};
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::{RunError, WorkerError};
use crate::function::Registry;

/// The protocol version written into every file.
pub(crate) const VERSION: u32 = 1;
/// The task file's name in a task folder.
pub const TASK_FILE: &str = "task.json";
/// The result file's name in a task folder.
pub const RESULT_FILE: &str = "result.json";

#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct TaskFile {
    pub(crate) version: u32,
    pub(crate) function: String,
    pub(crate) input: serde_json::Value,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Outcome {
    Ok(serde_json::Value),
    Error(RunError),
}

#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct ResultFile {
    pub(crate) version: u32,
    pub(crate) function: String,
    pub(crate) outcome: Outcome,
}

/// Writes `bytes` to `path` atomically: a temporary file in the same folder, `fsync`,
/// rename, `fsync` of the folder. Readers see the old file (or none) or the whole new one.
///
/// # Errors
///
/// The I/O error of any step; the temporary file is removed on failure.
///
/// # Examples
///
/// ```
/// let dir = tempfile::tempdir()?;
/// let path = dir.path().join("a.json");
/// smq_cluster::write_atomic(&path, b"{}")?;
/// assert_eq!(std::fs::read(&path)?, b"{}");
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn write_atomic(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "the path names no file"))?;
    let mut tmp_name = std::ffi::OsString::from(".");
    tmp_name.push(name);
    tmp_name.push(format!(".{}.tmp", std::process::id()));
    let tmp = dir.join(tmp_name);
    let result = (|| {
        let mut f = File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        drop(f);
        fs::rename(&tmp, path)?;
        File::open(dir)?.sync_all()
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

/// Runs the task whose file is `task_file` with a function of `registry`, and writes the
/// result file beside it: what `smq worker TASK_FILE` does on a cluster node. A worker
/// binary of your own (with your own functions registered) calls this the same way.
///
/// The function's own failure (its error, a panic, an input that does not fit) is written
/// to the result file and is not an error here: the job did its work.
///
/// # Errors
///
/// [`WorkerError`] if the task file cannot be read or decoded, or the result cannot be
/// written. The job should then exit non-zero, so that Slurm reports it `FAILED`.
///
/// # Examples
///
/// ```
/// use smq_cluster::{Registry, worker_main};
/// let dir = tempfile::tempdir()?;
/// let task = dir.path().join("task.json");
/// std::fs::write(&task, r#"{"version": 1, "function": "sleep", "input": 0.0}"#)?;
/// worker_main(&Registry::builtin(), &task)?;
/// let result = std::fs::read_to_string(dir.path().join("result.json"))?;
/// assert!(result.contains(r#""ok":0.0"#));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn worker_main(registry: &Registry, task_file: &Path) -> Result<(), WorkerError> {
    let text = fs::read(task_file).map_err(|source| WorkerError::Read {
        path: task_file.to_owned(),
        source,
    })?;
    let task: TaskFile = serde_json::from_slice(&text).map_err(|e| WorkerError::Decode {
        path: task_file.to_owned(),
        message: e.to_string(),
    })?;
    if task.version != VERSION {
        return Err(WorkerError::Decode {
            path: task_file.to_owned(),
            message: format!(
                "protocol version {} (this worker reads version {VERSION}): run the same \
                 smq version on both sides",
                task.version
            ),
        });
    }
    let outcome = match registry.run(&task.function, task.input) {
        Ok(v) => Outcome::Ok(v),
        Err(e) => Outcome::Error(e),
    };
    let result = ResultFile {
        version: VERSION,
        function: task.function,
        outcome,
    };
    let path = task_file.with_file_name(RESULT_FILE);
    let bytes = serde_json::to_vec(&result).map_err(|e| WorkerError::Write {
        path: path.clone(),
        source: io::Error::other(e),
    })?;
    write_atomic(&path, &bytes).map_err(|source| WorkerError::Write { path, source })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::function::POWER_SPECTRUM;
    use ndarray::Array1;

    fn write_task(dir: &Path, function: &str, input: serde_json::Value) -> std::path::PathBuf {
        let task = TaskFile {
            version: VERSION,
            function: function.to_owned(),
            input,
        };
        let path = dir.join(TASK_FILE);
        write_atomic(&path, &serde_json::to_vec(&task).expect("encode")).expect("write");
        path
    }

    fn read_result(dir: &Path) -> ResultFile {
        let bytes = fs::read(dir.join(RESULT_FILE)).expect("result file");
        serde_json::from_slice(&bytes).expect("decode")
    }

    #[test]
    fn a_task_round_trips_through_the_files() {
        let dir = tempfile::tempdir().expect("tempdir");
        let x = Array1::from_shape_fn(100, |i| (i as f64 * 0.71).cos() * 1e-3 + 1.0 / 3.0);
        let task = write_task(
            dir.path(),
            POWER_SPECTRUM.name(),
            serde_json::to_value(&x).expect("encode"),
        );
        worker_main(&Registry::builtin(), &task).expect("worker");
        let result = read_result(dir.path());
        assert_eq!(result.function, "power_spectrum_hann");
        let Outcome::Ok(v) = result.outcome else {
            panic!("{:?}", result.outcome)
        };
        let out: Array1<f64> = serde_json::from_value(v).expect("decode");
        assert_eq!(out, POWER_SPECTRUM.call(x).expect("local"), "bit for bit");
        let leftovers: Vec<_> = fs::read_dir(dir.path())
            .expect("list")
            .filter_map(|e| e.ok())
            .map(|e| e.file_name())
            .filter(|n| n.to_string_lossy().ends_with(".tmp"))
            .collect();
        assert!(leftovers.is_empty(), "temporary files left: {leftovers:?}");
    }

    #[test]
    fn a_function_error_is_a_result_not_a_worker_error() {
        let dir = tempfile::tempdir().expect("tempdir");
        let task = write_task(dir.path(), "nope", serde_json::json!(1));
        worker_main(&Registry::builtin(), &task).expect("the worker itself succeeds");
        match read_result(dir.path()).outcome {
            Outcome::Error(RunError::UnknownFunction { name, .. }) => assert_eq!(name, "nope"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_missing_or_damaged_task_is_a_worker_error() {
        let dir = tempfile::tempdir().expect("tempdir");
        let missing = worker_main(&Registry::builtin(), &dir.path().join(TASK_FILE));
        assert!(
            matches!(missing, Err(WorkerError::Read { .. })),
            "{missing:?}"
        );
        fs::write(dir.path().join(TASK_FILE), b"{\"version\": 1, \"func").expect("write");
        let damaged = worker_main(&Registry::builtin(), &dir.path().join(TASK_FILE));
        assert!(
            matches!(damaged, Err(WorkerError::Decode { .. })),
            "{damaged:?}"
        );
        fs::write(
            dir.path().join(TASK_FILE),
            b"{\"version\": 9, \"function\": \"sleep\", \"input\": 0}",
        )
        .expect("write");
        let version = worker_main(&Registry::builtin(), &dir.path().join(TASK_FILE));
        assert!(
            matches!(version, Err(WorkerError::Decode { .. })),
            "{version:?}"
        );
        assert!(!dir.path().join(RESULT_FILE).exists());
    }
}
