//! `"certs"`: the TLS certificates and the host names each covers.

use std::collections::HashMap;
use std::net::IpAddr;
use std::path::PathBuf;

use serde_json::Value;

use super::Validator;
use crate::config::Cert;
use crate::config::index::{index_path, key_path};

const CERT_KEYS: &[&str] = &["hostnames", "privkey_path", "pubchain_path"];

impl Validator<'_> {
    /// A certificate host name, normalised: lowercase, IPv6 without brackets.
    fn cert_name(s: &str) -> Result<String, &'static str> {
        let bare = s
            .strip_prefix('[')
            .and_then(|x| x.strip_suffix(']'))
            .unwrap_or(s);
        if let Ok(ip) = bare.parse::<IpAddr>() {
            return Ok(ip.to_string());
        }
        let name = s.to_ascii_lowercase();
        let rest = name.strip_prefix("*.").unwrap_or(&name);
        if rest.is_empty() || rest.len() > 253 {
            return Err("not a host name");
        }
        for label in rest.split('.') {
            if label.contains('*') {
                return Err("only a whole leftmost label may be a wildcard (\"*.example.com\")");
            }
            let ok = !label.is_empty()
                && label.len() <= 63
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
                && !label.starts_with('-')
                && !label.ends_with('-');
            if !ok {
                return Err("not a host name (labels of letters, digits and '-', dot-separated)");
            }
        }
        Ok(name)
    }

    /// The certs, and whether every one parsed (host coverage is only checked then).
    pub(super) fn certs(&mut self, path: &str, v: &Value) -> (Vec<Cert>, bool) {
        let mut out = Vec::new();
        let mut ok = true;
        let mut seen: HashMap<String, String> = HashMap::new();
        let items = self.array(path, v).unwrap_or_default();
        for (i, item) in items.iter().enumerate() {
            let errors_before = self.errors.len();
            let cp = index_path(path, i);
            let Some(o) = self.object(&cp, item, CERT_KEYS) else {
                ok = false;
                continue;
            };
            let mut hostnames = Vec::new();
            match o.get("hostnames") {
                Some((p, v)) => {
                    let list =
                        self.nonempty_array(&p, v, "add the names the certificate was issued for");
                    for (j, h) in list.iter().enumerate() {
                        let hp = index_path(&p, j);
                        let Some(s) = self.string(&hp, h) else {
                            continue;
                        };
                        match Self::cert_name(s) {
                            Err(why) => self.err(&hp, Some(h), why, None),
                            Ok(name) => {
                                if let Some(first) = seen.get(&name) {
                                    let msg = format!("also listed at {first}");
                                    self.err(
                                        &hp,
                                        Some(h),
                                        msg,
                                        Some("list each host name in one cert only".into()),
                                    );
                                } else {
                                    seen.insert(name.clone(), hp);
                                    hostnames.push(name);
                                }
                            }
                        }
                    }
                }
                None => self.missing(
                    &key_path(&cp, "hostnames"),
                    "add \"hostnames\": [\"example.com\"]",
                ),
            }
            let file = |this: &mut Self, key: &str| -> Option<PathBuf> {
                match o.get(key) {
                    Some((p, v)) => {
                        let path = this.path(&p, v)?;
                        this.check_file(&p, v, &path);
                        Some(path)
                    }
                    None => {
                        this.missing(&key_path(&cp, key), "add the path of the PEM file");
                        None
                    }
                }
            };
            // Only name errors make host coverage unreliable; file errors do not.
            if self.errors.len() != errors_before {
                ok = false;
            }
            let privkey_path = file(self, "privkey_path");
            let pubchain_path = file(self, "pubchain_path");
            if let (Some(privkey_path), Some(pubchain_path)) = (privkey_path, pubchain_path) {
                out.push(Cert {
                    hostnames,
                    privkey_path,
                    pubchain_path,
                });
            } else {
                ok = false;
            }
        }
        (out, ok)
    }
}
