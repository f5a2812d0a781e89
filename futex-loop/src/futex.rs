//! The futex abstraction: the real syscall, or loom's stand-in.

use core::time::Duration;

use crate::sync::AtomicU32;

/// How a [`Futex::wait`] ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WaitOutcome {
    /// Woken, or the word no longer held the expected value, or a spurious return.
    Woken,
    /// The timeout elapsed.
    TimedOut,
}

/// A futex: block on a 32-bit word while it holds an expected value, and wake such waiters.
///
/// The trait lets loom stand in for the syscall (`LoomFutex` under
/// `cfg(loom)`, where the word is loom's `AtomicU32`); the real one is [`SysFutex`].
pub trait Futex: Send + Sync {
    /// Blocks while `*word == expected`, until woken by [`wake_one`](Futex::wake_one) or until
    /// `timeout` (relative; `None` = forever) elapses. The check and the blocking are atomic with
    /// respect to `wake_one`. May return early for no reason; callers re-check their condition.
    fn wait(&self, word: &AtomicU32, expected: u32, timeout: Option<Duration>) -> WaitOutcome;

    /// Wakes at most one thread blocked in [`wait`](Futex::wait) on `word`.
    fn wake_one(&self, word: &AtomicU32);
}

/// The Linux futex, process-private (`FUTEX_WAIT_PRIVATE` / `FUTEX_WAKE_PRIVATE`), via rustix.
#[cfg(not(loom))]
#[derive(Clone, Copy, Debug, Default)]
pub struct SysFutex;

#[cfg(not(loom))]
impl Futex for SysFutex {
    fn wait(&self, word: &AtomicU32, expected: u32, timeout: Option<Duration>) -> WaitOutcome {
        use rustix::io::Errno;
        use rustix::thread::futex;

        let timeout = timeout.map(|t| futex::Timespec {
            // Saturate absurd timeouts (about 292 billion years) instead of wrapping.
            tv_sec: i64::try_from(t.as_secs()).unwrap_or(i64::MAX),
            tv_nsec: i64::from(t.subsec_nanos()),
        });
        match futex::wait(word, futex::Flags::PRIVATE, expected, timeout.as_ref()) {
            Err(Errno::TIMEDOUT) => WaitOutcome::TimedOut,
            // EAGAIN: the word changed before we slept; EINTR: a signal. Both are "re-check".
            Ok(()) | Err(Errno::AGAIN | Errno::INTR) => WaitOutcome::Woken,
            Err(e) => {
                // Only EFAULT/EINVAL remain, which a valid `&AtomicU32` cannot cause.
                debug_assert!(false, "futex wait failed: {e}");
                WaitOutcome::Woken
            }
        }
    }

    fn wake_one(&self, word: &AtomicU32) {
        // Cannot fail for a valid, aligned word; a failure would only mean nobody was woken,
        // which the caller cannot act on either.
        let _ = rustix::thread::futex::wake(word, rustix::thread::futex::Flags::PRIVATE, 1);
    }
}

/// Loom's stand-in for the futex: a mutex makes "compare and block" atomic with respect to
/// "wake", as the kernel's hash-bucket lock does. A timed wait always times out at once (a legal
/// behaviour), so models explore the timeout path without a clock; an untimed wait blocks, and a
/// lost wake-up shows up as a loom deadlock.
#[cfg(loom)]
#[derive(Debug, Default)]
pub struct LoomFutex {
    lock: loom::sync::Mutex<()>,
    cond: loom::sync::Condvar,
}

#[cfg(loom)]
impl Futex for LoomFutex {
    fn wait(&self, word: &AtomicU32, expected: u32, timeout: Option<Duration>) -> WaitOutcome {
        if timeout.is_some() {
            return WaitOutcome::TimedOut;
        }
        let guard = self.lock.lock().unwrap();
        // Relaxed, like the kernel's plain load: ordering comes from the lock that `wake_one`
        // takes after the waker's store.
        if word.load(crate::sync::Ordering::Relaxed) != expected {
            return WaitOutcome::Woken;
        }
        drop(self.cond.wait(guard).unwrap());
        WaitOutcome::Woken
    }

    fn wake_one(&self, _word: &AtomicU32) {
        let _guard = self.lock.lock().unwrap();
        self.cond.notify_one();
    }
}
