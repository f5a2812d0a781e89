//! `"apps[].endpoints"`: each app's URLs, ids, allowed origins and compression.

use std::collections::HashMap;

use serde_json::Value;

use super::Validator;
use super::values::{Range, r};
use crate::config::index::{index_path, key_path};
use crate::config::{Endpoint, EndpointUrl, FORWARDED_HEADERS, parse_endpoint_url};

const ENDPOINT_ID: Range = r(0, 65_535);
const ENDPOINT_KEYS: &[&str] = &[
    "endpoint_id",
    "url",
    "allowed_origins",
    "permessage_deflate",
    "subprotocols",
    "upgrade_headers",
];

/// More would make every hooked handshake copy a long list.
const MAX_UPGRADE_HEADERS: usize = 32;

/// What an endpoint needs for the cross-checks once every port and cert is known.
pub(super) struct EndpointRef {
    pub(super) url_path: String,
    pub(super) url: EndpointUrl,
    /// The `"url"` value as written, for messages.
    pub(super) value: Value,
}

impl Validator<'_> {
    pub(super) fn endpoints(
        &mut self,
        path: &str,
        v: &Value,
        refs: &mut Vec<EndpointRef>,
    ) -> Vec<Endpoint> {
        let mut out: Vec<Endpoint> = Vec::new();
        let mut ids: HashMap<u16, String> = HashMap::new();
        let items = self.nonempty_array(
            path,
            v,
            "add {\"endpoint_id\": 0, \"url\": \"wss://example.com/app\"}",
        );
        if items.len() > usize::from(u16::MAX) {
            self.err(
                path,
                None,
                format!("at most {} endpoints per app", u16::MAX),
                None,
            );
        }
        for (i, item) in items.iter().enumerate() {
            let ep = index_path(path, i);
            let Some(o) = self.object(&ep, item, ENDPOINT_KEYS) else {
                continue;
            };
            let endpoint_id = match o.get("endpoint_id") {
                Some((p, v)) => self
                    .uint(&p, v, ENDPOINT_ID.min, ENDPOINT_ID.max)
                    .and_then(|n| u16::try_from(n).ok())
                    .and_then(|id| {
                        if let Some(first) = ids.get(&id) {
                            let msg = format!("endpoint id {id} is already used by {first}");
                            self.err(
                                &p,
                                Some(v),
                                msg,
                                Some("give each endpoint of an app its own id".into()),
                            );
                            return None;
                        }
                        ids.insert(id, ep.clone());
                        Some(id)
                    }),
                None => {
                    self.missing(&key_path(&ep, "endpoint_id"), "add \"endpoint_id\": a number from 0 to 65535 the app uses to tell endpoints apart");
                    None
                }
            };
            let url = match o.get("url") {
                Some((p, v)) => self
                    .string(&p, v)
                    .and_then(|s| match parse_endpoint_url(s) {
                        Ok(url) => {
                            refs.push(EndpointRef {
                                url_path: p.clone(),
                                url: url.clone(),
                                value: v.clone(),
                            });
                            Some((url, s.to_owned()))
                        }
                        Err(e) => {
                            self.err(&p, Some(v), e.message, e.hint);
                            None
                        }
                    }),
                None => {
                    self.missing(
                        &key_path(&ep, "url"),
                        "add \"url\": \"wss://example.com/path\"",
                    );
                    None
                }
            };
            let allowed_origins = match o.get("allowed_origins") {
                None => {
                    self.warn(
                        &ep,
                        "\"allowed_origins\" is omitted, so browser pages from any origin may connect",
                        Some("list the allowed origins (e.g. [\"https://example.com\"]), or [] to allow only clients that send no Origin".into()),
                    );
                    None
                }
                Some((p, v)) => {
                    let list = self.array(&p, v).unwrap_or_default();
                    let mut origins = Vec::new();
                    for (j, item) in list.iter().enumerate() {
                        let op = index_path(&p, j);
                        let Some(s) = self.string(&op, item) else {
                            continue;
                        };
                        match ws_proto::handshake::validate_allowed_origin(s) {
                            Ok(()) => origins.push(s.to_owned()),
                            Err(e) => {
                                let hint = if s.matches('/').count() > 2 {
                                    "an origin is scheme://host[:port] with no path, not even a trailing slash"
                                } else {
                                    "write it as scheme://host[:port], e.g. \"https://example.com\""
                                };
                                self.err(
                                    &op,
                                    Some(item),
                                    format!("not an origin: {}", e.reason()),
                                    Some(hint.into()),
                                );
                            }
                        }
                    }
                    Some(origins)
                }
            };
            let permessage_deflate = o
                .get("permessage_deflate")
                .map(|(p, v)| self.compression(&p, v))
                .unwrap_or_default();
            let subprotocols = o
                .get("subprotocols")
                .map(|(p, v)| {
                    self.token_list(&p, v, "a subprotocol", "e.g. \"chat.v2\"", usize::MAX)
                })
                .unwrap_or_default();
            let upgrade_headers = o
                .get("upgrade_headers")
                .map(|(p, v)| {
                    self.token_list(
                        &p,
                        v,
                        "a header name",
                        "e.g. \"X-Api-Key\"",
                        MAX_UPGRADE_HEADERS,
                    )
                    .into_iter()
                    .map(|h| h.to_ascii_lowercase())
                    .filter(|h| !FORWARDED_HEADERS.contains(&h.as_str()))
                    .collect()
                })
                .unwrap_or_default();
            if let (Some(endpoint_id), Some((url, url_text))) = (endpoint_id, url) {
                out.push(Endpoint {
                    endpoint_id,
                    url,
                    url_text,
                    allowed_origins,
                    permessage_deflate,
                    subprotocols,
                    upgrade_headers,
                });
            }
        }
        out
    }

    /// An array of distinct HTTP tokens (RFC 7230 §3.2.6), at most `max` of them; case is
    /// kept, duplicates compared case-insensitively.
    fn token_list(
        &mut self,
        path: &str,
        v: &Value,
        what: &str,
        example: &str,
        max: usize,
    ) -> Vec<String> {
        let list = self.array(path, v).unwrap_or_default();
        if list.len() > max {
            self.err(path, Some(v), format!("at most {max} entries"), None);
        }
        let mut out: Vec<String> = Vec::new();
        for (j, item) in list.iter().enumerate() {
            let ip = index_path(path, j);
            let Some(s) = self.string(&ip, item) else {
                continue;
            };
            if !ws_proto::handshake::is_token(s.as_bytes()) {
                self.err(
                    &ip,
                    Some(item),
                    format!("not {what}: only letters, digits and !#$%&'*+-.^_`|~ may appear"),
                    Some(example.into()),
                );
            } else if out.iter().any(|t| t.eq_ignore_ascii_case(s)) {
                self.err(&ip, Some(item), format!("{s:?} is listed twice"), None);
            } else {
                out.push(s.to_owned());
            }
        }
        out
    }
}
