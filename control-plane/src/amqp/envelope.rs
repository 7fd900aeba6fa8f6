//! VoIPBIN's JSON envelopes (voipbin-contract.md §1.3), sans-IO: a request's bytes in, a route
//! out; a status and body in, a reply's bytes out; an ARI event in, the exchange message out.
//!
//! `data` is embedded raw JSON (Go's `json.RawMessage`), not a JSON string; a string is
//! accepted too (the proxy README shows that form) and stands for its contents.

use serde::Deserialize;
use serde_json::value::RawValue;

/// A parsed request envelope.
#[derive(Debug, PartialEq, Eq)]
pub struct Request<'a> {
    /// `uri`, e.g. `/ari/channels/x/answer?y=z`.
    pub uri: &'a str,
    /// `method`: `POST`, `GET`, `PUT` or `DELETE`.
    pub method: &'a str,
    /// `publisher` (informational).
    pub publisher: String,
    /// `data_type`: `""`, `text/plain` or `application/json`.
    pub data_type: String,
    /// The body: `data`'s raw JSON, or a string's contents.
    pub body: Vec<u8>,
}

/// Where a request goes (voipbin-contract.md §1.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route<'a> {
    /// `/ari/...`: the path after `/ari` and the query string.
    Ari {
        /// e.g. `/channels/x/variable`.
        path: &'a str,
        /// Everything after `?`, unencoded as VoIPBIN sends it.
        query: Option<&'a str>,
    },
    /// `/ami` or `/ami/...` (the proxy matches only `^/ami/`, which breaks its one caller,
    /// `AstAMIRedirect`, sending `/ami`; both are served here).
    Ami,
    /// `POST /proxy/recording_file_move`.
    RecordingFileMove,
    /// Nothing matches: a bare 404.
    Unknown,
}

/// Why an envelope was refused (answered with 400).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EnvelopeError {
    /// Not a JSON object of the expected shape.
    #[error("the request is not a VoIPBIN envelope: {0}")]
    Shape(String),
    /// `method` is not an HTTP method token.
    #[error("unknown method {0:?}")]
    Method(String),
    /// `uri` does not start with `/`.
    #[error("uri {0:?} is not a path")]
    Uri(String),
}

#[derive(Deserialize)]
struct Wire<'a> {
    #[serde(borrow)]
    uri: &'a str,
    #[serde(borrow)]
    method: &'a str,
    #[serde(default)]
    publisher: String,
    #[serde(default)]
    data_type: String,
    #[serde(default, borrow)]
    data: Option<&'a RawValue>,
}

/// Parses a request envelope. Never panics, whatever the bytes.
pub fn parse_request(bytes: &[u8]) -> Result<Request<'_>, EnvelopeError> {
    let wire: Wire<'_> =
        serde_json::from_slice(bytes).map_err(|e| EnvelopeError::Shape(e.to_string()))?;
    let valid_method = !wire.method.is_empty()
        && wire.method.len() <= 16
        && wire.method.bytes().all(|b| b.is_ascii_uppercase());
    if !valid_method {
        return Err(EnvelopeError::Method(wire.method.to_string()));
    }
    if !wire.uri.starts_with('/') {
        return Err(EnvelopeError::Uri(wire.uri.to_string()));
    }
    let body = match wire.data.map(RawValue::get) {
        None | Some("null") => Vec::new(),
        Some(raw) if raw.starts_with('"') => serde_json::from_str::<String>(raw)
            .map_err(|e| EnvelopeError::Shape(e.to_string()))?
            .into_bytes(),
        Some(raw) => raw.as_bytes().to_vec(),
    };
    Ok(Request {
        uri: wire.uri,
        method: wire.method,
        publisher: wire.publisher,
        data_type: wire.data_type,
        body,
    })
}

impl<'a> Request<'a> {
    /// The route this request takes.
    pub fn route(&self) -> Route<'a> {
        let uri = self.uri;
        if let Some(rest) = uri.strip_prefix("/ari/") {
            let rest = &uri[uri.len() - rest.len() - 1..];
            let (path, query) = match rest.split_once('?') {
                Some((p, q)) => (p, Some(q)),
                None => (rest, None),
            };
            return Route::Ari { path, query };
        }
        let path = uri.split('?').next().unwrap_or(uri);
        if path == "/ami" || path.starts_with("/ami/") {
            return Route::Ami;
        }
        if path == "/proxy/recording_file_move" && self.method == "POST" {
            return Route::RecordingFileMove;
        }
        Route::Unknown
    }
}

/// A reply envelope as Go's `sock.Response` marshals it: `data_type` always present,
/// `data` omitted when there is none. `data` must be valid JSON text.
pub fn reply(status: u16, data_type: &str, data: Option<&str>) -> Vec<u8> {
    let mut out = Vec::with_capacity(48 + data.map_or(0, str::len));
    out.extend_from_slice(b"{\"status_code\":");
    out.extend_from_slice(status.to_string().as_bytes());
    out.extend_from_slice(b",\"data_type\":");
    out.extend_from_slice(json_string(data_type).as_bytes());
    if let Some(d) = data.filter(|d| !d.is_empty()) {
        out.extend_from_slice(b",\"data\":");
        out.extend_from_slice(d.as_bytes());
    }
    out.push(b'}');
    out
}

/// A bare status reply (`simpleResponse` in the proxy): `{"status_code":404,"data_type":""}`.
pub fn simple_reply(status: u16) -> Vec<u8> {
    reply(status, "", None)
}

/// An error reply that says what is wrong: `{"message": ...}` as ARI errors are shaped.
pub fn error_reply(status: u16, message: &str) -> Vec<u8> {
    let body = serde_json::json!({ "message": message }).to_string();
    reply(status, "application/json", Some(&body))
}

/// The exchange message for one ARI event (`event` is the event's JSON text).
pub fn event_message(event: &str) -> Vec<u8> {
    const HEAD: &[u8] =
        br#"{"type":"ari_event","publisher":"asterisk-proxy","data_type":"application/json","data":"#;
    let mut out = Vec::with_capacity(HEAD.len() + event.len() + 1);
    out.extend_from_slice(HEAD);
    out.extend_from_slice(event.as_bytes());
    out.push(b'}');
    out
}

fn json_string(s: &str) -> String {
    serde_json::Value::String(s.to_string()).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn create_request_from_the_contract() {
        let bytes = br#"{"uri":"/ari/channels/create","method":"POST","publisher":"call-manager",
 "data_type":"application/json",
 "data":{"endpoint":"pjsip/call-out/sip:+3112345@carrier.example;transport=udp","app":"voipbin",
         "channelId":"c1","variables":{"CALLERID(num)":"+3198765"}},
 "request_id":"r"}"#;
        let r = parse_request(bytes).expect("valid");
        assert_eq!(r.method, "POST");
        assert_eq!(r.data_type, "application/json");
        assert_eq!(r.publisher, "call-manager");
        let body: serde_json::Value = serde_json::from_slice(&r.body).expect("json body");
        assert_eq!(body["channelId"], "c1");
        assert_eq!(
            r.route(),
            Route::Ari {
                path: "/channels/create",
                query: None
            }
        );
    }

    #[test]
    fn unencoded_query_and_no_data() {
        let r = parse_request(
            br#"{"uri":"/ari/channels/x/variable?variable=CHANNEL(pjsip,call-id)","method":"GET","publisher":"call-manager","data_type":""}"#,
        )
        .expect("valid");
        assert!(r.body.is_empty());
        assert_eq!(
            r.route(),
            Route::Ari {
                path: "/channels/x/variable",
                query: Some("variable=CHANNEL(pjsip,call-id)")
            }
        );
    }

    #[test]
    fn routes() {
        let route = |uri: &str, method: &str| {
            let text = serde_json::json!({"uri": uri, "method": method}).to_string();
            let r = parse_request(text.as_bytes()).expect("valid");
            format!("{:?}", r.route())
        };
        assert_eq!(route("/ami", "POST"), "Ami");
        assert_eq!(route("/ami/", "POST"), "Ami");
        assert_eq!(route("/amix", "POST"), "Unknown");
        assert_eq!(
            route("/proxy/recording_file_move", "POST"),
            "RecordingFileMove"
        );
        assert_eq!(route("/proxy/recording_file_move", "GET"), "Unknown");
        assert_eq!(route("/v1/calls", "GET"), "Unknown");
        assert_eq!(route("/ari", "GET"), "Unknown");
    }

    #[test]
    fn data_as_a_string_stands_for_its_contents() {
        let r = parse_request(br#"{"uri":"/ari/x","method":"POST","data":"{\"a\":1}"}"#)
            .expect("valid");
        assert_eq!(r.body, br#"{"a":1}"#);
    }

    #[test]
    fn poison() {
        for bad in [
            &b"not json"[..],
            b"[]",
            b"{}",
            br#"{"uri":5,"method":"GET"}"#,
            br#"{"uri":"/ari/x","method":"get"}"#,
            br#"{"uri":"ari/x","method":"GET"}"#,
            br#"{"uri":"/ari/x","method":"GET","data":{"#,
            b"\xff\xfe",
        ] {
            assert!(
                parse_request(bad).is_err(),
                "{:?}",
                String::from_utf8_lossy(bad)
            );
        }
    }

    #[test]
    fn replies_as_go_marshals_them() {
        assert_eq!(simple_reply(404), br#"{"status_code":404,"data_type":""}"#);
        assert_eq!(
            reply(200, "application/json", Some(r#"{"value":"x"}"#)),
            br#"{"status_code":200,"data_type":"application/json","data":{"value":"x"}}"#
        );
        assert_eq!(
            reply(204, "application/json", None),
            br#"{"status_code":204,"data_type":"application/json"}"#
        );
        let e: serde_json::Value =
            serde_json::from_slice(&error_reply(400, "bad \"x\"")).expect("json");
        assert_eq!(e["data"]["message"], "bad \"x\"");
    }

    #[test]
    fn event_wrapping() {
        let m = event_message(r#"{"type":"Ping"}"#);
        let v: serde_json::Value = serde_json::from_slice(&m).expect("json");
        assert_eq!(v["type"], "ari_event");
        assert_eq!(v["publisher"], "asterisk-proxy");
        assert_eq!(v["data_type"], "application/json");
        assert_eq!(v["data"]["type"], "Ping");
    }
}
