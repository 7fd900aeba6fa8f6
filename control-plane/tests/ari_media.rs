//! Media through ARI-driven calls with baresip far ends: a bridged call (PyPI asyncari), a
//! three-party conference where everyone hears exactly the others, a bridge recording.
#![allow(clippy::unwrap_used, clippy::disallowed_methods, reason = "tests")]

mod common;

use std::{path::Path, process::Command, time::Duration};

use common::{Mediaplane, run_node, tests_dir};
use testkit::{
    audio, baresip,
    process::{Running, free_udp_port},
    tools::scratch_dir,
};

/// Packets baresip received during its call (the stats table it prints at the end).
fn received_packets(log: &str) -> u64 {
    log.lines()
        .find(|l| l.trim_start().starts_with("packets:"))
        .and_then(|l| l.split_whitespace().nth(2))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

fn callee(name: &str, codec: &str) -> baresip::Baresip {
    let port = free_udp_port();
    baresip::start(
        name,
        &baresip::Config {
            sip_port: port,
            accounts: vec![format!(
                "<sip:callee@127.0.0.1:{port}>;regint=0;answermode=auto;audio_codecs={codec}"
            )],
            ..baresip::Config::default()
        },
        &[],
    )
}

#[test]
fn bridged_call_with_asyncari_and_baresip() {
    let mp = Mediaplane::start("[stasis]\ndefault_app = \"bridging\"\n");
    let b = callee("bridge-callee", "PCMU/8000/1");
    let script = tests_dir().join("ari/bridge_call.py");
    let mut cmd = Command::new(testkit::pesq::python());
    cmd.arg(&script)
        .env("ARI_URL", format!("http://{}", mp.ari))
        .env(
            "CALLEE_ENDPOINT",
            format!("pjsip/call-out/sip:callee@127.0.0.1:{}", b.sip_port),
        );
    let app = Running::spawn("asyncari", &mut cmd);
    std::thread::sleep(Duration::from_secs(2));
    let speech = audio::speech(8000);
    let src = scratch_dir().join(format!("bridge-speech-{}.wav", free_udp_port()));
    audio::write_wav(&src, 8000, 1, &speech);
    let port = free_udp_port();
    let a = baresip::start(
        "bridge-caller",
        &baresip::Config {
            sip_port: port,
            accounts: vec![format!(
                "<sip:caller@127.0.0.1:{port}>;regint=0;audio_codecs=PCMA/8000/1"
            )],
            audio_file: Some(src),
            ..baresip::Config::default()
        },
        &["-e", &format!("/dial sip:4200@{}", mp.sip), "-t", "25"],
    );
    let (status, out, err) = app.wait(Duration::from_secs(40));
    assert!(
        status.success(),
        "asyncari scenario failed:\n{out}{err}\n{}",
        common::tail(&mp.log(), 40)
    );
    a.wait_log("terminated", Duration::from_secs(10));
    b.wait_log("terminated", Duration::from_secs(10));
    // Both far ends received audio (the caller PCMA, the callee PCMU: transcoded).
    let (ra, rb) = (received_packets(&a.log()), received_packets(&b.log()));
    assert!(ra > 100 && rb > 100, "caller got {ra} packets, callee {rb}");
}

#[test]
fn three_party_conference_everyone_hears_the_others() {
    let mp = Mediaplane::start("[stasis]\ndefault_app = \"conf\"\n");
    let tones = [
        (500.0, "PCMU/8000/1"),
        (900.0, "G722/16000/1"),
        (1400.0, "opus/48000/2"),
    ];
    let app = {
        let mut cmd = Command::new(testkit::tools::require("node"));
        cmd.arg(tests_dir().join("ari/conference.js"))
            .env(
                "NODE_PATH",
                testkit::tools::tools_dir().join("node/node_modules"),
            )
            .env("ARI_URL", format!("http://{}", mp.ari));
        Running::spawn("node", &mut cmd)
    };
    std::thread::sleep(Duration::from_secs(2));
    let mut peers = Vec::new();
    for (i, (hz, codec)) in tones.iter().enumerate() {
        let src = scratch_dir().join(format!("tone-{hz}-{}.wav", free_udp_port()));
        audio::write_wav(&src, 8000, 1, &audio::tone(8000, *hz, 6000.0, 8000 * 12));
        let dump = scratch_dir().join(format!("conf-dump-{i}-{}", free_udp_port()));
        std::fs::create_dir_all(&dump).unwrap();
        let port = free_udp_port();
        let p = baresip::start(
            &format!("conf-{i}"),
            &baresip::Config {
                sip_port: port,
                accounts: vec![format!(
                    "<sip:p{i}@127.0.0.1:{port}>;regint=0;audio_codecs={codec}"
                )],
                audio_file: Some(src),
                dump_dir: Some(dump.clone()),
                ..baresip::Config::default()
            },
            &["-e", &format!("/dial sip:room@{}", mp.sip), "-t", "20"],
        );
        peers.push((p, dump, *hz));
    }
    let (status, out, err) = app.wait(Duration::from_secs(40));
    assert!(
        status.success(),
        "conference scenario failed:\n{out}{err}\n{}",
        common::tail(&mp.log(), 40)
    );
    for (p, dump, own) in &peers {
        p.wait_log("terminated", Duration::from_secs(15));
        let wav = decoded(dump);
        let pcm = media_engine::playback::decode_wav(&std::fs::read(&wav).unwrap()).unwrap();
        let rate = pcm.rate.hz();
        // The middle of the call: everyone was in for at least 6 s.
        let n = pcm.samples.len();
        let mid = &pcm.samples[n / 3..n / 3 + rate as usize * 2];
        for (_, _, hz) in &peers {
            let a = audio::goertzel(mid, rate, *hz);
            if hz == own {
                assert!(a < 0.01, "the {own} Hz party hears itself ({a:.3})");
            } else {
                assert!(
                    a > 0.05,
                    "the {own} Hz party does not hear {hz} Hz ({a:.3})"
                );
            }
        }
    }
}

fn decoded(dir: &Path) -> std::path::PathBuf {
    std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .find(|p| p.to_string_lossy().ends_with("-dec.wav"))
        .unwrap_or_else(|| panic!("no decoded dump in {}", dir.display()))
}

#[test]
fn conference_recording_holds_the_mix() {
    let mp = Mediaplane::start("[stasis]\ndefault_app = \"rec\"\n");
    run_node(&mp, "bridge_recording", &[]);
    let wav = mp.data.join("recordings/conf-mix.wav");
    let pcm = media_engine::playback::decode_wav(&std::fs::read(&wav).unwrap()).unwrap();
    let s = &pcm.samples[pcm.samples.len() / 2..];
    // SIPp's PCMA speech from both calls plus the 2 kHz tone played into the bridge.
    assert!(
        audio::goertzel(s, 8000, 2000.0) > 0.05,
        "the bridge playback is in the recording"
    );
    let rms = (s.iter().map(|&x| f64::from(x).powi(2)).sum::<f64>() / s.len() as f64).sqrt();
    assert!(rms > 1000.0, "the recording holds audio (rms {rms:.0})");
}

/// Snoops spying one direction each, recorded: A's `in` holds its caller's speech and none
/// of the tones; A's `out` holds the 1 kHz tone A hears; B's `out` holds the 2.5 kHz whisper
/// said into A's side of the bridge.
#[test]
fn snoop_recordings_hold_one_direction_each() {
    let mp = Mediaplane::start("[stasis]\ndefault_app = \"spy\"\n");
    run_node(&mp, "snoop", &[]);
    let load = |name: &str| {
        let wav = mp.data.join(format!("recordings/{name}.wav"));
        let pcm = media_engine::playback::decode_wav(&std::fs::read(&wav).unwrap()).unwrap();
        pcm.samples[pcm.samples.len() / 4..pcm.samples.len() * 3 / 4].to_vec()
    };
    let rms =
        |s: &[i16]| (s.iter().map(|&x| f64::from(x).powi(2)).sum::<f64>() / s.len() as f64).sqrt();
    let (a_in, a_out, b_out) = (load("a_in"), load("a_out"), load("b_out"));
    let g = |s: &[i16], hz: f64| audio::goertzel(s, 8000, hz);
    eprintln!(
        "a_in rms {:.0} 1k {:.3} 2.5k {:.3}; a_out 1k {:.3}; b_out 2.5k {:.3} rms {:.0}",
        rms(&a_in),
        g(&a_in, 1000.0),
        g(&a_in, 2500.0),
        g(&a_out, 1000.0),
        g(&b_out, 2500.0),
        rms(&b_out)
    );
    assert!(rms(&a_in) > 500.0, "A's caller speaks");
    assert!(g(&a_in, 1000.0) < 0.01, "what A hears is not in A's in");
    assert!(g(&a_in, 2500.0) < 0.01, "the whisper is not in A's in");
    assert!(g(&a_out, 1000.0) > 0.05, "A hears the tone");
    assert!(g(&b_out, 2500.0) > 0.05, "B hears the whisper");
}
