//! The rules between sections: endpoints against ports and certs, one URL per endpoint.

use std::collections::HashMap;

use super::Validator;
use super::endpoints::EndpointRef;
use crate::config::index::key_path;
use crate::config::{Cert, Port};

impl Validator<'_> {
    /// The rules that relate endpoints, ports and certs.
    pub(super) fn cross_check(
        &mut self,
        ports: &[(String, Port)],
        certs: &[Cert],
        certs_ok: bool,
        refs: &[EndpointRef],
    ) {
        for (pp, port) in ports {
            if !port.is_unencrypted && certs.is_empty() && certs_ok {
                let at = if self.idx.value(&key_path(pp, "is_unencrypted")).is_some() {
                    key_path(pp, "is_unencrypted")
                } else {
                    key_path(pp, "port_number")
                };
                self.err(
                    &at,
                    None,
                    format!(
                        "port {} is a TLS (wss://) port but no \"certs\" are configured",
                        port.port_number
                    ),
                    Some("add \"certs\", or set \"is_unencrypted\": true for plain ws://".into()),
                );
            }
            if !refs.iter().any(|r| r.url.port == port.port_number) {
                self.warn(
                    pp,
                    format!(
                        "no endpoint uses port {}, so every upgrade there is answered 404",
                        port.port_number
                    ),
                    None,
                );
            }
        }
        let mut urls: HashMap<(&str, u16, &str), &str> = HashMap::new();
        for r in refs {
            let u = &r.url;
            match ports.iter().find(|(_, p)| p.port_number == u.port) {
                None => {
                    let extra = if u.secure {
                        ""
                    } else {
                        ", \"is_unencrypted\": true"
                    };
                    self.err(
                        &r.url_path,
                        Some(&r.value),
                        format!("port {} is not configured", u.port),
                        Some(format!(
                            "add {{\"port_number\": {}{extra}}} to \"ports\"",
                            u.port
                        )),
                    );
                }
                Some((pp, p)) if p.is_unencrypted == u.secure => {
                    let (msg, hint) = if u.secure {
                        (
                            format!(
                                "wss:// on port {}, which is unencrypted (\"is_unencrypted\": true at {pp})",
                                u.port
                            ),
                            "use ws://, or make the port a TLS one",
                        )
                    } else {
                        (
                            format!(
                                "ws:// on port {}, which is a TLS (wss://) port ({pp})",
                                u.port
                            ),
                            "use wss://, or set \"is_unencrypted\": true on that port",
                        )
                    };
                    self.err(&r.url_path, Some(&r.value), msg, Some(hint.into()));
                }
                Some(_) => {}
            }
            if u.secure
                && certs_ok
                && !certs.is_empty()
                && !certs.iter().any(|c| c.covers(u.cert_host()))
            {
                let host = u.cert_host();
                // A wildcard that almost matches deserves a word on its one-label rule.
                let near = certs.iter().flat_map(|c| &c.hostnames).find(|n| {
                    n.strip_prefix("*.").is_some_and(|suffix| {
                        host == suffix || host.ends_with(&format!(".{suffix}"))
                    })
                });
                let also = match near {
                    Some(n) => format!(
                        " ({n} covers exactly one label: a.{s}, not {s} nor a.b.{s})",
                        s = rest_of(n)
                    ),
                    None => String::new(),
                };
                self.err(
                    &r.url_path,
                    Some(&r.value),
                    format!("no certificate covers host \"{host}\"{also}"),
                    Some("add the host to a cert's \"hostnames\"".into()),
                );
            }
            let key = (u.host.as_str(), u.port, u.path.as_str());
            if let Some(first) = urls.get(&key) {
                let msg = format!("same URL ({u}) as {first}");
                self.err(
                    &r.url_path,
                    Some(&r.value),
                    msg,
                    Some("give each endpoint its own URL".into()),
                );
            } else {
                urls.insert(key, &r.url_path);
            }
        }
    }
}

/// `*.x` → `x`.
fn rest_of(wildcard: &str) -> &str {
    wildcard.strip_prefix("*.").unwrap_or(wildcard)
}
