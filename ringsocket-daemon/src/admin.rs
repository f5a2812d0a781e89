//! The optional admin listener (`"admin"` in the configuration): plain HTTP/1.1 on its own
//! socket, one small thread, one request per connection.
//!
//! * `GET /health`: `200 ok` while at least one app runs, else `503` (every app stopped
//!   fatally; the daemon exits soon after).
//! * `GET /metrics`: the Prometheus text format of [`Metrics::render`].
//!
//! The socket is bound with the others, before the privilege drop (so a port below 1024
//! works), and the thread starts after it. There is no authentication: it listens on loopback
//! unless configured otherwise. Connections are served one at a time with a short read
//! timeout, so a slow or idle client delays scrapes by at most that long and never touches the
//! workers.

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::fd::AsFd;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use crate::metrics::Metrics;

/// How long one client may take to send its request (and to take the answer).
const CLIENT_TIMEOUT: Duration = Duration::from_secs(2);
/// How often the thread checks the stop flag while no client comes.
const STOP_POLL_MS: i64 = 200;
/// The largest request head read.
const MAX_HEAD: usize = 8192;

/// Binds the admin socket (blocking accept is only ever called after `poll` says readable).
pub fn bind(addr: SocketAddr) -> io::Result<TcpListener> {
    let listener = TcpListener::bind(addr)?;
    listener.set_nonblocking(true)?;
    Ok(listener)
}

/// The running admin thread.
#[derive(Debug)]
pub struct AdminServer {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl AdminServer {
    /// Serves `/health` and `/metrics` from `metrics` on `listener` (from [`bind`]) in a
    /// thread named `rs-admin`.
    pub fn start(listener: TcpListener, metrics: Metrics) -> io::Result<Self> {
        listener.set_nonblocking(true)?;
        let addr = listener.local_addr()?;
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let thread = std::thread::Builder::new()
            .name("rs-admin".into())
            .spawn(move || serve(&listener, &metrics, &flag))?;
        Ok(Self {
            addr,
            stop,
            thread: Some(thread),
        })
    }

    /// The address it listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Stops the thread (within about 200 ms) and closes the socket.
    pub fn stop(mut self) {
        self.shut_down();
    }

    fn shut_down(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for AdminServer {
    fn drop(&mut self) {
        self.shut_down();
    }
}

fn serve(listener: &TcpListener, metrics: &Metrics, stop: &AtomicBool) {
    let timeout = rustix::time::Timespec {
        tv_sec: 0,
        tv_nsec: STOP_POLL_MS * 1_000_000,
    };
    while !stop.load(Ordering::Relaxed) {
        let fd = listener.as_fd();
        let mut fds = [rustix::event::PollFd::new(
            &fd,
            rustix::event::PollFlags::IN,
        )];
        match rustix::event::poll(&mut fds, Some(&timeout)) {
            Ok(0) | Err(rustix::io::Errno::INTR) => continue,
            Ok(_) => {}
            Err(e) => {
                crate::log!(Error, "admin listener: poll failed: {e}; metrics are off");
                return;
            }
        }
        loop {
            match listener.accept() {
                Ok((stream, _)) => {
                    let _ = handle(stream, metrics);
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    // EMFILE and the like: try again on the next readiness.
                    crate::log!(Warning, "admin listener: accept failed: {e}");
                    std::thread::sleep(Duration::from_millis(100));
                    break;
                }
            }
        }
    }
}

/// Reads one request head and answers it; the connection closes after the answer.
fn handle(mut stream: TcpStream, metrics: &Metrics) -> io::Result<()> {
    stream.set_nonblocking(false)?;
    stream.set_read_timeout(Some(CLIENT_TIMEOUT))?;
    stream.set_write_timeout(Some(CLIENT_TIMEOUT))?;
    let mut head = Vec::with_capacity(512);
    let mut buf = [0u8; 1024];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") && !head.windows(2).any(|w| w == b"\n\n") {
        if head.len() > MAX_HEAD {
            return respond(
                &mut stream,
                "431 Request Header Fields Too Large",
                "text/plain",
                "",
                true,
            );
        }
        let n = stream.read(&mut buf)?;
        if n == 0 {
            return Ok(());
        }
        head.extend_from_slice(&buf[..n]);
    }
    let line = head.split(|&b| b == b'\n').next().unwrap_or_default();
    let line = String::from_utf8_lossy(line);
    let mut parts = line.split_whitespace();
    let (method, target) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
    let path = target.split('?').next().unwrap_or("");
    let with_body = method != "HEAD";
    if method != "GET" && method != "HEAD" {
        return respond(
            &mut stream,
            "405 Method Not Allowed",
            "text/plain",
            "GET or HEAD only\n",
            with_body,
        );
    }
    match path {
        "/health" if metrics.healthy() => {
            respond(&mut stream, "200 OK", "text/plain", "ok\n", with_body)
        }
        "/health" => respond(
            &mut stream,
            "503 Service Unavailable",
            "text/plain",
            "no app is running\n",
            with_body,
        ),
        "/metrics" => respond(
            &mut stream,
            "200 OK",
            "text/plain; version=0.0.4; charset=utf-8",
            &metrics.render(),
            with_body,
        ),
        _ => respond(
            &mut stream,
            "404 Not Found",
            "text/plain",
            "try /health or /metrics\n",
            with_body,
        ),
    }
}

fn respond(
    stream: &mut TcpStream,
    status: &str,
    content_type: &str,
    body: &str,
    with_body: bool,
) -> io::Result<()> {
    let mut out = format!(
        "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nCache-Control: no-store\r\nConnection: close\r\n\r\n",
        body.len()
    );
    if with_body {
        out.push_str(body);
    }
    stream.write_all(out.as_bytes())?;
    stream.flush()
}
