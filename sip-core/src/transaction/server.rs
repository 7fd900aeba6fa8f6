//! Server transactions: INVITE (RFC 3261 §17.2.1, Figure 7, with RFC 6026 §7.1) and
//! non-INVITE (§17.2.2, Figure 8).
//!
//! ```text
//!  INVITE                                           non-INVITE
//!  Proceeding --2xx--> Accepted --L--> x            Trying --1xx--> Proceeding
//!     \--300-699--> Completed --ACK--> Confirmed --I--> x      \--final--> Completed --J--> x
//!                   G: resend, T1 doubling to T2
//!                   H: no ACK, give up
//! ```

use std::time::{Duration, Instant};

use bytes::Bytes;

use super::{Action, Flow, TimerSlot, Timers};
use crate::{Method, Request, StatusCode, timer::TimerConfig};

/// States of Figures 7 and 8.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ServerState {
    Trying,
    Proceeding,
    Accepted,
    Completed,
    Confirmed,
    Terminated,
}

#[derive(Debug)]
pub(crate) struct ServerTransaction {
    pub(crate) invite: bool,
    pub(crate) state: ServerState,
    /// The request as received (top Via stamped with received/rport).
    pub(crate) request: Request,
    /// Where the request came from; responses go back this way.
    pub(crate) flow: Flow,
    last_response: Option<(StatusCode, Bytes)>,
    interval: Duration,
    pub(crate) timers: Timers,
}

impl ServerTransaction {
    pub(crate) fn new(request: Request, flow: Flow) -> Self {
        let invite = request.method == Method::Invite;
        Self {
            invite,
            state: if invite {
                ServerState::Proceeding
            } else {
                ServerState::Trying
            },
            request,
            flow,
            last_response: None,
            interval: Duration::ZERO,
            timers: Timers::default(),
        }
    }

    fn reliable(&self) -> bool {
        self.flow.transport.is_reliable()
    }

    /// A retransmission of the request arrived.
    pub(crate) fn on_retransmission(&self) -> Vec<Action> {
        let resend = match self.state {
            ServerState::Proceeding | ServerState::Completed => true,
            ServerState::Trying
            | ServerState::Accepted
            | ServerState::Confirmed
            | ServerState::Terminated => false,
        };
        match (&self.last_response, resend) {
            (Some((_, wire)), true) => vec![Action::Send(wire.clone())],
            _ => Vec::new(),
        }
    }

    /// The ACK for a non-2xx final response arrived.
    pub(crate) fn on_ack(&mut self, now: Instant, cfg: &TimerConfig) -> Vec<Action> {
        if self.state != ServerState::Completed {
            return Vec::new();
        }
        self.state = ServerState::Confirmed;
        self.timers.clear_all();
        if self.reliable() {
            self.state = ServerState::Terminated;
            return vec![Action::Terminate];
        }
        self.timers.set(TimerSlot::Linger, now + cfg.t4); // Timer I
        Vec::new()
    }

    /// Whether the transaction still takes a response from the transaction user.
    pub(crate) fn accepts_response(&self, status: StatusCode) -> bool {
        match self.state {
            ServerState::Trying | ServerState::Proceeding => true,
            ServerState::Accepted => status.is_success(),
            _ => false,
        }
    }

    /// The transaction user sends a response (already printed as `wire`).
    pub(crate) fn send_response(
        &mut self,
        now: Instant,
        cfg: &TimerConfig,
        status: StatusCode,
        wire: Bytes,
    ) -> Vec<Action> {
        if !self.accepts_response(status) {
            return Vec::new();
        }
        let mut actions = vec![Action::Send(wire.clone())];
        self.last_response = Some((status, wire));
        if status.is_provisional() {
            if !self.invite {
                self.state = ServerState::Proceeding;
            }
            return actions;
        }
        self.timers.clear_all();
        if self.invite && status.is_success() {
            // RFC 6026 §7.1: Accepted absorbs INVITE retransmissions; the TU resends the 2xx.
            if self.state != ServerState::Accepted {
                self.state = ServerState::Accepted;
                self.timers.set(TimerSlot::Linger, now + cfg.timeout()); // Timer L
            }
        } else if self.invite {
            self.state = ServerState::Completed;
            if !self.reliable() {
                self.interval = cfg.t1;
                self.timers.set(TimerSlot::Retransmit, now + cfg.t1); // Timer G
            }
            self.timers.set(TimerSlot::Timeout, now + cfg.timeout()); // Timer H
        } else {
            self.state = ServerState::Completed;
            if self.reliable() {
                self.state = ServerState::Terminated;
                actions.push(Action::Terminate);
            } else {
                self.timers.set(TimerSlot::Linger, now + cfg.timeout()); // Timer J
            }
        }
        actions
    }

    /// A timer of this transaction fired.
    pub(crate) fn on_timer(
        &mut self,
        now: Instant,
        cfg: &TimerConfig,
        slot: TimerSlot,
    ) -> Vec<Action> {
        match (slot, self.state) {
            (TimerSlot::Retransmit, ServerState::Completed) => {
                // Timer G: doubling up to T2.
                self.interval = (self.interval * 2).min(cfg.t2);
                self.timers.set(TimerSlot::Retransmit, now + self.interval);
                self.last_response
                    .as_ref()
                    .map(|(_, w)| Action::Send(w.clone()))
                    .into_iter()
                    .collect()
            }
            (TimerSlot::Timeout, ServerState::Completed) => {
                // Timer H: the ACK never came.
                self.state = ServerState::Terminated;
                self.timers.clear_all();
                vec![Action::TimedOut, Action::Terminate]
            }
            (
                TimerSlot::Linger,
                ServerState::Confirmed | ServerState::Accepted | ServerState::Completed,
            ) => {
                // Timers I, L, J.
                self.state = ServerState::Terminated;
                self.timers.clear_all();
                vec![Action::Terminate]
            }
            _ => Vec::new(),
        }
    }
}
