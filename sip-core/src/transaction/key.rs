//! Transaction matching keys (RFC 3261 §17.1.3 for clients, §17.2.3 for servers).

use bytes::{BufMut, Bytes, BytesMut};

use crate::{Method, Request, Response, header::Via, uri::Host};

/// Identifies a transaction among all of the endpoint's.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) enum TransactionKey {
    /// RFC 3261: the branch (with its magic cookie), the method (ACK counts as INVITE) and,
    /// for server transactions, the sent-by of the top Via.
    Branch {
        branch: Bytes,
        method: Method,
        sent_by: Option<(Host, u16)>,
    },
    /// RFC 2543 requests (no magic cookie): Request-URI, From tag, Call-ID, CSeq number and
    /// top Via (§17.2.3, the To tag being checked separately for ACK).
    Legacy { fields: Bytes, method: Method },
}

fn key_method(m: &Method) -> Method {
    if *m == Method::Ack {
        Method::Invite
    } else {
        m.clone()
    }
}

fn lower_host(h: &Host) -> Host {
    match h {
        Host::Domain(d) => Host::Domain(Bytes::from(d.to_ascii_lowercase())),
        other => other.clone(),
    }
}

impl TransactionKey {
    /// The key of the server transaction a request belongs to (`method_override` matches a
    /// CANCEL against the INVITE it cancels).
    pub(crate) fn server(
        req: &Request,
        via: &Via,
        method_override: Option<Method>,
    ) -> Option<Self> {
        let method = method_override.unwrap_or_else(|| key_method(&req.method));
        if via.has_rfc3261_branch() {
            let branch = via.branch()?.clone();
            return Some(Self::Branch {
                branch,
                method,
                sent_by: Some((lower_host(&via.host), via.port_or_default())),
            });
        }
        let h = &req.headers;
        let mut b = BytesMut::with_capacity(256);
        b.put_slice(req.uri.as_bytes());
        b.put_u8(0);
        if let Ok(from) = h.from() {
            b.put_slice(from.tag().map(|t| t.as_ref()).unwrap_or_default());
        }
        b.put_u8(0);
        b.put_slice(h.call_id().ok()?);
        b.put_u8(0);
        b.put_slice(h.cseq().ok()?.seq.to_string().as_bytes());
        b.put_u8(0);
        b.put_slice(&via.to_bytes_without_received());
        Some(Self::Legacy {
            fields: b.freeze(),
            method,
        })
    }

    /// The key of the client transaction a response belongs to.
    pub(crate) fn client_for_response(resp: &Response) -> Option<Self> {
        let via = resp.headers.top_via().ok()?;
        let method = resp.headers.cseq().ok()?.method;
        Some(Self::Branch {
            branch: via.branch()?.clone(),
            method: key_method(&method),
            sent_by: None,
        })
    }

    /// The key of a client transaction we start with `branch`.
    pub(crate) fn client(branch: Bytes, method: &Method) -> Self {
        Self::Branch {
            branch,
            method: key_method(method),
            sent_by: None,
        }
    }
}

impl Via {
    /// The value without the parameters a receiver adds (`received`, `rport=`), so that a
    /// retransmission matches whatever the first copy was stamped with.
    pub(crate) fn to_bytes_without_received(&self) -> Bytes {
        let mut v = self.clone();
        v.params.remove("received");
        v.params.remove("rport");
        v.to_bytes()
    }
}
