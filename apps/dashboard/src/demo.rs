//! The built-in demo: the demo scan of `smq-lab` on the simulated instruments, stored as a
//! run, with its results marked for the live plots.

use std::path::Path;
use std::time::Duration;

use serde_json::json;
use smq_lab::{
    CHANNEL, DagSummary, DemoHandles, Lab, Peak, RunStatus, dag_summary, default_positions,
    demo_scan,
};
use smq_store::{Run, Store};

use crate::{Dashboard, Error, Plots};

/// A demo scan under way: the simulated lab, the run it is stored in, its promises, and the
/// plots they feed.
///
/// [`start`](Self::start) prepares the instruments and submits the scan (the same graph as
/// `smq demo`: the definition is `smq_lab::demo_scan`) with the scheduler stopped; start it,
/// or show it with the [`Dashboard`] it returns and
/// [`Options::start_on_show`](crate::Options::start_on_show), then [`finish`](Self::finish)
/// the run.
///
/// # Examples
///
/// ```
/// let dir = std::env::temp_dir().join(format!("smq-dash-doc-{}", std::process::id()));
/// let (demo, mut dashboard) = smqsched_dashboard::Demo::start(3, 1, &dir)?;
/// demo.lab.sch.start();
/// demo.lab.sch.wait();
/// // A frame, headless, takes the results into the plots.
/// let ctx = egui::Context::default();
/// let mut out = ctx.run_ui(egui::RawInput::default(), |ui| dashboard.ui(ui));
/// out.textures_delta.clear();
/// assert_eq!(demo.plots.scan().len(), 3);
/// let end = demo.finish()?;
/// assert_eq!(end.status, smq_lab::RunStatus::Complete);
/// assert_eq!(end.summary.tasks, dashboard.task_count());
/// # std::fs::remove_dir_all(&dir).ok();
/// # Ok::<(), smqsched_dashboard::Error>(())
/// ```
pub struct Demo {
    /// The simulated lab and its scheduler.
    pub lab: Lab,
    /// The run the scan is stored in.
    pub run: Run,
    /// The run's name in its store.
    pub name: String,
    /// The promises of the scan.
    pub scan: DemoHandles,
    /// The plots fed by the scan: waveforms, multimeter readings against position, and the
    /// map of spectrum peaks (position, frequency, power).
    pub plots: Plots,
}

impl std::fmt::Debug for Demo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Demo")
            .field("name", &self.name)
            .field("points", &self.scan.positions.len())
            .finish_non_exhaustive()
    }
}

fn demo_err(what: &str) -> impl Fn(smq_lab::Error) -> Error + '_ {
    move |e| Error::Demo(format!("{what}: {e}"))
}

impl Demo {
    /// Start the simulators (noise seeded by `seed`), prepare the instruments, create a run
    /// in the store at `runs` (created if needed) and submit the scan over `points`
    /// positions; return with the scan submitted and the scheduler stopped, and the
    /// dashboard of it (subscribed before anything ran, with the plots attached).
    ///
    /// # Errors
    ///
    /// [`Error::Demo`] naming what failed: the store, a simulator, an instrument, a
    /// submission.
    pub fn start(points: usize, seed: u64, runs: &Path) -> Result<(Demo, Dashboard), Error> {
        let positions = default_positions(points);
        let store = open_or_create_store(runs)?;
        let name = store
            .new_run_name("dashboard")
            .map_err(|e| Error::Demo(format!("cannot list the runs: {e}")))?;
        let lab = Lab::open(seed).map_err(demo_err("cannot open the simulated lab"))?;
        let dashboard = Dashboard::new(&lab.sch);
        lab.sch.start();
        lab.prepare()
            .map_err(demo_err("cannot prepare the instruments"))?;
        let run = store
            .create_run(
                &name,
                "demo",
                json!({"points": points, "seed": seed, "from_mm": positions.first(), "to_mm": positions.last(), "channel": CHANNEL}),
            )
            .map_err(|e| Error::Demo(format!("cannot create the run {name}: {e}")))?;
        RunStatus::record_writer(&run)
            .map_err(|e| Error::Demo(format!("cannot record the run's writer: {e}")))?;
        let ids = lab
            .identities()
            .map_err(demo_err("cannot identify the instruments"))?;
        for (instrument, idn) in ids {
            run.set_instrument(&instrument, &idn)
                .map_err(|e| Error::Demo(format!("cannot record the instruments: {e}")))?;
        }
        // The station as `smq demo` and a plan's run record it.
        let station = lab
            .station_record()
            .map_err(demo_err("cannot read the instruments' settings back"))?;
        let station = serde_json::to_value(&station)
            .map_err(|e| Error::Demo(format!("cannot record the station: {e}")))?;
        run.set_attribute(smq_lab::attributes::STATION, station)
            .map_err(|e| Error::Demo(format!("cannot record the station: {e}")))?;
        // Submitted while stopped, so that the scan runs when the caller says.
        lab.sch.stop();
        lab.sch.wait_drained();
        let scan = demo_scan(&lab, &run, &positions).map_err(demo_err("cannot submit the scan"))?;
        let plots = Plots::new();
        for (i, &x) in scan.positions.iter().enumerate() {
            if let Some(w) = scan.waveforms.get(i) {
                plots.waveform(w);
            }
            if let Some(r) = scan.readings.get(i) {
                plots.scan_point(x, r);
            }
            if let Some(p) = scan.peaks.get(i) {
                plots.map_with(p, move |peak: &Peak| [x, peak.frequency, peak.power]);
            }
        }
        let dashboard = dashboard.with_plots(plots.clone());
        Ok((
            Demo {
                lab,
                run,
                name,
                scan,
                plots,
            },
            dashboard,
        ))
    }

    /// End the run. If every task has finished, the run is `complete`. Otherwise (the
    /// window was closed before the end) it is `aborted` as `smq demo` aborts
    /// ([`Lab::abort`]): the acquisitions not started are cancelled, and every acquisition
    /// already taken is processed and saved. Then the run records its state, its end time
    /// and the graph's summary, and the scheduler shuts down.
    ///
    /// # Errors
    ///
    /// [`Error::Demo`] if the run cannot be finished in the store.
    pub fn finish(self) -> Result<Finished, Error> {
        self.lab.sch.stop();
        self.lab.sch.wait_drained();
        let status = if self.lab.sch.wait_timeout(Duration::ZERO).is_ok() {
            RunStatus::Complete
        } else {
            let _ = self.lab.abort();
            self.run
                .set_attribute("abort_reason", json!(CLOSED_EARLY))
                .map_err(|e| Error::Demo(format!("cannot finish the run {}: {e}", self.name)))?;
            RunStatus::Aborted
        };
        let summary = dag_summary(&self.lab.sch);
        status
            .close(&self.run, &summary)
            .map_err(|e| Error::Demo(format!("cannot finish the run {}: {e}", self.name)))?;
        self.lab.sch.shutdown();
        Ok(Finished { status, summary })
    }
}

/// Why a demo run ended before its scan did.
const CLOSED_EARLY: &str = "window closed before the scan finished";

/// How a [`Demo`] run ended: its state (`complete` or `aborted`) and the task graph's
/// summary stored with it (task counts by state and by label, failures).
#[derive(Debug, Clone, PartialEq)]
pub struct Finished {
    /// The state recorded in the run.
    pub status: RunStatus,
    /// The summary of the task graph.
    pub summary: DagSummary,
}

/// Open the store at `dir`, creating it if needed.
fn open_or_create_store(dir: &Path) -> Result<Store, Error> {
    let store = if dir.join("zarr.json").is_file() {
        Store::open(dir)
    } else {
        Store::create(dir)
    };
    store.map_err(|e| Error::Demo(format!("cannot open the store {}: {e}", dir.display())))
}
