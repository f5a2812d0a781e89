//! Close codes and close-frame payloads (RFC 6455 §5.5.1, §7.4).

use crate::error::{MalformedFrame, ProtocolViolation, ReceiveError};

/// A WebSocket close status code (RFC 6455 §7.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CloseCode(pub u16);

impl CloseCode {
    /// 1000: the purpose of the connection has been fulfilled.
    pub const NORMAL: Self = Self(1000);
    /// 1001: the endpoint is going away (server shutdown, page navigation).
    pub const GOING_AWAY: Self = Self(1001);
    /// 1002: protocol error.
    pub const PROTOCOL_ERROR: Self = Self(1002);
    /// 1003: a data type the endpoint cannot accept.
    pub const UNSUPPORTED_DATA: Self = Self(1003);
    /// 1005: no status code was present. Never sent on the wire.
    pub const NO_STATUS: Self = Self(1005);
    /// 1006: closed without a close frame. Never sent on the wire.
    pub const ABNORMAL: Self = Self(1006);
    /// 1007: message data inconsistent with its type (e.g. invalid UTF-8 in text).
    pub const INVALID_PAYLOAD: Self = Self(1007);
    /// 1008: policy violation.
    pub const POLICY_VIOLATION: Self = Self(1008);
    /// 1009: a message too big to process.
    pub const MESSAGE_TOO_BIG: Self = Self(1009);
    /// 1010: the client expected an extension the server did not negotiate.
    pub const MANDATORY_EXTENSION: Self = Self(1010);
    /// 1011: an unexpected condition prevented the server from fulfilling the request.
    pub const INTERNAL_ERROR: Self = Self(1011);

    /// Whether this code may appear in a close frame on the wire (RFC 6455 §7.4.1–7.4.2):
    /// 1000–1003, 1007–1011 and 3000–4999. 1004–1006 and 1015 are reserved, the rest of
    /// 0–2999 is unassigned, and 5000+ does not exist.
    pub const fn is_valid_on_wire(self) -> bool {
        matches!(self.0, 1000..=1003 | 1007..=1011 | 3000..=4999)
    }
}

impl core::fmt::Display for CloseCode {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// A parsed close-frame payload: an optional code and a UTF-8 reason.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CloseFrame<'a> {
    /// `None` when the frame had an empty payload (reported as 1005 to applications).
    pub code: Option<CloseCode>,
    /// The reason text; empty when absent.
    pub reason: &'a str,
}

impl<'a> CloseFrame<'a> {
    /// Parses and validates a received close payload (RFC 6455 §5.5.1).
    pub fn parse(payload: &'a [u8]) -> Result<Self, ReceiveError> {
        match payload {
            [] => Ok(Self {
                code: None,
                reason: "",
            }),
            [_] => Err(MalformedFrame::CloseFrameOneByte.into()),
            [hi, lo, reason @ ..] => {
                let code = CloseCode(u16::from_be_bytes([*hi, *lo]));
                if !code.is_valid_on_wire() {
                    return Err(MalformedFrame::InvalidCloseCode(code.0).into());
                }
                let reason = core::str::from_utf8(reason)
                    .map_err(|_| ProtocolViolation::InvalidUtf8CloseReason)?;
                Ok(Self {
                    code: Some(code),
                    reason,
                })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ReceiveError;

    // RFC 6455 §7.4.1 / §7.4.2: which codes may be sent.
    #[test]
    fn wire_validity_of_codes() {
        for code in [
            1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 3000, 4000, 4999,
        ] {
            assert!(CloseCode(code).is_valid_on_wire(), "{code}");
        }
        for code in [
            0, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000, 65535,
        ] {
            assert!(!CloseCode(code).is_valid_on_wire(), "{code}");
        }
    }

    #[test]
    fn parse_close_payloads() {
        assert_eq!(
            CloseFrame::parse(b"").unwrap(),
            CloseFrame {
                code: None,
                reason: ""
            }
        );
        assert_eq!(
            CloseFrame::parse(b"\x03\xe8bye").unwrap(),
            CloseFrame {
                code: Some(CloseCode::NORMAL),
                reason: "bye"
            }
        );
        assert_eq!(
            CloseFrame::parse(b"\x03").unwrap_err(),
            ReceiveError::Malformed(MalformedFrame::CloseFrameOneByte)
        );
        assert_eq!(
            CloseFrame::parse(b"\x03\xed").unwrap_err(),
            ReceiveError::Malformed(MalformedFrame::InvalidCloseCode(1005))
        );
        let err = CloseFrame::parse(b"\x03\xe8\xff").unwrap_err();
        assert_eq!(
            err,
            ReceiveError::Protocol(ProtocolViolation::InvalidUtf8CloseReason)
        );
        assert_eq!(err.close_code(), CloseCode::INVALID_PAYLOAD);
    }
}
