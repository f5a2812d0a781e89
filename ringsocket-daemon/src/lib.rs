//! The RingSocket daemon: the global [`settings`], the configuration file ([`config`]) and
//! what it converts into ([`convert`]), TLS ([`tls`]), the serving core ([`server`]:
//! listeners, epoll workers, app threads) with its permessage-deflate codec ([`zlib`]), process setup ([`process`]: privileges, signals,
//! daemonizing, logging), the admin listener ([`admin`], [`metrics`]), and the startup
//! sequence that ties them together ([`run`]).

pub mod admin;
pub mod config;
pub mod convert;
pub mod metrics;
mod net;
pub mod process;
pub mod run;
pub mod server;
pub mod settings;
pub mod tls;
mod worker;
pub mod zlib;
