//! SIP over TLS with a real peer: baresip (libre's TLS) calls the test user agent on its TLS
//! listener, and the test user agent calls baresip over TLS, verifying its certificate.
#![allow(clippy::unwrap_used, reason = "tests")]

mod ua;

use std::time::Duration;

use sip_core::{header::Transport, rt::NetworkConfig};
use testkit::{audio, baresip, scratch_dir};
use ua::Ua;

#[test]
fn baresip_calls_us_over_tls() {
    let ua = Ua::loopback();
    let ca = scratch_dir().join(format!("ua-cert-{}.pem", std::process::id()));
    std::fs::write(&ca, &ua.tls_cert_pem).unwrap();
    let config = baresip::Config {
        accounts: vec!["<sip:b@127.0.0.1>;regint=0;audio_codecs=PCMU/8000/1".into()],
        cafile: Some(ca),
        ..baresip::Config::default()
    };
    let dial = format!("/dial sip:echo@127.0.0.1:{};transport=tls", ua.tls.port());
    let b = baresip::start("tls-uac", &config, &["-e", &dial, "-t", "5"]);
    ua.wait("an answered TLS call", Duration::from_secs(10), |s| {
        s.answered == 1 && s.acks == 1
    });
    b.wait_log("Call established", Duration::from_secs(5));
    // baresip hangs up when it quits.
    ua.wait("baresip's BYE", Duration::from_secs(15), |s| {
        s.byes_received == 1
    });
}

#[test]
fn we_call_baresip_over_tls_and_verify_its_certificate() {
    let dir = scratch_dir();
    let (cert, key) = sip_core::rt::self_signed_identity(&["127.0.0.1"]).unwrap();
    let cert_file = baresip::write_certificate(&dir, &cert, &key);
    let ca = dir.join(format!("baresip-ca-{}.pem", std::process::id()));
    std::fs::write(&ca, &cert).unwrap();
    let wav = dir.join("speech8k.wav");
    audio::write_wav(&wav, 8000, 1, &audio::speech(8000));
    let config = baresip::Config {
        accounts: vec![
            "<sip:a@127.0.0.1>;regint=0;answermode=auto;audio_codecs=PCMU/8000/1".into(),
        ],
        certificate: Some(cert_file),
        audio_file: Some(wav),
        ..baresip::Config::default()
    };
    let b = baresip::start("tls-uas", &config, &[]);
    let any = "127.0.0.1:0".parse().unwrap();
    let ua = Ua::start(NetworkConfig {
        udp: vec![any],
        tls: vec![any],
        tcp: vec![any],
        tls_roots: vec![ca],
        ..NetworkConfig::default()
    });
    let target = format!("127.0.0.1:{}", b.sip_port + 1).parse().unwrap();
    ua.call(target, Transport::Tls, "a", Duration::from_millis(800));
    ua.wait(
        "the TLS call answered and hung up",
        Duration::from_secs(15),
        |s| s.outgoing_ok == 1 && s.byes_sent == 1,
    );
    b.wait_log("Call established", Duration::from_secs(5));
    let s = ua.stats();
    assert!(s.outgoing_failed.is_empty(), "{s:?}");
}

#[test]
fn an_untrusted_certificate_is_refused() {
    let dir = scratch_dir();
    let (cert, key) = sip_core::rt::self_signed_identity(&["127.0.0.1"]).unwrap();
    let cert_file = baresip::write_certificate(&dir, &cert, &key);
    let config = baresip::Config {
        accounts: vec![
            "<sip:a@127.0.0.1>;regint=0;answermode=auto;audio_codecs=PCMU/8000/1".into(),
        ],
        certificate: Some(cert_file),
        ..baresip::Config::default()
    };
    let b = baresip::start("tls-untrusted", &config, &[]);
    // No extra roots: baresip's self-signed certificate must not be accepted.
    let ua = Ua::loopback();
    let target = format!("127.0.0.1:{}", b.sip_port + 1).parse().unwrap();
    ua.call(target, Transport::Tls, "a", Duration::from_millis(200));
    ua.wait("the call to fail", Duration::from_secs(5), |s| {
        !s.outgoing_failed.is_empty()
    });
    let s = ua.stats();
    assert_eq!(
        (s.outgoing_ok, s.outgoing_failed.as_slice()),
        (0, &[503][..]),
        "a transport error is a 503 at once"
    );
    assert!(!b.log().contains("Call established"));
}
