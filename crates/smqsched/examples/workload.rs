//! Run one benchmark workload once, on smqsched or on the baseline executor, and print its
//! checksum and time: for profilers and instruction counters, which want one plain process.
//!
//! ```sh
//! cargo build --release -p smqsched --example workload
//! valgrind --tool=callgrind target/release/examples/workload chain 20000
//! valgrind --tool=callgrind target/release/examples/workload baseline-chain 20000
//! ```
//!
//! Workloads: `independent`, `matrix` (N is the matrix size), `chain`, `fan`, each also as
//! `baseline-…` and as `contract-…`. They are the benchmark's own (`benches/common/mod.rs`).
//! A `contract-…` workload only builds its graph on the submission contract alone
//! (`Contract`) and drops it (the time includes dropping it); its checksum is 0.
//!
//! With a third argument, `workload WORKLOAD N RUNS` runs the workload that many times in one
//! process, as the benchmark does, and prints the median time and the median number of minor
//! page faults per run (read from `/proc/self/stat`, so on Linux only).

#[path = "../benches/common/mod.rs"]
mod common;

use std::process::ExitCode;
use std::time::Instant;

use common::*;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (Some(name), Some(n)) = (args.first(), args.get(1).and_then(|n| n.parse().ok())) else {
        eprintln!(
            "usage: workload WORKLOAD N [RUNS]   (see the example's source for the workloads)"
        );
        return ExitCode::FAILURE;
    };
    let workload: Workload = match name.as_str() {
        "independent" => smq_independent,
        "matrix" => smq_matrix,
        "chain" => smq_chain,
        "fan" => smq_fan,
        "baseline-independent" => base_independent,
        "baseline-matrix" => base_matrix,
        "baseline-chain" => base_chain,
        "baseline-fan" => base_fan,
        "contract-independent" => |n| contract_workload(contract_independent, n),
        "contract-matrix" => |n| contract_workload(contract_matrix, n),
        "contract-chain" => |n| contract_workload(contract_chain, n),
        "contract-fan" => |n| contract_workload(contract_fan, n),
        other => {
            eprintln!("unknown workload {other:?}");
            return ExitCode::FAILURE;
        }
    };
    let runs = match args.get(2).map(|r| r.parse::<usize>()) {
        None => 1,
        Some(Ok(runs)) if runs > 0 => runs,
        Some(_) => {
            eprintln!(
                "RUNS must be a whole number of at least 1, not {:?}",
                args[2]
            );
            return ExitCode::FAILURE;
        }
    };
    let mut times = Vec::with_capacity(runs);
    let mut faults = Vec::with_capacity(runs);
    let mut checksum = 0;
    for _ in 0..runs {
        let before = minor_faults();
        let t = Instant::now();
        checksum = workload(n)();
        times.push(t.elapsed());
        faults.push(
            minor_faults()
                .zip(before)
                .map(|(after, before)| after - before),
        );
    }
    if runs == 1 {
        println!("{name} {n}: checksum {checksum} in {:?}", times[0]);
    } else {
        times.sort();
        faults.sort();
        let faults = faults[runs / 2].map_or_else(|| "unknown".to_string(), |f| f.to_string());
        println!(
            "{name} {n}: checksum {checksum}; median of {runs} runs: {:?}, {faults} minor page faults",
            times[runs / 2]
        );
    }
    ExitCode::SUCCESS
}

/// The process's minor page faults so far (field 10 of `/proc/self/stat`), if readable.
fn minor_faults() -> Option<u64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the command name, which is in parentheses and may contain spaces.
    let rest = stat.rsplit_once(')')?.1;
    rest.split_whitespace().nth(7)?.parse().ok()
}
