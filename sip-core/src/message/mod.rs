//! SIP messages (RFC 3261 §7): a start line, ordered headers and an opaque body, over
//! `bytes::Bytes` so that header values and bodies are slices of the received datagram.

mod header_name;
mod headers;
mod method;
mod parse;
mod print;
mod status;
mod typed;

use bytes::Bytes;
pub use header_name::HeaderName;
pub use headers::{Header, Headers};
pub use method::Method;
pub use parse::{ParseError, ParseErrorKind, parse, parse_stream};
pub use status::StatusCode;
pub use typed::HeaderError;

use crate::uri::Uri;

/// A request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// The method.
    pub method: Method,
    /// The Request-URI.
    pub uri: Uri,
    /// Header lines in order.
    pub headers: Headers,
    /// The body (SDP, multipart, ...), opaque.
    pub body: Bytes,
}

/// A response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    /// The status code.
    pub status: StatusCode,
    /// The reason phrase, as received (may be empty or any UTF-8).
    pub reason: Bytes,
    /// Header lines in order.
    pub headers: Headers,
    /// The body, opaque.
    pub body: Bytes,
}

/// A request or a response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message {
    /// A request.
    Request(Request),
    /// A response.
    Response(Response),
}

impl Message {
    /// The headers.
    pub fn headers(&self) -> &Headers {
        match self {
            Self::Request(r) => &r.headers,
            Self::Response(r) => &r.headers,
        }
    }

    /// The body.
    pub fn body(&self) -> &Bytes {
        match self {
            Self::Request(r) => &r.body,
            Self::Response(r) => &r.body,
        }
    }
}

impl Request {
    /// A request with no headers and no body.
    pub fn new(method: Method, uri: Uri) -> Self {
        Self {
            method,
            uri,
            headers: Headers::with_capacity(12),
            body: Bytes::new(),
        }
    }
}

impl Response {
    /// A response with the standard reason phrase, no headers and no body.
    pub fn new(status: StatusCode) -> Self {
        Self {
            status,
            reason: Bytes::from_static(status.reason().as_bytes()),
            headers: Headers::with_capacity(10),
            body: Bytes::new(),
        }
    }
}
