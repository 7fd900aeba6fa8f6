//! ARI load harness: a real `mediaplane` (release build) driven over ARI by this program, with
//! SIPp at both ends.
//!
//! `calls` mode (default): SIPp places `calls` inbound calls at `cps` (PCMA, RTP replayed from
//! a generated capture); for each, this ARI client answers, originates an outbound leg to a
//! SIPp UAS (PCMA, `-rtp_echo`) and bridges the two. Every call stays up `hold` seconds after
//! the last one was placed, then SIPp hangs up and the client tears the rest down. Reports
//! failed calls, mediaplane's CPU and RSS at full load, idle RSS and memory per call, RTP
//! counts on a sample of channels, and the latency of `answer` and `addChannel`.
//!
//! `events` mode: one WebSocket client; senders set 100 channel variables per request
//! (`POST /channels/{id}/variables`) until `count` `ChannelVarset` events have arrived;
//! reports events per second delivered.
//!
//! `amqp` mode: a real rabbitmq-server; SIPp places `calls` inbound calls that reach the
//! Stasis app over the event exchange; each is answered by an RPC request on the instance
//! queue; then `GET /ari/channels/{id}` and `answer` requests go at `rate` per second for
//! `secs` seconds. Reports RPC round trips (publish → reply) as p50/p99/max.
//!
//! `amqp-events` mode: `count` `ChannelVarset` events through the exchange with publisher
//! confirms; reports confirmed events per second.
//!
//! ```text
//! cargo build --release
//! cargo run --release -p benches --bin ari-load -- calls [calls=500] [hold=30] [cps=25]
//! cargo run --release -p benches --bin ari-load -- events [count=500000]
//! cargo run --release -p benches --bin ari-load -- amqp [calls=100] [rate=500] [secs=20]
//! cargo run --release -p benches --bin ari-load -- amqp-events [count=200000]
//! ```
#![allow(
    clippy::disallowed_methods,
    clippy::unwrap_used,
    reason = "a load tool"
)]

mod amqp;
mod calls;
mod mediaplane;

use std::time::{Duration, Instant};

use mediaplane::Mediaplane;
use testkit::{http::Client, ws::WsClient};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let arg = |i: usize, default: u64| args.get(i).and_then(|v| v.parse().ok()).unwrap_or(default);
    match args.first().map(String::as_str) {
        Some("events") => events(arg(1, 500_000)),
        Some("amqp") => amqp::rpc(arg(1, 100), arg(2, 500), arg(3, 20)),
        Some("amqp-events") => amqp::events(arg(1, 200_000)),
        Some("calls") | None => calls::run(arg(1, 500), arg(2, 30), arg(3, 25)),
        Some(other) => {
            eprintln!("unknown mode {other}: use calls, events, amqp or amqp-events");
            std::process::exit(2);
        }
    }
}

/// Milliseconds with three decimals.
pub(crate) fn ms(d: Duration) -> String {
    format!("{:.3}", d.as_secs_f64() * 1000.0)
}

/// p50, p99 and max of a set of latencies.
pub(crate) fn percentiles(mut v: Vec<Duration>) -> String {
    if v.is_empty() {
        return "no samples".into();
    }
    v.sort();
    let at = |q: f64| v[((v.len() as f64 - 1.0) * q).round() as usize];
    format!(
        "n={} p50 {} ms, p99 {} ms, max {} ms",
        v.len(),
        ms(at(0.50)),
        ms(at(0.99)),
        ms(at(1.0))
    )
}

fn events(count: u64) {
    let mp = Mediaplane::start("ev");
    let mut http = Client::new(mp.ari);
    let mut ws = WsClient::connect(mp.ari, "/ari/events?app=ev&api_key=asterisk:asterisk")
        .expect("events WebSocket");
    let r = http
        .request(
            "POST",
            "/ari/channels/create?endpoint=pjsip/call-out/sip:nobody@127.0.0.1:9&app=ev&channelId=flood&api_key=asterisk:asterisk",
            &[],
            &[],
        )
        .unwrap();
    assert_eq!(r.status, 200, "{}", r.text());
    let per_request = 100u64;
    let body = {
        let vars: Vec<String> = (0..per_request)
            .map(|i| format!("\"V{i}\":\"value {i}\""))
            .collect();
        format!("{{\"variables\":{{{}}}}}", vars.join(","))
    };
    let requests = count.div_ceil(per_request);
    let senders = 4;
    let start = Instant::now();
    let threads: Vec<_> = (0..senders)
        .map(|s| {
            let body = body.clone();
            let ari = mp.ari;
            std::thread::spawn(move || {
                let mut c = Client::new(ari);
                for _ in (s..requests).step_by(senders as usize) {
                    let r = c
                        .request(
                            "POST",
                            "/ari/channels/flood/variables?api_key=asterisk:asterisk",
                            &[("Content-Type", "application/json")],
                            body.as_bytes(),
                        )
                        .unwrap();
                    assert_eq!(r.status, 204, "{}", r.text());
                }
            })
        })
        .collect();
    ws.set_timeout(Some(Duration::from_secs(10)));
    let mut got = 0u64;
    let mut bytes = 0usize;
    let total = requests * per_request;
    while got < total {
        let Some(text) = ws.next_text() else {
            panic!("the event stream ended after {got} of {total} events");
        };
        bytes += text.len();
        if text.contains("\"ChannelVarset\"") {
            got += 1;
        }
    }
    let took = start.elapsed();
    for t in threads {
        t.join().unwrap();
    }
    let rate = got as f64 / took.as_secs_f64();
    println!(
        "events: {got} ChannelVarset ({:.0} bytes each) to one WebSocket in {:.2} s = {rate:.0} events/s \
         ({requests} requests of {per_request} variables from {senders} connections); mediaplane CPU {:.1} s",
        bytes as f64 / got as f64,
        took.as_secs_f64(),
        mp.cpu_seconds()
    );
}
