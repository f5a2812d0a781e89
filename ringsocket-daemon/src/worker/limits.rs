//! Admission limits shared by every worker: connections at once in all, and per client
//! address (an IPv4 address or an IPv6 /64) connections at once and upgrade requests per
//! second. A client's connections may land on any worker (`SO_REUSEPORT` spreads them), so the
//! per-address counts are shared: a table split into shards behind their own mutex, touched
//! once per upgrade request and once per close, never on the message path. A shard holds an
//! entry while its address has connections or its handshake budget is refilling, so the table
//! is bounded by the connections plus the addresses seen in the last second or so.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use crate::settings::Settings;

/// Power of two: the shard is picked by the key's hash bits.
const SHARDS: usize = 64;
/// Admissions to a shard between sweeps of its idle entries.
const SWEEP_EVERY: u32 = 1024;
/// Handshake budgets are kept in thousandths, so that slow rates refill smoothly.
const MILLI: u64 = 1000;

/// A client address as the limits count it: IPv4 (IPv4-mapped IPv6 included) by address,
/// IPv6 by its /64, which one subscriber usually holds whole.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum AddrKey {
    V4(u32),
    V6Prefix(u64),
}

impl AddrKey {
    pub(crate) fn of(ip: IpAddr) -> Self {
        match ip {
            IpAddr::V4(v4) => Self::V4(v4.to_bits()),
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => Self::V4(v4.to_bits()),
                None => Self::V6Prefix((v6.to_bits() >> 64) as u64),
            },
        }
    }

    fn shard(self) -> usize {
        let raw = match self {
            Self::V4(a) => u64::from(a),
            Self::V6Prefix(p) => p ^ 0x6,
        };
        // Fibonacci hashing: the top bits of the product spread neighbouring addresses.
        (raw.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 58) as usize % SHARDS
    }
}

/// Why a request is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Refusal {
    /// `max_connections_per_ip`.
    Connections,
    /// `max_handshakes_per_second_per_ip`.
    Handshakes,
}

#[derive(Debug, Clone, Copy)]
struct Entry {
    /// Connections counted (admitted and not yet released).
    conns: u32,
    /// Handshake budget in thousandths, as of `at_ms`.
    budget: u64,
    at_ms: u64,
}

#[derive(Debug, Default)]
struct Shard {
    entries: HashMap<AddrKey, Entry>,
    admissions: u32,
}

/// The limits and their counts; one per server, shared by its workers.
#[derive(Debug)]
pub(crate) struct Limits {
    max_total: usize,
    per_addr: Option<u32>,
    /// Handshakes per second per address (and the burst).
    rate: Option<u32>,
    total: AtomicUsize,
    shards: Box<[Mutex<Shard>]>,
    origin: Instant,
}

impl Limits {
    pub(crate) fn new(settings: &Settings) -> Self {
        Self {
            max_total: settings.connection_limit(),
            per_addr: settings.max_connections_per_ip,
            rate: settings.max_handshakes_per_second_per_ip,
            total: AtomicUsize::new(0),
            shards: (0..SHARDS).map(|_| Mutex::default()).collect(),
            origin: Instant::now(),
        }
    }

    /// Counts a new connection, unless `max_connections` are open already.
    pub(crate) fn open(&self) -> bool {
        // Relaxed: a count, not a synchronisation point; a race lets at most one connection
        // per worker past the limit for an instant.
        if self.total.load(Ordering::Relaxed) >= self.max_total {
            return false;
        }
        self.total.fetch_add(1, Ordering::Relaxed);
        true
    }

    /// Uncounts a connection [`open`](Self::open) counted.
    pub(crate) fn close(&self) {
        self.total.fetch_sub(1, Ordering::Relaxed);
    }

    /// Whether the per-address limits are on (else nothing is counted per address).
    pub(crate) fn per_address(&self) -> bool {
        self.per_addr.is_some() || self.rate.is_some()
    }

    /// Admits an upgrade request from `ip` (spending one handshake) and counts its
    /// connection, or says which limit refuses it. Every request spends, refused ones too: a
    /// client that hammers stays refused.
    pub(crate) fn admit(&self, ip: IpAddr) -> Result<(), Refusal> {
        let key = AddrKey::of(ip);
        let now_ms = self.origin.elapsed().as_millis() as u64;
        let mut shard = self.shards[key.shard()]
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        shard.admissions = shard.admissions.wrapping_add(1);
        if shard.admissions.is_multiple_of(SWEEP_EVERY) {
            let rate = self.rate;
            shard
                .entries
                .retain(|_, e| e.conns > 0 || refilled(*e, rate, now_ms) < full(rate));
        }
        let rate = self.rate;
        let entry = shard.entries.entry(key).or_insert(Entry {
            conns: 0,
            budget: full(rate),
            at_ms: now_ms,
        });
        entry.budget = refilled(*entry, rate, now_ms);
        entry.at_ms = now_ms;
        if rate.is_some() {
            if entry.budget < MILLI {
                return Err(Refusal::Handshakes);
            }
            entry.budget -= MILLI;
        }
        if self.per_addr.is_some_and(|max| entry.conns >= max) {
            return Err(Refusal::Connections);
        }
        entry.conns += 1;
        Ok(())
    }

    /// Uncounts a connection [`admit`](Self::admit) counted.
    pub(crate) fn release(&self, ip: IpAddr) {
        let key = AddrKey::of(ip);
        let now_ms = self.origin.elapsed().as_millis() as u64;
        let mut shard = self.shards[key.shard()]
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let rate = self.rate;
        if let Some(entry) = shard.entries.get_mut(&key) {
            entry.conns = entry.conns.saturating_sub(1);
            if entry.conns == 0 && refilled(*entry, rate, now_ms) >= full(rate) {
                shard.entries.remove(&key);
            }
        }
    }

    /// Addresses with an entry.
    #[cfg(test)]
    pub(crate) fn tracked(&self) -> usize {
        self.shards
            .iter()
            .map(|s| {
                s.lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .entries
                    .len()
            })
            .sum()
    }
}

/// A full handshake budget: one second's worth (0 without a rate: nothing to refill).
fn full(rate: Option<u32>) -> u64 {
    rate.map_or(0, |r| u64::from(r) * MILLI)
}

/// `e`'s budget at `now_ms`: `rate` per second, up to one second's worth.
fn refilled(e: Entry, rate: Option<u32>, now_ms: u64) -> u64 {
    let Some(rate) = rate else {
        return 0;
    };
    let elapsed = now_ms.saturating_sub(e.at_ms);
    // Thousandths per ms: `rate` × 1000 per second.
    e.budget
        .saturating_add(elapsed.saturating_mul(u64::from(rate)))
        .min(full(Some(rate)))
}

/// A client's message budget (`max_messages_per_second`), in the connection's slot: whole
/// messages and the worker's millisecond clock, 8 bytes.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct MessageBudget {
    left: u32,
    /// When `left` was last topped up (ms, wrapping).
    at_ms: u32,
}

impl MessageBudget {
    /// A full budget at `now_ms`.
    pub(crate) fn full(rate: u32, now_ms: u32) -> Self {
        Self {
            left: rate,
            at_ms: now_ms,
        }
    }

    /// Spends one message at `now_ms`; `false` when none is left. The budget refills at
    /// `rate` per second up to `rate`; the clock advances only by whole messages' worth, so a
    /// slow rate refills however often messages come.
    pub(crate) fn spend(&mut self, rate: u32, now_ms: u32) -> bool {
        let elapsed = now_ms.wrapping_sub(self.at_ms);
        let earned = u64::from(elapsed) * u64::from(rate) / 1000;
        if earned > 0 {
            let room = u64::from(rate - self.left.min(rate));
            if earned >= room {
                self.left = rate;
                self.at_ms = now_ms;
            } else {
                self.left += earned as u32;
                self.at_ms = self
                    .at_ms
                    .wrapping_add((earned * 1000 / u64::from(rate)) as u32);
            }
        }
        if self.left == 0 {
            return false;
        }
        self.left -= 1;
        true
    }
}

#[cfg(test)]
mod tests {
    use std::net::{Ipv4Addr, Ipv6Addr};

    use super::*;

    fn limits(total: u32, per_addr: u32, rate: u32) -> Limits {
        let settings = Settings {
            max_connections: Some(total),
            max_connections_per_ip: (per_addr > 0).then_some(per_addr),
            max_handshakes_per_second_per_ip: (rate > 0).then_some(rate),
            ..Settings::default()
        };
        Limits::new(&settings)
    }

    #[test]
    fn addresses_count_by_ipv4_address_and_ipv6_prefix() {
        let a = IpAddr::from(Ipv4Addr::new(10, 0, 0, 1));
        let mapped = IpAddr::from(Ipv4Addr::new(10, 0, 0, 1).to_ipv6_mapped());
        assert_eq!(AddrKey::of(a), AddrKey::of(mapped));
        let v6 = |last: u16, fourth: u16| {
            IpAddr::from(Ipv6Addr::new(0x2001, 0xdb8, 1, fourth, 0, 0, 0, last))
        };
        assert_eq!(AddrKey::of(v6(1, 2)), AddrKey::of(v6(0xffff, 2)));
        assert_ne!(AddrKey::of(v6(1, 2)), AddrKey::of(v6(1, 3)));
    }

    #[test]
    fn connections_per_address_are_capped_and_released() {
        let l = limits(100, 2, 0);
        let (a, b) = (
            IpAddr::from(Ipv4Addr::new(192, 0, 2, 1)),
            IpAddr::from(Ipv4Addr::new(192, 0, 2, 2)),
        );
        assert_eq!(l.admit(a), Ok(()));
        assert_eq!(l.admit(a), Ok(()));
        assert_eq!(l.admit(a), Err(Refusal::Connections));
        assert_eq!(l.admit(b), Ok(()));
        l.release(a);
        assert_eq!(l.admit(a), Ok(()));
        for _ in 0..2 {
            l.release(a);
        }
        l.release(b);
        // Nothing left to remember without a handshake rate.
        assert_eq!(l.tracked(), 0);
    }

    #[test]
    fn handshakes_per_second_refill_and_refusals_spend() {
        let l = limits(100, 0, 3);
        let a = IpAddr::from(Ipv4Addr::new(198, 51, 100, 7));
        for _ in 0..3 {
            assert_eq!(l.admit(a), Ok(()));
        }
        assert_eq!(l.admit(a), Err(Refusal::Handshakes));
        for _ in 0..3 {
            l.release(a);
        }
        // Still refilling: remembered.
        assert_eq!(l.tracked(), 1);
        std::thread::sleep(std::time::Duration::from_millis(400));
        assert_eq!(l.admit(a), Ok(()));
    }

    #[test]
    fn the_total_is_capped() {
        let l = limits(2, 0, 0);
        assert!(l.open() && l.open());
        assert!(!l.open());
        l.close();
        assert!(l.open());
    }

    #[test]
    fn message_budgets_refill_at_their_rate() {
        let mut b = MessageBudget::full(3, 0);
        assert!(b.spend(3, 0) && b.spend(3, 1) && b.spend(3, 2));
        assert!(!b.spend(3, 3));
        // 1/3 s earns one message.
        assert!(!b.spend(3, 300));
        assert!(b.spend(3, 334));
        assert!(!b.spend(3, 335));
        // Frequent tries do not starve a slow rate: earnings accumulate by the clock.
        let mut slow = MessageBudget::full(2, 0);
        assert!(slow.spend(2, 0) && slow.spend(2, 0));
        let mut got = 0;
        for t in (10..=2000).step_by(10) {
            got += u32::from(slow.spend(2, t));
        }
        assert_eq!(got, 4);
        // Long idle: full again, never more; and the clock may wrap.
        let mut w = MessageBudget::full(5, u32::MAX - 10);
        for _ in 0..5 {
            assert!(w.spend(5, u32::MAX - 10));
        }
        assert!(w.spend(5, 5000));
        assert_eq!(w.left, 4);
    }
}
