//! A minimal B2BUA for media tests: sip-core's endpoint and tokio shell for signalling, the
//! media engine for the legs. Every incoming call is forwarded to one target (the A leg is
//! answered once the B leg answers, then both are bridged); BYE on either side ends both.
//! Media events and per-leg statistics are collected for the test to inspect.
#![allow(
    dead_code,
    unreachable_pub,
    clippy::unwrap_used,
    clippy::disallowed_methods
)]

use std::{
    collections::HashMap,
    net::SocketAddr,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use bytes::Bytes;
use media_engine::{
    command::{
        BridgeId, LegConfig, LegId, MediaCommand, MediaError, MediaEvent, Reply, RtpStatistics,
    },
    sdp::negotiate::Capabilities,
    worker::{EngineConfig, MediaEngine},
};
use sip_core::{
    Method, StatusCode, Uri,
    endpoint::{
        DialogId, Endpoint, EndpointConfig, Event, InviteSpec, RequestId, ResponseSpec, ServerTxId,
    },
    header::{NameAddr, Transport},
    rt::{Input, Network, NetworkConfig},
};

/// What the harness does with calls.
#[derive(Debug, Clone)]
pub struct Setup {
    /// Where B legs go (the request's user part is kept).
    pub target: SocketAddr,
    /// Capabilities of the A legs (what we answer with).
    pub a: Capabilities,
    /// Capabilities of the B legs (what we offer).
    pub b: Capabilities,
    /// RTP port range start.
    pub port_min: u16,
}

/// What happened, for assertions.
#[derive(Debug, Default)]
pub struct Record {
    pub media_events: Vec<MediaEvent>,
    pub bridged: u32,
    pub failed: Vec<u16>,
    pub ended: u32,
    /// Final statistics of destroyed legs, by leg id.
    pub final_stats: HashMap<u64, RtpStatistics>,
    /// The answer we gave each A leg and the offer we sent each B leg.
    pub sdp: Vec<(u64, String)>,
}

pub struct B2bua {
    pub udp: SocketAddr,
    pub record: Arc<Mutex<Record>>,
    _thread: std::thread::JoinHandle<()>,
}

impl B2bua {
    pub fn start(setup: Setup) -> Self {
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        let record = Arc::new(Mutex::new(Record::default()));
        let shared = record.clone();
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(run(setup, ready_tx, shared));
        });
        let udp = ready_rx.recv().expect("b2bua started");
        Self {
            udp,
            record,
            _thread: thread,
        }
    }

    pub fn wait(&self, what: &str, limit: Duration, cond: impl Fn(&Record) -> bool) {
        testkit::process::wait_until(what, limit, || cond(&self.record.lock().unwrap()));
    }
}

/// One forwarded call.
struct Call {
    a_tx: ServerTxId,
    a_dialog: Option<DialogId>,
    b_request: RequestId,
    b_dialog: Option<DialogId>,
    a_leg: LegId,
    b_leg: LegId,
    answer_for_a: Vec<u8>,
}

async fn media<T: Send + 'static>(
    engine: &MediaEngine,
    make: impl FnOnce(Reply<T>) -> MediaCommand,
) -> Result<T, MediaError> {
    let (tx, rx) = tokio::sync::oneshot::channel();
    engine.command(make(Reply::new(move |r| {
        let _ = tx.send(r);
    })));
    rx.await.unwrap_or(Err(MediaError::Stopped))
}

async fn run(setup: Setup, ready: std::sync::mpsc::Sender<SocketAddr>, record: Arc<Mutex<Record>>) {
    let any: SocketAddr = "127.0.0.1:0".parse().unwrap();
    let mut net = Network::bind(&NetworkConfig {
        udp: vec![any],
        ..NetworkConfig::default()
    })
    .await
    .unwrap();
    let mut ep = Endpoint::new(EndpointConfig::default(), 0x05ee_db2b);
    for l in net.listeners() {
        ep.add_listener(l.clone());
    }
    let local = net.listeners()[0].local;
    let engine = MediaEngine::start(&EngineConfig {
        workers: 1,
        port_min: setup.port_min,
        port_max: setup.port_min + 400,
        ..EngineConfig::default()
    })
    .unwrap();
    let _ = ready.send(local);
    let mut calls: Vec<Call> = Vec::new();
    let mut next_leg = 1u64;
    let mut tick = tokio::time::interval(Duration::from_millis(20));
    loop {
        let sleep = tokio::time::sleep_until(
            ep.poll_timeout()
                .map(tokio::time::Instant::from_std)
                .unwrap_or_else(|| tokio::time::Instant::now() + Duration::from_secs(3600)),
        );
        tokio::select! {
            input = net.recv() => {
                let now = Instant::now();
                match input {
                    Some(Input::Datagram { flow, data }) => ep.handle_datagram(now, flow, data),
                    Some(Input::Message { flow, message }) => ep.handle_message(now, flow, *message),
                    Some(Input::ParseError { flow, error }) => ep.handle_parse_error(now, flow, error),
                    Some(Input::Unreachable { transport, remote }) => ep.handle_unreachable(now, transport, remote),
                    Some(Input::Closed(_)) => {}
                    None => return,
                }
            }
            () = sleep => ep.handle_timeout(Instant::now()),
            _ = tick.tick() => {}
        }
        for e in engine.events().try_iter() {
            record.lock().unwrap().media_events.push(e);
        }
        while let Some(t) = ep.poll_transmit() {
            net.send(t);
        }
        while let Some(e) = ep.poll_event() {
            let now = Instant::now();
            match e {
                Event::Request { tx, request, .. } if request.method == Method::Invite => {
                    let offer = request.body.clone();
                    let (a_leg, b_leg) = (LegId(next_leg), LegId(next_leg + 1));
                    next_leg += 2;
                    let a_caps = setup.a.clone();
                    let answer = media(&engine, |reply| MediaCommand::CreateLeg {
                        leg: a_leg,
                        config: Box::new(LegConfig {
                            caps: a_caps,
                            ..LegConfig::default()
                        }),
                        remote_offer: Some(offer.to_vec()),
                        near: None,
                        reply,
                    })
                    .await;
                    let Ok(answer) = answer else {
                        let _ =
                            ep.respond(now, tx, ResponseSpec::new(StatusCode::NOT_ACCEPTABLE_HERE));
                        record.lock().unwrap().failed.push(488);
                        continue;
                    };
                    let b_caps = setup.b.clone();
                    let b_offer = media(&engine, |reply| MediaCommand::CreateLeg {
                        leg: b_leg,
                        config: Box::new(LegConfig {
                            caps: b_caps,
                            ..LegConfig::default()
                        }),
                        remote_offer: None,
                        near: Some(a_leg),
                        reply,
                    })
                    .await
                    .unwrap();
                    {
                        let mut r = record.lock().unwrap();
                        r.sdp
                            .push((a_leg.0, String::from_utf8_lossy(&answer).into_owned()));
                        r.sdp
                            .push((b_leg.0, String::from_utf8_lossy(&b_offer).into_owned()));
                    }
                    let user = request
                        .uri
                        .user()
                        .map(|u| String::from_utf8_lossy(u).into_owned())
                        .unwrap_or_else(|| "b".into());
                    let uri =
                        Uri::parse(Bytes::from(format!("sip:{user}@{}", setup.target))).unwrap();
                    let spec = InviteSpec {
                        uri: uri.clone(),
                        from: NameAddr::new(
                            Uri::parse(Bytes::from(format!("sip:b2bua@{local}"))).unwrap(),
                        ),
                        to: NameAddr::new(uri),
                        call_id: None,
                        from_tag: None,
                        route: Vec::new(),
                        headers: Vec::new(),
                        sdp: Some(Bytes::from(b_offer)),
                        next_hop: (Transport::Udp, setup.target),
                        credentials: None,
                    };
                    let b_request = ep.invite(now, spec).unwrap();
                    let _ = ep.respond(now, tx, ResponseSpec::new(StatusCode::RINGING));
                    calls.push(Call {
                        a_tx: tx,
                        a_dialog: None,
                        b_request,
                        b_dialog: None,
                        a_leg,
                        b_leg,
                        answer_for_a: answer,
                    });
                }
                Event::Request { tx, .. } => {
                    let _ = ep.respond(now, tx, ResponseSpec::new(StatusCode::OK));
                }
                Event::Response {
                    request,
                    dialog,
                    response,
                } => {
                    let Some(i) = calls.iter().position(|c| c.b_request == request) else {
                        continue;
                    };
                    let status = response.status;
                    if status == StatusCode::OK && calls[i].b_dialog.is_none() {
                        calls[i].b_dialog = dialog;
                        let b_leg = calls[i].b_leg;
                        let a_leg = calls[i].a_leg;
                        let sdp = response.body.to_vec();
                        let ok = media(&engine, |reply| MediaCommand::RemoteAnswer {
                            leg: b_leg,
                            sdp,
                            reply,
                        })
                        .await;
                        if ok.is_err() {
                            record.lock().unwrap().failed.push(488);
                            continue;
                        }
                        media(&engine, |reply| MediaCommand::Bridge {
                            kind: media_engine::command::BridgeKind::Mixing,
                            bridge: BridgeId(a_leg.0),
                            legs: vec![a_leg, b_leg],
                            reply,
                        })
                        .await
                        .unwrap();
                        let answer = calls[i].answer_for_a.clone();
                        let a_dialog = ep
                            .respond(
                                now,
                                calls[i].a_tx,
                                ResponseSpec::new(StatusCode::OK).body("application/sdp", answer),
                            )
                            .ok()
                            .flatten();
                        calls[i].a_dialog = a_dialog;
                        record.lock().unwrap().bridged += 1;
                    } else if status.is_final() && status != StatusCode::OK {
                        let _ = ep.respond(now, calls[i].a_tx, ResponseSpec::new(status));
                        record.lock().unwrap().failed.push(status.code());
                        let c = calls.remove(i);
                        end(&engine, &c, &record).await;
                    }
                }
                Event::DialogRequest { tx, request, .. } => {
                    let _ = request;
                    let _ = ep.respond(now, tx, ResponseSpec::new(StatusCode::OK));
                }
                Event::DialogTerminated { dialog, .. } => {
                    let Some(i) = calls
                        .iter()
                        .position(|c| c.a_dialog == Some(dialog) || c.b_dialog == Some(dialog))
                    else {
                        continue;
                    };
                    let c = calls.remove(i);
                    let other = if c.a_dialog == Some(dialog) {
                        c.b_dialog
                    } else {
                        c.a_dialog
                    };
                    if let Some(o) = other {
                        let _ = ep.bye(now, o);
                    }
                    end(&engine, &c, &record).await;
                }
                _ => {}
            }
            while let Some(t) = ep.poll_transmit() {
                net.send(t);
            }
        }
    }
}

async fn end(engine: &MediaEngine, c: &Call, record: &Arc<Mutex<Record>>) {
    for leg in [c.a_leg, c.b_leg] {
        if let Ok(stats) = media(engine, |reply| MediaCommand::Destroy { leg, reply }).await {
            record.lock().unwrap().final_stats.insert(leg.0, stats);
        }
    }
    record.lock().unwrap().ended += 1;
}
