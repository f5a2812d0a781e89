//! Client side: writing the upgrade request (RFC 6455 §4.1) and validating the response.

use core::fmt;

use crate::Buffer;

use super::extensions::{
    DeflateOffer, ExtensionError, PerMessageDeflate, validate_deflate_response,
};
use super::head::{Header, Headers, ParseError, Scanner, is_token, list_contains, parse_version};
use super::matching::{is_valid_origin, parse_authority};
use super::request::HttpVersion;
use super::write::{
    Sink, WriteError, check_extra_headers, put_header, put_protocols_and_end, write_all,
};
use super::{Limits, StatusCode, accept_key, base64_encode, is_valid_key};

/// The `Sec-WebSocket-Key` for a 16-byte nonce, which must be freshly random for each
/// connection (RFC 6455 §4.1 point 7). The crate has no RNG: the caller supplies the bytes.
pub fn encode_key(nonce: &[u8; 16]) -> [u8; 24] {
    let mut out = [0; 24];
    base64_encode(nonce, &mut out);
    out
}

/// A client's upgrade request (RFC 6455 §4.1), to [`write`](Self::write).
#[derive(Debug, Clone, Copy)]
pub struct ClientRequest<'a> {
    host: &'a str,
    path: &'a str,
    origin: Option<&'a str>,
    protocols: &'a [&'a str],
    headers: &'a [Header<'a>],
    deflate: Option<DeflateOffer>,
}

impl<'a> ClientRequest<'a> {
    /// A request for `path` (path and query, e.g. `/chat?room=1`) on `host` (`host[:port]`,
    /// the port omitted when it is the scheme's default; RFC 6455 §4.1 points 3 and 4).
    pub const fn new(host: &'a str, path: &'a str) -> Self {
        Self {
            host,
            path,
            origin: None,
            protocols: &[],
            headers: &[],
            deflate: None,
        }
    }

    /// Offers `permessage-deflate` with these parameters (RFC 7692 §5); check the answer with
    /// [`Response::validate_deflate`].
    pub const fn permessage_deflate(self, offer: DeflateOffer) -> Self {
        Self {
            deflate: Some(offer),
            ..self
        }
    }

    /// Sends `Origin` (RFC 6455 §4.1 point 8): `scheme://host[:port]` or `null`.
    pub const fn origin(self, origin: &'a str) -> Self {
        Self {
            origin: Some(origin),
            ..self
        }
    }

    /// Offers subprotocols, most preferred first (RFC 6455 §4.1 point 10): distinct tokens.
    pub const fn protocols(self, protocols: &'a [&'a str]) -> Self {
        Self { protocols, ..self }
    }

    /// Sends extra headers, e.g. `Authorization` or `Cookie`. The handshake's own headers may
    /// not be among them.
    pub const fn headers(self, headers: &'a [Header<'a>]) -> Self {
        Self { headers, ..self }
    }

    /// Writes the request with `key` from [`encode_key`]. Every part is checked first, so
    /// nothing can inject header lines; on any error nothing is written.
    pub fn write<B: Buffer + ?Sized>(&self, key: &[u8; 24], out: &mut B) -> Result<(), WriteError> {
        if !is_valid_key(key) {
            return Err(WriteError::InvalidKey);
        }
        if parse_authority(self.host.as_bytes()).is_none() {
            return Err(WriteError::InvalidHost);
        }
        // origin-form (RFC 7230 §5.3.1), no fragment (RFC 6455 §3).
        let path = self.path.as_bytes();
        if !path.starts_with(b"/") || !path.iter().all(|&b| b.is_ascii_graphic() && b != b'#') {
            return Err(WriteError::InvalidPath);
        }
        if self.origin.is_some_and(|o| !is_valid_origin(o.as_bytes())) {
            return Err(WriteError::InvalidOrigin);
        }
        for (i, p) in self.protocols.iter().enumerate() {
            let repeated = self.protocols.get(..i).unwrap_or_default().contains(p);
            if !is_token(p.as_bytes()) || repeated {
                return Err(WriteError::InvalidProtocol);
            }
        }
        check_extra_headers(
            self.headers,
            &[
                "host",
                "upgrade",
                "connection",
                "sec-websocket-key",
                "sec-websocket-version",
                "sec-websocket-protocol",
                "sec-websocket-extensions",
                "origin",
                "content-length",
                "transfer-encoding",
            ],
        )?;
        write_all(out, |s: &mut dyn Sink| {
            s.put(b"GET ");
            s.put(path);
            s.put(b" HTTP/1.1\r\n");
            put_header(s, b"Host", self.host.as_bytes());
            s.put(b"Upgrade: websocket\r\nConnection: Upgrade\r\n");
            put_header(s, b"Sec-WebSocket-Key", key);
            s.put(b"Sec-WebSocket-Version: 13\r\n");
            if let Some(origin) = self.origin {
                put_header(s, b"Origin", origin.as_bytes());
            }
            if let Some(offer) = &self.deflate {
                put_header(s, b"Sec-WebSocket-Extensions", offer.value().as_bytes());
            }
            put_protocols_and_end(s, self.protocols, self.headers);
        })?;
        Ok(())
    }
}

/// Why the server's response does not complete the handshake (RFC 6455 §4.1). The client
/// must fail the connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ClientError {
    /// The head is malformed or too large.
    Parse(ParseError),
    /// The status is not 101 (RFC 6455 §4.1: handled per HTTP, e.g. 401 or a redirect).
    Status(StatusCode),
    /// A 101 with a version other than `HTTP/1.1`.
    UnsupportedHttpVersion,
    /// `Upgrade` lacks `websocket` (RFC 6455 §4.1, client step 2).
    MissingUpgrade,
    /// `Connection` lacks `upgrade` (RFC 6455 §4.1, client step 3).
    MissingConnectionUpgrade,
    /// `Sec-WebSocket-Accept` is missing, repeated or wrong for our key (RFC 6455 §4.1,
    /// client step 4).
    InvalidAccept,
    /// The server accepted an extension although none was offered (RFC 6455 §4.1, client
    /// step 5).
    UnexpectedExtension,
    /// The server chose a subprotocol that was not offered, or more than one (RFC 6455 §4.1,
    /// client step 6).
    UnexpectedProtocol,
    /// The server's `permessage-deflate` answer does not fit the offer (RFC 7692 §7).
    Extension(ExtensionError),
}

impl fmt::Display for ClientError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Parse(e) => e.fmt(f),
            Self::Status(status) => write!(f, "server answered {status}"),
            Self::UnsupportedHttpVersion => f.write_str("HTTP version is not 1.1"),
            Self::MissingUpgrade => f.write_str("Upgrade header lacks websocket"),
            Self::MissingConnectionUpgrade => f.write_str("Connection header lacks upgrade"),
            Self::InvalidAccept => f.write_str("invalid Sec-WebSocket-Accept header"),
            Self::UnexpectedExtension => f.write_str("extension not offered"),
            Self::UnexpectedProtocol => f.write_str("subprotocol not offered"),
            Self::Extension(e) => write!(f, "permessage-deflate answer: {e}"),
        }
    }
}

impl core::error::Error for ClientError {
    fn source(&self) -> Option<&(dyn core::error::Error + 'static)> {
        match self {
            Self::Parse(e) => Some(e),
            Self::Extension(e) => Some(e),
            _ => None,
        }
    }
}

impl From<ParseError> for ClientError {
    fn from(e: ParseError) -> Self {
        Self::Parse(e)
    }
}

/// Parses a response head incrementally, like [`RequestParser`](super::RequestParser): append
/// received bytes to a buffer and call [`parse`](Self::parse) with all of it after each read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ResponseParser {
    scanner: Scanner,
    limits: Limits,
}

/// The outcome of [`ResponseParser::parse`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResponseStatus<'a> {
    /// The head is incomplete: read more and call again.
    Partial,
    /// The head is complete.
    Complete {
        /// Bytes of the head, blank line included. Bytes after them are the server's first
        /// WebSocket frames.
        len: usize,
        /// The response, borrowed from the buffer.
        response: Response<'a>,
    },
}

impl ResponseParser {
    /// A parser with the default [`Limits`].
    pub const fn new() -> Self {
        Self::with_limits(Limits::DEFAULT)
    }

    /// A parser with the given limits.
    pub const fn with_limits(limits: Limits) -> Self {
        Self {
            scanner: Scanner::new(),
            limits,
        }
    }

    /// Forgets the bytes seen, to parse another head.
    pub fn reset(&mut self) {
        self.scanner = Scanner::new();
    }

    /// Parses `buf`, the bytes received so far; see
    /// [`RequestParser::parse`](super::RequestParser::parse). The status line must be
    /// `HTTP-version SP 3DIGIT [SP reason-phrase]` (RFC 7230 §3.1.2).
    pub fn parse<'b>(&mut self, buf: &'b [u8]) -> Result<ResponseStatus<'b>, ParseError> {
        let Some(head) = self
            .scanner
            .scan(buf, &self.limits, |line| split_status_line(line).is_some())?
        else {
            return Ok(ResponseStatus::Partial);
        };
        let (version, status, reason) =
            split_status_line(head.start_line).ok_or(ParseError::InvalidStartLine)?;
        Ok(ResponseStatus::Complete {
            len: head.len,
            response: Response {
                version,
                status,
                reason,
                headers: head.headers,
            },
        })
    }
}

impl Default for ResponseParser {
    fn default() -> Self {
        Self::new()
    }
}

/// A response head, borrowed from the caller's buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Response<'a> {
    version: HttpVersion,
    status: StatusCode,
    reason: &'a [u8],
    headers: Headers<'a>,
}

impl<'a> Response<'a> {
    /// The HTTP version.
    pub fn version(&self) -> HttpVersion {
        self.version
    }

    /// The status code.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The reason phrase as sent (possibly empty).
    pub fn reason(&self) -> &'a [u8] {
        self.reason
    }

    /// All header lines.
    pub fn headers(&self) -> Headers<'a> {
        self.headers
    }

    /// Checks that this response completes the handshake for our `key` (as written by
    /// [`ClientRequest::write`]) and the `offered` subprotocols (RFC 6455 §4.1, client steps
    /// 1–6). Returns the subprotocol the server chose, if any.
    ///
    /// No extensions are offered, so any `Sec-WebSocket-Extensions` is refused.
    pub fn validate(&self, key: &[u8], offered: &[&str]) -> Result<Option<&'a str>, ClientError> {
        self.check(key, offered, None).map(|(protocol, _)| protocol)
    }

    /// As [`validate`](Self::validate), for a request that offered `permessage-deflate`
    /// ([`ClientRequest::permessage_deflate`]): also returns what the server agreed to
    /// (`None`: it declined, so no message is compressed), after checking its answer against
    /// `offer` (RFC 7692 §7).
    pub fn validate_deflate(
        &self,
        key: &[u8],
        offered: &[&str],
        offer: &DeflateOffer,
    ) -> Result<(Option<&'a str>, Option<PerMessageDeflate>), ClientError> {
        self.check(key, offered, Some(offer))
    }

    fn check(
        &self,
        key: &[u8],
        offered: &[&str],
        deflate: Option<&DeflateOffer>,
    ) -> Result<(Option<&'a str>, Option<PerMessageDeflate>), ClientError> {
        if self.status != StatusCode::SWITCHING_PROTOCOLS {
            return Err(ClientError::Status(self.status));
        }
        if self.version != HttpVersion::HTTP_11 {
            return Err(ClientError::UnsupportedHttpVersion);
        }
        let expected = accept_key(key);
        let (mut upgrade, mut connection, mut accepts, mut accepted) = (false, false, 0, false);
        let mut protocol: Option<&'a [u8]> = None;
        let mut protocols = 0;
        for Header { name, value } in self.headers {
            let is = |expected: &str| name.eq_ignore_ascii_case(expected.as_bytes());
            if is("upgrade") {
                upgrade |= list_contains(value, b"websocket");
            } else if is("connection") {
                connection |= list_contains(value, b"upgrade");
            } else if is("sec-websocket-accept") {
                accepts += 1;
                accepted = value == expected;
            } else if is("sec-websocket-extensions") && deflate.is_none() {
                // An empty list accepts nothing (RFC 7230 §7).
                if value.iter().any(|&b| !matches!(b, b',' | b' ' | b'\t')) {
                    return Err(ClientError::UnexpectedExtension);
                }
            } else if is("sec-websocket-protocol") {
                protocols += 1;
                protocol = Some(value);
            }
        }
        if !upgrade {
            return Err(ClientError::MissingUpgrade);
        }
        if !connection {
            return Err(ClientError::MissingConnectionUpgrade);
        }
        if accepts != 1 || !accepted {
            return Err(ClientError::InvalidAccept);
        }
        let agreed = match deflate {
            Some(offer) => {
                let lines = self.headers.get_all("sec-websocket-extensions");
                validate_deflate_response(lines, offer).map_err(ClientError::Extension)?
            }
            None => None,
        };
        let protocol = match protocol {
            None => Ok(None),
            // One line holding exactly one of the offered values (compared exactly, as the
            // server must echo it).
            Some(chosen) if protocols == 1 => offered
                .iter()
                .find(|p| p.as_bytes() == chosen)
                .map(|_| core::str::from_utf8(chosen).ok())
                .ok_or(ClientError::UnexpectedProtocol),
            Some(_) => Err(ClientError::UnexpectedProtocol),
        }?;
        Ok((protocol, agreed))
    }
}

/// `HTTP-version SP 3DIGIT [SP reason-phrase]` (RFC 7230 §3.1.2). The space before an empty
/// reason phrase is optional here, as some servers omit it.
fn split_status_line(line: &[u8]) -> Option<(HttpVersion, StatusCode, &[u8])> {
    let (version, rest) = line.split_at_checked(8)?;
    let (major, minor) = parse_version(version)?;
    let [
        b' ',
        a @ b'1'..=b'9',
        b @ b'0'..=b'9',
        c @ b'0'..=b'9',
        rest @ ..,
    ] = rest
    else {
        return None;
    };
    let reason = match rest {
        [] => rest,
        [b' ', reason @ ..] => reason,
        _ => return None,
    };
    let code = u16::from(a - b'0') * 100 + u16::from(b - b'0') * 10 + u16::from(c - b'0');
    Some((HttpVersion { major, minor }, StatusCode::new(code)?, reason))
}
