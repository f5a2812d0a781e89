//! Cross-thread throughput of `ring-spsc` against `rtrb` and `crossbeam`'s `ArrayQueue`, for
//! 16 B, 256 B and 4 KiB records (issue 3).
//!
//! One producer thread, the consumer on the benchmark thread; one criterion iteration moves one
//! record, so criterion reports records/s and payload bytes/s (`Throughput::ElementsAndBytes`).
//! Every contender does the same work per record: the producer copies the record's bytes into the
//! queue, the consumer copies them out into a scratch buffer (for `ArrayQueue`, `pop` is that
//! copy). Every queue holds 1 MiB of records and never grows.
//!
//! * `ring-spsc push/peek k=1`: `push`, `peek` + `release`, publication after every record.
//! * `ring-spsc push/peek k=16`: the same with `Config::with_publish_every(16)`.
//! * `ring-spsc reserve/peek_batch k=16`: in-place `reserve` + `commit`, the consumer reads up to
//!   64 records with `peek_batch` and releases them with one store.
//! * `rtrb chunk`: `RingBuffer<u8>` carrying the same bytes behind a 4-byte length prefix:
//!   `write_chunk_uninit` + `commit_all` per record; `read_chunk` per record.
//! * `rtrb chunk batch-read`: the same producer; the consumer takes every readable byte (up to 64
//!   records) with one `read_chunk` and commits it once, like `peek_batch`.
//! * `crossbeam ArrayQueue`: `ArrayQueue<[u8; N]>`, `push` / `pop`.
//!
//! `cargo bench -p ring-spsc --bench throughput -- --warm-up-time 1 --measurement-time 3`
#![allow(missing_docs)]

use std::hint::{black_box, spin_loop};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use crossbeam_queue::ArrayQueue;
use ring_spsc::{Config, Error, channel};

mod common;
use common::{consume, rtrb_pop_batch, rtrb_try_pop, rtrb_try_push, source_record};

/// Bytes of records every queue holds.
const RING_BYTES: usize = 1 << 20;
/// ring-spsc's `publish_every` in the batched variants.
const PUBLISH_EVERY: usize = 16;
/// Most records one batched read takes.
const READ_BATCH: usize = 64;

/// Spins a little, then yields: with two cores shared with other work, the peer thread may not be
/// running at all, and pure spinning would burn its time slice.
struct Backoff(u32);

impl Backoff {
    fn new() -> Self {
        Self(0)
    }

    fn reset(&mut self) {
        self.0 = 0;
    }

    fn snooze(&mut self) {
        if self.0 < 64 {
            self.0 += 1;
            spin_loop();
        } else {
            thread::yield_now();
        }
    }
}

fn fixed_config(k: usize) -> Config {
    Config::new(RING_BYTES)
        .with_max_capacity(RING_BYTES)
        .with_publish_every(k)
}

/// ring-spsc producer: `push` every record, flushing and backing off while full.
fn spsc_push_all(mut tx: ring_spsc::Producer, len: usize, iters: u64) {
    let record = source_record(len);
    let mut backoff = Backoff::new();
    for _ in 0..iters {
        loop {
            match tx.push(&record) {
                Ok(()) => break,
                Err(Error::Full) => {
                    tx.flush();
                    backoff.snooze();
                }
                Err(e) => panic!("{e}"),
            }
        }
        backoff.reset();
    }
    tx.flush();
}

/// ring-spsc: `push` / `peek` + `release`, publication every `k` records.
fn ring_spsc_single(len: usize, k: usize, iters: u64) -> Duration {
    let (tx, mut rx) = channel(fixed_config(k)).unwrap();
    let producer = thread::spawn(move || spsc_push_all(tx, len, iters));
    let mut scratch = vec![0u8; len];
    let mut backoff = Backoff::new();
    let start = Instant::now();
    let mut n = 0;
    while n < iters {
        if let Some(record) = rx.peek() {
            assert_eq!(record.len(), len);
            consume(&mut scratch, record);
            rx.release();
            n += 1;
            backoff.reset();
        } else {
            backoff.snooze();
        }
    }
    let elapsed = start.elapsed();
    producer.join().unwrap();
    elapsed
}

/// ring-spsc: in-place `reserve` / `commit`, the consumer reads `peek_batch(64)` and releases
/// each batch with one store.
fn ring_spsc_batch(len: usize, k: usize, iters: u64) -> Duration {
    let (mut tx, mut rx) = channel(fixed_config(k)).unwrap();
    let producer = thread::spawn(move || {
        let record = source_record(len);
        let mut backoff = Backoff::new();
        for _ in 0..iters {
            loop {
                match tx.reserve(len) {
                    Ok(mut slot) => {
                        slot.copy_from_slice(&record);
                        slot.commit_all();
                        break;
                    }
                    Err(Error::Full) => {
                        tx.flush();
                        backoff.snooze();
                    }
                    Err(e) => panic!("{e}"),
                }
            }
            backoff.reset();
        }
        tx.flush();
    });
    let mut scratch = vec![0u8; len];
    let mut backoff = Backoff::new();
    let start = Instant::now();
    let mut n = 0;
    while n < iters {
        let batch = rx.peek_batch(READ_BATCH);
        if batch.is_empty() {
            backoff.snooze();
            continue;
        }
        for record in &batch {
            assert_eq!(record.len(), len);
            consume(&mut scratch, record);
        }
        n += batch.len() as u64;
        batch.release();
        backoff.reset();
    }
    let elapsed = start.elapsed();
    producer.join().unwrap();
    elapsed
}

/// rtrb producer: one `write_chunk_uninit(4 + len)` per record, length prefix then payload.
fn rtrb_push_all(mut tx: rtrb::Producer<u8>, len: usize, iters: u64) {
    let record = source_record(len);
    let mut backoff = Backoff::new();
    for _ in 0..iters {
        while !rtrb_try_push(&mut tx, &record) {
            backoff.snooze();
        }
        backoff.reset();
    }
}

/// rtrb: length-prefixed records through the chunk API, one `read_chunk` per record.
fn rtrb_chunk(len: usize, iters: u64) -> Duration {
    let (tx, mut rx) = rtrb::RingBuffer::<u8>::new(RING_BYTES);
    let producer = thread::spawn(move || rtrb_push_all(tx, len, iters));
    let mut scratch = vec![0u8; len];
    let mut backoff = Backoff::new();
    let start = Instant::now();
    let mut n = 0;
    while n < iters {
        if rtrb_try_pop(&mut rx, &mut scratch, len) {
            n += 1;
            backoff.reset();
        } else {
            backoff.snooze();
        }
    }
    let elapsed = start.elapsed();
    producer.join().unwrap();
    elapsed
}

/// rtrb: as [`rtrb_chunk`], but the consumer takes up to 64 records with one `read_chunk` and
/// commits them at once.
fn rtrb_chunk_batch(len: usize, iters: u64) -> Duration {
    let (tx, mut rx) = rtrb::RingBuffer::<u8>::new(RING_BYTES);
    let producer = thread::spawn(move || rtrb_push_all(tx, len, iters));
    let mut scratch = vec![0u8; len];
    let mut backoff = Backoff::new();
    let start = Instant::now();
    let mut n = 0;
    while n < iters {
        let count = rtrb_pop_batch(&mut rx, &mut scratch, len, READ_BATCH);
        if count == 0 {
            backoff.snooze();
        } else {
            n += count as u64;
            backoff.reset();
        }
    }
    let elapsed = start.elapsed();
    producer.join().unwrap();
    elapsed
}

/// crossbeam: `ArrayQueue<[u8; N]>` holding `RING_BYTES / N` records, `push` / `pop`.
fn crossbeam_array<const N: usize>(iters: u64) -> Duration {
    let queue = Arc::new(ArrayQueue::<[u8; N]>::new(RING_BYTES / N));
    let producer = {
        let queue = queue.clone();
        thread::spawn(move || {
            let record: [u8; N] = source_record(N).try_into().unwrap();
            let mut backoff = Backoff::new();
            for _ in 0..iters {
                while queue.push(record).is_err() {
                    backoff.snooze();
                }
                backoff.reset();
            }
        })
    };
    let mut backoff = Backoff::new();
    let start = Instant::now();
    let mut n = 0;
    while n < iters {
        if let Some(record) = queue.pop() {
            // `pop` copied the record out of the queue, like `consume` does for the others.
            black_box(&record);
            n += 1;
            backoff.reset();
        } else {
            backoff.snooze();
        }
    }
    let elapsed = start.elapsed();
    producer.join().unwrap();
    elapsed
}

fn crossbeam_for(len: usize, iters: u64) -> Duration {
    match len {
        16 => crossbeam_array::<16>(iters),
        256 => crossbeam_array::<256>(iters),
        4096 => crossbeam_array::<4096>(iters),
        _ => unreachable!("no ArrayQueue instance for {len} B"),
    }
}

fn throughput(c: &mut Criterion) {
    for (name, len) in [("16B", 16usize), ("256B", 256), ("4KiB", 4096)] {
        let mut group = c.benchmark_group(format!("spsc_{name}"));
        group.throughput(Throughput::ElementsAndBytes {
            elements: 1,
            bytes: len as u64,
        });
        group
            .sample_size(20)
            .warm_up_time(Duration::from_secs(1))
            .measurement_time(Duration::from_secs(3));
        group.bench_function(BenchmarkId::new("ring-spsc push/peek", "k=1"), |b| {
            b.iter_custom(|iters| ring_spsc_single(len, 1, iters))
        });
        group.bench_function(
            BenchmarkId::new("ring-spsc push/peek", format!("k={PUBLISH_EVERY}")),
            |b| b.iter_custom(|iters| ring_spsc_single(len, PUBLISH_EVERY, iters)),
        );
        group.bench_function(
            BenchmarkId::new("ring-spsc reserve/peek_batch", format!("k={PUBLISH_EVERY}")),
            |b| b.iter_custom(|iters| ring_spsc_batch(len, PUBLISH_EVERY, iters)),
        );
        group.bench_function(BenchmarkId::new("rtrb chunk", "per-record"), |b| {
            b.iter_custom(|iters| rtrb_chunk(len, iters))
        });
        group.bench_function(BenchmarkId::new("rtrb chunk", "batch-read"), |b| {
            b.iter_custom(|iters| rtrb_chunk_batch(len, iters))
        });
        group.bench_function(BenchmarkId::new("crossbeam ArrayQueue", "push/pop"), |b| {
            b.iter_custom(|iters| crossbeam_for(len, iters))
        });
        group.finish();
    }
}

criterion_group!(benches, throughput);
criterion_main!(benches);
