//! The ARI server (ari-compat.md §2–5): HTTP on `/ari/...` and the events WebSocket on
//! `/ari/events`, with Asterisk's authentication, parameter merging, status codes and shapes.
//! [`Ari::handle`] is also what the AMQP consumer calls for VoIPBIN's proxied requests.

mod bridges;
mod channels;
mod docs;
mod misc;
pub mod params;
mod routes;
mod ws;

use std::{net::SocketAddr, sync::Arc};

use axum::{
    Router,
    body::Bytes,
    extract::{Request, State},
    http::{HeaderMap, HeaderValue, Method, StatusCode, header},
    response::{IntoResponse, Response},
};
use base64::Engine;
use serde_json::{Value, json};

pub use params::Params;

use crate::telephony::{AriError, Telephony};

/// What a handler answers.
#[derive(Debug)]
pub enum Reply {
    /// 200 with a JSON body.
    Json(Value),
    /// 201 with a JSON body and a `Location`.
    Created(Value, String),
    /// 204.
    NoContent,
    /// 200 with bytes of a content type.
    Bytes(Vec<u8>, String),
}

/// An ARI response, transport-neutral (for HTTP and for AMQP replies).
#[derive(Debug, Clone, PartialEq)]
pub struct AriResponse {
    /// HTTP status.
    pub status: u16,
    /// JSON body, if any.
    pub body: Option<Value>,
    /// Raw body (recording files).
    pub raw: Option<(Vec<u8>, String)>,
    /// Extra headers (`Location`, `Allow`, `WWW-Authenticate`).
    pub headers: Vec<(String, String)>,
}

impl AriResponse {
    fn error(e: &AriError) -> Self {
        Self {
            status: e.status,
            body: Some(json!({ "message": e.message })),
            raw: None,
            headers: Vec::new(),
        }
    }
}

/// One ARI request, transport-neutral.
#[derive(Debug, Clone, Copy)]
pub struct AriRequest<'a> {
    /// Method.
    pub method: &'a Method,
    /// What follows `/ari` (e.g. `/channels/x/answer`).
    pub path: &'a str,
    /// Query string.
    pub query: Option<&'a str>,
    /// Content-Type of the body.
    pub content_type: Option<&'a str>,
    /// Body.
    pub body: &'a [u8],
    /// Host header (for the api-docs `basePath`).
    pub host: Option<&'a str>,
    /// Who asks.
    pub access: Access,
}

/// Shared state of the ARI server.
#[derive(Debug)]
pub struct Ari {
    pub(crate) telephony: Telephony,
    users: Vec<(String, String, bool)>,
    realm: String,
    allowed_origins: Vec<String>,
    pub(crate) instance_id: String,
    pub(crate) started: std::time::SystemTime,
}

/// Who sent a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Anyone authenticated (AMQP requests are trusted).
    Full,
    /// GET and OPTIONS only.
    ReadOnly,
}

impl Ari {
    /// The server state.
    pub fn new(
        telephony: Telephony,
        users: Vec<(String, String, bool)>,
        realm: String,
        allowed_origins: Vec<String>,
        instance_id: String,
    ) -> Arc<Self> {
        Arc::new(Self {
            telephony,
            users,
            realm,
            allowed_origins,
            instance_id,
            started: std::time::SystemTime::now(),
        })
    }

    /// Checks Basic auth, then `api_key`.
    fn authenticate(&self, headers: &HeaderMap, query: Option<&str>) -> Result<Access, AriError> {
        let basic = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| {
                v.strip_prefix("Basic ")
                    .or_else(|| v.strip_prefix("basic "))
            })
            .and_then(|b| {
                base64::engine::general_purpose::STANDARD
                    .decode(b.trim())
                    .ok()
            })
            .and_then(|b| String::from_utf8(b).ok());
        let api_key = || {
            query?
                .split('&')
                .find_map(|p| p.strip_prefix("api_key="))
                .map(params::url_decode)
        };
        let creds = basic.or_else(api_key);
        let Some((user, pass)) = creds.as_deref().and_then(|c| c.split_once(':')) else {
            return Err(AriError::new(401, "Authentication required"));
        };
        self.users
            .iter()
            .find(|(u, p, _)| u == user && p == pass)
            .map(|(_, _, ro)| if *ro { Access::ReadOnly } else { Access::Full })
            .ok_or_else(|| AriError::new(401, "Authentication required"))
    }

    /// Runs one ARI request.
    pub async fn handle(self: &Arc<Self>, req: AriRequest<'_>) -> AriResponse {
        let AriRequest {
            method,
            path,
            query,
            content_type,
            body,
            host,
            access,
        } = req;
        if path.len() > 1 && path.ends_with('/') {
            return AriResponse::error(&AriError::not_found(format!(
                "ARI URLs do not end with a slash. Try /ari{}",
                path.trim_end_matches('/')
            )));
        }
        if let Some(file) = path.strip_prefix("/api-docs/") {
            if method != Method::GET {
                return AriResponse::error(&AriError::new(405, "Invalid method"));
            }
            return match docs::serve(file, host) {
                Some(v) => AriResponse {
                    status: 200,
                    body: Some(v),
                    raw: None,
                    headers: Vec::new(),
                },
                None => AriResponse::error(&AriError::not_found("Resource not found")),
            };
        }
        if access == Access::ReadOnly && method != Method::GET && method != Method::OPTIONS {
            return AriResponse::error(&AriError::new(403, "Write access denied"));
        }
        let segments: Vec<String> = path
            .trim_start_matches('/')
            .split('/')
            .map(params::url_decode)
            .collect();
        let Some(found) = routes::find(&segments) else {
            return AriResponse::error(&AriError::not_found("Resource not found"));
        };
        let allow = found.allowed().join(", ");
        if method == Method::OPTIONS {
            return AriResponse {
                status: 204,
                body: None,
                raw: None,
                headers: vec![("Allow".into(), format!("{allow}, OPTIONS"))],
            };
        }
        let Some((op, path_params)) = found.for_method(method.as_str()) else {
            let mut r = AriResponse::error(&AriError::new(405, "Invalid method"));
            r.headers.push(("Allow".into(), allow));
            return r;
        };
        let mut params = match Params::parse(query, content_type, body) {
            Ok(p) => p,
            Err(e) => return AriResponse::error(&e),
        };
        for (k, v) in path_params {
            params = params.with(k, &v);
        }
        match routes::dispatch(self, op, params).await {
            Ok(Reply::Json(v)) => AriResponse {
                status: 200,
                body: Some(v),
                raw: None,
                headers: Vec::new(),
            },
            Ok(Reply::Created(v, location)) => AriResponse {
                status: 201,
                body: Some(v),
                raw: None,
                headers: vec![("Location".into(), location)],
            },
            Ok(Reply::NoContent) => AriResponse {
                status: 204,
                body: None,
                raw: None,
                headers: Vec::new(),
            },
            Ok(Reply::Bytes(b, ct)) => AriResponse {
                status: 200,
                body: None,
                raw: Some((b, ct)),
                headers: Vec::new(),
            },
            Err(e) => AriResponse::error(&e),
        }
    }
}

fn to_http(r: AriResponse, pretty: bool) -> Response {
    let status = StatusCode::from_u16(r.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut resp = match (r.body, r.raw) {
        (Some(v), _) => {
            let text = if pretty {
                serde_json::to_string_pretty(&v).unwrap_or_default()
            } else {
                v.to_string()
            };
            (
                status,
                [(
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("application/json"),
                )],
                text,
            )
                .into_response()
        }
        (None, Some((bytes, ct))) => (
            status,
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_str(&ct)
                    .unwrap_or(HeaderValue::from_static("application/octet-stream")),
            )],
            bytes,
        )
            .into_response(),
        (None, None) => status.into_response(),
    };
    for (k, v) in r.headers {
        if let (Ok(k), Ok(v)) = (
            header::HeaderName::from_bytes(k.as_bytes()),
            HeaderValue::from_str(&v),
        ) {
            resp.headers_mut().insert(k, v);
        }
    }
    resp
}

async fn http(State(ari): State<Arc<Ari>>, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    let path = parts.uri.path().to_string();
    let query = parts.uri.query().map(str::to_string);
    let Some(rest) = path.strip_prefix("/ari") else {
        return to_http(
            AriResponse::error(&AriError::not_found("Resource not found")),
            false,
        );
    };
    let origin = parts
        .headers
        .get(header::ORIGIN)
        .and_then(|o| o.to_str().ok())
        .map(str::to_string);
    let access = match ari.authenticate(&parts.headers, query.as_deref()) {
        Ok(a) => a,
        Err(e) => {
            let mut r = AriResponse::error(&e);
            r.headers.push((
                "WWW-Authenticate".into(),
                format!("Basic realm=\"{}\"", ari.realm),
            ));
            return to_http(r, false);
        }
    };
    let body = match axum::body::to_bytes(body, 16 << 20).await {
        Ok(b) => b,
        Err(_) => Bytes::new(),
    };
    let content_type = parts
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok());
    let host = parts
        .headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok());
    let pretty = query.as_deref().is_some_and(|q| {
        q.split('&')
            .any(|p| p == "pretty=yes" || p == "pretty=true")
    });
    let mut r = ari
        .handle(AriRequest {
            method: &parts.method,
            path: if rest.is_empty() { "/" } else { rest },
            query: query.as_deref(),
            content_type,
            body: &body,
            host,
            access,
        })
        .await;
    if let Some(o) = origin
        && ari.allowed_origins.iter().any(|a| a == "*" || *a == o)
    {
        r.headers.push(("Access-Control-Allow-Origin".into(), o));
        r.headers
            .push(("Access-Control-Allow-Credentials".into(), "true".into()));
    }
    to_http(r, pretty)
}

/// Binds the ARI listener and serves until `stop`.
pub async fn serve(
    listen: SocketAddr,
    ari: Arc<Ari>,
    stop: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<(SocketAddr, tokio::task::JoinHandle<()>)> {
    let app = Router::new()
        .route("/ari/events", axum::routing::any(ws::events))
        .fallback(http)
        .with_state(ari);
    let listener = tokio::net::TcpListener::bind(listen).await?;
    let local = listener.local_addr()?;
    let task = tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, app)
            .with_graceful_shutdown(stop)
            .await
        {
            tracing::error!(error = %e, "ARI server failed");
        }
    });
    Ok((local, task))
}
