//! From a validated [`Config`] to a running daemon: the startup sequence of the spec's control
//! flow (process setup, binding, privilege drop, threads), then signals until shutdown. What
//! each layer is given is derived in [`crate::convert`].

use std::path::Path;
use std::time::Duration;

use crate::config::{Config, ConfigErrors};
use crate::convert::{cert_specs, server_spec};
use crate::log;
use crate::process::{self, SignalEvent, Signals};
use crate::server::Server;
use crate::tls::TlsContext;

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
    process::log::set_level(config.settings.log_level);
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
    let syslog_path = config.settings.syslog_path.clone();
    let server = Server::start_with_setup(spec, tls, move || {
        privileges.finish()?;
        if daemon {
            process::daemonize(&syslog_path)?;
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
