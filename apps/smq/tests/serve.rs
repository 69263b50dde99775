//! `smq demo --serve`, end to end: the real binary on simulators started by the test, its
//! run watched, paused and resumed over HTTP with the token from the run's folder. The
//! scan is stopped at a known point by the scope withholding a reply (see `pause.rs`),
//! never by time.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::mpsc::channel;
use std::time::Duration;

use smq_sim::SimLab;

const POINTS: usize = 6;
/// The waveform (1-based) at which the scope stalls.
const HELD_WAVEFORM: u64 = 3;
/// Scope replies before the scan, and per waveform (see `pause.rs`).
const SCOPE_REPLIES_BEFORE_SCAN: u64 = 5;
const SCOPE_REPLIES_PER_WAVEFORM: u64 = 3;
/// Failure guard against a hung child.
const GUARD: Duration = Duration::from_secs(120);

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into()
}

fn request(
    agent: &ureq::Agent,
    post: bool,
    url: &str,
    token: Option<&str>,
) -> (u16, serde_json::Value) {
    let mut r = if post {
        let mut req = agent.post(url);
        if let Some(t) = token {
            req = req.header("Authorization", &format!("Bearer {t}"));
        }
        req.send_empty().unwrap()
    } else {
        let mut req = agent.get(url);
        if let Some(t) = token {
            req = req.header("Authorization", &format!("Bearer {t}"));
        }
        req.call().unwrap()
    };
    let status = r.status().as_u16();
    let body = r.body_mut().read_to_string().unwrap();
    (status, serde_json::from_str(&body).unwrap())
}

#[test]
fn a_served_demo_is_watched_paused_and_resumed_over_http() {
    let out = tempfile::tempdir().unwrap();
    let lab = SimLab::start(7).unwrap();
    lab.scope
        .hold_after(SCOPE_REPLIES_BEFORE_SCAN + SCOPE_REPLIES_PER_WAVEFORM * (HELD_WAVEFORM - 1));
    let mut child = Command::new(env!("CARGO_BIN_EXE_smq"))
        .args(["demo", "--plain", "--points", &POINTS.to_string(), "--out"])
        .arg(out.path())
        .args(["--stage", &lab.stage.pty_path()])
        .args(["--dmm", &lab.dmm.tcp_addr().to_string()])
        .args(["--scope", &format!("tcp:{}", lab.scope.tcp_addr())])
        .args(["--serve", "127.0.0.1:0"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let (tx, lines) = channel();
    let stdout = child.stdout.take().unwrap();
    std::thread::spawn(move || {
        for l in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = tx.send(l);
        }
    });
    let mut seen = Vec::new();
    let mut wait_for = |prefix: &str| -> String {
        loop {
            let l = lines
                .recv_timeout(GUARD)
                .unwrap_or_else(|_| panic!("no {prefix:?}; output:\n{}", seen.join("\n")));
            seen.push(l.clone());
            if let Some(rest) = l.strip_prefix(prefix) {
                return rest.trim().to_owned();
            }
        }
    };
    let url = wait_for("serving the run at ");
    let token = wait_for("token ");
    let file = std::path::PathBuf::from(wait_for("token file "));
    assert!(
        file.starts_with(out.path()),
        "in the run's folder: {}",
        file.display()
    );
    assert_eq!(std::fs::read_to_string(&file).unwrap().trim(), token);
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&file).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    assert!(
        lab.scope.wait_held(GUARD),
        "the scan never reached the held waveform"
    );

    let agent = agent();
    let snapshot = format!("{url}/api/snapshot");
    let (status, body) = request(&agent, false, &snapshot, None);
    assert_eq!(status, 401, "{body}");
    let (status, body) = request(&agent, false, &snapshot, Some(&token));
    assert_eq!(status, 200, "{body}");
    let running_waveform = body["tasks"].as_array().unwrap().iter().any(|t| {
        t["state"] == "running" && t["label"].as_str().unwrap().starts_with("scope.waveform(")
    });
    assert!(running_waveform, "{body}");

    let (status, body) = request(&agent, true, &format!("{url}/api/pause"), Some(&token));
    assert_eq!(
        (status, &body["running"]),
        (200, &serde_json::json!(false)),
        "{body}"
    );
    lab.scope.release();
    // Paused while the stage was held for the waveform: once it is done, no further move
    // has started (the scan's lines come after the `token file` line).
    for _ in 0..HELD_WAVEFORM {
        wait_for("done scope.waveform(");
    }
    let (_, body) = request(&agent, false, &snapshot, Some(&token));
    let moves_started = body["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| {
            t["label"].as_str().unwrap().starts_with("stage.move_to(")
                && !matches!(t["state"].as_str(), Some("ready" | "waiting"))
        })
        .count();
    assert_eq!(moves_started as u64, HELD_WAVEFORM, "{body}");
    assert_eq!(body["running"], false);

    let (status, body) = request(&agent, true, &format!("{url}/api/resume"), Some(&token));
    assert_eq!(
        (status, &body["running"]),
        (200, &serde_json::json!(true)),
        "{body}"
    );
    let end = wait_for("run ");
    let end = if end.contains("started") {
        wait_for("run ")
    } else {
        end
    };
    assert!(end.contains("complete"), "{end}");
    assert!(child.wait().unwrap().success());
    assert!(!file.exists(), "the token file goes with the server");
    // The terminal said that a viewer paused the run, once.
    let said = seen
        .iter()
        .filter(|l| l.starts_with("paused by a viewer of the served run"))
        .count();
    assert_eq!(said, 1, "{}", seen.join("\n"));
}

#[test]
fn serving_beyond_loopback_needs_serve_public_and_is_refused_before_anything_starts() {
    let out = tempfile::tempdir().unwrap();
    let o = Command::new(env!("CARGO_BIN_EXE_smq"))
        .args(["demo", "--points", "2", "--serve", "0.0.0.0:0", "--out"])
        .arg(out.path())
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("--serve-public"), "{err}");
    assert_eq!(std::fs::read_dir(out.path()).unwrap().count(), 0);
    let o = Command::new(env!("CARGO_BIN_EXE_smq"))
        .args(["demo", "--serve", "nowhere", "--out"])
        .arg(out.path())
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("HOST:PORT"));
}
