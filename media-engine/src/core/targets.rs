//! Playbacks and recordings on a leg or a bridge, and talk detection.

use codec_transcoder::SampleRate;

use super::{MediaCore, bridge::BridgeRecording, route::working_rate};
use crate::{
    command::{LegId, MediaError, MediaEvent, PlaybackId, RecordDirection, RecordingId, Target},
    leg::{Recording, Route},
    playback::{PlaySource, Player},
    record::RecordingSink,
};

impl MediaCore {
    /// Plays to a leg or into a bridge (queued behind a playback in progress there).
    pub fn play(
        &mut self,
        target: Target,
        playback: PlaybackId,
        source: PlaySource,
    ) -> Result<(), MediaError> {
        if self.playbacks.contains_key(&playback) {
            return Err(MediaError::State("playback id in use"));
        }
        let started = match target {
            Target::Leg(id) => {
                let slot = self.slot(id)?;
                let peer_codec = self
                    .leg(slot)
                    .peer
                    .and_then(|p| self.leg(p).params.as_ref().map(|x| x.codec));
                let leg = self.leg_mut(slot);
                let transcoding = leg.route == Route::Transcode;
                let rate = match (&leg.snoop, leg.params.as_ref().map(|p| p.codec)) {
                    // A snoop plays at its own rate (what it is sent is whispered).
                    (Some(s), _) => s.rate(),
                    (None, Some(codec)) if leg.route == Route::Mix => super::route::natural(codec),
                    (None, Some(codec)) => {
                        working_rate(codec, if transcoding { peer_codec } else { None })
                    }
                    (None, None) => {
                        return Err(MediaError::State("the leg has not negotiated media"));
                    }
                };
                let player = Player::new(source, rate)?;
                let started = leg.playback.is_none();
                if started {
                    leg.playback = Some((playback, player));
                } else {
                    leg.playback_queue.push_back((playback, player));
                }
                self.ensure_pipelines(slot);
                started
            }
            Target::Bridge(id) => {
                let b = self
                    .bridges
                    .get_mut(&id)
                    .ok_or(MediaError::UnknownBridge(id))?;
                let rate = b.mixer.as_ref().map_or(SampleRate::Hz16000, |m| m.rate());
                let player = Player::new(source, rate)?;
                let started = b.playback.is_none();
                if started {
                    b.playback = Some((playback, player));
                } else {
                    b.queue.push_back((playback, player));
                }
                self.reroute(id);
                started
            }
        };
        self.playbacks.insert(playback, target);
        if started {
            self.push_event(MediaEvent::PlaybackStarted { target, playback });
        }
        Ok(())
    }

    /// Stops a playback (or takes it out of the queue).
    pub fn stop_playback(
        &mut self,
        target: Target,
        playback: PlaybackId,
    ) -> Result<(), MediaError> {
        if self.playbacks.get(&playback) != Some(&target) {
            return Err(MediaError::UnknownPlayback(playback));
        }
        self.playbacks.remove(&playback);
        let next = match target {
            Target::Leg(id) => {
                let slot = self.slot(id)?;
                let leg = self.leg_mut(slot);
                let next = stop_in(&mut leg.playback, &mut leg.playback_queue, playback);
                self.ensure_pipelines(slot);
                next
            }
            Target::Bridge(id) => {
                let b = self
                    .bridges
                    .get_mut(&id)
                    .ok_or(MediaError::UnknownBridge(id))?;
                let next = stop_in(&mut b.playback, &mut b.queue, playback);
                self.reroute(id);
                next
            }
        };
        self.push_event(MediaEvent::PlaybackFinished {
            target,
            playback,
            stopped: true,
        });
        if let Some(next) = next {
            self.push_event(MediaEvent::PlaybackStarted {
                target,
                playback: next,
            });
        }
        Ok(())
    }

    /// Starts recording a leg's audio (in `direction`) or a bridge's full mix.
    pub fn record(
        &mut self,
        target: Target,
        recording: RecordingId,
        direction: RecordDirection,
        sink: RecordingSink,
    ) -> Result<(), MediaError> {
        if self.recordings.contains_key(&recording) {
            return Err(MediaError::State("recording id in use"));
        }
        match target {
            Target::Leg(id) => {
                let slot = self.slot(id)?;
                self.leg_mut(slot).recordings.push(Recording {
                    id: recording,
                    direction,
                    sink,
                    resamplers: [None, None],
                    samples: 0,
                    paused: false,
                    muted: false,
                });
                self.ensure_pipelines(slot);
                if let Some(p) = self.leg(slot).peer {
                    self.ensure_pipelines(p);
                }
            }
            Target::Bridge(id) => {
                let b = self
                    .bridges
                    .get_mut(&id)
                    .ok_or(MediaError::UnknownBridge(id))?;
                b.recordings.push(BridgeRecording {
                    id: recording,
                    sink,
                    resampler: None,
                    samples: 0,
                    paused: false,
                    muted: false,
                });
                self.reroute(id);
            }
        }
        self.recordings.insert(recording, target);
        Ok(())
    }

    /// Stops a recording; dropping its sink lets the writer finish the file. Returns the
    /// samples recorded.
    pub fn stop_recording(
        &mut self,
        target: Target,
        recording: RecordingId,
    ) -> Result<u64, MediaError> {
        if self.recordings.get(&recording) != Some(&target) {
            return Err(MediaError::UnknownRecording(recording));
        }
        self.recordings.remove(&recording);
        let unknown = MediaError::UnknownRecording(recording);
        match target {
            Target::Leg(id) => {
                let slot = self.slot(id)?;
                let leg = self.leg_mut(slot);
                let i = leg
                    .recordings
                    .iter()
                    .position(|r| r.id == recording)
                    .ok_or(unknown)?;
                let rec = leg.recordings.remove(i);
                self.ensure_pipelines(slot);
                if let Some(p) = self.leg(slot).peer {
                    self.ensure_pipelines(p);
                }
                Ok(rec.samples)
            }
            Target::Bridge(id) => {
                let b = self
                    .bridges
                    .get_mut(&id)
                    .ok_or(MediaError::UnknownBridge(id))?;
                let i = b
                    .recordings
                    .iter()
                    .position(|r| r.id == recording)
                    .ok_or(unknown)?;
                let rec = b.recordings.remove(i);
                self.reroute(id);
                Ok(rec.samples)
            }
        }
    }

    /// Pauses, resumes, restarts or skips a playback.
    pub fn control_playback(
        &mut self,
        target: Target,
        playback: PlaybackId,
        op: crate::playback::PlaybackOp,
    ) -> Result<(), MediaError> {
        if self.playbacks.get(&playback) != Some(&target) {
            return Err(MediaError::UnknownPlayback(playback));
        }
        let player = match target {
            Target::Leg(id) => {
                let slot = self.slot(id)?;
                let leg = self.leg_mut(slot);
                match &mut leg.playback {
                    Some((p, player)) if *p == playback => player,
                    _ => return Err(MediaError::State("the playback is queued")),
                }
            }
            Target::Bridge(id) => {
                let b = self
                    .bridges
                    .get_mut(&id)
                    .ok_or(MediaError::UnknownBridge(id))?;
                match &mut b.playback {
                    Some((p, player)) if *p == playback => player,
                    _ => return Err(MediaError::State("the playback is queued")),
                }
            }
        };
        if player.control(op) {
            Ok(())
        } else {
            Err(MediaError::State("the playback is not in a state for that"))
        }
    }

    /// Pauses (nothing written) or mutes (silence written) a recording.
    pub fn control_recording(
        &mut self,
        target: Target,
        recording: RecordingId,
        paused: bool,
        muted: bool,
    ) -> Result<(), MediaError> {
        if self.recordings.get(&recording) != Some(&target) {
            return Err(MediaError::UnknownRecording(recording));
        }
        match target {
            Target::Leg(id) => {
                let slot = self.slot(id)?;
                let r = self
                    .leg_mut(slot)
                    .recordings
                    .iter_mut()
                    .find(|r| r.id == recording)
                    .ok_or(MediaError::UnknownRecording(recording))?;
                r.paused = paused;
                r.muted = muted;
            }
            Target::Bridge(id) => {
                let b = self
                    .bridges
                    .get_mut(&id)
                    .ok_or(MediaError::UnknownBridge(id))?;
                let r = b
                    .recordings
                    .iter_mut()
                    .find(|r| r.id == recording)
                    .ok_or(MediaError::UnknownRecording(recording))?;
                r.paused = paused;
                r.muted = muted;
            }
        }
        Ok(())
    }

    /// Turns talk detection on a leg on or off.
    pub fn talk_detect(
        &mut self,
        id: LegId,
        config: Option<conference_mixer::TalkConfig>,
    ) -> Result<(), MediaError> {
        let slot = self.slot(id)?;
        self.leg_mut(slot).talk = config.map(|c| conference_mixer::TalkDetector::new(c, 20));
        self.ensure_pipelines(slot);
        Ok(())
    }
}

/// Removes `playback` from a current slot or a queue; returns the playback that starts next.
fn stop_in(
    current: &mut Option<(PlaybackId, Player)>,
    queue: &mut std::collections::VecDeque<(PlaybackId, Player)>,
    playback: PlaybackId,
) -> Option<PlaybackId> {
    if current.as_ref().is_some_and(|(p, _)| *p == playback) {
        *current = queue.pop_front();
        current.as_ref().map(|(p, _)| *p)
    } else {
        queue.retain(|(p, _)| *p != playback);
        None
    }
}
