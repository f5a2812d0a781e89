//! Typed reads of JSON values: each checks the type (and range) of one value, reports a
//! specific error at its key path when it is wrong, and returns `None` (or the default) so that
//! validation goes on and every error is found in one run.

use std::path::PathBuf;
use std::time::Duration;

use serde_json::{Map, Value};

use super::Validator;
use crate::config::index::key_path;

/// Inclusive range of an integer key (its default lives with the key's definition).
#[derive(Debug, Clone, Copy)]
pub(super) struct Range {
    pub(super) min: u64,
    pub(super) max: u64,
}

pub(super) const fn r(min: u64, max: u64) -> Range {
    Range { min, max }
}

pub(super) const KIB: u64 = 1 << 10;
pub(super) const MIB: u64 = 1 << 20;
pub(super) const GIB: u64 = 1 << 30;

/// The parent of a key path (`apps[0].name` → `apps[0]`, `apps[0]` → `apps`, `apps` → ``).
pub(super) fn parent(path: &str) -> &str {
    match path.rfind(['.', '[']) {
        Some(i) => path.get(..i).unwrap_or(""),
        None => "",
    }
}

/// Edit distance, for "did you mean" on unknown keys.
pub(super) fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1];
        for (j, &cb) in b.iter().enumerate() {
            let sub = prev.get(j).copied().unwrap_or(0) + usize::from(ca != cb);
            let del = prev.get(j + 1).copied().unwrap_or(0) + 1;
            let ins = cur.get(j).copied().unwrap_or(0) + 1;
            cur.push(sub.min(del).min(ins));
        }
        prev = cur;
    }
    prev.last().copied().unwrap_or(0)
}

/// A number with its binary-unit reading when that is exact: `16777216 (16 MiB)`.
pub(super) fn show_size(n: u64) -> String {
    for (unit, name) in [(GIB, "GiB"), (MIB, "MiB"), (KIB, "KiB")] {
        if n >= unit && n.is_multiple_of(unit) {
            return format!("{n} ({} {name})", n / unit);
        }
    }
    n.to_string()
}

pub(super) fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "true/false",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// An object being read: its path and members.
pub(super) struct Obj<'v> {
    pub(super) path: String,
    pub(super) map: &'v Map<String, Value>,
}

impl<'v> Obj<'v> {
    pub(super) fn get(&self, key: &str) -> Option<(String, &'v Value)> {
        self.map.get(key).map(|v| (key_path(&self.path, key), v))
    }
}

impl Validator<'_> {
    pub(super) fn type_err(&mut self, path: &str, v: &Value, expected: &str) {
        let hint = match v {
            Value::String(s) if s == "true" || s == "false" => {
                Some(format!("write {s} without quotes"))
            }
            Value::String(s) if s.parse::<f64>().is_ok() => {
                Some(format!("write {s} without quotes"))
            }
            _ => None,
        };
        self.err(
            path,
            Some(v),
            format!("expected {expected}, found {}", kind(v)),
            hint,
        );
    }

    pub(super) fn object<'v>(
        &mut self,
        path: &str,
        v: &'v Value,
        known: &[&str],
    ) -> Option<Obj<'v>> {
        let Value::Object(map) = v else {
            self.type_err(path, v, "an object");
            return None;
        };
        for key in map.keys() {
            if known.contains(&key.as_str()) {
                continue;
            }
            let kp = key_path(path, key);
            let guess = known
                .iter()
                .map(|k| (distance(&key.to_ascii_lowercase(), k), *k))
                .filter(|&(d, _)| d <= 2)
                .min();
            let hint = match guess {
                Some((_, k)) => format!("did you mean \"{k}\"?"),
                None => format!("known keys here: {}", known.join(", ")),
            };
            let pos = self.idx.key(&kp).or_else(|| self.pos_of(path));
            self.push_err(&kp, pos, None, format!("unknown key \"{key}\""), Some(hint));
        }
        Some(Obj {
            path: path.to_owned(),
            map,
        })
    }

    pub(super) fn array<'v>(&mut self, path: &str, v: &'v Value) -> Option<&'v [Value]> {
        match v {
            Value::Array(a) => Some(a),
            _ => {
                self.type_err(path, v, "an array");
                None
            }
        }
    }

    pub(super) fn uint(&mut self, path: &str, v: &Value, min: u64, max: u64) -> Option<u64> {
        let Value::Number(n) = v else {
            self.type_err(path, v, "a whole number");
            return None;
        };
        match n.as_u64() {
            Some(x) if (min..=max).contains(&x) => Some(x),
            _ => {
                self.err(
                    path,
                    Some(v),
                    format!(
                        "out of range: must be a whole number from {} to {}",
                        show_size(min),
                        show_size(max)
                    ),
                    None,
                );
                None
            }
        }
    }

    pub(super) fn float(&mut self, path: &str, v: &Value, min: f64, max: f64) -> Option<f64> {
        let Some(x) = v.as_f64() else {
            self.type_err(path, v, "a number");
            return None;
        };
        if (min..=max).contains(&x) {
            Some(x)
        } else {
            self.err(
                path,
                Some(v),
                format!("out of range: must be from {min} to {max}"),
                None,
            );
            None
        }
    }

    pub(super) fn boolean(&mut self, path: &str, v: &Value) -> Option<bool> {
        match v {
            Value::Bool(b) => Some(*b),
            _ => {
                self.type_err(path, v, "true or false");
                None
            }
        }
    }

    /// A string without NUL bytes (C apps see every string through `rs_get_conf`).
    pub(super) fn string<'v>(&mut self, path: &str, v: &'v Value) -> Option<&'v str> {
        match v {
            Value::String(s) if s.contains('\0') => {
                self.err(path, Some(v), "contains a NUL character", None);
                None
            }
            Value::String(s) => Some(s),
            _ => {
                self.type_err(path, v, "a string");
                None
            }
        }
    }

    /// An optional integer key with its range and default.
    pub(super) fn opt_uint(&mut self, o: &Obj<'_>, key: &str, range: Range, default: u64) -> u64 {
        match o.get(key) {
            Some((p, v)) => self.uint(&p, v, range.min, range.max).unwrap_or(default),
            None => default,
        }
    }

    /// [`opt_uint`](Self::opt_uint) for a key whose range fits in `u32`.
    pub(super) fn opt_u32(&mut self, o: &Obj<'_>, key: &str, range: Range, default: u32) -> u32 {
        u32::try_from(self.opt_uint(o, key, range, default.into())).unwrap_or(u32::MAX)
    }

    /// An optional key in whole seconds.
    pub(super) fn opt_secs(
        &mut self,
        o: &Obj<'_>,
        key: &str,
        range: Range,
        default: Duration,
    ) -> Duration {
        Duration::from_secs(self.opt_uint(o, key, range, default.as_secs()))
    }

    pub(super) fn opt_bool(&mut self, o: &Obj<'_>, key: &str) -> bool {
        match o.get(key) {
            Some((p, v)) => self.boolean(&p, v).unwrap_or(false),
            None => false,
        }
    }

    /// A path key: a non-empty string, made absolute against the base directory.
    pub(super) fn path(&mut self, path: &str, v: &Value) -> Option<PathBuf> {
        let s = self.string(path, v)?;
        if s.is_empty() {
            self.err(path, Some(v), "the path is empty", None);
            return None;
        }
        let joined = self.base_dir.join(s);
        Some(std::path::absolute(&joined).unwrap_or(joined))
    }

    /// A non-empty array at `path`.
    pub(super) fn nonempty_array<'v>(
        &mut self,
        path: &str,
        v: &'v Value,
        hint: &str,
    ) -> &'v [Value] {
        let items = self.array(path, v).unwrap_or_default();
        if items.is_empty() && matches!(v, Value::Array(_)) {
            self.err(
                path,
                None,
                "must list at least one element",
                Some(hint.to_owned()),
            );
        }
        items
    }
}
