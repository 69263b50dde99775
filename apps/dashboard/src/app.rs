//! The dashboard's state and its frame.
//!
//! # How a frame meets the scheduler
//!
//! The dashboard runs on the UI thread only; it shares nothing with the scheduler but the
//! scheduler's own thread-safe handle and one event subscription. At each frame:
//!
//! 1. Drain the event subscription, at most [`MAX_EVENTS_PER_FRAME`] events (the rest wait
//!    for the next frame, which is then asked for at once). Each task event extends the task
//!    stream and marks its task as changed. Events never block the scheduler: the
//!    subscription is an unbounded channel that the scheduler only sends on.
//! 2. Refresh the snapshot with `snapshot_into`, which copies only the tasks that changed
//!    since the previous frame. The snapshot is the truth for states; an event only says
//!    *which* tasks to look at again.
//! 3. Place the new tasks in the layout and the groups, and recount the changed tasks
//!    against the snapshot. The scheduler sends a task's event in the same locked step as
//!    the change of state (start, finish, failure, cancellation), so a change that a
//!    snapshot shows has its event in the channel by then: if step 1 drained it, the task is
//!    recounted now; if it arrived between steps 1 and 2, at the next frame. A recount of
//!    an unchanged task is a no-op. So the group counts equal the snapshot's states at most
//!    one frame late (more only while a burst of events is being worked through), without
//!    scanning all tasks. (Waiting to ready sends no event; the
//!    counts lump both as pending, and nodes take their colour from the snapshot itself.)
//! 4. Draw, culling to what is on screen.
//! 5. Controls call the scheduler directly (`stop`, `start`, `cancel`) and their effect
//!    shows through steps 1–2 of the next frames.
//! 6. Ask for the next frame after 1/30 s while tasks are unfinished, after 1/4 s otherwise
//!    (a script may submit more at any time).

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use egui::{Color32, Key, RichText, Ui};
use smq_lab::RunStatus;
use smqsched::{EventKind, Scheduler, Snapshot, TaskId, TaskState};

use crate::dag::{Camera, ViewMode};
use crate::groups::{Counts, Groups};
use crate::layout::Layout;
use crate::plots::Plots;
use crate::progress::{Progress, human};
use crate::source::Source;
use crate::timeline::Timeline;

/// Events taken per frame at most, so that a burst cannot stall a frame.
pub const MAX_EVENTS_PER_FRAME: usize = 100_000;

/// Above this many tasks the DAG is shown grouped by label (unless the operator chooses).
pub const DEFAULT_GROUP_THRESHOLD: usize = 2_000;

/// A screenshot to take once the run has gone far enough.
#[derive(Debug)]
pub(crate) struct ScreenshotPlan {
    pub(crate) path: PathBuf,
    /// Fraction of the tasks finished before it is taken.
    pub(crate) at: f64,
    pub(crate) requested: bool,
    /// Frames drawn so far (the first ones have no layout yet).
    pub(crate) frames: u32,
}

/// The dashboard of one scheduler: implements [`eframe::App`], and its [`ui`](Self::ui) can
/// be driven by any egui host (a test harness, a benchmark, another app's panel).
///
/// Creating it subscribes to the scheduler's events; create it before submitting for the
/// task stream to show every run (the graph itself is always complete, from snapshots).
///
/// # Examples
///
/// ```
/// use smqsched::Scheduler;
/// use smqsched_dashboard::Dashboard;
///
/// let sch = Scheduler::new();
/// let mut dash = Dashboard::new(&sch);
/// let q = sch.queue("q", 1).unwrap();
/// q.submit((), |()| 1);
/// // One frame, headless (nothing renders it, so its textures are dropped).
/// let ctx = egui::Context::default();
/// let mut out = ctx.run_ui(egui::RawInput::default(), |ui| dash.ui(ui));
/// out.textures_delta.clear();
/// assert_eq!(dash.task_count(), 1);
/// assert!(!dash.is_grouped());
/// ```
pub struct Dashboard {
    pub(crate) source: Source,
    pub(crate) snap: Snapshot,
    pub(crate) layout: Layout,
    pub(crate) groups: Groups,
    pub(crate) timeline: Timeline,
    pub(crate) progress: Progress,
    pub(crate) plots: Option<Plots>,
    /// Tasks whose events arrived since their last recount.
    changed: Vec<u32>,
    /// Failed tasks, in the order their failures arrived.
    pub(crate) failures: Vec<u32>,
    /// The task that started last: the view follows it until the operator moves it.
    pub(crate) last_started: Option<u32>,
    pub(crate) view: ViewMode,
    pub(crate) group_threshold: usize,
    pub(crate) task_camera: Camera,
    pub(crate) group_camera: Camera,
    pub(crate) selected: BTreeSet<u32>,
    /// The last control outcome to show the operator.
    pub(crate) message: Option<String>,
    /// Seconds of history in the task stream.
    pub(crate) stream_span: f64,
    pub(crate) screenshot: Option<ScreenshotPlan>,
    /// Whether events were left in the channel at the last frame.
    backlog: bool,
    /// Start the scheduler at the next frame (see [`Options::start_on_show`](crate::Options)).
    pub(crate) start_on_show: bool,
    /// For an attached dashboard: the served run's datasets, followed.
    live: Option<crate::live::LiveDatasets>,
    /// The datasets as last taken from `live`, and their plots.
    live_run: Option<smq_lab::StoredRun>,
    live_plots: crate::stored::DatasetPlots,
}

impl std::fmt::Debug for Dashboard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Dashboard")
            .field("tasks", &self.snap.tasks.len())
            .field("grouped", &self.is_grouped())
            .field("selected", &self.selected)
            .finish_non_exhaustive()
    }
}

impl Dashboard {
    /// A dashboard of `sch`, subscribed to its events from now on.
    pub fn new(sch: &Scheduler) -> Self {
        Self::with_source(Source::Local {
            sch: sch.clone(),
            events: sch.subscribe(),
        })
    }

    /// A dashboard of the run served at `url` by another process (`smq demo --serve`),
    /// with its `token`: it shows the run as [`new`](Self::new) shows a local one, and
    /// pause, resume and cancel act on the served run. A lost connection is shown on screen
    /// and retried; the view catches up on reconnect.
    ///
    /// # Examples
    ///
    /// ```
    /// use smqsched_dashboard::Dashboard;
    ///
    /// let sch = smqsched::Scheduler::new();
    /// let server = smq_serve::serve(&sch, "127.0.0.1:0", Default::default()).unwrap();
    /// let dash = Dashboard::attach(&server.url(), server.token());
    /// assert!(dash.scheduler().is_none());
    /// ```
    pub fn attach(url: &str, token: &str) -> Self {
        let remote = Arc::new(smq_serve::Remote::connect(url, token));
        let mut dash = Self::with_source(Source::Remote(Arc::clone(&remote)));
        dash.live = Some(crate::live::LiveDatasets::start(remote));
        dash
    }

    fn with_source(source: Source) -> Self {
        Dashboard {
            source,
            snap: Snapshot::new(),
            layout: Layout::default(),
            groups: Groups::default(),
            timeline: Timeline::default(),
            progress: Progress::default(),
            plots: None,
            changed: Vec::new(),
            failures: Vec::new(),
            last_started: None,
            view: ViewMode::Auto,
            group_threshold: DEFAULT_GROUP_THRESHOLD,
            task_camera: Camera::default(),
            group_camera: Camera::default(),
            selected: BTreeSet::new(),
            message: None,
            stream_span: 30.0,
            screenshot: None,
            backlog: false,
            start_on_show: false,
            live: None,
            live_run: None,
            live_plots: crate::stored::DatasetPlots::default(),
        }
    }

    /// Show these plots in the plots panel.
    pub fn with_plots(mut self, plots: Plots) -> Self {
        self.plots = Some(plots);
        self
    }

    /// Group the DAG by label above `n` tasks (default [`DEFAULT_GROUP_THRESHOLD`]).
    pub fn with_group_threshold(mut self, n: usize) -> Self {
        self.group_threshold = n;
        self
    }

    /// The scheduler shown, if it is in this process (not for [`attach`](Self::attach)).
    pub fn scheduler(&self) -> Option<&Scheduler> {
        match &self.source {
            Source::Local { sch, .. } => Some(sch),
            Source::Remote(_) => None,
        }
    }

    /// For a dashboard [attached](Self::attach) to a served run: block until the next
    /// snapshot arrives from it, or `timeout`; whether one did. `false` at once for a
    /// scheduler in this process. Lets a test or a tool step in time with the served run.
    pub fn wait_remote_update(&self, timeout: Duration) -> bool {
        match &self.source {
            Source::Local { .. } => false,
            Source::Remote(r) => r.wait_update(r.updates() + 1, timeout),
        }
    }

    /// For a dashboard [attached](Self::attach) to a served run: block until the live plots
    /// have polled the served run's datasets once more (a whole poll, started after this
    /// call), or `timeout`; whether they did. `false` at once for a scheduler in this
    /// process.
    pub fn wait_live_poll(&self, timeout: Duration) -> bool {
        self.live.as_ref().is_some_and(|l| l.wait_poll(timeout))
    }

    /// What is wrong with the connection to a served run, as shown on screen; `None` while
    /// it answers, and always for a scheduler in this process.
    pub fn link_problem(&self) -> Option<String> {
        self.source.link_problem()
    }

    /// Tasks in the graph, as of the last frame.
    pub fn task_count(&self) -> usize {
        self.snap.tasks.len()
    }

    /// Whether the DAG is drawn grouped by label, as of the last frame.
    pub fn is_grouped(&self) -> bool {
        match self.view {
            ViewMode::Auto => self.snap.tasks.len() > self.group_threshold,
            ViewMode::Tasks => false,
            ViewMode::Groups => true,
        }
    }

    /// The label groups and their counts by state, as of the last frame.
    pub fn groups(&self) -> Vec<(String, Counts)> {
        self.groups
            .groups
            .iter()
            .map(|g| (g.name.clone(), g.counts))
            .collect()
    }

    /// The selected tasks, by index.
    pub fn selection(&self) -> Vec<u64> {
        self.selected.iter().map(|&i| u64::from(i)).collect()
    }

    /// Progress of the whole graph, as of the last frame.
    pub fn progress(&self) -> &Progress {
        &self.progress
    }

    /// Where task `index` is drawn on screen at the last frame, if it is drawn (task view,
    /// on screen, or in an expanded group). Lets a test or a tool click on a node.
    pub fn node_rect(&self, index: u64) -> Option<egui::Rect> {
        crate::dag::node_screen_rect(self, u32::try_from(index).ok()?)
    }

    /// Pause: the scheduler starts no new task; running ones finish.
    pub fn pause(&mut self) {
        self.message = Some(match self.source.pause() {
            Ok(()) => "paused: running tasks finish, no new task starts".into(),
            Err(e) => format!("could not pause: {e}"),
        });
    }

    /// Resume after [`pause`](Self::pause).
    pub fn resume(&mut self) {
        self.message = Some(match self.source.resume() {
            Ok(()) => "resumed".into(),
            Err(e) => format!("could not resume: {e}"),
        });
    }

    /// Cancel every selected task that has not started (and what depends on it); returns how
    /// many tasks were cancelled.
    pub fn cancel_selected(&mut self) -> usize {
        let tasks: Vec<TaskId> = self
            .selected
            .iter()
            .filter_map(|&i| self.snap.tasks.get(i as usize))
            .filter(|t| matches!(t.state, TaskState::Waiting | TaskState::Ready))
            .map(|t| t.id)
            .collect();
        if tasks.is_empty() {
            self.message = Some("cancelled 0 task(s)".into());
            return 0;
        }
        let (cancelled, message) = match self.source.cancel(&tasks) {
            // It started or was cancelled since the last snapshot.
            Ok((n, 0)) => (n, format!("cancelled {n} task(s)")),
            Ok((n, r)) => (
                n,
                format!("cancelled {n} task(s); {r} had started meanwhile"),
            ),
            Err(e) => (0, format!("could not cancel: {e}")),
        };
        self.message = Some(message);
        cancelled
    }

    /// Steps 1–3 of the frame protocol (see the module docs): take events, refresh the
    /// snapshot, update layout, groups, progress and plots.
    pub(crate) fn refresh(&mut self) {
        let mut taken = 0;
        self.backlog = false;
        while taken < MAX_EVENTS_PER_FRAME {
            let Some(e) = self.source.next_event() else {
                break;
            };
            taken += 1;
            self.timeline.push(&e);
            if let Some(id) = e.task
                && let Ok(i) = u32::try_from(id.index())
            {
                self.changed.push(i);
                match e.kind {
                    EventKind::Failed { .. } => self.failures.push(i),
                    EventKind::Started { .. } => self.last_started = Some(i),
                    _ => {}
                }
            }
        }
        if taken == MAX_EVENTS_PER_FRAME {
            self.backlog = true;
        }
        self.source.snapshot_into(&mut self.snap);
        if self.snap.tasks.len() < self.layout.len() {
            // Another scheduler's snapshot: nothing placed is valid.
            self.failures.clear();
            self.selected.clear();
        }
        self.layout.update(&self.snap);
        self.groups
            .update(&self.snap, &self.layout, self.changed.drain(..));
        for q in &self.snap.queues {
            self.timeline.ensure_slots(&q.name, q.slots);
        }
        let finished = self.snap.queues.iter().map(|q| q.done + q.failed).sum();
        self.progress
            .record(self.snap.at, finished, self.snap.tasks.len());
        if let Some(p) = &self.plots {
            p.poll();
        }
    }

    /// Keyboard shortcuts: Space pauses or resumes, Delete cancels the selection, Escape
    /// clears it, F fits the graph to the view, G switches tasks and groups.
    fn shortcuts(&mut self, ui: &Ui) {
        if ui.ctx().egui_wants_keyboard_input() {
            return;
        }
        let (space, del, esc, f, g) = ui.input(|i| {
            (
                i.key_pressed(Key::Space),
                i.key_pressed(Key::Delete),
                i.key_pressed(Key::Escape),
                i.key_pressed(Key::F),
                i.key_pressed(Key::G),
            )
        });
        if space {
            self.toggle_pause();
        }
        if del && !self.selected.is_empty() {
            self.cancel_selected();
        }
        if esc {
            self.selected.clear();
        }
        if f {
            self.task_camera.touched = false;
            self.group_camera.touched = false;
        }
        if g {
            self.view = if self.is_grouped() {
                ViewMode::Tasks
            } else {
                ViewMode::Groups
            };
        }
    }

    fn toggle_pause(&mut self) {
        if self.source.is_running(&self.snap) {
            self.pause();
        } else {
            self.resume();
        }
    }

    /// Draw one frame into `ui` (the whole window's area): refresh from the scheduler, then
    /// the control bar, the queues and inspector, the task stream, the plots and the DAG.
    pub fn ui(&mut self, ui: &mut Ui) {
        if std::mem::take(&mut self.start_on_show) {
            let _ = self.source.resume();
        }
        self.refresh();
        self.shortcuts(ui);

        egui::Panel::top("controls").show(ui, |ui| self.controls(ui));
        egui::Panel::left("side")
            .default_size(300.0)
            .resizable(true)
            .show(ui, |ui| {
                egui::ScrollArea::vertical().show(ui, |ui| {
                    crate::panels::queues(self, ui);
                    ui.separator();
                    crate::panels::inspector(self, ui);
                    ui.separator();
                    crate::panels::failures(self, ui);
                });
            });
        egui::Panel::bottom("stream")
            .default_size(170.0)
            .resizable(true)
            .show(ui, |ui| crate::panels::task_stream(self, ui));
        if self.plots.is_some() {
            egui::Panel::right("plots")
                .default_size(360.0)
                .resizable(true)
                .show(ui, |ui| crate::panels::plots(self, ui));
        } else if let Some(live) = &self.live {
            if let Some(run) = live.take() {
                if let Some(old) = &self.live_run {
                    self.live_plots.before_update(old);
                }
                self.live_run = Some(run);
            }
            let problem = live.problem();
            if let Some(run) = self.live_run.as_ref().filter(|r| !r.datasets.is_empty()) {
                let plots = &mut self.live_plots;
                egui::Panel::right("live-plots")
                    .default_size(420.0)
                    .resizable(true)
                    .show(ui, |ui| {
                        ui.heading("Live plots");
                        if let Some(p) = problem {
                            ui.label(RichText::new(p).color(crate::dag::FAILED));
                        }
                        egui::ScrollArea::vertical().show(ui, |ui| plots.show(ui, run));
                    });
            }
        }
        egui::CentralPanel::default().show(ui, |ui| crate::dag::show(self, ui));

        self.screenshot_step(ui);
        let unfinished = self.progress.finished() < self.progress.total();
        if self.backlog {
            ui.ctx().request_repaint();
        } else {
            ui.ctx().request_repaint_after(if unfinished {
                Duration::from_millis(33)
            } else {
                Duration::from_millis(250)
            });
        }
    }

    /// The top bar: state, pause/resume, cancel, progress, view mode.
    fn controls(&mut self, ui: &mut Ui) {
        ui.horizontal_wrapped(|ui| {
            ui.heading("smqsched");
            if let Some(problem) = self.source.link_problem() {
                ui.label(RichText::new(problem).strong().color(crate::dag::FAILED));
            }
            let running = self.source.is_running(&self.snap);
            let in_flight: usize = self.snap.queues.iter().map(|q| q.running).sum();
            let all_done = self.progress.finished() == self.progress.total();
            // The run's state in the words of `RunStatus`, the pause as a detail of it.
            let (complete, going) = (RunStatus::Complete, RunStatus::Running);
            let (text, colour) = match (running, in_flight, all_done) {
                (_, 0, true) => (complete.to_string(), crate::dag::DONE),
                (true, _, _) => (going.to_string(), crate::dag::DONE),
                (false, 0, _) => (format!("{going} (paused)"), crate::dag::RUNNING),
                (false, n, _) => (
                    format!("{going} (pausing: {n} running task(s) finishing)"),
                    crate::dag::RUNNING,
                ),
            };
            crate::dag::swatch(ui, colour, true);
            ui.label(RichText::new(text).strong().color(colour));
            if running {
                if ui
                    .button("Pause")
                    .on_hover_text("Start no new task; running ones finish (Space)")
                    .clicked()
                {
                    self.pause();
                }
            } else if ui
                .button("Resume")
                .on_hover_text("Start tasks again (Space)")
                .clicked()
            {
                self.resume();
            }
            let pending = self
                .selected
                .iter()
                .filter(|&&i| {
                    self.snap
                        .tasks
                        .get(i as usize)
                        .is_some_and(|t| matches!(t.state, TaskState::Waiting | TaskState::Ready))
                })
                .count();
            if ui
                .add_enabled(
                    pending > 0,
                    egui::Button::new(format!("Cancel selected ({pending})")),
                )
                .on_hover_text("Cancel the selected tasks that have not started, and their dependents (Delete)")
                .clicked()
            {
                self.cancel_selected();
            }
            ui.separator();
            let (f, t) = (self.progress.finished(), self.progress.total());
            let frac = if t == 0 { 0.0 } else { f as f32 / t as f32 };
            ui.add(
                egui::ProgressBar::new(frac)
                    .desired_width(220.0)
                    .text(format!("{} / {} finished", thousands(f), thousands(t))),
            );
            let rate = self
                .progress
                .rate()
                .map_or("rate –".to_owned(), |r| format!("{r:.1} tasks/s"));
            ui.label(rate);
            let eta = match self.progress.eta() {
                Some(d) if d.is_zero() => "done".to_owned(),
                Some(d) => format!("ETA {}", human(d)),
                None if !running && f < t => "ETA – (paused)".to_owned(),
                None => "ETA –".to_owned(),
            };
            ui.label(eta);
            ui.separator();
            ui.label("View:");
            ui.selectable_value(&mut self.view, ViewMode::Auto, "Auto");
            ui.selectable_value(&mut self.view, ViewMode::Tasks, "Tasks");
            ui.selectable_value(&mut self.view, ViewMode::Groups, "Groups");
            if ui.button("Fit").on_hover_text("Fit the graph (F)").clicked() {
                self.task_camera.touched = false;
                self.group_camera.touched = false;
            }
            if let Some(m) = &self.message {
                ui.separator();
                ui.label(RichText::new(m).italics().color(Color32::GRAY));
            }
        });
    }

    /// Take the planned screenshot once enough of the run is finished, then close.
    fn screenshot_step(&mut self, ui: &Ui) {
        let (f, t) = (self.progress.finished(), self.progress.total());
        if let Some(plan) = &mut self.screenshot {
            plan.step(ui, t > 0 && (f as f64 >= plan.at * t as f64));
        }
    }
}

impl ScreenshotPlan {
    /// A plan to write a screenshot to `path` once `at` (0 to 1) of the tasks are finished.
    pub(crate) fn new(path: PathBuf, at: f64) -> Self {
        Self {
            path,
            at: at.clamp(0.0, 1.0),
            requested: false,
            frames: 0,
        }
    }

    /// One frame drawn: once `far_enough` and the layout has settled (three frames), ask
    /// for the screenshot, write it, then close the window.
    pub(crate) fn step(&mut self, ui: &Ui, far_enough: bool) {
        self.frames += 1;
        if self.requested || !far_enough || self.frames < 3 {
            return;
        }
        self.requested = true;
        let path = self.path.clone();
        let ctx = ui.ctx().clone();
        ui.ctx()
            .request_screenshot(move |image: Arc<egui::ColorImage>| {
                match crate::screenshot::write_png(&path, &image) {
                    Ok(()) => println!("screenshot written to {}", path.display()),
                    Err(e) => eprintln!("smq-dashboard: {e}"),
                }
                ctx.send_viewport_cmd(egui::ViewportCommand::Close);
                ctx.request_repaint();
            });
    }
}

/// `n` with thousands separators: `12,345`.
pub(crate) fn thousands(n: usize) -> String {
    let s = n.to_string();
    let mut out = String::with_capacity(s.len() + s.len() / 3);
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

impl eframe::App for Dashboard {
    fn ui(&mut self, ui: &mut Ui, _frame: &mut eframe::Frame) {
        Dashboard::ui(self, ui);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thousands_are_separated() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1000), "1,000");
        assert_eq!(thousands(100_000), "100,000");
        assert_eq!(thousands(1_234_567), "1,234,567");
    }
}
