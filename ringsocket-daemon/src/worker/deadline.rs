//! The worker's deadlines: a min-heap of `(when, slot, generation)`.
//!
//! Each connection keeps its wanted deadline itself and has at most one entry it relies on
//! (its `scheduled` time); entries that no longer match (the connection left, or moved its
//! deadline earlier) are skipped when they come out. Moving a deadline later, which keepalive
//! does on every message, costs nothing: the entry fires early, and is then pushed again for
//! the new time. So the heap stays near one entry per connection without ever searching it.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

/// One heap entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Entry {
    /// Nanoseconds on the worker's clock.
    pub(crate) when: u64,
    pub(crate) slot: u32,
    pub(crate) generation: u32,
}

/// See the module docs.
#[derive(Debug, Default)]
pub(crate) struct Deadlines {
    heap: BinaryHeap<Reverse<Entry>>,
}

impl Deadlines {
    pub(crate) fn push(&mut self, entry: Entry) {
        self.heap.push(Reverse(entry));
    }

    /// The earliest entry's time (possibly a stale entry: waking early is harmless).
    pub(crate) fn next(&self) -> Option<u64> {
        self.heap.peek().map(|e| e.0.when)
    }

    /// Takes the earliest entry if it is due at `now`.
    pub(crate) fn pop_due(&mut self, now: u64) -> Option<Entry> {
        if self.heap.peek()?.0.when <= now {
            self.heap.pop().map(|e| e.0)
        } else {
            None
        }
    }
}
