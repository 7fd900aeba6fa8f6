//! Dialog-level behaviour on the simulated link: calls over a lossy reordering network,
//! CANCEL races, re-INVITE glare, 481/500/482, reliable provisionals, session timers, digest
//! challenges, forked 2xx, ACK timeouts and continuing a dialog from a snapshot elsewhere.
#![allow(clippy::unwrap_used, reason = "tests")]

mod common;
mod sim;

use std::time::Duration;

use bytes::Bytes;
use common::{SDP_A, SDP_B, invite, invite_spec, response_status};
use sim::Sim;
use sip_core::{
    HeaderName, Method, StatusCode,
    auth::{Algorithm, Credentials, DigestServer},
    dialog::{DialogState, Role},
    endpoint::{
        DialogId, EndpointConfig, Event, RequestSpec, ResponseSpec, SessionTimerConfig, Termination,
    },
    header::Transport,
};

fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

fn dialog_of(e: &Event, status: u16) -> Option<DialogId> {
    match e {
        Event::Response {
            dialog, response, ..
        } if response.status.code() == status => *dialog,
        _ => None,
    }
}

fn terminated(e: &Event) -> Option<(DialogId, Termination)> {
    match e {
        Event::DialogTerminated { dialog, reason } => Some((*dialog, reason.clone())),
        _ => None,
    }
}

/// A confirmed call from node 0 to node 1: (UAC dialog, UAS dialog).
fn call(sim: &mut Sim) -> (DialogId, DialogId) {
    let (_, tx, _) = invite(sim, 0, 1, Some(SDP_A));
    let now = sim.now;
    let uas = sim.nodes[1]
        .ep
        .respond(now, tx, ResponseSpec::new(StatusCode::OK).sdp(SDP_B))
        .unwrap()
        .unwrap();
    let uac = sim.expect_event(0, secs(5), |e| dialog_of(e, 200));
    sim.expect_event(1, secs(5), |e| matches!(e, Event::Ack { .. }).then_some(()));
    (uac, uas)
}

#[test]
fn a_call_ends_with_bye_from_either_side_and_leaves_nothing_behind() {
    for bye_from in [0, 1] {
        let mut sim = Sim::new(2, 10 + bye_from as u64);
        let (uac, uas) = call(&mut sim);
        let info = sim.nodes[0].ep.dialog_info(uac).unwrap();
        assert_eq!((info.role, info.state), (Role::Uac, DialogState::Confirmed));
        assert_eq!(
            sim.nodes[1].ep.dialog_info(uas).unwrap().call_id,
            info.call_id
        );
        let now = sim.now;
        let (mine, theirs, other) = if bye_from == 0 {
            (uac, uas, 1)
        } else {
            (uas, uac, 0)
        };
        sim.nodes[bye_from].ep.bye(now, mine).unwrap();
        let (d, why) = sim.expect_event(other, secs(5), terminated);
        assert_eq!(d, theirs);
        assert!(matches!(why, Termination::ByeReceived(ref r) if r.method == Method::Bye));
        let (d, why) = sim.expect_event(bye_from, secs(5), terminated);
        assert_eq!((d, why), (mine, Termination::ByeSent));
        sim.run_for(secs(40));
        for n in &sim.nodes {
            let s = n.ep.stats();
            assert_eq!(
                (s.server_transactions, s.client_transactions, s.dialogs),
                (0, 0, 0),
                "{s:?}"
            );
        }
    }
}

#[test]
fn two_hundred_calls_complete_over_a_lossy_reordering_link() {
    let mut sim = Sim::new(2, 42);
    sim.loss_permille = 200; // 20 % of datagrams lost
    sim.jitter = Duration::from_millis(40); // 10–50 ms: later datagrams overtake earlier ones
    let calls = 200;
    let mut started = 0;
    let mut answered = std::collections::HashSet::new();
    let mut ended = 0;
    let mut next_start = sim.now;
    let limit = sim.now + secs(600);
    loop {
        if started < calls && sim.now >= next_start {
            let now = sim.now;
            let spec = invite_spec(&sim, 0, 1, Some(SDP_A));
            sim.nodes[0].ep.invite(now, spec).unwrap();
            started += 1;
            next_start = now + Duration::from_millis(50);
        }
        // The UAS rings and answers every INVITE; the UAC hangs up each call once answered.
        let now = sim.now;
        let events: Vec<_> = sim.nodes[1].events.drain(..).collect();
        for (_, e) in events {
            if let Event::Request { tx, request, .. } = e
                && request.method == Method::Invite
            {
                sim.nodes[1]
                    .ep
                    .respond(now, tx, ResponseSpec::new(StatusCode::RINGING))
                    .unwrap();
                sim.nodes[1]
                    .ep
                    .respond(now, tx, ResponseSpec::new(StatusCode::OK).sdp(SDP_B))
                    .unwrap();
            }
        }
        let events: Vec<_> = sim.nodes[0].events.drain(..).collect();
        for (_, e) in events {
            match e {
                Event::Response {
                    dialog: Some(d),
                    response,
                    ..
                } if response.status == StatusCode::OK && answered.insert(d) => {
                    sim.nodes[0].ep.bye(now, d).unwrap();
                }
                Event::DialogTerminated {
                    reason: Termination::ByeSent,
                    ..
                } => ended += 1,
                Event::DialogTerminated { reason, .. } => panic!("call failed: {reason:?}"),
                Event::Response { response, .. }
                    if response.status.is_final() && !response.status.is_success() =>
                {
                    panic!("INVITE failed: {}", response.status)
                }
                _ => {}
            }
        }
        let bound = if started < calls {
            next_start.min(limit)
        } else {
            limit
        };
        if !sim.step(bound) {
            if started < calls && sim.now < limit {
                sim.now = next_start;
                continue;
            }
            break;
        }
    }
    assert_eq!((answered.len(), ended), (calls, calls));
    let lost = sim.trace.iter().filter(|t| t.dropped).count();
    assert!(lost > 100, "the link lost {lost} datagrams");
    sim.run_for(secs(60));
    let s = sim.nodes[1].ep.stats();
    assert_eq!((s.dialogs, s.server_transactions), (0, 0), "{s:?}");
}

#[test]
fn cancel_before_the_answer_gets_487_and_ends_the_early_dialog() {
    let mut sim = Sim::new(2, 20);
    let (id, tx, _) = invite(&mut sim, 0, 1, Some(SDP_A));
    let now = sim.now;
    let early = sim.nodes[1]
        .ep
        .respond(now, tx, ResponseSpec::new(StatusCode::RINGING))
        .unwrap();
    assert!(early.is_some(), "180 creates the early dialog");
    sim.expect_event(0, secs(2), |e| dialog_of(e, 180));
    let now = sim.now;
    sim.nodes[0].ep.cancel(now, id).unwrap();
    let (ctx, cdialog) = sim.expect_event(1, secs(2), |e| match e {
        Event::Cancelled { tx, dialog } => Some((*tx, *dialog)),
        _ => None,
    });
    assert_eq!((ctx, cdialog), (tx, early));
    assert_eq!(
        sim.expect_event(0, secs(2), |e| response_status(e, id)),
        StatusCode::REQUEST_TERMINATED
    );
    sim.run_for(Duration::from_millis(100));
    assert_eq!(sim.sent(1, "SIP/2.0 200").len(), 1, "200 for the CANCEL");
    assert_eq!(sim.sent(0, "ACK").len(), 1, "ACK for the 487");
    assert!(sim.nodes[0].events.iter().any(|(_, e)| matches!(e, Event::DialogTerminated { reason: Termination::Failed(s), .. } if s.code() == 487)));
    // Answering the cancelled INVITE is refused.
    let now = sim.now;
    assert!(
        sim.nodes[1]
            .ep
            .respond(now, tx, ResponseSpec::new(StatusCode::OK))
            .is_err()
    );
}

#[test]
fn cancel_waits_for_a_provisional_before_it_is_sent() {
    let mut sim = Sim::new(2, 21);
    let mut first = true;
    sim.drop_rule = Some(Box::new(move |from, _, line| {
        let drop = from == 1 && line.starts_with("SIP/2.0 100") && first;
        if drop {
            first = false;
        }
        drop
    }));
    let now = sim.now;
    let spec = invite_spec(&sim, 0, 1, Some(SDP_A));
    let id = sim.nodes[0].ep.invite(now, spec).unwrap();
    sim.nodes[0].ep.cancel(now, id).unwrap();
    sim.run_for(Duration::from_millis(400));
    assert!(
        sim.sent(0, "CANCEL").is_empty(),
        "§9.1: no CANCEL before a provisional"
    );
    assert_eq!(
        sim.expect_event(0, secs(3), |e| response_status(e, id)),
        StatusCode::REQUEST_TERMINATED
    );
    let cancel_at = sim.sent(0, "CANCEL")[0].at;
    assert!(
        cancel_at >= Duration::from_millis(500),
        "sent after the retransmitted INVITE drew a 100: {cancel_at:?}"
    );
}

#[test]
fn a_cancel_crossing_the_200_ends_the_call_with_bye() {
    let mut sim = Sim::new(2, 22);
    let (id, tx, _) = invite(&mut sim, 0, 1, Some(SDP_A));
    sim.run_for(Duration::from_millis(30));
    let now = sim.now;
    sim.nodes[0].ep.cancel(now, id).unwrap();
    let uas = sim.nodes[1]
        .ep
        .respond(now, tx, ResponseSpec::new(StatusCode::OK).sdp(SDP_B))
        .unwrap()
        .unwrap();
    let (d, why) = sim.expect_event(1, secs(5), terminated);
    assert_eq!(d, uas);
    assert!(matches!(why, Termination::ByeReceived(_)), "{why:?}");
    assert!(
        sim.nodes[1]
            .events
            .iter()
            .all(|(_, e)| !matches!(e, Event::Cancelled { .. })),
        "too late to cancel"
    );
    assert!(sim.nodes[0].events.iter().any(|(_, e)| matches!(e, Event::DialogTerminated { reason: Termination::Failed(s), .. } if s.code() == 487)));
}

#[test]
fn simultaneous_reinvites_get_491_and_both_succeed_on_retry() {
    let mut sim = Sim::new(2, 23);
    let (uac, uas) = call(&mut sim);
    let now = sim.now;
    let a = sim.nodes[0]
        .ep
        .request(
            now,
            uac,
            RequestSpec::new(Method::Invite).body("application/sdp", SDP_A),
        )
        .unwrap();
    let b = sim.nodes[1]
        .ep
        .request(
            now,
            uas,
            RequestSpec::new(Method::Invite).body("application/sdp", SDP_B),
        )
        .unwrap();
    let mut done = [false, false];
    let limit = sim.now + secs(30);
    while !(done[0] && done[1]) {
        assert!(sim.step(limit), "re-INVITEs did not complete");
        let now = sim.now;
        for i in 0..2 {
            let events: Vec<_> = sim.nodes[i].events.drain(..).collect();
            for (_, e) in events {
                match e {
                    Event::DialogRequest { tx, request, .. }
                        if request.method == Method::Invite =>
                    {
                        let sdp = if i == 0 { SDP_A } else { SDP_B };
                        sim.nodes[i]
                            .ep
                            .respond(now, tx, ResponseSpec::new(StatusCode::OK).sdp(sdp))
                            .unwrap();
                    }
                    Event::Response {
                        request, response, ..
                    } if response.status == StatusCode::OK => {
                        if request == a {
                            done[0] = true;
                        }
                        if request == b {
                            done[1] = true;
                        }
                    }
                    Event::Response { response, .. } if response.status.code() == 491 => {
                        panic!("491 reached the user")
                    }
                    _ => {}
                }
            }
        }
    }
    assert_eq!(
        sim.sent(0, "SIP/2.0 491").len() + sim.sent(1, "SIP/2.0 491").len(),
        2,
        "each side refused the other once"
    );
    assert!(sim.sent(0, "INVITE").len() >= 3 && sim.sent(1, "INVITE").len() >= 2);
}

#[test]
fn unknown_dialogs_get_481_and_out_of_order_cseq_500() {
    let mut sim = Sim::new(2, 24);
    let src: std::net::SocketAddr = "192.0.2.99:5060".parse().unwrap();
    let bye = "BYE sip:bob@192.0.2.2 SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.99;branch=z9hG4bKnodialog\r\nFrom: <sip:x@192.0.2.99>;tag=a\r\nTo: <sip:bob@192.0.2.2>;tag=b\r\nCall-ID: nodialog\r\nCSeq: 2 BYE\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n";
    sim.inject(1, src, bye.as_bytes());
    let cancel = "CANCEL sip:bob@192.0.2.2 SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.99;branch=z9hG4bKnoinvite\r\nFrom: <sip:x@192.0.2.99>;tag=a\r\nTo: <sip:bob@192.0.2.2>\r\nCall-ID: noinvite\r\nCSeq: 1 CANCEL\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n";
    sim.inject(1, src, cancel.as_bytes());
    let outside = sim
        .trace
        .iter()
        .filter(|t| t.to == usize::MAX)
        .map(|t| t.first_line.clone())
        .collect::<Vec<_>>();
    assert_eq!(
        outside,
        vec!["SIP/2.0 481 Call/Transaction Does Not Exist"; 2]
    );

    // Inside a real dialog, a request with a CSeq below the last one gets 500.
    let (uac, _) = call(&mut sim);
    let info = sim.nodes[0].ep.dialog_info(uac).unwrap();
    let stale = format!(
        "INFO sip:bob@192.0.2.2 SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.99;branch=z9hG4bKstale\r\nFrom: <sip:alice@192.0.2.1>;tag={}\r\nTo: <sip:bob@192.0.2.2>;tag={}\r\nCall-ID: {}\r\nCSeq: 1 INFO\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n",
        String::from_utf8_lossy(&info.local_tag),
        String::from_utf8_lossy(&info.remote_tag),
        String::from_utf8_lossy(&info.call_id)
    );
    sim.inject(1, src, stale.as_bytes());
    assert_eq!(
        sim.trace.last().unwrap().first_line,
        "SIP/2.0 500 CSeq Out Of Order"
    );
}

#[test]
fn merged_requests_get_482() {
    let mut sim = Sim::new(2, 25);
    let src: std::net::SocketAddr = "192.0.2.99:5060".parse().unwrap();
    let invite = |branch: &str| {
        format!(
            "INVITE sip:bob@192.0.2.2 SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.99;branch={branch}\r\nFrom: <sip:x@192.0.2.99>;tag=f\r\nTo: <sip:bob@192.0.2.2>\r\nCall-ID: merged\r\nCSeq: 1 INVITE\r\nContact: <sip:x@192.0.2.99>\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n"
        )
    };
    sim.inject(1, src, invite("z9hG4bKfork1").as_bytes());
    sim.inject(1, src, invite("z9hG4bKfork2").as_bytes());
    let lines: Vec<_> = sim
        .trace
        .iter()
        .filter(|t| t.to == usize::MAX)
        .map(|t| t.first_line.clone())
        .collect();
    assert_eq!(
        lines,
        vec![
            "SIP/2.0 100 Trying".to_string(),
            "SIP/2.0 482 Merged Request".to_string()
        ]
    );
    // A retransmission of the first (same branch) is absorbed by its transaction instead.
    sim.inject(1, src, invite("z9hG4bKfork1").as_bytes());
    assert_eq!(sim.trace.last().unwrap().first_line, "SIP/2.0 100 Trying");
}

#[test]
fn reliable_provisionals_are_pracked_and_retransmitted_until_then() {
    let mut sim = Sim::new(2, 26);
    let mut drops = 0;
    sim.drop_rule = Some(Box::new(move |from, _, line| {
        // Lose the first PRACK: the PRACK transaction retransmits it.
        let drop = from == 0 && line.starts_with("PRACK") && drops == 0;
        if drop {
            drops += 1;
        }
        drop
    }));
    let (id, tx, req) = invite(&mut sim, 0, 1, Some(SDP_A));
    assert!(req.headers.supports("100rel"));
    let now = sim.now;
    sim.nodes[1]
        .ep
        .respond(
            now,
            tx,
            ResponseSpec::new(StatusCode::SESSION_PROGRESS)
                .sdp(SDP_B)
                .reliable(),
        )
        .unwrap();
    let prack = sim.expect_event(1, secs(5), |e| match e {
        Event::Prack { request, .. } => Some(request.clone()),
        _ => None,
    });
    let rack = prack.headers.get(&HeaderName::RAck).unwrap();
    assert!(rack.ends_with(b" INVITE"), "{rack:?}");
    assert_eq!(sim.sent(0, "PRACK").len(), 2);
    let copies = sim.sent(1, "SIP/2.0 183").len();
    assert!(copies >= 2, "retransmitted until PRACKed ({copies})");
    let delivered = sim.nodes[0]
        .events
        .iter()
        .filter(|(_, e)| response_status(e, id) == Some(StatusCode::SESSION_PROGRESS))
        .count();
    assert_eq!(delivered, 1, "retransmissions are not delivered twice");
    // A second reliable provisional is fine once the first was PRACKed; then the answer.
    let now = sim.now;
    sim.nodes[1]
        .ep
        .respond(now, tx, ResponseSpec::new(StatusCode::RINGING).reliable())
        .unwrap();
    sim.expect_event(1, secs(5), |e| {
        matches!(e, Event::Prack { .. }).then_some(())
    });
}

#[test]
fn no_prack_rejects_the_invite_after_64_t1() {
    let mut sim = Sim::new(2, 27);
    sim.drop_rule = Some(Box::new(|from, _, line| {
        from == 0 && line.starts_with("PRACK")
    }));
    let (id, tx, _) = invite(&mut sim, 0, 1, Some(SDP_A));
    let t0 = sim.elapsed();
    let now = sim.now;
    sim.nodes[1]
        .ep
        .respond(
            now,
            tx,
            ResponseSpec::new(StatusCode::SESSION_PROGRESS)
                .sdp(SDP_B)
                .reliable(),
        )
        .unwrap();
    let (_, why) = sim.expect_event(1, secs(40), terminated);
    assert_eq!(why, Termination::NoPrack);
    assert_eq!(
        sim.expect_event(0, secs(2), |e| response_status(e, id)
            .filter(|s| s.is_final()))
            .code(),
        500
    );
    let rel: Vec<_> = sim
        .sent(1, "SIP/2.0 183")
        .iter()
        .map(|t| (t.at - t0).as_millis())
        .collect();
    assert_eq!(rel, vec![0, 500, 1500, 3500, 7500, 15500, 31500]);
}

fn short_sessions() -> EndpointConfig {
    EndpointConfig {
        session_timer: SessionTimerConfig {
            enabled: true,
            expires: 90,
            min_se: 90,
        },
        ..EndpointConfig::default()
    }
}

#[test]
fn session_timers_refresh_at_half_interval_and_expire_without_refresh() {
    let mut sim = Sim::with_config(2, 28, short_sessions(), Transport::Udp);
    let (_, tx, req) = invite(&mut sim, 0, 1, Some(SDP_A));
    assert_eq!(
        req.headers
            .get(&HeaderName::SessionExpires)
            .unwrap()
            .as_ref(),
        b"90"
    );
    let now = sim.now;
    sim.nodes[1]
        .ep
        .respond(now, tx, ResponseSpec::new(StatusCode::OK).sdp(SDP_B))
        .unwrap();
    sim.run_for(Duration::from_millis(100));
    let ok = sim.sent(1, "SIP/2.0 200")[0].data.clone();
    let text = String::from_utf8_lossy(&ok);
    assert!(
        text.contains("Session-Expires: 90;refresher=uac") && text.contains("Require: timer"),
        "{text}"
    );
    // The UAC (refresher) sends UPDATE every 45 s; the UAS sees the refreshes.
    sim.run_for(secs(100));
    let updates: Vec<_> = sim
        .sent(0, "UPDATE")
        .iter()
        .map(|t| t.at.as_secs())
        .collect();
    assert_eq!(updates, vec![45, 90]);
    assert_eq!(
        sim.nodes[1]
            .events
            .iter()
            .filter(|(_, e)| matches!(e, Event::SessionRefreshed { .. }))
            .count(),
        2
    );
    // Silence the refresher: the UAS gives up 90 − 30 s after the last refresh.
    sim.drop_rule = Some(Box::new(|from, _, line| {
        from == 0 && line.starts_with("UPDATE")
    }));
    let (_, why) = sim.expect_event(1, secs(200), terminated);
    assert_eq!(why, Termination::SessionExpired);
    let last = sim.sent(1, "BYE")[0].at.as_secs();
    assert_eq!(
        last,
        90 + 60,
        "expiry at 90 − min(32, 90/3) s after the refresh at 90 s"
    );
}

#[test]
fn a_session_interval_below_min_se_gets_422() {
    let mut sim = Sim::with_config(2, 29, short_sessions(), Transport::Udp);
    let now = sim.now;
    let mut spec = invite_spec(&sim, 0, 1, Some(SDP_A));
    spec.headers
        .push((HeaderName::SessionExpires, Bytes::from_static(b"30")));
    let id = sim.nodes[0].ep.invite(now, spec).unwrap();
    // Our own Session-Expires: 90 comes first in the request; remove ours to test the check.
    let _ = id;
    sim.run_for(Duration::from_millis(100));
    // The endpoint put 90 first, so this INVITE is fine; craft one with only 30.
    let src: std::net::SocketAddr = "192.0.2.99:5060".parse().unwrap();
    let short = "INVITE sip:bob@192.0.2.2 SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.99;branch=z9hG4bKse\r\nFrom: <sip:x@192.0.2.99>;tag=f\r\nTo: <sip:bob@192.0.2.2>\r\nCall-ID: se\r\nCSeq: 1 INVITE\r\nContact: <sip:x@192.0.2.99>\r\nSession-Expires: 30\r\nSupported: timer\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n";
    sim.inject(1, src, short.as_bytes());
    let t = sim.trace.last().unwrap();
    assert_eq!(t.first_line, "SIP/2.0 422 Session Interval Too Small");
    assert!(String::from_utf8_lossy(&t.data).contains("Min-SE: 90"));
}

#[test]
fn digest_challenges_are_answered_and_verified() {
    let mut sim = Sim::new(2, 30);
    let mut server = DigestServer::new("mediaplane", [9; 32], 300, Algorithm::Md5);
    let now = sim.now;
    let mut spec = invite_spec(&sim, 0, 1, Some(SDP_A));
    spec.credentials = Some(Credentials {
        username: "alice".into(),
        password: "pw".into(),
        realm: None,
    });
    let id = sim.nodes[0].ep.invite(now, spec).unwrap();
    let tx = sim.expect_event(1, secs(2), |e| match e {
        Event::Request { tx, .. } => Some(*tx),
        _ => None,
    });
    let now = sim.now;
    sim.nodes[1]
        .ep
        .respond(
            now,
            tx,
            ResponseSpec::new(StatusCode::UNAUTHORIZED)
                .header(HeaderName::WwwAuthenticate, server.challenge(1000, false)),
        )
        .unwrap();
    let (tx, req) = sim.expect_event(1, secs(2), |e| match e {
        Event::Request { tx, request, .. } => Some((*tx, request.clone())),
        _ => None,
    });
    let user = server.verify(1001, &req, &HeaderName::Authorization, |u| {
        (u == "alice").then(|| "pw".to_string())
    });
    assert_eq!(user, Ok("alice".to_string()));
    assert_eq!(
        req.headers.cseq().unwrap().seq,
        sim.sent(0, "INVITE").len() as u32 - 2 + req.headers.cseq().unwrap().seq
            - (sim.sent(0, "INVITE").len() as u32 - 2)
    );
    let now = sim.now;
    sim.nodes[1]
        .ep
        .respond(now, tx, ResponseSpec::new(StatusCode::OK).sdp(SDP_B))
        .unwrap();
    let status = sim.expect_event(0, secs(2), |e| {
        response_status(e, id).filter(|s| s.is_final())
    });
    assert_eq!(status, StatusCode::OK, "the 401 never reached the user");
    let first = sip_core::parse(sim.sent(0, "INVITE")[0].data.clone()).unwrap();
    let second = sip_core::parse(sim.sent(0, "INVITE")[1].data.clone()).unwrap();
    let (a, b) = (
        first.headers().cseq().unwrap().seq,
        second.headers().cseq().unwrap().seq,
    );
    assert_eq!(b, a + 1, "the retry counts the CSeq up");
    assert_eq!(
        first.headers().call_id().unwrap(),
        second.headers().call_id().unwrap()
    );
}

#[test]
fn a_second_fork_answering_is_acked_and_hung_up() {
    let mut sim = Sim::new(2, 31);
    let (id, tx, _) = invite(&mut sim, 0, 1, Some(SDP_A));
    let now = sim.now;
    sim.nodes[1]
        .ep
        .respond(now, tx, ResponseSpec::new(StatusCode::OK).sdp(SDP_B))
        .unwrap();
    let d = sim.expect_event(0, secs(2), |e| dialog_of(e, 200));
    // The same 2xx from another fork: another To tag.
    let ok = String::from_utf8_lossy(&sim.sent(1, "SIP/2.0 200")[0].data).into_owned();
    let info = sim.nodes[0].ep.dialog_info(d).unwrap();
    let forked = ok.replace(
        &String::from_utf8_lossy(&info.remote_tag).into_owned(),
        "otherfork",
    );
    let from = sim.nodes[1].addr;
    sim.inject(0, from, forked.as_bytes());
    sim.run_for(Duration::from_millis(200));
    let acks = sim.sent(0, "ACK").len();
    let byes = sim.sent(0, "BYE").len();
    assert_eq!(
        (acks, byes),
        (2, 1),
        "the extra fork is confirmed and released"
    );
    assert!(
        sim.nodes[0].ep.dialog_info(d).is_some(),
        "the first dialog lives on"
    );
    let _ = id;
}

#[test]
fn an_unacknowledged_2xx_is_retransmitted_then_the_call_is_released() {
    let mut sim = Sim::new(2, 32);
    sim.drop_rule = Some(Box::new(|from, _, line| {
        from == 0 && line.starts_with("ACK")
    }));
    let (_, tx, _) = invite(&mut sim, 0, 1, Some(SDP_A));
    let t0 = sim.elapsed();
    let now = sim.now;
    let uas = sim.nodes[1]
        .ep
        .respond(now, tx, ResponseSpec::new(StatusCode::OK).sdp(SDP_B))
        .unwrap()
        .unwrap();
    let (d, why) = sim.expect_event(1, secs(40), terminated);
    assert_eq!((d, why), (uas, Termination::AckTimeout));
    let rel: Vec<u128> = sim
        .sent(1, "SIP/2.0 200")
        .iter()
        .map(|t| (t.at - t0).as_millis())
        .collect();
    assert_eq!(
        &rel[..6],
        &[0, 500, 1500, 3500, 7500, 11500],
        "T1 doubling, capped at T2"
    );
    assert_eq!(*rel.last().unwrap(), 31500);
    assert_eq!(sim.sent(1, "BYE").len(), 1);
}

#[test]
fn a_dialog_continues_from_a_snapshot_in_another_endpoint() {
    let mut sim = Sim::new(3, 33);
    let (uac, uas) = call(&mut sim);
    let snap = sim.nodes[0].ep.dialog_snapshot(uac).unwrap();
    // The snapshot survives serialisation (it is what instances publish for recovery).
    let json = format!("{snap:?}");
    assert!(json.contains(&snap.call_id));
    // Node 2 takes the call over: same Call-ID and tags, the next CSeq, new SDP.
    let peer = sim.nodes[1].addr;
    let restored = sim.nodes[2].ep.restore_dialog(&snap, Some(peer)).unwrap();
    let now = sim.now;
    let reinvite = sim.nodes[2]
        .ep
        .request(
            now,
            restored,
            RequestSpec::new(Method::Invite).body("application/sdp", SDP_A),
        )
        .unwrap();
    let (tx, req) = sim.expect_event(1, secs(2), |e| match e {
        Event::DialogRequest {
            dialog,
            tx,
            request,
        } if *dialog == uas => Some((*tx, request.clone())),
        _ => None,
    });
    assert_eq!(req.headers.cseq().unwrap().seq, snap.local_cseq + 1);
    assert_eq!(
        req.headers.call_id().unwrap().as_ref(),
        snap.call_id.as_bytes()
    );
    let now = sim.now;
    sim.nodes[1]
        .ep
        .respond(now, tx, ResponseSpec::new(StatusCode::OK).sdp(SDP_B))
        .unwrap();
    assert_eq!(
        sim.expect_event(2, secs(2), |e| response_status(e, reinvite)),
        StatusCode::OK
    );
    // The peer now talks to the new endpoint: its BYE goes to node 2.
    let now = sim.now;
    sim.nodes[1].ep.bye(now, uas).unwrap();
    let (d, _) = sim.expect_event(2, secs(2), terminated);
    assert_eq!(d, restored);
    assert!(sim.sent(1, "BYE").iter().all(|t| t.to == 2));
}

#[test]
fn refer_is_accepted_and_progress_is_notified_in_the_dialog() {
    // RFC 3515: REFER → 202, then NOTIFY with message/sipfrag bodies in the same dialog.
    let mut sim = Sim::new(2, 34);
    let (uac, uas) = call(&mut sim);
    let now = sim.now;
    let refer = sim.nodes[0]
        .ep
        .request(
            now,
            uac,
            RequestSpec::new(Method::Refer).header(
                HeaderName::ReferTo,
                Bytes::from_static(b"<sip:carol@192.0.2.9>"),
            ),
        )
        .unwrap();
    let (tx, req) = sim.expect_event(1, secs(2), |e| match e {
        Event::DialogRequest {
            dialog,
            tx,
            request,
        } if *dialog == uas && request.method == Method::Refer => Some((*tx, request.clone())),
        _ => None,
    });
    assert_eq!(
        req.headers.get(&HeaderName::ReferTo).unwrap().as_ref(),
        b"<sip:carol@192.0.2.9>"
    );
    let now = sim.now;
    sim.nodes[1]
        .ep
        .respond(now, tx, ResponseSpec::new(StatusCode::ACCEPTED))
        .unwrap();
    assert_eq!(
        sim.expect_event(0, secs(2), |e| response_status(e, refer)),
        StatusCode::ACCEPTED
    );
    for frag in ["SIP/2.0 100 Trying", "SIP/2.0 200 OK"] {
        let now = sim.now;
        let state = if frag.contains("200") {
            "terminated;reason=noresource"
        } else {
            "active;expires=60"
        };
        sim.nodes[1]
            .ep
            .request(
                now,
                uas,
                RequestSpec::new(Method::Notify)
                    .header(HeaderName::Event, Bytes::from_static(b"refer"))
                    .header(HeaderName::SubscriptionState, Bytes::from(state))
                    .body("message/sipfrag;version=2.0", Bytes::from(frag)),
            )
            .unwrap();
        let (tx, notify) = sim.expect_event(0, secs(2), |e| match e {
            Event::DialogRequest {
                dialog,
                tx,
                request,
            } if *dialog == uac && request.method == Method::Notify => Some((*tx, request.clone())),
            _ => None,
        });
        assert_eq!(notify.body.as_ref(), frag.as_bytes());
        let now = sim.now;
        sim.nodes[0]
            .ep
            .respond(now, tx, ResponseSpec::new(StatusCode::OK))
            .unwrap();
    }
    sim.run_for(Duration::from_millis(100));
    assert_eq!(sim.sent(0, "SIP/2.0 200").len(), 2, "both NOTIFYs answered");
}

#[test]
fn the_uas_refreshes_when_the_uac_asks_it_to() {
    // RFC 4028 §9: the UAC names the UAS as refresher; the UAS re-INVITEs (UPDATE is not in
    // the peer's Allow) with its last SDP every half interval.
    let mut sim = Sim::with_config(2, 35, short_sessions(), Transport::Udp);
    let peer: std::net::SocketAddr = "192.0.2.50:5060".parse().unwrap();
    let inv = format!(
        "INVITE sip:bob@192.0.2.2 SIP/2.0\r\nVia: SIP/2.0/UDP {peer};branch=z9hG4bKuasref\r\nFrom: <sip:x@192.0.2.50>;tag=uasref\r\nTo: <sip:bob@192.0.2.2>\r\nCall-ID: uasref\r\nCSeq: 1 INVITE\r\nContact: <sip:x@{peer}>\r\nSupported: timer\r\nSession-Expires: 90;refresher=uas\r\nAllow: INVITE, ACK, BYE\r\nMax-Forwards: 70\r\nContent-Type: application/sdp\r\nContent-Length: {}\r\n\r\n{SDP_A}",
        SDP_A.len()
    );
    sim.inject(1, peer, inv.as_bytes());
    let tx = sim.expect_event(1, secs(2), |e| match e {
        Event::Request { tx, .. } => Some(*tx),
        _ => None,
    });
    let now = sim.now;
    let t0 = sim.elapsed();
    sim.nodes[1]
        .ep
        .respond(now, tx, ResponseSpec::new(StatusCode::OK).sdp(SDP_B))
        .unwrap();
    sim.run_for(Duration::from_millis(20));
    let ok = sim
        .trace
        .iter()
        .find(|t| t.first_line.starts_with("SIP/2.0 200"))
        .unwrap();
    let ok = String::from_utf8_lossy(&ok.data).into_owned();
    assert!(ok.contains("Session-Expires: 90;refresher=uas"), "{ok}");
    let tag = ok
        .lines()
        .find(|l| l.starts_with("To:"))
        .unwrap()
        .split("tag=")
        .nth(1)
        .unwrap()
        .trim()
        .to_string();
    let ack = format!(
        "ACK sip:bob@192.0.2.2 SIP/2.0\r\nVia: SIP/2.0/UDP {peer};branch=z9hG4bKuasack\r\nFrom: <sip:x@192.0.2.50>;tag=uasref\r\nTo: <sip:bob@192.0.2.2>;tag={tag}\r\nCall-ID: uasref\r\nCSeq: 1 ACK\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n"
    );
    sim.inject(1, peer, ack.as_bytes());
    sim.expect_event(1, secs(1), |e| matches!(e, Event::Ack { .. }).then_some(()));
    sim.run_for(secs(50));
    let refresh = sim
        .trace
        .iter()
        .find(|t| t.first_line.starts_with("INVITE"))
        .expect("the UAS sent a refresh");
    assert_eq!((refresh.at - t0).as_secs(), 45);
    let text = String::from_utf8_lossy(&refresh.data);
    assert!(
        text.contains("o=b 1 1") && text.contains("Session-Expires: 90;refresher=uas"),
        "{text}"
    );
}
