//! The RingSocket daemon: configuration ([`config`]), TLS ([`tls`]) and the serving core
//! ([`server`]: listeners, epoll workers, app threads); process setup comes next.

pub mod admin;
pub mod config;
pub mod metrics;
mod net;
pub mod process;
pub mod run;
pub mod server;
pub mod tls;
mod worker;
