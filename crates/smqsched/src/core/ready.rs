//! A queue's ready tasks, in walk order.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

/// A min-heap of `(key, task)` with lazy removal: removing a task only marks its node (see
/// `Core::remove_ready`), and entries whose node no longer matches are dropped when they
/// reach the top. The heap keeps its capacity, so that a steady run allocates nothing here.
///
/// Invariant: every live entry (its task is `in_ready` with this key) is in the heap; other
/// entries are dead and are never returned.
#[derive(Default)]
pub(super) struct ReadySet {
    heap: BinaryHeap<Reverse<(u128, u64)>>,
    /// Live entries set aside while looking for one that fits; kept for its capacity.
    scratch: Vec<Reverse<(u128, u64)>>,
}

impl ReadySet {
    pub(super) fn insert(&mut self, key: u128, t: u64) {
        self.heap.push(Reverse((key, t)));
    }

    pub(super) fn clear(&mut self) {
        self.heap.clear();
    }

    /// The live entry of smallest key, dropping dead ones on the way.
    pub(super) fn first(&mut self, live: impl Fn(u128, u64) -> bool) -> Option<(u128, u64)> {
        while let Some(&Reverse((k, t))) = self.heap.peek() {
            if live(k, t) {
                return Some((k, t));
            }
            self.heap.pop();
        }
        None
    }

    /// The live entry of smallest key for which `fits` holds. Entries before it stay.
    pub(super) fn first_fitting(
        &mut self,
        live: impl Fn(u128, u64) -> bool,
        fits: impl Fn(u64) -> bool,
    ) -> Option<(u128, u64)> {
        let mut found = None;
        while let Some(Reverse((k, t))) = self.heap.pop() {
            if !live(k, t) {
                continue;
            }
            self.scratch.push(Reverse((k, t)));
            if fits(t) {
                found = Some((k, t));
                break;
            }
        }
        for e in self.scratch.drain(..) {
            self.heap.push(e);
        }
        found
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn returns_live_entries_in_key_order_and_skips_dead_ones() {
        let mut r = ReadySet::default();
        for (k, t) in [(5, 50), (1, 10), (3, 30), (2, 20)] {
            r.insert(k, t);
        }
        let dead = [10u64];
        let live = |_: u128, t: u64| !dead.contains(&t);
        assert_eq!(r.first(live), Some((2, 20)));
        assert_eq!(r.first_fitting(live, |t| t >= 30), Some((3, 30)));
        // Nothing was removed by looking.
        assert_eq!(r.first(live), Some((2, 20)));
        assert_eq!(r.first_fitting(live, |t| t > 100), None);
        assert_eq!(r.first(|_, t| t == 50), Some((5, 50)));
        r.clear();
        assert_eq!(r.first(|_, _| true), None);
    }
}
