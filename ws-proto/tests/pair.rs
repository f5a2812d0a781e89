//! End-to-end conversations between a client and a server engine, in memory.

mod common;

use common::{Ev, Pair};
use ws_proto::handshake::{
    ClientRequest, RequestParser, RequestStatus, ResponseParser, ResponseStatus, encode_key,
};
use ws_proto::{CloseCode, Config, DataKind, Instant, LocalError, State, Timeout};

// RFC 6455 §4: the whole opening handshake in memory, with the client's first frame sent right
// behind its request and the server's first frame right behind its 101: neither is lost.
#[test]
fn upgrade_with_pipelined_frames() {
    let mut pair = Pair::new(Config::default());
    let key = encode_key(&[7; 16]);
    let mut wire = Vec::new();
    ClientRequest::new("example.com:8080", "/chat?room=1")
        .origin("https://example.com")
        .protocols(&["chat.v2", "chat.v1"])
        .write(&key, &mut wire)
        .unwrap();
    pair.client
        .act(|conn, out| conn.send(DataKind::Text, b"first!", out))
        .unwrap();
    wire.append(&mut pair.client.out);

    // Server: the request arrives byte by byte.
    let mut parser = RequestParser::new();
    let mut received = Vec::new();
    let mut response = Vec::new();
    let mut head_len = None;
    for byte in &wire {
        received.push(*byte);
        match parser.parse(&received).unwrap() {
            RequestStatus::Partial => continue,
            RequestStatus::Complete { len, request } => {
                let upgrade = request.validate_upgrade().unwrap();
                assert_eq!(upgrade.path(), "/chat");
                assert_eq!(upgrade.query(), Some("room=1"));
                assert_eq!(upgrade.origin(), Some(&b"https://example.com"[..]));
                let offered: Vec<_> = upgrade.protocols().collect();
                assert_eq!(offered, ["chat.v2", "chat.v1"]);
                upgrade
                    .write_accept(Some("chat.v1"), &[], &mut response)
                    .unwrap();
                head_len = Some(len);
                break;
            }
        }
    }
    let head_len = head_len.expect("the request completes");
    // The bytes behind the head are the client's first frame.
    let (config, now) = (pair.config.clone(), pair.now);
    pair.server.receive(&config, now, &wire[head_len..]);
    assert_eq!(
        pair.server.events,
        [Ev::Msg(DataKind::Text, b"first!".to_vec())]
    );

    // Client: the 101 and a frame behind it, in one read.
    pair.server
        .conn
        .send(DataKind::Binary, b"welcome", &mut response)
        .unwrap();
    let mut parser = ResponseParser::new();
    let ResponseStatus::Complete {
        len,
        response: head,
    } = parser.parse(&response).unwrap()
    else {
        panic!("the response is complete");
    };
    assert_eq!(
        head.validate(&key, &["chat.v2", "chat.v1"]).unwrap(),
        Some("chat.v1")
    );
    pair.client.receive(&config, now, &response[len..]);
    assert_eq!(
        pair.client.events,
        [Ev::Msg(DataKind::Binary, b"welcome".to_vec())]
    );
}

#[test]
fn messages_both_ways() {
    let mut pair = Pair::new(Config::default());
    pair.client
        .act(|conn, out| conn.send(DataKind::Text, "hello ☺".as_bytes(), out))
        .unwrap();
    let big = vec![0xA5; 200_000];
    pair.server
        .conn
        .send(DataKind::Binary, &big, &mut pair.server.out)
        .unwrap();
    pair.drive();
    assert_eq!(
        pair.server.events,
        [Ev::Msg(DataKind::Text, "hello ☺".into())]
    );
    assert_eq!(pair.client.events, [Ev::Msg(DataKind::Binary, big)]);
}

#[test]
fn fragmented_with_pings_between() {
    let mut pair = Pair::new(Config::default());
    pair.client.act(|conn, out| {
        conn.send_fragment(DataKind::Text, b"frag", false, out)
            .unwrap();
        conn.send_ping(b"are you there", out).unwrap();
        conn.send_fragment(DataKind::Text, b"mented", true, out)
            .unwrap();
    });
    pair.drive();
    assert_eq!(
        pair.server.events,
        [
            Ev::Ping(b"are you there".to_vec()),
            Ev::Msg(DataKind::Text, b"fragmented".to_vec())
        ]
    );
    assert_eq!(pair.client.events, [Ev::Pong(b"are you there".to_vec())]);
}

#[test]
fn close_handshake_started_by_the_server() {
    let mut pair = Pair::new(Config::default());
    let (config, now) = (pair.config.clone(), pair.now);
    pair.server
        .conn
        .close(
            &config,
            now,
            CloseCode(4001),
            "kicked",
            &mut pair.server.out,
        )
        .unwrap();
    assert_eq!(pair.server.conn.state(), State::CloseSent);
    pair.drive();
    assert_eq!(pair.client.events, [Ev::Close(Some(4001), "kicked".into())]);
    assert_eq!(pair.server.events, [Ev::Close(Some(4001), String::new())]);
    assert_eq!(pair.client.conn.state(), State::Closed);
    assert_eq!(pair.server.conn.state(), State::Closed);
    assert_eq!(pair.server.conn.poll_timeout(), None);
}

#[test]
fn close_handshake_started_by_the_client() {
    let mut pair = Pair::new(Config::default());
    let (config, now) = (pair.config.clone(), pair.now);
    pair.client
        .act(|conn, out| conn.close(&config, now, CloseCode::GOING_AWAY, "", out))
        .unwrap();
    pair.drive();
    assert_eq!(pair.server.events, [Ev::Close(Some(1001), String::new())]);
    assert_eq!(pair.client.events, [Ev::Close(Some(1001), String::new())]);
    let late = pair
        .client
        .act(|conn, out| conn.send(DataKind::Text, b"x", out));
    assert_eq!(late, Err(LocalError::SendAfterClose));
}

#[test]
fn protocol_error_reaches_the_peer_as_a_close_code() {
    let mut pair = Pair::new(Config::default().with_max_message_size(1000));
    pair.server
        .conn
        .send(DataKind::Binary, &[0; 1001], &mut pair.server.out)
        .unwrap();
    pair.drive();
    assert_eq!(
        pair.client.error.map(|e| e.close_code()),
        Some(CloseCode::MESSAGE_TOO_BIG)
    );
    assert_eq!(pair.server.events, [Ev::Close(Some(1009), String::new())]);
    assert_eq!(pair.server.conn.state(), State::Closed);
}

#[test]
fn keepalive_between_live_peers() {
    let second = std::time::Duration::from_secs(1);
    let config = Config {
        ping_interval: Some(20 * second),
        ..Config::default()
    };
    let mut pair = Pair::new(config);
    pair.now = Instant::from_nanos(20_000_000_000);
    let (config, now) = (pair.config.clone(), pair.now);
    let fired = pair
        .server
        .conn
        .handle_timeout(&config, now, &mut pair.server.out);
    assert_eq!(fired, Some(Timeout::PingSent));
    pair.drive();
    assert_eq!(pair.server.events, [Ev::Pong(Vec::new())]);
    assert_eq!(
        pair.server.conn.poll_timeout(),
        Some(now.saturating_add(20 * second))
    );
}
