//! The sleep/wake protocol between ring producers and a sleeping consumer, and app timers.
//!
//! * App threads sleep on a futex behind a [`SleepGate`]; the workers that feed them call
//!   [`SleepGate::notify`] after publishing.
//! * Workers sleep in `epoll_wait` behind a [`WorkerGate`] whose [`EventFdWaker`] sits in their
//!   epoll set; app threads call [`WorkerGate::notify`] after publishing.
//! * Both use the same Dekker handshake ([`SleepFlag`]): the consumer announces sleep, re-checks
//!   every ring, then waits; a producer publishes, then wakes only if sleep was announced, with
//!   `fence(SeqCst)` on both sides. No wake-up can be lost, spurious wake-ups are harmless, and
//!   while the consumer is awake producers make no syscall.
//! * A [`Timer`] in [`TimerMode::Wake`] bounds an idle sleep by its deadline; in
//!   [`TimerMode::Sleep`] an idle thread sleeps until traffic arrives. Time comes from an
//!   injected [`Clock`].
//!
//! ```
//! use futex_loop::{SleepGate, Sleep};
//! use std::sync::{Arc, atomic::{AtomicBool, Ordering}};
//!
//! let gate = Arc::new(SleepGate::new());
//! let ready = Arc::new(AtomicBool::new(false));
//! let producer = {
//!     let (gate, ready) = (gate.clone(), ready.clone());
//!     std::thread::spawn(move || {
//!         ready.store(true, Ordering::Release); // "publish"
//!         gate.notify();
//!     })
//! };
//! while !ready.load(Ordering::Acquire) {
//!     let _ = gate.sleep_unless(|| ready.load(Ordering::Acquire), None);
//! }
//! producer.join().unwrap();
//! ```
//!
//! Loom: built with `RUSTFLAGS="--cfg loom"`, the atomics come from loom and `LoomFutex`
//! replaces [`SysFutex`]. This crate has no `unsafe` code.
#![forbid(unsafe_code)]

mod eventfd;
mod futex;
mod gate;
mod sync;
mod timer;

pub use eventfd::EventFdWaker;
#[cfg(loom)]
pub use futex::LoomFutex;
#[cfg(not(loom))]
pub use futex::SysFutex;
pub use futex::{Futex, WaitOutcome};
pub use gate::{Signal, Sleep, SleepFlag, SleepGate, WorkerGate};
pub use timer::{Clock, ManualClock, MonotonicClock, Timer, TimerMode};

#[cfg(all(test, not(loom)))]
mod tests;
