//! A blocking WebSocket client for the serving tests, built on ws-proto's client role, over
//! plain TCP or TLS (a rustls client), and a few helpers. Every read has a timeout, so a bug
//! fails a test instead of hanging it.

#![allow(dead_code)] // Each test binary uses a different part.

pub mod daemon;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rustls::pki_types::{CertificateDer, ServerName};
use rustls::{ClientConfig, ClientConnection, StreamOwned};

use ws_proto::deflate::{Deflater, Inflater};
use ws_proto::handshake::extensions::{DeflateOffer, PerMessageDeflate};
use ws_proto::handshake::{ClientRequest, ResponseParser, ResponseStatus, encode_key};
use ws_proto::{ClientOutput, CloseCode, Config, Connection, DataKind, Event, Output, Role};

/// The serving core as the in-process tests run it: one plain listener on 127.0.0.1 (a free
/// port), two workers, small rings, and short shutdown waits (tests stop servers with clients
/// that never answer the 1001). Tests change fields as they need.
pub fn test_spec(
    apps: Vec<ringsocket_daemon::server::AppSpec>,
) -> ringsocket_daemon::server::ServerSpec {
    use ringsocket_daemon::server::{ListenerSpec, ServerSpec, Settings};
    ServerSpec {
        listeners: vec![ListenerSpec::plain(std::net::Ipv4Addr::LOCALHOST.into(), 0)],
        apps,
        worker_c: 2,
        settings: Settings {
            worker_rbuf_size: 256 << 10,
            inbound_ring_buf_size: 64 << 10,
            outbound_ring_buf_size: 64 << 10,
            shutdown_wait_ws: Duration::from_secs(1),
            shutdown_wait_http: Duration::from_secs(1),
            // Every test client comes from 127.0.0.1, many at once: the per-address and
            // per-client limits are tested on their own (tests/limits.rs).
            max_connections_per_ip: None,
            max_handshakes_per_second_per_ip: None,
            max_messages_per_second: None,
            ..Settings::default()
        },
        app_conf: None,
    }
}

/// The longest a test waits for anything.
pub const LIMIT: Duration = Duration::from_secs(20);

/// What the client received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Msg {
    Text(String),
    Binary(Vec<u8>),
    Ping(Vec<u8>),
    Pong(Vec<u8>),
    /// A close frame and its code.
    Close(Option<u16>),
    /// The server closed TCP.
    Eof,
}

/// An HTTP answer other than 101: the status and every byte up to the server's FIN.
#[derive(Debug)]
pub struct Rejected {
    pub status: u16,
    pub raw: String,
}

/// How a client reaches the server: TCP, or TLS over TCP.
pub enum Stream {
    Plain(TcpStream),
    Tls(Box<StreamOwned<ClientConnection, TcpStream>>),
}

impl Stream {
    /// The TCP socket under it.
    pub fn tcp(&self) -> &TcpStream {
        match self {
            Self::Plain(s) => s,
            Self::Tls(s) => s.get_ref(),
        }
    }

    /// The TLS connection, for `wss`.
    pub fn tls(&self) -> Option<&ClientConnection> {
        match self {
            Self::Plain(_) => None,
            Self::Tls(s) => Some(&s.conn),
        }
    }
}

impl Read for Stream {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        match self {
            Self::Plain(s) => s.read(buf),
            Self::Tls(s) => s.read(buf),
        }
    }
}

impl Write for Stream {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match self {
            Self::Plain(s) => s.write(buf),
            Self::Tls(s) => s.write(buf),
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        match self {
            Self::Plain(s) => s.flush(),
            Self::Tls(s) => s.flush(),
        }
    }
}

/// How a `wss` client connects: its rustls configuration (trusting the test CA, or not
/// checking at all) and the name it validates the certificate for, and sends as SNI unless
/// the configuration disables SNI (or the name is an IP address).
#[derive(Clone)]
pub struct Tls {
    pub config: Arc<ClientConfig>,
    pub server_name: ServerName<'static>,
}

impl Tls {
    pub fn new(config: Arc<ClientConfig>, server_name: &str) -> Self {
        let server_name = match server_name.parse::<std::net::IpAddr>() {
            Ok(ip) => ServerName::IpAddress(ip.into()),
            Err(_) => ServerName::try_from(server_name.to_owned()).expect("a server name"),
        };
        Self {
            config,
            server_name,
        }
    }

    /// Connects and completes the TLS handshake (blocking); the server's FIN or a TLS error
    /// before it completes is an `Err`.
    pub fn connect(
        &self,
        addr: SocketAddr,
    ) -> std::io::Result<StreamOwned<ClientConnection, TcpStream>> {
        self.connect_after(addr, &[])
    }

    /// [`connect`](Self::connect), sending `preamble` (e.g. a PROXY protocol header) in the
    /// clear first.
    pub fn connect_after(
        &self,
        addr: SocketAddr,
        preamble: &[u8],
    ) -> std::io::Result<StreamOwned<ClientConnection, TcpStream>> {
        let mut tcp = TcpStream::connect(addr)?;
        tcp.write_all(preamble)?;
        tcp.set_read_timeout(Some(LIMIT))?;
        tcp.set_nodelay(true)?;
        let conn = ClientConnection::new(Arc::clone(&self.config), self.server_name.clone())
            .map_err(std::io::Error::other)?;
        let mut stream = StreamOwned::new(conn, tcp);
        while stream.conn.is_handshaking() {
            stream.conn.complete_io(&mut stream.sock)?;
        }
        Ok(stream)
    }
}

impl std::fmt::Debug for Tls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tls")
            .field("server_name", &self.server_name)
            .finish_non_exhaustive()
    }
}

/// A connected, upgraded client.
pub struct Client {
    pub stream: Stream,
    conn: Connection,
    config: Config,
    input: Vec<u8>,
    message: Vec<u8>,
    seed: u64,
    origin: Instant,
    /// TLS: the stream ended with the server's `close_notify` (a clean TLS close), not just
    /// TCP's FIN.
    pub close_notify: bool,
    /// What the server agreed to when `permessage-deflate` was offered (`None`: declined).
    pub deflate: Option<PerMessageDeflate>,
    /// The subprotocol the server accepted.
    pub protocol: Option<String>,
    inflater: Option<Box<Inflater>>,
    /// Keeps its window between messages when the server allows it.
    deflater: Option<Box<Deflater>>,
    /// Messages that arrived compressed (RSV1), and their bytes on the wire and inflated.
    pub compressed_in: u64,
    pub compressed_wire_bytes: u64,
    pub compressed_plain_bytes: u64,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client").finish_non_exhaustive()
    }
}

/// Options of a handshake.
#[derive(Debug, Default, Clone, Copy)]
pub struct Upgrade<'a> {
    pub origin: Option<&'a str>,
    /// Bytes sent in the same write as the request (the first frames).
    pub first_bytes: &'a [u8],
    /// `wss`: TLS first, then the upgrade.
    pub tls: Option<&'a Tls>,
    /// Offers `permessage-deflate`.
    pub deflate: Option<DeflateOffer>,
    /// Offers these subprotocols, most preferred first.
    pub protocols: &'a [&'a str],
    /// Extra request headers (e.g. `Cookie`).
    pub headers: &'a [(&'a str, &'a str)],
    /// Bytes before the request (e.g. a PROXY protocol header), in the same write.
    pub preamble: &'a [u8],
}

impl Client {
    /// Connects and upgrades to `ws://host/path` at `addr`.
    pub fn connect(addr: SocketAddr, host: &str, path: &str) -> Self {
        Self::try_connect(addr, host, path, Upgrade::default())
            .unwrap_or_else(|r| panic!("upgrade refused: {r:?}"))
    }

    pub fn try_connect(
        addr: SocketAddr,
        host: &str,
        path: &str,
        upgrade: Upgrade<'_>,
    ) -> Result<Self, Rejected> {
        // Before TLS on a TLS connection, before the request on a plain one.
        let mut preamble = upgrade.preamble;
        let stream = match upgrade.tls {
            None => {
                let stream = TcpStream::connect(addr).expect("connect");
                stream.set_read_timeout(Some(LIMIT)).unwrap();
                stream.set_nodelay(true).unwrap();
                Stream::Plain(stream)
            }
            Some(tls) => Stream::Tls(Box::new(
                tls.connect_after(addr, std::mem::take(&mut preamble))
                    .expect("TLS handshake"),
            )),
        };
        let port = stream.tcp().local_addr().unwrap().port();
        let mut seed = 0x9E37_79B9_7F4A_7C15 ^ u64::from(port);
        let mut nonce = [0u8; 16];
        for chunk in nonce.chunks_mut(8) {
            chunk.copy_from_slice(&xorshift(&mut seed).to_le_bytes());
        }
        let key = encode_key(&nonce);
        let mut request = ClientRequest::new(host, path);
        if let Some(origin) = upgrade.origin {
            request = request.origin(origin);
        }
        if let Some(offer) = upgrade.deflate {
            request = request.permessage_deflate(offer);
        }
        let headers: Vec<ws_proto::handshake::Header<'_>> = upgrade
            .headers
            .iter()
            .map(|(n, v)| ws_proto::handshake::Header::new(n.as_bytes(), v.as_bytes()))
            .collect();
        if !upgrade.protocols.is_empty() {
            request = request.protocols(upgrade.protocols);
        }
        if !headers.is_empty() {
            request = request.headers(&headers);
        }
        let mut bytes = preamble.to_vec();
        request.write(&key, &mut bytes).unwrap();
        bytes.extend_from_slice(upgrade.first_bytes);
        let mut client = Self {
            stream,
            conn: Connection::new(
                Role::Client,
                &Config::default(),
                ws_proto::Instant::default(),
            ),
            config: Config::default().with_max_message_size(256 << 20),
            input: Vec::new(),
            message: Vec::new(),
            seed,
            origin: Instant::now(),
            close_notify: false,
            deflate: None,
            protocol: None,
            inflater: None,
            deflater: None,
            compressed_in: 0,
            compressed_wire_bytes: 0,
            compressed_plain_bytes: 0,
        };
        client.stream.write_all(&bytes).unwrap();
        let mut parser = ResponseParser::new();
        loop {
            let mut chunk = [0u8; 4096];
            let n = client.stream.read(&mut chunk).expect("read the response");
            assert!(n > 0, "EOF before a response head");
            client.input.extend_from_slice(&chunk[..n]);
            match parser.parse(&client.input).expect("a valid response head") {
                ResponseStatus::Partial => continue,
                ResponseStatus::Complete { len, response } => {
                    let status = response.status().as_u16();
                    if status != 101 {
                        let mut raw = client.input.clone();
                        client.stream.read_to_end(&mut raw).expect("read to EOF");
                        return Err(Rejected {
                            status,
                            raw: String::from_utf8_lossy(&raw).into_owned(),
                        });
                    }
                    let protocol = match &upgrade.deflate {
                        None => response
                            .validate(&key, upgrade.protocols)
                            .expect("a valid 101"),
                        Some(offer) => {
                            let (protocol, agreed) = response
                                .validate_deflate(&key, upgrade.protocols, offer)
                                .expect("a valid 101");
                            client.deflate = agreed;
                            protocol
                        }
                    };
                    client.protocol = protocol.map(str::to_owned);
                    if client.deflate.is_some() {
                        client.conn = std::mem::replace(
                            &mut client.conn,
                            Connection::new(
                                Role::Client,
                                &Config::default(),
                                ws_proto::Instant::default(),
                            ),
                        )
                        .with_permessage_deflate();
                        client.inflater = Some(Box::new(Inflater::new()));
                        let takeover = client
                            .deflate
                            .is_some_and(|d| !d.client_no_context_takeover);
                        client.deflater = Some(Box::new(Deflater::new(6, takeover)));
                    }
                    client.input.drain(..len);
                    return Ok(client);
                }
            }
        }
    }

    /// Connects over TLS and upgrades to `wss://host/path` at `addr`.
    pub fn connect_tls(addr: SocketAddr, host: &str, path: &str, tls: &Tls) -> Self {
        let upgrade = Upgrade {
            tls: Some(tls),
            ..Upgrade::default()
        };
        Self::try_connect(addr, host, path, upgrade)
            .unwrap_or_else(|r| panic!("upgrade refused: {r:?}"))
    }

    /// The certificate the server presented (TLS only): the leaf.
    pub fn peer_certificate(&self) -> Option<CertificateDer<'static>> {
        let certs = self.stream.tls()?.peer_certificates()?;
        certs.first().map(|c| c.clone().into_owned())
    }

    fn now(&self) -> ws_proto::Instant {
        ws_proto::Instant::from_nanos(self.origin.elapsed().as_nanos() as u64)
    }

    /// Runs `act` with the engine, its limits and an output masking with the client's keys,
    /// then writes what it produced.
    fn write_with(&mut self, act: impl FnOnce(&mut Connection, &Config, &mut dyn Output)) {
        let mut out = Vec::new();
        let seed = &mut self.seed;
        let mut output = ClientOutput {
            buffer: &mut out,
            mask_keys: || (xorshift(seed) as u32).to_le_bytes(),
        };
        act(&mut self.conn, &self.config, &mut output);
        self.stream.write_all(&out).unwrap();
    }

    /// Sends one message as one frame.
    pub fn send(&mut self, kind: DataKind, payload: &[u8]) {
        self.write_with(|conn, _, out| conn.send(kind, payload, out).unwrap());
    }

    /// Sends `compressed` (DEFLATE data without the tail) as one compressed frame, whatever it
    /// holds.
    pub fn send_compressed_raw(&mut self, kind: DataKind, compressed: &[u8]) {
        self.write_with(|conn, _, out| conn.send_compressed(kind, compressed, out).unwrap());
    }

    /// Sends one message compressed (permessage-deflate must have been agreed), as one frame
    /// or, with `pieces` > 1, its compressed data in that many fragments.
    pub fn send_compressed(&mut self, kind: DataKind, payload: &[u8], pieces: usize) {
        let mut compressed = Vec::new();
        self.deflater
            .as_mut()
            .expect("compression agreed")
            .compress(payload, &mut compressed)
            .unwrap();
        let size = compressed.len().div_ceil(pieces.max(1)).max(1);
        let chunks: Vec<&[u8]> = compressed.chunks(size).collect();
        self.write_with(|conn, _, out| {
            for (i, chunk) in chunks.iter().enumerate() {
                let fin = i + 1 == chunks.len();
                conn.send_compressed_fragment(kind, chunk, fin, out)
                    .unwrap();
            }
            if chunks.is_empty() {
                conn.send_compressed(kind, &[], out).unwrap();
            }
        });
    }

    pub fn text(&mut self, text: &str) {
        self.send(DataKind::Text, text.as_bytes());
    }

    /// Sends one message in `pieces` fragments (all in one write).
    pub fn send_fragmented(&mut self, kind: DataKind, payload: &[u8], pieces: usize) {
        let size = payload.len().div_ceil(pieces).max(1);
        let chunks: Vec<&[u8]> = payload.chunks(size).collect();
        self.write_with(|conn, _, out| {
            for (i, chunk) in chunks.iter().enumerate() {
                let fin = i + 1 == chunks.len();
                conn.send_fragment(kind, chunk, fin, out).unwrap();
            }
        });
    }

    pub fn ping(&mut self, payload: &[u8]) {
        self.write_with(|conn, _, out| conn.send_ping(payload, out).unwrap());
    }

    /// Starts the closing handshake.
    pub fn close(&mut self, code: u16) {
        let now = self.now();
        self.write_with(|conn, config, out| {
            conn.close(config, now, CloseCode(code), "", out).unwrap()
        });
    }

    /// Sends raw bytes (e.g. a hand-made frame).
    pub fn send_raw(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).unwrap();
    }

    /// The next thing received (answering pings and closes as ws-proto does).
    pub fn recv(&mut self) -> Msg {
        loop {
            if !self.input.is_empty() {
                let now = self.now();
                let mut out = Vec::new();
                let seed = &mut self.seed;
                let mut output = ClientOutput {
                    buffer: &mut out,
                    mask_keys: || (xorshift(seed) as u32).to_le_bytes(),
                };
                let received = self
                    .conn
                    .receive(
                        &self.config,
                        now,
                        &mut self.input,
                        &mut self.message,
                        &mut output,
                    )
                    .unwrap_or_else(|e| panic!("the server sent something invalid: {e:?}"));
                let consumed = received.consumed;
                let deflate = self.deflate;
                let msg = received.event.map(|event| match event {
                    Event::Compressed { kind, payload } => {
                        let inflater = self.inflater.as_mut().expect("compression agreed");
                        if deflate.is_some_and(|d| d.server_no_context_takeover) {
                            inflater.reset();
                        }
                        let mut inflated = Vec::new();
                        let wire_len = payload.len() as u64;
                        self.conn
                            .inflate_message(
                                &self.config,
                                inflater,
                                kind,
                                payload,
                                &mut inflated,
                                &mut output,
                            )
                            .unwrap_or_else(|e| panic!("the server sent bad compressed data: {e}"));
                        self.compressed_in += 1;
                        self.compressed_wire_bytes += wire_len;
                        self.compressed_plain_bytes += inflated.len() as u64;
                        match kind {
                            DataKind::Text => Msg::Text(String::from_utf8(inflated).unwrap()),
                            DataKind::Binary => Msg::Binary(inflated),
                        }
                    }
                    Event::Message {
                        kind: DataKind::Text,
                        payload,
                    } => Msg::Text(String::from_utf8(payload.to_vec()).unwrap()),
                    Event::Message {
                        kind: DataKind::Binary,
                        payload,
                    } => Msg::Binary(payload.to_vec()),
                    Event::Ping(p) => Msg::Ping(p.to_vec()),
                    Event::Pong(p) => Msg::Pong(p.to_vec()),
                    Event::Close(close) => Msg::Close(close.code.map(|c| c.0)),
                });
                self.input.drain(..consumed);
                if !out.is_empty() {
                    // The server may be gone already; the reply is a courtesy.
                    let _ = self.stream.write_all(&out);
                }
                if let Some(msg) = msg {
                    return msg;
                }
                if consumed > 0 {
                    continue;
                }
            }
            let mut chunk = vec![0u8; 64 << 10];
            match self.stream.read(&mut chunk) {
                Ok(0) => {
                    // rustls reads 0 only after close_notify; EOF without it is an error.
                    self.close_notify = self.stream.tls().is_some();
                    return Msg::Eof;
                }
                Ok(n) => self.input.extend_from_slice(&chunk[..n]),
                // A TLS peer that closes TCP without close_notify reads as UnexpectedEof.
                Err(e)
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::ConnectionReset | std::io::ErrorKind::UnexpectedEof
                    ) =>
                {
                    return Msg::Eof;
                }
                Err(e) => panic!("read failed (timeout?): {e}"),
            }
        }
    }

    pub fn recv_text(&mut self) -> String {
        match self.recv() {
            Msg::Text(t) => t,
            other => panic!("expected text, got {other:?}"),
        }
    }

    /// Reads data messages until the server's close frame, handing each to `check` with its
    /// index; returns how many came before the close and the close code. Anything else (EOF,
    /// a ping or pong) fails the test.
    pub fn recv_data_until_close(
        &mut self,
        mut check: impl FnMut(usize, Msg),
    ) -> (usize, Option<u16>) {
        let mut received = 0;
        loop {
            match self.recv() {
                Msg::Close(code) => return (received, code),
                message @ (Msg::Text(_) | Msg::Binary(_)) => {
                    check(received, message);
                    received += 1;
                }
                other => panic!("unexpected {other:?} after {received} messages"),
            }
        }
    }

    /// Reads until a close frame and returns its code (panics on EOF first).
    pub fn recv_close(&mut self) -> Option<u16> {
        loop {
            match self.recv() {
                Msg::Close(code) => return code,
                Msg::Eof => panic!("EOF before a close frame"),
                _ => {}
            }
        }
    }

    /// Waits for the server's FIN (after the closing handshake).
    pub fn expect_eof(&mut self) {
        loop {
            match self.recv() {
                Msg::Eof => return,
                Msg::Close(_) | Msg::Ping(_) | Msg::Pong(_) => {}
                other => panic!("expected EOF, got {other:?}"),
            }
        }
    }
}

fn xorshift(state: &mut u64) -> u64 {
    let mut x = *state;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    *state = x;
    x
}

/// A masked client frame, by hand (for invalid payloads the client API refuses).
pub fn raw_frame(opcode: u8, payload: &[u8]) -> Vec<u8> {
    let key = [1, 2, 3, 4];
    let mut frame = vec![0x80 | opcode];
    assert!(payload.len() < 126);
    frame.push(0x80 | payload.len() as u8);
    frame.extend_from_slice(&key);
    frame.extend(payload.iter().enumerate().map(|(i, b)| b ^ key[i % 4]));
    frame
}

/// Polls `cond` until it holds (panics after [`LIMIT`]).
pub fn wait_until(what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + LIMIT;
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(2));
    }
}

/// The tests' echo app's read callback: echoes every message, except commands: `close N`
/// closes the client with N, `all …` broadcasts the rest to every client, `whoami` answers the
/// client's worker index. (Each test binary declares its own `rs_app!` around it.)
pub fn serve(rs: &mut app_abi::Rs, payload: &[u8]) {
    let kind = rs.read_data_kind();
    if let Some(code) = payload.strip_prefix(b"close ") {
        let code = std::str::from_utf8(code).unwrap().parse().unwrap();
        rs.close_cur(app_abi::AppCloseCode::new(code).unwrap());
    } else if let Some(rest) = payload.strip_prefix(b"all ") {
        rs.w_bytes(rest);
        rs.to_every(kind);
    } else if payload == b"addr" {
        let addr = rs.client_addr().to_string();
        rs.w_str(&addr);
        rs.to_cur(app_abi::DataKind::Text);
    } else if payload == b"whoami" {
        let worker = rs.client_id().worker();
        rs.w_str(&worker.to_string());
        rs.to_cur(app_abi::DataKind::Text);
    } else {
        rs.w_bytes(payload);
        rs.to_cur(kind);
    }
}

/// The value of the sample `name` (with its labels, exactly as rendered) in `metrics`.
pub fn sample(metrics: &str, name: &str) -> u64 {
    metrics
        .lines()
        .find_map(|line| line.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
        .unwrap_or_else(|| panic!("no sample {name} in:\n{metrics}"))
}
