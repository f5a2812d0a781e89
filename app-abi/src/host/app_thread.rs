//! [`AppThread`]: the app thread's loop over the rings — one thread per app.
//!
//! The daemon creates, per app, one inbound ring (worker → app) and one outbound ring
//! (app → worker) for every worker, a [`SleepGate`] the workers wake the app through, and a
//! [`WorkerGate`] per worker (shared by every app), then hands the app's ends to
//! [`AppThread::new`] and [`spawn`](AppThread::spawn)s it:
//!
//! ```no_run
//! # use std::sync::Arc;
//! # use app_abi::host::{App, AppThread, WorkerLink};
//! # use app_abi::conf::ConfView;
//! # use futex_loop::{EventFdWaker, MonotonicClock, SleepGate, WorkerGate};
//! # fn demo(app: App, conf: Arc<ConfView>, worker_gates: Vec<Arc<WorkerGate<EventFdWaker>>>)
//! #     -> std::io::Result<()> {
//! let gate = Arc::new(SleepGate::new());
//! let (mut inbound, mut outbound) = (Vec::new(), Vec::new());
//! for worker_gate in &worker_gates {
//!     let (to_app, from_worker) = ring_spsc::channel(ring_spsc::Config::inbound()).unwrap();
//!     let (to_worker, from_app) = ring_spsc::channel(ring_spsc::Config::outbound()).unwrap();
//!     inbound.push(from_worker);
//!     outbound.push(WorkerLink::new(to_worker, worker_gate.clone()));
//!     // The worker keeps `to_app` (pushing, then `gate.notify()`) and `from_app` (draining).
//! #   drop((to_app, from_app));
//! }
//! let handle = AppThread::new(app, conf, 0, inbound, outbound, gate, Arc::new(MonotonicClock))
//!     .spawn()?;
//! let status = handle.status().clone(); // for the workers: `is_stopped()` → answer 503
//! // … at shutdown, once the workers have pushed a close record for every client:
//! let exit = handle.stop().expect("the app thread panicked");
//! # let _ = (status, exit); Ok(()) }
//! ```
//!
//! # The loop
//!
//! On its own thread (the [`AppRunner`] is made there: it is not `Send`), the loop runs the
//! app's init, then turns:
//!
//! 1. **Timer**: if the app's timer is due on the injected [`Clock`], run it — in both modes,
//!    so timers keep firing under load.
//! 2. **Drain, round-robin**: visit every worker's inbound ring once, starting one worker
//!    further each turn, and take at most [`batch`](AppThread::with_batch) records from each
//!    (one `peek_batch`, released with one store), so a flooding worker cannot starve the
//!    others. Each record is decoded ([`Inbound::decode`]) and handed to the runner; one that
//!    does not decode is logged and skipped. Records keep their order within a worker's ring;
//!    between workers there is no order (a client's open on worker 1 may be handled after a
//!    message from worker 0 that was pushed later).
//! 3. **Publish** after each worker's batch: the runner's outbound records were written in place
//!    ([`Producer::reserve`] / commit) into each recipient worker's outbound ring; every ring
//!    that got something is flushed once and its worker notified once
//!    ([`WorkerGate::notify`], an eventfd write only if that worker announced sleep).
//! 4. **Sleep** when a turn found nothing: announce on the [`SleepGate`], re-check every inbound
//!    ring and the stop flag (the gate's Dekker handshake, so no wake-up is lost), then
//!    futex-wait. The timeout is the timer's deadline for a `wake` timer
//!    ([`TimerMode::Wake`](futex_loop::TimerMode::Wake), the spec's `RS_TIMER_WAKE`); a `sleep`
//!    timer (`RS_TIMER_SLEEP`) or none sleeps until traffic arrives, and an overdue `sleep`
//!    timer runs on the next turn.
//!
//! # Stopping
//!
//! * **Fatal app error** (a `-1` return, a panic, misuse): the runner closes the app's clients
//!   with 1011 and runs no more callbacks. The loop keeps draining every inbound ring (so the
//!   workers' rings never fill): new connections get a 1011 close record, messages are
//!   discarded, close records forget clients. [`AppStatus::is_stopped`] turns true, for the
//!   workers to answer the app's endpoints with 503 and for the daemon to exit (non-zero) once
//!   no app is left.
//! * **Shutdown**: [`AppThreadHandle::stop`] (or [`request_stop`](AppThreadHandle::request_stop))
//!   sets a stop flag and notifies the gate. The loop then handles everything already in the
//!   rings and returns once a turn finds every ring empty. The daemon stops app threads after
//!   its workers have pushed a close record for each of their connections, so that every close
//!   callback runs; [`AppExit::clients_left`] reports any the app still knew.
//!
//! # Outbound ring full
//!
//! Outbound rings grow (ring-spsc) instead of filling, unless the daemon caps them
//! (`max_capacity`). At a cap, the loop flushes, notifies the worker and retries (yielding,
//! then sleeping 100 µs between tries) until the worker has made room — workers never wait for
//! app threads, so this ends — or the worker's consumer is gone, when the record is dropped.
//! A record over the ring's `max_record_len`, or a failed allocation, is logged and dropped.

use core::fmt;
use core::time::Duration;
use std::io;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread::{self, JoinHandle};

use futex_loop::{Clock, Futex, Signal, SleepGate, Timer, WorkerGate};
use ring_spsc::{Consumer, Producer};

use crate::abi::Level;
use crate::conf::ConfView;
use crate::host::{App, AppRunner, HostSink, TimerMode};
use crate::records::Inbound;

/// The default number of records taken from one worker's ring per turn.
pub const DEFAULT_BATCH: usize = 64;

/// A log sink: `(level, app name, message)`, already filtered by the configured `log_level`.
pub type Logger = Box<dyn FnMut(Level, &str, &str) + Send>;

/// One worker as an app thread sees it: the producer end of the app → worker (outbound) ring,
/// and the gate that wakes the worker out of `epoll_wait`.
pub struct WorkerLink<S> {
    producer: Producer,
    gate: Arc<WorkerGate<S>>,
}

impl<S> fmt::Debug for WorkerLink<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WorkerLink")
            .field("producer", &self.producer)
            .finish_non_exhaustive()
    }
}

impl<S: Signal> WorkerLink<S> {
    /// The outbound ring's producer and the worker's gate.
    pub fn new(producer: Producer, gate: Arc<WorkerGate<S>>) -> Self {
        Self { producer, gate }
    }
}

/// Counters of an app thread's work, as a snapshot ([`AppStatus::stats`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct AppThreadStats {
    /// Loop turns (each visits every inbound ring once).
    pub turns: u64,
    /// Inbound records taken from the rings (including undecodable ones).
    pub records: u64,
    /// Inbound records that did not decode (logged and skipped).
    pub bad_records: u64,
    /// Timer callback runs.
    pub timer_runs: u64,
    /// Futex waits: times the thread really slept (the re-check found nothing).
    pub sleeps: u64,
    /// Sleeps ended by the timer's timeout rather than by a notification.
    pub timeouts: u64,
    /// Outbound publications: one flush and one notify of one worker.
    pub publishes: u64,
    /// A gauge: bytes in the inbound rings (every worker's) not yet taken, records with their
    /// headers, as of the thread's last batch (or its last look before sleeping).
    pub inbound_used_bytes: u64,
}

#[derive(Debug, Default)]
struct Counters {
    turns: AtomicU64,
    records: AtomicU64,
    bad_records: AtomicU64,
    timer_runs: AtomicU64,
    sleeps: AtomicU64,
    timeouts: AtomicU64,
    publishes: AtomicU64,
    inbound_used_bytes: AtomicU64,
}

impl Counters {
    fn add(counter: &AtomicU64, n: u64) {
        // Relaxed: statistics, read by nobody who relies on their order. Only the app thread
        // writes, so a load and a store would do; `fetch_add` keeps it obviously right.
        counter.fetch_add(n, Ordering::Relaxed);
    }

    /// Stores the inbound rings' occupancy, `used` holding each ring's last reading (Relaxed:
    /// a gauge for monitoring, as the counters).
    fn gauge_inbound(&self, used: &[usize]) {
        let total: usize = used.iter().sum();
        self.inbound_used_bytes
            .store(total as u64, Ordering::Relaxed);
    }

    fn snapshot(&self) -> AppThreadStats {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        AppThreadStats {
            turns: get(&self.turns),
            records: get(&self.records),
            bad_records: get(&self.bad_records),
            timer_runs: get(&self.timer_runs),
            sleeps: get(&self.sleeps),
            timeouts: get(&self.timeouts),
            publishes: get(&self.publishes),
            inbound_used_bytes: get(&self.inbound_used_bytes),
        }
    }
}

#[derive(Debug)]
struct Shared {
    name: String,
    stop: AtomicBool,
    initialized: AtomicBool,
    stopped: AtomicBool,
    exited: AtomicBool,
    counters: Counters,
}

/// An app thread's state as others see it. Cheap to clone and share (workers check
/// [`is_stopped`](Self::is_stopped) to answer the app's endpoints with 503).
#[derive(Debug, Clone)]
pub struct AppStatus(Arc<Shared>);

impl AppStatus {
    /// The app's configured name.
    pub fn name(&self) -> &str {
        &self.0.name
    }

    /// Whether the app's init callback has returned (successfully or not).
    pub fn is_initialized(&self) -> bool {
        self.0.initialized.load(Ordering::Acquire)
    }

    /// Whether the app stopped after a fatal error (its endpoints answer 503).
    pub fn is_stopped(&self) -> bool {
        self.0.stopped.load(Ordering::Acquire)
    }

    /// Whether the thread's loop has returned (after a stop request, or a panic).
    pub fn has_exited(&self) -> bool {
        self.0.exited.load(Ordering::Acquire)
    }

    /// A snapshot of the thread's counters.
    pub fn stats(&self) -> AppThreadStats {
        self.0.counters.snapshot()
    }
}

/// What an app thread's loop returned.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct AppExit {
    /// The app had stopped after a fatal error.
    pub stopped: bool,
    /// Clients the app still knew at exit: connections whose close record never came (0 when
    /// the workers closed every connection before the stop).
    pub clients_left: usize,
    /// The final counters.
    pub stats: AppThreadStats,
}

/// Everything an app thread needs; [`spawn`](Self::spawn) starts it.
///
/// * `F`: the [`SleepGate`]'s futex ([`SysFutex`](futex_loop::SysFutex) in the daemon; tests
///   may wrap it to count waits).
/// * `S`: the workers' [`Signal`] ([`EventFdWaker`](futex_loop::EventFdWaker) in the daemon).
/// * `C`: the [`Clock`] ([`MonotonicClock`](futex_loop::MonotonicClock) in the daemon,
///   [`ManualClock`](futex_loop::ManualClock) in tests). Timer deadlines are µs on this clock.
pub struct AppThread<F, S, C> {
    app: App,
    conf: Arc<ConfView>,
    app_i: usize,
    inbound: Vec<Consumer>,
    outbound: Vec<WorkerLink<S>>,
    gate: Arc<SleepGate<F>>,
    clock: Arc<C>,
    batch: usize,
    logger: Option<Logger>,
}

impl<F, S, C> fmt::Debug for AppThread<F, S, C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AppThread")
            .field("app", &self.app.source())
            .field("app_i", &self.app_i)
            .field("workers", &self.inbound.len())
            .field("batch", &self.batch)
            .finish_non_exhaustive()
    }
}

impl<F, S, C> AppThread<F, S, C>
where
    F: Futex + 'static,
    S: Signal + 'static,
    C: Clock + Send + Sync + 'static,
{
    /// An app thread for `app`, entry `app_i` of `conf`.
    ///
    /// `inbound[i]` and `outbound[i]` are worker `i`'s rings (the `i` in its
    /// [`ClientId::worker`](crate::ClientId::worker)); both must have one entry per worker.
    /// `gate` is the gate the workers notify after pushing to `inbound`.
    pub fn new(
        app: App,
        conf: Arc<ConfView>,
        app_i: usize,
        inbound: Vec<Consumer>,
        outbound: Vec<WorkerLink<S>>,
        gate: Arc<SleepGate<F>>,
        clock: Arc<C>,
    ) -> Self {
        Self {
            app,
            conf,
            app_i,
            inbound,
            outbound,
            gate,
            clock,
            batch: DEFAULT_BATCH,
            logger: None,
        }
    }

    /// Takes at most `batch` records (at least 1) from one worker's ring per turn (default
    /// [`DEFAULT_BATCH`]). Smaller is fairer between workers; larger makes fewer publications.
    pub fn with_batch(mut self, batch: usize) -> Self {
        self.batch = batch.max(1);
        self
    }

    /// Sends the app's log lines to `logger` instead of standard error.
    pub fn with_logger(mut self, logger: impl FnMut(Level, &str, &str) + Send + 'static) -> Self {
        self.logger = Some(Box::new(logger));
        self
    }

    /// Starts the thread (named `rs-app-NAME`).
    ///
    /// Errors: [`io::ErrorKind::InvalidInput`] when `app_i` is not an app of the configuration,
    /// or the inbound and outbound ring counts differ or are not 1..=256; or the thread could
    /// not be spawned.
    pub fn spawn(self) -> io::Result<AppThreadHandle> {
        let invalid = |why: String| io::Error::new(io::ErrorKind::InvalidInput, why);
        let Some(app_conf) = self.conf.get().apps().get(self.app_i) else {
            return Err(invalid(format!(
                "app index {} is not configured",
                self.app_i
            )));
        };
        let name = app_conf.name().to_owned();
        let workers = self.inbound.len();
        if workers != self.outbound.len() || !(1..=256).contains(&workers) {
            return Err(invalid(format!(
                "app {name}: {} inbound and {} outbound rings; need one of each per worker \
                 (1..=256)",
                workers,
                self.outbound.len()
            )));
        }
        let shared = Arc::new(Shared {
            name: name.clone(),
            stop: AtomicBool::new(false),
            initialized: AtomicBool::new(false),
            stopped: AtomicBool::new(false),
            exited: AtomicBool::new(false),
            counters: Counters::default(),
        });
        let gate = self.gate.clone();
        let status = AppStatus(shared.clone());
        let thread = thread::Builder::new()
            .name(format!("rs-app-{name}"))
            .spawn(move || {
                // Marks the exit even when the loop panics.
                struct Exited(Arc<Shared>);
                impl Drop for Exited {
                    fn drop(&mut self) {
                        self.0.exited.store(true, Ordering::Release);
                    }
                }
                let _exited = Exited(shared.clone());
                self.run(&shared)
            })?;
        Ok(AppThreadHandle {
            status,
            notify: Box::new(move || {
                gate.notify();
            }),
            thread: Some(thread),
        })
    }

    /// The loop; see the module docs.
    fn run(self, shared: &Shared) -> AppExit {
        let Self {
            app,
            conf,
            app_i,
            mut inbound,
            outbound,
            gate,
            clock,
            batch,
            logger,
        } = self;
        let counters = &shared.counters;
        let worker_c = inbound.len();
        let sink = RingSink::new(shared.name.clone(), outbound, logger);
        let mut runner = AppRunner::new(app, conf, app_i, worker_c, sink);
        let mark_stopped = |stopped: bool| {
            if stopped && !shared.stopped.load(Ordering::Relaxed) {
                // Release: pairs with `AppStatus::is_stopped`'s Acquire load. Readers only
                // answer 503 on it; the 1011 close records travel through the rings.
                shared.stopped.store(true, Ordering::Release);
            }
        };
        let stopped = runner.init(micros(clock.now())).is_err();
        mark_stopped(stopped);
        shared.initialized.store(true, Ordering::Release);
        runner.sink_mut().publish(counters);

        let timer_mode = match runner.timer_mode() {
            TimerMode::Wake => futex_loop::TimerMode::Wake,
            TimerMode::Sleep | TimerMode::None => futex_loop::TimerMode::Sleep,
        };
        let mut first = 0;
        // Each inbound ring's fill level as last read: a batch re-reads only its own ring's,
        // not every worker's contended tail.
        let mut used = vec![0; worker_c];
        loop {
            Counters::add(&counters.turns, 1);
            let now = micros(clock.now());
            if runner.timer_deadline().is_some_and(|due| due <= now) {
                let stopped = runner.run_timer(now).is_err();
                mark_stopped(stopped);
                Counters::add(&counters.timer_runs, 1);
                runner.sink_mut().publish(counters);
            }

            let mut handled = 0;
            for k in 0..worker_c {
                let i = (first + k) % worker_c;
                let consumer = &mut inbound[i];
                let records = consumer.peek_batch(batch);
                if records.is_empty() {
                    continue;
                }
                for bytes in &records {
                    match Inbound::decode(bytes) {
                        Ok(record) => {
                            let stopped = runner.handle(record).is_err();
                            mark_stopped(stopped);
                        }
                        Err(e) => {
                            Counters::add(&counters.bad_records, 1);
                            let name = &shared.name;
                            runner.sink_mut().log(
                                Level::Error,
                                name,
                                &format!("skipping an undecodable inbound record: {e}"),
                            );
                        }
                    }
                }
                // Counted before publishing, so whoever sees the outcome sees the count.
                Counters::add(&counters.records, records.len() as u64);
                handled += records.len();
                records.release();
                // Before the replies are published: whoever sees a reply sees the gauge too.
                used[i] = consumer.used_bytes();
                Counters::gauge_inbound(counters, &used);
                runner.sink_mut().publish(counters);
            }
            first = (first + 1) % worker_c;
            if handled > 0 {
                continue;
            }
            for (level, consumer) in used.iter_mut().zip(&inbound) {
                *level = consumer.used_bytes();
            }
            Counters::gauge_inbound(counters, &used);

            // Acquire: pairs with `request_stop`'s store; what the requester did before
            // stopping (its last pushes) is visible to the final turn that follows.
            if shared.stop.load(Ordering::Acquire) {
                break;
            }
            let mut timer = Timer::new(timer_mode);
            if let Some(due) = runner.timer_deadline() {
                timer.arm_at(Duration::from_micros(due));
            }
            let timeout = timer.idle_timeout(clock.now());
            if timeout == Some(Duration::ZERO) {
                continue; // Due now: run it.
            }
            let has_work =
                || shared.stop.load(Ordering::Acquire) || inbound.iter().any(|c| !c.is_empty());
            match gate.sleep_unless(has_work, timeout) {
                futex_loop::Sleep::Busy => {}
                futex_loop::Sleep::Woken => Counters::add(&counters.sleeps, 1),
                futex_loop::Sleep::TimedOut => {
                    Counters::add(&counters.sleeps, 1);
                    Counters::add(&counters.timeouts, 1);
                }
            }
        }
        // The app is done for good: its state is dropped (by its own code) before the thread
        // reports back, so whatever its `Drop` flushes is out when the daemon exits.
        runner.fini();
        runner.sink_mut().publish(counters);
        AppExit {
            stopped: runner.is_stopped(),
            clients_left: runner.client_count(),
            stats: counters.snapshot(),
        }
    }
}

/// Controls a running app thread. Dropping it requests a stop without waiting.
pub struct AppThreadHandle {
    status: AppStatus,
    notify: Box<dyn Fn() + Send + Sync>,
    thread: Option<JoinHandle<AppExit>>,
}

impl fmt::Debug for AppThreadHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AppThreadHandle")
            .field("status", &self.status)
            .finish_non_exhaustive()
    }
}

impl AppThreadHandle {
    /// The thread's status, shareable with workers.
    pub fn status(&self) -> &AppStatus {
        &self.status
    }

    /// Shorthand for [`status().is_stopped()`](AppStatus::is_stopped).
    pub fn is_stopped(&self) -> bool {
        self.status.is_stopped()
    }

    /// The thread.
    pub fn thread(&self) -> &thread::Thread {
        self.thread
            .as_ref()
            .expect("the handle owns its thread until stop or join")
            .thread()
    }

    /// Asks the loop to finish: it handles what is already in the rings, then returns.
    /// Does not wait; see [`stop`](Self::stop).
    pub fn request_stop(&self) {
        // Release: see the loop's Acquire load. The flag is one of the things the loop's
        // pre-sleep re-check looks at, and `notify` is the gate's producer half, so a sleeping
        // loop wakes and a loop about to sleep sees the flag.
        self.status.0.stop.store(true, Ordering::Release);
        (self.notify)();
    }

    /// Requests a stop and waits for the loop to return. `Err` carries a panic of the loop
    /// (a host bug: apps' own panics are caught and make the app stop instead).
    pub fn stop(self) -> thread::Result<AppExit> {
        self.request_stop();
        self.join()
    }

    /// Waits for the loop to return (after someone requested a stop).
    pub fn join(mut self) -> thread::Result<AppExit> {
        let thread = self
            .thread
            .take()
            .expect("the handle owns its thread until stop or join");
        thread.join()
    }
}

impl Drop for AppThreadHandle {
    fn drop(&mut self) {
        if self.thread.is_some() {
            self.request_stop();
        }
    }
}

/// Microseconds on the loop's clock, as the runner counts time.
fn micros(t: Duration) -> u64 {
    u64::try_from(t.as_micros()).unwrap_or(u64::MAX)
}

/// The [`HostSink`] of an app thread: writes each outbound record in place into its worker's
/// ring and remembers which workers to publish to.
struct RingSink<S> {
    /// The app's name, for the sink's own log lines.
    name: String,
    links: Vec<WorkerLink<S>>,
    /// Workers with committed, unpublished records, each once.
    dirty: Vec<u8>,
    is_dirty: Vec<bool>,
    logger: Option<Logger>,
}

impl<S: Signal> RingSink<S> {
    fn new(name: String, links: Vec<WorkerLink<S>>, logger: Option<Logger>) -> Self {
        let worker_c = links.len();
        Self {
            name,
            links,
            dirty: Vec::with_capacity(worker_c),
            is_dirty: vec![false; worker_c],
            logger,
        }
    }

    /// Flushes every ring written to since the last call and notifies its worker, once each.
    fn publish(&mut self, counters: &Counters) {
        let mut published = 0;
        for worker in self.dirty.drain(..) {
            let i = usize::from(worker);
            self.is_dirty[i] = false;
            let link = &mut self.links[i];
            link.producer.flush();
            link.gate.notify();
            published += 1;
        }
        if published > 0 {
            Counters::add(&counters.publishes, published);
        }
    }

    fn log_line(&mut self, level: Level, app: &str, msg: &str) {
        match &mut self.logger {
            Some(logger) => logger(level, app, msg),
            None => eprintln!("ringsocket [{level}] {app}: {msg}"),
        }
    }
}

impl<S: Signal> HostSink for RingSink<S> {
    fn push(&mut self, worker: u8, parts: &[&[u8]]) {
        let i = usize::from(worker);
        let len: usize = parts.iter().map(|p| p.len()).sum();
        let Some(link) = self.links.get_mut(i) else {
            // The runner only routes to workers below its `worker_c`, which is `links.len()`.
            debug_assert!(false, "outbound record for worker {worker} of {i}");
            return;
        };
        let mut tries = 0u32;
        let failure = loop {
            let error = match link.producer.reserve(len) {
                Ok(mut slot) => {
                    let mut at = 0;
                    for part in parts {
                        slot[at..at + part.len()].copy_from_slice(part);
                        at += part.len();
                    }
                    slot.commit(len);
                    break None;
                }
                Err(e) => e,
            };
            if error != ring_spsc::Error::Full || link.producer.is_abandoned() {
                break Some(error);
            }
            // At its capacity cap: let the worker drain it. Workers never wait for app
            // threads, so room comes.
            link.producer.flush();
            link.gate.notify();
            tries += 1;
            if tries < 64 {
                thread::yield_now();
            } else {
                thread::sleep(Duration::from_micros(100));
            }
        };
        if let Some(e) = failure {
            let msg = format!("dropping a {len}-byte outbound record for worker {worker}: {e}");
            let name = core::mem::take(&mut self.name);
            self.log_line(Level::Error, &name, &msg);
            self.name = name;
            return;
        }
        if !self.is_dirty[i] {
            self.is_dirty[i] = true;
            self.dirty.push(worker);
        }
    }

    fn log(&mut self, level: Level, app: &str, msg: &str) {
        self.log_line(level, app, msg);
    }
}
