//! A running mediaplane instance: start every component, wait for a stop signal, stop them.

use std::{net::SocketAddr, sync::Arc};

use tokio::sync::watch;

use crate::{config::Config, instance, metrics, ops};

/// A started instance.
#[derive(Debug)]
pub struct App {
    /// The resolved instance id.
    pub instance_id: String,
    /// Where `/metrics`, `/health` and `/ready` are served.
    pub ops_addr: SocketAddr,
    /// Readiness of the components.
    pub readiness: ops::Readiness,
    /// Where ARI is served.
    pub ari_addr: SocketAddr,
    /// SIP listeners as bound.
    pub sip: Vec<sip_core::endpoint::Listener>,
    /// The call core.
    pub telephony: crate::telephony::Telephony,
    /// The ARI server state (also used by the AMQP consumer).
    pub ari: Arc<crate::ari::Ari>,
    stop: watch::Sender<bool>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

/// Why the instance could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// A listener could not bind.
    #[error("cannot listen on {addr} ({what}): {source}")]
    Bind {
        /// Which listener.
        what: &'static str,
        /// The address.
        addr: SocketAddr,
        /// The OS error.
        source: std::io::Error,
    },
    /// The call core (SIP sockets, media workers).
    #[error(transparent)]
    Core(#[from] crate::telephony::StartError),
}

impl App {
    /// Starts every component described by `config`.
    pub async fn start(config: &Config) -> Result<Self, StartError> {
        let instance_id = instance::resolve(&config.instance);
        let mut registry = metrics::registry(&instance_id);
        let readiness = ops::Readiness::default();
        let (stop, stop_rx) = watch::channel(false);

        let settings = crate::telephony::Settings::new(config, &instance_id);
        let core = crate::telephony::start(config, settings, stop_rx.clone()).await?;
        metrics::register_core(
            &mut registry,
            Arc::clone(&core.media),
            Arc::clone(&core.gauges),
        );
        let amqp_metrics = crate::amqp::AmqpMetrics::default();
        if config.amqp.address.is_some() {
            amqp_metrics.register(&mut registry);
        }
        let registry = Arc::new(registry);

        let (ops_server, ops_task) = ops::start(
            config.metrics.listen,
            &config.metrics.endpoint,
            registry,
            readiness.clone(),
            stopped(stop_rx.clone()),
        )
        .await
        .map_err(|source| StartError::Bind {
            what: "metrics",
            addr: config.metrics.listen,
            source,
        })?;
        tracing::info!(addr = %ops_server.local_addr, "metrics and health listening");

        for l in &core.listeners {
            tracing::info!(transport = ?l.transport, addr = %l.local, "SIP listening");
        }
        let ari = crate::ari::Ari::new(
            core.telephony.clone(),
            config
                .ari
                .users
                .iter()
                .map(|u| (u.name.clone(), u.password.clone(), u.read_only))
                .collect(),
            config.ari.realm.clone(),
            config.ari.allowed_origins.clone(),
            instance_id.clone(),
        );
        let (ari_addr, ari_task) =
            crate::ari::serve(config.ari.listen, ari.clone(), stopped(stop_rx.clone()))
                .await
                .map_err(|source| StartError::Bind {
                    what: "ari",
                    addr: config.ari.listen,
                    source,
                })?;
        tracing::info!(addr = %ari_addr, "ARI listening");
        readiness.register("sip").set(true);
        readiness.register("ari").set(true);
        let mut tasks = vec![ops_task, ari_task, core.task];
        if let Some(address) = config.amqp.address.clone() {
            tracing::info!(address = %crate::amqp::redact(&address), app = %config.amqp.app, "VoIPBIN RabbitMQ RPC on");
            tasks.extend(
                crate::amqp::start(
                    &config.amqp,
                    &config.media.data_dir(),
                    address,
                    ari.clone(),
                    amqp_metrics,
                    stop_rx.clone(),
                )
                .await,
            );
        }
        if config.redis.address.is_some() {
            tasks.push(tokio::spawn(crate::amqp::redis::run(
                config.redis.clone(),
                instance_id.clone(),
                stop_rx.clone(),
            )));
        }
        tracing::info!(instance_id = %instance_id, version = env!("CARGO_PKG_VERSION"), "mediaplane started");

        Ok(Self {
            instance_id,
            ops_addr: ops_server.local_addr,
            readiness,
            ari_addr,
            sip: core.listeners,
            telephony: core.telephony,
            ari,
            stop,
            tasks,
        })
    }

    /// Stops every component and waits for them.
    pub async fn shutdown(self) {
        tracing::info!("shutting down");
        let _ = self.stop.send(true);
        for task in self.tasks {
            let _ = task.await;
        }
        tracing::info!("stopped");
    }
}

/// Resolves once `true` has been sent on the stop channel (or its sender is gone).
async fn stopped(mut rx: watch::Receiver<bool>) {
    let _ = rx.wait_for(|&s| s).await;
}

/// Resolves on SIGINT or SIGTERM.
pub async fn stop_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term = match tokio::signal::unix::signal(
            tokio::signal::unix::SignalKind::terminate(),
        ) {
            Ok(s) => s,
            Err(e) => {
                tracing::warn!(error = %e, "cannot watch SIGTERM; only SIGINT stops mediaplane");
                let _ = ctrl_c.await;
                return;
            }
        };
        tokio::select! {
            _ = ctrl_c => tracing::info!("SIGINT received"),
            _ = term.recv() => tracing::info!("SIGTERM received"),
        }
    }
    #[cfg(not(unix))]
    {
        let _ = ctrl_c.await;
    }
}
