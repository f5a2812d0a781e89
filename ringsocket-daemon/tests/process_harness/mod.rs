//! A minimal test harness for the process-setup tests (`harness = false` in Cargo.toml).
//!
//! Why not libtest: it runs every test on a thread of its own, and the code under test
//! (credential and capability syscalls, signal masks, `fork`) acts on the calling thread only
//! and refuses to run with more than one. So each test binary's `main` is either this harness,
//! running the tests one after another on the main thread, or, when [`HELPER_ENV`] is set, a
//! single-threaded helper process that a test started by re-executing the binary.
//!
//! Root-only tests: when not root they are skipped with a notice, unless
//! `RINGSOCKET_REQUIRE_ROOT_TESTS=1` (CI sets it), which makes them fail, so a green CI run
//! cannot hide tests that never ran.

#![allow(dead_code)] // Each test binary uses a different part.

use std::collections::HashMap;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::process::{Command, ExitCode, Output};

/// Set in a re-executed helper: names what it does.
pub const HELPER_ENV: &str = "RINGSOCKET_PROCESS_TEST_HELPER";
/// Set to 1 to make root-only tests fail instead of skipping when not root.
pub const REQUIRE_ROOT_ENV: &str = "RINGSOCKET_REQUIRE_ROOT_TESTS";

/// One test.
pub struct Test {
    pub name: &'static str,
    /// Needs euid 0 (user creation, the privilege switch itself).
    pub root_only: bool,
    pub run: fn(),
}

pub fn is_root() -> bool {
    rustix::process::geteuid().is_root()
}

/// Runs the tests that the command line selects (substring filters, `--exact`, `--skip`,
/// `--list`; other libtest flags are accepted and ignored).
pub fn run(tests: &[Test]) -> ExitCode {
    let mut filters = Vec::new();
    let mut skips = Vec::new();
    let (mut exact, mut list, mut ignored_only) = (false, false, false);
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--exact" => exact = true,
            "--list" => list = true,
            "--ignored" => ignored_only = true,
            "--skip" => skips.extend(args.next()),
            // Flags with a value given separately.
            "--test-threads" | "--format" | "--color" | "-Z" | "--logfile" | "--shuffle-seed" => {
                args.next();
            }
            a if a.starts_with('-') => {}
            a => filters.push(a.to_owned()),
        }
    }
    let selected: Vec<&Test> = tests
        .iter()
        .filter(|t| {
            let hit = |f: &String| {
                if exact {
                    t.name == f
                } else {
                    t.name.contains(f.as_str())
                }
            };
            (filters.is_empty() || filters.iter().any(hit))
                && !skips.iter().any(|s| t.name.contains(s.as_str()))
        })
        .filter(|_| !ignored_only)
        .collect();
    if list {
        for t in &selected {
            println!("{}: test", t.name);
        }
        return ExitCode::SUCCESS;
    }
    println!("\nrunning {} tests", selected.len());
    let require_root = std::env::var(REQUIRE_ROOT_ENV).is_ok_and(|v| v == "1");
    let (mut passed, mut failed, mut skipped) = (0, Vec::new(), 0);
    for t in selected {
        if t.root_only && !is_root() {
            if require_root {
                println!(
                    "test {} ... FAILED\n    needs root, and {REQUIRE_ROOT_ENV}=1 says root-only tests must run (CI runs as root)",
                    t.name
                );
                failed.push(t.name);
            } else {
                println!(
                    "test {} ... skipped (needs root; set {REQUIRE_ROOT_ENV}=1 to make this a failure)",
                    t.name
                );
                skipped += 1;
            }
            continue;
        }
        match catch_unwind(AssertUnwindSafe(t.run)) {
            Ok(()) => {
                println!("test {} ... ok", t.name);
                passed += 1;
            }
            Err(_) => {
                println!("test {} ... FAILED", t.name);
                failed.push(t.name);
            }
        }
    }
    let result = if failed.is_empty() { "ok" } else { "FAILED" };
    println!(
        "\ntest result: {result}. {passed} passed; {} failed; {skipped} skipped\n",
        failed.len()
    );
    if failed.is_empty() {
        ExitCode::SUCCESS
    } else {
        println!("failures: {}", failed.join(", "));
        ExitCode::FAILURE
    }
}

/// A command re-executing this test binary as the helper `mode`.
pub fn helper(mode: &str) -> Command {
    let exe = std::env::current_exe().expect("the test binary's path");
    let mut cmd = Command::new(exe);
    cmd.env(HELPER_ENV, mode);
    cmd
}

/// A finished command's status and everything it printed, for assertion messages.
pub fn describe(output: &Output) -> String {
    format!(
        "status: {}\n--- stdout\n{}--- stderr\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// `key=value` lines of a helper's stdout.
pub fn fields(stdout: &[u8]) -> HashMap<String, String> {
    String::from_utf8_lossy(stdout)
        .lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
}

/// A fresh path under the temp dir (not created).
pub fn temp_path(tag: &str) -> std::path::PathBuf {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static N: AtomicUsize = AtomicUsize::new(0);
    let path = std::env::temp_dir().join(format!(
        "ringsocket-proc-{tag}-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    // Unused: a PID recurs across runs (inside a PID namespace, always), and so would a socket
    // or report left by an earlier run that failed.
    let _ = std::fs::remove_file(&path);
    path
}

/// A system user created for one test and deleted when dropped, also when the test fails.
pub struct TestUser {
    pub name: String,
    pub uid: u32,
    pub gid: u32,
}

impl TestUser {
    pub fn create() -> Self {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let name = format!("rs-test-{:x}", (std::process::id() << 12) ^ nanos);
        let out = Command::new("useradd")
            .args([
                "--system",
                "--no-create-home",
                "--shell",
                "/usr/sbin/nologin",
            ])
            .arg(&name)
            .output()
            .unwrap_or_else(|e| {
                panic!("useradd cannot run ({e}): install the passwd package (shadow-utils)")
            });
        assert!(
            out.status.success(),
            "useradd {name} failed:\n{}",
            describe(&out)
        );
        // From here on the guard removes the user, whatever happens next.
        let mut user = Self {
            name,
            uid: u32::MAX,
            gid: u32::MAX,
        };
        let id = |flag: &str| -> u32 {
            let out = Command::new("id")
                .arg(flag)
                .arg(&user.name)
                .output()
                .expect("id runs");
            assert!(
                out.status.success(),
                "id {flag} {}:\n{}",
                user.name,
                describe(&out)
            );
            String::from_utf8_lossy(&out.stdout)
                .trim()
                .parse()
                .expect("a number from id")
        };
        let (uid, gid) = (id("-u"), id("-g"));
        user.uid = uid;
        user.gid = gid;
        user
    }
}

impl Drop for TestUser {
    fn drop(&mut self) {
        match Command::new("userdel").arg(&self.name).output() {
            Ok(out) if out.status.success() => {}
            Ok(out) => eprintln!("warning: userdel {} failed:\n{}", self.name, describe(&out)),
            Err(e) => eprintln!("warning: userdel {} cannot run: {e}", self.name),
        }
        // useradd made a group of the same name (USERGROUPS_ENAB); userdel usually removes it.
        let group = std::fs::read_to_string("/etc/group").unwrap_or_default();
        if group
            .lines()
            .any(|l| l.split(':').next() == Some(self.name.as_str()))
        {
            let _ = Command::new("groupdel").arg(&self.name).status();
        }
    }
}
