//! Two write-once slots for the per-task hot path: [`TakeOnce`] holds a task's body until a
//! worker takes it, and [`SetOnce`] holds its result once written. They cost one atomic
//! operation each, where a mutex or a `std::sync::OnceLock` costs a lock or an out-of-line
//! initialisation call per task.
//!
//! This is the crate's only `unsafe` code. The protocols:
//!
//! `TakeOnce<F>`: built full.
//! 1. `take` swaps `taken` to `true`. Exactly one caller sees `false`, and only it moves the
//!    value out; every other caller gets `None`.
//! 2. `drop` (exclusive access) drops the value if nobody took it.
//!
//! Invariant: the value is read at most once, by the thread that won step 1, so it is never
//! shared between threads: `F: Send` suffices for `Sync`.
//!
//! `SetOnce<T>`: built empty; `state` goes `EMPTY -> WRITING -> READY`, never back.
//! 1. `set` moves `state` from `EMPTY` to `WRITING` by compare-exchange. Only the winner
//!    writes the value, then stores `READY` with `Release`. A loser gets its value back.
//! 2. `get` loads `state` with `Acquire`; only on `READY` does it hand out `&T`, and the
//!    `Acquire` load pairs with the `Release` store of step 1, so the write is visible.
//! 3. `drop` (exclusive access) drops the value if `state` is `READY`.
//!
//! Invariant: after `READY` the value is never written again, so shared references handed
//! out by `get` stay valid for the life of the slot; `T: Send + Sync` suffices for `Sync`.

use std::cell::UnsafeCell;
use std::mem::{ManuallyDrop, MaybeUninit};
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};

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
        Some(unsafe { ManuallyDrop::take(&mut *self.value.get()) })
    }
}

impl<F> Drop for TakeOnce<F> {
    fn drop(&mut self) {
        if !*self.taken.get_mut() {
            // SAFETY: nobody took the value (step 2), and `&mut self` excludes everyone else.
            unsafe { ManuallyDrop::drop(self.value.get_mut()) }
        }
    }
}

const EMPTY: u8 = 0;
const WRITING: u8 = 1;
const READY: u8 = 2;

/// A value written at most once and then read by any number of threads.
pub(crate) struct SetOnce<T> {
    state: AtomicU8,
    value: UnsafeCell<MaybeUninit<T>>,
}

// SAFETY: the value is written once by one thread (step 1) before any reference to it exists,
// then only shared (step 2): this is what `T: Send + Sync` allows.
unsafe impl<T: Send + Sync> Sync for SetOnce<T> {}

impl<T> SetOnce<T> {
    pub(crate) const fn new() -> Self {
        SetOnce {
            state: AtomicU8::new(EMPTY),
            value: UnsafeCell::new(MaybeUninit::uninit()),
        }
    }

    /// Store `value` if nothing was stored before; otherwise hand it back.
    pub(crate) fn set(&self, value: T) -> Result<(), T> {
        if self
            .state
            .compare_exchange(EMPTY, WRITING, Ordering::Acquire, Ordering::Relaxed)
            .is_err()
        {
            return Err(value);
        }
        // SAFETY: step 1: only the winner of the exchange writes, and no reader looks at the
        // value before `READY`.
        unsafe { (*self.value.get()).write(value) };
        self.state.store(READY, Ordering::Release);
        Ok(())
    }

    /// The value, once it is stored.
    pub(crate) fn get(&self) -> Option<&T> {
        if self.state.load(Ordering::Acquire) == READY {
            // SAFETY: step 2: `READY` is stored after the write, with `Release`, and the value
            // is never written again.
            Some(unsafe { (*self.value.get()).assume_init_ref() })
        } else {
            None
        }
    }
}

impl<T> Drop for SetOnce<T> {
    fn drop(&mut self) {
        if *self.state.get_mut() == READY {
            // SAFETY: step 3: the value was written, and `&mut self` excludes every reader.
            unsafe { self.value.get_mut().assume_init_drop() }
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
}
