//! # sip-core
//!
//! The SIP half of the mediaplane B2BUA: a sans-IO SIP stack (RFC 3261) written in-project.
//!
//! - [`message`]: zero-copy messages over `bytes::Bytes`, a hand-written parser and printer.
//! - [`uri`], [`header`]: SIP/SIPS/tel URIs and typed views of the headers we act on.
//! - [`validate`]: what a UAS checks before a request reaches a transaction user.
#![forbid(unsafe_code)]

mod grammar;
pub mod header;
pub mod message;
pub mod uri;
pub mod validate;

pub use message::{
    Header, HeaderError, HeaderName, Headers, Message, Method, ParseError, ParseErrorKind, Request,
    Response, StatusCode, parse, parse_stream,
};
pub use uri::{Host, SipUri, Uri};
