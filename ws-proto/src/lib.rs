//! A `no_std`, sans-IO engine for WebSocket (RFC 6455) servers and clients, HTTP/1.1 upgrade
//! included.
//!
//! The engine does no I/O, reads no clock and draws no random numbers: bytes go in, events and
//! bytes come out, and time, mask keys and buffers come from the caller. That makes it
//! deterministic, testable in memory and usable under any event loop.
//!
//! * [`handshake`]: an incremental HTTP/1.1 upgrade parser with zero-copy views, server-side
//!   validation with the right HTTP status, the `101` and error response writers, and the client
//!   request writer and response validator.
//! * [`Connection`]: the framing state machine for either [`Role`]: it decodes frames from the
//!   caller's input (unmasking in place, handing payloads out without copying where contiguous),
//!   validates UTF-8 incrementally, reassembles fragmented messages into the caller's
//!   [`Buffer`], answers pings, runs the close handshake and keepalive, and encodes outgoing
//!   frames.
//! * [`frame`]: frame headers and masking, for callers that write frames themselves (e.g. a
//!   server that encodes a broadcast once for many connections).
//!
//! The crate contains no `unsafe` code.
#![no_std]
#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![warn(clippy::std_instead_of_core, clippy::alloc_instead_of_core)]

#[cfg(feature = "alloc")]
extern crate alloc;

mod buffer;
mod close;
mod connection;
mod error;
pub mod frame;
pub mod handshake;
mod utf8;

pub use buffer::{Buffer, BufferFull, ClientOutput, Output, SliceBuffer};
pub use close::{CloseCode, CloseFrame};
pub use connection::{
    Config, Connection, DataKind, Event, Instant, Received, Role, State, Timeout,
};
pub use error::{LimitExceeded, LocalError, MalformedFrame, ProtocolViolation, ReceiveError};
pub use utf8::Utf8Validator;
