//! [`TestHost`]: an app under an [`AppRunner`] with simulated workers, for tests (until the
//! daemon exists, and for app authors' own unit tests).
//!
//! The simulated workers do what real ones will: hand out client ids (lowest free slot, a new
//! generation on every reuse), deliver each outbound record to the connections it names on
//! that worker, and answer a close record by ending the connection and reporting the close
//! back to the app.

use core::time::Duration;
use std::collections::BTreeMap;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;

use crate::abi::{ClientId, DataKind, Level};
use crate::conf::{AppConf, Conf, ConfView, EndpointConf, PortConf};
use crate::host::{App, AppRunner, AppStopped, HostSink, TimerMode};
use crate::records::{Inbound, Outbound, Recipients, UpgradeRequest, decode_server_frame};

/// The app's answer to an upgrade request ([`TestHost::upgrade`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UpgradeAnswer {
    /// Accepted: the client is connected (its open callback ran), with this subprotocol.
    Accepted {
        /// The new client.
        client: ClientId,
        /// The subprotocol accepted with, if any.
        protocol: Option<String>,
    },
    /// Rejected with an HTTP status and body.
    Rejected {
        /// The status.
        status: u16,
        /// The response body (empty: the reason phrase).
        body: Vec<u8>,
    },
}

/// A [`HostSink`] that keeps everything.
#[derive(Debug, Default)]
pub struct Recorder {
    /// Outbound records, with the worker each is for, in order.
    pub records: Vec<(u8, Vec<u8>)>,
    /// Log lines.
    pub logs: Vec<(Level, String)>,
}

impl HostSink for Recorder {
    fn push(&mut self, worker: u8, parts: &[&[u8]]) {
        self.records.push((worker, parts.concat()));
    }

    fn log(&mut self, level: Level, app: &str, msg: &str) {
        self.logs.push((level, format!("{app}: {msg}")));
    }
}

/// A message a simulated worker delivered to a client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Received {
    /// The recipient.
    pub client: ClientId,
    /// Text or binary.
    pub kind: DataKind,
    /// The payload.
    pub payload: Vec<u8>,
}

#[derive(Debug, Clone, Copy)]
struct Conn {
    endpoint_id: u16,
}

/// An app driven in-process: connect clients, send messages, advance time, and see what the
/// clients received and how they were closed.
#[derive(Debug)]
pub struct TestHost {
    runner: AppRunner<Recorder>,
    now_us: u64,
    worker_c: usize,
    next_worker: usize,
    /// Per worker, per slot: the slot's current generation, and whether it is in use.
    slots: Vec<Vec<(u32, bool)>>,
    conns: BTreeMap<ClientId, Conn>,
    received: Vec<Received>,
    closed: Vec<(ClientId, u16)>,
    /// Answers to upgrade requests: client, status, subprotocol, body.
    answers: Vec<(ClientId, u16, Vec<u8>, Vec<u8>)>,
    /// Barriers the app thread sent back.
    barriers: Vec<ClientId>,
    /// The workers' topic members: (worker, topic id) → clients.
    topics: BTreeMap<(u8, u32), std::collections::BTreeSet<ClientId>>,
    next_port: u16,
    app_name: String,
}

impl TestHost {
    /// A host for `app` with two workers and a default configuration: one app named `"test"`
    /// with endpoint 0 at `ws://localhost:8080/test`, log level debug. Runs the app's init.
    pub fn new(app: App) -> Self {
        Self::with_conf(app, Self::default_conf(), 0)
    }

    /// The configuration [`TestHost::new`] uses (tweak it and pass it to `with_conf`).
    pub fn default_conf() -> Conf {
        let mut app = AppConf::new("test", "");
        app.endpoints.push(EndpointConf {
            endpoint_id: 0,
            url: "ws://localhost:8080/test".into(),
            allowed_origins: Some(Vec::new()),
        });
        Conf {
            log_level: Level::Debug,
            worker_c: 2,
            ports: vec![PortConf {
                port_number: 8080,
                is_unencrypted: true,
                ..PortConf::default()
            }],
            apps: vec![app],
            ..Conf::default()
        }
    }

    /// A host for `app` as entry `app_i` of `conf` (`worker_c` 0 means 2). Runs the app's
    /// init; whether it stopped shows in [`is_stopped`](Self::is_stopped).
    ///
    /// # Panics
    /// When `conf` has a string with a NUL byte or `app_i` is out of range.
    pub fn with_conf(app: App, conf: Conf, app_i: usize) -> Self {
        let worker_c = if conf.worker_c == 0 {
            2
        } else {
            conf.worker_c as usize
        };
        let app_name = conf.apps[app_i].name.clone();
        let view = Arc::new(ConfView::new(&conf).expect("test configuration without NUL bytes"));
        let runner = AppRunner::new(app, view, app_i, worker_c, Recorder::default());
        let mut host = Self {
            runner,
            now_us: 0,
            worker_c,
            next_worker: 0,
            slots: vec![Vec::new(); worker_c],
            conns: BTreeMap::new(),
            received: Vec::new(),
            closed: Vec::new(),
            answers: Vec::new(),
            barriers: Vec::new(),
            topics: BTreeMap::new(),
            next_port: 40_000,
            app_name,
        };
        let _ = host.runner.init(0);
        host.pump();
        host
    }

    /// The runner.
    pub fn runner(&self) -> &AppRunner<Recorder> {
        &self.runner
    }

    /// Whether the app stopped after a fatal error.
    pub fn is_stopped(&self) -> bool {
        self.runner.is_stopped()
    }

    /// Log lines so far (`"app: message"`).
    pub fn logs(&self) -> &[(Level, String)] {
        &self.runner.sink().logs
    }

    /// Whether a log line contains `needle`.
    pub fn logged(&self, needle: &str) -> bool {
        self.logs().iter().any(|(_, line)| line.contains(needle))
    }

    /// The app's configured name.
    pub fn app_name(&self) -> &str {
        &self.app_name
    }

    /// Connects a client to endpoint 0 from 127.0.0.1.
    pub fn connect(&mut self) -> ClientId {
        let port = self.next_port;
        self.next_port = self.next_port.wrapping_add(1);
        self.connect_to(0, SocketAddr::from((Ipv4Addr::LOCALHOST, port)))
    }

    /// Connects a client to `endpoint_id` from `peer` (workers take turns).
    pub fn connect_to(&mut self, endpoint_id: u16, peer: SocketAddr) -> ClientId {
        let client = self.new_client_id();
        self.conns.insert(client, Conn { endpoint_id });
        self.deliver(Inbound::Open {
            client,
            endpoint_id,
            peer,
        });
        client
    }

    /// A client asks to upgrade to endpoint 0 from 127.0.0.1 with request target `target`
    /// (path and query), the endpoint's configured subprotocol pick `picked`, and the
    /// forwarded `headers`; the app's upgrade callback answers, and an accepted client is
    /// connected, as a worker would.
    pub fn upgrade(
        &mut self,
        target: &str,
        picked: Option<&str>,
        headers: &[(&str, &str)],
    ) -> UpgradeAnswer {
        self.upgrade_at(0, target, picked, headers)
    }

    /// [`upgrade`](Self::upgrade) to endpoint `endpoint_id`.
    pub fn upgrade_at(
        &mut self,
        endpoint_id: u16,
        target: &str,
        picked: Option<&str>,
        headers: &[(&str, &str)],
    ) -> UpgradeAnswer {
        let client = self.new_client_id();
        let port = self.next_port;
        self.next_port = self.next_port.wrapping_add(1);
        let peer = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
        let mut request = Vec::new();
        UpgradeRequest::encode(
            target.as_bytes(),
            picked.map(str::as_bytes),
            headers.iter().map(|(n, v)| (n.as_bytes(), v.as_bytes())),
            &mut request,
        );
        let request = UpgradeRequest::from_encoded(&request).expect("a valid encoding");
        self.deliver(Inbound::Upgrade {
            client,
            endpoint_id,
            peer,
            request,
        });
        let at = self
            .answers
            .iter()
            .position(|a| a.0 == client)
            .expect("the app thread answers every upgrade");
        let (_, status, protocol, body) = self.answers.remove(at);
        if status == 0 {
            self.conns.insert(client, Conn { endpoint_id });
            self.deliver(Inbound::Open {
                client,
                endpoint_id,
                peer,
            });
            UpgradeAnswer::Accepted {
                client,
                protocol: (!protocol.is_empty())
                    .then(|| String::from_utf8_lossy(&protocol).into_owned()),
            }
        } else {
            // The worker ends the upgrade with a close record.
            self.free_slot(client);
            self.deliver(Inbound::Close {
                client,
                endpoint_id,
            });
            UpgradeAnswer::Rejected { status, body }
        }
    }

    /// Barriers the app thread answered so far; clears them.
    pub fn take_barriers(&mut self) -> Vec<ClientId> {
        core::mem::take(&mut self.barriers)
    }

    fn new_client_id(&mut self) -> ClientId {
        let worker = self.next_worker;
        self.next_worker = (self.next_worker + 1) % self.worker_c;
        let slots = &mut self.slots[worker];
        let slot = match slots.iter().position(|(_, used)| !used) {
            Some(free) => free,
            None => {
                slots.push((0, false));
                slots.len() - 1
            }
        };
        let (generation, used) = &mut slots[slot];
        *generation += 1;
        *used = true;
        ClientId::from_parts(*generation, worker as u8, slot as u32)
            .expect("test host slot within 24 bits")
    }

    /// The client sends a message.
    pub fn send(&mut self, client: ClientId, kind: DataKind, payload: &[u8]) {
        let conn = self
            .conns
            .get(&client)
            .copied()
            .expect("send from a connected client");
        let record = Inbound::Read {
            client,
            endpoint_id: conn.endpoint_id,
            data_kind: kind,
            payload,
        };
        self.deliver(record);
    }

    /// The client sends a text message.
    pub fn send_text(&mut self, client: ClientId, text: &str) {
        self.send(client, DataKind::Text, text.as_bytes());
    }

    /// The client disconnects (or the worker drops it).
    pub fn disconnect(&mut self, client: ClientId) {
        if let Some(conn) = self.conns.remove(&client) {
            self.free_slot(client);
            self.deliver(Inbound::Close {
                client,
                endpoint_id: conn.endpoint_id,
            });
        }
    }

    /// Hands the app a raw record, as a worker would (e.g. a stale or bogus one).
    pub fn inject(&mut self, record: Inbound<'_>) {
        self.deliver(record);
    }

    /// Advances the clock; a due `wake` timer runs (a `sleep` timer runs with the next
    /// record, as the app is asleep meanwhile).
    pub fn advance(&mut self, by: Duration) {
        self.now_us = self.now_us.saturating_add(by.as_micros() as u64);
        if self.runner.timer_mode() == TimerMode::Wake {
            let _ = self.runner.run_timer(self.now_us);
            self.pump();
        }
    }

    /// Whether the client is still connected.
    pub fn is_connected(&self, client: ClientId) -> bool {
        self.conns.contains_key(&client)
    }

    /// Messages delivered so far, in order; clears them.
    pub fn take_received(&mut self) -> Vec<Received> {
        core::mem::take(&mut self.received)
    }

    /// Payloads `client` received so far, leaving the others'.
    pub fn take_received_by(&mut self, client: ClientId) -> Vec<(DataKind, Vec<u8>)> {
        let (mine, rest) = core::mem::take(&mut self.received)
            .into_iter()
            .partition::<Vec<_>, _>(|r| r.client == client);
        self.received = rest;
        mine.into_iter().map(|r| (r.kind, r.payload)).collect()
    }

    /// Connections the app closed, with their close codes, in order; clears them.
    pub fn take_closed(&mut self) -> Vec<(ClientId, u16)> {
        core::mem::take(&mut self.closed)
    }

    /// The ids of the topics `client` is a member of (as its worker sees it).
    pub fn topics_of(&self, client: ClientId) -> Vec<u32> {
        self.topics
            .iter()
            .filter(|(_, members)| members.contains(&client))
            .map(|((_, topic), _)| *topic)
            .collect()
    }

    fn free_slot(&mut self, client: ClientId) {
        // The connection is gone: its worker drops its topic memberships.
        self.topics.retain(|_, members| {
            members.remove(&client);
            !members.is_empty()
        });
        if let Some((_, used)) =
            self.slots[usize::from(client.worker())].get_mut(client.slot() as usize)
        {
            *used = false;
        }
    }

    fn deliver(&mut self, record: Inbound<'_>) {
        if self.runner.timer_mode() == TimerMode::Sleep {
            let _ = self.runner.run_timer(self.now_us);
        }
        let _: Result<(), AppStopped> = self.runner.handle(record);
        self.pump();
    }

    /// Plays the workers: delivers outbound records until none are left.
    fn pump(&mut self) {
        loop {
            let records = core::mem::take(&mut self.runner.sink_mut().records);
            if records.is_empty() {
                return;
            }
            for (worker, bytes) in records {
                match Outbound::decode(&bytes).expect("the runner wrote a well-formed record") {
                    Outbound::Send { to, frame } => {
                        let (kind, payload) = decode_server_frame(frame).expect("a valid frame");
                        let on_worker = |id: &ClientId| id.worker() == worker;
                        let recipients: Vec<ClientId> = self
                            .conns
                            .keys()
                            .copied()
                            .filter(on_worker)
                            .filter(|id| match to {
                                Recipients::Single(one) => *id == one,
                                Recipients::Multi(ids) => ids.contains(*id),
                                Recipients::Every => true,
                                Recipients::EveryExceptSingle(one) => *id != one,
                                Recipients::EveryExceptMulti(ids) => !ids.contains(*id),
                            })
                            .collect();
                        let named: Vec<ClientId> = match to {
                            Recipients::Single(one) | Recipients::EveryExceptSingle(one) => {
                                vec![one]
                            }
                            Recipients::Multi(ids) | Recipients::EveryExceptMulti(ids) => {
                                ids.iter().collect()
                            }
                            Recipients::Every => Vec::new(),
                        };
                        assert!(
                            named.iter().all(on_worker),
                            "record for worker {worker} names another worker's client: {to:?}"
                        );
                        for client in recipients {
                            self.received.push(Received {
                                client,
                                kind,
                                payload: payload.to_vec(),
                            });
                        }
                    }
                    Outbound::Close { client, code } => {
                        assert_eq!(client.worker(), worker, "close routed to the wrong worker");
                        if let Some(conn) = self.conns.remove(&client) {
                            self.closed.push((client, code));
                            self.free_slot(client);
                            let record = Inbound::Close {
                                client,
                                endpoint_id: conn.endpoint_id,
                            };
                            let _ = self.runner.handle(record);
                        }
                    }
                    Outbound::Answer {
                        client,
                        status,
                        protocol,
                        body,
                    } => {
                        assert_eq!(client.worker(), worker, "answer routed to the wrong worker");
                        self.answers
                            .push((client, status, protocol.to_vec(), body.to_vec()));
                    }
                    Outbound::Barrier { client } => {
                        assert_eq!(
                            client.worker(),
                            worker,
                            "barrier routed to the wrong worker"
                        );
                        self.barriers.push(client);
                    }
                    Outbound::Subscribe { client, topic } => {
                        assert_eq!(client.worker(), worker, "subscribe to the wrong worker");
                        if self.conns.contains_key(&client) {
                            self.topics
                                .entry((worker, topic))
                                .or_default()
                                .insert(client);
                        }
                    }
                    Outbound::Unsubscribe { client, topic } => {
                        assert_eq!(client.worker(), worker, "unsubscribe to the wrong worker");
                        if let Some(members) = self.topics.get_mut(&(worker, topic)) {
                            members.remove(&client);
                            if members.is_empty() {
                                self.topics.remove(&(worker, topic));
                            }
                        }
                    }
                    Outbound::Publish { topic, frame } => {
                        let (kind, payload) = decode_server_frame(frame).expect("a valid frame");
                        let members = self.topics.get(&(worker, topic)).cloned();
                        let members = members.unwrap_or_default();
                        assert!(
                            !members.is_empty(),
                            "a publish to worker {worker}, which has no member of topic {topic}"
                        );
                        for client in members {
                            self.received.push(Received {
                                client,
                                kind,
                                payload: payload.to_vec(),
                            });
                        }
                    }
                }
            }
        }
    }
}
