//! `loom`'s models of the synchronization: see the parent module. Time is not modelled: a
//! deadline never passes.

/// Run `f` under `loom` in every interleaving in which at most `preemptions` threads are
/// switched away from while they could go on (unless `LOOM_MAX_PREEMPTIONS` says otherwise;
/// `None`: no bound). Bugs of concurrency in practice need two or three such switches; each
/// more multiplies the interleavings, and so the time.
pub(crate) fn model(preemptions: Option<usize>, f: impl Fn() + Sync + Send + 'static) {
    let mut builder = loom::model::Builder::new();
    if builder.preemption_bound.is_none() {
        builder.preemption_bound = preemptions;
    }
    builder.check(f);
}

pub(crate) mod sync {
    use std::ops::{Deref, DerefMut};
    use std::time::Instant;

    pub(crate) mod atomic {
        pub(crate) use loom::sync::atomic::{AtomicBool, AtomicU8, Ordering};
    }

    /// `loom`'s mutex, with `parking_lot`'s interface.
    pub(crate) struct Mutex<T>(loom::sync::Mutex<T>);

    /// A guard of [`Mutex`]; it is empty only inside [`Condvar::wait`].
    pub(crate) struct MutexGuard<'a, T>(Option<loom::sync::MutexGuard<'a, T>>);

    impl<T> Mutex<T> {
        pub(crate) fn new(value: T) -> Self {
            Mutex(loom::sync::Mutex::new(value))
        }

        pub(crate) fn lock(&self) -> MutexGuard<'_, T> {
            MutexGuard(Some(self.0.lock().expect("a model's thread panicked")))
        }
    }

    impl<T> Deref for MutexGuard<'_, T> {
        type Target = T;
        fn deref(&self) -> &T {
            self.0.as_deref().expect("the guard is held")
        }
    }

    impl<T> DerefMut for MutexGuard<'_, T> {
        fn deref_mut(&mut self) -> &mut T {
            self.0.as_deref_mut().expect("the guard is held")
        }
    }

    /// `loom`'s condition variable, with `parking_lot`'s interface.
    pub(crate) struct Condvar(loom::sync::Condvar);

    /// What [`Condvar::wait_until`] returns.
    pub(crate) struct WaitTimeoutResult;

    impl WaitTimeoutResult {
        pub(crate) fn timed_out(&self) -> bool {
            false
        }
    }

    impl Condvar {
        pub(crate) fn new() -> Self {
            Condvar(loom::sync::Condvar::new())
        }

        pub(crate) fn wait<T>(&self, guard: &mut MutexGuard<'_, T>) {
            let held = guard.0.take().expect("the guard is held");
            guard.0 = Some(self.0.wait(held).expect("a model's thread panicked"));
        }

        pub(crate) fn wait_until<T>(
            &self,
            guard: &mut MutexGuard<'_, T>,
            _deadline: Instant,
        ) -> WaitTimeoutResult {
            self.wait(guard);
            WaitTimeoutResult
        }

        pub(crate) fn notify_all(&self) {
            self.0.notify_all();
        }
    }
}

pub(crate) use loom::cell;

pub(crate) mod parking {
    use std::time::Instant;

    use loom::sync::atomic::{AtomicBool, Ordering};
    use loom::sync::{Arc, Mutex};
    use loom::thread::{self, Thread};

    use super::super::Parked;

    /// A thread parked on `key`; `woken` is set by the thread that unparks it.
    struct Sleeper {
        key: usize,
        thread: Thread,
        woken: Arc<AtomicBool>,
    }

    loom::lazy_static! {
        /// The parking table. One lock for every key: a real bucket serves all the keys that
        /// hash to it, so this is the case of the real table where they all share one.
        static ref TABLE: Mutex<Vec<Sleeper>> = Mutex::new(Vec::new());
    }

    /// As the real `park`: the validation runs under the table's lock, and the thread sleeps
    /// until a later `unpark_all` on its key.
    pub(crate) unsafe fn park(
        key: usize,
        validate: impl FnOnce() -> bool,
        _deadline: Option<Instant>,
    ) -> Parked {
        let woken = Arc::new(AtomicBool::new(false));
        {
            let mut table = TABLE.lock().expect("a model's thread panicked");
            if !validate() {
                return Parked::Invalid;
            }
            table.push(Sleeper {
                key,
                thread: thread::current(),
                woken: Arc::clone(&woken),
            });
        }
        while !woken.load(Ordering::Acquire) {
            thread::park();
        }
        Parked::Unparked
    }

    /// As the real `unpark_all`: under the table's lock, take out the threads parked on `key`
    /// and mark them woken; then wake them.
    pub(crate) unsafe fn unpark_all(key: usize) {
        let woken: Vec<Sleeper> = {
            let mut table = TABLE.lock().expect("a model's thread panicked");
            let (woken, rest) = table.drain(..).partition(|s| s.key == key);
            *table = rest;
            for s in &woken {
                s.woken.store(true, Ordering::Release);
            }
            woken
        };
        for s in woken {
            s.thread.unpark();
        }
    }
}
