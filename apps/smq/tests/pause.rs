//! Ctrl-C pausing of `smq demo`, end to end: the real binary in a temporary directory,
//! a real SIGINT, answers written to its standard input (a pipe, not a TTY), and the
//! store on disk read back after.
//!
//! The tests synchronise on the child's output in plain mode (one line per finished task):
//! SIGINT is sent once the scan has produced its first result, answers once the prompt is
//! printed. Timeouts only guard against a hung child; nothing waits for time to pass.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError, channel};
use std::time::Duration;

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use smq_store::Store;

/// Positions of the scans: enough that a run is far from done after its first result.
const POINTS: usize = 60;

/// Failure guard: how long a line may take to appear before the test gives up.
const GUARD: Duration = Duration::from_secs(120);

/// A running `smq demo --plain`, its output read line by line.
struct Demo {
    child: Child,
    stdin: Option<ChildStdin>,
    lines: Receiver<String>,
    seen: Vec<String>,
}

impl Demo {
    fn start(out: &Path) -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_smq"))
            .args(["demo", "--plain", "--points", &POINTS.to_string(), "--out"])
            .arg(out)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let (tx, lines) = channel();
        let stdout = child.stdout.take().unwrap();
        let stderr = child.stderr.take().unwrap();
        let tx2 = tx.clone();
        std::thread::spawn(move || {
            for l in BufReader::new(stdout).lines().map_while(Result::ok) {
                let _ = tx.send(l);
            }
        });
        std::thread::spawn(move || {
            for l in BufReader::new(stderr).lines().map_while(Result::ok) {
                let _ = tx2.send(format!("stderr: {l}"));
            }
        });
        Self {
            stdin: child.stdin.take(),
            child,
            lines,
            seen: Vec::new(),
        }
    }

    /// Read lines until one satisfies `pred`; returns it.
    fn wait_for(&mut self, what: &str, pred: impl Fn(&str) -> bool) -> String {
        loop {
            match self.lines.recv_timeout(GUARD) {
                Ok(l) => {
                    self.seen.push(l.clone());
                    if pred(&l) {
                        return l;
                    }
                }
                Err(RecvTimeoutError::Timeout) => {
                    let _ = self.child.kill();
                    panic!(
                        "no {what} within {GUARD:?}; output:\n{}",
                        self.seen.join("\n")
                    )
                }
                Err(RecvTimeoutError::Disconnected) => {
                    panic!("exited before {what}; output:\n{}", self.seen.join("\n"))
                }
            }
        }
    }

    fn interrupt(&self) {
        kill(Pid::from_raw(self.child.id() as i32), Signal::SIGINT).unwrap();
    }

    fn answer(&mut self, line: &str) {
        let stdin = self.stdin.as_mut().unwrap();
        writeln!(stdin, "{line}").unwrap();
        stdin.flush().unwrap();
    }

    /// Start, wait for the first result of the scan, interrupt, and wait for the prompt.
    /// Checks that the tasks running at the pause finished before `paused` was printed and
    /// that the run was interrupted well before its end.
    fn start_and_pause(out: &Path) -> Self {
        let mut demo = Self::start(out);
        demo.wait_for("scan start", |l| {
            l.starts_with("run ") && l.contains("started")
        });
        demo.wait_for("first result", |l| l.starts_with("done "));
        demo.interrupt();
        demo.wait_for("pausing", |l| l.starts_with("pausing:"));
        let paused = demo.wait_for("paused", |l| l.starts_with("paused:"));
        demo.wait_for("prompt", |l| l.starts_with("resume or abort?"));
        // `paused: N running tasks finished (a, b).`: each of them has its line before.
        let listed = paused
            .split_once('(')
            .and_then(|(_, rest)| rest.strip_suffix(")."))
            .unwrap_or("");
        let before = &demo.seen[..demo.seen.len() - 2];
        for label in listed.split(", ").filter(|l| !l.is_empty()) {
            assert!(
                before.iter().any(|l| *l == format!("done {label}")),
                "{label} did not finish before the pause:\n{}",
                demo.seen.join("\n")
            );
        }
        assert!(
            count(&demo.seen, "done stage.move_to(") < POINTS,
            "the run was not interrupted:\n{}",
            demo.seen.join("\n")
        );
        demo
    }

    /// Wait for the exit, reading all output, standard input left as it is; the exit
    /// status and every line.
    fn finish(mut self) -> (ExitStatus, Vec<String>) {
        loop {
            match self.lines.recv_timeout(GUARD) {
                Ok(l) => self.seen.push(l),
                Err(RecvTimeoutError::Disconnected) => break,
                Err(RecvTimeoutError::Timeout) => {
                    let _ = self.child.kill();
                    panic!(
                        "no exit within {GUARD:?}; output:\n{}",
                        self.seen.join("\n")
                    )
                }
            }
        }
        drop(self.stdin.take());
        let status = self.child.wait().unwrap();
        (status, self.seen)
    }
}

/// How many lines start with `prefix`.
fn count(lines: &[String], prefix: &str) -> usize {
    lines.iter().filter(|l| l.starts_with(prefix)).count()
}

/// The one run of the store at `out`.
fn the_run(out: &Path) -> smq_store::Run {
    let store = Store::open(out).unwrap();
    let runs = store.runs().unwrap();
    assert_eq!(runs.len(), 1, "{runs:?}");
    store.open_run(&runs[0]).unwrap()
}

/// The number of acquisitions in `dataset` (0 if it was never created).
fn stored(run: &smq_store::Run, dataset: &str) -> usize {
    run.datasets()
        .unwrap()
        .iter()
        .find(|d| d.name == dataset)
        .map_or(0, |d| d.shape[0] as usize)
}

/// After an abort: the run is closed as aborted, and every acquisition that finished
/// (according to the child's `done` lines) is in the store, with what derives from it.
fn check_aborted_run_keeps_everything(out: &Path, lines: &[String]) {
    let run = the_run(out);
    let meta = run.metadata().unwrap();
    assert!(meta.end.is_some(), "no end time: {meta:?}");
    assert_eq!(meta.attributes["status"], "aborted");

    let moves = count(lines, "done stage.move_to(");
    let readings = count(lines, "done dmm.read");
    let waveforms = count(lines, "done scope.waveform(");
    assert!(
        (1..POINTS).contains(&moves),
        "{moves} moves:\n{}",
        lines.join("\n")
    );
    assert_eq!(stored(&run, "position"), moves, "{}", lines.join("\n"));
    assert_eq!(
        stored(&run, "dmm_voltage"),
        readings,
        "{}",
        lines.join("\n")
    );
    assert_eq!(stored(&run, "waveform"), waveforms, "{}", lines.join("\n"));
    assert_eq!(
        stored(&run, "spectrum_peak"),
        waveforms,
        "{}",
        lines.join("\n")
    );

    // The stored positions are those of the finished moves.
    let mut reached: Vec<f64> = lines
        .iter()
        .filter_map(|l| l.strip_prefix("done stage.move_to(")?.strip_suffix(')'))
        .map(|x| x.parse().unwrap())
        .collect();
    let mut saved: Vec<f64> = run
        .read::<f64>("position")
        .unwrap()
        .iter()
        .copied()
        .collect();
    reached.sort_by(f64::total_cmp);
    saved.sort_by(f64::total_cmp);
    assert_eq!(reached.len(), saved.len());
    for (r, s) in reached.iter().zip(&saved) {
        assert!((r - s).abs() < 1e-3, "reached {reached:?}, saved {saved:?}");
    }
    // The summary agrees: no save of a finished result was cancelled.
    let summary = meta.dag_summary.unwrap();
    assert_eq!(
        summary["by_label"]["save:position"]["done"].as_u64(),
        Some(moves as u64)
    );
}

#[test]
fn ctrl_c_pauses_and_resume_completes_the_run() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("runs");
    let mut demo = Demo::start_and_pause(&out);
    demo.answer("r");
    let (status, lines) = demo.finish();
    assert!(status.success(), "{status}:\n{}", lines.join("\n"));

    // Nothing ran while paused: no task ended between `paused` and `resumed`.
    let paused = lines.iter().position(|l| l.starts_with("paused:")).unwrap();
    let resumed = lines.iter().position(|l| l == "resumed").unwrap();
    assert!(
        lines[paused..resumed]
            .iter()
            .all(|l| !l.starts_with("done ")),
        "{}",
        lines.join("\n")
    );
    assert!(lines.iter().any(|l| l.starts_with("maximum signal")));

    let run = the_run(&out);
    let meta = run.metadata().unwrap();
    assert_eq!(meta.attributes["status"], "complete");
    for dataset in ["position", "dmm_voltage", "waveform", "spectrum_peak"] {
        assert_eq!(stored(&run, dataset), POINTS, "{dataset}");
    }
    assert_eq!(count(&lines, "done stage.move_to("), POINTS);
}

#[test]
fn answering_abort_keeps_every_finished_result() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("runs");
    let mut demo = Demo::start_and_pause(&out);
    demo.answer("abort");
    let (status, lines) = demo.finish();
    assert_eq!(status.code(), Some(130), "{}", lines.join("\n"));
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("aborting (abort answered"))
    );
    check_aborted_run_keeps_everything(&out, &lines);
}

#[test]
fn second_ctrl_c_while_paused_aborts_keeping_the_data() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("runs");
    let demo = Demo::start_and_pause(&out);
    demo.interrupt();
    let (status, lines) = demo.finish();
    assert_eq!(status.code(), Some(130), "{}", lines.join("\n"));
    assert!(
        lines.iter().any(|l| l == "second Ctrl-C while paused"),
        "{}",
        lines.join("\n")
    );
    assert!(!lines.iter().any(|l| l.contains("panicked")));
    check_aborted_run_keeps_everything(&out, &lines);
}

#[test]
fn end_of_input_while_paused_aborts_keeping_the_data() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("runs");
    let mut demo = Demo::start_and_pause(&out);
    drop(demo.stdin.take());
    let (status, lines) = demo.finish();
    assert_eq!(status.code(), Some(130), "{}", lines.join("\n"));
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("standard input is closed: nobody can answer")),
        "{}",
        lines.join("\n")
    );
    check_aborted_run_keeps_everything(&out, &lines);
}
