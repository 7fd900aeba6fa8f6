//! VoIPBIN's side of the RabbitMQ protocol, as its Go `requesthandler` and `subscribehandler`
//! do it (voipbin-contract.md §1.2): a fresh server-named exclusive reply queue per request,
//! consumed with auto-ack, the request published on the default exchange with `reply_to` and
//! no correlation id, `text/plain`; events from a queue bound to the fanout exchange.

use std::time::Duration;

use futures_util::StreamExt;
use lapin::{
    BasicProperties, Channel, Connection, ConnectionProperties, Consumer, ExchangeKind,
    options::{
        BasicConsumeOptions, BasicPublishOptions, ExchangeDeclareOptions, QueueBindOptions,
        QueueDeclareOptions,
    },
    types::FieldTable,
};
use serde_json::Value;

/// The requester (call-manager's role).
pub struct Requester {
    pub conn: Connection,
    channel: Channel,
}

impl Requester {
    pub async fn connect(url: &str) -> Self {
        let conn = Connection::connect(url, ConnectionProperties::default())
            .await
            .expect("connect to the test broker");
        let channel = conn.create_channel().await.expect("channel");
        Self { conn, channel }
    }

    /// Sends `envelope` to `queue` and waits up to `timeout` for the reply's bytes.
    pub async fn request_raw(
        &self,
        queue: &str,
        envelope: &[u8],
        timeout: Duration,
    ) -> Option<Vec<u8>> {
        let reply = self
            .channel
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
            .expect("reply queue");
        let mut consumer = self
            .channel
            .basic_consume(
                reply.name().clone(),
                "".into(),
                BasicConsumeOptions {
                    no_ack: true,
                    ..BasicConsumeOptions::default()
                },
                FieldTable::default(),
            )
            .await
            .expect("consume the reply queue");
        self.channel
            .basic_publish(
                "".into(),
                queue.into(),
                BasicPublishOptions::default(),
                envelope,
                BasicProperties::default()
                    .with_content_type("text/plain".into())
                    .with_reply_to(reply.name().clone()),
            )
            .await
            .expect("publish");
        let got = tokio::time::timeout(timeout, consumer.next())
            .await
            .ok()
            .flatten();
        let _ = self
            .channel
            .queue_delete(reply.name().clone(), Default::default())
            .await;
        got.map(|d| d.expect("delivery").data)
    }

    /// Sends a request envelope and parses the reply (3 s, call-manager's default timeout).
    pub async fn request(&self, queue: &str, envelope: &Value) -> Value {
        let bytes = envelope.to_string();
        let reply = self
            .request_raw(queue, bytes.as_bytes(), Duration::from_secs(3))
            .await
            .unwrap_or_else(|| panic!("no reply within 3 s to {bytes}"));
        serde_json::from_slice(&reply).expect("the reply is JSON")
    }

    /// Publishes a request with no `reply_to` (as a delayed request arrives).
    pub async fn send_without_reply(&self, queue: &str, envelope: &Value) {
        self.channel
            .basic_publish(
                "".into(),
                queue.into(),
                BasicPublishOptions::default(),
                envelope.to_string().as_bytes(),
                BasicProperties::default().with_content_type("text/plain".into()),
            )
            .await
            .expect("publish");
    }
}

/// An ARI request envelope exactly as `sendRequestAst` builds it.
pub fn ari(method: &str, uri: &str, data: Option<Value>) -> Value {
    let mut v = serde_json::json!({
        "uri": uri,
        "method": method,
        "publisher": "call-manager",
        "data_type": if data.is_some() { "application/json" } else { "" },
    });
    if let Some(d) = data {
        v["data"] = d;
    }
    v
}

/// The event stream (call-manager's subscribe queue).
pub struct Events {
    consumer: Consumer,
    _channel: Channel,
    /// Every event so far, in arrival order.
    pub seen: Vec<Value>,
    /// Events not yet taken by `wait_for`.
    pending: Vec<Value>,
}

impl Events {
    pub async fn subscribe(conn: &Connection, exchange: &str) -> Self {
        Self::subscribe_queue(conn, exchange, None).await
    }

    /// Like [`Events::subscribe`], from a durable queue named `durable` (it outlives a broker
    /// restart) instead of an exclusive one.
    pub async fn subscribe_queue(conn: &Connection, exchange: &str, durable: Option<&str>) -> Self {
        let channel = conn.create_channel().await.expect("channel");
        // Declared as mediaplane declares it (fanout, durable), so the order of start does
        // not matter.
        channel
            .exchange_declare(
                exchange.into(),
                ExchangeKind::Fanout,
                ExchangeDeclareOptions {
                    durable: true,
                    ..ExchangeDeclareOptions::default()
                },
                FieldTable::default(),
            )
            .await
            .expect("declare the event exchange");
        let options = match durable {
            Some(_) => QueueDeclareOptions {
                durable: true,
                ..QueueDeclareOptions::default()
            },
            None => QueueDeclareOptions {
                exclusive: true,
                auto_delete: true,
                ..QueueDeclareOptions::default()
            },
        };
        let q = channel
            .queue_declare(durable.unwrap_or("").into(), options, FieldTable::default())
            .await
            .expect("event queue");
        channel
            .queue_bind(
                q.name().clone(),
                exchange.into(),
                "".into(),
                QueueBindOptions::default(),
                FieldTable::default(),
            )
            .await
            .expect("bind");
        let consumer = channel
            .basic_consume(
                q.name().clone(),
                "".into(),
                BasicConsumeOptions {
                    no_ack: true,
                    ..BasicConsumeOptions::default()
                },
                FieldTable::default(),
            )
            .await
            .expect("consume events");
        Self {
            consumer,
            _channel: channel,
            seen: Vec::new(),
            pending: Vec::new(),
        }
    }

    /// The next event message, checked against the contract's envelope; returns `data`.
    pub async fn next(&mut self, timeout: Duration) -> Option<Value> {
        let d = tokio::time::timeout(timeout, self.consumer.next())
            .await
            .ok()??
            .expect("delivery");
        assert_eq!(
            d.properties.content_type().as_ref().map(|s| s.as_str()),
            Some("text/plain")
        );
        let v: Value = serde_json::from_slice(&d.data).expect("event is JSON");
        let keys: Vec<&str> = v
            .as_object()
            .expect("object")
            .keys()
            .map(String::as_str)
            .collect();
        let mut sorted = keys.clone();
        sorted.sort_unstable();
        assert_eq!(sorted, ["data", "data_type", "publisher", "type"], "{v}");
        assert_eq!(v["type"], "ari_event");
        assert_eq!(v["publisher"], "asterisk-proxy");
        assert_eq!(v["data_type"], "application/json");
        let data = v["data"].clone();
        self.seen.push(data.clone());
        Some(data)
    }

    /// Waits for an event of `kind` for which `pred` holds (events before it are kept in
    /// `seen`).
    pub async fn wait_for(&mut self, kind: &str, pred: impl Fn(&Value) -> bool) -> Value {
        if let Some(i) = self
            .pending
            .iter()
            .position(|e| e["type"] == kind && pred(e))
        {
            return self.pending.remove(i);
        }
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            let Some(e) = self.next(left).await else {
                let kinds: Vec<String> = self.seen.iter().map(|e| e["type"].to_string()).collect();
                panic!("no {kind} within 10 s; seen: {kinds:?}");
            };
            if e["type"] == kind && pred(&e) {
                return e;
            }
            self.pending.push(e);
        }
    }
}
