//! A record of what the core was told and what it started, in order, for the soak test to
//! replay against the model of the order rule. In test builds only, and off unless a test
//! turns it on.

use super::Core;

/// One thing the core was told, or one start it decided.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Traced {
    /// A task was recorded (it may have failed at once, with a failed input).
    Submit(u64),
    /// A task started.
    Start(u64),
    /// A producer produced an item.
    Item(u64, usize),
    /// A running task ended: with success or not.
    End(u64, bool),
    /// A waiting task was cancelled (its dependents with it).
    Cancel(u64),
    /// The scheduler was started or resumed, or stopped.
    Running(bool),
    /// The scheduler shut down.
    Shutdown,
}

impl Core {
    /// Record `op`, if the trace is on.
    #[inline]
    pub(super) fn traced(&mut self, op: Traced) {
        if let Some(trace) = &mut self.trace {
            trace.push(op);
        }
    }
}
