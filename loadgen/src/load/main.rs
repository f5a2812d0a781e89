//! `ringsocket-load`: an end-to-end load generator for WebSocket (and plain TCP echo) servers.
//!
//! Its own process; `--threads` threads, each with one epoll instance and non-blocking sockets,
//! and ws-proto's client role for the handshake, framing and masking (no async runtime, so the
//! client costs little next to the server it measures). Every run is bounded by time and, where
//! given, by count, and stops by itself. It prints one JSON line on stdout (machine-readable)
//! and one human line on stderr, and exits 1 when any connection failed or any message was lost
//! or arrived out of order.
//!
//! Scenarios:
//!
//! * `echo`: `--conns C` connections each keep `--inflight P` binary messages of `--size S`
//!   bytes in flight against an echo endpoint: messages/s, latency p50/p99 (each payload
//!   carries its send time).
//! * `tcp-echo`: the same over plain TCP against a TCP echo server (the physical reference).
//! * `broadcast`: one sender, `--conns C` receivers on an endpoint that relays every message to
//!   every other client (RingSocket's chat example, or `/broadcast` of the peer servers). The
//!   sender keeps `--inflight P` messages undelivered at most; deliveries/s and delivery
//!   latency. Payloads are text `m#SEQ,NANOS#…` (the chat app's `m` command; receivers read
//!   from the first `#`, so the chat app's `nick: ` prefix does not matter).
//! * `connect`: opens `--conns N` idle connections, `--concurrency K` handshakes at a time:
//!   handshakes/s; then, given `--server-pid`, the server's resident memory per idle
//!   connection (VmRSS from `/proc/PID/status` before and after).

mod client;
mod hist;

use std::net::{SocketAddr, ToSocketAddrs};
use std::process::exit;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use client::{Phase, Shared, Stats};

/// Which benchmark to run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Scenario {
    Echo,
    TcpEcho,
    Broadcast,
    Connect,
}

impl Scenario {
    fn name(self) -> &'static str {
        match self {
            Self::Echo => "echo",
            Self::TcpEcho => "tcp-echo",
            Self::Broadcast => "broadcast",
            Self::Connect => "connect",
        }
    }
}

/// The command line.
#[derive(Debug, Clone)]
pub(crate) struct Opts {
    pub(crate) scenario: Scenario,
    pub(crate) addr: SocketAddr,
    pub(crate) host: String,
    pub(crate) path: String,
    pub(crate) conns: usize,
    pub(crate) inflight: u32,
    pub(crate) size: usize,
    pub(crate) duration: Duration,
    pub(crate) count: u64,
    pub(crate) threads: usize,
    pub(crate) concurrency: usize,
    pub(crate) server_pid: Option<u32>,
    pub(crate) server: String,
    pub(crate) drain: Duration,
    pub(crate) settle: Duration,
    /// Offer permessage-deflate and compress what is sent at this zlib level.
    pub(crate) deflate: Option<u8>,
}

const USAGE: &str = "\
usage: ringsocket-load SCENARIO [OPTIONS]
scenarios: echo | tcp-echo | broadcast | connect
  --addr HOST:PORT     server address (default 127.0.0.1:8080)
  --host HOST[:PORT]   Host header (default localhost:PORT)
  --path PATH          endpoint path (default /echo; broadcast: /broadcast)
  --conns N            connections (echo 100, broadcast receivers 100, connect 10000)
  --inflight P         messages in flight per connection / undelivered broadcasts (default 10)
  --size S             message bytes (default 16, at least 16; broadcast at least ~30)
  --duration SECS      run time; connect: time allowed for opening (default 10; connect 60)
  --count N            stop after N messages / broadcasts (default: time only)
  --threads T          client threads (default 1)
  --concurrency K      handshakes in progress at once (default 64)
  --server-pid PID     connect: the server's PID, to read its VmRSS
  --server NAME        label for the result line (default: unnamed)
  --drain SECS         how long to wait for outstanding replies at the end (default 5)
  --settle SECS        connect: wait before reading VmRSS after opening (default 1)
  --deflate LEVEL      offer permessage-deflate, compress what is sent at LEVEL (0-9), and pad
                       messages with JSON chat text instead of one repeated byte
  (echo, broadcast: with --server-pid, the server's CPU per message is reported too)";

fn usage(problem: &str) -> ! {
    eprintln!("ringsocket-load: {problem}\n{USAGE}");
    exit(2)
}

fn parse_opts() -> Opts {
    let mut args = std::env::args().skip(1);
    let scenario = match args.next().as_deref() {
        Some("echo") => Scenario::Echo,
        Some("tcp-echo") => Scenario::TcpEcho,
        Some("broadcast") => Scenario::Broadcast,
        Some("connect") => Scenario::Connect,
        Some("-h" | "--help") => {
            println!("{USAGE}");
            exit(0)
        }
        Some(other) => usage(&format!("unknown scenario {other:?}")),
        None => usage("no scenario"),
    };
    let (mut addr, mut host, mut path) = ("127.0.0.1:8080".to_owned(), None, None);
    let mut o = Opts {
        scenario,
        addr: SocketAddr::from(([127, 0, 0, 1], 8080)),
        host: String::new(),
        path: String::new(),
        conns: if scenario == Scenario::Connect {
            10_000
        } else {
            100
        },
        inflight: 10,
        size: 16,
        duration: Duration::from_secs(if scenario == Scenario::Connect {
            60
        } else {
            10
        }),
        count: 0,
        threads: 1,
        concurrency: 64,
        server_pid: None,
        server: "unnamed".to_owned(),
        drain: Duration::from_secs(5),
        settle: Duration::from_secs(1),
        deflate: None,
    };
    fn num<T: std::str::FromStr>(name: &str, v: &str) -> T {
        v.parse()
            .unwrap_or_else(|_| usage(&format!("bad value {v:?} for {name}")))
    }
    fn secs(name: &str, v: &str) -> Duration {
        Duration::try_from_secs_f64(num(name, v))
            .unwrap_or_else(|_| usage(&format!("bad value {v:?} for {name}")))
    }
    while let Some(name) = args.next() {
        let Some(v) = args.next() else {
            usage(&format!("{name} needs a value"))
        };
        match name.as_str() {
            "--addr" => addr = v,
            "--host" => host = Some(v),
            "--path" => path = Some(v),
            "--conns" => o.conns = num(&name, &v),
            "--inflight" => o.inflight = num(&name, &v),
            "--size" => o.size = num(&name, &v),
            "--duration" => o.duration = secs(&name, &v),
            "--count" => o.count = num(&name, &v),
            "--threads" => o.threads = num(&name, &v),
            "--concurrency" => o.concurrency = num(&name, &v),
            "--server-pid" => o.server_pid = Some(num(&name, &v)),
            "--server" => o.server = v,
            "--drain" => o.drain = secs(&name, &v),
            "--settle" => o.settle = secs(&name, &v),
            "--deflate" => o.deflate = Some(num::<u8>(&name, &v).min(9)),
            _ => usage(&format!("unknown option {name}")),
        }
    }
    o.addr = addr
        .to_socket_addrs()
        .ok()
        .and_then(|mut a| a.next())
        .unwrap_or_else(|| usage(&format!("cannot resolve {addr:?}")));
    o.host = host.unwrap_or_else(|| format!("localhost:{}", o.addr.port()));
    o.path = path.unwrap_or_else(|| {
        if scenario == Scenario::Broadcast {
            "/broadcast".to_owned()
        } else {
            "/echo".to_owned()
        }
    });
    if o.conns == 0 || o.threads == 0 || o.concurrency == 0 || o.inflight == 0 {
        usage("--conns, --threads, --concurrency and --inflight must be at least 1");
    }
    o.size = o.size.max(16);
    o.threads = o.threads.min(o.conns);
    o
}

/// Raises the soft open-file limit to the hard one (10,000 connections need the fds).
fn raise_nofile() {
    use rustix::process::{Resource, getrlimit, setrlimit};
    let mut limit = getrlimit(Resource::Nofile);
    if limit.current != limit.maximum {
        limit.current = limit.maximum;
        let _ = setrlimit(Resource::Nofile, limit);
    }
}

/// `VmRSS` of `pid`, in KiB.
fn vm_rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// CPU time `pid` has used so far (all its threads, user and system), in microseconds.
fn cpu_micros(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name may hold spaces: the fields after it start past its ')'.
    let mut fields = stat.get(stat.rfind(')')? + 2..)?.split_whitespace();
    // utime and stime are fields 14 and 15 of the whole line, 12 and 13 after the name.
    let utime: u64 = fields.nth(11)?.parse().ok()?;
    let stime: u64 = fields.next()?.parse().ok()?;
    let ticks = rustix::param::clock_ticks_per_second();
    Some((utime + stime) * 1_000_000 / ticks.max(1))
}

fn main() {
    let opts = parse_opts();
    raise_nofile();
    let shared = Arc::new(Shared::new(opts.clone()));
    let rss_before = match (opts.scenario, opts.server_pid) {
        (Scenario::Connect, Some(pid)) => Some(
            vm_rss_kib(pid).unwrap_or_else(|| usage(&format!("cannot read /proc/{pid}/status"))),
        ),
        _ => None,
    };
    let cpu_before = opts.server_pid.and_then(cpu_micros);

    // Broadcast: connection 0 is the sender, the rest receive.
    let total = opts.conns + usize::from(opts.scenario == Scenario::Broadcast);
    let started = Instant::now();
    let workers: Vec<_> = (0..opts.threads)
        .map(|t| {
            let shared = shared.clone();
            let mine: Vec<usize> = (t..total).step_by(opts.threads).collect();
            std::thread::Builder::new()
                .name(format!("load-{t}"))
                .spawn(move || client::run_thread(&shared, &mine))
                .expect("spawn")
        })
        .collect();

    // Connect everything (bounded).
    let open_limit = if opts.scenario == Scenario::Connect {
        opts.duration
    } else {
        Duration::from_secs(30).max(opts.duration)
    };
    let mut notes = Vec::new();
    while shared.opened.load(Ordering::Acquire) + shared.failed.load(Ordering::Acquire) < total {
        if started.elapsed() > open_limit {
            notes.push(format!(
                "only {} of {total} connections opened in {open_limit:?}",
                shared.opened.load(Ordering::Acquire)
            ));
            break;
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    let opened = shared.opened.load(Ordering::Acquire);
    // The server's CPU time for the handshakes (the connect scenario's only work).
    let cpu_per_conn = match (cpu_before, opts.server_pid.and_then(cpu_micros)) {
        (Some(b), Some(a)) if opened > 0 && opts.scenario == Scenario::Connect => {
            Some(a.saturating_sub(b) as f64 / opened as f64)
        }
        _ => None,
    };
    let open_secs = shared.last_open_ns.load(Ordering::Acquire) as f64 / 1e9
        - started.duration_since(shared.base).as_secs_f64();

    let mut rss_after = None;
    let mut t0 = Instant::now();
    // The server's CPU time from the start of the run to the end of the drain.
    let mut cpu_run_start = None;
    match opts.scenario {
        Scenario::Connect => {
            shared.set_phase(Phase::Hold);
            std::thread::sleep(opts.settle);
            rss_after = opts.server_pid.and_then(vm_rss_kib);
        }
        Scenario::Broadcast => {
            shared.set_phase(Phase::Sync);
            let sync_started = Instant::now();
            while shared.synced.load(Ordering::Acquire) < opts.conns {
                if sync_started.elapsed() > Duration::from_secs(10) {
                    notes.push(format!(
                        "only {} of {} receivers got the sync message",
                        shared.synced.load(Ordering::Acquire),
                        opts.conns
                    ));
                    break;
                }
                std::thread::sleep(Duration::from_millis(1));
            }
            cpu_run_start = opts.server_pid.and_then(cpu_micros);
            t0 = Instant::now();
            shared.set_phase(Phase::Run);
            wait_run(&shared, &opts, t0);
        }
        Scenario::Echo | Scenario::TcpEcho => {
            cpu_run_start = opts.server_pid.and_then(cpu_micros);
            t0 = Instant::now();
            shared.set_phase(Phase::Run);
            wait_run(&shared, &opts, t0);
        }
    }

    let t_end = Instant::now();
    shared.set_phase(Phase::Drain);
    let mut stats = Stats::default();
    for w in workers {
        stats.merge(w.join().expect("load thread panicked"));
    }
    shared.set_phase(Phase::Stop);
    let cpu_run = match (cpu_run_start, opts.server_pid.and_then(cpu_micros)) {
        (Some(b), Some(a)) => Some(a.saturating_sub(b)),
        _ => None,
    };

    // Failed opens and connections that died later are both in `stats.errors`.
    let errors = stats.errors;
    for e in &stats.error_samples {
        eprintln!("ringsocket-load: error: {e}");
    }
    for n in &notes {
        eprintln!("ringsocket-load: {n}");
    }
    let o = &opts;
    let name = o.scenario.name();
    let server = json_str(&o.server);
    let ok = errors == 0 && stats.lost == 0 && stats.out_of_order == 0 && notes.is_empty();
    match o.scenario {
        Scenario::Connect => {
            let hs = if open_secs > 0.0 {
                opened as f64 / open_secs
            } else {
                0.0
            };
            let per_conn = match (rss_before, rss_after) {
                (Some(b), Some(a)) if opened > 0 => {
                    Some((a as f64 - b as f64) * 1024.0 / opened as f64)
                }
                _ => None,
            };
            let per_conn_json = per_conn.map_or("null".to_owned(), |b| format!("{b:.0}"));
            let cpu_json = cpu_per_conn.map_or("null".to_owned(), |us| format!("{us:.1}"));
            println!(
                "{{\"scenario\":\"{name}\",\"server\":{server},\"conns\":{opened},\"handshakes_per_s\":{hs:.0},\"open_s\":{open_secs:.3},\"server_cpu_us_per_conn\":{cpu_json},\"rss_before_kib\":{},\"rss_after_kib\":{},\"bytes_per_conn\":{per_conn_json},\"errors\":{errors},\"ok\":{ok}}}",
                opt_json(rss_before),
                opt_json(rss_after)
            );
            eprintln!(
                "{name} {}: {opened} connections in {open_secs:.3} s = {hs:.0} handshakes/s, server CPU {cpu_json} us each; server RSS {} -> {} KiB = {} B per idle connection; errors {errors}",
                o.server,
                opt_json(rss_before),
                opt_json(rss_after),
                per_conn.map_or("?".to_owned(), |b| format!("{b:.0}")),
            );
        }
        _ => {
            // The rate runs until the last reply or delivery (the drain is short: at most the
            // in-flight window).
            let last = shared.base + Duration::from_nanos(stats.last_recv_ns);
            let window = last.max(t_end).saturating_duration_since(t0).as_secs_f64();
            let n = stats.hist.count();
            let rate = if window > 0.0 { n as f64 / window } else { 0.0 };
            let (p50, p99, max) = (
                stats.hist.quantile(0.50) as f64 / 1e3,
                stats.hist.quantile(0.99) as f64 / 1e3,
                stats.hist.max() as f64 / 1e3,
            );
            let (what, count_key, rate_key, conns_key) = if o.scenario == Scenario::Broadcast {
                ("deliveries", "deliveries", "deliveries_per_s", "receivers")
            } else {
                ("msgs", "msgs", "msgs_per_s", "conns")
            };
            let cpu_per_msg = cpu_run.filter(|_| n > 0).map(|us| us as f64 / n as f64);
            let cpu_json = cpu_per_msg.map_or("null".to_owned(), |us| format!("{us:.2}"));
            let deflate_json = match o.deflate {
                None => "null".to_owned(),
                Some(level) => format!(
                    "{{\"level\":{level},\"compressed_in\":{},\"wire_bytes_in\":{},\"plain_bytes_in\":{}}}",
                    stats.compressed_in, stats.wire_in, stats.plain_in
                ),
            };
            println!(
                "{{\"scenario\":\"{name}\",\"server\":{server},\"{conns_key}\":{},\"inflight\":{},\"size\":{},\"threads\":{},\"secs\":{window:.3},\"sent\":{},\"{count_key}\":{n},\"{rate_key}\":{rate:.0},\"p50_us\":{p50:.1},\"p99_us\":{p99:.1},\"max_us\":{max:.1},\"server_cpu_us_per_msg\":{cpu_json},\"deflate\":{deflate_json},\"errors\":{errors},\"lost\":{},\"out_of_order\":{},\"ok\":{ok}}}",
                o.conns,
                o.inflight,
                stats.size,
                o.threads,
                stats.sent,
                stats.lost,
                stats.out_of_order
            );
            eprintln!(
                "{name} {}: {} conns x {} in flight x {} B: {n} {what} in {window:.2} s = {rate:.0}/s, latency p50 {p50:.1} us p99 {p99:.1} us max {max:.1} us; errors {errors}, lost {}, out of order {}",
                o.server, o.conns, o.inflight, stats.size, stats.lost, stats.out_of_order
            );
            if let Some(us) = cpu_per_msg {
                eprintln!("{name} {}: server CPU {us:.2} us per {what}", o.server);
            }
            if o.deflate.is_some() {
                let ratio = stats.plain_in as f64 / stats.wire_in.max(1) as f64;
                eprintln!(
                    "{name} {}: {} of {n} arrived compressed, {} B on the wire for {} B ({ratio:.2}x)",
                    o.server, stats.compressed_in, stats.wire_in, stats.plain_in
                );
            }
        }
    }
    if !ok {
        exit(1);
    }
}

/// Sleeps until the run's time is up or its count is reached.
fn wait_run(shared: &Shared, opts: &Opts, t0: Instant) {
    while t0.elapsed() < opts.duration {
        if opts.count > 0 && shared.sends_left.load(Ordering::Acquire) <= 0 {
            break;
        }
        if shared.died.load(Ordering::Acquire) > 0 {
            // A dead connection already fails the run; keep the figures but stop early.
            break;
        }
        std::thread::sleep(Duration::from_millis(2));
    }
}

fn opt_json(v: Option<u64>) -> String {
    v.map_or("null".to_owned(), |v| v.to_string())
}

fn json_str(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}
