//! Helpers shared by the benches: the per-record work every contender does, and rtrb's
//! length-prefixed records over a chunk's two halves.
#![allow(dead_code)]

use std::hint::black_box;
use std::mem::MaybeUninit;

/// rtrb's length prefix.
pub const PREFIX: usize = 4;

/// The consumer's work on one record: copy it out.
#[inline(always)]
pub fn consume(scratch: &mut [u8], record: &[u8]) {
    scratch[..record.len()].copy_from_slice(record);
    black_box(scratch.as_ptr());
}

pub fn source_record(len: usize) -> Vec<u8> {
    (0..len).map(|i| i as u8).collect()
}

/// Copies `src` into `dst`.
#[inline(always)]
pub fn copy_to_uninit(dst: &mut [MaybeUninit<u8>], src: &[u8]) {
    assert_eq!(dst.len(), src.len());
    // SAFETY: `MaybeUninit<u8>` has `u8`'s layout, both slices are `src.len()` bytes long, and a
    // shared and an exclusive borrow cannot overlap.
    unsafe {
        std::ptr::copy_nonoverlapping(src.as_ptr(), dst.as_mut_ptr().cast::<u8>(), src.len())
    };
}

/// Copies `src` to offset `at` of the concatenation `first ++ second` (an rtrb chunk's halves).
#[inline(always)]
pub fn write_split(
    first: &mut [MaybeUninit<u8>],
    second: &mut [MaybeUninit<u8>],
    at: usize,
    src: &[u8],
) {
    let (rest, second_at) = if at < first.len() {
        let n = (first.len() - at).min(src.len());
        copy_to_uninit(&mut first[at..at + n], &src[..n]);
        (&src[n..], 0)
    } else {
        (src, at - first.len())
    };
    copy_to_uninit(&mut second[second_at..second_at + rest.len()], rest);
}

/// Copies `dst.len()` bytes from offset `at` of `first ++ second` into `dst`.
#[inline(always)]
pub fn read_split(first: &[u8], second: &[u8], at: usize, dst: &mut [u8]) {
    if at >= first.len() {
        let at = at - first.len();
        dst.copy_from_slice(&second[at..at + dst.len()]);
    } else {
        let n = (first.len() - at).min(dst.len());
        let (head, tail) = dst.split_at_mut(n);
        head.copy_from_slice(&first[at..at + n]);
        tail.copy_from_slice(&second[..tail.len()]);
    }
}

/// rtrb: writes one length-prefixed record with `write_chunk_uninit`; `false` when full.
#[inline(always)]
pub fn rtrb_try_push(tx: &mut rtrb::Producer<u8>, record: &[u8]) -> bool {
    let Ok(mut chunk) = tx.write_chunk_uninit(PREFIX + record.len()) else {
        return false;
    };
    let (first, second) = chunk.as_mut_slices();
    write_split(first, second, 0, &(record.len() as u32).to_le_bytes());
    write_split(first, second, PREFIX, record);
    // SAFETY: the two writes above initialised all `PREFIX + record.len()` slots.
    unsafe { chunk.commit_all() };
    true
}

/// rtrb: reads one length-prefixed record into `scratch` (`len` bytes expected) with
/// `read_chunk`; `false` when empty.
#[inline(always)]
pub fn rtrb_try_pop(rx: &mut rtrb::Consumer<u8>, scratch: &mut [u8], len: usize) -> bool {
    // Peek at the prefix (a dropped `ReadChunk` consumes nothing), then take the record.
    let Ok(prefix) = rx.read_chunk(PREFIX) else {
        return false;
    };
    let (first, second) = prefix.as_slices();
    let mut word = [0u8; PREFIX];
    read_split(first, second, 0, &mut word);
    let record_len = u32::from_le_bytes(word) as usize;
    assert_eq!(record_len, len);
    let chunk = rx
        .read_chunk(PREFIX + record_len)
        .expect("prefix and payload are committed together");
    let (first, second) = chunk.as_slices();
    read_split(first, second, PREFIX, &mut scratch[..record_len]);
    black_box(scratch.as_ptr());
    chunk.commit_all();
    true
}

/// rtrb: reads up to `max` length-prefixed records (`len` bytes expected) with one `read_chunk`
/// and one commit; returns how many.
#[inline(always)]
pub fn rtrb_pop_batch(
    rx: &mut rtrb::Consumer<u8>,
    scratch: &mut [u8],
    len: usize,
    max: usize,
) -> usize {
    let slots = rx.slots();
    if slots == 0 {
        return 0;
    }
    let chunk = rx.read_chunk(slots).expect("slots() bytes are readable");
    let (first, second) = chunk.as_slices();
    let (mut at, mut count) = (0, 0);
    // The producer commits whole records, so `slots` ends on a record boundary.
    while at < slots && count < max {
        let mut word = [0u8; PREFIX];
        read_split(first, second, at, &mut word);
        let record_len = u32::from_le_bytes(word) as usize;
        assert_eq!(record_len, len);
        read_split(first, second, at + PREFIX, &mut scratch[..record_len]);
        black_box(scratch.as_ptr());
        at += PREFIX + record_len;
        count += 1;
    }
    chunk.commit(at);
    count
}
