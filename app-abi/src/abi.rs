//! The binary interface between the host (the daemon) and an app `.so`, mirrored field for field
//! by `include/ringsocket.h`.
//!
//! The C-named types (`rs_t`, `rs_app_descriptor`, …) are the `#[repr(C)]` structs that cross
//! the boundary; the Rust-named ones ([`ClientId`], [`DataKind`], [`SendStatus`], …) are their
//! typed values. Rust apps never touch the C-named types: [`rs_app!`](crate::rs_app) and
//! [`Rs`](crate::Rs) do.
//!
//! # Versioning
//!
//! An app exports one [`rs_app_descriptor`] under the symbol [`RS_APP_SYMBOL`]. It starts with
//! [`RS_APP_MAGIC`], [`RS_ABI_VERSION`] and its own size: a later minor revision may append
//! fields, and a host reads only the fields an app's `struct_size` covers. The host passes
//! [`rs_host_fns`] with the same pair, so a newer app can tell whether a function it wants
//! exists. An incompatible change bumps [`RS_ABI_VERSION`], and the loader refuses the app.

#![allow(non_camel_case_types)] // The ABI structs keep their C names, as in ringsocket.h.

use core::ffi::{c_char, c_int, c_void};
use core::fmt;
use core::num::NonZeroU64;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};

use crate::conf::{rs_conf, rs_conf_app};

/// The ABI version this crate speaks; [`rs_app_descriptor::abi_version`] must equal it.
pub const RS_ABI_VERSION: u32 = 1;

/// The first field of every descriptor: `"RSap"` big-endian, to tell a descriptor from stray
/// memory (e.g. the original RingSocket's `ringsocket_app` function) with a clear error.
pub const RS_APP_MAGIC: u32 = u32::from_be_bytes(*b"RSap");

/// The name of the descriptor symbol an app exports (the original C RingSocket exported a
/// function named `ringsocket_app`; the different name makes such a `.so` fail cleanly).
pub const RS_APP_SYMBOL: &str = "ringsocket_app_descriptor";

/// [`rs_app_descriptor::timer_mode`]: no timer callback.
pub const RS_TIMER_MODE_NONE: u32 = 0;
/// [`rs_app_descriptor::timer_mode`]: the timer runs only while the app is awake for traffic.
pub const RS_TIMER_MODE_SLEEP: u32 = 1;
/// [`rs_app_descriptor::timer_mode`]: the timer wakes the app thread when due.
pub const RS_TIMER_MODE_WAKE: u32 = 2;

/// The close code for a message whose size does not fit the read parameters (or an empty
/// message to a switch).
pub const RS_CLOSE_WRONG_SIZE: u16 = 4900;
/// The close code for a text message to a binary reader, or the reverse.
pub const RS_CLOSE_WRONG_DATA_KIND: u16 = 4901;
/// The close code for a switch message whose first byte matches no case.
pub const RS_CLOSE_UNKNOWN_CASE: u16 = 4902;
/// The close code of every client of an app that stopped on a fatal error (RFC 6455 1011).
pub const RS_CLOSE_APP_FATAL: u16 = 1011;

/// An app callback without read payload: init, open, close and timer entry points.
///
/// Returns the spec's `int`: `-1` fatal, `0` success, `4000..=4899` close the current client
/// (open/read), `>0` re-arm after that many µs (timer).
pub type rs_cb_fn = unsafe extern "C" fn(rs: *mut rs_t) -> c_int;

/// The read entry point: decodes and validates `payload` against the app's declared parameters
/// (for a switch, picks the case by the first byte) and calls the app's read callback. Returns
/// like [`rs_cb_fn`], plus 4900/4901/4902 when validation fails.
pub type rs_read_fn = unsafe extern "C" fn(rs: *mut rs_t, payload: *const u8, len: usize) -> c_int;

/// What an app `.so` exports under [`RS_APP_SYMBOL`]: which callbacks it has and how its timer
/// runs. Every callback is optional (`None` is a null pointer in C).
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct rs_app_descriptor {
    /// [`RS_APP_MAGIC`].
    pub magic: u32,
    /// [`RS_ABI_VERSION`] as the app was built.
    pub abi_version: u32,
    /// `size_of::<rs_app_descriptor>()` as the app was built.
    pub struct_size: u32,
    /// `RS_TIMER_MODE_*`.
    pub timer_mode: u32,
    /// Microseconds from app start to the first timer call.
    pub timer_interval_us: u64,
    /// Bytes of zeroed app data the host allocates for `rs_t::app_data` (C's
    /// `RS_INIT(cb, app_data_byte_c)`; Rust apps keep their typed state there instead and say 0).
    pub app_data_size: u64,
    /// Runs once on the app thread before any client connects.
    pub init: Option<rs_cb_fn>,
    /// Runs for every new connection.
    pub open: Option<rs_cb_fn>,
    /// Runs for every message (see [`rs_read_fn`]). Without it, an app behaves as a switch
    /// with no cases: an empty message closes with 4900, any other with 4902.
    pub read: Option<rs_read_fn>,
    /// Runs once for every connection the app saw opened, however it ended.
    pub close: Option<rs_cb_fn>,
    /// The timer callback; present exactly when `timer_mode` is not [`RS_TIMER_MODE_NONE`].
    pub timer: Option<rs_cb_fn>,
    /// Runs once when the app stops for good, after every other callback (`rs_app!` drops the
    /// app's state here, so its `Drop` runs). Appended after the first release's fields: the
    /// host reads it only when `struct_size` covers it, and loads older apps without it.
    pub fini: Option<rs_cb_fn>,
    /// Runs for every upgrade request to one of the app's endpoints, before the `101` is sent
    /// (appended like `fini`). The `rs_request_*` helpers read the request. Returns 0 to
    /// accept (with the subprotocol from `rs_set_subprotocol`, if any); an HTTP status
    /// 400..=599 to reject, with the write buffer's bytes as the response body (at most
    /// [`RS_MAX_REJECT_BODY`]); -1 for fatal (the client then gets 503, like every later one).
    pub upgrade: Option<rs_cb_fn>,
}

/// The most bytes of a rejection's body (the rest is cut).
pub const RS_MAX_REJECT_BODY: usize = 4096;
/// The most bytes of per-client data (`rs_set_client_data`).
pub const RS_MAX_CLIENT_DATA: usize = 65_536;

/// The host's side of `rs_t`: everything an app asks of the host. All functions are called on
/// the app thread during a callback, with the `rs` the callback received.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct rs_host_fns {
    /// [`RS_ABI_VERSION`] as the host was built.
    pub abi_version: u32,
    /// `size_of::<rs_host_fns>()` as the host was built; functions past it do not exist.
    pub struct_size: u32,
    /// Grows the write buffer so that `additional` more bytes fit after `wbuf_len`, updating
    /// `wbuf` and `wbuf_cap`. Returns 0, or -1 (with an error logged) when `wbuf_len` is corrupt.
    pub wbuf_reserve: unsafe extern "C" fn(rs: *mut rs_t, additional: usize) -> c_int,
    /// Sends `wbuf[..wbuf_len]` as one message of `data_kind` (`RS_BIN`/`RS_UTF8`) to the
    /// recipients `to` (`RS_TO_*`) selects, with `ids[..id_c]` for the single/multi forms, and
    /// empties the write buffer. Returns a [`SendStatus`].
    pub send: unsafe extern "C" fn(
        rs: *mut rs_t,
        to: u32,
        data_kind: u32,
        ids: *const u64,
        id_c: usize,
    ) -> c_int,
    /// Closes `client_id` with `code` (4000..=4899). Returns a [`SendStatus`].
    pub close: unsafe extern "C" fn(rs: *mut rs_t, client_id: u64, code: u16) -> c_int,
    /// Closes the current client with `code` (4000..=4899). Returns a [`SendStatus`].
    pub close_cur: unsafe extern "C" fn(rs: *mut rs_t, code: u16) -> c_int,
    /// The current client's id; 0 (and the app stops) outside open/read/close callbacks.
    pub client_id: unsafe extern "C" fn(rs: *mut rs_t) -> u64,
    /// Writes the current client's peer address to `out`; 0, or -1 outside open/read/close.
    pub client_addr: unsafe extern "C" fn(rs: *mut rs_t, out: *mut rs_sockaddr) -> c_int,
    /// The current client's endpoint id, or -1 outside open/read/close callbacks.
    pub endpoint_id: unsafe extern "C" fn(rs: *mut rs_t) -> c_int,
    /// The current message's data kind (`RS_BIN`/`RS_UTF8`), or -1 outside read callbacks.
    pub read_data_kind: unsafe extern "C" fn(rs: *mut rs_t) -> c_int,
    /// The whole configuration, read-only, valid for the life of the process.
    pub conf: unsafe extern "C" fn(rs: *mut rs_t) -> *const rs_conf,
    /// This app's entry of the configuration.
    pub app_conf: unsafe extern "C" fn(rs: *mut rs_t) -> *const rs_conf_app,
    /// Logs `msg[..len]` (UTF-8, not NUL-terminated) at a syslog `level`, prefixed with the
    /// app's name. The caller has already checked `level` against the configured `log_level`.
    pub log: unsafe extern "C" fn(rs: *mut rs_t, level: c_int, msg: *const c_char, len: usize),
    // Appended in the upgrade-hook revision: present when `struct_size` covers them.
    /// Upgrade callback only: the request target as sent (path and query), its length in
    /// `*len`. Null (and the app stops) elsewhere. The bytes stay valid for the callback.
    pub request_target: unsafe extern "C" fn(rs: *mut rs_t, len: *mut usize) -> *const u8,
    /// Upgrade callback only: the first forwarded header named `name[..name_len]` (ASCII
    /// case-insensitive), or null when absent or not forwarded (`Cookie`, `Authorization`,
    /// `Sec-WebSocket-Protocol`, `User-Agent`, `X-Forwarded-For`, `Origin` and those the
    /// endpoint's `upgrade_headers` lists are). Valid for the callback.
    pub request_header: unsafe extern "C" fn(
        rs: *mut rs_t,
        name: *const u8,
        name_len: usize,
        len: *mut usize,
    ) -> *const u8,
    /// Upgrade callback only: the query parameter `name`, percent-decoded (`+` as space), or
    /// null when absent. Valid until the next `rs_request_*` call.
    pub request_query_param: unsafe extern "C" fn(
        rs: *mut rs_t,
        name: *const u8,
        name_len: usize,
        len: *mut usize,
    ) -> *const u8,
    /// Upgrade callback only: the cookie `name` from the `Cookie` header, or null. Valid for
    /// the callback.
    pub request_cookie: unsafe extern "C" fn(
        rs: *mut rs_t,
        name: *const u8,
        name_len: usize,
        len: *mut usize,
    ) -> *const u8,
    /// Upgrade callback only: accept with subprotocol `p[..len]` (len 0: none). Returns 0, or
    /// -1 (logged, nothing changes) when the client did not offer it.
    pub set_subprotocol: unsafe extern "C" fn(rs: *mut rs_t, p: *const u8, len: usize) -> c_int,
    /// Upgrade, open and read callbacks: keeps a copy of `data[..len]` (at most
    /// [`RS_MAX_CLIENT_DATA`]; len 0 removes it) for the current client until it closes.
    /// Returns 0, or -1 (logged) when too long.
    pub set_client_data: unsafe extern "C" fn(rs: *mut rs_t, data: *const u8, len: usize) -> c_int,
    /// Upgrade, open, read and close callbacks: the current client's data, its length in
    /// `*len`, or null without any. Valid until it is set again or the callback returns.
    pub client_data: unsafe extern "C" fn(rs: *mut rs_t, len: *mut usize) -> *const u8,
    // Appended with topics.
    /// Adds `client_id` to the topic `topic[..len]` (1 to [`RS_MAX_TOPIC`] bytes; open, read
    /// and timer callbacks, and upgrade/close for other clients). Returns a [`SendStatus`];
    /// subscribing twice is fine. A client's subscriptions end when it closes.
    pub subscribe:
        unsafe extern "C" fn(rs: *mut rs_t, client_id: u64, topic: *const u8, len: usize) -> c_int,
    /// Takes `client_id` out of the topic. Returns a [`SendStatus`].
    pub unsubscribe:
        unsafe extern "C" fn(rs: *mut rs_t, client_id: u64, topic: *const u8, len: usize) -> c_int,
    /// Sends `wbuf[..wbuf_len]` as one message of `data_kind` to every subscriber of the topic
    /// (none is fine) and empties the write buffer, like `send`. Returns a [`SendStatus`].
    pub publish:
        unsafe extern "C" fn(rs: *mut rs_t, data_kind: u32, topic: *const u8, len: usize) -> c_int,
}

/// The longest topic name.
pub const RS_MAX_TOPIC: usize = 255;

/// The handle every callback receives: the host function table, the host's context, and the
/// app's write buffer, so that `w_*` writes are plain memory writes.
///
/// Invariants the host keeps: `host` and `host_ctx` never change; `wbuf` is valid for writes of
/// `wbuf_cap` bytes and `wbuf_len <= wbuf_cap`, except that apps move `wbuf_len`;
/// `app_data` is the app's (zeroed C app data, or a Rust app's state box).
#[repr(C)]
#[derive(Debug)]
pub struct rs_t {
    /// The host function table.
    pub host: *const rs_host_fns,
    /// The host's state; opaque to apps.
    pub host_ctx: *mut c_void,
    /// The write buffer.
    pub wbuf: *mut u8,
    /// Bytes written so far.
    pub wbuf_len: usize,
    /// Bytes `wbuf` can hold.
    pub wbuf_cap: usize,
    /// The app's data (see [`rs_app_descriptor::app_data_size`]).
    pub app_data: *mut c_void,
}

/// A peer address as the host reports it (C apps get a `struct sockaddr_storage` built from it).
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct rs_sockaddr {
    /// 4 or 6 (0: unknown).
    pub family: u16,
    /// Port, host byte order.
    pub port: u16,
    /// IPv6 flow info (0 for IPv4).
    pub flowinfo: u32,
    /// IPv6 scope id (0 for IPv4).
    pub scope_id: u32,
    /// The address: 4 bytes for IPv4, 16 for IPv6, network order.
    pub addr: [u8; 16],
}

impl From<SocketAddr> for rs_sockaddr {
    fn from(addr: SocketAddr) -> Self {
        let mut out = Self {
            port: addr.port(),
            ..Self::default()
        };
        match addr {
            SocketAddr::V4(v4) => {
                out.family = 4;
                out.addr[..4].copy_from_slice(&v4.ip().octets());
            }
            SocketAddr::V6(v6) => {
                out.family = 6;
                out.flowinfo = v6.flowinfo();
                out.scope_id = v6.scope_id();
                out.addr = v6.ip().octets();
            }
        }
        out
    }
}

impl rs_sockaddr {
    /// The address, or `None` for an unknown family.
    pub fn to_socket_addr(&self) -> Option<SocketAddr> {
        match self.family {
            4 => {
                let [a, b, c, d, ..] = self.addr;
                Some(SocketAddr::V4(SocketAddrV4::new(
                    Ipv4Addr::new(a, b, c, d),
                    self.port,
                )))
            }
            6 => Some(SocketAddr::V6(SocketAddrV6::new(
                Ipv6Addr::from(self.addr),
                self.port,
                self.flowinfo,
                self.scope_id,
            ))),
            _ => None,
        }
    }
}

/// `send`'s `to`: the client with `ids[0]`.
pub const RS_TO_SINGLE: u32 = 1;
/// `send`'s `to`: the clients `ids[..id_c]` (duplicates are sent to once).
pub const RS_TO_MULTI: u32 = 2;
/// `send`'s `to`: the current client (open/read callbacks only).
pub const RS_TO_CUR: u32 = 3;
/// `send`'s `to`: every client of the app.
pub const RS_TO_EVERY: u32 = 4;
/// `send`'s `to`: every client but `ids[0]`.
pub const RS_TO_EVERY_EXCEPT_SINGLE: u32 = 5;
/// `send`'s `to`: every client but `ids[..id_c]`.
pub const RS_TO_EVERY_EXCEPT_MULTI: u32 = 6;
/// `send`'s `to`: every client but the current one (open/read callbacks only).
pub const RS_TO_EVERY_EXCEPT_CUR: u32 = 7;

/// A connection's id: never 0, and never reused for another connection while an app could hold
/// the old one.
///
/// Workers build it as `generation:32 | worker:8 | slot:24`; the generation (≥ 1) is bumped
/// whenever a worker reuses a slot, so a stale id is recognised instead of reaching a
/// stranger. Apps treat it as opaque.
#[repr(transparent)]
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ClientId(NonZeroU64);

impl ClientId {
    /// The id with this raw value, or `None` for 0.
    pub const fn new(raw: u64) -> Option<Self> {
        match NonZeroU64::new(raw) {
            Some(id) => Some(Self(id)),
            None => None,
        }
    }

    /// The id of `worker`'s connection slot `slot` (`< 2^24`) in its `generation` (`≥ 1`), or
    /// `None` when a part is out of range.
    pub const fn from_parts(generation: u32, worker: u8, slot: u32) -> Option<Self> {
        if generation == 0 || slot >= 1 << 24 {
            return None;
        }
        Self::new(((generation as u64) << 32) | ((worker as u64) << 24) | slot as u64)
    }

    /// The raw value.
    pub const fn get(self) -> u64 {
        self.0.get()
    }

    /// The worker that owns the connection.
    pub const fn worker(self) -> u8 {
        (self.get() >> 24) as u8
    }

    /// The connection's slot within its worker.
    pub const fn slot(self) -> u32 {
        (self.get() & 0xFF_FFFF) as u32
    }

    /// The slot's generation.
    pub const fn generation(self) -> u32 {
        (self.get() >> 32) as u32
    }
}

impl fmt::Debug for ClientId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "ClientId({}:{}:{})",
            self.generation(),
            self.worker(),
            self.slot()
        )
    }
}

impl fmt::Display for ClientId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:#x}", self.get())
    }
}

/// A WebSocket message's data kind; `RS_BIN`/`RS_UTF8` in C.
#[repr(u8)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DataKind {
    /// A binary message.
    Bin = 0,
    /// A text (UTF-8) message.
    Text = 1,
}

impl DataKind {
    /// The kind for its ABI value.
    pub const fn from_raw(raw: u32) -> Option<Self> {
        match raw {
            0 => Some(Self::Bin),
            1 => Some(Self::Text),
            _ => None,
        }
    }

    /// The frame opcode that carries this kind.
    pub const fn opcode(self) -> ws_proto::frame::Opcode {
        match self {
            Self::Bin => ws_proto::frame::Opcode::Binary,
            Self::Text => ws_proto::frame::Opcode::Text,
        }
    }
}

/// What happened to a send or close.
#[repr(i32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SendStatus {
    /// Queued for every recipient (for broadcasts: for every live client that was not excluded).
    Sent = 0,
    /// A given id is not a live client of this app (never was, or its close callback already
    /// ran). Logged; the other recipients of a multi send still got the message.
    UnknownClient = 1,
    /// A given id is closing (the app closed it and its close callback has not run yet).
    ClientClosing = 2,
    /// A helper was called where the spec forbids it (e.g. `to_cur` in a timer callback): the
    /// host logged the misuse and stops the app when the callback returns.
    Misuse = 3,
    /// The app already stopped on a fatal error in this callback; nothing was sent.
    Stopped = 4,
}

impl SendStatus {
    /// The status for its ABI value; an unknown value reads as [`SendStatus::Misuse`].
    pub const fn from_raw(raw: c_int) -> Self {
        match raw {
            0 => Self::Sent,
            1 => Self::UnknownClient,
            2 => Self::ClientClosing,
            4 => Self::Stopped,
            _ => Self::Misuse,
        }
    }

    /// `true` for [`SendStatus::Sent`].
    pub const fn is_sent(self) -> bool {
        matches!(self, Self::Sent)
    }
}

/// Which callback is running; the host enforces which helpers each may use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CallbackKind {
    /// The init callback (no client I/O yet).
    Init,
    /// An open callback.
    Open,
    /// A read callback.
    Read,
    /// A close callback.
    Close,
    /// The timer callback.
    Timer,
    /// The fini callback (no client I/O any more).
    Fini,
    /// An upgrade callback (a client, not open yet: no sends to it).
    Upgrade,
}

impl fmt::Display for CallbackKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Init => "init",
            Self::Open => "open",
            Self::Read => "read",
            Self::Close => "close",
            Self::Timer => "timer",
            Self::Fini => "fini",
            Self::Upgrade => "upgrade",
        })
    }
}

/// A log level, numbered as syslog's (`LOG_ERR` … `LOG_DEBUG`); lower is more important.
#[repr(i32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Level {
    /// `LOG_ERR`.
    Error = 3,
    /// `LOG_WARNING`.
    Warning = 4,
    /// `LOG_NOTICE`.
    Notice = 5,
    /// `LOG_INFO`.
    Info = 6,
    /// `LOG_DEBUG`.
    Debug = 7,
}

impl Level {
    /// The level for a syslog priority; the more severe syslog levels (`LOG_EMERG`..`LOG_CRIT`)
    /// read as [`Level::Error`], unknown ones as [`Level::Debug`].
    pub const fn from_syslog(level: c_int) -> Self {
        match level {
            i32::MIN..=3 => Self::Error,
            4 => Self::Warning,
            5 => Self::Notice,
            6 => Self::Info,
            _ => Self::Debug,
        }
    }

    /// The config spelling: `"error"`, `"warning"`, `"notice"`, `"info"`, `"debug"`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Error => "error",
            Self::Warning => "warning",
            Self::Notice => "notice",
            Self::Info => "info",
            Self::Debug => "debug",
        }
    }
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An app close code, `4000..=4899` (the range the spec leaves to apps).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct AppCloseCode(u16);

impl AppCloseCode {
    /// The code, or `None` outside `4000..=4899`.
    pub const fn new(code: u16) -> Option<Self> {
        if code >= 4000 && code <= 4899 {
            Some(Self(code))
        } else {
            None
        }
    }

    /// The code.
    pub const fn get(self) -> u16 {
        self.0
    }
}
