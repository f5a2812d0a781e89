//! Errors, split by cause (the rustls taxonomy): a malformed frame, a protocol violation by the
//! peer, a configured limit, or local misuse of the API. Every peer-caused error maps to exactly
//! one close code; local misuse never closes the connection.

use crate::close::CloseCode;

/// Why received bytes were rejected. The connection has failed; see
/// [`Connection::receive`](crate::Connection::receive).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ReceiveError {
    /// A single frame is invalid on its own.
    Malformed(MalformedFrame),
    /// Frames that are valid one by one arrived in an invalid sequence or with invalid content.
    Protocol(ProtocolViolation),
    /// A configured size limit was reached.
    Limit(LimitExceeded),
}

impl ReceiveError {
    /// The close code sent to the peer for this error.
    pub const fn close_code(&self) -> CloseCode {
        match self {
            Self::Malformed(_) => CloseCode::PROTOCOL_ERROR,
            Self::Protocol(violation) => violation.close_code(),
            Self::Limit(_) => CloseCode::MESSAGE_TOO_BIG,
        }
    }
}

/// A frame that is invalid by itself (RFC 6455 §5.2, §5.5). Close code 1002.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum MalformedFrame {
    /// RSV1–3 set without a negotiated extension (§5.2). Holds the three bits.
    ReservedBits(u8),
    /// Opcode 0x3–0x7 or 0xB–0xF (§5.2).
    ReservedOpcode(u8),
    /// A 64-bit payload length with the most significant bit set (§5.2).
    LengthTopBitSet,
    /// A control frame with a payload over 125 bytes (§5.5).
    ControlFrameTooLong(u64),
    /// A control frame without FIN (§5.5).
    FragmentedControlFrame,
    /// A server received a frame without a mask (§5.1).
    UnmaskedClientFrame,
    /// A client received a masked frame (§5.1).
    MaskedServerFrame,
    /// A close frame with a 1-byte payload (§5.5.1).
    CloseFrameOneByte,
    /// A close frame with a code that may not be sent (§7.4).
    InvalidCloseCode(u16),
}

/// Valid frames in an invalid order or with invalid content (RFC 6455 §5.4, §5.6, §8.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ProtocolViolation {
    /// A continuation frame with no fragmented message in progress (§5.4). 1002.
    UnexpectedContinuation,
    /// A text or binary frame while a fragmented message is in progress (§5.4). 1002.
    ExpectedContinuation,
    /// Text that is not UTF-8 (§8.1), detected as soon as it can no longer become valid. 1007.
    InvalidUtf8,
    /// A close reason that is not UTF-8 (§5.5.1). 1007.
    InvalidUtf8CloseReason,
    /// A compressed message that is not valid DEFLATE data (RFC 7692 §6.2). 1007.
    InvalidCompressedData,
}

impl ProtocolViolation {
    /// The close code sent to the peer.
    pub const fn close_code(&self) -> CloseCode {
        match self {
            Self::UnexpectedContinuation | Self::ExpectedContinuation => CloseCode::PROTOCOL_ERROR,
            Self::InvalidUtf8 | Self::InvalidUtf8CloseReason | Self::InvalidCompressedData => {
                CloseCode::INVALID_PAYLOAD
            }
        }
    }
}

/// A configured limit was reached before anything was buffered. Close code 1009.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum LimitExceeded {
    /// The message payload would exceed `max_message_size`.
    MessageTooLarge {
        /// Payload bytes the message would hold (saturating).
        size: u64,
        /// The configured maximum.
        max: u64,
    },
    /// The frames of one fragmented message, headers and interleaved control frames included,
    /// would exceed `max_frame_chain_size`.
    FrameChainTooLarge {
        /// Wire bytes the chain would hold (saturating).
        size: u64,
        /// The configured maximum.
        max: u64,
    },
    /// The caller's message buffer refused the bytes (a fixed buffer is full).
    MessageBufferFull,
}

/// The caller used the API in a way the protocol or the connection state does not allow.
/// Nothing was sent and the connection state is unchanged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum LocalError {
    /// Data or control frames after our close frame was sent or the connection failed.
    SendAfterClose,
    /// A client frame without a mask key (every client frame is masked, §5.3).
    MissingMaskKey,
    /// A server frame with a mask key (server frames are never masked, §5.1).
    UnexpectedMaskKey,
    /// A control payload over 125 bytes (§5.5).
    ControlPayloadTooLong,
    /// A close code that may not be sent (§7.4), or a reason without a code.
    InvalidCloseCode,
    /// A continuation without a started fragmented message, or a new message inside one.
    FragmentSequence,
    /// The output buffer cannot take the frame.
    OutputFull,
    /// A compressed frame on a connection that did not negotiate `permessage-deflate`.
    CompressionNotNegotiated,
}

macro_rules! impl_from {
    ($($variant:ident($ty:ty)),*) => {$(
        impl From<$ty> for ReceiveError {
            fn from(err: $ty) -> Self {
                Self::$variant(err)
            }
        }
    )*};
}
impl_from!(
    Malformed(MalformedFrame),
    Protocol(ProtocolViolation),
    Limit(LimitExceeded)
);

impl core::fmt::Display for ReceiveError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::Malformed(e) => write!(f, "malformed frame: {e}"),
            Self::Protocol(e) => write!(f, "protocol violation: {e}"),
            Self::Limit(e) => write!(f, "limit exceeded: {e}"),
        }
    }
}

impl core::fmt::Display for MalformedFrame {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::ReservedBits(bits) => write!(f, "reserved bits {bits:#05b} set"),
            Self::ReservedOpcode(op) => write!(f, "reserved opcode {op:#x}"),
            Self::LengthTopBitSet => f.write_str("64-bit length with the top bit set"),
            Self::ControlFrameTooLong(len) => write!(f, "control frame of {len} bytes (max 125)"),
            Self::FragmentedControlFrame => f.write_str("fragmented control frame"),
            Self::UnmaskedClientFrame => f.write_str("unmasked frame from client"),
            Self::MaskedServerFrame => f.write_str("masked frame from server"),
            Self::CloseFrameOneByte => f.write_str("close frame with a 1-byte payload"),
            Self::InvalidCloseCode(code) => write!(f, "close code {code} is not valid on the wire"),
        }
    }
}

impl core::fmt::Display for ProtocolViolation {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self {
            Self::UnexpectedContinuation => "continuation frame without a fragmented message",
            Self::ExpectedContinuation => "new data frame inside a fragmented message",
            Self::InvalidUtf8 => "invalid UTF-8 in a text message",
            Self::InvalidUtf8CloseReason => "invalid UTF-8 in a close reason",
            Self::InvalidCompressedData => "a compressed message that does not inflate",
        })
    }
}

impl core::fmt::Display for LimitExceeded {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::MessageTooLarge { size, max } => {
                write!(f, "message of {size} bytes exceeds the limit of {max}")
            }
            Self::FrameChainTooLarge { size, max } => {
                write!(f, "frame chain of {size} bytes exceeds the limit of {max}")
            }
            Self::MessageBufferFull => f.write_str("message buffer full"),
        }
    }
}

impl core::fmt::Display for LocalError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self {
            Self::SendAfterClose => "the connection is closed for sending",
            Self::MissingMaskKey => "client frames need a mask key",
            Self::UnexpectedMaskKey => "server frames are never masked",
            Self::ControlPayloadTooLong => "control payloads are limited to 125 bytes",
            Self::InvalidCloseCode => "close code not valid on the wire",
            Self::FragmentSequence => "invalid fragment sequence",
            Self::OutputFull => "output buffer full",
            Self::CompressionNotNegotiated => "permessage-deflate was not negotiated",
        })
    }
}

impl core::error::Error for ReceiveError {}
impl core::error::Error for MalformedFrame {}
impl core::error::Error for ProtocolViolation {}
impl core::error::Error for LimitExceeded {}
impl core::error::Error for LocalError {}
