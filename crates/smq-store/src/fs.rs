//! The file operations the store writes with: the seam where failures can be injected.

use std::fmt;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// The file operations the store writes with, each one durable when it returns.
///
/// Every write of a [`Store`](crate::Store) (chunks, metadata, run attributes, the removal
/// of leftovers) goes through the [`StoreOptions::file_system`](crate::StoreOptions) it
/// was opened with; reading goes to the file system directly. [`StdFileSystem`] is the
/// real one; [`FailingFileSystem`] wraps one to fail on purpose, for testing what a run
/// does when the disk fills up or a directory disappears. Implement the trait to inject
/// other faults.
pub trait FileSystem: Send + Sync + fmt::Debug {
    /// Create the directory `path`, whose parent exists; `Ok(false)` if it existed already.
    ///
    /// # Errors
    ///
    /// The OS error, e.g. if the parent does not exist.
    fn create_dir(&self, path: &Path) -> io::Result<bool>;

    /// Write `bytes` at `offset` in the file `path`, creating the file if needed and
    /// extending it to at least `len` bytes (the extension reads as zeros), then make the
    /// file's content durable (`fsync`). Returns whether the file was created; its name is
    /// durable only once its directory is synced ([`sync_dir`](Self::sync_dir)).
    ///
    /// # Errors
    ///
    /// The OS error of the first operation that failed.
    fn write_at(&self, path: &Path, offset: u64, bytes: &[u8], len: u64) -> io::Result<bool>;

    /// Create or truncate the file `path`, write `bytes` and make them durable.
    ///
    /// # Errors
    ///
    /// The OS error of the first operation that failed.
    fn write_file(&self, path: &Path, bytes: &[u8]) -> io::Result<()>;

    /// Rename `from` to `to`, replacing `to` atomically if it exists.
    ///
    /// # Errors
    ///
    /// The OS error.
    fn rename(&self, from: &Path, to: &Path) -> io::Result<()>;

    /// Make the entries of the directory `path` (created, renamed, removed) durable.
    ///
    /// # Errors
    ///
    /// The OS error.
    fn sync_dir(&self, path: &Path) -> io::Result<()>;

    /// Remove the file `path`.
    ///
    /// # Errors
    ///
    /// The OS error.
    fn remove_file(&self, path: &Path) -> io::Result<()>;
}

/// The operating system's file system, through `std::fs`.
#[derive(Debug, Clone, Copy, Default)]
pub struct StdFileSystem;

impl FileSystem for StdFileSystem {
    fn create_dir(&self, path: &Path) -> io::Result<bool> {
        match fs::create_dir(path) {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists && path.is_dir() => Ok(false),
            Err(e) => Err(e),
        }
    }

    fn write_at(&self, path: &Path, offset: u64, bytes: &[u8], len: u64) -> io::Result<bool> {
        let (file, created) = match OpenOptions::new().write(true).open(path) {
            Ok(f) => (f, false),
            Err(e) if e.kind() == io::ErrorKind::NotFound => (
                OpenOptions::new().write(true).create_new(true).open(path)?,
                true,
            ),
            Err(e) => return Err(e),
        };
        let grown = file.metadata()?.len() < len;
        if grown {
            file.set_len(len)?;
        }
        write_all_at(&file, bytes, offset)?;
        // The size and allocation change only when the file is new or grown; otherwise
        // the data alone needs flushing.
        if created || grown {
            file.sync_all()?;
        } else {
            file.sync_data()?;
        }
        Ok(created)
    }

    fn write_file(&self, path: &Path, bytes: &[u8]) -> io::Result<()> {
        let mut f = File::create(path)?;
        f.write_all(bytes)?;
        f.sync_all()
    }

    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        fs::rename(from, to)
    }

    fn sync_dir(&self, path: &Path) -> io::Result<()> {
        File::open(path)?.sync_all()
    }

    fn remove_file(&self, path: &Path) -> io::Result<()> {
        fs::remove_file(path)
    }
}

#[cfg(unix)]
fn write_all_at(file: &File, bytes: &[u8], offset: u64) -> io::Result<()> {
    std::os::unix::fs::FileExt::write_all_at(file, bytes, offset)
}

#[cfg(not(unix))]
fn write_all_at(mut file: &File, bytes: &[u8], offset: u64) -> io::Result<()> {
    use std::io::{Seek, SeekFrom};
    file.seek(SeekFrom::Start(offset))?;
    file.write_all(bytes)
}

/// A [`FileSystem`] that fails on purpose: the first `n` operations go through to the
/// wrapped one, the following ones fail with an OS error (`ENOSPC`, "No space left on
/// device", unless another is chosen), for ever or for a given number of operations.
///
/// Every method of [`FileSystem`] counts as one operation. Use it to test what happens
/// when the disk fills up in the middle of a run:
///
/// ```
/// # let dir = tempfile::tempdir()?;
/// use std::time::Duration;
/// use smq_store::{FailingFileSystem, Store, StoreOptions};
///
/// let disk = FailingFileSystem::after(u64::MAX); // nothing fails yet
/// let options = StoreOptions::new()
///     .commit_every(Duration::ZERO)
///     .file_system(disk.clone());
/// let store = Store::create_with(dir.path(), options)?;
/// let run = store.create_run("r", "demo", serde_json::json!({}))?;
/// let t = run.dataset::<f64>("temperature", &[])?;
/// t.push(21.5)?;
/// disk.fail_after(0);
/// let e = t.push(21.6).unwrap_err();
/// assert!(e.to_string().contains("No space left on device"), "{e}");
/// assert!(t.push(21.7).is_err()); // the store has stopped
/// // What was committed before reads back.
/// let again = Store::open(dir.path())?.open_run("r")?;
/// assert_eq!(again.read::<f64>("temperature")?.len(), 1);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct FailingFileSystem {
    inner: Arc<dyn FileSystem>,
    state: Arc<FailState>,
    errno: i32,
}

#[derive(Debug)]
struct FailState {
    /// Operations done so far.
    done: AtomicU64,
    /// The first operation (counting from 0) that fails.
    first_failing: AtomicU64,
    /// How many operations fail, from `first_failing` on.
    failing: AtomicU64,
}

/// `ENOSPC` on Linux and the BSDs.
const ENOSPC: i32 = 28;

impl fmt::Debug for FailingFileSystem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FailingFileSystem")
            .field("inner", &self.inner)
            .field("operations", &self.operations())
            .field(
                "first_failing",
                &self.state.first_failing.load(Ordering::SeqCst),
            )
            .field("errno", &self.errno)
            .finish()
    }
}

impl FailingFileSystem {
    /// The real file system, failing every operation after the first `n`.
    pub fn after(n: u64) -> Self {
        Self::wrapping(StdFileSystem, n)
    }

    /// `inner`, failing every operation after the first `n`.
    pub fn wrapping(inner: impl FileSystem + 'static, n: u64) -> Self {
        Self {
            inner: Arc::new(inner),
            state: Arc::new(FailState {
                done: AtomicU64::new(0),
                first_failing: AtomicU64::new(n),
                failing: AtomicU64::new(u64::MAX),
            }),
            errno: ENOSPC,
        }
    }

    /// Fail with the OS error number `errno` (e.g. 5, `EIO`; 30, `EROFS`) instead of
    /// `ENOSPC`.
    #[must_use]
    pub fn with_errno(mut self, errno: i32) -> Self {
        self.errno = errno;
        self
    }

    /// Fail only `count` operations, then let the following ones through again (a
    /// transient fault: a disk that was full and has been cleaned up).
    #[must_use]
    pub fn times(self, count: u64) -> Self {
        self.state.failing.store(count, Ordering::SeqCst);
        self
    }

    /// Let the next `n` operations through, and fail from the one after (as many as set
    /// with [`times`](Self::times), if set). Clones share this setting.
    pub fn fail_after(&self, n: u64) {
        let done = self.state.done.load(Ordering::SeqCst);
        self.state
            .first_failing
            .store(done.saturating_add(n), Ordering::SeqCst);
    }

    /// The number of operations asked for so far, failed ones included.
    pub fn operations(&self) -> u64 {
        self.state.done.load(Ordering::SeqCst)
    }

    fn check(&self) -> io::Result<()> {
        let i = self.state.done.fetch_add(1, Ordering::SeqCst);
        let first = self.state.first_failing.load(Ordering::SeqCst);
        let failing = self.state.failing.load(Ordering::SeqCst);
        if i >= first && i - first < failing {
            Err(io::Error::from_raw_os_error(self.errno))
        } else {
            Ok(())
        }
    }
}

impl FileSystem for FailingFileSystem {
    fn create_dir(&self, path: &Path) -> io::Result<bool> {
        self.check()?;
        self.inner.create_dir(path)
    }

    fn write_at(&self, path: &Path, offset: u64, bytes: &[u8], len: u64) -> io::Result<bool> {
        self.check()?;
        self.inner.write_at(path, offset, bytes, len)
    }

    fn write_file(&self, path: &Path, bytes: &[u8]) -> io::Result<()> {
        self.check()?;
        self.inner.write_file(path, bytes)
    }

    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        self.check()?;
        self.inner.rename(from, to)
    }

    fn sync_dir(&self, path: &Path) -> io::Result<()> {
        self.check()?;
        self.inner.sync_dir(path)
    }

    fn remove_file(&self, path: &Path) -> io::Result<()> {
        self.check()?;
        self.inner.remove_file(path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn write_at_creates_extends_and_overwrites_in_place() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("chunk");
        let fs = StdFileSystem;
        assert!(fs.write_at(&p, 2, b"ab", 8).unwrap());
        assert_eq!(std::fs::read(&p).ok(), Some(b"\0\0ab\0\0\0\0".to_vec()));
        assert!(!fs.write_at(&p, 4, b"cd", 8).unwrap());
        assert_eq!(std::fs::read(&p).ok(), Some(b"\0\0abcd\0\0".to_vec()));
    }

    #[test]
    fn failing_counts_and_recovers_after_times() {
        let dir = tempfile::tempdir().unwrap();
        let fs = FailingFileSystem::after(1).with_errno(5).times(2);
        let p = dir.path().join("f");
        assert!(fs.write_file(&p, b"1").is_ok());
        let e = fs.write_file(&p, b"2").err().map(|e| e.raw_os_error());
        assert_eq!(e, Some(Some(5)));
        assert!(fs.sync_dir(dir.path()).is_err());
        assert!(fs.write_file(&p, b"3").is_ok());
        assert_eq!(fs.operations(), 4);
        assert_eq!(std::fs::read(&p).ok(), Some(b"3".to_vec()));
    }
}
