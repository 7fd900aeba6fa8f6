//! The media engine between real peers (SIPp, baresip), with a minimal B2BUA for signalling:
//! bit-exact relaying, transcoding quality, SRTP on both legs, RFC 4733 DTMF, RTP bleed.
#![allow(clippy::unwrap_used, clippy::disallowed_methods, reason = "tests")]

mod b2bua;

use std::{path::Path, time::Duration};

use b2bua::{B2bua, Setup};
use codec_transcoder::{Codec, g711};
use media_engine::{
    command::MediaEvent,
    sdp::negotiate::{Capabilities, SrtpPolicy},
};
use testkit::{
    audio, baresip,
    pcap::rtp_packets,
    pesq::{self, Band},
    process::free_udp_port,
    sipp,
};

fn caps(codecs: &[Codec], srtp: SrtpPolicy) -> Capabilities {
    Capabilities {
        codecs: codecs.to_vec(),
        srtp,
        ..Capabilities::default()
    }
}

/// Mono PCM of a WAV file baresip's sndfile module wrote (16-bit), and its rate.
fn read_wav(path: &Path) -> (u32, Vec<i16>) {
    let p = media_engine::playback::decode_wav(&std::fs::read(path).unwrap()).unwrap();
    (p.rate.hz(), p.samples.to_vec())
}

/// The newest `*-dec.wav` (what baresip decoded from the RTP it received).
fn decoded_dump(dir: &Path) -> std::path::PathBuf {
    let mut dumps: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.to_string_lossy().ends_with("-dec.wav"))
        .collect();
    dumps.sort();
    dumps
        .pop()
        .unwrap_or_else(|| panic!("no decoded dump in {}", dir.display()))
}

/// How many of `sent`'s 250 ms segments appear verbatim somewhere in `got`. A relay that
/// altered payloads matches none; a receiver's jitter buffer may break a few at its glitches.
fn segments_found(got: &[i16], sent: &[i16]) -> (usize, usize) {
    let segments: Vec<&[i16]> = sent.chunks_exact(2000).collect();
    let found = segments
        .iter()
        .filter(|seg| {
            // Skip near-silent segments: they would match by accident.
            seg.iter().any(|&x| x.unsigned_abs() > 500)
                && got.windows(seg.len()).any(|w| w == **seg)
        })
        .count();
    let audible = segments
        .iter()
        .filter(|seg| seg.iter().any(|&x| x.unsigned_abs() > 500))
        .count();
    (found, audible)
}

#[test]
fn sipp_pcap_relayed_bit_exact_to_baresip_with_dtmf() {
    // Far end B: baresip answering PCMA only, dumping what it decodes.
    let dump = testkit::tools::scratch_dir().join(format!("relay-dump-{}", free_udp_port()));
    std::fs::create_dir_all(&dump).unwrap();
    let b_port = free_udp_port();
    let callee = baresip::start(
        "relay-callee",
        &baresip::Config {
            sip_port: b_port,
            accounts: vec![format!(
                "<sip:callee@127.0.0.1:{b_port}>;regint=0;answermode=auto;audio_codecs=PCMA/8000/1"
            )],
            dump_dir: Some(dump.clone()),
            ..baresip::Config::default()
        },
        &[],
    );
    let b2b = B2bua::start(Setup {
        target: format!("127.0.0.1:{}", callee.sip_port).parse().unwrap(),
        a: Capabilities::default(),
        b: caps(&[Codec::Pcma, Codec::Pcmu], SrtpPolicy::Disabled),
        port_min: 32_000,
    });
    // Far end A: SIPp's uac_pcap plays g711a.pcap (PCMA, 30 ms) then RFC 2833 digit 1.
    let dir = sipp::run_dir("relay-uac-pcap");
    std::os::unix::fs::symlink("/usr/share/sip-tester", dir.join("pcap")).unwrap();
    let target = b2b.udp;
    let uac = std::thread::spawn(move || {
        sipp::uac(
            &dir,
            "uac_pcap",
            target,
            &["-s", "callee", "-m", "1"],
            Duration::from_secs(40),
        )
    });
    // RTP bleed: once the call is up, a third party blasts a loud 3.3 kHz tone (valid PCMA
    // RTP) into leg A's port. Leg A is latched to SIPp, so none of it may reach baresip.
    b2b.wait("the call to be bridged", Duration::from_secs(10), |r| {
        r.bridged == 1
    });
    std::thread::sleep(Duration::from_millis(500));
    let a_port: u16 = {
        let r = b2b.record.lock().unwrap();
        let sdp = media_engine::sdp::SessionDescription::parse(&r.sdp[0].1).unwrap();
        sdp.media[0].port
    };
    let intruder = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let tone = audio::tone(8000, 3300.0, 20_000.0, 160 * 150);
    for (i, frame) in tone.chunks(160).enumerate() {
        let mut p = vec![0u8; 12 + 160];
        media_engine::rtp::write_header(
            &mut p,
            false,
            media_engine::Pt(8),
            i as u16,
            i as u32 * 160,
            media_engine::Ssrc(0xbad),
        );
        g711::encode_alaw(frame, &mut p[12..]);
        intruder.send_to(&p, ("127.0.0.1", a_port)).unwrap();
        std::thread::sleep(Duration::from_millis(20));
    }
    let run = uac.join().unwrap();
    assert_eq!(run.failed(), 0, "{}", run.report());
    assert_eq!(run.successful(), 1, "{}", run.report());
    b2b.wait("the call to end", Duration::from_secs(10), |r| r.ended == 1);
    // baresip finishes its dump file when it closes the call.
    callee.wait_log("terminated", Duration::from_secs(10));
    drop(callee);

    // What baresip decoded contains the pcap's audio sample for sample.
    let sent: Vec<i16> = rtp_packets(Path::new("/usr/share/sip-tester/g711a.pcap"))
        .iter()
        .filter(|p| p.pt == 8)
        .flat_map(|p| {
            let mut pcm = vec![0i16; p.payload.len()];
            g711::decode_alaw(&p.payload, &mut pcm);
            pcm
        })
        .collect();
    let (rate, got) = read_wav(&decoded_dump(&dump));
    assert_eq!(rate, 8000);
    let leaked = got
        .chunks(800)
        .map(|w| audio::goertzel(w, 8000, 3300.0))
        .fold(0.0f64, f64::max);
    assert!(
        leaked < 0.05,
        "the intruder's 3.3 kHz tone reached baresip ({leaked:.3} of full scale)"
    );
    let (found, audible) = segments_found(&got, &sent);
    assert!(
        audible >= 20 && found * 10 >= audible * 9,
        "only {found} of {audible} audible 250 ms segments arrived bit-exact"
    );
    // The DTMF digit came through as RFC 4733 and was reported.
    let r = b2b.record.lock().unwrap();
    assert!(
        r.media_events.iter().any(
            |e| matches!(e, MediaEvent::Dtmf { digit, inband: false, .. } if digit.as_char() == '1')
        ),
        "{:?}",
        r.media_events
    );
    let a_stats = r.final_stats[&1];
    assert!(a_stats.rxcount >= 230, "{a_stats:?}");
    assert_eq!(a_stats.rxploss, 0);
}

fn resample(pcm: &[i16], from: u32, to: u32) -> Vec<i16> {
    use codec_transcoder::{Resampler, SampleRate};
    if from == to {
        return pcm.to_vec();
    }
    let rate = |hz| SampleRate::from_hz(hz).unwrap();
    let mut r = Resampler::new(rate(from), rate(to)).unwrap();
    let mut out = Vec::new();
    r.process(pcm, &mut out).unwrap();
    out
}

/// baresip (PCMU, speech) → B2BUA → baresip (`codec`): PESQ of what the callee decoded.
fn transcoded_call(
    codec: Codec,
    account_codec: &str,
    band: Band,
    floor: f64,
    port_min: u16,
) -> f64 {
    let speech = audio::speech(8000);
    let src = testkit::tools::scratch_dir().join(format!("speech8k-{}.wav", free_udp_port()));
    audio::write_wav(&src, 8000, 1, &speech);
    let dump = testkit::tools::scratch_dir().join(format!("tc-dump-{}", free_udp_port()));
    std::fs::create_dir_all(&dump).unwrap();
    let b_port = free_udp_port();
    let rate = if band == Band::Wide { 16_000 } else { 8000 };
    let callee = baresip::start(
        "tc-callee",
        &baresip::Config {
            sip_port: b_port,
            accounts: vec![format!(
                "<sip:callee@127.0.0.1:{b_port}>;regint=0;answermode=auto;audio_codecs={account_codec}"
            )],
            dump_dir: Some(dump.clone()),
            source_rate: rate,
            ..baresip::Config::default()
        },
        &[],
    );
    let b2b = B2bua::start(Setup {
        target: format!("127.0.0.1:{b_port}").parse().unwrap(),
        a: caps(&[Codec::Pcmu], SrtpPolicy::Disabled),
        b: caps(&[codec], SrtpPolicy::Disabled),
        port_min,
    });
    let a_port = free_udp_port();
    let caller = baresip::start(
        "tc-caller",
        &baresip::Config {
            sip_port: a_port,
            accounts: vec![format!(
                "<sip:caller@127.0.0.1:{a_port}>;regint=0;audio_codecs=PCMU/8000/1"
            )],
            audio_file: Some(src),
            source_rate: 8000,
            ..baresip::Config::default()
        },
        &["-e", &format!("/dial sip:callee@{}", b2b.udp), "-t", "20"],
    );
    b2b.wait("the call to end", Duration::from_secs(40), |r| r.ended == 1);
    callee.wait_log("terminated", Duration::from_secs(10));
    drop(caller);
    drop(callee);
    // The dump is at the codec's decode rate (48 kHz for Opus): bring both to the band's rate.
    let (got_rate, got) = read_wav(&decoded_dump(&dump));
    let got = resample(&got, got_rate, rate);
    let reference = resample(&speech, 8000, rate);
    let lag = audio::best_lag(&reference, &got, rate as usize * 2);
    let aligned = &got[lag..];
    let n = reference.len().min(aligned.len());
    let score = pesq::score(band, &reference[..n], &aligned[..n]);
    let r = b2b.record.lock().unwrap();
    assert!(
        score >= floor,
        "{codec:?}: PESQ {score:.2} < {floor} (lag {lag}); {:?}",
        r.sdp
    );
    score
}

#[test]
fn pcmu_to_opus_transcoded_quality() {
    // Stated floor: PESQ-NB 3.5 (µ-law alone scores ~4.0 on this speech; measured 3.80).
    let s = transcoded_call(Codec::Opus, "opus/48000/2", Band::Narrow, 3.5, 32_400);
    eprintln!("PCMU → Opus PESQ-NB {s:.2}");
}

/// PESQ-WB of the same codec chain done offline: µ-law, 8 → 16 kHz, G.722 encode and decode.
fn offline_pcmu_g722_chain() -> f64 {
    let speech = audio::speech(8000);
    let mut law = vec![0u8; speech.len()];
    g711::encode_ulaw(&speech, &mut law);
    let mut pcm = vec![0i16; speech.len()];
    g711::decode_ulaw(&law, &mut pcm);
    let up = resample(&pcm, 8000, 16_000);
    let mut enc = codec_transcoder::AudioEncoder::new(Codec::G722, &Default::default()).unwrap();
    let mut dec = codec_transcoder::AudioDecoder::new(Codec::G722).unwrap();
    let mut bytes = Vec::new();
    enc.encode(&up[..up.len() / 2 * 2], &mut bytes).unwrap();
    let mut out = Vec::new();
    dec.decode(&bytes, &mut out).unwrap();
    let reference = resample(&speech, 8000, 16_000);
    let lag = audio::best_lag(&reference, &out, 400);
    let n = reference.len().min(out.len() - lag);
    pesq::score(Band::Wide, &reference[..n], &out[lag..lag + n])
}

#[test]
fn pcmu_to_g722_transcoded_quality() {
    // Stated floor: within 0.15 PESQ-WB of the same codec chain done offline (2.67 on this
    // speech: narrow-band µ-law speech scored wide-band), i.e. the live path (jitter buffer,
    // resampler, packetisation, baresip's decoder) costs next to nothing.
    let offline = offline_pcmu_g722_chain();
    let s = transcoded_call(
        Codec::G722,
        "G722/16000/1",
        Band::Wide,
        offline - 0.15,
        32_800,
    );
    eprintln!("PCMU → G.722 PESQ-WB {s:.2} (offline chain {offline:.2})");
}

#[test]
fn sdes_srtp_on_both_legs_between_two_baresips() {
    let speech = audio::speech(8000);
    let src = testkit::tools::scratch_dir().join(format!("speech8k-{}.wav", free_udp_port()));
    audio::write_wav(&src, 8000, 1, &speech);
    let dump = testkit::tools::scratch_dir().join(format!("srtp-dump-{}", free_udp_port()));
    std::fs::create_dir_all(&dump).unwrap();
    let b_port = free_udp_port();
    let callee = baresip::start(
        "srtp-callee",
        &baresip::Config {
            sip_port: b_port,
            accounts: vec![format!(
                "<sip:callee@127.0.0.1:{b_port}>;regint=0;answermode=auto;mediaenc=srtp-mand;audio_codecs=PCMU/8000/1"
            )],
            dump_dir: Some(dump.clone()),
            ..baresip::Config::default()
        },
        &[],
    );
    let b2b = B2bua::start(Setup {
        target: format!("127.0.0.1:{b_port}").parse().unwrap(),
        a: caps(&[Codec::Pcmu], SrtpPolicy::Mandatory),
        b: caps(&[Codec::Pcmu], SrtpPolicy::Mandatory),
        port_min: 33_200,
    });
    let a_port = free_udp_port();
    let caller = baresip::start(
        "srtp-caller",
        &baresip::Config {
            sip_port: a_port,
            accounts: vec![format!(
                "<sip:caller@127.0.0.1:{a_port}>;regint=0;mediaenc=srtp-mand;audio_codecs=PCMU/8000/1"
            )],
            audio_file: Some(src),
            ..baresip::Config::default()
        },
        &["-e", &format!("/dial sip:callee@{}", b2b.udp), "-t", "20"],
    );
    b2b.wait("the call to end", Duration::from_secs(40), |r| r.ended == 1);
    callee.wait_log("terminated", Duration::from_secs(10));
    drop(caller);
    drop(callee);
    let r = b2b.record.lock().unwrap();
    assert!(
        r.sdp
            .iter()
            .all(|(_, s)| s.contains("RTP/SAVP") && s.contains("a=crypto:")),
        "{:?}",
        r.sdp
    );
    let (_, got) = read_wav(&decoded_dump(&dump));
    let lag = audio::best_lag(&speech, &got, 16_000);
    let n = speech.len().min(got.len() - lag);
    let score = pesq::score(Band::Narrow, &speech[..n], &got[lag..lag + n]);
    eprintln!("PCMU over SRTP, relayed: PESQ-NB {score:.2}");
    assert!(
        score >= 3.8,
        "PESQ {score:.2} through two SRTP legs (PCMU relay)"
    );
    assert!(
        r.final_stats[&1].rxcount > 200 && r.final_stats[&2].txcount > 200,
        "{:?}",
        r.final_stats
    );
}

#[test]
fn inband_dtmf_detected_from_a_peer_without_telephone_event() {
    // baresip plays DTMF tones (built here as sine pairs) as plain PCMU audio; the A leg
    // answers without telephone-event, so the digits must be found in the audio.
    let digits = "159#";
    let mut pcm = vec![0i16; 8000];
    for d in digits.chars() {
        let (r, c) = media_engine::dtmf::Digit::from_char(d)
            .unwrap()
            .frequencies()
            .unwrap();
        let a = audio::tone(8000, f64::from(r), 6000.0, 800);
        let b = audio::tone(8000, f64::from(c), 6000.0, 800);
        pcm.extend(a.iter().zip(&b).map(|(x, y)| x + y));
        pcm.extend(std::iter::repeat_n(0, 800));
    }
    pcm.extend(std::iter::repeat_n(0, 16_000));
    let src = testkit::tools::scratch_dir().join(format!("dtmf8k-{}.wav", free_udp_port()));
    audio::write_wav(&src, 8000, 1, &pcm);
    let b_port = free_udp_port();
    let callee = baresip::start(
        "inband-callee",
        &baresip::Config {
            sip_port: b_port,
            accounts: vec![format!(
                "<sip:callee@127.0.0.1:{b_port}>;regint=0;answermode=auto;audio_codecs=PCMU/8000/1"
            )],
            ..baresip::Config::default()
        },
        &[],
    );
    let b2b = B2bua::start(Setup {
        target: format!("127.0.0.1:{b_port}").parse().unwrap(),
        a: Capabilities {
            telephone_event: false,
            ..caps(&[Codec::Pcmu], SrtpPolicy::Disabled)
        },
        b: caps(&[Codec::Pcmu], SrtpPolicy::Disabled),
        port_min: 33_600,
    });
    let a_port = free_udp_port();
    let caller = baresip::start(
        "inband-caller",
        &baresip::Config {
            sip_port: a_port,
            accounts: vec![format!(
                "<sip:caller@127.0.0.1:{a_port}>;regint=0;audio_codecs=PCMU/8000/1"
            )],
            audio_file: Some(src),
            ..baresip::Config::default()
        },
        &["-e", &format!("/dial sip:callee@{}", b2b.udp), "-t", "15"],
    );
    b2b.wait("the call to end", Duration::from_secs(30), |r| r.ended == 1);
    drop(caller);
    drop(callee);
    let r = b2b.record.lock().unwrap();
    let got: String = r
        .media_events
        .iter()
        .filter_map(|e| match e {
            MediaEvent::Dtmf {
                leg,
                digit,
                inband: true,
                duration,
            } if leg.0 == 1 => {
                assert!(*duration >= Duration::from_millis(60), "{duration:?}");
                Some(digit.as_char())
            }
            _ => None,
        })
        .collect();
    assert_eq!(got, digits, "{:?}", r.media_events);
}
