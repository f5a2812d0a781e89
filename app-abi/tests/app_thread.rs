//! The app thread's loop over real rings, with simulated workers on real threads: records from
//! several workers reach `rs_app!` apps, replies and broadcasts arrive in each worker's ring in
//! order (a broadcast once per ring), timers fire on a manual clock in both modes, the thread
//! sleeps when idle and wakes on a push, stops cleanly, and a fatal app keeps draining.
//!
//! Every wait is bounded ([`LIMIT`]), so a bug fails a test instead of hanging CI.

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicU32, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::thread;
use std::time::{Duration, Instant};

use app_abi::conf::ConfView;
use app_abi::host::{App, AppThread, AppThreadHandle, AppThreadStats, TestHost, WorkerLink};
use app_abi::records::{Inbound, Outbound, Recipients, decode_server_frame};
use app_abi::{ClientId, DataKind, Rs, Stop, Timer, rs_app};
use futex_loop::{Futex, ManualClock, Signal, SleepGate, SysFutex, WaitOutcome, WorkerGate};
use ring_spsc::{Consumer, Producer};

/// The longest any test waits for something that should happen.
const LIMIT: Duration = Duration::from_secs(10);

// ---------- the harness ----------

/// The real futex, counting waits.
#[derive(Debug, Default)]
struct CountingFutex {
    waits: AtomicU64,
}

impl Futex for CountingFutex {
    fn wait(&self, word: &AtomicU32, expected: u32, timeout: Option<Duration>) -> WaitOutcome {
        self.waits.fetch_add(1, Ordering::Relaxed);
        SysFutex.wait(word, expected, timeout)
    }

    fn wake_one(&self, word: &AtomicU32) {
        SysFutex.wake_one(word);
    }
}

/// A worker's wake-up: unparks the worker's thread (standing in for its eventfd) and counts.
/// A `sticky` signal re-announces sleep after each signal, so that every `notify` of the app
/// thread signals: that counts notifications rather than wake-ups.
#[derive(Debug)]
struct TestSignal {
    thread: Mutex<Option<thread::Thread>>,
    signals: AtomicU64,
    sticky: Option<Weak<WorkerGate<TestSignal>>>,
}

impl Signal for TestSignal {
    fn signal(&self) {
        self.signals.fetch_add(1, Ordering::Relaxed);
        if let Some(thread) = &*self.thread.lock().unwrap() {
            thread.unpark();
        }
        if let Some(gate) = self.sticky.as_ref().and_then(Weak::upgrade) {
            gate.flag().announce();
        }
    }
}

type AppGate = SleepGate<CountingFutex>;

/// What a worker found in its outbound ring.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Out {
    Send {
        to: To,
        kind: DataKind,
        payload: Vec<u8>,
    },
    Close(ClientId, u16),
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum To {
    Single(ClientId),
    Multi(Vec<ClientId>),
    Every,
    Except(Vec<ClientId>),
}

impl Out {
    fn parse(bytes: &[u8]) -> Self {
        match Outbound::decode(bytes).expect("a well-formed outbound record") {
            Outbound::Send { to, frame } => {
                let (kind, payload) = decode_server_frame(frame).expect("a server frame");
                let to = match to {
                    Recipients::Single(id) => To::Single(id),
                    Recipients::Multi(ids) => To::Multi(ids.iter().collect()),
                    Recipients::Every => To::Every,
                    Recipients::EveryExceptSingle(id) => To::Except(vec![id]),
                    Recipients::EveryExceptMulti(ids) => To::Except(ids.iter().collect()),
                };
                Out::Send {
                    to,
                    kind,
                    payload: payload.to_vec(),
                }
            }
            Outbound::Close { client, code } => Out::Close(client, code),
            other => panic!("no upgrades or barriers in these tests: {other:?}"),
        }
    }

    fn text(&self) -> &str {
        match self {
            Out::Send { payload, .. } => std::str::from_utf8(payload).unwrap(),
            Out::Close(..) => panic!("expected a message, got {self:?}"),
        }
    }
}

/// One simulated worker: its end of the inbound ring, its outbound ring and its gate.
struct Worker {
    i: u8,
    to_app: Producer,
    from_app: Consumer,
    gate: Arc<WorkerGate<TestSignal>>,
    app_gate: Arc<AppGate>,
    /// Pushes whose notify woke the app thread.
    woke_app: u64,
    buf: Vec<u8>,
}

impl Worker {
    fn client(&self, slot: u32) -> ClientId {
        ClientId::from_parts(1, self.i, slot).unwrap()
    }

    /// Pushes a record without waking the app (to pre-fill rings before it starts).
    fn push_quiet(&mut self, record: Inbound<'_>) {
        self.buf.clear();
        record.encode(&mut self.buf);
        let deadline = Instant::now() + LIMIT;
        // A ring with a capacity cap may be full: wait for the app thread, as a worker would
        // keep the message pending.
        while let Err(e) = self.to_app.push(&self.buf) {
            assert_eq!(e, ring_spsc::Error::Full);
            assert!(Instant::now() < deadline, "inbound ring stayed full");
            self.to_app.flush();
            self.app_gate.notify();
            thread::yield_now();
        }
    }

    /// Pushes a record, publishes it and notifies the app thread, as a worker does.
    fn push(&mut self, record: Inbound<'_>) {
        self.push_quiet(record);
        self.to_app.flush();
        if self.app_gate.notify() {
            self.woke_app += 1;
        }
    }

    fn open(&mut self, slot: u32) -> ClientId {
        let client = self.client(slot);
        let port = 40_000 + u16::from(self.i) * 1000 + slot as u16;
        self.push(Inbound::Open {
            client,
            endpoint_id: 0,
            peer: SocketAddr::from((Ipv4Addr::LOCALHOST, port)),
        });
        client
    }

    fn read(&mut self, client: ClientId, kind: DataKind, payload: &[u8]) {
        self.push(Inbound::Read {
            client,
            endpoint_id: 0,
            data_kind: kind,
            payload,
        });
    }

    fn text(&mut self, client: ClientId, text: &str) {
        self.read(client, DataKind::Text, text.as_bytes());
    }

    fn close(&mut self, client: ClientId) {
        self.push(Inbound::Close {
            client,
            endpoint_id: 0,
        });
    }

    fn drain(&mut self, out: &mut Vec<Out>) {
        while let Some(bytes) = self.from_app.peek() {
            out.push(Out::parse(bytes));
            self.from_app.release();
        }
    }

    /// Waits (sleeping as a worker does, behind its gate) for `n` outbound records.
    fn recv(&mut self, n: usize) -> Vec<Out> {
        *self.gate.signal().thread.lock().unwrap() = Some(thread::current());
        let deadline = Instant::now() + LIMIT;
        let mut out = Vec::new();
        loop {
            self.drain(&mut out);
            if out.len() >= n {
                assert_eq!(out.len(), n, "worker {} got too much: {out:?}", self.i);
                return out;
            }
            assert!(
                Instant::now() < deadline,
                "worker {} timed out with {} of {n} records: {out:?}",
                self.i,
                out.len()
            );
            if self.gate.prepare_sleep(|| !self.from_app.is_empty()) {
                thread::park_timeout(Duration::from_millis(50));
            }
            self.gate.finish_sleep();
        }
    }

    /// Polls for `n` outbound records without sleeping behind the gate.
    fn collect(&mut self, n: usize) -> Vec<Out> {
        let mut out = Vec::new();
        wait_until("outbound records", || {
            self.drain(&mut out);
            out.len() >= n
        });
        assert_eq!(out.len(), n);
        out
    }

    /// Asserts that nothing arrives for `for_`.
    fn recv_none(&mut self, for_: Duration) {
        thread::sleep(for_);
        let mut out = Vec::new();
        self.drain(&mut out);
        assert!(out.is_empty(), "worker {} got {out:?}", self.i);
    }
}

/// An app thread over `worker_c` simulated workers, on a manual clock.
struct Rig {
    workers: Vec<Worker>,
    app_gate: Arc<AppGate>,
    clock: Arc<ManualClock>,
    thread: Option<AppThread<CountingFutex, TestSignal, ManualClock>>,
    handle: Option<AppThreadHandle>,
    logs: Arc<Mutex<Vec<String>>>,
}

#[derive(Clone, Copy)]
struct Opts {
    /// Inbound rings: initial capacity, and whether it is also the cap.
    inbound: (usize, bool),
    outbound: usize,
    batch: usize,
    sticky: bool,
}

impl Default for Opts {
    fn default() -> Self {
        Self {
            // Small rings, so that the tests grow them.
            inbound: (1024, false),
            outbound: 1024,
            batch: app_abi::host::DEFAULT_BATCH,
            sticky: false,
        }
    }
}

impl Rig {
    fn new(name: &str, app: &'static app_abi::abi::rs_app_descriptor, worker_c: u8) -> Self {
        Self::with(name, app, worker_c, Opts::default())
    }

    /// Builds the rings and the thread; [`start`](Self::start) spawns it.
    fn with(
        name: &str,
        app: &'static app_abi::abi::rs_app_descriptor,
        worker_c: u8,
        opts: Opts,
    ) -> Self {
        // SAFETY: every descriptor here is made by `rs_app!`.
        let app = unsafe { App::from_static(name, app) }.unwrap();
        let mut conf = TestHost::default_conf();
        conf.worker_c = worker_c.into();
        let conf = Arc::new(ConfView::new(&conf).unwrap());
        let app_gate = Arc::new(SleepGate::with_futex(CountingFutex::default()));
        let clock = Arc::new(ManualClock::new(Duration::ZERO));
        let (mut workers, mut inbound, mut outbound) = (Vec::new(), Vec::new(), Vec::new());
        for i in 0..worker_c {
            let mut in_conf = ring_spsc::Config::new(opts.inbound.0);
            if opts.inbound.1 {
                in_conf = in_conf.with_max_capacity(opts.inbound.0);
            }
            let (to_app, from_worker) = ring_spsc::channel(in_conf).unwrap();
            let (to_worker, from_app) =
                ring_spsc::channel(ring_spsc::Config::new(opts.outbound)).unwrap();
            let gate = Arc::new_cyclic(|weak| {
                WorkerGate::new(TestSignal {
                    thread: Mutex::new(None),
                    signals: AtomicU64::new(0),
                    sticky: opts.sticky.then(|| weak.clone()),
                })
            });
            if opts.sticky {
                gate.flag().announce();
            }
            inbound.push(from_worker);
            outbound.push(WorkerLink::new(to_worker, gate.clone()));
            workers.push(Worker {
                i,
                to_app,
                from_app,
                gate,
                app_gate: app_gate.clone(),
                woke_app: 0,
                buf: Vec::new(),
            });
        }
        let logs = Arc::new(Mutex::new(Vec::new()));
        let sink = logs.clone();
        let thread = AppThread::new(
            app,
            conf,
            0,
            inbound,
            outbound,
            app_gate.clone(),
            clock.clone(),
        )
        .with_batch(opts.batch)
        .with_logger(move |level, app, msg| {
            sink.lock().unwrap().push(format!("[{level}] {app}: {msg}"));
        });
        Self {
            workers,
            app_gate,
            clock,
            thread: Some(thread),
            handle: None,
            logs,
        }
    }

    fn start(mut self) -> Self {
        let thread = self.thread.take().unwrap();
        self.handle = Some(thread.spawn().unwrap());
        self
    }

    fn handle(&self) -> &AppThreadHandle {
        self.handle.as_ref().unwrap()
    }

    fn stats(&self) -> AppThreadStats {
        self.handle().status().stats()
    }

    /// Waits until the app thread is blocked in its futex wait (sleep announced, and a wait
    /// counted since `waits_before`).
    fn wait_asleep(&self) {
        wait_until("the app thread to sleep", || {
            self.app_gate.flag().is_announced() && self.stats().sleeps < self.futex_waits()
        });
    }

    fn futex_waits(&self) -> u64 {
        self.app_gate.futex().waits.load(Ordering::Relaxed)
    }

    fn logged(&self, needle: &str) -> bool {
        self.logs.lock().unwrap().iter().any(|l| l.contains(needle))
    }

    fn stop(&mut self) -> app_abi::host::AppExit {
        self.handle
            .take()
            .unwrap()
            .stop()
            .expect("the app thread panicked")
    }
}

fn wait_until(what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + LIMIT;
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        thread::sleep(Duration::from_millis(1));
    }
}

fn sent(to: To, text: &str) -> Out {
    Out::Send {
        to,
        kind: DataKind::Text,
        payload: text.as_bytes().to_vec(),
    }
}

// ---------- apps ----------

fn echo(rs: &mut Rs, payload: &[u8]) {
    let kind = rs.read_data_kind();
    rs.w_bytes(payload);
    rs.to_cur(kind);
}

rs_app! {
    static ECHO;
    read: any echo(net [u8; 0..]),
}

/// Closes seen by [`ECHO_COUNTED`], which only one test uses.
static ECHO_CLOSES: AtomicUsize = AtomicUsize::new(0);

fn echo_close(_: &mut Rs) {
    ECHO_CLOSES.fetch_add(1, Ordering::Relaxed);
}

rs_app! {
    static ECHO_COUNTED;
    read: any echo(net [u8; 0..]),
    close: echo_close,
}

fn shout(rs: &mut Rs, msg: &str) {
    rs.w_str(msg);
    if msg.starts_with("others:") {
        rs.to_every_except_cur(DataKind::Text);
    } else {
        rs.to_every(DataKind::Text);
    }
}

rs_app! {
    static SHOUT;
    read: text shout(str[0..]),
}

// ---------- records from several workers ----------

#[test]
fn echo_from_three_workers_arrives_in_order() {
    const N: usize = 300;
    let mut rig = Rig::new("echo", &ECHO_COUNTED, 3).start();
    thread::scope(|s| {
        for w in &mut rig.workers {
            s.spawn(move || {
                let (a, b) = (w.open(0), w.open(1));
                let mut expected = Vec::new();
                for n in 0..N {
                    let (client, kind) = if n % 2 == 0 {
                        (a, DataKind::Text)
                    } else {
                        (b, DataKind::Bin)
                    };
                    // Sizes up to ~600 bytes, so both 1 KiB rings grow.
                    let payload = format!("w{}-{n}-{}", w.i, "x".repeat(n * 2));
                    w.read(client, kind, payload.as_bytes());
                    expected.push(Out::Send {
                        to: To::Single(client),
                        kind,
                        payload: payload.into_bytes(),
                    });
                }
                assert_eq!(w.recv(N), expected, "worker {}", w.i);
                w.close(a);
                w.close(b);
            });
        }
    });
    wait_until("the closes", || rig.stats().records == 3 * (N as u64 + 4));
    let exit = rig.stop();
    assert!(!exit.stopped);
    assert_eq!(exit.clients_left, 0);
    assert_eq!(exit.stats.records, 3 * (N as u64 + 4));
    assert_eq!(exit.stats.bad_records, 0);
    assert_eq!(ECHO_CLOSES.load(Ordering::Relaxed), 6);
}

#[test]
fn broadcast_is_written_once_per_worker_ring() {
    let mut rig = Rig::new("shout", &SHOUT, 3).start();
    let mut clients = Vec::new();
    for w in &mut rig.workers {
        clients.push([w.open(0), w.open(1), w.open(2)]);
    }
    // Records are ordered per worker ring only: let the app see every open first.
    wait_until("the opens", || rig.stats().records == 9);
    let first = clients[0][0];
    rig.workers[0].text(first, "all: hi");
    // Every worker ring gets the frame once, for all three of its clients.
    thread::scope(|s| {
        for w in &mut rig.workers {
            s.spawn(move || {
                assert_eq!(w.recv(1), [sent(To::Every, "all: hi")]);
                w.recv_none(Duration::from_millis(20));
            });
        }
    });

    let sender = clients[1][2];
    rig.workers[1].text(sender, "others: yo");
    thread::scope(|s| {
        for w in &mut rig.workers {
            s.spawn(move || {
                let to = if w.i == 1 {
                    To::Except(vec![sender])
                } else {
                    To::Every
                };
                assert_eq!(w.recv(1), [sent(to, "others: yo")]);
            });
        }
    });

    // A worker whose clients are all gone gets nothing.
    for c in clients[2] {
        rig.workers[2].close(c);
    }
    wait_until("the closes", || rig.stats().records == 9 + 2 + 3);
    rig.workers[0].text(first, "all: again");
    assert_eq!(rig.workers[0].recv(1), [sent(To::Every, "all: again")]);
    assert_eq!(rig.workers[1].recv(1), [sent(To::Every, "all: again")]);
    rig.workers[2].recv_none(Duration::from_millis(20));
    assert_eq!(rig.stop().clients_left, 6);
}

// ---------- fairness and publication ----------

static FAIR_LOG: Mutex<Vec<u8>> = Mutex::new(Vec::new());

fn note(rs: &mut Rs, _: &[u8]) {
    let worker = rs.client_id().worker();
    FAIR_LOG.lock().unwrap().push(worker);
}

rs_app! {
    static FAIR;
    read: any note(net [u8; 0..]),
}

#[test]
fn round_robin_batches_let_no_worker_starve_the_others() {
    let opts = Opts {
        batch: 8,
        ..Opts::default()
    };
    let mut rig = Rig::with("fair", &FAIR, 3, opts);
    // Worker 0 floods before the app thread starts; workers 1 and 2 have one message each.
    let c0 = rig.workers[0].open(0);
    for _ in 0..1000 {
        rig.workers[0].read(c0, DataKind::Bin, b"flood");
    }
    for w in &mut rig.workers[1..] {
        let c = w.open(0);
        w.read(c, DataKind::Bin, b"me too");
    }
    let rig = rig.start();
    wait_until("every record", || rig.stats().records == 1005);
    let log = FAIR_LOG.lock().unwrap().clone();
    assert_eq!(log.len(), 1002);
    let at = |worker| log.iter().position(|&w| w == worker).unwrap();
    // Turn 1 takes 8 records from worker 0 (its open and 7 reads), then workers 1 and 2.
    assert_eq!((at(1), at(2)), (7, 8), "{:?}", &log[..16]);
}

#[test]
fn workers_are_notified_once_per_batch_not_per_record() {
    let opts = Opts {
        // Big enough not to grow: a forward marker would end a batch early.
        inbound: (1 << 16, false),
        batch: 16,
        sticky: true,
        ..Opts::default()
    };
    let mut rig = Rig::with("echo", &ECHO, 2, opts);
    let c = rig.workers[0].open(0);
    for n in 0..160u32 {
        rig.workers[0].read(c, DataKind::Bin, &n.to_le_bytes());
    }
    let mut rig = rig.start();
    // Collect without touching the worker's gate: it stays "asleep", so every notify signals.
    let replies = rig.workers[0].collect(160);
    for (reply, n) in replies.iter().zip(0u32..) {
        assert_eq!(
            *reply,
            Out::Send {
                to: To::Single(c),
                kind: DataKind::Bin,
                payload: n.to_le_bytes().to_vec()
            }
        );
    }
    // 161 records in batches of 16: 11 batches, each publishing to worker 0 once. Worker 1
    // got nothing and was never notified.
    let signals = |w: &Worker| w.gate.signal().signals.load(Ordering::Relaxed);
    assert_eq!(signals(&rig.workers[0]), 11);
    assert_eq!(signals(&rig.workers[1]), 0);
    assert_eq!(rig.stats().publishes, 11);
    rig.stop();
}

// ---------- sleeping and waking ----------

#[test]
fn idle_app_thread_sleeps_and_wakes_on_a_push() {
    let mut rig = Rig::new("echo", &ECHO, 2).start();
    rig.wait_asleep();
    let (stats, waits) = (rig.stats(), rig.futex_waits());
    thread::sleep(Duration::from_millis(200));
    let (idle, idle_waits) = (rig.stats(), rig.futex_waits());
    // No busy loop: at most one spurious wake-up in 200 ms, not thousands of turns.
    assert!(idle.turns <= stats.turns + 1, "{stats:?} → {idle:?}");
    assert!(idle_waits <= waits + 1);
    assert_eq!(idle.records, 0);

    let mut w = rig.workers.remove(1);
    let w = thread::spawn(move || {
        let c = w.open(5);
        w.text(c, "wake up");
        assert_eq!(w.recv(1), [sent(To::Single(c), "wake up")]);
        w
    })
    .join()
    .unwrap();
    assert!(w.woke_app >= 1, "the push had to wake the sleeping thread");
    assert!(rig.stats().sleeps > idle.sleeps);
    // And it goes back to sleep.
    rig.wait_asleep();
    rig.stop();
}

static TICKS: AtomicU32 = AtomicU32::new(0);

fn tick(rs: &mut Rs) -> Timer {
    let n = TICKS.fetch_add(1, Ordering::Relaxed) + 1;
    rs.w_str(&format!("tick {n}"));
    rs.to_every(DataKind::Text);
    if n < 3 {
        Timer::After(Duration::from_millis(20))
    } else {
        Timer::Stop
    }
}

rs_app! {
    static WAKE_TICKER;
    timer: wake(tick, 20_000),
}

#[test]
fn wake_timer_fires_while_idle() {
    let mut rig = Rig::new("ticker", &WAKE_TICKER, 1).start();
    let c = rig.workers[0].open(0);
    wait_until("the open", || rig.stats().records == 1);
    // The futex wait times out every 20 ms of real time, but the manual clock has not moved.
    rig.workers[0].recv_none(Duration::from_millis(60));
    for n in 1..=3 {
        rig.clock.advance(Duration::from_millis(20));
        // No push and no notify: only the futex timeout can wake the thread.
        let tick = format!("tick {n}");
        assert_eq!(rig.workers[0].recv(1), [sent(To::Every, &tick)]);
    }
    let stats = rig.stats();
    assert_eq!(stats.timer_runs, 3);
    assert!(stats.timeouts >= 3, "{stats:?}");
    // `Timer::Stop`: disarmed, so the thread sleeps without a timeout.
    rig.clock.advance(Duration::from_secs(100));
    rig.wait_asleep();
    let waits = rig.futex_waits();
    rig.workers[0].recv_none(Duration::from_millis(100));
    assert!(rig.futex_waits() <= waits + 1);
    assert_eq!(rig.stats().timer_runs, 3);
    rig.workers[0].close(c);
    rig.stop();
}

fn sleepy_tick(rs: &mut Rs) -> Timer {
    rs.w_str("tick");
    rs.to_every(DataKind::Text);
    Timer::After(Duration::from_millis(10))
}

fn sleepy_read(rs: &mut Rs, _: &[u8]) {
    rs.w_str("read");
    rs.to_cur(DataKind::Text);
}

rs_app! {
    static SLEEP_TICKER;
    read: any sleepy_read(net [u8; 0..]),
    timer: sleep(sleepy_tick, 10_000),
}

#[test]
fn sleep_timer_runs_only_while_traffic_flows() {
    let mut rig = Rig::new("sleepy", &SLEEP_TICKER, 2).start();
    let c = rig.workers[1].open(0);
    wait_until("the open", || rig.stats().records == 1);
    rig.wait_asleep();
    rig.clock.advance(Duration::from_millis(50));
    // Overdue, but an idle `sleep`-mode thread sleeps on: no timeout, no tick.
    let waits = rig.futex_waits();
    rig.workers[1].recv_none(Duration::from_millis(150));
    assert_eq!(rig.stats().timeouts, 0);
    assert!(rig.futex_waits() <= waits + 1);
    // Traffic wakes it; the overdue timer runs before the message.
    rig.workers[1].text(c, "hello");
    let out = rig.workers[1].recv(2);
    assert_eq!(
        out,
        [sent(To::Every, "tick"), sent(To::Single(c), "read")],
        "{out:?}"
    );
    // Re-armed 10 ms on: not due again until the clock moves.
    rig.workers[1].text(c, "hello");
    assert_eq!(rig.workers[1].recv(1), [sent(To::Single(c), "read")]);
    rig.clock.advance(Duration::from_millis(10));
    rig.workers[1].text(c, "hello");
    assert_eq!(rig.workers[1].recv(2)[0].text(), "tick");
    assert_eq!(rig.stats().timer_runs, 2);
    rig.stop();
}

// ---------- stopping ----------

static STOP_OPENS: AtomicUsize = AtomicUsize::new(0);
static STOP_READS: AtomicUsize = AtomicUsize::new(0);
static STOP_CLOSES: AtomicUsize = AtomicUsize::new(0);

fn count_open(_: &mut Rs) {
    STOP_OPENS.fetch_add(1, Ordering::Relaxed);
}

fn count_read(rs: &mut Rs, payload: &[u8]) {
    STOP_READS.fetch_add(1, Ordering::Relaxed);
    rs.w_bytes(payload);
    rs.to_cur(DataKind::Bin);
}

fn count_close(_: &mut Rs) {
    STOP_CLOSES.fetch_add(1, Ordering::Relaxed);
}

rs_app! {
    static COUNTER;
    open: count_open,
    read: bin count_read(net [u8; 0..]),
    close: count_close,
}

#[test]
fn stop_finishes_pending_records_then_returns() {
    let mut rig = Rig::new("counter", &COUNTER, 2).start();
    thread::scope(|s| {
        for w in &mut rig.workers {
            s.spawn(move || {
                for slot in 0..50 {
                    let c = w.open(slot);
                    for n in 0..10u8 {
                        w.read(c, DataKind::Bin, &[w.i, n]);
                    }
                    w.close(c);
                }
            });
        }
    });
    // Stop at once: whatever is still in the rings is handled before the thread returns.
    let exit = rig.stop();
    assert!(rig.handle.is_none());
    assert_eq!(exit.stats.records, 2 * 50 * 12);
    assert_eq!(exit.clients_left, 0);
    assert!(!exit.stopped);
    assert_eq!(STOP_OPENS.load(Ordering::Relaxed), 100);
    assert_eq!(STOP_READS.load(Ordering::Relaxed), 1000);
    assert_eq!(STOP_CLOSES.load(Ordering::Relaxed), 100);
    // Everything was published before the thread returned.
    for w in &mut rig.workers {
        let mut out = Vec::new();
        w.drain(&mut out);
        assert_eq!(out.len(), 500);
        assert!(w.to_app.is_abandoned() && w.from_app.is_abandoned());
    }
}

#[test]
fn a_stop_request_wakes_a_sleeping_thread() {
    let mut rig = Rig::new("echo", &ECHO, 1).start();
    rig.wait_asleep();
    let status = rig.handle().status().clone();
    let started = Instant::now();
    let exit = rig.stop();
    assert!(started.elapsed() < LIMIT);
    assert!(status.has_exited() && status.is_initialized() && !status.is_stopped());
    assert_eq!(exit.stats.records, 0);
}

static DOOMED_READS: AtomicUsize = AtomicUsize::new(0);
static DOOMED_CLOSES: AtomicUsize = AtomicUsize::new(0);

fn doomed_read(_: &mut Rs, msg: &str) -> Result<(), Stop> {
    DOOMED_READS.fetch_add(1, Ordering::Relaxed);
    if msg == "die" {
        Err(Stop::Fatal)
    } else {
        Ok(())
    }
}

fn doomed_close(_: &mut Rs) {
    DOOMED_CLOSES.fetch_add(1, Ordering::Relaxed);
}

rs_app! {
    static DOOMED;
    read: text doomed_read(str[0..]),
    close: doomed_close,
}

#[test]
fn a_fatal_app_closes_its_clients_with_1011_and_keeps_draining() {
    // Fixed-size 4 KiB inbound rings: if the thread stopped draining, pushes would fail.
    let opts = Opts {
        inbound: (4096, true),
        ..Opts::default()
    };
    let mut rig = Rig::with("doomed", &DOOMED, 2, opts).start();
    let clients: Vec<[ClientId; 2]> = rig
        .workers
        .iter_mut()
        .map(|w| [w.open(0), w.open(1)])
        .collect();
    rig.workers[1].text(clients[1][0], "die");
    let status = rig.handle().status().clone();
    thread::scope(|s| {
        for (w, mine) in rig.workers.iter_mut().zip(&clients) {
            s.spawn(move || {
                let mut out = w.recv(2);
                out.sort_by_key(|o| format!("{o:?}"));
                let mut expected = vec![Out::Close(mine[0], 1011), Out::Close(mine[1], 1011)];
                expected.sort_by_key(|o| format!("{o:?}"));
                assert_eq!(out, expected);
            });
        }
    });
    wait_until("the stopped status", || status.is_stopped());
    assert!(rig.logged("the read callback returned -1 (fatal)"));
    assert_eq!(DOOMED_READS.load(Ordering::Relaxed), 1);

    // The workers keep sending (what was in flight, and closes): ~50 KiB through each 4 KiB
    // ring, drained and discarded; a new connection is closed with 1011 at once.
    let before = rig.stats().records;
    thread::scope(|s| {
        for (w, mine) in rig.workers.iter_mut().zip(&clients) {
            s.spawn(move || {
                for n in 0..500 {
                    w.text(mine[n % 2], &"late ".repeat(20));
                }
                let late = w.open(9);
                assert_eq!(w.recv(1), [Out::Close(late, 1011)]);
                for c in [mine[0], mine[1], late] {
                    w.close(c);
                }
            });
        }
    });
    wait_until("every record", || rig.stats().records == before + 2 * 504);
    assert_eq!(
        DOOMED_READS.load(Ordering::Relaxed),
        1,
        "no callback after the stop"
    );
    assert_eq!(DOOMED_CLOSES.load(Ordering::Relaxed), 0);
    let exit = rig.stop();
    assert!(exit.stopped);
    assert_eq!(exit.clients_left, 0);
}

#[derive(Debug)]
struct Never;

fn failing_init(_: &mut Rs) -> Result<Never, String> {
    Err("no database".into())
}

rs_app! {
    static BAD_INIT;
    state: Never,
    init: failing_init,
}

#[test]
fn a_failed_init_stops_the_app_before_any_client() {
    let mut rig = Rig::new("bad-init", &BAD_INIT, 1).start();
    let status = rig.handle().status().clone();
    wait_until("init", || status.is_initialized());
    assert!(status.is_stopped() && rig.handle().is_stopped());
    let c = rig.workers[0].open(0);
    assert_eq!(rig.workers[0].recv(1), [Out::Close(c, 1011)]);
    rig.workers[0].close(c);
    let exit = rig.stop();
    assert!(exit.stopped);
    assert!(rig.logged("no database"));
}

#[test]
fn undecodable_records_are_logged_and_skipped() {
    let mut rig = Rig::new("echo", &ECHO, 1).start();
    let w = &mut rig.workers[0];
    w.to_app.push(&[9, 0, 0]).unwrap();
    w.to_app.flush();
    w.app_gate.notify();
    let c = w.open(0);
    w.text(c, "still here");
    assert_eq!(w.recv(1), [sent(To::Single(c), "still here")]);
    assert_eq!(rig.stats().bad_records, 1);
    assert!(rig.logged("undecodable inbound record"));
    rig.workers[0].close(c);
    rig.stop();
}

#[test]
fn spawn_checks_the_ring_counts_and_the_app_index() {
    // SAFETY: made by `rs_app!`.
    let app = unsafe { App::from_static("echo", &ECHO) }.unwrap();
    let conf = Arc::new(ConfView::new(&TestHost::default_conf()).unwrap());
    let gate = Arc::new(SleepGate::new());
    let clock = Arc::new(ManualClock::default());
    let ring = || ring_spsc::channel(ring_spsc::Config::new(64)).unwrap();
    let worker_gate = Arc::new(WorkerGate::new(futex_loop::EventFdWaker::new().unwrap()));
    // Two inbound rings, one outbound ring.
    let err = AppThread::new(
        app.clone(),
        conf.clone(),
        0,
        vec![ring().1, ring().1],
        vec![WorkerLink::new(ring().0, worker_gate)],
        gate.clone(),
        clock.clone(),
    )
    .spawn()
    .unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput);
    assert!(
        err.to_string().contains("2 inbound and 1 outbound"),
        "{err}"
    );

    let err = AppThread::<_, futex_loop::EventFdWaker, _>::new(
        app,
        conf,
        3,
        Vec::new(),
        Vec::new(),
        gate,
        clock,
    )
    .spawn()
    .unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput);
    assert!(err.to_string().contains("app index 3"), "{err}");
}

fn busy_tick(_: &mut Rs) -> Timer {
    Timer::After(Duration::from_millis(1))
}

fn die(_: &mut Rs, _: &[u8]) -> Result<(), Stop> {
    Err(Stop::Fatal)
}

rs_app! {
    static DYING_TICKER;
    read: any die(net [u8; 0..]),
    timer: wake(busy_tick, 1_000),
}

#[test]
fn a_stopped_app_s_wake_timer_no_longer_wakes_the_thread() {
    let mut rig = Rig::new("dying", &DYING_TICKER, 1).start();
    let c = rig.workers[0].open(0);
    rig.workers[0].read(c, DataKind::Bin, b"");
    assert_eq!(rig.workers[0].recv(1), [Out::Close(c, 1011)]);
    rig.clock.advance(Duration::from_secs(1));
    rig.wait_asleep();
    let (runs, waits) = (rig.stats().timer_runs, rig.futex_waits());
    // A deadline left armed would be overdue for ever: a busy loop of timeouts of 0.
    thread::sleep(Duration::from_millis(100));
    assert!(rig.futex_waits() <= waits + 1);
    assert_eq!(rig.stats().timer_runs, runs);
    assert_eq!(rig.stats().timeouts, 0);
    rig.workers[0].close(c);
    assert!(rig.stop().stopped);
}

// ---------- the inbound gauge ----------

static GATED_ENTERED: AtomicUsize = AtomicUsize::new(0);
static GATED_PERMITS: Mutex<Option<std::sync::mpsc::Receiver<()>>> = Mutex::new(None);

/// Holds the app thread inside its read callback until the test hands out a permit.
fn gated(_: &mut Rs, _: &[u8]) {
    GATED_ENTERED.fetch_add(1, Ordering::SeqCst);
    let permits = GATED_PERMITS.lock().unwrap();
    permits.as_ref().unwrap().recv().unwrap();
}

rs_app! {
    static GATED;
    read: any gated(net [u8; 0..]),
}

#[test]
fn the_inbound_gauge_counts_what_the_app_has_not_taken() {
    let (permit, permits) = std::sync::mpsc::channel();
    *GATED_PERMITS.lock().unwrap() = Some(permits);
    let mut rig = Rig::new("gated", &GATED, 1).start();
    let c = rig.workers[0].open(0);
    rig.workers[0].read(c, DataKind::Bin, &[1; 100]);
    wait_until("the first read", || {
        GATED_ENTERED.load(Ordering::SeqCst) == 1
    });
    // Published while the app holds its batch: not taken yet.
    rig.workers[0].read(c, DataKind::Bin, &[2; 100]);
    rig.workers[0].read(c, DataKind::Bin, &[3; 100]);
    permit.send(()).unwrap();
    // The first batch is released and the gauge set before the next batch starts.
    wait_until("the second read", || {
        GATED_ENTERED.load(Ordering::SeqCst) == 2
    });
    let pending = rig.stats().inbound_used_bytes;
    assert!(pending >= 2 * (100 + 8), "{pending}");
    permit.send(()).unwrap();
    permit.send(()).unwrap();
    wait_until("every record taken", || {
        let stats = rig.stats();
        stats.records == 4 && stats.inbound_used_bytes == 0
    });
    rig.stop();
}

// ---------- the app's state is dropped when the app ends ----------

static STATE_DROPS: Mutex<Vec<String>> = Mutex::new(Vec::new());

/// Records, when dropped, how many messages it saw and on which thread.
struct Tally(u32);

impl Drop for Tally {
    fn drop(&mut self) {
        let thread = thread::current().name().unwrap_or("?").to_owned();
        STATE_DROPS
            .lock()
            .unwrap()
            .push(format!("{} on {thread}", self.0));
    }
}

fn tally(_: &mut Rs, state: &mut Tally, _: &[u8]) {
    state.0 += 1;
}

rs_app! {
    static TALLY;
    state: Tally = Tally(0),
    read: any tally(net [u8; 0..]),
}

#[test]
fn the_state_is_dropped_once_on_the_app_thread_when_it_stops() {
    let mut rig = Rig::new("tally", &TALLY, 1).start();
    let c = rig.workers[0].open(0);
    for _ in 0..3 {
        rig.workers[0].read(c, DataKind::Bin, b"x");
    }
    wait_until("three reads", || rig.stats().records == 4);
    assert!(
        STATE_DROPS.lock().unwrap().is_empty(),
        "dropped while running"
    );
    let thread = rig.handle().thread().name().unwrap_or("?").to_owned();
    let exit = rig.stop();
    assert_eq!(exit.stats.records, 4);
    assert_eq!(*STATE_DROPS.lock().unwrap(), [format!("3 on {thread}")]);
}
