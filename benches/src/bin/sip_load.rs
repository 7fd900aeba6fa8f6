//! SIPp load against sip-core: a UAS on the endpoint and tokio shell answers every INVITE
//! (180, 200 with SDP); SIPp's built-in `uac` scenario places calls at a fixed rate over UDP.
//! Prints calls/s, failures, and the CPU time this process spent per call.
//!
//! `cargo run --release -p benches --bin sip-load -- [rate] [seconds]` (default 1000 60)

use std::{
    net::SocketAddr,
    time::{Duration, Instant},
};

use sip_core::{
    Method, StatusCode,
    endpoint::{Endpoint, EndpointConfig, Event, ResponseSpec},
    rt::{Input, Network, NetworkConfig},
};
use testkit::sipp;

const SDP: &str = "v=0\r\no=load 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 40000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n";

/// User + system CPU seconds of this process.
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map(|(_, r)| r.split_whitespace().collect())
        .unwrap_or_default();
    let tick = |i: usize| {
        fields
            .get(i)
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    (tick(11) + tick(12)) / 100.0
}

fn main() {
    let mut args = std::env::args().skip(1);
    let rate: u64 = args.next().and_then(|a| a.parse().ok()).unwrap_or(1000);
    let seconds: u64 = args.next().and_then(|a| a.parse().ok()).unwrap_or(60);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let (addr_tx, addr_rx) = std::sync::mpsc::channel::<SocketAddr>();
    let (stop_tx, mut stop_rx) = tokio::sync::oneshot::channel::<()>();
    let server = std::thread::spawn(move || {
        runtime.block_on(async move {
            let any = "127.0.0.1:0".parse().expect("addr");
            let mut net = Network::bind(&NetworkConfig { udp: vec![any], ..NetworkConfig::default() }).await.expect("bind");
            let mut ep = Endpoint::new(EndpointConfig::default(), 0x5eed);
            for l in net.listeners() {
                ep.add_listener(l.clone());
            }
            addr_tx.send(net.listeners()[0].local).expect("report address");
            let mut answered = 0u64;
            loop {
                let sleep = tokio::time::sleep_until(
                    ep.poll_timeout().map(tokio::time::Instant::from_std).unwrap_or_else(|| tokio::time::Instant::now() + Duration::from_secs(1)),
                );
                tokio::select! {
                    input = net.recv() => {
                        let now = Instant::now();
                        match input {
                            Some(Input::Datagram { flow, data }) => ep.handle_datagram(now, flow, data),
                            Some(_) => {}
                            None => break,
                        }
                    }
                    () = sleep => ep.handle_timeout(Instant::now()),
                    _ = &mut stop_rx => break,
                }
                let now = Instant::now();
                while let Some(e) = ep.poll_event() {
                    if let Event::Request { tx, request, .. } = e
                        && request.method == Method::Invite
                    {
                        let _ = ep.respond(now, tx, ResponseSpec::new(StatusCode::RINGING));
                        if ep.respond(now, tx, ResponseSpec::new(StatusCode::OK).sdp(SDP)).is_ok() {
                            answered += 1;
                        }
                    }
                }
                while let Some(t) = ep.poll_transmit() {
                    net.send(t);
                }
            }
            answered
        })
    });
    let target = addr_rx.recv().expect("server address");
    let calls = rate * seconds;
    let dir = sipp::run_dir("load");
    let cpu0 = cpu_seconds();
    let t0 = Instant::now();
    let run = sipp::uac(
        &dir,
        "uac",
        target,
        &[
            "-r",
            &rate.to_string(),
            "-m",
            &calls.to_string(),
            "-d",
            "0",
            "-l",
            "100000",
            "-max_socket",
            "10",
        ],
        Duration::from_secs(seconds + 60),
    );
    let wall = t0.elapsed().as_secs_f64();
    let cpu = cpu_seconds() - cpu0;
    let _ = stop_tx.send(());
    let answered = server.join().expect("server thread");
    println!("SIPp uac -> sip-core UAS over UDP, {rate} calls/s for {seconds} s");
    println!(
        "| calls placed | successful | failed | answered here | wall | achieved rate | our CPU | CPU per call |"
    );
    println!("|---|---|---|---|---|---|---|---|");
    println!(
        "| {calls} | {} | {} | {answered} | {wall:.1} s | {:.0} calls/s | {cpu:.2} s ({:.1} % of a core) | {:.1} µs |",
        run.successful(),
        run.failed(),
        run.successful() as f64 / wall,
        cpu / wall * 100.0,
        cpu / calls as f64 * 1e6
    );
    if !run.status.success() {
        println!("{}", run.report());
        std::process::exit(1);
    }
}
