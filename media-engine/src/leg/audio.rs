//! A leg's decoded-media pipelines: jitter buffer → decoder (with PLC and RFC 3389 comfort
//! noise) → 20 ms frames; and 20 ms frames at any rate → resampler → encoder → RTP packets.

use std::time::Instant;

use codec_transcoder::{AudioDecoder, AudioEncoder, Codec, EncoderConfig, Resampler, SampleRate};

use super::Leg;
use crate::{Pt, jitter::JitterBuffer, jitter::Pop, rtp, tx::TxQueue};

/// Tick length: every decoded leg yields 20 ms per tick.
pub(crate) const FRAME_MS: u32 = 20;

/// Jitter buffer, decoder and comfort noise of one leg.
#[derive(Debug)]
pub(crate) struct Decode {
    pub(crate) jb: JitterBuffer,
    decoder: AudioDecoder,
    clock_rate: u32,
    cn_pt: Option<u8>,
    /// Comfort noise level in −dBov while the sender is silent (RFC 3389 §3).
    cn_level: Option<u8>,
    noise_seed: u32,
    fifo: Vec<i16>,
    scratch: Vec<i16>,
}

impl Decode {
    pub(crate) fn new(
        codec: Codec,
        rate: SampleRate,
        cn_pt: Option<Pt>,
        ptime: u32,
        jitter: (std::time::Duration, std::time::Duration),
    ) -> Result<Self, codec_transcoder::Error> {
        let clock_rate = codec.rtp_clock_rate();
        Ok(Self {
            jb: JitterBuffer::new(clock_rate, ptime, jitter.0, jitter.1),
            decoder: AudioDecoder::with_rate(codec, rate)?,
            clock_rate,
            cn_pt: cn_pt.map(|p| p.0),
            cn_level: None,
            noise_seed: 0x1234_5678,
            fifo: Vec::with_capacity(rate.samples_in_ms(2 * 120)),
            scratch: Vec::with_capacity(rate.samples_in_ms(120)),
        })
    }

    /// The output rate.
    pub(crate) fn rate(&self) -> SampleRate {
        self.decoder.rate()
    }

    pub(crate) fn codec(&self) -> Codec {
        self.decoder.codec()
    }

    /// Appends this tick's 20 ms.
    pub(crate) fn pull(&mut self, now: Instant, out: &mut Vec<i16>) {
        let rate = self.decoder.rate();
        let need = rate.samples_in_ms(FRAME_MS);
        // Each packet yields at least 2.5 ms; bound the loop in any case.
        for _ in 0..16 {
            if self.fifo.len() >= need {
                break;
            }
            self.scratch.clear();
            match self.jb.pop(now) {
                Pop::Packet { payload, pt, .. } if Some(pt) == self.cn_pt => {
                    // RFC 3389 §3: the first byte is the noise level in −dBov.
                    self.cn_level = Some(payload.first().copied().unwrap_or(127) & 0x7f);
                    let n = samples(self.jb.frame(), self.clock_rate, rate);
                    self.noise(n);
                }
                Pop::Packet { payload, .. } => {
                    self.cn_level = None;
                    if self.decoder.decode(payload, &mut self.scratch).is_err() {
                        let n = samples(self.jb.frame(), self.clock_rate, rate);
                        self.scratch.clear();
                        let _ = self.decoder.conceal(n, &mut self.scratch);
                    }
                }
                Pop::Lost { duration } => {
                    let n = samples(duration, self.clock_rate, rate);
                    if self.cn_level.is_some() {
                        self.noise(n);
                    } else if self.decoder.conceal(n, &mut self.scratch).is_err() {
                        self.scratch.resize(n, 0);
                    }
                }
                Pop::Waiting => {
                    let n = need - self.fifo.len();
                    if self.cn_level.is_some() {
                        self.noise(n);
                    } else {
                        self.scratch.resize(n, 0);
                    }
                }
            }
            self.fifo.extend_from_slice(&self.scratch);
        }
        let n = need.min(self.fifo.len());
        out.extend(self.fifo.drain(..n));
        out.resize(out.len() + need - n, 0);
    }

    fn noise(&mut self, n: usize) {
        // White noise at the signalled level: −dBov relative to a full-scale square wave.
        let level = self.cn_level.unwrap_or(127);
        let rms = 32767.0 * 10f32.powf(-f32::from(level) / 20.0);
        let amp = rms * 3f32.sqrt(); // uniform in [-a, a] has rms a/√3
        for _ in 0..n {
            self.noise_seed ^= self.noise_seed << 13;
            self.noise_seed ^= self.noise_seed >> 17;
            self.noise_seed ^= self.noise_seed << 5;
            let u = (self.noise_seed as f32 / u32::MAX as f32) * 2.0 - 1.0;
            self.scratch.push((u * amp) as i16);
        }
    }
}

/// Samples at `rate` in `units` of a `clock`-Hz RTP clock (G.722: 8000 clock, 16 kHz audio).
fn samples(units: u32, clock: u32, rate: SampleRate) -> usize {
    (u64::from(units) * u64::from(rate.hz()) / u64::from(clock.max(1))) as usize
}

/// Resamplers and encoder of one leg.
#[derive(Debug)]
pub(crate) struct Encode {
    encoder: AudioEncoder,
    pt: Pt,
    clock_rate: u32,
    /// Samples per packet at the encoder's rate.
    frame: usize,
    resamplers: Vec<Resampler>,
    pending: Vec<i16>,
    resampled: Vec<i16>,
    payload: Vec<u8>,
}

impl Encode {
    pub(crate) fn new(
        codec: Codec,
        rate: SampleRate,
        pt: Pt,
        ptime: u32,
        config: &EncoderConfig,
    ) -> Result<Self, codec_transcoder::Error> {
        let encoder = AudioEncoder::with_rate(codec, rate, config)?;
        Ok(Self {
            encoder,
            pt,
            clock_rate: codec.rtp_clock_rate(),
            frame: rate.samples_in_ms(ptime.max(10)),
            resamplers: Vec::new(),
            pending: Vec::with_capacity(rate.samples_in_ms(2 * 120)),
            resampled: Vec::with_capacity(rate.samples_in_ms(120)),
            payload: Vec::with_capacity(1500),
        })
    }

    /// The encoder's input rate.
    pub(crate) fn rate(&self) -> SampleRate {
        self.encoder.rate()
    }

    pub(crate) fn codec(&self) -> Codec {
        self.encoder.codec()
    }

    /// Queues audio at `rate`, resampling when it differs from the encoder's.
    pub(crate) fn push(&mut self, pcm: &[i16], rate: SampleRate) {
        let own = self.encoder.rate();
        if rate == own {
            self.pending.extend_from_slice(pcm);
            return;
        }
        let i = match self.resamplers.iter().position(|r| r.from_rate() == rate) {
            Some(i) => i,
            None => match Resampler::new(rate, own) {
                Ok(r) => {
                    self.resamplers.push(r);
                    self.resamplers.len() - 1
                }
                Err(_) => return,
            },
        };
        self.resampled.clear();
        if self.resamplers[i].process(pcm, &mut self.resampled).is_ok() {
            self.pending.extend_from_slice(&self.resampled);
        }
    }

    /// Drops queued audio (a playback or DTMF took over).
    pub(crate) fn flush(&mut self) {
        self.pending.clear();
    }

    /// Encodes the next whole packet, if one is queued: `(payload, clock units)`.
    fn next_payload(&mut self) -> Option<(&[u8], u32)> {
        if self.pending.len() < self.frame {
            return None;
        }
        self.payload.clear();
        let ok = self
            .encoder
            .encode(&self.pending[..self.frame], &mut self.payload)
            .is_ok();
        self.pending.drain(..self.frame);
        let units = (self.frame as u64 * u64::from(self.clock_rate)
            / u64::from(self.encoder.rate().hz())) as u32;
        ok.then_some((&self.payload[..], units))
    }
}

impl Leg {
    /// Encodes and sends whatever whole packets the encoder has queued.
    pub(crate) fn send_encoded(&mut self, now: Instant, tx: &mut TxQueue) {
        let Some(to) = self.rtp_destination() else {
            return;
        };
        let can_send = self.can_send();
        let Some(enc) = &mut self.enc else {
            return;
        };
        let pt = enc.pt;
        while let Some((payload, units)) = enc.next_payload() {
            if !can_send {
                continue;
            }
            let (seq, ts, marker) = self.out.next_local(now, units);
            let buf = tx.next_buf();
            buf.resize(rtp::HEADER_LEN, 0);
            rtp::write_header(buf, marker, pt, seq, ts, self.out.ssrc());
            buf.extend_from_slice(payload);
            let len = buf.len();
            if let Some(ctx) = &mut self.srtp_out
                && ctx.protect_rtp(buf).is_err()
            {
                continue;
            }
            self.out.local_sent(now, seq, ts, len);
            tx.commit(self.sockets.rtp, to);
        }
    }
}

impl Leg {
    /// Sends one RFC 4733 packet.
    pub(crate) fn send_event(
        &mut self,
        now: Instant,
        packet: crate::dtmf::EventPacket,
        tx: &mut TxQueue,
    ) {
        let Some((pt, _)) = self.params.as_ref().and_then(|p| p.telephone_event) else {
            return;
        };
        if !self.can_send() {
            return;
        }
        let Some(to) = self.rtp_destination() else {
            return;
        };
        let (seq, ts) = self.out.next_event(now, packet.marker);
        let buf = tx.next_buf();
        buf.resize(rtp::HEADER_LEN, 0);
        rtp::write_header(buf, packet.marker, pt, seq, ts, self.out.ssrc());
        buf.extend_from_slice(&packet.payload.to_bytes());
        let len = buf.len();
        if let Some(ctx) = &mut self.srtp_out
            && ctx.protect_rtp(buf).is_err()
        {
            return;
        }
        self.out.local_sent(now, seq, ts, len);
        tx.commit(self.sockets.rtp, to);
    }
}
