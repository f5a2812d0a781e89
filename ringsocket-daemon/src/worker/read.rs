//! The read path: bytes from a socket → HTTP upgrade → WebSocket frames → inbound records.
//!
//! Every connection reads into the worker's one read buffer. Bytes left unprocessed at the end
//! (an unfinished HTTP head, a partial frame header or control frame) are copied into the
//! connection's `pending_in` and put back in front of the next read; a message arriving in
//! pieces goes into the connection's message buffer (ws-proto reassembles it there). Nothing
//! else costs a connection memory.

use app_abi::records::{Inbound, UpgradeRequest};
use app_abi::{ClientId, DataKind};
use ws_proto::handshake::extensions::{PerMessageDeflate, negotiate_deflate};
use ws_proto::handshake::{
    Header, Request, RequestStatus, StatusCode, host_matches, origin_matches, path_matches,
    write_accept_response,
};
use ws_proto::{CloseCode, Connection, Event, Role};

use std::net::{IpAddr, SocketAddr};

use super::compress::ConnDeflate;
use super::conn::{Conn, PendingUpgrade, Phase};
use super::transport::Input;
use super::{AppPort, Endpoint, READS_PER_TURN, Ready, Worker, push_inbound};
use crate::net::ClientAddrSource;
use crate::tls::looks_like_tls_client_hello;

/// What a complete or partial HTTP head leads to.
enum HeadOutcome {
    /// Not complete yet: keep the bytes.
    Partial,
    /// Answer with this status and drain.
    Reject(StatusCode),
    /// The `101` is in the worker's output scratch.
    Accept {
        endpoint: usize,
        head_len: usize,
        deflate: Option<PerMessageDeflate>,
    },
    /// The app's upgrade callback decides: the encoded request is in the output scratch.
    AskApp {
        head_len: usize,
        pending: Box<PendingUpgrade>,
    },
}

/// What [`decide`] found: the endpoint, and what the `101` would say.
struct Decision<'a> {
    upgrade: ws_proto::handshake::UpgradeRequest<'a>,
    endpoint: usize,
    deflate: Option<PerMessageDeflate>,
    /// Index in the endpoint's `subprotocols` of the first the client offers.
    protocol: Option<usize>,
}

impl Worker {
    /// Reads until the socket is drained (edge-triggered epoll reports no more), or until the
    /// connection's share of this turn is used, when it goes on the ready list.
    pub(super) fn on_readable(&mut self, slot: u32) {
        let Some(generation) = self.slots.get(slot as usize).map(|s| s.generation) else {
            return;
        };
        if self
            .conn_mut(slot)
            .is_some_and(|c| matches!(c.phase, Phase::Proxy))
            && !self.read_proxy_header(slot)
        {
            return;
        }
        for _ in 0..READS_PER_TURN {
            let Some(conn) = self.slots[slot as usize].conn.as_mut() else {
                return;
            };
            // Draining, or a close owed (its bytes wait in `pending`): the peer's bytes are
            // moot.
            let draining = matches!(conn.phase, Phase::Draining) || conn.close_owed;
            // Unprocessed bytes go back in front of the new ones once a read brought any.
            let kept = if draining {
                0
            } else {
                conn.inbufs.pending().len()
            };
            let hup = conn.hup;
            let input = conn.transport.recv(&mut self.rbuf[kept..], hup);
            let n = match input {
                Input::More(n) | Input::Drained(n) | Input::End(n) => n,
                Input::Failed => 0,
            };
            // Draining: the peer's bytes are moot.
            if n > 0 && !draining {
                self.rbuf[..kept].copy_from_slice(conn.inbufs.pending());
                conn.inbufs.clear_pending();
                self.process_input(slot, kept + n);
            }
            match input {
                Input::More(_) => {}
                Input::Drained(_) => return,
                // The client may still read the replies it is owed after its FIN: the
                // barrier or the deadline ends the connection.
                Input::End(_) if self.conn_mut(slot).is_some_and(|c| c.close_owed) => return,
                Input::End(_) | Input::Failed => {
                    self.end(slot);
                    return;
                }
            }
        }
        // The socket or the TLS session may hold more: the edge will not repeat, so come back
        // next turn (a TLS read that filled the buffer needs this as much as a plain one).
        self.push_ready(Ready::Conn { slot, generation });
    }

    /// Handles `rbuf[..filled]` for the connection.
    fn process_input(&mut self, slot: u32, filled: usize) {
        let Some(conn) = self.slots[slot as usize].conn.as_mut() else {
            return;
        };
        let outcome = match &mut conn.phase {
            // A TLS client on a plaintext port (the head cannot start with 0x16): it cannot
            // read an HTTP answer, so just close.
            Phase::Handshake(_)
                if !conn.transport.is_tls()
                    && looks_like_tls_client_hello(&self.rbuf[..filled]) =>
            {
                self.end(slot);
                return;
            }
            Phase::Handshake(parser) => match parser.parse(&self.rbuf[..filled]) {
                Ok(RequestStatus::Partial) => HeadOutcome::Partial,
                Err(e) => HeadOutcome::Reject(e.status()),
                Ok(RequestStatus::Complete { len, request }) => {
                    let (port, tls, client_addr) = self.listener_info[usize::from(conn.listener)];
                    if client_addr == ClientAddrSource::XForwardedFor
                        && let Some(ip) = forwarded_for(&request)
                    {
                        conn.peer = SocketAddr::new(ip, 0).into();
                    }
                    let admitted = if self.limits.per_address() {
                        let admitted = self.limits.admit(conn.peer.get().ip());
                        conn.addr_counted = admitted.is_ok();
                        admitted
                    } else {
                        Ok(())
                    };
                    if let Err(refusal) = admitted {
                        self.counters.count_refusal(refusal);
                        HeadOutcome::Reject(StatusCode::TOO_MANY_REQUESTS)
                    } else {
                        match decide(&request, port, tls, &self.endpoints, &self.apps) {
                            Ok(decision) => {
                                prepare(&request, len, decision, &self.endpoints, &mut self.out)
                            }
                            Err(status) => HeadOutcome::Reject(status),
                        }
                    }
                }
            },
            Phase::Proxy => return,
            Phase::Upgrading(_) => {
                // Frames sent before the `101`: kept for after it, within reason.
                if conn.inbufs.pending().len() + filled > self.settings.rbuf_size {
                    self.end(slot);
                } else {
                    conn.inbufs.extend_pending(&self.rbuf[..filled]);
                }
                return;
            }
            Phase::Ws { .. } => {
                self.receive_frames(slot, 0, filled);
                return;
            }
            Phase::Draining => return,
        };
        match outcome {
            HeadOutcome::Partial => conn.inbufs.extend_pending(&self.rbuf[..filled]),
            HeadOutcome::Reject(status) => self.reject(slot, status),
            HeadOutcome::Accept {
                endpoint,
                head_len,
                deflate,
            } => {
                self.upgrade(slot, endpoint, deflate);
                if self.conn_mut(slot).is_some() {
                    // Bytes after the head are the client's first frames.
                    self.receive_frames(slot, head_len, filled);
                }
            }
            HeadOutcome::AskApp { head_len, pending } => {
                self.ask_app(slot, head_len, filled, pending);
            }
        }
    }

    /// Reads the PROXY protocol header of a connection from a load balancer: peeked, so that
    /// exactly its bytes are consumed and the rest (HTTP, or a TLS ClientHello) stays for the
    /// transport. `true`: done, go on reading; `false`: wait for more, or the connection ended
    /// (a port set up for PROXY refuses connections without a valid header).
    fn read_proxy_header(&mut self, slot: u32) -> bool {
        let Some(conn) = self.conn_mut(slot) else {
            return false;
        };
        let mut head = [0u8; ws_proto::proxy::MAX_V2_LEN];
        let fd = conn.transport.fd();
        let peeked = match rustix::net::recv(fd, &mut head, rustix::net::RecvFlags::PEEK) {
            Ok((0, _)) => None,
            Ok((n, _)) => Some(n),
            Err(rustix::io::Errno::AGAIN | rustix::io::Errno::INTR) => return false,
            Err(_) => None,
        };
        let Some(n) = peeked else {
            self.end(slot);
            return false;
        };
        match ws_proto::proxy::parse(&head[..n]) {
            Ok(ws_proto::proxy::Parsed::Partial) => false,
            Ok(ws_proto::proxy::Parsed::Complete { len, header }) => {
                // The bytes were peeked, so this takes exactly them.
                let taken =
                    rustix::net::recv(fd, &mut head[..len], rustix::net::RecvFlags::empty());
                if !matches!(taken, Ok((got, _)) if got == len) {
                    self.end(slot);
                    return false;
                }
                if let Some(source) = header.source {
                    conn.peer = source.into();
                }
                conn.phase = Phase::Handshake(ws_proto::handshake::RequestParser::new());
                true
            }
            Err(e) => {
                crate::log!(
                    Info,
                    "worker {}: closing a connection on a proxy_protocol port: {e}",
                    self.index
                );
                self.end(slot);
                false
            }
        }
    }

    /// Hands the upgrade request (in the output scratch) to the app's upgrade callback and
    /// waits for its answer; `rbuf[head_len..filled]` waits too.
    fn ask_app(&mut self, slot: u32, head_len: usize, filled: usize, pending: Box<PendingUpgrade>) {
        let Some(client) = self.client_id(slot) else {
            return;
        };
        let endpoint = &self.endpoints[pending.endpoint];
        let (app, endpoint_id) = (endpoint.app, endpoint.id);
        let Some(conn) = self.slots[slot as usize].conn.as_mut() else {
            return;
        };
        let peer = conn.peer.get();
        conn.inbufs.clear_pending();
        conn.inbufs.extend_pending(&self.rbuf[head_len..filled]);
        conn.phase = Phase::Upgrading(pending);
        let Ok(request) = UpgradeRequest::from_encoded(&self.out) else {
            self.reject(slot, StatusCode::INTERNAL_SERVER_ERROR);
            return;
        };
        let asked = push_inbound(
            &mut self.apps[usize::from(app)],
            Inbound::Upgrade {
                client,
                endpoint_id,
                peer,
                request,
            },
        );
        if !asked {
            self.reject(slot, StatusCode::SERVICE_UNAVAILABLE);
        }
    }

    /// The app's answer to an upgrade: accept (the `101`, then the connection is a WebSocket
    /// and the bytes that waited are its first frames) or reject with its status and body.
    pub(super) fn on_answer(
        &mut self,
        app: usize,
        client: ClientId,
        status: u16,
        protocol: &[u8],
        body: &[u8],
    ) {
        if client.worker() != self.index {
            return;
        }
        let slot = client.slot();
        let Some(entry) = self.slots.get_mut(slot as usize) else {
            return;
        };
        if entry.generation != client.generation() {
            return; // The connection ended meanwhile (its close record went to the app).
        }
        let Some(conn) = entry.conn.as_mut() else {
            return;
        };
        let Phase::Upgrading(pending) = &conn.phase else {
            return;
        };
        let endpoint = pending.endpoint;
        if usize::from(self.endpoints[endpoint].app) != app {
            return;
        }
        if status != 0 {
            self.counters.upgrade_rejections.inc();
            let status = StatusCode::new(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            self.out.clear();
            let _ =
                ws_proto::handshake::write_error_response_with_body(status, body, &mut self.out);
            let out = std::mem::take(&mut self.out);
            self.write_to(slot, &[&out], false);
            self.out = out;
            let wait = self.settings.shutdown_wait_http;
            self.finish(slot, wait);
            return;
        }
        let (key, deflate) = (pending.key, pending.deflate);
        let protocol = std::str::from_utf8(protocol).ok().filter(|p| !p.is_empty());
        self.out.clear();
        if write_101(&key, protocol, deflate.as_ref(), &mut self.out).is_err() {
            self.reject(slot, StatusCode::INTERNAL_SERVER_ERROR);
            return;
        }
        let early = self
            .conn_mut(slot)
            .map(|c| c.inbufs.take_pending())
            .unwrap_or_default();
        self.upgrade(slot, endpoint, deflate);
        if !early.is_empty() && self.conn_mut(slot).is_some() {
            // Within `rbuf_size` (see the `Upgrading` arm of `process_input`).
            let n = early.len().min(self.rbuf.len());
            self.rbuf[..n].copy_from_slice(&early[..n]);
            self.receive_frames(slot, 0, n);
        } else {
            self.after_ws_activity(slot);
        }
    }

    /// Sends the `101` (in the output scratch), becomes a WebSocket and tells the app.
    fn upgrade(&mut self, slot: u32, endpoint: usize, deflate: Option<PerMessageDeflate>) {
        let out = std::mem::take(&mut self.out);
        self.write_to(slot, &[&out], false);
        self.out = out;
        let Some(client) = self.client_id(slot) else {
            return;
        };
        let now = self.ws_now();
        let endpoint = &self.endpoints[endpoint];
        let (app, endpoint_id, settings) = (endpoint.app, endpoint.id, endpoint.deflate);
        let Some(peer) = self.conn_mut(slot).map(|c| c.peer.get()) else {
            return; // The write failed: the connection is gone.
        };
        let opened = push_inbound(
            &mut self.apps[usize::from(app)],
            Inbound::Open {
                client,
                endpoint_id,
                peer,
            },
        );
        if !opened {
            self.end(slot);
            return;
        }
        if let Some(counters) = self.counters.apps.get(usize::from(app)) {
            counters.opened.inc();
        }
        let mut ws = Connection::new(Role::Server, &self.settings.ws, now);
        let deflate = match (deflate, &settings) {
            (Some(agreed), Some(settings)) => {
                ws = ws.with_permessage_deflate();
                self.deflate.conns += 1;
                Some(ConnDeflate::new(&agreed, settings))
            }
            _ => None,
        };
        let Some(conn) = self
            .slots
            .get_mut(slot as usize)
            .and_then(|s| s.conn.as_mut())
        else {
            return;
        };
        if let Some(rate) = self.settings.max_messages_per_second {
            conn.budget = super::limits::MessageBudget::full(rate, (self.now / 1_000_000) as u32);
        }
        let members = &mut self.apps[usize::from(app)].members;
        conn.phase = Phase::Ws {
            ws,
            app,
            endpoint_id,
            member_at: members.len() as u32,
            deflate,
        };
        members.push(slot);
        conn.inbufs.clear();
    }

    /// Runs `rbuf[start..filled]` through the connection's engine.
    pub(super) fn receive_frames(&mut self, slot: u32, start: usize, filled: usize) {
        let now = self.ws_now();
        let Some(client) = self.client_id(slot) else {
            return;
        };
        let Self {
            slots,
            rbuf,
            out,
            apps,
            settings,
            counters,
            deflate: shared,
            ..
        } = self;
        let Some(Conn {
            phase,
            inbufs,
            close_code,
            close_owed,
            budget,
            ..
        }) = slots[slot as usize].conn.as_mut()
        else {
            return;
        };
        let Phase::Ws {
            ws,
            app,
            endpoint_id,
            deflate,
            ..
        } = phase
        else {
            return;
        };
        if *close_owed {
            return; // The engine is closed: what the peer sends now is moot.
        }
        let was_open = ws.state() == ws_proto::State::Open;
        let app_counters = counters.apps.get(usize::from(*app));
        let app = &mut apps[usize::from(*app)];
        out.clear();
        let mut message = inbufs.take_message();
        let mut pos = start;
        let mut push_failed = false;
        let mut over_rate = false;
        let now_ms = (self.now / 1_000_000) as u32;
        while pos < filled {
            let received =
                match ws.receive(&settings.ws, now, &mut rbuf[pos..filled], &mut message, out) {
                    Ok(received) => received,
                    Err(e) => {
                        // A protocol error: the close frame with its code is in `out`.
                        if *close_code == 0 {
                            *close_code = e.close_code().0;
                        }
                        break;
                    }
                };
            let stalled = received.is_stalled();
            pos += received.consumed;
            if let Some(Event::Close(close)) = &received.event
                && *close_code == 0
            {
                *close_code = close.code.map_or(CloseCode::NO_STATUS.0, |c| c.0);
            }
            let message_event = match received.event {
                Some(Event::Message { kind, payload }) => Some((kind, payload)),
                Some(Event::Compressed { kind, payload }) => {
                    let wire_len = payload.len() as u64;
                    let (inflater, inflated) = match deflate.as_mut().and_then(|d| d.own_inflater())
                    {
                        Some(own) => (own, &mut shared.inflated),
                        None => shared.inflater(),
                    };
                    match ws.inflate_message(&settings.ws, inflater, kind, payload, inflated, out) {
                        Ok(inflated) => {
                            counters.deflate_in_after.add(wire_len);
                            counters.deflate_in_before.add(inflated.len() as u64);
                            Some((kind, inflated))
                        }
                        Err(e) => {
                            // 1009 past the size limit, 1007 for bad data: the close frame
                            // is in `out`.
                            if *close_code == 0 {
                                *close_code = e.close_code().0;
                            }
                            break;
                        }
                    }
                }
                _ => None,
            };
            if let Some((kind, payload)) = message_event {
                if let Some(rate) = settings.max_messages_per_second
                    && !budget.spend(rate, now_ms)
                {
                    over_rate = true;
                    break;
                }
                if let Some(c) = app_counters {
                    c.messages_in.inc();
                    c.bytes_in.add(payload.len() as u64);
                }
                let data_kind = match kind {
                    ws_proto::DataKind::Text => DataKind::Text,
                    ws_proto::DataKind::Binary => DataKind::Bin,
                };
                let read = Inbound::Read {
                    client,
                    endpoint_id: *endpoint_id,
                    data_kind,
                    payload,
                };
                push_failed = !push_inbound(app, read);
                // The message buffer is free again (ws-proto clears it when the next message
                // in pieces starts): give its memory back while the connection idles.
                if message.capacity() > 0 {
                    message = Vec::new();
                }
            }
            if stalled || push_failed || ws.state() == ws_proto::State::Closed {
                break;
            }
        }
        if ws.state() != ws_proto::State::Closed && pos < filled {
            inbufs.extend_pending(&rbuf[pos..filled]);
        }
        inbufs.put_message(message);
        shared.tidy_inflated();
        // Over its message rate: closed with 1008, after the replies to what it was let send.
        if over_rate
            && ws
                .close(&settings.ws, now, CloseCode::POLICY_VIOLATION, "", out)
                .is_ok()
        {
            counters.message_rate_closes.inc();
            if *close_code == 0 {
                *close_code = CloseCode::POLICY_VIOLATION.0;
            }
        }
        // The engine just answered the client's close or failed the connection (or closes
        // it for its rate): its close frame waits until the app thread has handled the
        // client's earlier messages (a barrier through the same ring), so that their replies
        // go first.
        let owe =
            !push_failed && (over_rate || (was_open && ws.state() == ws_proto::State::Closed));
        if owe {
            let barrier = Inbound::Barrier {
                client,
                endpoint_id: *endpoint_id,
            };
            if push_inbound(app, barrier) {
                *close_owed = true;
                inbufs.clear_pending();
                inbufs.extend_pending(out);
                out.clear();
                let when = self
                    .now
                    .saturating_add(super::nanos(self.settings.shutdown_wait_ws));
                self.set_deadline(slot, when);
                return;
            }
        }
        if !out.is_empty() {
            let out = std::mem::take(&mut self.out);
            self.write_to(slot, &[&out], true);
            self.out = out;
        }
        if push_failed {
            self.close_ws(slot, CloseCode::INTERNAL_ERROR);
        }
        self.after_ws_activity(slot);
    }
}

/// Validates the upgrade and picks the endpoint, and what permessage-deflate and the
/// endpoint's `subprotocols` agree to.
///
/// The endpoint is the one whose port, path and host (case-insensitive, default port optional)
/// all match exactly: no path on this port is 404, a known path with an unknown host 400.
/// A sent `Origin` must be allowed (403); an app that stopped answers 503.
fn decide<'a>(
    request: &Request<'a>,
    port: u16,
    tls: bool,
    endpoints: &[Endpoint],
    apps: &[AppPort],
) -> Result<Decision<'a>, StatusCode> {
    let upgrade = request.validate_upgrade().map_err(|e| e.status())?;
    let mut path_known = false;
    let found = endpoints.iter().position(|ep| {
        if ep.port != port || ep.tls != tls || !path_matches(upgrade.path(), &ep.path) {
            return false;
        }
        path_known = true;
        host_matches(upgrade.host(), &ep.authority, tls)
    });
    let Some(index) = found else {
        return Err(if path_known {
            StatusCode::BAD_REQUEST
        } else {
            StatusCode::NOT_FOUND
        });
    };
    let endpoint = &endpoints[index];
    if let (Some(origin), Some(allowed)) = (upgrade.origin(), &endpoint.allowed_origins)
        && !allowed.iter().any(|a| origin_matches(origin, a))
    {
        return Err(StatusCode::FORBIDDEN);
    }
    if apps[usize::from(endpoint.app)].status.is_stopped() {
        return Err(StatusCode::SERVICE_UNAVAILABLE);
    }
    let deflate = endpoint
        .deflate
        .and_then(|settings| negotiate_deflate(upgrade.extensions(), &settings.policy()));
    let protocol = endpoint
        .subprotocols
        .iter()
        .position(|ours| upgrade.protocols().any(|offered| offered == ours));
    Ok(Decision {
        upgrade,
        endpoint: index,
        deflate,
        protocol,
    })
}

/// Writes the `101` to `out` for a decided request, or (for an app with an upgrade callback)
/// the encoded request for the app thread.
fn prepare(
    request: &Request<'_>,
    head_len: usize,
    decision: Decision<'_>,
    endpoints: &[Endpoint],
    out: &mut Vec<u8>,
) -> HeadOutcome {
    let endpoint = &endpoints[decision.endpoint];
    let picked = decision.protocol.map(|i| endpoint.subprotocols[i].as_str());
    let upgrade = &decision.upgrade;
    out.clear();
    if endpoint.upgrade_hook {
        let Ok(key) = <[u8; 24]>::try_from(upgrade.key().as_bytes()) else {
            return HeadOutcome::Reject(StatusCode::BAD_REQUEST);
        };
        let forwarded = request
            .headers()
            .iter()
            .filter(|h| {
                let is = |known: &str| h.name.eq_ignore_ascii_case(known.as_bytes());
                crate::config::FORWARDED_HEADERS.iter().any(|k| is(k))
                    || endpoint.upgrade_headers.iter().any(|k| is(k))
            })
            .map(|h| (h.name, h.value));
        UpgradeRequest::encode(
            request.target().as_bytes(),
            picked.map(str::as_bytes),
            forwarded,
            out,
        );
        return HeadOutcome::AskApp {
            head_len,
            pending: Box::new(PendingUpgrade {
                endpoint: decision.endpoint,
                key,
                deflate: decision.deflate,
            }),
        };
    }
    if write_101(
        upgrade.key().as_bytes(),
        picked,
        decision.deflate.as_ref(),
        out,
    )
    .is_err()
    {
        return HeadOutcome::Reject(StatusCode::INTERNAL_SERVER_ERROR);
    }
    HeadOutcome::Accept {
        endpoint: decision.endpoint,
        head_len,
        deflate: decision.deflate,
    }
}

/// The `101` for `key`, with the subprotocol and permessage-deflate's answer if agreed.
fn write_101(
    key: &[u8],
    protocol: Option<&str>,
    deflate: Option<&PerMessageDeflate>,
    out: &mut Vec<u8>,
) -> Result<(), ()> {
    let mut answer = Vec::new();
    if let Some(agreed) = deflate {
        agreed.write_response(&mut answer).map_err(|_| ())?;
    }
    let extension = [Header::new(b"Sec-WebSocket-Extensions", &answer)];
    let headers = if deflate.is_some() {
        &extension[..]
    } else {
        &[]
    };
    out.clear();
    write_accept_response(key, protocol, headers, out).map_err(|_| ())
}

/// The client a trusted HTTP proxy names: the last address of the last `X-Forwarded-For`
/// (the one the proxy in front appended; earlier ones are the client's own claims). A port
/// may follow it (`a.b.c.d:port`, `[v6]:port`); anything unparsable is ignored.
fn forwarded_for(request: &Request<'_>) -> Option<IpAddr> {
    let value = request.headers().get_all("x-forwarded-for").last()?;
    let last = std::str::from_utf8(value).ok()?.rsplit(',').next()?.trim();
    if let Ok(ip) = last.parse::<IpAddr>() {
        return Some(ip);
    }
    if let Ok(addr) = last.parse::<SocketAddr>() {
        return Some(addr.ip());
    }
    last.strip_prefix('[')?.split(']').next()?.parse().ok()
}
