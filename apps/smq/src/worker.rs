//! `smq worker TASK_FILE` (run one task of a cluster queue, on a cluster node) and
//! `smq cluster status` (the jobs of the cluster queues, with their states).

use std::path::Path;

use crate::Error;
use clap::Subcommand;

/// The subcommands of `smq cluster`.
#[derive(Debug, Subcommand)]
pub(crate) enum ClusterCommand {
    /// List the Slurm jobs of smq cluster queues (job names `smq-*`), with their states:
    /// pending, running, and ended ones until Slurm forgets them.
    Status,
    /// List the functions `smq worker` can run.
    Functions,
}

/// Runs the task in `task_file` with the built-in functions and writes its result beside
/// it. A function's failure is written to the result file and is not an error here.
pub(crate) fn worker(task_file: &Path) -> Result<(), Error> {
    smq_cluster::worker_main(&smq_cluster::Registry::builtin(), task_file)
        .map_err(|e| e.to_string().into())
}

pub(crate) fn cluster(command: &ClusterCommand) -> Result<(), Error> {
    match command {
        ClusterCommand::Status => {
            let jobs = smq_cluster::list_jobs().map_err(|e| e.to_string())?;
            if jobs.is_empty() {
                println!("no jobs of smq cluster queues");
            }
            for j in jobs {
                println!(
                    "{:<10} {:<12} {:<10} {:<28} {}",
                    j.job,
                    j.state.to_string(),
                    j.time,
                    j.name,
                    j.reason
                );
            }
        }
        ClusterCommand::Functions => {
            for name in smq_cluster::Registry::builtin().names() {
                println!("{name}");
            }
        }
    }
    Ok(())
}
