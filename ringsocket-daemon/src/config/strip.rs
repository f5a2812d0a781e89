//! Comment stripping that keeps every line and column where it was.
//!
//! `//` line comments and `/* */` block comments become spaces (one per character, newlines
//! kept), so the stripped text is plain JSON whose positions are those of the file: serde_json's
//! syntax errors and our own position index then point at the user's real lines. Comment markers
//! inside strings are string content, not comments.

use super::error::Pos;

/// An unterminated `/*` comment: where it starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct UnterminatedComment(pub Pos);

/// Returns `text` with comments replaced by spaces (and a leading byte-order mark by one space).
pub(crate) fn strip_comments(text: &str) -> Result<String, UnterminatedComment> {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    let mut pos = Pos { line: 1, column: 1 };
    // One step of the scanner: `c` was consumed; keep `pos` on the next character.
    fn advance(pos: &mut Pos, c: char) {
        if c == '\n' {
            pos.line += 1;
            pos.column = 1;
        } else {
            pos.column += 1;
        }
    }
    if chars.peek() == Some(&'\u{feff}') {
        chars.next();
        out.push(' ');
        pos.column += 1;
    }
    while let Some(c) = chars.next() {
        match c {
            '"' => {
                // A string: copy verbatim up to the closing quote, skipping escaped characters
                // (so `\"` does not end it). An unterminated string is left to serde_json.
                out.push(c);
                advance(&mut pos, c);
                while let Some(s) = chars.next() {
                    out.push(s);
                    advance(&mut pos, s);
                    match s {
                        '\\' => {
                            if let Some(e) = chars.next() {
                                out.push(e);
                                advance(&mut pos, e);
                            }
                        }
                        '"' => break,
                        _ => {}
                    }
                }
            }
            '/' if chars.peek() == Some(&'/') => {
                // A line comment: blank up to (not including) the newline.
                out.push(' ');
                advance(&mut pos, c);
                while let Some(&n) = chars.peek() {
                    if n == '\n' {
                        break;
                    }
                    chars.next();
                    out.push(if n == '\r' { '\r' } else { ' ' });
                    advance(&mut pos, n);
                }
            }
            '/' if chars.peek() == Some(&'*') => {
                let start = pos;
                chars.next();
                out.push_str("  ");
                pos.column += 2;
                let mut closed = false;
                while let Some(n) = chars.next() {
                    if n == '*' && chars.peek() == Some(&'/') {
                        chars.next();
                        out.push_str("  ");
                        pos.column += 2;
                        closed = true;
                        break;
                    }
                    // Keep line breaks so that later lines keep their numbers.
                    out.push(if n == '\n' || n == '\r' { n } else { ' ' });
                    advance(&mut pos, n);
                }
                if !closed {
                    return Err(UnterminatedComment(start));
                }
            }
            _ => {
                out.push(c);
                advance(&mut pos, c);
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strip(s: &str) -> String {
        match strip_comments(s) {
            Ok(t) => t,
            Err(e) => panic!("unexpected {e:?}"),
        }
    }

    #[test]
    fn line_and_block_comments_become_spaces() {
        assert_eq!(strip("{} // x\n1"), "{}     \n1");
        assert_eq!(strip("[1, /* a\nb */ 2]"), "[1,     \n     2]");
        assert_eq!(strip("/**/1"), "    1");
        assert_eq!(strip("/* ** / */1"), "          1");
    }

    #[test]
    fn positions_are_kept() {
        let text = "// héllo\n/* ünïcode\n */ {\"a\": 1}";
        let stripped = strip(text);
        assert_eq!(stripped.lines().count(), text.lines().count());
        for (a, b) in text.lines().zip(stripped.lines()) {
            assert_eq!(a.chars().count(), b.chars().count());
        }
    }

    #[test]
    fn markers_inside_strings_are_kept() {
        let text = r#"{"url": "ws://h/a//b", "c": "/* not */", "d": "x\"//y"}"#;
        assert_eq!(strip(text), text);
        // An escaped backslash before the quote ends the string; the comment after it is one.
        assert_eq!(strip(r#"["a\\"// c"#), r#"["a\\"    "#);
    }

    #[test]
    fn lone_slash_is_left_for_serde_json() {
        assert_eq!(strip("1 / 2"), "1 / 2");
        assert_eq!(strip("1 /"), "1 /");
    }

    #[test]
    fn crlf_and_bom() {
        assert_eq!(strip("1 // c\r\n2"), "1     \r\n2");
        assert_eq!(strip("\u{feff}{}"), " {}");
    }

    #[test]
    fn unterminated_block_comment_names_its_start() {
        assert_eq!(
            strip_comments("{\n  /* open\n\n"),
            Err(UnterminatedComment(Pos { line: 2, column: 3 }))
        );
        assert_eq!(
            strip_comments("/*/"),
            Err(UnterminatedComment(Pos { line: 1, column: 1 }))
        );
    }

    #[test]
    fn unterminated_string_is_left_for_serde_json() {
        assert_eq!(strip("\"abc // x"), "\"abc // x");
    }
}
