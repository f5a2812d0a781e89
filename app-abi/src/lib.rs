//! Writing RingSocket apps: the plugin API, in Rust ([`rs_app!`]) and in C (`include/ringsocket.h`).
//!
//! An app is a shared object (`.so`) the daemon loads at startup. It runs on its own thread;
//! RingSocket calls its callbacks when clients connect, send messages and disconnect, and
//! decodes and validates each message against the parameters the app declares before its read
//! callback ever sees it.
//!
//! # A complete app
//!
//! ```
//! use app_abi::{rs_app, rs_log, ClientId, DataKind, Rs, Stop};
//!
//! #[derive(Default)]
//! struct Room {
//!     members: Vec<(ClientId, String)>,
//! }
//!
//! // Case 0: set a nickname (a UTF-8 string of 1 to 32 bytes).
//! fn nick(rs: &mut Rs, room: &mut Room, name: &str) -> Result<(), Stop> {
//!     if room.members.iter().any(|(_, n)| n == name) {
//!         return Err(Stop::close(4001)); // 4000..=4899 are the app's own close codes
//!     }
//!     let me = rs.client_id();
//!     room.members.push((me, name.to_owned()));
//!     rs_log!(Info, "{me} is now {name}");
//!     Ok(())
//! }
//!
//! // Case 1: a network-order u16 "x, y" pair, then 0 to 100 bytes of anything.
//! fn draw(rs: &mut Rs, _room: &mut Room, at: [u16; 2], rest: &[u8]) {
//!     rs.w_u16_hton(at[0]).w_u16_hton(at[1]).w_bytes(rest);
//!     rs.to_every_except_cur(DataKind::Bin);
//! }
//!
//! fn gone(rs: &mut Rs, room: &mut Room) {
//!     let me = rs.client_id();
//!     room.members.retain(|(id, _)| *id != me);
//! }
//!
//! rs_app! {
//!     static ROOM_APP; // omit this line in a real app: the descriptor is then exported
//!     state: Room = Room::default(),
//!     read: switch {
//!         0 => text nick(str[1..=32]),
//!         1 => bin draw(ntoh [u16; 2], net [u8; 0..=100]),
//!     },
//!     close: gone,
//! }
//! # fn main() { let _ = &ROOM_APP; }
//! ```
//!
//! Build it as a `cdylib` (`[lib] crate-type = ["cdylib"]`, depending on this crate without the
//! `host` feature), and name the `.so` as `app_path` in `ringsocket.json`.
//!
//! # `rs_app!`
//!
//! Keys, comma-separated, in any order, each optional and at most once (the spec's five
//! `RS_APP` slots, plus typed state):
//!
//! | key | callback signature | notes |
//! |---|---|---|
//! | `state: T = expr` | — | the app's state, made on the app thread before anything else |
//! | `state: T, init: f` | `fn(&mut Rs) -> Result<T, E>` | `E: Display`; an `Err` is logged and fatal |
//! | `init: f` (no state) | `fn(&mut Rs) -> ()` or `Result<(), E>` | before any client connects |
//! | `open: f` | `fn(&mut Rs[, &mut T]) -> R` | a client connected |
//! | `read: KIND f(PARAMS)` | `fn(&mut Rs[, &mut T], params…) -> R` | every message |
//! | `read: switch { CASE => KIND f(PARAMS), … }` | as `read`, per case | the first byte picks the case |
//! | `close: f` | `fn(&mut Rs[, &mut T]) -> R` | a connection the app saw opened ended, for any reason |
//! | `timer: wake(f, µs)` / `timer: sleep(f, µs)` | `fn(&mut Rs[, &mut T]) -> Timer` | first call `µs` after start |
//! | `upgrade: f` | `fn(&mut Rs[, &mut T]) -> U` | a client asks to upgrade, before the `101`: `U` is [`Upgrade`] (accept, reject with an HTTP status, fatal), `()` (accept) or `i32` |
//!
//! In the upgrade callback, [`Rs::request_target`], [`Rs::query_param`], [`Rs::cookie`] and
//! [`Rs::request_header`] read the request, [`Rs::set_subprotocol`] picks a subprotocol the
//! client offered, what was written with `w_*` is a rejection's body, and
//! [`Rs::set_client_data`] attaches bytes to the client that [`Rs::client_data`] hands back in
//! every later callback for it.
//!
//! Callbacks get `&mut T` (after `rs`) exactly when a `state` is declared. `R` is `()`,
//! `Result<(), Stop>` or the spec's raw `i32`.
//!
//! **Read kinds**: `bin` (binary messages only), `text` (text only), `any` (either; ask
//! [`Rs::read_data_kind`]). A message of the wrong kind closes the client with **4901**.
//!
//! **Switch**: the first byte selects the case; `CASE` is a `u8` pattern (`7`, `b'n'`, a
//! `const`, `1 | 2`). Each case has its own kind and parameters, which start after that byte.
//! An empty message closes with **4900**, an unknown case with **4902**. Up to 256 cases.
//!
//! **Parameters** (`PARAMS`, comma-separated; the spec's `RS_NET`/`RS_NTOH`/`RS_STR`):
//!
//! | parameter | callback gets | C equivalent |
//! |---|---|---|
//! | `net T` / `ntoh T` | `T` | `RS_NET(T)` / `RS_NTOH(T)` |
//! | `net [T; N]` / `ntoh [T; N]` | `[T; N]` | `RS_NET(T, N)` / `RS_NTOH(T, N)` |
//! | `net [T; MIN..=MAX]` / `ntoh …` (last) | `&[T]` (its `len()` is the count) | `RS_NET(T, MIN, MAX)`, `_STA`, `_VLA` |
//! | `net vec[T; MIN..=MAX]` / `ntoh …` (last) | `Vec<T>` | `RS_NET_HEAP(T, MIN, MAX)` |
//! | `str[MIN..=MAX]` (last) | `&str` | `RS_STR(MIN, MAX)` |
//! | `string[MIN..=MAX]` (last) | `String` | `RS_STR_HEAP(MIN, MAX)` |
//!
//! `T` is one of `u8 i8 u16 i16 u32 i32 u64 i64 f32 f64`. `net` takes bytes as they are (the
//! sender's own byte order), `ntoh` converts from network byte order. `MIN..` means no
//! maximum. Counts are elements for arrays and bytes for strings; strings must be valid UTF-8
//! without NUL. Anything that does not fit exactly (too short, bytes left over, a count out of
//! range, a partial element, a bad string) closes the client with **4900** before the callback
//! runs. `net [u8; …]` and `str` borrow the message without copying.
//!
//! **Returns**: `Ok(())`/`()` is success. `Err(Stop::close(code))` closes the current client
//! with `code` in 4000..=4899 (open and read callbacks). `Err(Stop::Fatal)` stops the app: its
//! clients are closed with 1011 and its endpoints answer 503, while other apps keep running;
//! the daemon exits non-zero only when no app is left. (This deliberately improves on the
//! spec's "exit()" of the whole daemon.) A panic in any callback is caught inside the `.so`,
//! logged, and counts as fatal. Timers return [`Timer::After`] to run again, [`Timer::Stop`],
//! or [`Timer::Fatal`].
//!
//! # Helpers ([`Rs`])
//!
//! * Writers append to the app's write buffer (initially `wbuf_size`, growing): `w_u8` …
//!   `w_i64`, `w_u16_hton` … `w_i64_hton` (network order), `w_bytes`, `w_str`. They chain.
//! * Senders send what was written as one message and empty the buffer: `to_single`,
//!   `to_multi`, `to_cur`, `to_every`, `to_every_except_single`, `to_every_except_multi`,
//!   `to_every_except_cur`, each with a [`DataKind`]. They return a [`SendStatus`]: an unknown
//!   or stale client id, or one that is closing, is reported (and logged), never a crash.
//! * `close(client, code)` and `close_cur(code)` close with an app code; the client's close
//!   callback follows when the connection is gone.
//! * `client_id`, `client_addr`, `endpoint_id` (open/read/close callbacks),
//!   `read_data_kind` (read callbacks), `conf` / `app_conf` (the configuration), and the
//!   [`rs_log!`] macro, which prefixes the app's name and respects `log_level`.
//!
//! Where the spec calls a helper fatal (`to_cur` in a timer or close callback, `client_id` in a
//! timer, any send in init), the host logs a clear error and stops the app; the senders return
//! [`SendStatus::Misuse`], and the queries panic (which stops the app the same way).
//!
//! **Client ids** ([`ClientId`]) are never 0 and never reused for another connection while an
//! app could still hold the old one.
//!
//! **Open and close events**: the close callback runs exactly once for every connection whose
//! open the app saw, whoever closed it (the client, a returned close code, `close`, failed
//! validation, the slow-client limit, shutdown). The config switches `no_open_cb` /
//! `no_close_cb` suppress those callbacks; unlike the original, they never stop the app from
//! sending to its clients.
//!
//! # C apps
//!
//! `include/ringsocket.h` is the same API for C11, with the spec's `RS_APP(...)` macros,
//! `rs_w_*`, `rs_to_*`, `rs_get_*`, `rs_close`, `rs_close_cur` and `RS_LOG`; an optional sixth
//! `RS_APP` argument `RS_UPGRADE(cb)` adds the upgrade callback, with `rs_get_request_target`,
//! `rs_get_request_header`, `rs_get_query_param`, `rs_get_cookie`, `rs_set_subprotocol`,
//! `rs_set_client_data` and `rs_get_client_data`. Build with
//! `gcc -std=c11 -fpic -shared -I app-abi/include -o app.so app.c`.
//!
//! # Crate layout
//!
//! * [`abi`]: the `#[repr(C)]` boundary (descriptor, host function table, `rs_t`), versioned.
//! * [`records`]: the worker ↔ app-thread ring records.
//! * [`conf`]: the configuration view apps read.
//! * [`wire`]: parameter decoding, used by `rs_app!`.
//! * `host` (feature `host`, used by the daemon and the tests): the loader, the app runner,
//!   the app thread's loop over the rings (`host::AppThread`), and the in-process test host.

pub mod abi;
pub mod app;
pub mod conf;
mod macros;
pub mod records;
pub mod wire;

#[cfg(feature = "host")]
pub mod host;

pub use abi::{AppCloseCode, ClientId, DataKind, Level, SendStatus};
pub use app::{CallbackReturn, InitReturn, Rs, Stop, Timer, TimerReturn, Upgrade, UpgradeReturn};
