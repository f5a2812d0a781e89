//! Server side: validating the upgrade request (RFC 6455 §4.2.1) and writing the response
//! (§4.2.2, §4.4).

use core::fmt;

use crate::{Buffer, BufferFull};

use super::head::{
    GetAll, Header, Headers, ListValues, ParseError, is_token, list_all_tokens, list_contains,
    trim_ows,
};
use super::matching::parse_authority;
use super::request::{HttpVersion, Request};
use super::write::{
    Decimal, Sink, WriteError, check_extra_headers, put_header, put_protocols_and_end, write_all,
};
use super::{StatusCode, accept_key, is_valid_key};

/// Why a request is not an acceptable WebSocket upgrade. Each variant maps to exactly one HTTP
/// status ([`status`](Self::status)); answer with [`write_error_response`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum HandshakeError {
    /// The head is malformed (400) or too large (431).
    Parse(ParseError),
    /// The method is not `GET` (RFC 6455 §4.1 point 2). 405, with `Allow: GET`.
    MethodNotAllowed,
    /// The version is not `HTTP/1.1` (RFC 6455 §4.1 point 2), e.g. `HTTP/1.0`. 400.
    UnsupportedHttpVersion,
    /// The request-target is neither origin-form nor an `http`, `https`, `ws` or `wss`
    /// absolute-form without userinfo, or holds a fragment (RFC 6455 §3, RFC 7230 §5.3). 400.
    InvalidTarget,
    /// No `Host` header (RFC 7230 §5.4, RFC 6455 §4.1 point 4). 400.
    MissingHost,
    /// The `Host` value is not `host[:port]` (RFC 7230 §5.4). 400.
    InvalidHost,
    /// A header that must appear at most once appeared more often: `Host` (RFC 7230 §5.4),
    /// `Sec-WebSocket-Key`, `Sec-WebSocket-Version` (RFC 6455 §11.3.1, §11.3.5) or `Origin`
    /// (RFC 6454 §7.3). Holds its name. 400.
    DuplicateHeader(&'static str),
    /// No `Upgrade` header at all: a plain HTTP request to a WebSocket endpoint
    /// (RFC 7231 §6.5.15). 426, with `Upgrade: websocket`.
    UpgradeRequired,
    /// `Upgrade` lacks the `websocket` token (RFC 6455 §4.2.1 point 3). 400.
    NotWebSocket,
    /// `Connection` lacks the `upgrade` token (RFC 6455 §4.2.1 point 4). 400.
    MissingConnectionUpgrade,
    /// `Sec-WebSocket-Version` is missing or not `13` (RFC 6455 §4.2.1 point 6, §4.4). 426,
    /// with `Sec-WebSocket-Version: 13`.
    UnsupportedVersion,
    /// No `Sec-WebSocket-Key` (RFC 6455 §4.2.1 point 5). 400.
    MissingKey,
    /// `Sec-WebSocket-Key` is not the base64 of 16 bytes (RFC 6455 §4.1 point 7). 400.
    InvalidKey,
    /// A `Sec-WebSocket-Protocol` element is not a token (RFC 6455 §4.1 point 10). 400.
    InvalidProtocol,
    /// `Transfer-Encoding` or a non-zero `Content-Length`: the bytes after the head would be
    /// both a body and WebSocket frames (RFC 7230 §3.3.3). 400.
    UnexpectedBody,
}

impl HandshakeError {
    /// The status to answer with.
    pub const fn status(&self) -> StatusCode {
        match self {
            Self::Parse(e) => e.status(),
            Self::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Self::UpgradeRequired | Self::UnsupportedVersion => StatusCode::UPGRADE_REQUIRED,
            _ => StatusCode::BAD_REQUEST,
        }
    }
}

impl fmt::Display for HandshakeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Parse(e) => e.fmt(f),
            Self::MethodNotAllowed => f.write_str("method is not GET"),
            Self::UnsupportedHttpVersion => f.write_str("HTTP version is not 1.1"),
            Self::InvalidTarget => f.write_str("invalid request-target"),
            Self::MissingHost => f.write_str("missing Host header"),
            Self::InvalidHost => f.write_str("invalid Host header"),
            Self::DuplicateHeader(name) => write!(f, "repeated {name} header"),
            Self::UpgradeRequired => f.write_str("not a WebSocket upgrade request"),
            Self::NotWebSocket => f.write_str("Upgrade header lacks websocket"),
            Self::MissingConnectionUpgrade => f.write_str("Connection header lacks upgrade"),
            Self::UnsupportedVersion => f.write_str("WebSocket version is not 13"),
            Self::MissingKey => f.write_str("missing Sec-WebSocket-Key header"),
            Self::InvalidKey => f.write_str("invalid Sec-WebSocket-Key header"),
            Self::InvalidProtocol => f.write_str("invalid Sec-WebSocket-Protocol header"),
            Self::UnexpectedBody => f.write_str("request announces a body"),
        }
    }
}

impl core::error::Error for HandshakeError {
    fn source(&self) -> Option<&(dyn core::error::Error + 'static)> {
        match self {
            Self::Parse(e) => Some(e),
            _ => None,
        }
    }
}

impl From<ParseError> for HandshakeError {
    fn from(e: ParseError) -> Self {
        Self::Parse(e)
    }
}

impl From<HandshakeError> for StatusCode {
    fn from(e: HandshakeError) -> Self {
        e.status()
    }
}

impl From<&HandshakeError> for StatusCode {
    fn from(e: &HandshakeError) -> Self {
        e.status()
    }
}

/// A valid WebSocket upgrade request (RFC 6455 §4.2.1), borrowed from the caller's buffer.
/// Which endpoint, origin and subprotocol to accept is the caller's decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UpgradeRequest<'a> {
    request: Request<'a>,
    key: &'a str,
    host: &'a str,
    path: &'a str,
    query: Option<&'a str>,
    origin: Option<&'a [u8]>,
}

impl<'a> Request<'a> {
    /// Checks that this is a WebSocket upgrade (RFC 6455 §4.2.1): `GET`, `HTTP/1.1`, one valid
    /// `Host`, `Upgrade: websocket`, `Connection: upgrade`, a valid `Sec-WebSocket-Key`,
    /// `Sec-WebSocket-Version: 13`, token subprotocols and no body.
    ///
    /// When several rules are broken, the first in that order is reported. A request without
    /// any `Upgrade` header gets [`HandshakeError::UpgradeRequired`] (426), telling a plain
    /// HTTP client what this endpoint speaks.
    pub fn validate_upgrade(&self) -> Result<UpgradeRequest<'a>, HandshakeError> {
        use HandshakeError as E;
        // Methods are case-sensitive (RFC 7230 §3.1.1).
        if self.method() != "GET" {
            return Err(E::MethodNotAllowed);
        }
        if self.version() != HttpVersion::HTTP_11 {
            return Err(E::UnsupportedHttpVersion);
        }
        let target = split_target(self.target()).ok_or(E::InvalidTarget)?;
        let found = Found::collect(self.headers());

        let host_header = found.host.ok_or(E::MissingHost)?;
        if found.duplicate & DUP_HOST != 0 {
            return Err(E::DuplicateHeader("Host"));
        }
        if parse_authority(host_header).is_none() {
            return Err(E::InvalidHost);
        }
        if !found.upgrade {
            return Err(E::UpgradeRequired);
        }
        if !found.websocket {
            return Err(E::NotWebSocket);
        }
        if !found.connection_upgrade {
            return Err(E::MissingConnectionUpgrade);
        }
        if found.duplicate & DUP_VERSION != 0 {
            return Err(E::DuplicateHeader("Sec-WebSocket-Version"));
        }
        if found.version != Some(b"13") {
            return Err(E::UnsupportedVersion);
        }
        let key = found.key.ok_or(E::MissingKey)?;
        if found.duplicate & DUP_KEY != 0 {
            return Err(E::DuplicateHeader("Sec-WebSocket-Key"));
        }
        if !is_valid_key(key) {
            return Err(E::InvalidKey);
        }
        if found.duplicate & DUP_ORIGIN != 0 {
            return Err(E::DuplicateHeader("Origin"));
        }
        if found.invalid_protocol {
            return Err(E::InvalidProtocol);
        }
        if found.body {
            return Err(E::UnexpectedBody);
        }
        // Key and host were validated as ASCII above, so these conversions cannot fail.
        let key = core::str::from_utf8(key).map_err(|_| E::InvalidKey)?;
        let host = match target.authority {
            // The target's authority wins over `Host` (RFC 7230 §5.4).
            Some(authority) => authority,
            None => core::str::from_utf8(host_header).map_err(|_| E::InvalidHost)?,
        };
        Ok(UpgradeRequest {
            request: *self,
            key,
            host,
            path: target.path,
            query: target.query,
            origin: found.origin,
        })
    }
}

impl<'a> UpgradeRequest<'a> {
    /// The request as parsed.
    pub fn request(&self) -> &Request<'a> {
        &self.request
    }

    /// All header lines, e.g. to read cookies or credentials.
    pub fn headers(&self) -> Headers<'a> {
        self.request.headers()
    }

    /// `Sec-WebSocket-Key` (RFC 6455 §4.2.1 point 5), trimmed.
    pub fn key(&self) -> &'a str {
        self.key
    }

    /// The host and optional port the client asked for (RFC 6455 §4.2.1 point 2): the
    /// authority of an absolute-form target, else the `Host` header (RFC 7230 §5.4). Compare it
    /// with [`host_matches`](super::host_matches).
    pub fn host(&self) -> &'a str {
        self.host
    }

    /// The path of the request-target, still percent-encoded (RFC 6455 §3: resource name);
    /// `/` for an absolute-form target without one. Compare it with
    /// [`path_matches`](super::path_matches).
    pub fn path(&self) -> &'a str {
        self.path
    }

    /// The query after `?`, if any, still percent-encoded.
    pub fn query(&self) -> Option<&'a str> {
        self.query
    }

    /// The `Origin` header (RFC 6455 §4.2.1 point 7, §10.2), sent by browsers. Compare it with
    /// [`origin_matches`](super::origin_matches).
    pub fn origin(&self) -> Option<&'a [u8]> {
        self.origin
    }

    /// The subprotocols offered, in the client's order of preference, from every
    /// `Sec-WebSocket-Protocol` line (RFC 6455 §4.2.1 point 8, §11.3.4).
    pub fn protocols(&self) -> Protocols<'a> {
        Protocols(self.headers().get_list("sec-websocket-protocol"))
    }

    /// The raw `Sec-WebSocket-Extensions` values (RFC 6455 §4.2.1 point 9, §9.1), one per
    /// header line. Ignoring them declines every extension.
    pub fn extensions(&self) -> GetAll<'a, 'static> {
        self.headers().get_all("sec-websocket-extensions")
    }

    /// The `Sec-WebSocket-Accept` value for this request (RFC 6455 §4.2.2 point 5.4).
    pub fn accept_key(&self) -> [u8; 28] {
        accept_key(self.key.as_bytes())
    }

    /// Writes the `101 Switching Protocols` response (RFC 6455 §4.2.2 point 5), see
    /// [`write_accept_response`]. `protocol` must be one of [`protocols`](Self::protocols)
    /// (§4.2.2 point 5.4), else [`WriteError::InvalidProtocol`].
    pub fn write_accept<B: Buffer + ?Sized>(
        &self,
        protocol: Option<&str>,
        headers: &[Header<'_>],
        out: &mut B,
    ) -> Result<(), WriteError> {
        if let Some(p) = protocol
            && !self.protocols().any(|offered| offered == p)
        {
            return Err(WriteError::InvalidProtocol);
        }
        write_accept_response(self.key.as_bytes(), protocol, headers, out)
    }
}

/// The subprotocols a client offers; see [`UpgradeRequest::protocols`].
#[derive(Debug, Clone)]
pub struct Protocols<'a>(ListValues<'a, 'static>);

impl<'a> Iterator for Protocols<'a> {
    type Item = &'a str;

    fn next(&mut self) -> Option<&'a str> {
        // Validated as tokens, hence ASCII: the conversion always succeeds.
        self.0.by_ref().find_map(|p| core::str::from_utf8(p).ok())
    }
}

const DUP_HOST: u8 = 1;
const DUP_KEY: u8 = 2;
const DUP_VERSION: u8 = 4;
const DUP_ORIGIN: u8 = 8;

/// What one pass over the headers found.
#[derive(Default)]
struct Found<'a> {
    host: Option<&'a [u8]>,
    key: Option<&'a [u8]>,
    version: Option<&'a [u8]>,
    origin: Option<&'a [u8]>,
    /// `DUP_*` bits.
    duplicate: u8,
    upgrade: bool,
    websocket: bool,
    connection_upgrade: bool,
    invalid_protocol: bool,
    body: bool,
}

impl<'a> Found<'a> {
    fn collect(headers: Headers<'a>) -> Self {
        let mut found = Self::default();
        let mut lines = headers.iter();
        while let Some((name, raw)) = lines.next_raw() {
            let value = || trim_ows(raw);
            // Dispatching on the length first skips most names with one comparison.
            let is = |expected: &str| name.eq_ignore_ascii_case(expected.as_bytes());
            match name.len() {
                4 if is("host") => found.once(value(), |f| &mut f.host, DUP_HOST),
                6 if is("origin") => found.once(value(), |f| &mut f.origin, DUP_ORIGIN),
                7 if is("upgrade") => {
                    // Lists may be split over several lines (RFC 7230 §3.2.2).
                    found.upgrade = true;
                    found.websocket |= list_contains(raw, b"websocket");
                }
                10 if is("connection") => {
                    found.connection_upgrade |= list_contains(raw, b"upgrade");
                }
                14 if is("content-length") => {
                    let value = value();
                    found.body |= value.is_empty() || value.iter().any(|&b| b != b'0');
                }
                17 if is("transfer-encoding") => found.body = true,
                17 if is("sec-websocket-key") => found.once(value(), |f| &mut f.key, DUP_KEY),
                21 if is("sec-websocket-version") => {
                    found.once(value(), |f| &mut f.version, DUP_VERSION);
                }
                22 if is("sec-websocket-protocol") => {
                    found.invalid_protocol |= !list_all_tokens(raw);
                }
                _ => {}
            }
        }
        found
    }

    /// Records a header that may appear once.
    fn once(
        &mut self,
        value: &'a [u8],
        slot: fn(&mut Self) -> &mut Option<&'a [u8]>,
        duplicate: u8,
    ) {
        if slot(self).replace(value).is_some() {
            self.duplicate |= duplicate;
        }
    }
}

/// A request-target split for a WebSocket (RFC 7230 §5.3, RFC 6455 §3).
struct Target<'a> {
    authority: Option<&'a str>,
    path: &'a str,
    query: Option<&'a str>,
}

/// Splits origin-form `/path?query` or absolute-form `scheme://authority/path?query` with an
/// `http`, `https`, `ws` or `wss` scheme. Fragments are not allowed (RFC 6455 §3).
fn split_target(target: &str) -> Option<Target<'_>> {
    if target.contains('#') {
        return None;
    }
    let (authority, path_and_query) = if target.starts_with('/') {
        (None, target)
    } else {
        let (scheme, rest) = target.split_once("://")?;
        if !["http", "https", "ws", "wss"]
            .iter()
            .any(|s| s.eq_ignore_ascii_case(scheme))
        {
            return None;
        }
        let end = rest.find(['/', '?']).unwrap_or(rest.len());
        let (authority, path_and_query) = rest.split_at_checked(end)?;
        // `parse_authority` also refuses userinfo (RFC 7230 §2.7.1).
        parse_authority(authority.as_bytes())?;
        (Some(authority), path_and_query)
    };
    let (path, query) = match path_and_query.split_once('?') {
        Some((path, query)) => (path, Some(query)),
        None => (path_and_query, None),
    };
    // An absolute-form target may omit the path (RFC 7230 §5.3.2).
    let path = if path.is_empty() { "/" } else { path };
    Some(Target {
        authority,
        path,
        query,
    })
}

/// Writes the `101 Switching Protocols` response (RFC 6455 §4.2.2 point 5) for the client's
/// `key`, with `Sec-WebSocket-Protocol` when `protocol` is chosen and the caller's extra
/// `headers` (e.g. `Set-Cookie`, or `Sec-WebSocket-Extensions` when the caller implements an
/// extension).
///
/// `protocol` must be a token and the extra headers must not hold line breaks or repeat the
/// handshake's own headers; on any error nothing is written.
pub fn write_accept_response<B: Buffer + ?Sized>(
    key: &[u8],
    protocol: Option<&str>,
    headers: &[Header<'_>],
    out: &mut B,
) -> Result<(), WriteError> {
    if protocol.is_some_and(|p| !is_token(p.as_bytes())) {
        return Err(WriteError::InvalidProtocol);
    }
    check_extra_headers(
        headers,
        &[
            "upgrade",
            "connection",
            "sec-websocket-accept",
            "sec-websocket-protocol",
            "content-length",
            "transfer-encoding",
        ],
    )?;
    let accept = accept_key(key);
    write_all(out, |s: &mut dyn Sink| {
        s.put(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n");
        put_header(s, b"Sec-WebSocket-Accept", &accept);
        put_protocols_and_end(s, protocol.as_slice(), headers);
    })?;
    Ok(())
}

/// Writes a complete error response for `status` (a [`StatusCode`], or a [`HandshakeError`] or
/// [`ParseError`] for their status): status line, `Content-Type: text/plain`,
/// `Content-Length`, `Connection: close` and a body of the reason phrase and a newline.
///
/// A 405 carries `Allow: GET` (RFC 7231 §6.5.5); a 426 carries `Upgrade: websocket`
/// (RFC 7231 §6.5.15, so `Connection` also lists `Upgrade`, RFC 7230 §6.7) and
/// `Sec-WebSocket-Version: 13` (RFC 6455 §4.4). Close the connection once it is sent.
pub fn write_error_response<B: Buffer + ?Sized>(
    status: impl Into<StatusCode>,
    out: &mut B,
) -> Result<(), BufferFull> {
    write_response(status.into(), None, out)
}

/// Writes a complete error response like [`write_error_response`], with the caller's `body`
/// (sent as `text/plain; charset=utf-8`) instead of the reason phrase, e.g. an application's
/// explanation of a 401. An empty body sends the reason phrase.
pub fn write_error_response_with_body<B: Buffer + ?Sized>(
    status: StatusCode,
    body: &[u8],
    out: &mut B,
) -> Result<(), BufferFull> {
    write_response(status, (!body.is_empty()).then_some(body), out)
}

fn write_response<B: Buffer + ?Sized>(
    status: StatusCode,
    body: Option<&[u8]>,
    out: &mut B,
) -> Result<(), BufferFull> {
    let reason = status.reason_phrase().as_bytes();
    let code = Decimal::new(usize::from(status.as_u16()));
    let length = Decimal::new(body.map_or(reason.len() + 1, <[u8]>::len));
    write_all(out, |s: &mut dyn Sink| {
        s.put(b"HTTP/1.1 ");
        s.put(code.as_bytes());
        s.put(b" ");
        s.put(reason);
        s.put(b"\r\n");
        match status {
            StatusCode::METHOD_NOT_ALLOWED => {
                s.put(b"Allow: GET\r\nConnection: close\r\n");
            }
            StatusCode::UPGRADE_REQUIRED => s.put(
                b"Upgrade: websocket\r\nSec-WebSocket-Version: 13\r\nConnection: Upgrade, close\r\n",
            ),
            _ => s.put(b"Connection: close\r\n"),
        }
        match body {
            Some(_) => s.put(b"Content-Type: text/plain; charset=utf-8\r\n"),
            None => s.put(b"Content-Type: text/plain\r\n"),
        }
        put_header(s, b"Content-Length", length.as_bytes());
        s.put(b"\r\n");
        match body {
            Some(body) => s.put(body),
            None => {
                s.put(reason);
                s.put(b"\n");
            }
        }
    })
}
