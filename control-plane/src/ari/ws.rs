//! `GET /ari/events`: the events WebSocket (ari-compat.md §5).

use std::sync::Arc;

use axum::{
    extract::{
        Request, State, WebSocketUpgrade,
        ws::{Message, WebSocket},
    },
    http::{HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use futures_util::{SinkExt, StreamExt};
use serde_json::json;
use tokio::sync::mpsc;

use super::{Ari, Params};

/// Frames queued per connection before a slow reader is cut off.
const QUEUE: usize = 4096;
/// Frames written per flush at most.
const BATCH: usize = 256;

fn error(status: u16, message: &str) -> Response {
    (
        StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST),
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        json!({ "message": message }).to_string(),
    )
        .into_response()
}

pub(super) async fn events(State(ari): State<Arc<Ari>>, req: Request) -> Response {
    let (mut parts, _body) = req.into_parts();
    let query = parts.uri.query().map(str::to_string);
    if let Err(e) = ari.authenticate(&parts.headers, query.as_deref()) {
        let mut r = error(e.status, &e.message);
        if let Ok(v) = HeaderValue::from_str(&format!("Basic realm=\"{}\"", ari.realm)) {
            r.headers_mut().insert(header::WWW_AUTHENTICATE, v);
        }
        return r;
    }
    let params = match Params::parse(query.as_deref(), None, b"") {
        Ok(p) => p,
        Err(e) => return error(e.status, &e.message),
    };
    let apps = params.list("app");
    if apps.is_empty() {
        return error(400, "HTTP request is missing param: [app]");
    }
    if apps.iter().any(|a| a.len() > 73) {
        return error(400, "Stasis app name too long");
    }
    let subscribe_all = params.bool("subscribeAll", false).unwrap_or(false);
    let offered: Vec<String> = parts
        .headers
        .get(header::SEC_WEBSOCKET_PROTOCOL)
        .and_then(|v| v.to_str().ok())
        .map(|v| v.split(',').map(|p| p.trim().to_string()).collect())
        .unwrap_or_default();
    if !offered.is_empty() && !offered.iter().any(|p| p == "ari") {
        return error(400, "Unsupported WebSocket subprotocol");
    }
    let Some(upgrade) = WebSocketUpgrade::from_request_parts_owned(&mut parts).await else {
        return error(426, "Upgrade required");
    };
    let upgrade = if offered.is_empty() {
        upgrade
    } else {
        upgrade.protocols(["ari"])
    };
    upgrade.on_upgrade(move |socket| run(socket, ari, apps, subscribe_all))
}

async fn run(socket: WebSocket, ari: Arc<Ari>, apps: Vec<String>, subscribe_all: bool) {
    let (tx, mut rx) = mpsc::channel::<String>(QUEUE);
    let names = apps.clone();
    let Ok(conn) = ari
        .telephony
        .with(move |c| Ok(c.register_ws(&names, subscribe_all, tx)))
        .await
    else {
        return;
    };
    tracing::info!(?apps, conn, "ARI events WebSocket connected");
    let (mut sink, mut stream) = socket.split();
    loop {
        tokio::select! {
            frame = rx.recv() => match frame {
                Some(text) => {
                    // Everything queued goes out in one write; a reader that takes too long
                    // to accept it is cut off.
                    let sent = tokio::time::timeout(std::time::Duration::from_secs(1), async {
                        sink.feed(Message::Text(text.into())).await?;
                        for _ in 0..BATCH {
                            let Ok(more) = rx.try_recv() else { break };
                            sink.feed(Message::Text(more.into())).await?;
                        }
                        sink.flush().await
                    })
                    .await;
                    if !matches!(sent, Ok(Ok(()))) {
                        break;
                    }
                }
                // The core dropped us (queue full: too slow) or shut down.
                None => break,
            },
            msg = stream.next() => match msg {
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => break,
                Some(Ok(_)) => {}
            },
        }
    }
    // A reader that stopped reading would block the closing handshake too.
    let _ = tokio::time::timeout(std::time::Duration::from_secs(1), sink.close()).await;
    let _ = ari
        .telephony
        .with(move |c| {
            c.unregister_ws(conn);
            Ok(())
        })
        .await;
    tracing::info!(?apps, conn, "ARI events WebSocket closed");
}

trait FromPartsOwned: Sized {
    async fn from_request_parts_owned(parts: &mut axum::http::request::Parts) -> Option<Self>;
}

impl FromPartsOwned for WebSocketUpgrade {
    async fn from_request_parts_owned(parts: &mut axum::http::request::Parts) -> Option<Self> {
        use axum::extract::FromRequestParts;
        Self::from_request_parts(parts, &()).await.ok()
    }
}
