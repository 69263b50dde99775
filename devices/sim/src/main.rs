//! `smq-sim`: run the simulated lab until Ctrl-C.

use std::sync::mpsc;
use std::time::Duration;

use clap::Parser;
use smq_sim::SimLab;

/// Start a simulated multimeter, oscilloscope and motion controller, print
/// their pseudo-terminal paths and TCP ports, and run until Ctrl-C.
#[derive(Debug, Parser)]
#[command(name = "smq-sim", version)]
struct Args {
    /// Seed of the simulated noise.
    #[arg(long, default_value_t = 1, allow_negative_numbers = true)]
    seed: u64,
    /// Latency added to every reply, in milliseconds.
    #[arg(long, default_value_t = 0, allow_negative_numbers = true)]
    latency_ms: u64,
}

fn main() -> std::process::ExitCode {
    let args = Args::parse();
    // Installed before anything is printed, so that a Ctrl-C sent as soon
    // as the endpoints are known is handled.
    let (tx, rx) = mpsc::channel();
    if let Err(e) = ctrlc::set_handler(move || {
        let _ = tx.send(());
    }) {
        eprintln!("smq-sim: cannot install the Ctrl-C handler: {e}");
        return std::process::ExitCode::FAILURE;
    }
    let mut lab = match SimLab::start(args.seed) {
        Ok(lab) => lab,
        Err(e) => {
            eprintln!("smq-sim: cannot start the simulators: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    let latency = Duration::from_millis(args.latency_ms);
    lab.dmm.set_latency(latency);
    lab.scope.set_latency(latency);
    lab.stage.set_latency(latency);
    if let Err(e) = lab.serve_portmapper(smq_instrument::PORTMAPPER_PORT) {
        eprintln!(
            "smq-sim: no port mapper on port {}: {e} (run as root for TCPIP0::127.0.0.1::INSTR; \
             the VXI-11 addresses below work without it)",
            smq_instrument::PORTMAPPER_PORT
        );
    }
    println!("{}", lab.endpoints());
    println!("Ctrl-C to stop.");
    let _ = rx.recv();
    drop(lab);
    println!("stopped.");
    std::process::ExitCode::SUCCESS
}
