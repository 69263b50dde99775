//! A write that fails (disk full, directory gone) stops the store with the OS error, and
//! leaves everything committed before it readable: at every file operation of a commit.

#![allow(clippy::unwrap_used)] // a failing test may panic

mod common;

use std::path::Path;
use std::sync::mpsc;
use std::time::Duration;

use ndarray::Array1;
use serde_json::json;
use smq_store::{Error, FailingFileSystem, Run, Store, StoreOptions};

const SAMPLES: usize = 100;

fn wave(i: u64) -> Array1<f64> {
    Array1::from_iter((0..SAMPLES).map(|k| i as f64 * 1000.0 + k as f64))
}

/// Append acquisitions `range`: a waveform, a reading and a reading at its scan point.
fn append(run: &Run, range: std::ops::Range<u64>) -> Result<(), Error> {
    for i in range {
        run.append("wave", &wave(i))?;
        run.append("temperature", &(i as f32))?;
        run.append_at("signal", 1000 - i, &(i as f64 / 2.0))?;
    }
    Ok(())
}

/// The run as the next process sees it: each dataset holds the acquisitions `0..n` of one
/// commit or the other (`before` or `after`), exactly, and values and points agree.
fn check_readable(dir: &Path, before: u64, after: u64, what: &str) {
    let store = Store::open(dir).unwrap();
    assert!(
        common::temporaries(dir).is_empty(),
        "{what}: {:?}",
        common::temporaries(dir)
    );
    let run = store.open_run("r").unwrap();
    let w = run.read::<f64>("wave").unwrap();
    let n = w.shape()[0] as u64;
    assert!(n == before || n == after, "{what}: {n} waveforms");
    for (i, acq) in w.outer_iter().enumerate() {
        assert_eq!(acq, wave(i as u64).into_dyn(), "{what}: waveform {i}");
    }
    let t = run.read::<f32>("temperature").unwrap();
    assert!([before, after].contains(&(t.len() as u64)), "{what}");
    assert!(t.iter().enumerate().all(|(i, &x)| x == i as f32), "{what}");
    let s = run.read::<f64>("signal").unwrap();
    let p = run.read::<u64>("signal_point").unwrap();
    assert_eq!(s.len(), p.len(), "{what}: values and points");
    assert!([before, after].contains(&(p.len() as u64)), "{what}");
    for (i, (&x, &point)) in s.iter().zip(p.iter()).enumerate() {
        assert_eq!(
            (x, point),
            (i as f64 / 2.0, 1000 - i as u64),
            "{what}: pair {i}"
        );
    }
    let infos = run.datasets().unwrap();
    let len = |name: &str| infos.iter().find(|d| d.name == name).map(|d| d.len());
    assert_eq!(len("signal"), len("signal_point"), "{what}");
}

#[test]
fn a_failure_at_any_operation_of_a_commit_stops_the_store_and_keeps_the_last_commit() {
    let mut covered = 0;
    for n in 0..500 {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("runs");
        let disk = FailingFileSystem::after(u64::MAX);
        let options = StoreOptions::new()
            .commit_every(Duration::from_secs(3600)) // commits only when asked
            .chunk_bytes(2048) // so that the second commit starts new chunks
            .file_system(disk.clone());
        let store = Store::create_with(&dir, options).unwrap();
        let (tx, failures) = mpsc::channel();
        store.on_failure(move |e| tx.send(e.to_string()).unwrap());
        let run = store.create_run("r", "e", json!({})).unwrap();
        append(&run, 0..10).unwrap();
        store.commit().unwrap();
        append(&run, 10..25).unwrap();
        disk.fail_after(n);
        let what = format!("failing after {n} operations");
        match store.commit() {
            Ok(()) => {
                // `n` is past the last operation of the commit: every one was failed.
                assert!(
                    n > 10,
                    "a commit of three datasets and points took {n} operations"
                );
                break;
            }
            Err(e) => {
                covered += 1;
                let text = e.to_string();
                assert!(matches!(e, Error::Stopped { .. }), "{what}: {e:?}");
                assert!(
                    text.contains("No space left on device (os error 28)"),
                    "{what}: {text}"
                );
                assert!(text.contains(&*dir.to_string_lossy()), "{what}: {text}");
                // Told once, with the same failure.
                assert!(text.ends_with(&failures.recv().unwrap()), "{what}: {text}");
                // Nothing more is taken or written.
                let again = append(&run, 25..26).unwrap_err();
                assert!(matches!(again, Error::Stopped { .. }), "{what}: {again}");
                assert!(
                    store
                        .commit()
                        .unwrap_err()
                        .to_string()
                        .contains("os error 28")
                );
            }
        }
        drop((run, store)); // the last commit is refused: the store has stopped
        assert!(failures.try_recv().is_err(), "{what}: told twice");
        check_readable(&dir, 10, 25, &what);
    }
    assert!(covered > 10, "only {covered} failing operations");
}

#[test]
fn a_failure_on_the_writer_thread_reaches_the_callback_and_the_next_append() {
    let tmp = tempfile::tempdir().unwrap();
    let disk = FailingFileSystem::after(u64::MAX).with_errno(30); // EROFS
    let options = StoreOptions::new()
        .commit_every(Duration::from_millis(5))
        .file_system(disk.clone());
    let store = Store::create_with(tmp.path(), options).unwrap();
    let (tx, failures) = mpsc::channel();
    store.on_failure(move |e| tx.send(e.to_string()).unwrap());
    let run = store.create_run("r", "e", json!({})).unwrap();
    let t = run.dataset::<f64>("temperature", &[]).unwrap();
    disk.fail_after(0);
    t.push(1.0).unwrap(); // in memory: the writer thread's commit fails
    let told = failures.recv_timeout(Duration::from_secs(60)).unwrap();
    assert!(
        told.contains("Read-only file system (os error 30)"),
        "{told}"
    );
    let e = t.push(2.0).unwrap_err();
    assert!(e.to_string().contains("Read-only file system"), "{e}");
    assert_eq!(store.failure().map(|f| f.to_string()), Some(told));
}

#[test]
fn a_run_closed_after_a_transient_failure_is_clean_and_ended() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("runs");
    let disk = FailingFileSystem::after(u64::MAX).times(1);
    let options = StoreOptions::new()
        .commit_every(Duration::from_secs(3600))
        .file_system(disk.clone());
    let store = Store::create_with(&dir, options).unwrap();
    let run = store.create_run("r", "e", json!({})).unwrap();
    append(&run, 0..4).unwrap();
    run.commit().unwrap();
    append(&run, 4..8).unwrap();
    // One file operation of the commit fails; the disk then works again, as when space
    // was freed.
    disk.fail_after(4);
    assert!(run.commit().is_err());
    run.set_attribute("status", json!("failed")).unwrap();
    let e = run.finish(None).unwrap_err();
    assert!(matches!(e, Error::Stopped { .. }), "{e}");
    let meta = store.open_run("r").unwrap().metadata().unwrap();
    assert!(meta.end.is_some());
    assert_eq!(meta.attributes["status"], "failed");
    assert!(
        common::temporaries(&dir).is_empty(),
        "{:?}",
        common::temporaries(&dir)
    );
    drop((run, store));
    check_readable(&dir, 4, 8, "after a transient failure");
}

#[test]
fn a_removed_dataset_directory_fails_the_commit_with_the_os_error() {
    let tmp = tempfile::tempdir().unwrap();
    let store = Store::create(tmp.path()).unwrap();
    let run = store.create_run("r", "e", json!({})).unwrap();
    append(&run, 0..3).unwrap();
    run.commit().unwrap();
    std::fs::remove_dir_all(run.path().join("wave")).unwrap();
    append(&run, 3..4).unwrap();
    let e = run.commit().unwrap_err().to_string();
    assert!(e.contains("No such file or directory (os error 2)"), "{e}");
    assert!(e.contains("wave"), "{e}");
}

/// The first commit of a pair cut at any of its operations, then the run taken up again by
/// its next writer (as `smq resume` does): the values that were published never lack their
/// points dataset, so what the next writer appends is paired with its own points, and no
/// value gets the fill value as its point.
#[test]
fn a_first_commit_cut_at_any_operation_leaves_every_value_with_its_point() {
    let mut covered = 0;
    for n in 0..500 {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("runs");
        let disk = FailingFileSystem::after(u64::MAX);
        let options = StoreOptions::new()
            .commit_every(Duration::from_secs(3600))
            .file_system(disk.clone());
        let store = Store::create_with(&dir, options).unwrap();
        let run = store.create_run("r", "e", json!({})).unwrap();
        append(&run, 0..10).unwrap();
        disk.fail_after(n);
        let cut = store.commit().is_err();
        drop((run, store));
        if !cut {
            assert!(n > 10, "a first commit took {n} operations");
            break;
        }
        covered += 1;
        let what = format!("first commit cut after {n} operations");

        let store = Store::open(&dir).unwrap();
        let run = store.open_run("r").unwrap();
        let kept = run
            .read::<u64>("signal_point")
            .map_or(0, |p| p.len() as u64);
        for i in kept..20 {
            run.append_at("signal", 1000 - i, &(i as f64 / 2.0))
                .unwrap();
        }
        run.commit().unwrap();
        let s = run.read::<f64>("signal").unwrap();
        let p = run.read::<u64>("signal_point").unwrap();
        assert_eq!((s.len(), p.len()), (20, 20), "{what}");
        for (i, (&x, &point)) in s.iter().zip(p.iter()).enumerate() {
            assert_eq!(
                (x, point),
                (i as f64 / 2.0, 1000 - i as u64),
                "{what}: pair {i}"
            );
        }
    }
    assert!(covered > 10, "only {covered} failing operations");
}
