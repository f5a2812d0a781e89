//! Sockets: listeners (one per worker per configured address, spread by `SO_REUSEPORT`),
//! non-blocking accepts, and the few socket calls the workers make.
//!
//! Everything goes through `rustix` except `SO_BINDTODEVICE`, which rustix does not wrap: that
//! one `setsockopt` is the only `unsafe` block of the serving core ([`sys`]).

use std::io;
use std::net::{IpAddr, SocketAddr};
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};

use rustix::io::Errno;
use rustix::net::{self as rnet, AddressFamily, SocketFlags, SocketType, ipproto, sockopt};

/// Where one listener binds, and how.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListenerSpec {
    /// The address to bind (`0.0.0.0` / `::` for every address of that family).
    pub addr: IpAddr,
    /// The port; 0 binds an ephemeral port (the same one for every worker), see
    /// [`Server::local_addrs`](crate::server::Server::local_addrs).
    pub port: u16,
    /// `wss`: TLS on this port (the server needs certificates, see
    /// [`Server::start_with_certs`](crate::server::Server::start_with_certs)).
    pub tls: bool,
    /// Bind to this network interface only (`SO_BINDTODEVICE`).
    pub interface: Option<String>,
    /// For an IPv6 address: accept IPv6 only (`IPV6_V6ONLY`), so that an IPv4 listener on the
    /// same port can coexist. `false` lets `::` accept IPv4-mapped connections too.
    pub ipv6_only: bool,
    /// Where a client's address comes from: the socket, or a trusted proxy in front.
    pub client_addr: ClientAddrSource,
}

/// Where a listener learns a client's address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ClientAddrSource {
    /// The socket's peer.
    #[default]
    Socket,
    /// A PROXY protocol (v1 or v2) header before anything else, from a load balancer that
    /// every connection to this port comes through.
    ProxyProtocol,
    /// The last (rightmost) address of the upgrade request's `X-Forwarded-For`, which a
    /// trusted HTTP proxy in front appends.
    XForwardedFor,
}

impl ListenerSpec {
    /// A plain (`ws://`) listener on `addr:port` with no interface and `ipv6_only` set.
    pub fn plain(addr: IpAddr, port: u16) -> Self {
        Self {
            addr,
            port,
            tls: false,
            interface: None,
            ipv6_only: true,
            client_addr: ClientAddrSource::Socket,
        }
    }
}

/// One bound, listening, non-blocking socket, owned by one worker.
#[derive(Debug)]
pub(crate) struct Listener {
    pub(crate) fd: OwnedFd,
    /// The bound address (with the real port when the spec said 0).
    pub(crate) local: SocketAddr,
    /// Whether connections on it speak TLS.
    pub(crate) tls: bool,
    /// Where its clients' addresses come from.
    pub(crate) client_addr: ClientAddrSource,
}

/// The kernel's accept queue length per listener; the kernel caps it at `somaxconn`.
const LISTEN_BACKLOG: i32 = 4096;

/// Binds `spec` at `port` (the spec's port, or the one an earlier bind of the same spec got).
pub(crate) fn bind_listener(spec: &ListenerSpec, port: u16) -> io::Result<Listener> {
    let family = match spec.addr {
        IpAddr::V4(_) => AddressFamily::INET,
        IpAddr::V6(_) => AddressFamily::INET6,
    };
    let fd = rnet::socket_with(
        family,
        SocketType::STREAM,
        SocketFlags::NONBLOCK | SocketFlags::CLOEXEC,
        Some(ipproto::TCP),
    )?;
    // SO_REUSEADDR: restart while old connections linger in TIME_WAIT. SO_REUSEPORT: every
    // worker binds its own listener to the same address, and the kernel spreads connections.
    sockopt::set_socket_reuseaddr(&fd, true)?;
    sockopt::set_socket_reuseport(&fd, true)?;
    // TCP_NODELAY (the worker gathers its writes itself): Linux copies it to every accepted
    // socket, which saves a setsockopt per connection.
    sockopt::set_tcp_nodelay(&fd, true)?;
    if family == AddressFamily::INET6 {
        sockopt::set_ipv6_v6only(&fd, spec.ipv6_only)?;
    }
    if let Some(interface) = &spec.interface {
        sys::bind_to_device(fd.as_fd(), interface)?;
    }
    let addr = SocketAddr::new(spec.addr, port);
    rnet::bind(&fd, &addr)?;
    rnet::listen(&fd, LISTEN_BACKLOG)?;
    let local = rnet::getsockname(&fd)?;
    let local = SocketAddr::try_from(local)
        .map_err(|_| io::Error::other("listener bound to a non-IP address"))?;
    Ok(Listener {
        fd,
        local,
        tls: spec.tls,
        client_addr: spec.client_addr,
    })
}

/// Accepts one connection (non-blocking, close-on-exec, and `TCP_NODELAY` from the listener).
/// `Ok(None)`: the queue is empty.
pub(crate) fn accept(listener: BorrowedFd<'_>) -> Result<Option<(OwnedFd, SocketAddr)>, Errno> {
    loop {
        match rnet::acceptfrom_with(listener, SocketFlags::NONBLOCK | SocketFlags::CLOEXEC) {
            Ok((fd, peer)) => {
                // The peer address of a TCP socket is always IPv4 or IPv6; a socket without
                // one (already reset) is still accepted and closed by its first read.
                let peer = peer
                    .and_then(|p| SocketAddr::try_from(p).ok())
                    .unwrap_or_else(|| SocketAddr::from(([0, 0, 0, 0], 0)));
                return Ok(Some((fd, peer)));
            }
            Err(Errno::AGAIN) => return Ok(None),
            Err(Errno::INTR) => continue,
            // The connection died in the queue: try the next one.
            Err(Errno::CONNABORTED | Errno::PROTO) => continue,
            Err(e) => return Err(e),
        }
    }
}

/// Sends `response` once, without blocking, and drops the connection: the answer to a
/// connection over the worker's limit (a 503 when the socket takes it, else just the close).
pub(crate) fn refuse(fd: OwnedFd, response: &[u8]) {
    let _ = rnet::send(&fd, response, rnet::SendFlags::NOSIGNAL);
    let _ = rnet::shutdown(&fd, rnet::Shutdown::Write);
}

mod sys {
    use std::io;
    use std::os::fd::{AsRawFd, BorrowedFd};

    /// `setsockopt(SOL_SOCKET, SO_BINDTODEVICE, name)`.
    pub(super) fn bind_to_device(fd: BorrowedFd<'_>, name: &str) -> io::Result<()> {
        // IFNAMSIZ (16) includes the terminating NUL.
        if name.is_empty() || name.len() >= 16 || name.contains('\0') {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("invalid interface name {name:?}"),
            ));
        }
        let len = libc::socklen_t::try_from(name.len())
            .map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?;
        // SAFETY: `fd` is a live socket borrowed for the call; the kernel reads exactly `len`
        // bytes from `name`'s buffer, which is valid for that long, and keeps no pointer.
        let rc = unsafe {
            libc::setsockopt(
                fd.as_raw_fd(),
                libc::SOL_SOCKET,
                libc::SO_BINDTODEVICE,
                name.as_ptr().cast(),
                len,
            )
        };
        if rc == 0 {
            Ok(())
        } else {
            Err(io::Error::last_os_error())
        }
    }
}

#[cfg(test)]
mod tests {
    use std::net::{Ipv4Addr, Ipv6Addr, TcpStream};

    use super::*;

    #[test]
    fn accepted_sockets_inherit_nodelay_and_nonblocking() {
        for addr in [
            IpAddr::from(Ipv4Addr::LOCALHOST),
            IpAddr::from(Ipv6Addr::LOCALHOST),
        ] {
            let listener = match bind_listener(&ListenerSpec::plain(addr, 0), 0) {
                Ok(l) => l,
                // A machine without IPv6 loopback.
                Err(_) if addr.is_ipv6() => continue,
                Err(e) => panic!("{e}"),
            };
            let _client = TcpStream::connect(listener.local).unwrap();
            let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
            let (fd, peer) = loop {
                if let Some(accepted) = accept(listener.fd.as_fd()).unwrap() {
                    break accepted;
                }
                assert!(std::time::Instant::now() < deadline, "nothing to accept");
                std::thread::yield_now();
            };
            assert_eq!(peer.ip(), addr);
            assert!(sockopt::tcp_nodelay(&fd).unwrap(), "TCP_NODELAY on {addr}");
            let flags = rustix::fs::fcntl_getfl(&fd).unwrap();
            assert!(flags.contains(rustix::fs::OFlags::NONBLOCK));
        }
    }
}
