//! Two write-once slots for the per-task hot path: [`TakeOnce`] holds a task's body until a
//! worker takes it, and [`SetOnce`] holds its result once written. They cost one atomic
//! operation each, where a mutex or a `std::sync::OnceLock` costs a lock or an out-of-line
//! initialisation call per task, and a `SetOnce` needs no mutex or condition variable of its
//! own to let readers block: they park on its address in `parking_lot_core`'s global table.
//!
//! This is the crate's only `unsafe` code. Its atomics, cell and parking come from
//! `crate::loom`, so that the model checker `loom` explores the protocols' interleavings
//! (the `loom_tests` below). The protocols:
//!
//! `TakeOnce<F>`: built full.
//! 1. `take` swaps `taken` to `true`. Exactly one caller sees `false`, and only it moves the
//!    value out; every other caller gets `None`.
//! 2. `drop` (exclusive access) drops the value if nobody took it.
//!
//! Invariant: the value is read at most once, by the thread that won step 1, so it is never
//! shared between threads: `F: Send` suffices for `Sync`.
//!
//! `SetOnce<T>`: built empty. `state` holds the bits `WRITING`, `READY`, `PARKED` and
//! `WAKERS`; `WRITING` and `READY`, once set, are never cleared.
//! 1. `set` sets `WRITING` with `fetch_or`. Only the caller that found it clear writes the
//!    value; it then swaps `state` to `READY` with `Release` ordering, and if the old state had
//!    `PARKED`, unparks every thread parked on the slot's address; if it had `WAKERS`, it locks
//!    the slot's shard of the waker table (module `wakers`), takes the wakers registered under
//!    the slot's address, unlocks, and wakes them. A loser gets its value back.
//! 2. `get` loads `state` with `Acquire`; only on `READY` does it hand out `&T`, and the
//!    `Acquire` load pairs with the `Release` swap of step 1, so the write is visible.
//! 3. `wait` loops: `get`; if empty, set `PARKED` (compare-exchange), then park on the address
//!    with a validation, run under the parking table's bucket lock, that `READY` is still clear
//!    and `PARKED` still set.
//! 4. `drop` (exclusive access) drops the value if `READY` is set, and forgets any waker
//!    still registered under the slot's address if `WAKERS` is set.
//! 5. `poll` (an async reader) does `get`; if empty, it locks the slot's shard of the waker
//!    table, sets `WAKERS` with `fetch_or` (`AcqRel`), and, still under the shard lock, either
//!    finds `READY` in the old state (and returns the value) or registers its waker under the
//!    slot's address and its registration id (replacing the waker it registered before), and
//!    returns pending. `forget` (a reader dropped before the value came) removes its
//!    registration under the same lock.
//!
//! Invariants: after `READY` the value is never written again, so shared references handed
//! out by `get` stay valid for the life of the slot, and `T: Send + Sync` suffices for `Sync`.
//! A reader never sleeps through the write: the writer's unpark takes the same bucket lock as
//! the reader's validation, so either the validation sees `READY` (the reader does not
//! sleep), or the reader is queued before the writer unparks, and the writer, whose swap came
//! after the reader set `PARKED`, sees `PARKED` and wakes it. Async readers likewise: either
//! the reader's `fetch_or` (step 5) comes after the writer's swap and sees `READY`, or it
//! comes before, so the writer's swap sees `WAKERS`, and the writer's taking of the wakers,
//! under the shard lock the reader holds from its `fetch_or` until its waker is registered,
//! finds the waker. The blocking path pays nothing for this: `set` tests one more bit of the
//! state it already reads, and the table is touched only when an async reader registered.

use std::mem::{ManuallyDrop, MaybeUninit};
use std::task::{Context, Poll};
use std::time::Instant;

use crate::loom::Parked;
use crate::loom::cell::UnsafeCell;
use crate::loom::parking;
use crate::loom::sync::atomic::{AtomicBool, AtomicU8, Ordering};

/// A value that one caller, once, may move out.
pub(crate) struct TakeOnce<F> {
    taken: AtomicBool,
    value: UnsafeCell<ManuallyDrop<F>>,
}

// SAFETY: the value is moved out by at most one thread (step 1) and never referenced in
// place, so sharing the slot only ever sends the value to one other thread.
unsafe impl<F: Send> Sync for TakeOnce<F> {}

impl<F> TakeOnce<F> {
    pub(crate) fn new(value: F) -> Self {
        TakeOnce {
            taken: AtomicBool::new(false),
            value: UnsafeCell::new(ManuallyDrop::new(value)),
        }
    }

    /// The value, to the first caller only.
    pub(crate) fn take(&self) -> Option<F> {
        if self.taken.swap(true, Ordering::Acquire) {
            return None;
        }
        // SAFETY: step 1: this caller is the only one that saw `taken == false`, so nobody
        // else reads the value, now or later, and `drop` will not drop it again.
        Some(
            self.value
                .with_mut(|v| unsafe { ManuallyDrop::take(&mut *v) }),
        )
    }
}

impl<F> Drop for TakeOnce<F> {
    fn drop(&mut self) {
        // `&mut self` excludes every other access, so the weakest load sees the last store.
        if !self.taken.load(Ordering::Relaxed) {
            // SAFETY: nobody took the value (step 2), and `&mut self` excludes everyone else.
            self.value
                .with_mut(|v| unsafe { ManuallyDrop::drop(&mut *v) });
        }
    }
}

const WRITING: u8 = 1;
const READY: u8 = 2;
const PARKED: u8 = 4;
const WAKERS: u8 = 8;

/// A value written at most once and then read by any number of threads, which may block
/// until it is written.
pub(crate) struct SetOnce<T> {
    state: AtomicU8,
    value: UnsafeCell<MaybeUninit<T>>,
}

// SAFETY: the value is written once by one thread (step 1) before any reference to it exists,
// then only shared (step 2): this is what `T: Send + Sync` allows.
unsafe impl<T: Send + Sync> Sync for SetOnce<T> {}

impl<T> SetOnce<T> {
    pub(crate) fn new() -> Self {
        SetOnce {
            state: AtomicU8::new(0),
            value: UnsafeCell::new(MaybeUninit::uninit()),
        }
    }

    /// Store `value` if nothing was stored before, and wake the readers waiting for it;
    /// otherwise hand it back.
    #[inline(always)]
    pub(crate) fn set(&self, value: T) -> Result<(), T> {
        if self.state.fetch_or(WRITING, Ordering::Acquire) & (WRITING | READY) != 0 {
            return Err(value);
        }
        // SAFETY: step 1: only the caller that set `WRITING` writes, and no reader looks at
        // the value before `READY`.
        self.value.with_mut(|v| unsafe { (*v).write(value) });
        let old = self.state.swap(READY, Ordering::Release);
        if old & (PARKED | WAKERS) != 0 {
            self.wake_readers(old);
        }
        Ok(())
    }

    /// Step 1, once the value is ready: wake the threads and the tasks waiting for it.
    #[cold]
    fn wake_readers(&self, old: u8) {
        if old & PARKED != 0 {
            // SAFETY: the key is this slot's address, on which only `wait` parks.
            unsafe { parking::unpark_all(self.key()) };
        }
        if old & WAKERS != 0 {
            let woken = crate::wakers::lock(self.key()).take(self.key());
            for w in woken {
                w.wake();
            }
        }
    }

    /// Step 5: the value if it is stored; otherwise register the task's waker under
    /// registration `id` (see [`wakers::new_id`](crate::wakers::new_id)) to be woken when it
    /// is, and return pending. Call [`forget`](Self::forget) with the same `id` if the reader
    /// gives up before the value comes.
    pub(crate) fn poll(&self, cx: &mut Context<'_>, id: u64) -> Poll<&T> {
        if let Some(v) = self.get() {
            return Poll::Ready(v);
        }
        let mut shard = crate::wakers::lock(self.key());
        if self.state.fetch_or(WAKERS, Ordering::AcqRel) & READY != 0 {
            drop(shard);
            return match self.get() {
                Some(v) => Poll::Ready(v),
                None => unreachable!("READY is never cleared"),
            };
        }
        shard.register(self.key(), id, cx.waker());
        Poll::Pending
    }

    /// Step 5: remove registration `id` made by [`poll`](Self::poll), if it is still there.
    pub(crate) fn forget(&self, id: u64) {
        if self.state.load(Ordering::Relaxed) & WAKERS != 0 {
            crate::wakers::lock(self.key()).forget(id);
        }
    }

    /// The value, once it is stored.
    pub(crate) fn get(&self) -> Option<&T> {
        if self.state.load(Ordering::Acquire) & READY != 0 {
            // SAFETY: step 2: `READY` is stored after the write, with `Release`, and the value
            // is never written again.
            Some(self.value.with(|v| unsafe { (*v).assume_init_ref() }))
        } else {
            None
        }
    }

    /// Block until the value is stored, or until `deadline` if there is one; `None` if the
    /// deadline passed first.
    pub(crate) fn wait(&self, deadline: Option<Instant>) -> Option<&T> {
        loop {
            if let Some(v) = self.get() {
                return Some(v);
            }
            // Step 3: announce the reader, then park while nothing is stored.
            let s = self.state.load(Ordering::Relaxed);
            if s & PARKED == 0
                && self
                    .state
                    .compare_exchange_weak(s, s | PARKED, Ordering::Relaxed, Ordering::Relaxed)
                    .is_err()
            {
                continue;
            }
            let validate = || {
                let s = self.state.load(Ordering::Relaxed);
                s & READY == 0 && s & PARKED != 0
            };
            // SAFETY: the key is this slot's address, which outlives the wait (the caller
            // borrows the slot); the validation neither panics nor calls into the parking lot.
            let parked = unsafe { parking::park(self.key(), validate, deadline) };
            if parked == Parked::TimedOut {
                return self.get();
            }
        }
    }

    fn key(&self) -> usize {
        std::ptr::from_ref(self) as usize
    }
}

impl<T> Drop for SetOnce<T> {
    fn drop(&mut self) {
        // `&mut self` excludes every other access, so the weakest load sees the last store.
        if self.state.load(Ordering::Relaxed) & READY != 0 {
            // SAFETY: step 4: the value was written, and `&mut self` excludes every reader.
            self.value.with_mut(|v| unsafe { (*v).assume_init_drop() });
        } else if self.state.load(Ordering::Relaxed) & WAKERS != 0 {
            drop(crate::wakers::lock(self.key()).take(self.key()));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::AtomicUsize;

    /// Counts its drops, to check that every value is dropped exactly once.
    struct Counted(Arc<AtomicUsize>);

    impl Drop for Counted {
        fn drop(&mut self) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    #[test]
    fn take_once_hands_the_value_to_one_of_many_threads_and_drops_it_once() {
        let drops = Arc::new(AtomicUsize::new(0));
        let slot = Arc::new(TakeOnce::new(Counted(Arc::clone(&drops))));
        let barrier = Arc::new(std::sync::Barrier::new(4));
        let takers: Vec<_> = (0..4)
            .map(|_| {
                let (slot, barrier) = (Arc::clone(&slot), Arc::clone(&barrier));
                std::thread::spawn(move || {
                    barrier.wait();
                    slot.take().is_some()
                })
            })
            .collect();
        let won = takers
            .into_iter()
            .filter_map(|t| t.join().ok())
            .filter(|&won| won)
            .count();
        assert_eq!(won, 1);
        assert_eq!(drops.load(Ordering::SeqCst), 1);
        drop(slot);
        assert_eq!(drops.load(Ordering::SeqCst), 1);
    }

    #[test]
    fn take_once_drops_an_untaken_value_with_the_slot() {
        let drops = Arc::new(AtomicUsize::new(0));
        drop(TakeOnce::new(Counted(Arc::clone(&drops))));
        assert_eq!(drops.load(Ordering::SeqCst), 1);
    }

    #[test]
    fn set_once_keeps_the_first_value_and_returns_later_ones() {
        let drops = Arc::new(AtomicUsize::new(0));
        let slot = SetOnce::new();
        assert!(slot.get().is_none());
        assert!(slot.set(Counted(Arc::clone(&drops))).is_ok());
        let again = slot.set(Counted(Arc::clone(&drops)));
        assert!(again.is_err());
        drop(again);
        assert_eq!(drops.load(Ordering::SeqCst), 1);
        assert!(slot.get().is_some());
        drop(slot);
        assert_eq!(drops.load(Ordering::SeqCst), 2);
        let empty: SetOnce<Counted> = SetOnce::new();
        drop(empty);
        assert_eq!(drops.load(Ordering::SeqCst), 2);
    }

    #[test]
    fn set_once_accepts_exactly_one_of_racing_writers() {
        let slot = Arc::new(SetOnce::new());
        let barrier = Arc::new(std::sync::Barrier::new(4));
        let writers: Vec<_> = (0..4u64)
            .map(|i| {
                let (slot, barrier) = (Arc::clone(&slot), Arc::clone(&barrier));
                std::thread::spawn(move || {
                    barrier.wait();
                    slot.set(i).is_ok().then_some(i)
                })
            })
            .collect();
        let won: Vec<u64> = writers
            .into_iter()
            .filter_map(|w| w.join().ok().flatten())
            .collect();
        assert_eq!(won.len(), 1);
        assert_eq!(slot.get(), Some(&won[0]));
    }

    #[test]
    fn set_once_wakes_every_blocked_reader_and_times_out_without_a_value() {
        let slot = Arc::new(SetOnce::new());
        assert!(slot.wait(Some(Instant::now())).is_none());
        let (ready_tx, ready_rx) = crossbeam_channel::unbounded::<()>();
        let readers: Vec<_> = (0..3)
            .map(|_| {
                let (slot, ready_tx) = (Arc::clone(&slot), ready_tx.clone());
                std::thread::spawn(move || {
                    let _ = ready_tx.send(());
                    // A lost wake-up shows as `None` after a minute, not as a hang.
                    slot.wait(Some(Instant::now() + std::time::Duration::from_secs(60)))
                        .copied()
                })
            })
            .collect();
        for _ in 0..3 {
            let _ = ready_rx.recv();
        }
        assert!(slot.set(7u64).is_ok());
        for r in readers {
            assert_eq!(r.join().ok().flatten(), Some(7));
        }
    }

    #[test]
    fn set_once_publishes_the_value_to_readers_on_other_threads() {
        let slot = Arc::new(SetOnce::new());
        let (tx, rx) = crossbeam_channel::bounded::<()>(0);
        let reader = {
            let slot = Arc::clone(&slot);
            std::thread::spawn(move || {
                let _ = rx.recv();
                slot.get().map(|v: &Vec<u64>| v.iter().sum::<u64>())
            })
        };
        assert!(slot.set((0..100).collect()).is_ok());
        let _ = tx.send(());
        assert_eq!(reader.join().ok().flatten(), Some(4950));
    }

    /// Counts its wake-ups.
    struct CountWakes(AtomicUsize);

    impl std::task::Wake for CountWakes {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    #[test]
    fn set_once_wakes_a_registered_waker_once_and_forgets_a_withdrawn_one() {
        let slot: SetOnce<u32> = SetOnce::new();
        let count = Arc::new(CountWakes(AtomicUsize::new(0)));
        let waker = std::task::Waker::from(Arc::clone(&count));
        let mut cx = Context::from_waker(&waker);
        let (first, second) = (crate::wakers::new_id(), crate::wakers::new_id());
        assert!(slot.poll(&mut cx, first).is_pending());
        assert!(slot.poll(&mut cx, first).is_pending());
        assert_eq!(
            crate::wakers::registered(slot.key()),
            1,
            "a re-poll replaces"
        );
        slot.forget(first);
        assert_eq!(crate::wakers::registered(slot.key()), 0);
        assert!(slot.poll(&mut cx, second).is_pending());
        assert!(slot.set(5).is_ok());
        assert_eq!(count.0.load(Ordering::SeqCst), 1);
        assert_eq!(crate::wakers::registered(slot.key()), 0);
        assert_eq!(slot.poll(&mut cx, second), Poll::Ready(&5));
    }

    /// Unparks a thread.
    struct Unpark(std::thread::Thread);

    impl std::task::Wake for Unpark {
        fn wake(self: Arc<Self>) {
            self.0.unpark();
        }
    }

    #[test]
    fn set_once_never_loses_the_wake_up_of_an_async_reader_racing_the_writer() {
        let waker = std::task::Waker::from(Arc::new(Unpark(std::thread::current())));
        let mut cx = Context::from_waker(&waker);
        for round in 0..2000u64 {
            let slot = Arc::new(SetOnce::new());
            let writer = {
                let slot = Arc::clone(&slot);
                std::thread::spawn(move || slot.set(round).is_ok())
            };
            let deadline = Instant::now() + std::time::Duration::from_secs(60);
            let id = crate::wakers::new_id();
            let got = loop {
                if let Poll::Ready(v) = slot.poll(&mut cx, id) {
                    break Some(*v);
                }
                // A lost wake-up shows as `None` after a minute, not as a hang.
                let now = Instant::now();
                if now >= deadline {
                    break None;
                }
                std::thread::park_timeout(deadline - now);
            };
            assert_eq!(got, Some(round));
            assert_eq!(writer.join().ok(), Some(true));
        }
    }
}

/// The protocols above under `loom`, which runs each test body once for every interleaving
/// of its threads' atomic operations, lock acquisitions and parks that the memory model
/// allows, and fails on a data race on the value, a value dropped twice or never, or a
/// thread left parked for good (a lost wake-up).
#[cfg(all(test, loom))]
mod loom_tests {
    use super::*;
    use loom::sync::Arc;
    use loom::sync::atomic::AtomicUsize;
    use loom::thread;

    /// Counts its drops.
    struct Counted(Arc<AtomicUsize>);

    impl Drop for Counted {
        fn drop(&mut self) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    #[test]
    fn loom_take_once_gives_the_body_to_one_taker_and_drops_it_once() {
        loom::model(|| {
            let drops = Arc::new(AtomicUsize::new(0));
            let slot = Arc::new(TakeOnce::new(Counted(Arc::clone(&drops))));
            let other = {
                let slot = Arc::clone(&slot);
                thread::spawn(move || slot.take().is_some())
            };
            let mine = slot.take().is_some();
            let theirs = other.join().expect("the taker does not panic");
            assert!(mine ^ theirs, "exactly one taker wins");
            assert_eq!(drops.load(Ordering::SeqCst), 1);
            drop(slot);
            assert_eq!(drops.load(Ordering::SeqCst), 1);
        });
    }

    #[test]
    fn loom_take_once_drops_an_untaken_body_with_the_slot() {
        loom::model(|| {
            let drops = Arc::new(AtomicUsize::new(0));
            let slot = Arc::new(TakeOnce::new(Counted(Arc::clone(&drops))));
            let other = {
                let slot = Arc::clone(&slot);
                thread::spawn(move || drop(slot))
            };
            drop(slot);
            other.join().expect("the dropper does not panic");
            assert_eq!(drops.load(Ordering::SeqCst), 1);
        });
    }

    /// A reader that finds the value reads what was written (`loom` checks that the read
    /// happens after the write), and the value is dropped once, with the slot.
    #[test]
    fn loom_set_once_publishes_the_value_to_a_racing_reader() {
        loom::model(|| {
            let drops = Arc::new(AtomicUsize::new(0));
            let slot = Arc::new(SetOnce::new());
            let reader = {
                let slot = Arc::clone(&slot);
                thread::spawn(move || slot.get().map(|c: &(u64, Counted)| c.0))
            };
            assert!(slot.set((7, Counted(Arc::clone(&drops)))).is_ok());
            let seen = reader.join().expect("the reader does not panic");
            assert!(seen.is_none() || seen == Some(7));
            assert_eq!(slot.get().map(|c| c.0), Some(7));
            drop(slot);
            assert_eq!(drops.load(Ordering::SeqCst), 1);
        });
    }

    #[test]
    fn loom_set_once_keeps_one_of_two_racing_writers() {
        loom::model(|| {
            let slot = Arc::new(SetOnce::new());
            let other = {
                let slot = Arc::clone(&slot);
                thread::spawn(move || slot.set(1u64).is_ok())
            };
            let mine = slot.set(2u64);
            let theirs = other.join().expect("the writer does not panic");
            assert!(mine.is_ok() ^ theirs, "exactly one writer wins");
            let kept = if theirs { 1 } else { 2 };
            assert_eq!(slot.get(), Some(&kept));
            if let Err(back) = mine {
                assert_eq!(back, 2, "the loser gets its value back");
            }
        });
    }

    /// The reader may find the value at once, park before the write, or announce itself
    /// while the writer writes: in every order it returns the value, so no wake-up is lost.
    #[test]
    fn loom_set_once_wakes_a_parked_reader() {
        loom::model(|| {
            let slot = Arc::new(SetOnce::new());
            let reader = {
                let slot = Arc::clone(&slot);
                thread::spawn(move || slot.wait(None).copied())
            };
            assert!(slot.set(5u64).is_ok());
            assert_eq!(reader.join().expect("the reader does not panic"), Some(5));
        });
    }

    /// Three threads: bounded to three preemptions, which takes about a minute.
    #[test]
    fn loom_set_once_wakes_every_parked_reader() {
        crate::loom::model(Some(3), || {
            let slot = Arc::new(SetOnce::new());
            let readers: Vec<_> = (0..2)
                .map(|_| {
                    let slot = Arc::clone(&slot);
                    thread::spawn(move || slot.wait(None).copied())
                })
                .collect();
            assert!(slot.set(9u64).is_ok());
            for r in readers {
                assert_eq!(r.join().expect("the reader does not panic"), Some(9));
            }
        });
    }
}
