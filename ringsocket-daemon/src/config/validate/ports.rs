//! `"ports"`: the listening ports and their address families.

use std::net::IpAddr;

use serde_json::Value;

use super::Validator;
use super::values::{Range, r};
use crate::config::index::{index_path, key_path};
use crate::config::{IpFamily, Port};

/// Bytes in an `"interface"` name (`IFNAMSIZ` − 1).
const INTERFACE_MAX: usize = 15;
pub(super) const PORT_NUMBER: Range = r(1, 65_535);
const PORT_KEYS: &[&str] = &[
    "port_number",
    "is_unencrypted",
    "ip_addrs",
    "interface",
    "ipv4only",
    "ipv6only",
    "ipv4_is_embedded_in_ipv6",
    "proxy_protocol",
    "trust_x_forwarded_for",
];

impl Validator<'_> {
    /// The ports, each with its path.
    pub(super) fn ports(&mut self, path: &str, v: &Value) -> Vec<(String, Port)> {
        let mut out: Vec<(String, Port)> = Vec::new();
        let items = self.nonempty_array(path, v, "add {\"port_number\": 443}");
        for (i, item) in items.iter().enumerate() {
            let pp = index_path(path, i);
            let Some(o) = self.object(&pp, item, PORT_KEYS) else {
                continue;
            };
            let port_number = match o.get("port_number") {
                Some((p, v)) => self
                    .uint(&p, v, PORT_NUMBER.min, PORT_NUMBER.max)
                    .and_then(|n| {
                        let n = u16::try_from(n).ok()?;
                        if let Some((first, _)) = out.iter().find(|(_, q)| q.port_number == n) {
                            self.err(
                                &p,
                                Some(v),
                                format!("port {n} is already configured at {first}"),
                                Some(
                                    "list each port once (one port serves all its endpoints)"
                                        .into(),
                                ),
                            );
                            return None;
                        }
                        Some(n)
                    }),
                None => {
                    self.missing(
                        &key_path(&pp, "port_number"),
                        "add \"port_number\": 443 (or the port to listen on)",
                    );
                    None
                }
            };
            let is_unencrypted = self.opt_bool(&o, "is_unencrypted");
            let v4 = self.opt_bool(&o, "ipv4only");
            let v6 = self.opt_bool(&o, "ipv6only");
            let embedded = self.opt_bool(&o, "ipv4_is_embedded_in_ipv6");
            let family = match (v4, v6, embedded) {
                (false, false, false) => IpFamily::Both,
                (true, false, false) => IpFamily::Ipv4Only,
                (false, true, false) => IpFamily::Ipv6Only,
                (false, false, true) => IpFamily::Ipv4InIpv6,
                _ => {
                    let second = if v6 && v4 {
                        "ipv6only"
                    } else {
                        "ipv4_is_embedded_in_ipv6"
                    };
                    self.err(
                        &key_path(&pp, second),
                        None,
                        "ipv4only, ipv6only and ipv4_is_embedded_in_ipv6 exclude each other",
                        Some("set at most one of them to true".into()),
                    );
                    IpFamily::Both
                }
            };
            let mut ip_addrs: Vec<IpAddr> = Vec::new();
            let ip_path = key_path(&pp, "ip_addrs");
            if let Some((p, v)) = o.get("ip_addrs") {
                let list =
                    self.nonempty_array(&p, v, "omit \"ip_addrs\" to listen on every address");
                for (j, a) in list.iter().enumerate() {
                    let ap = index_path(&p, j);
                    let Some(s) = self.string(&ap, a) else {
                        continue;
                    };
                    let Ok(ip) = s.parse::<IpAddr>() else {
                        let hint = s
                            .starts_with('[')
                            .then(|| "write IPv6 addresses without brackets".to_owned());
                        self.err(&ap, Some(a), "not an IPv4 or IPv6 address", hint);
                        continue;
                    };
                    let clash = match family {
                        IpFamily::Ipv4Only if ip.is_ipv6() => {
                            Some("an IPv6 address on an \"ipv4only\" port")
                        }
                        IpFamily::Ipv6Only if ip.is_ipv4() => {
                            Some("an IPv4 address on an \"ipv6only\" port")
                        }
                        IpFamily::Ipv4InIpv6 if ip.is_ipv4() => Some(
                            "an IPv4 address on an \"ipv4_is_embedded_in_ipv6\" port, which listens on IPv6 sockets only",
                        ),
                        _ => None,
                    };
                    if let Some(clash) = clash {
                        self.err(&ap, Some(a), clash, None);
                    } else if ip_addrs.contains(&ip) {
                        self.err(
                            &ap,
                            Some(a),
                            "listed twice",
                            Some("remove the repetition".into()),
                        );
                    } else {
                        ip_addrs.push(ip);
                    }
                }
            }
            let interface = match o.get("interface") {
                None => None,
                Some((p, v)) => {
                    match self.string(&p, v) {
                        None | Some("") => None,
                        Some(s)
                            if s.len() > INTERFACE_MAX
                                || s.contains(['/', ':'])
                                || s.chars().any(char::is_whitespace) =>
                        {
                            self.err(&p, Some(v), format!("not a network interface name (at most {INTERFACE_MAX} bytes, no '/', ':' or spaces)"), None);
                            None
                        }
                        Some(s) => {
                            if o.map.contains_key("ip_addrs") {
                                self.err(
                                &p,
                                Some(v),
                                format!("cannot be combined with \"ip_addrs\" ({ip_path})"),
                                Some("keep one: ip_addrs binds addresses, interface binds a device".into()),
                            );
                            }
                            Some(s.to_owned())
                        }
                    }
                }
            };
            let proxy_protocol = self.opt_bool(&o, "proxy_protocol");
            let trust_x_forwarded_for = self.opt_bool(&o, "trust_x_forwarded_for");
            if proxy_protocol && trust_x_forwarded_for {
                self.err(
                    &key_path(&pp, "trust_x_forwarded_for"),
                    None,
                    "proxy_protocol and trust_x_forwarded_for exclude each other",
                    Some(
                        "a PROXY header already names the client; set the one your load balancer sends"
                            .into(),
                    ),
                );
            }
            if let Some(port_number) = port_number {
                out.push((
                    pp,
                    Port {
                        port_number,
                        is_unencrypted,
                        ip_addrs,
                        interface,
                        family,
                        proxy_protocol,
                        trust_x_forwarded_for,
                    },
                ));
            }
        }
        out
    }
}
