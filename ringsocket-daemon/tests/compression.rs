//! permessage-deflate (RFC 7692) end to end: a real [`Server`] on 127.0.0.1 with an `rs_app!`
//! echo/broadcast app, and ws-proto clients that offer the extension, compress what they send
//! and count what arrives compressed.

mod common;

use std::net::SocketAddr;

use app_abi::abi::rs_app_descriptor;
use app_abi::host::App;
use app_abi::rs_app;
use common::{Client, Msg, Upgrade, raw_frame, serve, test_spec};
use ringsocket_daemon::server::{AppSource, AppSpec, EndpointSpec, Server, ServerSpec};
use ringsocket_daemon::settings::Compression;
use ws_proto::DataKind as Kind;
use ws_proto::handshake::extensions::{DeflateOffer, PerMessageDeflate};

rs_app! {
    static ECHO;
    read: any serve(net [u8; 0..]),
}

const HOST: &str = "127.0.0.1";

fn endpoint(id: u16, path: &str, permessage_deflate: Compression) -> EndpointSpec {
    EndpointSpec {
        id,
        host: HOST.into(),
        port: 0,
        path: path.into(),
        allowed_origins: None,
        permessage_deflate,
        ..EndpointSpec::default()
    }
}

/// `/echo` with the defaults, `/plain` with compression off, `/takeover` with context
/// takeover allowed both ways; one worker, so a broadcast's recipients share it.
fn spec(descriptor: &'static rs_app_descriptor) -> ServerSpec {
    // SAFETY: the descriptor is made by `rs_app!`.
    let app = unsafe { App::from_static("echo", descriptor) }.unwrap();
    let app = AppSpec {
        name: "echo".into(),
        source: AppSource::Loaded(app),
        endpoints: vec![
            endpoint(1, "/echo", Compression::DEFAULT),
            endpoint(
                2,
                "/plain",
                Compression {
                    enabled: false,
                    ..Compression::DEFAULT
                },
            ),
            endpoint(
                3,
                "/takeover",
                Compression {
                    server_no_context_takeover: false,
                    client_no_context_takeover: false,
                    ..Compression::DEFAULT
                },
            ),
        ],
        no_open_cb: false,
        no_close_cb: false,
    };
    let mut spec = test_spec(vec![app]);
    spec.worker_c = 1;
    spec.settings.max_ws_msg_size = 64 << 10;
    spec.settings.max_ws_frame_chain_size = 128 << 10;
    spec
}

fn start() -> (Server, SocketAddr) {
    let server = Server::start(spec(&ECHO)).expect("the server starts");
    let addr = server.local_addrs()[0];
    (server, addr)
}

fn connect(addr: SocketAddr, path: &str, offer: Option<DeflateOffer>) -> Client {
    let upgrade = Upgrade {
        deflate: offer,
        ..Upgrade::default()
    };
    let host = format!("{HOST}:{}", addr.port());
    Client::try_connect(addr, &host, path, upgrade)
        .unwrap_or_else(|r| panic!("upgrade refused: {r:?}"))
}

/// A chat-like JSON message of at least `len` bytes.
fn json(len: usize) -> String {
    let mut s = String::from("[");
    let mut i = 0;
    while s.len() < len {
        s.push_str(&format!(
            r#"{{"id":{i},"user":"alice","room":"general","text":"hello everyone, how is it going?"}},"#
        ));
        i += 1;
    }
    s.push_str("{}]");
    s
}

/// The value of the sample `name` (labels included) in the server's metrics.
fn sample(server: &Server, name: &str) -> u64 {
    common::sample(&server.metrics().render(), name)
}

#[test]
fn a_browser_offer_gets_no_context_takeover_and_compressed_echoes() {
    let (server, addr) = start();
    let mut client = connect(addr, "/echo", Some(DeflateOffer::browser_like()));
    assert_eq!(
        client.deflate,
        Some(PerMessageDeflate {
            server_no_context_takeover: true,
            client_no_context_takeover: true,
            server_max_window_bits: 15,
            client_max_window_bits: 15,
            state_server_max_window_bits: false,
        })
    );
    let message = json(1024);
    // Compressed both ways, as one frame and as three fragments (RSV1 on the first only).
    client.send_compressed(Kind::Text, message.as_bytes(), 1);
    assert_eq!(client.recv(), Msg::Text(message.clone()));
    client.send_compressed(Kind::Text, message.as_bytes(), 3);
    assert_eq!(client.recv(), Msg::Text(message.clone()));
    // A plain message may come from a compressing client too; the echo is compressed.
    client.text(&message);
    assert_eq!(client.recv(), Msg::Text(message.clone()));
    assert_eq!(client.compressed_in, 3);
    assert!(
        client.compressed_wire_bytes * 3 < client.compressed_plain_bytes,
        "{} compressed bytes for {}",
        client.compressed_wire_bytes,
        client.compressed_plain_bytes
    );
    // Below min_size (128 B): plain, RSV1 clear.
    client.send_compressed(Kind::Text, b"hi", 1);
    assert_eq!(client.recv(), Msg::Text("hi".into()));
    assert_eq!(client.compressed_in, 3);
    // Binary, and an empty compressed message.
    let binary: Vec<u8> = message.bytes().rev().collect();
    client.send_compressed(Kind::Binary, &binary, 1);
    assert_eq!(client.recv(), Msg::Binary(binary));
    client.send_compressed(Kind::Binary, b"", 1);
    assert_eq!(client.recv(), Msg::Binary(Vec::new()));

    let out_after = sample(
        &server,
        "ringsocket_deflate_out_bytes_total{stage=\"after\"}",
    );
    let out_before = sample(
        &server,
        "ringsocket_deflate_out_bytes_total{stage=\"before\"}",
    );
    assert_eq!(out_after, client.compressed_wire_bytes);
    assert_eq!(out_before, client.compressed_plain_bytes);
    let in_after = sample(
        &server,
        "ringsocket_deflate_in_bytes_total{stage=\"after\"}",
    );
    let in_before = sample(
        &server,
        "ringsocket_deflate_in_bytes_total{stage=\"before\"}",
    );
    assert!(
        in_after > 0 && in_after * 3 < in_before,
        "{in_after} / {in_before}"
    );
    client.close(1000);
    assert_eq!(client.recv_close(), Some(1000));
    server.stop();
}

#[test]
fn without_the_extension_rsv1_is_a_protocol_error() {
    let (server, addr) = start();
    // Not offered: no extension, and the echo is plain.
    let mut client = connect(addr, "/echo", None);
    assert_eq!(client.deflate, None);
    let message = json(1024);
    client.text(&message);
    assert_eq!(client.recv(), Msg::Text(message.clone()));
    assert_eq!(client.compressed_in, 0);
    let mut frame = raw_frame(0x1, b"\xf2\x48\xcd\xc9\xc9\x07\x00");
    frame[0] |= 0x40;
    client.send_raw(&frame);
    assert_eq!(client.recv_close(), Some(1002));

    // Offered to an endpoint that has it off: declined.
    let mut client = connect(addr, "/plain", Some(DeflateOffer::browser_like()));
    assert_eq!(client.deflate, None);
    client.text(&message);
    assert_eq!(client.recv(), Msg::Text(message));
    assert_eq!(client.compressed_in, 0);
    client.send_raw(&frame);
    assert_eq!(client.recv_close(), Some(1002));
    server.stop();
}

#[test]
fn rsv1_on_a_continuation_or_a_control_frame_is_a_protocol_error() {
    let (server, addr) = start();
    let offer = Some(DeflateOffer::browser_like());
    let mut client = connect(addr, "/echo", offer);
    // A text frame (not final), then a continuation with RSV1.
    let mut first = raw_frame(0x1, b"abc");
    first[0] &= 0x7f;
    let mut continuation = raw_frame(0x0, b"def");
    continuation[0] |= 0x40;
    client.send_raw(&first);
    client.send_raw(&continuation);
    assert_eq!(client.recv_close(), Some(1002));

    let mut client = connect(addr, "/echo", offer);
    let mut ping = raw_frame(0x9, b"");
    ping[0] |= 0x40;
    client.send_raw(&ping);
    assert_eq!(client.recv_close(), Some(1002));
    server.stop();
}

#[test]
fn a_bomb_is_stopped_at_the_limit_with_1009_and_bad_data_gets_1007() {
    let (server, addr) = start();
    let offer = Some(DeflateOffer::browser_like());
    let mut bystander = connect(addr, "/echo", offer);

    let compress = |payload: &[u8]| {
        let mut out = Vec::new();
        ws_proto::deflate::Deflater::new(9, false)
            .compress(payload, &mut out)
            .unwrap();
        out
    };
    // 16 MiB of zeros compress to about 16 KiB; the limit is 64 KiB inflated.
    let bomb = compress(&vec![0u8; 16 << 20]);
    assert!(bomb.len() < 64 << 10, "{}", bomb.len());
    let not_utf8 = compress(b"ok \xff\xfe");
    for (kind, payload, code) in [
        (Kind::Binary, &bomb[..], 1009),
        (Kind::Binary, &[0xff, 0xff, 0xff][..], 1007),
        (Kind::Text, &not_utf8[..], 1007),
    ] {
        let mut client = connect(addr, "/echo", offer);
        client.send_compressed_raw(kind, payload);
        assert_eq!(client.recv_close(), Some(code));
    }

    // Everyone else is served as before.
    let message = json(4096);
    bystander.send_compressed(Kind::Text, message.as_bytes(), 1);
    assert_eq!(bystander.recv(), Msg::Text(message));
    server.stop();
}

#[test]
fn a_broadcast_is_compressed_once_for_every_compressing_client() {
    let (server, addr) = start();
    let offer = Some(DeflateOffer::browser_like());
    let mut compressing: Vec<Client> = (0..10).map(|_| connect(addr, "/echo", offer)).collect();
    let mut plain: Vec<Client> = (0..2).map(|_| connect(addr, "/echo", None)).collect();
    let mut declined = connect(addr, "/plain", offer);
    let before = sample(&server, "ringsocket_deflate_compressions_total");
    let message = json(2048);
    compressing[0].text(&format!("all {message}"));
    for client in compressing.iter_mut() {
        assert_eq!(client.recv(), Msg::Text(message.clone()));
        assert_eq!(client.compressed_in, 1);
    }
    for client in plain.iter_mut().chain([&mut declined]) {
        assert_eq!(client.recv(), Msg::Text(message.clone()));
        assert_eq!(client.compressed_in, 0);
    }
    // One worker: one compression for ten recipients, the same bytes for each.
    assert_eq!(
        sample(&server, "ringsocket_deflate_compressions_total") - before,
        1
    );
    let wire = compressing[0].compressed_wire_bytes;
    assert!(compressing.iter().all(|c| c.compressed_wire_bytes == wire));
    server.stop();
}

#[test]
fn context_takeover_where_allowed_shrinks_repeated_messages() {
    let (server, addr) = start();
    // An offer without parameters lets both sides keep their windows.
    let mut client = connect(addr, "/takeover", Some(DeflateOffer::default()));
    let agreed = client.deflate.expect("agreed");
    assert!(!agreed.server_no_context_takeover);
    assert!(!agreed.client_no_context_takeover);
    let message = json(1024);
    let mut sizes = Vec::new();
    for _ in 0..4 {
        // The client compresses with its window too: the server's own inflater follows it.
        client.send_compressed(Kind::Text, message.as_bytes(), 1);
        let before = client.compressed_wire_bytes;
        assert_eq!(client.recv(), Msg::Text(message.clone()));
        sizes.push(client.compressed_wire_bytes - before);
    }
    assert!(
        sizes[1] * 4 < sizes[0],
        "a repeat refers back to the first: {sizes:?}"
    );
    // A client that asks for no server context takeover gets it on the same endpoint.
    let offer = DeflateOffer {
        server_no_context_takeover: true,
        ..DeflateOffer::default()
    };
    let mut client = connect(addr, "/takeover", Some(offer));
    assert!(client.deflate.unwrap().server_no_context_takeover);
    for _ in 0..2 {
        client.send_compressed(Kind::Text, message.as_bytes(), 1);
        assert_eq!(client.recv(), Msg::Text(message.clone()));
    }
    assert_eq!(client.compressed_in, 2);
    server.stop();
}
