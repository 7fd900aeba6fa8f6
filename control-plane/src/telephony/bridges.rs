//! Bridges: create, destroy, add and remove channels — with their events and the media
//! engine's bridge underneath.

use std::time::SystemTime;

use media_engine::command::{BridgeId, BridgeKind, MediaCommand};
use serde_json::Value;

use super::{AriError, Core, model::Bridge};

/// A random UUID (v4), the id Asterisk gives bridges and playbacks.
pub(crate) fn uuid() -> String {
    let mut b = [0u8; 16];
    let _ = getrandom::fill(&mut b);
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &h[..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..]
    )
}

impl Core {
    /// Creates a bridge (`BridgeCreated`).
    pub fn create_bridge(
        &mut self,
        id: Option<String>,
        kind: BridgeKind,
        flags: Vec<String>,
        name: String,
        creator: &str,
    ) -> Result<Value, AriError> {
        let id = id.filter(|i| !i.is_empty()).unwrap_or_else(uuid);
        if self.bridges.contains_key(&id) {
            return Err(AriError::conflict("Bridge with this ID already exists"));
        }
        let media = BridgeId(self.next_seq());
        let bridge = Bridge {
            id: id.clone(),
            media,
            name,
            bridge_type: match kind {
                BridgeKind::Holding => "holding",
                BridgeKind::Mixing => "mixing",
            },
            flags,
            channels: Vec::new(),
            creator: creator.to_string(),
            created: SystemTime::now(),
            vars: Default::default(),
            moh: None,
        };
        let json = bridge.to_json();
        self.by_media_bridge.insert(media, id.clone());
        self.bridges.insert(id.clone(), bridge);
        self.bridge_event("BridgeCreated", &id);
        Ok(json)
    }

    /// A bridge or 404.
    pub(crate) fn bridge(&self, id: &str) -> Result<&Bridge, AriError> {
        self.bridges
            .get(id)
            .ok_or_else(|| AriError::not_found("Bridge not found"))
    }

    /// Puts a channel into a bridge (out of any other first): `ChannelEnteredBridge`.
    pub fn join_bridge(&mut self, channel: &str, bridge: &str) -> Result<(), AriError> {
        self.bridge(bridge)?;
        let c = self.channel(channel)?;
        if c.bridge.as_deref() == Some(bridge) {
            return Ok(());
        }
        if let Some(old) = c.bridge.clone() {
            self.leave_bridge(channel, &old, true);
        }
        let leg = self.channel(channel)?.leg;
        let b = self.bridges.get_mut(bridge).expect("checked");
        b.channels.push(channel.to_string());
        let (media, kind) = (
            b.media,
            if b.bridge_type == "holding" {
                BridgeKind::Holding
            } else {
                BridgeKind::Mixing
            },
        );
        let c = self.channels.get_mut(channel).expect("checked");
        c.bridge = Some(bridge.to_string());
        if let Some(app) = c.app().map(str::to_string) {
            self.apps.follow_bridge(&app, bridge, true);
        }
        if let Some(leg) = leg {
            self.media(
                |reply| MediaCommand::Bridge {
                    bridge: media,
                    kind,
                    legs: vec![leg],
                    reply,
                },
                |_, r| {
                    if let Err(e) = r {
                        tracing::warn!(error = %e, "media bridge failed");
                    }
                },
            );
        }
        self.bridge_membership_event("ChannelEnteredBridge", channel, bridge);
        Ok(())
    }

    /// Takes a channel out of a bridge: `ChannelLeftBridge`. A conference room (`conf-*`
    /// bridge of the built-in service) ends with its last member.
    pub(crate) fn leave_bridge(&mut self, channel: &str, bridge: &str, keep_media: bool) {
        let Some(b) = self.bridges.get(bridge) else {
            return;
        };
        if !b.channels.iter().any(|c| c == channel) {
            return;
        }
        self.bridge_membership_event("ChannelLeftBridge", channel, bridge);
        let b = self.bridges.get_mut(bridge).expect("checked");
        b.channels.retain(|c| c != channel);
        let empty_conference = b.channels.is_empty() && b.creator == "ConfBridge";
        let Some(c) = self.channels.get_mut(channel) else {
            return;
        };
        c.bridge = None;
        let leg = c.leg;
        if let Some(app) = c.app().map(str::to_string) {
            self.apps.follow_bridge(&app, bridge, false);
        }
        if let (Some(leg), true) = (leg, keep_media) {
            self.media(|reply| MediaCommand::Unbridge { leg, reply }, |_, _| {});
        }
        if empty_conference {
            let _ = self.destroy_bridge(bridge);
        }
    }

    /// Removes a channel from a bridge (`removeChannel`): 422 if it is not in it.
    pub fn remove_from_bridge(&mut self, channel: &str, bridge: &str) -> Result<(), AriError> {
        self.bridge(bridge)?;
        let c = self
            .channels
            .get(channel)
            .ok_or_else(|| AriError::bad_request("Channel not found"))?;
        if c.bridge.as_deref() != Some(bridge) {
            return Err(AriError::unprocessable("Channel not in this bridge"));
        }
        self.leave_bridge(channel, bridge, true);
        Ok(())
    }

    /// Destroys a bridge; its channels stay (`ChannelLeftBridge` each, then `BridgeDestroyed`).
    pub fn destroy_bridge(&mut self, id: &str) -> Result<(), AriError> {
        let channels = self.bridge(id)?.channels.clone();
        for c in &channels {
            self.leave_bridge(c, id, true);
        }
        let Some(b) = self.bridges.get(id) else {
            return Ok(()); // a conference that ended with its last member
        };
        let media = b.media;
        // Playbacks into the bridge end with it.
        let target = format!("bridge:{id}");
        let playbacks: Vec<String> = self
            .playbacks
            .values()
            .filter(|p| p.target_uri == target)
            .map(|p| p.id.clone())
            .collect();
        for p in playbacks {
            self.end_playback(&p, super::model::PlaybackState::Done);
        }
        // The apps of the channels that were inside still hear of the bridge's end.
        let Some(b) = self.bridges.get(id) else {
            return Ok(());
        };
        let body = serde_json::json!({"bridge": b.to_json()});
        let refs: Vec<&str> = channels.iter().map(String::as_str).collect();
        self.emit("BridgeDestroyed", body, &refs, Some(id));
        self.bridges.remove(id);
        self.by_media_bridge.remove(&media);
        self.apps.forget(None, Some(id));
        self.media(
            |reply| MediaCommand::DestroyBridge {
                bridge: media,
                reply,
            },
            |_, _| {},
        );
        self.end_bridge_recordings(id);
        Ok(())
    }

    /// Every bridge as JSON.
    pub fn list_bridges(&self) -> Value {
        let mut v: Vec<&Bridge> = self.bridges.values().collect();
        v.sort_by_key(|b| b.created);
        Value::Array(v.iter().map(|b| b.to_json()).collect())
    }
}
