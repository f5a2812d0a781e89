//! An in-memory client↔server harness (in the spirit of quinn-proto's `Pair`): two engines whose
//! outputs feed each other's inputs, with owned copies of every event for assertions.
#![allow(dead_code)] // each test file uses part of it

use ws_proto::{
    ClientOutput, Config, Connection, DataKind, Event, Instant, Output, ReceiveError, Role,
};

/// xorshift32: deterministic mask keys.
fn next_key(seed: &mut u32) -> [u8; 4] {
    *seed ^= *seed << 13;
    *seed ^= *seed >> 17;
    *seed ^= *seed << 5;
    seed.to_le_bytes()
}

/// An event with owned payloads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ev {
    Msg(DataKind, Vec<u8>),
    Ping(Vec<u8>),
    Pong(Vec<u8>),
    Close(Option<u16>, String),
    /// A compressed message the endpoint had no inflater for.
    Compressed(DataKind, Vec<u8>),
}

impl From<Event<'_>> for Ev {
    fn from(event: Event<'_>) -> Self {
        match event {
            Event::Message { kind, payload } => Ev::Msg(kind, payload.to_vec()),
            Event::Ping(p) => Ev::Ping(p.to_vec()),
            Event::Pong(p) => Ev::Pong(p.to_vec()),
            Event::Close(c) => Ev::Close(c.code.map(|c| c.0), c.reason.into()),
            Event::Compressed { kind, payload } => Ev::Compressed(kind, payload.to_vec()),
        }
    }
}

/// One endpoint: its engine, unprocessed input, reassembly buffer and output.
pub struct Endpoint {
    pub conn: Connection,
    pub pending: Vec<u8>,
    pub message: Vec<u8>,
    pub out: Vec<u8>,
    pub events: Vec<Ev>,
    pub error: Option<ReceiveError>,
    mask_seed: u32,
    /// With `permessage-deflate`: inflates compressed messages into [`Ev::Msg`] (reset before
    /// each one when `reset_inflater`, i.e. the peer keeps no context).
    #[cfg(feature = "deflate")]
    pub inflater: Option<ws_proto::deflate::Inflater>,
    #[cfg(feature = "deflate")]
    pub reset_inflater: bool,
}

impl Endpoint {
    pub fn new(role: Role, config: &Config) -> Self {
        Self {
            conn: Connection::new(role, config, Instant::default()),
            pending: Vec::new(),
            message: Vec::new(),
            out: Vec::new(),
            events: Vec::new(),
            error: None,
            mask_seed: 0x9E37_79B9,
            #[cfg(feature = "deflate")]
            inflater: None,
            #[cfg(feature = "deflate")]
            reset_inflater: true,
        }
    }

    /// Runs `action` with this endpoint's engine and its output (masking with deterministic
    /// keys: tests need reproducibility, not secrecy).
    pub fn act<R>(&mut self, action: impl FnOnce(&mut Connection, &mut dyn Output) -> R) -> R {
        let seed = &mut self.mask_seed;
        let mut out = ClientOutput {
            buffer: &mut self.out,
            mask_keys: || next_key(seed),
        };
        action(&mut self.conn, &mut out)
    }

    /// Appends `bytes` and processes everything that can be processed.
    pub fn receive(&mut self, config: &Config, now: Instant, bytes: &[u8]) {
        self.pending.extend_from_slice(bytes);
        loop {
            let seed = &mut self.mask_seed;
            let mut out = ClientOutput {
                buffer: &mut self.out,
                mask_keys: || next_key(seed),
            };
            let available = self.pending.len();
            match self
                .conn
                .receive(config, now, &mut self.pending, &mut self.message, &mut out)
            {
                Ok(received) => {
                    let (consumed, stalled) = (received.consumed, received.is_stalled());
                    assert!(consumed <= available);
                    match received.event {
                        #[cfg(feature = "deflate")]
                        Some(Event::Compressed { kind, payload }) if self.inflater.is_some() => {
                            let inflater = self.inflater.as_mut().unwrap();
                            if self.reset_inflater {
                                inflater.reset();
                            }
                            let mut inflated = Vec::new();
                            match self.conn.inflate_message(
                                config,
                                inflater,
                                kind,
                                payload,
                                &mut inflated,
                                &mut out,
                            ) {
                                Ok(message) => self.events.push(Ev::Msg(kind, message.to_vec())),
                                Err(err) => {
                                    self.error = Some(err);
                                    self.pending.clear();
                                    return;
                                }
                            }
                        }
                        Some(event) => self.events.push(event.into()),
                        None => {}
                    }
                    self.pending.drain(..consumed);
                    if stalled {
                        return;
                    }
                }
                Err(err) => {
                    assert!(
                        self.error.is_none(),
                        "receive after failure must not fail again"
                    );
                    self.error = Some(err);
                    self.pending.clear();
                    return;
                }
            }
        }
    }

    /// Feeds `bytes` in reads of the given sizes (cycled), then the rest.
    pub fn receive_chunked(&mut self, config: &Config, bytes: &[u8], sizes: &[usize]) {
        let mut rest = bytes;
        let mut sizes = sizes.iter().copied().filter(|&s| s > 0).cycle();
        while !rest.is_empty() {
            let take = sizes.next().unwrap_or(rest.len()).min(rest.len());
            self.receive(config, Instant::default(), &rest[..take]);
            rest = &rest[take..];
        }
    }
}

/// A client and a server connected in memory.
pub struct Pair {
    pub config: Config,
    pub now: Instant,
    pub client: Endpoint,
    pub server: Endpoint,
}

impl Pair {
    pub fn new(config: Config) -> Self {
        Self {
            client: Endpoint::new(Role::Client, &config),
            server: Endpoint::new(Role::Server, &config),
            now: Instant::default(),
            config,
        }
    }

    /// Delivers each side's output to the other, once. Returns whether anything moved.
    pub fn step(&mut self) -> bool {
        let to_server = std::mem::take(&mut self.client.out);
        let to_client = std::mem::take(&mut self.server.out);
        if !to_server.is_empty() {
            self.server.receive(&self.config, self.now, &to_server);
        }
        if !to_client.is_empty() {
            self.client.receive(&self.config, self.now, &to_client);
        }
        !(to_server.is_empty() && to_client.is_empty())
    }

    /// Steps until nothing moves (bounded, so a ping-pong loop would fail the test).
    pub fn drive(&mut self) {
        for _ in 0..100 {
            if !self.step() {
                return;
            }
        }
        panic!("the pair never went quiet");
    }
}
