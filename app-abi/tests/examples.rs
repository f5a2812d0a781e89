//! The example apps in `examples/`, built as real `.so` files by cargo (and gcc for the C one),
//! loaded through the loader and driven by the test host.
//!
//! The Rust examples must be workspace members: this test runs
//! `cargo build -p echo-app -p chat-app -p silly-calc-app` on the workspace, in its own target
//! directory.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use app_abi::host::{App, TestHost};
use app_abi::{ClientId, DataKind};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Builds the Rust examples once; returns the directory holding their `.so` files.
fn examples_dir() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let target = Path::new(env!("CARGO_TARGET_TMPDIR")).join("examples-target");
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let status = Command::new(cargo)
            .args(["build", "--quiet", "--manifest-path"])
            .arg(root().join("Cargo.toml"))
            .args([
                "-p",
                "echo-app",
                "-p",
                "chat-app",
                "-p",
                "silly-calc-app",
                "--target-dir",
            ])
            .arg(&target)
            .status()
            .expect("running cargo");
        assert!(
            status.success(),
            "building the example apps failed (are examples/echo, examples/chat and \
             examples/silly_calc workspace members?)"
        );
        target.join("debug")
    })
}

fn load(name: &str) -> TestHost {
    let so = examples_dir().join(format!("lib{name}.so"));
    TestHost::new(App::load(&so).unwrap_or_else(|e| panic!("{e}")))
}

fn texts(h: &mut TestHost, c: ClientId) -> Vec<String> {
    h.take_received_by(c)
        .into_iter()
        .map(|(kind, p)| {
            assert_eq!(kind, DataKind::Text);
            String::from_utf8(p).unwrap()
        })
        .collect()
}

#[test]
fn apps_link_no_host_code() {
    for name in ["echo", "chat", "silly_calc"] {
        let so = std::fs::read(examples_dir().join(format!("lib{name}.so"))).unwrap();
        let found = so.windows(b"libloading".len()).any(|w| w == b"libloading");
        assert!(!found, "lib{name}.so links libloading");
    }
}

#[test]
fn echo_returns_each_message_with_its_kind() {
    let mut h = load("echo");
    let (a, b) = (h.connect(), h.connect());
    h.send(a, DataKind::Bin, &[0, 1, 2, 255]);
    h.send(a, DataKind::Text, "héllo".as_bytes());
    h.send(a, DataKind::Bin, &[]);
    h.send(b, DataKind::Bin, &vec![7; 100_000]);
    assert_eq!(
        h.take_received_by(a),
        [
            (DataKind::Bin, vec![0, 1, 2, 255]),
            (DataKind::Text, "héllo".as_bytes().to_vec()),
            (DataKind::Bin, vec![]),
        ]
    );
    assert_eq!(h.take_received_by(b), [(DataKind::Bin, vec![7; 100_000])]);
}

#[test]
fn chat_members_bring_a_token_by_query_or_cookie() {
    use app_abi::host::UpgradeAnswer;
    let mut h = load("chat");
    let UpgradeAnswer::Accepted { client: guest, .. } = h.upgrade("/test", None, &[]) else {
        panic!("a guest is refused on an open endpoint");
    };
    assert_eq!(texts(&mut h, guest), ["* you are guest1"]);
    let UpgradeAnswer::Accepted { client: demo, .. } =
        h.upgrade("/test?token=demo-token", None, &[])
    else {
        panic!("the demo token is refused");
    };
    assert_eq!(texts(&mut h, demo), ["* you are demo"]);
    assert_eq!(texts(&mut h, guest), ["* demo joined"]);
    assert_eq!(
        h.upgrade("/test?token=typo", None, &[]),
        UpgradeAnswer::Rejected {
            status: 403,
            body: b"unknown token".to_vec()
        }
    );
    // Members-only endpoints (id 100 and up): no token is a 401; a cookie works too.
    assert!(matches!(
        h.upgrade_at(100, "/members", None, &[]),
        UpgradeAnswer::Rejected { status: 401, .. }
    ));
    let UpgradeAnswer::Accepted { client: again, .. } = h.upgrade_at(
        100,
        "/members",
        None,
        &[("Cookie", "theme=dark; token=demo-token")],
    ) else {
        panic!("the cookie is refused");
    };
    // The nickname is taken by the first demo: a guest name instead.
    assert_eq!(texts(&mut h, again), ["* you are guest2"]);
}

#[test]
fn chat_rooms_reach_their_members() {
    let mut h = load("chat");
    let (a, b, c) = (h.connect(), h.connect(), h.connect());
    h.take_received();
    h.send_text(a, "jrust");
    h.send_text(b, "jrust");
    h.send_text(c, "trust hello from outside");
    assert_eq!(texts(&mut h, a), ["#rust guest3: hello from outside"]);
    assert_eq!(texts(&mut h, b), ["#rust guest3: hello from outside"]);
    assert!(texts(&mut h, c).is_empty());
    h.send_text(b, "lrust");
    h.send_text(a, "trust just me");
    assert_eq!(texts(&mut h, a), ["#rust guest1: just me"]);
    assert!(texts(&mut h, b).is_empty());
    h.send_text(c, "jbad room");
    h.send_text(b, "trust");
    assert_eq!(h.take_closed(), [(c, 4002), (b, 4002)]);
}

#[test]
fn chat_relays_with_notices_and_closes_malformed_clients() {
    let mut h = load("chat");
    let a = h.connect();
    assert_eq!(texts(&mut h, a), ["* you are guest1"]);
    let b = h.connect();
    assert_eq!(texts(&mut h, a), ["* guest2 joined"]);
    assert_eq!(texts(&mut h, b), ["* you are guest2"]);
    h.send_text(a, "nalice");
    assert_eq!(texts(&mut h, a), ["* guest1 is now alice"]);
    assert_eq!(texts(&mut h, b), ["* guest1 is now alice"]);
    h.send_text(b, "nalice");
    assert_eq!(texts(&mut h, b), ["!taken alice"]);
    h.send_text(a, "mhi all");
    assert_eq!(texts(&mut h, b), ["alice: hi all"]);
    assert!(
        texts(&mut h, a).is_empty(),
        "the sender does not get its own message"
    );
    let c = h.connect();
    h.take_received();
    h.send_text(c, "nbad name");
    assert_eq!(h.take_closed(), [(c, 4001)]);
    assert_eq!(texts(&mut h, a), ["* guest3 left"]);
    let d = h.connect();
    h.send_text(d, "x");
    let e = h.connect();
    h.send(e, DataKind::Bin, b"mhi");
    let f = h.connect();
    h.send_text(f, "m");
    assert_eq!(h.take_closed(), [(d, 4902), (e, 4901), (f, 4900)]);
    h.take_received();
    h.disconnect(a);
    assert_eq!(texts(&mut h, b), ["* alice left"]);
    assert!(!h.is_stopped());
}

#[test]
fn silly_calc_in_rust_and_c_agree() {
    let c_so = Path::new(env!("CARGO_TARGET_TMPDIR")).join("silly_calc_c.so");
    let status = Command::new("gcc")
        .args(["-std=c11", "-Wall", "-Werror", "-fpic", "-shared", "-I"])
        .arg(root().join("app-abi/include"))
        .arg("-o")
        .arg(&c_so)
        .arg(root().join("examples/silly_calc_c/silly_calc.c"))
        .status()
        .unwrap_or_else(|e| panic!("the C example needs gcc on PATH: {e}"));
    assert!(status.success());
    let rust = load("silly_calc");
    let c = TestHost::new(App::load(&c_so).unwrap());
    for mut h in [rust, c] {
        let (a, b) = (h.connect(), h.connect());
        let mut msg = (-7i32).to_be_bytes().to_vec();
        for x in [1u16, 65535] {
            msg.extend(x.to_be_bytes());
        }
        h.send(a, DataKind::Bin, &msg);
        assert_eq!(
            h.take_received_by(a),
            [(DataKind::Text, "笑笑?".as_bytes().to_vec())]
        );
        assert_eq!(
            h.take_received_by(b),
            [(DataKind::Bin, 65529i64.to_be_bytes().to_vec())]
        );
        h.send(b, DataKind::Bin, &msg[..4]);
        assert_eq!(h.take_closed(), [(b, 4900)]);
    }
}

#[test]
fn the_c_auth_example_checks_tokens_and_names_its_users() {
    use app_abi::host::UpgradeAnswer;
    let so = Path::new(env!("CARGO_TARGET_TMPDIR")).join("auth_c.so");
    let status = Command::new("gcc")
        .args([
            "-std=c11", "-Wall", "-Wextra", "-Werror", "-fpic", "-shared", "-I",
        ])
        .arg(root().join("app-abi/include"))
        .arg("-o")
        .arg(&so)
        .arg(root().join("examples/auth_c/auth.c"))
        .status()
        .unwrap_or_else(|e| panic!("the C example needs gcc on PATH: {e}"));
    assert!(status.success());
    let mut h = TestHost::new(App::load(&so).unwrap());
    assert!(matches!(
        h.upgrade("/echo", None, &[]),
        UpgradeAnswer::Rejected { status: 401, .. }
    ));
    assert_eq!(
        h.upgrade("/echo?token=nope", None, &[]),
        UpgradeAnswer::Rejected {
            status: 403,
            body: b"unknown token".to_vec()
        }
    );
    let UpgradeAnswer::Accepted { client, protocol } = h.upgrade(
        "/echo?token=demo-token",
        None,
        &[("Sec-WebSocket-Protocol", "echo.v1")],
    ) else {
        panic!("the demo token is refused: {:?}", h.logs());
    };
    assert_eq!(protocol.as_deref(), Some("echo.v1"));
    h.send_text(client, "hello");
    assert_eq!(texts(&mut h, client), ["demo: hello"]);
    let UpgradeAnswer::Accepted { client, protocol } =
        h.upgrade("/echo", None, &[("Cookie", "token=demo-token")])
    else {
        panic!("the cookie is refused");
    };
    assert_eq!(protocol, None);
    h.send(client, DataKind::Bin, b"\x00\x01");
    assert_eq!(
        h.take_received_by(client),
        [(DataKind::Bin, b"demo: \x00\x01".to_vec())]
    );
}
