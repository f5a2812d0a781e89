//! The incremental request parser (RFC 7230 §3).

use core::fmt;

use super::Limits;
use super::head::{Headers, ParseError, Scanner, is_token, parse_version};

/// An HTTP version (RFC 7230 §2.6).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct HttpVersion {
    /// The digit before the dot.
    pub major: u8,
    /// The digit after the dot.
    pub minor: u8,
}

impl HttpVersion {
    /// `HTTP/1.1`, the only version a WebSocket handshake uses (RFC 6455 §4.1).
    pub const HTTP_11: Self = Self { major: 1, minor: 1 };
}

impl fmt::Display for HttpVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "HTTP/{}.{}", self.major, self.minor)
    }
}

/// Parses a request head incrementally, like `httparse`: the caller appends received bytes to
/// its own buffer and calls [`parse`](Self::parse) with the whole buffer after each read.
///
/// The parser remembers how far it scanned (a few integers), so the total work is linear in
/// the head's size however the bytes are split, and the [`Limits`] fail the parse as soon as
/// they are passed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RequestParser {
    scanner: Scanner,
    limits: Limits,
}

/// The outcome of [`RequestParser::parse`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RequestStatus<'a> {
    /// The head is incomplete: read more and call again.
    Partial,
    /// The head is complete.
    Complete {
        /// Bytes of the head, blank line included. Bytes after them are not part of the
        /// request: they are the client's first WebSocket frames.
        len: usize,
        /// The request, borrowed from the buffer.
        request: Request<'a>,
    },
}

impl RequestParser {
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

    /// The limits in force.
    pub const fn limits(&self) -> Limits {
        self.limits
    }

    /// Forgets the bytes seen, to parse another head.
    pub fn reset(&mut self) {
        self.scanner = Scanner::new();
    }

    /// Parses `buf`, the bytes received so far. Each call must pass the bytes of the previous
    /// call followed by any new ones (a shorter buffer restarts the parse).
    ///
    /// Lines end in CRLF; a bare LF is accepted too (RFC 7230 §3.5). The request line must be
    /// `method SP request-target SP HTTP-version` with single spaces (RFC 7230 §3.1.1), the
    /// target visible ASCII.
    pub fn parse<'b>(&mut self, buf: &'b [u8]) -> Result<RequestStatus<'b>, ParseError> {
        let Some(head) = self
            .scanner
            .scan(buf, &self.limits, |line| split_request_line(line).is_some())?
        else {
            return Ok(RequestStatus::Partial);
        };
        let (method, target, version) =
            split_request_line(head.start_line).ok_or(ParseError::InvalidStartLine)?;
        // Both are ASCII, so these conversions cannot fail.
        let method = core::str::from_utf8(method).map_err(|_| ParseError::InvalidStartLine)?;
        let target = core::str::from_utf8(target).map_err(|_| ParseError::InvalidStartLine)?;
        Ok(RequestStatus::Complete {
            len: head.len,
            request: Request {
                method,
                target,
                version,
                headers: head.headers,
            },
        })
    }
}

impl Default for RequestParser {
    fn default() -> Self {
        Self::new()
    }
}

/// A request head, borrowed from the caller's buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Request<'a> {
    method: &'a str,
    target: &'a str,
    version: HttpVersion,
    headers: Headers<'a>,
}

impl<'a> Request<'a> {
    /// The method, e.g. `GET` (case-sensitive, RFC 7230 §3.1.1).
    pub fn method(&self) -> &'a str {
        self.method
    }

    /// The request-target as sent (RFC 7230 §5.3).
    pub fn target(&self) -> &'a str {
        self.target
    }

    /// The HTTP version.
    pub fn version(&self) -> HttpVersion {
        self.version
    }

    /// All header lines.
    pub fn headers(&self) -> Headers<'a> {
        self.headers
    }
}

/// `method SP request-target SP HTTP-version` (RFC 7230 §3.1.1), checked: a token method and
/// a visible-ASCII target.
fn split_request_line(line: &[u8]) -> Option<(&[u8], &[u8], HttpVersion)> {
    let sp = line.iter().position(|&b| b == b' ')?;
    let method = line.get(..sp)?;
    let rest = line.get(sp + 1..)?;
    let sp = rest.iter().position(|&b| b == b' ')?;
    let target = rest.get(..sp)?;
    let (major, minor) = parse_version(rest.get(sp + 1..)?)?;
    let valid = is_token(method)
        && !target.is_empty()
        && target.iter().fold(true, |ok, b| ok & b.is_ascii_graphic());
    valid.then_some((method, target, HttpVersion { major, minor }))
}
