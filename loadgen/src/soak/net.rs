//! Blocking socket helpers for the hostile clients and the probes: connecting from a chosen
//! loopback source address, raw HTTP upgrade requests and replies, hand-made client frames,
//! and a small blocking WebSocket client (ws-proto's client role parses what the server sends).

use std::io::{self, ErrorKind, Read, Write};
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4, TcpStream};
use std::time::{Duration, Instant};

use rustix::net::{self as rnet, AddressFamily, SocketFlags, SocketType, ipproto, sockopt};
use ws_proto::handshake::{ResponseParser, ResponseStatus};
use ws_proto::{ClientOutput, CloseCode, Config, Connection, DataKind, Event, Role};

/// The `Sec-WebSocket-Key` every hostile upgrade sends (RFC 6455's sample nonce).
pub(crate) const KEY: &str = "dGhlIHNhbXBsZSBub25jZQ==";

/// A TCP connection from `src` (any 127.0.0.0/8 address) to `127.0.0.1:port`, blocking, with
/// `TCP_NODELAY`; `rcvbuf` sets `SO_RCVBUF` before the connect (so the window stays small).
/// The connect itself gives up after 5 s (`SO_SNDTIMEO` bounds a blocking connect on Linux).
pub(crate) fn connect_from(
    src: Ipv4Addr,
    port: u16,
    rcvbuf: Option<usize>,
) -> io::Result<TcpStream> {
    let fd = rnet::socket_with(
        AddressFamily::INET,
        SocketType::STREAM,
        SocketFlags::CLOEXEC,
        Some(ipproto::TCP),
    )?;
    sockopt::set_socket_reuseaddr(&fd, true)?;
    if let Some(n) = rcvbuf {
        sockopt::set_socket_recv_buffer_size(&fd, n)?;
    }
    sockopt::set_socket_timeout(&fd, sockopt::Timeout::Send, Some(Duration::from_secs(5)))?;
    rnet::bind(&fd, &SocketAddr::V4(SocketAddrV4::new(src, 0)))?;
    rnet::connect(
        &fd,
        &SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::LOCALHOST, port)),
    )?;
    sockopt::set_tcp_nodelay(&fd, true)?;
    Ok(TcpStream::from(fd))
}

/// Closes abortively (`SO_LINGER` 0: an RST, no `TIME_WAIT` left behind).
pub(crate) fn rst(s: TcpStream) {
    let _ = sockopt::set_socket_linger(&s, Some(Duration::ZERO));
    drop(s);
}

/// A WebSocket upgrade request for `path` on `localhost:port`, with `extra` header lines
/// (each ending in CRLF) before the blank line.
pub(crate) fn upgrade_request(port: u16, path: &str, extra: &str) -> Vec<u8> {
    format!(
        "GET {path} HTTP/1.1\r\nHost: localhost:{port}\r\nUpgrade: websocket\r\n\
         Connection: Upgrade\r\nSec-WebSocket-Key: {KEY}\r\nSec-WebSocket-Version: 13\r\n{extra}\r\n"
    )
    .into_bytes()
}

/// What came back for a request, or instead of an answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Reply {
    /// A complete response head with this status; the bytes after it.
    Status(u16, Vec<u8>),
    /// The server closed the connection (FIN) before a complete head; `bytes` arrived first.
    Closed { bytes: usize },
    /// The connection was reset.
    Reset,
    /// Nothing conclusive before the deadline.
    Timeout,
    /// Something that is not an HTTP response.
    Bad(String),
}

impl Reply {
    /// A short label for the tallies: `101`, `429`, `closed`, `reset`, `timeout`, `bad`.
    pub(crate) fn label(&self) -> String {
        match self {
            Self::Status(code, _) => code.to_string(),
            Self::Closed { .. } => "closed".to_owned(),
            Self::Reset => "reset".to_owned(),
            Self::Timeout => "timeout".to_owned(),
            Self::Bad(_) => "bad".to_owned(),
        }
    }
}

/// Sets a read timeout of what is left until `deadline` (at least 1 ms); false when past it.
fn timeout_until(s: &TcpStream, deadline: Instant) -> bool {
    let left = deadline.saturating_duration_since(Instant::now());
    if left.is_zero() {
        return false;
    }
    s.set_read_timeout(Some(left.max(Duration::from_millis(1))))
        .is_ok()
}

/// Reads until a complete response head, the end of the connection, or `deadline`.
pub(crate) fn read_reply(s: &mut TcpStream, deadline: Instant) -> Reply {
    let mut buf = Vec::with_capacity(1024);
    let mut chunk = [0u8; 4096];
    let mut parser = ResponseParser::new();
    loop {
        if !buf.is_empty() {
            match parser.parse(&buf) {
                Ok(ResponseStatus::Partial) => {}
                Ok(ResponseStatus::Complete { len, response }) => {
                    return Reply::Status(response.status().as_u16(), buf[len..].to_vec());
                }
                Err(e) => return Reply::Bad(format!("{e:?}")),
            }
        }
        if !timeout_until(s, deadline) {
            return Reply::Timeout;
        }
        match s.read(&mut chunk) {
            Ok(0) => return Reply::Closed { bytes: buf.len() },
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                return Reply::Timeout;
            }
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) if is_reset(&e) => return Reply::Reset,
            Err(e) => return Reply::Bad(e.to_string()),
        }
    }
}

/// Reads and discards until the peer ends the connection or `deadline`: `Closed` (with the
/// bytes seen), `Reset` or `Timeout`.
pub(crate) fn wait_end(s: &mut TcpStream, deadline: Instant) -> Reply {
    let mut chunk = [0u8; 4096];
    let mut bytes = 0;
    loop {
        if !timeout_until(s, deadline) {
            return Reply::Timeout;
        }
        match s.read(&mut chunk) {
            Ok(0) => return Reply::Closed { bytes },
            Ok(n) => bytes += n,
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                return Reply::Timeout;
            }
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) if is_reset(&e) => return Reply::Reset,
            Err(e) => return Reply::Bad(e.to_string()),
        }
    }
}

fn is_reset(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        ErrorKind::ConnectionReset | ErrorKind::ConnectionAborted | ErrorKind::BrokenPipe
    )
}

/// The fixed mask key of hand-made frames.
const MASK: [u8; 4] = [0x37, 0xfa, 0x21, 0x3d];

/// A masked client frame: `opcode` (1 text, 2 binary, 0 continuation, 8 close, 9 ping), FIN
/// as given, `payload`, and a header announcing `announce` bytes when given (a lie, for the
/// oversized-frame tests) or the payload's length otherwise.
pub(crate) fn frame(opcode: u8, fin: bool, payload: &[u8], announce: Option<u64>) -> Vec<u8> {
    let len = announce.unwrap_or(payload.len() as u64);
    let mut out = Vec::with_capacity(payload.len() + 14);
    out.push(if fin { 0x80 } else { 0 } | (opcode & 0x0f));
    if len < 126 {
        out.push(0x80 | len as u8);
    } else if len <= 0xffff {
        out.push(0x80 | 126);
        out.extend_from_slice(&(len as u16).to_be_bytes());
    } else {
        out.push(0x80 | 127);
        out.extend_from_slice(&len.to_be_bytes());
    }
    out.extend_from_slice(&MASK);
    out.extend(payload.iter().enumerate().map(|(i, b)| b ^ MASK[i % 4]));
    out
}

/// What a blocking WebSocket client saw next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Got {
    /// A whole data message.
    Msg(DataKind, Vec<u8>),
    /// The server's close frame, with its code (1005 for none).
    Close(u16),
    /// The connection ended without a close frame.
    Eof,
    /// The connection was reset.
    Reset,
    /// Nothing before the deadline.
    Timeout,
    /// The server broke the protocol (or the socket failed): what.
    Error(String),
}

impl Got {
    /// A short label for the tallies: `msg`, `close 1009`, `eof`, `reset`, `timeout`, `error`.
    pub(crate) fn label(&self) -> String {
        match self {
            Self::Msg(..) => "msg".to_owned(),
            Self::Close(code) => format!("close {code}"),
            Self::Eof => "eof".to_owned(),
            Self::Reset => "reset".to_owned(),
            Self::Timeout => "timeout".to_owned(),
            Self::Error(_) => "error".to_owned(),
        }
    }
}

/// A blocking WebSocket client: sends hand-made (masked) frames, parses the server's with
/// ws-proto (answering pings).
#[derive(Debug)]
pub(crate) struct WsClient {
    /// The socket.
    pub(crate) s: TcpStream,
    ws: Connection,
    config: Config,
    inbuf: Vec<u8>,
    message: Vec<u8>,
    out: Vec<u8>,
    base: Instant,
}

/// Opens a WebSocket to `path` on `port` from `src`: the client, or what came back instead of
/// a `101` (its label).
pub(crate) fn ws_open(
    src: Ipv4Addr,
    port: u16,
    path: &str,
    rcvbuf: Option<usize>,
) -> Result<WsClient, String> {
    let mut s = connect_from(src, port, rcvbuf).map_err(|e| format!("connect: {e}"))?;
    s.write_all(&upgrade_request(port, path, ""))
        .map_err(|e| format!("write: {e}"))?;
    match read_reply(&mut s, Instant::now() + Duration::from_secs(5)) {
        Reply::Status(101, rest) => Ok(WsClient::new(s, rest)),
        other => {
            rst(s);
            Err(other.label())
        }
    }
}

impl WsClient {
    /// A client on an upgraded socket; `rest` are bytes that came after the `101`.
    pub(crate) fn new(s: TcpStream, rest: Vec<u8>) -> Self {
        let base = Instant::now();
        Self {
            s,
            ws: Connection::new(
                Role::Client,
                &Config::default(),
                ws_proto::Instant::from_nanos(0),
            ),
            config: Config::default(),
            inbuf: rest,
            message: Vec::new(),
            out: Vec::new(),
            base,
        }
    }

    /// Writes `bytes` as they are.
    pub(crate) fn send_raw(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.s.write_all(bytes)
    }

    /// Sends one whole message.
    pub(crate) fn send(&mut self, kind: DataKind, payload: &[u8]) -> io::Result<()> {
        let opcode = if kind == DataKind::Text { 1 } else { 2 };
        self.send_raw(&frame(opcode, true, payload, None))
    }

    /// Sends a close frame with `code` (the connection stays readable for the answer).
    pub(crate) fn send_close(&mut self, code: u16) -> io::Result<()> {
        self.send_raw(&frame(8, true, &code.to_be_bytes(), None))
    }

    /// The next message or ending, waiting until `deadline` at most.
    pub(crate) fn recv(&mut self, deadline: Instant) -> Got {
        let mut chunk = vec![0u8; 64 * 1024];
        loop {
            if let Some(got) = self.parse() {
                return got;
            }
            if !timeout_until(&self.s, deadline) {
                return Got::Timeout;
            }
            match self.s.read(&mut chunk) {
                Ok(0) => return Got::Eof,
                Ok(n) => self.inbuf.extend_from_slice(&chunk[..n]),
                Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                    return Got::Timeout;
                }
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) if is_reset(&e) => return Got::Reset,
                Err(e) => return Got::Error(e.to_string()),
            }
        }
    }

    /// Runs the buffered input through the engine: a message or a close, or `None` when more
    /// input is needed. Pongs (and a close reply) are written straight away.
    fn parse(&mut self) -> Option<Got> {
        let mut mask_seed = self.base.elapsed().as_nanos() as u32 | 1;
        loop {
            let now = ws_proto::Instant::from_nanos(self.base.elapsed().as_nanos() as u64);
            let mut out = ClientOutput {
                buffer: &mut self.out,
                mask_keys: || {
                    mask_seed = mask_seed
                        .wrapping_mul(1_664_525)
                        .wrapping_add(1_013_904_223);
                    mask_seed.to_le_bytes()
                },
            };
            let received = match self.ws.receive(
                &self.config,
                now,
                &mut self.inbuf,
                &mut self.message,
                &mut out,
            ) {
                Ok(r) => r,
                Err(e) => return Some(Got::Error(format!("protocol error: {e:?}"))),
            };
            let got = match received.event {
                Some(Event::Message { kind, payload }) => Some(Got::Msg(kind, payload.to_vec())),
                Some(Event::Close(frame)) => {
                    Some(Got::Close(frame.code.unwrap_or(CloseCode::NO_STATUS).0))
                }
                Some(Event::Compressed { .. }) => Some(Got::Error("compressed message".into())),
                Some(Event::Ping(_) | Event::Pong(_)) | None => None,
            };
            let consumed = received.consumed;
            self.inbuf.drain(..consumed);
            if !self.out.is_empty() {
                let _ = self.s.write_all(&self.out);
                self.out.clear();
            }
            if got.is_some() {
                return got;
            }
            if consumed == 0 {
                return None;
            }
        }
    }

    /// Ends the connection abortively.
    pub(crate) fn abort(self) {
        rst(self.s);
    }
}

/// `GET path` on the admin listener: the status and the body, or `None`.
pub(crate) fn http_get(port: u16, path: &str) -> Option<(u16, String)> {
    let mut s = TcpStream::connect_timeout(
        &SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::LOCALHOST, port)),
        Duration::from_secs(2),
    )
    .ok()?;
    s.set_read_timeout(Some(Duration::from_secs(3))).ok()?;
    s.write_all(
        format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n").as_bytes(),
    )
    .ok()?;
    let mut text = Vec::new();
    let _ = s.read_to_end(&mut text);
    let text = String::from_utf8_lossy(&text).into_owned();
    let status = text.split_whitespace().nth(1)?.parse().ok()?;
    let body = text
        .split_once("\r\n\r\n")
        .map_or("", |(_, b)| b)
        .to_owned();
    Some((status, body))
}

/// The sum of every sample of metric `name` (any labels) in Prometheus text.
pub(crate) fn metric(text: &str, name: &str) -> Option<f64> {
    let mut sum = None;
    for line in text.lines() {
        let Some(rest) = line.strip_prefix(name) else {
            continue;
        };
        if !(rest.starts_with(' ') || rest.starts_with('{')) {
            continue;
        }
        if let Some(v) = rest.rsplit(' ').next().and_then(|v| v.parse::<f64>().ok()) {
            *sum.get_or_insert(0.0) += v;
        }
    }
    sum
}
