//! `/bridges` handlers.

use std::sync::Arc;

use media_engine::command::BridgeKind;
use serde_json::{Value, json};

use super::{Ari, Params, Reply, channels::record_spec};
use crate::telephony::{AriError, PlayOn};

fn bridge_id(p: &Params) -> Result<String, AriError> {
    p.required("bridgeId")
}

pub(super) async fn list(ari: &Arc<Ari>) -> Result<Reply, AriError> {
    ari.telephony
        .with(|c| Ok(c.list_bridges()))
        .await
        .map(Reply::Json)
}

pub(super) async fn create(ari: &Arc<Ari>, p: &Params) -> Result<Reply, AriError> {
    let flags: Vec<String> = p.list("type");
    for f in &flags {
        if !matches!(
            f.as_str(),
            "mixing"
                | "holding"
                | "dtmf_events"
                | "proxy_media"
                | "video_sfu"
                | "video_single"
                | "sdp_label"
        ) {
            return Err(AriError::bad_request(format!("Invalid bridge type {f}")));
        }
    }
    let kind = if flags.iter().any(|f| f == "holding") {
        BridgeKind::Holding
    } else {
        BridgeKind::Mixing
    };
    let id = p.str("bridgeId");
    let name = p.str("name").unwrap_or_default();
    ari.telephony
        .with(move |c| c.create_bridge(id, kind, flags, name, "Stasis"))
        .await
        .map(Reply::Json)
}

pub(super) async fn get(ari: &Arc<Ari>, p: &Params) -> Result<Reply, AriError> {
    let id = bridge_id(p)?;
    ari.telephony
        .with(move |c| c.bridge(&id).map(|b| b.to_json()))
        .await
        .map(Reply::Json)
}

pub(super) async fn destroy(ari: &Arc<Ari>, p: &Params) -> Result<Reply, AriError> {
    let id = bridge_id(p)?;
    ari.telephony.with(move |c| c.destroy_bridge(&id)).await?;
    Ok(Reply::NoContent)
}

pub(super) async fn add(ari: &Arc<Ari>, p: &Params) -> Result<Reply, AriError> {
    let id = bridge_id(p)?;
    let channels = p.list("channel");
    if channels.is_empty() {
        return Err(AriError::bad_request("Missing parameter channel"));
    }
    let mute = p.bool("mute", false)?;
    ari.telephony
        .with(move |c| {
            c.bridge(&id)?;
            // Validate every channel first: 400 missing, 422 not in Stasis, 409 recording.
            for ch in &channels {
                let Some(x) = c.channels.get(ch) else {
                    return Err(AriError::bad_request("Channel not found"));
                };
                if x.stasis.is_none() {
                    return Err(AriError::unprocessable("Channel not in Stasis application"));
                }
            }
            for ch in &channels {
                c.join_bridge(ch, &id)?;
                if mute {
                    c.mute(ch, "in", true)?;
                }
            }
            Ok(())
        })
        .await?;
    Ok(Reply::NoContent)
}

pub(super) async fn remove(ari: &Arc<Ari>, p: &Params) -> Result<Reply, AriError> {
    let id = bridge_id(p)?;
    let channels = p.list("channel");
    if channels.is_empty() {
        return Err(AriError::bad_request("Missing parameter channel"));
    }
    ari.telephony
        .with(move |c| {
            c.bridge(&id)?;
            for ch in &channels {
                let Some(x) = c.channels.get(ch) else {
                    return Err(AriError::bad_request("Channel not found"));
                };
                if x.stasis.is_none() {
                    return Err(AriError::unprocessable("Channel not in Stasis application"));
                }
            }
            for ch in &channels {
                c.remove_from_bridge(ch, &id)?;
            }
            Ok(())
        })
        .await?;
    Ok(Reply::NoContent)
}

pub(super) async fn play(ari: &Arc<Ari>, p: &Params) -> Result<Reply, AriError> {
    let id = bridge_id(p)?;
    let media = p.media("media");
    if media.is_empty() {
        return Err(AriError::bad_request("media is required"));
    }
    let lang = p.str("lang").unwrap_or_default();
    let playback_id = p.str("playbackId");
    let skipms = p.int("skipms", 3000)?.max(0) as u64;
    let v = ari
        .telephony
        .with(move |c| c.play(PlayOn::Bridge(id), media, lang, playback_id, skipms))
        .await?;
    let location = format!("/ari/playbacks/{}", v["id"].as_str().unwrap_or_default());
    Ok(Reply::Created(v, location))
}

pub(super) async fn record(ari: &Arc<Ari>, p: &Params) -> Result<Reply, AriError> {
    let id = bridge_id(p)?;
    let spec = record_spec(p)?;
    let v = ari
        .telephony
        .with(move |c| c.record(PlayOn::Bridge(id), spec))
        .await?;
    let location = format!(
        "/ari/recordings/live/{}",
        v["name"].as_str().unwrap_or_default()
    );
    Ok(Reply::Created(v, location))
}

pub(super) async fn moh(ari: &Arc<Ari>, p: &Params, on: bool) -> Result<Reply, AriError> {
    let id = bridge_id(p)?;
    let class = p.str("mohClass").unwrap_or_default();
    ari.telephony
        .with(move |c| c.bridge_moh(&id, on, &class))
        .await?;
    Ok(Reply::NoContent)
}

pub(super) async fn get_var(ari: &Arc<Ari>, p: &Params) -> Result<Reply, AriError> {
    let id = bridge_id(p)?;
    let name = p.required("variable")?;
    let v = ari
        .telephony
        .with(move |c| {
            c.bridge(&id)?
                .vars
                .get(&name)
                .cloned()
                .ok_or_else(|| AriError::not_found("Provided variable was not found"))
        })
        .await?;
    Ok(Reply::Json(json!({ "value": v })))
}

pub(super) async fn set_var(ari: &Arc<Ari>, p: &Params) -> Result<Reply, AriError> {
    let id = bridge_id(p)?;
    let name = p.required("variable")?;
    let value = p.str("value").unwrap_or_default();
    ari.telephony
        .with(move |c| {
            c.bridge(&id)?;
            c.bridges
                .get_mut(&id)
                .expect("checked")
                .vars
                .insert(name, value);
            Ok(())
        })
        .await?;
    Ok(Reply::NoContent)
}

pub(super) async fn get_vars(ari: &Arc<Ari>, p: &Params) -> Result<Reply, AriError> {
    let id = bridge_id(p)?;
    let names = p.list("variables");
    let v = ari
        .telephony
        .with(move |c| {
            let b = c.bridge(&id)?;
            let mut out = serde_json::Map::new();
            for n in names {
                let v = b
                    .vars
                    .get(&n)
                    .ok_or_else(|| AriError::not_found("Provided variable was not found"))?;
                out.insert(n, json!(v));
            }
            Ok(Value::Object(out))
        })
        .await?;
    Ok(Reply::Json(json!({ "variables": v })))
}

pub(super) async fn set_vars(ari: &Arc<Ari>, p: &Params) -> Result<Reply, AriError> {
    let id = bridge_id(p)?;
    let vars = p.variables();
    if vars.is_empty() {
        return Err(AriError::bad_request("Variables are required"));
    }
    ari.telephony
        .with(move |c| {
            c.bridge(&id)?;
            c.bridges.get_mut(&id).expect("checked").vars.extend(vars);
            Ok(())
        })
        .await?;
    Ok(Reply::NoContent)
}
