//! The records that travel through the rings between workers and app threads.
//!
//! The ring (ring-spsc) delimits records, so a record's length is known and its last field runs
//! to the end. Integers are little-endian; nothing is aligned, so a record can start anywhere.
//!
//! **Inbound** (worker → app thread), a 16-byte header then a body:
//!
//! | bytes | field |
//! |---|---|
//! | 0 | kind: 1 open, 2 read, 3 close, 4 upgrade, 5 barrier |
//! | 1 | data kind (read): 0 binary, 1 text; 0 otherwise |
//! | 2..4 | endpoint id |
//! | 4..8 | reserved, 0 |
//! | 8..16 | client id (never 0) |
//! | 16.. | open: the peer address (below); read: the whole unmasked message; upgrade: the peer address, then the request ([`UpgradeRequest`]); close, barrier: nothing |
//!
//! The peer address (so `client_addr` never races with descriptor reuse): family (1 byte: 4
//! or 6), 0, port (2), IPv6 flow info (4), IPv6 scope id (4), then the address (4 or 16 bytes).
//!
//! An upgrade record asks the app's upgrade callback about a connection that is not open yet;
//! the app thread answers with an outbound answer record, and every upgrade record is followed
//! by exactly one open or close record for that client. A barrier asks the app thread to send
//! an outbound barrier back once it has handled everything before it: the worker holds a
//! close it owes the client until then, so the replies to the client's last messages go
//! first.
//!
//! **Outbound** (app thread → worker), an 8-byte header, the recipient ids, then a frame:
//!
//! | bytes | field |
//! |---|---|
//! | 0 | kind: 1 single, 2 multi, 3 every, 4 every-except-single, 5 every-except-multi, 6 close, 7 answer, 8 barrier, 9 subscribe, 10 unsubscribe, 11 publish |
//! | 1 | reserved, 0 |
//! | 2..4 | close code (close); HTTP status (answer: 0 accepts); 0 otherwise |
//! | 4..8 | id count n: 1 for single/except-single/close/answer/barrier/(un)subscribe, 0 for every and publish, ≥ 1 for the multi forms |
//! | 8..8+8n | the ids |
//! | 8+8n.. | one complete server frame (FIN, unmasked, text or binary); close, barrier: nothing; answer: the subprotocol's length (1 byte), the subprotocol, then the rejection's body; (un)subscribe: the topic id (4 bytes); publish: the topic id (4 bytes), then the frame |
//!
//! Topics are numbered by the app thread (an id is reused only once no worker has a member
//! left, which the ring order guarantees): a worker keeps, per app, each topic's members among
//! its own clients, and a publish record reaches them, stored once per worker ring.
//!
//! The app thread frames each message once per worker ring, so a worker only decides which of
//! its clients get the bytes. A close record carries the code and no frame: the worker's
//! connection state machine writes the close frame itself. Ids in a record all belong to the
//! record's worker (the app thread splits by [`ClientId::worker`]).

use core::fmt;
use std::net::SocketAddr;

use ws_proto::frame::{EncodedHeader, FrameHeader, Opcode};

use crate::abi::{ClientId, DataKind, rs_sockaddr};

/// The inbound header's length.
pub const INBOUND_HEADER_LEN: usize = 16;
/// The outbound header's length (before the ids).
pub const OUTBOUND_HEADER_LEN: usize = 8;

const IN_OPEN: u8 = 1;
const IN_READ: u8 = 2;
const IN_CLOSE: u8 = 3;
const IN_UPGRADE: u8 = 4;
const IN_BARRIER: u8 = 5;

const OUT_SINGLE: u8 = 1;
const OUT_MULTI: u8 = 2;
const OUT_EVERY: u8 = 3;
const OUT_EVERY_EXCEPT_SINGLE: u8 = 4;
const OUT_EVERY_EXCEPT_MULTI: u8 = 5;
const OUT_CLOSE: u8 = 6;
const OUT_ANSWER: u8 = 7;
const OUT_BARRIER: u8 = 8;
const OUT_SUBSCRIBE: u8 = 9;
const OUT_UNSUBSCRIBE: u8 = 10;
const OUT_PUBLISH: u8 = 11;

/// Why a record could not be decoded (or did not fit its buffer).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum RecordError {
    /// Shorter than its header or its fixed fields.
    TooShort,
    /// Bytes after the last field of a record that has no open-ended field.
    TrailingBytes,
    /// An unknown kind byte.
    UnknownKind(u8),
    /// A data kind other than 0 (binary) or 1 (text).
    BadDataKind(u8),
    /// A client id of 0.
    ZeroClientId,
    /// An address family other than 4 or 6.
    BadAddressFamily(u8),
    /// An id count that does not fit the kind.
    BadIdCount(u32),
    /// The frame is not one complete, final, unmasked text or binary server frame.
    BadFrame,
    /// The output buffer is shorter than the encoded record.
    BufferTooShort,
    /// An upgrade request whose fields overrun it, or an answer's status outside 400..=599.
    BadUpgrade,
}

impl fmt::Display for RecordError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::TooShort => f.write_str("record too short"),
            Self::TrailingBytes => f.write_str("trailing bytes after the record"),
            Self::UnknownKind(k) => write!(f, "unknown record kind {k}"),
            Self::BadDataKind(k) => write!(f, "bad data kind {k}"),
            Self::ZeroClientId => f.write_str("client id 0"),
            Self::BadAddressFamily(k) => write!(f, "bad address family {k}"),
            Self::BadIdCount(n) => write!(f, "id count {n} does not fit the record kind"),
            Self::BadFrame => f.write_str("not one complete unmasked text/binary server frame"),
            Self::BufferTooShort => f.write_str("output buffer too short for the record"),
            Self::BadUpgrade => f.write_str("malformed upgrade request or answer"),
        }
    }
}

impl std::error::Error for RecordError {}

fn le_u16(b: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([b[at], b[at + 1]])
}

fn le_u32(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

fn le_u64(b: &[u8], at: usize) -> u64 {
    let mut bytes = [0; 8];
    bytes.copy_from_slice(&b[at..at + 8]);
    u64::from_le_bytes(bytes)
}

fn client_at(b: &[u8], at: usize) -> Result<ClientId, RecordError> {
    ClientId::new(le_u64(b, at)).ok_or(RecordError::ZeroClientId)
}

/// A worker → app-thread record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Inbound<'a> {
    /// A client completed its upgrade to one of the app's endpoints.
    Open {
        /// The new connection.
        client: ClientId,
        /// The endpoint it connected to.
        endpoint_id: u16,
        /// Its peer address, taken at accept time.
        peer: SocketAddr,
    },
    /// A complete message.
    Read {
        /// The sender.
        client: ClientId,
        /// The sender's endpoint.
        endpoint_id: u16,
        /// Text or binary.
        data_kind: DataKind,
        /// The whole reassembled, unmasked payload (text already UTF-8-validated).
        payload: &'a [u8],
    },
    /// The connection is gone (whoever closed it); no more records for it follow.
    Close {
        /// The connection.
        client: ClientId,
        /// Its endpoint.
        endpoint_id: u16,
    },
    /// A client asks to upgrade to one of the app's endpoints whose app has an upgrade
    /// callback; the worker waits for the app thread's [`Outbound::Answer`].
    Upgrade {
        /// The connection's id, should it open.
        client: ClientId,
        /// The endpoint it asks for.
        endpoint_id: u16,
        /// Its peer address.
        peer: SocketAddr,
        /// What the app may look at.
        request: UpgradeRequest<'a>,
    },
    /// Answer with [`Outbound::Barrier`] once everything before this record is handled.
    Barrier {
        /// The connection.
        client: ClientId,
        /// Its endpoint.
        endpoint_id: u16,
    },
}

impl<'a> Inbound<'a> {
    /// The client the record is about.
    pub fn client(&self) -> ClientId {
        match *self {
            Self::Open { client, .. }
            | Self::Read { client, .. }
            | Self::Close { client, .. }
            | Self::Upgrade { client, .. }
            | Self::Barrier { client, .. } => client,
        }
    }

    /// The client's endpoint.
    pub fn endpoint_id(&self) -> u16 {
        match *self {
            Self::Open { endpoint_id, .. }
            | Self::Read { endpoint_id, .. }
            | Self::Close { endpoint_id, .. }
            | Self::Upgrade { endpoint_id, .. }
            | Self::Barrier { endpoint_id, .. } => endpoint_id,
        }
    }

    /// The encoded length.
    pub fn encoded_len(&self) -> usize {
        INBOUND_HEADER_LEN
            + match self {
                Self::Open { peer, .. } => addr_len(peer),
                Self::Upgrade { peer, request, .. } => addr_len(peer) + request.bytes.len(),
                Self::Read { payload, .. } => payload.len(),
                Self::Close { .. } | Self::Barrier { .. } => 0,
            }
    }

    /// Writes the record to the start of `out` (e.g. a ring reservation of
    /// [`encoded_len`](Self::encoded_len) bytes) and returns its length.
    pub fn write(&self, out: &mut [u8]) -> Result<usize, RecordError> {
        let len = self.encoded_len();
        let out = out.get_mut(..len).ok_or(RecordError::BufferTooShort)?;
        let (kind, data_kind) = match self {
            Self::Open { .. } => (IN_OPEN, 0),
            Self::Read { data_kind, .. } => (IN_READ, *data_kind as u8),
            Self::Close { .. } => (IN_CLOSE, 0),
            Self::Upgrade { .. } => (IN_UPGRADE, 0),
            Self::Barrier { .. } => (IN_BARRIER, 0),
        };
        out[0] = kind;
        out[1] = data_kind;
        out[2..4].copy_from_slice(&self.endpoint_id().to_le_bytes());
        out[4..8].fill(0);
        out[8..16].copy_from_slice(&self.client().get().to_le_bytes());
        let body = &mut out[INBOUND_HEADER_LEN..];
        match self {
            Self::Open { peer, .. } => {
                write_addr(peer, body);
            }
            Self::Upgrade { peer, request, .. } => {
                let at = write_addr(peer, body);
                body[at..].copy_from_slice(request.bytes);
            }
            Self::Read { payload, .. } => body.copy_from_slice(payload),
            Self::Close { .. } | Self::Barrier { .. } => {}
        }
        Ok(len)
    }

    /// Appends the record to `out`.
    pub fn encode(&self, out: &mut Vec<u8>) {
        let start = out.len();
        out.resize(start + self.encoded_len(), 0);
        // The buffer was just sized to fit.
        let written = self.write(&mut out[start..]);
        debug_assert!(written.is_ok());
    }

    /// Decodes one whole record.
    pub fn decode(bytes: &'a [u8]) -> Result<Self, RecordError> {
        if bytes.len() < INBOUND_HEADER_LEN {
            return Err(RecordError::TooShort);
        }
        let endpoint_id = le_u16(bytes, 2);
        let client = client_at(bytes, 8)?;
        let body = &bytes[INBOUND_HEADER_LEN..];
        let data_kind = bytes[1];
        if bytes[0] != IN_READ && data_kind != 0 {
            return Err(RecordError::BadDataKind(data_kind));
        }
        match bytes[0] {
            IN_OPEN => {
                let (peer, rest) = read_addr(body)?;
                if !rest.is_empty() {
                    return Err(RecordError::TrailingBytes);
                }
                Ok(Self::Open {
                    client,
                    endpoint_id,
                    peer,
                })
            }
            IN_UPGRADE => {
                let (peer, rest) = read_addr(body)?;
                Ok(Self::Upgrade {
                    client,
                    endpoint_id,
                    peer,
                    request: UpgradeRequest::from_encoded(rest)?,
                })
            }
            IN_BARRIER if body.is_empty() => Ok(Self::Barrier {
                client,
                endpoint_id,
            }),
            IN_BARRIER => Err(RecordError::TrailingBytes),
            IN_READ => {
                let data_kind = DataKind::from_raw(data_kind.into())
                    .ok_or(RecordError::BadDataKind(data_kind))?;
                Ok(Self::Read {
                    client,
                    endpoint_id,
                    data_kind,
                    payload: body,
                })
            }
            IN_CLOSE if body.is_empty() => Ok(Self::Close {
                client,
                endpoint_id,
            }),
            IN_CLOSE => Err(RecordError::TrailingBytes),
            other => Err(RecordError::UnknownKind(other)),
        }
    }
}

fn addr_len(peer: &SocketAddr) -> usize {
    match peer {
        SocketAddr::V4(_) => 12 + 4,
        SocketAddr::V6(_) => 12 + 16,
    }
}

/// Writes the peer address at the start of `out` and returns its length.
fn write_addr(peer: &SocketAddr, out: &mut [u8]) -> usize {
    let addr = rs_sockaddr::from(*peer);
    let len = addr_len(peer);
    out[0] = addr.family as u8;
    out[1] = 0;
    out[2..4].copy_from_slice(&addr.port.to_le_bytes());
    out[4..8].copy_from_slice(&addr.flowinfo.to_le_bytes());
    out[8..12].copy_from_slice(&addr.scope_id.to_le_bytes());
    out[12..len].copy_from_slice(&addr.addr[..len - 12]);
    len
}

/// The peer address at the start of `body`, and what follows it.
fn read_addr(body: &[u8]) -> Result<(SocketAddr, &[u8]), RecordError> {
    if body.len() < 12 {
        return Err(RecordError::TooShort);
    }
    let family = body[0];
    let ip_len = match family {
        4 => 4,
        6 => 16,
        other => return Err(RecordError::BadAddressFamily(other)),
    };
    if body.len() < 12 + ip_len {
        return Err(RecordError::TooShort);
    }
    let mut addr = rs_sockaddr {
        family: family.into(),
        port: le_u16(body, 2),
        flowinfo: le_u32(body, 4),
        scope_id: le_u32(body, 8),
        addr: [0; 16],
    };
    addr.addr[..ip_len].copy_from_slice(&body[12..12 + ip_len]);
    let peer = addr
        .to_socket_addr()
        .ok_or(RecordError::BadAddressFamily(family))?;
    Ok((peer, &body[12 + ip_len..]))
}

/// An upgrade request as the worker hands it to the app thread: the request target, the
/// subprotocol the endpoint's configuration picked, and the headers the app may see.
///
/// Encoded as: target length (2 bytes), target, picked subprotocol length (1), subprotocol,
/// header count (2), then per header its name length (1), name, value length (2), value.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct UpgradeRequest<'a> {
    bytes: &'a [u8],
}

impl fmt::Debug for UpgradeRequest<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UpgradeRequest")
            .field("target", &String::from_utf8_lossy(self.target()))
            .field("headers", &self.headers().count())
            .finish()
    }
}

impl<'a> UpgradeRequest<'a> {
    /// Appends the encoding to `out`. Headers whose name exceeds 255 bytes or value 65,535
    /// are left out (a request head is bounded far below), as is a target over 65,535 bytes's
    /// excess and a subprotocol over 255 bytes (tokens are short).
    pub fn encode<'h>(
        target: &[u8],
        picked: Option<&[u8]>,
        headers: impl IntoIterator<Item = (&'h [u8], &'h [u8])>,
        out: &mut Vec<u8>,
    ) {
        let target = &target[..target.len().min(usize::from(u16::MAX))];
        out.extend_from_slice(&(target.len() as u16).to_le_bytes());
        out.extend_from_slice(target);
        let picked = picked.filter(|p| p.len() <= 255).unwrap_or_default();
        out.push(picked.len() as u8);
        out.extend_from_slice(picked);
        let count_at = out.len();
        out.extend_from_slice(&[0, 0]);
        let mut count = 0u16;
        for (name, value) in headers {
            if name.len() > 255 || value.len() > usize::from(u16::MAX) || count == u16::MAX {
                continue;
            }
            out.push(name.len() as u8);
            out.extend_from_slice(name);
            out.extend_from_slice(&(value.len() as u16).to_le_bytes());
            out.extend_from_slice(value);
            count += 1;
        }
        out[count_at..count_at + 2].copy_from_slice(&count.to_le_bytes());
    }

    /// Checks an encoding.
    pub fn from_encoded(bytes: &'a [u8]) -> Result<Self, RecordError> {
        let request = Self { bytes };
        let mut at = request.headers_at()?;
        let count = le_u16(bytes, at);
        at += 2;
        for _ in 0..count {
            let name_len = usize::from(*bytes.get(at).ok_or(RecordError::BadUpgrade)?);
            at += 1 + name_len;
            if bytes.len() < at + 2 {
                return Err(RecordError::BadUpgrade);
            }
            at += 2 + usize::from(le_u16(bytes, at));
        }
        match at.cmp(&bytes.len()) {
            core::cmp::Ordering::Equal => Ok(request),
            core::cmp::Ordering::Less => Err(RecordError::TrailingBytes),
            core::cmp::Ordering::Greater => Err(RecordError::BadUpgrade),
        }
    }

    /// Where the header count starts (checking the fields before it).
    fn headers_at(&self) -> Result<usize, RecordError> {
        let b = self.bytes;
        if b.len() < 2 {
            return Err(RecordError::BadUpgrade);
        }
        let picked_at = 2 + usize::from(le_u16(b, 0));
        let picked_len = usize::from(*b.get(picked_at).ok_or(RecordError::BadUpgrade)?);
        let count_at = picked_at + 1 + picked_len;
        if b.len() < count_at + 2 {
            return Err(RecordError::BadUpgrade);
        }
        Ok(count_at)
    }

    /// The encoded bytes.
    pub fn as_bytes(&self) -> &'a [u8] {
        self.bytes
    }

    /// The request target as sent: the path and, after a `?`, the query.
    pub fn target(&self) -> &'a [u8] {
        &self.bytes[2..2 + usize::from(le_u16(self.bytes, 0))]
    }

    /// The path (the target without its query).
    pub fn path(&self) -> &'a [u8] {
        let target = self.target();
        target.split(|&b| b == b'?').next().unwrap_or(target)
    }

    /// The raw query (after the `?`), or `None` without one.
    pub fn query(&self) -> Option<&'a [u8]> {
        let target = self.target();
        target
            .iter()
            .position(|&b| b == b'?')
            .map(|at| &target[at + 1..])
    }

    /// The subprotocol the endpoint's configuration picked from the client's offer, if any.
    pub fn picked_protocol(&self) -> Option<&'a [u8]> {
        let at = 2 + usize::from(le_u16(self.bytes, 0));
        let len = usize::from(self.bytes[at]);
        (len > 0).then(|| &self.bytes[at + 1..at + 1 + len])
    }

    /// The forwarded headers, in request order, names as sent.
    pub fn headers(&self) -> impl Iterator<Item = (&'a [u8], &'a [u8])> + 'a {
        let bytes = self.bytes;
        let mut at = self.headers_at().unwrap_or(bytes.len());
        let count = bytes.get(at..at + 2).map_or(0, |_| le_u16(bytes, at));
        at += 2;
        (0..count).map(move |_| {
            let name_len = usize::from(bytes[at]);
            let name = &bytes[at + 1..at + 1 + name_len];
            at += 1 + name_len;
            let value_len = usize::from(le_u16(bytes, at));
            let value = &bytes[at + 2..at + 2 + value_len];
            at += 2 + value_len;
            (name, value)
        })
    }

    /// The first forwarded header named `name` (ASCII case-insensitive).
    pub fn header(&self, name: &[u8]) -> Option<&'a [u8]> {
        self.headers()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v)
    }

    /// Whether the client offered the subprotocol `protocol` (in any `Sec-WebSocket-Protocol`
    /// header).
    pub fn offers_protocol(&self, protocol: &[u8]) -> bool {
        self.headers()
            .filter(|(n, _)| n.eq_ignore_ascii_case(b"sec-websocket-protocol"))
            .flat_map(|(_, v)| v.split(|&b| b == b','))
            .any(|offered| offered.trim_ascii() == protocol)
    }
}

/// A list of client ids: borrowed from the app or from a decoded record.
#[derive(Clone, Copy)]
pub struct Ids<'a>(IdsRepr<'a>);

#[derive(Clone, Copy)]
enum IdsRepr<'a> {
    Ids(&'a [ClientId]),
    // 8 little-endian bytes per id, each checked non-zero when decoded.
    Bytes(&'a [u8]),
}

impl<'a> Ids<'a> {
    /// The ids of a slice.
    pub fn from_slice(ids: &'a [ClientId]) -> Self {
        Self(IdsRepr::Ids(ids))
    }

    /// How many ids.
    pub fn len(&self) -> usize {
        match self.0 {
            IdsRepr::Ids(ids) => ids.len(),
            IdsRepr::Bytes(bytes) => bytes.len() / 8,
        }
    }

    /// `true` when there are none.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The ids, in order.
    pub fn iter(&self) -> impl Iterator<Item = ClientId> + 'a {
        let (ids, bytes): (&'a [ClientId], &'a [u8]) = match self.0 {
            IdsRepr::Ids(ids) => (ids, &[]),
            IdsRepr::Bytes(bytes) => (&[], bytes),
        };
        // Decoding checked every id in `bytes` is non-zero; 0 cannot occur, so `filter_map`
        // drops nothing.
        ids.iter()
            .copied()
            .chain(bytes.chunks_exact(8).filter_map(|c| client_at(c, 0).ok()))
    }

    /// `true` when `id` is among the ids.
    pub fn contains(&self, id: ClientId) -> bool {
        self.iter().any(|x| x == id)
    }
}

impl PartialEq for Ids<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.len() == other.len() && self.iter().eq(other.iter())
    }
}

impl Eq for Ids<'_> {}

impl fmt::Debug for Ids<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

/// Who gets an outbound message (within one worker).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Recipients<'a> {
    /// One client.
    Single(ClientId),
    /// Several clients.
    Multi(Ids<'a>),
    /// Every client of the app on this worker.
    Every,
    /// Every client of the app on this worker but one.
    EveryExceptSingle(ClientId),
    /// Every client of the app on this worker but these.
    EveryExceptMulti(Ids<'a>),
}

/// An app-thread → worker record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outbound<'a> {
    /// Send a pre-framed message.
    Send {
        /// Who gets it.
        to: Recipients<'a>,
        /// One complete server frame (see [`encode_server_frame`]).
        frame: &'a [u8],
    },
    /// Close a client: the worker sends a close frame with `code` and ends the connection
    /// (and then sends the app its close record, like for any other ending).
    Close {
        /// The client.
        client: ClientId,
        /// The close code (an app's 4000..=4899, validation's 4900..=4902, or 1011).
        code: u16,
    },
    /// The app's answer to an [`Inbound::Upgrade`].
    Answer {
        /// The client that asked.
        client: ClientId,
        /// 0: accept (send the `101`); else the HTTP status to reject with (400..=599).
        status: u16,
        /// The subprotocol to accept with (empty: none); one the client offered.
        protocol: &'a [u8],
        /// A rejection's body (empty: the status's reason phrase).
        body: &'a [u8],
    },
    /// The answer to an [`Inbound::Barrier`].
    Barrier {
        /// The client.
        client: ClientId,
    },
    /// The client joins topic `topic` (the app thread's number for it).
    Subscribe {
        /// The client.
        client: ClientId,
        /// The topic's id.
        topic: u32,
    },
    /// The client leaves topic `topic`.
    Unsubscribe {
        /// The client.
        client: ClientId,
        /// The topic's id.
        topic: u32,
    },
    /// A pre-framed message for every member of `topic` on this worker.
    Publish {
        /// The topic's id.
        topic: u32,
        /// One complete server frame.
        frame: &'a [u8],
    },
}

impl<'a> Outbound<'a> {
    fn header(&self) -> (u8, u16, Option<Ids<'a>>, Option<ClientId>) {
        match *self {
            Self::Send {
                to: Recipients::Single(id),
                ..
            } => (OUT_SINGLE, 0, None, Some(id)),
            Self::Send {
                to: Recipients::Multi(ids),
                ..
            } => (OUT_MULTI, 0, Some(ids), None),
            Self::Send {
                to: Recipients::Every,
                ..
            } => (OUT_EVERY, 0, None, None),
            Self::Send {
                to: Recipients::EveryExceptSingle(id),
                ..
            } => (OUT_EVERY_EXCEPT_SINGLE, 0, None, Some(id)),
            Self::Send {
                to: Recipients::EveryExceptMulti(ids),
                ..
            } => (OUT_EVERY_EXCEPT_MULTI, 0, Some(ids), None),
            Self::Close { client, code } => (OUT_CLOSE, code, None, Some(client)),
            Self::Answer { client, status, .. } => (OUT_ANSWER, status, None, Some(client)),
            Self::Barrier { client } => (OUT_BARRIER, 0, None, Some(client)),
            Self::Subscribe { client, .. } => (OUT_SUBSCRIBE, 0, None, Some(client)),
            Self::Unsubscribe { client, .. } => (OUT_UNSUBSCRIBE, 0, None, Some(client)),
            Self::Publish { .. } => (OUT_PUBLISH, 0, None, None),
        }
    }

    /// Appends the header and ids (everything before the frame) to `out`. Sending the frame
    /// as a separate part lets the app thread copy its write buffer straight into each ring.
    pub fn write_prefix(&self, out: &mut Vec<u8>) {
        let (kind, code, ids, single) = self.header();
        let count = ids.map_or(usize::from(single.is_some()), |ids| ids.len());
        out.push(kind);
        out.push(0);
        out.extend_from_slice(&code.to_le_bytes());
        out.extend_from_slice(&(count as u32).to_le_bytes());
        for id in single
            .into_iter()
            .chain(ids.iter().flat_map(|ids| ids.iter()))
        {
            out.extend_from_slice(&id.get().to_le_bytes());
        }
        if let Self::Subscribe { topic, .. }
        | Self::Unsubscribe { topic, .. }
        | Self::Publish { topic, .. } = *self
        {
            out.extend_from_slice(&topic.to_le_bytes());
        }
    }

    /// Appends the whole record to `out`.
    pub fn encode(&self, out: &mut Vec<u8>) {
        self.write_prefix(out);
        match self {
            Self::Send { frame, .. } | Self::Publish { frame, .. } => out.extend_from_slice(frame),
            Self::Answer { protocol, body, .. } => {
                let protocol = &protocol[..protocol.len().min(255)];
                out.push(protocol.len() as u8);
                out.extend_from_slice(protocol);
                out.extend_from_slice(body);
            }
            Self::Close { .. }
            | Self::Barrier { .. }
            | Self::Subscribe { .. }
            | Self::Unsubscribe { .. } => {}
        }
    }

    /// Decodes one whole record, checking that the ids fit the kind and that a send carries
    /// exactly one complete server frame.
    pub fn decode(bytes: &'a [u8]) -> Result<Self, RecordError> {
        if bytes.len() < OUTBOUND_HEADER_LEN {
            return Err(RecordError::TooShort);
        }
        let kind = bytes[0];
        let code = le_u16(bytes, 2);
        let count = le_u32(bytes, 4);
        let ids_len = usize::try_from(count)
            .ok()
            .and_then(|n| n.checked_mul(8))
            .ok_or(RecordError::TooShort)?;
        let rest = &bytes[OUTBOUND_HEADER_LEN..];
        if rest.len() < ids_len {
            return Err(RecordError::TooShort);
        }
        let (id_bytes, frame) = rest.split_at(ids_len);
        for chunk in id_bytes.chunks_exact(8) {
            client_at(chunk, 0)?;
        }
        let ids = Ids(IdsRepr::Bytes(id_bytes));
        let single = || client_at(id_bytes, 0);
        let expect_count = |ok: bool| {
            if ok {
                Ok(())
            } else {
                Err(RecordError::BadIdCount(count))
            }
        };
        if !matches!(kind, OUT_CLOSE | OUT_ANSWER) && code != 0 {
            return Err(RecordError::UnknownKind(kind));
        }
        let to = match kind {
            OUT_SINGLE => {
                expect_count(count == 1)?;
                Recipients::Single(single()?)
            }
            OUT_MULTI => {
                expect_count(count >= 1)?;
                Recipients::Multi(ids)
            }
            OUT_EVERY => {
                expect_count(count == 0)?;
                Recipients::Every
            }
            OUT_EVERY_EXCEPT_SINGLE => {
                expect_count(count == 1)?;
                Recipients::EveryExceptSingle(single()?)
            }
            OUT_EVERY_EXCEPT_MULTI => {
                expect_count(count >= 1)?;
                Recipients::EveryExceptMulti(ids)
            }
            OUT_CLOSE => {
                expect_count(count == 1)?;
                if !frame.is_empty() {
                    return Err(RecordError::TrailingBytes);
                }
                return Ok(Self::Close {
                    client: single()?,
                    code,
                });
            }
            OUT_ANSWER => {
                expect_count(count == 1)?;
                if code != 0 && !(400..=599).contains(&code) {
                    return Err(RecordError::BadUpgrade);
                }
                let (&len, rest) = frame.split_first().ok_or(RecordError::TooShort)?;
                let len = usize::from(len);
                if rest.len() < len {
                    return Err(RecordError::TooShort);
                }
                let (protocol, body) = rest.split_at(len);
                return Ok(Self::Answer {
                    client: single()?,
                    status: code,
                    protocol,
                    body,
                });
            }
            OUT_SUBSCRIBE | OUT_UNSUBSCRIBE => {
                expect_count(count == 1)?;
                let topic: [u8; 4] = frame.try_into().map_err(|_| {
                    if frame.len() < 4 {
                        RecordError::TooShort
                    } else {
                        RecordError::TrailingBytes
                    }
                })?;
                let (client, topic) = (single()?, u32::from_le_bytes(topic));
                return Ok(if kind == OUT_SUBSCRIBE {
                    Self::Subscribe { client, topic }
                } else {
                    Self::Unsubscribe { client, topic }
                });
            }
            OUT_PUBLISH => {
                expect_count(count == 0)?;
                let (topic, frame) = frame
                    .split_first_chunk::<4>()
                    .ok_or(RecordError::TooShort)?;
                check_server_frame(frame)?;
                return Ok(Self::Publish {
                    topic: u32::from_le_bytes(*topic),
                    frame,
                });
            }
            OUT_BARRIER => {
                expect_count(count == 1)?;
                if !frame.is_empty() {
                    return Err(RecordError::TrailingBytes);
                }
                return Ok(Self::Barrier { client: single()? });
            }
            other => return Err(RecordError::UnknownKind(other)),
        };
        check_server_frame(frame)?;
        Ok(Self::Send { to, frame })
    }
}

fn check_server_frame(frame: &[u8]) -> Result<DataKind, RecordError> {
    let Ok(Some((header, header_len))) = FrameHeader::decode(frame) else {
        return Err(RecordError::BadFrame);
    };
    let kind = match header.opcode {
        Opcode::Text => DataKind::Text,
        Opcode::Binary => DataKind::Bin,
        _ => return Err(RecordError::BadFrame),
    };
    let whole = (header_len as u64).checked_add(header.payload_len);
    if !header.fin || header.rsv != 0 || header.mask.is_some() || whole != Some(frame.len() as u64)
    {
        return Err(RecordError::BadFrame);
    }
    Ok(kind)
}

/// The header of a final, unmasked server frame of `kind` carrying `payload_len` bytes.
pub fn server_frame_header(kind: DataKind, payload_len: usize) -> EncodedHeader {
    FrameHeader {
        fin: true,
        rsv: 0,
        opcode: kind.opcode(),
        mask: None,
        payload_len: payload_len as u64,
    }
    .encode()
}

/// Appends a complete server frame (header and payload) to `out`.
pub fn encode_server_frame(kind: DataKind, payload: &[u8], out: &mut Vec<u8>) {
    out.extend_from_slice(server_frame_header(kind, payload.len()).as_bytes());
    out.extend_from_slice(payload);
}

/// Splits a complete server frame into its data kind and payload (for tests and tools; the
/// worker sends frames as they are).
pub fn decode_server_frame(frame: &[u8]) -> Result<(DataKind, &[u8]), RecordError> {
    let kind = check_server_frame(frame)?;
    // `check_server_frame` proved the header decodes and the payload runs to the end.
    let header_len = match FrameHeader::decode(frame) {
        Ok(Some((_, len))) => len,
        _ => return Err(RecordError::BadFrame),
    };
    Ok((kind, &frame[header_len..]))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::net::{Ipv4Addr, Ipv6Addr, SocketAddrV6};

    fn id(raw: u64) -> ClientId {
        ClientId::new(raw).unwrap()
    }

    #[test]
    fn inbound_open_layout_is_as_documented() {
        let rec = Inbound::Open {
            client: id(0x0102_0304_0506_0708),
            endpoint_id: 0x0A0B,
            peer: SocketAddr::from((Ipv4Addr::new(192, 0, 2, 1), 0x1F90)),
        };
        let mut out = Vec::new();
        rec.encode(&mut out);
        assert_eq!(
            out,
            [
                1, 0, 0x0B, 0x0A, 0, 0, 0, 0, 8, 7, 6, 5, 4, 3, 2, 1, // header
                4, 0, 0x90, 0x1F, 0, 0, 0, 0, 0, 0, 0, 0, 192, 0, 2, 1 // address
            ]
        );
        assert_eq!(Inbound::decode(&out), Ok(rec));
    }

    #[test]
    fn inbound_read_and_close() {
        let read = Inbound::Read {
            client: id(9),
            endpoint_id: 1,
            data_kind: DataKind::Text,
            payload: b"hi",
        };
        let mut out = Vec::new();
        read.encode(&mut out);
        assert_eq!(out[..2], [2, 1]);
        assert_eq!(&out[16..], b"hi");
        assert_eq!(Inbound::decode(&out), Ok(read));
        let close = Inbound::Close {
            client: id(9),
            endpoint_id: 1,
        };
        out.clear();
        close.encode(&mut out);
        assert_eq!(out.len(), 16);
        assert_eq!(Inbound::decode(&out), Ok(close));
    }

    #[test]
    fn inbound_rejects_malformed() {
        let mut good = Vec::new();
        Inbound::Close {
            client: id(1),
            endpoint_id: 0,
        }
        .encode(&mut good);
        assert_eq!(Inbound::decode(&good[..15]), Err(RecordError::TooShort));
        let mut bad = good.clone();
        bad[0] = 9;
        assert_eq!(Inbound::decode(&bad), Err(RecordError::UnknownKind(9)));
        let mut bad = good.clone();
        bad[8..].fill(0);
        assert_eq!(Inbound::decode(&bad), Err(RecordError::ZeroClientId));
        let mut bad = good.clone();
        bad.push(0);
        assert_eq!(Inbound::decode(&bad), Err(RecordError::TrailingBytes));
        let mut bad = good.clone();
        bad[0] = 2;
        bad[1] = 2;
        assert_eq!(Inbound::decode(&bad), Err(RecordError::BadDataKind(2)));
        let mut open = Vec::new();
        Inbound::Open {
            client: id(1),
            endpoint_id: 0,
            peer: "[::1]:80".parse().unwrap(),
        }
        .encode(&mut open);
        let mut bad = open.clone();
        bad[16] = 5;
        assert_eq!(Inbound::decode(&bad), Err(RecordError::BadAddressFamily(5)));
        assert_eq!(
            Inbound::decode(&open[..open.len() - 1]),
            Err(RecordError::TooShort)
        );
        let rec = Inbound::Close {
            client: id(1),
            endpoint_id: 0,
        };
        assert_eq!(rec.write(&mut [0; 15]), Err(RecordError::BufferTooShort));
    }

    #[test]
    fn outbound_layout_is_as_documented() {
        let mut frame = Vec::new();
        encode_server_frame(DataKind::Bin, &[0xAA], &mut frame);
        assert_eq!(frame, [0x82, 1, 0xAA]);
        let rec = Outbound::Send {
            to: Recipients::Single(id(0x0102)),
            frame: &frame,
        };
        let mut out = Vec::new();
        rec.encode(&mut out);
        assert_eq!(
            out,
            [
                1, 0, 0, 0, 1, 0, 0, 0, 2, 1, 0, 0, 0, 0, 0, 0, 0x82, 1, 0xAA
            ]
        );
        assert_eq!(Outbound::decode(&out), Ok(rec));
        let close = Outbound::Close {
            client: id(3),
            code: 4001,
        };
        out.clear();
        close.encode(&mut out);
        assert_eq!(out, [6, 0, 0xA1, 0x0F, 1, 0, 0, 0, 3, 0, 0, 0, 0, 0, 0, 0]);
        assert_eq!(Outbound::decode(&out), Ok(close));
    }

    #[test]
    fn outbound_rejects_malformed() {
        let mut frame = Vec::new();
        encode_server_frame(DataKind::Text, b"abc", &mut frame);
        let mut out = Vec::new();
        Outbound::Send {
            to: Recipients::Every,
            frame: &frame,
        }
        .encode(&mut out);
        assert!(Outbound::decode(&out).is_ok());
        assert_eq!(
            Outbound::decode(&out[..out.len() - 1]),
            Err(RecordError::BadFrame)
        );
        let mut bad = out.clone();
        bad.push(0);
        assert_eq!(Outbound::decode(&bad), Err(RecordError::BadFrame));
        let mut bad = out.clone();
        bad[4] = 1; // every with one id
        assert_eq!(Outbound::decode(&bad), Err(RecordError::TooShort));
        let mut masked = out.clone();
        masked[9] |= 0x80;
        assert_eq!(Outbound::decode(&masked), Err(RecordError::BadFrame));
        let mut ping = out.clone();
        ping[8] = 0x89;
        assert_eq!(Outbound::decode(&ping), Err(RecordError::BadFrame));
        let ids = [id(1), id(2)];
        out.clear();
        Outbound::Send {
            to: Recipients::Multi(Ids::from_slice(&ids)),
            frame: &frame,
        }
        .encode(&mut out);
        let mut bad = out.clone();
        bad[8..16].fill(0);
        assert_eq!(Outbound::decode(&bad), Err(RecordError::ZeroClientId));
        let mut bad = out.clone();
        bad[0] = 1; // single with two ids
        assert_eq!(Outbound::decode(&bad), Err(RecordError::BadIdCount(2)));
        let mut bad = out.clone();
        bad[4..8].copy_from_slice(&u32::MAX.to_le_bytes());
        assert_eq!(Outbound::decode(&bad), Err(RecordError::TooShort));
        out.clear();
        Outbound::Close {
            client: id(1),
            code: 4000,
        }
        .encode(&mut out);
        let mut bad = out.clone();
        bad.push(0);
        assert_eq!(Outbound::decode(&bad), Err(RecordError::TrailingBytes));
    }

    #[test]
    fn frame_length_forms() {
        for len in [0, 125, 126, 65_535, 65_536] {
            let payload = vec![7u8; len];
            let mut frame = Vec::new();
            encode_server_frame(DataKind::Bin, &payload, &mut frame);
            let (kind, back) = decode_server_frame(&frame).unwrap();
            assert_eq!((kind, back.len()), (DataKind::Bin, len));
        }
    }

    fn client_id() -> impl Strategy<Value = ClientId> {
        (1..=u64::MAX).prop_map(id)
    }

    fn peer() -> impl Strategy<Value = SocketAddr> {
        prop_oneof![
            (any::<[u8; 4]>(), any::<u16>())
                .prop_map(|(ip, port)| SocketAddr::from((Ipv4Addr::from(ip), port))),
            (any::<[u8; 16]>(), any::<u16>(), any::<u32>(), any::<u32>()).prop_map(
                |(ip, port, flow, scope)| SocketAddr::V6(SocketAddrV6::new(
                    Ipv6Addr::from(ip),
                    port,
                    flow,
                    scope
                ))
            ),
        ]
    }

    proptest! {
        #[test]
        fn inbound_round_trips(
            client in client_id(),
            endpoint_id in any::<u16>(),
            kind in 0..3u8,
            text in any::<bool>(),
            peer in peer(),
            payload in proptest::collection::vec(any::<u8>(), 0..300),
        ) {
            let data_kind = if text { DataKind::Text } else { DataKind::Bin };
            let rec = match kind {
                0 => Inbound::Open { client, endpoint_id, peer },
                1 => Inbound::Read { client, endpoint_id, data_kind, payload: &payload },
                _ => Inbound::Close { client, endpoint_id },
            };
            let mut out = vec![0xEE; 3];
            rec.encode(&mut out);
            prop_assert_eq!(out.len(), 3 + rec.encoded_len());
            prop_assert_eq!(Inbound::decode(&out[3..]), Ok(rec));
        }

        #[test]
        fn outbound_round_trips(
            kind in 0..6u8,
            ids in proptest::collection::vec(client_id(), 1..6),
            text in any::<bool>(),
            code in 4000..=4902u16,
            payload in proptest::collection::vec(any::<u8>(), 0..70_000),
        ) {
            let data_kind = if text { DataKind::Text } else { DataKind::Bin };
            let mut frame = Vec::new();
            encode_server_frame(data_kind, &payload, &mut frame);
            let list = Ids::from_slice(&ids);
            let rec = match kind {
                0 => Outbound::Send { to: Recipients::Single(ids[0]), frame: &frame },
                1 => Outbound::Send { to: Recipients::Multi(list), frame: &frame },
                2 => Outbound::Send { to: Recipients::Every, frame: &frame },
                3 => Outbound::Send { to: Recipients::EveryExceptSingle(ids[0]), frame: &frame },
                4 => Outbound::Send { to: Recipients::EveryExceptMulti(list), frame: &frame },
                _ => Outbound::Close { client: ids[0], code },
            };
            let mut out = Vec::new();
            rec.encode(&mut out);
            let back = Outbound::decode(&out).unwrap();
            prop_assert_eq!(back, rec);
            if let Outbound::Send { frame, .. } = back {
                prop_assert_eq!(decode_server_frame(frame), Ok((data_kind, &payload[..])));
            }
        }

        #[test]
        fn decoders_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
            let _ = Inbound::decode(&bytes);
            let _ = Outbound::decode(&bytes);
            if let Ok(request) = UpgradeRequest::from_encoded(&bytes) {
                // A decoded request's views stay inside it.
                let _ = (request.path(), request.query(), request.picked_protocol());
                prop_assert!(request.headers().count() <= bytes.len());
            }
        }

        #[test]
        fn upgrades_and_answers_round_trip(
            client in client_id(),
            endpoint_id in any::<u16>(),
            peer in peer(),
            target in "/[a-z]{0,8}(\\?[a-z=&%+]{0,20})?",
            picked in proptest::option::of("[a-z.0-9]{1,12}"),
            headers in proptest::collection::vec(("[A-Za-z-]{1,20}", "[ -~]{0,40}"), 0..6),
            status in prop_oneof![Just(0u16), 400..=599u16],
            body in proptest::collection::vec(any::<u8>(), 0..100),
        ) {
            let mut encoded = Vec::new();
            UpgradeRequest::encode(
                target.as_bytes(),
                picked.as_deref().map(str::as_bytes),
                headers.iter().map(|(n, v)| (n.as_bytes(), v.as_bytes())),
                &mut encoded,
            );
            let request = UpgradeRequest::from_encoded(&encoded).unwrap();
            prop_assert_eq!(request.target(), target.as_bytes());
            prop_assert_eq!(request.picked_protocol(), picked.as_deref().map(str::as_bytes));
            let back: Vec<(&[u8], &[u8])> = request.headers().collect();
            let sent: Vec<(&[u8], &[u8])> =
                headers.iter().map(|(n, v)| (n.as_bytes(), v.as_bytes())).collect();
            prop_assert_eq!(back, sent);
            let rec = Inbound::Upgrade { client, endpoint_id, peer, request };
            let mut out = Vec::new();
            rec.encode(&mut out);
            prop_assert_eq!(Inbound::decode(&out), Ok(rec));
            let protocol = picked.as_deref().unwrap_or_default().as_bytes();
            let answer = Outbound::Answer { client, status, protocol, body: &body };
            let mut out = Vec::new();
            answer.encode(&mut out);
            prop_assert_eq!(Outbound::decode(&out), Ok(answer));
            for topic in [0u32, 7, u32::MAX] {
                for rec in [
                    Outbound::Subscribe { client, topic },
                    Outbound::Unsubscribe { client, topic },
                ] {
                    let mut out = Vec::new();
                    rec.encode(&mut out);
                    prop_assert_eq!(Outbound::decode(&out), Ok(rec));
                }
                let mut frame = Vec::new();
                encode_server_frame(DataKind::Text, &body, &mut frame);
                let rec = Outbound::Publish { topic, frame: &frame };
                let mut out = Vec::new();
                rec.encode(&mut out);
                prop_assert_eq!(Outbound::decode(&out), Ok(rec));
            }
            let barrier = Outbound::Barrier { client };
            let mut out = Vec::new();
            barrier.encode(&mut out);
            prop_assert_eq!(Outbound::decode(&out), Ok(barrier));
        }
    }
}
