//! The host side of the ABI (feature `host`): what the daemon links, never an app.
//!
//! * [`App`] loads a `.so` (or takes an in-process descriptor) and checks its descriptor.
//! * [`AppRunner`] is everything an app thread does for one app, record by record: it calls
//!   the callbacks, implements the host function table (`rs_t`'s `host`), enforces which
//!   helpers each callback may use, tracks the app's clients, and turns sends and closes into
//!   outbound records, split per worker. It does no I/O and never sleeps: inbound records and
//!   the time come in, outbound records and log lines go out through a [`HostSink`].
//! * [`AppThread`] is the app thread itself: the loop over the rings (ring-spsc) from and to
//!   every worker, sleeping on a futex (futex-loop) when idle, around one [`AppRunner`].
//! * [`TestHost`] drives an app through a runner with simulated workers in one thread, for
//!   app authors' unit tests.
//!
//! # The boundary with the daemon
//!
//! The daemon creates, per app, an inbound ring (worker → app) and an outbound ring
//! (app → worker) for each worker, one [`SleepGate`](futex_loop::SleepGate) per app and one
//! [`WorkerGate`](futex_loop::WorkerGate) per worker (its eventfd in the worker's epoll set),
//! and spawns an [`AppThread`] with the app's ends. From then on:
//!
//! * **Workers → app**: push an [`Inbound`](crate::records::Inbound) record (open with the peer
//!   address, read with the whole unmasked message, close) into the app's inbound ring, flush,
//!   then [`SleepGate::notify`](futex_loop::SleepGate::notify) the app's gate (a syscall only
//!   when the app thread announced sleep). A worker pushes a close record for every connection
//!   it pushed an open record for, whoever closed it.
//! * **App → workers**: the app thread writes [`Outbound`](crate::records::Outbound) records
//!   (recipients + one complete server frame, or a close with its code) into each worker's
//!   outbound ring — a broadcast once per worker ring, not per recipient — and after each
//!   batch flushes and notifies every worker it wrote to, once. Workers drain their outbound
//!   rings when their eventfd fires or on every loop turn.
//! * **Stopped apps**: [`AppStatus::is_stopped`] (shareable with workers) turns true when the
//!   app hit a fatal error; its clients have been sent 1011 close records; workers then answer
//!   the app's endpoints with 503. The app thread keeps draining, so rings never fill.
//! * **Shutdown**: workers close their connections and push the close records, then the daemon
//!   calls [`AppThreadHandle::stop`] for every app: each loop handles what is left and returns.
//!
//! See [`app_thread`] for the loop itself (fair round-robin draining, timers, sleep/wake,
//! stopping).

pub mod app_thread;
mod loader;
mod packed_addr;
mod runner;
mod test_host;

pub use app_thread::{
    AppExit, AppStatus, AppThread, AppThreadHandle, AppThreadStats, DEFAULT_BATCH, Logger,
    WorkerLink,
};
pub use loader::{App, LoadError, LoadErrorKind, MAX_APP_DATA_SIZE};
pub use packed_addr::PackedAddr;
pub use runner::{AppRunner, AppStopped, HostSink, TimerMode};
pub use test_host::{Received, Recorder, TestHost, UpgradeAnswer};
