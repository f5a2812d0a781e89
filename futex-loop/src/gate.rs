//! The sleep/wake protocol between producers and one sleeping consumer.
//!
//! It is a Dekker handshake over two locations, the consumer's sleep flag and the rings:
//!
//! ```text
//! consumer                                  producer
//! flag = ASLEEP            (relaxed)        ring.tail = t            (release: the record)
//! fence(SeqCst)                             fence(SeqCst)
//! if any ring non-empty: flag = AWAKE       if flag == ASLEEP and swap(flag, AWAKE) == ASLEEP:
//! else: wait while flag == ASLEEP               wake
//! ```
//!
//! The two SeqCst fences are ordered one way or the other. If the consumer's fence comes first,
//! the producer's load sees `ASLEEP` and wakes it (the futex/eventfd makes a wake before the wait
//! count). If the producer's fence comes first, the consumer's re-check sees the record and it
//! does not sleep. So no wake-up is lost, the busy path (consumer awake) costs producers one
//! fence and one load, and the `swap` lets only one of several producers make the syscall.

use core::time::Duration;

use crate::futex::{Futex, WaitOutcome};
use crate::sync::{AtomicU32, CachePadded, Ordering, fence};
use crate::timer::{Clock, Timer};

const AWAKE: u32 = 0;
const ASLEEP: u32 = 1;

/// The consumer's "I am about to sleep" flag, the shared half of the protocol.
///
/// [`SleepGate`] (futex) and [`WorkerGate`] (eventfd) build on it; use it directly only for
/// another waiting mechanism.
#[derive(Debug, Default)]
pub struct SleepFlag {
    /// `ASLEEP` from the consumer's announcement until it (or a waking producer) resets it to
    /// `AWAKE`. Also the futex word [`SleepGate`] waits on.
    word: CachePadded<AtomicU32>,
}

impl SleepFlag {
    /// An awake flag.
    pub fn new() -> Self {
        Self {
            word: CachePadded(AtomicU32::new(AWAKE)),
        }
    }

    /// Consumer: announces sleep. Afterwards, re-check every ring, then wait, or
    /// [`set_awake`](Self::set_awake) if there was work.
    pub fn announce(&self) {
        // Relaxed: the fence below orders this write before the re-check's loads. A swap rather
        // than a store: a plain store would be just as correct under the C++/Rust model, but
        // loom tracks the modification order of plain stores only partially (as a vector clock)
        // and would then let a producer's load miss this announcement, a false deadlock. As an
        // RMW it is ordered after every producer's swap it overwrites, which loom follows. It
        // only costs on the way to sleep.
        let _ = self.word.swap(ASLEEP, Ordering::Relaxed);
        // SeqCst fence: the consumer's half of the Dekker pattern (see the module docs).
        fence(Ordering::SeqCst);
    }

    /// Consumer: back to awake (after a wait, or when the re-check found work).
    pub fn set_awake(&self) {
        // Relaxed: being awake promises producers nothing; they merely skip a wake.
        self.word.store(AWAKE, Ordering::Relaxed);
    }

    /// Producer: after publishing, says whether this producer must wake the consumer. True at
    /// most once per announcement, whichever producers ask.
    #[must_use]
    pub fn should_wake(&self) -> bool {
        // SeqCst fence: the producer's half of the Dekker pattern; it orders the preceding
        // Release store of the ring position before the load of the flag.
        fence(Ordering::SeqCst);
        // Relaxed: the fence already ordered it; the plain load first keeps the common
        // (awake) case free of a locked instruction, and the swap elects one waker.
        self.word.load(Ordering::Relaxed) == ASLEEP
            && self.word.swap(AWAKE, Ordering::Relaxed) == ASLEEP
    }

    /// Whether sleep is announced now (a snapshot, for tests and statistics).
    pub fn is_announced(&self) -> bool {
        self.word.load(Ordering::Relaxed) == ASLEEP
    }

    fn word(&self) -> &AtomicU32 {
        &self.word
    }
}

/// How a consumer's idle call ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Sleep {
    /// The re-check found work; the thread did not sleep.
    Busy,
    /// Woken by a producer, or spuriously; poll the rings.
    Woken,
    /// The timeout elapsed (or, in [`SleepGate::idle`], a timer was already due): run timers.
    TimedOut,
}

/// The gate an app thread sleeps on (with a futex) and workers wake it through.
///
/// Shared (for instance in an `Arc`) between the consumer and all its producers.
///
/// Producers: publish (for `ring-spsc`, commit and [`flush`]), then [`notify`](Self::notify).
/// Consumer: poll every ring; when all are empty, call [`sleep_unless`](Self::sleep_unless) or
/// [`idle`](Self::idle) with a re-check of every ring.
///
/// [`flush`]: https://docs.rs/ring-spsc/latest/ring_spsc/struct.Producer.html#method.flush
#[derive(Debug, Default)]
pub struct SleepGate<F> {
    flag: SleepFlag,
    futex: F,
}

#[cfg(not(loom))]
impl SleepGate<crate::SysFutex> {
    /// A gate on the real futex.
    pub fn new() -> Self {
        Self::with_futex(crate::SysFutex)
    }
}

impl<F: Futex> SleepGate<F> {
    /// A gate on the given futex implementation.
    pub fn with_futex(futex: F) -> Self {
        Self {
            flag: SleepFlag::new(),
            futex,
        }
    }

    /// Producer: call after publishing. Wakes the consumer if it announced sleep; otherwise
    /// makes no syscall. Returns whether this call woke it.
    pub fn notify(&self) -> bool {
        if self.flag.should_wake() {
            self.futex.wake_one(self.flag.word());
            true
        } else {
            false
        }
    }

    /// Consumer: announce sleep, run `has_work` (which must re-check every ring the producers
    /// publish to), and sleep until notified or until `timeout` unless it found work.
    ///
    /// A notification between the announcement and the wait is not lost: the wait then returns
    /// at once.
    pub fn sleep_unless(
        &self,
        has_work: impl FnOnce() -> bool,
        timeout: Option<Duration>,
    ) -> Sleep {
        self.flag.announce();
        if has_work() {
            self.flag.set_awake();
            return Sleep::Busy;
        }
        let outcome = if timeout == Some(Duration::ZERO) {
            WaitOutcome::TimedOut
        } else {
            self.futex.wait(self.flag.word(), ASLEEP, timeout)
        };
        self.flag.set_awake();
        match outcome {
            WaitOutcome::Woken => Sleep::Woken,
            WaitOutcome::TimedOut => Sleep::TimedOut,
        }
    }

    /// Consumer: [`sleep_unless`](Self::sleep_unless) with the timeout `timer` asks for: until its
    /// deadline in [`TimerMode::Wake`](crate::TimerMode::Wake), indefinitely in
    /// [`TimerMode::Sleep`](crate::TimerMode::Sleep) or when it is disarmed. Returns
    /// [`Sleep::TimedOut`] without sleeping when the timer is already due.
    pub fn idle(
        &self,
        has_work: impl FnOnce() -> bool,
        timer: &Timer,
        clock: &impl Clock,
    ) -> Sleep {
        let timeout = timer.idle_timeout(clock.now());
        if timeout == Some(Duration::ZERO) {
            return Sleep::TimedOut;
        }
        self.sleep_unless(has_work, timeout)
    }

    /// The flag, for statistics and tests.
    pub fn flag(&self) -> &SleepFlag {
        &self.flag
    }

    /// The futex implementation.
    pub fn futex(&self) -> &F {
        &self.futex
    }
}

/// What wakes a thread sleeping elsewhere (for workers, in `epoll_wait`): an eventfd write.
pub trait Signal: Send + Sync {
    /// Makes the sleeping thread's wait return (or its next wait return at once).
    fn signal(&self);
}

/// The gate a worker sleeps behind (in `epoll_wait`, with the gate's eventfd registered) and app
/// threads wake it through. The protocol is [`SleepGate`]'s; only the wait differs.
///
/// Worker loop: `let block = gate.prepare_sleep(|| outbound rings non-empty)`; then
/// `epoll_wait` with the next deadline if `block`, else with timeout 0; then
/// [`finish_sleep`](Self::finish_sleep); drain the eventfd when it is reported readable.
#[derive(Debug)]
pub struct WorkerGate<S> {
    flag: SleepFlag,
    signal: S,
}

impl<S: Signal> WorkerGate<S> {
    /// A gate that wakes through `signal` (normally an [`EventFdWaker`](crate::EventFdWaker)).
    pub fn new(signal: S) -> Self {
        Self {
            flag: SleepFlag::new(),
            signal,
        }
    }

    /// Producer (app thread): call after publishing; signals the worker only if it announced
    /// sleep. Returns whether this call signalled.
    pub fn notify(&self) -> bool {
        if self.flag.should_wake() {
            self.signal.signal();
            true
        } else {
            false
        }
    }

    /// Worker: announce sleep and re-check with `has_work`. `true`: block in `epoll_wait`;
    /// `false`: work arrived, poll without blocking. Call [`finish_sleep`](Self::finish_sleep)
    /// after the wait either way.
    #[must_use]
    pub fn prepare_sleep(&self, has_work: impl FnOnce() -> bool) -> bool {
        self.flag.announce();
        if has_work() {
            self.flag.set_awake();
            false
        } else {
            true
        }
    }

    /// Worker: back to awake after `epoll_wait` returned.
    pub fn finish_sleep(&self) {
        self.flag.set_awake();
    }

    /// The signal, e.g. to register and drain the eventfd.
    pub fn signal(&self) -> &S {
        &self.signal
    }

    /// The flag, for statistics and tests.
    pub fn flag(&self) -> &SleepFlag {
        &self.flag
    }
}
