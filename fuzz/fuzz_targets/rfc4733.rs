//! Arbitrary telephone-event packets (timestamps and payloads) through the DTMF receiver:
//! every begin is followed by at most one end, and the state stays bounded.
#![no_main]

use std::time::{Duration, Instant};

use libfuzzer_sys::fuzz_target;
use media_engine::dtmf::{DtmfReceiver, DtmfUpdate, EventPayload};

fuzz_target!(|data: &[u8]| {
    let t0 = Instant::now();
    let mut rx = DtmfReceiver::new(8000);
    let mut open = 0i32;
    for (i, chunk) in data.chunks(8).enumerate() {
        if chunk.len() < 8 {
            break;
        }
        let ts = u32::from_be_bytes([chunk[0], chunk[1], chunk[2], chunk[3]]);
        let now = t0 + Duration::from_millis(i as u64 * 20);
        rx.on_packet(now, ts, &chunk[4..]);
        if let Some(p) = EventPayload::parse(&chunk[4..]) {
            assert_eq!(EventPayload::parse(&p.to_bytes()).map(|q| q.duration), Some(p.duration));
        }
        rx.handle_timeout(now);
        while let Some(u) = rx.poll_update() {
            match u {
                DtmfUpdate::Begin(_) => open += 1,
                DtmfUpdate::End { .. } => open -= 1,
            }
            assert!((-1..=1).contains(&open), "unbalanced begin/end");
        }
    }
});
