//! Server-side opening handshakes per second: parse a realistic browser upgrade request,
//! validate it and write the `101 Switching Protocols` response into a reused buffer.
//!
//! * `ws-proto`: [`RequestParser::parse`], [`Request::validate_upgrade`], and
//!   [`UpgradeRequest::write_accept`].
//! * `tungstenite`: its server handshake minus the I/O: `Request::try_parse` (httparse into an
//!   `http::Request`), `create_response` (validation + accept key) and `write_response`.
//! * `fastwebsockets-approx`: fastwebsockets has no sans-IO handshake; its server path is hyper's
//!   HTTP/1 server (httparse into an `http::Request`) followed by
//!   `fastwebsockets::upgrade::{is_upgrade_request, upgrade}` and hyper writing the response. This
//!   variant does the httparse → `http::Request` step by hand (no hyper connection machinery) and
//!   writes the response like tungstenite does, so it is a lower bound on that path's cost.
//!
//! [`RequestParser::parse`]: ws_proto::handshake::RequestParser::parse
//! [`Request::validate_upgrade`]: ws_proto::handshake::Request::validate_upgrade
//! [`UpgradeRequest::write_accept`]: ws_proto::handshake::UpgradeRequest::write_accept

use std::hint::black_box;
use std::io::Write;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use tungstenite::handshake::machine::TryParse;
use ws_proto::handshake::{RequestParser, RequestStatus};

/// What Chrome sends to open a WebSocket (cookies left out).
const REQUEST: &[u8] = b"GET /chat?room=42 HTTP/1.1\r\n\
Host: ws.example.com\r\n\
Connection: Upgrade\r\n\
Pragma: no-cache\r\n\
Cache-Control: no-cache\r\n\
User-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36\r\n\
Upgrade: websocket\r\n\
Origin: https://www.example.com\r\n\
Sec-WebSocket-Version: 13\r\n\
Accept-Encoding: gzip, deflate, br, zstd\r\n\
Accept-Language: en-US,en;q=0.9\r\n\
Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n\
\r\n";

/// The accept key for the request's `Sec-WebSocket-Key` (RFC 6455 §1.3).
const ACCEPT: &[u8] = b"s3pPLMBiTxaQ9kYGzzhZRbK+xOo=";

fn ws_proto_handshake(request: &[u8], out: &mut Vec<u8>) -> usize {
    out.clear();
    let mut parser = RequestParser::new();
    let Ok(RequestStatus::Complete { len, request }) = parser.parse(request) else {
        panic!("incomplete or invalid request");
    };
    let upgrade = request.validate_upgrade().expect("valid upgrade");
    upgrade
        .write_accept(None, &[], out)
        .expect("room for the response");
    len
}

fn tungstenite_handshake(request: &[u8], out: &mut Vec<u8>) -> usize {
    use tungstenite::handshake::server::{Request, create_response, write_response};
    out.clear();
    let Some((len, request)) = Request::try_parse(request).expect("valid request") else {
        panic!("incomplete request");
    };
    let response = create_response(&request).expect("valid upgrade");
    write_response(&mut *out, &response).expect("write to a Vec");
    len
}

fn fastwebsockets_handshake(request: &[u8], out: &mut Vec<u8>) -> usize {
    out.clear();
    let mut headers = [httparse::EMPTY_HEADER; 64];
    let mut parsed = httparse::Request::new(&mut headers);
    let httparse::Status::Complete(len) = parsed.parse(request).expect("valid request") else {
        panic!("incomplete request");
    };
    let mut builder = http::Request::builder()
        .method(parsed.method.expect("method"))
        .uri(parsed.path.expect("path"))
        .version(http::Version::HTTP_11);
    for header in parsed.headers.iter() {
        builder = builder.header(header.name, header.value);
    }
    let mut request = builder.body(()).expect("valid request");
    assert!(fastwebsockets::upgrade::is_upgrade_request(&request));
    let (response, _upgraded) =
        fastwebsockets::upgrade::upgrade(&mut request).expect("valid upgrade");
    write!(out, "HTTP/1.1 {}\r\n", response.status()).expect("write to a Vec");
    for (name, value) in response.headers() {
        out.extend_from_slice(name.as_str().as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(value.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"\r\n");
    len
}

/// Handles one request: returns the head's length, the response is in the buffer.
type Handshake = fn(&[u8], &mut Vec<u8>) -> usize;

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

fn handshake(c: &mut Criterion) {
    let mut group = c.benchmark_group("handshake");
    // One element per iteration: criterion reports handshakes per second.
    group.throughput(Throughput::Elements(1));
    let variants: [(&str, Handshake); 3] = [
        ("ws-proto", ws_proto_handshake),
        ("tungstenite", tungstenite_handshake),
        ("fastwebsockets-approx", fastwebsockets_handshake),
    ];
    for (name, run) in variants {
        let mut out = Vec::with_capacity(512);
        assert_eq!(run(REQUEST, &mut out), REQUEST.len(), "{name}");
        assert!(
            out.starts_with(b"HTTP/1.1 101 Switching Protocols\r\n"),
            "{name}"
        );
        assert!(contains(&out, ACCEPT), "{name}");
        group.bench_function(name, |b| {
            b.iter(|| {
                let len = run(black_box(REQUEST), &mut out);
                black_box((len, &out));
            });
        });
    }
    group.finish();
}

criterion_group!(benches, handshake);
criterion_main!(benches);
