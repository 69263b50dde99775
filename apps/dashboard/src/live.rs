//! The live plots of an attached dashboard: the served run's datasets, fetched as they grow
//! (`GET /api/datasets`, `GET /api/datasets/NAME?since=N`) and drawn by the same code as
//! the view of a stored run.
//!
//! # Protocol
//!
//! 1. A thread of its own (`dashboard-datasets`) asks the served run for its datasets, then
//!    for each one the acquisitions after those it has (`since` = how many it has), again
//!    until it has as many as were listed (a reply holds a limited number of values): only
//!    what is new crosses the network.
//! 2. It appends them with their points, and when anything changed, puts each dataset in
//!    point order (a [`StoredRun`] of the datasets alone) and publishes it under a mutex,
//!    with a count of polls, and wakes the waiters ([`LiveDatasets::wait_poll`]).
//! 3. The UI thread takes the published run at each frame ([`LiveDatasets::take`]): it
//!    never waits on the network.
//! 4. It polls again after [`smq_serve::POLL`], or stops at once when the dashboard is
//!    dropped (the stop channel closes). A failed request is shown and retried at the next
//!    poll; what was fetched is kept.
//!
//! Invariant: the published datasets hold, for each dataset, acquisitions `0..n` as the
//! server served them, each with its own point (a reply holds only acquisitions that have
//! their point).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use smq_lab::{StoredDataset, StoredRun};
use smq_serve::Remote;
use smq_serve::api;
use smqsched::crossbeam_channel::{self, RecvTimeoutError, Sender};
use std::sync::{Condvar, Mutex};

/// What the poller publishes.
struct Published {
    /// The run of the datasets, when changed since the UI took it.
    fresh: Option<StoredRun>,
    /// Polls done.
    polls: u64,
    /// The last poll's failure, if it failed.
    problem: Option<String>,
}

struct Shared {
    published: Mutex<Published>,
    polled: Condvar,
}

/// The served run's datasets, followed by a thread of their own; see the module docs.
pub(crate) struct LiveDatasets {
    shared: Arc<Shared>,
    _stop: Sender<()>,
}

impl std::fmt::Debug for LiveDatasets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LiveDatasets").finish_non_exhaustive()
    }
}

/// One dataset as fetched so far, in the order served.
struct Raw {
    info: api::Dataset,
    points: Vec<u64>,
    values: Vec<f64>,
}

impl LiveDatasets {
    /// Follow the datasets of the run `remote` follows.
    pub(crate) fn start(remote: Arc<Remote>) -> Self {
        let shared = Arc::new(Shared {
            published: Mutex::new(Published {
                fresh: None,
                polls: 0,
                problem: None,
            }),
            polled: Condvar::new(),
        });
        let (stop, stopped) = crossbeam_channel::bounded::<()>(0);
        let thread_shared = Arc::clone(&shared);
        let _ = std::thread::Builder::new()
            .name("dashboard-datasets".into())
            .spawn(move || {
                let mut raw: BTreeMap<String, Raw> = BTreeMap::new();
                loop {
                    let result = poll(&remote, &mut raw);
                    {
                        let mut p = lock(&thread_shared.published);
                        match result {
                            Ok(true) => {
                                p.fresh = Some(to_run(&raw));
                                p.problem = None;
                            }
                            Ok(false) => p.problem = None,
                            Err(e) => p.problem = Some(e),
                        }
                        p.polls += 1;
                    }
                    thread_shared.polled.notify_all();
                    match stopped.recv_timeout(smq_serve::POLL) {
                        Err(RecvTimeoutError::Timeout) => {}
                        _ => return,
                    }
                }
            });
        Self {
            shared,
            _stop: stop,
        }
    }

    /// The datasets, if they changed since the last call.
    pub(crate) fn take(&self) -> Option<StoredRun> {
        lock(&self.shared.published).fresh.take()
    }

    /// The last poll's failure, if it failed.
    pub(crate) fn problem(&self) -> Option<String> {
        lock(&self.shared.published).problem.clone()
    }

    /// Block until the poll after this call has finished, or `timeout`; whether it did.
    pub(crate) fn wait_poll(&self, timeout: Duration) -> bool {
        let p = lock(&self.shared.published);
        let target = p.polls + 2; // one may be under way: wait for a whole poll
        let (p, _) = self
            .shared
            .polled
            .wait_timeout_while(p, timeout, |p| p.polls < target)
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        p.polls >= target
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// One poll: fetch what is new of each dataset; whether anything changed.
fn poll(remote: &Remote, raw: &mut BTreeMap<String, Raw>) -> Result<bool, String> {
    let list = match remote.datasets() {
        Ok(l) => l,
        // A run served without its datasets: nothing to plot, nothing wrong.
        Err(smq_serve::ClientError::Refused { status: 404, .. }) => return Ok(false),
        Err(e) => return Err(format!("datasets: {e}")),
    };
    let mut changed = false;
    for info in list.datasets {
        // A reply holds a limited number of values: ask again until caught up.
        loop {
            let have = raw.get(&info.name).map_or(0, |r| r.points.len() as u64);
            if info.len <= have && raw.contains_key(&info.name) {
                break;
            }
            let reply = remote
                .dataset_values(&info.name, have)
                .map_err(|e| format!("dataset {}: {e}", info.name))?;
            let entry = raw.entry(info.name.clone()).or_insert_with(|| Raw {
                info: info.clone(),
                points: Vec::new(),
                values: Vec::new(),
            });
            let row: u64 = reply.dataset.acquisition_shape.iter().product();
            let n = reply.values.len() as u64 / row.max(1);
            match reply.points {
                Some(p) => entry.points.extend(p),
                None => entry.points.extend(have..have + n),
            }
            entry.values.extend(reply.values);
            entry.info = reply.dataset;
            changed = true;
            if n == 0 {
                break;
            }
        }
    }
    Ok(changed)
}

/// The datasets fetched, each in point order, as a run of datasets alone.
fn to_run(raw: &BTreeMap<String, Raw>) -> StoredRun {
    // As `StoredRun::open` does: a plan's `_time` companions and grid index describe other
    // datasets and are not plotted themselves.
    let companion = |name: &str| {
        name == "grid_index"
            || name
                .strip_suffix("_time")
                .is_some_and(|base| raw.contains_key(base))
    };
    let datasets = raw
        .values()
        .filter(|r| !companion(&r.info.name))
        .map(|r| {
            let shape: Vec<usize> = r
                .info
                .acquisition_shape
                .iter()
                .map(|&n| n as usize)
                .collect();
            let row = shape.iter().product::<usize>().max(1);
            let n = r.points.len().min(r.values.len() / row);
            let mut order: Vec<usize> = (0..n).collect();
            order.sort_by_key(|&i| r.points[i]);
            let mut values = Vec::with_capacity(n * row);
            for &i in &order {
                values.extend_from_slice(&r.values[i * row..(i + 1) * row]);
            }
            StoredDataset {
                name: r.info.name.clone(),
                data_type: r.info.data_type.clone(),
                acquisition_shape: shape,
                points: order.iter().map(|&i| r.points[i]).collect(),
                by_point: r.info.by_point,
                values,
                units: None,
                quantity: None,
                dims: Vec::new(),
                coords: Vec::new(),
            }
            .with_attributes(&r.info.attributes)
        })
        .collect();
    StoredRun {
        path: std::path::PathBuf::new(),
        metadata: smq_store::RunMetadata {
            name: String::new(),
            start: None,
            end: None,
            experiment: None,
            parameters: serde_json::Value::Null,
            instruments: BTreeMap::new(),
            dag_summary: None,
            attributes: serde_json::Map::new(),
        },
        status: Some(smq_lab::RunStatus::Running),
        state: "running".into(),
        summary: None,
        datasets,
        repairs: Vec::new(),
    }
}
