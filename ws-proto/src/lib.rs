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
//! * permessage-deflate (RFC 7692): negotiation in [`handshake::extensions`], RSV1 rules and
//!   compressed messages in [`Connection`] (`with_permessage_deflate`, [`Event::Compressed`]),
//!   and, with the `deflate` feature, `deflate`: inflating under the message limit and
//!   compressing per message over a pluggable raw codec (miniz_oxide built in).
//! * [`proxy`]: the PROXY protocol header (v1 and v2) that a load balancer sends first.
//!
//! The crate contains no `unsafe` code.
//!
//! # Example
//!
//! A server receives a masked text frame (RFC 6455 §5.7) and answers:
//!
//! ```
//! use ws_proto::{Config, Connection, DataKind, Event, Instant, Role};
//!
//! let config = Config::default();
//! let mut conn = Connection::new(Role::Server, &config, Instant::from_nanos(0));
//! let (mut message, mut out) = (Vec::new(), Vec::new());
//! let mut input = vec![0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58];
//! let received = conn
//!     .receive(&config, Instant::from_nanos(1), &mut input, &mut message, &mut out)
//!     .unwrap();
//! assert_eq!(received.consumed, 11);
//! assert_eq!(received.event, Some(Event::Message { kind: DataKind::Text, payload: b"Hello" }));
//! conn.send(DataKind::Text, b"Hi!", &mut out).unwrap();
//! assert_eq!(out, b"\x81\x03Hi!"); // write `out` to the socket
//! ```
#![no_std]
#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![warn(clippy::std_instead_of_core, clippy::alloc_instead_of_core)]

#[cfg(feature = "alloc")]
extern crate alloc;

mod buffer;
mod close;
mod connection;
#[cfg(feature = "deflate")]
pub mod deflate;
mod error;
pub mod frame;
pub mod handshake;
pub mod proxy;
mod utf8;

pub use buffer::{Buffer, BufferFull, ClientOutput, Output, SliceBuffer};
pub use close::{CloseCode, CloseFrame};
pub use connection::{
    Config, Connection, DataKind, Event, Instant, Received, Role, State, Timeout,
};
pub use error::{LimitExceeded, LocalError, MalformedFrame, ProtocolViolation, ReceiveError};
pub use utf8::Utf8Validator;
