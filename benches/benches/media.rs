//! Per-packet costs of the media path: RTP parse + rewrite, SRTP, the jitter buffer, and a
//! relayed packet through the sans-IO media core (figures in the README).
#![allow(missing_docs, clippy::unwrap_used, clippy::disallowed_methods)]

use std::{
    hint::black_box,
    time::{Duration, Instant},
};

use criterion::{Criterion, criterion_group, criterion_main};
use media_engine::{
    LegSockets, Pt, Ssrc,
    command::{BridgeId, LegConfig, LegId, MediaError},
    core::{MediaCore, SocketProvider},
    jitter::JitterBuffer,
    rtp::{self, RtpHeader},
    srtp::{CryptoSuite, KeyMaterial, SrtpContext},
    stream::{OutStream, Source},
    tx::SocketId,
};

fn packet(seq: u16) -> Vec<u8> {
    let mut p = vec![0x55u8; 172];
    rtp::write_header(
        &mut p,
        false,
        Pt(0),
        seq,
        u32::from(seq) * 160,
        Ssrc(0xdead_beef),
    );
    p
}

fn rtp_rewrite(c: &mut Criterion) {
    let mut out = OutStream::new(Ssrc(7), 100, 1000, 8000);
    let mut p = packet(1);
    let now = Instant::now();
    let mut seq = 0u16;
    c.bench_function("rtp parse + rewrite (172 B)", |b| {
        b.iter(|| {
            seq = seq.wrapping_add(1);
            p[2..4].copy_from_slice(&seq.to_be_bytes());
            let h = RtpHeader::parse(black_box(&p)).unwrap();
            out.relay(
                now,
                Source::Relay {
                    leg: 1,
                    ssrc: h.ssrc,
                },
                &mut p,
                h.sequence,
                h.timestamp,
                Pt(8),
            );
            black_box(&p);
        });
    });
}

fn srtp(c: &mut Criterion) {
    for suite in [
        CryptoSuite::AesCm128HmacSha1_80,
        CryptoSuite::AesCm128HmacSha1_32,
        CryptoSuite::AeadAes128Gcm,
    ] {
        let key = KeyMaterial::from_bytes(suite, &vec![7u8; 16 + suite.salt_len()]).unwrap();
        let mut tx = SrtpContext::new(suite, &key);
        let mut rx = SrtpContext::new(suite, &key);
        let mut buf = Vec::with_capacity(256);
        let mut seq = 0u16;
        c.bench_function(
            &format!("srtp protect + unprotect 172 B ({})", suite.name()),
            |b| {
                b.iter(|| {
                    seq = seq.wrapping_add(1);
                    buf.clear();
                    buf.extend_from_slice(&packet(0));
                    buf[2..4].copy_from_slice(&seq.to_be_bytes());
                    tx.protect_rtp(&mut buf).unwrap();
                    let n = rx.unprotect_rtp(&mut buf).unwrap();
                    black_box(n);
                });
            },
        );
    }
}

fn jitter(c: &mut Criterion) {
    let mut jb = JitterBuffer::with_defaults(8000, 20);
    let payload = [0x55u8; 160];
    let mut now = Instant::now();
    let mut seq = 0u16;
    c.bench_function("jitter buffer insert + pop", |b| {
        b.iter(|| {
            seq = seq.wrapping_add(1);
            now += Duration::from_millis(20);
            jb.insert(now, seq, u32::from(seq) * 160, 0, &payload);
            black_box(jb.pop(now));
        });
    });
}

struct Fake(u32);

impl SocketProvider for Fake {
    fn open(&mut self) -> Result<LegSockets, MediaError> {
        self.0 += 2;
        Ok(LegSockets {
            rtp: SocketId(self.0),
            rtcp: SocketId(self.0 + 1),
            local: format!("127.0.0.1:{}", 20_000 + self.0).parse().unwrap(),
        })
    }
    fn close(&mut self, _: LegSockets) {}
}

fn core_relay(c: &mut Criterion) {
    let now = Instant::now();
    let mut n = 0u8;
    let mut core = MediaCore::new(
        now,
        Duration::from_secs(1_700_000_000),
        Box::new(move |b: &mut [u8]| {
            for x in b {
                n = n.wrapping_add(101);
                *x = n;
            }
        }),
    );
    let mut sockets = Fake(0);
    let offer = |port: u16| {
        format!(
            "v=0\r\no=x 1 1 IN IP4 10.0.0.1\r\ns=-\r\nc=IN IP4 10.0.0.1\r\nt=0 0\r\nm=audio {port} RTP/AVP 0 101\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:101 telephone-event/8000\r\n"
        )
    };
    for (id, port) in [(1, 4000), (2, 5000)] {
        core.create_leg(
            now,
            LegId(id),
            LegConfig::default(),
            Some(offer(port).as_bytes()),
            &mut sockets,
        )
        .unwrap();
    }
    core.bridge(
        BridgeId(1),
        media_engine::command::BridgeKind::Mixing,
        &[LegId(1), LegId(2)],
    )
    .unwrap();
    let from = "10.0.0.1:4000".parse().unwrap();
    let mut seq = 0u16;
    let mut p = packet(0);
    c.bench_function("relayed packet through the media core", |b| {
        b.iter(|| {
            seq = seq.wrapping_add(1);
            p[2..4].copy_from_slice(&seq.to_be_bytes());
            core.handle_datagram(now, SocketId(2), from, &mut p);
            black_box(core.transmits().len());
            core.clear_transmits();
        });
    });
}

criterion_group!(benches, rtp_rewrite, srtp, jitter, core_relay);
criterion_main!(benches);
