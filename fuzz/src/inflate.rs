//! `inflate`: the input is a compressed message's payload, as a peer may send it.

use ws_proto::deflate::{Deflater, InflateError, Inflater};
use ws_proto::{ClientOutput, Config, Connection, DataKind, Event, Instant, ReceiveError, Role};

/// Limits that fuzz inputs reach (a few KiB of DEFLATE inflates to MiBs), and one they do not.
const LIMITS: [u64; 3] = [0, 1000, 1 << 20];

/// Properties, for any bytes:
/// * inflating never yields more than the limit, nor allocates more than the limit plus one
///   byte, and a failure leaves the inflater as good as new;
/// * a larger limit gives the same bytes, or more where the smaller one said "too large";
/// * the engine, given the bytes as a compressed message in fragments, reports exactly what
///   the inflater does (1009 beyond the limit, 1007 for corrupt data or invalid text);
/// * what inflates compresses and inflates back to itself.
pub fn inflate(data: &[u8]) {
    let mut inflater = Inflater::new();
    let mut results = Vec::new();
    for max in LIMITS {
        let mut out = Vec::new();
        let result = inflater.inflate(data, max, &mut out);
        assert!(
            out.len() as u64 <= max,
            "{} bytes past the limit {max}",
            out.len()
        );
        assert!(
            out.capacity() as u64 <= max + 1,
            "{} bytes allocated for the limit {max}",
            out.capacity()
        );
        inflater.reset();
        results.push((result, out));
    }
    for pair in results.windows(2) {
        let [(small, small_out), (large, large_out)] = pair else {
            unreachable!()
        };
        match small {
            Ok(()) => assert_eq!((large, large_out), (small, small_out)),
            Err(InflateError::TooLarge { .. }) => match large {
                Ok(()) => assert!(large_out.len() > small_out.len()),
                Err(InflateError::TooLarge { .. }) => {}
                Err(e) => {
                    // Corrupt data after the smaller limit's worth of good data.
                    assert_eq!(*e, InflateError::Corrupt);
                    assert!(large_out.is_empty() || large_out.starts_with(small_out));
                }
            },
            Err(_) => assert_eq!(large, small),
        }
    }
    for (max, (expected, inflated)) in LIMITS.iter().zip(&results) {
        for kind in [DataKind::Binary, DataKind::Text] {
            let got = through_engine(data, *max, kind);
            let want = match expected {
                Ok(()) if kind == DataKind::Text && core::str::from_utf8(inflated).is_err() => {
                    Err(1007)
                }
                Ok(()) => Ok(inflated.clone()),
                Err(InflateError::TooLarge { .. }) => Err(1009),
                Err(_) => Err(1007),
            };
            assert_eq!(got, want, "limit {max}, {kind:?}");
        }
    }
    if let (Ok(()), inflated) = &results[2] {
        for takeover in [false, true] {
            let mut deflater = Deflater::new(6, takeover);
            let mut wire = Vec::new();
            deflater.compress(inflated, &mut wire).unwrap();
            let mut back = Vec::new();
            Inflater::new().inflate(&wire, 1 << 20, &mut back).unwrap();
            assert_eq!(&back, inflated);
        }
    }
}

/// `data` as a client's compressed message in up to three fragments, received and inflated by
/// a server with `permessage-deflate`: the message, or the close code it failed with.
fn through_engine(data: &[u8], max: u64, kind: DataKind) -> Result<Vec<u8>, u16> {
    let config = Config {
        max_message_size: max,
        max_frame_chain_size: u64::MAX,
        ..Config::default()
    };
    let now = Instant::from_nanos(0);
    let mut client = Connection::new(Role::Client, &config, now).with_permessage_deflate();
    let mut wire = Vec::new();
    let mut key = 0u32;
    let mut out = ClientOutput {
        buffer: &mut wire,
        mask_keys: || {
            key = key.wrapping_add(0x9e37_79b9);
            key.to_be_bytes()
        },
    };
    let third = data.len() / 3;
    let pieces = [&data[..third], &data[third..2 * third], &data[2 * third..]];
    for (i, piece) in pieces.iter().enumerate() {
        client
            .send_compressed_fragment(kind, piece, i == 2, &mut out)
            .unwrap();
    }
    let mut server = Connection::new(Role::Server, &config, now).with_permessage_deflate();
    let (mut message, mut replies, mut inflated) = (Vec::new(), Vec::new(), Vec::new());
    let mut inflater = Inflater::new();
    let mut pos = 0;
    loop {
        let received = server
            .receive(&config, now, &mut wire[pos..], &mut message, &mut replies)
            .map_err(|e: ReceiveError| e.close_code().0)?;
        assert!(received.consumed > 0, "the whole message is there");
        pos += received.consumed;
        match received.event {
            None => {}
            Some(Event::Compressed { kind, payload }) => {
                let payload = payload.to_vec();
                return server
                    .inflate_message(
                        &config,
                        &mut inflater,
                        kind,
                        &payload,
                        &mut inflated,
                        &mut replies,
                    )
                    .map(<[u8]>::to_vec)
                    .map_err(|e| e.close_code().0);
            }
            Some(other) => panic!("unexpected {other:?}"),
        }
    }
}
