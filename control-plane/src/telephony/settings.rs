//! What the call core needs from the configuration, resolved once.

use std::{collections::BTreeMap, path::PathBuf, time::Duration};

use media_engine::{
    command::LegConfig,
    sdp::negotiate::{Capabilities, SrtpPolicy},
};

use crate::config::{Config, EndpointConfig, parse_codec};

/// Resolved settings.
#[derive(Debug, Clone)]
pub struct Settings {
    /// `asterisk_id` in every event.
    pub instance_id: String,
    /// The prefix of generated channel ids (Asterisk's `systemname`: the host name).
    pub system_name: String,
    /// Inbound endpoint name.
    pub inbound_endpoint: String,
    /// Media behaviour of every leg.
    pub leg: LegConfig,
    /// Default Stasis app.
    pub default_app: String,
    /// StasisStart args template for inbound calls.
    pub args_template: String,
    /// Outbound endpoints.
    pub endpoints: BTreeMap<String, EndpointConfig>,
    /// Sound directories searched in order.
    pub sound_dirs: Vec<PathBuf>,
    /// Recordings (`<data>/recordings`).
    pub recordings_dir: PathBuf,
    /// Generated and fetched sounds (`<data>/sounds`).
    pub sound_cache: PathBuf,
    /// The address we advertise in SDP.
    pub rtp_advertise: Option<std::net::IpAddr>,
    /// Allowed ARI users: (name, password, read-only).
    pub ari_users: Vec<(String, String, bool)>,
    /// Variables shown in channel snapshots.
    pub channelvars: Vec<String>,
}

impl Settings {
    /// Resolves `config` for instance `instance_id`.
    pub fn new(config: &Config, instance_id: &str) -> Self {
        let codecs: Vec<_> = config
            .rtp
            .codecs
            .iter()
            .filter_map(|c| parse_codec(c))
            .collect();
        let srtp = match config.rtp.srtp.as_str() {
            "disabled" => SrtpPolicy::Disabled,
            "mandatory" => SrtpPolicy::Mandatory,
            _ => SrtpPolicy::Optional,
        };
        let secs = |s: u64| (s > 0).then(|| Duration::from_secs(s));
        let leg = LegConfig {
            caps: Capabilities {
                codecs,
                srtp,
                ..Capabilities::default()
            },
            advertise: config.rtp.advertise,
            rtp_timeout: secs(config.rtp.timeout_secs),
            hold_timeout: secs(config.rtp.hold_timeout_secs),
            ..LegConfig::default()
        };
        let data = config.media.data_dir();
        let mut sound_dirs = vec![data.join("sounds")];
        sound_dirs.extend(config.media.sounds.iter().cloned());
        Self {
            instance_id: instance_id.to_string(),
            system_name: host_name(),
            inbound_endpoint: config.sip.inbound_endpoint.clone(),
            leg,
            default_app: config.stasis.default_app.clone(),
            args_template: config.stasis.args.clone(),
            endpoints: config.endpoints.clone(),
            sound_dirs,
            recordings_dir: data.join("recordings"),
            sound_cache: data.join("sounds"),
            rtp_advertise: config.rtp.advertise,
            ari_users: config
                .ari
                .users
                .iter()
                .map(|u| (u.name.clone(), u.password.clone(), u.read_only))
                .collect(),
            channelvars: config.ari.channelvars.clone(),
        }
    }

    /// The leg configuration for an outbound endpoint (its codecs, if it lists any).
    pub fn leg_for(&self, endpoint: &str) -> LegConfig {
        let mut leg = self.leg.clone();
        if let Some(e) = self.endpoints.get(endpoint)
            && !e.codecs.is_empty()
        {
            leg.caps.codecs = e.codecs.iter().filter_map(|c| parse_codec(c)).collect();
        }
        leg
    }
}

fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "mediaplane".into())
}
