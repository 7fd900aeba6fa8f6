//! Arbitrary bytes as an Opus packet: the TOC/framing parser and libopus either decode it or
//! return an error; the sample count always matches the parsed duration.
#![no_main]

use codec_transcoder::{SampleRate, opus};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let parsed = opus::parse_packet(data);
    let mut d = opus::OpusDecoder::new(SampleRate::Hz48000).expect("decoder");
    let mut out = Vec::new();
    match (parsed, d.decode(data, &mut out)) {
        (Ok(info), Ok(n)) => assert_eq!(n, info.samples_at(48_000)),
        (Err(_), Ok(_)) => panic!("decoded a packet the parser refused"),
        _ => {}
    }
});
