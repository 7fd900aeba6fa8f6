//! G.722 bit-exactness with the ITU reference as carried by spandsp, in both directions, on
//! twelve seconds of espeak-ng speech and on synthetic signals.
//!
//! One deliberate difference: where the receive QMF's output exceeds 16 bits (full-scale
//! content near 8 kHz, or random codes), spandsp's integer cast wraps it round (−36402 becomes
//! +29134, a loud click); we saturate, as the ITU-T STL's saturating basic operators do. Those
//! samples are checked to be exactly the wrapped ones; every other sample must be identical.
#![allow(clippy::unwrap_used)]

use codec_transcoder::g722;
use testkit::{
    audio::{bytes_to_pcm, noise, pcm_to_bytes, speech, square, sweep, tone},
    oracle::spandsp_filter,
};

fn encode_ours(pcm: &[i16]) -> Vec<u8> {
    let mut codes = Vec::new();
    g722::Encoder::new().encode(pcm, &mut codes).unwrap();
    codes
}

fn decode_ours(codes: &[u8]) -> Vec<i16> {
    let mut pcm = Vec::new();
    g722::Decoder::new().decode(codes, &mut pcm);
    pcm
}

fn check(name: &str, pcm: &[i16]) -> usize {
    let theirs = spandsp_filter("g722-enc", &pcm_to_bytes(pcm));
    let ours = encode_ours(pcm);
    assert_eq!(ours.len(), theirs.len(), "{name}: code count");
    if let Some(i) = ours.iter().zip(&theirs).position(|(a, b)| a != b) {
        panic!(
            "{name}: encoder differs from spandsp first at code {i} of {}",
            ours.len()
        );
    }
    let theirs_pcm = bytes_to_pcm(&spandsp_filter("g722-dec", &theirs));
    let ours_pcm = decode_ours(&theirs);
    let wrapped = compare_decoded(name, &ours_pcm, &theirs_pcm);
    eprintln!(
        "{name}: {} samples, {wrapped} wrapped by spandsp and saturated by us",
        ours_pcm.len()
    );
    wrapped
}

/// Every sample equal, except where spandsp wrapped an overflow: there ours sits at the rail
/// and spandsp's value has the opposite sign. Returns how many such samples there were.
fn compare_decoded(name: &str, ours: &[i16], theirs: &[i16]) -> usize {
    assert_eq!(ours.len(), theirs.len(), "{name}: sample count");
    let mut wrapped = 0;
    for (i, (&o, &t)) in ours.iter().zip(theirs).enumerate() {
        if o == t {
            continue;
        }
        let wrap = (o == i16::MIN && t > 0) || (o == i16::MAX && t < 0);
        assert!(
            wrap,
            "{name}: decoder differs from spandsp at sample {i}: ours {o}, theirs {t}"
        );
        wrapped += 1;
    }
    wrapped
}

#[test]
fn speech_is_bit_exact_both_ways() {
    let pcm = speech(16_000);
    assert!(pcm.len() >= 160_000, "at least 10 s of speech");
    assert_eq!(check("speech", &pcm), 0, "speech never overflows");
}

#[test]
fn synthetic_signals_are_bit_exact_both_ways() {
    let n = 16_000 * 3;
    check("silence", &vec![0; n]);
    check(
        "sweep 20 Hz - 8 kHz",
        &sweep(16_000, 20.0, 8_000.0, 30_000.0, n),
    );
    check("full-scale square 500 Hz", &square(16_000, 500.0, n));
    check("full-scale square 3 kHz", &square(16_000, 3_000.0, n));
    check("full-scale sine 1 kHz", &tone(16_000, 1_000.0, 32_767.0, n));
    check("full-scale noise", &noise(n, 0x5eed));
    check(
        "DC at the limits",
        &[vec![i16::MAX; n / 2], vec![i16::MIN; n / 2]].concat(),
    );
}

#[test]
fn arbitrary_codes_decode_like_spandsp() {
    // Every byte sequence is a valid G.722 stream.
    let codes: Vec<u8> = noise(40_000, 0xc0de).iter().map(|&s| s as u8).collect();
    let theirs = bytes_to_pcm(&spandsp_filter("g722-dec", &codes));
    let wrapped = compare_decoded("random codes", &decode_ours(&codes), &theirs);
    assert!(wrapped < theirs.len() / 100, "{wrapped} wrapped samples");
}
