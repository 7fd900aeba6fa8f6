//! Tone generation: Asterisk `tone:` indications (ring, busy, congestion, dial, beep, ...),
//! Asterisk tone-list strings (`350+440/2000,0/4000`, `!950/330`) and DTMF digits.

use crate::dtmf::Digit;

/// One part of a tone list: up to two frequencies for `samples` samples (0: forever).
#[derive(Debug, Clone, Copy, PartialEq)]
struct Part {
    f1: f32,
    f2: f32,
    /// `f1*f2`: f1 amplitude-modulated by f2.
    modulated: bool,
    samples: usize,
    /// `!`: played on the first pass only.
    once: bool,
    amplitude: f32,
}

/// The tone lists of the US indications (Asterisk `indications.conf`, `[us]`), plus `beep`.
fn indication(name: &str) -> Option<&'static str> {
    Some(match name {
        "dial" => "350+440",
        "ring" => "440+480/2000,0/4000",
        "busy" => "480+620/500,0/500",
        "congestion" => "480+620/250,0/250",
        "callwaiting" => "440/300,0/10000",
        "dialrecall" => "!350+440/100,!0/100,!350+440/100,!0/100,!350+440/100,!0/100,350+440",
        "record" => "1400/500,0/15000",
        "info" => "!950/330,!1400/330,!1800/330,0",
        "stutter" => "!350+440/100,!0/100,!350+440/100,!0/100,!350+440/100,!0/100,350+440",
        "beep" => "!1000/250",
        _ => return None,
    })
}

/// Why a tone specification was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("bad tone specification {0:?}")]
pub struct ToneError(pub String);

/// Generates a tone into PCM, phase-continuous across calls.
#[derive(Debug, Clone)]
pub struct ToneGenerator {
    parts: Vec<Part>,
    rate: u32,
    index: usize,
    /// Samples played of the current part.
    pos: usize,
    first_pass: bool,
    phase1: f64,
    phase2: f64,
    finished: bool,
}

/// Per-tone amplitude of indications (about −13 dBm0).
const INDICATION_AMPLITUDE: f32 = 5000.0;
/// Per-tone amplitude of DTMF (about −8 dBm0).
const DTMF_AMPLITUDE: f32 = 8000.0;

impl ToneGenerator {
    /// A named indication (`ring`, `busy`, `congestion`, `dial`, `beep`, ...) or an Asterisk
    /// tone list, at `rate` Hz.
    pub fn new(spec: &str, rate: u32) -> Result<Self, ToneError> {
        let list = indication(spec).unwrap_or(spec);
        let parts = parse_list(list, rate).ok_or_else(|| ToneError(spec.to_string()))?;
        Ok(Self::from_parts(parts, rate))
    }

    /// DTMF digits, each `on_ms` long with `off_ms` of silence after it.
    pub fn dtmf(digits: &str, on_ms: u32, off_ms: u32, rate: u32) -> Result<Self, ToneError> {
        let ms = |m: u32| (m as usize * rate as usize) / 1000;
        let mut parts = Vec::new();
        for c in digits.chars() {
            let (f1, f2) = Digit::from_char(c)
                .and_then(Digit::frequencies)
                .ok_or_else(|| ToneError(digits.to_string()))?;
            parts.push(Part {
                f1,
                f2,
                modulated: false,
                samples: ms(on_ms.max(1)),
                once: true,
                amplitude: DTMF_AMPLITUDE,
            });
            parts.push(Part {
                f1: 0.0,
                f2: 0.0,
                modulated: false,
                samples: ms(off_ms.max(1)),
                once: true,
                amplitude: 0.0,
            });
        }
        Ok(Self::from_parts(parts, rate))
    }

    fn from_parts(parts: Vec<Part>, rate: u32) -> Self {
        Self {
            finished: parts.is_empty(),
            parts,
            rate,
            index: 0,
            pos: 0,
            first_pass: true,
            phase1: 0.0,
            phase2: 0.0,
        }
    }

    /// Starts the tone over.
    pub fn restart(&mut self) {
        self.index = 0;
        self.pos = 0;
        self.first_pass = true;
        self.finished = self.parts.is_empty();
    }

    /// Whether the tone has ended (only lists whose parts all carry `!` end).
    pub fn is_finished(&self) -> bool {
        self.finished
    }

    /// Appends `n` samples (the tail padded with silence when the tone ends inside them).
    /// Returns `false`, appending nothing, once the tone has ended.
    pub fn fill(&mut self, out: &mut Vec<i16>, n: usize) -> bool {
        if self.finished {
            return false;
        }
        let mut left = n;
        while left > 0 && !self.finished {
            let part = self.parts[self.index];
            let run = if part.samples == 0 {
                left
            } else {
                left.min(part.samples - self.pos)
            };
            self.render(part, run, out);
            left -= run;
            self.pos += run;
            if part.samples != 0 && self.pos >= part.samples {
                self.advance();
            }
        }
        out.extend(std::iter::repeat_n(0, left));
        true
    }

    fn advance(&mut self) {
        self.pos = 0;
        loop {
            self.index += 1;
            if self.index == self.parts.len() {
                self.index = 0;
                self.first_pass = false;
                if self.parts.iter().all(|p| p.once) {
                    self.finished = true;
                    return;
                }
            }
            if self.first_pass || !self.parts[self.index].once {
                return;
            }
        }
    }

    fn render(&mut self, p: Part, n: usize, out: &mut Vec<i16>) {
        let rate = f64::from(self.rate);
        let (d1, d2) = (
            std::f64::consts::TAU * f64::from(p.f1) / rate,
            std::f64::consts::TAU * f64::from(p.f2) / rate,
        );
        for _ in 0..n {
            let a = self.phase1.sin() as f32;
            let b = self.phase2.sin() as f32;
            let v = if p.modulated {
                a * (0.5 + 0.5 * b) * p.amplitude * 1.5
            } else {
                (a + if p.f2 > 0.0 { b } else { 0.0 }) * p.amplitude
            };
            out.push(v.clamp(-32768.0, 32767.0) as i16);
            self.phase1 = (self.phase1 + d1) % std::f64::consts::TAU;
            self.phase2 = (self.phase2 + d2) % std::f64::consts::TAU;
        }
    }
}

/// Parses an Asterisk tone list: `[!]f1[+f2|*f2][/ms]` parts separated by commas.
fn parse_list(list: &str, rate: u32) -> Option<Vec<Part>> {
    let mut parts = Vec::new();
    for item in list.split(',').map(str::trim) {
        if item.is_empty() {
            return None;
        }
        let (once, item) = match item.strip_prefix('!') {
            Some(rest) => (true, rest),
            None => (false, item),
        };
        let (freqs, ms) = match item.split_once('/') {
            Some((f, ms)) => (f, Some(ms.parse::<u32>().ok()?)),
            None => (item, None),
        };
        let (f1, f2, modulated) = if let Some((a, b)) = freqs.split_once('+') {
            (a.parse::<f32>().ok()?, b.parse::<f32>().ok()?, false)
        } else if let Some((a, b)) = freqs.split_once('*') {
            (a.parse::<f32>().ok()?, b.parse::<f32>().ok()?, true)
        } else {
            (freqs.parse::<f32>().ok()?, 0.0, false)
        };
        let nyquist = rate as f32 / 2.0;
        let valid = |f: f32| f.is_finite() && (0.0..nyquist).contains(&f);
        if !valid(f1) || !valid(f2) || ms == Some(0) {
            return None;
        }
        parts.push(Part {
            f1,
            f2,
            modulated,
            samples: ms.map_or(0, |ms| (ms as usize * rate as usize) / 1000),
            once,
            amplitude: if f1 == 0.0 && f2 == 0.0 {
                0.0
            } else {
                INDICATION_AMPLITUDE
            },
        });
    }
    (!parts.is_empty()).then_some(parts)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn render(g: &mut ToneGenerator, ms: usize) -> Vec<i16> {
        let mut pcm = Vec::new();
        let n = g.rate as usize / 50;
        for _ in 0..ms / 20 {
            if !g.fill(&mut pcm, n) {
                break;
            }
        }
        pcm
    }

    fn rms(s: &[i16]) -> f64 {
        (s.iter().map(|&x| f64::from(x).powi(2)).sum::<f64>() / s.len().max(1) as f64).sqrt()
    }

    #[test]
    fn ring_cadence_repeats() {
        let mut g = ToneGenerator::new("ring", 8000).unwrap();
        let pcm = render(&mut g, 12_000);
        assert_eq!(pcm.len(), 96_000);
        // 2 s on, 4 s off, twice.
        for (range, on) in [
            (0..16_000, true),
            (16_000..48_000, false),
            (48_000..64_000, true),
            (64_000..96_000, false),
        ] {
            let r = rms(&pcm[range.clone()]);
            assert_eq!(r > 1000.0, on, "{range:?}: rms {r}");
        }
        assert!(!g.is_finished());
    }

    #[test]
    fn once_parts_end_and_lists_parse() {
        let mut g = ToneGenerator::new("beep", 16_000).unwrap();
        let pcm = render(&mut g, 1000);
        assert_eq!(pcm.len(), 16_000 * 260 / 1000); // 250 ms rounded up to whole 20 ms
        assert!(g.is_finished());
        // info: three once-parts then silence forever.
        let mut g = ToneGenerator::new("info", 8000).unwrap();
        let pcm = render(&mut g, 2000);
        assert_eq!(pcm.len(), 16_000);
        assert!(rms(&pcm[..7920]) > 1000.0 && rms(&pcm[8000..]) == 0.0);
        for bad in ["", "abc", "440/x", "99999", "440+", "440/0", ",", "nan"] {
            assert!(ToneGenerator::new(bad, 8000).is_err(), "{bad}");
        }
        assert!(ToneGenerator::new("350+440/100,0/100,1004*20/500", 8000).is_ok());
        assert!(ToneGenerator::dtmf("12x", 100, 100, 8000).is_err());
    }
}
