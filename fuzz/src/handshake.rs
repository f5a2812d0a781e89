//! `handshake_request`, `handshake_response` and `handshake_roundtrip`: the HTTP/1.1 upgrade.

use arbitrary::{Arbitrary, Unstructured};
use ws_proto::handshake::{
    ClientError, ClientRequest, Header, Limits, ParseError, RequestParser, RequestStatus,
    ResponseParser, ResponseStatus, StatusCode, WriteError, accept_key, encode_key, host_matches,
    origin_matches, validate_allowed_origin, write_error_response,
};
use ws_proto::{Buffer, SliceBuffer};

use crate::common::{Rng, chunkings, fnv1a};

/// The default limits, and small ones that fuzz inputs reach.
const LIMITS: [Limits; 2] = [Limits::DEFAULT, Limits::new(6, 200)];

/// The RFC 6455 §1.3 example key, and its accept value.
const KEY: &str = "dGhlIHNhbXBsZSBub25jZQ==";
const ACCEPT: &[u8] = b"s3pPLMBiTxaQ9kYGzzhZRbK+xOo=";
const OFFERED: [&str; 2] = ["chat", "superchat"];

/// Feeds growing prefixes of `data` to a fresh parser, ending where each piece ends, until the
/// parse is no longer partial.
fn parse_in_pieces<'d, T, E>(
    data: &'d [u8],
    pieces: &[usize],
    mut parse: impl FnMut(&'d [u8]) -> Result<T, E>,
    is_partial: impl Fn(&T) -> bool,
) -> Option<Result<T, E>> {
    let mut end = 0;
    let mut result = None;
    for &n in pieces {
        end += n;
        let r = parse(&data[..end]);
        let done = !matches!(&r, Ok(status) if is_partial(status));
        result = Some(r);
        if done {
            break;
        }
    }
    result
}

/// The input is the bytes a client sends before its first frame.
pub fn handshake_request(data: &[u8]) {
    let [_, bytes, derived] = chunkings(data.len(), fnv1a(data));
    for limits in LIMITS {
        let mut parser = RequestParser::with_limits(limits);
        let whole = parser.parse(data);
        // Any split parses like the whole (the parser resumes, it must not decide differently).
        for pieces in [&bytes, &derived] {
            let mut p = RequestParser::with_limits(limits);
            let split = parse_in_pieces(
                data,
                pieces,
                |b| p.parse(b),
                |s| *s == RequestStatus::Partial,
            )
            .unwrap_or(Ok(RequestStatus::Partial));
            assert_eq!(
                split, whole,
                "split {pieces:?} disagrees with one-shot parsing"
            );
        }
        match whole {
            Ok(RequestStatus::Partial) => {
                assert!(
                    data.len() < limits.max_head_len,
                    "partial past the head limit"
                );
            }
            Ok(RequestStatus::Complete { len, request }) => {
                check_head_len(data, len, limits);
                // A complete parse is stable: again, after a reset, and on the head alone.
                assert_eq!(parser.parse(data), whole);
                parser.reset();
                assert_eq!(parser.parse(data), whole);
                assert_eq!(
                    RequestParser::with_limits(limits).parse(&data[..len]),
                    whole
                );
                assert!(!request.method().is_empty() && !request.target().is_empty());
                assert!(request.target().bytes().all(|b| b.is_ascii_graphic()));
                check_headers(request.headers().iter().collect(), request.headers().len());
                match request.validate_upgrade() {
                    Ok(upgrade) => {
                        assert_eq!(request.method(), "GET");
                        assert!(upgrade.path().starts_with('/'));
                        assert!(host_matches(upgrade.host(), upgrade.host(), false));
                        let protocols: Vec<&str> = upgrade.protocols().collect();
                        // The 101 answer completes the handshake for the client (RFC 6455 §4.1).
                        for chosen in [None]
                            .into_iter()
                            .chain(protocols.first().copied().map(Some))
                        {
                            let mut out = Vec::new();
                            upgrade.write_accept(chosen, &[], &mut out).unwrap();
                            let mut parser = ResponseParser::new();
                            let Ok(ResponseStatus::Complete { len, response }) = parser.parse(&out)
                            else {
                                panic!("unparsable 101: {:?}", out.escape_ascii().to_string())
                            };
                            assert_eq!(len, out.len());
                            assert_eq!(response.status(), StatusCode::SWITCHING_PROTOCOLS);
                            let offered = if chosen.is_some() {
                                &protocols[..]
                            } else {
                                &[]
                            };
                            assert_eq!(
                                response.validate(upgrade.key().as_bytes(), offered),
                                Ok(chosen)
                            );
                        }
                        // A subprotocol the client did not offer is refused, nothing written.
                        let mut out = Vec::new();
                        if !protocols.contains(&"x-not-offered") {
                            let refused =
                                upgrade.write_accept(Some("x-not-offered"), &[], &mut out);
                            assert_eq!(refused, Err(WriteError::InvalidProtocol));
                            assert!(out.is_empty());
                        }
                    }
                    Err(err) => check_error_response(err.status(), err.into()),
                }
            }
            Err(err) => {
                check_parse_error(err);
                check_error_response(err.status(), err.into());
            }
        }
    }
}

/// The input is the bytes a server answers with.
pub fn handshake_response(data: &[u8]) {
    let [_, bytes, derived] = chunkings(data.len(), fnv1a(data));
    for limits in LIMITS {
        let mut parser = ResponseParser::with_limits(limits);
        let whole = parser.parse(data);
        for pieces in [&bytes, &derived] {
            let mut p = ResponseParser::with_limits(limits);
            let split = parse_in_pieces(
                data,
                pieces,
                |b| p.parse(b),
                |s| *s == ResponseStatus::Partial,
            )
            .unwrap_or(Ok(ResponseStatus::Partial));
            assert_eq!(
                split, whole,
                "split {pieces:?} disagrees with one-shot parsing"
            );
        }
        match whole {
            Ok(ResponseStatus::Partial) => {
                assert!(
                    data.len() < limits.max_head_len,
                    "partial past the head limit"
                );
            }
            Ok(ResponseStatus::Complete { len, response }) => {
                check_head_len(data, len, limits);
                assert_eq!(parser.parse(data), whole);
                parser.reset();
                assert_eq!(parser.parse(data), whole);
                assert_eq!(
                    ResponseParser::with_limits(limits).parse(&data[..len]),
                    whole
                );
                assert!((100..=999).contains(&response.status().as_u16()));
                let headers: Vec<Header<'_>> = response.headers().iter().collect();
                check_headers(headers.clone(), response.headers().len());
                let is = |h: &Header<'_>, name: &str| h.name.eq_ignore_ascii_case(name.as_bytes());
                let accepts: Vec<_> = headers
                    .iter()
                    .filter(|h| is(h, "sec-websocket-accept"))
                    .collect();
                let protocol_lines: Vec<_> = headers
                    .iter()
                    .filter(|h| is(h, "sec-websocket-protocol"))
                    .collect();
                match response.validate(KEY.as_bytes(), &OFFERED) {
                    Ok(chosen) => {
                        // Accepted: a 101 over HTTP/1.1 with exactly the right accept value
                        // (RFC 6455 §4.1, client steps 1-6).
                        assert_eq!(response.status(), StatusCode::SWITCHING_PROTOCOLS);
                        assert_eq!((response.version().major, response.version().minor), (1, 1));
                        assert!(matches!(accepts.as_slice(), [h] if h.value == ACCEPT));
                        assert!(headers.iter().any(|h| is(h, "upgrade")));
                        assert!(headers.iter().any(|h| is(h, "connection")));
                        match chosen {
                            None => assert!(protocol_lines.is_empty()),
                            Some(p) => {
                                assert!(OFFERED.contains(&p));
                                assert!(
                                    matches!(protocol_lines.as_slice(), [h] if h.value == p.as_bytes())
                                );
                            }
                        }
                        // It completes the handshake for this key only, and only for a client
                        // that offered the chosen subprotocol.
                        let other = response.validate(b"AQIDBAUGBwgJCgsMDQ4PEA==", &OFFERED);
                        assert_eq!(other, Err(ClientError::InvalidAccept));
                        if chosen.is_some() {
                            let none = response.validate(KEY.as_bytes(), &[]);
                            assert_eq!(none, Err(ClientError::UnexpectedProtocol));
                        }
                    }
                    Err(ClientError::Status(status)) => {
                        assert_eq!(status, response.status());
                        assert_ne!(status, StatusCode::SWITCHING_PROTOCOLS);
                    }
                    Err(ClientError::InvalidAccept) => {
                        assert!(!matches!(accepts.as_slice(), [h] if h.value == ACCEPT));
                    }
                    Err(_) => {}
                }
            }
            Err(err) => check_parse_error(err),
        }
    }
}

fn check_head_len(data: &[u8], len: usize, limits: Limits) {
    assert!(
        len <= data.len(),
        "head of {len} bytes in {} bytes of input",
        data.len()
    );
    assert!(
        len <= limits.max_head_len,
        "head of {len} bytes over the limit"
    );
    assert!(
        data[..len].ends_with(b"\n"),
        "head does not end with a line end"
    );
}

/// Header lines as the parser hands them out: token names, values without control characters
/// or surrounding whitespace (RFC 7230 §3.2).
fn check_headers(headers: Vec<Header<'_>>, count: usize) {
    assert_eq!(headers.len(), count, "header count");
    for h in headers {
        assert!(!h.name.is_empty(), "empty header name");
        assert!(
            h.name
                .iter()
                .all(|&b| b.is_ascii_graphic() && !b"\"(),/:;<=>?@[\\]{}".contains(&b)),
            "header name {:?} is not a token",
            h.name.escape_ascii().to_string()
        );
        assert!(
            h.value
                .iter()
                .all(|&b| b == b'\t' || (b >= 0x20 && b != 0x7f)),
            "control character in value"
        );
        assert!(
            !h.value.starts_with(b" ") && !h.value.ends_with(b" "),
            "value not trimmed"
        );
        assert!(
            !h.value.starts_with(b"\t") && !h.value.ends_with(b"\t"),
            "value not trimmed"
        );
    }
}

fn check_parse_error(err: ParseError) {
    let status = err.status().as_u16();
    match err {
        ParseError::HeadTooLarge | ParseError::TooManyHeaders => assert_eq!(status, 431),
        _ => assert_eq!(status, 400),
    }
}

/// The error response is a complete HTTP response with that status, whose body is exactly
/// `Content-Length` bytes, that a client refuses.
fn check_error_response(status: StatusCode, as_status: StatusCode) {
    assert_eq!(status, as_status);
    assert!(
        matches!(status.as_u16(), 400..=599),
        "error status {status}"
    );
    let mut out = Vec::new();
    write_error_response(status, &mut out).unwrap();
    let Ok(ResponseStatus::Complete { len, response }) = ResponseParser::new().parse(&out) else {
        panic!(
            "unparsable error response {:?}",
            out.escape_ascii().to_string()
        )
    };
    assert_eq!(response.status(), status);
    let length = response
        .headers()
        .get("content-length")
        .expect("Content-Length");
    assert_eq!(length, (out.len() - len).to_string().as_bytes());
    assert_eq!(
        &out[len..],
        format!("{}\n", status.reason_phrase()).as_bytes()
    );
    assert_eq!(
        response.validate(KEY.as_bytes(), &[]),
        Err(ClientError::Status(status))
    );
    // All or nothing into a buffer one byte too small.
    let mut storage = vec![0; out.len() - 1];
    let mut small = SliceBuffer::new(&mut storage);
    assert!(write_error_response(status, &mut small).is_err());
    assert!(small.is_empty());
}

/// What a client application asks for.
#[derive(Debug, Clone, Arbitrary)]
pub(crate) struct ClientSetup<'a> {
    pub host: &'a str,
    pub path: &'a str,
    pub origin: Option<&'a str>,
    pub protocols: Vec<&'a str>,
    pub headers: Vec<(&'a str, &'a str)>,
    pub nonce: [u8; 16],
    /// Capacity of a fixed buffer the request is also written to.
    pub capacity: u16,
    /// Which offered subprotocol the server picks, if any.
    pub pick: Option<u8>,
}

/// A full opening handshake between the client writer/validator and the server
/// parser/validator: whatever the client writes, the server accepts and reads back unchanged.
pub fn handshake_roundtrip(data: &[u8]) {
    let Ok(setup) = ClientSetup::arbitrary_take_rest(Unstructured::new(data)) else {
        return;
    };
    let key = encode_key(&setup.nonce);
    let key_str = core::str::from_utf8(&key).expect("base64 is ASCII");
    let protocols = setup.protocols.clone();
    let headers: Vec<Header<'_>> = setup
        .headers
        .iter()
        .map(|(n, v)| Header::new(n.as_bytes(), v.as_bytes()))
        .collect();
    let mut request = ClientRequest::new(setup.host, setup.path)
        .protocols(&protocols)
        .headers(&headers);
    if let Some(origin) = setup.origin {
        request = request.origin(origin);
    }
    let mut out = Vec::new();
    let written = request.write(&key, &mut out);

    // The same into a fixed buffer: the same bytes, or nothing at all.
    let mut storage = vec![0; usize::from(setup.capacity)];
    let mut fixed = SliceBuffer::new(&mut storage);
    match request.write(&key, &mut fixed) {
        Ok(()) => assert_eq!(fixed.as_slice(), out.as_slice()),
        Err(WriteError::BufferFull) => {
            assert!(fixed.is_empty());
            assert!(written.is_ok() && out.len() > usize::from(setup.capacity));
        }
        Err(e) => {
            assert!(fixed.is_empty());
            assert_eq!(written, Err(e));
        }
    }
    if written.is_err() {
        assert!(out.is_empty(), "a failed write wrote {} bytes", out.len());
        return;
    }

    // The server side.
    let unlimited = Limits::new(usize::MAX, usize::MAX);
    let status = RequestParser::with_limits(unlimited).parse(&out);
    let Ok(RequestStatus::Complete {
        len,
        request: parsed,
    }) = status
    else {
        panic!("{status:?} for {:?}", out.escape_ascii().to_string())
    };
    assert_eq!(len, out.len());
    let upgrade = match parsed.validate_upgrade() {
        Ok(upgrade) => upgrade,
        Err(e) => panic!("{e:?} for {:?}", out.escape_ascii().to_string()),
    };
    assert_eq!(upgrade.key(), key_str);
    assert_eq!(upgrade.host(), setup.host);
    assert!(host_matches(upgrade.host(), setup.host, false));
    let target = match upgrade.query() {
        Some(query) => format!("{}?{query}", upgrade.path()),
        None => upgrade.path().to_owned(),
    };
    assert_eq!(target, setup.path);
    let received: Vec<&str> = upgrade.protocols().collect();
    assert_eq!(received, protocols);
    match setup.origin {
        Some(origin) => {
            assert_eq!(upgrade.origin(), Some(origin.as_bytes()));
            assert!(validate_allowed_origin(origin).is_ok());
            assert!(origin_matches(origin.as_bytes(), origin));
        }
        None => assert_eq!(upgrade.origin(), None),
    }
    for h in &headers {
        let values: Vec<&[u8]> = parsed
            .headers()
            .get_all(core::str::from_utf8(h.name).unwrap())
            .collect();
        let trimmed = h.value.trim_ascii();
        assert!(values.contains(&trimmed), "extra header {h:?} lost");
    }

    // The server's answer, and the client's verdict on it.
    let chosen = setup.pick.and_then(|i| {
        protocols
            .get(usize::from(i) % protocols.len().max(1))
            .copied()
    });
    let mut answer = Vec::new();
    upgrade.write_accept(chosen, &[], &mut answer).unwrap();
    assert_eq!(
        answer
            .windows(28)
            .filter(|w| *w == accept_key(key_str.as_bytes()))
            .count(),
        1
    );
    let status = ResponseParser::new().parse(&answer);
    let Ok(ResponseStatus::Complete { len, response }) = status else {
        panic!("{status:?}")
    };
    assert_eq!(len, answer.len());
    assert_eq!(response.validate(&key, &protocols), Ok(chosen));

    // A key that the request did not carry fails the handshake.
    let mut rng = Rng::new(fnv1a(&setup.nonce));
    let mut other = setup.nonce;
    other[usize::from(rng.next_u64() as u8 % 16)] ^= 1;
    assert_eq!(
        response.validate(&encode_key(&other), &protocols),
        Err(ClientError::InvalidAccept)
    );
}
