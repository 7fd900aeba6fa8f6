//! Timer dispatch: transaction timers (RFC 3261 §17) and the dialog-level ones the endpoint
//! runs for the transaction user: 2xx retransmission (§13.3.1.4), reliable provisional
//! retransmission (RFC 3262 §3), session refresh and expiry (RFC 4028 §10), glare retry.

use std::time::{Duration, Instant};

use super::{DialogTimer, Endpoint, Refresher, ResponseSpec, ServerTxId, Termination, TimerRef};
use crate::{StatusCode, arena::Key};

impl Endpoint {
    /// Runs every timer due at `now`.
    pub fn handle_timeout(&mut self, now: Instant) {
        let cfg = self.config.timers;
        while let Some((at, what)) = self.deadlines.pop_due(now) {
            match what {
                TimerRef::Client(k, slot) => {
                    let Some(e) = self.clients.get_mut(k) else {
                        continue;
                    };
                    if !e.tx.timers.is(slot, at) {
                        continue;
                    }
                    e.tx.timers.clear(slot);
                    let actions = e.tx.on_timer(now, &cfg, slot);
                    self.run_client_actions(now, k, actions, None);
                }
                TimerRef::Server(k, slot) => {
                    let Some(e) = self.servers.get_mut(k) else {
                        continue;
                    };
                    if !e.tx.timers.is(slot, at) {
                        continue;
                    }
                    e.tx.timers.clear(slot);
                    let actions = e.tx.on_timer(now, &cfg, slot);
                    self.run_server_actions(k, actions);
                }
                TimerRef::Dialog(d, which) => {
                    let Some(e) = self.dialogs.get_mut(d) else {
                        continue;
                    };
                    if e.timers[which as usize] != Some(at) {
                        continue;
                    }
                    e.timers[which as usize] = None;
                    match which {
                        DialogTimer::Retransmit2xx => self.on_2xx_timer(now, d),
                        DialogTimer::RetransmitReliable => self.on_reliable_timer(now, d),
                        DialogTimer::Session => self.on_session_timer(now, d),
                    }
                }
                TimerRef::Request(k) => self.on_request_timer(now, k, at),
            }
        }
    }

    fn on_2xx_timer(&mut self, now: Instant, d: Key) {
        let t2 = self.config.timers.t2;
        let Some(e) = self.dialogs.get_mut(d) else {
            return;
        };
        let Some(p) = &mut e.pending_2xx else { return };
        if now >= p.give_up {
            // §13.3.1.4: no ACK after 64·T1; the session ends with a BYE.
            e.pending_2xx = None;
            self.send_internal_bye(now, d);
            self.terminate_dialog(now, d, Termination::AckTimeout);
            return;
        }
        p.interval = (p.interval * 2).min(t2);
        let next = (now + p.interval).min(p.give_up);
        let (flow, wire) = (p.flow.clone(), p.wire.clone());
        self.transmit(flow, wire);
        self.arm_dialog_timer(d, DialogTimer::Retransmit2xx, next);
    }

    fn on_reliable_timer(&mut self, now: Instant, d: Key) {
        let Some(e) = self.dialogs.get_mut(d) else {
            return;
        };
        let Some(r) = &mut e.reliable else { return };
        if now >= r.give_up {
            // RFC 3262 §3: no PRACK after 64·T1; reject the INVITE with a 5xx.
            let tx = r.server_tx;
            e.reliable = None;
            // The 5xx below answers the INVITE; the dialog must not add a 487 of its own.
            e.invite_tx = None;
            self.terminate_dialog(now, d, Termination::NoPrack);
            let _ = self.respond(
                now,
                ServerTxId(tx),
                ResponseSpec::new(StatusCode::SERVER_INTERNAL_ERROR).reason("No PRACK"),
            );
            return;
        }
        r.interval *= 2;
        let next = (now + r.interval).min(r.give_up);
        let (flow, wire) = (r.flow.clone(), r.wire.clone());
        self.transmit(flow, wire);
        self.arm_dialog_timer(d, DialogTimer::RetransmitReliable, next);
    }

    fn on_session_timer(&mut self, now: Instant, d: Key) {
        let Some(e) = self.dialogs.get(d) else { return };
        let Some(s) = e.session else { return };
        match s.refresher {
            Refresher::Us => {
                self.send_refresh(now, d);
                // Try again later if this refresh cannot go now (an offer in flight).
                self.arm_session_timer(now, d);
            }
            Refresher::Them => {
                // RFC 4028 §10: nobody refreshed; end the session.
                self.send_internal_bye(now, d);
                self.terminate_dialog(now, d, Termination::SessionExpired);
            }
        }
    }

    /// Arms the session timer: at half the interval when we refresh, at the interval less
    /// min(32 s, interval/3) when they do (RFC 4028 §10).
    pub(super) fn arm_session_timer(&mut self, now: Instant, d: Key) {
        let Some(s) = self.dialogs.get(d).and_then(|e| e.session) else {
            return;
        };
        let interval = u64::from(s.interval);
        let after = match s.refresher {
            Refresher::Us => interval * 1000 / 2,
            Refresher::Them => (interval - (interval / 3).min(32)) * 1000,
        };
        self.arm_dialog_timer(d, DialogTimer::Session, now + Duration::from_millis(after));
    }
}
