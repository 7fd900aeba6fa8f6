//! Conference mixer cost per tick for N ∈ {3, 10, 100, 1,000, 10,000} participants at 8 and
//! 48 kHz (PCM in, PCM out), and one 10,000-participant G.711 conference with decode and
//! encode around the mixer (figures and the plot in the README).
//!
//! Every participant sends speech (cycled from different offsets), so every one is active and
//! competes for the K talker slots: the worst case for the selection, the realistic one for
//! the mix (K = 5 are mixed).
#![allow(missing_docs, clippy::unwrap_used)]

use std::hint::black_box;

use codec_transcoder::g711;
use conference_mixer::{Mixer, MixerConfig, ParticipantId, ParticipantOptions, SampleRate};
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};

fn frames(rate: u32) -> Vec<Vec<i16>> {
    let pcm = testkit::audio::speech(rate);
    let n = rate as usize / 50;
    pcm.chunks_exact(n).map(<[i16]>::to_vec).collect()
}

fn conference(n: usize, rate: SampleRate) -> (Mixer, Vec<ParticipantId>) {
    let mut m = Mixer::new(MixerConfig::default());
    let ids = (0..n)
        .map(|_| {
            m.add(ParticipantOptions {
                rate,
                ..ParticipantOptions::default()
            })
        })
        .collect();
    (m, ids)
}

fn mix_pcm(c: &mut Criterion) {
    for (rate, hz) in [(SampleRate::Hz8000, 8000), (SampleRate::Hz48000, 48_000)] {
        let speech = frames(hz);
        let mut g = c.benchmark_group(format!("mixer tick, PCM {} kHz", hz / 1000));
        for n in [3usize, 10, 100, 1000, 10_000] {
            let (mut m, ids) = conference(n, rate);
            let mut t = 0usize;
            g.throughput(Throughput::Elements(n as u64));
            g.bench_with_input(BenchmarkId::from_parameter(n), &n, |b, _| {
                b.iter(|| {
                    t += 1;
                    for (i, id) in ids.iter().enumerate() {
                        m.input(*id, &speech[(t + i * 7) % speech.len()]);
                    }
                    m.mix();
                    let mut sum = 0usize;
                    for id in &ids {
                        sum += m.output(*id).samples.len();
                    }
                    black_box(sum);
                });
            });
        }
        g.finish();
    }
}

fn g711_conference(c: &mut Criterion) {
    // 10,000 PCMU participants: decode each packet, mix, encode once per distinct output
    // (the K talkers' own mixes and one shared frame for everyone else).
    let n = 10_000;
    let speech = frames(8000);
    let packets: Vec<Vec<u8>> = speech
        .iter()
        .map(|f| {
            let mut p = vec![0u8; f.len()];
            g711::encode_ulaw(f, &mut p);
            p
        })
        .collect();
    let (mut m, ids) = conference(n, SampleRate::Hz8000);
    let mut pcm = vec![0i16; 160];
    let mut out = vec![0u8; 160];
    let mut t = 0usize;
    c.bench_function(
        "10,000-party G.711 conference tick (decode + mix + encode)",
        |b| {
            b.iter(|| {
                t += 1;
                for (i, id) in ids.iter().enumerate() {
                    g711::decode_ulaw(&packets[(t + i * 7) % packets.len()], &mut pcm);
                    m.input(*id, &pcm);
                }
                m.mix();
                let mut shared_done = false;
                for id in &ids {
                    let o = m.output(*id);
                    match o.shared {
                        Some(_) if shared_done => {}
                        Some(_) => {
                            g711::encode_ulaw(o.samples, &mut out);
                            shared_done = true;
                        }
                        None => {
                            g711::encode_ulaw(o.samples, &mut out);
                        }
                    }
                }
                black_box(&out);
            });
        },
    );
}

criterion_group!(benches, mix_pcm, g711_conference);
criterion_main!(benches);
