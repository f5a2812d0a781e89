//! permessage-deflate in the worker: what a compressing connection keeps, the worker's shared
//! codecs, and compress-once for outbound records.
//!
//! Without context takeover (the default both ways) a connection keeps no codec: inbound
//! messages go through the worker's one [`Inflater`], reset before each message, and an
//! outbound record is compressed at most once per worker (and zlib level) however many
//! compressing clients it goes to: the compressed frame is built in the batch's arena and
//! every such recipient is sent those same bytes, while clients without the extension get the
//! record's plain frame. Only a connection that negotiated context takeover owns a
//! compressor (its messages are compressed for it alone, in order) or a decompressor.

use ws_proto::deflate::max_len_for_window;
use ws_proto::frame::{FrameHeader, Opcode};
use ws_proto::handshake::extensions::PerMessageDeflate;

use super::conn::Phase;
use super::write::{Delivery, Item};
use super::{Slot, Worker};
use crate::settings::Compression;
use crate::zlib::{self, Deflater, Inflater};

/// Inflated messages above this leave the worker's scratch buffer to be freed, so a rare
/// large message does not keep its memory.
const KEEP_INFLATED: usize = 1 << 20;

/// What a connection that negotiated permessage-deflate keeps (boxed: one pointer in the
/// connection; none at all without the extension).
#[derive(Debug)]
pub(crate) struct ConnDeflate {
    /// zlib level and the smallest message compressed (the endpoint's settings).
    level: u8,
    min_size: usize,
    /// The agreed server window, 2^bits (below 15, only messages that fit it are compressed).
    window_bits: u8,
    /// The client takes its context over: it needs a decompressor of its own.
    client_takeover: bool,
    /// The server takes its context over: this client gets a compressor of its own.
    server_takeover: bool,
    /// Those codecs, created at their first message, so that a connection that stays idle
    /// holds none.
    inflater: Option<Box<Inflater>>,
    deflater: Option<Box<Deflater>>,
}

impl ConnDeflate {
    /// The state for what was agreed on an endpoint with `settings`.
    pub(crate) fn new(agreed: &PerMessageDeflate, settings: &Compression) -> Box<Self> {
        let bits = agreed.server_max_window_bits;
        Box::new(Self {
            level: settings.level,
            min_size: settings.min_size as usize,
            window_bits: bits,
            client_takeover: !agreed.client_no_context_takeover,
            server_takeover: !agreed.server_no_context_takeover,
            inflater: None,
            deflater: None,
        })
    }

    /// The client's own decompressor, when it takes its context over.
    pub(crate) fn own_inflater(&mut self) -> Option<&mut Inflater> {
        if !self.client_takeover {
            return None;
        }
        Some(
            self.inflater
                .get_or_insert_with(|| Box::new(zlib::inflater())),
        )
    }

    /// This client's own compressor, when the server takes its context over.
    fn own_deflater(&mut self) -> Option<&mut Deflater> {
        if !self.server_takeover {
            return None;
        }
        let (level, bits) = (self.level, self.window_bits);
        Some(self.deflater.get_or_insert_with(|| {
            Box::new(zlib::deflater(level, true).with_max_window_bits(bits))
        }))
    }
}

/// The worker's codecs and scratch buffers for permessage-deflate (created on first use).
#[derive(Debug, Default)]
pub(crate) struct Shared {
    /// For clients without context takeover.
    inflater: Option<Box<Inflater>>,
    /// For recipients without context takeover, one per zlib level in use.
    deflaters: Vec<(u8, Deflater)>,
    /// The inflated message being handed to the app.
    pub(crate) inflated: Vec<u8>,
    /// The compressed frames of the batch being delivered (`Item::Compressed` ranges).
    pub(crate) arena: Vec<u8>,
    /// Per record of the batch: the level it was compressed at and its frame (`None`:
    /// compressing did not make it smaller, so it goes plain).
    cache: Vec<Option<(u8, Option<Frame>)>>,
    scratch: Vec<u8>,
    /// Connections that negotiated the extension: none, and outbound batches skip all this.
    pub(crate) conns: usize,
}

impl Shared {
    /// The inflater for a client without context takeover, reset for its next message, and
    /// the buffer to inflate into.
    pub(crate) fn inflater(&mut self) -> (&mut Inflater, &mut Vec<u8>) {
        let inflater = self
            .inflater
            .get_or_insert_with(|| Box::new(zlib::inflater()));
        inflater.reset();
        (inflater, &mut self.inflated)
    }

    /// Gives the inflated scratch's memory back after a large message.
    pub(crate) fn tidy_inflated(&mut self) {
        if self.inflated.capacity() > KEEP_INFLATED {
            self.inflated = Vec::new();
        }
    }
}

/// The shared compressor for `level`.
fn deflater_for(deflaters: &mut Vec<(u8, Deflater)>, level: u8) -> &mut Deflater {
    let at = match deflaters.iter().position(|(l, _)| *l == level) {
        Some(at) => at,
        None => {
            deflaters.push((level, zlib::deflater(level, false)));
            deflaters.len() - 1
        }
    };
    &mut deflaters[at].1
}

/// A compressed frame in the arena.
#[derive(Debug, Clone, Copy)]
struct Frame {
    start: u32,
    end: u32,
    /// Its payload's length.
    payload: u32,
}

/// The kind and payload of a whole, uncompressed message frame as an app writes it (else
/// `None`: fragments and anything unusual go as they are).
fn whole_message(frame: &[u8]) -> Option<(ws_proto::DataKind, &[u8])> {
    let (header, header_len) = FrameHeader::decode(frame).ok()??;
    let kind = match header.opcode {
        Opcode::Text => ws_proto::DataKind::Text,
        Opcode::Binary => ws_proto::DataKind::Binary,
        _ => return None,
    };
    let whole = header.fin
        && header.rsv == 0
        && header.mask.is_none()
        && (frame.len() - header_len) as u64 == header.payload_len;
    whole.then(|| (kind, &frame[header_len..]))
}

impl Worker {
    /// Turns the frames of a batch's deliveries to compressing clients into compressed ones
    /// (`Item::Compressed`, in `deflate.arena`), compressing each record once for all
    /// recipients without context takeover.
    pub(super) fn compress_deliveries(&mut self, deliveries: &mut [Delivery<'_>], records: usize) {
        let Self {
            slots,
            deflate,
            counters,
            ..
        } = self;
        deflate.arena.clear();
        deflate.cache.clear();
        deflate.cache.resize(records, None);
        for (slot, _, item) in deliveries.iter_mut() {
            let Item::Frame { frame, record } = *item else {
                continue;
            };
            let Some(Slot {
                conn: Some(conn), ..
            }) = slots.get_mut(*slot as usize)
            else {
                continue;
            };
            let Phase::Ws {
                ws,
                deflate: Some(cd),
                ..
            } = &mut conn.phase
            else {
                continue;
            };
            let Some((kind, payload)) = whole_message(frame) else {
                continue;
            };
            if payload.len() < cd.min_size
                || payload.len() > max_len_for_window(cd.window_bits)
                || !ws.can_send_data()
            {
                continue;
            }
            let Shared {
                deflaters,
                scratch,
                arena,
                cache,
                ..
            } = deflate;
            let level = cd.level;
            let compressed = if let Some(own) = cd.own_deflater() {
                // Context takeover: this client's copy, compressed in its order.
                counters.deflate_compressions.inc();
                compress_frame(ws, own, kind, payload, scratch, arena)
            } else {
                match cache[record as usize] {
                    Some((cached_level, cached)) if cached_level == level => cached,
                    _ => {
                        counters.deflate_compressions.inc();
                        let deflater = deflater_for(deflaters, level);
                        let compressed =
                            compress_frame(ws, deflater, kind, payload, scratch, arena);
                        cache[record as usize] = Some((level, compressed));
                        compressed
                    }
                }
            };
            if let Some(Frame {
                start,
                end,
                payload: compressed_len,
            }) = compressed
            {
                counters.deflate_out_before.add(payload.len() as u64);
                counters.deflate_out_after.add(u64::from(compressed_len));
                *item = Item::Compressed { start, end };
            }
        }
    }
}

/// Compresses `payload` with `deflater` and appends its frame (RSV1 set) to `arena`; `None`
/// when it should go plain (see `Deflater::compress_to_send`).
fn compress_frame(
    ws: &mut ws_proto::Connection,
    deflater: &mut Deflater,
    kind: ws_proto::DataKind,
    payload: &[u8],
    scratch: &mut Vec<u8>,
    arena: &mut Vec<u8>,
) -> Option<Frame> {
    scratch.clear();
    if !deflater.compress_to_send(payload, scratch) {
        return None;
    }
    let header = ws
        .compressed_frame_header(kind, scratch.len() as u64, None)
        .ok()?;
    let start = u32::try_from(arena.len()).ok()?;
    arena.extend_from_slice(header.as_bytes());
    arena.extend_from_slice(scratch);
    let end = u32::try_from(arena.len()).ok()?;
    Some(Frame {
        start,
        end,
        payload: scratch.len() as u32,
    })
}
