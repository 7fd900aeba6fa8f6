//! Arbitrary bytes as a compound RTCP packet: what parses writes and parses back to itself.
#![no_main]

use libfuzzer_sys::fuzz_target;
use media_engine::rtcp;

fuzz_target!(|data: &[u8]| {
    let Ok(packets) = rtcp::parse(data) else { return };
    let mut out = Vec::new();
    rtcp::write(&mut out, &packets);
    let again = rtcp::parse(&out).expect("written RTCP parses");
    assert_eq!(again, packets);
});
