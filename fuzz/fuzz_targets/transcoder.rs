//! A stream of arbitrary payloads and losses through a transcoder between any two codecs:
//! errors are values, output packets stay whole.
#![no_main]

use arbitrary::Arbitrary;
use codec_transcoder::{Codec, SampleRate, Transcoder, TranscoderConfig};
use libfuzzer_sys::fuzz_target;

#[derive(Debug, Arbitrary)]
enum Step {
    Payload(Vec<u8>),
    Lost(u8),
}

#[derive(Debug, Arbitrary)]
struct Input {
    from: u8,
    to: u8,
    steps: Vec<Step>,
}

const CODECS: [Codec; 6] = [
    Codec::Pcmu,
    Codec::Pcma,
    Codec::G722,
    Codec::Opus,
    Codec::L16(SampleRate::Hz8000),
    Codec::L16(SampleRate::Hz48000),
];

fuzz_target!(|input: Input| {
    let from = CODECS[usize::from(input.from) % CODECS.len()];
    let to = CODECS[usize::from(input.to) % CODECS.len()];
    let mut t = Transcoder::new(from, to, &TranscoderConfig::default()).expect("every pair");
    let mut out = Vec::new();
    for step in input.steps.iter().take(64) {
        let _ = match step {
            Step::Payload(p) => t.push(p),
            Step::Lost(n) => t.push_lost(usize::from(*n) * 40),
        };
        while let Ok(Some(_)) = t.poll_packet(&mut out) {
            out.clear();
        }
    }
});
