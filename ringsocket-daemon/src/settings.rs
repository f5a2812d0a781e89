//! The global settings: every top-level scalar key of `ringsocket.json`, defined once.
//!
//! [`Settings`] is what the validator produces ([`crate::config::Config::settings`]), what the
//! serving core runs with ([`crate::server::ServerSpec::settings`]) and what the app-facing
//! configuration view is derived from ([`crate::convert`]). Adding a global key is one entry in
//! the table below (name, type, default, meaning), its rule in `config/validate/globals.rs`
//! (the compiler asks for it: the validator builds a `Settings` literal) and its row in
//! `docs/configuration.md` (a test asks for that).

use std::path::PathBuf;
use std::time::Duration;

pub use app_abi::Level;

const MIB: u64 = 1 << 20;

/// The spec's default `max_ws_frame_chain_size` for a given `max_ws_msg_size`: 1.1 × the
/// message size, rounded up (room for the frame headers and interleaved control frames).
pub const fn default_frame_chain_size(max_ws_msg_size: u64) -> u64 {
    max_ws_msg_size.saturating_mul(11).div_ceil(10)
}

/// Defines [`Settings`], its [`Default`] and [`Settings::KEYS`] from one list of
/// `key: Type = default` entries, so the three cannot drift apart.
macro_rules! settings {
    ($( $(#[doc = $doc:literal])* $key:ident : $ty:ty = $default:expr, )*) => {
        /// The global keys of `ringsocket.json`, resolved (see the module docs). Each field is
        /// named as its key; [`Default`] gives the documented defaults.
        #[derive(Debug, Clone, PartialEq)]
        pub struct Settings {
            $( $(#[doc = $doc])* pub $key: $ty, )*
        }

        impl Default for Settings {
            fn default() -> Self {
                Self { $( $key: $default, )* }
            }
        }

        impl Settings {
            /// The keys, as written in `ringsocket.json`, in the order of the reference.
            pub const KEYS: &[&str] = &[$(stringify!($key)),*];
        }
    };
}

settings! {
    /// Least important level logged.
    log_level: Level = Level::Notice,
    /// Worker threads; `None` (0 or omitted) is automatic: cores minus apps, at least 1 (see
    /// [`Settings::worker_count`]).
    worker_c: Option<u32> = None,
    /// Before the upgrade completes (after an HTTP error response): how long to wait for the
    /// client to close.
    shutdown_wait_http: Duration = Duration::from_secs(15),
    /// After a close frame (ours or theirs): how long to wait for the closing handshake and the
    /// TCP close; also the shutdown's wait.
    shutdown_wait_ws: Duration = Duration::from_secs(30),
    /// The file descriptor budget (`RLIMIT_NOFILE`); bounds connections over all workers (extra
    /// ones get a 503).
    fd_alloc_c: u32 = 4096,
    /// Payload bytes per message (1009 beyond).
    max_ws_msg_size: u64 = 16 * MIB,
    /// Bytes per message including frame headers and interleaved control frames (1009 beyond).
    max_ws_frame_chain_size: u64 = default_frame_chain_size(16 * MIB),
    /// Growth factor of buffers and rings that run out of space.
    realloc_multiplier: f64 = 1.5,
    /// Each worker's initial read buffer (at least 16 KiB is used).
    worker_rbuf_size: u64 = 32 * MIB,
    /// Initial size of each worker → app ring.
    inbound_ring_buf_size: u64 = 64 * MIB,
    /// Initial size of each app → worker ring.
    outbound_ring_buf_size: u64 = 128 * MIB,
    /// Initial capacity of a worker's pending-send table.
    owrefs_elem_c: u32 = 10_000,
    /// Events taken per `epoll_wait`.
    epoll_buf_elem_c: u32 = 100,
    /// Ring records written before they are published to the reader (workers also publish at
    /// the end of every turn).
    update_queue_size: u32 = 5,
    /// The run user when started as root; `None` (`""`) keeps the starting user.
    user: Option<String> = Some("ringsock".into()),
    /// From accept to a complete upgrade request, the TLS handshake included (then 408 and
    /// close; a TLS client still in its handshake is just closed).
    handshake_wait: Duration = Duration::from_secs(10),
    /// Silence after which the server pings; `None` (0) never pings.
    ping_interval: Option<Duration> = Some(Duration::from_secs(30)),
    /// After a ping, how long to wait for any data before closing with 1011.
    pong_wait: Duration = Duration::from_secs(10),
    /// Bytes of pending output per client before it is closed with 1008.
    max_client_backlog: u64 = 8 * MIB,
    /// The syslog socket used with `--daemon`.
    syslog_path: PathBuf = PathBuf::from("/dev/log"),
    /// permessage-deflate (RFC 7692) for every endpoint that does not set its own.
    permessage_deflate: Compression = Compression::DEFAULT,
    /// Connections at once over every worker, below `fd_alloc_c` (extra ones get a 503);
    /// `None` (0): `fd_alloc_c` minus 1/16 of it for the daemon's own descriptors.
    max_connections: Option<u32> = None,
    /// Connections at once from one IPv4 address or IPv6 /64 (extra upgrades get a 429);
    /// `None` (0): no limit.
    max_connections_per_ip: Option<u32> = Some(512),
    /// Upgrade requests per second from one IPv4 address or IPv6 /64, with bursts of as many
    /// (extra ones get a 429); `None` (0): no limit.
    max_handshakes_per_second_per_ip: Option<u32> = Some(100),
    /// Messages per second from one client, with bursts of as many (beyond, it is closed with
    /// 1008); `None` (0): no limit.
    max_messages_per_second: Option<u32> = Some(10_000),
}

impl Settings {
    /// The connection limit over every worker (see `max_connections`).
    pub fn connection_limit(&self) -> usize {
        match self.max_connections {
            Some(n) => n as usize,
            None => (self.fd_alloc_c - self.fd_alloc_c / 16) as usize,
        }
    }
}

/// `permessage_deflate`: how the server compresses, and what it agrees to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Compression {
    /// Accept a client's offer at all.
    pub enabled: bool,
    /// The server keeps no compression state between messages: no memory per idle
    /// connection, and a broadcast is compressed once for all such recipients.
    pub server_no_context_takeover: bool,
    /// Ask the client to keep none either, so the server needs no decompression state per
    /// connection between messages.
    pub client_no_context_takeover: bool,
    /// The server's LZ77 window, 2^this bytes (8..=15).
    pub server_max_window_bits: u8,
    /// The most the client may use, when it says it can be limited (8..=15).
    pub client_max_window_bits: u8,
    /// zlib level, 0 (store) to 9 (smallest).
    pub level: u8,
    /// Messages shorter than this many bytes go uncompressed.
    pub min_size: u32,
}

impl Compression {
    /// On, no context takeover either way, full windows, level 1, from 128 bytes.
    pub const DEFAULT: Self = Self {
        enabled: true,
        server_no_context_takeover: true,
        client_no_context_takeover: true,
        server_max_window_bits: 15,
        client_max_window_bits: 15,
        level: 1,
        min_size: 128,
    };

    /// What the server agrees to in the handshake.
    pub fn policy(&self) -> ws_proto::handshake::extensions::DeflatePolicy {
        ws_proto::handshake::extensions::DeflatePolicy {
            server_no_context_takeover: self.server_no_context_takeover,
            client_no_context_takeover: self.client_no_context_takeover,
            server_max_window_bits: self.server_max_window_bits,
            client_max_window_bits: self.client_max_window_bits,
        }
    }
}

impl Default for Compression {
    fn default() -> Self {
        Self::DEFAULT
    }
}

/// An endpoint's `permessage_deflate`: each key it sets replaces the global one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CompressionOverride {
    /// Replaces [`Compression::enabled`].
    pub enabled: Option<bool>,
    /// Replaces [`Compression::server_no_context_takeover`].
    pub server_no_context_takeover: Option<bool>,
    /// Replaces [`Compression::client_no_context_takeover`].
    pub client_no_context_takeover: Option<bool>,
    /// Replaces [`Compression::server_max_window_bits`].
    pub server_max_window_bits: Option<u8>,
    /// Replaces [`Compression::client_max_window_bits`].
    pub client_max_window_bits: Option<u8>,
    /// Replaces [`Compression::level`].
    pub level: Option<u8>,
    /// Replaces [`Compression::min_size`].
    pub min_size: Option<u32>,
}

impl CompressionOverride {
    /// `base` with this override's keys.
    pub fn apply(&self, base: Compression) -> Compression {
        Compression {
            enabled: self.enabled.unwrap_or(base.enabled),
            server_no_context_takeover: self
                .server_no_context_takeover
                .unwrap_or(base.server_no_context_takeover),
            client_no_context_takeover: self
                .client_no_context_takeover
                .unwrap_or(base.client_no_context_takeover),
            server_max_window_bits: self
                .server_max_window_bits
                .unwrap_or(base.server_max_window_bits),
            client_max_window_bits: self
                .client_max_window_bits
                .unwrap_or(base.client_max_window_bits),
            level: self.level.unwrap_or(base.level),
            min_size: self.min_size.unwrap_or(base.min_size),
        }
    }
}

impl Settings {
    /// The number of worker threads: `worker_c`, or `cores` minus `app_c`, at least 1 (the
    /// spec's rule).
    pub fn worker_count(&self, cores: usize, app_c: usize) -> u32 {
        match self.worker_c {
            Some(n) => n,
            None => u32::try_from(cores.saturating_sub(app_c).max(1)).unwrap_or(u32::MAX),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_frame_chain_default_follows_the_message_size() {
        let d = Settings::default();
        assert_eq!(d.max_ws_frame_chain_size, 18_454_938);
        assert_eq!(default_frame_chain_size(1000), 1100);
        assert_eq!(default_frame_chain_size(125), 138);
    }

    #[test]
    fn automatic_worker_count() {
        let auto = Settings::default();
        assert_eq!(auto.worker_count(2, 1), 1);
        assert_eq!(auto.worker_count(8, 1), 7);
        assert_eq!(auto.worker_count(1, 3), 1, "at least one");
        let fixed = Settings {
            worker_c: Some(3),
            ..Settings::default()
        };
        assert_eq!(fixed.worker_count(64, 1), 3);
    }

    /// Every key has its row in the reference's table of global keys.
    #[test]
    fn every_key_is_documented() {
        let doc = include_str!("../../docs/configuration.md");
        let table = doc
            .split("## Global keys")
            .nth(1)
            .and_then(|rest| rest.split("\n## ").next())
            .unwrap_or_default();
        for key in Settings::KEYS {
            assert!(
                table.contains(&format!("\n| `{key}` |")),
                "docs/configuration.md's \"Global keys\" table has no row for `{key}`"
            );
        }
    }
}
