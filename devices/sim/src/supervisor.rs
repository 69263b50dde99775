//! The task that owns a simulated instrument's links: it listens, accepts, keeps the
//! pseudo-terminal in place, and plugs the whole instrument in and out.
//!
//! # Protocol
//!
//! The handle drives the supervisor through a `watch` channel of [`Power`], and waits on
//! `Shared::progress` (a mutex and a condition variable) for the outcome:
//!
//! 1. Plugged in (`Power::On`): the listeners are bound (on the first start, the ones the
//!    handle bound; afterwards, new ones on the same ports), a pseudo-terminal is created
//!    and its path published (`Shared::pty_path`, then the stable symbolic link, replaced
//!    atomically by a rename). Then `Progress::plugged` is set: from then on connections are
//!    accepted, and the handle's `plug_in` returns.
//! 2. While plugged, every accepted connection runs as a session of a `JoinSet` and counts in
//!    `Progress::links`; the pseudo-terminal runs as one more session. When a fault closes
//!    the pseudo-terminal, a new one is created and published before the old one is
//!    dropped, so its client, seeing the link gone, finds the new path already there.
//! 3. On `Power::Off` or `Power::Stop`: the sessions are aborted and awaited (every socket
//!    closed), the listeners and the pseudo-terminal dropped, the stable path removed. Then
//!    `Progress::plugged` is cleared: the handle's `unplug` returns once nothing is left.
//! 4. Unplugged, the supervisor waits for `On` (back to 1) or `Stop`. On `Stop` (or the
//!    handle gone) it sets `Progress::stopped` and ends.

use std::future::pending;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::mpsc;

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinSet;
use tokio_serial::{SerialPort, SerialStream};

use crate::link::serve_stream;
use crate::shared::{Model, Shared, lock};
use crate::vxi11::{serve_core, serve_portmapper};

/// What the handle asks of the supervisor.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Power {
    /// Links up.
    On,
    /// Unplugged: links down, connections refused.
    Off,
    /// The handle is dropped: everything closes for good.
    Stop,
}

/// The addresses of a simulated instrument's listeners.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Ports {
    pub(crate) tcp: SocketAddr,
    pub(crate) vxi11: Option<Vxi11Ports>,
}

/// The addresses of the VXI-11 listeners.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Vxi11Ports {
    pub(crate) portmapper: SocketAddr,
    pub(crate) core: SocketAddr,
}

/// The listeners of the first start, bound by the handle (so that it knows the ports at
/// once).
pub(crate) struct Listeners {
    tcp: std::net::TcpListener,
    vxi11: Option<(std::net::TcpListener, std::net::TcpListener)>,
}

fn bind_loopback() -> io::Result<std::net::TcpListener> {
    let l = std::net::TcpListener::bind("127.0.0.1:0")?;
    l.set_nonblocking(true)?;
    Ok(l)
}

impl Listeners {
    /// Bind the raw socket and, if `vxi11`, the port mapper and the core channel, each on
    /// an ephemeral port of 127.0.0.1.
    pub(crate) fn bind(vxi11: bool) -> io::Result<Self> {
        Ok(Self {
            tcp: bind_loopback()?,
            vxi11: if vxi11 {
                Some((bind_loopback()?, bind_loopback()?))
            } else {
                None
            },
        })
    }

    pub(crate) fn ports(&self) -> io::Result<Ports> {
        Ok(Ports {
            tcp: self.tcp.local_addr()?,
            vxi11: match &self.vxi11 {
                Some((m, c)) => Some(Vxi11Ports {
                    portmapper: m.local_addr()?,
                    core: c.local_addr()?,
                }),
                None => None,
            },
        })
    }
}

/// The listeners, on the runtime.
struct Bound {
    tcp: TcpListener,
    portmapper: Option<TcpListener>,
    core: Option<TcpListener>,
}

impl Bound {
    fn from_std(l: Listeners) -> io::Result<Self> {
        let (portmapper, core) = match l.vxi11 {
            Some((m, c)) => (
                Some(TcpListener::from_std(m)?),
                Some(TcpListener::from_std(c)?),
            ),
            None => (None, None),
        };
        Ok(Self {
            tcp: TcpListener::from_std(l.tcp)?,
            portmapper,
            core,
        })
    }

    async fn rebind(ports: Ports) -> io::Result<Self> {
        let (portmapper, core) = match ports.vxi11 {
            Some(v) => (
                Some(TcpListener::bind(v.portmapper).await?),
                Some(TcpListener::bind(v.core).await?),
            ),
            None => (None, None),
        };
        Ok(Self {
            tcp: TcpListener::bind(ports.tcp).await?,
            portmapper,
            core,
        })
    }
}

/// Accept on `l`, or never if there is no listener.
async fn accept(l: Option<&TcpListener>) -> io::Result<TcpStream> {
    match l {
        Some(l) => l.accept().await.map(|(s, _)| s),
        None => pending().await,
    }
}

/// A pseudo-terminal: the master side, served, and the slave side, kept open so that the
/// terminal lives while no client has it open.
struct Pty {
    master: Option<SerialStream>,
    _slave: SerialStream,
}

impl Pty {
    /// Create a pseudo-terminal and publish its path (step 1 of the protocol).
    fn new<M>(shared: &Shared<M>) -> io::Result<Self> {
        let (master, slave) = SerialStream::pair().map_err(io::Error::from)?;
        let path = slave
            .name()
            .ok_or_else(|| io::Error::other("pseudo-terminal has no name"))?;
        *lock(&shared.pty_path) = path.clone();
        let tmp = shared.serial_link.with_extension("new");
        let _ = std::fs::remove_file(&tmp);
        std::os::unix::fs::symlink(&path, &tmp)?;
        std::fs::rename(&tmp, &shared.serial_link)?;
        Ok(Self {
            master: Some(master),
            _slave: slave,
        })
    }
}

/// Count a session in `Progress::links` while it runs (or until it is aborted).
struct LinkCount<M: Model>(Arc<Shared<M>>);

impl<M: Model> LinkCount<M> {
    fn new(shared: &Arc<Shared<M>>) -> Self {
        shared.update(|p| p.links += 1);
        Self(Arc::clone(shared))
    }
}

impl<M: Model> Drop for LinkCount<M> {
    fn drop(&mut self) {
        self.0.update(|p| p.links = p.links.saturating_sub(1));
    }
}

/// Run the instrument's links as the handle asks (the module's protocol). `first` are the
/// listeners the handle bound; `ready` gets the outcome of the first plug-in.
pub(crate) async fn supervise<M: Model>(
    shared: Arc<Shared<M>>,
    first: Listeners,
    mut power: watch::Receiver<Power>,
    ready: mpsc::Sender<io::Result<()>>,
) {
    let ports = first.ports();
    let mut first = Some(first);
    let mut ready = Some(ready);
    loop {
        let up = match (&ports, first.take()) {
            (Ok(_), Some(l)) => Bound::from_std(l),
            (Ok(p), None) => Bound::rebind(*p).await,
            (Err(e), _) => Err(io::Error::new(e.kind(), e.to_string())),
        }
        .and_then(|bound| Ok((bound, Pty::new(&shared)?)));
        match up {
            Ok((bound, pty)) => {
                shared.update(|p| {
                    p.plugged = true;
                    p.plug_failed = false;
                });
                if let Some(r) = ready.take() {
                    let _ = r.send(Ok(()));
                }
                let core_port = ports
                    .as_ref()
                    .ok()
                    .and_then(|p| p.vxi11)
                    .map(|v| v.core.port());
                let asked = run_plugged(&shared, bound, pty, core_port, &mut power).await;
                let _ = std::fs::remove_file(&shared.serial_link);
                lock(&shared.pty_path).clear();
                shared.update(|p| p.plugged = false);
                if asked == Power::Stop {
                    break;
                }
            }
            Err(e) => {
                if let Some(r) = ready.take() {
                    let _ = r.send(Err(e));
                    break;
                }
                shared.update(|p| p.plug_failed = true);
            }
        }
        // Unplugged (step 4): wait to be plugged in again, or stopped.
        if !wait_for_on(&mut power).await {
            break;
        }
    }
    shared.update(|p| p.stopped = true);
}

/// Wait until the handle asks for `On` (`true`) or `Stop` (`false`).
async fn wait_for_on(power: &mut watch::Receiver<Power>) -> bool {
    loop {
        match *power.borrow_and_update() {
            Power::On => return true,
            Power::Stop => return false,
            Power::Off => {}
        }
        if power.changed().await.is_err() {
            return false;
        }
    }
}

/// Serve the links until the handle asks for something else than `On` (steps 2 and 3);
/// returns what it asked.
async fn run_plugged<M: Model>(
    shared: &Arc<Shared<M>>,
    bound: Bound,
    mut pty: Pty,
    core_port: Option<u16>,
    power: &mut watch::Receiver<Power>,
) -> Power {
    let mut sessions = JoinSet::new();
    // The session hands the master side back when it ends, so that it is closed only
    // after the new terminal is published.
    let serve_pty = |pty: &mut Pty| {
        let shared = Arc::clone(shared);
        let master = pty.master.take();
        Box::pin(async move {
            match master {
                Some(mut m) => {
                    serve_stream(shared, &mut m).await;
                    m
                }
                None => pending().await,
            }
        })
    };
    let mut pty_session = serve_pty(&mut pty);
    loop {
        tokio::select! {
            s = accept(Some(&bound.tcp)) => if let Ok(s) = s {
                let _ = s.set_nodelay(true);
                let count = LinkCount::new(shared);
                let shared = Arc::clone(shared);
                sessions.spawn(async move {
                    let _count = count;
                    serve_stream(shared, s).await;
                });
            },
            s = accept(bound.portmapper.as_ref()) => if let Ok(s) = s {
                let count = LinkCount::new(shared);
                let core = core_port.unwrap_or(0);
                sessions.spawn(async move {
                    let _count = count;
                    serve_portmapper(s, core).await;
                });
            },
            s = accept(bound.core.as_ref()) => if let Ok(s) = s {
                let count = LinkCount::new(shared);
                let shared = Arc::clone(shared);
                sessions.spawn(async move {
                    let _count = count;
                    serve_core(shared, s).await;
                });
            },
            old_master = &mut pty_session => {
                // A fault closed the terminal: publish a new one, then drop the old.
                match Pty::new(shared) {
                    Ok(mut new) => {
                        pty_session = serve_pty(&mut new);
                        pty = new;
                    }
                    Err(_) => pty_session = serve_pty(&mut pty),
                }
                drop(old_master);
            },
            Some(_) = sessions.join_next() => {},
            changed = power.changed() => {
                let asked = if changed.is_err() { Power::Stop } else { *power.borrow_and_update() };
                if asked != Power::On {
                    sessions.shutdown().await;
                    drop(pty_session);
                    drop(pty);
                    return asked;
                }
            },
        }
    }
}
