//! Wake-up latency through `futex-loop` (issue 3): a consumer sleeping on a `SleepGate` is woken
//! by its producer's `notify` after a `ring-spsc` push.
//!
//! Measured as a ping-pong round trip between two threads that each go to sleep as soon as their
//! ring is empty (no spinning), so every hop is one publication plus, normally, one futex wake
//! (the bench prints how many hops really found the peer asleep). References, the same ping-pong:
//!
//! * `std park/unpark`: an `AtomicBool` per direction, `Thread::unpark` / `thread::park`.
//! * `std Mutex+Condvar`: one mutex-protected counter per direction, a condvar each.
//!
//! Plus the producer's busy-path cost, `notify` when the consumer is awake (a fence and a load).
//!
//! `cargo bench -p ring-spsc --bench wakeup -- --warm-up-time 1 --measurement-time 3`
#![allow(missing_docs)]

use std::hint::black_box;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use futex_loop::{Sleep, SleepGate};
use ring_spsc::{Config, Consumer, Producer, channel};

/// Bytes of the ping message.
const MSG_LEN: usize = 16;

/// Hops whose `notify` woke a sleeping peer, and all hops (futex-loop ping-pong).
static WOKE: AtomicU64 = AtomicU64::new(0);
static HOPS: AtomicU64 = AtomicU64::new(0);

/// Sends one message and wakes the peer if it announced sleep.
fn send(tx: &mut Producer, gate: &SleepGate<futex_loop::SysFutex>, msg: &[u8]) -> bool {
    tx.push(msg).expect("the ring has room for one message");
    // `publish_every` is 1: the push published; `notify` is the producer's half of the protocol.
    gate.notify()
}

/// Sleeps on `gate` until a message arrives, then consumes it.
fn receive(rx: &mut Consumer, gate: &SleepGate<futex_loop::SysFutex>) {
    loop {
        if let Some(msg) = rx.peek() {
            black_box(msg);
            rx.release();
            return;
        }
        let slept = gate.sleep_unless(|| !rx.is_empty(), None);
        black_box(slept == Sleep::Woken);
    }
}

/// futex-loop: `iters` round trips over two rings, each side sleeping on its own `SleepGate`.
fn futex_ping_pong(iters: u64) -> Duration {
    let config = Config::new(4096).with_max_capacity(4096);
    let (mut tx_ab, mut rx_ab) = channel(config.clone()).unwrap();
    let (mut tx_ba, mut rx_ba) = channel(config).unwrap();
    let gate_a = Arc::new(SleepGate::new());
    let gate_b = Arc::new(SleepGate::new());
    let msg = [0x5au8; MSG_LEN];
    let peer = {
        let (gate_a, gate_b) = (gate_a.clone(), gate_b.clone());
        thread::spawn(move || {
            let mut woke = 0;
            for _ in 0..iters {
                receive(&mut rx_ab, &gate_b);
                woke += u64::from(send(&mut tx_ba, &gate_a, &msg));
            }
            woke
        })
    };
    let mut woke = 0;
    let start = Instant::now();
    for _ in 0..iters {
        woke += u64::from(send(&mut tx_ab, &gate_b, &msg));
        receive(&mut rx_ba, &gate_a);
    }
    let elapsed = start.elapsed();
    woke += peer.join().unwrap();
    WOKE.fetch_add(woke, Ordering::Relaxed);
    HOPS.fetch_add(2 * iters, Ordering::Relaxed);
    elapsed
}

/// Reference: `thread::park` / `Thread::unpark` with one flag per direction.
fn park_ping_pong(iters: u64) -> Duration {
    let to_a = Arc::new(AtomicBool::new(false));
    let to_b = Arc::new(AtomicBool::new(false));
    let a = thread::current();
    let peer = {
        let (to_a, to_b) = (to_a.clone(), to_b.clone());
        thread::spawn(move || {
            for _ in 0..iters {
                while !to_b.swap(false, Ordering::Acquire) {
                    thread::park();
                }
                to_a.store(true, Ordering::Release);
                a.unpark();
            }
        })
    };
    let b = peer.thread().clone();
    let start = Instant::now();
    for _ in 0..iters {
        to_b.store(true, Ordering::Release);
        b.unpark();
        while !to_a.swap(false, Ordering::Acquire) {
            thread::park();
        }
    }
    let elapsed = start.elapsed();
    peer.join().unwrap();
    elapsed
}

/// One direction of the condvar ping-pong: a message count and the condvar its reader waits on.
#[derive(Default)]
struct Mailbox {
    sent: Mutex<u64>,
    cv: Condvar,
}

impl Mailbox {
    fn send(&self) {
        *self.sent.lock().unwrap() += 1;
        self.cv.notify_one();
    }

    fn wait_for(&self, n: u64) {
        let guard = self.sent.lock().unwrap();
        drop(self.cv.wait_while(guard, |sent| *sent < n).unwrap());
    }
}

/// Reference: `Mutex` + `Condvar`, one of each per direction.
fn condvar_ping_pong(iters: u64) -> Duration {
    let to_a = Arc::new(Mailbox::default());
    let to_b = Arc::new(Mailbox::default());
    let peer = {
        let (to_a, to_b) = (to_a.clone(), to_b.clone());
        thread::spawn(move || {
            for i in 1..=iters {
                to_b.wait_for(i);
                to_a.send();
            }
        })
    };
    let start = Instant::now();
    for i in 1..=iters {
        to_b.send();
        to_a.wait_for(i);
    }
    let elapsed = start.elapsed();
    peer.join().unwrap();
    elapsed
}

fn wakeup(c: &mut Criterion) {
    let mut group = c.benchmark_group("wakeup_round_trip");
    group.throughput(Throughput::Elements(1));
    group
        .sample_size(20)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    group.bench_function("futex-loop SleepGate + ring-spsc", |b| {
        b.iter_custom(futex_ping_pong)
    });
    group.bench_function("std park/unpark", |b| b.iter_custom(park_ping_pong));
    group.bench_function("std Mutex+Condvar", |b| b.iter_custom(condvar_ping_pong));
    group.finish();
    let (woke, hops) = (WOKE.load(Ordering::Relaxed), HOPS.load(Ordering::Relaxed));
    if hops > 0 {
        println!(
            "futex-loop ping-pong: {woke} of {hops} hops ({:.1}%) woke a sleeping peer",
            100.0 * woke as f64 / hops as f64
        );
    }

    let mut group = c.benchmark_group("wakeup_notify_awake");
    group.throughput(Throughput::Elements(1));
    group.bench_function("futex-loop SleepGate::notify, consumer awake", |b| {
        let gate = SleepGate::new();
        b.iter(|| black_box(&gate).notify())
    });
    group.finish();
}

criterion_group!(benches, wakeup);
criterion_main!(benches);
