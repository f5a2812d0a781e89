//! `frame_decoder_server` and `frame_decoder_client`: the input is the byte stream a peer sends.

use ws_proto::{
    ClientOutput, CloseCode, Config, Connection, DataKind, Instant, LocalError, ReceiveError,
    Received, Role, State,
};

use crate::common::{Ev, check_sent_stream, chunkings, fnv1a, parse_frames};

/// The stream a client sends (masked frames), decoded by a server.
pub fn frame_decoder_server(data: &[u8]) {
    decoder(Role::Server, data);
}

/// The stream a server sends (unmasked frames), decoded by a client.
pub fn frame_decoder_client(data: &[u8]) {
    decoder(Role::Client, data);
}

/// The default limits, and small ones that fuzz inputs reach: 64-byte messages and a 256-byte
/// frame chain (above the 131 bytes of a standalone masked control frame).
fn configs() -> [Config; 2] {
    [
        Config::default(),
        Config {
            max_message_size: 64,
            max_frame_chain_size: 256,
            ..Config::default()
        },
    ]
}

/// Everything observable about one run.
#[derive(Debug, PartialEq, Eq)]
struct Outcome {
    events: Vec<Ev>,
    error: Option<ReceiveError>,
    /// The automatic replies (pongs, close frames), byte for byte.
    out: Vec<u8>,
    state: State,
}

fn decoder(role: Role, data: &[u8]) {
    let [whole, bytes, derived] = chunkings(data.len(), fnv1a(data));
    for config in configs() {
        let reference = run(role, &config, data, &whole);
        check_sent_stream(&reference.out, role == Role::Client);
        for pieces in [&bytes, &derived] {
            let other = run(role, &config, data, pieces);
            assert_eq!(
                other, reference,
                "chunking {pieces:?} disagrees with one-shot decoding"
            );
        }
    }
}

/// A fresh mask key each call, deterministic so that runs compare byte for byte.
fn counter_keys(counter: &mut u32) -> impl FnMut() -> [u8; 4] + '_ {
    move || {
        *counter = counter.wrapping_add(0x9e37_79b9);
        counter.to_be_bytes()
    }
}

/// Feeds `data` in `pieces` the documented way: append each read to the unprocessed bytes,
/// call `receive` until it stalls, dropping `consumed` bytes each time.
fn run(role: Role, config: &Config, data: &[u8], pieces: &[usize]) -> Outcome {
    let now = Instant::from_nanos(0);
    let mut conn = Connection::new(role, config, now);
    let (mut pending, mut message, mut out) = (Vec::new(), Vec::new(), Vec::new());
    let mut keys = 0u32;
    let mut events = Vec::new();
    let mut error = None;
    let mut offset = 0;
    'feed: for &n in pieces {
        pending.extend_from_slice(&data[offset..offset + n]);
        offset += n;
        loop {
            let before = conn.state();
            let (len, out_len) = (pending.len(), out.len());
            let result = match role {
                Role::Server => conn.receive(config, now, &mut pending, &mut message, &mut out),
                Role::Client => {
                    let mut client_out = ClientOutput {
                        buffer: &mut out,
                        mask_keys: counter_keys(&mut keys),
                    };
                    conn.receive(config, now, &mut pending, &mut message, &mut client_out)
                }
            };
            match result {
                Ok(received) => {
                    let consumed = received.consumed;
                    let stalled = received.is_stalled();
                    let event = received.event.map(Ev::own);
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
                    check_reply(role, before, event.as_ref(), &out[out_len..]);
                    match &event {
                        Some(Ev::Close(..)) => assert_eq!(conn.state(), State::Closed),
                        _ => assert_eq!(conn.state(), before, "state changed without a close"),
                    }
                    if let Some(Ev::Msg(_, payload)) = &event {
                        assert!(
                            payload.len() as u64 <= config.max_message_size,
                            "message over the limit"
                        );
                    }
                    pending.drain(..consumed);
                    events.extend(event);
                    if stalled {
                        break;
                    }
                }
                Err(err) => {
                    assert_eq!(
                        conn.state(),
                        State::Closed,
                        "{err:?} left the connection open"
                    );
                    assert_eq!(before, State::Open, "an error after close");
                    // Fail the connection (RFC 6455 §7.1.7): one close frame with the error's code.
                    let frames = parse_frames(&out[out_len..]);
                    let code = err.close_code().0.to_be_bytes().to_vec();
                    assert!(
                        matches!(frames.as_slice(), [f] if f.opcode == 0x8 && f.payload == code),
                        "{err:?}: reply {frames:?} is not a close frame with code {code:?}"
                    );
                    error = Some(err);
                    break 'feed;
                }
            }
        }
    }
    let state = conn.state();
    if state == State::Closed {
        check_closed(&mut conn, config, &data[offset..]);
    } else {
        assert_eq!(error, None);
        assert_eq!(offset, data.len());
    }
    Outcome {
        events,
        error,
        out,
        state,
    }
}

/// The reply a received event obliges, if any, and nothing else (RFC 6455 §5.5.1–§5.5.3).
fn check_reply(role: Role, before: State, event: Option<&Ev>, written: &[u8]) {
    let expected: Option<(u8, Vec<u8>)> = match event {
        _ if before != State::Open => None,
        Some(Ev::Ping(p)) => Some((0xa, p.clone())),
        Some(Ev::Close(code, _)) => Some((
            0x8,
            code.map(|c| c.to_be_bytes().to_vec()).unwrap_or_default(),
        )),
        _ => None,
    };
    let frames = parse_frames(written);
    match expected {
        None => assert!(
            frames.is_empty(),
            "unexpected output {frames:?} for {event:?}"
        ),
        Some((opcode, payload)) => {
            let [frame] = frames.as_slice() else {
                panic!("{event:?} answered with {frames:?}")
            };
            assert_eq!(
                (frame.opcode, frame.fin, &frame.payload),
                (opcode, true, &payload)
            );
            assert_eq!(frame.masked, role == Role::Client);
        }
    }
}

/// A closed connection sends nothing, fires no timer and discards all input.
fn check_closed(conn: &mut Connection, config: &Config, rest: &[u8]) {
    assert!(!conn.can_send_data());
    assert_eq!(conn.poll_timeout(), None);
    let mut out = Vec::new();
    let mut keys = 0;
    let mut o = ClientOutput {
        buffer: &mut out,
        mask_keys: counter_keys(&mut keys),
    };
    let closed = Err(LocalError::SendAfterClose);
    assert_eq!(conn.send(DataKind::Binary, b"x", &mut o), closed);
    assert_eq!(
        conn.send_fragment(DataKind::Text, b"x", false, &mut o),
        closed
    );
    assert_eq!(conn.send_ping(b"p", &mut o), closed);
    assert_eq!(conn.send_pong(b"p", &mut o), closed);
    assert_eq!(
        conn.close(config, Instant::default(), CloseCode::NORMAL, "", &mut o),
        closed
    );
    assert_eq!(
        conn.handle_timeout(config, Instant::from_nanos(u64::MAX), &mut o),
        None
    );
    let mut input = [rest, b"\x89\x00\x88\x00"].concat();
    let mut message = Vec::new();
    let len = input.len();
    let received = conn.receive(
        config,
        Instant::from_nanos(u64::MAX),
        &mut input,
        &mut message,
        &mut o,
    );
    assert_eq!(
        received,
        Ok(Received {
            consumed: len,
            event: None
        })
    );
    assert!(out.is_empty(), "a closed connection wrote {out:?}");
    assert_eq!(conn.state(), State::Closed);
}
