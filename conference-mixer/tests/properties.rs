//! Mix-minus properties over random participants and signals.
#![allow(clippy::unwrap_used, reason = "tests")]

use conference_mixer::{Mixer, MixerConfig, ParticipantId, ParticipantOptions, SampleRate};
use proptest::prelude::*;

fn frame(seed: u64, amp: i16, n: usize) -> Vec<i16> {
    let mut x = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            ((x % 65_536) as i32 - 32_768).clamp(-i32::from(amp), i32::from(amp)) as i16
        })
        .collect()
}

fn mixer(n: usize, k: usize) -> (Mixer, Vec<ParticipantId>) {
    let mut m = Mixer::new(MixerConfig {
        max_talkers: k,
        ..MixerConfig::default()
    });
    let ids = (0..n)
        .map(|_| m.add(ParticipantOptions::default()))
        .collect();
    (m, ids)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Below the limiter, everyone hears exactly the sum of the others (mix-minus, linear).
    #[test]
    fn nobody_hears_themselves_and_the_mix_is_linear(n in 2usize..8, seeds in proptest::collection::vec(any::<u64>(), 8)) {
        let (mut m, ids) = mixer(n, 8);
        let frames: Vec<Vec<i16>> = (0..n).map(|i| frame(seeds[i], 3000, 160)).collect();
        for (id, f) in ids.iter().zip(&frames) {
            m.input(*id, f);
        }
        m.mix();
        for (i, id) in ids.iter().enumerate() {
            let out = m.output(*id).samples;
            for s in 0..160 {
                let expected: i32 = (0..n).filter(|&j| j != i).map(|j| i32::from(frames[j][s])).sum();
                prop_assert_eq!(i32::from(out[s]), expected);
            }
        }
    }

    /// Silence in, silence out (and no talkers).
    #[test]
    fn silence_in_silence_out(n in 1usize..20) {
        let (mut m, ids) = mixer(n, 5);
        for id in &ids {
            m.input(*id, &[0; 160]);
        }
        m.mix();
        for id in &ids {
            prop_assert!(m.output(*id).samples.iter().all(|&x| x == 0));
            prop_assert!(!m.is_talker(*id));
        }
        prop_assert!(m.tap().iter().all(|&x| x == 0));
    }

    /// Loud inputs never wrap around: every output keeps the sign of the true sum.
    #[test]
    fn no_wrap_around(n in 2usize..8, seeds in proptest::collection::vec(any::<u64>(), 8)) {
        let (mut m, ids) = mixer(n, 8);
        let frames: Vec<Vec<i16>> = (0..n).map(|i| frame(seeds[i], 32_767, 160)).collect();
        for (id, f) in ids.iter().zip(&frames) {
            m.input(*id, f);
        }
        m.mix();
        for (i, id) in ids.iter().enumerate() {
            let out = m.output(*id).samples;
            for s in 0..160 {
                let sum: i32 = (0..n).filter(|&j| j != i).map(|j| i32::from(frames[j][s])).sum();
                prop_assert!(i32::from(out[s]).signum() == sum.signum() || sum.abs() < 2);
                prop_assert!(i32::from(out[s]).abs() <= sum.abs());
            }
        }
    }

    /// Mute: not heard by anyone. Deaf: hears nothing, still heard.
    #[test]
    fn mute_and_deaf(seeds in proptest::collection::vec(any::<u64>(), 3)) {
        let (mut m, ids) = mixer(3, 5);
        m.set_muted(ids[0], true);
        m.set_deaf(ids[1], true);
        let f: Vec<Vec<i16>> = (0..3).map(|i| frame(seeds[i], 3000, 160)).collect();
        for i in 0..3 {
            m.input(ids[i], &f[i]);
        }
        m.mix();
        // The muted one still hears both others; nobody hears it.
        let both: Vec<i16> = f[1].iter().zip(&f[2]).map(|(a, b)| a + b).collect();
        prop_assert_eq!(m.output(ids[0]).samples, &both[..]);
        prop_assert!(m.output(ids[1]).samples.iter().all(|&x| x == 0));
        prop_assert_eq!(m.output(ids[2]).samples, &f[1][..]);
        prop_assert!(!m.is_talker(ids[0]));
    }
}

#[test]
fn two_party_bridge_is_a_cross_feed() {
    let (mut m, ids) = mixer(2, 5);
    for t in 0..50u64 {
        let a = frame(t, 20_000, 160);
        let b = frame(t + 1000, 20_000, 160);
        m.input(ids[0], &a);
        m.input(ids[1], &b);
        m.mix();
        assert_eq!(m.output(ids[0]).samples, &b[..]);
        assert_eq!(m.output(ids[1]).samples, &a[..]);
    }
}

#[test]
fn whisper_reaches_one_participant_and_the_tap_has_everything() {
    let (mut m, ids) = mixer(3, 5);
    m.set_tap(true);
    let a = frame(1, 2000, 160);
    m.input(ids[0], &a);
    let w = frame(2, 1000, 160);
    m.whisper(ids[1], &w, SampleRate::Hz8000);
    m.announce(&frame(3, 500, 160), SampleRate::Hz8000);
    m.mix();
    let ann = frame(3, 500, 160);
    let heard1 = m.output(ids[1]).samples;
    let heard2 = m.output(ids[2]).samples;
    for s in 0..160 {
        assert_eq!(heard1[s], a[s] + w[s] + ann[s]);
        assert_eq!(heard2[s], a[s] + ann[s]);
        assert_eq!(m.tap()[s], a[s] + ann[s]);
        // The talker hears only the announcer.
        assert_eq!(m.output(ids[0]).samples[s], ann[s]);
    }
    assert!(m.output(ids[1]).shared.is_none());
    assert_eq!(m.output(ids[2]).shared, Some(8000));
}

#[test]
fn only_the_loudest_k_are_mixed_and_listeners_share_one_frame() {
    let (mut m, ids) = mixer(100, 3);
    for (i, id) in ids.iter().enumerate() {
        let amp = if i % 10 == 0 { 8000 } else { 200 };
        m.input(*id, &frame(i as u64, amp, 160));
    }
    m.mix();
    let talkers: Vec<usize> = (0..100).filter(|&i| m.is_talker(ids[i])).collect();
    assert_eq!(talkers.len(), 3);
    assert!(talkers.iter().all(|i| i % 10 == 0));
    let shared: Vec<Option<u32>> = ids.iter().map(|id| m.output(*id).shared).collect();
    assert_eq!(shared.iter().filter(|s| s.is_none()).count(), 3);
    assert!(
        shared
            .iter()
            .flatten()
            .all(|&k| k == shared.iter().flatten().next().copied().unwrap())
    );
}
