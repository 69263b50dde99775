//! The wakers of async readers, kept beside the cells they wait on.
//!
//! A [`SetOnce`](crate::once::SetOnce) has no room for a waker list (it is one byte of state
//! beside its value), so async readers register their [`Waker`] here, under the cell's
//! address, the way blocked threads park on that address in `parking_lot_core`'s table. The
//! table is sharded by address; each shard is a short list behind its own mutex, held only to
//! add, replace or take entries, never while a waker runs.

use std::sync::atomic::{AtomicU64, Ordering};
use std::task::Waker;

use parking_lot::{Mutex, MutexGuard};

const SHARDS: usize = 64;

/// One registered reader: the cell's address, the reader's registration, its waker.
pub(crate) struct Entry {
    key: usize,
    id: u64,
    waker: Waker,
}

static TABLE: [Mutex<Vec<Entry>>; SHARDS] = [const { Mutex::new(Vec::new()) }; SHARDS];

static NEXT_ID: AtomicU64 = AtomicU64::new(1);

/// A fresh registration id, unique in the process.
pub(crate) fn new_id() -> u64 {
    NEXT_ID.fetch_add(1, Ordering::Relaxed)
}

/// The locked shard of the cell at `key`.
pub(crate) fn lock(key: usize) -> Shard {
    // Cells are at least 8-byte aligned and often allocated together: mix the address.
    let h = (key >> 3).wrapping_mul(0x9E37_79B9_7F4A_7C15_u64 as usize);
    Shard(TABLE[(h >> 32) % SHARDS].lock())
}

/// A locked shard of the table.
pub(crate) struct Shard(MutexGuard<'static, Vec<Entry>>);

impl Shard {
    /// Register `waker` for the cell at `key` under `id`, replacing the waker `id` registered
    /// before, if any.
    pub(crate) fn register(&mut self, key: usize, id: u64, waker: &Waker) {
        match self.0.iter_mut().find(|e| e.id == id && e.key == key) {
            Some(e) => {
                if !e.waker.will_wake(waker) {
                    e.waker.clone_from(waker);
                }
            }
            None => self.0.push(Entry {
                key,
                id,
                waker: waker.clone(),
            }),
        }
    }

    /// Remove registration `id`, if it is there.
    pub(crate) fn forget(&mut self, id: u64) {
        self.0.retain(|e| e.id != id);
    }

    /// Take every waker registered for the cell at `key`; wake them after unlocking.
    pub(crate) fn take(&mut self, key: usize) -> Vec<Waker> {
        let mut woken = Vec::new();
        self.0.retain_mut(|e| {
            if e.key == key {
                woken.push(e.waker.clone());
                false
            } else {
                true
            }
        });
        woken
    }
}

/// How many registrations the cell at `key` has, for the tests' leak checks.
#[cfg(test)]
pub(crate) fn registered(key: usize) -> usize {
    lock(key).0.iter().filter(|e| e.key == key).count()
}
