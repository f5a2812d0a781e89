//! The PROXY protocol, versions 1 (text) and 2 (binary): the header a load balancer or TCP
//! proxy sends first on each connection to pass on the client's original addresses
//! (<https://www.haproxy.org/download/2.9/doc/proxy-protocol.txt>).
//!
//! [`parse`] is stateless. Call it on everything received so far after each read until it
//! returns [`Parsed::Complete`], then drop its `len` bytes: the bytes after them are the
//! client's first HTTP or TLS bytes. Any prefix of a valid header is [`Parsed::Partial`], and
//! bytes that can no longer start a valid header fail as soon as they arrive. No header needs
//! more than [`MAX_V2_LEN`] bytes, so a buffer of that size is always enough. The caller
//! enforces its own deadline; the spec suggests at least 3 seconds, to cover a TCP retransmit.
//!
//! Only enable this on listeners that trusted proxies alone can reach. The spec forbids
//! guessing whether a header is present: whoever can send one can claim any address.
//!
//! Where the spec leaves a choice:
//!
//! * Connections without usable addresses get a [`ProxyHeader`] with both addresses `None`, to
//!   be treated as direct: v1 `UNKNOWN`, the v2 `LOCAL` command (whose family byte the spec says
//!   to ignore), and v2 `AF_UNSPEC` and `AF_UNIX`. So does v2 UDP over IPv4 or IPv6: the spec
//!   lets a receiver fall back to `UNSPEC` for combinations it does not implement, and a
//!   datagram's addresses say nothing about this stream.
//! * v2 TLVs are skipped unread (so a CRC32C TLV is not checked), as the spec allows. The
//!   address block must still fit in the announced length.
//! * v2 headers over [`MAX_V2_LEN`] bytes are refused.
//! * v1 is parsed exactly as specified: single spaces, IPv4 and ports in decimal without leading
//!   zeros, and a CRLF within [`MAX_V1_LEN`] bytes.
//!
//! # Example
//!
//! ```
//! use ws_proto::proxy::{self, Parsed};
//!
//! let received = b"PROXY TCP4 192.0.2.1 198.51.100.7 56324 443\r\nGET / HTTP/1.1\r\n";
//! match proxy::parse(received) {
//!     Ok(Parsed::Complete { len, header }) => {
//!         assert_eq!(header.source, Some("192.0.2.1:56324".parse().unwrap()));
//!         // The HTTP request starts after the header.
//!         assert_eq!(&received[len..], b"GET / HTTP/1.1\r\n");
//!     }
//!     Ok(Parsed::Partial) => { /* read more, unless the deadline passed */ }
//!     Err(_) => { /* close the connection */ }
//! }
//! ```

use core::fmt;
use core::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use core::str::FromStr;

/// The longest v1 header, CRLF included: `UNKNOWN` with two full IPv6 addresses and ports.
pub const MAX_V1_LEN: usize = 107;

/// The longest v2 header accepted, its 16 fixed bytes included. The spec designs both versions
/// to fit in the smallest TCP segment every host accepts (576 - 40 = 536 bytes), so that
/// senders can always send the header at once; a longer one is refused rather than buffered.
pub const MAX_V2_LEN: usize = 536;

/// How v1 starts (the spec identifies v1 by these five bytes).
const V1_SIGNATURE: &[u8] = b"PROXY";
/// How v2 starts. It contains a NUL and cannot start a text protocol.
const V2_SIGNATURE: &[u8] = b"\r\n\r\n\0\r\nQUIT\n";
/// The v2 signature, version and command, family and protocol, and the 2-byte length.
const V2_FIXED_LEN: usize = 16;
/// The longest IPv6 text `Ipv6Addr` parses: six groups and a dotted IPv4 address.
const MAX_V6_TEXT_LEN: usize = 45;

/// The result of [`parse`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Parsed {
    /// The input is a valid header so far: read more and call [`parse`] again.
    Partial,
    /// The header is complete.
    Complete {
        /// Bytes of the header. Drop them: the bytes after them belong to the next layer
        /// (HTTP or TLS).
        len: usize,
        /// What the header says.
        header: ProxyHeader,
    },
}

/// The addresses a PROXY header carries. Both are `None` when it carries none that apply (see
/// the [module documentation](self)): use the connection's own addresses, as for a direct one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ProxyHeader {
    /// The original client's address and port.
    pub source: Option<SocketAddr>,
    /// The address and port the client connected to (on the proxy).
    pub destination: Option<SocketAddr>,
}

impl ProxyHeader {
    /// No addresses: the connection counts as direct.
    const DIRECT: Self = Self {
        source: None,
        destination: None,
    };
}

/// Why bytes are not a valid PROXY header. The spec says to close the connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ProxyError {
    /// The bytes start with neither the v1 nor the v2 signature: the peer does not speak the
    /// PROXY protocol (e.g. a client connecting directly with HTTP or TLS). Reported at the
    /// first byte that matches neither.
    NotProxy,
    /// A v1 line without a CRLF in its first [`MAX_V1_LEN`] bytes.
    V1TooLong,
    /// A v1 line that does not follow the grammar: a space missing or doubled, a protocol other
    /// than `TCP4`, `TCP6` or `UNKNOWN`, an invalid address, a port out of range or with a
    /// leading zero or sign, or a lone CR or LF.
    V1Malformed,
    /// A v2 header whose version (the high nibble of byte 13, here) is not 2.
    BadVersion(u8),
    /// A v2 header whose command (the low nibble of byte 13, here) is neither `LOCAL` (0) nor
    /// `PROXY` (1).
    BadCommand(u8),
    /// A v2 `PROXY` header whose family and protocol byte (here) is none the spec defines.
    BadFamily(u8),
    /// A v2 `PROXY` header whose length cannot hold the addresses of its family.
    AddressLengthMismatch {
        /// The announced length of addresses and TLVs.
        len: usize,
        /// The size of the family's addresses.
        needed: usize,
    },
    /// A v2 header longer than [`MAX_V2_LEN`]. Holds the announced header length, the fixed
    /// 16 bytes included.
    TooLong(usize),
}

impl fmt::Display for ProxyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NotProxy => f.write_str("not a PROXY protocol header"),
            Self::V1TooLong => write!(f, "PROXY v1 line without a CRLF in {MAX_V1_LEN} bytes"),
            Self::V1Malformed => f.write_str("malformed PROXY v1 line"),
            Self::BadVersion(v) => write!(f, "PROXY v2 header with version {v}"),
            Self::BadCommand(c) => write!(f, "PROXY v2 header with unknown command {c:#x}"),
            Self::BadFamily(b) => write!(f, "PROXY v2 header with unknown family {b:#04x}"),
            Self::AddressLengthMismatch { len, needed } => write!(
                f,
                "PROXY v2 address length {len} is shorter than its family's {needed}"
            ),
            Self::TooLong(len) => write!(
                f,
                "PROXY v2 header of {len} bytes exceeds the limit of {MAX_V2_LEN}"
            ),
        }
    }
}

impl core::error::Error for ProxyError {}

/// Parses a PROXY header, version 1 or 2, at the start of `input`: everything received on the
/// connection so far.
///
/// Returns [`Parsed::Partial`] while `input` is a prefix of a valid header (only ever for
/// fewer than [`MAX_V2_LEN`] bytes), and an error as soon as it cannot become one. The one
/// exception is a v1 IPv6 address: its bytes are checked as they arrive against rules every
/// address follows, but some invalid ones (e.g. nine groups) fail only at the space after
/// them. An error, once returned, is the same for every longer input, and bytes past the
/// header are never read.
pub fn parse(input: &[u8]) -> Result<Parsed, ProxyError> {
    // The signatures differ in their first byte, which picks the version.
    let result = match input.first() {
        None => Err(Halt::Partial),
        Some(b'P') => parse_v1(input),
        Some(b'\r') => parse_v2(input),
        Some(_) => Err(Halt::Invalid(ProxyError::NotProxy)),
    };
    match result {
        Ok((len, header)) => Ok(Parsed::Complete { len, header }),
        Err(Halt::Partial) => Ok(Parsed::Partial),
        Err(Halt::Invalid(e)) => Err(e),
    }
}

/// Why parsing stopped short of a header.
enum Halt {
    /// The input ended.
    Partial,
    /// The input cannot become a valid header.
    Invalid(ProxyError),
}

impl From<ProxyError> for Halt {
    fn from(e: ProxyError) -> Self {
        Self::Invalid(e)
    }
}

type Step<T> = Result<T, Halt>;

/// Reads bytes in order. Every check looks only at bytes already read, so an error found in a
/// prefix is the error of every longer input.
struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn new(bytes: &'a [u8]) -> Self {
        Self { bytes, pos: 0 }
    }

    fn next(&mut self) -> Step<u8> {
        let b = *self.bytes.get(self.pos).ok_or(Halt::Partial)?;
        self.pos += 1;
        Ok(b)
    }

    /// Reads `want`, failing with `err` at the first byte that differs.
    fn expect(&mut self, want: &[u8], err: ProxyError) -> Step<()> {
        for &w in want {
            if self.next()? != w {
                return Err(err.into());
            }
        }
        Ok(())
    }
}

// Version 1.

#[derive(Clone, Copy)]
enum IpFamily {
    V4,
    V6,
}

#[derive(Clone, Copy)]
enum V1Protocol {
    Tcp(IpFamily),
    Unknown,
}

fn parse_v1(input: &[u8]) -> Step<(usize, ProxyHeader)> {
    // A line still undecided after the longest valid length is too long, whatever follows.
    let line = &input[..input.len().min(MAX_V1_LEN)];
    match parse_v1_line(line) {
        Err(Halt::Partial) if input.len() >= MAX_V1_LEN => Err(ProxyError::V1TooLong.into()),
        other => other,
    }
}

fn parse_v1_line(line: &[u8]) -> Step<(usize, ProxyHeader)> {
    use ProxyError::V1Malformed;
    let mut r = Reader::new(line);
    r.expect(V1_SIGNATURE, ProxyError::NotProxy)?;
    r.expect(b" ", V1Malformed)?;
    let header = match v1_protocol(&mut r)? {
        V1Protocol::Unknown => {
            v1_skip_unknown(&mut r)?;
            ProxyHeader::DIRECT
        }
        V1Protocol::Tcp(family) => {
            let source = v1_address(&mut r, family)?;
            let destination = v1_address(&mut r, family)?;
            let source_port = v1_port(&mut r, b' ')?;
            let destination_port = v1_port(&mut r, b'\r')?;
            r.expect(b"\n", V1Malformed)?;
            ProxyHeader {
                source: Some(SocketAddr::new(source, source_port)),
                destination: Some(SocketAddr::new(destination, destination_port)),
            }
        }
    };
    Ok((r.pos, header))
}

/// Reads the protocol, with the space after it for `TCP4` and `TCP6`.
fn v1_protocol(r: &mut Reader<'_>) -> Step<V1Protocol> {
    const PROTOCOLS: [(&[u8], V1Protocol); 3] = [
        (b"TCP4 ", V1Protocol::Tcp(IpFamily::V4)),
        (b"TCP6 ", V1Protocol::Tcp(IpFamily::V6)),
        (b"UNKNOWN", V1Protocol::Unknown),
    ];
    let rest = &r.bytes[r.pos..];
    for (token, protocol) in PROTOCOLS {
        if rest.starts_with(token) {
            r.pos += token.len();
            return Ok(protocol);
        }
    }
    if PROTOCOLS.iter().any(|(token, _)| token.starts_with(rest)) {
        Err(Halt::Partial)
    } else {
        Err(ProxyError::V1Malformed.into())
    }
}

/// After `UNKNOWN`: the CRLF, or a space and anything up to the CRLF (the spec says to ignore
/// it), but no lone CR or LF.
fn v1_skip_unknown(r: &mut Reader<'_>) -> Step<()> {
    use ProxyError::V1Malformed;
    match r.next()? {
        b'\r' => return r.expect(b"\n", V1Malformed),
        b' ' => {}
        _ => return Err(V1Malformed.into()),
    }
    loop {
        match r.next()? {
            b'\r' => return r.expect(b"\n", V1Malformed),
            b'\n' => return Err(V1Malformed.into()),
            _ => {}
        }
    }
}

/// Reads an address and the space after it. Each byte is checked as it arrives, so that most
/// invalid addresses fail early; the whole address is parsed by `core` at the space.
fn v1_address(r: &mut Reader<'_>, family: IpFamily) -> Step<IpAddr> {
    let start = r.pos;
    let mut v4 = V4Prefix::new();
    let mut v6 = V6Prefix::new();
    loop {
        let b = r.next()?;
        if b == b' ' {
            break;
        }
        let plausible = match family {
            IpFamily::V4 => v4.push(b),
            IpFamily::V6 => v6.push(b),
        };
        if !plausible {
            return Err(ProxyError::V1Malformed.into());
        }
    }
    let text = core::str::from_utf8(&r.bytes[start..r.pos - 1]);
    let addr = match (family, text) {
        (IpFamily::V4, Ok(text)) => Ipv4Addr::from_str(text).ok().map(IpAddr::V4),
        (IpFamily::V6, Ok(text)) => Ipv6Addr::from_str(text).ok().map(IpAddr::V6),
        (_, Err(_)) => None,
    };
    addr.ok_or(ProxyError::V1Malformed.into())
}

/// Reads a decimal port in `0..=65535` without a leading zero, and `delimiter` after it.
fn v1_port(r: &mut Reader<'_>, delimiter: u8) -> Step<u16> {
    let mut port: Option<u16> = None;
    loop {
        let b = r.next()?;
        match port {
            Some(port) if b == delimiter => return Ok(port),
            // "0" is the only port that starts with 0.
            Some(0) => break,
            _ if !b.is_ascii_digit() => break,
            _ => {
                let digit = u16::from(b - b'0');
                let next = match port {
                    None => Some(digit),
                    Some(p) => p.checked_mul(10).and_then(|p| p.checked_add(digit)),
                };
                if next.is_none() {
                    break;
                }
                port = next;
            }
        }
    }
    Err(ProxyError::V1Malformed.into())
}

/// Whether the text so far can still start a dotted-quad IPv4 address as `Ipv4Addr` parses it
/// (four decimal octets up to 255, no leading zeros). Once false, it stays false.
#[derive(Clone, Copy)]
struct V4Prefix {
    plausible: bool,
    dots: u8,
    digits: u8,
    octet: u16,
}

impl V4Prefix {
    const fn new() -> Self {
        Self {
            plausible: true,
            dots: 0,
            digits: 0,
            octet: 0,
        }
    }

    fn push(&mut self, b: u8) -> bool {
        if self.plausible {
            self.plausible = self.step(b);
        }
        self.plausible
    }

    fn step(&mut self, b: u8) -> bool {
        match b {
            b'0'..=b'9' => {
                if self.digits > 0 && self.octet == 0 {
                    return false;
                }
                self.octet = self.octet * 10 + u16::from(b - b'0');
                self.digits += 1;
                self.octet <= 255
            }
            b'.' if self.digits > 0 && self.dots < 3 => {
                self.dots += 1;
                self.digits = 0;
                self.octet = 0;
                true
            }
            _ => false,
        }
    }
}

/// Whether the text so far can still start an IPv6 address as `Ipv6Addr` parses it. Only
/// rules every valid address follows are checked (characters, length, groups of at most four
/// digits, one `::`, a dotted IPv4 part only at the end); `Ipv6Addr` has the last word.
#[derive(Clone, Copy)]
struct V6Prefix {
    len: usize,
    prev: u8,
    group_digits: u8,
    double_colon: bool,
    /// The text since the last colon, as the start of a dotted IPv4 part.
    tail: V4Prefix,
    dotted: bool,
}

impl V6Prefix {
    const fn new() -> Self {
        Self {
            len: 0,
            prev: 0,
            group_digits: 0,
            double_colon: false,
            tail: V4Prefix::new(),
            dotted: false,
        }
    }

    fn push(&mut self, b: u8) -> bool {
        self.len += 1;
        let prev = core::mem::replace(&mut self.prev, b);
        // Only "::" may start an address with a colon.
        if self.len > MAX_V6_TEXT_LEN || (self.len == 2 && prev == b':' && b != b':') {
            return false;
        }
        match b {
            // A colon after the dotted part, ":::" or a second "::".
            b':' if self.dotted || (prev == b':' && self.double_colon) => false,
            b':' => {
                self.double_colon |= prev == b':';
                self.group_digits = 0;
                self.tail = V4Prefix::new();
                true
            }
            b'.' => {
                self.dotted = true;
                self.tail.push(b)
            }
            _ if b.is_ascii_hexdigit() => {
                self.group_digits += 1;
                // Letters end the tail's chance of being IPv4, which matters only at a dot.
                let tail = self.tail.push(b);
                if self.dotted {
                    tail
                } else {
                    self.group_digits <= 4
                }
            }
            _ => false,
        }
    }
}

// Version 2.

/// What the family and protocol byte of a v2 `PROXY` header asks for.
#[derive(Clone, Copy)]
enum V2Block {
    /// TCP over IPv4: two addresses and two ports.
    Tcp4,
    /// TCP over IPv6: two addresses and two ports.
    Tcp6,
    /// Addresses that do not apply (`AF_UNSPEC`, `AF_UNIX`, UDP), skipped.
    Skip {
        /// Their size, which the length must still cover.
        needed: usize,
    },
}

impl V2Block {
    fn from_byte(byte: u8) -> Result<Self, ProxyError> {
        match byte {
            0x00 => Ok(Self::Skip { needed: 0 }),
            0x11 => Ok(Self::Tcp4),
            0x21 => Ok(Self::Tcp6),
            // UDP over IPv4 and IPv6.
            0x12 => Ok(Self::Skip { needed: 12 }),
            0x22 => Ok(Self::Skip { needed: 36 }),
            // AF_UNIX, stream and datagram: two 108-byte paths.
            0x31 | 0x32 => Ok(Self::Skip { needed: 216 }),
            _ => Err(ProxyError::BadFamily(byte)),
        }
    }

    fn needed(self) -> usize {
        match self {
            Self::Tcp4 => 12,
            Self::Tcp6 => 36,
            Self::Skip { needed } => needed,
        }
    }
}

fn parse_v2(input: &[u8]) -> Step<(usize, ProxyHeader)> {
    let mut r = Reader::new(input);
    r.expect(V2_SIGNATURE, ProxyError::NotProxy)?;
    let version_command = r.next()?;
    if version_command >> 4 != 2 {
        return Err(ProxyError::BadVersion(version_command >> 4).into());
    }
    let proxied = match version_command & 0x0f {
        0 => false,
        1 => true,
        command => return Err(ProxyError::BadCommand(command).into()),
    };
    let family = r.next()?;
    // LOCAL (health checks and the like): the spec says to ignore the family and the block.
    let block = if proxied {
        V2Block::from_byte(family)?
    } else {
        V2Block::Skip { needed: 0 }
    };
    let len = usize::from(u16::from_be_bytes([r.next()?, r.next()?]));
    let total = V2_FIXED_LEN + len;
    if total > MAX_V2_LEN {
        return Err(ProxyError::TooLong(total).into());
    }
    if len < block.needed() {
        return Err(ProxyError::AddressLengthMismatch {
            len,
            needed: block.needed(),
        }
        .into());
    }
    let addresses = input.get(V2_FIXED_LEN..total).ok_or(Halt::Partial)?;
    let header = match block {
        V2Block::Tcp4 => v2_header(
            IpAddr::V4(Ipv4Addr::from(bytes::<4>(addresses, 0))),
            IpAddr::V4(Ipv4Addr::from(bytes::<4>(addresses, 4))),
            &addresses[8..],
        ),
        V2Block::Tcp6 => v2_header(
            IpAddr::V6(Ipv6Addr::from(bytes::<16>(addresses, 0))),
            IpAddr::V6(Ipv6Addr::from(bytes::<16>(addresses, 16))),
            &addresses[32..],
        ),
        V2Block::Skip { .. } => ProxyHeader::DIRECT,
    };
    Ok((total, header))
}

/// The header from two addresses and the ports that follow them.
fn v2_header(source: IpAddr, destination: IpAddr, ports: &[u8]) -> ProxyHeader {
    let [sh, sl, dh, dl] = bytes::<4>(ports, 0);
    ProxyHeader {
        source: Some(SocketAddr::new(source, u16::from_be_bytes([sh, sl]))),
        destination: Some(SocketAddr::new(destination, u16::from_be_bytes([dh, dl]))),
    }
}

/// `N` bytes at `at`; the caller has checked the length.
fn bytes<const N: usize>(b: &[u8], at: usize) -> [u8; N] {
    let mut out = [0; N];
    out.copy_from_slice(&b[at..at + N]);
    out
}

#[cfg(test)]
mod tests {
    extern crate std;

    use std::format;
    use std::string::String;
    use std::vec::Vec;

    use core::net::{SocketAddrV4, SocketAddrV6};

    use proptest::prelude::*;

    use super::*;

    fn sock(s: &str) -> SocketAddr {
        s.parse().unwrap()
    }

    fn complete(len: usize, source: &str, destination: &str) -> Result<Parsed, ProxyError> {
        Ok(Parsed::Complete {
            len,
            header: ProxyHeader {
                source: Some(sock(source)),
                destination: Some(sock(destination)),
            },
        })
    }

    fn direct(len: usize) -> Result<Parsed, ProxyError> {
        Ok(Parsed::Complete {
            len,
            header: ProxyHeader::DIRECT,
        })
    }

    /// Every strict prefix of the header is `Partial`, and the header with `rest` after it
    /// parses to `expected` with the header's length.
    fn check_valid(header: &[u8], rest: &[u8], expected: Result<Parsed, ProxyError>) {
        for end in 0..header.len() {
            assert_eq!(
                parse(&header[..end]),
                Ok(Parsed::Partial),
                "prefix {:?}",
                &header[..end]
            );
        }
        assert!(matches!(expected, Ok(Parsed::Complete { len, .. }) if len == header.len()));
        let mut input = header.to_vec();
        input.extend_from_slice(rest);
        assert_eq!(parse(&input), expected);
        assert_eq!(parse(header), expected);
    }

    /// `input` fails with `err`, which its last byte causes: the input without it is `Partial`,
    /// and bytes after it do not change the error.
    fn check_invalid(input: &[u8], err: ProxyError) {
        assert_eq!(
            parse(input),
            Err(err),
            "{:?}",
            String::from_utf8_lossy(input)
        );
        assert_eq!(
            parse(&input[..input.len() - 1]),
            Ok(Parsed::Partial),
            "{:?} minus its last byte",
            String::from_utf8_lossy(input)
        );
        let mut longer = input.to_vec();
        longer.extend_from_slice(b" 1.2.3.4 5 6\r\n\r\n");
        assert_eq!(parse(&longer), Err(err));
    }

    fn v2(ver_cmd: u8, family: u8, block: &[u8]) -> Vec<u8> {
        let mut out = V2_SIGNATURE.to_vec();
        out.extend_from_slice(&[ver_cmd, family]);
        out.extend_from_slice(&u16::try_from(block.len()).unwrap().to_be_bytes());
        out.extend_from_slice(block);
        out
    }

    #[test]
    fn v1_tcp4() {
        let header = b"PROXY TCP4 192.168.0.1 192.168.0.11 56324 443\r\n";
        let expected = complete(header.len(), "192.168.0.1:56324", "192.168.0.11:443");
        check_valid(
            header,
            b"GET / HTTP/1.1\r\nHost: 192.168.0.11\r\n\r\n",
            expected,
        );
        // The longest TCP4 line (56 bytes) and the extremes of each field.
        let header = b"PROXY TCP4 255.255.255.255 255.255.255.255 65535 65535\r\n";
        assert_eq!(header.len(), 56);
        let expected = complete(56, "255.255.255.255:65535", "255.255.255.255:65535");
        check_valid(header, b"", expected);
        let header = b"PROXY TCP4 0.0.0.0 10.0.0.1 0 0\r\n";
        check_valid(
            header,
            b"\x16\x03\x01",
            complete(33, "0.0.0.0:0", "10.0.0.1:0"),
        );
    }

    #[test]
    fn v1_tcp6() {
        let header = b"PROXY TCP6 2001:db8::1 2001:DB8:0:0:0:0:0:2 1 65535\r\n";
        let expected = complete(header.len(), "[2001:db8::1]:1", "[2001:db8::2]:65535");
        check_valid(header, b"\x16\x03\x01\x02\x00", expected);
        let full = "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff";
        let header = format!("PROXY TCP6 {full} {full} 65535 65535\r\n");
        assert_eq!(header.len(), 104);
        let addr = format!("[{full}]:65535");
        check_valid(header.as_bytes(), b"", complete(104, &addr, &addr));
        // An IPv4-mapped address stays IPv6, as the sender wrote it.
        let header = b"PROXY TCP6 ::ffff:192.0.2.1 :: 80 8080\r\n";
        let expected = complete(header.len(), "[::ffff:192.0.2.1]:80", "[::]:8080");
        check_valid(header, b"", expected);
    }

    #[test]
    fn v1_unknown() {
        check_valid(b"PROXY UNKNOWN\r\n", b"GET /", direct(15));
        // What follows UNKNOWN is ignored, whatever it is.
        let header = b"PROXY UNKNOWN 192.0.2.1 garbage \x00\xff\r\n";
        check_valid(header, b"GET /", direct(header.len()));
        // The spec's worst case is exactly the limit.
        let full = "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff";
        let header = format!("PROXY UNKNOWN {full} {full} 65535 65535\r\n");
        assert_eq!(header.len(), MAX_V1_LEN);
        check_valid(header.as_bytes(), b"\r\n", direct(MAX_V1_LEN));
    }

    #[test]
    fn v1_errors() {
        use ProxyError::{NotProxy, V1Malformed};
        let cases: &[(&[u8], ProxyError)] = &[
            (b"G", NotProxy),
            (b"\x16", NotProxy),
            (b"PROXI", NotProxy),
            (b"p", NotProxy),
            (b"PRo", NotProxy),
            (b"PROXY\t", V1Malformed),
            (b"PROXY  ", V1Malformed),
            (b"PROXY TCP5", V1Malformed),
            (b"PROXY t", V1Malformed),
            (b"PROXY UD", V1Malformed),
            (b"PROXY TCP4\r", V1Malformed),
            (b"PROXY UNKNOWNX", V1Malformed),
            (b"PROXY UNKNOWN\n", V1Malformed),
            (b"PROXY UNKNOWN\rX", V1Malformed),
            (b"PROXY UNKNOWN 1.2.3.4\n", V1Malformed),
            (b"PROXY UNKNOWN x\r\r", V1Malformed),
            // IPv4: leading zeros, range, octet count, characters, family.
            (b"PROXY TCP4 01", V1Malformed),
            (b"PROXY TCP4 1.00", V1Malformed),
            (b"PROXY TCP4 256", V1Malformed),
            (b"PROXY TCP4 1..", V1Malformed),
            (b"PROXY TCP4 .", V1Malformed),
            (b"PROXY TCP4 1.2.3.4.", V1Malformed),
            (b"PROXY TCP4 1.2.3 ", V1Malformed),
            (b"PROXY TCP4  ", V1Malformed),
            (b"PROXY TCP4 1.2.3.4  ", V1Malformed),
            (b"PROXY TCP4 :", V1Malformed),
            (b"PROXY TCP4 1.2.3.4 1.2.3.4\r", V1Malformed),
            // IPv6.
            (b"PROXY TCP6 :::", V1Malformed),
            (b"PROXY TCP6 :1", V1Malformed),
            (b"PROXY TCP6 1::2::", V1Malformed),
            (b"PROXY TCP6 12345", V1Malformed),
            (b"PROXY TCP6 g", V1Malformed),
            (b"PROXY TCP6 ::1%", V1Malformed),
            (b"PROXY TCP6 ::1.2.3.4:", V1Malformed),
            (b"PROXY TCP6 ::ffff:01.", V1Malformed),
            (b"PROXY TCP6 ::ffff:1.2.3.4.", V1Malformed),
            (b"PROXY TCP6 ::a.", V1Malformed),
            (b"PROXY TCP6 ::1.a", V1Malformed),
            (b"PROXY TCP6 1.2.3.4 ", V1Malformed),
            (b"PROXY TCP6 1:2:3:4:5:6:7 ", V1Malformed),
            (b"PROXY TCP6 1:2:3:4:5:6:7:8:9 ", V1Malformed),
            // Ports: sign, leading zero, range, empty, delimiters.
            (b"PROXY TCP4 1.2.3.4 5.6.7.8 +", V1Malformed),
            (b"PROXY TCP4 1.2.3.4 5.6.7.8 -", V1Malformed),
            (b"PROXY TCP4 1.2.3.4 5.6.7.8 00", V1Malformed),
            (b"PROXY TCP4 1.2.3.4 5.6.7.8 08", V1Malformed),
            (b"PROXY TCP4 1.2.3.4 5.6.7.8 65536", V1Malformed),
            (b"PROXY TCP4 1.2.3.4 5.6.7.8 99999", V1Malformed),
            (b"PROXY TCP4 1.2.3.4 5.6.7.8 100000", V1Malformed),
            (b"PROXY TCP4 1.2.3.4 5.6.7.8  ", V1Malformed),
            (b"PROXY TCP4 1.2.3.4 5.6.7.8 1\r", V1Malformed),
            (b"PROXY TCP4 1.2.3.4 5.6.7.8 1 \r", V1Malformed),
            (b"PROXY TCP4 1.2.3.4 5.6.7.8 1 2 ", V1Malformed),
            (b"PROXY TCP4 1.2.3.4 5.6.7.8 1 2\n", V1Malformed),
            (b"PROXY TCP4 1.2.3.4 5.6.7.8 1 2\r\r", V1Malformed),
        ];
        for &(input, err) in cases {
            check_invalid(input, err);
        }
        // No IPv6 text is longer than 45 bytes.
        let long = format!("PROXY TCP6 {}0", "0000:".repeat(9));
        check_invalid(long.as_bytes(), V1Malformed);
    }

    #[test]
    fn v1_too_long() {
        let mut line = b"PROXY UNKNOWN ".to_vec();
        line.resize(MAX_V1_LEN, b'x');
        check_invalid(&line, ProxyError::V1TooLong);
        // A CR as the 107th byte puts the LF past the limit.
        line[MAX_V1_LEN - 1] = b'\r';
        check_invalid(&line, ProxyError::V1TooLong);
        // IPv6 with dotted parts is valid per address, but too long as a TCP6 line.
        let long = "ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255";
        let line = format!("PROXY TCP6 {long} {long} 6553");
        assert_eq!(line.len(), MAX_V1_LEN);
        check_invalid(line.as_bytes(), ProxyError::V1TooLong);
    }

    #[test]
    fn v2_tcp4() {
        let block = [192, 0, 2, 1, 198, 51, 100, 7, 0xdc, 0x04, 0x01, 0xbb];
        let header = v2(0x21, 0x11, &block);
        let expected = complete(28, "192.0.2.1:56324", "198.51.100.7:443");
        check_valid(&header, b"GET / HTTP/1.1\r\n", expected);
        // TLVs (ALPN "h2", a NOOP) after the addresses are skipped.
        let mut block = block.to_vec();
        block.extend_from_slice(b"\x01\x00\x02h2\x04\x00\x01\x00");
        let header = v2(0x21, 0x11, &block);
        let expected = complete(header.len(), "192.0.2.1:56324", "198.51.100.7:443");
        check_valid(&header, b"\x16\x03\x01", expected);
    }

    #[test]
    fn v2_tcp6() {
        let src: Ipv6Addr = "2001:db8::1".parse().unwrap();
        let dst: Ipv6Addr = "2001:db8:ffff::2".parse().unwrap();
        let mut block = [src.octets(), dst.octets()].concat();
        block.extend_from_slice(&[0, 80, 0xff, 0xff]);
        let header = v2(0x21, 0x21, &block);
        let expected = complete(52, "[2001:db8::1]:80", "[2001:db8:ffff::2]:65535");
        check_valid(&header, b"rest", expected);
        block.extend_from_slice(&[0xe0, 0, 3, 1, 2, 3]);
        let header = v2(0x21, 0x21, &block);
        let expected = complete(58, "[2001:db8::1]:80", "[2001:db8:ffff::2]:65535");
        check_valid(&header, b"", expected);
    }

    #[test]
    fn v2_without_addresses() {
        // LOCAL: no block, or one that is skipped, whatever the family byte.
        check_valid(&v2(0x20, 0x00, &[]), b"GET", direct(16));
        check_valid(&v2(0x20, 0x11, &[1; 12]), b"GET", direct(28));
        check_valid(&v2(0x20, 0xff, &[1; 5]), b"", direct(21));
        // PROXY with AF_UNSPEC, with and without bytes.
        check_valid(&v2(0x21, 0x00, &[]), b"", direct(16));
        check_valid(&v2(0x21, 0x00, &[7; 40]), b"x", direct(56));
        // AF_UNIX and UDP fall back to UNSPEC.
        check_valid(&v2(0x21, 0x31, &[0; 216]), b"", direct(232));
        check_valid(&v2(0x21, 0x32, &[0; 220]), b"", direct(236));
        check_valid(&v2(0x21, 0x12, &[1; 12]), b"", direct(28));
        check_valid(&v2(0x21, 0x22, &[1; 36]), b"", direct(52));
        // The longest header accepted.
        check_valid(
            &v2(0x21, 0x00, &[0; MAX_V2_LEN - 16]),
            b"",
            direct(MAX_V2_LEN),
        );
    }

    #[test]
    fn v2_errors() {
        // Each signature byte, changed, is reported at once.
        for i in 1..V2_SIGNATURE.len() {
            let mut input = V2_SIGNATURE[..=i].to_vec();
            input[i] ^= 0x20;
            check_invalid(&input, ProxyError::NotProxy);
        }
        let sig = |rest: &[u8]| [V2_SIGNATURE, rest].concat();
        check_invalid(&sig(&[0x11]), ProxyError::BadVersion(1));
        check_invalid(&sig(&[0x31]), ProxyError::BadVersion(3));
        check_invalid(&sig(&[0x00]), ProxyError::BadVersion(0));
        check_invalid(&sig(&[0x22]), ProxyError::BadCommand(2));
        check_invalid(&sig(&[0x2f]), ProxyError::BadCommand(0xf));
        for family in [0x01, 0x02, 0x10, 0x13, 0x20, 0x23, 0x30, 0x33, 0x41, 0xff] {
            check_invalid(&sig(&[0x21, family]), ProxyError::BadFamily(family));
        }
        let mismatch = |len, needed| ProxyError::AddressLengthMismatch { len, needed };
        check_invalid(&sig(&[0x21, 0x11, 0, 11]), mismatch(11, 12));
        check_invalid(&sig(&[0x21, 0x11, 0, 0]), mismatch(0, 12));
        check_invalid(&sig(&[0x21, 0x12, 0, 11]), mismatch(11, 12));
        check_invalid(&sig(&[0x21, 0x21, 0, 35]), mismatch(35, 36));
        check_invalid(&sig(&[0x21, 0x22, 0, 12]), mismatch(12, 36));
        check_invalid(&sig(&[0x21, 0x31, 0, 215]), mismatch(215, 216));
        check_invalid(&sig(&[0x21, 0x32, 0, 36]), mismatch(36, 216));
        check_invalid(&sig(&[0x21, 0x11, 2, 9]), ProxyError::TooLong(537));
        check_invalid(&sig(&[0x20, 0x00, 0xff, 0xff]), ProxyError::TooLong(65551));
    }

    #[test]
    fn partial() {
        assert_eq!(parse(b""), Ok(Parsed::Partial));
        assert_eq!(parse(b"\r"), Ok(Parsed::Partial));
        assert_eq!(parse(b"P"), Ok(Parsed::Partial));
        // A v2 header waits for its whole announced length, TLVs included.
        let header = v2(0x21, 0x11, &[1; 100]);
        assert_eq!(parse(&header[..115]), Ok(Parsed::Partial));
        assert_eq!(parse(&header), complete(116, "1.1.1.1:257", "1.1.1.1:257"));
    }

    #[test]
    fn errors_display() {
        let errors = [
            ProxyError::NotProxy,
            ProxyError::V1TooLong,
            ProxyError::V1Malformed,
            ProxyError::BadVersion(1),
            ProxyError::BadCommand(2),
            ProxyError::BadFamily(0x13),
            ProxyError::AddressLengthMismatch { len: 1, needed: 12 },
            ProxyError::TooLong(600),
        ];
        for e in errors {
            let error: &dyn core::error::Error = &e;
            assert!(!format!("{error}").is_empty());
        }
        assert_eq!(
            format!("{}", ProxyError::BadFamily(0x13)),
            "PROXY v2 header with unknown family 0x13"
        );
    }

    // Properties: an independent encoder writes random headers, which must parse back under
    // any split.

    /// How a v1 TCP6 address is written.
    #[derive(Debug, Clone, Copy)]
    enum V6Style {
        /// `Ipv6Addr`'s display: compressed, IPv4-mapped as dotted.
        Display,
        /// All eight groups, lower case, no leading zeros.
        Full,
        /// All eight groups, upper case, four digits each.
        Padded,
    }

    fn v6_text(addr: &Ipv6Addr, style: V6Style) -> String {
        let s = addr.segments();
        match style {
            V6Style::Display => format!("{addr}"),
            V6Style::Full => s.map(|g| format!("{g:x}")).join(":"),
            V6Style::Padded => s.map(|g| format!("{g:04X}")).join(":"),
        }
    }

    #[derive(Debug, Clone)]
    enum Case {
        V1Tcp4(SocketAddrV4, SocketAddrV4),
        V1Tcp6(SocketAddrV6, SocketAddrV6, V6Style),
        /// `UNKNOWN`, optionally with ignored text.
        V1Unknown(Option<String>),
        V2 {
            local: bool,
            family: u8,
            addresses: Vec<u8>,
            tlvs: Vec<u8>,
        },
    }

    /// The header's bytes and what parsing it must give.
    fn encode(case: &Case) -> (Vec<u8>, ProxyHeader) {
        match case {
            Case::V1Tcp4(s, d) => {
                let line = format!(
                    "PROXY TCP4 {} {} {} {}\r\n",
                    s.ip(),
                    d.ip(),
                    s.port(),
                    d.port()
                );
                let header = ProxyHeader {
                    source: Some(SocketAddr::V4(*s)),
                    destination: Some(SocketAddr::V4(*d)),
                };
                (line.into_bytes(), header)
            }
            Case::V1Tcp6(s, d, style) => {
                let line = format!(
                    "PROXY TCP6 {} {} {} {}\r\n",
                    v6_text(s.ip(), *style),
                    v6_text(d.ip(), *style),
                    s.port(),
                    d.port()
                );
                let header = ProxyHeader {
                    source: Some(SocketAddr::V6(*s)),
                    destination: Some(SocketAddr::V6(*d)),
                };
                (line.into_bytes(), header)
            }
            Case::V1Unknown(rest) => {
                let line = match rest {
                    None => String::from("PROXY UNKNOWN\r\n"),
                    Some(rest) => format!("PROXY UNKNOWN {rest}\r\n"),
                };
                (line.into_bytes(), ProxyHeader::DIRECT)
            }
            Case::V2 {
                local,
                family,
                addresses,
                tlvs,
            } => {
                let mut block = addresses.clone();
                block.extend_from_slice(tlvs);
                let bytes = v2(if *local { 0x20 } else { 0x21 }, *family, &block);
                let port = |at: usize| u16::from_be_bytes([addresses[at], addresses[at + 1]]);
                let header = match (*local, *family) {
                    (false, 0x11) => {
                        let ip = |at: usize| {
                            let b: [u8; 4] = addresses[at..at + 4].try_into().unwrap();
                            IpAddr::from(b)
                        };
                        ProxyHeader {
                            source: Some(SocketAddr::new(ip(0), port(8))),
                            destination: Some(SocketAddr::new(ip(4), port(10))),
                        }
                    }
                    (false, 0x21) => {
                        let ip = |at: usize| {
                            let b: [u8; 16] = addresses[at..at + 16].try_into().unwrap();
                            IpAddr::from(b)
                        };
                        ProxyHeader {
                            source: Some(SocketAddr::new(ip(0), port(32))),
                            destination: Some(SocketAddr::new(ip(16), port(34))),
                        }
                    }
                    _ => ProxyHeader::DIRECT,
                };
                (bytes, header)
            }
        }
    }

    fn v6_socket() -> impl Strategy<Value = SocketAddrV6> {
        (any::<[u8; 16]>(), any::<u16>(), 0u8..4).prop_map(|(ip, port, kind)| {
            // Zeros and IPv4-mapped addresses exercise "::" and dotted forms.
            let ip = match kind {
                0 => Ipv6Addr::from(ip),
                1 => Ipv6Addr::from(ip.map(|b| if b < 128 { 0 } else { b })),
                2 => Ipv4Addr::from([ip[0], ip[1], ip[2], ip[3]]).to_ipv6_mapped(),
                _ => Ipv6Addr::UNSPECIFIED,
            };
            SocketAddrV6::new(ip, port, 0, 0)
        })
    }

    fn case() -> impl Strategy<Value = Case> {
        let v4 =
            (any::<SocketAddrV4>(), any::<SocketAddrV4>()).prop_map(|(s, d)| Case::V1Tcp4(s, d));
        let style = prop_oneof![
            Just(V6Style::Display),
            Just(V6Style::Full),
            Just(V6Style::Padded)
        ];
        let v6 = (v6_socket(), v6_socket(), style).prop_map(|(s, d, st)| Case::V1Tcp6(s, d, st));
        let unknown = proptest::option::of("[ -~]{0,91}").prop_map(Case::V1Unknown);
        let family = prop_oneof![
            Just(0x00u8),
            Just(0x11),
            Just(0x12),
            Just(0x21),
            Just(0x22),
            Just(0x31),
            Just(0x32)
        ];
        let v2 = (
            any::<bool>(),
            family,
            any::<u8>(),
            proptest::collection::vec(any::<u8>(), 0..216),
            proptest::collection::vec(any::<u8>(), 0..300),
        )
            .prop_map(|(local, family, local_family, mut addresses, mut tlvs)| {
                let needed = match family {
                    0x00 => 0,
                    0x11 | 0x12 => 12,
                    0x21 | 0x22 => 36,
                    _ => 216,
                };
                addresses.resize(needed, 0xaa);
                // LOCAL ignores the family byte entirely.
                let family = if local { local_family } else { family };
                tlvs.truncate(MAX_V2_LEN - V2_FIXED_LEN - addresses.len());
                Case::V2 {
                    local,
                    family,
                    addresses,
                    tlvs,
                }
            });
        prop_oneof![v4, v6, unknown, v2]
    }

    proptest! {
        #[test]
        fn encoded_headers_parse_under_any_split(
            case in case(),
            rest in proptest::collection::vec(any::<u8>(), 0..20),
            mut cuts in proptest::collection::vec(0usize..600, 0..8),
        ) {
            let (header, expected) = encode(&case);
            prop_assert!(header.len() <= MAX_V1_LEN || header[0] == b'\r');
            let mut input = header.clone();
            input.extend_from_slice(&rest);
            let done = Ok(Parsed::Complete { len: header.len(), header: expected });
            prop_assert_eq!(parse(&input), done);
            for end in 0..header.len() {
                prop_assert_eq!(parse(&input[..end]), Ok(Parsed::Partial), "prefix of {}", end);
            }
            // Chunked reads, as a caller accumulates them: Partial until the header is in.
            cuts.push(input.len());
            cuts.sort_unstable();
            let mut buffer = Vec::new();
            let mut start = 0;
            for cut in cuts.into_iter().map(|c| c.min(input.len())) {
                buffer.extend_from_slice(&input[start..cut]);
                start = cut;
                let result = parse(&buffer);
                if buffer.len() < header.len() {
                    prop_assert_eq!(result, Ok(Parsed::Partial));
                } else {
                    prop_assert_eq!(result, done);
                }
            }
        }

        /// Whatever the bytes, the results over growing prefixes are `Partial`, then one
        /// result that no further byte changes; `Complete` never claims more than the input.
        #[test]
        fn any_bytes_decide_once(
            case in case(),
            flips in proptest::collection::vec((any::<usize>(), any::<u8>()), 0..3),
            rest in proptest::collection::vec(any::<u8>(), 0..40),
        ) {
            let (mut input, _) = encode(&case);
            for (at, byte) in flips {
                let at = at % input.len();
                input[at] = byte;
            }
            input.extend_from_slice(&rest);
            let last = parse(&input);
            let mut decided = None;
            for end in 0..=input.len() {
                let result = parse(&input[..end]);
                if let Ok(Parsed::Complete { len, .. }) = result {
                    prop_assert!(len <= end);
                }
                match decided {
                    None if result == Ok(Parsed::Partial) => {
                        prop_assert!(end < MAX_V2_LEN);
                    }
                    None => decided = Some(result),
                    Some(d) => prop_assert_eq!(result, d),
                }
            }
            prop_assert_eq!(decided.unwrap_or(Ok(Parsed::Partial)), last);
        }
    }
}
