//! Channel operations: answer, ring, progress, hang up (local and remote), DTMF, hold, mute,
//! variables, built-in services (echo, conferences) and the channel's end.

use std::time::{Duration, Instant};

use media_engine::command::{BridgeKind, LegId, MediaCommand};
use serde_json::json;
/// How often a deferred re-INVITE is tried again.
const REOFFER_RETRY: Duration = Duration::from_millis(100);

use sip_core::{
    HeaderName, StatusCode,
    endpoint::{RequestSpec, ResponseSpec},
};

use super::{
    AriError, Core, Done, Timer,
    model::{ChannelState, Tech},
};

impl Core {
    /// Answers an inbound channel (200 OK with our SDP).
    pub fn answer(&mut self, id: &str) -> Result<(), AriError> {
        let now = Instant::now();
        let c = self.channel(id)?;
        if c.state == ChannelState::Up {
            return Ok(());
        }
        let Tech::SipIn { tx, local_sdp, .. } = &c.tech else {
            return Err(AriError::precondition("Channel in invalid state"));
        };
        let tx = tx.ok_or_else(|| AriError::precondition("Channel in invalid state"))?;
        let sdp = local_sdp.clone();
        let dialog = self
            .ep
            .respond(now, tx, ResponseSpec::new(StatusCode::OK).sdp(sdp))
            .map_err(|e| AriError::precondition(format!("Channel in invalid state: {e}")))?;
        self.by_tx.remove(&tx);
        let c = self.channels.get_mut(id).expect("checked");
        if let Tech::SipIn {
            tx: t, dialog: d, ..
        } = &mut c.tech
        {
            *t = None;
            if let Some(dialog) = dialog {
                *d = Some(dialog);
                self.by_dialog.insert(dialog, id.to_string());
            }
        }
        self.set_state(id, ChannelState::Up);
        Ok(())
    }

    /// Sends 180 Ringing (inbound) — `POST /ring`.
    pub fn ring(&mut self, id: &str) -> Result<(), AriError> {
        self.provisional(id, StatusCode::RINGING, false)
    }

    /// Sends 183 Session Progress with SDP (early media) — `POST /progress`.
    pub fn progress(&mut self, id: &str) -> Result<(), AriError> {
        self.provisional(id, StatusCode::SESSION_PROGRESS, true)
    }

    fn provisional(
        &mut self,
        id: &str,
        status: StatusCode,
        with_sdp: bool,
    ) -> Result<(), AriError> {
        let c = self.channel(id)?;
        let Tech::SipIn {
            tx: Some(tx),
            local_sdp,
            ..
        } = &c.tech
        else {
            return if c.state == ChannelState::Up {
                Err(AriError::precondition("Channel in invalid state"))
            } else {
                Ok(())
            };
        };
        let (tx, sdp) = (*tx, local_sdp.clone());
        let mut spec = ResponseSpec::new(status);
        if with_sdp {
            spec = spec.sdp(sdp);
        }
        let dialog = self
            .ep
            .respond(Instant::now(), tx, spec)
            .map_err(|e| AriError::precondition(e.to_string()))?;
        if let Some(d) = dialog {
            self.by_dialog.insert(d, id.to_string());
            if let Some(Tech::SipIn { dialog, .. }) = self.channels.get_mut(id).map(|c| &mut c.tech)
            {
                *dialog = Some(d);
            }
        }
        Ok(())
    }

    /// Hangs up a channel we hang up (ARI `DELETE`, a timer): `ChannelHangupRequest`, the SIP
    /// side (reject, CANCEL or BYE), then the channel's end.
    pub fn hangup(&mut self, id: &str, cause: u16) {
        let Some(c) = self.channels.get_mut(id) else {
            return;
        };
        if c.hanging_up.is_some() {
            return;
        }
        c.hanging_up = Some(cause);
        self.channel_event("ChannelHangupRequest", id, json!({"cause": cause}));
        let now = Instant::now();
        let Some(c) = self.channels.get(id) else {
            return;
        };
        match c.tech.clone() {
            Tech::SipIn { tx: Some(tx), .. } => {
                let status = super::cause::sip_status_of_cause(cause);
                let _ = self.ep.respond(
                    now,
                    tx,
                    ResponseSpec::new(
                        StatusCode::new(status).unwrap_or(StatusCode::TEMPORARILY_UNAVAILABLE),
                    ),
                );
            }
            Tech::SipIn {
                dialog: Some(d), ..
            } => {
                self.bye(d, cause);
            }
            Tech::SipOut {
                request, dialog, ..
            } => {
                let confirmed = dialog.is_some() && c.state == ChannelState::Up;
                match (confirmed, dialog, request) {
                    (true, Some(d), _) => self.bye(d, cause),
                    (false, _, Some(r)) => {
                        let _ = self.ep.cancel(now, r);
                    }
                    _ => {}
                }
            }
            _ => {}
        }
        self.finalize(id, cause);
    }

    fn bye(&mut self, dialog: sip_core::endpoint::DialogId, cause: u16) {
        let spec = RequestSpec::new(sip_core::Method::Bye)
            .header(HeaderName::other("Reason"), format!("Q.850;cause={cause}"));
        let _ = self.ep.request(Instant::now(), dialog, spec);
    }

    /// The far end hung up (BYE, CANCEL, failure).
    pub(crate) fn remote_hangup(&mut self, id: &str, cause: u16) {
        let Some(c) = self.channels.get_mut(id) else {
            return;
        };
        if c.hanging_up.is_some() {
            return;
        }
        c.hanging_up = Some(cause);
        self.channel_event("ChannelHangupRequest", id, json!({"cause": cause}));
        self.finalize(id, cause);
    }

    /// Ends a channel: leaves its bridge, ends its playbacks and recordings, `StasisEnd`,
    /// destroys its media leg, `ChannelDestroyed`.
    pub(crate) fn finalize(&mut self, id: &str, cause: u16) {
        if !self.channels.contains_key(id) {
            return;
        }
        if let Some(b) = self.channels.get(id).and_then(|c| c.bridge.clone()) {
            self.leave_bridge(id, &b, false);
        }
        self.end_channel_media_objects(id);
        let in_stasis = self
            .channels
            .get(id)
            .is_some_and(|c| c.stasis.as_ref().is_some_and(|s| s.started));
        if in_stasis {
            self.channel_event("StasisEnd", id, json!({}));
        }
        if let Some(leg) = self.channels.get(id).and_then(|c| c.leg) {
            self.by_leg.remove(&leg);
            self.media(|reply| MediaCommand::Destroy { leg, reply }, |_, _| {});
        }
        self.destroyed_event(id, cause);
        let c = self.channels.remove(id).expect("checked above");
        self.created_order.remove(id);
        if let Some(d) = c.dialog() {
            self.by_dialog.remove(&d);
        }
        match &c.tech {
            Tech::SipIn { tx: Some(tx), .. } => {
                self.by_tx.remove(tx);
            }
            Tech::SipOut {
                request: Some(r), ..
            } => {
                self.by_request.remove(r);
            }
            _ => {}
        }
        let owned = id.to_string();
        self.cancel_timers(|t| matches!(t, Timer::DialTimeout(c) if *c == owned));
        self.apps.forget(Some(id), None);
        // Snoops of this channel end with it.
        let snoops: Vec<String> = self
            .channels
            .values()
            .filter(|s| matches!(&s.tech, Tech::Snoop { target } if target == id))
            .map(|s| s.id.clone())
            .collect();
        for s in snoops {
            self.hangup(&s, 16);
        }
    }

    /// Hangs up everything (shutdown).
    pub(crate) fn hangup_all(&mut self) {
        let ids: Vec<String> = self.channels.keys().cloned().collect();
        for id in ids {
            self.hangup(&id, 16);
        }
    }

    /// A DTMF digit arrived on a channel.
    pub(crate) fn on_dtmf(&mut self, id: &str, digit: char, duration: Duration) {
        self.channel_event(
            "ChannelDtmfReceived",
            id,
            json!({"digit": digit.to_string(), "duration_ms": duration.as_millis() as u64}),
        );
        self.recording_dtmf(id, digit);
    }

    /// Sends DTMF (`POST /dtmf`): `before` and `after` pauses are honoured by delaying.
    pub fn send_dtmf(
        &mut self,
        id: &str,
        digits: String,
        before: Duration,
        between: Duration,
        duration: Duration,
        done: Done<()>,
    ) {
        let leg = match self.channel(id).map(|c| c.leg) {
            Ok(Some(l)) => l,
            Ok(None) => return done.err(AriError::precondition("Channel in invalid state")),
            Err(e) => return done.err(e),
        };
        if digits.is_empty()
            || digits
                .chars()
                .any(|d| media_engine::dtmf::Digit::from_char(d).is_none())
        {
            return done.err(AriError::bad_request("DTMF is required"));
        }
        let send = move |core: &mut Self| {
            core.media(
                |reply| MediaCommand::SendDtmf {
                    leg,
                    digits,
                    duration,
                    between,
                    reply,
                },
                |_, _| {},
            );
        };
        if before.is_zero() {
            send(self);
        } else {
            let jobs = self.jobs.clone();
            tokio::spawn(async move {
                tokio::time::sleep(before).await;
                let _ = jobs.send(Box::new(send)).await;
            });
        }
        done.ok(());
    }

    /// Puts the far end on hold (re-INVITE sendonly) or resumes it.
    pub fn hold(&mut self, id: &str, held: bool, done: Done<()>) {
        let (leg, dialog) = match self.channel(id) {
            Ok(c) => match (c.leg, c.dialog()) {
                (Some(l), Some(d)) if c.state == ChannelState::Up => (l, d),
                _ => return done.err(AriError::precondition("Channel in invalid state")),
            },
            Err(e) => return done.err(e),
        };
        let owned = id.to_string();
        self.media(
            |reply| MediaCommand::Hold { leg, held, reply },
            move |core, r| match r {
                Ok(offer) => {
                    let spec = RequestSpec::new(sip_core::Method::Invite)
                        .body("application/sdp", offer.clone());
                    let kind = if held { "ChannelHold" } else { "ChannelUnhold" };
                    match core.ep.request(Instant::now(), dialog, spec) {
                        Ok(req) => {
                            core.by_request.insert(req, owned.clone());
                            core.channel_event(kind, &owned, json!({}));
                            done.ok(());
                        }
                        // A re-INVITE of ours is still in progress (a hold straight after an
                        // unhold): RFC 3261 §14.1 allows one at a time, so this offer goes
                        // when that one completes.
                        Err(sip_core::endpoint::Error::InvalidState(_)) => {
                            core.channel_event(kind, &owned, json!({}));
                            core.after(
                                REOFFER_RETRY,
                                Timer::Reoffer {
                                    channel: owned.clone(),
                                    offer,
                                    tries: 1,
                                },
                            );
                            done.ok(());
                        }
                        Err(e) => done.err(AriError::conflict(e.to_string())),
                    }
                }
                Err(e) => done.err(e.into()),
            },
        );
    }

    /// Sends a deferred re-INVITE offer (see [`Core::hold`]) once the one before it is done;
    /// gives up after 5 s.
    pub(crate) fn reoffer(&mut self, channel: &str, offer: Vec<u8>, tries: u32) {
        let Some(dialog) = self.channels.get(channel).and_then(|c| c.dialog()) else {
            return;
        };
        let spec =
            RequestSpec::new(sip_core::Method::Invite).body("application/sdp", offer.clone());
        match self.ep.request(Instant::now(), dialog, spec) {
            Ok(req) => {
                self.by_request.insert(req, channel.to_string());
            }
            Err(sip_core::endpoint::Error::InvalidState(_)) if tries < 50 => self.after(
                REOFFER_RETRY,
                Timer::Reoffer {
                    channel: channel.to_string(),
                    offer,
                    tries: tries + 1,
                },
            ),
            Err(e) => tracing::warn!(%channel, error = %e, "re-INVITE offer dropped"),
        }
    }

    /// Sets a channel variable; functions like `CALLERID(name)` and `PJSIP_HEADER(add,X)`
    /// act on the channel.
    pub fn set_var(&mut self, id: &str, name: &str, value: &str) -> Result<(), AriError> {
        if name.is_empty() {
            return Err(AriError::bad_request("Variable name is required"));
        }
        let c = self.channel_mut(id)?;
        match name {
            "CALLERID(name)" => c.caller.name = value.to_string(),
            "CALLERID(num)" | "CALLERID(number)" => c.caller.number = value.to_string(),
            "CONNECTEDLINE(name)" => c.connected.name = value.to_string(),
            "CONNECTEDLINE(num)" => c.connected.number = value.to_string(),
            _ => {}
        }
        if let Some(h) = name
            .strip_prefix("PJSIP_HEADER(add,")
            .and_then(|h| h.strip_suffix(')'))
        {
            c.sip_headers.push((h.to_string(), value.to_string()));
        }
        c.vars.insert(name.to_string(), value.to_string());
        self.varset(id, name, value);
        Ok(())
    }

    /// Reads a channel variable (`CHANNEL(pjsip,call-id)` and `CALLERID(...)` included).
    pub fn get_var(&self, id: &str, name: &str) -> Result<String, AriError> {
        if name.is_empty() {
            return Err(AriError::bad_request("Variable name is required"));
        }
        let c = self.channel(id)?;
        let v = match name {
            "CHANNEL(pjsip,call-id)" | "CHANNEL(callid)" => Some(c.protocol_id.clone()),
            "CALLERID(name)" => Some(c.caller.name.clone()),
            "CALLERID(num)" | "CALLERID(number)" => Some(c.caller.number.clone()),
            "CHANNEL(name)" => Some(c.name.clone()),
            "CHANNEL(state)" => Some(c.state.as_str().to_string()),
            "UNIQUEID" => Some(c.id.clone()),
            _ => c.vars.get(name).cloned(),
        };
        v.ok_or_else(|| AriError::not_found("Provided variable was not found"))
    }

    /// Mutes a direction (`in`: what the far end says goes nowhere; `out`: it hears
    /// nothing) or unmutes.
    pub fn mute(&mut self, id: &str, direction: &str, on: bool) -> Result<(), AriError> {
        let c = self.channel_mut(id)?;
        match direction {
            "in" => c.muted.0 = on,
            "out" => c.muted.1 = on,
            "both" => c.muted = (on, on),
            _ => return Err(AriError::bad_request("Invalid direction specified")),
        }
        let (leg, muted) = (c.leg, c.muted);
        if let Some(leg) = leg {
            self.apply_mute(leg, muted);
        }
        Ok(())
    }

    fn apply_mute(&self, leg: LegId, muted: (bool, bool)) {
        self.media(
            |reply| MediaCommand::Mute {
                leg,
                input: muted.0,
                output: muted.1,
                reply,
            },
            |_, _| {},
        );
    }

    /// A built-in service instead of Stasis: `echo`, or a conference room `conf-<room>`.
    pub(crate) fn start_service(&mut self, id: &str, service: &str) {
        if self.answer(id).is_err() {
            return;
        }
        let Some(c) = self.channels.get_mut(id) else {
            return;
        };
        c.service = Some(service.to_string());
        let leg = c.leg;
        if service == "echo" {
            c.dialplan.app_name = "Echo".into();
            if let Some(leg) = leg {
                self.media(
                    |reply| MediaCommand::Echo {
                        leg,
                        on: true,
                        reply,
                    },
                    |_, _| {},
                );
            }
            return;
        }
        c.dialplan.app_name = "ConfBridge".into();
        c.dialplan.app_data = service.trim_start_matches("conf-").to_string();
        if !self.bridges.contains_key(service) {
            let _ = self.create_bridge(
                Some(service.to_string()),
                BridgeKind::Mixing,
                vec!["mixing".into()],
                service.to_string(),
                "ConfBridge",
            );
        }
        let _ = self.join_bridge(id, service);
    }
}

impl Core {
    /// Starts music on hold (`class`: files under `moh/<class>`, else a soft tone) or a
    /// silence generator on a channel, replacing any running one.
    pub fn start_background(&mut self, id: &str, kind: &str, class: &str) -> Result<(), AriError> {
        let leg = self
            .stasis_channel(id)?
            .leg
            .ok_or_else(|| AriError::precondition("Channel in invalid state"))?;
        self.stop_background(id)?;
        let source = if kind == "silence" {
            media_engine::playback::PlaySource::Silence(Duration::from_secs(24 * 3600))
        } else {
            let name = format!("moh/{}", if class.is_empty() { "default" } else { class });
            match super::sounds::resolve(&format!("sound:{name}"), "en", &self.settings) {
                Ok(mut s) if !s.is_empty() => match s.remove(0) {
                    media_engine::playback::PlaySource::Pcm(p) => {
                        media_engine::playback::PlaySource::Looped(p)
                    }
                    other => other,
                },
                // No music installed: a gentle two-tone loop, clearly not silence.
                _ => media_engine::playback::PlaySource::Tone("440+480/400,0/1600".into()),
            }
        };
        let playback = media_engine::command::PlaybackId(self.next_seq() | (1 << 62));
        self.channel_mut(id)?.background = Some(playback);
        self.media(
            |reply| MediaCommand::Play {
                target: media_engine::command::Target::Leg(leg),
                playback,
                source,
                reply,
            },
            |_, _| {},
        );
        Ok(())
    }

    /// Stops music on hold or silence.
    pub fn stop_background(&mut self, id: &str) -> Result<(), AriError> {
        let c = self.channel_mut(id)?;
        let (Some(playback), Some(leg)) = (c.background.take(), c.leg) else {
            return Ok(());
        };
        self.media(
            |reply| MediaCommand::StopPlayback {
                target: media_engine::command::Target::Leg(leg),
                playback,
                reply,
            },
            |_, _| {},
        );
        Ok(())
    }
}

impl Core {
    /// `POST /continue`: leave Stasis for a built-in service — `svc-echo` and
    /// `svc-stream_echo` echo, `svc-stasis` comes straight back into the app (VoIPBIN's
    /// `context=call-svc`). Any other location does not exist here, so, as in a dialplan
    /// without it, the channel is hung up.
    pub fn continue_in_dialplan(
        &mut self,
        id: &str,
        context: &str,
        extension: &str,
    ) -> Result<(), AriError> {
        let app = self
            .stasis_channel(id)?
            .app()
            .map(str::to_string)
            .unwrap_or_default();
        self.channel_event("StasisEnd", id, json!({}));
        let c = self.channel_mut(id)?;
        c.stasis = None;
        c.last_app = Some(app.clone());
        self.goto_dialplan(id, &app, context, extension)
    }

    /// AMI `Redirect`: send a channel wherever it is (Stasis, echo, a conference room) to a
    /// dialplan location; `svc-stasis` pulls it back into the app it was last in (or
    /// `fallback_app`), as VoIPBIN's action timeout does.
    pub fn redirect(
        &mut self,
        id: &str,
        context: &str,
        extension: &str,
        fallback_app: &str,
    ) -> Result<(), AriError> {
        let c = self.channel(id)?;
        if c.hanging_up.is_some() {
            return Err(AriError::not_found("Channel is hanging up"));
        }
        let in_stasis = c.stasis.is_some();
        let app = c
            .app()
            .or(c.last_app.as_deref())
            .unwrap_or(fallback_app)
            .to_string();
        let echoing = c.dialplan.app_name == "Echo";
        let (leg, service, bridge) = (c.leg, c.service.clone(), c.bridge.clone());
        if in_stasis {
            self.channel_event("StasisEnd", id, json!({}));
            let c = self.channel_mut(id)?;
            c.stasis = None;
            c.last_app = Some(app.clone());
        }
        if echoing && let Some(leg) = leg {
            self.media(
                |reply| MediaCommand::Echo {
                    leg,
                    on: false,
                    reply,
                },
                |_, _| {},
            );
        }
        if let (Some(_), Some(bridge)) = (service, bridge) {
            self.leave_bridge(id, &bridge, false);
        }
        self.channel_mut(id)?.service = None;
        self.goto_dialplan(id, &app, context, extension)
    }

    /// Runs a channel that has left Stasis at a dialplan location.
    fn goto_dialplan(
        &mut self,
        id: &str,
        app: &str,
        context: &str,
        extension: &str,
    ) -> Result<(), AriError> {
        let c = self.channel_mut(id)?;
        c.dialplan.context = context.to_string();
        c.dialplan.exten = if extension.is_empty() {
            "s".into()
        } else {
            extension.to_string()
        };
        c.dialplan.priority = 1;
        match context {
            "svc-echo" | "svc-stream_echo" => {
                c.dialplan.app_name = "Echo".into();
                let leg = c.leg;
                if let Some(leg) = leg {
                    self.media(
                        |reply| MediaCommand::Echo {
                            leg,
                            on: true,
                            reply,
                        },
                        |_, _| {},
                    );
                }
            }
            "svc-stasis" => {
                let args = vec![
                    "context_type=call".to_string(),
                    "context=call-svc".to_string(),
                    format!("context_from={context}"),
                ];
                self.enter_stasis(id, app, args);
            }
            _ => {
                tracing::info!(channel = %id, %context, "no such dialplan location: hanging up");
                self.hangup(id, 1);
            }
        }
        Ok(())
    }
}
