//! The routes, the shared state behind them, and the authentication layer.

use std::convert::Infallible;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{RawQuery, Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use axum::response::{IntoResponse, Json, Response};
use axum::routing::{get, post};
use parking_lot::Mutex;
use smqsched::{CancelError, Scheduler};
use tokio::sync::{broadcast, watch};

use crate::api;
use crate::auth::authorized;

/// How often an idle event stream sends a keep-alive comment: a client that stopped
/// listening notices within this long, and proxies do not close a quiet stream.
pub const KEEP_ALIVE: Duration = Duration::from_secs(1);

/// One event as sent to viewers: its SSE name and its JSON, serialized once for all.
pub(crate) type Wire = Arc<(&'static str, String)>;

/// What every request handler shares.
pub(crate) struct AppState {
    pub(crate) sch: Scheduler,
    pub(crate) token: String,
    pub(crate) cache: Mutex<Cache>,
    pub(crate) events: broadcast::Sender<Wire>,
    pub(crate) viewers: AtomicUsize,
    pub(crate) max_viewers: usize,
    pub(crate) shutdown: watch::Receiver<bool>,
    /// The run whose datasets are served, if any.
    pub(crate) run: Option<smq_store::Run>,
}

type Shared = Arc<AppState>;

/// What tells a task's change apart: compared between refreshes to number the versions.
type Key = (
    api::State,
    u32,
    Option<u32>,
    Option<Duration>,
    Option<Duration>,
);

fn key(t: &smqsched::TaskSnapshot) -> Key {
    (t.state.into(), t.items, t.slot, t.started, t.finished)
}

/// The last snapshot, refreshed by what changed, and the version at which each task last
/// changed, for `?since=`.
#[derive(Default)]
pub(crate) struct Cache {
    snap: smqsched::Snapshot,
    keys: Vec<Key>,
    changed: Vec<u64>,
    version: u64,
}

impl Cache {
    /// Bring the snapshot up to date: the scheduler copies only what changed since the last
    /// refresh; a task whose state, items or times differ gets the next version.
    fn refresh(&mut self, sch: &Scheduler) {
        sch.snapshot_into(&mut self.snap);
        let next = self.version + 1;
        let mut bumped = false;
        for (i, t) in self.snap.tasks.iter().enumerate() {
            let k = key(t);
            match self.keys.get_mut(i) {
                Some(old) if *old == k => {}
                Some(old) => {
                    *old = k;
                    self.changed[i] = next;
                    bumped = true;
                }
                None => {
                    self.keys.push(k);
                    self.changed.push(next);
                    bumped = true;
                }
            }
        }
        if bumped {
            self.version = next;
        }
    }

    fn to_api(&self, since: u64) -> api::Snapshot {
        let snap = &self.snap;
        let secs = |d: Duration| d.as_secs_f64();
        let tasks = snap
            .tasks
            .iter()
            .zip(&self.changed)
            .filter(|(_, v)| **v > since)
            .map(|(t, _)| api::Task {
                id: t.id.index(),
                label: t.label.to_string(),
                queue: t.queue,
                state: t.state.into(),
                inputs: snap
                    .inputs(t)
                    .iter()
                    .map(|d| api::Input {
                        task: d.task.index(),
                        item: d.item,
                    })
                    .collect(),
                items: t.items,
                slot: t.slot,
                submitted: secs(t.submitted),
                started: t.started.map(secs),
                finished: t.finished.map(secs),
                error: t.error.as_deref().map(api::TaskError::from),
                status: t.status.as_deref().map(str::to_owned),
            })
            .collect();
        api::Snapshot {
            version: self.version,
            since,
            at: secs(snap.at),
            running: snap.running,
            task_count: snap.tasks.len(),
            queues: snap.queues.iter().map(api::Queue::from).collect(),
            tasks,
        }
    }
}

/// An error reply: the status and a JSON [`api::ErrorReply`].
pub(crate) fn error(status: StatusCode, message: impl Into<String>) -> Response {
    (
        status,
        Json(api::ErrorReply {
            error: message.into(),
        }),
    )
        .into_response()
}

/// The router of every route, behind the token check.
pub(crate) fn router(state: Shared) -> Router {
    Router::new()
        .route("/api/snapshot", get(snapshot))
        .route("/api/events", get(events))
        .route("/api/pause", post(pause))
        .route("/api/resume", post(resume))
        .route("/api/cancel", post(cancel))
        .route("/api/datasets", get(crate::datasets::datasets))
        .route("/api/datasets/{name}", get(crate::datasets::dataset))
        .fallback(|| async {
            error(
                StatusCode::NOT_FOUND,
                "no such route; the routes are GET /api/snapshot, GET /api/events, \
                 GET /api/datasets, GET /api/datasets/NAME, POST /api/pause, POST /api/resume, POST /api/cancel",
            )
        })
        .method_not_allowed_fallback(|| async {
            error(
                StatusCode::METHOD_NOT_ALLOWED,
                "wrong method: GET /api/snapshot and /api/events; POST /api/pause, \
                 /api/resume and /api/cancel",
            )
        })
        .layer(axum::middleware::from_fn_with_state(
            Arc::clone(&state),
            require_token,
        ))
        .with_state(state)
}

/// Refuse, with 401 and before anything else runs, every request without the token.
async fn require_token(State(st): State<Shared>, req: Request, next: Next) -> Response {
    let header = req
        .headers()
        .get(header::AUTHORIZATION)
        .map(|v| v.as_bytes());
    if !authorized(header, &st.token) {
        let mut r = error(
            StatusCode::UNAUTHORIZED,
            "missing or wrong token: send `Authorization: Bearer TOKEN` with the token \
             printed at start and written to the run's serve.token file",
        );
        r.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            header::HeaderValue::from_static("Bearer"),
        );
        return r;
    }
    next.run(req).await
}

/// `since=N` from the query string, if given.
pub(crate) fn parse_since(query: Option<&str>) -> Result<u64, String> {
    let mut since = 0;
    for pair in query.unwrap_or("").split('&').filter(|p| !p.is_empty()) {
        match pair.split_once('=') {
            Some(("since", v)) => {
                since = v
                    .parse()
                    .map_err(|_| format!("since must be a whole number, not {v:?}"))?;
            }
            _ => return Err(format!("unknown query parameter {pair:?}; only since=N")),
        }
    }
    Ok(since)
}

async fn snapshot(State(st): State<Shared>, RawQuery(query): RawQuery) -> Response {
    let since = match parse_since(query.as_deref()) {
        Ok(s) => s,
        Err(e) => return error(StatusCode::BAD_REQUEST, e),
    };
    let mut cache = st.cache.lock();
    cache.refresh(&st.sch);
    if since > cache.version {
        let v = cache.version;
        drop(cache);
        return error(
            StatusCode::BAD_REQUEST,
            format!("since={since} is ahead of this run's version {v}: ask since=0 for all"),
        );
    }
    let reply = cache.to_api(since);
    drop(cache);
    Json(reply).into_response()
}

/// Whether the run has nothing left to do: every task ended.
fn finished(st: &AppState) -> bool {
    let queues = st.sch.queues();
    st.sch.task_count() > 0 && queues.iter().all(|q| q.ready + q.waiting + q.running == 0)
}

async fn pause(State(st): State<Shared>) -> Response {
    if finished(&st) {
        return error(
            StatusCode::CONFLICT,
            "the run has finished: nothing to pause",
        );
    }
    st.sch.stop();
    Json(api::ControlReply {
        running: st.sch.is_running(),
    })
    .into_response()
}

async fn resume(State(st): State<Shared>) -> Response {
    if finished(&st) {
        return error(
            StatusCode::CONFLICT,
            "the run has finished: nothing to resume",
        );
    }
    st.sch.start();
    Json(api::ControlReply {
        running: st.sch.is_running(),
    })
    .into_response()
}

async fn cancel(State(st): State<Shared>, body: Bytes) -> Response {
    let req: api::CancelRequest = match serde_json::from_slice(&body) {
        Ok(r) => r,
        Err(e) => {
            return error(
                StatusCode::BAD_REQUEST,
                format!("malformed body ({e}); expected {{\"tasks\": [task ids]}}"),
            );
        }
    };
    if req.tasks.is_empty() {
        return error(StatusCode::BAD_REQUEST, "no task ids in \"tasks\"");
    }
    let count = st.sch.task_count() as u64;
    let unknown: Vec<u64> = req.tasks.iter().copied().filter(|&t| t >= count).collect();
    if !unknown.is_empty() {
        return error(
            StatusCode::NOT_FOUND,
            format!(
                "no such task: {unknown:?} (the run has {count} tasks, ids 0 to {count} excluded); nothing was cancelled"
            ),
        );
    }
    let mut reply = api::CancelReply {
        cancelled: 0,
        tasks: Vec::with_capacity(req.tasks.len()),
    };
    for id in req.tasks {
        let Some(task) = st.sch.task_id(id) else {
            continue;
        };
        let (outcome, n) = match st.sch.cancel(task) {
            Ok(n) => (api::CancelOutcome::Cancelled, n),
            Err(CancelError::Started(_)) => (api::CancelOutcome::Started, 0),
            Err(_) => (api::CancelOutcome::Finished, 0),
        };
        reply.cancelled += n;
        reply.tasks.push(api::CancelResult {
            id,
            outcome,
            count: n,
        });
    }
    Json(reply).into_response()
}

/// Counts a viewer of the event stream for as long as its stream lives.
struct Viewer(Shared);

impl Drop for Viewer {
    fn drop(&mut self) {
        self.0.viewers.fetch_sub(1, Ordering::Relaxed);
    }
}

async fn events(State(st): State<Shared>) -> Response {
    if st.viewers.fetch_add(1, Ordering::Relaxed) >= st.max_viewers {
        st.viewers.fetch_sub(1, Ordering::Relaxed);
        return error(
            StatusCode::SERVICE_UNAVAILABLE,
            format!(
                "too many viewers of the event stream (at most {})",
                st.max_viewers
            ),
        );
    }
    let rx = st.events.subscribe();
    let shutdown = st.shutdown.clone();
    let viewer = Viewer(Arc::clone(&st));
    let stream = futures_util::stream::unfold(Some((rx, shutdown, viewer)), |state| async move {
        let (mut rx, mut shutdown, viewer) = state?;
        if *shutdown.borrow() {
            return None;
        }
        let next = tokio::select! {
            r = rx.recv() => r,
            _ = shutdown.changed() => return None,
        };
        match next {
            Ok(wire) => {
                let e = SseEvent::default().event(wire.0).data(wire.1.as_str());
                Some((Ok::<_, Infallible>(e), Some((rx, shutdown, viewer))))
            }
            Err(broadcast::error::RecvError::Lagged(n)) => {
                // Too slow: dropped, never waited for. Say so, then end the stream.
                let body = serde_json::json!({
                    "error": format!("this viewer fell {n} events behind and is dropped; reconnect and take a snapshot"),
                });
                Some((
                    Ok(SseEvent::default().event("dropped").data(body.to_string())),
                    None,
                ))
            }
            Err(broadcast::error::RecvError::Closed) => None,
        }
    });
    Sse::new(stream)
        .keep_alive(KeepAlive::new().interval(KEEP_ALIVE))
        .into_response()
}
