//! decode → (resample) → encode for one direction of one stream.

use std::time::Duration;

use crate::{AudioDecoder, AudioEncoder, Codec, EncoderConfig, Error, Resampler, SampleRate};

/// How a [`Transcoder`] encodes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TranscoderConfig {
    /// Duration of each output packet in milliseconds (the far end's `ptime`). Default 20.
    pub ptime_ms: u32,
    /// Encoder settings.
    pub encoder: EncoderConfig,
    /// The rate the Opus side runs at. `None` (the default) runs libopus at the other codec's
    /// rate, so that PCMU ↔ Opus needs no resampler at all (libopus encodes from and decodes to
    /// 8 kHz natively); `Some(rate)` forces it.
    pub opus_rate: Option<SampleRate>,
}

impl Default for TranscoderConfig {
    fn default() -> Self {
        Self {
            ptime_ms: 20,
            encoder: EncoderConfig::default(),
            opus_rate: None,
        }
    }
}

/// Transcodes one stream from one codec to another, keeping all per-stream state (decoder,
/// concealment, resampler, encoder, partial frames).
///
/// Feed payloads with [`push`](Self::push) (or [`push_lost`](Self::push_lost) for a missing
/// packet), then drain encoded packets with [`poll_packet`](Self::poll_packet). Input and
/// output packet durations may differ; whole output frames are emitted as soon as they are
/// complete.
#[derive(Debug)]
pub struct Transcoder {
    decoder: AudioDecoder,
    resampler: Option<Resampler>,
    encoder: AudioEncoder,
    frame: usize,
    decoded: Vec<i16>,
    pending: Vec<i16>,
    read: usize,
}

impl Transcoder {
    /// A transcoder from `from` to `to`.
    pub fn new(from: Codec, to: Codec, config: &TranscoderConfig) -> Result<Self, Error> {
        let (decode_rate, encode_rate) = match (from, to) {
            (Codec::Opus, Codec::Opus) => {
                let r = config.opus_rate.unwrap_or(SampleRate::Hz48000);
                (r, r)
            }
            (Codec::Opus, _) => (
                config.opus_rate.unwrap_or_else(|| to.audio_rate()),
                to.audio_rate(),
            ),
            (_, Codec::Opus) => (
                from.audio_rate(),
                config.opus_rate.unwrap_or_else(|| from.audio_rate()),
            ),
            _ => (from.audio_rate(), to.audio_rate()),
        };
        let decoder = AudioDecoder::with_rate(from, decode_rate)?;
        let encoder = AudioEncoder::with_rate(to, encode_rate, &config.encoder)?;
        let resampler = (decode_rate != encode_rate)
            .then(|| Resampler::new(decode_rate, encode_rate))
            .transpose()?;
        let frame = encode_rate.samples_in_ms(config.ptime_ms);
        if frame == 0 {
            return Err(Error::FrameSize {
                codec: to,
                samples: 0,
            });
        }
        Ok(Self {
            decoder,
            resampler,
            encoder,
            frame,
            decoded: Vec::with_capacity(SampleRate::Hz48000.samples_in_ms(120)),
            pending: Vec::with_capacity(4 * frame),
            read: 0,
        })
    }

    /// Source codec.
    pub fn from_codec(&self) -> Codec {
        self.decoder.codec()
    }

    /// Destination codec.
    pub fn to_codec(&self) -> Codec {
        self.encoder.codec()
    }

    /// Whether a resampler sits between decoder and encoder.
    pub fn resamples(&self) -> bool {
        self.resampler.is_some()
    }

    /// The delay the chain adds to the audio: decoder and encoder algorithmic delays plus the
    /// resampler's, excluding the wait for a whole output frame when input and output packet
    /// durations differ.
    pub fn added_delay(&self) -> Duration {
        fn at(samples: usize, rate: SampleRate) -> Duration {
            Duration::from_micros(samples as u64 * 1_000_000 / u64::from(rate.hz()))
        }
        let mut d = at(self.decoder.delay_samples(), self.decoder.rate())
            + at(self.encoder.delay_samples(), self.encoder.rate());
        if let Some(r) = &self.resampler {
            d += at(r.delay_samples(), r.to_rate());
        }
        d
    }

    /// Decodes one payload of the source codec into the pipeline.
    pub fn push(&mut self, payload: &[u8]) -> Result<(), Error> {
        self.decoded.clear();
        self.decoder.decode(payload, &mut self.decoded)?;
        self.forward()
    }

    /// Conceals a lost source packet of `samples` samples at the source codec's decode rate.
    pub fn push_lost(&mut self, samples: usize) -> Result<(), Error> {
        self.decoded.clear();
        self.decoder.conceal(samples, &mut self.decoded)?;
        self.forward()
    }

    fn forward(&mut self) -> Result<(), Error> {
        if self.read > 0 {
            self.pending.drain(..self.read);
            self.read = 0;
        }
        match &mut self.resampler {
            Some(r) => {
                r.process(&self.decoded, &mut self.pending)?;
            }
            None => self.pending.extend_from_slice(&self.decoded),
        }
        Ok(())
    }

    /// Encodes the next complete output frame, appending it to `out`. `Ok(None)` when less than
    /// a frame is buffered.
    pub fn poll_packet(&mut self, out: &mut Vec<u8>) -> Result<Option<usize>, Error> {
        if self.pending.len() - self.read < self.frame {
            return Ok(None);
        }
        let frame = &self.pending[self.read..self.read + self.frame];
        self.read += self.frame;
        self.encoder.encode(frame, out).map(Some)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tone(rate: SampleRate, n: usize) -> Vec<i16> {
        (0..n)
            .map(|i| {
                (6000.0
                    * (2.0 * std::f64::consts::PI * 440.0 * i as f64 / f64::from(rate.hz())).sin())
                    as i16
            })
            .collect()
    }

    #[test]
    fn every_pair_produces_whole_frames() {
        let codecs = [
            Codec::Pcmu,
            Codec::Pcma,
            Codec::G722,
            Codec::Opus,
            Codec::L16(SampleRate::Hz8000),
            Codec::L16(SampleRate::Hz16000),
            Codec::L16(SampleRate::Hz48000),
        ];
        for from in codecs {
            let mut enc = AudioEncoder::new(from, &EncoderConfig::default()).expect("encoder");
            let src = tone(from.audio_rate(), from.audio_rate().samples_in_ms(20));
            for to in codecs {
                let mut t = Transcoder::new(from, to, &TranscoderConfig::default()).expect("pair");
                let mut packets = 0;
                let mut out = Vec::new();
                for _ in 0..10 {
                    let mut payload = Vec::new();
                    enc.encode(&src, &mut payload).expect("encode");
                    t.push(&payload).expect("push");
                    while let Some(n) = t.poll_packet(&mut out).expect("poll") {
                        assert!(n > 0);
                        packets += 1;
                        out.clear();
                    }
                }
                // The resampler holds back 10 ms, so one frame may still be pending.
                assert!(
                    (9..=10).contains(&packets),
                    "{from:?} -> {to:?}: {packets} packets"
                );
            }
        }
    }

    #[test]
    fn pcmu_opus_needs_no_resampler_unless_forced() {
        let t =
            Transcoder::new(Codec::Pcmu, Codec::Opus, &TranscoderConfig::default()).expect("pair");
        assert!(!t.resamples());
        let forced = TranscoderConfig {
            opus_rate: Some(SampleRate::Hz48000),
            ..TranscoderConfig::default()
        };
        let t = Transcoder::new(Codec::Pcmu, Codec::Opus, &forced).expect("pair");
        assert!(t.resamples());
        assert!(t.added_delay() >= Duration::from_millis(10));
        let t =
            Transcoder::new(Codec::Pcmu, Codec::Pcma, &TranscoderConfig::default()).expect("pair");
        assert_eq!(t.added_delay(), Duration::ZERO);
    }

    #[test]
    fn garbage_is_an_error_and_the_stream_goes_on() {
        let mut t =
            Transcoder::new(Codec::Opus, Codec::Pcmu, &TranscoderConfig::default()).expect("pair");
        assert!(t.push(&[]).is_err());
        assert!(t.push(&[0x03]).is_err());
        t.push_lost(160).expect("conceal 20 ms at 8 kHz");
        let mut out = Vec::new();
        assert_eq!(t.poll_packet(&mut out).expect("poll"), Some(160));
    }
}
