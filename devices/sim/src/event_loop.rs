//! The loop that runs one simulated instrument: polls its links, hands
//! command lines to the model, applies latency and faults, writes replies.
//!
//! # Holding replies
//!
//! [`SimInstrument::hold_after`](crate::SimInstrument::hold_after) and
//! [`release`](crate::SimInstrument::release), called on the handle's thread, only set
//! `Shared::hold` under its mutex. This loop is the only reader:
//!
//! 1. Each endpoint answers in order, one reply at a time (`Endpoint::pending`). When
//!    its pending reply is due, the loop locks `hold` and, in one step, either takes one
//!    from the count (or finds no hold) and moves the reply to the output, or finds the
//!    count at zero and leaves the reply pending, marked `held`. The decision and the
//!    decrement happen under one lock, so the count lets exactly that many replies
//!    through, whichever endpoints they are on.
//! 2. While a reply is held, the endpoint handles no further line, so later commands
//!    stay queued in order behind it; `poll` does not wait for a held reply's due time
//!    (it is in the past), only for the tick, so a release is seen within one tick.
//! 3. After each pass the loop publishes the number of held replies in
//!    `Progress::held` and notifies `changed` if it moved: `wait_held` returns only once
//!    a reply is really withheld, i.e. its client is waiting for it.
//! 4. After a release, the next pass finds no hold and writes the held replies as
//!    usual; `replies_sent` counts them then, not before.

use std::net::TcpListener;
use std::os::fd::AsRawFd;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use crate::endpoint::{Endpoint, Link, Pending, Pty};
use crate::fault::{Fault, GARBAGE};
use crate::server::{Model, Shared, lock};

/// How often the thread wakes up to check for shutdown.
const TICK: Duration = Duration::from_millis(10);

pub(crate) struct Server<M: Model> {
    shared: Arc<Shared<M>>,
    listener: TcpListener,
    endpoints: Vec<Endpoint>,
}

impl<M: Model> Server<M> {
    pub(crate) fn new(shared: Arc<Shared<M>>, listener: TcpListener, pty: Pty) -> Self {
        Self {
            shared,
            listener,
            endpoints: vec![Endpoint::new(Link::Pty(pty))],
        }
    }

    pub(crate) fn run(mut self) {
        while !self.shared.stop.load(Ordering::SeqCst) {
            self.poll();
            self.accept();
            let now = Instant::now();
            for i in 0..self.endpoints.len() {
                self.serve(i, now);
            }
            self.reap();
            let busy: usize = self.endpoints.iter().map(Endpoint::busy).sum();
            let held = self.endpoints.iter().filter(|e| e.held).count();
            let mut p = lock(&self.shared.progress);
            if p.busy != busy || p.held != held {
                p.busy = busy;
                p.held = held;
                self.shared.changed.notify_all();
            }
        }
    }

    /// Wait until some input arrives, a reply is due or a tick passes.
    fn poll(&mut self) {
        let now = Instant::now();
        let mut wait = TICK;
        let mut fds = Vec::with_capacity(self.endpoints.len() + 1);
        fds.push(libc::pollfd {
            fd: self.listener.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        });
        for ep in &self.endpoints {
            if let Some(p) = ep.pending.as_ref().filter(|_| !ep.held) {
                wait = wait.min(p.due.saturating_duration_since(now));
            }
            let mut events = libc::POLLIN;
            if !ep.out.is_empty() {
                events |= libc::POLLOUT;
            }
            fds.push(libc::pollfd {
                fd: ep.link.fd(),
                events,
                revents: 0,
            });
        }
        let ms = i32::try_from(wait.as_millis()).unwrap_or(i32::MAX);
        // SAFETY: fds is a valid array of pollfd of the given length.
        let n = unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, ms) };
        if n < 0 {
            return;
        }
        let mut hup_only = false;
        for (ep, fd) in self.endpoints.iter_mut().zip(&fds[1..]) {
            if fd.revents & libc::POLLIN != 0 {
                ep.read_input();
            } else if fd.revents & (libc::POLLHUP | libc::POLLERR) != 0 {
                if ep.is_pty() {
                    // No driver has the terminal open (a pseudo-terminal
                    // master reports a hang-up then); nothing to read.
                    hup_only = true;
                } else {
                    ep.closed = true;
                }
            }
        }
        if hup_only && n > 0 && fds.iter().all(|f| f.revents & libc::POLLIN == 0) {
            // Avoid spinning on a permanent hang-up condition.
            std::thread::sleep(TICK.min(wait));
        }
    }

    fn accept(&mut self) {
        while let Ok((stream, _)) = self.listener.accept() {
            if stream.set_nonblocking(true).is_ok() {
                let _ = stream.set_nodelay(true);
                self.endpoints.push(Endpoint::new(Link::Tcp(stream)));
            }
        }
    }

    /// Handle queued lines, send due replies.
    fn serve(&mut self, i: usize, now: Instant) {
        let general = *lock(&self.shared.latency);
        let ep = &mut self.endpoints[i];
        loop {
            if let Some(p) = &ep.pending {
                if p.due > now {
                    break;
                }
                ep.held = !may_write(&self.shared);
                if ep.held {
                    break;
                }
                if let Some(p) = ep.pending.take() {
                    ep.out.extend_from_slice(&p.bytes);
                    ep.replies_in_out += 1;
                    lock(&self.shared.progress).started += 1;
                    ep.close_after_out |= p.then_close;
                }
            }
            if ep.close_after_out {
                break;
            }
            let Some(line) = ep.lines.pop_front() else {
                break;
            };
            let (reply, term) = {
                let mut model = lock(&self.shared.model);
                (model.handle(&line), model.reply_terminator())
            };
            let Some(reply) = reply else { continue };
            let latency = {
                let upper = line.to_ascii_uppercase();
                lock(&self.shared.command_latency)
                    .iter()
                    .find(|(k, _)| upper.starts_with(k.as_str()))
                    .map_or(general, |(_, d)| *d)
            };
            let fault = lock(&self.shared.faults).pop_front();
            let mut pending = Pending {
                due: now + latency,
                bytes: reply,
                then_close: false,
            };
            match fault {
                None => pending.bytes.extend_from_slice(term),
                Some(Fault::NoReply) => continue,
                Some(Fault::Garbage) => {
                    pending.bytes = GARBAGE.to_vec();
                    pending.bytes.extend_from_slice(term);
                }
                Some(Fault::Slow(d)) => {
                    pending.due += d;
                    pending.bytes.extend_from_slice(term);
                }
                Some(Fault::Disconnect) => {
                    let half = (pending.bytes.len() / 2).max(1);
                    pending.bytes.truncate(half);
                    pending.then_close = true;
                }
            }
            ep.pending = Some(pending);
        }
        ep.write_output();
        if ep.close_after_out && ep.out.is_empty() {
            ep.closed = true;
        }
        if ep.out.is_empty() && ep.replies_in_out > 0 {
            lock(&self.shared.progress).replies += std::mem::take(&mut ep.replies_in_out);
            self.shared.changed.notify_all();
        }
    }

    /// Drop closed endpoints; a closed pseudo-terminal is replaced by a new
    /// one (its new path published before the old one goes away).
    fn reap(&mut self) {
        let mut i = 0;
        while i < self.endpoints.len() {
            if !self.endpoints[i].closed {
                i += 1;
                continue;
            }
            if self.endpoints[i].is_pty() {
                match Pty::new() {
                    Ok(pty) => {
                        *lock(&self.shared.pty_path) = pty.path.clone();
                        self.endpoints[i] = Endpoint::new(Link::Pty(pty));
                    }
                    Err(_) => {
                        self.endpoints.remove(i);
                        continue;
                    }
                }
                i += 1;
            } else {
                self.endpoints.remove(i);
            }
        }
    }
}

/// Whether a due reply may be written now, taking it from the hold's count if one is set
/// (step 1 of the module's protocol).
fn may_write<M>(shared: &Shared<M>) -> bool {
    let mut hold = lock(&shared.hold);
    match hold.as_mut() {
        None => true,
        Some(0) => false,
        Some(left) => {
            *left -= 1;
            true
        }
    }
}
