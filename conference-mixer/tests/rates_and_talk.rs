//! Mixed rates (8 kHz and 48 kHz participants in one bridge) and talk detection on speech.
#![allow(clippy::unwrap_used, reason = "tests")]

use conference_mixer::{
    MixEvent, Mixer, MixerConfig, ParticipantId, ParticipantOptions, SampleRate, TalkConfig,
};
use testkit::audio::{goertzel, speech, tone};

fn join(m: &mut Mixer, rate: SampleRate) -> ParticipantId {
    m.add(ParticipantOptions {
        rate,
        ..ParticipantOptions::default()
    })
}

/// Runs `ticks` ticks; `sources[i]` is participant i's whole signal. Returns what each heard.
fn run(
    m: &mut Mixer,
    ids: &[ParticipantId],
    sources: &[Vec<i16>],
    rates: &[u32],
    ticks: usize,
) -> Vec<Vec<i16>> {
    let mut heard = vec![Vec::new(); ids.len()];
    for t in 0..ticks {
        for (i, id) in ids.iter().enumerate() {
            let n = rates[i] as usize / 50;
            if let Some(f) = sources[i].get(t * n..(t + 1) * n) {
                m.input(*id, f);
            }
        }
        m.mix();
        for (i, id) in ids.iter().enumerate() {
            heard[i].extend_from_slice(m.output(*id).samples);
        }
    }
    heard
}

#[test]
fn an_8k_tone_reaches_a_48k_listener_at_pitch_and_level_and_back() {
    let mut m = Mixer::new(MixerConfig::default());
    let ids = [
        join(&mut m, SampleRate::Hz8000),
        join(&mut m, SampleRate::Hz48000),
        join(&mut m, SampleRate::Hz8000),
    ];
    assert_eq!(m.rate(), SampleRate::Hz48000);
    let sources = vec![
        tone(8000, 1000.0, 8000.0, 8000),
        tone(48_000, 440.0, 8000.0, 48_000),
        vec![0; 8000],
    ];
    let heard = run(&mut m, &ids, &sources, &[8000, 48_000, 8000], 50);
    // The 48 kHz participant hears the 1 kHz tone at its level (8000/32768 = 0.244), and not
    // its own 440 Hz.
    let tail48 = &heard[1][24_000..];
    let a = goertzel(tail48, 48_000, 1000.0);
    assert!((a / 0.244 - 1.0).abs() < 0.06, "1 kHz at 48 kHz: {a:.3}");
    assert!(
        goertzel(tail48, 48_000, 440.0) < 0.002,
        "the 48 kHz talker hears itself"
    );
    // The 8 kHz talker hears 440 Hz, and not its own 1 kHz (mix-minus through the resampler).
    let tail8 = &heard[0][4000..];
    let b = goertzel(tail8, 8000, 440.0);
    assert!((b / 0.244 - 1.0).abs() < 0.06, "440 Hz at 8 kHz: {b:.3}");
    let own = goertzel(tail8, 8000, 1000.0);
    assert!(own < 0.002, "the 8 kHz talker hears itself: {own:.4}");
    // The silent 8 kHz listener hears both.
    let tail = &heard[2][4000..];
    assert!(goertzel(tail, 8000, 1000.0) > 0.22 && goertzel(tail, 8000, 440.0) > 0.22);
}

#[test]
fn a_lower_rate_talker_that_stops_hears_no_echo_of_itself() {
    let mut m = Mixer::new(MixerConfig::default());
    let ids = [
        join(&mut m, SampleRate::Hz8000),
        join(&mut m, SampleRate::Hz48000),
    ];
    // Participant 0 talks (1 kHz) for 0.5 s, then is silent; participant 1 talks throughout.
    let mut s0 = tone(8000, 1000.0, 10_000.0, 4000);
    s0.extend(vec![0; 4000]);
    let sources = vec![s0, tone(48_000, 300.0, 5000.0, 48_000)];
    let heard = run(&mut m, &ids, &sources, &[8000, 48_000], 50);
    for w in heard[0].chunks(800) {
        let own = goertzel(w, 8000, 1000.0);
        assert!(
            own < 0.003,
            "own voice leaked into a 100 ms window: {own:.4}"
        );
    }
}

#[test]
fn talk_detection_on_speech() {
    let mut m = Mixer::new(MixerConfig {
        talk: TalkConfig {
            threshold_dbfs: -40.0,
            attack_ms: 40,
            hangover_ms: 600,
        },
        ..MixerConfig::default()
    });
    let talker = m.add(ParticipantOptions {
        talk_detect: true,
        ..ParticipantOptions::default()
    });
    let quiet = m.add(ParticipantOptions {
        talk_detect: true,
        ..ParticipantOptions::default()
    });
    let mut s = vec![0i16; 8000];
    s.extend(speech(8000));
    s.extend(vec![0i16; 16_000]);
    let ticks = s.len() / 160;
    let mut events = Vec::new();
    for t in 0..ticks {
        m.input(talker, &s[t * 160..(t + 1) * 160]);
        m.input(quiet, &[3; 160]);
        m.mix();
        while let Some(e) = m.poll_event() {
            events.push((t, e));
        }
    }
    let started: Vec<usize> = events
        .iter()
        .filter(|(_, e)| matches!(e, MixEvent::TalkStarted(id) if *id == talker))
        .map(|e| e.0)
        .collect();
    let talked: u64 = events
        .iter()
        .filter_map(|(_, e)| match e {
            MixEvent::TalkFinished { id, duration_ms } if *id == talker => Some(*duration_ms),
            _ => None,
        })
        .sum();
    assert!(!started.is_empty(), "{events:?}");
    assert!(
        (50..=60).contains(&started[0]),
        "speech starts at tick 50: {started:?}"
    );
    let speech_ms = (s.len() - 24_000) as u64 / 8;
    assert!(
        talked >= speech_ms / 2 && talked <= speech_ms,
        "talked {talked} ms of {speech_ms} ms"
    );
    assert!(
        events
            .iter()
            .all(|(_, e)| !matches!(e, MixEvent::TalkStarted(id) if *id == quiet))
    );
    assert_eq!(
        events
            .iter()
            .filter(|(_, e)| matches!(e, MixEvent::TalkStarted(_)))
            .count(),
        events
            .iter()
            .filter(|(_, e)| matches!(e, MixEvent::TalkFinished { .. }))
            .count(),
        "every start has a finish"
    );
}
