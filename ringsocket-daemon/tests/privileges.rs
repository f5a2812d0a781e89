//! The privilege drop as it really happens: as root, with a system user this test creates
//! (`useradd`, removed again by a guard), in a helper process that re-executes this binary so
//! the drop runs in a process with one thread, like the daemon's startup.
//!
//! The helper calls `prepare`, binds a port below 1024 (the capability kept for it must
//! work), calls `finish`, and prints `/proc/self/status` after each step; the tests assert on
//! those fields. Root-only tests are skipped when not root, or fail when
//! `RINGSOCKET_REQUIRE_ROOT_TESTS=1` (see `process_harness`).

mod process_harness;

use std::collections::HashMap;
use std::io::ErrorKind;
use std::net::TcpListener;
use std::process::ExitCode;

use process_harness::{HELPER_ENV, Test, TestUser, describe, fields, helper, is_root};
use ringsocket_daemon::config::{Config, LoadOptions};
use ringsocket_daemon::process;

const TESTS: &[Test] = &[
    Test {
        name: "switches_to_a_created_user_and_drops_every_capability",
        root_only: true,
        run: switches_to_a_created_user,
    },
    Test {
        name: "empty_user_keeps_root_without_capabilities",
        root_only: true,
        run: empty_user_keeps_root,
    },
    Test {
        name: "a_missing_user_is_a_clear_error",
        root_only: true,
        run: missing_user_is_a_clear_error,
    },
    Test {
        name: "an_unprivileged_start_skips_and_says_so",
        root_only: false,
        run: unprivileged_start_skips_and_says_so,
    },
];

/// Compiled only under libtest, which would never call `main`, so every test here would
/// silently vanish: this file needs `harness = false` (its `[[test]]` entry in Cargo.toml).
#[test]
fn needs_harness_false() {
    panic!(
        "tests/privileges.rs must be built with `harness = false`: see its [[test]] entry in Cargo.toml"
    );
}

fn main() -> ExitCode {
    match std::env::var(HELPER_ENV).as_deref() {
        Ok("drop") => drop_helper(),
        Ok(other) => panic!("unknown helper mode {other}"),
        Err(_) => process_harness::run(TESTS),
    }
}

// ----- the helper (a single-threaded process) -----

/// The status fields printed after each step.
const STATUS_KEYS: &[&str] = &[
    "Uid",
    "Gid",
    "Groups",
    "CapInh",
    "CapPrm",
    "CapEff",
    "CapBnd",
    "CapAmb",
    "NoNewPrivs",
    "Threads",
];

fn print_status(step: &str) {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    for line in status.lines() {
        if let Some((key, value)) = line.split_once(':')
            && STATUS_KEYS.contains(&key)
        {
            println!("{step}.{key}={}", value.trim());
        }
    }
}

fn try_bind(port: u16) -> String {
    match TcpListener::bind(("127.0.0.1", port)) {
        Ok(_) => "ok".into(),
        Err(e) if e.kind() == ErrorKind::PermissionDenied => "denied".into(),
        Err(e) => format!("error: {e}"),
    }
}

/// Env: `RS_CONFIG` (the configuration text), `RS_LOW_PORT` (a free port below 1024 that the
/// config lists, optional), `RS_START_AS` (`uid:gid`: become that user first, to start
/// unprivileged).
fn drop_helper() -> ExitCode {
    let text = std::env::var("RS_CONFIG").expect("RS_CONFIG");
    let options = LoadOptions {
        check_files: false,
        ..LoadOptions::default()
    };
    let config = match Config::from_str_with(&text, "helper.json", &options) {
        Ok((c, _)) => c,
        Err(e) => {
            for err in &e.errors {
                println!("CONFIG ERROR: {err}");
            }
            return ExitCode::from(2);
        }
    };
    process::log::set_level(config.settings.log_level);
    if let Ok(ids) = std::env::var("RS_START_AS") {
        become_unprivileged(&ids);
    }
    print_status("start");
    let low_port: Option<u16> = std::env::var("RS_LOW_PORT")
        .ok()
        .map(|p| p.parse().expect("port"));

    let drop = match process::prepare(&config) {
        Ok(d) => d,
        Err(e) => {
            println!("ERROR={e}");
            print_status("error");
            return ExitCode::from(3);
        }
    };
    println!("kept={}", drop.kept_capabilities().join(","));
    println!(
        "run_user={}",
        drop.run_user().map_or("", |u| u.name.as_str())
    );
    println!("nofile={}", drop.nofile_limit());
    print_status("prepare");
    if let Some(port) = low_port {
        println!("bind_low_before={}", try_bind(port));
    }
    if let Err(e) = drop.finish() {
        println!("ERROR={e}");
        return ExitCode::from(4);
    }
    print_status("finish");
    if let Some(port) = low_port {
        println!("bind_low_after={}", try_bind(port));
    }
    let regain = rustix::thread::set_thread_res_uid(
        rustix::process::Uid::ROOT,
        rustix::process::Uid::ROOT,
        rustix::process::Uid::ROOT,
    );
    println!(
        "regain_root={}",
        match regain {
            Ok(()) => "ok".to_owned(),
            Err(rustix::io::Errno::PERM) => "denied".to_owned(),
            Err(e) => format!("error: {e}"),
        }
    );
    ExitCode::SUCCESS
}

/// Root turning itself into `uid:gid` without keeping capabilities: from here on this process
/// is in the state of one started unprivileged.
fn become_unprivileged(ids: &str) {
    use rustix::process::{Gid, Uid};
    let (uid, gid) = ids.split_once(':').expect("uid:gid");
    let uid = Uid::from_raw(uid.parse().expect("uid"));
    let gid = Gid::from_raw(gid.parse().expect("gid"));
    rustix::thread::set_thread_groups(&[]).expect("setgroups");
    rustix::thread::set_thread_res_gid(gid, gid, gid).expect("setresgid");
    rustix::thread::set_thread_res_uid(uid, uid, uid).expect("setresuid");
}

// ----- the tests (in the parent) -----

fn config_text(user: &str, port: u16) -> String {
    format!(
        r#"{{
  // written by tests/privileges.rs
  "ports": [{{"port_number": {port}, "is_unencrypted": true}}],
  "user": "{user}",
  "log_level": "info",
  "fd_alloc_c": 1000,
  "apps": [{{
    "name": "a",
    "app_path": "/nonexistent/a.so",
    "endpoints": [{{"endpoint_id": 0, "url": "ws://localhost:{port}/a", "allowed_origins": []}}]
  }}]
}}"#
    )
}

/// A port below 1024 that is free now (found as root, in the parent).
fn free_low_port() -> u16 {
    (900..1024)
        .rev()
        .find(|&p| TcpListener::bind(("127.0.0.1", p)).is_ok())
        .expect("a free port in 900..1024")
}

/// Whether an unprivileged bind of `port` is refused on this machine (the sysctl can lower
/// the privileged range, as Docker does).
fn low_ports_are_privileged(port: u16) -> bool {
    std::fs::read_to_string("/proc/sys/net/ipv4/ip_unprivileged_port_start")
        .ok()
        .and_then(|s| s.trim().parse::<u16>().ok())
        .is_none_or(|start| port < start)
}

fn run_helper(
    config: &str,
    low_port: Option<u16>,
    start_as: Option<(u32, u32)>,
) -> (HashMap<String, String>, String) {
    let mut cmd = helper("drop");
    cmd.env("RS_CONFIG", config);
    if let Some(p) = low_port {
        cmd.env("RS_LOW_PORT", p.to_string());
    }
    if let Some((u, g)) = start_as {
        cmd.env("RS_START_AS", format!("{u}:{g}"));
    }
    let out = cmd.output().expect("the helper runs");
    let text = describe(&out);
    (fields(&out.stdout), text)
}

fn get<'a>(f: &'a HashMap<String, String>, key: &str, all: &str) -> &'a str {
    f.get(key).map_or_else(
        || panic!("no {key} in the helper output:\n{all}"),
        String::as_str,
    )
}

const NONE: &str = "0000000000000000";

/// After `finish`: no capability in any set, and no_new_privs, so none can come back.
fn assert_capabilities_gone(f: &HashMap<String, String>, all: &str) {
    for key in ["CapEff", "CapPrm", "CapInh", "CapAmb"] {
        assert_eq!(get(f, &format!("finish.{key}"), all), NONE, "{key}\n{all}");
    }
    assert_eq!(get(f, "finish.NoNewPrivs", all), "1", "{all}");
}
/// `CAP_NET_BIND_SERVICE` (bit 10) as `/proc` prints a set.
const NET_BIND_SERVICE: &str = "0000000000000400";

/// Whether this process may shrink the bounding set (`CAP_SETPCAP`, bit 8).
fn parent_has_setpcap() -> bool {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("CapEff:"))
        .and_then(|v| u64::from_str_radix(v.trim(), 16).ok())
        .is_some_and(|caps| caps & (1 << 8) != 0)
}

fn own_status(key: &str) -> String {
    let status = std::fs::read_to_string("/proc/self/status").expect("status");
    status
        .lines()
        .find_map(|l| l.strip_prefix(&format!("{key}:")))
        .map(|v| v.trim().to_owned())
        .unwrap_or_default()
}

fn switches_to_a_created_user() {
    let user = TestUser::create();
    let port = free_low_port();
    let (f, all) = run_helper(&config_text(&user.name, port), Some(port), None);
    assert!(!f.contains_key("ERROR"), "{all}");
    let (u, g) = (user.uid, user.gid);
    assert_ne!(u, 0, "a system user, not root");
    assert_eq!(get(&f, "run_user", &all), user.name);
    assert_eq!(get(&f, "kept", &all), "CAP_NET_BIND_SERVICE");
    let nofile: u64 = get(&f, "nofile", &all).parse().expect("a number");
    assert!(
        nofile >= 1000 + process::privileges::FD_HEADROOM,
        "fd_alloc_c + headroom\n{all}"
    );

    // After prepare: the user's ids everywhere (real, effective, saved, filesystem), only the
    // capability binding needs, and it works.
    assert_eq!(
        get(&f, "prepare.Uid", &all),
        format!("{u}\t{u}\t{u}\t{u}"),
        "{all}"
    );
    assert_eq!(
        get(&f, "prepare.Gid", &all),
        format!("{g}\t{g}\t{g}\t{g}"),
        "{all}"
    );
    assert_eq!(
        get(&f, "prepare.Groups", &all),
        g.to_string(),
        "only the user's own group\n{all}"
    );
    assert_eq!(get(&f, "prepare.CapEff", &all), NET_BIND_SERVICE, "{all}");
    assert_eq!(get(&f, "prepare.CapPrm", &all), NET_BIND_SERVICE, "{all}");
    assert_eq!(get(&f, "prepare.CapInh", &all), NONE, "{all}");
    assert_eq!(get(&f, "prepare.CapAmb", &all), NONE, "{all}");
    if parent_has_setpcap() {
        assert_eq!(get(&f, "prepare.CapBnd", &all), NONE, "{all}");
    }
    assert_eq!(get(&f, "bind_low_before", &all), "ok", "{all}");

    // After finish: nothing left, and no way back.
    assert_eq!(
        get(&f, "finish.Uid", &all),
        format!("{u}\t{u}\t{u}\t{u}"),
        "{all}"
    );
    assert_capabilities_gone(&f, &all);
    if low_ports_are_privileged(port) {
        assert_eq!(get(&f, "bind_low_after", &all), "denied", "{all}");
    }
    assert_eq!(get(&f, "regain_root", &all), "denied", "{all}");
}

fn empty_user_keeps_root() {
    let port = free_low_port();
    let (f, all) = run_helper(&config_text("", port), Some(port), None);
    assert!(!f.contains_key("ERROR"), "{all}");
    assert_eq!(get(&f, "run_user", &all), "");
    assert_eq!(get(&f, "prepare.Uid", &all), "0\t0\t0\t0", "{all}");
    assert_eq!(get(&f, "prepare.CapEff", &all), NET_BIND_SERVICE, "{all}");
    assert_eq!(get(&f, "bind_low_before", &all), "ok", "{all}");
    // Root, but root without capabilities: the documented meaning of "user": "".
    assert_eq!(get(&f, "finish.Uid", &all), "0\t0\t0\t0", "{all}");
    assert_eq!(get(&f, "finish.Gid", &all), "0\t0\t0\t0", "{all}");
    assert_eq!(
        get(&f, "finish.Groups", &all),
        own_status("Groups"),
        "groups unchanged\n{all}"
    );
    assert_capabilities_gone(&f, &all);
    if parent_has_setpcap() {
        assert_eq!(get(&f, "finish.CapBnd", &all), NONE, "{all}");
    }
    if low_ports_are_privileged(port) {
        assert_eq!(
            get(&f, "bind_low_after", &all),
            "denied",
            "uid 0 alone cannot bind {port}\n{all}"
        );
    }
}

fn missing_user_is_a_clear_error() {
    let passwd = std::fs::read_to_string("/etc/passwd").expect("/etc/passwd");
    let name = format!("rs-test-missing-{}", std::process::id());
    assert!(!passwd.lines().any(|l| l.starts_with(&format!("{name}:"))));
    let (f, all) = run_helper(&config_text(&name, 8080), None, None);
    assert_eq!(
        get(&f, "ERROR", &all),
        format!(
            "the run user \"{name}\" does not exist; create it (useradd --system --no-create-home --shell /usr/sbin/nologin {name}), name another one with \"user\", or set \"user\": \"\" to stay root"
        ),
        "{all}"
    );
    assert!(all.contains("status: exit status: 3"), "{all}");
    // Refused before changing anything.
    assert_eq!(get(&f, "error.Uid", &all), get(&f, "start.Uid", &all));
    assert_eq!(get(&f, "error.CapEff", &all), get(&f, "start.CapEff", &all));
    assert_eq!(get(&f, "error.NoNewPrivs", &all), "0");
}

fn unprivileged_start_skips_and_says_so() {
    // As root, the helper first becomes a freshly created user; otherwise it simply runs as
    // the user running the tests.
    let user = is_root().then(TestUser::create);
    let start_as = user.as_ref().map(|u| (u.uid, u.gid));
    let uid = start_as.map_or_else(|| rustix::process::geteuid().as_raw(), |(u, _)| u);
    // "ringsock" need not exist: an unprivileged start never looks it up.
    let (f, all) = run_helper(&config_text("ringsock", 8080), None, start_as);
    assert!(!f.contains_key("ERROR"), "{all}");
    assert!(
        all.contains(&format!(
            "ringsocket: info: not started as root (uid {uid}): not switching to user \"ringsock\"; the hard fd limit and the capability bounding set stay as they are"
        )),
        "{all}"
    );
    assert_eq!(get(&f, "run_user", &all), "");
    assert_eq!(
        get(&f, "finish.Uid", &all),
        format!("{uid}\t{uid}\t{uid}\t{uid}"),
        "{all}"
    );
    assert_capabilities_gone(&f, &all);
    assert_eq!(get(&f, "regain_root", &all), "denied", "{all}");
}
