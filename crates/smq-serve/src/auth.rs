//! The access token: drawn at random when a server starts, written to a file only its user
//! can read, and compared in constant time with the `Authorization: Bearer` header of every
//! request.

use std::io::Write;
use std::path::{Path, PathBuf};

use subtle::ConstantTimeEq;

use crate::ServeError;

/// The token file's name in the folder given by [`Options::token_dir`](crate::Options).
pub const TOKEN_FILE: &str = "serve.token";

/// A fresh token: 32 bytes from the operating system's generator, in hex (64 characters).
pub(crate) fn new_token() -> Result<String, ServeError> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| ServeError::Random(e.to_string()))?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

/// Write `token` to `dir/serve.token`, readable and writable by the user only (mode 0600 on
/// Unix), replacing a file left by an earlier server.
pub(crate) fn write_token(dir: &Path, token: &str) -> Result<PathBuf, ServeError> {
    let path = dir.join(TOKEN_FILE);
    let fail = |e: std::io::Error| ServeError::TokenFile {
        path: path.clone(),
        message: e.to_string(),
    };
    // A file of another mode is removed rather than truncated: its mode would stay.
    match std::fs::remove_file(&path) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(fail(e)),
    }
    let mut open = std::fs::OpenOptions::new();
    open.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        open.mode(0o600);
    }
    let mut file = open.open(&path).map_err(fail)?;
    file.write_all(token.as_bytes()).map_err(fail)?;
    file.write_all(b"\n").map_err(fail)?;
    file.sync_all().map_err(fail)?;
    Ok(path)
}

/// Read the token from a token file written by [`serve`](crate::serve): its first line,
/// trimmed.
///
/// # Errors
///
/// [`ServeError::TokenFile`] if the file cannot be read or holds no token.
///
/// # Examples
///
/// ```no_run
/// let token = smq_serve::read_token_file("runs/scan-01/serve.token".as_ref())?;
/// # Ok::<(), smq_serve::ServeError>(())
/// ```
pub fn read_token_file(path: &Path) -> Result<String, ServeError> {
    let text = std::fs::read_to_string(path).map_err(|e| ServeError::TokenFile {
        path: path.to_owned(),
        message: e.to_string(),
    })?;
    let token = text.lines().next().unwrap_or("").trim();
    if token.is_empty() {
        return Err(ServeError::TokenFile {
            path: path.to_owned(),
            message: "the file holds no token".into(),
        });
    }
    Ok(token.to_owned())
}

/// Whether the value of an `Authorization` header carries `token`. The comparison takes the
/// same time wherever the first difference is.
pub(crate) fn authorized(header: Option<&[u8]>, token: &str) -> bool {
    let Some(given) = header.and_then(|h| h.strip_prefix(b"Bearer ")) else {
        return false;
    };
    let given = given.trim_ascii();
    given.len() == token.len() && bool::from(given.ct_eq(token.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_exact_bearer_token_is_accepted() {
        let t = "ab12";
        assert!(authorized(Some(b"Bearer ab12"), t));
        assert!(!authorized(Some(b"Bearer ab13"), t));
        assert!(!authorized(Some(b"Bearer ab1"), t));
        assert!(!authorized(Some(b"Bearer ab123"), t));
        assert!(!authorized(Some(b"bearer ab12"), t));
        assert!(!authorized(Some(b"ab12"), t));
        assert!(!authorized(None, t));
    }

    #[test]
    fn tokens_are_64_hex_characters_and_differ() {
        let (a, b) = (new_token().unwrap(), new_token().unwrap());
        assert_eq!(a.len(), 64);
        assert!(a.bytes().all(|c| c.is_ascii_hexdigit()));
        assert_ne!(a, b);
    }
}
