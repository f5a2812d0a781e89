//! loom models of `ring-spsc`: wrap-around, batched publication and flush, growth while the
//! consumer is mid-buffer. Each checks that every record arrives once, in order and intact;
//! loom itself reports unordered (racy) access to the ring's bytes, and the ring's loom-only
//! checks turn a use-after-free or double free into a panic and a leaked buffer into a loom
//! leak error.
//!
//! `LOOM_MAX_PREEMPTIONS=4 RUSTFLAGS="--cfg loom" CARGO_TARGET_DIR=target-loom cargo test -p
//! verification --release --test loom_ring`
#![cfg(loom)]

use loom::thread;
use ring_spsc::{Config, Consumer, Error, Producer, channel};
use verification::{check_record, make_record};

fn model(f: impl Fn() + Sync + Send + 'static) {
    let mut builder = loom::model::Builder::new();
    if builder.preemption_bound.is_none() {
        builder.preemption_bound = Some(4);
    }
    builder.check(f);
}

/// Pushes record `seq`, spinning (with loom yields) while a fixed-size ring is full.
fn push_spin(tx: &mut Producer, seq: u64, len: usize) {
    let record = make_record(seq, len);
    loop {
        match tx.push(&record) {
            Ok(()) => return,
            Err(Error::Full) => thread::yield_now(),
            Err(e) => panic!("push failed: {e}"),
        }
    }
}

/// Receives `lens.len()` records one by one and checks sequence, length and content.
fn pop_all(rx: &mut Consumer, lens: &[usize]) {
    for (expected, &len) in lens.iter().enumerate() {
        loop {
            if let Some(record) = rx.peek() {
                assert_eq!(record.len(), len, "record {expected} has the wrong length");
                assert_eq!(
                    check_record(record),
                    expected as u64,
                    "lost, duplicated or reordered"
                );
                assert!(rx.release());
                break;
            }
            thread::yield_now();
        }
    }
    assert_eq!(rx.peek(), None, "a record arrived twice");
}

#[test]
fn push_pop_across_wrap() {
    // 64-byte fixed ring, 24-byte items: two fit, the third must wait for both releases, then
    // wraps behind a wrap marker; the fourth lands right after it.
    model(|| {
        let (mut tx, mut rx) = channel(Config::new(64).with_max_capacity(64)).unwrap();
        const LENS: [usize; 4] = [16, 16, 16, 8];
        let producer = thread::spawn(move || {
            for (seq, len) in LENS.into_iter().enumerate() {
                push_spin(&mut tx, seq as u64, len);
            }
        });
        pop_all(&mut rx, &LENS);
        producer.join().unwrap();
    });
}

#[test]
fn exact_fit_then_implicit_wrap() {
    // An item ending exactly at the end of the buffer: the next one starts at offset 0 with no
    // marker, reusing bytes the consumer released.
    model(|| {
        let (mut tx, mut rx) = channel(Config::new(64).with_max_capacity(64)).unwrap();
        const LENS: [usize; 3] = [24, 24, 16];
        let producer = thread::spawn(move || {
            for (seq, len) in LENS.into_iter().enumerate() {
                push_spin(&mut tx, seq as u64, len);
            }
        });
        pop_all(&mut rx, &LENS);
        producer.join().unwrap();
    });
}

#[test]
fn batched_publication_and_flush() {
    // Publication every 2 records plus an explicit flush for the odd one out; the consumer reads
    // in batches (one release store per batch) and across a wrap.
    model(|| {
        let config = Config::new(64).with_max_capacity(64).with_publish_every(2);
        let (mut tx, mut rx) = channel(config).unwrap();
        const LENS: [usize; 3] = [16, 16, 8];
        let producer = thread::spawn(move || {
            for (seq, len) in LENS.into_iter().enumerate() {
                // A fixed ring with unpublished records must flush before spinning, or the
                // consumer could never free space: exactly what a real producer does too.
                let record = make_record(seq as u64, len);
                while tx.push(&record) == Err(Error::Full) {
                    tx.flush();
                    thread::yield_now();
                }
            }
            assert_eq!(tx.pending(), 1);
            tx.flush();
            assert_eq!(tx.pending(), 0);
        });
        let mut next = 0;
        while next < LENS.len() {
            let batch = rx.peek_batch(usize::MAX);
            if batch.is_empty() {
                thread::yield_now();
                continue;
            }
            for record in &batch {
                assert_eq!(record.len(), LENS[next]);
                assert_eq!(check_record(record), next as u64);
                next += 1;
            }
            batch.release();
        }
        assert!(rx.peek().is_none());
        producer.join().unwrap();
    });
}

#[test]
fn growth_while_consumer_is_mid_buffer() {
    // Unbounded 64-byte ring, producer never waits: depending on how far the consumer got it
    // wraps or grows (possibly twice, chaining buffers while the consumer is still in the
    // first). The last record can never fit in 64 bytes, so at least one growth always happens.
    model(|| {
        let config = Config::new(64).with_realloc_multiplier(1.5);
        let (mut tx, mut rx) = channel(config).unwrap();
        const LENS: [usize; 4] = [16, 16, 16, 60];
        let producer = thread::spawn(move || {
            for (seq, len) in LENS.into_iter().enumerate() {
                tx.push(&make_record(seq as u64, len)).unwrap();
            }
            assert!(tx.capacity() > 64);
        });
        pop_all(&mut rx, &LENS);
        assert!(
            rx.capacity() > 64,
            "consumer did not follow the forward marker"
        );
        producer.join().unwrap();
    });
}

#[test]
fn consumer_dropped_mid_buffer_frees_everything_once() {
    // The consumer stops after one record while the producer keeps growing; the last side to go
    // frees the remaining chain. loom's leak check and the ring's double-free check apply.
    model(|| {
        let (mut tx, mut rx) = channel(Config::new(64)).unwrap();
        let producer = thread::spawn(move || {
            for seq in 0..3 {
                tx.push(&make_record(seq, 40)).unwrap();
            }
        });
        loop {
            if let Some(record) = rx.peek() {
                assert_eq!(check_record(record), 0);
                rx.release();
                break;
            }
            thread::yield_now();
        }
        drop(rx);
        producer.join().unwrap();
    });
}
