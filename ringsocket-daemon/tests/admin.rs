//! The admin listener end to end, in process: a real [`Server`] on 127.0.0.1 with an
//! `rs_app!` echo app, the admin thread on its own port, and plain HTTP requests to `/metrics`
//! and `/health` while clients send, close and get closed, until the only app goes fatal and
//! `/health` says 503.

mod common;

use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::time::Duration;

use app_abi::host::App;
use app_abi::{AppCloseCode, Rs, Stop, rs_app};
use common::{Client, Msg, sample, test_spec, wait_until};
use ringsocket_daemon::admin::{self, AdminServer};
use ringsocket_daemon::server::{AppSource, AppSpec, EndpointSpec, Server, ServerSpec};
use ws_proto::DataKind as Kind;

/// Echoes; `close N` closes the client with N; `die` stops the app fatally.
fn serve(rs: &mut Rs, payload: &[u8]) -> Result<(), Stop> {
    if payload == b"die" {
        return Err(Stop::Fatal);
    }
    if let Some(code) = payload.strip_prefix(b"close ") {
        let code = std::str::from_utf8(code).unwrap().parse().unwrap();
        rs.close_cur(AppCloseCode::new(code).unwrap());
        return Ok(());
    }
    let kind = rs.read_data_kind();
    rs.w_bytes(payload);
    rs.to_cur(kind);
    Ok(())
}

rs_app! {
    static ECHO;
    read: any serve(net [u8; 0..]),
}

fn start() -> (Server, SocketAddr, AdminServer) {
    // SAFETY: the descriptor is made by `rs_app!`.
    let app = unsafe { App::from_static("echo", &ECHO) }.unwrap();
    let spec = ServerSpec {
        apps: vec![AppSpec {
            name: "echo".into(),
            source: AppSource::Loaded(app),
            endpoints: vec![EndpointSpec {
                id: 0,
                host: "localhost".into(),
                port: 0,
                path: "/echo".into(),
                allowed_origins: None,
                ..EndpointSpec::default()
            }],
            no_open_cb: false,
            no_close_cb: false,
        }],
        ..test_spec(Vec::new())
    };
    let server = Server::start(spec).unwrap();
    let addr = server.local_addrs()[0];
    let listener = admin::bind((Ipv4Addr::LOCALHOST, 0).into()).unwrap();
    let admin = AdminServer::start(listener, server.metrics()).unwrap();
    (server, addr, admin)
}

/// One HTTP/1.1 request; the status code and the body.
fn get(addr: SocketAddr, request: &str) -> (u16, String) {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    stream.write_all(request.as_bytes()).unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let status = response
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("not an HTTP response: {response:?}"));
    let body = response
        .split_once("\r\n\r\n")
        .map(|(_, body)| body.to_owned())
        .unwrap_or_default();
    (status, body)
}

fn path(addr: SocketAddr, path: &str) -> (u16, String) {
    get(
        addr,
        &format!("GET {path} HTTP/1.1\r\nHost: localhost\r\n\r\n"),
    )
}

#[test]
fn metrics_follow_the_traffic_and_health_follows_the_app() {
    let (server, addr, admin) = start();
    let admin_addr = admin.local_addr();
    let host = &format!("localhost:{}", addr.port());

    assert_eq!(path(admin_addr, "/health"), (200, "ok\n".into()));
    let (status, metrics) = path(admin_addr, "/metrics");
    assert_eq!(status, 200);
    assert!(
        metrics.contains("# TYPE ringsocket_messages_in_total counter"),
        "{metrics}"
    );
    assert_eq!(
        sample(&metrics, r#"ringsocket_app_connections{app="echo"}"#),
        0
    );
    assert_eq!(sample(&metrics, r#"ringsocket_app_running{app="echo"}"#), 1);

    // Two clients: 3 messages of 5 bytes in and back from one, 1 of 100 from the other.
    let mut a = Client::connect(addr, host, "/echo");
    let mut b = Client::connect(addr, host, "/echo");
    for _ in 0..3 {
        a.send(Kind::Text, b"hello");
        assert_eq!(a.recv(), Msg::Text("hello".into()));
    }
    b.send(Kind::Binary, &[7; 100]);
    assert_eq!(b.recv(), Msg::Binary(vec![7; 100]));
    let (_, metrics) = path(admin_addr, "/metrics");
    let port = addr.port();
    assert_eq!(
        sample(&metrics, r#"ringsocket_app_connections{app="echo"}"#),
        2
    );
    assert_eq!(
        sample(&metrics, r#"ringsocket_app_connections_total{app="echo"}"#),
        2
    );
    assert_eq!(
        sample(
            &metrics,
            &format!(r#"ringsocket_port_connections{{port="{port}",tls="false"}}"#)
        ),
        2
    );
    assert_eq!(
        sample(&metrics, r#"ringsocket_messages_in_total{app="echo"}"#),
        4
    );
    assert_eq!(
        sample(&metrics, r#"ringsocket_bytes_in_total{app="echo"}"#),
        115
    );
    assert_eq!(
        sample(&metrics, r#"ringsocket_messages_out_total{app="echo"}"#),
        4
    );
    // Frames out: 3 × (2 + 5) and (2 + 100) with their headers.
    assert_eq!(
        sample(&metrics, r#"ringsocket_bytes_out_total{app="echo"}"#),
        21 + 102
    );
    assert!(
        sample(
            &metrics,
            r#"ringsocket_inbound_ring_capacity_bytes{app="echo"}"#
        ) > 0
    );
    // Every message was answered, so both rings are drained (the gauges are set after each
    // drain: by the app thread for its inbound rings, by the workers for the outbound ones).
    assert_eq!(
        sample(
            &metrics,
            r#"ringsocket_inbound_ring_used_bytes{app="echo"}"#
        ),
        0
    );
    assert_eq!(
        sample(
            &metrics,
            r#"ringsocket_outbound_ring_used_bytes{app="echo"}"#
        ),
        0
    );
    assert_eq!(
        sample(&metrics, "ringsocket_tls_handshake_failures_total"),
        0
    );

    // Closes by code: the client closes one with 1000, the app closes the other with 4321, a
    // third vanishes without a close frame (1006).
    a.close(1000);
    assert_eq!(a.recv_close(), Some(1000));
    b.text("close 4321");
    assert_eq!(b.recv_close(), Some(4321));
    let c = Client::connect(addr, host, "/echo");
    drop(c);
    wait_until("three closes counted", || {
        server.metrics().totals().closed == 3
    });
    let (_, metrics) = path(admin_addr, "/metrics");
    assert_eq!(
        sample(&metrics, r#"ringsocket_closes_total{code="1000"}"#),
        1
    );
    assert_eq!(
        sample(&metrics, r#"ringsocket_closes_total{code="4321"}"#),
        1
    );
    assert_eq!(
        sample(&metrics, r#"ringsocket_closes_total{code="1006"}"#),
        1
    );
    assert_eq!(
        sample(&metrics, r#"ringsocket_app_connections{app="echo"}"#),
        0
    );
    assert_eq!(sample(&metrics, "ringsocket_slow_client_closes_total"), 0);
    let totals = server.metrics().totals();
    assert_eq!((totals.opened, totals.closed), (3, 3));

    // Anything else: 404, 405.
    assert_eq!(path(admin_addr, "/").0, 404);
    assert_eq!(
        get(admin_addr, "POST /metrics HTTP/1.1\r\nHost: x\r\n\r\n").0,
        405
    );
    let (status, body) = get(admin_addr, "HEAD /health HTTP/1.1\r\n\r\n");
    assert_eq!((status, body.as_str()), (200, ""));

    // The only app goes fatal: /health turns 503.
    let mut d = Client::connect(addr, host, "/echo");
    d.text("die");
    assert_eq!(d.recv_close(), Some(1011));
    wait_until("the app to be marked stopped", || {
        server.app_status(0).is_some_and(|s| s.is_stopped())
    });
    let (status, body) = path(admin_addr, "/health");
    assert_eq!((status, body.as_str()), (503, "no app is running\n"));
    let (_, metrics) = path(admin_addr, "/metrics");
    assert_eq!(sample(&metrics, r#"ringsocket_app_running{app="echo"}"#), 0);

    admin.stop();
    let report = server.stop();
    let accepted: u64 = report.workers.iter().map(|w| w.accepted).sum();
    assert_eq!(accepted, 4);
}
