//! Arbitrary datagrams from arbitrary sources into two bridged legs (one SRTP, one plain,
//! different codecs), with ticks in between: the media core never panics.
#![no_main]

use std::time::{Duration, Instant};

use libfuzzer_sys::fuzz_target;
use media_engine::{
    command::{BridgeId, LegConfig, LegId, MediaError},
    core::{MediaCore, SocketProvider},
    tx::SocketId,
    LegSockets,
};

struct Fake(u32);

impl SocketProvider for Fake {
    fn open(&mut self) -> Result<LegSockets, MediaError> {
        let n = self.0;
        self.0 += 2;
        Ok(LegSockets {
            rtp: SocketId(n),
            rtcp: SocketId(n + 1),
            local: ([127, 0, 0, 1], 20_000 + n as u16).into(),
        })
    }
    fn close(&mut self, _: LegSockets) {}
}

const A: &str = "v=0\r\no=a 1 1 IN IP4 10.0.0.1\r\ns=-\r\nc=IN IP4 10.0.0.1\r\nt=0 0\r\nm=audio 4000 RTP/SAVP 0 101 13\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:101 telephone-event/8000\r\na=rtpmap:13 CN/8000\r\na=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwd\r\na=rtcp-mux\r\n";
const B: &str = "v=0\r\no=b 1 1 IN IP4 10.0.0.2\r\ns=-\r\nc=IN IP4 10.0.0.2\r\nt=0 0\r\nm=audio 5000 RTP/AVP 9\r\na=rtpmap:9 G722/8000\r\n";

fuzz_target!(|data: &[u8]| {
    let mut now = Instant::now();
    let mut core = MediaCore::new(now, Duration::from_secs(1), Box::new(|b: &mut [u8]| b.fill(3)));
    let mut s = Fake(0);
    core.create_leg(now, LegId(1), LegConfig::default(), Some(A.as_bytes()), &mut s).expect("leg 1");
    core.create_leg(now, LegId(2), LegConfig::default(), Some(B.as_bytes()), &mut s).expect("leg 2");
    core.bridge(BridgeId(1), media_engine::command::BridgeKind::Mixing, &[LegId(1), LegId(2)]).expect("bridge");
    if data.len() % 2 == 1 {
        // Half the inputs run with a snoop on leg 1 (no relay; spy and whisper both ways).
        let both = media_engine::snoop::SnoopDirection::Both;
        core.create_snoop(now, LegId(3), LegId(1), both, both).expect("snoop");
    }
    // Each record: 1 byte socket (0..4), 1 byte source, 2 bytes length, then the datagram.
    let mut rest = data;
    while rest.len() >= 4 {
        let socket = SocketId(u32::from(rest[0] % 4));
        let from = ([10, 0, 0, 1 + rest[1] % 3], if rest[1] & 0x80 == 0 { 4000 } else { 5000 }).into();
        let len = usize::from(u16::from_be_bytes([rest[2], rest[3]])).min(rest.len() - 4);
        let mut datagram = rest[4..4 + len].to_vec();
        rest = &rest[4 + len..];
        core.handle_datagram(now, socket, from, &mut datagram);
        now += Duration::from_millis(7);
        core.handle_timeout(now);
        core.clear_transmits();
        while core.poll_event().is_some() {}
    }
});
