//! The configuration as apps see it: a read-only `#[repr(C)]` view ([`rs_conf`]) of the
//! spec's `ringsocket.json` keys, and the owned [`Conf`] the daemon fills and turns into that
//! view with [`ConfView::new`].
//!
//! The view's fields are private: an [`rs_conf`] only ever comes from a [`ConfView`] (or, in an
//! app, from the host), so its accessors can hand out slices and strings safely. C apps read the
//! same fields directly (`struct rs_conf` in `ringsocket.h`).
//!
//! The keys RingSocket added to the spec's (`user`, `syslog_path`, `max_client_backlog`,
//! `handshake_wait`, `ping_interval`, `pong_wait`) are appended after the spec's fields, and
//! their accessors return `None` when the host's `struct_size` does not reach them: later keys
//! are appended the same way, so an app keeps working on an older or newer host. An omitted
//! `allowed_origins` (any origin) is a null pointer, an empty one a non-null pointer with a
//! count of 0 ([`rs_conf_endpoint::allows_any_origin`]).

#![allow(non_camel_case_types)] // The ABI structs keep their C names, as in ringsocket.h.

use core::ffi::{CStr, c_char};
use std::ffi::{CString, NulError};

use crate::abi::Level;

/// The whole configuration (spec: "Configuration"), in the layout C apps see.
#[repr(C)]
#[derive(Debug)]
pub struct rs_conf {
    struct_size: u32,
    log_level: i32,
    worker_c: u32,
    fd_alloc_c: u32,
    max_ws_msg_size: u64,
    max_ws_frame_chain_size: u64,
    realloc_multiplier: f64,
    worker_rbuf_size: u64,
    inbound_ring_buf_size: u64,
    outbound_ring_buf_size: u64,
    owrefs_elem_c: u32,
    epoll_buf_elem_c: u32,
    update_queue_size: u32,
    shutdown_wait_http: u32,
    shutdown_wait_ws: u32,
    reserved: u32,
    port_c: usize,
    ports: *const rs_conf_port,
    cert_c: usize,
    certs: *const rs_conf_cert,
    app_c: usize,
    apps: *const rs_conf_app,
    // Appended after the spec's keys: read only when `struct_size` covers them, so an app
    // built against this layout still runs on a host that predates them.
    user: *const c_char,
    syslog_path: *const c_char,
    max_client_backlog: u64,
    handshake_wait: u32,
    ping_interval: u32,
    pong_wait: u32,
    reserved_tail: u32,
}

/// One element of `"ports"`.
#[repr(C)]
#[derive(Debug)]
pub struct rs_conf_port {
    port_number: u16,
    is_unencrypted: bool,
    ipv4only: bool,
    ipv6only: bool,
    ipv4_is_embedded_in_ipv6: bool,
    interface: *const c_char,
    ip_addr_c: usize,
    ip_addrs: *const *const c_char,
}

/// One element of `"certs"`.
#[repr(C)]
#[derive(Debug)]
pub struct rs_conf_cert {
    hostname_c: usize,
    hostnames: *const *const c_char,
    privkey_path: *const c_char,
    pubchain_path: *const c_char,
}

/// One element of `"apps"`.
#[repr(C)]
#[derive(Debug)]
pub struct rs_conf_app {
    name: *const c_char,
    app_path: *const c_char,
    wbuf_size: u64,
    update_queue_size: u32,
    no_open_cb: bool,
    no_close_cb: bool,
    endpoint_c: usize,
    endpoints: *const rs_conf_endpoint,
}

/// One element of an app's `"endpoints"`.
#[repr(C)]
#[derive(Debug)]
pub struct rs_conf_endpoint {
    endpoint_id: u16,
    url: *const c_char,
    allowed_origin_c: usize,
    /// Null when `"allowed_origins"` was omitted (any origin may connect); an empty list
    /// (no browser origin) has a non-null pointer and a count of 0.
    allowed_origins: *const *const c_char,
}

/// A slice from a view's pointer and count.
///
/// # Safety
/// `ptr` is null with `len == 0`, or valid for `len` reads for `'a` (a [`ConfView`]'s arrays
/// are, for as long as the view lives).
unsafe fn view_slice<'a, T>(ptr: *const T, len: usize) -> &'a [T] {
    if ptr.is_null() {
        return &[];
    }
    // SAFETY: the caller's contract.
    unsafe { core::slice::from_raw_parts(ptr, len) }
}

/// A string from a view's NUL-terminated pointer ("" for null).
///
/// # Safety
/// `ptr` is null or a NUL-terminated string valid for `'a` (a [`ConfView`]'s strings are
/// UTF-8 copies of Rust strings, for as long as the view lives).
unsafe fn view_str<'a>(ptr: *const c_char) -> &'a str {
    if ptr.is_null() {
        return "";
    }
    // SAFETY: the caller's contract.
    let cstr = unsafe { CStr::from_ptr(ptr) };
    // Built from `String`s, so always UTF-8; a foreign host's junk reads as "".
    cstr.to_str().unwrap_or("")
}

/// Strings from a view's array of NUL-terminated pointers.
///
/// # Safety
/// As [`view_slice`] and [`view_str`] for the array and each element.
unsafe fn view_strs<'a>(ptr: *const *const c_char, len: usize) -> impl Iterator<Item = &'a str> {
    // SAFETY: the caller's contract.
    unsafe { view_slice(ptr, len) }.iter().map(|&s| {
        // SAFETY: the caller's contract, per element.
        unsafe { view_str(s) }
    })
}

// SAFETY (for every accessor below): an `rs_conf*` value only exists inside a `ConfView` (its
// fields are private and it is built nowhere else), whose pointers point into buffers the view
// owns and never mutates; a `&self` borrowed from the view cannot outlive it. An app's `&rs_conf`
// comes from the host, which keeps its view alive for the life of the process.

impl rs_conf {
    /// `"log_level"`.
    pub fn log_level(&self) -> Level {
        Level::from_syslog(self.log_level)
    }
    /// `"worker_c"` (0: automatic, resolved by the daemon before apps start).
    pub fn worker_c(&self) -> u32 {
        self.worker_c
    }
    /// `"fd_alloc_c"`.
    pub fn fd_alloc_c(&self) -> u32 {
        self.fd_alloc_c
    }
    /// `"max_ws_msg_size"`.
    pub fn max_ws_msg_size(&self) -> u64 {
        self.max_ws_msg_size
    }
    /// `"max_ws_frame_chain_size"`.
    pub fn max_ws_frame_chain_size(&self) -> u64 {
        self.max_ws_frame_chain_size
    }
    /// `"realloc_multiplier"`.
    pub fn realloc_multiplier(&self) -> f64 {
        self.realloc_multiplier
    }
    /// `"worker_rbuf_size"`.
    pub fn worker_rbuf_size(&self) -> u64 {
        self.worker_rbuf_size
    }
    /// `"inbound_ring_buf_size"`.
    pub fn inbound_ring_buf_size(&self) -> u64 {
        self.inbound_ring_buf_size
    }
    /// `"outbound_ring_buf_size"`.
    pub fn outbound_ring_buf_size(&self) -> u64 {
        self.outbound_ring_buf_size
    }
    /// `"owrefs_elem_c"`.
    pub fn owrefs_elem_c(&self) -> u32 {
        self.owrefs_elem_c
    }
    /// `"epoll_buf_elem_c"`.
    pub fn epoll_buf_elem_c(&self) -> u32 {
        self.epoll_buf_elem_c
    }
    /// `"update_queue_size"`.
    pub fn update_queue_size(&self) -> u32 {
        self.update_queue_size
    }
    /// `"shutdown_wait_http"` (seconds).
    pub fn shutdown_wait_http(&self) -> u32 {
        self.shutdown_wait_http
    }
    /// `"shutdown_wait_ws"` (seconds).
    pub fn shutdown_wait_ws(&self) -> u32 {
        self.shutdown_wait_ws
    }
    /// `"ports"`.
    pub fn ports(&self) -> &[rs_conf_port] {
        // SAFETY: see the note above `impl rs_conf`.
        unsafe { view_slice(self.ports, self.port_c) }
    }
    /// `"certs"`.
    pub fn certs(&self) -> &[rs_conf_cert] {
        // SAFETY: see the note above `impl rs_conf`.
        unsafe { view_slice(self.certs, self.cert_c) }
    }
    /// `"apps"`.
    pub fn apps(&self) -> &[rs_conf_app] {
        // SAFETY: see the note above `impl rs_conf`.
        unsafe { view_slice(self.apps, self.app_c) }
    }

    /// An appended field, read by `read` only when the host's struct reaches past its end
    /// (`offset` plus the size of `T`): a host that predates the field hands out a shorter
    /// struct, whose bytes stop before it.
    fn appended<T>(&self, offset: usize, read: impl FnOnce(&Self) -> T) -> Option<T> {
        (self.struct_size as usize >= offset + size_of::<T>()).then(|| read(self))
    }
    /// `"user"`: the run user (`""`: the starting user was kept). `None` from a host that
    /// predates the key.
    pub fn user(&self) -> Option<&str> {
        let user = self.appended(core::mem::offset_of!(rs_conf, user), |c| c.user)?;
        // SAFETY: see the note above `impl rs_conf`; the field is within the host's struct.
        Some(unsafe { view_str(user) })
    }
    /// `"syslog_path"`. `None` from a host that predates the key.
    pub fn syslog_path(&self) -> Option<&str> {
        let path = self.appended(core::mem::offset_of!(rs_conf, syslog_path), |c| {
            c.syslog_path
        })?;
        // SAFETY: see the note above `impl rs_conf`; the field is within the host's struct.
        Some(unsafe { view_str(path) })
    }
    /// `"max_client_backlog"` (bytes). `None` from a host that predates the key.
    pub fn max_client_backlog(&self) -> Option<u64> {
        self.appended(core::mem::offset_of!(rs_conf, max_client_backlog), |c| {
            c.max_client_backlog
        })
    }
    /// `"handshake_wait"` (seconds). `None` from a host that predates the key.
    pub fn handshake_wait(&self) -> Option<u32> {
        self.appended(core::mem::offset_of!(rs_conf, handshake_wait), |c| {
            c.handshake_wait
        })
    }
    /// `"ping_interval"` (seconds, 0: off). `None` from a host that predates the key.
    pub fn ping_interval(&self) -> Option<u32> {
        self.appended(core::mem::offset_of!(rs_conf, ping_interval), |c| {
            c.ping_interval
        })
    }
    /// `"pong_wait"` (seconds). `None` from a host that predates the key.
    pub fn pong_wait(&self) -> Option<u32> {
        self.appended(core::mem::offset_of!(rs_conf, pong_wait), |c| c.pong_wait)
    }
}

impl rs_conf_port {
    /// `"port_number"`.
    pub fn port_number(&self) -> u16 {
        self.port_number
    }
    /// `"is_unencrypted"`.
    pub fn is_unencrypted(&self) -> bool {
        self.is_unencrypted
    }
    /// `"ipv4only"`.
    pub fn ipv4only(&self) -> bool {
        self.ipv4only
    }
    /// `"ipv6only"`.
    pub fn ipv6only(&self) -> bool {
        self.ipv6only
    }
    /// `"ipv4_is_embedded_in_ipv6"`.
    pub fn ipv4_is_embedded_in_ipv6(&self) -> bool {
        self.ipv4_is_embedded_in_ipv6
    }
    /// `"interface"`, if given.
    pub fn interface(&self) -> Option<&str> {
        // SAFETY: see the note above `impl rs_conf`.
        (!self.interface.is_null()).then(|| unsafe { view_str(self.interface) })
    }
    /// `"ip_addrs"`.
    pub fn ip_addrs(&self) -> impl Iterator<Item = &str> {
        // SAFETY: see the note above `impl rs_conf`.
        unsafe { view_strs(self.ip_addrs, self.ip_addr_c) }
    }
}

impl rs_conf_cert {
    /// `"hostnames"`.
    pub fn hostnames(&self) -> impl Iterator<Item = &str> {
        // SAFETY: see the note above `impl rs_conf`.
        unsafe { view_strs(self.hostnames, self.hostname_c) }
    }
    /// `"privkey_path"`.
    pub fn privkey_path(&self) -> &str {
        // SAFETY: see the note above `impl rs_conf`.
        unsafe { view_str(self.privkey_path) }
    }
    /// `"pubchain_path"`.
    pub fn pubchain_path(&self) -> &str {
        // SAFETY: see the note above `impl rs_conf`.
        unsafe { view_str(self.pubchain_path) }
    }
}

impl rs_conf_app {
    /// `"name"`.
    pub fn name(&self) -> &str {
        // SAFETY: see the note above `impl rs_conf`.
        unsafe { view_str(self.name) }
    }
    /// `"app_path"`.
    pub fn app_path(&self) -> &str {
        // SAFETY: see the note above `impl rs_conf`.
        unsafe { view_str(self.app_path) }
    }
    /// `"wbuf_size"`: the write buffer's initial size.
    pub fn wbuf_size(&self) -> u64 {
        self.wbuf_size
    }
    /// `"update_queue_size"` (the global value when not given for the app).
    pub fn update_queue_size(&self) -> u32 {
        self.update_queue_size
    }
    /// `"no_open_cb"`.
    pub fn no_open_cb(&self) -> bool {
        self.no_open_cb
    }
    /// `"no_close_cb"`.
    pub fn no_close_cb(&self) -> bool {
        self.no_close_cb
    }
    /// `"endpoints"`.
    pub fn endpoints(&self) -> &[rs_conf_endpoint] {
        // SAFETY: see the note above `impl rs_conf`.
        unsafe { view_slice(self.endpoints, self.endpoint_c) }
    }
}

impl rs_conf_endpoint {
    /// `"endpoint_id"`.
    pub fn endpoint_id(&self) -> u16 {
        self.endpoint_id
    }
    /// `"url"`.
    pub fn url(&self) -> &str {
        // SAFETY: see the note above `impl rs_conf`.
        unsafe { view_str(self.url) }
    }
    /// `"allowed_origins"` (empty both when omitted and when empty: see
    /// [`allows_any_origin`](Self::allows_any_origin)).
    pub fn allowed_origins(&self) -> impl Iterator<Item = &str> {
        // SAFETY: see the note above `impl rs_conf`.
        unsafe { view_strs(self.allowed_origins, self.allowed_origin_c) }
    }
    /// Whether `"allowed_origins"` was omitted, so that pages from any origin may connect
    /// (an empty list admits only clients that send no `Origin`).
    pub fn allows_any_origin(&self) -> bool {
        self.allowed_origins.is_null()
    }
}

/// The configuration as the daemon parsed it, with the spec's defaults ([`Conf::default`]).
#[derive(Debug, Clone, PartialEq)]
pub struct Conf {
    /// `"log_level"`, default notice.
    pub log_level: Level,
    /// `"worker_c"`, default 0 (automatic).
    pub worker_c: u32,
    /// `"fd_alloc_c"`, default 4096.
    pub fd_alloc_c: u32,
    /// `"max_ws_msg_size"`, default 16 MiB.
    pub max_ws_msg_size: u64,
    /// `"max_ws_frame_chain_size"`, default 1.1 × the default message size.
    pub max_ws_frame_chain_size: u64,
    /// `"realloc_multiplier"`, default 1.5.
    pub realloc_multiplier: f64,
    /// `"worker_rbuf_size"`, default 32 MiB.
    pub worker_rbuf_size: u64,
    /// `"inbound_ring_buf_size"`, default 64 MiB.
    pub inbound_ring_buf_size: u64,
    /// `"outbound_ring_buf_size"`, default 128 MiB.
    pub outbound_ring_buf_size: u64,
    /// `"owrefs_elem_c"`, default 10000.
    pub owrefs_elem_c: u32,
    /// `"epoll_buf_elem_c"`, default 100.
    pub epoll_buf_elem_c: u32,
    /// `"update_queue_size"`, default 5.
    pub update_queue_size: u32,
    /// `"shutdown_wait_http"` in seconds, default 15.
    pub shutdown_wait_http: u32,
    /// `"shutdown_wait_ws"` in seconds, default 30.
    pub shutdown_wait_ws: u32,
    /// `"user"`, default `ringsock`; `""` keeps the starting user.
    pub user: String,
    /// `"syslog_path"`, default `/dev/log`.
    pub syslog_path: String,
    /// `"max_client_backlog"` in bytes, default 8 MiB.
    pub max_client_backlog: u64,
    /// `"handshake_wait"` in seconds, default 10.
    pub handshake_wait: u32,
    /// `"ping_interval"` in seconds, default 30 (0: off).
    pub ping_interval: u32,
    /// `"pong_wait"` in seconds, default 10.
    pub pong_wait: u32,
    /// `"ports"`.
    pub ports: Vec<PortConf>,
    /// `"certs"`.
    pub certs: Vec<CertConf>,
    /// `"apps"`.
    pub apps: Vec<AppConf>,
}

impl Default for Conf {
    fn default() -> Self {
        Self {
            log_level: Level::Notice,
            worker_c: 0,
            fd_alloc_c: 4096,
            max_ws_msg_size: 16 << 20,
            max_ws_frame_chain_size: 18_454_938,
            realloc_multiplier: 1.5,
            worker_rbuf_size: 32 << 20,
            inbound_ring_buf_size: 64 << 20,
            outbound_ring_buf_size: 128 << 20,
            owrefs_elem_c: 10_000,
            epoll_buf_elem_c: 100,
            update_queue_size: 5,
            shutdown_wait_http: 15,
            shutdown_wait_ws: 30,
            user: "ringsock".into(),
            syslog_path: "/dev/log".into(),
            max_client_backlog: 8 << 20,
            handshake_wait: 10,
            ping_interval: 30,
            pong_wait: 10,
            ports: Vec::new(),
            certs: Vec::new(),
            apps: Vec::new(),
        }
    }
}

/// One element of `"ports"`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PortConf {
    /// `"port_number"`.
    pub port_number: u16,
    /// `"is_unencrypted"`.
    pub is_unencrypted: bool,
    /// `"ip_addrs"`.
    pub ip_addrs: Vec<String>,
    /// `"interface"`.
    pub interface: Option<String>,
    /// `"ipv4only"`.
    pub ipv4only: bool,
    /// `"ipv6only"`.
    pub ipv6only: bool,
    /// `"ipv4_is_embedded_in_ipv6"`.
    pub ipv4_is_embedded_in_ipv6: bool,
}

/// One element of `"certs"`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CertConf {
    /// `"hostnames"`.
    pub hostnames: Vec<String>,
    /// `"privkey_path"`.
    pub privkey_path: String,
    /// `"pubchain_path"`.
    pub pubchain_path: String,
}

/// One element of `"apps"`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppConf {
    /// `"name"`.
    pub name: String,
    /// `"app_path"`.
    pub app_path: String,
    /// `"endpoints"`.
    pub endpoints: Vec<EndpointConf>,
    /// `"no_open_cb"`.
    pub no_open_cb: bool,
    /// `"no_close_cb"`.
    pub no_close_cb: bool,
    /// `"wbuf_size"`, default 1 MiB.
    pub wbuf_size: u64,
    /// `"update_queue_size"`: `None` takes the global value.
    pub update_queue_size: Option<u32>,
}

impl AppConf {
    /// An app with the defaults and no endpoints.
    pub fn new(name: impl Into<String>, app_path: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            app_path: app_path.into(),
            endpoints: Vec::new(),
            no_open_cb: false,
            no_close_cb: false,
            wbuf_size: 1 << 20,
            update_queue_size: None,
        }
    }
}

/// One element of an app's `"endpoints"`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct EndpointConf {
    /// `"endpoint_id"`.
    pub endpoint_id: u16,
    /// `"url"`.
    pub url: String,
    /// `"allowed_origins"`: `None` when omitted (any origin may connect).
    pub allowed_origins: Option<Vec<String>>,
}

/// A [`Conf`] laid out as [`rs_conf`], owning every buffer the view points into. It never
/// changes after [`ConfView::new`], so it can be shared by every app thread.
#[derive(Debug)]
pub struct ConfView {
    conf: Box<rs_conf>,
    // Owners of what `conf` points into; moving these moves no heap buffer.
    _strings: Vec<CString>,
    _string_arrays: Vec<Box<[*const c_char]>>,
    _ports: Box<[rs_conf_port]>,
    _certs: Box<[rs_conf_cert]>,
    _apps: Box<[rs_conf_app]>,
    _endpoints: Vec<Box<[rs_conf_endpoint]>>,
}

// SAFETY: the raw pointers inside point only into buffers this value owns, which nothing
// mutates after construction; sharing or sending it is like sharing `&str`s and slices.
unsafe impl Send for ConfView {}
// SAFETY: as for `Send`: the view is immutable.
unsafe impl Sync for ConfView {}

/// Collects the owned buffers while a view is built.
#[derive(Default)]
struct Owners {
    strings: Vec<CString>,
    string_arrays: Vec<Box<[*const c_char]>>,
    endpoints: Vec<Box<[rs_conf_endpoint]>>,
}

impl Owners {
    fn string(&mut self, s: &str) -> Result<*const c_char, NulError> {
        let owned = CString::new(s)?;
        let ptr = owned.as_ptr();
        self.strings.push(owned);
        Ok(ptr)
    }

    fn strings(&mut self, list: &[String]) -> Result<(usize, *const *const c_char), NulError> {
        let ptrs = list
            .iter()
            .map(|s| self.string(s))
            .collect::<Result<Box<[_]>, _>>()?;
        let ptr = ptrs.as_ptr();
        self.string_arrays.push(ptrs);
        Ok((list.len(), ptr))
    }
}

impl ConfView {
    /// Lays `conf` out for apps. Fails only for a string with a NUL byte, which C cannot see.
    pub fn new(conf: &Conf) -> Result<Self, NulError> {
        let mut owners = Owners::default();
        let ports = conf
            .ports
            .iter()
            .map(|p| {
                let (ip_addr_c, ip_addrs) = owners.strings(&p.ip_addrs)?;
                let interface = match &p.interface {
                    Some(name) => owners.string(name)?,
                    None => core::ptr::null(),
                };
                Ok(rs_conf_port {
                    port_number: p.port_number,
                    is_unencrypted: p.is_unencrypted,
                    ipv4only: p.ipv4only,
                    ipv6only: p.ipv6only,
                    ipv4_is_embedded_in_ipv6: p.ipv4_is_embedded_in_ipv6,
                    interface,
                    ip_addr_c,
                    ip_addrs,
                })
            })
            .collect::<Result<Box<[_]>, NulError>>()?;
        let certs = conf
            .certs
            .iter()
            .map(|c| {
                let (hostname_c, hostnames) = owners.strings(&c.hostnames)?;
                Ok(rs_conf_cert {
                    hostname_c,
                    hostnames,
                    privkey_path: owners.string(&c.privkey_path)?,
                    pubchain_path: owners.string(&c.pubchain_path)?,
                })
            })
            .collect::<Result<Box<[_]>, NulError>>()?;
        let apps = conf
            .apps
            .iter()
            .map(|a| {
                let endpoints = a
                    .endpoints
                    .iter()
                    .map(|e| {
                        let (allowed_origin_c, allowed_origins) = match &e.allowed_origins {
                            Some(list) => owners.strings(list)?,
                            None => (0, core::ptr::null()),
                        };
                        Ok(rs_conf_endpoint {
                            endpoint_id: e.endpoint_id,
                            url: owners.string(&e.url)?,
                            allowed_origin_c,
                            allowed_origins,
                        })
                    })
                    .collect::<Result<Box<[_]>, NulError>>()?;
                let endpoints_ptr = endpoints.as_ptr();
                owners.endpoints.push(endpoints);
                Ok(rs_conf_app {
                    name: owners.string(&a.name)?,
                    app_path: owners.string(&a.app_path)?,
                    wbuf_size: a.wbuf_size,
                    update_queue_size: a.update_queue_size.unwrap_or(conf.update_queue_size),
                    no_open_cb: a.no_open_cb,
                    no_close_cb: a.no_close_cb,
                    endpoint_c: a.endpoints.len(),
                    endpoints: endpoints_ptr,
                })
            })
            .collect::<Result<Box<[_]>, NulError>>()?;
        let view = rs_conf {
            struct_size: size_of::<rs_conf>() as u32,
            log_level: conf.log_level as i32,
            worker_c: conf.worker_c,
            fd_alloc_c: conf.fd_alloc_c,
            max_ws_msg_size: conf.max_ws_msg_size,
            max_ws_frame_chain_size: conf.max_ws_frame_chain_size,
            realloc_multiplier: conf.realloc_multiplier,
            worker_rbuf_size: conf.worker_rbuf_size,
            inbound_ring_buf_size: conf.inbound_ring_buf_size,
            outbound_ring_buf_size: conf.outbound_ring_buf_size,
            owrefs_elem_c: conf.owrefs_elem_c,
            epoll_buf_elem_c: conf.epoll_buf_elem_c,
            update_queue_size: conf.update_queue_size,
            shutdown_wait_http: conf.shutdown_wait_http,
            shutdown_wait_ws: conf.shutdown_wait_ws,
            reserved: 0,
            port_c: ports.len(),
            ports: ports.as_ptr(),
            cert_c: certs.len(),
            certs: certs.as_ptr(),
            app_c: apps.len(),
            apps: apps.as_ptr(),
            user: owners.string(&conf.user)?,
            syslog_path: owners.string(&conf.syslog_path)?,
            max_client_backlog: conf.max_client_backlog,
            handshake_wait: conf.handshake_wait,
            ping_interval: conf.ping_interval,
            pong_wait: conf.pong_wait,
            reserved_tail: 0,
        };
        Ok(Self {
            conf: Box::new(view),
            _strings: owners.strings,
            _string_arrays: owners.string_arrays,
            _ports: ports,
            _certs: certs,
            _apps: apps,
            _endpoints: owners.endpoints,
        })
    }

    /// The view.
    pub fn get(&self) -> &rs_conf {
        &self.conf
    }
}

// A child module, so it can see the view's private fields.
#[cfg(test)]
#[path = "c_layout_tests.rs"]
mod c_layout_tests;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn view_round_trips_every_key() {
        let mut conf = Conf {
            log_level: Level::Debug,
            worker_c: 3,
            ports: vec![PortConf {
                port_number: 8080,
                is_unencrypted: true,
                ip_addrs: vec!["127.0.0.1".into(), "::1".into()],
                ..PortConf::default()
            }],
            certs: vec![CertConf {
                hostnames: vec!["example.com".into(), "*.example.com".into()],
                privkey_path: "/k.pem".into(),
                pubchain_path: "/c.pem".into(),
            }],
            ..Conf::default()
        };
        let mut app = AppConf::new("chat", "/srv/chat.so");
        app.no_close_cb = true;
        app.endpoints.push(EndpointConf {
            endpoint_id: 7,
            url: "ws://localhost:8080/chat".into(),
            allowed_origins: Some(vec!["http://localhost:8000".into()]),
        });
        app.endpoints.push(EndpointConf {
            endpoint_id: 8,
            url: "ws://localhost:8080/any".into(),
            allowed_origins: None,
        });
        app.endpoints.push(EndpointConf {
            endpoint_id: 9,
            url: "ws://localhost:8080/none".into(),
            allowed_origins: Some(Vec::new()),
        });
        conf.apps.push(app);
        conf.user = String::new();
        conf.ping_interval = 0;
        conf.max_client_backlog = 1 << 16;
        let view = ConfView::new(&conf).unwrap();
        let c = view.get();
        assert_eq!(c.log_level(), Level::Debug);
        assert_eq!(c.worker_c(), 3);
        assert_eq!(c.max_ws_msg_size(), 16 << 20);
        assert_eq!(c.update_queue_size(), 5);
        assert_eq!(c.shutdown_wait_ws(), 30);
        let port = &c.ports()[0];
        assert_eq!(port.port_number(), 8080);
        assert!(port.is_unencrypted());
        assert_eq!(port.interface(), None);
        assert_eq!(port.ip_addrs().collect::<Vec<_>>(), ["127.0.0.1", "::1"]);
        let cert = &c.certs()[0];
        assert_eq!(
            cert.hostnames().collect::<Vec<_>>(),
            ["example.com", "*.example.com"]
        );
        assert_eq!(
            (cert.privkey_path(), cert.pubchain_path()),
            ("/k.pem", "/c.pem")
        );
        let app = &c.apps()[0];
        assert_eq!((app.name(), app.app_path()), ("chat", "/srv/chat.so"));
        assert!(app.no_close_cb() && !app.no_open_cb());
        assert_eq!(app.update_queue_size(), 5, "inherits the global value");
        assert_eq!(app.wbuf_size(), 1 << 20);
        let ep = &app.endpoints()[0];
        assert_eq!(
            (ep.endpoint_id(), ep.url()),
            (7, "ws://localhost:8080/chat")
        );
        assert_eq!(
            ep.allowed_origins().collect::<Vec<_>>(),
            ["http://localhost:8000"]
        );
        assert!(!ep.allows_any_origin());
        let [_, any, none] = app.endpoints() else {
            panic!("three endpoints")
        };
        assert!(any.allows_any_origin() && any.allowed_origins().next().is_none());
        assert!(!none.allows_any_origin() && none.allowed_origins().next().is_none());
        assert_eq!(c.user(), Some(""));
        assert_eq!(c.syslog_path(), Some("/dev/log"));
        assert_eq!(c.max_client_backlog(), Some(1 << 16));
        assert_eq!(c.handshake_wait(), Some(10));
        assert_eq!(c.ping_interval(), Some(0));
        assert_eq!(c.pong_wait(), Some(10));
    }

    #[test]
    fn keys_past_an_older_hosts_struct_read_as_absent() {
        let conf = Conf::default();
        let view = ConfView::new(&conf).unwrap();
        let mut old = ConfView::new(&conf).unwrap();
        // The size a host had before the appended keys: up to and including `apps`.
        old.conf.struct_size =
            (core::mem::offset_of!(rs_conf, apps) + size_of::<*const rs_conf_app>()) as u32;
        let (new, old) = (view.get(), old.get());
        assert_eq!(new.user(), Some("ringsock"));
        assert_eq!(new.max_client_backlog(), Some(8 << 20));
        assert_eq!(old.user(), None);
        assert_eq!(old.syslog_path(), None);
        assert_eq!(old.max_client_backlog(), None);
        assert_eq!(old.handshake_wait(), None);
        assert_eq!(old.ping_interval(), None);
        assert_eq!(old.pong_wait(), None);
        assert_eq!(old.shutdown_wait_ws(), 30, "the spec's keys read as before");
    }

    #[test]
    fn nul_in_a_string_is_refused() {
        let mut conf = Conf::default();
        conf.apps.push(AppConf::new("a\0b", "/x.so"));
        assert!(ConfView::new(&conf).is_err());
    }
}
