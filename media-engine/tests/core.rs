//! The media core driven deterministically: fake sockets, injected time, packets in and out.
#![allow(clippy::disallowed_methods, clippy::unwrap_used, reason = "tests")]

mod common;

use std::time::Duration;

use codec_transcoder::{AudioDecoder, AudioEncoder, Codec, EncoderConfig};
use common::*;
use media_engine::{
    Pt, Ssrc,
    command::{
        BridgeId, BridgeKind, LegId, MediaError, MediaEvent, PlaybackId, RecordDirection,
        RecordingId, Target,
    },
    dtmf::EventPayload,
    playback::PlaySource,
    record::{RecordFormat, start_recording},
    sdp::SessionDescription,
    srtp::{CryptoSuite, KeyMaterial, SrtpContext},
};

#[test]
fn relays_bit_exact_with_continuous_numbering_and_strict_source() {
    let mut w = World::new();
    w.leg_from_offer(1, &offer(4000, PCMU_TE, ""));
    w.leg_from_offer(2, &offer(5000, PCMU_TE, ""));
    w.core
        .bridge(BridgeId(1), BridgeKind::Mixing, &[LegId(1), LegId(2)])
        .unwrap();
    let b_rtp = w.socket_of(2).rtp;

    let mut out = Vec::new();
    for i in 0..50u16 {
        let payload: Vec<u8> = (0..160).map(|j| (i as usize * 7 + j) as u8).collect();
        w.now += Duration::from_millis(20);
        let tx = w.deliver(
            1,
            "10.0.0.1:4000",
            &packet(0, 1000 + i, 160 * u32::from(i), 0xaaaa, &payload),
        );
        assert_eq!(tx.len(), 1, "packet {i} relayed at once");
        let (sock, to, data) = &tx[0];
        assert_eq!((*sock, to.to_string().as_str()), (b_rtp, "10.0.0.1:5000"));
        assert_eq!(&data[12..], &payload[..], "payload bit-exact");
        out.push(header(data));
    }
    assert!(out[0].marker);
    for w2 in out.windows(2) {
        assert_eq!(w2[1].sequence, w2[0].sequence.wrapping_add(1));
        assert_eq!(w2[1].timestamp, w2[0].timestamp.wrapping_add(160));
        assert_eq!(w2[1].ssrc, w2[0].ssrc);
        assert_ne!(w2[1].ssrc, Ssrc(0xaaaa));
    }
    assert!(matches!(
        w.events()[..],
        [MediaEvent::Latched { leg: LegId(1), .. }]
    ));

    // RTP bleed: another source into the latched port reaches nobody.
    let tx = w.deliver(1, "10.0.0.66:4000", &packet(0, 1, 1, 0xbad, &[0x55; 160]));
    assert!(tx.is_empty());
    assert_eq!(w.core.drops(LegId(1)).unwrap().foreign_source, 1);

    // The far end restarts its stream (new SSRC, new numbering): B's stream stays continuous.
    let last = *out.last().unwrap();
    w.now += Duration::from_millis(100);
    let tx = w.deliver(1, "10.0.0.1:4000", &packet(0, 7, 99_999, 0xcccc, &[1; 160]));
    let h = header(&tx[0].2);
    assert_eq!(h.sequence, last.sequence.wrapping_add(1));
    assert_eq!(
        h.timestamp,
        last.timestamp.wrapping_add(800),
        "100 ms later"
    );
    assert!(h.marker);
    assert_eq!(h.ssrc, last.ssrc);

    // Unbridged: nothing flows.
    w.core.unbridge(LegId(2)).unwrap();
    assert!(
        w.deliver(
            1,
            "10.0.0.1:4000",
            &packet(0, 8, 100_159, 0xcccc, &[1; 160])
        )
        .is_empty()
    );
}

#[test]
fn transcodes_pcmu_to_g722_and_back() {
    let mut w = World::new();
    w.leg_from_offer(1, &offer(4000, PCMU_TE, ""));
    w.leg_from_offer(2, &offer(5000, G722, ""));
    w.core
        .bridge(BridgeId(1), BridgeKind::Mixing, &[LegId(1), LegId(2)])
        .unwrap();
    // 1 s of a 1 kHz tone as µ-law into leg 1, one packet per tick.
    let tone: Vec<i16> = (0..8000)
        .map(|i| ((i as f64 * 1000.0 * std::f64::consts::TAU / 8000.0).sin() * 8000.0) as i16)
        .collect();
    let mut enc = AudioEncoder::new(Codec::Pcmu, &EncoderConfig::default()).unwrap();
    let mut dec = AudioDecoder::new(Codec::G722).unwrap();
    let mut got = Vec::new();
    let mut g722_packets = 0;
    for (i, frame) in tone.chunks(160).enumerate() {
        let mut payload = Vec::new();
        enc.encode(frame, &mut payload).unwrap();
        let tx = w.deliver(
            1,
            "10.0.0.1:4000",
            &packet(0, i as u16, 160 * i as u32, 1, &payload),
        );
        assert!(tx.is_empty(), "transcoded legs send on the tick");
        for (sock, to, data) in w.tick() {
            if sock == w.socket_of(2).rtp {
                assert_eq!(to.port(), 5000);
                let h = header(&data);
                assert_eq!(h.payload_type, Pt(9));
                assert_eq!(h.payload_end - h.payload_start, 160);
                dec.decode(h.payload(&data), &mut got).unwrap();
                g722_packets += 1;
            }
        }
    }
    assert!(g722_packets >= 45, "{g722_packets} G.722 packets");
    // The tone arrives at 16 kHz, after the jitter buffer's start-up.
    let tail = &got[got.len() - 8000..];
    let a1000 = testkit::audio::goertzel(tail, 16_000, 1000.0);
    let a3000 = testkit::audio::goertzel(tail, 16_000, 3000.0);
    assert!(a1000 > 0.2 && a3000 < 0.01, "1 kHz {a1000}, 3 kHz {a3000}");
}

#[test]
fn dtmf_is_translated_between_clock_rates() {
    let mut w = World::new();
    w.leg_from_offer(1, &offer(4000, PCMU_TE, ""));
    w.leg_from_offer(2, &offer(5000, OPUS_TE48, ""));
    w.core
        .bridge(BridgeId(1), BridgeKind::Mixing, &[LegId(1), LegId(2)])
        .unwrap();
    // Digit 5 for 100 ms at 8 kHz: updates every 20 ms, then three end packets.
    let b_rtp = w.socket_of(2).rtp;
    let mut events_out = Vec::new();
    let send = |w: &mut World, i: u16, end: bool, dur: u16| {
        let p = EventPayload {
            event: 5,
            end,
            volume: 10,
            duration: dur,
        };
        w.deliver(
            1,
            "10.0.0.1:4000",
            &packet(101, 100 + i, 8000, 1, &p.to_bytes()),
        );
    };
    for (i, d) in [160u16, 320, 480, 640].into_iter().enumerate() {
        send(&mut w, i as u16, false, d);
        events_out.extend(w.tick());
    }
    for i in 4..7 {
        send(&mut w, i, true, 800);
    }
    for _ in 0..10 {
        events_out.extend(w.tick());
    }
    let on_b: Vec<EventPayload> = events_out
        .iter()
        .filter(|(s, _, d)| *s == b_rtp && header(d).payload_type == Pt(126))
        .map(|(_, _, d)| EventPayload::parse(&d[12..]).unwrap())
        .collect();
    assert!(on_b.len() >= 6, "{on_b:?}");
    assert!(on_b.iter().all(|p| p.event == 5));
    let ends: Vec<u16> = on_b.iter().filter(|p| p.end).map(|p| p.duration).collect();
    assert_eq!(ends, [4800, 4800, 4800], "100 ms at 48 kHz");
    let ev = w.events();
    assert!(ev.iter().any(|e| matches!(e, MediaEvent::Dtmf { leg: LegId(1), duration, inband: false, .. } if *duration == Duration::from_millis(100))), "{ev:?}");
}

#[test]
fn srtp_leg_to_plain_leg() {
    let mut w = World::new();
    let key = KeyMaterial::from_bytes(CryptoSuite::AesCm128HmacSha1_80, &[3u8; 30]).unwrap();
    let savp = offer(
        4000,
        PCMU_TE,
        &format!(
            "a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:{}\r\n",
            key.to_inline()
        ),
    )
    .replace("RTP/AVP", "RTP/SAVP");
    let answer = w.leg_from_offer(1, &savp);
    w.leg_from_offer(2, &offer(5000, PCMU_TE, ""));
    w.core
        .bridge(BridgeId(1), BridgeKind::Mixing, &[LegId(1), LegId(2)])
        .unwrap();
    // Our answer's key decrypts what we send back on leg 1.
    let sdp = SessionDescription::parse(&answer).unwrap();
    let crypto = sdp.media[0].attribute("crypto").unwrap().to_string();
    let ours = KeyMaterial::from_inline(
        CryptoSuite::AesCm128HmacSha1_80,
        crypto.split("inline:").nth(1).unwrap(),
    )
    .unwrap();
    let mut far_tx = SrtpContext::new(CryptoSuite::AesCm128HmacSha1_80, &key);
    let mut far_rx = SrtpContext::new(CryptoSuite::AesCm128HmacSha1_80, &ours);
    for i in 0..5u16 {
        let mut p = packet(0, i, u32::from(i) * 160, 9, &[i as u8; 160]);
        far_tx.protect_rtp(&mut p).unwrap();
        let tx = w.deliver(1, "10.0.0.1:4000", &p);
        assert_eq!(&tx[0].2[12..], &[i as u8; 160][..], "plain on leg 2");
    }
    // A forged packet fails authentication and is counted.
    let mut p = packet(0, 9, 1440, 9, &[0; 160]);
    p.extend_from_slice(&[0; 10]);
    assert!(w.deliver(1, "10.0.0.1:4000", &p).is_empty());
    assert_eq!(w.core.drops(LegId(1)).unwrap().srtp, 1);
    // The other direction arrives encrypted and decrypts with our key.
    let tx = w.deliver(2, "10.0.0.1:5000", &packet(0, 1, 160, 77, &[0x42; 160]));
    let mut data = tx[0].2.clone();
    assert_eq!(data.len(), 12 + 160 + 10);
    let n = far_rx.unprotect_rtp(&mut data).unwrap();
    assert_eq!(&data[12..n], &[0x42; 160][..]);
}

#[test]
fn playback_replaces_relay_and_recording_captures_both_directions() {
    let mut w = World::new();
    w.leg_from_offer(1, &offer(4000, PCMU_TE, ""));
    w.leg_from_offer(2, &offer(5000, PCMU_TE, ""));
    w.core
        .bridge(BridgeId(1), BridgeKind::Mixing, &[LegId(1), LegId(2)])
        .unwrap();
    let dir = std::env::temp_dir().join(format!("mp-core-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("both.wav");
    let (sink, writer) = start_recording(
        &path,
        codec_transcoder::SampleRate::Hz8000,
        RecordFormat::Wav,
        Duration::from_secs(2),
    )
    .unwrap();
    w.core
        .record(
            Target::Leg(LegId(1)),
            RecordingId(1),
            RecordDirection::Both,
            sink,
        )
        .unwrap();
    w.core
        .play(
            Target::Leg(LegId(2)),
            PlaybackId(1),
            PlaySource::Tone("!440/100".into()),
        )
        .unwrap();
    let b_rtp = w.socket_of(2).rtp;
    let mut tone_packets = 0;
    for i in 0..20u16 {
        // Leg 1's far end talks; during the playback, leg 2 hears the tone instead.
        let relayed = w.deliver(
            1,
            "10.0.0.1:4000",
            &packet(0, i, 160 * u32::from(i), 5, &[0x11; 160]),
        );
        let ticked = w.tick();
        tone_packets += ticked.iter().filter(|(s, _, _)| *s == b_rtp).count();
        if i < 5 {
            assert!(relayed.is_empty(), "no relay while playing");
        }
        if i >= 7 {
            assert_eq!(relayed.len(), 1, "relay resumes after the playback");
        }
        w.deliver(
            2,
            "10.0.0.1:5000",
            &packet(0, i, 160 * u32::from(i), 6, &[0x22; 160]),
        );
    }
    assert_eq!(tone_packets, 5, "100 ms of tone in 20 ms packets");
    let ev = w.events();
    assert!(ev.contains(&MediaEvent::PlaybackStarted {
        target: Target::Leg(LegId(2)),
        playback: PlaybackId(1)
    }));
    assert!(ev.contains(&MediaEvent::PlaybackFinished {
        target: Target::Leg(LegId(2)),
        playback: PlaybackId(1),
        stopped: false
    }));
    let samples = w
        .core
        .stop_recording(Target::Leg(LegId(1)), RecordingId(1))
        .unwrap();
    let summary = writer.join().unwrap();
    assert_eq!(summary.samples, samples);
    assert_eq!(samples, 20 * 160);
    let pcm = media_engine::playback::decode_wav(&std::fs::read(&path).unwrap()).unwrap();
    // Both directions mixed: µ-law 0x11 and 0x22 decoded and summed, after the jitter buffer.
    let mut d = vec![0i16; 2];
    codec_transcoder::g711::decode_ulaw(&[0x11, 0x22], &mut d);
    assert!(
        pcm.samples.iter().any(|&s| s == d[0].saturating_add(d[1])),
        "mixed samples present"
    );
}

#[test]
fn inactivity_timeout_and_destroy() {
    let mut w = World::new();
    w.leg_from_offer(1, &offer(4000, PCMU_TE, ""));
    for _ in 0..(60_000 / 20) {
        w.tick();
    }
    let ev = w.events();
    assert!(
        matches!(ev[..], [MediaEvent::Timeout { leg: LegId(1), .. }]),
        "{ev:?}"
    );
    w.deliver(1, "10.0.0.1:4000", &packet(0, 1, 160, 5, &[0; 160]));
    assert!(w.events().contains(&MediaEvent::Resumed { leg: LegId(1) }));
    let stats = w.core.destroy(LegId(1), &mut w.sockets).unwrap();
    assert_eq!(stats.rxcount, 1);
    assert!(w.sockets.open.is_empty());
    // The BYE went out.
    assert_eq!(w.take_tx().len(), 1);
    assert_eq!(
        w.core.destroy(LegId(1), &mut w.sockets),
        Err(MediaError::UnknownLeg(LegId(1)))
    );
}

#[test]
fn renegotiation_keeps_our_key_and_bumps_the_version() {
    let mut w = World::new();
    let key = KeyMaterial::from_bytes(CryptoSuite::AesCm128HmacSha1_80, &[3u8; 30]).unwrap();
    let savp = offer(
        4000,
        PCMU_TE,
        &format!(
            "a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:{}\r\n",
            key.to_inline()
        ),
    )
    .replace("RTP/AVP", "RTP/SAVP");
    let a1 = w.leg_from_offer(1, &savp);
    let a2 = String::from_utf8(
        w.core
            .remote_offer(w.now, LegId(1), savp.as_bytes())
            .unwrap(),
    )
    .unwrap();
    let held = savp.replace("t=0 0\r\n", "t=0 0\r\na=sendonly\r\n");
    let a3 = String::from_utf8(
        w.core
            .remote_offer(w.now, LegId(1), held.as_bytes())
            .unwrap(),
    )
    .unwrap();
    let version = |s: &str| SessionDescription::parse(s).unwrap().origin().unwrap().2;
    let crypto = |s: &str| {
        SessionDescription::parse(s).unwrap().media[0]
            .attribute("crypto")
            .unwrap()
            .to_string()
    };
    assert_eq!(version(&a1), version(&a2), "same answer, same version");
    assert_eq!(
        version(&a3),
        version(&a1) + 1,
        "changed answer, next version"
    );
    assert!(a3.contains("a=recvonly"));
    assert_eq!(crypto(&a1), crypto(&a3), "our key survives the re-INVITE");
    // Hold from our side: sendonly offer, and nothing is sent meanwhile.
    let o = String::from_utf8(w.core.hold(LegId(1), true).unwrap()).unwrap();
    assert!(o.contains("a=sendonly"));
    assert!(version(&o) > version(&a3));
}

#[test]
fn three_party_bridge_everyone_hears_exactly_the_others() {
    let mut w = World::new();
    w.leg_from_offer(1, &offer(4000, PCMU_TE, ""));
    w.leg_from_offer(2, &offer(5000, PCMU_TE, ""));
    w.leg_from_offer(3, &offer(6000, PCMU_TE, ""));
    w.core
        .bridge(
            BridgeId(9),
            BridgeKind::Mixing,
            &[LegId(1), LegId(2), LegId(3)],
        )
        .unwrap();
    let legs = [
        (1, "10.0.0.1:4000", 500.0),
        (2, "10.0.0.1:5000", 900.0),
        (3, "10.0.0.1:6000", 1400.0),
    ];
    let heard = conference(&mut w, &legs, 75);
    for (i, h) in heard.iter().enumerate() {
        let tail = &h[h.len() - 4000..];
        for (j, &(_, _, hz)) in legs.iter().enumerate() {
            let a = testkit::audio::goertzel(tail, 8000, hz);
            if i == j {
                assert!(a < 0.01, "leg {} hears itself: {a:.3}", i + 1);
            } else {
                assert!(a > 0.12, "leg {} misses {hz} Hz: {a:.3}", i + 1);
            }
        }
    }
    // A fourth leg joins, one leaves: the bridge keeps mixing; two left become a relay again.
    w.core.unbridge(LegId(3)).unwrap();
    let heard = conference(&mut w, &legs[..2], 30);
    assert!(testkit::audio::goertzel(&heard[0][heard[0].len() - 1600..], 8000, 900.0) > 0.12);
}

#[test]
fn holding_bridge_plays_to_everyone_and_records_the_mix() {
    let mut w = World::new();
    w.leg_from_offer(1, &offer(4000, PCMU_TE, ""));
    w.leg_from_offer(2, &offer(5000, PCMU_TE, ""));
    w.core
        .bridge(BridgeId(3), BridgeKind::Holding, &[LegId(1), LegId(2)])
        .unwrap();
    w.core
        .play(
            Target::Bridge(BridgeId(3)),
            PlaybackId(5),
            PlaySource::Tone("2000".into()),
        )
        .unwrap();
    let dir = std::env::temp_dir().join(format!("mp-core-hold-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (sink, writer) = start_recording(
        &dir.join("bridge.wav"),
        codec_transcoder::SampleRate::Hz8000,
        RecordFormat::Wav,
        Duration::from_secs(2),
    )
    .unwrap();
    w.core
        .record(
            Target::Bridge(BridgeId(3)),
            RecordingId(7),
            RecordDirection::Both,
            sink,
        )
        .unwrap();
    let legs = [(1, "10.0.0.1:4000", 500.0), (2, "10.0.0.1:5000", 900.0)];
    let heard = conference(&mut w, &legs, 50);
    for (i, h) in heard.iter().enumerate() {
        let tail = &h[h.len() - 4000..];
        assert!(
            testkit::audio::goertzel(tail, 8000, 2000.0) > 0.1,
            "leg {} hears the playback",
            i + 1
        );
        // Holding: nobody hears the other.
        let other = legs[1 - i].2;
        assert!(
            testkit::audio::goertzel(tail, 8000, other) < 0.01,
            "leg {} hears leg {}",
            i + 1,
            2 - i
        );
    }
    w.core
        .stop_playback(Target::Bridge(BridgeId(3)), PlaybackId(5))
        .unwrap();
    assert!(w.events().contains(&MediaEvent::PlaybackFinished {
        target: Target::Bridge(BridgeId(3)),
        playback: PlaybackId(5),
        stopped: true
    }));
    w.core.destroy_bridge(BridgeId(3)).unwrap();
    assert!(w.events().contains(&MediaEvent::RecordingStopped {
        recording: RecordingId(7),
        samples: 50 * 160
    }));
    let summary = writer.join().unwrap();
    assert_eq!(summary.samples, 50 * 160);
    let pcm = media_engine::playback::decode_wav(&std::fs::read(dir.join("bridge.wav")).unwrap())
        .unwrap();
    assert!(
        testkit::audio::goertzel(&pcm.samples[4000..], 8000, 2000.0) > 0.1,
        "the recording holds the mix"
    );
}

#[test]
fn talk_detection_reports_start_and_finish() {
    let mut w = World::new();
    w.leg_from_offer(1, &offer(4000, PCMU_TE, ""));
    w.core
        .talk_detect(
            LegId(1),
            Some(conference_mixer::TalkConfig {
                threshold_dbfs: -40.0,
                attack_ms: 40,
                hangover_ms: 500,
            }),
        )
        .unwrap();
    // One second of a tone (the leg is alone, so it hears nothing back), then silence.
    conference(&mut w, &[(1, "10.0.0.1:4000", 700.0)], 50);
    for t in 50..100u16 {
        w.deliver(
            1,
            "10.0.0.1:4000",
            &packet(0, t, 160 * u32::from(t), 100, &[0xff; 160]),
        );
        w.tick();
    }
    let ev = w.events();
    assert!(
        ev.contains(&MediaEvent::TalkingStarted { leg: LegId(1) }),
        "{ev:?}"
    );
    let talked = ev.iter().find_map(|e| match e {
        MediaEvent::TalkingFinished {
            leg: LegId(1),
            duration,
        } => Some(*duration),
        _ => None,
    });
    let talked = talked.expect("finished");
    assert!(
        talked >= Duration::from_millis(900) && talked <= Duration::from_millis(1000),
        "{talked:?}"
    );
}

#[test]
fn echo_returns_media_to_its_sender() {
    let mut w = World::new();
    w.leg_from_offer(1, &offer(4000, PCMU_TE, ""));
    w.core.echo(LegId(1), true).unwrap();
    let tx = w.deliver(1, "10.0.0.1:4000", &packet(0, 5, 800, 42, &[0x33; 160]));
    assert_eq!(tx.len(), 1);
    assert_eq!(
        (tx[0].0, tx[0].1.to_string()),
        (w.socket_of(1).rtp, "10.0.0.1:4000".into())
    );
    assert_eq!(&tx[0].2[12..], &[0x33; 160][..]);
    assert_ne!(header(&tx[0].2).ssrc, Ssrc(42), "our own SSRC");
    w.core.echo(LegId(1), false).unwrap();
    assert!(
        w.deliver(1, "10.0.0.1:4000", &packet(0, 6, 960, 42, &[0x33; 160]))
            .is_empty()
    );
}
