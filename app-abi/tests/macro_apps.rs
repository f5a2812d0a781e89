//! `rs_app!` apps linked into the test binary, driven through the test host: every read form,
//! validation close codes, return values, helpers and their misuse.

use std::net::SocketAddr;
use std::time::Duration;

use app_abi::abi::rs_app_descriptor;
use app_abi::conf::{AppConf, EndpointConf};
use app_abi::host::{App, TestHost};
use app_abi::{ClientId, DataKind, Level, Rs, SendStatus, Stop, Timer, rs_app, rs_log};

fn host(name: &str, d: &'static rs_app_descriptor) -> TestHost {
    // SAFETY: every descriptor here is made by `rs_app!`.
    TestHost::new(unsafe { App::from_static(name, d) }.unwrap())
}

fn reply(rs: &mut Rs, text: String) {
    rs.w_str(&text);
    assert_eq!(rs.to_cur(DataKind::Text), SendStatus::Sent);
}

fn texts(host: &mut TestHost, client: ClientId) -> Vec<String> {
    host.take_received_by(client)
        .into_iter()
        .map(|(kind, p)| {
            assert_eq!(kind, DataKind::Text);
            String::from_utf8(p).unwrap()
        })
        .collect()
}

// ---------- every parameter form, in a switch ----------

fn f_ints(rs: &mut Rs, a: u8, b: u16, c: i32, d: [u16; 3], e: &[i64]) {
    reply(rs, format!("ints {a} {b:#x} {c} {d:?} {e:?}"));
}
fn f_str(rs: &mut Rs, s: &str) {
    reply(rs, format!("str {s:?}"));
}
fn f_string(rs: &mut Rs, s: String) {
    let kind = rs.read_data_kind();
    reply(rs, format!("string {s:?} {kind:?}"));
}
fn f_vec(rs: &mut Rs, v: Vec<u32>) {
    reply(rs, format!("vec {v:?}"));
}
fn f_bytes(rs: &mut Rs, v: &[u8]) {
    reply(rs, format!("bytes {v:?}"));
}
fn f_none(rs: &mut Rs) {
    reply(rs, "none".into());
}
fn f_float(rs: &mut Rs, x: f64, raw: [u8; 2], n: i16) {
    reply(rs, format!("float {x} {raw:?} {n}"));
}
fn f_or(rs: &mut Rs, x: i8) {
    reply(rs, format!("or {x}"));
}
fn f_net(rs: &mut Rs, x: u32, arr: &[u16]) {
    reply(rs, format!("net {x:#x} {arr:?}"));
}

const CASE_OR: u8 = b'x';

rs_app! {
    static FORMS;
    read: switch {
        0 => bin f_ints(net u8, ntoh u16, ntoh i32, ntoh [u16; 3], ntoh [i64; 0..=2]),
        1 => text f_str(str[1..=5]),
        2 => any f_string(string[0..]),
        3 => bin f_vec(ntoh vec[u32; 1..=3]),
        4 => bin f_bytes(net [u8; 2..=4]),
        5 => bin f_none(),
        6 => bin f_float(ntoh f64, net [u8; 2], ntoh i16),
        CASE_OR | b'y' => bin f_or(net i8),
        7 => bin f_net(net u32, net [u16; 0..]),
    },
}

fn msg(case: u8, rest: &[u8]) -> Vec<u8> {
    [&[case][..], rest].concat()
}

#[test]
fn every_form_decodes() {
    let mut h = host("forms", &FORMS);
    let c = h.connect();
    let ints = msg(
        0,
        &[
            7, 0x12, 0x34, 0xFF, 0xFF, 0xFF, 0xFE, 0, 1, 0, 2, 0, 3, 0, 0, 0, 0, 0, 0, 0, 9,
        ],
    );
    h.send(c, DataKind::Bin, &ints);
    h.send(c, DataKind::Text, &msg(1, "笑".as_bytes()));
    h.send(c, DataKind::Bin, &msg(2, b"any"));
    h.send(c, DataKind::Text, &msg(2, b""));
    h.send(c, DataKind::Bin, &msg(3, &[0, 0, 0, 1, 0, 0, 1, 0]));
    h.send(c, DataKind::Bin, &msg(4, &[1, 2, 3]));
    h.send(c, DataKind::Bin, &msg(5, &[]));
    h.send(
        c,
        DataKind::Bin,
        &msg(
            6,
            &[&2.5f64.to_be_bytes()[..], &[1, 2, 0xFF, 0xFD]].concat(),
        ),
    );
    h.send(c, DataKind::Bin, &msg(b'x', &[0xFF]));
    h.send(c, DataKind::Bin, &msg(b'y', &[5]));
    let net = [
        &7u32.to_ne_bytes()[..],
        &1u16.to_ne_bytes(),
        &2u16.to_ne_bytes(),
    ]
    .concat();
    h.send(c, DataKind::Bin, &msg(7, &net));
    assert_eq!(
        texts(&mut h, c),
        [
            "ints 7 0x1234 -2 [1, 2, 3] [9]",
            "str \"笑\"",
            "string \"any\" Bin",
            "string \"\" Text",
            "vec [1, 256]",
            "bytes [1, 2, 3]",
            "none",
            "float 2.5 [1, 2] -3",
            "or -1",
            "or 5",
            "net 0x7 [1, 2]",
        ]
    );
    assert!(h.take_closed().is_empty());
}

#[test]
fn validation_closes_with_the_spec_codes() {
    let cases: &[(DataKind, Vec<u8>, u16)] = &[
        (DataKind::Bin, vec![], 4900),                // empty switch message
        (DataKind::Bin, vec![8], 4902),               // unknown case
        (DataKind::Bin, vec![255, 1], 4902),          // unknown case
        (DataKind::Text, msg(0, &[0; 11]), 4901),     // text to a bin case
        (DataKind::Bin, msg(1, b"abc"), 4901),        // bin to a text case
        (DataKind::Bin, msg(0, &[0; 10]), 4900),      // one byte short of the fixed part
        (DataKind::Bin, msg(0, &[0; 12]), 4900),      // a partial i64
        (DataKind::Bin, msg(0, &[0; 11 + 24]), 4900), // three i64s, max 2
        (DataKind::Text, msg(1, b""), 4900),          // string below min
        (DataKind::Text, msg(1, b"abcdef"), 4900),    // string above max
        (DataKind::Text, msg(1, b"a\0b"), 4900),      // NUL in a string
        (DataKind::Bin, msg(2, &[0xC3]), 4900),       // invalid UTF-8 in a bin message
        (DataKind::Bin, msg(3, &[]), 4900),           // vec below min
        (DataKind::Bin, msg(3, &[0; 16]), 4900),      // vec above max
        (DataKind::Bin, msg(3, &[0; 5]), 4900),       // partial u32
        (DataKind::Bin, msg(4, &[1]), 4900),          // bytes below min
        (DataKind::Bin, msg(5, &[1]), 4900),          // no params, one byte
        (DataKind::Bin, msg(6, &[0; 13]), 4900),      // float case, a byte extra
        (DataKind::Bin, msg(7, &[0; 5]), 4900),       // odd bytes for u16s
    ];
    let mut h = host("forms", &FORMS);
    for (kind, payload, code) in cases {
        let c = h.connect();
        h.send(c, *kind, payload);
        assert_eq!(h.take_closed(), [(c, *code)], "{kind:?} {payload:?}");
        assert!(
            h.take_received().is_empty(),
            "the callback never ran for {payload:?}"
        );
        assert!(!h.is_connected(c));
    }
    assert!(!h.is_stopped());
}

// ---------- fifteen parameters, every position ----------

#[allow(clippy::too_many_arguments)]
fn f15(
    rs: &mut Rs,
    a: u8,
    b: i8,
    c: u16,
    d: i16,
    e: u32,
    f: i32,
    g: u64,
    h: i64,
    i: [u8; 2],
    j: [u16; 1],
    k: f32,
    l: u16,
    m: [i32; 2],
    n: u8,
    o: &str,
) {
    reply(
        rs,
        format!("{a} {b} {c} {d} {e} {f} {g} {h} {i:?} {j:?} {k} {l} {m:?} {n} {o}"),
    );
}

rs_app! {
    static FIFTEEN;
    read: bin f15(net u8, net i8, ntoh u16, ntoh i16, ntoh u32, ntoh i32, ntoh u64, ntoh i64,
        net [u8; 2], ntoh [u16; 1], ntoh f32, ntoh u16, ntoh [i32; 2], net u8, str[0..=8]),
}

#[test]
fn fifteen_parameters() {
    let mut h = host("fifteen", &FIFTEEN);
    let c = h.connect();
    let mut p = vec![1, 0xFE];
    p.extend(3u16.to_be_bytes());
    p.extend((-4i16).to_be_bytes());
    p.extend(5u32.to_be_bytes());
    p.extend((-6i32).to_be_bytes());
    p.extend(7u64.to_be_bytes());
    p.extend((-8i64).to_be_bytes());
    p.extend([9, 10]);
    p.extend(11u16.to_be_bytes());
    p.extend(1.5f32.to_be_bytes());
    p.extend(13u16.to_be_bytes());
    p.extend(14i32.to_be_bytes());
    p.extend((-15i32).to_be_bytes());
    p.push(16);
    p.extend(b"end");
    h.send(c, DataKind::Bin, &p);
    assert_eq!(
        texts(&mut h, c),
        ["1 -2 3 -4 5 -6 7 -8 [9, 10] [11] 1.5 13 [14, -15] 16 end"]
    );
    h.send(c, DataKind::Bin, &p[..p.len() - 4]); // cut into the last fixed parameter
    assert_eq!(h.take_closed(), [(c, 4900)]);
}

// ---------- state, open/close, returns ----------

#[derive(Default)]
struct Chat {
    members: Vec<ClientId>,
    closes: u32,
}

fn chat_open(rs: &mut Rs, chat: &mut Chat) {
    let me = rs.client_id();
    rs.w_str("joined");
    rs.to_every_except_cur(DataKind::Text);
    chat.members.push(me);
}

fn chat_read(rs: &mut Rs, chat: &mut Chat, cmd: u8, text: &str) -> Result<(), Stop> {
    match cmd {
        b's' => {
            rs.w_str(text);
            rs.to_every_except_cur(DataKind::Text);
            Ok(())
        }
        b'c' => Err(Stop::close(4000 + text.len() as u16)),
        b'k' => {
            // Close someone else: the first member that is not me.
            let me = rs.client_id();
            let other = *chat.members.iter().find(|id| **id != me).unwrap();
            assert_eq!(
                rs.close(other, app_abi::AppCloseCode::new(4100).unwrap()),
                SendStatus::Sent
            );
            assert_eq!(
                rs.close(other, app_abi::AppCloseCode::new(4100).unwrap()),
                SendStatus::ClientClosing
            );
            rs.w_str("to the closing one");
            assert_eq!(
                rs.to_single(DataKind::Text, other),
                SendStatus::ClientClosing
            );
            Ok(())
        }
        b'f' => Err(Stop::Fatal),
        b'p' => panic!("boom {text}"),
        b'n' => {
            reply(rs, format!("closes {}", chat.closes));
            Ok(())
        }
        _ => Err(Stop::close(4899)),
    }
}

fn chat_close(rs: &mut Rs, chat: &mut Chat) {
    let me = rs.client_id();
    chat.members.retain(|id| *id != me);
    chat.closes += 1;
    rs.w_str("left");
    assert_eq!(rs.to_every(DataKind::Text), SendStatus::Sent);
}

rs_app! {
    static CHAT;
    state: Chat = Chat::default(),
    open: chat_open,
    read: text chat_read(net u8, str[0..]),
    close: chat_close,
}

#[test]
fn open_close_and_broadcast_exclusions() {
    let mut h = host("chat", &CHAT);
    let a = h.connect();
    let b = h.connect();
    let c = h.connect();
    let joined = h.take_received();
    // a sees b and c join; b sees c; nobody sees their own join.
    let pairs: Vec<(ClientId, String)> = joined
        .iter()
        .map(|r| (r.client, String::from_utf8(r.payload.clone()).unwrap()))
        .collect();
    assert_eq!(pairs.iter().filter(|(id, _)| *id == a).count(), 2);
    assert_eq!(pairs.iter().filter(|(id, _)| *id == b).count(), 1);
    assert_eq!(pairs.iter().filter(|(id, _)| *id == c).count(), 0);
    h.send_text(b, "shello");
    assert_eq!(texts(&mut h, a), ["hello"]);
    assert_eq!(texts(&mut h, c), ["hello"]);
    assert!(
        texts(&mut h, b).is_empty(),
        "excluded sender got its own message"
    );
    h.disconnect(a);
    assert_eq!(texts(&mut h, b), ["left"]);
    assert_eq!(texts(&mut h, c), ["left"]);
    h.send_text(b, "n");
    assert_eq!(texts(&mut h, b), ["closes 1"]);
}

#[test]
fn returned_close_codes_and_close_helpers_run_the_close_callback_once() {
    let mut h = host("chat", &CHAT);
    let a = h.connect();
    let b = h.connect();
    h.take_received();
    h.send_text(a, "cabc");
    assert_eq!(h.take_closed(), [(a, 4003)]);
    assert_eq!(texts(&mut h, b), ["left"]);
    let c = h.connect();
    h.take_received();
    h.send_text(c, "k"); // closes b via close()
    assert_eq!(h.take_closed(), [(b, 4100)]);
    assert_eq!(texts(&mut h, c), ["left"]);
    assert!(!h.is_connected(b));
    h.send_text(c, "?"); // unknown command
    assert_eq!(h.take_closed(), [(c, 4899)]);
    let d = h.connect();
    h.send(d, DataKind::Bin, b"s"); // wrong data kind: validation
    assert_eq!(h.take_closed(), [(d, 4901)]);
    let e = h.connect();
    h.send_text(e, "n");
    assert_eq!(
        texts(&mut h, e),
        ["closes 4"],
        "one close callback per connection"
    );
    assert!(!h.is_stopped());
}

#[test]
fn fatal_return_stops_only_the_app_and_closes_with_1011() {
    let mut h = host("chat", &CHAT);
    let a = h.connect();
    let b = h.connect();
    h.take_received();
    h.send_text(a, "f");
    assert!(h.is_stopped());
    let mut closed = h.take_closed();
    closed.sort();
    let mut expected = vec![(a, 1011), (b, 1011)];
    expected.sort();
    assert_eq!(closed, expected);
    assert!(
        h.take_received().is_empty(),
        "no close callbacks after a fatal stop"
    );
    assert!(
        h.logged("read callback returned -1 (fatal)"),
        "{:?}",
        h.logs()
    );
    let late = h.connect();
    assert_eq!(
        h.take_closed(),
        [(late, 1011)],
        "a connection racing the stop is closed too"
    );
}

#[test]
fn panics_are_caught_and_fatal() {
    let mut h = host("chat", &CHAT);
    let a = h.connect();
    h.send_text(a, "pxyz");
    assert!(h.is_stopped());
    assert!(
        h.logged("read callback panicked: boom xyz"),
        "{:?}",
        h.logs()
    );
    assert_eq!(h.take_closed(), [(a, 1011)]);
}

// ---------- ids, statuses and multi sends ----------

#[derive(Default)]
struct Ids {
    seen: Vec<ClientId>,
}

fn ids_open(rs: &mut Rs, ids: &mut Ids) {
    ids.seen.push(rs.client_id());
}

fn ids_read(rs: &mut Rs, ids: &mut Ids, op: u8, raw: &[u64]) {
    let list: Vec<ClientId> = raw.iter().map(|r| ClientId::new(*r).unwrap()).collect();
    rs.w_u8(op);
    let status = match op {
        0 => rs.to_single(DataKind::Bin, list[0]),
        1 => rs.to_multi(DataKind::Bin, &list),
        2 => rs.to_every_except_multi(DataKind::Bin, &list),
        3 => rs.to_every_except_single(DataKind::Bin, list[0]),
        _ => {
            rs.clear_written();
            rs.w_u64(ids.seen.len() as u64);
            rs.to_cur(DataKind::Bin)
        }
    };
    rs.w_u8(0xEE).w_i32_hton(status as i32);
    rs.to_cur(DataKind::Bin);
}

rs_app! {
    static IDS;
    state: Ids = Ids::default(),
    open: ids_open,
    read: bin ids_read(net u8, net [u64; 0..=8]),
}

fn op(op: u8, ids: &[ClientId]) -> Vec<u8> {
    let mut m = vec![op];
    for id in ids {
        m.extend(id.get().to_ne_bytes());
    }
    m
}

fn status_of(h: &mut TestHost, c: ClientId) -> i32 {
    let got = h.take_received_by(c);
    let last = &got.last().unwrap().1;
    assert_eq!(last[0], 0xEE);
    i32::from_be_bytes(last[1..5].try_into().unwrap())
}

#[test]
fn stale_and_unknown_ids_are_reported_not_sent() {
    let mut h = host("ids", &IDS);
    let a = h.connect();
    let b = h.connect();
    let b_slot = (b.worker(), b.slot());
    h.disconnect(b);
    let c = h.connect();
    let d = h.connect(); // same worker as b: reuses b's slot with a new generation
    assert_eq!((d.worker(), d.slot()), b_slot);
    assert_ne!(d, b);
    assert!(d.generation() > b.generation());
    h.send(a, DataKind::Bin, &op(0, &[b]));
    assert_eq!(status_of(&mut h, a), SendStatus::UnknownClient as i32);
    assert!(
        h.take_received_by(d).is_empty(),
        "a stale id never reaches the slot's new owner"
    );
    assert!(h.logged("is not a live client"), "{:?}", h.logs());
    h.send(a, DataKind::Bin, &op(0, &[c]));
    assert_eq!(status_of(&mut h, a), 0);
    assert_eq!(h.take_received_by(c), [(DataKind::Bin, vec![0])]);
    let bogus = ClientId::new(u64::MAX).unwrap();
    h.send(a, DataKind::Bin, &op(1, &[c, bogus, d, c, d]));
    assert_eq!(status_of(&mut h, a), SendStatus::UnknownClient as i32);
    assert_eq!(
        h.take_received_by(c),
        [(DataKind::Bin, vec![1])],
        "duplicates sent once"
    );
    assert_eq!(h.take_received_by(d), [(DataKind::Bin, vec![1])]);
    assert!(!h.is_stopped());
}

#[test]
fn exclusions_exclude() {
    let mut h = host("ids", &IDS);
    let all: Vec<ClientId> = (0..6).map(|_| h.connect()).collect();
    let [a, b, c, d, e, f] = all[..] else {
        unreachable!()
    };
    h.send(a, DataKind::Bin, &op(2, &[b, c, e]));
    let got: Vec<ClientId> = h
        .take_received()
        .iter()
        .filter(|r| r.payload == [2])
        .map(|r| r.client)
        .collect();
    let mut got = got;
    got.sort();
    let mut want = vec![a, d, f];
    want.sort();
    assert_eq!(got, want);
    h.send(a, DataKind::Bin, &op(3, &[d]));
    let mut got: Vec<ClientId> = h
        .take_received()
        .iter()
        .filter(|r| r.payload == [3])
        .map(|r| r.client)
        .collect();
    got.sort();
    let mut want = vec![a, b, c, e, f];
    want.sort();
    assert_eq!(got, want);
    // Excluding everyone on a worker sends that worker nothing at all.
    let before = h.runner().sink().records.len();
    h.send(a, DataKind::Bin, &op(2, &all));
    assert!(h.take_received().iter().all(|r| r.payload != [2]));
    assert_eq!(h.runner().sink().records.len(), before);
}

// ---------- misuse, queries, timers, init ----------

fn tick(rs: &mut Rs, n: &mut u32) -> Timer {
    *n += 1;
    rs.w_u32(*n);
    assert_eq!(rs.to_every(DataKind::Bin), SendStatus::Sent);
    match *n {
        1 => Timer::After(Duration::from_millis(5)),
        2 => Timer::After(Duration::from_millis(1)),
        _ => Timer::Stop,
    }
}

rs_app! {
    static TICKER;
    state: u32 = 0,
    timer: wake(tick, 10_000),
}

#[test]
fn wake_timer_runs_and_rearms() {
    let mut h = host("ticker", &TICKER);
    let c = h.connect();
    assert_eq!(h.runner().timer_deadline(), Some(10_000));
    h.advance(Duration::from_millis(9));
    assert!(h.take_received().is_empty());
    h.advance(Duration::from_millis(1));
    assert_eq!(
        h.take_received_by(c),
        [(DataKind::Bin, 1u32.to_ne_bytes().to_vec())]
    );
    h.advance(Duration::from_millis(4));
    assert!(h.take_received().is_empty());
    h.advance(Duration::from_millis(1));
    assert_eq!(h.take_received_by(c).len(), 1);
    h.advance(Duration::from_millis(1));
    assert_eq!(h.take_received_by(c).len(), 1);
    assert_eq!(h.runner().timer_deadline(), None, "Timer::Stop disarms");
    h.advance(Duration::from_secs(100));
    assert!(h.take_received().is_empty());
}

fn sleepy_tick(rs: &mut Rs) -> Timer {
    rs.w_str("tick");
    rs.to_every(DataKind::Text);
    Timer::After(Duration::from_millis(1))
}

fn sleepy_read(_: &mut Rs) {}

rs_app! {
    static SLEEPY;
    read: any sleepy_read(),
    timer: sleep(sleepy_tick, 1_000),
}

#[test]
fn sleep_timer_waits_for_traffic() {
    let mut h = host("sleepy", &SLEEPY);
    let c = h.connect(); // traffic at t=0: not yet due
    h.advance(Duration::from_millis(5));
    assert!(
        h.take_received().is_empty(),
        "asleep: no timer without traffic"
    );
    h.send(c, DataKind::Bin, &[]);
    assert_eq!(texts(&mut h, c), ["tick"]);
}

fn bad_tick(rs: &mut Rs) -> Timer {
    rs.w_str("x");
    assert_eq!(rs.to_cur(DataKind::Text), SendStatus::Misuse);
    Timer::Stop
}

rs_app! {
    static MISUSE_TO_CUR;
    timer: wake(bad_tick, 0),
}

#[test]
fn to_cur_in_a_timer_is_a_clear_error() {
    let mut h = host("misuse", &MISUSE_TO_CUR);
    let c = h.connect();
    h.advance(Duration::from_micros(1));
    assert!(h.is_stopped());
    assert!(
        h.logged("to_cur called from the timer callback, which has no current client"),
        "{:?}",
        h.logs()
    );
    assert_eq!(h.take_closed(), [(c, 1011)]);
}

fn id_tick(rs: &mut Rs) -> Timer {
    let _ = rs.client_id();
    Timer::Stop
}

rs_app! {
    static MISUSE_ID;
    timer: wake(id_tick, 0),
}

#[test]
fn client_id_in_a_timer_is_a_clear_error() {
    let mut h = host("misuse", &MISUSE_ID);
    h.advance(Duration::from_micros(1));
    assert!(h.is_stopped());
    assert!(
        h.logged("client_id called from the timer callback"),
        "{:?}",
        h.logs()
    );
}

fn send_in_init(rs: &mut Rs) -> Result<(), String> {
    rs.w_str("too early");
    assert_eq!(rs.to_every(DataKind::Text), SendStatus::Misuse);
    Ok(())
}

rs_app! {
    static MISUSE_INIT;
    init: send_in_init,
}

#[test]
fn sends_in_init_are_a_clear_error() {
    let h = host("misuse", &MISUSE_INIT);
    assert!(h.is_stopped());
    assert!(
        h.logged("to_every called from the init callback"),
        "{:?}",
        h.logs()
    );
}

struct Loaded {
    greeting: String,
}

fn init_fails(_: &mut Rs) -> Result<Loaded, std::io::Error> {
    Err(std::io::Error::other("no such file"))
}

fn never(_: &mut Rs, _: &mut Loaded) {
    unreachable!()
}

rs_app! {
    static INIT_FAILS;
    state: Loaded,
    init: init_fails,
    open: never,
}

#[test]
fn failed_init_is_fatal_and_logged() {
    let mut h = host("initfail", &INIT_FAILS);
    assert!(h.is_stopped());
    assert!(h.logged("init failed: no such file"), "{:?}", h.logs());
    let c = h.connect();
    assert_eq!(h.take_closed(), [(c, 1011)]);
}

fn init_ok(rs: &mut Rs) -> Result<Loaded, std::convert::Infallible> {
    let name = rs.app_conf().name().to_owned();
    Ok(Loaded {
        greeting: format!("hi from {name}, level {}", rs.conf().log_level()),
    })
}

fn greet(rs: &mut Rs, st: &mut Loaded) {
    let addr: SocketAddr = rs.client_addr();
    let ep = rs.endpoint_id();
    reply(rs, format!("{} {addr} {ep}", st.greeting));
    rs_log!(Info, "info from {}", ep);
    rs_log!(Debug, "debug detail");
}

fn wrong_code(_: &mut Rs, _: &mut Loaded) -> i32 {
    5000
}

rs_app! {
    static QUERIES;
    state: Loaded,
    init: init_ok,
    open: greet,
    close: wrong_code,
}

#[test]
fn queries_conf_and_log_level() {
    let mut conf = TestHost::default_conf();
    conf.log_level = Level::Info;
    let mut app = AppConf::new("greeter", "/x.so");
    app.endpoints.push(EndpointConf {
        endpoint_id: 42,
        url: "ws://h:1/g".into(),
        ..Default::default()
    });
    conf.apps.push(app);
    // SAFETY: made by `rs_app!`.
    let app = unsafe { App::from_static("queries", &QUERIES) }.unwrap();
    let mut h = TestHost::with_conf(app, conf, 1);
    let peer: SocketAddr = "[2001:db8::1]:5555".parse().unwrap();
    let c = h.connect_to(42, peer);
    assert_eq!(
        texts(&mut h, c),
        ["hi from greeter, level info [2001:db8::1]:5555 42"]
    );
    assert!(h.logged("greeter: info from 42"));
    assert!(!h.logged("debug detail"), "below log_level");
    h.disconnect(c);
    assert!(h.is_stopped(), "5000 is not a valid close callback return");
    assert!(h.logged("close callback returned 5000"), "{:?}", h.logs());
}

#[test]
fn no_open_and_no_close_cb_suppress_callbacks_only() {
    let mut conf = TestHost::default_conf();
    conf.apps[0].no_open_cb = true;
    conf.apps[0].no_close_cb = true;
    // SAFETY: made by `rs_app!`.
    let app = unsafe { App::from_static("chat", &CHAT) }.unwrap();
    let mut h = TestHost::with_conf(app, conf, 0);
    let a = h.connect();
    let b = h.connect();
    assert!(h.take_received().is_empty(), "no open callbacks");
    h.send_text(a, "shi");
    assert_eq!(
        texts(&mut h, b),
        ["hi"],
        "sending works without open callbacks"
    );
    h.disconnect(b);
    h.send_text(a, "n");
    assert_eq!(texts(&mut h, a), ["closes 0"], "no close callbacks");
}

fn big(rs: &mut Rs, n: u32) {
    for i in 0..n {
        rs.w_u32_hton(i);
    }
    rs.to_cur(DataKind::Bin);
}

rs_app! {
    static BIG;
    read: bin big(ntoh u32),
}

#[test]
fn write_buffer_grows() {
    let mut conf = TestHost::default_conf();
    conf.apps[0].wbuf_size = 64;
    // SAFETY: made by `rs_app!`.
    let app = unsafe { App::from_static("big", &BIG) }.unwrap();
    let mut h = TestHost::with_conf(app, conf, 0);
    let c = h.connect();
    h.send(c, DataKind::Bin, &100_000u32.to_be_bytes());
    let got = h.take_received_by(c);
    assert_eq!(got.len(), 1);
    let payload = &got[0].1;
    assert_eq!(payload.len(), 400_000);
    assert!(
        payload
            .chunks(4)
            .enumerate()
            .all(|(i, c)| c == (i as u32).to_be_bytes())
    );
}

rs_app! {
    static NOTHING;
}

#[test]
fn an_app_without_read_is_a_switch_without_cases() {
    let mut h = host("nothing", &NOTHING);
    let a = h.connect();
    h.send(a, DataKind::Bin, b"");
    let b = h.connect();
    h.send(b, DataKind::Text, b"x");
    assert_eq!(h.take_closed(), [(a, 4900), (b, 4902)]);
}

// ---------- random payloads against a declared signature ----------

fn p_a(rs: &mut Rs, x: u16, list: &[i32]) {
    reply(rs, format!("a {x} {list:?}"));
}
fn p_b(rs: &mut Rs, s: &str) {
    reply(rs, format!("b {s}"));
}
fn p_c(rs: &mut Rs, x: i8, v: Vec<u16>) {
    reply(rs, format!("c {x} {v:?}"));
}

rs_app! {
    static PROP;
    read: switch {
        0 => bin p_a(ntoh u16, ntoh [i32; 1..=3]),
        1 => text p_b(str[2..=6]),
        2 => any p_c(net i8, ntoh vec[u16; 0..=2]),
    },
}

/// What the declaration above means, written out independently: the reply, or the close code.
fn model(kind: DataKind, payload: &[u8]) -> Result<String, u16> {
    let (&case, rest) = payload.split_first().ok_or(4900u16)?;
    match case {
        0 => {
            if kind != DataKind::Bin {
                return Err(4901);
            }
            if rest.len() < 2
                || (rest.len() - 2) % 4 != 0
                || !(1..=3).contains(&((rest.len() - 2) / 4))
            {
                return Err(4900);
            }
            let x = u16::from_be_bytes([rest[0], rest[1]]);
            let list: Vec<i32> = rest[2..]
                .chunks(4)
                .map(|c| i32::from_be_bytes(c.try_into().unwrap()))
                .collect();
            Ok(format!("a {x} {list:?}"))
        }
        1 => {
            if kind != DataKind::Text {
                return Err(4901);
            }
            match std::str::from_utf8(rest) {
                Ok(s) if (2..=6).contains(&rest.len()) && !s.contains('\0') => Ok(format!("b {s}")),
                _ => Err(4900),
            }
        }
        2 => {
            if rest.is_empty() || (rest.len() - 1) % 2 != 0 || (rest.len() - 1) / 2 > 2 {
                return Err(4900);
            }
            let v: Vec<u16> = rest[1..]
                .chunks(2)
                .map(|c| u16::from_be_bytes([c[0], c[1]]))
                .collect();
            Ok(format!("c {} {v:?}", rest[0] as i8))
        }
        _ => Err(4902),
    }
}

fn run_prop(kind: DataKind, payload: &[u8]) -> Result<String, u16> {
    let mut h = host("prop", &PROP);
    let c = h.connect();
    h.send(c, kind, payload);
    let closed = h.take_closed();
    let got = h.take_received_by(c);
    assert!(!h.is_stopped(), "nothing panics: {:?}", h.logs());
    match (closed.as_slice(), got.as_slice()) {
        ([], [(DataKind::Text, reply)]) => Ok(String::from_utf8(reply.clone()).unwrap()),
        ([(id, code)], []) if *id == c => Err(*code),
        other => panic!("unexpected outcome {other:?}"),
    }
}

proptest::proptest! {
    #[test]
    fn random_payloads_match_the_declaration(
        text in proptest::bool::ANY,
        case in 0u8..4,
        tail in proptest::collection::vec(proptest::num::u8::ANY, 0..16),
    ) {
        let kind = if text { DataKind::Text } else { DataKind::Bin };
        let payload = [&[case][..], &tail].concat();
        proptest::prop_assert_eq!(run_prop(kind, &payload), model(kind, &payload));
    }

    #[test]
    fn valid_payloads_reach_the_callback(
        x in proptest::num::u16::ANY,
        list in proptest::collection::vec(proptest::num::i32::ANY, 1..=3),
        s in "[a-zé笑]{1,2}",
        b in proptest::num::i8::ANY,
        v in proptest::collection::vec(proptest::num::u16::ANY, 0..=2),
    ) {
        let mut a = vec![0];
        a.extend(x.to_be_bytes());
        for n in &list {
            a.extend(n.to_be_bytes());
        }
        proptest::prop_assert_eq!(run_prop(DataKind::Bin, &a), Ok(format!("a {x} {list:?}")));
        let s = if s.len() < 2 { format!("{s}{s}") } else { s };
        proptest::prop_assume!(s.len() <= 6);
        let t = [&[1][..], s.as_bytes()].concat();
        proptest::prop_assert_eq!(run_prop(DataKind::Text, &t), Ok(format!("b {s}")));
        let mut c = vec![2, b as u8];
        for n in &v {
            c.extend(n.to_be_bytes());
        }
        proptest::prop_assert_eq!(run_prop(DataKind::Text, &c), Ok(format!("c {b} {v:?}")));
    }
}

// ---------- the upgrade hook: authentication, subprotocols, per-client data ----------

/// Accepts a token from the query string or a `session` cookie; the user it names becomes
/// the client's data, which every later callback gets back.
fn auth_upgrade(rs: &mut Rs) -> app_abi::Upgrade {
    assert_eq!(rs.request_path(), b"/test");
    let token = rs.query_param("token").map(<[u8]>::to_vec);
    let cookie = rs.cookie("session").map(<[u8]>::to_vec);
    let user = match (token, cookie) {
        (Some(token), _) if token.starts_with(b"ok ") => token[3..].to_vec(),
        (_, Some(cookie)) if cookie.starts_with(b"ok-") => cookie[3..].to_vec(),
        (Some(_), _) | (_, Some(_)) => {
            rs.w_str("bad token");
            return app_abi::Upgrade::reject(403);
        }
        (None, None) => {
            rs.w_str("who are you?");
            return app_abi::Upgrade::reject(401);
        }
    };
    if rs
        .request_header("sec-websocket-protocol")
        .is_some_and(|p| p.windows(7).any(|w| w == b"chat.v2"))
    {
        assert!(rs.set_subprotocol("chat.v2"));
    }
    assert!(!rs.set_subprotocol("never-offered"));
    assert!(rs.set_client_data(&user));
    app_abi::Upgrade::Accept
}
fn auth_open(rs: &mut Rs) {
    let user = String::from_utf8(rs.client_data().unwrap().to_vec()).unwrap();
    reply(rs, format!("hello {user}"));
}
fn auth_read(rs: &mut Rs, s: &str) {
    if s == "forget" {
        assert!(rs.set_client_data(b""));
    }
    let user = rs
        .client_data()
        .map(|d| String::from_utf8_lossy(d).into_owned());
    reply(rs, format!("{user:?} said {s}"));
}
fn auth_close(rs: &mut Rs) {
    rs_log!(Info, "bye {:?}", rs.client_data().map(<[u8]>::to_vec));
}
rs_app! {
    static AUTH;
    upgrade: auth_upgrade,
    open: auth_open,
    read: text auth_read(str[1..=100]),
    close: auth_close,
}

#[test]
fn the_upgrade_hook_authenticates_and_attaches_client_data() {
    use app_abi::host::UpgradeAnswer;
    let mut h = host("auth", &AUTH);
    assert_eq!(
        h.upgrade("/test", None, &[]),
        UpgradeAnswer::Rejected {
            status: 401,
            body: b"who are you?".to_vec()
        }
    );
    assert_eq!(
        h.upgrade("/test?token=nope", None, &[]),
        UpgradeAnswer::Rejected {
            status: 403,
            body: b"bad token".to_vec()
        }
    );
    let UpgradeAnswer::Accepted {
        client: alice,
        protocol,
    } = h.upgrade(
        "/test?room=1&token=ok+alice",
        None,
        &[("Sec-WebSocket-Protocol", "chat.v1, chat.v2")],
    )
    else {
        panic!("alice is refused");
    };
    assert_eq!(protocol.as_deref(), Some("chat.v2"));
    assert_eq!(texts(&mut h, alice), ["hello alice"]);
    // The configured pick stands when the app sets none; a cookie works as well as a token.
    let UpgradeAnswer::Accepted {
        client: bob,
        protocol,
    } = h.upgrade(
        "/test",
        Some("chat.v1"),
        &[("Cookie", "theme=dark; session=ok-bob")],
    )
    else {
        panic!("bob is refused");
    };
    assert_eq!(protocol.as_deref(), Some("chat.v1"));
    assert_eq!(texts(&mut h, bob), ["hello bob"]);
    h.send_text(alice, "hi");
    h.send_text(bob, "forget");
    h.send_text(bob, "again");
    assert_eq!(texts(&mut h, alice), ["Some(\"alice\") said hi"]);
    assert_eq!(texts(&mut h, bob), ["None said forget", "None said again"]);
    h.disconnect(alice);
    assert!(h.logged("bye Some([97, 108, 105, 99, 101])"));
    assert!(h.logged("the client did not offer \"never-offered\""));
    assert!(!h.is_stopped());
    assert_eq!(h.runner().client_count(), 1);
}

fn bad_upgrade(rs: &mut Rs) -> i32 {
    match rs.request_query() {
        Some(b"send") => {
            rs.w_str("x");
            rs.to_cur(DataKind::Text);
            0
        }
        Some(b"status") => 302,
        _ => 0,
    }
}
fn bad_open(rs: &mut Rs) {
    // Request helpers belong to the upgrade callback.
    let _ = rs.request_header("cookie");
}
rs_app! {
    static BAD_UPGRADE;
    upgrade: bad_upgrade,
    open: bad_open,
}

#[test]
fn upgrade_hook_misuse_stops_the_app_and_answers_503() {
    use app_abi::host::UpgradeAnswer;
    for (target, why) in [
        ("/test?send", "to_cur called from the upgrade callback"),
        ("/test?status", "the upgrade callback returned 302"),
        ("/test", "request_header called from the open callback"),
    ] {
        let mut h = host("bad", &BAD_UPGRADE);
        let answer = h.upgrade(target, None, &[]);
        if target == "/test" {
            assert!(matches!(answer, UpgradeAnswer::Accepted { .. }));
        } else {
            assert_eq!(
                answer,
                UpgradeAnswer::Rejected {
                    status: 503,
                    body: Vec::new()
                }
            );
        }
        assert!(h.is_stopped(), "{target}");
        assert!(h.logged(why), "{target}: {:?}", h.logs());
        // Every later upgrade of a stopped app is refused.
        assert!(matches!(
            h.upgrade("/test", None, &[]),
            UpgradeAnswer::Rejected { status: 503, .. }
        ));
    }
}

#[test]
fn barriers_come_back_in_order_even_from_a_stopped_app() {
    let mut h = host("auth", &AUTH);
    let app_abi::host::UpgradeAnswer::Accepted { client, .. } =
        h.upgrade("/test?token=ok+carol", None, &[])
    else {
        panic!("refused");
    };
    h.inject(app_abi::records::Inbound::Barrier {
        client,
        endpoint_id: 0,
    });
    assert_eq!(h.take_barriers(), [client]);
}

// ---------- topics ----------

/// `j<room>` joins, `l<room>` leaves, `p<room> <text>` publishes to the room.
fn rooms(rs: &mut Rs, cmd: u8, arg: &str) -> Result<(), Stop> {
    let me = rs.client_id();
    let status = match cmd {
        b'j' => rs.subscribe(me, arg.as_bytes()),
        b'l' => rs.unsubscribe(me, arg.as_bytes()),
        _ => {
            let (room, text) = arg.split_once(' ').unwrap_or((arg, ""));
            rs.w_str(room).w_str(": ").w_str(text);
            rs.publish(DataKind::Text, room.as_bytes())
        }
    };
    assert_eq!(status, SendStatus::Sent);
    Ok(())
}
fn rooms_j(rs: &mut Rs, arg: &str) -> Result<(), Stop> {
    rooms(rs, b'j', arg)
}
fn rooms_l(rs: &mut Rs, arg: &str) -> Result<(), Stop> {
    rooms(rs, b'l', arg)
}
fn rooms_p(rs: &mut Rs, arg: &str) -> Result<(), Stop> {
    rooms(rs, b'p', arg)
}
fn rooms_bad(rs: &mut Rs) {
    let me = rs.client_id();
    rs.subscribe(me, &[b'x'; 256]);
}
rs_app! {
    static ROOMS;
    read: switch {
        b'j' => text rooms_j(str[1..=255]),
        b'l' => text rooms_l(str[1..=255]),
        b'p' => text rooms_p(str[1..=4096]),
        b'!' => text rooms_bad(),
    },
}

#[test]
fn topics_reach_their_members_once_and_end_with_them() {
    let mut h = host("rooms", &ROOMS);
    // Two workers: a, c on worker 0; b, d on worker 1.
    let (a, b, c, d) = (h.connect(), h.connect(), h.connect(), h.connect());
    h.send_text(a, "jlobby");
    h.send_text(b, "jlobby");
    h.send_text(b, "jlobby"); // twice: still one membership
    h.send_text(c, "jdev");
    h.send_text(a, "plobby hi");
    for member in [a, b] {
        assert_eq!(texts(&mut h, member), ["lobby: hi"]);
    }
    assert!(texts(&mut h, c).is_empty() && texts(&mut h, d).is_empty());
    // One publish record per worker with members: worker 1 got one for b (not for d).
    h.send_text(d, "pdev to c");
    assert_eq!(texts(&mut h, c), ["dev: to c"]);
    assert!(texts(&mut h, d).is_empty(), "d is not in dev");
    h.send_text(b, "llobby");
    h.send_text(c, "plobby only a");
    assert_eq!(texts(&mut h, a), ["lobby: only a"]);
    assert!(texts(&mut h, b).is_empty());
    // A closed member leaves every topic; an emptied topic's id is reused.
    h.disconnect(a);
    assert!(h.topics_of(a).is_empty());
    h.send_text(b, "plobby nobody");
    assert!(h.take_received().is_empty());
    let dev = h.topics_of(c);
    h.disconnect(c);
    h.send_text(d, "jnew");
    assert_eq!(h.topics_of(d), dev, "the freed id is reused");
    h.send_text(b, "pnew hello d");
    assert_eq!(texts(&mut h, d), ["new: hello d"]);
    // A 256-byte topic is misuse.
    h.send_text(b, "!");
    assert!(h.is_stopped());
    assert!(h.logged("a topic is 1 to 255 bytes, not 256"));
}
