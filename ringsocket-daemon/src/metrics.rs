//! Counters for the admin listener's `/metrics` and `/health` (see `docs/operations.md`).
//!
//! Each worker owns one `WorkerCounters` and is its only writer: an increment is a `Relaxed`
//! load and store of the worker's own cache lines (no lock, no read-modify-write), and readers
//! (the admin thread) see each value as it was at some recent moment. Totals are summed over
//! the workers when a scrape asks, never on the serving path.

use std::fmt::Write as _;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use app_abi::host::AppStatus;

/// A counter or gauge with a single writer (its worker thread) and any number of readers.
#[derive(Debug, Default)]
pub(crate) struct Counter(AtomicU64);

impl Counter {
    /// Adds `n` (single writer: a plain load and store, `Relaxed`).
    #[inline]
    pub(crate) fn add(&self, n: u64) {
        let v = self.0.load(Ordering::Relaxed);
        self.0.store(v.wrapping_add(n), Ordering::Relaxed);
    }

    #[inline]
    pub(crate) fn inc(&self) {
        self.add(1);
    }

    /// Sets a gauge.
    #[inline]
    pub(crate) fn set(&self, n: u64) {
        self.0.store(n, Ordering::Relaxed);
    }

    #[inline]
    pub(crate) fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

/// One listener's connections on one worker.
#[derive(Debug, Default)]
pub(crate) struct ListenerCounters {
    /// Connections taken in (a slot and a transport).
    pub(crate) added: Counter,
    /// Of those, ended.
    pub(crate) ended: Counter,
}

/// One app's traffic on one worker.
#[derive(Debug, Default)]
pub(crate) struct AppCounters {
    /// WebSocket upgrades completed (open records).
    pub(crate) opened: Counter,
    /// Close records.
    pub(crate) closed: Counter,
    /// Messages passed to the app, and their payload bytes.
    pub(crate) messages_in: Counter,
    pub(crate) bytes_in: Counter,
    /// Frames handed to clients (one per recipient), and their bytes (headers included).
    pub(crate) messages_out: Counter,
    pub(crate) bytes_out: Counter,
    /// The size of the worker → app ring's current buffer (it grows under load).
    pub(crate) inbound_ring_capacity: Counter,
    /// The size of the app → worker ring's current buffer.
    pub(crate) outbound_ring_capacity: Counter,
    /// Bytes in the app → worker ring the worker has not released yet (after its last drain).
    pub(crate) outbound_ring_used: Counter,
}

/// Close codes counted one by one: 1000..=1015 and 4000..=4999; everything else is "other".
const CLOSE_SLOTS: usize = 16 + 1000 + 1;

fn close_slot(code: u16) -> usize {
    match code {
        1000..=1015 => usize::from(code - 1000),
        4000..=4999 => 16 + usize::from(code - 4000),
        _ => CLOSE_SLOTS - 1,
    }
}

fn slot_code(slot: usize) -> Option<u16> {
    match slot {
        0..16 => Some(1000 + slot as u16),
        16..1016 => Some(4000 + (slot - 16) as u16),
        _ => None,
    }
}

/// Everything one worker counts.
#[derive(Debug)]
pub(crate) struct WorkerCounters {
    pub(crate) accepted: Counter,
    pub(crate) refused: Counter,
    pub(crate) backlog_overflows: Counter,
    pub(crate) writes: Counter,
    /// TLS connections that ended before their TLS handshake completed (bad or plaintext
    /// ClientHello, no shared cipher or version, timeout, peer gone), shutdown aside.
    pub(crate) tls_handshake_failures: Counter,
    /// Upgrades an app's upgrade callback rejected, and those it did not answer in time.
    pub(crate) upgrade_rejections: Counter,
    pub(crate) upgrade_timeouts: Counter,
    /// Upgrade requests refused with 429 by `max_connections_per_ip` and by
    /// `max_handshakes_per_second_per_ip`; clients closed (1008) by `max_messages_per_second`.
    pub(crate) refused_per_ip: Counter,
    pub(crate) refused_handshake_rate: Counter,
    pub(crate) message_rate_closes: Counter,
    /// Topic subscriptions held by the worker's clients (gauge).
    pub(crate) topic_subscriptions: Counter,
    /// Bytes waiting in the clients' backlogs (gauge).
    pub(crate) backlog_bytes: Counter,
    /// permessage-deflate, outbound: payload bytes of the messages sent compressed, per
    /// recipient, before and after compression; and the compressions done (a broadcast to
    /// many clients without context takeover is one).
    pub(crate) deflate_out_before: Counter,
    pub(crate) deflate_out_after: Counter,
    pub(crate) deflate_compressions: Counter,
    /// Inbound: compressed messages' payload bytes inflated (before compression) and as
    /// received (after).
    pub(crate) deflate_in_before: Counter,
    pub(crate) deflate_in_after: Counter,
    pub(crate) listeners: Box<[ListenerCounters]>,
    pub(crate) apps: Box<[AppCounters]>,
    closes: Box<[Counter]>,
}

impl WorkerCounters {
    pub(crate) fn new(listeners: usize, apps: usize) -> Self {
        Self {
            accepted: Counter::default(),
            refused: Counter::default(),
            backlog_overflows: Counter::default(),
            writes: Counter::default(),
            tls_handshake_failures: Counter::default(),
            upgrade_rejections: Counter::default(),
            upgrade_timeouts: Counter::default(),
            refused_per_ip: Counter::default(),
            refused_handshake_rate: Counter::default(),
            message_rate_closes: Counter::default(),
            topic_subscriptions: Counter::default(),
            backlog_bytes: Counter::default(),
            deflate_out_before: Counter::default(),
            deflate_out_after: Counter::default(),
            deflate_compressions: Counter::default(),
            deflate_in_before: Counter::default(),
            deflate_in_after: Counter::default(),
            listeners: many(listeners),
            apps: many(apps),
            closes: many(CLOSE_SLOTS),
        }
    }

    /// A WebSocket ended with `code` (the first close code sent or received; 1006 when none
    /// was).
    #[inline]
    pub(crate) fn count_close(&self, code: u16) {
        self.closes[close_slot(code)].inc();
    }

    pub(crate) fn count_refusal(&self, refusal: crate::worker::Refusal) {
        match refusal {
            crate::worker::Refusal::Connections => self.refused_per_ip.inc(),
            crate::worker::Refusal::Handshakes => self.refused_handshake_rate.inc(),
        }
    }
}

fn many<T: Default>(n: usize) -> Box<[T]> {
    (0..n).map(|_| T::default()).collect()
}

/// One listener as the metrics name it.
#[derive(Debug, Clone)]
pub(crate) struct ListenerInfo {
    pub(crate) addr: SocketAddr,
    pub(crate) tls: bool,
}

#[derive(Debug)]
struct Inner {
    workers: Vec<Arc<WorkerCounters>>,
    listeners: Vec<ListenerInfo>,
    apps: Vec<(String, AppStatus)>,
}

/// A read-only view of a running server's counters, for the admin listener (and tests): see
/// [`Server::metrics`](crate::server::Server::metrics). Cheap to clone.
#[derive(Debug, Clone)]
pub struct Metrics {
    inner: Arc<Inner>,
}

/// Totals over every worker, for tests and logs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Totals {
    /// Connections accepted.
    pub accepted: u64,
    /// Connections open now.
    pub connections: u64,
    /// WebSocket upgrades.
    pub opened: u64,
    /// WebSockets ended.
    pub closed: u64,
    /// Messages to apps and their payload bytes.
    pub messages_in: u64,
    /// Payload bytes to apps.
    pub bytes_in: u64,
    /// Frames to clients.
    pub messages_out: u64,
    /// Frame bytes to clients.
    pub bytes_out: u64,
    /// Clients closed with 1008 for falling behind.
    pub slow_client_closes: u64,
    /// TLS handshakes that did not complete.
    pub tls_handshake_failures: u64,
    /// WebSocket ends by close code (1006: none was sent or received), ascending, with any
    /// code outside 1000..=1015 and 4000..=4999 counted last as code 0.
    pub closes: Vec<(u16, u64)>,
}

impl Metrics {
    pub(crate) fn new(
        workers: Vec<Arc<WorkerCounters>>,
        listeners: Vec<ListenerInfo>,
        apps: Vec<(String, AppStatus)>,
    ) -> Self {
        Self {
            inner: Arc::new(Inner {
                workers,
                listeners,
                apps,
            }),
        }
    }

    fn sum(&self, f: impl Fn(&WorkerCounters) -> u64) -> u64 {
        self.inner.workers.iter().map(|w| f(w)).sum()
    }

    /// Whether at least one app is still running (`/health`).
    pub fn healthy(&self) -> bool {
        self.inner.apps.iter().any(|(_, s)| !s.is_stopped())
    }

    /// Totals over every worker.
    pub fn totals(&self) -> Totals {
        let apps = |f: &dyn Fn(&AppCounters) -> u64| self.sum(|w| w.apps.iter().map(f).sum());
        let added = self.sum(|w| w.listeners.iter().map(|l| l.added.get()).sum());
        let ended = self.sum(|w| w.listeners.iter().map(|l| l.ended.get()).sum());
        let closes = (0..CLOSE_SLOTS)
            .filter_map(|slot| {
                let n = self.sum(|w| w.closes[slot].get());
                (n > 0).then_some((slot_code(slot).unwrap_or(0), n))
            })
            .collect();
        Totals {
            accepted: self.sum(|w| w.accepted.get()),
            connections: added.saturating_sub(ended),
            opened: apps(&|a| a.opened.get()),
            closed: apps(&|a| a.closed.get()),
            messages_in: apps(&|a| a.messages_in.get()),
            bytes_in: apps(&|a| a.bytes_in.get()),
            messages_out: apps(&|a| a.messages_out.get()),
            bytes_out: apps(&|a| a.bytes_out.get()),
            slow_client_closes: self.sum(|w| w.backlog_overflows.get()),
            tls_handshake_failures: self.sum(|w| w.tls_handshake_failures.get()),
            closes,
        }
    }

    /// The Prometheus text exposition (format 0.0.4) of every counter.
    pub fn render(&self) -> String {
        let mut out = String::with_capacity(4096);
        let family = |out: &mut String, name: &str, kind: &str, help: &str| {
            let _ = writeln!(
                out,
                "# HELP ringsocket_{name} {help}\n# TYPE ringsocket_{name} {kind}"
            );
        };
        let inner = &*self.inner;

        // Per port (listeners of the same port, e.g. IPv4 and IPv6, add up).
        let mut ports: Vec<(u16, bool)> = inner
            .listeners
            .iter()
            .map(|l| (l.addr.port(), l.tls))
            .collect();
        ports.sort_unstable();
        ports.dedup();
        let per_port = |port: u16, f: &dyn Fn(&ListenerCounters) -> u64| -> u64 {
            inner
                .listeners
                .iter()
                .enumerate()
                .filter(|(_, l)| l.addr.port() == port)
                .map(|(i, _)| self.sum(|w| w.listeners.get(i).map_or(0, f)))
                .sum()
        };
        family(
            &mut out,
            "port_connections",
            "gauge",
            "Connections open now (any phase), per listening port.",
        );
        for &(port, tls) in &ports {
            let n = per_port(port, &|l| l.added.get())
                .saturating_sub(per_port(port, &|l| l.ended.get()));
            let _ = writeln!(
                out,
                "ringsocket_port_connections{{port=\"{port}\",tls=\"{tls}\"}} {n}"
            );
        }
        family(
            &mut out,
            "port_connections_total",
            "counter",
            "Connections taken in, per listening port.",
        );
        for &(port, tls) in &ports {
            let n = per_port(port, &|l| l.added.get());
            let _ = writeln!(
                out,
                "ringsocket_port_connections_total{{port=\"{port}\",tls=\"{tls}\"}} {n}"
            );
        }

        // Per app.
        let app_family = |out: &mut String,
                          name: &str,
                          kind: &str,
                          help: &str,
                          f: &dyn Fn(&AppCounters) -> u64| {
            family(out, name, kind, help);
            for (i, (app, _)) in inner.apps.iter().enumerate() {
                let n = self.sum(|w| w.apps.get(i).map_or(0, f));
                let _ = writeln!(out, "ringsocket_{name}{{app=\"{}\"}} {n}", escape(app));
            }
        };
        app_family(
            &mut out,
            "app_connections",
            "gauge",
            "WebSocket clients open now, per app.",
            &|a| a.opened.get().saturating_sub(a.closed.get()),
        );
        app_family(
            &mut out,
            "app_connections_total",
            "counter",
            "WebSocket upgrades, per app.",
            &|a| a.opened.get(),
        );
        app_family(
            &mut out,
            "messages_in_total",
            "counter",
            "Messages passed to the app.",
            &|a| a.messages_in.get(),
        );
        app_family(
            &mut out,
            "bytes_in_total",
            "counter",
            "Payload bytes of the messages passed to the app.",
            &|a| a.bytes_in.get(),
        );
        app_family(
            &mut out,
            "messages_out_total",
            "counter",
            "Frames from the app handed to clients (one per recipient).",
            &|a| a.messages_out.get(),
        );
        app_family(
            &mut out,
            "bytes_out_total",
            "counter",
            "Bytes of the frames from the app handed to clients (headers included).",
            &|a| a.bytes_out.get(),
        );
        app_family(
            &mut out,
            "inbound_ring_capacity_bytes",
            "gauge",
            "Size of the worker-to-app rings' current buffers, summed over workers (they grow under load).",
            &|a| a.inbound_ring_capacity.get(),
        );
        app_family(
            &mut out,
            "outbound_ring_capacity_bytes",
            "gauge",
            "Size of the app-to-worker rings' current buffers, summed over workers.",
            &|a| a.outbound_ring_capacity.get(),
        );
        app_family(
            &mut out,
            "outbound_ring_used_bytes",
            "gauge",
            "Bytes in the app-to-worker rings not yet sent by the workers (records with headers), summed over workers.",
            &|a| a.outbound_ring_used.get(),
        );
        // Per app, from the app thread's own status.
        let status_family =
            |out: &mut String, name: &str, help: &str, f: &dyn Fn(&AppStatus) -> u64| {
                family(out, name, "gauge", help);
                for (app, status) in &inner.apps {
                    let _ = writeln!(
                        out,
                        "ringsocket_{name}{{app=\"{}\"}} {}",
                        escape(app),
                        f(status)
                    );
                }
            };
        status_family(
            &mut out,
            "app_running",
            "1 while the app runs, 0 once it stopped (a fatal error).",
            &|s| u64::from(!s.is_stopped()),
        );
        status_family(
            &mut out,
            "inbound_ring_used_bytes",
            "Bytes in the worker-to-app rings the app has not taken yet (records with headers), summed over workers.",
            &|s| s.stats().inbound_used_bytes,
        );

        // Closes by code.
        family(
            &mut out,
            "closes_total",
            "counter",
            "WebSockets ended, by the first close code sent or received (1006: none).",
        );
        for slot in 0..CLOSE_SLOTS {
            let n = self.sum(|w| w.closes[slot].get());
            let always = matches!(slot_code(slot), Some(1000 | 1001 | 1006 | 1008));
            if n > 0 || always {
                let code = slot_code(slot).map_or_else(|| "other".to_owned(), |c| c.to_string());
                let _ = writeln!(out, "ringsocket_closes_total{{code=\"{code}\"}} {n}");
            }
        }

        // Whole-server counters.
        let totals: [(&str, &str, &str, u64); 12] = [
            (
                "accepted_total",
                "counter",
                "Connections accepted.",
                self.sum(|w| w.accepted.get()),
            ),
            (
                "refused_total",
                "counter",
                "Connections refused over fd_alloc_c (503).",
                self.sum(|w| w.refused.get()),
            ),
            (
                "slow_client_closes_total",
                "counter",
                "Clients closed with 1008 for falling more than max_client_backlog behind.",
                self.sum(|w| w.backlog_overflows.get()),
            ),
            (
                "tls_handshake_failures_total",
                "counter",
                "TLS connections that ended before their handshake completed.",
                self.sum(|w| w.tls_handshake_failures.get()),
            ),
            (
                "upgrade_rejections_total",
                "counter",
                "Upgrade requests an app's upgrade callback rejected (its HTTP status).",
                self.sum(|w| w.upgrade_rejections.get()),
            ),
            (
                "upgrade_timeouts_total",
                "counter",
                "Upgrade requests an app's upgrade callback did not answer within handshake_wait (503).",
                self.sum(|w| w.upgrade_timeouts.get()),
            ),
            (
                "refused_per_ip_total",
                "counter",
                "Upgrade requests refused with 429 by max_connections_per_ip.",
                self.sum(|w| w.refused_per_ip.get()),
            ),
            (
                "refused_handshake_rate_total",
                "counter",
                "Upgrade requests refused with 429 by max_handshakes_per_second_per_ip.",
                self.sum(|w| w.refused_handshake_rate.get()),
            ),
            (
                "message_rate_closes_total",
                "counter",
                "Clients closed with 1008 by max_messages_per_second.",
                self.sum(|w| w.message_rate_closes.get()),
            ),
            (
                "topic_subscriptions",
                "gauge",
                "Topic subscriptions held by the clients.",
                self.sum(|w| w.topic_subscriptions.get()),
            ),
            (
                "client_backlog_bytes",
                "gauge",
                "Bytes waiting in slow clients' backlogs.",
                self.sum(|w| w.backlog_bytes.get()),
            ),
            (
                "writes_total",
                "counter",
                "Vectored socket writes.",
                self.sum(|w| w.writes.get()),
            ),
        ];
        for (name, kind, help, n) in totals {
            family(&mut out, name, kind, help);
            let _ = writeln!(out, "ringsocket_{name} {n}");
        }
        let deflate: [(&str, &str, u64, u64); 2] = [
            (
                "deflate_out_bytes_total",
                "Payload bytes of messages sent compressed (permessage-deflate), per recipient, before and after compression.",
                self.sum(|w| w.deflate_out_before.get()),
                self.sum(|w| w.deflate_out_after.get()),
            ),
            (
                "deflate_in_bytes_total",
                "Payload bytes of compressed messages received, as received (after) and inflated (before).",
                self.sum(|w| w.deflate_in_before.get()),
                self.sum(|w| w.deflate_in_after.get()),
            ),
        ];
        for (name, help, before, after) in deflate {
            family(&mut out, name, "counter", help);
            let _ = writeln!(out, "ringsocket_{name}{{stage=\"before\"}} {before}");
            let _ = writeln!(out, "ringsocket_{name}{{stage=\"after\"}} {after}");
        }
        family(
            &mut out,
            "deflate_compressions_total",
            "counter",
            "Messages compressed: once per worker for a broadcast to clients without context takeover.",
        );
        let _ = writeln!(
            out,
            "ringsocket_deflate_compressions_total {}",
            self.sum(|w| w.deflate_compressions.get())
        );
        family(&mut out, "workers", "gauge", "Worker threads.");
        let _ = writeln!(out, "ringsocket_workers {}", inner.workers.len());
        out
    }
}

/// A Prometheus label value: `\`, `"` and newlines escaped.
fn escape(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn close_codes_map_to_slots_and_back() {
        for code in [1000, 1001, 1006, 1008, 1015, 4000, 4900, 4999] {
            assert_eq!(slot_code(close_slot(code)), Some(code));
        }
        for code in [0, 999, 1016, 3000, 3999, 5000] {
            assert_eq!(close_slot(code), CLOSE_SLOTS - 1);
            assert_eq!(slot_code(close_slot(code)), None);
        }
    }

    #[test]
    fn renders_sums_over_workers() {
        let workers: Vec<_> = (0..2)
            .map(|_| Arc::new(WorkerCounters::new(2, 1)))
            .collect();
        for w in &workers {
            w.accepted.add(3);
            w.listeners[0].added.add(2);
            w.listeners[0].ended.inc();
            w.listeners[1].added.inc();
            w.apps[0].opened.add(2);
            w.apps[0].closed.inc();
            w.apps[0].bytes_in.add(10);
            w.count_close(1000);
            w.count_close(4321);
            w.count_close(3000);
        }
        let listeners = vec![
            ListenerInfo {
                addr: "127.0.0.1:8080".parse().unwrap(),
                tls: false,
            },
            ListenerInfo {
                addr: "[::1]:8080".parse().unwrap(),
                tls: false,
            },
        ];
        let metrics = Metrics::new(workers, listeners, Vec::new());
        let text = metrics.render();
        assert!(
            text.contains("ringsocket_port_connections{port=\"8080\",tls=\"false\"} 4\n"),
            "{text}"
        );
        assert!(
            text.contains("ringsocket_port_connections_total{port=\"8080\",tls=\"false\"} 6\n"),
            "{text}"
        );
        assert!(
            text.contains("ringsocket_closes_total{code=\"1000\"} 2\n"),
            "{text}"
        );
        assert!(
            text.contains("ringsocket_closes_total{code=\"4321\"} 2\n"),
            "{text}"
        );
        assert!(
            text.contains("ringsocket_closes_total{code=\"other\"} 2\n"),
            "{text}"
        );
        assert!(
            text.contains("ringsocket_closes_total{code=\"1008\"} 0\n"),
            "{text}"
        );
        assert!(text.contains("ringsocket_accepted_total 6\n"), "{text}");
        let totals = metrics.totals();
        assert_eq!(totals.connections, 4);
        assert_eq!(totals.closes, vec![(1000, 2), (4321, 2), (0, 2)]);
        assert!(!metrics.healthy(), "no app: not healthy");
    }

    #[test]
    fn escapes_label_values() {
        assert_eq!(escape("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
    }
}
