//! The admission limits against the real serving core over TCP: connections per address
//! (429), handshakes per second per address (429), messages per second per client (1008),
//! connections in all (503), and the client address a trusted proxy names (PROXY protocol v1
//! and v2, `X-Forwarded-For`), which is what apps see and what the limits count.

mod common;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use app_abi::host::App;
use app_abi::{DataKind, Rs, rs_app};
use common::{Client, Msg, Upgrade, test_spec, wait_until};
use ringsocket_daemon::server::{
    AppSource, AppSpec, ClientAddrSource, EndpointSpec, ListenerSpec, Server, ServerSpec,
};

const HOST: &str = "127.0.0.1";

/// Echoes, and answers `addr` with the client's address as the app sees it.
fn serve(rs: &mut Rs, payload: &[u8]) {
    if payload == b"addr" {
        let addr = rs.client_addr().to_string();
        rs.w_str(&addr);
        rs.to_cur(DataKind::Text);
    } else {
        common::serve(rs, payload);
    }
}

rs_app! {
    static ECHO;
    read: any serve(net [u8; 0..]),
}

fn spec(client_addr: ClientAddrSource, tweak: impl FnOnce(&mut ServerSpec)) -> ServerSpec {
    // SAFETY: made by `rs_app!`.
    let app = unsafe { App::from_static("echo", &ECHO) }.unwrap();
    let mut spec = test_spec(vec![AppSpec {
        name: "echo".into(),
        source: AppSource::Loaded(app),
        endpoints: vec![EndpointSpec {
            id: 0,
            host: HOST.into(),
            path: "/echo".into(),
            ..EndpointSpec::default()
        }],
        no_open_cb: false,
        no_close_cb: false,
    }]);
    spec.listeners = vec![ListenerSpec {
        client_addr,
        ..ListenerSpec::plain(std::net::Ipv4Addr::LOCALHOST.into(), 0)
    }];
    tweak(&mut spec);
    spec
}

fn start(spec: ServerSpec) -> (Server, SocketAddr) {
    let server = Server::start(spec).expect("the server starts");
    let addr = server.local_addrs()[0];
    (server, addr)
}

fn connect(addr: SocketAddr, upgrade: Upgrade<'_>) -> Result<Client, u16> {
    let host = format!("{HOST}:{}", addr.port());
    Client::try_connect(addr, &host, "/echo", upgrade).map_err(|r| r.status)
}

fn plain(addr: SocketAddr) -> Result<Client, u16> {
    connect(addr, Upgrade::default())
}

fn metric(server: &Server, name: &str) -> u64 {
    common::sample(&server.metrics().render(), name)
}

#[test]
fn connections_per_address_get_429_past_the_limit_until_one_closes() {
    let (server, addr) = start(spec(ClientAddrSource::Socket, |s| {
        s.settings.max_connections_per_ip = Some(3);
    }));
    let mut clients: Vec<Client> = (0..3).map(|_| plain(addr).unwrap()).collect();
    assert_eq!(plain(addr).err(), Some(429));
    assert_eq!(metric(&server, "ringsocket_refused_per_ip_total"), 1);
    let mut gone = clients.pop().unwrap();
    gone.close(1000);
    gone.recv_close();
    gone.expect_eof();
    // The slot is released when the server ends the connection.
    wait_until("the address's count to drop", || plain(addr).is_ok());
    for c in &mut clients {
        c.text("still here");
        assert_eq!(c.recv_text(), "still here");
    }
}

#[test]
fn handshakes_per_second_per_address_get_429_past_the_rate() {
    let (server, addr) = start(spec(ClientAddrSource::Socket, |s| {
        s.settings.max_handshakes_per_second_per_ip = Some(5);
    }));
    let started = std::time::Instant::now();
    let statuses: Vec<Result<(), u16>> = (0..10).map(|_| plain(addr).map(drop)).collect();
    let refilled = (started.elapsed().as_millis() / 200) as usize;
    let refused = statuses.iter().filter(|s| **s == Err(429)).count();
    // Five at once, then one more per 200 ms that passed meanwhile.
    assert!(statuses[..5].iter().all(Result::is_ok), "{statuses:?}");
    assert!(refused >= 5_usize.saturating_sub(refilled), "{statuses:?}");
    assert!(refused >= 1 || refilled >= 5, "{statuses:?}");
    assert_eq!(
        metric(&server, "ringsocket_refused_handshake_rate_total"),
        refused as u64
    );
    std::thread::sleep(Duration::from_millis(1100));
    assert!(plain(addr).is_ok(), "the budget refills");
}

#[test]
fn a_client_over_its_message_rate_is_closed_with_1008() {
    let (server, addr) = start(spec(ClientAddrSource::Socket, |s| {
        s.settings.max_messages_per_second = Some(20);
    }));
    let mut calm = plain(addr).unwrap();
    let mut flood = plain(addr).unwrap();
    let mut burst = Vec::new();
    for i in 0..100 {
        burst.extend(common::raw_frame(0x1, format!("{i}").as_bytes()));
    }
    flood.send_raw(&burst);
    let (echoed, code) = flood.recv_data_until_close(|_, _| {});
    assert_eq!(code, Some(1008));
    assert!((20..=22).contains(&echoed), "{echoed} echoed");
    assert_eq!(metric(&server, "ringsocket_message_rate_closes_total"), 1);
    // Others are unaffected.
    for i in 0..10 {
        calm.text(&format!("c{i}"));
        assert_eq!(calm.recv_text(), format!("c{i}"));
    }
}

#[test]
fn connections_over_the_total_get_503() {
    let (_server, addr) = start(spec(ClientAddrSource::Socket, |s| {
        s.settings.max_connections = Some(2);
    }));
    let _a = plain(addr).unwrap();
    let _b = plain(addr).unwrap();
    let mut extra = TcpStream::connect(addr).unwrap();
    extra.set_read_timeout(Some(common::LIMIT)).unwrap();
    let mut answer = String::new();
    extra.read_to_string(&mut answer).unwrap();
    assert!(answer.starts_with("HTTP/1.1 503 "), "{answer}");
}

fn whoami(client: &mut Client) -> String {
    client.text("addr");
    client.recv_text()
}

/// A PROXY protocol v2 header for TCP over IPv4.
fn proxy_v2(src: [u8; 4], src_port: u16) -> Vec<u8> {
    let mut h = b"\r\n\r\n\0\r\nQUIT\n".to_vec();
    h.extend([0x21, 0x11, 0, 12]);
    h.extend(src);
    h.extend([127, 0, 0, 1]);
    h.extend(src_port.to_be_bytes());
    h.extend(443u16.to_be_bytes());
    h
}

#[test]
fn a_proxy_protocol_port_sees_and_limits_the_client_the_header_names() {
    let (_server, addr) = start(spec(ClientAddrSource::ProxyProtocol, |s| {
        s.settings.max_connections_per_ip = Some(1);
    }));
    let v1 = b"PROXY TCP4 203.0.113.9 127.0.0.1 40001 443\r\n";
    let mut a = connect(
        addr,
        Upgrade {
            preamble: v1,
            ..Upgrade::default()
        },
    )
    .unwrap();
    assert_eq!(whoami(&mut a), "203.0.113.9:40001");
    let v2 = proxy_v2([198, 51, 100, 4], 50000);
    let mut b = connect(
        addr,
        Upgrade {
            preamble: &v2,
            ..Upgrade::default()
        },
    )
    .unwrap();
    assert_eq!(whoami(&mut b), "198.51.100.4:50000");
    // The same client again: its address is at the limit, whatever the balancer's is.
    let again = b"PROXY TCP4 203.0.113.9 127.0.0.1 40002 443\r\n";
    let refused = connect(
        addr,
        Upgrade {
            preamble: again,
            ..Upgrade::default()
        },
    );
    assert_eq!(refused.err(), Some(429));
    // No header, or a broken one: closed without an answer (nobody to trust).
    for junk in [&b"GET /echo HTTP/1.1\r\n\r\n"[..], b"PROXY TCP4 1.2.3\r\n"] {
        let mut s = TcpStream::connect(addr).unwrap();
        s.set_read_timeout(Some(common::LIMIT)).unwrap();
        s.write_all(junk).unwrap();
        let mut rest = Vec::new();
        let _ = s.read_to_end(&mut rest);
        assert!(rest.is_empty(), "{:?}", String::from_utf8_lossy(&rest));
    }
    a.text("ok");
    assert_eq!(a.recv(), Msg::Text("ok".into()));
}

#[test]
fn x_forwarded_for_is_trusted_only_where_configured() {
    let xff = Upgrade {
        headers: &[("X-Forwarded-For", "10.9.8.7, 192.0.2.44")],
        ..Upgrade::default()
    };
    let (_trusting, addr) = start(spec(ClientAddrSource::XForwardedFor, |_| {}));
    let mut c = connect(addr, xff).unwrap();
    assert_eq!(whoami(&mut c), "192.0.2.44:0");
    let (_direct, addr) = start(spec(ClientAddrSource::Socket, |_| {}));
    let mut c = connect(addr, xff).unwrap();
    assert!(whoami(&mut c).starts_with("127.0.0.1:"));
}
