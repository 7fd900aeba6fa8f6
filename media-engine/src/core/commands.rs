//! Commands from the control plane.

use std::time::{Duration, Instant};

use super::{DetachedLeg, MediaCore, SocketProvider};
use crate::{
    command::{
        LegConfig, LegId, MediaCommand, MediaError, PlaybackId, RecordingId, RtpStatistics, Target,
    },
    dtmf::Digit,
    leg::{Leg, Route},
    playback::{PlaySource, Player},
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
                kind,
                legs,
                reply,
            } => reply.send(self.bridge(bridge, kind, &legs)),
            MediaCommand::Unbridge { leg, reply } => reply.send(self.unbridge(leg)),
            MediaCommand::DestroyBridge { bridge, reply } => {
                reply.send(self.destroy_bridge(bridge));
            }
            MediaCommand::Play {
                target,
                playback,
                source,
                reply,
            } => reply.send(self.play(target, playback, source)),
            MediaCommand::StopPlayback {
                target,
                playback,
                reply,
            } => reply.send(self.stop_playback(target, playback)),
            MediaCommand::Record {
                target,
                recording,
                direction,
                sink,
                reply,
            } => reply.send(self.record(target, recording, direction, sink)),
            MediaCommand::StopRecording {
                target,
                recording,
                reply,
            } => reply.send(self.stop_recording(target, recording)),
            MediaCommand::Echo { leg, on, reply } => reply.send(self.echo(leg, on)),
            MediaCommand::CreateSnoop {
                snoop,
                target,
                spy,
                whisper,
                reply,
            } => reply.send(self.create_snoop(now, snoop, target, spy, whisper)),
            MediaCommand::ControlPlayback {
                target,
                playback,
                op,
                reply,
            } => reply.send(self.control_playback(target, playback, op)),
            MediaCommand::ControlRecording {
                target,
                recording,
                paused,
                muted,
                reply,
            } => reply.send(self.control_recording(target, recording, paused, muted)),
            MediaCommand::Mute {
                leg,
                input,
                output,
                reply,
            } => reply.send(self.mute(leg, input, output)),
            MediaCommand::TalkDetect { leg, config, reply } => {
                reply.send(self.talk_detect(leg, config));
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
        let seed = self.seed();
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

    /// Mutes what a leg receives and/or what it is sent.
    pub fn mute(&mut self, id: LegId, input: bool, output: bool) -> Result<(), MediaError> {
        let slot = self.slot(id)?;
        let leg = self.leg_mut(slot);
        leg.mute_in = input;
        if leg.mute_out && !output {
            leg.out.reanchor();
        }
        leg.mute_out = output;
        Ok(())
    }

    /// Echoes a leg's media back to it (or stops).
    pub fn echo(&mut self, id: LegId, on: bool) -> Result<(), MediaError> {
        let slot = self.slot(id)?;
        let leg = self.leg_mut(slot);
        leg.echo = on;
        leg.out.reanchor();
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
        if leg.sockets.is_real() {
            sockets.close(leg.sockets);
        }
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
        let target = Target::Leg(leg.id);
        let slot = self.insert_leg(leg);
        for p in playbacks {
            self.playbacks.insert(p, target);
        }
        for r in recordings {
            self.recordings.insert(r, target);
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
        let playbacks: Vec<_> = leg
            .playback
            .take()
            .into_iter()
            .chain(leg.playback_queue.drain(..))
            .collect();
        let recordings: Vec<_> = leg
            .recordings
            .drain(..)
            .map(|r| (r.id, r.samples))
            .collect();
        self.end_target_media(
            Target::Leg(leg.id),
            playbacks.into_iter(),
            recordings.into_iter(),
        );
        leg
    }
}
