//! Signals as events on a file descriptor: `SIGTERM`/`SIGINT` ask for a graceful shutdown,
//! `SIGHUP` for a certificate reload; `SIGPIPE` is ignored.
//!
//! [`Signals::new`] blocks the three signals in the calling thread, before any other thread
//! exists, so every thread spawned later inherits the mask and none of them ever runs a
//! signal's default action (termination); the signals wait in the process's queue until the
//! signalfd is read. The server adds [`Signals`] ([`AsFd`]) to its epoll set and, when it is
//! readable, drains it with `next` (an [`Iterator`] that returns `None` when nothing is
//! pending). No handler function is installed: no code runs in signal context.
//!
//! The original RingSocket handled no signal and left `SIGPIPE` at its default, so a write to a
//! reset connection could kill the daemon. Rust's runtime already ignores `SIGPIPE` in `main`;
//! [`ignore_sigpipe`] makes that independent of how the process was started (a parent can set
//! dispositions for us) and of the binary's runtime settings.

use std::os::fd::{AsFd, BorrowedFd, OwnedFd};

use super::{ProcessError, ensure_single_threaded, sys};

/// The signals turned into events.
const HANDLED: [libc::c_int; 3] = [libc::SIGTERM, libc::SIGINT, libc::SIGHUP];

/// What a signal asks of the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignalEvent {
    /// `SIGTERM` or `SIGINT`: stop accepting, close every client with 1001, exit.
    Shutdown {
        /// Which one.
        signal: ShutdownSignal,
        /// The sender's pid (0 from the kernel itself).
        sender_pid: u32,
    },
    /// `SIGHUP`: reload the certificates.
    ReloadCerts {
        /// The sender's pid.
        sender_pid: u32,
    },
}

/// The signal behind a [`SignalEvent::Shutdown`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ShutdownSignal {
    /// `SIGTERM` (service managers, `kill`).
    Terminate,
    /// `SIGINT` (Ctrl-C).
    Interrupt,
}

impl ShutdownSignal {
    /// `"SIGTERM"` or `"SIGINT"`, for logs.
    pub const fn name(self) -> &'static str {
        match self {
            Self::Terminate => "SIGTERM",
            Self::Interrupt => "SIGINT",
        }
    }
}

/// The pending signals, as a pollable descriptor (a non-blocking signalfd).
#[derive(Debug)]
pub struct Signals {
    fd: OwnedFd,
}

impl Signals {
    /// Ignores `SIGPIPE`, blocks `SIGTERM`, `SIGINT` and `SIGHUP`, and opens the signalfd.
    /// Call before spawning any thread (checked).
    ///
    /// The three signals' dispositions are reset to the default, because the kernel discards a
    /// signal whose disposition is "ignore" even while it is blocked, so it would never reach
    /// the signalfd; shells start background jobs with `SIGINT` ignored, `nohup` ignores
    /// `SIGHUP`. Being blocked, the default action never runs.
    pub fn new() -> Result<Self, ProcessError> {
        ensure_single_threaded("blocking signals")?;
        ignore_sigpipe()?;
        let set = sys::sigset(&HANDLED).map_err(|e| ProcessError::sys("sigaddset", e))?;
        // Blocked first, so no signal arriving in between takes its default action.
        sys::block_signals(&set).map_err(|e| ProcessError::sys("pthread_sigmask", e))?;
        for sig in HANDLED {
            sys::set_disposition(sig, false)
                .map_err(|e| ProcessError::sys(format!("sigaction({sig}, SIG_DFL)"), e))?;
        }
        let fd = sys::signalfd(&set).map_err(|e| ProcessError::sys("signalfd", e))?;
        Ok(Self { fd })
    }
}

/// The pending signals as events: `next` returns `None` when none is pending *now*. Not
/// fused: after `None`, poll the descriptor and call it again. Standard signals do not queue:
/// two `SIGTERM`s not yet read are one event.
impl Iterator for Signals {
    type Item = SignalEvent;

    fn next(&mut self) -> Option<SignalEvent> {
        // `struct signalfd_siginfo`: 128 bytes, of which ssi_signo (u32) is at offset 0 and
        // ssi_pid (u32) at offset 12.
        let mut buf = [0u8; 128];
        loop {
            match rustix::io::read(&self.fd, &mut buf) {
                Ok(128) => {
                    if let Some(event) = decode(&buf) {
                        return Some(event);
                    }
                    // A signal we did not ask for cannot arrive; skip it if it does.
                }
                // The kernel writes whole records or nothing.
                Ok(_) => return None,
                Err(rustix::io::Errno::INTR) => {}
                Err(rustix::io::Errno::AGAIN) => return None,
                Err(e) => {
                    crate::log!(Error, "reading the signalfd failed: {e}");
                    return None;
                }
            }
        }
    }
}

impl AsFd for Signals {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

/// Decodes a `signalfd_siginfo` record.
fn decode(record: &[u8; 128]) -> Option<SignalEvent> {
    let field = |at: usize| {
        u32::from_ne_bytes([record[at], record[at + 1], record[at + 2], record[at + 3]])
    };
    let signo = i32::try_from(field(0)).ok()?;
    let sender_pid = field(12);
    match signo {
        libc::SIGTERM => Some(SignalEvent::Shutdown {
            signal: ShutdownSignal::Terminate,
            sender_pid,
        }),
        libc::SIGINT => Some(SignalEvent::Shutdown {
            signal: ShutdownSignal::Interrupt,
            sender_pid,
        }),
        libc::SIGHUP => Some(SignalEvent::ReloadCerts { sender_pid }),
        _ => None,
    }
}

/// Sets `SIGPIPE` to ignored, so a write to a closed socket or pipe fails with `EPIPE` instead
/// of killing the process. Process-wide; harmless to call again.
pub fn ignore_sigpipe() -> Result<(), ProcessError> {
    sys::set_disposition(libc::SIGPIPE, true)
        .map_err(|e| ProcessError::sys("sigaction(SIGPIPE, SIG_IGN)", e))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(signo: i32, pid: u32) -> [u8; 128] {
        let mut r = [0u8; 128];
        r[0..4].copy_from_slice(&signo.to_ne_bytes());
        r[12..16].copy_from_slice(&pid.to_ne_bytes());
        r
    }

    #[test]
    fn decodes_records() {
        assert_eq!(
            decode(&record(libc::SIGTERM, 1)),
            Some(SignalEvent::Shutdown {
                signal: ShutdownSignal::Terminate,
                sender_pid: 1
            })
        );
        assert_eq!(
            decode(&record(libc::SIGINT, 0)),
            Some(SignalEvent::Shutdown {
                signal: ShutdownSignal::Interrupt,
                sender_pid: 0
            })
        );
        assert_eq!(
            decode(&record(libc::SIGHUP, 77)),
            Some(SignalEvent::ReloadCerts { sender_pid: 77 })
        );
        assert_eq!(decode(&record(libc::SIGUSR1, 1)), None);
        assert_eq!(ShutdownSignal::Interrupt.name(), "SIGINT");
        assert_eq!(std::mem::size_of::<libc::signalfd_siginfo>(), 128);
    }

    #[test]
    fn refuses_once_threads_exist() {
        let e = Signals::new().expect_err("refused");
        assert!(matches!(e, ProcessError::NotSingleThreaded { .. }), "{e}");
    }

    #[test]
    fn ignoring_sigpipe_is_idempotent() {
        // The test binary's runtime ignores it already; this must not change that.
        ignore_sigpipe().expect("first");
        ignore_sigpipe().expect("again");
    }
}
