//! The synchronization under the crate's concurrency protocols, from one place, so that the
//! model checker [`loom`](https://docs.rs/loom) can stand in for it.
//!
//! In every ordinary build these are the real things: the standard atomics, an
//! `UnsafeCell` with `loom`'s closure-based access (`with`, `with_mut`, which compile to
//! plain pointer accesses), `parking_lot`'s mutex and condition variable, and
//! `parking_lot_core`'s parking table. In the crate's own tests built with `--cfg loom`,
//! they are `loom`'s models, and the tests whose names contain `loom` explore every
//! interleaving of the protocols written on them (`once`, and the waiters of
//! `Scheduler::wait` and `wait_drained`):
//!
//! ```sh
//! RUSTFLAGS="--cfg loom" cargo test -p smqsched --lib loom
//! ```

#[cfg(not(all(test, loom)))]
mod real;
#[cfg(not(all(test, loom)))]
pub(crate) use real::*;

#[cfg(all(test, loom))]
mod mocked;
#[cfg(all(test, loom))]
pub(crate) use mocked::*;

/// What a park returned: as `parking_lot_core::ParkResult`, without the token.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) enum Parked {
    /// Unparked by `unpark_all` on the same key.
    Unparked,
    /// The validation said not to sleep.
    Invalid,
    /// The deadline passed.
    TimedOut,
}
