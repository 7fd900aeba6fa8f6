//! The message parser: a hand-written scanner over `Bytes` (RFC 3261 §7, §25).
//!
//! Datagrams carry one message; extra octets after the body are ignored and a missing
//! Content-Length means "the rest of the datagram" (§18.3). Streams are framed by
//! Content-Length, with CRLF keep-alives skipped (RFC 5626 §3.5.1).

use bytes::{BufMut, Bytes, BytesMut};
use memchr::memchr;

use super::{HeaderError, HeaderName, Headers, Message, Method, Request, Response, StatusCode};
use crate::{grammar, uri::Uri};

/// Why a byte string is not a SIP message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ParseErrorKind {
    /// A stream needs more bytes.
    #[error("incomplete message")]
    Incomplete,
    /// Only CRLFs (a keep-alive), no message.
    #[error("no message, only line ends")]
    Empty,
    /// Larger than the configured limit.
    #[error("message too large")]
    TooLarge,
    /// The request or status line does not follow the grammar.
    #[error("malformed start line: {0}")]
    StartLine(&'static str),
    /// A SIP version other than 2.0 (answered with 505).
    #[error("SIP version not supported")]
    Version,
    /// A header line is not `name: value`.
    #[error("malformed header line")]
    HeaderLine,
    /// Content-Length is malformed or repeated.
    #[error("{0}")]
    Header(HeaderError),
    /// Content-Length says more than the datagram holds (RFC 4475 §3.1.2.2).
    #[error("body shorter than Content-Length")]
    BodyTruncated,
}

/// A parse failure, with the headers of a request that could still be answered (400, 505,
/// 513) when the start line at least looked like a request.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{kind}")]
pub struct ParseError {
    /// What went wrong.
    pub kind: ParseErrorKind,
    /// The header lines read before the failure, when the message looked like a request.
    pub request_headers: Option<Headers>,
}

impl ParseError {
    fn new(kind: ParseErrorKind) -> Self {
        Self {
            kind,
            request_headers: None,
        }
    }

    /// The status a UAS answers with.
    pub fn status(&self) -> StatusCode {
        match self.kind {
            ParseErrorKind::Version => StatusCode::VERSION_NOT_SUPPORTED,
            ParseErrorKind::TooLarge => StatusCode::MESSAGE_TOO_LARGE,
            _ => StatusCode::BAD_REQUEST,
        }
    }

    /// A reason phrase naming the problem.
    pub fn reason_phrase(&self) -> String {
        match &self.kind {
            ParseErrorKind::StartLine(r) => format!("Malformed Start Line ({r})"),
            ParseErrorKind::Version => "Version Not Supported".into(),
            ParseErrorKind::TooLarge => "Message Too Large".into(),
            ParseErrorKind::HeaderLine => "Malformed Header Line".into(),
            ParseErrorKind::Header(h) => h.reason_phrase(),
            ParseErrorKind::BodyTruncated => "Body Shorter Than Content-Length".into(),
            ParseErrorKind::Incomplete | ParseErrorKind::Empty => "Bad Request".into(),
        }
    }
}

#[allow(
    clippy::large_enum_variant,
    reason = "built once per message and moved straight into it"
)]
enum StartLine {
    Request {
        method: Method,
        uri: Uri,
        version_ok: bool,
    },
    Response {
        status: StatusCode,
        reason: Bytes,
    },
}

/// The head of a message: start line and headers, plus where the body begins.
struct Head {
    start: Result<StartLine, ParseErrorKind>,
    looks_like_request: bool,
    headers: Headers,
    header_error: Option<ParseErrorKind>,
    body_start: usize,
}

/// Parses one message from a datagram.
pub fn parse(datagram: Bytes) -> Result<Message, ParseError> {
    let head = parse_head(&datagram, true)?;
    let available = datagram.len() - head.body_start;
    let body_len = match head.headers.content_length() {
        Ok(Some(n)) => n,
        Ok(None) => available,
        Err(e) => return Err(fail(head, ParseErrorKind::Header(e))),
    };
    if body_len > available {
        return Err(fail(head, ParseErrorKind::BodyTruncated));
    }
    let body = datagram.slice(head.body_start..head.body_start + body_len);
    finish(head, body)
}

/// Frames and parses the first message of a stream buffer, consuming it. `Ok(None)` when
/// more bytes are needed. Leading CRLFs (keep-alives) are consumed. Messages over `max`
/// bytes are refused.
pub fn parse_stream(buf: &mut BytesMut, max: usize) -> Result<Option<Message>, ParseError> {
    let skip = buf
        .iter()
        .take_while(|&&b| b == b'\r' || b == b'\n')
        .count();
    let _ = buf.split_to(skip);
    if buf.is_empty() {
        return Ok(None);
    }
    let Some(head_end) = find_head_end(buf) else {
        if buf.len() > max {
            return Err(ParseError::new(ParseErrorKind::TooLarge));
        }
        return Ok(None);
    };
    let probe = Bytes::copy_from_slice(&buf[..head_end]);
    let head = parse_head(&probe, false)?;
    let body_len = match head.headers.content_length() {
        Ok(n) => n.unwrap_or(0),
        Err(e) => {
            // Without a trustworthy length the stream cannot be re-synchronised.
            let _ = buf.split_to(head_end);
            return Err(fail(head, ParseErrorKind::Header(e)));
        }
    };
    if head_end + body_len > max {
        let _ = buf.split_to(buf.len().min(head_end + body_len));
        return Err(fail(head, ParseErrorKind::TooLarge));
    }
    if buf.len() < head_end + body_len {
        return Ok(None);
    }
    let frame = buf.split_to(head_end + body_len).freeze();
    let head = parse_head(&frame, false)?;
    let body = frame.slice(head.body_start..);
    finish(head, body).map(Some)
}

/// The offset just past the blank line ending the header section.
fn find_head_end(buf: &[u8]) -> Option<usize> {
    let mut i = 0;
    while let Some(nl) = memchr(b'\n', &buf[i..]) {
        let nl = i + nl;
        // blank line: "\n\n" or "\n\r\n"
        match buf.get(nl + 1) {
            Some(b'\n') => return Some(nl + 2),
            Some(b'\r') if buf.get(nl + 2) == Some(&b'\n') => return Some(nl + 3),
            _ => {}
        }
        i = nl + 1;
    }
    None
}

fn fail(head: Head, kind: ParseErrorKind) -> ParseError {
    ParseError {
        kind,
        request_headers: head.looks_like_request.then_some(head.headers),
    }
}

fn finish(head: Head, body: Bytes) -> Result<Message, ParseError> {
    if let Some(kind) = head.header_error.clone() {
        return Err(fail(head, kind));
    }
    match head.start {
        Ok(StartLine::Request {
            method,
            uri,
            version_ok,
        }) => {
            if !version_ok {
                return Err(ParseError {
                    kind: ParseErrorKind::Version,
                    request_headers: Some(head.headers),
                });
            }
            Ok(Message::Request(Request {
                method,
                uri,
                headers: head.headers,
                body,
            }))
        }
        Ok(StartLine::Response { status, reason }) => Ok(Message::Response(Response {
            status,
            reason,
            headers: head.headers,
            body,
        })),
        Err(kind) => Err(ParseError {
            kind,
            request_headers: head.looks_like_request.then_some(head.headers),
        }),
    }
}

/// One line: `(start, end_without_line_end, next_line_start)`.
fn next_line(src: &[u8], from: usize) -> Option<(usize, usize, usize)> {
    let nl = from + memchr(b'\n', &src[from..])?;
    let end = if nl > from && src[nl - 1] == b'\r' {
        nl - 1
    } else {
        nl
    };
    Some((from, end, nl + 1))
}

fn parse_head(src: &Bytes, datagram: bool) -> Result<Head, ParseError> {
    let s = &src[..];
    let mut i = s.iter().take_while(|&&b| b == b'\r' || b == b'\n').count();
    if i == s.len() {
        return Err(ParseError::new(ParseErrorKind::Empty));
    }
    let incomplete = || {
        ParseError::new(if datagram {
            ParseErrorKind::StartLine("no line end")
        } else {
            ParseErrorKind::Incomplete
        })
    };
    let (ls, le, next) = next_line(s, i).ok_or_else(incomplete)?;
    let looks_like_request = !s[ls..le].starts_with(b"SIP/");
    let start = parse_start_line(src, ls, le);
    i = next;

    let mut headers = Headers::with_capacity(16);
    let mut header_error = None;
    // The header being read: name, value range, and an owned buffer once folding occurs.
    let mut pending: Option<(HeaderName, usize, usize, Option<BytesMut>)> = None;
    let body_start = loop {
        let Some((ls, le, next)) = next_line(s, i) else {
            if datagram {
                // No blank line: the headers run to the end and there is no body.
                break s.len();
            }
            return Err(incomplete());
        };
        if ls == le {
            break next;
        }
        if grammar::is_ws(s[ls]) {
            // Folded continuation of the previous header (RFC 3261 §7.3.1).
            let (a, b) = grammar::trim_range(s, ls, le);
            match &mut pending {
                Some((_, vs, ve, folded)) => {
                    if a < b {
                        let buf = folded.get_or_insert_with(|| BytesMut::from(&s[*vs..*ve]));
                        if !buf.is_empty() {
                            buf.put_u8(b' ');
                        }
                        buf.put_slice(&s[a..b]);
                    }
                }
                None => header_error = header_error.or(Some(ParseErrorKind::HeaderLine)),
            }
            i = next;
            continue;
        }
        if let Some(p) = pending.take() {
            push_header(&mut headers, src, p);
        }
        match memchr(b':', &s[ls..le]) {
            Some(colon) => {
                let (na, nb) = grammar::trim_range(s, ls, ls + colon);
                let name = &s[na..nb];
                match HeaderName::known(name) {
                    Some(n) => pending = Some((n, 0, 0, None)),
                    None if grammar::is_token_str(name) => {
                        pending = Some((HeaderName::Other(src.slice(na..nb)), 0, 0, None))
                    }
                    None => header_error = header_error.or(Some(ParseErrorKind::HeaderLine)),
                }
                if let Some(p) = &mut pending {
                    let (va, vb) = grammar::trim_range(s, ls + colon + 1, le);
                    p.1 = va;
                    p.2 = vb;
                }
            }
            None => header_error = header_error.or(Some(ParseErrorKind::HeaderLine)),
        }
        i = next;
    };
    if let Some(p) = pending.take() {
        push_header(&mut headers, src, p);
    }
    Ok(Head {
        start,
        looks_like_request,
        headers,
        header_error,
        body_start,
    })
}

fn push_header(
    headers: &mut Headers,
    src: &Bytes,
    (name, vs, ve, folded): (HeaderName, usize, usize, Option<BytesMut>),
) {
    let value = match folded {
        Some(buf) => buf.freeze(),
        None => src.slice(vs..ve),
    };
    headers.push(name, value);
}

fn parse_start_line(src: &Bytes, ls: usize, le: usize) -> Result<StartLine, ParseErrorKind> {
    let line = &src[ls..le];
    if line.starts_with(b"SIP/") {
        // Status-Line = SIP-Version SP Status-Code SP Reason-Phrase (RFC 3261 §7.2)
        let sp = memchr(b' ', line).ok_or(ParseErrorKind::StartLine("no status code"))?;
        if !line[..sp].eq_ignore_ascii_case(b"SIP/2.0") {
            return Err(ParseErrorKind::Version);
        }
        let rest = &line[sp + 1..];
        let code_end = memchr(b' ', rest).unwrap_or(rest.len());
        if code_end != 3 {
            return Err(ParseErrorKind::StartLine("status code is not three digits"));
        }
        let code = grammar::parse_decimal(&rest[..3], 699)
            .and_then(|c| StatusCode::new(c as u16))
            .ok_or(ParseErrorKind::StartLine("status code out of range"))?;
        let reason_start = ls + sp + 1 + (code_end + 1).min(rest.len());
        Ok(StartLine::Response {
            status: code,
            reason: src.slice(reason_start..le),
        })
    } else {
        // Request-Line = Method SP Request-URI SP SIP-Version (single spaces, RFC 3261 §7.1)
        let sp1 = memchr(b' ', line).ok_or(ParseErrorKind::StartLine("no Request-URI"))?;
        let method =
            Method::from_bytes(&line[..sp1]).ok_or(ParseErrorKind::StartLine("bad method"))?;
        let rest = &line[sp1 + 1..];
        let sp2 = memchr(b' ', rest).ok_or(ParseErrorKind::StartLine("no SIP version"))?;
        let version = &rest[sp2 + 1..];
        if version.contains(&b' ') || version.contains(&b'\t') || version.is_empty() {
            return Err(ParseErrorKind::StartLine("extra whitespace"));
        }
        let uri_start = ls + sp1 + 1;
        let uri =
            Uri::parse(src.slice(uri_start..uri_start + sp2)).map_err(ParseErrorKind::StartLine)?;
        let version_ok = version.eq_ignore_ascii_case(b"SIP/2.0");
        if !version_ok && !is_sip_version(version) {
            return Err(ParseErrorKind::StartLine("bad SIP version"));
        }
        Ok(StartLine::Request {
            method,
            uri,
            version_ok,
        })
    }
}

/// `"SIP" "/" 1*DIGIT "." 1*DIGIT`
fn is_sip_version(v: &[u8]) -> bool {
    let Some(rest) = v.strip_prefix(b"SIP/").or_else(|| v.strip_prefix(b"sip/")) else {
        return false;
    };
    let Some(dot) = memchr(b'.', rest) else {
        return false;
    };
    dot > 0
        && dot + 1 < rest.len()
        && rest
            .iter()
            .enumerate()
            .all(|(i, b)| i == dot || b.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;

    const INVITE: &[u8] = b"INVITE sip:bob@biloxi.com SIP/2.0\r\n\
Via: SIP/2.0/UDP pc33.atlanta.com;branch=z9hG4bK776asdhds\r\n\
Max-Forwards: 70\r\nTo: Bob <sip:bob@biloxi.com>\r\nFrom: Alice <sip:alice@atlanta.com>;tag=1928301774\r\n\
Call-ID: a84b4c76e66710@pc33.atlanta.com\r\nCSeq: 314159 INVITE\r\nContact: <sip:alice@pc33.atlanta.com>\r\n\
Content-Type: application/sdp\r\nContent-Length: 4\r\n\r\nv=0\n";

    #[test]
    fn datagram() {
        let Message::Request(r) = parse(Bytes::from_static(INVITE)).unwrap() else {
            panic!()
        };
        assert_eq!(r.method, Method::Invite);
        assert_eq!(r.body.as_ref(), b"v=0\n");
        assert_eq!(r.headers.cseq().unwrap().seq, 314159);
        assert_eq!(
            r.headers.from().unwrap().tag().unwrap().as_ref(),
            b"1928301774"
        );
    }

    #[test]
    fn stream_framing_and_keepalives() {
        let mut buf = BytesMut::new();
        buf.put_slice(b"\r\n\r\n");
        buf.put_slice(&INVITE[..100]);
        assert_eq!(parse_stream(&mut buf, 65536).unwrap(), None);
        buf.put_slice(&INVITE[100..]);
        buf.put_slice(&INVITE[..10]);
        assert!(matches!(
            parse_stream(&mut buf, 65536).unwrap(),
            Some(Message::Request(_))
        ));
        assert_eq!(buf.len(), 10);
        assert_eq!(parse_stream(&mut buf, 65536).unwrap(), None);
    }

    #[test]
    fn stream_limits() {
        let mut buf = BytesMut::from(
            &b"INVITE sip:a@b SIP/2.0\r\nContent-Length: 100000\r\nCall-ID: x\r\n\r\n"[..],
        );
        let e = parse_stream(&mut buf, 65536).unwrap_err();
        assert_eq!(e.kind, ParseErrorKind::TooLarge);
        assert!(e.request_headers.is_some());
        let mut buf = BytesMut::from(&vec![b'a'; 70000][..]);
        assert_eq!(
            parse_stream(&mut buf, 65536).unwrap_err().kind,
            ParseErrorKind::TooLarge
        );
    }

    #[test]
    fn start_lines() {
        assert!(
            matches!(parse(Bytes::from_static(b"SIP/2.0 100 \r\n\r\n")), Ok(Message::Response(r)) if r.reason.is_empty())
        );
        assert!(matches!(
            parse(Bytes::from_static(b"SIP/2.0 180\r\n\r\n")),
            Ok(Message::Response(_))
        ));
        assert_eq!(
            parse(Bytes::from_static(b"SIP/2.0 4294967301 x\r\n\r\n"))
                .unwrap_err()
                .kind,
            ParseErrorKind::StartLine("status code is not three digits")
        );
        assert_eq!(
            parse(Bytes::from_static(
                b"OPTIONS sip:a@b SIP/7.0\r\nCall-ID: x\r\n\r\n"
            ))
            .unwrap_err()
            .kind,
            ParseErrorKind::Version
        );
        assert!(parse(Bytes::from_static(b"INVITE  sip:a@b  SIP/2.0\r\n\r\n")).is_err());
        assert!(parse(Bytes::from_static(b"INVITE sip:a@b SIP/2.0  \r\n\r\n")).is_err());
        assert_eq!(
            parse(Bytes::from_static(b"\r\n\r\n")).unwrap_err().kind,
            ParseErrorKind::Empty
        );
    }
}
