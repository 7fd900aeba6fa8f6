//! Arbitrary bytes as RTP: a header that parses stays inside the packet, and a rewrite keeps
//! it parseable.
#![no_main]

use libfuzzer_sys::fuzz_target;
use media_engine::{rtp, Pt, Ssrc};

fuzz_target!(|data: &[u8]| {
    let Ok(h) = rtp::RtpHeader::parse(data) else { return };
    assert!(h.payload_start <= h.payload_end && h.payload_end <= data.len());
    let _ = h.payload(data);
    let _ = h.csrcs(data).count();
    let mut copy = data.to_vec();
    rtp::rewrite(&mut copy, Ssrc(1), 2, 3, Some(Pt(4)));
    let again = rtp::RtpHeader::parse(&copy).expect("rewritten header parses");
    assert_eq!((again.sequence, again.timestamp, again.ssrc), (2, 3, Ssrc(1)));
});
