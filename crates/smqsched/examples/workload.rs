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
//! `baseline-…`. They are the benchmark's own (`benches/common/mod.rs`).

#[path = "../benches/common/mod.rs"]
mod common;

use std::process::ExitCode;
use std::time::Instant;

use common::*;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (Some(name), Some(n)) = (args.first(), args.get(1).and_then(|n| n.parse().ok())) else {
        eprintln!("usage: workload WORKLOAD N   (see the example's source for the workloads)");
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
        other => {
            eprintln!("unknown workload {other:?}");
            return ExitCode::FAILURE;
        }
    };
    let t = Instant::now();
    let checksum = workload(n);
    println!("{name} {n}: checksum {checksum} in {:?}", t.elapsed());
    ExitCode::SUCCESS
}
