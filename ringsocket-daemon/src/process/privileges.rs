//! The privilege drop, in two steps around binding (the spec's "Control flow overview").
//!
//! [`prepare`] runs before binding:
//!
//! 1. `RLIMIT_NOFILE` is raised to `fd_alloc_c` plus [`FD_HEADROOM`] (for listeners, epoll,
//!    eventfds, app files and the syslog socket), soft and, where `CAP_SYS_RESOURCE` allows,
//!    hard; a hard limit that cannot be raised caps it (with a notice). It is never lowered.
//! 2. Started as root (euid 0):
//!    * the run user (`"user"`, default `ringsock`) is looked up through NSS
//!      (`getpwnam_r`, `getgrouplist`); a missing user is [`ProcessError::NoSuchUser`];
//!    * the ambient set is cleared and the bounding set emptied (if `CAP_SETPCAP` allows), so
//!      nothing this process or a child executes can gain a capability back;
//!    * supplementary groups, then gid, then uid are switched (`setgroups`, `setresgid`,
//!      `setresuid`: the gid first, as changing it needs `CAP_SETGID`, which the uid switch
//!      takes away), real, effective and saved alike, so the switch cannot be undone;
//!      `PR_SET_KEEPCAPS` carries the capabilities still needed across the uid switch;
//!    * effective and permitted capabilities become exactly what binding needs:
//!      `CAP_NET_BIND_SERVICE` when a configured port is below 1024, `CAP_NET_RAW` when a port
//!      names an `"interface"` (`SO_BINDTODEVICE` needed it before Linux 5.7); often nothing.
//! 3. Started unprivileged: no user switch and no limit beyond the hard one (said at `info`);
//!    capabilities it was given (e.g. systemd's `AmbientCapabilities=CAP_NET_BIND_SERVICE`)
//!    are cut down to what binding needs, like root's.
//!
//! [`PrivilegeDrop::finish`] runs after binding and loading apps, before any thread: every
//! capability set is emptied (effective, permitted, inheritable, ambient) and
//! `PR_SET_NO_NEW_PRIVS` is set, then the result is read back and checked.
//!
//! # `"user": ""`
//!
//! Keeps uid and gid 0 and the supplementary groups (for containers, where the runtime is the
//! boundary and a `ringsock` user rarely exists), but is otherwise the same drop: after
//! `finish` the process is root *without capabilities*. It still owns root's files, but cannot
//! override permissions (`CAP_DAC_OVERRIDE`), bind low ports or regain anything through
//! `execve`. A certificate reload on `SIGHUP` therefore needs files that uid 0 can read by
//! their mode bits (the usual `0600 root` is fine).
//!
//! All credential and capability syscalls here act on the calling thread only (the kernel's
//! semantics, which rustix exposes as is), so both steps refuse to run once a second thread
//! exists.

use std::io;

use rustix::io::Errno;
use rustix::process::{Resource, Rlimit};
use rustix::thread::{CapabilitySet, CapabilitySets};

use super::{ProcessError, ensure_single_threaded, sys};
use crate::config::Config;

/// File descriptors allowed beyond `fd_alloc_c` connections: listeners (ports × workers),
/// epoll and eventfds, app libraries, the signalfd, the syslog socket.
pub const FD_HEADROOM: u64 = 256;

/// The run user, resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunUser {
    /// The login name (`"user"`).
    pub name: String,
    /// Its uid.
    pub uid: u32,
    /// Its primary gid.
    pub gid: u32,
    /// Every group it belongs to (the primary one included), as `id` shows them.
    pub groups: Vec<u32>,
}

/// What [`prepare`] did, and the token for [`PrivilegeDrop::finish`].
#[derive(Debug)]
#[must_use = "call finish() after binding, or capabilities stay"]
pub struct PrivilegeDrop {
    started_as_root: bool,
    user: Option<RunUser>,
    kept: CapabilitySet,
    nofile: u64,
}

impl PrivilegeDrop {
    /// Whether the process started with euid 0.
    pub fn started_as_root(&self) -> bool {
        self.started_as_root
    }

    /// The user switched to, if any (`None`: unprivileged start or `"user": ""`).
    pub fn run_user(&self) -> Option<&RunUser> {
        self.user.as_ref()
    }

    /// The soft `RLIMIT_NOFILE` now in force.
    pub fn nofile_limit(&self) -> u64 {
        self.nofile
    }

    /// The capabilities kept until [`finish`](Self::finish), by name.
    pub fn kept_capabilities(&self) -> Vec<&'static str> {
        cap_names(self.kept)
    }

    /// Drops every remaining capability and sets `PR_SET_NO_NEW_PRIVS`: call after binding and
    /// loading apps, before spawning any thread.
    pub fn finish(self) -> Result<(), ProcessError> {
        ensure_single_threaded("dropping the last capabilities")?;
        rustix::thread::clear_ambient_capability_set()
            .map_err(|e| ProcessError::sys("clearing the ambient capabilities", e))?;
        let none = CapabilitySets {
            effective: CapabilitySet::empty(),
            permitted: CapabilitySet::empty(),
            inheritable: CapabilitySet::empty(),
        };
        rustix::thread::set_capabilities(None, none)
            .map_err(|e| ProcessError::sys("capset (dropping every capability)", e))?;
        rustix::thread::set_no_new_privs(true)
            .map_err(|e| ProcessError::sys("prctl(PR_SET_NO_NEW_PRIVS)", e))?;
        let now = rustix::thread::capabilities(None).map_err(|e| ProcessError::sys("capget", e))?;
        if now != none {
            return Err(ProcessError::CapabilitiesLeft {
                step: "dropping the last capabilities",
                effective: now.effective.bits(),
                permitted: now.permitted.bits(),
            });
        }
        crate::log!(
            Info,
            "running as uid {} gid {} without capabilities (no_new_privs set)",
            rustix::process::geteuid().as_raw(),
            rustix::process::getegid().as_raw()
        );
        Ok(())
    }
}

/// What [`prepare`] does for a configuration, decided from the configuration alone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Plan {
    /// The run user; `None` keeps the starting one.
    pub user: Option<String>,
    /// The capabilities binding needs.
    pub keep: CapabilitySet,
    /// The soft `RLIMIT_NOFILE` wanted.
    pub nofile: u64,
}

impl Plan {
    pub(crate) fn for_config(config: &Config) -> Self {
        let mut keep = CapabilitySet::empty();
        // The admin listener is bound with the WebSocket ports, after `prepare`.
        let admin_port = config.admin.map(|a| a.addr.port());
        let mut ports = config.ports.iter().map(|p| p.port_number).chain(admin_port);
        if ports.any(|port| port < 1024) {
            keep |= CapabilitySet::NET_BIND_SERVICE;
        }
        if config.ports.iter().any(|p| p.interface.is_some()) {
            keep |= CapabilitySet::NET_RAW;
        }
        Self {
            user: config.settings.user.clone(),
            keep,
            nofile: u64::from(config.settings.fd_alloc_c) + FD_HEADROOM,
        }
    }
}

/// The first step of the drop; call before binding. See the module docs.
pub fn prepare(config: &Config) -> Result<PrivilegeDrop, ProcessError> {
    prepare_plan(&Plan::for_config(config))
}

pub(crate) fn prepare_plan(plan: &Plan) -> Result<PrivilegeDrop, ProcessError> {
    ensure_single_threaded("the privilege drop")?;
    let started_as_root = rustix::process::geteuid().is_root();
    // Looked up before anything changes, so a missing user fails startup cleanly.
    let user = match (&plan.user, started_as_root) {
        (Some(name), true) => Some(resolve_user(name)?),
        _ => None,
    };
    let nofile = raise_nofile(plan.nofile)?;
    let mut kept = plan.keep;
    if started_as_root {
        rustix::thread::clear_ambient_capability_set()
            .map_err(|e| ProcessError::sys("clearing the ambient capabilities", e))?;
        empty_bounding_set()?;
        if let Some(user) = &user {
            switch_user(user, !kept.is_empty())?;
        }
        set_caps(kept, "keeping only what binding needs")?;
        match &user {
            Some(u) => crate::log!(
                Info,
                "switched to user {} (uid {}, gid {}); kept until the listeners are bound: {}",
                u.name,
                u.uid,
                u.gid,
                describe(kept)
            ),
            None => crate::log!(
                Info,
                "staying root (\"user\": \"\"); kept until the listeners are bound: {}",
                describe(kept)
            ),
        }
    } else {
        let euid = rustix::process::geteuid().as_raw();
        let have =
            rustix::thread::capabilities(None).map_err(|e| ProcessError::sys("capget", e))?;
        match &plan.user {
            Some(name) => crate::log!(
                Info,
                "not started as root (uid {euid}): not switching to user \"{name}\"; the hard fd limit and the capability bounding set stay as they are"
            ),
            None => crate::log!(
                Info,
                "not started as root (uid {euid}): the hard fd limit and the capability bounding set stay as they are"
            ),
        }
        let missing = kept - have.permitted;
        if !missing.is_empty() {
            crate::log!(
                Info,
                "lacking {} to bind (binding may fail unless e.g. net.ipv4.ip_unprivileged_port_start allows it)",
                describe(missing)
            );
        }
        kept &= have.permitted;
        // Clearing the inheritable set also clears the ambient one; lowering is always allowed.
        rustix::thread::clear_ambient_capability_set()
            .map_err(|e| ProcessError::sys("clearing the ambient capabilities", e))?;
        set_caps(kept, "keeping only what binding needs")?;
    }
    Ok(PrivilegeDrop {
        started_as_root,
        user,
        kept,
        nofile,
    })
}

/// Looks the run user up; a missing user is the clear startup error.
fn resolve_user(name: &str) -> Result<RunUser, ProcessError> {
    let lookup_error = |source: io::Error| ProcessError::UserLookup {
        name: name.to_owned(),
        source,
    };
    let c_name = sys::c_name(name).map_err(lookup_error)?;
    let pw = sys::getpwnam(&c_name)
        .map_err(lookup_error)?
        .ok_or_else(|| ProcessError::NoSuchUser {
            name: name.to_owned(),
        })?;
    // (uid_t)-1 means "unchanged" to setresuid: a passwd entry holding it must not be used.
    if pw.uid == u32::MAX || pw.gid == u32::MAX {
        return Err(lookup_error(io::Error::other("its uid or gid is -1")));
    }
    let groups = sys::getgrouplist(&c_name, pw.gid).map_err(lookup_error)?;
    Ok(RunUser {
        name: name.to_owned(),
        uid: pw.uid,
        gid: pw.gid,
        groups,
    })
}

/// Switches groups, gid and uid (real, effective and saved) to `user`'s, keeping the
/// permitted capabilities across the uid switch when `keep_caps`.
fn switch_user(user: &RunUser, keep_caps: bool) -> Result<(), ProcessError> {
    use rustix::process::{Gid, Uid};
    if keep_caps {
        // Without it, leaving uid 0 empties the permitted set: binding a low port would fail.
        rustix::thread::set_keep_capabilities(true)
            .map_err(|e| ProcessError::sys("prctl(PR_SET_KEEPCAPS, 1)", e))?;
    }
    let groups: Vec<Gid> = user.groups.iter().map(|&g| Gid::from_raw(g)).collect();
    rustix::thread::set_thread_groups(&groups)
        .map_err(|e| ProcessError::sys(format!("setgroups({:?})", user.groups), e))?;
    let gid = Gid::from_raw(user.gid);
    rustix::thread::set_thread_res_gid(gid, gid, gid)
        .map_err(|e| ProcessError::sys(format!("setresgid({})", user.gid), e))?;
    let uid = Uid::from_raw(user.uid);
    rustix::thread::set_thread_res_uid(uid, uid, uid)
        .map_err(|e| ProcessError::sys(format!("setresuid({})", user.uid), e))?;
    if keep_caps {
        // Its job is done; leaving it set would keep capabilities across any later uid change.
        rustix::thread::set_keep_capabilities(false)
            .map_err(|e| ProcessError::sys("prctl(PR_SET_KEEPCAPS, 0)", e))?;
    }
    // Trust, but verify: a half-applied switch must never go on serving.
    let (ruid, euid) = (rustix::process::getuid(), rustix::process::geteuid());
    let (rgid, egid) = (rustix::process::getgid(), rustix::process::getegid());
    if ruid != uid || euid != uid || rgid != gid || egid != gid {
        return Err(ProcessError::sys(
            format!("switching to user {}", user.name),
            io::Error::other(format!(
                "now uid {}/{} gid {}/{}",
                ruid.as_raw(),
                euid.as_raw(),
                rgid.as_raw(),
                egid.as_raw()
            )),
        ));
    }
    Ok(())
}

/// Sets effective and permitted to `keep` and inheritable to nothing, then checks.
fn set_caps(keep: CapabilitySet, step: &'static str) -> Result<(), ProcessError> {
    let want = CapabilitySets {
        effective: keep,
        permitted: keep,
        inheritable: CapabilitySet::empty(),
    };
    rustix::thread::set_capabilities(None, want)
        .map_err(|e| ProcessError::sys(format!("capset ({step})"), e))?;
    let now = rustix::thread::capabilities(None).map_err(|e| ProcessError::sys("capget", e))?;
    if now != want {
        return Err(ProcessError::CapabilitiesLeft {
            step,
            effective: now.effective.bits(),
            permitted: now.permitted.bits(),
        });
    }
    Ok(())
}

/// Removes every capability from the bounding set, when `CAP_SETPCAP` allows (some container
/// runtimes withhold it; then the bounding set stays, said at `info`).
fn empty_bounding_set() -> Result<(), ProcessError> {
    let have = rustix::thread::capabilities(None).map_err(|e| ProcessError::sys("capget", e))?;
    if !have.effective.contains(CapabilitySet::SETPCAP) {
        crate::log!(
            Info,
            "no CAP_SETPCAP: the capability bounding set stays as it is"
        );
        return Ok(());
    }
    for bit in 0..64 {
        let cap = CapabilitySet::from_bits_retain(1 << bit);
        match rustix::thread::capability_is_in_bounding_set(cap) {
            Ok(true) => rustix::thread::remove_capability_from_bounding_set(cap)
                .map_err(|e| ProcessError::sys(format!("prctl(PR_CAPBSET_DROP, {bit})"), e))?,
            Ok(false) => {}
            // Past the last capability this kernel knows.
            Err(Errno::INVAL) => break,
            Err(e) => {
                return Err(ProcessError::sys(
                    format!("prctl(PR_CAPBSET_READ, {bit})"),
                    e,
                ));
            }
        }
    }
    Ok(())
}

/// Raises the soft `RLIMIT_NOFILE` to `want` (never lowers it), and the hard one too where
/// allowed; returns the soft limit in force.
fn raise_nofile(want: u64) -> Result<u64, ProcessError> {
    let now = rustix::process::getrlimit(Resource::Nofile);
    // `None` is RLIM_INFINITY.
    let soft = now.current.unwrap_or(u64::MAX);
    let hard = now.maximum.unwrap_or(u64::MAX);
    if soft >= want {
        return Ok(soft);
    }
    let set = |soft: u64, hard: u64| {
        let limit = Rlimit {
            current: Some(soft),
            maximum: Some(hard),
        };
        rustix::process::setrlimit(Resource::Nofile, limit)
    };
    if want <= hard {
        set(want, hard).map_err(|e| ProcessError::sys(format!("setrlimit(NOFILE, {want})"), e))?;
        return Ok(want);
    }
    // Raising the hard limit needs CAP_SYS_RESOURCE (and stays under fs.nr_open).
    match set(want, want) {
        Ok(()) => Ok(want),
        Err(Errno::PERM | Errno::INVAL) => {
            set(hard, hard)
                .map_err(|e| ProcessError::sys(format!("setrlimit(NOFILE, {hard})"), e))?;
            crate::log!(
                Notice,
                "the hard RLIMIT_NOFILE of {hard} cannot be raised to fd_alloc_c + {FD_HEADROOM} = {want}; using {hard} (raise LimitNOFILE= or ulimit -Hn)"
            );
            Ok(hard)
        }
        Err(e) => Err(ProcessError::sys(format!("setrlimit(NOFILE, {want})"), e)),
    }
}

/// `CAP_` names of a set, for logs.
fn cap_names(set: CapabilitySet) -> Vec<&'static str> {
    const NAMES: &[(CapabilitySet, &str)] = &[
        (CapabilitySet::NET_BIND_SERVICE, "CAP_NET_BIND_SERVICE"),
        (CapabilitySet::NET_RAW, "CAP_NET_RAW"),
    ];
    NAMES
        .iter()
        .filter(|(cap, _)| set.contains(*cap))
        .map(|&(_, name)| name)
        .collect()
}

fn describe(set: CapabilitySet) -> String {
    let names = cap_names(set);
    if names.is_empty() {
        "no capabilities".to_owned()
    } else {
        names.join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{Config, LoadOptions};

    fn config(extra_ports: &str, user: &str) -> Config {
        let text = format!(
            r#"{{
  "ports": [{{"port_number": 8080, "is_unencrypted": true}}{extra_ports}],
  "user": {user},
  "fd_alloc_c": 1000,
  "apps": [{{
    "name": "a",
    "app_path": "/a.so",
    "endpoints": [{{"endpoint_id": 0, "url": "ws://localhost:8080/a", "allowed_origins": []}}]
  }}]
}}"#
        );
        let options = LoadOptions {
            check_files: false,
            nofile_hard_limit: Some(1 << 20),
            ..LoadOptions::default()
        };
        match Config::from_str_with(&text, "t.json", &options) {
            Ok((c, _)) => c,
            Err(e) => panic!(
                "{}",
                e.errors
                    .iter()
                    .map(|e| e.to_string())
                    .collect::<Vec<_>>()
                    .join("\n")
            ),
        }
    }

    #[test]
    fn keeps_only_what_binding_needs() {
        let plan = Plan::for_config(&config("", "\"web\""));
        assert_eq!(
            plan,
            Plan {
                user: Some("web".into()),
                keep: CapabilitySet::empty(),
                nofile: 1000 + FD_HEADROOM,
            }
        );
        let low = config(r#", {"port_number": 443, "is_unencrypted": true}"#, "\"\"");
        let plan = Plan::for_config(&low);
        assert_eq!(plan.user, None);
        assert_eq!(plan.keep, CapabilitySet::NET_BIND_SERVICE);
        let dev = config(
            r#", {"port_number": 9000, "is_unencrypted": true, "interface": "lo"}"#,
            "\"ringsock\"",
        );
        assert_eq!(Plan::for_config(&dev).keep, CapabilitySet::NET_RAW);
        // A privileged admin port needs it too (`user` is spliced in as raw JSON).
        let low_admin = config("", r#""", "admin": {"port": 80}"#);
        assert_eq!(
            Plan::for_config(&low_admin).keep,
            CapabilitySet::NET_BIND_SERVICE
        );
        assert_eq!(describe(CapabilitySet::empty()), "no capabilities");
        assert_eq!(
            describe(CapabilitySet::NET_BIND_SERVICE | CapabilitySet::NET_RAW),
            "CAP_NET_BIND_SERVICE, CAP_NET_RAW"
        );
    }

    #[test]
    fn refuses_once_threads_exist() {
        // libtest runs this on a second thread: nothing may change, the step is refused.
        let plan = Plan {
            user: None,
            keep: CapabilitySet::empty(),
            nofile: 64,
        };
        let e = prepare_plan(&plan).expect_err("refused");
        assert!(matches!(e, ProcessError::NotSingleThreaded { .. }), "{e}");
    }

    #[test]
    fn resolves_users() {
        let root = resolve_user("root").expect("root");
        assert_eq!((root.uid, root.gid), (0, 0));
        assert!(root.groups.contains(&0));
        let e = resolve_user("rs-no-such-user-here").expect_err("missing");
        assert!(matches!(&e, ProcessError::NoSuchUser { name } if name == "rs-no-such-user-here"));
        assert!(matches!(
            resolve_user("a\0b"),
            Err(ProcessError::UserLookup { .. })
        ));
    }
}
