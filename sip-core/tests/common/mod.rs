//! Request builders shared by the simulation tests.
#![allow(dead_code, unreachable_pub, clippy::unwrap_used)]

use bytes::Bytes;
use sip_core::{
    Method, Request, StatusCode, Uri,
    endpoint::{Event, InviteSpec, RequestId, ServerTxId},
    header::{NameAddr, Transport},
};

use super::sim::Sim;

pub const SDP_A: &str = "v=0\r\no=a 1 1 IN IP4 192.0.2.1\r\ns=-\r\nc=IN IP4 192.0.2.1\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\n";
pub const SDP_B: &str = "v=0\r\no=b 1 1 IN IP4 192.0.2.2\r\ns=-\r\nc=IN IP4 192.0.2.2\r\nt=0 0\r\nm=audio 5000 RTP/AVP 0\r\n";

pub fn uri(s: &str) -> Uri {
    Uri::parse(Bytes::copy_from_slice(s.as_bytes())).unwrap()
}

pub fn invite_spec(sim: &Sim, from: usize, to: usize, sdp: Option<&str>) -> InviteSpec {
    let a = sim.nodes[from].addr;
    let b = sim.nodes[to].addr;
    InviteSpec {
        uri: uri(&format!("sip:bob@{b}")),
        from: NameAddr::new(uri(&format!("sip:alice@{}", a.ip()))).with_display_name("Alice"),
        to: NameAddr::new(uri(&format!("sip:bob@{}", b.ip()))),
        call_id: None,
        from_tag: None,
        route: Vec::new(),
        headers: Vec::new(),
        sdp: sdp.map(|s| Bytes::from(s.to_string())),
        next_hop: (sim.transport.clone(), b),
        credentials: None,
    }
}

/// Sends an INVITE from `from` to `to` and waits until `to` sees it.
pub fn invite(
    sim: &mut Sim,
    from: usize,
    to: usize,
    sdp: Option<&str>,
) -> (RequestId, ServerTxId, Request) {
    let now = sim.now;
    let spec = invite_spec(sim, from, to, sdp);
    let id = sim.nodes[from].ep.invite(now, spec).unwrap();
    let (tx, req) = sim.expect_event(to, std::time::Duration::from_secs(5), |e| match e {
        Event::Request { tx, request, .. } if request.method == Method::Invite => {
            Some((*tx, request.clone()))
        }
        _ => None,
    });
    (id, tx, req)
}

pub fn response_status(e: &Event, id: RequestId) -> Option<StatusCode> {
    match e {
        Event::Response {
            request, response, ..
        } if *request == id => Some(response.status),
        _ => None,
    }
}

pub fn transport_udp() -> Transport {
    Transport::Udp
}
