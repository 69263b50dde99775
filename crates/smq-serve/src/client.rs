//! The client side: follow a served run from another process, as the scheduler's own
//! [`Snapshot`](smqsched::Snapshot) and [`Event`](smqsched::Event), and pause, resume and
//! cancel it. For the dashboard attached to a run (`smq-dashboard --attach`).
//!
//! # Threads
//!
//! 1. [`Remote::connect`] starts two threads and returns at once; neither ever gives up.
//! 2. The snapshot thread asks `GET /api/snapshot?since=V` (`V` the version of its last
//!    reply, 0 at first and after any failure, so that a reconnect catches up in full),
//!    merges the reply into the tasks it knows, publishes the whole snapshot under a mutex,
//!    and asks again after [`POLL`]. On a failure it records why ([`Link::Down`]) and
//!    retries after [`RETRY`].
//! 3. The event thread follows `GET /api/events` and sends each event, as the scheduler's
//!    own, to an unbounded channel that [`Remote::try_event`] empties. When the stream
//!    ends or fails, it reconnects after [`RETRY`]. A viewer that fell behind is dropped by
//!    the server: events missed meanwhile are then missing, but the next snapshot has every
//!    task's state.
//! 4. Dropping the [`Remote`] tells both threads to stop; the event thread stops at its
//!    stream's next event or keep-alive comment, which a server sends every
//!    [`KEEP_ALIVE`](crate::KEEP_ALIVE) while no event comes.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use crossbeam_channel::{Receiver, Sender};
use parking_lot::{Condvar, Mutex};

use crate::api;

/// How often the snapshot thread asks for changes.
pub const POLL: Duration = Duration::from_millis(100);
/// How long the threads wait before reconnecting after a failure.
pub const RETRY: Duration = Duration::from_millis(500);
/// How long a request may take before it counts as failed.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);

/// The state of the connection to the served run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Link {
    /// No reply yet.
    Connecting,
    /// The last request was answered.
    Up,
    /// The last request failed, for this reason; retrying.
    Down(String),
}

/// Why a control request failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ClientError {
    /// The server answered with an error.
    #[error("the server refused ({status}): {message}")]
    Refused {
        /// The HTTP status.
        status: u16,
        /// The server's message.
        message: String,
    },
    /// No answer: the server is unreachable, or the reply was not understood.
    #[error("no answer from the server: {0}")]
    Unreachable(String),
}

struct Published {
    snap: smqsched::Snapshot,
    updates: u64,
    link: Link,
}

struct Inner {
    url: String,
    auth: String,
    agent: ureq::Agent,
    published: Mutex<Published>,
    updated: Condvar,
    stop: AtomicBool,
}

/// A served run followed from another process; see the module docs.
pub struct Remote {
    inner: Arc<Inner>,
    events: Receiver<smqsched::Event>,
    _stop: Sender<()>,
}

impl std::fmt::Debug for Remote {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Remote")
            .field("url", &self.inner.url)
            .finish_non_exhaustive()
    }
}

impl Remote {
    /// Follow the run served at `url` (such as `http://127.0.0.1:40125`) with `token`.
    ///
    /// Never fails: an unreachable server, or a wrong token, shows in [`link`](Self::link)
    /// and is retried.
    ///
    /// # Examples
    ///
    /// ```
    /// let sch = smqsched::Scheduler::new();
    /// let q = sch.queue("q", 1).unwrap();
    /// let _a = q.submit((), |()| 1);
    /// let server = smq_serve::serve(&sch, "127.0.0.1:0", Default::default())?;
    /// let remote = smq_serve::Remote::connect(&server.url(), server.token());
    /// assert!(remote.wait_update(1, std::time::Duration::from_secs(30)));
    /// assert_eq!(remote.snapshot().tasks.len(), 1);
    /// # Ok::<(), smq_serve::ServeError>(())
    /// ```
    pub fn connect(url: &str, token: &str) -> Remote {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_connect(Some(REQUEST_TIMEOUT))
            .build()
            .into();
        let inner = Arc::new(Inner {
            url: url.trim_end_matches('/').to_owned(),
            auth: format!("Bearer {}", token.trim()),
            agent,
            published: Mutex::new(Published {
                snap: smqsched::Snapshot::new(),
                updates: 0,
                link: Link::Connecting,
            }),
            updated: Condvar::new(),
            stop: AtomicBool::new(false),
        });
        let (events_tx, events) = crossbeam_channel::unbounded();
        let (stop_tx, stop_rx) = crossbeam_channel::bounded::<()>(0);
        {
            let (inner, stop_rx) = (Arc::clone(&inner), stop_rx.clone());
            let _ = std::thread::Builder::new()
                .name("smq-attach-snapshot".into())
                .spawn(move || poll_snapshots(&inner, &stop_rx));
        }
        {
            let inner = Arc::clone(&inner);
            let _ = std::thread::Builder::new()
                .name("smq-attach-events".into())
                .spawn(move || follow_events(&inner, &events_tx, &stop_rx));
        }
        Remote {
            inner,
            events,
            _stop: stop_tx,
        }
    }

    /// The served run's URL.
    pub fn url(&self) -> &str {
        &self.inner.url
    }

    /// The state of the connection.
    pub fn link(&self) -> Link {
        self.inner.published.lock().link.clone()
    }

    /// The last snapshot received (empty before the first).
    pub fn snapshot(&self) -> smqsched::Snapshot {
        self.inner.published.lock().snap.clone()
    }

    /// Copy the last snapshot received into `snap`, reusing its allocations.
    pub fn snapshot_into(&self, snap: &mut smqsched::Snapshot) {
        snap.clone_from(&self.inner.published.lock().snap);
    }

    /// How many snapshots were received so far.
    pub fn updates(&self) -> u64 {
        self.inner.published.lock().updates
    }

    /// Block until at least `n` snapshots were received, or `timeout`; whether they were.
    pub fn wait_update(&self, n: u64, timeout: Duration) -> bool {
        let mut p = self.inner.published.lock();
        let deadline = std::time::Instant::now() + timeout;
        while p.updates < n {
            if self.inner.updated.wait_until(&mut p, deadline).timed_out() {
                return p.updates >= n;
            }
        }
        true
    }

    /// The next event received, if any.
    pub fn try_event(&self) -> Option<smqsched::Event> {
        self.events.try_recv().ok()
    }

    /// Pause the served run; whether it runs after.
    ///
    /// # Errors
    ///
    /// [`ClientError`] if the server refused or did not answer.
    pub fn pause(&self) -> Result<bool, ClientError> {
        self.control("pause")
    }

    /// Resume the served run; whether it runs after.
    ///
    /// # Errors
    ///
    /// [`ClientError`] if the server refused or did not answer.
    pub fn resume(&self) -> Result<bool, ClientError> {
        self.control("resume")
    }

    fn control(&self, what: &str) -> Result<bool, ClientError> {
        let reply: api::ControlReply = self.post(&format!("/api/{what}"), String::new())?;
        Ok(reply.running)
    }

    /// Cancel tasks of the served run (with their dependents) that have not started.
    ///
    /// # Errors
    ///
    /// [`ClientError`] if the server refused (an unknown id: nothing is cancelled) or did
    /// not answer.
    pub fn cancel(&self, tasks: &[smqsched::TaskId]) -> Result<api::CancelReply, ClientError> {
        let body = api::CancelRequest {
            tasks: tasks.iter().map(|t| t.index()).collect(),
        };
        let body =
            serde_json::to_string(&body).map_err(|e| ClientError::Unreachable(e.to_string()))?;
        self.post("/api/cancel", body)
    }

    /// The datasets of the served run (`GET /api/datasets`). Blocks for one request.
    ///
    /// # Errors
    ///
    /// [`ClientError::Refused`] (404 if the server serves no run), or
    /// [`ClientError::Unreachable`].
    pub fn datasets(&self) -> Result<api::DatasetList, ClientError> {
        self.get("/api/datasets")
    }

    /// The acquisitions of dataset `name` from index `since` on, with their scan points
    /// (`GET /api/datasets/NAME?since=N`). Blocks for one request.
    ///
    /// # Errors
    ///
    /// [`ClientError::Refused`] (404 for an unknown dataset, 400 for a `since` beyond its
    /// length), or [`ClientError::Unreachable`].
    pub fn dataset_values(
        &self,
        name: &str,
        since: u64,
    ) -> Result<api::DatasetValues, ClientError> {
        let name: String = name
            .bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                    char::from(b).to_string()
                }
                _ => format!("%{b:02X}"),
            })
            .collect();
        self.get(&format!("/api/datasets/{name}?since={since}"))
    }

    fn get<T: serde::de::DeserializeOwned>(&self, path: &str) -> Result<T, ClientError> {
        let r = self
            .inner
            .agent
            .get(format!("{}{path}", self.inner.url))
            .header("Authorization", &self.inner.auth)
            .config()
            .timeout_global(Some(REQUEST_TIMEOUT))
            .build()
            .call();
        read_json(r)
    }

    fn post<T: serde::de::DeserializeOwned>(
        &self,
        path: &str,
        body: String,
    ) -> Result<T, ClientError> {
        let r = self
            .inner
            .agent
            .post(format!("{}{path}", self.inner.url))
            .header("Authorization", &self.inner.auth)
            .header("Content-Type", "application/json")
            .config()
            .timeout_global(Some(REQUEST_TIMEOUT))
            .build()
            .send(body);
        read_json(r)
    }
}

impl Drop for Remote {
    fn drop(&mut self) {
        self.inner.stop.store(true, Ordering::Relaxed);
    }
}

/// The JSON body of a reply, or why there is none.
fn read_json<T: serde::de::DeserializeOwned>(
    r: Result<ureq::http::Response<ureq::Body>, ureq::Error>,
) -> Result<T, ClientError> {
    let mut r = r.map_err(|e| ClientError::Unreachable(e.to_string()))?;
    let status = r.status().as_u16();
    let text = r
        .body_mut()
        .read_to_string()
        .map_err(|e| ClientError::Unreachable(e.to_string()))?;
    if status != 200 {
        let message = serde_json::from_str::<api::ErrorReply>(&text)
            .map(|e| e.error)
            .unwrap_or(text);
        return Err(ClientError::Refused { status, message });
    }
    serde_json::from_str(&text).map_err(|e| ClientError::Unreachable(e.to_string()))
}

fn set_link(inner: &Inner, link: Link) {
    inner.published.lock().link = link;
}

/// Step 2: the snapshot thread.
fn poll_snapshots(inner: &Inner, stop: &Receiver<()>) {
    let mut tasks: Vec<api::Task> = Vec::new();
    let mut version = 0;
    while !inner.stop.load(Ordering::Relaxed) {
        let r = inner
            .agent
            .get(format!("{}/api/snapshot?since={version}", inner.url))
            .header("Authorization", &inner.auth)
            .config()
            .timeout_global(Some(REQUEST_TIMEOUT))
            .build()
            .call();
        let pause = match read_json::<api::Snapshot>(r) {
            Ok(reply) => {
                version = reply.version;
                let mut snap = reply.clone();
                snap.tasks = Vec::new();
                reply.merge_into(&mut tasks);
                let full = snap.to_scheduler(&tasks);
                let mut p = inner.published.lock();
                p.snap = full;
                p.updates += 1;
                p.link = Link::Up;
                inner.updated.notify_all();
                POLL
            }
            Err(e) => {
                version = 0;
                set_link(inner, Link::Down(e.to_string()));
                RETRY
            }
        };
        // Waits for the pause, or returns at once when the `Remote` is dropped.
        if let Err(crossbeam_channel::RecvTimeoutError::Disconnected) = stop.recv_timeout(pause) {
            return;
        }
    }
}

/// Step 3: the event thread.
fn follow_events(inner: &Inner, out: &Sender<smqsched::Event>, stop: &Receiver<()>) {
    use std::io::BufRead;
    while !inner.stop.load(Ordering::Relaxed) {
        let r = inner
            .agent
            .get(format!("{}/api/events", inner.url))
            .header("Authorization", &inner.auth)
            .call();
        match r {
            Ok(r) if r.status().as_u16() == 200 => {
                let reader = std::io::BufReader::new(r.into_body().into_reader());
                let mut data = String::new();
                for line in reader.lines() {
                    if inner.stop.load(Ordering::Relaxed) {
                        return;
                    }
                    let Ok(line) = line else { break };
                    if let Some(d) = line.strip_prefix("data:") {
                        data.push_str(d.trim_start());
                    } else if line.is_empty() && !data.is_empty() {
                        if let Ok(e) = serde_json::from_str::<api::Event>(&data)
                            && out.send(e.to_scheduler()).is_err()
                        {
                            return;
                        }
                        data.clear();
                    }
                }
            }
            Ok(r) => set_link(
                inner,
                Link::Down(format!("event stream refused ({})", r.status())),
            ),
            Err(e) => set_link(inner, Link::Down(e.to_string())),
        }
        if let Err(crossbeam_channel::RecvTimeoutError::Disconnected) = stop.recv_timeout(RETRY) {
            return;
        }
    }
}
