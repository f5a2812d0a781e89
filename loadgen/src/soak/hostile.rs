//! The hostile clients. Each kind runs on its own thread with blocking sockets, is bounded in
//! count and rate, stops by itself (at the end of the hostile window, or when its one act is
//! done), tallies what it saw and checks that against what the daemon must do.
//!
//! Every kind connects from its own loopback address (127.0.0.10 and up; the connection flood
//! 127.0.0.2, the handshake burst 127.0.0.3, the global flood 127.0.1.x), so that the
//! per-address limits of one never touch another, nor the legitimate clients on 127.0.0.1.

use std::collections::BTreeMap;
use std::io::{ErrorKind, Read, Write};
use std::net::{Ipv4Addr, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use ws_proto::DataKind;
use ws_proto::handshake::{ResponseParser, ResponseStatus};

use crate::net::{
    Got, Reply, WsClient, connect_from, frame, http_get, metric, read_reply, rst, upgrade_request,
    wait_end, ws_open,
};

/// The daemon's limits, as configured (`limits` says whether the limit keys are in the config).
#[derive(Debug, Clone)]
pub(crate) struct Ctx {
    pub(crate) ws_port: u16,
    pub(crate) wss_port: u16,
    pub(crate) admin_port: u16,
    /// `SOAK_LIMITS=1`: the four limit keys are configured and their checks are real.
    pub(crate) limits: bool,
    pub(crate) per_ip: usize,
    pub(crate) hs_rate: usize,
    pub(crate) msg_rate: usize,
    pub(crate) max_conns: usize,
    pub(crate) max_msg: u64,
    pub(crate) handshake_wait: Duration,
    /// Legitimate clients (all open while the hostile kinds run).
    pub(crate) clients: usize,
    /// The end of the hostile window: wave kinds start no wave after it.
    pub(crate) until: Instant,
}

/// How a kind's expectation turned out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Verdict {
    Pass,
    Fail(String),
    Skipped(&'static str),
}

/// What one hostile kind did and saw.
#[derive(Debug, Clone)]
pub(crate) struct Outcome {
    pub(crate) kind: &'static str,
    pub(crate) attempts: u64,
    /// Observation label → count.
    pub(crate) seen: BTreeMap<String, u64>,
    pub(crate) expect: String,
    pub(crate) verdict: Verdict,
    /// Extra figures (timings, counters).
    pub(crate) note: String,
}

impl Outcome {
    fn new(kind: &'static str, expect: impl Into<String>) -> Self {
        Self {
            kind,
            attempts: 0,
            seen: BTreeMap::new(),
            expect: expect.into(),
            verdict: Verdict::Pass,
            note: String::new(),
        }
    }

    fn see(&mut self, label: impl Into<String>) {
        *self.seen.entry(label.into()).or_default() += 1;
    }

    fn count(&self, label: &str) -> u64 {
        self.seen.get(label).copied().unwrap_or(0)
    }

    /// Pass when every observation is one of `ok` (and there was at least one attempt).
    fn only(&mut self, ok: &[&str]) {
        let bad: Vec<String> = self
            .seen
            .iter()
            .filter(|(k, _)| !ok.contains(&k.as_str()))
            .map(|(k, v)| format!("{v}x {k}"))
            .collect();
        self.verdict = if self.attempts == 0 {
            Verdict::Fail("no attempt ran".to_owned())
        } else if bad.is_empty() {
            Verdict::Pass
        } else {
            Verdict::Fail(format!("unexpected: {}", bad.join(", ")))
        };
    }

    fn fail(&mut self, why: impl Into<String>) {
        if self.verdict == Verdict::Pass {
            self.verdict = Verdict::Fail(why.into());
        } else if let Verdict::Fail(w) = &mut self.verdict {
            w.push_str("; ");
            w.push_str(&why.into());
        }
    }

    fn note(&mut self, s: impl AsRef<str>) {
        if !self.note.is_empty() {
            self.note.push_str("; ");
        }
        self.note.push_str(s.as_ref());
    }
}

const SKIPPED: &str = "skipped (SOAK_LIMITS=0)";

fn ip(last: u8) -> Ipv4Addr {
    Ipv4Addr::new(127, 0, 0, last)
}

/// Sleeps until `at` (no-op when past).
fn sleep_until(at: Instant) {
    let left = at.saturating_duration_since(Instant::now());
    if !left.is_zero() {
        thread::sleep(left);
    }
}

/// A connection waiting for the daemon to answer or end it, polled without blocking long.
struct Pending {
    s: Option<TcpStream>,
    buf: Vec<u8>,
    started: Instant,
    /// The label and when, once resolved.
    done: Option<(String, Duration)>,
    /// Bytes of `trickle` sent so far.
    sent: usize,
}

impl Pending {
    fn new(s: TcpStream) -> Self {
        let _ = s.set_read_timeout(Some(Duration::from_millis(1)));
        Self {
            s: Some(s),
            buf: Vec::new(),
            started: Instant::now(),
            done: None,
            sent: 0,
        }
    }

    /// Reads what is there: resolves on a complete response head, the end, or a reset.
    fn poll(&mut self) {
        if self.done.is_some() {
            return;
        }
        let Some(s) = self.s.as_mut() else { return };
        let mut chunk = [0u8; 2048];
        loop {
            match s.read(&mut chunk) {
                Ok(0) => {
                    let label = if self.buf.is_empty() {
                        "closed".to_owned()
                    } else {
                        status_of(&self.buf).unwrap_or_else(|| "closed".to_owned())
                    };
                    return self.resolve(label);
                }
                Ok(n) => {
                    self.buf.extend_from_slice(&chunk[..n]);
                    if let Some(label) = status_of(&self.buf) {
                        return self.resolve(label);
                    }
                }
                Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                    return;
                }
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(_) => return self.resolve("reset".to_owned()),
            }
        }
    }

    fn resolve(&mut self, label: String) {
        self.done = Some((label, self.started.elapsed()));
        if let Some(s) = self.s.take() {
            rst(s);
        }
    }

    /// Sends the next byte of `bytes` (the slowloris trickle); a failed write is left for the
    /// next poll to find.
    fn trickle(&mut self, bytes: &[u8]) {
        if self.done.is_some() {
            return;
        }
        if let (Some(s), Some(b)) = (self.s.as_mut(), bytes.get(self.sent))
            && s.write_all(std::slice::from_ref(b)).is_ok()
        {
            self.sent += 1;
        }
    }
}

/// The status of a complete response head in `buf`, as a label.
fn status_of(buf: &[u8]) -> Option<String> {
    match ResponseParser::new().parse(buf) {
        Ok(ResponseStatus::Complete { response, .. }) => {
            Some(response.status().as_u16().to_string())
        }
        Ok(ResponseStatus::Partial) => None,
        Err(_) => Some("bad".to_owned()),
    }
}

/// Runs waves of held connections (opened by `open`, fed by `feed` once a second) until the
/// window ends; each must be answered or ended by the daemon within `limit`.
fn held_waves(
    o: &mut Outcome,
    ctx: &Ctx,
    per_wave: usize,
    limit: Duration,
    mut open: impl FnMut(usize) -> std::io::Result<TcpStream>,
    feed: Option<&[u8]>,
) {
    let mut times: Vec<Duration> = Vec::new();
    while Instant::now() < ctx.until {
        let mut wave: Vec<Pending> = Vec::new();
        for k in 0..per_wave {
            o.attempts += 1;
            match open(k) {
                Ok(s) => wave.push(Pending::new(s)),
                Err(e) => o.see(format!("connect failed ({})", e.kind())),
            }
        }
        let started = Instant::now();
        let mut next_feed = started;
        while wave.iter().any(|p| p.done.is_none()) && started.elapsed() < limit {
            if let Some(bytes) = feed
                && Instant::now() >= next_feed
            {
                next_feed += Duration::from_secs(1);
                for p in &mut wave {
                    p.trickle(bytes);
                }
            }
            for p in &mut wave {
                p.poll();
            }
            thread::sleep(Duration::from_millis(50));
        }
        for mut p in wave {
            match p.done.take() {
                Some((label, t)) => {
                    times.push(t);
                    o.see(label);
                }
                None => {
                    o.see("still open");
                    if let Some(s) = p.s.take() {
                        rst(s);
                    }
                }
            }
        }
    }
    if let (Some(min), Some(max)) = (times.iter().min(), times.iter().max()) {
        o.note(format!(
            "ended after {:.1}-{:.1} s",
            min.as_secs_f64(),
            max.as_secs_f64()
        ));
    }
}

/// Slowloris, HTTP: request headers at one byte per second; the daemon must answer 408 (or
/// close) at `handshake_wait`.
pub(crate) fn slowloris_headers(ctx: &Ctx) -> Outcome {
    let hw = ctx.handshake_wait.as_secs();
    let mut o = Outcome::new(
        "slowloris headers",
        format!("408 or closed within handshake_wait ({hw} s) + 3 s"),
    );
    let request = b"GET /echo HTTP/1.1\r\nHost: localhost\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
    let limit = ctx.handshake_wait + Duration::from_secs(3);
    held_waves(
        &mut o,
        ctx,
        10,
        limit,
        |_| connect_from(ip(10), ctx.ws_port, None),
        Some(request),
    );
    o.only(&["408", "closed", "reset"]);
    o
}

/// Half-open: a partial request (or nothing at all) and then silence; the daemon must answer
/// 408 (or close) at `handshake_wait`.
pub(crate) fn half_open(ctx: &Ctx) -> Outcome {
    let hw = ctx.handshake_wait.as_secs();
    let mut o = Outcome::new(
        "half-open",
        format!("408 or closed within handshake_wait ({hw} s) + 3 s"),
    );
    let limit = ctx.handshake_wait + Duration::from_secs(3);
    let port = ctx.ws_port;
    held_waves(
        &mut o,
        ctx,
        20,
        limit,
        |k| {
            let mut s = connect_from(ip(11), port, None)?;
            if k % 2 == 0 {
                s.write_all(b"GET /echo HTTP/1.1\r\nHost: loc")?;
            }
            Ok(s)
        },
        None,
    );
    o.only(&["408", "closed", "reset"]);
    o
}

/// Slowloris, WebSocket: a text frame at one byte per second; the daemon must echo it intact
/// (it is slow, not wrong).
pub(crate) fn slow_frame(ctx: &Ctx) -> Outcome {
    let mut o = Outcome::new("slowloris frame", "echo of the slow frame, intact");
    let bytes = frame(1, true, b"slow", None);
    while Instant::now() < ctx.until {
        let mut clients = Vec::new();
        for _ in 0..5 {
            o.attempts += 1;
            match ws_open(ip(12), ctx.ws_port, "/echo", None) {
                Ok(c) => clients.push(c),
                Err(label) => o.see(format!("upgrade: {label}")),
            }
        }
        let started = Instant::now();
        for (at, b) in bytes.iter().enumerate() {
            sleep_until(started + Duration::from_secs(at as u64));
            for c in &mut clients {
                let _ = c.send_raw(std::slice::from_ref(b));
            }
        }
        for mut c in clients {
            match c.recv(Instant::now() + Duration::from_secs(3)) {
                Got::Msg(DataKind::Text, p) if p == b"slow" => o.see("echoed"),
                Got::Msg(..) => o.see("altered echo"),
                other => o.see(other.label()),
            }
            c.abort();
        }
    }
    o.note(format!("{} bytes at 1 byte/s per frame", bytes.len()));
    o.only(&["echoed"]);
    o
}

/// Oversized heads: a 10 KiB header line, 100 header lines, a 9 KiB request target (the
/// head limit is 8 KiB and 64 lines): 431, or closed.
pub(crate) fn big_headers(ctx: &Ctx) -> Outcome {
    let mut o = Outcome::new("oversized headers", "431 (or closed)");
    let long_line = format!("X-Big: {}\r\n", "a".repeat(10 * 1024));
    let many: String = (0..100).map(|i| format!("X-H{i}: v\r\n")).collect();
    let long_path = format!("/echo?{}", "p".repeat(9 * 1024));
    let requests = [
        upgrade_request(ctx.ws_port, "/echo", &long_line),
        upgrade_request(ctx.ws_port, "/echo", &many),
        upgrade_request(ctx.ws_port, &long_path, ""),
    ];
    let mut next = Instant::now();
    while Instant::now() < ctx.until {
        for r in &requests {
            o.attempts += 1;
            let mut s = match connect_from(ip(13), ctx.ws_port, None) {
                Ok(s) => s,
                Err(e) => {
                    o.see(format!("connect failed ({})", e.kind()));
                    continue;
                }
            };
            let _ = s.write_all(r); // The daemon may answer and close before the end.
            let reply = read_reply(&mut s, Instant::now() + Duration::from_secs(3));
            o.see(reply.label());
            rst(s);
        }
        next += Duration::from_millis(500);
        sleep_until(next);
    }
    o.only(&["431", "closed", "reset"]);
    o
}

/// Oversized frames: a frame header announcing one byte more than `max_ws_msg_size`, one
/// announcing 1 TiB, and a message of two fragments that together pass the limit: close 1009.
pub(crate) fn big_frames(ctx: &Ctx) -> Outcome {
    let mut o = Outcome::new("oversized frames", "close 1009");
    let max = ctx.max_msg;
    let three_quarters = vec![b'x'; (max * 3 / 4) as usize];
    let mut first_fragment_then_more = frame(2, false, &three_quarters, None);
    first_fragment_then_more.extend(frame(0, true, &three_quarters, None));
    let attacks: [Vec<u8>; 3] = [
        {
            let mut f = frame(2, true, &[], Some(max + 1));
            f.extend(std::iter::repeat_n(0u8, 1000));
            f
        },
        frame(1, true, &[], Some(1 << 40)),
        first_fragment_then_more,
    ];
    send_each_until_close(ctx, &mut o, ip(14), &attacks);
    o.only(&["close 1009"]);
    o
}

/// Invalid UTF-8 in text messages (single frames, fragmented, truncated): close 1007.
pub(crate) fn bad_utf8(ctx: &Ctx) -> Outcome {
    let mut o = Outcome::new("invalid UTF-8", "close 1007");
    let mut fragmented = frame(1, false, b"ok \xe2\x82", None);
    fragmented.extend(frame(0, true, b"\x28 end", None));
    let attacks: [Vec<u8>; 5] = [
        frame(1, true, b"\xff\xfe", None),
        frame(1, true, b"over\xc0\xaflong", None),
        frame(1, true, b"surrogate \xed\xa0\x80", None),
        fragmented,
        frame(1, true, b"truncated \xe2\x82", None),
    ];
    send_each_until_close(ctx, &mut o, ip(15), &attacks);
    o.only(&["close 1007"]);
    o
}

/// Until the hostile phase ends, every 500 ms: each attack on a fresh upgraded connection
/// from `from`, noting what came back within 3 s.
fn send_each_until_close(ctx: &Ctx, o: &mut Outcome, from: Ipv4Addr, attacks: &[Vec<u8>]) {
    let mut next = Instant::now();
    while Instant::now() < ctx.until {
        for a in attacks {
            o.attempts += 1;
            let mut c = match ws_open(from, ctx.ws_port, "/echo", None) {
                Ok(c) => c,
                Err(label) => {
                    o.see(format!("upgrade: {label}"));
                    continue;
                }
            };
            let _ = c.send_raw(a);
            let got = c.recv(Instant::now() + Duration::from_secs(3));
            o.see(got.label());
            c.abort();
        }
        next += Duration::from_millis(500);
        sleep_until(next);
    }
}

/// A pseudo-random byte string.
fn noise(seed: u64, len: usize) -> Vec<u8> {
    let mut x = seed | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect()
}

/// Garbage: random bytes and a plaintext upgrade on the wss:// port, a TLS record header
/// that never continues, random bytes and a TLS ClientHello start on the ws:// port. The
/// daemon must end each (a 400 is fine on ws://) and keep serving.
pub(crate) fn garbage(ctx: &Ctx) -> Outcome {
    let mut o = Outcome::new("garbage / TLS", "wss://: closed; ws://: 400 or closed");
    let hello_start: &[u8] = &[
        0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc, 0x03, 0x03,
    ];
    let wait = ctx.handshake_wait + Duration::from_secs(3);
    let mut next = Instant::now();
    let mut round = 0u64;
    while Instant::now() < ctx.until {
        round += 1;
        let mut random = noise(round, 512);
        random[0] = 0x47; // Not a TLS record type, whatever the rest is.
        let cases: [(u16, &str, Vec<u8>); 5] = [
            (ctx.wss_port, "wss random", random.clone()),
            (
                ctx.wss_port,
                "wss plaintext",
                upgrade_request(ctx.wss_port, "/echo", ""),
            ),
            (ctx.wss_port, "wss stalled hello", hello_start[..5].to_vec()),
            (ctx.ws_port, "ws random", random),
            (ctx.ws_port, "ws tls hello", hello_start.to_vec()),
        ];
        for (port, what, bytes) in cases {
            o.attempts += 1;
            let mut s = match connect_from(ip(16), port, None) {
                Ok(s) => s,
                Err(e) => {
                    o.see(format!("{what}: connect failed ({})", e.kind()));
                    continue;
                }
            };
            let _ = s.write_all(&bytes);
            let end = if port == ctx.ws_port && what == "ws random" {
                read_reply(&mut s, Instant::now() + wait)
            } else {
                wait_end(&mut s, Instant::now() + wait)
            };
            let label = match end {
                Reply::Closed { .. } | Reply::Reset => "closed".to_owned(),
                other => other.label(),
            };
            o.see(format!("{what}: {label}"));
            rst(s);
        }
        next += Duration::from_millis(500);
        sleep_until(next);
    }
    o.only(&[
        "wss random: closed",
        "wss plaintext: closed",
        "wss stalled hello: closed",
        "ws random: closed",
        "ws random: 400",
        "ws tls hello: closed",
    ]);
    o
}

/// RST storm: connect and reset at once, reset after sending the request, reset right after
/// the `101`; 100 a second. Every connect and upgrade must still succeed.
pub(crate) fn rst_storm(ctx: &Ctx) -> Outcome {
    let mut o = Outcome::new("RST storm", "every connect accepted, every upgrade 101");
    let request = upgrade_request(ctx.ws_port, "/echo", "");
    let mut next = Instant::now();
    while Instant::now() < ctx.until {
        for k in 0..25 {
            o.attempts += 1;
            let mut s = match connect_from(ip(17), ctx.ws_port, None) {
                Ok(s) => s,
                Err(e) => {
                    o.see(format!("connect failed ({})", e.kind()));
                    continue;
                }
            };
            match k % 3 {
                0 => o.see("reset at once"),
                1 => {
                    let _ = s.write_all(&request);
                    o.see("reset after the request");
                }
                _ => {
                    let _ = s.write_all(&request);
                    match read_reply(&mut s, Instant::now() + Duration::from_secs(3)) {
                        Reply::Status(101, _) => o.see("reset after 101"),
                        other => o.see(format!("upgrade: {}", other.label())),
                    }
                }
            }
            rst(s);
        }
        next += Duration::from_millis(250);
        sleep_until(next);
    }
    o.only(&[
        "reset at once",
        "reset after the request",
        "reset after 101",
    ]);
    o
}

/// Slow readers: clients of the `blast` chat instance with a tiny receive buffer that stop
/// reading while broadcasters send 4 KB messages there (200 a second in all, spread over
/// enough senders that each stays under `max_messages_per_second`); each reader must be closed
/// with 1008 once its backlog passes `max_client_backlog` (the close frame follows what was
/// buffered), and no broadcaster may be closed.
pub(crate) fn slow_readers(ctx: &Ctx) -> Outcome {
    const READERS: usize = 10;
    const RATE: usize = 200;
    let mut o = Outcome::new(
        "slow readers",
        "close 1008 (max_client_backlog) for every reader",
    );
    let slow_total = || {
        http_get(ctx.admin_port, "/metrics")
            .and_then(|(_, body)| metric(&body, "ringsocket_slow_client_closes_total"))
    };
    let before = slow_total().unwrap_or(0.0);
    let mut readers = Vec::new();
    for _ in 0..READERS {
        o.attempts += 1;
        match ws_open(ip(18), ctx.ws_port, "/blast", Some(4096)) {
            Ok(c) => readers.push(c),
            Err(label) => o.see(format!("upgrade: {label}")),
        }
    }
    // Each sender at most half the per-client message rate.
    let per_sender = RATE.min(ctx.msg_rate / 2).max(1);
    let senders = RATE.div_ceil(per_sender);
    let mut blasters = Vec::new();
    for _ in 0..senders {
        match ws_open(ip(19), ctx.ws_port, "/blast", None) {
            Ok(c) => blasters.push(c),
            Err(label) => o.see(format!("broadcaster upgrade: {label}")),
        }
    }
    let mut msg = b"m".to_vec();
    msg.extend(std::iter::repeat_n(b'z', 4000));
    let started = Instant::now();
    let mut sent = 0u64;
    let mut closes = 0.0;
    let mut next_check = started;
    let mut tick = 0u64;
    // Every 50 ms each sender sends its share (a twentieth of its rate, carried over).
    while started.elapsed() < Duration::from_secs(15) && !blasters.is_empty() {
        tick += 1;
        let due = (tick as usize * per_sender / 20) - ((tick - 1) as usize * per_sender / 20);
        for b in &mut blasters {
            for _ in 0..due {
                if b.send(DataKind::Text, &msg).is_ok() {
                    sent += 1;
                }
            }
        }
        if Instant::now() >= next_check {
            next_check += Duration::from_millis(500);
            closes = slow_total().unwrap_or(before) - before;
            if closes >= readers.len() as f64 {
                break;
            }
        }
        sleep_until(started + Duration::from_millis(50 * tick));
    }
    let blast_secs = started.elapsed().as_secs_f64();
    // The broadcasters only get join notices; a close means the daemon stopped one.
    for mut b in blasters {
        let deadline = Instant::now() + Duration::from_millis(200);
        loop {
            match b.recv(deadline) {
                Got::Msg(..) => {}
                Got::Timeout => break,
                other => {
                    o.see(format!("broadcaster: {}", other.label()));
                    break;
                }
            }
        }
        b.abort();
    }
    let deadline = Instant::now() + Duration::from_secs(5);
    let mut drained = 0u64;
    for mut r in readers {
        let got = loop {
            match r.recv(deadline) {
                Got::Msg(..) => drained += 1,
                other => break other,
            }
        };
        o.see(got.label());
        r.abort();
    }
    o.note(format!(
        "{sent} broadcasts of 4 KB from {senders} senders in {blast_secs:.1} s; ringsocket_slow_client_closes_total +{closes}; {drained} frames drained before the closes"
    ));
    o.only(&["close 1008"]);
    o
}

/// Message flood: one client sends small messages far over `max_messages_per_second` (reading
/// the echoes on a second thread, so that no backlog builds): close 1008.
pub(crate) fn msg_flood(ctx: &Ctx) -> Outcome {
    msg_flood_at(ctx, "/echo")
}

fn msg_flood_at(ctx: &Ctx, path: &str) -> Outcome {
    let mut o = Outcome::new(
        "message flood",
        format!("close 1008 (max_messages_per_second = {})", ctx.msg_rate),
    );
    o.attempts = 1;
    let c = match ws_open(ip(20), ctx.ws_port, path, None) {
        Ok(c) => c,
        Err(label) => {
            o.fail(format!("could not connect: {label}"));
            return o;
        }
    };
    let Ok(read_half) = c.s.try_clone() else {
        o.fail("socket clone failed");
        return o;
    };
    let mut writer = c;
    let ended = Arc::new(AtomicBool::new(false));
    let reader = {
        let ended = ended.clone();
        thread::spawn(move || {
            let mut r = WsClient::new(read_half, Vec::new());
            let started = Instant::now();
            let mut echoes = 0u64;
            let got = loop {
                match r.recv(Instant::now() + Duration::from_secs(8)) {
                    Got::Msg(..) => echoes += 1,
                    other => break other,
                }
            };
            ended.store(true, Ordering::Release);
            (got, echoes, started.elapsed())
        })
    };
    let one = frame(2, true, b"flood-flood-flood", None);
    let batch: Vec<u8> = one.iter().copied().cycle().take(one.len() * 50).collect();
    let started = Instant::now();
    let mut sent = 0u64;
    // 5,000 messages a second for 4 s at most.
    while started.elapsed() < Duration::from_secs(4) && !ended.load(Ordering::Acquire) {
        if writer.send_raw(&batch).is_err() {
            break;
        }
        sent += 50;
        thread::sleep(Duration::from_millis(10));
    }
    let flood_secs = started.elapsed().as_secs_f64();
    let _ = writer.send_close(1000);
    let (got, echoes, t) =
        reader
            .join()
            .unwrap_or((Got::Error("reader panicked".into()), 0, Duration::ZERO));
    writer.abort();
    o.see(got.label());
    o.note(format!(
        "{sent} sent in {flood_secs:.1} s, {echoes} echoed; ended after {:.1} s",
        t.as_secs_f64()
    ));
    if ctx.limits {
        o.only(&["close 1008"]);
    } else {
        o.verdict = Verdict::Skipped(SKIPPED);
    }
    o
}

/// The fatal app: a client sends `die`; it and a bystander on the same app get 1011, the
/// app's endpoint then answers 503, while the echo app keeps serving and `/health` stays 200.
pub(crate) fn fatal(ctx: &Ctx) -> Outcome {
    let mut o = Outcome::new(
        "fatal app",
        "echo before; 1011 to both clients; then 503 on /fatal; /echo and /health fine",
    );
    o.attempts = 1;
    let steps = (|| -> Result<(), String> {
        let mut a =
            ws_open(ip(21), ctx.ws_port, "/fatal", None).map_err(|l| format!("upgrade: {l}"))?;
        let mut b =
            ws_open(ip(21), ctx.ws_port, "/fatal", None).map_err(|l| format!("upgrade: {l}"))?;
        let _ = a.send(DataKind::Text, b"hello");
        match a.recv(Instant::now() + Duration::from_secs(3)) {
            Got::Msg(DataKind::Text, p) if p == b"hello" => o.see("echo before: ok"),
            other => o.see(format!("echo before: {}", other.label())),
        }
        let _ = a.send(DataKind::Text, b"die");
        o.see(format!(
            "sender: {}",
            a.recv(Instant::now() + Duration::from_secs(5)).label()
        ));
        o.see(format!(
            "bystander: {}",
            b.recv(Instant::now() + Duration::from_secs(5)).label()
        ));
        a.abort();
        b.abort();
        let deadline = Instant::now() + Duration::from_secs(5);
        let after = loop {
            match ws_open(ip(21), ctx.ws_port, "/fatal", None) {
                Ok(c) => {
                    c.abort();
                    if Instant::now() > deadline {
                        break "101".to_owned();
                    }
                    thread::sleep(Duration::from_millis(200));
                }
                Err(label) => break label,
            }
        };
        o.see(format!("upgrade after: {after}"));
        let mut e = ws_open(ip(21), ctx.ws_port, "/echo", None)
            .map_err(|l| format!("echo upgrade: {l}"))?;
        let _ = e.send(DataKind::Binary, b"still serving");
        match e.recv(Instant::now() + Duration::from_secs(3)) {
            Got::Msg(DataKind::Binary, p) if p == b"still serving" => o.see("echo app after: ok"),
            other => o.see(format!("echo app after: {}", other.label())),
        }
        e.abort();
        let health =
            http_get(ctx.admin_port, "/health").map_or("none".to_owned(), |(s, _)| s.to_string());
        o.see(format!("/health after: {health}"));
        Ok(())
    })();
    if let Err(e) = steps {
        o.see(e);
    }
    o.only(&[
        "echo before: ok",
        "sender: close 1011",
        "bystander: close 1011",
        "upgrade after: 503",
        "echo app after: ok",
        "/health after: 200",
    ]);
    if o.verdict == Verdict::Pass && o.seen.len() < 6 {
        o.fail("a step did not run");
    }
    o
}

/// One upgrade attempt from `src`: the reply label and the socket (held when `101`).
fn one_upgrade(src: Ipv4Addr, port: u16) -> (String, Option<TcpStream>) {
    let mut s = match connect_from(src, port, None) {
        Ok(s) => s,
        Err(e) => return (format!("connect failed ({})", e.kind()), None),
    };
    if s.write_all(&upgrade_request(port, "/echo", "")).is_err() {
        // The daemon may have answered and closed already: read what it said.
    }
    match read_reply(&mut s, Instant::now() + Duration::from_secs(5)) {
        Reply::Status(101, _) => ("101".to_owned(), Some(s)),
        other => {
            rst(s);
            (other.label(), None)
        }
    }
}

/// After a flood: a fresh upgrade from `src` must succeed again within 3 s (the daemon
/// released what the flood held).
fn recheck(src: Ipv4Addr, port: u16) -> String {
    let deadline = Instant::now() + Duration::from_secs(3);
    loop {
        let (label, s) = one_upgrade(src, port);
        if let Some(s) = s {
            rst(s);
        }
        if label == "101" || Instant::now() > deadline {
            return label;
        }
        thread::sleep(Duration::from_millis(250));
    }
}

/// Connection flood from one address (127.0.0.2): `per_ip + 500` upgrades held open, paced
/// below the handshake rate; past `max_connections_per_ip` every one must get 429, and once
/// they are closed the address may connect again.
pub(crate) fn conn_flood(ctx: &Ctx) -> Outcome {
    let n = ctx.per_ip + 500;
    let pace = ctx.hs_rate as f64 * 0.4;
    let mut o = Outcome::new(
        "connection flood (1 IP)",
        format!(
            "{n} held upgrades at {pace:.0}/s: {} get 101, the rest 429; afterwards 101 again",
            ctx.per_ip
        ),
    );
    let src = Ipv4Addr::new(127, 0, 0, 2);
    let mut held = Vec::new();
    let mut first_429 = None;
    let started = Instant::now();
    for k in 0..n {
        sleep_until(started + Duration::from_secs_f64(k as f64 / pace));
        o.attempts += 1;
        let (label, s) = one_upgrade(src, ctx.ws_port);
        if label == "429" && first_429.is_none() {
            first_429 = Some(k);
        }
        o.see(label);
        held.extend(s);
    }
    let secs = started.elapsed().as_secs_f64();
    let n101 = held.len();
    for s in held {
        rst(s);
    }
    thread::sleep(Duration::from_secs(1));
    let again = recheck(src, ctx.ws_port);
    o.note(format!(
        "{n} in {secs:.1} s; first 429 at #{}; afterwards: {again}",
        first_429.map_or("-".to_owned(), |k| k.to_string())
    ));
    if !ctx.limits {
        o.verdict = Verdict::Skipped(SKIPPED);
        return o;
    }
    o.only(&["101", "429"]);
    if n101 + 1 < ctx.per_ip || n101 > ctx.per_ip {
        o.fail(format!("{n101} upgrades held, the limit is {}", ctx.per_ip));
    }
    if first_429.is_some_and(|k| k < n101) {
        o.fail("a 429 came before the limit was reached");
    }
    if again != "101" {
        o.fail(format!("after the flood the address got {again}, not 101"));
    }
    o
}

/// Handshake burst from one address (127.0.0.3): upgrades from 4 threads as fast as they go
/// (each writes a batch before it reads the answers) until past what
/// `max_handshakes_per_second_per_ip` allows: some must get 429; 1.5 s later the address may
/// connect again.
pub(crate) fn hs_burst(ctx: &Ctx) -> Outcome {
    // The limit is a bucket of `hs_rate` refilled at `hs_rate`/s, so after `t` seconds an
    // enforcing server has accepted at most `hs_rate * (1 + t)`: past that, a 429 is owed.
    // How fast the burst goes depends on the machine, so the verdict follows that bound
    // rather than a fixed count: fire until a 429 comes back or the bound is passed.
    let allowed = |secs: f64| (ctx.hs_rate as f64 * (1.0 + secs)).ceil() as u64;
    let mut o = Outcome::new(
        "handshake burst (1 IP)",
        format!(
            "upgrades as fast as 4 threads go: 429 once past {}/s; 1.5 s later 101 again",
            ctx.hs_rate
        ),
    );
    let src = Ipv4Addr::new(127, 0, 0, 3);
    let request = upgrade_request(ctx.ws_port, "/echo", "");
    // Half the bucket per thread and round: each round passes the bucket's size.
    let batch = (ctx.hs_rate / 2).clamp(25, 250);
    let started = Instant::now();
    let give_up = started + Duration::from_secs(20);
    let mut outran = false;
    while o.count("429") == 0 && !outran && Instant::now() < give_up {
        let rounds: Vec<Vec<String>> = thread::scope(|scope| {
            let shooters: Vec<_> = (0..4)
                .map(|_| scope.spawn(|| burst_once(src, ctx.ws_port, &request, batch)))
                .collect();
            shooters
                .into_iter()
                .map(|h| h.join().unwrap_or_default())
                .collect()
        });
        for label in rounds.into_iter().flatten() {
            o.attempts += 1;
            o.see(label);
        }
        outran = o.attempts > allowed(started.elapsed().as_secs_f64());
    }
    let secs = started.elapsed().as_secs_f64();
    thread::sleep(Duration::from_millis(1500));
    let again = recheck(src, ctx.ws_port);
    o.note(format!(
        "{} in {secs:.2} s ({:.0}/s; the limit allows {}); afterwards: {again}",
        o.attempts,
        o.attempts as f64 / secs.max(1e-3),
        allowed(secs)
    ));
    if !ctx.limits {
        o.verdict = Verdict::Skipped(SKIPPED);
        return o;
    }
    o.only(&["101", "429"]);
    if o.count("429") == 0 {
        if outran {
            o.fail("no 429 past the limit");
        } else {
            o.fail("the burst never outran the limit (machine too slow to test it)");
        }
    }
    if again != "101" {
        o.fail(format!("afterwards the address got {again}, not 101"));
    }
    o
}

/// `n` upgrades from `src`, all sent before any reply is read, then reset: their labels.
fn burst_once(src: Ipv4Addr, port: u16, request: &[u8], n: usize) -> Vec<String> {
    let mut labels = Vec::with_capacity(n);
    let mut socks = Vec::with_capacity(n);
    for _ in 0..n {
        match connect_from(src, port, None) {
            Ok(mut s) => {
                let _ = s.write_all(request);
                socks.push(s);
            }
            Err(e) => labels.push(format!("connect failed ({})", e.kind())),
        }
    }
    for mut s in socks {
        let reply = read_reply(&mut s, Instant::now() + Duration::from_secs(5));
        labels.push(reply.label());
        rst(s);
    }
    labels
}

/// The warm-up's pre-fill: `n` idle upgrades from 127.0.1.x (paced and spread like the global
/// flood, under every limit), held for a second and then reset, so that the daemon's
/// connection tables and allocator reach the floods' high-water mark before the memory
/// baseline is taken. Returns how many were upgraded.
pub(crate) fn prefill(ctx: &Ctx, n: usize) -> usize {
    let per_addr = (ctx.per_ip / 2).max(1);
    let addrs = n.div_ceil(per_addr).max(4);
    let pace = (ctx.hs_rate as f64 * 0.4 * addrs as f64).min(1500.0);
    let mut held = Vec::with_capacity(n);
    let started = Instant::now();
    for k in 0..n {
        sleep_until(started + Duration::from_secs_f64(k as f64 / pace));
        let src = Ipv4Addr::new(127, 0, 1, 1 + (k % addrs) as u8);
        held.extend(one_upgrade(src, ctx.ws_port).1);
    }
    let upgraded = held.len();
    thread::sleep(Duration::from_secs(1));
    for s in held {
        rst(s);
    }
    upgraded
}

/// Global flood (run alone, after the other kinds): upgrades from 127.0.1.x (each address
/// under its limits) held open until the daemon answers 503 at `max_connections`; then they
/// close and a new upgrade must succeed.
pub(crate) fn global_flood(ctx: &Ctx) -> Outcome {
    let cap = ctx.max_conns + 100 - ctx.clients.min(ctx.max_conns);
    let per_addr = (ctx.per_ip / 2).max(1);
    let addrs = cap.div_ceil(per_addr).max(4);
    let pace = (ctx.hs_rate as f64 * 0.4 * addrs as f64).min(1500.0);
    let mut o = Outcome::new(
        "connection flood (global)",
        format!(
            "503 once {} connections are open (the {} legitimate ones included); afterwards 101",
            ctx.max_conns, ctx.clients
        ),
    );
    let mut held = Vec::new();
    let mut first_503 = None;
    let started = Instant::now();
    for k in 0..cap {
        sleep_until(started + Duration::from_secs_f64(k as f64 / pace));
        let src = Ipv4Addr::new(127, 0, 1, 1 + (k % addrs) as u8);
        o.attempts += 1;
        let (label, s) = one_upgrade(src, ctx.ws_port);
        if label == "503" && first_503.is_none() {
            first_503 = Some(held.len());
        }
        o.see(label);
        held.extend(s);
        if first_503.is_some() && o.count("503") >= 20 {
            break;
        }
    }
    let secs = started.elapsed().as_secs_f64();
    let n101 = held.len();
    for s in held {
        rst(s);
    }
    thread::sleep(Duration::from_secs(1));
    let again = recheck(Ipv4Addr::new(127, 0, 1, 1), ctx.ws_port);
    o.note(format!(
        "{} attempts in {secs:.1} s from {addrs} addresses; {n101} held; first 503 with {} held; afterwards: {again}",
        o.attempts,
        first_503.map_or("-".to_owned(), |k| k.to_string())
    ));
    if !ctx.limits {
        o.verdict = Verdict::Skipped(SKIPPED);
        return o;
    }
    o.only(&["101", "503"]);
    match first_503 {
        None => o.fail("no 503"),
        Some(k) => {
            let open = k + ctx.clients;
            if open > ctx.max_conns || open + 100 < ctx.max_conns {
                o.fail(format!(
                    "the first 503 came with {open} connections open, the limit is {}",
                    ctx.max_conns
                ));
            }
        }
    }
    if again != "101" {
        o.fail(format!("afterwards an upgrade got {again}, not 101"));
    }
    o
}

#[cfg(test)]
mod tests {
    //! The limit checks against a mock server that enforces (or ignores) the limits as the
    //! daemon's configuration reference specifies them, since they cannot be tried on a daemon
    //! without the limit keys.

    use std::collections::{HashMap, VecDeque};
    use std::net::{IpAddr, TcpListener};

    use super::*;

    #[derive(Debug, Clone, Copy)]
    struct Rules {
        enforce: bool,
        per_ip: usize,
        hs_rate: usize,
        max_conns: usize,
        msg_rate: usize,
    }

    const ACCEPT: &[u8] = b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n";

    /// Per address: open upgrades at most `per_ip` (429), at most `hs_rate` requests in any
    /// second (429); at most `max_conns` upgrades in all (503); past `msg_rate` messages in a
    /// second a WebSocket is closed with 1008. Runs until `stop`.
    fn mock(rules: Rules, stop: Arc<AtomicBool>) -> u16 {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        listener.set_nonblocking(true).unwrap();
        thread::spawn(move || {
            let mut held: Vec<(IpAddr, TcpStream)> = Vec::new();
            let mut recent: HashMap<IpAddr, VecDeque<Instant>> = HashMap::new();
            while !stop.load(Ordering::Acquire) {
                let (mut s, peer) = match listener.accept() {
                    Ok(a) => a,
                    Err(_) => {
                        thread::sleep(Duration::from_millis(1));
                        continue;
                    }
                };
                s.set_nonblocking(false).unwrap();
                s.set_read_timeout(Some(Duration::from_secs(1))).unwrap();
                let mut head = Vec::new();
                let mut b = [0u8; 1024];
                while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                    match s.read(&mut b) {
                        Ok(0) | Err(_) => break,
                        Ok(n) => head.extend_from_slice(&b[..n]),
                    }
                }
                let ip = peer.ip();
                let now = Instant::now();
                let times = recent.entry(ip).or_default();
                while times
                    .front()
                    .is_some_and(|t| now - *t > Duration::from_secs(1))
                {
                    times.pop_front();
                }
                times.push_back(now);
                let mut from_ip = held.iter().filter(|(a, _)| *a == ip).count();
                if from_ip >= rules.per_ip || held.len() >= rules.max_conns {
                    // Only then: forget the upgrades the client has closed since.
                    held.retain(|(_, h)| {
                        h.set_nonblocking(true).unwrap();
                        matches!(h.peek(&mut [0u8; 1]), Err(e) if e.kind() == ErrorKind::WouldBlock)
                    });
                    from_ip = held.iter().filter(|(a, _)| *a == ip).count();
                }
                let answer: &[u8] = if !rules.enforce {
                    ACCEPT
                } else if from_ip >= rules.per_ip || times.len() > rules.hs_rate {
                    b"HTTP/1.1 429 Too Many Requests\r\nContent-Length: 0\r\n\r\n"
                } else if held.len() >= rules.max_conns {
                    b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n\r\n"
                } else {
                    ACCEPT
                };
                let _ = s.write_all(answer);
                if answer != ACCEPT {
                    continue;
                }
                if head.starts_with(b"GET /flood ") {
                    let limit = rules.msg_rate;
                    let enforce = rules.enforce;
                    thread::spawn(move || message_limiter(s, limit, enforce));
                } else {
                    held.push((ip, s));
                }
            }
        });
        port
    }

    /// Counts the client's frames; past `limit` in the first second: close 1008.
    fn message_limiter(mut s: TcpStream, limit: usize, enforce: bool) {
        let started = Instant::now();
        let mut buf = Vec::new();
        let mut b = [0u8; 65536];
        let mut frames = 0;
        s.set_read_timeout(Some(Duration::from_secs(6))).unwrap();
        while let Ok(n) = s.read(&mut b) {
            if n == 0 {
                return;
            }
            buf.extend_from_slice(&b[..n]);
            // Hand-made frames: short payloads, 2 + 4 header bytes.
            while buf.len() >= 6 && buf.len() >= 6 + usize::from(buf[1] & 0x7f) {
                let len = 6 + usize::from(buf[1] & 0x7f);
                let opcode = buf[0] & 0x0f;
                buf.drain(..len);
                if opcode == 8 {
                    let _ = s.write_all(&[0x88, 2, 0x03, 0xe8]);
                    return;
                }
                frames += 1;
            }
            if enforce && frames > limit && started.elapsed() < Duration::from_secs(1) {
                let _ = s.write_all(&[0x88, 2, 0x03, 0xf0]);
                thread::sleep(Duration::from_millis(200));
                return;
            }
        }
    }

    fn ctx(port: u16, rules: Rules) -> Ctx {
        Ctx {
            ws_port: port,
            wss_port: port,
            admin_port: port,
            limits: true,
            per_ip: rules.per_ip,
            hs_rate: rules.hs_rate,
            msg_rate: rules.msg_rate,
            max_conns: rules.max_conns,
            max_msg: 65536,
            handshake_wait: Duration::from_secs(1),
            clients: 0,
            until: Instant::now() + Duration::from_secs(30),
        }
    }

    fn against(rules: Rules, kind: fn(&Ctx) -> Outcome) -> Outcome {
        let stop = Arc::new(AtomicBool::new(false));
        let port = mock(rules, stop.clone());
        let out = kind(&ctx(port, rules));
        stop.store(true, Ordering::Release);
        out
    }

    const RULES: Rules = Rules {
        enforce: true,
        per_ip: 50,
        hs_rate: 500,
        max_conns: 300,
        msg_rate: 100,
    };

    #[test]
    fn connection_flood_sees_429_at_the_per_address_limit() {
        let out = against(RULES, conn_flood);
        assert_eq!(out.verdict, Verdict::Pass, "{out:?}");
        assert_eq!(out.count("101"), 50);
        let ignored = against(
            Rules {
                enforce: false,
                ..RULES
            },
            conn_flood,
        );
        assert!(matches!(ignored.verdict, Verdict::Fail(_)), "{ignored:?}");
    }

    #[test]
    fn handshake_burst_sees_429_past_the_rate() {
        let rules = Rules {
            per_ip: 2000,
            hs_rate: 100,
            ..RULES
        };
        let out = against(rules, hs_burst);
        assert_eq!(out.verdict, Verdict::Pass, "{out:?}");
        let ignored = against(
            Rules {
                enforce: false,
                ..rules
            },
            hs_burst,
        );
        assert!(matches!(ignored.verdict, Verdict::Fail(_)), "{ignored:?}");
    }

    #[test]
    fn global_flood_sees_503_at_max_connections() {
        let out = against(RULES, global_flood);
        assert_eq!(out.verdict, Verdict::Pass, "{out:?}");
        let ignored = against(
            Rules {
                enforce: false,
                ..RULES
            },
            global_flood,
        );
        assert!(matches!(ignored.verdict, Verdict::Fail(_)), "{ignored:?}");
    }

    #[test]
    fn message_flood_sees_1008() {
        let flood = |c: &Ctx| msg_flood_at(c, "/flood");
        let out = against(RULES, flood);
        assert_eq!(out.verdict, Verdict::Pass, "{out:?}");
        let ignored = against(
            Rules {
                enforce: false,
                ..RULES
            },
            flood,
        );
        assert!(matches!(ignored.verdict, Verdict::Fail(_)), "{ignored:?}");
    }
}
