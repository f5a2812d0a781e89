//! [`AppRunner`]: one app's callbacks, host functions and clients.
//!
//! The runner owns two heap blocks the app reaches through the `rs_t` it is given: the `rs_t`
//! itself and the [`HostCtx`] behind `rs_t::host_ctx`. It touches them only through raw
//! pointers and short-lived references that never span a call into the app, so the host
//! functions (called from inside the app) can borrow them in turn. The `unsafe` here is that
//! pointer handling and the calls into the app's entry points.

use core::ffi::{c_char, c_int};
use core::fmt;
use core::ptr::NonNull;
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::net::SocketAddr;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;

use crate::abi::{
    AppCloseCode, CallbackKind, ClientId, DataKind, Level, RS_ABI_VERSION, RS_CLOSE_APP_FATAL,
    RS_CLOSE_UNKNOWN_CASE, RS_CLOSE_WRONG_SIZE, RS_MAX_CLIENT_DATA, RS_MAX_REJECT_BODY,
    RS_MAX_TOPIC, RS_TIMER_MODE_SLEEP, RS_TIMER_MODE_WAKE, RS_TO_CUR, RS_TO_EVERY,
    RS_TO_EVERY_EXCEPT_CUR, RS_TO_EVERY_EXCEPT_MULTI, RS_TO_EVERY_EXCEPT_SINGLE, RS_TO_MULTI,
    RS_TO_SINGLE, SendStatus, rs_cb_fn, rs_host_fns, rs_read_fn, rs_sockaddr, rs_t,
};
use crate::conf::{ConfView, rs_conf, rs_conf_app};
use crate::host::App;
use crate::records::{Ids, Inbound, Outbound, Recipients, UpgradeRequest, server_frame_header};

/// Where a runner's output goes: outbound records per worker, and log lines.
pub trait HostSink {
    /// Queues one outbound record for `worker`: the concatenation of `parts`.
    fn push(&mut self, worker: u8, parts: &[&[u8]]);

    /// Logs a line about app `app` (already filtered by `log_level`).
    fn log(&mut self, level: Level, app: &str, msg: &str) {
        eprintln!("ringsocket [{level}] {app}: {msg}");
    }
}

/// The app stopped after a fatal error (a `-1` return, a panic, or helper misuse): its
/// clients were closed with 1011 and it runs no more callbacks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AppStopped;

impl fmt::Display for AppStopped {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the app stopped after a fatal error")
    }
}

impl std::error::Error for AppStopped {}

/// How an app's timer runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimerMode {
    /// No timer.
    None,
    /// Runs only while the app thread is awake for traffic (`RS_TIMER_SLEEP`).
    Sleep,
    /// Wakes the app thread when due (`RS_TIMER_WAKE`).
    Wake,
}

/// The hasher of the client table: every message looks its client up (twice), and SipHash
/// costs more than the rest of the lookup. Client ids are minted by the workers (slot,
/// generation, worker), not chosen by peers, so a flooding-resistant hash buys nothing; a
/// folded multiply spreads them over both the bucket bits and the control bits.
#[derive(Debug, Default, Clone, Copy)]
struct IdHasher(u64);

impl Hasher for IdHasher {
    fn finish(&self) -> u64 {
        let product = u128::from(self.0) * 0x9E37_79B9_7F4A_7C15;
        (product as u64) ^ ((product >> 64) as u64)
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(b);
        }
    }

    fn write_u64(&mut self, n: u64) {
        self.0 ^= n;
    }
}

/// A client as the app thread knows it.
#[derive(Debug)]
struct Client {
    endpoint_id: u16,
    /// Packed: a 10,000-client table is 16 bytes a bucket smaller.
    peer: super::PackedAddr,
    /// The app closed it; its close record has not arrived yet.
    closing: bool,
}

/// The app's topics: numbered for the workers, with each one's members per worker (so a
/// publish goes only to the worker rings that have some) and each client's topics (so they end
/// with it). An id is reused once its topic has no member left anywhere: every worker has then
/// been told (or dropped the member itself, at the close), earlier in its ring.
#[derive(Debug, Default)]
struct Topics {
    ids: HashMap<Box<[u8]>, u32>,
    by_id: Vec<Option<Topic>>,
    free: Vec<u32>,
    of_client: HashMap<ClientId, Vec<u32>, BuildHasherDefault<IdHasher>>,
}

#[derive(Debug)]
struct Topic {
    name: Box<[u8]>,
    per_worker: Vec<u32>,
    members: u32,
}

impl Topics {
    /// Adds `client`; `Some(id)` when it was not a member (the worker must be told).
    fn join(&mut self, client: ClientId, name: &[u8], worker_c: usize) -> Option<u32> {
        let id = match self.ids.get(name) {
            Some(&id) => id,
            None => {
                let topic = Topic {
                    name: name.into(),
                    per_worker: vec![0; worker_c],
                    members: 0,
                };
                let id = match self.free.pop() {
                    Some(id) => {
                        self.by_id[id as usize] = Some(topic);
                        id
                    }
                    None => {
                        self.by_id.push(Some(topic));
                        (self.by_id.len() - 1) as u32
                    }
                };
                self.ids.insert(name.into(), id);
                id
            }
        };
        let mine = self.of_client.entry(client).or_default();
        if mine.contains(&id) {
            return None;
        }
        mine.push(id);
        let topic = self.by_id[id as usize].as_mut()?;
        topic.per_worker[usize::from(client.worker())] += 1;
        topic.members += 1;
        Some(id)
    }

    /// Takes `client` out; `Some(id)` when it was a member.
    fn leave(&mut self, client: ClientId, name: &[u8]) -> Option<u32> {
        let id = *self.ids.get(name)?;
        let mine = self.of_client.get_mut(&client)?;
        let at = mine.iter().position(|&t| t == id)?;
        mine.swap_remove(at);
        if mine.is_empty() {
            self.of_client.remove(&client);
        }
        self.uncount(client, id);
        Some(id)
    }

    /// Forgets a client that closed (its worker dropped its memberships itself).
    fn forget(&mut self, client: ClientId) {
        for id in self.of_client.remove(&client).unwrap_or_default() {
            self.uncount(client, id);
        }
    }

    fn uncount(&mut self, client: ClientId, id: u32) {
        let Some(topic) = self.by_id[id as usize].as_mut() else {
            return;
        };
        topic.per_worker[usize::from(client.worker())] -= 1;
        topic.members -= 1;
        if topic.members == 0 {
            self.ids.remove(&topic.name);
            self.by_id[id as usize] = None;
            self.free.push(id);
        }
    }

    /// The topic's id and its members per worker.
    fn audience(&self, name: &[u8]) -> Option<(u32, &[u32])> {
        let id = *self.ids.get(name)?;
        let topic = self.by_id[id as usize].as_ref()?;
        Some((id, &topic.per_worker))
    }
}

/// The running callback.
#[derive(Debug, Clone, Copy)]
struct Current {
    kind: CallbackKind,
    client: Option<(ClientId, u16, SocketAddr)>,
    data_kind: Option<DataKind>,
}

/// The host's state behind `rs_t::host_ctx`.
struct HostCtx<O> {
    sink: O,
    conf: Arc<ConfView>,
    app_i: usize,
    name: String,
    log_level: Level,
    no_open_cb: bool,
    no_close_cb: bool,
    realloc_multiplier: f64,
    wbuf: Vec<u8>,
    scratch: Vec<u8>,
    clients: HashMap<ClientId, Client, BuildHasherDefault<IdHasher>>,
    /// Per-client data the app set (`rs_set_client_data`), from its upgrade until its close;
    /// apart from the client table so that apps without any pay nothing per client.
    client_data: HashMap<ClientId, Box<[u8]>, BuildHasherDefault<IdHasher>>,
    /// During an upgrade callback: the encoded request, and the subprotocol chosen so far.
    upgrade: Vec<u8>,
    protocol: Vec<u8>,
    /// A decoded query parameter (valid until the next request helper call).
    decoded: Vec<u8>,
    topics: Topics,
    /// Live (not closing) clients per worker, so broadcasts skip idle workers.
    live_per_worker: Vec<u32>,
    cur: Option<Current>,
    /// Set by misuse inside a callback; the runner stops the app when the callback returns.
    fatal: Option<String>,
    stopped: bool,
    table: rs_host_fns,
}

/// Runs one app: give it [`Inbound`] records and the time, and it calls the app's callbacks
/// and writes outbound records to its [`HostSink`].
///
/// Create it on the app's own thread and keep it there (it is not `Send`: the app's state may
/// be tied to its thread).
pub struct AppRunner<O: HostSink> {
    app: App,
    ctx: NonNull<HostCtx<O>>,
    rs: NonNull<rs_t>,
    /// A C app's `RS_INIT(cb, app_data_byte_c)` bytes, 16-byte aligned.
    _app_data: Box<[Align16]>,
    initialized: bool,
    /// The fini callback ran (or was due and absent): no callback may follow.
    finalized: bool,
    timer_deadline: Option<u64>,
    worker_c: usize,
}

#[derive(Clone, Copy)]
#[repr(C, align(16))]
struct Align16([u8; 16]);

impl<O: HostSink> fmt::Debug for AppRunner<O> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AppRunner")
            .field("app", &self.app.source())
            .field("initialized", &self.initialized)
            .field("timer_deadline", &self.timer_deadline)
            .finish_non_exhaustive()
    }
}

impl<O: HostSink> Drop for AppRunner<O> {
    fn drop(&mut self) {
        // At the latest here: the app's state is dropped by its own code (its allocator, its
        // types), never by ours.
        self.fini();
        // SAFETY: both came from `Box::into_raw` in `new`, and no callback is running (`drop`
        // has `&mut self`).
        unsafe {
            drop(Box::from_raw(self.rs.as_ptr()));
            drop(Box::from_raw(self.ctx.as_ptr()));
        }
    }
}

enum Entry<'a> {
    Cb(rs_cb_fn),
    Read(rs_read_fn, &'a [u8]),
}

impl<O: HostSink> AppRunner<O> {
    /// A runner for `app`, which is entry `app_i` of `conf`, with `worker_c` workers (client
    /// ids name workers `0..worker_c`).
    ///
    /// # Panics
    /// When `app_i` is not an app of `conf`, or `worker_c` is 0 or above 256.
    pub fn new(app: App, conf: Arc<ConfView>, app_i: usize, worker_c: usize, sink: O) -> Self {
        assert!((1..=256).contains(&worker_c), "worker_c must be 1..=256");
        let app_conf = &conf.get().apps()[app_i];
        let name = app_conf.name().to_owned();
        let wbuf_size = usize::try_from(app_conf.wbuf_size())
            .unwrap_or(usize::MAX)
            .max(64);
        let (no_open_cb, no_close_cb) = (app_conf.no_open_cb(), app_conf.no_close_cb());
        let log_level = conf.get().log_level();
        let realloc_multiplier = conf.get().realloc_multiplier().clamp(1.05, 4.0);
        let app_data_len = (app.descriptor().app_data_size as usize).div_ceil(16);
        let mut app_data = vec![Align16([0; 16]); app_data_len].into_boxed_slice();
        let ctx = Box::new(HostCtx {
            sink,
            conf,
            app_i,
            name,
            log_level,
            no_open_cb,
            no_close_cb,
            realloc_multiplier,
            wbuf: vec![0; wbuf_size],
            scratch: Vec::new(),
            clients: HashMap::default(),
            client_data: HashMap::default(),
            upgrade: Vec::new(),
            protocol: Vec::new(),
            decoded: Vec::new(),
            topics: Topics::default(),
            live_per_worker: vec![0; worker_c],
            cur: None,
            fatal: None,
            stopped: false,
            table: host_table::<O>(),
        });
        let ctx = NonNull::from(Box::leak(ctx));
        // SAFETY: just leaked, nothing else refers to it yet.
        let ctx_ref = unsafe { &mut *ctx.as_ptr() };
        let rs = Box::new(rs_t {
            host: &ctx_ref.table,
            host_ctx: ctx.as_ptr().cast(),
            wbuf: ctx_ref.wbuf.as_mut_ptr(),
            wbuf_len: 0,
            wbuf_cap: ctx_ref.wbuf.len(),
            app_data: if app_data.is_empty() {
                core::ptr::null_mut()
            } else {
                app_data.as_mut_ptr().cast()
            },
        });
        Self {
            app,
            ctx,
            rs: NonNull::from(Box::leak(rs)),
            _app_data: app_data,
            initialized: false,
            finalized: false,
            timer_deadline: None,
            worker_c,
        }
    }

    fn ctx(&mut self) -> &mut HostCtx<O> {
        // SAFETY: owned by `self`; no callback runs while `&mut self` is borrowed here (calls
        // into the app happen only in `invoke`, which holds no reference across them).
        unsafe { self.ctx.as_mut() }
    }

    fn ctx_ref(&self) -> &HostCtx<O> {
        // SAFETY: as for `ctx`.
        unsafe { self.ctx.as_ref() }
    }

    /// The sink.
    pub fn sink(&self) -> &O {
        &self.ctx_ref().sink
    }

    /// The sink, mutably (e.g. to drain what a test sink recorded).
    pub fn sink_mut(&mut self) -> &mut O {
        &mut self.ctx().sink
    }

    /// The app.
    pub fn app(&self) -> &App {
        &self.app
    }

    /// Whether the app stopped after a fatal error.
    pub fn is_stopped(&self) -> bool {
        self.ctx_ref().stopped
    }

    /// Clients the app saw opened and not yet closed (including those it is closing).
    pub fn client_count(&self) -> usize {
        self.ctx_ref().clients.len()
    }

    /// The timer's mode.
    pub fn timer_mode(&self) -> TimerMode {
        match self.app.descriptor().timer_mode {
            RS_TIMER_MODE_SLEEP => TimerMode::Sleep,
            RS_TIMER_MODE_WAKE => TimerMode::Wake,
            _ => TimerMode::None,
        }
    }

    /// When the timer is next due (µs on the caller's clock), if it is armed. Always `None`
    /// once the app has stopped.
    pub fn timer_deadline(&self) -> Option<u64> {
        self.timer_deadline
    }

    /// Calls the app's init callback (and arms its timer); `now_us` is the caller's clock.
    /// Must run once, first.
    pub fn init(&mut self, now_us: u64) -> Result<(), AppStopped> {
        assert!(!self.initialized, "AppRunner::init runs once");
        self.initialized = true;
        let d = *self.app.descriptor();
        if let Some(init) = d.init {
            let ret = self.invoke(
                Current {
                    kind: CallbackKind::Init,
                    client: None,
                    data_kind: None,
                },
                Entry::Cb(init),
            );
            self.check_plain_return(CallbackKind::Init, ret);
        }
        if d.timer.is_some() {
            self.timer_deadline = Some(now_us.saturating_add(d.timer_interval_us));
        }
        self.finish()
    }

    /// Calls the app's fini callback, once, when the app is done for good: `rs_app!` apps drop
    /// their state there, so its `Drop` runs. It runs for a stopped (fatal) app too, whose
    /// state is still there to drop, but not when init never ran. A send or close from it is
    /// refused as misuse and logged; nothing else follows it.
    pub fn fini(&mut self) {
        if !self.initialized || self.finalized {
            return;
        }
        self.finalized = true;
        self.timer_deadline = None;
        let Some(fini) = self.app.descriptor().fini else {
            return;
        };
        let cur = Current {
            kind: CallbackKind::Fini,
            client: None,
            data_kind: None,
        };
        let ret = self.invoke(cur, Entry::Cb(fini));
        let ctx = self.ctx();
        if let Some(why) = ctx.fatal.take() {
            ctx.log(Level::Error, format_args!("{why}"));
        } else if ret != 0 {
            ctx.log(
                Level::Error,
                format_args!("the fini callback returned {ret} (expected 0)"),
            );
        }
    }

    /// Handles one inbound record.
    pub fn handle(&mut self, record: Inbound<'_>) -> Result<(), AppStopped> {
        assert!(
            self.initialized,
            "AppRunner::init must run before records are handled"
        );
        assert!(!self.finalized, "AppRunner::handle after fini");
        match record {
            Inbound::Open {
                client,
                endpoint_id,
                peer,
            } => self.open(client, endpoint_id, peer),
            Inbound::Read {
                client,
                data_kind,
                payload,
                ..
            } => self.read(client, data_kind, payload),
            Inbound::Close { client, .. } => self.close(client),
            Inbound::Upgrade {
                client,
                endpoint_id,
                peer,
                request,
            } => self.upgrade(client, endpoint_id, peer, request),
            Inbound::Barrier { client, .. } => {
                // Also for a stopped app: the worker waits for it before closing.
                let ctx = self.ctx();
                ctx.scratch.clear();
                Outbound::Barrier { client }.write_prefix(&mut ctx.scratch);
                ctx.sink.push(client.worker(), &[&ctx.scratch]);
            }
        }
        self.finish()
    }

    /// Asks the app's upgrade callback about a client that is not open yet, and answers the
    /// worker: accept (with the subprotocol it chose) or reject (with its status and body).
    fn upgrade(
        &mut self,
        client: ClientId,
        endpoint_id: u16,
        peer: SocketAddr,
        request: UpgradeRequest<'_>,
    ) {
        let hook = self.app.descriptor().upgrade;
        let ctx = self.ctx();
        ctx.client_data.remove(&client);
        ctx.protocol.clear();
        ctx.protocol
            .extend_from_slice(request.picked_protocol().unwrap_or_default());
        let status = match hook {
            _ if ctx.stopped => 503,
            // The worker asks only apps with a hook; without one, accept as configured.
            None => 0,
            Some(hook) => {
                ctx.upgrade.clear();
                ctx.upgrade.extend_from_slice(request.as_bytes());
                // SAFETY: no callback runs (the runner holds `&mut self`).
                unsafe { (*self.rs.as_ptr()).wbuf_len = 0 };
                let cur = Current {
                    kind: CallbackKind::Upgrade,
                    client: Some((client, endpoint_id, peer)),
                    data_kind: None,
                };
                let ret = self.invoke(cur, Entry::Cb(hook));
                let ctx = self.ctx();
                ctx.upgrade.clear();
                match ret {
                    _ if ctx.fatal.is_some() => 503,
                    0 => 0,
                    400..=599 => ret as u16,
                    -1 => {
                        ctx.fatal_once("the upgrade callback returned -1 (fatal)".into());
                        503
                    }
                    _ => {
                        ctx.fatal_once(format!(
                            "the upgrade callback returned {ret}, which is not a valid return \
                             value for it (0 to accept, an HTTP status 400..=599 to reject, -1)"
                        ));
                        503
                    }
                }
            }
        };
        // SAFETY: the callback has returned; nothing else borrows the `rs_t`.
        let body_len = unsafe { core::mem::take(&mut (*self.rs.as_ptr()).wbuf_len) };
        let ctx = self.ctx();
        let body_len = if status >= 400 {
            body_len.min(ctx.wbuf.len()).min(RS_MAX_REJECT_BODY)
        } else {
            0
        };
        if status != 0 {
            ctx.client_data.remove(&client);
            ctx.protocol.clear();
        }
        let HostCtx {
            scratch,
            sink,
            wbuf,
            protocol,
            ..
        } = ctx;
        scratch.clear();
        Outbound::Answer {
            client,
            status,
            protocol,
            body: &wbuf[..body_len],
        }
        .encode(scratch);
        sink.push(client.worker(), &[scratch]);
    }

    /// Calls the timer callback if it is due at `now_us`, and re-arms it as it asks.
    pub fn run_timer(&mut self, now_us: u64) -> Result<(), AppStopped> {
        if self.is_stopped() {
            return Err(AppStopped);
        }
        let (Some(deadline), Some(timer)) = (self.timer_deadline, self.app.descriptor().timer)
        else {
            return Ok(());
        };
        if deadline > now_us {
            return Ok(());
        }
        let cur = Current {
            kind: CallbackKind::Timer,
            client: None,
            data_kind: None,
        };
        let ret = self.invoke(cur, Entry::Cb(timer));
        self.timer_deadline = match ret {
            0 => None,
            1.. => Some(now_us.saturating_add(ret as u64)),
            -1 => {
                self.ctx()
                    .fatal_once("the timer callback returned -1 (fatal)".into());
                None
            }
            _ => {
                self.ctx().fatal_once(format!("the timer callback returned {ret}, which is not a timer return value (-1, 0 or µs > 0)"));
                None
            }
        };
        self.finish()
    }

    fn open(&mut self, client: ClientId, endpoint_id: u16, peer: SocketAddr) {
        let worker_c = self.worker_c;
        let ctx = self.ctx();
        if usize::from(client.worker()) >= worker_c || ctx.clients.contains_key(&client) {
            ctx.log(
                Level::Error,
                format_args!("ignoring a bad open record for client {client}"),
            );
            return;
        }
        if ctx.stopped {
            // A connection that raced the stop: close it like the others.
            ctx.clients.insert(
                client,
                Client {
                    endpoint_id,
                    peer: peer.into(),
                    closing: true,
                },
            );
            ctx.push_close(client, RS_CLOSE_APP_FATAL);
            return;
        }
        ctx.clients.insert(
            client,
            Client {
                endpoint_id,
                peer: peer.into(),
                closing: false,
            },
        );
        ctx.live_per_worker[usize::from(client.worker())] += 1;
        let Some(open) = self.app.descriptor().open else {
            return;
        };
        if self.ctx().no_open_cb {
            return;
        }
        let cur = Current {
            kind: CallbackKind::Open,
            client: Some((client, endpoint_id, peer)),
            data_kind: None,
        };
        let ret = self.invoke(cur, Entry::Cb(open));
        self.check_client_return(CallbackKind::Open, client, ret);
    }

    fn read(&mut self, client: ClientId, data_kind: DataKind, payload: &[u8]) {
        let ctx = self.ctx();
        if ctx.stopped {
            return;
        }
        let Some(info) = ctx.clients.get(&client) else {
            ctx.log(
                Level::Warning,
                format_args!("dropping a message from unknown client {client}"),
            );
            return;
        };
        if info.closing {
            return; // The app already closed it; the message is moot.
        }
        let (endpoint_id, peer) = (info.endpoint_id, info.peer.get());
        let ret = match self.app.descriptor().read {
            Some(read) => {
                let cur = Current {
                    kind: CallbackKind::Read,
                    client: Some((client, endpoint_id, peer)),
                    data_kind: Some(data_kind),
                };
                self.invoke(cur, Entry::Read(read, payload))
            }
            // No read callback: a switch without cases.
            None if payload.is_empty() => RS_CLOSE_WRONG_SIZE.into(),
            None => RS_CLOSE_UNKNOWN_CASE.into(),
        };
        self.check_client_return(CallbackKind::Read, client, ret);
    }

    fn close(&mut self, client: ClientId) {
        let ctx = self.ctx();
        ctx.topics.forget(client);
        // Kept through the close callback, dropped after it.
        let data = ctx.client_data.remove(&client);
        let Some(info) = ctx.clients.remove(&client) else {
            // Also the end of an upgrade that never opened (rejected, or the client left).
            ctx.log(
                Level::Debug,
                format_args!("close record for unknown client {client}"),
            );
            return;
        };
        if !info.closing {
            ctx.live_per_worker[usize::from(client.worker())] -= 1;
        }
        if ctx.stopped || ctx.no_close_cb {
            return;
        }
        let Some(close) = self.app.descriptor().close else {
            return;
        };
        let cur = Current {
            kind: CallbackKind::Close,
            client: Some((client, info.endpoint_id, info.peer.get())),
            data_kind: None,
        };
        if let Some(data) = data {
            self.ctx().client_data.insert(client, data);
        }
        let ret = self.invoke(cur, Entry::Cb(close));
        self.ctx().client_data.remove(&client);
        self.check_plain_return(CallbackKind::Close, ret);
    }

    /// Calls into the app with `cur` as the running callback.
    fn invoke(&mut self, cur: Current, entry: Entry<'_>) -> c_int {
        self.ctx().cur = Some(cur);
        let rs = self.rs.as_ptr();
        // SAFETY: the entry points come from a checked descriptor whose app follows the ABI
        // (`App`'s contract); `rs` is this runner's `rs_t`, valid and not borrowed by the
        // runner during the call; `payload` outlives the call. Entry points do not unwind
        // (`rs_app!` and C code catch or cannot panic).
        let ret = unsafe {
            match entry {
                Entry::Cb(f) => f(rs),
                Entry::Read(f, payload) => f(rs, payload.as_ptr(), payload.len()),
            }
        };
        self.ctx().cur = None;
        ret
    }

    /// Init and close callbacks: 0 or -1.
    fn check_plain_return(&mut self, kind: CallbackKind, ret: c_int) {
        match ret {
            0 => {}
            -1 => self.ctx().fatal_once(format!("the {kind} callback returned -1 (fatal)")),
            _ => self.ctx().fatal_once(format!(
                "the {kind} callback returned {ret}, which is not a valid return value for it (0 or -1)"
            )),
        }
    }

    /// Open and read callbacks: 0, -1, or a close code for the current client.
    fn check_client_return(&mut self, kind: CallbackKind, client: ClientId, ret: c_int) {
        let ctx = self.ctx();
        match (ret, kind) {
            (0, _) => {}
            (-1, _) => ctx.fatal_once(format!("the {kind} callback returned -1 (fatal)")),
            (4000..=4899, _) | (4900..=4902, CallbackKind::Read) => {
                if ret >= 4900 {
                    ctx.log(Level::Info, format_args!(
                        "closing client {client} with {ret}: the message did not fit the app's read parameters"
                    ));
                }
                if ctx.clients.get(&client).is_some_and(|c| !c.closing) {
                    ctx.close_client(client, ret as u16);
                }
            }
            _ => ctx.fatal_once(format!(
                "the {kind} callback returned {ret}, which is not a valid return value for it \
                 (0, -1, or a close code 4000..=4899)"
            )),
        }
    }

    /// Stops the app if a callback asked for it.
    fn finish(&mut self) -> Result<(), AppStopped> {
        let ctx = self.ctx();
        if let Some(why) = ctx.fatal.take()
            && !ctx.stopped
        {
            ctx.log(Level::Error, format_args!(
                "{why}; the app stops: its clients are closed with 1011 and its endpoints answer 503"
            ));
            ctx.stopped = true;
            let live: Vec<ClientId> = ctx
                .clients
                .iter()
                .filter(|(_, c)| !c.closing)
                .map(|(id, _)| *id)
                .collect();
            for id in live {
                ctx.close_client(id, RS_CLOSE_APP_FATAL);
            }
        }
        if ctx.stopped {
            // A stopped app runs no more timers: disarm, so an app thread never wakes (or, in
            // `wake` mode, spins) for a deadline that will not be honoured.
            self.timer_deadline = None;
            Err(AppStopped)
        } else {
            Ok(())
        }
    }
}

impl<O: HostSink> HostCtx<O> {
    fn log(&mut self, level: Level, args: fmt::Arguments<'_>) {
        if level <= self.log_level {
            self.sink.log(level, &self.name, &args.to_string());
        }
    }

    /// Records a fatal error (the first one wins); the app stops when the callback returns.
    fn fatal_once(&mut self, why: String) {
        self.fatal.get_or_insert(why);
    }

    /// A helper used where the spec calls it fatal: logged now, fatal on return.
    fn misuse(&mut self, what: fmt::Arguments<'_>) -> SendStatus {
        let msg = format!("misuse: {what}");
        self.log(Level::Error, format_args!("{msg}"));
        self.fatal_once(msg);
        SendStatus::Misuse
    }

    fn cur_kind(&self) -> Option<CallbackKind> {
        self.cur.map(|c| c.kind)
    }

    /// The current client, where the running callback has one.
    fn cur_client(&mut self, helper: &str) -> Result<(ClientId, u16, SocketAddr), SendStatus> {
        match self.cur {
            Some(Current {
                client: Some(client),
                ..
            }) => Ok(client),
            Some(Current { kind, .. }) => Err(self.misuse(format_args!(
                "{helper} called from the {kind} callback, which has no current client"
            ))),
            None => Err(self.misuse(format_args!("{helper} called outside a callback"))),
        }
    }

    /// A live client id, or the status explaining why not (logged).
    fn live(&mut self, raw: u64, helper: &str) -> Result<ClientId, SendStatus> {
        let client =
            ClientId::new(raw).and_then(|id| self.clients.get(&id).map(|c| (id, c.closing)));
        match client {
            Some((id, false)) => Ok(id),
            Some((id, true)) => {
                self.log(
                    Level::Debug,
                    format_args!("{helper}: client {id} is closing"),
                );
                Err(SendStatus::ClientClosing)
            }
            None => {
                self.log(Level::Warning, format_args!(
                    "{helper}: {raw:#x} is not a live client of this app (never was, or already closed)"
                ));
                Err(SendStatus::UnknownClient)
            }
        }
    }

    fn push_send(&mut self, worker: u8, to: Recipients<'_>, kind: DataKind, len: usize) {
        self.scratch.clear();
        Outbound::Send { to, frame: &[] }.write_prefix(&mut self.scratch);
        let header = server_frame_header(kind, len);
        self.sink.push(
            worker,
            &[&self.scratch, header.as_bytes(), &self.wbuf[..len]],
        );
    }

    fn push_close(&mut self, client: ClientId, code: u16) {
        self.scratch.clear();
        Outbound::Close { client, code }.write_prefix(&mut self.scratch);
        self.sink.push(client.worker(), &[&self.scratch]);
    }

    fn close_client(&mut self, client: ClientId, code: u16) {
        if let Some(c) = self.clients.get_mut(&client)
            && !c.closing
        {
            c.closing = true;
            self.live_per_worker[usize::from(client.worker())] -= 1;
        }
        self.push_close(client, code);
    }

    /// Sends `wbuf[..len]` to every live client not in `excluded`, one record per worker
    /// that has any.
    fn broadcast(&mut self, kind: DataKind, len: usize, excluded: &[u64]) {
        let mut excluded: Vec<ClientId> = excluded
            .iter()
            .filter_map(|&raw| ClientId::new(raw))
            .filter(|id| self.clients.get(id).is_some_and(|c| !c.closing))
            .collect();
        excluded.sort_unstable_by_key(|id| (id.worker(), id.get()));
        excluded.dedup();
        for worker in 0..self.live_per_worker.len() {
            let live = self.live_per_worker[worker];
            let ex: Vec<ClientId> = excluded
                .iter()
                .copied()
                .filter(|id| usize::from(id.worker()) == worker)
                .collect();
            if live as usize <= ex.len() {
                continue; // Nobody there, or everybody there is excluded.
            }
            let to = match ex.as_slice() {
                [] => Recipients::Every,
                [one] => Recipients::EveryExceptSingle(*one),
                many => Recipients::EveryExceptMulti(Ids::from_slice(many)),
            };
            self.push_send(worker as u8, to, kind, len);
        }
    }

    fn send(&mut self, to: u32, data_kind: u32, ids: &[u64], len: usize) -> SendStatus {
        let helper = match to {
            RS_TO_SINGLE => "to_single",
            RS_TO_MULTI => "to_multi",
            RS_TO_CUR => "to_cur",
            RS_TO_EVERY => "to_every",
            RS_TO_EVERY_EXCEPT_SINGLE => "to_every_except_single",
            RS_TO_EVERY_EXCEPT_MULTI => "to_every_except_multi",
            RS_TO_EVERY_EXCEPT_CUR => "to_every_except_cur",
            _ => return self.misuse(format_args!("send with unknown recipient kind {to}")),
        };
        if self.stopped || self.fatal.is_some() {
            return SendStatus::Stopped;
        }
        let Some(kind) = DataKind::from_raw(data_kind) else {
            return self.misuse(format_args!("{helper} with unknown data kind {data_kind}"));
        };
        if len > self.wbuf.len() {
            return self.misuse(format_args!("{helper}: the write buffer length is corrupt"));
        }
        match self.cur_kind() {
            None => return self.misuse(format_args!("{helper} called outside a callback")),
            Some(CallbackKind::Init) => {
                return self.misuse(format_args!(
                    "{helper} called from the init callback, before clients can connect"
                ));
            }
            Some(CallbackKind::Fini) => {
                return self.misuse(format_args!(
                    "{helper} called from the fini callback, after the last client"
                ));
            }
            Some(_) => {}
        }
        match to {
            RS_TO_SINGLE | RS_TO_EVERY_EXCEPT_SINGLE if ids.len() != 1 => {
                self.misuse(format_args!("{helper} takes exactly one client id"))
            }
            RS_TO_SINGLE => match self.live(ids[0], helper) {
                Ok(id) => {
                    self.push_send(id.worker(), Recipients::Single(id), kind, len);
                    SendStatus::Sent
                }
                Err(status) => status,
            },
            RS_TO_MULTI => {
                let mut status = SendStatus::Sent;
                let mut targets = Vec::with_capacity(ids.len());
                for &raw in ids {
                    match self.live(raw, helper) {
                        Ok(id) => targets.push(id),
                        Err(failed) if status.is_sent() => status = failed,
                        Err(_) => {}
                    }
                }
                targets.sort_unstable_by_key(|id| (id.worker(), id.get()));
                targets.dedup();
                for group in targets.chunk_by(|a, b| a.worker() == b.worker()) {
                    let to = match group {
                        [one] => Recipients::Single(*one),
                        many => Recipients::Multi(Ids::from_slice(many)),
                    };
                    self.push_send(group[0].worker(), to, kind, len);
                }
                status
            }
            RS_TO_CUR | RS_TO_EVERY_EXCEPT_CUR
                if self.cur_kind() == Some(CallbackKind::Upgrade) =>
            {
                self.misuse(format_args!(
                    "{helper} called from the upgrade callback: the client is not connected yet \
                     (write a rejection's body and return its status instead)"
                ))
            }
            RS_TO_CUR => match self.cur_client(helper) {
                Ok((id, ..)) if self.cur_kind() == Some(CallbackKind::Close) => {
                    self.misuse(format_args!(
                        "{helper} called from the close callback of client {id}, which is gone"
                    ))
                }
                Ok((id, ..)) => match self.live(id.get(), helper) {
                    Ok(id) => {
                        self.push_send(id.worker(), Recipients::Single(id), kind, len);
                        SendStatus::Sent
                    }
                    Err(status) => status,
                },
                Err(status) => status,
            },
            RS_TO_EVERY => {
                self.broadcast(kind, len, &[]);
                SendStatus::Sent
            }
            RS_TO_EVERY_EXCEPT_SINGLE | RS_TO_EVERY_EXCEPT_MULTI => {
                self.broadcast(kind, len, ids);
                SendStatus::Sent
            }
            _ => match self.cur_client(helper) {
                // RS_TO_EVERY_EXCEPT_CUR
                Ok(_) if self.cur_kind() == Some(CallbackKind::Close) => self.misuse(format_args!(
                    "{helper} called from a close callback, which has no current connection"
                )),
                Ok((id, ..)) => {
                    self.broadcast(kind, len, &[id.get()]);
                    SendStatus::Sent
                }
                Err(status) => status,
            },
        }
    }

    fn close_helper(&mut self, client: Option<u64>, code: u16) -> SendStatus {
        let helper = if client.is_some() {
            "close"
        } else {
            "close_cur"
        };
        if self.stopped || self.fatal.is_some() {
            return SendStatus::Stopped;
        }
        if matches!(
            self.cur_kind(),
            None | Some(CallbackKind::Init | CallbackKind::Fini)
        ) {
            return self.misuse(format_args!(
                "{helper} called outside a client I/O callback"
            ));
        }
        if AppCloseCode::new(code).is_none() {
            return self.misuse(format_args!(
                "{helper}: {code} is not an app close code (4000..=4899)"
            ));
        }
        if client.is_none() && self.cur_kind() == Some(CallbackKind::Upgrade) {
            return self.misuse(format_args!(
                "close_cur called from the upgrade callback: return an HTTP status to reject"
            ));
        }
        let raw = match client {
            Some(raw) => raw,
            None => match self.cur_client(helper) {
                Ok(_) if self.cur_kind() == Some(CallbackKind::Close) => {
                    return SendStatus::ClientClosing;
                }
                Ok((id, ..)) => id.get(),
                Err(status) => return status,
            },
        };
        match self.live(raw, helper) {
            Ok(id) => {
                self.close_client(id, code);
                SendStatus::Sent
            }
            Err(status) => status,
        }
    }
}

/// Runs a host function body with the runner's state; a panic (a host bug) is contained: it
/// stops the app instead of unwinding into app code.
fn with_ctx<O: HostSink, R>(
    rs: *mut rs_t,
    on_panic: R,
    f: impl FnOnce(&mut HostCtx<O>, &mut rs_t) -> R,
) -> R {
    let result = catch_unwind(AssertUnwindSafe(|| {
        // SAFETY: `rs` is the `rs_t` a runner passed to the running callback (the ABI: host
        // functions are called only with it, during the callback), and `host_ctx` is that
        // runner's `HostCtx<O>` (the table with these functions was made for `O`). The runner
        // holds no reference to either during the callback; they are distinct allocations.
        let (rs, ctx) = unsafe { (&mut *rs, &mut *(*rs).host_ctx.cast::<HostCtx<O>>()) };
        f(ctx, rs)
    }));
    result.unwrap_or_else(|_| {
        // SAFETY: as above; the panicking borrow has ended.
        let ctx = unsafe { &mut *(*rs).host_ctx.cast::<HostCtx<O>>() };
        ctx.fatal_once("internal error in a host function".into());
        on_panic
    })
}

fn host_table<O: HostSink>() -> rs_host_fns {
    rs_host_fns {
        abi_version: RS_ABI_VERSION,
        struct_size: size_of::<rs_host_fns>() as u32,
        wbuf_reserve: h_wbuf_reserve::<O>,
        send: h_send::<O>,
        close: h_close::<O>,
        close_cur: h_close_cur::<O>,
        client_id: h_client_id::<O>,
        client_addr: h_client_addr::<O>,
        endpoint_id: h_endpoint_id::<O>,
        read_data_kind: h_read_data_kind::<O>,
        conf: h_conf::<O>,
        app_conf: h_app_conf::<O>,
        log: h_log::<O>,
        request_target: h_request_target::<O>,
        request_header: h_request_header::<O>,
        request_query_param: h_request_query_param::<O>,
        request_cookie: h_request_cookie::<O>,
        set_subprotocol: h_set_subprotocol::<O>,
        set_client_data: h_set_client_data::<O>,
        client_data: h_client_data::<O>,
        subscribe: h_subscribe::<O>,
        unsubscribe: h_unsubscribe::<O>,
        publish: h_publish::<O>,
    }
}

impl<O: HostSink> HostCtx<O> {
    /// Whether a topic helper may run now (a callback with client I/O, a valid name).
    fn topic_check(&mut self, helper: &str, name: &[u8]) -> Result<(), SendStatus> {
        if self.stopped || self.fatal.is_some() {
            return Err(SendStatus::Stopped);
        }
        match self.cur_kind() {
            None => return Err(self.misuse(format_args!("{helper} called outside a callback"))),
            Some(kind @ (CallbackKind::Init | CallbackKind::Fini)) => {
                return Err(self.misuse(format_args!(
                    "{helper} called from the {kind} callback, which has no clients"
                )));
            }
            Some(_) => {}
        }
        if name.is_empty() || name.len() > RS_MAX_TOPIC {
            return Err(self.misuse(format_args!(
                "{helper}: a topic is 1 to {RS_MAX_TOPIC} bytes, not {}",
                name.len()
            )));
        }
        Ok(())
    }

    fn subscribe(&mut self, raw: u64, name: &[u8], join: bool) -> SendStatus {
        let helper = if join { "subscribe" } else { "unsubscribe" };
        if let Err(status) = self.topic_check(helper, name) {
            return status;
        }
        let client = match self.live(raw, helper) {
            Ok(client) => client,
            Err(status) => return status,
        };
        let worker_c = self.live_per_worker.len();
        let record = if join {
            self.topics
                .join(client, name, worker_c)
                .map(|topic| Outbound::Subscribe { client, topic })
        } else {
            self.topics
                .leave(client, name)
                .map(|topic| Outbound::Unsubscribe { client, topic })
        };
        if let Some(record) = record {
            self.scratch.clear();
            record.write_prefix(&mut self.scratch);
            self.sink.push(client.worker(), &[&self.scratch]);
        }
        SendStatus::Sent
    }

    fn publish(&mut self, data_kind: u32, name: &[u8], len: usize) -> SendStatus {
        if let Err(status) = self.topic_check("publish", name) {
            return status;
        }
        let Some(kind) = DataKind::from_raw(data_kind) else {
            return self.misuse(format_args!("publish with unknown data kind {data_kind}"));
        };
        if len > self.wbuf.len() {
            return self.misuse(format_args!("publish: the write buffer length is corrupt"));
        }
        let Some((topic, per_worker)) = self.topics.audience(name) else {
            return SendStatus::Sent; // Nobody subscribed: nothing to send.
        };
        let workers: Vec<u8> = (0..per_worker.len())
            .filter(|&w| per_worker[w] > 0)
            .map(|w| w as u8)
            .collect();
        let header = server_frame_header(kind, len);
        for worker in workers {
            self.scratch.clear();
            Outbound::Publish { topic, frame: &[] }.write_prefix(&mut self.scratch);
            self.sink.push(
                worker,
                &[&self.scratch, header.as_bytes(), &self.wbuf[..len]],
            );
        }
        SendStatus::Sent
    }
}

unsafe extern "C" fn h_subscribe<O: HostSink>(
    rs: *mut rs_t,
    client_id: u64,
    topic: *const u8,
    len: usize,
) -> c_int {
    with_ctx::<O, _>(rs, SendStatus::Misuse as c_int, |ctx, _| {
        // SAFETY: the app passes `len` readable bytes (ABI).
        let name = unsafe { app_bytes(topic, len) };
        ctx.subscribe(client_id, name, true) as c_int
    })
}

unsafe extern "C" fn h_unsubscribe<O: HostSink>(
    rs: *mut rs_t,
    client_id: u64,
    topic: *const u8,
    len: usize,
) -> c_int {
    with_ctx::<O, _>(rs, SendStatus::Misuse as c_int, |ctx, _| {
        // SAFETY: the app passes `len` readable bytes (ABI).
        let name = unsafe { app_bytes(topic, len) };
        ctx.subscribe(client_id, name, false) as c_int
    })
}

unsafe extern "C" fn h_publish<O: HostSink>(
    rs: *mut rs_t,
    data_kind: u32,
    topic: *const u8,
    len: usize,
) -> c_int {
    with_ctx::<O, _>(rs, SendStatus::Misuse as c_int, |ctx, rs| {
        let wbuf_len = core::mem::take(&mut rs.wbuf_len);
        // SAFETY: the app passes `len` readable bytes (ABI); they may not alias the write
        // buffer, which the app only reaches through `rs_t`.
        let name = unsafe { app_bytes(topic, len) };
        ctx.publish(data_kind, name, wbuf_len) as c_int
    })
}

impl<O: HostSink> HostCtx<O> {
    /// The request of the running upgrade callback, or misuse.
    fn request(&mut self, helper: &str) -> Option<UpgradeRequest<'_>> {
        if self.cur_kind() != Some(CallbackKind::Upgrade) {
            let kind = self.cur_kind();
            match kind {
                Some(kind) => self.misuse(format_args!(
                    "{helper} called from the {kind} callback (upgrade callbacks only)"
                )),
                None => self.misuse(format_args!("{helper} called outside a callback")),
            };
            return None;
        }
        UpgradeRequest::from_encoded(&self.upgrade).ok()
    }

    /// The current client for the client-data helpers.
    fn data_client(&mut self, helper: &str, setting: bool) -> Option<ClientId> {
        let allowed = match self.cur_kind() {
            Some(CallbackKind::Upgrade | CallbackKind::Open | CallbackKind::Read) => true,
            Some(CallbackKind::Close) => !setting,
            _ => false,
        };
        if !allowed {
            let kind = self.cur_kind();
            match kind {
                Some(kind) => self.misuse(format_args!("{helper} called from the {kind} callback")),
                None => self.misuse(format_args!("{helper} called outside a callback")),
            };
            return None;
        }
        self.cur_client(helper).ok().map(|(id, ..)| id)
    }
}

/// Hands `bytes` to the app as pointer and length (null: `None`).
///
/// # Safety
/// `len` is null or writable.
unsafe fn give(bytes: Option<&[u8]>, len: *mut usize) -> *const u8 {
    let (ptr, n) = match bytes {
        Some(b) => (b.as_ptr(), b.len()),
        None => (core::ptr::null(), 0),
    };
    if !len.is_null() {
        // SAFETY: non-null, and writable (caller).
        unsafe { len.write(n) };
    }
    ptr
}

/// The app's `name[..name_len]`.
///
/// # Safety
/// `name` is null or valid for `name_len` bytes for the call.
unsafe fn app_bytes<'a>(name: *const u8, name_len: usize) -> &'a [u8] {
    if name.is_null() || name_len == 0 {
        return &[];
    }
    // SAFETY: valid for `name_len` bytes (caller).
    unsafe { core::slice::from_raw_parts(name, name_len) }
}

unsafe extern "C" fn h_request_target<O: HostSink>(rs: *mut rs_t, len: *mut usize) -> *const u8 {
    with_ctx::<O, _>(rs, core::ptr::null(), |ctx, _| {
        let target = ctx.request("request_target").map(|r| r.target());
        // SAFETY: `len` is the app's out-parameter (ABI: null or writable); the bytes live in
        // `ctx.upgrade` until the callback returns.
        unsafe { give(target, len) }
    })
}

unsafe extern "C" fn h_request_header<O: HostSink>(
    rs: *mut rs_t,
    name: *const u8,
    name_len: usize,
    len: *mut usize,
) -> *const u8 {
    // SAFETY: the arguments are the app's (ABI), passed on.
    unsafe { lookup::<O>(rs, name, name_len, len, HostCtx::find_header) }
}

unsafe extern "C" fn h_request_query_param<O: HostSink>(
    rs: *mut rs_t,
    name: *const u8,
    name_len: usize,
    len: *mut usize,
) -> *const u8 {
    // SAFETY: as in `h_request_header`.
    unsafe { lookup::<O>(rs, name, name_len, len, HostCtx::find_query_param) }
}

unsafe extern "C" fn h_request_cookie<O: HostSink>(
    rs: *mut rs_t,
    name: *const u8,
    name_len: usize,
    len: *mut usize,
) -> *const u8 {
    // SAFETY: as in `h_request_header`.
    unsafe { lookup::<O>(rs, name, name_len, len, HostCtx::find_cookie) }
}

/// A request helper that looks `name[..name_len]` up with `find` and hands out the value.
///
/// # Safety
/// `rs` is the running callback's; `name` is null or readable for `name_len` bytes, `len` null
/// or writable (the ABI's terms for the app's arguments).
unsafe fn lookup<O: HostSink>(
    rs: *mut rs_t,
    name: *const u8,
    name_len: usize,
    len: *mut usize,
    find: for<'c> fn(&'c mut HostCtx<O>, &[u8]) -> Option<&'c [u8]>,
) -> *const u8 {
    with_ctx::<O, _>(rs, core::ptr::null(), |ctx, _| {
        // SAFETY: readable for `name_len` bytes (caller).
        let name = unsafe { app_bytes(name, name_len) };
        // SAFETY: `len` as in `h_request_target`; the bytes live in the request (until the
        // callback returns) or in `ctx.decoded` (until the next call).
        unsafe { give(find(ctx, name), len) }
    })
}

impl<O: HostSink> HostCtx<O> {
    fn find_header(&mut self, name: &[u8]) -> Option<&[u8]> {
        self.request("request_header").and_then(|r| r.header(name))
    }

    fn find_query_param(&mut self, name: &[u8]) -> Option<&[u8]> {
        let raw = self
            .request("request_query_param")
            .and_then(|r| r.query())
            .and_then(|q| ws_proto::handshake::query_value(q, name))
            .map(<[u8]>::to_vec)?;
        self.decoded.clear();
        // A `Vec` never runs out of room.
        let _ = ws_proto::handshake::percent_decode(&raw, true, &mut self.decoded);
        Some(&self.decoded)
    }

    fn find_cookie(&mut self, name: &[u8]) -> Option<&[u8]> {
        self.request("request_cookie").and_then(|r| {
            r.headers()
                .filter(|(n, _)| n.eq_ignore_ascii_case(b"cookie"))
                .find_map(|(_, v)| ws_proto::handshake::cookie(v, name))
        })
    }
}

unsafe extern "C" fn h_set_subprotocol<O: HostSink>(
    rs: *mut rs_t,
    p: *const u8,
    len: usize,
) -> c_int {
    with_ctx::<O, _>(rs, -1, |ctx, _| {
        // SAFETY: the app passes `len` readable bytes (ABI).
        let protocol = unsafe { app_bytes(p, len) };
        let Some(request) = ctx.request("set_subprotocol") else {
            return -1;
        };
        if !protocol.is_empty() && !request.offers_protocol(protocol) {
            let shown = String::from_utf8_lossy(protocol).into_owned();
            ctx.log(
                Level::Warning,
                format_args!("set_subprotocol: the client did not offer {shown:?}; not set"),
            );
            return -1;
        }
        ctx.protocol.clear();
        ctx.protocol.extend_from_slice(protocol);
        0
    })
}

unsafe extern "C" fn h_set_client_data<O: HostSink>(
    rs: *mut rs_t,
    data: *const u8,
    len: usize,
) -> c_int {
    with_ctx::<O, _>(rs, -1, |ctx, _| {
        let Some(client) = ctx.data_client("set_client_data", true) else {
            return -1;
        };
        if len > RS_MAX_CLIENT_DATA {
            ctx.log(
                Level::Warning,
                format_args!(
                    "set_client_data: {len} bytes exceed the {RS_MAX_CLIENT_DATA}-byte limit; not set"
                ),
            );
            return -1;
        }
        // SAFETY: the app passes `len` readable bytes (ABI).
        let data = unsafe { app_bytes(data, len) };
        if data.is_empty() {
            ctx.client_data.remove(&client);
        } else {
            ctx.client_data.insert(client, data.into());
        }
        0
    })
}

unsafe extern "C" fn h_client_data<O: HostSink>(rs: *mut rs_t, len: *mut usize) -> *const u8 {
    with_ctx::<O, _>(rs, core::ptr::null(), |ctx, _| {
        let data = ctx
            .data_client("client_data", false)
            .and_then(|id| ctx.client_data.get(&id))
            .map(|d| &d[..]);
        // SAFETY: `len` as in `h_request_target`; the bytes live until they are set again or
        // the client closes (after its close callback).
        unsafe { give(data, len) }
    })
}

unsafe extern "C" fn h_wbuf_reserve<O: HostSink>(rs: *mut rs_t, additional: usize) -> c_int {
    with_ctx::<O, _>(rs, -1, |ctx, rs| {
        let len = rs.wbuf_len;
        let Some(needed) = len
            .checked_add(additional)
            .filter(|_| len <= ctx.wbuf.len())
        else {
            ctx.misuse(format_args!("the write buffer length is corrupt"));
            return -1;
        };
        if needed > ctx.wbuf.len() {
            let grown = (ctx.wbuf.len() as f64 * ctx.realloc_multiplier) as usize;
            ctx.wbuf.resize(needed.max(grown), 0);
            rs.wbuf = ctx.wbuf.as_mut_ptr();
            rs.wbuf_cap = ctx.wbuf.len();
        }
        0
    })
}

unsafe extern "C" fn h_send<O: HostSink>(
    rs: *mut rs_t,
    to: u32,
    data_kind: u32,
    ids: *const u64,
    id_c: usize,
) -> c_int {
    with_ctx::<O, _>(rs, SendStatus::Misuse as c_int, |ctx, rs| {
        let len = core::mem::take(&mut rs.wbuf_len);
        let ids = if id_c == 0 || ids.is_null() {
            &[][..]
        } else {
            // SAFETY: the app passes `id_c` ids (ABI); they stay valid during the call.
            unsafe { core::slice::from_raw_parts(ids, id_c) }
        };
        ctx.send(to, data_kind, ids, len) as c_int
    })
}

unsafe extern "C" fn h_close<O: HostSink>(rs: *mut rs_t, client_id: u64, code: u16) -> c_int {
    with_ctx::<O, _>(rs, SendStatus::Misuse as c_int, |ctx, _| {
        ctx.close_helper(Some(client_id), code) as c_int
    })
}

unsafe extern "C" fn h_close_cur<O: HostSink>(rs: *mut rs_t, code: u16) -> c_int {
    with_ctx::<O, _>(rs, SendStatus::Misuse as c_int, |ctx, _| {
        ctx.close_helper(None, code) as c_int
    })
}

unsafe extern "C" fn h_client_id<O: HostSink>(rs: *mut rs_t) -> u64 {
    with_ctx::<O, _>(rs, 0, |ctx, _| {
        ctx.cur_client("client_id").map_or(0, |(id, ..)| id.get())
    })
}

unsafe extern "C" fn h_client_addr<O: HostSink>(rs: *mut rs_t, out: *mut rs_sockaddr) -> c_int {
    with_ctx::<O, _>(rs, -1, |ctx, _| match ctx.cur_client("client_addr") {
        Ok((_, _, peer)) if !out.is_null() => {
            // SAFETY: the app passes a writable `rs_sockaddr` (ABI).
            unsafe { out.write(rs_sockaddr::from(peer)) };
            0
        }
        _ => -1,
    })
}

unsafe extern "C" fn h_endpoint_id<O: HostSink>(rs: *mut rs_t) -> c_int {
    with_ctx::<O, _>(rs, -1, |ctx, _| {
        ctx.cur_client("endpoint_id")
            .map_or(-1, |(_, endpoint, _)| endpoint.into())
    })
}

unsafe extern "C" fn h_read_data_kind<O: HostSink>(rs: *mut rs_t) -> c_int {
    with_ctx::<O, _>(rs, -1, |ctx, _| match ctx.cur {
        Some(Current {
            data_kind: Some(kind),
            ..
        }) => kind as c_int,
        Some(Current { kind, .. }) => {
            ctx.misuse(format_args!(
                "read_data_kind called from the {kind} callback"
            ));
            -1
        }
        None => {
            ctx.misuse(format_args!("read_data_kind called outside a callback"));
            -1
        }
    })
}

unsafe extern "C" fn h_conf<O: HostSink>(rs: *mut rs_t) -> *const rs_conf {
    with_ctx::<O, _>(rs, core::ptr::null(), |ctx, _| ctx.conf.get())
}

unsafe extern "C" fn h_app_conf<O: HostSink>(rs: *mut rs_t) -> *const rs_conf_app {
    with_ctx::<O, _>(rs, core::ptr::null(), |ctx, _| {
        &ctx.conf.get().apps()[ctx.app_i]
    })
}

unsafe extern "C" fn h_log<O: HostSink>(
    rs: *mut rs_t,
    level: c_int,
    msg: *const c_char,
    len: usize,
) {
    with_ctx::<O, _>(rs, (), |ctx, _| {
        let bytes = if msg.is_null() || len == 0 {
            &[][..]
        } else {
            // SAFETY: the app passes `len` readable bytes (ABI).
            unsafe { core::slice::from_raw_parts(msg.cast::<u8>(), len) }
        };
        ctx.log(
            Level::from_syslog(level),
            format_args!("{}", String::from_utf8_lossy(bytes)),
        );
    });
}

#[cfg(test)]
mod id_hasher_tests {
    use std::collections::HashSet;
    use std::hash::BuildHasher;

    use super::*;

    #[test]
    fn client_ids_spread_over_buckets_and_control_bits() {
        let build = BuildHasherDefault::<IdHasher>::default();
        let ids: Vec<ClientId> = (0..4096u32)
            .filter_map(|slot| ClientId::from_parts(1 + slot % 3, (slot % 2) as u8, slot))
            .collect();
        let hashes: Vec<u64> = ids.iter().map(|id| build.hash_one(id)).collect();
        let distinct =
            |bits: fn(u64) -> u64| hashes.iter().map(|&h| bits(h)).collect::<HashSet<_>>();
        assert_eq!(distinct(|h| h).len(), ids.len());
        // hashbrown: low bits pick the bucket, the top 7 the control byte.
        assert!(distinct(|h| h & 0xfff).len() > 2500);
        assert_eq!(distinct(|h| h >> 57).len(), 128);
    }
}
