//! A worker thread: its own epoll, its own listeners and connections, a shared read buffer, and
//! one pair of rings with every app.
//!
//! Each turn of the loop fires due deadlines, drains the outbound rings (app → clients),
//! continues connections left on the ready list, publishes inbound records (waking apps), then
//! waits in `epoll_wait` behind the [`WorkerGate`] (announce sleep, re-check the outbound
//! rings, wait with the next deadline as timeout) and handles the events.
//!
//! * [`read`]: accepted bytes → HTTP upgrade → WebSocket frames → inbound records.
//! * [`write`]: outbound records → one vectored write per client per batch → backpressure.
//! * [`deadline`]: handshake, keepalive, closing-handshake and draining deadlines.
//! * [`conn`]: the connection slot and its transport: plain TCP, or (from a TLS listener) a
//!   boxed rustls session that decrypts into the shared read buffer and encrypts each client's
//!   gathered frames into one batch of records; the code above runs unchanged on plaintext.

mod backlog;
mod compress;
mod conn;
mod deadline;
#[cfg(feature = "fault-injection")]
mod fault;
mod limits;
mod read;
mod topics;
mod transport;
mod write;

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use app_abi::ClientId;
use app_abi::host::AppStatus;
use app_abi::records::Inbound;
use futex_loop::{EventFdWaker, SleepGate, SysFutex, WorkerGate};
use ring_spsc::{Consumer, Producer};
use rustix::event::epoll;
use rustix::io::Errno;
use ws_proto::CloseCode;
use ws_proto::handshake::StatusCode;

use crate::metrics::WorkerCounters;
use crate::net::{self, ClientAddrSource, Listener};
use crate::tls::{TlsContext, TlsSession};
pub(crate) use conn::Slot;
use conn::{Conn, Phase};
use deadline::{Deadlines, Entry};
pub(crate) use limits::{Limits, Refusal};
use transport::Transport;

/// What every worker shares, fixed at startup.
#[derive(Debug)]
pub(crate) struct Settings {
    pub(crate) ws: ws_proto::Config,
    pub(crate) rbuf_size: usize,
    pub(crate) max_client_backlog: usize,
    /// Connections per worker (`fd_alloc_c / worker_c`).
    pub(crate) max_conns: usize,
    pub(crate) epoll_events: usize,
    pub(crate) handshake_wait: Duration,
    pub(crate) shutdown_wait_http: Duration,
    pub(crate) shutdown_wait_ws: Duration,
    /// Records taken from an outbound ring per batch.
    pub(crate) outbound_batch: usize,
    /// `max_messages_per_second` (per client).
    pub(crate) max_messages_per_second: Option<u32>,
}

/// An endpoint as the workers match it.
#[derive(Debug, Clone)]
pub(crate) struct Endpoint {
    pub(crate) app: u16,
    pub(crate) id: u16,
    /// `host:port` as configured (the port resolved when it was 0).
    pub(crate) authority: String,
    pub(crate) port: u16,
    pub(crate) tls: bool,
    pub(crate) path: String,
    pub(crate) allowed_origins: Option<Vec<String>>,
    /// permessage-deflate, when enabled here.
    pub(crate) deflate: Option<crate::settings::Compression>,
    /// Subprotocols, the server's preference first.
    pub(crate) subprotocols: Vec<String>,
    /// Headers forwarded to the upgrade callback besides the standard ones (lowercase).
    pub(crate) upgrade_headers: Vec<String>,
    /// The app has an upgrade callback: the `101` waits for its answer.
    pub(crate) upgrade_hook: bool,
}

/// A worker's end of one app: the inbound producer, the app's gate and status.
pub(crate) struct AppPort {
    pub(crate) to_app: Producer,
    pub(crate) gate: Arc<SleepGate<SysFutex>>,
    pub(crate) status: AppStatus,
    /// Records pushed since the last publication.
    pub(crate) dirty: bool,
    /// The slots of this worker's WebSocket clients of the app, in no order: a broadcast
    /// visits these, not every slot. Each member's `Phase::Ws::member_at` is its index here.
    pub(crate) members: Vec<u32>,
    /// Which of those are in which of the app's topics.
    pub(crate) topics: topics::TopicMembers,
}

impl std::fmt::Debug for AppPort {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppPort")
            .field("app", &self.status.name())
            .finish_non_exhaustive()
    }
}

/// Everything a worker thread starts with.
#[derive(Debug)]
pub(crate) struct WorkerInit {
    pub(crate) index: u8,
    pub(crate) listeners: Vec<Listener>,
    pub(crate) gate: Arc<WorkerGate<EventFdWaker>>,
    /// Per app: the inbound side.
    pub(crate) apps: Vec<AppPort>,
    /// Per app: the outbound ring's consumer.
    pub(crate) from_apps: Vec<Consumer>,
    pub(crate) endpoints: Arc<[Endpoint]>,
    pub(crate) settings: Arc<Settings>,
    pub(crate) stop: Arc<AtomicBool>,
    /// The certificates and rustls configuration for connections from TLS listeners (a clone
    /// of the server's: a reload reaches every worker). `None` when no listener is TLS.
    pub(crate) tls: Option<TlsContext>,
    /// The worker's counters (it is their only writer; the admin thread reads them).
    pub(crate) counters: Arc<WorkerCounters>,
    /// The admission limits every worker shares.
    pub(crate) limits: Arc<Limits>,
}

/// What a worker did, returned when it exits.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct WorkerStats {
    /// Connections accepted.
    pub accepted: u64,
    /// Connections refused over the worker's `fd_alloc_c` share.
    pub refused: u64,
    /// Upgrades completed (open records pushed).
    pub opened: u64,
    /// Close records pushed (equals `opened` once the worker exits).
    pub closed: u64,
    /// Clients closed with 1008 for falling more than `max_client_backlog` behind.
    pub backlog_overflows: u64,
    /// Vectored writes.
    pub writes: u64,
}

const TOKEN_WAKE: u64 = u64::MAX;
/// Listener tokens: generation 0 (never a connection's) and the listener index.
const TOKEN_LISTENER: u64 = 1 << 31;
/// Reads of one connection per turn before others get their turn (it goes on the ready list).
const READS_PER_TURN: usize = 4;
/// Accepts per listener per turn.
const ACCEPTS_PER_TURN: usize = 64;
/// Outbound batches per app ring per turn, so that reading is not starved by a flood.
const OUTBOUND_BATCHES_PER_TURN: usize = 16;

/// Something to continue next turn.
#[derive(Debug, Clone, Copy)]
enum Ready {
    Conn { slot: u32, generation: u32 },
    Listener(usize),
}

/// The worker; see the module docs.
pub(crate) struct Worker {
    index: u8,
    epoll: rustix::fd::OwnedFd,
    listeners: Vec<Listener>,
    /// Per listener: its port, whether it is TLS and where client addresses come from (kept
    /// after the listeners close).
    listener_info: Vec<(u16, bool, ClientAddrSource)>,
    gate: Arc<WorkerGate<EventFdWaker>>,
    apps: Vec<AppPort>,
    from_apps: Vec<Consumer>,
    endpoints: Arc<[Endpoint]>,
    settings: Arc<Settings>,
    stop: Arc<AtomicBool>,
    tls: Option<TlsContext>,
    slots: Vec<Slot>,
    free: Vec<u32>,
    live: usize,
    /// The read buffer every connection of the worker shares.
    rbuf: Vec<u8>,
    /// Scratch for ws-proto's output and HTTP responses.
    out: Vec<u8>,
    /// Scratch for an outbound batch's deliveries and a client's gathered frames (empty
    /// between uses; see `write::recycle`).
    deliveries: Vec<write::Delivery<'static>>,
    units: Vec<&'static [u8]>,
    /// Scratch for small deliveries copied into one buffer before they are sent.
    gathered: Vec<u8>,
    /// permessage-deflate's shared codecs and scratch.
    deflate: compress::Shared,
    deadlines: Deadlines,
    ready: Vec<Ready>,
    origin: std::time::Instant,
    /// Now, in ns since `origin`, read once per turn.
    now: u64,
    /// Set once the stop flag is seen: when the worker gives up on clients still closing.
    stop_deadline: Option<u64>,
    counters: Arc<WorkerCounters>,
    limits: Arc<Limits>,
}

impl std::fmt::Debug for Worker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Worker")
            .field("index", &self.index)
            .field("live", &self.live)
            .finish_non_exhaustive()
    }
}

pub(super) fn nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

impl Worker {
    pub(crate) fn new(init: WorkerInit) -> std::io::Result<Self> {
        let epoll = epoll::create(epoll::CreateFlags::CLOEXEC)?;
        // Level-triggered: drained on each report.
        epoll::add(
            &epoll,
            init.gate.signal(),
            epoll::EventData::new_u64(TOKEN_WAKE),
            epoll::EventFlags::IN,
        )?;
        for (i, listener) in init.listeners.iter().enumerate() {
            epoll::add(
                &epoll,
                &listener.fd,
                epoll::EventData::new_u64(TOKEN_LISTENER | i as u64),
                epoll::EventFlags::IN | epoll::EventFlags::ET,
            )?;
        }
        let rbuf_size = init.settings.rbuf_size;
        let listener_info = init
            .listeners
            .iter()
            .map(|l| (l.local.port(), l.tls, l.client_addr))
            .collect();
        Ok(Self {
            index: init.index,
            epoll,
            listener_info,
            listeners: init.listeners,
            gate: init.gate,
            apps: init.apps,
            from_apps: init.from_apps,
            endpoints: init.endpoints,
            limits: init.limits,
            settings: init.settings,
            stop: init.stop,
            tls: init.tls,
            slots: Vec::new(),
            free: Vec::new(),
            live: 0,
            rbuf: vec![0; rbuf_size],
            out: Vec::new(),
            deliveries: Vec::new(),
            units: Vec::new(),
            gathered: Vec::new(),
            deflate: compress::Shared::default(),
            deadlines: Deadlines::default(),
            ready: Vec::new(),
            origin: std::time::Instant::now(),
            now: 0,
            stop_deadline: None,
            counters: init.counters,
        })
    }

    /// What the counters say, for the shutdown report.
    fn stats(&self) -> WorkerStats {
        let c = &self.counters;
        WorkerStats {
            accepted: c.accepted.get(),
            refused: c.refused.get(),
            opened: c.apps.iter().map(|a| a.opened.get()).sum(),
            closed: c.apps.iter().map(|a| a.closed.get()).sum(),
            backlog_overflows: c.backlog_overflows.get(),
            writes: c.writes.get(),
        }
    }

    fn refresh_now(&mut self) {
        self.now = nanos(self.origin.elapsed());
    }

    fn ws_now(&self) -> ws_proto::Instant {
        ws_proto::Instant::from_nanos(self.now)
    }

    /// The loop; returns when stopped and every connection is gone.
    pub(crate) fn run(mut self) -> WorkerStats {
        let mut events: Vec<epoll::Event> = Vec::with_capacity(self.settings.epoll_events.max(16));
        #[cfg(feature = "fault-injection")]
        fault::set_epoll(rustix::fd::AsFd::as_fd(&self.epoll));
        loop {
            self.refresh_now();
            self.fire_deadlines();
            // What the last events brought goes to the apps before this turn's writes, so that
            // they work on it meanwhile.
            self.publish_inbound();
            self.drain_outbound();
            self.continue_ready();
            self.publish_inbound();
            if self.stop_deadline.is_none() && self.stop.load(Ordering::Acquire) {
                self.begin_shutdown();
            }
            if self.stop_deadline.is_some() {
                self.end_finished();
            }
            if let Some(deadline) = self.stop_deadline
                && (self.live == 0 || self.now >= deadline)
            {
                self.end_all();
                self.publish_inbound();
                return self.stats();
            }

            let timeout = if self.ready.is_empty() {
                let next = [self.deadlines.next(), self.stop_deadline]
                    .into_iter()
                    .flatten()
                    .min();
                next.map(|t| t.saturating_sub(self.now))
            } else {
                Some(0)
            };
            let block = timeout != Some(0)
                && self.gate.prepare_sleep(|| {
                    self.stop.load(Ordering::Acquire)
                        || self.from_apps.iter().any(|c| !c.is_empty())
                });
            let timespec = |ns: u64| rustix::time::Timespec {
                tv_sec: i64::try_from(ns / 1_000_000_000).unwrap_or(i64::MAX),
                tv_nsec: i64::try_from(ns % 1_000_000_000).unwrap_or(0),
            };
            let wait = if block {
                // rustix rounds up to whole milliseconds for epoll_pwait: never early.
                timeout.map(timespec)
            } else {
                Some(timespec(0))
            };
            events.clear();
            let result = epoll::wait(
                &self.epoll,
                rustix::buffer::spare_capacity(&mut events),
                wait.as_ref(),
            );
            if block {
                self.gate.finish_sleep();
            }
            match result {
                Ok(_) | Err(Errno::INTR) => {}
                Err(e) => {
                    // Not recoverable (EBADF, EINVAL): stop serving rather than spin.
                    crate::log!(Crit, "worker {}: epoll_wait failed: {e}", self.index);
                    self.stop.store(true, Ordering::Release);
                }
            }
            self.refresh_now();
            for event in &events {
                let token = event.data.u64();
                let flags = event.flags;
                self.handle_event(token, flags);
            }
        }
    }

    fn handle_event(&mut self, token: u64, flags: epoll::EventFlags) {
        if token == TOKEN_WAKE {
            self.gate.signal().drain();
            return;
        }
        let generation = (token >> 32) as u32;
        if generation == 0 {
            let listener = (token & !TOKEN_LISTENER) as usize;
            self.accept_from(listener);
            return;
        }
        let slot = token as u32;
        if !self.is_current(slot, generation) {
            return; // An event of a connection that ended earlier in this batch.
        }
        if flags.contains(epoll::EventFlags::OUT) {
            self.on_writable(slot);
        }
        let hup = epoll::EventFlags::RDHUP | epoll::EventFlags::HUP | epoll::EventFlags::ERR;
        if flags.intersects(epoll::EventFlags::IN | hup) && self.is_current(slot, generation) {
            if flags.intersects(hup)
                && let Some(conn) = self.conn_mut(slot)
            {
                conn.hup = true;
            }
            self.on_readable(slot);
        }
    }

    fn is_current(&self, slot: u32, generation: u32) -> bool {
        self.slots
            .get(slot as usize)
            .is_some_and(|s| s.generation == generation && s.conn.is_some())
    }

    fn conn_mut(&mut self, slot: u32) -> Option<&mut Conn> {
        self.slots.get_mut(slot as usize)?.conn.as_mut()
    }

    /// The client id of the connection in `slot`.
    fn client_id(&self, slot: u32) -> Option<ClientId> {
        let generation = self.slots.get(slot as usize)?.generation;
        ClientId::from_parts(generation, self.index, slot)
    }

    fn accept_from(&mut self, i: usize) {
        if self.stop_deadline.is_some() {
            return;
        }
        for _ in 0..ACCEPTS_PER_TURN {
            let Some(listener) = self.listeners.get(i) else {
                return;
            };
            let (fd, peer) = match net::accept(listener.fd.as_fd_ref()) {
                Ok(Some(accepted)) => accepted,
                Ok(None) => return,
                Err(e) => {
                    // EMFILE/ENFILE/ENOBUFS: the connection stays queued; try again next turn
                    // rather than spin on it now.
                    crate::log!(Warning, "worker {}: accept failed: {e}", self.index);
                    return;
                }
            };
            self.counters.accepted.inc();
            let tls = listener.tls;
            if self.live >= self.settings.max_conns || !self.limits.open() {
                self.counters.refused.inc();
                self.out.clear();
                // A TLS client cannot read a plaintext 503: it just sees the close.
                if !tls {
                    let _ = ws_proto::handshake::write_error_response(
                        StatusCode::SERVICE_UNAVAILABLE,
                        &mut self.out,
                    );
                }
                net::refuse(fd, &self.out);
                continue;
            }
            if !self.add_conn(fd, peer, i as u8) {
                self.limits.close();
            }
        }
        // More may be queued: the edge will not repeat, so come back next turn.
        self.push_ready(Ready::Listener(i));
    }

    /// Takes a connection in; `false` when it could not be (it is closed).
    fn add_conn(&mut self, fd: rustix::fd::OwnedFd, peer: SocketAddr, listener: u8) -> bool {
        let (_, tls, client_addr) = self.listener_info[usize::from(listener)];
        let transport = match (&self.tls, tls) {
            (_, false) => Transport::Plain(fd),
            (Some(ctx), true) => match TlsSession::new(ctx) {
                Ok(session) => Transport::tls(fd, session),
                // rustls could not make a session (only a broken configuration can do
                // that): the client sees the close.
                Err(_) => return false,
            },
            // `Server::start` gives every worker with a TLS listener a context.
            (None, true) => return false,
        };
        let slot = match self.free.pop() {
            Some(slot) => slot,
            None => {
                let slot = self.slots.len() as u32;
                if slot >= 1 << 24 {
                    return false; // The id format's limit; max_conns keeps far below it.
                }
                self.slots.push(Slot {
                    generation: 1,
                    conn: None,
                });
                slot
            }
        };
        let generation = self.slots[slot as usize].generation;
        let token = (u64::from(generation) << 32) | u64::from(slot);
        let registered = epoll::add(
            &self.epoll,
            transport.fd(),
            epoll::EventData::new_u64(token),
            epoll::EventFlags::IN
                | epoll::EventFlags::OUT
                | epoll::EventFlags::RDHUP
                | epoll::EventFlags::ET,
        );
        if registered.is_err() {
            self.free.push(slot);
            return false;
        }
        #[cfg(feature = "fault-injection")]
        fault::register(transport.fd(), token);
        let proxied = client_addr == ClientAddrSource::ProxyProtocol;
        self.slots[slot as usize].conn = Some(Conn::new(transport, peer, listener, proxied));
        self.live += 1;
        if let Some(l) = self.counters.listeners.get(usize::from(listener)) {
            l.added.inc();
        }
        let when = self.now.saturating_add(nanos(self.settings.handshake_wait));
        self.set_deadline(slot, when);
        // Data may have arrived with the connection: the edge for it may already be gone.
        self.on_readable(slot);
        true
    }

    fn push_ready(&mut self, ready: Ready) {
        match ready {
            Ready::Conn { slot, .. } => {
                if let Some(conn) = self.conn_mut(slot) {
                    if conn.in_ready {
                        return;
                    }
                    conn.in_ready = true;
                }
            }
            Ready::Listener(i) => {
                if self
                    .ready
                    .iter()
                    .any(|r| matches!(r, Ready::Listener(j) if *j == i))
                {
                    return;
                }
            }
        }
        self.ready.push(ready);
    }

    fn continue_ready(&mut self) {
        let ready = std::mem::take(&mut self.ready);
        for item in ready {
            match item {
                Ready::Conn { slot, generation } => {
                    if self.is_current(slot, generation) {
                        if let Some(conn) = self.conn_mut(slot) {
                            conn.in_ready = false;
                        }
                        self.on_readable(slot);
                    }
                }
                Ready::Listener(i) => self.accept_from(i),
            }
        }
    }

    /// Publishes the inbound records pushed this turn and wakes their apps.
    fn publish_inbound(&mut self) {
        for (i, app) in self.apps.iter_mut().enumerate() {
            if app.dirty {
                app.dirty = false;
                app.to_app.flush();
                app.gate.notify();
                // The ring grows only while records are pushed.
                if let Some(counters) = self.counters.apps.get(i) {
                    counters
                        .inbound_ring_capacity
                        .set(app.to_app.capacity() as u64);
                }
            }
        }
    }

    /// Sets the connection's deadline (`u64::MAX`: none); see [`deadline`].
    fn set_deadline(&mut self, slot: u32, when: u64) {
        let generation = match self.slots.get(slot as usize) {
            Some(s) => s.generation,
            None => return,
        };
        let Some(conn) = self.conn_mut(slot) else {
            return;
        };
        conn.deadline = when;
        if when < conn.scheduled {
            conn.scheduled = when;
            self.deadlines.push(Entry {
                when,
                slot,
                generation,
            });
        }
    }

    fn fire_deadlines(&mut self) {
        while let Some(entry) = self.deadlines.pop_due(self.now) {
            if !self.is_current(entry.slot, entry.generation) {
                continue;
            }
            let now = self.now;
            let Some(conn) = self.conn_mut(entry.slot) else {
                continue;
            };
            if conn.scheduled != entry.when {
                continue; // Superseded by an earlier entry.
            }
            conn.scheduled = u64::MAX;
            let wanted = conn.deadline;
            if wanted <= now {
                conn.deadline = u64::MAX;
                self.on_deadline(entry.slot);
            } else if wanted != u64::MAX {
                self.set_deadline(entry.slot, wanted);
            }
        }
    }

    fn on_deadline(&mut self, slot: u32) {
        let now = self.ws_now();
        let settings = self.settings.clone();
        let Some(conn) = self.slots[slot as usize].conn.as_mut() else {
            return;
        };
        match &mut conn.phase {
            // `handshake_wait` covers the TLS handshake too: a client that has not finished it
            // cannot read an HTTP answer, so it just sees the close.
            Phase::Handshake(_) if conn.transport.is_tls_handshaking() => self.end(slot),
            // No PROXY header from the load balancer in time: nobody to answer.
            Phase::Proxy => self.end(slot),
            Phase::Handshake(_) => self.reject(slot, StatusCode::REQUEST_TIMEOUT),
            // The app's upgrade callback did not answer within `handshake_wait`.
            Phase::Upgrading(_) => {
                self.counters.upgrade_timeouts.inc();
                self.reject(slot, StatusCode::SERVICE_UNAVAILABLE);
            }
            // The barrier did not come back in time: the owed close goes now.
            Phase::Ws { .. } if conn.close_owed => self.pay_owed_close(slot),
            Phase::Ws { ws, .. } => {
                self.out.clear();
                let timeout = ws.handle_timeout(&settings.ws, now, &mut self.out);
                if matches!(timeout, Some(ws_proto::Timeout::PongMissing)) && conn.close_code == 0 {
                    conn.close_code = CloseCode::INTERNAL_ERROR.0;
                }
                let out = std::mem::take(&mut self.out);
                self.write_to(slot, &[&out], true);
                self.out = out;
                self.after_ws_activity(slot);
            }
            Phase::Draining => self.end(slot),
        }
    }

    /// Sends the close frame the connection owes (see `Conn::close_owed`) and ends it.
    fn pay_owed_close(&mut self, slot: u32) {
        let Some(conn) = self.conn_mut(slot) else {
            return;
        };
        if !conn.close_owed {
            return;
        }
        conn.close_owed = false;
        let owed = conn.inbufs.take_pending();
        self.write_to(slot, &[&owed], true);
        self.after_ws_activity(slot);
    }

    /// After the engine ran: end the WebSocket if it closed, else follow its deadline.
    fn after_ws_activity(&mut self, slot: u32) {
        let Some(conn) = self.conn_mut(slot) else {
            return;
        };
        if conn.close_owed {
            return; // Waiting for the barrier; its deadline is set.
        }
        let Phase::Ws { ws, .. } = &conn.phase else {
            return;
        };
        if ws.state() == ws_proto::State::Closed {
            let wait = self.settings.shutdown_wait_ws;
            self.finish(slot, wait);
        } else {
            let when = ws.poll_timeout().map_or(u64::MAX, |t| t.as_nanos());
            self.set_deadline(slot, when);
        }
    }

    /// Answers an HTTP error and drains the connection.
    fn reject(&mut self, slot: u32, status: StatusCode) {
        self.out.clear();
        let _ = ws_proto::handshake::write_error_response(status, &mut self.out);
        let out = std::mem::take(&mut self.out);
        self.write_to(slot, &[&out], false);
        self.out = out;
        let wait = self.settings.shutdown_wait_http;
        self.finish(slot, wait);
    }

    /// Pushes the close record (once, when the app had an open), then drains the connection
    /// for at most `wait`.
    fn finish(&mut self, slot: u32, wait: Duration) {
        self.push_close_record(slot);
        let now = self.now;
        let Some(conn) = self.conn_mut(slot) else {
            return;
        };
        conn.phase = Phase::Draining;
        conn.inbufs.clear();
        if conn.backlog.is_empty() && !conn.write_shut {
            // TLS: `close_notify`, then FIN (later, from the writable event, when the socket
            // is full).
            conn.write_shut = conn.transport.shutdown_write();
        }
        self.set_deadline(slot, now.saturating_add(nanos(wait)));
    }

    /// The app's close record, when the connection is still a WebSocket of the app.
    fn push_close_record(&mut self, slot: u32) {
        let Some(client) = self.client_id(slot) else {
            return;
        };
        let Some(conn) = self.slots[slot as usize].conn.as_mut() else {
            return;
        };
        if let Phase::Upgrading(pending) = &conn.phase {
            // The app was asked and never saw an open: this record ends the upgrade for it.
            let endpoint = &self.endpoints[pending.endpoint];
            let (app, endpoint_id) = (endpoint.app, endpoint.id);
            conn.phase = Phase::Draining;
            push_inbound(
                &mut self.apps[usize::from(app)],
                Inbound::Close {
                    client,
                    endpoint_id,
                },
            );
            return;
        }
        let Phase::Ws {
            app,
            endpoint_id,
            member_at,
            ..
        } = conn.phase
        else {
            return;
        };
        if matches!(
            &conn.phase,
            Phase::Ws {
                deflate: Some(_),
                ..
            }
        ) {
            self.deflate.conns -= 1;
        }
        // Past this point the connection is no longer the app's.
        conn.phase = Phase::Draining;
        let code = match conn.close_code {
            0 => CloseCode::ABNORMAL.0,
            code => code,
        };
        self.leave(app, member_at);
        self.apps[usize::from(app)].topics.drop_slot(slot);
        if let Some(counters) = self.counters.apps.get(usize::from(app)) {
            counters.closed.inc();
        }
        self.counters.count_close(code);
        push_inbound(
            &mut self.apps[usize::from(app)],
            Inbound::Close {
                client,
                endpoint_id,
            },
        );
    }

    /// Takes the member at `at` out of `app`'s member list; the last member moves into its
    /// place and learns its new index.
    fn leave(&mut self, app: u16, at: u32) {
        let Self { apps, slots, .. } = self;
        let Some(members) = apps.get_mut(usize::from(app)).map(|a| &mut a.members) else {
            return;
        };
        let at = at as usize;
        debug_assert!(at < members.len(), "member index {at} of {}", members.len());
        if at >= members.len() {
            return;
        }
        members.swap_remove(at);
        if let Some(&moved) = members.get(at)
            && let Some(Conn {
                phase: Phase::Ws { member_at, .. },
                ..
            }) = slots.get_mut(moved as usize).and_then(|s| s.conn.as_mut())
        {
            *member_at = at as u32;
        }
    }

    /// Ends the connection now: close record if due, close the socket, free the slot.
    fn end(&mut self, slot: u32) {
        self.push_close_record(slot);
        let Some(entry) = self.slots.get_mut(slot as usize) else {
            return;
        };
        let Some(conn) = entry.conn.take() else {
            return;
        };
        if let Some(l) = self.counters.listeners.get(usize::from(conn.listener)) {
            l.ended.inc();
        }
        if conn.counted_backlog > 0 {
            let left = self.counters.backlog_bytes.get();
            self.counters
                .backlog_bytes
                .set(left.saturating_sub(conn.counted_backlog as u64));
        }
        if self.stop_deadline.is_none() && conn.transport.is_tls_handshaking() {
            self.counters.tls_handshake_failures.inc();
        }
        if conn.addr_counted {
            self.limits.release(conn.peer.get().ip());
        }
        self.limits.close();
        drop(conn);
        // The fd closed with the connection, which removed it from the epoll set.
        entry.generation = entry.generation.wrapping_add(1).max(1);
        self.free.push(slot);
        self.live -= 1;
    }

    /// Stop accepting, close every WebSocket with 1001, give them `shutdown_wait_ws`.
    fn begin_shutdown(&mut self) {
        self.listeners.clear();
        let wait = self.settings.shutdown_wait_ws;
        self.stop_deadline = Some(self.now.saturating_add(nanos(wait)));
        for slot in 0..self.slots.len() as u32 {
            let Some(conn) = self.conn_mut(slot) else {
                continue;
            };
            match &conn.phase {
                Phase::Proxy | Phase::Handshake(_) | Phase::Upgrading(_) => self.end(slot),
                Phase::Ws { .. } if conn.close_owed => self.pay_owed_close(slot),
                Phase::Ws { .. } => self.close_ws(slot, CloseCode::GOING_AWAY),
                Phase::Draining => {}
            }
        }
    }

    /// Starts the closing handshake with `code` (nothing if it started already).
    fn close_ws(&mut self, slot: u32, code: CloseCode) {
        let now = self.ws_now();
        let settings = self.settings.clone();
        let Some(conn) = self.slots[slot as usize].conn.as_mut() else {
            return;
        };
        let Phase::Ws { ws, .. } = &mut conn.phase else {
            return;
        };
        self.out.clear();
        if ws
            .close(&settings.ws, now, code, "", &mut self.out)
            .is_err()
        {
            return;
        }
        if conn.close_code == 0 {
            conn.close_code = code.0;
        }
        let out = std::mem::take(&mut self.out);
        self.write_to(slot, &[&out], true);
        self.out = out;
        self.after_ws_activity(slot);
    }

    /// While shutting down, connections that have sent everything and their FIN do not wait
    /// for the peer's FIN: the kernel delivers what is queued after the close.
    fn end_finished(&mut self) {
        for slot in 0..self.slots.len() as u32 {
            let finished = self.slots[slot as usize].conn.as_ref().is_some_and(|c| {
                matches!(c.phase, Phase::Draining) && c.write_shut && c.backlog.is_empty()
            });
            if finished {
                self.end(slot);
            }
        }
    }

    /// Ends every connection left (the shutdown wait is over).
    fn end_all(&mut self) {
        for slot in 0..self.slots.len() as u32 {
            self.end(slot);
        }
    }
}

/// Pushes one inbound record for the app (published at the end of the turn).
fn push_inbound(app: &mut AppPort, record: Inbound<'_>) -> bool {
    let len = record.encoded_len();
    match app.to_app.reserve(len) {
        Ok(mut slot) => {
            let written = record.write(&mut slot);
            slot.commit(written.unwrap_or(0));
            app.dirty = true;
            true
        }
        Err(e) => {
            // Only a failed allocation or a record over the ring's limit can land here (the
            // rings grow); the caller fails the connection.
            crate::log!(
                Error,
                "cannot pass a {len}-byte record to app {}: {e}",
                app.status.name()
            );
            false
        }
    }
}

trait AsFdRef {
    fn as_fd_ref(&self) -> rustix::fd::BorrowedFd<'_>;
}

impl AsFdRef for rustix::fd::OwnedFd {
    fn as_fd_ref(&self) -> rustix::fd::BorrowedFd<'_> {
        std::os::fd::AsFd::as_fd(self)
    }
}
