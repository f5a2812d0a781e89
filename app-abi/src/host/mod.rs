//! The host side of the ABI (feature `host`): what the daemon links, never an app.
//!
//! * [`App`] loads a `.so` (or takes an in-process descriptor) and checks its descriptor.
//! * [`AppRunner`] is everything an app thread does for one app, record by record: it calls
//!   the callbacks, implements the host function table (`rs_t`'s `host`), enforces which
//!   helpers each callback may use, tracks the app's clients, and turns sends and closes into
//!   outbound records, split per worker. It does no I/O and never sleeps: inbound records and
//!   the time come in, outbound records and log lines go out through a [`HostSink`].
//! * [`TestHost`] drives an app through a runner with simulated workers, for tests.
//!
//! **Not here yet: the app thread's loop** (the daemon's app-thread module, once ring-spsc and
//! futex-loop are ready). It owns one [`AppRunner`], created on the app thread itself (an app's
//! state may be tied to its thread), and its [`HostSink`] writes into the outbound ring of each
//! worker (waking that worker through its eventfd if it announced sleep). The loop: call
//! [`AppRunner::init`], then repeatedly drain every inbound ring, decoding each record with
//! [`Inbound::decode`](crate::records::Inbound::decode) and passing it to
//! [`AppRunner::handle`]; call [`AppRunner::run_timer`] when [`AppRunner::timer_deadline`] has
//! passed (for a `sleep` timer only while traffic keeps the thread awake); and when all rings
//! are empty, announce sleep, re-check, and futex-wait until the next `wake` timer deadline.
//! When a runner reports [`AppStopped`], the loop keeps draining (close records) but the
//! daemon answers the app's endpoints with 503.

mod loader;
mod runner;
mod test_host;

pub use loader::{App, LoadError, LoadErrorKind, MAX_APP_DATA_SIZE};
pub use runner::{AppRunner, AppStopped, HostSink, TimerMode};
pub use test_host::{Received, Recorder, TestHost};
