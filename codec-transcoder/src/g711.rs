//! ITU-T G.711 µ-law and A-law companding (PCMU and PCMA, RFC 3551 §4.5.14).
//!
//! The encoders follow the ITU-T G.191 reference (the STL `g711.c` that every bit-exact
//! implementation is checked against): a 16-bit sample is reduced to the law's uniform width by
//! dropping low bits (14 bits for µ-law, 13 for A-law), and negative samples use the one's
//! complement, so `-1` encodes like `0` with the sign set. Decoding gives the centre of each
//! quantisation interval, scaled to 16 bits. spandsp implements exactly these rules; ffmpeg and
//! sox round differently near decision levels (see `tests/g711_oracles.rs`).
//!
//! The direct µ↔A conversions are G.711 Tables 3 and 4, not "decode then encode": the standard
//! picks them so that A → µ → A is transparent for most codes.

/// Bias added to the µ-law magnitude before the segment search (0x84 = 33 << 2).
const ULAW_BIAS: i32 = 0x84;

/// Index of the highest set bit of `v`, for `v > 0`.
#[inline(always)]
fn top_bit(v: i32) -> i32 {
    31 - v.leading_zeros() as i32
}

/// Encodes one 16-bit linear sample as a µ-law code (ITU-T G.711, G.191 reference rules).
#[inline]
pub fn ulaw_encode(sample: i16) -> u8 {
    let sample = i32::from(sample);
    // One's complement for negatives (G.191): !x == -x - 1.
    let (magnitude, mask) = if sample >= 0 {
        (sample, 0xFF)
    } else {
        (!sample, 0x7F)
    };
    let biased = magnitude + ULAW_BIAS;
    let segment = top_bit(biased | 0xFF) - 7;
    let code = if segment >= 8 {
        0x7F
    } else {
        (segment << 4) | ((biased >> (segment + 3)) & 0x0F)
    };
    (code ^ mask) as u8
}

/// Decodes one µ-law code to a 16-bit linear sample.
#[inline]
pub fn ulaw_decode(code: u8) -> i16 {
    ULAW_DECODE[usize::from(code)]
}

/// Encodes one 16-bit linear sample as an A-law code (ITU-T G.711, G.191 reference rules).
#[inline]
pub fn alaw_encode(sample: i16) -> u8 {
    let sample = i32::from(sample);
    let (magnitude, mask) = if sample >= 0 {
        (sample, 0xD5)
    } else {
        (!sample, 0x55)
    };
    let segment = top_bit(magnitude | 0xFF) - 7;
    // Segments 0 and 1 share one step size (linear near zero).
    let shift = if segment == 0 { 4 } else { segment + 3 };
    let code = (segment << 4) | ((magnitude >> shift) & 0x0F);
    (code ^ mask) as u8
}

/// Decodes one A-law code to a 16-bit linear sample.
#[inline]
pub fn alaw_decode(code: u8) -> i16 {
    ALAW_DECODE[usize::from(code)]
}

const fn ulaw_decode_formula(code: u8) -> i16 {
    let u = !code;
    let segment = (u & 0x70) >> 4;
    let t = ((((u & 0x0F) as i32) << 3) + ULAW_BIAS) << segment;
    if u & 0x80 != 0 {
        (ULAW_BIAS - t) as i16
    } else {
        (t - ULAW_BIAS) as i16
    }
}

const fn alaw_decode_formula(code: u8) -> i16 {
    let a = code ^ 0x55;
    let segment = ((a & 0x70) >> 4) as i32;
    let mantissa = ((a & 0x0F) as i32) << 4;
    let t = if segment == 0 {
        mantissa + 8
    } else {
        (mantissa + 0x108) << (segment - 1)
    };
    if a & 0x80 != 0 { t as i16 } else { -t as i16 }
}

const fn build_decode_table(law_is_ulaw: bool) -> [i16; 256] {
    let mut table = [0i16; 256];
    let mut code = 0;
    while code < 256 {
        table[code] = if law_is_ulaw {
            ulaw_decode_formula(code as u8)
        } else {
            alaw_decode_formula(code as u8)
        };
        code += 1;
    }
    table
}

static ULAW_DECODE: [i16; 256] = build_decode_table(true);
static ALAW_DECODE: [i16; 256] = build_decode_table(false);

/// G.711 Table 3 (µ-law → A-law), indexed by µ-law magnitude index (0 = smallest level),
/// giving the A-law magnitude index.
const ULAW_TO_ALAW_MAGNITUDE: [u8; 128] = [
    0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19,
    20, 21, 22, 23, 24, 26, 28, 30, 32, 33, 34, 35, 36, 37, 38, 39, 40, 41, 42, 43, 45, 47, 48, 49,
    50, 51, 52, 53, 54, 55, 56, 57, 58, 59, 60, 61, 63, 64, 65, 66, 67, 68, 69, 70, 71, 72, 73, 74,
    75, 76, 77, 78, 79, 81, 82, 83, 84, 85, 86, 87, 88, 89, 90, 91, 92, 93, 94, 95, 96, 97, 98, 99,
    100, 101, 102, 103, 104, 105, 106, 107, 108, 109, 110, 111, 112, 113, 114, 115, 116, 117, 118,
    119, 120, 121, 122, 123, 124, 125, 126, 127,
];

/// G.711 Table 4 (A-law → µ-law), indexed by A-law magnitude index, giving the µ-law
/// magnitude index.
const ALAW_TO_ULAW_MAGNITUDE: [u8; 128] = [
    1, 3, 5, 7, 9, 11, 13, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32,
    32, 33, 33, 34, 34, 35, 35, 36, 37, 38, 39, 40, 41, 42, 43, 44, 45, 46, 47, 48, 48, 49, 49, 50,
    51, 52, 53, 54, 55, 56, 57, 58, 59, 60, 61, 62, 63, 64, 64, 65, 66, 67, 68, 69, 70, 71, 72, 73,
    74, 75, 76, 77, 78, 79, 80, 80, 81, 82, 83, 84, 85, 86, 87, 88, 89, 90, 91, 92, 93, 94, 95, 96,
    97, 98, 99, 100, 101, 102, 103, 104, 105, 106, 107, 108, 109, 110, 111, 112, 113, 114, 115,
    116, 117, 118, 119, 120, 121, 122, 123, 124, 125, 126, 127,
];

// µ-law code of a positive level with magnitude index m is 0xFF - m (0x7F - m when negative);
// A-law code is (0x80 | m) ^ 0x55 when positive, m ^ 0x55 when negative.
const fn build_ulaw_to_alaw() -> [u8; 256] {
    let mut table = [0u8; 256];
    let mut code = 0;
    while code < 256 {
        let positive = code & 0x80 != 0;
        let magnitude = 0x7F - (code & 0x7F);
        let a = ULAW_TO_ALAW_MAGNITUDE[magnitude] as usize;
        table[code] = if positive {
            ((0x80 | a) ^ 0x55) as u8
        } else {
            (a ^ 0x55) as u8
        };
        code += 1;
    }
    table
}

const fn build_alaw_to_ulaw() -> [u8; 256] {
    let mut table = [0u8; 256];
    let mut code = 0;
    while code < 256 {
        let a = code ^ 0x55;
        let positive = a & 0x80 != 0;
        let magnitude = a & 0x7F;
        let u = ALAW_TO_ULAW_MAGNITUDE[magnitude] as usize;
        table[code] = if positive {
            (0xFF - u) as u8
        } else {
            (0x7F - u) as u8
        };
        code += 1;
    }
    table
}

static ULAW_TO_ALAW: [u8; 256] = build_ulaw_to_alaw();
static ALAW_TO_ULAW: [u8; 256] = build_alaw_to_ulaw();

/// Converts a µ-law code to an A-law code without going through linear PCM (G.711 Table 3).
#[inline]
pub fn ulaw_to_alaw(code: u8) -> u8 {
    ULAW_TO_ALAW[usize::from(code)]
}

/// Converts an A-law code to a µ-law code without going through linear PCM (G.711 Table 4).
#[inline]
pub fn alaw_to_ulaw(code: u8) -> u8 {
    ALAW_TO_ULAW[usize::from(code)]
}

/// Encodes `pcm` into `out` as µ-law; `out` must be at least as long as `pcm`.
/// Returns the number of bytes written.
pub fn encode_ulaw(pcm: &[i16], out: &mut [u8]) -> usize {
    for (o, &s) in out.iter_mut().zip(pcm) {
        *o = ulaw_encode(s);
    }
    pcm.len().min(out.len())
}

/// Encodes `pcm` into `out` as A-law; `out` must be at least as long as `pcm`.
/// Returns the number of bytes written.
pub fn encode_alaw(pcm: &[i16], out: &mut [u8]) -> usize {
    for (o, &s) in out.iter_mut().zip(pcm) {
        *o = alaw_encode(s);
    }
    pcm.len().min(out.len())
}

/// Decodes µ-law `payload` into `out`; every byte is a valid code. Returns the samples written.
pub fn decode_ulaw(payload: &[u8], out: &mut [i16]) -> usize {
    for (o, &c) in out.iter_mut().zip(payload) {
        *o = ulaw_decode(c);
    }
    payload.len().min(out.len())
}

/// Decodes A-law `payload` into `out`; every byte is a valid code. Returns the samples written.
pub fn decode_alaw(payload: &[u8], out: &mut [i16]) -> usize {
    for (o, &c) in out.iter_mut().zip(payload) {
        *o = alaw_decode(c);
    }
    payload.len().min(out.len())
}

/// Rewrites a µ-law payload as A-law in place (G.711 Table 3).
pub fn transcode_ulaw_to_alaw(payload: &mut [u8]) {
    for c in payload {
        *c = ulaw_to_alaw(*c);
    }
}

/// Rewrites an A-law payload as µ-law in place (G.711 Table 4).
pub fn transcode_alaw_to_ulaw(payload: &mut [u8]) {
    for c in payload {
        *c = alaw_to_ulaw(*c);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // ITU-T G.711 Table 1/2: the largest decoder outputs, and zero's two codes.
    #[test]
    fn extreme_levels() {
        assert_eq!(ulaw_decode(0x80), 32124);
        assert_eq!(ulaw_decode(0x00), -32124);
        assert_eq!(ulaw_decode(0xFF), 0);
        assert_eq!(ulaw_decode(0x7F), 0);
        assert_eq!(alaw_decode(0xAA), 32256);
        assert_eq!(alaw_decode(0x2A), -32256);
        assert_eq!(alaw_decode(0xD5), 8);
        assert_eq!(alaw_decode(0x55), -8);
        assert_eq!(ulaw_encode(0), 0xFF);
        assert_eq!(ulaw_encode(-1), 0x7F);
        assert_eq!(alaw_encode(0), 0xD5);
        assert_eq!(alaw_encode(-1), 0x55);
        assert_eq!(ulaw_encode(i16::MAX), 0x80);
        assert_eq!(ulaw_encode(i16::MIN), 0x00);
    }

    #[test]
    fn every_code_round_trips_through_its_level() {
        for code in 0..=255u8 {
            // µ-law has two zero codes (0xFF and 0x7F); both decode to 0, which encodes as 0xFF.
            let u = ulaw_encode(ulaw_decode(code));
            assert!(
                u == code || (code == 0x7F && u == 0xFF),
                "µ-law {code:#04x} -> {u:#04x}"
            );
            assert_eq!(alaw_encode(alaw_decode(code)), code, "A-law {code:#04x}");
        }
    }

    #[test]
    fn encoding_is_monotonic() {
        let (mut last_u, mut last_a) = (i16::MIN, i16::MIN);
        for x in i16::MIN..=i16::MAX {
            let u = ulaw_decode(ulaw_encode(x));
            let a = alaw_decode(alaw_encode(x));
            assert!(u >= last_u && a >= last_a, "not monotonic at {x}");
            (last_u, last_a) = (u, a);
        }
    }

    #[test]
    fn transcoding_tables_are_sign_symmetric() {
        for code in 0..=255u8 {
            assert_eq!(ulaw_to_alaw(code ^ 0x80), ulaw_to_alaw(code) ^ 0x80);
            assert_eq!(alaw_to_ulaw(code ^ 0x80), alaw_to_ulaw(code) ^ 0x80);
        }
    }
}
