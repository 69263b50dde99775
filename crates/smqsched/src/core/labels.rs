//! The labels of the tasks, each distinct one stored once.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::Arc;

use crate::task::Label;

/// Every distinct label, shared by the nodes that carry it; a node keeps its index.
#[derive(Default)]
pub(super) struct Labels {
    /// The labels, by index.
    table: Vec<Arc<str>>,
    /// The entries of `table` of default labels, by the type name's address and length.
    defaults: HashMap<(usize, usize), u32, BuildHasherDefault<AddrHasher>>,
    /// The last default label used: its key in `defaults` and its index.
    last_default: Option<((usize, usize), u32)>,
    /// The index of the last given label.
    last_given: Option<u32>,
}

impl Labels {
    /// The label of index `index`.
    #[inline]
    pub(super) fn get(&self, index: u32) -> &Arc<str> {
        &self.table[index as usize]
    }

    /// The index of a new task's label. A default label is interned by its type name's
    /// address: one entry, and one shortening, per body type. A given label is shared with
    /// the previous task's when the text is the same.
    #[inline]
    pub(super) fn intern(&mut self, label: Label) -> u32 {
        // Tasks mostly come in runs of one body type: check the last one first.
        if let (Label::Static(name), Some((last, index))) = (&label, self.last_default)
            && last == (name.as_ptr() as usize, name.len())
        {
            return index;
        }
        self.intern_new(label)
    }

    #[cold]
    fn intern_new(&mut self, label: Label) -> u32 {
        match label {
            Label::Static(name) => {
                let key = (name.as_ptr() as usize, name.len());
                let table = &mut self.table;
                let index = *self.defaults.entry(key).or_insert_with(|| {
                    table.push(Arc::from(crate::task::short_label(name)));
                    (table.len() - 1) as u32
                });
                self.last_default = Some((key, index));
                index
            }
            Label::Shared(text) => {
                if let Some(last) = self.last_given
                    && *self.table[last as usize] == *text
                {
                    return last;
                }
                self.table.push(text);
                let index = (self.table.len() - 1) as u32;
                self.last_given = Some(index);
                index
            }
        }
    }
}

/// Hashes the default-label key (a type name's address and length), computed at every
/// submission: one multiply per word instead of SipHash, which defends against crafted keys
/// that cannot occur here.
#[derive(Default)]
struct AddrHasher(u64);

impl Hasher for AddrHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.write_u64(u64::from(b));
        }
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = (self.0.rotate_left(5) ^ n).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }

    fn write_usize(&mut self, n: usize) {
        self.write_u64(n as u64);
    }
}
