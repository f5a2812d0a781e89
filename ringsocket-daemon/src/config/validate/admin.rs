//! `"admin"`: the plain-HTTP admin listener.

use std::net::IpAddr;

use serde_json::Value;

use super::Validator;
use super::ports::PORT_NUMBER;
use crate::config::index::key_path;
use crate::config::{Admin, Port};

const ADMIN_KEYS: &[&str] = &["port", "address"];
/// The admin listener's address when `"address"` is omitted.
const DEFAULT_ADMIN_ADDRESS: &str = "127.0.0.1";

impl Validator<'_> {
    /// `"admin"`: `{"port": N, "address": "127.0.0.1"}`.
    pub(super) fn admin(
        &mut self,
        path: &str,
        v: &Value,
        ports: &[(String, Port)],
    ) -> Option<Admin> {
        let o = self.object(path, v, ADMIN_KEYS)?;
        let port = match o.get("port") {
            Some((p, v)) => self
                .uint(&p, v, PORT_NUMBER.min, PORT_NUMBER.max)
                .map(|n| (p, v, n as u16)),
            None => {
                self.missing(
                    &key_path(path, "port"),
                    "add \"port\": 9100 (or the port to serve /health and /metrics on)",
                );
                None
            }
        };
        let address = match o.get("address") {
            None => Some(IpAddr::from([127, 0, 0, 1])),
            Some((p, v)) => match self.string(&p, v) {
                Some(s) => match s.parse::<IpAddr>() {
                    Ok(ip) => {
                        if !ip.is_loopback() {
                            self.warn(
                                &p,
                                format!("the admin listener has no authentication: /metrics and /health are open to every host that can reach {ip}"),
                                Some(format!("keep it on {DEFAULT_ADMIN_ADDRESS} (the default) unless a firewall guards it")),
                            );
                        }
                        Some(ip)
                    }
                    Err(_) => {
                        self.err(
                            &p,
                            Some(v),
                            "not an IP address",
                            Some(format!("write an address such as \"{DEFAULT_ADMIN_ADDRESS}\" or \"::1\"; host names are not resolved")),
                        );
                        None
                    }
                },
                None => None,
            },
        };
        let (port_path, port_value, port) = port?;
        if let Some((pp, _)) = ports.iter().find(|(_, p)| p.port_number == port) {
            self.err(
                &port_path,
                Some(port_value),
                format!("port {port} is also a WebSocket port ({pp})"),
                Some("give the admin listener a port of its own".into()),
            );
            return None;
        }
        Some(Admin {
            addr: std::net::SocketAddr::new(address?, port),
        })
    }
}
