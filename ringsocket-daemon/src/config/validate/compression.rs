//! `"permessage_deflate"`, global and per endpoint: `true`/`false`, or an object of the keys
//! below (each one omitted keeps the global value, or the default).

use serde_json::Value;

use super::Validator;
use super::values::{Range, r};
use crate::settings::CompressionOverride;

const KEYS: &[&str] = &[
    "enabled",
    "server_no_context_takeover",
    "client_no_context_takeover",
    "server_max_window_bits",
    "client_max_window_bits",
    "level",
    "min_size",
];
/// RFC 7692 §7.1.2: LZ77 windows of 2^8 to 2^15 bytes.
const WINDOW_BITS: Range = r(8, 15);
const LEVEL: Range = r(0, 9);
const MIN_SIZE: Range = r(0, u32::MAX as u64);

impl Validator<'_> {
    /// The keys set at `path`; `true` is `{"enabled": true}`, `false` `{"enabled": false}`.
    pub(super) fn compression(&mut self, path: &str, v: &Value) -> CompressionOverride {
        if let Value::Bool(enabled) = v {
            return CompressionOverride {
                enabled: Some(*enabled),
                ..CompressionOverride::default()
            };
        }
        if !v.is_object() {
            self.type_err(path, v, "true, false or an object");
            return CompressionOverride::default();
        }
        let Some(o) = self.object(path, v, KEYS) else {
            return CompressionOverride::default();
        };
        let flag = |this: &mut Self, key: &str| o.get(key).and_then(|(p, v)| this.boolean(&p, v));
        let enabled = flag(self, "enabled");
        let server_no_context_takeover = flag(self, "server_no_context_takeover");
        let client_no_context_takeover = flag(self, "client_no_context_takeover");
        let number = |this: &mut Self, key: &str, range: Range| {
            o.get(key)
                .and_then(|(p, v)| this.uint(&p, v, range.min, range.max))
        };
        CompressionOverride {
            enabled,
            server_no_context_takeover,
            client_no_context_takeover,
            server_max_window_bits: number(self, "server_max_window_bits", WINDOW_BITS)
                .map(|n| n as u8),
            client_max_window_bits: number(self, "client_max_window_bits", WINDOW_BITS)
                .map(|n| n as u8),
            level: number(self, "level", LEVEL).map(|n| n as u8),
            min_size: number(self, "min_size", MIN_SIZE).map(|n| n as u32),
        }
    }
}
