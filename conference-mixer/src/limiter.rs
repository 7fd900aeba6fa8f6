//! The output limiter: linear below a threshold, then a smooth exponential knee that
//! approaches full scale but never reaches it — no wrap-around, no hard clipping corner.

/// Below this magnitude the mix passes unchanged (−2.7 dBFS).
pub(crate) const THRESHOLD: i32 = 24_000;
const CEILING: f32 = 32_767.0;

/// Maps a 32-bit sum to 16 bits: identity up to ±24,000, then compressed smoothly toward
/// ±32,767 (the slope is continuous at the threshold).
#[inline]
pub fn limit(x: i32) -> i16 {
    if x.abs() <= THRESHOLD {
        return x as i16;
    }
    let range = CEILING - THRESHOLD as f32;
    let over = (x.abs() - THRESHOLD) as f32;
    let y = THRESHOLD as f32 + range * (1.0 - (-over / range).exp());
    let y = y.min(CEILING) as i16;
    if x < 0 { -y } else { y }
}

/// Limits a whole frame of sums into `out`.
#[inline]
pub(crate) fn limit_into(sums: &[i32], out: &mut [i16]) {
    // Nearly always below the threshold: a vectorised check, then a plain narrowing copy.
    let peak = sums.iter().fold(0i32, |m, &s| m.max(s.saturating_abs()));
    if peak <= THRESHOLD {
        for (o, &s) in out.iter_mut().zip(sums) {
            *o = s as i16;
        }
        return;
    }
    for (o, &s) in out.iter_mut().zip(sums) {
        *o = limit(s);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn linear_below_threshold_smooth_and_bounded_above() {
        for x in [-24_000, -1, 0, 1, 12_345, 24_000] {
            assert_eq!(i32::from(limit(x)), x);
        }
        let mut prev = limit(THRESHOLD);
        for x in (THRESHOLD + 1..1_000_000).step_by(97) {
            let y = limit(x);
            assert!(y >= prev, "monotonic at {x}");
            // Slope never exceeds 1 (no sharp corner).
            assert!(i32::from(y - prev) <= 97);
            prev = y;
            assert_eq!(limit(-x), -y);
        }
        assert!(limit(i32::MAX) == 32_767 && limit(i32::MIN + 1) == -32_767);
    }
}
