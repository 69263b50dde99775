//! The dashboard driven headless through egui_kittest: no display, no GPU, no sleeps.
//!
//! Tasks are held on one-slot queues by channels, so what is running, and when it may
//! finish, is decided by the test.

#![allow(clippy::unwrap_used)]

mod common;

use common::{HeldGraph, click_at, harness};
use egui_kittest::kittest::{NodeT, Queryable};
use smqsched::{Scheduler, TaskState};
use smqsched_dashboard::{Dashboard, Plots};

#[test]
fn pause_lets_the_running_task_finish_and_starts_nothing_new_until_resume() {
    let sch = Scheduler::new();
    // The newest task runs first: it signals, then waits for the test's go.
    let HeldGraph {
        later: others,
        held,
        started,
        release,
    } = HeldGraph::submit(&sch);
    let mut h = harness(Dashboard::new(&sch));
    sch.start();
    started.recv().unwrap();
    h.run();
    assert!(h.query_by_label("Resume").is_none());

    h.get_by_label("Pause").click();
    h.run();
    assert!(!sch.is_running());
    // The state is shown, and the button now resumes.
    assert!(h.query_by_label_contains("running (paus").is_some());
    h.get_by_label("Resume");

    release.send(()).unwrap();
    assert_eq!(*held.result().unwrap(), 99);
    sch.wait_drained();
    h.run();
    for p in &others {
        assert_eq!(
            p.state(),
            Some(TaskState::Ready),
            "nothing new starts while paused"
        );
    }
    assert!(h.query_by_label_contains("1 / 4 finished").is_some());

    h.get_by_label("Resume").click();
    h.run();
    assert!(sch.is_running());
    sch.wait();
    h.run();
    for p in &others {
        assert_eq!(p.state(), Some(TaskState::Done));
    }
    assert!(h.query_by_label_contains("4 / 4 finished").is_some());
    // Every task final: the run is complete, in the words of the stored runs.
    h.get_by_label("complete");
    h.get_by_label("Pause");
}

#[test]
fn space_pauses_and_resumes() {
    let sch = Scheduler::new();
    sch.start();
    let mut h = harness(Dashboard::new(&sch));
    h.run();
    h.key_press(egui::Key::Space);
    h.run();
    assert!(!sch.is_running());
    h.key_press(egui::Key::Space);
    h.run();
    assert!(sch.is_running());
}

#[test]
fn clicking_a_failed_task_shows_its_error() {
    let sch = Scheduler::new();
    let q = sch.queue("dmm", 1).unwrap();
    let ok = q.task().label("configure").submit((), |()| 1.0).unwrap();
    let bad = q
        .task()
        .label("read(3)")
        .submit_result(&ok, |_: &f64| Err::<f64, _>("overload on the 10 V range"))
        .unwrap();
    let mut h = harness(Dashboard::new(&sch));
    sch.start();
    sch.wait();
    h.run();
    assert!(h.query_by_label_contains("overload").is_none());

    // Click the node itself on the canvas.
    let r = h
        .state()
        .node_rect(bad.id().index())
        .expect("the node is on screen");
    click_at(&h, r);
    h.run();
    assert_eq!(h.state().selection(), [bad.id().index()]);
    h.get_by_label_contains("overload on the 10 V range");

    // Clicking empty canvas clears the selection and the error goes.
    click_at(
        &h,
        egui::Rect::from_center_size(r.center() + egui::vec2(0.0, 200.0), egui::Vec2::ZERO),
    );
    h.run();
    assert!(h.state().selection().is_empty());
    assert!(h.query_by_label_contains("overload").is_none());

    // The failures list selects it too.
    h.get_by_label_contains("read(3)").click();
    h.run();
    h.get_by_label_contains("overload on the 10 V range");
}

#[test]
fn cancel_selected_cancels_a_pending_task_and_its_dependents() {
    let sch = Scheduler::new();
    let q = sch.queue("q", 1).unwrap();
    let a = q.task().label("a").submit((), |()| 1).unwrap();
    let b = q.task().label("b").submit(&a, |a| a + 1).unwrap();
    let mut h = harness(Dashboard::new(&sch));
    h.run();
    assert!(
        h.get_by_label("Cancel selected (0)")
            .accesskit_node()
            .is_disabled()
    );
    let r = h.state().node_rect(a.id().index()).expect("on screen");
    click_at(&h, r);
    h.run();
    h.get_by_label("Cancel selected (1)").click();
    h.run();
    assert_eq!(a.state(), Some(TaskState::Cancelled));
    assert_eq!(b.state(), Some(TaskState::Cancelled));
    h.get_by_label_contains("cancelled 2 task(s)");
}

#[test]
fn a_large_graph_is_grouped_by_label_and_groups_expand() {
    let sch = Scheduler::new();
    let acq = sch.queue("camera", 1).unwrap();
    let compute = sch.queue("compute", 2).unwrap();
    let mut frames = Vec::new();
    for i in 0..2_500 {
        let f = acq
            .task()
            .label(format!("frame({i})"))
            .submit((), move |()| i)
            .unwrap();
        compute
            .task()
            .label(format!("fft({i})"))
            .submit(&f, |f| f * 2)
            .unwrap();
        frames.push(f);
    }
    let mut h = harness(Dashboard::new(&sch));
    h.run();
    assert!(h.state().is_grouped());
    h.get_by_label_contains("5,000 tasks, grouped by label into 2 groups");
    let groups = h.state().groups();
    assert_eq!(groups.len(), 2);
    assert_eq!(groups[0].0, "frame");
    assert_eq!(groups[0].1.total(), 2_500);

    // Collapsed, a group's tasks are not drawn; expanded, they are.
    let first = frames[0].id().index();
    assert!(h.state().node_rect(first).is_none());
    h.get_by_label_contains("group frame: 0/2,500 done").click();
    h.run();
    let r = h
        .state()
        .node_rect(first)
        .expect("an expanded group draws its tasks");
    click_at(&h, r);
    h.run();
    assert_eq!(h.state().selection(), [first]);
    h.get_by_label("frame(0)");
}

#[test]
fn a_small_graph_is_drawn_task_by_task() {
    let sch = Scheduler::new();
    let q = sch.queue("q", 1).unwrap();
    let p = q.task().label("only").submit((), |()| 0).unwrap();
    let mut h = harness(Dashboard::new(&sch));
    h.run();
    assert!(!h.state().is_grouped());
    assert!(h.state().node_rect(p.id().index()).is_some());
    h.get_by_label_contains("1 tasks: drag to pan");
}

#[test]
fn marked_results_reach_the_plots() {
    let sch = Scheduler::new();
    let q = sch.queue("scope", 1).unwrap();
    let plots = Plots::new();
    for x in 0..3 {
        let w = q.submit((), move |()| vec![f64::from(x); 8]);
        let level = q.submit(&w, |w: &Vec<f64>| w[0]);
        plots.waveform(&w);
        plots.scan_point(f64::from(x), &level);
    }
    let mut h = harness(Dashboard::new(&sch).with_plots(plots.clone()));
    h.run();
    h.get_by_label("Last waveform: none yet");
    sch.start();
    sch.wait();
    h.run();
    h.get_by_label("Scan: 3 point(s)");
    assert_eq!(plots.averaged(), 3);
    assert_eq!(plots.pending(), 0);
}

#[test]
fn delete_cancels_the_selection_and_escape_clears_it() {
    let sch = Scheduler::new();
    let q = sch.queue("q", 1).unwrap();
    let a = q.task().label("a").submit((), |()| 1).unwrap();
    let b = q.task().label("b").submit((), |()| 2).unwrap();
    let mut h = harness(Dashboard::new(&sch));
    h.run();
    click_at(&h, h.state().node_rect(b.id().index()).unwrap());
    h.run();
    assert_eq!(h.state().selection(), [b.id().index()]);
    h.key_press(egui::Key::Escape);
    h.run();
    assert!(h.state().selection().is_empty());

    click_at(&h, h.state().node_rect(a.id().index()).unwrap());
    h.run();
    h.key_press(egui::Key::Delete);
    h.run();
    assert_eq!(a.state(), Some(TaskState::Cancelled));
    assert_eq!(b.state(), Some(TaskState::Ready));
}

#[test]
fn dragging_pans_and_the_wheel_zooms_the_graph() {
    let sch = Scheduler::new();
    let q = sch.queue("q", 1).unwrap();
    let a = q.task().label("a").submit((), |()| 1).unwrap();
    q.task().label("b").submit(&a, |a| a + 1).unwrap();
    let mut h = harness(Dashboard::new(&sch));
    h.run();
    let r0 = h.state().node_rect(a.id().index()).unwrap();
    let from = r0.center() + egui::vec2(0.0, 120.0);
    let to = from + egui::vec2(60.0, 40.0);
    let button = |pos, pressed| egui::Event::PointerButton {
        pos,
        button: egui::PointerButton::Primary,
        pressed,
        modifiers: egui::Modifiers::NONE,
    };
    h.event(egui::Event::PointerMoved(from));
    h.event(button(from, true));
    h.step();
    h.event(egui::Event::PointerMoved(to));
    h.step();
    h.event(button(to, false));
    h.run();
    let r1 = h.state().node_rect(a.id().index()).unwrap();
    let moved = r1.min - r0.min;
    assert!(
        (moved - egui::vec2(60.0, 40.0)).length() < 1.0,
        "moved by {moved:?}"
    );

    h.event(egui::Event::MouseWheel {
        unit: egui::MouseWheelUnit::Point,
        delta: egui::vec2(0.0, 100.0),
        phase: egui::TouchPhase::Move,
        source: egui::MouseWheelSource::Unknown,
        modifiers: egui::Modifiers::NONE,
    });
    h.run();
    let r2 = h.state().node_rect(a.id().index()).unwrap();
    assert!(r2.width() > r1.width() * 1.2, "{r1:?} -> {r2:?}");
}

#[test]
fn a_selected_task_shows_its_status_note() {
    // A task waiting on something outside (here a note as a cluster queue sets it for
    // its job) shows the note when selected.
    let sch = Scheduler::new();
    let q = sch.queue("fft", 1).unwrap();
    let job = q.task().label("spectrum(4)").submit((), |()| 1.0).unwrap();
    assert!(sch.set_status(job.id(), Some("slurm job 812 PENDING (Resources)")));
    let mut h = harness(Dashboard::new(&sch));
    h.run();
    assert!(h.query_by_label_contains("slurm job 812").is_none());
    let r = h
        .state()
        .node_rect(job.id().index())
        .expect("the node is on screen");
    click_at(&h, r);
    h.run();
    h.get_by_label_contains("slurm job 812 PENDING (Resources)");
}
