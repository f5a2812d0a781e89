//! The serving core end to end, in process: `rs_app!` apps linked into the test, a real
//! [`Server`] on 127.0.0.1 (ephemeral ports), and blocking ws-proto clients.

mod common;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use app_abi::abi::rs_app_descriptor;
use app_abi::host::App;
use app_abi::{Rs, rs_app};
use common::{Client, LIMIT, Msg, Upgrade, raw_frame, serve, test_spec, wait_until};
use ringsocket_daemon::server::{
    AppSource, AppSpec, EndpointSpec, ListenerSpec, Server, ServerSpec, StartError,
};
use ws_proto::DataKind as Kind;

// ---------- apps ----------

rs_app! {
    static ECHO;
    read: any serve(net [u8; 0..]),
}

static COUNTED_OPENS: AtomicUsize = AtomicUsize::new(0);
static COUNTED_CLOSES: AtomicUsize = AtomicUsize::new(0);

fn counted_open(_: &mut Rs) {
    COUNTED_OPENS.fetch_add(1, Ordering::SeqCst);
}

fn counted_close(_: &mut Rs) {
    COUNTED_CLOSES.fetch_add(1, Ordering::SeqCst);
}

// Used by one test only, so that its counts are its own.
rs_app! {
    static COUNTED;
    open: counted_open,
    read: any serve(net [u8; 0..]),
    close: counted_close,
}

// ---------- harness ----------

const HOST: &str = "127.0.0.1";

fn app(name: &str, descriptor: &'static rs_app_descriptor) -> AppSpec {
    // SAFETY: the descriptors are made by `rs_app!`.
    let app = unsafe { App::from_static(name, descriptor) }.unwrap();
    AppSpec {
        name: name.into(),
        source: AppSource::Loaded(app),
        endpoints: vec![EndpointSpec {
            id: 7,
            host: HOST.into(),
            port: 0,
            path: "/echo".into(),
            allowed_origins: None,
            ..EndpointSpec::default()
        }],
        no_open_cb: false,
        no_close_cb: false,
    }
}

fn spec(app: AppSpec) -> ServerSpec {
    test_spec(vec![app])
}

fn start(spec: ServerSpec) -> (Server, SocketAddr) {
    let server = Server::start(spec).expect("the server starts");
    let addr = server.local_addrs()[0];
    (server, addr)
}

fn echo_server() -> (Server, SocketAddr) {
    start(spec(app("echo", &ECHO)))
}

fn host(addr: SocketAddr) -> String {
    format!("{HOST}:{}", addr.port())
}

// ---------- startup ----------

/// Each inconsistency of a spec is refused before anything binds, typed by its cause.
#[test]
fn inconsistent_specs_are_refused_by_cause() {
    let refused = |spec: ServerSpec| match Server::start(spec) {
        Ok(_) => panic!("started"),
        Err(e) => e,
    };
    let mut no_workers = spec(app("echo", &ECHO));
    no_workers.worker_c = 0;
    let e = refused(no_workers);
    assert!(matches!(e, StartError::WorkerCount(0)), "{e}");
    assert_eq!(
        e.to_string(),
        "invalid server spec: worker_c is 0, not 1..=256"
    );

    let mut no_listeners = spec(app("echo", &ECHO));
    no_listeners.listeners.clear();
    assert!(matches!(refused(no_listeners), StartError::NoListeners));

    let mut elsewhere = app("echo", &ECHO);
    elsewhere.endpoints[0].port = 1;
    let e = refused(spec(elsewhere));
    assert!(
        matches!(&e, StartError::EndpointPort { app, endpoint: 7, port: 1 } if app == "echo"),
        "{e}"
    );
    assert_eq!(
        e.to_string(),
        "invalid server spec: app echo: endpoint 7 is on port 1, which no listener has"
    );

    // A free port, given to the listener by number: no listener is left with port 0.
    let free = std::net::TcpListener::bind((HOST, 0))
        .unwrap()
        .local_addr()
        .unwrap();
    let mut fixed_port = spec(app("echo", &ECHO));
    fixed_port.listeners[0].port = free.port();
    let e = refused(fixed_port);
    assert!(matches!(e, StartError::EndpointPort { port: 0, .. }), "{e}");

    let e = refused(spec(app("e\0cho", &ECHO)));
    assert!(matches!(e, StartError::NulInConf(_)), "{e}");
}

// ---------- data ----------

#[test]
fn echoes_text_and_binary() {
    let (server, addr) = echo_server();
    let mut c = Client::connect(addr, &host(addr), "/echo");
    c.text("hello");
    assert_eq!(c.recv(), Msg::Text("hello".into()));
    c.send(Kind::Binary, &[0, 1, 2, 255]);
    assert_eq!(c.recv(), Msg::Binary(vec![0, 1, 2, 255]));
    c.text("");
    assert_eq!(c.recv(), Msg::Text(String::new()));
    // The default port may be left out only when it is the default one: not here.
    c.close(1000);
    assert_eq!(c.recv_close(), Some(1000));
    c.expect_eof();
    server.stop();
}

#[test]
fn reassembles_a_large_fragmented_message() {
    let mut spec = spec(app("echo", &ECHO));
    spec.settings.max_ws_msg_size = 4 << 20;
    spec.settings.max_ws_frame_chain_size = 5 << 20;
    let (server, addr) = start(spec);
    let mut c = Client::connect(addr, &host(addr), "/echo");
    let payload: Vec<u8> = (0..(3 << 20)).map(|i| (i % 251) as u8).collect();
    c.send_fragmented(Kind::Binary, &payload, 37);
    assert_eq!(c.recv(), Msg::Binary(payload.clone()));
    // And one large single frame, which arrives over many reads.
    c.send(Kind::Binary, &payload);
    assert_eq!(c.recv(), Msg::Binary(payload));
    server.stop();
}

#[test]
fn a_message_over_the_limit_is_closed_with_1009() {
    let mut spec = spec(app("echo", &ECHO));
    spec.settings.max_ws_msg_size = 64 << 10;
    spec.settings.max_ws_frame_chain_size = 70 << 10;
    let (server, addr) = start(spec);
    let mut c = Client::connect(addr, &host(addr), "/echo");
    c.send(Kind::Binary, &vec![1; 100 << 10]);
    assert_eq!(c.recv_close(), Some(1009));
    c.expect_eof();
    server.stop();
}

#[test]
fn the_first_frame_may_come_with_the_handshake() {
    let (server, addr) = echo_server();
    let frames = [raw_frame(0x1, b"early"), raw_frame(0x1, b"bird")].concat();
    let upgrade = Upgrade {
        first_bytes: &frames,
        ..Upgrade::default()
    };
    let mut c = Client::try_connect(addr, &host(addr), "/echo", upgrade).unwrap();
    assert_eq!(c.recv(), Msg::Text("early".into()));
    assert_eq!(c.recv(), Msg::Text("bird".into()));
    server.stop();
}

#[test]
fn invalid_utf8_is_closed_with_1007() {
    let (server, addr) = echo_server();
    let mut c = Client::connect(addr, &host(addr), "/echo");
    c.send_raw(&raw_frame(0x1, &[b'a', 0xFF]));
    assert_eq!(c.recv_close(), Some(1007));
    c.expect_eof();
    server.stop();
}

#[test]
fn pings_get_pongs() {
    let (server, addr) = echo_server();
    let mut c = Client::connect(addr, &host(addr), "/echo");
    c.ping(b"abc");
    assert_eq!(c.recv(), Msg::Pong(b"abc".to_vec()));
    server.stop();
}

#[test]
fn the_app_close_code_reaches_the_client() {
    let (server, addr) = echo_server();
    let mut c = Client::connect(addr, &host(addr), "/echo");
    c.text("close 4321");
    assert_eq!(c.recv_close(), Some(4321));
    c.expect_eof();
    server.stop();
}

// ---------- HTTP ----------

/// Checks the complete response: status line, headers and body.
fn assert_response(raw: &str, status: &str, reason: &str) {
    let expected_start = format!("HTTP/1.1 {status} {reason}\r\n");
    assert!(raw.starts_with(&expected_start), "{raw:?}");
    assert!(raw.contains("Connection: close\r\n"), "{raw:?}");
    let body = format!("{reason}\n");
    assert!(
        raw.contains(&format!("Content-Length: {}\r\n", body.len())),
        "{raw:?}"
    );
    assert!(raw.ends_with(&format!("\r\n\r\n{body}")), "{raw:?}");
}

#[test]
fn http_errors_get_complete_responses() {
    let mut app = app("echo", &ECHO);
    app.endpoints.push(EndpointSpec {
        id: 8,
        host: HOST.into(),
        port: 0,
        path: "/strict".into(),
        allowed_origins: Some(vec!["https://good.example".into()]),
        ..EndpointSpec::default()
    });
    let (server, addr) = start(spec(app));
    let h = host(addr);

    let r = Client::try_connect(addr, &h, "/nowhere", Upgrade::default()).unwrap_err();
    assert_eq!(r.status, 404);
    assert_response(&r.raw, "404", "Not Found");

    let bad_origin = Upgrade {
        origin: Some("https://evil.example"),
        ..Upgrade::default()
    };
    let r = Client::try_connect(addr, &h, "/strict", bad_origin).unwrap_err();
    assert_eq!(r.status, 403);
    assert_response(&r.raw, "403", "Forbidden");

    // The allowed origin, and no origin at all, are fine; `/echo` allows any origin.
    for origin in [Some("https://good.example"), None] {
        let upgrade = Upgrade {
            origin,
            ..Upgrade::default()
        };
        let mut c = Client::try_connect(addr, &h, "/strict", upgrade).unwrap();
        c.text("ok");
        assert_eq!(c.recv_text(), "ok");
    }
    let any = Upgrade {
        origin: Some("https://evil.example"),
        ..Upgrade::default()
    };
    assert!(Client::try_connect(addr, &h, "/echo", any).is_ok());

    // A known path under an unknown host.
    let r = Client::try_connect(addr, "localhost", "/echo", Upgrade::default()).unwrap_err();
    assert_eq!(r.status, 400);

    // No Sec-WebSocket-Key: 400, and the connection ends after the response.
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(LIMIT)).unwrap();
    write!(
        s,
        "GET /echo HTTP/1.1\r\nHost: {h}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Version: 13\r\n\r\n"
    )
    .unwrap();
    let mut raw = String::new();
    s.read_to_string(&mut raw).unwrap();
    assert_response(&raw, "400", "Bad Request");
    server.stop();
}

#[test]
fn a_silent_connection_times_out() {
    let mut spec = spec(app("echo", &ECHO));
    spec.settings.handshake_wait = Duration::from_millis(300);
    let (server, addr) = start(spec);
    let started = Instant::now();
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(LIMIT)).unwrap();
    let mut raw = String::new();
    s.read_to_string(&mut raw).unwrap();
    let waited = started.elapsed();
    assert_response(&raw, "408", "Request Timeout");
    assert!(
        waited >= Duration::from_millis(250) && waited < Duration::from_secs(3),
        "{waited:?}"
    );
    server.stop();
}

#[test]
fn connections_over_fd_alloc_c_are_refused() {
    let mut spec = spec(app("echo", &ECHO));
    spec.worker_c = 1;
    spec.settings.fd_alloc_c = 2;
    let (server, addr) = start(spec);
    let h = host(addr);
    let mut a = Client::connect(addr, &h, "/echo");
    let mut b = Client::connect(addr, &h, "/echo");
    let r = Client::try_connect(addr, &h, "/echo", Upgrade::default()).unwrap_err();
    assert_eq!(r.status, 503);
    a.text("still");
    assert_eq!(a.recv_text(), "still");
    b.text("here");
    assert_eq!(b.recv_text(), "here");
    server.stop();
}

// ---------- many clients ----------

#[test]
fn broadcast_reaches_every_client_on_both_workers() {
    let (server, addr) = echo_server();
    let h = host(addr);
    let mut clients: Vec<Client> = (0..24)
        .map(|_| Client::connect(addr, &h, "/echo"))
        .collect();
    let mut workers = std::collections::BTreeSet::new();
    for c in &mut clients {
        c.text("whoami");
        workers.insert(c.recv_text());
    }
    // SO_REUSEPORT hashes the 4-tuple: 24 connections on one worker is a 1 in 8 million event.
    assert_eq!(workers.len(), 2, "{workers:?}");
    for round in 0..5 {
        let text = format!("all round {round}");
        clients[round].text(&text);
        for c in &mut clients {
            assert_eq!(c.recv_text(), format!("round {round}"));
        }
    }
    server.stop();
}

#[test]
fn broadcasts_follow_clients_joining_and_leaving() {
    // Each worker keeps a member list per app, with removal by swapping in the last member:
    // clients leave from anywhere in the join order and join in between, and every broadcast
    // still reaches each live client exactly once.
    let (server, addr) = echo_server();
    let h = host(addr);
    let mut live: Vec<Client> = (0..16)
        .map(|_| Client::connect(addr, &h, "/echo"))
        .collect();
    let mut seed = 0x9e37_79b9_7f4a_7c15u64;
    for round in 0..12 {
        for _ in 0..round % 4 + 1 {
            seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
            let mut gone = live.swap_remove((seed >> 33) as usize % live.len());
            gone.close(1000);
            assert_eq!(gone.recv_close(), Some(1000));
        }
        for _ in 0..round % 3 + 1 {
            live.push(Client::connect(addr, &h, "/echo"));
        }
        let sender = round % live.len();
        live[sender].text(&format!("all round {round}"));
        for c in &mut live {
            assert_eq!(c.recv_text(), format!("round {round}"));
        }
    }
    // No second copy is waiting anywhere: the next message each client gets is its answer.
    for c in &mut live {
        c.text("whoami");
        let worker = c.recv_text();
        assert!(worker == "0" || worker == "1", "{worker}");
    }
    server.stop();
}

#[test]
fn a_client_that_stops_reading_does_not_stall_others_and_is_closed_with_1008() {
    const N: usize = 400;
    const SIZE: usize = 64 << 10;
    let mut spec = spec(app("echo", &ECHO));
    spec.settings.max_client_backlog = 256 << 10;
    // The slow client reads only after the fast ones are done: its close must wait for it.
    spec.settings.shutdown_wait_ws = Duration::from_secs(15);
    let (server, addr) = start(spec);
    let h = host(addr);
    let mut fast: Vec<Client> = (0..3).map(|_| Client::connect(addr, &h, "/echo")).collect();
    let mut slow = Client::connect(addr, &h, "/echo");
    for c in fast.iter_mut().chain([&mut slow]) {
        c.text("whoami"); // The app has seen every open once each got an answer.
        c.recv_text();
    }
    let filler = "x".repeat(SIZE);
    for seq in 0..N {
        fast[0].text(&format!("all {seq:05} {filler}"));
        for c in &mut fast {
            let text = c.recv_text();
            assert_eq!(&text[..5], format!("{seq:05}"), "a fast client fell behind");
        }
    }
    // The slow client gets an unbroken prefix of the messages, then the 1008 close.
    let (next, code) = slow.recv_data_until_close(|i, message| match message {
        Msg::Text(text) => assert_eq!(&text[..5], format!("{i:05}")),
        other => panic!("unexpected {other:?} after {i} messages"),
    });
    assert_eq!(code, Some(1008));
    assert!(
        next < N,
        "the slow client got everything: the backlog never filled"
    );
    slow.expect_eof();
    drop(fast); // Closed by TCP: the stop need not wait for their closing handshakes.
    let report = server.stop();
    let overflows: u64 = report.workers.iter().map(|w| w.backlog_overflows).sum();
    assert_eq!(overflows, 1);
}

// ---------- deadlines and shutdown ----------

#[test]
fn the_server_pings_an_idle_client() {
    let mut spec = spec(app("echo", &ECHO));
    spec.settings.ping_interval = Some(Duration::from_millis(200));
    spec.settings.pong_wait = Duration::from_millis(500);
    let (server, addr) = start(spec);
    // Taken before the upgrade, which arms the server's idle timer: a causal lower bound.
    let started = Instant::now();
    let mut c = Client::connect(addr, &host(addr), "/echo");
    assert_eq!(c.recv(), Msg::Ping(Vec::new())); // The client answers with a pong.
    assert!(started.elapsed() >= Duration::from_millis(200));
    // Answered pings keep it open: a second ping comes, not a 1011.
    assert_eq!(c.recv(), Msg::Ping(Vec::new()));
    c.text("alive");
    assert_eq!(c.recv_text(), "alive");
    server.stop();
}

#[test]
fn shutdown_closes_clients_with_1001() {
    const SHUTDOWN_WAIT: Duration = Duration::from_secs(5);
    let mut spec = spec(app("echo", &ECHO));
    spec.settings.shutdown_wait_ws = SHUTDOWN_WAIT;
    let (server, addr) = start(spec);
    let h = host(addr);
    let mut clients: Vec<Client> = (0..4).map(|_| Client::connect(addr, &h, "/echo")).collect();
    for c in &mut clients {
        c.text("x");
        c.recv_text();
    }
    let started = Instant::now();
    let stopper = std::thread::spawn(move || server.stop());
    for mut c in clients {
        assert_eq!(c.recv_close(), Some(1001)); // ws-proto answers the close.
        c.expect_eof();
    }
    let report = stopper.join().unwrap();
    // Every client answered: the shutdown did not wait out shutdown_wait_ws.
    assert!(started.elapsed() < SHUTDOWN_WAIT);
    let opened: u64 = report.workers.iter().map(|w| w.opened).sum();
    let closed: u64 = report.workers.iter().map(|w| w.closed).sum();
    assert_eq!((opened, closed), (4, 4));
    assert!(TcpStream::connect(addr).is_err(), "still accepting");
}

#[test]
fn the_close_callback_runs_once_per_opened_connection() {
    let (server, addr) = start(spec(app("counted", &COUNTED)));
    let h = host(addr);
    let mut kept = Vec::new();
    for i in 0..12 {
        let mut c = Client::connect(addr, &h, "/echo");
        c.text("hi");
        assert_eq!(c.recv_text(), "hi");
        match i % 6 {
            0 => {
                c.close(1000);
                assert_eq!(c.recv_close(), Some(1000));
                c.expect_eof();
            }
            1 => drop(c), // TCP close without a close frame.
            2 => {
                c.text("close 4000");
                assert_eq!(c.recv_close(), Some(4000));
                c.expect_eof();
            }
            3 => {
                c.send_raw(&raw_frame(0x3, b"")); // A reserved opcode: 1002.
                assert_eq!(c.recv_close(), Some(1002));
            }
            4 => {
                c.close(1000); // Close, but never read the answer.
            }
            _ => kept.push(c), // Still open at shutdown: 1001.
        }
    }
    wait_until("the app to see every open", || {
        COUNTED_OPENS.load(Ordering::SeqCst) == 12
    });
    let report = server.stop();
    assert_eq!(COUNTED_CLOSES.load(Ordering::SeqCst), 12);
    let app = report.apps[0].clone().unwrap();
    assert_eq!(app.clients_left, 0);
    drop(kept);
}

#[test]
fn serves_ipv6() {
    if std::net::TcpListener::bind("[::1]:0").is_err() {
        eprintln!("no IPv6 loopback here: skipped");
        return;
    }
    let mut spec = spec(app("echo", &ECHO));
    spec.apps[0].endpoints[0].host = "[::1]".into();
    spec.listeners = vec![ListenerSpec::plain(std::net::Ipv6Addr::LOCALHOST.into(), 0)];
    let (server, addr) = start(spec);
    let mut c = Client::connect(addr, &format!("[::1]:{}", addr.port()), "/echo");
    c.text("over v6");
    assert_eq!(c.recv_text(), "over v6");
    server.stop();
}
