//! A worker's connection state: the transport seam, the slot, and the backpressure buffer.

use std::io::IoSlice;
use std::net::SocketAddr;
use std::os::fd::OwnedFd;

use rustix::io::Errno;
use rustix::net::{self as rnet, RecvFlags, SendFlags, Shutdown};
use ws_proto::frame::FrameHeader;
use ws_proto::handshake::RequestParser;

/// How bytes reach a client. TLS will be a second variant (boxed, so that plain connections
/// stay small); every read and write of the worker goes through these methods.
#[derive(Debug)]
pub(crate) enum Transport {
    /// Plain TCP (`ws://`).
    Plain(OwnedFd),
}

impl Transport {
    /// Reads into `buf`; `Ok(0)` is the end of the stream (`buf` is never empty).
    pub(crate) fn recv(&mut self, buf: &mut [u8]) -> Result<usize, Errno> {
        match self {
            Self::Plain(fd) => rnet::recv(&*fd, buf, RecvFlags::empty()).map(|(n, _)| n),
        }
    }

    /// Writes as much of `bufs` as the socket takes, in one syscall. `MSG_NOSIGNAL`: a peer
    /// that is gone is an `EPIPE` here, never a `SIGPIPE` for the process.
    pub(crate) fn send_vectored(&mut self, bufs: &[IoSlice<'_>]) -> Result<usize, Errno> {
        match self {
            Self::Plain(fd) => {
                let mut control = rnet::SendAncillaryBuffer::default();
                rnet::sendmsg(&*fd, bufs, &mut control, SendFlags::NOSIGNAL)
            }
        }
    }

    /// Sends FIN: everything queued is delivered, then the peer reads the end of the stream.
    pub(crate) fn shutdown_write(&mut self) {
        match self {
            // ENOTCONN: the peer is gone already; nothing to tell it.
            Self::Plain(fd) => {
                let _ = rnet::shutdown(&*fd, Shutdown::Write);
            }
        }
    }
}

/// Where a connection is in its life.
#[derive(Debug)]
pub(crate) enum Phase {
    /// Reading the HTTP upgrade request (deadline: `handshake_wait`).
    Handshake(RequestParser),
    /// Upgraded: the app got an open record and will get exactly one close record.
    Ws {
        /// The protocol engine (its deadlines are keepalive and the closing handshake).
        ws: ws_proto::Connection,
        /// Index of the app in the server's app list.
        app: u16,
        /// The endpoint's configured id (sent in every inbound record).
        endpoint_id: u16,
    },
    /// Finished (an HTTP error answer, or a WebSocket that closed): flush what is pending,
    /// send FIN, discard what the peer still sends until it closes or the deadline passes.
    Draining,
}

/// One connection. Everything that is not needed while idle lives in buffers that are empty
/// (unallocated) while idle.
#[derive(Debug)]
pub(crate) struct Conn {
    pub(crate) transport: Transport,
    pub(crate) phase: Phase,
    pub(crate) peer: SocketAddr,
    /// When the connection's deadline is due, in ns on the worker's clock (`u64::MAX`: none).
    pub(crate) deadline: u64,
    /// The time of the heap entry that stands for this connection (`u64::MAX`: none). Later
    /// than `deadline` never: see `Worker::set_deadline`.
    pub(crate) scheduled: u64,
    /// Received bytes not processed yet: an unfinished HTTP head, or a partial frame header
    /// or control frame (at most 139 bytes).
    pub(crate) pending_in: Vec<u8>,
    /// A message arriving in pieces (ws-proto's message buffer).
    pub(crate) message: Vec<u8>,
    /// Output the socket did not take yet.
    pub(crate) backlog: Backlog,
    /// The index of the listener it came in on.
    pub(crate) listener: u8,
    /// On the worker's ready list (more to read next turn).
    pub(crate) in_ready: bool,
    /// FIN sent.
    pub(crate) write_shut: bool,
}

impl Conn {
    pub(crate) fn new(fd: OwnedFd, peer: SocketAddr, listener: u8) -> Self {
        Self {
            transport: Transport::Plain(fd),
            phase: Phase::Handshake(RequestParser::new()),
            peer,
            deadline: u64::MAX,
            scheduled: u64::MAX,
            pending_in: Vec::new(),
            message: Vec::new(),
            backlog: Backlog::default(),
            listener,
            in_ready: false,
            write_shut: false,
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

/// Output a client's socket did not take: a copy, so the ring space is released at once.
///
/// Bytes before `aligned` finish a frame (or the HTTP response) whose start was already
/// written; from `aligned` on, the buffer holds whole frames. When the client falls too far
/// behind, the whole frames are dropped and a close frame can follow the partial one without
/// corrupting the stream.
#[derive(Debug, Default)]
pub(crate) struct Backlog {
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
        self.buf.len() - self.start
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The bytes waiting.
    pub(crate) fn pending(&self) -> &[u8] {
        &self.buf[self.start..]
    }

    /// Appends whole frames.
    pub(crate) fn push_frames(&mut self, bytes: &[u8]) {
        if self.is_empty() {
            self.reset();
        }
        self.buf.extend_from_slice(bytes);
    }

    /// Appends the rest of something whose start was written (a frame, or HTTP bytes): no
    /// frame boundary inside.
    pub(crate) fn push_unaligned(&mut self, bytes: &[u8]) {
        if self.is_empty() {
            self.reset();
        }
        self.buf.extend_from_slice(bytes);
        self.aligned = self.buf.len();
    }

    /// Marks `n` bytes as written.
    pub(crate) fn consume(&mut self, n: usize) {
        self.start += n;
        if self.start > self.aligned {
            // Find the boundary of the frame the write stopped in: walk the whole frames.
            let mut at = self.aligned;
            while at < self.start {
                at += frame_len(&self.buf[at..]);
            }
            self.aligned = at;
        }
        if self.start >= self.buf.len() {
            self.reset();
        } else if self.start > self.buf.len() / 2 && self.start > 4096 {
            self.buf.drain(..self.start);
            self.aligned -= self.start;
            self.start = 0;
        }
    }

    /// Drops the whole frames, keeping only the end of one partly written: the client is too
    /// far behind and gets a close frame next.
    pub(crate) fn drop_whole_frames(&mut self) {
        let keep = self.aligned.max(self.start);
        self.buf.truncate(keep);
        self.buf.shrink_to_fit();
    }

    /// Empties the buffer, keeping a small allocation for the next burst.
    fn reset(&mut self) {
        if self.buf.capacity() > KEEP_CAPACITY {
            self.buf = Vec::new();
        } else {
            self.buf.clear();
        }
        self.start = 0;
        self.aligned = 0;
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

    #[test]
    fn an_idle_connection_is_small() {
        let size = std::mem::size_of::<Slot>();
        eprintln!(
            "Slot: {size} B (Conn {} B, ws_proto::Connection {} B, RequestParser {} B)",
            std::mem::size_of::<Conn>(),
            std::mem::size_of::<ws_proto::Connection>(),
            std::mem::size_of::<RequestParser>()
        );
        assert!(size <= 300, "a connection slot is {size} bytes");
    }
}
