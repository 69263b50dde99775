//! Cluster queues on a real Slurm: jobs run `smq worker` (this package's binary) on the
//! Slurm of this machine (`.ci/slurm/start` sets one up).
//!
//! Without Slurm (`sinfo` missing or failing) each test prints why and passes, unless
//! `SMQ_REQUIRE_SLURM=1` is set (as `.ci/run` does): then it fails.

use std::io::Write;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use ndarray::Array1;
use smq_cluster::{
    ClusterError, JobId, JobState, POWER_SPECTRUM, SLEEP, SlurmSlots, cluster_queue,
};
use smqsched::{Promise, Scheduler, TaskError};

const SMQ: &str = env!("CARGO_BIN_EXE_smq");

/// Whether Slurm answers here; panics if it does not and `SMQ_REQUIRE_SLURM=1`.
fn slurm_here(test: &str) -> bool {
    let answer = Command::new("sinfo").arg("-h").output();
    let why = match answer {
        Ok(out) if out.status.success() => return true,
        Ok(out) => format!(
            "`sinfo` failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ),
        Err(e) => format!("`sinfo` not found ({e})"),
    };
    if std::env::var("SMQ_REQUIRE_SLURM").is_ok_and(|v| v == "1") {
        panic!(
            "{test}: SMQ_REQUIRE_SLURM=1 but there is no Slurm here: {why}; run .ci/slurm/start"
        );
    }
    // Written to the process's stderr directly, past the test harness's capture, so that
    // the skip shows in `cargo test`'s output.
    let _ = writeln!(
        std::io::stderr(),
        "{test}: skipped, no Slurm here: {why} (set SMQ_REQUIRE_SLURM=1 to fail instead)"
    );
    false
}

fn slots(jobs: usize, dir: &Path) -> SlurmSlots {
    SlurmSlots {
        worker: vec![SMQ.into(), "worker".into()],
        poll_interval: Duration::from_millis(50),
        ..SlurmSlots::new(jobs, dir)
    }
}

/// Polls `cond` every 50 ms until it gives a value; panics naming `what` after `limit`.
fn wait_for<T>(what: &str, limit: Duration, mut cond: impl FnMut() -> Option<T>) -> T {
    let start = Instant::now();
    loop {
        if let Some(v) = cond() {
            return v;
        }
        assert!(start.elapsed() < limit, "waited {limit:?} for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The jobs named `name` that Slurm has not ended (squeue's default states).
fn live_jobs(name: &str) -> Vec<String> {
    let out = Command::new("squeue")
        .args(["-h", "-o", "%i %T", &format!("--name={name}")])
        .output()
        .expect("squeue runs");
    assert!(
        out.status.success(),
        "squeue: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_owned)
        .collect()
}

/// The promise's outcome, waited for at most `limit`.
fn outcome<T>(p: &Promise<T>, limit: Duration) -> Result<&T, TaskError> {
    p.result_timeout(limit)
        .unwrap_or_else(|| panic!("task `{}` not done after {limit:?}", p.label()))
}

const LIMIT: Duration = Duration::from_secs(120);

fn signal(i: usize) -> Array1<f64> {
    Array1::from_shape_fn(4096, |k| {
        let t = k as f64 / 4096.0;
        (2.0 * std::f64::consts::PI * (50.0 + 10.0 * i as f64) * t).sin()
            + 0.1 * (k as f64 * 0.37 + i as f64).cos() / 3.0
    })
}

#[test]
fn results_equal_a_local_run_and_failures_name_their_job() {
    if !slurm_here("results_equal_a_local_run") {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let sch = Scheduler::new();
    let acq = sch.queue("acq", 1).expect("queue");
    let local = sch.queue("local", 2).expect("queue");
    let cq = cluster_queue(&sch, "fft", slots(4, dir.path())).expect("cluster queue");
    let mut pairs = Vec::new();
    for i in 0..6 {
        let frame = acq.submit((), move |()| signal(i));
        let here = local.submit_result(&frame, |x: &Array1<f64>| POWER_SPECTRUM.call(x.clone()));
        let there = cq.submit(&POWER_SPECTRUM, &frame).expect("submit");
        pairs.push((here, there));
    }
    // A function's error travels back typed, with the job id.
    let empty = cq
        .submit_value(&POWER_SPECTRUM, Array1::<f64>::zeros(0))
        .expect("submit");
    // A worker that cannot start: the job fails, and the task says which and why.
    let broken = cluster_queue(
        &sch,
        "broken",
        SlurmSlots {
            worker: vec!["/nonexistent/smq".into(), "worker".into()],
            ..slots(1, dir.path())
        },
    )
    .expect("cluster queue");
    let lost = broken.submit_value(&SLEEP, 0.0).expect("submit");
    sch.start();
    for (i, (here, there)) in pairs.iter().enumerate() {
        let here = outcome(here, LIMIT).expect("local spectrum");
        let there = outcome(there, LIMIT).unwrap_or_else(|e| panic!("cluster spectrum {i}: {e}"));
        assert_eq!(
            there, here,
            "spectrum {i}: the cluster's equals the local one, bit for bit"
        );
    }
    let err = outcome(&empty, LIMIT).expect_err("an empty signal has no spectrum");
    match err.downcast_ref::<ClusterError>() {
        Some(ClusterError::Function { job, error }) => {
            assert!(job.0 > 0);
            assert!(error.to_string().contains("empty"), "{error}");
        }
        other => panic!("expected a function error, got {other:?} ({err})"),
    }
    let err = outcome(&lost, LIMIT).expect_err("the worker does not exist");
    match err.downcast_ref::<ClusterError>() {
        Some(ClusterError::JobFailed { state, log, .. }) => {
            assert_eq!(state, "FAILED");
            assert!(
                log.contains("/nonexistent/smq"),
                "the job's output says why: {log}"
            );
        }
        other => panic!("expected a failed job, got {other:?} ({err})"),
    }
    // Successful tasks leave no folder; the failed ones keep theirs for diagnosis.
    let left = std::fs::read_dir(cq.dir()).expect("list").count();
    assert_eq!(
        left,
        1,
        "only the failed task's folder remains in {}",
        cq.dir().display()
    );
}

#[test]
fn a_job_killed_with_scancel_fails_only_its_task() {
    if !slurm_here("a_job_killed_with_scancel_fails_only_its_task") {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let sch = Scheduler::new();
    let cq = cluster_queue(&sch, "cancel", slots(2, dir.path())).expect("cluster queue");
    let long = cq.submit_value(&SLEEP, 600.0).expect("submit");
    sch.start();
    // The job shows as running in the queue's progress, and in `smq cluster status`.
    let job: JobId = wait_for("the long job to run", Duration::from_secs(60), || {
        cq.jobs()
            .iter()
            .find(|j| j.task == Some(long.id()) && j.state == JobState::Running)
            .map(|j| j.job)
    });
    // And in the scheduler's snapshots, as the task's status (what the dashboard shows).
    let running = format!("slurm job {job} RUNNING");
    wait_for(
        "the task's status to show the job",
        Duration::from_secs(60),
        || {
            let snap = sch.snapshot();
            let t = snap.tasks.iter().find(|t| t.id == long.id())?;
            (t.status.as_deref() == Some(running.as_str())).then_some(())
        },
    );
    let status = Command::new(SMQ)
        .args(["cluster", "status"])
        .output()
        .expect("smq runs");
    let status = String::from_utf8_lossy(&status.stdout);
    assert!(
        status.lines().any(|l| l.starts_with(&job.to_string())
            && l.contains("RUNNING")
            && l.contains(cq.job_name())),
        "smq cluster status shows job {job} running:\n{status}"
    );
    // Another task of the queue, submitted now, is not disturbed.
    let other = cq.submit_value(&POWER_SPECTRUM, signal(1)).expect("submit");
    let out = Command::new("scancel")
        .arg(job.to_string())
        .output()
        .expect("scancel runs");
    assert!(
        out.status.success(),
        "scancel: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let err = outcome(&long, LIMIT).expect_err("the job was cancelled");
    match err.downcast_ref::<ClusterError>() {
        Some(ClusterError::Cancelled { job: j }) => assert_eq!(*j, job),
        other => panic!("expected a cancelled job, got {other:?} ({err})"),
    }
    assert!(
        err.to_string().contains(&job.to_string()),
        "the message names the job: {err}"
    );
    let spectrum = outcome(&other, LIMIT).expect("the other task succeeds");
    assert_eq!(*spectrum, POWER_SPECTRUM.call(signal(1)).expect("local"));
}

#[test]
fn stopping_the_queue_leaves_no_job_behind() {
    if !slurm_here("stopping_the_queue_leaves_no_job_behind") {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let sch = Scheduler::new();
    let cq = cluster_queue(&sch, "stop", slots(3, dir.path())).expect("cluster queue");
    let name = cq.job_name().to_owned();
    let naps: Vec<_> = (0..5)
        .map(|_| cq.submit_value(&SLEEP, 600.0).expect("submit"))
        .collect();
    sch.start();
    // Three jobs submitted (the queue's slots): recorded by the queue once `sbatch` gave
    // their ids, so listed by `squeue` as pending or running from then on.
    wait_for(
        "three jobs recorded by the queue",
        Duration::from_secs(60),
        || (cq.jobs().len() == 3).then_some(()),
    );
    assert_eq!(
        live_jobs(&name).len(),
        3,
        "squeue lists the queue's three jobs"
    );
    drop(cq);
    for (i, nap) in naps.iter().enumerate() {
        let err = outcome(nap, LIMIT).expect_err("the queue was stopped");
        match err.downcast_ref::<ClusterError>() {
            Some(ClusterError::Cancelled { .. } | ClusterError::Stopped { .. }) => {}
            other => panic!("task {i}: expected cancelled or stopped, got {other:?} ({err})"),
        }
    }
    wait_for(
        "squeue to list no job of the queue",
        Duration::from_secs(30),
        || live_jobs(&name).is_empty().then_some(()),
    );
}

#[test]
fn a_job_past_its_time_limit_fails_with_a_timeout() {
    if !slurm_here("a_job_past_its_time_limit_fails_with_a_timeout") {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let sch = Scheduler::new();
    // Slurm's limits are in whole minutes, and it checks them every 30 s: this test takes
    // 60 to 90 s.
    let cq = cluster_queue(
        &sch,
        "timeout",
        SlurmSlots {
            time_limit: Some(Duration::from_secs(60)),
            ..slots(1, dir.path())
        },
    )
    .expect("cluster queue");
    let nap = cq.submit_value(&SLEEP, 600.0).expect("submit");
    sch.start();
    let err = outcome(&nap, Duration::from_secs(200)).expect_err("the job outlived its limit");
    match err.downcast_ref::<ClusterError>() {
        Some(ClusterError::TimedOut { job }) => assert!(err.to_string().contains(&job.to_string())),
        other => panic!("expected a timeout, got {other:?} ({err})"),
    }
}

#[test]
fn a_job_over_its_memory_fails_out_of_memory() {
    if !slurm_here("a_job_over_its_memory_fails_out_of_memory") {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let sch = Scheduler::new();
    // 1 MiB: less than any process's resident memory, so Slurm kills the worker at its
    // first memory sample (every second in the test configuration).
    let cq = cluster_queue(
        &sch,
        "oom",
        SlurmSlots {
            mem_mb: Some(1),
            ..slots(1, dir.path())
        },
    )
    .expect("cluster queue");
    let nap = cq.submit_value(&SLEEP, 600.0).expect("submit");
    sch.start();
    let err = outcome(&nap, LIMIT).expect_err("the job went over its memory");
    match err.downcast_ref::<ClusterError>() {
        Some(ClusterError::OutOfMemory { job }) => {
            assert!(err.to_string().contains(&job.to_string()))
        }
        other => panic!("expected out of memory, got {other:?} ({err})"),
    }
}

/// A plan whose processing steps run on `queue`, with a `[cluster]` table if it is the
/// cluster.
fn spectra_plan(queue: &str) -> String {
    let cluster = if queue == "cluster" {
        "[cluster]\njobs = 2\ntime_limit = 120\n"
    } else {
        ""
    };
    format!(
        r#"
experiment = "spectra"
{cluster}
[scan]
[[scan.axis]]
name = "x"
instrument = "stage"
values = [2.0, 5.0, 8.0]
[[measure]]
name = "trace"
instrument = "scope"
read = "waveform"
[[process]]
name = "spectrum"
plugin = "power_spectrum"
inputs = ["trace"]
params = {{ window = "hann", sample_rate = 1000 }}
outputs = ["power"]
queue = "{queue}"
[[process]]
name = "stats"
plugin = "statistics"
inputs = ["trace"]
outputs = ["mean", "std"]
queue = "{queue}"
"#
    )
}

#[test]
fn a_plans_steps_on_the_cluster_store_what_they_store_locally() {
    if !slurm_here("a_plans_steps_on_the_cluster_store_what_they_store_locally") {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let mut stored = Vec::new();
    for queue in ["compute", "cluster"] {
        std::fs::write(
            dir.path().join(format!("{queue}.toml")),
            spectra_plan(queue),
        )
        .expect("write the plan");
        let out = Command::new(SMQ)
            .args(["run", &format!("{queue}.toml"), "--plain", "--seed", "3"])
            .args(["--out", queue])
            .current_dir(dir.path())
            .output()
            .expect("smq runs");
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "{queue}: {text}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        if queue == "cluster" {
            assert!(text.contains("done spectrum(2)"), "{text}");
        }
        let store = smq_store::Store::open(dir.path().join(queue)).expect("store");
        let name = store.runs().expect("runs").remove(0);
        let run = store.open_run(&name).expect("run");
        let mut by_point = Vec::new();
        for dataset in ["spectrum_power", "stats_mean", "stats_std"] {
            let m = smq_lab::by_point(&run, dataset).expect(dataset);
            assert_eq!(m.len(), 3, "{queue}: {dataset}");
            for (p, a) in m {
                by_point.push((
                    dataset,
                    p,
                    a.iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
                ));
            }
        }
        stored.push(by_point);
    }
    assert!(
        stored[0] == stored[1],
        "the cluster's results differ from the local ones"
    );
    // No job of the plans' queue (named `cluster`) left behind.
    let out = Command::new("squeue")
        .args(["-h", "-o", "%j"])
        .output()
        .expect("squeue runs");
    let names = String::from_utf8_lossy(&out.stdout);
    assert!(
        !names.lines().any(|n| n.starts_with("smq-cluster-")),
        "{names}"
    );
}
