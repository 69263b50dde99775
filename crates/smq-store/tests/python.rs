//! zarr-python 3 reads what the store writes: partial chunks grown over several commits,
//! waveforms, images, compressed chunks, and values with their points.
//!
//! Needs Python 3 with `zarr` 3 and `numpy` (`pip install zarr`), so it is ignored by a
//! plain `cargo test`; `.ci/run` installs them and runs it with
//! `cargo test -p smq-store --test python -- --ignored`. `SMQ_PYTHON` names the
//! interpreter (default `python3`). Without zarr it fails, saying so: it never passes
//! without reading.

#![allow(clippy::unwrap_used)] // a failing test may panic

use std::process::Command;

use ndarray::{Array1, Array2};
use serde_json::json;
use smq_store::{Compression, Store, StoreOptions};

const SCRIPT: &str = r#"
import json, sys
import numpy as np
import zarr
root = zarr.open_group(sys.argv[1], mode="r")
run = root["r"]
out = {"zarr": zarr.__version__, "attrs": dict(run.attrs)}
for name, a in sorted(run.arrays()):
    v = a[:]
    out[name] = {"shape": list(v.shape), "dtype": str(v.dtype), "sum": float(np.asarray(v, dtype="f8").sum()),
                 "first": np.asarray(v).ravel()[:3].tolist(), "last": np.asarray(v).ravel()[-3:].tolist()}
points = run["signal_point"][:]
signal = run["signal"][: len(points)]
out["pairs_agree"] = bool(np.all(signal == points * 0.5))
print(json.dumps(out))
"#;

#[test]
#[ignore = "needs Python with zarr 3 (pip install zarr); .ci/run runs it"]
fn zarr_python_reads_what_the_store_writes() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("runs");
    {
        // The first writer, closed with the end of this block (datasets hold it too).
        let store = Store::create(&dir).unwrap();
        let run = store
            .create_run("r", "python", json!({"points": 3}))
            .unwrap();
        let readings = run.dataset::<f64>("reading", &[]).unwrap();
        for i in 0..1000u32 {
            readings.push(f64::from(i)).unwrap();
            if i % 97 == 0 {
                readings.commit().unwrap(); // the last chunk grows over many commits
            }
        }
        let waves = run.dataset::<f32>("wave", &[1280]).unwrap();
        for i in 0..250u16 {
            waves
                .append(&Array1::from_elem(1280, f32::from(i)).view())
                .unwrap();
        }
        let images = run.dataset::<u8>("image", &[4, 5]).unwrap();
        for i in 0..3u8 {
            images
                .append_nd(&Array2::from_elem((4, 5), i).view().into_dyn())
                .unwrap();
        }
        for p in 0..40u64 {
            run.append_at("signal", p, &(p as f64 * 0.5)).unwrap();
        }
        run.finish(Some(json!({"done": 1}))).unwrap();
    }
    {
        let zstd = StoreOptions::new().compression(Compression::Zstd { level: 3 });
        let store = Store::open_with(&dir, zstd).unwrap();
        let run = store.open_run("r").unwrap();
        let packed = run.dataset::<i16>("packed", &[100]).unwrap();
        for i in 0..50i16 {
            packed.append(&Array1::from_elem(100, i).view()).unwrap();
            packed.commit().unwrap();
        }
    }
    let python = std::env::var("SMQ_PYTHON").unwrap_or_else(|_| "python3".into());
    let out = Command::new(&python)
        .args(["-c", SCRIPT])
        .arg(&dir)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {python}: {e}; install Python 3 with zarr"));
    assert!(
        out.status.success(),
        "{python} failed (is zarr 3 installed? pip install zarr):\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let r: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(r["zarr"].as_str().unwrap().starts_with('3'), "{r}");
    assert_eq!(r["attrs"]["experiment"], "python");
    assert!(r["attrs"]["end"].is_string());
    assert_eq!(r["reading"]["shape"], json!([1000]));
    assert_eq!(r["reading"]["sum"], json!(499_500.0));
    assert_eq!(r["reading"]["last"], json!([997.0, 998.0, 999.0]));
    assert_eq!(r["wave"]["shape"], json!([250, 1280]));
    assert_eq!(r["wave"]["dtype"], "float32");
    assert_eq!(r["wave"]["sum"], json!(1280.0 * 249.0 * 250.0 / 2.0));
    assert_eq!(r["image"]["shape"], json!([3, 4, 5]));
    assert_eq!(r["image"]["sum"], json!(20.0 * 3.0));
    assert_eq!(r["packed"]["shape"], json!([50, 100]));
    assert_eq!(r["packed"]["sum"], json!(100.0 * 49.0 * 50.0 / 2.0));
    assert_eq!(r["signal"]["shape"], r["signal_point"]["shape"]);
    assert_eq!(r["pairs_agree"], true);
}
