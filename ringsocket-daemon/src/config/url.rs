//! Endpoint URLs: `ws[s]://host[:port][/path]`, parsed and normalised once at startup.

use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};

use ws_proto::handshake::is_path_byte;

/// A parsed endpoint `"url"`.
///
/// The host is lowercased (hosts compare case-insensitively), an IPv6 literal keeps its
/// brackets in canonical form (`[::1]`), the port is explicit (80 for `ws`, 443 for `wss` when
/// absent) and the path is exactly as written (paths compare byte for byte), `/` when absent.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct EndpointUrl {
    /// `wss` (TLS) rather than `ws`.
    pub secure: bool,
    /// The normalised host, without port.
    pub host: String,
    /// The port, explicit or the scheme's default.
    pub port: u16,
    /// The path, starting with `/`.
    pub path: String,
}

impl EndpointUrl {
    /// `host:port`, as [`ws_proto::handshake::host_matches`] expects a configured host.
    pub fn authority(&self) -> String {
        format!("{}:{}", self.host, self.port)
    }

    /// The scheme, `ws` or `wss`.
    pub fn scheme(&self) -> &'static str {
        if self.secure { "wss" } else { "ws" }
    }

    /// The host as a certificate name: an IPv6 literal without brackets.
    pub fn cert_host(&self) -> &str {
        self.host
            .strip_prefix('[')
            .and_then(|h| h.strip_suffix(']'))
            .unwrap_or(&self.host)
    }
}

impl fmt::Display for EndpointUrl {
    /// The normalised URL, port always explicit: `wss://example.com:443/chat`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}://{}:{}{}",
            self.scheme(),
            self.host,
            self.port,
            self.path
        )
    }
}

/// Why a URL is not `ws[s]://host[:port][/path]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UrlError {
    /// What is wrong.
    pub message: String,
    /// How to fix it, when obvious.
    pub hint: Option<String>,
}

fn err(message: impl Into<String>, hint: Option<&str>) -> UrlError {
    UrlError {
        message: message.into(),
        hint: hint.map(str::to_owned),
    }
}

/// Parses an endpoint URL.
pub fn parse_endpoint_url(url: &str) -> Result<EndpointUrl, UrlError> {
    let (secure, rest) = match url.split_once("://") {
        Some((s, rest)) if s.eq_ignore_ascii_case("ws") => (false, rest),
        Some((s, rest)) if s.eq_ignore_ascii_case("wss") => (true, rest),
        _ => {
            return Err(err(
                "the scheme must be ws:// or wss://",
                Some(
                    "write e.g. \"wss://example.com/path\" (http:// and https:// are origins, not endpoint URLs)",
                ),
            ));
        }
    };
    if rest.contains(['?', '#']) {
        return Err(err(
            "an endpoint URL has no query or fragment",
            Some("clients connect to the path alone"),
        ));
    }
    let (authority, path) = match rest.find('/') {
        Some(i) => rest.split_at(i),
        None => (rest, "/"),
    };
    if authority.contains('@') {
        return Err(err(
            "an endpoint URL has no user information (\"user@\")",
            None,
        ));
    }
    let (host, port) = if let Some(inner) = authority.strip_prefix('[') {
        let Some((literal, after)) = inner.split_once(']') else {
            return Err(err("an IPv6 literal lacks its closing \"]\"", None));
        };
        let Ok(ip) = literal.parse::<Ipv6Addr>() else {
            return Err(err(format!("\"{literal}\" is not an IPv6 address"), None));
        };
        let port = match after {
            "" => None,
            p => Some(
                p.strip_prefix(':')
                    .ok_or_else(|| err("expected \":port\" after the IPv6 literal", None))?,
            ),
        };
        (format!("[{ip}]"), port)
    } else {
        let (host, port) = match authority.split_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (authority, None),
        };
        if host.is_empty() {
            return Err(err("the host is empty", None));
        }
        // The same host grammar the upgrade matches against (ws-proto), so a configured host
        // can always be matched by some request.
        if !ws_proto::handshake::is_valid_host(host) {
            return Err(err(
                format!("\"{host}\" is not a valid host"),
                Some("an IPv6 address goes in brackets: ws://[::1]:8080/path"),
            ));
        }
        let host = match host.parse::<Ipv4Addr>() {
            Ok(ip) => ip.to_string(),
            Err(_) => host.to_ascii_lowercase(),
        };
        (host, port)
    };
    let port = match port {
        None => {
            if secure {
                443
            } else {
                80
            }
        }
        Some(p) => match p.parse::<u16>() {
            Ok(n) if n > 0 && p.bytes().all(|b| b.is_ascii_digit()) => n,
            _ => {
                return Err(err(
                    format!("\"{p}\" is not a port number (1 to 65535)"),
                    None,
                ));
            }
        },
    };
    if let Some(bad) = path.bytes().find(|&b| !is_path_byte(b)) {
        let shown = if bad.is_ascii_graphic() {
            format!("'{}'", char::from(bad))
        } else if bad.is_ascii() {
            format!("byte 0x{bad:02x}")
        } else {
            "a non-ASCII character".to_owned()
        };
        return Err(err(
            format!("the path contains {shown}, which clients must percent-encode"),
            Some("write it percent-encoded, as clients send it (e.g. %20 for a space)"),
        ));
    }
    Ok(EndpointUrl {
        secure,
        host,
        port,
        path: path.to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(s: &str) -> EndpointUrl {
        match parse_endpoint_url(s) {
            Ok(u) => u,
            Err(e) => panic!("{s}: {e:?}"),
        }
    }

    fn bad(s: &str) -> String {
        match parse_endpoint_url(s) {
            Ok(u) => panic!("{s} parsed as {u:?}"),
            Err(e) => e.message,
        }
    }

    #[test]
    fn normalises() {
        let u = ok("WSS://Example.COM/Chat");
        assert_eq!(
            (u.secure, u.host.as_str(), u.port, u.path.as_str()),
            (true, "example.com", 443, "/Chat")
        );
        assert_eq!(u.to_string(), "wss://example.com:443/Chat");
        assert_eq!(ok("ws://h:1").path, "/");
        assert_eq!(ok("ws://h").port, 80);
        assert_eq!(ok("ws://h:8080/").authority(), "h:8080");
        let v6 = ok("ws://[0:0::1]:9000/a");
        assert_eq!((v6.host.as_str(), v6.cert_host()), ("[::1]", "::1"));
        assert_eq!(ok("ws://127.0.0.1/a/b%20c").path, "/a/b%20c");
    }

    #[test]
    fn rejects() {
        assert!(bad("http://h/").contains("scheme"));
        assert!(bad("h/path").contains("scheme"));
        assert!(bad("ws://h/a?b=1").contains("query"));
        assert!(bad("ws://h/a#f").contains("fragment"));
        assert!(bad("ws:///a").contains("empty"));
        assert!(bad("ws://h:0/").contains("port"));
        assert!(bad("ws://h:65536/").contains("port"));
        assert!(bad("ws://h:+80/").contains("port"));
        assert!(bad("ws://h:/").contains("port"));
        assert!(bad("ws://[::1/").contains("closing"));
        assert!(bad("ws://[zz]/").contains("IPv6"));
        assert!(bad("ws://[::1]x/").contains(":port"));
        assert!(bad("ws://u@h/").contains("user"));
        assert!(bad("ws://h h/").contains("valid host"));
        assert!(bad("ws://h/a b").contains("' '") || bad("ws://h/a b").contains("0x20"));
        assert!(bad("ws://h/é").contains("non-ASCII"));
    }

    // The path takes RFC 3986 pchars and `/` (ws-proto's `is_path_byte`), which include `:`
    // and `@` that a host refuses.
    #[test]
    fn path_bytes() {
        let path = "/a:b@c;d=e,f/~%41!$&'()*+-._";
        assert_eq!(ok(&format!("ws://h{path}")).path, path);
        assert!(bad("ws://h/a[b").contains("'['"));
        assert!(bad("ws://h/a\"b").contains("'\"'"));
        assert!(bad("ws://h/a\tb").contains("0x09"));
    }
}
