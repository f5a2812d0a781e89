//! Process setup: logging, signals, `--daemon` and the privilege drop (the spec's "Control flow
//! overview", issue 5 "Process setup").
//!
//! # Order of calls (from `main`)
//!
//! Everything here that changes process-wide state must run while the process has a single
//! thread: the credential and capability syscalls act on the calling thread only, a signal mask
//! is inherited only by threads created after it is set, and `fork` copies only the calling
//! thread. Each such step checks `/proc/self/status` and refuses with
//! [`ProcessError::NotSingleThreaded`] rather than leaving another thread privileged.
//!
//! 1. [`log::set_level`] from `log_level` (messages go to stderr until step 6).
//! 2. [`Signals::new`]: ignore `SIGPIPE`, block `SIGTERM`/`SIGINT`/`SIGHUP` and open the
//!    signalfd, so a signal during startup waits in the queue instead of killing the process.
//! 3. [`prepare`]: `RLIMIT_NOFILE`, the run user, only the capabilities binding still needs.
//! 4. The server binds its listeners and loads certificates and apps (as the run user).
//! 5. [`PrivilegeDrop::finish`]: no capabilities left, `PR_SET_NO_NEW_PRIVS`.
//! 6. With `--daemon` only: [`daemonize`] (syslog at `syslog_path`, double fork). Every error
//!    before this point still reaches the terminal and the exit status.
//! 7. Spawn threads (the admin listener's too); [`notify_ready`] (`READY=1` to
//!    `$NOTIFY_SOCKET`).
//! 8. On [`SignalEvent::Shutdown`]: [`notify_stopping`] (`STOPPING=1`), then the graceful
//!    shutdown.
//!
//! All `unsafe` code of this module is in `sys.rs`.

mod daemonize;
pub mod log;
pub mod privileges;
pub mod signals;
mod sys;

use std::fmt;
use std::io;

pub use daemonize::daemonize;
pub use log::Severity;
pub use privileges::{PrivilegeDrop, RunUser, prepare};
pub use signals::{ShutdownSignal, SignalEvent, Signals, ignore_sigpipe};

/// Why a process setup step failed. Each message names what was being done, for the single
/// startup error line `main` prints.
#[derive(Debug)]
pub enum ProcessError {
    /// The configured run user does not exist.
    NoSuchUser {
        /// The `"user"` value.
        name: String,
    },
    /// Looking the run user up failed (NSS, an unreadable `/etc/passwd`, …).
    UserLookup {
        /// The `"user"` value.
        name: String,
        /// What the lookup said.
        source: io::Error,
    },
    /// A step that changes process-wide state found more than one thread.
    NotSingleThreaded {
        /// The step, e.g. "the privilege drop".
        step: &'static str,
        /// How many threads there were.
        threads: usize,
    },
    /// A system call failed.
    Sys {
        /// What was being done, e.g. "setresuid(998)".
        what: String,
        /// The error.
        source: io::Error,
    },
    /// The capabilities left after a drop were not what was asked for (the kernel refused
    /// silently, or something raised them again).
    CapabilitiesLeft {
        /// Which step checked.
        step: &'static str,
        /// The capabilities found, as `/proc/PID/status` prints them (hex).
        effective: u64,
        /// The permitted set found.
        permitted: u64,
    },
    /// `--daemon`: the detached process failed before it was ready.
    Daemonize(String),
}

impl ProcessError {
    pub(crate) fn sys(what: impl Into<String>, source: impl Into<io::Error>) -> Self {
        Self::Sys {
            what: what.into(),
            source: source.into(),
        }
    }
}

impl fmt::Display for ProcessError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NoSuchUser { name } => write!(
                f,
                "the run user \"{name}\" does not exist; create it (useradd --system --no-create-home --shell /usr/sbin/nologin {name}), name another one with \"user\", or set \"user\": \"\" to stay root"
            ),
            Self::UserLookup { name, source } => {
                write!(f, "cannot look up the run user \"{name}\": {source}")
            }
            Self::NotSingleThreaded { step, threads } => write!(
                f,
                "{step} must happen before any thread is started, but this process has {threads} threads"
            ),
            Self::Sys { what, source } => write!(f, "{what} failed: {source}"),
            Self::CapabilitiesLeft {
                step,
                effective,
                permitted,
            } => write!(
                f,
                "{step}: capabilities remain (effective {effective:016x}, permitted {permitted:016x})"
            ),
            Self::Daemonize(why) => write!(f, "--daemon: {why}"),
        }
    }
}

impl std::error::Error for ProcessError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::UserLookup { source, .. } | Self::Sys { source, .. } => Some(source),
            _ => None,
        }
    }
}

/// The number of threads in this process, from `/proc/self/status`; `None` when `/proc` cannot
/// be read (then the single-thread checks are skipped: they are a guard, not a requirement).
pub fn thread_count() -> Option<usize> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status_field(&status, "Threads")?.trim().parse().ok()
}

/// The value of `key:` in `/proc/PID/status` text.
pub(crate) fn status_field<'a>(status: &'a str, key: &str) -> Option<&'a str> {
    status.lines().find_map(|line| {
        let (k, v) = line.split_once(':')?;
        (k == key).then(|| v.trim())
    })
}

/// Refuses `step` when another thread exists (see the module docs for why).
pub(crate) fn ensure_single_threaded(step: &'static str) -> Result<(), ProcessError> {
    match thread_count() {
        Some(threads) if threads > 1 => Err(ProcessError::NotSingleThreaded { step, threads }),
        _ => Ok(()),
    }
}

/// Tells the service manager that startup is complete and the daemon serves: logs `ready` and
/// sends `READY=1` to `$NOTIFY_SOCKET` (systemd's `Type=notify`; see [`notify`]). `run`
/// calls it once the threads run and the listeners accept.
pub fn notify_ready() {
    crate::log!(Notice, "ready");
    notify_logged("READY=1\nSTATUS=serving");
}

/// Tells the service manager that a graceful shutdown has begun (`STOPPING=1`).
pub fn notify_stopping() {
    crate::log!(Notice, "shutting down");
    notify_logged("STOPPING=1\nSTATUS=closing every client with 1001");
}

fn notify_logged(state: &str) {
    if let Err(e) = notify(state) {
        crate::log!(
            Warning,
            "cannot notify the service manager ({state:?}): {e}"
        );
    }
}

/// Sends `state` (newline-separated `KEY=VALUE` assignments, see `sd_notify(3)`) as one
/// datagram to the Unix socket named by `$NOTIFY_SOCKET`: a path, or an abstract name written
/// with a leading `@`. `Ok(false)` when the variable is unset or empty (not started by a
/// service manager that listens).
pub fn notify(state: &str) -> io::Result<bool> {
    let Some(target) = std::env::var_os("NOTIFY_SOCKET").filter(|v| !v.is_empty()) else {
        return Ok(false);
    };
    notify_to(target.as_encoded_bytes(), state)?;
    Ok(true)
}

/// Sends `state` as one datagram to the `$NOTIFY_SOCKET` value `target`.
fn notify_to(target: &[u8], state: &str) -> io::Result<()> {
    let addr = notify_addr(target)?;
    let socket = std::os::unix::net::UnixDatagram::unbound()?;
    socket.send_to_addr(state.as_bytes(), &addr)?;
    Ok(())
}

/// The socket address of a `$NOTIFY_SOCKET` value.
fn notify_addr(value: &[u8]) -> io::Result<std::os::unix::net::SocketAddr> {
    use std::os::linux::net::SocketAddrExt;
    use std::os::unix::ffi::OsStrExt;
    match value {
        [b'@', name @ ..] => std::os::unix::net::SocketAddr::from_abstract_name(name),
        [b'/', ..] => {
            std::os::unix::net::SocketAddr::from_pathname(std::ffi::OsStr::from_bytes(value))
        }
        _ => Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "NOTIFY_SOCKET is neither an absolute path nor an @abstract name",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notify_socket_values() {
        let path = notify_addr(b"/run/systemd/notify").unwrap();
        assert_eq!(
            path.as_pathname(),
            Some(std::path::Path::new("/run/systemd/notify"))
        );
        use std::os::linux::net::SocketAddrExt;
        let abstract_name = notify_addr(b"@sd-notify/1").unwrap();
        assert_eq!(abstract_name.as_abstract_name(), Some(&b"sd-notify/1"[..]));
        assert!(notify_addr(b"relative/path").is_err());
    }

    #[test]
    fn notify_sends_one_datagram() {
        let dir = std::env::temp_dir().join(format!("rs-notify-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("notify.sock");
        let _ = std::fs::remove_file(&path);
        let socket = std::os::unix::net::UnixDatagram::bind(&path).unwrap();
        notify_to(path.as_os_str().as_encoded_bytes(), "READY=1").unwrap();
        let mut buf = [0; 64];
        let n = socket.recv(&mut buf).unwrap();
        assert_eq!(&buf[..n], b"READY=1");
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn reads_status_fields() {
        let status = "Name:\tx\nThreads:\t3\nUid:\t0\t0\t0\t0\n";
        assert_eq!(status_field(status, "Threads"), Some("3"));
        assert_eq!(status_field(status, "Uid"), Some("0\t0\t0\t0"));
        assert_eq!(status_field(status, "Gid"), None);
    }

    #[test]
    fn counts_threads_and_refuses_steps_with_many() {
        // libtest runs this test on a thread of its own, so there are at least two.
        let n = thread_count().expect("/proc/self/status is readable here");
        assert!(n >= 2, "{n}");
        let e = ensure_single_threaded("the test step").expect_err("more than one thread");
        assert!(
            e.to_string()
                .starts_with("the test step must happen before any thread is started"),
            "{e}"
        );
    }

    #[test]
    fn names_the_missing_user() {
        let e = ProcessError::NoSuchUser {
            name: "ringsock".into(),
        };
        assert!(
            e.to_string()
                .starts_with("the run user \"ringsock\" does not exist"),
            "{e}"
        );
    }
}
