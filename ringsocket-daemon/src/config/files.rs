//! File checks done before anything binds: each configured file must be a regular file the
//! daemon can open now, and (a warning) a certificate file should stay readable by the run user
//! after the privilege drop. Certificates are not parsed here; that is the TLS module's job.

use std::fs::{self, File};
use std::io;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;

/// Why a configured file cannot be used, phrased for a diagnostic.
pub(crate) fn check_readable(path: &Path) -> Result<(), String> {
    let meta = fs::metadata(path).map_err(|e| describe(&e))?;
    if meta.is_dir() {
        return Err("is a directory, not a file".to_owned());
    }
    if !meta.is_file() {
        return Err("is not a regular file".to_owned());
    }
    // Opening is the real test: it accounts for ACLs, capabilities and mounts that mode bits
    // do not show.
    File::open(path).map(drop).map_err(|e| describe(&e))
}

fn describe(e: &io::Error) -> String {
    match e.kind() {
        io::ErrorKind::NotFound => "does not exist".to_owned(),
        io::ErrorKind::PermissionDenied => "cannot be opened: permission denied".to_owned(),
        _ => format!("cannot be opened: {e}"),
    }
}

/// A user's identity from `/etc/passwd` and `/etc/group`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct UserIds {
    pub uid: u32,
    pub gid: u32,
    /// Supplementary groups (from `/etc/group`).
    pub groups: Vec<u32>,
}

/// Looks `name` up in passwd-format `passwd` text and group-format `group` text. Plain file
/// parsing, no NSS: enough for the warning this feeds (LDAP users are rare for daemons).
pub(crate) fn lookup_user(name: &str, passwd: &str, group: &str) -> Option<UserIds> {
    let (uid, gid) = passwd.lines().find_map(|line| {
        let mut f = line.split(':');
        if f.next()? != name {
            return None;
        }
        let _password = f.next()?;
        Some((f.next()?.parse().ok()?, f.next()?.parse().ok()?))
    })?;
    let groups = group
        .lines()
        .filter_map(|line| {
            let mut f = line.split(':');
            let _name = f.next()?;
            let _password = f.next()?;
            let gid: u32 = f.next()?.parse().ok()?;
            f.next()?.split(',').any(|m| m == name).then_some(gid)
        })
        .collect();
    Some(UserIds { uid, gid, groups })
}

/// Why `ids` could not read `path` (via mode bits, and search permission on every directory
/// above it), or `None` when it can. Root (uid 0) can read anything.
pub(crate) fn unreadable_by(path: &Path, ids: &UserIds) -> Option<String> {
    if ids.uid == 0 {
        return None;
    }
    let allowed = |meta: &fs::Metadata, bit_owner: u32| -> bool {
        let mode = meta.permissions().mode();
        let shift = if meta.uid() == ids.uid {
            6
        } else if meta.gid() == ids.gid || ids.groups.contains(&meta.gid()) {
            3
        } else {
            0
        };
        mode & (bit_owner >> (6 - shift)) != 0
    };
    let abs = fs::canonicalize(path).ok()?;
    for dir in abs.ancestors().skip(1) {
        let meta = fs::metadata(dir).ok()?;
        if !allowed(&meta, 0o100) {
            return Some(format!(
                "directory {} is not searchable by the run user",
                dir.display()
            ));
        }
    }
    let meta = fs::metadata(&abs).ok()?;
    if !allowed(&meta, 0o400) {
        return Some(format!(
            "mode {:o}, owner {}:{} does not let the run user read it",
            meta.permissions().mode() & 0o7777,
            meta.uid(),
            meta.gid()
        ));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    const PASSWD: &str = "root:x:0:0:root:/root:/bin/bash\nringsock:x:990:985::/:/usr/bin/false\n";
    const GROUP: &str = "root:x:0:\nssl-cert:x:110:ringsock,www\nother:x:5:www\n";

    #[test]
    fn looks_users_up() {
        assert_eq!(
            lookup_user("ringsock", PASSWD, GROUP),
            Some(UserIds {
                uid: 990,
                gid: 985,
                groups: vec![110]
            })
        );
        assert_eq!(lookup_user("nobody-here", PASSWD, GROUP), None);
        assert_eq!(lookup_user("ring", PASSWD, GROUP), None);
    }

    #[test]
    fn mode_bits_decide() {
        let dir = crate::config::tests::temp_dir("files");
        let file = dir.join("key.pem");
        fs::write(&file, "k").expect("write");
        fs::set_permissions(&dir, fs::Permissions::from_mode(0o755)).expect("chmod");
        let me = UserIds {
            uid: 4242,
            gid: 4242,
            groups: vec![],
        };
        fs::set_permissions(&file, fs::Permissions::from_mode(0o600)).expect("chmod");
        let why = unreadable_by(&file, &me).expect("unreadable");
        assert!(why.starts_with("mode 600"), "{why}");
        fs::set_permissions(&file, fs::Permissions::from_mode(0o604)).expect("chmod");
        assert_eq!(unreadable_by(&file, &me), None);
        fs::set_permissions(&dir, fs::Permissions::from_mode(0o700)).expect("chmod");
        let why = unreadable_by(&file, &me).expect("unreadable");
        assert!(why.contains("not searchable"), "{why}");
        let root = UserIds {
            uid: 0,
            gid: 0,
            groups: vec![],
        };
        assert_eq!(unreadable_by(&file, &root), None);
        assert_eq!(check_readable(&file), Ok(()));
        assert_eq!(
            check_readable(&dir),
            Err("is a directory, not a file".to_owned())
        );
        assert_eq!(
            check_readable(&dir.join("nope")),
            Err("does not exist".to_owned())
        );
    }
}
