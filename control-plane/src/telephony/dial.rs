//! Outbound calls: `pjsip/<endpoint>/<uri>` dial strings, `POST /channels` (originate),
//! `POST /channels/create` then `/dial`, responses to our INVITEs, ring timeouts.

use std::{
    net::SocketAddr,
    time::{Duration, Instant, SystemTime},
};

use bytes::Bytes;
use media_engine::command::{LegId, MediaCommand};
use serde_json::{Value, json};
use sip_core::{
    HeaderName, Response, Uri,
    auth::Credentials,
    endpoint::{DialogId, InviteSpec, RequestId},
    header::{NameAddr, Transport},
    uri::Host,
};

use super::{
    AriError, Core, Done, Timer,
    cause::{cause_of_sip_status, dialstatus_of_sip_status},
    model::{Channel, ChannelState, Dialplan, Party, StasisState, Tech},
};

/// A parsed dial string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct DialString {
    pub(crate) endpoint: String,
    pub(crate) uri: String,
}

/// `pjsip/<endpoint>/<uri>` (case-insensitive technology).
pub(crate) fn parse_dial_string(s: &str) -> Option<DialString> {
    let (tech, rest) = s.split_once('/')?;
    if !tech.eq_ignore_ascii_case("pjsip") {
        return None;
    }
    let (endpoint, uri) = rest.split_once('/')?;
    if endpoint.is_empty() || uri.is_empty() {
        return None;
    }
    let uri = if uri.contains(':') {
        uri.to_string()
    } else {
        format!("sip:{uri}")
    };
    Some(DialString {
        endpoint: endpoint.to_string(),
        uri,
    })
}

/// What `POST /channels` and `/channels/create` ask for.
#[derive(Debug, Clone, Default)]
pub struct OriginateSpec {
    /// Dial string.
    pub endpoint: String,
    /// Stasis app.
    pub app: Option<String>,
    /// Its args (comma-separated).
    pub app_args: Option<String>,
    /// Our id for the channel.
    pub channel_id: Option<String>,
    /// Id of a second channel (Local channels only; reserved).
    pub other_channel_id: Option<String>,
    /// `"name" <number>` or a number.
    pub caller_id: Option<String>,
    /// Ring timeout in seconds.
    pub timeout: u64,
    /// Channel variables.
    pub variables: Vec<(String, String)>,
    /// The channel this one is dialled for (placement on its media worker, Dial events).
    pub originator: Option<String>,
}

fn parse_caller_id(s: &str) -> Party {
    let s = s.trim();
    if let (Some(a), Some(b)) = (s.find('<'), s.rfind('>')) {
        Party {
            name: s[..a].trim().trim_matches('"').to_string(),
            number: s[a + 1..b].trim().to_string(),
        }
    } else {
        Party {
            name: String::new(),
            number: s.to_string(),
        }
    }
}

impl Core {
    /// Creates an outbound channel: `ChannelCreated`, its media leg (our offer). With
    /// `dial_now` the INVITE goes out at once and the channel enters `app` when answered
    /// (originate); otherwise it enters `app` now and waits for `/dial` (create).
    pub fn originate(&mut self, spec: OriginateSpec, dial_now: bool, done: Done<Value>) {
        let Some(ds) = parse_dial_string(&spec.endpoint) else {
            return done.err(AriError::bad_request(
                "Invalid endpoint: use pjsip/<endpoint>/<uri>",
            ));
        };
        if ds.endpoint != "call-out" && !self.settings.endpoints.contains_key(&ds.endpoint) {
            return done.err(AriError::bad_request(format!(
                "Endpoint {} not found",
                ds.endpoint
            )));
        }
        if Uri::parse(Bytes::from(ds.uri.clone())).is_err() {
            return done.err(AriError::bad_request("Invalid SIP URI in endpoint"));
        }
        let id = spec
            .channel_id
            .clone()
            .filter(|i| !i.is_empty())
            .unwrap_or_else(|| self.new_id());
        if self.channels.contains_key(&id)
            || spec
                .other_channel_id
                .as_ref()
                .is_some_and(|o| self.channels.contains_key(o) || *o == id)
        {
            return done.err(AriError::conflict(
                "Channel with given unique ID already exists",
            ));
        }
        if !dial_now && spec.app.as_deref().is_none_or(str::is_empty) {
            return done.err(AriError::bad_request("app is required"));
        }
        let seq = self.next_seq();
        let args: Vec<String> = spec
            .app_args
            .as_deref()
            .filter(|a| !a.is_empty())
            .map(|a| a.split(',').map(str::to_string).collect())
            .unwrap_or_default();
        let mut c = Channel {
            id: id.clone(),
            name: format!("PJSIP/{}-{:08x}", ds.endpoint, seq),
            state: ChannelState::Down,
            caller: spec
                .caller_id
                .as_deref()
                .map(parse_caller_id)
                .unwrap_or_default(),
            connected: Party::default(),
            accountcode: String::new(),
            dialplan: Dialplan {
                context: "default".into(),
                exten: "s".into(),
                priority: 1,
                ..Dialplan::default()
            },
            created: SystemTime::now(),
            language: "en".into(),
            vars: Default::default(),
            protocol_id: String::new(),
            tech: Tech::SipOut {
                endpoint: ds.endpoint.clone(),
                uri: ds.uri.clone(),
                request: None,
                dialog: None,
                timeout: spec.timeout,
                offer: Vec::new(),
                answered_media: false,
                on_answer: None,
            },
            leg: None,
            stasis: None,
            bridge: None,
            hanging_up: None,
            muted: (false, false),
            held: false,
            caller_channel: spec
                .originator
                .clone()
                .filter(|o| self.channels.contains_key(o)),
            sip_headers: Vec::new(),
            service: None,
            background: None,
            last_app: None,
        };
        if let (true, Some(app)) = (dial_now, spec.app.clone().filter(|a| !a.is_empty()))
            && let Tech::SipOut { on_answer, .. } = &mut c.tech
        {
            *on_answer = Some((app, args.clone()));
        }
        self.insert_channel(c);
        // The app follows the channel from its creation (its Dial events, its failure).
        if let Some(app) = spec.app.as_deref().and_then(|a| self.apps.apps.get_mut(a)) {
            app.channels.insert(id.clone());
        }
        for (k, v) in &spec.variables {
            let _ = self.set_var(&id, k, v);
        }
        self.channel_event("ChannelCreated", &id, json!({}));
        if !dial_now && let Some(app) = spec.app.clone() {
            if let Some(c) = self.channels.get_mut(&id) {
                c.stasis = Some(StasisState {
                    app: app.clone(),
                    args: args.clone(),
                    started: false,
                });
            }
            self.enter_stasis(&id, &app, args);
        }
        let leg = LegId(self.next_seq());
        let near = spec
            .originator
            .as_deref()
            .and_then(|o| self.channels.get(o))
            .and_then(|c| c.leg);
        let config = self.leg_config(Some(&ds.endpoint));
        let owned = id.clone();
        self.media(
            |reply| MediaCommand::CreateLeg {
                leg,
                config,
                remote_offer: None,
                near,
                reply,
            },
            move |core, r| match r {
                Ok(offer) => {
                    let Some(c) = core.channels.get_mut(&owned) else {
                        core.media(|reply| MediaCommand::Destroy { leg, reply }, |_, _| {});
                        return done.err(AriError::not_found("Channel not found"));
                    };
                    c.leg = Some(leg);
                    if let Tech::SipOut { offer: o, .. } = &mut c.tech {
                        *o = offer;
                    }
                    core.by_leg.insert(leg, owned.clone());
                    let json = c.to_json(&core.settings.channelvars);
                    if dial_now {
                        core.dial(&owned, None);
                    }
                    done.ok(json);
                }
                Err(e) => {
                    core.finalize(&owned, 38);
                    done.err(e.into());
                }
            },
        );
    }

    /// Sends the INVITE of an outbound channel (`POST /dial`).
    pub fn dial(&mut self, id: &str, timeout: Option<u64>) {
        let Some(c) = self.channels.get_mut(id) else {
            return;
        };
        let Tech::SipOut {
            endpoint,
            uri,
            request,
            timeout: t,
            ..
        } = &mut c.tech
        else {
            return;
        };
        if request.is_some() {
            return;
        }
        if let Some(x) = timeout {
            *t = x;
        }
        let (endpoint, uri) = (endpoint.clone(), uri.clone());
        let cfg = self
            .settings
            .endpoints
            .get(&endpoint)
            .cloned()
            .unwrap_or_default();
        let Ok(target) = Uri::parse(Bytes::from(uri)) else {
            return self.dial_failed(id, 400);
        };
        let uri_transport = target
            .as_sip()
            .and_then(|s| s.params().value("transport"))
            .map(|v| String::from_utf8_lossy(v).into_owned());
        let transport = match cfg
            .transport
            .clone()
            .or(uri_transport)
            .map(|t| t.to_ascii_lowercase())
            .as_deref()
        {
            Some("tcp") => Transport::Tcp,
            Some("tls") => Transport::Tls,
            _ if target.as_sip().is_some_and(|s| s.is_secure()) => Transport::Tls,
            _ => Transport::Udp,
        };
        // The next hop: the outbound proxy or the URI's host.
        let (host, port) = match &cfg.outbound_proxy {
            Some(p) => {
                let p = p.trim_start_matches('<').trim_end_matches('>');
                let parsed = Uri::parse(Bytes::from(if p.contains(':') && p.starts_with("sip") {
                    p.to_string()
                } else {
                    format!("sip:{p}")
                }));
                match parsed
                    .ok()
                    .and_then(|u| u.as_sip().map(|s| (host_string(s.host()), s.port())))
                {
                    Some(x) => x,
                    None => return self.dial_failed(id, 400),
                }
            }
            None => match target.as_sip() {
                Some(s) => (host_string(s.host()), s.port()),
                None => return self.dial_failed(id, 416),
            },
        };
        let port = port.unwrap_or(if transport == Transport::Tls {
            5061
        } else {
            5060
        });
        let owned = id.to_string();
        let jobs = self.jobs.clone();
        // Resolve off the core (DNS may take a while), then continue on it.
        tokio::spawn(async move {
            let addr = tokio::net::lookup_host((host.as_str(), port))
                .await
                .ok()
                .and_then(|mut a| a.find(SocketAddr::is_ipv4).or_else(|| a.next()));
            let _ = jobs
                .send(Box::new(move |core: &mut Self| match addr {
                    Some(a) => core.send_invite(&owned, transport, a, cfg, target),
                    None => core.dial_failed(&owned, 404),
                }))
                .await;
        });
    }

    fn send_invite(
        &mut self,
        id: &str,
        transport: Transport,
        next_hop: SocketAddr,
        cfg: crate::config::EndpointConfig,
        target: Uri,
    ) {
        let now = Instant::now();
        let local = self.local_sip(&transport);
        let Some(c) = self.channels.get(id) else {
            return;
        };
        let Tech::SipOut { offer, timeout, .. } = &c.tech else {
            return;
        };
        let from_host = cfg
            .from_domain
            .clone()
            .or_else(|| local.map(|l| l.to_string()))
            .unwrap_or_else(|| "localhost".into());
        let user = if c.caller.number.is_empty() {
            "mediaplane".to_string()
        } else {
            c.caller.number.clone()
        };
        let Ok(from_uri) = Uri::parse(Bytes::from(format!("sip:{user}@{from_host}"))) else {
            return self.dial_failed(id, 400);
        };
        let mut from = NameAddr::new(from_uri);
        if !c.caller.name.is_empty() {
            from = from.with_display_name(&c.caller.name);
        }
        let mut headers: Vec<(HeaderName, Bytes)> = c
            .sip_headers
            .iter()
            .map(|(k, v)| (HeaderName::other(k), Bytes::from(v.clone())))
            .collect();
        if c.vars
            .get("CALLERID(pres)")
            .is_some_and(|p| p.starts_with("prohib"))
        {
            headers.push((HeaderName::other("Privacy"), Bytes::from_static(b"id")));
        }
        let route = cfg
            .outbound_proxy
            .as_ref()
            .map(|p| {
                let p = p.trim_start_matches('<').trim_end_matches('>');
                let p = if p.starts_with("sip") {
                    p.to_string()
                } else {
                    format!("sip:{p}")
                };
                let p = if p.contains(";lr") {
                    p
                } else {
                    format!("{p};lr")
                };
                vec![Bytes::from(format!("<{p}>"))]
            })
            .unwrap_or_default();
        let spec = InviteSpec {
            uri: target.clone(),
            from,
            to: NameAddr::new(target),
            call_id: None,
            from_tag: None,
            route,
            headers,
            sdp: Some(Bytes::from(offer.clone())),
            next_hop: (transport, next_hop),
            credentials: cfg.username.clone().map(|username| Credentials {
                username,
                password: cfg.password.clone().unwrap_or_default(),
                realm: None,
            }),
        };
        let timeout = *timeout;
        match self.ep.invite(now, spec) {
            Ok(req) => {
                self.by_request.insert(req, id.to_string());
                if let Some(c) = self.channels.get_mut(id)
                    && let Tech::SipOut { request, .. } = &mut c.tech
                {
                    *request = Some(req);
                }
                self.dial_event(id, "");
                if timeout > 0 {
                    self.after(
                        Duration::from_secs(timeout),
                        Timer::DialTimeout(id.to_string()),
                    );
                }
            }
            Err(e) => {
                tracing::warn!(channel = %id, error = %e, "cannot send the INVITE");
                self.dial_failed(id, 503);
            }
        }
    }

    fn dial_failed(&mut self, id: &str, status: u16) {
        self.dial_event(id, dialstatus_of_sip_status(status));
        self.remote_hangup(id, cause_of_sip_status(status));
    }

    /// Ringing too long: CANCEL, `NOANSWER`.
    pub(crate) fn dial_timeout(&mut self, id: &str) {
        let Some(c) = self.channels.get(id) else {
            return;
        };
        if c.state == ChannelState::Up {
            return;
        }
        self.dial_event(id, "NOANSWER");
        self.hangup(id, 19);
    }

    /// A response to a request we sent.
    pub(crate) fn on_response(
        &mut self,
        request: RequestId,
        dialog: Option<DialogId>,
        response: &Response,
    ) {
        let Some(id) = self.by_request.get(&request).cloned() else {
            return;
        };
        let status = response.status.code();
        let Some(c) = self.channels.get_mut(&id) else {
            self.by_request.remove(&request);
            return;
        };
        let is_invite = matches!(&c.tech, Tech::SipOut { request: Some(r), .. } if *r == request);
        if !is_invite {
            // A re-INVITE of ours (hold): apply the answer.
            if response.status.is_final() {
                self.by_request.remove(&request);
                if response.status.is_success()
                    && !response.body.is_empty()
                    && let Some(leg) = c.leg
                {
                    let sdp = response.body.to_vec();
                    self.media(
                        |reply| MediaCommand::RemoteAnswer { leg, sdp, reply },
                        |_, _| {},
                    );
                }
            }
            return;
        }
        if let (Some(d), Tech::SipOut { dialog: cd, .. }) = (dialog, &mut c.tech)
            && cd.is_none()
        {
            *cd = Some(d);
            self.by_dialog.insert(d, id.clone());
        }
        if c.protocol_id.is_empty()
            && let Ok(cid) = response.headers.call_id()
        {
            c.protocol_id = String::from_utf8_lossy(cid).into_owned();
        }
        // The far end's SDP (183 early media, or the 200).
        let apply_sdp = !response.body.is_empty()
            && matches!(
                &c.tech,
                Tech::SipOut {
                    answered_media: false,
                    ..
                }
            )
            && (status == 183 || (200..300).contains(&status));
        if apply_sdp {
            if let Tech::SipOut { answered_media, .. } = &mut c.tech {
                *answered_media = true;
            }
            if let Some(leg) = c.leg {
                let sdp = response.body.to_vec();
                let owned = id.clone();
                self.media(
                    |reply| MediaCommand::RemoteAnswer { leg, sdp, reply },
                    move |core, r| {
                        if r.is_err() {
                            tracing::info!(channel = %owned, "the far end's SDP does not fit: hanging up");
                            core.hangup(&owned, 58);
                        }
                    },
                );
            }
        }
        match status {
            180..=182 => {
                self.set_state(&id, ChannelState::Ringing);
                self.dial_event(&id, "RINGING");
            }
            183 => self.dial_event(&id, "PROGRESS"),
            200..=299 => {
                let owned = id.clone();
                self.cancel_timers(|t| matches!(t, Timer::DialTimeout(c) if *c == owned));
                let Some(c) = self.channels.get_mut(&id) else {
                    return;
                };
                if c.state == ChannelState::Up {
                    return; // a second 2xx (forking)
                }
                let on_answer = match &mut c.tech {
                    Tech::SipOut { on_answer, .. } => on_answer.take(),
                    _ => None,
                };
                self.set_state(&id, ChannelState::Up);
                self.dial_event(&id, "ANSWER");
                if let Some((app, args)) = on_answer {
                    self.enter_stasis(&id, &app, args);
                }
            }
            300..=699 => {
                self.by_request.remove(&request);
                let owned = id.clone();
                self.cancel_timers(|t| matches!(t, Timer::DialTimeout(c) if *c == owned));
                if self
                    .channels
                    .get(&id)
                    .is_some_and(|c| c.hanging_up.is_none())
                {
                    self.dial_failed(&id, status);
                }
            }
            _ => {}
        }
    }
}

fn host_string(h: &Host) -> String {
    match h {
        Host::Domain(d) => String::from_utf8_lossy(d).into_owned(),
        Host::V4(a) => a.to_string(),
        Host::V6(a) => a.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dial_strings() {
        assert_eq!(
            parse_dial_string("pjsip/call-out/sip:+3112345@carrier.example;transport=udp"),
            Some(DialString {
                endpoint: "call-out".into(),
                uri: "sip:+3112345@carrier.example;transport=udp".into()
            })
        );
        assert_eq!(
            parse_dial_string("PJSIP/conf-join/sip:b1@10.0.0.5:5060").map(|d| d.endpoint),
            Some("conf-join".into())
        );
        assert_eq!(
            parse_dial_string("PJSIP/out/alice@127.0.0.1").map(|d| d.uri),
            Some("sip:alice@127.0.0.1".into())
        );
        for bad in ["Local/s@default", "pjsip/alice", "pjsip//sip:x", "SIP/a/b"] {
            assert_eq!(parse_dial_string(bad), None, "{bad}");
        }
        assert_eq!(
            parse_caller_id("\"Alice\" <+1555>"),
            Party {
                name: "Alice".into(),
                number: "+1555".into()
            }
        );
    }
}
