//! Building and delivering ARI events (events.json shapes, Asterisk's order).

use std::time::SystemTime;

use serde_json::{Map, Value, json};

use super::{Core, cause::cause_text, stasis::Event, time::ari_timestamp};

/// Every event type the core emits (all defined in `events.json`; ari-client dies on others).
pub(crate) const EMITTED: &[&str] = &[
    "ApplicationReplaced",
    "BridgeCreated",
    "BridgeDestroyed",
    "ChannelCreated",
    "ChannelDestroyed",
    "ChannelDtmfReceived",
    "ChannelEnteredBridge",
    "ChannelHangupRequest",
    "ChannelHold",
    "ChannelLeftBridge",
    "ChannelStateChange",
    "ChannelTalkingFinished",
    "ChannelTalkingStarted",
    "ChannelUnhold",
    "ChannelUserevent",
    "ChannelVarset",
    "Dial",
    "PlaybackContinuing",
    "PlaybackFinished",
    "PlaybackStarted",
    "RecordingFailed",
    "RecordingFinished",
    "RecordingStarted",
    "StasisEnd",
    "StasisStart",
];

impl Core {
    /// Adds `type`, `timestamp`, `asterisk_id` and `application` and serialises.
    pub(crate) fn envelope(
        instance: &str,
    ) -> impl Fn(&str, &str, Map<String, Value>) -> String + '_ {
        move |kind, app, mut body| {
            body.insert("type".into(), json!(kind));
            body.insert("timestamp".into(), json!(ari_timestamp(SystemTime::now())));
            body.insert("asterisk_id".into(), json!(instance));
            body.insert("application".into(), json!(app));
            Value::Object(body).to_string()
        }
    }

    /// Delivers an event about `channels` and `bridge` to every app that should see it.
    pub(crate) fn emit(
        &mut self,
        kind: &'static str,
        body: Value,
        channels: &[&str],
        bridge: Option<&str>,
    ) {
        self.emit_to(kind, body, channels, bridge, Vec::new());
    }

    /// The apps that follow these channels or this bridge now (for `RecordingFinished`).
    pub(crate) fn subscribers(&self, channels: &[String], bridge: Option<&str>) -> Vec<String> {
        let probe = Event {
            kind: "RecordingFinished",
            body: Map::new(),
            channels: channels.to_vec(),
            bridge: bridge.map(str::to_string),
            owners: channels
                .iter()
                .filter_map(|c| self.channels.get(c))
                .filter_map(|c| c.app().map(str::to_string))
                .collect(),
        };
        self.apps.subscribers(&probe)
    }

    /// [`Core::emit`], also to the apps in `also` (subscribers of objects now gone).
    pub(crate) fn emit_to(
        &mut self,
        kind: &'static str,
        body: Value,
        channels: &[&str],
        bridge: Option<&str>,
        also: Vec<String>,
    ) {
        debug_assert!(EMITTED.contains(&kind), "{kind} is not in EMITTED");
        let mut owners: Vec<String> = channels
            .iter()
            .filter_map(|c| self.channels.get(*c))
            .filter_map(|c| c.app().map(str::to_string))
            .collect();
        owners.extend(also);
        let body = match body {
            Value::Object(m) => m,
            _ => Map::new(),
        };
        let event = Event {
            kind,
            body,
            channels: channels.iter().map(|c| (*c).to_string()).collect(),
            bridge: bridge.map(str::to_string),
            owners,
        };
        let instance = self.settings.instance_id.clone();
        self.apps.deliver(&event, &Self::envelope(&instance));
    }

    /// An event whose only object is a channel snapshot.
    pub(crate) fn channel_event(&mut self, kind: &'static str, id: &str, extra: Value) {
        let Some(c) = self.channels.get(id) else {
            return;
        };
        let mut body = json!({ "channel": c.to_json(&self.settings.channelvars) });
        if let (Value::Object(b), Value::Object(x)) = (&mut body, extra) {
            b.extend(x);
        }
        self.emit(kind, body, &[id], None);
    }

    /// `ChannelStateChange` after setting the state.
    pub(crate) fn set_state(&mut self, id: &str, state: super::model::ChannelState) {
        let Some(c) = self.channels.get_mut(id) else {
            return;
        };
        if c.state == state {
            return;
        }
        c.state = state;
        self.channel_event("ChannelStateChange", id, json!({}));
    }

    /// `ChannelVarset`.
    pub(crate) fn varset(&mut self, id: &str, variable: &str, value: &str) {
        self.channel_event(
            "ChannelVarset",
            id,
            json!({"variable": variable, "value": value}),
        );
    }

    /// `ChannelDestroyed` with its cause.
    pub(crate) fn destroyed_event(&mut self, id: &str, cause: u16) {
        self.channel_event(
            "ChannelDestroyed",
            id,
            json!({"cause": cause, "cause_txt": cause_text(cause)}),
        );
    }

    /// `ChannelEnteredBridge` / `ChannelLeftBridge`.
    pub(crate) fn bridge_membership_event(
        &mut self,
        kind: &'static str,
        channel: &str,
        bridge: &str,
    ) {
        let (Some(c), Some(b)) = (self.channels.get(channel), self.bridges.get(bridge)) else {
            return;
        };
        let body = json!({"channel": c.to_json(&self.settings.channelvars), "bridge": b.to_json()});
        self.emit(kind, body, &[channel], Some(bridge));
    }

    /// `BridgeCreated` / `BridgeDestroyed`.
    pub(crate) fn bridge_event(&mut self, kind: &'static str, bridge: &str) {
        let Some(b) = self.bridges.get(bridge) else {
            return;
        };
        let body = json!({"bridge": b.to_json()});
        let channels: Vec<String> = b.channels.clone();
        let refs: Vec<&str> = channels.iter().map(String::as_str).collect();
        self.emit(kind, body, &refs, Some(bridge));
    }

    /// `Dial` events for an outbound channel (`dialstatus` "" while it progresses).
    pub(crate) fn dial_event(&mut self, peer: &str, status: &str) {
        let Some(p) = self.channels.get(peer) else {
            return;
        };
        let mut body = json!({
            "peer": p.to_json(&self.settings.channelvars),
            "dialstatus": status,
            "dialstring": match &p.tech {
                super::model::Tech::SipOut { endpoint, uri, .. } => format!("{endpoint}/{uri}"),
                _ => String::new(),
            },
        });
        let caller = p.caller_channel.clone();
        let mut ids = vec![peer.to_string()];
        if let Some(c) = caller.as_deref().and_then(|c| self.channels.get(c)) {
            body["caller"] = c.to_json(&self.settings.channelvars);
            ids.push(c.id.clone());
        }
        let refs: Vec<&str> = ids.iter().map(String::as_str).collect();
        self.emit("Dial", body, &refs, None);
    }
}
