//! Test audio: speech from espeak-ng, synthetic signals, WAV files and comparisons.

use std::path::Path;

use crate::tools::{require, run, scratch_dir};

/// The sentence every speech test speaks (about 17 s at 150 words per minute).
const SPEECH_TEXT: &str = "Welcome to the media plane test call. The quick brown fox jumps over \
    the lazy dog, while seven wise owls count from one to twenty. Please hold the line: your call \
    is important to us. The numbers are three, eight, fifteen, forty two and ninety nine. \
    Thank you for calling, and goodbye.";

/// Twelve seconds of English speech at `rate` Hz, mono, peak-normalised to -3 dBFS, generated
/// with espeak-ng and sox on first use and cached in the scratch directory.
pub fn speech(rate: u32) -> Vec<i16> {
    static GENERATING: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let raw = scratch_dir().join(format!("speech_{rate}.s16"));
    let guard = GENERATING.lock().unwrap_or_else(|e| e.into_inner());
    if !raw.exists() {
        let espeak = require("espeak-ng");
        let sox = require("sox");
        let pid = std::process::id();
        let voice = scratch_dir().join(format!("speech_src.{pid}.wav"));
        run(
            &espeak,
            &[
                "-v",
                "en-us",
                "-s",
                "150",
                "-w",
                path_str(&voice),
                SPEECH_TEXT,
            ],
            &[],
        );
        let tmp = scratch_dir().join(format!("speech_{rate}.{pid}.s16"));
        let rate_s = rate.to_string();
        run(
            &sox,
            &[
                path_str(&voice),
                "-D",
                "-r",
                &rate_s,
                "-c",
                "1",
                "-b",
                "16",
                "-e",
                "signed-integer",
                "-t",
                "raw",
                path_str(&tmp),
                "norm",
                "-3",
                "trim",
                "0",
                "12",
            ],
            &[],
        );
        let _ = std::fs::remove_file(&voice);
        std::fs::rename(&tmp, &raw).expect("cache speech");
    }
    drop(guard);
    let pcm = bytes_to_pcm(&std::fs::read(&raw).expect("read speech"));
    assert!(
        pcm.len() >= rate as usize * 10,
        "espeak-ng produced less than 10 s of speech"
    );
    pcm
}

/// A path as `&str` (test paths are UTF-8).
pub fn path_str(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

/// Little-endian bytes of `pcm`.
pub fn pcm_to_bytes(pcm: &[i16]) -> Vec<u8> {
    pcm.iter().flat_map(|s| s.to_le_bytes()).collect()
}

/// Samples from little-endian bytes (a trailing odd byte is ignored).
pub fn bytes_to_pcm(bytes: &[u8]) -> Vec<i16> {
    bytes
        .chunks_exact(2)
        .map(|b| i16::from_le_bytes([b[0], b[1]]))
        .collect()
}

/// A sine of `hz` at peak `amplitude`.
pub fn tone(rate: u32, hz: f64, amplitude: f64, samples: usize) -> Vec<i16> {
    (0..samples)
        .map(|i| {
            (amplitude * (2.0 * std::f64::consts::PI * hz * i as f64 / f64::from(rate)).sin())
                .round() as i16
        })
        .collect()
}

/// A logarithmic sine sweep from `from_hz` to `to_hz`.
pub fn sweep(rate: u32, from_hz: f64, to_hz: f64, amplitude: f64, samples: usize) -> Vec<i16> {
    let duration = samples as f64 / f64::from(rate);
    let k = (to_hz / from_hz).ln();
    (0..samples)
        .map(|i| {
            let t = i as f64 / f64::from(rate);
            let phase = 2.0 * std::f64::consts::PI * from_hz * duration / k
                * ((t / duration * k).exp() - 1.0);
            (amplitude * phase.sin()).round() as i16
        })
        .collect()
}

/// A full-scale square wave of `hz`.
pub fn square(rate: u32, hz: f64, samples: usize) -> Vec<i16> {
    let half = f64::from(rate) / hz / 2.0;
    (0..samples)
        .map(|i| {
            if ((i as f64 / half) as u64).is_multiple_of(2) {
                i16::MAX
            } else {
                i16::MIN
            }
        })
        .collect()
}

/// Deterministic white noise at full scale (xorshift).
pub fn noise(samples: usize, seed: u64) -> Vec<i16> {
    let mut x = seed | 1;
    (0..samples)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 48) as u16 as i16
        })
        .collect()
}

/// Signal-to-noise ratio of `test` against `reference` in dB, over their common length.
pub fn snr_db(reference: &[i16], test: &[i16]) -> f64 {
    let (mut signal, mut error) = (0.0f64, 0.0f64);
    for (&r, &t) in reference.iter().zip(test) {
        signal += f64::from(r).powi(2);
        error += (f64::from(r) - f64::from(t)).powi(2);
    }
    if error == 0.0 {
        f64::INFINITY
    } else {
        10.0 * (signal / error).log10()
    }
}

/// The lag in `0..=max_lag` at which `test` best matches `reference` (test delayed by lag).
pub fn best_lag(reference: &[i16], test: &[i16], max_lag: usize) -> usize {
    let window = reference
        .len()
        .min(test.len().saturating_sub(max_lag))
        .min(48_000);
    let start = reference.len().min(window) / 4;
    let score = |lag: usize| -> f64 {
        (start..window)
            .step_by(2)
            .map(|i| f64::from(reference[i]) * f64::from(test[i + lag]))
            .sum()
    };
    (0..=max_lag)
        .max_by(|&a, &b| score(a).total_cmp(&score(b)))
        .unwrap_or(0)
}

/// Amplitude of the `hz` component of `x` (Goertzel), relative to a full-scale sine.
pub fn goertzel(x: &[i16], rate: u32, hz: f64) -> f64 {
    let w = 2.0 * std::f64::consts::PI * hz / f64::from(rate);
    let coeff = 2.0 * w.cos();
    let (mut s1, mut s2) = (0.0f64, 0.0f64);
    for &v in x {
        let s0 = f64::from(v) + coeff * s1 - s2;
        s2 = s1;
        s1 = s0;
    }
    let power = s1 * s1 + s2 * s2 - coeff * s1 * s2;
    2.0 * power.max(0.0).sqrt() / x.len() as f64 / 32768.0
}

/// Writes a PCM16 WAV file.
pub fn write_wav(path: &Path, rate: u32, channels: u16, pcm: &[i16]) {
    let data_len = (pcm.len() * 2) as u32;
    let mut b = Vec::with_capacity(44 + pcm.len() * 2);
    b.extend_from_slice(b"RIFF");
    b.extend_from_slice(&(36 + data_len).to_le_bytes());
    b.extend_from_slice(b"WAVEfmt ");
    b.extend_from_slice(&16u32.to_le_bytes());
    b.extend_from_slice(&1u16.to_le_bytes());
    b.extend_from_slice(&channels.to_le_bytes());
    b.extend_from_slice(&rate.to_le_bytes());
    b.extend_from_slice(&(rate * u32::from(channels) * 2).to_le_bytes());
    b.extend_from_slice(&(channels * 2).to_le_bytes());
    b.extend_from_slice(&16u16.to_le_bytes());
    b.extend_from_slice(b"data");
    b.extend_from_slice(&data_len.to_le_bytes());
    b.extend_from_slice(&pcm_to_bytes(pcm));
    std::fs::write(path, b).expect("write wav");
}

/// Asserts `ours == theirs`, reporting the length, the first differing index and the number of
/// differences instead of printing both sequences.
pub fn assert_same<T: PartialEq + std::fmt::Debug>(name: &str, ours: &[T], theirs: &[T]) {
    let differing = ours.iter().zip(theirs).filter(|(a, b)| a != b).count();
    if let Some(i) = ours.iter().zip(theirs).position(|(a, b)| a != b) {
        panic!(
            "{name}: {differing} of {} differ; first at {i}: ours {:?}, theirs {:?}",
            ours.len(),
            ours[i],
            theirs[i]
        );
    }
    assert_eq!(ours.len(), theirs.len(), "{name}: lengths differ");
}
