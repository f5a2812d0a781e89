//! Checks against the machine rather than the file: files that must open now, the run user,
//! and the file descriptor limit. Tests turn the file and user checks off
//! ([`LoadOptions::check_files`](crate::config::LoadOptions::check_files)).

use std::path::Path;

use serde_json::Value;

use super::Validator;
use super::values::Obj;
use crate::config::Cert;
use crate::config::files::{UserIds, check_readable, lookup_user, unreadable_by};
use crate::config::index::{index_path, key_path};

impl Validator<'_> {
    /// `fd_alloc_c` against the hard `RLIMIT_NOFILE`, checked even for the default (the
    /// daemon raises its soft limit to it, which cannot pass the hard one).
    pub(super) fn check_fd_limit(&mut self, o: &Obj<'_>, fd_alloc_c: u32) {
        let hard = match self.options.nofile_hard_limit {
            Some(n) => Some(n),
            None => rustix::process::getrlimit(rustix::process::Resource::Nofile).maximum,
        };
        let Some(hard) = hard else { return };
        if u64::from(fd_alloc_c) <= hard {
            return;
        }
        let (path, value) = match o.get("fd_alloc_c") {
            Some((p, v)) => (p, Some(v)),
            None => ("fd_alloc_c".to_owned(), None),
        };
        let what = if value.is_none() {
            " (the default)"
        } else {
            ""
        };
        self.err(
            &path,
            value,
            format!("{fd_alloc_c}{what} is above this process's hard RLIMIT_NOFILE limit of {hard}"),
            Some(format!(
                "lower fd_alloc_c to at most {hard}, or raise the hard limit (ulimit -Hn, LimitNOFILE= in systemd)"
            )),
        );
    }

    /// With file checks on: the file at `path` (from key `key_path`) must open now.
    pub(super) fn check_file(&mut self, key_path: &str, v: &Value, path: &Path) {
        if !self.options.check_files {
            return;
        }
        if let Err(why) = check_readable(path) {
            let shown = if path.to_str() == v.as_str() {
                why
            } else {
                format!("{} {why}", path.display())
            };
            self.err(key_path, Some(v), shown, None);
        }
    }

    /// Warnings about the run user: missing, or unable to read the certificate files after the
    /// privilege drop.
    pub(super) fn check_run_user(&mut self, user: Option<&str>, certs: &[Cert]) {
        let Some(user) = user else { return };
        let passwd = std::fs::read_to_string(&self.options.passwd_path).unwrap_or_default();
        let group = std::fs::read_to_string(&self.options.group_path).unwrap_or_default();
        let at = if self.idx.value("user").is_some() {
            "user"
        } else {
            ""
        };
        let Some(ids): Option<UserIds> = lookup_user(user, &passwd, &group) else {
            self.warn(
                at,
                format!(
                    "the run user \"{user}\" does not exist in {}; starting as root will fail",
                    self.options.passwd_path.display()
                ),
                Some(format!(
                    "create it (useradd --system --shell /usr/sbin/nologin {user}), or set \"user\": \"\" to keep the starting user"
                )),
            );
            return;
        };
        for (i, cert) in certs.iter().enumerate() {
            for (key, file) in [
                ("privkey_path", &cert.privkey_path),
                ("pubchain_path", &cert.pubchain_path),
            ] {
                if check_readable(file).is_err() {
                    continue; // already an error
                }
                if let Some(why) = unreadable_by(file, &ids) {
                    let kp = key_path(&index_path("certs", i), key);
                    self.warn(
                        &kp,
                        format!("the run user \"{user}\" cannot read {} after the privilege drop: {why}", file.display()),
                        Some(format!("e.g. chgrp {user} on the file with chmod g+r (and g+x on its directories)")),
                    );
                }
            }
        }
    }
}
