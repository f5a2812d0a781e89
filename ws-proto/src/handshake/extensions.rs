//! `Sec-WebSocket-Extensions` (RFC 6455 §9.1) and the negotiation of `permessage-deflate`
//! (RFC 7692 §5–§7), for both roles. Allocation-free: offers and responses are read from the
//! header values in place, and the accepted parameters are a small `Copy` value.
//!
//! # Server
//!
//! [`negotiate_deflate`] takes the request's extension header values
//! ([`UpgradeRequest::extensions`](super::UpgradeRequest::extensions)) and the server's
//! [`DeflatePolicy`], and accepts the first offer it can (RFC 7692 §5: offers are in the
//! client's order of preference). An offer with an unknown parameter, a repeated one or a bad
//! value is declined, not fatal (§7): the next offer, or no compression, is used.
//! [`PerMessageDeflate::write_response`] writes the accepted parameters as the response
//! header's value.
//!
//! # Client
//!
//! [`DeflateOffer::write`] writes an offer; [`validate_deflate_response`] checks what the
//! server answered (§7: a client fails the connection on anything it did not ask for).

use core::fmt;

use super::head::is_token;
use crate::buffer::Buffer;

/// The extension's registered name.
pub const PERMESSAGE_DEFLATE: &str = "permessage-deflate";

/// The LZ77 window when no `*_max_window_bits` limits it: 2^15 bytes.
pub const MAX_WINDOW_BITS: u8 = 15;
/// The smallest window a `*_max_window_bits` may ask for (RFC 7692 §7.1.2.1).
pub const MIN_WINDOW_BITS: u8 = 8;

/// `permessage-deflate` as agreed: how each side compresses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PerMessageDeflate {
    /// The server starts every message with an empty LZ77 window (it keeps no compression
    /// state between messages).
    pub server_no_context_takeover: bool,
    /// The client starts every message with an empty window, so the server's decompressor
    /// needs no state between messages either.
    pub client_no_context_takeover: bool,
    /// The server's window is at most 2^this bytes (8..=15).
    pub server_max_window_bits: u8,
    /// The client's window is at most 2^this bytes (8..=15).
    pub client_max_window_bits: u8,
    /// The offer named a server window, so the response states the one agreed even when it
    /// is 15 (RFC 7692 §7.1.2.1: a server accepts that parameter by answering it).
    pub state_server_max_window_bits: bool,
}

impl PerMessageDeflate {
    /// Writes the parameters as a `Sec-WebSocket-Extensions` value (without the header name),
    /// e.g. `permessage-deflate; server_no_context_takeover; client_no_context_takeover`.
    /// Window sizes are written only when below 15, where they limit something.
    pub fn write_response<B: Buffer + ?Sized>(&self, out: &mut B) -> Result<(), WriteFull> {
        let mut value = ValueWriter::naming(
            self.server_no_context_takeover,
            self.client_no_context_takeover,
        );
        if self.server_max_window_bits < MAX_WINDOW_BITS || self.state_server_max_window_bits {
            value.put(b"; server_max_window_bits=");
            value.put_bits(self.server_max_window_bits);
        }
        if self.client_max_window_bits < MAX_WINDOW_BITS {
            value.put(b"; client_max_window_bits=");
            value.put_bits(self.client_max_window_bits);
        }
        out.try_extend_from_slice(value.as_bytes())
            .map_err(|_| WriteFull)
    }
}

/// The output buffer had no room; nothing was written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WriteFull;

impl fmt::Display for WriteFull {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the output buffer is full")
    }
}

impl core::error::Error for WriteFull {}

/// The longest value this module writes (every parameter, two-digit windows).
const MAX_VALUE_LEN: usize = 128;

/// A value assembled on the stack, so that a buffer gets all of it or nothing.
pub(super) struct ValueWriter {
    bytes: [u8; MAX_VALUE_LEN],
    len: usize,
}

impl Default for ValueWriter {
    fn default() -> Self {
        Self {
            bytes: [0; MAX_VALUE_LEN],
            len: 0,
        }
    }
}

impl ValueWriter {
    /// `permessage-deflate` and the context-takeover flags that are set.
    fn naming(server_no_context_takeover: bool, client_no_context_takeover: bool) -> Self {
        let mut value = Self::default();
        value.put(PERMESSAGE_DEFLATE.as_bytes());
        if server_no_context_takeover {
            value.put(b"; server_no_context_takeover");
        }
        if client_no_context_takeover {
            value.put(b"; client_no_context_takeover");
        }
        value
    }

    fn put(&mut self, s: &[u8]) {
        let end = (self.len + s.len()).min(MAX_VALUE_LEN);
        let n = end - self.len;
        self.bytes[self.len..end].copy_from_slice(&s[..n]);
        self.len = end;
    }

    fn put_bits(&mut self, bits: u8) {
        if bits >= 10 {
            self.put(&[b'0' + bits / 10]);
        }
        self.put(&[b'0' + bits % 10]);
    }

    pub(super) fn as_bytes(&self) -> &[u8] {
        &self.bytes[..self.len]
    }
}

/// What a server is willing to agree to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeflatePolicy {
    /// Always agree to `server_no_context_takeover` (no compression state kept per
    /// connection between messages).
    pub server_no_context_takeover: bool,
    /// Always ask for `client_no_context_takeover` (no decompression state kept per
    /// connection between messages). RFC 7692 §7.1.1.2 lets a server require it.
    pub client_no_context_takeover: bool,
    /// The largest window the server compresses with (8..=15).
    pub server_max_window_bits: u8,
    /// The largest window the client may compress with, when the client says it can be
    /// limited (8..=15).
    pub client_max_window_bits: u8,
}

impl Default for DeflatePolicy {
    /// No context takeover either way (an idle connection holds no zlib state), full windows.
    fn default() -> Self {
        Self {
            server_no_context_takeover: true,
            client_no_context_takeover: true,
            server_max_window_bits: MAX_WINDOW_BITS,
            client_max_window_bits: MAX_WINDOW_BITS,
        }
    }
}

/// Why an offer or a response is not valid `permessage-deflate` (RFC 7692 §7).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ExtensionError {
    /// A parameter the extension does not define (or one only a server may send, in an offer).
    UnknownParameter,
    /// A parameter given twice.
    DuplicateParameter,
    /// A parameter without the value it needs, with a value it must not have, or with a value
    /// out of range (window bits are 8..=15, without leading zeros).
    InvalidValue,
    /// The header value is not a list of `name *( ";" param )` (RFC 6455 §9.1).
    Syntax,
    /// (Client) the server answered with an extension or a parameter that was not offered, or
    /// with a window larger than the one offered.
    NotOffered,
    /// (Client) the server accepted `permessage-deflate` more than once.
    Repeated,
}

impl fmt::Display for ExtensionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::UnknownParameter => "unknown permessage-deflate parameter",
            Self::DuplicateParameter => "repeated permessage-deflate parameter",
            Self::InvalidValue => "invalid permessage-deflate parameter value",
            Self::Syntax => "malformed Sec-WebSocket-Extensions value",
            Self::NotOffered => {
                "the server accepted an extension or parameter that was not offered"
            }
            Self::Repeated => "the server accepted permessage-deflate twice",
        })
    }
}

impl core::error::Error for ExtensionError {}

/// One element of a `Sec-WebSocket-Extensions` list: a name and its raw parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Extension<'a> {
    /// The extension's name, e.g. `permessage-deflate`.
    pub name: &'a [u8],
    /// Everything after the name (`; a; b=1`), parsed by [`params`](Self::params).
    params: &'a [u8],
}

/// One parameter of an [`Extension`]: a name and, if given, its value (a quoted string's
/// quotes removed).
pub type Param<'a> = (&'a [u8], Option<&'a [u8]>);

impl<'a> Extension<'a> {
    /// The parameters in order; an `Err` where one is malformed.
    pub fn params(&self) -> impl Iterator<Item = Result<Param<'a>, ExtensionError>> + 'a {
        split_outside_quotes(self.params, b';')
            .skip(1) // what precedes the first ';' is empty: the name was cut off
            .map(parse_param)
    }
}

/// The extensions listed in `values`, the header's lines in order (RFC 7230 §3.2.2: several
/// lines are one comma-separated list). An `Err` stands for an element that is not
/// `name *( ";" param )`; empty elements are skipped (RFC 7230 §7).
pub fn extensions<'a, I>(values: I) -> impl Iterator<Item = Result<Extension<'a>, ExtensionError>>
where
    I: IntoIterator<Item = &'a [u8]>,
{
    values
        .into_iter()
        .flat_map(|value| split_outside_quotes(value, b','))
        .filter(|element| !trim(element).is_empty())
        .map(|element| {
            let element = trim(element);
            let name_end = element
                .iter()
                .position(|&b| b == b';')
                .unwrap_or(element.len());
            let name = trim(&element[..name_end]);
            if !is_token(name) {
                return Err(ExtensionError::Syntax);
            }
            Ok(Extension {
                name,
                params: &element[name_end..],
            })
        })
}

/// A `permessage-deflate` offer as a client sends it, and as a server reads it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DeflateOffer {
    /// Asks the server to keep no compression state between messages.
    pub server_no_context_takeover: bool,
    /// Tells the server the client will keep no compression state between messages.
    pub client_no_context_takeover: bool,
    /// Asks the server for a window of at most 2^this bytes.
    pub server_max_window_bits: Option<u8>,
    /// `None`: not offered. `Some(None)`: the client can take a limit from the server.
    /// `Some(Some(n))`: the same, and it will use at most 2^n bytes anyway.
    pub client_max_window_bits: Option<Option<u8>>,
}

impl DeflateOffer {
    /// The offer browsers make: `permessage-deflate; client_max_window_bits`.
    pub const fn browser_like() -> Self {
        Self {
            server_no_context_takeover: false,
            client_no_context_takeover: false,
            server_max_window_bits: None,
            client_max_window_bits: Some(None),
        }
    }

    /// Reads the parameters of one `permessage-deflate` offer (RFC 7692 §7: unknown, repeated
    /// and invalid parameters make it one to decline).
    pub fn parse(extension: &Extension<'_>) -> Result<Self, ExtensionError> {
        let mut offer = Self::default();
        let mut seen = Seen::default();
        for param in extension.params() {
            let (name, value) = param?;
            match Key::of(name).ok_or(ExtensionError::UnknownParameter)? {
                Key::ServerNoContextTakeover => {
                    seen.mark(Key::ServerNoContextTakeover)?;
                    no_value(value)?;
                    offer.server_no_context_takeover = true;
                }
                Key::ClientNoContextTakeover => {
                    seen.mark(Key::ClientNoContextTakeover)?;
                    no_value(value)?;
                    offer.client_no_context_takeover = true;
                }
                Key::ServerMaxWindowBits => {
                    seen.mark(Key::ServerMaxWindowBits)?;
                    offer.server_max_window_bits =
                        Some(window_bits(value.ok_or(ExtensionError::InvalidValue)?)?);
                }
                Key::ClientMaxWindowBits => {
                    seen.mark(Key::ClientMaxWindowBits)?;
                    offer.client_max_window_bits = Some(value.map(window_bits).transpose()?);
                }
            }
        }
        Ok(offer)
    }

    /// Writes the offer as a `Sec-WebSocket-Extensions` value (without the header name).
    pub fn write<B: Buffer + ?Sized>(&self, out: &mut B) -> Result<(), WriteFull> {
        out.try_extend_from_slice(self.value().as_bytes())
            .map_err(|_| WriteFull)
    }

    /// The offer's header value.
    pub(super) fn value(&self) -> ValueWriter {
        let mut value = ValueWriter::naming(
            self.server_no_context_takeover,
            self.client_no_context_takeover,
        );
        if let Some(bits) = self.server_max_window_bits {
            value.put(b"; server_max_window_bits=");
            value.put_bits(bits.clamp(MIN_WINDOW_BITS, MAX_WINDOW_BITS));
        }
        match self.client_max_window_bits {
            None => {}
            Some(None) => value.put(b"; client_max_window_bits"),
            Some(Some(bits)) => {
                value.put(b"; client_max_window_bits=");
                value.put_bits(bits.clamp(MIN_WINDOW_BITS, MAX_WINDOW_BITS));
            }
        }
        value
    }

    /// What a server following `policy` answers to this offer, or `None` when it declines it.
    pub fn accept(&self, policy: &DeflatePolicy) -> Option<PerMessageDeflate> {
        let policy_server_bits = policy
            .server_max_window_bits
            .clamp(MIN_WINDOW_BITS, MAX_WINDOW_BITS);
        let server_max_window_bits = self
            .server_max_window_bits
            .map_or(policy_server_bits, |asked| asked.min(policy_server_bits));
        // A limit on the client is only possible where the client said it takes one.
        let client_max_window_bits = match self.client_max_window_bits {
            None => MAX_WINDOW_BITS,
            Some(asked) => asked
                .unwrap_or(MAX_WINDOW_BITS)
                .min(policy.client_max_window_bits)
                .clamp(MIN_WINDOW_BITS, MAX_WINDOW_BITS),
        };
        Some(PerMessageDeflate {
            // Asked for by the client, the server must agree (§7.1.1.1). A server window
            // below 15 is only ever used message by message (see the `deflate` codec), so
            // it comes with no context takeover too.
            server_no_context_takeover: self.server_no_context_takeover
                || policy.server_no_context_takeover
                || server_max_window_bits < MAX_WINDOW_BITS,
            client_no_context_takeover: self.client_no_context_takeover
                || policy.client_no_context_takeover,
            server_max_window_bits,
            client_max_window_bits,
            state_server_max_window_bits: self.server_max_window_bits.is_some(),
        })
    }
}

/// (Server) the first `permessage-deflate` offer in `values` (the request's
/// `Sec-WebSocket-Extensions` lines) that `policy` can accept, and the agreed parameters.
/// Malformed elements and offers are skipped (declined), as RFC 7692 §7 asks; `None` means
/// no compression, and the response carries no `Sec-WebSocket-Extensions`.
pub fn negotiate_deflate<'a, I>(values: I, policy: &DeflatePolicy) -> Option<PerMessageDeflate>
where
    I: IntoIterator<Item = &'a [u8]>,
{
    extensions(values)
        .filter_map(Result::ok)
        .filter(|e| e.name.eq_ignore_ascii_case(PERMESSAGE_DEFLATE.as_bytes()))
        .filter_map(|e| DeflateOffer::parse(&e).ok())
        .find_map(|offer| offer.accept(policy))
}

/// (Client) checks the server's `Sec-WebSocket-Extensions` lines against `offer` (RFC 7692
/// §7: any parameter not offered, any unknown one, a larger window or a second acceptance
/// fails the connection). `Ok(None)`: the server declined; no compression.
pub fn validate_deflate_response<'a, I>(
    values: I,
    offer: &DeflateOffer,
) -> Result<Option<PerMessageDeflate>, ExtensionError>
where
    I: IntoIterator<Item = &'a [u8]>,
{
    let mut agreed = None;
    for extension in extensions(values) {
        let extension = extension?;
        if !extension
            .name
            .eq_ignore_ascii_case(PERMESSAGE_DEFLATE.as_bytes())
        {
            return Err(ExtensionError::NotOffered);
        }
        if agreed.is_some() {
            return Err(ExtensionError::Repeated);
        }
        let answer = DeflateOffer::parse(&extension)?;
        let server_max_window_bits =
            match (answer.server_max_window_bits, offer.server_max_window_bits) {
                (Some(given), Some(asked)) if given > asked => {
                    return Err(ExtensionError::NotOffered);
                }
                (Some(given), _) => given,
                // Asked for but not answered: the server declined the limit (§7.1.2.1 lets it
                // only answer with the same or a smaller value, so accepting means answering).
                (None, Some(_)) => return Err(ExtensionError::NotOffered),
                (None, None) => MAX_WINDOW_BITS,
            };
        let client_max_window_bits =
            match (answer.client_max_window_bits, offer.client_max_window_bits) {
                (None, _) => offer
                    .client_max_window_bits
                    .flatten()
                    .unwrap_or(MAX_WINDOW_BITS),
                (Some(_), None) => return Err(ExtensionError::NotOffered),
                // A response must carry a value (§7.1.2.2).
                (Some(None), Some(_)) => return Err(ExtensionError::InvalidValue),
                (Some(Some(given)), Some(asked)) => {
                    if asked.is_some_and(|asked| given > asked) {
                        return Err(ExtensionError::NotOffered);
                    }
                    given
                }
            };
        agreed = Some(PerMessageDeflate {
            server_no_context_takeover: answer.server_no_context_takeover,
            client_no_context_takeover: answer.client_no_context_takeover
                || offer.client_no_context_takeover,
            server_max_window_bits,
            client_max_window_bits,
            state_server_max_window_bits: answer.server_max_window_bits.is_some(),
        });
    }
    Ok(agreed)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Key {
    ServerNoContextTakeover,
    ClientNoContextTakeover,
    ServerMaxWindowBits,
    ClientMaxWindowBits,
}

impl Key {
    fn of(name: &[u8]) -> Option<Self> {
        let is = |s: &str| name.eq_ignore_ascii_case(s.as_bytes());
        Some(if is("server_no_context_takeover") {
            Self::ServerNoContextTakeover
        } else if is("client_no_context_takeover") {
            Self::ClientNoContextTakeover
        } else if is("server_max_window_bits") {
            Self::ServerMaxWindowBits
        } else if is("client_max_window_bits") {
            Self::ClientMaxWindowBits
        } else {
            return None;
        })
    }
}

/// Which parameters were seen, to refuse repeats.
#[derive(Default)]
struct Seen(u8);

impl Seen {
    fn mark(&mut self, key: Key) -> Result<(), ExtensionError> {
        let bit = 1 << key as u8;
        if self.0 & bit != 0 {
            return Err(ExtensionError::DuplicateParameter);
        }
        self.0 |= bit;
        Ok(())
    }
}

fn no_value(value: Option<&[u8]>) -> Result<(), ExtensionError> {
    match value {
        None => Ok(()),
        Some(_) => Err(ExtensionError::InvalidValue),
    }
}

/// `8`..`15`, digits only, no leading zero (RFC 7692 §7.1.2.1: `%x31-39 *DIGIT`).
fn window_bits(value: &[u8]) -> Result<u8, ExtensionError> {
    let bits = match value {
        [d @ b'8'..=b'9'] => d - b'0',
        [b'1', d @ b'0'..=b'5'] => 10 + (d - b'0'),
        _ => return Err(ExtensionError::InvalidValue),
    };
    Ok(bits)
}

/// `name [ "=" (token | quoted-string) ]`, whitespace around the parts allowed.
fn parse_param(raw: &[u8]) -> Result<Param<'_>, ExtensionError> {
    let (name, value) = match raw.iter().position(|&b| b == b'=') {
        Some(eq) => (trim(&raw[..eq]), Some(trim(&raw[eq + 1..]))),
        None => (trim(raw), None),
    };
    if !is_token(name) {
        return Err(ExtensionError::Syntax);
    }
    let value = match value {
        None => None,
        Some([b'"', inner @ .., b'"']) => {
            // A quoted value must still be a token once unquoted (RFC 6455 §9.1); an escape
            // never makes one, so it is refused rather than unescaped.
            if !is_token(inner) {
                return Err(ExtensionError::InvalidValue);
            }
            Some(inner)
        }
        Some(token) if is_token(token) => Some(token),
        Some(_) => return Err(ExtensionError::Syntax),
    };
    Ok((name, value))
}

/// Splits at `sep` where it is not inside a quoted string (a `\` escapes the next byte there).
fn split_outside_quotes(s: &[u8], sep: u8) -> impl Iterator<Item = &[u8]> {
    let mut rest = Some(s);
    core::iter::from_fn(move || {
        let s = rest?;
        let (mut quoted, mut escaped) = (false, false);
        for (i, &b) in s.iter().enumerate() {
            if escaped {
                escaped = false;
            } else if quoted && b == b'\\' {
                escaped = true;
            } else if b == b'"' {
                quoted = !quoted;
            } else if b == sep && !quoted {
                rest = Some(&s[i + 1..]);
                return Some(&s[..i]);
            }
        }
        rest = None;
        Some(s)
    })
}

fn trim(s: &[u8]) -> &[u8] {
    let start = s
        .iter()
        .position(|&b| b != b' ' && b != b'\t')
        .unwrap_or(s.len());
    let end = s
        .iter()
        .rposition(|&b| b != b' ' && b != b'\t')
        .map_or(start, |i| i + 1);
    &s[start..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn agree(values: &[&str], policy: &DeflatePolicy) -> Option<PerMessageDeflate> {
        negotiate_deflate(values.iter().map(|v| v.as_bytes()), policy)
    }

    /// A value written into a fixed buffer (the tests also run without `alloc`).
    struct Written {
        bytes: [u8; 256],
        len: usize,
    }

    impl Written {
        fn of(write: impl FnOnce(&mut crate::SliceBuffer<'_>) -> Result<(), WriteFull>) -> Self {
            let mut bytes = [0u8; 256];
            let mut out = crate::SliceBuffer::new(&mut bytes);
            write(&mut out).unwrap();
            let len = crate::Buffer::len(&out);
            Self { bytes, len }
        }

        fn bytes(&self) -> &[u8] {
            &self.bytes[..self.len]
        }

        fn text(&self) -> &str {
            core::str::from_utf8(self.bytes()).unwrap()
        }
    }

    fn response(agreed: &PerMessageDeflate) -> Written {
        Written::of(|out| agreed.write_response(out))
    }

    #[test]
    fn browsers_offer_is_accepted_without_context_takeover_by_default() {
        let agreed = agree(
            &["permessage-deflate; client_max_window_bits"],
            &DeflatePolicy::default(),
        )
        .unwrap();
        assert_eq!(
            agreed,
            PerMessageDeflate {
                server_no_context_takeover: true,
                client_no_context_takeover: true,
                server_max_window_bits: 15,
                client_max_window_bits: 15,
                state_server_max_window_bits: false,
            }
        );
        assert_eq!(
            response(&agreed).text(),
            "permessage-deflate; server_no_context_takeover; client_no_context_takeover"
        );
    }

    #[test]
    fn every_parameter_combination_is_read_and_answered() {
        let takeover = DeflatePolicy {
            server_no_context_takeover: false,
            client_no_context_takeover: false,
            ..DeflatePolicy::default()
        };
        for server_nct in [false, true] {
            for client_nct in [false, true] {
                for server_bits in [None, Some(8), Some(12), Some(15)] {
                    for client_bits in [None, Some(None), Some(Some(9)), Some(Some(15))] {
                        let offer = DeflateOffer {
                            server_no_context_takeover: server_nct,
                            client_no_context_takeover: client_nct,
                            server_max_window_bits: server_bits,
                            client_max_window_bits: client_bits,
                        };
                        let written = Written::of(|out| offer.write(out));
                        let line = written.text();
                        let parsed = extensions([line.as_bytes()]).next().unwrap().unwrap();
                        assert_eq!(DeflateOffer::parse(&parsed), Ok(offer), "{line}");
                        let agreed = agree(&[line], &takeover).unwrap();
                        assert_eq!(
                            agreed.server_no_context_takeover,
                            server_nct || server_bits.is_some_and(|b| b < 15),
                            "{line}"
                        );
                        assert_eq!(agreed.client_no_context_takeover, client_nct, "{line}");
                        assert_eq!(agreed.server_max_window_bits, server_bits.unwrap_or(15));
                        // The client must accept the server's answer to its own offer.
                        let answer = response(&agreed);
                        let checked = validate_deflate_response([answer.bytes()], &offer);
                        let checked = checked.unwrap_or_else(|e| panic!("{line}: {e}")).unwrap();
                        assert_eq!(
                            checked.server_max_window_bits,
                            agreed.server_max_window_bits
                        );
                        assert_eq!(
                            checked.server_no_context_takeover,
                            agreed.server_no_context_takeover
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn bad_offers_are_declined_and_the_next_one_is_taken() {
        let policy = DeflatePolicy::default();
        for bad in [
            "permessage-deflate; server_max_window_bits",
            "permessage-deflate; server_max_window_bits=7",
            "permessage-deflate; server_max_window_bits=16",
            "permessage-deflate; server_max_window_bits=010",
            "permessage-deflate; client_max_window_bits=abc",
            "permessage-deflate; server_no_context_takeover=1",
            "permessage-deflate; client_no_context_takeover; client_no_context_takeover",
            "permessage-deflate; unknown",
            "permessage-deflate; =1",
        ] {
            assert_eq!(agree(&[bad], &policy), None, "{bad}");
            let then_good = [bad, "permessage-deflate; server_max_window_bits=10"];
            let agreed = agree(&then_good, &policy).unwrap_or_else(|| panic!("{bad}"));
            assert_eq!(agreed.server_max_window_bits, 10, "{bad}");
        }
        // Quoted values are tokens once unquoted; a comma inside quotes does not split.
        let agreed = agree(
            &["x-other; p=\"a,b\", permessage-deflate; client_max_window_bits=\"10\""],
            &DeflatePolicy {
                client_max_window_bits: 12,
                ..policy
            },
        )
        .unwrap();
        assert_eq!(agreed.client_max_window_bits, 10);
        assert_eq!(agree(&["x-webkit-deflate-frame", ""], &policy), None);
    }

    #[test]
    fn the_server_limits_windows_only_as_the_offer_allows() {
        let policy = DeflatePolicy {
            server_max_window_bits: 10,
            client_max_window_bits: 9,
            ..DeflatePolicy::default()
        };
        // No client_max_window_bits in the offer: the client's window cannot be limited.
        let agreed = agree(&["permessage-deflate"], &policy).unwrap();
        assert_eq!(
            (agreed.server_max_window_bits, agreed.client_max_window_bits),
            (10, 15)
        );
        let agreed = agree(&["permessage-deflate; client_max_window_bits"], &policy).unwrap();
        assert_eq!(agreed.client_max_window_bits, 9);
        assert_eq!(
            response(&agreed).text(),
            "permessage-deflate; server_no_context_takeover; client_no_context_takeover; \
             server_max_window_bits=10; client_max_window_bits=9"
        );
    }

    #[test]
    fn a_client_refuses_what_it_did_not_offer() {
        let offer = DeflateOffer::browser_like();
        let check = |line: &str| validate_deflate_response([line.as_bytes()], &offer);
        assert_eq!(check(""), Ok(None));
        assert!(check("permessage-deflate").unwrap().is_some());
        assert_eq!(check("x-foo"), Err(ExtensionError::NotOffered));
        assert_eq!(
            check("permessage-deflate, permessage-deflate"),
            Err(ExtensionError::Repeated)
        );
        assert_eq!(
            check("permessage-deflate; client_max_window_bits"),
            Err(ExtensionError::InvalidValue)
        );
        assert_eq!(
            check("permessage-deflate; bogus"),
            Err(ExtensionError::UnknownParameter)
        );
        let limited = DeflateOffer {
            server_max_window_bits: Some(10),
            client_max_window_bits: None,
            ..DeflateOffer::default()
        };
        let check = |line: &str| validate_deflate_response([line.as_bytes()], &limited);
        assert_eq!(
            check("permessage-deflate; server_max_window_bits=12"),
            Err(ExtensionError::NotOffered)
        );
        assert_eq!(check("permessage-deflate"), Err(ExtensionError::NotOffered));
        assert_eq!(
            check("permessage-deflate; client_max_window_bits=10"),
            Err(ExtensionError::NotOffered)
        );
        assert!(check("permessage-deflate; server_max_window_bits=9").is_ok());
    }
}
