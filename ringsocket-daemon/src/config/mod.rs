//! The daemon's configuration: `ringsocket.json` read, checked and resolved before anything
//! binds.
//!
//! # Format
//!
//! JSON with `//` and `/* */` comments, as the original RingSocket (via Jgrandson) accepted.
//! The reference for every key is `docs/configuration.md`.
//!
//! # How it is read
//!
//! 1. A stripper replaces each comment by spaces, keeping newlines, so every line and
//!    column stays where it was (comment markers inside strings are left alone).
//! 2. `serde_json` parses the stripped text into a `Value`; a syntax error keeps serde_json's
//!    line and column, which are the file's.
//! 3. A position index walks the same text once more and records where every key path starts,
//!    because `Value` keeps no positions.
//! 4. The validator walks the `Value` key by key, collecting every error (unknown keys, wrong
//!    types, ranges, cross-references, files) rather than stopping at the first, so `--check`
//!    reports everything at once.
//!
//! Why `serde_json` and not `serde-json-core`: the config allows comments, which
//! serde-json-core cannot skip; it reports no line or column; it has no `deserialize_any`; and
//! it needs fixed capacities for every list. The daemon has `std`, so none of that buys
//! anything. Why not `#[derive(Deserialize)]` with `deny_unknown_fields`: derived
//! deserialisation stops at the first error and does not say which key a type error belongs
//! to; walking the `Value` names the key path of every error, all in one run.

mod error;
mod files;
mod index;
mod strip;
mod url;
mod validate;

#[cfg(test)]
pub(crate) mod tests;

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::{Path, PathBuf};

pub use crate::settings::{Level, Settings};
pub use error::{ConfigError, ConfigErrors, Diagnostic, Pos, Warning};
pub use url::{EndpointUrl, UrlError, parse_endpoint_url};

/// Where the configuration is read from when no path is given.
pub const DEFAULT_PATH: &str = "/etc/ringsocket.json";

/// The fully resolved configuration: every default applied, every rule checked.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// `"ports"`: at least one.
    pub ports: Vec<Port>,
    /// `"certs"`: may be empty when no port is a `wss` one.
    pub certs: Vec<Cert>,
    /// `"apps"`: at least one.
    pub apps: Vec<App>,
    /// Every global key (`"log_level"`, `"worker_c"`, the sizes and timeouts, …).
    pub settings: Settings,
    /// `"admin"`: the plain-HTTP admin listener (`/health`, `/metrics`); `None` (omitted) is
    /// off.
    pub admin: Option<Admin>,
}

/// `"admin"`: where the admin listener listens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Admin {
    /// `"address"` (default `127.0.0.1`) and `"port"` (required).
    pub addr: SocketAddr,
}

/// One element of `"ports"`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Port {
    /// `"port_number"`.
    pub port_number: u16,
    /// `"is_unencrypted"`: plain `ws://` only; `false` (the default) is TLS `wss://` only.
    pub is_unencrypted: bool,
    /// `"ip_addrs"`: empty means every address the family allows.
    pub ip_addrs: Vec<IpAddr>,
    /// `"interface"`: bind to this device (`SO_BINDTODEVICE`); `""` reads as `None`.
    pub interface: Option<String>,
    /// `"ipv4only"`, `"ipv6only"` and `"ipv4_is_embedded_in_ipv6"`, combined.
    pub family: IpFamily,
    /// `"proxy_protocol"`: every connection starts with a PROXY protocol header (v1 or v2)
    /// naming the real client.
    pub proxy_protocol: bool,
    /// `"trust_x_forwarded_for"`: the upgrade request's last `X-Forwarded-For` address is the
    /// real client.
    pub trust_x_forwarded_for: bool,
}

/// Which IP stacks a port listens on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum IpFamily {
    /// IPv4 and IPv6 on separate sockets (the IPv6 one `IPV6_V6ONLY`): the default.
    #[default]
    Both,
    /// `"ipv4only": true`.
    Ipv4Only,
    /// `"ipv6only": true`.
    Ipv6Only,
    /// `"ipv4_is_embedded_in_ipv6": true`: one IPv6 socket that also accepts IPv4 as
    /// `::ffff:a.b.c.d`.
    Ipv4InIpv6,
}

/// One address to listen on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ListenAddr {
    /// Address and port.
    pub addr: SocketAddr,
    /// `IPV6_V6ONLY` for an IPv6 socket (meaningless for IPv4).
    pub v6only: bool,
}

impl Port {
    /// The sockets to bind (each worker binds each with `SO_REUSEPORT`).
    pub fn listen_addrs(&self) -> Vec<ListenAddr> {
        let v6only = self.family != IpFamily::Ipv4InIpv6;
        let at = |ip: IpAddr| ListenAddr {
            addr: SocketAddr::new(ip, self.port_number),
            v6only: ip.is_ipv6() && v6only,
        };
        if !self.ip_addrs.is_empty() {
            return self.ip_addrs.iter().map(|&ip| at(ip)).collect();
        }
        let any4 = IpAddr::V4(Ipv4Addr::UNSPECIFIED);
        let any6 = IpAddr::V6(Ipv6Addr::UNSPECIFIED);
        match self.family {
            IpFamily::Both => vec![at(any4), at(any6)],
            IpFamily::Ipv4Only => vec![at(any4)],
            IpFamily::Ipv6Only | IpFamily::Ipv4InIpv6 => vec![at(any6)],
        }
    }
}

/// One element of `"certs"`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cert {
    /// `"hostnames"`, lowercased; `*.example.com` is a one-label wildcard; IPv6 literals
    /// without brackets.
    pub hostnames: Vec<String>,
    /// `"privkey_path"`, made absolute (relative to the configuration file's directory).
    pub privkey_path: PathBuf,
    /// `"pubchain_path"`, made absolute likewise.
    pub pubchain_path: PathBuf,
}

impl Cert {
    /// Whether one of this certificate's names covers `host` (see [`name_covers`]).
    pub fn covers(&self, host: &str) -> bool {
        self.hostnames.iter().any(|n| name_covers(n, host))
    }
}

/// Whether the certificate name `name` covers `host`: exactly (ASCII case-insensitive), or as a
/// one-label wildcard: `*.example.com` covers `a.example.com`, not `example.com` nor
/// `a.b.example.com` (RFC 6125 §6.4.3).
pub fn name_covers(name: &str, host: &str) -> bool {
    if name.eq_ignore_ascii_case(host) {
        return true;
    }
    match (name.strip_prefix("*."), host.split_once('.')) {
        (Some(suffix), Some((label, rest))) => {
            !label.is_empty() && rest.eq_ignore_ascii_case(suffix)
        }
        _ => false,
    }
}

/// One element of `"apps"`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct App {
    /// `"name"`: the log prefix.
    pub name: String,
    /// `"app_path"`: the shared object, made absolute.
    pub app_path: PathBuf,
    /// `"endpoints"`: at least one.
    pub endpoints: Vec<Endpoint>,
    /// `"no_open_cb"`.
    pub no_open_cb: bool,
    /// `"no_close_cb"`.
    pub no_close_cb: bool,
    /// `"wbuf_size"`: initial write buffer size, default 1 MiB.
    pub wbuf_size: u64,
    /// `"update_queue_size"`: this app's value, or the global one.
    pub update_queue_size: u32,
}

/// The request headers every upgrade callback sees (lowercase); an endpoint's
/// `"upgrade_headers"` adds to them.
pub const FORWARDED_HEADERS: &[&str] = &[
    "cookie",
    "authorization",
    "sec-websocket-protocol",
    "user-agent",
    "x-forwarded-for",
    "origin",
];

/// One element of an app's `"endpoints"`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    /// `"endpoint_id"`, unique within the app.
    pub endpoint_id: u16,
    /// `"url"`, parsed.
    pub url: EndpointUrl,
    /// `"url"` as written.
    pub url_text: String,
    /// `"allowed_origins"`: `None` (omitted) allows any origin; `Some(vec![])` allows only
    /// clients that send no `Origin`.
    pub allowed_origins: Option<Vec<String>>,
    /// `"permessage_deflate"`: the keys that replace the global ones for this endpoint.
    pub permessage_deflate: crate::settings::CompressionOverride,
    /// `"subprotocols"`: the server's choices in order of preference; the first the client
    /// offers is accepted.
    pub subprotocols: Vec<String>,
    /// `"upgrade_headers"`: request headers the app's upgrade callback sees besides the
    /// standard ones (lowercase).
    pub upgrade_headers: Vec<String>,
}

/// What to check besides the file's own contents. The default checks everything.
#[derive(Debug, Clone)]
pub struct LoadOptions {
    /// Check that app, key and certificate files can be opened, and (a warning) that the run
    /// user exists and can read the certificate files. Tests turn this off.
    pub check_files: bool,
    /// The directory relative paths are resolved against. `None`: the configuration file's
    /// directory for [`Config::load`], the current directory for [`Config::from_str`].
    pub base_dir: Option<PathBuf>,
    /// The hard `RLIMIT_NOFILE` to check `fd_alloc_c` against. `None`: the process's own
    /// (`getrlimit`).
    pub nofile_hard_limit: Option<u64>,
    /// Where users are looked up.
    pub passwd_path: PathBuf,
    /// Where supplementary groups are looked up.
    pub group_path: PathBuf,
}

impl Default for LoadOptions {
    fn default() -> Self {
        Self {
            check_files: true,
            base_dir: None,
            nofile_hard_limit: None,
            passwd_path: PathBuf::from("/etc/passwd"),
            group_path: PathBuf::from("/etc/group"),
        }
    }
}

/// A successful load: the configuration and the warnings found.
pub type Loaded = (Config, Vec<Warning>);

impl Config {
    /// Reads and checks the file at `path`, with every check on.
    pub fn load(path: &Path) -> Result<Loaded, ConfigErrors> {
        Self::load_with(path, &LoadOptions::default())
    }

    /// Reads and checks the file at `path`.
    pub fn load_with(path: &Path, options: &LoadOptions) -> Result<Loaded, ConfigErrors> {
        let origin = path.display().to_string();
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) => {
                let message = match e.kind() {
                    std::io::ErrorKind::NotFound => "the configuration file does not exist".into(),
                    std::io::ErrorKind::InvalidData => "the file is not UTF-8 text".into(),
                    _ => format!("cannot read the configuration file: {e}"),
                };
                let hint = (e.kind() == std::io::ErrorKind::NotFound).then(|| {
                    format!("pass the path as an argument (the default is {DEFAULT_PATH})")
                });
                return Err(ConfigErrors {
                    errors: vec![ConfigError(Diagnostic {
                        origin,
                        pos: None,
                        path: String::new(),
                        value: None,
                        message,
                        hint,
                    })],
                    warnings: Vec::new(),
                });
            }
        };
        let mut options = options.clone();
        if options.base_dir.is_none() {
            options.base_dir = Some(match path.parent() {
                Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
                _ => PathBuf::from("."),
            });
        }
        Self::from_str_with(&text, &origin, &options)
    }

    /// Checks configuration text; `origin_name` names it in messages. Every check is on and
    /// relative paths resolve against the current directory.
    pub fn from_str(text: &str, origin_name: &str) -> Result<Loaded, ConfigErrors> {
        Self::from_str_with(text, origin_name, &LoadOptions::default())
    }

    /// Checks configuration text with `options`.
    pub fn from_str_with(
        text: &str,
        origin_name: &str,
        options: &LoadOptions,
    ) -> Result<Loaded, ConfigErrors> {
        validate::load_text(text, origin_name, options)
    }

    /// The number of worker threads: `worker_c`, or `cores` minus the number of apps, at least 1
    /// (the spec's rule).
    pub fn worker_count(&self, cores: usize) -> u32 {
        self.settings.worker_count(cores, self.apps.len())
    }
}
