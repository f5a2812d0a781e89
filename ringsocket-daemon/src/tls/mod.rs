//! TLS for `wss://` ports: certificates, the SNI resolver, the rustls server configuration and
//! a per-connection adapter for non-blocking sockets.
//!
//! * [`TlsContext`] is built once from [`CertSpec`]s and shared by every worker (it is cheap to
//!   clone). [`TlsContext::reload`] swaps the certificate set atomically (SIGHUP): new
//!   handshakes see the new certificates, established connections keep theirs, and a failed
//!   reload changes nothing.
//! * Certificate choice: the exact SNI name (case-insensitive), then a one-label wildcard
//!   (`*.example.com` covers `a.example.com`, not `example.com` nor `a.b.example.com`), then
//!   the first configured certificate as the default, also when the client sends no SNI (as
//!   clients connecting to an IP address do). The original C server failed such handshakes and
//!   matched names by prefix; we do neither.
//! * rustls 0.23 with the `ring` provider, TLS 1.2 and 1.3, ALPN `http/1.1`, no client
//!   authentication, session resumption from a bounded in-memory cache.
//!
//! # Driving a [`TlsSession`] from an edge-triggered epoll loop
//!
//! Register the socket for `EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET` and create the session
//! with [`TlsSession::new`] right after `accept`. Then:
//!
//! 1. **Readable** (or `EPOLLRDHUP`): call [`TlsSession::read`] with the free tail of the
//!    worker's read buffer. It reads until `EAGAIN`, so the edge is fully consumed, unless it
//!    returns [`ReadStatus::BufferFull`]: then the worker must call `read` again once it has
//!    made room, because no new event will come for data already in the socket or the
//!    session. [`ReadStatus::PeerClosed`] and [`ReadStatus::Eof`] are final.
//! 2. **After every `read`**: if [`TlsSession::wants_write`], call [`TlsSession::flush`] —
//!    the handshake, session tickets and alerts are produced while reading.
//! 3. **Sending**: [`TlsSession::send`] with all pending frames of the client as one slice
//!    list; it encrypts them into as few records as possible and writes them with vectored
//!    writes. It returns how much it took; the rest stays in the worker's backlog.
//! 4. **Writable**: if the last flush or send returned [`FlushStatus::WouldBlock`], call
//!    [`TlsSession::flush`], then `send` the backlog.
//! 5. **Closing**: [`TlsSession::close`] queues `close_notify`; flush it (best effort), then
//!    close the socket.
//! 6. **Errors**: every [`SessionError`] is final. [`SessionError::NotTls`] (plaintext, e.g.
//!    an HTTP request, on a TLS port): close at once, nothing is sent.
//!    [`SessionError::Protocol`]: flush once (an alert may be queued), then close.
//!    [`SessionError::Io`]: close.
//!
//! The handshake timeout (`handshake_wait`) is the worker's timer: a session never times out
//! by itself; [`TlsSession::is_handshaking`] and [`ReadOutcome::handshake_completed`] say where
//! it stands. Writes go through the caller's `Write`: a socket wrapper that sends with
//! `MSG_NOSIGNAL`, or a process that ignores `SIGPIPE` (Rust binaries do by default).

mod error;
mod load;
mod resolver;
mod session;

pub use error::{SessionError, TlsError};
pub use load::CertSpec;
pub use resolver::ReloadReport;
pub use session::{
    FlushStatus, ReadOutcome, ReadStatus, SendOutcome, TlsSession, looks_like_tls_client_hello,
};

use std::sync::{Arc, Mutex};

use arc_swap::ArcSwap;
use rustls::ServerConfig;
use rustls::crypto::CryptoProvider;
use rustls::server::{NoServerSessionStorage, ServerSessionMemoryCache, StoresServerSessions};

use resolver::{CertResolver, CertSet};

/// The ALPN protocol we offer: WebSocket upgrades are HTTP/1.1 requests. A client that offers
/// ALPN without it (e.g. only `h2`) fails the handshake with `no_application_protocol`.
pub const ALPN_HTTP_1_1: &[u8] = b"http/1.1";

/// Tunables of a [`TlsContext`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct TlsOptions {
    /// Sessions kept for resumption (TLS 1.2 session IDs and TLS 1.3 tickets). When full, the
    /// oldest are dropped; a few hundred bytes each. 0 disables resumption.
    pub session_cache_entries: usize,
    /// Bytes a session buffers: plaintext queued before the handshake completes, and
    /// ciphertext not yet written to the socket. [`TlsSession::send`] takes no more than this
    /// ahead of the socket, so the worker's own backlog holds the rest. 0 is taken as 1.
    pub send_buffer_limit: usize,
}

impl Default for TlsOptions {
    fn default() -> Self {
        Self {
            session_cache_entries: 4096,
            send_buffer_limit: 64 * 1024,
        }
    }
}

/// Everything the workers need to run TLS: the rustls configuration and the swappable
/// certificate set behind it. Clones share both.
#[derive(Debug, Clone)]
pub struct TlsContext {
    config: Arc<ServerConfig>,
    certs: Arc<ArcSwap<CertSet>>,
    sessions: Arc<SessionCache>,
    provider: Arc<CryptoProvider>,
    options: TlsOptions,
    /// Serializes reloads, so each report compares against the set it actually replaced.
    reload_lock: Arc<Mutex<()>>,
}

impl TlsContext {
    /// Load `specs` (at least one; the first is the default certificate) with default options.
    pub fn new(specs: &[CertSpec]) -> Result<Self, TlsError> {
        Self::with_options(specs, TlsOptions::default())
    }

    /// Load `specs` (at least one; the first is the default certificate).
    pub fn with_options(specs: &[CertSpec], options: TlsOptions) -> Result<Self, TlsError> {
        // Chosen explicitly rather than through the process-wide default provider, which
        // another crate could install.
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let certs = Arc::new(ArcSwap::from_pointee(load_set(specs, &provider)?));
        let mut config = ServerConfig::builder_with_provider(Arc::clone(&provider))
            .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
            .map_err(TlsError::Config)?
            .with_no_client_auth()
            .with_cert_resolver(Arc::new(CertResolver {
                certs: Arc::clone(&certs),
            }));
        config.alpn_protocols = vec![ALPN_HTTP_1_1.to_vec()];
        let sessions = Arc::new(SessionCache::new(options.session_cache_entries));
        config.session_storage = match options.session_cache_entries {
            0 => Arc::new(NoServerSessionStorage {}),
            _ => Arc::clone(&sessions) as Arc<dyn StoresServerSessions>,
        };
        Ok(Self {
            config: Arc::new(config),
            certs,
            sessions,
            provider,
            options,
            reload_lock: Arc::new(Mutex::new(())),
        })
    }

    /// Load `specs` and, only if every one loads, make them the certificates of new handshakes
    /// (atomically, for all workers and clones). On error the current certificates stay.
    ///
    /// If anything changed, the session cache starts empty: a client resuming a session skips
    /// the certificate, so resuming one from before the reload would bypass a replaced (say,
    /// compromised) certificate. Established connections are untouched either way.
    pub fn reload(&self, specs: &[CertSpec]) -> Result<ReloadReport, TlsError> {
        // A poisoned lock only means another reload panicked; the swap itself is still sound.
        let _guard = self.reload_lock.lock().unwrap_or_else(|e| e.into_inner());
        let new = Arc::new(load_set(specs, &self.provider)?);
        let old = self.certs.swap(Arc::clone(&new));
        let report = new.diff(&old);
        if !report.is_unchanged() {
            self.sessions.clear();
        }
        Ok(report)
    }

    /// The rustls server configuration (ALPN, versions, resolver, session cache).
    pub fn server_config(&self) -> &Arc<ServerConfig> {
        &self.config
    }

    /// The configured names currently served (normalized, sorted).
    pub fn hostnames(&self) -> Vec<String> {
        self.certs.load().names()
    }

    pub(crate) fn send_buffer_limit(&self) -> usize {
        self.options.send_buffer_limit
    }
}

/// The bounded in-memory session cache (TLS 1.2 session IDs, TLS 1.3 stateful tickets),
/// swappable for an empty one on reload (rustls's cache has no `clear`).
#[derive(Debug)]
struct SessionCache {
    current: ArcSwap<ServerSessionMemoryCache>,
    entries: usize,
}

impl SessionCache {
    fn new(entries: usize) -> Self {
        Self {
            current: ArcSwap::new(ServerSessionMemoryCache::new(entries)),
            entries,
        }
    }

    fn clear(&self) {
        self.current
            .store(ServerSessionMemoryCache::new(self.entries));
    }
}

impl StoresServerSessions for SessionCache {
    fn put(&self, key: Vec<u8>, value: Vec<u8>) -> bool {
        self.current.load().put(key, value)
    }

    fn get(&self, key: &[u8]) -> Option<Vec<u8>> {
        self.current.load().get(key)
    }

    fn take(&self, key: &[u8]) -> Option<Vec<u8>> {
        self.current.load().take(key)
    }

    fn can_cache(&self) -> bool {
        true
    }
}

/// Load every spec, in order, failing on the first bad one.
fn load_set(specs: &[CertSpec], provider: &CryptoProvider) -> Result<CertSet, TlsError> {
    let mut certs = Vec::with_capacity(specs.len());
    for spec in specs {
        let key = load::load_certified_key(spec, provider)?;
        certs.push((spec.hostnames.clone(), Arc::new(key)));
    }
    CertSet::new(certs)
}

#[cfg(test)]
mod test_pki;
