//! Dialogs (RFC 3261 §12): identity, route set, remote target and sequence numbers, request
//! construction inside a dialog (§12.2.1.1), and the serialisable snapshot another process
//! rebuilds a live dialog from (session recovery).

use std::net::SocketAddr;

use bytes::Bytes;
use serde::{Deserialize, Serialize};

use crate::{
    HeaderName, Method, Request,
    header::{NameAddr, Transport},
    transaction::Flow,
    uri::Uri,
};

/// Which side of the dialog we are.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// We sent the dialog-creating request.
    Uac,
    /// We received it.
    Uas,
}

/// Dialog state (§12: early after a provisional with a tag, confirmed after a 2xx).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DialogState {
    /// Created by a 1xx.
    Early,
    /// Created or confirmed by a 2xx.
    Confirmed,
    /// Ended.
    Terminated,
}

/// The identity of a dialog (§12: Call-ID, local tag, remote tag).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct DialogKey {
    pub(crate) call_id: Bytes,
    pub(crate) local_tag: Bytes,
    pub(crate) remote_tag: Bytes,
}

/// What it takes to continue a dialog in another process: serialisable, free of
/// process-local handles.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DialogSnapshot {
    /// Call-ID.
    pub call_id: String,
    /// Our role.
    pub role: Role,
    /// Our URI (From in our requests).
    pub local_uri: String,
    /// Our display name.
    pub local_display: Option<String>,
    /// Our tag.
    pub local_tag: String,
    /// The peer's URI (To in our requests).
    pub remote_uri: String,
    /// The peer's display name.
    pub remote_display: Option<String>,
    /// The peer's tag.
    pub remote_tag: String,
    /// The last CSeq number we used.
    pub local_cseq: u32,
    /// The last CSeq number the peer used.
    pub remote_cseq: Option<u32>,
    /// Route set, in the order of the Route headers of our requests.
    pub route_set: Vec<String>,
    /// The peer's Contact.
    pub remote_target: String,
    /// `UDP`, `TCP`, `TLS`, `WS` or `WSS`.
    pub transport: String,
    /// Whether the dialog is SIPS (§12.1.1).
    pub secure: bool,
    /// The next hop last used for the peer, if known.
    pub next_hop: Option<SocketAddr>,
}

/// One dialog's state.
#[derive(Debug)]
pub(crate) struct Dialog {
    pub(crate) role: Role,
    pub(crate) state: DialogState,
    pub(crate) key: DialogKey,
    /// Our address-of-record (no tag).
    pub(crate) local: NameAddr,
    /// The peer's (no tag).
    pub(crate) remote: NameAddr,
    pub(crate) local_seq: u32,
    pub(crate) remote_seq: Option<u32>,
    /// Route header values of our requests, in order.
    pub(crate) route_set: Vec<Bytes>,
    pub(crate) remote_target: Uri,
    pub(crate) secure: bool,
    /// Where requests go (updated as the peer's messages arrive).
    pub(crate) flow: Flow,
}

impl Dialog {
    /// The From (UAC requests) / our side's header value.
    pub(crate) fn local_header(&self) -> Bytes {
        self.local
            .clone()
            .with_param("tag", Some(&String::from_utf8_lossy(&self.key.local_tag)))
            .to_bytes()
    }

    /// The peer's header value with its tag (none while an early UAC dialog has none).
    pub(crate) fn remote_header(&self) -> Bytes {
        if self.key.remote_tag.is_empty() {
            self.remote.to_bytes()
        } else {
            self.remote
                .clone()
                .with_param("tag", Some(&String::from_utf8_lossy(&self.key.remote_tag)))
                .to_bytes()
        }
    }

    /// Builds a request inside the dialog (§12.2.1.1): Request-URI and Route from the route
    /// set and remote target (loose or strict routing), To/From/Call-ID from the dialog, the
    /// next CSeq (or `cseq` when given, for ACK and CANCEL).
    pub(crate) fn request(&mut self, method: Method, cseq: Option<u32>) -> Request {
        let seq = match cseq {
            Some(s) => s,
            None => {
                self.local_seq = self.local_seq.wrapping_add(1) & 0x7fff_ffff;
                self.local_seq
            }
        };
        let strict = self.route_set.first().is_some_and(|r| {
            NameAddr::parse(r)
                .ok()
                .and_then(|n| n.uri.as_sip().map(|u| !u.params().has("lr")))
                .unwrap_or(false)
        });
        let (uri, routes): (Uri, Vec<Bytes>) = if strict {
            // Strict router: its URI becomes the Request-URI; the remote target goes last.
            let first = NameAddr::parse(&self.route_set[0])
                .map(|n| n.uri)
                .unwrap_or_else(|_| self.remote_target.clone());
            let mut rest: Vec<Bytes> = self.route_set[1..].to_vec();
            rest.push(NameAddr::new(self.remote_target.clone()).to_bytes());
            (first, rest)
        } else {
            (self.remote_target.clone(), self.route_set.clone())
        };
        let mut req = Request::new(method.clone(), uri);
        for r in routes {
            req.headers.push(HeaderName::Route, r);
        }
        req.headers
            .push(HeaderName::MaxForwards, Bytes::from_static(b"70"));
        req.headers.push(HeaderName::From, self.local_header());
        req.headers.push(HeaderName::To, self.remote_header());
        req.headers
            .push(HeaderName::CallId, self.key.call_id.clone());
        req.headers
            .push(HeaderName::CSeq, Bytes::from(format!("{seq} {method}")));
        req
    }

    /// The snapshot of this dialog.
    pub(crate) fn snapshot(&self) -> DialogSnapshot {
        let s = |b: &Bytes| String::from_utf8_lossy(b).into_owned();
        DialogSnapshot {
            call_id: s(&self.key.call_id),
            role: self.role,
            local_uri: self.local.uri.to_string(),
            local_display: self.local.display_name(),
            local_tag: s(&self.key.local_tag),
            remote_uri: self.remote.uri.to_string(),
            remote_display: self.remote.display_name(),
            remote_tag: s(&self.key.remote_tag),
            local_cseq: self.local_seq,
            remote_cseq: self.remote_seq,
            route_set: self.route_set.iter().map(s).collect(),
            remote_target: self.remote_target.to_string(),
            transport: String::from_utf8_lossy(self.flow.transport.as_bytes()).into_owned(),
            secure: self.secure,
            next_hop: Some(self.flow.remote),
        }
    }

    /// Rebuilds a confirmed dialog from a snapshot, sending through `flow`.
    pub(crate) fn from_snapshot(snap: &DialogSnapshot, flow: Flow) -> Result<Self, &'static str> {
        let uri = |s: &str| Uri::parse(Bytes::copy_from_slice(s.as_bytes()));
        let name_addr = |u: &str, display: &Option<String>| -> Result<NameAddr, &'static str> {
            let mut n = NameAddr::new(uri(u)?);
            if let Some(d) = display {
                n = n.with_display_name(d);
            }
            Ok(n)
        };
        if snap.call_id.is_empty() || snap.local_tag.is_empty() || snap.remote_tag.is_empty() {
            return Err("a confirmed dialog needs a Call-ID and both tags");
        }
        for r in &snap.route_set {
            NameAddr::parse(&Bytes::copy_from_slice(r.as_bytes()))?;
        }
        Ok(Self {
            role: snap.role,
            state: DialogState::Confirmed,
            key: DialogKey {
                call_id: Bytes::copy_from_slice(snap.call_id.as_bytes()),
                local_tag: Bytes::copy_from_slice(snap.local_tag.as_bytes()),
                remote_tag: Bytes::copy_from_slice(snap.remote_tag.as_bytes()),
            },
            local: name_addr(&snap.local_uri, &snap.local_display)?,
            remote: name_addr(&snap.remote_uri, &snap.remote_display)?,
            local_seq: snap.local_cseq,
            remote_seq: snap.remote_cseq,
            route_set: snap
                .route_set
                .iter()
                .map(|r| Bytes::copy_from_slice(r.as_bytes()))
                .collect(),
            remote_target: uri(&snap.remote_target)?,
            secure: snap.secure,
            flow: Flow {
                transport: Transport::from_bytes(snap.transport.as_bytes()),
                ..flow
            },
        })
    }
}
