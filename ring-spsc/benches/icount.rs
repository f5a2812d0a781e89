//! Single-threaded per-record cost of the same contenders as `throughput`, for instruction counts
//! under callgrind (wall-clock numbers are unreliable on shared cores; instruction counts are
//! not). Each round pushes 32 records, then pops them, doing the same per-record work as the
//! cross-thread bench (copy in, copy out).
//!
//! Without arguments (as under `cargo bench`) it prints ns/record for every contender and size.
//! With `ICOUNT=<contender>:<len>:<rounds>` it runs just that loop inside `measure`, for
//! callgrind; `ring-spsc/benches/icount.sh` runs them all and prints instructions per record.
//! Contenders: `spsc-k1`, `spsc-k16`, `spsc-batch`, `rtrb-chunk`, `rtrb-batch`, `crossbeam`.
#![allow(missing_docs)]

use std::hint::black_box;
use std::time::Instant;

use crossbeam_queue::ArrayQueue;
use ring_spsc::{Config, channel};

mod common;
use common::{consume, rtrb_pop_batch, rtrb_try_pop, rtrb_try_push, source_record};

/// Records pushed, then popped, per round.
const BATCH: usize = 32;
const RING_BYTES: usize = 1 << 20;
const PUBLISH_EVERY: usize = 16;
const READ_BATCH: usize = 64;
const CONTENDERS: [&str; 6] = [
    "spsc-k1",
    "spsc-k16",
    "spsc-batch",
    "rtrb-chunk",
    "rtrb-batch",
    "crossbeam",
];
const SIZES: [usize; 3] = [16, 256, 4096];

trait Contender {
    /// Pushes [`BATCH`] records, then pops them.
    fn round(&mut self);
}

struct SpscSingle {
    tx: ring_spsc::Producer,
    rx: ring_spsc::Consumer,
    record: Vec<u8>,
    scratch: Vec<u8>,
}

impl SpscSingle {
    fn new(len: usize, k: usize) -> Self {
        let config = Config::new(RING_BYTES)
            .with_max_capacity(RING_BYTES)
            .with_publish_every(k);
        let (tx, rx) = channel(config).unwrap();
        Self {
            tx,
            rx,
            record: source_record(len),
            scratch: vec![0; len],
        }
    }
}

impl Contender for SpscSingle {
    fn round(&mut self) {
        for _ in 0..BATCH {
            self.tx.push(&self.record).unwrap();
        }
        // A no-op when `BATCH` is a multiple of `publish_every`, as here.
        self.tx.flush();
        for _ in 0..BATCH {
            let record = self.rx.peek().unwrap();
            assert_eq!(record.len(), self.record.len());
            consume(&mut self.scratch, record);
            self.rx.release();
        }
    }
}

struct SpscBatch(SpscSingle);

impl Contender for SpscBatch {
    fn round(&mut self) {
        let s = &mut self.0;
        let len = s.record.len();
        for _ in 0..BATCH {
            let mut slot = s.tx.reserve(len).unwrap();
            slot.copy_from_slice(&s.record);
            slot.commit_all();
        }
        s.tx.flush();
        let mut n = 0;
        while n < BATCH {
            let batch = s.rx.peek_batch(READ_BATCH);
            assert!(!batch.is_empty());
            for record in &batch {
                assert_eq!(record.len(), len);
                consume(&mut s.scratch, record);
            }
            n += batch.len();
            batch.release();
        }
    }
}

struct Rtrb {
    tx: rtrb::Producer<u8>,
    rx: rtrb::Consumer<u8>,
    record: Vec<u8>,
    scratch: Vec<u8>,
    batched_read: bool,
}

impl Rtrb {
    fn new(len: usize, batched_read: bool) -> Self {
        let (tx, rx) = rtrb::RingBuffer::new(RING_BYTES);
        Self {
            tx,
            rx,
            record: source_record(len),
            scratch: vec![0; len],
            batched_read,
        }
    }
}

impl Contender for Rtrb {
    fn round(&mut self) {
        let len = self.record.len();
        for _ in 0..BATCH {
            assert!(rtrb_try_push(&mut self.tx, &self.record));
        }
        if self.batched_read {
            let mut n = 0;
            while n < BATCH {
                let count = rtrb_pop_batch(&mut self.rx, &mut self.scratch, len, READ_BATCH);
                assert!(count > 0);
                n += count;
            }
        } else {
            for _ in 0..BATCH {
                assert!(rtrb_try_pop(&mut self.rx, &mut self.scratch, len));
            }
        }
    }
}

struct Crossbeam<const N: usize> {
    queue: ArrayQueue<[u8; N]>,
    record: [u8; N],
}

impl<const N: usize> Crossbeam<N> {
    fn new() -> Self {
        Self {
            queue: ArrayQueue::new(RING_BYTES / N),
            record: source_record(N).try_into().unwrap(),
        }
    }
}

impl<const N: usize> Contender for Crossbeam<N> {
    fn round(&mut self) {
        for _ in 0..BATCH {
            assert!(self.queue.push(self.record).is_ok());
        }
        for _ in 0..BATCH {
            let record = self.queue.pop().unwrap();
            // `pop` copied the record out, like `consume` does for the others.
            black_box(&record);
        }
    }
}

/// The measured loop; callgrind collects inside it only (`--toggle-collect=*measure*`).
#[inline(never)]
fn measure(contender: &mut dyn Contender, rounds: u64) {
    for _ in 0..rounds {
        contender.round();
    }
}

fn make(name: &str, len: usize) -> Box<dyn Contender> {
    match (name, len) {
        ("spsc-k1", _) => Box::new(SpscSingle::new(len, 1)),
        ("spsc-k16", _) => Box::new(SpscSingle::new(len, PUBLISH_EVERY)),
        ("spsc-batch", _) => Box::new(SpscBatch(SpscSingle::new(len, PUBLISH_EVERY))),
        ("rtrb-chunk", _) => Box::new(Rtrb::new(len, false)),
        ("rtrb-batch", _) => Box::new(Rtrb::new(len, true)),
        ("crossbeam", 16) => Box::new(Crossbeam::<16>::new()),
        ("crossbeam", 256) => Box::new(Crossbeam::<256>::new()),
        ("crossbeam", 4096) => Box::new(Crossbeam::<4096>::new()),
        _ => panic!("unknown contender {name}:{len}"),
    }
}

/// Builds the contender and runs enough rounds outside `measure` to touch every page of its
/// queue, so the measured part is steady state.
fn warmed(name: &str, len: usize) -> Box<dyn Contender> {
    let mut contender = make(name, len);
    let warm_rounds = (2 * RING_BYTES / (BATCH * (len + 8))).max(1);
    for _ in 0..warm_rounds {
        contender.round();
    }
    contender
}

fn main() {
    if let Ok(spec) = std::env::var("ICOUNT") {
        let mut parts = spec.split(':');
        let (Some(name), Some(len), Some(rounds), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            panic!("ICOUNT=<contender>:<len>:<rounds>, got {spec:?}");
        };
        let len: usize = len.parse().expect("len");
        let rounds: u64 = rounds.parse().expect("rounds");
        let mut contender = warmed(name, len);
        measure(contender.as_mut(), rounds);
        return;
    }
    // Quick single-threaded table; under `cargo test --benches` (no `--bench`) a tiny run.
    let quick = !std::env::args().any(|a| a == "--bench");
    println!("single-threaded push {BATCH} then pop {BATCH}, ns/record:");
    print!("{:>12}", "");
    for name in CONTENDERS {
        print!("{name:>12}");
    }
    println!();
    for len in SIZES {
        print!("{:>11}B", len);
        for name in CONTENDERS {
            let mut contender = warmed(name, len);
            let bytes = if quick { 1 << 20 } else { 1 << 30 };
            let rounds = (bytes / (BATCH * len)).max(1000) as u64;
            let start = Instant::now();
            measure(contender.as_mut(), rounds);
            let ns = start.elapsed().as_nanos() as f64 / (rounds as f64 * BATCH as f64);
            print!("{ns:>12.1}");
        }
        println!();
    }
}
