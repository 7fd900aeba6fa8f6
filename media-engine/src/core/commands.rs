//! Commands from the control plane.

use std::time::{Duration, Instant};

use super::{DetachedLeg, MediaCore, SocketProvider, route::working_rate};
use crate::{
    command::{
        BridgeId, LegConfig, LegId, MediaCommand, MediaError, MediaEvent, PlaybackId,
        RecordDirection, RecordingId, RtpStatistics,
    },
    dtmf::Digit,
    leg::{Leg, LegSeed, Recording, Route},
    playback::{PlaySource, Player},
    record::RecordingSink,
};

impl MediaCore {
    /// Carries out a command and answers its reply.
    pub fn handle_command(
        &mut self,
        now: Instant,
        command: MediaCommand,
        sockets: &mut dyn SocketProvider,
    ) {
        match command {
            MediaCommand::CreateLeg {
                leg,
                config,
                remote_offer,
                reply,
                ..
            } => reply.send(self.create_leg(now, leg, *config, remote_offer.as_deref(), sockets)),
            MediaCommand::RemoteAnswer { leg, sdp, reply } => {
                reply.send(self.remote_answer(now, leg, &sdp));
            }
            MediaCommand::RemoteOffer { leg, sdp, reply } => {
                reply.send(self.remote_offer(now, leg, &sdp));
            }
            MediaCommand::LocalOffer { leg, reply } => reply.send(self.local_offer(leg)),
            MediaCommand::Hold { leg, held, reply } => reply.send(self.hold(leg, held)),
            MediaCommand::Bridge {
                bridge,
                legs,
                reply,
            } => reply.send(self.bridge(bridge, &legs)),
            MediaCommand::Unbridge { leg, reply } => reply.send(self.unbridge(leg)),
            MediaCommand::DestroyBridge { bridge, reply } => {
                reply.send(self.destroy_bridge(bridge));
            }
            MediaCommand::Play {
                leg,
                playback,
                source,
                reply,
            } => reply.send(self.play(leg, playback, source)),
            MediaCommand::StopPlayback {
                playback, reply, ..
            } => {
                reply.send(self.stop_playback(playback));
            }
            MediaCommand::Record {
                leg,
                recording,
                direction,
                sink,
                reply,
            } => reply.send(self.record(leg, recording, direction, sink)),
            MediaCommand::StopRecording {
                recording, reply, ..
            } => {
                reply.send(self.stop_recording(recording));
            }
            MediaCommand::SendDtmf {
                leg,
                digits,
                duration,
                between,
                reply,
            } => reply.send(self.send_dtmf(leg, &digits, duration, between)),
            MediaCommand::Stats { leg, reply } => reply.send(self.statistics(leg)),
            MediaCommand::Destroy { leg, reply } => reply.send(self.destroy(leg, sockets)),
        }
    }

    /// Creates a leg; answers `remote_offer` or returns our offer.
    pub fn create_leg(
        &mut self,
        now: Instant,
        id: LegId,
        config: LegConfig,
        remote_offer: Option<&[u8]>,
        sockets: &mut dyn SocketProvider,
    ) -> Result<Vec<u8>, MediaError> {
        if self.by_id.contains_key(&id) {
            return Err(MediaError::LegExists(id));
        }
        let pair = sockets.open()?;
        let r = self.random_u64();
        let r2 = self.random_u64();
        let seed = LegSeed {
            ssrc: r as u32,
            seq: (r >> 32) as u16,
            ts: r2 as u32,
            session_id: (r2 >> 33) | 1,
            rtcp_jitter: 0.5 + f64::from((r >> 48) as u16) / 65536.0,
        };
        let mut leg = Box::new(Leg::new(now, id, config, pair, seed));
        let sdp = match remote_offer {
            Some(offer) => leg.answer(offer, &mut *self.random),
            None => Ok(leg.offer(&mut *self.random)),
        };
        let sdp = match sdp {
            Ok(s) => s,
            Err(e) => {
                sockets.close(pair);
                return Err(e);
            }
        };
        if leg.params.is_some() {
            leg.media_since = Some(now);
        }
        let slot = self.insert_leg(leg);
        self.ensure_pipelines(slot);
        Ok(sdp)
    }

    /// The far end answered our offer.
    pub fn remote_answer(&mut self, now: Instant, id: LegId, sdp: &[u8]) -> Result<(), MediaError> {
        let slot = self.slot(id)?;
        let leg = self.leg_mut(slot);
        leg.accept_answer(sdp)?;
        leg.media_since.get_or_insert(now);
        self.reroute_leg(slot);
        Ok(())
    }

    /// The far end made a new offer; returns our answer.
    pub fn remote_offer(
        &mut self,
        now: Instant,
        id: LegId,
        sdp: &[u8],
    ) -> Result<Vec<u8>, MediaError> {
        let slot = self.slot(id)?;
        let leg = self.legs[slot].as_deref_mut().expect("mapped");
        let answer = leg.answer(sdp, &mut *self.random)?;
        leg.media_since.get_or_insert(now);
        self.reroute_leg(slot);
        Ok(answer)
    }

    /// A new offer of ours for the leg.
    pub fn local_offer(&mut self, id: LegId) -> Result<Vec<u8>, MediaError> {
        let slot = self.slot(id)?;
        let leg = self.legs[slot].as_deref_mut().expect("mapped");
        Ok(leg.offer(&mut *self.random))
    }

    /// Holds or releases the far end; returns the offer to send.
    pub fn hold(&mut self, id: LegId, held: bool) -> Result<Vec<u8>, MediaError> {
        let slot = self.slot(id)?;
        let leg = self.legs[slot].as_deref_mut().expect("mapped");
        if leg.held != held {
            leg.held = held;
            leg.out.reanchor();
        }
        Ok(leg.offer(&mut *self.random))
    }

    /// Adds legs to a bridge (two legs: relay or transcode; more need the conference mixer).
    pub fn bridge(&mut self, bridge: BridgeId, legs: &[LegId]) -> Result<(), MediaError> {
        let slots = legs
            .iter()
            .map(|l| self.slot(*l))
            .collect::<Result<Vec<_>, _>>()?;
        let mut members = self.bridges.get(&bridge).cloned().unwrap_or_default();
        for s in &slots {
            if !members.contains(s) {
                members.push(*s);
            }
        }
        if members.len() > 2 {
            return Err(MediaError::State(
                "a bridge of more than two legs needs the conference mixer",
            ));
        }
        for &s in &slots {
            if let Some(old) = self.leg(s).bridge.filter(|b| *b != bridge) {
                self.leave(old, s);
            }
            self.leg_mut(s).bridge = Some(bridge);
        }
        self.bridges.insert(bridge, members.clone());
        self.reroute_bridge(&members);
        Ok(())
    }

    /// Takes a leg out of its bridge.
    pub fn unbridge(&mut self, id: LegId) -> Result<(), MediaError> {
        let slot = self.slot(id)?;
        if let Some(b) = self.leg(slot).bridge {
            self.leave(b, slot);
        }
        Ok(())
    }

    fn leave(&mut self, bridge: BridgeId, slot: usize) {
        let leg = self.leg_mut(slot);
        leg.bridge = None;
        leg.peer = None;
        leg.route = Route::None;
        leg.out.reanchor();
        let remaining = match self.bridges.get_mut(&bridge) {
            Some(m) => {
                m.retain(|s| *s != slot);
                m.clone()
            }
            None => Vec::new(),
        };
        self.reroute_bridge(&remaining);
        self.ensure_pipelines(slot);
    }

    /// Removes a bridge.
    pub fn destroy_bridge(&mut self, bridge: BridgeId) -> Result<(), MediaError> {
        let members = self
            .bridges
            .remove(&bridge)
            .ok_or(MediaError::UnknownBridge(bridge))?;
        for s in members {
            let leg = self.leg_mut(s);
            leg.bridge = None;
            leg.peer = None;
            leg.route = Route::None;
            self.ensure_pipelines(s);
        }
        Ok(())
    }

    /// Plays to a leg (queued behind a playback in progress).
    pub fn play(
        &mut self,
        id: LegId,
        playback: PlaybackId,
        source: PlaySource,
    ) -> Result<(), MediaError> {
        let slot = self.slot(id)?;
        if self.playbacks.contains_key(&playback) {
            return Err(MediaError::State("playback id in use"));
        }
        let peer_codec = self
            .leg(slot)
            .peer
            .and_then(|p| self.leg(p).params.as_ref().map(|x| x.codec));
        let leg = self.leg_mut(slot);
        let codec = leg
            .params
            .as_ref()
            .map(|p| p.codec)
            .ok_or(MediaError::State("the leg has not negotiated media"))?;
        let transcoding = leg.route == Route::Transcode;
        let rate = working_rate(codec, if transcoding { peer_codec } else { None });
        let player = Player::new(source, rate)?;
        let started = leg.playback.is_none();
        if started {
            leg.playback = Some((playback, player));
        } else {
            leg.playback_queue.push_back((playback, player));
        }
        self.playbacks.insert(playback, slot);
        if started {
            self.push_event(MediaEvent::PlaybackStarted { leg: id, playback });
        }
        self.ensure_pipelines(slot);
        Ok(())
    }

    /// Stops a playback (or takes it out of the queue).
    pub fn stop_playback(&mut self, playback: PlaybackId) -> Result<(), MediaError> {
        let slot = self
            .playbacks
            .remove(&playback)
            .ok_or(MediaError::UnknownPlayback(playback))?;
        let leg = self.leg_mut(slot);
        let id = leg.id;
        let mut started = None;
        if leg.playback.as_ref().is_some_and(|(p, _)| *p == playback) {
            leg.playback = leg.playback_queue.pop_front();
            started = leg.playback.as_ref().map(|(p, _)| *p);
        } else {
            leg.playback_queue.retain(|(p, _)| *p != playback);
        }
        self.push_event(MediaEvent::PlaybackFinished {
            leg: id,
            playback,
            stopped: true,
        });
        if let Some(next) = started {
            self.push_event(MediaEvent::PlaybackStarted {
                leg: id,
                playback: next,
            });
        }
        self.ensure_pipelines(slot);
        Ok(())
    }

    /// Starts recording a leg.
    pub fn record(
        &mut self,
        id: LegId,
        recording: RecordingId,
        direction: RecordDirection,
        sink: RecordingSink,
    ) -> Result<(), MediaError> {
        let slot = self.slot(id)?;
        if self.recordings.contains_key(&recording) {
            return Err(MediaError::State("recording id in use"));
        }
        self.leg_mut(slot).recordings.push(Recording {
            id: recording,
            direction,
            sink,
            resamplers: [None, None],
            samples: 0,
        });
        self.recordings.insert(recording, slot);
        self.ensure_pipelines(slot);
        if let Some(p) = self.leg(slot).peer {
            self.ensure_pipelines(p);
        }
        Ok(())
    }

    /// Stops a recording; dropping its sink lets the writer finish the file.
    pub fn stop_recording(&mut self, recording: RecordingId) -> Result<u64, MediaError> {
        let slot = self
            .recordings
            .remove(&recording)
            .ok_or(MediaError::UnknownRecording(recording))?;
        let leg = self.leg_mut(slot);
        let i = leg
            .recordings
            .iter()
            .position(|r| r.id == recording)
            .ok_or(MediaError::UnknownRecording(recording))?;
        let rec = leg.recordings.remove(i);
        self.ensure_pipelines(slot);
        if let Some(p) = self.leg(slot).peer {
            self.ensure_pipelines(p);
        }
        Ok(rec.samples)
    }

    /// Sends DTMF: RFC 4733 events if negotiated, else tones in the audio.
    pub fn send_dtmf(
        &mut self,
        id: LegId,
        digits: &str,
        duration: Duration,
        between: Duration,
    ) -> Result<(), MediaError> {
        let slot = self.slot(id)?;
        let parsed: Vec<Digit> = digits
            .chars()
            .map(Digit::from_char)
            .collect::<Option<_>>()
            .filter(|d: &Vec<Digit>| !d.is_empty())
            .ok_or_else(|| MediaError::BadDigits(digits.to_string()))?;
        let leg = self.leg_mut(slot);
        if leg.params.is_none() {
            return Err(MediaError::State("the leg has not negotiated media"));
        }
        match &mut leg.dtmf_tx {
            Some(tx) => {
                tx.set_gap(between);
                for d in parsed {
                    tx.queue(d, duration);
                }
            }
            None => {
                let rate = leg
                    .enc
                    .as_ref()
                    .map_or(codec_transcoder::SampleRate::Hz8000, |e| e.rate());
                leg.dtmf_tones = Some(Player::new(
                    PlaySource::DtmfTones {
                        digits: digits.to_string(),
                        on: duration,
                        off: between,
                    },
                    rate,
                )?);
                self.ensure_pipelines(slot);
            }
        }
        Ok(())
    }

    /// Packets a leg dropped, by reason.
    pub fn drops(&self, id: LegId) -> Result<crate::Drops, MediaError> {
        Ok(self.leg(self.slot(id)?).drops)
    }

    /// A leg's RTP statistics.
    pub fn statistics(&self, id: LegId) -> Result<RtpStatistics, MediaError> {
        Ok(self.leg(self.slot(id)?).statistics())
    }

    /// Destroys a leg (RTCP BYE, playbacks and recordings end) and releases its sockets.
    pub fn destroy(
        &mut self,
        id: LegId,
        sockets: &mut dyn SocketProvider,
    ) -> Result<RtpStatistics, MediaError> {
        let slot = self.slot(id)?;
        let mut leg = self.take(slot);
        leg.send_bye(&mut self.tx);
        sockets.close(leg.sockets);
        Ok(leg.statistics())
    }

    /// Takes a leg out (to move it to another worker): it leaves its bridge; playbacks and
    /// recordings travel with it.
    pub fn detach(&mut self, id: LegId) -> Result<DetachedLeg, MediaError> {
        let slot = self.slot(id)?;
        if let Some(b) = self.leg(slot).bridge {
            self.leave(b, slot);
        }
        let leg = self.remove_leg(slot);
        Ok(DetachedLeg(leg))
    }

    /// Takes in a leg detached elsewhere.
    pub fn attach(&mut self, leg: DetachedLeg) -> Result<(), MediaError> {
        let mut leg = leg.0;
        if self.by_id.contains_key(&leg.id) {
            return Err(MediaError::LegExists(leg.id));
        }
        leg.bridge = None;
        leg.peer = None;
        leg.route = Route::None;
        let playbacks: Vec<PlaybackId> = leg
            .playback
            .iter()
            .chain(leg.playback_queue.iter())
            .map(|(p, _)| *p)
            .collect();
        let recordings: Vec<RecordingId> = leg.recordings.iter().map(|r| r.id).collect();
        let slot = self.insert_leg(leg);
        for p in playbacks {
            self.playbacks.insert(p, slot);
        }
        for r in recordings {
            self.recordings.insert(r, slot);
        }
        self.ensure_pipelines(slot);
        Ok(())
    }

    /// Removes a leg from everything and reports its playbacks and recordings as ended.
    fn take(&mut self, slot: usize) -> Box<Leg> {
        if let Some(b) = self.leg(slot).bridge {
            self.leave(b, slot);
        }
        let mut leg = self.remove_leg(slot);
        let id = leg.id;
        for (p, _) in leg
            .playback
            .take()
            .into_iter()
            .chain(leg.playback_queue.drain(..))
        {
            self.event_scratch.push(MediaEvent::PlaybackFinished {
                leg: id,
                playback: p,
                stopped: true,
            });
        }
        for r in leg.recordings.drain(..) {
            self.event_scratch.push(MediaEvent::RecordingStopped {
                recording: r.id,
                samples: r.samples,
            });
        }
        self.flush_events();
        leg
    }
}
