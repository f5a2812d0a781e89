//! One test per rule, citing RFC 6455. Frames are built by hand so the decoder is checked against
//! the RFC's bytes, not against our own encoder.

extern crate std;

use std::string::String;
use std::vec::Vec;

use super::*;
use crate::buffer::{ClientOutput, SliceBuffer};
use crate::error::LocalError;

const KEY: [u8; 4] = [0x37, 0xfa, 0x21, 0x3d];

/// A client→server frame: `b0` is FIN/RSV/opcode, the payload is masked with `KEY`.
fn masked(b0: u8, payload: &[u8]) -> Vec<u8> {
    let header = FrameHeader {
        fin: b0 & 0x80 != 0,
        rsv: (b0 >> 4) & 7,
        opcode: Opcode::from_bits(b0 & 0xF).unwrap(),
        mask: Some(KEY),
        payload_len: payload.len() as u64,
    };
    let mut frame = header.encode().as_bytes().to_vec();
    let start = frame.len();
    frame.extend_from_slice(payload);
    frame::apply_mask(&mut frame[start..], KEY, 0);
    frame
}

/// A server→client frame (unmasked, short payload).
fn unmasked(b0: u8, payload: &[u8]) -> Vec<u8> {
    let mut frame = std::vec![b0, payload.len() as u8];
    frame.extend_from_slice(payload);
    frame
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Ev {
    Msg(DataKind, Vec<u8>),
    Ping(Vec<u8>),
    Pong(Vec<u8>),
    Close(Option<u16>, String),
    Compressed(DataKind, Vec<u8>),
}

fn own(event: Event<'_>) -> Ev {
    match event {
        Event::Message { kind, payload } => Ev::Msg(kind, payload.to_vec()),
        Event::Ping(p) => Ev::Ping(p.to_vec()),
        Event::Pong(p) => Ev::Pong(p.to_vec()),
        Event::Close(c) => Ev::Close(c.code.map(|c| c.0), c.reason.into()),
        Event::Compressed { kind, payload } => Ev::Compressed(kind, payload.to_vec()),
    }
}

/// Feeds `bytes` in `chunk`-sized reads; returns the events, the first error and the output.
struct Driver {
    conn: Connection,
    config: Config,
    pending: Vec<u8>,
    message: Vec<u8>,
    out: Vec<u8>,
}

impl Driver {
    fn new(role: Role) -> Self {
        Self::with_config(role, Config::default())
    }

    fn with_config(role: Role, config: Config) -> Self {
        let conn = Connection::new(role, &config, Instant::from_nanos(0));
        Self {
            conn,
            config,
            pending: Vec::new(),
            message: Vec::new(),
            out: Vec::new(),
        }
    }

    fn feed(&mut self, bytes: &[u8], chunk: usize) -> (Vec<Ev>, Option<ReceiveError>) {
        let mut events = Vec::new();
        for piece in bytes.chunks(chunk.max(1)) {
            self.pending.extend_from_slice(piece);
            loop {
                let mut keys = || [9, 8, 7, 6];
                let mut out = ClientOutput {
                    buffer: &mut self.out,
                    mask_keys: &mut keys,
                };
                let now = Instant::from_nanos(1);
                let result = self.conn.receive(
                    &self.config,
                    now,
                    &mut self.pending,
                    &mut self.message,
                    &mut out,
                );
                match result {
                    Ok(received) => {
                        let consumed = received.consumed;
                        let stalled = received.is_stalled();
                        if let Some(event) = received.event {
                            events.push(own(event));
                        }
                        self.pending.drain(..consumed);
                        if stalled {
                            break;
                        }
                    }
                    Err(err) => return (events, Some(err)),
                }
            }
        }
        (events, None)
    }

    fn feed_all(&mut self, bytes: &[u8]) -> (Vec<Ev>, Option<ReceiveError>) {
        self.feed(bytes, usize::MAX)
    }

    /// The close code of the (unmasked, server-sent) close frame at the end of the output.
    fn sent_close_code(&self) -> Option<u16> {
        let out = &self.out;
        let at = out.windows(2).rposition(|w| w[0] == 0x88)?;
        let len = usize::from(out[at + 1]);
        (len >= 2).then(|| u16::from_be_bytes([out[at + 2], out[at + 3]]))
    }
}

fn assert_fails(role: Role, bytes: &[u8], expected: ReceiveError) {
    for chunk in [1, 3, usize::MAX] {
        let mut d = Driver::new(role);
        let (_, err) = d.feed(bytes, chunk);
        assert_eq!(err, Some(expected), "chunk {chunk}");
        assert_eq!(d.conn.state(), State::Closed);
        if role == Role::Server {
            assert_eq!(d.sent_close_code(), Some(expected.close_code().0));
        }
    }
}

#[test]
fn engine_state_is_small() {
    assert!(
        core::mem::size_of::<Connection>() <= 64,
        "{}",
        core::mem::size_of::<Connection>()
    );
}

// §5.7: a single-frame masked text message, handed out in place.
#[test]
fn single_frame_is_zero_copy() {
    let mut conn = Connection::new(Role::Server, &Config::default(), Instant::default());
    let mut input = std::vec![
        0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58
    ];
    let range = input.as_ptr_range();
    let (mut message, mut out) = (Vec::new(), Vec::new());
    let r = conn
        .receive(
            &Config::default(),
            Instant::default(),
            &mut input,
            &mut message,
            &mut out,
        )
        .unwrap();
    assert_eq!(r.consumed, 11);
    let Some(Event::Message {
        kind: DataKind::Text,
        payload,
    }) = r.event
    else {
        panic!()
    };
    assert_eq!(payload, b"Hello");
    assert!(
        range.contains(&payload.as_ptr()),
        "payload must point into the input"
    );
    assert!(message.is_empty() && out.is_empty());
}

// §5.4, §5.7: a fragmented unmasked text message, in any split of the input.
#[test]
fn fragmented_message_in_any_split() {
    let bytes = [0x01, 0x03, 0x48, 0x65, 0x6c, 0x80, 0x02, 0x6c, 0x6f];
    for chunk in 1..=bytes.len() {
        let mut d = Driver::new(Role::Client);
        let (events, err) = d.feed(&bytes, chunk);
        assert_eq!(err, None);
        assert_eq!(events, [Ev::Msg(DataKind::Text, b"Hello".to_vec())]);
    }
}

// §5.5.2, §5.5.3: a ping is answered with a pong carrying the same payload.
#[test]
fn ping_gets_a_pong_with_the_same_payload() {
    let mut d = Driver::new(Role::Server);
    let (events, err) = d.feed_all(&masked(0x89, b"Hello"));
    assert_eq!(
        (events, err),
        (std::vec![Ev::Ping(b"Hello".to_vec())], None)
    );
    assert_eq!(d.out, [0x8a, 0x05, b'H', b'e', b'l', b'l', b'o']);

    // The client's pong is masked (§5.3) with a key from its output.
    let mut d = Driver::new(Role::Client);
    d.feed_all(&unmasked(0x89, b"Hi"));
    assert_eq!(d.out[..2], [0x8a, 0x82]);
    assert_eq!(d.out[2..6], [9, 8, 7, 6]);
    let mut payload = d.out[6..].to_vec();
    frame::apply_mask(&mut payload, [9, 8, 7, 6], 0);
    assert_eq!(payload, b"Hi");
}

// §5.4: control frames may be injected in the middle of a fragmented message; they are
// delivered in order and the message is reassembled around them.
#[test]
fn control_frames_inside_a_fragmented_message() {
    let mut bytes = masked(0x01, b"Hel");
    bytes.extend(masked(0x89, b"p"));
    bytes.extend(masked(0x8A, b"q"));
    bytes.extend(masked(0x80, b"lo"));
    for chunk in [1, 2, 5, usize::MAX] {
        let mut d = Driver::new(Role::Server);
        let (events, err) = d.feed(&bytes, chunk);
        assert_eq!(err, None);
        assert_eq!(
            events,
            [
                Ev::Ping(b"p".to_vec()),
                Ev::Pong(b"q".to_vec()),
                Ev::Msg(DataKind::Text, b"Hello".to_vec())
            ]
        );
    }
}

// §5.2: RSV1–3 must be 0 unless an extension defines them.
#[test]
fn reserved_bits() {
    for rsv in [0x40, 0x20, 0x10, 0x70] {
        let bits = rsv >> 4;
        assert_fails(
            Role::Server,
            &masked(0x81 | rsv, b"x"),
            MalformedFrame::ReservedBits(bits).into(),
        );
    }
}

// §5.2: reserved opcodes fail the connection.
#[test]
fn reserved_opcodes() {
    for op in [3u8, 7, 0xB, 0xF] {
        let bytes = [0x80 | op, 0x80, 1, 2, 3, 4];
        assert_fails(
            Role::Server,
            &bytes,
            MalformedFrame::ReservedOpcode(op).into(),
        );
    }
}

// §5.5: control frames have at most 125 payload bytes and are never fragmented.
#[test]
fn control_frame_limits() {
    assert_fails(
        Role::Server,
        &masked(0x89, &[0; 126]),
        MalformedFrame::ControlFrameTooLong(126).into(),
    );
    assert_fails(
        Role::Server,
        &masked(0x09, b""),
        MalformedFrame::FragmentedControlFrame.into(),
    );
    let mut d = Driver::new(Role::Server);
    assert_eq!(d.feed_all(&masked(0x89, &[7; 125])).1, None);
}

// §5.1: a server closes on an unmasked frame, a client on a masked one.
#[test]
fn masking_by_role() {
    assert_fails(
        Role::Server,
        &unmasked(0x81, b"hi"),
        MalformedFrame::UnmaskedClientFrame.into(),
    );
    assert_fails(
        Role::Client,
        &masked(0x81, b"hi"),
        MalformedFrame::MaskedServerFrame.into(),
    );
}

// §5.2: the most significant bit of a 64-bit length must be 0.
#[test]
fn huge_length() {
    let bytes = [0x82, 0xFF, 0x80, 0, 0, 0, 0, 0, 0, 1, 1, 2, 3, 4];
    assert_fails(Role::Server, &bytes, MalformedFrame::LengthTopBitSet.into());
}

// §5.4: a continuation needs a started message, and a started message needs continuations.
#[test]
fn fragmentation_sequence() {
    assert_fails(
        Role::Server,
        &masked(0x80, b"x"),
        ProtocolViolation::UnexpectedContinuation.into(),
    );
    let mut bytes = masked(0x01, b"a");
    bytes.extend(masked(0x81, b"b"));
    assert_fails(
        Role::Server,
        &bytes,
        ProtocolViolation::ExpectedContinuation.into(),
    );
    let mut bytes = masked(0x02, b"a");
    bytes.extend(masked(0x02, b"b"));
    assert_fails(
        Role::Server,
        &bytes,
        ProtocolViolation::ExpectedContinuation.into(),
    );
}

// §8.1: invalid UTF-8 in text fails with 1007.
#[test]
fn invalid_utf8_in_a_single_frame() {
    assert_fails(
        Role::Server,
        &masked(0x81, b"ok\xff"),
        ProtocolViolation::InvalidUtf8.into(),
    );
    // Binary messages carry any bytes.
    let mut d = Driver::new(Role::Server);
    assert_eq!(d.feed_all(&masked(0x82, b"\xff")).1, None);
}

// §8.1: validation is incremental and fails as soon as the text can no longer be valid, even
// in the first fragment of a message that has not ended.
#[test]
fn invalid_utf8_fails_fast_inside_fragments() {
    let mut d = Driver::new(Role::Server);
    let (events, err) = d.feed_all(&masked(0x01, b"\xce\xba\xe1\xbd"));
    assert_eq!((events.len(), err), (0, None), "a valid prefix is accepted");
    let (_, err) = d.feed_all(&masked(0x00, b"\xb9\xcf\x83\xed\xa0\x80"));
    assert_eq!(
        err,
        Some(ProtocolViolation::InvalidUtf8.into()),
        "surrogate in a non-final fragment"
    );

    // Inside one frame that has only partly arrived: the bad byte is enough.
    let frame = masked(0x81, &[b"abc\xf4\x90".as_slice(), &[b'a'; 100]].concat());
    let mut d = Driver::new(Role::Server);
    let (_, err) = d.feed_all(&frame[..6 + 2 + 5]);
    assert_eq!(err, Some(ProtocolViolation::InvalidUtf8.into()));
}

// §8.1: a message that ends inside a code point is invalid.
#[test]
fn utf8_truncated_at_message_end() {
    let mut bytes = masked(0x01, b"\xe2\x82");
    bytes.extend(masked(0x80, b""));
    assert_fails(Role::Server, &bytes, ProtocolViolation::InvalidUtf8.into());
    // A code point split across fragments is fine.
    let mut bytes = masked(0x01, b"\xe2\x82");
    bytes.extend(masked(0x80, b"\xac"));
    let mut d = Driver::new(Role::Server);
    assert_eq!(d.feed_all(&bytes).0, [Ev::Msg(DataKind::Text, "€".into())]);
}

// §5.5.1, §7.4: close payload rules.
#[test]
fn close_frame_validation() {
    assert_fails(
        Role::Server,
        &masked(0x88, b"\x03"),
        MalformedFrame::CloseFrameOneByte.into(),
    );
    for code in [0u16, 999, 1004, 1005, 1006, 1015, 1016, 2999, 5000] {
        let bytes = masked(0x88, &code.to_be_bytes());
        assert_fails(
            Role::Server,
            &bytes,
            MalformedFrame::InvalidCloseCode(code).into(),
        );
    }
    assert_fails(
        Role::Server,
        &masked(0x88, b"\x03\xe8\xc0\xaf"),
        ProtocolViolation::InvalidUtf8CloseReason.into(),
    );
}

// §5.5.1: a received close is answered with a close echoing its code; then nothing is sent.
#[test]
fn peer_initiated_close_is_echoed() {
    for code in [1000u16, 1001, 3000, 4999] {
        let mut d = Driver::new(Role::Server);
        let mut payload = code.to_be_bytes().to_vec();
        payload.extend_from_slice("bye ☺".as_bytes());
        let (events, err) = d.feed_all(&masked(0x88, &payload));
        assert_eq!(err, None);
        assert_eq!(events, [Ev::Close(Some(code), "bye ☺".into())]);
        assert_eq!(d.out, [&[0x88, 2][..], &code.to_be_bytes()].concat());
        assert_eq!(d.conn.state(), State::Closed);
        assert!(!d.conn.can_send_data());
        assert_eq!(
            d.conn.send(DataKind::Text, b"late", &mut d.out),
            Err(LocalError::SendAfterClose)
        );
        // Whatever follows the close is discarded.
        let (events, err) = d.feed_all(&masked(0x81, b"after"));
        assert_eq!((events.len(), err), (0, None));
    }
    // An empty close gets an empty reply.
    let mut d = Driver::new(Role::Server);
    assert_eq!(
        d.feed_all(&masked(0x88, b"")).0,
        [Ev::Close(None, String::new())]
    );
    assert_eq!(d.out, [0x88, 0]);
}

// §7.1.2, §7.1.3: our close waits for the peer's; data still arrives meanwhile; a deadline
// the caller drives ends the wait.
#[test]
fn locally_initiated_close() {
    let config = Config::default();
    let mut d = Driver::new(Role::Server);
    let t0 = Instant::from_nanos(1_000);
    d.conn
        .close(&config, t0, CloseCode(4000), "done", &mut d.out)
        .unwrap();
    assert_eq!(d.out, [&[0x88, 6, 0x0f, 0xa0][..], b"done"].concat());
    assert_eq!(d.conn.state(), State::CloseSent);
    assert_eq!(
        d.conn.poll_timeout(),
        Some(t0.saturating_add(config.close_timeout))
    );
    assert_eq!(
        d.conn.send_ping(b"", &mut d.out),
        Err(LocalError::SendAfterClose)
    );

    // Data is still delivered; a ping is not answered any more.
    d.out.clear();
    let mut bytes = masked(0x82, b"in flight");
    bytes.extend(masked(0x89, b""));
    bytes.extend(masked(0x88, b"\x0f\xa0"));
    let (events, err) = d.feed_all(&bytes);
    assert_eq!(err, None);
    assert_eq!(events[0], Ev::Msg(DataKind::Binary, b"in flight".to_vec()));
    assert_eq!(events[2], Ev::Close(Some(4000), String::new()));
    assert!(d.out.is_empty(), "nothing is sent after our close");
    assert_eq!(d.conn.state(), State::Closed);

    // Without an answer, the deadline closes.
    let mut d = Driver::new(Role::Server);
    d.conn
        .close(&config, t0, CloseCode::NORMAL, "", &mut d.out)
        .unwrap();
    let deadline = d.conn.poll_timeout().unwrap();
    let early = Instant::from_nanos(deadline.as_nanos() - 1);
    assert_eq!(d.conn.handle_timeout(&config, early, &mut d.out), None);
    assert_eq!(
        d.conn.handle_timeout(&config, deadline, &mut d.out),
        Some(Timeout::CloseHandshake)
    );
    assert_eq!(d.conn.state(), State::Closed);
    assert_eq!(d.conn.poll_timeout(), None);
}

#[test]
fn close_arguments_are_checked() {
    let config = Config::default();
    let mut d = Driver::new(Role::Server);
    let now = Instant::default();
    let long = "x".repeat(124);
    assert_eq!(
        d.conn.close(&config, now, CloseCode(1005), "", &mut d.out),
        Err(LocalError::InvalidCloseCode)
    );
    assert_eq!(
        d.conn
            .close(&config, now, CloseCode(1000), &long, &mut d.out),
        Err(LocalError::ControlPayloadTooLong)
    );
    assert!(d.out.is_empty() && d.conn.can_send_data());
}

// §7.4.1 / §10.4: 1009 for messages over the limit, before anything is buffered.
#[test]
fn message_size_limit() {
    let config = Config::default().with_max_message_size(10);
    let mut d = Driver::with_config(Role::Server, config.clone());
    assert_eq!(d.feed_all(&masked(0x82, &[0; 10])).1, None);
    let mut d = Driver::with_config(Role::Server, config.clone());
    let frame = masked(0x82, &[0; 11]);
    let (_, err) = d.feed_all(&frame[..8]);
    assert_eq!(
        err,
        Some(LimitExceeded::MessageTooLarge { size: 11, max: 10 }.into())
    );
    assert_eq!(d.sent_close_code(), Some(1009));
    // Across fragments (the chain limit, 1.1 × 10 bytes, is moved out of the way: headers
    // dominate such tiny fragments).
    let mut bytes = masked(0x02, &[0; 6]);
    bytes.extend(masked(0x80, &[0; 5]));
    let config = Config {
        max_frame_chain_size: 1000,
        ..config
    };
    let mut d = Driver::with_config(Role::Server, config);
    let (_, err) = d.feed_all(&bytes);
    assert_eq!(
        err,
        Some(LimitExceeded::MessageTooLarge { size: 11, max: 10 }.into())
    );
    assert_eq!(
        d.message.len(),
        6,
        "the oversized fragment was not buffered"
    );
}

// Many tiny fragments cost headers: the frame-chain limit bounds them (1009).
#[test]
fn frame_chain_limit() {
    let config = Config {
        max_frame_chain_size: 40,
        ..Config::default()
    };
    let mut bytes = Vec::new();
    for _ in 0..6 {
        bytes.extend(masked(0x00, b"a")); // 7 wire bytes each
    }
    let mut start = masked(0x01, b"a");
    start.extend(bytes);
    let mut d = Driver::with_config(Role::Server, config.clone());
    let (_, err) = d.feed_all(&start);
    assert_eq!(
        err,
        Some(LimitExceeded::FrameChainTooLarge { size: 42, max: 40 }.into())
    );

    // Lone control frames and single-frame messages are not chains.
    let mut d = Driver::with_config(Role::Server, config);
    let mut bytes = masked(0x89, &[0; 125]);
    bytes.extend(masked(0x82, &[0; 100]));
    let (events, err) = d.feed_all(&bytes);
    assert_eq!((events.len(), err), (2, None));
}

#[test]
fn fixed_message_buffer_that_fills_up() {
    let config = Config::default();
    let mut conn = Connection::new(Role::Server, &config, Instant::default());
    let mut storage = [0u8; 4];
    let mut message = SliceBuffer::new(&mut storage);
    let mut input = masked(0x01, b"hello");
    let mut out = Vec::new();
    let err = conn.receive(
        &config,
        Instant::default(),
        &mut input,
        &mut message,
        &mut out,
    );
    assert_eq!(err, Err(LimitExceeded::MessageBufferFull.into()));
}

// A fixed output without room for a pong stalls the ping until the caller drains it.
#[test]
fn ping_waits_for_output_room() {
    let config = Config::default();
    let mut conn = Connection::new(Role::Server, &config, Instant::default());
    let mut storage = [0u8; 200];
    let mut out = SliceBuffer::new(&mut storage);
    out.try_extend_from_slice(&[0; 100]).unwrap();
    let mut input = masked(0x89, b"x");
    let mut message = Vec::new();
    let r = conn
        .receive(
            &config,
            Instant::default(),
            &mut input,
            &mut message,
            &mut out,
        )
        .unwrap();
    assert!(r.is_stalled());
    out.clear();
    let r = conn
        .receive(
            &config,
            Instant::default(),
            &mut input,
            &mut message,
            &mut out,
        )
        .unwrap();
    assert_eq!(r.event, Some(Event::Ping(b"x")));
    assert_eq!(out.as_slice(), [0x8a, 1, b'x']);
}

// Keepalive: a ping after `ping_interval` of silence, failure with 1011 after `pong_wait`.
#[test]
fn keepalive() {
    let second = Duration::from_secs(1);
    let config = Config {
        ping_interval: Some(30 * second),
        pong_wait: 10 * second,
        ..Config::default()
    };
    let at = |s: u64| Instant::from_nanos(s * 1_000_000_000);
    let mut conn = Connection::new(Role::Server, &config, at(0));
    let mut out = Vec::new();
    assert_eq!(conn.poll_timeout(), Some(at(30)));
    // Data postpones the ping.
    let mut input = masked(0x8A, b"");
    let mut message = Vec::new();
    let _ = conn
        .receive(&config, at(20), &mut input, &mut message, &mut out)
        .unwrap();
    assert_eq!(conn.poll_timeout(), Some(at(50)));
    assert_eq!(conn.handle_timeout(&config, at(49), &mut out), None);
    assert_eq!(
        conn.handle_timeout(&config, at(50), &mut out),
        Some(Timeout::PingSent)
    );
    assert_eq!(out, [0x89, 0]);
    assert_eq!(conn.poll_timeout(), Some(at(60)));
    // An answer re-arms the idle timer ...
    let mut input = masked(0x8A, b"");
    let _ = conn
        .receive(&config, at(55), &mut input, &mut message, &mut out)
        .unwrap();
    assert_eq!(conn.poll_timeout(), Some(at(85)));
    // ... silence fails the connection.
    out.clear();
    assert_eq!(
        conn.handle_timeout(&config, at(85), &mut out),
        Some(Timeout::PingSent)
    );
    assert_eq!(
        conn.handle_timeout(&config, at(95), &mut out),
        Some(Timeout::PongMissing)
    );
    assert_eq!(out[2..], [0x88, 2, 0x03, 0xf3]);
    assert_eq!(conn.state(), State::Closed);
}

// §5.3: clients mask every frame with a fresh key; servers never mask.
#[test]
fn sending_by_role() {
    let config = Config::default();
    let mut server = Connection::new(Role::Server, &config, Instant::default());
    let mut out = Vec::new();
    server.send(DataKind::Text, b"hi", &mut out).unwrap();
    assert_eq!(out, [0x81, 2, b'h', b'i']);
    assert_eq!(
        server.data_frame_header(DataKind::Text, true, 1, Some(KEY)),
        Err(LocalError::UnexpectedMaskKey)
    );

    let mut client = Connection::new(Role::Client, &config, Instant::default());
    let mut plain = Vec::new();
    assert_eq!(
        client.send(DataKind::Binary, b"x", &mut plain),
        Err(LocalError::MissingMaskKey)
    );
    let mut keys = [[1, 2, 3, 4], [5, 6, 7, 8]].into_iter().cycle();
    let mut out = ClientOutput {
        buffer: &mut plain,
        mask_keys: || keys.next().unwrap(),
    };
    client.send(DataKind::Binary, &[0; 300], &mut out).unwrap();
    client.send(DataKind::Binary, b"", &mut out).unwrap();
    let mut d = Driver::new(Role::Server);
    let (events, err) = d.feed(&plain, 7);
    assert_eq!(err, None);
    assert_eq!(
        events,
        [
            Ev::Msg(DataKind::Binary, std::vec![0; 300]),
            Ev::Msg(DataKind::Binary, Vec::new())
        ]
    );
    assert_eq!(plain[4..8], [1, 2, 3, 4]);
}

// §5.4: fragments we send follow the same sequencing rules we enforce on receipt.
#[test]
fn sending_fragments() {
    let config = Config::default();
    let mut conn = Connection::new(Role::Server, &config, Instant::default());
    let mut out = Vec::new();
    conn.send_fragment(DataKind::Text, b"a", false, &mut out)
        .unwrap();
    assert_eq!(
        conn.send(DataKind::Text, b"b", &mut out),
        Err(LocalError::FragmentSequence)
    );
    assert_eq!(
        conn.send_fragment(DataKind::Binary, b"b", true, &mut out),
        Err(LocalError::FragmentSequence)
    );
    conn.send_ping(b"p", &mut out).unwrap();
    conn.send_fragment(DataKind::Text, b"b", true, &mut out)
        .unwrap();
    assert_eq!(out, [0x01, 1, b'a', 0x89, 1, b'p', 0x80, 1, b'b']);
    let header = conn
        .data_frame_header(DataKind::Binary, true, 70_000, None)
        .unwrap();
    assert_eq!(header.as_bytes(), [0x82, 127, 0, 0, 0, 0, 0, 1, 0x11, 0x70]);
}

#[test]
fn control_payload_limit_on_send() {
    let config = Config::default();
    let mut conn = Connection::new(Role::Server, &config, Instant::default());
    let mut out = Vec::new();
    assert_eq!(
        conn.send_ping(&[0; 126], &mut out),
        Err(LocalError::ControlPayloadTooLong)
    );
    conn.send_pong(&[0; 125], &mut out).unwrap();
    assert_eq!(out.len(), 127);
}

// ---------- permessage-deflate (RFC 7692 §6) ----------

fn deflate_server() -> Driver {
    let mut d = Driver::new(Role::Server);
    d.conn = d.conn.clone().with_permessage_deflate();
    d
}

/// RFC 7692 §7.2.3.1: "Hello", compressed.
const HELLO: [u8; 7] = [0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00];

#[test]
fn rsv1_marks_a_compressed_message_only_when_negotiated() {
    // Not negotiated: RSV1 is a reserved bit (RFC 6455 §5.2).
    assert_fails(
        Role::Server,
        &masked(0xc1, &HELLO),
        MalformedFrame::ReservedBits(4).into(),
    );
    for chunk in [1, 2, usize::MAX] {
        let mut d = deflate_server();
        let (events, err) = d.feed(&masked(0xc1, &HELLO), chunk);
        assert_eq!(err, None);
        assert_eq!(
            events,
            [Ev::Compressed(DataKind::Text, HELLO.to_vec())],
            "chunk {chunk}"
        );
    }
}

#[test]
fn a_fragmented_compressed_message_has_rsv1_on_its_first_frame_only() {
    // §7.2.3.1's fragmented example: RSV1 on the first frame, a plain continuation.
    let mut bytes = masked(0x41, &HELLO[..3]);
    bytes.extend(masked(0x89, b"")); // a ping in between
    bytes.extend(masked(0x80, &HELLO[3..]));
    for chunk in [1, 4, usize::MAX] {
        let mut d = deflate_server();
        let (events, err) = d.feed(&bytes, chunk);
        assert_eq!(err, None);
        assert_eq!(
            events,
            [
                Ev::Ping(Vec::new()),
                Ev::Compressed(DataKind::Text, HELLO.to_vec())
            ],
            "chunk {chunk}"
        );
        // The next message is not compressed unless it says so.
        let (events, _) = d.feed(&masked(0x81, b"plain"), chunk);
        assert_eq!(events, [Ev::Msg(DataKind::Text, b"plain".to_vec())]);
    }
}

#[test]
fn rsv1_on_a_continuation_or_control_frame_and_rsv2_fail_with_1002() {
    for bytes in [
        [masked(0x41, &HELLO[..3]), masked(0xc0, &HELLO[3..])].concat(),
        masked(0xc9, b""),
        masked(0xa1, b"x"),
        masked(0xe1, b"x"),
    ] {
        let mut d = deflate_server();
        let (_, err) = d.feed_all(&bytes);
        assert!(
            matches!(
                err,
                Some(ReceiveError::Malformed(MalformedFrame::ReservedBits(_)))
            ),
            "{err:?}"
        );
        assert_eq!(d.sent_close_code(), Some(1002));
    }
}

#[test]
fn compressed_text_is_not_checked_before_inflating() {
    // Compressed bytes are not UTF-8, and need not be.
    let mut d = deflate_server();
    let (events, err) = d.feed(&masked(0xc1, &[0xff, 0xfe, 0x00]), 1);
    assert_eq!(err, None);
    assert_eq!(events.len(), 1);
}

#[cfg(feature = "deflate")]
mod inflating {
    use super::*;
    use crate::deflate::{Deflater, Inflater};

    fn inflate(d: &mut Driver, kind: DataKind, compressed: &[u8]) -> Result<Vec<u8>, ReceiveError> {
        let mut inflated = Vec::new();
        let mut inflater = Inflater::new();
        d.conn
            .inflate_message(
                &d.config,
                &mut inflater,
                kind,
                compressed,
                &mut inflated,
                &mut d.out,
            )
            .map(<[u8]>::to_vec)
    }

    #[test]
    fn the_rfc_example_inflates_to_hello() {
        let mut d = deflate_server();
        assert_eq!(inflate(&mut d, DataKind::Text, &HELLO).unwrap(), b"Hello");
        assert_eq!(d.conn.state(), State::Open);
    }

    #[test]
    fn a_bomb_is_stopped_at_the_message_limit_with_1009() {
        let mut d = deflate_server();
        d.config = Config::default().with_max_message_size(1 << 10);
        // 1 MiB of 'a' compresses to about 1 KiB; flushed blocks concatenate, so 1,024 of
        // them are one valid message of about 1 MiB that inflates to 1 GiB.
        let mut block = Vec::new();
        Deflater::new(9, false)
            .compress(&std::vec![b'a'; 1 << 20], &mut block)
            .unwrap();
        let mut bomb = Vec::new();
        for _ in 0..1024 {
            bomb.extend_from_slice(&block);
            bomb.extend_from_slice(&[0x00, 0x00, 0xff, 0xff]);
        }
        assert!(bomb.len() < 2 << 20, "{}", bomb.len());
        let err = inflate(&mut d, DataKind::Text, &bomb).unwrap_err();
        assert!(matches!(
            err,
            ReceiveError::Limit(LimitExceeded::MessageTooLarge { max: 1024, .. })
        ));
        assert_eq!(d.sent_close_code(), Some(1009));
        assert_eq!(d.conn.state(), State::Closed);
    }

    #[test]
    fn inflated_text_must_be_utf8_and_garbage_fails_with_1007() {
        let mut invalid = Vec::new();
        Deflater::new(6, false)
            .compress(&[b'o', b'k', 0xff], &mut invalid)
            .unwrap();
        let mut d = deflate_server();
        assert_eq!(
            inflate(&mut d, DataKind::Text, &invalid),
            Err(ProtocolViolation::InvalidUtf8.into())
        );
        assert_eq!(d.sent_close_code(), Some(1007));
        let mut d = deflate_server();
        assert_eq!(
            inflate(&mut d, DataKind::Binary, &[0xff, 0xff, 0xff]),
            Err(ProtocolViolation::InvalidCompressedData.into())
        );
        assert_eq!(d.sent_close_code(), Some(1007));
    }

    #[test]
    fn a_client_sends_and_a_server_receives_compressed() {
        let config = Config::default();
        let mut client = Connection::new(Role::Client, &config, Instant::from_nanos(0))
            .with_permessage_deflate();
        let mut compressed = Vec::new();
        let text = "hello hello hello hello";
        Deflater::new(6, false)
            .compress(text.as_bytes(), &mut compressed)
            .unwrap();
        let mut wire = Vec::new();
        let mut keys = || [1, 2, 3, 4];
        let mut out = ClientOutput {
            buffer: &mut wire,
            mask_keys: &mut keys,
        };
        client
            .send_compressed(DataKind::Text, &compressed, &mut out)
            .unwrap();
        assert_eq!(wire[0], 0xc1, "FIN, RSV1, text");
        let mut d = deflate_server();
        let (events, err) = d.feed_all(&wire);
        assert_eq!(err, None);
        let [Ev::Compressed(kind, payload)] = events.as_slice() else {
            panic!("{events:?}")
        };
        assert_eq!(inflate(&mut d, *kind, payload).unwrap(), text.as_bytes());
        // Without the extension, a compressed frame cannot be sent.
        let mut plain = Connection::new(Role::Server, &config, Instant::from_nanos(0));
        assert_eq!(
            plain.send_compressed(DataKind::Text, &compressed, &mut Vec::new()),
            Err(LocalError::CompressionNotNegotiated)
        );
    }
}
