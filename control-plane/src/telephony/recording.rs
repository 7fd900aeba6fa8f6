//! Recordings: live (channel or bridge, with maxDuration, maxSilence, beep, terminateOn,
//! ifExists, pause and mute) and stored (list, get, file, copy, delete).

use std::{
    path::PathBuf,
    time::{Duration, Instant},
};

use codec_transcoder::SampleRate;
use media_engine::{
    command::{MediaCommand, RecordDirection, RecordingId, Target},
    playback::PlaySource,
    record::{RecordFormat, start_recording, start_recording_appending},
};
use serde_json::{Value, json};

use super::{
    AriError, Core, Done, Timer,
    model::{LiveRecording, RecordingState},
    playback::PlayOn,
};

/// What `POST .../record` asks for.
#[derive(Debug, Clone)]
pub struct RecordSpec {
    /// Name (file name without extension; may contain `/`).
    pub name: String,
    /// `wav`, `wav16`, `sln`, `sln16`, `ulaw`.
    pub format: String,
    /// 0: no limit.
    pub max_duration: u64,
    /// 0: no limit.
    pub max_silence: u64,
    /// `fail`, `overwrite`, `append`.
    pub if_exists: String,
    /// Play a beep first.
    pub beep: bool,
    /// `none`, `any`, `*`, `#`.
    pub terminate_on: String,
}

fn format_of(f: &str) -> Option<(RecordFormat, SampleRate)> {
    Some(match f {
        "wav" => (RecordFormat::Wav, SampleRate::Hz8000),
        "wav16" => (RecordFormat::Wav, SampleRate::Hz16000),
        "sln" => (RecordFormat::Sln, SampleRate::Hz8000),
        "sln16" => (RecordFormat::Sln, SampleRate::Hz16000),
        "sln48" => (RecordFormat::Sln, SampleRate::Hz48000),
        "ulaw" => (RecordFormat::Ulaw, SampleRate::Hz8000),
        _ => return None,
    })
}

fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && !name.starts_with('/')
        && !name
            .split('/')
            .any(|p| p.is_empty() || p == "." || p == "..")
}

impl Core {
    fn recording_path(&self, name: &str, format: &str) -> PathBuf {
        self.settings
            .recordings_dir
            .join(format!("{name}.{format}"))
    }

    /// Starts recording a channel (what its far end says) or a bridge (the mix).
    pub fn record(&mut self, on: PlayOn, spec: RecordSpec) -> Result<Value, AriError> {
        if !valid_name(&spec.name) {
            return Err(AriError::bad_request("Recording name is invalid"));
        }
        let Some((format, rate)) = format_of(&spec.format) else {
            return Err(AriError::unprocessable(format!(
                "Recording format {} unavailable",
                spec.format
            )));
        };
        if !matches!(spec.if_exists.as_str(), "fail" | "overwrite" | "append") {
            return Err(AriError::bad_request(
                "ifExists must be fail, overwrite or append",
            ));
        }
        if !matches!(spec.terminate_on.as_str(), "none" | "any" | "*" | "#") {
            return Err(AriError::bad_request(
                "terminateOn must be none, any, * or #",
            ));
        }
        let (target, target_uri) = match &on {
            PlayOn::Channel(id) => {
                let c = self.stasis_channel(id)?;
                let leg = c
                    .leg
                    .ok_or_else(|| AriError::conflict("Channel has no media"))?;
                (Target::Leg(leg), format!("channel:{id}"))
            }
            PlayOn::Bridge(id) => (
                Target::Bridge(self.bridge(id)?.media),
                format!("bridge:{id}"),
            ),
        };
        if self.recordings.contains_key(&spec.name) {
            return Err(AriError::conflict(
                "Recording with that name is in progress",
            ));
        }
        let path = self.recording_path(&spec.name, &spec.format);
        if path.exists() && spec.if_exists == "fail" {
            return Err(AriError::conflict("Recording already exists"));
        }
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| AriError::internal(e.to_string()))?;
        }
        let start = if spec.if_exists == "append" {
            start_recording_appending
        } else {
            start_recording
        };
        let (sink, writer) = start(&path, rate, format, Duration::from_secs(2))
            .map_err(|e| AriError::unprocessable(format!("cannot record: {e}")))?;
        let media = RecordingId(self.next_seq());
        let rec = LiveRecording {
            name: spec.name.clone(),
            media,
            format: spec.format.clone(),
            target_uri,
            state: RecordingState::Recording,
            duration: None,
            cause: None,
            terminate_on: spec.terminate_on.clone(),
            writer: Some(writer),
            started: Instant::now(),
            max_duration: (spec.max_duration > 0).then(|| Duration::from_secs(spec.max_duration)),
            max_silence: spec.max_silence > 0,
            notify: Vec::new(),
        };
        let json = rec.to_json();
        self.by_media_recording.insert(media, spec.name.clone());
        self.recordings.insert(spec.name.clone(), rec);
        let name = spec.name.clone();
        let beep = spec.beep;
        if beep && let Target::Leg(_) = target {
            self.media(
                |reply| MediaCommand::Play {
                    target,
                    playback: media_engine::command::PlaybackId(u64::MAX - media.0),
                    source: PlaySource::Tone("beep".into()),
                    reply,
                },
                |_, _| {},
            );
        }
        self.media(
            |reply| MediaCommand::Record {
                target,
                recording: media,
                direction: RecordDirection::In,
                sink,
                reply,
            },
            move |core, r| match r {
                Ok(()) => {
                    core.recording_event("RecordingStarted", &name);
                    if let Some(limit) = core.recordings.get(&name).and_then(|r| r.max_duration) {
                        core.after(limit, Timer::RecordingLimit(name.clone()));
                    }
                }
                Err(e) => {
                    if let Some(r) = core.recordings.get_mut(&name) {
                        r.state = RecordingState::Failed;
                        r.cause = Some(e.to_string());
                    }
                    core.recording_event("RecordingFailed", &name);
                    core.finish_recording(&name, false);
                }
            },
        );
        if spec.max_silence > 0
            && let PlayOn::Channel(id) = &on
            && let Some(leg) = self.channels.get(id).and_then(|c| c.leg)
        {
            // Silence for maxSilence ends the recording (talk detection's hangover).
            let config = conference_mixer::TalkConfig {
                hangover_ms: (spec.max_silence * 1000) as u32,
                ..conference_mixer::TalkConfig::default()
            };
            self.media(
                |reply| MediaCommand::TalkDetect {
                    leg,
                    config: Some(config),
                    reply,
                },
                |_, _| {},
            );
        }
        Ok(json)
    }

    fn recording_event(&mut self, kind: &'static str, name: &str) {
        let Some(r) = self.recordings.get(name) else {
            return;
        };
        let body = json!({"recording": r.to_json()});
        let notify = r.notify.clone();
        let (channels, bridge) = recording_subjects(&r.target_uri);
        let channels: Vec<&str> = channels.iter().map(String::as_str).collect();
        self.emit_to(kind, body, &channels, bridge.as_deref(), notify);
    }

    /// Ends a live recording: the media engine lets go of its sink, the writer finishes the
    /// file, then `RecordingFinished` (or the file is deleted when `cancel`).
    pub(crate) fn finish_recording(&mut self, name: &str, cancel: bool) {
        let Some(r) = self.recordings.get_mut(name) else {
            return;
        };
        let Some(writer) = r.writer.take() else {
            return; // already finishing
        };
        // Who hears of its end is decided now, while its target still exists.
        let (channels, bridge) = recording_subjects(&r.target_uri);
        let notify = self.subscribers(&channels, bridge.as_deref());
        let Some(r) = self.recordings.get_mut(name) else {
            return;
        };
        r.notify = notify;
        let target = match r.target_uri.split_once(':') {
            Some(("channel", c)) => self.channels.get(c).and_then(|c| c.leg).map(Target::Leg),
            Some(("bridge", b)) => self.bridges.get(b).map(|b| Target::Bridge(b.media)),
            _ => None,
        };
        let media = r.media;
        let owned = name.to_string();
        let jobs = self.jobs.clone();
        let finish = move |_: &mut Self, _: Result<u64, media_engine::command::MediaError>| {
            // Whatever the media engine said, the sink is gone or going: wait for the file.
            tokio::spawn(async move {
                let summary = tokio::task::spawn_blocking(move || writer.join())
                    .await
                    .ok()
                    .and_then(Result::ok);
                let _ = jobs
                    .send(Box::new(move |core: &mut Self| {
                        core.recording_written(&owned, summary, cancel);
                    }))
                    .await;
            });
        };
        match target {
            Some(target) => self.media(
                |reply| MediaCommand::StopRecording {
                    target,
                    recording: media,
                    reply,
                },
                finish,
            ),
            None => finish(self, Ok(0)),
        }
    }

    fn recording_written(
        &mut self,
        name: &str,
        summary: Option<media_engine::record::RecordingSummary>,
        cancel: bool,
    ) {
        let Some(format) = self.recordings.get(name).map(|r| r.format.clone()) else {
            return;
        };
        let path = self.recording_path(name, &format);
        let r = self.recordings.get_mut(name).expect("checked");
        r.duration = summary.map(|s| s.duration.as_secs());
        let failed = r.state == RecordingState::Failed;
        if cancel {
            r.state = RecordingState::Canceled;
            let _ = std::fs::remove_file(&path);
        } else if !failed {
            r.state = RecordingState::Done;
        }
        if !failed {
            self.recording_event("RecordingFinished", name);
        }
        if let Some(r) = self.recordings.remove(name) {
            self.by_media_recording.remove(&r.media);
        }
        let owned = name.to_string();
        self.cancel_timers(|t| matches!(t, Timer::RecordingLimit(n) if *n == owned));
    }

    /// A digit arrived on a channel: recordings with `terminateOn` stop.
    pub(crate) fn recording_dtmf(&mut self, channel: &str, digit: char) {
        let target = format!("channel:{channel}");
        let names: Vec<String> = self
            .recordings
            .values()
            .filter(|r| r.target_uri == target)
            .filter(|r| match r.terminate_on.as_str() {
                "any" => true,
                "*" => digit == '*',
                "#" => digit == '#',
                _ => false,
            })
            .map(|r| r.name.clone())
            .collect();
        for n in names {
            self.finish_recording(&n, false);
        }
    }

    /// The far end of a channel went silent: recordings with `maxSilenceSeconds` end.
    pub(crate) fn recording_silence(&mut self, channel: &str) {
        let target = format!("channel:{channel}");
        let names: Vec<String> = self
            .recordings
            .values()
            .filter(|r| r.target_uri == target && r.max_silence)
            .map(|r| r.name.clone())
            .collect();
        for n in names {
            self.finish_recording(&n, false);
        }
    }

    /// A channel is going away: its playbacks and recordings end.
    pub(crate) fn end_channel_media_objects(&mut self, channel: &str) {
        self.end_channel_playbacks(channel);
        let target = format!("channel:{channel}");
        let names: Vec<String> = self
            .recordings
            .values()
            .filter(|r| r.target_uri == target)
            .map(|r| r.name.clone())
            .collect();
        for n in names {
            self.finish_recording(&n, false);
        }
    }

    /// A bridge is going away: its recordings end.
    pub(crate) fn end_bridge_recordings(&mut self, bridge: &str) {
        let target = format!("bridge:{bridge}");
        let names: Vec<String> = self
            .recordings
            .values()
            .filter(|r| r.target_uri == target)
            .map(|r| r.name.clone())
            .collect();
        for n in names {
            self.finish_recording(&n, false);
        }
    }

    /// `GET /recordings/live/{name}`.
    pub fn live_recording(&self, name: &str) -> Result<Value, AriError> {
        self.recordings
            .get(name)
            .map(LiveRecording::to_json)
            .ok_or_else(|| AriError::not_found("Recording not found"))
    }

    /// Stops (keeps the file) or cancels (deletes it) a live recording.
    pub fn stop_recording(&mut self, name: &str, cancel: bool) -> Result<(), AriError> {
        if !self.recordings.contains_key(name) {
            return Err(AriError::not_found("Recording not found"));
        }
        self.finish_recording(name, cancel);
        Ok(())
    }

    /// Pause/unpause and mute/unmute a live recording.
    pub fn control_recording(
        &mut self,
        name: &str,
        pause: Option<bool>,
        mute: Option<bool>,
        done: Done<()>,
    ) {
        let Some(r) = self.recordings.get_mut(name) else {
            return done.err(AriError::not_found("Recording not found"));
        };
        if r.state != RecordingState::Recording && r.state != RecordingState::Paused {
            return done.err(AriError::conflict("Recording not in session"));
        }
        let paused = pause.unwrap_or(r.state == RecordingState::Paused);
        r.state = if paused {
            RecordingState::Paused
        } else {
            RecordingState::Recording
        };
        let muted = mute.unwrap_or(false);
        let target = match r.target_uri.split_once(':') {
            Some(("channel", c)) => self.channels.get(c).and_then(|c| c.leg).map(Target::Leg),
            Some(("bridge", b)) => self.bridges.get(b).map(|b| Target::Bridge(b.media)),
            _ => None,
        };
        let Some(target) = target else {
            return done.err(AriError::conflict("Recording not in session"));
        };
        let media = r.media;
        self.media(
            |reply| MediaCommand::ControlRecording {
                target,
                recording: media,
                paused,
                muted,
                reply,
            },
            move |_, r| done.send(r.map_err(Into::into)),
        );
    }

    /// `GET /recordings/stored`.
    pub fn stored_recordings(&self) -> Value {
        let mut out = Vec::new();
        let root = &self.settings.recordings_dir;
        let mut stack = vec![root.clone()];
        while let Some(dir) = stack.pop() {
            for e in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
                let p = e.path();
                if p.is_dir() {
                    stack.push(p);
                    continue;
                }
                let (Some(ext), Ok(rel)) = (p.extension(), p.strip_prefix(root)) else {
                    continue;
                };
                let ext = ext.to_string_lossy().to_string();
                if format_of(&ext).is_none() {
                    continue;
                }
                let name = rel.with_extension("").to_string_lossy().to_string();
                if self.recordings.contains_key(&name) {
                    continue; // still being written
                }
                out.push(json!({"name": name, "format": ext}));
            }
        }
        out.sort_by(|a, b| a["name"].as_str().cmp(&b["name"].as_str()));
        Value::Array(out)
    }

    /// A stored recording's file.
    pub fn stored_recording_file(&self, name: &str) -> Result<(PathBuf, String), AriError> {
        if !valid_name(name) {
            return Err(AriError::not_found("Recording not found"));
        }
        let path = super::sounds::stored_recording(&self.settings.recordings_dir, name)
            .filter(|_| !self.recordings.contains_key(name))
            .ok_or_else(|| AriError::not_found("Recording not found"))?;
        let format = path
            .extension()
            .map(|e| e.to_string_lossy().to_string())
            .unwrap_or_default();
        Ok((path, format))
    }

    /// Copies a stored recording.
    pub fn copy_recording(&self, name: &str, to: &str) -> Result<Value, AriError> {
        let (from, format) = self.stored_recording_file(name)?;
        if !valid_name(to) {
            return Err(AriError::bad_request("destinationRecordingName is invalid"));
        }
        let dest = self.recording_path(to, &format);
        if dest.exists() {
            return Err(AriError::conflict(
                "A recording with the same name already exists",
            ));
        }
        if let Some(d) = dest.parent() {
            std::fs::create_dir_all(d).map_err(|e| AriError::internal(e.to_string()))?;
        }
        std::fs::copy(from, dest).map_err(|e| AriError::internal(e.to_string()))?;
        Ok(json!({"name": to, "format": format}))
    }

    /// Deletes a stored recording.
    pub fn delete_recording(&self, name: &str) -> Result<(), AriError> {
        let (path, _) = self.stored_recording_file(name)?;
        std::fs::remove_file(path).map_err(|e| AriError::internal(e.to_string()))
    }
}

/// The channels and bridge a recording's events are about (from its `target_uri`).
fn recording_subjects(target_uri: &str) -> (Vec<String>, Option<String>) {
    match target_uri.split_once(':') {
        Some(("channel", c)) => (vec![c.to_string()], None),
        Some(("bridge", b)) => (Vec::new(), Some(b.to_string())),
        _ => (Vec::new(), None),
    }
}
