//! Unit tests with real threads, the real futex and the real eventfd.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicUsize, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use super::*;

/// A futex that counts syscalls, to show the busy path makes none.
#[derive(Debug, Default)]
struct CountingFutex {
    waits: AtomicUsize,
    wakes: AtomicUsize,
}

impl Futex for CountingFutex {
    fn wait(&self, word: &AtomicU32, expected: u32, timeout: Option<Duration>) -> WaitOutcome {
        self.waits.fetch_add(1, Ordering::Relaxed);
        SysFutex.wait(word, expected, timeout)
    }
    fn wake_one(&self, word: &AtomicU32) {
        self.wakes.fetch_add(1, Ordering::Relaxed);
        SysFutex.wake_one(word);
    }
}

#[test]
fn notify_without_sleeper_makes_no_syscall() {
    let gate = SleepGate::with_futex(CountingFutex::default());
    for _ in 0..1000 {
        assert!(!gate.notify());
    }
    assert_eq!(gate.futex().wakes.load(Ordering::Relaxed), 0);
}

#[test]
fn busy_recheck_skips_the_wait() {
    let gate = SleepGate::with_futex(CountingFutex::default());
    assert_eq!(gate.sleep_unless(|| true, None), Sleep::Busy);
    assert!(!gate.flag().is_announced());
    assert_eq!(gate.futex().waits.load(Ordering::Relaxed), 0);
}

#[test]
fn notify_before_wait_is_not_lost() {
    let gate = SleepGate::with_futex(CountingFutex::default());
    // The producer publishes and notifies between the announcement and the wait: the wait must
    // return at once (the flag no longer says ASLEEP), not sleep forever.
    let outcome = gate.sleep_unless(
        || {
            assert!(gate.notify());
            // Only one producer wakes per announcement.
            assert!(!gate.notify());
            false
        },
        None,
    );
    assert_eq!(outcome, Sleep::Woken);
    assert_eq!(gate.futex().wakes.load(Ordering::Relaxed), 1);
}

#[test]
fn timeout_elapses() {
    let gate = SleepGate::new();
    let start = Instant::now();
    assert_eq!(
        gate.sleep_unless(|| false, Some(Duration::from_millis(30))),
        Sleep::TimedOut
    );
    assert!(start.elapsed() >= Duration::from_millis(29));
    assert_eq!(
        gate.sleep_unless(|| false, Some(Duration::ZERO)),
        Sleep::TimedOut
    );
}

#[test]
fn sleeping_consumer_is_woken() {
    let gate = Arc::new(SleepGate::new());
    let work = Arc::new(AtomicBool::new(false));
    let sleeper = {
        let (gate, work) = (gate.clone(), work.clone());
        thread::spawn(move || {
            let mut wakes = 0;
            while !work.load(Ordering::Acquire) {
                // A generous timeout only so that a bug fails the test instead of hanging it.
                let outcome = gate.sleep_unless(
                    || work.load(Ordering::Acquire),
                    Some(Duration::from_secs(10)),
                );
                assert_ne!(outcome, Sleep::TimedOut, "lost wake-up");
                wakes += 1;
            }
            (Instant::now(), wakes)
        })
    };
    // Give the consumer time to really block in the futex.
    thread::sleep(Duration::from_millis(50));
    assert!(gate.flag().is_announced());
    let published_at = Instant::now();
    work.store(true, Ordering::Release);
    assert!(gate.notify());
    // Causality, not timing: the sleeper left its loop only after the work was published.
    let (left_at, _) = sleeper.join().unwrap();
    assert!(left_at >= published_at);
}

#[test]
fn many_producers_never_lose_a_wakeup() {
    // Producers bump a counter (the "ring") and notify; the consumer sleeps whenever it has seen
    // everything. Any lost wake-up stalls it for the full timeout and fails.
    const PRODUCERS: usize = 3;
    const EACH: u32 = 20_000;
    let gate = Arc::new(SleepGate::new());
    let counter = Arc::new(AtomicU32::new(0));
    let producers: Vec<_> = (0..PRODUCERS)
        .map(|_| {
            let (gate, counter) = (gate.clone(), counter.clone());
            thread::spawn(move || {
                for i in 0..EACH {
                    counter.fetch_add(1, Ordering::Release);
                    gate.notify();
                    if i % 512 == 0 {
                        thread::sleep(Duration::from_micros(50));
                    }
                }
            })
        })
        .collect();
    let total = PRODUCERS as u32 * EACH;
    let mut seen = 0;
    let mut sleeps = 0;
    while seen < total {
        let now = counter.load(Ordering::Acquire);
        if now != seen {
            seen = now;
            continue;
        }
        let outcome = gate.sleep_unless(
            || counter.load(Ordering::Acquire) != seen,
            Some(Duration::from_secs(10)),
        );
        assert_ne!(outcome, Sleep::TimedOut, "lost wake-up at {seen}/{total}");
        sleeps += 1;
    }
    for p in producers {
        p.join().unwrap();
    }
    assert!(sleeps > 0);
}

#[test]
fn eventfd_worker_gate() {
    let gate = WorkerGate::new(EventFdWaker::new().unwrap());
    // Awake worker: no signal.
    assert!(!gate.notify());
    assert_eq!(gate.signal().drain(), 0);
    // Work found by the re-check: do not block.
    assert!(!gate.prepare_sleep(|| true));
    assert!(!gate.notify());
    // Sleeping worker: exactly one signal, visible on the fd.
    assert!(gate.prepare_sleep(|| false));
    assert!(gate.notify());
    assert!(!gate.notify());
    let mut pfd = [rustix::event::PollFd::new(
        gate.signal(),
        rustix::event::PollFlags::IN,
    )];
    let ready = rustix::event::poll(&mut pfd, None).unwrap();
    assert_eq!(ready, 1);
    gate.finish_sleep();
    assert_eq!(gate.signal().drain(), 1);
    assert_eq!(gate.signal().drain(), 0);
}

#[test]
fn eventfd_wakes_a_thread_in_poll() {
    let gate = Arc::new(WorkerGate::new(EventFdWaker::new().unwrap()));
    let worker = {
        let gate = gate.clone();
        thread::spawn(move || {
            assert!(gate.prepare_sleep(|| false));
            let mut pfd = [rustix::event::PollFd::new(
                gate.signal(),
                rustix::event::PollFlags::IN,
            )];
            let timeout = rustix::time::Timespec {
                tv_sec: 10,
                tv_nsec: 0,
            };
            let ready = rustix::event::poll(&mut pfd, Some(&timeout)).unwrap();
            gate.finish_sleep();
            assert_eq!(ready, 1, "lost wake-up");
            gate.signal().drain()
        })
    };
    while !gate.flag().is_announced() {
        thread::yield_now();
    }
    thread::sleep(Duration::from_millis(20));
    assert!(gate.notify());
    assert_eq!(worker.join().unwrap(), 1);
}

#[test]
fn timer_wake_mode_bounds_idle_sleep() {
    let clock = ManualClock::new(Duration::from_secs(100));
    let mut timer = Timer::new(TimerMode::Wake);
    assert_eq!(timer.idle_timeout(clock.now()), None);
    timer.arm_after(clock.now(), Duration::from_millis(20));
    assert_eq!(
        timer.idle_timeout(clock.now()),
        Some(Duration::from_millis(20))
    );
    assert!(!timer.take_due(clock.now()));
    let gate = SleepGate::new();
    let start = Instant::now();
    // The real futex times out after the timer's 20 ms (the manual clock does not move itself).
    assert_eq!(gate.idle(|| false, &timer, &clock), Sleep::TimedOut);
    assert!(start.elapsed() >= Duration::from_millis(19));
    clock.advance(Duration::from_millis(20));
    assert_eq!(timer.idle_timeout(clock.now()), Some(Duration::ZERO));
    // Already due: no sleep at all.
    assert_eq!(gate.idle(|| false, &timer, &clock), Sleep::TimedOut);
    assert!(timer.take_due(clock.now()));
    assert_eq!(timer.deadline(), None);
    assert!(!timer.take_due(clock.now()));
}

#[test]
fn timer_sleep_mode_only_runs_with_traffic() {
    let clock = ManualClock::new(Duration::ZERO);
    let mut timer = Timer::new(TimerMode::Sleep);
    timer.arm_at(Duration::from_millis(5));
    clock.advance(Duration::from_secs(1));
    // Overdue, yet an idle thread still sleeps without a timeout...
    assert_eq!(timer.idle_timeout(clock.now()), None);
    let gate = Arc::new(SleepGate::new());
    let traffic = Arc::new(AtomicBool::new(false));
    // Before the spawn: the producer's 40 ms start after this instant, whatever the scheduling.
    let start = Instant::now();
    let producer = {
        let (gate, traffic) = (gate.clone(), traffic.clone());
        thread::spawn(move || {
            thread::sleep(Duration::from_millis(40));
            traffic.store(true, Ordering::Release);
            gate.notify();
        })
    };
    while !traffic.load(Ordering::Acquire) {
        assert_ne!(
            gate.idle(|| traffic.load(Ordering::Acquire), &timer, &clock),
            Sleep::TimedOut
        );
    }
    assert!(start.elapsed() >= Duration::from_millis(39));
    producer.join().unwrap();
    // ...and the overdue timer fires on the next turn once traffic woke the thread.
    assert!(timer.take_due(clock.now()));
}

#[test]
fn monotonic_clock_moves_forward() {
    let a = MonotonicClock.now();
    thread::sleep(Duration::from_millis(2));
    assert!(MonotonicClock.now() > a);
}
