//! Hand-written seeds for the `arbitrary`-driven targets, encoded in the byte layout that
//! `arbitrary` 1.x decodes (enum tags as `u32`, integers little-endian, slice and string
//! lengths taken from the end of the input, one "more?" byte per element of a `Vec` of
//! structured values). `tests/replay.rs` checks each one decodes back to the value written here
//! and `cargo test -- --ignored write_seeds` rewrites the corpus files from them.

use crate::engine::{Kind, Op, Scenario, Side};
use crate::handshake::ClientSetup;

/// Front bytes in order; lengths are consumed from the back, so they are kept apart and
/// appended last, in reverse. Every seed stays within 256 bytes so each length is one byte.
#[derive(Default)]
struct Encoder {
    front: Vec<u8>,
    lengths: Vec<u8>,
}

impl Encoder {
    fn bytes(&mut self, b: &[u8]) {
        self.front.extend_from_slice(b);
    }

    fn u8(&mut self, v: u8) {
        self.front.push(v);
    }

    fn bool(&mut self, v: bool) {
        self.u8(u8::from(v));
    }

    fn u16(&mut self, v: u16) {
        self.bytes(&v.to_le_bytes());
    }

    fn u64(&mut self, v: u64) {
        self.bytes(&v.to_le_bytes());
    }

    /// Variant `index` of `count`: `arbitrary` picks `(u32 * count) >> 32`.
    fn tag(&mut self, index: u32, count: u32) {
        let tag = (u64::from(index) << 32).div_ceil(u64::from(count));
        self.bytes(&(tag as u32).to_le_bytes());
    }

    fn slice(&mut self, b: &[u8]) {
        self.lengths
            .push(u8::try_from(b.len()).expect("seed slice too long"));
        self.bytes(b);
    }

    fn option<T>(&mut self, v: Option<T>, f: impl FnOnce(&mut Self, T)) {
        self.bool(v.is_some());
        if let Some(v) = v {
            f(self, v);
        }
    }

    fn side(&mut self, side: Side) {
        self.tag(side as u32, 2);
    }

    fn kind(&mut self, kind: Kind) {
        self.tag(kind as u32, 2);
    }

    fn finish(mut self) -> Vec<u8> {
        self.lengths.reverse();
        self.front.extend_from_slice(&self.lengths);
        assert!(
            self.front.len() <= 256,
            "seed of {} bytes: lengths would take two bytes",
            self.front.len()
        );
        self.front
    }
}

fn encode_op(e: &mut Encoder, op: &Op<'_>) {
    const COUNT: u32 = 11;
    match *op {
        Op::Send {
            from,
            kind,
            payload,
        } => {
            e.tag(0, COUNT);
            e.side(from);
            e.kind(kind);
            e.slice(payload);
        }
        Op::SendText { from, text } => {
            e.tag(1, COUNT);
            e.side(from);
            e.slice(text.as_bytes());
        }
        Op::Fragment {
            from,
            kind,
            payload,
            fin,
        } => {
            e.tag(2, COUNT);
            e.side(from);
            e.kind(kind);
            e.slice(payload);
            e.bool(fin);
        }
        Op::Header {
            from,
            kind,
            payload,
            fin,
            wrong_mask,
        } => {
            e.tag(3, COUNT);
            e.side(from);
            e.kind(kind);
            e.slice(payload);
            e.bool(fin);
            e.bool(wrong_mask);
        }
        Op::Ping { from, payload } => {
            e.tag(4, COUNT);
            e.side(from);
            e.slice(payload);
        }
        Op::Pong { from, payload } => {
            e.tag(5, COUNT);
            e.side(from);
            e.slice(payload);
        }
        Op::Close { from, code, reason } => {
            e.tag(6, COUNT);
            e.side(from);
            e.u16(code);
            e.slice(reason.as_bytes());
        }
        Op::Deliver { to, len } => {
            e.tag(7, COUNT);
            e.side(to);
            e.u16(len);
        }
        Op::DeliverAll { to } => {
            e.tag(8, COUNT);
            e.side(to);
        }
        Op::Advance { millis } => {
            e.tag(9, COUNT);
            e.u16(millis);
        }
        Op::Inject { to, bytes } => {
            e.tag(10, COUNT);
            e.side(to);
            e.slice(bytes);
        }
    }
}

pub(crate) fn encode_scenario(s: &Scenario<'_>) -> Vec<u8> {
    let mut e = Encoder::default();
    e.option(s.ping_interval_ms, Encoder::u16);
    e.u16(s.pong_wait_ms);
    e.u16(s.close_timeout_ms);
    e.u64(s.mask_seed);
    for op in &s.ops {
        e.bool(true);
        encode_op(&mut e, op);
    }
    e.finish()
}

pub(crate) fn encode_setup(s: &ClientSetup<'_>) -> Vec<u8> {
    let mut e = Encoder::default();
    e.slice(s.host.as_bytes());
    e.slice(s.path.as_bytes());
    e.option(s.origin, |e, o| e.slice(o.as_bytes()));
    for p in &s.protocols {
        e.bool(true);
        e.slice(p.as_bytes());
    }
    e.bool(false);
    for (name, value) in &s.headers {
        e.bool(true);
        e.slice(name.as_bytes());
        e.slice(value.as_bytes());
    }
    e.bool(false);
    e.bytes(&s.nonce);
    e.u16(s.capacity);
    e.option(s.pick, Encoder::u8);
    e.finish()
}

fn scenario<'a>(ping_interval_ms: Option<u16>, ops: Vec<Op<'a>>) -> Scenario<'a> {
    Scenario {
        ping_interval_ms,
        pong_wait_ms: 500,
        close_timeout_ms: 1000,
        mask_seed: 0x37fa_213d,
        ops,
    }
}

/// Named scenarios for `engine_ops`.
pub(crate) fn engine_scenarios() -> Vec<(&'static str, Scenario<'static>)> {
    use Kind::{Binary, Text};
    use Side::{Client as C, Server as S};
    vec![
        (
            "echo-text-and-binary",
            scenario(
                None,
                vec![
                    Op::SendText {
                        from: C,
                        text: "Hello",
                    },
                    Op::DeliverAll { to: S },
                    Op::Send {
                        from: S,
                        kind: Binary,
                        payload: &[0, 1, 2, 0xff],
                    },
                    Op::Send {
                        from: S,
                        kind: Text,
                        payload: "κόσμε".as_bytes(),
                    },
                    Op::DeliverAll { to: C },
                ],
            ),
        ),
        (
            "fragmented-text-with-interleaved-ping",
            scenario(
                None,
                vec![
                    Op::Fragment {
                        from: C,
                        kind: Text,
                        payload: b"Hel",
                        fin: false,
                    },
                    Op::Ping {
                        from: C,
                        payload: b"p",
                    },
                    Op::Pong {
                        from: C,
                        payload: b"unsolicited",
                    },
                    Op::Fragment {
                        from: C,
                        kind: Text,
                        payload: b"lo",
                        fin: true,
                    },
                    Op::Deliver { to: S, len: 3 },
                    Op::Deliver { to: S, len: 5 },
                    Op::Deliver { to: S, len: 7 },
                    Op::DeliverAll { to: S },
                    Op::DeliverAll { to: C },
                ],
            ),
        ),
        (
            "utf8-code-point-split-across-fragments",
            scenario(
                None,
                vec![
                    Op::Fragment {
                        from: S,
                        kind: Text,
                        payload: b"\xe2\x82",
                        fin: false,
                    },
                    Op::Fragment {
                        from: S,
                        kind: Text,
                        payload: b"\xac",
                        fin: true,
                    },
                    Op::Deliver { to: C, len: 4 },
                    Op::DeliverAll { to: C },
                ],
            ),
        ),
        (
            "invalid-utf8-text-fails-with-1007",
            scenario(
                None,
                vec![
                    Op::Send {
                        from: C,
                        kind: Text,
                        payload: b"ok\xff",
                    },
                    Op::SendText {
                        from: C,
                        text: "never delivered",
                    },
                    Op::DeliverAll { to: S },
                    Op::DeliverAll { to: C },
                    Op::SendText {
                        from: C,
                        text: "after close",
                    },
                ],
            ),
        ),
        (
            "close-handshake-client-initiated",
            scenario(
                None,
                vec![
                    Op::SendText {
                        from: C,
                        text: "bye soon",
                    },
                    Op::Close {
                        from: C,
                        code: 1000,
                        reason: "bye",
                    },
                    Op::Send {
                        from: C,
                        kind: Binary,
                        payload: b"refused",
                    },
                    Op::Send {
                        from: S,
                        kind: Binary,
                        payload: b"in flight",
                    },
                    Op::DeliverAll { to: S },
                    Op::DeliverAll { to: C },
                ],
            ),
        ),
        (
            "close-during-fragmented-send",
            scenario(
                None,
                vec![
                    Op::Fragment {
                        from: S,
                        kind: Binary,
                        payload: b"ab",
                        fin: false,
                    },
                    Op::Close {
                        from: S,
                        code: 4000,
                        reason: "done",
                    },
                    Op::Fragment {
                        from: S,
                        kind: Binary,
                        payload: b"cd",
                        fin: true,
                    },
                    Op::DeliverAll { to: C },
                    Op::DeliverAll { to: S },
                ],
            ),
        ),
        (
            "simultaneous-close",
            scenario(
                None,
                vec![
                    Op::Close {
                        from: C,
                        code: 1001,
                        reason: "",
                    },
                    Op::Close {
                        from: S,
                        code: 3000,
                        reason: "app",
                    },
                    Op::DeliverAll { to: S },
                    Op::DeliverAll { to: C },
                ],
            ),
        ),
        (
            "close-timeout-without-answer",
            scenario(
                None,
                vec![
                    Op::Close {
                        from: S,
                        code: 1008,
                        reason: "policy",
                    },
                    Op::Advance { millis: 999 },
                    Op::Advance { millis: 1 },
                    Op::DeliverAll { to: C },
                    Op::DeliverAll { to: S },
                ],
            ),
        ),
        (
            "close-with-keepalive-and-data-in-flight",
            scenario(
                Some(300),
                vec![
                    Op::SendText {
                        from: C,
                        text: "late",
                    },
                    Op::Close {
                        from: S,
                        code: 1001,
                        reason: "restart",
                    },
                    Op::DeliverAll { to: S },
                    Op::Advance { millis: 300 },
                    Op::Advance { millis: 700 },
                    Op::DeliverAll { to: C },
                    Op::DeliverAll { to: S },
                ],
            ),
        ),
        (
            "keepalive-ping-pong",
            scenario(
                Some(1000),
                vec![
                    Op::Advance { millis: 1000 },
                    Op::DeliverAll { to: S },
                    Op::DeliverAll { to: C },
                    Op::Advance { millis: 400 },
                    Op::SendText {
                        from: C,
                        text: "alive",
                    },
                    Op::DeliverAll { to: S },
                    Op::Advance { millis: 1000 },
                ],
            ),
        ),
        (
            "keepalive-pong-missing-fails-with-1011",
            scenario(
                Some(100),
                vec![
                    Op::Advance { millis: 100 },
                    Op::DeliverAll { to: C },
                    Op::Advance { millis: 500 },
                    Op::DeliverAll { to: C },
                    Op::DeliverAll { to: S },
                ],
            ),
        ),
        (
            "data-frame-header-vectored-send",
            scenario(
                None,
                vec![
                    Op::Header {
                        from: C,
                        kind: Binary,
                        payload: b"vectored",
                        fin: true,
                        wrong_mask: false,
                    },
                    Op::Header {
                        from: S,
                        kind: Text,
                        payload: b"frag",
                        fin: false,
                        wrong_mask: false,
                    },
                    Op::Header {
                        from: S,
                        kind: Text,
                        payload: b"ment",
                        fin: true,
                        wrong_mask: false,
                    },
                    Op::Header {
                        from: S,
                        kind: Text,
                        payload: b"masked",
                        fin: true,
                        wrong_mask: true,
                    },
                    Op::DeliverAll { to: S },
                    Op::DeliverAll { to: C },
                ],
            ),
        ),
        (
            "injected-unmasked-frame-fails-server",
            scenario(
                None,
                vec![
                    Op::SendText {
                        from: C,
                        text: "ok",
                    },
                    Op::DeliverAll { to: S },
                    Op::Inject {
                        to: S,
                        bytes: b"\x81\x05Hello",
                    },
                    Op::DeliverAll { to: C },
                ],
            ),
        ),
    ]
}

/// Named setups for `handshake_roundtrip`.
pub(crate) fn roundtrip_setups() -> Vec<(&'static str, ClientSetup<'static>)> {
    let base = ClientSetup {
        host: "server.example.com",
        path: "/chat",
        origin: Some("http://example.com"),
        protocols: vec!["chat", "superchat"],
        headers: vec![],
        nonce: *b"the sample nonce",
        capacity: 1024,
        pick: Some(1),
    };
    vec![
        ("rfc-example-with-subprotocols", base.clone()),
        (
            "port-query-and-extra-header",
            ClientSetup {
                host: "localhost:8080",
                path: "/ws?room=1&x=%20",
                origin: None,
                protocols: vec![],
                headers: vec![("Authorization", "Bearer abc"), ("Cookie", " a=b ")],
                pick: None,
                ..base.clone()
            },
        ),
        (
            "ipv6-host-null-origin",
            ClientSetup {
                host: "[::1]:9001",
                path: "/",
                origin: Some("null"),
                protocols: vec!["v1.proto"],
                ..base.clone()
            },
        ),
        (
            "path-without-slash-refused",
            ClientSetup {
                path: "chat",
                ..base.clone()
            },
        ),
        (
            "reserved-extra-header-refused",
            ClientSetup {
                headers: vec![("Upgrade", "h2c")],
                ..base.clone()
            },
        ),
        (
            "buffer-too-small",
            ClientSetup {
                capacity: 100,
                ..base
            },
        ),
    ]
}

/// Every generated seed as (target, file name, bytes), for `tests/replay.rs`.
pub fn generated() -> Vec<(&'static str, String, Vec<u8>)> {
    let engine = engine_scenarios()
        .into_iter()
        .map(|(name, s)| ("engine_ops", format!("{name}.bin"), encode_scenario(&s)));
    let roundtrip = roundtrip_setups().into_iter().map(|(name, s)| {
        (
            "handshake_roundtrip",
            format!("{name}.bin"),
            encode_setup(&s),
        )
    });
    engine.chain(roundtrip).collect()
}

#[cfg(test)]
mod tests {
    use arbitrary::{Arbitrary, Unstructured};

    use super::*;

    #[test]
    fn seeds_decode_to_what_was_written() {
        for (name, s) in engine_scenarios() {
            let bytes = encode_scenario(&s);
            let decoded = Scenario::arbitrary_take_rest(Unstructured::new(&bytes)).unwrap();
            assert_eq!(format!("{decoded:?}"), format!("{s:?}"), "{name}");
        }
        for (name, s) in roundtrip_setups() {
            let bytes = encode_setup(&s);
            let decoded = ClientSetup::arbitrary_take_rest(Unstructured::new(&bytes)).unwrap();
            assert_eq!(format!("{decoded:?}"), format!("{s:?}"), "{name}");
        }
    }
}
