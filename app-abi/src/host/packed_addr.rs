//! A peer address in half the space of a `SocketAddr`, for tables with one per client.

use std::net::{SocketAddr, SocketAddrV4, SocketAddrV6};

/// A socket address in 16 bytes (a `SocketAddr` takes 32): IPv4 inline, IPv6 (rarer, and
/// with its flow info and scope id) boxed. The host's client table and the daemon's
/// connection slots keep one per client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PackedAddr {
    /// IPv4.
    V4(SocketAddrV4),
    /// IPv6, boxed.
    V6(Box<SocketAddrV6>),
}

impl PackedAddr {
    /// The address.
    pub fn get(&self) -> SocketAddr {
        match self {
            Self::V4(a) => SocketAddr::V4(*a),
            Self::V6(a) => SocketAddr::V6(**a),
        }
    }
}

impl From<SocketAddr> for PackedAddr {
    fn from(addr: SocketAddr) -> Self {
        match addr {
            SocketAddr::V4(a) => Self::V4(a),
            SocketAddr::V6(a) => Self::V6(Box::new(a)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_in_16_bytes() {
        assert!(std::mem::size_of::<PackedAddr>() <= 16);
        for addr in [
            "192.0.2.7:443".parse::<SocketAddr>().unwrap(),
            "[2001:db8::1]:8080".parse().unwrap(),
            SocketAddr::V6(SocketAddrV6::new("fe80::1".parse().unwrap(), 9, 0x1234, 3)),
        ] {
            assert_eq!(PackedAddr::from(addr).get(), addr);
        }
    }
}
