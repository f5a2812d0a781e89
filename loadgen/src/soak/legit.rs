//! The legitimate clients: one thread, one edge-triggered epoll instance, non-blocking
//! sockets from 127.0.0.1 and ws-proto's client role.
//!
//! Clients `0..bcast` join the chat app (`/chat`) and broadcast; the rest echo (`/echo`).
//! Every message is checked: an echo reply must be byte for byte what was sent (client index,
//! sequence number, send time, phase and a pad derived from them), in order; every broadcast
//! must reach every other member once, in each sender's order, intact.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashSet, VecDeque};
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use std::os::fd::OwnedFd;
use std::sync::atomic::{AtomicU8, AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use rustix::event::epoll;
use rustix::io::Errno;
use rustix::net::{
    self as rnet, AddressFamily, RecvFlags, SendFlags, SocketFlags, SocketType, ipproto, sockopt,
};
use ws_proto::handshake::{ClientRequest, ResponseParser, ResponseStatus, encode_key};
use ws_proto::{ClientOutput, CloseCode, Config, Connection, DataKind, Event, Role};

use crate::hist::Hist;

/// Where the run stands, set by the coordinator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
#[repr(u8)]
pub(crate) enum Stage {
    /// Opening the clients (a paced ramp).
    Connect = 0,
    /// Every client open; traffic flows (measured apart from the phases that count).
    Warm = 1,
    /// Legitimate traffic only.
    Clean = 2,
    /// Legitimate traffic beside the hostile clients.
    Hostile = 3,
    /// No new messages: wait for the outstanding ones.
    Drain = 4,
    /// Close every client with the close handshake.
    Close = 5,
}

/// Phases messages are attributed to (by their send time).
pub(crate) const PHASES: [&str; 3] = ["warm-up", "clean", "hostile"];

impl Stage {
    fn from_u8(v: u8) -> Self {
        match v {
            0 => Self::Connect,
            1 => Self::Warm,
            2 => Self::Clean,
            3 => Self::Hostile,
            4 => Self::Drain,
            _ => Self::Close,
        }
    }

    /// The phase a message sent now belongs to.
    fn phase(self) -> Option<u8> {
        match self {
            Self::Warm => Some(0),
            Self::Clean => Some(1),
            Self::Hostile => Some(2),
            _ => None,
        }
    }
}

/// What the legitimate load needs to know.
#[derive(Debug, Clone)]
pub(crate) struct LegitOpts {
    pub(crate) port: u16,
    pub(crate) clients: usize,
    pub(crate) bcast: usize,
    /// Connections opened per second during the ramp.
    pub(crate) ramp_per_s: f64,
    /// Gap between one echo client's messages, uniform in this range (ms).
    pub(crate) echo_gap_ms: (u64, u64),
    /// Gap between one broadcaster's messages (ms).
    pub(crate) bcast_gap_ms: (u64, u64),
}

/// State shared with the coordinator.
#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) base: Instant,
    stage: AtomicU8,
    /// Clients whose upgrade completed, and clients that could not connect.
    pub(crate) opened: AtomicUsize,
    pub(crate) failed: AtomicUsize,
    /// Clients that ended unexpectedly (anything before the close stage).
    pub(crate) died: AtomicUsize,
    /// During the drain: messages and deliveries still owed (`u64::MAX`: not counted yet).
    pub(crate) owed: AtomicU64,
}

impl Shared {
    pub(crate) fn new() -> Self {
        Self {
            base: Instant::now(),
            stage: AtomicU8::new(Stage::Connect as u8),
            opened: AtomicUsize::new(0),
            failed: AtomicUsize::new(0),
            died: AtomicUsize::new(0),
            owed: AtomicU64::new(u64::MAX),
        }
    }

    pub(crate) fn set_stage(&self, stage: Stage) {
        self.stage.store(stage as u8, Ordering::Release);
    }

    pub(crate) fn stage(&self) -> Stage {
        Stage::from_u8(self.stage.load(Ordering::Acquire))
    }

    fn now_ns(&self) -> u64 {
        self.base.elapsed().as_nanos() as u64
    }
}

/// Message counts of one phase.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Counts {
    /// Echo: messages sent. Broadcast: deliveries owed (messages × other members).
    pub(crate) sent: u64,
    pub(crate) received: u64,
    pub(crate) lost: u64,
    pub(crate) reordered: u64,
    pub(crate) duplicated: u64,
    pub(crate) corrupt: u64,
}

impl Counts {
    /// Anything wrong at all.
    pub(crate) fn bad(&self) -> u64 {
        self.lost + self.reordered + self.duplicated + self.corrupt
    }
}

/// What the legitimate load saw.
#[derive(Debug)]
pub(crate) struct LegitReport {
    pub(crate) echo: [Counts; 3],
    pub(crate) bcast: [Counts; 3],
    pub(crate) echo_hist: [Hist; 3],
    pub(crate) bcast_hist: [Hist; 3],
    pub(crate) connect_failures: u64,
    pub(crate) unexpected_closes: u64,
    pub(crate) clean_closes: u64,
    pub(crate) unclean_closes: u64,
    pub(crate) pings: u64,
    /// The first few problems, for the report.
    pub(crate) samples: Vec<String>,
}

impl LegitReport {
    fn problem(&mut self, what: String) {
        if self.samples.len() < 12 {
            self.samples.push(what);
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Idle,
    Connecting,
    Handshake,
    Open,
    Closing,
    Done,
    Dead,
}

/// xorshift: gaps, mask keys and nonces (masking only has to be unpredictable to scripts).
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

    fn range(&mut self, (lo, hi): (u64, u64)) -> u64 {
        lo + self.next() % (hi.saturating_sub(lo) + 1)
    }
}

struct Client {
    idx: u32,
    /// Broadcast group position; `None` for an echo client.
    member: Option<u32>,
    state: State,
    fd: Option<OwnedFd>,
    ws: Connection,
    key: [u8; 24],
    parser: ResponseParser,
    inbuf: Vec<u8>,
    inlen: usize,
    message: Vec<u8>,
    out: Vec<u8>,
    out_at: usize,
    rng: Rng,
    next_seq: u64,
    /// Echo: sent and not answered yet, oldest first: (sequence number, phase).
    outstanding: VecDeque<(u64, u8)>,
    got_close: bool,
}

/// Bytes of an echo payload before its pad: index u32, sequence u64, send time u64, phase u8.
const ECHO_HEAD: usize = 21;

/// An echo payload: everything after the head follows from the head.
fn echo_payload(idx: u32, seq: u64, ts: u64, phase: u8, out: &mut Vec<u8>) {
    out.clear();
    out.extend_from_slice(&idx.to_le_bytes());
    out.extend_from_slice(&seq.to_le_bytes());
    out.extend_from_slice(&ts.to_le_bytes());
    out.push(phase);
    let pad = (u64::from(idx) * 13 + seq * 7) % 200;
    out.extend((0..pad).map(|i| (u64::from(idx) ^ seq.wrapping_mul(31) ^ i) as u8));
}

/// A broadcast's text after the `m` command byte: `#POS,SEQ,TS,PHASE#PAD`.
fn bcast_text(pos: u32, seq: u64, ts: u64, phase: u8, out: &mut String) {
    use std::fmt::Write as _;
    out.clear();
    let _ = write!(out, "#{pos},{seq},{ts},{phase}#");
    let pad = 16 + (u64::from(pos) * 31 + seq * 17) % 64;
    out.extend((0..pad).map(|i| char::from(b'a' + ((u64::from(pos) + seq + i) % 26) as u8)));
}

struct Thread<'a> {
    shared: &'a Shared,
    opts: &'a LegitOpts,
    config: Config,
    epoll: OwnedFd,
    clients: Vec<Client>,
    next_open: usize,
    opening: usize,
    timers: BinaryHeap<Reverse<(u64, u32)>>,
    /// Broadcast: the phase of every message each member sent, by sequence number.
    bsent: Vec<Vec<u8>>,
    /// Broadcast: `bnext[receiver][sender]`, the next sequence number expected.
    bnext: Vec<Vec<u64>>,
    /// Broadcast: (receiver, sender, sequence) skipped over and not arrived yet.
    bmissing: HashSet<(u32, u32, u64)>,
    report: LegitReport,
    scratch: Vec<u8>,
    text: String,
    warm_ns: Option<u64>,
    close_started: Option<Instant>,
}

/// Runs the legitimate load until the close stage has closed every client.
pub(crate) fn run(shared: &Shared, opts: &LegitOpts) -> LegitReport {
    let seed = shared.base.elapsed().as_nanos() as u64 | 1;
    let config = Config::default();
    let clients = (0..opts.clients)
        .map(|i| Client {
            idx: i as u32,
            member: (i < opts.bcast).then_some(i as u32),
            state: State::Idle,
            fd: None,
            ws: Connection::new(Role::Client, &config, ws_proto::Instant::from_nanos(0)),
            key: [b'A'; 24],
            parser: ResponseParser::new(),
            inbuf: Vec::new(),
            inlen: 0,
            message: Vec::new(),
            out: Vec::new(),
            out_at: 0,
            rng: Rng(seed ^ (i as u64 + 1).wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1),
            next_seq: 0,
            outstanding: VecDeque::new(),
            got_close: false,
        })
        .collect();
    let mut t = Thread {
        shared,
        opts,
        config,
        epoll: epoll::create(epoll::CreateFlags::CLOEXEC).expect("epoll_create"),
        clients,
        next_open: 0,
        opening: 0,
        timers: BinaryHeap::new(),
        bsent: vec![Vec::new(); opts.bcast],
        bnext: vec![vec![0; opts.bcast]; opts.bcast],
        bmissing: HashSet::new(),
        report: LegitReport {
            echo: [Counts::default(); 3],
            bcast: [Counts::default(); 3],
            echo_hist: [Hist::new(), Hist::new(), Hist::new()],
            bcast_hist: [Hist::new(), Hist::new(), Hist::new()],
            connect_failures: 0,
            unexpected_closes: 0,
            clean_closes: 0,
            unclean_closes: 0,
            pings: 0,
            samples: Vec::new(),
        },
        scratch: Vec::new(),
        text: String::new(),
        warm_ns: None,
        close_started: None,
    };
    t.run();
    t.finish();
    t.report
}

impl Thread<'_> {
    fn run(&mut self) {
        let mut events: Vec<epoll::Event> = Vec::with_capacity(1024);
        let ramp_start = Instant::now();
        loop {
            let stage = self.shared.stage();
            if self.next_open < self.clients.len() {
                let due = (ramp_start.elapsed().as_secs_f64() * self.opts.ramp_per_s) as usize + 1;
                while self.next_open < due.min(self.clients.len()) && self.opening < 64 {
                    let i = self.next_open;
                    self.next_open += 1;
                    self.opening += 1;
                    if let Err(e) = self.start_connect(i) {
                        self.fail(i, format!("connect: {e}"));
                    }
                }
            }
            if stage >= Stage::Warm && self.warm_ns.is_none() {
                self.start_traffic();
            }
            if stage == Stage::Drain {
                let owed = self.owed();
                self.shared.owed.store(owed, Ordering::Release);
            }
            if stage == Stage::Close {
                let started = match self.close_started {
                    Some(at) => at,
                    None => {
                        self.close_started = Some(Instant::now());
                        self.start_closes();
                        Instant::now()
                    }
                };
                let open = self
                    .clients
                    .iter()
                    .filter(|c| matches!(c.state, State::Closing | State::Open))
                    .count();
                if open == 0 || started.elapsed() > Duration::from_secs(10) {
                    return;
                }
            }
            let now = self.shared.now_ns();
            while let Some(&Reverse((at, i))) = self.timers.peek() {
                if at > now {
                    break;
                }
                self.timers.pop();
                self.on_timer(i as usize, stage);
            }
            let wait_ns = self
                .timers
                .peek()
                .map_or(5_000_000, |Reverse((at, _))| at.saturating_sub(now))
                .clamp(100_000, 5_000_000);
            let timeout = rustix::event::Timespec {
                tv_sec: 0,
                tv_nsec: wait_ns as i64,
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
                self.on_event(event.data.u64() as usize, event.flags);
            }
        }
    }

    /// Schedules every client's first message: echo clients at once (spread over one gap),
    /// broadcasters a second later, so that every member's join has reached the chat app.
    fn start_traffic(&mut self) {
        let now = self.shared.now_ns();
        self.warm_ns = Some(now);
        for i in 0..self.clients.len() {
            let c = &mut self.clients[i];
            let first = if c.member.is_some() {
                now + 1_000_000_000 + c.rng.range(self.opts.bcast_gap_ms) * 1_000_000
            } else {
                now + c.rng.range(self.opts.echo_gap_ms) * 1_000_000
            };
            self.timers.push(Reverse((first, i as u32)));
        }
    }

    fn on_timer(&mut self, i: usize, stage: Stage) {
        let Some(phase) = stage.phase() else {
            return; // Draining or closing: no new messages, no new timers.
        };
        if self.clients[i].state != State::Open {
            return;
        }
        let now = self.shared.now_ns();
        let c = &mut self.clients[i];
        let seq = c.next_seq;
        c.next_seq += 1;
        let gap = match c.member {
            Some(pos) => {
                bcast_text(pos, seq, now, phase, &mut self.text);
                self.scratch.clear();
                self.scratch.push(b'm');
                self.scratch.extend_from_slice(self.text.as_bytes());
                self.bsent[pos as usize].push(phase);
                let others = self.opts.bcast as u64 - 1;
                self.report.bcast[usize::from(phase)].sent += others;
                self.opts.bcast_gap_ms
            }
            None => {
                echo_payload(c.idx, seq, now, phase, &mut self.scratch);
                c.outstanding.push_back((seq, phase));
                self.report.echo[usize::from(phase)].sent += 1;
                self.opts.echo_gap_ms
            }
        };
        let kind = if c.member.is_some() {
            DataKind::Text
        } else {
            DataKind::Binary
        };
        let rng = &mut c.rng;
        let mut out = ClientOutput {
            buffer: &mut c.out,
            mask_keys: || (rng.next() as u32).to_le_bytes(),
        };
        if let Err(e) = c.ws.send(kind, &self.scratch, &mut out) {
            let why = format!("send: {e:?}");
            return self.die(i, why);
        }
        let next = now + c.rng.range(gap) * 1_000_000;
        self.timers.push(Reverse((next, i as u32)));
        self.flush(i);
    }

    fn start_connect(&mut self, i: usize) -> Result<(), Errno> {
        let fd = rnet::socket_with(
            AddressFamily::INET,
            SocketType::STREAM,
            SocketFlags::NONBLOCK | SocketFlags::CLOEXEC,
            Some(ipproto::TCP),
        )?;
        sockopt::set_tcp_nodelay(&fd, true)?;
        rnet::bind(
            &fd,
            &SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::LOCALHOST, 0)),
        )?;
        let addr = SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::LOCALHOST, self.opts.port));
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
        let c = &mut self.clients[i];
        c.fd = Some(fd);
        c.state = State::Connecting;
        Ok(())
    }

    /// A client that never opened.
    fn fail(&mut self, i: usize, why: String) {
        let c = &mut self.clients[i];
        c.state = State::Dead;
        c.fd = None;
        self.opening -= 1;
        self.shared.failed.fetch_add(1, Ordering::AcqRel);
        self.report.connect_failures += 1;
        let idx = c.idx;
        self.report
            .problem(format!("client {idx}: could not open: {why}"));
    }

    /// A client that was open ended: unexpected unless the close stage ended it cleanly.
    fn die(&mut self, i: usize, why: String) {
        let c = &mut self.clients[i];
        match c.state {
            State::Dead | State::Done => {}
            State::Connecting | State::Handshake => self.fail(i, why),
            State::Closing => {
                c.state = State::Dead;
                c.fd = None;
                self.report.unclean_closes += 1;
                let idx = c.idx;
                self.report.problem(format!("client {idx}: closing: {why}"));
            }
            State::Open | State::Idle => {
                c.state = State::Dead;
                c.fd = None;
                self.shared.died.fetch_add(1, Ordering::AcqRel);
                self.report.unexpected_closes += 1;
                let idx = c.idx;
                self.report.problem(format!("client {idx}: {why}"));
            }
        }
    }

    fn on_event(&mut self, i: usize, flags: epoll::EventFlags) {
        let Some(c) = self.clients.get_mut(i) else {
            return;
        };
        match c.state {
            State::Connecting => {
                let Some(fd) = &c.fd else { return };
                match sockopt::socket_error(fd) {
                    Ok(Ok(())) => {}
                    Ok(Err(e)) | Err(e) => return self.fail(i, format!("connect: {e}")),
                }
                if !flags.intersects(epoll::EventFlags::OUT | epoll::EventFlags::IN) {
                    return;
                }
                let mut nonce = [0u8; 16];
                nonce[..8].copy_from_slice(&c.rng.next().to_le_bytes());
                nonce[8..].copy_from_slice(&c.rng.next().to_le_bytes());
                c.key = encode_key(&nonce);
                c.state = State::Handshake;
                let host = format!("localhost:{}", self.opts.port);
                let path = if c.member.is_some() { "/chat" } else { "/echo" };
                if let Err(e) = ClientRequest::new(&host, path).write(&c.key, &mut c.out) {
                    return self.fail(i, format!("request: {e:?}"));
                }
                self.flush(i);
                self.read(i);
            }
            State::Handshake | State::Open | State::Closing => {
                if flags.contains(epoll::EventFlags::OUT) {
                    self.flush(i);
                }
                self.read(i);
            }
            State::Idle | State::Done | State::Dead => {}
        }
    }

    fn read(&mut self, i: usize) {
        loop {
            let c = &mut self.clients[i];
            let Some(fd) = &c.fd else { return };
            if c.inbuf.len() - c.inlen < 8 * 1024 {
                let grown = (c.inbuf.len() * 2).max(16 * 1024);
                c.inbuf.resize(grown, 0);
            }
            match rnet::recv(fd, &mut c.inbuf[c.inlen..], RecvFlags::empty()) {
                Ok((0, _)) => {
                    if c.state == State::Closing && c.got_close {
                        c.state = State::Done;
                        c.fd = None;
                        self.report.clean_closes += 1;
                        return;
                    }
                    return self.die(i, "the server ended the connection".to_owned());
                }
                Ok((n, _)) => {
                    c.inlen += n;
                    if let Err(why) = self.process(i) {
                        self.flush(i);
                        return self.die(i, why);
                    }
                }
                Err(Errno::AGAIN) => break,
                Err(Errno::INTR) => {}
                Err(e) => return self.die(i, format!("recv: {e}")),
            }
        }
        self.flush(i);
    }

    /// Handles `inbuf[..inlen]`: the upgrade response, then frames.
    fn process(&mut self, i: usize) -> Result<(), String> {
        if self.clients[i].state == State::Handshake {
            let c = &mut self.clients[i];
            let len = match c.parser.parse(&c.inbuf[..c.inlen]) {
                Ok(ResponseStatus::Partial) => return Ok(()),
                Ok(ResponseStatus::Complete { len, response }) => {
                    if let Err(e) = response.validate(&c.key, &[]) {
                        return Err(format!("upgrade refused: {e}"));
                    }
                    len
                }
                Err(e) => return Err(format!("bad upgrade response: {e:?}")),
            };
            c.inbuf.copy_within(len..c.inlen, 0);
            c.inlen -= len;
            c.state = State::Open;
            self.opening -= 1;
            self.shared.opened.fetch_add(1, Ordering::AcqRel);
        }
        let now = self.shared.now_ns();
        let mut start = 0;
        let mut result = Ok(());
        loop {
            let c = &mut self.clients[i];
            let rng = &mut c.rng;
            let mut out = ClientOutput {
                buffer: &mut c.out,
                mask_keys: || (rng.next() as u32).to_le_bytes(),
            };
            let received = match c.ws.receive(
                &self.config,
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
                None | Some(Event::Pong(_)) => {}
                Some(Event::Ping(_)) => self.report.pings += 1,
                Some(Event::Close(frame)) => {
                    if c.state == State::Closing {
                        c.got_close = true;
                        let code = frame.code.map_or(1005, |c| c.0);
                        if code != CloseCode::NORMAL.0 {
                            let idx = c.idx;
                            self.report
                                .problem(format!("client {idx}: close answered with {code}"));
                        }
                        continue;
                    }
                    result = Err(format!(
                        "closed by the server: {:?} {:?}",
                        frame.code, frame.reason
                    ));
                    break;
                }
                Some(Event::Compressed { .. }) => {
                    result = Err("a compressed message, not negotiated".to_owned());
                    break;
                }
                Some(Event::Message { kind, payload }) => {
                    let payload = payload.to_vec();
                    self.on_message(i, kind, &payload, now);
                }
            }
        }
        let c = &mut self.clients[i];
        c.inbuf.copy_within(start..c.inlen, 0);
        c.inlen -= start;
        result
    }

    fn on_message(&mut self, i: usize, kind: DataKind, payload: &[u8], now: u64) {
        match self.clients[i].member {
            None => self.on_echo(i, kind, payload, now),
            Some(me) => self.on_bcast(me, kind, payload, now),
        }
    }

    fn on_echo(&mut self, i: usize, kind: DataKind, payload: &[u8], now: u64) {
        let c = &mut self.clients[i];
        let head = payload
            .get(..ECHO_HEAD)
            .filter(|_| kind == DataKind::Binary);
        let parsed = head.map(|h| {
            (
                u32::from_le_bytes(h[0..4].try_into().unwrap_or_default()),
                u64::from_le_bytes(h[4..12].try_into().unwrap_or_default()),
                u64::from_le_bytes(h[12..20].try_into().unwrap_or_default()),
                h[20],
            )
        });
        let Some((idx, seq, ts, phase)) = parsed.filter(|p| p.0 == c.idx && p.3 < 3) else {
            let idx = c.idx;
            let phase = self.shared.stage().phase().unwrap_or(2);
            self.report.echo[usize::from(phase)].corrupt += 1;
            let head: Vec<u8> = payload.iter().take(24).copied().collect();
            self.report.problem(format!(
                "client {idx}: unrecognisable echo ({kind:?}, {} B, starts {head:02x?})",
                payload.len()
            ));
            return;
        };
        let p = usize::from(phase);
        echo_payload(idx, seq, ts, phase, &mut self.scratch);
        if self.scratch != payload {
            self.report.echo[p].corrupt += 1;
            self.report.problem(format!(
                "client {idx}: echo {seq} altered ({} B)",
                payload.len()
            ));
            return;
        }
        match c.outstanding.iter().position(|&(s, _)| s == seq) {
            Some(0) => {
                c.outstanding.pop_front();
                self.report.echo[p].received += 1;
            }
            Some(at) => {
                c.outstanding.remove(at);
                self.report.echo[p].received += 1;
                self.report.echo[p].reordered += 1;
                self.report
                    .problem(format!("client {idx}: echo {seq} overtook an earlier one"));
            }
            None if seq < c.next_seq => {
                self.report.echo[p].duplicated += 1;
                self.report
                    .problem(format!("client {idx}: echo {seq} twice"));
            }
            None => {
                self.report.echo[p].corrupt += 1;
                self.report
                    .problem(format!("client {idx}: echo {seq} never sent"));
            }
        }
        self.report.echo_hist[p].record(now.saturating_sub(ts));
    }

    fn on_bcast(&mut self, me: u32, kind: DataKind, payload: &[u8], now: u64) {
        // The chat app's notices (`* guest7 joined`) are not broadcasts.
        if kind == DataKind::Text && payload.starts_with(b"* ") {
            return;
        }
        let stage_phase = usize::from(self.shared.stage().phase().unwrap_or(2));
        let body = payload
            .iter()
            .position(|&b| b == b'#')
            .map(|at| &payload[at..])
            .filter(|_| kind == DataKind::Text);
        let parsed = body.and_then(|b| {
            let text = std::str::from_utf8(b).ok()?;
            let fields = text.get(1..)?.split('#').next()?;
            let mut it = fields.split(',');
            let pos: u32 = it.next()?.parse().ok()?;
            let seq: u64 = it.next()?.parse().ok()?;
            let ts: u64 = it.next()?.parse().ok()?;
            let phase: u8 = it.next()?.parse().ok()?;
            Some((pos, seq, ts, phase))
        });
        let Some((pos, seq, ts, phase)) = parsed.filter(|&(pos, seq, _, phase)| {
            (pos as usize) < self.opts.bcast
                && pos != me
                && phase < 3
                && (seq as usize) < self.bsent[pos as usize].len()
        }) else {
            self.report.bcast[stage_phase].corrupt += 1;
            let shown = String::from_utf8_lossy(&payload[..payload.len().min(60)]).into_owned();
            self.report
                .problem(format!("member {me}: unrecognisable broadcast {shown:?}"));
            return;
        };
        let p = usize::from(phase);
        bcast_text(pos, seq, ts, phase, &mut self.text);
        if body != Some(self.text.as_bytes()) {
            self.report.bcast[p].corrupt += 1;
            self.report
                .problem(format!("member {me}: broadcast {pos}/{seq} altered"));
            return;
        }
        let next = &mut self.bnext[me as usize][pos as usize];
        if seq == *next {
            *next += 1;
            self.report.bcast[p].received += 1;
        } else if seq > *next {
            for s in *next..seq {
                self.bmissing.insert((me, pos, s));
            }
            *next = seq + 1;
            self.report.bcast[p].received += 1;
        } else if self.bmissing.remove(&(me, pos, seq)) {
            self.report.bcast[p].received += 1;
            self.report.bcast[p].reordered += 1;
            self.report
                .problem(format!("member {me}: broadcast {pos}/{seq} came late"));
        } else {
            self.report.bcast[p].duplicated += 1;
            self.report
                .problem(format!("member {me}: broadcast {pos}/{seq} twice"));
        }
        self.report.bcast_hist[p].record(now.saturating_sub(ts));
    }

    /// Echo replies and broadcast deliveries still owed.
    fn owed(&self) -> u64 {
        let echo: u64 = self
            .clients
            .iter()
            .filter(|c| c.state == State::Open)
            .map(|c| c.outstanding.len() as u64)
            .sum();
        let mut bcast = self.bmissing.len() as u64;
        for (r, next) in self.bnext.iter().enumerate() {
            if self.clients[r].state != State::Open {
                continue;
            }
            for (s, &n) in next.iter().enumerate() {
                if s != r {
                    bcast += (self.bsent[s].len() as u64).saturating_sub(n);
                }
            }
        }
        echo + bcast
    }

    fn start_closes(&mut self) {
        let now = ws_proto::Instant::from_nanos(self.shared.now_ns());
        for i in 0..self.clients.len() {
            let c = &mut self.clients[i];
            if c.state != State::Open {
                continue;
            }
            let rng = &mut c.rng;
            let mut out = ClientOutput {
                buffer: &mut c.out,
                mask_keys: || (rng.next() as u32).to_le_bytes(),
            };
            match c
                .ws
                .close(&self.config, now, CloseCode::NORMAL, "", &mut out)
            {
                Ok(()) => {
                    c.state = State::Closing;
                    self.flush(i);
                }
                Err(e) => self.die(i, format!("close: {e:?}")),
            }
        }
    }

    /// Writes pending output until it is gone or the socket is full.
    fn flush(&mut self, i: usize) {
        let c = &mut self.clients[i];
        let Some(fd) = &c.fd else { return };
        while c.out_at < c.out.len() {
            match rnet::send(fd, &c.out[c.out_at..], SendFlags::NOSIGNAL) {
                Ok(n) => c.out_at += n,
                Err(Errno::AGAIN) => return,
                Err(Errno::INTR) => {}
                Err(e) => return self.die(i, format!("send: {e}")),
            }
        }
        c.out.clear();
        c.out_at = 0;
    }

    /// The final tally: what is still owed is lost; clients still open did not close.
    fn finish(&mut self) {
        for i in 0..self.clients.len() {
            let c = &mut self.clients[i];
            for &(_, phase) in &c.outstanding {
                self.report.echo[usize::from(phase)].lost += 1;
            }
            c.outstanding.clear();
            if matches!(c.state, State::Open | State::Closing) {
                self.report.unclean_closes += 1;
                let idx = c.idx;
                self.report
                    .problem(format!("client {idx}: no close handshake within 10 s"));
            }
            let c = &mut self.clients[i];
            if let Some(fd) = c.fd.take() {
                let _ = sockopt::set_socket_linger(&fd, Some(Duration::ZERO));
            }
        }
        for (r, next) in self.bnext.iter().enumerate() {
            for (s, &n) in next.iter().enumerate() {
                if s == r {
                    continue;
                }
                for &phase in self.bsent[s].iter().skip(n as usize) {
                    self.report.bcast[usize::from(phase)].lost += 1;
                }
            }
        }
        for &(_, s, seq) in &self.bmissing {
            let phase = self.bsent[s as usize][seq as usize];
            self.report.bcast[usize::from(phase)].lost += 1;
        }
        let lost: u64 = self
            .report
            .echo
            .iter()
            .chain(&self.report.bcast)
            .map(|c| c.lost)
            .sum();
        if lost > 0 {
            self.report
                .problem(format!("{lost} messages or deliveries never arrived"));
        }
    }
}
