//! The call core: channels, bridges, playbacks and recordings; SIP signalling through
//! sip-core and media through the media engine. One task owns all of it (the actor);
//! ARI handlers and the AMQP consumer send it jobs (closures) and get their answers back.
//! Media commands answer through continuations posted back as jobs, so nothing ever blocks.

mod actor;
mod apps;
mod bridges;
pub mod cause;
mod channels;
mod dial;
mod emit;
pub mod model;
mod playback;
mod recording;
mod settings;
mod sip_in;
mod snoop;
mod sounds;
pub mod stasis;
pub mod time;

use std::{collections::HashMap, sync::Arc, time::Instant};

use media_engine::{
    command::{BridgeId, LegId, MediaCommand, MediaError, PlaybackId, RecordingId, Reply},
    worker::MediaEngine,
};
use serde_json::Value;
use sip_core::endpoint::{DialogId, Endpoint, RequestId, ServerTxId};
use tokio::sync::{mpsc, oneshot};

pub use actor::{StartError, Started, start};
pub use dial::OriginateSpec;
#[cfg(test)]
pub(crate) use emit::EMITTED;
pub use playback::PlayOn;
pub use recording::RecordSpec;
pub use settings::Settings;
pub use snoop::SnoopSpec;

use model::{Bridge, Channel, LiveRecording, Playback};

/// An error an ARI request answers with: a status and `{"message": ...}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AriError {
    /// HTTP status.
    pub status: u16,
    /// The message.
    pub message: String,
}

impl AriError {
    /// An error with `status`.
    pub fn new(status: u16, message: impl Into<String>) -> Self {
        Self {
            status,
            message: message.into(),
        }
    }
    /// 400.
    pub fn bad_request(m: impl Into<String>) -> Self {
        Self::new(400, m)
    }
    /// 404.
    pub fn not_found(m: impl Into<String>) -> Self {
        Self::new(404, m)
    }
    /// 409.
    pub fn conflict(m: impl Into<String>) -> Self {
        Self::new(409, m)
    }
    /// 412.
    pub fn precondition(m: impl Into<String>) -> Self {
        Self::new(412, m)
    }
    /// 422.
    pub fn unprocessable(m: impl Into<String>) -> Self {
        Self::new(422, m)
    }
    /// 500.
    pub fn internal(m: impl Into<String>) -> Self {
        Self::new(500, m)
    }
    /// 501.
    pub fn not_implemented(m: impl Into<String>) -> Self {
        Self::new(501, m)
    }
}

impl std::fmt::Display for AriError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.status, self.message)
    }
}

impl From<MediaError> for AriError {
    fn from(e: MediaError) -> Self {
        match e {
            MediaError::Negotiation(_) | MediaError::Sdp(_) => Self::new(488, e.to_string()),
            MediaError::UnknownLeg(_) | MediaError::UnknownBridge(_) => {
                Self::not_found(e.to_string())
            }
            MediaError::Tone(_) | MediaError::BadDigits(_) => Self::bad_request(e.to_string()),
            MediaError::State(_) => Self::conflict(e.to_string()),
            _ => Self::internal(e.to_string()),
        }
    }
}

/// Where a job sends its answer (possibly later, from a continuation).
pub struct Done<T>(oneshot::Sender<Result<T, AriError>>);

impl<T> std::fmt::Debug for Done<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Done(..)")
    }
}

impl<T> Done<T> {
    /// Answers.
    pub fn send(self, r: Result<T, AriError>) {
        let _ = self.0.send(r);
    }
    /// Answers with a value.
    pub fn ok(self, v: T) {
        self.send(Ok(v));
    }
    /// Answers with an error.
    pub fn err(self, e: AriError) {
        self.send(Err(e));
    }
}

/// A job for the core.
pub type Job = Box<dyn FnOnce(&mut Core) + Send>;

/// Figures the core publishes for metrics (updated after every step of its loop).
#[derive(Debug, Default)]
pub struct CoreGauges {
    /// Channels now.
    pub channels: std::sync::atomic::AtomicU64,
    /// Bridges now.
    pub bridges: std::sync::atomic::AtomicU64,
}

/// The handle every other component uses.
#[derive(Clone, Debug)]
pub struct Telephony {
    jobs: mpsc::Sender<Job>,
}

impl Telephony {
    /// Runs `f` on the core; it answers through its `Done` now or from a continuation.
    pub async fn call<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Core, Done<T>) + Send + 'static,
    ) -> Result<T, AriError> {
        let (tx, rx) = oneshot::channel();
        let job: Job = Box::new(move |core: &mut Core| f(core, Done(tx)));
        self.jobs
            .send(job)
            .await
            .map_err(|_| AriError::new(503, "shutting down"))?;
        rx.await
            .unwrap_or_else(|_| Err(AriError::internal("the request was dropped")))
    }

    /// Runs `f` and returns what it returns (for requests that complete at once).
    pub async fn with<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Core) -> Result<T, AriError> + Send + 'static,
    ) -> Result<T, AriError> {
        self.call(move |core, done| done.send(f(core))).await
    }
}

/// Timers the core keeps besides SIP's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Timer {
    /// Outbound call ringing too long: CANCEL.
    DialTimeout(String),
    /// A recording reached its maximum duration.
    RecordingLimit(String),
    /// A re-INVITE offer waiting for the previous one to complete.
    Reoffer {
        /// The channel.
        channel: String,
        /// The SDP offer.
        offer: Vec<u8>,
        /// Attempts so far.
        tries: u32,
    },
}

/// The core: all calls of this instance.
pub struct Core {
    pub(crate) settings: Arc<Settings>,
    pub(crate) gauges: Arc<CoreGauges>,
    pub(crate) ep: Endpoint,
    pub(crate) media: Arc<MediaEngine>,
    pub(crate) channels: HashMap<String, Channel>,
    pub(crate) bridges: HashMap<String, Bridge>,
    pub(crate) playbacks: HashMap<String, Playback>,
    pub(crate) recordings: HashMap<String, LiveRecording>,
    pub(crate) apps: stasis::Apps,
    pub(crate) by_leg: HashMap<LegId, String>,
    pub(crate) by_dialog: HashMap<DialogId, String>,
    pub(crate) by_tx: HashMap<ServerTxId, String>,
    pub(crate) by_request: HashMap<RequestId, String>,
    pub(crate) by_media_bridge: HashMap<BridgeId, String>,
    pub(crate) by_media_playback: HashMap<PlaybackId, String>,
    pub(crate) by_media_recording: HashMap<RecordingId, String>,
    pub(crate) timers: Vec<(Instant, Timer)>,
    pub(crate) jobs: mpsc::Sender<Job>,
    pub(crate) listeners: Vec<sip_core::endpoint::Listener>,
    pub(crate) seq: u64,
    /// Channel creation order, for listings.
    pub(crate) order: u64,
    pub(crate) created_order: HashMap<String, u64>,
    pub(crate) uniqueid_epoch: u64,
    /// Global variables (`/asterisk/variable`).
    pub(crate) globals: std::collections::BTreeMap<String, String>,
}

impl std::fmt::Debug for Core {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Core")
            .field("channels", &self.channels.len())
            .field("bridges", &self.bridges.len())
            .finish_non_exhaustive()
    }
}

impl Core {
    /// Sends a media command; `then` runs on the core with the answer.
    pub(crate) fn media<T: Send + 'static>(
        &self,
        make: impl FnOnce(Reply<T>) -> MediaCommand,
        then: impl FnOnce(&mut Self, Result<T, MediaError>) + Send + 'static,
    ) {
        let jobs = self.jobs.clone();
        self.media.command(make(Reply::new(move |r| {
            // One continuation per media command: bounded by the commands in flight.
            if jobs
                .try_send(Box::new(move |core: &mut Self| then(core, r)))
                .is_err()
            {
                tracing::error!("media reply lost: the core's queue is full");
            }
        })));
    }

    /// A fresh uniqueid-style id: `<system name>-<epoch>.<seq>`.
    pub(crate) fn new_id(&mut self) -> String {
        self.seq += 1;
        format!(
            "{}-{}.{}",
            self.settings.system_name, self.uniqueid_epoch, self.seq
        )
    }

    /// The next sequence number (media ids, names).
    pub(crate) fn next_seq(&mut self) -> u64 {
        self.seq += 1;
        self.seq
    }

    /// Arms a timer.
    pub(crate) fn after(&mut self, delay: std::time::Duration, t: Timer) {
        self.timers.push((Instant::now() + delay, t));
    }

    /// Cancels timers matching `f`.
    pub(crate) fn cancel_timers(&mut self, f: impl Fn(&Timer) -> bool) {
        self.timers.retain(|(_, t)| !f(t));
    }

    /// A channel or 404.
    pub(crate) fn channel(&self, id: &str) -> Result<&Channel, AriError> {
        self.channels
            .get(id)
            .ok_or_else(|| AriError::not_found("Channel not found"))
    }

    /// A channel or 404, mutably.
    pub(crate) fn channel_mut(&mut self, id: &str) -> Result<&mut Channel, AriError> {
        self.channels
            .get_mut(id)
            .ok_or_else(|| AriError::not_found("Channel not found"))
    }

    /// A channel that is in Stasis (409 otherwise).
    pub(crate) fn stasis_channel(&self, id: &str) -> Result<&Channel, AriError> {
        let c = self.channel(id)?;
        if c.stasis.is_none() {
            return Err(AriError::conflict("Channel not in Stasis application"));
        }
        Ok(c)
    }

    /// Channels in creation order.
    pub(crate) fn channels_in_order(&self) -> Vec<&Channel> {
        let mut v: Vec<&Channel> = self.channels.values().collect();
        v.sort_by_key(|c| self.created_order.get(&c.id).copied().unwrap_or(0));
        v
    }

    /// JSON of every channel, in creation order.
    pub fn list_channels(&self) -> Value {
        Value::Array(
            self.channels_in_order()
                .iter()
                .map(|c| c.to_json(&self.settings.channelvars))
                .collect(),
        )
    }
}
