//! Structured logs through `tracing`, as text or JSON lines on standard error.

use tracing_subscriber::{EnvFilter, fmt};

use crate::config::{LogConfig, LogFormat};

/// Installs the global subscriber. An invalid filter falls back to `info` with a warning.
pub fn init(config: &LogConfig) {
    let (filter, bad) = match EnvFilter::try_new(&config.level) {
        Ok(f) => (f, None),
        Err(e) => (EnvFilter::new("info"), Some(e)),
    };
    let builder = fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(true);
    let result = match config.format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
    };
    if let Err(e) = result {
        eprintln!("mediaplane: logging already initialised: {e}");
    }
    if let Some(e) = bad {
        tracing::warn!(level = %config.level, error = %e, "invalid log filter; using info");
    }
}
