//! `--daemon`: the classic detach, for init systems that expect it. Foreground is the default
//! (systemd, containers and terminals all prefer it); see the module docs of
//! [`process`](super) for where this goes in startup.
//!
//! [`daemonize`]:
//!
//! 1. switches logging to syslog at `syslog_path` (while the terminal can still show a
//!    warning when that socket is unreachable);
//! 2. forks; the original process waits for the daemon to report back over a pipe, then exits
//!    0 (or 1 with the daemon's error on stderr), so whoever started it learns the outcome;
//! 3. the child calls `setsid` (a new session without a controlling terminal) and forks again,
//!    and the intermediate exits: the daemon is not a session leader, so opening a terminal
//!    can never make it its controlling terminal;
//! 4. the daemon `chdir`s to `/` (not pinning a mount) and points stdin, stdout and stderr at
//!    `/dev/null`, then reports success and returns.
//!
//! The umask is left alone: the daemon creates no files. Nothing here may run with more than
//! one thread (`fork` keeps only the calling one), which is checked.

use std::io::{self, Read, Write};
use std::path::Path;

use super::log::{Severity, to_terminal as terminal};
use super::sys::{self, Forked};
use super::{ProcessError, ensure_single_threaded};

/// What the daemon writes to the waiting parent when it is ready.
const READY: &[u8] = b"ready";

/// Detaches from the terminal and logs to the syslog socket at `syslog_path`. Returns in the
/// daemon process only; the starting process exits inside.
pub fn daemonize(syslog_path: &Path) -> Result<(), ProcessError> {
    ensure_single_threaded("--daemon (fork)")?;
    if let Err(e) = super::log::to_syslog(syslog_path) {
        // Still on the terminal: say it where someone reads it. The sink keeps retrying.
        terminal(
            Severity::Warning,
            format_args!(
                "the syslog socket {} cannot be reached ({e}); log messages are dropped until it can",
                syslog_path.display()
            ),
        );
    }
    // Anything buffered now would be written twice, once per process.
    let _ = io::stdout().flush();
    let (mut from_daemon, mut to_parent) = io::pipe().map_err(|e| ProcessError::sys("pipe", e))?;

    match sys::fork().map_err(|e| ProcessError::sys("fork", e))? {
        Forked::Parent(child) => {
            drop(to_parent);
            let code = wait_for_daemon(&mut from_daemon, child);
            sys::exit_now(code);
        }
        Forked::Child => drop(from_daemon),
    }

    // From here on a failure is reported to the waiting parent, then this process ends.
    let fail = |mut pipe: io::PipeWriter, why: String| -> ! {
        let _ = pipe.write_all(why.as_bytes());
        sys::exit_now(1)
    };
    if let Err(e) = rustix::process::setsid() {
        fail(to_parent, format!("setsid failed: {e}"));
    }
    match sys::fork() {
        Ok(Forked::Parent(_)) => sys::exit_now(0),
        Ok(Forked::Child) => {}
        Err(e) => fail(to_parent, format!("second fork failed: {e}")),
    }
    if let Err(e) = rustix::process::chdir("/") {
        fail(to_parent, format!("chdir(\"/\") failed: {e}"));
    }
    if let Err(e) = stdio_to_dev_null() {
        fail(
            to_parent,
            format!("redirecting stdio to /dev/null failed: {e}"),
        );
    }
    // The parent may be gone (killed): then nobody is waiting, and the daemon goes on.
    let _ = to_parent.write_all(READY);
    drop(to_parent);
    crate::log!(
        Info,
        "detached (pid {}), logging to syslog",
        std::process::id()
    );
    Ok(())
}

/// The starting process: waits for the daemon's report and reaps the intermediate child.
/// Returns the exit status for this process.
fn wait_for_daemon(from_daemon: &mut io::PipeReader, child: u32) -> i32 {
    let mut report = Vec::new();
    let read = from_daemon.read_to_end(&mut report);
    if let Some(pid) = i32::try_from(child)
        .ok()
        .and_then(rustix::process::Pid::from_raw)
    {
        // The intermediate exits right after the second fork; not reaping it leaves a zombie
        // for as long as this process lives (briefly, but still).
        let _ = rustix::process::waitpid(Some(pid), rustix::process::WaitOptions::empty());
    }
    match read {
        Ok(_) if report == READY => 0,
        Ok(_) if report.is_empty() => {
            terminal(
                Severity::Error,
                format_args!("--daemon: the daemon exited during startup"),
            );
            1
        }
        Ok(_) => {
            terminal(
                Severity::Error,
                format_args!("--daemon: {}", String::from_utf8_lossy(&report)),
            );
            1
        }
        Err(e) => {
            terminal(
                Severity::Error,
                format_args!("--daemon: reading the daemon's report: {e}"),
            );
            1
        }
    }
}

/// Points stdin, stdout and stderr at `/dev/null`: the daemon has no terminal, and a write to
/// a closed descriptor number would land in whatever file reuses it.
fn stdio_to_dev_null() -> io::Result<()> {
    let null = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/null")?;
    use std::os::fd::AsFd;
    for target in 0..=2 {
        sys::dup2_onto(null.as_fd(), target)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_with_threads_and_leaves_logging_alone() {
        // libtest runs this on a second thread; the check comes before anything changes.
        let e = daemonize(Path::new("/nonexistent/log")).expect_err("refused");
        assert!(matches!(e, ProcessError::NotSingleThreaded { .. }), "{e}");
    }
}
