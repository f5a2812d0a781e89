//! Properties over random inputs: encode→decode round trips for both roles, the same events
//! whatever the chunking, and no panic on any bytes.

mod common;

use common::{Endpoint, Pair};
use proptest::prelude::*;
use ws_proto::{Config, DataKind, Role};

#[derive(Debug, Clone)]
struct Msg {
    kind: DataKind,
    payload: Vec<u8>,
    /// Fragment boundaries as fractions of the payload.
    cuts: Vec<u16>,
}

fn message() -> impl Strategy<Value = Msg> {
    let text = ".{0,300}".prop_map(|s: String| (DataKind::Text, s.into_bytes()));
    let binary = prop::collection::vec(any::<u8>(), 0..3000).prop_map(|b| (DataKind::Binary, b));
    (
        prop_oneof![text, binary],
        prop::collection::vec(any::<u16>(), 0..4),
    )
        .prop_map(|((kind, payload), cuts)| Msg {
            kind,
            payload,
            cuts,
        })
}

/// Sends `msg` as fragments split at its cut points.
fn send(endpoint: &mut Endpoint, msg: &Msg) {
    let mut cuts: Vec<usize> = msg
        .cuts
        .iter()
        .map(|&c| usize::from(c) * msg.payload.len() / usize::from(u16::MAX))
        .collect();
    cuts.sort_unstable();
    endpoint.act(|conn, out| {
        let mut start = 0;
        for cut in cuts {
            conn.send_fragment(msg.kind, &msg.payload[start..cut], false, out)
                .unwrap();
            start = cut;
        }
        conn.send_fragment(msg.kind, &msg.payload[start..], true, out)
            .unwrap();
    });
}

/// Sends `msgs` one way with `send`, delivers the bytes in reads of the given sizes, and
/// checks that they all arrived, intact and in order.
fn one_way(
    pair: &mut Pair,
    server_sends: bool,
    msgs: &[Msg],
    reads: &[usize],
    mut send: impl FnMut(&mut Endpoint, &Msg),
) -> Result<(), TestCaseError> {
    let (sender, receiver) = if server_sends {
        (&mut pair.server, &mut pair.client)
    } else {
        (&mut pair.client, &mut pair.server)
    };
    for msg in msgs {
        send(sender, msg);
    }
    let wire = std::mem::take(&mut sender.out);
    receiver.receive_chunked(&pair.config, &wire, reads);
    prop_assert_eq!(receiver.error, None);
    let expected: Vec<_> = msgs
        .iter()
        .map(|m| common::Ev::Msg(m.kind, m.payload.clone()))
        .collect();
    prop_assert_eq!(&receiver.events, &expected);
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    // Whatever is sent, fragmented however, arrives intact, in order, in either direction and
    // for any read sizes.
    #[test]
    fn round_trip_both_roles(
        msgs in prop::collection::vec(message(), 1..8),
        reads in prop::collection::vec(1usize..2000, 1..6),
        server_sends in any::<bool>(),
    ) {
        let mut pair = Pair::new(Config::default());
        one_way(&mut pair, server_sends, &msgs, &reads, send)?;
    }

    // Any byte stream, valid or not, gives the same events, error and output however it is
    // split into reads.
    #[test]
    fn chunking_never_changes_the_outcome(
        valid in prop::collection::vec(message(), 0..4),
        noise in prop::collection::vec(any::<u8>(), 0..64),
        reads in prop::collection::vec(1usize..64, 1..6),
        role_is_server in any::<bool>(),
    ) {
        let config = Config::default().with_max_message_size(2000);
        let (sender_role, role) =
            if role_is_server { (Role::Client, Role::Server) } else { (Role::Server, Role::Client) };
        let mut sender = Endpoint::new(sender_role, &config);
        for msg in &valid {
            send(&mut sender, msg);
        }
        let mut wire = std::mem::take(&mut sender.out);
        wire.extend_from_slice(&noise);

        let mut whole = Endpoint::new(role, &config);
        whole.receive_chunked(&config, &wire, &[usize::MAX]);
        let mut split = Endpoint::new(role, &config);
        split.receive_chunked(&config, &wire, &reads);
        let mut bytewise = Endpoint::new(role, &config);
        bytewise.receive_chunked(&config, &wire, &[1]);
        for other in [&split, &bytewise] {
            prop_assert_eq!(&whole.events, &other.events);
            prop_assert_eq!(whole.error, other.error);
            prop_assert_eq!(&whole.out, &other.out);
            prop_assert_eq!(whole.conn.state(), other.conn.state());
        }
    }

    // Random bytes never panic, in either role, and an error always leaves the connection
    // closed.
    #[test]
    fn random_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..512), server in any::<bool>()) {
        let config = Config::default();
        let mut endpoint = Endpoint::new(if server { Role::Server } else { Role::Client }, &config);
        endpoint.receive_chunked(&config, &bytes, &[7, 1, 30]);
        if endpoint.error.is_some() {
            prop_assert_eq!(endpoint.conn.state(), ws_proto::State::Closed);
        }
    }
}

/// permessage-deflate (RFC 7692): compressed messages, mixed with plain fragmented ones,
/// survive framing and any read chunking in both directions, with and without context
/// takeover.
#[cfg(feature = "deflate")]
mod deflate {
    use super::*;
    use ws_proto::deflate::{Deflater, Inflater};

    /// Sends `msg` whole, compressed when the engine finds it worth it (by `min_len`), or,
    /// with cut points, as plain fragments (an odd number of cuts) or as its compressed data
    /// in fragments (an even number: RSV1 on the first only).
    fn send_maybe_compressed(
        endpoint: &mut Endpoint,
        deflater: &mut Deflater,
        min_len: usize,
        msg: &Msg,
    ) {
        let mut scratch = Vec::new();
        if msg.cuts.is_empty() {
            return endpoint.act(|conn, out| {
                conn.send_deflated(msg.kind, &msg.payload, deflater, min_len, &mut scratch, out)
                    .map(drop)
                    .unwrap();
            });
        }
        if msg.cuts.len() % 2 == 1 {
            return send(endpoint, msg);
        }
        deflater.compress(&msg.payload, &mut scratch).unwrap();
        let mut cuts: Vec<usize> = msg
            .cuts
            .iter()
            .map(|&c| usize::from(c) * scratch.len() / usize::from(u16::MAX))
            .collect();
        cuts.sort_unstable();
        endpoint.act(|conn, out| {
            let mut start = 0;
            for cut in cuts {
                conn.send_compressed_fragment(msg.kind, &scratch[start..cut], false, out)
                    .unwrap();
                start = cut;
            }
            conn.send_compressed_fragment(msg.kind, &scratch[start..], true, out)
                .unwrap();
        });
    }

    fn repetitive() -> impl Strategy<Value = Msg> {
        // Compressible text: a few words repeated.
        prop::collection::vec(
            prop::sample::select(vec!["chat", "hello ", "{\"a\":1}", "é"]),
            0..400,
        )
        .prop_map(|words| Msg {
            kind: DataKind::Text,
            payload: words.concat().into_bytes(),
            cuts: Vec::new(),
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(128))]

        #[test]
        fn compressed_round_trip_both_roles(
            msgs in prop::collection::vec(prop_oneof![message(), repetitive()], 1..8),
            reads in prop::collection::vec(1usize..2000, 1..6),
            server_sends in any::<bool>(),
            takeover in any::<bool>(),
            level in 0u8..=9,
            min_len in prop::sample::select(vec![0usize, 16, 1024]),
        ) {
            let mut pair = Pair::new(Config::default());
            for end in [&mut pair.client, &mut pair.server] {
                end.conn = std::mem::replace(
                    &mut end.conn,
                    ws_proto::Connection::new(Role::Client, &Config::default(), Default::default()),
                )
                .with_permessage_deflate();
                end.inflater = Some(Inflater::new());
                end.reset_inflater = !takeover;
            }
            let mut deflater = Deflater::new(level, takeover);
            one_way(&mut pair, server_sends, &msgs, &reads, |sender, msg| {
                send_maybe_compressed(sender, &mut deflater, min_len, msg)
            })?;
        }
    }
}
