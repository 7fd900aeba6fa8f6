//! Playbacks: media lists on a channel or into a bridge, resolution off the core, control
//! (pause, unpause, restart, forward, reverse), and their events.

use media_engine::{
    command::{MediaCommand, PlaybackId, Target},
    playback::PlaybackOp,
};
use serde_json::{Value, json};

use super::{
    AriError, Core, Done,
    bridges::uuid,
    model::{Playback, PlaybackState},
    sounds,
};

/// Where a playback goes, as ARI names it.
#[derive(Debug, Clone)]
pub enum PlayOn {
    /// A channel.
    Channel(String),
    /// A bridge.
    Bridge(String),
}

impl Core {
    /// Starts (or queues) a playback of `media` (a list) on a channel or into a bridge.
    pub fn play(
        &mut self,
        on: PlayOn,
        media: Vec<String>,
        lang: String,
        playback_id: Option<String>,
        skipms: u64,
    ) -> Result<Value, AriError> {
        if media.is_empty() || media.iter().any(String::is_empty) {
            return Err(AriError::bad_request("media is required"));
        }
        let (target, target_uri) = match &on {
            PlayOn::Channel(id) => {
                let c = self.stasis_channel(id)?;
                let leg = c
                    .leg
                    .ok_or_else(|| AriError::precondition("Channel in invalid state"))?;
                (Target::Leg(leg), format!("channel:{id}"))
            }
            PlayOn::Bridge(id) => {
                let b = self.bridge(id)?;
                (Target::Bridge(b.media), format!("bridge:{id}"))
            }
        };
        let id = playback_id.filter(|p| !p.is_empty()).unwrap_or_else(uuid);
        if self.playbacks.contains_key(&id) {
            return Err(AriError::conflict("Playback with that id already exists"));
        }
        let p = Playback {
            id: id.clone(),
            media: PlaybackId(0),
            uris: media,
            index: 0,
            target_uri,
            language: if lang.is_empty() { "en".into() } else { lang },
            state: PlaybackState::Queued,
            skipms,
            target,
            sources: Default::default(),
            announced: false,
        };
        let json = p.to_json();
        self.playbacks.insert(id.clone(), p);
        self.resolve_item(&id);
        Ok(json)
    }

    /// Resolves the current item off the core, then plays it.
    fn resolve_item(&self, id: &str) {
        let Some(p) = self.playbacks.get(id) else {
            return;
        };
        let uri = p.uris[p.index].clone();
        let lang = p.language.clone();
        let settings = self.settings.clone();
        let jobs = self.jobs.clone();
        let owned = id.to_string();
        tokio::spawn(async move {
            let r = tokio::task::spawn_blocking(move || sounds::resolve(&uri, &lang, &settings))
                .await
                .unwrap_or_else(|e| Err(e.to_string()));
            let _ = jobs
                .send(Box::new(move |core: &mut Self| {
                    core.item_resolved(&owned, r)
                }))
                .await;
        });
    }

    fn item_resolved(
        &mut self,
        id: &str,
        r: Result<Vec<media_engine::playback::PlaySource>, String>,
    ) {
        let Some(p) = self.playbacks.get_mut(id) else {
            return;
        };
        match r {
            Ok(sources) if !sources.is_empty() => {
                p.sources = sources.into();
                self.play_next_source(id);
            }
            Ok(_) | Err(_) => {
                if let Err(e) = r {
                    tracing::info!(playback = %id, error = %e, "cannot play");
                }
                self.announce(id);
                self.end_playback(id, PlaybackState::Failed);
            }
        }
    }

    fn play_next_source(&mut self, id: &str) {
        let media = PlaybackId(self.next_seq());
        let Some(p) = self.playbacks.get_mut(id) else {
            return;
        };
        let Some(source) = p.sources.pop_front() else {
            return;
        };
        let old = p.media;
        p.media = media;
        let target = p.target;
        self.by_media_playback.remove(&old);
        self.by_media_playback.insert(media, id.to_string());
        let owned = id.to_string();
        self.media(
            |reply| MediaCommand::Play {
                target,
                playback: media,
                source,
                reply,
            },
            move |core, r| {
                if let Err(e) = r {
                    tracing::info!(playback = %owned, error = %e, "the media engine refused the playback");
                    core.announce(&owned);
                    core.end_playback(&owned, PlaybackState::Failed);
                }
            },
        );
    }

    /// `PlaybackStarted`, once.
    fn announce(&mut self, id: &str) {
        let Some(p) = self.playbacks.get_mut(id) else {
            return;
        };
        if p.announced {
            return;
        }
        p.announced = true;
        p.state = PlaybackState::Playing;
        self.playback_event("PlaybackStarted", id);
    }

    fn playback_event(&mut self, kind: &'static str, id: &str) {
        let Some(p) = self.playbacks.get(id) else {
            return;
        };
        let body = json!({"playback": p.to_json()});
        let target = p.target_uri.clone();
        match target.split_once(':') {
            Some(("channel", c)) => {
                let c = c.to_string();
                self.emit(kind, body, &[&c], None);
            }
            Some(("bridge", b)) => {
                let b = b.to_string();
                self.emit(kind, body, &[], Some(&b));
            }
            _ => {}
        }
    }

    pub(crate) fn media_playback_started(&mut self, media: PlaybackId) {
        if let Some(id) = self.by_media_playback.get(&media).cloned() {
            if let Some(p) = self.playbacks.get_mut(&id)
                && p.state == PlaybackState::Continuing
            {
                p.state = PlaybackState::Playing;
            }
            self.announce(&id);
        }
    }

    pub(crate) fn media_playback_finished(&mut self, media: PlaybackId, stopped: bool) {
        let Some(id) = self.by_media_playback.remove(&media) else {
            return;
        };
        let Some(p) = self.playbacks.get_mut(&id) else {
            return;
        };
        if stopped {
            self.end_playback(&id, PlaybackState::Done);
            return;
        }
        if !p.sources.is_empty() {
            self.play_next_source(&id);
            return;
        }
        if p.index + 1 < p.uris.len() {
            p.index += 1;
            p.state = PlaybackState::Continuing;
            self.playback_event("PlaybackContinuing", &id);
            self.resolve_item(&id);
            return;
        }
        self.end_playback(&id, PlaybackState::Done);
    }

    /// `PlaybackFinished` (done or failed) and forget it.
    pub(crate) fn end_playback(&mut self, id: &str, state: PlaybackState) {
        let Some(p) = self.playbacks.get_mut(id) else {
            return;
        };
        p.state = state;
        let media = p.media;
        self.playback_event("PlaybackFinished", id);
        self.playbacks.remove(id);
        self.by_media_playback.remove(&media);
    }

    /// A playback's JSON.
    pub fn get_playback(&self, id: &str) -> Result<Value, AriError> {
        self.playbacks
            .get(id)
            .map(Playback::to_json)
            .ok_or_else(|| AriError::not_found("Playback not found"))
    }

    /// Stops a playback (`DELETE /playbacks/{id}`).
    pub fn stop_playback(&mut self, id: &str) -> Result<(), AriError> {
        let p = self
            .playbacks
            .get(id)
            .ok_or_else(|| AriError::not_found("Playback not found"))?;
        let (target, media) = (p.target, p.media);
        if self.by_media_playback.contains_key(&media) {
            self.media(
                |reply| MediaCommand::StopPlayback {
                    target,
                    playback: media,
                    reply,
                },
                |_, _| {},
            );
            // The media engine's PlaybackFinished ends it; forget the remaining items now.
            if let Some(p) = self.playbacks.get_mut(id) {
                p.sources.clear();
                p.index = p.uris.len() - 1;
            }
        } else {
            self.announce(id);
            self.end_playback(id, PlaybackState::Done);
        }
        Ok(())
    }

    /// Pause, unpause, restart, forward, reverse (`POST /playbacks/{id}/control`).
    pub fn control_playback(&mut self, id: &str, operation: &str, done: Done<()>) {
        let Some(p) = self.playbacks.get(id) else {
            return done.err(AriError::not_found("Playback not found"));
        };
        let op = match operation {
            "pause" => PlaybackOp::Pause,
            "unpause" => PlaybackOp::Unpause,
            "restart" => PlaybackOp::Restart,
            "forward" => PlaybackOp::Forward(p.skipms),
            "reverse" => PlaybackOp::Reverse(p.skipms),
            _ => return done.err(AriError::bad_request("Invalid operation")),
        };
        if p.state == PlaybackState::Queued {
            return done.err(AriError::conflict("Playback not currently playing"));
        }
        let (target, media) = (p.target, p.media);
        let owned = id.to_string();
        self.media(
            |reply| MediaCommand::ControlPlayback {
                target,
                playback: media,
                op,
                reply,
            },
            move |core, r| match r {
                Ok(()) => {
                    if let Some(p) = core.playbacks.get_mut(&owned) {
                        match op {
                            PlaybackOp::Pause => p.state = PlaybackState::Paused,
                            PlaybackOp::Unpause => {
                                p.state = PlaybackState::Playing;
                                core.playback_event("PlaybackStarted", &owned);
                            }
                            _ => {}
                        }
                    }
                    done.ok(());
                }
                Err(_) => done.err(AriError::conflict("Playback not in a state for that")),
            },
        );
    }

    /// Ends every playback on a channel (it is going away).
    pub(crate) fn end_channel_playbacks(&mut self, channel: &str) {
        let target = format!("channel:{channel}");
        let ids: Vec<String> = self
            .playbacks
            .values()
            .filter(|p| p.target_uri == target)
            .map(|p| p.id.clone())
            .collect();
        for id in ids {
            self.end_playback(&id, PlaybackState::Done);
        }
    }
}
