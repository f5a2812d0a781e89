//! Signals and `--daemon`, each in a helper process that re-executes this binary: a signal
//! sent to the test harness itself, or a fork of it, would disturb the other tests (see
//! `process_harness` for why this binary has its own harness).

mod process_harness;

use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixDatagram;
use std::path::Path;
use std::process::{ExitCode, Stdio};
use std::time::{Duration, Instant};

use process_harness::{HELPER_ENV, Test, describe, fields, helper, temp_path};
use ringsocket_daemon::process::{self, SignalEvent, Signals};
use rustix::process::{Pid, Signal, getpid, kill_process};

const TESTS: &[Test] = &[
    Test {
        name: "signals_arrive_as_events_in_every_thread",
        root_only: false,
        run: signals_arrive_as_events,
    },
    Test {
        name: "daemonize_detaches_and_logs_to_syslog",
        root_only: false,
        run: daemonize_detaches,
    },
    Test {
        name: "daemonize_warns_when_syslog_is_unreachable",
        root_only: false,
        run: daemonize_warns_without_syslog,
    },
];

/// How long anything may take before a test gives up.
const LIMIT: Duration = Duration::from_secs(10);

/// Compiled only under libtest, which would never call `main`, so every test here would
/// silently vanish: this file needs `harness = false` (its `[[test]]` entry in Cargo.toml).
#[test]
fn needs_harness_false() {
    panic!(
        "tests/process.rs must be built with `harness = false`: see its [[test]] entry in Cargo.toml"
    );
}

fn main() -> ExitCode {
    match std::env::var(HELPER_ENV).as_deref() {
        Ok("signals") => signals_helper(),
        Ok("daemonize") => daemonize_helper(),
        Ok(other) => panic!("unknown helper mode {other}"),
        Err(_) => process_harness::run(TESTS),
    }
}

// ----- helpers (single-threaded processes) -----

/// Prints one line per event until it has seen SIGTERM, SIGINT and SIGHUP. SIGTERM and SIGINT
/// it sends itself from a second thread; SIGHUP comes from the parent after `ready`.
fn signals_helper() -> ExitCode {
    // Started the way a shell starts a background job: SIGINT ignored, SIGPIPE at its default.
    // SAFETY: no handler function is installed, only dispositions, and no other thread exists.
    unsafe {
        libc::signal(libc::SIGINT, libc::SIG_IGN);
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    let mut signals = Signals::new().expect("Signals::new");

    // SIGPIPE is ignored now: a write to a pipe without a reader fails instead of killing us.
    let (reader, mut writer) = std::io::pipe().expect("pipe");
    drop(reader);
    let pipe = writer.write(b"x");
    println!(
        "sigpipe={}",
        match pipe {
            Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => "EPIPE".to_owned(),
            other => format!("{other:?}"),
        }
    );

    // A thread spawned afterwards inherits the mask: a process-directed signal finds no thread
    // that would run the default action (termination).
    std::thread::spawn(|| {
        kill_process(getpid(), Signal::TERM).expect("kill TERM");
        kill_process(getpid(), Signal::INT).expect("kill INT");
    })
    .join()
    .expect("the thread");
    println!("ready");
    let _ = std::io::stdout().flush();

    let deadline = Instant::now() + LIMIT;
    let mut seen = Vec::new();
    while seen.len() < 3 && Instant::now() < deadline {
        let mut fds = [rustix::event::PollFd::new(
            &signals,
            rustix::event::PollFlags::IN,
        )];
        let timeout = rustix::event::Timespec {
            tv_sec: 1,
            tv_nsec: 0,
        };
        let _ = rustix::event::poll(&mut fds, Some(&timeout));
        for event in signals.by_ref() {
            let line = match event {
                SignalEvent::Shutdown { signal, sender_pid } => {
                    format!("{}={sender_pid}", signal.name())
                }
                SignalEvent::ReloadCerts { sender_pid } => format!("SIGHUP={sender_pid}"),
            };
            println!("{line}");
            let _ = std::io::stdout().flush();
            seen.push(line);
        }
    }
    ExitCode::SUCCESS
}

/// Env: `RS_OUT` (where the daemon writes what it sees), `RS_SYSLOG` (the syslog socket).
/// This process's session id, raw: the kernel reports 0 when the session's leader lives
/// outside the caller's PID namespace, which rustix's `Pid` cannot represent.
fn own_session_id() -> i32 {
    // SAFETY: getsid takes a plain integer and touches no memory of ours.
    unsafe { libc::getsid(0) }
}

fn daemonize_helper() -> ExitCode {
    let out = std::env::var("RS_OUT").expect("RS_OUT");
    let syslog = std::env::var("RS_SYSLOG").expect("RS_SYSLOG");
    println!("starter_pid={}", std::process::id());
    if let Err(e) = process::daemonize(Path::new(&syslog)) {
        println!("ERROR={e}");
        return ExitCode::from(3);
    }
    // The daemon. Its stdout is /dev/null now: it reports through a file.
    ringsocket_daemon::log!(Notice, "the daemon says hello");
    let link = |fd: i32| {
        std::fs::read_link(format!("/proc/self/fd/{fd}"))
            .map_or_else(|e| format!("error: {e}"), |p| p.display().to_string())
    };
    let sid = own_session_id();
    let report = format!(
        "pid={}\nsid={sid}\npgid={}\ncwd={}\nfd0={}\nfd1={}\nfd2={}\n",
        std::process::id(),
        rustix::process::getpgrp().as_raw_nonzero(),
        std::env::current_dir().map_or_else(|e| format!("error: {e}"), |p| p.display().to_string()),
        link(0),
        link(1),
        link(2),
    );
    // Written whole, then renamed: the parent never reads half a report.
    let tmp = format!("{out}.tmp");
    if std::fs::write(&tmp, report).is_ok() {
        let _ = std::fs::rename(&tmp, &out);
    }
    ExitCode::SUCCESS
}

// ----- the tests -----

fn signals_arrive_as_events() {
    let mut child = helper("signals")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the helper starts");
    let helper_pid = child.id();
    let mut stdout = BufReader::new(child.stdout.take().expect("stdout"));
    let mut lines = Vec::new();
    let mut line = String::new();
    while stdout.read_line(&mut line).expect("read") > 0 {
        let done = line.trim() == "ready";
        lines.push(std::mem::take(&mut line));
        if done {
            break;
        }
    }
    assert!(
        lines.last().is_some_and(|l| l.trim() == "ready"),
        "the helper never got ready: {lines:?}"
    );
    let pid = Pid::from_raw(i32::try_from(helper_pid).expect("pid")).expect("nonzero pid");
    kill_process(pid, Signal::HUP).expect("SIGHUP to the helper");
    while stdout.read_line(&mut line).expect("read") > 0 {
        lines.push(std::mem::take(&mut line));
    }
    let status = child.wait().expect("the helper ends");
    let all = lines.concat();
    assert!(status.success(), "{status}\n{all}");
    let f = fields(all.as_bytes());
    assert_eq!(f.get("sigpipe").map(String::as_str), Some("EPIPE"), "{all}");
    // Self-sent from a second thread: the sender is the helper (its thread group id).
    assert_eq!(f.get("SIGTERM"), Some(&helper_pid.to_string()), "{all}");
    // Delivered although the helper started with SIGINT ignored.
    assert_eq!(f.get("SIGINT"), Some(&helper_pid.to_string()), "{all}");
    assert_eq!(
        f.get("SIGHUP"),
        Some(&std::process::id().to_string()),
        "{all}"
    );
}

fn daemonize_detaches() {
    let out = temp_path("daemon-report");
    let sock = temp_path("syslog");
    let syslog = UnixDatagram::bind(&sock).expect("bind the test syslog socket");
    syslog.set_read_timeout(Some(LIMIT)).expect("timeout");
    let starter = helper("daemonize")
        .env("RS_OUT", &out)
        .env("RS_SYSLOG", &sock)
        .output()
        .expect("the helper runs");
    let text = describe(&starter);
    // The starter waits for the daemon to be set up, then exits 0 without a word on stderr.
    assert!(starter.status.success(), "{text}");
    assert!(starter.stderr.is_empty(), "{text}");
    let starter_pid = fields(&starter.stdout)
        .get("starter_pid")
        .cloned()
        .unwrap_or_else(|| panic!("{text}"));

    let deadline = Instant::now() + LIMIT;
    while !out.exists() {
        assert!(
            Instant::now() < deadline,
            "no report from the daemon\n{text}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let report = std::fs::read(&out).expect("the report");
    let _ = std::fs::remove_file(&out);
    let r = fields(&report);
    let all = format!("{text}--- report\n{}", String::from_utf8_lossy(&report));
    let pid = &r["pid"];
    assert_ne!(pid, &starter_pid, "a new process\n{all}");
    // A new session, whose leader (the intermediate) is gone: the daemon is not the leader
    // and so can never acquire a controlling terminal.
    // 0 where our session's leader lives outside this PID namespace (a container): still
    // not the daemon's session, which it made itself.
    let our_sid = own_session_id().to_string();
    assert_ne!(r["sid"], our_sid, "{all}");
    assert_ne!(&r["sid"], pid, "{all}");
    assert_eq!(r["pgid"], r["sid"], "{all}");
    assert_eq!(r["cwd"], "/", "{all}");
    for fd in ["fd0", "fd1", "fd2"] {
        assert_eq!(r[fd], "/dev/null", "{fd}\n{all}");
    }

    // Its log line came over syslog, with the daemon's pid.
    let mut buf = [0u8; 4096];
    let mut got = Vec::new();
    let expected = format!("<29>ringsocket[{pid}]: the daemon says hello");
    while !got.contains(&expected) {
        let n = syslog
            .recv(&mut buf)
            .unwrap_or_else(|e| panic!("no syslog line ({e}); got {got:?}\n{all}"));
        got.push(String::from_utf8_lossy(&buf[..n]).into_owned());
    }
    let _ = std::fs::remove_file(&sock);
}

fn daemonize_warns_without_syslog() {
    let out = temp_path("daemon-report");
    let sock = temp_path("no-syslog");
    let starter = helper("daemonize")
        .env("RS_OUT", &out)
        .env("RS_SYSLOG", &sock)
        .output()
        .expect("the helper runs");
    let text = describe(&starter);
    assert!(starter.status.success(), "{text}");
    let stderr = String::from_utf8_lossy(&starter.stderr);
    assert!(
        stderr.starts_with(&format!(
            "ringsocket: warning: the syslog socket {} cannot be reached (",
            sock.display()
        )),
        "{text}"
    );
    let deadline = Instant::now() + LIMIT;
    while !out.exists() {
        assert!(
            Instant::now() < deadline,
            "no report from the daemon\n{text}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = std::fs::remove_file(&out);
}
