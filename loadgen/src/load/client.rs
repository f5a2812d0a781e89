//! One load thread: an edge-triggered epoll loop over its share of the connections.

use std::net::SocketAddr;
use std::os::fd::OwnedFd;
use std::sync::atomic::{AtomicI64, AtomicU8, AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use rustix::event::epoll;
use rustix::io::Errno;
use rustix::net::{
    self as rnet, AddressFamily, RecvFlags, SendFlags, SocketFlags, SocketType, ipproto, sockopt,
};
use ws_proto::deflate::{Deflater, Inflater};
use ws_proto::handshake::extensions::DeflateOffer;
use ws_proto::handshake::{ClientRequest, ResponseParser, ResponseStatus, encode_key};
use ws_proto::{ClientOutput, CloseCode, Config, Connection, DataKind, Event, Role};

use crate::hist::Hist;
use crate::{Opts, Scenario};

/// Where the run stands; set by the coordinating main thread.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
#[repr(u8)]
pub(crate) enum Phase {
    /// Opening connections.
    Connect = 0,
    /// Broadcast: the sender sends sync messages until every receiver has seen one.
    Sync = 1,
    /// Connect scenario: stop opening, keep the connections idle.
    Hold = 2,
    /// Sending and measuring.
    Run = 3,
    /// No new messages; wait for the outstanding ones (bounded by `--drain`).
    Drain = 4,
    /// Close everything.
    Stop = 5,
}

/// State shared by the load threads and the coordinator.
#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) opts: Opts,
    /// The clock origin for payload timestamps.
    pub(crate) base: Instant,
    phase: AtomicU8,
    /// Connections whose handshake (or TCP connect) completed.
    pub(crate) opened: AtomicUsize,
    /// Connections that could not be opened.
    pub(crate) failed: AtomicUsize,
    /// Connections that died after opening.
    pub(crate) died: AtomicUsize,
    /// When the last connection opened, in ns since `base`.
    pub(crate) last_open_ns: AtomicU64,
    /// Messages (echo) or broadcasts still allowed by `--count`.
    pub(crate) sends_left: AtomicI64,
    /// Broadcast: receivers that have seen a sync message.
    pub(crate) synced: AtomicUsize,
    /// Broadcast: deliveries so far, and messages the sender sent (final once
    /// `sender_final` is set).
    delivered: AtomicU64,
    broadcasts: AtomicU64,
    sender_done: AtomicU8,
}

impl Shared {
    pub(crate) fn new(opts: Opts) -> Self {
        let sends_left = if opts.count == 0 {
            i64::MAX
        } else {
            i64::try_from(opts.count).unwrap_or(i64::MAX)
        };
        Self {
            opts,
            base: Instant::now(),
            phase: AtomicU8::new(Phase::Connect as u8),
            opened: AtomicUsize::new(0),
            failed: AtomicUsize::new(0),
            died: AtomicUsize::new(0),
            last_open_ns: AtomicU64::new(0),
            sends_left: AtomicI64::new(sends_left),
            synced: AtomicUsize::new(0),
            delivered: AtomicU64::new(0),
            broadcasts: AtomicU64::new(0),
            sender_done: AtomicU8::new(0),
        }
    }

    pub(crate) fn set_phase(&self, phase: Phase) {
        self.phase.store(phase as u8, Ordering::Release);
    }

    fn phase(&self) -> Phase {
        match self.phase.load(Ordering::Acquire) {
            0 => Phase::Connect,
            1 => Phase::Sync,
            2 => Phase::Hold,
            3 => Phase::Run,
            4 => Phase::Drain,
            _ => Phase::Stop,
        }
    }

    fn now_ns(&self) -> u64 {
        self.base.elapsed().as_nanos() as u64
    }

    /// Takes one send from the `--count` budget.
    fn take_send(&self) -> bool {
        self.sends_left.fetch_sub(1, Ordering::AcqRel) > 0
    }
}

/// What one thread measured.
#[derive(Debug)]
pub(crate) struct Stats {
    pub(crate) hist: Hist,
    pub(crate) sent: u64,
    pub(crate) errors: u64,
    pub(crate) lost: u64,
    pub(crate) out_of_order: u64,
    pub(crate) last_recv_ns: u64,
    pub(crate) size: usize,
    pub(crate) error_samples: Vec<String>,
    /// permessage-deflate: messages that arrived compressed, their payload bytes as received
    /// and inflated.
    pub(crate) compressed_in: u64,
    pub(crate) wire_in: u64,
    pub(crate) plain_in: u64,
}

impl Default for Stats {
    fn default() -> Self {
        Self {
            hist: Hist::new(),
            sent: 0,
            errors: 0,
            lost: 0,
            out_of_order: 0,
            last_recv_ns: 0,
            size: 0,
            error_samples: Vec::new(),
            compressed_in: 0,
            wire_in: 0,
            plain_in: 0,
        }
    }
}

impl Stats {
    pub(crate) fn merge(&mut self, other: Self) {
        self.hist.merge(&other.hist);
        self.sent += other.sent;
        self.errors += other.errors;
        self.lost += other.lost;
        self.out_of_order += other.out_of_order;
        self.last_recv_ns = self.last_recv_ns.max(other.last_recv_ns);
        self.size = self.size.max(other.size);
        self.compressed_in += other.compressed_in;
        self.wire_in += other.wire_in;
        self.plain_in += other.plain_in;
        for e in other.error_samples {
            if self.error_samples.len() < 10 {
                self.error_samples.push(e);
            }
        }
    }

    fn error(&mut self, what: String) {
        self.errors += 1;
        if self.error_samples.len() < 10 {
            self.error_samples.push(what);
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Echo,
    Sender,
    Receiver,
    Idle,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Connecting,
    Handshake,
    Open,
    Dead,
}

/// A small xorshift generator for mask keys and handshake nonces. Masking only has to defeat
/// proxy cache poisoning by scripts (RFC 6455 §10.3); a benchmark client needs no CSPRNG.
#[derive(Debug)]
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
}

struct Conn {
    index: usize,
    kind: Kind,
    state: State,
    fd: Option<OwnedFd>,
    ws: Option<Connection>,
    key: [u8; 24],
    parser: ResponseParser,
    inbuf: Vec<u8>,
    inlen: usize,
    message: Vec<u8>,
    out: Vec<u8>,
    out_at: usize,
    rng: Rng,
    /// Echo: the next sequence number to send and to expect back, and messages in flight.
    next_send: u64,
    next_recv: u64,
    in_flight: u64,
    /// Broadcast receivers: messages received; whether a sync message arrived.
    received: u64,
    synced: bool,
    /// permessage-deflate agreed: this connection's decompressor, and whether the server
    /// starts each message afresh (then it is reset before each one).
    inflater: Option<Box<Inflater>>,
    reset_inflater: bool,
}

/// Bytes of a message header the load generator reads back: send time and sequence number.
const STAMP: usize = 16;
/// Stop producing while this much output is unsent on one connection.
const OUT_HIGH_WATER: usize = 1 << 20;

struct Thread<'a> {
    shared: &'a Shared,
    opts: &'a Opts,
    ws_config: Config,
    epoll: OwnedFd,
    conns: Vec<Conn>,
    /// Connections not yet started (indices into `conns`).
    to_open: Vec<usize>,
    /// Connections started and not yet open or dead.
    opening: usize,
    max_opening: usize,
    scratch: Vec<u8>,
    stats: Stats,
    sender: Option<usize>,
    last_sync_ns: u64,
    filled: bool,
    /// Broadcast deliveries not yet added to `shared.delivered`.
    unpublished: u64,
    /// `--deflate`: the compressor for what this thread sends (no context takeover), and
    /// scratch for compressed and inflated messages.
    deflater: Option<Deflater>,
    compressed: Vec<u8>,
    inflated: Vec<u8>,
}

/// What `--deflate` pads messages with: chat-like JSON, compressible as real traffic is.
const JSON_PAD: &[u8] = br#"{"user":"alice","room":"general","text":"hello everyone, how is it going today?","ts":1733300000},"#;

fn pad(bytes: &mut [u8], deflate: bool) {
    if deflate {
        for (b, p) in bytes.iter_mut().zip(JSON_PAD.iter().cycle()) {
            *b = *p;
        }
    } else {
        bytes.fill(b'x');
    }
}

/// Runs one load thread over connections `mine` (global numbers; 0 is the broadcast sender).
pub(crate) fn run_thread(shared: &Shared, mine: &[usize]) -> Stats {
    let opts = &shared.opts;
    let epoll = epoll::create(epoll::CreateFlags::CLOEXEC).expect("epoll_create");
    let seed = shared.base.elapsed().as_nanos() as u64 | 1;
    let conns: Vec<Conn> = mine
        .iter()
        .map(|&index| {
            let kind = match opts.scenario {
                Scenario::Echo | Scenario::TcpEcho => Kind::Echo,
                Scenario::Connect => Kind::Idle,
                Scenario::Broadcast if index == 0 => Kind::Sender,
                Scenario::Broadcast => Kind::Receiver,
            };
            Conn {
                index,
                kind,
                state: State::Connecting,
                fd: None,
                ws: None,
                key: [b'A'; 24],
                parser: ResponseParser::new(),
                inbuf: Vec::new(),
                inlen: 0,
                message: Vec::new(),
                out: Vec::new(),
                out_at: 0,
                rng: Rng(seed ^ (index as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1),
                next_send: 0,
                next_recv: 0,
                in_flight: 0,
                received: 0,
                synced: false,
                inflater: None,
                reset_inflater: true,
            }
        })
        .collect();
    let sender = conns.iter().position(|c| c.kind == Kind::Sender);
    let threads = opts.threads.max(1);
    let mut scratch = vec![b'x'; opts.size];
    if opts.deflate.is_some() {
        pad(&mut scratch, true);
    } else if opts.scenario != Scenario::Broadcast {
        scratch.fill(0xab);
    }
    let mut thread = Thread {
        shared,
        opts,
        ws_config: Config::default(),
        epoll,
        to_open: (0..conns.len()).rev().collect(),
        conns,
        opening: 0,
        max_opening: opts.concurrency.div_ceil(threads).max(1),
        scratch,
        stats: Stats {
            size: opts.size,
            ..Stats::default()
        },
        sender,
        last_sync_ns: 0,
        filled: false,
        unpublished: 0,
        deflater: opts.deflate.map(|level| Deflater::new(level, false)),
        compressed: Vec::new(),
        inflated: Vec::new(),
    };
    thread.run();
    thread.stats
}

impl Thread<'_> {
    fn run(&mut self) {
        let mut events: Vec<epoll::Event> = Vec::with_capacity(1024);
        let mut drain_deadline = None;
        loop {
            let phase = self.shared.phase();
            if phase == Phase::Connect {
                self.open_more();
            }
            if phase == Phase::Sync {
                self.send_sync();
            }
            if phase == Phase::Run && !self.filled {
                self.filled = true;
                for i in 0..self.conns.len() {
                    self.refill(i);
                    self.flush(i);
                }
            }
            if phase == Phase::Run {
                self.pump_sender();
            }
            if phase >= Phase::Drain {
                if let Some(s) = self.sender
                    && self.shared.sender_done.load(Ordering::Acquire) == 0
                {
                    self.flush(s);
                    self.shared
                        .broadcasts
                        .store(self.stats.sent, Ordering::Release);
                    self.shared.sender_done.store(1, Ordering::Release);
                }
                let deadline =
                    *drain_deadline.get_or_insert_with(|| Instant::now() + self.opts.drain);
                let outstanding = self.outstanding();
                if phase == Phase::Stop
                    || outstanding == Some(0)
                    || (Instant::now() >= deadline && outstanding.is_some())
                {
                    self.stats.lost += outstanding.unwrap_or(0);
                    self.finish();
                    return;
                }
            }
            let timeout_ns = if self.sender.is_some() && matches!(phase, Phase::Sync | Phase::Run) {
                200_000
            } else {
                2_000_000
            };
            let timeout = rustix::event::Timespec {
                tv_sec: 0,
                tv_nsec: timeout_ns,
            };
            events.clear();
            match epoll::wait(
                &self.epoll,
                rustix::buffer::spare_capacity(&mut events),
                Some(&timeout),
            ) {
                Ok(_) | Err(Errno::INTR) => {}
                Err(e) => panic!("epoll_wait: {e}"),
            }
            for event in &events {
                let i = event.data.u64() as usize;
                self.on_event(i, event.flags);
            }
            if self.unpublished > 0 {
                self.shared
                    .delivered
                    .fetch_add(self.unpublished, Ordering::AcqRel);
                self.unpublished = 0;
            }
        }
    }

    /// Messages still owed to this thread's connections; `None` while that is not known yet
    /// (the sender has not published its final count).
    fn outstanding(&self) -> Option<u64> {
        let mut owed = 0;
        for c in &self.conns {
            match c.kind {
                Kind::Echo => owed += c.in_flight,
                Kind::Receiver => {
                    if self.shared.sender_done.load(Ordering::Acquire) == 0 {
                        return None;
                    }
                    let sent = self.shared.broadcasts.load(Ordering::Acquire);
                    owed += sent.saturating_sub(c.received);
                }
                Kind::Sender | Kind::Idle => {}
            }
        }
        Some(owed)
    }

    /// Starts connections up to the concurrency limit.
    fn open_more(&mut self) {
        while self.opening < self.max_opening {
            let Some(i) = self.to_open.pop() else {
                return;
            };
            self.opening += 1;
            if let Err(e) = self.start_connect(i) {
                self.fail_open(i, format!("connect: {e}"));
            }
        }
    }

    fn start_connect(&mut self, i: usize) -> Result<(), Errno> {
        let addr = self.opts.addr;
        let family = match addr {
            SocketAddr::V4(_) => AddressFamily::INET,
            SocketAddr::V6(_) => AddressFamily::INET6,
        };
        let fd = rnet::socket_with(
            family,
            SocketType::STREAM,
            SocketFlags::NONBLOCK | SocketFlags::CLOEXEC,
            Some(ipproto::TCP),
        )?;
        sockopt::set_tcp_nodelay(&fd, true)?;
        match rnet::connect(&fd, &addr) {
            Ok(()) | Err(Errno::INPROGRESS) => {}
            Err(e) => return Err(e),
        }
        epoll::add(
            &self.epoll,
            &fd,
            epoll::EventData::new_u64(i as u64),
            epoll::EventFlags::IN
                | epoll::EventFlags::OUT
                | epoll::EventFlags::RDHUP
                | epoll::EventFlags::ET,
        )?;
        self.conns[i].fd = Some(fd);
        Ok(())
    }

    fn fail_open(&mut self, i: usize, why: String) {
        let c = &mut self.conns[i];
        c.state = State::Dead;
        c.fd = None;
        self.opening -= 1;
        self.shared.failed.fetch_add(1, Ordering::AcqRel);
        self.stats.error(format!("connection {}: {why}", c.index));
    }

    fn opened(&mut self, i: usize) {
        self.conns[i].state = State::Open;
        self.opening -= 1;
        self.shared
            .last_open_ns
            .fetch_max(self.shared.now_ns(), Ordering::AcqRel);
        self.shared.opened.fetch_add(1, Ordering::AcqRel);
        if self.shared.phase() == Phase::Connect {
            self.open_more();
        }
    }

    /// A connection that was open died: what it owed is lost (counted at the end).
    fn fail_open_conn(&mut self, i: usize, why: String) {
        let c = &mut self.conns[i];
        if c.state == State::Dead {
            return;
        }
        if c.state != State::Open {
            self.fail_open(i, why);
            return;
        }
        c.state = State::Dead;
        c.fd = None;
        self.shared.died.fetch_add(1, Ordering::AcqRel);
        self.stats.error(format!("connection {}: {why}", c.index));
    }

    fn on_event(&mut self, i: usize, flags: epoll::EventFlags) {
        let Some(c) = self.conns.get(i) else {
            return;
        };
        match c.state {
            State::Dead => {}
            State::Connecting => {
                let Some(fd) = &c.fd else { return };
                match sockopt::socket_error(fd) {
                    Ok(Ok(())) => {}
                    Ok(Err(e)) | Err(e) => return self.fail_open(i, format!("connect: {e}")),
                }
                if !flags.contains(epoll::EventFlags::OUT) && !flags.contains(epoll::EventFlags::IN)
                {
                    return;
                }
                if self.opts.scenario == Scenario::TcpEcho {
                    self.opened(i);
                    if self.shared.phase() == Phase::Run {
                        self.refill(i);
                        self.flush(i);
                    }
                    return;
                }
                let c = &mut self.conns[i];
                let mut nonce = [0u8; 16];
                nonce[..8].copy_from_slice(&c.rng.next().to_le_bytes());
                nonce[8..].copy_from_slice(&c.rng.next().to_le_bytes());
                c.key = encode_key(&nonce);
                c.state = State::Handshake;
                let mut request = ClientRequest::new(&self.opts.host, &self.opts.path);
                if self.opts.deflate.is_some() {
                    request = request.permessage_deflate(DeflateOffer::browser_like());
                }
                if let Err(e) = request.write(&c.key, &mut c.out) {
                    return self.fail_open(i, format!("request: {e:?}"));
                }
                self.flush(i);
                self.read(i);
            }
            State::Handshake | State::Open => {
                if flags.contains(epoll::EventFlags::OUT) {
                    self.flush(i);
                }
                self.read(i);
            }
        }
    }

    /// Reads until `EAGAIN`, processing what arrives; then writes what that produced.
    fn read(&mut self, i: usize) {
        loop {
            let c = &mut self.conns[i];
            let Some(fd) = &c.fd else { return };
            if c.inbuf.len() - c.inlen < 16 * 1024 {
                let grown = (c.inbuf.len() * 2).max(64 * 1024);
                c.inbuf.resize(grown, 0);
            }
            match rnet::recv(fd, &mut c.inbuf[c.inlen..], RecvFlags::empty()) {
                Ok((0, _)) => {
                    let why = "the server closed the connection".to_owned();
                    return self.fail_open_conn(i, why);
                }
                Ok((n, _)) => {
                    c.inlen += n;
                    if let Err(why) = self.process(i) {
                        self.flush(i);
                        return self.fail_open_conn(i, why);
                    }
                }
                Err(Errno::AGAIN) => break,
                Err(Errno::INTR) => {}
                Err(e) => return self.fail_open_conn(i, format!("recv: {e}")),
            }
        }
        self.flush(i);
    }

    /// Handles the bytes in `inbuf[..inlen]`.
    fn process(&mut self, i: usize) -> Result<(), String> {
        if self.conns[i].state == State::Handshake {
            let c = &mut self.conns[i];
            let len = match c.parser.parse(&c.inbuf[..c.inlen]) {
                Ok(ResponseStatus::Partial) => return Ok(()),
                Ok(ResponseStatus::Complete { len, response }) => {
                    let agreed = if self.opts.deflate.is_some() {
                        let offer = DeflateOffer::browser_like();
                        match response.validate_deflate(&c.key, &[], &offer) {
                            Ok((_, agreed)) => agreed,
                            Err(e) => return Err(format!("handshake refused: {e:?}")),
                        }
                    } else {
                        if let Err(e) = response.validate(&c.key, &[]) {
                            return Err(format!("handshake refused: {e:?}"));
                        }
                        None
                    };
                    if let Some(agreed) = agreed {
                        c.inflater = Some(Box::new(Inflater::new()));
                        c.reset_inflater = agreed.server_no_context_takeover;
                    }
                    len
                }
                Err(e) => return Err(format!("bad response: {e:?}")),
            };
            c.inbuf.copy_within(len..c.inlen, 0);
            c.inlen -= len;
            let ws = Connection::new(
                Role::Client,
                &self.ws_config,
                ws_proto::Instant::from_nanos(self.shared.now_ns()),
            );
            c.ws = Some(if c.inflater.is_some() {
                ws.with_permessage_deflate()
            } else {
                ws
            });
            self.opened(i);
            if self.shared.phase() == Phase::Run {
                self.refill(i);
            }
        }
        if self.opts.scenario == Scenario::TcpEcho {
            return self.process_tcp(i);
        }
        let now = self.shared.now_ns();
        let mut start = 0;
        let mut result = Ok(());
        loop {
            let c = &mut self.conns[i];
            let Some(ws) = c.ws.as_mut() else { break };
            let rng = &mut c.rng;
            let mut out = ClientOutput {
                buffer: &mut c.out,
                mask_keys: || (rng.next() as u32).to_le_bytes(),
            };
            let received = match ws.receive(
                &self.ws_config,
                ws_proto::Instant::from_nanos(now),
                &mut c.inbuf[start..c.inlen],
                &mut c.message,
                &mut out,
            ) {
                Ok(r) => r,
                Err(e) => {
                    result = Err(format!("protocol error: {e:?}"));
                    break;
                }
            };
            start += received.consumed;
            match received.event {
                None if received.consumed == 0 => break,
                None | Some(Event::Ping(_) | Event::Pong(_)) => {}
                Some(Event::Close(frame)) => {
                    result = Err(format!("closed by the server: {frame:?}"));
                    break;
                }
                Some(Event::Compressed { kind: _, payload }) => {
                    let Some(inflater) = c.inflater.as_mut() else {
                        result = Err("a compressed message, not negotiated".into());
                        break;
                    };
                    if c.reset_inflater {
                        inflater.reset();
                    }
                    self.inflated.clear();
                    if let Err(e) = inflater.inflate(payload, u64::MAX, &mut self.inflated) {
                        result = Err(format!("bad compressed message: {e}"));
                        break;
                    }
                    self.stats.compressed_in += 1;
                    self.stats.wire_in += payload.len() as u64;
                    self.stats.plain_in += self.inflated.len() as u64;
                    let (kind, stamp) = (c.kind, parse_stamp(c.kind, &self.inflated));
                    let len = self.inflated.len();
                    self.on_message(i, kind, stamp, len, now);
                }
                Some(Event::Message { payload, .. }) => {
                    let (kind, stamp) = (c.kind, parse_stamp(c.kind, payload));
                    let len = payload.len();
                    self.on_message(i, kind, stamp, len, now);
                }
            }
        }
        let c = &mut self.conns[i];
        c.inbuf.copy_within(start..c.inlen, 0);
        c.inlen -= start;
        result
    }

    /// Plain TCP echo: fixed-size records.
    fn process_tcp(&mut self, i: usize) -> Result<(), String> {
        let now = self.shared.now_ns();
        let size = self.opts.size;
        let mut start = 0;
        while self.conns[i].inlen - start >= size {
            let c = &self.conns[i];
            let stamp = parse_stamp(Kind::Echo, &c.inbuf[start..start + size]);
            start += size;
            self.on_message(i, Kind::Echo, stamp, size, now);
        }
        let c = &mut self.conns[i];
        c.inbuf.copy_within(start..c.inlen, 0);
        c.inlen -= start;
        Ok(())
    }

    fn on_message(&mut self, i: usize, kind: Kind, stamp: Stamp, len: usize, now: u64) {
        match (kind, stamp) {
            (Kind::Echo, Stamp::Data { ts, seq }) => {
                let c = &mut self.conns[i];
                if seq != c.next_recv || len != self.opts.size {
                    self.stats.out_of_order += 1;
                }
                c.next_recv = seq + 1;
                c.in_flight = c.in_flight.saturating_sub(1);
                self.stats.hist.record(now.saturating_sub(ts));
                self.stats.last_recv_ns = now;
                if self.shared.phase() == Phase::Run {
                    self.refill(i);
                }
            }
            (Kind::Receiver, Stamp::Data { ts, seq }) => {
                let c = &mut self.conns[i];
                if seq != c.next_recv {
                    self.stats.out_of_order += 1;
                }
                c.next_recv = seq + 1;
                c.received += 1;
                self.unpublished += 1;
                self.stats.hist.record(now.saturating_sub(ts));
                self.stats.last_recv_ns = now;
            }
            (Kind::Receiver, Stamp::Sync) => {
                let c = &mut self.conns[i];
                if !c.synced {
                    c.synced = true;
                    self.shared.synced.fetch_add(1, Ordering::AcqRel);
                }
            }
            (Kind::Echo, _) => {
                self.stats.out_of_order += 1;
            }
            // Chat notices (`* guest1 joined`) and anything else the sender or idle
            // connections get.
            _ => {}
        }
    }

    /// Echo: tops connection `i` up to `--inflight` messages.
    fn refill(&mut self, i: usize) {
        if self.conns[i].kind != Kind::Echo || self.conns[i].state != State::Open {
            return;
        }
        while self.conns[i].in_flight < u64::from(self.opts.inflight)
            && self.conns[i].out.len() < OUT_HIGH_WATER
            && self.shared.take_send()
        {
            let now = self.shared.now_ns();
            let c = &mut self.conns[i];
            self.scratch[..8].copy_from_slice(&now.to_le_bytes());
            self.scratch[8..STAMP].copy_from_slice(&c.next_send.to_le_bytes());
            c.next_send += 1;
            c.in_flight += 1;
            self.stats.sent += 1;
            match c.ws.as_mut() {
                Some(ws) => {
                    let rng = &mut c.rng;
                    let mut out = ClientOutput {
                        buffer: &mut c.out,
                        mask_keys: || (rng.next() as u32).to_le_bytes(),
                    };
                    send_one(
                        ws,
                        &mut out,
                        DataKind::Binary,
                        &self.scratch,
                        self.deflater.as_mut(),
                        &mut self.compressed,
                    );
                }
                None => c.out.extend_from_slice(&self.scratch),
            }
        }
    }

    /// Broadcast: the sender keeps at most `--inflight` broadcasts undelivered.
    fn pump_sender(&mut self) {
        let Some(s) = self.sender else { return };
        if self.conns[s].state != State::Open {
            return;
        }
        let receivers = self.opts.conns as u64;
        let mut sent_any = false;
        loop {
            let delivered = self.shared.delivered.load(Ordering::Acquire) + self.unpublished;
            let pending = (self.stats.sent * receivers).saturating_sub(delivered);
            if pending >= u64::from(self.opts.inflight) * receivers
                || self.conns[s].out.len() >= OUT_HIGH_WATER
                || !self.shared.take_send()
            {
                break;
            }
            let now = self.shared.now_ns();
            let text = format!("m#{},{}#", self.stats.sent, now);
            self.send_text(s, &text);
            self.stats.sent += 1;
            sent_any = true;
        }
        if sent_any {
            self.flush(s);
        }
    }

    /// Broadcast: a sync message every 20 ms until the coordinator starts the run.
    fn send_sync(&mut self) {
        let Some(s) = self.sender else { return };
        let now = self.shared.now_ns();
        if self.conns[s].state == State::Open && now - self.last_sync_ns > 20_000_000 {
            self.last_sync_ns = now;
            self.send_text(s, "m~sync");
            self.flush(s);
        }
    }

    /// Sends `head` padded with `x` to `--size` bytes as one text message.
    fn send_text(&mut self, i: usize, head: &str) {
        let len = self.opts.size.max(head.len());
        if self.scratch.len() < len {
            self.scratch.resize(len, b'x');
        }
        self.scratch[..head.len()].copy_from_slice(head.as_bytes());
        pad(
            &mut self.scratch[head.len()..len],
            self.opts.deflate.is_some(),
        );
        self.stats.size = self.stats.size.max(len);
        let c = &mut self.conns[i];
        let Some(ws) = c.ws.as_mut() else { return };
        let rng = &mut c.rng;
        let mut out = ClientOutput {
            buffer: &mut c.out,
            mask_keys: || (rng.next() as u32).to_le_bytes(),
        };
        send_one(
            ws,
            &mut out,
            DataKind::Text,
            &self.scratch[..len],
            self.deflater.as_mut(),
            &mut self.compressed,
        );
    }

    /// Writes pending output until it is gone or the socket is full.
    fn flush(&mut self, i: usize) {
        let c = &mut self.conns[i];
        let Some(fd) = &c.fd else { return };
        while c.out_at < c.out.len() {
            match rnet::send(fd, &c.out[c.out_at..], SendFlags::NOSIGNAL) {
                Ok(n) => c.out_at += n,
                Err(Errno::AGAIN) => return,
                Err(Errno::INTR) => {}
                Err(e) => return self.fail_open_conn(i, format!("send: {e}")),
            }
        }
        c.out.clear();
        c.out_at = 0;
    }

    /// Closes every connection: a close frame where open, then an abortive close (no
    /// TIME_WAIT left behind, so repeated runs do not run out of ports).
    fn finish(&mut self) {
        for i in 0..self.conns.len() {
            let c = &mut self.conns[i];
            if c.state == State::Open
                && let Some(ws) = c.ws.as_mut()
            {
                let rng = &mut c.rng;
                let mut out = ClientOutput {
                    buffer: &mut c.out,
                    mask_keys: || (rng.next() as u32).to_le_bytes(),
                };
                let now = ws_proto::Instant::from_nanos(self.shared.now_ns());
                let _ = ws.close(&self.ws_config, now, CloseCode::NORMAL, "", &mut out);
                self.flush(i);
            }
            let c = &mut self.conns[i];
            if let Some(fd) = c.fd.take() {
                let _ = sockopt::set_socket_linger(&fd, Some(Duration::ZERO));
            }
            c.state = State::Dead;
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stamp {
    Data { ts: u64, seq: u64 },
    Sync,
    Other,
}

/// Sends `payload` as one message: compressed (whatever its size) where permessage-deflate
/// was agreed and `--deflate` is on.
fn send_one(
    ws: &mut Connection,
    out: &mut impl ws_proto::Output,
    kind: DataKind,
    payload: &[u8],
    deflater: Option<&mut Deflater>,
    compressed: &mut Vec<u8>,
) {
    match deflater {
        Some(deflater) if ws.permessage_deflate() => ws
            .send_deflated(kind, payload, deflater, 0, compressed, out)
            .map(drop),
        _ => ws.send(kind, payload, out),
    }
    .expect("send on an open connection");
}

fn parse_stamp(kind: Kind, payload: &[u8]) -> Stamp {
    match kind {
        Kind::Echo => {
            let (Some(ts), Some(seq)) = (payload.get(..8), payload.get(8..STAMP)) else {
                return Stamp::Other;
            };
            Stamp::Data {
                ts: u64::from_le_bytes(ts.try_into().unwrap_or_default()),
                seq: u64::from_le_bytes(seq.try_into().unwrap_or_default()),
            }
        }
        _ => {
            if let Some(at) = payload.iter().position(|&b| b == b'#') {
                let rest = &payload[at + 1..];
                let end = rest.iter().position(|&b| b == b'#').unwrap_or(rest.len());
                let Ok(text) = std::str::from_utf8(&rest[..end]) else {
                    return Stamp::Other;
                };
                let mut parts = text.split(',');
                match (
                    parts.next().and_then(|s| s.parse().ok()),
                    parts.next().and_then(|s| s.parse().ok()),
                ) {
                    (Some(seq), Some(ts)) => Stamp::Data { ts, seq },
                    _ => Stamp::Other,
                }
            } else if payload.contains(&b'~') {
                Stamp::Sync
            } else {
                Stamp::Other
            }
        }
    }
}
