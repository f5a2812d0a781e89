//! A wait-free single-producer single-consumer ring of variable-length byte records that grows
//! without blocking.
//!
//! RingSocket moves every message between threads through one of these rings: a worker hands
//! inbound WebSocket messages to an app thread, and the app thread hands outbound frames back.
//!
//! * The producer [reserves](Producer::reserve) space, writes one record in place and
//!   [commits](WriteSlot::commit) it, or simply [pushes](Producer::push) a byte slice.
//! * The consumer [peeks](Consumer::peek) the next record as one contiguous `&[u8]` and
//!   [releases](Consumer::release) it, or [peeks a batch](Consumer::peek_batch) and releases all of
//!   it with one store.
//! * Records never wrap: a record that does not fit before the end of the buffer is written at its
//!   start, behind a wrap marker.
//! * When a record does not fit at all, the producer moves to a new buffer
//!   [`realloc_multiplier`](Config::with_realloc_multiplier) times larger and leaves a forwarding
//!   marker. The consumer drains the old buffer, follows the marker and frees the old buffer. No
//!   side ever waits for the other.
//! * Publication is a `Release` store of the producer's position, observed with an `Acquire`
//!   load; it may be batched ([`Config::with_publish_every`], [`Producer::flush`]).
//!
//! ```
//! let (mut tx, mut rx) = ring_spsc::channel(ring_spsc::Config::new(4096)).unwrap();
//! tx.push(b"hello").unwrap();
//! let mut slot = tx.reserve(5).unwrap();
//! slot.copy_from_slice(b"world");
//! slot.commit(5);
//! assert_eq!(rx.peek(), Some(&b"hello"[..]));
//! rx.release();
//! let batch = rx.peek_batch(usize::MAX);
//! assert_eq!(batch.iter().collect::<Vec<_>>(), [&b"world"[..]]);
//! batch.release();
//! assert!(rx.is_empty());
//! ```
//!
//! All `unsafe` code lives in the private `ring` module.
#![no_std]

extern crate alloc;
#[cfg(any(test, loom))]
extern crate std;

mod ring;
mod sync;

pub use ring::{Batch, BatchIter, Consumer, Producer, WriteSlot, channel};

/// Size of a record's header inside the ring; records and markers are aligned to this too.
///
/// A record of `len` payload bytes occupies `len + RECORD_HEADER_LEN` bytes rounded up to a
/// multiple of `RECORD_HEADER_LEN`, and every payload starts 8-byte aligned.
pub const RECORD_HEADER_LEN: usize = 8;

/// The largest `max_record_len` a [`Config`] accepts (the header stores lengths as `u32`).
pub const MAX_RECORD_LEN_LIMIT: usize = (u32::MAX as usize) - 2 * RECORD_HEADER_LEN;

/// Sizes and policies of one channel.
///
/// Memory for a buffer comes from `alloc_zeroed`, which large allocations satisfy with fresh
/// zero pages, so the untouched part of a 64 MiB ring costs address space, not resident memory.
#[derive(Clone, Debug, PartialEq)]
pub struct Config {
    initial_capacity: usize,
    max_capacity: usize,
    max_record_len: usize,
    realloc_multiplier: f64,
    publish_every: usize,
}

impl Config {
    /// Default initial size of a worker → app (inbound) ring: 64 MiB.
    pub const DEFAULT_INBOUND_CAPACITY: usize = 64 << 20;
    /// Default initial size of an app → worker (outbound) ring: 128 MiB.
    pub const DEFAULT_OUTBOUND_CAPACITY: usize = 128 << 20;
    /// Default largest record payload: 1 GiB. The daemon sets it from its message size limits.
    pub const DEFAULT_MAX_RECORD_LEN: usize = 1 << 30;
    /// Default growth factor, the original's `realloc_multiplier`.
    pub const DEFAULT_REALLOC_MULTIPLIER: f64 = 1.5;

    /// A configuration with `initial_capacity` bytes (rounded up to a multiple of
    /// [`RECORD_HEADER_LEN`]), unbounded growth by 1.5, a 1 GiB record limit and publication of
    /// every record.
    pub fn new(initial_capacity: usize) -> Self {
        Self {
            initial_capacity,
            max_capacity: usize::MAX,
            max_record_len: Self::DEFAULT_MAX_RECORD_LEN,
            realloc_multiplier: Self::DEFAULT_REALLOC_MULTIPLIER,
            publish_every: 1,
        }
    }

    /// [`Config::new`] with [`Config::DEFAULT_INBOUND_CAPACITY`].
    pub fn inbound() -> Self {
        Self::new(Self::DEFAULT_INBOUND_CAPACITY)
    }

    /// [`Config::new`] with [`Config::DEFAULT_OUTBOUND_CAPACITY`].
    pub fn outbound() -> Self {
        Self::new(Self::DEFAULT_OUTBOUND_CAPACITY)
    }

    /// Caps growth: a buffer never exceeds `max_capacity` bytes. When the ring is full at this
    /// size, [`Producer::reserve`] returns [`Error::Full`]. `usize::MAX` (the default) means
    /// unbounded; `max_capacity == initial_capacity` gives a fixed-size ring.
    pub fn with_max_capacity(mut self, max_capacity: usize) -> Self {
        self.max_capacity = max_capacity;
        self
    }

    /// The largest payload one record may have; longer ones fail with [`Error::TooLarge`].
    pub fn with_max_record_len(mut self, max_record_len: usize) -> Self {
        self.max_record_len = max_record_len;
        self
    }

    /// The growth factor, in `1.05..=4.0` (the original accepts `1.05..=2.5`).
    pub fn with_realloc_multiplier(mut self, realloc_multiplier: f64) -> Self {
        self.realloc_multiplier = realloc_multiplier;
        self
    }

    /// Publish the producer's position every `k` committed records (at least 1) instead of after
    /// each one; [`Producer::flush`] publishes at once. This is the original's
    /// `update_queue_size`, but here it only saves stores: visibility is still Release/Acquire.
    pub fn with_publish_every(mut self, k: usize) -> Self {
        self.publish_every = k;
        self
    }

    /// The initial buffer size in bytes.
    pub fn initial_capacity(&self) -> usize {
        self.initial_capacity
    }

    /// The growth cap in bytes.
    pub fn max_capacity(&self) -> usize {
        self.max_capacity
    }

    /// The largest record payload.
    pub fn max_record_len(&self) -> usize {
        self.max_record_len
    }

    /// The growth factor.
    pub fn realloc_multiplier(&self) -> f64 {
        self.realloc_multiplier
    }

    /// The publication batch size `k`.
    pub fn publish_every(&self) -> usize {
        self.publish_every
    }

    /// Checks the values and returns the rounded initial capacity.
    fn validate(&self) -> Result<usize, Error> {
        let cap = self
            .initial_capacity
            .checked_next_multiple_of(RECORD_HEADER_LEN)
            .ok_or(Error::InvalidConfig("initial_capacity overflows"))?;
        if cap < 4 * RECORD_HEADER_LEN {
            return Err(Error::InvalidConfig("initial_capacity below 32 bytes"));
        }
        if self.max_capacity < cap {
            return Err(Error::InvalidConfig("max_capacity below initial_capacity"));
        }
        if self.max_record_len > MAX_RECORD_LEN_LIMIT {
            return Err(Error::InvalidConfig(
                "max_record_len above MAX_RECORD_LEN_LIMIT",
            ));
        }
        // `!(a <= x)` rather than `x < a` so that NaN is rejected too.
        if !(1.05..=4.0).contains(&self.realloc_multiplier) {
            return Err(Error::InvalidConfig(
                "realloc_multiplier outside 1.05..=4.0",
            ));
        }
        if self.publish_every == 0 {
            return Err(Error::InvalidConfig("publish_every is 0"));
        }
        Ok(cap)
    }
}

impl Default for Config {
    /// [`Config::inbound`].
    fn default() -> Self {
        Self::inbound()
    }
}

/// Why a channel could not be created or a record could not be reserved.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
    /// The record's payload is longer than the configured `max_record_len`, or could never fit in
    /// a buffer of `max_capacity` bytes. Retrying cannot help.
    TooLarge {
        /// The requested payload length.
        len: usize,
        /// The largest payload this channel accepts.
        max: usize,
    },
    /// The ring is full and may not grow beyond `max_capacity`. Retry after the consumer has
    /// released records.
    Full,
    /// The allocator could not provide a larger buffer of `size` bytes. Nothing was lost; the
    /// producer stays on its current buffer.
    AllocFailed {
        /// The size of the buffer that could not be allocated.
        size: usize,
    },
    /// A [`Config`] value is out of range.
    InvalidConfig(&'static str),
}

impl core::fmt::Display for Error {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Error::TooLarge { len, max } => {
                write!(f, "record of {len} bytes exceeds the limit of {max} bytes")
            }
            Error::Full => f.write_str("ring is full and at its maximum capacity"),
            Error::AllocFailed { size } => write!(f, "could not allocate a ring of {size} bytes"),
            Error::InvalidConfig(why) => write!(f, "invalid ring configuration: {why}"),
        }
    }
}

impl core::error::Error for Error {}

#[cfg(test)]
mod tests;
