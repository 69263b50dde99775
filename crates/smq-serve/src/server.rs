//! Starting and stopping a server: its thread, its runtime, and the event relay.
//!
//! # Threads
//!
//! 1. `serve` binds the socket, draws the token, writes the token file and subscribes to the
//!    scheduler's events, on the caller's thread; any failure is returned before anything
//!    runs.
//! 2. The relay thread (`smq-serve-events`) takes each scheduler event from the
//!    subscription (an unbounded channel, so the scheduler never waits on it), numbers and
//!    serializes it once, and sends it to a bounded broadcast channel. Sending never blocks:
//!    a viewer whose receiver is full has its oldest events overwritten, notices on its next
//!    read, and is dropped.
//! 3. The server thread (`smq-serve`) runs a single-threaded tokio runtime with the axum
//!    server. A request takes the scheduler's lock only as long as the scheduler's own
//!    calls do (a snapshot refresh copies only what changed).
//! 4. `Server::shutdown` (or dropping the `Server`) signals both threads, which end the event
//!    streams and close the server, joins them, and removes the token file.

use std::net::{SocketAddr, ToSocketAddrs};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::AtomicUsize;
use std::thread::JoinHandle;

use crossbeam_channel::{Receiver, Sender, select};
use smqsched::Scheduler;
use tokio::sync::{broadcast, watch};

use crate::ServeError;
use crate::api;
use crate::auth::{new_token, write_token};
use crate::routes::{AppState, Cache, Wire, router};

/// How a server is set up; [`Options::default`] serves on loopback only, writes no token
/// file, keeps 4,096 events per viewer and allows 64 viewers of the event stream.
#[derive(Clone, Debug)]
pub struct Options {
    /// The folder to write the token file (`serve.token`, mode 0600) to: usually the run's
    /// folder. `None` writes no file; the token is then only in [`Server::token`].
    pub token_dir: Option<PathBuf>,
    /// Allow an address other than loopback (a warning is printed to standard error). Anyone
    /// who can reach the port and has the token can then pause and cancel the run.
    pub public: bool,
    /// How many events a viewer may fall behind before it is dropped.
    pub event_buffer: usize,
    /// How many viewers of `GET /api/events` at once; more get 503.
    pub max_viewers: usize,
    /// The run whose datasets `GET /api/datasets` serves as they grow (usually the run the
    /// scheduler saves into); `None` serves none (404).
    pub run: Option<smq_store::Run>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            token_dir: None,
            public: false,
            event_buffer: 4096,
            max_viewers: 64,
            run: None,
        }
    }
}

/// A running server; see [`serve`]. Dropping it stops the server.
#[derive(Debug)]
pub struct Server {
    addr: SocketAddr,
    token: String,
    token_file: Option<PathBuf>,
    stop_relay: Option<Sender<()>>,
    stop_server: Option<watch::Sender<bool>>,
    relay: Option<JoinHandle<()>>,
    server: Option<JoinHandle<Result<(), String>>>,
}

/// Serve `scheduler`'s run at `addr` until the returned [`Server`] is shut down or dropped.
///
/// Port 0 picks a free port: [`Server::url`] says which. The server runs on its own threads;
/// the run never waits for it or for its viewers. The server keeps a handle on the
/// scheduler, so the scheduler lives at least as long as the server.
///
/// # Errors
///
/// [`ServeError::NotLoopback`] for an address other than loopback without
/// [`Options::public`]; [`ServeError::Resolve`], [`ServeError::Bind`],
/// [`ServeError::TokenFile`], [`ServeError::Random`] or [`ServeError::Thread`] if the server
/// cannot start. Nothing is left running on error.
///
/// # Examples
///
/// ```
/// let sch = smqsched::Scheduler::new();
/// let q = sch.queue("q", 1).unwrap();
/// let p = q.submit((), |()| 42);
/// let server = smq_serve::serve(&sch, "127.0.0.1:0", smq_serve::Options::default())?;
/// println!("watch at {} with token {}", server.url(), server.token());
/// sch.start();
/// assert_eq!(*p.result().unwrap(), 42);
/// server.shutdown()?;
/// # Ok::<(), smq_serve::ServeError>(())
/// ```
pub fn serve(
    scheduler: &Scheduler,
    addr: impl ToSocketAddrs,
    options: Options,
) -> Result<Server, ServeError> {
    let asked = addr
        .to_socket_addrs()
        .map_err(|e| ServeError::Resolve(e.to_string()))?
        .next()
        .ok_or_else(|| ServeError::Resolve("the address resolves to nothing".into()))?;
    let public = !asked.ip().is_loopback();
    if public && !options.public {
        return Err(ServeError::NotLoopback(asked));
    }
    let listener = std::net::TcpListener::bind(asked).map_err(|e| ServeError::Bind {
        addr: asked,
        message: e.to_string(),
    })?;
    let bound = |e: std::io::Error| ServeError::Bind {
        addr: asked,
        message: e.to_string(),
    };
    listener.set_nonblocking(true).map_err(bound)?;
    let addr = listener.local_addr().map_err(bound)?;
    let token = new_token()?;
    let token_file = match &options.token_dir {
        Some(dir) => Some(write_token(dir, &token)?),
        None => None,
    };
    let mut server = Server {
        addr,
        token: token.clone(),
        token_file,
        stop_relay: None,
        stop_server: None,
        relay: None,
        server: None,
    };
    // From here on, an error drops `server`, which stops what started and removes the file.
    let (events_tx, _) = broadcast::channel::<Wire>(options.event_buffer.max(1));
    let (stop_relay, stop_relay_rx) = crossbeam_channel::bounded(1);
    let subscription = scheduler.subscribe();
    let relay_tx = events_tx.clone();
    server.stop_relay = Some(stop_relay);
    server.relay = Some(
        std::thread::Builder::new()
            .name("smq-serve-events".into())
            .spawn(move || relay(&subscription, &stop_relay_rx, &relay_tx))
            .map_err(|e| ServeError::Thread(e.to_string()))?,
    );
    let (stop_server, shutdown) = watch::channel(false);
    server.stop_server = Some(stop_server);
    let state = Arc::new(AppState {
        sch: scheduler.clone(),
        token,
        cache: parking_lot::Mutex::new(Cache::default()),
        events: events_tx,
        viewers: AtomicUsize::new(0),
        max_viewers: options.max_viewers,
        shutdown: shutdown.clone(),
        run: options.run.clone(),
    });
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| ServeError::Thread(e.to_string()))?;
    server.server = Some(
        std::thread::Builder::new()
            .name("smq-serve".into())
            .spawn(move || run(&runtime, listener, state, shutdown))
            .map_err(|e| ServeError::Thread(e.to_string()))?,
    );
    if public {
        eprintln!(
            "warning: serving the run on {addr}, not only on this machine: anyone who can \
             reach it and has the token can pause and cancel the run"
        );
    }
    Ok(server)
}

/// The server thread: serve until `shutdown` turns true.
fn run(
    runtime: &tokio::runtime::Runtime,
    listener: std::net::TcpListener,
    state: Arc<AppState>,
    mut shutdown: watch::Receiver<bool>,
) -> Result<(), String> {
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::from_std(listener).map_err(|e| e.to_string())?;
        axum::serve(listener, router(state))
            .with_graceful_shutdown(async move {
                let _ = shutdown.wait_for(|stop| *stop).await;
            })
            .await
            .map_err(|e| e.to_string())
    })
}

/// The relay thread: number, serialize and broadcast each scheduler event until told to
/// stop.
fn relay(events: &Receiver<smqsched::Event>, stop: &Receiver<()>, out: &broadcast::Sender<Wire>) {
    let mut seq = 0u64;
    loop {
        select! {
            recv(events) -> e => {
                let Ok(e) = e else { return };
                seq += 1;
                let event = api::Event::from_scheduler(seq, &e);
                let name = if event.task.is_some() { "task" } else { "run" };
                let Ok(json) = serde_json::to_string(&event) else { continue };
                // No viewer is not an error: the run goes on unwatched.
                let _ = out.send(Arc::new((name, json)));
            }
            recv(stop) -> _ => return,
        }
    }
}

impl Server {
    /// The address the server listens on (with the port picked, if 0 was asked).
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// The server's base URL, such as `http://127.0.0.1:40125`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The token every request must carry as `Authorization: Bearer TOKEN`.
    pub fn token(&self) -> &str {
        &self.token
    }

    /// Where the token was written, if [`Options::token_dir`] was given.
    pub fn token_file(&self) -> Option<&Path> {
        self.token_file.as_deref()
    }

    /// Stop serving: end the event streams, close the server, remove the token file. The
    /// run is not touched.
    ///
    /// # Errors
    ///
    /// [`ServeError::Stopped`] if the server had stopped on an error of its own.
    pub fn shutdown(mut self) -> Result<(), ServeError> {
        self.stop()
    }

    fn stop(&mut self) -> Result<(), ServeError> {
        if let Some(s) = self.stop_server.take() {
            let _ = s.send(true);
        }
        if let Some(s) = self.stop_relay.take() {
            let _ = s.send(());
        }
        if let Some(t) = self.relay.take() {
            let _ = t.join();
        }
        let served = match self.server.take().map(JoinHandle::join) {
            None | Some(Ok(Ok(()))) => Ok(()),
            Some(Ok(Err(message))) => Err(ServeError::Stopped(message)),
            Some(Err(_)) => Err(ServeError::Stopped("the server thread panicked".into())),
        };
        if let Some(path) = self.token_file.take() {
            let _ = std::fs::remove_file(path);
        }
        served
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.stop();
    }
}
