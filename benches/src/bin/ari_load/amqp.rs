//! `amqp` and `amqp-events` modes: VoIPBIN's RabbitMQ protocol through a real broker.

use std::{
    collections::HashMap,
    process::Command,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use futures_util::StreamExt;
use lapin::{
    BasicProperties, Channel, Connection, ConnectionProperties, ExchangeKind,
    options::{
        BasicConsumeOptions, BasicPublishOptions, ExchangeDeclareOptions, QueueBindOptions,
        QueueDeclareOptions,
    },
    types::FieldTable,
};
use serde_json::{Value, json};
use testkit::{http::Client, process::free_udp_port, rabbitmq::Broker, require};

use crate::{mediaplane::Mediaplane, percentiles};

const ID: &str = "42:01:0a:a4:0f:d0";

type Pending = Arc<Mutex<HashMap<String, (Instant, &'static str)>>>;
type Samples = Arc<Mutex<Vec<(&'static str, u64, Duration)>>>;

fn start() -> (Broker, Mediaplane) {
    let broker = Broker::start();
    let mp = Mediaplane::start_with(
        "voipbin",
        &format!(
            "[instance]\nid = \"{ID}\"\n[amqp]\naddress = \"{}\"\n",
            broker.url()
        ),
    );
    (broker, mp)
}

async fn queue(ch: &Channel, bind: Option<&str>) -> lapin::Consumer {
    let q = ch
        .queue_declare(
            "".into(),
            QueueDeclareOptions {
                exclusive: true,
                auto_delete: true,
                ..QueueDeclareOptions::default()
            },
            FieldTable::default(),
        )
        .await
        .unwrap();
    if let Some(ex) = bind {
        ch.exchange_declare(
            ex.into(),
            ExchangeKind::Fanout,
            ExchangeDeclareOptions {
                durable: true,
                ..ExchangeDeclareOptions::default()
            },
            FieldTable::default(),
        )
        .await
        .unwrap();
        ch.queue_bind(
            q.name().clone(),
            ex.into(),
            "".into(),
            QueueBindOptions::default(),
            FieldTable::default(),
        )
        .await
        .unwrap();
    }
    ch.basic_consume(
        q.name().clone(),
        "".into(),
        BasicConsumeOptions {
            no_ack: true,
            ..BasicConsumeOptions::default()
        },
        FieldTable::default(),
    )
    .await
    .unwrap()
}

/// A requester with one long-lived reply queue; replies are matched by correlation id.
struct Rpc {
    ch: Channel,
    reply_to: lapin::types::ShortString,
    pending: Pending,
    samples: Samples,
    next: u64,
}

impl Rpc {
    async fn new(conn: &Connection) -> Self {
        let ch = conn.create_channel().await.unwrap();
        let consumer = queue(&ch, None).await;
        let reply_to = consumer.queue();
        let pending: Pending = Arc::default();
        let samples: Samples = Arc::default();
        let (p, s) = (Arc::clone(&pending), Arc::clone(&samples));
        tokio::spawn(async move {
            let mut consumer = consumer;
            while let Some(Ok(d)) = consumer.next().await {
                let at = Instant::now();
                let Some(id) = d.properties.correlation_id().as_ref() else {
                    continue;
                };
                let Some((sent, kind)) = p.lock().unwrap().remove(id.as_str()) else {
                    continue;
                };
                let v: Value = serde_json::from_slice(&d.data).unwrap_or(Value::Null);
                let status = v["status_code"].as_u64().unwrap_or(0);
                s.lock().unwrap().push((kind, status, at - sent));
            }
        });
        Self {
            ch,
            reply_to,
            pending,
            samples,
            next: 0,
        }
    }

    async fn send(&mut self, queue: &str, kind: &'static str, method: &str, uri: &str) {
        self.next += 1;
        let id = self.next.to_string();
        let body =
            json!({"uri": uri, "method": method, "publisher": "call-manager", "data_type": ""});
        self.pending
            .lock()
            .unwrap()
            .insert(id.clone(), (Instant::now(), kind));
        self.ch
            .basic_publish(
                "".into(),
                queue.into(),
                BasicPublishOptions::default(),
                body.to_string().as_bytes(),
                BasicProperties::default()
                    .with_content_type("text/plain".into())
                    .with_reply_to(self.reply_to.clone())
                    .with_correlation_id(id.into()),
            )
            .await
            .unwrap();
    }

    async fn drain(&self, limit: Duration) {
        let end = Instant::now() + limit;
        while !self.pending.lock().unwrap().is_empty() && Instant::now() < end {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}

/// RPC round trips: real answers of inbound calls, then GET channel and answer at `rate`.
pub(crate) fn rpc(calls: u64, rate: u64, secs: u64) {
    let (broker, mp) = start();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let conn = Connection::connect(&broker.url(), ConnectionProperties::default())
            .await
            .unwrap();
        let iq = format!("asterisk.{ID}.request");
        let mut rpc = Rpc::new(&conn).await;
        let ev_ch = conn.create_channel().await.unwrap();
        let mut events = queue(&ev_ch, Some("asterisk.all.event")).await;
        // Wait until mediaplane consumes.
        loop {
            rpc.send(&iq, "ping", "GET", "/ari/asterisk/ping").await;
            rpc.drain(Duration::from_millis(300)).await;
            if rpc.pending.lock().unwrap().is_empty() {
                break;
            }
            rpc.pending.lock().unwrap().clear();
        }
        let dir = testkit::sipp::run_dir("amqp-load");
        let mut sipp = testkit::process::Running::spawn(
            "sipp",
            Command::new(require("sipp"))
                .current_dir(&dir)
                .args(["-sn", "uac"])
                .arg(mp.sip.to_string())
                .args(["-i", "127.0.0.1", "-p", &free_udp_port().to_string()])
                .args([
                    "-s",
                    "1234",
                    "-m",
                    &calls.to_string(),
                    "-r",
                    "50",
                    "-l",
                    &calls.to_string(),
                ])
                .args(["-d", &((secs + 60) * 1000).to_string(), "-nostdin"]),
        );
        let mut channels = Vec::new();
        while (channels.len() as u64) < calls {
            let d = tokio::time::timeout(Duration::from_secs(20), events.next())
                .await
                .expect("StasisStart events")
                .unwrap()
                .unwrap();
            let v: Value = serde_json::from_slice(&d.data).unwrap();
            if v["data"]["type"] == "StasisStart" {
                let id = v["data"]["channel"]["id"].as_str().unwrap().to_string();
                rpc.send(
                    &iq,
                    "answer (ringing channel)",
                    "POST",
                    &format!("/ari/channels/{id}/answer"),
                )
                .await;
                channels.push(id);
            }
        }
        rpc.drain(Duration::from_secs(5)).await;
        // Keep consuming events in the background so the queue does not back up.
        tokio::spawn(async move { while events.next().await.is_some() {} });
        let cpu0 = mp.cpu_seconds();
        let mut tick = tokio::time::interval(Duration::from_secs_f64(1.0 / rate as f64));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
        let start = Instant::now();
        let total = rate * secs;
        for i in 0..total {
            tick.tick().await;
            let id = &channels[(i as usize / 2) % channels.len()];
            if i % 2 == 0 {
                rpc.send(&iq, "GET channel", "GET", &format!("/ari/channels/{id}"))
                    .await;
            } else {
                rpc.send(
                    &iq,
                    "answer (channel up)",
                    "POST",
                    &format!("/ari/channels/{id}/answer"),
                )
                .await;
            }
        }
        let sent_for = start.elapsed();
        rpc.drain(Duration::from_secs(5)).await;
        let cpu = mp.cpu_seconds() - cpu0;
        let samples = rpc.samples.lock().unwrap().clone();
        println!(
            "amqp rpc: {total} requests in {:.2} s = {:.0} requests/s through rabbitmq-server; \
             mediaplane CPU {:.1} s ({:.1}% of one core); {} unanswered",
            sent_for.as_secs_f64(),
            total as f64 / sent_for.as_secs_f64(),
            cpu,
            100.0 * cpu / sent_for.as_secs_f64(),
            rpc.pending.lock().unwrap().len()
        );
        for kind in [
            "answer (ringing channel)",
            "GET channel",
            "answer (channel up)",
        ] {
            let v: Vec<Duration> = samples
                .iter()
                .filter(|s| s.0 == kind)
                .map(|s| s.2)
                .collect();
            let statuses: std::collections::BTreeSet<u64> = samples
                .iter()
                .filter(|s| s.0 == kind)
                .map(|s| s.1)
                .collect();
            println!("  {kind:<26} {} statuses {statuses:?}", percentiles(v));
        }
        for id in &channels {
            rpc.send(&iq, "hangup", "DELETE", &format!("/ari/channels/{id}"))
                .await;
        }
        rpc.drain(Duration::from_secs(10)).await;
        let _ = tokio::time::timeout(Duration::from_secs(10), async {
            while sipp.exited().is_none() {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        })
        .await;
    });
}

/// Events through the exchange with publisher confirms.
pub(crate) fn events(count: u64) {
    let (broker, mp) = start();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let received = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let r = Arc::clone(&received);
    let _consumer = rt.block_on(async {
        let conn = Connection::connect(&broker.url(), ConnectionProperties::default())
            .await
            .unwrap();
        let ch = conn.create_channel().await.unwrap();
        let mut events = queue(&ch, Some("asterisk.all.event")).await;
        tokio::spawn(async move {
            while let Some(Ok(d)) = events.next().await {
                if d.data.windows(15).any(|w| w == b"\"ChannelVarset\"") {
                    r.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                }
            }
        });
        conn
    });
    std::thread::spawn(move || rt.block_on(std::future::pending::<()>()));
    let mut http = Client::new(mp.ari);
    let r = http
        .request(
            "POST",
            "/ari/channels/create?endpoint=pjsip/call-out/sip:nobody@127.0.0.1:9&app=voipbin&channelId=flood&api_key=asterisk:asterisk",
            &[],
            &[],
        )
        .unwrap();
    assert_eq!(r.status, 200, "{}", r.text());
    std::thread::sleep(Duration::from_millis(500));
    let base = mp.metric("amqp_events_published_total");
    let per_request = 100u64;
    let body = {
        let vars: Vec<String> = (0..per_request)
            .map(|i| format!("\"V{i}\":\"value {i}\""))
            .collect();
        format!("{{\"variables\":{{{}}}}}", vars.join(","))
    };
    let requests = count.div_ceil(per_request);
    let start = Instant::now();
    let senders: Vec<_> = (0..2u64)
        .map(|s| {
            let (body, ari) = (body.clone(), mp.ari);
            std::thread::spawn(move || {
                let mut c = Client::new(ari);
                for _ in (s..requests).step_by(2) {
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
    let total = requests * per_request;
    let deadline = start + Duration::from_secs(120);
    // Until all are confirmed, or nothing more is confirmed for 2 s (events dropped from a
    // full buffer never come).
    let (mut confirmed, mut last_change) = (0.0, start);
    while Instant::now() < deadline && last_change.elapsed() < Duration::from_secs(2) {
        let now = mp.metric("amqp_events_published_total") - base;
        if now > confirmed {
            (confirmed, last_change) = (now, Instant::now());
        }
        if confirmed >= total as f64 {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let took = last_change - start;
    for s in senders {
        s.join().unwrap();
    }
    std::thread::sleep(Duration::from_millis(500));
    println!(
        "amqp events: {confirmed:.0} of {total} ChannelVarset confirmed by rabbitmq-server in {:.2} s = {:.0} events/s; \
         {} reached a consumer; dropped {}; mediaplane CPU {:.1} s",
        took.as_secs_f64(),
        confirmed / took.as_secs_f64(),
        received.load(std::sync::atomic::Ordering::Relaxed),
        mp.metric("amqp_events_dropped_total"),
        mp.cpu_seconds()
    );
}
