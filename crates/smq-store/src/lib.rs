//! # smq-store — acquisitions stored as they arrive, in a Zarr v3 store
//!
//! Each acquisition is written to disk, durably, the moment it is appended, so a crash or a
//! `kill -9` at any moment loses at most the acquisitions in flight; everything appended
//! before stays readable, by this crate or by any Zarr v3 reader (Python's `zarr`, …).
//!
//! ## Layout
//!
//! ```text
//! <store>/zarr.json                 root group (attribute "smq_store")
//! <store>/<run>/zarr.json           one group per run; the run's metadata as attributes
//! <store>/<run>/<dataset>/zarr.json one array per dataset, shape [n, acquisition shape…]
//! <store>/<run>/<dataset>/c/<i>/0…  chunk i = acquisition i (chunk shape [1, shape…])
//! ```
//!
//! The store directory (e.g. `./runs/`) is the Zarr root group; each run is a child group.
//! A run's attributes (see [`keys`]) are `start` and `end` (RFC 3339, UTC), `experiment`
//! and its `parameters` (JSON), `instruments` (instrument name → `*IDN?` string) and
//! `dag_summary` (whatever JSON the caller gives, e.g. task counts by state and label).
//! Arrays are uncompressed (the `bytes` codec, little-endian) with fill value 0.
//!
//! ## A run
//!
//! ```
//! # let dir = std::env::temp_dir().join(format!("smq-store-doc-lib-{}", std::process::id()));
//! use ndarray::Array1;
//! use serde_json::json;
//! use smq_store::Store;
//!
//! let store = Store::create(&dir)?; // e.g. "./runs"
//! let run = store.create_run("run-001", "ringdown", json!({"points": 8, "gain": 2.5}))?;
//! run.set_instrument("scope", "ACME,DSO-1,42,1.0")?;
//!
//! let waveforms = run.dataset::<f64>("waveforms", &[8])?;
//! let temperature = run.dataset::<f64>("temperature", &[])?;
//! for i in 0..3 {
//!     waveforms.append(&Array1::from_elem(8, i as f64).view())?; // durable on return
//!     temperature.push(20.0 + i as f64)?;
//! }
//! run.finish(Some(json!({"done": 6})))?;
//!
//! // Later, or from another process:
//! let store = Store::open(&dir)?;
//! assert_eq!(store.runs()?, ["run-001"]);
//! let run = store.open_run("run-001")?;
//! for d in run.datasets()? {
//!     println!("{} {} {:?}", d.name, d.data_type, d.shape); // temperature float64 [3] …
//! }
//! assert_eq!(run.read::<f64>("waveforms")?.shape(), &[3, 8]);
//! assert_eq!(run.read_acquisition::<f64>("waveforms", 2)?[[5]], 2.0);
//! # std::fs::remove_dir_all(&dir).ok();
//! # Ok::<(), smq_store::Error>(())
//! ```
//!
//! With the scheduler, [`Run::save`] marks a promised result for saving in one call: it
//! submits a small task on the given queue that appends the value when it is ready.
//!
//! ## Crash safety
//!
//! One acquisition is one chunk; the chunk is written and synced first, then the array's
//! `zarr.json` with the new length replaces the old one by an atomic rename. The protocol
//! and its invariant are documented in the `dataset` module's source; a test kills a
//! writer process with SIGKILL and checks every acquisition it reported.
//!
//! A crash can leave a `zarr.json.tmp` beside a `zarr.json`, or one chunk file beyond an
//! array's length; readers ignore both (Python's `zarr` warns that it does not recognise
//! the temporary file), and the next update of that node replaces them. A run that
//! crashed has no `end` attribute. Durability costs a few `fsync`s per append (chunk file,
//! its new directories, the metadata file and its directory).
//!
//! ## Reading from Python
//!
//! ```python
//! import zarr
//! root = zarr.open_group("runs", mode="r")
//! run = root["run-001"]
//! print(dict(run.attrs))            # start, end, experiment, parameters, instruments, …
//! w = run["waveforms"][:]           # numpy array, shape (n, points)
//! ```
//!
//! The `demo_run` example writes a run with `f64`, `f32`, `i16` and `u8` datasets to look
//! at this way (checked with `zarr` 3.1).
//!
//! ## Why zarrs
//!
//! Zarr v3 is an open, chunked array format with readers in Python, Julia, JavaScript and
//! C; chunk-per-acquisition appends map naturally onto it. `zarrs` is the complete Rust
//! implementation of Zarr v3 (codecs, chunk grids, chunk key encodings), so the files are
//! exactly what other readers expect; it is used without default features (file system
//! store only, no compression codecs), and its data is converted to and from `ndarray`
//! 0.17 at the boundary. The one thing done here by hand is the crash-safe metadata
//! update, since its file system store writes in place.

mod dataset;
mod element;
mod error;
mod fsutil;
mod save;
mod store;

pub use crate::dataset::{Dataset, DatasetInfo};
pub use crate::element::Element;
pub use crate::error::{Error, Result};
pub use crate::save::Record;
pub use crate::store::{Run, RunMetadata, Store, keys};
