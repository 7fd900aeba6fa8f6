//! VoIPBIN's RabbitMQ protocol spoken natively (voipbin-contract.md §1, §2, §7): mediaplane is
//! its own asterisk-proxy.
//!
//! - [`rpc`] consumes the role queues (`asterisk.<role>.request`, durable) and the instance
//!   queue (`asterisk.<id>.request`, auto-delete, `x-expires` 30 min), dispatches each request
//!   in process to the ARI handlers ([`crate::ari::Ari::handle`]), to AMI actions ([`ami`]) or
//!   to the recording store ([`store`]), and answers on `reply_to`.
//! - [`events`] publishes every ARI event to the fanout exchange `asterisk.all.event` with
//!   publisher confirms, through a bounded buffer that rides out broker restarts.
//! - [`redis`] keeps `asterisk.<id>.address-internal` for call-manager.
//!
//! Both AMQP halves own a connection each (so a burst of events never queues an RPC reply
//! behind it) and reconnect on their own with backoff; calls in progress are not touched.

pub mod ami;
pub mod envelope;
pub mod events;
pub mod redis;
pub mod rpc;
pub mod store;

use std::{sync::Arc, time::Duration};

use prometheus_client::{
    metrics::{counter::Counter, family::Family, gauge::Gauge},
    registry::Registry,
};
use tokio::sync::watch;

use crate::{ari::Ari, config::AmqpConfig};

/// Counters and gauges of the AMQP side (`mediaplane_amqp_*`).
#[derive(Debug, Clone, Default)]
pub struct AmqpMetrics {
    /// Requests answered, by route and status.
    pub requests: Family<Vec<(String, String)>, Counter>,
    /// Events confirmed by the broker.
    pub events_published: Counter,
    /// Events dropped because the buffer was full while the broker was away.
    pub events_dropped: Counter,
    /// Events waiting (buffered or unconfirmed).
    pub events_buffered: Gauge,
    /// Connections (re)established, by side.
    pub connects: Family<Vec<(String, String)>, Counter>,
    /// 1 while a side is connected.
    pub connected: Family<Vec<(String, String)>, Gauge>,
}

impl AmqpMetrics {
    /// Registers the metrics.
    pub fn register(&self, registry: &mut Registry) {
        registry.register(
            "amqp_requests",
            "RPC requests answered, by route and status",
            self.requests.clone(),
        );
        registry.register(
            "amqp_events_published",
            "ARI events published and confirmed by the broker",
            self.events_published.clone(),
        );
        registry.register(
            "amqp_events_dropped",
            "ARI events dropped because the buffer was full while the broker was away",
            self.events_dropped.clone(),
        );
        registry.register(
            "amqp_events_buffered",
            "ARI events buffered or awaiting a confirm",
            self.events_buffered.clone(),
        );
        registry.register(
            "amqp_connects",
            "AMQP connections established, by side (rpc, events)",
            self.connects.clone(),
        );
        registry.register(
            "amqp_connected",
            "1 while the side (rpc, events) is connected",
            self.connected.clone(),
        );
    }

    fn side(&self, side: &str, up: bool) {
        let label = vec![("side".to_string(), side.to_string())];
        if up {
            self.connects.get_or_create(&label).inc();
        }
        self.connected.get_or_create(&label).set(i64::from(up));
    }
}

/// Backoff between reconnection attempts: 100 ms doubling to 2 s, so that consumption resumes
/// within a couple of seconds of the broker's return.
#[derive(Debug)]
pub(crate) struct Backoff(Duration);

impl Backoff {
    pub(crate) fn new() -> Self {
        Self(Duration::from_millis(100))
    }
    pub(crate) fn reset(&mut self) {
        self.0 = Duration::from_millis(100);
    }
    pub(crate) fn next(&mut self) -> Duration {
        let d = self.0;
        self.0 = (self.0 * 2).min(Duration::from_secs(2));
        d
    }
}

/// Starts the AMQP side: the event publisher (tapping every ARI event as the app `config.app`
/// with subscribeAll semantics) and the RPC consumer. Returns the tasks.
pub async fn start(
    config: &AmqpConfig,
    data_dir: &std::path::Path,
    address: String,
    ari: Arc<Ari>,
    metrics: AmqpMetrics,
    stop: watch::Receiver<bool>,
) -> Vec<tokio::task::JoinHandle<()>> {
    let (tx, rx) = tokio::sync::mpsc::channel(events::TAP_CAPACITY);
    let app = config.app.clone();
    if let Err(e) = ari
        .telephony
        .with(move |core| {
            core.add_event_tap(&app, tx);
            Ok(())
        })
        .await
    {
        tracing::error!(error = %e.message, "cannot tap the ARI events");
    }
    let publisher = events::Publisher::new(config, address.clone(), metrics.clone());
    let events_task = tokio::spawn(publisher.run(rx, stop.clone()));
    let queues = config.queues(&ari.instance_id);
    let store = store::Store::new(
        data_dir.join("recordings"),
        config
            .recording_store
            .clone()
            .unwrap_or_else(|| data_dir.join("recording-store")),
    );
    let consumer = rpc::Consumer::new(config, address, queues, ari, store, metrics);
    let rpc_task = tokio::spawn(consumer.run(stop));
    vec![events_task, rpc_task]
}

/// Hides the password of an AMQP URI for logs.
pub fn redact(address: &str) -> String {
    match (address.find("://"), address.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let creds = &address[scheme + 3..at];
            let user = creds.split(':').next().unwrap_or("");
            format!("{}{user}:***{}", &address[..scheme + 3], &address[at..])
        }
        _ => address.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redaction() {
        assert_eq!(
            redact("amqp://guest:secret@10.0.0.1:5672/%2f"),
            "amqp://guest:***@10.0.0.1:5672/%2f"
        );
        assert_eq!(redact("amqp://127.0.0.1:5672"), "amqp://127.0.0.1:5672");
    }

    #[test]
    fn backoff_is_bounded() {
        let mut b = Backoff::new();
        let total: Duration = (0..6).map(|_| b.next()).sum();
        assert_eq!(
            total,
            Duration::from_millis(100 + 200 + 400 + 800 + 1600 + 2000)
        );
        assert_eq!(b.next(), Duration::from_secs(2));
        b.reset();
        assert_eq!(b.next(), Duration::from_millis(100));
    }
}
