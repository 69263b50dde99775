//! The server over 127.0.0.1 with a real HTTP client: the token, pause/resume/cancel acting
//! on the run, bad requests, viewers of the event stream that stall or disconnect, and a
//! burst of requests. Tasks are held back by channels, never by sleeping.

#![allow(clippy::unwrap_used)]

use std::io::{BufRead, BufReader, Read};
use std::time::Duration;

use crossbeam_channel::bounded;
use smq_serve::api::{self, State};
use smq_serve::{Options, ServeError, Server, serve};
use smqsched::{Scheduler, TaskError, TaskState};

const LONG: Duration = Duration::from_secs(30);

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into()
}

/// A request's status and body.
struct Reply {
    status: u16,
    body: String,
}

impl Reply {
    fn json<T: serde::de::DeserializeOwned>(&self) -> T {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("{e}: {}", self.body))
    }

    fn error(&self) -> String {
        self.json::<api::ErrorReply>().error
    }
}

struct Client {
    agent: ureq::Agent,
    url: String,
    auth: Option<String>,
}

impl Client {
    fn new(server: &Server) -> Self {
        Client {
            agent: agent(),
            url: server.url(),
            auth: Some(format!("Bearer {}", server.token())),
        }
    }

    fn with_auth(server: &Server, auth: Option<&str>) -> Self {
        Client {
            auth: auth.map(str::to_owned),
            ..Client::new(server)
        }
    }

    fn get(&self, path: &str) -> Reply {
        let mut req = self.agent.get(format!("{}{path}", self.url));
        if let Some(a) = &self.auth {
            req = req.header("Authorization", a);
        }
        let mut r = req.call().unwrap();
        Reply {
            status: r.status().as_u16(),
            body: r.body_mut().read_to_string().unwrap(),
        }
    }

    fn post(&self, path: &str, body: &str) -> Reply {
        let mut req = self.agent.post(format!("{}{path}", self.url));
        if let Some(a) = &self.auth {
            req = req.header("Authorization", a);
        }
        let mut r = req
            .header("Content-Type", "application/json")
            .send(body)
            .unwrap();
        Reply {
            status: r.status().as_u16(),
            body: r.body_mut().read_to_string().unwrap(),
        }
    }

    fn snapshot(&self, since: u64) -> api::Snapshot {
        let r = self.get(&format!("/api/snapshot?since={since}"));
        assert_eq!(r.status, 200, "{}", r.body);
        r.json()
    }

    /// The event stream, as lines.
    fn events(&self) -> (u16, BufReader<Box<dyn Read + Send>>) {
        let mut req = self.agent.get(format!("{}/api/events", self.url));
        if let Some(a) = &self.auth {
            req = req.header("Authorization", a);
        }
        let r = req.call().unwrap();
        let status = r.status().as_u16();
        let reader: Box<dyn Read + Send> = Box::new(r.into_body().into_reader());
        (status, BufReader::new(reader))
    }
}

/// The next server-sent event: its name and data.
fn next_event(lines: &mut impl BufRead) -> Option<(String, String)> {
    let (mut name, mut data) = (String::new(), String::new());
    loop {
        let mut line = String::new();
        if lines.read_line(&mut line).ok()? == 0 {
            return None;
        }
        let line = line.trim_end_matches(['\r', '\n']);
        if line.is_empty() {
            if !data.is_empty() {
                return Some((name, data));
            }
            continue;
        }
        if let Some(v) = line.strip_prefix("event:") {
            name = v.trim().to_owned();
        } else if let Some(v) = line.strip_prefix("data:") {
            data.push_str(v.trim_start());
        }
    }
}

fn local(sch: &Scheduler) -> Server {
    serve(sch, "127.0.0.1:0", Options::default()).unwrap()
}

#[test]
fn a_request_without_the_right_token_gets_401_and_changes_nothing() {
    let sch = Scheduler::new();
    let q = sch.queue("q", 1).unwrap();
    let a = q.submit((), |()| 1);
    let server = local(&sch);
    let wrong = format!("Bearer {}", "0".repeat(64));
    let basic = format!("Basic {}", server.token());
    for auth in [
        None,
        Some(wrong.as_str()),
        Some(basic.as_str()),
        Some("Bearer "),
    ] {
        let c = Client::with_auth(&server, auth);
        for r in [
            c.get("/api/snapshot"),
            c.get("/api/events"),
            c.get("/api/nothing-here"),
            c.post("/api/resume", ""),
            c.post(
                "/api/cancel",
                &format!("{{\"tasks\": [{}]}}", a.id().index()),
            ),
        ] {
            assert_eq!(r.status, 401, "{auth:?}: {}", r.body);
            assert!(r.error().contains("token"), "{}", r.body);
        }
    }
    // Nothing changed: still stopped, the task still waiting to run.
    assert!(!sch.is_running());
    assert_eq!(a.state(), Some(TaskState::Ready));
    // The right token is accepted.
    assert_eq!(Client::new(&server).snapshot(0).task_count, 1);
}

#[test]
fn the_token_file_holds_the_token_is_private_and_goes_with_the_server() {
    let sch = Scheduler::new();
    let dir = std::env::temp_dir().join(format!("smq-serve-token-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    // A stale file of an earlier server, readable by all, is replaced.
    std::fs::write(dir.join(smq_serve::TOKEN_FILE), "old").unwrap();
    let server = serve(
        &sch,
        "127.0.0.1:0",
        Options {
            token_dir: Some(dir.clone()),
            ..Options::default()
        },
    )
    .unwrap();
    let path = server.token_file().unwrap().to_owned();
    assert_eq!(path, dir.join(smq_serve::TOKEN_FILE));
    assert_eq!(smq_serve::read_token_file(&path).unwrap(), server.token());
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    server.shutdown().unwrap();
    assert!(!path.exists());
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn pause_and_resume_over_http_change_the_run() {
    let sch = Scheduler::new();
    let q = sch.queue("q", 1).unwrap();
    let (open, gate) = bounded::<()>(0);
    let first = q.submit((), move |()| gate.recv().map(|()| 1).unwrap_or(0));
    sch.start();
    let server = local(&sch);
    let c = Client::new(&server);
    let r = c.post("/api/pause", "");
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        r.json::<api::ControlReply>(),
        api::ControlReply { running: false }
    );
    assert!(!sch.is_running());
    // Paused: the running task finishes, and nothing new starts.
    let second = q.submit((), |()| 2);
    open.send(()).unwrap();
    assert_eq!(*first.result().unwrap(), 1);
    sch.wait_drained();
    assert_eq!(second.state(), Some(TaskState::Ready));
    assert!(!c.snapshot(0).running);
    let r = c.post("/api/resume", "");
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.json::<api::ControlReply>().running);
    assert_eq!(*second.result().unwrap(), 2);
    sch.wait_timeout(LONG).unwrap();
    // A finished run has nothing to pause.
    let r = c.post("/api/pause", "");
    assert_eq!(r.status, 409, "{}", r.body);
    assert!(r.error().contains("finished"));
    assert!(sch.is_running());
}

#[test]
fn cancel_over_http_cancels_the_tasks_and_their_dependents() {
    let sch = Scheduler::new();
    let q = sch.queue("q", 1).unwrap();
    let a = q.submit((), |()| 1);
    let b = q.submit(&a, |a: &i32| a + 1);
    let other = q.submit((), |()| 3);
    let server = local(&sch);
    let c = Client::new(&server);
    let r = c.post(
        "/api/cancel",
        &format!("{{\"tasks\": [{}]}}", a.id().index()),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let reply: api::CancelReply = r.json();
    assert_eq!(reply.cancelled, 2);
    assert_eq!(reply.tasks[0].outcome, api::CancelOutcome::Cancelled);
    assert!(matches!(a.result(), Err(TaskError::Cancelled { .. })));
    assert!(matches!(
        b.result(),
        Err(TaskError::DependencyFailed { .. })
    ));
    // Asking again says it is over already.
    let r = c.post(
        "/api/cancel",
        &format!("{{\"tasks\": [{}]}}", b.id().index()),
    );
    assert_eq!(
        r.json::<api::CancelReply>().tasks[0].outcome,
        api::CancelOutcome::Finished
    );
    let snap = c.snapshot(0);
    let states: Vec<State> = snap.tasks.iter().map(|t| t.state).collect();
    assert_eq!(states, [State::Cancelled, State::Cancelled, State::Ready]);
    sch.start();
    assert_eq!(*other.result().unwrap(), 3);
}

#[test]
fn bad_requests_get_clear_errors_and_change_nothing() {
    let sch = Scheduler::new();
    let q = sch.queue("q", 1).unwrap();
    let a = q.submit((), |()| 1);
    let server = local(&sch);
    let c = Client::new(&server);
    for (body, says) in [
        ("", "malformed body"),
        ("{\"tasks\": [0", "malformed body"),
        ("{\"task\": [0]}", "malformed body"),
        ("{\"tasks\": [\"zero\"]}", "malformed body"),
        ("{\"tasks\": [-1]}", "malformed body"),
        ("{\"tasks\": []}", "no task ids"),
    ] {
        let r = c.post("/api/cancel", body);
        assert_eq!(r.status, 400, "{body}: {}", r.body);
        assert!(r.error().contains(says), "{body}: {}", r.body);
    }
    // An unknown id among known ones: 404, and nothing is cancelled.
    let r = c.post("/api/cancel", "{\"tasks\": [0, 7]}");
    assert_eq!(r.status, 404, "{}", r.body);
    assert!(r.error().contains("no such task: [7]"), "{}", r.body);
    assert_eq!(a.state(), Some(TaskState::Ready));
    for path in [
        "/api/snapshot?since=abc",
        "/api/snapshot?since=99",
        "/api/snapshot?x=1",
    ] {
        let r = c.get(path);
        assert_eq!(r.status, 400, "{path}: {}", r.body);
        assert!(!r.error().is_empty());
    }
    let r = c.get("/api/elsewhere");
    assert_eq!(r.status, 404);
    assert!(r.error().contains("/api/snapshot"));
    let r = c.get("/api/pause");
    assert_eq!(r.status, 405);
    assert!(r.error().contains("wrong method"), "{}", r.body);
    sch.start();
    assert_eq!(*a.result().unwrap(), 1);
}

#[test]
fn the_snapshot_shows_the_graph_and_since_gives_only_what_changed() {
    let sch = Scheduler::new();
    let acquire = sch.queue("acquire", 1).unwrap();
    let compute = sch.queue("compute", 2).unwrap();
    let a = acquire.task().label("frame").submit((), |()| 1).unwrap();
    let b = compute
        .task()
        .label("sum")
        .submit(&a, |a: &i32| a + 1)
        .unwrap();
    let server = local(&sch);
    let c = Client::new(&server);
    let snap = c.snapshot(0);
    assert_eq!(snap.task_count, 2);
    assert_eq!(
        snap.queues
            .iter()
            .map(|q| q.name.as_str())
            .collect::<Vec<_>>(),
        ["acquire", "compute"]
    );
    assert_eq!(snap.tasks[0].label, "frame");
    assert_eq!(snap.tasks[0].state, State::Ready);
    assert_eq!(snap.tasks[1].state, State::Waiting);
    assert_eq!(snap.tasks[1].queue, 1);
    assert_eq!(
        snap.tasks[1].inputs,
        [api::Input {
            task: a.id().index(),
            item: None
        }]
    );
    assert!(!snap.is_finished());
    // Nothing changed since: no task.
    let v = snap.version;
    assert!(c.snapshot(v).tasks.is_empty());
    sch.start();
    b.result().unwrap();
    // The value is stored before the task is marked done: wait for the latter.
    sch.wait_timeout(LONG).unwrap();
    let later = c.snapshot(v);
    assert!(later.version > v);
    assert_eq!(later.tasks.len(), 2);
    assert!(
        later
            .tasks
            .iter()
            .all(|t| t.state == State::Done && t.finished.is_some())
    );
    assert!(later.is_finished());
    // A new task alone is what changed next.
    let d = compute.submit((), |()| 5);
    let newer = c.snapshot(later.version);
    assert_eq!(
        newer.tasks.iter().map(|t| t.id).collect::<Vec<_>>(),
        [d.id().index()]
    );
}

#[test]
fn a_viewer_sees_task_events_and_leaving_mid_stream_costs_the_run_nothing() {
    let sch = Scheduler::new();
    let q = sch.queue("q", 1).unwrap();
    let server = local(&sch);
    let c = Client::new(&server);
    let (status, mut stream) = c.events();
    assert_eq!(status, 200);
    let a = q.task().label("first").submit((), |()| 1).unwrap();
    sch.start();
    a.result().unwrap();
    let mut seen = Vec::new();
    while let Some((name, data)) = next_event(&mut stream) {
        let e: api::Event = serde_json::from_str(&data).unwrap();
        seen.push((name, e.kind.clone(), e.seq));
        if e.kind == api::EventKind::Finished {
            assert_eq!(e.task, Some(a.id().index()));
            assert_eq!(e.label.as_deref(), Some("first"));
            break;
        }
    }
    let kinds: Vec<_> = seen
        .iter()
        .map(|(n, k, _)| (n.as_str(), k.clone()))
        .collect();
    assert_eq!(
        kinds,
        [
            ("task", api::EventKind::Submitted),
            ("run", api::EventKind::Resumed),
            ("task", api::EventKind::Started { slot: 0 }),
            ("task", api::EventKind::Finished),
        ]
    );
    assert!(
        seen.windows(2).all(|w| w[1].2 == w[0].2 + 1),
        "numbered without gaps"
    );
    // The viewer goes away mid-stream; the run carries on, and the server answers.
    drop(stream);
    let many: Vec<_> = (0..500).map(|i| q.submit((), move |()| i)).collect();
    sch.wait_timeout(LONG).unwrap();
    assert_eq!(*many[499].result().unwrap(), 499);
    assert_eq!(c.snapshot(0).task_count, 501);
    // A new viewer is welcome.
    let (status, _again) = c.events();
    assert_eq!(status, 200);
}

#[test]
fn a_viewer_that_stops_reading_never_holds_the_run_back() {
    let sch = Scheduler::new();
    let q = sch.queue("q", 2).unwrap();
    let server = serve(
        &sch,
        "127.0.0.1:0",
        Options {
            event_buffer: 8,
            ..Options::default()
        },
    )
    .unwrap();
    let c = Client::new(&server);
    let (status, mut stalled) = c.events();
    assert_eq!(status, 200);
    // Thousands of events while the viewer reads nothing.
    let tasks: Vec<_> = (0..5000u64).map(|i| q.submit((), move |()| i)).collect();
    sch.start();
    sch.wait_timeout(LONG).unwrap();
    assert_eq!(*tasks[4999].result().unwrap(), 4999);
    assert_eq!(c.snapshot(0).task_count, 5000);
    // What the viewer gets is in order, without gaps, up to where it may have been dropped.
    let mut last = 0;
    server.shutdown().unwrap();
    while let Some((name, data)) = next_event(&mut stalled) {
        if name == "dropped" {
            assert!(data.contains("dropped"));
            break;
        }
        let e: api::Event = serde_json::from_str(&data).unwrap();
        assert_eq!(e.seq, last + 1);
        last = e.seq;
    }
}

#[test]
fn a_burst_of_requests_leaves_the_run_unaffected_and_the_server_answering() {
    let sch = Scheduler::new();
    let acquire = sch.queue("acquire", 1).unwrap();
    let compute = sch.queue("compute", 2).unwrap();
    let (open, gate) = bounded::<()>(0);
    let frames: Vec<_> = (0..50u64)
        .map(|i| {
            let gate = gate.clone();
            acquire.submit((), move |()| gate.recv().map(|()| i).unwrap_or(u64::MAX))
        })
        .collect();
    let sums: Vec<_> = frames
        .iter()
        .map(|f| compute.submit(f, |f: &u64| f * 2))
        .collect();
    sch.start();
    let server = local(&sch);
    let c = Client::new(&server);
    let intruder = Client::with_auth(&server, Some("Bearer nope"));
    for i in 0..1000 {
        // The acquisitions advance during the burst.
        if i % 20 == 0 {
            open.send(()).unwrap();
        }
        let r = if i % 10 == 9 {
            intruder.post("/api/pause", "")
        } else if i % 10 == 8 {
            c.post("/api/cancel", "not json")
        } else {
            c.get("/api/snapshot")
        };
        assert!(
            matches!(r.status, 200 | 400 | 401),
            "{}: {}",
            r.status,
            r.body
        );
    }
    assert!(sch.is_running(), "no unauthorized pause got through");
    for (i, s) in sums.iter().enumerate() {
        assert_eq!(*s.result().unwrap(), 2 * i as u64);
    }
    sch.wait_timeout(LONG).unwrap();
    let snap = c.snapshot(0);
    assert!(snap.is_finished());
    assert!(snap.tasks.iter().all(|t| t.state == State::Done));
}

#[test]
fn too_many_viewers_get_503() {
    let sch = Scheduler::new();
    let server = serve(
        &sch,
        "127.0.0.1:0",
        Options {
            max_viewers: 1,
            ..Options::default()
        },
    )
    .unwrap();
    let c = Client::new(&server);
    let (first, _kept) = c.events();
    assert_eq!(first, 200);
    let (second, mut body) = c.events();
    assert_eq!(second, 503);
    let mut text = String::new();
    body.read_to_string(&mut text).unwrap();
    assert!(text.contains("too many viewers"), "{text}");
}

#[test]
fn serving_beyond_loopback_needs_an_explicit_choice() {
    let sch = Scheduler::new();
    let refused = serve(&sch, "0.0.0.0:0", Options::default());
    assert!(
        matches!(refused, Err(ServeError::NotLoopback(_))),
        "{refused:?}"
    );
    let public = serve(
        &sch,
        "0.0.0.0:0",
        Options {
            public: true,
            ..Options::default()
        },
    )
    .unwrap();
    assert!(!public.local_addr().ip().is_loopback());
    public.shutdown().unwrap();
}

#[test]
fn a_remote_rebuilds_the_scheduler_snapshot_errors_included() {
    let sch = Scheduler::new();
    let q = sch.queue("q", 1).unwrap();
    let bad = q
        .task()
        .label("probe")
        .submit_result((), |()| Err::<u32, _>("no signal"))
        .unwrap();
    let after = q.submit(&bad, |x: &u32| x + 1);
    let s = q.submit_iter((), |()| 0..2u32);
    let _past = q.submit(s.item(5), |x: &u32| *x);
    sch.start();
    sch.wait_timeout(LONG).unwrap();
    let server = local(&sch);
    let remote = smq_serve::Remote::connect(&server.url(), server.token());
    assert!(remote.wait_update(1, LONG));
    let (theirs, ours) = (remote.snapshot(), sch.snapshot());
    assert_eq!(theirs.tasks.len(), ours.tasks.len());
    for (a, b) in theirs.tasks.iter().zip(&ours.tasks) {
        assert_eq!(
            (a.id, &a.label, a.state, a.queue, a.slot),
            (b.id, &b.label, b.state, b.queue, b.slot)
        );
        assert_eq!(a.error, b.error, "{}", b.label);
        assert_eq!(theirs.inputs(a), ours.inputs(b));
    }
    assert_eq!(theirs.queues, ours.queues);
    assert!(matches!(
        after.result(),
        Err(TaskError::DependencyFailed { .. })
    ));
    // Control through the client: the run has finished, so pausing is refused, clearly.
    match remote.pause() {
        Err(smq_serve::ClientError::Refused {
            status: 409,
            message,
        }) => {
            assert!(message.contains("finished"), "{message}");
        }
        other => panic!("{other:?}"),
    }
    let reply = remote.cancel(&[bad.id()]).unwrap();
    assert_eq!(reply.tasks[0].outcome, api::CancelOutcome::Finished);
}
