//! Atomic metadata updates, names, times.

use std::fs;
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::error::{Error, Result, io};
use crate::fs::FileSystem;

/// The temporary file beside `path` that [`write_atomic`] renames over it.
pub(crate) fn tmp_path(path: &Path) -> PathBuf {
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(TMP_SUFFIX);
    PathBuf::from(tmp)
}

/// The suffix of temporary files: what a crash can leave behind, removed on the next open.
pub(crate) const TMP_SUFFIX: &str = ".tmp";

/// Replace `path` by `bytes` atomically: write `path.tmp` and fsync it, rename it over
/// `path`, fsync the directory. A reader (or a crash) sees either the old or the new
/// content.
pub(crate) fn write_atomic(fs: &dyn FileSystem, path: &Path, bytes: &[u8]) -> Result<()> {
    let tmp = tmp_path(path);
    fs.write_file(&tmp, bytes).map_err(io(&tmp))?;
    fs.rename(&tmp, path).map_err(io(path))?;
    if let Some(dir) = path.parent() {
        fs.sync_dir(dir).map_err(io(dir))?;
    }
    Ok(())
}

/// Read and parse a `zarr.json`.
pub(crate) fn read_json(path: &Path) -> Result<Value> {
    let bytes = fs::read(path).map_err(io(path))?;
    serde_json::from_slice(&bytes).map_err(|e| Error::CorruptMetadata {
        path: path.to_owned(),
        reason: e.to_string(),
    })
}

/// Serialize a `zarr.json`.
pub(crate) fn json_bytes(path: &Path, value: &Value) -> Result<Vec<u8>> {
    serde_json::to_vec_pretty(value).map_err(|e| Error::CorruptMetadata {
        path: path.to_owned(),
        reason: e.to_string(),
    })
}

/// Serialize and write a `zarr.json` atomically.
pub(crate) fn write_json(fs: &dyn FileSystem, path: &Path, value: &Value) -> Result<()> {
    write_atomic(fs, path, &json_bytes(path, value)?)
}

/// The metadata of an empty Zarr v3 group with these attributes.
pub(crate) fn group_json(attributes: serde_json::Map<String, Value>) -> Value {
    serde_json::json!({
        "zarr_format": 3,
        "node_type": "group",
        "attributes": attributes,
    })
}

/// The node type (`"group"` or `"array"`) of a directory, if it holds a `zarr.json`.
pub(crate) fn node_type(dir: &Path) -> Option<String> {
    let meta = read_json(&dir.join("zarr.json")).ok()?;
    meta.get("node_type")?.as_str().map(str::to_owned)
}

/// Sorted names of the subdirectories of `dir` that are Zarr nodes of type `kind`;
/// an error if one has a `zarr.json` that cannot be parsed.
pub(crate) fn child_nodes(dir: &Path, kind: &str) -> Result<Vec<String>> {
    let mut names = Vec::new();
    for entry in fs::read_dir(dir).map_err(io(dir))? {
        let entry = entry.map_err(io(dir))?;
        let Ok(name) = entry.file_name().into_string() else {
            continue;
        };
        let meta = entry.path().join("zarr.json");
        if !valid_name(&name) || !meta.is_file() {
            continue;
        }
        if read_json(&meta)?.get("node_type").and_then(Value::as_str) == Some(kind) {
            names.push(name);
        }
    }
    names.sort();
    Ok(names)
}

/// A run or dataset name: non-empty, `[A-Za-z0-9_.-]`, not starting with `.`.
pub(crate) fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && !name.starts_with('.')
        && name != "zarr.json"
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'))
}

pub(crate) fn check_name(name: &str) -> Result<()> {
    if valid_name(name) {
        Ok(())
    } else {
        Err(Error::InvalidName(name.to_owned()))
    }
}

/// The current time in RFC 3339 (UTC, millisecond precision), as a run's `start` and `end`
/// are written.
///
/// # Examples
///
/// ```
/// let t = smq_store::now_rfc3339();
/// assert_eq!((t.len(), &t[10..11], &t[23..]), (24, "T", "Z"));
/// ```
pub fn now_rfc3339() -> String {
    let d = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    rfc3339(d.as_secs(), d.subsec_millis())
}

fn rfc3339(secs: u64, millis: u32) -> String {
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    // Civil date from days since 1970-01-01 (H. Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{millis:03}Z",
        rem / 3600,
        rem / 60 % 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_dates() {
        assert_eq!(rfc3339(0, 0), "1970-01-01T00:00:00.000Z");
        assert_eq!(rfc3339(951_782_400, 5), "2000-02-29T00:00:00.005Z");
        assert_eq!(rfc3339(1_795_830_245, 120), "2026-11-28T01:44:05.120Z");
    }

    #[test]
    fn names() {
        assert!(valid_name("run-1.a_b"));
        for bad in ["", ".x", "a/b", "zarr.json", "a b", ".."] {
            assert!(!valid_name(bad), "{bad}");
        }
    }
}
