//! `/asterisk`, `/applications`, `/playbacks`, `/recordings`, `/endpoints`, `/sounds` and
//! `/events/user` handlers.

use std::{sync::Arc, time::SystemTime};

use serde_json::{Value, json};

use super::{Ari, Params, Reply};
use crate::telephony::{AriError, time::ari_timestamp};

pub(super) async fn asterisk_info(ari: &Arc<Ari>, p: &Params) -> Result<Reply, AriError> {
    let started = ari_timestamp(ari.started);
    let mut info = json!({
        "build": {
            "os": std::env::consts::OS,
            "kernel": "",
            "options": "",
            "machine": std::env::consts::ARCH,
            "date": "",
            "user": "",
        },
        "system": {
            "version": format!("mediaplane {}", env!("CARGO_PKG_VERSION")),
            "entity_id": ari.instance_id,
        },
        "config": {
            "name": "mediaplane",
            "default_language": "en",
            "setid": {"user": "", "group": ""},
        },
        "status": {"startup_time": started, "last_reload_time": started},
    });
    let only = p.list("only");
    if !only.is_empty() {
        for k in ["build", "system", "config", "status"] {
            if !only.iter().any(|o| o == k) {
                info.as_object_mut().expect("object").remove(k);
            }
        }
    }
    Ok(Reply::Json(info))
}

pub(super) fn asterisk_ping(ari: &Arc<Ari>) -> Result<Reply, AriError> {
    Ok(Reply::Json(json!({
        "asterisk_id": ari.instance_id,
        "ping": "pong",
        "timestamp": ari_timestamp(SystemTime::now()),
    })))
}

pub(super) async fn global_get(ari: &Arc<Ari>, p: &Params) -> Result<Reply, AriError> {
    let name = p.required("variable")?;
    let v = ari
        .telephony
        .with(move |c| {
            c.globals
                .get(&name)
                .cloned()
                .ok_or_else(|| AriError::not_found("Provided variable was not found"))
        })
        .await?;
    Ok(Reply::Json(json!({ "value": v })))
}

pub(super) async fn global_set(ari: &Arc<Ari>, p: &Params) -> Result<Reply, AriError> {
    let name = p.required("variable")?;
    let value = p.str("value").unwrap_or_default();
    ari.telephony
        .with(move |c| {
            c.globals.insert(name, value);
            Ok(())
        })
        .await?;
    Ok(Reply::NoContent)
}

pub(super) async fn app_list(ari: &Arc<Ari>) -> Result<Reply, AriError> {
    ari.telephony
        .with(|c| Ok(c.applications_json(None)))
        .await
        .map(Reply::Json)
}

pub(super) async fn app_get(ari: &Arc<Ari>, p: &Params) -> Result<Reply, AriError> {
    let name = p.required("applicationName")?;
    ari.telephony
        .with(move |c| {
            c.applications_json(Some(&name))
                .as_array()
                .and_then(|a| a.first().cloned())
                .ok_or_else(|| AriError::not_found("Application not found"))
        })
        .await
        .map(Reply::Json)
}

pub(super) async fn app_subscription(
    ari: &Arc<Ari>,
    p: &Params,
    subscribe: bool,
) -> Result<Reply, AriError> {
    let name = p.required("applicationName")?;
    let sources = p.list("eventSource");
    if sources.is_empty() {
        return Err(AriError::bad_request("Missing parameter eventSource"));
    }
    ari.telephony
        .with(move |c| c.subscribe(&name, &sources, subscribe))
        .await
        .map(Reply::Json)
}

pub(super) async fn app_filter(ari: &Arc<Ari>, p: &Params) -> Result<Reply, AriError> {
    let name = p.required("applicationName")?;
    let filter = p.body.clone().unwrap_or_else(|| json!({}));
    ari.telephony
        .with(move |c| c.set_event_filter(&name, &filter))
        .await
        .map(Reply::Json)
}

pub(super) async fn playback_get(ari: &Arc<Ari>, p: &Params) -> Result<Reply, AriError> {
    let id = p.required("playbackId")?;
    ari.telephony
        .with(move |c| c.get_playback(&id))
        .await
        .map(Reply::Json)
}

pub(super) async fn playback_stop(ari: &Arc<Ari>, p: &Params) -> Result<Reply, AriError> {
    let id = p.required("playbackId")?;
    ari.telephony.with(move |c| c.stop_playback(&id)).await?;
    Ok(Reply::NoContent)
}

pub(super) async fn playback_control(ari: &Arc<Ari>, p: &Params) -> Result<Reply, AriError> {
    let id = p.required("playbackId")?;
    let op = p
        .required("operation")
        .map_err(|_| AriError::bad_request("Missing parameter operation"))?;
    ari.telephony
        .call(move |c, done| c.control_playback(&id, &op, done))
        .await?;
    Ok(Reply::NoContent)
}

pub(super) async fn stored_list(ari: &Arc<Ari>) -> Result<Reply, AriError> {
    ari.telephony
        .with(|c| Ok(c.stored_recordings()))
        .await
        .map(Reply::Json)
}

pub(super) async fn stored_get(ari: &Arc<Ari>, p: &Params) -> Result<Reply, AriError> {
    let name = p.required("recordingName")?;
    ari.telephony
        .with(move |c| {
            let (_, format) = c.stored_recording_file(&name)?;
            Ok(json!({"name": name, "format": format}))
        })
        .await
        .map(Reply::Json)
}

pub(super) async fn stored_delete(ari: &Arc<Ari>, p: &Params) -> Result<Reply, AriError> {
    let name = p.required("recordingName")?;
    ari.telephony
        .with(move |c| c.delete_recording(&name))
        .await?;
    Ok(Reply::NoContent)
}

pub(super) async fn stored_file(ari: &Arc<Ari>, p: &Params) -> Result<Reply, AriError> {
    let name = p.required("recordingName")?;
    let (path, format) = ari
        .telephony
        .with(move |c| c.stored_recording_file(&name))
        .await?;
    let bytes = tokio::task::spawn_blocking(move || std::fs::read(path))
        .await
        .ok()
        .and_then(Result::ok)
        .ok_or_else(|| AriError::new(403, "Recording file could not be opened"))?;
    let ct = match format.as_str() {
        "wav" | "wav16" => "audio/wav",
        "ulaw" => "audio/basic",
        _ => "application/octet-stream",
    };
    Ok(Reply::Bytes(bytes, ct.into()))
}

pub(super) async fn stored_copy(ari: &Arc<Ari>, p: &Params) -> Result<Reply, AriError> {
    let name = p.required("recordingName")?;
    let to = p.required("destinationRecordingName")?;
    ari.telephony
        .with(move |c| c.copy_recording(&name, &to))
        .await
        .map(Reply::Json)
}

pub(super) async fn live_get(ari: &Arc<Ari>, p: &Params) -> Result<Reply, AriError> {
    let name = p.required("recordingName")?;
    ari.telephony
        .with(move |c| c.live_recording(&name))
        .await
        .map(Reply::Json)
}

pub(super) async fn live_stop(ari: &Arc<Ari>, p: &Params, cancel: bool) -> Result<Reply, AriError> {
    let name = p.required("recordingName")?;
    ari.telephony
        .with(move |c| c.stop_recording(&name, cancel))
        .await?;
    Ok(Reply::NoContent)
}

pub(super) async fn live_control(
    ari: &Arc<Ari>,
    p: &Params,
    pause: Option<bool>,
    mute: Option<bool>,
) -> Result<Reply, AriError> {
    let name = p.required("recordingName")?;
    ari.telephony
        .call(move |c, done| c.control_recording(&name, pause, mute, done))
        .await?;
    Ok(Reply::NoContent)
}

pub(super) async fn endpoints(
    ari: &Arc<Ari>,
    tech: Option<String>,
    resource: Option<String>,
) -> Result<Reply, AriError> {
    ari.telephony
        .with(move |c| {
            let all = c.endpoints_json();
            let Some(tech) = tech else {
                return Ok(all);
            };
            let of_tech: Vec<Value> = all
                .as_array()
                .into_iter()
                .flatten()
                .filter(|e| {
                    e["technology"]
                        .as_str()
                        .is_some_and(|t| t.eq_ignore_ascii_case(&tech))
                })
                .cloned()
                .collect();
            if of_tech.is_empty() {
                return Err(AriError::not_found("Endpoints not found"));
            }
            match resource {
                None => Ok(Value::Array(of_tech)),
                Some(r) => of_tech
                    .into_iter()
                    .find(|e| e["resource"] == r)
                    .ok_or_else(|| AriError::not_found("Endpoint not found")),
            }
        })
        .await
        .map(Reply::Json)
}

pub(super) async fn sounds(ari: &Arc<Ari>, id: Option<String>) -> Result<Reply, AriError> {
    ari.telephony
        .with(move |c| {
            let all = c.sounds_json();
            match id {
                None => Ok(all),
                Some(id) => all
                    .as_array()
                    .into_iter()
                    .flatten()
                    .find(|s| s["id"] == id)
                    .cloned()
                    .ok_or_else(|| AriError::not_found("Sound not found")),
            }
        })
        .await
        .map(Reply::Json)
}

pub(super) async fn user_event(ari: &Arc<Ari>, p: &Params) -> Result<Reply, AriError> {
    let name = p.required("eventName")?;
    let app = p
        .required("application")
        .map_err(|_| AriError::bad_request("Missing parameter application"))?;
    let sources = p.list("source");
    let vars = p
        .body
        .as_ref()
        .and_then(|b| b.get("variables"))
        .cloned()
        .unwrap_or_else(|| json!({}));
    ari.telephony
        .with(move |c| c.user_event(&app, &name, &sources, vars))
        .await?;
    Ok(Reply::NoContent)
}
