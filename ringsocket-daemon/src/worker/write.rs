//! The write path: outbound records → clients, and each client's backpressure buffer.
//!
//! A worker drains each app's ring in batches. Every record of a batch is resolved to the
//! recipients this worker owns; the deliveries are grouped by client (a stable sort keeps each
//! client's order), and each client's group goes out in one vectored write straight from ring
//! memory. What the socket does not take is copied into that client's backlog, so the batch is
//! released right after and a slow client never holds ring space. A client whose backlog passes
//! `max_client_backlog` is closed with 1008 and its backlog dropped (but for the end of a frame
//! already partly written, so that the close frame still parses).

use std::io::IoSlice;

use app_abi::ClientId;
use app_abi::records::{Outbound, Recipients};
use rustix::io::Errno;
use ws_proto::CloseCode;

use super::conn::{Conn, Phase};
use super::{OUTBOUND_BATCHES_PER_TURN, Worker};
use crate::metrics::WorkerCounters;

/// The most buffers one `sendmsg` gathers (well below `IOV_MAX`, on the stack).
const MAX_IOV: usize = 64;

/// Deliveries up to this many bytes in all are copied into one buffer and sent as one piece:
/// the kernel's per-segment cost for many small frames exceeds the copy.
const COPY_GATHER_MAX: usize = 2048;

/// An empty vector with the allocation of `v` (emptied), for elements of another lifetime:
/// the worker's scratch vectors outlive the ring batches their elements borrow from. The
/// in-place `collect` of an empty iterator keeps the allocation (same size and alignment).
fn recycle<T, U>(mut v: Vec<T>) -> Vec<U> {
    v.clear();
    v.into_iter().map(|_| unreachable!()).collect()
}

/// One client's part of a batch: its slot, the position in the batch (to keep each client's
/// order through an unstable sort), and what to send.
pub(super) type Delivery<'a> = (u32, u32, Item<'a>);

/// What one record asks of one client.
#[derive(Debug, Clone, Copy)]
pub(super) enum Item<'a> {
    /// A complete server frame, from the batch's record number `record`.
    Frame { frame: &'a [u8], record: u32 },
    /// The same record compressed for this client: `arena[start..end]` of the worker's
    /// permessage-deflate scratch (see `compress.rs`).
    Compressed { start: u32, end: u32 },
    /// A close with the app's code.
    Close(u16),
    /// The app thread has handled everything the client sent before its close (or before
    /// the protocol error): the close frame the connection owes goes out now.
    Barrier,
}

impl Worker {
    /// Drains every app's outbound ring (at most a few batches each per turn).
    pub(super) fn drain_outbound(&mut self) {
        // Moved out for the loop, so that the batches' borrows leave the rest of the worker
        // free to use.
        let mut from_apps = std::mem::take(&mut self.from_apps);
        let batch_len = self.settings.outbound_batch;
        for (app, consumer) in from_apps.iter_mut().enumerate() {
            for _ in 0..OUTBOUND_BATCHES_PER_TURN {
                let batch = consumer.peek_batch(batch_len);
                if batch.is_empty() {
                    break;
                }
                let mut deliveries: Vec<Delivery<'_>> =
                    recycle(std::mem::take(&mut self.deliveries));
                for (record, bytes) in batch.iter().enumerate() {
                    match Outbound::decode(bytes) {
                        Ok(Outbound::Send { to, frame }) => {
                            let record = record as u32;
                            self.resolve(app, to, |slot| {
                                let order = deliveries.len() as u32;
                                deliveries.push((slot, order, Item::Frame { frame, record }));
                            });
                        }
                        Ok(Outbound::Close { client, code }) => {
                            if let Some(slot) = self.member(app, client) {
                                let order = deliveries.len() as u32;
                                deliveries.push((slot, order, Item::Close(code)));
                            }
                        }
                        Ok(Outbound::Subscribe { client, topic }) => {
                            if let Some(slot) = self.member(app, client) {
                                self.apps[app].topics.join(slot, topic);
                            }
                        }
                        Ok(Outbound::Unsubscribe { client, topic }) => {
                            if let Some(slot) = self.member(app, client) {
                                self.apps[app].topics.leave(slot, topic);
                            }
                        }
                        Ok(Outbound::Publish { topic, frame }) => {
                            let record = record as u32;
                            for slot in self.apps[app].topics.members(topic) {
                                let order = deliveries.len() as u32;
                                deliveries.push((slot, order, Item::Frame { frame, record }));
                            }
                        }
                        Ok(Outbound::Barrier { client }) => {
                            if let Some(slot) = self.member(app, client) {
                                let order = deliveries.len() as u32;
                                deliveries.push((slot, order, Item::Barrier));
                            }
                        }
                        Ok(Outbound::Answer {
                            client,
                            status,
                            protocol,
                            body,
                        }) => self.on_answer(app, client, status, protocol, body),
                        Err(e) => crate::log!(
                            Error,
                            "worker {}: skipping a bad outbound record: {e}",
                            self.index
                        ),
                    }
                }
                // By client, then in record order: an unstable sort needs no buffer (a stable
                // one allocates for a broadcast to a few hundred clients).
                deliveries.sort_unstable_by_key(|d| (d.0, d.1));
                if self.deflate.conns > 0 {
                    self.compress_deliveries(&mut deliveries, batch.len());
                }
                // Moved out while the groups borrow it (compressed frames live there).
                let arena = std::mem::take(&mut self.deflate.arena);
                for group in deliveries.chunk_by(|a, b| a.0 == b.0) {
                    self.deliver(app, group, &arena);
                }
                self.deflate.arena = arena;
                self.deliveries = recycle(deliveries);
                batch.release();
            }
            if let Some(counters) = self.counters.apps.get(app) {
                counters
                    .outbound_ring_capacity
                    .set(consumer.capacity() as u64);
                counters
                    .outbound_ring_used
                    .set(consumer.used_bytes() as u64);
            }
        }
        self.from_apps = from_apps;
        let subscriptions = self
            .apps
            .iter()
            .map(|a| a.topics.subscriptions())
            .sum::<usize>();
        self.counters.topic_subscriptions.set(subscriptions as u64);
    }

    /// The slot of `client` if it is a live WebSocket of `app` on this worker; stale ids
    /// (an earlier generation) and foreign ones are ignored.
    fn member(&self, app: usize, client: ClientId) -> Option<u32> {
        if client.worker() != self.index {
            return None;
        }
        let slot = client.slot();
        let entry = self.slots.get(slot as usize)?;
        if entry.generation != client.generation() {
            return None;
        }
        match &entry.conn.as_ref()?.phase {
            Phase::Ws { app: a, .. } if usize::from(*a) == app => Some(slot),
            _ => None,
        }
    }

    /// Calls `each` with the slot of every recipient of `to` among `app`'s clients here.
    fn resolve(&self, app: usize, to: Recipients<'_>, mut each: impl FnMut(u32)) {
        let every = |excluded: &dyn Fn(ClientId) -> bool, each: &mut dyn FnMut(u32)| {
            let Some(port) = self.apps.get(app) else {
                return;
            };
            for (_at, &slot) in port.members.iter().enumerate() {
                let Some(entry) = self.slots.get(slot as usize) else {
                    continue;
                };
                debug_assert!(
                    matches!(
                        entry.conn.as_ref().map(|c| &c.phase),
                        Some(Phase::Ws { app: a, member_at, .. })
                            if usize::from(*a) == app && *member_at as usize == _at
                    ),
                    "member {_at} (slot {slot}) of app {app} is not that member"
                );
                let id = ClientId::from_parts(entry.generation, self.index, slot);
                if id.is_some_and(|id| !excluded(id)) {
                    each(slot);
                }
            }
        };
        match to {
            Recipients::Single(id) => {
                if let Some(slot) = self.member(app, id) {
                    each(slot);
                }
            }
            Recipients::Multi(ids) => {
                for id in ids.iter() {
                    if let Some(slot) = self.member(app, id) {
                        each(slot);
                    }
                }
            }
            Recipients::Every => every(&|_| false, &mut each),
            Recipients::EveryExceptSingle(x) => every(&|id| id == x, &mut each),
            Recipients::EveryExceptMulti(ids) => every(&|id| ids.contains(id), &mut each),
        }
    }

    /// Sends one client everything a batch has for it, in order, in one vectored write.
    fn deliver(&mut self, app: usize, group: &[Delivery<'_>], arena: &[u8]) {
        let Some(&(slot, ..)) = group.first() else {
            return;
        };
        let now = self.ws_now();
        let Some(conn) = conn_in(&mut self.slots, slot) else {
            return;
        };
        let Phase::Ws { ws, .. } = &mut conn.phase else {
            return;
        };
        // Frames encoded by the app thread obey the engine's state too: nothing after a close
        // (but for the replies a connection that owes its close still gets first).
        if !ws.can_send_data() && !conn.close_owed {
            return;
        }
        let mut owed = Vec::new();
        let mut units: Vec<&[u8]> = recycle(std::mem::take(&mut self.units));
        let out = &mut self.out;
        out.clear();
        let mut closing = false;
        let (mut frames, mut bytes) = (0u64, 0u64);
        for (.., item) in group {
            match *item {
                Item::Frame { frame, .. } => {
                    units.push(frame);
                    frames += 1;
                    bytes += frame.len() as u64;
                }
                Item::Compressed { start, end } => {
                    let frame = &arena[start as usize..end as usize];
                    units.push(frame);
                    frames += 1;
                    bytes += frame.len() as u64;
                }
                Item::Barrier => {
                    if conn.close_owed {
                        conn.close_owed = false;
                        owed = conn.inbufs.take_pending();
                        closing = true;
                        break;
                    }
                }
                Item::Close(_) if conn.close_owed => {} // The owed close comes first anyway.
                Item::Close(code) => {
                    let code = CloseCode(code);
                    let code = if code.is_valid_on_wire() {
                        code
                    } else {
                        CloseCode::INTERNAL_ERROR
                    };
                    closing = ws.close(&self.settings.ws, now, code, "", out).is_ok();
                    if closing && conn.close_code == 0 {
                        conn.close_code = code.0;
                    }
                    break; // Nothing may follow a close frame.
                }
            }
        }
        if let Some(counters) = self.counters.apps.get(app) {
            counters.messages_out.add(frames);
            counters.bytes_out.add(bytes);
        }
        let out = std::mem::take(&mut self.out);
        if !out.is_empty() {
            units.push(&out);
        }
        if !owed.is_empty() {
            units.push(&owed);
        }
        self.write_to(slot, &units, true);
        self.units = recycle(units);
        self.out = out;
        if closing {
            self.after_ws_activity(slot);
        }
    }

    /// Writes `units` to the connection after whatever is pending, keeping the rest in its
    /// backlog. `frames`: the units are whole WebSocket frames (else: HTTP bytes). A failed
    /// write ends the connection; a backlog past the limit closes it with 1008.
    pub(super) fn write_to(&mut self, slot: u32, units: &[&[u8]], frames: bool) {
        let Some(conn) = conn_in(&mut self.slots, slot) else {
            return;
        };
        if conn.write_shut || units.iter().all(|u| u.is_empty()) {
            return;
        }
        let mut writes = 0;
        let result = if conn.backlog.is_empty() {
            send_units(conn, units, frames, &mut self.gathered, &mut writes)
        } else {
            for unit in units {
                push(conn, unit, frames);
            }
            flush(conn, &mut writes)
        };
        self.counters.writes.add(writes);
        sync_backlog(conn, &self.counters);
        let over = conn.backlog.len() > self.settings.max_client_backlog;
        if result.is_err() {
            self.end(slot);
        } else if over {
            self.overflow(slot);
        }
    }

    /// The socket is writable again: flush what the TLS session holds, then the backlog (and
    /// finish a close that waited for room).
    pub(super) fn on_writable(&mut self, slot: u32) {
        let Some(conn) = conn_in(&mut self.slots, slot) else {
            return;
        };
        if conn.backlog.is_empty() && !conn.transport.wants_write() {
            return;
        }
        let mut writes = 0;
        let result = flush(conn, &mut writes);
        self.counters.writes.add(writes);
        sync_backlog(conn, &self.counters);
        if result.is_err() {
            self.end(slot);
        }
    }

    /// The client fell more than `max_client_backlog` behind: drop its backlog and close it
    /// with 1008 (the close frame follows the one frame already partly written).
    fn overflow(&mut self, slot: u32) {
        self.counters.backlog_overflows.inc();
        let now = self.ws_now();
        let Some(conn) = conn_in(&mut self.slots, slot) else {
            return;
        };
        conn.backlog.drop_whole_frames();
        sync_backlog(conn, &self.counters);
        let Phase::Ws { ws, .. } = &mut conn.phase else {
            // Not a WebSocket any more (already closing): nothing more to say.
            self.end(slot);
            return;
        };
        if conn.close_code == 0 {
            conn.close_code = CloseCode::POLICY_VIOLATION.0;
        }
        self.out.clear();
        let closed = ws.close(
            &self.settings.ws,
            now,
            CloseCode::POLICY_VIOLATION,
            "",
            &mut self.out,
        );
        if closed.is_err() {
            self.end(slot);
            return;
        }
        conn.backlog.push_frames(&self.out);
        let mut writes = 0;
        let result = flush(conn, &mut writes);
        self.counters.writes.add(writes);
        sync_backlog(conn, &self.counters);
        if result.is_err() {
            self.end(slot);
            return;
        }
        self.after_ws_activity(slot);
    }
}

/// The connection in `slot`, borrowing only the slot table.
fn conn_in(slots: &mut [super::Slot], slot: u32) -> Option<&mut Conn> {
    slots.get_mut(slot as usize)?.conn.as_mut()
}

/// Brings the worker's backlog gauge up to date with this connection's backlog.
fn sync_backlog(conn: &mut Conn, counters: &WorkerCounters) {
    let now = conn.backlog.len();
    if now != conn.counted_backlog {
        let total = counters.backlog_bytes.get();
        let total = (total + now as u64).saturating_sub(conn.counted_backlog as u64);
        counters.backlog_bytes.set(total);
        conn.counted_backlog = now;
    }
}

fn push(conn: &mut Conn, unit: &[u8], frames: bool) {
    if frames {
        conn.backlog.push_frames(unit);
    } else {
        conn.backlog.push_unaligned(unit);
    }
}

/// Sends `units` (the backlog is empty) with as few `sendmsg` calls as the socket allows;
/// keeps the rest in the backlog.
fn send_units(
    conn: &mut Conn,
    units: &[&[u8]],
    frames: bool,
    gathered: &mut Vec<u8>,
    writes: &mut u64,
) -> Result<(), Errno> {
    let mut done = 0;
    while done < units.len() {
        let chunk = &units[done..units.len().min(done + MAX_IOV)];
        let want: usize = chunk.iter().map(|u| u.len()).sum();
        let mut iov = [IoSlice::new(&[]); MAX_IOV];
        let pieces = if chunk.len() > 1 && want <= COPY_GATHER_MAX {
            gathered.clear();
            for unit in chunk {
                gathered.extend_from_slice(unit);
            }
            iov[0] = IoSlice::new(gathered);
            1
        } else {
            for (slice, unit) in iov.iter_mut().zip(chunk) {
                *slice = IoSlice::new(unit);
            }
            chunk.len()
        };
        let sent = loop {
            match conn.transport.send_vectored(&iov[..pieces]) {
                Ok(n) => break n,
                Err(Errno::INTR) => continue,
                Err(Errno::AGAIN) => break 0,
                Err(e) => return Err(e),
            }
        };
        *writes += 1;
        if sent < want {
            // Keep the rest: the end of the unit the write stopped in, then whole units.
            let mut skip = sent;
            let mut k = done;
            while skip >= units[k].len() {
                skip -= units[k].len();
                k += 1;
            }
            if skip > 0 {
                conn.backlog.push_unaligned(&units[k][skip..]);
                k += 1;
            }
            for unit in &units[k..] {
                push(conn, unit, frames);
            }
            return Ok(());
        }
        done += chunk.len();
    }
    Ok(())
}

/// Writes the backlog until it is empty or the socket is full (TLS: the session's ciphertext
/// first); once a draining connection's backlog is out, sends FIN (TLS: `close_notify` first).
fn flush(conn: &mut Conn, writes: &mut u64) -> Result<(), Errno> {
    if conn.transport.wants_write() {
        *writes += 1;
        if !conn.transport.flush_pending()? {
            return Ok(());
        }
    }
    while !conn.backlog.is_empty() {
        match conn
            .transport
            .send_vectored(&[IoSlice::new(conn.backlog.pending())])
        {
            Ok(n) => {
                *writes += 1;
                conn.backlog.consume(n);
            }
            Err(Errno::INTR) => {}
            Err(Errno::AGAIN) => {
                *writes += 1;
                return Ok(());
            }
            Err(e) => return Err(e),
        }
    }
    if matches!(conn.phase, Phase::Draining) && !conn.write_shut {
        conn.write_shut = conn.transport.shutdown_write();
    }
    Ok(())
}
