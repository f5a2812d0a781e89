//! Thousands of concurrent connections to the real binary (the C echo app, two workers): 3,000
//! clients connect and stay connected together, each sends a message and gets its own echo
//! back, then all close; the daemon's descriptors come back down and it still serves.

mod common;

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use common::daemon::{Daemon, build_c_echo, free_port, test_dir, write_config};
use common::{Client, Msg, wait_until};
use rustix::process::{Resource, Rlimit, getrlimit, setrlimit};

const CLIENTS: usize = 3000;
const THREADS: usize = 4;
/// The whole test, on 2 shared cores.
const BUDGET: Duration = Duration::from_secs(60);

/// Raises this process's soft `RLIMIT_NOFILE` to `want` (at most the hard limit).
fn raise_nofile(want: u64) {
    let limit = getrlimit(Resource::Nofile);
    let hard = limit.maximum.unwrap_or(u64::MAX);
    let soft = want.min(hard);
    assert!(
        soft >= CLIENTS as u64 + 100,
        "the hard RLIMIT_NOFILE ({hard}) is too low for {CLIENTS} clients"
    );
    if limit.current.is_some_and(|c| c >= soft) {
        return;
    }
    setrlimit(
        Resource::Nofile,
        Rlimit {
            current: Some(soft),
            maximum: limit.maximum,
        },
    )
    .expect("raise RLIMIT_NOFILE");
}

/// A barrier whose wait is bounded: a thread that panicked before reaching it makes the
/// others fail after [`BUDGET`] instead of hanging.
struct Meet {
    arrived: AtomicUsize,
    parties: usize,
}

impl Meet {
    fn new(parties: usize) -> Self {
        Self {
            arrived: AtomicUsize::new(0),
            parties,
        }
    }

    fn wait(&self) {
        self.arrived.fetch_add(1, Ordering::SeqCst);
        let deadline = Instant::now() + BUDGET;
        while self.arrived.load(Ordering::SeqCst) < self.parties {
            assert!(Instant::now() < deadline, "a client thread never arrived");
            std::thread::sleep(Duration::from_millis(5));
        }
    }
}

/// The daemon's open descriptors.
fn fd_count(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd")).map_or(0, |d| d.count())
}

#[test]
fn three_thousand_concurrent_clients() {
    let started = Instant::now();
    raise_nofile(8192);
    let dir = test_dir("scale");
    let so = build_c_echo(&dir);
    let port = free_port();
    let config = write_config(
        &dir,
        port,
        "echo",
        &so,
        &format!(r#"{{ "endpoint_id": 1, "url": "ws://localhost:{port}/echo" }}"#),
        &format!(
            r#""user": "", "worker_c": 2, "fd_alloc_c": {}, "worker_rbuf_size": 1048576,
  "inbound_ring_buf_size": 1048576, "outbound_ring_buf_size": 1048576, "shutdown_wait_ws": 5,
  "max_connections_per_ip": 0, "max_handshakes_per_second_per_ip": 0"#,
            CLIENTS + 500
        ),
    );
    let daemon = Daemon::start(&config);
    let pid = daemon.pid();
    let base_fds = fd_count(pid);
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let host = format!("localhost:{port}");

    // Every thread connects its share and keeps it; all are connected at once before anyone
    // sends (a barrier), and the daemon's descriptor count proves it.
    let all_connected = Meet::new(THREADS + 1);
    let messages_done = Meet::new(THREADS + 1);
    let closing = Meet::new(THREADS + 1);
    std::thread::scope(|s| {
        let threads: Vec<_> = (0..THREADS)
            .map(|t| {
                let (host, all_connected, messages_done, closing) =
                    (&host, &all_connected, &messages_done, &closing);
                s.spawn(move || {
                    let mut clients: Vec<Client> = (0..CLIENTS / THREADS)
                        .map(|_| Client::connect(addr, host, "/echo"))
                        .collect();
                    all_connected.wait();
                    // Each sends, then each reads its own echo (varied sizes, both kinds).
                    for (i, c) in clients.iter_mut().enumerate() {
                        let text = format!("client {t}/{i} {}", "x".repeat(i % 200));
                        c.text(&text);
                    }
                    for (i, c) in clients.iter_mut().enumerate() {
                        let text = format!("client {t}/{i} {}", "x".repeat(i % 200));
                        assert_eq!(c.recv(), Msg::Text(text));
                    }
                    messages_done.wait();
                    closing.wait();
                    // Half close with a closing handshake, half just drop TCP.
                    for (i, mut c) in clients.into_iter().enumerate() {
                        if i % 2 == 0 {
                            c.close(1000);
                            assert_eq!(c.recv_close(), Some(1000));
                        }
                    }
                })
            })
            .collect();
        all_connected.wait();
        let connected_at = started.elapsed();
        let fds = fd_count(pid);
        assert!(
            fds >= base_fds + CLIENTS,
            "the daemon holds {fds} descriptors ({base_fds} before): not every client is connected"
        );
        messages_done.wait();
        eprintln!(
            "{CLIENTS} clients connected after {connected_at:?}, echoed after {:?}",
            started.elapsed()
        );
        closing.wait();
        for t in threads {
            t.join().expect("a client thread failed");
        }
    });
    wait_until("the daemon to close every connection", || {
        fd_count(pid) <= base_fds
    });
    // Still serving.
    let mut c = Client::connect(addr, &host, "/echo");
    c.text("after");
    assert_eq!(c.recv_text(), "after");
    drop(c);
    let (status, lines) = daemon.stop();
    assert!(status.success(), "{status}\n{}", lines.join("\n"));
    let took = started.elapsed();
    eprintln!("{CLIENTS} clients: {took:?} in all");
    assert!(took < BUDGET, "{took:?}");
}
