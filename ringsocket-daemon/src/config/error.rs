//! Diagnostics: errors and warnings that name the file, the line and column, the key path and
//! the offending value, e.g.
//!
//! ```text
//! ringsocket.json:12:5: apps[0].endpoints[1].url: "wss://x:9000/a": port 9000 is not configured; add {"port_number": 9000} to "ports"
//! ringsocket.json:20:7: warning: apps[0].endpoints[0]: "allowed_origins" is omitted, so pages from any origin may connect; ...
//! ```

use std::fmt;

/// A 1-based line and column (in characters) in the configuration file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Pos {
    /// Line, from 1.
    pub line: usize,
    /// Column in characters, from 1.
    pub column: usize,
}

/// One diagnostic: where, which key, what value, what is wrong, and how to fix it if obvious.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// The file's name as given (or the `origin_name` of [`Config::from_str`](super::Config::from_str)).
    pub origin: String,
    /// Where in the file, when known (not for a file that cannot be read at all).
    pub pos: Option<Pos>,
    /// The key path, e.g. `apps[1].endpoints[0].url`; empty for the whole file.
    pub path: String,
    /// The offending value as JSON (scalars only, shortened), when there is one.
    pub value: Option<String>,
    /// What is wrong.
    pub message: String,
    /// The fix, when obvious.
    pub hint: Option<String>,
}

impl Diagnostic {
    /// Sort key: file position (none first), then path.
    pub fn sort_key(&self) -> (Option<Pos>, &str) {
        (self.pos, &self.path)
    }

    fn fmt_with(&self, f: &mut fmt::Formatter<'_>, tag: &str) -> fmt::Result {
        write!(f, "{}:", self.origin)?;
        if let Some(p) = self.pos {
            write!(f, "{}:{}:", p.line, p.column)?;
        }
        write!(f, " {tag}")?;
        if !self.path.is_empty() {
            write!(f, "{}: ", self.path)?;
        }
        if let Some(v) = &self.value {
            write!(f, "{v}: ")?;
        }
        f.write_str(&self.message)?;
        if let Some(h) = &self.hint {
            write!(f, "; {h}")?;
        }
        Ok(())
    }
}

/// A configuration error: the daemon refuses to start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError(pub Diagnostic);

/// A configuration warning: valid, but probably not what was meant (printed by `--check` and
/// logged at startup).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Warning(pub Diagnostic);

impl fmt::Display for ConfigError {
    /// `FILE:LINE:COL: PATH: VALUE: MESSAGE[; HINT]`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt_with(f, "")
    }
}

impl fmt::Display for Warning {
    /// `FILE:LINE:COL: warning: PATH: MESSAGE[; HINT]`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt_with(f, "warning: ")
    }
}

impl std::error::Error for ConfigError {}

/// Every error found (at least one), plus the warnings found alongside them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigErrors {
    /// The errors, in file order.
    pub errors: Vec<ConfigError>,
    /// The warnings, in file order.
    pub warnings: Vec<Warning>,
}

impl fmt::Display for ConfigErrors {
    /// One error per line.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.errors.iter().enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigErrors {}

/// Renders a scalar JSON value for a message (`None` for arrays and objects), shortened.
pub(crate) fn show_value(v: &serde_json::Value) -> Option<String> {
    use serde_json::Value;
    let s = match v {
        Value::Array(_) | Value::Object(_) => return None,
        other => other.to_string(),
    };
    const MAX: usize = 100;
    if s.chars().count() > MAX {
        let short: String = s.chars().take(MAX).collect();
        Some(format!("{short}…"))
    } else {
        Some(s)
    }
}
