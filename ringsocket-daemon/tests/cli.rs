//! The `ringsocket` binary's command line: `--check`, `--version`, `--help`, and the refusal
//! to pretend to serve.

use std::path::PathBuf;
use std::process::{Command, Output};

fn ringsocket(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ringsocket"))
        .args(args)
        .output()
        .expect("run ringsocket")
}

fn write_config(name: &str, text: &str) -> PathBuf {
    let dir =
        PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("mkdir");
    let path = dir.join(name);
    std::fs::write(&path, text).expect("write config");
    path
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn version_and_help() {
    let o = ringsocket(&["--version"]);
    assert!(o.status.success());
    assert_eq!(
        String::from_utf8_lossy(&o.stdout),
        format!("ringsocket {}\n", env!("CARGO_PKG_VERSION"))
    );
    let o = ringsocket(&["--help"]);
    assert!(o.status.success());
    let help = String::from_utf8_lossy(&o.stdout);
    for word in [
        "--check",
        "--daemon",
        "--version",
        "/etc/ringsocket.json",
        "SIGHUP",
    ] {
        assert!(help.contains(word), "{word} missing from:\n{help}");
    }
    let o = ringsocket(&["--bogus"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).starts_with("ringsocket: unknown option --bogus"));
}

#[test]
fn check_reports_every_error_and_fails() {
    let path = write_config(
        "bad.json",
        r#"{
  // two errors and a warning
  "ports": [{"port_number": 8080, "is_unencrypted": true}],
  "apps": [{"name": "a", "app_path": "/a.so", "endpoints": [
    {"endpoint_id": 0, "url": "wss://x:9000/a"}
  ]}],
  "user": "",
  "pong_wait": 0
}"#,
    );
    let o = ringsocket(&["--check", path.to_str().expect("utf-8 path")]);
    assert_eq!(o.status.code(), Some(1));
    let p = path.display();
    let err = stderr(&o);
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(
        lines,
        [
            format!(
                "{p}:3:13: warning: ports[0]: no endpoint uses port 8080, so every upgrade there is answered 404"
            ),
            format!(r#"{p}:4:38: apps[0].app_path: "/a.so": does not exist"#),
            format!(
                r#"{p}:5:5: warning: apps[0].endpoints[0]: "allowed_origins" is omitted, so browser pages from any origin may connect; list the allowed origins (e.g. ["https://example.com"]), or [] to allow only clients that send no Origin"#
            ),
            format!(
                r#"{p}:5:31: apps[0].endpoints[0].url: "wss://x:9000/a": port 9000 is not configured; add {{"port_number": 9000}} to "ports""#
            ),
            format!("{p}:8:16: pong_wait: 0: out of range: must be a whole number from 1 to 3600"),
            format!("{p}: configuration is invalid (3 errors, 2 warnings)"),
        ]
    );
}

#[test]
fn check_passes_a_valid_config() {
    let so = write_config("app.so", "");
    let path = write_config(
        "good.json",
        &format!(
            r#"{{
  "ports": [{{"port_number": 8080, "is_unencrypted": true, "ip_addrs": ["127.0.0.1"]}}],
  "apps": [{{"name": "a", "app_path": "{}", "endpoints": [
    {{"endpoint_id": 0, "url": "ws://localhost:8080/a", "allowed_origins": ["http://localhost:8000"]}}
  ]}}],
  "user": ""
}}"#,
            so.display()
        ),
    );
    let o = ringsocket(&["--check", path.to_str().expect("utf-8 path")]);
    assert_eq!(
        stderr(&o),
        format!("{}: configuration is valid (0 warnings)\n", path.display())
    );
    assert_eq!(o.status.code(), Some(0));
    // Serving loads the app: an empty file is not a shared object, and startup says which
    // file, before detaching with --daemon too.
    for args in [&[][..], &["--daemon"][..]] {
        let mut args = args.to_vec();
        args.push(path.to_str().expect("utf-8 path"));
        let o = ringsocket(&args);
        assert_eq!(o.status.code(), Some(1));
        let err = stderr(&o);
        assert!(err.contains("cannot start"), "{err}");
        assert!(err.contains(&so.display().to_string()), "{err}");
    }
}

#[test]
fn check_on_a_missing_file() {
    let o = ringsocket(&["--check", "/nonexistent/ringsocket.json"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o)
            .starts_with("/nonexistent/ringsocket.json: the configuration file does not exist"),
        "{}",
        stderr(&o)
    );
}
