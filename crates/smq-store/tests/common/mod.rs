//! Helpers shared by the store's integration tests.

use std::path::{Path, PathBuf};

/// Every `*.tmp` file under `dir`: what an interrupted write can leave, and an open of the
/// store must remove.
pub(crate) fn temporaries(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let path = e.path();
        if path.is_dir() {
            found.extend(temporaries(&path));
        } else if path.to_string_lossy().ends_with(".tmp") {
            found.push(path);
        }
    }
    found
}
