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
        if matches!(self.metrics.endpoint.as_str(), "/health" | "/ready") {
            return Err(ConfigError::Invalid {
                key: "metrics.endpoint",
                reason: "clashes with /health or /ready".into(),
            });
        }
        Ok(())
    }
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
    fn unknown_keys_are_rejected() {
        let e = Config::from_toml(
            "[metrics]\nlisen = \"x\"\n",
            std::path::Path::new("bad.toml"),
        );
        assert!(matches!(e, Err(ConfigError::Parse { .. })));
    }
}
