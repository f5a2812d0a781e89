//! Frame headers and masking (RFC 6455 §5.2, §5.3).
//!
//! [`Connection`](crate::Connection) uses these itself; they are public for callers that write
//! frames outside a connection, e.g. a server that encodes one broadcast frame for many
//! connections and gates it with [`Connection::can_send_data`](crate::Connection::can_send_data).

use crate::error::MalformedFrame;

/// The longest frame header: 2 bytes, a 64-bit length and a mask key.
pub const MAX_HEADER_LEN: usize = 14;

/// The largest control-frame payload (RFC 6455 §5.5).
pub const MAX_CONTROL_PAYLOAD: usize = 125;

/// A frame opcode (RFC 6455 §5.2). Reserved opcodes are rejected while decoding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum Opcode {
    /// 0x0: continues a fragmented message.
    Continuation = 0x0,
    /// 0x1: the first frame of a text message.
    Text = 0x1,
    /// 0x2: the first frame of a binary message.
    Binary = 0x2,
    /// 0x8: close.
    Close = 0x8,
    /// 0x9: ping.
    Ping = 0x9,
    /// 0xA: pong.
    Pong = 0xA,
}

impl Opcode {
    /// The opcode for a 4-bit value, or `None` for the reserved 0x3–0x7 and 0xB–0xF.
    pub const fn from_bits(bits: u8) -> Option<Self> {
        Some(match bits {
            0x0 => Self::Continuation,
            0x1 => Self::Text,
            0x2 => Self::Binary,
            0x8 => Self::Close,
            0x9 => Self::Ping,
            0xA => Self::Pong,
            _ => return None,
        })
    }

    /// Close, ping and pong.
    pub const fn is_control(self) -> bool {
        (self as u8) & 0x8 != 0
    }
}

/// A decoded frame header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameHeader {
    /// The final fragment of a message.
    pub fin: bool,
    /// RSV1–RSV3 as the low three bits; non-zero only with a negotiated extension.
    pub rsv: u8,
    /// The opcode.
    pub opcode: Opcode,
    /// The masking key, present in every client frame and no server frame.
    pub mask: Option<[u8; 4]>,
    /// Payload length in bytes.
    pub payload_len: u64,
}

impl FrameHeader {
    /// Decodes a header from the start of `input`: `Ok(None)` when more bytes are needed,
    /// otherwise the header and its encoded length.
    ///
    /// Rejects what is malformed whatever the role or state: reserved opcodes, a 64-bit length
    /// with its top bit set, and control frames that are fragmented or longer than 125 bytes.
    /// RSV bits and the presence of a mask are left for the caller to judge. Lengths need not
    /// be minimally encoded: §5.2 obliges senders, and rejecting them gains nothing.
    #[inline]
    pub fn decode(input: &[u8]) -> Result<Option<(Self, usize)>, MalformedFrame> {
        let [b0, b1, rest @ ..] = input else {
            return Ok(None);
        };
        let opcode =
            Opcode::from_bits(b0 & 0x0F).ok_or(MalformedFrame::ReservedOpcode(b0 & 0x0F))?;
        let fin = b0 & 0x80 != 0;
        let (payload_len, len_size) = match b1 & 0x7F {
            126 => match rest {
                [a, b, ..] => (u64::from(u16::from_be_bytes([*a, *b])), 2),
                _ => return Ok(None),
            },
            127 => match rest.first_chunk::<8>() {
                Some(bytes) => {
                    let len = u64::from_be_bytes(*bytes);
                    if len >> 63 != 0 {
                        return Err(MalformedFrame::LengthTopBitSet);
                    }
                    (len, 8)
                }
                None => return Ok(None),
            },
            short => (u64::from(short), 0),
        };
        if opcode.is_control() {
            if !fin {
                return Err(MalformedFrame::FragmentedControlFrame);
            }
            if payload_len > MAX_CONTROL_PAYLOAD as u64 {
                return Err(MalformedFrame::ControlFrameTooLong(payload_len));
            }
        }
        let mut header_len = 2 + len_size;
        let mask = if b1 & 0x80 != 0 {
            let Some(key) = rest.get(len_size..len_size + 4) else {
                return Ok(None);
            };
            header_len += 4;
            Some([key[0], key[1], key[2], key[3]])
        } else {
            None
        };
        let header = Self {
            fin,
            rsv: (b0 >> 4) & 0x7,
            opcode,
            mask,
            payload_len,
        };
        Ok(Some((header, header_len)))
    }

    /// Encodes this header; returns the bytes and how many of them are used.
    #[inline]
    pub fn encode(&self) -> EncodedHeader {
        let mut bytes = [0u8; MAX_HEADER_LEN];
        bytes[0] = (u8::from(self.fin) << 7) | ((self.rsv & 0x7) << 4) | self.opcode as u8;
        let mask_bit = if self.mask.is_some() { 0x80 } else { 0 };
        let mut len = match self.payload_len {
            0..=125 => {
                bytes[1] = mask_bit | self.payload_len as u8;
                2
            }
            126..=0xFFFF => {
                bytes[1] = mask_bit | 126;
                bytes[2..4].copy_from_slice(&(self.payload_len as u16).to_be_bytes());
                4
            }
            _ => {
                bytes[1] = mask_bit | 127;
                bytes[2..10].copy_from_slice(&self.payload_len.to_be_bytes());
                10
            }
        };
        if let Some(key) = self.mask {
            bytes[len..len + 4].copy_from_slice(&key);
            len += 4;
        }
        EncodedHeader {
            bytes,
            len: len as u8,
        }
    }
}

/// An encoded frame header, ready to go out before its payload (e.g. in a vectored write).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EncodedHeader {
    bytes: [u8; MAX_HEADER_LEN],
    len: u8,
}

impl EncodedHeader {
    /// The header bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes[..usize::from(self.len)]
    }
}

impl AsRef<[u8]> for EncodedHeader {
    fn as_ref(&self) -> &[u8] {
        self.as_bytes()
    }
}

/// Masks or unmasks `payload` in place (the operation is its own inverse, RFC 6455 §5.3).
/// `offset` is the position of `payload[0]` within the frame's payload, so a payload that
/// arrives in pieces can be unmasked piece by piece.
#[inline]
pub fn apply_mask(payload: &mut [u8], key: [u8; 4], offset: usize) {
    let mut key = rotate_key(key, offset);
    if payload.len() < 64 {
        xor_words(payload, key);
        return;
    }
    // Payloads start 2 to 14 bytes into a frame, so they are rarely aligned: peel a few bytes
    // (4 at a time where possible) until the wide loop's stores are 16-byte aligned, which makes
    // it about a quarter faster on long payloads.
    let misalignment = payload.as_ptr().align_offset(16).min(payload.len());
    let (head, body) = payload.split_at_mut(misalignment);
    xor_words(head, key);
    key = rotate_key(key, head.len());
    // Wide XOR: eight bytes at a time over 32-byte blocks so the compiler emits vector code.
    let wide = u64::from_ne_bytes([
        key[0], key[1], key[2], key[3], key[0], key[1], key[2], key[3],
    ]);
    let mut blocks = body.chunks_exact_mut(32);
    for block in &mut blocks {
        for word in block.chunks_exact_mut(8) {
            let value = u64::from_ne_bytes([
                word[0], word[1], word[2], word[3], word[4], word[5], word[6], word[7],
            ]) ^ wide;
            word.copy_from_slice(&value.to_ne_bytes());
        }
    }
    xor_words(blocks.into_remainder(), key);
}

/// XORs `bytes` with the repeating `key`, four bytes at a time, then the last one to three.
#[inline]
fn xor_words(bytes: &mut [u8], key: [u8; 4]) {
    let mut words = bytes.chunks_exact_mut(4);
    let narrow = u32::from_ne_bytes(key);
    for word in &mut words {
        let value = u32::from_ne_bytes([word[0], word[1], word[2], word[3]]) ^ narrow;
        word.copy_from_slice(&value.to_ne_bytes());
    }
    for (byte, k) in words.into_remainder().iter_mut().zip(key) {
        *byte ^= k;
    }
}

/// The key as seen from `offset` bytes into the payload.
#[inline]
pub fn rotate_key(key: [u8; 4], offset: usize) -> [u8; 4] {
    // Byte i of the rotated key is byte (i + offset) % 4 of the key: in little-endian terms a
    // right rotation. One instruction, where `<[u8]>::rotate_left` is an out-of-line call.
    let shift = 8 * (offset % 4) as u32;
    u32::from_le_bytes(key).rotate_right(shift).to_le_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mask_bytewise(payload: &mut [u8], key: [u8; 4], offset: usize) {
        for (i, byte) in payload.iter_mut().enumerate() {
            *byte ^= key[(offset + i) % 4];
        }
    }

    // RFC 6455 §5.3: octet i of the payload is XORed with octet i mod 4 of the key.
    #[test]
    fn wide_mask_matches_bytewise_definition() {
        let key = [0x37, 0xfa, 0x21, 0x3d];
        // Every length around the wide path's threshold, at every alignment.
        for start in 0..16 {
            for len in 0..200 {
                for offset in 0..4 {
                    let original: [u8; 216] = core::array::from_fn(|i| (i * 7 + 3) as u8);
                    let mut wide = original;
                    let mut narrow = original;
                    apply_mask(&mut wide[start..start + len], key, offset);
                    mask_bytewise(&mut narrow[start..start + len], key, offset);
                    assert_eq!(wide, narrow, "start {start} len {len} offset {offset}");
                }
            }
        }
        for offset in 0..8 {
            let mut rotated = key;
            rotated.rotate_left(offset % 4);
            assert_eq!(rotate_key(key, offset), rotated);
        }
    }

    // RFC 6455 §5.7: "A single-frame masked text message" containing "Hello".
    #[test]
    fn rfc_example_masked_hello() {
        let mut frame = [
            0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58,
        ];
        let (header, len) = FrameHeader::decode(&frame).unwrap().unwrap();
        assert_eq!(len, 6);
        assert_eq!(
            header,
            FrameHeader {
                fin: true,
                rsv: 0,
                opcode: Opcode::Text,
                mask: Some([0x37, 0xfa, 0x21, 0x3d]),
                payload_len: 5
            }
        );
        apply_mask(&mut frame[6..], [0x37, 0xfa, 0x21, 0x3d], 0);
        assert_eq!(&frame[6..], b"Hello");
        assert_eq!(header.encode().as_bytes(), &frame[..6]);
    }

    // RFC 6455 §5.7: 256 bytes and 64 KiB binary messages use the 16- and 64-bit lengths.
    #[test]
    fn extended_lengths() {
        for (len, prefix) in [
            (126u64, &[0x82, 0x7E, 0x00, 0x7E][..]),
            (256, &[0x82, 0x7E, 0x01, 0x00]),
            (65535, &[0x82, 0x7E, 0xFF, 0xFF]),
            (65536, &[0x82, 0x7F, 0, 0, 0, 0, 0, 1, 0, 0]),
        ] {
            let header = FrameHeader {
                fin: true,
                rsv: 0,
                opcode: Opcode::Binary,
                mask: None,
                payload_len: len,
            };
            let encoded = header.encode();
            assert_eq!(encoded.as_bytes(), prefix);
            assert_eq!(
                FrameHeader::decode(encoded.as_bytes()),
                Ok(Some((header, prefix.len())))
            );
            for short in 0..prefix.len() {
                assert_eq!(FrameHeader::decode(&prefix[..short]), Ok(None));
            }
        }
    }

    // RFC 6455 §5.2: the most significant bit of a 64-bit length MUST be 0.
    #[test]
    fn top_bit_of_64_bit_length() {
        let frame = [0x82, 0x7F, 0x80, 0, 0, 0, 0, 0, 0, 0];
        assert_eq!(
            FrameHeader::decode(&frame),
            Err(MalformedFrame::LengthTopBitSet)
        );
    }

    // RFC 6455 §5.2: opcodes 0x3–0x7 and 0xB–0xF are reserved.
    #[test]
    fn reserved_opcodes() {
        for op in (0x3..=0x7).chain(0xB..=0xF) {
            assert_eq!(
                FrameHeader::decode(&[0x80 | op, 0]),
                Err(MalformedFrame::ReservedOpcode(op))
            );
        }
    }

    // RFC 6455 §5.5: control frames are at most 125 bytes and never fragmented.
    #[test]
    fn control_frame_rules() {
        assert_eq!(
            FrameHeader::decode(&[0x09, 0]),
            Err(MalformedFrame::FragmentedControlFrame)
        );
        assert_eq!(
            FrameHeader::decode(&[0x89, 126, 0, 126]),
            Err(MalformedFrame::ControlFrameTooLong(126))
        );
        assert!(FrameHeader::decode(&[0x89, 125]).unwrap().is_some());
    }
}
