//! The serving core's entry point: [`ServerSpec`] (what to serve) and [`Server`] (serving it).
//!
//! [`Server::start`] binds one listener per worker per [`ListenerSpec`] (`SO_REUSEPORT`),
//! loads the apps, builds a ring pair between every worker and every app (inbound:
//! worker → app, outbound: app → worker), spawns one thread per app and `worker_c` worker
//! threads, and returns. [`Server::stop`] stops accepting, closes every WebSocket client with
//! 1001, waits up to `shutdown_wait_ws` for the closing handshakes, has the workers push
//! every close record, then stops the app threads (each handles what is left) and joins all.
//!
//! # TLS (`wss://` listeners)
//!
//! [`Server::start_with_certs`] builds one [`TlsContext`] from the certificates (a startup error
//! names the bad file) and gives every worker a clone; [`Server::reload_certs`] swaps the
//! certificates for new handshakes (SIGHUP), leaving established connections as they are.
//! A connection from a TLS listener runs the TLS handshake and then the HTTP upgrade and the
//! WebSocket exactly as a plain one, on the decrypted bytes; `handshake_wait` bounds both
//! together. Plaintext on a TLS port, or a TLS ClientHello on a plain port, is closed without
//! an answer (the client could not read one).
//!
//! The endpoint is chosen by the HTTP `Host` header, as for `ws://`; the SNI name only picks
//! the certificate and is not cross-checked with `Host`. Checking would refuse legitimate
//! clients (those connecting to an IP address send no SNI at all, and a client may validly
//! reach a name by a certificate that covers several), while it would protect nothing: every
//! endpoint of the port is served by this same process with the same certificates, and the
//! endpoint's own `Host` and `Origin` rules apply either way.

use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use crate::metrics::{ListenerInfo, Metrics, WorkerCounters};
use crate::tls::{CertSpec, ReloadReport, TlsContext, TlsError};
use app_abi::conf::{AppConf, Conf, ConfView, EndpointConf, PortConf};
use app_abi::host::{App, AppExit, AppStatus, AppThread, AppThreadHandle, LoadError, WorkerLink};
use futex_loop::{EventFdWaker, MonotonicClock, SleepGate, WorkerGate};

pub use crate::net::ListenerSpec;
use crate::net::{self, Listener};
pub use crate::worker::WorkerStats;
use crate::worker::{AppPort, Endpoint, Settings, Worker, WorkerInit};

/// Everything the serving core needs; the JSON configuration converts into this.
#[derive(Debug, Clone)]
pub struct ServerSpec {
    /// The addresses to listen on.
    pub listeners: Vec<ListenerSpec>,
    /// The apps and their endpoints.
    pub apps: Vec<AppSpec>,
    /// Worker threads (1..=256).
    pub worker_c: usize,
    /// Sizes and limits.
    pub limits: Limits,
    /// Timeouts.
    pub timeouts: Timeouts,
    /// The configuration apps read (`rs_get_conf`) when the spec comes from a configuration
    /// file ([`Config::to_app_conf`](crate::config::Config::to_app_conf)); `None` derives it
    /// from this spec, with the bound port numbers.
    pub app_conf: Option<Conf>,
}

/// One app.
#[derive(Debug, Clone)]
pub struct AppSpec {
    /// The app's name (its thread is `rs-app-NAME`).
    pub name: String,
    /// Where the app comes from.
    pub source: AppSource,
    /// Its endpoints.
    pub endpoints: Vec<EndpointSpec>,
    /// `no_open_cb`: the app thread skips the open callback.
    pub no_open_cb: bool,
    /// `no_close_cb`: the app thread skips the close callback.
    pub no_close_cb: bool,
}

/// Where an app comes from.
#[derive(Debug, Clone)]
pub enum AppSource {
    /// Already loaded (or linked in: [`App::from_static`]).
    Loaded(App),
    /// A shared object to load at startup.
    Path(PathBuf),
}

/// One endpoint: a WebSocket URL an app serves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EndpointSpec {
    /// `endpoint_id`, passed to the app with every record.
    pub id: u16,
    /// The host as clients name it (`Host`, compared case-insensitively; the scheme's default
    /// port may be omitted by the client).
    pub host: String,
    /// The port it is served on: a listener's port. 0: the ephemeral port of the first
    /// listener configured with port 0 (tests).
    pub port: u16,
    /// The path, exactly (no prefix matching), e.g. `/chat`.
    pub path: String,
    /// `None`: any `Origin`. `Some(list)`: a request that sends `Origin` must send one of
    /// these (`scheme://host[:port]`); an empty list admits only clients that send none.
    pub allowed_origins: Option<Vec<String>>,
}

/// Sizes and limits.
#[derive(Debug, Clone, PartialEq)]
pub struct Limits {
    /// Largest message payload (1009 beyond).
    pub max_ws_msg_size: u64,
    /// Largest frame chain of a fragmented message (1009 beyond).
    pub max_ws_frame_chain_size: u64,
    /// Each worker's read buffer (at least 16 KiB is used).
    pub worker_rbuf_size: usize,
    /// Initial size of each worker → app ring.
    pub inbound_ring_buf_size: usize,
    /// Initial size of each app → worker ring.
    pub outbound_ring_buf_size: usize,
    /// Ring growth factor (1.05..=4.0).
    pub realloc_multiplier: f64,
    /// Inbound ring publication batch (records between publications; workers also publish at
    /// the end of every turn).
    pub update_queue_size: u32,
    /// Bytes of pending output per client before it is closed with 1008.
    pub max_client_backlog: usize,
    /// Connections, over all workers; extra ones get a 503 and are closed at once.
    pub fd_alloc_c: u32,
    /// Events taken per `epoll_wait`.
    pub epoll_buf_elem_c: u32,
}

impl Default for Limits {
    /// The configuration's defaults.
    fn default() -> Self {
        Self {
            max_ws_msg_size: 16 << 20,
            max_ws_frame_chain_size: (16 << 20) + (16 << 20) / 10,
            worker_rbuf_size: 32 << 20,
            inbound_ring_buf_size: 64 << 20,
            outbound_ring_buf_size: 128 << 20,
            realloc_multiplier: 1.5,
            update_queue_size: 5,
            max_client_backlog: 8 << 20,
            fd_alloc_c: 4096,
            epoll_buf_elem_c: 100,
        }
    }
}

/// Timeouts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Timeouts {
    /// From accept to a complete upgrade request (then 408 and close), the TLS handshake
    /// included (a TLS client still in the handshake is just closed: it could not read a 408).
    pub handshake_wait: Duration,
    /// Silence after which the server pings (`None`: never).
    pub ping_interval: Option<Duration>,
    /// After a ping, how long to wait for any data before closing with 1011.
    pub pong_wait: Duration,
    /// After an HTTP error response, how long to wait for the client to close.
    pub shutdown_wait_http: Duration,
    /// After a close frame (ours or theirs), how long to wait for the closing handshake and
    /// the TCP close; also the shutdown's wait.
    pub shutdown_wait_ws: Duration,
}

impl Default for Timeouts {
    /// The configuration's defaults.
    fn default() -> Self {
        Self {
            handshake_wait: Duration::from_secs(10),
            ping_interval: Some(Duration::from_secs(30)),
            pong_wait: Duration::from_secs(10),
            shutdown_wait_http: Duration::from_secs(15),
            shutdown_wait_ws: Duration::from_secs(30),
        }
    }
}

/// Why the server did not start.
#[derive(Debug)]
#[non_exhaustive]
pub enum StartError {
    /// The spec is inconsistent.
    Invalid(String),
    /// A `wss` listener, but no certificates were given (see [`Server::start_with_certs`]).
    NoCertificates(SocketAddr),
    /// The certificates could not be loaded (the error names the file).
    Tls(TlsError),
    /// A listener could not be bound.
    Bind {
        /// The address.
        addr: SocketAddr,
        /// Why.
        source: io::Error,
    },
    /// An app could not be loaded.
    LoadApp(LoadError),
    /// Creating threads, epoll instances, eventfds or rings failed.
    Io(io::Error),
    /// The caller's setup before the first thread failed (e.g. the privilege drop).
    Setup(String),
}

impl fmt::Display for StartError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Invalid(why) => write!(f, "invalid server spec: {why}"),
            Self::NoCertificates(addr) => write!(
                f,
                "listener {addr} is TLS (wss), but no certificates are configured"
            ),
            Self::Tls(e) => write!(f, "TLS certificates: {e}"),
            Self::Bind { addr, source } => write!(f, "cannot listen on {addr}: {source}"),
            Self::LoadApp(e) => write!(f, "{e}"),
            Self::Io(e) => write!(f, "cannot start serving: {e}"),
            Self::Setup(why) => f.write_str(why),
        }
    }
}

impl std::error::Error for StartError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Bind { source, .. } => Some(source),
            Self::LoadApp(e) => Some(e),
            Self::Io(e) => Some(e),
            Self::Tls(e) => Some(e),
            _ => None,
        }
    }
}

impl From<io::Error> for StartError {
    fn from(e: io::Error) -> Self {
        Self::Io(e)
    }
}

/// What [`Server::stop`] reports.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ShutdownReport {
    /// Per worker.
    pub workers: Vec<WorkerStats>,
    /// Per app; `None` when its thread panicked.
    pub apps: Vec<Option<AppExit>>,
}

/// A running server; see the module docs.
#[derive(Debug)]
pub struct Server {
    workers: Vec<JoinHandle<WorkerStats>>,
    gates: Vec<Arc<WorkerGate<EventFdWaker>>>,
    apps: Vec<AppThreadHandle>,
    local_addrs: Vec<SocketAddr>,
    stop: Arc<AtomicBool>,
    /// The TLS context the workers share; `None` when started without certificates.
    tls: Option<TlsContext>,
    /// The workers' counters.
    metrics: Metrics,
}

/// The smallest read buffer used: room for a whole HTTP head (8 KiB) plus a read after it.
const MIN_RBUF: usize = 16 << 10;
/// Outbound records per batch.
const OUTBOUND_BATCH: usize = 256;

impl Server {
    /// Binds, loads and spawns everything, without certificates: a TLS listener is an error
    /// ([`StartError::NoCertificates`]). See the module docs.
    pub fn start(spec: ServerSpec) -> Result<Self, StartError> {
        Self::start_with_certs(spec, &[])
    }

    /// [`start`](Self::start), with the certificates of the TLS listeners (the first is the
    /// default one, for clients without SNI or with a name none covers). They are loaded
    /// once, before anything binds; with no TLS listener they are only checked.
    pub fn start_with_certs(spec: ServerSpec, certs: &[CertSpec]) -> Result<Self, StartError> {
        let tls = match certs {
            [] => None,
            certs => Some(TlsContext::new(certs).map_err(StartError::Tls)?),
        };
        Self::start_with_tls(spec, tls)
    }

    /// [`start`](Self::start) with a TLS context built beforehand (e.g. by a `--check` that
    /// loaded the certificates already); the server and its workers share it, so a
    /// [`TlsContext::reload`] on any clone reaches them too.
    pub fn start_with_tls(spec: ServerSpec, tls: Option<TlsContext>) -> Result<Self, StartError> {
        Self::start_with_setup(spec, tls, || Ok(()))
    }

    /// [`start_with_tls`](Self::start_with_tls), running `before_threads` after the
    /// listeners are bound and the apps loaded but before the first thread is spawned: the
    /// daemon drops its privileges and detaches there, because credential and capability
    /// changes only affect the calling thread and `fork` keeps only the calling thread.
    pub fn start_with_setup(
        spec: ServerSpec,
        tls: Option<TlsContext>,
        before_threads: impl FnOnce() -> Result<(), String>,
    ) -> Result<Self, StartError> {
        let worker_c = spec.worker_c;
        if !(1..=256).contains(&worker_c) {
            return Err(StartError::Invalid(format!(
                "worker_c is {worker_c}, not 1..=256"
            )));
        }
        if spec.listeners.is_empty() {
            return Err(StartError::Invalid("no listeners".into()));
        }
        if spec.apps.len() > usize::from(u16::MAX) {
            return Err(StartError::Invalid("more than 65535 apps".into()));
        }
        if tls.is_none()
            && let Some(l) = spec.listeners.iter().find(|l| l.tls)
        {
            return Err(StartError::NoCertificates(SocketAddr::new(l.addr, l.port)));
        }

        // Listeners: worker 0's first, so that port 0 resolves once for all workers.
        let mut per_worker: Vec<Vec<Listener>> = (0..worker_c).map(|_| Vec::new()).collect();
        let mut local_addrs = Vec::new();
        let mut ephemeral_port = None;
        for l in &spec.listeners {
            let mut port = l.port;
            for listeners in &mut per_worker {
                let addr = SocketAddr::new(l.addr, port);
                let bound = net::bind_listener(l, port)
                    .map_err(|source| StartError::Bind { addr, source })?;
                port = bound.local.port();
                listeners.push(bound);
            }
            local_addrs.push(SocketAddr::new(l.addr, port));
            if l.port == 0 && ephemeral_port.is_none() {
                ephemeral_port = Some(port);
            }
        }
        let tls_of_port = |port: u16| {
            local_addrs
                .iter()
                .zip(&spec.listeners)
                .find(|(a, _)| a.port() == port)
                .map(|(_, l)| l.tls)
        };

        let mut endpoints = Vec::new();
        for (app_i, app) in spec.apps.iter().enumerate() {
            for ep in &app.endpoints {
                let port = match ep.port {
                    0 => ephemeral_port.ok_or_else(|| {
                        StartError::Invalid(format!(
                            "app {}: endpoint {} has port 0 but no listener does",
                            app.name, ep.id
                        ))
                    })?,
                    port => port,
                };
                let tls = tls_of_port(port).ok_or_else(|| {
                    StartError::Invalid(format!(
                        "app {}: endpoint {} is on port {port}, which no listener has",
                        app.name, ep.id
                    ))
                })?;
                endpoints.push(Endpoint {
                    app: app_i as u16,
                    id: ep.id,
                    authority: format!("{}:{port}", ep.host),
                    port,
                    tls,
                    path: ep.path.clone(),
                    allowed_origins: ep.allowed_origins.clone(),
                });
            }
        }
        let endpoints: Arc<[Endpoint]> = endpoints.into();

        let conf = match &spec.app_conf {
            Some(conf) => ConfView::new(conf).map(Arc::new).map_err(nul_in_conf)?,
            None => conf_view(&spec, &local_addrs, &endpoints)?,
        };
        let mut apps = Vec::new();
        for app in &spec.apps {
            apps.push(match &app.source {
                AppSource::Loaded(app) => app.clone(),
                AppSource::Path(path) => App::load(path).map_err(StartError::LoadApp)?,
            });
        }

        let limits = &spec.limits;
        let timeouts = &spec.timeouts;
        let gates = (0..worker_c)
            .map(|_| EventFdWaker::new().map(|w| Arc::new(WorkerGate::new(w))))
            .collect::<io::Result<Vec<_>>>()?;
        let ring_error = |e: ring_spsc::Error| StartError::Io(io::Error::other(e.to_string()));
        let max_inbound_record = usize::try_from(limits.max_ws_msg_size)
            .unwrap_or(usize::MAX)
            .saturating_add(app_abi::records::INBOUND_HEADER_LEN + 32)
            .min(ring_spsc::MAX_RECORD_LEN_LIMIT);
        let inbound_conf = ring_spsc::Config::new(limits.inbound_ring_buf_size)
            .with_realloc_multiplier(limits.realloc_multiplier)
            .with_publish_every(limits.update_queue_size.max(1) as usize)
            .with_max_record_len(max_inbound_record);
        let outbound_conf = ring_spsc::Config::new(limits.outbound_ring_buf_size)
            .with_realloc_multiplier(limits.realloc_multiplier);

        // Per worker: its app ports and outbound consumers, filled app by app.
        let mut worker_apps: Vec<Vec<AppPort>> = (0..worker_c).map(|_| Vec::new()).collect();
        let mut worker_from_apps: Vec<Vec<ring_spsc::Consumer>> =
            (0..worker_c).map(|_| Vec::new()).collect();
        let mut app_handles = Vec::new();
        let mut app_parts = Vec::new();
        for app in apps {
            let gate = Arc::new(SleepGate::new());
            let (mut inbound, mut links, mut producers) = (Vec::new(), Vec::new(), Vec::new());
            for (w, worker_gate) in gates.iter().enumerate() {
                let (to_app, from_worker) =
                    ring_spsc::channel(inbound_conf.clone()).map_err(ring_error)?;
                let (to_worker, from_app) =
                    ring_spsc::channel(outbound_conf.clone()).map_err(ring_error)?;
                inbound.push(from_worker);
                links.push(WorkerLink::new(to_worker, worker_gate.clone()));
                producers.push(to_app);
                worker_from_apps[w].push(from_app);
            }
            app_parts.push((app, inbound, links, gate, producers));
        }
        before_threads().map_err(StartError::Setup)?;
        for (app_i, (app, inbound, links, gate, producers)) in app_parts.into_iter().enumerate() {
            let handle = AppThread::new(
                app,
                conf.clone(),
                app_i,
                inbound,
                links,
                gate.clone(),
                Arc::new(MonotonicClock),
            )
            .spawn()?;
            for (w, to_app) in producers.into_iter().enumerate() {
                worker_apps[w].push(AppPort {
                    to_app,
                    gate: gate.clone(),
                    status: handle.status().clone(),
                    dirty: false,
                    members: Vec::new(),
                });
            }
            app_handles.push(handle);
        }

        let settings = Arc::new(Settings {
            ws: ws_proto::Config {
                max_message_size: limits.max_ws_msg_size,
                max_frame_chain_size: limits.max_ws_frame_chain_size,
                ping_interval: timeouts.ping_interval,
                pong_wait: timeouts.pong_wait,
                close_timeout: timeouts.shutdown_wait_ws,
            },
            rbuf_size: limits.worker_rbuf_size.max(MIN_RBUF),
            max_client_backlog: limits.max_client_backlog,
            max_conns: (limits.fd_alloc_c as usize / worker_c).max(1),
            epoll_events: limits.epoll_buf_elem_c as usize,
            handshake_wait: timeouts.handshake_wait,
            shutdown_wait_http: timeouts.shutdown_wait_http,
            shutdown_wait_ws: timeouts.shutdown_wait_ws,
            outbound_batch: OUTBOUND_BATCH,
        });
        let stop = Arc::new(AtomicBool::new(false));
        let counters: Vec<Arc<WorkerCounters>> = (0..worker_c)
            .map(|_| Arc::new(WorkerCounters::new(spec.listeners.len(), spec.apps.len())))
            .collect();
        let metrics = Metrics::new(
            counters.clone(),
            spec.listeners
                .iter()
                .zip(&local_addrs)
                .map(|(l, &addr)| ListenerInfo { addr, tls: l.tls })
                .collect(),
            spec.apps
                .iter()
                .zip(&app_handles)
                .map(|(app, handle)| (app.name.clone(), handle.status().clone()))
                .collect(),
        );
        let mut server = Self {
            workers: Vec::new(),
            gates: gates.clone(),
            apps: app_handles,
            local_addrs,
            stop: stop.clone(),
            tls: tls.clone(),
            metrics,
        };
        let parts = per_worker
            .into_iter()
            .zip(worker_apps)
            .zip(worker_from_apps)
            .enumerate();
        for (index, ((listeners, apps), from_apps)) in parts {
            // Only workers with a TLS listener need it (every worker has every listener).
            let worker_tls = tls.clone().filter(|_| listeners.iter().any(|l| l.tls));
            let init = WorkerInit {
                index: index as u8,
                listeners,
                gate: gates[index].clone(),
                apps,
                from_apps,
                endpoints: endpoints.clone(),
                settings: settings.clone(),
                stop: stop.clone(),
                tls: worker_tls,
                counters: counters[index].clone(),
            };
            // On failure, `server` drops: the workers spawned so far and the apps stop.
            let worker = Worker::new(init)?;
            let thread = std::thread::Builder::new()
                .name(format!("rs-worker-{index}"))
                .spawn(move || worker.run())?;
            server.workers.push(thread);
        }
        Ok(server)
    }

    /// The listeners' addresses, one per [`ListenerSpec`] in order, with the real port where
    /// the spec said 0.
    pub fn local_addrs(&self) -> &[SocketAddr] {
        &self.local_addrs
    }

    /// Loads `certs` and, only if every one loads, makes them the certificates of new TLS
    /// handshakes on every worker (SIGHUP). Established connections keep theirs; on error the
    /// current certificates stay. Started without certificates, the server has no TLS listener:
    /// the certificates are only checked, and the report is empty.
    pub fn reload_certs(&self, certs: &[CertSpec]) -> Result<ReloadReport, TlsError> {
        match &self.tls {
            Some(tls) => tls.reload(certs),
            None if certs.is_empty() => Ok(ReloadReport::default()),
            None => TlsContext::new(certs).map(|_| ReloadReport::default()),
        }
    }

    /// The live counters of every worker, for `/metrics` and `/health` (see
    /// [`crate::admin`]).
    pub fn metrics(&self) -> Metrics {
        self.metrics.clone()
    }

    /// The TLS context the workers share (`None`: started without certificates).
    pub fn tls_context(&self) -> Option<&TlsContext> {
        self.tls.as_ref()
    }

    /// App `i`'s status (e.g. whether it stopped after a fatal error).
    pub fn app_status(&self, i: usize) -> Option<&AppStatus> {
        self.apps.get(i).map(|h| h.status())
    }

    /// Asks the workers to shut down without waiting; [`stop`](Self::stop) waits.
    pub fn request_stop(&self) {
        // Release: pairs with the workers' Acquire loads of the flag.
        self.stop.store(true, Ordering::Release);
        for gate in &self.gates {
            gate.signal().wake();
        }
    }

    /// Shuts down (see the module docs) and waits for every thread.
    pub fn stop(mut self) -> ShutdownReport {
        self.shut_down()
    }

    fn shut_down(&mut self) -> ShutdownReport {
        self.request_stop();
        let workers = self
            .workers
            .drain(..)
            .map(|t| t.join().unwrap_or_default())
            .collect();
        // Every worker pushed its close records before returning: the apps see them all.
        let apps = self.apps.drain(..).map(|h| h.stop().ok()).collect();
        ShutdownReport { workers, apps }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if !self.workers.is_empty() || !self.apps.is_empty() {
            self.shut_down();
        }
    }
}

/// The configuration view apps read (`rs_get_conf`), built from the spec.
fn conf_view(
    spec: &ServerSpec,
    local_addrs: &[SocketAddr],
    endpoints: &[Endpoint],
) -> Result<Arc<ConfView>, StartError> {
    let limits = &spec.limits;
    let secs = |d: Duration| u32::try_from(d.as_secs()).unwrap_or(u32::MAX);
    let ports = spec
        .listeners
        .iter()
        .zip(local_addrs)
        .map(|(l, addr)| PortConf {
            port_number: addr.port(),
            is_unencrypted: !l.tls,
            ip_addrs: vec![l.addr.to_string()],
            interface: l.interface.clone(),
            ipv4only: l.addr.is_ipv4(),
            ipv6only: l.addr.is_ipv6() && l.ipv6_only,
            ipv4_is_embedded_in_ipv6: l.addr.is_ipv6() && !l.ipv6_only,
        })
        .collect();
    let apps = spec
        .apps
        .iter()
        .enumerate()
        .map(|(i, app)| {
            let mut conf = AppConf::new(
                app.name.clone(),
                match &app.source {
                    AppSource::Loaded(loaded) => loaded.source().to_owned(),
                    AppSource::Path(path) => path.display().to_string(),
                },
            );
            conf.no_open_cb = app.no_open_cb;
            conf.no_close_cb = app.no_close_cb;
            conf.endpoints = endpoints
                .iter()
                .filter(|ep| usize::from(ep.app) == i)
                .map(|ep| EndpointConf {
                    endpoint_id: ep.id,
                    url: format!(
                        "{}://{}{}",
                        if ep.tls { "wss" } else { "ws" },
                        ep.authority,
                        ep.path
                    ),
                    allowed_origins: ep.allowed_origins.clone(),
                })
                .collect();
            conf
        })
        .collect();
    let conf = Conf {
        worker_c: spec.worker_c as u32,
        fd_alloc_c: limits.fd_alloc_c,
        max_ws_msg_size: limits.max_ws_msg_size,
        max_ws_frame_chain_size: limits.max_ws_frame_chain_size,
        realloc_multiplier: limits.realloc_multiplier,
        worker_rbuf_size: limits.worker_rbuf_size as u64,
        inbound_ring_buf_size: limits.inbound_ring_buf_size as u64,
        outbound_ring_buf_size: limits.outbound_ring_buf_size as u64,
        epoll_buf_elem_c: limits.epoll_buf_elem_c,
        update_queue_size: limits.update_queue_size,
        shutdown_wait_http: secs(spec.timeouts.shutdown_wait_http),
        shutdown_wait_ws: secs(spec.timeouts.shutdown_wait_ws),
        // A spec built in code switches no user and logs no syslog of its own.
        user: String::new(),
        max_client_backlog: limits.max_client_backlog as u64,
        handshake_wait: secs(spec.timeouts.handshake_wait),
        ping_interval: spec.timeouts.ping_interval.map_or(0, secs),
        pong_wait: secs(spec.timeouts.pong_wait),
        ports,
        apps,
        ..Conf::default()
    };
    ConfView::new(&conf).map(Arc::new).map_err(nul_in_conf)
}

fn nul_in_conf(e: std::ffi::NulError) -> StartError {
    StartError::Invalid(format!("a name or URL holds a NUL byte: {e}"))
}
