//! `tcp-echo-server --port PORT`: the physical reference for the echo benchmark.
//!
//! A minimal TCP echo server: one thread, one edge-triggered epoll instance, non-blocking
//! sockets, `TCP_NODELAY`. Every readable connection is read until `EAGAIN` and what was read
//! is written straight back; bytes the socket cannot take now wait in that connection's buffer
//! until `EPOLLOUT`, and reading from it pauses meanwhile (so a client that does not read
//! cannot make the server buffer without bound).

use std::collections::HashMap;
use std::net::{Ipv4Addr, SocketAddr};
use std::os::fd::OwnedFd;

use ringsocket_loadgen::ServerArgs;
use rustix::event::epoll;
use rustix::io::Errno;
use rustix::net::{
    self as rnet, AddressFamily, RecvFlags, SendFlags, SocketFlags, SocketType, ipproto, sockopt,
};

const LISTENER: u64 = u64::MAX;

struct Conn {
    fd: OwnedFd,
    /// Bytes read but not yet written back, from `pending_at`.
    pending: Vec<u8>,
    pending_at: usize,
}

fn main() {
    let args = ServerArgs::from_env("tcp-echo-server");
    if let Err(e) = serve(args.port) {
        eprintln!("tcp-echo-server: {e}");
        std::process::exit(1);
    }
}

fn serve(port: u16) -> std::io::Result<()> {
    let listener = rnet::socket_with(
        AddressFamily::INET,
        SocketType::STREAM,
        SocketFlags::NONBLOCK | SocketFlags::CLOEXEC,
        Some(ipproto::TCP),
    )?;
    sockopt::set_socket_reuseaddr(&listener, true)?;
    rnet::bind(&listener, &SocketAddr::from((Ipv4Addr::LOCALHOST, port)))?;
    rnet::listen(&listener, 4096)?;
    let ep = epoll::create(epoll::CreateFlags::CLOEXEC)?;
    epoll::add(
        &ep,
        &listener,
        epoll::EventData::new_u64(LISTENER),
        epoll::EventFlags::IN | epoll::EventFlags::ET,
    )?;
    eprintln!("tcp-echo-server: listening on 127.0.0.1:{port}");

    let mut conns: HashMap<u64, Conn> = HashMap::new();
    let mut next_token = 0u64;
    let mut events: Vec<epoll::Event> = Vec::with_capacity(1024);
    let mut buf = vec![0u8; 256 * 1024];
    loop {
        events.clear();
        match epoll::wait(&ep, rustix::buffer::spare_capacity(&mut events), None) {
            Ok(_) | Err(Errno::INTR) => {}
            Err(e) => return Err(e.into()),
        }
        for event in &events {
            let token = event.data.u64();
            if token == LISTENER {
                loop {
                    match rnet::accept_with(&listener, SocketFlags::NONBLOCK | SocketFlags::CLOEXEC)
                    {
                        Ok(fd) => {
                            let _ = sockopt::set_tcp_nodelay(&fd, true);
                            next_token += 1;
                            epoll::add(
                                &ep,
                                &fd,
                                epoll::EventData::new_u64(next_token),
                                epoll::EventFlags::IN
                                    | epoll::EventFlags::OUT
                                    | epoll::EventFlags::RDHUP
                                    | epoll::EventFlags::ET,
                            )?;
                            conns.insert(
                                next_token,
                                Conn {
                                    fd,
                                    pending: Vec::new(),
                                    pending_at: 0,
                                },
                            );
                        }
                        Err(Errno::AGAIN) => break,
                        Err(Errno::INTR | Errno::CONNABORTED) => {}
                        Err(e) => return Err(e.into()),
                    }
                }
                continue;
            }
            let Some(conn) = conns.get_mut(&token) else {
                continue;
            };
            if !serve_conn(conn, &mut buf) {
                // Dropping the fd removes it from the epoll set.
                conns.remove(&token);
            }
        }
    }
}

/// Reads and echoes until `EAGAIN`; `false` when the connection is finished.
fn serve_conn(conn: &mut Conn, buf: &mut [u8]) -> bool {
    loop {
        // Flush what is pending first: order is kept and reading waits while it cannot go.
        while conn.pending_at < conn.pending.len() {
            match rnet::send(
                &conn.fd,
                &conn.pending[conn.pending_at..],
                SendFlags::NOSIGNAL,
            ) {
                Ok(n) => conn.pending_at += n,
                Err(Errno::AGAIN) => return true,
                Err(Errno::INTR) => {}
                Err(_) => return false,
            }
        }
        conn.pending.clear();
        conn.pending_at = 0;
        let n = match rnet::recv(&conn.fd, &mut *buf, RecvFlags::empty()) {
            Ok((0, _)) => return false,
            Ok((n, _)) => n,
            Err(Errno::AGAIN) => return true,
            Err(Errno::INTR) => continue,
            Err(_) => return false,
        };
        let mut at = 0;
        while at < n {
            match rnet::send(&conn.fd, &buf[at..n], SendFlags::NOSIGNAL) {
                Ok(k) => at += k,
                Err(Errno::AGAIN) => {
                    conn.pending.extend_from_slice(&buf[at..n]);
                    return true;
                }
                Err(Errno::INTR) => {}
                Err(_) => return false,
            }
        }
    }
}
