//! The validator: walks the parsed `Value` key by key, applies defaults and ranges, checks the
//! cross-references and the environment, and collects every error with its key path and
//! position.
//!
//! This module holds the walk's state and its diagnostics; [`values`] reads typed values, and
//! each section of the file has its own module ([`globals`], [`ports`], [`certs`], [`apps`],
//! [`endpoints`], [`admin`]), then [`cross`] checks the rules between sections and
//! [`environment`] what the machine must provide.

mod admin;
mod apps;
mod certs;
mod compression;
mod cross;
mod endpoints;
mod environment;
mod globals;
mod ports;
mod values;

use std::path::PathBuf;

use serde_json::Value;

use super::error::{ConfigError, ConfigErrors, Diagnostic, Pos, Warning, show_value};
use super::index::PosIndex;
use super::strip::{UnterminatedComment, strip_comments};
use super::{Config, LoadOptions, Loaded};
use crate::settings::Settings;
use values::{kind, parent};

/// The sections of the root object besides the global keys ([`Settings::KEYS`]), in the
/// order "known keys here" lists them: the lists first, `admin` last.
const ROOT_LISTS: [&str; 3] = ["ports", "certs", "apps"];
const ROOT_ADMIN: &str = "admin";

/// Strips, parses, indexes and validates `text`.
pub(crate) fn load_text(
    text: &str,
    origin: &str,
    options: &LoadOptions,
) -> Result<Loaded, ConfigErrors> {
    let fail = |pos: Pos, message: String, hint: Option<&str>| ConfigErrors {
        errors: vec![ConfigError(Diagnostic {
            origin: origin.to_owned(),
            pos: Some(pos),
            path: String::new(),
            value: None,
            message,
            hint: hint.map(str::to_owned),
        })],
        warnings: Vec::new(),
    };
    let stripped = strip_comments(text).map_err(|UnterminatedComment(pos)| {
        fail(
            pos,
            "unterminated /* comment".into(),
            Some("close it with */"),
        )
    })?;
    let value: Value = serde_json::from_str(&stripped).map_err(|e| {
        // serde_json appends " at line L column C"; the position goes in front instead.
        let full = e.to_string();
        let suffix = format!(" at line {} column {}", e.line(), e.column());
        let message = full.strip_suffix(&suffix).unwrap_or(&full).to_owned();
        let hint = match e.classify() {
            serde_json::error::Category::Eof => {
                Some("a closing bracket, brace or quote is probably missing")
            }
            _ if message.contains("trailing comma") => {
                Some("JSON allows no comma after the last element")
            }
            _ => None,
        };
        let pos = Pos {
            line: e.line().max(1),
            column: e.column().max(1),
        };
        fail(pos, format!("invalid JSON: {message}"), hint)
    })?;
    let base_dir = match &options.base_dir {
        Some(dir) => dir.clone(),
        None => std::env::current_dir().unwrap_or_else(|_| PathBuf::from(".")),
    };
    let mut v = Validator {
        origin,
        idx: PosIndex::build(&stripped),
        options,
        base_dir,
        errors: Vec::new(),
        warnings: Vec::new(),
    };
    for (path, pos) in std::mem::take(&mut v.idx.duplicates) {
        v.push_err(
            &path,
            Some(pos),
            None,
            "this key is repeated in its object".into(),
            Some("remove one of them (only the last would count)".into()),
        );
    }
    let config = v.root(&value);
    v.errors.sort_by(|a, b| a.0.sort_key().cmp(&b.0.sort_key()));
    v.warnings
        .sort_by(|a, b| a.0.sort_key().cmp(&b.0.sort_key()));
    match config {
        Some(config) if v.errors.is_empty() => Ok((config, v.warnings)),
        _ => Err(ConfigErrors {
            errors: v.errors,
            warnings: v.warnings,
        }),
    }
}

struct Validator<'a> {
    origin: &'a str,
    idx: PosIndex,
    options: &'a LoadOptions,
    base_dir: PathBuf,
    errors: Vec<ConfigError>,
    warnings: Vec<Warning>,
}

impl Validator<'_> {
    /// Where `path` starts, or its nearest ancestor that exists (for missing keys).
    fn pos_of(&self, path: &str) -> Option<Pos> {
        let mut p = path;
        loop {
            if let Some(pos) = self.idx.value(p) {
                return Some(pos);
            }
            if p.is_empty() {
                return None;
            }
            p = parent(p);
        }
    }

    fn diag(
        &self,
        path: &str,
        pos: Option<Pos>,
        value: Option<&Value>,
        message: String,
        hint: Option<String>,
    ) -> Diagnostic {
        Diagnostic {
            origin: self.origin.to_owned(),
            pos,
            path: path.to_owned(),
            value: value.and_then(show_value),
            message,
            hint,
        }
    }

    fn push_err(
        &mut self,
        path: &str,
        pos: Option<Pos>,
        value: Option<&Value>,
        message: String,
        hint: Option<String>,
    ) {
        let d = self.diag(path, pos, value, message, hint);
        self.errors.push(ConfigError(d));
    }

    /// An error about the value at `path`.
    fn err(
        &mut self,
        path: &str,
        value: Option<&Value>,
        message: impl Into<String>,
        hint: Option<String>,
    ) {
        let pos = self.pos_of(path);
        self.push_err(path, pos, value, message.into(), hint);
    }

    /// A warning about the value at `path`.
    fn warn(&mut self, path: &str, message: impl Into<String>, hint: Option<String>) {
        let d = self.diag(path, self.pos_of(path), None, message.into(), hint);
        self.warnings.push(Warning(d));
    }

    fn missing(&mut self, path: &str, hint: &str) {
        let pos = self.pos_of(path);
        self.push_err(
            path,
            pos,
            None,
            "missing (required)".into(),
            Some(hint.to_owned()),
        );
    }

    fn root(&mut self, v: &Value) -> Option<Config> {
        let Value::Object(_) = v else {
            self.err(
                "",
                None,
                format!("the configuration must be a JSON object, found {}", kind(v)),
                Some("write { \"ports\": [...], \"apps\": [...] }".into()),
            );
            return None;
        };
        let known: Vec<&str> = ROOT_LISTS
            .into_iter()
            .chain(Settings::KEYS.iter().copied())
            .chain([ROOT_ADMIN])
            .collect();
        let o = self.object("", v, &known)?;
        let settings = self.settings(&o);
        let ports = match o.get("ports") {
            Some((p, v)) => self.ports(&p, v),
            None => {
                self.missing("ports", "add \"ports\": [{\"port_number\": 443}]");
                Vec::new()
            }
        };
        let (certs, certs_ok) = match o.get("certs") {
            Some((p, v)) => self.certs(&p, v),
            None => (Vec::new(), true),
        };
        let mut endpoint_refs = Vec::new();
        let apps = match o.get("apps") {
            Some((p, v)) => self.apps(&p, v, settings.update_queue_size, &mut endpoint_refs),
            None => {
                self.missing(
                    "apps",
                    "add \"apps\": [{\"name\": ..., \"app_path\": ..., \"endpoints\": [...]}]",
                );
                Vec::new()
            }
        };
        self.cross_check(&ports, &certs, certs_ok, &endpoint_refs);
        let admin = match o.get(ROOT_ADMIN) {
            Some((p, v)) => self.admin(&p, v, &ports),
            None => None,
        };
        self.check_fd_limit(&o, settings.fd_alloc_c);
        if self.options.check_files {
            self.check_run_user(settings.user.as_deref(), &certs);
        }
        Some(Config {
            ports: ports.into_iter().map(|(_, p)| p).collect(),
            certs,
            apps,
            settings,
            admin,
        })
    }
}
