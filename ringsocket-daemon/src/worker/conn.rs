//! A worker's connection state: the transport seam, the slot, and the backpressure buffer.

use std::io::{self, IoSlice, Read, Write};
use std::net::SocketAddr;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};

use rustix::io::Errno;
use rustix::net::{self as rnet, RecvFlags, SendFlags, Shutdown};
use ws_proto::frame::FrameHeader;
use ws_proto::handshake::RequestParser;

use crate::tls::{FlushStatus, ReadStatus, SessionError, TlsSession};

/// How bytes reach a client; every read and write of the worker goes through these methods.
/// TLS is boxed: a `ws://` connection pays one pointer's worth of slot space for it, not the
/// size of a rustls session.
#[derive(Debug)]
pub(crate) enum Transport {
    /// Plain TCP (`ws://`).
    Plain(OwnedFd),
    /// TLS (`wss://`): the socket and its session.
    Tls(Box<TlsTransport>),
}

/// A TLS connection: the socket, the rustls session, and how far its close went.
#[derive(Debug)]
pub(crate) struct TlsTransport {
    fd: OwnedFd,
    session: TlsSession,
    /// `close_notify` queued: nothing may be sent after it.
    close_notify: bool,
}

/// What one [`Transport::recv`] brought.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Input {
    /// `n` bytes; there may be more right away (read again, or put the connection on the
    /// ready list: under edge-triggered epoll no event announces them).
    More(usize),
    /// `n` bytes, then `EAGAIN`: wait for the next readable event.
    Drained(usize),
    /// `n` bytes, then the end of the stream: process them, then end the connection.
    End(usize),
    /// The connection failed (a socket error, or a TLS error whose alert was flushed once, or
    /// plaintext on a TLS port): end it now.
    Failed,
}

impl Transport {
    /// A TLS transport for a just-accepted socket.
    pub(crate) fn tls(fd: OwnedFd, session: TlsSession) -> Self {
        Self::Tls(Box::new(TlsTransport {
            fd,
            session,
            close_notify: false,
        }))
    }

    /// The socket.
    pub(crate) fn fd(&self) -> BorrowedFd<'_> {
        match self {
            Self::Plain(fd) => fd.as_fd(),
            Self::Tls(tls) => tls.fd.as_fd(),
        }
    }

    /// Reads into `buf` (never empty): plaintext, decrypted for TLS. A TLS read consumes the
    /// socket until `EAGAIN` or until `buf` is full, and flushes what the session has to say
    /// (handshake messages, tickets, alerts) right after.
    ///
    /// A plain read that filled less than `buf` is taken as drained (`Drained`, not `More`):
    /// bytes arriving later bring a new edge, so the `recv` that would only say `EAGAIN` is
    /// saved. Not when `hup` (epoll reported the peer's FIN, a hangup or an error: that edge
    /// does not repeat, so read on until the end of the stream).
    pub(crate) fn recv(&mut self, buf: &mut [u8], hup: bool) -> Input {
        match self {
            Self::Plain(fd) => match recv_plain(fd.as_fd(), buf) {
                Ok((0, _)) => Input::End(0),
                Ok((n, false)) if !hup => Input::Drained(n),
                Ok((n, _)) => Input::More(n),
                Err(Errno::AGAIN) => Input::Drained(0),
                Err(Errno::INTR) => Input::More(0),
                Err(_) => Input::Failed,
            },
            Self::Tls(tls) => tls.recv(buf),
        }
    }

    /// Writes (plain) or encrypts and writes (TLS) as much of `bufs` as the socket takes, and
    /// says how many bytes of `bufs` are taken: for TLS some of them may still wait in the
    /// session, which [`flush_pending`](Self::flush_pending) writes once the socket has room.
    /// `EAGAIN` when nothing was taken. `MSG_NOSIGNAL`: a peer that is gone is an `EPIPE`
    /// here, never a `SIGPIPE` for the process.
    pub(crate) fn send_vectored(&mut self, bufs: &[IoSlice<'_>]) -> Result<usize, Errno> {
        match self {
            Self::Plain(fd) => send_nosignal(fd.as_fd(), bufs),
            Self::Tls(tls) => {
                if tls.close_notify {
                    return Err(Errno::PIPE);
                }
                let sent = tls
                    .session
                    .send(&mut Sock(tls.fd.as_fd()), bufs)
                    .map_err(errno)?;
                // Nothing taken: the session is full of ciphertext the socket does not take
                // (or, before the handshake completes, of held plaintext).
                if sent.accepted == 0 && bufs.iter().any(|b| !b.is_empty()) {
                    return Err(Errno::AGAIN);
                }
                Ok(sent.accepted)
            }
        }
    }

    /// Whether output the socket has not taken yet waits in the transport itself (TLS
    /// ciphertext: handshake, alerts, records of frames the backlog no longer holds).
    pub(crate) fn wants_write(&self) -> bool {
        match self {
            Self::Plain(_) => false,
            Self::Tls(tls) => tls.session.wants_write(),
        }
    }

    /// Writes what [`wants_write`](Self::wants_write); `Ok(false)`: the socket is full.
    pub(crate) fn flush_pending(&mut self) -> Result<bool, Errno> {
        match self {
            Self::Plain(_) => Ok(true),
            Self::Tls(tls) => tls.flush(),
        }
    }

    /// Ends the output: TLS queues `close_notify` after everything sent before and flushes it;
    /// then FIN, so the peer reads the end of the stream after all of it. `false`: the socket
    /// is full and FIN waits until it has taken the rest (call again when writable).
    pub(crate) fn shutdown_write(&mut self) -> bool {
        if let Self::Tls(tls) = self {
            if !tls.close_notify {
                tls.close_notify = true;
                tls.session.close();
            }
            // An error: the peer is gone; FIN (or nothing) is all that is left.
            if let Ok(false) = tls.flush() {
                return false;
            }
        }
        // ENOTCONN: the peer is gone already; nothing to tell it.
        let _ = rnet::shutdown(self.fd(), Shutdown::Write);
        true
    }

    /// Whether a TLS handshake is still in progress (then there is no one to answer in
    /// HTTP yet).
    pub(crate) fn is_tls_handshaking(&self) -> bool {
        match self {
            Self::Plain(_) => false,
            Self::Tls(tls) => tls.session.is_handshaking(),
        }
    }

    pub(crate) fn is_tls(&self) -> bool {
        matches!(self, Self::Tls(_))
    }
}

impl TlsTransport {
    fn recv(&mut self, buf: &mut [u8]) -> Input {
        let mut sock = Sock(self.fd.as_fd());
        let outcome = match self.session.read(&mut sock, buf) {
            Ok(outcome) => outcome,
            // Plaintext on a TLS port: nothing to answer (an HTTP error would be plaintext the
            // client may never see as such); just close.
            Err(SessionError::NotTls { .. }) => return Input::Failed,
            // A TLS failure: rustls queued an alert for the peer; one try to send it.
            Err(SessionError::Protocol(_)) => {
                let _ = self.session.flush(&mut sock);
                return Input::Failed;
            }
            Err(_) => return Input::Failed,
        };
        // Handshake messages, tickets and alerts are produced while reading. `WouldBlock`:
        // the writable event will flush the rest.
        if self.session.wants_write() && self.flush().is_err() {
            return Input::Failed;
        }
        match outcome.status {
            ReadStatus::BufferFull => Input::More(outcome.len),
            ReadStatus::WouldBlock => Input::Drained(outcome.len),
            ReadStatus::PeerClosed | ReadStatus::Eof => Input::End(outcome.len),
        }
    }

    fn flush(&mut self) -> Result<bool, Errno> {
        match self.session.flush(&mut Sock(self.fd.as_fd())) {
            Ok(FlushStatus::Done) => Ok(true),
            Ok(FlushStatus::WouldBlock) => Ok(false),
            Err(e) => Err(errno(e)),
        }
    }
}

/// `recv` (every read of a client socket).
fn recv(fd: BorrowedFd<'_>, buf: &mut [u8]) -> Result<usize, Errno> {
    Ok(recv_plain(fd, buf)?.0)
}

/// `recv`, and whether it filled the buffer it asked for (then more may be waiting).
fn recv_plain(fd: BorrowedFd<'_>, buf: &mut [u8]) -> Result<(usize, bool), Errno> {
    #[cfg(feature = "fault-injection")]
    let buf = match super::fault::on_recv(fd, buf.len()) {
        Some(super::fault::Fault::Again) => return Err(Errno::AGAIN),
        Some(super::fault::Fault::Short(n)) => &mut buf[..n],
        None => buf,
    };
    let len = buf.len();
    let n = rnet::recv(fd, buf, RecvFlags::empty())?.0;
    Ok((n, n >= len))
}

/// `sendmsg` with `MSG_NOSIGNAL` (every write to a client socket).
fn send_nosignal(fd: BorrowedFd<'_>, bufs: &[IoSlice<'_>]) -> Result<usize, Errno> {
    #[cfg(feature = "fault-injection")]
    let truncated;
    #[cfg(feature = "fault-injection")]
    let bufs = match super::fault::on_send(fd, bufs) {
        Some(super::fault::Fault::Again) => return Err(Errno::AGAIN),
        Some(super::fault::Fault::Short(n)) => {
            truncated = super::fault::truncate(bufs, n);
            &truncated[..]
        }
        None => bufs,
    };
    let mut control = rnet::SendAncillaryBuffer::default();
    rnet::sendmsg(fd, bufs, &mut control, SendFlags::NOSIGNAL)
}

/// The errno of a session error (for the worker, every error means: end the connection).
fn errno(e: SessionError) -> Errno {
    match e {
        SessionError::Io(e) => Errno::from_io_error(&e).unwrap_or(Errno::IO),
        _ => Errno::PROTO,
    }
}

/// A socket as the `Read`/`Write` a [`TlsSession`] drives: `recv`, and `sendmsg` with
/// `MSG_NOSIGNAL` (vectored: rustls hands over many records at once).
struct Sock<'a>(BorrowedFd<'a>);

impl Read for Sock<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        Ok(recv(self.0, buf)?)
    }
}

impl Write for Sock<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        Ok(send_nosignal(self.0, &[IoSlice::new(buf)])?)
    }

    fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        Ok(send_nosignal(self.0, bufs)?)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
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
        /// Its place in the app's member list on this worker (`AppPort::members`).
        member_at: u32,
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
}

impl Conn {
    pub(crate) fn new(transport: Transport, peer: SocketAddr, listener: u8) -> Self {
        Self {
            transport,
            phase: Phase::Handshake(RequestParser::new()),
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
