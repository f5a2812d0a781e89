//! A position index: the line and column of every key and value in the (comment-stripped)
//! JSON text, by key path.
//!
//! serde_json's `Value` keeps no positions (its errors have them only for syntax and type
//! errors while parsing), so after serde_json accepted the text we walk its tokens once more and
//! record where each path starts. The walk is lenient (it never fails, it stops at anything
//! unexpected) because serde_json already rejected malformed text.

use std::collections::HashMap;
use std::iter::Peekable;
use std::str::Chars;

use super::error::Pos;

/// The path of a key inside an object at `parent` (`ports`, `apps[0].name`). Keys that are not
/// plain identifiers are quoted, so a path always reads unambiguously.
pub(crate) fn key_path(parent: &str, key: &str) -> String {
    let plain = !key.is_empty() && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    let key = if plain {
        key.to_owned()
    } else {
        serde_json::Value::from(key).to_string()
    };
    if parent.is_empty() {
        key
    } else {
        format!("{parent}.{key}")
    }
}

/// The path of element `i` of the array at `parent` (`apps[1]`).
pub(crate) fn index_path(parent: &str, i: usize) -> String {
    format!("{parent}[{i}]")
}

#[derive(Debug, Clone, Copy)]
struct Entry {
    /// Where the key's string starts (`None` for array elements and the root).
    key: Option<Pos>,
    /// Where the value starts.
    value: Pos,
}

/// Positions by key path, plus the keys that an object repeats.
#[derive(Debug, Default)]
pub(crate) struct PosIndex {
    entries: HashMap<String, Entry>,
    /// `(path, position of the repeated key)` for every key seen twice in one object.
    pub duplicates: Vec<(String, Pos)>,
}

impl PosIndex {
    /// Indexes `text`, which serde_json has accepted.
    pub fn build(text: &str) -> Self {
        let mut walker = Walker {
            chars: text.chars().peekable(),
            pos: Pos { line: 1, column: 1 },
            index: Self::default(),
        };
        walker.value(String::new(), None);
        walker.index
    }

    /// Where the value at `path` starts.
    pub fn value(&self, path: &str) -> Option<Pos> {
        self.entries.get(path).map(|e| e.value)
    }

    /// Where the key of `path` starts (the value for array elements).
    pub fn key(&self, path: &str) -> Option<Pos> {
        self.entries.get(path).map(|e| e.key.unwrap_or(e.value))
    }
}

struct Walker<'a> {
    chars: Peekable<Chars<'a>>,
    pos: Pos,
    index: PosIndex,
}

impl Walker<'_> {
    fn bump(&mut self) -> Option<char> {
        let c = self.chars.next()?;
        if c == '\n' {
            self.pos.line += 1;
            self.pos.column = 1;
        } else {
            self.pos.column += 1;
        }
        Some(c)
    }

    fn skip_ws(&mut self) {
        while matches!(self.chars.peek(), Some(c) if c.is_whitespace()) {
            self.bump();
        }
    }

    /// Reads a string starting at its opening quote and returns its unescaped contents.
    fn string(&mut self) -> String {
        let mut raw = String::from('"');
        self.bump();
        while let Some(c) = self.bump() {
            raw.push(c);
            match c {
                '\\' => {
                    if let Some(e) = self.bump() {
                        raw.push(e);
                    }
                }
                '"' => break,
                _ => {}
            }
        }
        // serde_json accepted this text, so the string parses; fall back to the raw text anyway.
        serde_json::from_str(&raw).unwrap_or(raw)
    }

    /// Indexes one value at `path`; returns false when the text ended or surprised us.
    fn value(&mut self, path: String, key: Option<Pos>) -> bool {
        self.skip_ws();
        let value = self.pos;
        let first = self.chars.peek().copied();
        if let Some(old) = self
            .index
            .entries
            .insert(path.clone(), Entry { key, value })
        {
            // A repeated key: serde_json keeps the last value; report the repetition but keep
            // the first position for the path so both are named.
            self.index
                .duplicates
                .push((path.clone(), key.unwrap_or(value)));
            self.index.entries.insert(path.clone(), old);
        }
        match first {
            Some('{') => {
                self.bump();
                loop {
                    self.skip_ws();
                    match self.chars.peek() {
                        Some('}') => {
                            self.bump();
                            return true;
                        }
                        Some('"') => {}
                        _ => return false,
                    }
                    let key_pos = self.pos;
                    let name = self.string();
                    self.skip_ws();
                    if self.bump() != Some(':') {
                        return false;
                    }
                    if !self.value(key_path(&path, &name), Some(key_pos)) {
                        return false;
                    }
                    self.skip_ws();
                    match self.bump() {
                        Some(',') => {}
                        Some('}') => return true,
                        _ => return false,
                    }
                }
            }
            Some('[') => {
                self.bump();
                let mut i = 0;
                loop {
                    self.skip_ws();
                    if self.chars.peek() == Some(&']') {
                        self.bump();
                        return true;
                    }
                    if !self.value(index_path(&path, i), None) {
                        return false;
                    }
                    i += 1;
                    self.skip_ws();
                    match self.bump() {
                        Some(',') => {}
                        Some(']') => return true,
                        _ => return false,
                    }
                }
            }
            Some('"') => {
                self.string();
                true
            }
            Some(_) => {
                // A number or literal: up to the next delimiter.
                while matches!(self.chars.peek(), Some(c) if !c.is_whitespace() && !matches!(c, ',' | ']' | '}'))
                {
                    self.bump();
                }
                true
            }
            None => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(line: usize, column: usize) -> Option<Pos> {
        Some(Pos { line, column })
    }

    #[test]
    fn indexes_keys_values_and_elements() {
        let text = "{\n  \"ports\": [{\"port_number\": 80}],\n  \"a b\": \"x\\\"y\"\n}";
        let idx = PosIndex::build(text);
        assert_eq!(idx.value(""), p(1, 1));
        assert_eq!(idx.key("ports"), p(2, 3));
        assert_eq!(idx.value("ports"), p(2, 12));
        assert_eq!(idx.value("ports[0]"), p(2, 13));
        assert_eq!(idx.key("ports[0].port_number"), p(2, 14));
        assert_eq!(idx.value("ports[0].port_number"), p(2, 29));
        assert_eq!(idx.key("\"a b\""), p(3, 3));
        assert!(idx.duplicates.is_empty());
    }

    #[test]
    fn finds_repeated_keys() {
        let idx = PosIndex::build("{\"a\": 1,\n \"a\": 2}");
        assert_eq!(
            idx.duplicates,
            vec![("a".to_owned(), Pos { line: 2, column: 2 })]
        );
        assert_eq!(idx.key("a"), p(1, 2));
    }

    #[test]
    fn escaped_keys_are_unescaped() {
        let idx = PosIndex::build(r#"{"p\u006frts": 1}"#);
        assert_eq!(idx.key("ports"), p(1, 2));
    }
}
