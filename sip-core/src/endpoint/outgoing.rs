//! Requests we send: initial INVITEs and out-of-dialog requests (§8.1), requests inside a
//! dialog (§12.2.1), CANCEL (§9.1), the ACK of a 2xx (§13.2.2.4), PRACK (RFC 3262 §4),
//! digest retries (§22.2) and glare retries (§14.1); and what their responses do: UAC
//! dialogs (§12.1.2, §13.2.2.4) including forks.

use std::{net::SocketAddr, time::Instant};

use bytes::Bytes;

use super::{
    CancelState, ClientEntry, DialogEntry, DialogId, Endpoint, Error, Event, InviteSpec, Outgoing,
    Purpose, Refresher, RequestId, RequestSpec, Session, Termination, TimerRef,
    incoming::session_expires,
    is_target_refresh,
    respond::{allows, route_values},
    sdp_of, sent_by,
};
use crate::{
    HeaderName, Method, Request, Response, StatusCode,
    arena::Key,
    auth,
    dialog::{Dialog, DialogKey, DialogState, Role},
    header::{NameAddr, Transport},
    transaction::{ClientState, ClientTransaction, Flow, TransactionKey},
    uri::{Host, Uri},
};

impl Endpoint {
    /// Sends a new INVITE. Responses come back as [`Event::Response`] with this id; 1xx with a
    /// tag create early dialogs, the first 2xx the dialog (its ACK is sent here when the INVITE
    /// carried the offer; otherwise [`Event::AckNeeded`] asks for [`Endpoint::ack`]).
    pub fn invite(&mut self, now: Instant, spec: InviteSpec) -> Result<RequestId, Error> {
        let (transport, addr) = spec.next_hop.clone();
        let flow = self.flow_to(&transport, addr, None)?;
        let call_id = spec
            .call_id
            .clone()
            .unwrap_or_else(|| Bytes::from(self.rng.hex(32)));
        let tag = spec.from_tag.clone().unwrap_or_else(|| self.new_tag());
        let cseq = (self.rng.below(1 << 16) + 1) as u32;
        let mut req = Request::new(Method::Invite, spec.uri.clone());
        for r in &spec.route {
            req.headers.push(HeaderName::Route, r.clone());
        }
        req.headers
            .push(HeaderName::MaxForwards, Bytes::from_static(b"70"));
        req.headers.push(
            HeaderName::From,
            spec.from
                .clone()
                .with_param("tag", Some(&String::from_utf8_lossy(&tag)))
                .to_bytes(),
        );
        req.headers.push(HeaderName::To, spec.to.to_bytes());
        req.headers.push(HeaderName::CallId, call_id);
        req.headers
            .push(HeaderName::CSeq, Bytes::from(format!("{cseq} INVITE")));
        let user = spec.from.uri.user().cloned();
        req.headers
            .push(HeaderName::Contact, self.contact_for(&flow, user.as_ref()));
        req.headers
            .push(HeaderName::Allow, self.config.policy.allow_header());
        req.headers
            .push(HeaderName::Supported, self.supported_for_invite());
        if self.config.session_timer.enabled {
            req.headers.push(
                HeaderName::SessionExpires,
                Bytes::from(self.config.session_timer.expires.to_string()),
            );
        }
        req.headers.push(
            HeaderName::UserAgent,
            Bytes::from(self.config.user_agent.clone()),
        );
        for (n, v) in &spec.headers {
            req.headers.push(n.clone(), v.clone());
        }
        match &spec.sdp {
            Some(sdp) => req.set_body(Some("application/sdp"), sdp.clone()),
            None => req
                .headers
                .push(HeaderName::ContentLength, Bytes::from_static(b"0")),
        }
        let owner = self.requests.insert(Outgoing {
            method: Method::Invite,
            purpose: Purpose::User,
            tx: None,
            template: req.clone(),
            next_hop: flow.clone(),
            dialog: None,
            early: Vec::new(),
            credentials: spec.credentials,
            auth_tries: 0,
            cancel: CancelState::None,
            offer_sent: spec.sdp.is_some(),
            glare_retries: 0,
            retry_at: None,
        });
        self.start_client(now, owner, req, flow, None);
        Ok(RequestId(owner))
    }

    /// Sends a request outside any dialog (OPTIONS, REGISTER, MESSAGE...).
    pub fn request_outside(
        &mut self,
        now: Instant,
        uri: Uri,
        from: NameAddr,
        to: NameAddr,
        spec: RequestSpec,
        next_hop: (Transport, SocketAddr),
    ) -> Result<RequestId, Error> {
        let flow = self.flow_to(&next_hop.0, next_hop.1, None)?;
        let mut req = Request::new(spec.method.clone(), uri);
        req.headers
            .push(HeaderName::MaxForwards, Bytes::from_static(b"70"));
        let tag = self.new_tag();
        req.headers.push(
            HeaderName::From,
            from.clone()
                .with_param("tag", Some(&String::from_utf8_lossy(&tag)))
                .to_bytes(),
        );
        req.headers.push(HeaderName::To, to.to_bytes());
        req.headers
            .push(HeaderName::CallId, Bytes::from(self.rng.hex(32)));
        let cseq = (self.rng.below(1 << 16) + 1) as u32;
        req.headers.push(
            HeaderName::CSeq,
            Bytes::from(format!("{cseq} {}", spec.method)),
        );
        if spec.method == Method::Register {
            let user = from.uri.user().cloned();
            req.headers
                .push(HeaderName::Contact, self.contact_for(&flow, user.as_ref()));
        }
        self.finish_request(&mut req, &spec);
        let owner = self.requests.insert(Outgoing::new(
            spec.method.clone(),
            Purpose::User,
            req.clone(),
            flow.clone(),
            None,
            spec.credentials.clone(),
        ));
        self.start_client(now, owner, req, flow, None);
        Ok(RequestId(owner))
    }

    /// Sends a request inside a dialog (re-INVITE, UPDATE, BYE, INFO, REFER, NOTIFY...).
    pub fn request(
        &mut self,
        now: Instant,
        dialog: DialogId,
        spec: RequestSpec,
    ) -> Result<RequestId, Error> {
        self.request_in_dialog(now, dialog.0, spec, Purpose::User)
    }

    /// Ends a dialog with BYE (a convenience for `request(BYE)`).
    pub fn bye(&mut self, now: Instant, dialog: DialogId) -> Result<RequestId, Error> {
        self.request(now, dialog, RequestSpec::new(Method::Bye))
    }

    fn request_in_dialog(
        &mut self,
        now: Instant,
        d: Key,
        spec: RequestSpec,
        purpose: Purpose,
    ) -> Result<RequestId, Error> {
        let method = spec.method.clone();
        let entry = self.dialogs.get(d).ok_or(Error::UnknownDialog)?;
        if entry.closing {
            return Err(Error::InvalidState("the dialog is closing"));
        }
        let offer = method == Method::Invite || (method == Method::Update && spec.body.is_some());
        if offer && entry.outgoing_offer.is_some() {
            return Err(Error::InvalidState("an offer of ours is still pending"));
        }
        if method == Method::Invite && entry.invite_tx.is_some() {
            return Err(Error::InvalidState("the peer's INVITE is still unanswered"));
        }
        let flow = self.route_flow(&entry.d);
        let session = entry.session;
        let role = entry.d.role;
        let user = entry.d.local.uri.user().cloned();
        let mut req = self
            .dialogs
            .get_mut(d)
            .expect("checked")
            .d
            .request(method.clone(), None);
        if is_target_refresh(&method) {
            req.headers
                .push(HeaderName::Contact, self.contact_for(&flow, user.as_ref()));
        }
        if method == Method::Invite {
            req.headers
                .push(HeaderName::Allow, self.config.policy.allow_header());
            req.headers
                .push(HeaderName::Supported, self.supported_for_invite());
        }
        if matches!(method, Method::Invite | Method::Update)
            && let Some(s) = session
        {
            let refresher = match (s.refresher, role) {
                (Refresher::Us, Role::Uac) | (Refresher::Them, Role::Uas) => "uac",
                _ => "uas",
            };
            req.headers.push(
                HeaderName::SessionExpires,
                Bytes::from(format!("{};refresher={refresher}", s.interval)),
            );
        }
        self.finish_request(&mut req, &spec);
        let sdp = sdp_of(&req.headers, &req.body);
        let mut out = Outgoing::new(
            method.clone(),
            purpose,
            req.clone(),
            flow.clone(),
            Some(d),
            spec.credentials.clone(),
        );
        out.offer_sent = sdp.is_some();
        let owner = self.requests.insert(out);
        let entry = self.dialogs.get_mut(d).expect("checked");
        if offer {
            entry.outgoing_offer = Some(owner);
        }
        if let Some(sdp) = sdp {
            entry.local_sdp = Some(sdp);
        }
        if method == Method::Bye {
            entry.closing = true;
        }
        self.start_client(now, owner, req, flow, None);
        Ok(RequestId(owner))
    }

    /// Sends the ACK of a 2xx that answered an INVITE without an offer (the ACK carries our
    /// SDP answer).
    pub fn ack(&mut self, now: Instant, dialog: DialogId, sdp: Option<Bytes>) -> Result<(), Error> {
        let entry = self.dialogs.get_mut(dialog.0).ok_or(Error::UnknownDialog)?;
        let cseq = entry
            .ack_owed
            .take()
            .ok_or(Error::InvalidState("no 2xx is waiting for an ACK"))?;
        if let Some(s) = &sdp {
            entry.local_sdp = Some(s.clone());
        }
        self.send_ack(now, dialog.0, cseq, sdp);
        Ok(())
    }

    /// Cancels an INVITE we sent (§9.1). Before any provisional response the CANCEL waits for
    /// one; after a final response it is too late.
    pub fn cancel(&mut self, now: Instant, request: RequestId) -> Result<(), Error> {
        let out = self.requests.get(request.0).ok_or(Error::UnknownRequest)?;
        if out.method != Method::Invite
            || out.dialog.is_some_and(|d| {
                self.dialogs
                    .get(d)
                    .is_some_and(|e| e.d.state == DialogState::Confirmed)
            })
        {
            return Err(Error::InvalidState(
                "only a pending INVITE can be cancelled",
            ));
        }
        if out.cancel != CancelState::None {
            return Ok(());
        }
        let state = out.tx.and_then(|t| self.clients.get(t)).map(|e| e.tx.state);
        match state {
            Some(ClientState::Calling) => {
                self.requests.get_mut(request.0).expect("checked").cancel = CancelState::Pending;
                Ok(())
            }
            Some(ClientState::Proceeding) => {
                self.send_cancel(now, request.0);
                Ok(())
            }
            _ => Err(Error::InvalidState(
                "the INVITE already has a final response",
            )),
        }
    }

    fn send_cancel(&mut self, now: Instant, owner: Key) {
        let Some(out) = self.requests.get_mut(owner) else {
            return;
        };
        out.cancel = CancelState::Sent;
        let Some(tx) = out.tx.and_then(|t| self.clients.get(t)) else {
            return;
        };
        let invite = &tx.tx.request;
        let flow = tx.tx.flow.clone();
        // §9.1: same Request-URI, Call-ID, To, From, CSeq number and top Via (branch).
        let mut cancel = Request::new(Method::Cancel, invite.uri.clone());
        let h = &invite.headers;
        let via = h.get(&HeaderName::Via).cloned();
        if let Some(v) = &via {
            cancel.headers.push(HeaderName::Via, v.clone());
        }
        for r in h.get_all(&HeaderName::Route) {
            cancel.headers.push(HeaderName::Route, r.clone());
        }
        cancel
            .headers
            .push(HeaderName::MaxForwards, Bytes::from_static(b"70"));
        for name in [HeaderName::From, HeaderName::To, HeaderName::CallId] {
            if let Some(v) = h.get(&name) {
                cancel.headers.push(name, v.clone());
            }
        }
        let seq = h.cseq().map(|c| c.seq).unwrap_or(1);
        cancel
            .headers
            .push(HeaderName::CSeq, Bytes::from(format!("{seq} CANCEL")));
        cancel
            .headers
            .push(HeaderName::ContentLength, Bytes::from_static(b"0"));
        let branch = h.top_via().ok().and_then(|v| v.branch().cloned());
        let child = self.requests.insert(Outgoing::new(
            Method::Cancel,
            Purpose::Cancel,
            cancel.clone(),
            flow.clone(),
            None,
            None,
        ));
        self.start_client(now, child, cancel, flow, branch);
    }

    /// Adds User-Agent, extra headers and the body.
    fn finish_request(&self, req: &mut Request, spec: &RequestSpec) {
        req.headers.push(
            HeaderName::UserAgent,
            Bytes::from(self.config.user_agent.clone()),
        );
        for (n, v) in &spec.headers {
            req.headers.push(n.clone(), v.clone());
        }
        match &spec.body {
            Some((ct, body)) => req.set_body(Some(ct), body.clone()),
            None => req
                .headers
                .push(HeaderName::ContentLength, Bytes::from_static(b"0")),
        }
    }

    fn supported_for_invite(&self) -> Bytes {
        let mut tags = Vec::new();
        if self.config.offer_100rel {
            tags.push("100rel");
        }
        if self.config.session_timer.enabled {
            tags.push("timer");
        }
        tags.push("replaces");
        Bytes::from(tags.join(", "))
    }

    fn flow_to(
        &self,
        transport: &Transport,
        remote: SocketAddr,
        connection: Option<crate::ConnectionId>,
    ) -> Result<Flow, Error> {
        let listener = self
            .listener_for(transport, remote)
            .ok_or_else(|| Error::NoListener(transport.clone()))?;
        Ok(Flow {
            transport: transport.clone(),
            local: listener.local,
            remote,
            connection,
        })
    }

    /// The next hop of a request in a dialog (§8.1.2, §12.2.1.1): the first Route, else the
    /// remote target. A name we cannot resolve here falls back to the address we last
    /// exchanged messages with; stream connections are reused towards the same peer address.
    pub(super) fn route_flow(&self, d: &Dialog) -> Flow {
        let target = d
            .route_set
            .first()
            .and_then(|r| NameAddr::parse(r).ok().map(|n| n.uri))
            .unwrap_or_else(|| d.remote_target.clone());
        let mut flow = d.flow.clone();
        if let Uri::Sip(u) = &target {
            let transport = u
                .params()
                .value("transport")
                .map(|t| Transport::from_bytes(t))
                .unwrap_or_else(|| {
                    if u.is_secure() {
                        Transport::Tls
                    } else {
                        d.flow.transport.clone()
                    }
                });
            if let Some(ip) = u.host().ip() {
                let port = u.port().unwrap_or_else(|| transport.default_port());
                let remote = SocketAddr::new(ip, port);
                if transport == flow.transport && ip == flow.remote.ip() {
                    // Same peer: keep the connection (RFC 5923 style reuse).
                    flow.remote = if flow.connection.is_some() {
                        flow.remote
                    } else {
                        remote
                    };
                } else if let Some(l) = self.listener_for(&transport, remote) {
                    flow = Flow {
                        transport,
                        local: l.local,
                        remote,
                        connection: None,
                    };
                }
            }
        }
        flow
    }

    /// Stamps a Via with a fresh branch (or uses the request's own for CANCEL), starts the
    /// client transaction and sends.
    fn start_client(
        &mut self,
        now: Instant,
        owner: Key,
        mut req: Request,
        flow: Flow,
        branch: Option<Bytes>,
    ) {
        let method = req.method.clone();
        let branch = match branch {
            Some(b) => b,
            None => {
                let b = self.new_branch();
                let (host, port) = self
                    .listeners
                    .iter()
                    .find(|l| l.local == flow.local && l.transport == flow.transport)
                    .map(sent_by)
                    .unwrap_or_else(|| (Host::from(flow.local.ip()), flow.local.port()));
                let mut via = format!(
                    "SIP/2.0/{} ",
                    String::from_utf8_lossy(flow.transport.as_bytes())
                );
                via.push_str(&host.to_string());
                via.push_str(&format!(
                    ":{port};branch={};rport",
                    String::from_utf8_lossy(&b)
                ));
                req.headers.push_front(HeaderName::Via, Bytes::from(via));
                b
            }
        };
        let wire = req.to_bytes();
        let cfg = self.config.timers;
        let (tx, first) = ClientTransaction::start(now, &cfg, req, wire, flow);
        let key = TransactionKey::client(branch, &method);
        let k = self.clients.insert(ClientEntry {
            tx,
            key: key.clone(),
            owner,
        });
        self.client_index.insert(key, k);
        if let Some(out) = self.requests.get_mut(owner) {
            out.tx = Some(k);
        }
        self.run_client_actions(now, k, vec![first], None);
    }

    /// Resends a request after a challenge or a 491, with a new CSeq and branch.
    fn resend(&mut self, now: Instant, owner: Key, authorization: Option<(HeaderName, Bytes)>) {
        let Some(out) = self.requests.get_mut(owner) else {
            return;
        };
        let mut req = out.template.clone();
        let method = req.method.clone();
        // In a dialog the next local CSeq; an initial request simply counts up.
        let seq = match out.dialog.and_then(|d| self.dialogs.get_mut(d)) {
            Some(e) => {
                e.d.local_seq = e.d.local_seq.wrapping_add(1) & 0x7fff_ffff;
                e.d.local_seq
            }
            None => req.headers.cseq().map(|c| c.seq + 1).unwrap_or(1),
        };
        req.headers
            .set(HeaderName::CSeq, Bytes::from(format!("{seq} {method}")));
        if let Some((name, value)) = authorization {
            req.headers.set(name, value);
        }
        let flow = out.next_hop.clone();
        out.template = req.clone();
        out.early.clear();
        self.start_client(now, owner, req, flow, None);
    }

    /// The ACK of a 2xx, sent straight to the transport (§13.2.2.4).
    pub(super) fn send_ack(&mut self, _now: Instant, d: Key, cseq: u32, sdp: Option<Bytes>) {
        let Some(entry) = self.dialogs.get(d) else {
            return;
        };
        let flow = self.route_flow(&entry.d);
        let mut ack = self
            .dialogs
            .get_mut(d)
            .expect("checked")
            .d
            .request(Method::Ack, Some(cseq));
        let branch = self.new_branch();
        let (host, port) = self
            .listeners
            .iter()
            .find(|l| l.local == flow.local && l.transport == flow.transport)
            .map(sent_by)
            .unwrap_or_else(|| (Host::from(flow.local.ip()), flow.local.port()));
        ack.headers.push_front(
            HeaderName::Via,
            Bytes::from(format!(
                "SIP/2.0/{} {}:{port};branch={};rport",
                String::from_utf8_lossy(flow.transport.as_bytes()),
                host,
                String::from_utf8_lossy(&branch)
            )),
        );
        match sdp {
            Some(s) => ack.set_body(Some("application/sdp"), s),
            None => ack
                .headers
                .push(HeaderName::ContentLength, Bytes::from_static(b"0")),
        }
        let wire = ack.to_bytes();
        if let Some(e) = self.dialogs.get_mut(d) {
            e.last_ack = Some((cseq, wire.clone()));
        }
        self.transmit(flow, wire);
    }

    /// A BYE the endpoint sends on its own (forks, cancelled 2xx, timeouts).
    pub(super) fn send_internal_bye(&mut self, now: Instant, d: Key) {
        if let Some(e) = self.dialogs.get_mut(d) {
            e.closing = false;
        }
        let _ = self.request_in_dialog(now, d, RequestSpec::new(Method::Bye), Purpose::InternalBye);
    }

    /// Routes a response (or a local 408) of one of our requests.
    pub(super) fn deliver_response(&mut self, now: Instant, owner: Key, _tx: Key, resp: Response) {
        let Some(out) = self.requests.get(owner) else {
            return;
        };
        let status = resp.status;
        let method = out.method.clone();
        let purpose = out.purpose;
        let final_ = status.is_final();
        // 100 Trying is hop-by-hop (§8.1.3.2): it only stops retransmissions; a CANCEL
        // waiting for a provisional still goes out on it (§9.1).
        if status.code() == 100 {
            if purpose == Purpose::User && out.cancel == CancelState::Pending {
                self.send_cancel(now, owner);
            }
            return;
        }

        // A challenge we can answer (§22.2): resend with credentials.
        if matches!(status.code(), 401 | 407)
            && let Some(creds) = out.credentials.clone()
            && out.auth_tries < 2
            && let Some(header) = auth::answer(&resp, &out.template, &creds, &mut self.rng)
        {
            self.requests.get_mut(owner).expect("checked").auth_tries += 1;
            self.resend(now, owner, Some(header));
            return;
        }

        match purpose {
            Purpose::Cancel | Purpose::Prack => {
                if final_ {
                    self.requests.remove(owner);
                }
                return;
            }
            Purpose::InternalBye => {
                if final_ {
                    self.requests.remove(owner);
                }
                return;
            }
            Purpose::Refresh => {
                self.on_refresh_response(now, owner, resp);
                return;
            }
            Purpose::User => {}
        }

        if method == Method::Invite
            && out.dialog.is_none_or(|d| {
                self.dialogs
                    .get(d)
                    .is_some_and(|e| e.creator == Some(owner))
            })
            && !self.is_reinvite(owner)
        {
            self.on_initial_invite_response(now, owner, resp);
            return;
        }

        let dialog = out.dialog;
        if method == Method::Invite || (method == Method::Update && out.offer_sent) {
            if status.code() == 491 && out.glare_retries < 3 {
                // §14.1: retry after 2.1–4 s if we own the Call-ID (UAC), else 0–2 s.
                let uac = dialog
                    .and_then(|d| self.dialogs.get(d))
                    .is_some_and(|e| e.d.role == Role::Uac);
                let wait_ms = if uac {
                    2100 + self.rng.below(1900)
                } else {
                    self.rng.below(2000)
                };
                let at = now + std::time::Duration::from_millis(wait_ms);
                let out = self.requests.get_mut(owner).expect("checked");
                out.glare_retries += 1;
                out.retry_at = Some(at);
                self.schedule(at, TimerRef::Request(owner));
                // While we wait, the peer's own offer must go through.
                if let Some(d) = dialog.and_then(|d| self.dialogs.get_mut(d)) {
                    d.outgoing_offer = None;
                }
                return;
            }
            if final_ && let Some(d) = dialog.and_then(|d| self.dialogs.get_mut(d)) {
                d.outgoing_offer = None;
            }
            if status.is_success()
                && method == Method::Invite
                && let Some(d) = dialog
            {
                self.after_2xx(now, d, owner, &resp);
            }
        }
        if let Some(d) = dialog
            && final_
        {
            if method == Method::Bye {
                self.emit(Event::Response {
                    request: RequestId(owner),
                    dialog: Some(DialogId(d)),
                    response: resp,
                });
                self.requests.remove(owner);
                self.terminate_dialog(now, d, Termination::ByeSent);
                return;
            }
            if matches!(status.code(), 408 | 481) {
                // §12.2.1.2: the dialog is gone at the other end (or unreachable).
                self.emit(Event::Response {
                    request: RequestId(owner),
                    dialog: Some(DialogId(d)),
                    response: resp,
                });
                self.requests.remove(owner);
                if status.code() == 408 {
                    self.send_internal_bye(now, d);
                }
                self.terminate_dialog(now, d, Termination::Lost(status));
                return;
            }
            if method == Method::Update && status.is_success() {
                self.update_session_from(now, d, &resp);
            }
        }
        self.emit(Event::Response {
            request: RequestId(owner),
            dialog: dialog.map(DialogId),
            response: resp,
        });
        if final_ {
            self.requests.remove(owner);
        }
    }

    fn is_reinvite(&self, owner: Key) -> bool {
        self.requests
            .get(owner)
            .and_then(|o| o.dialog)
            .and_then(|d| self.dialogs.get(d))
            .is_some_and(|e| e.creator != Some(owner))
    }

    fn on_initial_invite_response(&mut self, now: Instant, owner: Key, resp: Response) {
        let status = resp.status;
        let cancel = self
            .requests
            .get(owner)
            .map(|o| o.cancel)
            .unwrap_or(CancelState::None);
        if status.is_provisional() {
            if cancel == CancelState::Pending {
                self.send_cancel(now, owner);
            }
            if status.code() == 100 {
                return;
            }
            let dialog = self.uac_dialog(owner, &resp, false);
            if let Some(d) = dialog
                && !self.maybe_prack(now, d, &resp)
            {
                // A retransmission of a reliable provisional already handled (RFC 3262 §4).
                return;
            }
            self.emit(Event::Response {
                request: RequestId(owner),
                dialog: dialog.map(DialogId),
                response: resp,
            });
            return;
        }
        if status.is_success() {
            let already = self.requests.get(owner).and_then(|o| o.dialog);
            let to_tag = resp
                .headers
                .to()
                .ok()
                .and_then(|t| t.tag().cloned())
                .unwrap_or_default();
            if let Some(d) = already
                && let Some(e) = self.dialogs.get(d)
            {
                if e.d.key.remote_tag == to_tag {
                    // A retransmission of the 2xx we already ACKed.
                    let cseq = resp.headers.cseq().map(|c| c.seq).unwrap_or(0);
                    if let Some((seq, wire)) = e.last_ack.clone()
                        && seq == cseq
                    {
                        let flow = self.route_flow(&e.d);
                        self.transmit(flow, wire);
                    }
                    return;
                }
                // §13.2.2.4: a second fork answered; confirm it only to hang it up.
                if let Some(fork) = self.uac_dialog(owner, &resp, true) {
                    let cseq = resp.headers.cseq().map(|c| c.seq).unwrap_or(0);
                    self.send_ack(now, fork, cseq, None);
                    self.send_internal_bye(now, fork);
                    if let Some(fe) = self.dialogs.get_mut(fork) {
                        fe.creator = None;
                    }
                }
                return;
            }
            let Some(d) = self.uac_dialog(owner, &resp, true) else {
                // A 2xx without a To tag cannot make a dialog: deliver it as a failure.
                self.emit(Event::Response {
                    request: RequestId(owner),
                    dialog: None,
                    response: resp,
                });
                self.requests.remove(owner);
                return;
            };
            self.requests.get_mut(owner).expect("checked").dialog = Some(d);
            // The other early dialogs of this INVITE end here.
            let others: Vec<Key> = self
                .requests
                .get(owner)
                .map(|o| o.early.clone())
                .unwrap_or_default();
            for e in others.into_iter().filter(|&e| e != d) {
                self.terminate_dialog(now, e, Termination::Failed(status));
            }
            self.after_2xx(now, d, owner, &resp);
            self.emit(Event::Response {
                request: RequestId(owner),
                dialog: Some(DialogId(d)),
                response: resp,
            });
            if self.dialogs.get(d).is_some_and(|e| e.ack_owed.is_some()) {
                self.emit(Event::AckNeeded {
                    dialog: DialogId(d),
                });
            }
            if cancel != CancelState::None {
                // §9.1: the 2xx crossed our CANCEL; end the call that was not wanted.
                self.send_internal_bye(now, d);
                self.terminate_dialog(now, d, Termination::Failed(StatusCode::REQUEST_TERMINATED));
            }
            // The request stays known while the transaction absorbs 2xx retransmissions.
            return;
        }
        // A final failure: every early dialog of this INVITE ends.
        let early: Vec<Key> = self
            .requests
            .get(owner)
            .map(|o| o.early.clone())
            .unwrap_or_default();
        for e in early {
            self.terminate_dialog(now, e, Termination::Failed(status));
        }
        self.emit(Event::Response {
            request: RequestId(owner),
            dialog: None,
            response: resp,
        });
        self.requests.remove(owner);
    }

    /// ACK (or the request for one), target refresh and session timer after a 2xx to INVITE.
    fn after_2xx(&mut self, now: Instant, d: Key, owner: Key, resp: &Response) {
        let offer_sent = self.requests.get(owner).is_some_and(|o| o.offer_sent);
        let cseq = resp.headers.cseq().map(|c| c.seq).unwrap_or(0);
        if let Some(e) = self.dialogs.get_mut(d) {
            if let Ok(contact) = resp.headers.contact() {
                e.d.remote_target = contact.uri;
            }
            e.d.state = DialogState::Confirmed;
            e.outgoing_offer = None;
        }
        self.update_session_from(now, d, resp);
        if offer_sent {
            self.send_ack(now, d, cseq, None);
        } else if let Some(e) = self.dialogs.get_mut(d) {
            e.ack_owed = Some(cseq);
        }
    }

    /// Creates or updates the UAC dialog a response to our INVITE belongs to (§12.1.2).
    fn uac_dialog(&mut self, owner: Key, resp: &Response, confirm: bool) -> Option<Key> {
        let to = resp.headers.to().ok()?;
        let remote_tag = to.tag()?.clone();
        let out = self.requests.get(owner)?;
        let req = &out.template;
        let from = req.headers.from().ok()?;
        let key = DialogKey {
            call_id: req.headers.call_id().ok()?.clone(),
            local_tag: from.tag()?.clone(),
            remote_tag,
        };
        let route_set: Vec<Bytes> = route_values(&resp.headers, &HeaderName::RecordRoute)
            .into_iter()
            .rev()
            .collect();
        let target = resp.headers.contact().ok().map(|c| c.uri);
        if let Some(&d) = self.dialog_index.get(&key) {
            let e = self.dialogs.get_mut(d)?;
            if confirm {
                // §12.1.2: the route set of a confirmed dialog comes from the 2xx.
                e.d.route_set = route_set;
                e.d.state = DialogState::Confirmed;
            }
            if let Some(t) = target {
                e.d.remote_target = t;
            }
            return Some(d);
        }
        let strip = |mut n: NameAddr| {
            n.params = crate::header::Params::new();
            n
        };
        let dialog = Dialog {
            role: Role::Uac,
            state: if confirm {
                DialogState::Confirmed
            } else {
                DialogState::Early
            },
            key: key.clone(),
            local: strip(from),
            remote: strip(req.headers.to().ok()?),
            local_seq: req.headers.cseq().ok()?.seq,
            remote_seq: None,
            route_set,
            remote_target: target.unwrap_or_else(|| req.uri.clone()),
            secure: matches!(&req.uri, Uri::Sip(u) if u.is_secure()),
            flow: out
                .tx
                .and_then(|t| self.clients.get(t))
                .map(|c| c.tx.flow.clone())
                .unwrap_or_else(|| out.next_hop.clone()),
        };
        let mut entry = DialogEntry::new(dialog, Some(owner));
        entry.peer_100rel = resp.headers.supports("100rel");
        entry.peer_timer = resp.headers.supports("timer");
        entry.peer_update = allows(&resp.headers, "UPDATE");
        if let Some(sdp) = sdp_of(&req.headers, &req.body) {
            entry.local_sdp = Some(sdp);
        }
        let d = self.dialogs.insert(entry);
        self.dialog_index.insert(key, d);
        if let Some(out) = self.requests.get_mut(owner) {
            out.early.push(d);
        }
        Some(d)
    }

    /// RFC 3262 §4: PRACK a reliable provisional response once per RSeq. False for a
    /// retransmission of one already PRACKed.
    fn maybe_prack(&mut self, now: Instant, d: Key, resp: &Response) -> bool {
        if !resp.headers.requires("100rel") {
            return true;
        }
        let Some(rseq) = resp.headers.get(&HeaderName::RSeq).and_then(|v| {
            crate::grammar::parse_decimal(crate::grammar::trim(v), u64::from(u32::MAX))
        }) else {
            return true;
        };
        let rseq = rseq as u32;
        let Some(e) = self.dialogs.get_mut(d) else {
            return true;
        };
        if e.pracked.contains(&rseq) {
            return false;
        }
        e.pracked.push(rseq);
        let cseq = resp.headers.cseq().map(|c| c.seq).unwrap_or(0);
        let spec = RequestSpec::new(Method::Prack).header(
            HeaderName::RAck,
            Bytes::from(format!("{rseq} {cseq} INVITE")),
        );
        let _ = self.request_in_dialog(now, d, spec, Purpose::Prack);
        true
    }

    /// RFC 4028 §7.2: the 2xx of our INVITE or UPDATE says who refreshes and how often.
    fn update_session_from(&mut self, now: Instant, d: Key, resp: &Response) {
        let cfg = self.config.session_timer;
        let Some(e) = self.dialogs.get_mut(d) else {
            return;
        };
        e.peer_timer |= resp.headers.supports("timer");
        if resp.headers.contains(&HeaderName::Allow) {
            e.peer_update = allows(&resp.headers, "UPDATE");
        }
        let role = e.d.role;
        e.session = match session_expires(&resp.headers) {
            Some((interval, refresher)) => {
                let ours = match refresher.as_deref() {
                    Some(b"uac") => role == Role::Uac,
                    Some(b"uas") => role == Role::Uas,
                    _ => role == Role::Uac,
                };
                Some(Session {
                    interval,
                    refresher: if ours { Refresher::Us } else { Refresher::Them },
                })
            }
            // §7.2: no Session-Expires in the 2xx: the UAC may refresh on its own.
            None if cfg.enabled && role == Role::Uac && e.session.is_none() => Some(Session {
                interval: cfg.expires,
                refresher: Refresher::Us,
            }),
            None => e.session,
        };
        self.arm_session_timer(now, d);
    }

    /// Sends our session refresh: UPDATE without a body when the peer allows it, else a
    /// re-INVITE with our last SDP (RFC 4028 §9, §10).
    pub(super) fn send_refresh(&mut self, now: Instant, d: Key) {
        let Some(e) = self.dialogs.get(d) else { return };
        if e.outgoing_offer.is_some() || e.invite_tx.is_some() || e.closing {
            return;
        }
        let spec = if e.peer_update {
            RequestSpec::new(Method::Update)
        } else {
            let mut s = RequestSpec::new(Method::Invite);
            if let Some(sdp) = e.local_sdp.clone() {
                s = s.body("application/sdp", sdp);
            }
            s
        };
        let _ = self.request_in_dialog(now, d, spec, Purpose::Refresh);
    }

    fn on_refresh_response(&mut self, now: Instant, owner: Key, resp: Response) {
        let Some(out) = self.requests.get(owner) else {
            return;
        };
        let (d, method) = (out.dialog, out.method.clone());
        if !resp.status.is_final() {
            return;
        }
        self.requests.remove(owner);
        let Some(d) = d else { return };
        if let Some(e) = self.dialogs.get_mut(d) {
            e.outgoing_offer = None;
        }
        if resp.status.is_success() {
            if method == Method::Invite {
                let cseq = resp.headers.cseq().map(|c| c.seq).unwrap_or(0);
                if let Ok(contact) = resp.headers.contact()
                    && let Some(e) = self.dialogs.get_mut(d)
                {
                    e.d.remote_target = contact.uri;
                }
                self.send_ack(now, d, cseq, None);
            }
            self.update_session_from(now, d, &resp);
            let remote_sdp = sdp_of(&resp.headers, &resp.body);
            self.emit(Event::SessionRefreshed {
                dialog: DialogId(d),
                remote_sdp,
            });
        } else if matches!(resp.status.code(), 408 | 481) {
            if resp.status.code() == 408 {
                self.send_internal_bye(now, d);
            }
            self.terminate_dialog(now, d, Termination::Lost(resp.status));
        } else if resp.status.code() == 422
            && let Some(min) = resp
                .headers
                .get(&HeaderName::MinSe)
                .and_then(|v| crate::grammar::parse_decimal(crate::grammar::trim(v), 86_400))
            && let Some(e) = self.dialogs.get_mut(d)
            && let Some(s) = &mut e.session
        {
            s.interval = s.interval.max(min as u32);
            self.send_refresh(now, d);
        }
    }

    /// A glare retry is due (§14.1).
    pub(super) fn on_request_timer(&mut self, now: Instant, owner: Key, at: Instant) {
        let Some(out) = self.requests.get_mut(owner) else {
            return;
        };
        if out.retry_at != Some(at) {
            return;
        }
        out.retry_at = None;
        if let Some(d) = out.dialog
            && let Some(e) = self.dialogs.get_mut(d)
        {
            if e.invite_tx.is_some() || e.outgoing_offer.is_some() {
                // The peer's offer is still being answered: try again a little later.
                let later = now + std::time::Duration::from_millis(500);
                out.retry_at = Some(later);
                self.schedule(later, TimerRef::Request(owner));
                return;
            }
            e.outgoing_offer = Some(owner);
        }
        self.resend(now, owner, None);
    }
}

impl Outgoing {
    fn new(
        method: Method,
        purpose: Purpose,
        template: Request,
        next_hop: Flow,
        dialog: Option<Key>,
        credentials: Option<auth::Credentials>,
    ) -> Self {
        Self {
            method,
            purpose,
            tx: None,
            template,
            next_hop,
            dialog,
            early: Vec::new(),
            credentials,
            auth_tries: 0,
            cancel: CancelState::None,
            offer_sent: false,
            glare_retries: 0,
            retry_at: None,
        }
    }
}
