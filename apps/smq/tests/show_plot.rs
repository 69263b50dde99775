//! `smq show RUN --plot FILE`: a stored run plotted to a PNG, headless, for each state a
//! run can be found in: `complete`, `aborted`, `running` (another process writes it: the
//! plot shows what is committed) and `unfinished` (its writer was killed: the store
//! repairs it on open). And the datasets a paused `smq demo --serve` serves over HTTP,
//! equal to what the store holds.
//!
//! The unfinished states are reached as in `pause.rs`, synchronised on the child's output
//! and on the simulators, never on time: the scope withholds its replies from waveform
//! [`HELD_WAVEFORM`] on, SIGINT is sent once it does, the scope is released once the child
//! says `pausing:`, and the child then waits at its prompt with the run open.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{Receiver, channel};
use std::time::Duration;

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use smq_sim::SimLab;

/// Positions of the interrupted scans.
const POINTS: usize = 10;
/// The waveform (1-based) at which the scope stalls until the pause.
const HELD_WAVEFORM: u64 = 4;
/// Scope replies before the scan, and per waveform (see `pause.rs`).
const SCOPE_REPLIES_BEFORE_SCAN: u64 = 5;
const SCOPE_REPLIES_PER_WAVEFORM: u64 = 3;
/// Failure guard only: how long a line may take to appear.
const GUARD: Duration = Duration::from_secs(120);
/// The image of a demo run: five panels (two scans, a waveform, the two components of the
/// peaks), three to a row, 480 x 320 each, under a band of 40.
const DEMO_IMAGE: (u32, u32) = (1440, 40 + 2 * 320);

/// `smq ARGS`, which must succeed; its standard output.
fn smq(args: &[&str]) -> String {
    let o = Command::new(env!("CARGO_BIN_EXE_smq"))
        .args(args)
        .output()
        .unwrap();
    assert!(o.status.success(), "{args:?}: {o:?}");
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// The name of the one run in `out`.
fn the_run(out: &Path) -> String {
    let runs = smq_store::Store::open(out).unwrap().runs().unwrap();
    assert_eq!(runs.len(), 1, "{runs:?}");
    runs[0].clone()
}

/// Run `smq show RUN --plot PNG`; check the state line, and that the PNG decodes, has the
/// size of a demo's plot, is not blank, and holds the blue of the scans and the red of
/// the waveform. Returns the output.
fn show_and_check_plot(out: &Path, state: &str) -> String {
    let name = the_run(out);
    let png_path = out.parent().unwrap().join(format!("{state}.png"));
    let text = smq(&[
        "show",
        &name,
        "--out",
        out.to_str().unwrap(),
        "--plot",
        png_path.to_str().unwrap(),
    ]);
    assert!(
        text.lines()
            .any(|l| l.split_whitespace().take(2).eq(["status", state])),
        "{text}"
    );
    assert!(text.lines().any(|l| l.starts_with("plot ")), "{text}");
    let decoder = png::Decoder::new(std::io::BufReader::new(
        std::fs::File::open(&png_path).unwrap(),
    ));
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size().unwrap()];
    let frame = reader.next_frame(&mut buf).unwrap();
    assert_eq!((frame.width, frame.height), DEMO_IMAGE);
    assert_eq!(frame.color_type, png::ColorType::Rgb);
    let pixels: Vec<&[u8]> = buf[..frame.buffer_size()].chunks(3).collect();
    let inked = pixels.iter().filter(|p| **p != [255, 255, 255]).count();
    assert!(
        inked * 50 > pixels.len(),
        "{inked} of {} pixels drawn",
        pixels.len()
    );
    let blue = pixels.iter().filter(|p| **p == [0, 0, 255]).count();
    let red = pixels.iter().filter(|p| **p == [255, 0, 0]).count();
    assert!(blue > 100 && red > 100, "blue {blue}, red {red}");
    text
}

#[test]
fn a_complete_run_is_plotted() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("runs");
    smq(&[
        "demo",
        "--plain",
        "--points",
        "7",
        "--out",
        out.to_str().unwrap(),
    ]);
    show_and_check_plot(&out, "complete");
}

#[test]
fn plot_to_a_missing_folder_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let o = Command::new(env!("CARGO_BIN_EXE_smq"))
        .args(["show", "r", "--out"])
        .arg(dir.path())
        .arg("--plot")
        .arg(dir.path().join("no/such/folder/out.png"))
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2), "{o:?}");
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("--plot"),
        "{o:?}"
    );
}

/// A demo on simulators of the test, paused at its prompt with the run open.
struct Paused {
    child: Child,
    stdin: ChildStdin,
    lines: Receiver<String>,
    /// The lines read so far.
    seen: Vec<String>,
    _bench: SimLab,
}

impl Paused {
    fn start(out: &Path) -> Self {
        Self::start_with(out, &[])
    }

    /// Start with more arguments of `smq demo`.
    fn start_with(out: &Path, more: &[&str]) -> Self {
        let bench = SimLab::start(7).unwrap();
        bench.scope.hold_after(
            SCOPE_REPLIES_BEFORE_SCAN + SCOPE_REPLIES_PER_WAVEFORM * (HELD_WAVEFORM - 1),
        );
        let mut child = Command::new(env!("CARGO_BIN_EXE_smq"))
            .args(["demo", "--plain", "--points", &POINTS.to_string(), "--out"])
            .arg(out)
            .args(["--stage", &bench.stage.pty_path()])
            .args(["--dmm", &bench.dmm.tcp_addr().to_string()])
            .args(["--scope", &format!("tcp:{}", bench.scope.tcp_addr())])
            .args(more)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let (tx, lines) = channel();
        let stdout = child.stdout.take().unwrap();
        std::thread::spawn(move || {
            for l in BufReader::new(stdout).lines().map_while(Result::ok) {
                let _ = tx.send(l);
            }
        });
        let stdin = child.stdin.take().unwrap();
        let mut p = Self {
            child,
            stdin,
            lines,
            seen: Vec::new(),
            _bench: bench,
        };
        p.wait_for(|l| l.starts_with("run ") && l.contains("started"));
        assert!(p._bench.scope.wait_held(GUARD), "the scope never held");
        kill(Pid::from_raw(p.child.id() as i32), Signal::SIGINT).unwrap();
        p.wait_for(|l| l.starts_with("pausing:"));
        p._bench.scope.release();
        p.wait_for(|l| l.starts_with("resume or abort?"));
        p
    }

    /// The text after `prefix` on the first line seen that starts with it.
    fn seen_after(&self, prefix: &str) -> String {
        self.seen
            .iter()
            .find_map(|l| l.strip_prefix(prefix))
            .unwrap_or_else(|| panic!("no line {prefix:?} in {:?}", self.seen))
            .to_owned()
    }

    fn wait_for(&mut self, pred: impl Fn(&str) -> bool) {
        loop {
            match self.lines.recv_timeout(GUARD) {
                Ok(l) => {
                    let done = pred(&l);
                    self.seen.push(l);
                    if done {
                        return;
                    }
                }
                Err(e) => {
                    let _ = self.child.kill();
                    panic!("the demo stopped or stalled: {e}");
                }
            }
        }
    }
}

#[test]
fn a_running_run_then_killed_is_plotted_as_committed() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("runs");
    let mut paused = Paused::start(&out);
    // Another process writes the run: read-only, what it committed at the pause.
    let text = show_and_check_plot(&out, "running");
    assert!(
        text.contains("(running: what is committed so far)"),
        "{text}"
    );

    paused.child.kill().unwrap();
    paused.child.wait().unwrap();
    show_and_check_plot(&out, "unfinished");
}

#[test]
fn an_aborted_run_is_plotted() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("runs");
    let mut paused = Paused::start(&out);
    writeln!(paused.stdin, "a").unwrap();
    paused.stdin.flush().unwrap();
    let status = paused.child.wait().unwrap();
    assert_eq!(status.code(), Some(130));
    show_and_check_plot(&out, "aborted");
}

/// A paused `smq demo --serve`: its datasets over HTTP equal, value for value and point for
/// point, what a reader of the store finds on disk (the pause committed them).
#[test]
fn a_served_demo_serves_its_datasets_as_stored() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("runs");
    let mut paused = Paused::start_with(&out, &["--serve", "127.0.0.1:0"]);
    let url = paused.seen_after("serving the run at ");
    let token = paused.seen_after("token ");
    let remote = smq_serve::Remote::connect(&url, &token);
    let stored = smq_lab::StoredRun::open(&out, &the_run(&out)).unwrap();
    assert_eq!(stored.status, Some(smq_lab::RunStatus::Running));
    let list = remote.datasets().unwrap();
    let names: Vec<&str> = list.datasets.iter().map(|d| d.name.as_str()).collect();
    assert_eq!(
        names,
        ["dmm_voltage", "position", "spectrum_peak", "waveform"]
    );
    for d in &stored.datasets {
        assert!(!d.is_empty(), "{} is empty at the pause", d.name);
        let served = remote.dataset_values(&d.name, 0).unwrap();
        let points = served.points.unwrap();
        assert_eq!(points.len(), d.len(), "{}", d.name);
        // Served in saving order; put in point order as the stored reader does.
        let row = d.row_len();
        let mut order: Vec<usize> = (0..points.len()).collect();
        order.sort_by_key(|&i| points[i]);
        let by_point: Vec<f64> = order
            .iter()
            .flat_map(|&i| served.values[i * row..(i + 1) * row].iter().copied())
            .collect();
        assert_eq!(by_point, d.values, "{}", d.name);
        let sorted: Vec<u64> = order.iter().map(|&i| points[i]).collect();
        assert_eq!(sorted, d.points, "{}", d.name);
    }
    paused.child.kill().unwrap();
    paused.child.wait().unwrap();
}
