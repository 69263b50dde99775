//! A queue's ready tasks, in walk order.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};

use super::Key;

type Entry = (Key, u64);

/// The ready tasks of a queue as `(key, task)` entries, smallest key first, with lazy removal:
/// removing a task only marks its node (see `Core::remove_ready`), and entries whose node no
/// longer matches are dropped when they reach the front.
///
/// Keys mostly arrive in order: the dependents of one producer become ready in the order they
/// were claimed (ascending keys), and newer submissions get smaller keys (descending). Such
/// entries go to either end of `run`, a deque kept sorted, at O(1) each; only the others go to
/// `heap`. The smallest entry is the smaller of the two fronts. Both keep their capacity, so
/// that a steady run allocates nothing here.
///
/// Invariants: `run` is sorted by key, ascending; every live entry (its task is `in_ready`
/// with this key) is in `run` or `heap`; other entries are dead and are never returned.
#[derive(Default)]
pub(super) struct ReadySet {
    run: VecDeque<Entry>,
    heap: BinaryHeap<Reverse<Entry>>,
    /// Live entries set aside while looking for one that fits, with whether each came from
    /// `run`; kept for its capacity.
    scratch: Vec<(Entry, bool)>,
}

impl ReadySet {
    #[inline]
    pub(super) fn insert(&mut self, key: Key, t: u64) {
        match (self.run.front(), self.run.back()) {
            (_, Some(&(last, _))) if key > last => self.run.push_back((key, t)),
            (Some(&(first, _)), _) if key < first => self.run.push_front((key, t)),
            (None, None) => self.run.push_back((key, t)),
            _ => self.heap.push(Reverse((key, t))),
        }
    }

    pub(super) fn clear(&mut self) {
        self.run.clear();
        self.heap.clear();
    }

    /// Drop dead entries from both fronts; returns the smallest live entry and whether it is
    /// in `run`.
    fn front(&mut self, live: &impl Fn(Key, u64) -> bool) -> Option<(Entry, bool)> {
        while let Some(&(k, t)) = self.run.front() {
            if live(k, t) {
                break;
            }
            self.run.pop_front();
        }
        while let Some(&Reverse((k, t))) = self.heap.peek() {
            if live(k, t) {
                break;
            }
            self.heap.pop();
        }
        match (self.run.front(), self.heap.peek()) {
            (Some(&a), Some(&Reverse(b))) => Some(if a <= b { (a, true) } else { (b, false) }),
            (Some(&a), None) => Some((a, true)),
            (None, Some(&Reverse(b))) => Some((b, false)),
            (None, None) => None,
        }
    }

    /// Whether it holds no entry, live or dead.
    #[inline]
    pub(super) fn is_empty(&self) -> bool {
        self.run.is_empty() && self.heap.is_empty()
    }

    /// The live entry of smallest key, dropping dead ones on the way.
    #[inline]
    pub(super) fn first(&mut self, live: impl Fn(Key, u64) -> bool) -> Option<Entry> {
        if self.heap.is_empty() {
            while let Some(&(k, t)) = self.run.front() {
                if live(k, t) {
                    return Some((k, t));
                }
                self.run.pop_front();
            }
            return None;
        }
        self.front(&live).map(|(e, _)| e)
    }

    /// The live entry of smallest key for which `fits` holds. Entries before it stay.
    pub(super) fn first_fitting(
        &mut self,
        live: impl Fn(Key, u64) -> bool,
        fits: impl Fn(u64) -> bool,
    ) -> Option<Entry> {
        let mut found = None;
        while let Some((e, in_run)) = self.front(&live) {
            if in_run {
                self.run.pop_front();
            } else {
                self.heap.pop();
            }
            self.scratch.push((e, in_run));
            if fits(e.1) {
                found = Some(e);
                break;
            }
        }
        // Put back in reverse: the entries taken from `run` were its smallest, in order.
        while let Some((e, in_run)) = self.scratch.pop() {
            if in_run {
                self.run.push_front(e);
            } else {
                self.heap.push(Reverse(e));
            }
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
            r.insert((0, k), t);
        }
        let dead = [10u64];
        let live = |_: Key, t: u64| !dead.contains(&t);
        assert_eq!(r.first(live), Some(((0, 2), 20)));
        assert_eq!(r.first_fitting(live, |t| t >= 30), Some(((0, 3), 30)));
        // Nothing was removed by looking.
        assert_eq!(r.first(live), Some(((0, 2), 20)));
        assert_eq!(r.first_fitting(live, |t| t > 100), None);
        assert_eq!(r.first(|_, t| t == 50), Some(((0, 5), 50)));
        r.clear();
        assert_eq!(r.first(|_, _| true), None);
    }

    /// Keys in order, in reverse order, and out of order all come out sorted, whichever of
    /// the deque and the heap holds them.
    #[test]
    fn mixed_insertion_orders_come_out_sorted() {
        // Keys that differ in the rank and keys that differ only in the `seq`.
        let keys: [Key; 10] = [
            (5, 0),
            (6, 0),
            (7, 0),
            (4, 0),
            (3, 0),
            (5, 5),
            (8, 0),
            (1, 0),
            (6, 5),
            (2, 0),
        ];
        let t = |k: Key| k.0 * 10 + k.1;
        let mut r = ReadySet::default();
        for &k in &keys {
            r.insert(k, t(k));
        }
        assert!(!r.heap.is_empty() && !r.run.is_empty());
        let mut sorted = keys.to_vec();
        sorted.sort();
        let mut dead = Vec::new();
        for &k in &sorted {
            // Every entry before `k` is dead now.
            assert_eq!(
                r.first_fitting(|k, _| !dead.contains(&k), |_| true),
                Some((k, t(k)))
            );
            assert_eq!(r.first(|k, _| !dead.contains(&k)), Some((k, t(k))));
            dead.push(k);
        }
        assert_eq!(r.first(|k, _| !dead.contains(&k)), None);
    }
}
