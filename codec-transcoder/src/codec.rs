//! One interface over every codec: [`Codec`], [`AudioDecoder`], [`AudioEncoder`].

use crate::{
    Error, g711, g722,
    opus::{OpusDecoder, OpusEncoder, OpusEncoderConfig},
    plc::Concealer,
};

/// The audio sample rates mediaplane decodes to, mixes at and encodes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SampleRate {
    /// 8 kHz: G.711, narrowband.
    Hz8000,
    /// 16 kHz: G.722, wideband.
    Hz16000,
    /// 24 kHz: Opus super-wideband.
    Hz24000,
    /// 48 kHz: Opus fullband, browsers.
    Hz48000,
}

impl SampleRate {
    /// All rates, lowest first.
    pub const ALL: [Self; 4] = [Self::Hz8000, Self::Hz16000, Self::Hz24000, Self::Hz48000];

    /// The rate in Hz.
    pub const fn hz(self) -> u32 {
        match self {
            Self::Hz8000 => 8_000,
            Self::Hz16000 => 16_000,
            Self::Hz24000 => 24_000,
            Self::Hz48000 => 48_000,
        }
    }

    /// The rate for `hz`, if it is one of ours.
    pub const fn from_hz(hz: u32) -> Option<Self> {
        match hz {
            8_000 => Some(Self::Hz8000),
            16_000 => Some(Self::Hz16000),
            24_000 => Some(Self::Hz24000),
            48_000 => Some(Self::Hz48000),
            _ => None,
        }
    }

    /// Samples in one millisecond.
    pub const fn samples_per_ms(self) -> usize {
        (self.hz() / 1000) as usize
    }

    /// Samples in `ms` milliseconds.
    pub const fn samples_in_ms(self, ms: u32) -> usize {
        self.samples_per_ms() * ms as usize
    }
}

/// An audio codec as negotiated in SDP.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Codec {
    /// G.711 µ-law (`PCMU/8000`).
    Pcmu,
    /// G.711 A-law (`PCMA/8000`).
    Pcma,
    /// G.722 at 64 kbit/s (`G722/8000`, 16 kHz audio).
    G722,
    /// Opus (`opus/48000/2`), decoded to mono.
    Opus,
    /// Linear 16-bit PCM, big-endian on the wire (`L16/<rate>`), mono.
    L16(SampleRate),
}

impl Codec {
    /// The rate of the audio the codec carries (G.722: 16 kHz; Opus: 48 kHz by default).
    pub const fn audio_rate(self) -> SampleRate {
        match self {
            Self::Pcmu | Self::Pcma => SampleRate::Hz8000,
            Self::G722 => SampleRate::Hz16000,
            Self::Opus => SampleRate::Hz48000,
            Self::L16(rate) => rate,
        }
    }

    /// The RTP clock rate, as in SDP's `a=rtpmap`: 8000 for G.722 (RFC 3551 §4.5.2) and 48000
    /// for Opus whatever its audio rate (RFC 7587 §4.1).
    pub const fn rtp_clock_rate(self) -> u32 {
        match self {
            Self::Pcmu | Self::Pcma => 8_000,
            Self::G722 => g722::RTP_CLOCK_RATE,
            Self::Opus => crate::opus::RTP_CLOCK_RATE,
            Self::L16(rate) => rate.hz(),
        }
    }

    /// RTP timestamp units for `samples` samples of audio at `rate`.
    pub const fn rtp_units(self, samples: usize, rate: SampleRate) -> u32 {
        (samples as u64 * self.rtp_clock_rate() as u64 / rate.hz() as u64) as u32
    }

    /// The encoding name used in SDP `a=rtpmap`.
    pub const fn encoding_name(self) -> &'static str {
        match self {
            Self::Pcmu => "PCMU",
            Self::Pcma => "PCMA",
            Self::G722 => "G722",
            Self::Opus => "opus",
            Self::L16(_) => "L16",
        }
    }

    /// Whether decoding and encoding can run at `rate` without a resampler.
    pub const fn runs_at(self, rate: SampleRate) -> bool {
        match self {
            Self::Opus => true,
            _ => self.audio_rate().hz() == rate.hz(),
        }
    }
}

/// Encoder settings for every codec that has any.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct EncoderConfig {
    /// Opus settings.
    pub opus: OpusEncoderConfig,
}

#[derive(Debug)]
enum DecoderKind {
    Pcmu,
    Pcma,
    G722(Box<g722::Decoder>),
    Opus(OpusDecoder),
    L16,
}

/// Decodes one stream of one codec to mono PCM, concealing lost packets.
#[derive(Debug)]
pub struct AudioDecoder {
    codec: Codec,
    rate: SampleRate,
    kind: DecoderKind,
    /// Waveform substitution for the codecs without their own PLC.
    plc: Option<Concealer>,
}

impl AudioDecoder {
    /// A decoder producing audio at the codec's own rate.
    pub fn new(codec: Codec) -> Result<Self, Error> {
        Self::with_rate(codec, codec.audio_rate())
    }

    /// A decoder producing audio at `rate`; only Opus can choose (8/16/24/48 kHz).
    pub fn with_rate(codec: Codec, rate: SampleRate) -> Result<Self, Error> {
        if !codec.runs_at(rate) {
            return Err(Error::UnsupportedRate { codec, rate });
        }
        let kind = match codec {
            Codec::Pcmu => DecoderKind::Pcmu,
            Codec::Pcma => DecoderKind::Pcma,
            Codec::G722 => DecoderKind::G722(Box::default()),
            Codec::Opus => DecoderKind::Opus(OpusDecoder::new(rate)?),
            Codec::L16(_) => DecoderKind::L16,
        };
        let plc = (codec != Codec::Opus).then(|| Concealer::new(rate));
        Ok(Self {
            codec,
            rate,
            kind,
            plc,
        })
    }

    /// The codec.
    pub fn codec(&self) -> Codec {
        self.codec
    }

    /// The output sample rate.
    pub fn rate(&self) -> SampleRate {
        self.rate
    }

    /// Algorithmic delay of the decoder in samples at its output rate (the G.722 receive QMF).
    pub fn delay_samples(&self) -> usize {
        match self.kind {
            DecoderKind::G722(_) => 11,
            _ => 0,
        }
    }

    /// Decodes one RTP payload, appending the samples to `out`. Returns how many.
    pub fn decode(&mut self, payload: &[u8], out: &mut Vec<i16>) -> Result<usize, Error> {
        let start = out.len();
        match &mut self.kind {
            DecoderKind::Pcmu => {
                out.resize(start + payload.len(), 0);
                g711::decode_ulaw(payload, &mut out[start..]);
            }
            DecoderKind::Pcma => {
                out.resize(start + payload.len(), 0);
                g711::decode_alaw(payload, &mut out[start..]);
            }
            DecoderKind::G722(d) => {
                d.decode(payload, out);
            }
            DecoderKind::Opus(d) => {
                d.decode(payload, out)?;
            }
            DecoderKind::L16 => {
                if !payload.len().is_multiple_of(2) {
                    return Err(Error::TruncatedL16(payload.len()));
                }
                out.extend(
                    payload
                        .chunks_exact(2)
                        .map(|b| i16::from_be_bytes([b[0], b[1]])),
                );
            }
        }
        if let Some(plc) = &mut self.plc {
            plc.received(&mut out[start..]);
        }
        Ok(out.len() - start)
    }

    /// Produces `samples` samples of concealment for a lost packet, appended to `out`. For Opus
    /// `samples` must be a multiple of 2.5 ms.
    pub fn conceal(&mut self, samples: usize, out: &mut Vec<i16>) -> Result<usize, Error> {
        if let DecoderKind::Opus(d) = &mut self.kind {
            return d.conceal(samples, out);
        }
        let start = out.len();
        out.resize(start + samples, 0);
        if let Some(plc) = &mut self.plc {
            plc.conceal(&mut out[start..]);
        }
        Ok(samples)
    }

    /// Recovers a lost packet of `samples` samples from the packet after it: Opus in-band FEC,
    /// plain concealment for the other codecs. Decode `next_payload` normally afterwards.
    pub fn recover(
        &mut self,
        next_payload: &[u8],
        samples: usize,
        out: &mut Vec<i16>,
    ) -> Result<usize, Error> {
        match &mut self.kind {
            DecoderKind::Opus(d) => d.decode_fec(next_payload, samples, out),
            _ => self.conceal(samples, out),
        }
    }
}

#[derive(Debug)]
enum EncoderKind {
    Pcmu,
    Pcma,
    G722(Box<g722::Encoder>),
    Opus(OpusEncoder),
    L16,
}

/// Encodes mono PCM frames of one stream.
#[derive(Debug)]
pub struct AudioEncoder {
    codec: Codec,
    rate: SampleRate,
    kind: EncoderKind,
}

impl AudioEncoder {
    /// An encoder taking audio at the codec's own rate.
    pub fn new(codec: Codec, config: &EncoderConfig) -> Result<Self, Error> {
        Self::with_rate(codec, codec.audio_rate(), config)
    }

    /// An encoder taking audio at `rate`; only Opus can choose (8/16/24/48 kHz).
    pub fn with_rate(
        codec: Codec,
        rate: SampleRate,
        config: &EncoderConfig,
    ) -> Result<Self, Error> {
        if !codec.runs_at(rate) {
            return Err(Error::UnsupportedRate { codec, rate });
        }
        let kind = match codec {
            Codec::Pcmu => EncoderKind::Pcmu,
            Codec::Pcma => EncoderKind::Pcma,
            Codec::G722 => EncoderKind::G722(Box::default()),
            Codec::Opus => EncoderKind::Opus(OpusEncoder::new(rate, &config.opus)?),
            Codec::L16(_) => EncoderKind::L16,
        };
        Ok(Self { codec, rate, kind })
    }

    /// The codec.
    pub fn codec(&self) -> Codec {
        self.codec
    }

    /// The input sample rate.
    pub fn rate(&self) -> SampleRate {
        self.rate
    }

    /// Algorithmic delay of the encoder in samples at its input rate (Opus look-ahead; the
    /// G.722 transmit QMF).
    pub fn delay_samples(&self) -> usize {
        match &self.kind {
            EncoderKind::Opus(e) => e.lookahead(),
            EncoderKind::G722(_) => 11,
            _ => 0,
        }
    }

    /// Encodes one frame, appending the payload to `out`. Returns the payload length.
    pub fn encode(&mut self, pcm: &[i16], out: &mut Vec<u8>) -> Result<usize, Error> {
        let start = out.len();
        match &mut self.kind {
            EncoderKind::Pcmu => {
                out.resize(start + pcm.len(), 0);
                g711::encode_ulaw(pcm, &mut out[start..]);
            }
            EncoderKind::Pcma => {
                out.resize(start + pcm.len(), 0);
                g711::encode_alaw(pcm, &mut out[start..]);
            }
            EncoderKind::G722(e) => {
                e.encode(pcm, out)
                    .map_err(|g722::OddSampleCount(samples)| Error::FrameSize {
                        codec: Codec::G722,
                        samples,
                    })?;
            }
            EncoderKind::Opus(e) => {
                e.encode(pcm, out)?;
            }
            EncoderKind::L16 => {
                out.reserve(pcm.len() * 2);
                for s in pcm {
                    out.extend_from_slice(&s.to_be_bytes());
                }
            }
        }
        Ok(out.len() - start)
    }
}
