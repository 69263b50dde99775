//! The scheduler's clock.

use std::time::{Duration, Instant};

use super::node::NEVER;

/// The scheduler's clock: nanoseconds since the scheduler was created. Callers read it before
/// taking the scheduler's lock and pass the time in, so that the lock is held for less.
#[derive(Clone)]
pub(crate) struct Clock {
    raw: Raw,
    /// The raw reading at creation.
    start: u64,
    /// The same moment as a standard `Instant`, for users.
    pub(super) epoch: Instant,
}

impl Clock {
    pub(crate) fn new() -> Self {
        let raw = Raw::new();
        let start = raw.read();
        Clock {
            raw,
            start,
            epoch: Instant::now(),
        }
    }

    /// Nanoseconds since creation.
    #[inline]
    pub(crate) fn stamp(&self) -> u64 {
        self.raw.nanos_between(self.start).min(NEVER - 1)
    }

    /// The time since creation.
    pub(crate) fn now(&self) -> Duration {
        Duration::from_nanos(self.stamp())
    }
}

/// A stamp as a time since the clock's creation, or `None` for `NEVER`.
pub(super) fn stamp_to_duration(ns: u64) -> Option<Duration> {
    (ns != NEVER).then(|| Duration::from_nanos(ns))
}

/// The counter behind the clock: `quanta`'s, which reads the time-stamp counter where it is
/// reliable (see the crate docs).
#[cfg(not(miri))]
#[derive(Clone)]
struct Raw(quanta::Clock);

#[cfg(not(miri))]
impl Raw {
    fn new() -> Self {
        Raw(quanta::Clock::new())
    }

    #[inline]
    fn read(&self) -> u64 {
        self.0.raw()
    }

    /// Nanoseconds from the reading `start` to now.
    #[inline]
    fn nanos_between(&self, start: u64) -> u64 {
        self.0.delta_as_nanos(start, self.0.raw())
    }
}

/// Under Miri, the standard clock: `quanta` probes the processor with `cpuid`, inline
/// assembly that Miri cannot interpret.
#[cfg(miri)]
#[derive(Clone)]
struct Raw(Instant);

#[cfg(miri)]
impl Raw {
    fn new() -> Self {
        Raw(Instant::now())
    }

    fn read(&self) -> u64 {
        0
    }

    fn nanos_between(&self, _start: u64) -> u64 {
        u64::try_from(self.0.elapsed().as_nanos()).unwrap_or(u64::MAX)
    }
}
