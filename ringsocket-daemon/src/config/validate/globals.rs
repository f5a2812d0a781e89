//! The global keys: one rule per field of [`Settings`], defaults from [`Settings::default`].
//!
//! Ranges are the original's (rs_conf.c) where they still make sense; docs/configuration.md
//! lists each with its meaning.

use std::path::PathBuf;
use std::time::Duration;

use super::Validator;
use super::values::{GIB, KIB, Obj, Range, r, show_size};
use crate::config::Level;
use crate::settings::Settings;

pub(super) const UPDATE_QUEUE_SIZE: Range = r(1, 255);
const MAX_WS_MSG_SIZE: Range = r(125, 64 * GIB);
/// The minimum is the effective `max_ws_msg_size`.
const MAX_WS_FRAME_CHAIN_SIZE_MAX: u64 = 128 * GIB;
const REALLOC_MULTIPLIER: (f64, f64) = (1.05, 2.5);
const LEVELS: &[(&str, Level)] = &[
    ("error", Level::Error),
    ("warning", Level::Warning),
    ("notice", Level::Notice),
    ("info", Level::Info),
    ("debug", Level::Debug),
];
/// Longest login name accepted (useradd's limit).
const USER_NAME_MAX: usize = 32;

/// `0` means "automatic" or "off" for some keys.
fn nonzero<T>(n: u64, some: impl FnOnce(u64) -> T) -> Option<T> {
    (n != 0).then(|| some(n))
}

impl Validator<'_> {
    /// Every global key of the root object `o`.
    pub(super) fn settings(&mut self, o: &Obj<'_>) -> Settings {
        let d = Settings::default();
        let max_ws_msg_size =
            self.opt_uint(o, "max_ws_msg_size", MAX_WS_MSG_SIZE, d.max_ws_msg_size);
        let settings = Settings {
            log_level: self.log_level(o, d.log_level),
            worker_c: nonzero(self.opt_uint(o, "worker_c", r(0, 256), 0), |n| n as u32),
            shutdown_wait_http: self.opt_secs(
                o,
                "shutdown_wait_http",
                r(0, 3600),
                d.shutdown_wait_http,
            ),
            shutdown_wait_ws: self.opt_secs(o, "shutdown_wait_ws", r(0, 3600), d.shutdown_wait_ws),
            fd_alloc_c: self.opt_u32(o, "fd_alloc_c", r(64, 1 << 24), d.fd_alloc_c),
            max_ws_msg_size,
            max_ws_frame_chain_size: self.frame_chain_size(o, max_ws_msg_size),
            realloc_multiplier: match o.get("realloc_multiplier") {
                Some((p, v)) => {
                    let (min, max) = REALLOC_MULTIPLIER;
                    self.float(&p, v, min, max).unwrap_or(d.realloc_multiplier)
                }
                None => d.realloc_multiplier,
            },
            worker_rbuf_size: self.opt_uint(
                o,
                "worker_rbuf_size",
                r(250, 64 * GIB),
                d.worker_rbuf_size,
            ),
            inbound_ring_buf_size: self.opt_uint(
                o,
                "inbound_ring_buf_size",
                r(500, 1024 * GIB),
                d.inbound_ring_buf_size,
            ),
            outbound_ring_buf_size: self.opt_uint(
                o,
                "outbound_ring_buf_size",
                r(1000, 1024 * GIB),
                d.outbound_ring_buf_size,
            ),
            owrefs_elem_c: self.opt_u32(o, "owrefs_elem_c", r(1, 1 << 24), d.owrefs_elem_c),
            epoll_buf_elem_c: self.opt_u32(
                o,
                "epoll_buf_elem_c",
                r(10, 65_535),
                d.epoll_buf_elem_c,
            ),
            update_queue_size: self.opt_u32(
                o,
                "update_queue_size",
                UPDATE_QUEUE_SIZE,
                d.update_queue_size,
            ),
            user: self.user(o, d.user),
            handshake_wait: self.opt_secs(o, "handshake_wait", r(1, 3600), d.handshake_wait),
            ping_interval: nonzero(
                self.opt_uint(
                    o,
                    "ping_interval",
                    r(0, 86_400),
                    d.ping_interval.map_or(0, |t| t.as_secs()),
                ),
                Duration::from_secs,
            ),
            pong_wait: self.opt_secs(o, "pong_wait", r(1, 3600), d.pong_wait),
            max_client_backlog: self.opt_uint(
                o,
                "max_client_backlog",
                r(KIB, 1024 * GIB),
                d.max_client_backlog,
            ),
            syslog_path: self.syslog_path(o, d.syslog_path),
            permessage_deflate: match o.get("permessage_deflate") {
                Some((p, v)) => self.compression(&p, v).apply(d.permessage_deflate),
                None => d.permessage_deflate,
            },
            max_connections: nonzero(self.opt_uint(o, "max_connections", r(0, 1 << 24), 0), |n| {
                n as u32
            }),
            max_connections_per_ip: self.opt_limit(
                o,
                "max_connections_per_ip",
                d.max_connections_per_ip,
            ),
            max_handshakes_per_second_per_ip: self.opt_limit(
                o,
                "max_handshakes_per_second_per_ip",
                d.max_handshakes_per_second_per_ip,
            ),
            max_messages_per_second: self.opt_limit(
                o,
                "max_messages_per_second",
                d.max_messages_per_second,
            ),
        };
        if let (Some(max), Some((p, v))) = (settings.max_connections, o.get("max_connections"))
            && max >= settings.fd_alloc_c
        {
            self.err(
                &p,
                Some(v),
                format!(
                    "{max} connections do not fit in fd_alloc_c ({}): the daemon needs \
                     descriptors of its own (listeners, epoll, rings, apps)",
                    settings.fd_alloc_c
                ),
                Some("lower it, or raise \"fd_alloc_c\"".into()),
            );
        }
        settings
    }

    /// A limit where 0 turns it off.
    fn opt_limit(&mut self, o: &Obj<'_>, key: &str, default: Option<u32>) -> Option<u32> {
        let n = self.opt_uint(o, key, r(0, 1 << 30), u64::from(default.unwrap_or(0)));
        nonzero(n, |n| n as u32)
    }

    fn log_level(&mut self, o: &Obj<'_>, default: Level) -> Level {
        let Some((p, v)) = o.get("log_level") else {
            return default;
        };
        let Some(s) = self.string(&p, v) else {
            return default;
        };
        match LEVELS.iter().find(|(name, _)| *name == s) {
            Some(&(_, level)) => level,
            None => {
                self.err(
                    &p,
                    Some(v),
                    "unknown log level",
                    Some("use \"error\", \"warning\", \"notice\", \"info\" or \"debug\"".into()),
                );
                default
            }
        }
    }

    /// At least `max_ws_msg_size` (it counts frame headers too); by default 1.1 × that size.
    fn frame_chain_size(&mut self, o: &Obj<'_>, max_ws_msg_size: u64) -> u64 {
        let default = crate::settings::default_frame_chain_size(max_ws_msg_size);
        let Some((p, v)) = o.get("max_ws_frame_chain_size") else {
            return default;
        };
        match self.uint(&p, v, 0, MAX_WS_FRAME_CHAIN_SIZE_MAX) {
            Some(n) if n < max_ws_msg_size => {
                self.err(
                    &p,
                    Some(v),
                    format!("smaller than max_ws_msg_size ({})", show_size(max_ws_msg_size)),
                    Some(format!(
                        "it counts frame headers too, so it must be at least max_ws_msg_size; omit it for {default}"
                    )),
                );
                default
            }
            Some(n) => n,
            None => default,
        }
    }

    /// A login name, or `""` (kept as `None`): keep the starting user.
    fn user(&mut self, o: &Obj<'_>, default: Option<String>) -> Option<String> {
        let Some((p, v)) = o.get("user") else {
            return default;
        };
        match self.string(&p, v)? {
            "" => None,
            s if s.contains([':', '/'])
                || s.chars().any(char::is_whitespace)
                || s.len() > USER_NAME_MAX =>
            {
                self.err(
                    &p,
                    Some(v),
                    "not a valid user name",
                    Some(
                        "give the login name of an existing user, or \"\" to keep the starting user"
                            .into(),
                    ),
                );
                None
            }
            s => Some(s.to_owned()),
        }
    }

    fn syslog_path(&mut self, o: &Obj<'_>, default: PathBuf) -> PathBuf {
        let Some((p, v)) = o.get("syslog_path") else {
            return default;
        };
        match self.string(&p, v) {
            Some(s) if s.starts_with('/') => PathBuf::from(s),
            Some(_) => {
                self.err(
                    &p,
                    Some(v),
                    "must be an absolute path",
                    Some(format!("the usual socket is {}", default.display())),
                );
                default
            }
            None => default,
        }
    }
}
