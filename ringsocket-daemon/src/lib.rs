//! The RingSocket daemon: configuration (this crate's [`config`] module) and, later, listeners,
//! workers, TLS and process setup. The `ringsocket` binary is `src/main.rs`.

pub mod config;
