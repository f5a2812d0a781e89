//! The real binary's privilege drop, as root: a system user this test creates (`useradd`,
//! removed by a guard), a generated config naming it, and `/proc/PID/status` of the daemon's
//! every thread (`/proc/PID/task/*/status`) read while it serves: the user's uid and gid
//! (real, effective, saved, filesystem), no capabilities in any set, `NoNewPrivs`. Also
//! `"user": ""` (root without capabilities), and a port below 1024 bound by a daemon that runs
//! as the created user (the capability is kept until the listeners are bound).
//!
//! Root-only: skipped with a notice when not root, or failing when
//! `RINGSOCKET_REQUIRE_ROOT_TESTS=1` (CI sets it; see `process_harness`).

mod common;
mod process_harness;

use std::collections::HashMap;
use std::net::{Ipv4Addr, SocketAddr, TcpListener};
use std::path::Path;

use common::Client;
use common::daemon::{Daemon, build_c_echo, free_port, test_dir, write_config};
use process_harness::{REQUIRE_ROOT_ENV, TestUser, is_root};

/// Whether a root-only test may run here; panics when it must run but cannot.
fn root_or_skip(test: &str) -> bool {
    if is_root() {
        return true;
    }
    assert!(
        !std::env::var(REQUIRE_ROOT_ENV).is_ok_and(|v| v == "1"),
        "{test} needs root, and {REQUIRE_ROOT_ENV}=1 says root-only tests must run (CI runs as root)"
    );
    eprintln!("{test}: skipped (needs root; set {REQUIRE_ROOT_ENV}=1 to make this a failure)");
    false
}

fn echo_config(dir: &Path, so: &Path, user: &str, port: u16) -> std::path::PathBuf {
    write_config(
        dir,
        port,
        "echo",
        so,
        &format!(r#"{{ "endpoint_id": 1, "url": "ws://localhost:{port}/echo" }}"#),
        &format!(r#""user": "{user}", "worker_c": 2, "fd_alloc_c": 1000, "shutdown_wait_ws": 2"#),
    )
}

/// `Key: value` lines of a `/proc/…/status` file.
fn status_of(path: &Path) -> HashMap<String, String> {
    std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .lines()
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.to_owned(), v.trim().to_owned()))
        .collect()
}

const NO_CAPS: &str = "0000000000000000";

/// Asserts the credentials of the daemon's every thread; returns how many threads there are.
fn assert_every_thread(pid: u32, uid: u32, gid: u32, groups: Option<&str>) -> usize {
    let tasks: Vec<_> = std::fs::read_dir(format!("/proc/{pid}/task"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    // Main, two workers, one app thread.
    assert!(tasks.len() >= 4, "only {} threads", tasks.len());
    let main = status_of(Path::new(&format!("/proc/{pid}/status")));
    for path in tasks.iter().map(|t| t.join("status")).chain([
        // The process's own view, too (the main thread's).
        Path::new(&format!("/proc/{pid}/status")).to_path_buf(),
    ]) {
        let status = status_of(&path);
        let what = format!("{} ({})", path.display(), status["Name"]);
        assert_eq!(
            status["Uid"],
            format!("{uid}\t{uid}\t{uid}\t{uid}"),
            "{what}"
        );
        assert_eq!(
            status["Gid"],
            format!("{gid}\t{gid}\t{gid}\t{gid}"),
            "{what}"
        );
        if let Some(groups) = groups {
            assert_eq!(status["Groups"], groups, "{what}");
        }
        for key in ["CapEff", "CapPrm", "CapInh", "CapAmb"] {
            assert_eq!(status[key], NO_CAPS, "{key} of {what}");
        }
        assert_eq!(status["NoNewPrivs"], "1", "{what}");
    }
    assert_eq!(main["Threads"], tasks.len().to_string());
    tasks.len()
}

/// Serves one echo round trip on `port` (proof that the listener works as the dropped user).
fn echo_works(port: u16) {
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let mut c = Client::connect(addr, &format!("localhost:{port}"), "/echo");
    c.text("as the run user");
    assert_eq!(c.recv_text(), "as the run user");
    c.close(1000);
    assert_eq!(c.recv_close(), Some(1000));
}

fn stop(daemon: Daemon) {
    let (status, lines) = daemon.stop();
    assert!(status.success(), "{status}\n{}", lines.join("\n"));
}

/// `useradd`/`userdel` lock /etc/passwd: one test user at a time.
static USERS: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn runs_as_a_created_user_on(port: u16, tag: &str) {
    let _one_at_a_time = USERS.lock().unwrap_or_else(|e| e.into_inner());
    let user = TestUser::create();
    assert_ne!(user.uid, 0);
    let dir = test_dir(tag);
    let so = build_c_echo(&dir);
    let config = echo_config(&dir, &so, &user.name, port);
    let daemon = Daemon::start(&config);
    echo_works(port);
    let threads = assert_every_thread(
        daemon.pid(),
        user.uid,
        user.gid,
        Some(&user.gid.to_string()),
    );
    eprintln!("{tag}: {threads} threads as {} checked", user.name);
    stop(daemon);
}

#[test]
fn the_daemon_runs_as_the_configured_user_without_capabilities() {
    if !root_or_skip("the_daemon_runs_as_the_configured_user_without_capabilities") {
        return;
    }
    runs_as_a_created_user_on(free_port(), "privileges-user");
}

#[test]
fn a_port_below_1024_binds_before_the_drop() {
    if !root_or_skip("a_port_below_1024_binds_before_the_drop") {
        return;
    }
    // Free now (found as root); the range is searched from the top.
    let port = (900..1024)
        .rev()
        .find(|&p| TcpListener::bind(("127.0.0.1", p)).is_ok())
        .expect("a free port in 900..1024");
    runs_as_a_created_user_on(port, "privileges-low-port");
}

#[test]
fn an_empty_user_keeps_root_without_capabilities() {
    if !root_or_skip("an_empty_user_keeps_root_without_capabilities") {
        return;
    }
    let dir = test_dir("privileges-empty-user");
    let so = build_c_echo(&dir);
    let port = free_port();
    let config = echo_config(&dir, &so, "", port);
    let daemon = Daemon::start(&config);
    echo_works(port);
    assert_every_thread(daemon.pid(), 0, 0, None);
    stop(daemon);
}
