//! Every `unsafe` call of the process module: the libc functions rustix does not wrap (user
//! lookup through NSS, `fork`, signal masks and dispositions, `signalfd`, `dup2` onto stdio).
//!
//! Each wrapper is safe to call: it owns its buffers and checks the results. `fork` checks that
//! the process has one thread, which is what makes calling it sound in practice.

use std::ffi::{CStr, CString};
use std::io;
use std::mem::MaybeUninit;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd};
use std::ptr;

/// A user's ids from the password database.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Passwd {
    pub uid: u32,
    pub gid: u32,
}

/// The password database entry for `name` (`getpwnam_r`, so NSS sources count), `None` when
/// there is none.
pub(crate) fn getpwnam(name: &CStr) -> io::Result<Option<Passwd>> {
    let mut buf = vec![0u8; 1024];
    loop {
        let mut pwd = MaybeUninit::<libc::passwd>::uninit();
        let mut result: *mut libc::passwd = ptr::null_mut();
        // SAFETY: `name` is NUL-terminated; `pwd`, `buf` (with its true length) and `result`
        // are valid for writes for the whole call, and nothing else aliases them.
        let rc = unsafe {
            libc::getpwnam_r(
                name.as_ptr(),
                pwd.as_mut_ptr(),
                buf.as_mut_ptr().cast(),
                buf.len(),
                &mut result,
            )
        };
        match rc {
            libc::ERANGE if buf.len() < 1 << 20 => buf.resize(buf.len() * 2, 0),
            // POSIX allows these for "no such user" besides 0 with a null result.
            0 | libc::ENOENT | libc::ESRCH | libc::EBADF | libc::EPERM if result.is_null() => {
                return Ok(None);
            }
            0 => {
                // SAFETY: success with a non-null result means `pwd` was filled in; only the
                // two integer fields are read, the pointers into `buf` are not kept.
                let pwd = unsafe { pwd.assume_init_ref() };
                return Ok(Some(Passwd {
                    uid: pwd.pw_uid,
                    gid: pwd.pw_gid,
                }));
            }
            e => return Err(io::Error::from_raw_os_error(e)),
        }
    }
}

/// The groups `name` belongs to, `gid` included (`getgrouplist`, NSS-aware like `initgroups`).
pub(crate) fn getgrouplist(name: &CStr, gid: u32) -> io::Result<Vec<u32>> {
    let mut capacity: libc::c_int = 32;
    loop {
        let len = usize::try_from(capacity).unwrap_or(0);
        let mut groups: Vec<libc::gid_t> = vec![0; len];
        let mut count = capacity;
        // SAFETY: `groups` has room for `count` entries, and `count` is valid for writes.
        let rc = unsafe { libc::getgrouplist(name.as_ptr(), gid, groups.as_mut_ptr(), &mut count) };
        if rc >= 0 {
            groups.truncate(usize::try_from(count).unwrap_or(0));
            return Ok(groups);
        }
        // Too small: glibc stores the number needed in `count`; grow at least twofold anyway.
        capacity = count.max(capacity.saturating_mul(2));
        if capacity > 1 << 16 {
            return Err(io::Error::other("more than 65536 groups"));
        }
    }
}

/// Which side of a [`fork`] this is.
pub(crate) enum Forked {
    /// The parent, with the child's pid.
    Parent(u32),
    /// The child.
    Child,
}

/// `fork()`, refused while the process has more than one thread: the child would get only
/// this thread, and locks the others held (allocator, stdio, the logger) would stay locked in
/// it forever.
pub(crate) fn fork() -> io::Result<Forked> {
    if let Some(n) = super::thread_count().filter(|&n| n > 1) {
        return Err(io::Error::other(format!("fork with {n} threads running")));
    }
    // SAFETY: the process has one thread (checked above), so the child is a complete copy and
    // may do anything the parent could.
    let pid = unsafe { libc::fork() };
    match pid {
        -1 => Err(io::Error::last_os_error()),
        0 => Ok(Forked::Child),
        pid => Ok(Forked::Parent(pid.unsigned_abs())),
    }
}

/// `_exit(code)`: ends this process at once, without running exit handlers or destructors
/// (after `fork`, the parent's buffers and handlers belong to the other process).
pub(crate) fn exit_now(code: i32) -> ! {
    // SAFETY: `_exit` has no preconditions.
    unsafe { libc::_exit(code) }
}

/// A signal set.
pub(crate) fn sigset(signals: &[libc::c_int]) -> io::Result<libc::sigset_t> {
    let mut set = MaybeUninit::<libc::sigset_t>::uninit();
    // SAFETY: `sigemptyset` initialises the whole set it is given.
    if unsafe { libc::sigemptyset(set.as_mut_ptr()) } != 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: initialised by `sigemptyset` just above.
    let mut set = unsafe { set.assume_init() };
    for &sig in signals {
        // SAFETY: `set` is an initialised set; an invalid `sig` is reported as EINVAL.
        if unsafe { libc::sigaddset(&mut set, sig) } != 0 {
            return Err(io::Error::last_os_error());
        }
    }
    Ok(set)
}

/// Adds `set` to the calling thread's signal mask (threads created later inherit it).
pub(crate) fn block_signals(set: &libc::sigset_t) -> io::Result<()> {
    // SAFETY: `set` is an initialised signal set; the old mask is not asked for (null).
    let rc = unsafe { libc::pthread_sigmask(libc::SIG_BLOCK, set, ptr::null_mut()) };
    match rc {
        0 => Ok(()),
        e => Err(io::Error::from_raw_os_error(e)),
    }
}

/// Sets the disposition of `sig` to `SIG_IGN` (`ignore`) or `SIG_DFL`.
pub(crate) fn set_disposition(sig: libc::c_int, ignore: bool) -> io::Result<()> {
    // SAFETY: `sigaction` is plain data for which all zeroes is a valid value (no flags,
    // `SIG_DFL`); its mask is set up by `sigemptyset` below before use.
    let mut action: libc::sigaction = unsafe { MaybeUninit::zeroed().assume_init() };
    action.sa_sigaction = if ignore { libc::SIG_IGN } else { libc::SIG_DFL };
    // SAFETY: `action.sa_mask` is a valid signal set to initialise.
    if unsafe { libc::sigemptyset(&mut action.sa_mask) } != 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: `action` is fully initialised and installs no handler function, so no Rust code
    // ever runs in signal context; the old action is not asked for (null).
    if unsafe { libc::sigaction(sig, &action, ptr::null_mut()) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// A non-blocking, close-on-exec signalfd for `set`.
pub(crate) fn signalfd(set: &libc::sigset_t) -> io::Result<OwnedFd> {
    // SAFETY: -1 asks for a new descriptor; `set` is an initialised signal set.
    let fd = unsafe { libc::signalfd(-1, set, libc::SFD_NONBLOCK | libc::SFD_CLOEXEC) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: `signalfd` returned a new descriptor that nothing else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// Points `target` (0, 1 or 2) at `fd`: `dup2`. Rust's `OwnedFd` cannot stand for the
/// standard streams without closing them on drop, hence the raw call.
pub(crate) fn dup2_onto(fd: BorrowedFd<'_>, target: libc::c_int) -> io::Result<()> {
    // SAFETY: both are valid descriptors; `dup2` atomically replaces `target`, which this
    // process keeps using as a standard stream.
    if unsafe { libc::dup2(fd.as_raw_fd(), target) } < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// A `CString` from a user name, or an error naming the NUL byte.
pub(crate) fn c_name(name: &str) -> io::Result<CString> {
    CString::new(name)
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "the name contains a NUL byte"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn looks_up_root_and_a_missing_user() {
        let root = getpwnam(c"root").expect("lookup").expect("root exists");
        assert_eq!(root, Passwd { uid: 0, gid: 0 });
        assert_eq!(getpwnam(c"rs-no-such-user-here").expect("lookup"), None);
        let groups = getgrouplist(c"root", 0).expect("groups");
        assert!(groups.contains(&0), "{groups:?}");
    }

    #[test]
    fn builds_signal_sets() {
        assert!(sigset(&[libc::SIGTERM, libc::SIGHUP]).is_ok());
        assert!(sigset(&[0x7fff]).is_err());
    }

    #[test]
    fn refuses_to_fork_with_threads() {
        // libtest runs this on a second thread.
        let e = fork().err().expect("refused");
        assert!(e.to_string().contains("threads running"), "{e}");
    }
}
