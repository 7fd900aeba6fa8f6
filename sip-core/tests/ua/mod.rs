//! A small user agent on sip-core's endpoint and tokio shell, for conformance runs against
//! real peers. It answers every INVITE (180, then 200 with SDP) except to `ring` (rings for
//! ever) and `busy` (486); answers re-INVITEs and other in-dialog requests with 200; places
//! calls on command and hangs them up after a hold time.
#![allow(
    dead_code,
    unreachable_pub,
    clippy::unwrap_used,
    clippy::disallowed_methods
)]

use std::{
    net::SocketAddr,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use bytes::Bytes;
use sip_core::{
    Method, StatusCode, Uri,
    endpoint::{DialogId, Endpoint, EndpointConfig, Event, InviteSpec, ResponseSpec, Termination},
    header::{NameAddr, Transport},
    rt::{Input, Network, NetworkConfig},
};
use tokio::sync::mpsc;

pub const SDP: &str = "v=0\r\no=ua 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 40000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n";

#[derive(Debug, Default, Clone)]
pub struct Stats {
    pub invites: u32,
    pub answered: u32,
    pub reinvites: u32,
    pub acks: u32,
    pub cancelled: u32,
    pub byes_received: u32,
    pub byes_sent: u32,
    pub outgoing_ok: u32,
    pub outgoing_failed: Vec<u16>,
    pub terminations: Vec<String>,
}

pub enum Command {
    Call {
        target: SocketAddr,
        transport: Transport,
        user: String,
        hold: Duration,
    },
}

pub struct Ua {
    pub udp: SocketAddr,
    pub tcp: SocketAddr,
    pub tls: SocketAddr,
    pub tls_cert_pem: String,
    pub stats: Arc<Mutex<Stats>>,
    commands: mpsc::Sender<Command>,
    _thread: std::thread::JoinHandle<()>,
}

impl Ua {
    /// Starts the UA on 127.0.0.1 (random ports for UDP, TCP and TLS).
    pub fn start(network: NetworkConfig) -> Self {
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        let (commands, rx) = mpsc::channel(64);
        let stats = Arc::new(Mutex::new(Stats::default()));
        let shared = stats.clone();
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(run(network, ready_tx, rx, shared));
        });
        let (udp, tcp, tls, tls_cert_pem) = ready_rx.recv().expect("UA started");
        Self {
            udp,
            tcp,
            tls,
            tls_cert_pem,
            stats,
            commands,
            _thread: thread,
        }
    }

    pub fn loopback() -> Self {
        let any: SocketAddr = "127.0.0.1:0".parse().unwrap();
        Self::start(NetworkConfig {
            udp: vec![any],
            tcp: vec![any],
            tls: vec![any],
            ..NetworkConfig::default()
        })
    }

    pub fn call(&self, target: SocketAddr, transport: Transport, user: &str, hold: Duration) {
        self.commands
            .blocking_send(Command::Call {
                target,
                transport,
                user: user.into(),
                hold,
            })
            .unwrap();
    }

    pub fn stats(&self) -> Stats {
        self.stats.lock().unwrap().clone()
    }

    pub fn wait(&self, what: &str, limit: Duration, cond: impl Fn(&Stats) -> bool) {
        testkit::process::wait_until(what, limit, || cond(&self.stats()));
    }
}

type Ready = std::sync::mpsc::Sender<(SocketAddr, SocketAddr, SocketAddr, String)>;

async fn run(
    config: NetworkConfig,
    ready: Ready,
    mut commands: mpsc::Receiver<Command>,
    stats: Arc<Mutex<Stats>>,
) {
    let mut net = Network::bind(&config).await.unwrap();
    let mut ep = Endpoint::new(EndpointConfig::default(), rand_seed());
    let find = |t: Transport| {
        net.listeners()
            .iter()
            .find(|l| l.transport == t)
            .map(|l| l.local)
            .unwrap()
    };
    let _ = ready.send((
        find(Transport::Udp),
        find(Transport::Tcp),
        find(Transport::Tls),
        net.tls_certificate_pem().to_string(),
    ));
    for l in net.listeners() {
        ep.add_listener(l.clone());
    }
    let mut hangups: Vec<(Instant, DialogId)> = Vec::new();
    let mut holds: Vec<(sip_core::endpoint::RequestId, Duration)> = Vec::new();
    loop {
        let next = [ep.poll_timeout(), hangups.iter().map(|(t, _)| *t).min()]
            .into_iter()
            .flatten()
            .min();
        let sleep = tokio::time::sleep_until(
            next.map(tokio::time::Instant::from_std)
                .unwrap_or_else(|| tokio::time::Instant::now() + Duration::from_secs(3600)),
        );
        tokio::select! {
            input = net.recv() => {
                let now = Instant::now();
                match input {
                    Some(Input::Datagram { flow, data }) => ep.handle_datagram(now, flow, data),
                    Some(Input::Message { flow, message }) => ep.handle_message(now, flow, *message),
                    Some(Input::ParseError { flow, error }) => ep.handle_parse_error(now, flow, error),
                    Some(Input::Closed(_)) => {}
                    Some(Input::Unreachable { transport, remote }) => ep.handle_unreachable(now, transport, remote),
                    None => return,
                }
            }
            () = sleep => ep.handle_timeout(Instant::now()),
            cmd = commands.recv() => match cmd {
                Some(Command::Call { target, transport, user, hold }) => {
                    let scheme_uri = Uri::parse(Bytes::from(format!("sip:{user}@{target}"))).unwrap();
                    let spec = InviteSpec {
                        uri: scheme_uri.clone(),
                        from: NameAddr::new(Uri::parse(Bytes::from_static(b"sip:ua@127.0.0.1")).unwrap()),
                        to: NameAddr::new(scheme_uri),
                        call_id: None,
                        from_tag: None,
                        route: Vec::new(),
                        headers: Vec::new(),
                        sdp: Some(Bytes::from_static(SDP.as_bytes())),
                        next_hop: (transport, target),
                        credentials: None,
                    };
                    let id = ep.invite(Instant::now(), spec).unwrap();
                    holds.push((id, hold));
                }
                None => return,
            },
        }
        let now = Instant::now();
        let due: Vec<DialogId> = hangups
            .iter()
            .filter(|(t, _)| *t <= now)
            .map(|(_, d)| *d)
            .collect();
        hangups.retain(|(t, _)| *t > now);
        for d in due {
            if ep.bye(now, d).is_ok() {
                stats.lock().unwrap().byes_sent += 1;
            }
        }
        while let Some(t) = ep.poll_transmit() {
            net.send(t);
        }
        while let Some(e) = ep.poll_event() {
            let mut s = stats.lock().unwrap();
            match e {
                Event::Request { tx, request, .. } if request.method == Method::Invite => {
                    s.invites += 1;
                    let user = request
                        .uri
                        .user()
                        .map(|u| String::from_utf8_lossy(u).into_owned())
                        .unwrap_or_default();
                    match user.as_str() {
                        "ring" => {
                            let _ = ep.respond(now, tx, ResponseSpec::new(StatusCode::RINGING));
                        }
                        "busy" => {
                            let _ = ep.respond(now, tx, ResponseSpec::new(StatusCode::BUSY_HERE));
                        }
                        _ => {
                            let _ = ep.respond(now, tx, ResponseSpec::new(StatusCode::RINGING));
                            if ep
                                .respond(now, tx, ResponseSpec::new(StatusCode::OK).sdp(SDP))
                                .is_ok()
                            {
                                s.answered += 1;
                            }
                        }
                    }
                }
                Event::Request { tx, .. } => {
                    let _ = ep.respond(now, tx, ResponseSpec::new(StatusCode::OK));
                }
                Event::DialogRequest { tx, request, .. } => {
                    if request.method == Method::Invite {
                        s.reinvites += 1;
                        let _ = ep.respond(now, tx, ResponseSpec::new(StatusCode::OK).sdp(SDP));
                    } else {
                        let _ = ep.respond(now, tx, ResponseSpec::new(StatusCode::OK));
                    }
                }
                Event::Ack { .. } => s.acks += 1,
                Event::Cancelled { .. } => s.cancelled += 1,
                Event::Response {
                    request,
                    dialog,
                    response,
                } => {
                    if let Some(pos) = holds.iter().position(|(r, _)| *r == request) {
                        if response.status == StatusCode::OK {
                            s.outgoing_ok += 1;
                            let hold = holds.remove(pos).1;
                            if let Some(d) = dialog {
                                hangups.push((now + hold, d));
                            }
                        } else if response.status.is_final() {
                            holds.remove(pos);
                            s.outgoing_failed.push(response.status.code());
                        }
                    }
                }
                Event::DialogTerminated { reason, .. } => {
                    if matches!(reason, Termination::ByeReceived(_)) {
                        s.byes_received += 1;
                    }
                    s.terminations
                        .push(format!("{reason:?}").chars().take(40).collect());
                }
                _ => {}
            }
            drop(s);
            while let Some(t) = ep.poll_transmit() {
                net.send(t);
            }
        }
    }
}

fn rand_seed() -> u64 {
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    (t.as_nanos() as u64) ^ u64::from(std::process::id()) << 32
}
