//! A slow client's pending output, kept apart from the rings so that ring space is released
//! at once (see `write.rs`, which fills and drains it).

use ws_proto::frame::FrameHeader;

/// Output a client's socket did not take: a copy, so the ring space is released at once.
///
/// Bytes before `aligned` finish a frame (or the HTTP response) whose start was already
/// written; from `aligned` on, the buffer holds whole frames. When the client falls too far
/// behind, the whole frames are dropped and a close frame can follow the partial one without
/// corrupting the stream.
#[derive(Debug, Default)]
pub(crate) struct Backlog {
    /// Boxed, so that a connection that never falls behind pays one pointer for it.
    inner: Option<Box<BacklogBuf>>,
}

#[derive(Debug, Default)]
struct BacklogBuf {
    buf: Vec<u8>,
    /// Bytes of `buf` already written.
    start: usize,
    /// Offset in `buf` of the first frame boundary at or after `start`.
    aligned: usize,
}

/// A backlog past this, once empty, gives its memory back.
const KEEP_CAPACITY: usize = 64 << 10;

impl Backlog {
    /// Bytes waiting.
    pub(crate) fn len(&self) -> usize {
        self.inner.as_ref().map_or(0, |b| b.buf.len() - b.start)
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The bytes waiting.
    pub(crate) fn pending(&self) -> &[u8] {
        self.inner.as_ref().map_or(&[], |b| &b.buf[b.start..])
    }

    /// Appends whole frames.
    pub(crate) fn push_frames(&mut self, bytes: &[u8]) {
        if self.is_empty() {
            self.reset();
        }
        self.inner
            .get_or_insert_default()
            .buf
            .extend_from_slice(bytes);
    }

    /// Appends the rest of something whose start was written (a frame, or HTTP bytes): no
    /// frame boundary inside.
    pub(crate) fn push_unaligned(&mut self, bytes: &[u8]) {
        if self.is_empty() {
            self.reset();
        }
        let b = self.inner.get_or_insert_default();
        b.buf.extend_from_slice(bytes);
        b.aligned = b.buf.len();
    }

    /// Marks `n` bytes as written.
    pub(crate) fn consume(&mut self, n: usize) {
        let Some(b) = self.inner.as_mut() else {
            return;
        };
        b.start += n;
        if b.start > b.aligned {
            // Find the boundary of the frame the write stopped in: walk the whole frames.
            let mut at = b.aligned;
            while at < b.start {
                at += frame_len(&b.buf[at..]);
            }
            b.aligned = at;
        }
        if b.start >= b.buf.len() {
            self.reset();
        } else if b.start > b.buf.len() / 2 && b.start > 4096 {
            b.buf.drain(..b.start);
            b.aligned -= b.start;
            b.start = 0;
        }
    }

    /// Drops the whole frames, keeping only the end of one partly written: the client is too
    /// far behind and gets a close frame next.
    pub(crate) fn drop_whole_frames(&mut self) {
        let Some(b) = self.inner.as_mut() else {
            return;
        };
        let keep = b.aligned.max(b.start);
        b.buf.truncate(keep);
        b.buf.shrink_to_fit();
    }

    /// Empties the buffer, keeping a small allocation for the next burst.
    fn reset(&mut self) {
        let Some(b) = self.inner.as_mut() else {
            return;
        };
        if b.buf.capacity() > KEEP_CAPACITY {
            self.inner = None;
        } else {
            b.buf.clear();
            b.start = 0;
            b.aligned = 0;
        }
    }
}

/// The length of the server frame at the start of `bytes` (all of `bytes` when it is not one,
/// which only happens for bytes the worker did not frame itself, never in practice).
fn frame_len(bytes: &[u8]) -> usize {
    match FrameHeader::decode(bytes) {
        Ok(Some((header, header_len))) => usize::try_from(header.payload_len)
            .ok()
            .and_then(|len| len.checked_add(header_len))
            .map_or(bytes.len(), |len| len.min(bytes.len())),
        _ => bytes.len(),
    }
    .max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(len: usize) -> Vec<u8> {
        let mut out = Vec::new();
        app_abi::records::encode_server_frame(app_abi::DataKind::Bin, &vec![7; len], &mut out);
        out
    }

    #[test]
    fn backlog_tracks_the_frame_boundary() {
        let (a, b, c) = (frame(10), frame(200), frame(5));
        let mut backlog = Backlog::default();
        // The socket took 4 bytes of `a`.
        backlog.push_unaligned(&a[4..]);
        backlog.push_frames(&b);
        backlog.push_frames(&c);
        assert_eq!(backlog.len(), a.len() - 4 + b.len() + c.len());
        // Now it takes the rest of `a` and 3 bytes of `b`: the boundary is the end of `b`.
        backlog.consume(a.len() - 4 + 3);
        backlog.drop_whole_frames();
        assert_eq!(backlog.pending(), &b[3..]);
    }
}
