//! A worker's connection table entry: the slot, the connection's phase, and its input buffers.

use std::net::SocketAddr;

use ws_proto::handshake::RequestParser;

use super::backlog::Backlog;
use super::transport::Transport;

/// Where a connection is in its life.
#[derive(Debug)]
pub(crate) enum Phase {
    /// A port behind a load balancer: waiting for the PROXY protocol header that names the
    /// client (deadline: `handshake_wait`).
    Proxy,
    /// Reading the HTTP upgrade request (deadline: `handshake_wait`).
    Handshake(RequestParser),
    /// The request is valid and went to the app's upgrade callback; waiting for its answer
    /// (deadline: what is left of `handshake_wait`, then 503). The app got an upgrade record
    /// and will get exactly one open or close record. Bytes the client sends meanwhile wait
    /// in `pending`.
    Upgrading(Box<PendingUpgrade>),
    /// Upgraded: the app got an open record and will get exactly one close record.
    Ws {
        /// The protocol engine (its deadlines are keepalive and the closing handshake).
        ws: ws_proto::Connection,
        /// Index of the app in the server's app list.
        app: u16,
        /// The endpoint's configured id (sent in every inbound record).
        endpoint_id: u16,
        /// Its place in the app's member list on this worker (`AppPort::members`).
        member_at: u32,
        /// permessage-deflate, when negotiated.
        deflate: Option<Box<super::compress::ConnDeflate>>,
    },
    /// Finished (an HTTP error answer, or a WebSocket that closed): flush what is pending,
    /// send FIN, discard what the peer still sends until it closes or the deadline passes.
    Draining,
}

/// What the `101` needs once the app accepts.
#[derive(Debug)]
pub(crate) struct PendingUpgrade {
    /// Index of the endpoint in the worker's list.
    pub(crate) endpoint: usize,
    /// `Sec-WebSocket-Key` (validated: 24 base64 characters).
    pub(crate) key: [u8; 24],
    /// permessage-deflate as agreed, if the client offered it.
    pub(crate) deflate: Option<ws_proto::handshake::extensions::PerMessageDeflate>,
}

/// One connection. Everything that is not needed while idle lives in buffers that are empty
/// (unallocated) while idle.
#[derive(Debug)]
pub(crate) struct Conn {
    pub(crate) transport: Transport,
    pub(crate) phase: Phase,
    /// Packed (16 bytes, not 32): only the open record needs it.
    pub(crate) peer: app_abi::host::PackedAddr,
    /// When the connection's deadline is due, in ns on the worker's clock (`u64::MAX`: none).
    pub(crate) deadline: u64,
    /// The time of the heap entry that stands for this connection (`u64::MAX`: none). Later
    /// than `deadline` never: see `Worker::set_deadline`.
    pub(crate) scheduled: u64,
    /// Received bytes not processed yet, and a message arriving in pieces: see [`InBufs`].
    pub(crate) inbufs: InBufs,
    /// Output the socket did not take yet.
    pub(crate) backlog: Backlog,
    /// The index of the listener it came in on.
    pub(crate) listener: u8,
    /// On the worker's ready list (more to read next turn).
    pub(crate) in_ready: bool,
    /// FIN sent.
    pub(crate) write_shut: bool,
    /// epoll reported the peer's FIN, a hangup or an error: read until the end of the stream,
    /// since that edge will not be reported again (else a short read means drained).
    pub(crate) hup: bool,
    /// The first close code sent or received on the WebSocket (0: none yet), for the
    /// metrics.
    pub(crate) close_code: u16,
    /// The backlog bytes this connection has added to the worker's backlog gauge.
    pub(crate) counted_backlog: usize,
    /// The engine closed (the client's close, or a protocol error) and its close frame waits
    /// in `pending` until the app thread returns a barrier: the replies to the client's last
    /// messages, still on the app's ring, go first (bounded by `shutdown_wait_ws`).
    pub(crate) close_owed: bool,
    /// `peer` is counted in the per-address limits (see `limits.rs`).
    pub(crate) addr_counted: bool,
    /// `max_messages_per_second`'s budget.
    pub(crate) budget: super::limits::MessageBudget,
}

impl Conn {
    pub(crate) fn new(transport: Transport, peer: SocketAddr, listener: u8, proxied: bool) -> Self {
        Self {
            transport,
            phase: if proxied {
                Phase::Proxy
            } else {
                Phase::Handshake(RequestParser::new())
            },
            peer: peer.into(),
            deadline: u64::MAX,
            scheduled: u64::MAX,
            inbufs: InBufs::default(),
            backlog: Backlog::default(),
            listener,
            in_ready: false,
            write_shut: false,
            hup: false,
            close_code: 0,
            counted_backlog: 0,
            close_owed: false,
            addr_counted: false,
            budget: super::limits::MessageBudget::default(),
        }
    }
}

/// A connection's input buffers, boxed and allocated only while one of them holds something,
/// so that an idle connection pays one pointer for them.
#[derive(Debug, Default)]
pub(crate) struct InBufs(Option<Box<InBufsInner>>);

#[derive(Debug, Default)]
struct InBufsInner {
    /// Received bytes not processed yet: an unfinished HTTP head, or a partial frame header
    /// or control frame (at most 139 bytes).
    pending: Vec<u8>,
    /// A message arriving in pieces (ws-proto's message buffer).
    message: Vec<u8>,
}

impl InBufs {
    /// The received bytes not processed yet.
    pub(crate) fn pending(&self) -> &[u8] {
        self.0.as_ref().map_or(&[], |b| &b.pending)
    }

    /// Keeps `bytes` after the pending ones.
    pub(crate) fn extend_pending(&mut self, bytes: &[u8]) {
        if !bytes.is_empty() {
            self.0
                .get_or_insert_default()
                .pending
                .extend_from_slice(bytes);
        }
    }

    /// Takes the pending bytes out.
    pub(crate) fn take_pending(&mut self) -> Vec<u8> {
        let taken = self
            .0
            .as_mut()
            .map_or_else(Vec::new, |b| std::mem::take(&mut b.pending));
        self.tidy();
        taken
    }

    /// Forgets the pending bytes (they were handed on) and their memory.
    pub(crate) fn clear_pending(&mut self) {
        if let Some(b) = self.0.as_mut() {
            b.pending = Vec::new();
        }
        self.tidy();
    }

    /// The message buffer, for ws-proto; give it back with [`put_message`](Self::put_message).
    pub(crate) fn take_message(&mut self) -> Vec<u8> {
        self.0
            .as_mut()
            .map_or_else(Vec::new, |b| std::mem::take(&mut b.message))
    }

    /// Keeps the message buffer when it holds memory.
    pub(crate) fn put_message(&mut self, message: Vec<u8>) {
        if message.capacity() > 0 {
            self.0.get_or_insert_default().message = message;
        } else {
            self.tidy();
        }
    }

    /// Frees both buffers.
    pub(crate) fn clear(&mut self) {
        self.0 = None;
    }

    /// Drops the box once neither buffer holds memory.
    fn tidy(&mut self) {
        if self
            .0
            .as_ref()
            .is_some_and(|b| b.pending.capacity() == 0 && b.message.capacity() == 0)
        {
            self.0 = None;
        }
    }
}

/// A slot of the worker's connection table. The generation survives the connection, so an id
/// minted for an earlier connection in the slot never reaches a later one.
#[derive(Debug)]
pub(crate) struct Slot {
    pub(crate) generation: u32,
    pub(crate) conn: Option<Conn>,
}

#[cfg(test)]
mod tests {
    use super::super::transport::TlsTransport;
    use super::*;
    use crate::tls::TlsSession;

    #[test]
    fn an_idle_connection_is_small() {
        let size = std::mem::size_of::<Slot>();
        eprintln!(
            "Slot: {size} B (Conn {} B, Transport {} B, ws_proto::Connection {} B, \
             RequestParser {} B); a TLS connection adds a {} B box (TlsSession {} B)",
            std::mem::size_of::<Conn>(),
            std::mem::size_of::<Transport>(),
            std::mem::size_of::<ws_proto::Connection>(),
            std::mem::size_of::<RequestParser>(),
            std::mem::size_of::<TlsTransport>(),
            std::mem::size_of::<TlsSession>(),
        );
        assert!(size <= 300, "a connection slot is {size} bytes");
        // TLS stays out of the slot: one pointer (and the tag) for the boxed session.
        assert!(std::mem::size_of::<Transport>() <= 16);
    }
}
