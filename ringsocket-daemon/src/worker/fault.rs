//! Test-only fault injection in the workers' socket I/O (cargo feature `fault-injection`, off
//! by default; inert unless `RINGSOCKET_FAULT_INJECTION=<seed>` is set): short reads, short
//! writes and `EAGAIN`, pseudo-randomly from the seed, on every `recv` and `sendmsg` of a
//! client socket (plain and TLS). Used by `tests/faults.rs`.
//!
//! Why not an `LD_PRELOAD` shim, as the original had: rustix's `linux_raw` backend (this crate
//! does not enable `use-libc`) makes the system calls itself, so a shim wrapping libc's `recv`
//! or `sendmsg` would intercept nothing.
//!
//! Consistency: short transfers are never 0 bytes (0 would be EOF), and a short read only
//! leaves data in the socket, which the worker reads on (a short read is not `EAGAIN`). An
//! injected `EAGAIN` is different: the sockets are edge-triggered, and the kernel announces
//! only *new* readiness, so an `EAGAIN` while data (or send space) is there would lose the
//! wakeup and stall the connection, which no real kernel does. So every injected `EAGAIN`
//! re-arms the socket with `EPOLL_CTL_MOD` (same events, same token), which makes the kernel
//! re-check readiness and queue an event if the socket is ready: exactly what a real `EAGAIN`
//! followed at once by new data or space would produce. The worker registers its epoll and
//! each connection's token here for that.
//!
//! Short writes re-arm too. On a real non-blocking TCP socket a short `sendmsg` means the send
//! buffer filled (the kernel sets `SOCK_NOSPACE`), so a writable edge follows as for `EAGAIN`;
//! the worker relies on that (it keeps the rest in the backlog and waits for the writable
//! event instead of spending a `sendmsg` to see the `EAGAIN`). An injected short write with no
//! wakeup after it would model a kernel that does not exist, and does stall the worker. Short
//! reads need nothing: the worker reads on until a real `EAGAIN`.
//!
//! Each worker thread prints its counts to stderr when it ends:
//! `ringsocket: fault-injection: N short reads, N short writes, N read EAGAINs, N write EAGAINs`.

use std::cell::RefCell;
use std::collections::HashMap;
use std::io::IoSlice;
use std::os::fd::{AsRawFd, BorrowedFd, RawFd};

use rustix::event::epoll;

/// The environment variable holding the seed.
pub(crate) const ENV: &str = "RINGSOCKET_FAULT_INJECTION";

/// One of a worker thread's injections.
pub(crate) enum Fault {
    /// Transfer at most this many bytes (at least 1).
    Short(usize),
    /// `EAGAIN` (the socket was re-armed).
    Again,
}

#[derive(Default)]
struct Counts {
    short_reads: u64,
    short_writes: u64,
    read_again: u64,
    write_again: u64,
}

struct State {
    rng: u64,
    /// Which faults: 1 short reads, 2 short writes, 4 read `EAGAIN`, 8 write `EAGAIN`
    /// (`RINGSOCKET_FAULT_KINDS`, default all).
    kinds: u32,
    epoll: Option<RawFd>,
    tokens: HashMap<RawFd, u64>,
    counts: Counts,
}

impl Drop for State {
    fn drop(&mut self) {
        let c = &self.counts;
        crate::log!(
            Notice,
            "fault-injection: {} short reads, {} short writes, {} read EAGAINs, {} write EAGAINs",
            c.short_reads,
            c.short_writes,
            c.read_again,
            c.write_again
        );
    }
}

thread_local! {
    static STATE: RefCell<Option<State>> = RefCell::new(init());
}

fn init() -> Option<State> {
    let seed: u64 = std::env::var(ENV).ok()?.parse().ok()?;
    // A different stream per thread, from the seed and the thread's name.
    let name = std::thread::current().name().unwrap_or("").to_owned();
    let mut rng = seed ^ 0x9E37_79B9_7F4A_7C15;
    for b in name.bytes() {
        rng = (rng ^ u64::from(b)).wrapping_mul(0x0100_0000_01B3);
    }
    let kinds = std::env::var("RINGSOCKET_FAULT_KINDS")
        .ok()
        .and_then(|k| k.parse().ok())
        .unwrap_or(15);
    Some(State {
        rng: rng | 1,
        kinds,
        epoll: None,
        tokens: HashMap::new(),
        counts: Counts::default(),
    })
}

impl State {
    fn next(&mut self) -> u64 {
        let mut x = self.rng;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.rng = x;
        x
    }

    /// 1 in 4: `EAGAIN`; 1 in 2: a short transfer of 1..`len` bytes; else none. `write`:
    /// the kind bits of writes (2 and 8) apply, else those of reads (1 and 4).
    fn pick(&mut self, fd: RawFd, len: usize, write: bool) -> Option<Fault> {
        let r = self.next();
        let (short, again) = if write { (2, 8) } else { (1, 4) };
        match r % 4 {
            0 if self.kinds & again != 0 => {
                self.rearm(fd);
                Some(Fault::Again)
            }
            1 | 2 if len > 1 && self.kinds & short != 0 => {
                if write {
                    self.rearm(fd);
                }
                Some(Fault::Short(1 + (r >> 8) as usize % (len - 1)))
            }
            _ => None,
        }
    }

    fn rearm(&self, fd: RawFd) {
        let (Some(epfd), Some(&token)) = (self.epoll, self.tokens.get(&fd)) else {
            return;
        };
        // SAFETY: both descriptors are open: the worker's epoll for its whole run, the socket
        // while the worker reads or writes it (this call is inside that read or write).
        let (epfd, fd) = unsafe { (BorrowedFd::borrow_raw(epfd), BorrowedFd::borrow_raw(fd)) };
        let _ = epoll::modify(
            epfd,
            fd,
            epoll::EventData::new_u64(token),
            epoll::EventFlags::IN
                | epoll::EventFlags::OUT
                | epoll::EventFlags::RDHUP
                | epoll::EventFlags::ET,
        );
    }
}

/// The worker's epoll (call on the worker thread).
pub(crate) fn set_epoll(epoll: BorrowedFd<'_>) {
    STATE.with_borrow_mut(|s| {
        if let Some(s) = s {
            s.epoll = Some(epoll.as_raw_fd());
        }
    });
}

/// A connection's epoll token (call on the worker thread when it is registered).
pub(crate) fn register(fd: BorrowedFd<'_>, token: u64) {
    STATE.with_borrow_mut(|s| {
        if let Some(s) = s {
            s.tokens.insert(fd.as_raw_fd(), token);
        }
    });
}

/// What to do to a `recv` of `len` bytes.
pub(crate) fn on_recv(fd: BorrowedFd<'_>, len: usize) -> Option<Fault> {
    STATE.with_borrow_mut(|s| {
        let s = s.as_mut()?;
        let fault = s.pick(fd.as_raw_fd(), len, false)?;
        match fault {
            Fault::Again => s.counts.read_again += 1,
            Fault::Short(_) => s.counts.short_reads += 1,
        }
        Some(fault)
    })
}

/// What to do to a `sendmsg` of `bufs`.
pub(crate) fn on_send(fd: BorrowedFd<'_>, bufs: &[IoSlice<'_>]) -> Option<Fault> {
    let len: usize = bufs.iter().map(|b| b.len()).sum();
    if len == 0 {
        return None;
    }
    STATE.with_borrow_mut(|s| {
        let s = s.as_mut()?;
        let fault = s.pick(fd.as_raw_fd(), len, true)?;
        match fault {
            Fault::Again => s.counts.write_again += 1,
            Fault::Short(_) => s.counts.short_writes += 1,
        }
        Some(fault)
    })
}

/// The first `max` bytes of `bufs`.
pub(crate) fn truncate<'b>(bufs: &'b [IoSlice<'_>], max: usize) -> Vec<IoSlice<'b>> {
    let mut left = max;
    let mut out = Vec::new();
    for b in bufs {
        if left == 0 {
            break;
        }
        let n = b.len().min(left);
        out.push(IoSlice::new(&b[..n]));
        left -= n;
    }
    out
}
