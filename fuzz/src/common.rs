//! Helpers shared by the targets: deterministic splits, owned events and an independent parser
//! for the frames the engine writes.

use ws_proto::{CloseCode, DataKind, Event};

/// FNV-1a, to derive deterministic splits from the input itself.
pub fn fnv1a(data: &[u8]) -> u64 {
    let mut hash = 0xcbf2_9ce4_8422_2325_u64;
    for &b in data {
        hash ^= u64::from(b);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    hash
}

/// xorshift64*: a small deterministic generator.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        // Never zero, or xorshift stays at zero.
        Self(seed | 1)
    }

    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// A value in `1..=max`.
    pub fn range1(&mut self, max: usize) -> usize {
        1 + (self.next_u64() % max.max(1) as u64) as usize
    }
}

/// The piece lengths of the three ways every stream is fed: all at once, byte by byte, and a
/// split derived from the data (small and large pieces mixed).
pub fn chunkings(len: usize, seed: u64) -> [Vec<usize>; 3] {
    let whole = if len == 0 { Vec::new() } else { vec![len] };
    let bytes = vec![1; len];
    let mut rng = Rng::new(seed);
    let mut derived = Vec::new();
    let mut left = len;
    while left > 0 {
        let max = if rng.next_u64() & 1 == 0 { 7 } else { 80 };
        let n = rng.range1(max).min(left);
        derived.push(n);
        left -= n;
    }
    [whole, bytes, derived]
}

/// An [`Event`] that owns its bytes, to compare runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ev {
    Msg(DataKind, Vec<u8>),
    Ping(Vec<u8>),
    Pong(Vec<u8>),
    Close(Option<u16>, String),
    /// A compressed message (only with permessage-deflate negotiated), not inflated.
    Compressed(DataKind, Vec<u8>),
}

impl Ev {
    /// Takes ownership, checking what every event guarantees on the way.
    pub fn own(event: Event<'_>) -> Self {
        match event {
            Event::Message { kind, payload } => {
                if kind == DataKind::Text {
                    assert!(
                        core::str::from_utf8(payload).is_ok(),
                        "text message is not UTF-8"
                    );
                }
                Self::Msg(kind, payload.to_vec())
            }
            Event::Ping(p) => {
                assert!(p.len() <= 125, "ping payload of {} bytes", p.len());
                Self::Ping(p.to_vec())
            }
            Event::Pong(p) => {
                assert!(p.len() <= 125, "pong payload of {} bytes", p.len());
                Self::Pong(p.to_vec())
            }
            Event::Close(c) => {
                if let Some(code) = c.code {
                    assert!(code.is_valid_on_wire(), "close event with code {code}");
                }
                assert!(
                    c.code.is_some() || c.reason.is_empty(),
                    "close reason without a code"
                );
                assert!(
                    c.reason.len() <= 123,
                    "close reason of {} bytes",
                    c.reason.len()
                );
                Self::Close(c.code.map(|c| c.0), c.reason.into())
            }
            Event::Compressed { kind, payload } => Self::Compressed(kind, payload.to_vec()),
        }
    }
}

/// One frame as written by the engine, unmasked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WireFrame {
    pub fin: bool,
    pub rsv: u8,
    pub opcode: u8,
    pub masked: bool,
    pub payload: Vec<u8>,
}

impl WireFrame {
    pub fn is_control(&self) -> bool {
        self.opcode & 0x8 != 0
    }
}

/// Splits bytes the engine wrote into frames. Written independently of `FrameHeader::decode`
/// (which the decoder targets fuzz), from RFC 6455 §5.2. Panics on a truncated frame: the
/// engine only ever writes whole frames.
pub fn parse_frames(mut bytes: &[u8]) -> Vec<WireFrame> {
    let mut frames = Vec::new();
    while !bytes.is_empty() {
        assert!(bytes.len() >= 2, "truncated frame header in output");
        let (b0, b1) = (bytes[0], bytes[1]);
        let mut at = 2;
        let len = match b1 & 0x7f {
            126 => {
                assert!(bytes.len() >= 4, "truncated 16-bit length in output");
                at = 4;
                let len = u64::from(u16::from_be_bytes([bytes[2], bytes[3]]));
                assert!(len >= 126, "non-minimal 16-bit length {len} in output");
                len
            }
            127 => {
                assert!(bytes.len() >= 10, "truncated 64-bit length in output");
                at = 10;
                let len = u64::from_be_bytes(bytes[2..10].try_into().unwrap());
                assert!(
                    len > 0xffff && len >> 63 == 0,
                    "bad 64-bit length {len} in output"
                );
                len
            }
            short => u64::from(short),
        };
        let masked = b1 & 0x80 != 0;
        let key = if masked {
            assert!(bytes.len() >= at + 4, "truncated mask key in output");
            let key = [bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]];
            at += 4;
            Some(key)
        } else {
            None
        };
        let len = usize::try_from(len).unwrap();
        assert!(bytes.len() - at >= len, "truncated payload in output");
        let mut payload = bytes[at..at + len].to_vec();
        if let Some(key) = key {
            for (i, b) in payload.iter_mut().enumerate() {
                *b ^= key[i % 4];
            }
        }
        frames.push(WireFrame {
            fin: b0 & 0x80 != 0,
            rsv: (b0 >> 4) & 7,
            opcode: b0 & 0xf,
            masked,
            payload,
        });
        bytes = &bytes[at + len..];
    }
    frames
}

/// Checks that a side's whole output is a valid frame stream for its role (RFC 6455 §5): masked
/// exactly when a client sends, no reserved bits or opcodes, control frames whole and short,
/// fragments in sequence, close payloads valid, and nothing at all after a close frame.
pub fn check_sent_stream(bytes: &[u8], client: bool) -> Vec<WireFrame> {
    let frames = parse_frames(bytes);
    let mut in_message = false;
    for (i, f) in frames.iter().enumerate() {
        assert_eq!(
            f.masked, client,
            "frame {i}: masking does not match the role"
        );
        assert_eq!(f.rsv, 0, "frame {i}: reserved bits set");
        match f.opcode {
            0x0 => assert!(in_message, "frame {i}: continuation outside a message"),
            0x1 | 0x2 => assert!(
                !in_message,
                "frame {i}: new message inside a fragmented one"
            ),
            0x8..=0xa => {
                assert!(f.fin, "frame {i}: fragmented control frame");
                assert!(
                    f.payload.len() <= 125,
                    "frame {i}: control payload too long"
                );
            }
            op => panic!("frame {i}: reserved opcode {op:#x}"),
        }
        if !f.is_control() {
            in_message = !f.fin;
        }
        if f.opcode == 0x8 {
            match f.payload.as_slice() {
                [] => {}
                [hi, lo, reason @ ..] => {
                    let code = CloseCode(u16::from_be_bytes([*hi, *lo]));
                    assert!(code.is_valid_on_wire(), "frame {i}: close code {code} sent");
                    assert!(
                        core::str::from_utf8(reason).is_ok(),
                        "frame {i}: close reason not UTF-8"
                    );
                }
                [_] => panic!("frame {i}: one-byte close payload"),
            }
            assert_eq!(
                i,
                frames.len() - 1,
                "frame {i}: frames sent after our close frame"
            );
        }
    }
    frames
}
