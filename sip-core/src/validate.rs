//! What a UAS checks before a request reaches a transaction user (RFC 3261 §8.2): mandatory
//! headers, CSeq, URI scheme, method, `Require`, body type and `Accept`. The first failed
//! check becomes the response, with the headers that explain it (Allow, Unsupported, Accept).

use bytes::Bytes;

use crate::{HeaderError, HeaderName, Method, Request, StatusCode, Uri, header::token_list};

/// The request could not be served; answer it with this.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    /// Status code.
    pub status: StatusCode,
    /// Reason phrase naming the problem.
    pub reason: String,
    /// Extra headers the response must carry (Allow, Unsupported, Accept...).
    pub headers: Vec<(HeaderName, Bytes)>,
}

impl Rejection {
    fn new(status: StatusCode, reason: impl Into<String>) -> Self {
        Self {
            status,
            reason: reason.into(),
            headers: Vec::new(),
        }
    }

    fn with(mut self, name: HeaderName, value: impl Into<Bytes>) -> Self {
        self.headers.push((name, value.into()));
        self
    }
}

impl From<HeaderError> for Rejection {
    fn from(e: HeaderError) -> Self {
        Self::new(StatusCode::BAD_REQUEST, e.reason_phrase())
    }
}

/// What this UAS implements.
#[derive(Debug, Clone)]
pub struct UasPolicy {
    /// Methods answered normally; other known methods get 405, unknown ones 501.
    pub allowed: Vec<Method>,
    /// Option tags we support (for `Require`, §8.2.2.3).
    pub supported: Vec<&'static str>,
    /// Body types understood in session methods (INVITE, ACK, UPDATE, PRACK).
    pub accepted_bodies: Vec<&'static str>,
}

impl Default for UasPolicy {
    fn default() -> Self {
        Self {
            allowed: vec![
                Method::Invite,
                Method::Ack,
                Method::Bye,
                Method::Cancel,
                Method::Options,
                Method::Update,
                Method::Info,
                Method::Prack,
                Method::Refer,
                Method::Notify,
            ],
            supported: vec!["100rel", "timer", "replaces", "norefersub"],
            accepted_bodies: vec!["application/sdp", "multipart/mixed"],
        }
    }
}

impl UasPolicy {
    /// The value of an `Allow` header listing the allowed methods.
    pub fn allow_header(&self) -> Bytes {
        let list: Vec<String> = self.allowed.iter().map(ToString::to_string).collect();
        Bytes::from(list.join(", "))
    }

    /// The value of a `Supported` header.
    pub fn supported_header(&self) -> Bytes {
        Bytes::from(self.supported.join(", "))
    }

    /// Checks `req`; `Ok(())` means a transaction user should see it.
    pub fn check(&self, req: &Request) -> Result<(), Rejection> {
        let h = &req.headers;
        // §8.1.1: To, From, CSeq, Call-ID, Via are mandatory (Max-Forwards too, but RFC 2543
        // elements omit it and RFC 4475 §3.4.1 asks us to accept them).
        h.top_via()?;
        h.vias()?;
        h.from()?;
        h.to()?;
        h.call_id()?;
        let cseq = h.cseq()?;
        h.max_forwards()?;
        // §8.2.2.3 / RFC 4475 §3.1.2.17: the CSeq method must be the request's.
        if cseq.method != req.method {
            return Err(Rejection::new(
                StatusCode::BAD_REQUEST,
                "CSeq Method Does Not Match Request",
            ));
        }
        // §8.2.2.1: unsupported URI scheme.
        match &req.uri {
            Uri::Sip(u) if u.headers().is_some() => {
                // RFC 4475 §3.1.2.11: headers are not allowed in a Request-URI.
                return Err(Rejection::new(
                    StatusCode::BAD_REQUEST,
                    "Headers In Request-URI",
                ));
            }
            Uri::Sip(_) | Uri::Tel(_) => {}
            Uri::Other(_) => {
                return Err(Rejection::new(
                    StatusCode::UNSUPPORTED_URI_SCHEME,
                    "Unsupported URI Scheme",
                ));
            }
        }
        // §8.2.1: methods.
        if !self.allowed.contains(&req.method) {
            return Err(if matches!(req.method, Method::Extension(_)) {
                Rejection::new(StatusCode::NOT_IMPLEMENTED, "Not Implemented")
            } else {
                Rejection::new(StatusCode::METHOD_NOT_ALLOWED, "Method Not Allowed")
                    .with(HeaderName::Allow, self.allow_header())
            });
        }
        // §8.2.2.3: every Require option must be supported (not checked for ACK and CANCEL).
        if !matches!(req.method, Method::Ack | Method::Cancel) {
            let mut unknown = Vec::new();
            for line in h.get_all(&HeaderName::Require) {
                for tag in token_list(line).map_err(|reason| HeaderError::Malformed {
                    name: HeaderName::Require,
                    reason,
                })? {
                    if !self
                        .supported
                        .iter()
                        .any(|s| tag.eq_ignore_ascii_case(s.as_bytes()))
                    {
                        unknown.push(String::from_utf8_lossy(&tag).into_owned());
                    }
                }
            }
            if !unknown.is_empty() {
                return Err(Rejection::new(StatusCode::BAD_EXTENSION, "Bad Extension")
                    .with(HeaderName::Unsupported, unknown.join(", ")));
            }
        }
        // §8.2.3: a session body we cannot read.
        let session = matches!(
            req.method,
            Method::Invite | Method::Ack | Method::Update | Method::Prack
        );
        if session && !req.body.is_empty() {
            let understood = h.content_type().is_some_and(|ct| {
                self.accepted_bodies
                    .iter()
                    .any(|a| a.eq_ignore_ascii_case(&ct))
            });
            if !understood {
                return Err(Rejection::new(
                    StatusCode::UNSUPPORTED_MEDIA_TYPE,
                    "Unsupported Media Type",
                )
                .with(HeaderName::Accept, self.accepted_bodies.join(", ")));
            }
            if let Some(enc) = h.get(&HeaderName::ContentEncoding)
                && !enc.eq_ignore_ascii_case(b"identity")
            {
                return Err(Rejection::new(
                    StatusCode::UNSUPPORTED_MEDIA_TYPE,
                    "Unsupported Content-Encoding",
                )
                .with(
                    HeaderName::Other(Bytes::from_static(b"Accept-Encoding")),
                    "identity",
                ));
            }
        }
        // §21.4.7: an INVITE whose Accept excludes SDP cannot be answered with a session.
        if req.method == Method::Invite && h.contains(&HeaderName::Accept) {
            let accepts_sdp = h
                .values(&HeaderName::Accept)
                .filter_map(Result::ok)
                .any(|v| {
                    let media = v.split(|&b| b == b';').next().unwrap_or_default();
                    let media = crate::grammar::trim(media);
                    media.eq_ignore_ascii_case(b"application/sdp")
                        || media == b"*/*"
                        || media.eq_ignore_ascii_case(b"application/*")
                });
            if !accepts_sdp {
                return Err(Rejection::new(
                    StatusCode::new(406).expect("406 is valid"),
                    "Not Acceptable",
                )
                .with(HeaderName::Accept, "application/sdp"));
            }
        }
        Ok(())
    }
}
