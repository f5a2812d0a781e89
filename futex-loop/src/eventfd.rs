//! The eventfd that wakes a worker out of `epoll_wait`.

use std::io;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};

use rustix::event::{EventfdFlags, eventfd};
use rustix::io::Errno;

use crate::gate::Signal;

/// A non-blocking, close-on-exec eventfd. Register [`as_fd`](AsFd::as_fd) in the worker's epoll
/// set (readable = woken); [`wake`](Self::wake) makes it readable, [`drain`](Self::drain) resets
/// it.
#[derive(Debug)]
pub struct EventFdWaker {
    fd: OwnedFd,
}

impl EventFdWaker {
    /// Creates the eventfd.
    pub fn new() -> io::Result<Self> {
        let fd = eventfd(0, EventfdFlags::NONBLOCK | EventfdFlags::CLOEXEC)?;
        Ok(Self { fd })
    }

    /// Adds one to the counter, making the fd readable.
    pub fn wake(&self) {
        match rustix::io::write(&self.fd, &1u64.to_ne_bytes()) {
            // EAGAIN: the counter is at its maximum, so the fd is readable already.
            Ok(_) | Err(Errno::AGAIN) => {}
            Err(e) => debug_assert!(false, "eventfd write failed: {e}"),
        }
    }

    /// Resets the counter to zero and returns how many wakes it held (0 if none).
    pub fn drain(&self) -> u64 {
        let mut buf = [0u8; 8];
        match rustix::io::read(&self.fd, &mut buf) {
            Ok(8) => u64::from_ne_bytes(buf),
            _ => 0,
        }
    }
}

impl AsFd for EventFdWaker {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

impl Signal for EventFdWaker {
    fn signal(&self) {
        self.wake();
    }
}
