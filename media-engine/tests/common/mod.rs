//! The media core driven deterministically: fake sockets, injected time, packets in and out.
#![allow(dead_code, reason = "each test binary uses part of it")]

use std::{
    net::SocketAddr,
    time::{Duration, Instant},
};

use codec_transcoder::{AudioEncoder, Codec, EncoderConfig};
use media_engine::{
    LegSockets, Pt, Ssrc,
    command::{LegConfig, LegId, MediaError, MediaEvent},
    core::{MediaCore, SocketProvider},
    rtp::{self, RtpHeader},
    tx::SocketId,
};

pub(crate) struct FakeSockets {
    pub(crate) next: u32,
    pub(crate) open: Vec<LegSockets>,
}

impl SocketProvider for FakeSockets {
    fn open(&mut self) -> Result<LegSockets, MediaError> {
        let n = self.next;
        self.next += 2;
        let s = LegSockets {
            rtp: SocketId(n),
            rtcp: SocketId(n + 1),
            local: format!("127.0.0.1:{}", 20_000 + n).parse().unwrap(),
        };
        self.open.push(s);
        Ok(s)
    }

    fn close(&mut self, sockets: LegSockets) {
        self.open.retain(|s| *s != sockets);
    }
}

pub(crate) struct World {
    pub(crate) core: MediaCore,
    pub(crate) sockets: FakeSockets,
    pub(crate) now: Instant,
}

pub(crate) fn counter_random() -> media_engine::core::RandomSource {
    let mut n = 7u8;
    Box::new(move |b: &mut [u8]| {
        for x in b {
            n = n.wrapping_mul(31).wrapping_add(17);
            *x = n;
        }
    })
}

impl World {
    pub(crate) fn new() -> Self {
        let now = Instant::now();
        Self {
            core: MediaCore::new(now, Duration::from_secs(1_700_000_000), counter_random()),
            sockets: FakeSockets {
                next: 0,
                open: Vec::new(),
            },
            now,
        }
    }

    pub(crate) fn leg_from_offer(&mut self, id: u64, sdp: &str) -> String {
        let answer = self
            .core
            .create_leg(
                self.now,
                LegId(id),
                LegConfig::default(),
                Some(sdp.as_bytes()),
                &mut self.sockets,
            )
            .unwrap();
        String::from_utf8(answer).unwrap()
    }

    pub(crate) fn socket_of(&self, id: u64) -> LegSockets {
        self.sockets.open[(id - 1) as usize]
    }

    /// Delivers a datagram and returns what the core transmits at once.
    pub(crate) fn deliver(
        &mut self,
        leg: u64,
        from: &str,
        packet: &[u8],
    ) -> Vec<(SocketId, SocketAddr, Vec<u8>)> {
        let mut data = packet.to_vec();
        let s = self.socket_of(leg).rtp;
        self.core
            .handle_datagram(self.now, s, from.parse().unwrap(), &mut data);
        self.take_tx()
    }

    pub(crate) fn take_tx(&mut self) -> Vec<(SocketId, SocketAddr, Vec<u8>)> {
        let out = self
            .core
            .transmits()
            .iter()
            .map(|(s, a, d)| (s, a, d.to_vec()))
            .collect();
        self.core.clear_transmits();
        out
    }

    /// Advances 20 ms and runs the tick.
    pub(crate) fn tick(&mut self) -> Vec<(SocketId, SocketAddr, Vec<u8>)> {
        self.now += Duration::from_millis(20);
        self.core.handle_timeout(self.now);
        self.take_tx()
    }

    pub(crate) fn events(&mut self) -> Vec<MediaEvent> {
        std::iter::from_fn(|| self.core.poll_event()).collect()
    }
}

pub(crate) fn offer(port: u16, rtp_map: &str, extra: &str) -> String {
    let pts: Vec<&str> = rtp_map
        .lines()
        .filter_map(|l| l.strip_prefix("a=rtpmap:"))
        .map(|l| l.split(' ').next().unwrap())
        .collect();
    format!(
        "v=0\r\no=peer 1 1 IN IP4 10.0.0.1\r\ns=-\r\nc=IN IP4 10.0.0.1\r\nt=0 0\r\nm=audio {port} RTP/AVP {}\r\n{rtp_map}{extra}",
        pts.join(" ")
    )
}

pub(crate) const PCMU_TE: &str = "a=rtpmap:0 PCMU/8000\r\na=rtpmap:101 telephone-event/8000\r\n";
pub(crate) const G722: &str = "a=rtpmap:9 G722/8000\r\n";
pub(crate) const OPUS_TE48: &str =
    "a=rtpmap:111 opus/48000/2\r\na=rtpmap:126 telephone-event/48000\r\n";

pub(crate) fn packet(pt: u8, seq: u16, ts: u32, ssrc: u32, payload: &[u8]) -> Vec<u8> {
    let mut p = vec![0u8; 12];
    rtp::write_header(&mut p, false, Pt(pt), seq, ts, Ssrc(ssrc));
    p.extend_from_slice(payload);
    p
}

pub(crate) fn header(p: &[u8]) -> RtpHeader {
    RtpHeader::parse(p).unwrap()
}

/// Sends `ticks` of each leg's tone (µ-law, one packet per tick) and returns what each leg
/// was sent, decoded.
pub(crate) fn conference(w: &mut World, legs: &[(u64, &str, f64)], ticks: usize) -> Vec<Vec<i16>> {
    let mut heard = vec![Vec::new(); legs.len()];
    let mut enc = AudioEncoder::new(Codec::Pcmu, &EncoderConfig::default()).unwrap();
    let mut out = Vec::new();
    for t in 0..ticks {
        for (i, &(leg, from, hz)) in legs.iter().enumerate() {
            let pcm: Vec<i16> = (0..160)
                .map(|k| {
                    let n = (t * 160 + k) as f64;
                    ((n * hz * std::f64::consts::TAU / 8000.0).sin() * 6000.0) as i16
                })
                .collect();
            let mut payload = Vec::new();
            enc.encode(&pcm, &mut payload).unwrap();
            let seq = t as u16;
            let relayed = w.deliver(
                leg,
                from,
                &packet(0, seq, 160 * t as u32, 100 + i as u32, &payload),
            );
            out.extend(relayed);
        }
        out.extend(w.tick());
        for (sock, _, data) in out.drain(..) {
            let Some(i) = legs
                .iter()
                .position(|&(leg, _, _)| w.socket_of(leg).rtp == sock)
            else {
                continue;
            };
            if rtp::is_rtcp(&data) {
                continue;
            }
            let h = header(&data);
            let mut pcm = vec![0i16; h.payload_end - h.payload_start];
            codec_transcoder::g711::decode_ulaw(h.payload(&data), &mut pcm);
            heard[i].extend(pcm);
        }
    }
    heard
}
