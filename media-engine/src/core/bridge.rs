//! Bridges: two legs with a common codec are relayed, two with different codecs transcoded;
//! three or more, a holding bridge, or a bridge with a playback or recording of its own go
//! through the conference mixer.

use std::collections::VecDeque;

use codec_transcoder::{Resampler, SampleRate};
use conference_mixer::{Mixer, MixerConfig, ParticipantId, ParticipantOptions};

use super::MediaCore;
use crate::{
    command::{
        BridgeId, BridgeKind, LegId, MediaError, MediaEvent, PlaybackId, RecordingId, Target,
    },
    leg::Route,
    playback::Player,
    record::RecordingSink,
};

/// A recording of a bridge's full mix.
#[derive(Debug)]
pub(super) struct BridgeRecording {
    pub(super) id: RecordingId,
    pub(super) sink: RecordingSink,
    pub(super) resampler: Option<Resampler>,
    pub(super) samples: u64,
    pub(super) paused: bool,
    pub(super) muted: bool,
}

/// One bridge.
#[derive(Debug)]
pub(super) struct Bridge {
    pub(super) kind: BridgeKind,
    pub(super) members: Vec<usize>,
    pub(super) mixer: Option<Box<Mixer>>,
    /// Mixer participant of each member slot.
    pub(super) participants: Vec<(usize, ParticipantId)>,
    pub(super) playback: Option<(PlaybackId, Player)>,
    pub(super) queue: VecDeque<(PlaybackId, Player)>,
    pub(super) recordings: Vec<BridgeRecording>,
    frame: Vec<i16>,
}

impl Bridge {
    pub(super) fn new(kind: BridgeKind) -> Self {
        Self {
            kind,
            members: Vec::new(),
            mixer: None,
            participants: Vec::new(),
            playback: None,
            queue: VecDeque::new(),
            recordings: Vec::new(),
            frame: Vec::new(),
        }
    }

    /// Whether the bridge needs the mixer.
    pub(super) fn mixing(&self) -> bool {
        self.members.len() >= 3
            || self.kind == BridgeKind::Holding
            || self.playback.is_some()
            || !self.recordings.is_empty()
    }
}

impl MediaCore {
    /// Recomputes how a bridge's legs reach each other after anything about it changed.
    pub(super) fn reroute(&mut self, id: BridgeId) {
        let Some(b) = self.bridges.get(&id) else {
            return;
        };
        let members = b.members.clone();
        let mixing = b.mixing();
        let holding = b.kind == BridgeKind::Holding;
        for &m in &members {
            let leg = self.leg_mut(m);
            leg.peer = None;
            leg.route = Route::None;
            leg.mix_out.clear();
        }
        if mixing {
            for &m in &members {
                let leg = self.leg_mut(m);
                if leg.has_media() {
                    leg.route = Route::Mix;
                    leg.out.reanchor();
                }
            }
        } else if let [a, c] = *members {
            let (la, lc) = self.pair_mut(a, c);
            la.peer = Some(c);
            lc.peer = Some(a);
            let same_codec = matches!(
                (&la.params, &lc.params),
                (Some(pa), Some(pc)) if pa.codec == pc.codec
            );
            let route = if !(la.has_media() && lc.has_media()) {
                Route::None
            } else if same_codec && la.relayable() && lc.relayable() {
                Route::Relay
            } else {
                Route::Transcode
            };
            // A new route or peer: relayed streams re-anchor on both sides.
            la.route = route;
            lc.route = route;
            la.out.reanchor();
            lc.out.reanchor();
        }
        for &m in &members {
            self.ensure_pipelines(m);
        }
        // The mixer's participants follow the members (rates as the legs now decode).
        let rates: Vec<(usize, Option<SampleRate>)> = members
            .iter()
            .map(|&m| (m, self.leg(m).rx_rate()))
            .collect();
        let b = self.bridges.get_mut(&id).expect("checked above");
        if !mixing {
            b.mixer = None;
            b.participants.clear();
            return;
        }
        let mixer = b
            .mixer
            .get_or_insert_with(|| Box::new(Mixer::new(MixerConfig::default())));
        let mut keep = Vec::new();
        for (slot, pid) in b.participants.drain(..) {
            let current = rates.iter().find(|(m, _)| *m == slot).and_then(|r| r.1);
            match current {
                // Still here at the same rate: keep (its state is warm).
                Some(r) if mixer.participant_rate(pid) == Some(r) => keep.push((slot, pid)),
                _ => mixer.remove(pid),
            }
        }
        for (slot, rate) in rates {
            if let Some(rate) = rate
                && !keep.iter().any(|(s, _)| *s == slot)
            {
                let pid = mixer.add(ParticipantOptions {
                    rate,
                    ..ParticipantOptions::default()
                });
                keep.push((slot, pid));
            }
        }
        for (_, pid) in &keep {
            mixer.set_muted(*pid, holding);
        }
        b.participants = keep;
        mixer.set_tap(!b.recordings.is_empty());
    }

    /// One tick of every mixing bridge: inputs (the members' decoded frames, the bridge's
    /// playback), the mix, recordings of the mix, and each member's output.
    pub(super) fn mix_bridges(&mut self) {
        let ids: Vec<BridgeId> = self
            .bridges
            .iter()
            .filter(|(_, b)| b.mixer.is_some())
            .map(|(id, _)| *id)
            .collect();
        for id in ids {
            let b = self.bridges.get_mut(&id).expect("listed above");
            let mixer = b.mixer.as_mut().expect("filtered");
            for &(slot, pid) in &b.participants {
                let Some(leg) = self.legs[slot].as_deref() else {
                    continue;
                };
                if !leg.rx_frame.is_empty() {
                    mixer.input(pid, &leg.rx_frame);
                }
            }
            // The bridge's own playback is heard by everyone.
            if let Some((pb, player)) = &mut b.playback {
                b.frame.clear();
                let rate = player.rate();
                if player.next_frame(&mut b.frame) {
                    mixer.announce(&b.frame, rate);
                } else {
                    self.event_scratch.push(MediaEvent::PlaybackFinished {
                        target: Target::Bridge(id),
                        playback: *pb,
                        stopped: false,
                    });
                    self.playbacks.remove(pb);
                    b.playback = b.queue.pop_front();
                    if let Some((next, _)) = &b.playback {
                        self.event_scratch.push(MediaEvent::PlaybackStarted {
                            target: Target::Bridge(id),
                            playback: *next,
                        });
                    }
                }
            }
            mixer.mix();
            let bridge_rate = mixer.rate();
            for r in &mut b.recordings {
                if r.paused {
                    continue;
                }
                let tap = mixer.tap();
                if r.muted {
                    let n = r.sink.rate().samples_in_ms(20);
                    b.frame.clear();
                    b.frame.resize(n, 0);
                    r.samples += n as u64;
                    r.sink.push(&b.frame);
                    continue;
                }
                let want = r.sink.rate();
                if want == bridge_rate {
                    r.samples += tap.len() as u64;
                    r.sink.push(tap);
                } else {
                    if r.resampler
                        .as_ref()
                        .is_none_or(|x| x.from_rate() != bridge_rate)
                    {
                        r.resampler = Resampler::new(bridge_rate, want).ok();
                    }
                    if let Some(rs) = &mut r.resampler {
                        b.frame.clear();
                        let _ = rs.process(tap, &mut b.frame);
                        r.samples += b.frame.len() as u64;
                        r.sink.push(&b.frame);
                    }
                }
            }
            for &(slot, pid) in &b.participants {
                let Some(leg) = self.legs[slot].as_deref_mut() else {
                    continue;
                };
                let out = mixer.output(pid);
                leg.mix_out.clear();
                leg.mix_out.extend_from_slice(out.samples);
            }
        }
    }
}

impl MediaCore {
    /// Adds legs to a bridge, creating it (of `kind`) on first use; a leg in another bridge
    /// leaves that one first.
    pub fn bridge(
        &mut self,
        bridge: BridgeId,
        kind: BridgeKind,
        legs: &[LegId],
    ) -> Result<(), MediaError> {
        let slots = legs
            .iter()
            .map(|l| self.slot(*l))
            .collect::<Result<Vec<_>, _>>()?;
        for &s in &slots {
            if let Some(old) = self.leg(s).bridge.filter(|b| *b != bridge) {
                self.leave(old, s);
            }
        }
        let b = self
            .bridges
            .entry(bridge)
            .or_insert_with(|| Bridge::new(kind));
        for &s in &slots {
            if !b.members.contains(&s) {
                b.members.push(s);
            }
        }
        for &s in &slots {
            self.leg_mut(s).bridge = Some(bridge);
        }
        self.reroute(bridge);
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

    pub(super) fn leave(&mut self, bridge: BridgeId, slot: usize) {
        let leg = self.leg_mut(slot);
        leg.bridge = None;
        leg.peer = None;
        leg.route = Route::None;
        leg.mix_out.clear();
        leg.out.reanchor();
        if let Some(b) = self.bridges.get_mut(&bridge) {
            b.members.retain(|s| *s != slot);
            if let (Some(m), Some(i)) = (
                &mut b.mixer,
                b.participants.iter().position(|(s, _)| *s == slot),
            ) {
                m.remove(b.participants[i].1);
                b.participants.remove(i);
            }
        }
        self.reroute(bridge);
        self.ensure_pipelines(slot);
    }

    /// Removes a bridge: its legs stay, unbridged; its playbacks and recordings end.
    pub fn destroy_bridge(&mut self, bridge: BridgeId) -> Result<(), MediaError> {
        let mut b = self
            .bridges
            .remove(&bridge)
            .ok_or(MediaError::UnknownBridge(bridge))?;
        for s in b.members.drain(..) {
            let leg = self.leg_mut(s);
            leg.bridge = None;
            leg.peer = None;
            leg.route = Route::None;
            leg.mix_out.clear();
            leg.out.reanchor();
            self.ensure_pipelines(s);
        }
        self.end_target_media(
            Target::Bridge(bridge),
            b.playback.take().into_iter().chain(b.queue.drain(..)),
            b.recordings.drain(..).map(|r| (r.id, r.samples)),
        );
        Ok(())
    }

    /// Reports a target's playbacks as stopped and its recordings as ended.
    pub(super) fn end_target_media(
        &mut self,
        target: Target,
        playbacks: impl Iterator<Item = (PlaybackId, Player)>,
        recordings: impl Iterator<Item = (RecordingId, u64)>,
    ) {
        for (p, _) in playbacks {
            self.playbacks.remove(&p);
            self.event_scratch.push(MediaEvent::PlaybackFinished {
                target,
                playback: p,
                stopped: true,
            });
        }
        for (r, samples) in recordings {
            self.recordings.remove(&r);
            self.event_scratch.push(MediaEvent::RecordingStopped {
                recording: r,
                samples,
            });
        }
        self.flush_events();
    }
}
