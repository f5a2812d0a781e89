//! Server-side receive throughput: decoding and unmasking masked client→server binary frames,
//! against `tungstenite`, `fastwebsockets` and a plain `memcpy` of the same bytes.
//!
//! Every iteration processes ~1 MiB of wire bytes: `count` frames of one payload size, all
//! masked. Each variant pays exactly one copy of those bytes, the copy a `recv` would make into
//! the engine's read buffer:
//!
//! * `ws-proto`: copies the pristine masked bytes into its input buffer, then runs
//!   [`Connection::receive`] over it (unmasking in place, payloads handed out zero-copy).
//! * `tungstenite`: a `WebSocket` (server role) reads messages from an in-memory stream that
//!   copies the same bytes into tungstenite's read buffer.
//! * `fastwebsockets`: a `WebSocket` (server role, auto pong/close off, auto unmask on) reads
//!   frames from an in-memory `AsyncRead` on a current-thread tokio runtime; the stream copies the
//!   bytes into fastwebsockets' read buffer.
//! * `memcpy`: copies the bytes and does nothing else; the floor for any engine that has to
//!   receive them.
//!
//! `ws-proto-chunked` pays the same single copy, but "receives" at most 128 KiB of whole frames
//! at a time into a reused read buffer and decodes it while it is still in cache, which is what
//! the peers' buffered reads amount to (fastwebsockets reads about one frame at a time into a
//! reused buffer). The plain `ws-proto` variant copies the whole ~1 MiB first, so its unmask pass
//! reads from L2/L3 rather than L1/L2.
//!
//! `ws-proto-in-place` is informational: it skips the copy and unmasks the same buffer over and
//! over (unmasking is its own inverse, so the buffer alternates between masked and clear, and
//! headers are never modified), i.e. pure decode + unmask cost.
//!
//! Throughput is in wire bytes (headers included), the same number for every variant.

use std::hint::black_box;
use std::io::{self, Read, Write};
use std::pin::Pin;
use std::task::{Context, Poll};

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use ws_proto::frame::{FrameHeader, Opcode, apply_mask};
use ws_proto::{Config, Connection, Event, Instant, Role};

/// Payload sizes under test.
const SIZES: [(usize, &str); 3] = [(16, "16B"), (1024, "1KiB"), (64 * 1024, "64KiB")];

/// Wire bytes per iteration (approximately: a whole number of frames).
const TARGET_BYTES: usize = 1 << 20;

/// Read buffer of the `ws-proto-chunked` variant (tungstenite's default read buffer size).
const READ_BUF: usize = 128 * 1024;

/// `count` masked binary frames with `payload_len`-byte payloads, each with its own mask key.
fn masked_frames(payload_len: usize, count: usize) -> Vec<u8> {
    let mut wire = Vec::with_capacity(count * (payload_len + 14));
    let mut seed = 0x9E37_79B9_u32;
    let mut next = move || {
        // xorshift32: cheap, deterministic, non-trivial bytes.
        seed ^= seed << 13;
        seed ^= seed >> 17;
        seed ^= seed << 5;
        seed
    };
    for _ in 0..count {
        let key = next().to_le_bytes();
        let header = FrameHeader {
            fin: true,
            rsv: 0,
            opcode: Opcode::Binary,
            mask: Some(key),
            payload_len: payload_len as u64,
        };
        wire.extend_from_slice(header.encode().as_bytes());
        let start = wire.len();
        wire.extend((0..payload_len).map(|_| next() as u8));
        apply_mask(&mut wire[start..], key, 0);
    }
    wire
}

/// `wire` cut into pieces of whole frames, each at most `max` bytes (or one frame, if longer).
fn frame_aligned_chunks(wire: &[u8], max: usize) -> Vec<&[u8]> {
    let mut chunks = Vec::new();
    let (mut start, mut end) = (0, 0);
    while end < wire.len() {
        let (header, header_len) = FrameHeader::decode(&wire[end..])
            .expect("valid frame")
            .expect("whole header");
        let frame_end = end + header_len + header.payload_len as usize;
        if frame_end - start > max && end > start {
            chunks.push(&wire[start..end]);
            start = end;
        }
        end = frame_end;
    }
    chunks.push(&wire[start..end]);
    chunks
}

/// An endless in-memory byte stream: `data` over and over, a whole number of frames each time.
/// Reads copy into the caller's buffer like `recv` would; writes are discarded.
struct Replay {
    data: Vec<u8>,
    pos: usize,
}

impl Replay {
    fn new(data: Vec<u8>) -> Self {
        Self { data, pos: 0 }
    }

    fn fill(&mut self, dst: &mut [u8]) -> usize {
        let n = dst.len().min(self.data.len() - self.pos);
        dst[..n].copy_from_slice(&self.data[self.pos..self.pos + n]);
        self.pos += n;
        if self.pos == self.data.len() {
            self.pos = 0;
        }
        n
    }
}

impl Read for Replay {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        Ok(self.fill(buf))
    }
}

impl Write for Replay {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl tokio::io::AsyncRead for Replay {
    fn poll_read(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let n = buf.remaining().min(this.data.len() - this.pos);
        buf.put_slice(&this.data[this.pos..this.pos + n]);
        this.pos += n;
        if this.pos == this.data.len() {
            this.pos = 0;
        }
        Poll::Ready(Ok(()))
    }
}

impl tokio::io::AsyncWrite for Replay {
    fn poll_write(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

/// Runs `conn` over every frame in `input`; returns the payload bytes seen.
fn ws_proto_receive_all(
    conn: &mut Connection,
    config: &Config,
    input: &mut [u8],
    message: &mut Vec<u8>,
    out: &mut Vec<u8>,
) -> usize {
    let now = Instant::from_nanos(0);
    let mut pos = 0;
    let mut total = 0;
    while pos < input.len() {
        let received = conn
            .receive(config, now, &mut input[pos..], message, out)
            .expect("valid frames");
        if let Some(Event::Message { payload, .. }) = received.event {
            total += black_box(payload).len();
        }
        debug_assert!(!received.is_stalled());
        pos += received.consumed;
    }
    total
}

fn decode(c: &mut Criterion) {
    let mut group = c.benchmark_group("decode");
    for (payload_len, label) in SIZES {
        let frame_len = FrameHeader {
            fin: true,
            rsv: 0,
            opcode: Opcode::Binary,
            mask: Some([0; 4]),
            payload_len: payload_len as u64,
        }
        .encode()
        .as_bytes()
        .len()
            + payload_len;
        let count = TARGET_BYTES.div_ceil(frame_len);
        let pristine = masked_frames(payload_len, count);
        let expected_payload = payload_len * count;
        group.throughput(Throughput::Bytes(pristine.len() as u64));

        // ws-proto: copy into the input buffer (the `recv`), then decode + unmask in place.
        let config = Config::default();
        let mut conn = Connection::new(Role::Server, &config, Instant::from_nanos(0));
        let mut work = vec![0u8; pristine.len()];
        let mut message = Vec::new();
        let mut out = Vec::new();
        group.bench_function(BenchmarkId::new("ws-proto", label), |b| {
            b.iter(|| {
                work.copy_from_slice(black_box(&pristine));
                let total =
                    ws_proto_receive_all(&mut conn, &config, &mut work, &mut message, &mut out);
                assert_eq!(total, expected_payload);
            });
        });

        // ws-proto, recv in chunks: each "recv" copies up to `READ_BUF` bytes (whole frames) into
        // a reused read buffer, which is then decoded while it is still in cache. This is the
        // access pattern fastwebsockets gets (it reads about a frame at a time into a reused
        // buffer), without partial frames.
        let chunks = frame_aligned_chunks(&pristine, READ_BUF);
        let mut conn = Connection::new(Role::Server, &config, Instant::from_nanos(0));
        let mut read_buf = vec![0u8; chunks.iter().map(|c| c.len()).max().unwrap_or(0)];
        group.bench_function(BenchmarkId::new("ws-proto-chunked", label), |b| {
            b.iter(|| {
                let mut total = 0;
                for chunk in black_box(&chunks) {
                    let input = &mut read_buf[..chunk.len()];
                    input.copy_from_slice(chunk);
                    total +=
                        ws_proto_receive_all(&mut conn, &config, input, &mut message, &mut out);
                }
                assert_eq!(total, expected_payload);
            });
        });

        // ws-proto without the copy: the same buffer is unmasked (toggled) every iteration.
        let mut conn = Connection::new(Role::Server, &config, Instant::from_nanos(0));
        let mut work = pristine.clone();
        group.bench_function(BenchmarkId::new("ws-proto-in-place", label), |b| {
            b.iter(|| {
                let total = ws_proto_receive_all(
                    &mut conn,
                    &config,
                    black_box(&mut work),
                    &mut message,
                    &mut out,
                );
                assert_eq!(total, expected_payload);
            });
        });

        // tungstenite: the message-level server API over an in-memory stream.
        let tconfig = tungstenite::protocol::WebSocketConfig::default()
            .max_message_size(None)
            .max_frame_size(None);
        let mut ws = tungstenite::WebSocket::from_raw_socket(
            Replay::new(pristine.clone()),
            tungstenite::protocol::Role::Server,
            Some(tconfig),
        );
        group.bench_function(BenchmarkId::new("tungstenite", label), |b| {
            b.iter(|| {
                let mut total = 0;
                for _ in 0..count {
                    match ws.read().expect("valid frames") {
                        tungstenite::Message::Binary(payload) => total += black_box(payload).len(),
                        other => panic!("unexpected {other:?}"),
                    }
                }
                assert_eq!(total, expected_payload);
            });
        });

        // fastwebsockets: server-role WebSocket on a current-thread runtime; the stream is
        // always ready, so every await completes immediately.
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("runtime");
        let mut ws = fastwebsockets::WebSocket::after_handshake(
            Replay::new(pristine.clone()),
            fastwebsockets::Role::Server,
        );
        ws.set_auto_pong(false);
        ws.set_auto_close(false);
        ws.set_auto_apply_mask(true);
        ws.set_max_message_size(usize::MAX);
        group.bench_function(BenchmarkId::new("fastwebsockets", label), |b| {
            b.iter(|| {
                let total = rt.block_on(async {
                    let mut total = 0;
                    for _ in 0..count {
                        let frame = ws.read_frame().await.expect("valid frames");
                        assert_eq!(frame.opcode, fastwebsockets::OpCode::Binary);
                        total += black_box(&frame.payload[..]).len();
                    }
                    total
                });
                assert_eq!(total, expected_payload);
            });
        });

        // memcpy: the same bytes, copied once.
        let mut dst = vec![0u8; pristine.len()];
        group.bench_function(BenchmarkId::new("memcpy", label), |b| {
            b.iter(|| {
                dst.copy_from_slice(black_box(&pristine));
                black_box(&mut dst);
            });
        });
    }
    group.finish();
}

criterion_group!(benches, decode);
criterion_main!(benches);
