//! Exact matching of host, origin and path against configured values. Never prefix matching:
//! `loc` must not match `localhost`, nor `http://localhost` match `http://localhost:8080`.

use core::fmt;

use super::head::find_byte;
use super::uri::is_reg_name_byte;

/// `host[:port]` split (RFC 3986 §3.2.2, §3.2.3).
#[derive(Debug, Clone, Copy)]
pub(super) struct Authority<'a> {
    pub host: &'a [u8],
    pub port: Option<u16>,
}

/// Parses `host[:port]` (RFC 7230 §5.4, RFC 3986 §3.2.2): a non-empty reg-name, IPv4 or
/// bracketed IP literal, and an optional port of 1 to 5 digits up to 65535. No userinfo, path
/// or anything else.
pub(super) fn parse_authority(s: &[u8]) -> Option<Authority<'_>> {
    let (host, after) = if let [b'[', ..] = s {
        let close = s.iter().position(|&b| b == b']')?;
        let inner = s.get(1..close)?;
        if inner.is_empty() || !inner.iter().all(|&b| is_reg_name_byte(b) || b == b':') {
            return None;
        }
        (s.get(..=close)?, s.get(close + 1..)?)
    } else {
        let end = find_byte(s, b':').unwrap_or(s.len());
        let host = s.get(..end)?;
        if host.is_empty() || !host.iter().all(|&b| is_reg_name_byte(b)) {
            return None;
        }
        (host, s.get(end..)?)
    };
    let port = match after {
        [] => None,
        [b':', digits @ ..] => Some(parse_port(digits)?),
        _ => return None,
    };
    Some(Authority { host, port })
}

fn parse_port(digits: &[u8]) -> Option<u16> {
    if digits.is_empty() || digits.len() > 5 {
        return None;
    }
    let mut n: u32 = 0;
    for &d in digits {
        if !d.is_ascii_digit() {
            return None;
        }
        n = n * 10 + u32::from(d - b'0');
    }
    u16::try_from(n).ok()
}

/// Whether `host` is a valid `host[:port]` (RFC 7230 §5.4): what a configured host must be
/// for [`host_matches`] to ever match it.
pub fn is_valid_host(host: &str) -> bool {
    parse_authority(host.as_bytes()).is_some()
}

/// Whether the request's host (`Host` header or absolute-form target, see
/// [`UpgradeRequest::host`](super::UpgradeRequest::host)) is the configured one
/// (RFC 6455 §4.2.1 point 2, RFC 3986 §6.2.3).
///
/// Hosts compare case-insensitively and exactly; ports numerically, a missing port counting as
/// the default one (443 when `secure`, i.e. `wss`, else 80). So `example.com` matches
/// `example.com:443` for `wss`, but `example.com:8080` never matches `example.com`, nor `loc`
/// `localhost`. A malformed host on either side matches nothing.
pub fn host_matches(received: &str, configured: &str, secure: bool) -> bool {
    let (Some(r), Some(c)) = (
        parse_authority(received.as_bytes()),
        parse_authority(configured.as_bytes()),
    ) else {
        return false;
    };
    let default = if secure { 443 } else { 80 };
    r.host.eq_ignore_ascii_case(c.host) && r.port.unwrap_or(default) == c.port.unwrap_or(default)
}

/// Whether the request path is the configured one: byte for byte, never a prefix. The path is
/// compared as sent (percent-encoding included, RFC 3986 §6.2.1).
pub fn path_matches(path: &str, configured: &str) -> bool {
    path == configured
}

/// A serialised origin (RFC 6454 §6.2).
enum Origin<'a> {
    /// `null`, sent by privacy-sensitive contexts (RFC 6454 §7.1).
    Null,
    Tuple {
        scheme: &'a [u8],
        authority: Authority<'a>,
    },
}

impl Origin<'_> {
    /// The port, the scheme's default one when absent (RFC 6454 §4 step 6; RFC 6455 §3 for
    /// `ws` and `wss`). Schemes without a default keep `None`.
    fn effective_port(scheme: &[u8], port: Option<u16>) -> Option<u16> {
        port.or(
            if scheme.eq_ignore_ascii_case(b"http") || scheme.eq_ignore_ascii_case(b"ws") {
                Some(80)
            } else if scheme.eq_ignore_ascii_case(b"https") || scheme.eq_ignore_ascii_case(b"wss") {
                Some(443)
            } else {
                None
            },
        )
    }
}

/// `null` or `scheme "://" host [ ":" port ]` (RFC 6454 §7.1): no path, not even a slash.
fn parse_origin(s: &[u8]) -> Result<Origin<'_>, InvalidOrigin> {
    if s == b"null" {
        return Ok(Origin::Null);
    }
    if s.is_empty() {
        return Err(InvalidOrigin("empty origin"));
    }
    // The scheme holds no colon, so the first one must start "://".
    let sep = find_byte(s, b':')
        .filter(|&i| s.get(i..i + 3) == Some(b"://"))
        .ok_or(InvalidOrigin("no \"://\" after the scheme"))?;
    let scheme = s.get(..sep).unwrap_or_default();
    // scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ) (RFC 3986 §3.1)
    let valid_scheme = matches!(scheme.first(), Some(b) if b.is_ascii_alphabetic())
        && scheme
            .iter()
            .all(|&b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.'));
    if !valid_scheme {
        return Err(InvalidOrigin("invalid scheme"));
    }
    let authority = parse_authority(s.get(sep + 3..).unwrap_or_default()).ok_or(InvalidOrigin(
        "invalid host or port (an origin has no path, query or trailing slash)",
    ))?;
    Ok(Origin::Tuple { scheme, authority })
}

/// Whether the request's `Origin` is the allowed one (RFC 6455 §4.2.2 point 4, §10.2;
/// RFC 6454 §5).
///
/// Scheme and host compare case-insensitively and exactly; ports numerically, a missing port
/// counting as the scheme's default (80 for `http`/`ws`, 443 for `https`/`wss`). The `null`
/// origin matches only a configured `null`; an empty or malformed origin matches nothing.
pub fn origin_matches(received: &[u8], allowed: &str) -> bool {
    let (Ok(r), Ok(a)) = (parse_origin(received), parse_origin(allowed.as_bytes())) else {
        return false;
    };
    match (r, a) {
        (Origin::Null, Origin::Null) => true,
        (
            Origin::Tuple {
                scheme: rs,
                authority: ra,
            },
            Origin::Tuple {
                scheme: als,
                authority: aa,
            },
        ) => {
            rs.eq_ignore_ascii_case(als)
                && ra.host.eq_ignore_ascii_case(aa.host)
                && Origin::effective_port(rs, ra.port) == Origin::effective_port(als, aa.port)
        }
        _ => false,
    }
}

/// Checks that a configured allowed origin is `scheme://host[:port]` or `null`
/// (RFC 6454 §6.2), so that a typo like a trailing slash is caught at startup rather than
/// silently rejecting every client.
pub fn validate_allowed_origin(origin: &str) -> Result<(), InvalidOrigin> {
    parse_origin(origin.as_bytes()).map(|_| ())
}

/// A configured origin is not `scheme://host[:port]` or `null`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InvalidOrigin(&'static str);

impl InvalidOrigin {
    /// What is wrong with it.
    pub const fn reason(&self) -> &'static str {
        self.0
    }
}

impl fmt::Display for InvalidOrigin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid origin: {}", self.0)
    }
}

impl core::error::Error for InvalidOrigin {}

/// Whether `origin` may be sent as a client's `Origin`.
pub(super) fn is_valid_origin(origin: &[u8]) -> bool {
    parse_origin(origin).is_ok()
}
