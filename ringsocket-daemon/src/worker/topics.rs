//! A worker's members of one app's topics: the slots subscribed to each topic id (the app
//! thread numbers topics and tells each worker only about its own clients), and each slot's
//! topics, so that a closing connection leaves all of them at once.

use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasherDefault, Hasher};

/// Slots and topic ids are small numbers the daemon hands out, not chosen by peers: a
/// multiplicative hash is enough and much cheaper than SipHash.
#[derive(Debug, Default, Clone, Copy)]
pub(super) struct SmallHasher(u64);

impl Hasher for SmallHasher {
    fn finish(&self) -> u64 {
        self.0.wrapping_mul(0x9E37_79B9_7F4A_7C15).rotate_left(26)
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 << 8) | u64::from(b);
        }
    }

    fn write_u32(&mut self, n: u32) {
        self.0 = (self.0 << 32) | u64::from(n);
    }
}

type Fast = BuildHasherDefault<SmallHasher>;

#[derive(Debug, Default)]
pub(crate) struct TopicMembers {
    by_topic: HashMap<u32, HashSet<u32, Fast>, Fast>,
    of_slot: HashMap<u32, Vec<u32>, Fast>,
    subscriptions: usize,
}

impl TopicMembers {
    pub(crate) fn join(&mut self, slot: u32, topic: u32) {
        if self.by_topic.entry(topic).or_default().insert(slot) {
            self.of_slot.entry(slot).or_default().push(topic);
            self.subscriptions += 1;
        }
    }

    pub(crate) fn leave(&mut self, slot: u32, topic: u32) {
        if let Some(members) = self.by_topic.get_mut(&topic)
            && members.remove(&slot)
        {
            self.subscriptions -= 1;
            if members.is_empty() {
                self.by_topic.remove(&topic);
            }
            if let Some(topics) = self.of_slot.get_mut(&slot) {
                topics.retain(|&t| t != topic);
                if topics.is_empty() {
                    self.of_slot.remove(&slot);
                }
            }
        }
    }

    /// The slot's connection ended: out of every topic.
    pub(crate) fn drop_slot(&mut self, slot: u32) {
        for topic in self.of_slot.remove(&slot).unwrap_or_default() {
            if let Some(members) = self.by_topic.get_mut(&topic)
                && members.remove(&slot)
            {
                self.subscriptions -= 1;
                if members.is_empty() {
                    self.by_topic.remove(&topic);
                }
            }
        }
    }

    /// The members of `topic` here, in no order.
    pub(crate) fn members(&self, topic: u32) -> impl Iterator<Item = u32> + '_ {
        self.by_topic.get(&topic).into_iter().flatten().copied()
    }

    /// Subscriptions held (for the metrics).
    pub(crate) fn subscriptions(&self) -> usize {
        self.subscriptions
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn members_join_leave_and_go_with_their_slot() {
        let mut t = TopicMembers::default();
        t.join(1, 10);
        t.join(2, 10);
        t.join(1, 10);
        t.join(1, 11);
        let mut ten: Vec<u32> = t.members(10).collect();
        ten.sort_unstable();
        assert_eq!(ten, [1, 2]);
        assert_eq!(t.subscriptions(), 3);
        t.leave(2, 10);
        t.leave(2, 10);
        assert_eq!(t.members(10).collect::<Vec<_>>(), [1]);
        t.drop_slot(1);
        assert_eq!(t.subscriptions(), 0);
        assert!(t.by_topic.is_empty() && t.of_slot.is_empty());
        assert_eq!(t.members(11).count(), 0);
    }
}
