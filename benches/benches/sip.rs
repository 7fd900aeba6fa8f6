//! sip-core figures: parse + print of an INVITE with SDP, and a whole UAS call
//! (INVITE/100/200/ACK/BYE/200) through the sans-IO endpoint, timing only the endpoint.
#![allow(missing_docs, clippy::unwrap_used)]

use std::{
    hint::black_box,
    time::{Duration, Instant},
};

use bytes::Bytes;
use criterion::{Criterion, criterion_group, criterion_main};
use sip_core::{
    Flow, StatusCode,
    endpoint::{Endpoint, EndpointConfig, Event, Listener, ResponseSpec},
    header::Transport,
    parse,
};

const SDP: &str = "v=0\r\no=user1 53655765 2353687637 IN IP4 192.0.2.10\r\ns=-\r\nc=IN IP4 192.0.2.10\r\nt=0 0\r\nm=audio 6000 RTP/AVP 0 8 101\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:8 PCMA/8000\r\na=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-16\r\na=ptime:20\r\na=sendrecv\r\n";

fn invite(n: u64) -> Bytes {
    Bytes::from(format!(
        "INVITE sip:service@192.0.2.1:5060 SIP/2.0\r\n\
Via: SIP/2.0/UDP 192.0.2.10:5061;branch=z9hG4bK-{n}-1-0;rport\r\n\
From: sipp <sip:sipp@192.0.2.10:5061>;tag={n}SIPpTag001\r\n\
To: service <sip:service@192.0.2.1:5060>\r\n\
Call-ID: {n}-1234@192.0.2.10\r\n\
CSeq: 1 INVITE\r\n\
Contact: sip:sipp@192.0.2.10:5061\r\n\
Max-Forwards: 70\r\n\
Subject: Performance Test\r\n\
User-Agent: bench\r\n\
Allow: INVITE, ACK, BYE, CANCEL, OPTIONS\r\n\
Content-Type: application/sdp\r\n\
Content-Length: {}\r\n\r\n{SDP}",
        SDP.len()
    ))
}

fn in_dialog(method: &str, n: u64, cseq: u32, to_tag: &str) -> Bytes {
    Bytes::from(format!(
        "{method} sip:service@192.0.2.1:5060 SIP/2.0\r\n\
Via: SIP/2.0/UDP 192.0.2.10:5061;branch=z9hG4bK-{n}-{cseq}-{method};rport\r\n\
From: sipp <sip:sipp@192.0.2.10:5061>;tag={n}SIPpTag001\r\n\
To: service <sip:service@192.0.2.1:5060>;tag={to_tag}\r\n\
Call-ID: {n}-1234@192.0.2.10\r\n\
CSeq: {cseq} {method}\r\n\
Contact: sip:sipp@192.0.2.10:5061\r\n\
Max-Forwards: 70\r\n\
Content-Length: 0\r\n\r\n"
    ))
}

fn parse_print(c: &mut Criterion) {
    let raw = invite(1);
    c.bench_function("sip/parse+print INVITE with SDP", |b| {
        b.iter(|| {
            let m = parse(black_box(raw.clone())).unwrap();
            black_box(m.to_bytes())
        })
    });
    c.bench_function("sip/parse INVITE with SDP", |b| {
        b.iter(|| black_box(parse(black_box(raw.clone())).unwrap()))
    });
}

fn uas_call(c: &mut Criterion) {
    let local = "192.0.2.1:5060".parse().unwrap();
    let remote = "192.0.2.10:5061".parse().unwrap();
    let flow = Flow {
        transport: Transport::Udp,
        local,
        remote,
        connection: None,
    };
    c.bench_function(
        "sip/UAS call INVITE-100-200-ACK-BYE-200 (endpoint only)",
        |b| {
            b.iter_custom(|iters| {
                let mut ep = Endpoint::new(EndpointConfig::default(), 1);
                ep.add_listener(Listener {
                    transport: Transport::Udp,
                    local,
                    advertised: None,
                });
                let mut now = Instant::now();
                let mut timed = Duration::ZERO;
                for n in 0..iters {
                    // The peer's side (building its messages) is not timed.
                    let inv = invite(n);
                    now += Duration::from_millis(5);
                    let t0 = Instant::now();
                    ep.handle_timeout(now);
                    ep.handle_datagram(now, flow.clone(), inv);
                    let mut tx = None;
                    while let Some(e) = ep.poll_event() {
                        if let Event::Request { tx: t, .. } = e {
                            tx = Some(t);
                        }
                    }
                    ep.respond(now, tx.unwrap(), ResponseSpec::new(StatusCode::OK).sdp(SDP))
                        .unwrap();
                    let mut to_tag = String::new();
                    while let Some(t) = ep.poll_transmit() {
                        if t.data.starts_with(b"SIP/2.0 200") {
                            to_tag = tag_of(&t.data);
                        }
                    }
                    timed += t0.elapsed();
                    let ack = in_dialog("ACK", n, 1, &to_tag);
                    let bye = in_dialog("BYE", n, 2, &to_tag);
                    let t1 = Instant::now();
                    ep.handle_datagram(now, flow.clone(), ack);
                    ep.handle_datagram(now, flow.clone(), bye);
                    while ep.poll_transmit().is_some() {}
                    while ep.poll_event().is_some() {}
                    timed += t1.elapsed();
                }
                timed
            })
        },
    );
}

fn tag_of(response: &[u8]) -> String {
    let text = std::str::from_utf8(response).unwrap();
    let to = text.lines().find(|l| l.starts_with("To:")).unwrap();
    to.split("tag=").nth(1).unwrap().trim().to_string()
}

fn config() -> Criterion {
    Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
}

criterion_group! { name = benches; config = config(); targets = parse_print, uas_call }
criterion_main!(benches);
