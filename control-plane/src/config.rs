//! Configuration: built-in defaults < TOML file < environment < command-line flags.
//!
//! Names follow VoIPBIN's services (`--prometheus_listen_address`, `PROMETHEUS_LISTEN_ADDRESS`),
//! so a deployment can set mediaplane the way it sets the rest of the platform.

use std::{net::SocketAddr, path::PathBuf};

use clap::Parser;
use serde::Deserialize;

/// Command line; every flag can also come from the environment variable named beside it.
#[derive(Debug, Clone, Default, Parser)]
#[command(
    name = "mediaplane",
    version,
    about = "A native media plane: SIP B2BUA, RTP, ARI"
)]
pub struct Cli {
    /// TOML configuration file.
    #[arg(long, env = "MEDIAPLANE_CONFIG")]
    pub config: Option<PathBuf>,
    /// Instance id (`asterisk_id`); default: the MAC address of `instance_interface`.
    #[arg(long = "instance_id", env = "INSTANCE_ID")]
    pub instance_id: Option<String>,
    /// Network interface whose MAC address becomes the instance id.
    #[arg(long = "instance_interface", env = "INSTANCE_INTERFACE")]
    pub instance_interface: Option<String>,
    /// Log filter, e.g. `info` or `info,sip_core=debug`.
    #[arg(long = "log_level", env = "LOG_LEVEL")]
    pub log_level: Option<String>,
    /// Log format: `text` or `json`.
    #[arg(long = "log_format", env = "LOG_FORMAT")]
    pub log_format: Option<LogFormat>,
    /// Address of the metrics and health server.
    #[arg(long = "prometheus_listen_address", env = "PROMETHEUS_LISTEN_ADDRESS")]
    pub prometheus_listen_address: Option<SocketAddr>,
    /// Path of the Prometheus endpoint.
    #[arg(long = "prometheus_endpoint", env = "PROMETHEUS_ENDPOINT")]
    pub prometheus_endpoint: Option<String>,
    /// SIP UDP and TCP listen address (`host:port`).
    #[arg(long = "sip_listen_address", env = "SIP_LISTEN_ADDRESS")]
    pub sip_listen_address: Option<SocketAddr>,
    /// SIP TLS listen address.
    #[arg(long = "sip_tls_listen_address", env = "SIP_TLS_LISTEN_ADDRESS")]
    pub sip_tls_listen_address: Option<SocketAddr>,
    /// ARI (HTTP + WebSocket) listen address.
    #[arg(long = "ari_listen_address", env = "ARI_LISTEN_ADDRESS")]
    pub ari_listen_address: Option<SocketAddr>,
    /// First RTP port.
    #[arg(long = "rtp_port_min", env = "RTP_PORT_MIN")]
    pub rtp_port_min: Option<u16>,
    /// Last RTP port.
    #[arg(long = "rtp_port_max", env = "RTP_PORT_MAX")]
    pub rtp_port_max: Option<u16>,
    /// Directory for recordings and the sound cache.
    #[arg(long = "data_dir", env = "DATA_DIR")]
    pub data_dir: Option<PathBuf>,
    /// RabbitMQ broker URI; enables VoIPBIN's RPC queues and event exchange.
    #[arg(long = "rabbitmq_address", env = "RABBITMQ_ADDRESS")]
    pub rabbitmq_address: Option<String>,
    /// Roles whose shared request queues are consumed (`call`, `conference`, `registrar`).
    #[arg(long = "asterisk_role", env = "ASTERISK_ROLE")]
    pub asterisk_role: Option<String>,
    /// Redis address for `asterisk.<id>.address-internal`.
    #[arg(long = "redis_address", env = "REDIS_ADDRESS")]
    pub redis_address: Option<String>,
    /// Redis database number.
    #[arg(long = "redis_database", env = "REDIS_DATABASE")]
    pub redis_database: Option<u32>,
    /// Redis password.
    #[arg(long = "redis_password", env = "REDIS_PASSWORD")]
    pub redis_password: Option<String>,
    /// Load and check the configuration, print it, and exit.
    #[arg(long = "check_config")]
    pub check_config: bool,
}

/// Log output format.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable lines.
    #[default]
    Text,
    /// One JSON object per line.
    Json,
}

/// The whole configuration.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Who this instance is.
    pub instance: InstanceConfig,
    /// Logging.
    pub log: LogConfig,
    /// Metrics and health endpoints.
    pub metrics: MetricsConfig,
    /// SIP listeners and behaviour.
    pub sip: SipConfig,
    /// RTP and media.
    pub rtp: RtpConfig,
    /// The ARI server.
    pub ari: AriConfig,
    /// Inbound call routing into Stasis.
    pub stasis: StasisConfig,
    /// Files: sounds, recordings.
    pub media: MediaConfig,
    /// Outbound SIP endpoints by name (`pjsip/<name>/<uri>`).
    pub endpoints: std::collections::BTreeMap<String, EndpointConfig>,
    /// VoIPBIN's RabbitMQ RPC and event exchange (off unless an address is set).
    pub amqp: AmqpConfig,
    /// The Redis key VoIPBIN reads the instance's internal address from.
    pub redis: RedisConfig,
}

/// `[amqp]`
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AmqpConfig {
    /// Broker URI (`amqp://user:pass@host:5672/%2f`); unset: ARI only.
    pub address: Option<String>,
    /// Roles whose shared queue `asterisk.<role>.request` is consumed (`call`, `conference`,
    /// `registrar`; comma-separated for several).
    pub role: String,
    /// The Stasis app served over AMQP; it counts as connected while AMQP is on.
    pub app: String,
    /// Unacknowledged deliveries per queue (basic.qos).
    pub prefetch: u16,
    /// Requests executed at once, per queue.
    pub workers: usize,
    /// Events held while the broker is away; the oldest are dropped beyond this.
    pub event_buffer: usize,
    /// The fanout exchange events go to.
    pub event_exchange: String,
    /// The delayed-message exchange both request queues are bound to (if the broker has it).
    pub delay_exchange: String,
    /// Where `/proxy/recording_file_move` moves finished recordings (default
    /// `<data_dir>/recording-store`).
    pub recording_store: Option<PathBuf>,
}

impl Default for AmqpConfig {
    fn default() -> Self {
        Self {
            address: None,
            role: "call".into(),
            app: "voipbin".into(),
            prefetch: 10,
            workers: 10,
            event_buffer: 100_000,
            event_exchange: "asterisk.all.event".into(),
            delay_exchange: "bin-manager.delay".into(),
            recording_store: None,
        }
    }
}

impl AmqpConfig {
    /// The shared role queues and this instance's own queue.
    pub fn queues(&self, instance_id: &str) -> (Vec<String>, String) {
        let roles = self
            .role
            .split(',')
            .map(str::trim)
            .filter(|r| !r.is_empty())
            .map(|r| format!("asterisk.{r}.request"))
            .collect();
        (roles, format!("asterisk.{instance_id}.request"))
    }
}

/// `[redis]`
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RedisConfig {
    /// `host:port` (or `redis://host:port`); unset: no key is kept.
    pub address: Option<String>,
    /// Database number (VoIPBIN: 1).
    pub database: u32,
    /// Password (`AUTH`), if the server wants one.
    pub password: Option<String>,
    /// The internal IPv4 published as `asterisk.<id>.address-internal` (default: the address
    /// of the instance interface, else the first non-loopback IPv4).
    pub internal_address: Option<std::net::Ipv4Addr>,
}

impl Default for RedisConfig {
    fn default() -> Self {
        Self {
            address: None,
            database: 1,
            password: None,
            internal_address: None,
        }
    }
}

/// `[sip]`
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SipConfig {
    /// UDP listeners.
    pub udp: Vec<SocketAddr>,
    /// TCP listeners.
    pub tcp: Vec<SocketAddr>,
    /// TLS listeners.
    pub tls: Vec<SocketAddr>,
    /// TLS certificate chain (PEM); a self-signed one is generated when unset.
    pub tls_certificate: Option<PathBuf>,
    /// TLS private key (PEM).
    pub tls_key: Option<PathBuf>,
    /// Name of the endpoint inbound calls belong to (channel names `PJSIP/<name>-<n>`).
    pub inbound_endpoint: String,
    /// User-Agent / Server header.
    pub user_agent: String,
}

impl Default for SipConfig {
    fn default() -> Self {
        let lo = |p| SocketAddr::from(([127, 0, 0, 1], p));
        Self {
            udp: vec![lo(5060)],
            tcp: vec![lo(5060)],
            tls: vec![lo(5061)],
            tls_certificate: None,
            tls_key: None,
            inbound_endpoint: "call-in".into(),
            user_agent: format!("mediaplane {}", env!("CARGO_PKG_VERSION")),
        }
    }
}

/// `[rtp]`
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RtpConfig {
    /// Address the RTP sockets bind to.
    pub bind: std::net::IpAddr,
    /// Address put in SDP (default: `bind`).
    pub advertise: Option<std::net::IpAddr>,
    /// First port.
    pub port_min: u16,
    /// Last port.
    pub port_max: u16,
    /// Media worker threads (0: one per core).
    pub workers: usize,
    /// Codecs offered and accepted, in order of preference (`PCMU`, `PCMA`, `G722`, `opus`).
    pub codecs: Vec<String>,
    /// SRTP: `disabled`, `optional` (answer SAVP offers) or `mandatory`.
    pub srtp: String,
    /// Hang up after this long without RTP (0: never; Asterisk `rtp_timeout`).
    pub timeout_secs: u64,
    /// The same while the far end holds (Asterisk `rtp_timeout_hold`).
    pub hold_timeout_secs: u64,
}

impl Default for RtpConfig {
    fn default() -> Self {
        Self {
            bind: [127, 0, 0, 1].into(),
            advertise: None,
            port_min: 10_000,
            port_max: 20_000,
            workers: 0,
            codecs: ["PCMU", "PCMA", "G722", "opus"].map(String::from).to_vec(),
            srtp: "optional".into(),
            timeout_secs: 60,
            hold_timeout_secs: 300,
        }
    }
}

/// `[ari]`
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AriConfig {
    /// Listen address (HTTP and WebSocket).
    pub listen: SocketAddr,
    /// Users; default `asterisk`/`asterisk`, refused unless every listener is on loopback.
    pub users: Vec<AriUser>,
    /// Origins allowed by CORS (`*` for any).
    pub allowed_origins: Vec<String>,
    /// Realm of the `WWW-Authenticate` challenge.
    pub realm: String,
    /// Channel variables shown in every channel snapshot (`channelvars` of Asterisk's
    /// `ari.conf`); only those that are set appear.
    pub channelvars: Vec<String>,
}

/// One ARI user.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AriUser {
    /// Name.
    pub name: String,
    /// Password.
    pub password: String,
    /// Only GET and OPTIONS.
    #[serde(default)]
    pub read_only: bool,
}

impl Default for AriConfig {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8088)),
            users: vec![AriUser {
                name: "asterisk".into(),
                password: "asterisk".into(),
                read_only: false,
            }],
            allowed_origins: Vec::new(),
            realm: "Asterisk REST Interface".into(),
            channelvars: Vec::new(),
        }
    }
}

/// `[stasis]`
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct StasisConfig {
    /// The app inbound calls go to when several are connected (and the one reported as
    /// unavailable with 480 when none is).
    pub default_app: String,
    /// `StasisStart.args` of inbound calls: comma-separated, with `${header:Name}`,
    /// `${call_id}`, `${from_user}`, `${to_user}` and `${source}` substituted.
    pub args: String,
}

impl Default for StasisConfig {
    fn default() -> Self {
        Self {
            default_app: "voipbin".into(),
            args: "context_type=call,context=call-in,domain=${header:VB-Domain},\
                   source=${header:VB-Source},transport=${header:VB-Transport},direction=incoming,\
                   sip_call_id=${call_id},sip_pai=${header:P-Asserted-Identity},\
                   sip_privacy=${header:Privacy}"
                .into(),
        }
    }
}

/// `[media]`
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MediaConfig {
    /// Where recordings, fetched sounds and generated sounds live (default
    /// `~/.local/share/mediaplane`).
    pub data_dir: Option<PathBuf>,
    /// Extra sound directories searched first (`<dir>/<lang>/<name>.<ext>` and `<dir>/<name>.<ext>`).
    pub sounds: Vec<PathBuf>,
}

impl Default for MediaConfig {
    fn default() -> Self {
        Self {
            data_dir: None,
            sounds: vec![
                "/var/lib/asterisk/sounds".into(),
                "/usr/share/asterisk/sounds".into(),
            ],
        }
    }
}

impl MediaConfig {
    /// The data directory in use.
    pub fn data_dir(&self) -> PathBuf {
        self.data_dir.clone().unwrap_or_else(|| {
            std::env::var_os("HOME")
                .map(|h| PathBuf::from(h).join(".local/share/mediaplane"))
                .unwrap_or_else(|| PathBuf::from("mediaplane-data"))
        })
    }
}

/// `[endpoints.<name>]`: an outbound SIP endpoint.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EndpointConfig {
    /// Send every request here (`sip:host:port;lr` or `host:port`) instead of the URI's host.
    pub outbound_proxy: Option<String>,
    /// `udp`, `tcp` or `tls` (default: the URI's `transport` parameter, else UDP).
    pub transport: Option<String>,
    /// Codecs for this endpoint (default: `[rtp] codecs`).
    pub codecs: Vec<String>,
    /// Digest credentials.
    pub username: Option<String>,
    /// Password for `username`.
    pub password: Option<String>,
    /// Host of our From URI (default: the listener's address).
    pub from_domain: Option<String>,
}

/// `[instance]`
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct InstanceConfig {
    /// Explicit instance id.
    pub id: Option<String>,
    /// Interface whose MAC is the instance id when `id` is unset (default: the first
    /// non-loopback interface).
    pub interface: Option<String>,
}

/// `[log]`
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LogConfig {
    /// Filter in `tracing_subscriber::EnvFilter` syntax.
    pub level: String,
    /// Output format.
    pub format: LogFormat,
}

impl Default for LogConfig {
    fn default() -> Self {
        Self {
            level: "info".into(),
            format: LogFormat::Text,
        }
    }
}

/// `[metrics]`
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MetricsConfig {
    /// Listen address of `/metrics`, `/health` and `/ready`.
    pub listen: SocketAddr,
    /// Path of the Prometheus endpoint.
    pub endpoint: String,
}

impl Default for MetricsConfig {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 2112)),
            endpoint: "/metrics".into(),
        }
    }
}

/// Why the configuration could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The file is not valid TOML for this schema.
    #[error("{path}: {source}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        source: Box<toml::de::Error>,
    },
    /// A value is out of range.
    #[error("invalid setting {key}: {reason}")]
    Invalid {
        /// The setting.
        key: &'static str,
        /// Why.
        reason: String,
    },
}

impl Config {
    /// Parses a TOML document.
    pub fn from_toml(text: &str, path: &std::path::Path) -> Result<Self, ConfigError> {
        toml::from_str(text).map_err(|e| ConfigError::Parse {
            path: path.into(),
            source: Box::new(e),
        })
    }

    /// Defaults, then the file named by `cli.config`, then the flags and environment.
    pub fn load(cli: &Cli) -> Result<Self, ConfigError> {
        let mut config = match &cli.config {
            Some(path) => {
                let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
                    path: path.clone(),
                    source,
                })?;
                Self::from_toml(&text, path)?
            }
            None => Self::default(),
        };
        config.apply(cli);
        config.validate()?;
        Ok(config)
    }

    /// Overlays the flags (and environment, which clap has already folded into them).
    pub fn apply(&mut self, cli: &Cli) {
        if let Some(v) = &cli.instance_id {
            self.instance.id = Some(v.clone());
        }
        if let Some(v) = &cli.instance_interface {
            self.instance.interface = Some(v.clone());
        }
        if let Some(v) = &cli.log_level {
            self.log.level.clone_from(v);
        }
        if let Some(v) = cli.log_format {
            self.log.format = v;
        }
        if let Some(v) = cli.prometheus_listen_address {
            self.metrics.listen = v;
        }
        if let Some(v) = &cli.prometheus_endpoint {
            self.metrics.endpoint.clone_from(v);
        }
        if let Some(v) = cli.sip_listen_address {
            self.sip.udp = vec![v];
            self.sip.tcp = vec![v];
        }
        if let Some(v) = cli.sip_tls_listen_address {
            self.sip.tls = vec![v];
        }
        if let Some(v) = cli.ari_listen_address {
            self.ari.listen = v;
        }
        if let Some(v) = cli.rtp_port_min {
            self.rtp.port_min = v;
        }
        if let Some(v) = cli.rtp_port_max {
            self.rtp.port_max = v;
        }
        if let Some(v) = &cli.data_dir {
            self.media.data_dir = Some(v.clone());
        }
        if let Some(v) = &cli.rabbitmq_address {
            self.amqp.address = Some(v.clone()).filter(|a| !a.is_empty());
        }
        if let Some(v) = &cli.asterisk_role {
            self.amqp.role.clone_from(v);
        }
        if let Some(v) = &cli.redis_address {
            self.redis.address = Some(v.clone()).filter(|a| !a.is_empty());
        }
        if let Some(v) = cli.redis_database {
            self.redis.database = v;
        }
        if let Some(v) = &cli.redis_password {
            self.redis.password = Some(v.clone());
        }
    }

    fn validate(&self) -> Result<(), ConfigError> {
        if !self.metrics.endpoint.starts_with('/') || self.metrics.endpoint.len() < 2 {
            return Err(ConfigError::Invalid {
                key: "metrics.endpoint",
                reason: format!(
                    "{:?} must be a path such as /metrics",
                    self.metrics.endpoint
                ),
            });
        }
        if let Some(id) = &self.instance.id
            && (id.is_empty()
                || id.len() > 64
                || id.chars().any(|c| c.is_whitespace() || c.is_control()))
        {
            return Err(ConfigError::Invalid {
                key: "instance.id",
                reason: format!("{id:?}"),
            });
        }
        if self.rtp.port_min >= self.rtp.port_max || self.rtp.port_max - self.rtp.port_min < 4 {
            return Err(ConfigError::Invalid {
                key: "rtp.port_min",
                reason: format!("{}..{} is too small", self.rtp.port_min, self.rtp.port_max),
            });
        }
        if !matches!(
            self.rtp.srtp.as_str(),
            "disabled" | "optional" | "mandatory"
        ) {
            return Err(ConfigError::Invalid {
                key: "rtp.srtp",
                reason: format!("{:?}: disabled, optional or mandatory", self.rtp.srtp),
            });
        }
        for c in self
            .rtp
            .codecs
            .iter()
            .chain(self.endpoints.values().flat_map(|e| e.codecs.iter()))
        {
            if parse_codec(c).is_none() {
                return Err(ConfigError::Invalid {
                    key: "rtp.codecs",
                    reason: format!("unknown codec {c:?} (PCMU, PCMA, G722, opus)"),
                });
            }
        }
        // Default credentials only while nothing listens beyond loopback (DESIGN.md §6).
        let defaults = self
            .ari
            .users
            .iter()
            .any(|u| u.name == "asterisk" && u.password == "asterisk");
        let exposed = std::iter::once(self.ari.listen.ip())
            .chain(self.sip.udp.iter().map(SocketAddr::ip))
            .chain(self.sip.tcp.iter().map(SocketAddr::ip))
            .chain(self.sip.tls.iter().map(SocketAddr::ip))
            .chain(std::iter::once(self.metrics.listen.ip()))
            .find(|ip| !ip.is_loopback());
        if let (true, Some(ip)) = (defaults, exposed) {
            return Err(ConfigError::Invalid {
                key: "ari.users",
                reason: format!(
                    "the default ARI credentials asterisk/asterisk are refused while listening on \
                     {ip}: configure [[ari.users]] with a real password"
                ),
            });
        }
        if let Some(a) = &self.amqp.address
            && !a.starts_with("amqp://")
        {
            return Err(ConfigError::Invalid {
                key: "amqp.address",
                reason: format!(
                    "{:?} is not an amqp:// URI (amqps is not built in: the broker is reached \
                     inside the cluster, as asterisk-proxy does)",
                    crate::amqp::redact(a)
                ),
            });
        }
        if self.amqp.address.is_some() && self.amqp.queues("x").0.is_empty() {
            return Err(ConfigError::Invalid {
                key: "amqp.role",
                reason: "no role queue to consume".into(),
            });
        }
        if self.amqp.workers == 0 || self.amqp.prefetch == 0 || self.amqp.event_buffer == 0 {
            return Err(ConfigError::Invalid {
                key: "amqp.workers",
                reason: "workers, prefetch and event_buffer must be at least 1".into(),
            });
        }
        if matches!(self.metrics.endpoint.as_str(), "/health" | "/ready") {
            return Err(ConfigError::Invalid {
                key: "metrics.endpoint",
                reason: "clashes with /health or /ready".into(),
            });
        }
        Ok(())
    }
}

/// The codec a configuration name stands for (case-insensitive).
pub fn parse_codec(name: &str) -> Option<codec_transcoder::Codec> {
    use codec_transcoder::Codec;
    Some(match name.to_ascii_lowercase().as_str() {
        "pcmu" | "ulaw" => Codec::Pcmu,
        "pcma" | "alaw" => Codec::Pcma,
        "g722" => Codec::G722,
        "opus" => Codec::Opus,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn precedence_is_defaults_file_then_flags() {
        let file = Config::from_toml(
            "[metrics]\nlisten = \"127.0.0.1:9000\"\n[log]\nlevel = \"debug\"\n",
            std::path::Path::new("x.toml"),
        )
        .expect("valid");
        assert_eq!(file.metrics.listen.port(), 9000);
        assert_eq!(file.metrics.endpoint, "/metrics");
        let mut c = file;
        let cli = Cli {
            log_level: Some("warn".into()),
            ..Cli::default()
        };
        c.apply(&cli);
        assert_eq!(c.log.level, "warn");
        assert_eq!(c.metrics.listen.port(), 9000);
    }

    #[test]
    fn default_credentials_only_on_loopback() {
        let mut c = Config::default();
        assert!(c.validate().is_ok());
        c.sip.udp = vec!["0.0.0.0:5060".parse().expect("addr")];
        assert!(matches!(
            c.validate(),
            Err(ConfigError::Invalid {
                key: "ari.users",
                ..
            })
        ));
        c.ari.users[0].password = "s3cret".into();
        assert!(c.validate().is_ok());
    }

    #[test]
    fn unknown_keys_are_rejected() {
        let e = Config::from_toml(
            "[metrics]\nlisen = \"x\"\n",
            std::path::Path::new("bad.toml"),
        );
        assert!(matches!(e, Err(ConfigError::Parse { .. })));
    }
}
