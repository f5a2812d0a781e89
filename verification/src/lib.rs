//! Model checks (loom), property tests and stress tests for `ring-spsc` and `futex-loop`.
//!
//! The checks live in `tests/`; this library only holds the record format they share.
//!
//! | What | File | Command (from the workspace root) |
//! |---|---|---|
//! | loom models of the ring | `tests/loom_ring.rs` | see below |
//! | loom models of sleep/wake | `tests/loom_sleep.rs` | see below |
//! | ring vs `VecDeque` model | `tests/proptest_ring.rs` | `cargo test -p verification` |
//! | allocation accounting | `tests/alloc_accounting.rs` | `cargo test -p verification` |
//! | multi-threaded stress | `tests/stress.rs` | `cargo test -p verification --release --test stress` |
//! | the whole daemon under valgrind's memcheck | `memcheck.sh` | `verification/memcheck.sh` |
//!
//! Loom (uses its own target directory because `--cfg loom` rebuilds every dependency):
//!
//! ```text
//! LOOM_MAX_PREEMPTIONS=4 RUSTFLAGS="--cfg loom" CARGO_TARGET_DIR=target-loom \
//!     cargo test -p verification --release --test loom_ring --test loom_sleep
//! ```
//!
//! Without `LOOM_MAX_PREEMPTIONS` the models default to a bound of 4. On 2 cores that takes
//! about 95 s to build from a cold target directory plus about 20 s to run (bound 3: about 3 s,
//! bound 5: about 90 s). Debug a failure with `LOOM_CHECKPOINT_FILE=f.json LOOM_LOCATION=1`.
//!
//! Stress duration: `RING_STRESS_SECS` (default 2) and `RING_STRESS_RECORDS` (default
//! unlimited); the test stops at whichever limit comes first.

use std::vec::Vec;

/// Bytes at the start of every test record holding its sequence number.
pub const SEQ_LEN: usize = 8;

/// Builds test record `seq` of `len >= SEQ_LEN` bytes: the sequence number, then bytes derived
/// from it and their index, so that any torn, shifted or stale record fails [`check_record`].
pub fn make_record(seq: u64, len: usize) -> Vec<u8> {
    let mut record = Vec::with_capacity(len);
    write_record(seq, &mut record, len);
    record
}

/// [`make_record`] into `out` (cleared first).
pub fn write_record(seq: u64, out: &mut Vec<u8>, len: usize) {
    assert!(len >= SEQ_LEN);
    out.clear();
    out.extend_from_slice(&seq.to_le_bytes());
    out.extend((SEQ_LEN..len).map(|i| fill_byte(seq, i)));
}

/// Fills `buf` (at least [`SEQ_LEN`] bytes) in place with record `seq`.
pub fn fill_record(seq: u64, buf: &mut [u8]) {
    buf[..SEQ_LEN].copy_from_slice(&seq.to_le_bytes());
    for (i, b) in buf.iter_mut().enumerate().skip(SEQ_LEN) {
        *b = fill_byte(seq, i);
    }
}

fn fill_byte(seq: u64, i: usize) -> u8 {
    (seq.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 56) as u8 ^ (i as u8).wrapping_mul(31)
}

/// Checks a record built by [`make_record`] and returns its sequence number.
///
/// # Panics
///
/// If the record is shorter than [`SEQ_LEN`] or any byte is wrong.
pub fn check_record(record: &[u8]) -> u64 {
    assert!(record.len() >= SEQ_LEN, "record of {} bytes", record.len());
    let seq = u64::from_le_bytes(record[..SEQ_LEN].try_into().unwrap());
    for (i, &b) in record.iter().enumerate().skip(SEQ_LEN) {
        assert_eq!(b, fill_byte(seq, i), "record {seq}: byte {i} corrupt");
    }
    seq
}

/// A small deterministic PRNG (xorshift64*), so failures reproduce from the printed seed.
#[derive(Clone, Debug)]
pub struct XorShift(u64);

impl XorShift {
    /// A generator from `seed` (0 is replaced by a fixed non-zero value).
    pub fn new(seed: u64) -> Self {
        Self(if seed == 0 {
            0x2545_f491_4f6c_dd1d
        } else {
            seed
        })
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// A value in `0..n` (`n > 0`).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_round_trip_and_detect_corruption() {
        for len in [8, 9, 100] {
            let mut r = make_record(42, len);
            assert_eq!(check_record(&r), 42);
            let mut filled = vec![0; len];
            fill_record(42, &mut filled);
            assert_eq!(filled, r);
            if len > 8 {
                r[len - 1] ^= 1;
                assert!(std::panic::catch_unwind(|| check_record(&r)).is_err());
            }
        }
    }
}
