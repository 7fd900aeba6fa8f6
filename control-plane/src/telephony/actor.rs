//! The task that owns the core: SIP sockets, the SIP endpoint's timers, jobs from ARI and
//! AMQP, media events, and the core's own timers.

use std::{
    net::SocketAddr,
    sync::{Arc, atomic::Ordering},
    time::{Duration, Instant, SystemTime, UNIX_EPOCH},
};

use media_engine::{
    command::MediaEvent,
    worker::{EngineConfig, MediaEngine},
};
use sip_core::{
    endpoint::{Endpoint, EndpointConfig, Listener},
    header::Transport,
    rt::{Input, Network, NetworkConfig, TlsIdentity},
};
use tokio::sync::{mpsc, watch};

use super::{Core, Job, Settings, Telephony, Timer, stasis::Apps};
use crate::config::Config;

/// Why the core could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// SIP sockets.
    #[error("cannot bind the SIP listeners: {0}")]
    Sip(std::io::Error),
    /// RTP workers.
    #[error("cannot start the media workers: {0}")]
    Media(std::io::Error),
}

/// What [`start`] gives back.
#[derive(Debug)]
pub struct Started {
    /// The handle.
    pub telephony: Telephony,
    /// SIP listeners as bound.
    pub listeners: Vec<Listener>,
    /// The loop task.
    pub task: tokio::task::JoinHandle<()>,
    /// The media workers (for their counters).
    pub media: Arc<MediaEngine>,
    /// Channel and bridge counts.
    pub gauges: Arc<super::CoreGauges>,
}

/// Binds SIP, starts the media workers and the core's task.
pub async fn start(
    config: &Config,
    settings: Settings,
    stop: watch::Receiver<bool>,
) -> Result<Started, StartError> {
    let tls_identity = match (&config.sip.tls_certificate, &config.sip.tls_key) {
        (Some(c), Some(k)) => Some(TlsIdentity {
            certificate: c.clone(),
            key: k.clone(),
        }),
        _ => None,
    };
    let net = Network::bind(&NetworkConfig {
        udp: config.sip.udp.clone(),
        tcp: config.sip.tcp.clone(),
        tls: config.sip.tls.clone(),
        tls_identity,
        ..NetworkConfig::default()
    })
    .await
    .map_err(StartError::Sip)?;
    let media = MediaEngine::start(&EngineConfig {
        workers: config.rtp.workers,
        bind: config.rtp.bind,
        port_min: config.rtp.port_min,
        port_max: config.rtp.port_max,
        ..EngineConfig::default()
    })
    .map_err(StartError::Media)?;
    // Each call leg holds two RTP sockets.
    match media.fd_limit() {
        Some(n) if n < 4096 => {
            tracing::warn!(
                limit = n,
                "open files limit is low: about {} calls fit",
                n / 4
            );
        }
        Some(n) => tracing::info!(limit = n, "open files limit"),
        None => {}
    }
    let media = Arc::new(media);
    let mut ep = Endpoint::new(
        EndpointConfig {
            user_agent: config.sip.user_agent.clone(),
            ..EndpointConfig::default()
        },
        seed(),
    );
    for l in net.listeners() {
        ep.add_listener(l.clone());
    }
    let listeners = net.listeners().to_vec();
    std::fs::create_dir_all(&settings.recordings_dir).ok();
    std::fs::create_dir_all(&settings.sound_cache).ok();
    let (jobs_tx, jobs_rx) = mpsc::channel::<Job>(65_536);
    let (media_tx, media_rx) = mpsc::channel::<MediaEvent>(65_536);
    // Media events cross from crossbeam to tokio on a thread of their own.
    let events = media.events().clone();
    std::thread::Builder::new()
        .name("mp-media-events".into())
        .spawn(move || {
            while let Ok(e) = events.recv() {
                if media_tx.blocking_send(e).is_err() {
                    return;
                }
            }
        })
        .map_err(StartError::Media)?;
    let now = SystemTime::now();
    let gauges = Arc::new(super::CoreGauges::default());
    let engine = Arc::clone(&media);
    let core = Core {
        settings: Arc::new(settings),
        gauges: Arc::clone(&gauges),
        ep,
        media,
        channels: Default::default(),
        bridges: Default::default(),
        playbacks: Default::default(),
        recordings: Default::default(),
        apps: Apps::default(),
        by_leg: Default::default(),
        by_dialog: Default::default(),
        by_tx: Default::default(),
        by_request: Default::default(),
        by_media_bridge: Default::default(),
        by_media_playback: Default::default(),
        by_media_recording: Default::default(),
        timers: Vec::new(),
        jobs: jobs_tx.clone(),
        listeners: listeners.clone(),
        seq: 0,
        order: 0,
        created_order: Default::default(),
        uniqueid_epoch: now.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs()),
        globals: Default::default(),
    };
    let task = tokio::spawn(run(core, net, jobs_rx, media_rx, stop));
    Ok(Started {
        telephony: Telephony { jobs: jobs_tx },
        listeners,
        task,
        media: engine,
        gauges,
    })
}

fn seed() -> u64 {
    let mut b = [0u8; 8];
    let _ = getrandom::fill(&mut b);
    u64::from_le_bytes(b)
}

async fn run(
    mut core: Core,
    mut net: Network,
    mut jobs: mpsc::Receiver<Job>,
    mut media: mpsc::Receiver<MediaEvent>,
    mut stop: watch::Receiver<bool>,
) {
    loop {
        let next = [
            core.ep.poll_timeout(),
            core.timers.iter().map(|t| t.0).min(),
        ]
        .into_iter()
        .flatten()
        .min()
        .unwrap_or_else(|| Instant::now() + Duration::from_secs(3600));
        tokio::select! {
            input = net.recv() => {
                let now = Instant::now();
                match input {
                    Some(Input::Datagram { flow, data }) => core.ep.handle_datagram(now, flow, data),
                    Some(Input::Message { flow, message }) => core.ep.handle_message(now, flow, *message),
                    Some(Input::ParseError { flow, error }) => core.ep.handle_parse_error(now, flow, error),
                    Some(Input::Unreachable { transport, remote }) => core.ep.handle_unreachable(now, transport, remote),
                    Some(Input::Closed(_)) => {}
                    None => return,
                }
            }
            Some(job) = jobs.recv() => job(&mut core),
            Some(event) = media.recv() => core.on_media_event(event),
            () = tokio::time::sleep_until(tokio::time::Instant::from_std(next)) => {
                let now = Instant::now();
                core.ep.handle_timeout(now);
                core.fire_timers(now);
            }
            _ = stop.changed() => {
                core.hangup_all();
                flush(&mut core, &mut net);
                // Let the BYEs leave before the sockets close.
                tokio::time::sleep(Duration::from_millis(100)).await;
                return;
            }
        }
        flush(&mut core, &mut net);
        let g = &core.gauges;
        g.channels
            .store(core.channels.len() as u64, Ordering::Relaxed);
        g.bridges
            .store(core.bridges.len() as u64, Ordering::Relaxed);
    }
}

/// Hands SIP events to the core and transmits to the network until both are empty.
fn flush(core: &mut Core, net: &mut Network) {
    loop {
        let mut idle = true;
        while let Some(e) = core.ep.poll_event() {
            idle = false;
            core.on_sip_event(e);
        }
        while let Some(t) = core.ep.poll_transmit() {
            idle = false;
            net.send(t);
        }
        if idle {
            return;
        }
    }
}

impl Core {
    fn fire_timers(&mut self, now: Instant) {
        let due: Vec<Timer> = {
            let (due, rest): (Vec<_>, Vec<_>) = self.timers.drain(..).partition(|(t, _)| *t <= now);
            self.timers = rest;
            due.into_iter().map(|(_, t)| t).collect()
        };
        for t in due {
            match t {
                Timer::DialTimeout(id) => self.dial_timeout(&id),
                Timer::RecordingLimit(name) => self.finish_recording(&name, false),
                Timer::Reoffer {
                    channel,
                    offer,
                    tries,
                } => self.reoffer(&channel, offer, tries),
            }
        }
    }

    fn on_media_event(&mut self, e: MediaEvent) {
        match e {
            MediaEvent::Dtmf {
                leg,
                digit,
                duration,
                ..
            } => {
                if let Some(id) = self.by_leg.get(&leg).cloned() {
                    self.on_dtmf(&id, digit.as_char(), duration);
                }
            }
            MediaEvent::Timeout { leg, silent_for } => {
                if let Some(id) = self.by_leg.get(&leg).cloned() {
                    tracing::info!(channel = %id, ?silent_for, "no RTP: hanging up");
                    self.hangup(&id, 16);
                }
            }
            MediaEvent::PlaybackStarted { playback, .. } => self.media_playback_started(playback),
            MediaEvent::PlaybackFinished {
                playback, stopped, ..
            } => self.media_playback_finished(playback, stopped),
            MediaEvent::RecordingStopped { recording, .. } => {
                if let Some(name) = self.by_media_recording.get(&recording).cloned() {
                    self.finish_recording(&name, false);
                }
            }
            MediaEvent::TalkingStarted { leg } => {
                if let Some(id) = self.by_leg.get(&leg).cloned() {
                    self.channel_event("ChannelTalkingStarted", &id, serde_json::json!({}));
                }
            }
            MediaEvent::TalkingFinished { leg, duration } => {
                if let Some(id) = self.by_leg.get(&leg).cloned() {
                    self.channel_event(
                        "ChannelTalkingFinished",
                        &id,
                        serde_json::json!({"duration": duration.as_millis() as u64}),
                    );
                    self.recording_silence(&id);
                }
            }
            _ => {}
        }
    }

    /// Our SIP address on a transport (From and Contact hosts of calls we place).
    pub(crate) fn local_sip(&self, transport: &Transport) -> Option<SocketAddr> {
        self.listeners
            .iter()
            .find(|l| &l.transport == transport)
            .map(|l| l.local)
    }
}
