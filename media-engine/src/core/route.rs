//! How bridged legs reach each other: relay when the codecs match, transcode when they do
//! not; which legs decode or encode (and at what rate); DTMF relayed or translated.

use std::time::{Duration, Instant};

use codec_transcoder::{AudioDecoder, Codec, EncoderConfig, SampleRate};

use super::MediaCore;
use crate::{
    command::RecordDirection,
    dtmf::{DtmfUpdate, convert_units},
    inband::InbandDetector,
    leg::{Decode, Encode, Received, Route},
    playback::{PlaySource, Player},
    rtp::RtpHeader,
    stream::Source,
};

/// The rate a codec's audio is naturally handled at (Opus: full band).
pub(super) fn natural(codec: Codec) -> SampleRate {
    match codec {
        Codec::Opus => SampleRate::Hz48000,
        c => c.audio_rate(),
    }
}

/// Opus legs decode and encode at their peer's rate when transcoding (PCMU ↔ Opus then needs
/// no resampler: libopus works at 8 kHz natively), else at 16 kHz (prompts, recordings).
pub(super) fn working_rate(codec: Codec, peer: Option<Codec>) -> SampleRate {
    match (codec, peer) {
        (Codec::Opus, Some(p)) if p != Codec::Opus => natural(p),
        (Codec::Opus, Some(_)) => SampleRate::Hz48000,
        (Codec::Opus, None) => SampleRate::Hz16000,
        (c, _) => c.audio_rate(),
    }
}

impl MediaCore {
    /// Re-routes whatever bridge the leg is in (after a renegotiation), or just its pipelines.
    pub(super) fn reroute_leg(&mut self, slot: usize) {
        match self.leg(slot).bridge {
            Some(b) => self.reroute(b),
            None => self.ensure_pipelines(slot),
        }
    }

    /// Creates or drops a leg's decoder and encoder to match what it needs now.
    pub(super) fn ensure_pipelines(&mut self, slot: usize) {
        let peer = self.leg(slot).peer;
        let peer_codec = peer.and_then(|p| self.leg(p).params.as_ref().map(|x| x.codec));
        let peer_records_out = peer.is_some_and(|p| {
            self.leg(p)
                .recordings
                .iter()
                .any(|r| r.direction != RecordDirection::In)
        });
        let leg = self.leg_mut(slot);
        let Some(params) = leg.params.clone() else {
            leg.dec = None;
            leg.enc = None;
            return;
        };
        let transcoding = leg.route == Route::Transcode;
        let mixing = leg.route == Route::Mix;
        let wants_decode = transcoding
            || mixing
            || leg.talk.is_some()
            || leg.taps.iter().any(|t| t.needs_decode())
            || peer_records_out
            || leg
                .recordings
                .iter()
                .any(|r| r.direction != RecordDirection::Out);
        let wants_encode = transcoding
            || mixing
            || leg.playback.is_some()
            || leg.dtmf_tones.is_some()
            || leg.taps.iter().any(|t| t.needs_encode());
        let peer_for_rate = if transcoding { peer_codec } else { None };
        let rate = if mixing {
            natural(params.codec)
        } else {
            working_rate(params.codec, peer_for_rate)
        };
        if wants_decode {
            let stale = leg
                .dec
                .as_ref()
                .is_none_or(|d| d.rate() != rate || d.codec() != params.codec);
            if stale {
                leg.dec = Decode::new(
                    params.codec,
                    rate,
                    params.comfort_noise,
                    params.ptime,
                    (leg.config.jitter_min, leg.config.jitter_max),
                )
                .ok()
                .map(Box::new);
            }
        } else {
            leg.dec = None;
        }
        if wants_encode {
            let stale = leg
                .enc
                .as_ref()
                .is_none_or(|e| e.rate() != rate || e.codec() != params.codec);
            if stale {
                leg.enc = Encode::new(
                    params.codec,
                    rate,
                    params.pt,
                    params.ptime,
                    &EncoderConfig::default(),
                )
                .ok()
                .map(Box::new);
            }
        } else {
            leg.enc = None;
        }
        // In-band DTMF: from the decoded frames when the leg decodes anyway, else from a
        // decoder of its own on the receive path.
        let inband_rate = match (&leg.dec, leg.wants_inband()) {
            (Some(d), true) => {
                leg.inband_decoder = None;
                Some(d.rate())
            }
            (None, true) => {
                let rate = working_rate(params.codec, None);
                if leg
                    .inband_decoder
                    .as_ref()
                    .is_none_or(|d| d.0.codec() != params.codec)
                {
                    leg.inband_decoder = AudioDecoder::with_rate(params.codec, rate)
                        .ok()
                        .map(|d| Box::new((d, Vec::new())));
                }
                leg.inband_decoder.as_ref().map(|_| rate)
            }
            _ => {
                leg.inband_decoder = None;
                None
            }
        };
        match inband_rate {
            Some(r) if leg.inband_rx.as_ref().is_none_or(|i| i.rate() != r.hz()) => {
                leg.inband_rx = Some(InbandDetector::new(r.hz()));
            }
            Some(_) => {}
            None => leg.inband_rx = None,
        }
    }

    /// Whether RFC 4733 packets can pass between the two legs unchanged (same clock rate).
    pub(super) fn events_relayable(&self, a: usize, b: usize) -> bool {
        let te = |s: usize| {
            self.leg(s)
                .params
                .as_ref()
                .and_then(|p| p.telephone_event)
                .map(|(_, rate)| rate)
        };
        matches!((te(a), te(b)), (Some(x), Some(y)) if x == y)
    }

    /// Forwards one packet from leg `from` to leg `to`, rewritten for `to`'s stream.
    pub(super) fn relay(
        &mut self,
        now: Instant,
        from: usize,
        to: usize,
        header: RtpHeader,
        packet: &[u8],
        kind: Received,
    ) {
        let source = Source::Relay {
            leg: ((from as u64) << 32) | (self.leg(from).source_gen & 0xffff_ffff),
            ssrc: header.ssrc,
        };
        let target = self.legs[to]
            .as_deref_mut()
            .expect("peer slots are occupied");
        let busy = target.playback.is_some()
            || target.dtmf_tones.is_some()
            || target.dtmf_tx.as_ref().is_some_and(|d| d.is_active());
        if busy || !target.can_send() {
            return;
        }
        let Some(params) = &target.params else {
            return;
        };
        let pt = match kind {
            Received::Audio { .. } => params.pt,
            Received::Event { .. } => match params.telephone_event {
                Some((pt, _)) => pt,
                None => return,
            },
            Received::ComfortNoise { .. } => match params.comfort_noise {
                Some(pt) => pt,
                None => return, // the far end did not agree to CN: it conceals instead
            },
            Received::Dropped => return,
        };
        let Some(dest) = target.rtp_destination() else {
            return;
        };
        let buf = self.tx.next_buf();
        buf.extend_from_slice(packet);
        target
            .out
            .relay(now, source, buf, header.sequence, header.timestamp, pt);
        if let Some(ctx) = &mut target.srtp_out
            && ctx.protect_rtp(buf).is_err()
        {
            return;
        }
        self.tx.commit(target.sockets.rtp, dest);
        self.stats.relayed += 1;
    }

    /// Carries DTMF received on `from` over to `to` when the events cannot be relayed as they
    /// are: re-timed RFC 4733 events at the other clock rate, or tones when `to` has no
    /// telephone-event.
    pub(super) fn translate_dtmf(&mut self, from: usize, to: usize) {
        let relayed = self.leg(from).route == Route::Relay && self.events_relayable(from, to);
        if relayed {
            return;
        }
        let from_rate = self
            .leg(from)
            .dtmf_rx
            .as_ref()
            .map_or(8000, |r| r.clock_rate());
        let updates: Vec<DtmfUpdate> = self.dtmf_scratch.clone();
        let target = self.leg_mut(to);
        let mut needs_encoder = false;
        for u in updates {
            match (&mut target.dtmf_tx, u) {
                (Some(tx), DtmfUpdate::Begin(d)) => tx.begin(d),
                (Some(tx), DtmfUpdate::End { duration, .. }) => {
                    let rate = tx.clock_rate();
                    tx.end(convert_units(duration, from_rate, rate));
                }
                (None, DtmfUpdate::End { digit, duration }) => {
                    let ms = u64::from(duration) * 1000 / u64::from(from_rate.max(1));
                    let rate = target.enc.as_ref().map_or(SampleRate::Hz8000, |e| e.rate());
                    if let Ok(p) = Player::new(
                        PlaySource::DtmfTones {
                            digits: digit.as_char().to_string(),
                            on: Duration::from_millis(ms.clamp(60, 500)),
                            off: Duration::from_millis(40),
                        },
                        rate,
                    ) {
                        target.dtmf_tones = Some(p);
                        needs_encoder = true;
                    }
                }
                (None, DtmfUpdate::Begin(_)) => {}
            }
        }
        if needs_encoder {
            self.ensure_pipelines(to);
        }
    }

    /// Inband digits detected in `slot`'s decoded audio become events.
    pub(super) fn inband_events(&mut self, slot: usize) {
        let leg = self.legs[slot].as_deref_mut().expect("occupied");
        if leg.dec.is_none() {
            return; // detected on the receive path instead
        }
        if let Some(det) = &mut leg.inband_rx {
            det.process(&leg.rx_frame);
        }
        leg.drain_inband(&mut self.event_scratch);
    }
}
