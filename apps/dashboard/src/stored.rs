//! A stored run reopened (`smq-dashboard --open runs/RUN`): what it holds, plotted.
//!
//! The run is read once by [`smq_lab::StoredRun`] (as `smq show --plot` reads it) and
//! again when the operator presses Reload: a run still being written by another process is
//! shown as far as that process has committed, and says `running`. With Follow ticked (or
//! [`StoredView::follow`]), such a run is read again every second while it is `running`:
//!
//! 1. at a frame, when no read is under way and the interval has passed, a thread reads
//!    from disk what was stored since the shown read ([`StoredRun::refreshed`], sharing
//!    that read), and sends the run so completed on a channel;
//! 2. each frame takes a finished read from the channel without waiting, and shows it;
//! 3. a run that has ended (`complete`, `aborted`, ...) is no longer read.
//!
//! The frames never wait for the disk; at most one read is under way.
//!
//! * The top bar: the run, its state, its DAG summary, what the store repaired on opening.
//! * The left panel: the metadata (experiment, times, parameters, instruments) and the
//!   DAG summary by state and by label, with the failed tasks.
//! * The centre: one plot per dataset of one number per acquisition against the scan
//!   point; a map for each 2-D scan; a browser for each waveform dataset (a slider over the
//!   points, Previous / Next point, the waveform at the chosen point); one plot per
//!   component of the datasets of pairs (the spectrum peaks).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::mpsc::{Receiver, TryRecvError};
use std::time::{Duration, Instant};

use egui::{RichText, Ui};
use egui_plot::{Line, Plot, PlotPoints, Points};
use smq_lab::{StoredDataset, StoredError, StoredRun};

use crate::dag::{FAILED, RUNNING};
use crate::panels::colour_map;

/// How often a followed run is read again (see [`StoredView::follow`]).
pub const FOLLOW_EVERY: Duration = Duration::from_secs(1);

/// The view of a stored run: implements [`eframe::App`], and its [`ui`](Self::ui) can be
/// driven by any egui host (a test harness, another app's panel).
///
/// # Examples
///
/// ```
/// use smqsched_dashboard::StoredView;
/// # let dir = tempfile::tempdir()?;
/// let store = smq_store::Store::create(dir.path())?;
/// let run = store.create_run("r1", "demo", serde_json::json!({}))?;
/// run.dataset::<f64>("level", &[])?.push(1.5)?;
/// run.finish(None)?;
/// let mut view = StoredView::open(dir.path().join("r1"))?;
/// assert_eq!(view.run().state, "complete");
/// let ctx = egui::Context::default();
/// let mut out = ctx.run_ui(egui::RawInput::default(), |ui| view.ui(ui));
/// out.textures_delta.clear();
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct StoredView {
    folder: PathBuf,
    /// Shared with the thread that reads what is new, when following.
    run: Arc<StoredRun>,
    plots: DatasetPlots,
    /// The last reload's error, shown until the next one succeeds.
    problem: Option<String>,
    /// Follow a run being written: read it again every `follow_every`.
    follow: bool,
    follow_every: Duration,
    /// When the last read started.
    last_read: Instant,
    /// A read under way on a thread of its own, when following.
    reading: Option<Receiver<Result<StoredRun, StoredError>>>,
    /// A screenshot to write once the view is drawn ([`Options::screenshot`](crate::Options::screenshot)).
    screenshot: Option<crate::app::ScreenshotPlan>,
}

impl StoredView {
    /// Read the run whose folder is `run_folder` (`STORE/RUN`).
    ///
    /// # Errors
    ///
    /// The [`StoredError`] saying why the run cannot be read.
    pub fn open(run_folder: impl AsRef<Path>) -> Result<Self, StoredError> {
        let folder = run_folder.as_ref().to_owned();
        let run = StoredRun::open_folder(&folder)?;
        Ok(Self::new(folder, run))
    }

    fn new(folder: PathBuf, run: StoredRun) -> Self {
        Self {
            folder,
            run: Arc::new(run),
            plots: DatasetPlots::default(),
            problem: None,
            follow: false,
            follow_every: FOLLOW_EVERY,
            last_read: Instant::now(),
            reading: None,
            screenshot: None,
        }
    }

    /// The run shown, as last read.
    pub fn run(&self) -> &StoredRun {
        &self.run
    }

    /// Follow the run (as the Follow box does): while it is `running`, read it again every
    /// `every` ([`FOLLOW_EVERY`] by default), on a thread of its own so that frames never
    /// wait for the disk.
    pub fn follow(mut self, every: Duration) -> Self {
        self.follow = true;
        self.follow_every = every;
        self
    }

    /// While following: block until the read under way, if any, has finished, or
    /// `timeout`, and show what it read; whether one was shown. Lets a test or a tool step
    /// in time with the reads.
    pub fn wait_read(&mut self, timeout: Duration) -> bool {
        let Some(rx) = &self.reading else {
            return false;
        };
        match rx.recv_timeout(timeout) {
            Ok(read) => {
                self.reading = None;
                self.apply(read);
                true
            }
            Err(_) => false,
        }
    }

    /// Show what a read gave.
    fn apply(&mut self, read: Result<StoredRun, StoredError>) {
        match read {
            Ok(run) => {
                self.plots.before_update(&self.run);
                self.run = Arc::new(run);
                self.problem = None;
            }
            Err(e) => self.problem = Some(format!("reload failed: {e}")),
        }
    }

    /// Following: take a finished read, start the next one when it is time.
    fn follow_step(&mut self, ctx: &egui::Context) {
        if let Some(rx) = &self.reading {
            match rx.try_recv() {
                Ok(read) => {
                    self.reading = None;
                    self.apply(read);
                }
                Err(TryRecvError::Empty) => {}
                Err(TryRecvError::Disconnected) => self.reading = None,
            }
        }
        let running = self.run.status == Some(smq_lab::RunStatus::Running);
        if !(self.follow && running) {
            return;
        }
        if self.reading.is_none() && self.last_read.elapsed() >= self.follow_every {
            let (tx, rx) = std::sync::mpsc::channel();
            // Only what was stored since the last read is read.
            let previous = Arc::clone(&self.run);
            let spawned = std::thread::Builder::new()
                .name("dashboard-reload".into())
                .spawn(move || {
                    let _ = tx.send(previous.refreshed());
                });
            match spawned {
                Ok(_) => self.reading = Some(rx),
                Err(e) => self.problem = Some(format!("cannot read the run: {e}")),
            }
            self.last_read = Instant::now();
        }
        ctx.request_repaint_after(self.follow_every.max(Duration::from_millis(50)));
    }

    /// Read the run again from disk (what its writer committed since). A waveform browser
    /// at the last point moves to the new last point; the others stay where they are.
    pub fn reload(&mut self) {
        match StoredRun::open_folder(&self.folder) {
            Ok(run) => {
                self.plots.before_update(&self.run);
                self.run = Arc::new(run);
                self.problem = None;
            }
            Err(e) => self.problem = Some(format!("reload failed: {e}")),
        }
        self.last_read = Instant::now();
    }

    /// Draw one frame.
    pub fn ui(&mut self, ui: &mut Ui) {
        self.follow_step(ui.ctx());
        egui::Panel::top("stored-top").show(ui, |ui| self.top(ui));
        // At most half the window: long metadata (a plan's parameters, addresses) is cut
        // to the panel's width, in full on hover, so that the plots always show.
        let half = (ui.available_width() * 0.5).max(200.0);
        egui::Panel::left("stored-meta")
            .default_size(340.0_f32.min(half))
            .max_size(half)
            .resizable(true)
            .show(ui, |ui| {
                egui::ScrollArea::vertical().show(ui, |ui| self.metadata(ui));
            });
        egui::CentralPanel::default().show(ui, |ui| {
            egui::ScrollArea::vertical().show(ui, |ui| self.plots.show(ui, &self.run));
        });
    }

    fn top(&mut self, ui: &mut Ui) {
        ui.horizontal_wrapped(|ui| {
            ui.heading(format!("run {}", self.run.name()));
            let state = RichText::new(self.run.state.clone()).strong();
            ui.label(match self.run.status {
                Some(smq_lab::RunStatus::Running) => state.color(RUNNING),
                Some(smq_lab::RunStatus::Failed | smq_lab::RunStatus::Unfinished) => {
                    state.color(FAILED)
                }
                _ => state,
            });
            if let Some(s) = &self.run.summary {
                ui.label(s.to_string());
            }
            if self.run.status == Some(smq_lab::RunStatus::Running) {
                ui.label("(being written: what is committed so far)");
                ui.checkbox(&mut self.follow, "Follow");
            }
            if ui.button("Reload").clicked() {
                self.reload();
            }
        });
        for r in &self.run.repairs {
            ui.label(format!("repaired on opening: {r}"));
        }
        if let Some(p) = &self.problem {
            ui.label(RichText::new(p).color(FAILED));
        }
    }

    fn metadata(&self, ui: &mut Ui) {
        ui.heading("Metadata");
        egui::Grid::new("stored-metadata")
            .num_columns(2)
            .show(ui, |ui| {
                for (k, v) in self.run.metadata_lines() {
                    ui.label(k);
                    ui.add(egui::Label::new(&v).truncate()).on_hover_text(&v);
                    ui.end_row();
                }
            });
        ui.separator();
        ui.heading("DAG summary");
        let Some(s) = &self.run.summary else {
            ui.label("no summary recorded (the run did not end)");
            return;
        };
        egui::Grid::new("stored-by-label")
            .num_columns(2)
            .show(ui, |ui| {
                for (label, states) in &s.by_label {
                    ui.label(label);
                    ui.label(smq_lab::state_counts(states));
                    ui.end_row();
                }
            });
        if !s.failed.is_empty() {
            ui.label(RichText::new(s.failures()).color(FAILED));
        }
    }

    /// Open this view in a window, and return when the window is closed. With
    /// [`Options::screenshot`](crate::Options::screenshot), the window is written to that
    /// PNG file once drawn, and then closed.
    ///
    /// # Errors
    ///
    /// [`Error::Window`](crate::Error::Window) if no window can be opened.
    pub fn show(mut self, options: &crate::Options) -> Result<(), crate::Error> {
        self.screenshot = options
            .screenshot
            .clone()
            .map(|path| crate::app::ScreenshotPlan::new(path, 0.0));
        crate::run_window(options, self)
    }
}

/// The plots of a run's datasets, shared by the view of a stored run and the live plots of
/// an attached dashboard: scans by point, 2-D maps, waveform browsers, the pairs' components.
#[derive(Debug, Default)]
pub(crate) struct DatasetPlots {
    /// The acquisition shown by each waveform browser, by dataset name.
    chosen: BTreeMap<String, usize>,
}

impl DatasetPlots {
    /// Before `old` is replaced by newer data: a browser at the last point follows the new
    /// last point; the others stay where they are.
    pub(crate) fn before_update(&mut self, old: &StoredRun) {
        self.chosen
            .retain(|name, i| old.dataset(name).is_some_and(|d| *i + 1 < d.len()));
    }

    /// Draw the plots of `run`'s datasets.
    pub(crate) fn show(&mut self, ui: &mut Ui, run: &StoredRun) {
        let h = 220.0;
        if run.datasets.is_empty() {
            ui.label("no datasets stored");
        }
        for d in run.scan_plots() {
            let pts: Vec<[f64; 2]> = d
                .points
                .iter()
                .zip(&d.values)
                .map(|(&p, &v)| [p as f64, v])
                .collect();
            scan_plot(ui, &format!("{} by point", d.name), &d.label(), pts, h);
        }
        for name in run.maps() {
            let Some(map) = run.map(name) else {
                continue;
            };
            ui.label(RichText::new(format!("{name} map")).strong());
            let (lo, hi) = map
                .cells
                .iter()
                .fold((f64::INFINITY, f64::NEG_INFINITY), |(l, h), c| {
                    (l.min(c[2]), h.max(c[2]))
                });
            ui.label(format!("{} against {}", map.axes[1], map.axes[0]));
            ui.label(format!("colour: {lo:.4} (dark) to {hi:.4} (yellow)"));
            Plot::new(format!("map-{name}"))
                .height(h)
                .data_aspect(1.0)
                .show(ui, |p| {
                    for c in &map.cells {
                        let s = if hi > lo {
                            (c[2] - lo) / (hi - lo)
                        } else {
                            0.5
                        };
                        p.points(
                            Points::new(format!("{}", c[2]), PlotPoints::from(vec![[c[0], c[1]]]))
                                .radius(6.0)
                                .color(colour_map(s as f32)),
                        );
                    }
                });
        }
        for d in run.waveforms() {
            self.browser(ui, d, h);
        }
        for d in run.pairs() {
            for k in 0..2 {
                let pts: Vec<[f64; 2]> = (0..d.len())
                    .filter_map(|i| Some([d.points[i] as f64, *d.row(i)?.get(k)?]))
                    .collect();
                let name = format!("{}[{k}]", d.name);
                scan_plot(ui, &format!("{name} by point"), &name, pts, h);
            }
        }
    }

    /// The waveform browser of `d`: choose an acquisition by its point, see it.
    fn browser(&mut self, ui: &mut Ui, d: &StoredDataset, h: f32) {
        let Some(last) = d.len().checked_sub(1) else {
            ui.label(format!("{}: no acquisition yet", d.name));
            return;
        };
        let i = self.chosen.entry(d.name.clone()).or_insert(last);
        *i = (*i).min(last);
        ui.horizontal(|ui| {
            ui.label(RichText::new(format!("{}: point {}", d.name, d.points[*i])).strong());
            ui.label(format!("({} of {})", *i + 1, d.len()));
            if ui.button("Previous point").clicked() {
                *i = i.saturating_sub(1);
            }
            if ui.button("Next point").clicked() {
                *i = (*i + 1).min(last);
            }
            ui.add(
                egui::Slider::new(i, 0..=last)
                    .show_value(false)
                    .text("choose the point"),
            );
        });
        let row = d.row(*i).unwrap_or(&[]).to_vec();
        let x_name = d.acquisition_dim(0).unwrap_or("sample").to_owned();
        Plot::new(format!("waveform-{}", d.name))
            .height(h)
            .x_axis_label(x_name)
            .y_axis_label(d.label())
            .show(ui, |p| {
                p.line(Line::new(d.name.clone(), PlotPoints::from_ys_f64(&row)).color(RUNNING));
            });
    }
}

/// A plot of values against scan points.
fn scan_plot(ui: &mut Ui, title: &str, y_label: &str, pts: Vec<[f64; 2]>, h: f32) {
    ui.label(RichText::new(format!("{title} ({} points)", pts.len())).strong());
    let lines = runs_of_points(pts.clone());
    Plot::new(title.to_owned())
        .height(h)
        .x_axis_label("point")
        .y_axis_label(y_label.to_owned())
        .show(ui, |p| {
            for run in lines {
                p.line(Line::new(title.to_owned(), PlotPoints::from(run)));
            }
            p.points(Points::new("points", PlotPoints::from(pts)).radius(2.5));
        });
}

/// `(point, value)` pairs in the order they were stored (newest first, or with the points
/// of a resumed run after the others), as the lines of a plot by point: sorted by point,
/// and cut where points are missing, so that no line is drawn across points not taken
/// (yet). Several values of one point stay in one line, in their stored order.
fn runs_of_points(mut pts: Vec<[f64; 2]>) -> Vec<Vec<[f64; 2]>> {
    pts.sort_by(|a, b| a[0].total_cmp(&b[0]));
    let mut runs: Vec<Vec<[f64; 2]>> = Vec::new();
    for p in pts {
        match runs.last_mut() {
            Some(run) if run.last().is_some_and(|q| p[0] - q[0] <= 1.0) => run.push(p),
            _ => runs.push(vec![p]),
        }
    }
    runs
}

impl eframe::App for StoredView {
    fn ui(&mut self, ui: &mut Ui, _frame: &mut eframe::Frame) {
        StoredView::ui(self, ui);
        if let Some(plan) = &mut self.screenshot {
            plan.step(ui, true);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::runs_of_points;

    #[test]
    fn lines_by_point_are_sorted_and_cut_at_missing_points() {
        let stored = vec![
            [0.0, 5.0],
            [9.0, 1.0],
            [8.0, 2.0],
            [7.0, 3.0],
            [3.0, 4.0],
            [7.0, 6.0],
        ];
        assert_eq!(
            runs_of_points(stored),
            [
                vec![[0.0, 5.0]],
                vec![[3.0, 4.0]],
                vec![[7.0, 3.0], [7.0, 6.0], [8.0, 2.0], [9.0, 1.0]],
            ]
        );
        assert!(runs_of_points(Vec::new()).is_empty());
    }
}
