//! Every ARI event to the fanout exchange `asterisk.all.event` (voipbin-contract.md §1.3),
//! wrapped as asterisk-proxy wraps it, published transient with `text/plain`, and confirmed.
//!
//! Events wait in a bounded buffer while the broker is away; after a reconnect they go out in
//! order. An event counts as delivered only when the broker acks it (publisher confirms); an
//! event in flight when the connection drops is published again (at least once). When the
//! buffer is full the oldest event is dropped and counted (`mediaplane_amqp_events_dropped`).

use std::{collections::VecDeque, task::Poll, time::Duration};

use futures_util::{StreamExt, stream::FuturesOrdered};
use lapin::{
    BasicProperties, Channel, Confirmation, Connection, ConnectionProperties, ExchangeKind,
    options::{BasicPublishOptions, ConfirmSelectOptions, ExchangeDeclareOptions},
    types::FieldTable,
};
use tokio::sync::{mpsc, watch};

use super::{AmqpMetrics, Backoff, envelope};
use crate::config::AmqpConfig;

/// Capacity of the tap between the call core and the publisher. The publisher drains it
/// continuously, connected or not, so it fills only if the publisher task itself stalls.
pub const TAP_CAPACITY: usize = 65_536;

/// Events published and not yet confirmed, at most.
const WINDOW: usize = 4096;

/// The event publisher.
#[derive(Debug)]
pub struct Publisher {
    address: String,
    exchange: String,
    capacity: usize,
    metrics: AmqpMetrics,
    buffer: VecDeque<Vec<u8>>,
}

type Confirm = std::pin::Pin<Box<dyn Future<Output = lapin::Result<Confirmation>> + Send>>;

/// A live publishing session: the connection, its confirm-mode channel, and what is in flight.
struct Session {
    conn: Connection,
    channel: Channel,
    in_flight: VecDeque<Vec<u8>>,
    confirms: FuturesOrdered<Confirm>,
}

impl Publisher {
    /// A publisher for `config`'s exchange at `address`.
    pub fn new(config: &AmqpConfig, address: String, metrics: AmqpMetrics) -> Self {
        Self {
            address,
            exchange: config.event_exchange.clone(),
            capacity: config.event_buffer,
            metrics,
            buffer: VecDeque::new(),
        }
    }

    /// Runs until `stop`; then publishes what is buffered for up to 2 s.
    pub async fn run(mut self, mut rx: mpsc::Receiver<String>, mut stop: watch::Receiver<bool>) {
        let mut backoff = Backoff::new();
        let mut session: Option<Session> = None;
        let mut warned = false;
        let mut check = tokio::time::interval(Duration::from_millis(250));
        loop {
            if *stop.borrow() {
                break;
            }
            let Some(s) = session.as_mut() else {
                match self.connect().await {
                    Ok(s) => {
                        tracing::info!(exchange = %self.exchange, buffered = self.buffer.len(), "AMQP event publisher connected");
                        self.metrics.side("events", true);
                        backoff.reset();
                        warned = false;
                        session = Some(s);
                    }
                    Err(e) => {
                        if !warned {
                            tracing::warn!(error = %e, address = %super::redact(&self.address), "AMQP event publisher cannot connect; buffering events and retrying");
                            warned = true;
                        }
                        let pause = tokio::time::sleep(backoff.next());
                        tokio::pin!(pause);
                        loop {
                            tokio::select! {
                                () = &mut pause => break,
                                ev = rx.recv() => match ev {
                                    Some(ev) => self.push(ev),
                                    None => return,
                                },
                                _ = stop.changed() => break,
                            }
                        }
                    }
                }
                continue;
            };
            // Take every event waiting in the tap first: the bounded buffer (which counts what
            // it drops) is where events wait, not the tap.
            while let Ok(ev) = rx.try_recv() {
                self.push(ev);
            }
            // Publish what the window allows. Each publish is polled once at once, which queues
            // its frames in order; the writes and the confirms then complete together (one
            // awaited publish at a time would cost an I/O-loop round trip per event).
            while s.in_flight.len() < WINDOW {
                let Some(msg) = self.buffer.pop_front() else {
                    break;
                };
                let (ch, ex, body) = (s.channel.clone(), self.exchange.clone(), msg.clone());
                let mut confirm: Confirm =
                    Box::pin(async move { publish(&ch, &ex, &body).await?.await });
                let first = std::future::poll_fn(|cx| Poll::Ready(confirm.as_mut().poll(cx))).await;
                if let Poll::Ready(done) = first {
                    confirm = Box::pin(std::future::ready(done));
                }
                s.confirms.push_back(confirm);
                s.in_flight.push_back(msg);
            }
            self.gauge(s);
            let mut failed = None;
            tokio::select! {
                biased;
                Some(done) = s.confirms.next(), if !s.confirms.is_empty() => {
                    let msg = s.in_flight.pop_front();
                    match done {
                        Ok(Confirmation::Ack(_) | Confirmation::NotRequested) => {
                            self.metrics.events_published.inc();
                        }
                        Ok(Confirmation::Nack(_)) => {
                            tracing::warn!("broker refused an event (nack): publishing it again");
                            if let Some(m) = msg { self.buffer.push_front(m); }
                        }
                        Err(e) => {
                            if let Some(m) = msg { s.in_flight.push_front(m); }
                            failed = Some(e.to_string());
                        }
                    }
                }
                ev = rx.recv() => match ev {
                    Some(ev) => {
                        self.push(ev);
                        // Take what else is queued without waking again per event.
                        while let Ok(ev) = rx.try_recv() { self.push(ev); }
                    }
                    None => break,
                },
                _ = check.tick() => {
                    if !s.channel.status().connected() || !s.conn.status().connected() {
                        failed = Some("the connection is closed".to_string());
                    }
                }
                _ = stop.changed() => {}
            }
            if let Some(e) = failed {
                tracing::warn!(error = %e, unconfirmed = s.in_flight.len(), "AMQP event publisher lost its connection; events are kept and published again");
                let s = session.take().expect("checked");
                self.requeue(s);
                self.metrics.side("events", false);
            }
        }
        self.flush(session).await;
    }

    /// Buffers an event (wrapped for the exchange), dropping the oldest beyond capacity.
    fn push(&mut self, event: String) {
        if self.buffer.len() >= self.capacity {
            self.buffer.pop_front();
            self.metrics.events_dropped.inc();
        }
        self.buffer.push_back(envelope::event_message(&event));
    }

    /// Puts unconfirmed events back in front of the buffer, in order.
    fn requeue(&mut self, s: Session) {
        for msg in s.in_flight.into_iter().rev() {
            self.buffer.push_front(msg);
        }
        while self.buffer.len() > self.capacity {
            self.buffer.pop_front();
            self.metrics.events_dropped.inc();
        }
        self.metrics.events_buffered.set(self.buffer.len() as i64);
    }

    fn gauge(&self, s: &Session) {
        self.metrics
            .events_buffered
            .set((self.buffer.len() + s.in_flight.len()) as i64);
    }

    async fn connect(&self) -> lapin::Result<Session> {
        let props = ConnectionProperties::default()
            .with_connection_name(format!("mediaplane events {}", std::process::id()).into());
        let conn = Connection::connect(&self.address, props).await?;
        let channel = conn.create_channel().await?;
        channel
            .exchange_declare(
                self.exchange.as_str().into(),
                ExchangeKind::Fanout,
                ExchangeDeclareOptions {
                    durable: true,
                    ..ExchangeDeclareOptions::default()
                },
                FieldTable::default(),
            )
            .await?;
        channel
            .confirm_select(ConfirmSelectOptions::default())
            .await?;
        Ok(Session {
            conn,
            channel,
            in_flight: VecDeque::new(),
            confirms: FuturesOrdered::new(),
        })
    }

    /// On stop: publish what is left, waiting at most 2 s for confirms.
    async fn flush(mut self, session: Option<Session>) {
        let Some(mut s) = session else {
            if !self.buffer.is_empty() {
                tracing::warn!(
                    events = self.buffer.len(),
                    "stopping with events the broker never received"
                );
            }
            return;
        };
        let deadline = tokio::time::Instant::now() + Duration::from_secs(2);
        while let Some(msg) = self.buffer.pop_front() {
            let (ch, ex) = (s.channel.clone(), self.exchange.clone());
            s.confirms.push_back(Box::pin(
                async move { publish(&ch, &ex, &msg).await?.await },
            ));
        }
        while tokio::time::timeout_at(deadline, s.confirms.next())
            .await
            .ok()
            .flatten()
            .is_some()
        {
            self.metrics.events_published.inc();
        }
        let _ = s.conn.close(200, "mediaplane stopping".into()).await;
    }
}

async fn publish(
    channel: &Channel,
    exchange: &str,
    msg: &[u8],
) -> lapin::Result<lapin::PublisherConfirm> {
    channel
        .basic_publish(
            exchange.into(),
            "".into(),
            BasicPublishOptions::default(),
            msg,
            BasicProperties::default()
                .with_content_type("text/plain".into())
                .with_delivery_mode(1),
        )
        .await
}
