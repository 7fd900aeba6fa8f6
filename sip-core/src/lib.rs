//! # sip-core
//!
//! The SIP half of the mediaplane B2BUA: a sans-IO SIP stack (RFC 3261) written in-project.
//!
//! - [`message`]: zero-copy messages over `bytes::Bytes`, a hand-written parser and printer.
//! - [`uri`], [`header`]: SIP/SIPS/tel URIs and typed views of the headers we act on.
//! - [`validate`]: what a UAS checks before a request reaches a transaction user.
#![forbid(unsafe_code)]

mod arena;
pub mod auth;
pub mod dialog;
pub mod endpoint;
mod grammar;
pub mod header;
pub mod message;
mod rng;
#[cfg(feature = "tokio")]
pub mod rt;
mod timer;
pub mod transaction;
pub mod uri;
pub mod validate;

pub use arena::Key;
pub use message::{
    Header, HeaderError, HeaderName, Headers, Message, Method, ParseError, ParseErrorKind, Request,
    Response, StatusCode, parse, parse_stream,
};
pub use rng::Rng;
pub use timer::TimerConfig;
pub use transaction::{ConnectionId, Flow, Transmit};
pub use uri::{Host, SipUri, Uri};
