//! Short reads, short writes and `EAGAIN` injected at random into the real binary's socket
//! I/O change nothing: every echo comes back byte for byte, 0 B to 1 MiB, text and binary,
//! in one frame or fragmented, from several clients at once.
//!
//! The injection is the `fault-injection` feature (src/worker/fault.rs, which explains why
//! not an `LD_PRELOAD` shim: rustix makes raw system calls, so a libc shim intercepts
//! nothing; and how an injected `EAGAIN` keeps edge-triggered wakeups). The tests' build of
//! the binary has it compiled in (Cargo.toml's self dev-dependency); it is active only with
//! `RINGSOCKET_FAULT_INJECTION=<seed>`, and each worker prints its counts when it ends, which
//! this test checks, so a green run cannot hide an injection that never fired.

mod common;

use std::net::{Ipv4Addr, SocketAddr};
use std::time::Instant;

use common::daemon::{Daemon, build_c_echo, free_port, test_dir, write_config};
use common::{Client, Msg};
use ws_proto::DataKind;

const THREADS: usize = 3;
const SEEDS: [u64; 2] = [1, 0xDEAD_BEEF];

fn sizes() -> Vec<usize> {
    let mut sizes = vec![
        0,
        1,
        2,
        3,
        125,
        126,
        127,
        1000,
        4095,
        4096,
        16 << 10,
        65535,
        65536,
        65537,
        200_000,
        1 << 20,
    ];
    // And a spread of others (deterministic).
    let mut x: u64 = 0x1234_5678;
    for _ in 0..24 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        sizes.push((x % (1 << 20)) as usize + 1);
    }
    sizes
}

fn payload(len: usize, salt: usize) -> Vec<u8> {
    (0..len)
        .map(|i| ((i * 31 + salt * 7) % 251) as u8)
        .collect()
}

/// `(short reads, short writes, read EAGAINs, write EAGAINs)` summed over the workers.
fn injected(lines: &[String]) -> [u64; 4] {
    let mut sum = [0u64; 4];
    let mut workers = 0;
    for line in lines {
        let Some(rest) = line.split("fault-injection: ").nth(1) else {
            continue;
        };
        workers += 1;
        let numbers: Vec<u64> = rest
            .split(", ")
            .map(|part| part.split(' ').next().unwrap().parse().unwrap())
            .collect();
        for (s, n) in sum.iter_mut().zip(numbers) {
            *s += n;
        }
    }
    assert_eq!(
        workers,
        2,
        "one count line per worker:\n{}",
        lines.join("\n")
    );
    sum
}

fn echoes_survive(seed: u64) {
    let started = Instant::now();
    let dir = test_dir(&format!("faults-{seed}"));
    let so = build_c_echo(&dir);
    let port = free_port();
    let config = write_config(
        &dir,
        port,
        "echo",
        &so,
        &format!(r#"{{ "endpoint_id": 1, "url": "ws://localhost:{port}/echo" }}"#),
        r#""user": "", "worker_c": 2, "worker_rbuf_size": 262144,
  "inbound_ring_buf_size": 1048576, "outbound_ring_buf_size": 1048576, "shutdown_wait_ws": 5"#,
    );
    let mut command = Daemon::command(&config);
    command.env("RINGSOCKET_FAULT_INJECTION", seed.to_string());
    if let Ok(kinds) = std::env::var("RINGSOCKET_FAULT_KINDS") {
        command.env("RINGSOCKET_FAULT_KINDS", kinds);
    }
    let daemon = Daemon::start_command(command);
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let host = format!("localhost:{port}");

    let sizes = sizes();
    std::thread::scope(|s| {
        for t in 0..THREADS {
            let (host, sizes) = (&host, &sizes);
            s.spawn(move || {
                // Two clients per thread, so both workers are likely busy.
                let mut clients = [
                    Client::connect(addr, host, "/echo"),
                    Client::connect(addr, host, "/echo"),
                ];
                for (i, &len) in sizes.iter().enumerate() {
                    let c = &mut clients[i % 2];
                    let data = payload(len, i + t);
                    match i % 3 {
                        0 => {
                            c.send(DataKind::Binary, &data);
                            assert_eq!(c.recv(), Msg::Binary(data), "{len} B binary");
                        }
                        1 => {
                            let pieces = 1 + (i % 9);
                            c.send_fragmented(DataKind::Binary, &data, pieces);
                            assert_eq!(c.recv(), Msg::Binary(data), "{len} B in {pieces}");
                        }
                        _ => {
                            let text: String =
                                data.iter().map(|b| char::from(b'a' + b % 26)).collect();
                            c.send_fragmented(DataKind::Text, text.as_bytes(), 1 + i % 4);
                            assert_eq!(c.recv(), Msg::Text(text), "{len} B text");
                        }
                    }
                }
                // Many small messages in flight at once.
                for (k, c) in clients.iter_mut().enumerate() {
                    for j in 0..200 {
                        c.text(&format!("burst {t} {k} {j}"));
                    }
                    for j in 0..200 {
                        assert_eq!(c.recv_text(), format!("burst {t} {k} {j}"));
                    }
                    c.close(1000);
                    assert_eq!(c.recv_close(), Some(1000));
                    c.expect_eof();
                }
            });
        }
    });
    let (status, lines) = daemon.stop();
    assert!(status.success(), "{status}\n{}", lines.join("\n"));
    let [short_reads, short_writes, read_again, write_again] = injected(&lines);
    eprintln!(
        "seed {seed}: {short_reads} short reads, {short_writes} short writes, \
         {read_again} read EAGAINs, {write_again} write EAGAINs injected; {:?}",
        started.elapsed()
    );
    for (what, n) in [
        ("short reads", short_reads),
        ("short writes", short_writes),
        ("read EAGAINs", read_again),
        ("write EAGAINs", write_again),
    ] {
        assert!(n >= 20, "only {n} {what} injected");
    }
}

#[test]
fn injected_short_transfers_and_eagain_change_nothing() {
    for seed in SEEDS {
        echoes_survive(seed);
    }
}

#[test]
fn without_the_variable_nothing_is_injected() {
    let dir = test_dir("faults-off");
    let so = build_c_echo(&dir);
    let port = free_port();
    let config = dir.join("ringsocket.json");
    std::fs::write(
        &config,
        format!(
            r#"{{
  "ports": [{{ "port_number": {port}, "is_unencrypted": true, "ip_addrs": ["127.0.0.1"] }}],
  "apps": [{{ "name": "echo", "app_path": "{}",
    "endpoints": [{{ "endpoint_id": 1, "url": "ws://localhost:{port}/echo" }}] }}],
  "user": "", "worker_c": 2
}}"#,
            so.display()
        ),
    )
    .unwrap();
    let daemon = Daemon::start(&config);
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let mut c = Client::connect(addr, &format!("localhost:{port}"), "/echo");
    c.text("plain");
    assert_eq!(c.recv_text(), "plain");
    drop(c);
    let (status, lines) = daemon.stop();
    assert!(status.success());
    assert!(
        !lines.iter().any(|l| l.contains("fault-injection")),
        "{}",
        lines.join("\n")
    );
}
