//! What an application reads from an upgrade request to authenticate it: the query string's
//! parameters (RFC 3986 §3.4, in the `application/x-www-form-urlencoded` convention browsers
//! use) and the `Cookie` header's pairs (RFC 6265 §4.2.1). Zero-copy views; decoding writes
//! into the caller's buffer.

use crate::buffer::{Buffer, BufferFull};

/// The `name=value` pairs of a raw query string (without the `?`), in order, undecoded. Empty
/// pieces (`a=1&&b=2`) are skipped; a piece without `=` has an empty value.
pub fn query_pairs(query: &[u8]) -> impl Iterator<Item = (&[u8], &[u8])> {
    query
        .split(|&b| b == b'&')
        .filter(|piece| !piece.is_empty())
        .map(|piece| match piece.iter().position(|&b| b == b'=') {
            Some(at) => (&piece[..at], &piece[at + 1..]),
            None => (piece, &piece[piece.len()..]),
        })
}

/// The raw (undecoded) value of the first parameter named `name` (compared as sent, so a
/// name must not be percent-encoded to be found), or `None`.
pub fn query_value<'a>(query: &'a [u8], name: &[u8]) -> Option<&'a [u8]> {
    query_pairs(query).find(|(n, _)| *n == name).map(|(_, v)| v)
}

/// Appends `raw` to `out` with `%XX` escapes decoded, and `+` as a space when `plus_as_space`
/// (query strings: yes; paths and cookies: no). A `%` not followed by two hex digits is kept
/// as it is, as browsers do. All or nothing: on [`BufferFull`] nothing was appended.
pub fn percent_decode<B: Buffer + ?Sized>(
    raw: &[u8],
    plus_as_space: bool,
    out: &mut B,
) -> Result<(), BufferFull> {
    let decoded_len = decode(raw, plus_as_space, |_| {});
    if out.remaining_capacity() < decoded_len {
        return Err(BufferFull);
    }
    let mut chunk = [0u8; 64];
    let mut filled = 0;
    let mut result = Ok(());
    decode(raw, plus_as_space, |b| {
        chunk[filled] = b;
        filled += 1;
        if filled == chunk.len() {
            result = result.and(out.try_extend_from_slice(&chunk));
            filled = 0;
        }
    });
    result.and(out.try_extend_from_slice(&chunk[..filled]))
}

/// Feeds the decoded bytes of `raw` to `emit` and returns how many there were.
fn decode(raw: &[u8], plus_as_space: bool, mut emit: impl FnMut(u8)) -> usize {
    let hex = |b: u8| match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    };
    let (mut i, mut n) = (0, 0);
    while i < raw.len() {
        let b = raw[i];
        let escaped = match (b, raw.get(i + 1), raw.get(i + 2)) {
            (b'%', Some(&h), Some(&l)) => hex(h).zip(hex(l)).map(|(h, l)| h << 4 | l),
            _ => None,
        };
        match escaped {
            Some(byte) => {
                emit(byte);
                i += 3;
            }
            None => {
                emit(if plus_as_space && b == b'+' { b' ' } else { b });
                i += 1;
            }
        }
        n += 1;
    }
    n
}

/// The `name=value` pairs of a `Cookie` header value (RFC 6265 §4.2.1: separated by `;` and
/// optional spaces), in order; a value in double quotes is given without them. Pieces without
/// `=` are skipped.
pub fn cookies(header: &[u8]) -> impl Iterator<Item = (&[u8], &[u8])> {
    header.split(|&b| b == b';').filter_map(|piece| {
        let piece = trim_spaces(piece);
        let at = piece.iter().position(|&b| b == b'=')?;
        let (name, value) = (trim_spaces(&piece[..at]), trim_spaces(&piece[at + 1..]));
        let value = match value {
            [b'"', inner @ .., b'"'] => inner,
            _ => value,
        };
        (!name.is_empty()).then_some((name, value))
    })
}

/// The value of the first cookie named `name` (case-sensitive, as RFC 6265 compares names)
/// in a `Cookie` header value.
pub fn cookie<'a>(header: &'a [u8], name: &[u8]) -> Option<&'a [u8]> {
    cookies(header).find(|(n, _)| *n == name).map(|(_, v)| v)
}

fn trim_spaces(mut s: &[u8]) -> &[u8] {
    while let [b' ' | b'\t', rest @ ..] = s {
        s = rest;
    }
    while let [rest @ .., b' ' | b'\t'] = s {
        s = rest;
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::SliceBuffer;

    fn decoded(raw: &[u8], plus: bool) -> ([u8; 64], usize) {
        let mut storage = [0u8; 64];
        let mut out = SliceBuffer::new(&mut storage);
        percent_decode(raw, plus, &mut out).unwrap();
        let len = out.len();
        (storage, len)
    }

    #[test]
    fn query_parameters_split_and_decode() {
        let q = b"token=a%2Bb%3D&&room=general+chat&flag&=x&token=second";
        let pairs: [(&[u8], &[u8]); 5] = [
            (b"token", b"a%2Bb%3D"),
            (b"room", b"general+chat"),
            (b"flag", b""),
            (b"", b"x"),
            (b"token", b"second"),
        ];
        assert!(query_pairs(q).eq(pairs.iter().copied()));
        assert_eq!(query_value(q, b"token"), Some(&b"a%2Bb%3D"[..]));
        assert_eq!(query_value(q, b"missing"), None);
        let (buf, len) = decoded(b"a%2Bb%3D", true);
        assert_eq!(&buf[..len], b"a+b=");
        let (buf, len) = decoded(b"general+chat%20room", true);
        assert_eq!(&buf[..len], b"general chat room");
        let (buf, len) = decoded(b"a+b", false);
        assert_eq!(&buf[..len], b"a+b");
        // Broken escapes stay as they are.
        let (buf, len) = decoded(b"100%%zz%4", true);
        assert_eq!(&buf[..len], b"100%%zz%4");
        let (buf, len) = decoded(b"%e2%82%AC", true);
        assert_eq!(&buf[..len], "€".as_bytes());
    }

    #[test]
    fn decoding_is_all_or_nothing() {
        let mut storage = [0u8; 3];
        let mut out = SliceBuffer::new(&mut storage);
        assert_eq!(percent_decode(b"abcd", false, &mut out), Err(BufferFull));
        assert_eq!(out.len(), 0);
        percent_decode(b"%41bc", false, &mut out).unwrap();
        assert_eq!(out.as_slice(), b"Abc");
        // Longer than the internal chunk.
        let mut big = [0u8; 200];
        let mut out = SliceBuffer::new(&mut big);
        percent_decode(&[b'x'; 150], false, &mut out).unwrap();
        assert_eq!(out.as_slice(), &[b'x'; 150][..]);
    }

    #[test]
    fn cookies_split_trim_and_unquote() {
        let h = b"session=abc123; theme=\"dark\";  empty=; novalue ;=anon; session=later";
        let all: [(&[u8], &[u8]); 4] = [
            (b"session", b"abc123"),
            (b"theme", b"dark"),
            (b"empty", b""),
            (b"session", b"later"),
        ];
        assert!(cookies(h).eq(all.iter().copied()));
        assert_eq!(cookie(h, b"session"), Some(&b"abc123"[..]));
        assert_eq!(cookie(h, b"Session"), None);
        assert_eq!(cookie(b"", b"x"), None);
    }
}
