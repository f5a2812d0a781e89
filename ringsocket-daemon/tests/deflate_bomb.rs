//! A deflate bomb costs the daemon nothing it keeps: each one is stopped at `max_ws_msg_size`
//! with 1009, and the process's peak resident memory stays where it was. Its own test binary,
//! so that no other test's allocations move the peak.

mod common;

use app_abi::host::App;
use app_abi::rs_app;
use common::{Client, Upgrade, serve, test_spec};
use ringsocket_daemon::server::{AppSource, AppSpec, EndpointSpec, Server};
use ws_proto::DataKind as Kind;
use ws_proto::handshake::extensions::DeflateOffer;

rs_app! {
    static ECHO;
    read: any serve(net [u8; 0..]),
}

/// `VmHWM` (peak resident set) of this process, in KiB.
fn peak_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmHWM")
}

#[test]
fn bombs_are_stopped_at_the_limit_and_the_peak_memory_stays() {
    // 64 MiB of zeros compress to about 64 KiB: each bomb claims 1,000 times the limit.
    let mut bomb = Vec::new();
    ws_proto::deflate::Deflater::new(9, false)
        .compress(&vec![0u8; 64 << 20], &mut bomb)
        .unwrap();
    assert!(bomb.len() < 128 << 10, "{}", bomb.len());

    // SAFETY: the descriptor is made by `rs_app!`.
    let app = unsafe { App::from_static("echo", &ECHO) }.unwrap();
    let mut spec = test_spec(vec![AppSpec {
        name: "echo".into(),
        source: AppSource::Loaded(app),
        endpoints: vec![EndpointSpec {
            id: 0,
            host: "127.0.0.1".into(),
            path: "/echo".into(),
            ..EndpointSpec::default()
        }],
        no_open_cb: false,
        no_close_cb: false,
    }]);
    spec.settings.max_ws_msg_size = 64 << 10;
    spec.settings.max_ws_frame_chain_size = 256 << 10;
    let server = Server::start(spec).expect("the server starts");
    let addr = server.local_addrs()[0];
    let host = format!("127.0.0.1:{}", addr.port());
    let connect = || {
        let upgrade = Upgrade {
            deflate: Some(DeflateOffer::browser_like()),
            ..Upgrade::default()
        };
        Client::try_connect(addr, &host, "/echo", upgrade).expect("upgrade")
    };
    // Warm up: the worker's codec and buffers exist before the baseline.
    let mut client = connect();
    client.send_compressed(Kind::Binary, &[7; 4096], 1);
    assert_eq!(client.recv(), common::Msg::Binary(vec![7; 4096]));
    client.send_compressed_raw(Kind::Binary, &bomb);
    assert_eq!(client.recv_close(), Some(1009));

    let before = peak_kib();
    for _ in 0..50 {
        let mut client = connect();
        client.send_compressed_raw(Kind::Binary, &bomb);
        assert_eq!(client.recv_close(), Some(1009));
    }
    let after = peak_kib();
    eprintln!("peak RSS {before} KiB before 50 bombs, {after} KiB after");
    // 50 bombs of 64 MiB each: a single one inflated past the limit would add 64 MiB.
    assert!(
        after <= before + 4096,
        "peak RSS grew from {before} KiB to {after} KiB"
    );
    server.stop();
}
