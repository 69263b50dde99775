//! The real synchronization: see the parent module.

pub(crate) mod sync {
    pub(crate) use parking_lot::{Condvar, Mutex, MutexGuard};

    pub(crate) mod atomic {
        pub(crate) use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
    }
}

pub(crate) mod cell {
    /// `std::cell::UnsafeCell` with the access methods of `loom`'s.
    pub(crate) struct UnsafeCell<T>(std::cell::UnsafeCell<T>);

    impl<T> UnsafeCell<T> {
        pub(crate) const fn new(value: T) -> Self {
            UnsafeCell(std::cell::UnsafeCell::new(value))
        }

        /// Call `f` with a pointer to read the value through.
        #[inline(always)]
        pub(crate) fn with<R>(&self, f: impl FnOnce(*const T) -> R) -> R {
            f(self.0.get())
        }

        /// Call `f` with a pointer to write the value through.
        #[inline(always)]
        pub(crate) fn with_mut<R>(&self, f: impl FnOnce(*mut T) -> R) -> R {
            f(self.0.get())
        }
    }
}

pub(crate) mod parking {
    use std::time::Instant;

    use parking_lot_core::{DEFAULT_PARK_TOKEN, DEFAULT_UNPARK_TOKEN, ParkResult};

    use super::super::Parked;

    /// Park the calling thread on `key` until [`unpark_all`] on the same key or `deadline`,
    /// unless `validate`, which runs under the lock of the key's bucket of the parking table,
    /// returns `false`.
    ///
    /// # Safety
    ///
    /// As `parking_lot_core::park`: `key` must be an address the caller owns for the wait,
    /// used for no other purpose, and `validate` must not panic or call into the parking lot.
    #[inline]
    pub(crate) unsafe fn park(
        key: usize,
        validate: impl FnOnce() -> bool,
        deadline: Option<Instant>,
    ) -> Parked {
        // SAFETY: forwarded from the caller; the other callbacks do nothing.
        let result = unsafe {
            parking_lot_core::park(
                key,
                validate,
                || {},
                |_, _| {},
                DEFAULT_PARK_TOKEN,
                deadline,
            )
        };
        match result {
            ParkResult::Unparked(_) => Parked::Unparked,
            ParkResult::Invalid => Parked::Invalid,
            ParkResult::TimedOut => Parked::TimedOut,
        }
    }

    /// Wake every thread parked on `key`, under the lock of the key's bucket.
    ///
    /// # Safety
    ///
    /// As `parking_lot_core::unpark_all`: `key` must be used for no other purpose.
    #[inline]
    pub(crate) unsafe fn unpark_all(key: usize) {
        // SAFETY: forwarded from the caller.
        unsafe { parking_lot_core::unpark_all(key, DEFAULT_UNPARK_TOKEN) };
    }
}
