//! The opening handshake (RFC 6455 §4): the HTTP/1.1 upgrade request and response.
//!
//! Everything here is sans-IO and allocation-free: parsers borrow from the caller's buffer and
//! writers append to a caller's [`Buffer`](crate::Buffer), all or nothing.
//!
//! # Server
//!
//! 1. Append received bytes to a buffer and call [`RequestParser::parse`] on the whole buffer
//!    after each read until it returns [`RequestStatus::Complete`]. Its `len` bytes are the head;
//!    bytes after them are already WebSocket frames and belong to the connection.
//! 2. [`Request::validate_upgrade`] checks the request (§4.2.1) and yields an
//!    [`UpgradeRequest`] with zero-copy views of key, host, path, origin and subprotocols.
//! 3. The application decides on the endpoint ([`path_matches`], [`host_matches`]), the origin
//!    ([`origin_matches`]) and the subprotocol, then writes the `101` with
//!    [`UpgradeRequest::write_accept`] or an error with [`write_error_response`].
//!
//! Every error knows the HTTP status to answer with ([`HandshakeError::status`]).
//!
//! # Client
//!
//! [`encode_key`] turns 16 random bytes (the crate has no RNG) into the `Sec-WebSocket-Key`,
//! [`ClientRequest::write`] writes the request, and [`ResponseParser`] with
//! [`Response::validate`] checks the server's answer (§4.1).
//!
//! # Example
//!
//! ```
//! use ws_proto::SliceBuffer;
//! use ws_proto::handshake::{RequestParser, RequestStatus, write_error_response};
//!
//! let received = b"GET /chat HTTP/1.1\r\nHost: example.com\r\nUpgrade: websocket\r\n\
//!     Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
//!     Sec-WebSocket-Version: 13\r\n\r\n\x81\x80";
//! let mut storage = [0u8; 256];
//! let mut out = SliceBuffer::new(&mut storage);
//! let mut parser = RequestParser::new();
//! match parser.parse(received) {
//!     Ok(RequestStatus::Complete { len, request }) => match request.validate_upgrade() {
//!         Ok(upgrade) => {
//!             assert_eq!(upgrade.path(), "/chat");
//!             upgrade.write_accept(None, &[], &mut out).unwrap();
//!             // received[len..] holds the first frame.
//!             assert_eq!(&received[len..], b"\x81\x80");
//!         }
//!         Err(e) => write_error_response(e, &mut out).unwrap(),
//!     },
//!     Ok(RequestStatus::Partial) => { /* read more */ }
//!     Err(e) => write_error_response(e, &mut out).unwrap(),
//! }
//! # use ws_proto::Buffer;
//! # assert!(out.as_slice().starts_with(b"HTTP/1.1 101 Switching Protocols\r\n"));
//! ```

mod client;
pub mod extensions;
mod head;
mod matching;
mod query;
mod request;
mod server;
mod uri;
mod write;

// The tests collect output in `Vec<u8>`, a `Buffer` only with `alloc`.
#[cfg(all(test, feature = "alloc"))]
mod tests;

pub use client::{
    ClientError, ClientRequest, Response, ResponseParser, ResponseStatus, encode_key,
};
pub use head::{GetAll, Header, HeaderIter, Headers, ListValues, ParseError, is_token};
pub use matching::{
    InvalidOrigin, host_matches, is_valid_host, origin_matches, path_matches,
    validate_allowed_origin,
};
pub use query::{cookie, cookies, percent_decode, query_pairs, query_value};
pub use request::{HttpVersion, Request, RequestParser, RequestStatus};
pub use server::{
    HandshakeError, Protocols, UpgradeRequest, write_accept_response, write_error_response,
    write_error_response_with_body,
};
pub use uri::{is_path_byte, is_reg_name_byte};
pub use write::WriteError;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use core::fmt;
use sha1::{Digest, Sha1};

/// Appended to the key before hashing (RFC 6455 §1.3, §4.2.2 point 5.4).
const GUID: &[u8] = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

/// An HTTP status code (RFC 7231 §6), always three digits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct StatusCode(u16);

impl StatusCode {
    /// 101: the handshake succeeded (RFC 6455 §4.2.2).
    pub const SWITCHING_PROTOCOLS: Self = Self(101);
    /// 400: the request is malformed or not a valid WebSocket upgrade (RFC 6455 §4.2.1).
    pub const BAD_REQUEST: Self = Self(400);
    /// 403: e.g. an origin that is not allowed (RFC 6455 §4.2.2 point 4).
    pub const FORBIDDEN: Self = Self(403);
    /// 404: no endpoint at this path.
    pub const NOT_FOUND: Self = Self(404);
    /// 405: a method other than `GET` (RFC 6455 §4.1); sent with `Allow: GET`.
    pub const METHOD_NOT_ALLOWED: Self = Self(405);
    /// 408: the handshake did not arrive in time.
    pub const REQUEST_TIMEOUT: Self = Self(408);
    /// 426: not an upgrade, or an unsupported WebSocket version (RFC 6455 §4.4).
    pub const UPGRADE_REQUIRED: Self = Self(426);
    /// 429: too many connections from this client.
    pub const TOO_MANY_REQUESTS: Self = Self(429);
    /// 431: the head exceeds the [`Limits`] (RFC 6585 §5).
    pub const REQUEST_HEADER_FIELDS_TOO_LARGE: Self = Self(431);
    /// 500: the server failed.
    pub const INTERNAL_SERVER_ERROR: Self = Self(500);
    /// 503: the server is overloaded or shutting down.
    pub const SERVICE_UNAVAILABLE: Self = Self(503);

    /// The status `code`, or `None` outside `100..=999` (RFC 7230 §3.1.2: three digits).
    pub const fn new(code: u16) -> Option<Self> {
        if code >= 100 && code <= 999 {
            Some(Self(code))
        } else {
            None
        }
    }

    /// The numeric code.
    pub const fn as_u16(self) -> u16 {
        self.0
    }

    /// The reason phrase (RFC 7231 §6.1); codes without one get their class's name.
    pub const fn reason_phrase(self) -> &'static str {
        match self.0 {
            101 => "Switching Protocols",
            200 => "OK",
            400 => "Bad Request",
            401 => "Unauthorized",
            403 => "Forbidden",
            404 => "Not Found",
            405 => "Method Not Allowed",
            408 => "Request Timeout",
            414 => "URI Too Long",
            426 => "Upgrade Required",
            429 => "Too Many Requests",
            431 => "Request Header Fields Too Large",
            500 => "Internal Server Error",
            501 => "Not Implemented",
            502 => "Bad Gateway",
            503 => "Service Unavailable",
            505 => "HTTP Version Not Supported",
            _ => match self.0 / 100 {
                1 => "Informational",
                2 => "Success",
                3 => "Redirection",
                4 => "Client Error",
                _ => "Server Error",
            },
        }
    }
}

impl fmt::Display for StatusCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.0, self.reason_phrase())
    }
}

/// Bounds on a head, so that a peer cannot make the caller buffer without end. Passing either
/// fails the parse with a 431 error as soon as it happens, before the head is complete.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Limits {
    /// Most header lines accepted.
    pub max_headers: usize,
    /// Most bytes in the head: start line, header lines and the blank line.
    pub max_head_len: usize,
}

impl Limits {
    /// 64 headers, 8 KiB: above what browsers send, far below what would hurt.
    pub const DEFAULT: Self = Self::new(64, 8 * 1024);

    /// Limits of `max_headers` header lines and `max_head_len` bytes.
    pub const fn new(max_headers: usize, max_head_len: usize) -> Self {
        Self {
            max_headers,
            max_head_len,
        }
    }
}

impl Default for Limits {
    fn default() -> Self {
        Self::DEFAULT
    }
}

/// The `Sec-WebSocket-Accept` value for `key`: base64 of the SHA-1 of the key and the GUID
/// (RFC 6455 §1.3, §4.2.2 point 5.4). `key` is the header value as received, trimmed.
pub fn accept_key(key: &[u8]) -> [u8; 28] {
    let mut sha1 = Sha1::new();
    sha1.update(key);
    sha1.update(GUID);
    let digest: [u8; 20] = sha1.finalize().into();
    let mut out = [0; 28];
    base64_encode(&digest, &mut out);
    out
}

/// Standard base64 with padding (RFC 4648 §4) into an array sized `4 * ceil(len / 3)`.
fn base64_encode<const N: usize>(input: &[u8], out: &mut [u8; N]) {
    // Every caller sizes `out` exactly for its fixed-size input, so encoding cannot run out of
    // room and the `Err` arm is unreachable.
    let written = STANDARD.encode_slice(input, out);
    debug_assert!(matches!(written, Ok(n) if n == N));
}

/// Whether `key` is the canonical base64 of exactly 16 bytes (RFC 6455 §4.1 point 7,
/// §4.2.1 point 5). The standard engine rejects non-zero bits past the 16th byte: such a key
/// would decode to the same bytes as another one, so it is not canonical (RFC 4648 §3.5).
fn is_valid_key(key: &[u8]) -> bool {
    // 24 characters decode to at most 18 bytes.
    let mut decoded = [0u8; 18];
    key.len() == 24 && matches!(STANDARD.decode_slice(key, &mut decoded), Ok(16))
}
