//! The RPC side (voipbin-contract.md §1.1–1.4): declare and consume the request queues, run
//! each request in process, answer on `reply_to`.
//!
//! As asterisk-proxy does, a delivery is acknowledged before it runs (at most once: a request
//! is never executed twice after a reconnect), a request without `reply_to` (a delayed one)
//! runs and gets no answer, and whatever the bytes, the answer is an envelope — a poison
//! message gets a 400 and is gone, never redelivered.

use std::{sync::Arc, time::Duration};

use axum::http::Method;
use futures_util::StreamExt;
use lapin::{
    BasicProperties, Channel, Connection, ConnectionProperties, ExchangeKind,
    message::Delivery,
    options::{
        BasicAckOptions, BasicConsumeOptions, BasicPublishOptions, BasicQosOptions,
        ExchangeDeclareOptions, QueueBindOptions, QueueDeclareOptions,
    },
    types::{AMQPValue, FieldTable},
};
use tokio::sync::{Semaphore, watch};

use super::{AmqpMetrics, Backoff, ami, envelope, store::Store};
use crate::{
    ari::{Access, Ari, AriRequest},
    config::AmqpConfig,
};

/// `x-expires` of the instance queue: 30 minutes, as asterisk-proxy declares it.
const INSTANCE_QUEUE_EXPIRES_MS: i32 = 1_800_000;

/// The RPC consumer.
#[derive(Debug)]
pub struct Consumer {
    address: String,
    role_queues: Vec<String>,
    instance_queue: String,
    delay_exchange: String,
    prefetch: u16,
    workers: usize,
    handler: Arc<Handler>,
    metrics: AmqpMetrics,
    delay_warned: bool,
}

/// What runs one request (shared by the worker tasks).
#[derive(Debug)]
pub struct Handler {
    ari: Arc<Ari>,
    app: String,
    store: Store,
}

impl Handler {
    /// A handler dispatching to `ari`, AMI actions for `app`, and `store`.
    pub fn new(ari: Arc<Ari>, app: String, store: Store) -> Self {
        Self { ari, app, store }
    }

    /// Runs one request envelope; returns the route (for metrics), the status and the reply.
    pub async fn handle(&self, bytes: &[u8]) -> (&'static str, u16, Vec<u8>) {
        let req = match envelope::parse_request(bytes) {
            Ok(r) => r,
            Err(e) => return ("invalid", 400, envelope::error_reply(400, &e.to_string())),
        };
        match req.route() {
            envelope::Route::Ari { path, query } => {
                let (status, reply) = self.ari(&req, path, query).await;
                ("ari", status, reply)
            }
            envelope::Route::Ami => {
                let (status, reply) = ami::action(&self.ari, &self.app, &req.body).await;
                ("ami", status, reply)
            }
            envelope::Route::RecordingFileMove => {
                let (status, reply) = self.store.move_files(&req.body).await;
                ("recording_file_move", status, reply)
            }
            envelope::Route::Unknown => ("unknown", 404, envelope::simple_reply(404)),
        }
    }

    async fn ari(
        &self,
        req: &envelope::Request<'_>,
        path: &str,
        query: Option<&str>,
    ) -> (u16, Vec<u8>) {
        let Ok(method) = Method::from_bytes(req.method.as_bytes()) else {
            return (400, envelope::error_reply(400, "invalid method"));
        };
        // An empty body with `application/json` (VoIPBIN's `ring`) carries no parameters.
        let content_type =
            Some(req.data_type.as_str()).filter(|t| !t.is_empty() && !req.body.is_empty());
        let resp = self
            .ari
            .handle(AriRequest {
                method: &method,
                path,
                query,
                content_type,
                body: &req.body,
                host: None,
                access: Access::Full,
            })
            .await;
        if resp.raw.is_some() {
            // A recording's bytes are not JSON; asterisk-proxy would fail to marshal the reply
            // and send nothing. Say so instead of letting the caller time out.
            let m = "binary bodies cannot travel in an RPC reply: fetch the file over ARI HTTP";
            return (406, envelope::error_reply(406, m));
        }
        let body = resp.body.map(|b| b.to_string());
        (
            resp.status,
            envelope::reply(resp.status, "application/json", body.as_deref()),
        )
    }
}

impl Consumer {
    /// A consumer of `queues` (role queues, instance queue) at `address`.
    pub fn new(
        config: &AmqpConfig,
        address: String,
        queues: (Vec<String>, String),
        ari: Arc<Ari>,
        store: Store,
        metrics: AmqpMetrics,
    ) -> Self {
        Self {
            address,
            role_queues: queues.0,
            instance_queue: queues.1,
            delay_exchange: config.delay_exchange.clone(),
            prefetch: config.prefetch,
            workers: config.workers,
            handler: Arc::new(Handler::new(ari, config.app.clone(), store)),
            metrics,
            delay_warned: false,
        }
    }

    /// Consumes until `stop`, reconnecting with backoff whenever the connection is lost.
    pub async fn run(mut self, mut stop: watch::Receiver<bool>) {
        let mut backoff = Backoff::new();
        let mut warned = false;
        while !*stop.borrow() {
            match self.session(&mut stop).await {
                Ok(()) => break,
                Err(e) => {
                    self.metrics.side("rpc", false);
                    if !warned {
                        tracing::warn!(error = %e, address = %super::redact(&self.address), "AMQP RPC: no connection; retrying");
                        warned = true;
                    }
                }
            }
            tokio::select! {
                () = tokio::time::sleep(backoff.next()) => {}
                _ = stop.changed() => {}
            }
            if backoff.0 >= Duration::from_secs(2) {
                warned = false;
            }
        }
    }

    /// One connection: declare, consume, serve. `Ok` on stop, `Err` when the connection fails.
    async fn session(&mut self, stop: &mut watch::Receiver<bool>) -> Result<(), String> {
        let props = ConnectionProperties::default()
            .with_connection_name(format!("mediaplane rpc {}", std::process::id()).into());
        let conn = Connection::connect(&self.address, props)
            .await
            .map_err(|e| e.to_string())?;
        let replies = conn.create_channel().await.map_err(|e| e.to_string())?;
        let queues: Vec<(String, bool)> = self
            .role_queues
            .iter()
            .map(|q| (q.clone(), true))
            .chain([(self.instance_queue.clone(), false)])
            .collect();
        let mut consumers = Vec::new();
        let mut channels = Vec::new();
        for (queue, durable) in &queues {
            let ch = conn.create_channel().await.map_err(|e| e.to_string())?;
            declare(&ch, queue, *durable).await?;
            ch.basic_qos(self.prefetch, BasicQosOptions::default())
                .await
                .map_err(|e| e.to_string())?;
            let consumer = ch
                .basic_consume(
                    queue.as_str().into(),
                    format!("mediaplane-{queue}").into(),
                    BasicConsumeOptions::default(),
                    FieldTable::default(),
                )
                .await
                .map_err(|e| format!("consume {queue}: {e}"))?;
            let sem = Arc::new(Semaphore::new(self.workers));
            consumers.push(consumer.map(move |d| (d, Arc::clone(&sem))));
            channels.push(ch);
        }
        self.bind_delayed(&conn, &queues).await;
        self.metrics.side("rpc", true);
        tracing::info!(queues = ?queues.iter().map(|q| &q.0).collect::<Vec<_>>(), "AMQP RPC consuming");
        let mut merged = futures_util::stream::select_all(consumers);
        let mut check = tokio::time::interval(Duration::from_millis(250));
        loop {
            tokio::select! {
                next = merged.next() => match next {
                    Some((Ok(delivery), sem)) => {
                        let Ok(permit) = sem.acquire_owned().await else { continue };
                        // Acknowledge first, as asterisk-proxy does: at most once.
                        if let Err(e) = delivery.acker.ack(BasicAckOptions::default()).await {
                            return Err(format!("ack: {e}"));
                        }
                        let handler = Arc::clone(&self.handler);
                        let replies = replies.clone();
                        let metrics = self.metrics.clone();
                        tokio::spawn(async move {
                            serve(&handler, &replies, &metrics, delivery).await;
                            drop(permit);
                        });
                    }
                    Some((Err(e), _)) => return Err(e.to_string()),
                    None => return Err("the broker cancelled the consumers".into()),
                },
                _ = check.tick() => {
                    if !conn.status().connected() {
                        return Err("the connection is closed".into());
                    }
                }
                _ = stop.changed() => {
                    let _ = conn.close(200, "mediaplane stopping".into()).await;
                    return Ok(());
                }
            }
        }
    }

    /// Binds the request queues to the delayed-message exchange, when the broker has the
    /// plugin; otherwise one warning (delayed requests, such as the 1 h call-duration hangup,
    /// then never arrive).
    async fn bind_delayed(&mut self, conn: &Connection, queues: &[(String, bool)]) {
        let ex = self.delay_exchange.as_str();
        let exists = async {
            let ch = conn.create_channel().await.ok()?;
            let passive = ExchangeDeclareOptions {
                passive: true,
                ..ExchangeDeclareOptions::default()
            };
            ch.exchange_declare(
                ex.into(),
                ExchangeKind::Custom("x-delayed-message".into()),
                passive,
                FieldTable::default(),
            )
            .await
            .ok()
        }
        .await
        .is_some();
        // Declaring an unknown exchange type closes the whole connection: try it on a
        // connection of its own.
        let available = exists || declare_delayed(&self.address, ex).await;
        let ch = match available {
            true => conn.create_channel().await.ok(),
            false => None,
        };
        let Some(ch) = ch else {
            if !self.delay_warned {
                tracing::warn!(exchange = %ex, "the broker has no delayed-message exchange (rabbitmq_delayed_message_exchange plugin): delayed requests will not arrive");
                self.delay_warned = true;
            }
            return;
        };
        for (queue, _) in queues {
            if let Err(e) = ch
                .queue_bind(
                    queue.as_str().into(),
                    ex.into(),
                    queue.as_str().into(),
                    QueueBindOptions::default(),
                    FieldTable::default(),
                )
                .await
            {
                tracing::warn!(%queue, exchange = %ex, error = %e, "cannot bind to the delay exchange");
                return;
            }
        }
        tracing::info!(exchange = %ex, "request queues bound to the delay exchange");
    }
}

async fn declare(ch: &Channel, queue: &str, durable: bool) -> Result<(), String> {
    let (options, args) = if durable {
        (
            QueueDeclareOptions {
                durable: true,
                ..QueueDeclareOptions::default()
            },
            FieldTable::default(),
        )
    } else {
        let mut args = FieldTable::default();
        args.insert(
            "x-expires".into(),
            AMQPValue::LongInt(INSTANCE_QUEUE_EXPIRES_MS),
        );
        (
            QueueDeclareOptions {
                auto_delete: true,
                ..QueueDeclareOptions::default()
            },
            args,
        )
    };
    ch.queue_declare(queue.into(), options, args)
        .await
        .map(|_| ())
        .map_err(|e| format!("declare {queue}: {e}"))
}

async fn declare_delayed(address: &str, ex: &str) -> bool {
    let Ok(conn) = Connection::connect(address, ConnectionProperties::default()).await else {
        return false;
    };
    let Ok(ch) = conn.create_channel().await else {
        return false;
    };
    let mut args = FieldTable::default();
    args.insert(
        "x-delayed-type".into(),
        AMQPValue::LongString("direct".into()),
    );
    let declared = ch
        .exchange_declare(
            ex.into(),
            ExchangeKind::Custom("x-delayed-message".into()),
            ExchangeDeclareOptions {
                durable: true,
                ..ExchangeDeclareOptions::default()
            },
            args,
        )
        .await
        .is_ok();
    let _ = conn.close(200, "probe done".into()).await;
    declared
}

/// Runs one delivery and answers it.
async fn serve(handler: &Handler, replies: &Channel, metrics: &AmqpMetrics, delivery: Delivery) {
    let (route, status, reply) = handler.handle(&delivery.data).await;
    metrics
        .requests
        .get_or_create(&vec![
            ("route".to_string(), route.to_string()),
            ("status".to_string(), status.to_string()),
        ])
        .inc();
    let Some(reply_to) = delivery.properties.reply_to().as_ref() else {
        return;
    };
    let mut props = BasicProperties::default().with_content_type("text/plain".into());
    if let Some(id) = delivery.properties.correlation_id() {
        props = props.with_correlation_id(id.clone());
    }
    if let Err(e) = replies
        .basic_publish(
            "".into(),
            reply_to.clone(),
            BasicPublishOptions::default(),
            &reply,
            props,
        )
        .await
    {
        tracing::warn!(error = %e, "cannot send an RPC reply");
    }
}
