//! Everything that arrives: datagrams, framed stream messages and parse failures; requests
//! dispatched to transactions, dialogs or the transaction user; responses matched to client
//! transactions (RFC 3261 §8.2, §12.2.2, §17.1.3, §17.2.3, §18.2.1).

use std::time::Instant;

use bytes::Bytes;

use super::{
    DialogTimer, Endpoint, Event, MergeKey, ResponseSpec, ServerEntry, Termination, TimerRef,
};
use crate::{
    HeaderName, Headers, Message, Method, ParseError, ParseErrorKind, Request, Response,
    StatusCode,
    arena::Key,
    dialog::{DialogKey, Role},
    grammar,
    header::{MAGIC_COOKIE, NameAddr, Via},
    parse,
    transaction::{Action, Flow, ServerTransaction, TransactionKey},
};

/// Where responses to a request go (RFC 3261 §18.2.2, RFC 3581 §4): back on the connection
/// for streams; for UDP to the source address when `rport` was asked for, else to the source
/// IP at the sent-by port.
pub(super) fn response_flow(flow: &Flow, via: Option<&Via>) -> Flow {
    if flow.transport.is_reliable() {
        return flow.clone();
    }
    let mut f = flow.clone();
    if let Some(v) = via
        && v.rport().is_none()
    {
        f.remote.set_port(v.port_or_default());
    }
    f
}

impl Endpoint {
    /// Feeds one UDP datagram.
    pub fn handle_datagram(&mut self, now: Instant, flow: Flow, data: Bytes) {
        let too_large = data.len() > self.config.max_message_size;
        match parse(data) {
            Ok(Message::Request(req)) if too_large => {
                let err = ParseError {
                    kind: ParseErrorKind::TooLarge,
                    request_headers: Some(req.headers),
                };
                self.handle_parse_error(now, flow, err);
            }
            Ok(msg) => self.handle_message(now, flow, msg),
            Err(e) => self.handle_parse_error(now, flow, e),
        }
    }

    /// Feeds one message framed off a stream (see [`crate::parse_stream`]).
    pub fn handle_message(&mut self, now: Instant, flow: Flow, msg: Message) {
        match msg {
            Message::Request(r) => self.on_request(now, flow, r),
            Message::Response(r) => self.on_response(now, flow, r),
        }
    }

    /// Reports that `remote` could not be reached over `transport` (connect or TLS failure):
    /// every request waiting for its first response there fails at once with a local 503
    /// (RFC 3261 §8.1.3.1), instead of after Timer B or F.
    pub fn handle_unreachable(
        &mut self,
        now: Instant,
        transport: crate::header::Transport,
        remote: std::net::SocketAddr,
    ) {
        let failed: Vec<Key> = self
            .clients
            .iter()
            .filter(|(_, e)| {
                e.tx.flow.transport == transport
                    && e.tx.flow.remote == remote
                    && matches!(
                        e.tx.state,
                        crate::transaction::ClientState::Calling
                            | crate::transaction::ClientState::Trying
                    )
            })
            .map(|(k, _)| k)
            .collect();
        for k in failed {
            let Some(e) = self.clients.get(k) else {
                continue;
            };
            let request = e.tx.request.clone();
            let owner = e.owner;
            self.remove_client_tx(k);
            let mut resp = local_response(&request, StatusCode::SERVICE_UNAVAILABLE);
            resp.reason = Bytes::from_static(b"Transport Error");
            self.deliver_response(now, owner, k, resp);
        }
    }

    /// Reports a message that could not be parsed: a request is answered statelessly (400,
    /// 505, 513) when its Via is readable; anything else is dropped.
    pub fn handle_parse_error(&mut self, now: Instant, flow: Flow, err: ParseError) {
        let _ = now;
        if err.kind == ParseErrorKind::Empty || err.kind == ParseErrorKind::Incomplete {
            return;
        }
        self.stats.parse_errors += 1;
        let Some(headers) = err.request_headers.as_ref() else {
            return;
        };
        if !headers.contains(&HeaderName::Via) {
            return;
        }
        self.respond_stateless(&flow, headers, err.status(), &err.reason_phrase(), &[]);
    }

    /// Answers from raw headers, without a transaction (a request too broken to have one).
    pub(super) fn respond_stateless(
        &mut self,
        flow: &Flow,
        headers: &Headers,
        status: StatusCode,
        reason: &str,
        extra: &[(HeaderName, Bytes)],
    ) {
        let mut resp = Response::new(status);
        resp.reason = Bytes::from(reason.to_string());
        for line in headers.get_all(&HeaderName::Via) {
            resp.headers.push(HeaderName::Via, line.clone());
        }
        for name in [
            HeaderName::From,
            HeaderName::To,
            HeaderName::CallId,
            HeaderName::CSeq,
        ] {
            if let Some(v) = headers.get(&name) {
                let mut v = v.clone();
                if name == HeaderName::To
                    && status.code() > 100
                    && NameAddr::parse(&v).is_ok_and(|n| n.tag().is_none())
                {
                    v = Bytes::from(format!(
                        "{};tag={}",
                        String::from_utf8_lossy(&v),
                        self.rng.hex(16)
                    ));
                }
                resp.headers.push(name, v);
            }
        }
        for (n, v) in extra {
            resp.headers.push(n.clone(), v.clone());
        }
        resp.headers.push(
            HeaderName::Server,
            Bytes::from(self.config.user_agent.clone()),
        );
        resp.headers
            .push(HeaderName::ContentLength, Bytes::from_static(b"0"));
        let via = headers.top_via().ok();
        let out = response_flow(flow, via.as_ref());
        self.stats.rejected += 1;
        self.transmit(out, resp.to_bytes());
    }

    fn on_request(&mut self, now: Instant, flow: Flow, mut req: Request) {
        let via = match req.headers.top_via() {
            Ok(v) => v,
            Err(e) => {
                if req.method != Method::Ack && req.headers.contains(&HeaderName::Via) {
                    self.respond_stateless(
                        &flow,
                        &req.headers.clone(),
                        StatusCode::BAD_REQUEST,
                        &e.reason_phrase(),
                        &[],
                    );
                }
                return;
            }
        };
        let Some(key) = TransactionKey::server(&req, &via, None) else {
            if req.method != Method::Ack {
                let headers = req.headers.clone();
                self.respond_stateless(
                    &flow,
                    &headers,
                    StatusCode::BAD_REQUEST,
                    "Malformed Request",
                    &[],
                );
            }
            return;
        };
        stamp_received(&mut req.headers, &via, &flow);

        // A retransmission, or the ACK of a non-2xx final response (§17.2.3).
        if let Some(&tx) = self.server_index.get(&key) {
            if req.method == Method::Ack {
                let cfg = self.config.timers;
                let actions = self
                    .servers
                    .get_mut(tx)
                    .map(|e| e.tx.on_ack(now, &cfg))
                    .unwrap_or_default();
                self.run_server_actions(tx, actions);
                if let Some(e) = self.servers.get(tx)
                    && e.tx.state == crate::transaction::ServerState::Accepted
                {
                    // A 2xx ACK that reused the INVITE's branch (RFC 2543 style): a dialog ACK.
                    self.on_dialog_ack(now, req);
                }
                return;
            }
            let actions = self
                .servers
                .get(tx)
                .map(|e| e.tx.on_retransmission())
                .unwrap_or_default();
            self.run_server_actions(tx, actions);
            return;
        }
        match req.method {
            Method::Ack => {
                self.on_dialog_ack(now, req);
                return;
            }
            Method::Cancel => {
                self.on_cancel(now, flow, req, &via, key);
                return;
            }
            _ => {}
        }
        if let Err(rejection) = self.config.policy.check(&req) {
            let tx = self.new_server_tx(key, req, flow, None);
            let mut spec = ResponseSpec::new(rejection.status).reason(rejection.reason);
            spec.headers = rejection.headers;
            self.stats.rejected += 1;
            let _ = self.respond(now, tx, spec);
            return;
        }
        let to_tag = req.headers.to().ok().and_then(|t| t.tag().cloned());
        if to_tag.is_none() && self.is_loop(&req) {
            let tx = self.new_server_tx(key, req, flow, None);
            self.stats.rejected += 1;
            let _ = self.respond(now, tx, ResponseSpec::new(StatusCode::LOOP_DETECTED));
            return;
        }
        match to_tag {
            Some(tag) => self.on_dialog_request(now, flow, req, key, tag),
            None => self.on_new_request(now, flow, req, key),
        }
    }

    /// §8.2.2.2: a request that looped back through us carries one of our own branches.
    fn is_loop(&self, req: &Request) -> bool {
        let tag = self.config.instance_tag.as_deref().unwrap_or("mp");
        let ours = format!("{}{tag}-", String::from_utf8_lossy(MAGIC_COOKIE));
        req.headers
            .vias()
            .map(|vias| {
                vias.iter()
                    .any(|v| v.branch().is_some_and(|b| b.starts_with(ours.as_bytes())))
            })
            .unwrap_or(false)
    }

    pub(super) fn new_server_tx(
        &mut self,
        key: TransactionKey,
        req: Request,
        flow: Flow,
        dialog: Option<Key>,
    ) -> super::ServerTxId {
        let merge = merge_key(&req);
        let entry = ServerEntry {
            tx: ServerTransaction::new(req, flow),
            key: key.clone(),
            dialog,
            to_tag: None,
            merge: merge.clone(),
        };
        let id = self.servers.insert(entry);
        self.server_index.insert(key, id);
        if let Some(m) = merge {
            self.merge_index.insert(m, id);
        }
        super::ServerTxId(id)
    }

    fn on_new_request(&mut self, now: Instant, flow: Flow, req: Request, key: TransactionKey) {
        // §8.2.2.2 merged requests: same From tag, Call-ID and CSeq as a live transaction, but
        // another branch (a forked copy reaching us twice).
        if let Some(m) = merge_key(&req)
            && self.merge_index.contains_key(&m)
        {
            let tx = self.new_server_tx(key, req, flow, None);
            self.stats.rejected += 1;
            let _ = self.respond(
                now,
                tx,
                ResponseSpec::new(StatusCode::LOOP_DETECTED).reason("Merged Request"),
            );
            return;
        }
        match req.method {
            Method::Invite => {
                if let Some(reject) = self.session_interval_check(&req) {
                    let tx = self.new_server_tx(key, req, flow, None);
                    self.stats.rejected += 1;
                    let _ = self.respond(now, tx, reject);
                    return;
                }
                let tx = self.new_server_tx(key, req.clone(), flow.clone(), None);
                // §17.2.1: answer 100 at once so that the client stops retransmitting.
                let _ = self.respond(now, tx, ResponseSpec::new(StatusCode::TRYING));
                self.emit(Event::Request {
                    tx,
                    request: req,
                    flow,
                });
            }
            Method::Options if self.config.answer_options => {
                let tx = self.new_server_tx(key, req, flow, None);
                let _ = self.respond(now, tx, self.capabilities(StatusCode::OK));
            }
            // Requests that only exist inside a dialog (§12.2.2, RFC 3262 §3, RFC 3311 §5.2).
            Method::Bye | Method::Prack | Method::Update | Method::Info => {
                let tx = self.new_server_tx(key, req, flow, None);
                self.stats.rejected += 1;
                let _ = self.respond(now, tx, ResponseSpec::new(StatusCode::CALL_DOES_NOT_EXIST));
            }
            _ => {
                let tx = self.new_server_tx(key, req.clone(), flow.clone(), None);
                self.emit(Event::Request {
                    tx,
                    request: req,
                    flow,
                });
            }
        }
    }

    /// 200 to OPTIONS (or the capabilities part of any answer): Allow, Accept, Supported.
    pub(super) fn capabilities(&self, status: StatusCode) -> ResponseSpec {
        ResponseSpec::new(status)
            .header(HeaderName::Allow, self.config.policy.allow_header())
            .header(HeaderName::Accept, Bytes::from_static(b"application/sdp"))
            .header(HeaderName::Supported, self.config.policy.supported_header())
    }

    /// RFC 4028 §8.1: a Session-Expires below our Min-SE gets 422 with our Min-SE.
    fn session_interval_check(&self, req: &Request) -> Option<ResponseSpec> {
        let st = self.config.session_timer;
        if !st.enabled {
            return None;
        }
        let asked = session_expires(&req.headers)?.0;
        (asked < st.min_se).then(|| {
            ResponseSpec::new(StatusCode::SESSION_INTERVAL_TOO_SMALL)
                .header(HeaderName::MinSe, Bytes::from(st.min_se.to_string()))
        })
    }

    fn dialog_for_request(&self, req: &Request, to_tag: &Bytes) -> Option<Key> {
        let call_id = req.headers.call_id().ok()?.clone();
        let from_tag = req.headers.from().ok()?.tag().cloned().unwrap_or_default();
        self.dialog_index
            .get(&DialogKey {
                call_id,
                local_tag: to_tag.clone(),
                remote_tag: from_tag,
            })
            .copied()
    }

    fn on_dialog_request(
        &mut self,
        now: Instant,
        flow: Flow,
        req: Request,
        key: TransactionKey,
        to_tag: Bytes,
    ) {
        let Some(d) = self.dialog_for_request(&req, &to_tag) else {
            // §12.2.2: no such dialog.
            let tx = self.new_server_tx(key, req, flow, None);
            self.stats.rejected += 1;
            let _ = self.respond(now, tx, ResponseSpec::new(StatusCode::CALL_DOES_NOT_EXIST));
            return;
        };
        let seq = req.headers.cseq().map(|c| c.seq).unwrap_or(0);
        let entry = self.dialogs.get_mut(d).expect("indexed dialog exists");
        // §12.2.2: a CSeq lower than the last one is out of order.
        if entry.d.remote_seq.is_some_and(|r| seq <= r) {
            let tx = self.new_server_tx(key, req, flow, Some(d));
            self.stats.rejected += 1;
            let _ = self.respond(
                now,
                tx,
                ResponseSpec::new(StatusCode::SERVER_INTERNAL_ERROR).reason("CSeq Out Of Order"),
            );
            return;
        }
        entry.d.remote_seq = Some(seq);
        if is_target_refresh(&req.method)
            && let Ok(contact) = req.headers.contact()
        {
            entry.d.remote_target = contact.uri;
        }
        let method = req.method.clone();
        match method {
            Method::Bye => {
                let tx = self.new_server_tx(key, req.clone(), flow, Some(d));
                let _ = self.respond(now, tx, ResponseSpec::new(StatusCode::OK));
                self.terminate_dialog(now, d, Termination::ByeReceived(Box::new(req)));
            }
            Method::Invite => {
                let entry = self.dialogs.get(d).expect("exists");
                let glare = entry.outgoing_offer.is_some();
                let busy = entry.invite_tx.is_some();
                let tx = self.new_server_tx(key, req.clone(), flow, Some(d));
                if glare {
                    // §14.2: our own re-INVITE is pending.
                    let _ = self.respond(now, tx, ResponseSpec::new(StatusCode::REQUEST_PENDING));
                    return;
                }
                if busy {
                    // §14.2: we have not answered the previous one yet.
                    let retry = self.rng.below(10) + 1;
                    let _ = self.respond(
                        now,
                        tx,
                        ResponseSpec::new(StatusCode::SERVER_INTERNAL_ERROR)
                            .header(HeaderName::RetryAfter, Bytes::from(retry.to_string())),
                    );
                    return;
                }
                self.dialogs.get_mut(d).expect("exists").invite_tx = Some(tx.0);
                let _ = self.respond(now, tx, ResponseSpec::new(StatusCode::TRYING));
                self.note_refresh(now, d, &req);
                self.emit(Event::DialogRequest {
                    dialog: super::DialogId(d),
                    tx,
                    request: req,
                });
            }
            Method::Update => {
                let offer = !req.body.is_empty();
                let glare = offer
                    && self
                        .dialogs
                        .get(d)
                        .is_some_and(|e| e.outgoing_offer.is_some());
                let tx = self.new_server_tx(key, req.clone(), flow, Some(d));
                if glare {
                    let _ = self.respond(now, tx, ResponseSpec::new(StatusCode::REQUEST_PENDING));
                    return;
                }
                self.note_refresh(now, d, &req);
                if !offer && self.dialogs.get(d).is_some_and(|e| e.session.is_some()) {
                    // A pure session refresh (RFC 4028 §7.4): answered here.
                    let _ = self.respond(now, tx, ResponseSpec::new(StatusCode::OK));
                    self.emit(Event::SessionRefreshed {
                        dialog: super::DialogId(d),
                        remote_sdp: None,
                    });
                    return;
                }
                self.emit(Event::DialogRequest {
                    dialog: super::DialogId(d),
                    tx,
                    request: req,
                });
            }
            Method::Prack => self.on_prack(now, flow, req, key, d),
            Method::Options if self.config.answer_options => {
                let tx = self.new_server_tx(key, req, flow, Some(d));
                let _ = self.respond(now, tx, self.capabilities(StatusCode::OK));
            }
            _ => {
                let tx = self.new_server_tx(key, req.clone(), flow, Some(d));
                self.emit(Event::DialogRequest {
                    dialog: super::DialogId(d),
                    tx,
                    request: req,
                });
            }
        }
    }

    /// RFC 3262 §3: a PRACK matching our unacknowledged reliable provisional stops its
    /// retransmission and gets 200; any other PRACK gets 481.
    fn on_prack(&mut self, now: Instant, flow: Flow, req: Request, key: TransactionKey, d: Key) {
        let rack = req.headers.get(&HeaderName::RAck).and_then(parse_rack);
        let matched = match (&self.dialogs.get(d).and_then(|e| e.reliable.as_ref()), rack) {
            (Some(r), Some((rseq, cseq, method))) => {
                r.rseq == rseq && r.cseq == cseq && method == Method::Invite
            }
            _ => false,
        };
        let tx = self.new_server_tx(key, req.clone(), flow, Some(d));
        if !matched {
            self.stats.rejected += 1;
            let _ = self.respond(now, tx, ResponseSpec::new(StatusCode::CALL_DOES_NOT_EXIST));
            return;
        }
        let entry = self.dialogs.get_mut(d).expect("exists");
        entry.reliable = None;
        entry.timers[DialogTimer::RetransmitReliable as usize] = None;
        let _ = self.respond(now, tx, ResponseSpec::new(StatusCode::OK));
        self.emit(Event::Prack {
            dialog: super::DialogId(d),
            request: req,
        });
    }

    /// An ACK for a 2xx (§13.3.1.4, §17.1.1.3): stops the 2xx retransmission.
    fn on_dialog_ack(&mut self, _now: Instant, req: Request) {
        let Some(to_tag) = req.headers.to().ok().and_then(|t| t.tag().cloned()) else {
            return;
        };
        let Some(d) = self.dialog_for_request(&req, &to_tag) else {
            return;
        };
        let seq = req.headers.cseq().map(|c| c.seq).unwrap_or(0);
        let entry = self.dialogs.get_mut(d).expect("indexed dialog exists");
        match &entry.pending_2xx {
            Some(p) if p.cseq == seq => {
                entry.pending_2xx = None;
                entry.timers[DialogTimer::Retransmit2xx as usize] = None;
                entry.d.state = crate::dialog::DialogState::Confirmed;
                self.emit(Event::Ack {
                    dialog: super::DialogId(d),
                    request: req,
                });
            }
            // A retransmitted ACK, or one for an older 2xx: nothing to do.
            _ => {}
        }
    }

    /// §9.2: CANCEL answers 200 when it matches a pending INVITE, which then gets 487.
    fn on_cancel(
        &mut self,
        now: Instant,
        flow: Flow,
        req: Request,
        via: &Via,
        key: TransactionKey,
    ) {
        let invite_key = TransactionKey::server(&req, via, Some(Method::Invite));
        let invite = invite_key.and_then(|k| self.server_index.get(&k).copied());
        let tx = self.new_server_tx(key, req, flow, None);
        let Some(invite) = invite else {
            self.stats.rejected += 1;
            let _ = self.respond(now, tx, ResponseSpec::new(StatusCode::CALL_DOES_NOT_EXIST));
            return;
        };
        let _ = self.respond(now, tx, ResponseSpec::new(StatusCode::OK));
        let pending = self
            .servers
            .get(invite)
            .is_some_and(|e| e.tx.accepts_response(StatusCode::REQUEST_TERMINATED));
        if !pending {
            return;
        }
        let dialog = self.servers.get(invite).and_then(|e| e.dialog);
        let _ = self.respond(
            now,
            super::ServerTxId(invite),
            ResponseSpec::new(StatusCode::REQUEST_TERMINATED),
        );
        self.emit(Event::Cancelled {
            tx: super::ServerTxId(invite),
            dialog: dialog.map(super::DialogId),
        });
    }

    pub(super) fn run_server_actions(&mut self, tx: Key, actions: Vec<Action>) {
        for action in actions {
            match action {
                Action::Send(data) => {
                    if let Some(e) = self.servers.get(tx) {
                        let via = e.tx.request.headers.top_via().ok();
                        let flow = response_flow(&e.tx.flow, via.as_ref());
                        self.transmit(flow, data);
                    }
                }
                Action::TimedOut => {
                    // Timer H: our non-2xx final response was never ACKed. Nothing to tell.
                }
                Action::Terminate => self.remove_server_tx(tx),
                Action::Deliver => {}
            }
        }
        self.arm_server_timers(tx);
    }

    pub(super) fn arm_server_timers(&mut self, tx: Key) {
        let Some(e) = self.servers.get_mut(tx) else {
            return;
        };
        let new: Vec<_> = e.tx.timers.take_new().collect();
        for (slot, at) in new {
            self.schedule(at, TimerRef::Server(tx, slot));
        }
    }

    pub(super) fn remove_server_tx(&mut self, tx: Key) {
        if let Some(e) = self.servers.remove(tx) {
            if self.server_index.get(&e.key) == Some(&tx) {
                self.server_index.remove(&e.key);
            }
            if let Some(m) = e.merge
                && self.merge_index.get(&m) == Some(&tx)
            {
                self.merge_index.remove(&m);
            }
        }
    }

    fn on_response(&mut self, now: Instant, flow: Flow, resp: Response) {
        let Some(key) = TransactionKey::client_for_response(&resp) else {
            return;
        };
        let Some(&tx) = self.client_index.get(&key) else {
            self.on_stray_response(now, resp);
            return;
        };
        let cfg = self.config.timers;
        let Some(entry) = self.clients.get_mut(tx) else {
            return;
        };
        // A stream flow learns its connection from the first response (RFC 3261 §18.1.2).
        if entry.tx.flow.connection.is_none()
            && flow.connection.is_some()
            && entry.tx.flow.transport == flow.transport
        {
            entry.tx.flow.connection = flow.connection;
        }
        let actions = entry.tx.on_response(now, &cfg, &resp);
        self.run_client_actions(now, tx, actions, Some(resp));
    }

    /// A response no transaction matches: a retransmitted 2xx after the INVITE transaction
    /// ended gets our ACK again (§13.2.2.4); anything else is dropped (§18.1.2).
    fn on_stray_response(&mut self, _now: Instant, resp: Response) {
        if !resp.status.is_success() {
            return;
        }
        let Ok(cseq) = resp.headers.cseq() else {
            return;
        };
        if cseq.method != Method::Invite {
            return;
        }
        let (Ok(call_id), Ok(from), Ok(to)) = (
            resp.headers.call_id(),
            resp.headers.from(),
            resp.headers.to(),
        ) else {
            return;
        };
        let key = DialogKey {
            call_id: call_id.clone(),
            local_tag: from.tag().cloned().unwrap_or_default(),
            remote_tag: to.tag().cloned().unwrap_or_default(),
        };
        let Some(&d) = self.dialog_index.get(&key) else {
            return;
        };
        if let Some(e) = self.dialogs.get(d)
            && let Some((seq, wire)) = &e.last_ack
            && *seq == cseq.seq
        {
            let (flow, wire) = (e.d.flow.clone(), wire.clone());
            self.transmit(flow, wire);
        }
    }

    pub(super) fn run_client_actions(
        &mut self,
        now: Instant,
        tx: Key,
        actions: Vec<Action>,
        resp: Option<Response>,
    ) {
        let mut deliver = None;
        let mut timed_out = false;
        let mut terminate = false;
        for action in actions {
            match action {
                Action::Send(data) => {
                    if let Some(e) = self.clients.get(tx) {
                        let flow = e.tx.flow.clone();
                        self.transmit(flow, data);
                    }
                }
                Action::Deliver => deliver = resp.clone(),
                Action::TimedOut => timed_out = true,
                Action::Terminate => terminate = true,
            }
        }
        if let Some(e) = self.clients.get_mut(tx) {
            let new: Vec<_> = e.tx.timers.take_new().collect();
            for (slot, at) in new {
                self.schedule(at, TimerRef::Client(tx, slot));
            }
        }
        let owner = self.clients.get(tx).map(|e| e.owner);
        let request_snapshot = self.clients.get(tx).map(|e| e.tx.request.clone());
        if terminate {
            self.remove_client_tx(tx);
        }
        let Some(owner) = owner else { return };
        if let Some(resp) = deliver {
            self.deliver_response(now, owner, tx, resp);
        } else if timed_out {
            let request = request_snapshot.expect("transaction existed");
            let resp = local_response(&request, StatusCode::REQUEST_TIMEOUT);
            self.deliver_response(now, owner, tx, resp);
        }
    }

    pub(super) fn remove_client_tx(&mut self, tx: Key) {
        if let Some(e) = self.clients.remove(tx)
            && self.client_index.get(&e.key) == Some(&tx)
        {
            self.client_index.remove(&e.key);
        }
    }

    /// A dialog request that can refresh the session timer (RFC 4028 §9): re-INVITE, UPDATE.
    fn note_refresh(&mut self, now: Instant, d: Key, req: &Request) {
        if let Some(entry) = self.dialogs.get_mut(d)
            && entry.session.is_some()
        {
            let (interval, refresher) = session_expires(&req.headers)
                .unwrap_or((entry.session.map(|s| s.interval).unwrap_or(1800), None));
            let them_refresh = match (refresher.as_deref(), entry.d.role) {
                (Some(b"uac"), Role::Uas) | (Some(b"uas"), Role::Uac) => true,
                (Some(_), _) => false,
                (None, _) => true,
            };
            entry.session = Some(super::Session {
                interval,
                refresher: if them_refresh {
                    super::Refresher::Them
                } else {
                    super::Refresher::Us
                },
            });
            self.arm_session_timer(now, d);
        }
    }
}

/// The merged-request key of a request without a To tag.
fn merge_key(req: &Request) -> Option<MergeKey> {
    let to = req.headers.to().ok()?;
    if to.tag().is_some() {
        return None;
    }
    Some(MergeKey {
        from_tag: req.headers.from().ok()?.tag()?.clone(),
        call_id: req.headers.call_id().ok()?.clone(),
        cseq: req.headers.cseq().ok()?.seq,
        method: req.method.clone(),
    })
}

/// §18.2.1 and RFC 3581 §4: note the source address in the top Via.
fn stamp_received(headers: &mut Headers, via: &Via, flow: &Flow) {
    let ip = flow.remote.ip();
    let wants_rport = via.rport().is_some();
    let differs = via.host.ip() != Some(ip);
    if !differs && !wants_rport {
        return;
    }
    let mut v = via.clone();
    v.params.set("received", Some(ip.to_string().as_bytes()));
    if wants_rport {
        v.params
            .set("rport", Some(flow.remote.port().to_string().as_bytes()));
    }
    let Some(line) = headers.first_mut(&HeaderName::Via) else {
        return;
    };
    let rest = match grammar::split_commas(line) {
        Ok(parts) if parts.len() > 1 => Some(line.slice(parts[0].1..)),
        _ => None,
    };
    let mut new = v.to_bytes().to_vec();
    if let Some(rest) = rest {
        new.extend_from_slice(&rest);
    }
    *line = Bytes::from(new);
}

/// RAck: `rseq cseq method` (RFC 3262 §7.2).
fn parse_rack(v: &Bytes) -> Option<(u32, u32, Method)> {
    let mut parts = v.split(|b| grammar::is_ws(*b)).filter(|p| !p.is_empty());
    let rseq = grammar::parse_decimal(parts.next()?, u64::from(u32::MAX))? as u32;
    let cseq = grammar::parse_decimal(parts.next()?, u64::from(u32::MAX))? as u32;
    let method = Method::from_bytes(parts.next()?)?;
    Some((rseq, cseq, method))
}

/// Session-Expires: `delta-seconds;refresher=uac|uas` (RFC 4028 §4).
pub(super) fn session_expires(h: &Headers) -> Option<(u32, Option<Bytes>)> {
    let v = h.get(&HeaderName::SessionExpires)?;
    let semi = v.iter().position(|&b| b == b';').unwrap_or(v.len());
    let secs = grammar::parse_decimal(grammar::trim(&v[..semi]), u64::from(u32::MAX))? as u32;
    let params = crate::header::Params::parse(v, semi, v.len(), true).ok()?;
    Some((
        secs,
        params
            .value("refresher")
            .map(|r| Bytes::from(r.to_ascii_lowercase())),
    ))
}

/// A response generated here for a request that got none (timeout, transport failure).
pub(super) fn local_response(req: &Request, status: StatusCode) -> Response {
    let mut resp = Response::new(status);
    for name in [
        HeaderName::Via,
        HeaderName::From,
        HeaderName::To,
        HeaderName::CallId,
        HeaderName::CSeq,
    ] {
        if let Some(v) = req.headers.get(&name) {
            resp.headers.push(name, v.clone());
        }
    }
    resp.headers
        .push(HeaderName::ContentLength, Bytes::from_static(b"0"));
    resp
}

use super::is_target_refresh;
