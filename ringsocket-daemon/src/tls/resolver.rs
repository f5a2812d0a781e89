//! Choosing the certificate for a ClientHello: exact name, then one-label wildcard, then the
//! default (the first configured certificate), from a set that SIGHUP can swap atomically.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::sync::Arc;

use arc_swap::ArcSwap;
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;

use super::TlsError;

/// An immutable set of loaded certificates and the names they serve. Replaced as a whole on
/// reload, so a handshake always sees one consistent set.
#[derive(Debug)]
pub(crate) struct CertSet {
    /// Exact names (lowercase, no trailing dot) → certificate.
    exact: HashMap<String, Arc<CertifiedKey>>,
    /// `*.example.com` stored as `example.com` → certificate.
    wildcard: HashMap<String, Arc<CertifiedKey>>,
    /// The first configured certificate: for no SNI (clients connecting to an IP address) and
    /// names no entry covers. Serving it beats the original's `unrecognized_name` alert: the
    /// client still decides whether it trusts the certificate.
    default: Arc<CertifiedKey>,
    /// Configured name (normalized, wildcards as `*.x`) → its certificate, for reload reports.
    names: BTreeMap<String, Arc<CertifiedKey>>,
}

impl CertSet {
    /// Build a set from loaded certificates and their names, in configuration order.
    pub(crate) fn new(certs: Vec<(Vec<String>, Arc<CertifiedKey>)>) -> Result<Self, TlsError> {
        let default = match certs.first() {
            Some((_, key)) => Arc::clone(key),
            None => return Err(TlsError::NoCertificates),
        };
        let mut set = Self {
            exact: HashMap::new(),
            wildcard: HashMap::new(),
            default,
            names: BTreeMap::new(),
        };
        for (hostnames, key) in certs {
            for hostname in hostnames {
                let name = normalize_configured(&hostname)?;
                // First listed wins, like the default: the order of the config decides.
                if set.names.contains_key(&name) {
                    continue;
                }
                match name.strip_prefix("*.") {
                    Some(suffix) => set.wildcard.insert(suffix.to_owned(), Arc::clone(&key)),
                    None => set.exact.insert(name.clone(), Arc::clone(&key)),
                };
                set.names.insert(name, Arc::clone(&key));
            }
        }
        Ok(set)
    }

    /// The certificate for the SNI `server_name` (or its absence).
    pub(crate) fn lookup(&self, server_name: Option<&str>) -> &Arc<CertifiedKey> {
        let Some(sni) = server_name else {
            return &self.default;
        };
        // Lowercase into a stack buffer: no allocation per handshake. Longer names than a DNS
        // name can be (253) match nothing and get the default.
        let sni = sni.strip_suffix('.').unwrap_or(sni);
        let mut buf = [0u8; 253];
        let Some(dst) = buf.get_mut(..sni.len()) else {
            return &self.default;
        };
        dst.copy_from_slice(sni.as_bytes());
        dst.make_ascii_lowercase();
        // Lowercasing ASCII bytes of a `str` keeps it valid UTF-8; fall back to the default
        // rather than unwrap.
        let Ok(name) = std::str::from_utf8(dst) else {
            return &self.default;
        };
        if let Some(key) = self.exact.get(name) {
            return key;
        }
        // One label only: `a.example.com` → `example.com`; the label must be non-empty, and
        // `example.com` itself has no wildcard parent here because its "rest" is `com`, which
        // only a `*.com` entry would cover.
        if let Some((label, parent)) = name.split_once('.')
            && !label.is_empty()
            && let Some(key) = self.wildcard.get(parent)
        {
            return key;
        }
        &self.default
    }

    /// The configured names, normalized and sorted.
    pub(crate) fn names(&self) -> Vec<String> {
        self.names.keys().cloned().collect()
    }

    /// What changed from `old` to `self`, by configured name.
    pub(crate) fn diff(&self, old: &Self) -> ReloadReport {
        let mut report = ReloadReport::default();
        for (name, key) in &self.names {
            match old.names.get(name) {
                None => report.added.push(name.clone()),
                Some(old_key) if old_key.cert != key.cert => report.replaced.push(name.clone()),
                Some(_) => report.unchanged.push(name.clone()),
            }
        }
        report.removed = old
            .names
            .keys()
            .filter(|n| !self.names.contains_key(*n))
            .cloned()
            .collect();
        report.default_changed = old.default.cert != self.default.cert;
        report
    }
}

/// What a [`TlsContext::reload`](super::TlsContext::reload) changed, for the daemon's log.
/// Names are normalized (lowercase, wildcards as `*.example.com`) and sorted. A name counts as
/// replaced when its certificate chain differs (a renewed certificate).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ReloadReport {
    /// Names served now that were not before.
    pub added: Vec<String>,
    /// Names no longer served (such clients now get the default certificate).
    pub removed: Vec<String>,
    /// Names now served with a different certificate chain.
    pub replaced: Vec<String>,
    /// Names served with the same chain as before.
    pub unchanged: Vec<String>,
    /// Whether the default certificate (the first configured) is a different chain.
    pub default_changed: bool,
}

impl ReloadReport {
    /// Whether the reload changed nothing.
    pub fn is_unchanged(&self) -> bool {
        self.added.is_empty()
            && self.removed.is_empty()
            && self.replaced.is_empty()
            && !self.default_changed
    }
}

impl fmt::Display for ReloadReport {
    /// One log line, e.g. `added [b.test]; removed none; replaced [a.test]; 2 unchanged;
    /// default certificate unchanged`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fn list(f: &mut fmt::Formatter<'_>, what: &str, names: &[String]) -> fmt::Result {
            match names.is_empty() {
                true => write!(f, "{what} none"),
                false => write!(f, "{what} [{}]", names.join(", ")),
            }
        }
        list(f, "added", &self.added)?;
        list(f, "; removed", &self.removed)?;
        list(f, "; replaced", &self.replaced)?;
        write!(
            f,
            "; {} unchanged; default certificate ",
            self.unchanged.len()
        )?;
        f.write_str(if self.default_changed {
            "changed"
        } else {
            "unchanged"
        })
    }
}

/// Normalize a configured hostname: ASCII lowercase, no trailing dot; a `*` only as a whole
/// first label of a name with at least two more labels (`*.com` would cover a whole TLD).
pub(crate) fn normalize_configured(hostname: &str) -> Result<String, TlsError> {
    let bad = |reason| TlsError::BadHostname {
        hostname: hostname.to_owned(),
        reason,
    };
    let name = hostname
        .strip_suffix('.')
        .unwrap_or(hostname)
        .to_ascii_lowercase();
    if name.is_empty() || name.len() > 253 {
        return Err(bad("must be 1 to 253 characters"));
    }
    let (labels, wildcard) = match name.strip_prefix("*.") {
        Some(rest) => (rest, true),
        None => (name.as_str(), false),
    };
    if labels.contains('*') {
        return Err(bad(
            "a wildcard must be the whole first label, as in *.example.com",
        ));
    }
    if labels.split('.').any(|l| l.is_empty() || l.len() > 63) {
        return Err(bad("every label must be 1 to 63 characters"));
    }
    if !labels
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.' || b == b':')
    {
        // `:` lets IPv6 literals through: clients never send them as SNI, so such an entry
        // only ever matters as the default; rejecting it would reject valid configs.
        return Err(bad("only letters, digits, '-' and '.' are allowed"));
    }
    if wildcard && !labels.contains('.') {
        return Err(bad("a wildcard needs at least two labels after '*.'"));
    }
    Ok(name)
}

/// The rustls certificate resolver: reads the current [`CertSet`] from the swap on every
/// ClientHello (a lock-free load), so a reload applies to the next handshake.
#[derive(Debug)]
pub(crate) struct CertResolver {
    pub(crate) certs: Arc<ArcSwap<CertSet>>,
}

impl ResolvesServerCert for CertResolver {
    fn resolve(&self, client_hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(Arc::clone(
            self.certs.load().lookup(client_hello.server_name()),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rustls::crypto::ring::default_provider;
    use rustls_pki_types::CertificateDer;

    /// A CertifiedKey whose chain is just a marker: lookup never inspects the key.
    fn marker(tag: &str) -> Arc<CertifiedKey> {
        let pair = rcgen::KeyPair::generate().expect("keygen");
        let key = default_provider()
            .key_provider
            .load_private_key(rustls_pki_types::PrivateKeyDer::Pkcs8(
                pair.serialize_der().into(),
            ))
            .expect("load key");
        Arc::new(CertifiedKey::new(
            vec![CertificateDer::from(tag.as_bytes().to_vec())],
            key,
        ))
    }

    fn tag(key: &CertifiedKey) -> &str {
        std::str::from_utf8(key.cert[0].as_ref()).expect("tag")
    }

    fn set(specs: &[(&str, &[&str])]) -> CertSet {
        CertSet::new(
            specs
                .iter()
                .map(|(t, names)| (names.iter().map(|n| n.to_string()).collect(), marker(t)))
                .collect(),
        )
        .expect("set")
    }

    #[test]
    fn exact_then_wildcard_then_default() {
        let s = set(&[
            ("default", &["default.test"]),
            ("a", &["a.test", "A2.Test"]),
            ("wild", &["*.wild.test"]),
            ("exact-in-wild", &["x.wild.test"]),
        ]);
        let got = |sni| tag(s.lookup(sni)).to_owned();
        assert_eq!(got(Some("a.test")), "a");
        assert_eq!(got(Some("A.TEST")), "a");
        assert_eq!(got(Some("a2.test")), "a");
        assert_eq!(got(Some("a.test.")), "a");
        assert_eq!(got(Some("y.wild.test")), "wild");
        assert_eq!(got(Some("Y.Wild.Test")), "wild");
        assert_eq!(got(Some("x.wild.test")), "exact-in-wild");
        assert_eq!(got(Some("wild.test")), "default");
        assert_eq!(got(Some("a.b.wild.test")), "default");
        assert_eq!(got(Some(".wild.test")), "default");
        assert_eq!(got(Some("unknown.test")), "default");
        assert_eq!(got(None), "default");
        let long = "a".repeat(300);
        assert_eq!(got(Some(&long)), "default");
        assert_eq!(got(Some("ä.test")), "default");
    }

    #[test]
    fn first_listing_of_a_name_wins() {
        let s = set(&[("one", &["dup.test"]), ("two", &["dup.test", "*.w.test"])]);
        assert_eq!(tag(s.lookup(Some("dup.test"))), "one");
        assert_eq!(tag(s.lookup(Some("q.w.test"))), "two");
    }

    #[test]
    fn no_certs_is_an_error() {
        assert!(matches!(
            CertSet::new(Vec::new()),
            Err(TlsError::NoCertificates)
        ));
    }

    #[test]
    fn configured_names_are_checked() {
        assert_eq!(
            normalize_configured("Example.COM.").expect("ok"),
            "example.com"
        );
        assert_eq!(
            normalize_configured("*.Example.com").expect("ok"),
            "*.example.com"
        );
        assert_eq!(normalize_configured("::1").expect("ok"), "::1");
        for bad in [
            "", "*.com", "a.*.com", "*a.com", "a..com", "a b.com", "*", "x.*",
        ] {
            assert!(
                matches!(normalize_configured(bad), Err(TlsError::BadHostname { .. })),
                "{bad:?} accepted"
            );
        }
    }

    #[test]
    fn diff_reports_changes() {
        let a1 = marker("a1");
        let b = marker("b");
        let old = CertSet::new(vec![
            (vec!["a.test".into(), "*.w.test".into()], Arc::clone(&a1)),
            (vec!["b.test".into()], Arc::clone(&b)),
        ])
        .expect("old");
        let new = CertSet::new(vec![
            (vec!["a.test".into(), "*.w.test".into()], marker("a2")),
            (vec!["c.test".into()], marker("c")),
        ])
        .expect("new");
        let r = new.diff(&old);
        assert_eq!(r.added, ["c.test"]);
        assert_eq!(r.removed, ["b.test"]);
        assert_eq!(r.replaced, ["*.w.test", "a.test"]);
        assert!(r.unchanged.is_empty());
        assert!(r.default_changed);
        assert_eq!(
            r.to_string(),
            "added [c.test]; removed [b.test]; replaced [*.w.test, a.test]; 0 unchanged; \
             default certificate changed"
        );
        let same = old.diff(&old);
        assert!(same.is_unchanged());
        assert_eq!(same.unchanged.len(), 3);
    }
}
