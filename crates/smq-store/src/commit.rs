//! Group commits: how appended acquisitions become durable.
//!
//! # The commit protocol
//!
//! An append copies the acquisition into its dataset's in-memory tail (under the dataset's
//! mutex) and returns. A commit makes every acquisition appended so far durable, for all
//! datasets at once. Commits are serialized by the store's commit mutex; they run on the
//! store's writer thread every `commit_every`, and also when asked ([`Store::commit`], a
//! run's end, an append of a store that commits every append, the last handle dropped).
//!
//! 1. **Snapshot.** For each dataset with something new, under its mutex: note its length
//!    `L`, copy the bytes to write and build its metadata with shape `[L, …]`. A dataset
//!    and its points dataset (written in pairs by `save_at`) are snapshot together, the
//!    points' mutex taken first as an append of a pair takes them, so both have the same
//!    `L`. Appends go on meanwhile; they land beyond `L`, for the next commit.
//! 2. **Chunks.** Write the chunks that hold acquisitions `committed..L`, creating missing
//!    directories, and fsync each file written (once per file). Plain chunks (no codec)
//!    are written in place, only the new bytes, beyond the committed ones, into a file
//!    sized to a whole chunk (the rest a sparse hole, read as the fill value, zero).
//!    Encoded chunks (zstd) are encoded whole, written to `<chunk>.tmp`, fsynced and
//!    renamed over the chunk.
//! 3. **Directories.** Fsync each directory that got a new entry in step 2 (once each).
//! 4. **Publish.** For each dataset, write its metadata to `zarr.json.tmp`, fsync it,
//!    rename it over `zarr.json`, fsync the dataset's directory. The datasets that are
//!    some dataset's points are published last, after all the others; one that is not on
//!    disk yet is first published empty (length 0), before any dataset.
//! 5. **Release.** Under each dataset's mutex, record `committed = L` and drop the tail's
//!    bytes that are now on disk and no longer needed.
//!
//! **Invariants.**
//! * Every byte of acquisitions `0..committed` named by a `zarr.json` on disk is durable
//!   and never written again: step 2 writes only beyond `committed`, in place, or through
//!   a rename that replaces a chunk by one with the same committed bytes.
//! * `zarr.json` is only ever replaced by a rename (step 4), so it is always a complete
//!   version, and its length only grows; it is published after the chunks and directories
//!   it names are durable (steps 2 and 3 precede step 4).
//! * For a pair, the values' `zarr.json` is published before the points', from the same
//!   snapshot: on disk, a dataset is never committed shorter than its points dataset, and
//!   the point of an acquisition is committed only once the acquisition is. A dataset
//!   with points is never on disk without its points dataset (published empty first, in
//!   the first commit of the pair), so the repair can always find it. The number of
//!   committed points is therefore the pair's committed length: readers trim the values
//!   to it (see the crate docs), and the next open of the run trims their metadata too.
//!
//! So a crash or `kill -9` at any moment loses at most what was appended since the last
//! completed commit, and what a crash interrupts mid-commit is either invisible (chunk
//! bytes beyond `committed`, overwritten by the next commit) or a `*.tmp` file, which the
//! next open of the store removes. A failed step stops the store (see [`Committer`]): the
//! error reaches the next append, [`Store::commit`], and the callbacks of
//! [`Store::on_failure`]; nothing more is written, and what was committed stays readable.
//!
//! [`Store::commit`]: crate::Store::commit
//! [`Store::on_failure`]: crate::Store::on_failure

use std::collections::{BTreeSet, HashSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, OnceLock, PoisonError, Weak};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use zarrs::array::codec::{ArrayToBytesCodecTraits, CodecOptions};
use zarrs::array::{ArrayBytes, ChunkRepresentation, codec::CodecChain};

use crate::dataset::{Cell, Inner};
use crate::error::{Error, Result, io, zarr};
use crate::fs::FileSystem;
use crate::fsutil::{json_bytes, tmp_path, write_atomic};
use crate::store::Shared;

/// A callback told of the failure that stopped a store.
pub(crate) type FailureCallback = Arc<dyn Fn(&Error) + Send + Sync>;

/// The commit state of a store: one commit at a time, the failure that stopped it, and
/// its writer thread.
#[derive(Default)]
pub(crate) struct Committer {
    /// Held for the whole of a commit (steps 1 to 5).
    lock: Mutex<()>,
    /// Set once, by the first failed commit; never cleared.
    failure: OnceLock<Arc<Error>>,
    /// Told of the failure once, outside the commit lock.
    callbacks: Mutex<Vec<FailureCallback>>,
    /// The thread that commits every `commit_every`, started with the first dataset.
    writer: Mutex<Option<Writer>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Committer {
    /// The failure that stopped the store, if any.
    pub(crate) fn failure(&self) -> Option<Arc<Error>> {
        self.failure.get().cloned()
    }

    /// `Ok` unless the store has stopped.
    pub(crate) fn check(&self) -> Result<()> {
        match self.failure.get() {
            Some(source) => Err(Error::Stopped {
                source: source.clone(),
            }),
            None => Ok(()),
        }
    }

    /// Call `f` with the failure that stops the store: now if it has stopped already.
    pub(crate) fn on_failure(&self, f: FailureCallback) {
        let now = {
            let mut callbacks = lock(&self.callbacks);
            match self.failure.get() {
                Some(e) => Some(e.clone()),
                None => {
                    callbacks.push(f.clone());
                    None
                }
            }
        };
        if let Some(e) = now {
            f(&e);
        }
    }

    /// Stop the writer thread, waiting for it unless this is that thread.
    pub(crate) fn stop_writer(&self) {
        let writer = lock(&self.writer).take();
        if let Some(mut w) = writer {
            *lock(&w.stop.0) = true;
            w.stop.1.notify_all();
            if let Some(t) = w.thread.take()
                && t.thread().id() != std::thread::current().id()
            {
                let _ = t.join();
            }
        }
    }
}

/// The writer thread of a store and the flag that stops it.
struct Writer {
    stop: Arc<(Mutex<bool>, Condvar)>,
    thread: Option<JoinHandle<()>>,
}

/// Start the store's writer thread if its commits are periodic and it is not running.
pub(crate) fn start_writer(shared: &Arc<Shared>) {
    let every = shared.options.commit_every;
    if every.is_zero() {
        return;
    }
    let mut writer = lock(&shared.commits.writer);
    if writer.is_some() {
        return;
    }
    let stop = Arc::new((Mutex::new(false), Condvar::new()));
    let weak = Arc::downgrade(shared);
    let flag = stop.clone();
    let thread = std::thread::Builder::new()
        .name("smq-store-writer".into())
        .spawn(move || run_writer(&weak, &flag, every));
    // Without a thread (the system refused one), appends still reach the disk through
    // explicit commits and the final one.
    *writer = Some(Writer {
        stop,
        thread: thread.ok(),
    });
}

/// The writer thread: a commit every `every`, until stopped, the store dropped, or a
/// commit failed. Holds the store only during a commit, so dropping the last handle ends it.
fn run_writer(shared: &Weak<Shared>, stop: &(Mutex<bool>, Condvar), every: Duration) {
    let mut next = Instant::now() + every;
    loop {
        let mut stopped = lock(&stop.0);
        loop {
            if *stopped {
                return;
            }
            let now = Instant::now();
            if now >= next {
                break;
            }
            stopped = stop
                .1
                .wait_timeout(stopped, next - now)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
        drop(stopped);
        next = (next + every).max(Instant::now());
        let Some(shared) = shared.upgrade() else {
            return;
        };
        if commit_all(&shared).is_err() {
            return;
        }
    }
}

/// The most bytes a dataset holds in memory, appended and not handed to a commit, before
/// an append commits on its own thread: a producer faster than the disk then waits for the
/// disk instead of filling the memory.
pub(crate) const MAX_UNCOMMITTED: usize = 64 << 20;

/// After an append of acquisition `index` to `cell`, whose tail now holds `held` bytes: if
/// the store commits every append, commit it (unless a concurrent commit already did); if
/// the tail is over [`MAX_UNCOMMITTED`], commit now.
pub(crate) fn after_append(shared: &Shared, cell: &Cell, index: u64, held: usize) -> Result<()> {
    if shared.options.commit_every.is_zero() {
        commit(shared, || cell.lock().committed > index)
    } else if held >= MAX_UNCOMMITTED {
        commit(shared, || cell.lock().buf.len() < MAX_UNCOMMITTED)
    } else {
        Ok(())
    }
}

/// Commit everything appended so far.
pub(crate) fn commit_all(shared: &Shared) -> Result<()> {
    commit(shared, || false)
}

/// Commit everything appended so far, unless `done` says, under the commit lock, that
/// what the caller needs is committed already.
fn commit(shared: &Shared, done: impl FnOnce() -> bool) -> Result<()> {
    let guard = lock(&shared.commits.lock);
    shared.commits.check()?;
    if done() {
        return Ok(());
    }
    let Err(e) = commit_locked(shared) else {
        return Ok(());
    };
    let source = Arc::new(e);
    let first = shared.commits.failure.set(source.clone()).is_ok();
    drop(guard);
    if first {
        let callbacks = std::mem::take(&mut *lock(&shared.commits.callbacks));
        for f in callbacks {
            f(&source);
        }
    }
    Err(Error::Stopped { source })
}

/// What one commit writes for one dataset (taken in step 1).
struct Job {
    cell: Arc<Cell>,
    name: String,
    /// The length published.
    target: u64,
    /// Directories that may be missing, outermost first (the dataset's own, if new, and
    /// its chunks').
    dirs: Vec<PathBuf>,
    chunks: Vec<(PathBuf, ChunkWrite)>,
    meta_path: PathBuf,
    meta: Vec<u8>,
    /// For a dataset not yet on disk, its metadata with length 0: a new points dataset is
    /// published so before the values of its pair (step 4).
    empty_meta: Option<Vec<u8>>,
    /// The codecs of encoded chunks.
    codecs: Option<(Arc<CodecChain>, ChunkRepresentation)>,
}

enum ChunkWrite {
    /// Plain bytes `range` of `bytes`, at `offset` of a chunk file of `len` bytes.
    InPlace {
        offset: u64,
        bytes: Arc<Vec<u8>>,
        range: std::ops::Range<usize>,
        len: u64,
    },
    /// The whole decoded chunk, to encode and replace the chunk with.
    Whole(Vec<u8>),
}

/// Steps 1 to 5, under the commit lock.
fn commit_locked(shared: &Shared) -> Result<()> {
    let cells: Vec<Arc<Cell>> = lock(&shared.datasets)
        .values()
        .map(|d| d.cell.clone())
        .collect();
    // Step 1.
    let points: HashSet<*const Cell> = cells
        .iter()
        .filter_map(|c| c.points.get().map(Arc::as_ptr))
        .collect();
    let (mut first, mut last) = (Vec::new(), Vec::new());
    for cell in &cells {
        if points.contains(&Arc::as_ptr(cell)) {
            continue; // taken with its values
        }
        match cell.points.get() {
            Some(p) => {
                let mut pg = p.lock();
                let mut vg = cell.lock();
                first.extend(snapshot(cell, &mut vg)?);
                last.extend(snapshot(p, &mut pg)?);
            }
            None => first.extend(snapshot(cell, &mut cell.lock())?),
        }
    }
    let fs = &*shared.options.fs;
    // Steps 2 and 3.
    let mut new_entries = BTreeSet::new();
    for job in first.iter().chain(&last) {
        write_chunks(fs, job, &mut new_entries)?;
    }
    for dir in &new_entries {
        fs.sync_dir(dir).map_err(io(dir))?;
    }
    // Step 4 for points datasets new to the disk: published empty before any values, so
    // that values on disk always have their points dataset beside them.
    for job in &last {
        if let Some(empty) = &job.empty_meta {
            write_atomic(fs, &job.meta_path, empty)?;
        }
    }
    // Steps 4 and 5: values before their points.
    for job in first.iter().chain(&last) {
        write_atomic(fs, &job.meta_path, &job.meta)?;
        job.cell.lock().committed_to(job.target);
    }
    Ok(())
}

/// Step 1 for one dataset, under its mutex: `None` if it has nothing new. Plain chunks'
/// new bytes are handed over without a copy: the tail moves to `Inner::flight`.
fn snapshot(cell: &Arc<Cell>, g: &mut Inner) -> Result<Option<Job>> {
    if g.on_disk && g.len == g.committed {
        return Ok(None);
    }
    let target = g.len;
    let flight = if g.plain && g.flight.is_none() && g.buf_start == g.committed {
        let capacity = g.buf.capacity();
        let taken = Arc::new(std::mem::replace(&mut g.buf, Vec::with_capacity(capacity)));
        g.buf_start = target;
        g.flight = Some(taken.clone());
        Some(taken)
    } else if g.plain {
        // Not expected (a commit hands over the whole tail and publishes it before the
        // next), but a copy keeps it correct.
        Some(Arc::new(g.uncommitted(g.committed..target)))
    } else {
        None
    };
    let k = g.chunk_acqs;
    let mut dirs = Vec::new();
    if !g.on_disk {
        dirs.push(g.dir.clone());
    }
    let mut chunks = Vec::new();
    let mut indices = vec![0; 1 + g.acq_shape.len()];
    let zarr_err = |e: &dyn std::fmt::Display| zarr(&g.name)(e.to_string());
    let codecs = if g.plain {
        None
    } else {
        let repr = g
            .array
            .chunk_array_representation(&indices)
            .map_err(|e| zarr_err(&e))?;
        Some((g.array.codecs(), repr))
    };
    for c in (target > g.committed)
        .then(|| g.committed / k..=(target - 1) / k)
        .into_iter()
        .flatten()
    {
        let start = c * k;
        let end = (start + k).min(target);
        indices[0] = c;
        let path = g.root.join(g.array.chunk_key(&indices).as_str());
        if start >= g.committed {
            // A chunk never committed: it and its directories may be missing.
            let mut missing: Vec<PathBuf> = path
                .ancestors()
                .skip(1)
                .take_while(|d| *d != g.dir)
                .map(Path::to_owned)
                .collect();
            missing.reverse();
            for d in missing {
                if !dirs.contains(&d) {
                    dirs.push(d);
                }
            }
        }
        let write = if g.plain {
            let from = g.committed.max(start);
            let at = |i: u64| (i - g.committed) as usize * g.acq_bytes;
            ChunkWrite::InPlace {
                offset: (from - start) * g.acq_bytes as u64,
                bytes: flight.clone().unwrap_or_default(),
                range: at(from)..at(end),
                len: k * g.acq_bytes as u64,
            }
        } else {
            let mut whole = g.tail(start..end).to_vec();
            whole.resize(k as usize * g.acq_bytes, 0);
            ChunkWrite::Whole(whole)
        };
        chunks.push((path, write));
    }
    let mut meta = g.meta.clone();
    meta["shape"] = std::iter::once(target)
        .chain(g.acq_shape.iter().copied())
        .collect();
    let meta_path = g.dir.join("zarr.json");
    let empty_meta = if g.on_disk {
        None
    } else {
        let mut empty = meta.clone();
        empty["shape"][0] = 0.into();
        Some(json_bytes(&meta_path, &empty)?)
    };
    Ok(Some(Job {
        cell: cell.clone(),
        name: g.name.clone(),
        target,
        dirs,
        chunks,
        meta: json_bytes(&meta_path, &meta)?,
        empty_meta,
        meta_path,
        codecs,
    }))
}

/// Step 2 for one dataset; records in `new_entries` the directories to sync in step 3.
fn write_chunks(fs: &dyn FileSystem, job: &Job, new_entries: &mut BTreeSet<PathBuf>) -> Result<()> {
    let mut created = |path: &Path| {
        if let Some(parent) = path.parent() {
            new_entries.insert(parent.to_owned());
        }
    };
    for dir in &job.dirs {
        if fs.create_dir(dir).map_err(io(dir))? {
            created(dir);
        }
    }
    for (path, write) in &job.chunks {
        match write {
            ChunkWrite::InPlace {
                offset,
                bytes,
                range,
                len,
            } => {
                if fs
                    .write_at(path, *offset, &bytes[range.clone()], *len)
                    .map_err(io(path))?
                {
                    created(path);
                }
            }
            ChunkWrite::Whole(decoded) => {
                let Some((codecs, repr)) = &job.codecs else {
                    continue; // whole chunks are only taken with codecs
                };
                let encoded = codecs
                    .encode(
                        ArrayBytes::new_flen(decoded.as_slice()),
                        repr,
                        &CodecOptions::default(),
                    )
                    .map_err(|e| zarr(&job.name)(e.to_string()))?;
                let tmp = tmp_path(path);
                fs.write_file(&tmp, &encoded).map_err(io(&tmp))?;
                fs.rename(&tmp, path).map_err(io(path))?;
                created(path);
            }
        }
    }
    Ok(())
}

impl Inner {
    /// Step 5: `target` acquisitions are committed; keep in the tail only what is not, and
    /// for encoded chunks the committed part of the last chunk.
    fn committed_to(&mut self, target: u64) {
        self.committed = self.committed.max(target);
        self.on_disk = true;
        self.meta["shape"] = std::iter::once(self.committed)
            .chain(self.acq_shape.iter().copied())
            .collect();
        if self.committed >= self.buf_start {
            self.flight = None;
        }
        let keep_from = if self.plain {
            self.committed.max(self.buf_start)
        } else {
            self.committed / self.chunk_acqs * self.chunk_acqs
        };
        if keep_from > self.buf_start {
            let drop_bytes = (keep_from - self.buf_start) as usize * self.acq_bytes;
            self.buf.drain(..drop_bytes);
            self.buf_start = keep_from;
        }
    }
}
