//! The daemon's logger: one line per message, to stderr (the default) or to syslog (with
//! `--daemon`), filtered by the configured `log_level`.
//!
//! ```ignore
//! ringsocket_daemon::log!(Warning, "worker {i}: accept failed: {e}");
//! ```
//!
//! # Where lines go
//!
//! * **stderr** (foreground, the default): `ringsocket: warning: message`. No timestamps:
//!   journald and Docker stamp every line they collect, and a terminal user can pipe through
//!   `ts`. When stderr *is* the journal (`$JOURNAL_STREAM` names stderr's device and inode, as
//!   systemd sets it), lines are `<4>warning: message` instead: journald reads the `<N>` prefix
//!   as the priority and already records the program name.
//! * **syslog** ([`to_syslog`], used by `--daemon`): RFC 3164 local format as `syslog(3)` sends
//!   it, `<PRI>ringsocket[PID]: message` with facility `daemon`, one datagram per line on the
//!   Unix socket at `syslog_path` (default `/dev/log`); the receiver adds the time. The socket
//!   is non-blocking: when the syslog daemon is backed up, messages are dropped (and counted in
//!   the next line that gets through) rather than stalling a worker. When it went away (a
//!   restart), the next message reconnects, at most once a second.
//!
//! Newlines and other control characters in a message are escaped (`\n`), so one message is
//! always one line and cannot forge another.
//!
//! # Cost
//!
//! [`enabled`] is one relaxed atomic load; the [`log!`](crate::log!) macro checks it before
//! formatting anything. Writing takes a process-wide mutex so lines never interleave; logging is
//! for events, not for per-message paths.

use std::fmt::{self, Write as _};
use std::io::{self, Write as _};
use std::os::unix::net::UnixDatagram;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU8, Ordering};
use std::time::{Duration, Instant};

use crate::config::Level;

/// A syslog severity, most severe first (numbered as in RFC 5424 §6.2.1 and `<syslog.h>`).
///
/// The configuration's `log_level` ([`Level`]) names the five the spec lists; `Emerg`, `Alert`
/// and `Crit` always pass the filter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[repr(u8)]
pub enum Severity {
    /// `LOG_EMERG`: the system is unusable.
    Emerg = 0,
    /// `LOG_ALERT`: act immediately.
    Alert = 1,
    /// `LOG_CRIT`: critical.
    Crit = 2,
    /// `LOG_ERR`.
    Error = 3,
    /// `LOG_WARNING`.
    Warning = 4,
    /// `LOG_NOTICE`: normal but significant (the default threshold).
    Notice = 5,
    /// `LOG_INFO`.
    Info = 6,
    /// `LOG_DEBUG`.
    Debug = 7,
}

impl Severity {
    /// The lowercase name, as in `log_level`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Emerg => "emerg",
            Self::Alert => "alert",
            Self::Crit => "crit",
            Self::Error => "error",
            Self::Warning => "warning",
            Self::Notice => "notice",
            Self::Info => "info",
            Self::Debug => "debug",
        }
    }

    /// The severity of a configured level.
    pub const fn from_level(level: Level) -> Self {
        match level {
            Level::Error => Self::Error,
            Level::Warning => Self::Warning,
            Level::Notice => Self::Notice,
            Level::Info => Self::Info,
            Level::Debug => Self::Debug,
        }
    }
}

impl From<Level> for Severity {
    fn from(level: Level) -> Self {
        Self::from_level(level)
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Logs at a [`Severity`] named by its variant, with `format!` arguments:
/// `log!(Notice, "listening on {addr}")`. Nothing is formatted when the level is filtered out.
#[macro_export]
macro_rules! log {
    ($severity:ident, $($arg:tt)+) => {{
        let severity = $crate::process::log::Severity::$severity;
        if $crate::process::log::enabled(severity) {
            $crate::process::log::write(severity, ::core::format_args!($($arg)+));
        }
    }};
}

/// `syslog(3)`'s facility `LOG_DAEMON`.
const FACILITY_DAEMON: u8 = 3 << 3;
/// The program name in syslog lines.
const IDENT: &str = "ringsocket";
/// The longest syslog datagram sent; longer messages are cut (at a character boundary). Local
/// syslog daemons take much more than RFC 3164's 1024, but not unbounded.
const MAX_DATAGRAM: usize = 8192;
/// The least time between two attempts to reach a syslog socket that refused.
const RECONNECT_EVERY: Duration = Duration::from_secs(1);

/// The most verbose severity that passes; notice until [`set_level`] says otherwise (the
/// configuration default).
static MAX_SEVERITY: AtomicU8 = AtomicU8::new(Severity::Notice as u8);

static SINK: Mutex<Sink> = Mutex::new(Sink::Stderr { journal: None });

enum Sink {
    /// `journal`: whether stderr is the journal; `None` until the first line checks.
    Stderr {
        journal: Option<bool>,
    },
    Syslog(SyslogSink),
}

/// Sets the threshold from the configured `log_level`.
pub fn set_level(level: Level) {
    set_max_severity(Severity::from_level(level));
}

/// Sets the most verbose severity that is written.
pub fn set_max_severity(severity: Severity) {
    MAX_SEVERITY.store(severity as u8, Ordering::Relaxed);
}

/// Whether a message at `severity` would be written.
#[inline]
pub fn enabled(severity: Severity) -> bool {
    severity as u8 <= MAX_SEVERITY.load(Ordering::Relaxed)
}

/// Writes one message, unfiltered: use [`log!`](crate::log!), which checks [`enabled`] first.
pub fn write(severity: Severity, args: fmt::Arguments<'_>) {
    let mut message = String::new();
    push_escaped(&mut message, args);
    let mut sink = SINK.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    match &mut *sink {
        Sink::Stderr { journal } => {
            let journal = *journal.get_or_insert_with(stderr_is_journal);
            let line = stderr_line(severity, journal, &message);
            // Nowhere to report a failed write to stderr; the message is lost either way.
            let _ = io::stderr().lock().write_all(line.as_bytes());
        }
        Sink::Syslog(syslog) => syslog.send(severity, &message),
    }
}

/// Writes one message to stderr whatever the sink, in the stderr format: for what the starting
/// process of `--daemon` tells the terminal it was started from (the sink may be syslog by
/// then, which the person at the terminal does not read).
pub fn to_terminal(severity: Severity, args: fmt::Arguments<'_>) {
    let mut message = String::new();
    push_escaped(&mut message, args);
    let line = stderr_line(severity, stderr_is_journal(), &message);
    // Nowhere to report a failed write to stderr.
    let _ = io::stderr().lock().write_all(line.as_bytes());
}

/// Logs a message from an app thread, prefixed with the app's name; the signature of
/// `app_abi`'s host logger (`with_logger`).
pub fn log_app(level: Level, app: &str, message: &str) {
    let severity = Severity::from_level(level);
    if enabled(severity) {
        write(severity, format_args!("{app}: {message}"));
    }
}

/// Sends lines to stderr (the default).
pub fn to_stderr() {
    *SINK.lock().unwrap_or_else(|poisoned| poisoned.into_inner()) = Sink::Stderr { journal: None };
}

/// Sends lines to the syslog socket at `path` from now on. The sink is installed either way;
/// an error says the socket cannot be reached now, and messages are dropped until it can.
pub fn to_syslog(path: &Path) -> io::Result<()> {
    let mut sink = SyslogSink::new(path.to_path_buf());
    let reached = sink.connect();
    *SINK.lock().unwrap_or_else(|poisoned| poisoned.into_inner()) = Sink::Syslog(sink);
    reached
}

/// Whether stderr is a journald stream: `$JOURNAL_STREAM` is `DEVICE:INODE` of it (systemd's
/// documented check; a child that inherited the variable but not the stream does not match).
fn stderr_is_journal() -> bool {
    let Some(value) = std::env::var_os("JOURNAL_STREAM") else {
        return false;
    };
    let Some((dev, ino)) = value.to_str().and_then(|v| v.split_once(':')) else {
        return false;
    };
    match rustix::fs::fstat(io::stderr()) {
        Ok(st) => {
            dev.parse::<u64>().ok() == Some(st.st_dev) && ino.parse::<u64>().ok() == Some(st.st_ino)
        }
        Err(_) => false,
    }
}

/// Formats `args` into `out`, escaping control characters (but tab) so the message stays one
/// line.
fn push_escaped(out: &mut String, args: fmt::Arguments<'_>) {
    struct Escaping<'a>(&'a mut String);
    impl fmt::Write for Escaping<'_> {
        fn write_str(&mut self, s: &str) -> fmt::Result {
            for c in s.chars() {
                if c.is_control() && c != '\t' {
                    self.0.extend(c.escape_default());
                } else {
                    self.0.push(c);
                }
            }
            Ok(())
        }
    }
    // Writing to a String cannot fail; a Display impl that errs just ends the message early.
    let _ = Escaping(out).write_fmt(args);
}

/// A stderr line, newline included.
fn stderr_line(severity: Severity, journal: bool, message: &str) -> String {
    if journal {
        format!("<{}>{severity}: {message}\n", severity as u8)
    } else {
        format!("{IDENT}: {severity}: {message}\n")
    }
}

/// A syslog datagram: `<PRI>ringsocket[PID]: message`, at most [`MAX_DATAGRAM`] bytes.
fn syslog_line(severity: Severity, pid: u32, message: &str) -> String {
    let mut line = format!("<{}>{IDENT}[{pid}]: ", FACILITY_DAEMON | severity as u8);
    let room = MAX_DATAGRAM.saturating_sub(line.len());
    let mut cut = message.len().min(room);
    while !message.is_char_boundary(cut) {
        cut -= 1;
    }
    line.push_str(&message[..cut]);
    line
}

/// A connection to a syslog socket that never blocks and reconnects after errors.
pub(crate) struct SyslogSink {
    path: PathBuf,
    socket: Option<UnixDatagram>,
    /// When the last connection attempt failed, so the next waits [`RECONNECT_EVERY`].
    failed_at: Option<Instant>,
    /// Messages lost since the last one that got through.
    dropped: u64,
}

impl SyslogSink {
    pub(crate) fn new(path: PathBuf) -> Self {
        Self {
            path,
            socket: None,
            failed_at: None,
            dropped: 0,
        }
    }

    /// Connects now (an unbound, non-blocking datagram socket connected to the path).
    pub(crate) fn connect(&mut self) -> io::Result<()> {
        let attempt = UnixDatagram::unbound().and_then(|s| {
            s.connect(&self.path)?;
            s.set_nonblocking(true)?;
            Ok(s)
        });
        match attempt {
            Ok(s) => {
                self.socket = Some(s);
                self.failed_at = None;
                Ok(())
            }
            Err(e) => {
                self.socket = None;
                self.failed_at = Some(Instant::now());
                Err(e)
            }
        }
    }

    /// Sends one message; drops it (and counts it) when the receiver is full or gone.
    pub(crate) fn send(&mut self, severity: Severity, message: &str) {
        let pid = std::process::id();
        if self.dropped > 0 {
            let note = format!(
                "{} earlier message(s) dropped: syslog was unreachable or full",
                self.dropped
            );
            if self.try_send(&syslog_line(Severity::Warning, pid, &note)) {
                self.dropped = 0;
            }
        }
        if !self.try_send(&syslog_line(severity, pid, message)) {
            self.dropped += 1;
        }
    }

    /// Whether `line` went out. One reconnect per call: a syslog daemon that restarted leaves
    /// our socket connected to nothing (`ECONNREFUSED`).
    fn try_send(&mut self, line: &str) -> bool {
        for _ in 0..2 {
            if self.socket.is_none() {
                let waiting = self
                    .failed_at
                    .is_some_and(|at| at.elapsed() < RECONNECT_EVERY);
                if waiting || self.connect().is_err() {
                    return false;
                }
            }
            let Some(socket) = &self.socket else {
                return false;
            };
            match socket.send(line.as_bytes()) {
                Ok(_) => return true,
                // Full: dropping beats blocking a worker on the syslog daemon.
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return false,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => self.socket = None,
            }
        }
        false
    }

    #[cfg(test)]
    fn dropped(&self) -> u64 {
        self.dropped
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_path(tag: &str) -> PathBuf {
        use std::sync::atomic::AtomicUsize;
        static N: AtomicUsize = AtomicUsize::new(0);
        let path = std::env::temp_dir().join(format!(
            "ringsocket-log-{tag}-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        // Unused: a PID recurs across runs (inside a PID namespace, always), and so would a
        // socket left by an earlier run that failed.
        let _ = std::fs::remove_file(&path);
        path
    }

    fn recv(socket: &UnixDatagram) -> String {
        let mut buf = vec![0u8; 65536];
        let n = socket.recv(&mut buf).expect("a datagram");
        String::from_utf8(buf[..n].to_vec()).expect("utf-8")
    }

    #[test]
    fn severities_order_and_map_from_levels() {
        assert!(Severity::Emerg < Severity::Error && Severity::Notice < Severity::Debug);
        assert_eq!(Severity::from(Level::Error), Severity::Error);
        assert_eq!(Severity::from(Level::Warning) as u8, 4);
        assert_eq!(Severity::from(Level::Notice) as u8, 5);
        assert_eq!(Severity::from(Level::Info) as u8, 6);
        assert_eq!(Severity::from(Level::Debug).to_string(), "debug");
    }

    #[test]
    fn filters_by_level() {
        // The only test that touches the global threshold.
        set_level(Level::Warning);
        assert!(enabled(Severity::Emerg) && enabled(Severity::Error) && enabled(Severity::Warning));
        assert!(!enabled(Severity::Notice) && !enabled(Severity::Debug));
        // Filtered out: the arguments are never formatted.
        struct Panics;
        impl fmt::Display for Panics {
            fn fmt(&self, _: &mut fmt::Formatter<'_>) -> fmt::Result {
                panic!("formatted a filtered message")
            }
        }
        crate::log!(Info, "{}", Panics);
        set_level(Level::Debug);
        assert!(enabled(Severity::Debug));
        set_level(Level::Notice);
        assert!(enabled(Severity::Notice) && !enabled(Severity::Info));
    }

    #[test]
    fn formats_lines() {
        assert_eq!(
            stderr_line(Severity::Warning, false, "disk full"),
            "ringsocket: warning: disk full\n"
        );
        assert_eq!(stderr_line(Severity::Error, true, "x"), "<3>error: x\n");
        assert_eq!(
            syslog_line(Severity::Notice, 42, "hello"),
            "<29>ringsocket[42]: hello"
        );
        assert_eq!(syslog_line(Severity::Emerg, 1, "x"), "<24>ringsocket[1]: x");
        assert_eq!(syslog_line(Severity::Debug, 1, "x"), "<31>ringsocket[1]: x");
    }

    #[test]
    fn escapes_control_characters_and_cuts_long_lines() {
        let mut s = String::new();
        push_escaped(&mut s, format_args!("a\nb\r{}\tc\u{1b}", "\n"));
        assert_eq!(s, "a\\nb\\r\\n\tc\\u{1b}");
        let long = "é".repeat(MAX_DATAGRAM);
        let line = syslog_line(Severity::Info, 7, &long);
        assert!(
            line.len() <= MAX_DATAGRAM && line.len() > MAX_DATAGRAM - 2,
            "{}",
            line.len()
        );
        assert!(line.starts_with("<30>ringsocket[7]: éé"));
    }

    #[test]
    fn sends_syslog_datagrams_and_reconnects() {
        let path = temp_path("sock");
        let receiver = UnixDatagram::bind(&path).expect("bind");
        let mut sink = SyslogSink::new(path.clone());
        sink.connect().expect("connect");
        sink.send(Severity::Error, "first");
        let pid = std::process::id();
        assert_eq!(recv(&receiver), format!("<27>ringsocket[{pid}]: first"));

        // The syslog daemon restarts: the old socket is gone, a new one is bound at the path.
        drop(receiver);
        std::fs::remove_file(&path).expect("unlink");
        let receiver = UnixDatagram::bind(&path).expect("rebind");
        sink.send(Severity::Info, "second");
        assert_eq!(recv(&receiver), format!("<30>ringsocket[{pid}]: second"));
        assert_eq!(sink.dropped(), 0);
        let _ = std::fs::remove_file(&path);
    }

    #[test]
    fn never_blocks_on_a_full_receiver_and_reports_the_loss() {
        let path = temp_path("full");
        let receiver = UnixDatagram::bind(&path).expect("bind");
        let mut sink = SyslogSink::new(path.clone());
        sink.connect().expect("connect");
        let start = Instant::now();
        let mut sent = 0;
        while sink.dropped() == 0 {
            sink.send(Severity::Info, "filler");
            sent += 1;
            assert!(sent < 1_000_000, "the receiver never filled up");
        }
        assert!(start.elapsed() < Duration::from_secs(5));
        receiver.set_nonblocking(true).expect("nonblocking");
        let mut buf = [0u8; 256];
        while receiver.recv(&mut buf).is_ok() {}
        sink.send(Severity::Notice, "after");
        assert!(recv(&receiver).contains("]: 1 earlier message(s) dropped"));
        assert!(recv(&receiver).ends_with("]: after"));
        assert_eq!(sink.dropped(), 0);
        let _ = std::fs::remove_file(&path);
    }

    #[test]
    fn an_absent_socket_is_retried_at_most_once_a_second() {
        let path = temp_path("absent");
        let mut sink = SyslogSink::new(path.clone());
        assert!(sink.connect().is_err());
        sink.send(Severity::Error, "lost");
        assert_eq!(sink.dropped(), 1);
        // Bound now, but the sink waits out RECONNECT_EVERY before trying again.
        let receiver = UnixDatagram::bind(&path).expect("bind");
        sink.send(Severity::Error, "lost too");
        assert_eq!(sink.dropped(), 2);
        sink.failed_at = Instant::now().checked_sub(RECONNECT_EVERY);
        sink.send(Severity::Error, "arrives");
        let note = recv(&receiver);
        assert!(note.starts_with("<28>ringsocket["), "{note}");
        assert!(note.ends_with("]: 2 earlier message(s) dropped: syslog was unreachable or full"));
        assert!(recv(&receiver).ends_with("]: arrives"));
        let _ = std::fs::remove_file(&path);
    }
}
