//! The head scanner shared by the request and the response parser (RFC 7230 §3), and the
//! zero-copy header views.

use core::fmt;

use super::{Limits, StatusCode};

/// Why a head could not be parsed (RFC 7230 §3). Answered with 400, or 431 for the
/// [`Limits`]. After an error the parser must be [reset](super::RequestParser::reset) before
/// reuse.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ParseError {
    /// The head is longer than [`Limits::max_head_len`] (RFC 6585 §5). 431.
    HeadTooLarge,
    /// More header lines than [`Limits::max_headers`] (RFC 6585 §5). 431.
    TooManyHeaders,
    /// The request line (RFC 7230 §3.1.1) or status line (§3.1.2) is malformed. 400.
    InvalidStartLine,
    /// A header line has no colon (RFC 7230 §3.2). 400.
    MissingColon,
    /// A header name is empty or not a token, e.g. whitespace before the colon
    /// (RFC 7230 §3.2.4). 400.
    InvalidHeaderName,
    /// A header line starts with whitespace: obsolete line folding (RFC 7230 §3.2.4). 400.
    ObsoleteLineFolding,
    /// A control character other than HTAB, or a CR not followed by LF (RFC 7230 §3.2). 400.
    ControlCharacter,
}

impl ParseError {
    /// The status to answer with.
    pub const fn status(&self) -> StatusCode {
        match self {
            Self::HeadTooLarge | Self::TooManyHeaders => {
                StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE
            }
            _ => StatusCode::BAD_REQUEST,
        }
    }
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::HeadTooLarge => "HTTP head too large",
            Self::TooManyHeaders => "too many HTTP header lines",
            Self::InvalidStartLine => "malformed HTTP start line",
            Self::MissingColon => "HTTP header line without a colon",
            Self::InvalidHeaderName => "invalid HTTP header name",
            Self::ObsoleteLineFolding => "obsolete HTTP line folding",
            Self::ControlCharacter => "control character in HTTP head",
        })
    }
}

impl core::error::Error for ParseError {}

impl From<ParseError> for StatusCode {
    fn from(e: ParseError) -> Self {
        e.status()
    }
}

const fn tchar_table() -> [bool; 256] {
    let mut table = [false; 256];
    let mut i = 0;
    while i < 256 {
        let b = i as u8;
        table[i] = b.is_ascii_alphanumeric()
            || matches!(
                b,
                b'!' | b'#'
                    | b'$'
                    | b'%'
                    | b'&'
                    | b'\''
                    | b'*'
                    | b'+'
                    | b'-'
                    | b'.'
                    | b'^'
                    | b'_'
                    | b'`'
                    | b'|'
                    | b'~'
            );
        i += 1;
    }
    table
}

static TCHAR: [bool; 256] = tchar_table();

/// Whether `s` is a non-empty token (RFC 7230 §3.2.6).
pub fn is_token(s: &[u8]) -> bool {
    // A branch-free fold: names are short, so the loop exit is the only branch that matters.
    !s.is_empty() && s.iter().fold(true, |ok, &b| ok & TCHAR[usize::from(b)])
}

/// Whether `v` may be sent as a header value: no control characters but HTAB, so no CR or LF
/// to inject lines (RFC 7230 §3.2).
pub(super) fn is_field_value(v: &[u8]) -> bool {
    !v.iter().any(|&b| is_special(b))
}

/// A line end or a byte no head may contain: a control character other than HTAB, or DEL.
#[inline(always)]
fn is_special(b: u8) -> bool {
    (b < 0x20) & (b != b'\t') | (b == 0x7f)
}

/// Position of the first [special](is_special) byte. In a valid head that is the CR or LF
/// ending the current line, so one pass both finds lines and rejects control characters.
///
/// Tests 8 bytes at a time (SWAR): `x - 0x20..` borrows into a byte's top bit only where a
/// byte is below 0x20 (or above such a byte), and likewise for `x ^ 0x7f..` and 0. HTAB is
/// flagged as below 0x20, so a word whose first flag is HTAB is searched byte by byte.
#[inline]
fn find_special(s: &[u8]) -> Option<usize> {
    let mut words = s.chunks_exact(8);
    let mut offset = 0;
    for word in &mut words {
        let x = load(word);
        let control = x.wrapping_sub(ONES * 0x20) & !x;
        let del = (x ^ (ONES * 0x7f)).wrapping_sub(ONES) & !(x ^ (ONES * 0x7f));
        let flagged = (control | del) & HIGH;
        if flagged != 0 {
            // Borrows only propagate upwards, so the lowest flag is exact.
            let first = (flagged.trailing_zeros() / 8) as usize;
            if word.get(first) != Some(&b'\t') {
                return Some(offset + first);
            }
            if let Some(i) = word.iter().position(|&b| is_special(b)) {
                return Some(offset + i);
            }
        }
        offset += 8;
    }
    words
        .remainder()
        .iter()
        .position(|&b| is_special(b))
        .map(|i| offset + i)
}

/// Position of the first `needle` in `s`, 8 bytes at a time like [`find_special`]: `x ^ needle`
/// has a zero byte exactly where `needle` is, and the lowest borrow marks the first one.
#[inline]
pub(super) fn find_byte(s: &[u8], needle: u8) -> Option<usize> {
    let pattern = ONES * u64::from(needle);
    let mut words = s.chunks_exact(8);
    let mut offset = 0;
    for word in &mut words {
        let x = load(word) ^ pattern;
        let found = x.wrapping_sub(ONES) & !x & HIGH;
        if found != 0 {
            return Some(offset + (found.trailing_zeros() / 8) as usize);
        }
        offset += 8;
    }
    words
        .remainder()
        .iter()
        .position(|&b| b == needle)
        .map(|i| offset + i)
}

const ONES: u64 = 0x0101_0101_0101_0101;
const HIGH: u64 = 0x8080_8080_8080_8080;

/// Eight bytes as a little-endian word, so that the lowest byte comes first.
#[inline(always)]
fn load(word: &[u8]) -> u64 {
    // Callers pass 8-byte chunks, so the conversion always succeeds and compiles to one load.
    u64::from_le_bytes(word.try_into().unwrap_or_default())
}

/// Trims optional whitespace (SP and HTAB, RFC 7230 §3.2.3).
pub(super) fn trim_ows(s: &[u8]) -> &[u8] {
    let is_content = |b: &u8| !matches!(b, b' ' | b'\t');
    let Some(start) = s.iter().position(is_content) else {
        return &[];
    };
    let end = s.iter().rposition(is_content).map_or(start, |i| i + 1);
    s.get(start..end).unwrap_or_default()
}

/// A complete head, borrowed from the caller's buffer.
pub(super) struct Head<'a> {
    /// The start line without its line end.
    pub start_line: &'a [u8],
    /// The header lines.
    pub headers: Headers<'a>,
    /// Bytes in the head, blank line included.
    pub len: usize,
}

/// Incremental head scanning: finds and checks lines as bytes arrive, remembering how far it
/// got, so that feeding the head in any number of pieces costs O(n) in all.
///
/// Lines end in CRLF; a bare LF is accepted too (RFC 7230 §3.5), a bare CR is not.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Scanner {
    /// Bytes before this are checked; scanning resumes here.
    pos: usize,
    /// Start of the line being scanned.
    line_start: usize,
    /// End of the start line, before its line end.
    start_line_end: usize,
    /// Where the header lines begin; 0 while the start line is incomplete.
    headers_start: usize,
    /// Complete header lines so far.
    headers: usize,
}

impl Scanner {
    pub(super) const fn new() -> Self {
        Self {
            pos: 0,
            line_start: 0,
            start_line_end: 0,
            headers_start: 0,
            headers: 0,
        }
    }

    /// Scans `buf`, which must begin with the bytes given to earlier calls (a shorter one
    /// restarts the scan). `Ok(None)`: more bytes are needed. Once complete, further calls
    /// return the same head.
    pub(super) fn scan<'a>(
        &mut self,
        buf: &'a [u8],
        limits: &Limits,
        check_start_line: fn(&[u8]) -> bool,
    ) -> Result<Option<Head<'a>>, ParseError> {
        if buf.len() < self.pos {
            *self = Self::new();
        }
        // Bytes past the limit are never looked at.
        let window = buf.get(..limits.max_head_len).unwrap_or(buf);
        loop {
            let rest = window.get(self.pos..).unwrap_or_default();
            let Some(i) = find_special(rest) else {
                self.pos = window.len();
                return Self::more(buf, limits);
            };
            let at = self.pos + i;
            let next = match rest.get(i) {
                Some(b'\n') => at + 1,
                Some(b'\r') => match window.get(at + 1) {
                    Some(b'\n') => at + 2,
                    Some(_) => return Err(ParseError::ControlCharacter),
                    None => {
                        // Resume at the CR once its LF may have arrived.
                        self.pos = at;
                        return Self::more(buf, limits);
                    }
                },
                _ => return Err(ParseError::ControlCharacter),
            };
            let line = window.get(self.line_start..at).unwrap_or_default();
            if self.headers_start == 0 {
                if !check_start_line(line) {
                    return Err(ParseError::InvalidStartLine);
                }
                self.start_line_end = at;
                self.headers_start = next;
            } else if line.is_empty() {
                // `pos` stays on the blank line, so a repeated call finds the same end.
                return Ok(Some(Head {
                    start_line: buf.get(..self.start_line_end).unwrap_or_default(),
                    headers: Headers {
                        block: buf
                            .get(self.headers_start..self.line_start)
                            .unwrap_or_default(),
                        count: self.headers,
                    },
                    len: next,
                }));
            } else {
                check_header_line(line)?;
                self.headers += 1;
                if self.headers > limits.max_headers {
                    return Err(ParseError::TooManyHeaders);
                }
            }
            self.pos = next;
            self.line_start = next;
        }
    }

    /// The head is incomplete: fine while it may still end within the limit.
    fn more<'a>(buf: &[u8], limits: &Limits) -> Result<Option<Head<'a>>, ParseError> {
        if buf.len() >= limits.max_head_len {
            Err(ParseError::HeadTooLarge)
        } else {
            Ok(None)
        }
    }
}

/// `name ":" OWS value OWS` (RFC 7230 §3.2); the value was already checked for control
/// characters by the scan.
fn check_header_line(line: &[u8]) -> Result<(), ParseError> {
    if let [b' ' | b'\t', ..] = line {
        return Err(ParseError::ObsoleteLineFolding);
    }
    let colon = find_byte(line, b':').ok_or(ParseError::MissingColon)?;
    if is_token(line.get(..colon).unwrap_or_default()) {
        Ok(())
    } else {
        Err(ParseError::InvalidHeaderName)
    }
}

/// One header line: name and value, the value trimmed of optional whitespace
/// (RFC 7230 §3.2). Also what writers take for extra headers.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Header<'a> {
    /// The field name; compare it case-insensitively (RFC 7230 §3.2).
    pub name: &'a [u8],
    /// The field value.
    pub value: &'a [u8],
}

impl<'a> Header<'a> {
    /// A header line to write.
    pub const fn new(name: &'a [u8], value: &'a [u8]) -> Self {
        Self { name, value }
    }
}

impl fmt::Debug for Header<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: {}",
            self.name.escape_ascii(),
            self.value.escape_ascii()
        )
    }
}

/// The header lines of a parsed head, borrowed from the caller's buffer. Iterating re-splits
/// the already validated lines; nothing was copied or stored.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Headers<'a> {
    /// Validated header lines, each with its line end.
    block: &'a [u8],
    count: usize,
}

impl<'a> Headers<'a> {
    /// Number of header lines.
    pub fn len(&self) -> usize {
        self.count
    }

    /// Whether there are no header lines.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// All header lines in order.
    pub fn iter(&self) -> HeaderIter<'a> {
        HeaderIter { rest: self.block }
    }

    /// The value of the first header named `name` (case-insensitive).
    pub fn get(&self, name: &str) -> Option<&'a [u8]> {
        self.get_all(name).next()
    }

    /// The values of every header named `name` (case-insensitive), in order.
    pub fn get_all<'n>(&self, name: &'n str) -> GetAll<'a, 'n> {
        GetAll {
            iter: self.iter(),
            name: name.as_bytes(),
        }
    }

    /// The elements of the comma-separated list formed by every header named `name`
    /// (RFC 7230 §3.2.2, §7): split at commas, trimmed, empty elements skipped. Quoted strings
    /// are not understood, so use [`get_all`](Self::get_all) for headers that may hold them.
    pub fn get_list<'n>(&self, name: &'n str) -> ListValues<'a, 'n> {
        ListValues {
            lines: self.get_all(name),
            current: &[],
        }
    }
}

impl fmt::Debug for Headers<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

impl<'a> IntoIterator for Headers<'a> {
    type Item = Header<'a>;
    type IntoIter = HeaderIter<'a>;

    fn into_iter(self) -> HeaderIter<'a> {
        self.iter()
    }
}

impl<'a> IntoIterator for &Headers<'a> {
    type Item = Header<'a>;
    type IntoIter = HeaderIter<'a>;

    fn into_iter(self) -> HeaderIter<'a> {
        self.iter()
    }
}

/// Iterator over [`Headers`].
#[derive(Debug, Clone)]
pub struct HeaderIter<'a> {
    rest: &'a [u8],
}

impl<'a> HeaderIter<'a> {
    /// The next name and its value untrimmed, so that callers skipping most headers do not
    /// pay for trimming them.
    #[inline]
    pub(super) fn next_raw(&mut self) -> Option<(&'a [u8], &'a [u8])> {
        if self.rest.is_empty() {
            return None;
        }
        // The block was validated: every line is `name:value`, ending in LF with CR only
        // before it, and names hold no colon or LF. So one pass: colon, then LF.
        let colon = find_byte(self.rest, b':').unwrap_or(self.rest.len());
        let name = self.rest.get(..colon).unwrap_or_default();
        let after = self.rest.get(colon + 1..).unwrap_or_default();
        let (mut value, rest) = match find_byte(after, b'\n') {
            Some(i) => (
                after.get(..i).unwrap_or_default(),
                after.get(i + 1..).unwrap_or_default(),
            ),
            None => (after, &[][..]),
        };
        if let [content @ .., b'\r'] = value {
            value = content;
        }
        self.rest = rest;
        Some((name, value))
    }
}

impl<'a> Iterator for HeaderIter<'a> {
    type Item = Header<'a>;

    fn next(&mut self) -> Option<Header<'a>> {
        self.next_raw().map(|(name, value)| Header {
            name,
            value: trim_ows(value),
        })
    }
}

/// The values of the headers with one name; see [`Headers::get_all`].
#[derive(Debug, Clone)]
pub struct GetAll<'a, 'n> {
    iter: HeaderIter<'a>,
    name: &'n [u8],
}

impl<'a> Iterator for GetAll<'a, '_> {
    type Item = &'a [u8];

    fn next(&mut self) -> Option<&'a [u8]> {
        loop {
            let (name, value) = self.iter.next_raw()?;
            if name.eq_ignore_ascii_case(self.name) {
                return Some(trim_ows(value));
            }
        }
    }
}

/// The list elements of the headers with one name; see [`Headers::get_list`].
#[derive(Debug, Clone)]
pub struct ListValues<'a, 'n> {
    lines: GetAll<'a, 'n>,
    current: &'a [u8],
}

impl<'a> Iterator for ListValues<'a, '_> {
    type Item = &'a [u8];

    fn next(&mut self) -> Option<&'a [u8]> {
        loop {
            if self.current.is_empty() {
                self.current = self.lines.next()?;
            }
            let (element, rest) = split_list_element(self.current);
            self.current = rest;
            if !element.is_empty() {
                return Some(element);
            }
        }
    }
}

/// The first element of a comma-separated list, trimmed, and the rest after its comma.
pub(super) fn split_list_element(list: &[u8]) -> (&[u8], &[u8]) {
    match list.iter().position(|&b| b == b',') {
        Some(i) => (
            trim_ows(list.get(..i).unwrap_or_default()),
            list.get(i + 1..).unwrap_or_default(),
        ),
        None => (trim_ows(list), &[]),
    }
}

/// Whether the comma-separated `list` holds `token`, case-insensitively (RFC 7230 §6.1,
/// §6.7: `Connection` options and `Upgrade` protocols are case-insensitive).
pub(super) fn list_contains(mut list: &[u8], token: &[u8]) -> bool {
    while !list.is_empty() {
        let (element, rest) = split_list_element(list);
        if element.eq_ignore_ascii_case(token) {
            return true;
        }
        list = rest;
    }
    false
}

/// Whether every non-empty element of the comma-separated `list` is a token.
pub(super) fn list_all_tokens(mut list: &[u8]) -> bool {
    while !list.is_empty() {
        let (element, rest) = split_list_element(list);
        if !element.is_empty() && !is_token(element) {
            return false;
        }
        list = rest;
    }
    true
}

/// `HTTP/x.y` (RFC 7230 §2.6).
pub(super) fn parse_version(v: &[u8]) -> Option<(u8, u8)> {
    match v {
        [
            b'H',
            b'T',
            b'T',
            b'P',
            b'/',
            major @ b'0'..=b'9',
            b'.',
            minor @ b'0'..=b'9',
        ] => Some((major - b'0', minor - b'0')),
        _ => None,
    }
}
