//! One G.722 sub-band's adaptive state: the log scale factor (blocks 3L/3H) and the pole-zero
//! predictor of block 4 (G.722 §3.6: RECONS, PARREC, UPPOL2, UPPOL1, UPZERO, DELAYA, FILTEP,
//! FILTEZ, PREDIC), shared by the lower and higher bands of encoder and decoder.

use super::saturate;

/// Scale factor constants of one sub-band.
pub(super) struct Tables {
    /// Log scale factor multipliers by magnitude class (WL or WH).
    pub(super) multipliers: &'static [i32],
    /// Upper limit of the log scale factor (18432 lower, 22528 higher).
    pub(super) max_log_scale: i32,
    /// Exponent offset in SCALEL/SCALEH (8 lower, 10 higher).
    pub(super) scale_shift: i32,
}

/// Inverse log table for the scale factor (G.722 Table 14, `ILB`).
const ILB: [i32; 32] = [
    2048, 2093, 2139, 2186, 2233, 2282, 2332, 2383, 2435, 2489, 2543, 2599, 2656, 2714, 2774, 2834,
    2896, 2960, 3025, 3091, 3158, 3228, 3298, 3371, 3444, 3520, 3597, 3676, 3756, 3838, 3922, 4008,
];

#[derive(Debug, Clone)]
pub(super) struct Band {
    /// Predicted signal (PREDIC output), the value the next difference is taken against.
    pub(super) s: i32,
    sp: i32,
    sz: i32,
    /// Reconstructed signal history r(n), r(n-1), r(n-2).
    r: [i32; 3],
    /// Pole coefficients a1, a2 (index 0 unused) and their next values.
    a: [i32; 3],
    ap: [i32; 3],
    /// Partially reconstructed signal history p(n), p(n-1), p(n-2).
    p: [i32; 3],
    /// Quantised difference history d(n) .. d(n-6).
    d: [i32; 7],
    /// Zero coefficients b1..b6 (index 0 unused) and their next values.
    b: [i32; 7],
    bp: [i32; 7],
    /// Log scale factor (NBL/NBH).
    nb: i32,
    /// Scale factor (DETL/DETH).
    pub(super) det: i32,
}

impl Band {
    fn new(det: i32) -> Self {
        Self {
            s: 0,
            sp: 0,
            sz: 0,
            r: [0; 3],
            a: [0; 3],
            ap: [0; 3],
            p: [0; 3],
            d: [0; 7],
            b: [0; 7],
            bp: [0; 7],
            nb: 0,
            det,
        }
    }

    /// Reset state of the lower band (DETL = 32).
    pub(super) fn new_lower() -> Self {
        Self::new(32)
    }

    /// Reset state of the higher band (DETH = 8).
    pub(super) fn new_higher() -> Self {
        Self::new(8)
    }

    /// LOGSCL/LOGSCH then SCALEL/SCALEH (blocks 3L/3H): update the scale factor from the
    /// magnitude class of the code just sent or received.
    #[inline(always)]
    pub(super) fn adapt_scale(&mut self, t: &Tables, class: usize) {
        let nb = ((self.nb * 127) >> 7) + t.multipliers[class];
        self.nb = nb.clamp(0, t.max_log_scale);
        let mantissa = ILB[((self.nb >> 6) & 31) as usize];
        let shift = t.scale_shift - (self.nb >> 11);
        let det = if shift < 0 {
            mantissa << -shift
        } else {
            mantissa >> shift
        };
        self.det = det << 2;
    }

    /// Block 4: reconstruct, adapt the pole and zero coefficients, shift the delay lines and
    /// compute the next prediction, given the quantised difference `d`.
    #[inline(always)]
    pub(super) fn predict(&mut self, d: i32) {
        // RECONS, PARREC
        self.d[0] = d;
        self.r[0] = saturate(self.s + d);
        self.p[0] = saturate(self.sz + d);

        // UPPOL2: second pole coefficient.
        let sg0 = self.p[0] >> 15;
        let sg1 = self.p[1] >> 15;
        let sg2 = self.p[2] >> 15;
        let wd1 = saturate(self.a[1] << 2);
        let wd2 = if sg0 == sg1 { -wd1 } else { wd1 }.min(32767);
        let wd3 = (wd2 >> 7) + if sg0 == sg2 { 128 } else { -128 } + ((self.a[2] * 32512) >> 15);
        self.ap[2] = wd3.clamp(-12288, 12288);

        // UPPOL1: first pole coefficient, limited by the second.
        let ap1 = if sg0 == sg1 { 192 } else { -192 } + ((self.a[1] * 32640) >> 15);
        let limit = saturate(15360 - self.ap[2]);
        self.ap[1] = ap1.clamp(-limit, limit);

        // UPZERO: sixth-order zero section, sign-sign adaptation.
        let step = if d == 0 { 0 } else { 128 };
        let sg_d = d >> 15;
        for i in 1..7 {
            let same = (self.d[i] >> 15) == sg_d;
            let wd2 = if same { step } else { -step };
            self.bp[i] = saturate(wd2 + ((self.b[i] * 32640) >> 15));
        }

        // DELAYA
        for i in (1..7).rev() {
            self.d[i] = self.d[i - 1];
            self.b[i] = self.bp[i];
        }
        for i in (1..3).rev() {
            self.r[i] = self.r[i - 1];
            self.p[i] = self.p[i - 1];
            self.a[i] = self.ap[i];
        }

        // FILTEP: pole section output.
        let wd1 = (self.a[1] * saturate(self.r[1] + self.r[1])) >> 15;
        let wd2 = (self.a[2] * saturate(self.r[2] + self.r[2])) >> 15;
        self.sp = saturate(wd1 + wd2);

        // FILTEZ: zero section output.
        let mut sz = 0;
        for i in (1..7).rev() {
            sz += (self.b[i] * saturate(self.d[i] + self.d[i])) >> 15;
        }
        self.sz = saturate(sz);

        // PREDIC
        self.s = saturate(self.sp + self.sz);
    }
}
