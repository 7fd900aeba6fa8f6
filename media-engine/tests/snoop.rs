//! Snoop legs in the media core: spying one direction, whispering into the other, recording
//! what a snoop hears, and the spied bridge relaying again once the snoop is gone.
#![allow(clippy::disallowed_methods, clippy::unwrap_used, reason = "tests")]

mod common;

use std::time::Duration;

use common::*;
use media_engine::{
    command::{BridgeId, BridgeKind, LegId, RecordDirection, RecordingId, Target},
    record::{RecordFormat, start_recording},
    snoop::SnoopDirection,
};

const A: (u64, &str, f64) = (1, "10.0.0.1:4000", 500.0);
const B: (u64, &str, f64) = (2, "10.0.0.1:5000", 900.0);
const SUPERVISOR: (u64, &str, f64) = (3, "10.0.0.1:6000", 1400.0);

fn heard(pcm: &[i16], hz: f64) -> f64 {
    testkit::audio::goertzel(&pcm[pcm.len() - 4000..], 8000, hz)
}

/// A call A–B, a snoop on A (spy in, whisper out) bridged with a supervisor: the supervisor
/// hears A only, A hears B and the supervisor, B hears A only.
#[test]
fn spy_in_whisper_out_reaches_exactly_the_right_ears() {
    let mut w = World::new();
    for (leg, port) in [(1, 4000), (2, 5000), (3, 6000)] {
        w.leg_from_offer(leg, &offer(port, PCMU_TE, ""));
    }
    w.core
        .bridge(BridgeId(1), BridgeKind::Mixing, &[LegId(1), LegId(2)])
        .unwrap();
    w.core
        .create_snoop(
            w.now,
            LegId(10),
            LegId(1),
            SnoopDirection::In,
            SnoopDirection::Out,
        )
        .unwrap();
    w.core
        .bridge(BridgeId(2), BridgeKind::Mixing, &[LegId(10), LegId(3)])
        .unwrap();
    let h = conference(&mut w, &[A, B, SUPERVISOR], 75);
    let (a, b, sup) = (&h[0], &h[1], &h[2]);
    assert!(
        heard(sup, 500.0) > 0.12,
        "supervisor hears A: {:.3}",
        heard(sup, 500.0)
    );
    assert!(
        heard(sup, 900.0) < 0.01,
        "supervisor does not hear B (spy in only)"
    );
    assert!(heard(sup, 1400.0) < 0.01, "supervisor does not hear itself");
    assert!(heard(a, 900.0) > 0.12, "A still hears B");
    assert!(
        heard(a, 1400.0) > 0.12,
        "A hears the whisper: {:.3}",
        heard(a, 1400.0)
    );
    assert!(heard(b, 500.0) > 0.12, "B still hears A");
    assert!(
        heard(b, 1400.0) < 0.01,
        "B does not hear the whisper (whisper out only)"
    );
    // The snoop hangs up: A and B are relayed again, packet for packet.
    w.core.destroy(LegId(10), &mut w.sockets).unwrap();
    w.tick();
    let relayed = w.deliver(1, A.1, &packet(0, 500, 80_000, 100, &[0x55; 160]));
    assert_eq!(relayed.len(), 1, "relay resumes once the snoop is gone");
    assert_eq!(relayed[0].0, w.socket_of(2).rtp);
}

/// A snoop spying both directions, recorded: the file holds both parties; whispering `in`
/// reaches A's bridge peer, not A.
#[test]
fn spy_both_recording_and_whisper_in() {
    let mut w = World::new();
    for (leg, port) in [(1, 4000), (2, 5000), (3, 6000)] {
        w.leg_from_offer(leg, &offer(port, PCMU_TE, ""));
    }
    w.core
        .bridge(BridgeId(1), BridgeKind::Mixing, &[LegId(1), LegId(2)])
        .unwrap();
    w.core
        .create_snoop(
            w.now,
            LegId(10),
            LegId(1),
            SnoopDirection::Both,
            SnoopDirection::In,
        )
        .unwrap();
    w.core
        .bridge(BridgeId(2), BridgeKind::Mixing, &[LegId(10), LegId(3)])
        .unwrap();
    let dir = testkit::tools::scratch_dir().join(format!("snoop-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("spy.wav");
    let (sink, writer) = start_recording(
        &path,
        codec_transcoder::SampleRate::Hz8000,
        RecordFormat::Wav,
        Duration::from_secs(2),
    )
    .unwrap();
    w.core
        .record(
            Target::Leg(LegId(10)),
            RecordingId(1),
            RecordDirection::In,
            sink,
        )
        .unwrap();
    let h = conference(&mut w, &[A, B, SUPERVISOR], 75);
    let (a, b, sup) = (&h[0], &h[1], &h[2]);
    assert!(
        heard(sup, 500.0) > 0.12 && heard(sup, 900.0) > 0.12,
        "supervisor hears both"
    );
    assert!(heard(b, 1400.0) > 0.12, "B hears the whisper into A's side");
    assert!(heard(a, 1400.0) < 0.01, "A does not");
    w.core
        .stop_recording(Target::Leg(LegId(10)), RecordingId(1))
        .unwrap();
    writer.join().unwrap();
    let pcm = media_engine::playback::decode_wav(&std::fs::read(&path).unwrap()).unwrap();
    assert_eq!(
        pcm.samples.len(),
        75 * 160,
        "20 ms per tick, gaps as silence"
    );
    assert!(heard(&pcm.samples, 500.0) > 0.12 && heard(&pcm.samples, 900.0) > 0.12);
    assert!(
        heard(&pcm.samples, 1400.0) < 0.01,
        "the whisper is not what the snoop hears"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// The spied leg hangs up: the snoop hears silence and can still be destroyed.
#[test]
fn target_gone_leaves_a_silent_snoop() {
    let mut w = World::new();
    w.leg_from_offer(1, &offer(4000, PCMU_TE, ""));
    w.leg_from_offer(2, &offer(5000, PCMU_TE, ""));
    w.core
        .create_snoop(
            w.now,
            LegId(10),
            LegId(2),
            SnoopDirection::Both,
            SnoopDirection::Both,
        )
        .unwrap();
    assert!(
        w.core
            .create_snoop(
                w.now,
                LegId(10),
                LegId(1),
                SnoopDirection::In,
                SnoopDirection::None
            )
            .is_err(),
        "duplicate id"
    );
    assert!(
        w.core
            .create_snoop(
                w.now,
                LegId(11),
                LegId(99),
                SnoopDirection::In,
                SnoopDirection::None
            )
            .is_err(),
        "unknown target"
    );
    w.core.destroy(LegId(2), &mut w.sockets).unwrap();
    w.core
        .bridge(BridgeId(2), BridgeKind::Mixing, &[LegId(10), LegId(1)])
        .unwrap();
    let h = conference(&mut w, &[(1, "10.0.0.1:4000", 900.0)], 20);
    assert!(
        h[0].iter().all(|&s| s.abs() < 100),
        "silence from a snoop on nothing"
    );
    w.core.destroy(LegId(10), &mut w.sockets).unwrap();
}
