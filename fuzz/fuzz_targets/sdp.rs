//! Arbitrary text as an SDP offer: parse, print, parse back; then answer it with the default
//! capabilities (no panics, and an answer always parses).
#![no_main]

use libfuzzer_sys::fuzz_target;
use media_engine::sdp::{
    negotiate::{self, Capabilities, KeySource, LocalSide},
    Direction, SessionDescription,
};

fuzz_target!(|data: &[u8]| {
    let Ok(sdp) = SessionDescription::from_bytes(data) else { return };
    let printed = sdp.to_text();
    let again = SessionDescription::parse(&printed).expect("printed SDP parses");
    assert_eq!(again.to_text(), printed);
    let _ = sdp.origin();
    let _ = sdp.connection();
    for m in &sdp.media {
        let _ = (m.direction(&sdp), m.ptime(), m.rtcp(), m.is_secure(), m.connection(&sdp));
    }
    let local = LocalSide {
        address: [127, 0, 0, 1].into(),
        port: 10_000,
        session_id: 1,
        version: 1,
    };
    let mut random = |b: &mut [u8]| b.fill(7);
    if let Ok((answer, _)) = negotiate::answer(
        &sdp,
        &Capabilities::default(),
        &local,
        Direction::SendRecv,
        &mut KeySource::new(&mut random),
    ) {
        SessionDescription::parse(&answer.to_text()).expect("our answer parses");
    }
});
