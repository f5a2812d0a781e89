//! Two apps in one daemon stay isolated: one app goes fatal (a `Stop::Fatal` return, or a
//! panic caught on the app side), its clients get 1011, its endpoint answers a complete 503,
//! and the other app keeps serving, its close callback running once per connection.
//! In process: `rs_app!` apps linked into the test and a real [`Server`] on 127.0.0.1.

mod common;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use app_abi::abi::rs_app_descriptor;
use app_abi::host::App;
use app_abi::{Rs, Stop, rs_app};
use common::{Client, Msg, Upgrade, raw_frame, test_spec, wait_until};
use ringsocket_daemon::server::{AppSource, AppSpec, EndpointSpec, Server};
use ws_proto::DataKind as Kind;

// ---------- apps ----------

/// Echoes; `die` returns `Stop::Fatal`.
fn fatal_on_die(rs: &mut Rs, payload: &[u8]) -> Result<(), Stop> {
    if payload == b"die" {
        return Err(Stop::Fatal);
    }
    let kind = rs.read_data_kind();
    rs.w_bytes(payload);
    rs.to_cur(kind);
    Ok(())
}

rs_app! {
    static FATAL;
    read: any fatal_on_die(net [u8; 0..]),
}

/// Echoes; `die` panics (caught inside the app's own callback wrapper).
fn panic_on_die(rs: &mut Rs, payload: &[u8]) {
    assert!(payload != b"die", "the app was told to die");
    let kind = rs.read_data_kind();
    rs.w_bytes(payload);
    rs.to_cur(kind);
}

rs_app! {
    static PANICKY;
    read: any panic_on_die(net [u8; 0..]),
}

// The surviving app, one per test (each test counts its own callbacks).
macro_rules! survivor {
    ($app:ident, $opens:ident, $closes:ident, $open:ident, $close:ident) => {
        static $opens: AtomicUsize = AtomicUsize::new(0);
        static $closes: AtomicUsize = AtomicUsize::new(0);
        fn $open(_: &mut Rs) {
            $opens.fetch_add(1, Ordering::SeqCst);
        }
        fn $close(_: &mut Rs) {
            $closes.fetch_add(1, Ordering::SeqCst);
        }
        rs_app! {
            static $app;
            open: $open,
            read: any survivor_echo(net [u8; 0..]),
            close: $close,
        }
    };
}

fn survivor_echo(rs: &mut Rs, payload: &[u8]) {
    let kind = rs.read_data_kind();
    rs.w_bytes(payload);
    rs.to_cur(kind);
}

survivor!(SURVIVOR_A, OPENS_A, CLOSES_A, open_a, close_a);
survivor!(SURVIVOR_B, OPENS_B, CLOSES_B, open_b, close_b);

// ---------- harness ----------

const HOST: &str = "127.0.0.1";

fn app(name: &str, descriptor: &'static rs_app_descriptor, path: &str) -> AppSpec {
    // SAFETY: the descriptors are made by `rs_app!`.
    let app = unsafe { App::from_static(name, descriptor) }.unwrap();
    AppSpec {
        name: name.into(),
        source: AppSource::Loaded(app),
        endpoints: vec![EndpointSpec {
            id: 1,
            host: HOST.into(),
            port: 0,
            path: path.into(),
            allowed_origins: None,
            ..EndpointSpec::default()
        }],
        no_open_cb: false,
        no_close_cb: false,
    }
}

fn start(apps: Vec<AppSpec>) -> (Server, SocketAddr) {
    let mut spec = test_spec(apps);
    spec.settings.shutdown_wait_ws = Duration::from_secs(2);
    let server = Server::start(spec).expect("the server starts");
    let addr = server.local_addrs()[0];
    (server, addr)
}

/// The complete 503: status line, `Connection: close`, length and body, then the FIN.
fn assert_503(raw: &str) {
    assert!(
        raw.starts_with("HTTP/1.1 503 Service Unavailable\r\n"),
        "{raw:?}"
    );
    assert!(raw.contains("Connection: close\r\n"), "{raw:?}");
    let body = "Service Unavailable\n";
    assert!(
        raw.contains(&format!("Content-Length: {}\r\n", body.len())),
        "{raw:?}"
    );
    assert!(raw.ends_with(&format!("\r\n\r\n{body}")), "{raw:?}");
}

/// `fragile` (app 0, `/fragile`) is told to die; `survivor` (app 1, `/ok`) must not notice.
fn one_app_dies_the_other_serves_on(
    fragile: &'static rs_app_descriptor,
    survivor: &'static rs_app_descriptor,
    opens: &AtomicUsize,
    closes: &AtomicUsize,
) {
    let (server, addr) = start(vec![
        app("fragile", fragile, "/fragile"),
        app("survivor", survivor, "/ok"),
    ]);
    let h = format!("{HOST}:{}", addr.port());

    // Clients of both apps, spread over both workers, each proven known to its app.
    let mut doomed: Vec<Client> = (0..6)
        .map(|_| Client::connect(addr, &h, "/fragile"))
        .collect();
    let mut alive: Vec<Client> = (0..6).map(|_| Client::connect(addr, &h, "/ok")).collect();
    for (i, c) in doomed.iter_mut().chain(alive.iter_mut()).enumerate() {
        let text = format!("hello {i}");
        c.text(&text);
        assert_eq!(c.recv_text(), text);
    }

    // One message kills the fragile app: every one of its clients is closed with 1011.
    doomed[0].text("die");
    for (i, c) in doomed.iter_mut().enumerate() {
        assert_eq!(c.recv_close(), Some(1011), "fragile client {i}");
        c.expect_eof();
    }
    wait_until("the fragile app to be marked stopped", || {
        server.app_status(0).is_some_and(|s| s.is_stopped())
    });
    assert!(!server.app_status(1).unwrap().is_stopped());

    // Its endpoint now answers a complete 503, again and again (on both workers).
    for _ in 0..6 {
        let r = Client::try_connect(addr, &h, "/fragile", Upgrade::default()).unwrap_err();
        assert_eq!(r.status, 503);
        assert_503(&r.raw);
    }

    // The survivor serves on: old clients, new clients, large and fragmented messages.
    let big: Vec<u8> = (0..(300 << 10)).map(|i| (i % 253) as u8).collect();
    for (i, c) in alive.iter_mut().enumerate() {
        let text = format!("still here {i}");
        c.text(&text);
        assert_eq!(c.recv_text(), text);
        c.send_fragmented(Kind::Binary, &big, 7);
        assert_eq!(c.recv(), Msg::Binary(big.clone()));
    }
    for i in 0..4 {
        let mut c = Client::connect(addr, &h, "/ok");
        let text = format!("newcomer {i}");
        c.text(&text);
        assert_eq!(c.recv_text(), text);
        alive.push(c);
    }
    let opened = alive.len();
    wait_until("the survivor to see every open", || {
        opens.load(Ordering::SeqCst) == opened
    });

    // Close the survivor's clients every way there is; each close callback runs once.
    let mut kept = Vec::new();
    for (i, mut c) in alive.into_iter().enumerate() {
        match i % 5 {
            0 => {
                c.close(1000);
                assert_eq!(c.recv_close(), Some(1000));
                c.expect_eof();
            }
            1 => drop(c), // TCP close without a close frame.
            2 => {
                c.send_raw(&raw_frame(0x3, b"")); // A reserved opcode: 1002.
                assert_eq!(c.recv_close(), Some(1002));
            }
            3 => {
                c.send_raw(&raw_frame(0x1, &[0xC3])); // Invalid UTF-8: 1007.
                assert_eq!(c.recv_close(), Some(1007));
            }
            _ => kept.push(c), // Still open at shutdown: 1001.
        }
    }
    let stopper = std::thread::spawn(move || server.stop());
    for mut c in kept {
        assert_eq!(c.recv_close(), Some(1001));
        c.expect_eof();
    }
    let report = stopper.join().unwrap();
    assert_eq!(opens.load(Ordering::SeqCst), opened);
    assert_eq!(closes.load(Ordering::SeqCst), opened, "one close per open");
    let survivor = report.apps[1]
        .clone()
        .expect("the survivor's thread ran to the end");
    assert_eq!(survivor.clients_left, 0);
}

#[test]
fn a_fatal_return_stops_only_its_own_app() {
    one_app_dies_the_other_serves_on(&FATAL, &SURVIVOR_A, &OPENS_A, &CLOSES_A);
}

#[test]
fn a_panicking_app_stops_only_itself() {
    one_app_dies_the_other_serves_on(&PANICKY, &SURVIVOR_B, &OPENS_B, &CLOSES_B);
}
