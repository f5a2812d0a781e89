//! A client that sends echo requests but never reads its echoes does not stall the others:
//! they keep getting their echoes while its backlog fills, and it is closed with 1008.
//! (The broadcast variant is in serving.rs.) In process, one worker, so that every client
//! shares the worker with the slow one.

mod common;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use app_abi::host::App;
use app_abi::{Rs, rs_app};
use common::{Client, Msg, test_spec};
use ringsocket_daemon::server::{AppSource, AppSpec, EndpointSpec, Server, ServerSpec, Settings};
use ws_proto::DataKind;

fn echo(rs: &mut Rs, payload: &[u8]) {
    let kind = rs.read_data_kind();
    rs.w_bytes(payload);
    rs.to_cur(kind);
}

rs_app! {
    static ECHO;
    read: any echo(net [u8; 0..]),
}

fn start() -> (Server, SocketAddr) {
    // SAFETY: the descriptor is made by `rs_app!`.
    let app = unsafe { App::from_static("echo", &ECHO) }.unwrap();
    let spec = ServerSpec {
        apps: vec![AppSpec {
            name: "echo".into(),
            source: AppSource::Loaded(app),
            endpoints: vec![EndpointSpec {
                id: 1,
                host: "127.0.0.1".into(),
                port: 0,
                path: "/echo".into(),
                allowed_origins: None,
                ..EndpointSpec::default()
            }],
            no_open_cb: false,
            no_close_cb: false,
        }],
        worker_c: 1,
        settings: Settings {
            worker_rbuf_size: 256 << 10,
            inbound_ring_buf_size: 256 << 10,
            outbound_ring_buf_size: 256 << 10,
            max_client_backlog: 1 << 20,
            ..test_spec(Vec::new()).settings
        },
        ..test_spec(Vec::new())
    };
    let server = Server::start(spec).expect("the server starts");
    let addr = server.local_addrs()[0];
    (server, addr)
}

#[test]
fn an_echo_client_that_stops_reading_does_not_stall_others() {
    const SIZE: usize = 32 << 10;
    let (server, addr) = start();
    let host = format!("127.0.0.1:{}", addr.port());
    let mut slow = Client::connect(addr, &host, "/echo");
    slow.stream
        .tcp()
        .set_write_timeout(Some(common::LIMIT))
        .unwrap();
    let mut fast: Vec<Client> = (0..3)
        .map(|_| Client::connect(addr, &host, "/echo"))
        .collect();

    // The slow client floods echo requests from its own thread and reads nothing until the
    // fast clients are done; the kernel buffers fill, then its server-side backlog.
    let slow_thread = std::thread::spawn(move || {
        let filler = vec![b's'; SIZE];
        let mut sent = 0usize;
        // Past the backlog limit plus both sockets' buffers, by far; stops early when the
        // server has closed it (the write fails).
        for _ in 0..400 {
            let mut frame = Vec::new();
            frame.extend_from_slice(&filler);
            let ok = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                slow.send(DataKind::Binary, &frame);
            }));
            if ok.is_err() {
                break;
            }
            sent += 1;
        }
        (slow, sent)
    });

    // Meanwhile the others echo round trips, each promptly.
    let started = Instant::now();
    let mut worst = Duration::ZERO;
    for round in 0..300 {
        for (i, c) in fast.iter_mut().enumerate() {
            let text = format!("round {round} client {i} {}", "f".repeat(round % 1000));
            let t = Instant::now();
            c.text(&text);
            assert_eq!(c.recv_text(), text);
            worst = worst.max(t.elapsed());
        }
    }
    eprintln!(
        "fast clients: 900 round trips in {:?}, slowest {worst:?}",
        started.elapsed()
    );
    assert!(
        worst < Duration::from_secs(2),
        "a round trip took {worst:?}"
    );

    let (mut slow, sent) = slow_thread.join().unwrap();
    // The slow client gets an unbroken prefix of its echoes, then the 1008 close.
    let (echoed, code) = slow.recv_data_until_close(|i, message| match message {
        Msg::Binary(b) => assert_eq!(b.len(), SIZE),
        other => panic!("unexpected {other:?} after {i} echoes"),
    });
    assert_eq!(code, Some(1008), "after {echoed} of {sent} echoes");
    assert!(echoed < sent);
    drop(slow);
    drop(fast);
    // The admin listener's counters saw it too: one slow-client close, by code 1008.
    let totals = server.metrics().totals();
    assert_eq!(totals.slow_client_closes, 1);
    common::wait_until("the 1008 close to be counted", || {
        server.metrics().totals().closes.contains(&(1008, 1))
    });
    let report = server.stop();
    assert_eq!(report.workers[0].backlog_overflows, 1);
}
