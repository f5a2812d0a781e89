//! The transport seam: how bytes reach a client, plain TCP or TLS. Every read and write of a
//! client socket goes through here (and through the fault injection, when it is built in).

use std::io::{self, IoSlice, Read, Write};
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};

use rustix::io::Errno;
use rustix::net::{self as rnet, RecvFlags, SendFlags, Shutdown};

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
