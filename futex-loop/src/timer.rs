//! App timers and the clock they read.

use core::time::Duration;
use std::sync::atomic::{AtomicU64, Ordering};

/// A monotonic clock; time is a [`Duration`] since an arbitrary, fixed origin. Passed in so that
/// tests control time.
pub trait Clock {
    /// The current time.
    fn now(&self) -> Duration;
}

/// `CLOCK_MONOTONIC`.
#[derive(Clone, Copy, Debug, Default)]
pub struct MonotonicClock;

impl Clock for MonotonicClock {
    fn now(&self) -> Duration {
        let t = rustix::time::clock_gettime(rustix::time::ClockId::Monotonic);
        // The monotonic clock never goes below zero.
        Duration::new(t.tv_sec as u64, t.tv_nsec as u32)
    }
}

/// A clock that moves only when told to, for tests. Shareable between threads.
#[derive(Debug, Default)]
pub struct ManualClock {
    nanos: AtomicU64,
}

impl ManualClock {
    /// A clock reading `start`.
    pub fn new(start: Duration) -> Self {
        Self {
            nanos: AtomicU64::new(start.as_nanos() as u64),
        }
    }

    /// Moves the clock forward by `by`.
    pub fn advance(&self, by: Duration) {
        // Relaxed: a test clock, not a synchronisation point.
        self.nanos
            .fetch_add(by.as_nanos() as u64, Ordering::Relaxed);
    }

    /// Sets the clock to `to`.
    pub fn set(&self, to: Duration) {
        self.nanos.store(to.as_nanos() as u64, Ordering::Relaxed);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Duration {
        Duration::from_nanos(self.nanos.load(Ordering::Relaxed))
    }
}

/// When an app's timer may wake its thread (the spec's `RS_TIMER_WAKE` / `RS_TIMER_SLEEP`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TimerMode {
    /// The thread wakes for the timer's deadline even when no traffic arrives.
    Wake,
    /// The timer runs only while the thread is awake anyway: an idle thread sleeps until traffic
    /// arrives and then runs the overdue timer.
    Sleep,
}

/// One app timer: a mode and an optional deadline.
///
/// The app loop checks [`take_due`](Self::take_due) on every turn (so timers fire while traffic
/// flows in both modes) and passes the timer to [`SleepGate::idle`](crate::SleepGate::idle)
/// when idle, which sleeps no longer than [`idle_timeout`](Self::idle_timeout).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Timer {
    mode: TimerMode,
    /// Absolute time of the next expiry (per the loop's [`Clock`]), or `None` when disarmed.
    deadline: Option<Duration>,
}

impl Timer {
    /// A disarmed timer.
    pub fn new(mode: TimerMode) -> Self {
        Self {
            mode,
            deadline: None,
        }
    }

    /// The mode.
    pub fn mode(&self) -> TimerMode {
        self.mode
    }

    /// The next deadline, if armed.
    pub fn deadline(&self) -> Option<Duration> {
        self.deadline
    }

    /// Arms the timer for the absolute time `deadline`.
    pub fn arm_at(&mut self, deadline: Duration) {
        self.deadline = Some(deadline);
    }

    /// Arms the timer for `interval` after `now`.
    pub fn arm_after(&mut self, now: Duration, interval: Duration) {
        self.deadline = Some(now.saturating_add(interval));
    }

    /// Disarms the timer.
    pub fn disarm(&mut self) {
        self.deadline = None;
    }

    /// Whether the deadline has passed at `now`.
    pub fn is_due(&self, now: Duration) -> bool {
        self.deadline.is_some_and(|d| d <= now)
    }

    /// If due at `now`, disarms the timer and returns `true`: run the callback, then re-arm.
    pub fn take_due(&mut self, now: Duration) -> bool {
        let due = self.is_due(now);
        if due {
            self.deadline = None;
        }
        due
    }

    /// How long an idle thread may sleep at `now`: `None` means until woken by traffic (a
    /// disarmed timer, or [`TimerMode::Sleep`]); `Some(ZERO)` means the timer is due.
    pub fn idle_timeout(&self, now: Duration) -> Option<Duration> {
        match (self.mode, self.deadline) {
            (TimerMode::Wake, Some(deadline)) => Some(deadline.saturating_sub(now)),
            (TimerMode::Wake, None) | (TimerMode::Sleep, _) => None,
        }
    }
}
