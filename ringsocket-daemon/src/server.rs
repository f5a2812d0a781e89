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

use std::ffi::NulError;
use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;

use crate::metrics::{ListenerInfo, Metrics, WorkerCounters};
use crate::process::ProcessError;
use crate::tls::{CertSpec, ReloadReport, TlsContext, TlsError};
use app_abi::conf::{Conf, ConfView};
use app_abi::host::{App, AppExit, AppStatus, AppThread, AppThreadHandle, LoadError, WorkerLink};
use futex_loop::{EventFdWaker, MonotonicClock, SleepGate, WorkerGate};

use crate::net::{self, Listener};
pub use crate::net::{ClientAddrSource, ListenerSpec};
pub use crate::settings::Settings;
pub use crate::worker::WorkerStats;
use crate::worker::{AppPort, Endpoint, Settings as WorkerSettings, Worker, WorkerInit};

/// Everything the serving core needs; the JSON configuration converts into this
/// ([`crate::convert::server_spec`]).
#[derive(Debug, Clone)]
pub struct ServerSpec {
    /// The addresses to listen on.
    pub listeners: Vec<ListenerSpec>,
    /// The apps and their endpoints.
    pub apps: Vec<AppSpec>,
    /// Worker threads (1..=256).
    pub worker_c: usize,
    /// Sizes, limits and timeouts: the configuration's global keys ([`Settings::default`] is
    /// the configuration's defaults). `worker_c` above is the resolved count; `user` and
    /// `syslog_path` are the process setup's, not the serving core's.
    pub settings: Settings,
    /// The configuration apps read (`rs_get_conf`) when the spec comes from a configuration
    /// file ([`crate::convert::app_conf`]); `None` derives it from this spec, with the bound
    /// port numbers.
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
#[derive(Debug, Clone, PartialEq, Eq, Default)]
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
    /// permessage-deflate on this endpoint (`enabled: false`: every offer is declined).
    pub permessage_deflate: crate::settings::Compression,
    /// Subprotocols in the server's order of preference: the first the client offers is
    /// accepted (the app's upgrade callback may choose another it offers).
    pub subprotocols: Vec<String>,
    /// Request headers the upgrade callback sees besides the standard ones, lowercase.
    pub upgrade_headers: Vec<String>,
}

/// Why the server did not start.
#[derive(Debug)]
#[non_exhaustive]
pub enum StartError {
    /// `worker_c` is not 1..=256.
    WorkerCount(usize),
    /// The spec has no listener.
    NoListeners,
    /// More apps than app indexes (65535).
    TooManyApps(usize),
    /// An endpoint's port is no listener's (or it asks for the ephemeral port, 0, and no
    /// listener was given port 0).
    EndpointPort {
        /// The app's name.
        app: String,
        /// The endpoint's id.
        endpoint: u16,
        /// Its port.
        port: u16,
    },
    /// A name, path or URL apps would read holds a NUL byte, which C cannot see.
    NulInConf(NulError),
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
    /// The caller's setup before the first thread failed (the privilege drop, detaching).
    Setup(ProcessError),
}

impl fmt::Display for StartError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::WorkerCount(n) => write!(f, "invalid server spec: worker_c is {n}, not 1..=256"),
            Self::NoListeners => f.write_str("invalid server spec: no listeners"),
            Self::TooManyApps(n) => write!(f, "invalid server spec: {n} apps, more than 65535"),
            Self::EndpointPort {
                app,
                endpoint,
                port: 0,
            } => write!(
                f,
                "invalid server spec: app {app}: endpoint {endpoint} has port 0 but no listener does"
            ),
            Self::EndpointPort {
                app,
                endpoint,
                port,
            } => write!(
                f,
                "invalid server spec: app {app}: endpoint {endpoint} is on port {port}, which no listener has"
            ),
            Self::NulInConf(e) => write!(
                f,
                "invalid server spec: a name or URL holds a NUL byte: {e}"
            ),
            Self::NoCertificates(addr) => write!(
                f,
                "listener {addr} is TLS (wss), but no certificates are configured"
            ),
            Self::Tls(e) => write!(f, "TLS certificates: {e}"),
            Self::Bind { addr, source } => write!(f, "cannot listen on {addr}: {source}"),
            Self::LoadApp(e) => write!(f, "{e}"),
            Self::Io(e) => write!(f, "cannot start serving: {e}"),
            Self::Setup(e) => write!(f, "{e}"),
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
            Self::NulInConf(e) => Some(e),
            Self::Setup(e) => Some(e),
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
        before_threads: impl FnOnce() -> Result<(), ProcessError>,
    ) -> Result<Self, StartError> {
        check_spec(&spec, tls.is_some())?;
        let bound = bind_listeners(&spec)?;
        let endpoints = resolve_endpoints(&spec, &bound)?;
        let conf = match &spec.app_conf {
            Some(conf) => conf.clone(),
            None => crate::convert::app_conf_of_spec(&spec, &bound.local_addrs, &endpoints),
        };
        let conf = Arc::new(ConfView::new(&conf).map_err(StartError::NulInConf)?);
        let apps = load_apps(&spec)?;
        // Only now is it known which apps answer upgrades themselves.
        let endpoints: Arc<[Endpoint]> = endpoints
            .iter()
            .map(|ep| Endpoint {
                upgrade_hook: apps[usize::from(ep.app)].descriptor().upgrade.is_some(),
                ..ep.clone()
            })
            .collect();
        let gates = (0..spec.worker_c)
            .map(|_| EventFdWaker::new().map(|w| Arc::new(WorkerGate::new(w))))
            .collect::<io::Result<Vec<_>>>()?;
        let (app_rings, from_apps) = build_rings(&spec.settings, apps, &gates)?;
        before_threads().map_err(StartError::Setup)?;
        let (app_handles, worker_apps) = spawn_app_threads(app_rings, &conf, spec.worker_c)?;

        let stop = Arc::new(AtomicBool::new(false));
        let counters: Vec<Arc<WorkerCounters>> = (0..spec.worker_c)
            .map(|_| Arc::new(WorkerCounters::new(spec.listeners.len(), spec.apps.len())))
            .collect();
        let metrics = Metrics::new(
            counters.clone(),
            spec.listeners
                .iter()
                .zip(&bound.local_addrs)
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
            local_addrs: bound.local_addrs,
            stop: stop.clone(),
            tls: tls.clone(),
            metrics,
        };
        let settings = Arc::new(worker_settings(&spec.settings));
        let limits = Arc::new(crate::worker::Limits::new(&spec.settings));
        let parts = bound
            .per_worker
            .into_iter()
            .zip(worker_apps)
            .zip(from_apps)
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
                limits: limits.clone(),
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

/// The rules [`ServerSpec`] cannot express in its types.
fn check_spec(spec: &ServerSpec, has_certs: bool) -> Result<(), StartError> {
    if !(1..=256).contains(&spec.worker_c) {
        return Err(StartError::WorkerCount(spec.worker_c));
    }
    if spec.listeners.is_empty() {
        return Err(StartError::NoListeners);
    }
    if spec.apps.len() > usize::from(u16::MAX) {
        return Err(StartError::TooManyApps(spec.apps.len()));
    }
    if !has_certs && let Some(l) = spec.listeners.iter().find(|l| l.tls) {
        return Err(StartError::NoCertificates(SocketAddr::new(l.addr, l.port)));
    }
    Ok(())
}

/// The listening sockets: each worker binds each listener (`SO_REUSEPORT`).
struct BoundListeners {
    /// Per worker, one per [`ListenerSpec`] in order.
    per_worker: Vec<Vec<Listener>>,
    /// Per [`ListenerSpec`], with the real port where the spec said 0.
    local_addrs: Vec<SocketAddr>,
    /// The port the first listener given port 0 got (endpoints with port 0 are served there).
    ephemeral_port: Option<u16>,
}

/// Binds every listener once per worker; worker 0's first, so that port 0 resolves once for
/// all workers.
fn bind_listeners(spec: &ServerSpec) -> Result<BoundListeners, StartError> {
    let mut per_worker: Vec<Vec<Listener>> = (0..spec.worker_c).map(|_| Vec::new()).collect();
    let mut local_addrs = Vec::new();
    let mut ephemeral_port = None;
    for l in &spec.listeners {
        let mut port = l.port;
        for listeners in &mut per_worker {
            let addr = SocketAddr::new(l.addr, port);
            let bound =
                net::bind_listener(l, port).map_err(|source| StartError::Bind { addr, source })?;
            port = bound.local.port();
            listeners.push(bound);
        }
        local_addrs.push(SocketAddr::new(l.addr, port));
        if l.port == 0 && ephemeral_port.is_none() {
            ephemeral_port = Some(port);
        }
    }
    Ok(BoundListeners {
        per_worker,
        local_addrs,
        ephemeral_port,
    })
}

/// Every app's endpoints, each on a bound port (whose TLS-ness it takes).
fn resolve_endpoints(
    spec: &ServerSpec,
    bound: &BoundListeners,
) -> Result<Arc<[Endpoint]>, StartError> {
    let tls_of_port = |port: u16| {
        bound
            .local_addrs
            .iter()
            .zip(&spec.listeners)
            .find(|(a, _)| a.port() == port)
            .map(|(_, l)| l.tls)
    };
    let mut endpoints = Vec::new();
    for (app_i, app) in spec.apps.iter().enumerate() {
        for ep in &app.endpoints {
            let no_listener = || StartError::EndpointPort {
                app: app.name.clone(),
                endpoint: ep.id,
                port: ep.port,
            };
            let port = match ep.port {
                0 => bound.ephemeral_port.ok_or_else(no_listener)?,
                port => port,
            };
            let tls = tls_of_port(port).ok_or_else(no_listener)?;
            endpoints.push(Endpoint {
                app: app_i as u16,
                id: ep.id,
                authority: format!("{}:{port}", ep.host),
                port,
                tls,
                path: ep.path.clone(),
                allowed_origins: ep.allowed_origins.clone(),
                deflate: ep
                    .permessage_deflate
                    .enabled
                    .then_some(ep.permessage_deflate),
                subprotocols: ep.subprotocols.clone(),
                upgrade_headers: ep.upgrade_headers.clone(),
                upgrade_hook: false,
            });
        }
    }
    Ok(endpoints.into())
}

fn load_apps(spec: &ServerSpec) -> Result<Vec<App>, StartError> {
    spec.apps
        .iter()
        .map(|app| match &app.source {
            AppSource::Loaded(app) => Ok(app.clone()),
            AppSource::Path(path) => App::load(path).map_err(StartError::LoadApp),
        })
        .collect()
}

/// One app's ends of its rings, before its thread exists.
struct AppRings {
    app: App,
    /// From each worker (the app reads).
    inbound: Vec<ring_spsc::Consumer>,
    /// To each worker (the app writes), with that worker's gate.
    links: Vec<WorkerLink<EventFdWaker>>,
    gate: Arc<SleepGate<futex_loop::SysFutex>>,
    /// To the app, one per worker (each worker writes its own).
    to_app: Vec<ring_spsc::Producer>,
}

/// A ring pair between every worker and every app. Returns the apps' ends and, per worker,
/// the consumers of what each app sends it (in app order).
fn build_rings(
    settings: &Settings,
    apps: Vec<App>,
    gates: &[Arc<WorkerGate<EventFdWaker>>],
) -> Result<(Vec<AppRings>, Vec<Vec<ring_spsc::Consumer>>), StartError> {
    let ring_error = |e: ring_spsc::Error| StartError::Io(io::Error::other(e.to_string()));
    let max_inbound_record = usize::try_from(settings.max_ws_msg_size)
        .unwrap_or(usize::MAX)
        .saturating_add(app_abi::records::INBOUND_HEADER_LEN + 32)
        .min(ring_spsc::MAX_RECORD_LEN_LIMIT);
    let inbound_conf = ring_spsc::Config::new(to_usize(settings.inbound_ring_buf_size))
        .with_realloc_multiplier(settings.realloc_multiplier)
        .with_publish_every(settings.update_queue_size.max(1) as usize)
        .with_max_record_len(max_inbound_record);
    let outbound_conf = ring_spsc::Config::new(to_usize(settings.outbound_ring_buf_size))
        .with_realloc_multiplier(settings.realloc_multiplier);
    let mut from_apps: Vec<Vec<ring_spsc::Consumer>> = gates.iter().map(|_| Vec::new()).collect();
    let mut app_rings = Vec::new();
    for app in apps {
        let mut rings = AppRings {
            app,
            inbound: Vec::new(),
            links: Vec::new(),
            gate: Arc::new(SleepGate::new()),
            to_app: Vec::new(),
        };
        for (worker_gate, from_app_of_worker) in gates.iter().zip(&mut from_apps) {
            let (to_app, from_worker) =
                ring_spsc::channel(inbound_conf.clone()).map_err(ring_error)?;
            let (to_worker, from_app) =
                ring_spsc::channel(outbound_conf.clone()).map_err(ring_error)?;
            rings.inbound.push(from_worker);
            rings
                .links
                .push(WorkerLink::new(to_worker, worker_gate.clone()));
            rings.to_app.push(to_app);
            from_app_of_worker.push(from_app);
        }
        app_rings.push(rings);
    }
    Ok((app_rings, from_apps))
}

/// One thread per app. Returns their handles and, per worker, its port to each app.
fn spawn_app_threads(
    app_rings: Vec<AppRings>,
    conf: &Arc<ConfView>,
    worker_c: usize,
) -> Result<(Vec<AppThreadHandle>, Vec<Vec<AppPort>>), StartError> {
    let mut worker_apps: Vec<Vec<AppPort>> = (0..worker_c).map(|_| Vec::new()).collect();
    let mut handles = Vec::new();
    for (app_i, rings) in app_rings.into_iter().enumerate() {
        let handle = AppThread::new(
            rings.app,
            conf.clone(),
            app_i,
            rings.inbound,
            rings.links,
            rings.gate.clone(),
            Arc::new(MonotonicClock),
        )
        .spawn()?;
        for (to_app, ports) in rings.to_app.into_iter().zip(&mut worker_apps) {
            ports.push(AppPort {
                to_app,
                gate: rings.gate.clone(),
                status: handle.status().clone(),
                dirty: false,
                members: Vec::new(),
                topics: Default::default(),
            });
        }
        handles.push(handle);
    }
    Ok((handles, worker_apps))
}

/// What every worker runs with, from the global settings.
fn worker_settings(settings: &Settings) -> WorkerSettings {
    WorkerSettings {
        ws: ws_proto::Config {
            max_message_size: settings.max_ws_msg_size,
            max_frame_chain_size: settings.max_ws_frame_chain_size,
            ping_interval: settings.ping_interval,
            pong_wait: settings.pong_wait,
            close_timeout: settings.shutdown_wait_ws,
        },
        rbuf_size: to_usize(settings.worker_rbuf_size).max(MIN_RBUF),
        max_client_backlog: to_usize(settings.max_client_backlog),
        // The limit over all workers is `Limits`'; one worker may hold them all.
        max_conns: settings.connection_limit().max(1),
        epoll_events: settings.epoll_buf_elem_c as usize,
        handshake_wait: settings.handshake_wait,
        shutdown_wait_http: settings.shutdown_wait_http,
        shutdown_wait_ws: settings.shutdown_wait_ws,
        outbound_batch: OUTBOUND_BATCH,
        max_messages_per_second: settings.max_messages_per_second,
    }
}

/// Sizes are `u64` in the settings; on a 64-bit target this never saturates.
fn to_usize(value: u64) -> usize {
    usize::try_from(value).unwrap_or(usize::MAX)
}
