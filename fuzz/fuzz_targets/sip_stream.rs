//! A byte stream cut at arbitrary points through the stream framer: never a panic, never a
//! message invented from nothing.
#![no_main]

use bytes::BytesMut;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: (Vec<u8>, Vec<u16>)| {
    let (data, cuts) = input;
    let mut buf = BytesMut::new();
    let mut pos = 0;
    for cut in cuts.iter().take(32) {
        let end = (pos + usize::from(*cut) % 512).min(data.len());
        buf.extend_from_slice(&data[pos..end]);
        pos = end;
        while let Ok(Some(_)) = sip_core::parse_stream(&mut buf, 8192) {}
        if buf.len() > 9000 {
            buf.clear();
        }
    }
});
