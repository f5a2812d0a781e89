//! The `permessage-deflate` codec (RFC 7692 §7.2): raw DEFLATE per message, the trailing
//! `00 00 ff ff` of a sync flush removed on the wire and added back before inflating.
//!
//! [`Inflater`] and [`Deflater`] hold the message-level rules: the size limit enforced while
//! inflating (output grows step by step, never past the limit), the sync-flush tail, window
//! limits, context takeover. The DEFLATE streams themselves come from a [`RawInflate`] and a
//! [`RawDeflate`] the caller picks: built in is `miniz_oxide` ([`MinizInflate`], [`MinizDeflate`]: pure Rust, `no_std`
//! with `alloc`, no `unsafe` of its own, so this crate stays `forbid(unsafe_code)`); a server
//! with `std` can plug in a faster library (the daemon uses zlib-rs through `flate2`).
//!
//! The state objects are owned by the caller, so it decides their lifetime: without context
//! takeover one [`Inflater`] and one [`Deflater`] can serve every connection of a thread (an
//! idle connection then holds no zlib state); with it, each connection keeps its own.

use alloc::boxed::Box;
use alloc::vec::Vec;
use core::fmt;

use miniz_oxide::deflate::core::{CompressorOxide, create_comp_flags_from_zip_params};
use miniz_oxide::inflate::stream::InflateState;
use miniz_oxide::{DataFormat, MZError, MZFlush, MZStatus};

/// The sync-flush marker a sender strips from every compressed message (RFC 7692 §7.2.1).
pub const TAIL: [u8; 4] = [0x00, 0x00, 0xff, 0xff];
/// Output is grown by at most this much at a time, so a bomb never gets a large allocation
/// ahead of the limit check.
const CHUNK: usize = 16 << 10;
/// The first output step: small messages should not pay for zeroing a whole chunk.
const FIRST_STEP: usize = 256;

/// The longest message a compressor bound to a window of 2^`bits` bytes may compress on its
/// own (see [`Deflater::with_max_window_bits`]); `usize::MAX` for the full window.
pub fn max_len_for_window(bits: u8) -> usize {
    if bits >= 15 {
        usize::MAX
    } else {
        1 << bits.max(8)
    }
}

/// What one call of a raw codec did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Step {
    /// Input bytes used.
    pub consumed: usize,
    /// Output bytes written.
    pub written: usize,
    /// (Inflating) the stream ended: a block with BFINAL set is complete.
    pub stream_end: bool,
}

/// The input is not valid DEFLATE data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Corrupt;

/// A raw DEFLATE decompressor (RFC 1951, no zlib header), a window of 2^15 bytes.
pub trait RawInflate {
    /// Decompresses as much of `input` into `output` as fits. No progress for lack of input
    /// is not an error (return a step with nothing consumed or written).
    fn inflate(&mut self, input: &[u8], output: &mut [u8]) -> Result<Step, Corrupt>;
    /// Forgets the window and any partial stream.
    fn reset(&mut self);
}

/// The compressor failed (a codec in a bad state); nothing usable was written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeflateFailed;

impl fmt::Display for DeflateFailed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the compressor failed")
    }
}

impl core::error::Error for DeflateFailed {}

/// A raw DEFLATE compressor (RFC 1951, no zlib header).
pub trait RawDeflate {
    /// Compresses as much of `input` into `output` as fits, ending with a sync flush (an
    /// empty stored block, `00 00 ff ff`) once all of `input` is in.
    fn deflate_sync(&mut self, input: &[u8], output: &mut [u8]) -> Result<Step, DeflateFailed>;
    /// Forgets the window: the next message starts a fresh stream.
    fn reset(&mut self);
}

/// `miniz_oxide`'s decompressor (about 43 KiB, on the heap).
#[allow(missing_debug_implementations)] // the codec's state has no useful `Debug`
pub struct MinizInflate(Box<InflateState>);

impl Default for MinizInflate {
    fn default() -> Self {
        Self(InflateState::new_boxed(DataFormat::Raw))
    }
}

impl RawInflate for MinizInflate {
    fn inflate(&mut self, input: &[u8], output: &mut [u8]) -> Result<Step, Corrupt> {
        let result =
            miniz_oxide::inflate::stream::inflate(&mut self.0, input, output, MZFlush::None);
        let step = Step {
            consumed: result.bytes_consumed,
            written: result.bytes_written,
            stream_end: result.status == Ok(MZStatus::StreamEnd),
        };
        match result.status {
            Ok(_) | Err(MZError::Buf) => Ok(step),
            Err(_) => Err(Corrupt),
        }
    }

    fn reset(&mut self) {
        self.0.reset(DataFormat::Raw);
    }
}

/// `miniz_oxide`'s compressor (about 300 KiB, on the heap).
#[allow(missing_debug_implementations)] // the codec's state has no useful `Debug`
pub struct MinizDeflate(Box<CompressorOxide>);

impl MinizDeflate {
    /// A compressor at `level` (0–9).
    pub fn new(level: u8) -> Self {
        // Negative window bits: raw DEFLATE, no zlib header (RFC 7692 §7.2.1).
        let flags = create_comp_flags_from_zip_params(i32::from(level.min(9)), -15, 0);
        Self(Box::new(CompressorOxide::new(flags)))
    }
}

impl RawDeflate for MinizDeflate {
    fn deflate_sync(&mut self, input: &[u8], output: &mut [u8]) -> Result<Step, DeflateFailed> {
        let result =
            miniz_oxide::deflate::stream::deflate(&mut self.0, input, output, MZFlush::Sync);
        match result.status {
            Ok(_) | Err(MZError::Buf) => Ok(Step {
                consumed: result.bytes_consumed,
                written: result.bytes_written,
                stream_end: false,
            }),
            Err(_) => Err(DeflateFailed),
        }
    }

    fn reset(&mut self) {
        self.0.reset();
    }
}

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
pub struct Inflater<R: RawInflate = MinizInflate> {
    raw: R,
}

impl<R: RawInflate> fmt::Debug for Inflater<R> {
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
    /// A decompressor with an empty window, on the built-in codec.
    pub fn new() -> Self {
        Self::with_codec(MinizInflate::default())
    }
}

impl<R: RawInflate> Inflater<R> {
    /// A decompressor over the caller's codec.
    pub fn with_codec(raw: R) -> Self {
        Self { raw }
    }

    /// Forgets the window: call before a message when the peer does not take its context over
    /// (or before inflating another peer's message).
    pub fn reset(&mut self) {
        self.raw.reset();
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
        let mut step = FIRST_STEP
            .max(compressed.len().saturating_mul(4))
            .min(CHUNK);
        for mut input in [compressed, &TAIL[..]] {
            loop {
                let produced = out.len() - base;
                // One byte past the limit tells "exactly at the limit" from "beyond it".
                let room = step.min(limit.saturating_add(1).saturating_sub(produced));
                let start = out.len();
                let needed = start + room;
                if out.capacity() < needed {
                    // Doubling, as `Vec` would, but never past the limit.
                    let cap = base.saturating_add(limit).saturating_add(1).max(needed);
                    let target = out.capacity().saturating_mul(2).clamp(needed, cap);
                    out.reserve_exact(target - start);
                }
                out.resize(needed, 0);
                let result = self.raw.inflate(input, &mut out[start..]);
                let done = match result {
                    Ok(done) => done,
                    Err(Corrupt) => {
                        out.truncate(start);
                        self.reset();
                        return Err(InflateError::Corrupt);
                    }
                };
                out.truncate(start + done.written);
                input = &input[done.consumed..];
                if out.len() - base > limit {
                    out.truncate(base + limit);
                    self.reset();
                    return Err(InflateError::TooLarge { max: max_len });
                }
                // The sender ended the stream (BFINAL): nothing may follow in this message,
                // and the next one starts a fresh stream.
                if done.stream_end {
                    self.reset();
                    return Ok(());
                }
                // This part is used up once the codec leaves room unused (or makes no
                // progress for lack of input).
                if input.is_empty() && done.written < room {
                    break;
                }
                // Input left, room given, nothing done: a codec that is stuck.
                if done.consumed == 0 && done.written == 0 {
                    self.reset();
                    return Err(InflateError::Corrupt);
                }
                step = (step * 2).min(CHUNK);
            }
        }
        Ok(())
    }
}

/// A compressor for messages to one peer (or, without context takeover, to any peer).
pub struct Deflater<R: RawDeflate = MinizDeflate> {
    raw: R,
    context_takeover: bool,
    /// The longest message that may be compressed (see [`Deflater::with_max_window_bits`]).
    max_len: usize,
}

impl<R: RawDeflate> fmt::Debug for Deflater<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Deflater")
            .field("context_takeover", &self.context_takeover)
            .field("max_len", &self.max_len)
            .finish_non_exhaustive()
    }
}

impl Deflater {
    /// A compressor at `level` (0–9: 1 is fastest, 6 the usual default, 9 the smallest
    /// output) on the built-in codec. With `context_takeover`, each message may refer back to
    /// the previous ones (smaller output, but the state must live as long as the connection);
    /// without, each message is compressed on its own.
    pub fn new(level: u8, context_takeover: bool) -> Self {
        Self::with_codec(MinizDeflate::new(level), context_takeover)
    }
}

impl<R: RawDeflate> Deflater<R> {
    /// A compressor over the caller's codec (see [`Deflater::new`]).
    pub fn with_codec(raw: R, context_takeover: bool) -> Self {
        Self {
            raw,
            context_takeover,
            max_len: usize::MAX,
        }
    }

    /// The same compressor, bound to a window of 2^`bits` bytes (a peer's
    /// `server_max_window_bits`, 8..=15). Codecs search a 2^15-byte window, so below 15 a
    /// message is compressible only when it is no longer than the window and starts from an
    /// empty one (no context takeover): then no match can reach further back. Longer messages
    /// are sent uncompressed, which RFC 7692 allows for any message.
    pub fn with_max_window_bits(self, bits: u8) -> Self {
        Self {
            max_len: max_len_for_window(bits),
            ..self
        }
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

    /// Compresses `payload` into `out` (as [`compress`](Self::compress)) and says whether the
    /// compressed form is what to send. Not when compressing failed: the compressor reset its
    /// window, so a plain message is safe even with context takeover (nothing later refers
    /// back past it). Without context takeover, not when it did not get smaller. With
    /// takeover a successful compression must be sent: the peer's window has to see every
    /// message the compressor saw.
    pub fn compress_to_send(&mut self, payload: &[u8], out: &mut Vec<u8>) -> bool {
        let base = out.len();
        self.compress(payload, out).is_ok()
            && (self.context_takeover || out.len() - base < payload.len())
    }

    /// Compresses one message, appending the bytes to send (with RSV1 set on the first frame)
    /// to `out`, the trailing `00 00 ff ff` removed. On failure `out` is as it was and the
    /// window is reset (with context takeover the peer's is then out of step).
    pub fn compress(&mut self, payload: &[u8], out: &mut Vec<u8>) -> Result<(), DeflateFailed> {
        if !self.context_takeover {
            self.raw.reset();
        }
        let base = out.len();
        let mut input = payload;
        loop {
            let start = out.len();
            // Text compresses to well under half; the rest comes in further steps.
            let room = (input.len() / 2).clamp(FIRST_STEP, CHUNK.max(input.len() / 2));
            out.resize(start + room, 0);
            let done = match self.raw.deflate_sync(input, &mut out[start..]) {
                // Input left, room given, nothing done: a codec that is stuck.
                Ok(done) if done.consumed == 0 && done.written == 0 && !input.is_empty() => {
                    Err(DeflateFailed)
                }
                other => other,
            };
            let Ok(done) = done else {
                out.truncate(base);
                self.raw.reset();
                return Err(DeflateFailed);
            };
            out.truncate(start + done.written);
            input = &input[done.consumed..];
            // Done once the input is in and the flush did not fill the output.
            if input.is_empty() && done.written < room {
                break;
            }
        }
        if out[base..].ends_with(&TAIL) {
            out.truncate(out.len() - TAIL.len());
        } else {
            // A codec with nothing to flush (an empty message after another, with context
            // takeover) may write nothing; the receiver's `00 00 ff ff` then needs the header
            // byte of an empty stored block in front (RFC 7692 §7.2.3.6).
            out.push(0x00);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip(deflater: &mut Deflater, inflater: &mut Inflater, message: &[u8]) -> usize {
        let mut wire = Vec::new();
        deflater.compress(message, &mut wire).unwrap();
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
        Deflater::new(9, false).compress(&zeros, &mut wire).unwrap();
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
