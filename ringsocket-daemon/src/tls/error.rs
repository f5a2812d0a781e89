//! The two error types of the TLS layer: [`TlsError`] for loading certificates and building the
//! context (startup and SIGHUP), [`SessionError`] for one connection.

use std::fmt;
use std::io;
use std::path::PathBuf;

/// Why certificates could not be loaded or the TLS context could not be built.
///
/// Every variant that concerns a file names it, so the daemon can log the message as is.
#[derive(Debug)]
#[non_exhaustive]
pub enum TlsError {
    /// A certificate or key file could not be read.
    Read {
        /// The file.
        path: PathBuf,
        /// What the OS said.
        source: io::Error,
    },
    /// A file is not valid PEM (bad base64, a section without its END line, ...).
    Pem {
        /// The file.
        path: PathBuf,
        /// What the PEM parser said.
        detail: String,
    },
    /// The chain file holds no `CERTIFICATE` section.
    NoCertificate {
        /// The chain file.
        path: PathBuf,
    },
    /// The key file holds no unencrypted private key (`PRIVATE KEY`, `RSA PRIVATE KEY` or
    /// `EC PRIVATE KEY`).
    NoPrivateKey {
        /// The key file.
        path: PathBuf,
    },
    /// The private key could not be used: an unsupported algorithm or curve, or malformed DER.
    UnsupportedKey {
        /// The key file.
        path: PathBuf,
        /// What rustls said.
        detail: String,
    },
    /// The first certificate of the chain is not for this private key, or cannot be parsed.
    KeyMismatch {
        /// The key file.
        privkey_path: PathBuf,
        /// The chain file.
        pubchain_path: PathBuf,
        /// What rustls said.
        detail: String,
    },
    /// A configured hostname is not a DNS name or a one-label wildcard (`*.example.com`).
    BadHostname {
        /// The hostname as configured.
        hostname: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// No certificate was configured: a TLS context needs at least one (it is the default).
    NoCertificates,
    /// rustls refused the server configuration (should not happen with the fixed settings).
    Config(rustls::Error),
}

impl fmt::Display for TlsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Read { path, source } => write!(f, "{}: cannot read: {source}", path.display()),
            Self::Pem { path, detail } => write!(f, "{}: invalid PEM: {detail}", path.display()),
            Self::NoCertificate { path } => {
                write!(
                    f,
                    "{}: no certificate (no CERTIFICATE PEM section)",
                    path.display()
                )
            }
            Self::NoPrivateKey { path } => write!(
                f,
                "{}: no private key (expected an unencrypted PRIVATE KEY, RSA PRIVATE KEY or \
                 EC PRIVATE KEY PEM section)",
                path.display()
            ),
            Self::UnsupportedKey { path, detail } => {
                write!(f, "{}: unsupported private key: {detail}", path.display())
            }
            Self::KeyMismatch {
                privkey_path,
                pubchain_path,
                detail,
            } => write!(
                f,
                "{}: the private key does not match the first certificate of {}: {detail}",
                privkey_path.display(),
                pubchain_path.display()
            ),
            Self::BadHostname { hostname, reason } => {
                write!(f, "certificate hostname {hostname:?}: {reason}")
            }
            Self::NoCertificates => f.write_str("no certificates configured"),
            Self::Config(e) => write!(f, "TLS configuration: {e}"),
        }
    }
}

impl std::error::Error for TlsError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Read { source, .. } => Some(source),
            Self::Config(e) => Some(e),
            _ => None,
        }
    }
}

/// Why a TLS connection cannot go on. Every variant means: close the socket (after a best-effort
/// [`TlsSession::flush`](super::TlsSession::flush) for [`SessionError::Protocol`], which may have
/// queued an alert for the peer).
#[derive(Debug)]
#[non_exhaustive]
pub enum SessionError {
    /// The first byte from the client is not a TLS handshake record (`0x16`): plaintext on a TLS
    /// port, most often an HTTP request (`ws://` to a `wss://` port). Nothing was sent back; just
    /// close.
    NotTls {
        /// The first byte received; see [`SessionError::looks_like_http`].
        first_byte: u8,
    },
    /// TLS protocol failure: a malformed record, an alert from the peer, a failed handshake
    /// (no common version, cipher suite or ALPN protocol, ...).
    Protocol(rustls::Error),
    /// The socket failed (other than `EAGAIN`/`EINTR`, which are handled): `ECONNRESET`,
    /// `EPIPE`, ...
    Io(io::Error),
}

impl SessionError {
    /// Whether this is [`SessionError::NotTls`] with a first byte that starts an HTTP method
    /// (an ASCII capital letter), i.e. a plaintext HTTP request on a TLS port.
    pub fn looks_like_http(&self) -> bool {
        matches!(self, Self::NotTls { first_byte } if first_byte.is_ascii_uppercase())
    }
}

impl fmt::Display for SessionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NotTls { first_byte } if first_byte.is_ascii_uppercase() => {
                f.write_str("plaintext HTTP request on a TLS port")
            }
            Self::NotTls { first_byte } => {
                write!(
                    f,
                    "not TLS: first byte {first_byte:#04x} is not a handshake record"
                )
            }
            Self::Protocol(e) => write!(f, "TLS: {e}"),
            Self::Io(e) => write!(f, "TLS socket: {e}"),
        }
    }
}

impl std::error::Error for SessionError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Protocol(e) => Some(e),
            Self::Io(e) => Some(e),
            Self::NotTls { .. } => None,
        }
    }
}
