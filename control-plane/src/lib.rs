//! # control-plane
//!
//! The `mediaplane` binary and the only crate that knows every other one: configuration,
//! the call registry, the ARI-compatible API, the VoIPBIN RabbitMQ RPC, events, session
//! recovery and metrics (see DESIGN.md §2, §5, §6).
//!
//! Configuration ([`config`]), the call core ([`telephony`]), the ARI server ([`ari`]),
//! VoIPBIN's RabbitMQ RPC and event exchange ([`amqp`]), the operations endpoints `/metrics`,
//! `/health` and `/ready` ([`ops`]), and a clean stop on SIGINT/SIGTERM ([`app`]).
#![forbid(unsafe_code)]

pub mod amqp;
pub mod app;
pub mod ari;
pub mod config;
pub mod http_fetch;
pub mod instance;
pub mod logging;
pub mod metrics;
pub mod ops;
pub mod telephony;
