//! The upgrade as apps and configuration decide it, end to end against the real serving core
//! over TCP: an app's upgrade callback authenticates by query token or cookie, rejects with its
//! status and body, picks a subprotocol and attaches per-client data; a callback that does not
//! answer in time gets its client a 503 while the worker serves everyone else; an endpoint's
//! `subprotocols` negotiate without a callback; and a close waits for the replies owed.

mod common;

use std::net::SocketAddr;
use std::time::Duration;

use app_abi::abi::rs_app_descriptor;
use app_abi::host::App;
use app_abi::{DataKind, Rs, Upgrade as Answer, rs_app};
use common::{Client, Msg, Upgrade, raw_frame, test_spec};
use ringsocket_daemon::server::{AppSource, AppSpec, EndpointSpec, Server, ServerSpec};

const HOST: &str = "127.0.0.1";

/// Query `?token=ok-<user>` or cookie `session=ok-<user>`; `?slow=<ms>` sleeps first (a
/// callback stuck on a slow database).
fn auth(rs: &mut Rs) -> Answer {
    if let Some(ms) = rs.query_param("slow").map(<[u8]>::to_vec) {
        let ms: u64 = std::str::from_utf8(&ms).unwrap().parse().unwrap();
        std::thread::sleep(Duration::from_millis(ms));
    }
    let token = rs.query_param("token").map(<[u8]>::to_vec);
    let cookie = rs.cookie("session").map(<[u8]>::to_vec);
    let Some(credential) = token.or(cookie) else {
        rs.w_str("log in first");
        return Answer::reject(401);
    };
    let Some(user) = credential.strip_prefix(b"ok-") else {
        rs.w_str("bad credentials");
        return Answer::reject(403);
    };
    let user = user.to_vec();
    if rs
        .request_header("x-api-key")
        .is_some_and(|key| key == b"throttled")
    {
        return Answer::reject(429);
    }
    rs.set_client_data(&user);
    Answer::Accept
}

/// Replies `<user>: <message>` with the user the upgrade attached.
fn whose(rs: &mut Rs, payload: &[u8]) {
    let user = rs.client_data().map(<[u8]>::to_vec).unwrap_or_default();
    rs.w_bytes(&user).w_str(": ").w_bytes(payload);
    rs.to_cur(DataKind::Text);
}

rs_app! {
    static AUTH;
    upgrade: auth,
    read: any whose(net [u8; 0..]),
}

fn echo(rs: &mut Rs, payload: &[u8]) {
    common::serve(rs, payload);
}

rs_app! {
    static ECHO;
    read: any echo(net [u8; 0..]),
}

fn endpoint(id: u16, path: &str) -> EndpointSpec {
    EndpointSpec {
        id,
        host: HOST.into(),
        path: path.into(),
        ..EndpointSpec::default()
    }
}

fn app(
    name: &str,
    descriptor: &'static rs_app_descriptor,
    endpoints: Vec<EndpointSpec>,
) -> AppSpec {
    // SAFETY: the descriptors are made by `rs_app!`.
    let app = unsafe { App::from_static(name, descriptor) }.unwrap();
    AppSpec {
        name: name.into(),
        source: AppSource::Loaded(app),
        endpoints,
        no_open_cb: false,
        no_close_cb: false,
    }
}

/// `/auth` (the hooked app, with `X-Api-Key` forwarded), and the echo app at `/echo` and at
/// `/chat` with subprotocols.
fn spec() -> ServerSpec {
    let mut auth = endpoint(1, "/auth");
    auth.upgrade_headers = vec!["x-api-key".into()];
    let mut chat = endpoint(3, "/chat");
    chat.subprotocols = vec!["chat.v2".into(), "chat.v1".into()];
    let mut spec = test_spec(vec![
        app("auth", &AUTH, vec![auth]),
        app("echo", &ECHO, vec![endpoint(2, "/echo"), chat]),
    ]);
    spec.worker_c = 1;
    spec.settings.handshake_wait = Duration::from_secs(2);
    spec
}

fn start() -> (Server, SocketAddr) {
    let server = Server::start(spec()).expect("the server starts");
    let addr = server.local_addrs()[0];
    (server, addr)
}

fn try_connect(
    addr: SocketAddr,
    path: &str,
    upgrade: Upgrade<'_>,
) -> Result<Client, (u16, String)> {
    let host = format!("{HOST}:{}", addr.port());
    Client::try_connect(addr, &host, path, upgrade).map_err(|r| {
        let body = r
            .raw
            .split("\r\n\r\n")
            .nth(1)
            .unwrap_or_default()
            .to_owned();
        (r.status, body)
    })
}

#[test]
fn the_upgrade_callback_authenticates_by_token_or_cookie() {
    let (server, addr) = start();
    let none = Upgrade::default();
    assert_eq!(
        try_connect(addr, "/auth", none).err(),
        Some((401, "log in first".into()))
    );
    assert_eq!(
        try_connect(addr, "/auth?token=forged", none).err(),
        Some((403, "bad credentials".into()))
    );
    let throttled = Upgrade {
        headers: &[("X-Api-Key", "throttled")],
        ..none
    };
    assert_eq!(
        try_connect(addr, "/auth?token=ok-eve", throttled)
            .err()
            .map(|e| e.0),
        Some(429)
    );
    let mut alice = try_connect(addr, "/auth?room=1&token=ok-alice", none).unwrap();
    let cookie = Upgrade {
        headers: &[("Cookie", "theme=dark; session=ok-bob")],
        ..none
    };
    let mut bob = try_connect(addr, "/auth", cookie).unwrap();
    alice.text("hi");
    bob.text("hello");
    assert_eq!(alice.recv_text(), "alice: hi");
    assert_eq!(bob.recv_text(), "bob: hello");
    // Frames sent right behind the request wait for the answer, and then count.
    let mut first = Vec::new();
    let mut early = try_connect(
        addr,
        "/auth?token=ok-carol",
        Upgrade {
            first_bytes: {
                first.extend(raw_frame(0x1, b"early"));
                &first
            },
            ..none
        },
    )
    .unwrap();
    assert_eq!(early.recv_text(), "carol: early");
    let metrics = server.metrics().render();
    assert_eq!(
        common::sample(&metrics, "ringsocket_upgrade_rejections_total"),
        3
    );
    drop(server);
}

#[test]
fn a_callback_that_does_not_answer_in_time_gets_503_while_others_are_served() {
    let (server, addr) = start();
    let slow = std::thread::spawn(move || {
        try_connect(addr, "/auth?slow=3000&token=ok-slow", Upgrade::default())
            .err()
            .map(|e| e.0)
    });
    std::thread::sleep(Duration::from_millis(100));
    // The worker is not waiting: another app's clients connect and echo meanwhile.
    let mut echo = try_connect(addr, "/echo", Upgrade::default()).unwrap();
    for i in 0..20 {
        echo.text(&format!("m{i}"));
        assert_eq!(echo.recv_text(), format!("m{i}"));
    }
    // A worker that waited for the answer would have served nobody before the 503.
    assert!(!slow.is_finished(), "the echo waited for the stuck upgrade");
    assert_eq!(slow.join().unwrap(), Some(503));
    let metrics = server.metrics().render();
    assert_eq!(
        common::sample(&metrics, "ringsocket_upgrade_timeouts_total"),
        1
    );
    // The late answer finds the connection gone; the app is fine and answers the next one.
    let mut late = try_connect(addr, "/auth?token=ok-late", Upgrade::default()).unwrap();
    late.text("x");
    assert_eq!(late.recv_text(), "late: x");
}

#[test]
fn configured_subprotocols_pick_the_servers_preference_among_the_offered() {
    let (_server, addr) = start();
    let offer = |protocols: &'static [&'static str]| Upgrade {
        protocols,
        ..Upgrade::default()
    };
    let both = try_connect(addr, "/chat", offer(&["chat.v1", "chat.v2"])).unwrap();
    assert_eq!(both.protocol.as_deref(), Some("chat.v2"));
    let v1 = try_connect(addr, "/chat", offer(&["other", "chat.v1"])).unwrap();
    assert_eq!(v1.protocol.as_deref(), Some("chat.v1"));
    // Nothing in common: the upgrade goes ahead without one (RFC 6455 §4.2.2), and the
    // client decides.
    let neither = try_connect(addr, "/chat", offer(&["other"])).unwrap();
    assert_eq!(neither.protocol, None);
    let plain = try_connect(addr, "/echo", offer(&["chat.v2"])).unwrap();
    assert_eq!(plain.protocol, None);
}

/// Pipelined messages, then a frame that fails the connection (`bad`) or a close: every
/// reply comes before the close frame.
fn replies_then_close(addr: SocketAddr, path: &str, last: &[u8], expect_code: u16) {
    let mut client = try_connect(addr, path, Upgrade::default()).unwrap();
    let mut burst = Vec::new();
    for i in 0..50 {
        burst.extend(raw_frame(0x1, format!("msg {i}").as_bytes()));
    }
    burst.extend_from_slice(last);
    client.send_raw(&burst);
    let (received, code) = client.recv_data_until_close(|i, msg| {
        let Msg::Text(text) = msg else {
            panic!("expected text, got {msg:?}")
        };
        assert!(text.ends_with(&format!("msg {i}")), "{text} at {i}");
    });
    assert_eq!((received, code), (50, Some(expect_code)));
    client.expect_eof();
}

#[test]
fn a_close_waits_for_the_replies_owed_to_the_client() {
    let (_server, addr) = start();
    // RSV2 set: a protocol error (1002), after 50 valid messages in the same write.
    let mut reserved = raw_frame(0x1, b"bad");
    reserved[0] |= 0x20;
    replies_then_close(addr, "/echo", &reserved, 1002);
    // Invalid UTF-8: 1007.
    replies_then_close(addr, "/echo", &raw_frame(0x1, &[0xff, 0xfe]), 1007);
    // The client's own close: the echo of its close frame comes after the replies too.
    replies_then_close(addr, "/echo", &raw_frame(0x8, &1000u16.to_be_bytes()), 1000);
}
