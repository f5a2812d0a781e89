//! From the checked [`Config`] to what each layer consumes: the serving core's [`ServerSpec`]
//! (which keeps the serving core independent of the JSON format), the TLS layer's
//! [`CertSpec`]s, and the configuration apps read through `rs_get_conf`
//! ([`app_abi::conf::Conf`], laid out for C by `ConfView`).
//!
//! The global keys travel as one [`Settings`] value; the only field-by-field copy is
//! `app_conf_globals`, into the ABI's fixed layout, where a key must be appended on purpose
//! (see `app_abi::conf`).

use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use app_abi::conf::{AppConf, CertConf, Conf, EndpointConf, PortConf};

use crate::config::{Config, IpFamily, Port};
use crate::server::{AppSource, AppSpec, ClientAddrSource, EndpointSpec, ListenerSpec, ServerSpec};
use crate::settings::Settings;
use crate::tls::CertSpec;
use crate::worker::Endpoint;

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
                    permessage_deflate: endpoint
                        .permessage_deflate
                        .apply(config.settings.permessage_deflate),
                    subprotocols: endpoint.subprotocols.clone(),
                    upgrade_headers: endpoint.upgrade_headers.clone(),
                })
                .collect(),
            no_open_cb: app.no_open_cb,
            no_close_cb: app.no_close_cb,
        })
        .collect();
    let worker_c = config.worker_count(cores);
    ServerSpec {
        listeners,
        apps,
        worker_c: usize::try_from(worker_c).unwrap_or(usize::MAX),
        settings: config.settings.clone(),
        app_conf: Some(app_conf(config, worker_c)),
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
            client_addr: match (port.proxy_protocol, port.trust_x_forwarded_for) {
                (true, _) => ClientAddrSource::ProxyProtocol,
                (false, true) => ClientAddrSource::XForwardedFor,
                (false, false) => ClientAddrSource::Socket,
            },
        })
        .collect()
}

/// The configuration as apps see it through `rs_get_conf` (turned into a
/// [`app_abi::conf::ConfView`] by `ConfView::new`, which cannot fail on a validated
/// configuration: strings with NUL bytes are rejected by the validator).
///
/// `worker_c` is the resolved worker count ([`Config::worker_count`]). Every key is there; an
/// omitted `allowed_origins` stays distinct from an empty one. Paths are the resolved absolute
/// ones; URLs are as written.
pub fn app_conf(config: &Config, worker_c: u32) -> Conf {
    let path = |p: &Path| p.to_string_lossy().into_owned();
    Conf {
        ports: config.ports.iter().map(port_conf).collect(),
        certs: config
            .certs
            .iter()
            .map(|c| CertConf {
                hostnames: c.hostnames.clone(),
                privkey_path: path(&c.privkey_path),
                pubchain_path: path(&c.pubchain_path),
            })
            .collect(),
        apps: config
            .apps
            .iter()
            .map(|a| {
                let mut app = AppConf::new(a.name.clone(), path(&a.app_path));
                app.no_open_cb = a.no_open_cb;
                app.no_close_cb = a.no_close_cb;
                app.wbuf_size = a.wbuf_size;
                app.update_queue_size = Some(a.update_queue_size);
                app.endpoints = a
                    .endpoints
                    .iter()
                    .map(|e| EndpointConf {
                        endpoint_id: e.endpoint_id,
                        url: e.url_text.clone(),
                        allowed_origins: e.allowed_origins.clone(),
                    })
                    .collect();
                app
            })
            .collect(),
        ..app_conf_globals(&config.settings, worker_c)
    }
}

fn port_conf(p: &Port) -> PortConf {
    PortConf {
        port_number: p.port_number,
        is_unencrypted: p.is_unencrypted,
        ip_addrs: p.ip_addrs.iter().map(ToString::to_string).collect(),
        interface: p.interface.clone(),
        ipv4only: p.family == IpFamily::Ipv4Only,
        ipv6only: p.family == IpFamily::Ipv6Only,
        ipv4_is_embedded_in_ipv6: p.family == IpFamily::Ipv4InIpv6,
    }
}

/// The configuration apps read when a [`ServerSpec`] was built in code rather than from a
/// file: its bound listeners (the real port where the spec said 0) and resolved endpoints.
pub(crate) fn app_conf_of_spec(
    spec: &ServerSpec,
    local_addrs: &[SocketAddr],
    endpoints: &[Endpoint],
) -> Conf {
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
            let source = match &app.source {
                AppSource::Loaded(loaded) => loaded.source().to_owned(),
                AppSource::Path(path) => path.display().to_string(),
            };
            let mut conf = AppConf::new(app.name.clone(), source);
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
    Conf {
        ports,
        apps,
        // A spec built in code switches no user.
        user: String::new(),
        ..app_conf_globals(&spec.settings, spec.worker_c as u32)
    }
}

/// The global keys in the ABI's layout (seconds as `u32`, `""` for no run user, 0 for pings
/// off), with empty ports, certs and apps.
fn app_conf_globals(s: &Settings, worker_c: u32) -> Conf {
    let secs = |d: Duration| u32::try_from(d.as_secs()).unwrap_or(u32::MAX);
    Conf {
        log_level: s.log_level,
        worker_c,
        fd_alloc_c: s.fd_alloc_c,
        max_ws_msg_size: s.max_ws_msg_size,
        max_ws_frame_chain_size: s.max_ws_frame_chain_size,
        realloc_multiplier: s.realloc_multiplier,
        worker_rbuf_size: s.worker_rbuf_size,
        inbound_ring_buf_size: s.inbound_ring_buf_size,
        outbound_ring_buf_size: s.outbound_ring_buf_size,
        owrefs_elem_c: s.owrefs_elem_c,
        epoll_buf_elem_c: s.epoll_buf_elem_c,
        update_queue_size: s.update_queue_size,
        shutdown_wait_http: secs(s.shutdown_wait_http),
        shutdown_wait_ws: secs(s.shutdown_wait_ws),
        user: s.user.clone().unwrap_or_default(),
        syslog_path: s.syslog_path.to_string_lossy().into_owned(),
        max_client_backlog: s.max_client_backlog,
        handshake_wait: secs(s.handshake_wait),
        ping_interval: s.ping_interval.map_or(0, secs),
        pong_wait: secs(s.pong_wait),
        ports: Vec::new(),
        certs: Vec::new(),
        apps: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The daemon's defaults and the ABI crate's own (which apps built without a daemon, e.g.
    /// in tests, see) are the same values.
    #[test]
    fn the_abi_defaults_are_the_settings_defaults() {
        let defaults = Conf::default();
        assert_eq!(
            app_conf_globals(&Settings::default(), defaults.worker_c),
            defaults
        );
    }
}
