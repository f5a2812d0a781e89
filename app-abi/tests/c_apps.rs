//! C apps built against `include/ringsocket.h` with gcc (`-std=c11 -Wall -Wextra -Werror`),
//! loaded through the loader and driven by the test host. gcc is required: without it these
//! tests fail with a message saying so.

use std::path::{Path, PathBuf};
use std::process::Command;

use app_abi::host::{App, LoadErrorKind, TestHost};
use app_abi::{ClientId, DataKind};

const FLAGS: &[&str] = &[
    "-std=c11", "-Wall", "-Wextra", "-Werror", "-fpic", "-shared",
];

fn include_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("include")
}

fn out_dir() -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("c_apps");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Runs gcc; `Err(stderr)` when it rejects the source.
fn try_gcc(source: &Path, output: &Path, flags: &[&str]) -> Result<(), String> {
    let out = Command::new("gcc")
        .args(flags)
        .arg("-I")
        .arg(include_dir())
        .arg("-o")
        .arg(output)
        .arg(source)
        .output()
        .unwrap_or_else(|e| {
            panic!("the C header tests need gcc on PATH (e.g. apt-get install gcc): {e}")
        });
    if out.status.success() {
        Ok(())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).into_owned())
    }
}

/// Builds `source` (a path, or C text written to `name.c`) into `name.so`.
fn build(name: &str, source: Source<'_>) -> PathBuf {
    let dir = out_dir();
    let src = match source {
        Source::File(path) => path.to_path_buf(),
        Source::Text(text) => {
            let path = dir.join(format!("{name}.c"));
            std::fs::write(&path, text).unwrap();
            path
        }
    };
    let so = dir.join(format!("{name}.so"));
    if let Err(stderr) = try_gcc(&src, &so, FLAGS) {
        panic!("gcc rejected {}:\n{stderr}", src.display());
    }
    so
}

enum Source<'a> {
    File(&'a Path),
    Text(&'a str),
}

fn load(so: &Path) -> TestHost {
    TestHost::new(App::load(so).unwrap_or_else(|e| panic!("{e}")))
}

fn texts(h: &mut TestHost, c: ClientId) -> Vec<String> {
    h.take_received_by(c)
        .into_iter()
        .map(|(_, p)| String::from_utf8(p).unwrap())
        .collect()
}

#[test]
fn the_specs_silly_calc_compiles_and_runs() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/silly_calc_c/silly_calc.c");
    // The spec's flags, plus -Wextra.
    let so = build("silly_calc", Source::File(&src));
    let mut h = load(&so);
    let (a, b, c) = (h.connect(), h.connect(), h.connect());
    let mut msg = 5i32.to_be_bytes().to_vec();
    for x in [1u16, 2, 300] {
        msg.extend(x.to_be_bytes());
    }
    h.send(a, DataKind::Bin, &msg);
    assert_eq!(
        h.take_received_by(a),
        [(DataKind::Text, "笑笑?".as_bytes().to_vec())]
    );
    for other in [b, c] {
        assert_eq!(
            h.take_received_by(other),
            [(DataKind::Bin, 308i64.to_be_bytes().to_vec())]
        );
    }
    h.send(a, DataKind::Bin, &msg[..4]); // no u16 at all: 1..=10 required
    h.send(b, DataKind::Bin, &[msg.clone(), vec![0; 16]].concat()); // 11 u16s
    h.send(c, DataKind::Bin, &msg[..5]); // half a u16
    let d = h.connect();
    h.send(d, DataKind::Text, &msg);
    assert_eq!(
        h.take_closed(),
        [(a, 4900), (b, 4900), (c, 4900), (d, 4901)]
    );
}

fn m(case: u8, rest: &[u8]) -> Vec<u8> {
    [&[case][..], rest].concat()
}

#[test]
fn every_c_form() {
    let so = build(
        "forms",
        Source::File(&Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/c/forms.c")),
    );
    let mut h = load(&so);
    assert!(!h.is_stopped(), "{:?}", h.logs());
    assert!(h.logged("init of test"), "{:?}", h.logs());
    let a = h.connect();
    let port_a = 40_000;
    assert_eq!(texts(&mut h, a), [format!("open 1 port {port_a} ep 0")]);
    h.send(
        a,
        DataKind::Bin,
        &m(
            0,
            &[
                7, 0x12, 0x34, 0xFF, 0xFF, 0xFF, 0xFE, 0, 1, 0, 2, 0, 3, 0, 0, 0, 0, 0, 0, 0, 9,
            ],
        ),
    );
    h.send(a, DataKind::Text, &m(1, "笑".as_bytes()));
    h.send(a, DataKind::Bin, &m(2, b"any"));
    h.send(a, DataKind::Text, &m(2, b""));
    h.send(a, DataKind::Bin, &m(3, &[0, 0, 0, 1, 0, 0, 1, 0]));
    h.send(a, DataKind::Bin, &m(4, &[1, 2, 3]));
    h.send(a, DataKind::Bin, &m(5, &[]));
    h.send(a, DataKind::Bin, &m(6, &[0xFF, 0xFE, 0, 3]));
    h.send(a, DataKind::Text, &m(7, b"sta"));
    h.send(a, DataKind::Text, &m(8, b""));
    assert_eq!(
        texts(&mut h, a),
        [
            "ints 7 0x1234 -2 [1, 2, 3] [9]",
            "str \"笑\" 3",
            "string \"any\" 3 Bin",
            "string \"\" 0 Text",
            "vec [1, 256]",
            "bytes [1, 2, 3]",
            "none",
            "sta [-2, 3]",
            "str_sta \"sta\" 3",
            "str_vla \"\" 0",
        ]
    );
    assert!(h.take_closed().is_empty());
    // Validation, as for Rust apps.
    let bad: &[(DataKind, Vec<u8>, u16)] = &[
        (DataKind::Bin, vec![], 4900),
        (DataKind::Bin, vec![11], 4902),
        (DataKind::Text, m(0, &[0; 11]), 4901),
        (DataKind::Bin, m(1, b"abc"), 4901),
        (DataKind::Bin, m(0, &[0; 10]), 4900),
        (DataKind::Bin, m(0, &[0; 12]), 4900),
        (DataKind::Bin, m(0, &[0; 35]), 4900),
        (DataKind::Text, m(1, b""), 4900),
        (DataKind::Text, m(1, b"abcdef"), 4900),
        (DataKind::Text, m(1, b"a\0b"), 4900),
        (DataKind::Bin, m(2, &[0xC3]), 4900),
        (DataKind::Bin, m(2, &[0xED, 0xA0, 0x80]), 4900), // a surrogate
        (DataKind::Bin, m(3, &[]), 4900),
        (DataKind::Bin, m(3, &[0; 16]), 4900),
        (DataKind::Bin, m(4, &[1]), 4900),
        (DataKind::Bin, m(5, &[1]), 4900),
        (DataKind::Bin, m(6, &[0; 3]), 4900),
        (DataKind::Bin, m(9, &4321i16.to_be_bytes()), 4321), // a returned app close code
    ];
    for (kind, payload, code) in bad {
        let c = h.connect();
        h.take_received();
        h.send(c, *kind, payload);
        assert_eq!(h.take_closed(), [(c, *code)], "{kind:?} {payload:?}");
    }
    assert!(!h.is_stopped());
}

#[test]
fn c_helpers_timer_and_fatal() {
    let so = build(
        "forms",
        Source::File(&Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/c/forms.c")),
    );
    let mut h = load(&so);
    let a = h.connect();
    h.advance(std::time::Duration::from_millis(1));
    assert_eq!(
        h.take_received_by(a).last().unwrap().1,
        1u32.to_be_bytes(),
        "timer ran"
    );
    let b = h.connect();
    h.take_received();
    h.send(a, DataKind::Text, &m(b'b', b"hi"));
    let mut expected = b"hi".to_vec();
    expected.extend(0x0102u16.to_be_bytes());
    expected.extend((-2i32).to_be_bytes());
    expected.extend(3u64.to_be_bytes());
    assert_eq!(h.take_received_by(b), [(DataKind::Bin, expected)]);
    assert!(
        h.take_received_by(a).is_empty(),
        "rs_to_every_except_cur excluded the sender"
    );
    h.advance(std::time::Duration::from_millis(2));
    assert_eq!(
        h.take_received_by(b),
        [(DataKind::Bin, 2u32.to_be_bytes().to_vec())]
    );
    assert_eq!(
        h.take_received_by(a),
        [(DataKind::Bin, 2u32.to_be_bytes().to_vec())]
    );
    h.advance(std::time::Duration::from_millis(10));
    assert!(
        h.take_received().is_empty(),
        "returning 0 stopped the timer"
    );
    // rs_close of another client: Sent, then ClientClosing, and the late send is refused.
    h.send(a, DataKind::Bin, &m(10, &b.get().to_ne_bytes()));
    assert_eq!(h.take_closed(), [(b, 4100)]);
    assert_eq!(texts(&mut h, a), ["close 0 2 2", "closed 1"]);
    // A fatal return stops the app.
    h.send(a, DataKind::Bin, &m(9, &(-1i16).to_be_bytes()));
    assert!(h.is_stopped());
    assert_eq!(h.take_closed(), [(a, 1011)]);
}

#[test]
fn a_switch_with_255_cases_and_15_parameters() {
    let mut src = String::from("#include <ringsocket.h>\n");
    src += "static int echo_case(rs_t *rs, uint8_t *b, size_t c) { rs_w_p(rs, b, c); rs_to_cur(rs, RS_BIN); return 0; }\n";
    src += "static int fifteen(rs_t *rs";
    for i in 0..14 {
        src += &format!(", uint16_t a{i}");
    }
    src += ", char *s, size_t n) { uint32_t sum = 0;";
    for i in 0..14 {
        src += &format!(" sum += a{i};");
    }
    src += " rs_w_uint32_hton(rs, sum); rs_w_p(rs, s, n); rs_to_cur(rs, RS_BIN); return 0; }\n";
    src += "RS_APP(RS_INIT_NONE, RS_OPEN_NONE, RS_READ_SWITCH(\n";
    let mut cases: Vec<String> = (0..254)
        .map(|i| format!("RS_CASE_BIN({i}, echo_case, RS_NET(uint8_t, 0, 8))"))
        .collect();
    let params = vec!["RS_NTOH(uint16_t)"; 14].join(", ");
    cases.push(format!("RS_CASE_BIN(254, fifteen, {params}, RS_STR(0, 4))"));
    src += &cases.join(",\n");
    src += "), RS_CLOSE_NONE, RS_TIMER_NONE);\n";
    let so = build("cases255", Source::Text(&src));
    let mut h = load(&so);
    let c = h.connect();
    h.send(c, DataKind::Bin, &[0, 1, 2]);
    h.send(c, DataKind::Bin, &[253, 9]);
    let mut fifteen = vec![254];
    for i in 1..=14u16 {
        fifteen.extend(i.to_be_bytes());
    }
    fifteen.extend(b"ok");
    h.send(c, DataKind::Bin, &fifteen);
    let got: Vec<Vec<u8>> = h.take_received_by(c).into_iter().map(|(_, p)| p).collect();
    assert_eq!(
        got,
        [
            vec![1, 2],
            vec![9],
            [&105u32.to_be_bytes()[..], b"ok"].concat()
        ]
    );
    h.send(c, DataKind::Bin, &[255]);
    assert_eq!(h.take_closed(), [(c, 4902)]);
}

#[test]
fn misplaced_variable_parameters_do_not_compile() {
    let src = "#include <ringsocket.h>\n\
        static int cb(rs_t *rs, uint8_t *a, size_t c, uint8_t b) { (void)rs, (void)a, (void)c, (void)b; return 0; }\n\
        RS_APP(RS_INIT_NONE, RS_OPEN_NONE, RS_READ_BIN(cb, RS_NET(uint8_t, 0, 4), RS_NET(uint8_t)), RS_CLOSE_NONE, RS_TIMER_NONE);\n";
    let dir = out_dir();
    let path = dir.join("misplaced.c");
    std::fs::write(&path, src).unwrap();
    let err = try_gcc(&path, &dir.join("misplaced.so"), FLAGS).unwrap_err();
    assert!(err.contains("must be the last read parameter"), "{err}");
}

#[test]
fn the_loader_refuses_foreign_and_mismatched_objects() {
    let original = build(
        "original",
        Source::Text("int ringsocket_app(void *args) { (void)args; return 0; }\n"),
    );
    let err = App::load(&original).unwrap_err();
    assert!(matches!(err.kind, LoadErrorKind::NoDescriptor(_)), "{err}");
    let text = err.to_string();
    assert!(
        text.contains(&original.display().to_string()) && text.contains("original C RingSocket"),
        "{text}"
    );

    let wrong_version = build(
        "wrong_version",
        Source::Text(
            "#include <ringsocket.h>\n\
             struct rs_app_descriptor const ringsocket_app_descriptor = {\n\
               .magic = RS_APP_MAGIC, .abi_version = 99, .struct_size = sizeof(struct rs_app_descriptor) };\n",
        ),
    );
    let err = App::load(&wrong_version).unwrap_err();
    assert_eq!(
        err.kind,
        LoadErrorKind::WrongAbiVersion {
            found: 99,
            expected: 1
        }
    );
    assert!(err.to_string().contains("wrong_version.so"), "{err}");

    let malformed = build(
        "malformed",
        Source::Text(
            "#include <ringsocket.h>\n\
             struct rs_app_descriptor const ringsocket_app_descriptor = {\n\
               .magic = RS_APP_MAGIC, .abi_version = RS_ABI_VERSION, .struct_size = 8 };\n",
        ),
    );
    let err = App::load(&malformed).unwrap_err();
    assert!(matches!(err.kind, LoadErrorKind::Malformed(_)), "{err}");

    let unresolved = build(
        "unresolved",
        Source::Text("void missing_function(void);\nvoid f(void) { missing_function(); }\n"),
    );
    let err = App::load(&unresolved).unwrap_err();
    assert!(
        matches!(&err.kind, LoadErrorKind::Open(e) if e.contains("missing_function")),
        "RTLD_NOW: {err}"
    );
}

#[test]
fn the_c_upgrade_hook_reads_the_request_and_keeps_client_data() {
    use app_abi::host::UpgradeAnswer;
    let so = build(
        "auth",
        Source::Text(
            r#"#include <ringsocket.h>
static int up(rs_t *rs) {
    size_t len = 0;
    uint8_t const *token = rs_get_query_param(rs, "token", &len);
    if (!token) {
        token = rs_get_cookie(rs, "token", &len);
    }
    if (!token || len < 3 || memcmp(token, "ok ", 3)) {
        rs_w_str(rs, token ? "bad token" : "no token");
        return token ? 403 : 401;
    }
    size_t target_len = 0;
    uint8_t const *target = rs_get_request_target(rs, &target_len);
    if (!target || target_len < 5 || memcmp(target, "/test", 5)) {
        return 400;
    }
    size_t proto_len = 0;
    if (rs_get_request_header(rs, "Sec-WebSocket-Protocol", &proto_len) &&
        rs_set_subprotocol(rs, "c.v1")) {
        return 500;
    }
    return rs_set_client_data(rs, token + 3, len - 3) ? 500 : 0;
}
static int open_cb(rs_t *rs) {
    size_t len = 0;
    void const *user = rs_get_client_data(rs, &len);
    rs_w_str(rs, "hi ");
    rs_w_p(rs, user, len);
    rs_to_cur(rs, RS_UTF8);
    return 0;
}
RS_APP(RS_INIT_NONE, RS_OPEN(open_cb), RS_READ_NONE, RS_CLOSE_NONE, RS_TIMER_NONE,
       RS_UPGRADE(up));
"#,
        ),
    );
    let mut h = load(&so);
    assert_eq!(
        h.upgrade("/test", None, &[]),
        UpgradeAnswer::Rejected {
            status: 401,
            body: b"no token".to_vec()
        }
    );
    assert_eq!(
        h.upgrade("/test", None, &[("cookie", "token=nope")]),
        UpgradeAnswer::Rejected {
            status: 403,
            body: b"bad token".to_vec()
        }
    );
    let UpgradeAnswer::Accepted { client, protocol } = h.upgrade(
        "/test?token=ok%20dave",
        None,
        &[("Sec-WebSocket-Protocol", "c.v1")],
    ) else {
        panic!("refused: {:?}", h.logs());
    };
    assert_eq!(protocol.as_deref(), Some("c.v1"));
    assert_eq!(texts(&mut h, client), ["hi dave"]);
    let UpgradeAnswer::Accepted { client, .. } =
        h.upgrade("/test", None, &[("Cookie", "a=b; token=ok erin")])
    else {
        panic!("refused: {:?}", h.logs());
    };
    assert_eq!(texts(&mut h, client), ["hi erin"]);
    assert!(!h.is_stopped());
}

#[test]
fn c_topics_subscribe_publish_and_unsubscribe() {
    let so = build(
        "topics",
        Source::Text(
            r#"#include <ringsocket.h>
// "j": join "room"; "l": leave it; anything else: publish it to "room".
static int on_read(rs_t *rs, uint8_t *msg, size_t len) {
    uint64_t me = rs_get_client_id(rs);
    if (len == 1 && msg[0] == 'j') {
        return rs_subscribe(rs, me, "room", 4) == RS_SENT ? 0 : -1;
    }
    if (len == 1 && msg[0] == 'l') {
        return rs_unsubscribe(rs, me, "room", 4) == RS_SENT ? 0 : -1;
    }
    rs_w_p(rs, msg, len);
    return rs_publish(rs, RS_UTF8, "room", 4) == RS_SENT ? 0 : -1;
}
RS_APP(RS_INIT_NONE, RS_OPEN_NONE, RS_READ_UTF8(on_read, RS_NET_STA(uint8_t, 1, 100)),
       RS_CLOSE_NONE, RS_TIMER_NONE);
"#,
        ),
    );
    let mut h = load(&so);
    let (a, b, c) = (h.connect(), h.connect(), h.connect());
    h.send_text(a, "j");
    h.send_text(b, "j");
    h.send_text(c, "hello room");
    assert_eq!(texts(&mut h, a), ["hello room"]);
    assert_eq!(texts(&mut h, b), ["hello room"]);
    assert!(texts(&mut h, c).is_empty());
    h.send_text(a, "l");
    h.send_text(c, "again");
    assert!(texts(&mut h, a).is_empty());
    assert_eq!(texts(&mut h, b), ["again"]);
    assert!(!h.is_stopped(), "{:?}", h.logs());
}
