//! Opus (RFC 6716) through libopus 1.6 (the `opus` crate, which bundles it).
//!
//! Decoding validates the packet structure first ([`parse_packet`]), so a garbage or truncated
//! packet is a typed [`Error`], then decodes any frame size from 2.5 to 120 ms. The decoder is
//! mono: a stereo stream from a browser is down-mixed by libopus. Loss is concealed by libopus'
//! PLC, or recovered from the in-band FEC (LBRR) of the next packet.
//!
//! The encoder runs libopus in its VoIP application mode with complexity 5, in-band FEC and a
//! configurable bitrate and DTX, at 8, 16, 24 or 48 kHz input (RFC 7587: the RTP clock is 48 kHz
//! whatever the input rate).

mod packet;

pub use packet::{OpusBandwidth, OpusMode, PacketError, PacketInfo, parse_packet};

use crate::{Error, SampleRate};

/// RTP clock rate of Opus (RFC 7587 §4.1), independent of the audio rate.
pub const RTP_CLOCK_RATE: u32 = 48_000;
/// Largest packet duration, 120 ms, in samples at 48 kHz.
pub const MAX_PACKET_SAMPLES_48K: usize = 5760;
/// Largest Opus packet we produce (RFC 6716 §3.2.1: 1275 bytes per frame, up to 3 frames).
pub const MAX_ENCODED_BYTES: usize = 4000;

/// Opus encoder settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OpusEncoderConfig {
    /// libopus complexity, 0 (fastest) to 10 (best). Default 5.
    pub complexity: u8,
    /// Target bitrate in bit/s; `None` lets libopus choose. Default 24 000.
    pub bitrate: Option<u32>,
    /// In-band forward error correction (LBRR). Default on.
    pub inband_fec: bool,
    /// Expected packet loss in percent, which sizes the FEC. Default 5.
    pub expected_loss_percent: u8,
    /// Discontinuous transmission in silence. Default off.
    pub dtx: bool,
}

impl Default for OpusEncoderConfig {
    fn default() -> Self {
        Self {
            complexity: 5,
            bitrate: Some(24_000),
            inband_fec: true,
            expected_loss_percent: 5,
            dtx: false,
        }
    }
}

fn opus_error(e: opus::Error) -> Error {
    Error::Opus {
        function: e.function(),
        reason: e.description(),
    }
}

/// A mono Opus encoder.
pub struct OpusEncoder {
    inner: opus::Encoder,
    rate: SampleRate,
    lookahead: usize,
}

impl std::fmt::Debug for OpusEncoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpusEncoder")
            .field("rate", &self.rate)
            .field("lookahead", &self.lookahead)
            .finish()
    }
}

impl OpusEncoder {
    /// Creates an encoder taking mono input at `rate`.
    pub fn new(rate: SampleRate, config: &OpusEncoderConfig) -> Result<Self, Error> {
        let mut inner =
            opus::Encoder::new(rate.hz(), opus::Channels::Mono, opus::Application::Voip)
                .map_err(opus_error)?;
        inner
            .set_complexity(i32::from(config.complexity.min(10)))
            .map_err(opus_error)?;
        let bitrate = match config.bitrate {
            Some(bps) => opus::Bitrate::Bits(bps.clamp(6_000, 510_000) as i32),
            None => opus::Bitrate::Auto,
        };
        inner.set_bitrate(bitrate).map_err(opus_error)?;
        inner
            .set_inband_fec(config.inband_fec)
            .map_err(opus_error)?;
        inner
            .set_packet_loss_perc(i32::from(config.expected_loss_percent.min(100)))
            .map_err(opus_error)?;
        inner.set_dtx(config.dtx).map_err(opus_error)?;
        inner.set_signal(opus::Signal::Voice).map_err(opus_error)?;
        let lookahead = usize::try_from(inner.get_lookahead().map_err(opus_error)?).unwrap_or(0);
        Ok(Self {
            inner,
            rate,
            lookahead,
        })
    }

    /// Input sample rate.
    pub fn rate(&self) -> SampleRate {
        self.rate
    }

    /// The encoder's look-ahead in samples at the input rate (its algorithmic delay).
    pub fn lookahead(&self) -> usize {
        self.lookahead
    }

    /// Encodes one frame (2.5, 5, 10, 20, 40, 60, 80, 100 or 120 ms of mono audio) and appends
    /// the packet to `out`. Returns the packet length.
    pub fn encode(&mut self, pcm: &[i16], out: &mut Vec<u8>) -> Result<usize, Error> {
        let per_2_5_ms = self.rate.samples_per_ms() * 5 / 2;
        let units = pcm.len() / per_2_5_ms;
        let valid = pcm.len().is_multiple_of(per_2_5_ms)
            && matches!(units, 1 | 2 | 4 | 8 | 16 | 24 | 32 | 40 | 48);
        if !valid {
            return Err(Error::FrameSize {
                codec: crate::Codec::Opus,
                samples: pcm.len(),
            });
        }
        let start = out.len();
        out.resize(start + MAX_ENCODED_BYTES, 0);
        match self.inner.encode(pcm, &mut out[start..]) {
            Ok(n) => {
                out.truncate(start + n);
                Ok(n)
            }
            Err(e) => {
                out.truncate(start);
                Err(opus_error(e))
            }
        }
    }
}

/// A mono Opus decoder (stereo streams are down-mixed).
pub struct OpusDecoder {
    inner: opus::Decoder,
    rate: SampleRate,
}

impl std::fmt::Debug for OpusDecoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpusDecoder")
            .field("rate", &self.rate)
            .finish()
    }
}

impl OpusDecoder {
    /// Creates a decoder producing mono audio at `rate`.
    pub fn new(rate: SampleRate) -> Result<Self, Error> {
        let inner = opus::Decoder::new(rate.hz(), opus::Channels::Mono).map_err(opus_error)?;
        Ok(Self { inner, rate })
    }

    /// Output sample rate.
    pub fn rate(&self) -> SampleRate {
        self.rate
    }

    /// Decodes one packet of any frame size, appending its samples to `out`.
    pub fn decode(&mut self, packet: &[u8], out: &mut Vec<i16>) -> Result<usize, Error> {
        let info = parse_packet(packet)?;
        let samples = info.samples_at(self.rate.hz());
        self.run(packet, samples, false, out)
    }

    /// Conceals `samples` lost samples (a multiple of 2.5 ms) with libopus' PLC.
    pub fn conceal(&mut self, samples: usize, out: &mut Vec<i16>) -> Result<usize, Error> {
        self.check_loss_len(samples)?;
        self.run(&[], samples, false, out)
    }

    /// Recovers `samples` lost samples (a multiple of 2.5 ms, the lost packet's duration) from
    /// the in-band FEC of `next_packet`, the packet that followed the loss. When that packet
    /// carries no FEC, libopus conceals instead. Decode `next_packet` normally afterwards.
    pub fn decode_fec(
        &mut self,
        next_packet: &[u8],
        samples: usize,
        out: &mut Vec<i16>,
    ) -> Result<usize, Error> {
        parse_packet(next_packet)?;
        self.check_loss_len(samples)?;
        self.run(next_packet, samples, true, out)
    }

    fn check_loss_len(&self, samples: usize) -> Result<(), Error> {
        let per_2_5_ms = self.rate.samples_per_ms() * 5 / 2;
        if samples == 0
            || !samples.is_multiple_of(per_2_5_ms)
            || samples > MAX_PACKET_SAMPLES_48K * self.rate.hz() as usize / 48_000
        {
            return Err(Error::FrameSize {
                codec: crate::Codec::Opus,
                samples,
            });
        }
        Ok(())
    }

    fn run(
        &mut self,
        packet: &[u8],
        samples: usize,
        fec: bool,
        out: &mut Vec<i16>,
    ) -> Result<usize, Error> {
        let start = out.len();
        out.resize(start + samples, 0);
        match self.inner.decode(packet, &mut out[start..], fec) {
            Ok(n) => {
                out.truncate(start + n);
                Ok(n)
            }
            Err(e) => {
                out.truncate(start);
                Err(opus_error(e))
            }
        }
    }
}
