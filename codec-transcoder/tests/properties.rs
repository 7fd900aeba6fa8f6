//! Properties over arbitrary input: decoders never panic, G.711/G.722 accept every byte
//! string deterministically, encoders round-trip through their decoders.

use codec_transcoder::{AudioDecoder, AudioEncoder, Codec, EncoderConfig, SampleRate, g711};
use proptest::prelude::*;

const CODECS: [Codec; 5] = [
    Codec::Pcmu,
    Codec::Pcma,
    Codec::G722,
    Codec::Opus,
    Codec::L16(SampleRate::Hz16000),
];

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn decoders_never_panic(codec in 0usize..CODECS.len(), payload in proptest::collection::vec(any::<u8>(), 0..1600)) {
        let codec = CODECS[codec];
        let mut d = AudioDecoder::new(codec).unwrap();
        let mut out = Vec::new();
        let result = d.decode(&payload, &mut out);
        match codec {
            // Every byte string is valid G.711 and G.722, and decodes the same way twice.
            Codec::Pcmu | Codec::Pcma | Codec::G722 => {
                prop_assert!(result.is_ok());
                let mut again = Vec::new();
                AudioDecoder::new(codec).unwrap().decode(&payload, &mut again).unwrap();
                prop_assert_eq!(out, again);
            }
            Codec::L16(_) => prop_assert_eq!(result.is_ok(), payload.len() % 2 == 0),
            _ => {}
        }
    }

    #[test]
    fn g711_code_levels_are_fixed_points(x in any::<i16>()) {
        let u = g711::ulaw_decode(g711::ulaw_encode(x));
        prop_assert_eq!(g711::ulaw_decode(g711::ulaw_encode(u)), u);
        let a = g711::alaw_decode(g711::alaw_encode(x));
        prop_assert_eq!(g711::alaw_decode(g711::alaw_encode(a)), a);
        // The quantisation error stays within half the largest step (1024 µ-law, 1024 A-law).
        prop_assert!((i32::from(x) - i32::from(u)).abs() <= 1024);
        prop_assert!((i32::from(x) - i32::from(a)).abs() <= 1024);
    }

    #[test]
    fn l16_round_trips_exactly(pcm in proptest::collection::vec(any::<i16>(), 0..960)) {
        let codec = Codec::L16(SampleRate::Hz48000);
        let mut payload = Vec::new();
        AudioEncoder::new(codec, &EncoderConfig::default()).unwrap().encode(&pcm, &mut payload).unwrap();
        prop_assert_eq!(payload.len(), pcm.len() * 2);
        let mut back = Vec::new();
        AudioDecoder::new(codec).unwrap().decode(&payload, &mut back).unwrap();
        prop_assert_eq!(back, pcm);
    }
}
