//! The objects ARI shows: channels, bridges, playbacks, recordings — with their JSON shapes
//! exactly as `ari-api-docs/*.json` define them.

use std::{collections::BTreeMap, time::SystemTime};

use media_engine::command::{BridgeId, LegId, PlaybackId, RecordingId};
use serde_json::{Value, json};
use sip_core::endpoint::{DialogId, RequestId, ServerTxId};

use super::time::ari_timestamp;

/// Channel states as ARI spells them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChannelState {
    /// Created, nothing sent.
    Down,
    /// Inbound, not answered.
    Ring,
    /// Outbound, the far end rings.
    Ringing,
    /// Answered.
    Up,
    /// Busy.
    Busy,
}

impl ChannelState {
    /// ARI's name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Down => "Down",
            Self::Ring => "Ring",
            Self::Ringing => "Ringing",
            Self::Up => "Up",
            Self::Busy => "Busy",
        }
    }
}

/// Caller or connected party.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Party {
    /// Name.
    pub name: String,
    /// Number.
    pub number: String,
}

/// Where the channel is in the (emulated) dialplan.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Dialplan {
    /// Context.
    pub context: String,
    /// Extension.
    pub exten: String,
    /// Priority.
    pub priority: i64,
    /// Application running (`Stasis`, `Echo`, ...).
    pub app_name: String,
    /// Its data.
    pub app_data: String,
}

/// The signalling side of a channel.
#[derive(Debug, Clone)]
pub enum Tech {
    /// A SIP call we received.
    SipIn {
        /// The INVITE's server transaction (until answered or rejected).
        tx: Option<ServerTxId>,
        /// The dialog once we sent 18x/200.
        dialog: Option<DialogId>,
        /// Our SDP for the 200 (answer to their offer, or our offer for a late-offer call).
        local_sdp: Vec<u8>,
        /// The INVITE had no SDP: our 200 carries the offer, the ACK the answer.
        late_offer: bool,
    },
    /// A SIP call we place.
    SipOut {
        /// Endpoint name.
        endpoint: String,
        /// Request-URI.
        uri: String,
        /// The INVITE, once sent.
        request: Option<RequestId>,
        /// The dialog once a response created it.
        dialog: Option<DialogId>,
        /// Seconds to ring before CANCEL (0: forever).
        timeout: u64,
        /// Our SDP offer.
        offer: Vec<u8>,
        /// The far end's SDP answer has been applied (183 or 200).
        answered_media: bool,
        /// Enter this app with these args when answered (`POST /channels` with `app`).
        on_answer: Option<(String, Vec<String>)>,
    },
    /// A snoop on another channel.
    Snoop {
        /// The spied channel.
        target: String,
    },
    /// External media over RTP (`UnicastRTP/<host:port>`).
    UnicastRtp,
}

/// How a channel sits in Stasis.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StasisState {
    /// The app.
    pub app: String,
    /// `StasisStart.args`.
    pub args: Vec<String>,
    /// StasisStart has been sent.
    pub started: bool,
}

/// A channel.
#[derive(Debug, Clone)]
pub struct Channel {
    /// Id (uniqueid or the client's).
    pub id: String,
    /// Name (`PJSIP/call-in-00000001`).
    pub name: String,
    /// State.
    pub state: ChannelState,
    /// Caller id.
    pub caller: Party,
    /// Connected line.
    pub connected: Party,
    /// Account code.
    pub accountcode: String,
    /// Dialplan location.
    pub dialplan: Dialplan,
    /// Creation time.
    pub created: SystemTime,
    /// Language.
    pub language: String,
    /// Channel variables.
    pub vars: BTreeMap<String, String>,
    /// SIP Call-ID (empty for non-SIP channels).
    pub protocol_id: String,
    /// Signalling.
    pub tech: Tech,
    /// Media leg.
    pub leg: Option<LegId>,
    /// Stasis membership.
    pub stasis: Option<StasisState>,
    /// Bridge id.
    pub bridge: Option<String>,
    /// Hangup in progress (cause).
    pub hanging_up: Option<u16>,
    /// Muted directions (in: what the far end says is not passed on; out: it hears nothing).
    pub muted: (bool, bool),
    /// Held by a `hold` request.
    pub held: bool,
    /// Its originator (`otherChannelId` / originate caller), for Dial events.
    pub caller_channel: Option<String>,
    /// Headers to add to the INVITE (`PJSIP_HEADER(add,Name)`).
    pub sip_headers: Vec<(String, String)>,
    /// Built-in service running instead of Stasis (`echo`, `conf-<room>`).
    pub service: Option<String>,
    /// Music on hold or silence being played (its media playback id).
    pub background: Option<PlaybackId>,
    /// The Stasis app it was last in (for AMI `Redirect` back into Stasis).
    pub last_app: Option<String>,
}

impl Channel {
    /// A channel in state `state` with nothing else set yet (context `default`, exten `s`).
    pub fn new(id: String, name: String, state: ChannelState, tech: Tech) -> Self {
        Self {
            id,
            name,
            state,
            caller: Party::default(),
            connected: Party::default(),
            accountcode: String::new(),
            dialplan: Dialplan {
                context: "default".into(),
                exten: "s".into(),
                priority: 1,
                ..Dialplan::default()
            },
            created: SystemTime::now(),
            language: "en".into(),
            vars: BTreeMap::new(),
            protocol_id: String::new(),
            tech,
            leg: None,
            stasis: None,
            bridge: None,
            hanging_up: None,
            muted: (false, false),
            held: false,
            caller_channel: None,
            sip_headers: Vec::new(),
            service: None,
            background: None,
            last_app: None,
        }
    }

    /// ARI `Channel`, with the variables named in `channelvars` that are set.
    pub fn to_json(&self, channelvars: &[String]) -> Value {
        let mut v = json!({
            "id": self.id,
            "name": self.name,
            "state": self.state.as_str(),
            "protocol_id": self.protocol_id,
            "caller": {"name": self.caller.name, "number": self.caller.number},
            "connected": {"name": self.connected.name, "number": self.connected.number},
            "accountcode": self.accountcode,
            "dialplan": {
                "context": self.dialplan.context,
                "exten": self.dialplan.exten,
                "priority": self.dialplan.priority,
                "app_name": self.dialplan.app_name,
                "app_data": self.dialplan.app_data,
            },
            "creationtime": ari_timestamp(self.created),
            "language": self.language,
        });
        let exported: BTreeMap<&String, &String> = channelvars
            .iter()
            .filter_map(|name| self.vars.get_key_value(name))
            .collect();
        if !exported.is_empty() {
            v["channelvars"] = json!(exported);
        }
        v
    }

    /// The SIP dialog, if any.
    pub fn dialog(&self) -> Option<DialogId> {
        match &self.tech {
            Tech::SipIn { dialog, .. } | Tech::SipOut { dialog, .. } => *dialog,
            _ => None,
        }
    }

    /// The app owning it, if in Stasis.
    pub fn app(&self) -> Option<&str> {
        self.stasis.as_ref().map(|s| s.app.as_str())
    }
}

/// A bridge.
#[derive(Debug, Clone)]
pub struct Bridge {
    /// Id.
    pub id: String,
    /// Media engine id.
    pub media: BridgeId,
    /// Name.
    pub name: String,
    /// `mixing` or `holding`.
    pub bridge_type: &'static str,
    /// Flags as given (`proxy_media`, `video_sfu`, ...).
    pub flags: Vec<String>,
    /// Channels in it, in order of entry.
    pub channels: Vec<String>,
    /// Creator (`Stasis`).
    pub creator: String,
    /// Creation time.
    pub created: SystemTime,
    /// Bridge variables.
    pub vars: BTreeMap<String, String>,
    /// Music on hold playing into it.
    pub moh: Option<PlaybackId>,
}

impl Bridge {
    /// ARI `Bridge`.
    pub fn to_json(&self) -> Value {
        let technology = if self.bridge_type == "holding" {
            "holding_bridge"
        } else if self.channels.len() > 2 || self.flags.iter().any(|f| f == "video_sfu") {
            "softmix"
        } else {
            "simple_bridge"
        };
        json!({
            "id": self.id,
            "technology": technology,
            "bridge_type": self.bridge_type,
            "bridge_class": "stasis",
            "creator": self.creator,
            "name": self.name,
            "channels": self.channels,
            "creationtime": ari_timestamp(self.created),
            "video_mode": if self.flags.iter().any(|f| f == "video_sfu") { "sfu" } else { "none" },
        })
    }
}

/// Playback states.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PlaybackState {
    /// Waiting behind another playback.
    Queued,
    /// Playing.
    Playing,
    /// Paused.
    Paused,
    /// Moving to the next media of the list.
    Continuing,
    /// Finished.
    Done,
    /// Could not play.
    Failed,
}

impl PlaybackState {
    /// ARI's name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Queued => "queued",
            Self::Playing => "playing",
            Self::Paused => "paused",
            Self::Continuing => "continuing",
            Self::Done => "done",
            Self::Failed => "failed",
        }
    }
}

/// A playback (one ARI object for a whole media list).
#[derive(Debug, Clone)]
pub struct Playback {
    /// Id.
    pub id: String,
    /// Media engine id of the item now playing.
    pub media: PlaybackId,
    /// The media URIs.
    pub uris: Vec<String>,
    /// Index of the current item.
    pub index: usize,
    /// `channel:<id>` or `bridge:<id>`.
    pub target_uri: String,
    /// Language.
    pub language: String,
    /// State.
    pub state: PlaybackState,
    /// Milliseconds to skip for forward/reverse.
    pub skipms: u64,
    /// The media engine target.
    pub target: media_engine::command::Target,
    /// Sources of the current item still to play (`digits:` has one per digit).
    pub sources: std::collections::VecDeque<media_engine::playback::PlaySource>,
    /// `PlaybackStarted` was sent.
    pub announced: bool,
}

impl Playback {
    /// ARI `Playback`.
    pub fn to_json(&self) -> Value {
        let mut v = json!({
            "id": self.id,
            "media_uri": self.uris.get(self.index).cloned().unwrap_or_default(),
            "target_uri": self.target_uri,
            "language": self.language,
            "state": self.state.as_str(),
        });
        if let Some(next) = self.uris.get(self.index + 1) {
            v["next_media_uri"] = json!(next);
        }
        v
    }
}

/// Live recording states.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecordingState {
    /// Waiting (a beep plays first).
    Queued,
    /// Recording.
    Recording,
    /// Paused.
    Paused,
    /// Finished, file kept.
    Done,
    /// Could not record.
    Failed,
    /// Cancelled, file deleted.
    Canceled,
}

impl RecordingState {
    /// ARI's name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Queued => "queued",
            Self::Recording => "recording",
            Self::Paused => "paused",
            Self::Done => "done",
            Self::Failed => "failed",
            Self::Canceled => "canceled",
        }
    }
}

/// A live recording.
#[derive(Debug)]
pub struct LiveRecording {
    /// Name (file name without extension).
    pub name: String,
    /// Media engine id.
    pub media: RecordingId,
    /// `wav`, `sln`, `ulaw`.
    pub format: String,
    /// `channel:<id>` or `bridge:<id>`.
    pub target_uri: String,
    /// State.
    pub state: RecordingState,
    /// Seconds recorded (when finished).
    pub duration: Option<u64>,
    /// Why it failed.
    pub cause: Option<String>,
    /// DTMF that stops it (`none`, `any`, `*`, `#`).
    pub terminate_on: String,
    /// The writer thread, joined when the recording ends.
    pub writer: Option<media_engine::record::RecordingWriter>,
    /// When it started.
    pub started: std::time::Instant,
    /// Length limit.
    pub max_duration: Option<std::time::Duration>,
    /// Ends after silence (talk detection runs on the channel).
    pub max_silence: bool,
    /// Apps that followed its target when it began to finish: they get `RecordingFinished`
    /// even if the target is gone by the time the file is complete.
    pub notify: Vec<String>,
}

impl LiveRecording {
    /// ARI `LiveRecording`.
    pub fn to_json(&self) -> Value {
        let mut v = json!({
            "name": self.name,
            "format": self.format,
            "target_uri": self.target_uri,
            "state": self.state.as_str(),
        });
        if let Some(d) = self.duration {
            v["duration"] = json!(d);
        }
        if let Some(c) = &self.cause {
            v["cause"] = json!(c);
        }
        v
    }
}
