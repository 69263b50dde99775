//! Checks of command-line arguments, made when the command line is parsed: before a
//! scheduler starts or an instrument is opened. As `clap` value parsers, a bad value ends
//! the command with exit code 2 and a message naming the argument.

use std::fs::OpenOptions;
use std::io;
use std::path::{Path, PathBuf};

/// The largest number of scan positions accepted.
pub const MAX_POINTS: u32 = 10_000;

/// A number of scan positions: a whole number from 1 to [`MAX_POINTS`].
///
/// # Errors
///
/// A message saying what is expected, for anything else (`0`, `-1`, `abc`, `2.5`).
///
/// # Examples
///
/// ```
/// use smq_lab::parse_points;
///
/// assert_eq!(parse_points("21"), Ok(21));
/// for bad in ["0", "-1", "abc", "10001"] {
///     assert!(parse_points(bad).unwrap_err().contains("whole number from 1 to 10,000"));
/// }
/// ```
pub fn parse_points(text: &str) -> Result<u32, String> {
    match text.trim().parse::<u32>() {
        Ok(n) if (1..=MAX_POINTS).contains(&n) => Ok(n),
        _ => Err("must be a whole number from 1 to 10,000".to_owned()),
    }
}

/// A folder to store runs in: an existing folder this process can write in, or one that
/// can be created (its nearest existing ancestor is a folder it can write in). Nothing is
/// created.
///
/// # Errors
///
/// A message saying what is wrong: the path is a file, or the folder (or the one it would
/// be created in) cannot be written, with the system's reason.
///
/// # Examples
///
/// ```
/// use smq_lab::store_folder;
///
/// # let dir = tempfile::tempdir()?;
/// let runs = dir.path().join("runs");
/// assert!(store_folder(runs.to_str().unwrap()).is_ok()); // created later
/// assert!(!runs.exists());
/// let file = dir.path().join("notes.txt");
/// std::fs::write(&file, "")?;
/// assert!(store_folder(file.to_str().unwrap()).unwrap_err().contains("is a file"));
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn store_folder(text: &str) -> Result<PathBuf, String> {
    let path = PathBuf::from(text);
    if text.is_empty() {
        return Err("the path is empty".to_owned());
    }
    if path.is_dir() {
        return check_writable(&path).map(|()| path);
    }
    if path.exists() {
        return Err(format!("{} is a file, not a folder", path.display()));
    }
    // To be created: by the nearest ancestor that exists.
    let mut ancestor = path.as_path();
    loop {
        ancestor = match ancestor.parent() {
            Some(p) if p.as_os_str().is_empty() => Path::new("."),
            Some(p) => p,
            None => return Err(format!("{} has no existing parent folder", path.display())),
        };
        if ancestor.is_dir() {
            return check_writable(ancestor).map(|()| path);
        }
        if ancestor.exists() {
            return Err(format!(
                "{} cannot be created: {} is a file, not a folder",
                path.display(),
                ancestor.display()
            ));
        }
    }
}

/// The address to serve a run on (`--serve`): `HOST:PORT`, such as `127.0.0.1:0` (port 0
/// picks a free one) or `localhost:8080`.
///
/// # Errors
///
/// A message saying what is expected, for an address without a port or a host that does
/// not resolve.
///
/// # Examples
///
/// ```
/// use smq_lab::serve_address;
///
/// assert!(serve_address("127.0.0.1:0").unwrap().ip().is_loopback());
/// assert!(serve_address("127.0.0.1").unwrap_err().contains("HOST:PORT"));
/// ```
pub fn serve_address(text: &str) -> Result<std::net::SocketAddr, String> {
    use std::net::ToSocketAddrs;
    let bad = |why: String| {
        format!("{text:?} is not an address to serve on, HOST:PORT such as 127.0.0.1:0 ({why})")
    };
    text.trim()
        .to_socket_addrs()
        .map_err(|e| bad(e.to_string()))?
        .next()
        .ok_or_else(|| bad("it resolves to nothing".into()))
}

/// A file to write at the end of a command (a trace, a screenshot): its folder must exist
/// and be writable, and the file, if it exists already, must be a file this process can
/// write. Nothing is created or changed.
///
/// # Errors
///
/// A message saying what is wrong: the folder does not exist or cannot be written, or the
/// path is a folder or a file that cannot be written.
///
/// # Examples
///
/// ```
/// use smq_lab::output_file;
///
/// # let dir = tempfile::tempdir()?;
/// let trace = dir.path().join("trace.json");
/// assert!(output_file(trace.to_str().unwrap()).is_ok());
/// assert!(!trace.exists());
/// let nowhere = dir.path().join("missing").join("trace.json");
/// assert!(output_file(nowhere.to_str().unwrap()).unwrap_err().contains("does not exist"));
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn output_file(text: &str) -> Result<PathBuf, String> {
    let path = PathBuf::from(text);
    if text.is_empty() {
        return Err("the path is empty".to_owned());
    }
    if path.is_dir() {
        return Err(format!("{} is a folder, not a file", path.display()));
    }
    let folder = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    if !folder.is_dir() {
        return Err(if folder.exists() {
            format!("{} is not a folder", folder.display())
        } else {
            format!("the folder {} does not exist", folder.display())
        });
    }
    if path.exists() {
        // Opened for writing, not truncated: the file is left as it is.
        OpenOptions::new()
            .write(true)
            .open(&path)
            .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
        return Ok(path);
    }
    check_writable(folder).map(|()| path)
}

/// Whether this process can create files in `folder`: it creates an empty file of a
/// name of its own there and removes it (permission bits alone do not tell, e.g. on a
/// read-only file system or for the superuser).
fn check_writable(folder: &Path) -> Result<(), String> {
    let fail = |e: io::Error| format!("cannot write in the folder {}: {e}", folder.display());
    for attempt in 0..100u32 {
        let probe = folder.join(format!(".smq-write-check-{}-{attempt}", std::process::id()));
        match OpenOptions::new().write(true).create_new(true).open(&probe) {
            Ok(file) => {
                drop(file);
                return std::fs::remove_file(&probe).map_err(fail);
            }
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(fail(e)),
        }
    }
    Err(fail(io::Error::other("no free name for a test file")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn points_bounds() {
        assert_eq!(parse_points("1"), Ok(1));
        assert_eq!(parse_points("10000"), Ok(10_000));
        for bad in ["0", "-1", "10001", "", "1e3", "2.5", "abc"] {
            assert!(parse_points(bad).is_err(), "{bad}");
        }
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn proc_cannot_be_written() {
        assert!(
            store_folder("/proc/smq-runs")
                .unwrap_err()
                .contains("cannot write in the folder /proc")
        );
        assert!(
            output_file("/proc/trace.json")
                .unwrap_err()
                .contains("cannot write in the folder /proc")
        );
    }

    #[test]
    fn a_file_in_the_way() {
        let dir = std::env::temp_dir().join(format!("smq-args-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("f");
        std::fs::write(&file, "x").unwrap();
        let below = file.join("runs");
        assert!(
            store_folder(below.to_str().unwrap())
                .unwrap_err()
                .contains("is a file")
        );
        assert!(
            output_file(below.to_str().unwrap())
                .unwrap_err()
                .contains("is not a folder")
        );
        // The check leaves nothing behind.
        assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 1);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
