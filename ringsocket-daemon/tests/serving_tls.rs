//! `wss://` end to end, in process: a real [`Server`] with a TLS listener on 127.0.0.1,
//! certificates generated at test time (the test PKI), and blocking ws-proto clients over a
//! rustls client connection.

mod common;
#[path = "../src/tls/test_pki.rs"]
mod test_pki;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::time::{Duration, Instant};

use app_abi::abi::rs_app_descriptor;
use app_abi::host::App;
use app_abi::rs_app;
use common::{Client, LIMIT, Msg, Tls, Upgrade, serve, test_spec};
use ringsocket_daemon::server::{AppSource, AppSpec, EndpointSpec, Server, ServerSpec, StartError};
use ringsocket_daemon::tls::{ALPN_HTTP_1_1, CertSpec, TlsError};
use rustls::crypto::CryptoProvider;
use rustls::{ClientConfig, RootCertStore};
use test_pki::{AcceptAny, Leaf, Pki};
use ws_proto::DataKind as Kind;

// ---------- the app ----------

rs_app! {
    static ECHO;
    read: any serve(net [u8; 0..]),
}

// ---------- harness ----------

/// The names the endpoints are served under (every one on the TLS port, path `/echo`).
const HOSTS: &[&str] = &["a.test", "x.wild.test", "default.test", "127.0.0.1"];

fn app(descriptor: &'static rs_app_descriptor) -> AppSpec {
    // SAFETY: the descriptor is made by `rs_app!`.
    let app = unsafe { App::from_static("echo", descriptor) }.unwrap();
    AppSpec {
        name: "echo".into(),
        source: AppSource::Loaded(app),
        endpoints: HOSTS
            .iter()
            .enumerate()
            .map(|(i, host)| EndpointSpec {
                id: i as u16,
                host: (*host).into(),
                port: 0,
                path: "/echo".into(),
                allowed_origins: None,
                ..EndpointSpec::default()
            })
            .collect(),
        no_open_cb: false,
        no_close_cb: false,
    }
}

fn spec(tls: bool) -> ServerSpec {
    let mut spec = test_spec(vec![app(&ECHO)]);
    spec.listeners[0].tls = tls;
    spec
}

/// The CA and the three certificates of the brief: the default (first), an exact name and a
/// wildcard.
struct Certs {
    pki: Pki,
    default: Leaf,
    a: Leaf,
    wild: Leaf,
}

impl Certs {
    fn new() -> Self {
        let pki = Pki::new();
        // The default also covers 127.0.0.1: a client connecting to an IP sends no SNI.
        let default = pki.issue("default", &["default.test", "127.0.0.1"]);
        let a = pki.issue("a", &["a.test"]);
        let wild = pki.issue("wild", &["*.wild.test"]);
        Self {
            pki,
            default,
            a,
            wild,
        }
    }

    fn specs(&self) -> Vec<CertSpec> {
        vec![
            cert_spec(&["default.test"], &self.default),
            cert_spec(&["a.test"], &self.a),
            cert_spec(&["*.wild.test"], &self.wild),
        ]
    }

    /// A client trusting the test CA, validating `name` (and sending it as SNI unless it is an
    /// IP address).
    fn client(&self, name: &str) -> Tls {
        let mut roots = RootCertStore::empty();
        roots.add(self.pki.ca_der()).expect("CA");
        let mut config = ClientConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .expect("versions")
            .with_root_certificates(roots)
            .with_no_client_auth();
        config.alpn_protocols = vec![ALPN_HTTP_1_1.to_vec()];
        Tls::new(Arc::new(config), name)
    }
}

fn cert_spec(names: &[&str], leaf: &Leaf) -> CertSpec {
    CertSpec {
        hostnames: names.iter().map(|n| n.to_string()).collect(),
        privkey_path: leaf.key.clone(),
        pubchain_path: leaf.chain.clone(),
    }
}

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

fn start(spec: ServerSpec, certs: &[CertSpec]) -> (Server, SocketAddr) {
    let server = Server::start_with_certs(spec, certs).expect("the server starts");
    let addr = server.local_addrs()[0];
    (server, addr)
}

fn host(name: &str, addr: SocketAddr) -> String {
    format!("{name}:{}", addr.port())
}

/// Connects with `tls` and upgrades, naming `name` in `Host`.
fn connect(addr: SocketAddr, name: &str, tls: &Tls) -> Client {
    Client::connect_tls(addr, &host(name, addr), "/echo", tls)
}

/// Reads until the server closes: everything it sent (nothing, for a refused client).
fn read_all(s: &mut TcpStream) -> Vec<u8> {
    let mut raw = Vec::new();
    match s.read_to_end(&mut raw) {
        Ok(_) => {}
        // The server closed with unread bytes in its receive queue: a reset, no data.
        Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => {}
        Err(e) => panic!("read failed (timeout?): {e}"),
    }
    raw
}

/// A client that accepts any certificate (signatures still checked), to see which one the
/// server presents for a name none covers; `sni: false` sends no SNI.
fn accept_any(name: &str, sni: bool) -> Tls {
    let provider = provider();
    let mut config = ClientConfig::builder_with_provider(Arc::clone(&provider))
        .with_safe_default_protocol_versions()
        .expect("versions")
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(AcceptAny(
            provider.signature_verification_algorithms,
        )))
        .with_no_client_auth();
    config.alpn_protocols = vec![ALPN_HTTP_1_1.to_vec()];
    config.enable_sni = sni;
    Tls::new(Arc::new(config), name)
}

// ---------- data ----------

#[test]
fn echoes_over_wss_and_closes_with_close_notify() {
    let certs = Certs::new();
    let (server, addr) = start(spec(true), &certs.specs());
    let mut c = connect(addr, "a.test", &certs.client("a.test"));
    let tls = c.stream.tls().unwrap();
    assert_eq!(tls.alpn_protocol(), Some(ALPN_HTTP_1_1));
    c.text("hello");
    assert_eq!(c.recv(), Msg::Text("hello".into()));
    c.send(Kind::Binary, &[0, 1, 2, 255]);
    assert_eq!(c.recv(), Msg::Binary(vec![0, 1, 2, 255]));
    // Several frames in one TLS write, and a message in pieces.
    c.send_fragmented(Kind::Text, "in three pieces".as_bytes(), 3);
    assert_eq!(c.recv_text(), "in three pieces");
    c.close(1000);
    assert_eq!(c.recv_close(), Some(1000));
    c.expect_eof();
    assert!(c.close_notify, "the server ended TLS without close_notify");
    server.stop();
}

#[test]
fn a_proxy_protocol_header_comes_before_tls() {
    let certs = Certs::new();
    let mut spec = spec(true);
    spec.listeners[0].client_addr = ringsocket_daemon::server::ClientAddrSource::ProxyProtocol;
    let (_server, addr) = start(spec, &certs.specs());
    let tls = certs.client("a.test");
    let upgrade = common::Upgrade {
        tls: Some(&tls),
        preamble: b"PROXY TCP6 2001:db8::7 ::1 41000 443\r\n",
        ..common::Upgrade::default()
    };
    let mut c = Client::try_connect(addr, &host("a.test", addr), "/echo", upgrade)
        .unwrap_or_else(|r| panic!("refused: {r:?}"));
    c.text("addr");
    assert_eq!(c.recv_text(), "[2001:db8::7]:41000");
    // Without the header, the ClientHello itself is not a PROXY header: closed.
    assert!(tls.connect(addr).is_err());
}

#[test]
fn sni_picks_exact_wildcard_and_default_certificates() {
    let certs = Certs::new();
    let (server, addr) = start(spec(true), &certs.specs());
    // Fully verified against the test CA: each name gets the certificate that covers it.
    for (name, leaf) in [
        ("a.test", &certs.a),
        ("x.wild.test", &certs.wild),
        ("default.test", &certs.default),
        // An IP address: no SNI at all, so the default (which also covers the address).
        ("127.0.0.1", &certs.default),
    ] {
        let mut c = connect(addr, name, &certs.client(name));
        assert!(c.peer_certificate() == Some(leaf.der.clone()), "{name}");
        c.text(name);
        assert_eq!(c.recv_text(), name);
    }
    // Names no certificate covers, and no SNI for a name: the default, presented as is.
    for (sni, tls) in [
        ("unknown.test", accept_any("unknown.test", true)),
        (
            "a.b.wild.test (two labels)",
            accept_any("a.b.wild.test", true),
        ),
        ("a.test without SNI", accept_any("a.test", false)),
    ] {
        // Host decides the endpoint; SNI only the certificate.
        let mut c = connect(addr, "a.test", &tls);
        assert!(
            c.peer_certificate() == Some(certs.default.der.clone()),
            "{sni}: not the default certificate"
        );
        c.text("ok");
        assert_eq!(c.recv_text(), "ok");
    }
    server.stop();
}

#[test]
fn large_messages_both_ways() {
    let certs = Certs::new();
    let (server, addr) = start(spec(true), &certs.specs());
    let mut c = connect(addr, "default.test", &certs.client("default.test"));
    for (i, size) in [6 << 20, (3 << 20) + 12345].into_iter().enumerate() {
        let payload: Vec<u8> = (0..size).map(|k| (k * 31 + i) as u8).collect();
        c.send(Kind::Binary, &payload);
        match c.recv() {
            Msg::Binary(echoed) => {
                assert_eq!(echoed.len(), payload.len());
                assert!(echoed == payload, "message {i} corrupted");
            }
            other => panic!("expected binary, got {other:?}"),
        }
    }
    // A big one in pieces, then a small one right behind it: order kept.
    let text = "0123456789abcdef".repeat(256 << 10); // 4 MiB
    c.send_fragmented(Kind::Text, text.as_bytes(), 7);
    c.text("after");
    assert!(c.recv_text() == text);
    assert_eq!(c.recv_text(), "after");
    server.stop();
}

#[test]
fn broadcast_reaches_every_wss_client() {
    let certs = Certs::new();
    let (server, addr) = start(spec(true), &certs.specs());
    let tls = certs.client("x.wild.test");
    let mut clients: Vec<Client> = (0..12)
        .map(|_| connect(addr, "x.wild.test", &tls))
        .collect();
    for c in &mut clients {
        c.text("ready"); // The app has seen every open once each got an answer.
        assert_eq!(c.recv_text(), "ready");
    }
    for round in 0..5 {
        clients[round].text(&format!("all round {round}"));
        for c in &mut clients {
            assert_eq!(c.recv_text(), format!("round {round}"));
        }
    }
    // Many messages at once: the worker gathers them into few TLS writes; order is kept.
    for seq in 0..200 {
        clients[0].text(&format!("all {seq:04}"));
    }
    for c in &mut clients {
        for seq in 0..200 {
            assert_eq!(c.recv_text(), format!("{seq:04}"));
        }
    }
    server.stop();
}

// ---------- refusals ----------

#[test]
fn plaintext_http_on_the_wss_port_is_closed_without_an_answer() {
    let certs = Certs::new();
    let (server, addr) = start(spec(true), &certs.specs());
    let started = Instant::now();
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(LIMIT)).unwrap();
    let request = format!(
        "GET /echo HTTP/1.1\r\nHost: {}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
        host("a.test", addr)
    );
    // The server may close as soon as the first bytes show no TLS record: the rest of the
    // request then meets a closed connection, which is the behaviour under test.
    match s.write_all(request.as_bytes()) {
        Ok(()) => {}
        Err(e)
            if matches!(
                e.kind(),
                std::io::ErrorKind::BrokenPipe | std::io::ErrorKind::ConnectionReset
            ) => {}
        Err(e) => panic!("write failed: {e}"),
    }
    assert_eq!(read_all(&mut s), b"", "an answer in plaintext");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "not closed at once"
    );
    // The port still serves TLS.
    let mut c = connect(addr, "a.test", &certs.client("a.test"));
    c.text("fine");
    assert_eq!(c.recv_text(), "fine");
    server.stop();
}

#[test]
fn a_tls_client_on_a_ws_port_is_closed_without_an_answer() {
    let certs = Certs::new();
    let (server, addr) = start(spec(false), &[]);
    let started = Instant::now();
    let err = certs
        .client("a.test")
        .connect(addr)
        .expect_err("a TLS handshake with a ws:// port");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "not closed at once"
    );
    // The server sent nothing (an HTTP 400 would make rustls complain of a corrupt message).
    assert!(
        matches!(
            err.kind(),
            std::io::ErrorKind::UnexpectedEof | std::io::ErrorKind::ConnectionReset
        ),
        "{err}"
    );
    // The same by hand: the first bytes of a ClientHello, then nothing comes back.
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(LIMIT)).unwrap();
    s.write_all(&[0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00])
        .unwrap();
    assert_eq!(read_all(&mut s), b"");
    // Plain WebSockets still work there.
    let mut c = Client::connect(addr, &host("a.test", addr), "/echo");
    c.text("plain");
    assert_eq!(c.recv_text(), "plain");
    server.stop();
}

#[test]
fn a_tls_protocol_error_gets_an_alert_then_the_close() {
    let certs = Certs::new();
    let (server, addr) = start(spec(true), &certs.specs());
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(LIMIT)).unwrap();
    // A handshake record whose body is not a ClientHello.
    s.write_all(&[0x16, 0x03, 0x01, 0x00, 0x04, 0xff, 0x00, 0x00, 0x00])
        .unwrap();
    let raw = read_all(&mut s);
    // One alert record (content type 21), then the close.
    assert_eq!(raw.first(), Some(&0x15), "{raw:02x?}");
    assert_eq!(raw.len(), 7, "{raw:02x?}");
    server.stop();
}

#[test]
fn wss_connections_over_fd_alloc_c_are_closed_without_an_answer() {
    let certs = Certs::new();
    let mut spec = spec(true);
    spec.worker_c = 1;
    spec.settings.fd_alloc_c = 1;
    let (server, addr) = start(spec, &certs.specs());
    let mut a = connect(addr, "a.test", &certs.client("a.test"));
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(LIMIT)).unwrap();
    assert_eq!(read_all(&mut s), b"", "a plaintext 503 to a TLS client");
    a.text("still");
    assert_eq!(a.recv_text(), "still");
    server.stop();
}

// ---------- deadlines ----------

#[test]
fn a_silent_tls_client_is_closed_at_handshake_wait() {
    let certs = Certs::new();
    let mut spec = spec(true);
    spec.settings.handshake_wait = Duration::from_millis(300);
    let (server, addr) = start(spec, &certs.specs());
    let started = Instant::now();
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(LIMIT)).unwrap();
    // No ClientHello: nothing to answer in either protocol, just the close.
    assert_eq!(read_all(&mut s), b"");
    let waited = started.elapsed();
    assert!(
        waited >= Duration::from_millis(250) && waited < Duration::from_secs(3),
        "{waited:?}"
    );
    server.stop();
}

#[test]
fn handshake_wait_covers_tls_and_the_upgrade_together() {
    let certs = Certs::new();
    let mut spec = spec(true);
    spec.settings.handshake_wait = Duration::from_millis(600);
    let (server, addr) = start(spec, &certs.specs());
    let started = Instant::now();
    let mut s = certs.client("a.test").connect(addr).expect("TLS handshake");
    // TLS done, but no upgrade request: a 408 over TLS when handshake_wait (counted from the
    // accept) runs out, then close_notify.
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).expect("a clean TLS close");
    let waited = started.elapsed();
    let raw = String::from_utf8(raw).unwrap();
    assert!(raw.starts_with("HTTP/1.1 408 "), "{raw}");
    assert!(
        waited >= Duration::from_millis(550) && waited < Duration::from_secs(3),
        "{waited:?}"
    );
    server.stop();
}

// ---------- certificates ----------

#[test]
fn reload_switches_the_certificate_for_new_connections_only() {
    let certs = Certs::new();
    let (server, addr) = start(spec(true), &certs.specs());
    let tls = certs.client("a.test");
    let mut old = connect(addr, "a.test", &tls);
    assert!(old.peer_certificate() == Some(certs.a.der.clone()));

    let renewed = certs.pki.issue("a2", &["a.test"]);
    let mut specs = certs.specs();
    specs[1] = cert_spec(&["a.test"], &renewed);
    let report = server.reload_certs(&specs).expect("reload");
    assert_eq!(report.replaced, ["a.test"]);
    assert!(report.added.is_empty() && report.removed.is_empty());

    let mut new = connect(addr, "a.test", &tls);
    assert!(new.peer_certificate() == Some(renewed.der.clone()));
    new.text("new");
    assert_eq!(new.recv_text(), "new");
    // The connection from before the reload goes on with its session.
    old.text("old");
    assert_eq!(old.recv_text(), "old");

    // A failed reload changes nothing and names the file.
    specs[1].privkey_path = certs.pki.dir.join("missing.key");
    let err = server.reload_certs(&specs).unwrap_err();
    assert!(matches!(err, TlsError::Read { .. }), "{err}");
    assert!(err.to_string().contains("missing.key"), "{err}");
    let mut again = connect(addr, "a.test", &tls);
    assert!(again.peer_certificate() == Some(renewed.der.clone()));
    again.text("again");
    assert_eq!(again.recv_text(), "again");
    server.stop();
}

#[test]
fn start_errors_name_the_problem() {
    let certs = Certs::new();
    // A wss listener without certificates.
    let err = Server::start(spec(true)).unwrap_err();
    assert!(matches!(err, StartError::NoCertificates(_)), "{err}");
    assert!(err.to_string().contains("no certificates"), "{err}");
    // A certificate file that is not there: the file is named.
    let mut specs = certs.specs();
    specs[2].pubchain_path = certs.pki.dir.join("nowhere.crt");
    let err = Server::start_with_certs(spec(true), &specs).unwrap_err();
    assert!(
        matches!(err, StartError::Tls(TlsError::Read { .. })),
        "{err}"
    );
    assert!(err.to_string().contains("nowhere.crt"), "{err}");
    // A key that does not belong to the chain.
    let mut specs = certs.specs();
    specs[0].privkey_path = certs.a.key.clone();
    let err = Server::start_with_certs(spec(true), &specs).unwrap_err();
    assert!(
        matches!(err, StartError::Tls(TlsError::KeyMismatch { .. })),
        "{err}"
    );
}

// ---------- close paths ----------

#[test]
fn close_codes_and_closing_handshakes_over_tls() {
    let certs = Certs::new();
    let mut spec = spec(true);
    spec.settings.max_ws_msg_size = 1 << 20;
    spec.settings.max_ws_frame_chain_size = 2 << 20;
    let (server, addr) = start(spec, &certs.specs());
    let tls = certs.client("a.test");

    // The app closes with its code.
    let mut c = connect(addr, "a.test", &tls);
    c.text("close 4000");
    assert_eq!(c.recv_close(), Some(4000));
    c.expect_eof();
    assert!(c.close_notify);

    // A message over the limit: 1009.
    let mut c = connect(addr, "a.test", &tls);
    c.send(Kind::Binary, &vec![0; (1 << 20) + 1]);
    assert_eq!(c.recv_close(), Some(1009));
    c.expect_eof();
    assert!(c.close_notify);

    // Invalid UTF-8: 1007; a reserved opcode: 1002.
    let mut c = connect(addr, "a.test", &tls);
    c.send_raw(&common::raw_frame(0x1, &[0xff, 0xfe]));
    assert_eq!(c.recv_close(), Some(1007));
    c.expect_eof();
    let mut c = connect(addr, "a.test", &tls);
    c.send_raw(&common::raw_frame(0x3, b""));
    assert_eq!(c.recv_close(), Some(1002));
    c.expect_eof();

    // A first frame in the same TLS write as the upgrade request.
    let mut frames = Vec::new();
    frames.extend_from_slice(&common::raw_frame(0x1, b"early"));
    let upgrade = Upgrade {
        first_bytes: &frames,
        tls: Some(&tls),
        ..Upgrade::default()
    };
    let mut c = Client::try_connect(addr, &host("a.test", addr), "/echo", upgrade).unwrap();
    assert_eq!(c.recv_text(), "early");

    // Shutdown: 1001 to every wss client, answered, then close_notify.
    let mut kept: Vec<Client> = (0..3).map(|_| connect(addr, "a.test", &tls)).collect();
    kept.push(c);
    for c in &mut kept {
        c.text("x");
        assert_eq!(c.recv_text(), "x");
    }
    let stopper = std::thread::spawn(move || server.stop());
    for mut c in kept {
        assert_eq!(c.recv_close(), Some(1001));
        c.expect_eof();
        assert!(c.close_notify);
    }
    let report = stopper.join().unwrap();
    let opened: u64 = report.workers.iter().map(|w| w.opened).sum();
    let closed: u64 = report.workers.iter().map(|w| w.closed).sum();
    assert_eq!((opened, closed), (8, 8));
}

#[test]
fn a_wss_client_that_stops_reading_is_closed_with_1008() {
    const N: usize = 400;
    const SIZE: usize = 64 << 10;
    let certs = Certs::new();
    let mut spec = spec(true);
    spec.settings.max_client_backlog = 256 << 10;
    // The slow client reads only after the fast one is done: its close must wait for it.
    spec.settings.shutdown_wait_ws = Duration::from_secs(15);
    let (server, addr) = start(spec, &certs.specs());
    let tls = certs.client("a.test");
    let mut fast = connect(addr, "a.test", &tls);
    let mut slow = connect(addr, "a.test", &tls);
    for c in [&mut fast, &mut slow] {
        c.text("hi");
        assert_eq!(c.recv_text(), "hi");
    }
    let filler = "x".repeat(SIZE);
    for seq in 0..N {
        fast.text(&format!("all {seq:05} {filler}"));
        assert_eq!(&fast.recv_text()[..5], format!("{seq:05}"));
    }
    // An unbroken prefix of the messages, then the 1008 close (after the frame that was
    // partly written, so the stream still parses), then close_notify.
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
    assert!(slow.close_notify);
    drop(fast);
    let report = server.stop();
    let overflows: u64 = report.workers.iter().map(|w| w.backlog_overflows).sum();
    assert_eq!(overflows, 1);
}
