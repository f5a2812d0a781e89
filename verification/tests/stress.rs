//! Multi-threaded stress: two producer threads feed one consumer over two rings that start tiny
//! and grow, with batched publication and the futex sleep/wake protocol. Every record carries a
//! sequence number and a checkable payload: each must arrive once, in order, intact.
//!
//! Duration: `RING_STRESS_SECS` (default 2) and `RING_STRESS_RECORDS` (default unlimited), first
//! limit wins. Run it in release mode:
//! `RING_STRESS_SECS=30 cargo test -p verification --release --test stress -- --nocapture`
#![cfg(not(loom))]

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use futex_loop::{Sleep, SleepGate};
use ring_spsc::{Config, Consumer, channel};
use verification::{XorShift, check_record, fill_record};

const PRODUCERS: usize = 2;

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

#[derive(Debug, Default)]
struct ProducerStats {
    records: u64,
    bytes: u64,
    growths: u64,
    wakes: u64,
    final_capacity: usize,
}

struct Round {
    seed: u64,
    records_per_producer: u64,
}

fn run_round(round: &Round, gate: &Arc<SleepGate<futex_loop::SysFutex>>) -> (u64, u64, u64) {
    let mut rng = XorShift::new(round.seed);
    let mut rings: Vec<Consumer> = Vec::new();
    let mut producers = Vec::new();
    let stop = Arc::new(AtomicBool::new(false));
    for p in 0..PRODUCERS {
        let initial = [64, 256, 4096, 65536][rng.below(4) as usize];
        let multiplier = [1.05, 1.5, 2.0][rng.below(3) as usize];
        let publish_every = 1 + rng.below(8) as usize;
        let config = Config::new(initial)
            .with_realloc_multiplier(multiplier)
            .with_publish_every(publish_every)
            .with_max_record_len(1 << 20);
        let (mut tx, rx) = channel(config).unwrap();
        rings.push(rx);
        let gate = gate.clone();
        let n = round.records_per_producer;
        let seed = round.seed.wrapping_mul(31).wrapping_add(p as u64 + 1);
        producers.push(thread::spawn(move || {
            let mut rng = XorShift::new(seed);
            let mut stats = ProducerStats::default();
            let mut cap = tx.capacity();
            for seq in 0..n {
                // Mostly small records, some medium, rarely one larger than the whole ring.
                let len = match rng.below(1000) {
                    0 => 8 + rng.below(200_000) as usize,
                    1..=30 => 8 + rng.below(8192) as usize,
                    _ => 8 + rng.below(200) as usize,
                };
                let mut slot = tx.reserve(len).expect("reserve");
                fill_record(seq, &mut slot);
                slot.commit_all();
                stats.records += 1;
                stats.bytes += len as u64;
                if tx.capacity() != cap {
                    cap = tx.capacity();
                    stats.growths += 1;
                }
                // Flush and notify in bursts, sometimes pause so the consumer goes to sleep.
                if rng.below(16) == 0 {
                    tx.flush();
                    stats.wakes += u64::from(gate.notify());
                    match rng.below(256) {
                        0 => thread::sleep(Duration::from_micros(50 + rng.below(500))),
                        1..=8 => thread::yield_now(),
                        _ => {}
                    }
                }
            }
            tx.flush();
            stats.wakes += u64::from(gate.notify());
            stats.final_capacity = tx.capacity();
            stats
        }));
    }

    let mut next = [0u64; PRODUCERS];
    let mut sleeps = 0u64;
    let total = round.records_per_producer * PRODUCERS as u64;
    let mut received = 0u64;
    while received < total {
        let mut progress = false;
        for (i, rx) in rings.iter_mut().enumerate() {
            if rng.below(2) == 0 {
                if let Some(record) = rx.peek() {
                    assert_eq!(
                        check_record(record),
                        next[i],
                        "ring {i}: lost/duplicated/reordered"
                    );
                    next[i] += 1;
                    rx.release();
                    received += 1;
                    progress = true;
                }
            } else {
                let batch = rx.peek_batch(1 + rng.below(64) as usize);
                for record in &batch {
                    assert_eq!(
                        check_record(record),
                        next[i],
                        "ring {i}: lost/duplicated/reordered"
                    );
                    next[i] += 1;
                    received += 1;
                    progress = true;
                }
                batch.release();
            }
        }
        if !progress {
            // Producers are never idle for 10 s: a timeout here is a lost wake-up.
            let outcome = gate.sleep_unless(
                || rings.iter().any(|r| !r.is_empty()),
                Some(Duration::from_secs(10)),
            );
            assert_ne!(outcome, Sleep::TimedOut, "lost wake-up (next = {next:?})");
            sleeps += u64::from(outcome == Sleep::Woken);
        }
    }
    stop.store(true, Ordering::Relaxed);
    let mut bytes = 0;
    let mut growths = 0;
    for (i, p) in producers.into_iter().enumerate() {
        let stats = p.join().unwrap();
        assert_eq!(stats.records, next[i]);
        assert_eq!(rings[i].capacity(), stats.final_capacity);
        bytes += stats.bytes;
        growths += stats.growths;
    }
    for rx in &mut rings {
        assert!(rx.peek().is_none(), "extra record");
    }
    (bytes, growths, sleeps)
}

#[test]
fn stress_records_arrive_once_in_order_intact() {
    let secs = env_u64("RING_STRESS_SECS", 2);
    let max_records = env_u64("RING_STRESS_RECORDS", u64::MAX);
    let seed0 = env_u64("RING_STRESS_SEED", 0x5eed);
    let deadline = Instant::now() + Duration::from_secs(secs);
    let gate = Arc::new(SleepGate::new());
    let (mut records, mut bytes, mut growths, mut sleeps, mut rounds) = (0u64, 0u64, 0, 0, 0u64);
    let start = Instant::now();
    while Instant::now() < deadline && records < max_records {
        let per_producer = (100_000).min((max_records - records).div_ceil(PRODUCERS as u64));
        let round = Round {
            seed: seed0 + rounds,
            records_per_producer: per_producer,
        };
        let (b, g, s) = run_round(&round, &gate);
        records += per_producer * PRODUCERS as u64;
        bytes += b;
        growths += g;
        sleeps += s;
        rounds += 1;
    }
    let elapsed = start.elapsed().as_secs_f64();
    println!(
        "stress: {rounds} rounds, {records} records, {:.1} MiB, {growths} growths, {sleeps} \
         futex sleeps in {elapsed:.1} s ({:.2} M records/s)",
        bytes as f64 / (1 << 20) as f64,
        records as f64 / elapsed / 1e6
    );
    assert!(records > 0);
    assert!(growths > 0, "no growth exercised");
}
