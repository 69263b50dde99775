//! A cluster job whose node fails: the node of this machine's Slurm is set DOWN while the
//! job runs (Slurm ends it NODE_FAIL), then brought back. In a test binary of its own, so
//! that no other cluster test runs while the node is down (cargo runs test binaries one
//! after the other).
//!
//! Without Slurm the test prints why and passes, unless `SMQ_REQUIRE_SLURM=1`.

use std::process::Command;
use std::time::{Duration, Instant};

use smq_cluster::{ClusterError, JobState, SLEEP, SlurmSlots, cluster_queue};
use smqsched::Scheduler;

const SMQ: &str = env!("CARGO_BIN_EXE_smq");

fn scontrol(args: &[&str]) -> std::process::Output {
    Command::new("scontrol")
        .args(args)
        .output()
        .expect("scontrol runs")
}

/// The node's state, upper case (`IDLE`, `DOWN`, `MIXED`...).
fn node_state(node: &str) -> String {
    let out = Command::new("sinfo")
        .args(["-h", "-n", node, "-o", "%T"])
        .output()
        .expect("sinfo runs");
    String::from_utf8_lossy(&out.stdout).trim().to_uppercase()
}

/// Brings the node back when dropped, even if the test fails half-way.
struct NodeBack(String);

impl Drop for NodeBack {
    fn drop(&mut self) {
        let node = format!("nodename={}", self.0);
        let _ = scontrol(&["update", &node, "state=resume"]);
        let start = Instant::now();
        while !node_state(&self.0).starts_with("IDLE") && start.elapsed() < Duration::from_secs(60)
        {
            let _ = scontrol(&["update", &node, "state=resume"]);
            std::thread::sleep(Duration::from_millis(200));
        }
    }
}

#[test]
fn a_job_whose_node_fails_fails_its_task_naming_the_job() {
    let sinfo = Command::new("sinfo").args(["-h", "-o", "%N"]).output();
    let node = match sinfo {
        Ok(out) if out.status.success() => String::from_utf8_lossy(&out.stdout).trim().to_owned(),
        other => {
            if std::env::var("SMQ_REQUIRE_SLURM").is_ok_and(|v| v == "1") {
                panic!("SMQ_REQUIRE_SLURM=1 but there is no Slurm here: {other:?}");
            }
            eprintln!("skipped: no Slurm here ({other:?})");
            return;
        }
    };
    assert!(!node.contains(','), "a single-node Slurm: {node}");
    let dir = tempfile::tempdir().expect("tempdir");
    let sch = Scheduler::new();
    let slots = SlurmSlots {
        worker: vec![SMQ.into(), "worker".into()],
        poll_interval: Duration::from_millis(50),
        ..SlurmSlots::new(1, dir.path())
    };
    let cq = cluster_queue(&sch, "nodefail", slots).expect("cluster queue");
    let long = cq.submit_value(&SLEEP, 600.0).expect("submit");
    sch.start();
    let start = Instant::now();
    let job = loop {
        if let Some(j) = cq
            .jobs()
            .iter()
            .find(|j| j.task == Some(long.id()) && j.state == JobState::Running)
        {
            break j.job;
        }
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "the job never ran"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    let back = NodeBack(node.clone());
    let down = scontrol(&[
        "update",
        &format!("nodename={node}"),
        "state=down",
        "reason=smq-node-failure-test",
    ]);
    assert!(
        down.status.success(),
        "scontrol: {}",
        String::from_utf8_lossy(&down.stderr)
    );
    let err = long
        .result_timeout(Duration::from_secs(120))
        .expect("the task ends")
        .expect_err("the node failed");
    match err.downcast_ref::<ClusterError>() {
        Some(ClusterError::NodeFailed { job: j }) => assert_eq!(*j, job),
        other => panic!("expected a node failure, got {other:?} ({err})"),
    }
    assert!(err.to_string().contains(&job.to_string()), "{err}");
    drop(back);
    assert!(
        node_state(&node).starts_with("IDLE"),
        "{}",
        node_state(&node)
    );
}
