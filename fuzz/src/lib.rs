//! Fuzz targets for `ws-proto`, as plain functions.
//!
//! Each `fuzz_targets/*.rs` binary is a one-line `fuzz_target!` that calls one of these, so the
//! same logic runs under libFuzzer (`cargo fuzz run <target>`) and in `tests/replay.rs`, which
//! replays the committed corpora with a plain `cargo test --no-default-features`.
//!
//! Every target checks properties, not only the absence of panics:
//!
//! * [`frame_decoder_server`], [`frame_decoder_client`]: the bytes are a stream from the peer,
//!   fed to a [`Connection`](ws_proto::Connection) in three chunkings that must agree exactly;
//!   the automatic replies in the output must match the events; errors close with the error's
//!   code.
//! * [`engine_ops`]: a client and a server wired together in memory under a random sequence of
//!   API calls, deliveries and clock ticks; a model predicts what each side must receive.
//! * [`handshake_request`], [`handshake_response`]: the incremental HTTP parsers under any
//!   split of the input agree with a one-shot parse; accepted requests round-trip through the
//!   101 writer and the client validator, rejected ones through the error writer.
//! * [`handshake_roundtrip`]: whatever the client request writer accepts, the server parser
//!   and validator accept and return unchanged.
//! * [`inflate`]: a permessage-deflate payload never inflates past the size limit (nor
//!   allocates past it), larger limits agree with smaller ones, the engine reports what the
//!   inflater does, and what inflates round-trips through the compressor.
//! * [`proxy`]: a PROXY protocol header parses the same under any split (partial, then one
//!   result that later bytes never change), agrees with one-shot parsers written from the
//!   spec, fails with errors that match the bytes, and its addresses re-encode as v1 and v2.

#![forbid(unsafe_code)]

mod common;
mod engine;
mod frames;
mod handshake;
mod inflate;
mod proxy;
#[doc(hidden)]
pub mod seeds;

pub use engine::engine_ops;
pub use frames::{frame_decoder_client, frame_decoder_server};
pub use handshake::{handshake_request, handshake_response, handshake_roundtrip};
pub use inflate::inflate;
pub use proxy::proxy;
