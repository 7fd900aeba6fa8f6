//! The ARI route table (every path of the served declarations) and dispatch to handlers.

use std::sync::Arc;

use super::{Ari, Params, Reply, bridges as br, channels as ch, misc};
use crate::telephony::AriError;

/// Every operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(missing_docs)]
pub(super) enum Op {
    NotImplemented,
    AsteriskInfo,
    AsteriskPing,
    AsteriskGetVar,
    AsteriskSetVar,
    AppList,
    AppGet,
    AppSubscribe,
    AppUnsubscribe,
    AppFilter,
    ChList,
    ChOriginate,
    ChCreate,
    ChGet,
    ChOriginateWithId,
    ChHangup,
    ChDial,
    ChAnswer,
    ChRing,
    ChRingStop,
    ChProgress,
    ChDtmf,
    ChMute,
    ChUnmute,
    ChHold,
    ChUnhold,
    ChMoh,
    ChStopMoh,
    ChSilence,
    ChStopSilence,
    ChPlay,
    ChPlayWithId,
    ChRecord,
    ChGetVar,
    ChSetVar,
    ChGetVars,
    ChSetVars,
    ChSnoop,
    ChSnoopWithId,
    ChExternalMedia,
    ChRtpStats,
    ChContinue,
    ChMove,
    BrList,
    BrCreate,
    BrCreateWithId,
    BrGet,
    BrDestroy,
    BrAdd,
    BrRemove,
    BrPlay,
    BrPlayWithId,
    BrRecord,
    BrMoh,
    BrStopMoh,
    BrGetVar,
    BrSetVar,
    BrGetVars,
    BrSetVars,
    PbGet,
    PbStop,
    PbControl,
    RecStoredList,
    RecStoredGet,
    RecStoredDelete,
    RecStoredFile,
    RecStoredCopy,
    RecLiveGet,
    RecLiveCancel,
    RecLiveStop,
    RecLivePause,
    RecLiveUnpause,
    RecLiveMute,
    RecLiveUnmute,
    EpList,
    EpTech,
    EpResource,
    SoundList,
    SoundGet,
    DevList,
    MbList,
    UserEvent,
    Events,
}

use Op::*;

type Methods = &'static [(&'static str, Op)];

/// `{name}` matches one segment; `{name*}` matches one or more (recording names with `/`).
const ROUTES: &[(&str, Methods)] = &[
    ("asterisk/info", &[("GET", AsteriskInfo)]),
    ("asterisk/ping", &[("GET", AsteriskPing)]),
    (
        "asterisk/variable",
        &[("GET", AsteriskGetVar), ("POST", AsteriskSetVar)],
    ),
    ("asterisk/modules", &[("GET", NotImplemented)]),
    (
        "asterisk/modules/{moduleName}",
        &[
            ("GET", NotImplemented),
            ("POST", NotImplemented),
            ("DELETE", NotImplemented),
            ("PUT", NotImplemented),
        ],
    ),
    ("asterisk/logging", &[("GET", NotImplemented)]),
    (
        "asterisk/logging/{logChannelName}",
        &[("POST", NotImplemented), ("DELETE", NotImplemented)],
    ),
    (
        "asterisk/logging/{logChannelName}/rotate",
        &[("PUT", NotImplemented)],
    ),
    (
        "asterisk/config/dynamic/{configClass}/{objectType}/{id}",
        &[
            ("GET", NotImplemented),
            ("PUT", NotImplemented),
            ("DELETE", NotImplemented),
        ],
    ),
    ("applications", &[("GET", AppList)]),
    ("applications/{applicationName}", &[("GET", AppGet)]),
    (
        "applications/{applicationName}/subscription",
        &[("POST", AppSubscribe), ("DELETE", AppUnsubscribe)],
    ),
    (
        "applications/{applicationName}/eventFilter",
        &[("PUT", AppFilter)],
    ),
    ("channels", &[("GET", ChList), ("POST", ChOriginate)]),
    ("channels/create", &[("POST", ChCreate)]),
    ("channels/externalMedia", &[("POST", ChExternalMedia)]),
    (
        "channels/{channelId}",
        &[
            ("GET", ChGet),
            ("POST", ChOriginateWithId),
            ("DELETE", ChHangup),
        ],
    ),
    ("channels/{channelId}/continue", &[("POST", ChContinue)]),
    ("channels/{channelId}/move", &[("POST", ChMove)]),
    ("channels/{channelId}/redirect", &[("POST", NotImplemented)]),
    ("channels/{channelId}/answer", &[("POST", ChAnswer)]),
    (
        "channels/{channelId}/ring",
        &[("POST", ChRing), ("DELETE", ChRingStop)],
    ),
    ("channels/{channelId}/progress", &[("POST", ChProgress)]),
    ("channels/{channelId}/dtmf", &[("POST", ChDtmf)]),
    (
        "channels/{channelId}/mute",
        &[("POST", ChMute), ("DELETE", ChUnmute)],
    ),
    (
        "channels/{channelId}/hold",
        &[("POST", ChHold), ("DELETE", ChUnhold)],
    ),
    (
        "channels/{channelId}/moh",
        &[("POST", ChMoh), ("DELETE", ChStopMoh)],
    ),
    (
        "channels/{channelId}/silence",
        &[("POST", ChSilence), ("DELETE", ChStopSilence)],
    ),
    ("channels/{channelId}/play", &[("POST", ChPlay)]),
    (
        "channels/{channelId}/play/{playbackId}",
        &[("POST", ChPlayWithId)],
    ),
    ("channels/{channelId}/record", &[("POST", ChRecord)]),
    (
        "channels/{channelId}/variable",
        &[("GET", ChGetVar), ("POST", ChSetVar)],
    ),
    (
        "channels/{channelId}/variables",
        &[("GET", ChGetVars), ("POST", ChSetVars)],
    ),
    ("channels/{channelId}/snoop", &[("POST", ChSnoop)]),
    (
        "channels/{channelId}/snoop/{snoopId}",
        &[("POST", ChSnoopWithId)],
    ),
    ("channels/{channelId}/dial", &[("POST", ChDial)]),
    (
        "channels/{channelId}/rtp_statistics",
        &[("GET", ChRtpStats)],
    ),
    (
        "channels/{channelId}/transfer_progress",
        &[("POST", NotImplemented)],
    ),
    ("bridges", &[("GET", BrList), ("POST", BrCreate)]),
    (
        "bridges/{bridgeId}",
        &[
            ("POST", BrCreateWithId),
            ("GET", BrGet),
            ("DELETE", BrDestroy),
        ],
    ),
    ("bridges/{bridgeId}/addChannel", &[("POST", BrAdd)]),
    ("bridges/{bridgeId}/removeChannel", &[("POST", BrRemove)]),
    (
        "bridges/{bridgeId}/videoSource/{channelId}",
        &[("POST", NotImplemented)],
    ),
    (
        "bridges/{bridgeId}/videoSource",
        &[("DELETE", NotImplemented)],
    ),
    (
        "bridges/{bridgeId}/moh",
        &[("POST", BrMoh), ("DELETE", BrStopMoh)],
    ),
    ("bridges/{bridgeId}/play", &[("POST", BrPlay)]),
    (
        "bridges/{bridgeId}/play/{playbackId}",
        &[("POST", BrPlayWithId)],
    ),
    ("bridges/{bridgeId}/record", &[("POST", BrRecord)]),
    (
        "bridges/{bridgeId}/variable",
        &[("GET", BrGetVar), ("POST", BrSetVar)],
    ),
    (
        "bridges/{bridgeId}/variables",
        &[("GET", BrGetVars), ("POST", BrSetVars)],
    ),
    (
        "playbacks/{playbackId}",
        &[("GET", PbGet), ("DELETE", PbStop)],
    ),
    ("playbacks/{playbackId}/control", &[("POST", PbControl)]),
    ("recordings/stored", &[("GET", RecStoredList)]),
    (
        "recordings/stored/{recordingName*}/file",
        &[("GET", RecStoredFile)],
    ),
    (
        "recordings/stored/{recordingName*}/copy",
        &[("POST", RecStoredCopy)],
    ),
    (
        "recordings/stored/{recordingName*}",
        &[("GET", RecStoredGet), ("DELETE", RecStoredDelete)],
    ),
    (
        "recordings/live/{recordingName}",
        &[("GET", RecLiveGet), ("DELETE", RecLiveCancel)],
    ),
    (
        "recordings/live/{recordingName}/stop",
        &[("POST", RecLiveStop)],
    ),
    (
        "recordings/live/{recordingName}/pause",
        &[("POST", RecLivePause), ("DELETE", RecLiveUnpause)],
    ),
    (
        "recordings/live/{recordingName}/mute",
        &[("POST", RecLiveMute), ("DELETE", RecLiveUnmute)],
    ),
    ("endpoints", &[("GET", EpList)]),
    ("endpoints/sendMessage", &[("PUT", NotImplemented)]),
    ("endpoints/refer", &[("POST", NotImplemented)]),
    ("endpoints/{tech}", &[("GET", EpTech)]),
    ("endpoints/{tech}/{resource}", &[("GET", EpResource)]),
    (
        "endpoints/{tech}/{resource}/sendMessage",
        &[("PUT", NotImplemented)],
    ),
    (
        "endpoints/{tech}/{resource}/refer",
        &[("POST", NotImplemented)],
    ),
    ("sounds", &[("GET", SoundList)]),
    ("sounds/{soundId}", &[("GET", SoundGet)]),
    ("deviceStates", &[("GET", DevList)]),
    (
        "deviceStates/{deviceName}",
        &[
            ("GET", NotImplemented),
            ("PUT", NotImplemented),
            ("DELETE", NotImplemented),
        ],
    ),
    ("mailboxes", &[("GET", MbList)]),
    (
        "mailboxes/{mailboxName}",
        &[
            ("GET", NotImplemented),
            ("PUT", NotImplemented),
            ("DELETE", NotImplemented),
        ],
    ),
    ("events", &[("GET", Events)]),
    ("events/user/{eventName}", &[("POST", UserEvent)]),
    ("events/claim", &[("POST", NotImplemented)]),
];

/// A path that matched a route.
pub(super) struct Found {
    methods: Methods,
    params: Vec<(&'static str, String)>,
}

impl Found {
    /// Methods the path accepts.
    pub(super) fn allowed(&self) -> Vec<&'static str> {
        self.methods.iter().map(|m| m.0).collect()
    }

    /// The operation for `method`.
    pub(super) fn for_method(&self, method: &str) -> Option<(Op, Vec<(&'static str, String)>)> {
        self.methods
            .iter()
            .find(|m| m.0 == method)
            .map(|m| (m.1, self.params.clone()))
    }
}

fn matches(pattern: &'static str, segs: &[String]) -> Option<Vec<(&'static str, String)>> {
    let pat: Vec<&'static str> = pattern.split('/').collect();
    let mut params = Vec::new();
    if let Some(star) = pat.iter().position(|p| p.ends_with("*}")) {
        // Fixed parts before and after the greedy parameter.
        let after = pat.len() - star - 1;
        if segs.len() < pat.len() {
            return None;
        }
        for (p, s) in pat[..star].iter().zip(segs) {
            if p.starts_with('{') {
                params.push((&p[1..p.len() - 1], s.clone()));
            } else if p != s {
                return None;
            }
        }
        for (p, s) in pat[star + 1..].iter().zip(&segs[segs.len() - after..]) {
            if p != s {
                return None;
            }
        }
        let name = &pat[star][1..pat[star].len() - 2];
        let value = segs[star..segs.len() - after].join("/");
        if value.is_empty() {
            return None;
        }
        params.push((name, value));
        return Some(params);
    }
    if pat.len() != segs.len() {
        return None;
    }
    for (p, s) in pat.iter().zip(segs) {
        if p.starts_with('{') {
            if s.is_empty() {
                return None;
            }
            params.push((&p[1..p.len() - 1], s.clone()));
        } else if p != s {
            return None;
        }
    }
    Some(params)
}

/// Finds the route for a path's segments.
pub(super) fn find(segs: &[String]) -> Option<Found> {
    ROUTES.iter().find_map(|(pattern, methods)| {
        matches(pattern, segs).map(|params| Found { methods, params })
    })
}

/// Runs an operation.
pub(super) async fn dispatch(ari: &Arc<Ari>, op: Op, p: Params) -> Result<Reply, AriError> {
    match op {
        NotImplemented => Err(AriError::not_implemented("Not implemented")),
        AsteriskInfo => misc::asterisk_info(ari, &p).await,
        AsteriskPing => misc::asterisk_ping(ari),
        AsteriskGetVar => misc::global_get(ari, &p).await,
        AsteriskSetVar => misc::global_set(ari, &p).await,
        AppList => misc::app_list(ari).await,
        AppGet => misc::app_get(ari, &p).await,
        AppSubscribe => misc::app_subscription(ari, &p, true).await,
        AppUnsubscribe => misc::app_subscription(ari, &p, false).await,
        AppFilter => misc::app_filter(ari, &p).await,
        ChList => ch::list(ari).await,
        ChOriginate | ChOriginateWithId => ch::originate(ari, &p, true).await,
        ChCreate => ch::originate(ari, &p, false).await,
        ChGet => ch::get(ari, &p).await,
        ChHangup => ch::hangup(ari, &p).await,
        ChDial => ch::dial(ari, &p).await,
        ChAnswer => ch::simple(ari, &p, |c, id| c.answer(id)).await,
        ChRing => ch::simple(ari, &p, |c, id| c.ring(id)).await,
        ChRingStop => ch::simple(ari, &p, |c, id| c.channel(id).map(|_| ())).await,
        ChProgress => ch::simple(ari, &p, |c, id| c.progress(id)).await,
        ChDtmf => ch::dtmf(ari, &p).await,
        ChMute => ch::mute(ari, &p, true).await,
        ChUnmute => ch::mute(ari, &p, false).await,
        ChHold => ch::hold(ari, &p, true).await,
        ChUnhold => ch::hold(ari, &p, false).await,
        ChMoh => ch::background(ari, &p, Some("moh")).await,
        ChSilence => ch::background(ari, &p, Some("silence")).await,
        ChStopMoh | ChStopSilence => ch::background(ari, &p, None).await,
        ChPlay | ChPlayWithId => ch::play(ari, &p).await,
        ChRecord => ch::record(ari, &p).await,
        ChGetVar => ch::get_var(ari, &p).await,
        ChSetVar => ch::set_var(ari, &p).await,
        ChGetVars => ch::get_vars(ari, &p).await,
        ChSetVars => ch::set_vars(ari, &p).await,
        ChSnoop | ChSnoopWithId => ch::snoop(ari, &p).await,
        ChExternalMedia => ch::external_media(ari, &p).await,
        ChRtpStats => ch::rtp_stats(ari, &p).await,
        ChContinue => ch::continue_in_dialplan(ari, &p).await,
        ChMove => ch::move_app(ari, &p).await,
        BrList => br::list(ari).await,
        BrCreate | BrCreateWithId => br::create(ari, &p).await,
        BrGet => br::get(ari, &p).await,
        BrDestroy => br::destroy(ari, &p).await,
        BrAdd => br::add(ari, &p).await,
        BrRemove => br::remove(ari, &p).await,
        BrPlay | BrPlayWithId => br::play(ari, &p).await,
        BrRecord => br::record(ari, &p).await,
        BrMoh => br::moh(ari, &p, true).await,
        BrStopMoh => br::moh(ari, &p, false).await,
        BrGetVar => br::get_var(ari, &p).await,
        BrSetVar => br::set_var(ari, &p).await,
        BrGetVars => br::get_vars(ari, &p).await,
        BrSetVars => br::set_vars(ari, &p).await,
        PbGet => misc::playback_get(ari, &p).await,
        PbStop => misc::playback_stop(ari, &p).await,
        PbControl => misc::playback_control(ari, &p).await,
        RecStoredList => misc::stored_list(ari).await,
        RecStoredGet => misc::stored_get(ari, &p).await,
        RecStoredDelete => misc::stored_delete(ari, &p).await,
        RecStoredFile => misc::stored_file(ari, &p).await,
        RecStoredCopy => misc::stored_copy(ari, &p).await,
        RecLiveGet => misc::live_get(ari, &p).await,
        RecLiveCancel => misc::live_stop(ari, &p, true).await,
        RecLiveStop => misc::live_stop(ari, &p, false).await,
        RecLivePause => misc::live_control(ari, &p, Some(true), None).await,
        RecLiveUnpause => misc::live_control(ari, &p, Some(false), None).await,
        RecLiveMute => misc::live_control(ari, &p, None, Some(true)).await,
        RecLiveUnmute => misc::live_control(ari, &p, None, Some(false)).await,
        EpList => misc::endpoints(ari, None, None).await,
        EpTech => misc::endpoints(ari, p.str("tech"), None).await,
        EpResource => misc::endpoints(ari, p.str("tech"), p.str("resource")).await,
        SoundList => misc::sounds(ari, None).await,
        SoundGet => misc::sounds(ari, p.str("soundId")).await,
        DevList | MbList => Ok(Reply::Json(serde_json::json!([]))),
        UserEvent => misc::user_event(ari, &p).await,
        Events => Err(AriError::bad_request("This is a WebSocket endpoint")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn segs(p: &str) -> Vec<String> {
        p.split('/').map(str::to_string).collect()
    }

    #[test]
    fn routes_match_like_res_ari() {
        let f = find(&segs("channels/abc.1/play/pb1")).expect("route");
        assert_eq!(
            f.for_method("POST").map(|x| x.1),
            Some(vec![
                ("channelId", "abc.1".into()),
                ("playbackId", "pb1".into())
            ])
        );
        assert!(f.for_method("GET").is_none());
        let f = find(&segs("recordings/stored/copy/superfreak/file")).expect("route");
        assert_eq!(
            f.for_method("GET").map(|x| x.1),
            Some(vec![("recordingName", "copy/superfreak".into())])
        );
        let f = find(&segs("recordings/stored/a/b/c")).expect("route");
        assert_eq!(f.allowed(), ["GET", "DELETE"]);
        assert!(find(&segs("channels/create")).is_some_and(|f| f.allowed() == ["POST"]));
        assert!(find(&segs("nope")).is_none());
        assert!(find(&segs("channels//answer")).is_none());
    }
}
