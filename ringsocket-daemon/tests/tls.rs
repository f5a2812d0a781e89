//! The TLS layer against a real rustls client: certificates generated at test time, handshakes
//! over non-blocking socketpairs and loopback TCP, both ends pumped by one thread (so a test
//! cannot deadlock, and the server side sees `EAGAIN` as an epoll worker would).

#[path = "../src/tls/test_pki.rs"]
mod test_pki;

use std::io::{self, IoSlice, Read, Write};
use std::net::{IpAddr, Ipv4Addr, TcpListener, TcpStream};
use std::os::unix::net::UnixStream;
use std::sync::Arc;

use ringsocket_daemon::tls::{
    ALPN_HTTP_1_1, CertSpec, FlushStatus, ReadStatus, SessionError, TlsContext, TlsError,
    TlsSession,
};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, ServerName};
use rustls::{
    ClientConfig, ClientConnection, HandshakeKind, ProtocolVersion, RootCertStore,
    SupportedProtocolVersion,
};
use test_pki::{AcceptAny, Leaf, Pki};

// ---------------------------------------------------------------------------------------------
// Fixtures

/// The CA, the three leaves of the brief and the server context (default first).
struct Setup {
    pki: Pki,
    default: Leaf,
    a: Leaf,
    wild: Leaf,
    ctx: TlsContext,
}

fn spec(names: &[&str], leaf: &Leaf) -> CertSpec {
    CertSpec {
        hostnames: names.iter().map(|n| n.to_string()).collect(),
        privkey_path: leaf.key.clone(),
        pubchain_path: leaf.chain.clone(),
    }
}

impl Setup {
    fn new() -> Self {
        let pki = Pki::new();
        // The default also covers 127.0.0.1: a client connecting to an IP sends no SNI.
        let default = pki.issue("default", &["default.test", "127.0.0.1"]);
        let a = pki.issue("a", &["a.test"]);
        let wild = pki.issue("wild", &["*.wild.test"]);
        let ctx = TlsContext::new(&[
            spec(&["default.test"], &default),
            spec(&["a.test"], &a),
            spec(&["*.wild.test"], &wild),
        ])
        .expect("context");
        Self {
            pki,
            default,
            a,
            wild,
            ctx,
        }
    }

    /// A client trusting the test CA (full WebPKI verification of the name).
    fn client(
        &self,
        alpn: &[&[u8]],
        versions: &[&'static SupportedProtocolVersion],
    ) -> Arc<ClientConfig> {
        let mut roots = RootCertStore::empty();
        roots.add(self.pki.ca_der()).expect("CA");
        let mut config = ClientConfig::builder_with_provider(provider())
            .with_protocol_versions(versions)
            .expect("versions")
            .with_root_certificates(roots)
            .with_no_client_auth();
        config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
        Arc::new(config)
    }
}

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

const ALL: &[&SupportedProtocolVersion] = &[&rustls::version::TLS13, &rustls::version::TLS12];
const HTTP11: &[&[u8]] = &[ALPN_HTTP_1_1];

/// A client that accepts any certificate (signatures still checked), to see which certificate
/// the server picks for names none of them is valid for.
fn accept_any_client(sni: bool) -> Arc<ClientConfig> {
    let provider = provider();
    let mut config = ClientConfig::builder_with_provider(Arc::clone(&provider))
        .with_protocol_versions(ALL)
        .expect("versions")
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(AcceptAny(
            provider.signature_verification_algorithms,
        )))
        .with_no_client_auth();
    config.alpn_protocols = vec![ALPN_HTTP_1_1.to_vec()];
    config.enable_sni = sni;
    Arc::new(config)
}

fn name(host: &str) -> ServerName<'static> {
    match host.parse::<IpAddr>() {
        Ok(ip) => ServerName::IpAddress(ip.into()),
        Err(_) => ServerName::try_from(host.to_owned()).expect("server name"),
    }
}

// ---------------------------------------------------------------------------------------------
// A socket wrapper that makes the server side's I/O hard: every read and write is cut to at
// most `max` bytes, and every third call fails with EAGAIN before touching the socket.

struct Choppy<S> {
    inner: S,
    max: usize,
    calls: u64,
    /// Writes that took less than offered (cut here or by the socket).
    partial_writes: u64,
    /// EAGAIN from the socket itself (not injected).
    real_would_blocks: u64,
}

impl<S> Choppy<S> {
    fn new(inner: S, max: usize) -> Self {
        Self {
            inner,
            max,
            calls: 0,
            partial_writes: 0,
            real_would_blocks: 0,
        }
    }

    fn inject(&mut self) -> io::Result<()> {
        self.calls += 1;
        match self.calls % 3 {
            0 => Err(io::ErrorKind::WouldBlock.into()),
            _ => Ok(()),
        }
    }

    fn count(&mut self, r: io::Result<usize>, offered: usize) -> io::Result<usize> {
        match &r {
            Ok(n) if *n < offered => self.partial_writes += 1,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => self.real_would_blocks += 1,
            _ => {}
        }
        r
    }
}

impl<S: Read> Read for Choppy<S> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.inject()?;
        let n = buf.len().min(self.max);
        self.inner.read(&mut buf[..n])
    }
}

impl<S: Write> Write for Choppy<S> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.inject()?;
        let n = buf.len().min(self.max);
        let r = self.inner.write(&buf[..n]);
        self.count(r, buf.len())
    }

    fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        self.inject()?;
        // Keep it vectored (as rustls hands it over), cut to `max` bytes in total.
        let mut left = self.max;
        let mut cut = Vec::new();
        for b in bufs {
            if left == 0 {
                break;
            }
            let take = b.len().min(left);
            cut.push(IoSlice::new(&b[..take]));
            left -= take;
        }
        let offered = bufs.iter().map(|b| b.len()).sum();
        let r = self.inner.write_vectored(&cut);
        self.count(r, offered)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

// ---------------------------------------------------------------------------------------------
// A client and a server session over one connection, pumped in turns.

struct Pair<S> {
    client: ClientConnection,
    csock: S,
    server: TlsSession,
    ssock: Choppy<S>,
    /// Plaintext the server read / the client read.
    server_rx: Vec<u8>,
    client_rx: Vec<u8>,
    server_status: Option<ReadStatus>,
    handshake_completions: u32,
    client_eof: bool,
}

#[derive(Debug)]
enum Failure {
    Server(SessionError),
    Client(rustls::Error),
}

fn socketpair() -> (UnixStream, UnixStream) {
    let (c, s) = UnixStream::pair().expect("socketpair");
    c.set_nonblocking(true).expect("nonblocking");
    s.set_nonblocking(true).expect("nonblocking");
    (c, s)
}

fn tcp_pair() -> (TcpStream, TcpStream) {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind");
    let c = TcpStream::connect(listener.local_addr().expect("addr")).expect("connect");
    let (s, _) = listener.accept().expect("accept");
    for sock in [&c, &s] {
        sock.set_nonblocking(true).expect("nonblocking");
        sock.set_nodelay(true).expect("nodelay");
    }
    (c, s)
}

fn pair(ctx: &TlsContext, config: &Arc<ClientConfig>, host: &str) -> Pair<UnixStream> {
    let (c, s) = socketpair();
    Pair::new(ctx, config, host, c, s, 1 << 20)
}

impl<S: Read + Write> Pair<S> {
    fn new(
        ctx: &TlsContext,
        config: &Arc<ClientConfig>,
        host: &str,
        c: S,
        s: S,
        max: usize,
    ) -> Self {
        let client = ClientConnection::new(Arc::clone(config), name(host)).expect("client");
        Self {
            client,
            csock: c,
            server: TlsSession::new(ctx).expect("session"),
            ssock: Choppy::new(s, max),
            server_rx: Vec::new(),
            client_rx: Vec::new(),
            server_status: None,
            handshake_completions: 0,
            client_eof: false,
        }
    }

    /// One turn of each side: client writes, server reads and flushes, client reads.
    fn step(&mut self) -> Result<(), Failure> {
        while self.client.wants_write() {
            match self.client.write_tls(&mut self.csock) {
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) => panic!("client write: {e}"),
            }
        }
        if !matches!(
            self.server_status,
            Some(ReadStatus::PeerClosed | ReadStatus::Eof)
        ) {
            // A small buffer, so BufferFull and re-reading are exercised too.
            let mut buf = [0u8; 3000];
            let out = self
                .server
                .read(&mut self.ssock, &mut buf)
                .map_err(Failure::Server)?;
            self.server_rx.extend_from_slice(&buf[..out.len]);
            self.server_status = Some(out.status);
            self.handshake_completions += u32::from(out.handshake_completed);
        }
        self.server
            .flush(&mut self.ssock)
            .map_err(Failure::Server)?;
        if !self.client_eof {
            match self.client.read_tls(&mut self.csock) {
                Ok(0) => self.client_eof = true,
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(e) => panic!("client read: {e}"),
            }
            self.client.process_new_packets().map_err(Failure::Client)?;
            let mut buf = [0u8; 16384];
            loop {
                match self.client.reader().read(&mut buf) {
                    Ok(0) => {
                        self.client_eof = true;
                        break;
                    }
                    Ok(n) => self.client_rx.extend_from_slice(&buf[..n]),
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                    Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => break,
                    Err(e) => panic!("client plaintext: {e}"),
                }
            }
        }
        Ok(())
    }

    /// Step until `done` (at most many turns: nothing here needs more).
    fn until(&mut self, mut done: impl FnMut(&mut Self) -> bool) -> Result<(), Failure> {
        for _ in 0..200_000 {
            if done(self) {
                return Ok(());
            }
            self.step()?;
        }
        panic!("no progress");
    }

    fn handshake(&mut self) -> Result<(), Failure> {
        self.until(|p| !p.client.is_handshaking() && !p.server.is_handshaking())
    }

    /// The certificate the server presented.
    fn server_cert(&self) -> &CertificateDer<'static> {
        &self.client.peer_certificates().expect("server certificate")[0]
    }

    /// Send `data` each way and check it arrives.
    fn round_trip(&mut self, data: &[u8]) -> Result<(), Failure> {
        let (s0, c0) = (self.server_rx.len(), self.client_rx.len());
        self.client.writer().write_all(data).expect("client write");
        let mut sent = 0;
        self.until(|p| {
            if sent < data.len() {
                let out = p.server.send(&mut p.ssock, &[IoSlice::new(&data[sent..])]);
                sent += out.expect("server send").accepted;
            }
            p.server_rx.len() == s0 + data.len() && p.client_rx.len() == c0 + data.len()
        })?;
        assert_eq!(&self.server_rx[s0..], data);
        assert_eq!(&self.client_rx[c0..], data);
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------------
// Certificate selection

#[test]
fn sni_selects_exact_wildcard_and_default_with_full_verification() {
    let s = Setup::new();
    let client = s.client(HTTP11, ALL);
    for (host, leaf, sni) in [
        ("a.test", &s.a, Some("a.test")),
        ("x.wild.test", &s.wild, Some("x.wild.test")),
        ("default.test", &s.default, Some("default.test")),
        // An IP address: rustls sends no SNI, so only a default certificate can serve it.
        ("127.0.0.1", &s.default, None),
    ] {
        let mut p = pair(&s.ctx, &client, host);
        p.handshake().unwrap_or_else(|e| panic!("{host}: {e:?}"));
        assert_eq!(p.server_cert(), &leaf.der, "{host}");
        assert_eq!(p.server.sni(), sni, "{host}");
        assert_eq!(p.handshake_completions, 1, "{host}");
        p.round_trip(b"hello").expect("round trip");
        assert_eq!(p.handshake_completions, 1, "reported once");
    }
}

#[test]
fn unmatched_and_missing_sni_get_the_default() {
    let s = Setup::new();
    for (host, sni) in [
        ("unknown.test", true),
        // One label only: the wildcard covers neither its own base nor two labels.
        ("wild.test", true),
        ("x.y.wild.test", true),
        // No SNI at all, although the name would match.
        ("a.test", false),
    ] {
        let mut p = pair(&s.ctx, &accept_any_client(sni), host);
        p.handshake().unwrap_or_else(|e| panic!("{host}: {e:?}"));
        assert_eq!(p.server_cert(), &s.default.der, "{host} (sni {sni})");
        assert_eq!(p.server.sni(), sni.then_some(host), "{host}");
    }
    // A verifying client gets the default too, and decides itself that it is not valid.
    let mut p = pair(&s.ctx, &s.client(HTTP11, ALL), "unknown.test");
    match p.handshake() {
        Err(Failure::Client(rustls::Error::InvalidCertificate(e))) => {
            assert!(format!("{e:?}").contains("default.test"), "{e:?}")
        }
        other => panic!("{other:?}"),
    }
    // And the matching ones still match with the same client.
    let mut p = pair(&s.ctx, &accept_any_client(true), "Q.Wild.Test");
    p.handshake().expect("handshake");
    assert_eq!(p.server_cert(), &s.wild.der);
}

// ---------------------------------------------------------------------------------------------
// ALPN, versions, resumption

#[test]
fn alpn_http11_is_negotiated_and_required_when_offered() {
    let s = Setup::new();
    let mut p = pair(&s.ctx, &s.client(&[b"h2", ALPN_HTTP_1_1], ALL), "a.test");
    p.handshake().expect("handshake");
    assert_eq!(p.client.alpn_protocol(), Some(ALPN_HTTP_1_1));
    assert_eq!(p.server.alpn_protocol(), Some(ALPN_HTTP_1_1));

    let mut p = pair(&s.ctx, &s.client(&[], ALL), "a.test");
    p.handshake().expect("a client without ALPN is fine");
    assert_eq!(p.server.alpn_protocol(), None);

    let mut p = pair(&s.ctx, &s.client(&[b"h2"], ALL), "a.test");
    match p.handshake() {
        Err(Failure::Server(SessionError::Protocol(rustls::Error::NoApplicationProtocol))) => {}
        other => panic!("h2-only client: {other:?}"),
    }
    // The alert reaches the client after the worker's final flush.
    let _ = p.server.flush(&mut p.ssock);
    let _ = p.client.read_tls(&mut p.csock);
    assert!(p.client.process_new_packets().is_err());
}

#[test]
fn tls12_and_tls13_both_resume_from_the_cache() {
    let s = Setup::new();
    for (versions, expected) in [
        (&[&rustls::version::TLS12][..], ProtocolVersion::TLSv1_2),
        (&[&rustls::version::TLS13][..], ProtocolVersion::TLSv1_3),
    ] {
        let client = s.client(HTTP11, versions);
        let mut first = pair(&s.ctx, &client, "a.test");
        first.handshake().expect("handshake");
        assert_eq!(first.server.protocol_version(), Some(expected));
        assert_eq!(first.client.handshake_kind(), Some(HandshakeKind::Full));
        // TLS 1.3 tickets come after the handshake: let them arrive.
        first.round_trip(b"x").expect("round trip");

        let mut second = pair(&s.ctx, &client, "a.test");
        second.handshake().expect("handshake");
        assert_eq!(
            second.client.handshake_kind(),
            Some(HandshakeKind::Resumed),
            "{expected:?}"
        );
        second.round_trip(b"y").expect("round trip");
    }
}

// ---------------------------------------------------------------------------------------------
// Refusing what is not TLS

/// Send `first` raw on a fresh connection; return the session's error, checking that nothing
/// was sent back.
fn refuse(ctx: &TlsContext, first: &[u8]) -> SessionError {
    let (mut client, mut sock) = socketpair();
    client.write_all(first).expect("write");
    let mut session = TlsSession::new(ctx).expect("session");
    let err = session
        .read(&mut sock, &mut [0u8; 1024])
        .expect_err("refused");
    assert!(
        !session.wants_write(),
        "nothing to send: the worker just closes"
    );
    let r = client.read(&mut [0u8; 16]);
    assert!(
        matches!(&r, Err(e) if e.kind() == io::ErrorKind::WouldBlock),
        "{r:?}"
    );
    err
}

#[test]
fn plaintext_http_on_the_tls_port_is_refused_cleanly() {
    let s = Setup::new();
    let err = refuse(&s.ctx, b"GET / HTTP/1.1\r\nHost: a.test\r\n\r\n");
    assert!(
        matches!(err, SessionError::NotTls { first_byte: b'G' }),
        "{err:?}"
    );
    assert!(err.looks_like_http());
    assert_eq!(err.to_string(), "plaintext HTTP request on a TLS port");

    let err = refuse(&s.ctx, b"\x80\x01junk");
    assert!(
        matches!(err, SessionError::NotTls { first_byte: 0x80 }),
        "{err:?}"
    );
    assert!(!err.looks_like_http());
}

// ---------------------------------------------------------------------------------------------
// Reload

#[test]
fn reload_swaps_certs_for_new_connections_only_and_a_failed_one_keeps_them() {
    let s = Setup::new();
    let client = s.client(HTTP11, ALL);
    let mut before = pair(&s.ctx, &client, "a.test");
    before.handshake().expect("handshake");
    assert_eq!(before.server_cert(), &s.a.der);

    let a2 = s.pki.issue("a2", &["a.test"]);
    let b = s.pki.issue("b", &["b.test"]);
    let new_specs = [
        spec(&["default.test"], &s.default),
        spec(&["A.test"], &a2),
        spec(&["b.test"], &b),
    ];
    // A clone (as a worker holds) sees the reload done through another clone.
    let worker_ctx = s.ctx.clone();
    let report = s.ctx.reload(&new_specs).expect("reload");
    assert_eq!(report.added, ["b.test"]);
    assert_eq!(report.removed, ["*.wild.test"]);
    assert_eq!(report.replaced, ["a.test"]);
    assert_eq!(report.unchanged, ["default.test"]);
    assert!(!report.default_changed);
    assert_eq!(
        report.to_string(),
        "added [b.test]; removed [*.wild.test]; replaced [a.test]; 1 unchanged; \
         default certificate unchanged"
    );
    assert_eq!(worker_ctx.hostnames(), ["a.test", "b.test", "default.test"]);

    for (host, leaf) in [("a.test", &a2), ("b.test", &b)] {
        let mut p = pair(&worker_ctx, &client, host);
        p.handshake().expect("handshake after reload");
        assert_eq!(p.server_cert(), &leaf.der, "{host}");
    }
    let mut p = pair(&worker_ctx, &accept_any_client(true), "x.wild.test");
    p.handshake().expect("handshake");
    assert_eq!(
        p.server_cert(),
        &s.default.der,
        "removed wildcard → default"
    );

    // The connection made before the reload is untouched.
    before.round_trip(b"still here").expect("old connection");
    assert_eq!(before.server_cert(), &s.a.der);

    // Broken reloads: a missing key file, a key for another cert, no certs. Each fails and the
    // served set stays as it was.
    let missing = s.pki.dir.join("gone.key");
    let mut broken = new_specs.clone();
    broken[1].privkey_path = missing.clone();
    match s.ctx.reload(&broken) {
        Err(e @ TlsError::Read { .. }) => assert!(e.to_string().contains("gone.key"), "{e}"),
        other => panic!("{other:?}"),
    }
    let mut mismatched = new_specs.clone();
    mismatched[2].privkey_path = a2.key.clone();
    assert!(matches!(
        s.ctx.reload(&mismatched),
        Err(TlsError::KeyMismatch { .. })
    ));
    assert!(matches!(s.ctx.reload(&[]), Err(TlsError::NoCertificates)));
    // `client` holds a resumable session for a.test from `before` (its tickets arrived with the
    // round trip), but the reload emptied the server's cache: a full handshake, new cert.
    let mut p = pair(&s.ctx, &client, "a.test");
    p.handshake().expect("handshake after failed reloads");
    assert_eq!(p.client.handshake_kind(), Some(HandshakeKind::Full));
    assert_eq!(p.server_cert(), &a2.der);
    assert_eq!(s.ctx.hostnames(), ["a.test", "b.test", "default.test"]);

    let again = s.ctx.reload(&new_specs).expect("same again");
    assert!(again.is_unchanged());
}

#[test]
fn context_errors() {
    let s = Setup::new();
    let err = TlsContext::new(&[spec(
        &["a.test"],
        &Leaf {
            key: s.default.key.clone(),
            chain: s.a.chain.clone(),
            der: s.a.der.clone(),
        },
    )])
    .expect_err("mismatch");
    assert!(matches!(err, TlsError::KeyMismatch { .. }), "{err:?}");
    let msg = err.to_string();
    assert!(
        msg.contains("default.key") && msg.contains("a.crt"),
        "{msg}"
    );

    assert!(matches!(
        TlsContext::new(&[]),
        Err(TlsError::NoCertificates)
    ));
    let err = TlsContext::new(&[spec(&["*.com"], &s.a)]).expect_err("bad wildcard");
    assert!(matches!(err, TlsError::BadHostname { .. }), "{err:?}");
}

// ---------------------------------------------------------------------------------------------
// Data: large transfers through partial writes, closing

/// 1 MiB each way, the server sending it as many small frames per call (vectored), through a
/// socket wrapper that cuts every read/write to `max` bytes and injects EAGAIN.
fn big_transfer<S: Read + Write>(mut p: Pair<S>) -> Pair<S> {
    p.handshake().expect("handshake");
    const LEN: usize = 1 << 20;
    let data: Vec<u8> = (0..LEN).map(|i| (i * 7 % 251) as u8).collect();
    let frames: Vec<&[u8]> = data.chunks(1000).collect();

    p.client.set_buffer_limit(None);
    p.client.writer().write_all(&data).expect("client write");
    let mut sent = 0;
    let mut would_block = 0;
    p.until(|p| {
        if sent < LEN {
            // Offer everything still pending as one vectored send, as the worker would.
            let mut skip = sent;
            let mut slices = Vec::new();
            for f in &frames {
                if skip >= f.len() {
                    skip -= f.len();
                } else {
                    slices.push(IoSlice::new(&f[skip..]));
                    skip = 0;
                }
            }
            let out = p.server.send(&mut p.ssock, &slices).expect("send");
            sent += out.accepted;
            would_block += u32::from(out.status == FlushStatus::WouldBlock);
        }
        p.server_rx.len() == LEN && p.client_rx.len() == LEN
    })
    .expect("transfer");
    assert!(p.server_rx == data, "client → server data differs");
    assert!(p.client_rx == data, "server → client data differs");
    assert!(would_block > 0, "the socket never pushed back");
    assert!(p.ssock.partial_writes > 0, "no partial writes");
    p
}

#[test]
fn one_mib_each_way_over_a_socketpair_with_partial_writes() {
    let s = Setup::new();
    let (c, sock) = socketpair();
    let p = big_transfer(Pair::new(
        &s.ctx,
        &s.client(HTTP11, ALL),
        "a.test",
        c,
        sock,
        7000,
    ));
    eprintln!(
        "socketpair: {} partial writes, {} real EAGAINs",
        p.ssock.partial_writes, p.ssock.real_would_blocks
    );
}

#[test]
fn one_mib_each_way_over_loopback_tcp_with_partial_writes() {
    let s = Setup::new();
    let (c, sock) = tcp_pair();
    big_transfer(Pair::new(
        &s.ctx,
        &s.client(HTTP11, ALL),
        "a.test",
        c,
        sock,
        5000,
    ));
}

#[test]
fn close_notify_both_ways_and_bare_eof() {
    let s = Setup::new();
    let client = s.client(HTTP11, ALL);

    // Server closes: the client sees close_notify after the data sent before it.
    let mut p = pair(&s.ctx, &client, "a.test");
    p.handshake().expect("handshake");
    p.server
        .send(&mut p.ssock, &[IoSlice::new(b"bye")])
        .expect("send");
    p.server.close();
    p.until(|p| p.client_eof).expect("client sees the close");
    assert_eq!(p.client_rx, b"bye");

    // Client closes cleanly: the server reads the data, then PeerClosed.
    let mut p = pair(&s.ctx, &client, "a.test");
    p.handshake().expect("handshake");
    p.client.writer().write_all(b"last words").expect("write");
    p.client.send_close_notify();
    p.until(|p| p.server_status == Some(ReadStatus::PeerClosed))
        .expect("peer closed");
    assert_eq!(p.server_rx, b"last words");
    assert!(!p.server.wants_read());

    // Client just drops the TCP connection: Eof.
    let mut p = pair(&s.ctx, &client, "a.test");
    p.handshake().expect("handshake");
    p.client.writer().write_all(b"abrupt").expect("write");
    while p.client.wants_write() {
        p.client.write_tls(&mut p.csock).expect("client write");
    }
    p.csock
        .shutdown(std::net::Shutdown::Both)
        .expect("shutdown");
    let mut got = Vec::new();
    let status = loop {
        let mut buf = [0u8; 64];
        let out = p.server.read(&mut p.ssock, &mut buf).expect("read");
        got.extend_from_slice(&buf[..out.len]);
        if matches!(out.status, ReadStatus::Eof | ReadStatus::PeerClosed) {
            break out.status;
        }
    };
    assert_eq!(status, ReadStatus::Eof);
    assert_eq!(got, b"abrupt");
}

#[test]
fn data_queued_during_the_handshake_is_sent_after_it() {
    let s = Setup::new();
    let mut p = pair(&s.ctx, &s.client(HTTP11, ALL), "a.test");
    let out = p.server.send(
        &mut p.ssock,
        &[IoSlice::new(b"early"), IoSlice::new(b" bird")],
    );
    assert_eq!(out.expect("send").accepted, 10);
    p.handshake().expect("handshake");
    p.until(|p| p.client_rx.len() == 10).expect("early data");
    assert_eq!(p.client_rx, b"early bird");
}
