//! The dashboard's own options are checked before the simulators start or a window opens:
//! a bad one exits with code 2 and a message naming it, and no run is created. No display
//! is needed: the command ends before any window.

#![allow(clippy::unwrap_used)]

use std::process::Command;

#[test]
fn bad_options_are_refused_before_anything_starts() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let file = root.join("notes.txt");
    std::fs::write(&file, "kept").unwrap();
    let runs = root.join("runs");
    let (file, runs) = (file.to_str().unwrap(), runs.to_str().unwrap());
    let missing = root.join("missing").join("shot.png");
    let missing = missing.to_str().unwrap();
    let whole_number = "must be a whole number from 1 to 10,000";
    // (arguments, the argument named, more of the message)
    let cases: [(&[&str], &str, &str); 10] = [
        (&["--points", "-1"], "--points", whole_number),
        (&["--points", "0"], "--points", whole_number),
        (&["--points", "abc"], "--points", whole_number),
        (&["--seed", "-1"], "--seed", "invalid digit"),
        (&["--runs", file], "--runs", "is a file, not a folder"),
        (
            &["--runs", "/proc/smq-runs"],
            "--runs",
            "cannot write in the folder /proc",
        ),
        (&["--screenshot", missing], "--screenshot", "does not exist"),
        (
            &["--screenshot", runs, "--screenshot-at", "2"],
            "--screenshot-at",
            "from 0 to 1",
        ),
        (
            &["--screenshot-at", "-0.5"],
            "--screenshot-at",
            "from 0 to 1",
        ),
        (
            &["--screenshot-at", "half"],
            "--screenshot-at",
            "from 0 to 1",
        ),
    ];
    for (args, named, says) in cases {
        let mut command = Command::new(env!("CARGO_BIN_EXE_smq-dashboard"));
        if named != "--runs" {
            command.args(["--runs", runs]);
        }
        let o = command.args(args).output().unwrap();
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {err}");
        assert!(
            err.lines()
                .next()
                .is_some_and(|l| l.contains(named) && l.contains(says)),
            "{args:?}: the message does not name {named} and say {says:?}:\n{err}"
        );
        assert!(o.stdout.is_empty(), "{args:?}");
        let left: Vec<_> = std::fs::read_dir(root).unwrap().collect();
        assert_eq!(left.len(), 1, "{args:?}: a run or a file was created");
        assert_eq!(std::fs::read_to_string(file).unwrap(), "kept");
    }
}

#[test]
fn bad_attach_options_are_refused_before_any_window() {
    let dir = tempfile::tempdir().unwrap();
    let token = dir.path().join("serve.token");
    std::fs::write(&token, "").unwrap();
    let token = token.to_str().unwrap();
    let missing = dir.path().join("missing.token");
    let missing = missing.to_str().unwrap();
    let good = dir.path().join("good.token");
    std::fs::write(&good, "0123abcd\n").unwrap();
    let good = good.to_str().unwrap();
    let cases: [(&[&str], &str); 7] = [
        (&["--attach", "http://127.0.0.1:1"], "--token-file"),
        // The demo's own options do not apply to another run: refused, not ignored.
        (
            &[
                "--attach",
                "http://127.0.0.1:1",
                "--token-file",
                good,
                "--points",
                "5",
            ],
            "'--attach <URL>' cannot be used with '--points <N>'",
        ),
        (
            &["--open", "runs/r", "--seed", "3"],
            "'--open <RUN_FOLDER>' cannot be used with '--seed <SEED>'",
        ),
        (
            &["--open", "runs/r", "--runs", "runs"],
            "'--open <RUN_FOLDER>' cannot be used with '--runs <DIR>'",
        ),
        (
            &["--attach", "ftp://host", "--token-file", token],
            "such as http://",
        ),
        (
            &["--attach", "http://127.0.0.1:1", "--token-file", missing],
            "No such file",
        ),
        (
            &["--attach", "http://127.0.0.1:1", "--token-file", token],
            "holds no token",
        ),
    ];
    for (args, says) in cases {
        let o = Command::new(env!("CARGO_BIN_EXE_smq-dashboard"))
            .args(args)
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains(says), "{args:?}: {err}");
    }
}
