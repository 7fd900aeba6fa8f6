//! The four transaction machines on a simulated link: every timer of RFC 3261 Table 4 and
//! every retransmission path of Figures 5–8, with exact times on a virtual clock.
#![allow(clippy::unwrap_used, reason = "tests")]

mod common;
mod sim;

use std::time::Duration;

use bytes::Bytes;
use common::{SDP_B, invite, invite_spec, response_status, uri};
use sim::Sim;
use sip_core::{
    Method, StatusCode,
    endpoint::{EndpointConfig, Event, RequestSpec, ResponseSpec},
    header::{NameAddr, Transport},
};

fn secs(s: &[f64]) -> Vec<Duration> {
    s.iter()
        .map(|&x| Duration::from_millis((x * 1000.0).round() as u64))
        .collect()
}

fn times(sim: &Sim, from: usize, prefix: &str) -> Vec<Duration> {
    sim.sent(from, prefix).iter().map(|t| t.at).collect()
}

#[test]
fn figure5_timer_a_doubles_and_timer_b_gives_up_at_64_t1() {
    let mut sim = Sim::new(2, 1);
    sim.drop_rule = Some(Box::new(|from, _, _| from == 0));
    let now = sim.now;
    let spec = invite_spec(&sim, 0, 1, Some(common::SDP_A));
    let id = sim.nodes[0].ep.invite(now, spec).unwrap();
    sim.run_for(Duration::from_secs(40));
    // Timer A: T1, 2T1, 4T1 ... until Timer B (64·T1 = 32 s).
    assert_eq!(
        times(&sim, 0, "INVITE"),
        secs(&[0.0, 0.5, 1.5, 3.5, 7.5, 15.5, 31.5])
    );
    let (at, status) = sim.nodes[0]
        .events
        .iter()
        .find_map(|(at, e)| response_status(e, id).map(|s| (*at, s)))
        .expect("a local 408");
    assert_eq!(
        (at, status),
        (Duration::from_secs(32), StatusCode::REQUEST_TIMEOUT)
    );
    assert_eq!(sim.nodes[0].ep.stats().client_transactions, 0);
}

#[test]
fn figure6_timer_e_caps_at_t2_and_timer_f_gives_up() {
    let mut sim = Sim::new(2, 2);
    sim.drop_rule = Some(Box::new(|from, _, _| from == 0));
    let now = sim.now;
    let b = sim.nodes[1].addr;
    let id = sim.nodes[0]
        .ep
        .request_outside(
            now,
            uri(&format!("sip:bob@{b}")),
            NameAddr::new(uri("sip:alice@192.0.2.1")),
            NameAddr::new(uri("sip:bob@192.0.2.2")),
            RequestSpec::new(Method::Options),
            (Transport::Udp, b),
        )
        .unwrap();
    sim.run_for(Duration::from_secs(40));
    assert_eq!(
        times(&sim, 0, "OPTIONS"),
        secs(&[0.0, 0.5, 1.5, 3.5, 7.5, 11.5, 15.5, 19.5, 23.5, 27.5, 31.5])
    );
    assert!(
        sim.nodes[0]
            .events
            .iter()
            .any(|(at, e)| *at == Duration::from_secs(32)
                && response_status(e, id) == Some(StatusCode::REQUEST_TIMEOUT))
    );
}

#[test]
fn figure6_proceeding_retransmits_every_t2_and_the_server_repeats_its_provisional() {
    // Node 1 allows MESSAGE and passes it to its transaction user, which only says 100.
    let mut config = EndpointConfig::default();
    config.policy.allowed.push(Method::Message);
    let mut sim = Sim::with_config(2, 3, config, Transport::Udp);
    let now = sim.now;
    let b = sim.nodes[1].addr;
    let id = sim.nodes[0]
        .ep
        .request_outside(
            now,
            uri(&format!("sip:bob@{b}")),
            NameAddr::new(uri("sip:alice@192.0.2.1")),
            NameAddr::new(uri("sip:bob@192.0.2.2")),
            RequestSpec::new(Method::Message).body("text/plain", "hi"),
            (Transport::Udp, b),
        )
        .unwrap();
    let tx = sim.expect_event(1, Duration::from_secs(1), |e| match e {
        Event::Request { tx, .. } => Some(*tx),
        _ => None,
    });
    let now = sim.now;
    sim.nodes[1]
        .ep
        .respond(now, tx, ResponseSpec::new(StatusCode::TRYING))
        .unwrap();
    sim.run_for(Duration::from_secs(40));
    let sends = times(&sim, 0, "MESSAGE");
    // 0, then 0.5 (before the 100 at 0.02 s the first E is armed at T1) and every T2 after.
    assert_eq!(sends[..4], secs(&[0.0, 0.5, 4.5, 8.5])[..]);
    // Each retransmission in Proceeding gets the provisional again.
    assert_eq!(sim.sent(1, "SIP/2.0 100").len(), sends.len());
    assert!(
        sim.nodes[0]
            .events
            .iter()
            .any(|(_, e)| response_status(e, id) == Some(StatusCode::REQUEST_TIMEOUT))
    );
}

#[test]
fn figure7_timer_g_resends_the_final_response_until_timer_h() {
    let mut sim = Sim::new(2, 4);
    sim.drop_rule = Some(Box::new(|from, _, line| {
        from == 0 && line.starts_with("ACK")
    }));
    let (_, tx, _) = invite(&mut sim, 0, 1, Some(common::SDP_A));
    let t0 = sim.elapsed();
    let now = sim.now;
    sim.nodes[1]
        .ep
        .respond(now, tx, ResponseSpec::new(StatusCode::BUSY_HERE))
        .unwrap();
    sim.run_for(Duration::from_secs(40));
    let rel: Vec<Duration> = times(&sim, 1, "SIP/2.0 486")
        .iter()
        .map(|t| *t - t0)
        .collect();
    assert_eq!(
        rel,
        secs(&[0.0, 0.5, 1.5, 3.5, 7.5, 11.5, 15.5, 19.5, 23.5, 27.5, 31.5])
    );
    // The client ACKs every copy from Completed (Timer D keeps it there for 32 s).
    assert_eq!(sim.sent(0, "ACK").len(), rel.len());
    assert_eq!(
        sim.nodes[1].ep.stats().server_transactions,
        0,
        "Timer H ended the transaction"
    );
}

#[test]
fn figure7_ack_moves_to_confirmed_and_timer_i_ends_it_after_t4() {
    let mut sim = Sim::new(2, 5);
    let (_, tx, _) = invite(&mut sim, 0, 1, Some(common::SDP_A));
    let now = sim.now;
    sim.nodes[1]
        .ep
        .respond(now, tx, ResponseSpec::new(StatusCode::BUSY_HERE))
        .unwrap();
    sim.run_for(Duration::from_millis(100));
    assert_eq!(
        sim.sent(1, "SIP/2.0 486").len(),
        1,
        "ACKed: no retransmission"
    );
    assert_eq!(
        sim.nodes[1].ep.stats().server_transactions,
        1,
        "Confirmed lingers"
    );
    sim.run_for(Duration::from_millis(4_850));
    assert_eq!(sim.nodes[1].ep.stats().server_transactions, 1);
    sim.run_for(Duration::from_millis(100));
    assert_eq!(
        sim.nodes[1].ep.stats().server_transactions,
        0,
        "Timer I = T4"
    );
    // Timer D: the client INVITE transaction lingers 32 s in Completed.
    assert_eq!(sim.nodes[0].ep.stats().client_transactions, 1);
    sim.run_for(Duration::from_secs(28));
    assert_eq!(sim.nodes[0].ep.stats().client_transactions, 0);
}

#[test]
fn figure8_timer_j_and_timer_k_linger_on_udp() {
    let mut sim = Sim::new(2, 6);
    let now = sim.now;
    let b = sim.nodes[1].addr;
    sim.nodes[0]
        .ep
        .request_outside(
            now,
            uri(&format!("sip:bob@{b}")),
            NameAddr::new(uri("sip:alice@192.0.2.1")),
            NameAddr::new(uri("sip:bob@192.0.2.2")),
            RequestSpec::new(Method::Options),
            (Transport::Udp, b),
        )
        .unwrap();
    sim.run_for(Duration::from_millis(100));
    assert_eq!(
        sim.sent(1, "SIP/2.0 200").len(),
        1,
        "OPTIONS answered by the endpoint"
    );
    assert_eq!(
        (
            sim.nodes[0].ep.stats().client_transactions,
            sim.nodes[1].ep.stats().server_transactions
        ),
        (1, 1)
    );
    sim.run_for(Duration::from_secs(5));
    assert_eq!(
        sim.nodes[0].ep.stats().client_transactions,
        0,
        "Timer K = T4"
    );
    assert_eq!(sim.nodes[1].ep.stats().server_transactions, 1);
    sim.run_for(Duration::from_secs(28));
    assert_eq!(
        sim.nodes[1].ep.stats().server_transactions,
        0,
        "Timer J = 64·T1"
    );
}

#[test]
fn reliable_transports_never_retransmit_and_do_not_linger() {
    let mut sim = Sim::with_config(2, 7, EndpointConfig::default(), Transport::Tcp);
    let (id, tx, _) = invite(&mut sim, 0, 1, Some(common::SDP_A));
    let now = sim.now;
    sim.nodes[1]
        .ep
        .respond(now, tx, ResponseSpec::new(StatusCode::BUSY_HERE))
        .unwrap();
    sim.expect_event(0, Duration::from_secs(1), |e| {
        response_status(e, id).filter(|s| s.code() == 486)
    });
    sim.run_for(Duration::from_millis(50));
    assert_eq!(
        (
            sim.nodes[0].ep.stats().client_transactions,
            sim.nodes[1].ep.stats().server_transactions
        ),
        (0, 0)
    );
    assert_eq!(sim.sent(0, "INVITE").len(), 1);
    assert_eq!(sim.sent(1, "SIP/2.0 486").len(), 1);
}

#[test]
fn rfc6026_timers_l_and_m_absorb_2xx_and_invite_retransmissions() {
    let mut sim = Sim::new(2, 8);
    let (id, tx, _) = invite(&mut sim, 0, 1, Some(common::SDP_A));
    let now = sim.now;
    sim.nodes[1]
        .ep
        .respond(now, tx, ResponseSpec::new(StatusCode::OK).sdp(SDP_B))
        .unwrap();
    sim.expect_event(0, Duration::from_secs(1), |e| {
        response_status(e, id).filter(|s| s.is_success())
    });
    sim.expect_event(1, Duration::from_secs(1), |e| {
        matches!(e, Event::Ack { .. }).then_some(())
    });
    assert_eq!(
        sim.nodes[0].ep.stats().client_transactions,
        1,
        "Accepted (Timer M)"
    );
    assert_eq!(
        sim.nodes[1].ep.stats().server_transactions,
        1,
        "Accepted (Timer L)"
    );
    sim.run_for(Duration::from_secs(33));
    assert_eq!(sim.nodes[0].ep.stats().client_transactions, 0);
    assert_eq!(sim.nodes[1].ep.stats().server_transactions, 0);
    assert_eq!(
        sim.sent(1, "SIP/2.0 200").len(),
        1,
        "ACKed at once: no 2xx retransmission"
    );
}

#[test]
fn a_lost_provisional_is_repeated_when_the_invite_is_retransmitted() {
    let mut sim = Sim::new(2, 9);
    let mut dropped = 0;
    sim.drop_rule = Some(Box::new(move |from, _, line| {
        // Lose the first 100 and the first 180.
        if from == 1
            && (line.starts_with("SIP/2.0 100") || line.starts_with("SIP/2.0 180"))
            && dropped < 2
        {
            dropped += 1;
            return true;
        }
        false
    }));
    let (id, tx, _) = invite(&mut sim, 0, 1, Some(common::SDP_A));
    let now = sim.now;
    sim.nodes[1]
        .ep
        .respond(now, tx, ResponseSpec::new(StatusCode::RINGING))
        .unwrap();
    let status = sim.expect_event(0, Duration::from_secs(2), |e| response_status(e, id));
    assert_eq!(status, StatusCode::RINGING);
    // The INVITE was sent twice; the second copy made the server repeat its 180.
    assert_eq!(sim.sent(0, "INVITE").len(), 2);
    assert_eq!(sim.sent(1, "SIP/2.0 180").len(), 2);
    let _ = Bytes::new();
}
