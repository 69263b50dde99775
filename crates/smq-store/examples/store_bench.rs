//! The store's side of `bench/store.py` (which runs it next to h5py and zarr-python):
//!
//! ```text
//! store_bench scalars DIR SECONDS [zstd]    f64 readings appended as fast as possible
//! store_bench waveforms DIR SECONDS [zstd]  10 KB waveforms appended as fast as possible
//! store_bench disk DIR MIB                  the disk's own rate: MIB MiB written, fsync
//! store_bench million DIR                   one run with 1,000,000 f64 readings
//! ```
//!
//! The append loops commit every 0.2 s (the default) and once more at the end; the time
//! includes that last commit, so every acquisition counted is durable. Each prints one
//! line of JSON.

use std::io::Write;
use std::time::{Duration, Instant};

use ndarray::Array1;
use smq_store::{Compression, Store, StoreOptions};

type Error = Box<dyn std::error::Error>;

fn options(zstd: bool) -> StoreOptions {
    if zstd {
        StoreOptions::new().compression(Compression::Zstd { level: 1 })
    } else {
        StoreOptions::new()
    }
}

/// Append `acquisition(i)` for `seconds`, commit, and report the rate.
fn appends(
    dir: &str,
    seconds: f64,
    zstd: bool,
    shape: &[usize],
    mut append: impl FnMut(&smq_store::Run, u64) -> smq_store::Result<u64>,
) -> Result<(u64, f64), Error> {
    let store = Store::create_with(dir, options(zstd))?;
    let name = store.new_run_name("bench")?;
    let run = store.create_run(&name, "bench", serde_json::json!({"shape": shape}))?;
    let start = Instant::now();
    let limit = Duration::from_secs_f64(seconds);
    let mut n = 0;
    while start.elapsed() < limit {
        for _ in 0..64 {
            append(&run, n)?;
            n += 1;
        }
    }
    run.finish(None)?;
    Ok((n, start.elapsed().as_secs_f64()))
}

fn main() -> Result<(), Error> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let arg = |i: usize| args.get(i).map(String::as_str).unwrap_or("");
    let zstd = arg(3) == "zstd";
    let line = match arg(0) {
        "scalars" => {
            let seconds: f64 = arg(2).parse()?;
            let mut ds = None;
            let (n, t) = appends(arg(1), seconds, zstd, &[], |run, i| {
                let d = match &ds {
                    Some(d) => d,
                    None => ds.insert(run.dataset::<f64>("reading", &[])?),
                };
                d.push(i as f64)
            })?;
            format!(
                r#"{{"points": {n}, "seconds": {t}, "per_s": {}}}"#,
                n as f64 / t
            )
        }
        "waveforms" => {
            let seconds: f64 = arg(2).parse()?;
            let wave = Array1::from_iter((0..1280).map(|k| (f64::from(k) * 0.01).sin()));
            let mut ds = None;
            let (n, t) = appends(arg(1), seconds, zstd, &[1280], |run, _| {
                let d = match &ds {
                    Some(d) => d,
                    None => ds.insert(run.dataset::<f64>("waveform", &[1280])?),
                };
                d.append(&wave.view())
            })?;
            let mib = n as f64 * 10240.0 / f64::from(1 << 20);
            format!(
                r#"{{"waveforms": {n}, "seconds": {t}, "mib_per_s": {}}}"#,
                mib / t
            )
        }
        "disk" => {
            let mib: usize = arg(2).parse()?;
            let path = std::path::Path::new(arg(1)).join("disk-rate.bin");
            let block = vec![0x5au8; 1 << 20];
            let start = Instant::now();
            let mut f = std::fs::File::create(&path)?;
            for _ in 0..mib {
                f.write_all(&block)?;
            }
            f.sync_all()?;
            let t = start.elapsed().as_secs_f64();
            std::fs::remove_file(&path)?;
            format!(
                r#"{{"mib": {mib}, "seconds": {t}, "mib_per_s": {}}}"#,
                mib as f64 / t
            )
        }
        "million" => {
            let store = Store::create(arg(1))?;
            let run = store.create_run("million", "bench", serde_json::json!({}))?;
            let d = run.dataset::<f64>("reading", &[])?;
            for i in 0..1_000_000u32 {
                d.push(f64::from(i))?;
            }
            run.finish(None)?;
            format!(r#"{{"path": "{}"}}"#, run.path().join("reading").display())
        }
        _ => return Err("usage: store_bench scalars|waveforms|disk|million DIR [ARG]".into()),
    };
    println!("{line}");
    Ok(())
}
