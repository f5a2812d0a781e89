//! [`TlsSession`]: one server-side TLS connection over a non-blocking socket, driven by an
//! edge-triggered epoll loop. See the [module documentation](super) for the driving contract.

use std::io::{self, IoSlice, Read, Write};

use rustls::ServerConnection;

use super::{SessionError, TlsContext};

/// TLS record content type of a handshake record: the only valid first byte from a client.
const CONTENT_TYPE_HANDSHAKE: u8 = 0x16;

/// One server-side TLS connection: rustls's [`ServerConnection`] plus the bookkeeping an
/// edge-triggered worker needs (EAGAIN, EOF, plaintext detection, handshake completion).
///
/// It owns no socket: every I/O method takes the socket as a `Read`/`Write` (`&TcpStream`, or
/// the worker's own wrapper around a raw fd, e.g. one that sends with `MSG_NOSIGNAL`).
#[derive(Debug)]
pub struct TlsSession {
    conn: ServerConnection,
    /// The first byte the client sent, once it has arrived; checked before rustls sees it.
    first_byte: Option<u8>,
    /// The socket reported EOF (read returned 0).
    eof: bool,
    /// Whether the handshake was complete at the end of the previous `read`, to report the
    /// completion exactly once.
    was_handshaking: bool,
}

/// What [`TlsSession::read`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReadOutcome {
    /// Plaintext bytes written to the start of the caller's buffer.
    pub len: usize,
    /// Why the call stopped.
    pub status: ReadStatus,
    /// The handshake completed during this call (true exactly once per session). The SNI and
    /// ALPN result are known from now on.
    pub handshake_completed: bool,
}

/// Why [`TlsSession::read`] returned. The two `*Closed`/`Eof` states are final: the caller
/// processes `len` bytes, then finishes the connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ReadStatus {
    /// The socket returned `EAGAIN`: everything available was consumed. Wait for the next
    /// readable event.
    WouldBlock,
    /// The caller's buffer is full. More plaintext may be buffered in the session or waiting in
    /// the socket, and under edge-triggered epoll **no further event will announce it**: call
    /// `read` again once the buffer has room.
    BufferFull,
    /// The peer sent `close_notify`: a clean TLS close. No more data will come.
    PeerClosed,
    /// The socket reached EOF without `close_notify` (many clients just close TCP; the
    /// WebSocket close handshake, not TLS, tells whether data was lost).
    Eof,
}

/// Whether [`TlsSession::flush`] emptied the session's ciphertext buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FlushStatus {
    /// Everything was written; the socket may still accept more.
    Done,
    /// The socket returned `EAGAIN` with ciphertext still queued: wait for a writable event
    /// (register `EPOLLOUT`), then flush again.
    WouldBlock,
}

/// What [`TlsSession::send`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SendOutcome {
    /// Plaintext bytes taken from the front of the caller's slices: encrypted, and written or
    /// queued in the session. The caller keeps the rest and offers it again later.
    pub accepted: usize,
    /// Whether the session's ciphertext was fully written.
    pub status: FlushStatus,
}

impl TlsSession {
    /// A new session for a just-accepted connection, using `ctx`'s certificates as they are
    /// now (a later reload does not affect it).
    pub fn new(ctx: &TlsContext) -> Result<Self, SessionError> {
        let mut conn =
            ServerConnection::new(ctx.server_config().clone()).map_err(SessionError::Protocol)?;
        // At least one byte: a zero limit would make `send` accept nothing, ever.
        conn.set_buffer_limit(Some(ctx.send_buffer_limit().max(1)));
        Ok(Self {
            conn,
            first_byte: None,
            eof: false,
            was_handshaking: true,
        })
    }

    /// Read ciphertext from `sock` until it would block (or EOF, or `buf` is full), process it,
    /// and copy the plaintext to the front of `buf` (one copy, straight from rustls's buffer).
    ///
    /// After every call that returns `Ok`, call [`flush`](Self::flush) if
    /// [`wants_write`](Self::wants_write): handshake messages, session tickets and alerts are
    /// produced while reading.
    ///
    /// # Errors
    /// [`SessionError::NotTls`] if the client's first byte is not a TLS handshake record
    /// (plaintext HTTP on a TLS port): close at once. [`SessionError::Protocol`] for TLS
    /// failures: flush once (an alert may be queued), then close. [`SessionError::Io`] for
    /// socket errors other than `EAGAIN`/`EINTR`: close.
    pub fn read<R: Read + ?Sized>(
        &mut self,
        sock: &mut R,
        buf: &mut [u8],
    ) -> Result<ReadOutcome, SessionError> {
        let mut len = 0;
        let status = loop {
            // Hand out what is already decrypted first: rustls refuses to read more ciphertext
            // while its plaintext buffer is full.
            match self.drain_plaintext(&mut buf[len..])? {
                Drained::Bytes(n) => len += n,
                Drained::PeerClosed => break ReadStatus::PeerClosed,
                Drained::Empty => {}
            }
            if len == buf.len() {
                break ReadStatus::BufferFull;
            }
            if self.eof {
                break ReadStatus::Eof;
            }
            match self.read_tls(sock) {
                Ok(0) => self.eof = true,
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break ReadStatus::WouldBlock,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(SessionError::Io(e)),
            }
            if let Some(first_byte) = self.first_byte
                && first_byte != CONTENT_TYPE_HANDSHAKE
            {
                return Err(SessionError::NotTls { first_byte });
            }
            // Decrypt; after EOF too, so the last records are not lost. A protocol error
            // queues an alert (the caller flushes it) and is final.
            self.conn
                .process_new_packets()
                .map_err(SessionError::Protocol)?;
        };
        let handshake_completed = self.was_handshaking && !self.conn.is_handshaking();
        self.was_handshaking = self.conn.is_handshaking();
        Ok(ReadOutcome {
            len,
            status,
            handshake_completed,
        })
    }

    /// Encrypt as much of `bufs` (taken in order, as one byte stream) as the session's
    /// send buffer allows, without writing to any socket. Many small frames offered together
    /// become full-size TLS records instead of one record each. Before the handshake completes
    /// the plaintext is held and encrypted once it does.
    ///
    /// Returns how many bytes were taken; 0 means the buffer is full: [`flush`](Self::flush)
    /// first. [`send`](Self::send) does both in a loop.
    pub fn queue(&mut self, bufs: &[IoSlice<'_>]) -> Result<usize, SessionError> {
        // rustls reports an earlier fatal error here as an io::Error.
        self.conn
            .writer()
            .write_vectored(bufs)
            .map_err(SessionError::Io)
    }

    /// Write queued ciphertext to `sock` until the queue is empty or the socket would block.
    /// Each underlying write is vectored over the queued records (one `writev` for many).
    pub fn flush<W: Write + ?Sized>(&mut self, sock: &mut W) -> Result<FlushStatus, SessionError> {
        while self.conn.wants_write() {
            match self.conn.write_tls(&mut WriteAdapter(sock)) {
                // A socket that takes nothing without an error cannot make progress: treat it
                // like a closed one rather than spin.
                Ok(0) => return Err(SessionError::Io(io::ErrorKind::WriteZero.into())),
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    return Ok(FlushStatus::WouldBlock);
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(SessionError::Io(e)),
            }
        }
        Ok(FlushStatus::Done)
    }

    /// Queue and flush `bufs` until all of it is written or the socket would block: the
    /// worker's one call per writable client. `accepted` says how much of `bufs` the session
    /// took; with [`FlushStatus::WouldBlock`] some of it may still sit in the session (it is
    /// the session's now) and the caller keeps `bufs` from `accepted` on.
    pub fn send<W: Write + ?Sized>(
        &mut self,
        sock: &mut W,
        bufs: &[IoSlice<'_>],
    ) -> Result<SendOutcome, SessionError> {
        let total: usize = bufs.iter().map(|b| b.len()).sum();
        let mut accepted = 0;
        loop {
            if self.flush(sock)? == FlushStatus::WouldBlock {
                return Ok(SendOutcome {
                    accepted,
                    status: FlushStatus::WouldBlock,
                });
            }
            if accepted == total {
                return Ok(SendOutcome {
                    accepted,
                    status: FlushStatus::Done,
                });
            }
            let taken = self.queue_from(bufs, accepted)?;
            if taken == 0 {
                // Nothing queued and nothing to flush: only possible before the handshake
                // completes, when plaintext is held up to the limit. The caller retries after
                // the handshake (its next read).
                return Ok(SendOutcome {
                    accepted,
                    status: FlushStatus::Done,
                });
            }
            accepted += taken;
        }
    }

    /// Queue `bufs` from byte offset `skip` on: the partly sent slice first, then the whole
    /// rest in one vectored call.
    fn queue_from(&mut self, bufs: &[IoSlice<'_>], mut skip: usize) -> Result<usize, SessionError> {
        for (i, b) in bufs.iter().enumerate() {
            if skip >= b.len() {
                skip -= b.len();
                continue;
            }
            if skip == 0 {
                return self.queue(&bufs[i..]);
            }
            let head = self.queue(&[IoSlice::new(&b[skip..])])?;
            if head < b.len() - skip {
                return Ok(head);
            }
            return Ok(head + self.queue(&bufs[i + 1..])?);
        }
        Ok(0)
    }

    /// Queue a `close_notify` alert; [`flush`](Self::flush) it, then close the socket. Data
    /// queued before is sent first. Nothing can be queued after.
    pub fn close(&mut self) {
        self.conn.send_close_notify();
    }

    /// Whether ciphertext is queued: call [`flush`](Self::flush) (or wait for `EPOLLOUT` after
    /// [`FlushStatus::WouldBlock`]).
    pub fn wants_write(&self) -> bool {
        self.conn.wants_write()
    }

    /// Whether the session expects more input from the peer (false after EOF or
    /// `close_notify`).
    pub fn wants_read(&self) -> bool {
        !self.eof && self.conn.wants_read()
    }

    /// Whether the handshake is still in progress (the worker's `handshake_wait` timer runs).
    pub fn is_handshaking(&self) -> bool {
        self.conn.is_handshaking()
    }

    /// The SNI the client sent (lowercase), once its ClientHello was processed; `None` if it
    /// sent none (e.g. it connected to an IP address).
    pub fn sni(&self) -> Option<&str> {
        self.conn.server_name()
    }

    /// The negotiated ALPN protocol: `Some(b"http/1.1")`, or `None` if the client offered none.
    pub fn alpn_protocol(&self) -> Option<&[u8]> {
        self.conn.alpn_protocol()
    }

    /// The negotiated TLS version, once known.
    pub fn protocol_version(&self) -> Option<rustls::ProtocolVersion> {
        self.conn.protocol_version()
    }

    /// The underlying rustls connection, for what this adapter does not cover (e.g. the
    /// negotiated cipher suite for logs).
    pub fn connection(&self) -> &ServerConnection {
        &self.conn
    }

    /// `read_tls` that records the first byte before rustls sees it.
    fn read_tls<R: Read + ?Sized>(&mut self, sock: &mut R) -> io::Result<usize> {
        if self.first_byte.is_some() {
            return self.conn.read_tls(&mut Adapter(sock));
        }
        let mut sniff = Sniff {
            inner: sock,
            first: &mut self.first_byte,
        };
        self.conn.read_tls(&mut sniff)
    }

    /// Copy decrypted plaintext into `buf` (rustls's `Reader`, mapped to our states).
    fn drain_plaintext(&mut self, buf: &mut [u8]) -> Result<Drained, SessionError> {
        let mut n = 0;
        while n < buf.len() {
            match self.conn.reader().read(&mut buf[n..]) {
                Ok(0) if n == 0 => return Ok(Drained::PeerClosed),
                Ok(0) => break,
                Ok(k) => n += k,
                // WouldBlock: no plaintext buffered. UnexpectedEof: EOF without close_notify
                // and nothing buffered; `read` reports that from its own `eof` flag.
                Err(e)
                    if matches!(
                        e.kind(),
                        io::ErrorKind::WouldBlock | io::ErrorKind::UnexpectedEof
                    ) =>
                {
                    break;
                }
                Err(e) => return Err(SessionError::Io(e)),
            }
        }
        Ok(if n == 0 {
            Drained::Empty
        } else {
            Drained::Bytes(n)
        })
    }
}

/// Whether `head`, the first bytes a client sent on a plaintext (`ws://`) port, start a TLS
/// ClientHello record (content type `0x16`, then major version `0x03`): a `wss://` client on a
/// `ws://` port, to be refused by closing. Needs at least one byte; with one, only the type is
/// checked.
pub fn looks_like_tls_client_hello(head: &[u8]) -> bool {
    matches!(
        head,
        [CONTENT_TYPE_HANDSHAKE] | [CONTENT_TYPE_HANDSHAKE, 0x03, ..]
    )
}

enum Drained {
    Bytes(usize),
    Empty,
    PeerClosed,
}

/// `&mut R` for `R: ?Sized` as the `&mut dyn Read` rustls wants.
struct Adapter<'a, R: ?Sized>(&'a mut R);

impl<R: Read + ?Sized> Read for Adapter<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.0.read(buf)
    }
}

/// `&mut W` for `W: ?Sized` as the `&mut dyn Write` rustls wants; forwards `write_vectored`,
/// which is how rustls hands over many records at once.
struct WriteAdapter<'a, W: ?Sized>(&'a mut W);

impl<W: Write + ?Sized> Write for WriteAdapter<'_, W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.write(buf)
    }

    fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        self.0.write_vectored(bufs)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.0.flush()
    }
}

/// A reader that remembers the first byte that passes through it.
struct Sniff<'a, R: ?Sized> {
    inner: &'a mut R,
    first: &'a mut Option<u8>,
}

impl<R: Read + ?Sized> Read for Sniff<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        if let (None, Some(&b)) = (&self.first, buf[..n].first()) {
            *self.first = Some(b);
        }
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_hello_detection() {
        assert!(looks_like_tls_client_hello(&[0x16]));
        assert!(looks_like_tls_client_hello(&[0x16, 0x03, 0x01]));
        assert!(!looks_like_tls_client_hello(&[0x16, 0x04]));
        assert!(!looks_like_tls_client_hello(b"GET / HTTP/1.1"));
        assert!(!looks_like_tls_client_hello(&[]));
    }

    #[test]
    fn not_tls_error_says_http() {
        let e = SessionError::NotTls { first_byte: b'G' };
        assert!(e.looks_like_http());
        assert_eq!(e.to_string(), "plaintext HTTP request on a TLS port");
        let e = SessionError::NotTls { first_byte: 0x80 };
        assert!(!e.looks_like_http());
        assert_eq!(
            e.to_string(),
            "not TLS: first byte 0x80 is not a handshake record"
        );
    }
}
