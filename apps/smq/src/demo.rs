//! `smq demo`: the demo scan, run under the operator's control (Ctrl-C pauses), with
//! progress bars or plain lines, stored as it goes.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use indicatif::{MultiProgress, ProgressBar, ProgressStyle};
use serde_json::json;
use smq_lab::{
    Addresses, DagSummary, Lab, RunControl, RunStatus, dag_summary, default_positions, demo_scan,
};

use crate::Error;
use smq_store::{Store, StoreOptions};
use smqsched::EventKind;
use smqsched::crossbeam_channel::{self, Receiver, Sender, unbounded};

use crate::DemoArgs;

/// Open the store at `out`, creating it if needed, committing every `commit_every`.
pub(crate) fn open_or_create_store(out: &Path, commit_every: Duration) -> Result<Store, Error> {
    let options = StoreOptions::new().commit_every(commit_every);
    let store = if out.join("zarr.json").is_file() {
        Store::open_with(out, options)
    } else {
        Store::create_with(out, options)
    };
    let store = store.map_err(|e| format!("cannot open the store {}: {e}", out.display()))?;
    report_repairs(&store);
    Ok(store)
}

/// Say what opening `store` repaired in runs left by an interrupted writer.
pub(crate) fn report_repairs(store: &Store) {
    for repair in store.repairs() {
        eprintln!("smq: {repair}");
    }
}

/// Commits the store when dropped: what was saved reaches the disk on every way out of
/// [`run`], errors included.
pub(crate) struct CommitOnExit(pub(crate) Store);

impl Drop for CommitOnExit {
    fn drop(&mut self) {
        // A store that failed has had its error reported already.
        if self.0.failure().is_none()
            && let Err(e) = self.0.commit()
        {
            eprintln!("smq: error: {e}");
        }
    }
}

/// What the operator asks for while a run goes on: from the Ctrl-C handler and, once the
/// run has been paused, from the lines of standard input.
pub(crate) enum Control {
    /// Ctrl-C (SIGINT).
    Interrupt,
    /// A line of standard input.
    Line(String),
    /// Standard input is closed: nobody can answer the prompt.
    Closed,
    /// A commit of the store failed: the error.
    StoreFailed(String),
}

/// How a run ended.
pub(crate) enum Outcome {
    /// Every task finished, failed or was cancelled by a failure.
    Complete,
    /// Aborted by the operator; the reason.
    Aborted(&'static str),
    /// Stopped because the store could not write: the error.
    Failed(String),
}

/// Exit code of an aborted run, the shell's convention for a command ended by SIGINT.
pub(crate) const EXIT_ABORTED: u8 = 130;

/// Said when a viewer of the served run pauses it.
const REMOTE_PAUSED: &str =
    "paused by a viewer of the served run: resume it from there, or press Ctrl-C here and answer r";

/// The prompt shown while paused.
pub(crate) const PROMPT: &str = "resume or abort? [r]esume (or Enter) / [a]bort (or Ctrl-C)";

/// A message about the run: on standard output in plain mode, where it is part of the
/// line-by-line record of the run, on standard error otherwise (beside the progress bars).
pub(crate) fn say(plain: bool, text: &str) {
    if plain {
        println!("{text}");
    } else {
        eprintln!("{text}");
    }
}

/// Prints, in plain mode, one line per scan task that ends (`done LABEL`, `failed LABEL:
/// ERROR`), and keeps the events for the trace if one is asked for.
pub(crate) struct EventLog {
    pub(crate) plain: bool,
    pub(crate) first_task: u64,
    pub(crate) keep: bool,
    pub(crate) events: Vec<smqsched::Event>,
}

impl EventLog {
    pub(crate) fn record(&mut self, e: smqsched::Event) {
        if self.plain && e.task.is_some_and(|t| t.index() >= self.first_task) {
            let label = e.label.as_deref().unwrap_or("?");
            match &e.kind {
                EventKind::Finished => println!("done {label}"),
                EventKind::Failed { error } => println!("failed {label}: {error}"),
                _ => {}
            }
        }
        if self.keep {
            self.events.push(e);
        }
    }
}

/// From now on, Ctrl-C pauses instead of killing the process, and a failed commit of
/// `store` stops the run: both arrive as [`Control`]s on the receiver returned, with its
/// sender (for the standard input reader). Once the run is being aborted, Ctrl-C only says
/// to wait: what is left to do is saving finished results. The flag returned is set
/// (Release) by the caller before it aborts, and read (Acquire) by the handler's thread.
pub(crate) fn operator_controls(store: &Store, plain: bool) -> Result<OperatorControls, Error> {
    let (control_tx, control) = unbounded::<Control>();
    let interrupts = control_tx.clone();
    let failures = control_tx.clone();
    store.on_failure(move |e| {
        let _ = failures.send(Control::StoreFailed(e.to_string()));
    });
    let aborting = Arc::new(AtomicBool::new(false));
    let saving = Arc::clone(&aborting);
    ctrlc::set_handler(move || {
        if saving.load(Ordering::Acquire) {
            say(
                plain,
                "still saving the finished results; they are kept, please wait",
            );
        } else {
            let _ = interrupts.send(Control::Interrupt);
        }
    })
    .map_err(|e| format!("cannot install the Ctrl-C handler: {e}"))?;
    Ok(OperatorControls {
        tx: control_tx,
        rx: control,
        aborting,
    })
}

/// What [`operator_controls`] installed.
pub(crate) struct OperatorControls {
    /// The sender of the controls, for the standard input reader.
    pub(crate) tx: Sender<Control>,
    /// The controls: Ctrl-C, lines of standard input, store failures.
    pub(crate) rx: Receiver<Control>,
    /// Set once the run is being aborted.
    pub(crate) aborting: Arc<AtomicBool>,
}

/// Run `smq demo` with `args`; how the run ended.
///
/// # Errors
///
/// An instrument that cannot be opened, a store that cannot be written, or failed tasks.
pub(crate) fn run(args: DemoArgs) -> Result<Outcome, Error> {
    let points = args.points as usize;
    let positions = default_positions(points);
    let addresses = Addresses {
        stage: args.stage,
        dmm: args.dmm,
        scope: args.scope,
    };
    let lab = Lab::connect_with(&addresses, args.seed, args.compute_slots as usize)?;
    for (name, link) in &lab.links {
        let idn = lab.identified.get(name).map_or("?", String::as_str);
        println!("{name:<6} {link}  {idn}");
    }
    let store = open_or_create_store(&args.out, args.commit_every)?;
    let _commit_on_exit = CommitOnExit(store.clone());
    let name = store.new_run_name("demo")?;
    let events = lab.sch.subscribe();
    lab.sch.start();
    lab.prepare()?;
    let station = lab.station_record()?;

    let OperatorControls {
        tx: control_tx,
        rx: control,
        aborting,
    } = operator_controls(&store, args.plain)?;

    let run = store.create_run(
        &name,
        "demo",
        json!({"points": points, "seed": args.seed, "from_mm": positions.first(), "to_mm": positions.last(), "channel": smq_lab::CHANNEL, "instruments": lab.links}),
    )?;
    RunStatus::record_writer(&run)?;
    for (instrument, idn) in &lab.identified {
        run.set_instrument(instrument, idn)?;
    }
    // The station as a plan's run records it: addresses, identifications, settings read back.
    let station = serde_json::to_value(&station).map_err(|e| format!("station record: {e}"))?;
    run.set_attribute(smq_lab::attributes::STATION, station)?;
    let server = match args.serve {
        None => None,
        Some(addr) => match serve_run(&lab.sch, addr, args.serve_public, &run) {
            Ok(server) => Some(server),
            Err(e) => {
                RunStatus::Failed.close(&run, &dag_summary(&lab.sch))?;
                lab.sch.shutdown();
                return Err(e);
            }
        },
    };

    let first_task = lab.sch.task_count() as u64;
    let scan = demo_scan(&lab, &run, &positions)?;
    // The same count as the end line's: the whole graph, the preparation included.
    println!(
        "run {name} started: {points} positions, {} tasks ({first_task} preparing the \
         instruments, done; {} for the scan)",
        lab.sch.task_count(),
        scan.task_count()
    );
    let mut log = EventLog {
        plain: args.plain,
        first_task,
        keep: args.trace.is_some(),
        events: Vec::new(),
    };
    let progress = if args.plain {
        None
    } else {
        Some(Progress::new(&lab.sch, first_task)?)
    };
    let outcome = supervise(
        &lab.control(),
        &store,
        &events,
        &control,
        control_tx,
        &mut log,
        progress.as_ref(),
    );
    if let Some(p) = &progress {
        p.finish();
    }
    wind_down(&lab.control(), &outcome, args.plain, &aborting);
    for e in events.try_iter() {
        log.record(e);
    }

    let (outcome, status, summary) = close_run(&lab.sch, &store, &run, outcome, server)?;
    if let Some(path) = &args.trace {
        let text = serde_json::to_string(&smq_lab::chrome_trace(&log.events))?;
        std::fs::write(path, text)
            .map_err(|e| format!("cannot write the trace {}: {e}", path.display()))?;
        println!("trace written to {}", path.display());
    }

    println!("{summary}");
    let failed = summary.failed.len();
    if let Outcome::Aborted(_) = outcome {
        println!(
            "run {name} {status}: the data taken so far are kept in {}",
            run.path().display()
        );
        return Ok(outcome);
    }
    match scan.max_signal() {
        Some((x, v)) => println!("maximum signal {v:.4} V at x = {x:.3} mm"),
        None => println!("no reading succeeded"),
    }
    println!("run {name} {status}: stored in {}", run.path().display());
    if failed > 0 {
        return Err(format!("{failed} tasks failed; see `smq show {name}`").into());
    }
    Ok(outcome)
}

/// After [`supervise`]: on an abort or a failure, say so and abort the run with `control`
/// (acquisitions not started are cancelled, what was acquired is processed and saved),
/// `aborting` set first so that Ctrl-C only says to wait.
pub(crate) fn wind_down(
    control: &RunControl,
    outcome: &Outcome,
    plain: bool,
    aborting: &AtomicBool,
) {
    match outcome {
        Outcome::Complete => {}
        Outcome::Aborted(reason) => {
            say(
                plain,
                &format!(
                    "aborting ({reason}): acquisitions not started are cancelled; \
                     processing and saving what was acquired..."
                ),
            );
            aborting.store(true, Ordering::Release);
            let report = control.abort();
            say(
                plain,
                &format!(
                    "aborted: {} tasks cancelled, {} more finished to keep the data",
                    report.cancelled, report.completed
                ),
            );
        }
        Outcome::Failed(error) => {
            say(
                plain,
                &format!("stopping: {error}; acquisitions not started are cancelled"),
            );
            aborting.store(true, Ordering::Release);
            let _ = control.abort();
        }
    }
}

/// The end of a run whose tasks have all ended: commit everything saved, then record its
/// state (`abort_reason` too for an abort) with the DAG summary of `sch`, stop serving it
/// (which removes the token file) and shut `sch` down. Returns the outcome (`Failed` if
/// the last commit failed), the state and the summary; a failed run is an error, with
/// what was committed kept.
pub(crate) fn close_run(
    sch: &smqsched::Scheduler,
    store: &Store,
    run: &smq_store::Run,
    outcome: Outcome,
    server: Option<smq_serve::Server>,
) -> Result<(Outcome, RunStatus, DagSummary), Error> {
    let summary = dag_summary(sch);
    // Everything saved is committed before the status is written.
    let outcome = match (outcome, store.commit()) {
        (Outcome::Failed(e), _) => Outcome::Failed(e),
        (_, Err(e)) => Outcome::Failed(e.to_string()),
        (outcome, Ok(())) => outcome,
    };
    let status = match &outcome {
        Outcome::Complete => RunStatus::Complete,
        Outcome::Aborted(reason) => {
            run.set_attribute(RunStatus::ABORT_REASON, json!(reason))?;
            RunStatus::Aborted
        }
        Outcome::Failed(error) => {
            if let Some(server) = server {
                let _ = server.shutdown();
            }
            sch.shutdown();
            return Err(fail_run(run, error, summary).into());
        }
    };
    status.close(run, &summary)?;
    if let Some(server) = server {
        server
            .shutdown()
            .map_err(|e| format!("serving the run: {e}"))?;
    }
    sch.shutdown();
    Ok((outcome, status, summary))
}

/// Serve the run at `addr` (`--serve`), its datasets with it, the token written to the
/// run's folder, and say where.
pub(crate) fn serve_run(
    sch: &smqsched::Scheduler,
    addr: std::net::SocketAddr,
    public: bool,
    run: &smq_store::Run,
) -> Result<smq_serve::Server, Error> {
    let options = smq_serve::Options {
        token_dir: Some(run.path().to_owned()),
        run: Some(run.clone()),
        public,
        ..smq_serve::Options::default()
    };
    let server =
        smq_serve::serve(sch, addr, options).map_err(|e| format!("cannot serve the run: {e}"))?;
    println!("serving the run at {}", server.url());
    println!("token {}", server.token());
    if let Some(file) = server.token_file() {
        println!("token file {}", file.display());
    }
    Ok(server)
}

/// Close a run stopped by a store failure as `failed`, with the error, as far as the disk
/// allows (what was committed before stays readable either way); the message to exit with.
pub(crate) fn fail_run(run: &smq_store::Run, error: &str, summary: DagSummary) -> String {
    let marked = run
        .set_attribute("status", json!(RunStatus::Failed.as_str()))
        .and_then(|()| run.set_attribute("error", json!(error)));
    // `finish` reports the store's failure again: it is the one being reported.
    let _ = run.finish(Some(summary.to_json()));
    if let Err(e) = marked {
        eprintln!("smq: cannot record the failure in run {}: {e}", run.name());
    }
    format!(
        "run {} failed, stopped by a write error: {error}; what was committed before is kept in {}",
        run.name(),
        run.path().display()
    )
}

/// Run the scan to its end, pausing on Ctrl-C; returns how it ended. On
/// [`Outcome::Aborted`] the scheduler is stopped and drained, ready for [`Lab::abort`].
///
/// The pause sequence (see `Lab::pause` for the scheduler's side):
///
/// 1. A first Ctrl-C: stop starting tasks, then print `pausing` (from then on no task
///    starts), wait for the running tasks to finish, print their results' lines (plain
///    mode), commit the store (everything saved is on disk), then print `paused` with the
///    tasks that were running, and the prompt. Nothing runs while paused.
/// 2. From then on standard input is read line by line (a TTY or not): `r`, `resume` or an
///    empty line resumes (`resumed` is printed before any task starts again); `a` or
///    `abort` aborts; anything else repeats the prompt.
/// 3. A second Ctrl-C while paused aborts; so does the end of standard input (nobody can
///    answer), also if it ended before the pause.
/// 4. A Ctrl-C after resuming is again a first one.
/// 5. Once aborting (after this returns), a Ctrl-C only says to wait: what is left is
///    saving the finished results, which must not be lost.
/// 6. A failed commit of the store, at any time, ends the run as [`Outcome::Failed`].
/// 7. A served run may be paused and resumed by a viewer (`POST /api/pause`, `/resume`):
///    the scheduler's `Stopped` and `Resumed` events that this loop did not cause are
///    said (`paused by a viewer ...`, `resumed by a viewer ...`). A Ctrl-C while paused
///    so is a first one (step 1), and `resume` here resumes. A viewer's resume while
///    paused here ends the pause, and an answer to the prompt is then ignored.
pub(crate) fn supervise(
    lab: &RunControl,
    store: &Store,
    events: &Receiver<smqsched::Event>,
    control: &Receiver<Control>,
    control_tx: Sender<Control>,
    log: &mut EventLog,
    progress: Option<&Progress>,
) -> Outcome {
    let tick = crossbeam_channel::tick(Duration::from_millis(100));
    let mut stdin = Some(control_tx);
    let mut stdin_closed = false;
    let mut paused = false;
    // Paused by a viewer of the served run (`POST /api/pause`), not from here.
    let mut remote_paused = false;
    let plain = log.plain;
    let say = |text: &str| match progress {
        Some(p) => p.multi.suspend(|| eprintln!("{text}")),
        None => say(plain, text),
    };
    loop {
        if !paused && lab.sch.wait_timeout(Duration::ZERO).is_ok() {
            return Outcome::Complete;
        }
        crossbeam_channel::select! {
            recv(events) -> e => {
                if let Ok(e) = e {
                    // Step 7.
                    match (&e.kind, paused) {
                        (EventKind::Stopped, false) => {
                            remote_paused = true;
                            say(REMOTE_PAUSED);
                        }
                        (EventKind::Resumed, false) if remote_paused => {
                            remote_paused = false;
                            say("resumed by a viewer of the served run");
                        }
                        (EventKind::Resumed, true) => {
                            paused = false;
                            say("resumed by a viewer of the served run; the prompt no longer applies");
                        }
                        _ => {}
                    }
                    log.record(e);
                }
            }
            recv(tick) -> _ => {
                if let Some(p) = progress {
                    p.update(&lab.sch);
                }
            }
            recv(control) -> c => match (c, paused) {
                (Ok(Control::Interrupt), false) => {
                    // Step 1.
                    // `pausing:` is printed once no task can start any more.
                    let finished = lab.stop_starting();
                    say("pausing: no new task starts; waiting for the running tasks to finish");
                    lab.wait_running();
                    for e in events.try_iter() {
                        log.record(e);
                    }
                    if let Err(e) = store.commit() {
                        return Outcome::Failed(e.to_string());
                    }
                    if lab.sch.wait_timeout(Duration::ZERO).is_ok() {
                        say("paused: every task has finished already; nothing to resume");
                        return Outcome::Complete;
                    }
                    say(&if finished.is_empty() {
                        "paused: no task was running.".to_owned()
                    } else {
                        format!("paused: {} running tasks finished ({}).", finished.len(), finished.join(", "))
                    });
                    // Step 3, for an input that ended before the pause.
                    if stdin_closed {
                        say("standard input is closed: nobody can answer, aborting");
                        return Outcome::Aborted("standard input closed while paused");
                    }
                    say(PROMPT);
                    paused = true;
                    remote_paused = false;
                    // Step 2.
                    if let Some(tx) = stdin.take() {
                        spawn_stdin_reader(tx);
                    }
                }
                (Ok(Control::Interrupt), true) => {
                    say("second Ctrl-C while paused");
                    return Outcome::Aborted("second Ctrl-C while paused");
                }
                (Ok(Control::Line(line)), true) => match line.trim() {
                    "" | "r" | "resume" => {
                        say("resumed");
                        paused = false;
                        lab.resume();
                    }
                    "a" | "abort" => return Outcome::Aborted("abort answered while paused"),
                    other => say(&format!("{other:?}: please answer; {PROMPT}")),
                },
                (Ok(Control::Line(_)), false) => {}
                (Ok(Control::Closed), true) => {
                    say("standard input is closed: nobody can answer, aborting");
                    return Outcome::Aborted("standard input closed while paused");
                }
                (Ok(Control::Closed), false) => stdin_closed = true,
                // Step 6.
                (Ok(Control::StoreFailed(error)), _) => return Outcome::Failed(error),
                // Unreachable while `control_tx` or its clones live; nothing to do.
                (Err(_), _) => {}
            },
        }
    }
}

/// Progress bars, one per queue, counting the scan's tasks.
pub(crate) struct Progress {
    pub(crate) multi: MultiProgress,
    bars: Vec<(String, ProgressBar, usize)>,
}

impl Progress {
    /// Bars for the tasks from `first_task` on.
    pub(crate) fn new(sch: &smqsched::Scheduler, first_task: u64) -> Result<Self, Error> {
        let snap = sch.snapshot();
        let mut totals: BTreeMap<String, (u64, usize)> = BTreeMap::new();
        for t in &snap.tasks {
            if let Some(q) = snap.queues.get(t.queue as usize) {
                let e = totals.entry(q.name.to_string()).or_default();
                if t.id.index() >= first_task {
                    e.0 += 1;
                } else if t.state.is_final() {
                    e.1 += 1;
                }
            }
        }
        let multi = MultiProgress::new();
        let style = ProgressStyle::with_template(
            "{prefix:>8} [{bar:30}] {pos:>4}/{len:4} {per_sec:>10} eta {eta}",
        )
        .map_err(|e| format!("progress style: {e}"))?
        .progress_chars("=> ");
        // A queue with no task of this run (an instrument the plan does not use) gets no bar.
        let bars = totals
            .into_iter()
            .filter(|(_, (total, _))| *total > 0)
            .map(|(name, (total, before))| {
                let pb = multi.add(ProgressBar::new(total));
                pb.set_style(style.clone());
                pb.set_prefix(name.clone());
                (name, pb, before)
            })
            .collect();
        Ok(Self { multi, bars })
    }

    pub(crate) fn update(&self, sch: &smqsched::Scheduler) {
        for q in sch.queues() {
            if let Some((_, pb, before)) = self.bars.iter().find(|(n, _, _)| **n == *q.name) {
                pb.set_position((q.done + q.failed).saturating_sub(*before) as u64);
            }
        }
    }

    pub(crate) fn finish(&self) {
        for (_, pb, _) in &self.bars {
            pb.finish();
        }
        if !self.multi.is_hidden() {
            eprintln!();
        }
    }
}

/// A thread forwarding the lines of stdin to `tx`, then [`Control::Closed`] at the end of
/// input (or on a read error).
fn spawn_stdin_reader(tx: Sender<Control>) {
    std::thread::spawn(move || {
        for line in std::io::stdin().lines() {
            let Ok(line) = line else { break };
            if tx.send(Control::Line(line)).is_err() {
                return;
            }
        }
        let _ = tx.send(Control::Closed);
    });
}
