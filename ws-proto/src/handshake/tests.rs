//! Handshake tests; each cites the rule it checks.

extern crate std;

use std::string::String;
use std::vec::Vec;
use std::{format, vec};

use proptest::prelude::*;

use super::*;
use crate::{Buffer, BufferFull, SliceBuffer};

/// The sample request of RFC 6455 §1.2.
const RFC_REQUEST: &[u8] = b"GET /chat HTTP/1.1\r\n\
Host: server.example.com\r\n\
Upgrade: websocket\r\n\
Connection: Upgrade\r\n\
Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
Origin: http://example.com\r\n\
Sec-WebSocket-Protocol: chat, superchat\r\n\
Sec-WebSocket-Version: 13\r\n\
\r\n";

/// A masked "Hello" text frame (RFC 6455 §5.7).
const HELLO_FRAME: &[u8] = b"\x81\x85\x37\xfa\x21\x3d\x7f\x9f\x4d\x51\x58";

const KEY: &str = "dGhlIHNhbXBsZSBub25jZQ==";

/// The headers of a minimal valid request.
const BASE: [&str; 5] = [
    "Host: example.com",
    "Upgrade: websocket",
    "Connection: Upgrade",
    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==",
    "Sec-WebSocket-Version: 13",
];

fn request(start: &str, headers: &[&str]) -> Vec<u8> {
    let mut r = String::from(start);
    r.push_str("\r\n");
    for h in headers {
        r.push_str(h);
        r.push_str("\r\n");
    }
    r.push_str("\r\n");
    r.into_bytes()
}

/// The base request with the header named like `name` removed, and `extra` lines added.
fn base_without(name: &str, extra: &[&str]) -> Vec<u8> {
    let mut headers: Vec<&str> = BASE
        .iter()
        .copied()
        .filter(|h| {
            !h.to_ascii_lowercase()
                .starts_with(&format!("{}:", name.to_ascii_lowercase()))
        })
        .collect();
    headers.extend_from_slice(extra);
    request("GET /chat HTTP/1.1", &headers)
}

fn base_with(extra: &[&str]) -> Vec<u8> {
    base_without("-", extra)
}

fn complete(buf: &[u8]) -> (usize, Request<'_>) {
    match RequestParser::new().parse(buf) {
        Ok(RequestStatus::Complete { len, request }) => (len, request),
        other => panic!("not complete: {other:?}"),
    }
}

fn upgrade(buf: &[u8]) -> Result<UpgradeRequest<'_>, HandshakeError> {
    match RequestParser::new().parse(buf)? {
        RequestStatus::Complete { request, .. } => request.validate_upgrade(),
        RequestStatus::Partial => panic!("partial"),
    }
}

/// Feeds `buf` in pieces ending at `cuts` (then the rest), as a caller appending reads would.
fn parse_split<'a>(buf: &'a [u8], cuts: &[usize]) -> Result<RequestStatus<'a>, ParseError> {
    parse_split_with(Limits::DEFAULT, buf, cuts)
}

fn parse_split_with<'a>(
    limits: Limits,
    buf: &'a [u8],
    cuts: &[usize],
) -> Result<RequestStatus<'a>, ParseError> {
    let mut parser = RequestParser::with_limits(limits);
    for &cut in cuts {
        let cut = cut.min(buf.len());
        match parser.parse(&buf[..cut])? {
            RequestStatus::Partial => {}
            complete => return Ok(complete),
        }
    }
    parser.parse(buf)
}

fn complete_response(buf: &[u8]) -> (usize, Response<'_>) {
    match ResponseParser::new().parse(buf) {
        Ok(ResponseStatus::Complete { len, response }) => (len, response),
        other => panic!("not complete: {other:?}"),
    }
}

// RFC 6455 §1.3: the worked example of the accept computation.
#[test]
fn accept_key_rfc_example() {
    assert_eq!(&accept_key(KEY.as_bytes()), b"s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
}

// RFC 6455 §1.2, §4.2.1: the sample request is a valid upgrade with every view borrowed.
#[test]
fn rfc_sample_request() {
    let (len, req) = complete(RFC_REQUEST);
    assert_eq!(len, RFC_REQUEST.len());
    assert_eq!(req.method(), "GET");
    assert_eq!(req.target(), "/chat");
    assert_eq!(req.version(), HttpVersion::HTTP_11);
    assert_eq!(req.headers().len(), 7);
    let up = req.validate_upgrade().unwrap();
    assert_eq!(up.key(), KEY);
    assert_eq!(up.host(), "server.example.com");
    assert_eq!(up.path(), "/chat");
    assert_eq!(up.query(), None);
    assert_eq!(up.origin(), Some(&b"http://example.com"[..]));
    assert_eq!(up.protocols().collect::<Vec<_>>(), ["chat", "superchat"]);
    assert_eq!(up.extensions().count(), 0);
    assert_eq!(&up.accept_key(), b"s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
    // Zero-copy: the key points into the buffer.
    let start = RFC_REQUEST.as_ptr() as usize;
    let key = up.key().as_ptr() as usize;
    assert!(key > start && key < start + RFC_REQUEST.len());
}

// RFC 6455 §1.2, §4.2.2: the sample response, byte for byte.
#[test]
fn rfc_sample_response() {
    let up = upgrade(RFC_REQUEST).unwrap();
    let mut out = Vec::new();
    up.write_accept(Some("chat"), &[], &mut out).unwrap();
    assert_eq!(
        out,
        b"HTTP/1.1 101 Switching Protocols\r\n\
Upgrade: websocket\r\n\
Connection: Upgrade\r\n\
Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\
Sec-WebSocket-Protocol: chat\r\n\
\r\n"
    );
    out.clear();
    write_accept_response(
        KEY.as_bytes(),
        None,
        &[Header::new(b"Set-Cookie", b"a=b")],
        &mut out,
    )
    .unwrap();
    assert!(out.ends_with(b"xOo=\r\nSet-Cookie: a=b\r\n\r\n"));
    // The subprotocol before the extra headers, these in the caller's order.
    out.clear();
    write_accept_response(
        KEY.as_bytes(),
        Some("chat"),
        &[Header::new(b"Set-Cookie", b"a=b"), Header::new(b"X-A", b"")],
        &mut out,
    )
    .unwrap();
    assert!(
        out.ends_with(b"xOo=\r\nSec-WebSocket-Protocol: chat\r\nSet-Cookie: a=b\r\nX-A: \r\n\r\n")
    );
    out.clear();
    write_accept_response(KEY.as_bytes(), None, &[], &mut out).unwrap();
    assert!(out.ends_with(
        b"Connection: Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n"
    ));
}

// RFC 6455 §4.2.1 and RFC 7230 §3.1.1, §3.3.3, §5.3, §5.4: each rule with its status.
#[test]
fn validation_rules_and_statuses() {
    use HandshakeError as E;
    let cases: Vec<(Vec<u8>, HandshakeError, u16)> = vec![
        // §4.1 point 2: GET only, case-sensitively (RFC 7230 §3.1.1).
        (
            request("POST /chat HTTP/1.1", &BASE),
            E::MethodNotAllowed,
            405,
        ),
        (
            request("get /chat HTTP/1.1", &BASE),
            E::MethodNotAllowed,
            405,
        ),
        // §4.1 point 2: HTTP/1.1 only.
        (
            request("GET /chat HTTP/1.0", &BASE),
            E::UnsupportedHttpVersion,
            400,
        ),
        (
            request("GET /chat HTTP/2.0", &BASE),
            E::UnsupportedHttpVersion,
            400,
        ),
        (
            request("GET /chat HTTP/2", &BASE),
            E::Parse(ParseError::InvalidStartLine),
            400,
        ),
        // RFC 7230 §5.3 / RFC 6455 §3: origin-form or http(s)/ws(s) absolute-form, no fragment.
        (request("GET * HTTP/1.1", &BASE), E::InvalidTarget, 400),
        (
            request("GET example.com:80 HTTP/1.1", &BASE),
            E::InvalidTarget,
            400,
        ),
        (
            request("GET /chat#x HTTP/1.1", &BASE),
            E::InvalidTarget,
            400,
        ),
        (
            request("GET ftp://example.com/ HTTP/1.1", &BASE),
            E::InvalidTarget,
            400,
        ),
        (
            request("GET http://u@example.com/ HTTP/1.1", &BASE),
            E::InvalidTarget,
            400,
        ),
        (
            request("GET http:///chat HTTP/1.1", &BASE),
            E::InvalidTarget,
            400,
        ),
        // RFC 7230 §5.4: exactly one valid Host.
        (base_without("host", &[]), E::MissingHost, 400),
        (
            base_with(&["Host: example.com"]),
            E::DuplicateHeader("Host"),
            400,
        ),
        (base_without("host", &["Host:"]), E::InvalidHost, 400),
        (base_without("host", &["Host: a/b"]), E::InvalidHost, 400),
        (base_without("host", &["Host: u@a"]), E::InvalidHost, 400),
        (
            base_without("host", &["Host: a:65536"]),
            E::InvalidHost,
            400,
        ),
        (base_without("host", &["Host: a:"]), E::InvalidHost, 400),
        // RFC 7231 §6.5.15: a plain GET is told to upgrade.
        (base_without("upgrade", &[]), E::UpgradeRequired, 426),
        // §4.2.1 point 3: the websocket token, not a prefix of it.
        (
            base_without("upgrade", &["Upgrade: h2c"]),
            E::NotWebSocket,
            400,
        ),
        (
            base_without("upgrade", &["Upgrade: websocketx"]),
            E::NotWebSocket,
            400,
        ),
        (
            base_without("upgrade", &["Upgrade: websocket/13"]),
            E::NotWebSocket,
            400,
        ),
        // §4.2.1 point 4: the upgrade token.
        (
            base_without("connection", &[]),
            E::MissingConnectionUpgrade,
            400,
        ),
        (
            base_without("connection", &["Connection: keep-alive"]),
            E::MissingConnectionUpgrade,
            400,
        ),
        (
            base_without("connection", &["Connection: upgrades"]),
            E::MissingConnectionUpgrade,
            400,
        ),
        // §4.2.1 point 6, §4.4: version 13, else 426.
        (
            base_without("sec-websocket-version", &[]),
            E::UnsupportedVersion,
            426,
        ),
        (
            base_without("sec-websocket-version", &["Sec-WebSocket-Version: 8"]),
            E::UnsupportedVersion,
            426,
        ),
        (
            base_without("sec-websocket-version", &["Sec-WebSocket-Version: 13, 8"]),
            E::UnsupportedVersion,
            426,
        ),
        (
            base_with(&["Sec-WebSocket-Version: 13"]),
            E::DuplicateHeader("Sec-WebSocket-Version"),
            400,
        ),
        // §4.2.1 point 5, §4.1 point 7: base64 of exactly 16 bytes, once.
        (base_without("sec-websocket-key", &[]), E::MissingKey, 400),
        (
            base_without("sec-websocket-key", &["Sec-WebSocket-Key:"]),
            E::InvalidKey,
            400,
        ),
        (
            base_without(
                "sec-websocket-key",
                &["Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ"],
            ),
            E::InvalidKey,
            400,
        ),
        // 15 bytes.
        (
            base_without(
                "sec-websocket-key",
                &["Sec-WebSocket-Key: AAAAAAAAAAAAAAAAAAAA"],
            ),
            E::InvalidKey,
            400,
        ),
        // 17 bytes.
        (
            base_without(
                "sec-websocket-key",
                &["Sec-WebSocket-Key: AAAAAAAAAAAAAAAAAAAAAAA="],
            ),
            E::InvalidKey,
            400,
        ),
        // Non-canonical trailing bits (RFC 4648 §3.5).
        (
            base_without(
                "sec-websocket-key",
                &["Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZR=="],
            ),
            E::InvalidKey,
            400,
        ),
        (
            base_without(
                "sec-websocket-key",
                &["Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25j*Q=="],
            ),
            E::InvalidKey,
            400,
        ),
        (
            base_with(&["Sec-WebSocket-Key: AAAAAAAAAAAAAAAAAAAAAA=="]),
            E::DuplicateHeader("Sec-WebSocket-Key"),
            400,
        ),
        // RFC 6454 §7.3: one Origin, so a check cannot be fooled by which one is read.
        (
            base_with(&["Origin: http://a.example", "Origin: http://b.example"]),
            E::DuplicateHeader("Origin"),
            400,
        ),
        // §4.1 point 10: subprotocols are tokens.
        (
            base_with(&["Sec-WebSocket-Protocol: chat, super chat"]),
            E::InvalidProtocol,
            400,
        ),
        (
            base_with(&["Sec-WebSocket-Protocol: chat;v=1"]),
            E::InvalidProtocol,
            400,
        ),
        // RFC 7230 §3.3.3: no body before the frames.
        (base_with(&["Content-Length: 5"]), E::UnexpectedBody, 400),
        (
            base_with(&["Transfer-Encoding: chunked"]),
            E::UnexpectedBody,
            400,
        ),
    ];
    for (req, error, status) in cases {
        let got = upgrade(&req);
        assert_eq!(got, Err(error), "{}", req.escape_ascii());
        assert_eq!(error.status().as_u16(), status, "{error:?}");
    }
    // What is allowed.
    assert!(upgrade(&base_with(&["Content-Length: 0"])).is_ok());
    assert!(upgrade(&base_with(&["Content-Length: 00"])).is_ok());
    assert_eq!(
        upgrade(&base_with(&["Content-Length:"])),
        Err(HandshakeError::UnexpectedBody)
    );
    assert!(upgrade(&base_with(&["Sec-WebSocket-Protocol: chat,, superchat"])).is_ok());
    assert!(upgrade(&base_without("host", &["Host: [::1]:8080"])).is_ok());
    assert!(upgrade(&base_without("host", &["Host: 127.0.0.1"])).is_ok());
}

// RFC 7231 §6.5.5, §6.5.15, RFC 6455 §4.4: the responses carry the headers their status needs.
#[test]
fn error_responses_carry_their_headers() {
    let mut out = Vec::new();
    write_error_response(
        upgrade(&request("POST /chat HTTP/1.1", &BASE)).unwrap_err(),
        &mut out,
    )
    .unwrap();
    assert_eq!(
        out,
        b"HTTP/1.1 405 Method Not Allowed\r\nAllow: GET\r\nConnection: close\r\n\
Content-Type: text/plain\r\nContent-Length: 19\r\n\r\nMethod Not Allowed\n"
    );
    out.clear();
    let error = upgrade(&base_without(
        "sec-websocket-version",
        &["Sec-WebSocket-Version: 8"],
    ))
    .unwrap_err();
    assert_eq!(StatusCode::from(&error), StatusCode::UPGRADE_REQUIRED);
    write_error_response(error, &mut out).unwrap();
    let (_, response) = complete_response(&out);
    assert_eq!(response.status(), StatusCode::UPGRADE_REQUIRED);
    assert_eq!(
        response.headers().get("sec-websocket-version"),
        Some(&b"13"[..])
    );
    assert_eq!(response.headers().get("upgrade"), Some(&b"websocket"[..]));
}

// An application's rejection (e.g. a 401 from an upgrade hook) carries its own body.
#[test]
fn error_responses_with_a_body() {
    let mut out = Vec::new();
    write_error_response_with_body(StatusCode::new(401).unwrap(), b"bad token", &mut out).unwrap();
    let (len, response) = complete_response(&out);
    assert_eq!(response.status().as_u16(), 401);
    assert_eq!(&out[len..], b"bad token");
    let headers = response.headers();
    assert_eq!(headers.get("content-length"), Some(&b"9"[..]));
    assert_eq!(
        headers.get("content-type"),
        Some(&b"text/plain; charset=utf-8"[..])
    );
    // No body: the reason phrase, as without one.
    let mut plain = Vec::new();
    write_error_response_with_body(StatusCode::TOO_MANY_REQUESTS, b"", &mut out).unwrap();
    write_error_response(StatusCode::TOO_MANY_REQUESTS, &mut plain).unwrap();
    assert!(out.ends_with(&plain));
    // All or nothing.
    let mut storage = [0u8; 40];
    let mut small = SliceBuffer::new(&mut storage);
    assert_eq!(
        write_error_response_with_body(StatusCode::FORBIDDEN, b"nope", &mut small),
        Err(BufferFull)
    );
    assert!(small.is_empty());
}

// RFC 7230 §3.1.2, §3.3.2: every error response is complete and self-consistent.
#[test]
fn error_responses_are_complete() {
    for code in [400, 403, 404, 405, 408, 426, 429, 431, 500, 503, 418, 599] {
        let status = StatusCode::new(code).unwrap();
        let mut out = Vec::new();
        write_error_response(status, &mut out).unwrap();
        let (len, response) = complete_response(&out);
        let body = &out[len..];
        assert_eq!(response.status(), status);
        assert_eq!(response.version(), HttpVersion::HTTP_11);
        assert_eq!(response.reason(), status.reason_phrase().as_bytes());
        assert_eq!(body, format!("{}\n", status.reason_phrase()).as_bytes());
        let headers = response.headers();
        assert_eq!(
            headers.get("content-length"),
            Some(format!("{}", body.len()).as_bytes())
        );
        assert_eq!(headers.get("content-type"), Some(&b"text/plain"[..]));
        assert!(headers.get_list("connection").any(|t| t == b"close"));
        assert_eq!(headers.get("allow").is_some(), code == 405);
        assert_eq!(headers.get("upgrade").is_some(), code == 426);
        assert_eq!(headers.get("sec-websocket-version").is_some(), code == 426);
    }
    assert_eq!(
        StatusCode::new(418).unwrap().reason_phrase(),
        "Client Error"
    );
}

// RFC 6585 §5: a too-large head is a 431; other parse errors a 400.
#[test]
fn parse_error_statuses() {
    assert_eq!(ParseError::HeadTooLarge.status().as_u16(), 431);
    assert_eq!(ParseError::TooManyHeaders.status().as_u16(), 431);
    assert_eq!(
        HandshakeError::Parse(ParseError::TooManyHeaders)
            .status()
            .as_u16(),
        431
    );
    assert_eq!(ParseError::ObsoleteLineFolding.status().as_u16(), 400);
    assert_eq!(
        StatusCode::from(ParseError::MissingColon),
        StatusCode::BAD_REQUEST
    );
}

// RFC 7230 §3, §3.1.1, §3.2, §3.2.4: malformed heads are refused with 400.
#[test]
fn malformed_heads() {
    use ParseError as P;
    let cases: &[(&[u8], ParseError)] = &[
        (
            b"GET /chat HTTP/1.1\r\nHost: a\r\n folded\r\n\r\n",
            P::ObsoleteLineFolding,
        ),
        (
            b"GET /chat HTTP/1.1\r\nHost: a\r\n\tfolded\r\n\r\n",
            P::ObsoleteLineFolding,
        ),
        (
            b"GET /chat HTTP/1.1\r\n Host: a\r\n\r\n",
            P::ObsoleteLineFolding,
        ),
        (
            b"GET /chat HTTP/1.1\r\nHost: a\x01b\r\n\r\n",
            P::ControlCharacter,
        ),
        (
            b"GET /chat HTTP/1.1\r\nHost: a\x00b\r\n\r\n",
            P::ControlCharacter,
        ),
        (
            b"GET /chat HTTP/1.1\r\nHost: a\x7fb\r\n\r\n",
            P::ControlCharacter,
        ),
        (
            b"GET /chat HTTP/1.1\r\nHo\x00st: a\r\n\r\n",
            P::ControlCharacter,
        ),
        (
            b"GET /chat HTTP/1.1\r\nHost: a\rb\r\n\r\n",
            P::ControlCharacter,
        ),
        (b"GET /chat HTTP/1.1\r\nHost\r\n\r\n", P::MissingColon),
        (
            b"GET /chat HTTP/1.1\r\nHost : a\r\n\r\n",
            P::InvalidHeaderName,
        ),
        (
            b"GET /chat HTTP/1.1\r\nHost\t: a\r\n\r\n",
            P::InvalidHeaderName,
        ),
        (b"GET /chat HTTP/1.1\r\n: a\r\n\r\n", P::InvalidHeaderName),
        (
            b"GET /chat HTTP/1.1\r\nH(st: a\r\n\r\n",
            P::InvalidHeaderName,
        ),
        (
            b"GET /chat HTTP/1.1\r\nH\xc3\xa9: a\r\n\r\n",
            P::InvalidHeaderName,
        ),
        (
            b"\r\nGET /chat HTTP/1.1\r\nHost: a\r\n\r\n",
            P::InvalidStartLine,
        ),
        (b"GET  /chat HTTP/1.1\r\n\r\n", P::InvalidStartLine),
        (b"GET /chat  HTTP/1.1\r\n\r\n", P::InvalidStartLine),
        (b"GET /chat HTTP/1.1 \r\n\r\n", P::InvalidStartLine),
        (b"GET /ch\tat HTTP/1.1\r\n\r\n", P::InvalidStartLine),
        (b"GET /ch\xc3\xa9 HTTP/1.1\r\n\r\n", P::InvalidStartLine),
        (b"GET /chat HTTP/1.1.\r\n\r\n", P::InvalidStartLine),
        (b"GET /chat\r\n\r\n", P::InvalidStartLine),
        (b"G@T /chat HTTP/1.1\r\n\r\n", P::InvalidStartLine),
        (b" /chat HTTP/1.1\r\n\r\n", P::InvalidStartLine),
    ];
    for &(head, error) in cases {
        assert_eq!(
            RequestParser::new().parse(head),
            Err(error),
            "{}",
            head.escape_ascii()
        );
        // The error does not depend on how the bytes arrive.
        let cuts: Vec<usize> = (0..head.len()).collect();
        assert_eq!(
            parse_split(head, &cuts),
            Err(error),
            "{}",
            head.escape_ascii()
        );
    }
    // obs-text is allowed in values (RFC 7230 §3.2.6).
    let head = b"GET /chat HTTP/1.1\r\nX: caf\xc3\xa9\r\n\r\n";
    assert_eq!(
        complete(head).1.headers().get("x"),
        Some(&b"caf\xc3\xa9"[..])
    );
}

// RFC 7230 §3.5: a bare LF ends a line too; a bare CR does not (above).
#[test]
fn bare_lf_is_accepted() {
    let head =
        b"GET /chat HTTP/1.1\nHost: example.com\r\nUpgrade: websocket\nConnection: Upgrade\n\
Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\nSec-WebSocket-Version: 13\n\n\x81";
    let (len, req) = complete(head);
    assert_eq!(len, head.len() - 1);
    assert_eq!(req.headers().len(), 5);
    assert_eq!(req.validate_upgrade().unwrap().host(), "example.com");
}

// RFC 6455 §4.2.1 with any segmentation: byte by byte equals one-shot.
#[test]
fn byte_by_byte_equals_one_shot() {
    let mut buf = RFC_REQUEST.to_vec();
    buf.extend_from_slice(HELLO_FRAME);
    let one_shot = RequestParser::new().parse(&buf).unwrap();
    let mut parser = RequestParser::new();
    for end in 0..buf.len() {
        let status = parser.parse(&buf[..end]).unwrap();
        if end < RFC_REQUEST.len() {
            assert_eq!(status, RequestStatus::Partial, "at {end}");
        } else {
            assert_eq!(
                status,
                RequestStatus::Complete {
                    len: RFC_REQUEST.len(),
                    request: complete(&buf[..end]).1
                }
            );
        }
    }
    assert_eq!(parser.parse(&buf).unwrap(), one_shot);
    // Once complete, parsing again gives the same head.
    assert_eq!(parser.parse(&buf).unwrap(), one_shot);
}

// RFC 6455 §4.2.1, §5.2: the frames following the head are left to the caller.
#[test]
fn bytes_after_head_are_left_alone() {
    let mut buf = RFC_REQUEST.to_vec();
    buf.extend_from_slice(HELLO_FRAME);
    let (len, req) = complete(&buf);
    assert_eq!(len, RFC_REQUEST.len());
    assert_eq!(&buf[len..], HELLO_FRAME);
    assert_eq!(req.headers().len(), 7);
    assert!(req.validate_upgrade().is_ok());
    // Even bytes that look like more headers.
    let mut buf = RFC_REQUEST.to_vec();
    buf.extend_from_slice(b"Host: evil\r\n\r\n");
    let (len, req) = complete(&buf);
    assert_eq!(len, RFC_REQUEST.len());
    assert_eq!(req.validate_upgrade().unwrap().host(), "server.example.com");
}

// RFC 6585 §5: the limits give 431 as soon as they are passed, before the head ends.
#[test]
fn limits_trigger_431_early() {
    // Too many headers: the error comes with the first header over the limit.
    let mut parser = RequestParser::with_limits(Limits::new(3, 8192));
    let head = b"GET / HTTP/1.1\r\nA: 1\r\nB: 2\r\nC: 3\r\n";
    assert_eq!(parser.parse(head), Ok(RequestStatus::Partial));
    let head = b"GET / HTTP/1.1\r\nA: 1\r\nB: 2\r\nC: 3\r\nD: 4\r\n";
    assert_eq!(parser.parse(head), Err(ParseError::TooManyHeaders));

    // Too many bytes: byte by byte, the error comes exactly when the limit is reached without
    // a blank line.
    let mut endless = b"GET / HTTP/1.1\r\nX: ".to_vec();
    endless.resize(20_000, b'a');
    let mut parser = RequestParser::new();
    let mut failed_at = None;
    for end in 0..=endless.len() {
        match parser.parse(&endless[..end]) {
            Ok(RequestStatus::Partial) => {}
            Err(e) => {
                assert_eq!(e, ParseError::HeadTooLarge);
                failed_at = Some(end);
                break;
            }
            Ok(other) => panic!("{other:?}"),
        }
    }
    assert_eq!(failed_at, Some(Limits::DEFAULT.max_head_len));
    assert_eq!(
        HandshakeError::from(ParseError::HeadTooLarge).status(),
        StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE
    );

    // A head of exactly the limit passes; one byte more does not.
    let head = request("GET / HTTP/1.1", &["X: 1"]);
    let limits = Limits::new(64, head.len());
    assert!(matches!(
        RequestParser::with_limits(limits).parse(&head),
        Ok(RequestStatus::Complete { .. })
    ));
    let head = request("GET / HTTP/1.1", &["X: 12"]);
    assert_eq!(
        RequestParser::with_limits(limits).parse(&head),
        Err(ParseError::HeadTooLarge)
    );
    // Including when the limit falls between CR and LF of the blank line.
    let limits = Limits::new(64, head.len() - 1);
    assert_eq!(
        RequestParser::with_limits(limits).parse(&head[..head.len() - 1]),
        Err(ParseError::HeadTooLarge)
    );
}

// RFC 7230 §3.2.3, §3.2.4: optional whitespace around values is not part of them.
#[test]
fn values_are_trimmed_of_ows() {
    let req = request(
        "GET /chat HTTP/1.1",
        &[
            "Host:example.com",
            "Upgrade: \t websocket \t ",
            "Connection:Upgrade   ",
            "Sec-WebSocket-Key:   dGhlIHNhbXBsZSBub25jZQ==\t",
            "Sec-WebSocket-Version:13",
            "X-Inner:  a  b  ",
            "X-Empty:   ",
        ],
    );
    let up = upgrade(&req).unwrap();
    assert_eq!(up.key(), KEY);
    assert_eq!(up.host(), "example.com");
    assert_eq!(up.headers().get("x-inner"), Some(&b"a  b"[..]));
    assert_eq!(up.headers().get("x-empty"), Some(&b""[..]));
}

// RFC 7230 §3.2.2, §6.1, §6.7; RFC 6455 §4.2.1: token lists, over several lines, any case.
#[test]
fn token_lists_and_case_insensitivity() {
    for extra in [
        &["Connection: keep-alive, Upgrade"][..],
        &["Connection: keep-alive,Upgrade"],
        &["Connection: Upgrade, keep-alive"],
        &["Connection: ,, upgrade ,"],
        &["Connection: keep-alive", "Connection: UPGRADE"],
        &["connection: uPgRaDe"],
    ] {
        assert!(
            upgrade(&base_without("connection", extra)).is_ok(),
            "{extra:?}"
        );
    }
    for extra in [
        &["Upgrade: WebSocket"][..],
        &["UPGRADE: WEBSOCKET"],
        &["Upgrade: h2c, websocket"],
        &["Upgrade: h2c", "Upgrade: websocket"],
    ] {
        assert!(
            upgrade(&base_without("upgrade", extra)).is_ok(),
            "{extra:?}"
        );
    }
    let req = request(
        "GET /chat HTTP/1.1",
        &[
            "hOsT: example.com",
            "upgrade: websocket",
            "CONNECTION: upgrade",
            "sec-websocket-key: dGhlIHNhbXBsZSBub25jZQ==",
            "SEC-WEBSOCKET-VERSION: 13",
            "sec-websocket-PROTOCOL: a",
            "Sec-WebSocket-Protocol: b, c",
            "ORIGIN: null",
        ],
    );
    let up = upgrade(&req).unwrap();
    assert_eq!(up.protocols().collect::<Vec<_>>(), ["a", "b", "c"]);
    assert_eq!(up.origin(), Some(&b"null"[..]));
    assert_eq!(up.headers().get("Host"), Some(&b"example.com"[..]));
    assert_eq!(up.headers().get_all("SEC-WEBSOCKET-PROTOCOL").count(), 2);
}

// RFC 7230 §5.3.2, §5.4: absolute-form targets; their authority is the host.
#[test]
fn absolute_form_target() {
    let req = request(
        "GET ws://Example.com:8080/chat?room=1&x HTTP/1.1",
        &[&BASE[1..], &["Host: other.example"]].concat(),
    );
    let up = upgrade(&req).unwrap();
    assert_eq!(up.host(), "Example.com:8080");
    assert_eq!(up.path(), "/chat");
    assert_eq!(up.query(), Some("room=1&x"));
    assert!(host_matches(up.host(), "example.com:8080", false));
    for (target, host, path, query) in [
        ("https://example.com", "example.com", "/", None),
        ("WSS://example.com?q", "example.com", "/", Some("q")),
        ("http://[::1]:9/a/b", "[::1]:9", "/a/b", None),
        ("/chat?", "example.com", "/chat", Some("")),
        ("//chat", "example.com", "//chat", None),
    ] {
        let req = request(&format!("GET {target} HTTP/1.1"), &BASE);
        let up = upgrade(&req).unwrap();
        assert_eq!(
            (up.host(), up.path(), up.query()),
            (host, path, query),
            "{target}"
        );
    }
}

// RFC 6455 §4.2.1 point 2, RFC 3986 §6.2.3: exact host matching, default ports optional.
#[test]
fn host_matching_table() {
    let cases = [
        ("example.com", "example.com", false, true),
        ("EXAMPLE.com", "example.COM", false, true),
        ("example.com", "example.com:80", false, true),
        ("example.com:80", "example.com", false, true),
        ("example.com", "example.com:443", true, true),
        ("example.com:443", "example.com", true, true),
        ("example.com", "example.com:443", false, false),
        ("example.com:80", "example.com", true, false),
        ("example.com:8080", "example.com", false, false),
        ("example.com", "example.com:8080", false, false),
        ("example.com:8080", "example.com:8080", true, true),
        ("example.com:08080", "example.com:8080", true, true),
        ("loc", "localhost:8080", false, false),
        ("localhost", "localhost:8080", false, false),
        ("localhost:80", "localhost:8080", false, false),
        ("localhost:8080", "localhost:808", false, false),
        ("example.com.evil", "example.com", false, false),
        ("evil.example.com", "example.com", false, false),
        ("[::1]:8080", "[::1]:8080", false, true),
        ("[::1]", "[::1]:80", false, true),
        ("", "", false, false),
        ("", "example.com", false, false),
        ("example.com", "", false, false),
        ("example.com:", "example.com", false, false),
        ("user@example.com", "example.com", false, false),
        ("example.com/", "example.com", false, false),
    ];
    for (received, configured, secure, expected) in cases {
        assert_eq!(
            host_matches(received, configured, secure),
            expected,
            "{received:?} vs {configured:?} secure={secure}"
        );
    }
    assert!(is_valid_host("example.com:8080"));
    assert!(!is_valid_host("example.com/chat"));
    assert!(path_matches("/chat", "/chat"));
    assert!(!path_matches("/chat/x", "/chat"));
    assert!(!path_matches("/cha", "/chat"));
    assert!(!path_matches("/Chat", "/chat"));
}

// RFC 6454 §5, §7; RFC 6455 §4.2.2 point 4, §10.2: exact origin matching.
#[test]
fn origin_matching_table() {
    let cases: &[(&[u8], &str, bool)] = &[
        (b"http://example.com", "http://example.com", true),
        (b"HTTP://Example.COM", "http://example.com", true),
        (b"http://example.com", "http://example.com:80", true),
        (b"http://example.com:80", "http://example.com", true),
        (b"https://example.com", "https://example.com:443", true),
        (b"https://example.com:443", "https://example.com", true),
        (b"wss://example.com", "wss://example.com:443", true),
        (b"ws://example.com:80", "ws://example.com", true),
        (b"http://localhost", "http://localhost:8080", false),
        (b"http://localhost:8080", "http://localhost", false),
        (b"http://localhost:8080", "http://localhost:8080", true),
        (b"http://loc", "http://localhost", false),
        (b"http://localhost", "http://loc", false),
        (b"https://example.com", "http://example.com", false),
        (b"http://example.com", "https://example.com", false),
        (b"http://example.com:443", "https://example.com", false),
        (b"http://example.com.evil.com", "http://example.com", false),
        (
            b"http://evil.com/http://example.com",
            "http://example.com",
            false,
        ),
        (b"http://example.com/", "http://example.com", false),
        (b"http://example.com/", "http://example.com/", false),
        (b"http://example.com?x", "http://example.com", false),
        (b"http://user@example.com", "http://example.com", false),
        (b"null", "null", true),
        (b"null", "http://example.com", false),
        (b"http://example.com", "null", false),
        (b"NULL", "null", false),
        (b"", "", false),
        (b"", "http://example.com", false),
        (b"", "null", false),
        (b"http://example.com", "", false),
        (b"example.com", "example.com", false),
        (b"chrome-extension://abc", "chrome-extension://abc", true),
        (b"chrome-extension://abc:1", "chrome-extension://abc", false),
        (b"http://[::1]:8080", "http://[::1]:8080", true),
    ];
    for &(received, allowed, expected) in cases {
        assert_eq!(
            origin_matches(received, allowed),
            expected,
            "{} vs {allowed:?}",
            received.escape_ascii()
        );
    }
}

// RFC 6454 §6.2: configured origins must be serialised origins, caught at startup.
#[test]
fn allowed_origin_validation() {
    for ok in [
        "http://example.com",
        "https://example.com:8443",
        "null",
        "ws://[::1]:80",
        "a+b://x",
    ] {
        assert_eq!(validate_allowed_origin(ok), Ok(()), "{ok}");
    }
    for bad in [
        "",
        "example.com",
        "http://",
        "http://example.com/",
        "http://example.com/path",
        "http://example.com?q",
        "http://example.com#f",
        "http://example.com:",
        "http://example.com:99999",
        "http://user@example.com",
        "1http://example.com",
        "://example.com",
        "http:/example.com",
        " http://example.com",
        "http://example.com ",
        "Null",
    ] {
        let error = validate_allowed_origin(bad).unwrap_err();
        assert!(!error.reason().is_empty());
        assert!(format!("{error}").starts_with("invalid origin"), "{bad}");
    }
}

// RFC 6455 §4.1, §4.2.1: what the client writes, the server accepts.
#[test]
fn client_request_server_parse_round_trip() {
    let key = encode_key(&[7; 16]);
    let headers = [
        Header::new(b"Cookie", b"session=1"),
        Header::new(b"Authorization", b"Bearer x"),
    ];
    let mut out = Vec::new();
    ClientRequest::new("example.com:8080", "/chat?room=1")
        .origin("https://example.com")
        .protocols(&["v2.chat", "chat"])
        .headers(&headers)
        .write(&key, &mut out)
        .unwrap();
    // Byte for byte, header order included.
    assert_eq!(
        out,
        b"GET /chat?room=1 HTTP/1.1\r\n\
Host: example.com:8080\r\n\
Upgrade: websocket\r\n\
Connection: Upgrade\r\n\
Sec-WebSocket-Key: BwcHBwcHBwcHBwcHBwcHBw==\r\n\
Sec-WebSocket-Version: 13\r\n\
Origin: https://example.com\r\n\
Sec-WebSocket-Protocol: v2.chat, chat\r\n\
Cookie: session=1\r\n\
Authorization: Bearer x\r\n\
\r\n"
    );
    let (len, req) = complete(&out);
    assert_eq!(len, out.len());
    let up = req.validate_upgrade().unwrap();
    assert_eq!(up.key().as_bytes(), &key);
    assert_eq!(up.host(), "example.com:8080");
    assert_eq!(up.path(), "/chat");
    assert_eq!(up.query(), Some("room=1"));
    assert_eq!(up.origin(), Some(&b"https://example.com"[..]));
    assert_eq!(up.protocols().collect::<Vec<_>>(), ["v2.chat", "chat"]);
    assert_eq!(up.headers().get("cookie"), Some(&b"session=1"[..]));
    assert_eq!(up.headers().get("authorization"), Some(&b"Bearer x"[..]));

    // Minimal request: no optional headers.
    out.clear();
    ClientRequest::new("example.com", "/")
        .write(&key, &mut out)
        .unwrap();
    assert!(out.ends_with(b"Version: 13\r\n\r\n"));
    let up = upgrade(&out).unwrap();
    assert_eq!(up.origin(), None);
    assert_eq!(up.protocols().count(), 0);
    assert_eq!(up.request().headers().len(), 5);

    // One subprotocol: a one-item list.
    out.clear();
    ClientRequest::new("example.com", "/")
        .protocols(&["chat"])
        .write(&key, &mut out)
        .unwrap();
    assert!(out.ends_with(b"Version: 13\r\nSec-WebSocket-Protocol: chat\r\n\r\n"));
}

// RFC 6455 §4.2.2, §4.1 client steps 1-6: what the server writes, the client accepts, and the
// server's first frame after the head is left to the caller.
#[test]
fn server_response_client_validate_round_trip() {
    let key = encode_key(&[0x42; 16]);
    let mut request_bytes = Vec::new();
    ClientRequest::new("example.com", "/chat")
        .protocols(&["chat", "superchat"])
        .write(&key, &mut request_bytes)
        .unwrap();
    let up = upgrade(&request_bytes).unwrap();
    let chosen = up.protocols().find(|p| *p == "superchat");
    let mut response_bytes = Vec::new();
    up.write_accept(chosen, &[], &mut response_bytes).unwrap();
    let head_len = response_bytes.len();
    response_bytes.extend_from_slice(b"\x81\x05Hello");

    let mut parser = ResponseParser::new();
    for end in 0..head_len {
        assert_eq!(
            parser.parse(&response_bytes[..end]),
            Ok(ResponseStatus::Partial)
        );
    }
    let ResponseStatus::Complete { len, response } = parser.parse(&response_bytes).unwrap() else {
        panic!("incomplete");
    };
    assert_eq!(len, head_len);
    assert_eq!(&response_bytes[len..], b"\x81\x05Hello");
    assert_eq!(
        response.validate(&key, &["chat", "superchat"]),
        Ok(Some("superchat"))
    );

    // Without a subprotocol.
    let mut response_bytes = Vec::new();
    up.write_accept(None, &[], &mut response_bytes).unwrap();
    let (_, response) = complete_response(&response_bytes);
    assert_eq!(response.validate(&key, &["chat"]), Ok(None));
}

fn response_with(headers: &[&str]) -> Vec<u8> {
    let mut r = String::from("HTTP/1.1 101 Switching Protocols\r\n");
    for h in headers {
        r.push_str(h);
        r.push_str("\r\n");
    }
    r.push_str("\r\n");
    r.into_bytes()
}

// RFC 6455 §4.1 client steps 1-6: every check on the server's answer.
#[test]
fn client_validation_rules() {
    use ClientError as C;
    let key = KEY.as_bytes();
    let ok = [
        "Upgrade: websocket",
        "Connection: Upgrade",
        "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=",
    ];
    let check = |bytes: &[u8], offered: &[&str]| {
        let (_, response) = complete_response(bytes);
        response.validate(key, offered).map(|p| p.map(String::from))
    };
    assert_eq!(check(&response_with(&ok), &[]), Ok(None));
    let with = |extra: &[&str]| response_with(&[&ok[..], extra].concat());
    let without = |i: usize, extra: &[&str]| {
        let mut headers = ok.to_vec();
        headers.remove(i);
        headers.extend_from_slice(extra);
        response_with(&headers)
    };
    let cases: Vec<(Vec<u8>, &[&str], ClientError)> = vec![
        (without(0, &[]), &[], C::MissingUpgrade),
        (without(0, &["Upgrade: h2c"]), &[], C::MissingUpgrade),
        (without(1, &[]), &[], C::MissingConnectionUpgrade),
        (without(2, &[]), &[], C::InvalidAccept),
        // A wrong key's accept value.
        (
            without(2, &["Sec-WebSocket-Accept: AAAAAAAAAAAAAAAAAAAAAAAAAAA="]),
            &[],
            C::InvalidAccept,
        ),
        // Case matters in base64.
        (
            without(2, &["Sec-WebSocket-Accept: S3PPLMBITXAK9KY+XOO0LZHL0KK="]),
            &[],
            C::InvalidAccept,
        ),
        (
            with(&["Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo="]),
            &[],
            C::InvalidAccept,
        ),
        (
            with(&["Sec-WebSocket-Extensions: permessage-deflate"]),
            &[],
            C::UnexpectedExtension,
        ),
        (
            with(&["Sec-WebSocket-Protocol: chat"]),
            &[],
            C::UnexpectedProtocol,
        ),
        (
            with(&["Sec-WebSocket-Protocol: chat"]),
            &["superchat"],
            C::UnexpectedProtocol,
        ),
        (
            with(&["Sec-WebSocket-Protocol: Chat"]),
            &["chat"],
            C::UnexpectedProtocol,
        ),
        (
            with(&["Sec-WebSocket-Protocol: chat, superchat"]),
            &["chat", "superchat"],
            C::UnexpectedProtocol,
        ),
        (
            with(&[
                "Sec-WebSocket-Protocol: chat",
                "Sec-WebSocket-Protocol: chat",
            ]),
            &["chat"],
            C::UnexpectedProtocol,
        ),
    ];
    for (bytes, offered, error) in cases {
        assert_eq!(
            check(&bytes, offered),
            Err(error),
            "{}",
            bytes.escape_ascii()
        );
    }
    // Token lists and case in Upgrade and Connection, an empty extension list.
    let lenient = response_with(&[
        "upgrade: WebSocket",
        "connection: keep-alive, upgrade",
        "sec-websocket-accept:  s3pPLMBiTxaQ9kYGzzhZRbK+xOo= ",
        "Sec-WebSocket-Extensions: ",
        "Sec-WebSocket-Protocol: chat",
    ]);
    assert_eq!(
        check(&lenient, &["x", "chat"]),
        Ok(Some(String::from("chat")))
    );
    // A different status is reported with its code (§4.1: handled per HTTP).
    let (_, response) = complete_response(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n");
    assert_eq!(
        response.validate(key, &[]),
        Err(C::Status(StatusCode::FORBIDDEN))
    );
    let (_, response) = complete_response(b"HTTP/1.1 302\r\nLocation: /x\r\n\r\n");
    assert_eq!(response.status().as_u16(), 302);
    assert_eq!(response.reason(), b"");
    assert_eq!(
        response.validate(key, &[]),
        Err(C::Status(StatusCode::new(302).unwrap()))
    );
    let bytes = response_with(&ok);
    let http10 = [b"HTTP/1.0".as_slice(), &bytes[8..]].concat();
    let (_, response) = complete_response(&http10);
    assert_eq!(response.validate(key, &[]), Err(C::UnsupportedHttpVersion));
}

// RFC 7230 §3.1.2: status lines.
#[test]
fn status_lines() {
    for bad in [
        &b"HTTP/1.1 1011 x\r\n\r\n"[..],
        b"HTTP/1.1 099 x\r\n\r\n",
        b"HTTP/1.1  101 x\r\n\r\n",
        b"HTTP/1.1 10 x\r\n\r\n",
        b"HTTP/1.1 10a x\r\n\r\n",
        b"HTTP/1.1101 x\r\n\r\n",
        b"HTTP/1 101 x\r\n\r\n",
        b"http/1.1 101 x\r\n\r\n",
        b"GET / HTTP/1.1\r\n\r\n",
    ] {
        assert_eq!(
            ResponseParser::new().parse(bad),
            Err(ParseError::InvalidStartLine),
            "{}",
            bad.escape_ascii()
        );
    }
    let (_, r) = complete_response(b"HTTP/1.1 101 \r\n\r\n");
    assert_eq!(
        (r.status(), r.reason()),
        (StatusCode::SWITCHING_PROTOCOLS, &b""[..])
    );
    let (_, r) = complete_response(b"HTTP/1.1 101 Switching\tProtocols \xff\r\n\r\n");
    assert_eq!(r.reason(), b"Switching\tProtocols \xff");
    assert!(matches!(
        ResponseParser::with_limits(Limits::new(1, 100))
            .parse(b"HTTP/1.1 101 x\r\na: b\r\nc: d\r\n"),
        Err(ParseError::TooManyHeaders)
    ));
}

// RFC 7230 §3.2 / RFC 6455 §4.1 point 10: nothing can inject header lines; failed writes write
// nothing.
#[test]
fn injection_attempts_are_refused() {
    let up = upgrade(RFC_REQUEST).unwrap();
    let mut out = Vec::new();
    for protocol in [
        "chat\r\nX-Evil: 1",
        "chat\n",
        "chat\r",
        "",
        "ch at",
        "chat,superchat",
        "chat\0",
    ] {
        assert_eq!(
            write_accept_response(KEY.as_bytes(), Some(protocol), &[], &mut out),
            Err(WriteError::InvalidProtocol),
            "{protocol:?}"
        );
        assert_eq!(
            up.write_accept(Some(protocol), &[], &mut out),
            Err(WriteError::InvalidProtocol)
        );
    }
    // Not offered by the client (§4.2.2 point 5.4).
    assert_eq!(
        up.write_accept(Some("other"), &[], &mut out),
        Err(WriteError::InvalidProtocol)
    );
    for header in [
        Header::new(b"X-A", b"1\r\nX-Evil: 1"),
        Header::new(b"X-A", b"1\n"),
        Header::new(b"X-A", b"\x00"),
        Header::new(b"X-A\r\nX-Evil", b"1"),
        Header::new(b"X A", b"1"),
        Header::new(b"", b"1"),
    ] {
        assert_eq!(
            write_accept_response(KEY.as_bytes(), None, &[header], &mut out),
            Err(WriteError::InvalidHeader),
            "{header:?}"
        );
    }
    for name in [
        &b"Connection"[..],
        b"upgrade",
        b"Sec-WebSocket-Accept",
        b"Content-Length",
    ] {
        assert_eq!(
            write_accept_response(KEY.as_bytes(), None, &[Header::new(name, b"x")], &mut out),
            Err(WriteError::ReservedHeader)
        );
    }

    let key = encode_key(&[1; 16]);
    let write = |request: ClientRequest<'_>, key: &[u8; 24]| {
        let mut out = Vec::new();
        let result = request.write(key, &mut out);
        if result.is_err() {
            assert!(out.is_empty());
        }
        result
    };
    let base = ClientRequest::new("example.com", "/chat");
    assert_eq!(
        write(base.protocols(&["a\r\nX: y"]), &key),
        Err(WriteError::InvalidProtocol)
    );
    assert_eq!(
        write(base.protocols(&["a", "b", "a"]), &key),
        Err(WriteError::InvalidProtocol)
    );
    assert_eq!(
        write(base.protocols(&[""]), &key),
        Err(WriteError::InvalidProtocol)
    );
    for path in [
        "chat",
        "/chat\r\nX: y",
        "/ch at",
        "/chat#f",
        "",
        "/caf\u{e9}",
    ] {
        assert_eq!(
            write(ClientRequest::new("example.com", path), &key),
            Err(WriteError::InvalidPath)
        );
    }
    for host in ["example.com\r\nX: y", "", "a b", "a/b", "a:b"] {
        assert_eq!(
            write(ClientRequest::new(host, "/"), &key),
            Err(WriteError::InvalidHost),
            "{host:?}"
        );
    }
    assert_eq!(
        write(base.origin("http://a\r\nX: y"), &key),
        Err(WriteError::InvalidOrigin)
    );
    assert_eq!(
        write(base.origin("http://a/"), &key),
        Err(WriteError::InvalidOrigin)
    );
    assert_eq!(
        write(base.headers(&[Header::new(b"X", b"1\r\nHost: evil")]), &key),
        Err(WriteError::InvalidHeader)
    );
    assert_eq!(
        write(base.headers(&[Header::new(b"host", b"evil")]), &key),
        Err(WriteError::ReservedHeader)
    );
    let mut bad_key = key;
    bad_key[3] = b'\n';
    assert_eq!(write(base, &bad_key), Err(WriteError::InvalidKey));
    assert!(write(base.origin("null"), &key).is_ok());
}

// A writer checks the capacity first: on failure nothing is written.
#[test]
fn writers_are_all_or_nothing() {
    let up = upgrade(RFC_REQUEST).unwrap();
    let mut full = Vec::new();
    up.write_accept(Some("chat"), &[], &mut full).unwrap();
    let mut storage = vec![0u8; full.len() - 1];
    let mut out = SliceBuffer::new(&mut storage);
    assert_eq!(
        up.write_accept(Some("chat"), &[], &mut out),
        Err(WriteError::BufferFull)
    );
    assert!(out.is_empty());
    let mut small = [0u8; 100];
    let mut small = SliceBuffer::new(&mut small);
    assert_eq!(
        write_error_response(StatusCode::BAD_REQUEST, &mut small),
        Err(BufferFull)
    );
    assert!(small.is_empty());
    assert_eq!(
        ClientRequest::new("example.com", "/").write(&encode_key(&[0; 16]), &mut small),
        Err(WriteError::BufferFull)
    );
    assert!(small.is_empty());
    let mut storage = vec![0u8; full.len()];
    let mut out = SliceBuffer::new(&mut storage);
    up.write_accept(Some("chat"), &[], &mut out).unwrap();
    assert_eq!(out.as_slice(), &full[..]);
    // Through a trait object too.
    let mut vec = Vec::new();
    let dynamic: &mut dyn Buffer = &mut vec;
    write_error_response(StatusCode::NOT_FOUND, dynamic).unwrap();
    assert!(vec.starts_with(b"HTTP/1.1 404 Not Found\r\n"));
}

// RFC 6455 §4.1 point 7: the key is base64 of 16 bytes; checked against the base64 crate.
#[test]
fn key_encoding() {
    use base64::Engine;
    use base64::engine::general_purpose::STANDARD;
    let nonce = *b"the sample nonce";
    assert_eq!(&encode_key(&nonce), KEY.as_bytes());
    for seed in 0..=255u8 {
        let nonce: [u8; 16] =
            core::array::from_fn(|i| seed.wrapping_mul(31).wrapping_add(i as u8 * 17));
        let key = encode_key(&nonce);
        let mut expected = [0u8; 24];
        STANDARD.encode_slice(nonce, &mut expected).unwrap();
        assert_eq!(key, expected);
        assert!(is_valid_key(&key));
    }
}

// The parser API: reset, restarts, Headers views.
#[test]
fn parser_api() {
    let mut parser = RequestParser::new();
    assert_eq!(parser.limits(), Limits::default());
    assert_eq!(parser.parse(&RFC_REQUEST[..30]), Ok(RequestStatus::Partial));
    // A shorter buffer (the caller started over) restarts the scan.
    let other = base_with(&[]);
    assert_eq!(parser.parse(&other[..3]), Ok(RequestStatus::Partial));
    parser.reset();
    assert!(matches!(
        parser.parse(&other),
        Ok(RequestStatus::Complete { .. })
    ));
    parser.reset();
    let (_, request) = complete(RFC_REQUEST);
    assert!(
        matches!(parser.parse(RFC_REQUEST), Ok(RequestStatus::Complete { request: r, .. }) if r == request)
    );

    let headers = request.headers();
    assert!(!headers.is_empty());
    let names: Vec<&[u8]> = headers.iter().map(|h| h.name).collect();
    assert_eq!(names.len(), 7);
    assert_eq!(names[0], b"Host");
    assert_eq!(names[6], b"Sec-WebSocket-Version");
    assert_eq!(headers.get("missing"), None);
    assert_eq!(
        headers
            .get_list("sec-websocket-protocol")
            .collect::<Vec<_>>(),
        [&b"chat"[..], b"superchat"]
    );
    assert_eq!((&headers).into_iter().count(), 7);
    let debug = format!("{headers:?}");
    assert!(debug.contains("Host: server.example.com"), "{debug}");
    assert_eq!(
        format!("{}", StatusCode::UPGRADE_REQUIRED),
        "426 Upgrade Required"
    );
    assert_eq!(format!("{}", HttpVersion::HTTP_11), "HTTP/1.1");
    assert_eq!(StatusCode::new(99), None);
    assert_eq!(StatusCode::new(1000), None);
    assert_eq!(
        format!("{}", HandshakeError::DuplicateHeader("Host")),
        "repeated Host header"
    );
    assert_eq!(
        format!("{}", ClientError::Status(StatusCode::NOT_FOUND)),
        "server answered 404 Not Found"
    );
    let no_headers = b"GET / HTTP/1.1\r\n\r\n";
    let (_, request) = complete(no_headers);
    assert!(request.headers().is_empty());
    assert_eq!(request.headers().iter().next(), None);
}

/// A valid request with random extra headers.
fn valid_request() -> impl Strategy<Value = Vec<u8>> {
    proptest::collection::vec(("[A-Za-z][A-Za-z0-9-]{0,15}", "[ -~]{0,40}"), 0..12).prop_map(
        |extra| {
            let lines: Vec<String> = extra.iter().map(|(n, v)| format!("X-{n}: {v}")).collect();
            let lines: Vec<&str> = lines.iter().map(String::as_str).collect();
            let mut bytes = base_with(&lines);
            bytes.extend_from_slice(HELLO_FRAME);
            bytes
        },
    )
}

proptest! {
    // RFC 7230 §3: framing does not depend on how the bytes arrive.
    #[test]
    fn any_split_gives_the_same_result(
        bytes in valid_request(),
        mut cuts in proptest::collection::vec(0usize..800, 0..12),
    ) {
        cuts.sort_unstable();
        let one_shot = RequestParser::new().parse(&bytes);
        let is_complete = matches!(one_shot, Ok(RequestStatus::Complete { .. }));
        prop_assert!(is_complete);
        prop_assert_eq!(parse_split(&bytes, &cuts), one_shot);
        if let Ok(RequestStatus::Complete { len, request }) = one_shot {
            prop_assert_eq!(&bytes[len..], HELLO_FRAME);
            prop_assert!(request.validate_upgrade().is_ok());
        }
    }

    // No input panics, whatever the split; errors are the same for any split.
    #[test]
    fn random_bytes_never_panic(
        prefix in prop_oneof![Just(&b""[..]), Just(&b"GET / HTTP/1.1\r\n"[..]), Just(&b"HTTP/1.1 101 x\r\n"[..])],
        body in proptest::collection::vec(prop_oneof![
            4 => any::<u8>(),
            1 => Just(b'\r'), 1 => Just(b'\n'), 1 => Just(b':'), 1 => Just(b' '), 1 => Just(b','),
        ], 0..300),
        mut cuts in proptest::collection::vec(0usize..300, 0..6),
    ) {
        let bytes = [prefix, &body[..]].concat();
        cuts.sort_unstable();
        let limits = Limits::new(8, 200);
        let one_shot = RequestParser::with_limits(limits).parse(&bytes);
        prop_assert_eq!(parse_split_with(limits, &bytes, &cuts), one_shot);
        if let Ok(RequestStatus::Complete { request, .. }) = one_shot {
            let _ = request.validate_upgrade();
            for h in request.headers() {
                let _ = (h.name, h.value);
            }
        }
        if let Ok(status) = ResponseParser::new().parse(&bytes)
            && let ResponseStatus::Complete { response, .. } = status
        {
            let _ = response.validate(KEY.as_bytes(), &["chat"]);
        }
        let text = String::from_utf8_lossy(&body);
        let _ = host_matches(&text, "example.com", true);
        let _ = origin_matches(&body, &text);
        let _ = validate_allowed_origin(&text);
        let _ = is_valid_key(&body);
    }

    // RFC 6455 §4.1 point 7: the key check agrees with a strict base64 decoder.
    #[test]
    fn key_check_matches_base64_crate(key in "[A-Za-z0-9+/=]{20,26}") {
        use base64::Engine;
        use base64::engine::general_purpose::STANDARD;
        let mut decoded = [0u8; 32];
        let expected = STANDARD.decode_slice(key.as_bytes(), &mut decoded) == Ok(16);
        prop_assert_eq!(is_valid_key(key.as_bytes()), expected);
    }
}

// RFC 7692 §5–7 end to end: the client's offer, the server's negotiation and answer, the
// client's check of that answer.
#[test]
fn permessage_deflate_is_offered_negotiated_and_validated() {
    use extensions::{DeflateOffer, DeflatePolicy, negotiate_deflate};
    let key = encode_key(&[9; 16]);
    let offer = DeflateOffer::browser_like();
    let mut request_bytes = Vec::new();
    ClientRequest::new("example.com", "/chat")
        .permessage_deflate(offer)
        .write(&key, &mut request_bytes)
        .unwrap();
    assert!(
        request_bytes.ends_with(
            b"Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n\r\n"
        ),
        "{}",
        String::from_utf8_lossy(&request_bytes)
    );
    let up = upgrade(&request_bytes).unwrap();
    let agreed = negotiate_deflate(up.extensions(), &DeflatePolicy::default()).unwrap();
    let mut value = Vec::new();
    agreed.write_response(&mut value).unwrap();
    assert_eq!(
        value,
        b"permessage-deflate; server_no_context_takeover; client_no_context_takeover"
    );
    // The 101 with `extension` (if any) as the client receives it.
    let respond = |extension: Option<&[u8]>| {
        let mut bytes = Vec::new();
        let headers: Vec<Header<'_>> = extension
            .map(|value| Header::new(b"Sec-WebSocket-Extensions", value))
            .into_iter()
            .collect();
        up.write_accept(None, &headers, &mut bytes).unwrap();
        bytes
    };
    let validate = |bytes: &[u8], offer: Option<&DeflateOffer>| {
        let (_, response) = complete_response(bytes);
        match offer {
            Some(offer) => response.validate_deflate(&key, &[], offer).map(|(_, d)| d),
            None => response.validate(&key, &[]).map(|_| None),
        }
    };
    let accepted = respond(Some(&value));
    assert_eq!(validate(&accepted, Some(&offer)), Ok(Some(agreed)));
    // Without the offer the same answer is an extension nobody asked for.
    assert_eq!(
        validate(&accepted, None),
        Err(ClientError::UnexpectedExtension)
    );
    // A server that declines: no header, no compression.
    assert_eq!(validate(&respond(None), Some(&offer)), Ok(None));

    // A server may limit its own window unasked (§7.1.2.1); an unknown parameter, or a
    // second extension, fails the connection.
    let answer = |value: &[u8]| validate(&respond(Some(value)), Some(&offer));
    let limited = answer(b"permessage-deflate; server_max_window_bits=10").unwrap();
    assert_eq!(limited.map(|d| d.server_max_window_bits), Some(10));
    for bad in [
        &b"permessage-deflate; no_such_parameter"[..],
        b"permessage-deflate, permessage-deflate",
        b"x-webkit-deflate-frame",
        b"permessage-deflate; client_max_window_bits",
    ] {
        assert!(
            matches!(answer(bad), Err(ClientError::Extension(_))),
            "{}",
            String::from_utf8_lossy(bad)
        );
    }
}
