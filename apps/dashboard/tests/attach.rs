//! The dashboard attached to a run served over 127.0.0.1 (`Dashboard::attach`), driven
//! headless through egui_kittest: it shows the served run's tasks and state, its buttons
//! and keys pause, resume and cancel the served run, and a lost connection is said on
//! screen. Tasks are held by channels; the test steps with the served run's snapshots
//! (`wait_remote_update`), never by sleeping.

#![allow(clippy::unwrap_used)]

use std::time::Duration;

mod common;

use common::{HeldGraph, click_at, harness};
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;
use smqsched::{Scheduler, TaskError, TaskState};
use smqsched_dashboard::Dashboard;

/// Failure guard: snapshots to wait for before giving up.
const GUARD: usize = 300;
const LONG: Duration = Duration::from_secs(30);

/// Run frames, each after a new snapshot of the served run, until `done`.
fn until(
    h: &mut Harness<'static, Dashboard>,
    what: &str,
    done: impl Fn(&Harness<'static, Dashboard>) -> bool,
) {
    for _ in 0..GUARD {
        h.run();
        if done(h) {
            return;
        }
        assert!(
            h.state().wait_remote_update(LONG),
            "no snapshot while waiting for {what}"
        );
    }
    panic!("never saw {what}");
}

#[test]
fn an_attached_dashboard_shows_and_steers_a_served_run() {
    let sch = Scheduler::new();
    let HeldGraph {
        later,
        held,
        started,
        release,
    } = HeldGraph::submit(&sch);
    let server = smq_serve::serve(&sch, "127.0.0.1:0", Default::default()).unwrap();
    sch.start();
    started.recv().unwrap();

    let mut h = harness(Dashboard::attach(&server.url(), server.token()));
    until(&mut h, "the served tasks", |h| {
        h.state().task_count() == 4 && h.query_by_label("Pause").is_some()
    });
    assert!(h.state().scheduler().is_none());
    assert!(h.state().link_problem().is_none());

    // Pause from the dashboard: the served scheduler stops.
    h.get_by_label("Pause").click();
    h.run();
    assert!(!sch.is_running());
    until(&mut h, "the paused state", |h| {
        h.query_by_label_contains("running (paus").is_some()
    });
    h.get_by_label("Resume");

    // Cancel a task that has not started: select it, press Delete.
    let target = later[0].id().index();
    until(&mut h, "the task's node", |h| {
        h.state().node_rect(target).is_some()
    });
    let r = h.state().node_rect(target).unwrap();
    h.get_by_label("Resume"); // still paused
    click_at(&h, r);
    h.run();
    assert_eq!(h.state().selection(), [target]);
    h.key_press(egui::Key::Delete);
    h.run();
    assert!(matches!(
        later[0].result(),
        Err(TaskError::Cancelled { .. })
    ));
    assert_eq!(later[1].state(), Some(TaskState::Ready));

    // Resume from the dashboard: the served run finishes.
    h.get_by_label("Resume").click();
    h.run();
    assert!(sch.is_running());
    release.send(()).unwrap();
    assert_eq!(*held.result().unwrap(), 99);
    assert_eq!(*later[2].result().unwrap(), 2);
    sch.wait_timeout(LONG).unwrap();
    until(&mut h, "the complete state", |h| {
        h.query_by_label_contains("complete").is_some()
    });
}

#[test]
fn a_lost_connection_is_said_on_screen() {
    let sch = Scheduler::new();
    let q = sch.queue("q", 1).unwrap();
    let _a = q.submit((), |()| 1);
    let server = smq_serve::serve(&sch, "127.0.0.1:0", Default::default()).unwrap();
    let mut h = harness(Dashboard::attach(&server.url(), server.token()));
    until(&mut h, "the served task", |h| h.state().task_count() == 1);
    server.shutdown().unwrap();
    for _ in 0..GUARD {
        h.run();
        if h.state().link_problem().is_some() {
            break;
        }
        // Failed attempts publish no snapshot: this returns after the timeout.
        h.state().wait_remote_update(Duration::from_millis(200));
    }
    let problem = h.state().link_problem().unwrap();
    assert!(
        problem.contains("connection to http://127.0.0.1:"),
        "{problem}"
    );
    h.run();
    assert!(h.query_by_label_contains("retrying").is_some());
    // What was seen stays on screen.
    assert_eq!(h.state().task_count(), 1);
}
