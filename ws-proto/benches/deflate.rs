//! permessage-deflate codec cost per message: `ws_proto::deflate` (miniz_oxide) against
//! `flate2` on its zlib-rs backend (the fastest pure-Rust zlib, what a caller could plug in),
//! both without context takeover (a fresh window per message: the daemon's default), on
//! JSON chat messages of 256 B, 1 KiB and 16 KiB.
//!
//! Throughput is in uncompressed bytes. The compressed sizes are printed once per size and
//! level, so the ratio can be read next to the speed.

use std::hint::black_box;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use flate2::{Compress, Compression, Decompress, FlushCompress, FlushDecompress};
use ws_proto::deflate::{Deflater, Inflater};

/// A chat feed: JSON objects with repeating keys and varied values, `len` bytes.
fn json_chat(len: usize) -> Vec<u8> {
    let words = [
        "hello",
        "there",
        "how",
        "is",
        "everyone",
        "today",
        "ringsocket",
        "fast",
        "chat",
        "room",
    ];
    let mut out = Vec::with_capacity(len + 128);
    let mut i = 0usize;
    while out.len() < len {
        let user = words[i % words.len()];
        let text = (0..6)
            .map(|j| words[(i * 7 + j * 3) % words.len()])
            .collect::<Vec<_>>()
            .join(" ");
        out.extend_from_slice(
            format!("{{\"id\":{},\"user\":\"{user}{}\",\"room\":\"general\",\"ts\":{},\"text\":\"{text}\"}},", 1000 + i, i % 13, 1_733_300_000 + i * 17).as_bytes(),
        );
        i += 1;
    }
    out.truncate(len);
    out
}

const SIZES: [(usize, &str); 3] = [(256, "256B"), (1024, "1KiB"), (16 << 10, "16KiB")];
const LEVELS: [u8; 2] = [1, 6];

fn flate2_compress(c: &mut Compress, input: &[u8], out: &mut Vec<u8>) {
    c.reset();
    out.clear();
    out.reserve(input.len() + 64);
    c.compress_vec(input, out, FlushCompress::Sync).unwrap();
    if out.ends_with(&[0, 0, 0xff, 0xff]) {
        out.truncate(out.len() - 4);
    }
}

fn flate2_inflate(d: &mut Decompress, input: &[u8], out: &mut Vec<u8>, max: usize) {
    d.reset(false);
    out.clear();
    out.reserve(max);
    d.decompress_vec(input, out, FlushDecompress::None).unwrap();
    d.decompress_vec(&[0, 0, 0xff, 0xff], out, FlushDecompress::Sync)
        .unwrap();
}

fn compress(c: &mut Criterion) {
    let mut group = c.benchmark_group("deflate-compress");
    for (size, name) in SIZES {
        let message = json_chat(size);
        group.throughput(Throughput::Bytes(size as u64));
        for level in LEVELS {
            let mut ours = Deflater::new(level, false);
            let mut out = Vec::new();
            ours.compress(&message, &mut out).unwrap();
            let mut theirs = Compress::new(Compression::new(u32::from(level)), false);
            let mut theirs_out = Vec::new();
            flate2_compress(&mut theirs, &message, &mut theirs_out);
            println!(
                "{name} level {level}: ws-proto {} B, flate2/zlib-rs {} B",
                out.len(),
                theirs_out.len()
            );
            group.bench_function(BenchmarkId::new(format!("ws-proto-l{level}"), name), |b| {
                b.iter(|| {
                    out.clear();
                    ours.compress(black_box(&message), &mut out).unwrap();
                    black_box(out.len())
                })
            });
            group.bench_function(
                BenchmarkId::new(format!("flate2-zlib-rs-l{level}"), name),
                |b| {
                    b.iter(|| {
                        flate2_compress(&mut theirs, black_box(&message), &mut theirs_out);
                        black_box(theirs_out.len())
                    })
                },
            );
        }
    }
    group.finish();
}

fn inflate(c: &mut Criterion) {
    let mut group = c.benchmark_group("deflate-inflate");
    for (size, name) in SIZES {
        let message = json_chat(size);
        let mut wire = Vec::new();
        Deflater::new(6, false)
            .compress(&message, &mut wire)
            .unwrap();
        group.throughput(Throughput::Bytes(size as u64));
        let mut ours = Inflater::new();
        let mut out = Vec::new();
        group.bench_function(BenchmarkId::new("ws-proto", name), |b| {
            b.iter(|| {
                ours.reset();
                out.clear();
                ours.inflate(black_box(&wire), 1 << 20, &mut out).unwrap();
                black_box(out.len())
            })
        });
        let mut theirs = Decompress::new(false);
        let mut theirs_out = Vec::new();
        flate2_inflate(&mut theirs, &wire, &mut theirs_out, size);
        assert_eq!(theirs_out, message);
        group.bench_function(BenchmarkId::new("flate2-zlib-rs", name), |b| {
            b.iter(|| {
                flate2_inflate(&mut theirs, black_box(&wire), &mut theirs_out, size);
                black_box(theirs_out.len())
            })
        });
    }
    group.finish();
}

criterion_group!(benches, compress, inflate);
criterion_main!(benches);
