//! Ctrl-C pausing of `smq demo`, end to end: the real binary in a temporary directory,
//! on simulated instruments started by the test and given by address, a real SIGINT,
//! answers written to its standard input (a pipe, not a TTY), and the store on disk read
//! back after, and listed by `smq ls` and `smq show` (`running` while paused, `aborted`,
//! `unfinished` once killed).
//!
//! The tests synchronise on the child's output in plain mode (one line per finished task)
//! and on the simulators, never on time:
//!
//! 1. Before the child starts, the scope is told to withhold its replies from the first
//!    one of waveform number [`HELD_WAVEFORM`] on. The scan cannot get past that waveform:
//!    the stage stays held by the move until its waveform is taken.
//! 2. Once the scan has started (`run ... started`: Ctrl-C now pauses) and the scope
//!    withholds a reply (that waveform is running and waits for it), SIGINT is sent.
//! 3. `pausing:` is printed once no task can start any more; the scope is then released,
//!    the waveform finishes, and the pause completes. So the run is always interrupted at
//!    that same waveform, however fast or slow the scan runs.
//!
//! Timeouts only guard against a hung child. The one time limit that matters is the
//! scope driver's reply timeout (2 s): the held waveform must be released within it, and
//! the test does so as soon as the child says `pausing:` (milliseconds after the SIGINT).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError, channel};
use std::time::Duration;

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use smq_sim::SimLab;
use smq_store::Store;

/// Positions of the scans.
const POINTS: usize = 10;

/// The waveform (1-based) at which the scope stalls until the pause.
const HELD_WAVEFORM: usize = 4;
const _: () = assert!(HELD_WAVEFORM < POINTS, "the pause must come before the end");

/// Replies of the scope before the scan: `*IDN?` when opened, then one `SYST:ERR?` after
/// each of the two settings of `Lab::prepare`, then the two settings read back for the
/// run's station record (`Lab::station_record`).
const SCOPE_REPLIES_BEFORE_SCAN: u64 = 5;

/// Replies of the scope per waveform: `SYST:ERR?` after selecting the source, mode and
/// format, `:WAV:PRE?` and `:WAV:DATA?`.
const SCOPE_REPLIES_PER_WAVEFORM: u64 = 3;

/// Failure guard: how long a line may take to appear before the test gives up.
const GUARD: Duration = Duration::from_secs(120);

/// A running `smq demo --plain` on simulators of its own, its output read line by line.
struct Demo {
    child: Child,
    stdin: Option<ChildStdin>,
    lines: Receiver<String>,
    seen: Vec<String>,
    bench: SimLab,
}

impl Demo {
    /// Start the simulators, the scope set to stall at [`HELD_WAVEFORM`], and the demo
    /// on them.
    fn start(out: &Path) -> Self {
        let bench = SimLab::start(7).unwrap();
        bench.scope.hold_after(
            SCOPE_REPLIES_BEFORE_SCAN + SCOPE_REPLIES_PER_WAVEFORM * (HELD_WAVEFORM as u64 - 1),
        );
        let mut child = Command::new(env!("CARGO_BIN_EXE_smq"))
            .args(["demo", "--plain", "--points", &POINTS.to_string(), "--out"])
            .arg(out)
            .args(["--stage", &bench.stage.pty_path()])
            .args(["--dmm", &bench.dmm.tcp_addr().to_string()])
            .args(["--scope", &format!("tcp:{}", bench.scope.tcp_addr())])
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
            bench,
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

    /// Start, wait until the scan runs and the scope withholds a reply of waveform
    /// [`HELD_WAVEFORM`], interrupt, release the scope once the child is pausing, and wait
    /// for the prompt. Checks that the tasks running at the pause finished before `paused`
    /// was printed and that the run was interrupted at that waveform.
    fn start_and_pause(out: &Path) -> Self {
        let mut demo = Self::start(out);
        demo.wait_for("scan start", |l| {
            l.starts_with("run ") && l.contains("started")
        });
        if !demo.bench.scope.wait_held(GUARD) {
            let _ = demo.child.kill();
            panic!(
                "the scope never withheld a reply; output:\n{}",
                demo.seen.join("\n")
            );
        }
        demo.interrupt();
        demo.wait_for("pausing", |l| l.starts_with("pausing:"));
        // No task starts any more: let the held waveform finish.
        demo.bench.scope.release();
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
            listed.contains("scope.waveform("),
            "the held waveform was not running at the pause:\n{}",
            demo.seen.join("\n")
        );
        // Interrupted at the held waveform: it and the moves up to it, nothing after.
        for task in ["done stage.move_to(", "done scope.waveform("] {
            assert_eq!(
                count(&demo.seen, task),
                HELD_WAVEFORM,
                "{task}:\n{}",
                demo.seen.join("\n")
            );
        }
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

/// The standard output of `smq ARGS OUT`, which must succeed.
fn smq(args: &[&str], out: &Path) -> String {
    let o = Command::new(env!("CARGO_BIN_EXE_smq"))
        .args(args)
        .arg(out)
        .output()
        .unwrap();
    assert!(o.status.success(), "{args:?}: {o:?}");
    String::from_utf8_lossy(&o.stdout).into_owned()
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
    // The last line says so, and `ls` and `show` print the word the run stored.
    let last = lines.iter().rfind(|l| !l.starts_with("stderr: ")).unwrap();
    assert!(
        last.starts_with(&format!("run {} aborted: ", meta.name)),
        "{}",
        lines.join("\n")
    );
    let ls = smq(&["ls", "--out"], out);
    assert_eq!(ls.split_whitespace().last(), Some("aborted"), "{ls}");
    let show = smq(&["show", &meta.name, "--out"], out);
    assert!(
        show.lines().any(|l| l.starts_with("status      aborted (")),
        "{show}"
    );

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

#[test]
fn a_paused_run_is_running_and_unfinished_once_killed() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("runs");
    let mut demo = Demo::start_and_pause(&out);
    // Paused at the prompt: the run has no end, and the process writing it is alive.
    let name = the_run(&out).name().to_owned();
    let ls = smq(&["ls", "--out"], &out);
    assert_eq!(ls.split_whitespace().last(), Some("running"), "{ls}");
    let show = smq(&["show", &name, "--out"], &out);
    assert!(show.lines().any(|l| l == "status      running"), "{show}");

    demo.child.kill().unwrap();
    let (status, lines) = demo.finish();
    assert_eq!(status.code(), None, "{status}: {}", lines.join("\n"));
    let meta = the_run(&out).metadata().unwrap();
    assert!(meta.end.is_none() && !meta.attributes.contains_key("status"));
    let ls = smq(&["ls", "--out"], &out);
    assert_eq!(ls.split_whitespace().last(), Some("unfinished"), "{ls}");
    let show = smq(&["show", &name, "--out"], &out);
    assert!(
        show.lines().any(|l| l == "status      unfinished"),
        "{show}"
    );
    assert!(show.lines().any(|l| l == "end         -"), "{show}");
}

/// A pause commits the store: while paused, every save reported done is on disk. A write
/// error after that (a dataset's directory removed while paused) stops the run with the OS
/// error, ends it `failed`, and keeps everything committed before readable.
#[test]
fn a_write_error_fails_the_run_and_keeps_what_was_committed() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("runs");
    let mut demo = Demo::start_and_pause(&out);
    let run = the_run(&out);
    let mut at_pause = Vec::new();
    for d in ["position", "dmm_voltage", "waveform", "spectrum_peak"] {
        let saved = count(&demo.seen, &format!("done save:{d}"));
        assert_eq!(stored(&run, d), saved, "{d}:\n{}", demo.seen.join("\n"));
        assert_eq!(stored(&run, &format!("{d}_point")), saved, "{d}");
        at_pause.push(saved);
    }
    assert!(at_pause[2] > 0, "no waveform saved before the pause");
    std::fs::remove_dir_all(run.path().join("waveform")).unwrap();
    demo.answer("r");
    let (status, lines) = demo.finish();
    assert_eq!(status.code(), Some(1), "{}", lines.join("\n"));
    let error = lines
        .iter()
        .find(|l| l.starts_with("stderr: smq: error:"))
        .unwrap_or_else(|| panic!("no error:\n{}", lines.join("\n")));
    assert!(
        error.contains("No such file or directory (os error 2)") && error.contains("waveform"),
        "{error}"
    );

    let run = the_run(&out);
    let meta = run.metadata().unwrap();
    assert_eq!(meta.attributes["status"], "failed", "{meta:?}");
    let recorded = meta.attributes["error"].as_str().unwrap_or_default();
    assert!(recorded.contains("os error 2"), "{recorded}");
    for (d, saved) in ["position", "dmm_voltage", "spectrum_peak"]
        .iter()
        .zip(at_pause)
    {
        let values = stored(&run, d);
        assert_eq!(values, stored(&run, &format!("{d}_point")), "{d}");
        assert!(
            values >= saved,
            "{d}: {values} stored, {saved} at the pause"
        );
        assert_eq!(run.read::<f64>(d).unwrap().shape()[0], values, "{d}");
    }
}
