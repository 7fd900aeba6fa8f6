//! Streaming sample-rate conversion between 8, 16, 24 and 48 kHz through rubato's synchronous
//! FFT resampler.
//!
//! **Latency.** Audio is converted in blocks of [`Resampler::CHUNK_MS`] (20 ms): rubato's FFT
//! filter needs a block that long to keep the pass band flat to 0.425 × the lower rate (3.4 kHz
//! at 8 kHz; with 10 ms blocks 3.4 kHz comes out 10 dB down). The filter delays the audio by
//! half a block, **10 ms**, for every pair of rates. Frames of 20 ms (or multiples) add nothing
//! more; shorter frames also wait for the block to fill (10 ms frames: 10 ms more).
//! [`Resampler::delay_samples`] reports the sum for the frame size last pushed. After that
//! initial delay the input follows sample-exactly: each 20 ms in gives exactly 20 ms out, so a
//! stream never drifts.

use rubato::{
    Fft, FixedSync, Resampler as _, WindowFunction, audioadapter_buffers::direct::SequentialSlice,
};

use crate::{Error, SampleRate};

/// A mono streaming resampler for one direction of one stream.
pub struct Resampler {
    inner: Fft<f32>,
    from: SampleRate,
    to: SampleRate,
    in_chunk: usize,
    input: Vec<f32>,
    output: Vec<f32>,
    /// Length of the last input pushed, to report the block-filling wait.
    last_push: usize,
}

impl std::fmt::Debug for Resampler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Resampler")
            .field("from", &self.from)
            .field("to", &self.to)
            .finish()
    }
}

impl Resampler {
    /// Input is converted in blocks of this many milliseconds.
    pub const CHUNK_MS: u32 = 20;

    /// A resampler from `from` to `to` (which may be equal: then it only re-chunks).
    pub fn new(from: SampleRate, to: SampleRate) -> Result<Self, Error> {
        let in_chunk = from.samples_in_ms(Self::CHUNK_MS);
        let inner = Fft::<f32>::new_custom(
            from.hz() as usize,
            to.hz() as usize,
            in_chunk,
            1,
            1,
            WindowFunction::BlackmanHarris2,
            FixedSync::Both,
        )
        .map_err(|_| Error::Resampler {
            from,
            to,
            reason: "rubato rejected the rates",
        })?;
        debug_assert_eq!(inner.input_frames_next(), in_chunk);
        let out_max = inner.output_frames_max();
        Ok(Self {
            inner,
            from,
            to,
            in_chunk,
            input: Vec::with_capacity(in_chunk),
            output: vec![0.0; out_max],
            last_push: in_chunk,
        })
    }

    /// Input rate.
    pub fn from_rate(&self) -> SampleRate {
        self.from
    }

    /// Output rate.
    pub fn to_rate(&self) -> SampleRate {
        self.to
    }

    /// The delay this resampler adds, in samples at the output rate: rubato's filter delay
    /// (10 ms) plus the wait for a full block given the size of the last input pushed.
    pub fn delay_samples(&self) -> usize {
        let wait_in = self.in_chunk - gcd(self.last_push.max(1), self.in_chunk);
        let wait_out = wait_in * self.to.hz() as usize / self.from.hz() as usize;
        self.inner.output_delay() + wait_out
    }

    /// Feeds `input` and appends every output sample it completes to `out`. Returns how many
    /// were appended.
    pub fn process(&mut self, mut input: &[i16], out: &mut Vec<i16>) -> Result<usize, Error> {
        let start = out.len();
        if !input.is_empty() {
            self.last_push = input.len();
        }
        while !input.is_empty() {
            let take = (self.in_chunk - self.input.len()).min(input.len());
            self.input
                .extend(input[..take].iter().map(|&s| f32::from(s)));
            input = &input[take..];
            if self.input.len() == self.in_chunk {
                self.run_chunk(out)?;
            }
        }
        Ok(out.len() - start)
    }

    fn run_chunk(&mut self, out: &mut Vec<i16>) -> Result<(), Error> {
        let (from, to) = (self.from, self.to);
        let fail = |reason| Error::Resampler { from, to, reason };
        let frames_out = self.inner.output_frames_next();
        let input = SequentialSlice::new(&self.input[..], 1, self.in_chunk)
            .map_err(|_| fail("input buffer"))?;
        let mut output = SequentialSlice::new_mut(&mut self.output[..], 1, frames_out)
            .map_err(|_| fail("output buffer"))?;
        let (_, written) = self
            .inner
            .process_into_buffer(&input, &mut output, None)
            .map_err(|_| fail("process"))?;
        out.extend(
            self.output[..written]
                .iter()
                .map(|&s| s.round().clamp(-32768.0, 32767.0) as i16),
        );
        self.input.clear();
        Ok(())
    }
}

fn gcd(mut a: usize, mut b: usize) -> usize {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tone(rate: SampleRate, hz: f64, n: usize) -> Vec<i16> {
        (0..n)
            .map(|i| {
                (8000.0 * (2.0 * std::f64::consts::PI * hz * i as f64 / f64::from(rate.hz())).sin())
                    as i16
            })
            .collect()
    }

    /// Amplitude of `hz` in `x` (single-bin DFT), relative to a full-scale-8000 sine.
    fn level(x: &[i16], rate: SampleRate, hz: f64) -> f64 {
        let (mut re, mut im) = (0.0, 0.0);
        for (i, &s) in x.iter().enumerate() {
            let ph = 2.0 * std::f64::consts::PI * hz * i as f64 / f64::from(rate.hz());
            re += f64::from(s) * ph.cos();
            im += f64::from(s) * ph.sin();
        }
        2.0 * (re * re + im * im).sqrt() / x.len() as f64 / 8000.0
    }

    #[test]
    fn sample_counts_are_exact_and_the_delay_is_as_documented() {
        for from in SampleRate::ALL {
            for to in SampleRate::ALL {
                let mut r = Resampler::new(from, to).expect("supported");
                let mut out = Vec::new();
                for _ in 0..50 {
                    r.process(&vec![0; from.samples_in_ms(20)], &mut out)
                        .expect("process");
                }
                assert_eq!(out.len(), to.samples_in_ms(1000), "{from:?} -> {to:?}");
                // 20 ms frames: only the 10 ms filter delay.
                assert_eq!(
                    r.delay_samples(),
                    to.samples_in_ms(10),
                    "{from:?} -> {to:?}"
                );
                r.process(&vec![0; from.samples_in_ms(10)], &mut out)
                    .expect("process");
                assert_eq!(
                    r.delay_samples(),
                    to.samples_in_ms(20),
                    "{from:?} -> {to:?} with 10 ms frames"
                );
            }
        }
    }

    #[test]
    fn a_tone_keeps_its_frequency_and_level() {
        for (from, to) in [
            (SampleRate::Hz8000, SampleRate::Hz48000),
            (SampleRate::Hz48000, SampleRate::Hz8000),
            (SampleRate::Hz16000, SampleRate::Hz24000),
            (SampleRate::Hz24000, SampleRate::Hz16000),
        ] {
            // 3.4 kHz is the top of the telephone band: it must pass at 8 kHz too.
            let hz = 3400.0;
            let input = tone(from, hz, from.samples_in_ms(1000));
            let mut r = Resampler::new(from, to).expect("supported");
            let mut out = Vec::new();
            for chunk in input.chunks(from.samples_in_ms(20)) {
                r.process(chunk, &mut out).expect("process");
            }
            let steady = &out[to.samples_in_ms(100)..];
            let l = level(steady, to, hz);
            assert!(
                (0.97..1.03).contains(&l),
                "{from:?}->{to:?}: {hz} Hz at {l:.3}"
            );
            assert!(level(steady, to, 1500.0) < 0.01);
        }
    }

    #[test]
    fn downsampling_removes_what_the_lower_rate_cannot_carry() {
        // 6 kHz at 48 kHz would alias to 2 kHz at 8 kHz without the anti-aliasing filter.
        let input = tone(SampleRate::Hz48000, 6000.0, 48000);
        let mut r = Resampler::new(SampleRate::Hz48000, SampleRate::Hz8000).expect("supported");
        let mut out = Vec::new();
        r.process(&input, &mut out).expect("process");
        let alias = level(&out[800..], SampleRate::Hz8000, 2000.0);
        assert!(alias < 0.01, "alias at {alias:.4}");
    }
}
