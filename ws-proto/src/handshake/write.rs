//! All-or-nothing writing of a head into a caller's [`Buffer`].

use core::fmt;

use crate::{Buffer, BufferFull};

use super::head::{Header, is_field_value, is_token};

/// Why a handshake message was not written. Nothing was appended to the buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum WriteError {
    /// The buffer cannot take the whole message.
    BufferFull,
    /// A subprotocol is not a token or is repeated (RFC 6455 §4.1 point 10), or the server
    /// chose one the client did not offer (§4.2.2 point 5.4).
    InvalidProtocol,
    /// An extra header's name is not a token or its value holds a control character such as
    /// CR or LF, which could inject lines (RFC 7230 §3.2).
    InvalidHeader,
    /// An extra header would duplicate or contradict one the handshake writes itself.
    ReservedHeader,
    /// The host is not `host[:port]` (RFC 7230 §5.4).
    InvalidHost,
    /// The path does not start with `/`, is not visible ASCII, or holds a fragment
    /// (RFC 6455 §3, RFC 7230 §5.3.1).
    InvalidPath,
    /// The origin is not `scheme://host[:port]` or `null` (RFC 6454 §6.2).
    InvalidOrigin,
    /// The key is not the base64 of 16 bytes (RFC 6455 §4.1 point 7).
    InvalidKey,
}

impl fmt::Display for WriteError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::BufferFull => "buffer full",
            Self::InvalidProtocol => "invalid subprotocol",
            Self::InvalidHeader => "invalid header",
            Self::ReservedHeader => "header reserved for the handshake",
            Self::InvalidHost => "invalid host",
            Self::InvalidPath => "invalid path",
            Self::InvalidOrigin => "invalid origin",
            Self::InvalidKey => "invalid key",
        })
    }
}

impl core::error::Error for WriteError {}

impl From<BufferFull> for WriteError {
    fn from(_: BufferFull) -> Self {
        Self::BufferFull
    }
}

/// Where a message's pieces go: first a counter, then the buffer.
pub(super) trait Sink {
    fn put(&mut self, bytes: &[u8]);
}

struct Count(usize);

impl Sink for Count {
    fn put(&mut self, bytes: &[u8]) {
        self.0 = self.0.saturating_add(bytes.len());
    }
}

struct Append<'o, B: Buffer + ?Sized> {
    out: &'o mut B,
    failed: bool,
}

impl<B: Buffer + ?Sized> Sink for Append<'_, B> {
    fn put(&mut self, bytes: &[u8]) {
        if !self.failed && self.out.try_extend_from_slice(bytes).is_err() {
            self.failed = true;
        }
    }
}

/// Runs `emit` once to measure the message and once to write it, so that nothing is written
/// unless all of it fits.
pub(super) fn write_all<B: Buffer + ?Sized>(
    out: &mut B,
    emit: impl Fn(&mut dyn Sink),
) -> Result<(), BufferFull> {
    let mut count = Count(0);
    emit(&mut count);
    if out.remaining_capacity() < count.0 {
        return Err(BufferFull);
    }
    let mut append = Append { out, failed: false };
    emit(&mut append);
    if append.failed {
        Err(BufferFull)
    } else {
        Ok(())
    }
}

/// A number's decimal digits, without allocating.
pub(super) struct Decimal {
    digits: [u8; 20],
    start: usize,
}

impl Decimal {
    pub(super) fn new(mut n: usize) -> Self {
        let mut digits = [b'0'; 20];
        let mut start = digits.len();
        loop {
            start -= 1;
            if let Some(d) = digits.get_mut(start) {
                *d = b'0' + (n % 10) as u8;
            }
            n /= 10;
            if n == 0 || start == 0 {
                break;
            }
        }
        Self { digits, start }
    }

    pub(super) fn as_bytes(&self) -> &[u8] {
        self.digits.get(self.start..).unwrap_or_default()
    }
}

/// `name: value\r\n`.
pub(super) fn put_header(sink: &mut dyn Sink, name: &[u8], value: &[u8]) {
    sink.put(name);
    sink.put(b": ");
    sink.put(value);
    sink.put(b"\r\n");
}

/// How both sides end a head: `Sec-WebSocket-Protocol` with `protocols` on one line
/// (RFC 7230 §7 list syntax; none at all when empty), the caller's extra `headers`, then the
/// blank line. One writer, so that the request and the `101` cannot drift apart in how they
/// end.
pub(super) fn put_protocols_and_end(
    sink: &mut dyn Sink,
    protocols: &[&str],
    headers: &[Header<'_>],
) {
    if let [first, rest @ ..] = protocols {
        sink.put(b"Sec-WebSocket-Protocol: ");
        sink.put(first.as_bytes());
        for p in rest {
            sink.put(b", ");
            sink.put(p.as_bytes());
        }
        sink.put(b"\r\n");
    }
    for h in headers {
        put_header(sink, h.name, h.value);
    }
    sink.put(b"\r\n");
}

/// Checks caller-supplied headers: token names, injection-free values, none of `reserved`.
pub(super) fn check_extra_headers(
    headers: &[Header<'_>],
    reserved: &[&str],
) -> Result<(), WriteError> {
    for h in headers {
        if !is_token(h.name) || !is_field_value(h.value) {
            return Err(WriteError::InvalidHeader);
        }
        if reserved
            .iter()
            .any(|r| r.as_bytes().eq_ignore_ascii_case(h.name))
        {
            return Err(WriteError::ReservedHeader);
        }
    }
    Ok(())
}
