//! Every byte string is valid G.711: decoding and table transcoding never fail and are
//! deterministic.
#![no_main]

use codec_transcoder::{AudioDecoder, Codec, g711};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut a = vec![0i16; data.len()];
    let mut b = vec![0i16; data.len()];
    g711::decode_ulaw(data, &mut a);
    g711::decode_alaw(data, &mut b);
    let mut t = data.to_vec();
    g711::transcode_ulaw_to_alaw(&mut t);
    g711::transcode_alaw_to_ulaw(&mut t);
    for codec in [Codec::Pcmu, Codec::Pcma] {
        let mut d = AudioDecoder::new(codec).expect("G.711 decoder");
        let mut out = Vec::new();
        assert_eq!(d.decode(data, &mut out).expect("G.711 accepts every byte"), data.len());
    }
});
