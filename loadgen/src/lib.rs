//! Shared bits of the benchmark binaries: the reference servers' common command line.
//!
//! The crate's binaries are what matters (see `run-bench.sh`):
//!
//! * `ringsocket-load`: the load generator (scenarios `echo`, `broadcast`, `connect`,
//!   `tcp-echo`), its own process, epoll plus non-blocking sockets, ws-proto's client role.
//! * `tcp-echo-server`: a minimal single-threaded edge-triggered epoll TCP echo server, the
//!   physical reference.
//! * `tokio-tungstenite-echo`, `fastwebsockets-echo`: peer WebSocket servers on tokio's
//!   multi-thread runtime with `--workers N` worker threads.
//!
//! Every server takes `--port PORT` (binding 127.0.0.1) and the WebSocket ones serve the same
//! paths: `/echo` (every message back to its sender, same kind) and `/broadcast` (every message
//! to every other client, like the chat example).

use std::process::exit;

/// The command line every reference server accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServerArgs {
    /// TCP port on 127.0.0.1.
    pub port: u16,
    /// Runtime worker threads (ignored by the single-threaded TCP echo server).
    pub workers: usize,
}

impl ServerArgs {
    /// Parses `--port PORT [--workers N]` from the process arguments; prints usage and exits on
    /// anything else.
    pub fn from_env(name: &str) -> Self {
        let usage = || -> ! {
            eprintln!("usage: {name} --port PORT [--workers N]");
            exit(2)
        };
        let mut args = Self {
            port: 0,
            workers: 1,
        };
        let mut it = std::env::args().skip(1);
        while let Some(arg) = it.next() {
            let value = it.next().unwrap_or_else(|| usage());
            match arg.as_str() {
                "--port" => args.port = value.parse().unwrap_or_else(|_| usage()),
                "--workers" => args.workers = value.parse().unwrap_or_else(|_| usage()),
                _ => usage(),
            }
        }
        if args.port == 0 || args.workers == 0 {
            usage();
        }
        args
    }
}
