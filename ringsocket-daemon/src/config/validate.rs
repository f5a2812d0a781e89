//! The validator: walks the parsed `Value` key by key, applies defaults and ranges, checks the
//! cross-references and the environment, and collects every error with its key path and
//! position.

use std::collections::HashMap;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::{Map, Value};

use super::error::{ConfigError, ConfigErrors, Diagnostic, Pos, Warning, show_value};
use super::files::{UserIds, check_readable, lookup_user, unreadable_by};
use super::index::{PosIndex, index_path, key_path};
use super::strip::{UnterminatedComment, strip_comments};
use super::url::parse_endpoint_url;
use super::{
    Admin, App, Cert, Config, Endpoint, EndpointUrl, IpFamily, Level, LoadOptions, Loaded, Port,
};

/// Inclusive range of an integer key, and its default.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Range {
    pub min: u64,
    pub max: u64,
    pub default: u64,
}

const fn r(min: u64, max: u64, default: u64) -> Range {
    Range { min, max, default }
}

const KIB: u64 = 1 << 10;
const MIB: u64 = 1 << 20;
const GIB: u64 = 1 << 30;

// Ranges: the original's (rs_conf.c) where they still make sense; see docs/configuration.md.
pub(crate) const WORKER_C: Range = r(0, 256, 0);
pub(crate) const SHUTDOWN_WAIT_HTTP: Range = r(0, 3600, 15);
pub(crate) const SHUTDOWN_WAIT_WS: Range = r(0, 3600, 30);
pub(crate) const FD_ALLOC_C: Range = r(64, 1 << 24, 4096);
pub(crate) const MAX_WS_MSG_SIZE: Range = r(125, 64 * GIB, 16 * MIB);
/// The default is computed from `max_ws_msg_size`; the minimum is that value.
pub(crate) const MAX_WS_FRAME_CHAIN_SIZE_MAX: u64 = 128 * GIB;
pub(crate) const REALLOC_MULTIPLIER: (f64, f64, f64) = (1.05, 2.5, 1.5);
pub(crate) const WORKER_RBUF_SIZE: Range = r(250, 64 * GIB, 32 * MIB);
pub(crate) const INBOUND_RING_BUF_SIZE: Range = r(500, 1024 * GIB, 64 * MIB);
pub(crate) const OUTBOUND_RING_BUF_SIZE: Range = r(1000, 1024 * GIB, 128 * MIB);
pub(crate) const OWREFS_ELEM_C: Range = r(1, 1 << 24, 10_000);
pub(crate) const EPOLL_BUF_ELEM_C: Range = r(10, 65_535, 100);
pub(crate) const UPDATE_QUEUE_SIZE: Range = r(1, 255, 5);
pub(crate) const HANDSHAKE_WAIT: Range = r(1, 3600, 10);
pub(crate) const PING_INTERVAL: Range = r(0, 86_400, 30);
pub(crate) const PONG_WAIT: Range = r(1, 3600, 10);
pub(crate) const MAX_CLIENT_BACKLOG: Range = r(KIB, 1024 * GIB, 8 * MIB);
pub(crate) const PORT_NUMBER: Range = r(1, 65_535, 0);
pub(crate) const ENDPOINT_ID: Range = r(0, 65_535, 0);
pub(crate) const WBUF_SIZE: Range = r(64, u32::MAX as u64, MIB);
/// Bytes in an app's `"name"` (the original's limit: a short log prefix).
pub(crate) const APP_NAME_MAX: usize = 32;
/// Bytes in an `"interface"` name (`IFNAMSIZ` − 1).
pub(crate) const INTERFACE_MAX: usize = 15;
/// The run user when `"user"` is omitted.
pub(crate) const DEFAULT_USER: &str = "ringsock";
/// The syslog socket when `"syslog_path"` is omitted.
pub(crate) const DEFAULT_SYSLOG_PATH: &str = "/dev/log";

const ROOT_KEYS: &[&str] = &[
    "ports",
    "certs",
    "apps",
    "log_level",
    "worker_c",
    "shutdown_wait_http",
    "shutdown_wait_ws",
    "fd_alloc_c",
    "max_ws_msg_size",
    "max_ws_frame_chain_size",
    "realloc_multiplier",
    "worker_rbuf_size",
    "inbound_ring_buf_size",
    "outbound_ring_buf_size",
    "owrefs_elem_c",
    "epoll_buf_elem_c",
    "update_queue_size",
    "user",
    "handshake_wait",
    "ping_interval",
    "pong_wait",
    "max_client_backlog",
    "syslog_path",
    "admin",
];
const ADMIN_KEYS: &[&str] = &["port", "address"];
/// The admin listener's address when `"address"` is omitted.
pub(crate) const DEFAULT_ADMIN_ADDRESS: &str = "127.0.0.1";
const PORT_KEYS: &[&str] = &[
    "port_number",
    "is_unencrypted",
    "ip_addrs",
    "interface",
    "ipv4only",
    "ipv6only",
    "ipv4_is_embedded_in_ipv6",
];
const CERT_KEYS: &[&str] = &["hostnames", "privkey_path", "pubchain_path"];
const APP_KEYS: &[&str] = &[
    "name",
    "app_path",
    "endpoints",
    "no_open_cb",
    "no_close_cb",
    "wbuf_size",
    "update_queue_size",
];
const ENDPOINT_KEYS: &[&str] = &["endpoint_id", "url", "allowed_origins"];
const LEVELS: &[(&str, Level)] = &[
    ("error", Level::Error),
    ("warning", Level::Warning),
    ("notice", Level::Notice),
    ("info", Level::Info),
    ("debug", Level::Debug),
];

/// Strips, parses, indexes and validates `text`.
pub(crate) fn load_text(
    text: &str,
    origin: &str,
    options: &LoadOptions,
) -> Result<Loaded, ConfigErrors> {
    let fail = |pos: Pos, message: String, hint: Option<&str>| ConfigErrors {
        errors: vec![ConfigError(Diagnostic {
            origin: origin.to_owned(),
            pos: Some(pos),
            path: String::new(),
            value: None,
            message,
            hint: hint.map(str::to_owned),
        })],
        warnings: Vec::new(),
    };
    let stripped = strip_comments(text).map_err(|UnterminatedComment(pos)| {
        fail(
            pos,
            "unterminated /* comment".into(),
            Some("close it with */"),
        )
    })?;
    let value: Value = serde_json::from_str(&stripped).map_err(|e| {
        // serde_json appends " at line L column C"; the position goes in front instead.
        let full = e.to_string();
        let suffix = format!(" at line {} column {}", e.line(), e.column());
        let message = full.strip_suffix(&suffix).unwrap_or(&full).to_owned();
        let hint = match e.classify() {
            serde_json::error::Category::Eof => {
                Some("a closing bracket, brace or quote is probably missing")
            }
            _ if message.contains("trailing comma") => {
                Some("JSON allows no comma after the last element")
            }
            _ => None,
        };
        let pos = Pos {
            line: e.line().max(1),
            column: e.column().max(1),
        };
        fail(pos, format!("invalid JSON: {message}"), hint)
    })?;
    let base_dir = match &options.base_dir {
        Some(dir) => dir.clone(),
        None => std::env::current_dir().unwrap_or_else(|_| PathBuf::from(".")),
    };
    let mut v = Validator {
        origin,
        idx: PosIndex::build(&stripped),
        options,
        base_dir,
        errors: Vec::new(),
        warnings: Vec::new(),
    };
    for (path, pos) in std::mem::take(&mut v.idx.duplicates) {
        v.push_err(
            &path,
            Some(pos),
            None,
            "this key is repeated in its object".into(),
            Some("remove one of them (only the last would count)".into()),
        );
    }
    let config = v.root(&value);
    v.errors.sort_by(|a, b| a.0.sort_key().cmp(&b.0.sort_key()));
    v.warnings
        .sort_by(|a, b| a.0.sort_key().cmp(&b.0.sort_key()));
    match config {
        Some(config) if v.errors.is_empty() => Ok((config, v.warnings)),
        _ => Err(ConfigErrors {
            errors: v.errors,
            warnings: v.warnings,
        }),
    }
}

/// The parent of a key path (`apps[0].name` → `apps[0]`, `apps[0]` → `apps`, `apps` → ``).
fn parent(path: &str) -> &str {
    match path.rfind(['.', '[']) {
        Some(i) => path.get(..i).unwrap_or(""),
        None => "",
    }
}

/// Edit distance, for "did you mean" on unknown keys.
fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1];
        for (j, &cb) in b.iter().enumerate() {
            let sub = prev.get(j).copied().unwrap_or(0) + usize::from(ca != cb);
            let del = prev.get(j + 1).copied().unwrap_or(0) + 1;
            let ins = cur.get(j).copied().unwrap_or(0) + 1;
            cur.push(sub.min(del).min(ins));
        }
        prev = cur;
    }
    prev.last().copied().unwrap_or(0)
}

/// A number with its binary-unit reading when that is exact: `16777216 (16 MiB)`.
fn show_size(n: u64) -> String {
    for (unit, name) in [(GIB, "GiB"), (MIB, "MiB"), (KIB, "KiB")] {
        if n >= unit && n.is_multiple_of(unit) {
            return format!("{n} ({} {name})", n / unit);
        }
    }
    n.to_string()
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "true/false",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// An object being read: its path and members.
struct Obj<'v> {
    path: String,
    map: &'v Map<String, Value>,
}

impl<'v> Obj<'v> {
    fn get(&self, key: &str) -> Option<(String, &'v Value)> {
        self.map.get(key).map(|v| (key_path(&self.path, key), v))
    }
}

/// What an endpoint needs for the cross-checks once every port and cert is known.
struct EndpointRef {
    url_path: String,
    url: EndpointUrl,
    /// The `"url"` value as written, for messages.
    value: Value,
}

struct Validator<'a> {
    origin: &'a str,
    idx: PosIndex,
    options: &'a LoadOptions,
    base_dir: PathBuf,
    errors: Vec<ConfigError>,
    warnings: Vec<Warning>,
}

impl Validator<'_> {
    /// Where `path` starts, or its nearest ancestor that exists (for missing keys).
    fn pos_of(&self, path: &str) -> Option<Pos> {
        let mut p = path;
        loop {
            if let Some(pos) = self.idx.value(p) {
                return Some(pos);
            }
            if p.is_empty() {
                return None;
            }
            p = parent(p);
        }
    }

    fn diag(
        &self,
        path: &str,
        pos: Option<Pos>,
        value: Option<&Value>,
        message: String,
        hint: Option<String>,
    ) -> Diagnostic {
        Diagnostic {
            origin: self.origin.to_owned(),
            pos,
            path: path.to_owned(),
            value: value.and_then(show_value),
            message,
            hint,
        }
    }

    fn push_err(
        &mut self,
        path: &str,
        pos: Option<Pos>,
        value: Option<&Value>,
        message: String,
        hint: Option<String>,
    ) {
        let d = self.diag(path, pos, value, message, hint);
        self.errors.push(ConfigError(d));
    }

    /// An error about the value at `path`.
    fn err(
        &mut self,
        path: &str,
        value: Option<&Value>,
        message: impl Into<String>,
        hint: Option<String>,
    ) {
        let pos = self.pos_of(path);
        self.push_err(path, pos, value, message.into(), hint);
    }

    /// A warning about the value at `path`.
    fn warn(&mut self, path: &str, message: impl Into<String>, hint: Option<String>) {
        let d = self.diag(path, self.pos_of(path), None, message.into(), hint);
        self.warnings.push(Warning(d));
    }

    fn missing(&mut self, path: &str, hint: &str) {
        let pos = self.pos_of(path);
        self.push_err(
            path,
            pos,
            None,
            "missing (required)".into(),
            Some(hint.to_owned()),
        );
    }

    fn type_err(&mut self, path: &str, v: &Value, expected: &str) {
        let hint = match v {
            Value::String(s) if s == "true" || s == "false" => {
                Some(format!("write {s} without quotes"))
            }
            Value::String(s) if s.parse::<f64>().is_ok() => {
                Some(format!("write {s} without quotes"))
            }
            _ => None,
        };
        self.err(
            path,
            Some(v),
            format!("expected {expected}, found {}", kind(v)),
            hint,
        );
    }

    fn object<'v>(&mut self, path: &str, v: &'v Value, known: &[&str]) -> Option<Obj<'v>> {
        let Value::Object(map) = v else {
            self.type_err(path, v, "an object");
            return None;
        };
        for key in map.keys() {
            if known.contains(&key.as_str()) {
                continue;
            }
            let kp = key_path(path, key);
            let guess = known
                .iter()
                .map(|k| (distance(&key.to_ascii_lowercase(), k), *k))
                .filter(|&(d, _)| d <= 2)
                .min();
            let hint = match guess {
                Some((_, k)) => format!("did you mean \"{k}\"?"),
                None => format!("known keys here: {}", known.join(", ")),
            };
            let pos = self.idx.key(&kp).or_else(|| self.pos_of(path));
            self.push_err(&kp, pos, None, format!("unknown key \"{key}\""), Some(hint));
        }
        Some(Obj {
            path: path.to_owned(),
            map,
        })
    }

    fn array<'v>(&mut self, path: &str, v: &'v Value) -> Option<&'v [Value]> {
        match v {
            Value::Array(a) => Some(a),
            _ => {
                self.type_err(path, v, "an array");
                None
            }
        }
    }

    fn uint(&mut self, path: &str, v: &Value, min: u64, max: u64) -> Option<u64> {
        let Value::Number(n) = v else {
            self.type_err(path, v, "a whole number");
            return None;
        };
        match n.as_u64() {
            Some(x) if (min..=max).contains(&x) => Some(x),
            _ => {
                self.err(
                    path,
                    Some(v),
                    format!(
                        "out of range: must be a whole number from {} to {}",
                        show_size(min),
                        show_size(max)
                    ),
                    None,
                );
                None
            }
        }
    }

    fn float(&mut self, path: &str, v: &Value, min: f64, max: f64) -> Option<f64> {
        let Some(x) = v.as_f64() else {
            self.type_err(path, v, "a number");
            return None;
        };
        if (min..=max).contains(&x) {
            Some(x)
        } else {
            self.err(
                path,
                Some(v),
                format!("out of range: must be from {min} to {max}"),
                None,
            );
            None
        }
    }

    fn boolean(&mut self, path: &str, v: &Value) -> Option<bool> {
        match v {
            Value::Bool(b) => Some(*b),
            _ => {
                self.type_err(path, v, "true or false");
                None
            }
        }
    }

    /// A string without NUL bytes (C apps see every string through `rs_get_conf`).
    fn string<'v>(&mut self, path: &str, v: &'v Value) -> Option<&'v str> {
        match v {
            Value::String(s) if s.contains('\0') => {
                self.err(path, Some(v), "contains a NUL character", None);
                None
            }
            Value::String(s) => Some(s),
            _ => {
                self.type_err(path, v, "a string");
                None
            }
        }
    }

    /// An optional integer key with its range and default.
    fn opt_uint(&mut self, o: &Obj<'_>, key: &str, range: Range) -> u64 {
        match o.get(key) {
            Some((p, v)) => self
                .uint(&p, v, range.min, range.max)
                .unwrap_or(range.default),
            None => range.default,
        }
    }

    fn opt_u32(&mut self, o: &Obj<'_>, key: &str, range: Range) -> u32 {
        u32::try_from(self.opt_uint(o, key, range)).unwrap_or(u32::MAX)
    }

    fn opt_secs(&mut self, o: &Obj<'_>, key: &str, range: Range) -> Duration {
        Duration::from_secs(self.opt_uint(o, key, range))
    }

    fn opt_bool(&mut self, o: &Obj<'_>, key: &str) -> bool {
        match o.get(key) {
            Some((p, v)) => self.boolean(&p, v).unwrap_or(false),
            None => false,
        }
    }

    /// A path key: a non-empty string, made absolute against the base directory.
    fn path(&mut self, path: &str, v: &Value) -> Option<PathBuf> {
        let s = self.string(path, v)?;
        if s.is_empty() {
            self.err(path, Some(v), "the path is empty", None);
            return None;
        }
        let joined = self.base_dir.join(s);
        Some(std::path::absolute(&joined).unwrap_or(joined))
    }

    fn root(&mut self, v: &Value) -> Option<Config> {
        let Value::Object(_) = v else {
            self.err(
                "",
                None,
                format!("the configuration must be a JSON object, found {}", kind(v)),
                Some("write { \"ports\": [...], \"apps\": [...] }".into()),
            );
            return None;
        };
        let o = self.object("", v, ROOT_KEYS)?;

        let log_level = match o.get("log_level") {
            None => Level::Notice,
            Some((p, v)) => match self.string(&p, v) {
                Some(s) => match LEVELS.iter().find(|(name, _)| *name == s) {
                    Some(&(_, level)) => level,
                    None => {
                        self.err(
                            &p,
                            Some(v),
                            "unknown log level",
                            Some(
                                "use \"error\", \"warning\", \"notice\", \"info\" or \"debug\""
                                    .into(),
                            ),
                        );
                        Level::Notice
                    }
                },
                None => Level::Notice,
            },
        };
        let worker_c = match self.opt_u32(&o, "worker_c", WORKER_C) {
            0 => None,
            n => Some(n),
        };
        let shutdown_wait_http = self.opt_secs(&o, "shutdown_wait_http", SHUTDOWN_WAIT_HTTP);
        let shutdown_wait_ws = self.opt_secs(&o, "shutdown_wait_ws", SHUTDOWN_WAIT_WS);
        let fd_alloc_c = self.opt_u32(&o, "fd_alloc_c", FD_ALLOC_C);
        let max_ws_msg_size = self.opt_uint(&o, "max_ws_msg_size", MAX_WS_MSG_SIZE);
        // 1.1 × the message size, rounded up (the spec's default, now following the effective
        // message size rather than only the default one).
        let chain_default = max_ws_msg_size.saturating_mul(11).div_ceil(10);
        let max_ws_frame_chain_size = match o.get("max_ws_frame_chain_size") {
            None => chain_default,
            Some((p, v)) => match self.uint(&p, v, 0, MAX_WS_FRAME_CHAIN_SIZE_MAX) {
                Some(n) if n < max_ws_msg_size => {
                    self.err(
                        &p,
                        Some(v),
                        format!("smaller than max_ws_msg_size ({})", show_size(max_ws_msg_size)),
                        Some(format!(
                            "it counts frame headers too, so it must be at least max_ws_msg_size; omit it for {chain_default}"
                        )),
                    );
                    chain_default
                }
                Some(n) => n,
                None => chain_default,
            },
        };
        let (rmin, rmax, rdefault) = REALLOC_MULTIPLIER;
        let realloc_multiplier = match o.get("realloc_multiplier") {
            Some((p, v)) => self.float(&p, v, rmin, rmax).unwrap_or(rdefault),
            None => rdefault,
        };
        let worker_rbuf_size = self.opt_uint(&o, "worker_rbuf_size", WORKER_RBUF_SIZE);
        let inbound_ring_buf_size =
            self.opt_uint(&o, "inbound_ring_buf_size", INBOUND_RING_BUF_SIZE);
        let outbound_ring_buf_size =
            self.opt_uint(&o, "outbound_ring_buf_size", OUTBOUND_RING_BUF_SIZE);
        let owrefs_elem_c = self.opt_u32(&o, "owrefs_elem_c", OWREFS_ELEM_C);
        let epoll_buf_elem_c = self.opt_u32(&o, "epoll_buf_elem_c", EPOLL_BUF_ELEM_C);
        let update_queue_size = self.opt_u32(&o, "update_queue_size", UPDATE_QUEUE_SIZE);
        let user = match o.get("user") {
            None => Some(DEFAULT_USER.to_owned()),
            Some((p, v)) => match self.string(&p, v) {
                Some("") => None,
                Some(s)
                    if s.contains([':', '/'])
                        || s.chars().any(char::is_whitespace)
                        || s.len() > 32 =>
                {
                    self.err(&p, Some(v), "not a valid user name", Some("give the login name of an existing user, or \"\" to keep the starting user".into()));
                    None
                }
                Some(s) => Some(s.to_owned()),
                None => None,
            },
        };
        let handshake_wait = self.opt_secs(&o, "handshake_wait", HANDSHAKE_WAIT);
        let ping_interval = match self.opt_uint(&o, "ping_interval", PING_INTERVAL) {
            0 => None,
            n => Some(Duration::from_secs(n)),
        };
        let pong_wait = self.opt_secs(&o, "pong_wait", PONG_WAIT);
        let max_client_backlog = self.opt_uint(&o, "max_client_backlog", MAX_CLIENT_BACKLOG);
        let syslog_path = match o.get("syslog_path") {
            None => PathBuf::from(DEFAULT_SYSLOG_PATH),
            Some((p, v)) => match self.string(&p, v) {
                Some(s) if s.starts_with('/') => PathBuf::from(s),
                Some(_) => {
                    self.err(
                        &p,
                        Some(v),
                        "must be an absolute path",
                        Some(format!("the usual socket is {DEFAULT_SYSLOG_PATH}")),
                    );
                    PathBuf::from(DEFAULT_SYSLOG_PATH)
                }
                None => PathBuf::from(DEFAULT_SYSLOG_PATH),
            },
        };

        // fd_alloc_c against the hard limit, checked even for the default.
        let hard = match self.options.nofile_hard_limit {
            Some(n) => Some(n),
            None => rustix::process::getrlimit(rustix::process::Resource::Nofile).maximum,
        };
        if let Some(hard) = hard
            && u64::from(fd_alloc_c) > hard
        {
            let (path, value) = match o.get("fd_alloc_c") {
                Some((p, v)) => (p, Some(v)),
                None => ("fd_alloc_c".to_owned(), None),
            };
            let what = if value.is_none() {
                " (the default)"
            } else {
                ""
            };
            self.err(
                &path,
                value,
                format!("{fd_alloc_c}{what} is above this process's hard RLIMIT_NOFILE limit of {hard}"),
                Some(format!(
                    "lower fd_alloc_c to at most {hard}, or raise the hard limit (ulimit -Hn, LimitNOFILE= in systemd)"
                )),
            );
        }

        let ports = match o.get("ports") {
            Some((p, v)) => self.ports(&p, v),
            None => {
                self.missing("ports", "add \"ports\": [{\"port_number\": 443}]");
                Vec::new()
            }
        };
        let (certs, certs_ok) = match o.get("certs") {
            Some((p, v)) => self.certs(&p, v),
            None => (Vec::new(), true),
        };
        let mut endpoint_refs = Vec::new();
        let apps = match o.get("apps") {
            Some((p, v)) => self.apps(&p, v, update_queue_size, &mut endpoint_refs),
            None => {
                self.missing(
                    "apps",
                    "add \"apps\": [{\"name\": ..., \"app_path\": ..., \"endpoints\": [...]}]",
                );
                Vec::new()
            }
        };
        self.cross_check(&ports, &certs, certs_ok, &endpoint_refs);
        let admin = match o.get("admin") {
            Some((p, v)) => self.admin(&p, v, &ports),
            None => None,
        };
        if self.options.check_files {
            self.check_run_user(user.as_deref(), &certs);
        }

        Some(Config {
            ports: ports.into_iter().map(|(_, p)| p).collect(),
            certs,
            apps,
            log_level,
            worker_c,
            shutdown_wait_http,
            shutdown_wait_ws,
            fd_alloc_c,
            max_ws_msg_size,
            max_ws_frame_chain_size,
            realloc_multiplier,
            worker_rbuf_size,
            inbound_ring_buf_size,
            outbound_ring_buf_size,
            owrefs_elem_c,
            epoll_buf_elem_c,
            update_queue_size,
            user,
            handshake_wait,
            ping_interval,
            pong_wait,
            max_client_backlog,
            syslog_path,
            admin,
        })
    }

    /// `"admin"`: `{"port": N, "address": "127.0.0.1"}`.
    fn admin(&mut self, path: &str, v: &Value, ports: &[(String, Port)]) -> Option<Admin> {
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

    /// A non-empty array at `path`.
    fn nonempty_array<'v>(&mut self, path: &str, v: &'v Value, hint: &str) -> &'v [Value] {
        let items = self.array(path, v).unwrap_or_default();
        if items.is_empty() && matches!(v, Value::Array(_)) {
            self.err(
                path,
                None,
                "must list at least one element",
                Some(hint.to_owned()),
            );
        }
        items
    }

    /// The ports, each with its path.
    fn ports(&mut self, path: &str, v: &Value) -> Vec<(String, Port)> {
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
            if let Some(port_number) = port_number {
                out.push((
                    pp,
                    Port {
                        port_number,
                        is_unencrypted,
                        ip_addrs,
                        interface,
                        family,
                    },
                ));
            }
        }
        out
    }

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
    fn certs(&mut self, path: &str, v: &Value) -> (Vec<Cert>, bool) {
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

    /// With file checks on: the file at `path` (from key `key_path`) must open now.
    fn check_file(&mut self, key_path: &str, v: &Value, path: &Path) {
        if !self.options.check_files {
            return;
        }
        if let Err(why) = check_readable(path) {
            let shown = if path.to_str() == v.as_str() {
                why
            } else {
                format!("{} {why}", path.display())
            };
            self.err(key_path, Some(v), shown, None);
        }
    }

    fn apps(
        &mut self,
        path: &str,
        v: &Value,
        global_uqs: u32,
        refs: &mut Vec<EndpointRef>,
    ) -> Vec<App> {
        let mut out = Vec::new();
        let items = self.nonempty_array(
            path,
            v,
            "add an app: {\"name\": ..., \"app_path\": ..., \"endpoints\": [...]}",
        );
        for (i, item) in items.iter().enumerate() {
            let ap = index_path(path, i);
            let Some(o) = self.object(&ap, item, APP_KEYS) else {
                continue;
            };
            let name = match o.get("name") {
                Some((p, v)) => match self.string(&p, v) {
                    Some(s)
                        if s.is_empty()
                            || s.len() > APP_NAME_MAX
                            || s.chars().any(char::is_control) =>
                    {
                        self.err(
                            &p,
                            Some(v),
                            format!("must be 1 to {APP_NAME_MAX} bytes of printable text"),
                            None,
                        );
                        None
                    }
                    other => other.map(str::to_owned),
                },
                None => {
                    self.missing(
                        &key_path(&ap, "name"),
                        "add \"name\": a short name for log lines",
                    );
                    None
                }
            };
            let app_path = match o.get("app_path") {
                Some((p, v)) => self
                    .path(&p, v)
                    .inspect(|path| self.check_file(&p, v, path)),
                None => {
                    self.missing(
                        &key_path(&ap, "app_path"),
                        "add \"app_path\": the app's .so file",
                    );
                    None
                }
            };
            let no_open_cb = self.opt_bool(&o, "no_open_cb");
            let no_close_cb = self.opt_bool(&o, "no_close_cb");
            let wbuf_size = self.opt_uint(&o, "wbuf_size", WBUF_SIZE);
            let update_queue_size = match o.get("update_queue_size") {
                Some((p, v)) => self
                    .uint(&p, v, UPDATE_QUEUE_SIZE.min, UPDATE_QUEUE_SIZE.max)
                    .and_then(|n| u32::try_from(n).ok())
                    .unwrap_or(global_uqs),
                None => global_uqs,
            };
            let endpoints = match o.get("endpoints") {
                Some((p, v)) => self.endpoints(&p, v, refs),
                None => {
                    self.missing(&key_path(&ap, "endpoints"), "add \"endpoints\": [{\"endpoint_id\": 0, \"url\": \"wss://example.com/app\"}]");
                    Vec::new()
                }
            };
            if let (Some(name), Some(app_path)) = (name, app_path) {
                out.push(App {
                    name,
                    app_path,
                    endpoints,
                    no_open_cb,
                    no_close_cb,
                    wbuf_size,
                    update_queue_size,
                });
            }
        }
        out
    }

    fn endpoints(&mut self, path: &str, v: &Value, refs: &mut Vec<EndpointRef>) -> Vec<Endpoint> {
        let mut out: Vec<Endpoint> = Vec::new();
        let mut ids: HashMap<u16, String> = HashMap::new();
        let items = self.nonempty_array(
            path,
            v,
            "add {\"endpoint_id\": 0, \"url\": \"wss://example.com/app\"}",
        );
        if items.len() > usize::from(u16::MAX) {
            self.err(
                path,
                None,
                format!("at most {} endpoints per app", u16::MAX),
                None,
            );
        }
        for (i, item) in items.iter().enumerate() {
            let ep = index_path(path, i);
            let Some(o) = self.object(&ep, item, ENDPOINT_KEYS) else {
                continue;
            };
            let endpoint_id = match o.get("endpoint_id") {
                Some((p, v)) => self
                    .uint(&p, v, ENDPOINT_ID.min, ENDPOINT_ID.max)
                    .and_then(|n| u16::try_from(n).ok())
                    .and_then(|id| {
                        if let Some(first) = ids.get(&id) {
                            let msg = format!("endpoint id {id} is already used by {first}");
                            self.err(
                                &p,
                                Some(v),
                                msg,
                                Some("give each endpoint of an app its own id".into()),
                            );
                            return None;
                        }
                        ids.insert(id, ep.clone());
                        Some(id)
                    }),
                None => {
                    self.missing(&key_path(&ep, "endpoint_id"), "add \"endpoint_id\": a number from 0 to 65535 the app uses to tell endpoints apart");
                    None
                }
            };
            let url = match o.get("url") {
                Some((p, v)) => self
                    .string(&p, v)
                    .and_then(|s| match parse_endpoint_url(s) {
                        Ok(url) => {
                            refs.push(EndpointRef {
                                url_path: p.clone(),
                                url: url.clone(),
                                value: v.clone(),
                            });
                            Some((url, s.to_owned()))
                        }
                        Err(e) => {
                            self.err(&p, Some(v), e.message, e.hint);
                            None
                        }
                    }),
                None => {
                    self.missing(
                        &key_path(&ep, "url"),
                        "add \"url\": \"wss://example.com/path\"",
                    );
                    None
                }
            };
            let allowed_origins = match o.get("allowed_origins") {
                None => {
                    self.warn(
                        &ep,
                        "\"allowed_origins\" is omitted, so browser pages from any origin may connect",
                        Some("list the allowed origins (e.g. [\"https://example.com\"]), or [] to allow only clients that send no Origin".into()),
                    );
                    None
                }
                Some((p, v)) => {
                    let list = self.array(&p, v).unwrap_or_default();
                    let mut origins = Vec::new();
                    for (j, item) in list.iter().enumerate() {
                        let op = index_path(&p, j);
                        let Some(s) = self.string(&op, item) else {
                            continue;
                        };
                        match ws_proto::handshake::validate_allowed_origin(s) {
                            Ok(()) => origins.push(s.to_owned()),
                            Err(e) => {
                                let hint = if s.matches('/').count() > 2 {
                                    "an origin is scheme://host[:port] with no path, not even a trailing slash"
                                } else {
                                    "write it as scheme://host[:port], e.g. \"https://example.com\""
                                };
                                self.err(
                                    &op,
                                    Some(item),
                                    format!("not an origin: {}", e.reason()),
                                    Some(hint.into()),
                                );
                            }
                        }
                    }
                    Some(origins)
                }
            };
            if let (Some(endpoint_id), Some((url, url_text))) = (endpoint_id, url) {
                out.push(Endpoint {
                    endpoint_id,
                    url,
                    url_text,
                    allowed_origins,
                });
            }
        }
        out
    }

    /// The rules that relate endpoints, ports and certs.
    fn cross_check(
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

    /// Warnings about the run user: missing, or unable to read the certificate files after the
    /// privilege drop.
    fn check_run_user(&mut self, user: Option<&str>, certs: &[Cert]) {
        let Some(user) = user else { return };
        let passwd = std::fs::read_to_string(&self.options.passwd_path).unwrap_or_default();
        let group = std::fs::read_to_string(&self.options.group_path).unwrap_or_default();
        let at = if self.idx.value("user").is_some() {
            "user"
        } else {
            ""
        };
        let Some(ids): Option<UserIds> = lookup_user(user, &passwd, &group) else {
            self.warn(
                at,
                format!(
                    "the run user \"{user}\" does not exist in {}; starting as root will fail",
                    self.options.passwd_path.display()
                ),
                Some(format!(
                    "create it (useradd --system --shell /usr/sbin/nologin {user}), or set \"user\": \"\" to keep the starting user"
                )),
            );
            return;
        };
        for (i, cert) in certs.iter().enumerate() {
            for (key, file) in [
                ("privkey_path", &cert.privkey_path),
                ("pubchain_path", &cert.pubchain_path),
            ] {
                if check_readable(file).is_err() {
                    continue; // already an error
                }
                if let Some(why) = unreadable_by(file, &ids) {
                    let kp = key_path(&index_path("certs", i), key);
                    self.warn(
                        &kp,
                        format!("the run user \"{user}\" cannot read {} after the privilege drop: {why}", file.display()),
                        Some(format!("e.g. chgrp {user} on the file with chmod g+r (and g+x on its directories)")),
                    );
                }
            }
        }
    }
}

/// `*.x` → `x`.
fn rest_of(wildcard: &str) -> &str {
    wildcard.strip_prefix("*.").unwrap_or(wildcard)
}
