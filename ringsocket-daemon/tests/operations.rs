//! The operator's view of the real `ringsocket` binary: systemd's readiness protocol
//! (`READY=1`/`STOPPING=1` on a `$NOTIFY_SOCKET` the test binds, by path and by abstract
//! name), the admin listener from the configuration, and SIGHUP certificate reloads (a good one
//! swaps the certificate for new connections, a bad one keeps the old with a clear error).

mod common;
#[path = "../src/tls/test_pki.rs"]
mod test_pki;

use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::os::linux::net::SocketAddrExt;
use std::os::unix::net::UnixDatagram;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use common::daemon::{Daemon, build_c_echo, free_port, test_dir};
use common::{Client, Msg, Tls};
use ringsocket_daemon::tls::ALPN_HTTP_1_1;
use rustls::{ClientConfig, RootCertStore};
use test_pki::Pki;
use ws_proto::DataKind;

/// A configuration serving the C echo app at `ws://localhost:PORT/echo`, plus `extra` keys.
fn echo_config(dir: &Path, port: u16, extra: &str) -> PathBuf {
    let so = build_c_echo(dir);
    let config = dir.join("ringsocket.json");
    std::fs::write(
        &config,
        format!(
            r#"{{
  "ports": [{{ "port_number": {port}, "is_unencrypted": true, "ip_addrs": ["127.0.0.1"] }}],
  "apps": [{{
    "name": "echo",
    "app_path": "{}",
    "endpoints": [{{ "endpoint_id": 0, "url": "ws://localhost:{port}/echo" }}]
  }}],
  {extra}
  "user": "",
  "worker_c": 2,
  "shutdown_wait_ws": 2
}}"#,
            so.display()
        ),
    )
    .unwrap();
    config
}

fn recv_notification(socket: &UnixDatagram) -> String {
    socket
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    let mut buf = [0u8; 512];
    let n = socket.recv(&mut buf).expect("a notification within 20 s");
    String::from_utf8(buf[..n].to_vec()).unwrap()
}

/// Starts the daemon with `NOTIFY_SOCKET=notify_socket`, checks READY=1 (after it listens)
/// and STOPPING=1 (after SIGTERM).
fn notify_round_trip(dir: &Path, socket: &UnixDatagram, notify_socket: &str) {
    let port = free_port();
    let config = echo_config(dir, port, "");
    let mut command = Daemon::command(&config);
    command.env("NOTIFY_SOCKET", notify_socket);
    let daemon = Daemon::start_command(command);

    let ready = recv_notification(socket);
    assert!(ready.lines().any(|l| l == "READY=1"), "{ready:?}");
    // Sent once the listeners accept: the log says so first, and a client is served now.
    let listening = daemon.lines.iter().position(|l| l.contains("listening on"));
    let ready_line = daemon.lines.iter().position(|l| l.contains("ready"));
    assert!(listening < ready_line, "{:?}", daemon.lines);
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let mut client = Client::connect(addr, &format!("localhost:{port}"), "/echo");
    client.text("hi");
    assert_eq!(client.recv(), Msg::Text("hi".into()));

    daemon.signal("TERM");
    let stopping = recv_notification(socket);
    assert!(stopping.lines().any(|l| l == "STOPPING=1"), "{stopping:?}");
    assert_eq!(client.recv_close(), Some(1001));
    let (status, lines) = daemon.stop();
    assert!(status.success(), "{lines:?}");
    assert!(
        !lines.iter().any(|l| l.contains("cannot notify")),
        "{lines:?}"
    );
}

#[test]
fn systemd_notify_on_a_socket_path() {
    let dir = test_dir("ops-notify-path");
    let path = dir.join("notify.sock");
    let socket = UnixDatagram::bind(&path).unwrap();
    notify_round_trip(&dir, &socket, path.to_str().unwrap());
}

#[test]
fn systemd_notify_on_an_abstract_socket() {
    let dir = test_dir("ops-notify-abstract");
    let name = format!("ringsocket-test-notify-{}", std::process::id());
    let addr = std::os::unix::net::SocketAddr::from_abstract_name(name.as_bytes()).unwrap();
    let socket = UnixDatagram::bind_addr(&addr).unwrap();
    notify_round_trip(&dir, &socket, &format!("@{name}"));
}

fn http_get(addr: SocketAddr, path: &str) -> (u16, String) {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    write!(stream, "GET {path} HTTP/1.1\r\nHost: localhost\r\n\r\n").unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let status = response.split_whitespace().nth(1).unwrap().parse().unwrap();
    let body = response.split_once("\r\n\r\n").unwrap().1.to_owned();
    (status, body)
}

#[test]
fn the_admin_listener_from_the_configuration() {
    let dir = test_dir("ops-admin");
    let (port, admin_port) = (free_port(), free_port());
    let config = echo_config(
        &dir,
        port,
        &format!(r#""admin": {{ "port": {admin_port} }},"#),
    );
    let check = std::process::Command::new(env!("CARGO_BIN_EXE_ringsocket"))
        .arg("--check")
        .arg(&config)
        .output()
        .unwrap();
    assert!(check.status.success(), "{check:?}");
    let daemon = Daemon::start(&config);
    // Logged before `ready`, which `start` waited for.
    let announced = format!("admin listener on http://127.0.0.1:{admin_port}");
    assert!(
        daemon.lines.iter().any(|l| l.contains(&announced)),
        "{:?}",
        daemon.lines
    );
    let admin = SocketAddr::from((Ipv4Addr::LOCALHOST, admin_port));
    assert_eq!(http_get(admin, "/health"), (200, "ok\n".into()));

    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let mut client = Client::connect(addr, &format!("localhost:{port}"), "/echo");
    client.send(DataKind::Binary, &[1, 2, 3]);
    assert_eq!(client.recv(), Msg::Binary(vec![1, 2, 3]));
    let (status, metrics) = http_get(admin, "/metrics");
    assert_eq!(status, 200);
    for sample in [
        r#"ringsocket_messages_in_total{app="echo"} 1"#,
        r#"ringsocket_bytes_in_total{app="echo"} 3"#,
        r#"ringsocket_app_connections{app="echo"} 1"#,
        "ringsocket_workers 2",
    ] {
        assert!(
            metrics.lines().any(|l| l == sample),
            "{sample} in\n{metrics}"
        );
    }
    let (status, _) = daemon.stop();
    assert!(status.success());
}

fn tls_client(pki: &Pki) -> Tls {
    let mut roots = RootCertStore::empty();
    roots.add(pki.ca_der()).unwrap();
    let mut config =
        ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(roots)
            .with_no_client_auth();
    config.alpn_protocols = vec![ALPN_HTTP_1_1.to_vec()];
    Tls::new(Arc::new(config), "localhost")
}

#[test]
fn sighup_reloads_certificates_and_a_bad_reload_keeps_them() {
    let dir = test_dir("ops-sighup");
    let so = build_c_echo(&dir);
    let pki = Pki::new();
    let first = pki.issue("first", &["localhost"]);
    let second = pki.issue("second", &["localhost"]);
    let (key, chain) = (dir.join("live.key"), dir.join("live.crt"));
    std::fs::copy(&first.key, &key).unwrap();
    std::fs::copy(&first.chain, &chain).unwrap();
    let port = free_port();
    let config = dir.join("ringsocket.json");
    std::fs::write(
        &config,
        format!(
            r#"{{
  "ports": [{{ "port_number": {port}, "ip_addrs": ["127.0.0.1"] }}],
  "certs": [{{ "hostnames": ["localhost"], "privkey_path": "live.key", "pubchain_path": "live.crt" }}],
  "apps": [{{
    "name": "echo",
    "app_path": "{}",
    "endpoints": [{{ "endpoint_id": 0, "url": "wss://localhost:{port}/echo" }}]
  }}],
  "user": "",
  "worker_c": 2,
  "shutdown_wait_ws": 2
}}"#,
            so.display()
        ),
    )
    .unwrap();
    let mut daemon = Daemon::start(&config);
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let host = format!("localhost:{port}");
    let tls = tls_client(&pki);
    let mut old = Client::connect_tls(addr, &host, "/echo", &tls);
    assert!(old.peer_certificate() == Some(first.der.clone()));

    // Renewed files, SIGHUP: new connections get the new certificate, the old one goes on.
    std::fs::copy(&second.key, &key).unwrap();
    std::fs::copy(&second.chain, &chain).unwrap();
    daemon.signal("HUP");
    let line = daemon.wait_for_line("SIGHUP");
    assert!(line.contains("certificates reloaded"), "{line}");
    let mut new = Client::connect_tls(addr, &host, "/echo", &tls);
    assert!(new.peer_certificate() == Some(second.der.clone()));
    old.text("old");
    assert_eq!(old.recv(), Msg::Text("old".into()));

    // A broken key file: the reload fails, says why and where, and changes nothing.
    std::fs::write(&key, "not a key\n").unwrap();
    daemon.signal("HUP");
    let line = daemon.wait_for_line("SIGHUP");
    assert!(
        line.contains("certificates not reloaded, keeping the old ones"),
        "{line}"
    );
    assert!(line.contains("live.key"), "{line}");
    let mut again = Client::connect_tls(addr, &host, "/echo", &tls);
    assert!(again.peer_certificate() == Some(second.der.clone()));
    again.text("again");
    assert_eq!(again.recv(), Msg::Text("again".into()));
    new.text("new");
    assert_eq!(new.recv(), Msg::Text("new".into()));

    let (status, lines) = daemon.stop();
    assert!(status.success(), "{lines:?}");
}
