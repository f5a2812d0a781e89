//! The read path: bytes from a socket → HTTP upgrade → WebSocket frames → inbound records.
//!
//! Every connection reads into the worker's one read buffer. Bytes left unprocessed at the end
//! (an unfinished HTTP head, a partial frame header or control frame) are copied into the
//! connection's `pending_in` and put back in front of the next read; a message arriving in
//! pieces goes into the connection's message buffer (ws-proto reassembles it there). Nothing
//! else costs a connection memory.

use app_abi::DataKind;
use app_abi::records::Inbound;
use ws_proto::handshake::extensions::{PerMessageDeflate, negotiate_deflate};
use ws_proto::handshake::{
    Header, Request, RequestStatus, StatusCode, host_matches, origin_matches, path_matches,
};
use ws_proto::{CloseCode, Connection, Event, Role};

use super::compress::ConnDeflate;
use super::conn::{Conn, Phase};
use super::transport::Input;
use super::{AppPort, Endpoint, READS_PER_TURN, Ready, Worker, push_inbound};
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
}

impl Worker {
    /// Reads until the socket is drained (edge-triggered epoll reports no more), or until the
    /// connection's share of this turn is used, when it goes on the ready list.
    pub(super) fn on_readable(&mut self, slot: u32) {
        let Some(generation) = self.slots.get(slot as usize).map(|s| s.generation) else {
            return;
        };
        for _ in 0..READS_PER_TURN {
            let Some(conn) = self.slots[slot as usize].conn.as_mut() else {
                return;
            };
            let draining = matches!(conn.phase, Phase::Draining);
            // Unprocessed bytes go back in front of the new ones once a read brought any.
            let kept = conn.inbufs.pending().len();
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
                    let (port, tls) = self.listener_info[usize::from(conn.listener)];
                    match decide(
                        &request,
                        port,
                        tls,
                        &self.endpoints,
                        &self.apps,
                        &mut self.out,
                    ) {
                        Ok((endpoint, deflate)) => HeadOutcome::Accept {
                            endpoint,
                            head_len: len,
                            deflate,
                        },
                        Err(status) => HeadOutcome::Reject(status),
                    }
                }
            },
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
        let app_counters = counters.apps.get(usize::from(*app));
        let app = &mut apps[usize::from(*app)];
        out.clear();
        let mut message = inbufs.take_message();
        let mut pos = start;
        let mut push_failed = false;
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

/// Validates the upgrade and picks the endpoint; on success the `101` is in `out`, with
/// permessage-deflate's answer when the endpoint compresses and the client offered it.
///
/// The endpoint is the one whose port, path and host (case-insensitive, default port optional)
/// all match exactly: no path on this port is 404, a known path with an unknown host 400.
/// A sent `Origin` must be allowed (403); an app that stopped answers 503.
fn decide(
    request: &Request<'_>,
    port: u16,
    tls: bool,
    endpoints: &[Endpoint],
    apps: &[AppPort],
    out: &mut Vec<u8>,
) -> Result<(usize, Option<PerMessageDeflate>), StatusCode> {
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
    let mut answer = Vec::new();
    if let Some(agreed) = &deflate {
        agreed
            .write_response(&mut answer)
            .map_err(|_| StatusCode::INTERNAL_SERVER_ERROR)?;
    }
    let extension = [Header::new(b"Sec-WebSocket-Extensions", &answer)];
    let headers = if deflate.is_some() {
        &extension[..]
    } else {
        &[]
    };
    out.clear();
    upgrade
        .write_accept(None, headers, out)
        .map_err(|_| StatusCode::INTERNAL_SERVER_ERROR)?;
    Ok((index, deflate))
}
