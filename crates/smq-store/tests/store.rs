//! Round trips, reopening, and errors on bad input.

#![allow(clippy::unwrap_used)] // a failing test may panic

use std::collections::BTreeSet;

use ndarray::{Array1, Array2, ArrayD};
use serde_json::json;
use smq_store::{Error, Store};
use smqsched::Scheduler;

fn store() -> (tempfile::TempDir, Store) {
    let tmp = tempfile::tempdir().unwrap();
    let store = Store::create(tmp.path().join("runs")).unwrap();
    (tmp, store)
}

#[test]
fn element_types_round_trip() {
    let (_tmp, store) = store();
    let run = store.create_run("r", "types", json!(null)).unwrap();
    let a = run.dataset::<f32>("f32", &[3]).unwrap();
    let b = run.dataset::<u8>("u8", &[2, 2]).unwrap();
    let c = run.dataset::<i16>("i16", &[]).unwrap();
    for i in 0..4u8 {
        a.append(&Array1::from_elem(3, f32::from(i) / 2.0).view())
            .unwrap();
        b.append_nd(&Array2::from_elem((2, 2), i).view().into_dyn())
            .unwrap();
        c.push(-i16::from(i)).unwrap();
    }
    // An acquisition equal to the fill value is stored too.
    a.append(&Array1::zeros(3).view()).unwrap();
    store.commit().unwrap();
    // Read as another process would: what was committed.
    let store = Store::open(store.path()).unwrap();
    let run = store.open_run("r").unwrap();
    let a = run.read::<f32>("f32").unwrap();
    assert_eq!(a.shape(), &[5, 3]);
    assert_eq!(a[[3, 2]], 1.5);
    assert_eq!(a[[4, 0]], 0.0);
    assert_eq!(run.read::<u8>("u8").unwrap()[[2, 1, 1]], 2);
    let c: ArrayD<i16> = run.read("i16").unwrap();
    assert_eq!(c.into_raw_vec_and_offset().0, vec![0, -1, -2, -3]);
    let names: Vec<_> = run
        .datasets()
        .unwrap()
        .into_iter()
        .map(|d| d.name)
        .collect();
    assert_eq!(names, ["f32", "i16", "u8"]);
}

#[test]
fn reopened_dataset_continues() {
    let (_tmp, store) = store();
    let run = store.create_run("r", "e", json!({})).unwrap();
    let d = run.dataset::<f64>("w", &[4]).unwrap();
    d.append(&Array1::from_elem(4, 1.0).view()).unwrap();
    let path = store.path().to_owned();
    // The last handle commits and gives the run up.
    drop((d, run, store));
    let run = Store::open(&path).unwrap().open_run("r").unwrap();
    let d = run.dataset::<f64>("w", &[4]).unwrap();
    assert_eq!(d.len(), 1);
    assert_eq!(d.append(&Array1::from_elem(4, 2.0).view()).unwrap(), 1);
    let all = run.read::<f64>("w").unwrap();
    assert_eq!(all.shape(), &[2, 4]);
    assert_eq!(all[[1, 3]], 2.0);
}

#[test]
fn leftovers_of_an_interrupted_commit_are_ignored_removed_and_overwritten() {
    let (_tmp, store) = store();
    let run = store.create_run("r", "e", json!({})).unwrap();
    let d = run.dataset::<f64>("w", &[2]).unwrap();
    d.append(&Array1::from_elem(2, 5.0).view()).unwrap();
    let (path, dir) = (store.path().to_owned(), run.path().to_owned());
    drop((d, run, store));
    // What a crash in the middle of the next commit leaves behind: bytes of acquisition 1
    // in the chunk beyond the committed length, and a metadata file not renamed yet.
    let chunk = dir.join("w/c/0/0");
    let mut bytes = std::fs::read(&chunk).unwrap();
    assert!(bytes.len() >= 32, "a chunk holds many acquisitions");
    bytes[16..32].copy_from_slice(b"garbage-garbage!");
    std::fs::write(&chunk, &bytes).unwrap();
    std::fs::write(dir.join("w/zarr.json.tmp"), b"{trunc").unwrap();

    let store = Store::open(&path).unwrap();
    let repairs: Vec<String> = store.repairs().iter().map(ToString::to_string).collect();
    assert_eq!(repairs.len(), 1, "{repairs:?}");
    assert!(repairs[0].contains("w/zarr.json.tmp"), "{repairs:?}");
    assert!(!dir.join("w/zarr.json.tmp").exists());
    let run = store.open_run("r").unwrap();
    assert_eq!(run.read::<f64>("w").unwrap().shape(), &[1, 2]);
    let d = run.dataset::<f64>("w", &[2]).unwrap();
    d.append(&Array1::from_elem(2, 6.0).view()).unwrap();
    d.commit().unwrap();
    let fresh = Store::open(&path).unwrap().open_run("r").unwrap();
    let all = fresh.read::<f64>("w").unwrap();
    assert_eq!(all.into_raw_vec_and_offset().0, vec![5.0, 5.0, 6.0, 6.0]);
}

#[test]
fn bad_input_gives_typed_errors() {
    let (tmp, store) = store();
    let run = store.create_run("r", "e", json!({})).unwrap();
    let d = run.dataset::<f64>("w", &[3]).unwrap();
    let e = d.append(&Array1::zeros(4).view()).unwrap_err();
    assert!(matches!(e, Error::ShapeMismatch { .. }), "{e}");
    assert!(e.to_string().contains("\"w\""), "{e}");
    assert!(matches!(d.push(1.0), Err(Error::ShapeMismatch { .. })));
    assert_eq!(d.len(), 0);
    assert!(matches!(
        run.dataset::<f64>("w", &[4]),
        Err(Error::ShapeMismatch { .. })
    ));
    assert!(matches!(
        run.dataset::<f32>("w", &[3]),
        Err(Error::DataTypeMismatch { .. })
    ));
    // Also when the dataset is only on disk.
    let fresh = store.open_run("r").unwrap();
    assert!(matches!(
        fresh.read::<u8>("w"),
        Err(Error::DataTypeMismatch { .. })
    ));
    assert!(matches!(
        run.dataset::<f64>("e", &[0]),
        Err(Error::EmptyAxis { .. })
    ));
    assert!(matches!(
        run.read::<f64>("missing"),
        Err(Error::DatasetNotFound { .. })
    ));
    assert!(matches!(
        d.read_acquisition(0),
        Err(Error::OutOfRange { .. })
    ));
    assert!(matches!(store.open_run("nope"), Err(Error::RunNotFound(_))));
    assert!(matches!(store.open_run("../r"), Err(Error::RunNotFound(_))));
    assert!(matches!(
        store.create_run("r", "e", json!({})),
        Err(Error::RunExists(_))
    ));
    for bad in ["", "a/b", ".hidden", "zarr.json"] {
        assert!(matches!(
            store.create_run(bad, "e", json!({})),
            Err(Error::InvalidName(_))
        ));
        assert!(matches!(
            run.dataset::<f64>(bad, &[1]),
            Err(Error::InvalidName(_))
        ));
    }
    assert!(matches!(Store::open(tmp.path()), Err(Error::NotAStore(_))));
    assert!(matches!(
        Store::open(tmp.path().join("none")),
        Err(Error::NotAStore(_))
    ));
}

#[test]
fn corrupt_metadata_is_an_error_not_a_panic() {
    let (_tmp, store) = store();
    let run = store.create_run("r", "e", json!({})).unwrap();
    run.dataset::<f64>("w", &[3]).unwrap();
    std::fs::write(run.path().join("w/zarr.json"), b"{\"node_type\": \"array\"").unwrap();
    // A fresh handle: the writer opened above has the metadata in memory.
    let fresh = Store::open(store.path()).unwrap().open_run("r").unwrap();
    let e = fresh.read::<f64>("w").unwrap_err();
    assert!(matches!(e, Error::CorruptMetadata { .. }), "{e}");
    assert!(e.to_string().contains("zarr.json"), "{e}");
    assert!(fresh.datasets().is_err());
    std::fs::write(
        run.path().join("w/zarr.json"),
        br#"{"node_type": "array", "data_type": "float64", "shape": "x"}"#,
    )
    .unwrap();
    assert!(matches!(
        Store::open(store.path())
            .unwrap()
            .open_run("r")
            .unwrap()
            .read::<f64>("w"),
        Err(Error::CorruptMetadata { .. })
    ));
    std::fs::write(run.path().join("zarr.json"), b"[]").unwrap();
    assert!(store.open_run("r").is_err());
    std::fs::write(store.path().join("zarr.json"), b"not json").unwrap();
    assert!(matches!(
        Store::open(store.path()),
        Err(Error::CorruptMetadata { .. })
    ));
}

#[test]
fn run_metadata() {
    let (_tmp, store) = store();
    let run = store
        .create_run("r", "sweep", json!({"start_hz": 1e3, "n": 5}))
        .unwrap();
    run.set_instrument("scope", "ACME,DSO,1,2").unwrap();
    run.set_instrument("awg", "ACME,AWG,3,4").unwrap();
    run.set_dag_summary(json!({"running": 1})).unwrap();
    let m = run.metadata().unwrap();
    assert!(m.end.is_none());
    let start = m.start.unwrap();
    assert_eq!(start.len(), "2026-01-01T00:00:00.000Z".len());
    assert!(start.ends_with('Z') && start.as_bytes()[10] == b'T');
    run.finish(Some(json!({"done": {"acquire": 5}}))).unwrap();
    run.set_attribute("operator", json!("ada")).unwrap();
    let m = store.open_run("r").unwrap().metadata().unwrap();
    assert_eq!(m.experiment.as_deref(), Some("sweep"));
    assert_eq!(m.parameters["n"], 5);
    assert_eq!(m.instruments.len(), 2);
    assert_eq!(m.instruments["awg"], "ACME,AWG,3,4");
    assert!(m.end.is_some());
    assert_eq!(m.dag_summary.unwrap()["done"]["acquire"], 5);
    assert_eq!(m.attributes["operator"], "ada");
}

#[test]
fn save_serializes_concurrent_appends_and_reports_failures() {
    let (_tmp, store) = store();
    let run = store.create_run("r", "e", json!({})).unwrap();
    // Fix the shape up front: the newest task runs first, so the first value saved need
    // not be the first submitted.
    run.dataset::<f64>("traces", &[64]).unwrap();
    let sch = Scheduler::new();
    let acquire = sch.queue("acquire", 4).unwrap();
    let disk = sch.queue("disk", 4).unwrap();
    let mut saves = Vec::new();
    for i in 0..40u32 {
        let trace = acquire.submit((), move |()| Array1::from_elem(64, f64::from(i)));
        saves.push(run.save(&disk, "traces", &trace).unwrap());
        let reading = acquire.submit((), move |()| i as u8);
        saves.push(run.save(&disk, "readings", &reading).unwrap());
        let v = acquire.submit((), move |()| vec![i as i16; 2]);
        saves.push(run.save(&disk, "pairs", &v).unwrap());
    }
    let failing = acquire.submit_result((), |()| Err::<Array1<f64>, _>("no trigger"));
    let failed_save = run.save(&disk, "traces", &failing).unwrap();
    let wrong = acquire.submit((), |()| Array1::from_elem(3, 0.0));
    let wrong_save = run.save(&disk, "traces", &wrong).unwrap();
    sch.start();
    let mut indices = BTreeSet::new();
    for s in saves.iter().step_by(3) {
        indices.insert(*s.result().unwrap());
    }
    assert_eq!(indices, (0..40).collect());
    // Every save has ended (not only the traces') before the datasets are read.
    for s in &saves {
        s.result().unwrap();
    }
    assert!(failed_save.result().is_err());
    let e = wrong_save.result().unwrap_err().to_string();
    assert!(e.contains("shape mismatch"), "{e}");
    let traces = run.read::<f64>("traces").unwrap();
    assert_eq!(traces.shape(), &[40, 64]);
    let mut seen = BTreeSet::new();
    for acq in traces.outer_iter() {
        assert!(acq.iter().all(|&x| x == acq[0]), "torn acquisition");
        seen.insert(acq[0] as u32);
    }
    assert_eq!(seen, (0..40).collect());
    assert_eq!(run.read::<u8>("readings").unwrap().len(), 40);
    assert_eq!(run.read::<i16>("pairs").unwrap().shape(), &[40, 2]);
}

#[test]
fn handles_from_one_store_share_the_writer() {
    let (_tmp, store) = store();
    store.create_run("r", "e", json!({})).unwrap();
    let a = store
        .open_run("r")
        .unwrap()
        .dataset::<f64>("w", &[2])
        .unwrap();
    let b = store
        .clone()
        .open_run("r")
        .unwrap()
        .dataset::<f64>("w", &[2])
        .unwrap();
    assert_eq!(a.append(&Array1::from_elem(2, 1.0).view()).unwrap(), 0);
    assert_eq!(b.append(&Array1::from_elem(2, 2.0).view()).unwrap(), 1);
    assert_eq!(a.len(), 2);
    b.commit().unwrap();
    assert_eq!(a.committed_len(), 2);
    let all = Store::open(store.path())
        .unwrap()
        .open_run("r")
        .unwrap()
        .read::<f64>("w")
        .unwrap();
    assert_eq!(all.into_raw_vec_and_offset().0, vec![1.0, 1.0, 2.0, 2.0]);
}

/// Four saves at a time: every value stays paired with its own point.
#[test]
fn save_at_keeps_each_value_with_its_point_on_a_disk_queue_of_several_slots() {
    let (_tmp, store) = store();
    let run = store.create_run("r", "e", json!({})).unwrap();
    let sch = Scheduler::new();
    let acquire = sch.queue("acquire", 2).unwrap();
    let disk = sch.queue("disk", 4).unwrap();
    let mut saves = Vec::new();
    for point in 0..200u64 {
        let reading = acquire.submit((), move |()| 10.0 * point as f64);
        saves.push(run.save_at(&disk, "reading", point, &reading).unwrap());
    }
    sch.start();
    let mut indices = BTreeSet::new();
    for s in &saves {
        indices.insert(*s.result().unwrap());
    }
    assert_eq!(indices, (0..200).collect());
    let values = run.read::<f64>("reading").unwrap();
    let points = run
        .read::<u64>(&smq_store::Run::points_of("reading"))
        .unwrap();
    assert_eq!(values.len(), 200);
    assert_eq!(points.len(), 200);
    for (v, p) in values.iter().zip(points.iter()) {
        assert_eq!(*v, 10.0 * *p as f64, "value {v} paired with point {p}");
    }
    assert_eq!(
        points.iter().copied().collect::<BTreeSet<u64>>(),
        (0..200).collect()
    );
}

#[test]
fn save_at_with_a_points_dataset_of_another_type_fails_and_writes_nothing() {
    let (_tmp, store) = store();
    let run = store.create_run("r", "e", json!({})).unwrap();
    run.dataset::<f64>("reading", &[]).unwrap();
    run.dataset::<f64>(&smq_store::Run::points_of("reading"), &[])
        .unwrap();
    let sch = Scheduler::new();
    let q = sch.queue("disk", 1).unwrap();
    let reading = q.submit((), |()| 1.5f64);
    let saved = run.save_at(&q, "reading", 7, &reading).unwrap();
    sch.start();
    let e = saved.result().unwrap_err().to_string();
    assert!(
        e.contains("reading_point") && e.contains("data type"),
        "{e}"
    );
    assert_eq!(run.read::<f64>("reading").unwrap().len(), 0);
}

/// The files of a dataset's chunks.
fn chunk_files(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut files = Vec::new();
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            files.extend(chunk_files(&p));
        } else {
            files.push(p);
        }
    }
    files
}

#[test]
fn a_million_readings_take_a_few_chunk_files() {
    let (_tmp, store) = store();
    let run = store.create_run("r", "e", json!({})).unwrap();
    let d = run.dataset::<f64>("reading", &[]).unwrap();
    for i in 0..1_000_000u32 {
        d.push(f64::from(i)).unwrap();
    }
    d.commit().unwrap();
    let files = chunk_files(&run.path().join("reading/c"));
    assert!(files.len() <= 1000, "{} files", files.len());
    assert_eq!(files.len(), 8); // 131,072 readings of 8 bytes: 1 MiB a chunk
    let fresh = Store::open(store.path()).unwrap().open_run("r").unwrap();
    let all = fresh.read::<f64>("reading").unwrap();
    assert_eq!(all.len(), 1_000_000);
    assert!(all.iter().enumerate().all(|(i, &x)| x == i as f64));
}

/// Waveforms of 10 KB, committed a few at a time: about 1 MiB of them per chunk, the last
/// chunk growing at each commit, and every commit reads back whole from another handle.
fn waveforms_read_back_after_every_commit(options: smq_store::StoreOptions) -> Vec<u8> {
    let tmp = tempfile::tempdir().unwrap();
    let store = Store::create_with(tmp.path(), options).unwrap();
    let run = store.create_run("r", "e", json!({})).unwrap();
    let d = run.dataset::<f64>("waveform", &[1280]).unwrap();
    let wave = |i: u64| Array1::from_iter((0..1280u32).map(move |k| i as f64 + f64::from(k % 7)));
    let mut n = 0;
    for batch in [1, 6, 40, 55, 3, 60, 85] {
        for _ in 0..batch {
            d.append(&wave(n).view()).unwrap();
            n += 1;
        }
        assert!(d.committed_len() < n);
        d.commit().unwrap();
        assert_eq!(d.committed_len(), n);
        let fresh = Store::open(tmp.path()).unwrap().open_run("r").unwrap();
        let all = fresh.read::<f64>("waveform").unwrap();
        assert_eq!(all.shape(), &[n as usize, 1280]);
        for (i, acq) in all.outer_iter().enumerate() {
            assert_eq!(acq, wave(i as u64).into_dyn(), "waveform {i} of {n}");
        }
    }
    // 250 waveforms, 102 to a chunk of about 1 MiB.
    assert_eq!(chunk_files(&run.path().join("waveform/c")).len(), 3);
    std::fs::read(run.path().join("waveform/zarr.json")).unwrap()
}

#[test]
fn waveforms_fill_chunks_of_about_a_mebibyte() {
    let meta = waveforms_read_back_after_every_commit(smq_store::StoreOptions::new());
    let meta: serde_json::Value = serde_json::from_slice(&meta).unwrap();
    assert_eq!(
        meta["chunk_grid"]["configuration"]["chunk_shape"],
        json!([102, 1280])
    );
    assert_eq!(meta["codecs"].as_array().unwrap().len(), 1);
}

#[test]
fn compressed_waveforms_read_back_after_every_commit() {
    let options =
        smq_store::StoreOptions::new().compression(smq_store::Compression::Zstd { level: 3 });
    let meta = waveforms_read_back_after_every_commit(options);
    let meta: serde_json::Value = serde_json::from_slice(&meta).unwrap();
    assert_eq!(meta["codecs"][1]["name"], "zstd", "{meta}");
}

#[test]
fn other_readers_see_what_is_committed() {
    let (_tmp, store) = store();
    let run = store.create_run("r", "e", json!({})).unwrap();
    let d = run.dataset::<f64>("t", &[]).unwrap();
    let other = || Store::open(store.path()).unwrap().open_run("r").unwrap();
    d.push(1.0).unwrap();
    // The writer sees its appends; another reader, once they are committed.
    assert_eq!(run.read::<f64>("t").unwrap().len(), 1);
    assert_eq!(other().read::<f64>("t").unwrap().len(), 0);
    d.commit().unwrap();
    assert_eq!(other().read::<f64>("t").unwrap().len(), 1);

    let tmp = tempfile::tempdir().unwrap();
    let each = Store::create_with(
        tmp.path(),
        smq_store::StoreOptions::new().commit_every(std::time::Duration::ZERO),
    )
    .unwrap();
    let t = each
        .create_run("r", "e", json!({}))
        .unwrap()
        .dataset::<f64>("t", &[])
        .unwrap();
    t.push(2.0).unwrap();
    assert_eq!(t.committed_len(), 1); // durable on return
    let fresh = Store::open(tmp.path()).unwrap().open_run("r").unwrap();
    assert_eq!(fresh.read::<f64>("t").unwrap().as_slice(), Some(&[2.0][..]));
}

#[test]
fn a_run_has_one_writer_at_a_time() {
    let (_tmp, store) = store();
    let run = store.create_run("r", "e", json!({})).unwrap();
    assert!(run.is_being_written());
    let second = Store::open(store.path()).unwrap();
    let e = second
        .open_run("r")
        .unwrap()
        .dataset::<f64>("t", &[])
        .unwrap_err();
    assert!(matches!(e, Error::RunBusy(_)), "{e}");
    // Reading is always allowed.
    assert!(second.open_run("r").unwrap().metadata().is_ok());
    drop(run);
    drop(store);
    let run = second.open_run("r").unwrap();
    assert!(!run.is_being_written());
    run.dataset::<f64>("t", &[]).unwrap();
    assert!(run.is_being_written());
}

#[test]
fn values_committed_beyond_their_points_are_set_back_on_the_next_open() {
    let (_tmp, store) = store();
    let run = store.create_run("r", "e", json!({})).unwrap();
    for p in 0..5u64 {
        run.append_at("v", p, &(p as f64)).unwrap();
    }
    let (path, dir) = (store.path().to_owned(), run.path().to_owned());
    drop((run, store));
    // What a crash between the two renames of a commit leaves: the values committed, their
    // points not yet (here: the points' metadata of an earlier commit, of length 3).
    let meta_path = dir.join("v_point/zarr.json");
    let mut meta: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&meta_path).unwrap()).unwrap();
    meta["shape"] = json!([3]);
    std::fs::write(&meta_path, serde_json::to_vec(&meta).unwrap()).unwrap();

    let store = Store::open(&path).unwrap();
    let repairs = store.repairs();
    assert_eq!(repairs.len(), 1, "{repairs:?}");
    assert!(
        matches!(
            &repairs[0],
            smq_store::Repair::TrimmedToPoints { from: 5, to: 3, .. }
        ),
        "{repairs:?}"
    );
    let run = store.open_run("r").unwrap();
    assert_eq!(run.read::<f64>("v").unwrap().len(), 3);
    let raw: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("v/zarr.json")).unwrap()).unwrap();
    assert_eq!(raw["shape"], json!([3]));
}

/// Waveforms of 3 samples whose first sample is the acquisition's index.
fn trace(i: u64) -> Array1<f64> {
    Array1::from_vec(vec![i as f64, 0.5, -0.5])
}

#[test]
fn a_range_reads_across_chunks_and_the_uncommitted_tail_as_the_whole_read_does() {
    let dir = tempfile::tempdir().unwrap();
    let options = smq_store::StoreOptions::new()
        .commit_every(std::time::Duration::from_secs(3600))
        .chunk_bytes(24 * 4); // 4 traces a chunk
    let store = Store::create_with(dir.path(), options).unwrap();
    let run = store.create_run("r", "e", json!({})).unwrap();
    for i in 0..10 {
        run.append("w", &trace(i)).unwrap();
    }
    run.commit().unwrap();
    for i in 10..13 {
        run.append("w", &trace(i)).unwrap(); // in memory only
    }
    let whole = run.read::<f64>("w").unwrap();
    for range in [0..13, 3..9, 8..12, 10..13, 12..12, 0..1] {
        let part = run.read_range::<f64>("w", range.clone()).unwrap();
        let expected = whole.slice_axis(
            ndarray::Axis(0),
            ndarray::Slice::from(range.start as usize..range.end as usize),
        );
        assert_eq!(part, expected, "{range:?}");
    }
    // Another process sees what was committed, and reads a part of it alone.
    let reader = Store::open(dir.path()).unwrap().open_run("r").unwrap();
    let part = reader.read_range::<f64>("w", 6..10).unwrap();
    assert_eq!(part.shape(), [4, 3]);
    assert_eq!(part[[0, 0]], 6.0);
    assert_eq!(part[[3, 0]], 9.0);
    #[allow(clippy::reversed_empty_ranges)] // a reversed range is refused, tested here
    let reversed = 5..3;
    for bad in [9..11, reversed] {
        let e = reader.read_range::<f64>("w", bad.clone()).unwrap_err();
        assert!(
            matches!(e, Error::OutOfRange { len: 10, .. }),
            "{bad:?}: {e}"
        );
    }
    let e = run.read_range::<f64>("w", 12..14).unwrap_err();
    assert!(
        matches!(
            e,
            Error::OutOfRange {
                index: 13,
                len: 13,
                ..
            }
        ),
        "{e}"
    );
    assert!(matches!(
        run.read_range::<f32>("w", 0..1).unwrap_err(),
        Error::DataTypeMismatch { .. }
    ));
}
