//! `engine_ops`: a client and a server connected in memory, driven by a random sequence of API
//! calls, partial deliveries and clock ticks.
//!
//! A model predicts, from what each side sent, what the other must receive: every message
//! intact and in order, every ping, pong and close frame, and the automatic replies (pongs and
//! close echoes) that the receiving side owes. Invariants checked after every step: `consumed`
//! within the input, states only move forward (Open → CloseSent → Closed), a call that fails
//! with a `LocalError` writes nothing and changes nothing, `handle_timeout` fires exactly when
//! `poll_timeout` says, and each side's whole output is a valid frame stream for its role with
//! nothing after its close frame.

use std::collections::VecDeque;
use std::time::Duration;

use arbitrary::{Arbitrary, Unstructured};
use ws_proto::frame::apply_mask;
use ws_proto::{
    ClientOutput, CloseCode, Config, Connection, DataKind, Instant, LocalError, Output,
    ProtocolViolation, ReceiveError, Role, State, Timeout,
};

use crate::common::{Ev, check_sent_stream, parse_frames};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Arbitrary)]
pub(crate) enum Side {
    Client,
    Server,
}

impl Side {
    const fn index(self) -> usize {
        match self {
            Self::Client => 0,
            Self::Server => 1,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Arbitrary)]
pub(crate) enum Kind {
    Text,
    Binary,
}

impl From<Kind> for DataKind {
    fn from(kind: Kind) -> Self {
        match kind {
            Kind::Text => Self::Text,
            Kind::Binary => Self::Binary,
        }
    }
}

#[derive(Debug, Arbitrary)]
pub(crate) enum Op<'a> {
    /// `send` with any bytes (text that is not UTF-8 must fail the receiver with 1007).
    Send {
        from: Side,
        kind: Kind,
        payload: &'a [u8],
    },
    /// `send` of valid text.
    SendText {
        from: Side,
        text: &'a str,
    },
    /// `send_fragment`.
    Fragment {
        from: Side,
        kind: Kind,
        payload: &'a [u8],
        fin: bool,
    },
    /// `data_frame_header`, then the payload written (and masked) by the caller; with
    /// `wrong_mask` the mask key is given to a server or withheld from a client.
    Header {
        from: Side,
        kind: Kind,
        payload: &'a [u8],
        fin: bool,
        wrong_mask: bool,
    },
    Ping {
        from: Side,
        payload: &'a [u8],
    },
    Pong {
        from: Side,
        payload: &'a [u8],
    },
    Close {
        from: Side,
        code: u16,
        reason: &'a str,
    },
    /// Moves up to `len` bytes of what the other side wrote to `to`, which processes them.
    Deliver {
        to: Side,
        len: u16,
    },
    DeliverAll {
        to: Side,
    },
    /// Advances the clock, then runs `handle_timeout` on both sides.
    Advance {
        millis: u16,
    },
    /// Raw bytes into `to`'s input, as if the peer were hostile; the model of that direction
    /// stops there, the invariants still hold.
    Inject {
        to: Side,
        bytes: &'a [u8],
    },
}

#[derive(Debug, Arbitrary)]
pub(crate) struct Scenario<'a> {
    pub ping_interval_ms: Option<u16>,
    pub pong_wait_ms: u16,
    pub close_timeout_ms: u16,
    pub mask_seed: u64,
    pub ops: Vec<Op<'a>>,
}

/// What a side must see next from its peer.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Expect {
    Event(Ev),
    Error(ReceiveError),
}

/// One end of the connection with its buffers and the model of its direction.
struct Peer {
    conn: Connection,
    role: Role,
    /// Frames written and not yet delivered to the other side.
    wire: Vec<u8>,
    /// Every byte ever written, to check the whole stream at the end.
    sent: Vec<u8>,
    /// Delivered bytes not yet consumed.
    input: Vec<u8>,
    message: Vec<u8>,
    rng: u64,
    /// The fragmented message being sent: kind, bytes so far, whether text already went bad.
    sending: Option<(DataKind, Vec<u8>, bool)>,
    /// What this side must receive, in order.
    expect: VecDeque<Expect>,
    /// Raw bytes were injected into this side's input: stop checking `expect`.
    corrupted: bool,
}

fn rank(state: State) -> u8 {
    match state {
        State::Open => 0,
        State::CloseSent => 1,
        State::Closed => 2,
    }
}

fn next_key(rng: &mut u64) -> [u8; 4] {
    *rng ^= *rng << 13;
    *rng ^= *rng >> 7;
    *rng ^= *rng << 17;
    (*rng as u32).to_be_bytes()
}

impl Peer {
    fn new(role: Role, config: &Config, now: Instant, seed: u64) -> Self {
        Self {
            conn: Connection::new(role, config, now),
            role,
            wire: Vec::new(),
            sent: Vec::new(),
            input: Vec::new(),
            message: Vec::new(),
            rng: seed | 1,
            sending: None,
            expect: VecDeque::new(),
            corrupted: false,
        }
    }

    /// Runs `f` with this side's output (masked for a client) and the connection; logs what it
    /// wrote. Returns the result and the bytes written.
    fn write<R>(&mut self, f: impl FnOnce(&mut Connection, &mut dyn Output) -> R) -> (R, Vec<u8>) {
        let start = self.wire.len();
        let rng = &mut self.rng;
        let result = match self.role {
            Role::Server => f(&mut self.conn, &mut self.wire),
            Role::Client => {
                let mut out = ClientOutput {
                    buffer: &mut self.wire,
                    mask_keys: || next_key(rng),
                };
                f(&mut self.conn, &mut out)
            }
        };
        let written = self.wire[start..].to_vec();
        self.sent.extend_from_slice(&written);
        (result, written)
    }

    /// Queues what this side must receive, unless it no longer receives anything.
    fn expect(&mut self, item: Expect) {
        if self.conn.state() != State::Closed {
            self.expect.push_back(item);
        }
    }

    /// Checks what this side received against the model.
    fn received(&mut self, got: Expect) {
        if self.corrupted {
            return;
        }
        let want = self.expect.pop_front();
        assert_eq!(
            want.as_ref(),
            Some(&got),
            "{:?} received {got:?}, expected {want:?}",
            self.role
        );
    }
}

struct Pair {
    config: Config,
    now: Instant,
    peers: [Peer; 2],
}

impl Pair {
    fn split(&mut self, side: Side) -> (&mut Peer, &mut Peer) {
        let [client, server] = &mut self.peers;
        match side {
            Side::Client => (client, server),
            Side::Server => (server, client),
        }
    }

    /// A data frame sent by `from`: the model of the message it belongs to.
    fn data_sent(&mut self, from: Side, kind: DataKind, payload: &[u8], fin: bool) {
        let (me, peer) = self.split(from);
        let (kind, mut bytes, mut bad) = me.sending.take().unwrap_or((kind, Vec::new(), false));
        bytes.extend_from_slice(payload);
        if kind == DataKind::Text && !bad {
            // Invalid as soon as the bytes so far cannot start valid UTF-8 (RFC 6455 §8.1, the
            // engine fails fast); a message must also end on a code point boundary.
            let valid = match core::str::from_utf8(&bytes) {
                Ok(_) => true,
                Err(e) => !fin && e.error_len().is_none(),
            };
            if !valid {
                bad = true;
                peer.expect(Expect::Error(ProtocolViolation::InvalidUtf8.into()));
            }
        }
        if !fin {
            me.sending = Some((kind, bytes, bad));
        } else if !bad {
            peer.expect(Expect::Event(Ev::Msg(kind, bytes)));
        }
    }

    /// Checks a `LocalError`-or-not outcome against the prediction; a failed call must write
    /// nothing and leave the state alone.
    fn api_result(
        &mut self,
        from: Side,
        what: &str,
        result: Result<(), LocalError>,
        written: &[u8],
        before: State,
        ok: bool,
    ) -> bool {
        let me = &self.peers[from.index()];
        match result {
            Ok(()) => {
                assert!(ok, "{:?} {what}: succeeded, expected an error", me.role);
                assert_eq!(parse_frames(written).len(), 1, "{what}: not one frame");
                true
            }
            Err(err) => {
                assert!(!ok, "{:?} {what}: {err:?}", me.role);
                assert!(written.is_empty(), "{what}: {err:?} but wrote {written:?}");
                assert_eq!(me.conn.state(), before, "{what}: {err:?} changed the state");
                false
            }
        }
    }

    fn apply(&mut self, op: Op<'_>) {
        match op {
            Op::Send {
                from,
                kind,
                payload,
            } => self.send(from, kind.into(), payload),
            Op::SendText { from, text } => self.send(from, DataKind::Text, text.as_bytes()),
            Op::Fragment {
                from,
                kind,
                payload,
                fin,
            } => {
                let kind = DataKind::from(kind);
                let me = &mut self.peers[from.index()];
                let before = me.conn.state();
                let ok = before == State::Open && me.sending.as_ref().is_none_or(|s| s.0 == kind);
                let (r, w) = me.write(|c, o| c.send_fragment(kind, payload, fin, o));
                if self.api_result(from, "send_fragment", r, &w, before, ok) {
                    self.data_sent(from, kind, payload, fin);
                }
            }
            Op::Header {
                from,
                kind,
                payload,
                fin,
                wrong_mask,
            } => {
                let kind = DataKind::from(kind);
                let me = &mut self.peers[from.index()];
                let before = me.conn.state();
                let ok = before == State::Open
                    && !wrong_mask
                    && me.sending.as_ref().is_none_or(|s| s.0 == kind);
                let key = (me.role == Role::Client) != wrong_mask;
                let key = key.then(|| next_key(&mut me.rng));
                let len = payload.len() as u64;
                match me.conn.data_frame_header(kind, fin, len, key) {
                    Ok(header) => {
                        assert!(ok, "data_frame_header succeeded, expected an error");
                        let mut body = payload.to_vec();
                        if let Some(key) = key {
                            apply_mask(&mut body, key, 0);
                        }
                        for bytes in [header.as_bytes(), &body] {
                            me.wire.extend_from_slice(bytes);
                            me.sent.extend_from_slice(bytes);
                        }
                        self.data_sent(from, kind, payload, fin);
                    }
                    Err(err) => {
                        assert!(!ok, "data_frame_header: {err:?}");
                        assert_eq!(me.conn.state(), before);
                    }
                }
            }
            Op::Ping { from, payload } => self.control(from, 0x9, payload),
            Op::Pong { from, payload } => self.control(from, 0xa, payload),
            Op::Close { from, code, reason } => {
                let (config, now) = (self.config.clone(), self.now);
                let me = &mut self.peers[from.index()];
                let before = me.conn.state();
                let code = CloseCode(code);
                let ok = before == State::Open && code.is_valid_on_wire() && reason.len() <= 123;
                let (r, w) = me.write(|c, o| c.close(&config, now, code, reason, o));
                if self.api_result(from, "close", r, &w, before, ok) {
                    let (me, peer) = self.split(from);
                    assert_eq!(me.conn.state(), State::CloseSent);
                    let deadline = now.saturating_add(config.close_timeout);
                    assert_eq!(me.conn.poll_timeout(), Some(deadline));
                    assert!(!me.conn.can_send_data());
                    peer.expect(Expect::Event(Ev::Close(Some(code.0), reason.into())));
                }
            }
            Op::Deliver { to, len } => self.deliver(to, usize::from(len)),
            Op::DeliverAll { to } => self.deliver(to, usize::MAX),
            Op::Advance { millis } => {
                self.now = self
                    .now
                    .saturating_add(Duration::from_millis(u64::from(millis)));
                for side in [Side::Client, Side::Server] {
                    self.tick(side);
                }
            }
            Op::Inject { to, bytes } => {
                let me = &mut self.peers[to.index()];
                me.corrupted = true;
                me.input.extend_from_slice(bytes);
                self.pump(to);
            }
        }
    }

    fn send(&mut self, from: Side, kind: DataKind, payload: &[u8]) {
        let me = &mut self.peers[from.index()];
        let before = me.conn.state();
        let ok = before == State::Open && me.sending.is_none();
        let (r, w) = me.write(|c, o| c.send(kind, payload, o));
        if self.api_result(from, "send", r, &w, before, ok) {
            self.data_sent(from, kind, payload, true);
        }
    }

    fn control(&mut self, from: Side, opcode: u8, payload: &[u8]) {
        let me = &mut self.peers[from.index()];
        let before = me.conn.state();
        let ok = before == State::Open && payload.len() <= 125;
        let (r, w) = me.write(|c, o| match opcode {
            0x9 => c.send_ping(payload, o),
            _ => c.send_pong(payload, o),
        });
        if self.api_result(from, "control", r, &w, before, ok) {
            let event = match opcode {
                0x9 => Ev::Ping(payload.to_vec()),
                _ => Ev::Pong(payload.to_vec()),
            };
            self.split(from).1.expect(Expect::Event(event));
        }
    }

    /// Moves up to `len` bytes from the other side's output into `to`'s input.
    fn deliver(&mut self, to: Side, len: usize) {
        let (me, peer) = self.split(to);
        let n = len.min(peer.wire.len());
        me.input.extend(peer.wire.drain(..n));
        self.pump(to);
    }

    /// Lets `to` process its input until it stalls.
    fn pump(&mut self, to: Side) {
        let (config, now) = (self.config.clone(), self.now);
        loop {
            let (me, peer) = self.split(to);
            let before = me.conn.state();
            let len = me.input.len();
            let start = me.wire.len();
            let rng = &mut me.rng;
            let (input, message) = (&mut me.input, &mut me.message);
            let result = match me.role {
                Role::Server => me.conn.receive(&config, now, input, message, &mut me.wire),
                Role::Client => {
                    let mut out = ClientOutput {
                        buffer: &mut me.wire,
                        mask_keys: || next_key(rng),
                    };
                    me.conn.receive(&config, now, input, message, &mut out)
                }
            };
            let result = result.map(|r| (r.consumed, r.is_stalled(), r.event.map(Ev::own)));
            let written = me.wire[start..].to_vec();
            me.sent.extend_from_slice(&written);
            let after = me.conn.state();
            assert!(
                rank(after) >= rank(before),
                "{:?}: {before:?} -> {after:?}",
                me.role
            );
            match result {
                Ok((consumed, stalled, event)) => {
                    assert!(consumed <= len, "consumed {consumed} of {len} bytes");
                    assert!(
                        event.is_none() || consumed > 0,
                        "event {event:?} from no bytes"
                    );
                    if before == State::Closed {
                        assert_eq!(
                            (consumed, &event),
                            (len, &None),
                            "input after close not discarded"
                        );
                    }
                    let reply = match &event {
                        Some(Ev::Ping(p)) if before == State::Open => Some(Ev::Pong(p.clone())),
                        Some(Ev::Close(code, _)) if before == State::Open => {
                            Some(Ev::Close(*code, String::new()))
                        }
                        _ => None,
                    };
                    match &event {
                        Some(Ev::Close(..)) => assert_eq!(after, State::Closed),
                        _ => assert_eq!(after, before, "state changed without a close"),
                    }
                    check_written(&written, reply.as_ref());
                    if let Some(reply) = reply {
                        peer.expect(Expect::Event(reply));
                    }
                    if let Some(event) = event {
                        me.received(Expect::Event(event));
                    }
                    me.input.drain(..consumed);
                    if after == State::Closed {
                        me.expect.clear();
                    }
                    if stalled {
                        break;
                    }
                }
                Err(err) => {
                    assert_eq!(after, State::Closed, "{err:?} left the connection open");
                    assert_ne!(before, State::Closed, "an error after close");
                    // Fail the connection: a close frame with the error's code, unless ours was
                    // sent already (RFC 6455 §7.1.7).
                    let reply = (before == State::Open)
                        .then(|| Ev::Close(Some(err.close_code().0), String::new()));
                    check_written(&written, reply.as_ref());
                    if let Some(reply) = reply {
                        peer.expect(Expect::Event(reply));
                    }
                    me.received(Expect::Error(err));
                    me.expect.clear();
                    me.input.clear();
                    break;
                }
            }
        }
    }

    /// Runs `side`'s timers at the current time.
    fn tick(&mut self, side: Side) {
        let (config, now) = (self.config.clone(), self.now);
        let (me, peer) = self.split(side);
        let before = me.conn.state();
        let due = me
            .conn
            .poll_timeout()
            .is_some_and(|deadline| now >= deadline);
        if before == State::Closed {
            assert_eq!(
                me.conn.poll_timeout(),
                None,
                "a timer on a closed connection"
            );
        }
        let (fired, written) = me.write(|c, o| c.handle_timeout(&config, now, o));
        assert_eq!(fired.is_some(), due, "handle_timeout: {fired:?} at {now:?}");
        let after = me.conn.state();
        let reply = match fired {
            None => {
                assert_eq!(after, before);
                None
            }
            Some(Timeout::PingSent) => {
                assert_eq!((before, after), (State::Open, State::Open));
                let deadline = now.saturating_add(config.pong_wait);
                assert_eq!(me.conn.poll_timeout(), Some(deadline));
                Some(Ev::Ping(Vec::new()))
            }
            Some(Timeout::PongMissing) => {
                assert_eq!((before, after), (State::Open, State::Closed));
                Some(Ev::Close(Some(CloseCode::INTERNAL_ERROR.0), String::new()))
            }
            Some(Timeout::CloseHandshake) => {
                assert_eq!((before, after), (State::CloseSent, State::Closed));
                None
            }
            Some(other) => panic!("unknown timeout {other:?}"),
        };
        check_written(&written, reply.as_ref());
        if let Some(reply) = reply {
            peer.expect(Expect::Event(reply));
        }
        if after == State::Closed {
            me.expect.clear();
            assert_eq!(me.conn.poll_timeout(), None);
        }
    }
}

/// `written` is exactly the frame that `event` describes, or nothing.
fn check_written(written: &[u8], event: Option<&Ev>) {
    let frames = parse_frames(written);
    let frame = match event {
        None => {
            assert!(frames.is_empty(), "unexpected output {frames:?}");
            return;
        }
        Some(event) => {
            let [frame] = frames.as_slice() else {
                panic!("{event:?}: wrote {frames:?}")
            };
            frame
        }
    };
    let (opcode, payload) = match event {
        Some(Ev::Ping(p)) => (0x9, p.clone()),
        Some(Ev::Pong(p)) => (0xa, p.clone()),
        Some(Ev::Close(code, reason)) => {
            let mut payload = code.map(|c| c.to_be_bytes().to_vec()).unwrap_or_default();
            payload.extend_from_slice(reason.as_bytes());
            (0x8, payload)
        }
        _ => unreachable!("only control frames are written automatically"),
    };
    assert_eq!(
        (frame.opcode, frame.fin, &frame.payload),
        (opcode, true, &payload)
    );
}

pub fn engine_ops(data: &[u8]) {
    let Ok(scenario) = Scenario::arbitrary_take_rest(Unstructured::new(data)) else {
        return;
    };
    let millis = |ms: u16| Duration::from_millis(u64::from(ms));
    let config = Config {
        ping_interval: scenario.ping_interval_ms.map(millis),
        pong_wait: millis(scenario.pong_wait_ms),
        close_timeout: millis(scenario.close_timeout_ms),
        ..Config::default()
    };
    let now = Instant::from_nanos(1_000_000_000);
    let peers = [
        Peer::new(Role::Client, &config, now, scenario.mask_seed),
        Peer::new(Role::Server, &config, now, !scenario.mask_seed),
    ];
    let mut pair = Pair { config, now, peers };
    for op in scenario.ops {
        let states = pair.peers.each_ref().map(|p| p.conn.state());
        pair.apply(op);
        for (peer, before) in pair.peers.iter().zip(states) {
            let after = peer.conn.state();
            assert!(
                rank(after) >= rank(before),
                "{:?}: {before:?} -> {after:?}",
                peer.role
            );
            assert_eq!(peer.conn.can_send_data(), after == State::Open);
        }
    }
    // Deliver everything still in flight (replies may cause replies, a few rounds at most).
    for _ in 0..8 {
        if pair.peers.iter().all(|p| p.wire.is_empty()) {
            break;
        }
        pair.deliver(Side::Client, usize::MAX);
        pair.deliver(Side::Server, usize::MAX);
    }
    for peer in &pair.peers {
        assert!(peer.wire.is_empty(), "replies never settled");
        // Whatever was sent but not received yet is what the model still expects.
        if !peer.corrupted && peer.conn.state() != State::Closed {
            assert!(
                peer.expect.is_empty(),
                "{:?} never received {:?}",
                peer.role,
                peer.expect
            );
        }
        check_sent_stream(&peer.sent, peer.role == Role::Client);
    }
}
