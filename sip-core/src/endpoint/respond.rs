//! Answering requests (RFC 3261 §8.2.6): response construction, UAS dialog creation
//! (§12.1.1), 2xx retransmission until ACK (§13.3.1.4), reliable provisionals (RFC 3262 §3)
//! and the session timer negotiation of a UAS (RFC 4028 §9).

use std::time::Instant;

use bytes::Bytes;

use super::{
    DialogEntry, DialogId, DialogTimer, Endpoint, Error, Pending2xx, Refresher,
    ReliableProvisional, ResponseSpec, ServerTxId, Session, Termination, TimerRef,
    incoming::response_flow, sdp_of, sent_by,
};
use crate::{
    HeaderName, Headers, Method, Response, StatusCode,
    arena::Key,
    dialog::{Dialog, DialogKey, DialogState, Role},
    grammar,
    header::{NameAddr, Transport},
    transaction::Flow,
    uri::{SipUri, Uri},
};

impl Endpoint {
    /// Answers a request. For an INVITE, a 101–299 response creates (or confirms) the dialog,
    /// whose id is returned; a 2xx is retransmitted until its ACK arrives.
    pub fn respond(
        &mut self,
        now: Instant,
        tx: ServerTxId,
        spec: ResponseSpec,
    ) -> Result<Option<DialogId>, Error> {
        let status = spec.status.unwrap_or(StatusCode::OK);
        let entry = self.servers.get(tx.0).ok_or(Error::UnknownTransaction)?;
        if !entry.tx.accepts_response(status) {
            return Err(Error::UnknownTransaction);
        }
        let req = entry.tx.request.clone();
        let flow = entry.tx.flow.clone();
        let mut dialog = entry.dialog;
        let req_to = req.headers.to().ok();
        let initial_invite =
            req.method == Method::Invite && req_to.as_ref().is_some_and(|t| t.tag().is_none());

        // Our tag: every response above 100 to a request without one carries the same tag.
        let to_tag = if status.code() > 100 && req_to.as_ref().is_some_and(|t| t.tag().is_none()) {
            let existing = self.servers.get(tx.0).and_then(|e| e.to_tag.clone());
            let tag = existing.unwrap_or_else(|| self.new_tag());
            self.servers.get_mut(tx.0).expect("checked").to_tag = Some(tag.clone());
            Some(tag)
        } else {
            None
        };

        let creates_dialog = initial_invite && (101..300).contains(&status.code());
        if creates_dialog && dialog.is_none() {
            let tag = to_tag.clone().expect("a tag was assigned above");
            dialog = Some(self.create_uas_dialog(&req, &flow, tag)?);
            self.servers.get_mut(tx.0).expect("checked").dialog = dialog;
            if let Some(d) = dialog {
                self.dialogs.get_mut(d).expect("created").invite_tx = Some(tx.0);
            }
        }

        let mut resp = Response::new(status);
        if let Some(reason) = &spec.reason {
            resp.reason = Bytes::from(reason.clone());
        }
        let h = &req.headers;
        for line in h.get_all(&HeaderName::Via) {
            resp.headers.push(HeaderName::Via, line.clone());
        }
        if creates_dialog {
            for line in h.get_all(&HeaderName::RecordRoute) {
                resp.headers.push(HeaderName::RecordRoute, line.clone());
            }
        }
        for name in [
            HeaderName::From,
            HeaderName::To,
            HeaderName::CallId,
            HeaderName::CSeq,
        ] {
            if let Some(v) = h.get(&name) {
                let v = match (&name, &to_tag) {
                    (HeaderName::To, Some(tag)) => Bytes::from(format!(
                        "{};tag={}",
                        String::from_utf8_lossy(v),
                        String::from_utf8_lossy(tag)
                    )),
                    _ => v.clone(),
                };
                resp.headers.push(name, v);
            }
        }
        let has = |n: &HeaderName| spec.headers.iter().any(|(x, _)| x == n);
        let target_refresh_answer = matches!(
            req.method,
            Method::Invite | Method::Update | Method::Subscribe | Method::Refer | Method::Notify
        ) && (status.code() > 100 && status.code() < 300);
        if target_refresh_answer && !has(&HeaderName::Contact) {
            let user = req.uri.user().cloned();
            resp.headers
                .push(HeaderName::Contact, self.contact_for(&flow, user.as_ref()));
        }
        if status.is_success() && matches!(req.method, Method::Invite | Method::Options) {
            if !has(&HeaderName::Allow) {
                resp.headers
                    .push(HeaderName::Allow, self.config.policy.allow_header());
            }
            if !has(&HeaderName::Supported) {
                resp.headers
                    .push(HeaderName::Supported, self.config.policy.supported_header());
            }
        }

        // RFC 3262 §3: a reliable provisional carries Require: 100rel and an RSeq.
        let reliable = spec.reliable
            && req.method == Method::Invite
            && (101..200).contains(&status.code())
            && h.supports("100rel");
        let mut rseq = None;
        if reliable {
            let d = dialog.ok_or(Error::InvalidState("reliable provisional without a dialog"))?;
            let e = self.dialogs.get_mut(d).expect("exists");
            if e.reliable.is_some() {
                return Err(Error::ProvisionalPending);
            }
            let n = e.next_rseq;
            e.next_rseq = e.next_rseq.wrapping_add(1);
            rseq = Some(n);
            resp.headers
                .push(HeaderName::Require, Bytes::from_static(b"100rel"));
            resp.headers
                .push(HeaderName::RSeq, Bytes::from(n.to_string()));
        }

        // RFC 4028 §9: the session timer goes into the 2xx of INVITE and UPDATE.
        if status.is_success()
            && matches!(req.method, Method::Invite | Method::Update)
            && let Some(d) = dialog
        {
            if initial_invite {
                self.negotiate_uas_session(d, h);
            }
            if let Some(e) = self.dialogs.get(d)
                && let Some(s) = e.session
            {
                let refresher = match (s.refresher, e.d.role) {
                    (Refresher::Us, Role::Uas) | (Refresher::Them, Role::Uac) => "uas",
                    _ => "uac",
                };
                resp.headers.push(
                    HeaderName::SessionExpires,
                    Bytes::from(format!("{};refresher={refresher}", s.interval)),
                );
                if e.peer_timer {
                    resp.headers
                        .push(HeaderName::Require, Bytes::from_static(b"timer"));
                }
            }
        }
        resp.headers.push(
            HeaderName::Server,
            Bytes::from(self.config.user_agent.clone()),
        );
        for (n, v) in &spec.headers {
            resp.headers.push(n.clone(), v.clone());
        }
        match &spec.body {
            Some((ct, body)) => resp.set_body(Some(ct), body.clone()),
            None => resp
                .headers
                .push(HeaderName::ContentLength, Bytes::from_static(b"0")),
        }
        let wire = resp.to_bytes();

        let cfg = self.config.timers;
        let actions = self
            .servers
            .get_mut(tx.0)
            .expect("checked")
            .tx
            .send_response(now, &cfg, status, wire.clone());
        let cseq = h.cseq().map(|c| c.seq).unwrap_or(0);
        let via = h.top_via().ok();
        let out = response_flow(&flow, via.as_ref());

        if let Some(d) = dialog {
            if let Some(sdp) = sdp_of(&resp.headers, &resp.body)
                && let Some(e) = self.dialogs.get_mut(d)
            {
                e.local_sdp = Some(sdp);
            }
            if let Some(n) = rseq {
                let e = self.dialogs.get_mut(d).expect("exists");
                e.reliable = Some(ReliableProvisional {
                    rseq: n,
                    cseq,
                    wire: wire.clone(),
                    flow: out.clone(),
                    interval: cfg.t1,
                    give_up: now + cfg.timeout(),
                    server_tx: tx.0,
                });
                self.arm_dialog_timer(d, DialogTimer::RetransmitReliable, now + cfg.t1);
            }
            if req.method == Method::Invite && status.is_final() {
                if let Some(e) = self.dialogs.get_mut(d) {
                    e.invite_tx = None;
                    e.reliable = None;
                    e.timers[DialogTimer::RetransmitReliable as usize] = None;
                }
                if status.is_success() {
                    let e = self.dialogs.get_mut(d).expect("exists");
                    e.d.state = DialogState::Confirmed;
                    e.pending_2xx = Some(Pending2xx {
                        wire,
                        flow: out.clone(),
                        cseq,
                        interval: cfg.t1,
                        give_up: now + cfg.timeout(),
                    });
                    // §13.3.1.4: retransmit until the ACK (on unreliable transports; the give-up
                    // applies to every transport).
                    let first = if out.transport.is_reliable() {
                        now + cfg.timeout()
                    } else {
                        now + cfg.t1
                    };
                    self.arm_dialog_timer(d, DialogTimer::Retransmit2xx, first);
                    self.arm_session_timer(now, d);
                } else if initial_invite {
                    self.terminate_dialog(now, d, Termination::Failed(status));
                }
            } else if req.method == Method::Update && status.is_success() {
                self.arm_session_timer(now, d);
            }
        }
        self.run_server_actions(tx.0, actions);
        Ok(dialog.map(DialogId))
    }

    fn create_uas_dialog(
        &mut self,
        req: &crate::Request,
        flow: &Flow,
        local_tag: Bytes,
    ) -> Result<Key, Error> {
        let h = &req.headers;
        let from = h.from().map_err(|_| Error::Invalid("From"))?;
        let to = h.to().map_err(|_| Error::Invalid("To"))?;
        let call_id = h.call_id().map_err(|_| Error::Invalid("Call-ID"))?.clone();
        let remote_tag = from.tag().cloned().unwrap_or_default();
        let remote_target = h
            .contact()
            .map(|c| c.uri)
            .unwrap_or_else(|_| from.uri.clone());
        let secure = matches!(&req.uri, Uri::Sip(u) if u.is_secure());
        let key = DialogKey {
            call_id,
            local_tag,
            remote_tag,
        };
        let strip = |mut n: NameAddr| {
            n.params = crate::header::Params::new();
            n
        };
        let d = Dialog {
            role: Role::Uas,
            state: DialogState::Early,
            key: key.clone(),
            local: strip(to),
            remote: strip(from),
            local_seq: (self.rng.below(1 << 16) + 1) as u32,
            remote_seq: h.cseq().ok().map(|c| c.seq),
            route_set: route_values(h, &HeaderName::RecordRoute),
            remote_target,
            secure,
            flow: self.next_hop_flow(flow.clone()),
        };
        let mut entry = DialogEntry::new(d, None);
        entry.peer_100rel = h.supports("100rel");
        entry.peer_timer = h.supports("timer");
        entry.peer_update = allows(h, "UPDATE");
        let id = self.dialogs.insert(entry);
        self.dialog_index.insert(key, id);
        Ok(id)
    }

    /// RFC 4028 §9: adopt the UAC's Session-Expires (or offer ours when it supports timers).
    fn negotiate_uas_session(&mut self, d: Key, h: &Headers) {
        let cfg = self.config.session_timer;
        if !cfg.enabled {
            return;
        }
        let Some(e) = self.dialogs.get_mut(d) else {
            return;
        };
        let asked = super::incoming::session_expires(h);
        let session = match asked {
            Some((interval, refresher)) => {
                let them = match refresher.as_deref() {
                    Some(b"uac") => true,
                    Some(b"uas") => false,
                    _ => e.peer_timer,
                };
                Some(Session {
                    interval: interval.max(cfg.min_se),
                    refresher: if them { Refresher::Them } else { Refresher::Us },
                })
            }
            None if e.peer_timer => Some(Session {
                interval: cfg.expires,
                refresher: Refresher::Them,
            }),
            None => None,
        };
        e.session = session;
    }

    /// A flow for requests to the peer: the same transport and local address, no connection
    /// pinning for datagrams.
    pub(super) fn next_hop_flow(&self, flow: Flow) -> Flow {
        flow
    }

    /// Our Contact for a flow (RFC 3261 §8.1.1.8), with `transport=` for streams.
    pub(super) fn contact_for(&self, flow: &Flow, user: Option<&Bytes>) -> Bytes {
        let listener = self
            .listeners
            .iter()
            .find(|l| l.transport == flow.transport && l.local == flow.local)
            .or_else(|| {
                self.listeners
                    .iter()
                    .find(|l| l.transport == flow.transport)
            });
        let (host, port) = match listener {
            Some(l) => sent_by(l),
            None => (crate::uri::Host::from(flow.local.ip()), flow.local.port()),
        };
        let secure = false;
        let mut uri = SipUri::new(secure, user.map(|u| u.as_ref()), host, Some(port));
        match flow.transport {
            Transport::Udp => {}
            Transport::Tcp => uri = uri.with_param("transport", Some("tcp")),
            Transport::Tls => uri = uri.with_param("transport", Some("tls")),
            Transport::Ws => uri = uri.with_param("transport", Some("ws")),
            Transport::Wss => uri = uri.with_param("transport", Some("wss")),
            _ => {}
        }
        NameAddr::new(Uri::Sip(uri)).to_bytes()
    }

    pub(super) fn arm_dialog_timer(&mut self, d: Key, which: DialogTimer, at: Instant) {
        if let Some(e) = self.dialogs.get_mut(d) {
            e.timers[which as usize] = Some(at);
            self.schedule(at, TimerRef::Dialog(d, which));
        }
    }

    /// Ends a dialog: its timers stop, its pending INVITE transaction (if any) gets 487, and the
    /// transaction user hears why.
    pub(super) fn terminate_dialog(&mut self, now: Instant, d: Key, reason: Termination) {
        let Some(entry) = self.dialogs.remove(d) else {
            return;
        };
        if self.dialog_index.get(&entry.d.key) == Some(&d) {
            self.dialog_index.remove(&entry.d.key);
        }
        if let Some(tx) = entry.invite_tx
            && self
                .servers
                .get(tx)
                .is_some_and(|e| e.tx.accepts_response(StatusCode::REQUEST_TERMINATED))
            && !matches!(reason, Termination::Failed(_))
        {
            let _ = self.respond(
                now,
                ServerTxId(tx),
                ResponseSpec::new(StatusCode::REQUEST_TERMINATED),
            );
        }
        self.emit(super::Event::DialogTerminated {
            dialog: DialogId(d),
            reason,
        });
    }
}

/// Route/Record-Route values, one per URI, in order.
pub(super) fn route_values(h: &Headers, name: &HeaderName) -> Vec<Bytes> {
    let mut out = Vec::new();
    for line in h.get_all(name) {
        if let Ok(parts) = grammar::split_commas(line) {
            out.extend(
                parts
                    .into_iter()
                    .filter(|(a, b)| a < b)
                    .map(|(a, b)| line.slice(a..b)),
            );
        }
    }
    out
}

/// Whether the Allow header lists `method`.
pub(super) fn allows(h: &Headers, method: &str) -> bool {
    h.allow().is_ok_and(|list| {
        list.iter()
            .any(|m| m.eq_ignore_ascii_case(method.as_bytes()))
    })
}
