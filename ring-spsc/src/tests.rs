//! Unit tests of the public API on one thread, plus a small two-thread smoke test.

use alloc::vec::Vec;
use std::thread;

use super::*;

fn fixed(cap: usize) -> (Producer, Consumer) {
    channel(Config::new(cap).with_max_capacity(cap)).unwrap()
}

fn pop(rx: &mut Consumer) -> Option<Vec<u8>> {
    let record = rx.peek()?.to_vec();
    assert!(rx.release());
    Some(record)
}

fn payload(seq: usize, len: usize) -> Vec<u8> {
    (0..len).map(|i| (seq * 31 + i) as u8).collect()
}

#[test]
fn push_peek_release() {
    let (mut tx, mut rx) = channel(Config::new(256)).unwrap();
    assert!(rx.is_empty());
    assert_eq!(rx.peek(), None);
    assert!(!rx.release());
    tx.push(b"abc").unwrap();
    tx.push(b"").unwrap();
    assert!(!rx.is_empty());
    assert_eq!(rx.peek(), Some(&b"abc"[..]));
    // Peeking again returns the same record until it is released.
    assert_eq!(rx.peek(), Some(&b"abc"[..]));
    assert!(rx.release());
    assert!(!rx.release());
    assert_eq!(rx.peek(), Some(&b""[..]));
    assert!(rx.release());
    assert_eq!(rx.peek(), None);
    assert!(rx.is_empty());
}

#[test]
fn payload_is_eight_byte_aligned() {
    let (mut tx, mut rx) = channel(Config::new(256)).unwrap();
    for len in [0, 1, 7, 8, 9, 30] {
        tx.push(&payload(len, len)).unwrap();
        let p = rx.peek().unwrap();
        assert_eq!(p.as_ptr() as usize % 8, 0);
        assert_eq!(p, payload(len, len));
        rx.release();
    }
}

#[test]
fn config_validation() {
    let bad = [
        Config::new(8),
        Config::new(64).with_max_capacity(32),
        Config::new(64).with_realloc_multiplier(1.0),
        Config::new(64).with_realloc_multiplier(f64::NAN),
        Config::new(64).with_publish_every(0),
        Config::new(64).with_max_record_len(MAX_RECORD_LEN_LIMIT + 1),
    ];
    for config in bad {
        assert!(matches!(channel(config), Err(Error::InvalidConfig(_))));
    }
    // Rounded up to a multiple of the header size.
    let (tx, _rx) = channel(Config::new(61)).unwrap();
    assert_eq!(tx.capacity(), 64);
    assert_eq!(Config::default().initial_capacity(), 64 << 20);
    assert_eq!(Config::outbound().initial_capacity(), 128 << 20);
}

#[test]
fn too_large_is_an_error_not_a_hang() {
    let (mut tx, mut rx) = channel(Config::new(64).with_max_record_len(100)).unwrap();
    assert_eq!(
        tx.push(&[0; 101]),
        Err(Error::TooLarge { len: 101, max: 100 })
    );
    // Still usable, and a record larger than the buffer (but within the limit) grows it.
    tx.push(&[7; 100]).unwrap();
    assert!(tx.capacity() >= 100 + 2 * RECORD_HEADER_LEN);
    assert_eq!(pop(&mut rx).unwrap(), [7; 100]);
    // A bounded ring caps the record size at what fits.
    let (mut tx, _rx) = fixed(64);
    assert_eq!(tx.push(&[0; 49]), Err(Error::TooLarge { len: 49, max: 48 }));
    tx.push(&[0; 48]).unwrap();
}

#[test]
fn fixed_ring_wraps_and_reports_full() {
    let (mut tx, mut rx) = fixed(64);
    // 16-byte records: 3 fit (48 bytes plus 8 reserved for a marker).
    for i in 0..3 {
        tx.push(&payload(i, 8)).unwrap();
    }
    assert_eq!(tx.push(&payload(3, 8)), Err(Error::Full));
    let mut next = 0;
    for round in 0..50 {
        assert_eq!(pop(&mut rx).unwrap(), payload(next, 8), "round {round}");
        next += 1;
        let seq = next + 2;
        tx.push(&payload(seq, 8)).unwrap();
    }
    // A record that does not fit before the end wraps to the start behind a marker.
    while let Some(r) = pop(&mut rx) {
        assert_eq!(r, payload(next, 8));
        next += 1;
    }
    // 53 records of 16 bytes went through: the producer is at offset 16.
    tx.push(&payload(100, 20)).unwrap(); // [16, 48)
    // [48, 64) is too short and the start is still occupied: full, even though 16 + 8 bytes
    // are free in total.
    assert_eq!(tx.push(&payload(101, 20)), Err(Error::Full));
    assert_eq!(pop(&mut rx).unwrap(), payload(100, 20));
    tx.push(&payload(101, 20)).unwrap(); // wrap marker at 48, record at [0, 32)
    assert_eq!(pop(&mut rx).unwrap(), payload(101, 20));
    assert_eq!(pop(&mut rx), None);
    assert_eq!(tx.capacity(), 64);
}

#[test]
fn record_ending_exactly_at_the_end() {
    let (mut tx, mut rx) = fixed(64);
    tx.push(&payload(0, 24)).unwrap(); // 32 bytes: [0, 32)
    assert_eq!(pop(&mut rx).unwrap(), payload(0, 24));
    tx.push(&payload(1, 24)).unwrap(); // [32, 64): ends exactly at the end
    tx.push(&payload(2, 16)).unwrap(); // [0, 24) without a marker
    assert_eq!(pop(&mut rx).unwrap(), payload(1, 24));
    assert_eq!(pop(&mut rx).unwrap(), payload(2, 16));
    assert_eq!(pop(&mut rx), None);
}

#[test]
fn wrap_marker_then_record_at_start() {
    let (mut tx, mut rx) = fixed(64);
    tx.push(&payload(0, 24)).unwrap(); // [0, 32)
    tx.push(&payload(1, 8)).unwrap(); // [32, 48)
    assert_eq!(pop(&mut rx).unwrap(), payload(0, 24));
    // 24 bytes do not fit in [48, 64): wrap marker at 48, record at [0, 24).
    tx.push(&payload(2, 16)).unwrap();
    assert_eq!(pop(&mut rx).unwrap(), payload(1, 8));
    assert_eq!(pop(&mut rx).unwrap(), payload(2, 16));
    assert_eq!(pop(&mut rx), None);
}

#[test]
fn grows_while_consumer_is_mid_buffer() {
    let (mut tx, mut rx) = channel(Config::new(64).with_realloc_multiplier(1.5)).unwrap();
    let mut sent = 0;
    let mut received = 0;
    let mut caps = Vec::new();
    for round in 0..200 {
        for _ in 0..(round % 7) {
            let len = (sent * 13) % 57;
            tx.push(&payload(sent, len)).unwrap();
            sent += 1;
        }
        caps.push(tx.capacity());
        for _ in 0..(round % 5) {
            if let Some(r) = pop(&mut rx) {
                assert_eq!(r, payload(received, (received * 13) % 57));
                received += 1;
            }
        }
    }
    while let Some(r) = pop(&mut rx) {
        assert_eq!(r, payload(received, (received * 13) % 57));
        received += 1;
    }
    assert_eq!(received, sent);
    assert!(caps.windows(2).all(|w| w[0] <= w[1]));
    assert!(*caps.last().unwrap() > 64, "the ring never grew");
    assert_eq!(rx.capacity(), tx.capacity());
}

#[test]
fn growth_chain_before_the_consumer_moves() {
    // The producer grows several times while the consumer still sits in the first buffer.
    let (mut tx, mut rx) = channel(Config::new(64).with_realloc_multiplier(2.0)).unwrap();
    for i in 0..100 {
        tx.push(&payload(i, i % 40)).unwrap();
    }
    assert!(tx.capacity() >= 1024);
    assert_eq!(rx.capacity(), 64);
    for i in 0..100 {
        assert_eq!(pop(&mut rx).unwrap(), payload(i, i % 40));
    }
    assert_eq!(rx.capacity(), tx.capacity());
}

#[test]
fn growth_respects_max_capacity() {
    let (mut tx, mut rx) = channel(Config::new(64).with_max_capacity(100)).unwrap();
    let mut n = 0;
    while tx.push(&payload(n, 8)).is_ok() {
        n += 1;
    }
    assert_eq!(tx.push(&payload(n, 8)), Err(Error::Full));
    assert_eq!(tx.capacity(), 96);
    for i in 0..n {
        assert_eq!(pop(&mut rx).unwrap(), payload(i, 8));
    }
    tx.push(&payload(n, 8)).unwrap();
    assert_eq!(pop(&mut rx).unwrap(), payload(n, 8));
}

#[test]
fn batched_publication_and_flush() {
    let (mut tx, mut rx) = channel(Config::new(256).with_publish_every(3)).unwrap();
    tx.push(b"a").unwrap();
    tx.push(b"b").unwrap();
    assert_eq!(tx.pending(), 2);
    assert!(rx.is_empty(), "published before the batch was full");
    assert_eq!(rx.peek(), None);
    tx.push(b"c").unwrap();
    assert_eq!(tx.pending(), 0);
    assert_eq!(pop(&mut rx).unwrap(), b"a");
    tx.push(b"d").unwrap();
    assert_eq!(pop(&mut rx).unwrap(), b"b");
    assert_eq!(pop(&mut rx).unwrap(), b"c");
    assert_eq!(pop(&mut rx), None);
    tx.flush();
    assert_eq!(pop(&mut rx).unwrap(), b"d");
    // Dropping the producer flushes.
    tx.push(b"e").unwrap();
    assert_eq!(rx.peek(), None);
    drop(tx);
    assert!(rx.is_abandoned());
    assert_eq!(pop(&mut rx).unwrap(), b"e");
}

#[test]
fn used_bytes_follow_records_through_growth() {
    let config = Config::new(64)
        .with_realloc_multiplier(2.0)
        .with_publish_every(2);
    let (mut tx, mut rx) = channel(config).unwrap();
    assert_eq!((tx.used_bytes(), rx.used_bytes()), (0, 0));
    tx.push(&[1; 5]).unwrap(); // 8-byte header + 5, padded: 16
    assert_eq!(tx.used_bytes(), 16);
    assert_eq!(rx.used_bytes(), 0, "not published yet");
    tx.push(&[2; 8]).unwrap(); // 16 more, and both are published
    assert_eq!((tx.used_bytes(), rx.used_bytes()), (32, 32));
    assert!(rx.peek().is_some());
    assert_eq!(rx.used_bytes(), 32, "peeked is not released");
    assert!(rx.release());
    assert_eq!((tx.used_bytes(), rx.used_bytes()), (16, 16));
    // Through several growths: everything is counted until released, then nothing is left.
    for i in 0..100 {
        tx.push(&payload(i, i % 40)).unwrap();
    }
    tx.flush();
    assert!(tx.capacity() >= 1024);
    let records = 16
        + (0..100usize)
            .map(|i| (8 + i % 40).next_multiple_of(8))
            .sum::<usize>();
    assert_eq!(rx.used_bytes(), tx.used_bytes());
    assert!(
        rx.used_bytes() >= records,
        "{} < {records}",
        rx.used_bytes()
    );
    while pop(&mut rx).is_some() {}
    assert_eq!((tx.used_bytes(), rx.used_bytes()), (0, 0));
}

#[test]
fn write_slot_commit_shorter_and_abandon() {
    let (mut tx, mut rx) = fixed(128);
    let mut slot = tx.reserve(40).unwrap();
    assert_eq!(slot.len(), 40);
    slot[..3].copy_from_slice(b"xyz");
    slot.commit(3);
    // Dropping a slot commits nothing.
    {
        let _unused = tx.reserve(10).unwrap();
    }
    let mut slot = tx.reserve(2).unwrap();
    slot.copy_from_slice(b"ok");
    slot.commit_all();
    assert_eq!(pop(&mut rx).unwrap(), b"xyz");
    assert_eq!(pop(&mut rx).unwrap(), b"ok");
    assert_eq!(pop(&mut rx), None);
}

#[test]
#[should_panic(expected = "committed 5 bytes of a 4-byte slot")]
fn commit_beyond_reservation_panics() {
    let (mut tx, _rx) = fixed(128);
    tx.reserve(4).unwrap().commit(5);
}

#[test]
fn batches_across_wrap_and_forward() {
    let (mut tx, mut rx) = channel(Config::new(64)).unwrap();
    tx.push(&payload(0, 16)).unwrap(); // [0, 24)
    tx.push(&payload(1, 16)).unwrap(); // [24, 48)
    assert_eq!(pop(&mut rx).unwrap(), payload(0, 16));
    tx.push(&payload(2, 8)).unwrap(); // wraps: marker at 48, [0, 16)
    {
        let batch = rx.peek_batch(10);
        assert_eq!(batch.len(), 2);
        let all: Vec<&[u8]> = batch.iter().collect();
        assert_eq!(all, [&payload(1, 16)[..], &payload(2, 8)[..]]);
    }
    // Not released: the same records come again.
    let batch = rx.peek_batch(1);
    assert_eq!(batch.iter().collect::<Vec<_>>(), [&payload(1, 16)[..]]);
    batch.release();
    // Force growth; the batch stops at the forward marker, the next one continues.
    for i in 3..10 {
        tx.push(&payload(i, 20)).unwrap();
    }
    assert!(tx.capacity() > 64);
    let mut next = 2;
    loop {
        let batch = rx.peek_batch(usize::MAX);
        if batch.is_empty() {
            break;
        }
        for r in &batch {
            let len = if next == 2 { 8 } else { 20 };
            assert_eq!(r, payload(next, len));
            next += 1;
        }
        batch.release();
    }
    assert_eq!(next, 10);
    assert!(rx.peek_batch(0).is_empty());
}

#[test]
fn drop_with_records_in_several_buffers() {
    let (mut tx, rx) = channel(Config::new(64)).unwrap();
    for i in 0..50 {
        tx.push(&payload(i, 30)).unwrap();
    }
    drop(rx);
    assert!(tx.is_abandoned());
    tx.push(b"nobody reads this").unwrap();
    drop(tx);
}

#[test]
fn large_untouched_default_ring() {
    // The default 64 MiB ring works; that its pages stay untouched until used is checked by
    // verification/tests/alloc_accounting.rs, which can read resident memory undisturbed.
    let (mut tx, mut rx) = channel(Config::inbound()).unwrap();
    tx.push(b"x").unwrap();
    assert_eq!(pop(&mut rx).unwrap(), b"x");
}

#[test]
fn two_threads_in_order() {
    const N: usize = 20_000;
    let (mut tx, mut rx) = channel(Config::new(256).with_publish_every(4)).unwrap();
    let producer = thread::spawn(move || {
        for i in 0..N {
            let len = 8 + i % 70;
            let mut rec = payload(i, len);
            rec[..8].copy_from_slice(&(i as u64).to_le_bytes());
            tx.push(&rec).unwrap();
            if i % 16 == 0 {
                tx.flush();
            }
        }
    });
    let mut next = 0;
    while next < N {
        let Some(r) = rx.peek() else {
            if rx.is_abandoned() && rx.is_empty() {
                break;
            }
            thread::yield_now();
            continue;
        };
        assert_eq!(u64::from_le_bytes(r[..8].try_into().unwrap()), next as u64);
        assert_eq!(&r[8..], &payload(next, 8 + next % 70)[8..]);
        rx.release();
        next += 1;
    }
    producer.join().unwrap();
    assert_eq!(next, N);
}
