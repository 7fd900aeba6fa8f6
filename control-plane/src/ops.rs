//! The operations server (default 127.0.0.1:2112): `/metrics` (Prometheus text format),
//! `/health` (the process answers) and `/ready` (every component is up).

use std::{
    net::SocketAddr,
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, Ordering},
    },
};

use axum::{Router, extract::State, http::StatusCode, response::IntoResponse, routing::get};
use prometheus_client::registry::Registry;
use tokio::net::TcpListener;

/// Readiness of the components that make up a running instance.
///
/// Components register once at start-up and flip their flag as they come up or go down. A
/// `std` mutex guards the list: it is touched only at registration and on `/ready` scrapes.
#[derive(Debug, Default, Clone)]
pub struct Readiness {
    components: Arc<Mutex<Vec<Component>>>,
}

/// A registered component: its name and its flag.
type Component = (&'static str, Arc<AtomicBool>);

/// One component's readiness flag.
#[derive(Debug, Clone)]
pub struct ReadyFlag(Arc<AtomicBool>);

impl ReadyFlag {
    /// Marks the component ready or not.
    pub fn set(&self, ready: bool) {
        self.0.store(ready, Ordering::Release);
    }
}

impl Readiness {
    /// Registers a component, initially not ready.
    pub fn register(&self, name: &'static str) -> ReadyFlag {
        let flag = Arc::new(AtomicBool::new(false));
        self.components
            .lock()
            .expect("readiness lock poisoned")
            .push((name, flag.clone()));
        ReadyFlag(flag)
    }

    /// The components that are not ready.
    pub fn not_ready(&self) -> Vec<&'static str> {
        let list = self.components.lock().expect("readiness lock poisoned");
        list.iter()
            .filter(|(_, f)| !f.load(Ordering::Acquire))
            .map(|(n, _)| *n)
            .collect()
    }
}

#[derive(Debug, Clone)]
struct OpsState {
    registry: Arc<Registry>,
    readiness: Readiness,
}

/// The bound operations server.
#[derive(Debug)]
pub struct OpsServer {
    /// The address it listens on.
    pub local_addr: SocketAddr,
}

/// Binds the operations server and serves it until `shutdown` resolves.
pub async fn start(
    listen: SocketAddr,
    endpoint: &str,
    registry: Arc<Registry>,
    readiness: Readiness,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<(OpsServer, tokio::task::JoinHandle<()>)> {
    let listener = TcpListener::bind(listen).await?;
    let local_addr = listener.local_addr()?;
    let flag = readiness.register("ops");
    let app = Router::new()
        .route(endpoint, get(metrics))
        .route("/health", get(|| async { "ok\n" }))
        .route("/ready", get(ready))
        .with_state(OpsState {
            registry,
            readiness,
        });
    flag.set(true);
    let task = tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, app)
            .with_graceful_shutdown(shutdown)
            .await
        {
            tracing::error!(error = %e, "operations server failed");
        }
    });
    Ok((OpsServer { local_addr }, task))
}

async fn metrics(State(state): State<OpsState>) -> impl IntoResponse {
    let mut body = String::new();
    match prometheus_client::encoding::text::encode(&mut body, &state.registry) {
        Ok(()) => (
            StatusCode::OK,
            [(
                "content-type",
                "application/openmetrics-text; version=1.0.0; charset=utf-8",
            )],
            body,
        ),
        Err(_) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            [("content-type", "text/plain")],
            String::from("encoding failed\n"),
        ),
    }
}

async fn ready(State(state): State<OpsState>) -> impl IntoResponse {
    let waiting = state.readiness.not_ready();
    if waiting.is_empty() {
        (StatusCode::OK, "ready\n".to_string())
    } else {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            format!("not ready: {}\n", waiting.join(", ")),
        )
    }
}
