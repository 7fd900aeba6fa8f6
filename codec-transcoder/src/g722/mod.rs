//! ITU-T G.722 at 64 kbit/s: sub-band ADPCM, 16 kHz audio in 8-bit codes at 8000 codes/s.
//!
//! Bit-exact with the ITU reference as carried by spandsp (16-bit linear PCM in and out), which
//! `tests/g722_spandsp.rs` checks in both directions.
//!
//! **Clock rate quirk** (RFC 3551 §4.5.2): G.722 samples audio at 16 kHz, but its RTP clock
//! rate is 8000 and SDP says `G722/8000`. [`AUDIO_RATE`] and [`RTP_CLOCK_RATE`] name the two;
//! a 20 ms frame is 320 samples of audio, 160 payload bytes and 160 RTP timestamp units.
//!
//! Structure (G.722 §3–§4): a 24-tap quadrature mirror filter (QMF) splits each pair of 16 kHz
//! samples into a lower and a higher sub-band sample at 8 kHz. The lower band is coded with a
//! 6-bit adaptive quantiser, the higher with 2 bits; both bands share the same adaptive
//! predictor (block 4, [`band`]).

mod band;

use band::{Band, Tables};

/// Audio sample rate of G.722 (16 kHz).
pub const AUDIO_RATE: u32 = 16_000;
/// RTP clock rate of G.722 as written in SDP (RFC 3551 §4.5.2): 8000, not 16000.
pub const RTP_CLOCK_RATE: u32 = 8_000;

/// QMF coefficients h0..h11 (G.722 Table 11 / §4.4.2); h(23-i) = h(i).
const QMF: [i32; 12] = [3, -11, 12, 32, -210, 951, 3876, -805, 362, -156, 53, -11];

/// Lower sub-band quantiser decision levels, in units of the scale factor (G.722 Table 6).
const Q6: [i32; 32] = [
    0, 35, 72, 110, 150, 190, 233, 276, 323, 370, 422, 473, 530, 587, 650, 714, 786, 858, 940,
    1023, 1121, 1219, 1339, 1458, 1612, 1765, 1980, 2195, 2557, 2919, 0, 0,
];
/// 6-bit codes for negative differences, by quantiser interval (G.722 Table 6).
const ILN: [u8; 32] = [
    0, 63, 62, 31, 30, 29, 28, 27, 26, 25, 24, 23, 22, 21, 20, 19, 18, 17, 16, 15, 14, 13, 12, 11,
    10, 9, 8, 7, 6, 5, 4, 0,
];
/// 6-bit codes for positive differences, by quantiser interval (G.722 Table 6).
const ILP: [u8; 32] = [
    0, 61, 60, 59, 58, 57, 56, 55, 54, 53, 52, 51, 50, 49, 48, 47, 46, 45, 44, 43, 42, 41, 40, 39,
    38, 37, 36, 35, 34, 33, 32, 0,
];
/// Inverse quantiser output for the 6-bit lower-band code (G.722 Table 7, 64 kbit/s mode).
const QM6: [i32; 64] = [
    -136, -136, -136, -136, -24808, -21904, -19008, -16704, -14984, -13512, -12280, -11192, -10232,
    -9360, -8576, -7856, -7192, -6576, -6000, -5456, -4944, -4464, -4008, -3576, -3168, -2776,
    -2400, -2032, -1688, -1360, -1040, -728, 24808, 21904, 19008, 16704, 14984, 13512, 12280,
    11192, 10232, 9360, 8576, 7856, 7192, 6576, 6000, 5456, 4944, 4464, 4008, 3576, 3168, 2776,
    2400, 2032, 1688, 1360, 1040, 728, 432, 136, -432, -136,
];
/// Inverse quantiser output for the 4 most significant bits of the lower-band code (Table 7).
const QM4: [i32; 16] = [
    0, -20456, -12896, -8968, -6288, -4240, -2584, -1200, 20456, 12896, 8968, 6288, 4240, 2584,
    1200, 0,
];
/// Magnitude class of a 4-bit lower-band code, for the scale factor update (Table 8).
const RL42: [usize; 16] = [0, 7, 6, 5, 4, 3, 2, 1, 7, 6, 5, 4, 3, 2, 1, 0];
/// Log scale factor multipliers for the lower band (Table 8).
const WL: [i32; 8] = [-60, -30, 58, 172, 334, 538, 1198, 3042];
/// Higher sub-band: inverse quantiser outputs (Table 9).
const QM2: [i32; 4] = [-7408, -1616, 7408, 1616];
/// Higher sub-band: codes for negative / positive differences by interval.
const IHN: [u8; 3] = [0, 1, 0];
const IHP: [u8; 3] = [0, 3, 2];
/// Higher sub-band: magnitude class and log scale factor multipliers (Table 10).
const RH2: [usize; 4] = [2, 1, 2, 1];
const WH: [i32; 3] = [0, -214, 798];

const LOWER: Tables = Tables {
    multipliers: &WL,
    max_log_scale: 18432,
    scale_shift: 8,
};
const HIGHER: Tables = Tables {
    multipliers: &WH,
    max_log_scale: 22528,
    scale_shift: 10,
};

#[inline(always)]
fn saturate(v: i32) -> i32 {
    v.clamp(i32::from(i16::MIN), i32::from(i16::MAX))
}

/// Error returned when a G.722 encoder is given an odd number of 16 kHz samples.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OddSampleCount(pub usize);

/// G.722 encoder state (64 kbit/s).
#[derive(Debug, Clone)]
pub struct Encoder {
    /// Transmit QMF delay line: the last 24 input samples, oldest first.
    x: [i32; 24],
    low: Band,
    high: Band,
}

impl Default for Encoder {
    fn default() -> Self {
        Self::new()
    }
}

impl Encoder {
    /// A new encoder in the reset state of G.722 §5.
    pub fn new() -> Self {
        Self {
            x: [0; 24],
            low: Band::new_lower(),
            high: Band::new_higher(),
        }
    }

    /// Encodes 16 kHz `pcm` (an even number of samples) into `pcm.len() / 2` codes appended
    /// to `out`.
    pub fn encode(&mut self, pcm: &[i16], out: &mut Vec<u8>) -> Result<usize, OddSampleCount> {
        if !pcm.len().is_multiple_of(2) {
            return Err(OddSampleCount(pcm.len()));
        }
        out.reserve(pcm.len() / 2);
        for pair in pcm.chunks_exact(2) {
            out.push(self.encode_pair(pair[0], pair[1]));
        }
        Ok(pcm.len() / 2)
    }

    #[inline]
    fn encode_pair(&mut self, first: i16, second: i16) -> u8 {
        // Transmit QMF (G.722 §3.2): split into lower and higher sub-band samples.
        self.x.copy_within(2.., 0);
        self.x[22] = i32::from(first);
        self.x[23] = i32::from(second);
        let (mut sum_odd, mut sum_even) = (0i32, 0i32);
        for i in 0..12 {
            sum_odd += self.x[2 * i] * QMF[i];
            sum_even += self.x[2 * i + 1] * QMF[11 - i];
        }
        let xlow = (sum_even + sum_odd) >> 14;
        let xhigh = (sum_even - sum_odd) >> 14;

        // Lower band: SUBTRA, QUANTL (block 1L).
        let el = saturate(xlow - self.low.s);
        let wd = if el >= 0 { el } else { -(el + 1) };
        let mut i = 1;
        while i < 30 && wd >= (Q6[i] * self.low.det) >> 12 {
            i += 1;
        }
        let ilow = if el < 0 { ILN[i] } else { ILP[i] };
        // INVQAL (block 2L): quantised difference from the 4 most significant bits.
        let ril = usize::from(ilow >> 2);
        let dlow = (self.low.det * QM4[ril]) >> 15;
        // LOGSCL, SCALEL (block 3L), then the predictor (block 4L).
        self.low.adapt_scale(&LOWER, RL42[ril]);
        self.low.predict(dlow);

        // Higher band: SUBTRA, QUANTH (block 1H).
        let eh = saturate(xhigh - self.high.s);
        let wd = if eh >= 0 { eh } else { -(eh + 1) };
        let mih = if wd >= (564 * self.high.det) >> 12 {
            2
        } else {
            1
        };
        let ihigh = if eh < 0 { IHN[mih] } else { IHP[mih] };
        // INVQAH (block 2H), LOGSCH, SCALEH (block 3H), predictor (block 4H).
        let dhigh = (self.high.det * QM2[usize::from(ihigh)]) >> 15;
        self.high.adapt_scale(&HIGHER, RH2[usize::from(ihigh)]);
        self.high.predict(dhigh);

        (ihigh << 6) | ilow
    }
}

/// G.722 decoder state (64 kbit/s).
#[derive(Debug, Clone)]
pub struct Decoder {
    /// Receive QMF delay line.
    x: [i32; 24],
    low: Band,
    high: Band,
}

impl Default for Decoder {
    fn default() -> Self {
        Self::new()
    }
}

impl Decoder {
    /// A new decoder in the reset state of G.722 §5.
    pub fn new() -> Self {
        Self {
            x: [0; 24],
            low: Band::new_lower(),
            high: Band::new_higher(),
        }
    }

    /// Decodes `codes` into `2 * codes.len()` samples of 16 kHz audio appended to `out`.
    /// Every byte is a valid code.
    pub fn decode(&mut self, codes: &[u8], out: &mut Vec<i16>) -> usize {
        out.reserve(codes.len() * 2);
        for &code in codes {
            let (a, b) = self.decode_code(code);
            out.push(a);
            out.push(b);
        }
        codes.len() * 2
    }

    #[inline]
    fn decode_code(&mut self, code: u8) -> (i16, i16) {
        let ilow = usize::from(code & 0x3F);
        let ihigh = usize::from(code >> 6);

        // Lower band: INVQBL and RECONS, LIMIT (blocks 5L, 6L) give the output sample.
        let wd = (self.low.det * QM6[ilow]) >> 15;
        let rlow = (self.low.s + wd).clamp(-16384, 16383);
        // INVQAL (block 2L) from the 4 most significant bits drives the adaptation.
        let dlow = (self.low.det * QM4[ilow >> 2]) >> 15;
        self.low.adapt_scale(&LOWER, RL42[ilow >> 2]);
        self.low.predict(dlow);

        // Higher band: INVQAH, RECONS, LIMIT (blocks 2H, 5H, 6H).
        let dhigh = (self.high.det * QM2[ihigh]) >> 15;
        let rhigh = (dhigh + self.high.s).clamp(-16384, 16383);
        self.high.adapt_scale(&HIGHER, RH2[ihigh]);
        self.high.predict(dhigh);

        // Receive QMF (G.722 §4.4).
        self.x.copy_within(2.., 0);
        self.x[22] = rlow + rhigh;
        self.x[23] = rlow - rhigh;
        let (mut out1, mut out2) = (0i32, 0i32);
        for i in 0..12 {
            out2 += self.x[2 * i] * QMF[i];
            out1 += self.x[2 * i + 1] * QMF[11 - i];
        }
        (saturate(out1 >> 11) as i16, saturate(out2 >> 11) as i16)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn odd_input_is_an_error() {
        let mut e = Encoder::new();
        let mut out = Vec::new();
        assert_eq!(e.encode(&[0; 3], &mut out), Err(OddSampleCount(3)));
        assert!(out.is_empty());
    }

    #[test]
    fn sizes_follow_the_clock_rate_quirk() {
        let mut e = Encoder::new();
        let mut codes = Vec::new();
        // 20 ms of 16 kHz audio is 320 samples and 160 bytes: one byte per 8 kHz clock tick.
        assert_eq!(e.encode(&[0; 320], &mut codes), Ok(160));
        assert_eq!(codes.len() as u32, RTP_CLOCK_RATE / 50);
        let mut d = Decoder::new();
        let mut pcm = Vec::new();
        assert_eq!(d.decode(&codes, &mut pcm), 320);
        assert_eq!(pcm.len() as u32, AUDIO_RATE / 50);
    }

    #[test]
    fn every_code_sequence_decodes_deterministically() {
        let codes: Vec<u8> = (0..=255u8).cycle().take(4096).collect();
        let (mut a, mut b) = (Vec::new(), Vec::new());
        Decoder::new().decode(&codes, &mut a);
        Decoder::new().decode(&codes, &mut b);
        assert_eq!(a, b);
    }

    #[test]
    fn tone_survives_a_round_trip() {
        let pcm: Vec<i16> = (0..16000)
            .map(|i| {
                (10000.0 * (2.0 * std::f64::consts::PI * 1000.0 * i as f64 / 16000.0).sin()) as i16
            })
            .collect();
        let mut codes = Vec::new();
        Encoder::new()
            .encode(&pcm, &mut codes)
            .expect("even length");
        let mut out = Vec::new();
        Decoder::new().decode(&codes, &mut out);
        // Encoder and decoder QMFs together delay the signal by 22 samples.
        let delay = 22;
        let (mut s, mut e) = (0.0f64, 0.0f64);
        for i in 1000..15000 {
            let r = f64::from(pcm[i]);
            s += r * r;
            e += (r - f64::from(out[i + delay])).powi(2);
        }
        let snr = 10.0 * (s / e).log10();
        assert!(snr > 25.0, "SNR {snr:.1} dB");
    }
}
