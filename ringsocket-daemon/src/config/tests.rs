//! Rule tests: each asserts the exact message, key path and position.

use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use super::*;

/// A fresh directory under the system temp dir.
pub(crate) fn temp_dir(tag: &str) -> PathBuf {
    static N: AtomicUsize = AtomicUsize::new(0);
    let dir = std::env::temp_dir().join(format!(
        "ringsocket-config-{tag}-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    // Fresh: a PID is reused across runs (inside a PID namespace, always), and so is the path.
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create temp dir");
    dir
}

/// No file or user checks, and a fixed hard fd limit (this machine's: 20000).
fn opts() -> LoadOptions {
    LoadOptions {
        check_files: false,
        nofile_hard_limit: Some(20_000),
        ..LoadOptions::default()
    }
}

fn load(text: &str, options: &LoadOptions) -> Result<(Config, Vec<String>), Vec<String>> {
    match Config::from_str_with(text, "t.json", options) {
        Ok((c, w)) => Ok((c, w.iter().map(ToString::to_string).collect())),
        Err(e) => Err(e.errors.iter().map(ToString::to_string).collect()),
    }
}

fn errors(text: &str) -> Vec<String> {
    match load(text, &opts()) {
        Ok((c, _)) => panic!("expected errors, got {c:#?}"),
        Err(e) => e,
    }
}

fn valid(text: &str) -> (Config, Vec<String>) {
    match load(text, &opts()) {
        Ok(ok) => ok,
        Err(e) => panic!("expected a valid config:\n{}", e.join("\n")),
    }
}

/// A minimal valid configuration; `EXTRA` on line 2 takes global keys.
const MIN: &str = r#"{
  "ports": [{"port_number": 8080, "is_unencrypted": true}], EXTRA
  "apps": [{
    "name": "a",
    "app_path": "/a.so",
    "endpoints": [{"endpoint_id": 0, "url": "ws://localhost:8080/a", "allowed_origins": []}]
  }]
}"#;

fn min_with(extra: &str) -> String {
    MIN.replace("EXTRA", extra)
}

fn min() -> String {
    min_with("")
}

#[test]
fn defaults() {
    let (c, warnings) = valid(&min());
    assert!(warnings.is_empty(), "{warnings:?}");
    assert_eq!(c.settings.log_level, Level::Notice);
    assert_eq!(c.settings.worker_c, None);
    assert_eq!(c.worker_count(2), 1);
    assert_eq!(c.worker_count(8), 7);
    assert_eq!(c.settings.shutdown_wait_http, Duration::from_secs(15));
    assert_eq!(c.settings.shutdown_wait_ws, Duration::from_secs(30));
    assert_eq!(c.settings.fd_alloc_c, 4096);
    assert_eq!(c.settings.max_ws_msg_size, 16 << 20);
    assert_eq!(c.settings.max_ws_frame_chain_size, 18_454_938);
    assert_eq!(c.settings.realloc_multiplier, 1.5);
    assert_eq!(c.settings.worker_rbuf_size, 32 << 20);
    assert_eq!(c.settings.inbound_ring_buf_size, 64 << 20);
    assert_eq!(c.settings.outbound_ring_buf_size, 128 << 20);
    assert_eq!(c.settings.owrefs_elem_c, 10_000);
    assert_eq!(c.settings.epoll_buf_elem_c, 100);
    assert_eq!(c.settings.update_queue_size, 5);
    assert_eq!(c.settings.user.as_deref(), Some("ringsock"));
    assert_eq!(c.settings.handshake_wait, Duration::from_secs(10));
    assert_eq!(c.settings.ping_interval, Some(Duration::from_secs(30)));
    assert_eq!(c.settings.pong_wait, Duration::from_secs(10));
    assert_eq!(c.settings.max_client_backlog, 8 << 20);
    assert_eq!(c.settings.syslog_path, PathBuf::from("/dev/log"));
    assert!(c.certs.is_empty());
    let port = &c.ports[0];
    assert_eq!(
        (port.port_number, port.is_unencrypted, port.family),
        (8080, true, IpFamily::Both)
    );
    let addrs: Vec<String> = port
        .listen_addrs()
        .iter()
        .map(|l| format!("{} {}", l.addr, l.v6only))
        .collect();
    assert_eq!(addrs, ["0.0.0.0:8080 false", "[::]:8080 true"]);
    let app = &c.apps[0];
    assert_eq!(
        (app.name.as_str(), app.app_path.as_path()),
        ("a", std::path::Path::new("/a.so"))
    );
    assert_eq!(
        (
            app.wbuf_size,
            app.update_queue_size,
            app.no_open_cb,
            app.no_close_cb
        ),
        (1 << 20, 5, false, false)
    );
    let ep = &app.endpoints[0];
    assert_eq!(ep.url.to_string(), "ws://localhost:8080/a");
    assert_eq!(ep.url_text, "ws://localhost:8080/a");
    assert_eq!(ep.allowed_origins, Some(vec![]));
}

#[test]
fn explicit_globals() {
    let (c, _) = valid(&min_with(
        r#""log_level": "warning", "worker_c": 3, "max_ws_msg_size": 1000, "user": "", "ping_interval": 0,
  "update_queue_size": 9, "realloc_multiplier": 2, "shutdown_wait_ws": 5, "syslog_path": "/run/log","#,
    ));
    assert_eq!(c.settings.log_level, Level::Warning);
    assert_eq!(c.settings.worker_c, Some(3));
    assert_eq!(c.worker_count(64), 3);
    assert_eq!(
        c.settings.max_ws_frame_chain_size, 1100,
        "1.1 × the effective max_ws_msg_size"
    );
    assert_eq!(c.settings.user, None);
    assert_eq!(c.settings.ping_interval, None);
    assert_eq!(c.apps[0].update_queue_size, 9, "inherits the global value");
    assert_eq!(c.settings.realloc_multiplier, 2.0);
    assert_eq!(c.settings.shutdown_wait_ws, Duration::from_secs(5));
    assert_eq!(
        c.settings.shutdown_wait_http,
        Duration::from_secs(15),
        "not overwritten by shutdown_wait_ws"
    );
    assert_eq!(c.settings.syslog_path, PathBuf::from("/run/log"));
    assert_eq!(c.settings.worker_c, Some(3));
    let (c, _) = valid(&min_with(r#""worker_c": 0,"#));
    assert_eq!(
        c.settings.worker_c, None,
        "0 is automatic, as in the original"
    );
}

#[test]
fn unknown_keys_name_their_path_and_suggest() {
    let text = r#"{
  "ports": [{"port_number": 8080, "is_unencrypted": true, "ipv4_addrs": ["127.0.0.1"]}],
  "apps": [{
    "name": "a", "app_path": "/a.so", "colour": 1,
    "endpoints": [{"endpoint_id": 0, "url": "ws://localhost:8080/a", "allowed_origins": []}]
  }],
  "monitoring": {}
}"#;
    assert_eq!(
        errors(text),
        [
            r#"t.json:2:59: ports[0].ipv4_addrs: unknown key "ipv4_addrs"; did you mean "ip_addrs"?"#,
            r#"t.json:4:39: apps[0].colour: unknown key "colour"; known keys here: name, app_path, endpoints, no_open_cb, no_close_cb, wbuf_size, update_queue_size"#,
            r#"t.json:7:3: monitoring: unknown key "monitoring"; known keys here: ports, certs, apps, log_level, worker_c, shutdown_wait_http, shutdown_wait_ws, fd_alloc_c, max_ws_msg_size, max_ws_frame_chain_size, realloc_multiplier, worker_rbuf_size, inbound_ring_buf_size, outbound_ring_buf_size, owrefs_elem_c, epoll_buf_elem_c, update_queue_size, user, handshake_wait, ping_interval, pong_wait, max_client_backlog, syslog_path, permessage_deflate, max_connections, max_connections_per_ip, max_handshakes_per_second_per_ip, max_messages_per_second, admin"#,
        ]
    );
}

#[test]
fn wrong_types() {
    let text = r#"{
  "ports": [{"port_number": "8080", "is_unencrypted": "true"}],
  "apps": {},
  "log_level": 3
}"#;
    assert_eq!(
        errors(text),
        [
            r#"t.json:2:29: ports[0].port_number: "8080": expected a whole number, found a string; write 8080 without quotes"#,
            r#"t.json:2:55: ports[0].is_unencrypted: "true": expected true or false, found a string; write true without quotes"#,
            "t.json:3:11: apps: expected an array, found an object",
            "t.json:4:16: log_level: 3: expected a string, found a number",
        ]
    );
}

#[test]
fn ranges() {
    let text = min_with(
        r#""worker_c": 1000, "realloc_multiplier": 3.5, "max_ws_msg_size": 10, "pong_wait": -1,
  "max_ws_frame_chain_size": 99, "log_level": "verbose","#,
    );
    assert_eq!(
        errors(&text),
        [
            "t.json:2:73: worker_c: 1000: out of range: must be a whole number from 0 to 256",
            "t.json:2:101: realloc_multiplier: 3.5: out of range: must be from 1.05 to 2.5",
            "t.json:2:125: max_ws_msg_size: 10: out of range: must be a whole number from 125 to 68719476736 (64 GiB)",
            "t.json:2:142: pong_wait: -1: out of range: must be a whole number from 1 to 3600",
            "t.json:3:30: max_ws_frame_chain_size: 99: smaller than max_ws_msg_size (16777216 (16 MiB)); it counts frame headers too, so it must be at least max_ws_msg_size; omit it for 18454938",
            r#"t.json:3:47: log_level: "verbose": unknown log level; use "error", "warning", "notice", "info" or "debug""#,
        ]
    );
    let port0 = min().replace("8080, \"is", "0, \"is");
    assert_eq!(
        errors(&port0)[0],
        "t.json:2:29: ports[0].port_number: 0: out of range: must be a whole number from 1 to 65535"
    );
}

#[test]
fn missing_required_keys() {
    assert_eq!(
        errors("{}"),
        [
            r#"t.json:1:1: apps: missing (required); add "apps": [{"name": ..., "app_path": ..., "endpoints": [...]}]"#,
            r#"t.json:1:1: ports: missing (required); add "ports": [{"port_number": 443}]"#,
        ]
    );
    let text = r#"{
  "ports": [{"is_unencrypted": true}],
  "apps": [{"name": "a", "app_path": "/a.so", "endpoints": [{"endpoint_id": 0}]}]
}"#;
    assert_eq!(
        errors(text),
        [
            r#"t.json:2:13: ports[0].port_number: missing (required); add "port_number": 443 (or the port to listen on)"#,
            r#"t.json:3:61: apps[0].endpoints[0].url: missing (required); add "url": "wss://example.com/path""#,
        ]
    );
    assert_eq!(
        errors(r#"{"ports": [], "apps": []}"#),
        [
            r#"t.json:1:11: ports: must list at least one element; add {"port_number": 443}"#,
            r#"t.json:1:23: apps: must list at least one element; add an app: {"name": ..., "app_path": ..., "endpoints": [...]}"#,
        ]
    );
}

#[test]
fn ip_addrs_and_interface_exclude_each_other() {
    let text = min().replace(
        r#""is_unencrypted": true}"#,
        r#""is_unencrypted": true, "ip_addrs": ["127.0.0.1"], "interface": "eth0"}"#,
    );
    assert_eq!(
        errors(&text),
        [
            r#"t.json:2:99: ports[0].interface: "eth0": cannot be combined with "ip_addrs" (ports[0].ip_addrs); keep one: ip_addrs binds addresses, interface binds a device"#
        ]
    );
    let (c, _) = valid(&min().replace(
        r#""is_unencrypted": true}"#,
        r#""is_unencrypted": true, "interface": "eth0"}"#,
    ));
    assert_eq!(c.ports[0].interface.as_deref(), Some("eth0"));
    let (c, _) = valid(&min().replace(
        r#""is_unencrypted": true}"#,
        r#""is_unencrypted": true, "interface": ""}"#,
    ));
    assert_eq!(
        c.ports[0].interface, None,
        "\"\" means no interface, as in the original"
    );
}

#[test]
fn ip_families() {
    let with = |extra: &str| {
        min().replace(
            r#""is_unencrypted": true}"#,
            &format!(r#""is_unencrypted": true, {extra}}}"#),
        )
    };
    assert_eq!(
        errors(&with(r#""ipv4only": true, "ipv6only": true"#)),
        [
            "t.json:2:89: ports[0].ipv6only: ipv4only, ipv6only and ipv4_is_embedded_in_ipv6 exclude each other; set at most one of them to true"
        ]
    );
    assert_eq!(
        errors(&with(
            r#""ipv4only": true, "ip_addrs": ["::1", "10.0.0.1", "10.0.0.1", "[::2]"]"#
        )),
        [
            r#"t.json:2:90: ports[0].ip_addrs[0]: "::1": an IPv6 address on an "ipv4only" port"#,
            r#"t.json:2:109: ports[0].ip_addrs[2]: "10.0.0.1": listed twice; remove the repetition"#,
            r#"t.json:2:121: ports[0].ip_addrs[3]: "[::2]": not an IPv4 or IPv6 address; write IPv6 addresses without brackets"#,
        ]
    );
    let (c, _) = valid(&with(r#""ipv4_is_embedded_in_ipv6": true"#));
    assert_eq!(c.ports[0].family, IpFamily::Ipv4InIpv6);
    assert_eq!(
        c.ports[0].listen_addrs(),
        [ListenAddr {
            addr: "[::]:8080".parse().expect("addr"),
            v6only: false
        }]
    );
    let (c, _) = valid(&with(r#""ipv6only": true"#));
    assert_eq!(
        c.ports[0].listen_addrs(),
        [ListenAddr {
            addr: "[::]:8080".parse().expect("addr"),
            v6only: true
        }]
    );
    let (c, _) = valid(&with(r#""ipv4only": true"#));
    assert_eq!(
        c.ports[0].listen_addrs(),
        [ListenAddr {
            addr: "0.0.0.0:8080".parse().expect("addr"),
            v6only: false
        }]
    );
    let (c, _) = valid(&with(r#""ip_addrs": ["127.0.0.1", "::1"]"#));
    let addrs: Vec<String> = c.ports[0]
        .listen_addrs()
        .iter()
        .map(|l| format!("{} {}", l.addr, l.v6only))
        .collect();
    assert_eq!(addrs, ["127.0.0.1:8080 false", "[::1]:8080 true"]);
}

#[test]
fn port_listed_twice() {
    let text = min().replace(
        r#""ports": [{"port_number": 8080, "is_unencrypted": true}]"#,
        r#""ports": [{"port_number": 8080, "is_unencrypted": true}, {"port_number": 8080, "is_unencrypted": true}]"#,
    );
    assert_eq!(
        errors(&text),
        [
            "t.json:2:76: ports[1].port_number: 8080: port 8080 is already configured at ports[0]; list each port once (one port serves all its endpoints)"
        ]
    );
}

/// Apps with the given endpoint lines; ports 8080 (ws) and 8443 (wss), one cert.
fn endpoints(lines: &str) -> String {
    format!(
        r#"{{
  "ports": [{{"port_number": 8080, "is_unencrypted": true}}, {{"port_number": 8443}}],
  "certs": [{{"hostnames": ["example.com", "*.example.com"], "privkey_path": "/k", "pubchain_path": "/c"}}],
  "apps": [{{"name": "a", "app_path": "/a.so", "endpoints": [
{lines}
  ]}}]
}}"#
    )
}

#[test]
fn endpoint_url_rules() {
    let text = endpoints(
        r#"    {"endpoint_id": 0, "url": "wss://x.example.com:9000/a", "allowed_origins": []},
    {"endpoint_id": 1, "url": "ws://localhost:8443/a", "allowed_origins": []},
    {"endpoint_id": 2, "url": "wss://a.example.com:8080/a", "allowed_origins": []},
    {"endpoint_id": 3, "url": "ws://localhost:9001/a?x", "allowed_origins": []},
    {"endpoint_id": 4, "url": "ws://localhost:8080", "allowed_origins": []},
    {"endpoint_id": 5, "url": "ws://LocalHost:8080/", "allowed_origins": []}"#,
    );
    assert_eq!(
        errors(&text),
        [
            r#"t.json:5:31: apps[0].endpoints[0].url: "wss://x.example.com:9000/a": port 9000 is not configured; add {"port_number": 9000} to "ports""#,
            r#"t.json:6:31: apps[0].endpoints[1].url: "ws://localhost:8443/a": ws:// on port 8443, which is a TLS (wss://) port (ports[1]); use wss://, or set "is_unencrypted": true on that port"#,
            r#"t.json:7:31: apps[0].endpoints[2].url: "wss://a.example.com:8080/a": wss:// on port 8080, which is unencrypted ("is_unencrypted": true at ports[0]); use ws://, or make the port a TLS one"#,
            r#"t.json:8:31: apps[0].endpoints[3].url: "ws://localhost:9001/a?x": an endpoint URL has no query or fragment; clients connect to the path alone"#,
            r#"t.json:10:31: apps[0].endpoints[5].url: "ws://LocalHost:8080/": same URL (ws://localhost:8080/) as apps[0].endpoints[4].url; give each endpoint its own URL"#,
        ]
    );
}

#[test]
fn same_url_across_apps_with_default_port() {
    let text = r#"{
  "ports": [{"port_number": 80, "is_unencrypted": true}],
  "apps": [
    {"name": "a", "app_path": "/a.so", "endpoints": [{"endpoint_id": 0, "url": "ws://Example.com/x", "allowed_origins": []}]},
    {"name": "b", "app_path": "/b.so", "endpoints": [{"endpoint_id": 0, "url": "ws://example.COM:80/x", "allowed_origins": []}]}
  ]
}"#;
    assert_eq!(
        errors(text),
        [
            r#"t.json:5:80: apps[1].endpoints[0].url: "ws://example.COM:80/x": same URL (ws://example.com:80/x) as apps[0].endpoints[0].url; give each endpoint its own URL"#
        ]
    );
}

#[test]
fn duplicate_endpoint_ids_within_an_app() {
    let text = endpoints(
        r#"    {"endpoint_id": 7, "url": "ws://localhost:8080/a", "allowed_origins": []},
    {"endpoint_id": 7, "url": "ws://localhost:8080/b", "allowed_origins": []}"#,
    );
    assert_eq!(
        errors(&text),
        [
            "t.json:6:21: apps[0].endpoints[1].endpoint_id: 7: endpoint id 7 is already used by apps[0].endpoints[0]; give each endpoint of an app its own id"
        ]
    );
}

#[test]
fn wss_hosts_need_a_covering_cert() {
    let text = endpoints(
        r#"    {"endpoint_id": 0, "url": "wss://example.com:8443/a", "allowed_origins": []},
    {"endpoint_id": 1, "url": "wss://A.Example.com:8443/a", "allowed_origins": []},
    {"endpoint_id": 2, "url": "wss://a.b.example.com:8443/a", "allowed_origins": []},
    {"endpoint_id": 3, "url": "wss://other.org:8443/a", "allowed_origins": []}"#,
    );
    assert_eq!(
        errors(&text),
        [
            r#"t.json:7:31: apps[0].endpoints[2].url: "wss://a.b.example.com:8443/a": no certificate covers host "a.b.example.com" (*.example.com covers exactly one label: a.example.com, not example.com nor a.b.example.com); add the host to a cert's "hostnames""#,
            r#"t.json:8:31: apps[0].endpoints[3].url: "wss://other.org:8443/a": no certificate covers host "other.org"; add the host to a cert's "hostnames""#,
        ]
    );
    // Only the wildcard: the bare domain is not covered.
    let text = text
        .replace(
            r#"["example.com", "*.example.com"]"#,
            r#"["*.example.com"]"#,
        )
        .replace("wss://a.b.example.com", "wss://b.example.com")
        .replace("wss://other.org", "wss://c.example.com");
    assert_eq!(
        errors(&text),
        [
            r#"t.json:5:31: apps[0].endpoints[0].url: "wss://example.com:8443/a": no certificate covers host "example.com" (*.example.com covers exactly one label: a.example.com, not example.com nor a.b.example.com); add the host to a cert's "hostnames""#
        ]
    );
}

#[test]
fn name_coverage() {
    assert!(name_covers("example.com", "EXAMPLE.com"));
    assert!(name_covers("*.example.com", "a.example.com"));
    assert!(!name_covers("*.example.com", "example.com"));
    assert!(!name_covers("*.example.com", "a.b.example.com"));
    assert!(!name_covers("*.example.com", ".example.com"));
    assert!(!name_covers("example.com", "a.example.com"));
}

#[test]
fn cert_rules() {
    let text = r#"{
  "ports": [{"port_number": 443}],
  "certs": [
    {"hostnames": ["a*.example.com", "Example.com"], "privkey_path": "/k", "pubchain_path": "/c"},
    {"hostnames": ["example.com"], "privkey_path": "", "pubchain_path": "/c"},
    {"hostnames": []}
  ],
  "apps": [{"name": "a", "app_path": "/a.so", "endpoints": [{"endpoint_id": 0, "url": "wss://example.com/", "allowed_origins": []}]}]
}"#;
    assert_eq!(
        errors(text),
        [
            r#"t.json:4:20: certs[0].hostnames[0]: "a*.example.com": only a whole leftmost label may be a wildcard ("*.example.com")"#,
            r#"t.json:5:20: certs[1].hostnames[0]: "example.com": also listed at certs[0].hostnames[1]; list each host name in one cert only"#,
            r#"t.json:5:52: certs[1].privkey_path: "": the path is empty"#,
            r#"t.json:6:5: certs[2].privkey_path: missing (required); add the path of the PEM file"#,
            r#"t.json:6:5: certs[2].pubchain_path: missing (required); add the path of the PEM file"#,
            r#"t.json:6:19: certs[2].hostnames: must list at least one element; add the names the certificate was issued for"#,
        ]
    );
}

#[test]
fn wss_port_without_certs() {
    let text = r#"{
  "ports": [{"port_number": 443, "is_unencrypted": false}],
  "apps": [{"name": "a", "app_path": "/a.so", "endpoints": [{"endpoint_id": 0, "url": "wss://example.com/", "allowed_origins": []}]}]
}"#;
    assert_eq!(
        errors(text),
        [
            r#"t.json:2:52: ports[0].is_unencrypted: port 443 is a TLS (wss://) port but no "certs" are configured; add "certs", or set "is_unencrypted": true for plain ws://"#
        ]
    );
}

#[test]
fn allowed_origins_are_origins() {
    let text = endpoints(
        r#"    {"endpoint_id": 0, "url": "ws://localhost:8080/a", "allowed_origins": ["https://example.com/", "example.com", "null", "http://localhost:8000"]}"#,
    );
    assert_eq!(
        errors(&text),
        [
            r#"t.json:5:76: apps[0].endpoints[0].allowed_origins[0]: "https://example.com/": not an origin: invalid host or port (an origin has no path, query or trailing slash); an origin is scheme://host[:port] with no path, not even a trailing slash"#,
            r#"t.json:5:100: apps[0].endpoints[0].allowed_origins[1]: "example.com": not an origin: no "://" after the scheme; write it as scheme://host[:port], e.g. "https://example.com""#,
        ]
    );
}

#[test]
fn warnings() {
    let text = endpoints(r#"    {"endpoint_id": 0, "url": "ws://localhost:8080/a"}"#).replace(
        r#"{"port_number": 8443}"#,
        r#"{"port_number": 8443}, {"port_number": 9000, "is_unencrypted": true}"#,
    );
    let (c, warnings) = valid(&text);
    assert_eq!(c.apps[0].endpoints[0].allowed_origins, None);
    assert_eq!(
        warnings,
        [
            "t.json:2:60: warning: ports[1]: no endpoint uses port 8443, so every upgrade there is answered 404",
            "t.json:2:83: warning: ports[2]: no endpoint uses port 9000, so every upgrade there is answered 404",
            r#"t.json:5:5: warning: apps[0].endpoints[0]: "allowed_origins" is omitted, so browser pages from any origin may connect; list the allowed origins (e.g. ["https://example.com"]), or [] to allow only clients that send no Origin"#,
        ]
    );
}

#[test]
fn all_errors_are_collected_in_file_order() {
    let text = r#"{
  // comment
  "ports": [{"port_number": 8080, "is_unencrypted": true, "ipv4only": 1}],
  "apps": [{"name": "", "app_path": "/a.so", "endpoints": [
    {"endpoint_id": 0, "url": "ws://h:8081/a", "allowed_origins": ["x"]}
  ]}],
  "epoll_buf_elem_c": 1
}"#;
    let e = errors(text);
    assert_eq!(e.len(), 5, "{e:#?}");
    let lines: Vec<&str> = e
        .iter()
        .map(|s| s.split(": ").next().unwrap_or(""))
        .collect();
    assert_eq!(
        lines,
        [
            "t.json:3:71",
            "t.json:4:21",
            "t.json:5:31",
            "t.json:5:68",
            "t.json:7:23"
        ]
    );
}

#[test]
fn syntax_errors_keep_file_positions() {
    let text = "{\n  /* a comment\n     over lines */\n  \"ports\": [1,],\n}";
    assert_eq!(
        errors(text),
        ["t.json:4:15: invalid JSON: trailing comma; JSON allows no comma after the last element"]
    );
    assert_eq!(
        errors("{\n  \"ports\": [\n"),
        [
            "t.json:3:1: invalid JSON: EOF while parsing a list; a closing bracket, brace or quote is probably missing"
        ]
    );
    assert_eq!(
        errors("{\n  \"a\": 1 /* open\n}"),
        ["t.json:2:10: unterminated /* comment; close it with */"]
    );
    assert_eq!(
        errors("[1]"),
        [
            r#"t.json:1:1: the configuration must be a JSON object, found an array; write { "ports": [...], "apps": [...] }"#
        ]
    );
    let dup = min_with(r#""log_level": "info", "log_level": "debug","#);
    assert_eq!(
        errors(&dup),
        [
            "t.json:2:82: log_level: this key is repeated in its object; remove one of them (only the last would count)"
        ]
    );
}

#[test]
fn comment_markers_inside_strings_survive() {
    let text = r#"// leading comment
{ /* "ports": nothing */
  "ports": [{"port_number": 8080, "is_unencrypted": true}], // trailing
  "apps": [{"name": "a/*b*/", "app_path": "/x//y.so", "endpoints": [
    {"endpoint_id": 0, "url": "ws://localhost:8080//a", "allowed_origins": ["http://h\"//"]}
  ]}]
}"#;
    let e = errors(text);
    assert_eq!(
        e,
        [
            r#"t.json:5:77: apps[0].endpoints[0].allowed_origins[0]: "http://h\"//": not an origin: invalid host or port (an origin has no path, query or trailing slash); an origin is scheme://host[:port] with no path, not even a trailing slash"#
        ]
    );
    let (c, _) = valid(&text.replace(r#""http://h\"//""#, r#""http://h""#));
    assert_eq!(c.apps[0].name, "a/*b*/");
    assert_eq!(c.apps[0].app_path, PathBuf::from("/x//y.so"));
    assert_eq!(c.apps[0].endpoints[0].url.path, "//a");
}

#[test]
fn fd_alloc_c_against_the_hard_limit() {
    let low = LoadOptions {
        nofile_hard_limit: Some(1000),
        ..opts()
    };
    assert_eq!(
        load(&min(), &low).err().unwrap_or_default(),
        [
            "t.json:1:1: fd_alloc_c: 4096 (the default) is above this process's hard RLIMIT_NOFILE limit of 1000; lower fd_alloc_c to at most 1000, or raise the hard limit (ulimit -Hn, LimitNOFILE= in systemd)"
        ]
    );
    assert_eq!(
        load(&min_with(r#""fd_alloc_c": 2000,"#), &low)
            .err()
            .unwrap_or_default(),
        [
            "t.json:2:75: fd_alloc_c: 2000: 2000 is above this process's hard RLIMIT_NOFILE limit of 1000; lower fd_alloc_c to at most 1000, or raise the hard limit (ulimit -Hn, LimitNOFILE= in systemd)"
        ]
    );
    // The process's own limit (20000 here; unlimited passes).
    let own = LoadOptions {
        nofile_hard_limit: None,
        ..opts()
    };
    let hard = rustix::process::getrlimit(rustix::process::Resource::Nofile).maximum;
    let result = load(&min_with(r#""fd_alloc_c": 16777216,"#), &own);
    assert_eq!(result.is_err(), hard.is_some_and(|h| h < 16_777_216));
}

#[test]
fn files_must_be_readable() {
    let dir = temp_dir("files");
    std::fs::write(dir.join("app.so"), "").expect("write");
    std::fs::write(dir.join("chain.pem"), "").expect("write");
    std::fs::create_dir(dir.join("key.pem")).expect("mkdir");
    let text = r#"{
  "ports": [{"port_number": 443}],
  "certs": [{"hostnames": ["example.com"], "privkey_path": "key.pem", "pubchain_path": "chain.pem"}],
  "apps": [
    {"name": "a", "app_path": "app.so", "endpoints": [{"endpoint_id": 0, "url": "wss://example.com/", "allowed_origins": []}]},
    {"name": "b", "app_path": "/nonexistent/b.so", "endpoints": [{"endpoint_id": 0, "url": "wss://example.com/b", "allowed_origins": []}]}
  ],
  "user": ""
}"#;
    let checked = LoadOptions {
        check_files: true,
        base_dir: Some(dir.clone()),
        ..opts()
    };
    let key = dir.join("key.pem");
    assert_eq!(
        load(text, &checked).err().unwrap_or_default(),
        [
            format!(
                r#"t.json:3:60: certs[0].privkey_path: "key.pem": {} is a directory, not a file"#,
                key.display()
            ),
            r#"t.json:6:31: apps[1].app_path: "/nonexistent/b.so": does not exist"#.to_owned(),
        ]
    );
    std::fs::remove_dir(&key).expect("rmdir");
    std::fs::write(&key, "").expect("write");
    let fixed = text.replace("/nonexistent/b.so", "app.so");
    let (c, _) = match load(&fixed, &checked) {
        Ok(ok) => ok,
        Err(e) => panic!("{e:?}"),
    };
    assert_eq!(
        c.certs[0].privkey_path, key,
        "relative paths resolve against the base dir"
    );
    assert_eq!(c.apps[1].app_path, dir.join("app.so"));
}

#[test]
fn run_user_warnings() {
    let dir = temp_dir("user");
    std::fs::write(
        dir.join("passwd"),
        "root:x:0:0::/root:/bin/sh\nrs:x:4242:4242::/:/bin/false\n",
    )
    .expect("write");
    std::fs::write(dir.join("group"), "rs:x:4242:\n").expect("write");
    let key = dir.join("key.pem");
    std::fs::write(&key, "k").expect("write");
    std::fs::write(dir.join("chain.pem"), "c").expect("write");
    std::fs::write(dir.join("app.so"), "").expect("write");
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).expect("chmod");
    std::fs::set_permissions(
        dir.join("chain.pem"),
        std::fs::Permissions::from_mode(0o644),
    )
    .expect("chmod");
    let options = LoadOptions {
        check_files: true,
        base_dir: Some(dir.clone()),
        passwd_path: dir.join("passwd"),
        group_path: dir.join("group"),
        ..opts()
    };
    let text = |user: &str| {
        format!(
            r#"{{
  "ports": [{{"port_number": 443}}],
  "certs": [{{"hostnames": ["example.com"], "privkey_path": "key.pem", "pubchain_path": "chain.pem"}}],
  "apps": [{{"name": "a", "app_path": "app.so", "endpoints": [{{"endpoint_id": 0, "url": "wss://example.com/", "allowed_origins": []}}]}}],
  "user": "{user}"
}}"#
        )
    };
    let (_, warnings) = match load(&text("rs"), &options) {
        Ok(ok) => ok,
        Err(e) => panic!("{e:?}"),
    };
    // Files are owned by whoever runs the test (root in CI): 0600 is then unreadable for uid 4242.
    let owner_is_rs =
        std::os::unix::fs::MetadataExt::uid(&std::fs::metadata(&key).expect("stat")) == 4242;
    if !owner_is_rs {
        assert_eq!(warnings.len(), 1, "{warnings:?}");
        assert!(
            warnings[0].starts_with(&format!(
                r#"t.json:3:60: warning: certs[0].privkey_path: the run user "rs" cannot read {} after the privilege drop: mode 600, owner "#,
                key.display()
            )),
            "{}",
            warnings[0]
        );
    }
    let (_, warnings) = match load(&text("ghost"), &options) {
        Ok(ok) => ok,
        Err(e) => panic!("{e:?}"),
    };
    assert_eq!(
        warnings,
        [format!(
            r#"t.json:5:11: warning: user: the run user "ghost" does not exist in {}; starting as root will fail; create it (useradd --system --shell /usr/sbin/nologin ghost), or set "user": "" to keep the starting user"#,
            dir.join("passwd").display()
        )]
    );
}

#[test]
fn examples_validate() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../examples");
    let mut seen = 0;
    for entry in std::fs::read_dir(&root).expect("examples dir") {
        let path = entry.expect("entry").path().join("ringsocket.json");
        if !path.exists() {
            continue;
        }
        seen += 1;
        // The examples name installed .so paths that need not exist: files unchecked.
        let (c, warnings) = match Config::load_with(&path, &opts()) {
            Ok(ok) => ok,
            Err(e) => panic!("{}:\n{e}", path.display()),
        };
        assert!(warnings.is_empty(), "{warnings:?}");
        assert_eq!(c.settings.worker_c, Some(2));
        assert!(c.ports[0].is_unencrypted);
        // With the .so path pointing at a real file, every check passes too.
        let dir = temp_dir("example");
        let so = dir.join("app.so");
        std::fs::write(&so, "").expect("write");
        let text = std::fs::read_to_string(&path).expect("read");
        // The file's own spelling of the path (relative paths resolve against its folder).
        let text: String = text
            .lines()
            .map(|line| match line.find("\"app_path\": \"") {
                Some(at) => format!("{}\"app_path\": \"{}\",", &line[..at], so.display()),
                None => line.to_owned(),
            })
            .collect::<Vec<_>>()
            .join("\n");
        let checked = LoadOptions {
            check_files: true,
            ..opts()
        };
        if let Err(e) = Config::from_str_with(&text, &path.display().to_string(), &checked) {
            panic!("{e}");
        }
    }
    assert!(seen >= 4, "found {seen} example configs");
}

#[test]
fn converts_to_the_app_view() {
    let (c, _) = valid(&endpoints(
        r#"    {"endpoint_id": 3, "url": "wss://A.example.com:8443/chat", "allowed_origins": ["https://example.com"]}"#,
    ));
    let conf = crate::convert::app_conf(&c, c.worker_count(4));
    assert_eq!(conf.worker_c, 3);
    assert_eq!(
        conf.max_ws_frame_chain_size,
        app_abi::conf::Conf::default().max_ws_frame_chain_size
    );
    let view = match app_abi::conf::ConfView::new(&conf) {
        Ok(v) => v,
        Err(e) => panic!("{e}"),
    };
    let v = view.get();
    assert_eq!(v.log_level(), Level::Notice);
    assert_eq!(v.shutdown_wait_ws(), 30);
    assert_eq!(v.ports().len(), 2);
    assert!(!v.ports()[1].is_unencrypted());
    assert_eq!(
        v.certs()[0].hostnames().collect::<Vec<_>>(),
        ["example.com", "*.example.com"]
    );
    let ep = &v.apps()[0].endpoints()[0];
    assert_eq!(
        (ep.endpoint_id(), ep.url()),
        (3, "wss://A.example.com:8443/chat")
    );
    assert_eq!(
        ep.allowed_origins().collect::<Vec<_>>(),
        ["https://example.com"]
    );
    assert!(!ep.allows_any_origin());
    assert_eq!(v.apps()[0].update_queue_size(), 5);
    assert_eq!(v.user(), Some("ringsock"));
    assert_eq!(v.syslog_path(), Some("/dev/log"));
    assert_eq!(v.max_client_backlog(), Some(8 << 20));
    assert_eq!(
        (v.handshake_wait(), v.ping_interval(), v.pong_wait()),
        (Some(10), Some(30), Some(10))
    );
}

#[test]
fn the_app_view_tells_an_omitted_origin_list_from_an_empty_one() {
    let (c, _) = valid(&endpoints(
        r#"    {"endpoint_id": 1, "url": "ws://localhost:8080/any"},
    {"endpoint_id": 2, "url": "ws://localhost:8080/none", "allowed_origins": []}"#,
    ));
    let view = match app_abi::conf::ConfView::new(&crate::convert::app_conf(&c, 1)) {
        Ok(v) => v,
        Err(e) => panic!("{e}"),
    };
    let eps = view.get().apps()[0].endpoints();
    assert!(eps[0].allows_any_origin());
    assert!(!eps[1].allows_any_origin());
    assert_eq!(eps[1].allowed_origins().count(), 0);
}

#[test]
fn nul_characters_are_refused() {
    let text = min().replace(r#""name": "a""#, r#""name": "a\u0000b""#);
    assert_eq!(
        errors(&text),
        [r#"t.json:4:13: apps[0].name: "a\u0000b": contains a NUL character"#]
    );
}

#[test]
fn missing_file_is_one_error() {
    let e = match Config::load(std::path::Path::new("/nonexistent/ringsocket.json")) {
        Ok(_) => panic!("loaded"),
        Err(e) => e,
    };
    assert_eq!(
        e.to_string(),
        "/nonexistent/ringsocket.json: the configuration file does not exist; pass the path as an argument (the default is /etc/ringsocket.json)"
    );
}

#[test]
fn admin_listener() {
    let (c, warnings) = valid(&min());
    assert_eq!(c.admin, None, "off by default");
    assert!(warnings.is_empty());

    let (c, warnings) = valid(&min_with(r#""admin": {"port": 9100},"#));
    assert_eq!(c.admin.unwrap().addr, "127.0.0.1:9100".parse().unwrap());
    assert!(warnings.is_empty(), "{warnings:?}");

    let (c, _) = valid(&min_with(r#""admin": {"port": 9100, "address": "::1"},"#));
    assert_eq!(c.admin.unwrap().addr, "[::1]:9100".parse().unwrap());

    let (c, warnings) = valid(&min_with(
        r#""admin": {"port": 9100, "address": "0.0.0.0"},"#,
    ));
    assert_eq!(c.admin.unwrap().addr, "0.0.0.0:9100".parse().unwrap());
    assert_eq!(
        warnings,
        [
            "t.json:2:96: warning: admin.address: the admin listener has no authentication: /metrics and /health are open to every host that can reach 0.0.0.0; keep it on 127.0.0.1 (the default) unless a firewall guards it"
        ]
    );

    assert_eq!(
        errors(&min_with(
            r#""admin": {"port": 0, "address": "localhost", "path": "/m"},"#
        )),
        [
            "t.json:2:79: admin.port: 0: out of range: must be a whole number from 1 to 65535",
            r#"t.json:2:93: admin.address: "localhost": not an IP address; write an address such as "127.0.0.1" or "::1"; host names are not resolved"#,
            r#"t.json:2:106: admin.path: unknown key "path"; known keys here: port, address"#,
        ]
    );
    assert_eq!(
        errors(&min_with(r#""admin": {"address": "127.0.0.1"},"#)),
        [
            r#"t.json:2:70: admin.port: missing (required); add "port": 9100 (or the port to serve /health and /metrics on)"#
        ]
    );
    assert_eq!(
        errors(&min_with(r#""admin": {"port": 8080},"#)),
        [
            "t.json:2:79: admin.port: 8080: port 8080 is also a WebSocket port (ports[0]); give the admin listener a port of its own"
        ]
    );
    assert_eq!(
        errors(&min_with(r#""admin": 9100,"#)),
        ["t.json:2:70: admin: 9100: expected an object, found a number"]
    );
}

#[test]
fn permessage_deflate_global_and_per_endpoint() {
    use crate::settings::{Compression, CompressionOverride};
    let (c, warnings) = valid(&min());
    assert!(warnings.is_empty());
    assert_eq!(c.settings.permessage_deflate, Compression::DEFAULT);
    assert_eq!(
        c.apps[0].endpoints[0].permessage_deflate,
        CompressionOverride::default()
    );

    let (c, _) = valid(&min_with(
        r#""permessage_deflate": {"level": 6, "min_size": 0, "server_no_context_takeover": false},"#,
    ));
    assert_eq!(
        c.settings.permessage_deflate,
        Compression {
            level: 6,
            min_size: 0,
            server_no_context_takeover: false,
            ..Compression::DEFAULT
        }
    );
    let (c, _) = valid(&min_with(r#""permessage_deflate": false,"#));
    assert!(!c.settings.permessage_deflate.enabled);

    // An endpoint's keys replace the global ones, one by one.
    let text = min_with(r#""permessage_deflate": {"level": 6},"#).replace(
        r#""allowed_origins": []"#,
        r#""allowed_origins": [], "permessage_deflate": {"min_size": 1024}"#,
    );
    let (c, _) = valid(&text);
    let spec = crate::convert::server_spec(&c, 2);
    assert_eq!(
        spec.apps[0].endpoints[0].permessage_deflate,
        Compression {
            level: 6,
            min_size: 1024,
            ..Compression::DEFAULT
        }
    );

    assert_eq!(
        errors(&min_with(
            r#""permessage_deflate": {"level": 10, "server_max_window_bits": 7, "enabled": "yes", "window": 15},"#
        )),
        [
            "t.json:2:93: permessage_deflate.level: 10: out of range: must be a whole number from 0 to 9",
            "t.json:2:123: permessage_deflate.server_max_window_bits: 7: out of range: must be a whole number from 8 to 15",
            r#"t.json:2:137: permessage_deflate.enabled: "yes": expected true or false, found a string"#,
            r#"t.json:2:144: permessage_deflate.window: unknown key "window"; known keys here: enabled, server_no_context_takeover, client_no_context_takeover, server_max_window_bits, client_max_window_bits, level, min_size"#,
        ]
    );
    assert_eq!(
        errors(&min_with(r#""permessage_deflate": 1,"#)),
        ["t.json:2:83: permessage_deflate: 1: expected true, false or an object, found a number"]
    );
}

#[test]
fn limits_and_their_rules() {
    let (c, _) = valid(&min());
    assert_eq!(c.settings.max_connections, None);
    assert_eq!(c.settings.connection_limit(), 4096 - 256);
    assert_eq!(c.settings.max_connections_per_ip, Some(512));
    assert_eq!(c.settings.max_handshakes_per_second_per_ip, Some(100));
    assert_eq!(c.settings.max_messages_per_second, Some(10_000));
    let (c, _) = valid(&min_with(
        r#""max_connections": 1000, "max_connections_per_ip": 0, "max_handshakes_per_second_per_ip": 0, "max_messages_per_second": 5,"#,
    ));
    assert_eq!(c.settings.connection_limit(), 1000);
    assert_eq!(c.settings.max_connections_per_ip, None);
    assert_eq!(c.settings.max_handshakes_per_second_per_ip, None);
    assert_eq!(c.settings.max_messages_per_second, Some(5));
    assert_eq!(
        errors(&min_with(r#""fd_alloc_c": 1024, "max_connections": 1024,"#)),
        [
            r#"t.json:2:100: max_connections: 1024: 1024 connections do not fit in fd_alloc_c (1024): the daemon needs descriptors of its own (listeners, epoll, rings, apps); lower it, or raise "fd_alloc_c""#
        ]
    );
}

#[test]
fn proxies_subprotocols_and_upgrade_headers() {
    let text = r#"{
  "ports": [{"port_number": 8080, "is_unencrypted": true, "proxy_protocol": true},
            {"port_number": 8081, "is_unencrypted": true, "trust_x_forwarded_for": true}],
  "apps": [{"name": "a", "app_path": "/a.so", "endpoints": [
    {"endpoint_id": 0, "url": "ws://localhost:8080/a", "allowed_origins": [],
     "subprotocols": ["chat.v2", "chat.v1"], "upgrade_headers": ["X-Api-Key", "Cookie"]},
    {"endpoint_id": 1, "url": "ws://localhost:8081/a", "allowed_origins": []}
  ]}]
}"#;
    let (c, _) = valid(text);
    assert!(c.ports[0].proxy_protocol && !c.ports[0].trust_x_forwarded_for);
    assert!(c.ports[1].trust_x_forwarded_for && !c.ports[1].proxy_protocol);
    let ep = &c.apps[0].endpoints[0];
    assert_eq!(ep.subprotocols, ["chat.v2", "chat.v1"]);
    // Lowercased; the standard ones are forwarded anyway.
    assert_eq!(ep.upgrade_headers, ["x-api-key"]);
    let bad = r#"{
  "ports": [{"port_number": 8080, "is_unencrypted": true, "proxy_protocol": true, "trust_x_forwarded_for": true}],
  "apps": [{"name": "a", "app_path": "/a.so", "endpoints": [
    {"endpoint_id": 0, "url": "ws://localhost:8080/a", "allowed_origins": [],
     "subprotocols": ["chat v2", "x", "X"], "upgrade_headers": ["X:Y"]}
  ]}]
}"#;
    assert_eq!(
        errors(bad),
        [
            r#"t.json:2:108: ports[0].trust_x_forwarded_for: proxy_protocol and trust_x_forwarded_for exclude each other; a PROXY header already names the client; set the one your load balancer sends"#,
            r#"t.json:5:23: apps[0].endpoints[0].subprotocols[0]: "chat v2": not a subprotocol: only letters, digits and !#$%&'*+-.^_`|~ may appear; e.g. "chat.v2""#,
            r#"t.json:5:39: apps[0].endpoints[0].subprotocols[2]: "X": "X" is listed twice"#,
            r#"t.json:5:65: apps[0].endpoints[0].upgrade_headers[0]: "X:Y": not a header name: only letters, digits and !#$%&'*+-.^_`|~ may appear; e.g. "X-Api-Key""#,
        ]
    );
}
