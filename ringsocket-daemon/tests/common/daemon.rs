//! The real `ringsocket` binary as a child process, and the C apps it serves (built with gcc).

use std::io::{BufRead, BufReader};
use std::net::{Ipv4Addr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

pub fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// A C app compiled as the spec says (`gcc -std=c11 -Wall -fpic -shared`) into `dir`.
pub fn build_c_app(source: &Path, dir: &Path, name: &str) -> PathBuf {
    let so = dir.join(format!("{name}.so"));
    let status = Command::new("gcc")
        .args([
            "-std=c11", "-O2", "-Wall", "-Werror", "-fpic", "-shared", "-I",
        ])
        .arg(workspace().join("app-abi/include"))
        .arg("-o")
        .arg(&so)
        .arg(source)
        .status()
        .expect("gcc is needed to build the C apps");
    assert!(status.success(), "gcc failed on {}", source.display());
    so
}

/// The spec's `silly_calc` (`examples/silly_calc_c`).
pub fn build_silly_calc(dir: &Path) -> PathBuf {
    build_c_app(
        &workspace().join("examples/silly_calc_c/silly_calc.c"),
        dir,
        "silly_calc",
    )
}

/// `tests/apps/echo.c`: every message back to its sender, unchanged.
pub fn build_c_echo(dir: &Path) -> PathBuf {
    build_c_app(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/apps/echo.c"),
        dir,
        "echo",
    )
}

/// A fresh directory under the test target's temp dir.
pub fn test_dir(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

pub fn free_port() -> u16 {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
    listener.local_addr().unwrap().port()
}

/// A running daemon; killed (by its PID, through its `Child`) if a test fails before it
/// stops it.
pub struct Daemon {
    child: Child,
    stderr: mpsc::Receiver<String>,
    /// Every stderr line seen so far.
    pub lines: Vec<String>,
}

impl Daemon {
    /// Starts the binary with `config` and waits for `ready`.
    pub fn start(config: &Path) -> Self {
        Self::start_command(Self::command(config))
    }

    /// The command [`start`](Self::start) runs, to add environment variables.
    pub fn command(config: &Path) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_ringsocket"));
        command.arg(config);
        command
    }

    /// Starts `command` (stderr piped here) and waits for `ready`.
    pub fn start_command(mut command: Command) -> Self {
        let mut child = command.stderr(Stdio::piped()).spawn().unwrap();
        let (tx, stderr) = mpsc::channel();
        let pipe = BufReader::new(child.stderr.take().unwrap());
        std::thread::spawn(move || {
            for line in pipe.lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let mut daemon = Self {
            child,
            stderr,
            lines: Vec::new(),
        };
        daemon.wait_for_line("ready");
        daemon
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Waits (bounded) for a stderr line containing `text`; returns it.
    pub fn wait_for_line(&mut self, text: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.stderr.recv_timeout(left) {
                Ok(line) => {
                    self.lines.push(line.clone());
                    if line.contains(text) {
                        return line;
                    }
                }
                Err(e) => panic!(
                    "no stderr line with {text:?} ({e}); so far:\n{}",
                    self.lines.join("\n")
                ),
            }
        }
    }

    pub fn signal(&self, signal: &str) {
        let status = Command::new("kill")
            .args(["-s", signal, &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
    }

    /// Waits (bounded) for the exit status.
    pub fn wait(mut self) -> std::process::ExitStatus {
        for _ in 0..400 {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("the daemon did not exit within 20 s");
    }

    /// SIGTERM, then the exit status and every stderr line (bounded).
    pub fn stop(mut self) -> (std::process::ExitStatus, Vec<String>) {
        self.signal("TERM");
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.stderr.recv_timeout(left) {
                Ok(line) => self.lines.push(line),
                Err(mpsc::RecvTimeoutError::Disconnected) => break,
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    panic!("the daemon's stderr stayed open 20 s after SIGTERM")
                }
            }
        }
        let lines = std::mem::take(&mut self.lines);
        (self.wait(), lines)
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
