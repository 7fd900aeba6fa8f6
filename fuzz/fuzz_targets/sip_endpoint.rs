//! A sequence of arbitrary datagrams and clock jumps into an endpoint: whatever the peer
//! sends, the endpoint answers, drops or times out; it never panics and its queues drain.
#![no_main]

use std::time::{Duration, Instant};

use arbitrary::Arbitrary;
use bytes::Bytes;
use libfuzzer_sys::fuzz_target;
use sip_core::{
    endpoint::{Endpoint, EndpointConfig, Event, Listener, ResponseSpec},
    header::Transport,
    Flow, StatusCode,
};

#[derive(Debug, Arbitrary)]
enum Step {
    Datagram(Vec<u8>),
    /// A well-formed request skeleton with fuzzed pieces.
    Request { method: u8, to_tag: bool, branch: u16, cseq: u16, body: Vec<u8> },
    Advance(u16),
    Answer(u16),
}

fuzz_target!(|steps: Vec<Step>| {
    let local = "127.0.0.1:5060".parse().expect("addr");
    let remote = "127.0.0.1:5070".parse().expect("addr");
    let mut ep = Endpoint::new(EndpointConfig::default(), 7);
    ep.add_listener(Listener { transport: Transport::Udp, local, advertised: None });
    let flow = Flow { transport: Transport::Udp, local, remote, connection: None };
    let mut now = Instant::now();
    let mut pending = Vec::new();
    for step in steps.into_iter().take(64) {
        match step {
            Step::Datagram(d) => ep.handle_datagram(now, flow.clone(), Bytes::from(d)),
            Step::Request { method, to_tag, branch, cseq, body } => {
                let m = ["INVITE", "ACK", "BYE", "CANCEL", "OPTIONS", "PRACK", "UPDATE", "INFO"][usize::from(method) % 8];
                let tag = if to_tag { ";tag=t1" } else { "" };
                let msg = format!(
                    "{m} sip:a@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK{branch}\r\nFrom: <sip:b@127.0.0.1>;tag=f\r\nTo: <sip:a@127.0.0.1>{tag}\r\nCall-ID: c\r\nCSeq: {cseq} {m}\r\nContact: <sip:b@127.0.0.1:5070>\r\nMax-Forwards: 70\r\nContent-Type: application/sdp\r\nContent-Length: {}\r\n\r\n",
                    body.len()
                );
                let mut bytes = msg.into_bytes();
                bytes.extend_from_slice(&body);
                ep.handle_datagram(now, flow.clone(), Bytes::from(bytes));
            }
            Step::Advance(ms) => {
                now += Duration::from_millis(u64::from(ms) * 10);
                ep.handle_timeout(now);
            }
            Step::Answer(code) => {
                if let Some(tx) = pending.pop() {
                    let status = StatusCode::new(100 + code % 600).unwrap_or(StatusCode::OK);
                    let _ = ep.respond(now, tx, ResponseSpec::new(status).sdp("v=0\r\n"));
                }
            }
        }
        while ep.poll_transmit().is_some() {}
        while let Some(e) = ep.poll_event() {
            match e {
                Event::Request { tx, .. } | Event::DialogRequest { tx, .. } => pending.push(tx),
                _ => {}
            }
        }
    }
});
