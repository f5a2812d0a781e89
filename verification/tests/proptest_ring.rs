//! Random single-threaded sequences of push / reserve-and-abandon / pop / batch / flush, with
//! growth forced by small rings and large records, checked against a `VecDeque` model.
#![cfg(not(loom))]

use std::collections::VecDeque;

use proptest::prelude::*;
use ring_spsc::{Config, Error, RECORD_HEADER_LEN, channel};
use verification::{check_record, make_record};

#[derive(Clone, Debug)]
enum Op {
    Push(usize),
    /// Reserve a slot and drop it uncommitted.
    Abandon(usize),
    /// Reserve `.0`, commit only `.1` bytes of it.
    CommitShort(usize, usize),
    Pop,
    /// Peek up to `.0` records; release them if `.1`.
    Batch(usize, bool),
    Flush,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (8usize..120).prop_map(Op::Push),
        1 => (8usize..400).prop_map(Op::Push),
        1 => (0usize..200).prop_map(Op::Abandon),
        1 => (8usize..100, 0usize..100).prop_map(|(a, b)| Op::CommitShort(a, b)),
        4 => Just(Op::Pop),
        2 => (0usize..6, any::<bool>()).prop_map(|(n, r)| Op::Batch(n, r)),
        1 => Just(Op::Flush),
    ]
}

#[derive(Clone, Debug)]
struct Setup {
    initial: usize,
    max_capacity: Option<usize>,
    multiplier: f64,
    publish_every: usize,
}

fn setup() -> impl Strategy<Value = Setup> {
    (
        32usize..300,
        prop::option::of(0usize..600),
        prop::sample::select(vec![1.05, 1.5, 2.0, 4.0]),
        1usize..5,
    )
        .prop_map(|(initial, extra, multiplier, publish_every)| Setup {
            initial,
            max_capacity: extra.map(|e| initial.next_multiple_of(8) + e),
            multiplier,
            publish_every,
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn ring_matches_vecdeque(setup in setup(), ops in prop::collection::vec(op(), 1..300)) {
        let mut config = Config::new(setup.initial)
            .with_realloc_multiplier(setup.multiplier)
            .with_publish_every(setup.publish_every);
        if let Some(max) = setup.max_capacity {
            config = config.with_max_capacity(max);
        }
        let (mut tx, mut rx) = channel(config).unwrap();
        let max_len = setup
            .max_capacity
            .map_or(usize::MAX, |m| m - m % RECORD_HEADER_LEN - 2 * RECORD_HEADER_LEN);
        // Records visible to the consumer, and committed but not yet published.
        let mut published: VecDeque<Vec<u8>> = VecDeque::new();
        let mut pending: Vec<Vec<u8>> = Vec::new();
        let mut seq = 0u64;
        let mut last_cap = tx.capacity();

        for op in ops {
            match op {
                Op::Push(len) | Op::CommitShort(len, _) => {
                    let commit = match op {
                        Op::CommitShort(_, c) => c.clamp(8, len),
                        _ => len,
                    };
                    let record = make_record(seq, commit);
                    match tx.reserve(len) {
                        Ok(mut slot) => {
                            slot[..commit].copy_from_slice(&record);
                            slot.commit(commit);
                            seq += 1;
                            pending.push(record);
                            if pending.len() >= setup.publish_every {
                                published.extend(pending.drain(..));
                            }
                        }
                        Err(Error::TooLarge { len: l, max }) => {
                            prop_assert_eq!(l, len);
                            prop_assert!(len > max && max == max_len);
                        }
                        Err(Error::Full) => prop_assert!(setup.max_capacity.is_some()),
                        Err(e) => prop_assert!(false, "unexpected error {e}"),
                    }
                }
                Op::Abandon(len) => {
                    // Dropping the slot commits nothing (it may still wrap or grow).
                    let _ = tx.reserve(len).map(|mut slot| slot.fill(0xee));
                }
                Op::Pop => {
                    let got = rx.peek().map(<[u8]>::to_vec);
                    prop_assert_eq!(got.as_ref(), published.front());
                    if let Some(record) = got {
                        check_record(&record);
                        prop_assert!(rx.release());
                        published.pop_front();
                    } else {
                        prop_assert!(!rx.release());
                    }
                }
                Op::Batch(max, release) => {
                    let batch = rx.peek_batch(max);
                    let got: Vec<Vec<u8>> = batch.iter().map(<[u8]>::to_vec).collect();
                    prop_assert!(got.len() <= max);
                    prop_assert_eq!(got.len(), batch.len());
                    // A batch is a prefix of what is published (it may stop early at a
                    // buffer change, but never returns nothing while records are waiting,
                    // unless max is 0).
                    prop_assert!(got.iter().zip(published.iter()).all(|(a, b)| a == b));
                    prop_assert!(max == 0 || published.is_empty() || !got.is_empty());
                    if release {
                        batch.release();
                        published.drain(..got.len());
                    }
                }
                Op::Flush => {
                    tx.flush();
                    published.extend(pending.drain(..));
                }
            }
            prop_assert_eq!(tx.pending(), pending.len());
            prop_assert!(tx.capacity() >= last_cap, "capacity shrank");
            last_cap = tx.capacity();
            if let Some(max) = setup.max_capacity {
                prop_assert!(tx.capacity() <= max);
            }
        }
        // Drain everything after a final flush: nothing lost, duplicated or reordered.
        tx.flush();
        published.extend(pending.drain(..));
        while let Some(record) = rx.peek() {
            prop_assert_eq!(Some(&record.to_vec()), published.front());
            published.pop_front();
            rx.release();
        }
        prop_assert!(published.is_empty());
        prop_assert!(rx.is_empty());
    }
}
