//! Every byte string is a valid G.722 stream: decoding gives two samples per byte and the
//! same output twice.
#![no_main]

use codec_transcoder::g722;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let (mut a, mut b) = (Vec::new(), Vec::new());
    assert_eq!(g722::Decoder::new().decode(data, &mut a), data.len() * 2);
    g722::Decoder::new().decode(data, &mut b);
    assert_eq!(a, b);
});
