//! Replays every file in `corpus/<target>/` through its target function, without libFuzzer:
//! `cargo test --manifest-path fuzz/Cargo.toml --no-default-features`.
//!
//! The committed seeds always run; files that `cargo fuzz run` added locally run too. A failure
//! names the file, which reproduces with `cargo fuzz run <target> corpus/<target>/<file>`.

use std::fs;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};

fn replay(target: &str, run: fn(&[u8])) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("corpus")
        .join(target);
    let mut files: Vec<PathBuf> = fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.is_file())
        .collect();
    files.sort();
    assert!(!files.is_empty(), "{}: empty corpus", dir.display());
    let mut failed = Vec::new();
    for path in &files {
        let data = fs::read(path).unwrap();
        if catch_unwind(AssertUnwindSafe(|| run(&data))).is_err() {
            // The panic message above belongs to this input.
            eprintln!("{target}: failed on {}", path.display());
            failed.push(path.display().to_string());
        }
    }
    assert!(
        failed.is_empty(),
        "{target}: {} of {} inputs failed: {failed:#?}",
        failed.len(),
        files.len()
    );
}

#[test]
fn handshake_request() {
    replay("handshake_request", ws_proto_fuzz::handshake_request);
}

#[test]
fn handshake_response() {
    replay("handshake_response", ws_proto_fuzz::handshake_response);
}

#[test]
fn handshake_roundtrip() {
    replay("handshake_roundtrip", ws_proto_fuzz::handshake_roundtrip);
}

#[test]
fn frame_decoder_server() {
    replay("frame_decoder_server", ws_proto_fuzz::frame_decoder_server);
}

#[test]
fn frame_decoder_client() {
    replay("frame_decoder_client", ws_proto_fuzz::frame_decoder_client);
}

#[test]
fn engine_ops() {
    replay("engine_ops", ws_proto_fuzz::engine_ops);
}

/// `cargo test --manifest-path fuzz/Cargo.toml --no-default-features -- --ignored write_seeds`
/// rewrites the seeds that `src/seeds.rs` generates for the `arbitrary`-driven targets.
#[test]
#[ignore]
fn write_seeds() {
    for (target, name, bytes) in ws_proto_fuzz::seeds::generated() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("corpus")
            .join(target);
        fs::create_dir_all(&dir).unwrap();
        fs::write(dir.join(name), bytes).unwrap();
    }
}

/// The committed generated seeds are the ones `src/seeds.rs` writes.
#[test]
fn generated_seeds_are_current() {
    for (target, name, bytes) in ws_proto_fuzz::seeds::generated() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("corpus")
            .join(target)
            .join(&name);
        let committed =
            fs::read(&path).unwrap_or_else(|e| panic!("{}: {e} (run write_seeds)", path.display()));
        assert!(
            committed == bytes,
            "{}: stale, run write_seeds",
            path.display()
        );
    }
}

#[test]
fn inflate() {
    replay("inflate", ws_proto_fuzz::inflate);
}

#[test]
fn proxy() {
    replay("proxy", ws_proto_fuzz::proxy);
}
