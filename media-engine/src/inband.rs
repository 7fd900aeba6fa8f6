//! In-band DTMF detection (Goertzel) for legs that did not negotiate telephone-event.
//!
//! Blocks of 12.75 ms (102 samples at 8 kHz, scaled for other rates) are tested at the eight
//! DTMF frequencies. A block holds a digit when one row and one column tone dominate: together
//! they carry most of the block's energy, each is well above the other tones of its group, and
//! the twist between them stays within Q.24 limits (8 dB normal, 4 dB reverse). A digit begins
//! after two agreeing blocks (25.5 ms; ITU-T Q.24 requires accepting 40 ms and rejecting under
//! 23 ms) and ends after two blocks without it.

use crate::dtmf::{Digit, DtmfUpdate};

const ROWS: [f32; 4] = [697.0, 770.0, 852.0, 941.0];
const COLS: [f32; 4] = [1209.0, 1336.0, 1477.0, 1633.0];
/// The keypad, row-major.
const KEYS: [[char; 4]; 4] = [
    ['1', '2', '3', 'A'],
    ['4', '5', '6', 'B'],
    ['7', '8', '9', 'C'],
    ['*', '0', '#', 'D'],
];

/// Share of the block energy the two tones must carry (ideal: 1.0 for a pure pair).
const MIN_SHARE: f32 = 0.6;
/// Each tone's minimum RMS amplitude (about −45 dBFS, i.e. −42 dBm0 for G.711).
const MIN_AMPLITUDE: f32 = 180.0;
/// The strongest tone of a group must beat the others by this ratio (8 dB in power).
const GROUP_MARGIN: f32 = 6.3;
/// Normal twist (row louder) up to 8 dB, reverse twist (column louder) up to 4 dB (power ratios).
const NORMAL_TWIST: f32 = 6.3;
const REVERSE_TWIST: f32 = 2.5;

/// Detects DTMF digits in PCM of one leg.
#[derive(Debug, Clone)]
pub struct InbandDetector {
    block: usize,
    coefs: [f32; 8],
    /// The block being filled.
    buf: Vec<f32>,
    /// The digit the last block showed.
    last: Option<Digit>,
    /// The digit reported as begun, and for how many samples it has lasted.
    current: Option<(Digit, u32)>,
    misses: u8,
    out: Vec<DtmfUpdate>,
    rate: u32,
}

impl InbandDetector {
    /// A detector for audio at `rate` Hz.
    pub fn new(rate: u32) -> Self {
        let block = (rate as usize * 102).div_ceil(8000);
        let mut coefs = [0.0; 8];
        for (c, f) in coefs.iter_mut().zip(ROWS.iter().chain(COLS.iter())) {
            *c = 2.0 * (2.0 * std::f32::consts::PI * f / rate as f32).cos();
        }
        Self {
            block,
            coefs,
            buf: Vec::with_capacity(block),
            last: None,
            current: None,
            misses: 0,
            out: Vec::new(),
            rate,
        }
    }

    /// The sample rate.
    pub fn rate(&self) -> u32 {
        self.rate
    }

    /// Feeds samples. Durations in the updates are in samples at the detector's rate.
    pub fn process(&mut self, mut pcm: &[i16]) {
        while !pcm.is_empty() {
            let take = (self.block - self.buf.len()).min(pcm.len());
            self.buf.extend(pcm[..take].iter().map(|&x| f32::from(x)));
            pcm = &pcm[take..];
            if self.buf.len() == self.block {
                self.end_block();
            }
        }
    }

    /// The next begin/end, oldest first.
    pub fn poll_update(&mut self) -> Option<DtmfUpdate> {
        if self.out.is_empty() {
            None
        } else {
            Some(self.out.remove(0))
        }
    }

    fn end_block(&mut self) {
        let n = self.block as f32;
        let energy: f32 = self.buf.iter().map(|x| x * x).sum();
        // Two tones of at least MIN_AMPLITUDE RMS each carry at least this much: quieter
        // blocks (silence, most speech pauses) skip the filters.
        let hit = if energy < 2.0 * n * MIN_AMPLITUDE * MIN_AMPLITUDE {
            None
        } else {
            // Eight Goertzel filters side by side (local arrays: the compiler vectorises them).
            let c = self.coefs;
            let (mut s1, mut s2) = ([0.0f32; 8], [0.0f32; 8]);
            for &x in &self.buf {
                for k in 0..8 {
                    let s = x + c[k] * s1[k] - s2[k];
                    s2[k] = s1[k];
                    s1[k] = s;
                }
            }
            let mut power = [0.0f32; 8];
            for k in 0..8 {
                power[k] = s1[k] * s1[k] + s2[k] * s2[k] - c[k] * s1[k] * s2[k];
            }
            self.classify(&power, energy)
        };
        self.buf.clear();
        let block = self.block as u32;

        match (self.current, hit) {
            (Some((d, n)), Some(h)) if d == h => {
                self.current = Some((d, n + block));
                self.misses = 0;
            }
            (Some((d, n)), _) => {
                self.misses += 1;
                if self.misses >= 2 || hit.is_some() {
                    self.out.push(DtmfUpdate::End {
                        digit: d,
                        duration: n,
                    });
                    self.current = None;
                    self.misses = 0;
                }
            }
            (None, _) => {}
        }
        if self.current.is_none()
            && let Some(h) = hit.filter(|h| Some(*h) == self.last)
        {
            self.current = Some((h, 2 * block));
            self.out.push(DtmfUpdate::Begin(h));
        }
        self.last = hit;
    }

    fn classify(&self, power: &[f32; 8], energy: f32) -> Option<Digit> {
        let (row, rp) = strongest(&power[..4]);
        let (col, cp) = strongest(&power[4..]);
        let n = self.block as f32;
        // A pure tone of RMS amplitude a gives power ≈ (n·a)²/2.
        let floor = (n * MIN_AMPLITUDE).powi(2) / 2.0;
        if rp < floor || cp < floor {
            return None;
        }
        // Both tones carry most of the energy: Σx² ≈ 2·P/n per tone.
        if (rp + cp) * 2.0 / n < MIN_SHARE * energy {
            return None;
        }
        if cp > rp * REVERSE_TWIST || rp > cp * NORMAL_TWIST {
            return None;
        }
        let others_ok = |group: &[f32], best: usize, bp: f32| {
            group
                .iter()
                .enumerate()
                .all(|(i, &p)| i == best || p * GROUP_MARGIN < bp)
        };
        if !others_ok(&power[..4], row, rp) || !others_ok(&power[4..], col, cp) {
            return None;
        }
        Digit::from_char(KEYS[row][col])
    }
}

fn strongest(p: &[f32]) -> (usize, f32) {
    p.iter()
        .copied()
        .enumerate()
        .fold((0, f32::MIN), |b, (i, v)| if v > b.1 { (i, v) } else { b })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tone::ToneGenerator;

    fn detect(pcm: &[i16], rate: u32) -> Vec<(char, u32)> {
        let mut d = InbandDetector::new(rate);
        let mut got = Vec::new();
        for chunk in pcm.chunks(rate as usize / 50) {
            d.process(chunk);
            while let Some(u) = d.poll_update() {
                if let DtmfUpdate::End { digit, duration } = u {
                    got.push((digit.as_char(), duration * 1000 / rate));
                }
            }
        }
        got
    }

    fn render(digits: &str, rate: u32, on_ms: u32, off_ms: u32) -> Vec<i16> {
        let mut g = ToneGenerator::dtmf(digits, on_ms, off_ms, rate).unwrap();
        let mut pcm = Vec::new();
        while g.fill(&mut pcm, rate as usize / 50) {}
        pcm.extend(std::iter::repeat_n(0, rate as usize / 10));
        pcm
    }

    #[test]
    fn detects_every_digit_at_8_16_and_48_khz() {
        for rate in [8000, 16_000, 48_000] {
            let pcm = render("0123456789*#ABCD", rate, 60, 60);
            let got = detect(&pcm, rate);
            let digits: String = got.iter().map(|g| g.0).collect();
            assert_eq!(digits, "0123456789*#ABCD", "at {rate} Hz");
            for (_, ms) in got {
                assert!((38..=77).contains(&ms), "duration {ms} ms at {rate} Hz");
            }
        }
    }

    #[test]
    fn rejects_short_tones_and_single_frequencies() {
        // 15 ms bursts are below Q.24's 23 ms rejection limit.
        assert!(detect(&render("55555", 8000, 15, 50), 8000).is_empty());
        // A single 1000 Hz tone, and a 697 Hz row tone alone.
        let sine = |f: f32| -> Vec<i16> {
            (0..8000)
                .map(|i| {
                    ((i as f32 * f * 2.0 * std::f32::consts::PI / 8000.0).sin() * 8000.0) as i16
                })
                .collect()
        };
        assert!(detect(&sine(1000.0), 8000).is_empty());
        assert!(detect(&sine(697.0), 8000).is_empty());
    }

    #[test]
    fn survives_noise_and_g711() {
        let mut pcm = render("159D", 8000, 80, 80);
        let mut seed = 1u32;
        for s in &mut pcm {
            seed = seed.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            let noise = ((seed >> 16) as i32 - 32768) / 64; // about −36 dBFS
            *s = (i32::from(*s) + noise).clamp(-32768, 32767) as i16;
        }
        let mut law = vec![0u8; pcm.len()];
        codec_transcoder::g711::encode_ulaw(&pcm, &mut law);
        codec_transcoder::g711::decode_ulaw(&law, &mut pcm);
        let digits: String = detect(&pcm, 8000).iter().map(|g| g.0).collect();
        assert_eq!(digits, "159D");
    }
}
