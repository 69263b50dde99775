//! The same batch of FFT steps on a local compute queue and on a Slurm queue of this
//! machine (single node), and, as the other design measured, the same steps run as `srun`
//! job steps inside one allocation held beforehand.
//!
//! ```sh
//! bash .ci/slurm/start                      # a single-node Slurm, as root
//! cargo bench -p smq-cli --bench cluster    # SMQ_BENCH_ROUNDS=5 by default
//! ```
//!
//! Each round times, one after the other: the local queue (2 slots), the Slurm queue (2
//! jobs at once, `sbatch` per task, the default `squeue` poll of 250 ms), and `srun` steps
//! (2 at once, inside an allocation of 2 CPUs obtained before the timing and released after
//! it, since it holds the whole node). Every variant
//! computes the same 16 power spectra of 65,536 points; the results of the Slurm queue and
//! of the steps are checked equal to the local ones. Medians over the rounds are printed,
//! with the overhead per task: (batch time - local batch time) x 2 slots / 16 tasks.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use ndarray::Array1;
use smq_cluster::{POWER_SPECTRUM, SlurmSlots, cluster_queue};
use smqsched::Scheduler;

const SMQ: &str = env!("CARGO_BIN_EXE_smq");
const TASKS: usize = 16;
const POINTS: usize = 65_536;
const SLOTS: usize = 2;

fn signal(i: usize) -> Array1<f64> {
    Array1::from_shape_fn(POINTS, |k| {
        let t = k as f64 / POINTS as f64;
        (2.0 * std::f64::consts::PI * (500.0 + i as f64) * t).sin() + 1e-3 * (k as f64).cos()
    })
}

/// The batch on a local queue: the spectra and the time.
fn local() -> (Vec<Array1<f64>>, Duration) {
    let sch = Scheduler::new();
    let q = sch.queue("compute", SLOTS).expect("queue");
    let start = Instant::now();
    let spectra: Vec<_> = (0..TASKS)
        .map(|i| q.submit_result((), move |()| POWER_SPECTRUM.call(signal(i))))
        .collect();
    sch.start();
    let out = spectra
        .iter()
        .map(|p| p.result().expect("spectrum").clone())
        .collect();
    (out, start.elapsed())
}

/// The batch on a Slurm queue.
fn slurm(dir: &Path) -> (Vec<Array1<f64>>, Duration) {
    let sch = Scheduler::new();
    let make = sch.queue("make", SLOTS).expect("queue");
    let slots = SlurmSlots {
        worker: vec![SMQ.into(), "worker".into()],
        ..SlurmSlots::new(SLOTS, dir)
    };
    let cq = cluster_queue(&sch, "fft", slots).expect("cluster queue");
    let start = Instant::now();
    let spectra: Vec<_> = (0..TASKS)
        .map(|i| {
            let x = make.submit((), move |()| signal(i));
            cq.submit(&POWER_SPECTRUM, &x).expect("submit")
        })
        .collect();
    sch.start();
    let out = spectra
        .iter()
        .map(|p| p.result().unwrap_or_else(|e| panic!("slurm: {e}")).clone())
        .collect();
    (out, start.elapsed())
}

/// An allocation of `SLOTS` CPUs, cancelled when dropped.
struct Allocation(String);

impl Drop for Allocation {
    fn drop(&mut self) {
        let _ = Command::new("scancel").arg(&self.0).status();
        // Wait (at most 30 s) until its CPUs are free for the next variant.
        for _ in 0..300 {
            let out = Command::new("squeue").args(["-h", "-j", &self.0]).output();
            if out.is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim().is_empty()) {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        eprintln!("allocation {} still listed 30 s after scancel", self.0);
    }
}

/// An allocation of `SLOTS` CPUs (all of the test node's: the Slurm queue's jobs cannot run
/// while it is held).
fn allocate() -> Allocation {
    let out = Command::new("salloc")
        .args([
            "--no-shell",
            "--job-name=smq-bench-alloc",
            &format!("--ntasks={SLOTS}"),
        ])
        .output()
        .expect("salloc runs");
    let text = String::from_utf8_lossy(&out.stderr);
    text.split_whitespace()
        .skip_while(|w| *w != "allocation")
        .nth(1)
        .map(|id| Allocation(id.to_owned()))
        .unwrap_or_else(|| panic!("no allocation: {text}"))
}

/// The batch as `srun` steps inside allocation `alloc`, through the same file protocol.
fn steps(dir: &Path, alloc: &str) -> (Vec<Array1<f64>>, Duration) {
    let sch = Scheduler::new();
    let q = sch.queue("steps", SLOTS).expect("queue");
    let start = Instant::now();
    let spectra: Vec<_> = (0..TASKS)
        .map(|i| {
            let folder = dir.join(format!("step-{i}"));
            let alloc = alloc.to_owned();
            q.submit((), move |()| {
                std::fs::create_dir_all(&folder).expect("folder");
                let task = serde_json::json!({
                    "version": 1, "function": POWER_SPECTRUM.name(), "input": signal(i)
                });
                let task_file = folder.join(smq_cluster::TASK_FILE);
                smq_cluster::write_atomic(&task_file, &serde_json::to_vec(&task).expect("encode"))
                    .expect("write");
                let status = Command::new("srun")
                    .args([
                        &format!("--jobid={alloc}"),
                        "--ntasks=1",
                        "--exact",
                        "--quiet",
                    ])
                    .arg(SMQ)
                    .arg("worker")
                    .arg(&task_file)
                    .status()
                    .expect("srun runs");
                assert!(status.success(), "srun: {status}");
                let bytes = std::fs::read(folder.join(smq_cluster::RESULT_FILE)).expect("result");
                let result: serde_json::Value = serde_json::from_slice(&bytes).expect("decode");
                serde_json::from_value::<Array1<f64>>(result["outcome"]["ok"].clone())
                    .expect("a spectrum")
            })
        })
        .collect();
    sch.start();
    let out = spectra
        .iter()
        .map(|p| p.result().expect("step").clone())
        .collect();
    (out, start.elapsed())
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

fn main() {
    if !Command::new("sinfo")
        .arg("-h")
        .output()
        .is_ok_and(|o| o.status.success())
    {
        eprintln!(
            "cluster bench: skipped, no Slurm here (`sinfo` missing or failing); run .ci/slurm/start"
        );
        return;
    }
    let rounds: usize = std::env::var("SMQ_BENCH_ROUNDS")
        .ok()
        .and_then(|r| r.parse().ok())
        .filter(|&r| r > 0)
        .unwrap_or(5);
    let dir = tempfile::tempdir().expect("tempdir");

    // The exchange cost alone, in this process: encode + write + read + decode of one
    // signal and one spectrum, as a task and its result travel.
    let x = signal(0);
    let p = POWER_SPECTRUM.call(x.clone()).expect("spectrum");
    let codec_start = Instant::now();
    for k in 0..10 {
        let f = dir.path().join(format!("codec-{k}.json"));
        smq_cluster::write_atomic(&f, &serde_json::to_vec(&x).expect("encode")).expect("write");
        let _: Array1<f64> =
            serde_json::from_slice(&std::fs::read(&f).expect("read")).expect("decode");
        smq_cluster::write_atomic(&f, &serde_json::to_vec(&p).expect("encode")).expect("write");
        let _: Array1<f64> =
            serde_json::from_slice(&std::fs::read(&f).expect("read")).expect("decode");
    }
    let codec = codec_start.elapsed().as_secs_f64() / 10.0;
    let fft_start = Instant::now();
    for _ in 0..10 {
        std::hint::black_box(POWER_SPECTRUM.call(x.clone()).expect("spectrum"));
    }
    let fft = fft_start.elapsed().as_secs_f64() / 10.0;

    let (mut tl, mut ts, mut tr) = (Vec::new(), Vec::new(), Vec::new());
    for round in 0..rounds {
        let (want, l) = local();
        let (got, s) = slurm(dir.path());
        assert_eq!(got, want, "the Slurm queue's spectra equal the local ones");
        let alloc = allocate();
        let (got, r) = steps(dir.path(), &alloc.0);
        drop(alloc);
        assert_eq!(got, want, "the steps' spectra equal the local ones");
        println!(
            "round {round}: local {:.3} s, slurm queue (sbatch) {:.3} s, srun steps {:.3} s",
            l.as_secs_f64(),
            s.as_secs_f64(),
            r.as_secs_f64()
        );
        tl.push(l.as_secs_f64());
        ts.push(s.as_secs_f64());
        tr.push(r.as_secs_f64());
    }
    let (l, s, r) = (median(tl), median(ts), median(tr));
    let per_task = |t: f64| (t - l) * SLOTS as f64 / TASKS as f64;
    println!(
        "{TASKS} power spectra of {POINTS} points, {SLOTS} at once, medians of {rounds} rounds:"
    );
    println!("  one spectrum in-process:           {:8.1} ms", fft * 1e3);
    println!(
        "  exchange files (task + result):    {:8.1} ms",
        codec * 1e3
    );
    println!("  local queue:                       {:8.3} s", l);
    println!(
        "  slurm queue, sbatch per task:      {:8.3} s  ({:.2}x; {:.0} ms overhead per task)",
        s,
        s / l,
        per_task(s) * 1e3
    );
    println!(
        "  srun steps in one allocation:      {:8.3} s  ({:.2}x; {:.0} ms overhead per task)",
        r,
        r / l,
        per_task(r) * 1e3
    );
}
