//! loom models of the sleep/wake protocol over real `ring-spsc` rings: a lost wake-up leaves
//! the consumer blocked forever, which loom reports as a deadlock; records are checked for
//! loss, duplication and order.
//!
//! `LOOM_MAX_PREEMPTIONS=4 RUSTFLAGS="--cfg loom" CARGO_TARGET_DIR=target-loom cargo test -p
//! verification --release --test loom_sleep`
#![cfg(loom)]

use futex_loop::{LoomFutex, Signal, Sleep, SleepGate, WorkerGate};
use loom::sync::{Arc, Condvar, Mutex};
use loom::thread;
use ring_spsc::{Config, Consumer, channel};
use verification::{check_record, make_record};

fn model(f: impl Fn() + Sync + Send + 'static) {
    let mut builder = loom::model::Builder::new();
    if builder.preemption_bound.is_none() {
        builder.preemption_bound = Some(4);
    }
    builder.check(f);
}

/// Reads one record from the first non-empty ring, checking it is the next one expected there.
fn poll(rings: &mut [Consumer], next: &mut [u64]) -> bool {
    for (rx, next) in rings.iter_mut().zip(next.iter_mut()) {
        if let Some(record) = rx.peek() {
            assert_eq!(check_record(record), *next, "lost, duplicated or reordered");
            *next += 1;
            rx.release();
            return true;
        }
    }
    false
}

#[test]
fn app_thread_sleep_wake_one_producer() {
    // The producer batches (publish every 2) and must flush before notifying; two records, two
    // notifications, so the consumer may sleep before, between or after them.
    model(|| {
        let gate = Arc::new(SleepGate::with_futex(LoomFutex::default()));
        let config = Config::new(64).with_publish_every(2);
        let (mut tx, rx) = channel(config).unwrap();
        let producer = {
            let gate = gate.clone();
            thread::spawn(move || {
                for seq in 0..2 {
                    tx.push(&make_record(seq, 8)).unwrap();
                    tx.flush();
                    gate.notify();
                }
            })
        };
        let mut rings = [rx];
        let mut next = [0];
        while next[0] < 2 {
            if !poll(&mut rings, &mut next) {
                // Untimed: a lost wake-up blocks forever and loom reports the deadlock.
                let outcome = gate.sleep_unless(|| rings.iter().any(|r| !r.is_empty()), None);
                assert_ne!(outcome, Sleep::TimedOut);
            }
        }
        producer.join().unwrap();
    });
}

#[test]
fn app_thread_sleep_wake_two_producers() {
    // Two workers, one ring each, one app thread: only one producer may make the wake call per
    // announcement, and the other's record must still be seen by the re-check or the next poll.
    model(|| {
        let gate = Arc::new(SleepGate::with_futex(LoomFutex::default()));
        let mut rings = Vec::new();
        let mut producers = Vec::new();
        for _ in 0..2 {
            let (mut tx, rx) = channel(Config::new(64)).unwrap();
            rings.push(rx);
            let gate = gate.clone();
            producers.push(thread::spawn(move || {
                tx.push(&make_record(0, 8)).unwrap();
                gate.notify();
            }));
        }
        let mut next = [0, 0];
        while next != [1, 1] {
            if !poll(&mut rings, &mut next) {
                gate.sleep_unless(|| rings.iter().any(|r| !r.is_empty()), None);
            }
        }
        for p in producers {
            p.join().unwrap();
        }
    });
}

#[test]
fn timed_wait_for_timer_then_wake() {
    // A Wake-mode timer sleeps with a timeout; LoomFutex times out at once, so the loop must
    // still see the record through the re-check or a later untimed sleep.
    model(|| {
        let gate = Arc::new(SleepGate::with_futex(LoomFutex::default()));
        let (mut tx, rx) = channel(Config::new(64)).unwrap();
        let producer = {
            let gate = gate.clone();
            thread::spawn(move || {
                tx.push(&make_record(0, 8)).unwrap();
                gate.notify();
            })
        };
        let mut rings = [rx];
        let mut next = [0];
        let mut timer_fired = false;
        while next[0] < 1 {
            if !poll(&mut rings, &mut next) {
                let timeout = (!timer_fired).then_some(std::time::Duration::from_millis(5));
                if gate.sleep_unless(|| !rings[0].is_empty(), timeout) == Sleep::TimedOut {
                    timer_fired = true;
                }
            }
        }
        producer.join().unwrap();
    });
}

/// loom's stand-in for a worker's eventfd + `epoll_wait`.
#[derive(Default)]
struct LoomEventFd {
    count: Mutex<u64>,
    cond: Condvar,
}

impl Signal for LoomEventFd {
    fn signal(&self) {
        *self.count.lock().unwrap() += 1;
        self.cond.notify_one();
    }
}

impl LoomEventFd {
    /// `epoll_wait(-1)` on the eventfd followed by draining it.
    fn wait_and_drain(&self) {
        let mut count = self.count.lock().unwrap();
        while *count == 0 {
            count = self.cond.wait(count).unwrap();
        }
        *count = 0;
    }
}

#[test]
fn worker_sleep_wake_via_eventfd() {
    // App thread → worker over an outbound ring; the worker sleeps in "epoll" behind a
    // WorkerGate.
    model(|| {
        let gate = Arc::new(WorkerGate::new(LoomEventFd::default()));
        let (mut tx, rx) = channel(Config::new(64)).unwrap();
        let app = {
            let gate = gate.clone();
            thread::spawn(move || {
                for seq in 0..2 {
                    tx.push(&make_record(seq, 8)).unwrap();
                    gate.notify();
                }
            })
        };
        let mut rings = [rx];
        let mut next = [0];
        while next[0] < 2 {
            if !poll(&mut rings, &mut next) && gate.prepare_sleep(|| !rings[0].is_empty()) {
                gate.signal().wait_and_drain();
                gate.finish_sleep();
            }
        }
        app.join().unwrap();
    });
}
