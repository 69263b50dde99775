//! Pausing, resuming and aborting a run on a [`Lab`].
//!
//! # The protocol
//!
//! The invariant is **nothing finished is lost**: every acquisition that finished before
//! the run ends (completed or aborted) is processed and saved, so the run on disk holds
//! exactly the acquisitions taken, with everything derived from them.
//!
//! Pausing ([`Lab::pause`]):
//!
//! 1. Stop the scheduler: no task starts from now on (submitting is still allowed).
//! 2. Take a snapshot and note the running tasks. Since nothing starts after step 1, these
//!    are exactly the tasks that will still run before the lab is idle.
//! 3. Wait until no task is running. A running task is never interrupted: an instrument
//!    command in progress completes, and its result is kept in its promise.
//!
//! Resuming ([`Lab::resume`]) starts the scheduler again; the tasks not started are taken
//! up in the usual order, so a paused-then-resumed run stores the same data as one never
//! paused.
//!
//! Aborting ([`Lab::abort`]), from a pause or not:
//!
//! 1. Stop the scheduler and wait until no task is running (steps 1 and 3 of pausing).
//!    The lab is now still: nothing runs, nothing starts, so the states read in step 2 do
//!    not change under us.
//! 2. Cancel every task not started on an instrument queue (everything but the processing
//!    queues, `compute` and a plan's `cluster`):
//!    no new acquisition is taken. Cancelling cascades to the tasks depending on them
//!    (their processing and saving, which could never run), and releases the stage slot
//!    held by a move whose waveform will not be taken.
//! 3. What is left unstarted runs on `compute` and depends only on finished tasks or on
//!    other such `compute` tasks: the processing and saving of the acquisitions already
//!    taken. Start the scheduler again and wait until every task has finished, failed or
//!    been cancelled. Nothing else can start in the meantime, since every instrument task
//!    is final.
//!
//! Correctness requires that acquisitions run only on the instrument queues and that
//! processing and saving run only on `compute`, as [`demo_scan`](crate::demo_scan) submits
//! them: a save on an instrument queue would be cancelled in step 2, and an acquisition on
//! `compute` would still be taken in step 3. After step 3, each dataset holds one
//! acquisition per finished task feeding it (e.g. `position` one per finished move), unless
//! a save itself failed, which the task summary reports.

use smqsched::{Scheduler, TaskState};

use crate::{Bench, Lab};

/// Pausing, resuming and aborting a run on any scheduler whose processing and saving
/// queues are named in `processing` and whose other queues are instruments (a [`Lab`] or a [`Bench`]);
/// the protocol is the module's.
#[derive(Clone, Debug)]
pub struct RunControl {
    /// The scheduler.
    pub sch: Scheduler,
    /// The names of the processing and saving queues: `compute`, and a plan's `cluster`.
    pub processing: Vec<String>,
}

impl Lab {
    /// The control of this lab's runs.
    pub fn control(&self) -> RunControl {
        RunControl {
            sch: self.sch.clone(),
            processing: vec![self.compute.name().to_owned()],
        }
    }

    /// See [`RunControl::pause`].
    pub fn pause(&self) -> Vec<String> {
        self.control().pause()
    }

    /// See [`RunControl::stop_starting`].
    pub fn stop_starting(&self) -> Vec<String> {
        self.control().stop_starting()
    }

    /// See [`RunControl::wait_running`].
    pub fn wait_running(&self) {
        self.control().wait_running();
    }

    /// See [`RunControl::resume`].
    pub fn resume(&self) {
        self.control().resume();
    }

    /// See [`RunControl::abort`].
    pub fn abort(&self) -> AbortReport {
        self.control().abort()
    }
}

impl Bench {
    /// The control of this station's runs: its processing queues are `compute` and a
    /// plan's `cluster` queue.
    pub fn control(&self) -> RunControl {
        RunControl {
            sch: self.sch.clone(),
            processing: vec![self.compute.name().to_owned(), "cluster".to_owned()],
        }
    }
}

/// What [`Lab::abort`] did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[must_use]
pub struct AbortReport {
    /// Tasks cancelled: acquisitions not started, and everything depending on them.
    pub cancelled: usize,
    /// Tasks that still ran to finish the processing and saving of finished acquisitions.
    pub completed: usize,
}

impl RunControl {
    /// Pause: stop starting tasks and wait for the running ones to finish (see the
    /// protocol in the module's source). Returns the labels of the tasks that were running
    /// and have now finished. The same as [`stop_starting`](Self::stop_starting) then
    /// [`wait_running`](Self::wait_running).
    ///
    /// # Examples
    ///
    /// ```
    /// use smq_lab::Lab;
    ///
    /// let lab = Lab::open(1)?;
    /// lab.sch.start();
    /// let reading = lab.dmm.read();
    /// let finished = lab.pause();
    /// // The reading has a result now if and only if it was running at the pause.
    /// let was_running = finished.iter().any(|l| l == reading.label());
    /// assert_eq!(reading.try_result().is_some(), was_running);
    /// assert!(!lab.sch.is_running());
    /// lab.resume();
    /// assert!(reading.result().is_ok());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn pause(&self) -> Vec<String> {
        let running = self.stop_starting();
        self.wait_running();
        running
    }

    /// The first half of [`pause`](Self::pause) (steps 1 and 2 of the protocol): stop
    /// starting tasks; returns the labels of the tasks running now, the only ones that
    /// can still finish until [`resume`](Self::resume). Returns at once; once it has
    /// returned, no task starts any more.
    ///
    /// # Examples
    ///
    /// ```
    /// use smq_lab::Lab;
    ///
    /// let lab = Lab::open(1)?;
    /// lab.sch.start();
    /// let reading = lab.dmm.read();
    /// let running = lab.stop_starting();
    /// lab.wait_running();
    /// let was_running = running.iter().any(|l| l == reading.label());
    /// assert_eq!(reading.try_result().is_some(), was_running);
    /// lab.resume();
    /// assert!(reading.result().is_ok());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn stop_starting(&self) -> Vec<String> {
        // Step 1.
        self.sch.stop();
        // Step 2.
        self.sch
            .snapshot()
            .tasks
            .iter()
            .filter(|t| t.state == TaskState::Running)
            .map(|t| t.label.to_string())
            .collect()
    }

    /// The second half of [`pause`](Self::pause) (step 3 of the protocol), after
    /// [`stop_starting`](Self::stop_starting): wait until no task is running.
    pub fn wait_running(&self) {
        self.sch.wait_drained();
    }

    /// Resume after [`pause`](Self::pause): start the scheduler again.
    pub fn resume(&self) {
        self.sch.start();
    }

    /// Abort the run, keeping everything finished: take no new acquisition, but process
    /// and save every acquisition already taken, and wait for that (see the protocol in
    /// the module's source). The scheduler is left idle; finish the run and shut it down
    /// after.
    ///
    /// # Examples
    ///
    /// ```
    /// use smq_lab::{Lab, datasets, default_positions, demo_scan};
    ///
    /// # let dir = tempfile::tempdir()?;
    /// let lab = Lab::open(1)?;
    /// lab.sch.start();
    /// lab.prepare()?;
    /// let store = smq_store::Store::create(dir.path())?;
    /// let run = store.create_run("aborted", "demo", serde_json::json!({}))?;
    /// let scan = demo_scan(&lab, &run, &default_positions(50))?;
    /// let report = lab.abort(); // at once: few positions, if any, are taken
    /// let moved = scan.moves.iter().filter(|m| matches!(m.try_result(), Some(Ok(_)))).count();
    /// let saved = run.read::<f64>(datasets::POSITION).map_or(0, |a| a.len());
    /// assert_eq!(saved, moved);
    /// assert!(report.cancelled > 0);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn abort(&self) -> AbortReport {
        // Step 1.
        self.sch.stop();
        self.sch.wait_drained();
        // Step 2.
        let snap = self.sch.snapshot();
        let mut report = AbortReport::default();
        for t in &snap.tasks {
            let on_compute = snap
                .queues
                .get(t.queue as usize)
                .is_some_and(|q| self.processing.iter().any(|p| **p == *q.name));
            if on_compute || t.state.is_final() || t.state == TaskState::Running {
                continue;
            }
            // A task cancelled by the cascade of an earlier one is final already: the
            // error says so and there is nothing left to do for it.
            if let Ok(n) = self.sch.cancel(t.id) {
                report.cancelled += n;
            }
        }
        // Step 3.
        let left = self.sch.snapshot();
        report.completed = left.tasks.iter().filter(|t| !t.state.is_final()).count();
        self.sch.start();
        self.sch.wait();
        report
    }
}
