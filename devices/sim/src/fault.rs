//! Faults that a simulated instrument can be told to commit.

use std::time::Duration;

/// A one-shot fault, applied to the next reply the instrument sends.
///
/// Faults are queued with
/// [`SimInstrument::inject`](crate::SimInstrument::inject) and consumed in
/// order, one per reply.
///
/// # Examples
///
/// ```
/// use smq_sim::{DmmModel, Fault, SimInstrument};
/// use std::time::Duration;
/// let sim = SimInstrument::start(DmmModel::standalone(1)).unwrap();
/// let mut dmm = smq_instrument::Connection::tcp("dmm", sim.tcp_addr())
///     .unwrap()
///     .with_timeout(Duration::from_millis(100));
/// sim.inject(Fault::NoReply);
/// assert!(dmm.query("READ?").unwrap_err().is_timeout());
/// sim.inject(Fault::Disconnect);
/// assert!(dmm.query("READ?").unwrap_err().is_disconnected());
/// sim.inject(Fault::Hang);
/// assert!(dmm.query("*IDN?").unwrap_err().is_timeout()); // after reconnecting
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Fault {
    /// Send the first half of the reply (e.g. part of a binary block), then
    /// close the link: the TCP client is disconnected, the pseudo-terminal
    /// is torn down and a new one is created in its place (its path is then
    /// given by [`SimInstrument::pty_path`](crate::SimInstrument::pty_path)).
    Disconnect,
    /// Replace the reply by garbage bytes (followed by the terminator).
    Garbage,
    /// Swallow the reply: the driver times out.
    NoReply,
    /// Delay the reply by this much on top of the normal latency.
    Slow(Duration),
    /// Send the first half of the reply, then nothing more of it: the instrument hangs in
    /// the middle of a transfer, and the client times out with part of a reply. The link
    /// stays up; the following commands are answered as usual. A device clear (VXI-11)
    /// or discarding the input (serial, socket) gets rid of the half.
    Hang,
}

/// Bytes sent instead of a reply for [`Fault::Garbage`]. They contain no
/// line terminator and no XON/XOFF characters.
pub(crate) const GARBAGE: &[u8] = b"\xff\xfe\x00\x07~?garbage\x1b[0m\x80";
