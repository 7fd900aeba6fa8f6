//! Applications, subscriptions, event filters, user events, endpoint and sound listings.

use serde_json::{Value, json};
use tokio::sync::mpsc;

use super::{AriError, Core, model::Tech};

impl Core {
    /// Registers an events WebSocket for `apps`; returns its connection id.
    pub fn register_ws(
        &mut self,
        apps: &[String],
        subscribe_all: bool,
        tx: mpsc::Sender<String>,
    ) -> u64 {
        let instance = self.settings.instance_id.clone();
        self.apps
            .register(apps, subscribe_all, tx, &Self::envelope(&instance))
    }

    /// A WebSocket closed.
    pub fn unregister_ws(&mut self, conn: u64) {
        self.apps.unregister(conn);
    }

    /// Adds a tap that receives every event as `app` would with `subscribeAll` (the AMQP
    /// publisher).
    pub fn add_event_tap(&mut self, app: &str, tx: mpsc::Sender<String>) {
        self.apps.taps.push((app.to_string(), tx));
    }

    /// ARI `Application` objects (all, or the one named).
    pub fn applications_json(&self, only: Option<&str>) -> Value {
        let list: Vec<Value> = self
            .apps
            .apps
            .iter()
            .filter(|(n, a)| {
                only.is_none_or(|o| o == n.as_str()) && (a.conn.is_some() || only.is_some())
            })
            .map(|(n, a)| {
                let mut ids: Vec<String> = self
                    .channels_in_order()
                    .iter()
                    .filter(|c| c.app() == Some(n.as_str()) || a.channels.contains(&c.id))
                    .map(|c| c.id.clone())
                    .collect();
                ids.dedup();
                a.to_json(n, ids)
            })
            .collect();
        Value::Array(list)
    }

    /// `POST/DELETE /applications/{app}/subscription`.
    pub fn subscribe(
        &mut self,
        app: &str,
        sources: &[String],
        on: bool,
    ) -> Result<Value, AriError> {
        if !self.apps.apps.contains_key(app) {
            return Err(AriError::not_found("Application not found"));
        }
        // Validate everything before changing anything.
        for s in sources {
            let (kind, id) = s
                .split_once(':')
                .ok_or_else(|| AriError::bad_request("Invalid event source URI scheme"))?;
            let exists = match kind {
                "channel" => id.is_empty() || self.channels.contains_key(id),
                "bridge" => id.is_empty() || self.bridges.contains_key(id),
                "endpoint" => id.is_empty() || self.endpoint_exists(id),
                "deviceState" => !id.is_empty(),
                _ => return Err(AriError::bad_request("Invalid event source URI scheme")),
            };
            if !exists {
                return Err(AriError::unprocessable("Event source does not exist"));
            }
            if !on {
                let a = &self.apps.apps[app];
                let subscribed = match kind {
                    "channel" if id.is_empty() => a.all_channels,
                    "channel" => a.channels.contains(id),
                    "bridge" if id.is_empty() => a.all_bridges,
                    "bridge" => a.bridges.contains(id),
                    "endpoint" if id.is_empty() => a.all_endpoints,
                    "endpoint" => a.endpoints.contains(id),
                    _ => a.device_names.contains(id),
                };
                if !subscribed {
                    return Err(AriError::conflict(
                        "Application not subscribed to event source",
                    ));
                }
            }
        }
        let a = self.apps.apps.get_mut(app).expect("checked");
        for s in sources {
            let (kind, id) = s.split_once(':').expect("validated");
            match (kind, id.is_empty()) {
                ("channel", true) => a.all_channels = on,
                ("bridge", true) => a.all_bridges = on,
                ("endpoint", true) => a.all_endpoints = on,
                ("channel", false) => toggle(&mut a.channels, id, on),
                ("bridge", false) => toggle(&mut a.bridges, id, on),
                ("endpoint", false) => toggle(&mut a.endpoints, id, on),
                _ => toggle(&mut a.device_names, id, on),
            }
        }
        Ok(self.applications_json(Some(app))[0].clone())
    }

    /// `PUT /applications/{app}/eventFilter`.
    pub fn set_event_filter(&mut self, app: &str, filter: &Value) -> Result<Value, AriError> {
        let a = self
            .apps
            .apps
            .get_mut(app)
            .ok_or_else(|| AriError::not_found("Application not found"))?;
        let list = |k: &str| -> Result<Vec<Value>, AriError> {
            match filter.get(k) {
                None | Some(Value::Null) => Ok(Vec::new()),
                Some(Value::Array(v))
                    if v.iter()
                        .all(|x| x.get("type").is_some_and(Value::is_string)) =>
                {
                    Ok(v.clone())
                }
                Some(_) => Err(AriError::bad_request("Invalid event filter")),
            }
        };
        a.allowed = list("allowed")?;
        a.disallowed = list("disallowed")?;
        Ok(self.applications_json(Some(app))[0].clone())
    }

    fn endpoint_exists(&self, id: &str) -> bool {
        let (tech, res) = id.split_once('/').unwrap_or((id, ""));
        tech.eq_ignore_ascii_case("PJSIP")
            && (res.is_empty()
                || res == self.settings.inbound_endpoint
                || res == "call-out"
                || self.settings.endpoints.contains_key(res))
    }

    /// ARI `Endpoint` objects.
    pub fn endpoints_json(&self) -> Value {
        let mut names: Vec<String> =
            vec![self.settings.inbound_endpoint.clone(), "call-out".into()];
        names.extend(self.settings.endpoints.keys().cloned());
        names.dedup();
        Value::Array(
            names
                .into_iter()
                .map(|n| {
                    let prefix = format!("PJSIP/{n}-");
                    let ids: Vec<String> = self
                        .channels_in_order()
                        .iter()
                        .filter(|c| c.name.starts_with(&prefix))
                        .map(|c| c.id.clone())
                        .collect();
                    json!({"technology": "PJSIP", "resource": n, "state": "online", "channel_ids": ids})
                })
                .collect(),
        )
    }

    /// ARI `Sound` objects: files in the sound directories.
    pub fn sounds_json(&self) -> Value {
        let mut sounds: std::collections::BTreeMap<String, Vec<(String, String)>> =
            Default::default();
        for dir in &self.settings.sound_dirs {
            let mut stack = vec![(dir.clone(), String::new())];
            while let Some((d, lang)) = stack.pop() {
                for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
                    let p = e.path();
                    if p.is_dir() {
                        let l = if lang.is_empty() {
                            p.file_name()
                                .map(|n| n.to_string_lossy().to_string())
                                .unwrap_or_default()
                        } else {
                            lang.clone()
                        };
                        stack.push((p, l));
                        continue;
                    }
                    let Some(ext) = p.extension().map(|e| e.to_string_lossy().to_string()) else {
                        continue;
                    };
                    let base = d.join(&lang);
                    let rel = p
                        .strip_prefix(&base)
                        .or_else(|_| p.strip_prefix(dir))
                        .map(|r| r.with_extension("").to_string_lossy().to_string())
                        .unwrap_or_default();
                    if rel.is_empty() {
                        continue;
                    }
                    let lang = if lang.is_empty() {
                        "en".into()
                    } else {
                        lang.clone()
                    };
                    sounds.entry(rel).or_default().push((lang, ext));
                }
            }
        }
        Value::Array(
            sounds
                .into_iter()
                .map(|(id, formats)| {
                    json!({
                        "id": id,
                        "text": "",
                        "formats": formats.iter().map(|(l, f)| json!({"language": l, "format": f})).collect::<Vec<_>>(),
                    })
                })
                .collect(),
        )
    }

    /// `POST /events/user/{name}`: `ChannelUserevent` to `app`.
    pub fn user_event(
        &mut self,
        app: &str,
        name: &str,
        sources: &[String],
        vars: Value,
    ) -> Result<(), AriError> {
        if !self.apps.apps.contains_key(app) {
            return Err(AriError::not_found("Application not found"));
        }
        let mut body = json!({"eventname": name, "userevent": vars});
        let mut channel = None;
        for s in sources {
            let (kind, id) = s
                .split_once(':')
                .ok_or_else(|| AriError::bad_request("Invalid event source"))?;
            match kind {
                "channel" => {
                    let c = self
                        .channels
                        .get(id)
                        .ok_or_else(|| AriError::unprocessable("Event source not found"))?;
                    body["channel"] = c.to_json(&self.settings.channelvars);
                    channel = Some(id.to_string());
                }
                "bridge" => {
                    let b = self
                        .bridges
                        .get(id)
                        .ok_or_else(|| AriError::unprocessable("Event source not found"))?;
                    body["bridge"] = b.to_json();
                }
                "endpoint" | "deviceState" => {}
                _ => return Err(AriError::bad_request("Invalid event source")),
            }
        }
        let event = super::stasis::Event {
            kind: "ChannelUserevent",
            body: body.as_object().cloned().unwrap_or_default(),
            channels: channel.into_iter().collect(),
            bridge: None,
            owners: vec![app.to_string()],
        };
        let instance = self.settings.instance_id.clone();
        // Only the named app gets it.
        if let Some(a) = self.apps.apps.get_mut(app)
            && let Some(conn) = &a.conn
        {
            let frame = Self::envelope(&instance)(event.kind, app, event.body.clone());
            let _ = conn.tx.try_send(frame);
        }
        Ok(())
    }

    /// Music on hold into a bridge.
    pub fn bridge_moh(&mut self, id: &str, on: bool, class: &str) -> Result<(), AriError> {
        let media = self.bridge(id)?.media;
        let target = media_engine::command::Target::Bridge(media);
        let b = self.bridges.get_mut(id).expect("checked");
        if let Some(old) = b.moh.take() {
            self.media(
                |reply| media_engine::command::MediaCommand::StopPlayback {
                    target,
                    playback: old,
                    reply,
                },
                |_, _| {},
            );
        }
        if !on {
            return Ok(());
        }
        let name = format!("moh/{}", if class.is_empty() { "default" } else { class });
        let source = match super::sounds::resolve(&format!("sound:{name}"), "en", &self.settings) {
            Ok(mut s) if !s.is_empty() => match s.remove(0) {
                media_engine::playback::PlaySource::Pcm(p) => {
                    media_engine::playback::PlaySource::Looped(p)
                }
                other => other,
            },
            _ => media_engine::playback::PlaySource::Tone("440+480/400,0/1600".into()),
        };
        let playback = media_engine::command::PlaybackId(self.next_seq() | (1 << 62));
        self.bridges.get_mut(id).expect("checked").moh = Some(playback);
        self.media(
            |reply| media_engine::command::MediaCommand::Play {
                target,
                playback,
                source,
                reply,
            },
            |_, _| {},
        );
        Ok(())
    }

    /// Whether a channel is a snoop (for listings).
    pub fn is_snoop(&self, id: &str) -> bool {
        self.channels
            .get(id)
            .is_some_and(|c| matches!(c.tech, Tech::Snoop { .. }))
    }
}

fn toggle(set: &mut std::collections::HashSet<String>, id: &str, on: bool) {
    if on {
        set.insert(id.to_string());
    } else {
        set.remove(id);
    }
}
