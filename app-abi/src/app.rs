//! The app side: [`Rs`], the handle every callback gets, the callback return types, and the
//! entry-point plumbing [`rs_app!`](crate::rs_app) expands to (panics are caught here, so
//! nothing unwinds into the host).
//!
//! All of this module's `unsafe` rests on one contract, which the host keeps: an entry point is
//! called on the app thread with an `rs_t` whose `host` table is valid, whose write buffer is
//! valid for `wbuf_cap` bytes, and which nothing else touches until the entry point returns.

use core::cell::Cell;
use core::ffi::c_int;
use core::fmt;
use core::time::Duration;
use std::net::SocketAddr;
use std::panic::{AssertUnwindSafe, catch_unwind};

use crate::abi::{
    AppCloseCode, CallbackKind, ClientId, DataKind, Level, RS_TO_CUR, RS_TO_EVERY,
    RS_TO_EVERY_EXCEPT_CUR, RS_TO_EVERY_EXCEPT_MULTI, RS_TO_EVERY_EXCEPT_SINGLE, RS_TO_MULTI,
    RS_TO_SINGLE, SendStatus, rs_host_fns, rs_sockaddr, rs_t,
};
use crate::conf::{rs_conf, rs_conf_app};

/// The handle a callback gets: write, send, close, query, log.
///
/// Writers (`w_*`) append to the app's write buffer (plain memory writes; it grows as needed)
/// and return `&mut Self`, so they chain. A sender (`to_*`) turns the buffer into one
/// WebSocket message for its recipients and empties it.
pub struct Rs {
    // Only ever dereferenced briefly, never held as a reference across a host call, so the host
    // (and `rs_log!`) may use the same `rs_t` meanwhile.
    raw: *mut rs_t,
}

impl fmt::Debug for Rs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Rs")
            .field("wbuf_len", &self.get().wbuf_len)
            .finish_non_exhaustive()
    }
}

macro_rules! writers {
    ($($(#[$doc:meta])* $name:ident $hton:ident: $t:ty;)*) => {$(
        $(#[$doc])*
        #[inline]
        pub fn $name(&mut self, value: $t) -> &mut Self {
            self.w_bytes(&value.to_ne_bytes())
        }
        /// As the writer without `_hton`, in network byte order.
        #[inline]
        pub fn $hton(&mut self, value: $t) -> &mut Self {
            self.w_bytes(&value.to_be_bytes())
        }
    )*};
}

/// A host function by name; see [`Rs::host_field`].
macro_rules! host_fn {
    ($rs:expr, $name:ident) => {
        $rs.host_field(
            core::mem::offset_of!(rs_host_fns, $name),
            stringify!($name),
            |t| t.$name,
        )
    };
}

impl Rs {
    /// The handle for a raw `rs_t`.
    ///
    /// # Safety
    /// `raw` comes from the host for the running callback (see the module docs) and the handle
    /// is used only during it.
    pub unsafe fn from_raw(raw: *mut rs_t) -> Self {
        Self { raw }
    }

    fn get(&self) -> &rs_t {
        // SAFETY: valid for the callback (module contract); the reference ends before any host
        // call, which may touch the `rs_t`.
        unsafe { &*self.raw }
    }

    fn get_mut(&mut self) -> &mut rs_t {
        // SAFETY: as for `get`; the app thread runs one callback at a time.
        unsafe { &mut *self.raw }
    }

    /// One function of the host table, read alone: a host of an earlier revision has a
    /// shorter table, so reading the whole struct could run past it. Panics (caught: the app
    /// stops, with the message logged) when the host predates the function. `_field` only
    /// names its type.
    fn host_field<T: Copy>(&self, offset: usize, name: &str, _field: fn(&rs_host_fns) -> T) -> T {
        let table = self.get().host;
        // SAFETY: every host table starts with `abi_version` and `struct_size` (module
        // contract); a raw place read touches only that field.
        let size = unsafe { (*table).struct_size } as usize;
        assert!(
            offset + size_of::<T>() <= size,
            "the host is older than this app: it has no `{name}` (its function table is {size} bytes)"
        );
        // SAFETY: the field lies within the table's `struct_size` bytes, checked above, and
        // holds a `T` there (the layout is the ABI's).
        unsafe { table.cast::<u8>().add(offset).cast::<T>().read_unaligned() }
    }

    /// What has been written since the last send.
    pub fn written(&self) -> &[u8] {
        if self.get().wbuf_len == 0 {
            return &[];
        }
        // SAFETY: the buffer is valid for `wbuf_cap >= wbuf_len` bytes (module contract), and
        // the first `wbuf_len` were written by this app.
        unsafe { core::slice::from_raw_parts(self.get().wbuf, self.get().wbuf_len) }
    }

    /// Discards what has been written since the last send.
    pub fn clear_written(&mut self) {
        self.get_mut().wbuf_len = 0;
    }

    /// Appends raw bytes (`rs_w_p`).
    pub fn w_bytes(&mut self, bytes: &[u8]) -> &mut Self {
        let free = self.get().wbuf_cap.saturating_sub(self.get().wbuf_len);
        if free < bytes.len() {
            let raw = self.raw;
            // SAFETY: a host function called with this callback's `rs_t` (module contract).
            let status = unsafe { (host_fn!(self, wbuf_reserve))(raw, bytes.len()) };
            let free = self.get().wbuf_cap.saturating_sub(self.get().wbuf_len);
            // Only a corrupt `wbuf_len` makes the host refuse; the panic stops the app.
            assert!(
                status == 0 && free >= bytes.len(),
                "the write buffer could not grow"
            );
        }
        // SAFETY: `wbuf` is valid for `wbuf_cap` bytes and `wbuf_len + bytes.len() <= wbuf_cap`
        // (checked above); `bytes` cannot overlap the host-owned buffer the app only reaches
        // through `rs_t`.
        unsafe {
            core::ptr::copy_nonoverlapping(
                bytes.as_ptr(),
                self.get().wbuf.add(self.get().wbuf_len),
                bytes.len(),
            );
        }
        self.get_mut().wbuf_len += bytes.len();
        self
    }

    /// Appends a string's UTF-8 bytes (`rs_w_str`; no NUL is written).
    pub fn w_str(&mut self, s: &str) -> &mut Self {
        self.w_bytes(s.as_bytes())
    }

    /// Appends a byte.
    pub fn w_u8(&mut self, value: u8) -> &mut Self {
        self.w_bytes(&[value])
    }

    /// Appends a signed byte.
    pub fn w_i8(&mut self, value: i8) -> &mut Self {
        self.w_bytes(&value.to_ne_bytes())
    }

    writers! {
        /// Appends a `u16` in host byte order.
        w_u16 w_u16_hton: u16;
        /// Appends a `u32` in host byte order.
        w_u32 w_u32_hton: u32;
        /// Appends a `u64` in host byte order.
        w_u64 w_u64_hton: u64;
        /// Appends an `i16` in host byte order.
        w_i16 w_i16_hton: i16;
        /// Appends an `i32` in host byte order.
        w_i32 w_i32_hton: i32;
        /// Appends an `i64` in host byte order.
        w_i64 w_i64_hton: i64;
    }

    fn send(&mut self, to: u32, kind: DataKind, ids: &[ClientId]) -> SendStatus {
        let raw = self.raw;
        // SAFETY: a host function called with this callback's `rs_t`; `ClientId` is a
        // transparent `u64`, so `ids` is `id_c` valid `u64`s.
        let status = unsafe {
            (host_fn!(self, send))(raw, to, kind as u32, ids.as_ptr().cast::<u64>(), ids.len())
        };
        SendStatus::from_raw(status)
    }

    /// Sends the written message to one client.
    pub fn to_single(&mut self, kind: DataKind, client: ClientId) -> SendStatus {
        self.send(RS_TO_SINGLE, kind, &[client])
    }

    /// Sends the written message to several clients (each once, however often listed). The
    /// status is [`SendStatus::Sent`] when every id was live, else the first failure.
    pub fn to_multi(&mut self, kind: DataKind, clients: &[ClientId]) -> SendStatus {
        self.send(RS_TO_MULTI, kind, clients)
    }

    /// Replies to the client of the current open or read callback.
    pub fn to_cur(&mut self, kind: DataKind) -> SendStatus {
        self.send(RS_TO_CUR, kind, &[])
    }

    /// Sends to every client of the app.
    pub fn to_every(&mut self, kind: DataKind) -> SendStatus {
        self.send(RS_TO_EVERY, kind, &[])
    }

    /// Sends to every client of the app but one.
    pub fn to_every_except_single(&mut self, kind: DataKind, client: ClientId) -> SendStatus {
        self.send(RS_TO_EVERY_EXCEPT_SINGLE, kind, &[client])
    }

    /// Sends to every client of the app but these.
    pub fn to_every_except_multi(&mut self, kind: DataKind, clients: &[ClientId]) -> SendStatus {
        self.send(RS_TO_EVERY_EXCEPT_MULTI, kind, clients)
    }

    /// Sends to every client of the app but the current one (open/read callbacks).
    pub fn to_every_except_cur(&mut self, kind: DataKind) -> SendStatus {
        self.send(RS_TO_EVERY_EXCEPT_CUR, kind, &[])
    }

    /// Closes a client with an app close code; its close callback runs once the connection
    /// is gone.
    pub fn close(&mut self, client: ClientId, code: AppCloseCode) -> SendStatus {
        let raw = self.raw;
        // SAFETY: a host function called with this callback's `rs_t`.
        SendStatus::from_raw(unsafe { (host_fn!(self, close))(raw, client.get(), code.get()) })
    }

    /// Closes the current client (open/read callbacks; returning
    /// [`Stop::Close`] does the same).
    pub fn close_cur(&mut self, code: AppCloseCode) -> SendStatus {
        let raw = self.raw;
        // SAFETY: a host function called with this callback's `rs_t`.
        SendStatus::from_raw(unsafe { (host_fn!(self, close_cur))(raw, code.get()) })
    }

    /// The current client (open, read and close callbacks).
    ///
    /// # Panics
    /// In init and timer callbacks, where there is none: the host logs the misuse and the
    /// panic stops the app, as the spec's "fatal error".
    pub fn client_id(&mut self) -> ClientId {
        let raw = self.raw;
        // SAFETY: a host function called with this callback's `rs_t`.
        let id = unsafe { (host_fn!(self, client_id))(raw) };
        ClientId::new(id).expect("client_id() called outside an open/read/close callback")
    }

    /// The current client's peer address, as accepted (open, read and close callbacks).
    ///
    /// # Panics
    /// Outside those callbacks, as [`client_id`](Self::client_id).
    pub fn client_addr(&mut self) -> SocketAddr {
        let raw = self.raw;
        let mut addr = rs_sockaddr::default();
        // SAFETY: a host function called with this callback's `rs_t`; `addr` is writable.
        let status = unsafe { (host_fn!(self, client_addr))(raw, &mut addr) };
        match addr.to_socket_addr() {
            Some(addr) if status == 0 => addr,
            _ => panic!("client_addr() called outside an open/read/close callback"),
        }
    }

    /// The current client's endpoint id (open, read and close callbacks).
    ///
    /// # Panics
    /// Outside those callbacks, as [`client_id`](Self::client_id).
    pub fn endpoint_id(&mut self) -> u16 {
        let raw = self.raw;
        // SAFETY: a host function called with this callback's `rs_t`.
        let id = unsafe { (host_fn!(self, endpoint_id))(raw) };
        u16::try_from(id).expect("endpoint_id() called outside an open/read/close callback")
    }

    /// The current message's data kind (read callbacks).
    ///
    /// # Panics
    /// Outside read callbacks, as [`client_id`](Self::client_id).
    pub fn read_data_kind(&mut self) -> DataKind {
        let raw = self.raw;
        // SAFETY: a host function called with this callback's `rs_t`.
        let kind = unsafe { (host_fn!(self, read_data_kind))(raw) };
        u32::try_from(kind)
            .ok()
            .and_then(DataKind::from_raw)
            .expect("read_data_kind() called outside a read callback")
    }

    /// The whole configuration.
    pub fn conf(&mut self) -> &rs_conf {
        let raw = self.raw;
        // SAFETY: a host function called with this callback's `rs_t`; the host keeps the view
        // alive and unchanged for the life of the process, so borrowing it for `&self` is fine.
        unsafe { &*(host_fn!(self, conf))(raw) }
    }

    /// This app's configuration entry.
    pub fn app_conf(&mut self) -> &rs_conf_app {
        let raw = self.raw;
        // SAFETY: as for `conf`.
        unsafe { &*(host_fn!(self, app_conf))(raw) }
    }

    /// Whether a message at `level` would be logged (`log_level` in the configuration).
    pub fn log_enabled(&mut self, level: Level) -> bool {
        level <= self.conf().log_level()
    }

    /// Logs a message, prefixed with the app's name by the host, if `level` is enabled.
    /// [`rs_log!`](crate::rs_log) is the short form that needs no `Rs`.
    pub fn log(&mut self, level: Level, args: fmt::Arguments<'_>) {
        if !self.log_enabled(level) {
            return;
        }
        let msg = match args.as_str() {
            Some(s) => std::borrow::Cow::Borrowed(s),
            None => std::borrow::Cow::Owned(args.to_string()),
        };
        let raw = self.raw;
        // SAFETY: a host function called with this callback's `rs_t`; `msg` is valid for its
        // length.
        unsafe { (host_fn!(self, log))(raw, level as c_int, msg.as_ptr().cast(), msg.len()) };
    }
    /// Upgrade callback only: the request target as sent, path and query.
    pub fn request_target(&mut self) -> &[u8] {
        let raw = self.raw;
        let mut len = 0;
        // SAFETY: a host function called with this callback's `rs_t`; `len` is writable.
        let ptr = unsafe { (host_fn!(self, request_target))(raw, &mut len) };
        // SAFETY: the host returns null or `len` bytes valid for the callback, which outlives
        // the borrow of `self`.
        unsafe { host_bytes(ptr, len) }
            .expect("request_target() called outside an upgrade callback")
    }

    /// Upgrade callback only: the request's path (the target without its query).
    pub fn request_path(&mut self) -> &[u8] {
        let target = self.request_target();
        target.split(|&b| b == b'?').next().unwrap_or(target)
    }

    /// Upgrade callback only: the raw query string (after the `?`), if any.
    pub fn request_query(&mut self) -> Option<&[u8]> {
        let target = self.request_target();
        let at = target.iter().position(|&b| b == b'?')?;
        Some(&target[at + 1..])
    }

    /// Upgrade callback only: the first forwarded header `name` (case-insensitive): `Cookie`,
    /// `Authorization`, `Sec-WebSocket-Protocol`, `User-Agent`, `X-Forwarded-For`, `Origin`,
    /// and those the endpoint's `upgrade_headers` lists.
    pub fn request_header(&mut self, name: &str) -> Option<&[u8]> {
        let raw = self.raw;
        let mut len = 0;
        // SAFETY: a host function called with this callback's `rs_t`; `name` is readable for
        // its length and `len` writable.
        let ptr =
            unsafe { (host_fn!(self, request_header))(raw, name.as_ptr(), name.len(), &mut len) };
        // SAFETY: as in `request_target`.
        unsafe { host_bytes(ptr, len) }
    }

    /// Upgrade callback only: the query parameter `name`, percent-decoded (`+` as a space).
    pub fn query_param(&mut self, name: &str) -> Option<&[u8]> {
        let raw = self.raw;
        let mut len = 0;
        // SAFETY: as in `request_header`.
        let ptr = unsafe {
            (host_fn!(self, request_query_param))(raw, name.as_ptr(), name.len(), &mut len)
        };
        // SAFETY: valid until the next request helper call, which needs `&mut self` again.
        unsafe { host_bytes(ptr, len) }
    }

    /// Upgrade callback only: the cookie `name` of the request's `Cookie` header.
    pub fn cookie(&mut self, name: &str) -> Option<&[u8]> {
        let raw = self.raw;
        let mut len = 0;
        // SAFETY: as in `request_header`.
        let ptr =
            unsafe { (host_fn!(self, request_cookie))(raw, name.as_ptr(), name.len(), &mut len) };
        // SAFETY: as in `request_target`.
        unsafe { host_bytes(ptr, len) }
    }

    /// Upgrade callback only: accept with `protocol` (one the client offered; `""`: none).
    /// Returns `false` (logged) when the client did not offer it. An endpoint's configured
    /// `subprotocols` pick is the default.
    pub fn set_subprotocol(&mut self, protocol: &str) -> bool {
        let raw = self.raw;
        // SAFETY: a host function called with this callback's `rs_t`; `protocol` is readable.
        unsafe { (host_fn!(self, set_subprotocol))(raw, protocol.as_ptr(), protocol.len()) == 0 }
    }

    /// Upgrade, open and read callbacks: keeps `data` (at most 64 KiB; empty removes it) for
    /// the current client, handed back by [`client_data`](Self::client_data) in every later
    /// callback for it, until its close callback has run. Returns `false` (logged) when too
    /// long.
    pub fn set_client_data(&mut self, data: &[u8]) -> bool {
        let raw = self.raw;
        // SAFETY: a host function called with this callback's `rs_t`; `data` is readable.
        unsafe { (host_fn!(self, set_client_data))(raw, data.as_ptr(), data.len()) == 0 }
    }

    /// Adds `client` to `topic` (1 to 255 bytes; a name the app chooses, e.g. a chat room).
    /// Subscribing twice is fine; a client's topics end when it closes.
    pub fn subscribe(&mut self, client: ClientId, topic: &[u8]) -> SendStatus {
        let raw = self.raw;
        // SAFETY: a host function called with this callback's `rs_t`; `topic` is readable.
        SendStatus::from_raw(unsafe {
            (host_fn!(self, subscribe))(raw, client.get(), topic.as_ptr(), topic.len())
        })
    }

    /// Takes `client` out of `topic`.
    pub fn unsubscribe(&mut self, client: ClientId, topic: &[u8]) -> SendStatus {
        let raw = self.raw;
        // SAFETY: as in `subscribe`.
        SendStatus::from_raw(unsafe {
            (host_fn!(self, unsubscribe))(raw, client.get(), topic.as_ptr(), topic.len())
        })
    }

    /// Sends what was written (`w_*`) as one message of `kind` to every subscriber of `topic`
    /// (stored once per worker that has any; none is fine), and empties the write buffer.
    pub fn publish(&mut self, kind: DataKind, topic: &[u8]) -> SendStatus {
        let raw = self.raw;
        // SAFETY: as in `subscribe`.
        SendStatus::from_raw(unsafe {
            (host_fn!(self, publish))(raw, kind as u32, topic.as_ptr(), topic.len())
        })
    }

    /// Upgrade, open, read and close callbacks: the current client's data, if set.
    pub fn client_data(&mut self) -> Option<&[u8]> {
        let raw = self.raw;
        let mut len = 0;
        // SAFETY: a host function called with this callback's `rs_t`; `len` is writable.
        let ptr = unsafe { (host_fn!(self, client_data))(raw, &mut len) };
        // SAFETY: valid until set again, which needs `&mut self`, or the callback's end.
        unsafe { host_bytes(ptr, len) }
    }
}

/// The host's `ptr[..len]`, or `None` for null.
///
/// # Safety
/// `ptr` is null or valid for `len` bytes for `'a`.
unsafe fn host_bytes<'a>(ptr: *const u8, len: usize) -> Option<&'a [u8]> {
    if ptr.is_null() {
        return None;
    }
    // SAFETY: non-null, valid for `len` bytes (caller).
    Some(unsafe { core::slice::from_raw_parts(ptr, len) })
}

/// What an upgrade callback answers (`()` accepts too).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Upgrade {
    /// Send the `101` (with the subprotocol set, if any); the open callback follows.
    Accept,
    /// Answer this HTTP status (400..=599) with what the callback wrote (`w_*`) as the body.
    Reject(u16),
    /// The app failed: it stops, as for `-1` from any callback (the client gets 503).
    Fatal,
}

impl Upgrade {
    /// [`Upgrade::Reject`], checked at compile time where `status` is a constant.
    ///
    /// # Panics
    /// When `status` is not 400..=599.
    pub const fn reject(status: u16) -> Self {
        assert!(
            status >= 400 && status <= 599,
            "upgrade rejections are HTTP statuses 400..=599"
        );
        Self::Reject(status)
    }
}

/// What an upgrade callback may return.
pub trait UpgradeReturn {
    /// The ABI's `int`.
    fn into_raw(self) -> c_int;
}

impl UpgradeReturn for Upgrade {
    fn into_raw(self) -> c_int {
        match self {
            Self::Accept => 0,
            Self::Reject(status) => status.into(),
            Self::Fatal => -1,
        }
    }
}

impl UpgradeReturn for () {
    fn into_raw(self) -> c_int {
        0
    }
}

impl UpgradeReturn for i32 {
    fn into_raw(self) -> c_int {
        self
    }
}

/// Why an open or read callback ends its client (see [`CallbackReturn`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stop {
    /// Close the current client with this code.
    Close(AppCloseCode),
    /// A fatal error: the app stops (its clients are closed with 1011, its endpoints answer
    /// 503, other apps keep running).
    Fatal,
}

impl Stop {
    /// Close the current client with `code`.
    ///
    /// # Panics
    /// When `code` is outside `4000..=4899` (in a `const` context, a compile error).
    pub const fn close(code: u16) -> Self {
        match AppCloseCode::new(code) {
            Some(code) => Self::Close(code),
            None => panic!("app close codes are 4000..=4899"),
        }
    }
}

/// What open, read and close callbacks may return.
///
/// `()` and `Ok(())` mean success; [`Stop`] closes the client or stops the app; a bare `i32`
/// is the spec's raw convention (checked by the host like a C app's).
pub trait CallbackReturn {
    /// The ABI value.
    fn into_raw(self) -> c_int;
}

impl CallbackReturn for () {
    fn into_raw(self) -> c_int {
        0
    }
}

impl CallbackReturn for Result<(), Stop> {
    fn into_raw(self) -> c_int {
        match self {
            Ok(()) => 0,
            Err(Stop::Close(code)) => code.get().into(),
            Err(Stop::Fatal) => -1,
        }
    }
}

impl CallbackReturn for i32 {
    fn into_raw(self) -> c_int {
        self
    }
}

/// What a timer callback returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Timer {
    /// Call again after this long (at least 1 µs, at most `i32::MAX` µs ≈ 36 min).
    After(Duration),
    /// Don't call again.
    Stop,
    /// A fatal error: the app stops.
    Fatal,
}

/// What timer callbacks may return: [`Timer`] or the spec's raw `i32`.
pub trait TimerReturn {
    /// The ABI value.
    fn into_raw(self) -> c_int;
}

impl TimerReturn for Timer {
    fn into_raw(self) -> c_int {
        match self {
            Self::After(d) => c_int::try_from(d.as_micros()).unwrap_or(c_int::MAX).max(1),
            Self::Stop => 0,
            Self::Fatal => -1,
        }
    }
}

impl TimerReturn for i32 {
    fn into_raw(self) -> c_int {
        self
    }
}

/// What an init callback may return: the app's state (`Result<S, E>` with a displayable
/// error, logged when init fails), or `()` for an app without state.
pub trait InitReturn<S> {
    /// The state, or the error's text.
    fn into_state(self) -> Result<S, String>;
}

impl<S, E: fmt::Display> InitReturn<S> for Result<S, E> {
    fn into_state(self) -> Result<S, String> {
        self.map_err(|e| e.to_string())
    }
}

impl InitReturn<()> for () {
    fn into_state(self) -> Result<(), String> {
        Ok(())
    }
}

thread_local! {
    /// The `rs_t` of the callback running on this thread, for [`rs_log!`](crate::rs_log).
    static CURRENT: Cell<*mut rs_t> = const { Cell::new(core::ptr::null_mut()) };
}

/// Restores the previous [`CURRENT`] when a callback ends, however it ends.
struct Enter(*mut rs_t);

impl Enter {
    fn new(rs: *mut rs_t) -> Self {
        Self(CURRENT.replace(rs))
    }
}

impl Drop for Enter {
    fn drop(&mut self) {
        CURRENT.set(self.0);
    }
}

/// Logs through the running callback's host; `rs_log!` expands to this.
#[doc(hidden)]
pub fn __log_current(level: Level, args: fmt::Arguments<'_>) {
    let raw = CURRENT.get();
    if raw.is_null() {
        // Not inside a callback (e.g. an app's own worker thread): no host to ask.
        eprintln!("ringsocket app ({level}, outside a callback): {args}");
        return;
    }
    // SAFETY: `CURRENT` is set only while a callback with this `rs_t` runs on this thread;
    // handles hold no references into it between calls, so a second one is fine.
    let mut rs = unsafe { Rs::from_raw(raw) };
    rs.log(level, args);
}

fn panic_text(payload: &(dyn std::any::Any + Send)) -> &str {
    payload
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("(non-string panic payload)")
}

/// Runs `f` with panics caught: a panic is logged and reads as fatal (-1), so nothing unwinds
/// across the FFI boundary.
fn guarded(rs: *mut rs_t, kind: CallbackKind, f: impl FnOnce() -> c_int) -> c_int {
    let _enter = Enter::new(rs);
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(ret) => ret,
        Err(payload) => {
            let text = panic_text(&*payload);
            // Logging itself must not unwind either.
            let _ = catch_unwind(AssertUnwindSafe(|| {
                __log_current(
                    Level::Error,
                    format_args!("{kind} callback panicked: {text}; stopping the app"),
                );
            }));
            -1
        }
    }
}

/// The state a Rust app keeps in `rs_t::app_data`.
///
/// # Safety
/// `rs` is valid (module contract) and its `app_data` is null or was set by [`__init`] with the
/// same `S`.
unsafe fn state<'a, S>(rs: *mut rs_t) -> &'a mut S {
    // SAFETY: the caller's contract.
    let data = unsafe { (*rs).app_data };
    assert!(
        !data.is_null(),
        "app state missing: the host did not run init"
    );
    // SAFETY: set by `__init` from a `Box<S>` and never freed while the app runs; only the
    // running callback borrows it.
    unsafe { &mut *data.cast::<S>() }
}

/// The init entry point's body: runs `f`, stores the state it returns.
///
/// # Safety
/// `rs` follows the module contract.
#[doc(hidden)]
pub unsafe fn __init<S, R: InitReturn<S>>(rs: *mut rs_t, f: impl FnOnce(&mut Rs) -> R) -> c_int {
    guarded(rs, CallbackKind::Init, || {
        // SAFETY: the caller's contract.
        let mut handle = unsafe { Rs::from_raw(rs) };
        match f(&mut handle).into_state() {
            Ok(state) => {
                handle.get_mut().app_data = Box::into_raw(Box::new(state)).cast();
                0
            }
            Err(err) => {
                handle.log(Level::Error, format_args!("init failed: {err}"));
                -1
            }
        }
    })
}

/// The fini entry point's body: drops the state init stored (if init succeeded).
///
/// # Safety
/// `rs` follows the module contract, and its `app_data` is null or was set by [`__init`] with
/// the same `S`; no callback runs after this one.
#[doc(hidden)]
pub unsafe fn __fini<S>(rs: *mut rs_t) -> c_int {
    guarded(rs, CallbackKind::Fini, || {
        // SAFETY: the caller's contract: `rs` is valid, and nothing else borrows the state now.
        let data = unsafe { core::mem::replace(&mut (*rs).app_data, core::ptr::null_mut()) };
        if !data.is_null() {
            // SAFETY: set by `__init` from `Box::<S>::into_raw` and taken out above, once.
            drop(unsafe { Box::from_raw(data.cast::<S>()) });
        }
        0
    })
}

/// An open, close or timer entry point's body.
///
/// # Safety
/// `rs` follows the module contract, and init set up the state `S`.
#[doc(hidden)]
pub unsafe fn __callback<S>(
    rs: *mut rs_t,
    kind: CallbackKind,
    f: impl FnOnce(&mut Rs, &mut S) -> c_int,
) -> c_int {
    guarded(rs, kind, || {
        // SAFETY: the caller's contract; the state is its own allocation, apart from `rs_t`.
        let (mut handle, state) = unsafe { (Rs::from_raw(rs), state::<S>(rs)) };
        f(&mut handle, state)
    })
}

/// The read entry point's body.
///
/// # Safety
/// As [`__callback`], and `payload` is valid for `len` bytes (or `len` is 0).
#[doc(hidden)]
pub unsafe fn __read<S>(
    rs: *mut rs_t,
    payload: *const u8,
    len: usize,
    f: impl FnOnce(&mut Rs, &mut S, &[u8]) -> c_int,
) -> c_int {
    guarded(rs, CallbackKind::Read, || {
        let payload = if len == 0 {
            &[][..]
        } else {
            // SAFETY: the caller's contract; the host keeps the record alive for the call.
            unsafe { core::slice::from_raw_parts(payload, len) }
        };
        // SAFETY: the caller's contract; the state is its own allocation, apart from `rs_t`.
        let (mut handle, state) = unsafe { (Rs::from_raw(rs), state::<S>(rs)) };
        f(&mut handle, state, payload)
    })
}

/// Which data kinds a read form accepts.
#[doc(hidden)]
#[derive(Debug, Clone, Copy)]
pub enum Accept {
    Bin,
    Text,
    Any,
}

/// Whether the current message's kind fits `accept` (else close 4901).
#[doc(hidden)]
pub fn __accepts(rs: &mut Rs, accept: Accept) -> bool {
    match accept {
        Accept::Any => true,
        Accept::Bin => rs.read_data_kind() == DataKind::Bin,
        Accept::Text => rs.read_data_kind() == DataKind::Text,
    }
}
