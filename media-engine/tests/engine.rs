//! The media workers over real UDP sockets on loopback: relaying, strict source checking,
//! moving legs between workers for a bridge, DTMF, events.
#![allow(clippy::unwrap_used, clippy::disallowed_methods, reason = "tests")]

use std::{
    net::{SocketAddr, UdpSocket},
    time::Duration,
};

use media_engine::{
    Pt, Ssrc,
    command::{BridgeId, LegId, MediaCommand, MediaEvent, Reply},
    rtp::{self, RtpHeader},
    sdp::SessionDescription,
    worker::{EngineConfig, MediaEngine},
};

fn engine(workers: usize, port_min: u16) -> MediaEngine {
    MediaEngine::start(&EngineConfig {
        workers,
        port_min,
        port_max: port_min + 200,
        ..EngineConfig::default()
    })
    .unwrap()
}

fn peer() -> UdpSocket {
    let s = UdpSocket::bind("127.0.0.1:0").unwrap();
    s.set_read_timeout(Some(Duration::from_millis(300)))
        .unwrap();
    s
}

fn offer_from(s: &UdpSocket) -> Vec<u8> {
    let port = s.local_addr().unwrap().port();
    format!(
        "v=0\r\no=peer 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio {port} RTP/AVP 0 101\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:101 telephone-event/8000\r\na=rtcp-mux\r\n"
    )
    .into_bytes()
}

/// Creates a leg answering `s`'s offer; returns our RTP address.
fn create(engine: &MediaEngine, id: u64, s: &UdpSocket) -> SocketAddr {
    let (reply, rx) = Reply::channel();
    engine.command(MediaCommand::CreateLeg {
        leg: LegId(id),
        config: Box::default(),
        remote_offer: Some(offer_from(s)),
        near: None,
        reply,
    });
    let answer = rx.recv_timeout(Duration::from_secs(5)).unwrap().unwrap();
    let sdp = SessionDescription::from_bytes(&answer).unwrap();
    SocketAddr::new(sdp.connection().unwrap(), sdp.media[0].port)
}

fn bridge(engine: &MediaEngine, id: u64, legs: &[u64]) {
    let (reply, rx) = Reply::channel();
    engine.command(MediaCommand::Bridge {
        kind: media_engine::command::BridgeKind::Mixing,
        bridge: BridgeId(id),
        legs: legs.iter().map(|l| LegId(*l)).collect(),
        reply,
    });
    rx.recv_timeout(Duration::from_secs(5)).unwrap().unwrap();
}

fn packet(seq: u16, payload: &[u8]) -> Vec<u8> {
    let mut p = vec![0u8; 12];
    rtp::write_header(
        &mut p,
        false,
        Pt(0),
        seq,
        u32::from(seq) * 160,
        Ssrc(0x1234),
    );
    p.extend_from_slice(payload);
    p
}

/// Sends `n` packets from `from` to `to` and returns the payloads `sink` receives.
fn exchange(from: &UdpSocket, to: SocketAddr, sink: &UdpSocket, n: u16) -> Vec<Vec<u8>> {
    let mut got = Vec::new();
    let mut buf = [0u8; 2048];
    for i in 0..n {
        from.send_to(&packet(i, &[i as u8; 160]), to).unwrap();
        loop {
            match sink.recv_from(&mut buf) {
                Ok((len, _)) if rtp::is_rtcp(&buf[..len]) => {}
                Ok((len, _)) => {
                    let h = RtpHeader::parse(&buf[..len]).unwrap();
                    got.push(h.payload(&buf[..len]).to_vec());
                    break;
                }
                Err(_) => break,
            }
        }
    }
    got
}

#[test]
fn relays_over_loopback_and_stops_rtp_bleed() {
    let engine = engine(1, 31_000);
    let (a, b, intruder) = (peer(), peer(), peer());
    let leg_a = create(&engine, 1, &a);
    let leg_b = create(&engine, 2, &b);
    bridge(&engine, 1, &[1, 2]);
    let got = exchange(&a, leg_a, &b, 20);
    assert_eq!(got.len(), 20);
    assert!(
        got.iter()
            .enumerate()
            .all(|(i, p)| p == &vec![i as u8; 160])
    );
    let back = exchange(&b, leg_b, &a, 20);
    assert_eq!(back.len(), 20);
    // A third socket sends into leg A's latched port: nothing of it reaches B.
    for i in 0..20u16 {
        intruder
            .send_to(&packet(100 + i, &[0xEE; 160]), leg_a)
            .unwrap();
    }
    let mut buf = [0u8; 2048];
    loop {
        match b.recv_from(&mut buf) {
            Ok((len, _)) if rtp::is_rtcp(&buf[..len]) => {}
            Ok((len, _)) => panic!("bleed: {:?}", &buf[12..len.min(20)]),
            Err(_) => break,
        }
    }
    let latched = MediaEvent::Latched {
        leg: LegId(1),
        remote: a.local_addr().unwrap(),
    };
    assert!(engine.events().try_iter().any(|e| e == latched));
    let stats = engine.stats();
    assert!(stats.relayed >= 40, "{stats:?}");
}

#[test]
fn moves_legs_between_workers_to_bridge_them() {
    let engine = engine(2, 31_400);
    let (a, b) = (peer(), peer());
    let leg_a = create(&engine, 1, &a);
    create(&engine, 2, &b);
    // The least-loaded placement put them on different workers.
    assert_ne!(engine.worker_of(LegId(1)), engine.worker_of(LegId(2)));
    bridge(&engine, 7, &[1, 2]);
    assert_eq!(engine.worker_of(LegId(1)), engine.worker_of(LegId(2)));
    let got = exchange(&a, leg_a, &b, 10);
    assert_eq!(got.len(), 10, "the moved leg's socket still receives");
    // Destroy answers with statistics.
    let (reply, rx) = Reply::channel();
    engine.command(MediaCommand::Destroy {
        leg: LegId(2),
        reply,
    });
    let stats = rx.recv_timeout(Duration::from_secs(5)).unwrap().unwrap();
    assert_eq!(stats.txcount, 10);
    let (reply, rx) = Reply::channel();
    engine.command(MediaCommand::Stats {
        leg: LegId(2),
        reply,
    });
    assert!(rx.recv_timeout(Duration::from_secs(5)).unwrap().is_err());
}

#[test]
fn sends_dtmf_as_rfc4733() {
    let engine = engine(1, 31_800);
    let a = peer();
    create(&engine, 1, &a);
    // Symmetric RTP: latch first so we know where to send.
    let (reply, rx) = Reply::channel();
    engine.command(MediaCommand::SendDtmf {
        leg: LegId(1),
        digits: "1#".into(),
        duration: Duration::from_millis(100),
        between: Duration::from_millis(60),
        reply,
    });
    rx.recv_timeout(Duration::from_secs(5)).unwrap().unwrap();
    let mut buf = [0u8; 2048];
    let mut ends = Vec::new();
    while let Ok((len, _)) = a.recv_from(&mut buf) {
        if rtp::is_rtcp(&buf[..len]) {
            continue;
        }
        let h = RtpHeader::parse(&buf[..len]).unwrap();
        assert_eq!(h.payload_type, Pt(101));
        let p = media_engine::dtmf::EventPayload::parse(h.payload(&buf[..len])).unwrap();
        if p.end {
            ends.push((p.event, p.duration));
        }
    }
    assert_eq!(
        ends,
        [
            (1, 800),
            (1, 800),
            (1, 800),
            (11, 800),
            (11, 800),
            (11, 800)
        ]
    );
}
