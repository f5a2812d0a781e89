//! `ringsocket-soak`: a hostile soak test of a running RingSocket daemon (see `loadgen/soak.sh`,
//! which builds everything, writes the configuration, starts the daemon and runs this).
//!
//! One run: a paced ramp of legitimate clients from 127.0.0.1 (echo with sequence-numbered,
//! self-describing payloads; a broadcast group on the chat app), a warm-up, a clean phase
//! (legitimate traffic only), a hostile phase (the same traffic beside a bounded mix of
//! hostile clients, each from its own loopback address, see `hostile.rs`), then the end: the
//! legitimate clients drain and close with the close handshake, and the daemon's descriptor
//! count must come back to its baseline. The daemon's resident memory is sampled every second.
//!
//! It prints a report and one JSON line on stdout, and exits 1 when any legitimate message was
//! lost, reordered, duplicated or altered, any legitimate client failed or was closed, the
//! daemon died, its descriptors did not come back, its memory grew past the tolerance after the
//! warm-up, or any hostile expectation was not met (2 for a usage error). Latency is reported,
//! never judged.

#[path = "../load/hist.rs"]
mod hist;
mod hostile;
mod legit;
mod net;

use std::io::{Read, Write};
use std::process::{Command, Stdio, exit};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::thread;
use std::time::{Duration, Instant};

use hostile::{Ctx, Outcome, Verdict};
use legit::{Counts, LegitOpts, LegitReport, PHASES, Stage};

const USAGE: &str = "\
usage: ringsocket-soak --pid PID --ws-port P --wss-port P --admin-port P [OPTIONS]
  --clients N          legitimate clients (default 2000)
  --bcast N            of them, broadcasting through /chat (default min(100, N/10))
  --secs S             clean + hostile duration, 1/3 clean (default 60)
  --warm S             warm-up after the ramp (default 3)
  --limits 0|1         the limit keys are configured (default 1)
  --per-ip N           max_connections_per_ip (default clients + 500)
  --hs-rate N          max_handshakes_per_second_per_ip (default 1000)
  --msg-rate N         max_messages_per_second (default 100)
  --max-conns N        max_connections (default 2 * clients + 1500)
  --max-msg N          max_ws_msg_size (default 65536)
  --handshake-wait S   handshake_wait (default 4)
  --openssl PATH       openssl, for the wss:// probes (default: openssl; \"\" skips them)";

fn usage(problem: &str) -> ! {
    eprintln!("ringsocket-soak: {problem}\n{USAGE}");
    exit(2)
}

#[derive(Debug, Clone)]
struct Opts {
    pid: u32,
    ws_port: u16,
    wss_port: u16,
    admin_port: u16,
    clients: usize,
    bcast: usize,
    secs: f64,
    warm: f64,
    limits: bool,
    per_ip: usize,
    hs_rate: usize,
    msg_rate: usize,
    max_conns: usize,
    max_msg: u64,
    handshake_wait: u64,
    openssl: String,
}

fn parse_opts() -> Opts {
    let mut args = std::env::args().skip(1);
    let mut named = std::collections::HashMap::new();
    while let Some(name) = args.next() {
        if name == "-h" || name == "--help" {
            println!("{USAGE}");
            exit(0);
        }
        let Some(v) = args.next() else {
            usage(&format!("{name} needs a value"))
        };
        named.insert(name, v);
    }
    fn num<T: std::str::FromStr>(
        named: &std::collections::HashMap<String, String>,
        k: &str,
        default: Option<T>,
    ) -> T {
        match named.get(k) {
            Some(v) => v
                .parse()
                .unwrap_or_else(|_| usage(&format!("bad value {v:?} for {k}"))),
            None => default.unwrap_or_else(|| usage(&format!("{k} is required"))),
        }
    }
    let known = [
        "--pid",
        "--ws-port",
        "--wss-port",
        "--admin-port",
        "--clients",
        "--bcast",
        "--secs",
        "--warm",
        "--limits",
        "--per-ip",
        "--hs-rate",
        "--msg-rate",
        "--max-conns",
        "--max-msg",
        "--handshake-wait",
        "--openssl",
    ];
    if let Some(k) = named.keys().find(|k| !known.contains(&k.as_str())) {
        usage(&format!("unknown option {k}"));
    }
    let clients: usize = num(&named, "--clients", Some(2000));
    let o = Opts {
        pid: num(&named, "--pid", None),
        ws_port: num(&named, "--ws-port", None),
        wss_port: num(&named, "--wss-port", None),
        admin_port: num(&named, "--admin-port", None),
        clients,
        bcast: num(&named, "--bcast", Some((clients / 10).min(100))),
        secs: num(&named, "--secs", Some(60.0)),
        warm: num(&named, "--warm", Some(3.0)),
        limits: num::<u8>(&named, "--limits", Some(1)) != 0,
        per_ip: num(&named, "--per-ip", Some(clients + 500)),
        hs_rate: num(&named, "--hs-rate", Some(1000)),
        msg_rate: num(&named, "--msg-rate", Some(100)),
        max_conns: num(&named, "--max-conns", Some(2 * clients + 1500)),
        max_msg: num(&named, "--max-msg", Some(65536)),
        handshake_wait: num(&named, "--handshake-wait", Some(4)),
        openssl: named
            .get("--openssl")
            .cloned()
            .unwrap_or_else(|| "openssl".to_owned()),
    };
    if o.clients < 20 || o.bcast < 2 || o.bcast > o.clients / 2 {
        usage("need --clients >= 20 and 2 <= --bcast <= clients / 2");
    }
    // The legitimate clients (all from 127.0.0.1) must stay clear of every limit.
    if o.per_ip < o.clients + 100 || o.max_conns < o.clients + o.per_ip + 500 || o.hs_rate < 50 {
        usage(
            "limits too tight for the legitimate load: need per-ip >= clients + 100, max-conns >= clients + per-ip + 500, hs-rate >= 50",
        );
    }
    if o.msg_rate < 20 {
        usage("--msg-rate below 20 would close legitimate echo clients (up to 10 messages/s)");
    }
    if o.secs < 9.0 {
        usage("--secs must be at least 9");
    }
    o
}

/// Raises the soft open-file limit to the hard one (thousands of connections).
fn raise_nofile() {
    use rustix::process::{Resource, getrlimit, setrlimit};
    let mut limit = getrlimit(Resource::Nofile);
    if limit.current != limit.maximum {
        limit.current = limit.maximum;
        let _ = setrlimit(Resource::Nofile, limit);
    }
}

/// `VmRSS` of `pid`, in KiB.
fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// The daemon's descriptors: how many, and how many are sockets.
fn fds(pid: u32) -> Option<(usize, usize)> {
    let dir = std::fs::read_dir(format!("/proc/{pid}/fd")).ok()?;
    let (mut all, mut sockets) = (0, 0);
    for entry in dir.flatten() {
        all += 1;
        if std::fs::read_link(entry.path())
            .is_ok_and(|t| t.to_string_lossy().starts_with("socket:"))
        {
            sockets += 1;
        }
    }
    Some((all, sockets))
}

/// Whether the daemon still runs (not gone, not a zombie).
fn alive(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|s| {
        s.rfind(')')
            .and_then(|at| s[at + 1..].split_whitespace().next())
            .is_some_and(|state| state != "Z" && state != "X")
    })
}

#[derive(Debug, Clone, Copy)]
struct Sample {
    t: f64,
    rss_kib: u64,
    fds: usize,
    stage: Stage,
}

/// Samples the daemon's RSS and descriptors every second; flags its death.
struct Sampler {
    samples: Arc<Mutex<Vec<Sample>>>,
    dead: Arc<AtomicBool>,
    stop: Arc<AtomicBool>,
    handle: Option<thread::JoinHandle<()>>,
}

impl Sampler {
    fn start(pid: u32, shared: Arc<legit::Shared>) -> Self {
        let samples = Arc::new(Mutex::new(Vec::new()));
        let dead = Arc::new(AtomicBool::new(false));
        let stop = Arc::new(AtomicBool::new(false));
        let handle = {
            let (samples, dead, stop) = (samples.clone(), dead.clone(), stop.clone());
            thread::spawn(move || {
                let started = Instant::now();
                let mut next = started;
                while !stop.load(Ordering::Acquire) {
                    if !alive(pid) {
                        dead.store(true, Ordering::Release);
                        return;
                    }
                    if let (Some(rss), Some((n, _))) = (rss_kib(pid), fds(pid)) {
                        let s = Sample {
                            t: started.elapsed().as_secs_f64(),
                            rss_kib: rss,
                            fds: n,
                            stage: shared.stage(),
                        };
                        samples.lock().unwrap_or_else(|e| e.into_inner()).push(s);
                    }
                    next += Duration::from_secs(1);
                    while Instant::now() < next && !stop.load(Ordering::Acquire) {
                        thread::sleep(Duration::from_millis(20));
                    }
                }
            })
        };
        Self {
            samples,
            dead,
            stop,
            handle: Some(handle),
        }
    }

    fn dead(&self) -> bool {
        self.dead.load(Ordering::Acquire)
    }

    fn finish(mut self) -> Vec<Sample> {
        self.stop.store(true, Ordering::Release);
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
        std::mem::take(&mut *self.samples.lock().unwrap_or_else(|e| e.into_inner()))
    }
}

/// Sleeps `secs`, waking early (false) if the daemon dies.
fn sleep_watch(sampler: &Sampler, secs: f64) -> bool {
    let until = Instant::now() + Duration::from_secs_f64(secs);
    while Instant::now() < until {
        if sampler.dead() {
            return false;
        }
        thread::sleep(Duration::from_millis(20));
    }
    !sampler.dead()
}

/// A wss:// echo through `openssl s_client`: upgrade, one masked text frame, its echo.
fn wss_probe(openssl: &str, port: u16) -> Result<(), String> {
    let mut child = Command::new(openssl)
        .args([
            "s_client",
            "-connect",
            &format!("127.0.0.1:{port}"),
            "-servername",
            "localhost",
            "-quiet",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("cannot run {openssl}: {e}"))?;
    let mut request = net::upgrade_request(port, "/echo", "");
    request.extend(net::frame(1, true, b"wss-probe", None));
    let mut stdin = child.stdin.take().ok_or("no stdin")?;
    let mut stdout = child.stdout.take().ok_or("no stdout")?;
    let _ = stdin.write_all(&request);
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        let mut got = Vec::new();
        let mut chunk = [0u8; 4096];
        let want: &[u8] = b"\x81\x09wss-probe";
        while let Ok(n) = stdout.read(&mut chunk) {
            if n == 0 {
                break;
            }
            got.extend_from_slice(&chunk[..n]);
            if got.windows(want.len()).any(|w| w == want) {
                break;
            }
        }
        let _ = tx.send(got);
    });
    let got = rx.recv_timeout(Duration::from_secs(10)).unwrap_or_default();
    let _ = child.kill();
    let _ = child.wait();
    drop(stdin);
    let text = String::from_utf8_lossy(&got);
    if !text.starts_with("HTTP/1.1 101") {
        return Err(format!(
            "no 101: {:?}",
            text.chars().take(40).collect::<String>()
        ));
    }
    if !got.windows(11).any(|w| w == b"\x81\x09wss-probe") {
        return Err("upgraded, but no echo".to_owned());
    }
    Ok(())
}

fn main() {
    let o = parse_opts();
    raise_nofile();
    let pid = o.pid;
    let mut failures: Vec<String> = Vec::new();

    // Ready: /health answers 200.
    let ready_by = Instant::now() + Duration::from_secs(15);
    loop {
        if !alive(pid) {
            eprintln!("ringsocket-soak: the daemon (pid {pid}) is not running");
            exit(1);
        }
        if net::http_get(o.admin_port, "/health").is_some_and(|(s, _)| s == 200) {
            break;
        }
        if Instant::now() > ready_by {
            eprintln!("ringsocket-soak: the daemon's /health did not answer 200 within 15 s");
            exit(1);
        }
        thread::sleep(Duration::from_millis(50));
    }
    thread::sleep(Duration::from_millis(300));
    let (base_fds, base_sockets) = fds(pid).unwrap_or_else(|| {
        eprintln!("ringsocket-soak: cannot read /proc/{pid}/fd");
        exit(1)
    });
    let base_rss = rss_kib(pid).unwrap_or(0);

    let shared = Arc::new(legit::Shared::new());
    let sampler = Sampler::start(pid, shared.clone());
    let run_started = Instant::now();
    let lopts = LegitOpts {
        port: o.ws_port,
        clients: o.clients,
        bcast: o.bcast,
        ramp_per_s: o.hs_rate as f64 * 0.4,
        echo_gap_ms: (100, 500),
        bcast_gap_ms: (1000, 2000),
    };
    let legit_thread = {
        let shared = shared.clone();
        thread::Builder::new()
            .name("legit".into())
            .spawn(move || legit::run(&shared, &lopts))
            .expect("spawn")
    };
    eprintln!(
        "ringsocket-soak: ramping {} clients at {:.0}/s",
        o.clients,
        o.hs_rate as f64 * 0.4
    );
    let ramp_by = Instant::now() + Duration::from_secs(120);
    while shared.opened.load(Ordering::Acquire) + shared.failed.load(Ordering::Acquire) < o.clients
    {
        if sampler.dead() || Instant::now() > ramp_by {
            break;
        }
        thread::sleep(Duration::from_millis(10));
    }
    let ramp_secs = run_started.elapsed().as_secs_f64();

    let clean_secs = o.secs / 3.0;
    let hostile_secs = o.secs - clean_secs;
    let mut outcomes: Vec<Outcome> = Vec::new();
    let mut probes: Vec<(String, Result<(), String>)> = Vec::new();
    let mut post_warm_rss = None;
    let mut phase_secs = [0.0f64; 3];
    let mut alive_through = !sampler.dead();

    let ctx_for = |until: Instant| Ctx {
        ws_port: o.ws_port,
        wss_port: o.wss_port,
        admin_port: o.admin_port,
        limits: o.limits,
        per_ip: o.per_ip,
        hs_rate: o.hs_rate,
        msg_rate: o.msg_rate,
        max_conns: o.max_conns,
        max_msg: o.max_msg,
        handshake_wait: Duration::from_secs(o.handshake_wait),
        clients: o.clients,
        until,
    };
    let mut prefilled = 0;
    if alive_through {
        // The warm-up: traffic flows while idle connections up to the floods' peak come and
        // go (see `hostile::prefill`); the memory baseline is taken after both.
        eprintln!("ringsocket-soak: warm-up {:.0} s", o.warm);
        shared.set_stage(Stage::Warm);
        let t = Instant::now();
        let want = o.max_conns - o.clients - 200;
        prefilled = hostile::prefill(&ctx_for(t), want);
        if prefilled < want {
            failures.push(format!(
                "warm-up pre-fill: only {prefilled} of {want} idle connections upgraded (every limit was respected)"
            ));
        }
        alive_through = sleep_watch(&sampler, (o.warm - t.elapsed().as_secs_f64()).max(1.0));
        phase_secs[0] = t.elapsed().as_secs_f64();
        post_warm_rss = rss_kib(pid);
    }
    if alive_through {
        eprintln!("ringsocket-soak: clean phase {clean_secs:.0} s");
        shared.set_stage(Stage::Clean);
        let t = Instant::now();
        if !o.openssl.is_empty() {
            probes.push(("clean".into(), wss_probe(&o.openssl, o.wss_port)));
        }
        alive_through = sleep_watch(&sampler, clean_secs - t.elapsed().as_secs_f64());
        phase_secs[1] = t.elapsed().as_secs_f64();
    }
    if alive_through {
        eprintln!("ringsocket-soak: hostile phase {hostile_secs:.0} s");
        shared.set_stage(Stage::Hostile);
        let t = Instant::now();
        // The global flood needs the daemon to itself at the end; the others share the rest.
        let window = (hostile_secs - 5.0).max(6.0);
        let ctx = ctx_for(t + Duration::from_secs_f64(window));
        type Kind = fn(&Ctx) -> Outcome;
        let kinds: [(f64, Kind); 11] = [
            (0.0, hostile::slowloris_headers),
            (0.0, hostile::half_open),
            (0.0, hostile::slow_frame),
            (0.0, hostile::big_headers),
            (0.0, hostile::big_frames),
            (0.0, hostile::bad_utf8),
            (0.0, hostile::garbage),
            (0.0, hostile::rst_storm),
            (0.5, hostile::slow_readers),
            (2.0, hostile::fatal),
            (3.0, hostile::msg_flood),
        ];
        let mut handles: Vec<thread::JoinHandle<Vec<Outcome>>> = kinds
            .into_iter()
            .map(|(delay, kind)| {
                let ctx = ctx.clone();
                thread::spawn(move || {
                    thread::sleep(Duration::from_secs_f64(delay));
                    vec![kind(&ctx)]
                })
            })
            .collect();
        // The two single-address floods, one after the other (each holds many connections).
        handles.push({
            let ctx = ctx.clone();
            thread::spawn(move || {
                thread::sleep(Duration::from_secs(1));
                vec![hostile::conn_flood(&ctx), hostile::hs_burst(&ctx)]
            })
        });
        for h in handles {
            match h.join() {
                Ok(out) => outcomes.extend(out),
                Err(_) => failures.push("a hostile thread panicked".to_owned()),
            }
        }
        alive_through = !sampler.dead();
        if alive_through {
            outcomes.push(hostile::global_flood(&ctx));
        }
        if !o.openssl.is_empty() && !sampler.dead() {
            probes.push((
                "after the hostile mix".into(),
                wss_probe(&o.openssl, o.wss_port),
            ));
        }
        alive_through = !sampler.dead();
        phase_secs[2] = t.elapsed().as_secs_f64();
    }

    // The end: drain, close, descriptors back.
    eprintln!("ringsocket-soak: draining and closing");
    shared.set_stage(Stage::Drain);
    let drain_by = Instant::now() + Duration::from_secs(10);
    while Instant::now() < drain_by && shared.owed.load(Ordering::Acquire) != 0 && !sampler.dead() {
        thread::sleep(Duration::from_millis(20));
    }
    shared.set_stage(Stage::Close);
    let report: LegitReport = legit_thread.join().unwrap_or_else(|_| {
        eprintln!("ringsocket-soak: the legitimate load thread panicked");
        exit(1)
    });
    let settle_by = Instant::now() + Duration::from_secs(10);
    let mut end_fds = fds(pid);
    while Instant::now() < settle_by {
        end_fds = fds(pid);
        if end_fds == Some((base_fds, base_sockets)) {
            break;
        }
        thread::sleep(Duration::from_millis(100));
    }
    // Let the allocator settle before the last memory sample.
    thread::sleep(Duration::from_millis(500));
    let end_rss = rss_kib(pid);
    let daemon_alive = alive(pid) && alive_through;
    let samples = sampler.finish();
    let total_secs = run_started.elapsed().as_secs_f64();

    // --- verdicts -------------------------------------------------------------------------
    if !daemon_alive {
        failures.push("the daemon died or exited during the run".to_owned());
    }
    let sum = |c: &[Counts; 3]| -> Counts {
        c.iter().fold(Counts::default(), |a, b| Counts {
            sent: a.sent + b.sent,
            received: a.received + b.received,
            lost: a.lost + b.lost,
            reordered: a.reordered + b.reordered,
            duplicated: a.duplicated + b.duplicated,
            corrupt: a.corrupt + b.corrupt,
        })
    };
    let (echo_all, bcast_all) = (sum(&report.echo), sum(&report.bcast));
    if echo_all.bad() + bcast_all.bad() > 0 {
        failures.push(format!(
            "legitimate messages: {} lost, {} reordered, {} duplicated, {} corrupt",
            echo_all.lost + bcast_all.lost,
            echo_all.reordered + bcast_all.reordered,
            echo_all.duplicated + bcast_all.duplicated,
            echo_all.corrupt + bcast_all.corrupt
        ));
    }
    if report.connect_failures > 0 {
        failures.push(format!(
            "{} legitimate clients could not connect",
            report.connect_failures
        ));
    }
    if report.unexpected_closes > 0 {
        failures.push(format!(
            "{} legitimate clients were closed unexpectedly",
            report.unexpected_closes
        ));
    }
    if report.unclean_closes > 0
        || report.clean_closes
            < o.clients as u64 - report.connect_failures - report.unexpected_closes
    {
        failures.push(format!(
            "{} of {} legitimate clients did not finish the close handshake",
            report.unclean_closes, o.clients
        ));
    }
    if echo_all.sent == 0 || bcast_all.sent == 0 {
        failures.push("no legitimate traffic flowed".to_owned());
    }
    let fd_ok = end_fds == Some((base_fds, base_sockets));
    if !fd_ok {
        failures.push(format!(
            "descriptors not back to the baseline: {base_fds} ({base_sockets} sockets) before, {} after",
            end_fds.map_or("?".to_owned(), |(n, s)| format!("{n} ({s} sockets)"))
        ));
    }
    let rss_tol_kib = post_warm_rss.map(|w| w / 5 + 8 * 1024);
    let rss_growth = match (post_warm_rss, end_rss) {
        (Some(w), Some(e)) => Some(e as i64 - w as i64),
        _ => None,
    };
    if let (Some(g), Some(tol)) = (rss_growth, rss_tol_kib)
        && g > tol as i64
    {
        failures.push(format!(
            "RSS grew {} KiB after the warm-up (tolerance {tol} KiB)",
            g
        ));
    }
    for out in &outcomes {
        if let Verdict::Fail(why) = &out.verdict {
            failures.push(format!("hostile {}: {why}", out.kind));
        }
    }
    for (when, r) in &probes {
        if let Err(e) = r {
            failures.push(format!("wss:// probe ({when}): {e}"));
        }
    }

    // --- report -------------------------------------------------------------------------
    let mib = |kib: u64| kib as f64 / 1024.0;
    let us = |ns: u64| ns as f64 / 1e3;
    println!(
        "# RingSocket soak: {:.0} s ({:.0} s clean, {:.0} s hostile) + ramp {ramp_secs:.1} s + warm-up {:.0} s; total {total_secs:.0} s",
        o.secs, phase_secs[1], phase_secs[2], phase_secs[0]
    );
    println!(
        "warm-up: {prefilled} idle connections pre-filled and reset (the floods' peak) before the memory baseline"
    );
    println!(
        "{} legitimate clients from 127.0.0.1 ({} echo every 100-500 ms, {} broadcasting every 1-2 s through /chat); SOAK_LIMITS={}",
        o.clients,
        o.clients - o.bcast,
        o.bcast,
        u8::from(o.limits)
    );
    if o.limits {
        println!(
            "limits: max_connections_per_ip {}, max_handshakes_per_second_per_ip {}, max_messages_per_second {}, max_connections {}",
            o.per_ip, o.hs_rate, o.msg_rate, o.max_conns
        );
    }
    println!();
    println!("## Legitimate messages");
    println!();
    println!(
        "| phase | echo sent | received | lost | reordered | duplicated | corrupt | broadcast deliveries owed | delivered | lost | reordered | duplicated | corrupt |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    for (p, name) in PHASES.iter().enumerate() {
        let (e, b) = (report.echo[p], report.bcast[p]);
        println!(
            "| {name} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            e.sent,
            e.received,
            e.lost,
            e.reordered,
            e.duplicated,
            e.corrupt,
            b.sent,
            b.received,
            b.lost,
            b.reordered,
            b.duplicated,
            b.corrupt
        );
    }
    println!();
    println!(
        "clients: {} could not connect, {} closed unexpectedly, {} of {} closed with the close handshake; {} pings answered",
        report.connect_failures,
        report.unexpected_closes,
        report.clean_closes,
        o.clients,
        report.pings
    );
    for s in &report.samples {
        println!("  problem: {s}");
    }
    println!();
    println!("## Latency (echo round trip; broadcast send to delivery), µs");
    println!();
    println!(
        "| phase | echo p50 | echo p99 | echo max | broadcast p50 | broadcast p99 | broadcast max |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|");
    for (p, name) in PHASES.iter().enumerate() {
        let (e, b) = (&report.echo_hist[p], &report.bcast_hist[p]);
        println!(
            "| {name} | {:.0} | {:.0} | {:.0} | {:.0} | {:.0} | {:.0} |",
            us(e.quantile(0.5)),
            us(e.quantile(0.99)),
            us(e.max()),
            us(b.quantile(0.5)),
            us(b.quantile(0.99)),
            us(b.max())
        );
    }
    let ratio = |h: &[hist::Hist; 3]| {
        let (c, x) = (h[1].quantile(0.99), h[2].quantile(0.99));
        (c > 0 && h[2].count() > 0).then(|| x as f64 / c as f64)
    };
    let (echo_ratio, bcast_ratio) = (ratio(&report.echo_hist), ratio(&report.bcast_hist));
    let mut all = hist::Hist::new();
    all.merge(&report.echo_hist[2]);
    all.merge(&report.bcast_hist[2]);
    let show = |r: Option<f64>| r.map_or("-".to_owned(), |r| format!("{r:.2}x"));
    let met = |r: Option<f64>| match r {
        Some(r) if r <= 2.0 => "met",
        Some(_) => "missed",
        None => "n/a",
    };
    println!();
    println!(
        "hostile p99 / clean p99: echo {} ({}), broadcast {} ({}); target <= 2x, reported, not judged (timing is no test). Hostile phase, all {} samples: p99 {:.0} µs",
        show(echo_ratio),
        met(echo_ratio),
        show(bcast_ratio),
        met(bcast_ratio),
        all.count(),
        us(all.quantile(0.99))
    );
    println!();
    println!("## Daemon (pid {pid})");
    println!();
    let rss_min = samples.iter().map(|s| s.rss_kib).min().unwrap_or(0);
    let rss_max = samples.iter().map(|s| s.rss_kib).max().unwrap_or(0);
    let fd_max = samples.iter().map(|s| s.fds).max().unwrap_or(0);
    let hostile_max = samples
        .iter()
        .filter(|s| s.stage == Stage::Hostile)
        .map(|s| s.rss_kib)
        .max();
    println!(
        "RSS (sampled every second, {} samples): before the clients {:.1} MiB, after the warm-up {}, min {:.1}, max {:.1} (hostile max {}), end {} MiB",
        samples.len(),
        mib(base_rss),
        post_warm_rss.map_or("?".to_owned(), |k| format!("{:.1}", mib(k))),
        mib(rss_min),
        mib(rss_max),
        hostile_max.map_or("-".to_owned(), |k| format!("{:.1}", mib(k))),
        end_rss.map_or("?".to_owned(), |k| format!("{:.1}", mib(k)))
    );
    println!(
        "RSS growth after the warm-up: {} MiB (tolerance 20 % + 8 MiB = {} MiB): {}",
        rss_growth.map_or("?".to_owned(), |g| format!("{:+.1}", g as f64 / 1024.0)),
        rss_tol_kib.map_or("?".to_owned(), |t| format!("{:.1}", mib(t))),
        match (rss_growth, rss_tol_kib) {
            (Some(g), Some(t)) if g <= t as i64 => "ok",
            (Some(_), Some(_)) => "FAIL",
            _ => "unknown",
        }
    );
    let trace: Vec<String> = samples
        .iter()
        .step_by((samples.len() / 24).max(1))
        .map(|s| format!("{:.0}s:{:.0}", s.t, mib(s.rss_kib)))
        .collect();
    println!("RSS trace (MiB): {}", trace.join(" "));
    println!(
        "descriptors: baseline {base_fds} ({base_sockets} sockets), peak {fd_max}, end {}: {}",
        end_fds.map_or("?".to_owned(), |(n, s)| format!("{n} ({s} sockets)")),
        if fd_ok { "ok" } else { "FAIL" }
    );
    println!("alive: {}", if daemon_alive { "yes" } else { "NO" });
    for (when, r) in &probes {
        println!(
            "wss:// echo probe ({when}): {}",
            match r {
                Ok(()) => "ok".to_owned(),
                Err(e) => format!("FAIL: {e}"),
            }
        );
    }
    println!();
    println!("## Hostile clients");
    println!();
    println!("| kind | attempts | seen | expected | verdict |");
    println!("|---|---:|---|---|---|");
    for out in &outcomes {
        let seen: Vec<String> = out.seen.iter().map(|(k, v)| format!("{k}: {v}")).collect();
        let verdict = match &out.verdict {
            Verdict::Pass => "ok".to_owned(),
            Verdict::Fail(w) => format!("FAIL: {w}"),
            Verdict::Skipped(w) => (*w).to_owned(),
        };
        println!(
            "| {} | {} | {} | {} | {verdict} |",
            out.kind,
            out.attempts,
            seen.join(", "),
            out.expect
        );
        if !out.note.is_empty() {
            println!("|  ↳ | | {} | | |", out.note);
        }
    }
    println!();
    let ok = failures.is_empty();
    if ok {
        println!("## Verdict: PASS");
    } else {
        println!("## Verdict: FAIL");
        for f in &failures {
            println!("- {f}");
        }
    }
    let hostile_json: Vec<String> = outcomes
        .iter()
        .map(|out| {
            let v = match &out.verdict {
                Verdict::Pass => "ok",
                Verdict::Fail(_) => "fail",
                Verdict::Skipped(_) => "skipped",
            };
            format!("{}:\"{v}\"", json_str(out.kind))
        })
        .collect();
    let opt = |v: Option<f64>| v.map_or("null".to_owned(), |v| format!("{v:.2}"));
    println!(
        "{{\"soak\":\"ringsocket\",\"ok\":{ok},\"secs\":{:.0},\"clients\":{},\"limits\":{},\"echo_sent\":{},\"echo_received\":{},\"bcast_owed\":{},\"bcast_delivered\":{},\"lost\":{},\"reordered\":{},\"duplicated\":{},\"corrupt\":{},\"unexpected_closes\":{},\"clean_closes\":{},\"echo_p99_clean_us\":{:.0},\"echo_p99_hostile_us\":{:.0},\"echo_p99_ratio\":{},\"bcast_p99_clean_us\":{:.0},\"bcast_p99_hostile_us\":{:.0},\"bcast_p99_ratio\":{},\"rss_warm_kib\":{},\"rss_max_kib\":{rss_max},\"rss_end_kib\":{},\"fds_base\":{base_fds},\"fds_end\":{},\"alive\":{daemon_alive},\"hostile\":{{{}}},\"failures\":{}}}",
        o.secs,
        o.clients,
        o.limits,
        echo_all.sent,
        echo_all.received,
        bcast_all.sent,
        bcast_all.received,
        echo_all.lost + bcast_all.lost,
        echo_all.reordered + bcast_all.reordered,
        echo_all.duplicated + bcast_all.duplicated,
        echo_all.corrupt + bcast_all.corrupt,
        report.unexpected_closes,
        report.clean_closes,
        us(report.echo_hist[1].quantile(0.99)),
        us(report.echo_hist[2].quantile(0.99)),
        opt(echo_ratio),
        us(report.bcast_hist[1].quantile(0.99)),
        us(report.bcast_hist[2].quantile(0.99)),
        opt(bcast_ratio),
        post_warm_rss.map_or("null".to_owned(), |v| v.to_string()),
        end_rss.map_or("null".to_owned(), |v| v.to_string()),
        end_fds.map_or("null".to_owned(), |(n, _)| n.to_string()),
        hostile_json.join(","),
        failures.len()
    );
    if !ok {
        exit(1);
    }
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
