//! # smq-store — acquisitions stored as they arrive, in a Zarr v3 store
//!
//! Appending an acquisition copies it into memory and returns; the store's writer thread
//! commits what was appended every 0.2 s (by default), in one group for all datasets, with
//! one `fsync` per file written. A crash or a `kill -9` at any moment loses at most what
//! was appended since the last commit; everything committed reads back unchanged, by this
//! crate or by any Zarr v3 reader (Python's `zarr`, …).
//!
//! ## Layout
//!
//! ```text
//! <store>/zarr.json                 root group (attribute "smq_store")
//! <store>/<run>/zarr.json           one group per run; the run's metadata as attributes
//! <store>/<run>/<dataset>/zarr.json one array per dataset, shape [n, acquisition shape…]
//! <store>/<run>/<dataset>/c/<i>/0…  chunk i: acquisitions i·k to i·k + k − 1
//! ```
//!
//! The store directory (e.g. `./runs/`) is the Zarr root group; each run is a child group.
//! A run's attributes (see [`keys`]) are `start` and `end` (RFC 3339, UTC), `experiment`
//! and its `parameters` (JSON), `instruments` (instrument name → `*IDN?` string) and
//! `dag_summary` (whatever JSON the caller gives, e.g. task counts by state and label).
//!
//! A chunk holds `k` whole acquisitions, as many as fit in about 1 MiB
//! ([`StoreOptions::chunk_bytes`]): 131,072 `f64` readings, or 102 waveforms of 10 KB. A
//! million scalar readings are 8 chunk files. Chunks are uncompressed by default (the
//! `bytes` codec, in this machine's byte order: little-endian on x86 and ARM), and the
//! fill value is 0; the `zstd` codec is an option ([`Compression`]).
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
//!     waveforms.append(&Array1::from_elem(8, i as f64).view())?; // in memory
//!     temperature.push(20.0 + i as f64)?;
//! }
//! run.finish(Some(json!({"done": 6})))?; // commits, then records the end
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
//! submits a small task on the given queue that copies the value into the store when it is
//! ready, and [`Run::save_at`] also records the scan point of each value.
//!
//! ## Commits
//!
//! A commit writes, for each dataset with new acquisitions, the chunks that hold them,
//! then its `zarr.json` with the new length, renamed over the old one. **The write that
//! commits an acquisition is that rename**: a dataset's committed length is the length in
//! its `zarr.json`, and every acquisition below it is complete and durable. The protocol,
//! as numbered steps with its invariants, is in the `commit` module's source; in short:
//!
//! 1. snapshot what was appended (a value and its point together);
//! 2. write the new chunk bytes, fsync each file;
//! 3. fsync the directories that got new entries;
//! 4. publish each dataset's `zarr.json` (temporary file, fsync, rename, fsync the
//!    directory), points datasets last;
//! 5. forget the bytes now on disk.
//!
//! Commits happen every [`StoreOptions::commit_every`] (0.2 s by default) on the store's
//! own thread, and when asked: [`Store::commit`] (e.g. on a pause), [`Run::finish`] and
//! when the store's last handle is dropped. With an interval of zero, every append commits
//! before returning (per-acquisition durability, at a few `fsync`s each). A dataset that
//! holds more than 64 MiB not yet handed to a commit commits on the appending thread: a
//! producer faster than the disk waits for it rather than filling the memory.
//!
//! A failed commit (disk full, directory removed, read-only file system) **stops** the
//! store: the error, with its path and OS error, is returned by the next append or
//! commit ([`Error::Stopped`]) and given to the callbacks of [`Store::on_failure`];
//! nothing more is written, and what was committed before stays readable. All writes go
//! through a [`FileSystem`]; [`FailingFileSystem`] fails them on purpose, for tests.
//!
//! ## Reading, and the committed length
//!
//! A reader takes each dataset's length from its `zarr.json`. A dataset `D` saved with
//! [`Run::save_at`] has its scan points in `D_point` ([`Run::points_of`]); the two are
//! committed together, `D` first, and **the committed length of the pair is the length of
//! `D_point`**. A crash between the two renames of a commit can leave `D` longer than
//! `D_point` on disk: readers trim `D` to `len(D_point)`. This crate's readers
//! ([`Run::read`], [`Run::datasets`]) do, and the next [`Store::open`] sets `D`'s metadata
//! back to that length ([`Store::repairs`] lists it).
//!
//! The same open removes the `*.tmp` files an interrupted commit can leave (a `zarr.json`
//! or chunk not renamed into place), in every run that has no `end` and that no store
//! writes: a store that writes a run holds a lock on its directory (`flock`), which the
//! operating system releases when the process ends, even by `kill -9`
//! ([`Run::is_being_written`]). A run that crashed has no `end` attribute.
//!
//! ## Reading from Python
//!
//! ```python
//! import zarr
//! root = zarr.open_group("runs", mode="r")
//! run = root["run-001"]
//! print(dict(run.attrs))            # start, end, experiment, parameters, instruments, …
//! w = run["waveforms"][:]           # numpy array, shape (n, points)
//! points = run["waveform_point"][:] # for a dataset saved with save_at:
//! w = run["waveform"][: len(points)] #   its committed length is that of its points
//! ```
//!
//! The `demo_run` example writes a run with `f64`, `f32`, `i16` and `u8` datasets to look
//! at this way, and the `python` test reads what this crate writes with `zarr` 3.
//!
//! ## Why these dependencies
//!
//! Zarr v3 is an open, chunked array format with readers in Python, Julia, JavaScript and
//! C. `zarrs` is the complete Rust implementation of Zarr v3 (codecs, chunk grids, chunk
//! key encodings): it writes the metadata, encodes compressed chunks and reads everything
//! back, so the files are exactly what other readers expect. It is used without default
//! features (the file system store, plus its `zstd` codec behind this crate's `zstd`
//! feature, on by default). The commits themselves are written here, because they need
//! what a generic store does not do: writing only the new bytes of a chunk in place,
//! renaming metadata into place, and one `fsync` per file per group of appends. `bytemuck`
//! turns elements into bytes without copies of its own; `rustix` gives the `flock` that
//! marks a run as being written (the standard library's file locks need a newer Rust).

mod commit;
mod dataset;
mod describe;
mod element;
mod error;
mod fs;
mod fsutil;
mod info;
mod options;
mod recover;
mod run;
mod save;
mod store;

pub use crate::dataset::Dataset;
pub use crate::describe::Description;
pub use crate::element::Element;
pub use crate::error::{Error, Result};
pub use crate::fs::{FailingFileSystem, FileSystem, StdFileSystem};
pub use crate::fsutil::now_rfc3339;
pub use crate::info::DatasetInfo;
pub use crate::options::{Compression, DEFAULT_CHUNK_BYTES, DEFAULT_COMMIT_EVERY, StoreOptions};
pub use crate::recover::Repair;
pub use crate::run::{Run, RunMetadata, keys};
pub use crate::save::Record;
pub use crate::store::Store;
