//! `proxy`: the input is the first bytes of a connection on a PROXY-protocol listener.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use ws_proto::proxy::{MAX_V1_LEN, MAX_V2_LEN, Parsed, ProxyError, ProxyHeader, parse};

const V1_SIGNATURE: &[u8] = b"PROXY";
const V2_SIGNATURE: &[u8] = b"\r\n\r\n\0\r\nQUIT\n";

const DIRECT: ProxyHeader = ProxyHeader {
    source: None,
    destination: None,
};

/// Properties, for any bytes:
/// * over growing prefixes, the result is `Partial` (only below [`MAX_V2_LEN`] bytes and while
///   the bytes can still start a signature), then one result that no later byte changes, so
///   any split of the reads parses like the whole;
/// * `Complete { len }` never exceeds the input, and the header alone parses the same;
/// * a complete header is exactly what independent one-shot parsers, written from the spec,
///   make of the bytes, and they accept nothing that `parse` refuses;
/// * errors describe the bytes (`NotProxy` exactly when neither signature fits, the lengths
///   that `TooLong` and `AddressLengthMismatch` report);
/// * the addresses found re-encode, as v1 and as v2, to headers that parse back to them.
pub fn proxy(data: &[u8]) {
    let whole = parse(data);

    // Past MAX_V2_LEN bytes every input is decided, so longer prefixes need no check.
    let mut decided = None;
    for end in 0..=data.len().min(MAX_V2_LEN) {
        let result = parse(&data[..end]);
        match decided {
            None if result == Ok(Parsed::Partial) => {
                assert!(end < MAX_V2_LEN, "partial at {end} bytes");
                assert!(
                    fits_signature(&data[..end]),
                    "partial after a signature mismatch"
                );
            }
            None => decided = Some(result),
            Some(first) => assert_eq!(result, first, "changed by byte {}", end - 1),
        }
    }
    assert_eq!(
        decided.unwrap_or(Ok(Parsed::Partial)),
        whole,
        "the whole input disagrees with its prefixes"
    );

    assert_eq!(
        whole == Err(ProxyError::NotProxy),
        !fits_signature(data),
        "NotProxy disagrees with the signatures"
    );

    let reference = match data.first() {
        Some(b'P') => reference_v1(data),
        Some(b'\r') => reference_v2(data),
        _ => None,
    };
    match whole {
        Ok(Parsed::Partial) => assert_eq!(reference, None, "reference parsed a partial header"),
        Ok(Parsed::Complete { len, header }) => {
            assert!(len <= data.len(), "len {len} past the input");
            assert_eq!(reference, Some((len, header)), "reference disagrees");
            assert_eq!(
                parse(&data[..len]),
                whole,
                "the header alone parses differently"
            );
            assert_eq!(
                header.source.is_some(),
                header.destination.is_some(),
                "one address without the other"
            );
            if let (Some(s), Some(d)) = (header.source, header.destination) {
                assert_eq!(s.is_ipv4(), d.is_ipv4(), "addresses of two families");
                round_trip(s, d);
            }
        }
        Err(e) => {
            assert_eq!(reference, None, "reference accepted what failed with {e:?}");
            check_error(data, e);
        }
    }
}

/// Whether `data` is a prefix of a signature or starts with one.
fn fits_signature(data: &[u8]) -> bool {
    [V1_SIGNATURE, V2_SIGNATURE]
        .iter()
        .any(|sig| sig.starts_with(&data[..data.len().min(sig.len())]))
}

/// The announced v2 length field, when the fixed part is there.
fn v2_len_field(data: &[u8]) -> usize {
    usize::from(u16::from_be_bytes([data[14], data[15]]))
}

fn check_error(data: &[u8], e: ProxyError) {
    match e {
        ProxyError::V1TooLong => {
            assert!(data.starts_with(V1_SIGNATURE) && data.len() >= MAX_V1_LEN);
            let line = &data[..MAX_V1_LEN];
            assert!(
                !line.windows(2).any(|w| w == b"\r\n"),
                "too long with a CRLF"
            );
        }
        ProxyError::V1Malformed => assert!(data.starts_with(V1_SIGNATURE)),
        ProxyError::BadVersion(v) => {
            assert!(data.starts_with(V2_SIGNATURE) && v != 2 && data[12] >> 4 == v);
        }
        ProxyError::BadCommand(c) => {
            assert!(data.starts_with(V2_SIGNATURE) && c > 1 && data[12] == 0x20 | c);
        }
        ProxyError::BadFamily(f) => assert!(data[12] == 0x21 && data[13] == f),
        ProxyError::AddressLengthMismatch { len, needed } => {
            assert!(data[12] == 0x21 && len == v2_len_field(data) && len < needed);
        }
        ProxyError::TooLong(len) => {
            assert!(len > MAX_V2_LEN && len == 16 + v2_len_field(data));
        }
        ProxyError::NotProxy => {}
        e => panic!("unexpected error {e:?}"),
    }
}

/// Version 1 from the spec, one shot: the line up to the first CRLF, split at spaces.
fn reference_v1(data: &[u8]) -> Option<(usize, ProxyHeader)> {
    let end = data.windows(2).position(|w| w == b"\r\n")?;
    let len = end + 2;
    let line = &data[..end];
    if len > MAX_V1_LEN || line.contains(&b'\r') || line.contains(&b'\n') {
        return None;
    }
    let parts: Vec<&[u8]> = line.split(|&b| b == b' ').collect();
    if parts.len() < 2 || parts[0] != b"PROXY" {
        return None;
    }
    if parts[1] == b"UNKNOWN" {
        return Some((len, DIRECT));
    }
    let [_, protocol, src, dst, sport, dport] = parts[..] else {
        return None;
    };
    let text = |b: &[u8]| std::str::from_utf8(b).ok().map(str::to_owned);
    let ip = |b: &[u8]| -> Option<IpAddr> {
        match protocol {
            b"TCP4" => text(b)?.parse::<Ipv4Addr>().ok().map(IpAddr::V4),
            b"TCP6" => text(b)?.parse::<Ipv6Addr>().ok().map(IpAddr::V6),
            _ => None,
        }
    };
    // Canonical decimal: what a port prints as is all it may be written as.
    let port = |b: &[u8]| -> Option<u16> {
        let p: u16 = text(b)?.parse().ok()?;
        (p.to_string().as_bytes() == b).then_some(p)
    };
    Some((
        len,
        ProxyHeader {
            source: Some(SocketAddr::new(ip(src)?, port(sport)?)),
            destination: Some(SocketAddr::new(ip(dst)?, port(dport)?)),
        },
    ))
}

/// Version 2 from the spec, one shot.
fn reference_v2(data: &[u8]) -> Option<(usize, ProxyHeader)> {
    if data.len() < 16 || !data.starts_with(V2_SIGNATURE) {
        return None;
    }
    let len = 16 + v2_len_field(data);
    let block = data.get(16..len)?;
    if len > MAX_V2_LEN {
        return None;
    }
    let header = match data[12] {
        0x20 => DIRECT,
        0x21 => {
            let port = |at: usize| u16::from_be_bytes([block[at], block[at + 1]]);
            match data[13] {
                0x11 if block.len() >= 12 => {
                    let ip =
                        |at: usize| IpAddr::from(<[u8; 4]>::try_from(&block[at..at + 4]).unwrap());
                    ProxyHeader {
                        source: Some(SocketAddr::new(ip(0), port(8))),
                        destination: Some(SocketAddr::new(ip(4), port(10))),
                    }
                }
                0x21 if block.len() >= 36 => {
                    let ip = |at: usize| {
                        IpAddr::from(<[u8; 16]>::try_from(&block[at..at + 16]).unwrap())
                    };
                    ProxyHeader {
                        source: Some(SocketAddr::new(ip(0), port(32))),
                        destination: Some(SocketAddr::new(ip(16), port(34))),
                    }
                }
                0x00 => DIRECT,
                0x12 if block.len() >= 12 => DIRECT,
                0x22 if block.len() >= 36 => DIRECT,
                0x31 | 0x32 if block.len() >= 216 => DIRECT,
                _ => return None,
            }
        }
        _ => return None,
    };
    Some((len, header))
}

/// The addresses, written as v1 and as v2 headers, parse back to themselves.
fn round_trip(s: SocketAddr, d: SocketAddr) {
    let expected = ProxyHeader {
        source: Some(s),
        destination: Some(d),
    };
    let (protocol, family) = if s.is_ipv4() {
        ("TCP4", 0x11)
    } else {
        ("TCP6", 0x21)
    };
    let v1 = format!(
        "PROXY {protocol} {} {} {} {}\r\n",
        s.ip(),
        d.ip(),
        s.port(),
        d.port()
    );
    let mut v2 = V2_SIGNATURE.to_vec();
    let mut block = Vec::new();
    for addr in [s, d] {
        match addr.ip() {
            IpAddr::V4(ip) => block.extend_from_slice(&ip.octets()),
            IpAddr::V6(ip) => block.extend_from_slice(&ip.octets()),
        }
    }
    block.extend_from_slice(&s.port().to_be_bytes());
    block.extend_from_slice(&d.port().to_be_bytes());
    v2.extend_from_slice(&[0x21, family]);
    v2.extend_from_slice(&u16::try_from(block.len()).unwrap().to_be_bytes());
    v2.extend_from_slice(&block);
    for bytes in [v1.as_bytes(), &v2] {
        assert_eq!(
            parse(bytes),
            Ok(Parsed::Complete {
                len: bytes.len(),
                header: expected
            }),
            "re-encoded {bytes:?}"
        );
    }
}
