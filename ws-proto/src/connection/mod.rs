//! The connection state machine: framing, reassembly, control frames, close handshake and
//! keepalive for either role (RFC 6455 §5–§7).

use core::time::Duration;

use crate::buffer::{Buffer, Output};
use crate::close::{CloseCode, CloseFrame};
use crate::error::{LimitExceeded, LocalError, MalformedFrame, ProtocolViolation, ReceiveError};
use crate::frame::{self, EncodedHeader, FrameHeader, MAX_CONTROL_PAYLOAD, MAX_HEADER_LEN, Opcode};
use crate::utf8::Utf8Validator;

#[cfg(all(test, feature = "alloc"))]
mod tests;

/// Which end of the connection this engine is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Receives masked frames, sends unmasked ones.
    Server,
    /// Receives unmasked frames, sends masked ones.
    Client,
}

/// The type of a data message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DataKind {
    /// UTF-8 text (validated on receipt).
    Text,
    /// Arbitrary bytes.
    Binary,
}

impl DataKind {
    const fn opcode(self) -> Opcode {
        match self {
            Self::Text => Opcode::Text,
            Self::Binary => Opcode::Binary,
        }
    }
}

/// Where the close handshake stands (RFC 6455 §7).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    /// Data flows both ways.
    Open,
    /// We sent a close frame and wait for the peer's until the close deadline. Received data is
    /// still delivered; nothing more may be sent.
    CloseSent,
    /// The close handshake completed, timed out or the connection failed. Nothing is sent or
    /// delivered any more: flush the output, then close the TCP connection (a server closes it
    /// first, RFC 6455 §7.1.1; a client may wait a little for the server to do so).
    Closed,
}

/// A point in time on the caller's monotonic clock, in nanoseconds from an origin the caller
/// chooses. The engine only compares instants and adds durations to them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Instant(u64);

impl Instant {
    /// The instant `nanos` nanoseconds after the caller's origin.
    pub const fn from_nanos(nanos: u64) -> Self {
        Self(nanos)
    }

    /// Nanoseconds since the caller's origin.
    pub const fn as_nanos(self) -> u64 {
        self.0
    }

    /// `self + duration`, saturating at the end of time.
    pub fn saturating_add(self, duration: Duration) -> Self {
        let nanos = u64::try_from(duration.as_nanos()).unwrap_or(u64::MAX);
        Self(self.0.saturating_add(nanos))
    }
}

/// Limits and timeouts, shared by every connection that uses them.
///
/// Connections do not store their configuration: a server with a million connections keeps one
/// `Config`, and each connection's engine state stays under 64 bytes. Pass the same `Config`
/// to every call on a connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// Largest message payload accepted, reassembled fragments included (1009 beyond it).
    pub max_message_size: u64,
    /// Largest frame chain accepted for one fragmented message: every header and payload of
    /// its frames, interleaved control frames included (1009 beyond it). Bounds what tiny
    /// fragments can cost; single-frame messages are bounded by `max_message_size` alone.
    pub max_frame_chain_size: u64,
    /// Silence after which we send a ping; `None` disables keepalive.
    pub ping_interval: Option<Duration>,
    /// After a keepalive ping, how long to wait for any data before failing with 1011.
    pub pong_wait: Duration,
    /// After our close frame, how long to wait for the peer's.
    pub close_timeout: Duration,
}

impl Config {
    /// `max_message_size` set to `size`, and the frame-chain limit to 1.1 × `size`.
    pub const fn with_max_message_size(mut self, size: u64) -> Self {
        self.max_message_size = size;
        self.max_frame_chain_size = size.saturating_add(size / 10);
        self
    }
}

impl Default for Config {
    /// 16 MiB messages, 1.1 × that for frame chains, no keepalive, 10 s pong wait and close
    /// timeout.
    fn default() -> Self {
        Self {
            max_message_size: 0,
            max_frame_chain_size: 0,
            ping_interval: None,
            pong_wait: Duration::from_secs(10),
            close_timeout: Duration::from_secs(10),
        }
        .with_max_message_size(16 << 20)
    }
}

/// Something the peer sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event<'a> {
    /// A complete message, unmasked; text is valid UTF-8. The payload lies in the caller's
    /// input when it arrived as one contiguous frame, otherwise in the caller's message buffer.
    Message {
        /// Text or binary.
        kind: DataKind,
        /// The payload.
        payload: &'a [u8],
    },
    /// A ping. While open, the pong is already in the output.
    Ping(&'a [u8]),
    /// A pong.
    Pong(&'a [u8]),
    /// The peer's close frame. When we had not closed yet, our reply (echoing the code) is
    /// already in the output. The state is now [`State::Closed`].
    Close(CloseFrame<'a>),
    /// A complete message sent compressed (RSV1, only with `permessage-deflate` negotiated:
    /// [`Connection::with_permessage_deflate`]): `payload` is its DEFLATE data, unmasked and
    /// reassembled but not inflated, and text is not validated yet. Inflate it with
    /// `Connection::inflate_message` (feature `deflate`), which enforces `max_message_size`
    /// on the inflated size and validates text, or with a codec of your own.
    Compressed {
        /// Text or binary, as the first frame said.
        kind: DataKind,
        /// The compressed payload.
        payload: &'a [u8],
    },
}

/// The outcome of one [`Connection::receive`] call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[must_use]
pub struct Received<'a> {
    /// Bytes of the input that were used; drop them before the next call.
    pub consumed: usize,
    /// What they carried, if they completed something.
    pub event: Option<Event<'a>>,
}

impl Received<'_> {
    const NEED_MORE: Self = Self {
        consumed: 0,
        event: None,
    };

    /// Nothing could be done: more input is needed (or, with a fixed-size output, output space
    /// for a control-frame reply).
    pub const fn is_stalled(&self) -> bool {
        self.consumed == 0 && self.event.is_none()
    }
}

/// What a deadline did, from [`Connection::handle_timeout`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Timeout {
    /// The connection was idle for `ping_interval`: a ping is in the output.
    PingSent,
    /// No data arrived within `pong_wait` of our ping: a close with 1011 is in the output and
    /// the state is [`State::Closed`].
    PongMissing,
    /// The peer did not answer our close frame in time. The state is [`State::Closed`].
    CloseHandshake,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Timer {
    None,
    Ping,
    Pong,
    Close,
}

/// One WebSocket connection's protocol state, for either role.
///
/// Sans-IO: [`receive`](Self::receive) takes bytes read from the transport and returns
/// [`Event`]s; every frame the engine produces (pongs, close replies, keepalive pings, and the
/// messages you [`send`](Self::send)) is appended to the caller's [`Output`]. After every call
/// that may produce output, write the output to the transport. Time comes in as `now`;
/// [`poll_timeout`](Self::poll_timeout) tells when to call
/// [`handle_timeout`](Self::handle_timeout).
///
/// The state is small (at most 64 bytes) because message bytes live in buffers the caller
/// owns: payloads that arrive whole are handed out in place, and only a message that arrives in
/// pieces is reassembled, into the caller's message [`Buffer`].
#[derive(Debug, Clone)]
pub struct Connection {
    /// Payload bytes of the current data frame not received yet; 0 between frames.
    frame_remaining: u64,
    /// Payload bytes announced so far by the frames of the message in progress.
    message_len: u64,
    /// Wire bytes of the frame chain of the message in progress.
    chain_len: u64,
    /// When `timer` fires, in nanoseconds on the caller's clock.
    deadline: u64,
    /// Mask key of the current data frame, rotated to the next payload byte.
    mask: [u8; 4],
    utf8: Utf8Validator,
    role: Role,
    state: State,
    timer: Timer,
    /// Kind of the message being received in pieces (fragments or a split frame).
    receiving: Option<DataKind>,
    /// Kind of the fragmented message we are sending.
    sending: Option<DataKind>,
    /// FIN of the current data frame.
    frame_fin: bool,
    /// Whether the current data frame is masked.
    frame_masked: bool,
    /// `permessage-deflate` was negotiated: RSV1 marks a compressed message.
    deflate: bool,
    /// The message being received in pieces is compressed.
    receiving_compressed: bool,
    /// The message being sent is compressed (its continuations must be too).
    sending_compressed: bool,
}

impl Connection {
    /// A connection that has just completed its opening handshake. Arms the keepalive timer
    /// when `config` enables it.
    pub fn new(role: Role, config: &Config, now: Instant) -> Self {
        let mut connection = Self {
            frame_remaining: 0,
            message_len: 0,
            chain_len: 0,
            deadline: 0,
            mask: [0; 4],
            utf8: Utf8Validator::new(),
            role,
            state: State::Open,
            timer: Timer::None,
            receiving: None,
            sending: None,
            frame_fin: false,
            frame_masked: false,
            deflate: false,
            receiving_compressed: false,
            sending_compressed: false,
        };
        connection.arm_keepalive(config, now);
        connection
    }

    /// The same connection with `permessage-deflate` negotiated (RFC 7692): a message whose
    /// first frame has RSV1 set is compressed (an [`Event::Compressed`]); RSV1 on a
    /// continuation or control frame still fails the connection with 1002.
    #[must_use]
    pub const fn with_permessage_deflate(mut self) -> Self {
        self.deflate = true;
        self
    }

    /// Whether `permessage-deflate` was negotiated.
    pub const fn permessage_deflate(&self) -> bool {
        self.deflate
    }

    /// This end's role.
    pub const fn role(&self) -> Role {
        self.role
    }

    /// Where the close handshake stands.
    pub const fn state(&self) -> State {
        self.state
    }

    /// Whether data frames may still be sent. Frames encoded outside this connection (e.g. a
    /// broadcast written once for many connections) must be gated by this too.
    pub const fn can_send_data(&self) -> bool {
        matches!(self.state, State::Open)
    }

    /// The next instant [`handle_timeout`](Self::handle_timeout) has something to do, if any.
    pub fn poll_timeout(&self) -> Option<Instant> {
        match self.timer {
            Timer::None => None,
            _ => Some(Instant(self.deadline)),
        }
    }

    /// Processes bytes read from the transport.
    ///
    /// `input` holds the unprocessed bytes (it is unmasked in place). Call repeatedly, dropping
    /// `consumed` bytes from the front each time, until [`Received::is_stalled`]; then read
    /// more and append it to what is left. A frame header and a whole control frame must fit
    /// in `input` before they are processed, so keep room for at least 139 bytes; data
    /// payloads may arrive in any pieces.
    ///
    /// `message` receives messages that arrive in pieces; the engine clears it when such a
    /// message starts. `out` receives automatic replies: pongs and close frames. Write it to
    /// the transport before waiting for more input.
    ///
    /// On `Err`, the connection has failed: a close frame with the error's
    /// [close code](ReceiveError::close_code) is in `out` (unless our close was sent already)
    /// and the state is [`State::Closed`]. In that state, input is discarded.
    pub fn receive<'a, M: Buffer + ?Sized, O: Output + ?Sized>(
        &mut self,
        config: &Config,
        now: Instant,
        input: &'a mut [u8],
        message: &'a mut M,
        out: &mut O,
    ) -> Result<Received<'a>, ReceiveError> {
        if self.state == State::Closed {
            return Ok(Received {
                consumed: input.len(),
                event: None,
            });
        }
        if !input.is_empty() {
            // Any data proves the peer alive: postpone the keepalive ping.
            self.arm_keepalive(config, now);
        }
        let result = if self.frame_remaining > 0 {
            self.receive_payload(input, message)
        } else {
            self.receive_frame(config, input, message, out)
        };
        if let Err(err) = &result {
            self.fail(err.close_code(), out);
        }
        result
    }

    /// Fires the deadline from [`poll_timeout`](Self::poll_timeout) if `now` has reached it.
    pub fn handle_timeout<O: Output + ?Sized>(
        &mut self,
        config: &Config,
        now: Instant,
        out: &mut O,
    ) -> Option<Timeout> {
        if self.timer == Timer::None || now.0 < self.deadline {
            return None;
        }
        match self.timer {
            Timer::None => None,
            Timer::Ping => {
                self.write_control(Opcode::Ping, &[], &[], out).ok()?;
                self.timer = Timer::Pong;
                self.deadline = now.saturating_add(config.pong_wait).0;
                Some(Timeout::PingSent)
            }
            Timer::Pong => {
                self.fail(CloseCode::INTERNAL_ERROR, out);
                Some(Timeout::PongMissing)
            }
            Timer::Close => {
                self.enter_closed();
                Some(Timeout::CloseHandshake)
            }
        }
    }

    /// Sends a whole message as one frame. Fails inside a fragmented message we are sending.
    pub fn send<O: Output + ?Sized>(
        &mut self,
        kind: DataKind,
        payload: &[u8],
        out: &mut O,
    ) -> Result<(), LocalError> {
        if self.sending.is_some() {
            return Err(LocalError::FragmentSequence);
        }
        self.send_fragment(kind, payload, true, out)
    }

    /// Sends one fragment of a message: the first fragment starts a `kind` message, later
    /// ones continue it (same `kind`), and `fin` ends it. Control frames may be sent between
    /// fragments.
    pub fn send_fragment<O: Output + ?Sized>(
        &mut self,
        kind: DataKind,
        payload: &[u8],
        fin: bool,
        out: &mut O,
    ) -> Result<(), LocalError> {
        self.send_data_frame(kind, payload, fin, false, out)
    }

    /// One data frame with the state checks; `compressed`: part of a compressed message.
    fn send_data_frame<O: Output + ?Sized>(
        &mut self,
        kind: DataKind,
        payload: &[u8],
        fin: bool,
        compressed: bool,
        out: &mut O,
    ) -> Result<(), LocalError> {
        let mask = self.mask_for(out)?;
        if out.remaining_capacity() < MAX_HEADER_LEN.saturating_add(payload.len()) {
            return Err(LocalError::OutputFull);
        }
        let header = self.data_header(kind, fin, payload.len() as u64, mask, compressed)?;
        write_frame(header, mask, &[], payload, out)
    }

    /// Encodes the header of a data frame whose payload the caller sends itself (e.g. with a
    /// vectored write), with the same state checks as [`send_fragment`](Self::send_fragment).
    /// A server passes `mask_key: None` and sends the payload as is; a client passes a fresh
    /// key and masks the payload with [`frame::apply_mask`].
    pub fn data_frame_header(
        &mut self,
        kind: DataKind,
        fin: bool,
        payload_len: u64,
        mask_key: Option<[u8; 4]>,
    ) -> Result<EncodedHeader, LocalError> {
        self.data_header(kind, fin, payload_len, mask_key, false)
    }

    /// A data frame's header, after the state checks; `compressed`: the frame belongs to a
    /// compressed message.
    fn data_header(
        &mut self,
        kind: DataKind,
        fin: bool,
        payload_len: u64,
        mask_key: Option<[u8; 4]>,
        compressed: bool,
    ) -> Result<EncodedHeader, LocalError> {
        if compressed && !self.deflate {
            return Err(LocalError::CompressionNotNegotiated);
        }
        if !self.can_send_data() {
            return Err(LocalError::SendAfterClose);
        }
        self.check_mask(mask_key)?;
        let (opcode, rsv) = match self.sending {
            None => (kind.opcode(), if compressed { RSV1 } else { 0 }),
            Some(sending) if sending == kind && compressed == self.sending_compressed => {
                (Opcode::Continuation, 0)
            }
            Some(_) => return Err(LocalError::FragmentSequence),
        };
        self.sending = if fin { None } else { Some(kind) };
        self.sending_compressed = compressed && !fin;
        Ok(FrameHeader {
            fin,
            rsv,
            opcode,
            mask: mask_key,
            payload_len,
        }
        .encode())
    }

    /// Sends a whole message as one compressed frame (RSV1 set): `compressed` is its DEFLATE
    /// data without the trailing `00 00 ff ff` (what `deflate::Deflater::compress` writes).
    pub fn send_compressed<O: Output + ?Sized>(
        &mut self,
        kind: DataKind,
        compressed: &[u8],
        out: &mut O,
    ) -> Result<(), LocalError> {
        if self.sending.is_some() {
            return Err(LocalError::FragmentSequence);
        }
        self.send_compressed_fragment(kind, compressed, true, out)
    }

    /// Sends one fragment of a compressed message: the first starts it (RSV1 set), later ones
    /// continue it (RSV1 clear, RFC 7692 §6.1), and `fin` ends it. The pieces are the
    /// message's DEFLATE data, split anywhere.
    pub fn send_compressed_fragment<O: Output + ?Sized>(
        &mut self,
        kind: DataKind,
        piece: &[u8],
        fin: bool,
        out: &mut O,
    ) -> Result<(), LocalError> {
        self.send_data_frame(kind, piece, fin, true, out)
    }

    /// Encodes the header of a whole compressed message (one frame, RSV1 set) whose payload the
    /// caller sends itself, e.g. the same compressed bytes to many clients with vectored
    /// writes. The same checks as [`send_compressed`](Self::send_compressed).
    pub fn compressed_frame_header(
        &mut self,
        kind: DataKind,
        payload_len: u64,
        mask_key: Option<[u8; 4]>,
    ) -> Result<EncodedHeader, LocalError> {
        if self.sending.is_some() {
            return Err(LocalError::FragmentSequence);
        }
        self.data_header(kind, true, payload_len, mask_key, true)
    }

    /// Sends a whole message, compressed with `deflater` when `permessage-deflate` was
    /// negotiated and the message is worth it: at least `min_len` bytes, within the agreed
    /// window, and (without context takeover) smaller compressed. Else it goes as a plain
    /// frame, which RFC 7692 allows for any message. `scratch` holds the compressed bytes.
    /// Returns whether it went compressed.
    #[cfg(feature = "deflate")]
    pub fn send_deflated<O: Output + ?Sized, R: crate::deflate::RawDeflate>(
        &mut self,
        kind: DataKind,
        payload: &[u8],
        deflater: &mut crate::deflate::Deflater<R>,
        min_len: usize,
        scratch: &mut alloc::vec::Vec<u8>,
        out: &mut O,
    ) -> Result<bool, LocalError> {
        if !self.deflate
            || payload.len() < min_len
            || !deflater.can_compress(payload.len())
            || self.sending.is_some()
        {
            return self.send(kind, payload, out).map(|()| false);
        }
        scratch.clear();
        if !deflater.compress_to_send(payload, scratch) {
            return self.send(kind, payload, out).map(|()| false);
        }
        self.send_compressed(kind, scratch, out).map(|()| true)
    }

    /// Inflates an [`Event::Compressed`] message into `inflated` (cleared first) with
    /// `inflater`, enforcing `max_message_size` on the inflated size as it goes (a bomb stops
    /// there with 1009, having allocated at most the limit) and validating text (1007). On
    /// `Err` the connection has failed, as for [`receive`](Self::receive). Reset the inflater
    /// before each message unless the peer takes its context over.
    #[cfg(feature = "deflate")]
    pub fn inflate_message<'m, O: Output + ?Sized, R: crate::deflate::RawInflate>(
        &mut self,
        config: &Config,
        inflater: &mut crate::deflate::Inflater<R>,
        kind: DataKind,
        compressed: &[u8],
        inflated: &'m mut alloc::vec::Vec<u8>,
        out: &mut O,
    ) -> Result<&'m [u8], ReceiveError> {
        use crate::deflate::InflateError;
        inflated.clear();
        let result: Result<(), ReceiveError> =
            match inflater.inflate(compressed, config.max_message_size, inflated) {
                Ok(()) if kind == DataKind::Text && core::str::from_utf8(inflated).is_err() => {
                    Err(ProtocolViolation::InvalidUtf8.into())
                }
                Ok(()) => Ok(()),
                Err(InflateError::TooLarge { max }) => Err(LimitExceeded::MessageTooLarge {
                    size: max.saturating_add(1),
                    max,
                }
                .into()),
                Err(_) => Err(ProtocolViolation::InvalidCompressedData.into()),
            };
        match result {
            Ok(()) => Ok(inflated.as_slice()),
            Err(err) => {
                inflated.clear();
                self.fail(err.close_code(), out);
                Err(err)
            }
        }
    }

    /// Sends a ping (at most 125 bytes).
    pub fn send_ping<O: Output + ?Sized>(
        &mut self,
        payload: &[u8],
        out: &mut O,
    ) -> Result<(), LocalError> {
        self.send_control(Opcode::Ping, payload, out)
    }

    /// Sends an unsolicited pong (at most 125 bytes), e.g. as a one-way heartbeat. Pings are
    /// answered automatically.
    pub fn send_pong<O: Output + ?Sized>(
        &mut self,
        payload: &[u8],
        out: &mut O,
    ) -> Result<(), LocalError> {
        self.send_control(Opcode::Pong, payload, out)
    }

    /// Starts the close handshake: sends a close frame with `code` and `reason` (together at
    /// most 125 bytes) and waits for the peer's until `now + config.close_timeout`. Nothing
    /// more may be sent; received data is still delivered.
    pub fn close<O: Output + ?Sized>(
        &mut self,
        config: &Config,
        now: Instant,
        code: CloseCode,
        reason: &str,
        out: &mut O,
    ) -> Result<(), LocalError> {
        if !code.is_valid_on_wire() {
            return Err(LocalError::InvalidCloseCode);
        }
        if reason.len() > MAX_CONTROL_PAYLOAD - 2 {
            return Err(LocalError::ControlPayloadTooLong);
        }
        if !self.can_send_data() {
            return Err(LocalError::SendAfterClose);
        }
        self.write_control(Opcode::Close, &code.0.to_be_bytes(), reason.as_bytes(), out)?;
        self.state = State::CloseSent;
        self.timer = Timer::Close;
        self.deadline = now.saturating_add(config.close_timeout).0;
        Ok(())
    }

    fn send_control<O: Output + ?Sized>(
        &mut self,
        opcode: Opcode,
        payload: &[u8],
        out: &mut O,
    ) -> Result<(), LocalError> {
        if payload.len() > MAX_CONTROL_PAYLOAD {
            return Err(LocalError::ControlPayloadTooLong);
        }
        if !self.can_send_data() {
            return Err(LocalError::SendAfterClose);
        }
        if self.role == Role::Client && out.mask_key().is_none() {
            return Err(LocalError::MissingMaskKey);
        }
        self.write_control(opcode, payload, &[], out)
    }

    /// Writes a control frame whose payload is `prefix` then `payload`, masked for clients.
    /// An output without mask keys gets the all-zero key for a client's automatic replies:
    /// valid framing, though only a [`ClientOutput`](crate::ClientOutput) gives real masking.
    fn write_control<O: Output + ?Sized>(
        &self,
        opcode: Opcode,
        prefix: &[u8],
        payload: &[u8],
        out: &mut O,
    ) -> Result<(), LocalError> {
        let mask = match self.role {
            Role::Server => None,
            Role::Client => Some(out.mask_key().unwrap_or_default()),
        };
        let len = prefix.len() + payload.len();
        if out.remaining_capacity() < MAX_HEADER_LEN + len {
            return Err(LocalError::OutputFull);
        }
        let header = FrameHeader {
            fin: true,
            rsv: 0,
            opcode,
            mask,
            payload_len: len as u64,
        };
        write_frame(header.encode(), mask, prefix, payload, out)
    }

    fn mask_for<O: Output + ?Sized>(&self, out: &mut O) -> Result<Option<[u8; 4]>, LocalError> {
        match self.role {
            Role::Server => Ok(None),
            Role::Client => out.mask_key().map(Some).ok_or(LocalError::MissingMaskKey),
        }
    }

    fn check_mask(&self, mask_key: Option<[u8; 4]>) -> Result<(), LocalError> {
        match (self.role, mask_key) {
            (Role::Server, Some(_)) => Err(LocalError::UnexpectedMaskKey),
            (Role::Client, None) => Err(LocalError::MissingMaskKey),
            _ => Ok(()),
        }
    }

    fn arm_keepalive(&mut self, config: &Config, now: Instant) {
        if self.state == State::Open
            && let Some(interval) = config.ping_interval
        {
            self.timer = Timer::Ping;
            self.deadline = now.saturating_add(interval).0;
        }
    }

    /// Fails the connection (RFC 6455 §7.1.7): a close frame with `code` unless ours was sent.
    fn fail<O: Output + ?Sized>(&mut self, code: CloseCode, out: &mut O) {
        if self.state == State::Open {
            // A full fixed-size output loses the close frame; closing the TCP connection still
            // tells the peer, as 1006.
            let _ = self.write_control(Opcode::Close, &code.0.to_be_bytes(), &[], out);
        }
        self.enter_closed();
    }

    fn enter_closed(&mut self) {
        self.state = State::Closed;
        self.timer = Timer::None;
        self.receiving = None;
        self.sending = None;
        self.receiving_compressed = false;
        self.sending_compressed = false;
        self.frame_remaining = 0;
    }

    /// Decodes the frame at the start of `input`.
    fn receive_frame<'a, M: Buffer + ?Sized, O: Output + ?Sized>(
        &mut self,
        config: &Config,
        input: &'a mut [u8],
        message: &'a mut M,
        out: &mut O,
    ) -> Result<Received<'a>, ReceiveError> {
        let Some((header, header_len)) = FrameHeader::decode(input)? else {
            return Ok(Received::NEED_MORE);
        };
        // RSV1 is permessage-deflate's, and only on the first frame of a data message
        // (RFC 7692 §6.1); RSV2 and RSV3 belong to no extension we negotiate (RFC 6455 §5.2).
        let compressed = header.rsv == RSV1
            && self.deflate
            && !header.opcode.is_control()
            && header.opcode != Opcode::Continuation;
        if header.rsv != 0 && !compressed {
            return Err(MalformedFrame::ReservedBits(header.rsv).into());
        }
        match (self.role, header.mask.is_some()) {
            (Role::Server, false) => return Err(MalformedFrame::UnmaskedClientFrame.into()),
            (Role::Client, true) => return Err(MalformedFrame::MaskedServerFrame.into()),
            _ => {}
        }
        // Cannot overflow: `decode` keeps the payload length below 2^63.
        let wire_len = header_len as u64 + header.payload_len;
        if header.opcode.is_control() {
            // Control frames always have FIN: they count only inside a fragmented message.
            let chain_len = self.chained_len(config, wire_len, true)?;
            return self.receive_control(header, header_len, chain_len, input, out);
        }
        let kind = match (header.opcode, self.receiving) {
            (Opcode::Continuation, Some(kind)) => kind,
            (Opcode::Continuation, None) => {
                return Err(ProtocolViolation::UnexpectedContinuation.into());
            }
            (_, Some(_)) => return Err(ProtocolViolation::ExpectedContinuation.into()),
            (Opcode::Text, None) => DataKind::Text,
            _ => DataKind::Binary,
        };
        let message_len = match self.receiving {
            Some(_) => self.message_len.saturating_add(header.payload_len),
            None => header.payload_len,
        };
        let compressed = match self.receiving {
            Some(_) => self.receiving_compressed,
            None => compressed,
        };
        // Compressed data of an incompressible message is a little longer than the message:
        // it is bounded by the frame-chain limit here, and the inflated size by the message
        // limit while inflating.
        let max_len = if compressed {
            config.max_frame_chain_size
        } else {
            config.max_message_size
        };
        if message_len > max_len {
            let max = max_len;
            let size = message_len;
            return Err(LimitExceeded::MessageTooLarge { size, max }.into());
        }
        let chain_len = self.chained_len(config, wire_len, header.fin)?;
        let frame_end = usize::try_from(wire_len)
            .ok()
            .filter(|&end| end <= input.len());
        if let (None, true, Some(frame_end)) = (self.receiving, header.fin, frame_end) {
            // The common case: a whole single-frame message; hand it out in place.
            let payload = &mut input[header_len..frame_end];
            if let Some(key) = header.mask {
                frame::apply_mask(payload, key, 0);
            }
            let event = if compressed {
                Event::Compressed { kind, payload }
            } else {
                if kind == DataKind::Text && core::str::from_utf8(payload).is_err() {
                    return Err(ProtocolViolation::InvalidUtf8.into());
                }
                Event::Message { kind, payload }
            };
            return Ok(Received {
                consumed: frame_end,
                event: Some(event),
            });
        }
        // The message arrives in pieces: reassemble it in the caller's buffer.
        if self.receiving.is_none() {
            message.clear();
            self.utf8.reset();
            self.receiving = Some(kind);
            self.receiving_compressed = compressed;
        }
        self.message_len = message_len;
        self.chain_len = chain_len;
        self.frame_remaining = header.payload_len;
        self.frame_fin = header.fin;
        self.frame_masked = header.mask.is_some();
        self.mask = header.mask.unwrap_or_default();
        let rest = self.receive_payload(&mut input[header_len..], message)?;
        Ok(Received {
            consumed: header_len + rest.consumed,
            event: rest.event,
        })
    }

    /// The frame-chain length with a frame of `wire_len` bytes added, checked against the
    /// limit. The limit bounds what fragmentation costs, so it applies to the frames of a
    /// fragmented message (interleaved control frames included); a single-frame message is
    /// bounded by `max_message_size` and a lone control frame by 125 bytes.
    fn chained_len(&self, config: &Config, wire_len: u64, fin: bool) -> Result<u64, LimitExceeded> {
        let chain_len = match self.receiving {
            Some(_) => self.chain_len.saturating_add(wire_len),
            // The first frame of a fragmented message.
            None if !fin => wire_len,
            None => return Ok(wire_len),
        };
        if chain_len > config.max_frame_chain_size {
            let max = config.max_frame_chain_size;
            return Err(LimitExceeded::FrameChainTooLarge {
                size: chain_len,
                max,
            });
        }
        Ok(chain_len)
    }

    /// Takes what `input` holds of the current data frame's payload into `message`.
    fn receive_payload<'a, M: Buffer + ?Sized>(
        &mut self,
        input: &'a mut [u8],
        message: &'a mut M,
    ) -> Result<Received<'a>, ReceiveError> {
        let take = usize::try_from(self.frame_remaining)
            .unwrap_or(usize::MAX)
            .min(input.len());
        let chunk = &mut input[..take];
        if self.frame_masked {
            frame::apply_mask(chunk, self.mask, 0);
            self.mask = frame::rotate_key(self.mask, take);
        }
        if self.receiving == Some(DataKind::Text) && !self.receiving_compressed {
            self.utf8
                .feed(chunk)
                .map_err(|_| ProtocolViolation::InvalidUtf8)?;
        }
        message
            .try_extend_from_slice(chunk)
            .map_err(|_| LimitExceeded::MessageBufferFull)?;
        self.frame_remaining -= take as u64;
        if self.frame_remaining > 0 || !self.frame_fin {
            return Ok(Received {
                consumed: take,
                event: None,
            });
        }
        if !self.utf8.is_complete() {
            return Err(ProtocolViolation::InvalidUtf8.into());
        }
        let kind = self.receiving.take().unwrap_or(DataKind::Binary);
        let message: &'a M = message;
        let payload = message.as_slice();
        let event = if core::mem::take(&mut self.receiving_compressed) {
            Event::Compressed { kind, payload }
        } else {
            Event::Message { kind, payload }
        };
        Ok(Received {
            consumed: take,
            event: Some(event),
        })
    }

    /// Handles a control frame; it is processed only once it is whole in `input`.
    fn receive_control<'a, O: Output + ?Sized>(
        &mut self,
        header: FrameHeader,
        header_len: usize,
        chain_len: u64,
        input: &'a mut [u8],
        out: &mut O,
    ) -> Result<Received<'a>, ReceiveError> {
        // `decode` guarantees at most 125 payload bytes.
        let frame_end = header_len + header.payload_len as usize;
        let needs_reply = matches!(header.opcode, Opcode::Ping | Opcode::Close);
        let reply_room = MAX_HEADER_LEN + MAX_CONTROL_PAYLOAD;
        if input.len() < frame_end || (needs_reply && out.remaining_capacity() < reply_room) {
            return Ok(Received::NEED_MORE);
        }
        if self.receiving.is_some() {
            self.chain_len = chain_len;
        }
        let payload = &mut input[header_len..frame_end];
        if let Some(key) = header.mask {
            frame::apply_mask(payload, key, 0);
        }
        let payload: &'a [u8] = payload;
        let event = match header.opcode {
            Opcode::Ping => {
                if self.state == State::Open {
                    // Room was checked above.
                    let _ = self.write_control(Opcode::Pong, payload, &[], out);
                }
                Event::Ping(payload)
            }
            Opcode::Pong => Event::Pong(payload),
            _ => {
                let close = CloseFrame::parse(payload)?;
                if self.state == State::Open {
                    // Echo the code (RFC 6455 §5.5.1); an empty close gets an empty reply.
                    let code = close.code.map(|code| code.0.to_be_bytes());
                    let _ = self.write_control(
                        Opcode::Close,
                        code.as_ref().map_or(&[], |c| c),
                        &[],
                        out,
                    );
                }
                self.enter_closed();
                Event::Close(close)
            }
        };
        Ok(Received {
            consumed: frame_end,
            event: Some(event),
        })
    }
}

/// The RSV1 bit in [`FrameHeader::rsv`]: a compressed message (RFC 7692 §6).
const RSV1: u8 = 0b100;

/// Appends a header and a payload (`prefix` then `payload`), masking the payload when `mask`
/// is set. The caller has checked that `out` has room.
fn write_frame<O: Output + ?Sized>(
    header: EncodedHeader,
    mask: Option<[u8; 4]>,
    prefix: &[u8],
    payload: &[u8],
    out: &mut O,
) -> Result<(), LocalError> {
    let full = |_| LocalError::OutputFull;
    out.try_extend_from_slice(header.as_bytes()).map_err(full)?;
    let Some(key) = mask else {
        out.try_extend_from_slice(prefix).map_err(full)?;
        return out.try_extend_from_slice(payload).map_err(full);
    };
    // Mask through a small stack buffer: the caller's payload stays untouched.
    let mut offset = 0;
    for part in [prefix, payload] {
        for piece in part.chunks(256) {
            let mut scratch = [0u8; 256];
            let scratch = &mut scratch[..piece.len()];
            scratch.copy_from_slice(piece);
            frame::apply_mask(scratch, key, offset);
            offset += piece.len();
            out.try_extend_from_slice(scratch).map_err(full)?;
        }
    }
    Ok(())
}
