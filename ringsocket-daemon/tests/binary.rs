//! The real `ringsocket` binary, end to end: the spec's own C app (`silly_calc`, compiled with
//! gcc from `examples/silly_calc_c`) served from a generated configuration on 127.0.0.1, real
//! clients, then SIGTERM.

mod common;

use std::net::{Ipv4Addr, SocketAddr};
use std::path::Path;
use std::process::Command;

use common::daemon::{Daemon, build_c_app, build_silly_calc, free_port, test_dir, write_config};
use common::{Client, Msg};
use ws_proto::DataKind;

#[test]
fn the_spec_s_c_app_under_the_real_daemon() {
    let dir = test_dir("binary-silly-calc");
    let so = build_silly_calc(&dir);
    let port = free_port();
    let config = write_config(
        &dir,
        port,
        "silly_calc",
        &so,
        &format!(r#"{{ "endpoint_id": 7, "url": "ws://localhost:{port}/calc" }}"#),
        r#""user": "", "worker_c": 2, "shutdown_wait_ws": 5"#,
    );
    let mut daemon = Daemon::start(&config);
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let host = format!("localhost:{port}");

    // The app answers the caller with text and sends the sum to every other client. Clients
    // join one at a time, each proving with its own request that the app knows it (records
    // from different workers are ordered only by when they were published).
    let request = |i32: i32, u16s: &[u16]| {
        let mut bytes = i32.to_be_bytes().to_vec();
        for n in u16s {
            bytes.extend_from_slice(&n.to_be_bytes());
        }
        bytes
    };
    let mut clients: Vec<Client> = Vec::new();
    for i in 0..3u16 {
        let mut client = Client::connect(addr, &host, "/calc");
        client.send(DataKind::Binary, &request(1000, &[1, 2, i]));
        assert_eq!(client.recv(), Msg::Text("笑笑?".into()));
        let sum = 1003i64 + i64::from(i);
        for earlier in &mut clients {
            assert_eq!(earlier.recv(), Msg::Binary(sum.to_be_bytes().to_vec()));
        }
        clients.push(client);
    }
    let mut caller = clients.pop().unwrap();
    let mut observers = clients;

    // Validation happens in the app's .so, before the callback: no element → 4900.
    caller.send(DataKind::Binary, &1i32.to_be_bytes());
    assert_eq!(caller.recv_close(), Some(4900));
    // Text where the app reads binary → 4901.
    let mut texter = Client::connect(addr, &host, "/calc");
    texter.text("1234ab");
    assert_eq!(texter.recv_close(), Some(4901));
    // An unknown path is a complete 404.
    let rejected = Client::try_connect(addr, &host, "/nope", Default::default()).unwrap_err();
    assert_eq!(rejected.status, 404);

    // SIGTERM: every client gets 1001 and the daemon exits 0.
    daemon.signal("TERM");
    for observer in &mut observers {
        assert_eq!(observer.recv_close(), Some(1001));
    }
    daemon.wait_for_line("stopped");
    assert!(daemon.wait().success());
}

#[test]
fn a_broken_config_stops_before_serving() {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("binary-broken");
    std::fs::create_dir_all(&dir).unwrap();
    let config = dir.join("ringsocket.json");
    std::fs::write(&config, "{ \"ports\": [] }\n").unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_ringsocket"))
        .arg(&config)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains(":1:12: ports: must list at least one element"),
        "{stderr}"
    );
    assert!(stderr.contains("configuration is invalid"), "{stderr}");
}

#[test]
fn apps_see_the_whole_configuration() {
    let dir = test_dir("binary-conf-report");
    let so = build_c_app(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/apps/conf_report.c"),
        &dir,
        "conf_report",
    );
    let port = free_port();
    let config = write_config(
        &dir,
        port,
        "conf_report",
        &so,
        &format!(
            r#"{{ "endpoint_id": 1, "url": "ws://localhost:{port}/any" }},
      {{ "endpoint_id": 2, "url": "ws://localhost:{port}/none", "allowed_origins": [] }},
      {{ "endpoint_id": 3, "url": "ws://localhost:{port}/one",
         "allowed_origins": ["https://example.com"] }}"#
        ),
        r#""user": "", "log_level": "info", "worker_c": 1, "shutdown_wait_ws": 4,
  "max_client_backlog": 65536, "handshake_wait": 7, "ping_interval": 0, "pong_wait": 3,
  "syslog_path": "/run/test-syslog""#,
    );
    let mut daemon = Daemon::start(&config);
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let mut client = Client::connect(addr, &format!("localhost:{port}"), "/any");
    // LOG_INFO is 6: the app's view carries the configured level, not a default.
    assert_eq!(
        client.recv_text(),
        "log_level=6 worker_c=1 shutdown_wait_ws=4 user= syslog_path=/run/test-syslog \
         max_client_backlog=65536 handshake_wait=7 ping_interval=0 pong_wait=3 \
         endpoint1=any endpoint2=listed endpoint3=listed,https://example.com"
    );
    daemon.wait_for_line("reported the configuration");
    let (status, lines) = daemon.stop();
    assert!(status.success());
    assert!(
        !lines.iter().any(|l| l.contains("a debug line")),
        "below log_level: {lines:?}"
    );
}
