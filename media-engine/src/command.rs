//! The typed interface between the control plane and the media workers: ids, commands with
//! their replies, events, errors and per-leg statistics.

use std::{net::IpAddr, net::SocketAddr, time::Duration};

use crate::{
    dtmf::Digit,
    playback::PlaySource,
    record::RecordingSink,
    sdp::{SdpError, negotiate::Capabilities, negotiate::NegotiationError},
    tone::ToneError,
};

macro_rules! id {
    ($(#[$m:meta])* $name:ident) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(pub u64);
    };
}

id!(
    /// A leg (one RTP session with one far end), chosen by the control plane.
    LegId
);
id!(
    /// A bridge.
    BridgeId
);
id!(
    /// A playback.
    PlaybackId
);
id!(
    /// A recording.
    RecordingId
);

/// What a playback or recording is attached to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Target {
    /// One leg: it hears the playback; its audio is recorded.
    Leg(LegId),
    /// A bridge: everyone in it hears the playback; the mix is recorded.
    Bridge(BridgeId),
}

/// How a bridge connects its legs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum BridgeKind {
    /// Everyone hears everyone else (two legs with a common codec are relayed).
    #[default]
    Mixing,
    /// Nobody hears anybody; only playbacks into the bridge are heard (ARI `holding`).
    Holding,
}

/// Where a command's answer goes: a callback run on the media worker, so the control plane
/// chooses how to wait (a tokio oneshot, a channel, ...).
pub struct Reply<T>(Box<dyn FnOnce(Result<T, MediaError>) + Send>);

impl<T> std::fmt::Debug for Reply<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Reply(..)")
    }
}

impl<T: Send + 'static> Reply<T> {
    /// A reply that runs `f`.
    pub fn new(f: impl FnOnce(Result<T, MediaError>) + Send + 'static) -> Self {
        Self(Box::new(f))
    }

    /// A reply into a one-slot channel.
    pub fn channel() -> (Self, crossbeam_channel::Receiver<Result<T, MediaError>>) {
        let (tx, rx) = crossbeam_channel::bounded(1);
        (
            Self::new(move |r| {
                let _ = tx.try_send(r);
            }),
            rx,
        )
    }

    /// A reply nobody waits for.
    pub fn ignore() -> Self {
        Self::new(|_| {})
    }

    /// Answers.
    pub fn send(self, result: Result<T, MediaError>) {
        (self.0)(result);
    }
}

/// How a leg behaves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LegConfig {
    /// Codecs, telephone-event, SRTP policy, ptime, rtcp-mux, CN.
    pub caps: Capabilities,
    /// The address we put in SDP (`c=`); the worker binds on its configured address.
    pub advertise: Option<IpAddr>,
    /// No RTP for this long becomes [`MediaEvent::Timeout`] (Asterisk `rtptimeout`).
    pub rtp_timeout: Option<Duration>,
    /// The same while the far end holds the call (Asterisk `rtpholdtimeout`).
    pub hold_timeout: Option<Duration>,
    /// Detect DTMF in the audio when telephone-event was not negotiated.
    pub inband_dtmf: bool,
    /// Jitter buffer bounds for decoded legs.
    pub jitter_min: Duration,
    /// Upper bound.
    pub jitter_max: Duration,
}

impl Default for LegConfig {
    fn default() -> Self {
        Self {
            caps: Capabilities::default(),
            advertise: None,
            rtp_timeout: Some(Duration::from_secs(60)),
            hold_timeout: Some(Duration::from_secs(300)),
            inband_dtmf: true,
            jitter_min: Duration::from_millis(40),
            jitter_max: Duration::from_millis(300),
        }
    }
}

/// Which audio of a leg a recording takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecordDirection {
    /// What the far end sends (Asterisk `ChannelRead`).
    In,
    /// What we send it.
    Out,
    /// Both, mixed.
    Both,
}

/// A command to a media worker. Every variant with a `reply` answers exactly once.
#[derive(Debug)]
#[non_exhaustive]
pub enum MediaCommand {
    /// Creates a leg. With `remote_offer` the reply is our answer; without it, our offer.
    CreateLeg {
        /// The id.
        leg: LegId,
        /// Behaviour.
        config: Box<LegConfig>,
        /// The far end's offer, if it made one.
        remote_offer: Option<Vec<u8>>,
        /// Place it on the worker of this leg (the other leg of a call), if it exists.
        near: Option<LegId>,
        /// Our SDP.
        reply: Reply<Vec<u8>>,
    },
    /// The far end answered our offer.
    RemoteAnswer {
        /// The leg.
        leg: LegId,
        /// Their SDP.
        sdp: Vec<u8>,
        /// Done.
        reply: Reply<()>,
    },
    /// The far end sent a new offer (re-INVITE, UPDATE); the reply is our answer.
    RemoteOffer {
        /// The leg.
        leg: LegId,
        /// Their SDP.
        sdp: Vec<u8>,
        /// Our answer.
        reply: Reply<Vec<u8>>,
    },
    /// We make a new offer (re-INVITE; e.g. after session recovery); answer with
    /// [`RemoteAnswer`](Self::RemoteAnswer).
    LocalOffer {
        /// The leg.
        leg: LegId,
        /// Our offer.
        reply: Reply<Vec<u8>>,
    },
    /// Puts the far end on hold (`sendonly`) or takes it off (`sendrecv`); the reply is the
    /// offer to send. While held, nothing is sent to it.
    Hold {
        /// The leg.
        leg: LegId,
        /// Held or not.
        held: bool,
        /// Our offer.
        reply: Reply<Vec<u8>>,
    },
    /// Joins legs to a bridge (created on first use). A leg in another bridge moves.
    Bridge {
        /// The bridge.
        bridge: BridgeId,
        /// Its kind (used when the bridge is created).
        kind: BridgeKind,
        /// Legs to add.
        legs: Vec<LegId>,
        /// Done.
        reply: Reply<()>,
    },
    /// Takes a leg out of its bridge.
    Unbridge {
        /// The leg.
        leg: LegId,
        /// Done.
        reply: Reply<()>,
    },
    /// Removes a bridge, unbridging its legs.
    DestroyBridge {
        /// The bridge.
        bridge: BridgeId,
        /// Done.
        reply: Reply<()>,
    },
    /// Plays media to a leg (what it hears is replaced while it plays) or into a bridge (every
    /// member hears it). Queued behind a playback already running on the target.
    Play {
        /// The leg or bridge.
        target: Target,
        /// The id.
        playback: PlaybackId,
        /// What.
        source: PlaySource,
        /// Started.
        reply: Reply<()>,
    },
    /// Stops a playback.
    StopPlayback {
        /// The leg or bridge it plays on.
        target: Target,
        /// The id.
        playback: PlaybackId,
        /// Done.
        reply: Reply<()>,
    },
    /// Pauses, resumes, restarts or skips a playback.
    ControlPlayback {
        /// The leg or bridge it plays on.
        target: Target,
        /// The id.
        playback: PlaybackId,
        /// What to do.
        op: crate::playback::PlaybackOp,
        /// Done (`State` when the operation does not fit).
        reply: Reply<()>,
    },
    /// Pauses (nothing written) or mutes (silence written) a recording.
    ControlRecording {
        /// The leg or bridge it records.
        target: Target,
        /// The id.
        recording: RecordingId,
        /// Paused.
        paused: bool,
        /// Muted.
        muted: bool,
        /// Done.
        reply: Reply<()>,
    },
    /// Records a leg (its audio in `direction`) or a bridge (the full mix) into a sink (see
    /// [`crate::record::start_recording`]).
    Record {
        /// The leg or bridge.
        target: Target,
        /// The id.
        recording: RecordingId,
        /// Which audio of a leg (ignored for bridges).
        direction: RecordDirection,
        /// Where it goes.
        sink: RecordingSink,
        /// Started.
        reply: Reply<()>,
    },
    /// Stops a recording (dropping its sink finishes the file).
    StopRecording {
        /// The leg or bridge it records.
        target: Target,
        /// The id.
        recording: RecordingId,
        /// Samples recorded.
        reply: Reply<u64>,
    },
    /// Sends DTMF to the far end: RFC 4733 events when negotiated, tones otherwise.
    SendDtmf {
        /// The leg.
        leg: LegId,
        /// Digits (`0-9*#A-D`).
        digits: String,
        /// Length of each.
        duration: Duration,
        /// Gap between them.
        between: Duration,
        /// Queued.
        reply: Reply<()>,
    },
    /// Mutes a leg: `input` (what its far end says reaches nobody) and `output` (its far end
    /// is sent nothing).
    Mute {
        /// The leg.
        leg: LegId,
        /// Mute what it receives.
        input: bool,
        /// Mute what it is sent.
        output: bool,
        /// Done.
        reply: Reply<()>,
    },
    /// Echoes what the leg receives straight back to it (the `echo` service), or stops.
    Echo {
        /// The leg.
        leg: LegId,
        /// On or off.
        on: bool,
        /// Done.
        reply: Reply<()>,
    },
    /// Creates snoop leg `snoop` on leg `target` (on its worker): the snoop "receives" the
    /// target's audio in the `spy` directions, and what it is sent is whispered into the
    /// `whisper` directions. It works at the target's natural rate. Destroying either ends
    /// the link (a snoop whose target is gone receives silence).
    CreateSnoop {
        /// The new leg.
        snoop: LegId,
        /// The leg snooped on.
        target: LegId,
        /// What it hears.
        spy: crate::snoop::SnoopDirection,
        /// Where what it is sent goes.
        whisper: crate::snoop::SnoopDirection,
        /// Done.
        reply: Reply<()>,
    },
    /// Turns talk detection on a leg on (with thresholds) or off; the leg then decodes and
    /// reports [`MediaEvent::TalkingStarted`]/[`MediaEvent::TalkingFinished`].
    TalkDetect {
        /// The leg.
        leg: LegId,
        /// Thresholds, or `None` to stop.
        config: Option<conference_mixer::TalkConfig>,
        /// Done.
        reply: Reply<()>,
    },
    /// Reads a leg's RTP statistics.
    Stats {
        /// The leg.
        leg: LegId,
        /// Its statistics.
        reply: Reply<RtpStatistics>,
    },
    /// Destroys a leg; the reply carries its final statistics.
    Destroy {
        /// The leg.
        leg: LegId,
        /// Final statistics.
        reply: Reply<RtpStatistics>,
    },
}

/// Something that happened on a media worker.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum MediaEvent {
    /// The first media arrived; the leg is latched to its source (strict from now on).
    Latched {
        /// The leg.
        leg: LegId,
        /// The source.
        remote: SocketAddr,
    },
    /// A DTMF digit began.
    DtmfBegin {
        /// The leg.
        leg: LegId,
        /// The digit.
        digit: Digit,
    },
    /// A DTMF digit ended (ARI `ChannelDtmfReceived`).
    Dtmf {
        /// The leg.
        leg: LegId,
        /// The digit.
        digit: Digit,
        /// How long it lasted.
        duration: Duration,
        /// Detected in the audio rather than received as RFC 4733 events.
        inband: bool,
    },
    /// No RTP for the configured time.
    Timeout {
        /// The leg.
        leg: LegId,
        /// Silent this long.
        silent_for: Duration,
    },
    /// The leg's far end started talking (talk detection on).
    TalkingStarted {
        /// The leg.
        leg: LegId,
    },
    /// It stopped talking.
    TalkingFinished {
        /// The leg.
        leg: LegId,
        /// How long it talked.
        duration: Duration,
    },
    /// Media resumed after a timeout.
    Resumed {
        /// The leg.
        leg: LegId,
    },
    /// A playback started.
    PlaybackStarted {
        /// Its leg or bridge.
        target: Target,
        /// The playback.
        playback: PlaybackId,
    },
    /// A playback ended.
    PlaybackFinished {
        /// Its leg or bridge.
        target: Target,
        /// The playback.
        playback: PlaybackId,
        /// Stopped by a command (or the leg went away) rather than played to the end.
        stopped: bool,
    },
    /// A recording ended because its leg or bridge was destroyed.
    RecordingStopped {
        /// The recording.
        recording: RecordingId,
        /// Samples recorded.
        samples: u64,
    },
    /// Periodic statistics (every RTCP report interval).
    Stats {
        /// The leg.
        leg: LegId,
        /// Its statistics.
        stats: Box<RtpStatistics>,
    },
}

/// Why a command failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum MediaError {
    /// No such leg.
    #[error("no leg {0:?}")]
    UnknownLeg(LegId),
    /// The leg exists already.
    #[error("leg {0:?} exists")]
    LegExists(LegId),
    /// No such bridge.
    #[error("no bridge {0:?}")]
    UnknownBridge(BridgeId),
    /// No such playback.
    #[error("no playback {0:?}")]
    UnknownPlayback(PlaybackId),
    /// No such recording.
    #[error("no recording {0:?}")]
    UnknownRecording(RecordingId),
    /// The SDP did not parse.
    #[error("bad SDP: {0}")]
    Sdp(#[from] SdpError),
    /// Offer and answer do not agree (SIP 488).
    #[error(transparent)]
    Negotiation(#[from] NegotiationError),
    /// A tone specification was refused.
    #[error(transparent)]
    Tone(#[from] ToneError),
    /// A DTMF string with a character that is no digit.
    #[error("bad DTMF digits {0:?}")]
    BadDigits(String),
    /// The command does not fit the leg's state.
    #[error("{0}")]
    State(&'static str),
    /// No free RTP port in the range.
    #[error("no free RTP port")]
    NoPorts,
    /// A socket could not be bound.
    #[error("socket: {0}")]
    Io(String),
    /// The worker's queue is full.
    #[error("media worker overloaded")]
    Overloaded,
    /// The worker has stopped.
    #[error("media worker stopped")]
    Stopped,
}

/// One leg's RTP statistics in the shape of ARI's `RTPstat` (channels.json): counts, and
/// jitter and RTT in seconds with their minimum, maximum, mean and standard deviation over the
/// RTCP reports of each side.
#[derive(Debug, Clone, Copy, Default, PartialEq, serde::Serialize)]
#[allow(missing_docs)]
pub struct RtpStatistics {
    pub txcount: u64,
    pub rxcount: u64,
    pub txjitter: f64,
    pub rxjitter: f64,
    pub remote_maxjitter: f64,
    pub remote_minjitter: f64,
    pub remote_normdevjitter: f64,
    pub remote_stdevjitter: f64,
    pub local_maxjitter: f64,
    pub local_minjitter: f64,
    pub local_normdevjitter: f64,
    pub local_stdevjitter: f64,
    pub txploss: i64,
    pub rxploss: i64,
    pub remote_maxrxploss: f64,
    pub remote_minrxploss: f64,
    pub remote_normdevrxploss: f64,
    pub remote_stdevrxploss: f64,
    pub local_maxrxploss: f64,
    pub local_minrxploss: f64,
    pub local_normdevrxploss: f64,
    pub local_stdevrxploss: f64,
    pub rtt: f64,
    pub maxrtt: f64,
    pub minrtt: f64,
    pub normdevrtt: f64,
    pub stdevrtt: f64,
    pub local_ssrc: u32,
    pub remote_ssrc: u32,
    pub txoctetcount: u64,
    pub rxoctetcount: u64,
}

/// A running min/max/mean/standard deviation (Welford).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Summary {
    n: u64,
    mean: f64,
    m2: f64,
    min: f64,
    max: f64,
}

impl Summary {
    /// Adds a sample.
    pub fn add(&mut self, x: f64) {
        if self.n == 0 {
            self.min = x;
            self.max = x;
        }
        self.n += 1;
        let d = x - self.mean;
        self.mean += d / self.n as f64;
        self.m2 += d * (x - self.mean);
        self.min = self.min.min(x);
        self.max = self.max.max(x);
    }

    /// `(min, max, mean, standard deviation)`, zeros when empty.
    pub fn get(&self) -> (f64, f64, f64, f64) {
        if self.n == 0 {
            return (0.0, 0.0, 0.0, 0.0);
        }
        (
            self.min,
            self.max,
            self.mean,
            (self.m2 / self.n as f64).sqrt(),
        )
    }
}
