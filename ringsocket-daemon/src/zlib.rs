//! permessage-deflate's codec in the daemon: zlib-rs (through `flate2`) under ws-proto's
//! message-level [`Inflater`](ws_proto::deflate::Inflater) and
//! [`Deflater`](ws_proto::deflate::Deflater), which keep the size limit, the sync-flush tail
//! and the window rules. zlib-rs costs about half of ws-proto's built-in `miniz_oxide` per
//! small message (its per-message reset is cheaper), which is what a server without context
//! takeover pays on every message (BENCHMARKS.md, "permessage-deflate").

use flate2::{Compress, Compression, Decompress, FlushCompress, FlushDecompress, Status};
use ws_proto::deflate::{Corrupt, DeflateFailed, RawDeflate, RawInflate, Step};

/// The daemon's decompressor.
pub type Inflater = ws_proto::deflate::Inflater<ZlibInflate>;
/// The daemon's compressor.
pub type Deflater = ws_proto::deflate::Deflater<ZlibDeflate>;

/// A decompressor with an empty window.
pub fn inflater() -> Inflater {
    Inflater::with_codec(ZlibInflate(Decompress::new(false)))
}

/// A compressor at `level` (0–9), keeping its window between messages with
/// `context_takeover`.
pub fn deflater(level: u8, context_takeover: bool) -> Deflater {
    let raw = ZlibDeflate(Compress::new(
        Compression::new(u32::from(level.min(9))),
        false,
    ));
    Deflater::with_codec(raw, context_takeover)
}

/// Raw DEFLATE decompression by zlib-rs.
#[derive(Debug)]
pub struct ZlibInflate(Decompress);

impl RawInflate for ZlibInflate {
    fn inflate(&mut self, input: &[u8], output: &mut [u8]) -> Result<Step, Corrupt> {
        let (before_in, before_out) = (self.0.total_in(), self.0.total_out());
        let status = self
            .0
            .decompress(input, output, FlushDecompress::None)
            .map_err(|_| Corrupt)?;
        Ok(Step {
            consumed: (self.0.total_in() - before_in) as usize,
            written: (self.0.total_out() - before_out) as usize,
            stream_end: status == Status::StreamEnd,
        })
    }

    fn reset(&mut self) {
        self.0.reset(false);
    }
}

/// Raw DEFLATE compression by zlib-rs.
#[derive(Debug)]
pub struct ZlibDeflate(Compress);

impl RawDeflate for ZlibDeflate {
    fn deflate_sync(&mut self, input: &[u8], output: &mut [u8]) -> Result<Step, DeflateFailed> {
        let (before_in, before_out) = (self.0.total_in(), self.0.total_out());
        self.0
            .compress(input, output, FlushCompress::Sync)
            .map_err(|_| DeflateFailed)?;
        Ok(Step {
            consumed: (self.0.total_in() - before_in) as usize,
            written: (self.0.total_out() - before_out) as usize,
            stream_end: false,
        })
    }

    fn reset(&mut self) {
        self.0.reset();
    }
}

#[cfg(test)]
mod tests {
    use ws_proto::deflate::InflateError;

    use super::*;

    #[test]
    fn messages_round_trip_and_interoperate_with_the_built_in_codec() {
        let text = br#"{"user":"alice","text":"hello hello hello, how is everyone?"}"#;
        let big: Vec<u8> = (0..300_000u32).map(|i| (i % 251) as u8).collect();
        for takeover in [false, true] {
            let mut ours = deflater(6, takeover);
            let mut theirs = ws_proto::deflate::Inflater::new();
            let mut back = inflater();
            // An empty message after another: with takeover zlib has nothing to flush.
            for message in [&text[..], b"", &big, b"", b""] {
                let mut wire = Vec::new();
                ours.compress(message, &mut wire).unwrap();
                if !takeover {
                    theirs.reset();
                    back.reset();
                }
                let what = |e| panic!("{e}: {} bytes, takeover {takeover}", message.len());
                let mut out = Vec::new();
                theirs
                    .inflate(&wire, 1 << 30, &mut out)
                    .unwrap_or_else(what);
                assert_eq!(out, message);
                out.clear();
                back.inflate(&wire, 1 << 30, &mut out).unwrap_or_else(what);
                assert_eq!(out, message);
            }
        }
        // The RFC 7692 §7.2.3.1 example.
        let mut out = Vec::new();
        inflater()
            .inflate(&[0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00], 100, &mut out)
            .unwrap();
        assert_eq!(out, b"Hello");
    }

    #[test]
    fn a_bomb_stops_at_the_limit_and_garbage_is_corrupt() {
        let mut wire = Vec::new();
        deflater(9, false)
            .compress(&vec![0u8; 8 << 20], &mut wire)
            .unwrap();
        let mut inflater = inflater();
        let mut out = Vec::new();
        assert_eq!(
            inflater.inflate(&wire, 1 << 20, &mut out),
            Err(InflateError::TooLarge { max: 1 << 20 })
        );
        assert!(out.capacity() <= (1 << 20) + 1, "{}", out.capacity());
        out.clear();
        assert_eq!(
            inflater.inflate(&[0xff, 0xff, 0xff], 100, &mut out),
            Err(InflateError::Corrupt)
        );
        out.clear();
        inflater.inflate(&wire, 8 << 20, &mut out).unwrap();
        assert_eq!(out.len(), 8 << 20);
    }
}
