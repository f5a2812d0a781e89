//! From a validated [`Config`] to a running daemon: the conversion into the serving core's
//! [`ServerSpec`] (which keeps the serving core independent of the JSON format), and the
//! startup sequence of the spec's control flow: process setup, binding, privilege drop,
//! threads, then signals until shutdown.

use std::path::Path;
use std::time::Duration;

use crate::config::{Config, ConfigErrors, Port};
use crate::log;
use crate::process::{self, SignalEvent, Signals};
use crate::server::{
    AppSource, AppSpec, EndpointSpec, Limits, ListenerSpec, Server, ServerSpec, Timeouts,
};
use crate::tls::{CertSpec, TlsContext};

/// The serving core's view of `config`, with `cores` CPUs available for the default
/// `worker_c` (cores minus apps, at least 1).
pub fn server_spec(config: &Config, cores: usize) -> ServerSpec {
    let listeners = config.ports.iter().flat_map(listeners_of).collect();
    let apps = config
        .apps
        .iter()
        .map(|app| AppSpec {
            name: app.name.clone(),
            source: AppSource::Path(app.app_path.clone()),
            endpoints: app
                .endpoints
                .iter()
                .map(|endpoint| EndpointSpec {
                    id: endpoint.endpoint_id,
                    host: endpoint.url.host.clone(),
                    port: endpoint.url.port,
                    path: endpoint.url.path.clone(),
                    allowed_origins: endpoint.allowed_origins.clone(),
                })
                .collect(),
            no_open_cb: app.no_open_cb,
            no_close_cb: app.no_close_cb,
        })
        .collect();
    let limits = Limits {
        max_ws_msg_size: config.max_ws_msg_size,
        max_ws_frame_chain_size: config.max_ws_frame_chain_size,
        worker_rbuf_size: saturating_usize(config.worker_rbuf_size),
        inbound_ring_buf_size: saturating_usize(config.inbound_ring_buf_size),
        outbound_ring_buf_size: saturating_usize(config.outbound_ring_buf_size),
        realloc_multiplier: config.realloc_multiplier,
        update_queue_size: config.update_queue_size,
        max_client_backlog: saturating_usize(config.max_client_backlog),
        fd_alloc_c: config.fd_alloc_c,
        epoll_buf_elem_c: config.epoll_buf_elem_c,
    };
    let timeouts = Timeouts {
        handshake_wait: config.handshake_wait,
        // Already `None` for 0 ("off").
        ping_interval: config.ping_interval,
        pong_wait: config.pong_wait,
        shutdown_wait_http: config.shutdown_wait_http,
        shutdown_wait_ws: config.shutdown_wait_ws,
    };
    let worker_c = config.worker_count(cores);
    ServerSpec {
        listeners,
        apps,
        worker_c: usize::try_from(worker_c).unwrap_or(usize::MAX),
        limits,
        timeouts,
        app_conf: Some(config.to_app_conf(worker_c)),
    }
}

/// The certificates of `config`, for the TLS layer.
pub fn cert_specs(config: &Config) -> Vec<CertSpec> {
    config
        .certs
        .iter()
        .map(|cert| CertSpec {
            hostnames: cert.hostnames.clone(),
            privkey_path: cert.privkey_path.clone(),
            pubchain_path: cert.pubchain_path.clone(),
        })
        .collect()
}

fn listeners_of(port: &Port) -> Vec<ListenerSpec> {
    port.listen_addrs()
        .into_iter()
        .map(|listen| ListenerSpec {
            addr: listen.addr.ip(),
            port: listen.addr.port(),
            tls: !port.is_unencrypted,
            interface: port.interface.clone(),
            ipv6_only: listen.v6only,
        })
        .collect()
}

/// Sizes in the configuration are `u64`; on a 64-bit target this never saturates.
fn saturating_usize(value: u64) -> usize {
    usize::try_from(value).unwrap_or(usize::MAX)
}

/// How often the main thread checks that some app is still running while it waits for
/// signals.
const APP_CHECK_INTERVAL: Duration = Duration::from_secs(1);

/// Why the daemon stopped with an error.
#[derive(Debug)]
pub enum RunError {
    /// The configuration is invalid.
    Config(ConfigErrors),
    /// Process setup, binding, loading or spawning failed.
    Startup(String),
    /// Every app stopped fatally: nothing is left to serve.
    NoAppLeft,
}

/// Runs the daemon with the configuration at `path` until SIGTERM/SIGINT (`Ok`) or until no
/// app is left (`Err(NoAppLeft)`): the spec's control flow, in the foreground unless `daemon`.
pub fn serve(path: &Path, daemon: bool) -> Result<(), RunError> {
    // `--daemon` changes directory to `/`; relative paths in the file resolve against the
    // file's own directory, so only the file's path itself needs anchoring.
    let path = std::path::absolute(path).map_err(|e| RunError::Startup(e.to_string()))?;
    let (config, warnings) = match Config::load(&path) {
        Ok(loaded) => loaded,
        Err(errors) => return Err(RunError::Config(errors)),
    };
    for warning in &warnings {
        log!(Warning, "{warning}");
    }
    process::log::set_level(config.log_level);
    let startup = |e: &dyn std::fmt::Display| RunError::Startup(e.to_string());
    let mut signals = Signals::new().map_err(|e| startup(&e))?;
    let privileges = process::prepare(&config).map_err(|e| startup(&e))?;
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let spec = server_spec(&config, cores);
    let worker_c = spec.worker_c;
    let certs = cert_specs(&config);
    let tls = match certs.as_slice() {
        [] => None,
        certs => Some(TlsContext::new(certs).map_err(|e| startup(&e))?),
    };
    // The admin socket is bound with the others, before the privilege drop; its thread starts
    // after it.
    let admin_listener = match config.admin {
        Some(admin) => Some(crate::admin::bind(admin.addr).map_err(|e| {
            RunError::Startup(format!("cannot listen on {} (admin): {e}", admin.addr))
        })?),
        None => None,
    };
    let syslog_path = config.syslog_path.clone();
    let server = Server::start_with_setup(spec, tls, move || {
        privileges.finish().map_err(|e| e.to_string())?;
        if daemon {
            process::daemonize(&syslog_path).map_err(|e| e.to_string())?;
        }
        Ok(())
    })
    .map_err(|e| startup(&e))?;
    for addr in server.local_addrs() {
        log!(Notice, "listening on {addr}");
    }
    let admin = match admin_listener {
        Some(listener) => {
            let admin = crate::admin::AdminServer::start(listener, server.metrics())
                .map_err(|e| startup(&e))?;
            log!(
                Notice,
                "admin listener on http://{} (/health, /metrics)",
                admin.local_addr()
            );
            Some(admin)
        }
        None => None,
    };
    log!(Info, "{worker_c} workers, {} apps", config.apps.len());
    process::notify_ready();

    let result = wait_for_signals(&server, &mut signals, &config);
    process::notify_stopping();
    let report = server.stop();
    if let Some(admin) = admin {
        admin.stop();
    }
    let clients_left: usize = report
        .apps
        .iter()
        .flatten()
        .map(|exit| exit.clients_left)
        .sum();
    if clients_left > 0 {
        log!(
            Warning,
            "{clients_left} clients were still known to apps at exit"
        );
    }
    log!(Notice, "stopped");
    result
}

/// Serves until a shutdown signal or until every app has stopped; reloads certificates on
/// SIGHUP.
fn wait_for_signals(
    server: &Server,
    signals: &mut Signals,
    config: &Config,
) -> Result<(), RunError> {
    let timeout = rustix::time::Timespec {
        tv_sec: APP_CHECK_INTERVAL.as_secs() as i64,
        tv_nsec: 0,
    };
    loop {
        let mut fds = [rustix::event::PollFd::new(
            &*signals,
            rustix::event::PollFlags::IN,
        )];
        match rustix::event::poll(&mut fds, Some(&timeout)) {
            Ok(_) | Err(rustix::io::Errno::INTR) => {}
            Err(e) => return Err(RunError::Startup(format!("waiting for signals: {e}"))),
        }
        for event in signals.by_ref() {
            match event {
                SignalEvent::Shutdown { signal, .. } => {
                    log!(Notice, "{}: closing every client with 1001", signal.name());
                    return Ok(());
                }
                SignalEvent::ReloadCerts { .. } => match server.reload_certs(&cert_specs(config)) {
                    Ok(report) => log!(Notice, "SIGHUP: certificates reloaded: {report}"),
                    Err(e) => log!(
                        Error,
                        "SIGHUP: certificates not reloaded, keeping the old ones: {e}"
                    ),
                },
            }
        }
        let apps_left = (0..config.apps.len())
            .filter(|&i| {
                server
                    .app_status(i)
                    .is_some_and(|status| !status.is_stopped())
            })
            .count();
        if apps_left == 0 {
            log!(Error, "every app has stopped: nothing is left to serve");
            return Err(RunError::NoAppLeft);
        }
    }
}
