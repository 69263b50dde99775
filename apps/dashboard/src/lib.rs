//! # smqsched-dashboard — watch and steer a smqsched run
//!
//! A desktop window (egui/eframe) on a live [`Scheduler`]:
//!
//! * **The DAG**: tasks as nodes coloured by state (waiting, ready, running, done, failed,
//!   cancelled), edges, laid out in layers (a task's layer is its longest input path from a
//!   source). Drag to pan, scroll to zoom, click a node to see its label, queue, inputs,
//!   timings and error. Until the operator pans or zooms, the view follows the task
//!   started last. Above 2,000 tasks ([`DEFAULT_GROUP_THRESHOLD`]) the tasks are grouped
//!   by label (`fft(2.5)` is in `fft`) into collapsible nodes with progress counts.
//! * **The queues**: slots in use out of the total, the ready backlog, what waits for inputs.
//! * **The task stream**: one row per queue slot, a bar per task run coloured by label.
//! * **Control**: Pause and Resume (button or Space) stop and start the scheduler: no new
//!   task starts while paused, running ones finish. The state is always shown in the top
//!   bar, in the words `smq` uses for runs ([`RunStatus`](smq_lab::RunStatus)): `running`
//!   (with `paused` while paused) until every task is finished, then `complete`. Cancel
//!   the selected tasks that have not started (button or Delete).
//! * **Live plots** of results a script marks with [`Plots`]: the last waveform, the running
//!   average, a scan, a scan map.
//!   Attached to a served run ([`Dashboard::attach`]), the dashboard plots the run's
//!   datasets instead, fetched as they grow (only the new acquisitions cross the network)
//!   and drawn by scan point with the same code as a stored run reopened (below).
//! * **Progress**: finished out of total, the rate, the estimated time left.
//!
//! Keyboard: Space pauses or resumes, Delete cancels the selection, Escape clears it, F
//! fits the graph to the window, G switches between tasks and groups.
//!
//! ## From a script
//!
//! One call opens the window on a scheduler and returns when it is closed; the run goes on
//! in the scheduler's threads meanwhile:
//!
//! ```no_run
//! use smqsched::Scheduler;
//!
//! let sch = Scheduler::new();
//! let camera = sch.queue("camera", 1)?;
//! for i in 0..100 {
//!     camera.task().label(format!("frame({i})")).submit((), move |()| i)?;
//! }
//! sch.start();
//! smqsched_dashboard::run(&sch)?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! To plot results as they arrive, mark their promises on a [`Plots`] and open a
//! [`Dashboard`] with it:
//!
//! ```no_run
//! use smqsched::Scheduler;
//! use smqsched_dashboard::{Dashboard, Options, Plots};
//!
//! let sch = Scheduler::new();
//! let scope = sch.queue("scope", 1)?;
//! let plots = Plots::new();
//! for x in 0..20 {
//!     let trace = scope.submit((), move |()| vec![f64::from(x); 100]);
//!     let level = scope.submit(&trace, |t: &Vec<f64>| t[0]);
//!     plots.waveform(&trace);
//!     plots.scan_point(f64::from(x), &level);
//! }
//! sch.start();
//! Dashboard::new(&sch).with_plots(plots).open(&Options::default())?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! With no arguments, the `smq-dashboard` binary runs the demo scan of `smq-lab` (the same
//! graph as `smq demo`) on the simulated instruments and shows it: see [`Demo`].
//!
//! ## A stored run reopened
//!
//! `smq-dashboard --open runs/RUN` shows what a stored run holds, with no scheduler: its
//! state and DAG summary, its metadata, each scalar dataset plotted against the scan point
//! (values put in point order by their `_point` datasets), a map for each 2-D scan (a
//! dataset whose `dims` attribute names two scan axes with coordinate datasets), a
//! browser for each waveform dataset (a slider and Previous / Next point), and the
//! components of the spectrum peaks. It works on finished, aborted and crashed runs (the
//! store repairs a crashed one as it opens, and the view says what was repaired), and on a
//! run another process is still writing: it reads what that process committed, says
//! `running`, and follows it (reads it again every second, off the UI thread; the Follow
//! box turns it off), or Reload reads again. See [`StoredView`]; the reading is
//! [`smq_lab::StoredRun`]'s, shared with `smq show RUN --plot FILE.png`, which draws the
//! same plots to an image on a machine without a display.
//!
//! ```no_run
//! let view = smqsched_dashboard::StoredView::open("runs/demo-1712345678")?;
//! view.show(&smqsched_dashboard::Options::default())?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! ## How it stays fluid on large runs
//!
//! Each frame refreshes one [`Snapshot`](smqsched::Snapshot) with `snapshot_into`, which
//! copies only the tasks that changed; the layout and the groups are extended with the new
//! tasks only; the canvas draws only what is on screen, found from the layout's grid
//! without scanning the graph. The protocol between the UI thread and the scheduler is
//! described step by step in `src/app.rs`. `benches/frame.rs` measures whole frames at
//! 1,000 to 100,000 tasks.
//!
//! ## Why these dependencies
//!
//! * `egui` / `eframe`: immediate-mode UI, so the view is a function of the snapshot at each
//!   frame with no widget tree to keep in sync; eframe is built with the `glow` (OpenGL)
//!   renderer and X11 only, which runs under Xvfb with Mesa's software GL and builds far
//!   lighter than wgpu.
//! * `egui_plot`: the plots, in the same immediate-mode style.
//! * `smq-lab`: the lab, the demo scan and the run states, defined once for the CLI, the
//!   dashboard and scripts.
//! * `smq-compute`: the running average ([`Accumulator`](smq_compute::Accumulator)).
//! * `smq-scope`, `ndarray`: waveforms and arrays are [`Trace`]s out of the box.
//! * `png`: writes `--screenshot` images (already in the build through egui's tools).
//! * `clap`: the binary's arguments. Dev: `egui_kittest` drives the UI headless in tests
//!   (no GPU, no display), `criterion` times frames.

mod app;
mod dag;
mod demo;
mod groups;
mod layout;
mod live;
mod panels;
mod plots;
mod progress;
mod screenshot;
mod source;
mod stored;
mod timeline;

use std::path::PathBuf;

use smqsched::Scheduler;

pub use crate::app::{DEFAULT_GROUP_THRESHOLD, Dashboard, MAX_EVENTS_PER_FRAME};
pub use crate::demo::{Demo, Finished};
pub use crate::groups::Counts;
pub use crate::plots::{Plots, Trace};
pub use crate::progress::Progress;
pub use crate::stored::{FOLLOW_EVERY, StoredView};

/// Why the dashboard could not be shown.
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// The window could not be opened or run (no display, no OpenGL, ...).
    Window(String),
    /// The built-in demo could not start or finish; the text says what failed.
    Demo(String),
    /// A stored run could not be read (`--open`).
    Open(smq_lab::StoredError),
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Error::Window(e) => write!(
                f,
                "cannot open the dashboard window: {e} (is a display available? set DISPLAY, or run under xvfb-run)"
            ),
            Error::Demo(e) => write!(f, "demo: {e}"),
            Error::Open(e) => write!(f, "cannot open the run: {e}"),
        }
    }
}

impl std::error::Error for Error {}

/// How the window opens.
///
/// # Examples
///
/// ```
/// let o = smqsched_dashboard::Options {
///     title: "scan 42".into(),
///     ..Default::default()
/// };
/// assert_eq!(o.size, [1400.0, 900.0]);
/// ```
#[derive(Clone, Debug)]
pub struct Options {
    /// Window title.
    pub title: String,
    /// Initial window size, in points.
    pub size: [f32; 2],
    /// Take a screenshot to this PNG file once [`screenshot_at`](Self::screenshot_at) of
    /// the tasks are finished, then close the window.
    pub screenshot: Option<PathBuf>,
    /// Fraction of the tasks finished before the screenshot (0 to 1).
    pub screenshot_at: f64,
    /// Start the scheduler when the window shows its first frame: for a graph submitted
    /// while stopped, so that the whole run is seen from its beginning.
    pub start_on_show: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            title: "smqsched dashboard".into(),
            size: [1400.0, 900.0],
            screenshot: None,
            screenshot_at: 0.5,
            start_on_show: false,
        }
    }
}

/// Open the dashboard of `sch` in a window, and return when the window is closed. The
/// scheduler keeps running meanwhile and afterwards; the dashboard only observes it, and
/// stops or starts it when the operator pauses or resumes.
///
/// # Errors
///
/// [`Error::Window`] if no window can be opened (no display, no OpenGL).
///
/// # Examples
///
/// ```no_run
/// let sch = smqsched::Scheduler::new();
/// sch.start();
/// smqsched_dashboard::run(&sch)?;
/// # Ok::<(), smqsched_dashboard::Error>(())
/// ```
pub fn run(sch: &Scheduler) -> Result<(), Error> {
    Dashboard::new(sch).open(&Options::default())
}

impl Dashboard {
    /// Open this dashboard in a window, and return when the window is closed.
    ///
    /// # Errors
    ///
    /// [`Error::Window`] if no window can be opened (no display, no OpenGL).
    ///
    /// # Examples
    ///
    /// ```no_run
    /// use smqsched_dashboard::{Dashboard, Options};
    ///
    /// let sch = smqsched::Scheduler::new();
    /// let options = Options { title: "my scan".into(), ..Options::default() };
    /// Dashboard::new(&sch).open(&options)?;
    /// # Ok::<(), smqsched_dashboard::Error>(())
    /// ```
    pub fn open(mut self, options: &Options) -> Result<(), Error> {
        self.start_on_show = options.start_on_show;
        if let Some(path) = &options.screenshot {
            self.screenshot = Some(app::ScreenshotPlan::new(
                path.clone(),
                options.screenshot_at,
            ));
        }
        run_window(options, self)
    }
}

/// Show `app` in a native window titled and sized by `options`, until it is closed.
pub(crate) fn run_window(options: &Options, app: impl eframe::App + 'static) -> Result<(), Error> {
    let native = eframe::NativeOptions {
        viewport: egui::ViewportBuilder::default()
            .with_title(options.title.clone())
            .with_inner_size(options.size),
        ..Default::default()
    };
    eframe::run_native(
        &options.title,
        native,
        Box::new(move |_cc| Ok(Box::new(app))),
    )
    .map_err(|e| Error::Window(e.to_string()))
}
