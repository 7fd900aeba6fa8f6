//! The 20 ms tick: decoded legs yield a frame, DTMF and timeouts are checked, then every
//! leg that encodes sends (RFC 4733 events, DTMF tones, playback, transcoded audio),
//! recordings take their frames, and RTCP reports go out when due.

use std::time::Instant;

use codec_transcoder::{Resampler, SampleRate};

use super::MediaCore;
use crate::{
    command::{MediaEvent, RecordDirection, Target},
    leg::{Leg, Recording, Route},
};

impl MediaCore {
    pub(super) fn tick(&mut self, now: Instant) {
        for slot in 0..self.legs.len() {
            if self.legs[slot].is_some() {
                self.receive_tick(now, slot);
            }
        }
        self.mix_bridges();
        for slot in 0..self.legs.len() {
            if self.legs[slot].is_some() {
                self.send_tick(now, slot);
            }
        }
        self.flush_events();
    }

    fn receive_tick(&mut self, now: Instant, slot: usize) {
        let leg = self.legs[slot]
            .as_deref_mut()
            .expect("checked by the caller");
        leg.rx_frame.clear();
        leg.tx_frame.clear();
        leg.tx_frame_rate = None;
        if let Some(src) = &mut leg.snoop {
            src.next_frame(&mut leg.rx_frame);
        } else if let Some(dec) = &mut leg.dec {
            dec.pull(now, &mut leg.rx_frame);
        }
        let mut prune = false;
        if let Some(rate) = leg.rx_rate() {
            if leg.mute_in {
                leg.rx_frame.iter_mut().for_each(|x| *x = 0);
            }
            // Snoops hear what came in, then whisper into it.
            for tap in &mut leg.taps {
                tap.begin_tick(&leg.rx_frame, Some(rate));
                tap.whisper_in(&mut leg.rx_frame, rate);
                prune |= tap.is_closed();
            }
            if let Some(t) = &mut leg.talk {
                let energy: u64 = leg
                    .rx_frame
                    .iter()
                    .map(|&x| (i32::from(x) * i32::from(x)) as u64)
                    .sum();
                match t.update(conference_mixer::level_dbfs(energy, leg.rx_frame.len())) {
                    Some(conference_mixer::TalkUpdate::Started) => {
                        self.event_scratch
                            .push(MediaEvent::TalkingStarted { leg: leg.id });
                    }
                    Some(conference_mixer::TalkUpdate::Finished { duration_ms }) => {
                        self.event_scratch.push(MediaEvent::TalkingFinished {
                            leg: leg.id,
                            duration: std::time::Duration::from_millis(duration_ms),
                        });
                    }
                    None => {}
                }
            }
        } else {
            for tap in &mut leg.taps {
                tap.begin_tick(&[], None);
                prune |= tap.is_closed();
            }
        }
        if let Some(rx) = &mut leg.dtmf_rx {
            rx.handle_timeout(now);
        }
        leg.drain_dtmf(&mut self.event_scratch, &mut self.dtmf_scratch);
        check_timeout(now, leg, &mut self.event_scratch);
        let peer = leg.peer;
        if let Some(p) = peer
            && !self.dtmf_scratch.is_empty()
        {
            self.translate_dtmf(slot, p);
        }
        self.dtmf_scratch.clear();
        self.inband_events(slot);
        if prune {
            self.prune_taps(slot);
        }
    }

    fn send_tick(&mut self, now: Instant, slot: usize) {
        let peer = self.leg(slot).peer;
        let mut rerun_pipelines = false;
        // Borrow the peer's decoded frame when transcoding (or recording what we relay).
        let (leg, peer_frame) = match peer {
            Some(p) => {
                let (l, pl) = super::pair_mut(&mut self.legs, slot, p);
                let frame = pl.rx_rate().map(|r| (pl.rx_frame.as_slice(), r));
                (l, frame.filter(|(f, _)| !f.is_empty()))
            }
            None => (self.legs[slot].as_deref_mut().expect("occupied"), None),
        };
        let in_event = leg.dtmf_tx.as_ref().is_some_and(|d| d.is_active());
        if in_event {
            if let Some(p) = leg.dtmf_tx.as_mut().and_then(|d| d.next_packet()) {
                leg.send_event(now, p, &mut self.tx);
            }
            if let Some(enc) = &mut leg.enc {
                enc.flush();
            }
        } else {
            let mut rate = None;
            if let Some(p) = &mut leg.dtmf_tones {
                rate = Some(p.rate());
                if !p.next_frame(&mut leg.tx_frame) {
                    leg.dtmf_tones = None;
                    rate = None;
                    rerun_pipelines = true;
                }
            }
            if rate.is_none()
                && let Some((id, p)) = &mut leg.playback
            {
                rate = Some(p.rate());
                if !p.next_frame(&mut leg.tx_frame) {
                    self.event_scratch.push(MediaEvent::PlaybackFinished {
                        target: Target::Leg(leg.id),
                        playback: *id,
                        stopped: false,
                    });
                    self.playbacks.remove(id);
                    leg.playback = leg.playback_queue.pop_front();
                    if let Some((next, _)) = &leg.playback {
                        self.event_scratch.push(MediaEvent::PlaybackStarted {
                            target: Target::Leg(leg.id),
                            playback: *next,
                        });
                    }
                    rate = None;
                    rerun_pipelines = true;
                }
            }
            if rate.is_none() && leg.route == Route::Mix && !leg.mix_out.is_empty() {
                // The bridge's mixer: this leg's mix-minus.
                leg.tx_frame.extend_from_slice(&leg.mix_out);
                rate = leg.rx_rate();
            }
            if rate.is_none()
                && let Some((frame, r)) = peer_frame
            {
                // Transcoding: the peer's audio; relaying: only kept for recordings.
                leg.tx_frame.extend_from_slice(frame);
                if leg.route == Route::Transcode {
                    rate = Some(r);
                } else {
                    leg.tx_frame_rate = Some(r);
                }
            }
            // Snoops hear what goes out, then whisper into it.
            for tap in &mut leg.taps {
                rate = tap.end_tick(&mut leg.tx_frame, rate);
            }
            if let (Some(r), Some(enc)) = (rate, &mut leg.enc) {
                enc.push(&leg.tx_frame, r);
                leg.tx_frame_rate = Some(r);
                leg.send_encoded(now, &mut self.tx);
            }
            // A snoop's "sent" audio is whispered into the leg it snoops on.
            if let (Some(r), Some(src)) = (rate, &mut leg.snoop) {
                src.whisper(&leg.tx_frame, r);
                leg.tx_frame_rate = Some(r);
            }
        }
        record(leg);
        leg.poll_rtcp(now, &self.ntp, &mut self.tx);
        if rerun_pipelines {
            self.ensure_pipelines(slot);
        }
    }
}

fn check_timeout(now: Instant, leg: &mut Leg, events: &mut Vec<MediaEvent>) {
    let Some(params) = &leg.params else {
        return;
    };
    if leg.timed_out {
        return;
    }
    // They send when we receive; otherwise they hold us (Asterisk rtpholdtimeout).
    let limit = if params.direction.receives() {
        leg.config.rtp_timeout
    } else {
        leg.config.hold_timeout
    };
    let Some(limit) = limit else {
        return;
    };
    let since = leg.last_rx.or(leg.media_since).unwrap_or(leg.created);
    let silent = now.saturating_duration_since(since);
    if silent >= limit {
        leg.timed_out = true;
        events.push(MediaEvent::Timeout {
            leg: leg.id,
            silent_for: silent,
        });
    }
}

/// Feeds this tick's frames to the leg's recordings.
fn record(leg: &mut Leg) {
    if leg.recordings.is_empty() {
        return;
    }
    let rx_rate = leg.rx_rate();
    let tx_rate = leg.tx_frame_rate;
    let mut mixed: Vec<i16> = Vec::new();
    let mut other: Vec<i16> = Vec::new();
    for rec in &mut leg.recordings {
        if rec.paused {
            continue;
        }
        mixed.clear();
        let sink_rate = rec.sink.rate();
        let parts: [(&[i16], Option<SampleRate>, bool); 2] = [
            (
                &leg.rx_frame,
                rx_rate,
                rec.direction != RecordDirection::Out,
            ),
            (&leg.tx_frame, tx_rate, rec.direction != RecordDirection::In),
        ];
        for (i, (frame, rate, wanted)) in parts.into_iter().enumerate() {
            let Some(rate) = rate.filter(|_| wanted && !frame.is_empty()) else {
                continue;
            };
            other.clear();
            convert(rec, i, frame, rate, sink_rate, &mut other);
            if mixed.is_empty() {
                mixed.extend_from_slice(&other);
            } else {
                for (m, o) in mixed.iter_mut().zip(&other) {
                    *m = m.saturating_add(*o);
                }
            }
        }
        if rec.muted {
            mixed.clear();
        }
        if mixed.is_empty() {
            // Nothing decoded this tick (not negotiated yet, on hold, muted): keep the timeline.
            mixed.resize(sink_rate.samples_in_ms(20), 0);
        }
        rec.samples += mixed.len() as u64;
        rec.sink.push(&mixed);
    }
}

/// Resamples `frame` for a recording; resampler `i` serves direction `i` (0 in, 1 out).
fn convert(
    rec: &mut Recording,
    i: usize,
    frame: &[i16],
    rate: SampleRate,
    sink_rate: SampleRate,
    out: &mut Vec<i16>,
) {
    if rate == sink_rate {
        out.extend_from_slice(frame);
        return;
    }
    let r = &mut rec.resamplers[i];
    if r.as_ref().is_none_or(|r| r.from_rate() != rate) {
        *r = Resampler::new(rate, sink_rate).ok();
    }
    if let Some(r) = r {
        let _ = r.process(frame, out);
    }
}
