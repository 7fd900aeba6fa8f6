//! The AMI actions VoIPBIN sends through the proxy's `/ami` route (voipbin-contract.md §1.4,
//! §2): `data` is a JSON object of AMI fields; the reply carries AMI's response map, as
//! asterisk-proxy marshals it (keys sorted, string values).
//!
//! Served: `Redirect` (pull a channel back into Stasis through `svc-stasis`, or to any of the
//! built-in services), `Hangup`, `Ping`. Any other action gets AMI's own answer
//! `Response: Error`, `Message: Invalid/unknown command`.

use std::{collections::BTreeMap, sync::Arc};

use serde_json::Value;

use super::envelope;
use crate::ari::Ari;

/// Runs one AMI action; returns the status and the reply envelope.
pub async fn action(ari: &Arc<Ari>, app: &str, body: &[u8]) -> (u16, Vec<u8>) {
    let fields = match parse(body) {
        Ok(f) => f,
        Err(m) => return (400, envelope::error_reply(400, &m)),
    };
    // AMI field names are case-insensitive.
    let get = |name: &str| {
        fields
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    let mut out = BTreeMap::new();
    let action = get("Action").to_ascii_lowercase();
    let (ok, message) = match action.as_str() {
        "redirect" => {
            let (channel, context, exten) = (get("Channel"), get("Context"), get("Exten"));
            if channel.is_empty() || context.is_empty() {
                (false, "Channel and Context must be given".to_string())
            } else {
                let app = app.to_string();
                let r = ari
                    .telephony
                    .with(move |core| core.redirect(&channel, &context, &exten, &app))
                    .await;
                match r {
                    Ok(()) => (true, "Redirect successful".into()),
                    Err(e) if e.status == 404 => (false, "Channel specified does not exist".into()),
                    Err(e) => (false, e.message),
                }
            }
        }
        "hangup" => {
            let channel = get("Channel");
            let cause = get("Cause").parse::<u16>().unwrap_or(16);
            let r = ari
                .telephony
                .with(move |core| {
                    core.channel(&channel)?;
                    core.hangup(&channel, cause);
                    Ok(())
                })
                .await;
            match r {
                Ok(()) => (true, "Channel Hungup".into()),
                Err(_) => (false, "No such channel".into()),
            }
        }
        "ping" => {
            out.insert("Ping", "Pong".to_string());
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap_or_default();
            out.insert(
                "Timestamp",
                format!("{}.{:06}", now.as_secs(), now.subsec_micros()),
            );
            (true, String::new())
        }
        _ => (false, "Invalid/unknown command".into()),
    };
    out.insert("Response", if ok { "Success" } else { "Error" }.to_string());
    if !message.is_empty() {
        out.insert("Message", message);
    }
    let id = get("ActionID");
    if !id.is_empty() {
        out.insert("ActionID", id);
    }
    let body = serde_json::to_string(&out).unwrap_or_else(|_| "{}".into());
    (200, envelope::reply(200, "application/json", Some(&body)))
}

/// The action's fields: a JSON object whose values are strings (numbers and booleans are
/// taken as their text, as AMI fields are text).
fn parse(body: &[u8]) -> Result<Vec<(String, String)>, String> {
    let v: Value = serde_json::from_slice(body)
        .map_err(|e| format!("the AMI action is not a JSON object: {e}"))?;
    let Value::Object(map) = v else {
        return Err("the AMI action is not a JSON object".into());
    };
    map.into_iter()
        .map(|(k, v)| match v {
            Value::String(s) => Ok((k, s)),
            Value::Number(n) => Ok((k, n.to_string())),
            Value::Bool(b) => Ok((k, b.to_string())),
            other => Err(format!("AMI field {k} is not text: {other}")),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields() {
        let f = parse(br#"{"Action":"Redirect","Channel":"c","Priority":1}"#).expect("valid");
        assert!(f.contains(&("Priority".into(), "1".into())));
        assert!(parse(b"[]").is_err());
        assert!(parse(br#"{"Action":{"x":1}}"#).is_err());
        assert!(parse(b"").is_err());
    }
}
