//! Packet loss concealment for waveform codecs (G.711, G.722, L16), in the style of
//! ITU-T G.711 Appendix I: pitch-synchronous waveform substitution.
//!
//! When a frame is lost, the pitch period `P` of the last 20 ms of good audio is found by
//! normalised cross-correlation (coarse at 4 kHz, then refined at the full rate). The lost audio
//! is replaced by repeating the last period; after 10 ms of loss the last two periods, after 20 ms
//! the last three, which avoids the buzzy sound of a single repeated cycle. Every wrap of the
//! repetition is smoothed by a quarter-period overlap-add (OLA). From 10 ms into the loss the
//! signal fades by 20 % per 10 ms and is silent after 60 ms. The first good frame after a loss
//! is merged into the synthetic signal by an OLA of a quarter period plus 4 ms per extra 10 ms of
//! loss (at most 10 ms).
//!
//! Unlike Appendix I this concealer adds **no delay**: Appendix I holds back 3.75 ms so that it can
//! also blend the last good samples into the substitute. Here the substitute starts in phase
//! with the last good period instead (the correlation search makes that seam small), which keeps
//! the decoded path at zero algorithmic delay.
//!
//! The sizes scale with the sample rate: at 8 kHz the history is 390 samples (48.75 ms, three
//! periods of the longest pitch plus a quarter), the pitch range 40–120 samples (5–15 ms).

use crate::SampleRate;

/// Pitch-synchronous concealment state for one decoded stream.
#[derive(Debug, Clone)]
pub struct Concealer {
    /// Samples per 8 kHz sample (1, 2, 3 or 6).
    scale: usize,
    pitch_min: usize,
    pitch_max: usize,
    correlation_len: usize,
    ten_ms: usize,
    /// The last `history.len()` output samples, oldest first.
    history: Vec<f32>,
    /// Samples concealed in the current loss; 0 when the last frame was good.
    erased: usize,
    pitch: usize,
    quarter: usize,
    /// A copy of the last `3 * pitch + quarter` samples taken when the loss began.
    period_buf: Vec<f32>,
    /// How many periods the repetition currently loops over (1 to 3).
    periods: usize,
    /// Read position in `period_buf`.
    pos: usize,
}

impl Concealer {
    /// Creates a concealer for audio at `rate`.
    pub fn new(rate: SampleRate) -> Self {
        let scale = (rate.hz() / 8000) as usize;
        let history_len = 390 * scale;
        Self {
            scale,
            pitch_min: 40 * scale,
            pitch_max: 120 * scale,
            correlation_len: 160 * scale,
            ten_ms: 80 * scale,
            history: vec![0.0; history_len],
            erased: 0,
            pitch: 0,
            quarter: 0,
            period_buf: Vec::with_capacity(history_len),
            periods: 1,
            pos: 0,
        }
    }

    /// Whether the last call was [`conceal`](Self::conceal).
    pub fn in_loss(&self) -> bool {
        self.erased > 0
    }

    /// Records a correctly decoded frame. If it ends a loss, its start is blended with the
    /// continuing substitute signal in place.
    pub fn received(&mut self, frame: &mut [i16]) {
        if self.erased > 0 {
            let extra_tens = (self.erased.div_ceil(self.ten_ms)).saturating_sub(1);
            let ola_len = (self.quarter + extra_tens * 4 * self.ten_ms / 10)
                .min(self.ten_ms)
                .min(frame.len());
            for (i, sample) in frame.iter_mut().take(ola_len).enumerate() {
                let synthetic = self.next_substitute_sample();
                let w = (i + 1) as f32 / (ola_len + 1) as f32;
                let mixed = synthetic * (1.0 - w) + f32::from(*sample) * w;
                *sample = clamp_i16(mixed);
            }
            self.erased = 0;
        }
        self.push_history_i16(frame);
    }

    /// Fills `out` with substitute audio for lost samples.
    pub fn conceal(&mut self, out: &mut [i16]) {
        if self.erased == 0 {
            self.start_loss();
        }
        for sample in out.iter_mut() {
            *sample = clamp_i16(self.next_substitute_sample());
        }
        self.push_history_i16(out);
    }

    fn start_loss(&mut self) {
        self.pitch = self.find_pitch();
        self.quarter = (self.pitch / 4).max(1);
        let len = 3 * self.pitch + self.quarter;
        let start = self.history.len() - len;
        self.period_buf.clear();
        self.period_buf.extend_from_slice(&self.history[start..]);
        self.periods = 1;
        // Continue one period back: the sample after the last good one is `len - pitch`.
        self.pos = len - self.pitch;
    }

    /// The next substitute sample, with the period loop, OLA at each wrap and the fade.
    fn next_substitute_sample(&mut self) -> f32 {
        let tens = self.erased / self.ten_ms;
        let wanted_periods = (tens + 1).min(3);
        if wanted_periods > self.periods {
            // The read position lies in the last period, which every wider window contains.
            self.periods = wanted_periods;
        }
        let len = self.period_buf.len();
        let window = self.periods * self.pitch;
        let from_end = len - self.pos;
        let raw = if from_end <= self.quarter {
            // Blend towards the samples just before the window start, which run smoothly
            // into the window start we wrap to.
            let i = self.quarter - from_end;
            let w = (i + 1) as f32 / (self.quarter + 1) as f32;
            self.period_buf[self.pos] * (1.0 - w) + self.period_buf[self.pos - window] * w
        } else {
            self.period_buf[self.pos]
        };
        self.pos += 1;
        if self.pos == len {
            self.pos = len - window;
        }
        let gain = fade_gain(self.erased, self.ten_ms);
        self.erased += 1;
        raw * gain
    }

    /// Pitch period with the best normalised correlation over the last 20 ms.
    fn find_pitch(&self) -> usize {
        let h = &self.history;
        let end = h.len();
        let w = self.correlation_len;
        let coarse_step = 2 * self.scale;
        let score = |lag: usize, step: usize| -> f32 {
            let mut cross = 0.0f32;
            let mut energy = 0.0f32;
            let mut i = end - w;
            while i < end {
                let past = h[i - lag];
                cross += h[i] * past;
                energy += past * past;
                i += step;
            }
            if energy <= 1.0 {
                0.0
            } else {
                cross / energy.sqrt()
            }
        };
        let mut best = self.pitch_max;
        let mut best_score = f32::MIN;
        let mut lag = self.pitch_min;
        while lag <= self.pitch_max {
            let s = score(lag, coarse_step);
            if s > best_score {
                best_score = s;
                best = lag;
            }
            lag += coarse_step;
        }
        let lo = best.saturating_sub(coarse_step).max(self.pitch_min);
        let hi = (best + coarse_step).min(self.pitch_max);
        best_score = f32::MIN;
        for lag in lo..=hi {
            let s = score(lag, 1);
            if s > best_score {
                best_score = s;
                best = lag;
            }
        }
        best
    }

    fn push_history_i16(&mut self, frame: &[i16]) {
        let n = frame.len().min(self.history.len());
        self.history.copy_within(n.., 0);
        let start = self.history.len() - n;
        for (dst, &src) in self.history[start..]
            .iter_mut()
            .zip(&frame[frame.len() - n..])
        {
            *dst = f32::from(src);
        }
    }
}

/// 1.0 for the first 10 ms of a loss, then −20 % per 10 ms, silent from 60 ms.
fn fade_gain(erased: usize, ten_ms: usize) -> f32 {
    if erased < ten_ms {
        1.0
    } else {
        (1.0 - 0.2 * (erased - ten_ms) as f32 / ten_ms as f32).max(0.0)
    }
}

fn clamp_i16(v: f32) -> i16 {
    v.round().clamp(f32::from(i16::MIN), f32::from(i16::MAX)) as i16
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sine(rate: u32, hz: f32, amp: f32, start: usize, n: usize) -> Vec<i16> {
        (start..start + n)
            .map(|i| {
                (amp * (2.0 * std::f32::consts::PI * hz * i as f32 / rate as f32).sin()) as i16
            })
            .collect()
    }

    fn snr_db(reference: &[i16], test: &[i16]) -> f64 {
        let (mut s, mut e) = (0.0f64, 0.0f64);
        for (&r, &t) in reference.iter().zip(test) {
            s += f64::from(r) * f64::from(r);
            e += (f64::from(r) - f64::from(t)).powi(2);
        }
        10.0 * (s / e.max(1e-9)).log10()
    }

    #[test]
    fn periodic_signal_is_continued_in_phase() {
        for rate in [SampleRate::Hz8000, SampleRate::Hz16000, SampleRate::Hz48000] {
            let hz = rate.hz();
            let frame = (hz / 50) as usize;
            let mut plc = Concealer::new(rate);
            // 200 Hz has a period of exactly 40 samples at 8 kHz, inside the pitch range.
            for k in 0..5 {
                let mut f = sine(hz, 200.0, 8000.0, k * frame, frame);
                plc.received(&mut f);
            }
            let mut lost = vec![0i16; frame / 2];
            plc.conceal(&mut lost);
            let expected = sine(hz, 200.0, 8000.0, 5 * frame, frame / 2);
            let snr = snr_db(&expected, &lost);
            assert!(
                snr > 25.0,
                "{hz} Hz: first 10 ms of concealment SNR {snr:.1} dB"
            );
        }
    }

    #[test]
    fn loss_fades_to_silence_after_60_ms() {
        let mut plc = Concealer::new(SampleRate::Hz8000);
        for k in 0..5 {
            let mut f = sine(8000, 150.0, 10000.0, k * 160, 160);
            plc.received(&mut f);
        }
        let mut out = vec![0i16; 160];
        let mut peaks = Vec::new();
        for _ in 0..4 {
            plc.conceal(&mut out);
            peaks.push(out.iter().map(|s| s.unsigned_abs()).max().unwrap_or(0));
        }
        // 0–20 ms loud, 20–40 ms quieter, 40–60 ms quieter still, 60–80 ms silent.
        assert!(peaks[0] > 9000, "{peaks:?}");
        assert!(peaks[1] < peaks[0] && peaks[2] < peaks[1], "{peaks:?}");
        assert_eq!(peaks[3], 0, "{peaks:?}");
    }

    #[test]
    fn recovery_has_no_click() {
        let mut plc = Concealer::new(SampleRate::Hz8000);
        let mut all = Vec::new();
        for k in 0..8 {
            let mut f = sine(8000, 180.0, 12000.0, k * 160, 160);
            if k == 5 {
                plc.conceal(&mut f);
            } else {
                plc.received(&mut f);
            }
            all.extend_from_slice(&f);
        }
        // A 180 Hz sine at 12000 moves at most 2*pi*180/8000*12000 ≈ 1700 per sample.
        let max_step = all
            .windows(2)
            .map(|w| (i32::from(w[1]) - i32::from(w[0])).abs())
            .max();
        assert!(max_step.unwrap_or(0) < 3000, "step {max_step:?}");
    }

    #[test]
    fn silence_stays_silent() {
        let mut plc = Concealer::new(SampleRate::Hz16000);
        let mut f = vec![0i16; 320];
        plc.received(&mut f);
        plc.conceal(&mut f);
        assert!(f.iter().all(|&s| s == 0));
    }
}
