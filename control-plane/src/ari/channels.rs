//! `/channels` handlers.

use std::{sync::Arc, time::Duration};

use media_engine::{command::MediaCommand, snoop::SnoopDirection};
use serde_json::{Value, json};

use super::{Ari, Params, Reply};
use crate::telephony::{AriError, Core, OriginateSpec, PlayOn, RecordSpec, SnoopSpec, cause};

fn channel_id(p: &Params) -> Result<String, AriError> {
    p.required("channelId")
}

pub(super) async fn list(ari: &Arc<Ari>) -> Result<Reply, AriError> {
    ari.telephony
        .with(|c| Ok(c.list_channels()))
        .await
        .map(Reply::Json)
}

pub(super) async fn get(ari: &Arc<Ari>, p: &Params) -> Result<Reply, AriError> {
    let id = channel_id(p)?;
    ari.telephony
        .with(move |c| c.channel(&id).map(|ch| ch.to_json(&c.settings.channelvars)))
        .await
        .map(Reply::Json)
}

pub(super) async fn originate(
    ari: &Arc<Ari>,
    p: &Params,
    dial_now: bool,
) -> Result<Reply, AriError> {
    let endpoint = p
        .str("endpoint")
        .filter(|e| !e.is_empty())
        .ok_or_else(|| AriError::bad_request("Endpoint parameter not provided"))?;
    let app = p.str("app").filter(|a| !a.is_empty());
    let extension = p.str("extension").filter(|e| !e.is_empty());
    if dial_now && app.is_none() && extension.is_none() {
        return Err(AriError::bad_request(
            "Application or extension must be specified",
        ));
    }
    if extension.is_some() && app.is_none() {
        return Err(AriError::not_implemented(
            "Originating to dialplan extensions is not supported; use app",
        ));
    }
    let spec = OriginateSpec {
        endpoint,
        app,
        app_args: p.str("appArgs"),
        channel_id: p.str("channelId"),
        other_channel_id: p.str("otherChannelId").filter(|o| !o.is_empty()),
        caller_id: p.str("callerId"),
        timeout: p.int("timeout", if dial_now { 30 } else { 0 })?.max(0) as u64,
        variables: p.variables(),
        originator: p.str("originator").filter(|o| !o.is_empty()),
    };
    ari.telephony
        .call(move |c, done| c.originate(spec, dial_now, done))
        .await
        .map(Reply::Json)
}

pub(super) async fn hangup(ari: &Arc<Ari>, p: &Params) -> Result<Reply, AriError> {
    let id = channel_id(p)?;
    let code = match (p.str("reason_code"), p.str("reason")) {
        (Some(code), _) if !code.is_empty() => code
            .trim()
            .parse::<u16>()
            .map_err(|_| AriError::bad_request("Invalid reason_code"))?,
        (_, Some(reason)) if !reason.is_empty() => cause::cause_of_reason(&reason)
            .ok_or_else(|| AriError::bad_request("Invalid reason for hangup provided"))?,
        _ => 16,
    };
    ari.telephony
        .with(move |c| {
            c.channel(&id)?;
            c.hangup(&id, code);
            Ok(())
        })
        .await?;
    Ok(Reply::NoContent)
}

pub(super) async fn dial(ari: &Arc<Ari>, p: &Params) -> Result<Reply, AriError> {
    let id = channel_id(p)?;
    let timeout = p.int("timeout", 0)?.max(0) as u64;
    ari.telephony
        .with(move |c| {
            let ch = c.channel(&id)?;
            match &ch.tech {
                crate::telephony::model::Tech::SipOut { request: None, .. } => {}
                crate::telephony::model::Tech::SipOut { .. } => {
                    return Err(AriError::conflict("Channel is already dialled"));
                }
                _ => return Err(AriError::conflict("Channel cannot be dialled")),
            }
            if ch.leg.is_none() {
                return Err(AriError::precondition("Channel in invalid state"));
            }
            c.dial(&id, Some(timeout));
            Ok(())
        })
        .await?;
    Ok(Reply::NoContent)
}

/// Operations that need a channel in Stasis and answer at once.
pub(super) async fn simple(
    ari: &Arc<Ari>,
    p: &Params,
    f: fn(&mut Core, &str) -> Result<(), AriError>,
) -> Result<Reply, AriError> {
    let id = channel_id(p)?;
    ari.telephony
        .with(move |c| {
            c.stasis_channel(&id)?;
            f(c, &id)
        })
        .await?;
    Ok(Reply::NoContent)
}

pub(super) async fn dtmf(ari: &Arc<Ari>, p: &Params) -> Result<Reply, AriError> {
    let id = channel_id(p)?;
    let digits = p
        .required("dtmf")
        .map_err(|_| AriError::bad_request("DTMF is required"))?;
    let ms = |name, d| -> Result<Duration, AriError> {
        Ok(Duration::from_millis(p.int(name, d)?.max(0) as u64))
    };
    let (before, between, duration) = (ms("before", 0)?, ms("between", 100)?, ms("duration", 100)?);
    ari.telephony
        .call(move |c, done| {
            if let Err(e) = c.stasis_channel(&id) {
                return done.err(e);
            }
            c.send_dtmf(&id, digits, before, between, duration, done);
        })
        .await?;
    Ok(Reply::NoContent)
}

pub(super) async fn mute(ari: &Arc<Ari>, p: &Params, on: bool) -> Result<Reply, AriError> {
    let id = channel_id(p)?;
    let direction = p.str("direction").unwrap_or_else(|| "both".into());
    ari.telephony
        .with(move |c| {
            c.stasis_channel(&id)?;
            c.mute(&id, &direction, on)
        })
        .await?;
    Ok(Reply::NoContent)
}

pub(super) async fn hold(ari: &Arc<Ari>, p: &Params, on: bool) -> Result<Reply, AriError> {
    let id = channel_id(p)?;
    ari.telephony
        .call(move |c, done| {
            if let Err(e) = c.stasis_channel(&id) {
                return done.err(e);
            }
            c.hold(&id, on, done);
        })
        .await?;
    Ok(Reply::NoContent)
}

pub(super) async fn background(
    ari: &Arc<Ari>,
    p: &Params,
    kind: Option<&'static str>,
) -> Result<Reply, AriError> {
    let id = channel_id(p)?;
    let class = p.str("mohClass").unwrap_or_default();
    ari.telephony
        .with(move |c| match kind {
            Some(k) => c.start_background(&id, k, &class),
            None => {
                c.stasis_channel(&id)?;
                c.stop_background(&id)
            }
        })
        .await?;
    Ok(Reply::NoContent)
}

pub(super) async fn play(ari: &Arc<Ari>, p: &Params) -> Result<Reply, AriError> {
    let id = channel_id(p)?;
    let media = p.media("media");
    if media.is_empty() {
        return Err(AriError::bad_request("media is required"));
    }
    let lang = p.str("lang").unwrap_or_default();
    let playback_id = p.str("playbackId");
    let skipms = p.int("skipms", 3000)?.max(0) as u64;
    let v = ari
        .telephony
        .with(move |c| c.play(PlayOn::Channel(id), media, lang, playback_id, skipms))
        .await?;
    let location = format!("/ari/playbacks/{}", v["id"].as_str().unwrap_or_default());
    Ok(Reply::Created(v, location))
}

pub(super) fn record_spec(p: &Params) -> Result<RecordSpec, AriError> {
    Ok(RecordSpec {
        name: p.required("name")?,
        format: p.required("format")?,
        max_duration: p.int("maxDurationSeconds", 0)?.max(0) as u64,
        max_silence: p.int("maxSilenceSeconds", 0)?.max(0) as u64,
        if_exists: p.str("ifExists").unwrap_or_else(|| "fail".into()),
        beep: p.bool("beep", false)?,
        terminate_on: p.str("terminateOn").unwrap_or_else(|| "none".into()),
    })
}

pub(super) async fn record(ari: &Arc<Ari>, p: &Params) -> Result<Reply, AriError> {
    let id = channel_id(p)?;
    let spec = record_spec(p)?;
    let v = ari
        .telephony
        .with(move |c| c.record(PlayOn::Channel(id), spec))
        .await?;
    let location = format!(
        "/ari/recordings/live/{}",
        v["name"].as_str().unwrap_or_default()
    );
    Ok(Reply::Created(v, location))
}

pub(super) async fn get_var(ari: &Arc<Ari>, p: &Params) -> Result<Reply, AriError> {
    let id = channel_id(p)?;
    let name = p
        .required("variable")
        .map_err(|_| AriError::bad_request("Variable name is required"))?;
    let v = ari.telephony.with(move |c| c.get_var(&id, &name)).await?;
    Ok(Reply::Json(json!({ "value": v })))
}

pub(super) async fn set_var(ari: &Arc<Ari>, p: &Params) -> Result<Reply, AriError> {
    let id = channel_id(p)?;
    let name = p
        .required("variable")
        .map_err(|_| AriError::bad_request("Variable name is required"))?;
    let value = p.str("value").unwrap_or_default();
    ari.telephony
        .with(move |c| c.set_var(&id, &name, &value))
        .await?;
    Ok(Reply::NoContent)
}

pub(super) async fn get_vars(ari: &Arc<Ari>, p: &Params) -> Result<Reply, AriError> {
    let id = channel_id(p)?;
    let names = p.list("variables");
    if names.is_empty() {
        return Err(AriError::bad_request("Variables are required"));
    }
    let v = ari
        .telephony
        .with(move |c| {
            let mut out = serde_json::Map::new();
            for n in names {
                out.insert(n.clone(), json!(c.get_var(&id, &n)?));
            }
            Ok(Value::Object(out))
        })
        .await?;
    Ok(Reply::Json(json!({ "variables": v })))
}

pub(super) async fn set_vars(ari: &Arc<Ari>, p: &Params) -> Result<Reply, AriError> {
    let id = channel_id(p)?;
    let vars = p.variables();
    if vars.is_empty() {
        return Err(AriError::bad_request("Variables are required"));
    }
    ari.telephony
        .with(move |c| {
            for (k, v) in vars {
                c.set_var(&id, &k, &v)?;
            }
            Ok(())
        })
        .await?;
    Ok(Reply::NoContent)
}

pub(super) async fn snoop(ari: &Arc<Ari>, p: &Params) -> Result<Reply, AriError> {
    let target = channel_id(p)?;
    let app = p
        .str("app")
        .filter(|a| !a.is_empty())
        .ok_or_else(|| AriError::bad_request("Application name is required"))?;
    let direction = |name: &str| {
        let v = p.str(name).filter(|v| !v.is_empty());
        match v {
            None => Ok(SnoopDirection::None),
            Some(v) => SnoopDirection::parse(&v).ok_or_else(|| {
                AriError::bad_request(format!("Invalid direction specified for {name}"))
            }),
        }
    };
    let spec = SnoopSpec {
        target,
        app,
        app_args: p.str("appArgs"),
        spy: direction("spy")?,
        whisper: direction("whisper")?,
        snoop_id: p.str("snoopId"),
    };
    if spec.spy == SnoopDirection::None && spec.whisper == SnoopDirection::None {
        return Err(AriError::bad_request(
            "Direction must be specified for at least spy or whisper",
        ));
    }
    ari.telephony
        .call(move |c, done| c.snoop(spec, done))
        .await
        .map(Reply::Json)
}

pub(super) async fn external_media(ari: &Arc<Ari>, p: &Params) -> Result<Reply, AriError> {
    let _ = (ari, p);
    Err(AriError::not_implemented(
        "The encapsulation and/or transport is not supported",
    ))
}

pub(super) async fn rtp_stats(ari: &Arc<Ari>, p: &Params) -> Result<Reply, AriError> {
    let id = channel_id(p)?;
    ari.telephony
        .call(move |c, done| {
            let leg = match c.channel(&id) {
                Ok(ch) => match ch.leg {
                    Some(l) => l,
                    None => return done.err(AriError::not_found("Channel has no RTP")),
                },
                Err(e) => return done.err(e),
            };
            c.media(
                |reply| MediaCommand::Stats { leg, reply },
                move |_, r| match r {
                    Ok(s) => {
                        let mut v = serde_json::to_value(s).unwrap_or_default();
                        v["channel_uniqueid"] = json!(id);
                        done.ok(v);
                    }
                    Err(e) => done.err(e.into()),
                },
            );
        })
        .await
        .map(Reply::Json)
}

pub(super) async fn continue_in_dialplan(ari: &Arc<Ari>, p: &Params) -> Result<Reply, AriError> {
    let id = channel_id(p)?;
    let context = p.str("context").unwrap_or_default();
    let extension = p.str("extension").unwrap_or_default();
    ari.telephony
        .with(move |c| c.continue_in_dialplan(&id, &context, &extension))
        .await?;
    Ok(Reply::NoContent)
}

pub(super) async fn move_app(ari: &Arc<Ari>, p: &Params) -> Result<Reply, AriError> {
    let id = channel_id(p)?;
    let app = p.required("app")?;
    let args: Vec<String> = p
        .str("appArgs")
        .filter(|a| !a.is_empty())
        .map(|a| a.split(',').map(str::to_string).collect())
        .unwrap_or_default();
    ari.telephony
        .with(move |c| {
            c.stasis_channel(&id)?;
            c.channel_event("StasisEnd", &id, json!({}));
            if let Some(ch) = c.channels.get_mut(&id) {
                ch.stasis = None;
            }
            c.enter_stasis(&id, &app, args);
            Ok(())
        })
        .await?;
    Ok(Reply::NoContent)
}
