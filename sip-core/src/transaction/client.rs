//! Client transactions: INVITE (RFC 3261 §17.1.1, Figure 5, with RFC 6026 §7.2) and
//! non-INVITE (§17.1.2, Figure 6).
//!
//! ```text
//!  INVITE                                         non-INVITE
//!  Calling --1xx--> Proceeding                    Trying --1xx--> Proceeding
//!     |  \--2xx--------------> Accepted --M--> x     |   \--final---------> Completed --K--> x
//!     |   \-300-699 (ACK)----> Completed --D--> x    F: timeout                 (absorbs)
//!     B: timeout (Calling only)                    E: retransmit, T1 doubling to T2
//!  A: retransmit (Calling, unreliable), T1 doubling
//! ```

use std::time::{Duration, Instant};

use bytes::Bytes;

use super::{Action, Flow, TimerSlot, Timers};
use crate::{HeaderName, Method, Request, Response, timer::TimerConfig};

/// States of Figures 5 and 6 (INVITE uses `Calling`, non-INVITE `Trying`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ClientState {
    Calling,
    Trying,
    Proceeding,
    Accepted,
    Completed,
    Terminated,
}

#[derive(Debug)]
pub(crate) struct ClientTransaction {
    pub(crate) invite: bool,
    pub(crate) state: ClientState,
    /// The request as sent.
    pub(crate) request: Request,
    wire: Bytes,
    pub(crate) flow: Flow,
    interval: Duration,
    pub(crate) timers: Timers,
    /// The ACK for a non-2xx final response, resent for each retransmission of it.
    ack: Option<Bytes>,
}

impl ClientTransaction {
    /// Starts the transaction; the caller sends `wire` (returned as the first action).
    pub(crate) fn start(
        now: Instant,
        cfg: &TimerConfig,
        request: Request,
        wire: Bytes,
        flow: Flow,
    ) -> (Self, Action) {
        let invite = request.method == Method::Invite;
        let reliable = flow.transport.is_reliable();
        let mut timers = Timers::default();
        if !reliable {
            timers.set(TimerSlot::Retransmit, now + cfg.t1); // Timer A / E
        }
        timers.set(TimerSlot::Timeout, now + cfg.timeout()); // Timer B / F
        let state = if invite {
            ClientState::Calling
        } else {
            ClientState::Trying
        };
        let tx = Self {
            invite,
            state,
            request,
            wire: wire.clone(),
            flow,
            interval: cfg.t1,
            timers,
            ack: None,
        };
        (tx, Action::Send(wire))
    }

    fn reliable(&self) -> bool {
        self.flow.transport.is_reliable()
    }

    /// A response matched this transaction.
    pub(crate) fn on_response(
        &mut self,
        now: Instant,
        cfg: &TimerConfig,
        resp: &Response,
    ) -> Vec<Action> {
        let status = resp.status;
        if self.invite {
            match (self.state, status.is_provisional(), status.is_success()) {
                (ClientState::Calling | ClientState::Proceeding, true, _) => {
                    self.state = ClientState::Proceeding;
                    self.timers.clear(TimerSlot::Retransmit);
                    // Figure 5: Timer B only runs in Calling; the TU's own timer (dial
                    // timeout, then CANCEL) bounds Proceeding.
                    self.timers.clear(TimerSlot::Timeout);
                    vec![Action::Deliver]
                }
                (ClientState::Calling | ClientState::Proceeding, false, true) => {
                    // RFC 6026 §7.2: Accepted, absorbing 2xx retransmissions for the TU.
                    self.state = ClientState::Accepted;
                    self.timers.clear_all();
                    self.timers.set(TimerSlot::Linger, now + cfg.timeout()); // Timer M
                    vec![Action::Deliver]
                }
                (ClientState::Accepted, false, true) => vec![Action::Deliver],
                (ClientState::Calling | ClientState::Proceeding, false, false) => {
                    // §17.1.1.3: the transaction ACKs a non-2xx final response itself.
                    let ack = self.ack_for(resp).to_bytes();
                    self.ack = Some(ack.clone());
                    self.state = ClientState::Completed;
                    self.timers.clear_all();
                    let mut actions = vec![Action::Send(ack), Action::Deliver];
                    if self.reliable() {
                        self.state = ClientState::Terminated;
                        actions.push(Action::Terminate);
                    } else {
                        self.timers
                            .set(TimerSlot::Linger, now + Duration::from_secs(32)); // Timer D
                    }
                    actions
                }
                (ClientState::Completed, false, false) => {
                    self.ack.clone().map(Action::Send).into_iter().collect()
                }
                _ => Vec::new(),
            }
        } else {
            match (self.state, status.is_provisional()) {
                (ClientState::Trying | ClientState::Proceeding, true) => {
                    self.state = ClientState::Proceeding;
                    vec![Action::Deliver]
                }
                (ClientState::Trying | ClientState::Proceeding, false) => {
                    self.state = ClientState::Completed;
                    self.timers.clear_all();
                    if self.reliable() {
                        self.state = ClientState::Terminated;
                        vec![Action::Deliver, Action::Terminate]
                    } else {
                        self.timers.set(TimerSlot::Linger, now + cfg.t4); // Timer K
                        vec![Action::Deliver]
                    }
                }
                _ => Vec::new(),
            }
        }
    }

    /// A timer of this transaction fired.
    pub(crate) fn on_timer(
        &mut self,
        now: Instant,
        cfg: &TimerConfig,
        slot: TimerSlot,
    ) -> Vec<Action> {
        match (slot, self.state) {
            (TimerSlot::Retransmit, ClientState::Calling) => {
                // Timer A: double each time.
                self.interval *= 2;
                self.timers.set(TimerSlot::Retransmit, now + self.interval);
                vec![Action::Send(self.wire.clone())]
            }
            (TimerSlot::Retransmit, ClientState::Trying | ClientState::Proceeding)
                if !self.invite =>
            {
                // Timer E: doubling up to T2 while Trying, T2 once Proceeding (§17.1.2.2).
                self.interval = if self.state == ClientState::Proceeding {
                    cfg.t2
                } else {
                    (self.interval * 2).min(cfg.t2)
                };
                self.timers.set(TimerSlot::Retransmit, now + self.interval);
                vec![Action::Send(self.wire.clone())]
            }
            (
                TimerSlot::Timeout,
                ClientState::Calling | ClientState::Trying | ClientState::Proceeding,
            ) => {
                self.state = ClientState::Terminated;
                self.timers.clear_all();
                vec![Action::TimedOut, Action::Terminate]
            }
            (TimerSlot::Linger, ClientState::Completed | ClientState::Accepted) => {
                self.state = ClientState::Terminated;
                self.timers.clear_all();
                vec![Action::Terminate]
            }
            _ => Vec::new(),
        }
    }

    /// §17.1.1.3: the ACK for a non-2xx response to this INVITE.
    fn ack_for(&self, resp: &Response) -> Request {
        let mut ack = Request::new(Method::Ack, self.request.uri.clone());
        let h = &self.request.headers;
        if let Some(via) = h.get(&HeaderName::Via) {
            ack.headers.push(HeaderName::Via, via.clone());
        }
        for route in h.get_all(&HeaderName::Route) {
            ack.headers.push(HeaderName::Route, route.clone());
        }
        ack.headers
            .push(HeaderName::MaxForwards, Bytes::from_static(b"70"));
        if let Some(from) = h.get(&HeaderName::From) {
            ack.headers.push(HeaderName::From, from.clone());
        }
        if let Some(to) = resp.headers.get(&HeaderName::To) {
            ack.headers.push(HeaderName::To, to.clone());
        }
        if let Some(call_id) = h.get(&HeaderName::CallId) {
            ack.headers.push(HeaderName::CallId, call_id.clone());
        }
        let seq = h.cseq().map(|c| c.seq).unwrap_or(1);
        ack.headers
            .push(HeaderName::CSeq, Bytes::from(format!("{seq} ACK")));
        ack.headers
            .push(HeaderName::ContentLength, Bytes::from_static(b"0"));
        ack
    }
}
