//! `"apps"`: the apps, each with its shared object and options.

use serde_json::Value;

use super::Validator;
use super::endpoints::EndpointRef;
use super::globals::UPDATE_QUEUE_SIZE;
use super::values::{MIB, Range, r};
use crate::config::App;
use crate::config::index::{index_path, key_path};

/// Bytes in an app's `"name"` (the original's limit: a short log prefix).
const APP_NAME_MAX: usize = 32;
const WBUF_SIZE: Range = r(64, u32::MAX as u64);
/// The write buffer's initial size when `"wbuf_size"` is omitted (as `app_abi`'s `AppConf`).
const DEFAULT_WBUF_SIZE: u64 = MIB;
const APP_KEYS: &[&str] = &[
    "name",
    "app_path",
    "endpoints",
    "no_open_cb",
    "no_close_cb",
    "wbuf_size",
    "update_queue_size",
];

impl Validator<'_> {
    pub(super) fn apps(
        &mut self,
        path: &str,
        v: &Value,
        global_uqs: u32,
        refs: &mut Vec<EndpointRef>,
    ) -> Vec<App> {
        let mut out = Vec::new();
        let items = self.nonempty_array(
            path,
            v,
            "add an app: {\"name\": ..., \"app_path\": ..., \"endpoints\": [...]}",
        );
        for (i, item) in items.iter().enumerate() {
            let ap = index_path(path, i);
            let Some(o) = self.object(&ap, item, APP_KEYS) else {
                continue;
            };
            let name = match o.get("name") {
                Some((p, v)) => match self.string(&p, v) {
                    Some(s)
                        if s.is_empty()
                            || s.len() > APP_NAME_MAX
                            || s.chars().any(char::is_control) =>
                    {
                        self.err(
                            &p,
                            Some(v),
                            format!("must be 1 to {APP_NAME_MAX} bytes of printable text"),
                            None,
                        );
                        None
                    }
                    other => other.map(str::to_owned),
                },
                None => {
                    self.missing(
                        &key_path(&ap, "name"),
                        "add \"name\": a short name for log lines",
                    );
                    None
                }
            };
            let app_path = match o.get("app_path") {
                Some((p, v)) => self
                    .path(&p, v)
                    .inspect(|path| self.check_file(&p, v, path)),
                None => {
                    self.missing(
                        &key_path(&ap, "app_path"),
                        "add \"app_path\": the app's .so file",
                    );
                    None
                }
            };
            let no_open_cb = self.opt_bool(&o, "no_open_cb");
            let no_close_cb = self.opt_bool(&o, "no_close_cb");
            let wbuf_size = self.opt_uint(&o, "wbuf_size", WBUF_SIZE, DEFAULT_WBUF_SIZE);
            let update_queue_size = match o.get("update_queue_size") {
                Some((p, v)) => self
                    .uint(&p, v, UPDATE_QUEUE_SIZE.min, UPDATE_QUEUE_SIZE.max)
                    .and_then(|n| u32::try_from(n).ok())
                    .unwrap_or(global_uqs),
                None => global_uqs,
            };
            let endpoints = match o.get("endpoints") {
                Some((p, v)) => self.endpoints(&p, v, refs),
                None => {
                    self.missing(&key_path(&ap, "endpoints"), "add \"endpoints\": [{\"endpoint_id\": 0, \"url\": \"wss://example.com/app\"}]");
                    Vec::new()
                }
            };
            if let (Some(name), Some(app_path)) = (name, app_path) {
                out.push(App {
                    name,
                    app_path,
                    endpoints,
                    no_open_cb,
                    no_close_cb,
                    wbuf_size,
                    update_queue_size,
                });
            }
        }
        out
    }
}
