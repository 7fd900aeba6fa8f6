//! SIP events: inbound calls (routing to echo, a conference or a Stasis app), in-dialog
//! requests (re-INVITE for hold, INFO DTMF), CANCEL, BYE.

use std::time::{Instant, SystemTime};

use bytes::Bytes;
use media_engine::command::{LegConfig, LegId, MediaCommand};
use serde_json::json;
use sip_core::{
    HeaderName, Method, Request, StatusCode,
    endpoint::{DialogId, Event, ResponseSpec, ServerTxId, Termination},
    transaction::Flow,
};

use super::{
    Core,
    model::{Channel, ChannelState, Dialplan, Party, StasisState, Tech},
};

/// `${...}` substitution of the StasisStart args template.
fn expand_args(template: &str, req: &Request, flow: &Flow) -> Vec<String> {
    let mut out = String::new();
    let mut rest = template;
    while let Some(i) = rest.find("${") {
        out.push_str(&rest[..i]);
        let Some(j) = rest[i..].find('}') else {
            out.push_str(&rest[i..]);
            rest = "";
            break;
        };
        let key = &rest[i + 2..i + j];
        let value = match key {
            "call_id" => req
                .headers
                .call_id()
                .map(|c| String::from_utf8_lossy(c).into_owned())
                .unwrap_or_default(),
            "from_user" => req
                .headers
                .from()
                .ok()
                .and_then(|f| {
                    f.uri
                        .user()
                        .map(|u| String::from_utf8_lossy(u).into_owned())
                })
                .unwrap_or_default(),
            "to_user" => req
                .uri
                .user()
                .map(|u| String::from_utf8_lossy(u).into_owned())
                .unwrap_or_default(),
            "source" => flow.remote.ip().to_string(),
            k => match k.strip_prefix("header:") {
                Some(h) => req
                    .headers
                    .get_named(h)
                    .map(|v| String::from_utf8_lossy(v).into_owned())
                    .unwrap_or_default(),
                None => String::new(),
            },
        };
        // A value must not split the comma-separated args.
        out.push_str(&value.replace(',', ";"));
        rest = &rest[i + j + 1..];
    }
    out.push_str(rest);
    out.split(',').map(|a| a.trim().to_string()).collect()
}

impl Core {
    pub(crate) fn on_sip_event(&mut self, e: Event) {
        match e {
            Event::Request { tx, request, flow } if request.method == Method::Invite => {
                self.on_invite(tx, request, flow);
            }
            Event::Request { tx, request, .. } => {
                let status = match request.method {
                    Method::Register | Method::Subscribe | Method::Publish => {
                        StatusCode::METHOD_NOT_ALLOWED
                    }
                    _ => StatusCode::NOT_IMPLEMENTED,
                };
                let _ = self.ep.respond(
                    Instant::now(),
                    tx,
                    ResponseSpec::new(status).header(
                        HeaderName::Allow,
                        "INVITE, ACK, CANCEL, BYE, OPTIONS, UPDATE, INFO, PRACK",
                    ),
                );
            }
            Event::DialogRequest {
                dialog,
                tx,
                request,
            } => self.on_dialog_request(dialog, tx, request),
            Event::Ack { dialog, request } => self.on_ack(dialog, &request),
            Event::Response {
                request,
                dialog,
                response,
            } => self.on_response(request, dialog, &response),
            Event::Cancelled { tx, .. } => {
                if let Some(id) = self.by_tx.remove(&tx) {
                    self.remote_hangup(&id, 16);
                }
            }
            Event::DialogTerminated { dialog, reason } => {
                let Some(id) = self.by_dialog.get(&dialog).cloned() else {
                    return;
                };
                let cause = match &reason {
                    Termination::ByeReceived(bye) => reason_cause(bye).unwrap_or(16),
                    Termination::Failed(s) | Termination::Lost(s) => {
                        super::cause::cause_of_sip_status(s.code())
                    }
                    _ => 16,
                };
                if !matches!(reason, Termination::ByeSent) {
                    self.remote_hangup(&id, cause);
                }
            }
            Event::AckNeeded { dialog } => {
                let _ = self.ep.ack(Instant::now(), dialog, None);
            }
            _ => {}
        }
    }

    fn on_invite(&mut self, tx: ServerTxId, req: Request, flow: Flow) {
        let now = Instant::now();
        let exten = req
            .uri
            .user()
            .map(|u| String::from_utf8_lossy(u).into_owned())
            .unwrap_or_default();
        let from = req.headers.from().ok();
        let caller = Party {
            name: from
                .as_ref()
                .and_then(|f| f.display_name())
                .unwrap_or_default(),
            number: from
                .as_ref()
                .and_then(|f| {
                    f.uri
                        .user()
                        .map(|u| String::from_utf8_lossy(u).into_owned())
                })
                .unwrap_or_default(),
        };
        let call_id = req
            .headers
            .call_id()
            .map(|c| String::from_utf8_lossy(c).into_owned())
            .unwrap_or_default();
        let id = self.new_id();
        let seq = self.next_seq();
        let endpoint = self.settings.inbound_endpoint.clone();
        let late_offer = req.body.is_empty();
        let channel = Channel {
            id: id.clone(),
            name: format!("PJSIP/{endpoint}-{:08x}", seq),
            state: ChannelState::Ring,
            caller,
            connected: Party::default(),
            accountcode: String::new(),
            dialplan: Dialplan {
                context: endpoint,
                exten: exten.clone(),
                priority: 1,
                ..Dialplan::default()
            },
            created: SystemTime::now(),
            language: "en".into(),
            vars: Default::default(),
            protocol_id: call_id,
            tech: Tech::SipIn {
                tx: Some(tx),
                dialog: None,
                local_sdp: Vec::new(),
                late_offer,
            },
            leg: None,
            stasis: None,
            bridge: None,
            hanging_up: None,
            muted: (false, false),
            held: false,
            caller_channel: None,
            sip_headers: Vec::new(),
            service: None,
            background: None,
            last_app: None,
        };
        self.insert_channel(channel);
        self.by_tx.insert(tx, id.clone());
        self.channel_event("ChannelCreated", &id, json!({}));
        let _ = now;
        // Where the call goes.
        let template = self.settings.args_template.clone();
        let args = expand_args(&template, &req, &flow);
        let leg = LegId(self.next_seq());
        let offer = (!late_offer).then(|| req.body.to_vec());
        let config = Box::new(self.settings.leg.clone());
        let cid = id.clone();
        self.media(
            |reply| MediaCommand::CreateLeg {
                leg,
                config,
                remote_offer: offer,
                near: None,
                reply,
            },
            move |core, r| core.inbound_media_ready(&cid, leg, r.map_err(Into::into), exten, args),
        );
    }

    fn inbound_media_ready(
        &mut self,
        id: &str,
        leg: LegId,
        sdp: Result<Vec<u8>, super::AriError>,
        exten: String,
        args: Vec<String>,
    ) {
        let Some(c) = self.channels.get_mut(id) else {
            // Cancelled meanwhile: drop the leg.
            if sdp.is_ok() {
                self.media(|reply| MediaCommand::Destroy { leg, reply }, |_, _| {});
            }
            return;
        };
        let sdp = match sdp {
            Ok(s) => s,
            Err(e) => {
                tracing::info!(channel = %id, error = %e, "cannot negotiate media: 488");
                self.reject(id, 488, 58);
                return;
            }
        };
        c.leg = Some(leg);
        if let Tech::SipIn { local_sdp, .. } = &mut c.tech {
            *local_sdp = sdp;
        }
        self.by_leg.insert(leg, id.to_string());
        if exten == "echo" {
            self.start_service(id, "echo");
            return;
        }
        if let Some(room) = exten.strip_prefix("conf-").filter(|r| !r.is_empty()) {
            self.start_service(id, &format!("conf-{room}"));
            return;
        }
        let default = self.settings.default_app.clone();
        let app = if self.apps.connected(&default) {
            Some(default.clone())
        } else {
            let names = self.apps.connected_names();
            (names.len() == 1).then(|| names[0].clone())
        };
        match app {
            Some(app) => self.enter_stasis(id, &app, args),
            None if default.is_empty() => self.reject(id, 404, 1),
            None => self.reject(id, 480, 18),
        }
    }

    /// Puts a channel into a Stasis app: `StasisStart`.
    pub(crate) fn enter_stasis(&mut self, id: &str, app: &str, args: Vec<String>) {
        let Some(c) = self.channels.get_mut(id) else {
            return;
        };
        c.dialplan.app_name = "Stasis".into();
        c.dialplan.app_data = std::iter::once(app.to_string())
            .chain(args.iter().cloned())
            .collect::<Vec<_>>()
            .join(",");
        c.last_app = Some(app.to_string());
        c.stasis = Some(StasisState {
            app: app.to_string(),
            args: args.clone(),
            started: true,
        });
        self.channel_event("StasisStart", id, json!({"args": args}));
    }

    /// Rejects an unanswered inbound call and destroys its channel.
    pub(crate) fn reject(&mut self, id: &str, status: u16, cause: u16) {
        if let Some(Tech::SipIn { tx: Some(tx), .. }) = self.channels.get(id).map(|c| &c.tech) {
            let tx = *tx;
            let _ = self.ep.respond(
                Instant::now(),
                tx,
                ResponseSpec::new(
                    StatusCode::new(status).unwrap_or(StatusCode::TEMPORARILY_UNAVAILABLE),
                ),
            );
        }
        self.finalize(id, cause);
    }

    fn on_dialog_request(&mut self, dialog: DialogId, tx: ServerTxId, req: Request) {
        let now = Instant::now();
        let Some(id) = self.by_dialog.get(&dialog).cloned() else {
            let _ = self.ep.respond(now, tx, ResponseSpec::new(StatusCode::OK));
            return;
        };
        match req.method {
            Method::Invite | Method::Update if !req.body.is_empty() => {
                let Some(leg) = self.channels.get(&id).and_then(|c| c.leg) else {
                    let _ = self.ep.respond(now, tx, ResponseSpec::new(StatusCode::OK));
                    return;
                };
                let held = offer_holds(&req.body);
                let sdp = req.body.to_vec();
                self.media(
                    |reply| MediaCommand::RemoteOffer { leg, sdp, reply },
                    move |core, r| {
                        let now = Instant::now();
                        match r {
                            Ok(answer) => {
                                let _ = core.ep.respond(
                                    now,
                                    tx,
                                    ResponseSpec::new(StatusCode::OK).sdp(answer),
                                );
                                core.remote_hold_changed(&id, held);
                            }
                            Err(_) => {
                                let _ = core.ep.respond(
                                    now,
                                    tx,
                                    ResponseSpec::new(StatusCode::NOT_ACCEPTABLE_HERE),
                                );
                            }
                        }
                    },
                );
            }
            Method::Invite => {
                // No offer: ours goes in the 200; the ACK carries the answer.
                let Some(leg) = self.channels.get(&id).and_then(|c| c.leg) else {
                    let _ = self.ep.respond(now, tx, ResponseSpec::new(StatusCode::OK));
                    return;
                };
                if let Some(Tech::SipIn { late_offer, .. }) =
                    self.channels.get_mut(&id).map(|c| &mut c.tech)
                {
                    *late_offer = true;
                }
                self.media(
                    |reply| MediaCommand::LocalOffer { leg, reply },
                    move |core, r| {
                        let spec = match r {
                            Ok(offer) => ResponseSpec::new(StatusCode::OK).sdp(offer),
                            Err(_) => ResponseSpec::new(StatusCode::SERVER_INTERNAL_ERROR),
                        };
                        let _ = core.ep.respond(Instant::now(), tx, spec);
                    },
                );
            }
            Method::Info => {
                let _ = self.ep.respond(now, tx, ResponseSpec::new(StatusCode::OK));
                if let Some((digit, ms)) = info_dtmf(&req) {
                    self.on_dtmf(&id, digit, std::time::Duration::from_millis(ms));
                }
            }
            _ => {
                let _ = self.ep.respond(now, tx, ResponseSpec::new(StatusCode::OK));
            }
        }
    }

    fn on_ack(&mut self, dialog: DialogId, ack: &Request) {
        let Some(id) = self.by_dialog.get(&dialog).cloned() else {
            return;
        };
        let Some(c) = self.channels.get_mut(&id) else {
            return;
        };
        let (Tech::SipIn { late_offer, .. }, Some(leg)) = (&mut c.tech, c.leg) else {
            return;
        };
        if !*late_offer || ack.body.is_empty() {
            return;
        }
        *late_offer = false;
        let sdp = ack.body.to_vec();
        self.media(
            |reply| MediaCommand::RemoteAnswer { leg, sdp, reply },
            move |core, r| {
                if r.is_err() {
                    tracing::info!(channel = %id, "the ACK's SDP answer does not fit our offer");
                    core.hangup(&id, 58);
                }
            },
        );
    }

    /// The far end held (sendonly/inactive) or resumed.
    fn remote_hold_changed(&mut self, id: &str, held: bool) {
        let Some(c) = self.channels.get_mut(id) else {
            return;
        };
        if c.held == held {
            return;
        }
        c.held = held;
        let kind = if held { "ChannelHold" } else { "ChannelUnhold" };
        self.channel_event(kind, id, json!({}));
    }

    /// Creates the leg config for a new inbound or outbound channel.
    pub(crate) fn leg_config(&self, endpoint: Option<&str>) -> Box<LegConfig> {
        Box::new(match endpoint {
            Some(e) => self.settings.leg_for(e),
            None => self.settings.leg.clone(),
        })
    }

    /// Registers a new channel.
    pub(crate) fn insert_channel(&mut self, c: Channel) {
        self.order += 1;
        self.created_order.insert(c.id.clone(), self.order);
        self.channels.insert(c.id.clone(), c);
    }
}

/// Whether an SDP offer puts us on hold (sendonly, inactive, or a 0.0.0.0 address).
fn offer_holds(body: &Bytes) -> bool {
    let Ok(sdp) = media_engine::sdp::SessionDescription::from_bytes(body) else {
        return false;
    };
    let Some(m) = sdp.audio() else {
        return false;
    };
    let dir = m.direction(&sdp);
    !dir.sends() || m.connection(&sdp).is_some_and(|a| a.is_unspecified())
}

/// The Q.850 cause of a BYE's `Reason: Q.850;cause=N`.
fn reason_cause(bye: &Request) -> Option<u16> {
    let r = bye.headers.get_named("Reason")?;
    let text = std::str::from_utf8(r).ok()?;
    if !text.trim_start().to_ascii_lowercase().starts_with("q.850") {
        return None;
    }
    text.split(';')
        .find_map(|p| p.trim().strip_prefix("cause="))
        .and_then(|v| v.trim().parse().ok())
}

/// DTMF in a SIP INFO (`application/dtmf-relay`: `Signal=5`, `Duration=160`).
fn info_dtmf(req: &Request) -> Option<(char, u64)> {
    let body = std::str::from_utf8(&req.body).ok()?;
    let mut digit = None;
    let mut ms = 100;
    for line in body.lines() {
        let (k, v) = line.split_once('=')?;
        match k.trim().to_ascii_lowercase().as_str() {
            "signal" => digit = v.trim().chars().next(),
            "duration" => ms = v.trim().parse().unwrap_or(100),
            _ => {}
        }
    }
    digit
        .filter(|d| media_engine::dtmf::Digit::from_char(*d).is_some())
        .map(|d| (d, ms))
}
