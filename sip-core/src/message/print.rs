//! Printing messages to bytes (RFC 3261 §7). Header values are written as stored; callers
//! building a message set Content-Length (see [`Request::set_body`]).

use bytes::{BufMut, Bytes, BytesMut};

use super::{HeaderName, Headers, Message, Request, Response};

fn write_headers(h: &Headers, out: &mut BytesMut) {
    for header in h {
        out.put_slice(header.name.as_str().as_bytes());
        out.put_slice(b": ");
        out.put_slice(&header.value);
        out.put_slice(b"\r\n");
    }
    out.put_slice(b"\r\n");
}

fn estimate(h: &Headers, body: &Bytes) -> usize {
    64 + body.len() + h.iter().map(|x| x.value.len() + 24).sum::<usize>()
}

impl Request {
    /// Prints the request.
    pub fn to_bytes(&self) -> Bytes {
        let mut out = BytesMut::with_capacity(
            estimate(&self.headers, &self.body) + self.uri.as_bytes().len(),
        );
        self.write_to(&mut out);
        out.freeze()
    }

    /// Appends the printed request to `out`.
    pub fn write_to(&self, out: &mut BytesMut) {
        out.put_slice(self.method.as_bytes());
        out.put_u8(b' ');
        out.put_slice(self.uri.as_bytes());
        out.put_slice(b" SIP/2.0\r\n");
        write_headers(&self.headers, out);
        out.put_slice(&self.body);
    }

    /// Sets the body, its Content-Type (if `content_type` is given) and Content-Length.
    pub fn set_body(&mut self, content_type: Option<&str>, body: Bytes) {
        set_body(&mut self.headers, &mut self.body, content_type, body);
    }
}

impl Response {
    /// Prints the response.
    pub fn to_bytes(&self) -> Bytes {
        let mut out = BytesMut::with_capacity(estimate(&self.headers, &self.body));
        self.write_to(&mut out);
        out.freeze()
    }

    /// Appends the printed response to `out`.
    pub fn write_to(&self, out: &mut BytesMut) {
        out.put_slice(b"SIP/2.0 ");
        let code = self.status.code();
        out.put_slice(&[
            b'0' + (code / 100) as u8,
            b'0' + (code / 10 % 10) as u8,
            b'0' + (code % 10) as u8,
        ]);
        out.put_u8(b' ');
        out.put_slice(&self.reason);
        out.put_slice(b"\r\n");
        write_headers(&self.headers, out);
        out.put_slice(&self.body);
    }

    /// Sets the body, its Content-Type (if given) and Content-Length.
    pub fn set_body(&mut self, content_type: Option<&str>, body: Bytes) {
        set_body(&mut self.headers, &mut self.body, content_type, body);
    }
}

impl Message {
    /// Prints the message.
    pub fn to_bytes(&self) -> Bytes {
        match self {
            Self::Request(r) => r.to_bytes(),
            Self::Response(r) => r.to_bytes(),
        }
    }
}

fn set_body(headers: &mut Headers, slot: &mut Bytes, content_type: Option<&str>, body: Bytes) {
    if let Some(ct) = content_type {
        headers.set(
            HeaderName::ContentType,
            Bytes::copy_from_slice(ct.as_bytes()),
        );
    } else if body.is_empty() {
        headers.remove(&HeaderName::ContentType);
    }
    headers.set(
        HeaderName::ContentLength,
        Bytes::from(body.len().to_string()),
    );
    *slot = body;
}
