//! Per-20-ms-frame cost of every codec operation on the media path (issue figures in README).
//!
//! Input is twelve seconds of espeak-ng speech (testkit), cycled frame by frame, so the
//! encoders see real speech rather than silence.
#![allow(missing_docs, clippy::unwrap_used)]

use std::{hint::black_box, time::Duration};

use codec_transcoder::{
    Codec, Resampler, SampleRate, Transcoder, TranscoderConfig, g711, g722,
    opus::{OpusEncoder, OpusEncoderConfig},
};
use criterion::{Criterion, criterion_group, criterion_main};

/// Frames of `ms` at `rate`, cycled.
struct Frames {
    frames: Vec<Vec<i16>>,
    next: usize,
}

impl Frames {
    fn new(rate: u32, ms: u32) -> Self {
        let pcm = testkit::audio::speech(rate);
        let n = (rate / 1000 * ms) as usize;
        Self {
            frames: pcm.chunks_exact(n).map(<[i16]>::to_vec).collect(),
            next: 0,
        }
    }

    fn next(&mut self) -> &[i16] {
        self.next = (self.next + 1) % self.frames.len();
        &self.frames[self.next]
    }
}

fn encoded(codec: Codec, rate: u32) -> Vec<Vec<u8>> {
    let mut frames = Frames::new(rate, 20);
    let mut enc = codec_transcoder::AudioEncoder::new(codec, &Default::default()).unwrap();
    (0..frames.frames.len())
        .map(|_| {
            let mut p = Vec::new();
            enc.encode(frames.next(), &mut p).unwrap();
            p
        })
        .collect()
}

fn g711(c: &mut Criterion) {
    let mut frames = Frames::new(8000, 20);
    let mut codes = [0u8; 160];
    let mut pcm = [0i16; 160];
    c.bench_function("g711/ulaw encode+decode 20ms", |b| {
        b.iter(|| {
            g711::encode_ulaw(black_box(frames.next()), &mut codes);
            g711::decode_ulaw(black_box(&codes), &mut pcm);
        })
    });
    c.bench_function("g711/alaw encode+decode 20ms", |b| {
        b.iter(|| {
            g711::encode_alaw(black_box(frames.next()), &mut codes);
            g711::decode_alaw(black_box(&codes), &mut pcm);
        })
    });
    c.bench_function("g711/ulaw->alaw table 20ms", |b| {
        b.iter(|| g711::transcode_ulaw_to_alaw(black_box(&mut codes)))
    });
}

fn g722(c: &mut Criterion) {
    let mut frames = Frames::new(16000, 20);
    let mut enc = g722::Encoder::new();
    let mut out = Vec::with_capacity(160);
    c.bench_function("g722/encode 20ms", |b| {
        b.iter(|| {
            out.clear();
            enc.encode(black_box(frames.next()), &mut out).unwrap();
        })
    });
    let payloads = encoded(Codec::G722, 16000);
    let mut dec = g722::Decoder::new();
    let mut pcm = Vec::with_capacity(320);
    let mut i = 0;
    c.bench_function("g722/decode 20ms", |b| {
        b.iter(|| {
            i = (i + 1) % payloads.len();
            pcm.clear();
            dec.decode(black_box(&payloads[i]), &mut pcm);
        })
    });
}

fn resample(c: &mut Criterion) {
    for (from, to) in [
        (SampleRate::Hz8000, SampleRate::Hz48000),
        (SampleRate::Hz48000, SampleRate::Hz8000),
        (SampleRate::Hz8000, SampleRate::Hz16000),
        (SampleRate::Hz16000, SampleRate::Hz8000),
    ] {
        let mut frames = Frames::new(from.hz(), 20);
        let mut r = Resampler::new(from, to).unwrap();
        let mut out = Vec::with_capacity(to.samples_in_ms(40));
        c.bench_function(
            &format!("resample/{}k->{}k 20ms", from.hz() / 1000, to.hz() / 1000),
            |b| {
                b.iter(|| {
                    out.clear();
                    r.process(black_box(frames.next()), &mut out).unwrap();
                })
            },
        );
    }
}

fn chains(c: &mut Criterion) {
    let forced = TranscoderConfig {
        opus_rate: Some(SampleRate::Hz48000),
        ..TranscoderConfig::default()
    };
    let cases: [(&str, Codec, Codec, TranscoderConfig, u32); 6] = [
        (
            "chain/PCMU->opus (opus at 48k, resampled)",
            Codec::Pcmu,
            Codec::Opus,
            forced,
            8000,
        ),
        (
            "chain/PCMU->opus (opus at 8k, no resampler)",
            Codec::Pcmu,
            Codec::Opus,
            TranscoderConfig::default(),
            8000,
        ),
        (
            "chain/opus 48k->PCMU (decode 48k, resampled)",
            Codec::Opus,
            Codec::Pcmu,
            forced,
            48000,
        ),
        (
            "chain/opus 48k->PCMU (decode at 8k)",
            Codec::Opus,
            Codec::Pcmu,
            TranscoderConfig::default(),
            48000,
        ),
        (
            "chain/PCMU->G722",
            Codec::Pcmu,
            Codec::G722,
            TranscoderConfig::default(),
            8000,
        ),
        (
            "chain/G722->PCMU",
            Codec::G722,
            Codec::Pcmu,
            TranscoderConfig::default(),
            16000,
        ),
    ];
    for (name, from, to, config, rate) in cases {
        let payloads = encoded(from, rate);
        let mut t = Transcoder::new(from, to, &config).unwrap();
        let mut out = Vec::with_capacity(1500);
        let mut i = 0;
        c.bench_function(name, |b| {
            b.iter(|| {
                i = (i + 1) % payloads.len();
                t.push(black_box(&payloads[i])).unwrap();
                while t.poll_packet(&mut out).unwrap().is_some() {
                    out.clear();
                }
            })
        });
    }
    let mut frames = Frames::new(48000, 20);
    let mut enc = OpusEncoder::new(SampleRate::Hz48000, &OpusEncoderConfig::default()).unwrap();
    let mut out = Vec::with_capacity(1500);
    c.bench_function("opus/encode 48k c5 24kbit/s 20ms", |b| {
        b.iter(|| {
            out.clear();
            enc.encode(black_box(frames.next()), &mut out).unwrap();
        })
    });
}

fn config() -> Criterion {
    Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
}

criterion_group! { name = benches; config = config(); targets = g711, g722, resample, chains }
criterion_main!(benches);
