//! A writer process killed with SIGKILL loses nothing it committed: at seeded moments,
//! between commits and in the middle of a commit, with group commits and with a commit per
//! append, with plain and with compressed chunks.
//!
//! The moments are made deterministic by the store's file system seam: the writer runs on
//! a [`FileSystem`] that, at a seeded operation number, writes half of what it was given
//! (a torn write), says `STALLED` and waits to be killed. Every operation of the store is
//! a possible stalling point, so over the seeds the kill lands in every step of the commit
//! protocol: chunk writes, directory syncs, the temporary metadata file, the rename.

#![allow(clippy::unwrap_used)] // a failing test may panic

mod common;

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use ndarray::Array1;
use smq_store::{Compression, FileSystem, StdFileSystem, Store, StoreOptions};

const ENV_DIR: &str = "SMQ_STORE_CRASH_WRITER_DIR";
const ENV_MODE: &str = "SMQ_STORE_CRASH_WRITER_MODE";
const ENV_STALL: &str = "SMQ_STORE_CRASH_WRITER_STALL";
const ENV_SEED: &str = "SMQ_STORE_CRASH_WRITER_SEED";
const POINTS: usize = 257;
const RUN: &str = "crash";

/// Element `k` of waveform `i`.
fn value(i: u64, k: usize) -> f64 {
    i as f64 * 1000.0 + k as f64
}

/// The scan point of the `j`-th paired reading, and that reading.
fn point(j: u64) -> u64 {
    j * 7919 % 100_003
}

fn reading(point: u64) -> f64 {
    point as f64 * 0.5
}

/// A tiny deterministic generator (xorshift), for the seeded moments.
struct Seeded(u64);

impl Seeded {
    fn next(&mut self, below: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % below
    }
}

/// The real file system, until operation number `at`: that one writes half its bytes,
/// prints `STALLED` and never returns.
#[derive(Debug)]
struct Stalling {
    done: AtomicU64,
    at: u64,
}

impl Stalling {
    fn step(&self) -> bool {
        self.done.fetch_add(1, Ordering::SeqCst) == self.at
    }

    fn stall(&self) -> ! {
        let mut out = std::io::stdout().lock();
        writeln!(out, "STALLED").unwrap();
        out.flush().unwrap();
        loop {
            std::thread::sleep(Duration::from_secs(3600));
        }
    }
}

impl FileSystem for Stalling {
    fn create_dir(&self, path: &Path) -> std::io::Result<bool> {
        if self.step() {
            self.stall();
        }
        StdFileSystem.create_dir(path)
    }

    fn write_at(&self, path: &Path, offset: u64, bytes: &[u8], len: u64) -> std::io::Result<bool> {
        if self.step() {
            let _ = StdFileSystem.write_at(path, offset, &bytes[..bytes.len() / 2], len);
            self.stall();
        }
        StdFileSystem.write_at(path, offset, bytes, len)
    }

    fn write_file(&self, path: &Path, bytes: &[u8]) -> std::io::Result<()> {
        if self.step() {
            let _ = std::fs::write(path, &bytes[..bytes.len() / 2]);
            self.stall();
        }
        StdFileSystem.write_file(path, bytes)
    }

    fn rename(&self, from: &Path, to: &Path) -> std::io::Result<()> {
        if self.step() {
            self.stall();
        }
        StdFileSystem.rename(from, to)
    }

    fn sync_dir(&self, path: &Path) -> std::io::Result<()> {
        if self.step() {
            self.stall();
        }
        StdFileSystem.sync_dir(path)
    }

    fn remove_file(&self, path: &Path) -> std::io::Result<()> {
        if self.step() {
            self.stall();
        }
        StdFileSystem.remove_file(path)
    }
}

/// How the writer commits.
#[derive(Clone, Copy, Debug)]
enum Mode {
    /// Group commits every 10 ms on the writer thread, and after each batch; plain chunks.
    Group,
    /// The same, zstd-compressed chunks (rewritten whole through a renamed temporary file).
    GroupZstd,
    /// A commit per append (`commit_every` zero).
    EachAppend,
}

impl Mode {
    fn name(self) -> &'static str {
        match self {
            Self::Group => "group",
            Self::GroupZstd => "group-zstd",
            Self::EachAppend => "each",
        }
    }

    fn options(self) -> StoreOptions {
        // Small chunks, so that appends cross chunk boundaries often.
        let options = StoreOptions::new().chunk_bytes(16 << 10);
        match self {
            Self::Group => options.commit_every(Duration::from_millis(10)),
            Self::GroupZstd => options
                .commit_every(Duration::from_millis(10))
                .compression(Compression::Zstd { level: 1 }),
            Self::EachAppend => options.commit_every(Duration::ZERO),
        }
    }
}

/// The writer: does nothing unless started by a test below through the environment; then
/// appends in seeded batches for ever, committing after each batch and printing the
/// committed lengths (`COMMITTED waveforms readings points`).
#[test]
fn writer_child() {
    let Ok(dir) = std::env::var(ENV_DIR) else {
        return;
    };
    let mode = match std::env::var(ENV_MODE).unwrap().as_str() {
        "group" => Mode::Group,
        "group-zstd" => Mode::GroupZstd,
        _ => Mode::EachAppend,
    };
    let stall: u64 = std::env::var(ENV_STALL).unwrap().parse().unwrap();
    let mut seeded = Seeded(std::env::var(ENV_SEED).unwrap().parse().unwrap());
    let options = mode.options().file_system(Stalling {
        done: AtomicU64::new(0),
        at: stall,
    });
    let store = Store::create_with(&dir, options).unwrap();
    let run = match store.open_run(RUN) {
        Ok(run) => run,
        Err(_) => store
            .create_run(RUN, "crash-test", serde_json::json!({"points": POINTS}))
            .unwrap(),
    };
    let waveforms = run.dataset::<f64>("waveforms", &[POINTS]).unwrap();
    let readings = run.dataset::<i16>("readings", &[]).unwrap();
    let mut pairs = run
        .read::<u64>("reading_point")
        .map_or(0, |p| p.len() as u64);
    loop {
        for _ in 0..=seeded.next(5) {
            let i = waveforms.len();
            let acq = Array1::from_iter((0..POINTS).map(|k| value(i, k)));
            assert_eq!(waveforms.append(&acq.view()).unwrap(), i);
            // After a kill the readings may lag the waveforms by a commit; catch up.
            while readings.len() <= i {
                let j = readings.len();
                readings.push((j % 30_000) as i16).unwrap();
            }
            let p = point(pairs);
            assert_eq!(run.append_at("reading", p, &reading(p)).unwrap(), pairs);
            pairs += 1;
        }
        store.commit().unwrap();
        let points = run.dataset::<u64>("reading_point", &[]).unwrap();
        // Locked only to print: a writer thread stalling must be able to say so.
        let mut out = std::io::stdout().lock();
        writeln!(
            out,
            "COMMITTED {} {} {}",
            waveforms.committed_len(),
            readings.committed_len(),
            points.committed_len()
        )
        .unwrap();
        out.flush().unwrap();
    }
}

/// The length in a dataset's `zarr.json`, as any Zarr reader sees it.
fn raw_len(run_dir: &Path, dataset: &str) -> u64 {
    let text = std::fs::read(run_dir.join(dataset).join("zarr.json")).unwrap();
    let meta: serde_json::Value = serde_json::from_slice(&text).unwrap();
    meta["shape"][0].as_u64().unwrap()
}

/// Check the store after a kill: nothing committed is lost, every value is right, values
/// and points agree, nothing temporary is left. Returns the waveforms' length.
fn verify(dir: &Path, reported: [u64; 3], what: &str) -> u64 {
    let store = Store::open(dir).unwrap();
    assert!(
        common::temporaries(dir).is_empty(),
        "{what}: {:?}",
        common::temporaries(dir)
    );
    assert_eq!(store.runs().unwrap(), [RUN]);
    let run = store.open_run(RUN).unwrap();
    assert!(!run.is_being_written(), "{what}");
    run.metadata().unwrap();
    let w = run.read::<f64>("waveforms").unwrap();
    let n = w.shape()[0] as u64;
    assert!(
        n >= reported[0],
        "{what}: {n} waveforms, {reported:?} committed"
    );
    assert_eq!(w.shape()[1], POINTS);
    for (i, acq) in w.outer_iter().enumerate() {
        for (k, &x) in acq.iter().enumerate() {
            assert_eq!(x, value(i as u64, k), "{what}: waveform {i} element {k}");
        }
    }
    if n > 0 {
        let last = run.read_acquisition::<f64>("waveforms", n - 1).unwrap();
        assert_eq!(last[[POINTS - 1]], value(n - 1, POINTS - 1));
    }
    let r = run.read::<i16>("readings").unwrap();
    assert!(
        r.len() as u64 >= reported[1],
        "{what}: {} readings",
        r.len()
    );
    for (j, &x) in r.iter().enumerate() {
        assert_eq!(x, (j % 30_000) as i16, "{what}: reading {j}");
    }
    let values = run.read::<f64>("reading").map_or(0, |v| v.len());
    let points = run
        .read::<u64>("reading_point")
        .map(|p| p.iter().copied().collect::<Vec<_>>());
    let points = points.unwrap_or_default();
    assert_eq!(values, points.len(), "{what}: values and points");
    assert!(
        points.len() as u64 >= reported[2],
        "{what}: {} points",
        points.len()
    );
    if !points.is_empty() {
        // As any Zarr reader sees them, after the open's repair.
        assert_eq!(
            raw_len(run.path(), "reading"),
            raw_len(run.path(), "reading_point"),
            "{what}"
        );
        let v = run.read::<f64>("reading").unwrap();
        for (j, (&p, &x)) in points.iter().zip(v.iter()).enumerate() {
            assert_eq!(p, point(j as u64), "{what}: point {j}");
            assert_eq!(x, reading(p), "{what}: reading of point {j}");
        }
    }
    n
}

/// Run the writer `rounds` times on one run, each time killed at a seeded moment: at a
/// seeded file operation (mid-commit), or after a seeded number of commits.
fn kill_at_seeded_moments(mode: Mode, seed: u64, rounds: u64) {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("runs");
    let exe = std::env::current_exe().unwrap();
    let mut seeded = Seeded(seed);
    let mut total = 0;
    let mut stalled_rounds = 0;
    for round in 0..rounds {
        let stall_at = if round % 3 == 2 {
            u64::MAX // killed between commits
        } else {
            8 + seeded.next(300)
        };
        let wanted_commits = 1 + seeded.next(6);
        let mut child = Command::new(&exe)
            .args(["--exact", "writer_child", "--nocapture", "--test-threads=1"])
            .env(ENV_DIR, &dir)
            .env(ENV_MODE, mode.name())
            .env(ENV_STALL, stall_at.to_string())
            .env(ENV_SEED, (seed + round + 1).to_string())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let mut reported = [0; 3];
        let mut commits = 0;
        let mut stalled = false;
        for line in BufReader::new(stdout).lines() {
            let line = line.unwrap();
            // The first line is preceded by the test harness's `test writer_child ... `.
            if line.ends_with("STALLED") {
                stalled = true;
                break;
            }
            if let Some((_, rest)) = line.split_once("COMMITTED ") {
                let n: Vec<u64> = rest.split(' ').map(|x| x.parse().unwrap()).collect();
                reported = [n[0], n[1], n[2]];
                commits += 1;
                if stall_at == u64::MAX && commits >= wanted_commits {
                    break;
                }
            }
        }
        child.kill().unwrap(); // SIGKILL on Unix, whatever the writer is doing
        let status = child.wait().unwrap();
        assert!(
            stalled || commits > 0,
            "{mode:?} round {round}: the writer ended ({status}) without committing"
        );
        stalled_rounds += u64::from(stalled);
        let what = format!("{mode:?} seed {seed} round {round} (stall at {stall_at})");
        total = verify(&dir, reported, &what).max(total);
    }
    assert!(stalled_rounds > 0, "no round was killed in a commit");
    assert!(total > 0);
}

#[test]
fn killed_in_or_between_group_commits_loses_nothing_committed() {
    kill_at_seeded_moments(Mode::Group, 0x5eed_0001, 12);
}

#[test]
fn killed_in_or_between_commits_of_compressed_chunks_loses_nothing_committed() {
    kill_at_seeded_moments(Mode::GroupZstd, 0x5eed_0002, 9);
}

#[test]
fn committing_every_append_keeps_every_append_reported() {
    kill_at_seeded_moments(Mode::EachAppend, 0x5eed_0003, 9);
}
