//! One link of a simulated instrument (its pseudo-terminal, a TCP client, a VXI-11 link):
//! the responder that turns command lines into replies, with latency, faults and holds,
//! and the session that runs it over a byte stream.
//!
//! # Holding replies
//!
//! [`SimInstrument::hold_after`](crate::SimInstrument::hold_after) and
//! [`release`](crate::SimInstrument::release), called on the handle's thread, set
//! `Shared::hold` under its mutex and wake `Shared::released`. The responders are the only
//! readers:
//!
//! 1. Each link answers its lines in order, one reply at a time. When a reply is due (its
//!    latency has passed), the responder locks `hold` and, in one step, either takes one
//!    from the count (or finds no hold) and sends the reply, or finds the count at zero and
//!    waits. The decision and the decrement happen under one lock, so the count lets
//!    exactly that many replies through, whichever links they are on.
//! 2. A waiting responder first registers for a wake-up on `released`, then checks `hold`
//!    again, so that a release between its check and its wait is not missed. While it
//!    waits, it counts in `Progress::held` (and notifies `changed`): `wait_held` returns
//!    only once a reply is really withheld, i.e. its client is waiting for it. The lines
//!    received after the withheld one stay queued behind it, in order.
//! 3. After a release, the waiting responders find no hold and send their replies as
//!    usual; `replies_sent` counts them then, not before.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender, unbounded_channel};
use tokio::time::Instant;

use crate::fault::{Fault, GARBAGE};
use crate::shared::{Model, Shared, lock};

/// Longest partial line kept (a client sending no terminator is not allowed to fill
/// memory).
const MAX_LINE: usize = 1 << 20;

/// What a responder hands to its link.
#[derive(Debug)]
pub(crate) enum Out {
    /// Reply bytes. `end`: they end a reply message; `counted`: writing them completes
    /// a reply for `Progress::replies`.
    Data {
        bytes: Vec<u8>,
        end: bool,
        counted: bool,
    },
    /// Close the link (after the data sent before).
    Close,
}

/// Split `buf` into the complete lines it holds (trimmed, empty ones dropped), keeping the
/// rest.
pub(crate) fn take_lines(buf: &mut Vec<u8>) -> Vec<String> {
    let mut lines = Vec::new();
    while let Some(i) = buf.iter().position(|&b| b == b'\n') {
        let raw: Vec<u8> = buf.drain(..=i).collect();
        let line = String::from_utf8_lossy(&raw).trim().to_owned();
        if !line.is_empty() {
            lines.push(line);
        }
    }
    if buf.len() > MAX_LINE {
        buf.clear();
    }
    lines
}

/// The lines of one link received and not yet answered, counted in `Progress::busy`. A
/// line is done when it turns out to need no reply, or when its reply has been delivered
/// (written to the stream, or read by the VXI-11 client). Whatever is left when the link
/// goes is subtracted then.
pub(crate) struct Work<M> {
    shared: Arc<Shared<M>>,
    outstanding: AtomicUsize,
}

impl<M> Work<M> {
    pub(crate) fn new(shared: Arc<Shared<M>>) -> Arc<Self> {
        Arc::new(Self {
            shared,
            outstanding: AtomicUsize::new(0),
        })
    }

    /// Queue `lines` for the responder, counting them.
    pub(crate) fn submit(&self, tx: &UnboundedSender<String>, lines: Vec<String>) {
        if lines.is_empty() {
            return;
        }
        self.shared.note_received(&lines);
        let n = lines.len();
        self.outstanding.fetch_add(n, Ordering::SeqCst);
        let mut p = lock(&self.shared.progress);
        p.busy += n;
        self.shared.changed.notify_all();
        drop(p);
        for line in lines {
            let _ = tx.send(line);
        }
    }

    /// One line is done.
    pub(crate) fn done(&self) {
        let prev = self
            .outstanding
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1));
        if prev.is_ok() {
            let mut p = lock(&self.shared.progress);
            p.busy = p.busy.saturating_sub(1);
            self.shared.changed.notify_all();
        }
    }

    /// A reply was delivered: one line done, one reply counted.
    pub(crate) fn delivered(&self) {
        {
            let mut p = lock(&self.shared.progress);
            p.replies += 1;
        }
        self.done();
    }
}

impl<M> Drop for Work<M> {
    fn drop(&mut self) {
        let n = *self.outstanding.get_mut();
        let mut p = lock(&self.shared.progress);
        p.busy = p.busy.saturating_sub(n);
        self.shared.changed.notify_all();
    }
}

/// Wait until a due reply may be sent (steps 1 and 2 of the module's protocol).
async fn gate<M>(shared: &Shared<M>) {
    // Counts this responder in `Progress::held` while it waits, until it passes or is
    // dropped (its link closed).
    let mut waiting = HeldGuard(shared, false);
    loop {
        let released = shared.released.notified();
        tokio::pin!(released);
        released.as_mut().enable();
        let pass = {
            let mut hold = lock(&shared.hold);
            match hold.as_mut() {
                None => true,
                Some(0) => false,
                Some(left) => {
                    *left -= 1;
                    true
                }
            }
        };
        if pass {
            return;
        }
        if !waiting.1 {
            waiting.1 = true;
            lock(&shared.progress).held += 1;
            shared.changed.notify_all();
        }
        released.await;
    }
}

/// Decrements `Progress::held` if a responder is dropped while waiting at the gate.
struct HeldGuard<'a, M>(&'a Shared<M>, bool);

/// Answer the lines of one link, in order, until the link goes away or a fault closes it.
pub(crate) async fn respond<M: Model>(
    work: Arc<Work<M>>,
    mut lines: UnboundedReceiver<String>,
    out: UnboundedSender<Out>,
) {
    while let Some(line) = lines.recv().await {
        if out.is_closed() {
            // The link is gone or was cleared: the lines still queued are dropped.
            return;
        }
        match answer(&work.shared, &line, &out).await {
            Answer::Sent => {}
            Answer::None => work.done(),
            Answer::Close => return,
        }
    }
}

/// What became of a line.
enum Answer {
    /// A reply was handed to the link (which marks the line done once it delivers it).
    Sent,
    /// No reply: the line is done.
    None,
    /// Part of a reply was handed to the link, which is to close after it.
    Close,
}

/// Answer one line.
async fn answer<M: Model>(shared: &Shared<M>, line: &str, out: &UnboundedSender<Out>) -> Answer {
    let now = Instant::now();
    let (reply, term) = {
        let mut model = lock(&shared.model);
        (model.handle(line), model.reply_terminator())
    };
    let Some(mut bytes) = reply else {
        return Answer::None;
    };
    let mut due = now + shared.latency_of(line);
    let fault = lock(&shared.faults).pop_front();
    let mut end = true;
    let mut close = false;
    match fault {
        None => bytes.extend_from_slice(term),
        Some(Fault::NoReply) => return Answer::None,
        Some(Fault::Garbage) => {
            bytes = GARBAGE.to_vec();
            bytes.extend_from_slice(term);
        }
        Some(Fault::Slow(d)) => {
            due += d;
            bytes.extend_from_slice(term);
        }
        Some(Fault::Disconnect) => {
            bytes.truncate((bytes.len() / 2).max(1));
            end = false;
            close = true;
        }
        Some(Fault::Hang) => {
            bytes.truncate((bytes.len() / 2).max(1));
            end = false;
        }
    }
    tokio::time::sleep_until(due).await;
    gate(shared).await;
    lock(&shared.progress).started += 1;
    let _ = out.send(Out::Data {
        bytes,
        end,
        counted: true,
    });
    if close {
        let _ = out.send(Out::Close);
        return Answer::Close;
    }
    Answer::Sent
}

/// Why a stream session ended.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Ended {
    /// The client closed the link, or it failed.
    Client,
    /// A fault closed the link.
    Fault,
}

/// Serve one byte-stream link (a TCP client, the pseudo-terminal) until the client goes
/// or a fault closes it. The caller drops the session to close it otherwise (unplug, stop).
pub(crate) async fn serve_stream<M: Model, S: AsyncRead + AsyncWrite>(
    shared: Arc<Shared<M>>,
    io: S,
) -> Ended {
    let (mut rd, mut wr) = tokio::io::split(io);
    let (line_tx, line_rx) = unbounded_channel();
    let (out_tx, mut out_rx) = unbounded_channel();
    let work = Work::new(shared);
    let responder = respond(Arc::clone(&work), line_rx, out_tx);
    let reader = async {
        let mut buf = Vec::new();
        let mut chunk = vec![0u8; 4096];
        loop {
            match rd.read(&mut chunk).await {
                Ok(0) => return,
                Ok(n) => {
                    buf.extend_from_slice(&chunk[..n]);
                    work.submit(&line_tx, take_lines(&mut buf));
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) if is_no_client(&e) => {
                    // A pseudo-terminal whose every client closed it: nothing to read
                    // until one opens it again.
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
                Err(_) => return,
            }
        }
    };
    let writer = async {
        while let Some(o) = out_rx.recv().await {
            match o {
                Out::Data { bytes, counted, .. } => {
                    if wr.write_all(&bytes).await.is_err() || wr.flush().await.is_err() {
                        return Ended::Client;
                    }
                    if counted {
                        work.delivered();
                    }
                }
                Out::Close => return Ended::Fault,
            }
        }
        Ended::Client
    };
    tokio::pin!(responder, reader, writer);
    let mut responder_done = false;
    loop {
        tokio::select! {
            () = &mut responder, if !responder_done => responder_done = true,
            () = &mut reader => return Ended::Client,
            ended = &mut writer => return ended,
        }
    }
}

/// `EIO`, which reading a pseudo-terminal's master side returns while no client has it
/// open.
fn is_no_client(e: &std::io::Error) -> bool {
    e.raw_os_error() == Some(5)
}

impl<M> Drop for HeldGuard<'_, M> {
    fn drop(&mut self) {
        if self.1 {
            let mut p = lock(&self.0.progress);
            p.held = p.held.saturating_sub(1);
            self.0.changed.notify_all();
        }
    }
}
