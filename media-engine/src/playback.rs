//! Media to play into a leg: sound files decoded to PCM off the media workers, and what a
//! worker plays them with.
//!
//! Files: WAV (PCM16, 8-bit, µ-law, A-law; mono or stereo, downmixed; 8/16/24/48 kHz) and the
//! raw Asterisk formats by extension (`.sln` 8 kHz, `.sln16`, `.sln24`, `.sln48`, `.ulaw`/`.pcm`,
//! `.alaw`, `.g722`).

use std::{path::Path, sync::Arc, time::Duration};

use codec_transcoder::{AudioDecoder, Codec, SampleRate, g711};

use crate::tone::{ToneError, ToneGenerator};

/// Decoded audio, shared between every playback of the same file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pcm {
    /// Sample rate.
    pub rate: SampleRate,
    /// Mono samples.
    pub samples: Arc<[i16]>,
}

impl Pcm {
    /// Its length.
    pub fn duration(&self) -> Duration {
        Duration::from_micros(self.samples.len() as u64 * 1_000_000 / u64::from(self.rate.hz()))
    }
}

/// Why a sound could not be loaded.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SoundError {
    /// Reading failed.
    #[error("cannot read {path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The error.
        source: std::io::Error,
    },
    /// Not a WAV file we can play.
    #[error("bad WAV file: {0}")]
    Wav(&'static str),
    /// A rate the resampler does not serve.
    #[error("unsupported sample rate {0} Hz (8000, 16000, 24000 or 48000)")]
    Rate(u32),
    /// Unknown extension.
    #[error("unknown sound format {0:?}")]
    Format(String),
}

/// Loads a sound file by its extension.
pub fn load_sound(path: &Path) -> Result<Pcm, SoundError> {
    let bytes = std::fs::read(path).map_err(|source| SoundError::Io {
        path: path.display().to_string(),
        source,
    })?;
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or("")
        .to_ascii_lowercase();
    let raw = |rate: SampleRate| -> Pcm {
        let samples: Vec<i16> = bytes
            .chunks_exact(2)
            .map(|b| i16::from_le_bytes([b[0], b[1]]))
            .collect();
        Pcm {
            rate,
            samples: samples.into(),
        }
    };
    Ok(match ext.as_str() {
        "wav" | "wav16" => decode_wav(&bytes)?,
        "sln" | "raw" => raw(SampleRate::Hz8000),
        "sln16" => raw(SampleRate::Hz16000),
        "sln24" => raw(SampleRate::Hz24000),
        "sln48" => raw(SampleRate::Hz48000),
        "ulaw" | "pcm" | "mu" => law(&bytes, g711::decode_ulaw),
        "alaw" | "al" => law(&bytes, g711::decode_alaw),
        "g722" => {
            let mut d = AudioDecoder::new(Codec::G722).map_err(|_| SoundError::Wav("g722"))?;
            let mut out = Vec::with_capacity(bytes.len() * 2);
            d.decode(&bytes, &mut out)
                .map_err(|_| SoundError::Wav("g722"))?;
            Pcm {
                rate: SampleRate::Hz16000,
                samples: out.into(),
            }
        }
        other => return Err(SoundError::Format(other.to_string())),
    })
}

fn law(bytes: &[u8], decode: fn(&[u8], &mut [i16]) -> usize) -> Pcm {
    let mut out = vec![0i16; bytes.len()];
    decode(bytes, &mut out);
    Pcm {
        rate: SampleRate::Hz8000,
        samples: out.into(),
    }
}

/// Decodes a RIFF/WAVE file.
pub fn decode_wav(bytes: &[u8]) -> Result<Pcm, SoundError> {
    let bad = SoundError::Wav;
    if bytes.len() < 12 || &bytes[..4] != b"RIFF" || &bytes[8..12] != b"WAVE" {
        return Err(bad("no RIFF/WAVE header"));
    }
    let mut pos = 12;
    let mut fmt: Option<(u16, u16, u32, u16)> = None;
    while pos + 8 <= bytes.len() {
        let id = &bytes[pos..pos + 4];
        let len = u32::from_le_bytes([
            bytes[pos + 4],
            bytes[pos + 5],
            bytes[pos + 6],
            bytes[pos + 7],
        ]) as usize;
        let body_start = pos + 8;
        // A truncated final chunk (a recording cut short) is read as far as it goes.
        let body = &bytes[body_start..(body_start.saturating_add(len)).min(bytes.len())];
        match id {
            b"fmt " => {
                if body.len() < 16 {
                    return Err(bad("short fmt chunk"));
                }
                let u16_at = |i: usize| u16::from_le_bytes([body[i], body[i + 1]]);
                let mut tag = u16_at(0);
                if tag == 0xFFFE && body.len() >= 26 {
                    tag = u16_at(24); // WAVE_FORMAT_EXTENSIBLE: the subformat GUID's first bytes
                }
                let rate = u32::from_le_bytes([body[4], body[5], body[6], body[7]]);
                fmt = Some((tag, u16_at(2), rate, u16_at(14)));
            }
            b"data" => {
                let (tag, channels, rate, bits) = fmt.ok_or_else(|| bad("data before fmt"))?;
                let rate = SampleRate::from_hz(rate).ok_or(SoundError::Rate(rate))?;
                if !(1..=2).contains(&channels) {
                    return Err(bad("only mono and stereo"));
                }
                let mono: Vec<i16> = match (tag, bits) {
                    (1, 16) => body
                        .chunks_exact(2)
                        .map(|b| i16::from_le_bytes([b[0], b[1]]))
                        .collect(),
                    (1, 8) => body.iter().map(|&b| (i16::from(b) - 128) << 8).collect(),
                    (6, 8) => law(body, g711::decode_alaw).samples.to_vec(),
                    (7, 8) => law(body, g711::decode_ulaw).samples.to_vec(),
                    _ => return Err(bad("only PCM 8/16-bit, A-law and µ-law")),
                };
                let samples: Vec<i16> = if channels == 2 {
                    mono.chunks_exact(2)
                        .map(|c| ((i32::from(c[0]) + i32::from(c[1])) / 2) as i16)
                        .collect()
                } else {
                    mono
                };
                return Ok(Pcm {
                    rate,
                    samples: samples.into(),
                });
            }
            _ => {}
        }
        pos = body_start.saturating_add(len + (len & 1));
    }
    Err(bad("no data chunk"))
}

/// What to play.
#[derive(Debug, Clone)]
pub enum PlaySource {
    /// Decoded audio (see [`load_sound`]).
    Pcm(Pcm),
    /// A tone: an indication name (`ring`, `busy`, ...) or an Asterisk tone list.
    Tone(String),
    /// DTMF digits as tones, each `on` long with `off` between.
    DtmfTones {
        /// The digits.
        digits: String,
        /// Tone length.
        on: Duration,
        /// Gap.
        off: Duration,
    },
    /// Silence.
    Silence(Duration),
    /// Decoded audio played over and over (music on hold) until stopped.
    Looped(Pcm),
}

/// A playback in progress: yields PCM 20 ms at a time at its own rate.
#[derive(Debug)]
pub(crate) struct Player {
    kind: PlayerKind,
    rate: SampleRate,
    played: usize,
    paused: bool,
}

#[derive(Debug)]
enum PlayerKind {
    Pcm(Pcm),
    Looped(Pcm),
    Tone(Box<ToneGenerator>),
    Silence(usize),
}

impl Player {
    /// A player; tones are generated at `tone_rate`.
    pub(crate) fn new(source: PlaySource, tone_rate: SampleRate) -> Result<Self, ToneError> {
        let hz = tone_rate.hz();
        let (kind, rate) = match source {
            PlaySource::Pcm(p) => {
                let rate = p.rate;
                (PlayerKind::Pcm(p), rate)
            }
            PlaySource::Looped(p) => {
                let rate = p.rate;
                (PlayerKind::Looped(p), rate)
            }
            PlaySource::Tone(spec) => (
                PlayerKind::Tone(Box::new(ToneGenerator::new(&spec, hz)?)),
                tone_rate,
            ),
            PlaySource::DtmfTones { digits, on, off } => (
                PlayerKind::Tone(Box::new(ToneGenerator::dtmf(
                    &digits,
                    on.as_millis() as u32,
                    off.as_millis() as u32,
                    hz,
                )?)),
                tone_rate,
            ),
            PlaySource::Silence(d) => (
                PlayerKind::Silence(tone_rate.samples_in_ms(d.as_millis() as u32)),
                tone_rate,
            ),
        };
        Ok(Self {
            kind,
            rate,
            played: 0,
            paused: false,
        })
    }

    /// The rate of the PCM it yields.
    pub(crate) fn rate(&self) -> SampleRate {
        self.rate
    }

    /// Appends the next 20 ms (the last frame padded with silence). `false` once finished.
    pub(crate) fn next_frame(&mut self, out: &mut Vec<i16>) -> bool {
        let n = self.rate.samples_in_ms(20);
        if self.paused {
            out.extend(std::iter::repeat_n(0, n));
            return true;
        }
        match &mut self.kind {
            PlayerKind::Pcm(p) => {
                if self.played >= p.samples.len() {
                    return false;
                }
                let end = (self.played + n).min(p.samples.len());
                out.extend_from_slice(&p.samples[self.played..end]);
                out.extend(std::iter::repeat_n(0, n - (end - self.played)));
                self.played = end;
                true
            }
            PlayerKind::Looped(p) => {
                if p.samples.is_empty() {
                    return false;
                }
                let mut left = n;
                while left > 0 {
                    if self.played >= p.samples.len() {
                        self.played = 0;
                    }
                    let end = (self.played + left).min(p.samples.len());
                    out.extend_from_slice(&p.samples[self.played..end]);
                    left -= end - self.played;
                    self.played = end;
                }
                true
            }
            PlayerKind::Tone(g) => g.fill(out, n),
            PlayerKind::Silence(total) => {
                if self.played >= *total {
                    return false;
                }
                out.extend(std::iter::repeat_n(0, n));
                self.played += n;
                true
            }
        }
    }
}

impl Player {
    /// Applies a control operation; `false` if it does not fit (unpause while playing).
    pub(crate) fn control(&mut self, op: PlaybackOp) -> bool {
        let rate = self.rate.hz() as usize;
        let skip = |ms: u64| (ms as usize).saturating_mul(rate) / 1000;
        match op {
            PlaybackOp::Pause => {
                let was = self.paused;
                self.paused = true;
                !was
            }
            PlaybackOp::Unpause => {
                let was = self.paused;
                self.paused = false;
                was
            }
            PlaybackOp::Restart => {
                self.played = 0;
                if let PlayerKind::Tone(g) = &mut self.kind {
                    g.restart();
                }
                true
            }
            PlaybackOp::Forward(ms) => {
                self.played = self.played.saturating_add(skip(ms));
                true
            }
            PlaybackOp::Reverse(ms) => {
                self.played = self.played.saturating_sub(skip(ms));
                true
            }
        }
    }
}

/// A playback control operation (ARI `POST /playbacks/{id}/control`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PlaybackOp {
    /// Pause (silence until unpaused).
    Pause,
    /// Resume.
    Unpause,
    /// From the start.
    Restart,
    /// Skip ahead.
    Forward(u64),
    /// Skip back.
    Reverse(u64),
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wav(tag: u16, channels: u16, rate: u32, bits: u16, data: &[u8]) -> Vec<u8> {
        let mut v = b"RIFF\0\0\0\0WAVEfmt ".to_vec();
        v.extend_from_slice(&16u32.to_le_bytes());
        v.extend_from_slice(&tag.to_le_bytes());
        v.extend_from_slice(&channels.to_le_bytes());
        v.extend_from_slice(&rate.to_le_bytes());
        v.extend_from_slice(&(rate * u32::from(channels * bits / 8)).to_le_bytes());
        v.extend_from_slice(&(channels * bits / 8).to_le_bytes());
        v.extend_from_slice(&bits.to_le_bytes());
        v.extend_from_slice(b"LIST\x04\0\0\0abcd"); // an unrelated chunk
        v.extend_from_slice(b"data");
        v.extend_from_slice(&(data.len() as u32).to_le_bytes());
        v.extend_from_slice(data);
        v
    }

    #[test]
    fn decodes_wav_variants() {
        let pcm16: Vec<u8> = [1000i16, -1000, 32767]
            .iter()
            .flat_map(|s| s.to_le_bytes())
            .collect();
        let p = decode_wav(&wav(1, 1, 16_000, 16, &pcm16)).unwrap();
        assert_eq!(
            (p.rate, &p.samples[..]),
            (SampleRate::Hz16000, &[1000, -1000, 32767][..])
        );
        let p = decode_wav(&wav(1, 2, 48_000, 16, &pcm16[..4])).unwrap();
        assert_eq!(&p.samples[..], &[0]);
        let p = decode_wav(&wav(7, 1, 8000, 8, &[0xff, 0x80])).unwrap();
        assert_eq!(&p.samples[..], &[0, 32124]);
        let p = decode_wav(&wav(6, 1, 8000, 8, &[0xd5])).unwrap();
        assert_eq!(&p.samples[..], &[8]);
        assert!(matches!(
            decode_wav(&wav(1, 1, 44_100, 16, &pcm16)),
            Err(SoundError::Rate(44_100))
        ));
        assert!(decode_wav(&wav(3, 1, 8000, 32, &pcm16)).is_err());
        for junk in [
            &b""[..],
            b"RIFF",
            b"RIFF\0\0\0\0WAVE",
            b"RIFF\0\0\0\0WAVEdata\xff\xff\xff\xff",
        ] {
            assert!(decode_wav(junk).is_err());
        }
    }

    #[test]
    fn player_pads_the_last_frame_and_ends() {
        let pcm = Pcm {
            rate: SampleRate::Hz8000,
            samples: vec![7i16; 200].into(),
        };
        assert_eq!(pcm.duration(), Duration::from_millis(25));
        let mut p = Player::new(PlaySource::Pcm(pcm), SampleRate::Hz8000).unwrap();
        let mut out = Vec::new();
        assert!(p.next_frame(&mut out) && p.next_frame(&mut out));
        assert!(!p.next_frame(&mut out));
        assert_eq!(out.len(), 320);
        assert_eq!(out[199..201], [7, 0]);
        let mut s = Player::new(
            PlaySource::Silence(Duration::from_millis(40)),
            SampleRate::Hz16000,
        )
        .unwrap();
        let mut n = 0;
        while s.next_frame(&mut out) {
            n += 1;
        }
        assert_eq!(n, 2);
        assert!(Player::new(PlaySource::Tone("nope".into()), SampleRate::Hz8000).is_err());
    }
}
