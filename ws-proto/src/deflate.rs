//! The `permessage-deflate` codec (RFC 7692 §7.2): raw DEFLATE per message, the trailing
//! `00 00 ff ff` of a sync flush removed on the wire and added back before inflating.
//!
//! Built on `miniz_oxide`: pure Rust, `no_std` with `alloc`, and itself free of `unsafe`, so
//! this crate stays `forbid(unsafe_code)` and needs no C library. The state objects are
//! owned by the caller, so it decides their lifetime: without context takeover one
//! [`Inflater`] and one [`Deflater`] can serve every connection of a thread (an idle
//! connection then holds no zlib state); with it, each connection keeps its own.

use alloc::boxed::Box;
use alloc::vec::Vec;
use core::fmt;

use miniz_oxide::deflate::core::{CompressorOxide, create_comp_flags_from_zip_params};
use miniz_oxide::inflate::stream::InflateState;
use miniz_oxide::{DataFormat, MZError, MZFlush, MZStatus};

/// The sync-flush marker a sender strips from every compressed message (RFC 7692 §7.2.1).
const TAIL: [u8; 4] = [0x00, 0x00, 0xff, 0xff];
/// Output is grown by at most this much at a time, so a bomb never gets a large allocation
/// ahead of the limit check.
const CHUNK: usize = 16 << 10;

/// Why a compressed message could not be inflated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum InflateError {
    /// It inflates to more than the limit (close with 1009); inflating stopped there.
    TooLarge {
        /// The limit.
        max: u64,
    },
    /// Not valid DEFLATE data (close with 1007: the payload is not what the message claims).
    Corrupt,
}

impl fmt::Display for InflateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::TooLarge { max } => write!(f, "the message inflates to more than {max} bytes"),
            Self::Corrupt => f.write_str("the compressed message is not valid DEFLATE data"),
        }
    }
}

impl core::error::Error for InflateError {}

/// A decompressor for one peer's messages (or, without context takeover, any peer's).
pub struct Inflater {
    state: Box<InflateState>,
}

impl fmt::Debug for Inflater {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Inflater").finish_non_exhaustive()
    }
}

impl Default for Inflater {
    fn default() -> Self {
        Self::new()
    }
}

impl Inflater {
    /// A decompressor with an empty window (about 43 KiB, on the heap).
    pub fn new() -> Self {
        Self {
            state: InflateState::new_boxed(DataFormat::Raw),
        }
    }

    /// Forgets the window: call before a message when the peer does not take its context over
    /// (or before inflating another peer's message).
    pub fn reset(&mut self) {
        self.state.reset(DataFormat::Raw);
    }

    /// Inflates one message's payload (its frames' payloads, concatenated), appending to
    /// `out`, and stops as soon as the output would pass `max_len` bytes: at most `max_len`
    /// plus one byte is ever allocated, however much the input would inflate to.
    pub fn inflate(
        &mut self,
        compressed: &[u8],
        max_len: u64,
        out: &mut Vec<u8>,
    ) -> Result<(), InflateError> {
        let limit = usize::try_from(max_len).unwrap_or(usize::MAX);
        let base = out.len();
        for mut input in [compressed, &TAIL[..]] {
            loop {
                let produced = out.len() - base;
                // One byte past the limit tells "exactly at the limit" from "beyond it".
                let room = CHUNK.min(limit.saturating_add(1).saturating_sub(produced));
                let start = out.len();
                let needed = start + room;
                if out.capacity() < needed {
                    // Doubling, as `Vec` would, but never past the limit.
                    let cap = base.saturating_add(limit).saturating_add(1).max(needed);
                    let target = out.capacity().saturating_mul(2).clamp(needed, cap);
                    out.reserve_exact(target - start);
                }
                out.resize(needed, 0);
                let result = miniz_oxide::inflate::stream::inflate(
                    &mut self.state,
                    input,
                    &mut out[start..],
                    MZFlush::None,
                );
                out.truncate(start + result.bytes_written);
                input = &input[result.bytes_consumed..];
                if out.len() - base > limit {
                    out.truncate(base + limit);
                    self.reset();
                    return Err(InflateError::TooLarge { max: max_len });
                }
                match result.status {
                    // The sender ended the stream (BFINAL): nothing may follow in this
                    // message, and the next one starts a fresh stream.
                    Ok(MZStatus::StreamEnd) => {
                        self.reset();
                        return Ok(());
                    }
                    Ok(_) if input.is_empty() && result.bytes_written < room => break,
                    Ok(_) => {}
                    // No progress for lack of input: this part is used up.
                    Err(MZError::Buf) if input.is_empty() => break,
                    Err(_) => {
                        self.reset();
                        return Err(InflateError::Corrupt);
                    }
                }
            }
        }
        Ok(())
    }
}

/// A compressor for messages to one peer (or, without context takeover, to any peer).
pub struct Deflater {
    compressor: Box<CompressorOxide>,
    context_takeover: bool,
    /// The longest message that may be compressed (see [`Deflater::with_max_window_bits`]).
    max_len: usize,
}

impl fmt::Debug for Deflater {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Deflater")
            .field("context_takeover", &self.context_takeover)
            .field("max_len", &self.max_len)
            .finish_non_exhaustive()
    }
}

impl Deflater {
    /// A compressor at `level` (0–9: 1 is fastest, 6 the usual default, 9 the smallest
    /// output). With `context_takeover`, each message may refer back to the previous ones
    /// (smaller output, but the state must live as long as the connection); without, each
    /// message is compressed on its own.
    pub fn new(level: u8, context_takeover: bool) -> Self {
        // Negative window bits: raw DEFLATE, no zlib header (RFC 7692 §7.2.1).
        let flags = create_comp_flags_from_zip_params(i32::from(level.min(9)), -15, 0);
        Self {
            compressor: Box::new(CompressorOxide::new(flags)),
            context_takeover,
            max_len: usize::MAX,
        }
    }

    /// The same compressor, bound to a window of 2^`bits` bytes (a peer's
    /// `server_max_window_bits`, 8..=15). The codec always searches a 2^15-byte window, so
    /// below 15 a message is compressible only when it is no longer than the window and
    /// starts from an empty one (no context takeover): then no match can reach further back.
    /// Longer messages are sent uncompressed, which RFC 7692 allows for any message.
    pub fn with_max_window_bits(self, bits: u8) -> Self {
        let max_len = if bits >= 15 {
            usize::MAX
        } else {
            1 << bits.max(8)
        };
        Self { max_len, ..self }
    }

    /// Whether a message of `len` bytes may be compressed (see
    /// [`with_max_window_bits`](Self::with_max_window_bits)).
    pub fn can_compress(&self, len: usize) -> bool {
        len <= self.max_len && (self.max_len == usize::MAX || !self.context_takeover)
    }

    /// Whether each message may refer back to the previous ones.
    pub fn context_takeover(&self) -> bool {
        self.context_takeover
    }

    /// Compresses one message, appending the bytes to send (with RSV1 set on the first frame)
    /// to `out`, the trailing `00 00 ff ff` removed.
    pub fn compress(&mut self, payload: &[u8], out: &mut Vec<u8>) {
        if !self.context_takeover {
            self.compressor.reset();
        }
        let base = out.len();
        let mut input = payload;
        loop {
            let start = out.len();
            let room = CHUNK.max(input.len() / 2);
            out.resize(start + room, 0);
            let result = miniz_oxide::deflate::stream::deflate(
                &mut self.compressor,
                input,
                &mut out[start..],
                MZFlush::Sync,
            );
            out.truncate(start + result.bytes_written);
            input = &input[result.bytes_consumed..];
            // Done once the input is in and the flush did not fill the output.
            if input.is_empty() && result.bytes_written < room {
                break;
            }
        }
        if out[base..].ends_with(&TAIL) {
            out.truncate(out.len() - TAIL.len());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip(deflater: &mut Deflater, inflater: &mut Inflater, message: &[u8]) -> usize {
        let mut wire = Vec::new();
        deflater.compress(message, &mut wire);
        let mut back = Vec::new();
        inflater.inflate(&wire, 1 << 30, &mut back).unwrap();
        assert_eq!(back, message);
        wire.len()
    }

    #[test]
    fn the_rfc_example_inflates() {
        // RFC 7692 §7.2.3.1: "Hello" compressed without context takeover.
        let mut out = Vec::new();
        Inflater::new()
            .inflate(&[0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00], 100, &mut out)
            .unwrap();
        assert_eq!(out, b"Hello");
        // §7.2.3.4: a message compressed as a stored block (BFINAL unset).
        let mut out = Vec::new();
        Inflater::new()
            .inflate(
                &[
                    0x00, 0x05, 0x00, 0xfa, 0xff, b'H', b'e', b'l', b'l', b'o', 0x00,
                ],
                100,
                &mut out,
            )
            .unwrap();
        assert_eq!(out, b"Hello");
        // §7.2.3.6: an empty message.
        let mut out = Vec::new();
        Inflater::new().inflate(&[0x00], 100, &mut out).unwrap();
        assert!(out.is_empty());
    }

    #[test]
    fn messages_round_trip_with_and_without_context_takeover() {
        let text = b"{\"user\":\"alice\",\"text\":\"hello hello hello, how is everyone?\"}";
        for takeover in [false, true] {
            let mut deflater = Deflater::new(6, takeover);
            let mut inflater = Inflater::new();
            let first = round_trip(&mut deflater, &mut inflater, text);
            if !takeover {
                inflater.reset();
            }
            let second = round_trip(&mut deflater, &mut inflater, text);
            if takeover {
                assert!(
                    second < first / 2,
                    "the second refers to the first: {second} vs {first}"
                );
            } else {
                assert_eq!(first, second);
            }
            round_trip(&mut deflater, &mut inflater, b"");
            let big: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
            round_trip(&mut deflater, &mut inflater, &big);
        }
    }

    #[test]
    fn a_bomb_stops_at_the_limit() {
        let zeros = alloc::vec![0u8; 8 << 20];
        let mut wire = Vec::new();
        Deflater::new(9, false).compress(&zeros, &mut wire);
        assert!(
            wire.len() < 16 << 10,
            "8 MiB of zeros is {} bytes",
            wire.len()
        );
        let mut inflater = Inflater::new();
        let mut out = Vec::new();
        let max = 1 << 20;
        assert_eq!(
            inflater.inflate(&wire, max, &mut out),
            Err(InflateError::TooLarge { max })
        );
        assert!(out.capacity() <= (1 << 20) + 1, "{}", out.capacity());
        // Exactly at the limit is fine; the inflater is usable again after the error.
        let mut out = Vec::new();
        inflater.inflate(&wire, 8 << 20, &mut out).unwrap();
        assert_eq!(out.len(), 8 << 20);
    }

    #[test]
    fn a_small_window_allows_only_messages_that_fit_it() {
        let deflater = Deflater::new(6, false).with_max_window_bits(9);
        assert!(deflater.can_compress(512));
        assert!(!deflater.can_compress(513));
        assert!(Deflater::new(6, false).can_compress(1 << 30));
        // With context takeover a match could reach into an earlier message.
        assert!(
            !Deflater::new(6, true)
                .with_max_window_bits(9)
                .can_compress(1)
        );
        assert!(
            Deflater::new(6, true)
                .with_max_window_bits(15)
                .can_compress(1 << 20)
        );
    }

    #[test]
    fn garbage_is_corrupt() {
        let mut out = Vec::new();
        // BTYPE 11 is reserved.
        assert_eq!(
            Inflater::new().inflate(&[0xff, 0xff, 0xff], 100, &mut out),
            Err(InflateError::Corrupt)
        );
    }
}
