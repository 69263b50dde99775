//! How a store writes: commit interval, chunk size, compression, file system.

use std::sync::Arc;
use std::time::Duration;

use crate::fs::{FileSystem, StdFileSystem};

/// The default interval between two commits: 0.2 s.
pub const DEFAULT_COMMIT_EVERY: Duration = Duration::from_millis(200);

/// The default target size of a chunk: 1 MiB.
pub const DEFAULT_CHUNK_BYTES: usize = 1 << 20;

/// The compression of new datasets' chunks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Compression {
    /// None: chunks are the elements' little-endian bytes. New acquisitions are written in
    /// place after the committed ones, so each byte is written once. The default.
    #[default]
    None,
    /// The Zarr v3 `zstd` codec at this level (1 to 22; 1 to 3 are fast). A chunk that
    /// grows is compressed and written whole again at every commit, through a temporary
    /// file renamed over it.
    #[cfg(feature = "zstd")]
    Zstd {
        /// The compression level.
        level: i32,
    },
}

/// How a [`Store`](crate::Store) writes.
///
/// ```
/// use std::time::Duration;
/// use smq_store::{Compression, StoreOptions};
///
/// let options = StoreOptions::new()
///     .commit_every(Duration::from_millis(500)) // group commits twice a second
///     .chunk_bytes(4 << 20)                      // chunks of about 4 MiB
///     .compression(Compression::None);
/// assert_eq!(options.commit_interval(), Duration::from_millis(500));
/// ```
#[derive(Debug, Clone)]
pub struct StoreOptions {
    pub(crate) commit_every: Duration,
    pub(crate) chunk_bytes: usize,
    pub(crate) compression: Compression,
    pub(crate) fs: Arc<dyn FileSystem>,
}

impl Default for StoreOptions {
    fn default() -> Self {
        Self {
            commit_every: DEFAULT_COMMIT_EVERY,
            chunk_bytes: DEFAULT_CHUNK_BYTES,
            compression: Compression::None,
            fs: Arc::new(StdFileSystem),
        }
    }
}

impl StoreOptions {
    /// The defaults: a commit every 0.2 s, chunks of about 1 MiB, no compression, the
    /// operating system's file system.
    pub fn new() -> Self {
        Self::default()
    }

    /// Commit what was appended every `interval`, on the store's own writer thread. With
    /// `Duration::ZERO` there is no writer thread: every append commits before it returns,
    /// so each acquisition is durable when its append (or save) returns, at the price of
    /// a few `fsync`s each.
    #[must_use]
    pub fn commit_every(mut self, interval: Duration) -> Self {
        self.commit_every = interval;
        self
    }

    /// The target size of a new dataset's chunks: each chunk holds as many acquisitions as
    /// fit in `bytes` (at least one). Existing datasets keep their chunks.
    #[must_use]
    pub fn chunk_bytes(mut self, bytes: usize) -> Self {
        self.chunk_bytes = bytes.max(1);
        self
    }

    /// The compression of new datasets; existing datasets keep theirs.
    #[must_use]
    pub fn compression(mut self, compression: Compression) -> Self {
        self.compression = compression;
        self
    }

    /// Write through `fs` instead of the operating system's file system directly, e.g. a
    /// [`FailingFileSystem`](crate::FailingFileSystem) to test failures.
    #[must_use]
    pub fn file_system(mut self, fs: impl FileSystem + 'static) -> Self {
        self.fs = Arc::new(fs);
        self
    }

    /// The interval between commits (zero: every append commits).
    pub fn commit_interval(&self) -> Duration {
        self.commit_every
    }

    /// The acquisitions per chunk of a new dataset whose acquisitions take
    /// `acquisition_bytes` bytes.
    pub(crate) fn chunk_acquisitions(&self, acquisition_bytes: usize) -> u64 {
        (self.chunk_bytes / acquisition_bytes.max(1)).max(1) as u64
    }
}
